"""Less common pandas column types: what comes back, what is refused, what a saved model keeps."""

import decimal
import warnings

import numpy as np
import pandas as pd
import pytest

from ganaugment import GANAugmenter, TableEncoder, evaluate

from .conftest import FAST


def decode_noisy(encoder, frame, seed=0):
    """Encode ``frame``, jitter the encoded values as a generator's output would be, decode."""
    matrix = encoder.transform(frame, np.random.default_rng(seed))
    noise = np.random.default_rng(seed + 1).normal(0, 0.05, matrix.shape).astype(matrix.dtype)
    return encoder.inverse_transform(matrix + noise, np.random.default_rng(seed + 2))


def test_dates_beyond_the_nanosecond_range_are_refused_by_name():
    """A [s] column can hold the year 1500; cast to nanoseconds it silently became 2084."""
    old = pd.Series(np.array(["1500-01-01", "1990-06-01", "2500-01-01"] * 10, dtype="datetime64[s]"))
    with pytest.raises(ValueError, match=r"Column 'old' holds dates outside 1677-09-21 to 2262-04-11"):
        TableEncoder().fit(pd.DataFrame({"old": old, "v": np.arange(30.0)}))
    inside = pd.DataFrame({"old": pd.Series(np.array(["1700-01-01", "2200-01-01"] * 10, dtype="datetime64[s]"))})
    back = decode_noisy(TableEncoder(random_state=0).fit(inside), inside)
    assert back["old"].dtype == "datetime64[s]" and back["old"].dt.year.between(1700, 2200).all()


def test_generated_dates_keep_the_step_of_the_column():
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({
        "day": pd.Series(pd.date_range("2021-01-01", periods=n)).astype("datetime64[s]"),
        # Local midnights across the March clock change: whole days on the wall clock only.
        "paris_day": pd.Series(pd.date_range("2021-03-01", periods=n, tz="Europe/Paris")),
        "second": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
        "any": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 10**12, n), unit="ns"),
    })
    frame.loc[::9, "day"] = pd.NaT
    encoder = TableEncoder(random_state=0).fit(frame)
    assert [encoder.state_of(c).time_step for c in frame.columns] == ["D", "D", "s", None]
    back = decode_noisy(encoder, frame)
    assert (back.dtypes == frame.dtypes).all()
    days = back["day"].dropna()
    assert len(days) < len(back) and (days == days.dt.normalize()).all()
    assert (back["paris_day"] == back["paris_day"].dt.normalize()).all()
    assert (back["second"].dt.microsecond == 0).all() and (back["second"].dt.nanosecond == 0).all()
    assert (back["any"].dt.nanosecond != 0).any()  # no step: left as generated


@pytest.mark.parametrize("dtype", [
    pd.StringDtype("python"), pd.StringDtype("pyarrow"), pd.StringDtype("pyarrow", na_value=np.nan),
])
def test_string_columns_keep_their_dtype_and_their_gaps(dtype, tmp_path):
    """pandas' "str" dtype came back as object, its missing values as the text "None"."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"s": pd.Series(["x", "y", None] * 40, dtype=dtype), "v": rng.normal(size=120)})
    model = GANAugmenter(random_state=0, **FAST).fit(X)
    model.save(tmp_path / "m.gan")
    for fitted in (model, GANAugmenter.load(tmp_path / "m.gan")):
        out = fitted.sample(200)
        assert out["s"].dtype == dtype
        assert out["s"].isna().any() and set(out["s"].dropna()) <= {"x", "y"}


def test_pyarrow_level_columns_and_typed_categories_keep_their_dtype(tmp_path):
    """pd.ArrowDtype(pa.string()) came back as pandas' StringDtype and a pyarrow dictionary as
    object; a Categorical's categories lost their own dtype (uint8 -> int64, string -> object), so
    pd.concat of real and synthetic rows was no longer categorical."""
    pa = pytest.importorskip("pyarrow")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({
        "text": pd.Series(["p", "q", None] * 40, dtype=pd.ArrowDtype(pa.string())),
        "dict": pd.Series(["u", "w", "w"] * 40).astype(pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string()))),
        "small": pd.Series(np.array([1, 2, 3] * 40, dtype="uint8")).astype("category"),
        "named": pd.Series(pd.array(["x", "y", "z"] * 40, dtype="string")).astype("category"),
        "whole": pd.Series(pd.array([7, 8, 9] * 40, dtype="Int64")).astype("category"),
        "v": rng.normal(size=120),
    })
    model = GANAugmenter(random_state=0, **FAST).fit(X)
    model.save(tmp_path / "m.gan")
    for fitted in (model, GANAugmenter.load(tmp_path / "m.gan")):
        out = fitted.sample(150)
        for column in X.columns:
            assert out[column].dtype == X[column].dtype, column
            assert pd.concat([X, out])[column].dtype == X[column].dtype, column
        assert out["text"].isna().any() and set(out["text"].dropna()) <= {"p", "q"}
        assert set(out["small"]) <= {1, 2, 3} and set(out["dict"]) <= {"u", "w"}


def test_interval_period_decimal_and_bytes_levels_save_and_load(tmp_path):
    """pd.cut's levels (and three other kinds) could be learned but not saved."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({
        "band": pd.cut(rng.normal(40, 10, 100), [0, 30, 50, 100]),
        "month": pd.Series(pd.period_range("2020-01", periods=4, freq="M").repeat(25)),
        "price": pd.Series([decimal.Decimal("1.10"), decimal.Decimal("2.5")] * 50, dtype=object),
        "raw": pd.Series([b"ab", b"\xff\x00"] * 50, dtype=object),  # not UTF-8: the metrics' labels used to fail
        "v": rng.normal(size=100),
    })
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # pandas' "dtype inference on a pandas object"
        model = GANAugmenter(random_state=0, checkpoint_dir=tmp_path / "ckpt", **FAST).fit(X)
        model.save(tmp_path / "m.gan")
        loaded = GANAugmenter.load(tmp_path / "m.gan")
        before, after = model.sample(40), loaded.sample(40)
    pd.testing.assert_frame_equal(before, after)
    assert (before.dtypes == X.dtypes).all()
    for column in ("band", "month", "price", "raw"):
        assert set(before[column]) <= set(X[column])


