"""mixed_precision: bfloat16 autocast only when asked for, float32 by default."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from ganaugment import GANAugmenter
from ganaugment._torch import autocast_dtype

from .conftest import FAST


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame({"x": rng.normal(size=n), "k": rng.integers(0, 5, n), "c": rng.choice(["a", "b", "c"], n)})


@pytest.fixture(scope="module")
def plain(table):
    return GANAugmenter(**FAST, random_state=1, device="cpu").fit(table)


def test_auto_changes_nothing_on_cpu(table, plain):
    plain = copy.deepcopy(plain)
    auto = GANAugmenter(**FAST, random_state=1, device="cpu", mixed_precision="auto").fit(table)
    assert [h["loss_d"] for h in auto.history_] == [h["loss_d"] for h in plain.history_]
    pd.testing.assert_frame_equal(auto.sample(50), plain.sample(50))


def test_bf16_trains_in_reduced_precision(table, plain):
    bf16 = GANAugmenter(**FAST, random_state=1, device="cpu", mixed_precision="bf16").fit(table)
    losses = [h["loss_d"] for h in bf16.history_] + [h["loss_g"] for h in bf16.history_]
    assert all(np.isfinite(losses))
    assert losses[: len(bf16.history_)] != [h["loss_d"] for h in plain.history_]  # autocast was on
    out = bf16.sample(100)
    assert out.dtypes.astype(str).tolist() == ["float64", "int64", "object"]
    assert set(out["c"]) <= {"a", "b", "c"}
    assert out["k"].between(0, 4).all()
    assert next(bf16.model_.generator.parameters()).dtype.is_floating_point  # weights stay float32
    assert str(next(bf16.model_.generator.parameters()).dtype) == "torch.float32"


def test_unknown_setting_is_rejected(table):
    with pytest.raises(ValueError, match="mixed_precision"):
        GANAugmenter(**FAST, mixed_precision="fp8").fit(table)
    with pytest.raises(ValueError, match="mixed_precision"):
        autocast_dtype("fp16", torch.device("cpu"))
