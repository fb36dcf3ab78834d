"""Row weights: the GAN learns the weighted distribution, the scores compare with it, and bad weights are
refused by name."""

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.pipeline import make_pipeline

from ganaugment import GANAugmenter, evaluate
from ganaugment._validation import seed_from
from ganaugment.checkpoint import data_digest
from ganaugment.metrics import ModeCollapseWarning
from ganaugment.metrics._frames import weighted_resample
from ganaugment.metrics.detection import detection_auc
from ganaugment.metrics.gate import gate_holdout

from .conftest import FAST

SMALL = dict(FAST, epochs=20, batch_size=200)


def two_groups(n=1000, seed=0):
    """Level "a" on 10 % of the rows with x near 5; level "b" on the rest with x near 0."""
    rng = np.random.default_rng(seed)
    c = rng.choice(["a", "b"], n, p=[0.1, 0.9])
    x = np.where(c == "a", rng.normal(5, 1, n), rng.normal(0, 1, n))
    return pd.DataFrame({"c": c, "x": x}), np.where(c == "a", 9.0, 1.0)  # weighted, "a" is half


@pytest.mark.parametrize("columns", [["c", "x"], ["x"]])  # with a choice column, and numbers only
def test_the_learned_distribution_follows_the_weights(columns):
    X, w = two_groups()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = GANAugmenter(random_state=0, **SMALL).fit(X[columns]).sample(4000)
        weighted = GANAugmenter(random_state=0, **SMALL).fit(X[columns], sample_weight=w).sample(4000)
    high = (plain["x"] > 2.5).mean(), (weighted["x"] > 2.5).mean()
    assert high[0] < 0.2 and 0.35 < high[1] < 0.65, high
    if "c" in columns:
        assert (plain["c"] == "a").mean() < 0.2 and 0.4 < (weighted["c"] == "a").mean() < 0.6


def test_classes_are_generated_at_their_weighted_shares():
    X, w = two_groups()
    y = (X["c"] == "a").astype(int).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GANAugmenter(random_state=0, **FAST).fit(X[["x"]], y, sample_weight=w)
    _, labels = model.sample(4000)
    assert 0.45 < labels.mean() < 0.55  # 10 % of the rows, half of the weight


def test_rows_of_weight_zero_are_never_drawn_for_training():
    X, w = two_groups()
    X["d"] = np.where(np.arange(len(X)) % 10 == 0, "z", "k")  # "z" only on rows of weight zero
    w = np.where(X["d"] == "z", 0.0, w)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = GANAugmenter(random_state=0, **FAST).fit(X, sample_weight=w)
    # Leaving "z" out is what the weights ask for, not a collapse of the generator.
    assert not [w for w in caught if issubclass(w.category, ModeCollapseWarning)]
    gan = model.model_
    gan.set_training_data(model.encoder_.transform_compact(X, np.random.default_rng(0)), None, w / w.mean())
    span = next(s for s in model.encoder_.spans_ if s.column == "d")
    z = span.start + model.encoder_.level_index("d", "z")
    batches = [gan.draw(500).real for _ in range(40)]
    assert all(float(b[:, z].sum()) == 0.0 for b in batches)
    assert (model.sample(2000)["d"] == "z").mean() < 0.01
    with pytest.raises(ValueError, match=r"Value 'z' of column 'd' was never learned: every training row holding it"):
        model.sample(5, conditions={"d": "z"})
    # transform conditions every row on its own "d": refused before any training.
    gan = GANAugmenter(random_state=0, condition_columns=["d"], **FAST)
    with pytest.raises(ValueError, match=r"Column 'd' \(a condition column\) holds 'z' only in rows of sample_weight 0"):
        gan.fit_transform(X, sample_weight=w)
    assert not hasattr(gan, "model_")


