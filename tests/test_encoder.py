import warnings

import numpy as np
import pandas as pd
import pytest

from ganaugment import TableEncoder


def roundtrip(frame, **kw):
    enc = TableEncoder(random_state=0, **kw).fit(frame)
    rng = np.random.default_rng(0)
    return enc, enc.inverse_transform(enc.transform(frame, rng), rng)


def test_roundtrip_keeps_schema_and_values(mixed_frame):
    enc, back = roundtrip(mixed_frame)
    assert list(back.columns) == list(mixed_frame.columns)
    assert (back.dtypes == mixed_frame.dtypes).all(), back.dtypes
    assert list(back["grade"].cat.categories) == ["a", "b", "c", "d"]
    # Categorical, boolean and missing markers come back exactly.
    for column in ("city", "member", "grade", "note"):
        assert back[column].isna().equals(mixed_frame[column].isna())
        present = mixed_frame[column].notna()
        pd.testing.assert_series_equal(back[column][present], mixed_frame[column][present], check_names=False)
    assert back["income"].isna().equals(mixed_frame["income"].isna())
    # Numeric values are recovered closely through their mode.
    np.testing.assert_allclose(back["age"], mixed_frame["age"], atol=1)
    ok = mixed_frame["income"].notna()
    np.testing.assert_allclose(back["income"][ok], mixed_frame["income"][ok], rtol=1e-3)
    delta = (back["joined"] - mixed_frame["joined"]).abs()
    assert delta.max() < pd.Timedelta(days=2)


def test_spans_cover_matrix(mixed_frame):
    enc = TableEncoder(random_state=0).fit(mixed_frame)
    covered = np.zeros(enc.output_width_, dtype=int)
    for span in enc.spans_:
        covered[span.start : span.stop] += 1
    assert (covered == 1).all()
    roles = {(s.column, s.role) for s in enc.spans_}
    assert ("income", "missing") in roles and ("age", "missing") not in roles


def test_decoded_numbers_stay_in_observed_range(mixed_frame):
    enc = TableEncoder(random_state=0).fit(mixed_frame)
    noise = np.random.default_rng(1).normal(0, 3, (500, enc.output_width_))
    out = enc.inverse_transform(noise, np.random.default_rng(0))
    assert out["age"].between(mixed_frame["age"].min(), mixed_frame["age"].max()).all()
    assert out["age"].dtype == np.int64
    assert set(out["city"]) <= set(mixed_frame["city"])


def test_compact_rows_decode_like_the_dense_matrix(mixed_frame):
    """compact() reads every discrete span by its arg-max; decoding either form gives one frame."""
    enc = TableEncoder(random_state=0).fit(mixed_frame)
    noise = np.random.default_rng(2).normal(0, 2, (400, enc.output_width_)).astype(np.float32)
    rows = enc.compact(noise)
    discrete = [s for s in enc.spans_ if s.kind == "discrete"]
    assert rows.codes.shape == (400, len(discrete))
    for k, span in enumerate(discrete):
        np.testing.assert_array_equal(rows.codes[:, k], noise[:, span.start : span.stop].argmax(axis=1))
    pd.testing.assert_frame_equal(
        enc.inverse_transform(rows, np.random.default_rng(0)), enc.inverse_transform(noise, np.random.default_rng(0))
    )
    # expand() and compact() are inverses on encoded tables.
    encoded = enc.transform_compact(mixed_frame, np.random.default_rng(0))
    again = enc.compact(enc.expand(encoded))
    np.testing.assert_array_equal(again.codes, encoded.codes)
    np.testing.assert_array_equal(again.values, encoded.values)


def test_inverse_transform_names_a_wrong_layout(mixed_frame):
    enc = TableEncoder(random_state=0).fit(mixed_frame)
    with pytest.raises(ValueError, match="width"):
        enc.inverse_transform(np.zeros((3, enc.output_width_ + 1)), np.random.default_rng(0))
    rows = enc.compact(np.zeros((3, enc.output_width_)))
    rows.codes = rows.codes[:, 1:]
    with pytest.raises(ValueError, match="codes per row"):
        enc.inverse_transform(rows, np.random.default_rng(0))


