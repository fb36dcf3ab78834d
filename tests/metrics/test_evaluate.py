import warnings

import numpy as np
import pandas as pd
import pytest

from ganaugment import FidelityReport, FidelityWarning, evaluate
from ganaugment.metrics._frames import DistanceEncoder
from ganaugment.metrics._sdmetrics import infer_metadata
from ganaugment.metrics.evaluate import NO_PRIVACY_NOTE


def make_table(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    city = rng.choice(["paris", "lyon", "nice"], n, p=[0.6, 0.3, 0.1])
    age = rng.normal(40 + shift, 10, n).round().astype(int)
    income = np.exp(rng.normal(10, 0.5, n)) * np.where(city == "paris", 1.5, 1.0)
    label = np.where(age + rng.normal(0, 4, n) > 45, "high", "low")
    return pd.DataFrame({"age": age, "income": income, "city": city, "member": rng.random(n) < 0.3, "label": label})


@pytest.fixture(scope="module")
def tables():
    return make_table(600, 0), make_table(600, 1), make_table(300, 2)


def test_scores_equal_a_direct_sdmetrics_call(tables):
    from sdmetrics.reports import DiagnosticReport, QualityReport

    real, synthetic, _ = tables
    synthetic = synthetic.assign(age=synthetic["age"] + 3)  # make the scores differ from 1
    report = evaluate(real, synthetic)
    metadata = infer_metadata(real)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quality = QualityReport()
        quality.generate({"table": real}, {"table": synthetic}, metadata, verbose=False)
        diagnostic = DiagnosticReport()
        diagnostic.generate({"table": real}, {"table": synthetic}, metadata, verbose=False)
    properties = quality.get_properties().set_index("Property")["Score"]
    assert report.quality_score == quality.get_score()
    assert report.diagnostic_score == diagnostic.get_score()
    assert report["column_shapes"] == properties["Column Shapes"]
    assert report["column_pair_trends"] == properties["Column Pair Trends"]
    assert report.quality_score < 1.0
    shapes = quality.get_details("Column Shapes").set_index("Column")["Score"]
    per_column = report.columns.set_index("column")["score"]
    for column in real.columns:
        assert per_column[column] == shapes[column]


def test_no_warning_reaches_the_user(tables):
    real, synthetic, holdout = tables
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate(real, synthetic, holdout=holdout, target="label")


def test_detection_separates_shifted_tables_only(tables):
    real, same, _ = tables
    shifted = make_table(600, 3, shift=30.0)
    assert evaluate(real, same).detection_auc < 0.65
    far = evaluate(real, shifted)
    assert far.detection_auc > 0.95
    assert far["detection_score"] == pytest.approx(1 - 2 * (far.detection_auc - 0.5))


def test_exact_copies_are_counted_without_a_holdout(tables):
    real, fresh, _ = tables
    copied = evaluate(real, real.sample(300, random_state=0))
    assert copied.privacy == {"exact_copy_share": 1.0}  # no distances: they need the holdout's baseline
    assert "exact copies of real rows 100.00% (no holdout" in copied.summary()
    assert evaluate(real, fresh).privacy["exact_copy_share"] < 0.05


def test_privacy_flags_copied_rows(tables):
    real, fresh, holdout = tables
    copied = evaluate(real, real.sample(300, random_state=0), holdout=holdout).privacy
    assert copied["exact_copy_share"] == 1.0
    assert copied["dcr_synthetic_median"] == 0.0
    assert copied["dcr_closer_share"] > 0.9
    honest = evaluate(real, fresh, holdout=holdout).privacy
    assert honest["exact_copy_share"] < 0.05
    assert honest["dcr_closer_share"] < 0.2
    assert honest["dcr_synthetic_median"] == pytest.approx(honest["dcr_holdout_median"], rel=0.5)


def test_efficacy_trains_on_each_table_and_tests_on_holdout(tables):
    real, fresh, holdout = tables
    good = evaluate(real, fresh, holdout=holdout, target="label")
    assert good.efficacy["efficacy_real_f1"] > 0.7
    assert good.efficacy["efficacy_synthetic_f1"] > 0.7
    assert good.efficacy["efficacy_augmented_auc"] > 0.8
    # Labels that no longer follow the features teach nothing.
    noise = fresh.assign(label=np.random.default_rng(0).permutation(fresh["label"].to_numpy()))
    bad = evaluate(real, noise, holdout=holdout, target="label")
    assert bad.efficacy["efficacy_synthetic_auc"] < 0.65
    assert bad.efficacy["efficacy_real_f1"] == good.efficacy["efficacy_real_f1"]
    assert "F1 of label=high" in bad.summary()


def test_same_seed_same_report_and_columns_are_aligned(tables):
    real, synthetic, holdout = tables
    a = evaluate(real, synthetic, holdout=holdout, random_state=3).to_frame()
    b = evaluate(real, synthetic[synthetic.columns[::-1]], holdout=holdout, random_state=3).to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_the_report_says_how_many_column_pairs_sdmetrics_scored():
    rng = np.random.default_rng(0)
    a = rng.normal(size=400)
    related = pd.DataFrame({"a": a, "b": a + rng.normal(scale=0.1, size=400), "c": rng.normal(size=400)})
    shuffled = related.apply(lambda column: rng.permutation(column.to_numpy()))
    notes = evaluate(related, shuffled, random_state=0).notes  # only a-b is correlated in the real table
    assert any("scored 1 of 3 column pairs" in note for note in notes), notes
    # As real, the shuffled table has no correlated pair: quality is the column shapes alone, and says so.
    report = evaluate(shuffled, related, random_state=0)
    assert np.isnan(report.scores["column_pair_trends"])
    assert report.scores["quality_score"] == report.scores["column_shapes"]
    assert any("0 of 3 column pairs" in note and "column shapes score alone" in note for note in report.notes)


def test_sdmetrics_pair_draw_on_long_tables_follows_the_seed_and_spares_the_global_state():
    # Past 50,000 rows SDMetrics scores categorical pairs on a draw from numpy's global state.
    rng = np.random.default_rng(0)
    n = 60_000
    a = rng.choice(list("abcdefgh"), n)
    real = pd.DataFrame({"a": a, "b": np.where(rng.random(n) < 0.6, a, rng.choice(list("abcdefgh"), n))})
    synthetic = pd.DataFrame({"a": rng.choice(list("abcdefgh"), n), "b": rng.choice(list("abcdefgh"), n)})
    scores = []
    for global_seed in (1, 2):
        np.random.seed(global_seed)
        before = np.random.get_state()[1].copy()
        report = evaluate(real, synthetic, random_state=0, max_rows=2000)
        assert np.array_equal(np.random.get_state()[1], before)  # the caller's state is untouched
        scores.append(report.scores["column_pair_trends"])
    assert scores[0] == scores[1]
    assert any("50,000 rows" in note for note in report.notes)
    assert not any("50,000 rows" in note for note in evaluate(real[:100], synthetic[:100], random_state=0).notes)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"synthetic": "drop"}, "missing: \\['member'\\]"),
        ({"synthetic": "empty"}, "synthetic has no rows"),
        ({"target": "nope", "holdout": True}, "target='nope' is not a column"),
        ({"target": "label"}, "target was given without holdout"),
        ({"max_rows": 2}, "max_rows"),
    ],
)
def test_bad_input_is_named(tables, kwargs, message):
    real, synthetic, holdout = tables
    if kwargs.get("synthetic") == "drop":
        kwargs["synthetic"] = synthetic.drop(columns="member")
    elif kwargs.get("synthetic") == "empty":
        kwargs["synthetic"] = synthetic.iloc[:0]
    else:
        kwargs["synthetic"] = synthetic
    if kwargs.get("holdout") is True:
        kwargs["holdout"] = holdout
    with pytest.raises(ValueError, match=message):
        evaluate(real, **kwargs)
    with pytest.raises(TypeError, match="random_state"):
        evaluate(real, synthetic, random_state="x")