def test_reordered_integer_column_names_are_named_as_reordered():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({0: rng.normal(size=60), 1: rng.choice(["x", "y"], 60)})
    model = GANAugmenter(random_state=0, **FAST).fit(X)
    with pytest.raises(ValueError, match=r"in another order: \[1, 0\] instead of \[0, 1\]"):
        model.transform(X[[1, 0]])


def test_durations_are_learned_as_numbers_in_their_step(tmp_path):
    # They used to be learned as levels, with a warning: generated values could only repeat them.
    rng = np.random.default_rng(0)
    minutes = pd.Series(pd.to_timedelta(rng.integers(1, 600, 300), unit="min"))
    minutes[::11] = pd.NaT
    X = pd.DataFrame({"wait": minutes, "x": rng.normal(size=300)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = GANAugmenter(random_state=0, **FAST).fit(X)
    state = model.encoder_.state_of("wait")
    assert state.kind == "numeric" and state.is_duration and state.time_step == "min"
    rows = model.sample(400)["wait"]
    assert rows.dtype == "timedelta64[ns]" and rows.isna().any()
    present = rows.dropna()
    assert present.between(minutes.min(), minutes.max()).all()
    assert (present % pd.Timedelta(minutes=1) == pd.Timedelta(0)).all() and present.nunique() > 30
    path = model.save(tmp_path / "m.gan")
    assert GANAugmenter.load(path).sample(5)["wait"].dtype == "timedelta64[ns]"
    report = evaluate(X, model.sample(300))  # scored as seconds
    assert 0 < report.quality_score <= 1 and "wait" in set(report.tables["columns"]["column"])
    with pytest.raises(ValueError, match="'wait' held durations at fit"):
        model.transform(X.assign(wait=rng.normal(size=300)))


def test_metric_frames_under_pandas_string_inference():
    """pandas 3's default: text columns are "str"; building their categories warned on every call."""
    from ganaugment.metrics._frames import model_frames

    with pd.option_context("future.infer_string", True), warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        real = pd.DataFrame({"c": ["x", "y", None] * 5, "v": np.arange(15.0)})
        synthetic = pd.DataFrame({"c": ["y", "z", "x"] * 5, "v": np.arange(15.0)})
        first, second = model_frames([real, synthetic], ["c", "v"])
    assert list(first["c"].cat.categories) == ["x", "y", "z"]
    assert first["c"].isna().sum() == 5 and second["c"].tolist()[:3] == ["y", "z", "x"]


def test_pyarrow_unsigned_integers_above_the_int64_range():
    values = pd.Series(np.uint64(2**63) + np.arange(60, dtype=np.uint64) * np.uint64(1000), dtype="uint64[pyarrow]")
    frame = pd.DataFrame({"u": values})
    with pytest.warns(UserWarning, match="float64, which the GAN learns numbers in, steps by 2048"):
        encoder = TableEncoder(random_state=0).fit(frame)
    back = decode_noisy(encoder, frame)
    assert back["u"].dtype == "uint64[pyarrow]"
    assert back["u"].min() >= values.min() and back["u"].max() <= values.max()


@pytest.mark.parametrize("column", [pd.arrays.SparseArray([0, 0, 1, 0] * 10), pd.arrays.SparseArray([np.nan, 1.5] * 20)])
def test_sparse_columns_are_refused_by_name(column):
    with pytest.raises(ValueError, match=r"Column 'sp' is sparse .*\.sparse\.to_dense\(\)"):
        TableEncoder().fit(pd.DataFrame({"sp": column, "v": np.arange(40.0)}))


def test_dates_as_classes_can_be_asked_for():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"v": rng.normal(size=100)})
    y = pd.Series(pd.to_datetime(["2020-01-01"] * 70 + ["2021-01-01"] * 30))
    model = GANAugmenter(random_state=0, **FAST).fit(X, y)
    for label in (pd.Timestamp("2021-01-01"), np.datetime64("2021-01-01")):
        _, classes = model.sample(4, y=label)
        assert (pd.to_datetime(classes) == pd.Timestamp("2021-01-01")).all()
    with pytest.raises(ValueError, match=r"Unknown class Timestamp\('2022-01-01.*fitted on classes \[Timestamp"):
        model.sample(2, y=pd.Timestamp("2022-01-01"))


