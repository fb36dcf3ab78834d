"""Reliability of GANAugmenter on tables: bad input, training faults, checkpoints, long runs.

The image side of checkpoints and of the fidelity gate: test_image_reliability.py.

Every bad input gets a ValueError/TypeError naming the problem before training,
or a documented handling that is checked here (docs/guides/reliability.md).
"""

import copy
import os
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ganaugment.augmenter as augmenter_module
import ganaugment.training as training_module
from ganaugment import GANAugmenter, TrainingDivergedWarning
from ganaugment.checkpoint import CHECKPOINT_NAME
from ganaugment.persistence import read_model_info

from .conftest import FAST, crash_at, kill_after_checkpoint, make_mixed_frame

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONE = {**FAST, "epochs": 1}


@pytest.fixture(scope="module")
def table():
    return make_mixed_frame(n=200, seed=3)


def weights(problem) -> dict:
    return {k: v.clone() for k, v in problem.generator.state_dict().items()}


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def assert_valid_sample(out: pd.DataFrame, X: pd.DataFrame) -> None:
    """Same columns and dtypes as X, no unseen level, missing values only where X has them."""
    assert list(out.columns) == list(X.columns)
    assert list(out.dtypes) == list(X.dtypes)
    for name in X.columns:
        real, fake = X[name], out[name]
        if not real.isna().any():
            assert not fake.isna().any(), name
        if isinstance(real.dtype, pd.CategoricalDtype):
            assert list(fake.cat.categories) == list(real.cat.categories)
        if real.dtype == object or real.dtype == bool or isinstance(real.dtype, pd.CategoricalDtype):
            assert set(fake.dropna()) <= set(real.dropna()), name
        elif fake.notna().any():
            assert fake.min() >= real.min() and fake.max() <= real.max(), name


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("rows,match", [(0, "0 sample"), (1, "n_samples = 1")])
def test_empty_and_one_row_tables_are_refused(table, rows, match):
    with pytest.raises(ValueError, match=match):
        GANAugmenter(**ONE).fit(table.iloc[:rows])


def test_two_rows_are_enough(table):
    X = table.iloc[:2].assign(note="x")
    assert_valid_sample(GANAugmenter(**ONE, random_state=0).fit(X).sample(20), X)


@pytest.mark.parametrize(
    "y,error,match",
    [
        (np.full(200, 1.0), ValueError, "single class"),
        (np.where(np.arange(200) == 7, np.nan, np.arange(200) % 2), ValueError, "missing values"),
        # A list of text with a NaN (df["label"].tolist()): numpy made the NaN the class "nan".
        ([float("nan")] + ["a", "b"] * 99 + ["a"], ValueError, "missing values"),
        (np.where(np.arange(200) == 7, np.inf, np.arange(200) % 2), ValueError, "infinite"),
        (np.array([1, "a"] * 100, dtype=object), TypeError, r"y mixes label types \(int, str\)"),
        (np.zeros((200, 2)), ValueError, "1-dimensional"),
        (np.linspace(0, 1, 200), ValueError, r"y holds continuous numbers \(e.g. 0.005"),
        (pd.Series(np.linspace(0, 1, 200), dtype=object), ValueError, "continuous numbers"),
        (np.array([1, 2.5, 3] * 66 + [1, 2], dtype=object), ValueError, r"continuous numbers \(e.g. 2.5\)"),
    ],
)
def test_bad_targets_are_named_before_training(table, y, error, match, on_epoch):
    on_epoch(lambda problem, epoch: pytest.fail("training started"))
    with pytest.raises(error, match=match):
        GANAugmenter(**ONE).fit(table, y)


def test_infinite_values_are_refused_with_the_column_named_at_fit_and_transform(table):
    X = table.assign(income=table["income"].where(table.index != 5, -np.inf))
    with pytest.raises(ValueError, match="'income' contains infinite values"):
        GANAugmenter(**ONE).fit(X)
    gan = GANAugmenter(**ONE, random_state=0).fit(table)
    with pytest.raises(ValueError, match="'income' contains infinite values"):
        gan.transform(X)


