"""Distributed training: shared encoder from shards, and a real 2-process torchrun fit."""

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ganaugment import GANAugmenter, TableEncoder
from ganaugment.distributed import encoder_from_summaries, fit_distributed, read_shard, shard_summary

from .conftest import FAST


def _table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(10, 1, n)),
            "city": rng.choice(["paris", "lyon", "nice"], n, p=[0.6, 0.3, 0.1]),
            "member": rng.random(n) < 0.3,
            "label": rng.choice(["a", "b"], n, p=[0.7, 0.3]),
        }
    )
    frame.loc[1, "city"] = "rare"  # a level that only the second of two shards holds
    frame.loc[3, "age"] = 150  # the maximum, also on the second shard only
    return frame


def test_encoder_from_shards_knows_every_level_with_global_counts():
    frame = _table().drop(columns=["label"])
    shards = [frame.iloc[r::2].reset_index(drop=True) for r in range(2)]
    rng = np.random.default_rng(0)
    summaries = [shard_summary(s, set(), n_sample=20, rng=rng) for s in shards]
    assert all(len(s["sample"]) < len(shard) for s, shard in zip(summaries, shards))
    shared = encoder_from_summaries(TableEncoder(random_state=0), summaries)
    full = TableEncoder(random_state=0).fit(frame)
    for column in ("city", "member"):
        assert shared.state_of(column).levels == full.state_of(column).levels
        np.testing.assert_allclose(shared.state_of(column).frequencies, full.state_of(column).frequencies)
    income = shared.state_of("income")
    assert income.has_missing and income.missing_rate == pytest.approx(frame["income"].isna().mean())
    assert shared.state_of("age").maximum == 150  # witness rows carry each shard's extremes
    assert shared.output_width_ == sum(s.width for s in shared.spans_)
    for shard in shards:  # every shard encodes without "never seen" errors
        assert shared.transform(shard, rng).shape == (len(shard), shared.output_width_)


def test_read_shard_partitions_rows(tmp_path):
    frame = _table(50)
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    for name in ("t.csv", "t.parquet"):
        parts = [read_shard(str(tmp_path / name), r, 3) for r in range(3)]
        assert [len(p) for p in parts] == [17, 17, 16]
        pd.testing.assert_frame_equal(parts[1].reset_index(drop=True), frame.iloc[1::3].reset_index(drop=True))


def test_fit_distributed_needs_a_process_group():
    with pytest.raises(RuntimeError, match="init_process_group"):
        fit_distributed(GANAugmenter(**FAST), _table())


def test_torchrun_two_ranks_agree_and_rank0_model_samples(tmp_path):
    frame = _table()
    data, model_path = tmp_path / "train.csv", tmp_path / "model.gan"
    frame.to_csv(data, index=False)
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    if not os.path.exists(torchrun):
        pytest.skip("torchrun is not installed next to this Python")
    options = ["--epochs", "2", "--batch-size", "100", "--generator-dim", "32", "--discriminator-dim", "32",
               "--noise-dim", "16", "--pac", "4", "--random-state", "3", "--device", "cpu", "--quiet"]
    command = [torchrun, "--standalone", "--nproc_per_node=2", "-m", "ganaugment.distributed", "fit",
               str(data), "--target", "label", "-o", str(model_path), *options]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = dict(re.findall(r"rank (\d)/2: trained on 200 of 400 rows for 2 epochs .*? weights sha256 ([0-9a-f]{64})", done.stderr))
    assert set(ranks) == {"0", "1"}, done.stderr[-3000:]
    assert ranks["0"] == ranks["1"]

    model = GANAugmenter.load(model_path)
    assert model.n_ranks_ == 2 and len(model.history_) == 2
    # The hash covers the calibration offsets too: both ranks fitted them from the summed counts.
    assert np.abs(model.model_.logit_bias).max() > 0
    X = frame.drop(columns=["label"])
    # Condition counts are global: every row of both shards, per class.
    assert model.model_.n_training_rows == 400
    assert model.model_.counts.sum() == 400 * 3  # 400 rows x (city, member, class)
    np.testing.assert_array_equal(model.model_.class_sizes(), frame["label"].value_counts().sort_index().to_numpy())
    assert "rare" in model.encoder_.state_of("city").levels
    X_syn, y_syn = model.sample(300)
    assert list(X_syn.columns) == list(X.columns)
    assert X_syn.dtypes.astype(str).tolist() == ["int64", "float64", "object", "bool"]
    assert set(X_syn["city"]) <= {"paris", "lyon", "nice", "rare"}
    assert X_syn["age"].between(18, 150).all()
    assert set(y_syn) <= {"a", "b"}
    # The one 'rare' row's class: a class that never held the level is refused (test_table_requests).
    X_rare, _ = model.sample(20, y=frame.loc[1, "label"], conditions={"city": "rare"})
    assert (X_rare["city"] == "rare").all()
