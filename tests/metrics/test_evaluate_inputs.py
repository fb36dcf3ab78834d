"""evaluate() on awkward but legitimate inputs: odd labels, text-typed columns, empty columns."""

import warnings

import numpy as np
import pandas as pd
import pytest

from ganaugment import evaluate
from ganaugment.metrics import FidelityWarning
from ganaugment.metrics.evaluate import NO_PRIVACY_NOTE
from ganaugment.metrics._sdmetrics import quality_and_diagnostic


def labelled(n, seed, levels=("no", "yes"), p=None):
    """Two features and a label that follows the first one."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    label = np.where(x + rng.normal(0, 0.5, n) > 0.6, levels[1], levels[0]) if p is None else rng.choice(levels, n, p=p)
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "label": label})


def plain(n, seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "c": rng.choice(["x", "y", "z"], n)})


# ---------------------------------------------------------------- efficacy


def test_holdout_label_outside_the_real_classes_counts_as_negative():
    real, synthetic, holdout = labelled(120, 0), labelled(120, 1), labelled(60, 2)
    odd = holdout.copy()
    odd.loc[odd.index[::5], "label"] = np.where(odd["label"].iloc[::5] == "yes", "yes", "maybe")
    relabelled = odd.assign(label=odd["label"].replace("maybe", "no"))
    report = evaluate(real, synthetic, holdout=odd, target="label")
    reference = evaluate(real, synthetic, holdout=relabelled, target="label")
    # One class against the rest: "maybe" is just another negative, not a reason to fail.
    for name in ("real", "synthetic", "augmented"):
        for score in ("f1", "auc"):
            key = f"efficacy_{name}_{score}"
            assert report[key] == reference[key]
    assert report.efficacy["efficacy_real_f1"] > 0.5
    assert any("'maybe'" in note and "negatives" in note for note in report.notes)


def test_synthetic_rows_with_a_third_label_are_scored():
    real, holdout = labelled(120, 0), labelled(60, 2)
    synthetic = labelled(120, 1)
    synthetic.loc[synthetic.index[:20], "label"] = "maybe"
    report = evaluate(real, synthetic, holdout=holdout, target="label")
    assert 0.0 <= report["efficacy_synthetic_f1"] <= 1.0
    assert 0.5 < report["efficacy_synthetic_auc"] <= 1.0
    assert any("values that the real rows do not ('maybe')" in note for note in report.notes)


def test_synthetic_rows_without_the_positive_class_score_zero_f1_and_chance_auc():
    real, holdout = labelled(120, 0), labelled(60, 2)
    synthetic = labelled(120, 1).assign(label=lambda f: np.where(f["x"] > 0, "maybe", "no"))
    report = evaluate(real, synthetic, holdout=holdout, target="label")
    assert report.details["efficacy_label"] == "F1 of label=yes"
    # It never predicts "yes" and gives it probability 0 for every row.
    assert report["efficacy_synthetic_f1"] == 0.0
    assert report["efficacy_synthetic_auc"] == 0.5
    assert report["efficacy_augmented_f1"] > 0.0
    assert any("never saw label class(es) 'yes'" in note for note in report.notes)


def test_multiclass_auc_survives_unknown_and_unseen_labels():
    levels = ("a", "b", "c")
    real, holdout = labelled(150, 0, levels, [0.4, 0.3, 0.3]), labelled(60, 2, levels, [0.4, 0.3, 0.3])
    holdout.loc[holdout.index[:5], "label"] = "d"
    synthetic = labelled(150, 1, ("a", "b"), [0.5, 0.5])
    report = evaluate(real, synthetic, holdout=holdout, target="label")
    for name in ("real", "synthetic", "augmented"):
        assert np.isfinite(report[f"efficacy_{name}_auc"])
    assert report.details["efficacy_label"] == "macro F1"
    assert any("never saw label class(es) 'c'" in note for note in report.notes)


def test_integer_and_float_labels_are_the_same_classes():
    real, synthetic, holdout = (f.assign(label=(f["label"] == "yes").astype(int)) for f in
                                (labelled(120, 0), labelled(120, 1), labelled(60, 2)))
    as_int = evaluate(real, synthetic, holdout=holdout, target="label")
    as_float = evaluate(real, synthetic.astype({"label": float}), holdout=holdout, target="label")
    assert as_float.efficacy == as_int.efficacy
    assert as_int.details["efficacy_label"] == "F1 of label=1"
    assert not any("values that the real rows do not" in note for note in as_float.notes)


def test_positive_class_on_a_tie_does_not_depend_on_row_order():
    real = labelled(60, 0).assign(label=["yes", "no"] * 30)
    synthetic, holdout = labelled(60, 1), labelled(40, 2)
    report = evaluate(real, synthetic, holdout=holdout, target="label")
    flipped = evaluate(real.iloc[::-1], synthetic, holdout=holdout, target="label")
    assert report.details["efficacy_label"] == flipped.details["efficacy_label"] == "F1 of label=yes"


def test_single_class_real_target_is_named():
    real = labelled(60, 0).assign(label="no")
    with pytest.raises(ValueError, match="single class in real"):
        evaluate(real, labelled(60, 1), holdout=labelled(40, 2), target="label")


# ---------------------------------------------------------------- column shapes


@pytest.fixture(scope="module")
def good():
    real, synthetic = plain(200, 0), plain(200, 1)
    return real, synthetic, evaluate(real, synthetic)


def test_all_missing_synthetic_column_scores_zero(good):
    real, synthetic, reference = good
    report = evaluate(real, synthetic.assign(a=np.nan))
    columns = report.columns.set_index("column")
    assert columns.loc["a", "score"] == 0.0
    assert columns.loc["c", "score"] == reference.columns.set_index("column").loc["c", "score"]
    # Column shapes is the mean over every column, the missing one included.
    assert report["column_shapes"] == pytest.approx(columns["score"].mean())
    assert report.quality_score < reference.quality_score - 0.4
    assert any("Every synthetic value of column 'a' is missing" in note for note in report.notes)


def test_numbers_stored_as_text_are_read_as_numbers(good):
    real, synthetic, reference = good
    text = synthetic.astype({"a": str})
    text.loc[0, "a"] = "n/a"
    report = evaluate(real, text)
    expected = evaluate(real, synthetic.assign(a=synthetic["a"].where(synthetic.index != 0)))
    assert report.quality_score == expected.quality_score
    assert report.columns.set_index("column").loc["a", "score"] > 0.8
    assert any("'a' was read as the kind of the real column; 1 value(s) could not be read" in note
               for note in report.notes)


def test_dates_stored_as_text_are_compared_as_dates():
    real = plain(200, 0).assign(t=pd.date_range("2020-01-01", periods=200))
    far = plain(200, 1).assign(t=pd.date_range("1990-01-01", periods=200))
    as_dates = evaluate(real, far)
    as_text = evaluate(real, far.assign(t=far["t"].astype(str)))
    assert as_text.quality_score == as_dates.quality_score
    assert as_text.columns.set_index("column").loc["t", "score"] == 0.0
    assert as_text["detection_auc"] == as_dates["detection_auc"]


def test_a_real_column_of_text_is_read_as_the_dates_or_numbers_the_other_tables_hold():
    """A CSV file (dates and numbers as text) scored against a Parquet copy of the same rows found
    no copy and every date "never generated": "2020-03-01" was compared with "2020-03-01 00:00:00"."""
    rng = np.random.default_rng(0)
    parquet = plain(150, 0).assign(t=pd.date_range("2020-01-01", periods=150), n=rng.integers(0, 9, 150))
    csv = parquet.assign(t=parquet["t"].dt.strftime("%Y-%m-%d"), n=parquet["n"].astype(str))
    report = evaluate(csv, parquet)
    reference = evaluate(parquet, parquet.copy())
    assert report["exact_copy_share"] == 1.0 and report.quality_score == reference.quality_score
    assert report.columns.set_index("column").loc["t", "kind"] == "datetime"
    # Text that is not all dates stays text.
    mixed = csv.assign(t=csv["t"].where(csv.index != 3, "soon"))
    assert evaluate(mixed, parquet).columns.set_index("column").loc["t", "kind"] == "categorical"


@pytest.mark.parametrize("flags", [lambda b: b.astype(int), lambda b: b.astype(str), lambda b: b.astype(float)])
def test_booleans_given_as_numbers_or_text_are_read_as_booleans(flags):
    """Real booleans against 0/1 or "True"/"False": a detection AUC of 1 with both levels "never
    generated", or a shape score of 0 beside no level missing."""
    real = plain(150, 0).assign(b=np.random.default_rng(1).random(150) > 0.5)
    report = evaluate(real, real.assign(b=flags(real["b"])))
    reference = evaluate(real, real.copy())
    assert report["exact_copy_share"] == 1.0 and report.quality_score == reference.quality_score
    assert report["detection_auc"] == reference["detection_auc"]
    assert report.columns.set_index("column").loc["b", "levels_never_generated"] == 0