def test_an_infinite_category_is_refused_like_an_infinite_number(table):
    X = table.assign(band=pd.Series([np.inf] + [1.0, 2.0] * 99 + [1.0]).astype("category"))
    with pytest.raises(ValueError, match="'band' contains infinite values"):
        GANAugmenter(**ONE).fit(X)
    X["band"] = pd.Series(["low", np.inf] * 100, dtype=object).astype("category")
    with pytest.raises(ValueError, match="'band' contains infinite values"):
        GANAugmenter(**ONE).fit(X)


def test_missing_numbers_are_learned(table):
    gan = GANAugmenter(**ONE, random_state=0).fit(table)
    out = gan.sample(300)
    assert out["income"].isna().any() and out["income"].notna().any()
    assert_valid_sample(out, table)


@pytest.mark.parametrize(
    "values,message",
    [
        ([1, "a", 2.5, "b"], r"mixes value types \(float, int, str\)"),
        # One type, but not one that can be a level: not called a mix.
        ([[1], [2], [1], [2]], "holds list values, which cannot be learned as levels"),
        ([{"k": 1}, {"k": 2}] * 2, "holds dict values, which cannot be learned as levels"),
        ([(1, "a"), (2, "b")] * 2, "holds tuple values, which cannot be learned as levels"),
    ],
)
def test_object_column_of_mixed_types_is_named(values, message, tmp_path):
    X = pd.DataFrame({"ok": np.arange(20.0), "odd": pd.Series(values * 5, dtype=object)})
    for folder in (None, tmp_path):  # with a checkpoint_dir the data are fingerprinted first
        with pytest.raises(ValueError, match=rf"Column 'odd' {message}.*astype\(str\)"):
            GANAugmenter(**ONE, checkpoint_dir=folder).fit(X)


def test_columns_not_seen_at_fit_are_named(table):
    gan = GANAugmenter(**ONE, random_state=0).fit(table)
    with pytest.raises(ValueError, match="unseen at fit time:\n- extra"):
        gan.transform(table.assign(extra=1))
    with pytest.raises(ValueError, match="same order"):
        gan.transform(table[table.columns[::-1]])
    with pytest.raises(ValueError, match="'extra', which is not a column"):
        gan.sample(5, conditions={"extra": "x"})
    with pytest.raises(TypeError, match="column 'city' must be a single value, got list"):
        gan.sample(5, conditions={"city": ["paris", "lyon"]})
    with pytest.raises(TypeError, match="conditions must be a dict"):
        gan.sample(5, conditions=[("city", "paris")])


def test_integer_column_names_come_back_as_the_same_integers(tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({0: rng.normal(size=60), 1: rng.choice(["a", "b"], 60), 7: rng.integers(0, 5, 60)})
    gan = GANAugmenter(**ONE, random_state=0).fit(X)
    for out in (gan.sample(10), gan.transform(X.iloc[:10])):
        assert list(out.columns) == [0, 1, 7] and all(type(c) is int for c in out.columns)
        assert_valid_sample(out, X)
    with pytest.raises(ValueError, match=r"columns seen at fit \(missing: \[7\], unexpected: \[8\]\)"):
        gan.transform(X.rename(columns={7: 8}))
    gan.save(tmp_path / "int-names.gan")
    assert list(GANAugmenter.load(tmp_path / "int-names.gan").sample(3).columns) == [0, 1, 7]


def test_duplicate_and_mixed_type_column_names_are_refused():
    with pytest.raises(ValueError, match=r"duplicate column names \['a'\]; rename them"):
        GANAugmenter(**ONE).fit(pd.DataFrame(np.ones((5, 3)), columns=["a", "b", "a"]))
    with pytest.raises(TypeError, match=r"X.columns = X.columns.astype\(str\)"):
        GANAugmenter(**ONE).fit(pd.DataFrame({0: np.arange(5.0), "b": np.arange(5.0)}))


def test_constant_columns_fit_and_come_back_constant():
    n = 80
    X = pd.DataFrame(
        {
            "f": np.full(n, 3.25),
            "i": np.full(n, -7),
            "c": ["only"] * n,
            "b": np.ones(n, dtype=bool),
            "k": pd.Categorical(["z"] * n, categories=["y", "z"]),
            "d": pd.to_datetime(["2021-03-04"] * n),
            "varies": np.arange(n) % 3,
        }
    )
    out = GANAugmenter(**ONE, random_state=0).fit(X).sample(200)
    assert_valid_sample(out, X)
    for name in ("f", "i", "c", "b", "k", "d"):
        assert (out[name] == X[name].iloc[0]).all(), name


def test_a_category_with_a_single_row_is_learned_and_can_be_asked_for():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=100), "c": ["rare"] + list(rng.choice(["a", "b"], 99))})
    gan = GANAugmenter(**ONE, random_state=0).fit(X)
    out = gan.sample(30, conditions={"c": "rare"})
    assert (out["c"] == "rare").all()
    assert_valid_sample(gan.sample(300), X)