def test_durations_beyond_nanoseconds_are_refused_and_arrow_durations_are_numbers():
    rng = np.random.default_rng(0)
    long = pd.Series((rng.integers(110_000, 900_000, 50) * 86_400).astype("timedelta64[s]"))
    with pytest.raises(ValueError, match=r"'td' holds durations beyond 106,751 days"):
        TableEncoder().fit(pd.DataFrame({"td": long}))  # the nanosecond cast used to wrap around
    arrow = pd.Series(pd.to_timedelta(rng.integers(1, 600, 200), unit="min")).astype("duration[s][pyarrow]")
    X = pd.DataFrame({"td": arrow, "x": rng.normal(size=200)})
    model = GANAugmenter(random_state=0, **FAST).fit(X)
    assert model.encoder_.state_of("td").kind == "numeric"  # was learned as 200-odd levels
    rows = model.sample(50)["td"]
    assert str(rows.dtype) == "duration[s][pyarrow]" and rows.between(arrow.min(), arrow.max()).all()


def test_arrow_dates_are_learned_as_dates_and_come_back_in_their_dtype():
    import pyarrow as pa

    rng = np.random.default_rng(0)
    n = 200
    days = pd.Series(pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"))
    # Local midnights across the March clock change: whole days on the Paris wall clock only.
    paris = pd.Series(pd.date_range("2021-03-01", periods=n, tz="Europe/Paris"))
    frame = pd.DataFrame({
        "stamp": days.astype("timestamp[s][pyarrow]"),
        "paris": paris.astype(pd.ArrowDtype(pa.timestamp("ms", tz="Europe/Paris"))),
        "day": days.astype("date32[pyarrow]"),
    })
    encoder = TableEncoder(random_state=0).fit(frame)
    # They used to be learned as some 200 levels each, and could never take a new value.
    assert [(s.kind, s.is_datetime, s.time_step) for s in encoder.states_] == [("numeric", True, "D")] * 3
    back = decode_noisy(encoder, frame)
    assert (back.dtypes == frame.dtypes).all()
    assert back["stamp"].between(frame["stamp"].min(), frame["stamp"].max()).all()
    assert (back["paris"] == back["paris"].dt.floor("D")).all()
    assert back["day"].nunique() > 50
    report = evaluate(frame, back)
    assert report.tables["columns"].set_index("column")["score"].gt(0.5).all()


def test_durations_read_back_as_text_are_scored_as_durations():
    import io

    rng = np.random.default_rng(0)
    real = pd.DataFrame({"td": pd.to_timedelta(rng.integers(1, 600, 300), unit="min"), "x": rng.normal(size=300)})
    text = pd.read_csv(io.StringIO(real.to_csv(index=False)))  # "0 days 08:30:00"
    report = evaluate(real, text)
    assert report.tables["columns"].set_index("column").loc["td", "score"] == pytest.approx(1.0)