def test_dates_past_2262_and_an_empty_date_column_keep_their_scale():
    """A 9999-12-31 "no end" date wrapped around in nanoseconds (a mean in 1980), and distances of a
    date column with no real value were counted in nanoseconds."""
    ends = pd.DataFrame({"d": pd.Series(np.array(["2021-06-01"] * 8 + ["9999-12-31"] * 2, dtype="datetime64[s]")),
                         "v": np.arange(10.0)})
    row = evaluate(ends, ends.copy()).columns.set_index("column").loc["d"]
    assert row["real_mean"].startswith("3617-02-17") and row["real_std"].endswith("days")
    empty = pd.DataFrame({"z": pd.Series([pd.NaT] * 30, dtype="datetime64[ns]"), "v": np.arange(30.0)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FidelityWarning)
        report = evaluate(empty, empty.assign(z=pd.Timestamp("2020-01-01")), holdout=empty.copy())
    assert report.scores["dcr_synthetic_median"] == pytest.approx(np.sqrt(0.5))  # the missing flag alone


def test_metadata_with_integer_column_names():
    table = pd.DataFrame({0: np.random.default_rng(0).normal(size=50), 1: ["a", "b"] * 25})
    metadata = {"tables": {"t": {"columns": {0: {"sdtype": "numerical"}, 1: {"sdtype": "categorical"}}}}}
    assert evaluate(table, table.copy(), metadata=metadata).quality_score == evaluate(table, table.copy()).quality_score


def test_holdout_text_columns_are_read_like_the_real_ones():
    def table(n, seed):
        rng = np.random.default_rng(seed)
        return plain(n, seed).assign(t=pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 400, n), "D"))

    real, synthetic, holdout = table(100, 0), table(100, 1), table(50, 2)
    report = evaluate(real, synthetic, holdout=holdout.astype({"a": str, "t": str}))
    reference = evaluate(real, synthetic, holdout=holdout)
    assert report.privacy == reference.privacy