def test_five_hundred_columns_fit_with_tiny_settings():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(24, 500)), columns=[f"c{i}" for i in range(500)])
    X["c7"] = rng.choice(["u", "v"], 24)
    out = GANAugmenter(**ONE, max_modes=1, random_state=0).fit(X).sample(5)
    assert out.shape == (5, 500)
    assert_valid_sample(out, X)


@pytest.mark.parametrize("empty", [np.full(30, np.nan), [None] * 30, pd.Series([pd.NaT] * 30)])
def test_an_all_missing_column_is_named(empty):
    X = pd.DataFrame({"ok": np.arange(30.0), "hole": empty})
    with pytest.raises(ValueError, match="Column 'hole' has no observed value.*dropna"):
        GANAugmenter(**ONE).fit(X)


def test_values_at_the_limits_of_their_type_never_overflow():
    """Means of values near 1e308 overflowed to NaN rows; int64 extremes wrapped around."""
    n = 60
    big = np.finfo(np.float64).max
    X = pd.DataFrame(
        {
            "huge": np.resize([big, -big, big / 3], n),
            "tiny": np.resize([5e-324, -1e-310, 0.0], n),
            "i64": np.resize(np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0]), n),
            "u64": np.resize(np.array([0, np.iinfo(np.uint64).max], dtype=np.uint64), n),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, no divergence
        out = GANAugmenter(**ONE, random_state=0).fit(X).sample(500)
    assert np.isfinite(out[["huge", "tiny"]].to_numpy()).all()
    assert_valid_sample(out, X)


# ------------------------------------------------------------ property tests
def _column(kind: str, n: int):
    cells = {
        "int": st.integers(-(2**63), 2**63 - 1) | st.integers(-5, 5),
        "float": st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.floats(-3, 3),
        "bool": st.booleans(),
        "category": st.sampled_from(["a", "b", "c"]),
        "object": st.none() | st.text(max_size=4) | st.sampled_from(["x", "y"]),
        "datetime": st.none() | st.datetimes(min_value=pd.Timestamp("1900-01-01"), max_value=pd.Timestamp("2200-01-01")),
    }[kind]
    return st.lists(cells, min_size=n, max_size=n)


@st.composite
def mixed_frames(draw):
    n = draw(st.integers(2, 25))
    kinds = draw(st.lists(st.sampled_from(["int", "float", "bool", "category", "object", "datetime"]), min_size=1, max_size=5))
    columns = {}
    for i, kind in enumerate(kinds):
        values = draw(_column(kind, n))
        name = f"{kind}_{i}"
        if kind == "int":
            columns[name] = np.array(values, dtype=np.int64)
        elif kind == "float":
            columns[name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        elif kind == "bool":
            columns[name] = np.array(values, dtype=bool)
        elif kind == "category":
            columns[name] = pd.Categorical(values, categories=["a", "b", "c", "d"])
        elif kind == "object":
            columns[name] = pd.Series(values, dtype=object)
        else:
            columns[name] = pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ns]")
    return pd.DataFrame(columns)


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(X=mixed_frames())
def test_any_small_mixed_table_fits_and_samples_its_exact_schema(X):
    if X.isna().all().any():
        with pytest.raises(ValueError, match="has no observed value"):
            GANAugmenter(**ONE).fit(X)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingDivergedWarning)
        gan = GANAugmenter(**ONE, random_state=0).fit(X)
    out = gan.sample(40)
    assert_valid_sample(out, X)
    for name in X.columns:
        if X[name].dtype == np.int64:
            assert out[name].dtype == np.int64
    assert_valid_sample(gan.transform(X), X)