def test_distance_encoder_counts_mismatching_columns():
    train = pd.DataFrame({"x": [0.0, 10.0], "c": ["a", "b"]})
    enc = DistanceEncoder().fit(train)
    rows = enc.transform(pd.DataFrame({"x": [0.0, 0.0, 5.0, np.nan], "c": ["a", "b", "a", "a"]}))
    d = np.linalg.norm(rows - rows[0], axis=1)
    # Two columns: a level change is one full mismatch, half the range half of one.
    np.testing.assert_allclose(d, [0.0, np.sqrt(1 / 2), np.sqrt(0.25 / 2), np.sqrt(1 / 2)], atol=1e-6)


def test_report_is_a_fidelity_report_with_the_table_scores(tables):
    real, synthetic, _ = tables
    report = evaluate(real, synthetic)
    assert isinstance(report, FidelityReport)
    assert report.privacy == {"exact_copy_share": 0.0} and report.efficacy == {}  # distances need a holdout
    assert set(report.to_frame().index) >= {"quality_score", "diagnostic_score", "detection_auc"}
    assert len(report.summary().splitlines()) <= 6


def test_association_difference_sees_a_broken_dependence():
    from ganaugment.metrics.associations import association_matrices

    def table(seed, broken=False):
        rng = np.random.default_rng(seed)
        city = rng.choice(["paris", "lyon", "nice"], 2000)
        income = rng.normal(0, 1, 2000) + np.where(city == "paris", 3.0, 0.0)
        x = rng.normal(0, 1, 2000)
        if broken:
            city = rng.permutation(city)
        return pd.DataFrame({"income": income, "city": city, "x": x, "y": 2 * x + rng.normal(0, 1, 2000)})

    real = table(0)
    r, s = association_matrices(real, table(1))
    assert r[0, 1] > 0.6 and abs(r[0, 1] - s[0, 1]) < 0.05  # Cramer's V, same dependence
    assert r[2, 3] == pytest.approx(2 / np.sqrt(5), abs=0.03)  # Pearson
    _, b = association_matrices(real, table(1, broken=True))
    assert r[0, 1] - b[0, 1] > 0.5
    assert abs(r[2, 3] - b[2, 3]) < 0.05
    np.testing.assert_allclose(np.diag(b), 1.0)
    np.testing.assert_allclose(b, b.T)