def test_a_correlated_pair_of_an_empty_column_counts_zero():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    real = pd.DataFrame({"a": x, "b": 2 * x + rng.normal(size=200)})
    synthetic = real.sample(frac=1.0, random_state=1).reset_index(drop=True).assign(a=np.nan)
    report = evaluate(real, synthetic)
    pairs = report.details["pair_trend_details"]
    assert pairs["score"].tolist() == [0.0]
    assert report["column_pair_trends"] == 0.0
    assert report.quality_score == pytest.approx(report["column_shapes"] / 2)


def test_a_column_sdmetrics_cannot_score_is_named_in_a_warning():
    real = plain(100, 0)
    metadata = {"tables": {"table": {"columns": {"a": {"sdtype": "numerical"}, "c": {"sdtype": "numerical"}}}}}
    with pytest.warns(FidelityWarning, match=r"column\(s\) \['c'\]"):
        report = evaluate(real, plain(100, 1), metadata=metadata)
    assert np.isnan(report.columns.set_index("column").loc["c", "score"])
    # No real value to compare with: named, not scored 0 (a mostly missing column can lose every
    # value in a small held-out sample).
    with pytest.warns(FidelityWarning, match="'a': every real value is missing"):
        scores = quality_and_diagnostic(real.assign(a=np.nan), plain(100, 1))
    assert np.isnan(scores["column_shape_details"].set_index("column").loc["a", "score"])


def test_clean_tables_get_no_notes_and_no_warning(good):
    real, synthetic, _ = good
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = evaluate(real, synthetic)
    # Nothing converted, subsampled or scored 0; only how many pairs SDMetrics scored (its two columns
    # are independent, so none), and that privacy needs a holdout.
    assert [note for note in report.notes if not note.startswith("SDMetrics scored 0 of 1 column pairs")] == [
        NO_PRIVACY_NOTE
    ]


def test_a_column_without_any_value_does_not_break_the_classifiers():
    rng = np.random.default_rng(11)
    n = 200
    real = pd.DataFrame({"a": rng.normal(size=n), "b": np.nan, "c": rng.choice(list("xy"), n)})
    with pytest.warns(FidelityWarning, match="every real value is missing"), \
            pytest.warns(FidelityWarning, match="holdout rows are also rows of real"):  # a shortcut of this test
        report = evaluate(real, real.assign(a=rng.normal(size=n)), holdout=real.iloc[:50], target="c")
    assert 0.0 <= report.scores["detection_auc"] <= 1.0 and np.isfinite(report.scores["efficacy_synthetic_f1"])
    # A synthetic column with values where the real one has none is easy to detect.
    with pytest.warns(FidelityWarning):
        filled = evaluate(real, real.assign(b=1.0))
    assert filled.scores["detection_auc"] > 0.95


def test_a_regression_target_is_refused_before_any_scoring():
    real = labelled(60, 0).assign(label=lambda f: 3.0 * f["x"])
    with pytest.raises(ValueError, match=r"'label' holds continuous numbers"):
        evaluate(real, real, holdout=real, target="label")
    # Whole numbers stored as floats are classes.
    whole = labelled(60, 0).assign(label=lambda f: (f["x"] > 0).astype(float))
    with pytest.warns(FidelityWarning, match="holdout rows are also rows of real"):  # one table for all three
        report = evaluate(whole, whole, holdout=whole, target="label")
    assert report.scores["efficacy_real_f1"] > 0.5