# ------------------------------------------------------------ training faults
def test_a_non_finite_loss_rolls_back_to_the_last_good_epoch(table, monkeypatch, on_epoch):
    real = augmenter_module.TabularGAN.discriminate
    epoch_now = {"n": 1}
    monkeypatch.setattr(
        augmenter_module.TabularGAN,
        "discriminate",
        lambda self, x, batch: real(self, x, batch) * (np.nan if epoch_now["n"] == 2 else 1.0),
    )
    seen = {}

    def record(problem, epoch):
        seen[epoch] = weights(problem)
        epoch_now["n"] = epoch + 1

    on_epoch(record)
    # The fault comes through a Python call made every step; on a GPU, a recorded
    # CUDA graph replays steps without that call (test_cuda_graph covers its rollback).
    with pytest.warns(TrainingDivergedWarning, match="Epoch 2: a loss became non-finite"):
        gan = GANAugmenter(**{**FAST, "epochs": 3}, cuda_graph=False, random_state=0).fit(table)
    assert [bool(h.get("rolled_back")) for h in gan.history_] == [False, True, False]
    assert_same_weights(seen[2], seen[1])  # epoch 2 left no trace
    assert not torch.equal(seen[3][next(iter(seen[3]))], seen[1][next(iter(seen[1]))])
    out = gan.sample(300)
    assert_valid_sample(out, table)
    assert np.isfinite(out.select_dtypes("number").fillna(0).to_numpy(dtype=float)).all()


def test_non_finite_weights_behind_a_finite_loss_are_rolled_back(table, monkeypatch, on_epoch):
    """The last step of an epoch can break the weights after its loss was measured."""
    real = training_module._Stepper.epoch
    calls = {"n": 0}

    def poisoning_epoch(self):
        totals = real(self)
        calls["n"] += 1
        if calls["n"] >= 2:  # every epoch from the second on
            with torch.no_grad():
                next(self.problem.generator.parameters()).fill_(float("nan"))
        return totals

    monkeypatch.setattr(training_module._Stepper, "epoch", poisoning_epoch)
    seen = {}
    on_epoch(lambda problem, epoch: seen.setdefault(epoch, weights(problem)))
    with pytest.warns(TrainingDivergedWarning):
        gan = GANAugmenter(**{**FAST, "epochs": 3}, random_state=0).fit(table)
    assert [bool(h.get("rolled_back")) for h in gan.history_] == [False, True, True]
    assert_same_weights(seen[3], seen[1])
    for tensor in gan.model_.generator.state_dict().values():
        assert torch.isfinite(tensor).all()
    assert_valid_sample(gan.sample(300), table)


@pytest.mark.parametrize("stop_after", [0, 2])
def test_ctrl_c_keeps_the_model_of_the_last_finished_epoch(table, monkeypatch, on_epoch, stop_after):
    """KeyboardInterrupt in the middle of epoch stop_after + 1."""
    real = augmenter_module.TabularGAN.generate
    seen = {0: None}
    calls = {"n": 0}

    def generate(self, batch):
        if seen[0] is None:
            seen[0] = weights(self)
        calls["n"] += 1
        if calls["n"] == 2 * stop_after + 2:  # two steps per epoch: the second step of epoch stop_after + 1
            raise KeyboardInterrupt
        return real(self, batch)

    monkeypatch.setattr(augmenter_module.TabularGAN, "generate", generate)
    on_epoch(lambda problem, epoch: seen.setdefault(epoch, weights(problem)))
    # Raised from a Python call made every step, which replays of a recorded CUDA graph skip.
    with pytest.warns(RuntimeWarning, match=f"interrupted.*last finished epoch \\({stop_after}\\)"):
        gan = GANAugmenter(**{**FAST, "epochs": 5}, cuda_graph=False, random_state=0).fit(table)
    assert len(gan.history_) == stop_after
    assert_same_weights(weights(gan.model_), seen[stop_after])
    assert_valid_sample(gan.sample(100), table)


