"""Distributed training: shared encoder from shards, and a real 2-process torchrun fit."""

import os
import re
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import ganaugment
from ganaugment import GANAugmenter, TableEncoder
from ganaugment.distributed import encoder_from_summaries, fit_distributed, main, read_shard, shard_summary

from .conftest import FAST

TINY = dict(epochs=1, batch_size=40, generator_dim=(16,), discriminator_dim=(16,), noise_dim=8, pac=2, device="cpu")


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


def test_read_shard_checks_rank_world_size_and_columns(tmp_path):
    frame = pd.DataFrame({"i": range(6), "day": ["2024-01-0%d" % d for d in range(1, 7)]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    frame.iloc[:0].to_parquet(tmp_path / "empty.parquet", index=False)
    for name in ("t.csv", "t.parquet"):
        for rank, world in ((2, 2), (-1, 2), (True, 2)):
            with pytest.raises(ValueError, match=r"rank must be an int in \[0, 2\)"):
                read_shard(str(tmp_path / name), rank, world)
        with pytest.raises(ValueError, match="world_size must be a positive int"):
            read_shard(str(tmp_path / name), 0, 0)
        with pytest.raises(ValueError, match="parse_dates names 'nope', which is not a column"):
            read_shard(str(tmp_path / name), 0, 2, parse_dates=["nope"])
        assert read_shard(str(tmp_path / name), 0, 2, parse_dates=["day"])["day"].dtype.kind == "M"
    empty = read_shard(str(tmp_path / "empty.parquet"), 1, 2)
    assert list(empty.columns) == ["i", "day"] and len(empty) == 0 and empty["i"].dtype == "int64"


@pytest.fixture
def one_rank(tmp_path):
    """A gloo process group of one rank in this process: fit_distributed runs without launching processes."""
    import torch.distributed as dist

    dist.init_process_group("gloo", store=dist.FileStore(str(tmp_path / "store"), 1), rank=0, world_size=1)
    yield
    dist.destroy_process_group()


@pytest.mark.parametrize(
    "param",
    [{"checkpoint_dir": "ckpt"}, {"min_quality": 0.5}, {"max_detection_auc": 0.9}, {"validation_fraction": 0.2},
     {"image_shape": (4, 4)},
     {"kind": "image"}],
)
def test_fit_distributed_refuses_checkpoints_and_the_gate(one_rank, param):
    with pytest.raises(ValueError, match=f"{next(iter(param))}(='image')? is not supported in a distributed fit"):
        fit_distributed(GANAugmenter(**TINY, **param), _table(40))


def test_fit_distributed_leaves_the_gate_off_and_checks_condition_columns(one_rank):
    X = _table(80).drop(columns=["label"])
    with pytest.raises(ValueError, match="condition_columns names 'age', a numeric column"):
        fit_distributed(GANAugmenter(**TINY, condition_columns=["age"]), X)
    gan = GANAugmenter(**TINY, condition_columns=["city"], random_state=0)
    gan.quality_score_, gan.gate_passed_, gan._fallback = 0.1, False, True  # a previous fit's verdict
    fit_distributed(gan, X)
    assert (gan.quality_score_, gan.fidelity_report_, gan.gate_passed_, gan._fallback) == (None, None, None, False)
    assert (gan.transform(X.iloc[:5])["city"] == X["city"].iloc[:5].to_numpy()).all()


def test_fit_distributed_learns_weighted_counts_and_refuses_bad_weights_by_name(one_rank):
    frame = _table(200)
    X, y = frame.drop(columns=["label"]), frame["label"]
    w = np.where(X["city"] == "nice", 9.0, 1.0)
    shared = fit_distributed(GANAugmenter(**TINY, random_state=0), X, y, sample_weight=w)
    alone = GANAugmenter(**TINY, random_state=0).fit(X, y, sample_weight=w)
    # The condition counts that sampling follows are weighted as in a fit on one process.
    np.testing.assert_allclose(shared.model_.counts, alone.model_.counts)
    unweighted = fit_distributed(GANAugmenter(**TINY, random_state=0), X, y, sample_weight=np.full(len(X), 2.0))
    np.testing.assert_allclose(unweighted.model_.counts, GANAugmenter(**TINY, random_state=0).fit(X, y).model_.counts)
    for weights, message in (
        (w[:3], r"this rank's X has 200 rows but sample_weight has 3 weights"),
        (np.zeros(len(X)), r"sample_weight is zero for every row of this rank's X"),
        (np.where(y == "b", 0.0, 1.0), r"Every row of class 'b' has weight 0 on every rank"),
    ):
        with pytest.raises(ValueError, match=message):
            fit_distributed(GANAugmenter(**TINY), X, y, sample_weight=weights)


@pytest.fixture
def torchrun_env(monkeypatch):
    """The environment torchrun gives a lone rank, so main() runs in this process."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_cli_refuses_unsupported_options_while_parsing(tmp_path, capsys):
    for option in ("--time-limit", "--checkpoint-dir", "--min-quality", "--max-detection-auc", "--validation-fraction",
                   "--image-shape"):
        with pytest.raises(SystemExit) as done:
            main(["fit", "t.csv", "-o", str(tmp_path / "m.gan"), option, "0.5"])
        assert done.value.code == 2
        error = capsys.readouterr().err
        assert error.startswith(f"ganaugment.distributed: error: {option} is not supported") and error.count("\n") == 1
    with pytest.raises(SystemExit):  # DATA is a table file: no kind to choose
        main(["fit", "t.csv", "-o", str(tmp_path / "m.gan"), "--kind", "image"])
    assert "unrecognized arguments: --kind image" in capsys.readouterr().err


def test_cli_checks_output_before_training_and_errors_are_one_line(tmp_path, torchrun_env, capsys):
    data = tmp_path / "train.csv"
    _table(40).to_csv(data, index=False)
    options = ["--epochs", "1", "--batch-size", "20", "--generator-dim", "8", "--discriminator-dim", "8",
               "--pac", "2", "--device", "cpu", "--quiet"]
    assert main(["fit", str(data), "-o", str(tmp_path / "no_dir" / "m.gan"), *options]) == 1
    error = capsys.readouterr().err
    assert "trained on" not in error and error.count("\n") == 1
    assert re.fullmatch(r"ganaugment.distributed: error: cannot write .*no_dir' does not exist\n", error)
    assert main(["fit", str(data), "-o", str(tmp_path / "m.gan"), "--target", "nope", *options]) == 1
    error = capsys.readouterr().err
    assert error.startswith("ganaugment.distributed: error: --target 'nope' is not a column") and error.count("\n") == 1


def test_cli_takes_a_weights_column(tmp_path, torchrun_env, capsys):
    data, model_path = tmp_path / "train.csv", tmp_path / "m.gan"
    frame = _table(60)
    frame["w"] = np.where(frame["city"] == "nice", 5.0, 1.0)
    frame.to_csv(data, index=False)
    options = ["--epochs", "1", "--batch-size", "20", "--generator-dim", "8", "--discriminator-dim", "8",
               "--pac", "2", "--device", "cpu", "--quiet", "--random-state", "0"]
    assert main(["fit", str(data), "-o", str(model_path), "--target", "label", "--weights", "w", *options]) == 0
    capsys.readouterr()
    model = GANAugmenter.load(model_path)
    assert "w" not in model.feature_names_in_  # a weight, not a column to learn
    assert ganaugment.persistence.read_model_info(model_path)["metadata"]["weights"] == "w"
    alone = GANAugmenter(epochs=1, batch_size=20, generator_dim=(8,), discriminator_dim=(8,), pac=2, device="cpu",
                         random_state=0).fit(frame.drop(columns=["label", "w"]), frame["label"], sample_weight=frame["w"])
    np.testing.assert_allclose(model.model_.counts, alone.model_.counts)  # the weights reached the fit
    assert main(["fit", str(data), "-o", str(model_path), "--weights", "nope", *options]) == 1
    error = capsys.readouterr().err
    assert error.startswith("ganaugment.distributed: error: --weights 'nope' is not a column") and error.count("\n") == 1


def _torchrun_script(tmp_path, body, timeout=180):
    """Run ``body`` on 2 gloo ranks under torchrun; returns each rank's ``report`` lines (rank 0's, rank 1's)."""
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    if not os.path.exists(torchrun):
        pytest.skip("torchrun is not installed next to this Python")
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd(), "REPORT": str(tmp_path / "rank{}.txt")}
    done = subprocess.run([torchrun, "--standalone", "--nproc_per_node=2", str(script)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return [(tmp_path / f"rank{rank}.txt").read_text().splitlines() for rank in range(2)]


def test_torchrun_ranks_fail_together_and_take_short_shards(tmp_path):
    # Each case fails on both ranks at once, or the next case would hang (and time out) or crash.
    reports = _torchrun_script(tmp_path, f"""
        import datetime, os
        import numpy as np, pandas as pd, torch.distributed as dist
        from ganaugment import GANAugmenter
        from ganaugment.distributed import fit_distributed, state_hash

        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=30))
        rank = dist.get_rank()
        X = pd.DataFrame({{"a": np.arange(40.0) + rank, "c": ["x", "y"] * 20}})
        table = pd.DataFrame({{"a": [1.0, 2.0, 3.0], "c": ["x", "y", "x"]}})
        cases = {{
            "labels": (X, np.array(["a", "b"] * 20) if rank == 0 else np.arange(40) % 2),
            "empty": (table.iloc[:2] if rank == 0 else table.iloc[:0], None),
            "single": (table.iloc[:1] if rank == 0 else table.iloc[:0], None),
            "short": (table.iloc[rank::2], None),  # rank 1 holds one row
        }}
        with open(os.environ["REPORT"].format(rank), "w") as report:
            for case, (X_rank, y_rank) in cases.items():
                try:
                    gan = fit_distributed(GANAugmenter(**{TINY!r}, random_state=0), X_rank, y_rank)
                    print(f"ok {{gan.model_.n_training_rows}} {{state_hash(gan)}}", file=report)
                except (TypeError, ValueError) as exc:
                    print(f"{{type(exc).__name__}}: {{exc}}", file=report)
        dist.destroy_process_group()
    """)
    assert reports[0] == reports[1]  # the same errors, and the same weights, on both ranks
    labels, empty, single, short = reports[0]
    assert labels.startswith("TypeError: y mixes label types over the ranks (int, str)")
    assert empty == (
        "ValueError: Rank 1 of 2 holds no rows; give every rank at least one row (splitting one table of 2 rows, "
        "launch at most 2 ranks)."
    )
    assert single.startswith("ValueError: The table holds 1 row(s) over all 2 ranks")
    assert short.startswith("ok 3 ")


def test_torchrun_ranks_count_as_much_as_the_weight_they_hold(tmp_path):
    # Rank 0 holds x near 0 at weight 1, rank 1 as many rows near 6 at weight 3: three quarters of the
    # population lie near 6. With each rank's losses averaged alike, the GAN would learn one half.
    reports = _torchrun_script(tmp_path, """
        import datetime, os
        import numpy as np, pandas as pd, torch.distributed as dist
        from ganaugment import GANAugmenter
        from ganaugment.distributed import fit_distributed, state_hash

        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
        rank = dist.get_rank()
        rng = np.random.default_rng(rank)
        X = pd.DataFrame({"x": rng.normal(6.0 * rank, 0.5, 400)})
        gan = GANAugmenter(epochs=60, batch_size=100, generator_dim=(32,), discriminator_dim=(32,), noise_dim=8,
                           pac=2, calibrate=False, device="cpu", random_state=0)
        fit_distributed(gan, X, sample_weight=np.full(len(X), 1.0 + 2.0 * rank))
        high = float((gan.sample(4000, random_state=0)["x"] > 3.0).mean())
        with open(os.environ["REPORT"].format(rank), "w") as report:
            print(state_hash(gan), file=report)
            print(high, file=report)
        dist.destroy_process_group()
    """)
    assert reports[0] == reports[1]  # the same weights, and the same samples, on both ranks
    assert 0.65 < float(reports[0][1]) < 0.9, reports[0]  # 0.76-0.80 over three seeds; 0.51 unscaled


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