# ---------------------------------------------------------------- tables given in other forms


def test_an_object_array_scores_like_its_data_frame(good):
    real, synthetic, reference = good
    report = evaluate(real.to_numpy(), synthetic.to_numpy())
    assert report.quality_score == pytest.approx(reference.quality_score)
    assert report.columns["kind"].tolist() == ["numeric", "categorical"]


def test_whole_numbers_read_from_text_keep_the_real_integer_dtype():
    rng = np.random.default_rng(3)
    real = pd.DataFrame({"x": rng.normal(size=80), "i": rng.integers(0, 5, 80)})
    report = evaluate(real, real.assign(i=real["i"].astype(str)))
    # SDMetrics' table-structure diagnostic compares dtypes: the converted column must be int64 again.
    assert report.diagnostic_score == 1.0
    assert any("'i' was read as the kind of the real column" in note for note in report.notes)


@pytest.mark.parametrize(
    "columns, match",
    [([0, "0"], r"equal as text \(\['0'\]"), (pd.MultiIndex.from_tuples([("a", 1), ("b", 2)]), "multi-level")],
)
def test_column_names_the_metrics_cannot_tell_apart_are_refused(columns, match):
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 2)), columns=columns)
    with pytest.raises(ValueError, match=match):
        evaluate(frame, frame)


def test_one_synthetic_row_is_refused_before_scoring():
    real = plain(30, 0)
    with pytest.raises(ValueError, match="synthetic has 1 row; fidelity needs at least 2"):
        evaluate(real, real.iloc[:1])


def test_metadata_may_name_its_one_table_anything():
    real, synthetic = plain(60, 0), plain(60, 1)
    columns = {"a": {"sdtype": "numerical"}, "c": {"sdtype": "categorical"}}
    named = evaluate(real, synthetic, metadata={"tables": {"customers": {"columns": columns}}})
    assert named.quality_score == evaluate(real, synthetic, metadata={"tables": {"table": {"columns": columns}}}).quality_score
    two = {"tables": {"one": {"columns": columns}, "two": {"columns": columns}}}
    with pytest.raises(ValueError, match="metadata describes 2 tables"):
        evaluate(real, synthetic, metadata=two)


def test_datetime_columns_report_their_mean_as_a_time_and_spread_as_a_duration():
    real = plain(50, 0).assign(t=pd.date_range("2020-01-01", periods=50, tz="Europe/Paris"))
    row = evaluate(real, real).columns.set_index("column").loc["t"]
    assert row["real_mean"] == "2020-01-25 12:00:00+01:00"
    assert row["real_std"] == str(pd.Timedelta(days=float(np.arange(50).std())).round("s"))
    assert row["synthetic_mean"] == row["real_mean"]


# ---------------------------------------------------------------- privacy


def test_a_constant_column_adds_at_most_its_relative_difference_to_distances():
    rng = np.random.default_rng(1)
    real = pd.DataFrame({"x": np.ones(100), "c": rng.choice(["a", "b"], 100)})
    nudged = real.assign(x=1.0 + 0.01 * rng.normal(size=100))
    with pytest.warns(FidelityWarning, match="holdout rows are also rows of real"):  # a table of repeated rows
        report = evaluate(real, nudged, holdout=real.copy())
    # Two columns: a relative nudge of about 1 % in one of them is a distance of well under 0.01.
    assert 0.0 < report.scores["dcr_synthetic_median"] < 0.01


def test_exact_copies_are_found_whatever_the_dtype_or_sign_of_zero():
    real = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0] * 5, "k": pd.Categorical([0, 1, 2, 3] * 5), "c": list("abab") * 5})
    copies = pd.DataFrame({"x": [-0.0, 1.0, 2.0, 3.0] * 5, "k": [0, 1, 2, 3] * 5, "c": list("abab") * 5})
    with pytest.warns(FidelityWarning, match="holdout rows are also rows of real"):
        report = evaluate(real, copies, holdout=real)
    assert report.scores["dcr_synthetic_median"] == 0.0
    assert report.scores["exact_copy_share"] == 1.0


def test_half_precision_columns_are_scored_like_single_precision_ones():
    # SDMetrics gives a float16 column no score: the shifted column dropped out and the quality rose.
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"a": rng.normal(size=200), "k": rng.normal(size=200).astype(np.float16)})
    synthetic = pd.DataFrame({"a": rng.normal(size=200), "k": (rng.normal(size=200) + 5).astype(np.float16)})
    widened = {"k": np.float32}
    with warnings.catch_warnings():
        warnings.simplefilter("error", FidelityWarning)
        half = evaluate(real, synthetic)
    single = evaluate(real.astype(widened), synthetic.astype(widened))
    assert half.quality_score == pytest.approx(single.quality_score) and half.quality_score < 0.6