# --------------------------------------------------------------- checkpoints
def test_checkpoints_are_written_every_k_epochs_and_at_the_end(table, tmp_path, monkeypatch):
    import ganaugment.checkpoint as checkpoint_module

    real = checkpoint_module.save_model
    saved = []

    def save_model(estimator, path, *, metadata):
        saved.append(metadata["epoch"])
        assert len(estimator.history_) == metadata["epoch"]
        return real(estimator, path, metadata=metadata)

    monkeypatch.setattr(checkpoint_module, "save_model", save_model)
    folder = tmp_path / "run"  # a pathlib.Path, created on demand
    gan = GANAugmenter(**{**FAST, "epochs": 5}, checkpoint_dir=folder, checkpoint_every=2, random_state=0).fit(table)
    assert saved == [2, 4, 5]
    assert sorted(os.listdir(folder)) == [CHECKPOINT_NAME]
    info = read_model_info(folder / CHECKPOINT_NAME)
    assert info["metadata"]["epoch"] == 5 and len(info["metadata"]["optimizers"]) == 2
    # The checkpoint is a model file: it loads and samples what the fitted model samples.
    loaded = GANAugmenter.load(folder / CHECKPOINT_NAME)
    assert loaded.sample(50).to_csv() == gan.sample(50).to_csv()
    gan.save(tmp_path / "model.gan")  # a path-like checkpoint_dir is saved as its string
    assert GANAugmenter.load(tmp_path / "model.gan").checkpoint_dir == str(folder)


def test_a_last_epoch_on_the_checkpoint_period_is_saved_after_calibration(table, tmp_path):
    y = np.where(np.arange(len(table)) % 4 == 0, "rare", "common")
    # A stale temporary file of a save killed before its rename is cleared by the next fit.
    tmp_path.joinpath(".ganaugment-stale.tmp").write_bytes(b"half a model")
    gan = GANAugmenter(**{**FAST, "epochs": 4}, checkpoint_dir=tmp_path, checkpoint_every=2, random_state=0).fit(table, y)
    assert sorted(os.listdir(tmp_path)) == [CHECKPOINT_NAME]
    loaded = GANAugmenter.load(tmp_path / CHECKPOINT_NAME)
    # The periodic save of epoch 4 came before the level calibration that ends the fit.
    assert np.abs(gan.model_.logit_bias).max() > 0
    np.testing.assert_array_equal(loaded.model_.logit_bias, gan.model_.logit_bias)
    assert loaded.sample(200)[0].to_csv() == gan.sample(200)[0].to_csv()


def test_a_resumed_fit_gives_byte_identical_samples(table, tmp_path, on_epoch, monkeypatch):
    y = np.where(np.arange(len(table)) % 4 == 0, "rare", "common")
    params = dict(**{**FAST, "epochs": 6}, checkpoint_every=2, random_state=0, device="cpu")  # CPU: CUDA runs are not bitwise reproducible
    straight = GANAugmenter(**params).fit(table, y)
    on_epoch(crash_at(5))
    with pytest.raises(RuntimeError, match="simulated crash"):
        GANAugmenter(**params, checkpoint_dir=tmp_path).fit(table, y)
    at_crash = GANAugmenter.load(tmp_path / CHECKPOINT_NAME, device="cpu")
    assert len(at_crash.history_) == 4
    monkeypatch.undo()
    resumed = GANAugmenter(**params, checkpoint_dir=tmp_path).fit(table, y)
    assert resumed.history_[:4] == at_crash.history_  # same timings: epochs 1-4 were not trained again
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3, 4, 5, 6]
    a, b = straight.sample(300), resumed.sample(300)
    assert a[0].to_csv() == b[0].to_csv()
    np.testing.assert_array_equal(a[1], b[1])