def test_notes_on_copies_and_on_a_holdout_inside_real():
    """Checks that looked clean: a copy without holdout, and a holdout that is part of real."""
    real, fresh = make_table(400, 0), make_table(100, 1)
    copied = evaluate(real, real.copy(), random_state=0)
    assert copied.detection_auc < 0.3  # each row's twin on the other side of every fold
    assert any("far below 0.5" in note and "copies" in note for note in copied.notes)
    assert copied.privacy["exact_copy_share"] == 1.0 and NO_PRIVACY_NOTE in copied.notes
    with pytest.warns(FidelityWarning, match=r"100% of the holdout rows are also rows of real") as caught:
        inside = evaluate(pd.concat([real, fresh], ignore_index=True), fresh, holdout=fresh, random_state=0)
    assert inside.scores["holdout_copy_share"] == 1.0
    assert {w.filename for w in caught} == {__file__}  # the warning names the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error", FidelityWarning)
        clean = evaluate(real, make_table(300, 2), holdout=fresh, random_state=0)
    assert not any("far below" in note or "Privacy was not" in note or "holdout rows" in note for note in clean.notes)


def test_the_distance_note_appears_only_when_rows_were_left_out():
    real, synthetic, holdout = make_table(300, 0), make_table(40, 1), make_table(40, 2)

    def noted(**kwargs):
        report = evaluate(real, synthetic, holdout=holdout, random_state=0, **kwargs)
        return any(note.startswith("Distances to the closest record") for note in report.notes)

    assert not noted(max_rows=400)  # 40 query rows <= 100, 300 training rows <= 400: nothing left out
    assert noted(max_rows=200)  # 300 training rows > 200
    assert noted(max_rows=120)  # 40 query rows > 30