def test_pooled_rare_levels_are_drawn_at_their_weighted_shares():
    rng = np.random.default_rng(0)
    n = 2000
    c = rng.choice(["x", "y", "r1", "r2", "r3"], n, p=[0.5, 0.3, 0.1, 0.05, 0.05])
    X = pd.DataFrame({"c": c, "v": rng.normal(size=n)})
    w = np.select([c == "r1", c == "r3"], [0.0, 4.0], 1.0)  # r1, r2, r3 share the pooled slot
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GANAugmenter(random_state=0, max_categories=3, **SMALL).fit(X, sample_weight=w)
    state = model.encoder_.state_of("c")
    assert dict(zip(state.pooled_levels, state.pooled_frequencies)) == pytest.approx({"r1": 0, "r2": 0.2, "r3": 0.8}, abs=0.02)
    share = model.sample(4000)["c"].value_counts(normalize=True)
    assert "r1" not in share and share["r3"] > 2 * share["r2"]


@pytest.mark.parametrize("equal", [np.full(300, 2.5), 2.5])
def test_equal_weights_give_the_unweighted_fit(equal):
    X, _ = two_groups(300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = GANAugmenter(random_state=0, **FAST).fit(X)
        weighted = GANAugmenter(random_state=0, **FAST).fit(X, sample_weight=equal)
    pd.testing.assert_frame_equal(plain.sample(200), weighted.sample(200))


def test_weights_near_the_float64_limit_are_scaled_without_overflow():
    X, w = two_groups(300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = GANAugmenter(random_state=0, **FAST).fit(X, sample_weight=w)
        huge = GANAugmenter(random_state=0, **FAST).fit(X, sample_weight=w * 1e306)  # their sum overflows
    np.testing.assert_allclose(huge.model_.counts, small.model_.counts)


@pytest.mark.parametrize("weights, message", [
    ([1.0, 2.0], r"X has 300 rows but sample_weight has 2 weights"),
    (np.ones((300, 2)), r"sample_weight must be 1-dimensional, got shape \(300, 2\)"),
    (np.r_[np.nan, np.ones(299)], r"sample_weight has 1 missing \(NaN\) weights"),
    (np.r_[np.inf, np.ones(299)], r"sample_weight contains infinite values"),
    (np.r_[-0.5, np.ones(299)], r"sample_weight must be >= 0; the smallest weight is -0.5"),
    (np.zeros(300), r"sample_weight is zero for every row"),
    (["x"] * 300, r"sample_weight must hold numbers"),
    (pd.Series(pd.date_range("2020-01-01", periods=300)), r"sample_weight holds dates \(datetime64\[ns\]\)"),
    (pd.Series(pd.to_timedelta(np.arange(300), unit="s")), r"sample_weight holds durations"),
    (0.0, r"sample_weight is zero for every row"),  # one number stands for every row, and is checked as such
    (-1.0, r"sample_weight must be >= 0; the smallest weight is -1"),
    (float("nan"), r"sample_weight has 300 missing \(NaN\) weights"),
])
def test_bad_weights_are_refused_by_name(weights, message):
    X, _ = two_groups(300)
    with pytest.raises(ValueError, match=message):
        GANAugmenter(**FAST).fit(X, sample_weight=weights)


def test_a_class_of_weight_zero_is_refused_by_name():
    X, _ = two_groups(300)
    y = np.where(X["c"] == "a", "rare", "common")
    with pytest.raises(ValueError, match=r"Every row of class 'rare' has weight 0"):
        GANAugmenter(**FAST).fit(X[["x"]], y, sample_weight=np.where(y == "rare", 0.0, 1.0))


def test_images_follow_the_weighted_class_shares():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (60, 8, 8))
    y = np.array([0] * 50 + [1] * 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GANAugmenter(epochs=1, random_state=0).fit(images, y, sample_weight=np.where(y == 1, 5.0, 1.0))
    np.testing.assert_allclose(model.model_.class_frequencies, [0.5, 0.5])
    _, labels = model.sample(400)
    assert 0.4 < labels.mean() < 0.6


def test_a_checkpoint_of_other_weights_is_not_resumed(tmp_path):
    X, w = two_groups(200)
    assert data_digest(X, None, w) != data_digest(X, None) != data_digest(X, None, w * 2 + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GANAugmenter(random_state=0, checkpoint_dir=tmp_path, **FAST).fit(X, sample_weight=w)
        with pytest.raises(ValueError, match=r"other data \(X, y or sample_weight differ\)"):
            GANAugmenter(random_state=0, checkpoint_dir=tmp_path, **FAST).fit(X, sample_weight=w * 2 + 1)


def test_weights_reach_the_gan_through_metadata_routing():
    X, w = two_groups()
    with sklearn.config_context(enable_metadata_routing=True):
        gan = GANAugmenter(random_state=0, **SMALL).set_fit_request(sample_weight=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make_pipeline(gan).fit(X, sample_weight=w)
    assert 0.4 < (gan.sample(2000)["c"] == "a").mean() < 0.6


# ---------------------------------------------------------------- weighted scores


def weighted_pair(n=600, seed=0):
    """``two_groups`` as real rows with their weights, and synthetic rows drawn from the weighted population
    ("a" and "b" equally common)."""
    real, w = two_groups(n, seed)
    rng = np.random.default_rng(seed + 1)
    c = rng.choice(["a", "b"], n)
    synthetic = pd.DataFrame({"c": c, "x": np.where(c == "a", rng.normal(5, 1, n), rng.normal(0, 1, n))})
    return real, synthetic, w


def test_a_weighted_resample_repeats_each_row_about_in_proportion_to_its_weight():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"i": np.arange(50)})
    w = rng.exponential(size=50) * (rng.random(50) > 0.2)  # a fifth of the rows weigh nothing
    counts = np.bincount(weighted_resample(frame, w, rng)["i"], minlength=50)
    expected = 50 * w / w.sum()
    assert counts.sum() == 50
    assert (counts >= np.floor(expected)).all() and (counts <= np.ceil(expected)).all()
    assert (counts[w == 0] == 0).all()
    same = weighted_resample(frame, np.full(50, 0.3), rng)
    pd.testing.assert_frame_equal(same, frame)  # equal weights: every row once, in order


def test_evaluate_compares_synthetic_rows_with_the_weighted_population():
    real, synthetic, w = weighted_pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = evaluate(real, synthetic, random_state=0)
        weighted = evaluate(real, synthetic, random_state=0, sample_weight=w)
        equal = evaluate(real, synthetic, random_state=0, sample_weight=np.full(len(real), 3.0))
    # The synthetic rows are the weighted population: far from the rows as they are, close to it weighted.
    assert weighted.quality_score > plain.quality_score + 0.2
    assert weighted.detection_auc < 0.6 < plain.detection_auc
    assert "(weighted)" in weighted.summary() and "(weighted)" not in plain.summary()
    assert equal.scores == plain.scores  # equal weights are no weights
    # The column table reads the weighted population too: x is near 5 on half of it, near 0 on the rest.
    plain_mean, weighted_mean = (r.columns.set_index("column").loc["x", "real_mean"] for r in (plain, weighted))
    assert plain_mean < 1.0 and 1.8 < weighted_mean < 3.2


def test_weighted_detection_leaves_rows_of_weight_zero_out():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": np.r_[rng.normal(0, 1, 400), rng.normal(50, 1, 200)]})
    synthetic = pd.DataFrame({"x": rng.normal(0, 1, 400)})
    w = np.r_[rng.uniform(1, 3, 400), np.zeros(200)]  # the far rows are not part of the population
    assert detection_auc(real, synthetic, random_state=0) > 0.65
    assert detection_auc(real, synthetic, random_state=0, sample_weight=w) < 0.6
    # Subsampled, each kept row keeps its own weight.
    assert detection_auc(real, synthetic, random_state=0, sample_weight=w, max_rows=150) < 0.6


def efficacy_tables(seed=0):
    """Real, synthetic and holdout rows of ``two_groups`` with a binary target that x predicts noisily."""
    tables = []
    for k, n in enumerate((600, 600, 400)):
        X, _ = two_groups(n, seed + k)
        rng = np.random.default_rng(seed + 10 + k)
        tables.append(X.assign(t=np.where(X["x"] + rng.normal(0, 2, n) > 1.0, "yes", "no")))
    return tables


def efficacy(report) -> dict:
    return {k: v for k, v in report.scores.items() if k.startswith("efficacy_")}


def test_efficacy_weighs_the_holdout_rows_as_repeated_rows():
    real, synthetic, holdout = efficacy_tables()
    w = np.where(np.arange(len(holdout)) % 3 == 0, 2.0, 1.0)
    w[::7] = 0.0  # left out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = evaluate(real, synthetic, holdout=holdout, target="t", holdout_weight=w)
        kept = holdout[w > 0]
        repeated = pd.concat([kept, holdout[w == 2.0]], ignore_index=True)
        plain = evaluate(real, synthetic, holdout=repeated, target="t")
    got, want = efficacy(weighted), efficacy(plain)
    assert got.keys() == want.keys() and len(got) == 6
    np.testing.assert_allclose(list(got.values()), list(want.values()), rtol=1e-9)
    assert "holdout rows (weighted)" in weighted.summary()


def test_efficacy_picks_the_rarer_class_by_weight_and_trains_on_weighted_real_rows():
    real, synthetic, holdout = efficacy_tables()
    share = (real["t"] == "yes").mean()
    assert share < 0.5  # "yes" is the rarer class by rows...
    w = np.where(real["t"] == "yes", 4.0 * (1 - share) / share, 1.0)  # ... and four times as heavy in all
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = evaluate(real, synthetic, holdout=holdout, target="t")
        weighted = evaluate(real, synthetic, holdout=holdout, target="t", sample_weight=w)
    assert plain.details["efficacy_label"] == "F1 of t=yes"
    assert weighted.details["efficacy_label"] == "F1 of t=no"
    # The classifier on synthetic rows ignores the real weights; the one on real rows does not.
    assert weighted["efficacy_synthetic_auc"] == pytest.approx(
        evaluate(real, synthetic, holdout=holdout, target="t", sample_weight=None)["efficacy_synthetic_auc"]
    )


def test_holdout_weight_needs_a_holdout_and_is_checked_by_name():
    real, synthetic, holdout = efficacy_tables()
    with pytest.raises(ValueError, match=r"holdout_weight was given without holdout"):
        evaluate(real, synthetic, holdout_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"holdout has 400 rows but holdout_weight has 3 weights"):
        evaluate(real, synthetic, holdout=holdout, holdout_weight=np.ones(3))


@pytest.mark.parametrize("weights, message", [
    (np.ones(599), r"real has 600 rows but sample_weight has 599 weights"),
    (np.r_[-1.0, np.ones(599)], r"sample_weight must be >= 0"),
    (np.zeros(600), r"sample_weight is zero for every row of real"),
])
def test_evaluate_refuses_bad_weights_by_name(weights, message):
    real, synthetic, _ = weighted_pair()
    with pytest.raises(ValueError, match=message):
        evaluate(real, synthetic, sample_weight=weights)


def test_the_gate_scores_a_weighted_fit_against_its_weighted_held_out_rows():
    X, w = two_groups(600)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = GANAugmenter(random_state=0, validation_fraction=0.3, **FAST).fit(X)
        weighted = GANAugmenter(random_state=0, validation_fraction=0.3, **FAST).fit(X, sample_weight=w)
    assert "(weighted)" in weighted.fidelity_report_.summary()
    assert "(weighted)" not in plain.fidelity_report_.summary()
    assert weighted.fidelity_report_.quality_score == weighted.quality_score_


def test_a_hold_out_whose_rows_all_weigh_zero_is_refused_before_training():
    X, w = two_groups(300)
    model = GANAugmenter(random_state=0, validation_fraction=0.2, **FAST)
    _, _, held = gate_holdout(model, len(X), seed_from(0))
    w[held] = 0.0
    with pytest.raises(ValueError, match=r"every held-out row has sample_weight 0"):
        model.fit(X, sample_weight=w)
    assert not hasattr(model, "model_")  # refused before any training