def test_resuming_with_other_data_or_hyperparameters_is_refused(table, tmp_path):
    params = dict(**{**FAST, "epochs": 2}, checkpoint_dir=tmp_path, random_state=0)
    GANAugmenter(**params).fit(table)
    with pytest.raises(ValueError, match="fit on other data.*another checkpoint_dir"):
        GANAugmenter(**params).fit(table.iloc[1:])
    with pytest.raises(ValueError, match="fit on other data"):
        GANAugmenter(**params).fit(table.assign(age=table["age"] + 1))
    with pytest.raises(ValueError, match="fit on other data"):
        GANAugmenter(**params).fit(table, np.arange(len(table)) % 2)
    # Equal as text, other data all the same: the numbers 1, 2 against the strings "1", "2" ...
    coded = table.assign(code=pd.Series(np.arange(len(table)) % 2 + 1, dtype=object))
    GANAugmenter(**{**params, "checkpoint_dir": tmp_path / "coded"}).fit(coded)
    with pytest.raises(ValueError, match="fit on other data"):
        GANAugmenter(**{**params, "checkpoint_dir": tmp_path / "coded"}).fit(coded.astype({"code": str}))
    # ... and a categorical column whose levels or their order changed.
    levels = table.assign(code=pd.Categorical(np.where(np.arange(len(table)) % 2, "u", "v"), categories=["u", "v"]))
    GANAugmenter(**{**params, "checkpoint_dir": tmp_path / "levels"}).fit(levels)
    reordered = levels.assign(code=levels["code"].cat.set_categories(["v", "u", "w"], ordered=True))
    with pytest.raises(ValueError, match="fit on other data"):
        GANAugmenter(**{**params, "checkpoint_dir": tmp_path / "levels"}).fit(reordered)
    with pytest.raises(ValueError, match=r"other hyperparameters \(noise_dim=16 there, 8 now\)"):
        GANAugmenter(**{**params, "noise_dim": 8}).fit(table)
    with pytest.raises(ValueError, match=r"random_state=0 there, 1 now"):
        GANAugmenter(**{**params, "random_state": 1}).fit(table)
    with pytest.raises(ValueError, match="epoch 2, beyond epochs=1"):
        GANAugmenter(**{**params, "epochs": 1}).fit(table)
    more = GANAugmenter(**{**params, "epochs": 3, "verbose": False, "time_limit": 600}).fit(table)
    assert [h["epoch"] for h in more.history_] == [1, 2, 3]
    assert not any("time_limit_reached" in h for h in more.history_)  # every epoch ran: no early stop
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file"):
        GANAugmenter(**{**params, "checkpoint_dir": tmp_path / "file"}).fit(table)


def test_ctrl_c_with_a_checkpoint_dir_saves_the_last_finished_epoch_and_resumes_exactly(table, tmp_path, monkeypatch):
    real = augmenter_module.TabularGAN.generate
    calls = {"n": 0}

    def generate(self, batch):
        calls["n"] += 1
        if calls["n"] == 7:  # two steps per epoch: the first step of epoch 4
            raise KeyboardInterrupt
        return real(self, batch)

    params = dict(**{**FAST, "epochs": 6}, checkpoint_every=2, random_state=0, device="cpu")  # CPU: CUDA runs are not bitwise reproducible
    straight = GANAugmenter(**params).fit(table)
    monkeypatch.setattr(augmenter_module.TabularGAN, "generate", generate)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        gan = GANAugmenter(**params, checkpoint_dir=tmp_path).fit(table)
    assert len(gan.history_) == 3
    assert read_model_info(tmp_path / CHECKPOINT_NAME)["metadata"]["epoch"] == 3
    monkeypatch.undo()
    resumed = GANAugmenter(**params, checkpoint_dir=tmp_path).fit(table)
    assert resumed.history_[:3] == gan.history_
    assert resumed.sample(300).to_csv() == straight.sample(300).to_csv()