def test_high_cardinality_column_is_pooled_without_new_levels():
    rng = np.random.default_rng(0)
    ids = [f"id{i}" for i in range(3000)]
    frame = pd.DataFrame({"id": rng.choice(ids, 5000), "v": rng.normal(size=5000)})
    enc = TableEncoder(max_categories=50, random_state=0).fit(frame)
    span = [s for s in enc.spans_ if s.column == "id"][0]
    assert span.width == 50
    noise = np.random.default_rng(1).normal(size=(2000, enc.output_width_))
    out = enc.inverse_transform(noise, np.random.default_rng(0))
    assert set(out["id"]) <= set(frame["id"])
    # Pooled levels are generated too, not only the 49 kept ones.
    assert out["id"].nunique() > 49


@pytest.mark.parametrize("max_categories", [None, 3])
def test_levels_reading_like_the_internal_placeholders_stay_apart_from_missing_values(max_categories):
    # The missing-value and pooled slots are found by position: a level with their text is data.
    values = ["a", "b", "__ganaugment_missing__", "__ganaugment_other__", None] * 40
    frame = pd.DataFrame({"c": pd.Series(values, dtype=object)})
    enc, back = roundtrip(frame, max_categories=max_categories)
    assert back["c"].isna().equals(frame["c"].isna())
    if max_categories is None:  # nothing pooled: every level comes back as itself
        present = frame["c"].notna()
        pd.testing.assert_series_equal(back["c"][present], frame["c"][present])
    else:  # pooled levels come back as some pooled level, never as a missing value
        assert set(back["c"].dropna()) <= {"a", "b", "__ganaugment_missing__", "__ganaugment_other__"}
    assert enc.level_index("c", "__ganaugment_missing__") != enc.level_index("c", None)


def test_unseen_category_at_transform_is_named():
    enc = TableEncoder(random_state=0).fit(pd.DataFrame({"c": ["a", "b", "a"]}))
    with pytest.raises(ValueError, match="never seen at fit.*'z'"):
        enc.transform(pd.DataFrame({"c": ["a", "z"]}), np.random.default_rng(0))


def test_inf_and_mixed_types_rejected_with_column_name():
    with pytest.raises(ValueError, match="'x'.*infinite"):
        TableEncoder().fit(pd.DataFrame({"x": [1.0, np.inf, 2.0]}))
    with pytest.raises(ValueError, match="'m'.*mixes value types"):
        TableEncoder().fit(pd.DataFrame({"m": ["a", 1, 2.5]}, dtype=object))


def test_unclipped_dates_below_the_nanosecond_range_stay_dates():
    # clip=False lets a date fall below 1677-09-21; it is held at the first
    # representable nanosecond, not at int64's minimum, which numpy reads as NaT.
    rng = np.random.default_rng(0)
    days = np.r_[rng.integers(0, 3, 100), rng.integers(105000, 106000, 100)]
    frame = pd.DataFrame({"t": pd.Timestamp("1677-09-22") + pd.to_timedelta(days, unit="D")})
    enc = TableEncoder(clip=False, random_state=0).fit(frame)
    dense = enc.transform(frame, rng)
    value = next(s for s in enc.spans_ if s.kind == "continuous")
    dense[:, value.start] = -1.0  # four standard deviations below every mode's mean
    back = enc.inverse_transform(dense, rng)
    assert back["t"].notna().all()
    assert back["t"].min() < pd.Timestamp("1677-09-22")


