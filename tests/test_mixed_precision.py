"""mixed_precision: bfloat16 autocast only when asked for, float32 by default."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from ganaugment import GANAugmenter, _torch
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


@pytest.fixture
def emulated_bf16(monkeypatch):
    """A CPU without bfloat16 instructions, whatever this machine has: bf16 fits warn."""
    monkeypatch.setattr(_torch, "cpu_has_native_bf16", lambda: False)


def test_bf16_trains_in_reduced_precision(table, plain, emulated_bf16):
    with pytest.warns(RuntimeWarning, match="without bfloat16 instructions") as caught:
        bf16 = GANAugmenter(**FAST, random_state=1, device="cpu", mixed_precision="bf16").fit(table)
    assert len(caught) == 1 and caught[0].filename == __file__  # names the user's call
    losses = [h["loss_d"] for h in bf16.history_] + [h["loss_g"] for h in bf16.history_]
    assert all(np.isfinite(losses))
    assert losses[: len(bf16.history_)] != [h["loss_d"] for h in plain.history_]  # autocast was on
    out = bf16.sample(100)
    assert out.dtypes.astype(str).tolist() == ["float64", "int64", "object"]
    assert set(out["c"]) <= {"a", "b", "c"}
    assert out["k"].between(0, 4).all()
    assert next(bf16.model_.generator.parameters()).dtype.is_floating_point  # weights stay float32
    assert str(next(bf16.model_.generator.parameters()).dtype) == "torch.float32"


def test_bf16_warns_only_on_a_cpu_that_emulates_it(monkeypatch):
    for native in (True, False):
        monkeypatch.setattr(_torch, "cpu_has_native_bf16", lambda: native)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert autocast_dtype("bf16", torch.device("cpu")) == torch.bfloat16
            assert autocast_dtype("auto", torch.device("cpu")) is None
            assert autocast_dtype(None, torch.device("cpu")) is None
        assert len(caught) == (0 if native else 1)
    assert isinstance(_torch.cpu_has_native_bf16(), bool)


def test_unknown_setting_is_rejected(table):
    with pytest.raises(ValueError, match="mixed_precision"):
        GANAugmenter(**FAST, mixed_precision="fp8").fit(table)
    with pytest.raises(ValueError, match="mixed_precision"):
        autocast_dtype("fp16", torch.device("cpu"))


# ------------------------------------------------------------------ images
IMAGES = dict(image_shape=(8, 8), epochs=1, batch_size=32, noise_dim=8, random_state=2, device="cpu")


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data[:96], d.target[:96]


@pytest.fixture(scope="module")
def plain_images(digits):
    return GANAugmenter(**IMAGES).fit(*digits)


def test_auto_changes_nothing_for_images_on_cpu(digits, plain_images):
    auto = GANAugmenter(**IMAGES, mixed_precision="auto").fit(*digits)
    assert [h["loss_g"] for h in auto.history_] == [h["loss_g"] for h in plain_images.history_]
    np.testing.assert_array_equal(auto.sample(20, y=4)[0], plain_images.sample(20, y=4)[0])


def test_bf16_image_fit_runs_under_autocast(digits, plain_images, monkeypatch, emulated_bf16):
    from ganaugment.images.model import ImageGAN

    seen = []
    generate = ImageGAN.generate

    def spy(self, batch):
        images, aux = generate(self, batch)
        seen.append(images.dtype)
        return images, aux

    monkeypatch.setattr(ImageGAN, "generate", spy)
    with pytest.warns(RuntimeWarning, match="without bfloat16 instructions") as caught:
        bf16 = GANAugmenter(**IMAGES, mixed_precision="bf16").fit(*digits)
    assert len(caught) == 1 and caught[0].filename == __file__
    assert seen and set(seen) == {torch.bfloat16}  # every training forward pass ran in bfloat16
    losses = [h["loss_d"] for h in bf16.history_] + [h["loss_g"] for h in bf16.history_]
    assert all(np.isfinite(losses))
    assert str(next(bf16.model_.generator.parameters()).dtype) == "torch.float32"  # weights stay float32
    images, labels = bf16.sample(30, y=7)
    assert images.shape == (30, 64) and images.dtype == plain_images.sample(1)[0].dtype
    assert (labels == 7).all() and np.isfinite(images).all()
    assert images.min() >= 0 and images.max() <= 16