_TRAINING_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from ganaugment import GANAugmenter
from tests.conftest import make_mixed_frame
X = make_mixed_frame(n=200, seed=3)
GANAugmenter(**{params!r}).fit(X)
"""


def test_a_killed_training_process_resumes_from_its_checkpoint(table, tmp_path):
    params = dict(**{**FAST, "epochs": 100_000}, checkpoint_dir=str(tmp_path), checkpoint_every=1, random_state=0)
    checkpoint = kill_after_checkpoint(_TRAINING_SCRIPT.format(root=ROOT, params=params), tmp_path, CHECKPOINT_NAME)
    at_kill = GANAugmenter.load(checkpoint)
    k = len(at_kill.history_)
    assert k >= 1 and read_model_info(checkpoint)["metadata"]["epoch"] == k
    params["epochs"] = k + 2
    resumed = GANAugmenter(**params).fit(table)
    assert resumed.history_[:k] == at_kill.history_
    assert [h["epoch"] for h in resumed.history_] == list(range(1, k + 3))
    assert_valid_sample(resumed.sample(300), table)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


# -------------------------------------------------------------- determinism
def test_same_seed_gives_byte_identical_csv(table):
    y = np.where(np.arange(len(table)) % 3 == 0, 1, 0)
    outputs = []
    for _ in range(2):
        gan = GANAugmenter(**ONE, random_state=11, device="cpu").fit(table, y)  # CPU: CUDA runs are not bitwise reproducible
        X_synth, y_synth = gan.sample(400)
        outputs.append(X_synth.assign(label=y_synth).to_csv(index=False).encode())
        outputs.append(gan.transform(table).to_csv(index=False).encode())
    assert outputs[0] == outputs[2] and outputs[1] == outputs[3]
    other = GANAugmenter(**ONE, random_state=12).fit(table, y).sample(400)[0]
    assert other.to_csv(index=False).encode() != outputs[0]


def test_a_random_state_instance_seeds_like_its_draw_and_a_numpy_generator_is_refused(table):
    first, second = (
        GANAugmenter(**ONE, random_state=np.random.RandomState(5)).fit(table).sample(50) for _ in range(2)
    )
    pd.testing.assert_frame_equal(first, second)
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="random_state"):
        GANAugmenter(**ONE, random_state=np.random.default_rng(5)).fit(table)


# ---------------------------------------------------- data is never code
def test_values_that_look_like_code_are_plain_strings(tmp_path):
    marker = tmp_path / "PWNED"
    payload = f"__import__('os').system('touch {marker}')"
    X = pd.DataFrame({"text": [payload, "{{7*7}}", "${7*7}"] * 20, "x": np.arange(60.0), payload: np.arange(60) % 2})
    y = np.array([payload, "safe"] * 30)
    gan = GANAugmenter(**ONE, random_state=0).fit(X, y)
    gan.save(tmp_path / "model.gan")
    loaded = GANAugmenter.load(tmp_path / "model.gan")
    out, labels = loaded.sample(300)
    assert set(out["text"]) == {payload, "{{7*7}}", "${7*7}"}
    assert payload in out.columns and set(labels) == {payload, "safe"}
    csv = tmp_path / "out.csv"
    out.to_csv(csv, index=False)
    assert pd.read_csv(csv)["text"].isin([payload, "{{7*7}}", "${7*7}"]).all()
    assert not marker.exists()


def test_the_guide_example_runs(tmp_path, monkeypatch, capsys):
    guide = os.path.join(ROOT, "docs", "guides", "reliability.md")
    with open(guide, encoding="utf-8") as handle:
        code = handle.read().split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, guide, "exec"), {})
    exec(compile(code, guide, "exec"), {})  # the second run resumes from the finished checkpoint
    printed = capsys.readouterr().out
    assert printed.count("epochs trained: 30") == 2 and "Column 'income' contains infinite values" in printed
    assert os.path.exists(tmp_path / "gan-checkpoints" / CHECKPOINT_NAME)


def test_the_command_line_passes_checkpoint_options_through():
    from ganaugment import cli

    args = cli.build_parser().parse_args(
        ["fit", "t.csv", "-o", "m.gan", "--checkpoint-dir", "runs/a", "--checkpoint-every", "5"]
    )
    assert cli.estimator_params(args) == {"checkpoint_dir": "runs/a", "checkpoint_every": 5}


def test_image_fits_take_checkpoints_and_still_refuse_table_only_parameters(tmp_path):
    # Image checkpoints are tested in test_image_reliability.py.
    images = np.random.default_rng(0).random((8, 8, 8))
    with pytest.raises(ValueError, match="^pac, dropout only apply to tables"):
        GANAugmenter(epochs=1, kind="image", pac=4, dropout=0.5, checkpoint_dir=tmp_path).fit(images)
    assert not (tmp_path / CHECKPOINT_NAME).exists()
    GANAugmenter(epochs=1, kind="image", checkpoint_dir=tmp_path, random_state=0).fit(images)
    assert read_model_info(tmp_path / CHECKPOINT_NAME)["metadata"]["epoch"] == 1


def test_a_column_named_nan_is_refused_before_training(table, on_epoch):
    # pandas turns the names [1, None] into [1.0, nan]; such a model saved but could not be loaded.
    on_epoch(lambda problem, epoch: pytest.fail("training started"))
    X = table.iloc[:, :2].set_axis([1, None], axis=1)
    with pytest.raises(ValueError, match=r"column named NaN/None \(position 1\)"):
        GANAugmenter(**ONE).fit(X)