def test_numbers_stored_as_text_warn_unless_declared_categorical():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "amount": rng.normal(100, 10, 200).round(2).astype(str),  # a quantity read as text
        "code": rng.choice(["1", "2", "3"], 200),  # few levels: a code, no warning
        "name": rng.choice([f"n{i}" for i in range(40)], 200),  # text that is not a number
        "flag": pd.Series(rng.choice([True, False], 200), dtype=object),
    })
    with pytest.warns(UserWarning, match=r"Column 'amount' holds only numbers, but as object values .* pd.to_numeric") as caught:
        encoder = TableEncoder(random_state=0).fit(frame)
    assert len(caught) == 1
    assert encoder.state_of("amount").kind == "categorical"  # the dtype still decides; fit only warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TableEncoder(categorical_features=["amount"], random_state=0).fit(frame)
        TableEncoder(random_state=0).fit(frame.assign(amount=pd.to_numeric(frame["amount"])))


def test_generated_floats_keep_the_decimal_places_of_the_column():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "price": rng.normal(50, 20, 400).round(2),
        "whole": rng.normal(10, 3, 400).round(),  # floats with no fraction, e.g. an int column with gaps
        "rate": rng.normal(0, 1, 400).round(4).astype(np.float32),
        "raw": rng.normal(0, 1, 400),  # full precision: left alone
    })
    frame.loc[::7, "whole"] = np.nan
    encoder = TableEncoder(random_state=0).fit(frame)
    assert [encoder.state_of(c).decimals for c in frame.columns] == [2, 0, 4, None]
    # Decode arbitrary encoded rows, as a generator would produce them.
    matrix = encoder.transform(frame, np.random.default_rng(1))
    noisy = matrix + rng.normal(0, 0.05, matrix.shape).astype(matrix.dtype)
    back = encoder.inverse_transform(noisy, np.random.default_rng(2))
    assert np.array_equal(back["price"], back["price"].round(2))
    assert not np.array_equal(back["price"], back["price"].round(1))
    observed = back["whole"].dropna()
    assert len(observed) < len(back) and np.array_equal(observed, observed.round())
    assert back["rate"].dtype == np.float32
    assert np.allclose(back["rate"], back["rate"].astype(np.float64).round(4), rtol=0, atol=1e-6)
    assert not np.allclose(back["raw"], back["raw"].round(6), rtol=0, atol=1e-12)


def test_one_extreme_value_does_not_blow_up_the_rest_of_the_column():
    # With 1e12 among N(0, 1) values, the standard deviation is about 6e10 and the narrowest mode the
    # mixture allows was 6e7 wide: values decoded near the bulk's mode came back as tens of millions.
    rng = np.random.default_rng(0)
    values = rng.normal(size=300)
    values[0] = 1e12
    frame = pd.DataFrame({"x": values, "ordinary": rng.normal(5, 2, 300)})
    encoder = TableEncoder(random_state=0).fit(frame)
    matrix = encoder.transform(frame, np.random.default_rng(1))
    noisy = matrix + rng.normal(0, 0.05, matrix.shape).astype(matrix.dtype)
    back = encoder.inverse_transform(noisy, np.random.default_rng(2))
    bulk = back["x"].abs() < 10
    assert bulk.mean() > 0.97 and back.loc[bulk, "x"].std() > 0.5
    assert back["x"].max() > 1e11  # the extreme value's own mode still decodes near it
    # An ordinary column keeps its mean and standard deviation as center and scale.
    ordinary = encoder.state_of("ordinary")
    assert ordinary.center == pytest.approx(frame["ordinary"].mean()) and ordinary.scale == pytest.approx(
        frame["ordinary"].std(ddof=0)
    )


@pytest.mark.parametrize(
    "base, spread, warns", [(2**62, 1000, True), (2**40, 1000, False), (-(2**62), 1000, True), (2**62, 1, False)]
)
def test_integers_too_large_for_float64_to_tell_apart_warn(base, spread, warns):
    # A constant (spread 1) comes back exactly: decoding clips to the exact bounds.
    ids = np.random.default_rng(0).integers(0, spread, 300)
    frame = pd.DataFrame({"k": np.int64(base) + ids})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TableEncoder(random_state=0).fit(frame)
    messages = [str(w.message) for w in caught if "float64" in str(w.message)]
    assert len(messages) == int(warns)
    if warns:
        assert f"X['k'] - {int(frame['k'].min())}" in messages[0]
