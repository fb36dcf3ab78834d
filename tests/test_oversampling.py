"""GANOverSampler: imbalanced-learn semantics, containers, pipelines, filter, fallback."""

import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from imblearn.pipeline import make_pipeline
from imblearn.utils import check_sampling_strategy
from imblearn.utils.estimator_checks import parametrize_with_checks
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate

from ganaugment import GANAugmenter, GANOverSampler, SmallClassFallbackWarning

from .conftest import FAST


def small_gan(**extra):
    return GANAugmenter(**{**FAST, **extra})


def sampler(**params):
    # The kNN filter by default here: the classifier filter (the library default) fits gradient
    # boosting six times per call, which multiplied the suite's time; its own tests set it.
    params.setdefault("acceptance", "knn")
    # A fixed bar too: the default "auto" adds up to twenty more fits; its own tests set it.
    params.setdefault("acceptance_quantile", 0.7)
    params.setdefault("estimator", small_gan())
    params.setdefault("random_state", 0)
    return GANOverSampler(**params)


def blobs(counts, n_features=3, seed=0):
    """Gaussian blobs, one per class, with the given class sizes."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(2.0 * c, 1.0, (n, n_features)) for c, n in enumerate(counts)])
    y = np.concatenate([np.full(n, c) for c, n in enumerate(counts)])
    return X, y


# ------------------------------------------------------- sampling_strategy
@pytest.mark.parametrize(
    "strategy",
    ["auto", "minority", "not minority", "not majority", "all", {1: 70, 2: 40}, lambda y: {2: 55}],
    ids=["auto", "minority", "not-minority", "not-majority", "all", "dict", "callable"],
)
def test_strategies_resolved_exactly(strategy):
    X, y = blobs([80, 30, 20])
    expected = Counter(y)
    for c, n in check_sampling_strategy(strategy, y, "over-sampling").items():
        expected[c] += n
    X_res, y_res = sampler(sampling_strategy=strategy).fit_resample(X, y)
    assert Counter(y_res) == expected
    assert X_res.shape == (sum(expected.values()), X.shape[1])


def test_float_strategy_binary():
    X, y = blobs([100, 20])
    X_res, y_res = sampler(sampling_strategy=0.5).fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 100, 1: 50}


def test_default_generates_minority_only_and_majority_untouched():
    X, y = blobs([90, 25])
    X_res, y_res = sampler().fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 90, 1: 90}
    assert (y_res[len(y):] == 1).all()


# ------------------------------------------------------------- containers
def test_dataframe_round_trip_keeps_dtypes_and_real_rows(mixed_frame):
    y = pd.Series(np.where(np.arange(len(mixed_frame)) % 6 == 0, "rare", "common"), name="label")
    X = mixed_frame.set_axis(np.arange(len(mixed_frame)) * 3)  # a non-default index
    X_res, y_res = sampler().fit_resample(X, y)
    assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.Series)
    assert list(X_res.columns) == list(X.columns)
    assert X_res.dtypes.to_dict() == X.dtypes.to_dict()
    assert y_res.name == "label"
    pd.testing.assert_frame_equal(X_res.iloc[: len(X)].reset_index(drop=True), X.reset_index(drop=True))
    assert (y_res.iloc[: len(y)].to_numpy() == y.to_numpy()).all()
    assert Counter(y_res) == {"common": 250, "rare": 250}
    synthetic = X_res.iloc[len(X):]
    assert set(synthetic["city"]) <= set(X["city"])
    assert synthetic["grade"].cat.categories.tolist() == ["a", "b", "c", "d"]


def test_ndarray_round_trip_keeps_dtype_and_real_rows():
    X, y = blobs([90, 25])
    X = X.astype(np.float32)
    y = y.astype(np.int32)
    X_res, y_res = sampler().fit_resample(X, y)
    assert isinstance(X_res, np.ndarray) and X_res.dtype == np.float32
    assert y_res.dtype == np.int32
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(y_res[: len(y)], y)
    assert np.isfinite(X_res).all()


def test_object_array_of_strings():
    rng = np.random.default_rng(1)
    X = rng.choice(np.array(["a", "b", "c"], dtype=object), size=(60, 2))
    y = np.array([0] * 45 + [1] * 15)
    X_res, y_res = sampler().fit_resample(X, y)
    assert X_res.dtype == object and X_res.shape == (90, 2)
    assert set(X_res.ravel()) <= {"a", "b", "c"}


def test_same_seed_same_output_and_no_global_rng_use():
    X, y = blobs([90, 25])
    np.random.seed(1)
    first = sampler(random_state=7).fit_resample(X, y)[0]
    np.random.seed(2)
    second = sampler(random_state=7).fit_resample(X, y)[0]
    np.testing.assert_array_equal(first, second)
    other = sampler(random_state=8).fit_resample(X, y)[0]
    assert not np.array_equal(first[len(X):], other[len(X):])


# --------------------------------------------------------------- pipelines
class _RowCounter(ClassifierMixin, BaseEstimator):
    """Records how many rows it is fitted on and how many it predicts."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_fit_ = len(X)
        self.fit_counts_ = Counter(np.asarray(y).tolist())
        return self

    def predict(self, X):
        self.n_predict_ = len(X)
        return np.full(len(X), self.classes_[0])


def test_pipeline_cross_validate_resamples_training_folds_only():
    X, y = blobs([90, 30])
    pipe = make_pipeline(sampler(), _RowCounter())
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    result = cross_validate(pipe, X, y, cv=cv, return_estimator=True, scoring="accuracy")
    for fitted, (train, test) in zip(result["estimator"], cv.split(X, y)):
        counter = fitted[-1]
        majority = Counter(y[train].tolist())[0]
        assert counter.fit_counts_ == {0: majority, 1: majority}  # balanced training fold
        assert counter.n_predict_ == len(test)  # scoring saw the real test rows only
    np.testing.assert_allclose(result["test_score"], 0.75, atol=0.01)


def test_a_checkpoint_dir_gets_one_subfolder_per_training_fold(tmp_path):
    X, y = blobs([60, 30])
    cv = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    pipe = make_pipeline(sampler(estimator=small_gan(checkpoint_dir=tmp_path)), LogisticRegression())
    first = cross_validate(pipe, X, y, cv=cv)["test_score"]  # each fold used to find the other's checkpoint
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert len(folders) == 2 and all((tmp_path / f / "checkpoint.gan").exists() for f in folders)
    # Run again: each fold resumes its own finished checkpoint and ends with the same model.
    np.testing.assert_array_equal(cross_validate(pipe, X, y, cv=cv)["test_score"], first)
    assert sorted(p.name for p in tmp_path.iterdir()) == folders


def test_grid_search_reaches_gan_hyperparameters():
    X, y = blobs([80, 30])
    pipe = make_pipeline(sampler(), LogisticRegression())
    grid = GridSearchCV(
        pipe, {"ganoversampler__estimator__epochs": [1, 2], "ganoversampler__acceptance": ["knn", None]}, cv=2
    )
    grid.fit(X, y)
    assert set(grid.cv_results_["param_ganoversampler__estimator__epochs"]) == {1, 2}
    assert len(grid.best_estimator_[0].estimator_.history_) == grid.best_params_["ganoversampler__estimator__epochs"]


# ------------------------------------------------------------------ budget
def test_max_steps_caps_the_epochs():
    X, y = blobs([150, 50])  # 200 rows, batch 100: 2 steps per epoch
    fitted = sampler(estimator=small_gan(epochs=40), max_steps=5).fit(X, y)
    assert not hasattr(fitted, "estimator_")  # fit only validates, like every imblearn sampler
    s = sampler(estimator=small_gan(epochs=40), max_steps=5)
    s.fit_resample(X, y)
    assert len(s.estimator_.history_) == 3
    unbounded = sampler(estimator=small_gan(epochs=4), max_steps=None)
    unbounded.fit_resample(X, y)
    assert len(unbounded.estimator_.history_) == 4


def test_epochs_overrides_the_estimator():
    X, y = blobs([150, 50])
    s = sampler(estimator=small_gan(epochs=40), epochs=2)
    s.fit_resample(X, y)
    assert len(s.estimator_.history_) == 2
    assert s.estimator.epochs == 40  # the given estimator is never modified


def test_time_limit_is_forwarded():
    X, y = blobs([150, 50])
    s = sampler(estimator=small_gan(epochs=10_000), max_steps=None, time_limit=0.01)
    s.fit_resample(X, y)
    assert s.estimator_.time_limit == 0.01
    history = s.estimator_.history_
    assert len(history) < 10_000
    # The stop is on record: only the last epoch says the time limit ended training.
    assert history[-1]["time_limit_reached"] is True
    assert not any("time_limit_reached" in h for h in history[:-1])


# ------------------------------------------------------------------ filter
class _PlantedGenerator(BaseEstimator):
    """Stands in for the GAN: half of its class-1 rows sit at ``bad_center``."""

    def __init__(self, bad_center=0.0, random_state=None):
        self.bad_center = bad_center
        self.random_state = random_state

    def fit(self, X, y):
        return self

    def sample(self, y):
        (c, n), = y.items()
        rng = np.random.default_rng(0)
        good = rng.normal(10.0, 0.5, (n - n // 2, 2))
        bad = rng.normal(self.bad_center, 0.5, (n // 2, 2))
        rows = np.empty((n, 2))
        rows[0::2], rows[1::2] = bad, good  # alternate: the first rows are not the good ones
        return rows, np.full(n, c)


def test_knn_filter_drops_rows_in_the_other_class():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0.0, 0.5, (100, 2)), rng.normal(10.0, 0.5, (20, 2))])
    y = np.array([0] * 100 + [1] * 20)
    # A lenient quantile: the support test then keeps nearly every in-blob candidate, so the
    # acceptance rate is the share of candidates in the right blob.
    filtered = GANOverSampler(
        estimator=_PlantedGenerator(), acceptance="knn", acceptance_quantile=0.1, candidates=3.0, random_state=0
    )
    X_res, _ = filtered.fit_resample(X, y)
    assert (X_res[120:, 0] > 5).all()  # every kept synthetic row lies in class 1's blob
    assert filtered.acceptance_rate_[1] == pytest.approx(0.5, abs=0.01)
    # The default, stricter quantile keeps fewer of them, and still none from the wrong blob.
    strict = GANOverSampler(estimator=_PlantedGenerator(), acceptance="knn", random_state=0)
    X_strict, _ = strict.fit_resample(X, y)
    assert (X_strict[120:, 0] > 5).all()
    assert strict.acceptance_rate_[1] < filtered.acceptance_rate_[1]
    unfiltered = GANOverSampler(estimator=_PlantedGenerator(), acceptance=None, random_state=0)
    X_raw, _ = unfiltered.fit_resample(X, y)
    assert (X_raw[120:, 0] < 5).sum() == 40


def test_knn_filter_drops_rows_outside_the_class_support():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0.0, 0.5, (100, 2)), rng.normal(10.0, 0.5, (20, 2))])
    y = np.array([0] * 100 + [1] * 20)
    # Rows at (30, 30) have only class-1 neighbours, but no real row is near them.
    s = GANOverSampler(estimator=_PlantedGenerator(bad_center=30.0), acceptance="knn", random_state=0)
    X_res, _ = s.fit_resample(X, y)
    assert (X_res[120:, 0] < 20).all()


def test_knn_filter_fills_up_with_the_best_rejected_rows():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0.0, 0.5, (100, 2)), rng.normal(10.0, 0.5, (20, 2))])
    y = np.array([0] * 100 + [1] * 20)
    s = GANOverSampler(estimator=_PlantedGenerator(), acceptance="knn", candidates=1.0, random_state=0)
    X_res, y_res = s.fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 100, 1: 100}  # counts stay exact


# ---------------------------------------------------------- small classes
def test_tiny_class_falls_back_with_a_warning():
    X, y = blobs([100, 40, 6])
    s = sampler()
    with pytest.warns(SmallClassFallbackWarning, match=r"Class 2 has 6 rows.*SMOTE"):
        X_res, y_res = s.fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 100, 1: 100, 2: 100}
    assert s.fallback_classes_ == [2]
    assert 2 not in s.acceptance_rate_ and 1 in s.acceptance_rate_


def test_a_column_name_as_y_shows_the_call_to_make(mixed_frame):
    for call, method in (("fit", small_gan().fit), ("fit_resample", sampler().fit_resample)):
        with pytest.raises(TypeError, match=rf"{call}\(X.drop\(columns=\['city'\]\), X\['city'\]\)"):
            method(mixed_frame, "city")


@pytest.mark.parametrize(
    "y",
    [
        np.array(["p"] * 150 + ["q"] * 49 + [None], dtype=object),
        pd.Series(["p"] * 150 + ["q"] * 49 + [None]).astype("category"),
        pd.Series(["p"] * 150 + ["q"] * 49 + [pd.NA], dtype="string"),
    ],
)
def test_missing_labels_are_named(y):
    # imbalanced-learn itself trips on sorting them ("'<' not supported ...").
    X = np.random.default_rng(0).normal(size=(200, 3))
    with pytest.raises(ValueError, match=r"y contains missing values \(NaN/None\)"):
        sampler().fit_resample(X, y)


def test_warnings_in_a_pipeline_name_the_users_line():
    X, y = blobs([100, 6])  # class 1 falls back: no GAN to train
    pipe = make_pipeline(sampler(), LogisticRegression())
    with pytest.warns(SmallClassFallbackWarning) as direct:
        pipe.fit(X, y)  # imbalanced-learn's pipeline calls the sampler through joblib.Memory
    with pytest.warns(SmallClassFallbackWarning) as folds:
        cross_validate(pipe, X, y, cv=StratifiedKFold(n_splits=2), n_jobs=1)
    assert {w.filename for w in direct.list + folds.list} == {__file__}


def test_tiny_class_of_levels_only_falls_back_to_copies(mixed_frame):
    levels = mixed_frame[["city", "member", "grade", "note"]]
    y = np.array(["big"] * 295 + ["tiny"] * 5)
    s = sampler()
    with pytest.warns(SmallClassFallbackWarning, match="random oversampling"):
        X_res, y_res = s.fit_resample(levels, y)
    copies = X_res.iloc[300:]
    real_tiny = levels.iloc[295:]
    assert len(copies) == 290
    assert copies.merge(real_tiny.drop_duplicates(), how="left", indicator=True)["_merge"].eq("both").all()
    assert s.estimator_ is None  # nothing left for the GAN to learn


def test_tiny_class_with_gaps_and_dates_falls_back_to_interpolation(mixed_frame):
    # SMOTENC refuses missing values and dates; copies of real rows used to stand in.
    X = mixed_frame.copy()
    X.loc[296, "income"] = np.nan  # one of the five rows misses its income
    X.loc[297, "joined"] = pd.NaT
    y = np.array(["big"] * 295 + ["tiny"] * 5)
    with pytest.warns(SmallClassFallbackWarning, match="interpolation between near rows of the class"):
        X_res, y_res = sampler().fit_resample(X, y)
    new, tiny = X_res.iloc[300:], X.iloc[295:]
    assert len(new) == 290 and (y_res[300:] == "tiny").all()
    assert X_res.dtypes.to_dict() == X.dtypes.to_dict()
    for column in ("age", "income", "joined"):
        assert new[column].dropna().between(tiny[column].min(), tiny[column].max()).all(), column
    assert (new["joined"].dropna().dt.normalize() == new["joined"].dropna()).all()  # whole days, as the class's
    assert not new["income"].dropna().isin(tiny["income"]).all()  # interpolated, not copied
    for column in ("city", "member", "grade", "note"):
        assert new[column].isin(tiny[column]).all(), column
    # A new row misses what its starting row misses (one in five), not what either end misses (about 0.36).
    assert abs(new["income"].isna().mean() - 1 / 5) < 0.08 and abs(new["joined"].isna().mean() - 1 / 5) < 0.08
    with pytest.warns(SmallClassFallbackWarning):
        again, _ = sampler().fit_resample(X, y)
    pd.testing.assert_frame_equal(again, X_res)


def test_tiny_class_of_numbers_and_levels_falls_back_to_smotenc():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({
        "age": rng.integers(18, 70, 200),
        "income": rng.normal(50, 10, 200),
        "job": pd.Categorical(rng.choice(["clerk", "nurse", "chef"], 200)),
        "member": rng.random(200) < 0.5,
    })
    y = np.array(["big"] * 194 + ["tiny"] * 6)
    with pytest.warns(SmallClassFallbackWarning, match="from SMOTENC instead of the GAN"):
        X_res, y_res = sampler().fit_resample(X, y)
    new, tiny = X_res.iloc[200:], X.iloc[194:]
    assert len(new) == 188 and (y_res[200:] == "tiny").all()
    assert X_res.dtypes.to_dict() == X.dtypes.to_dict()
    assert new["job"].isin(tiny["job"]).all() and new["member"].isin(tiny["member"]).all()
    assert new["age"].between(tiny["age"].min(), tiny["age"].max()).all()
    assert new["income"].between(tiny["income"].min(), tiny["income"].max()).all()
    assert not new["income"].isin(tiny["income"]).all()  # interpolated, not copied


def test_tiny_class_of_numbers_with_gaps_falls_back_to_smote_keeping_its_gaps():
    # Copies of real rows used to stand in as soon as a value was missing.
    rng = np.random.default_rng(0)
    X = pd.DataFrame({
        "a": rng.normal(size=200),
        "b": rng.normal(50, 10, 200),
        "c": pd.array(rng.integers(0, 5, 200), dtype="Int64"),
    })
    X.loc[[195, 197], "a"] = np.nan
    X.loc[196, "c"] = pd.NA
    X.loc[[3, 10], "b"] = np.nan  # a gap in the other class reaches nothing
    y = np.array(["big"] * 194 + ["tiny"] * 6)
    with pytest.warns(SmallClassFallbackWarning, match="from SMOTE, each new row missing the values its starting row"):
        X_res, y_res = sampler().fit_resample(X, y)
    new, tiny = X_res.iloc[200:], X.iloc[194:]
    assert len(new) == 188 and X_res.dtypes.to_dict() == X.dtypes.to_dict()
    assert new["b"].notna().all() and not new["b"].isin(tiny["b"]).all()  # interpolated, not copied
    for column in ("a", "b"):
        assert new[column].dropna().between(tiny[column].min(), tiny[column].max()).all()
    # Each new row misses what its starting row misses: about a third of "a", a sixth of "c".
    assert abs(new["a"].isna().mean() - 2 / 6) < 0.12 and abs(new["c"].isna().mean() - 1 / 6) < 0.1


def test_smotenc_fallback_takes_levels_of_mixed_types():
    # SMOTENC's encoder refuses a column mixing ints and text; the GAN accepts it, and so must the fallback.
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=60), "code": pd.Series([1, "a", 2] * 20, dtype=object)})
    y = np.array(["big"] * 54 + ["tiny"] * 6)
    with pytest.warns(SmallClassFallbackWarning, match="SMOTENC"):
        X_res, _ = sampler(sampling_strategy="minority").fit_resample(X, y)
    assert len(X_res) == 108 and X_res["code"].iloc[60:].isin([1, "a", 2]).all()


@pytest.mark.parametrize("n_minority", [10, 30])
def test_small_minority_class_uses_the_gan(n_minority):
    X, y = blobs([150, n_minority], n_features=2)
    s = sampler()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallClassFallbackWarning)
        X_res, y_res = s.fit_resample(X, y)
    synthetic = X_res[len(X):]
    assert len(synthetic) == 150 - n_minority and s.fallback_classes_ == []
    assert np.isfinite(synthetic).all()
    # Generated rows are new points, not copies of the real minority rows.
    real = X[y == 1]
    assert not (synthetic[:, None, :] == real[None, :, :]).all(axis=2).any()


# ---------------------------------------------------------------- errors
def test_rejects_sparse_input():
    X, y = blobs([30, 10])
    with pytest.raises(TypeError, match="sparse"):
        sampler().fit_resample(sparse.csr_matrix(X), y)


@pytest.mark.parametrize("as_frame", [False, True], ids=["array", "frame"])
def test_rejects_x_and_y_of_different_lengths(as_frame):
    X, y = blobs([55, 5])
    X = pd.DataFrame(X) if as_frame else X
    for labels in (y[1:], np.append(y, 1)):
        with pytest.raises(ValueError, match="inconsistent numbers of samples"):
            sampler(fallback="random").fit_resample(X, labels)


def test_fallback_rows_get_the_checks_of_the_gan():
    X, y = blobs([55, 5])
    X[-1, 0] = np.inf  # a row of the class that falls back
    with pytest.raises(ValueError, match="Column 0 contains infinite values"):
        sampler(fallback="random").fit_resample(X, y)
    images = np.random.default_rng(0).random((60, 8, 8))
    images[-1, 2, 2] = np.nan
    with pytest.raises(ValueError, match="Images contain NaN or infinite values"):
        sampler(fallback="random").fit_resample(images, y)


def test_rejects_bad_parameters_before_training():
    X, y = blobs([30, 10])
    with pytest.raises(ValueError, match="acceptance"):
        sampler(acceptance="discriminator").fit_resample(X, y)
    with pytest.raises(ValueError, match="candidates"):
        sampler(candidates=0.5).fit_resample(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        sampler().fit_resample(X, np.linspace(0, 1, len(X)))


def test_has_no_transform():
    assert not hasattr(GANOverSampler(), "transform")


# ------------------------------------------------ imbalanced-learn checks
_IMBLEARN_CHECKS = parametrize_with_checks(
    # A fixed bar, as in sampler(): "auto" took the checks from 40 s to 200 s; it passed them once
    # (2026-11-24), and its own tests below cover lists, frames and several requested classes.
    [GANOverSampler(acceptance="knn", acceptance_quantile=0.7,
                    estimator=GANAugmenter(epochs=1, batch_size=200, generator_dim=(16,), discriminator_dim=(16,),
                                           noise_dim=8, pac=4), random_state=0)],
    # No expected failure: sparse DataFrames are densified for the GAN and
    # imblearn casts the result back to SparseDtype; sparse matrices are
    # rejected (sparse tag off), so check_samplers_sparse is not run.
)


# imbalanced-learn hands pytest a generator of checks, which pytest deprecates; the same checks, as a list.
@pytest.mark.parametrize(_IMBLEARN_CHECKS.args[0], list(_IMBLEARN_CHECKS.args[1]), **_IMBLEARN_CHECKS.kwargs)
def test_imblearn_estimator_checks(estimator, check):
    check(estimator)


def test_gate_fallback_keeps_synthetic_rows_out_of_the_pipeline(recwarn):
    # A threshold no model reaches: the gate rejects and only real rows come back.
    from ganaugment import GANAugmenter

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.choice(["u", "v"], 300)})
    y = np.where(rng.random(300) < 0.2, 1, 0)
    gan = GANAugmenter(min_quality=0.999, on_low_quality="fallback", validation_fraction=0.2, random_state=0, **FAST)
    X_res, y_res = GANOverSampler(estimator=gan, random_state=0).fit_resample(X, y)
    assert len(X_res) == len(X) and (y_res == y).all()
    pd.testing.assert_frame_equal(X_res, X)


def test_save_load_round_trip(tmp_path):
    from ganaugment import GANAugmenter

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.choice(["u", "v"], 200)})
    y = np.where(rng.random(200) < 0.25, 1, 0)
    sampler = GANOverSampler(
        estimator=GANAugmenter(random_state=0, **FAST), acceptance_quantile="auto", random_state=0
    )
    sampler.fit_resample(X, y)
    path = tmp_path / "sampler.gan"
    sampler.save(path)
    loaded = GANOverSampler.load(path)
    assert loaded.sampling_strategy_ == sampler.sampling_strategy_
    assert loaded.acceptance_quantile == "auto" and loaded.bar_scores_ == sampler.bar_scores_
    assert len(loaded.bar_scores_) == 4 and loaded.acceptance_quantile_ == sampler.acceptance_quantile_
    a = sampler.estimator_.sample(20, y=1)[0]
    b = loaded.estimator_.sample(20, y=1)[0]
    pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------ images
FAST_IMAGES = dict(epochs=2, batch_size=64, noise_dim=16)


@pytest.fixture(scope="module")
def digit_images():
    """load_digits 0s and 1s as flat rows (0-16), 3:1 imbalanced."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    zeros, ones = np.flatnonzero(digits.target == 0)[:120], np.flatnonzero(digits.target == 1)[:40]
    rows = np.concatenate([zeros, ones])
    return digits.data[rows], digits.target[rows]


def test_flat_image_rows_are_balanced_by_the_image_gan(digit_images):
    X, y = digit_images
    s = sampler(estimator=GANAugmenter(image_shape=(8, 8), **FAST_IMAGES))
    X_res, y_res = s.fit_resample(X, y)
    assert s.estimator_.kind_ == "image"
    assert Counter(y_res.tolist()) == {0: 120, 1: 120}
    assert X_res.shape == (240, 64) and X_res.dtype == X.dtype
    np.testing.assert_array_equal(X_res[: len(X)], X)
    synthetic = X_res[len(X):]
    assert synthetic.min() >= 0 and synthetic.max() <= 16  # the images' own range
    again = sampler(estimator=GANAugmenter(image_shape=(8, 8), **FAST_IMAGES)).fit_resample(X, y)[0]
    np.testing.assert_array_equal(X_res, again)


@pytest.mark.parametrize("layout", ["gray", "last"])
def test_stacked_images_come_back_stacked(digit_images, layout):
    X, y = digit_images
    images = (X.reshape(-1, 8, 8) * 15).astype(np.uint8)
    if layout == "last":
        images = np.repeat(images[..., None], 3, axis=3)
    s = sampler(estimator=GANAugmenter(**FAST_IMAGES), sampling_strategy={0: 130, 1: 50})
    X_res, y_res = s.fit_resample(images, y)
    assert X_res.shape == (180,) + images.shape[1:] and X_res.dtype == np.uint8
    np.testing.assert_array_equal(X_res[: len(images)], images)
    assert Counter(y_res[len(y):].tolist()) == {0: 10, 1: 10}
    assert s.n_features_in_ == int(np.prod(images.shape[1:]))


def test_max_steps_counts_image_steps(digit_images):
    X, y = digit_images  # 160 images, batch 64: 2 steps per epoch
    s = sampler(estimator=GANAugmenter(image_shape=(8, 8), noise_dim=16, batch_size=64), max_steps=5, acceptance=None)
    s.fit_resample(X, y)
    assert len(s.estimator_.history_) == 3


def test_tiny_image_class_falls_back_in_image_shape(digit_images):
    X, y = digit_images
    images = X.reshape(-1, 8, 8)
    y = y.copy()
    y[:5] = 2  # a class of 5 images
    s = sampler(estimator=GANAugmenter(**FAST_IMAGES), sampling_strategy={2: 20}, acceptance=None)
    with pytest.warns(SmallClassFallbackWarning, match="SMOTE"):
        X_res, _ = s.fit_resample(images, y)
    assert X_res.shape == (len(y) + 15, 8, 8)


class _PlantedImages(BaseEstimator):
    """Stands in for the image GAN: every other image it returns is a real image of another class."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        self.X_, self.y_ = np.asarray(X), np.asarray(y)
        return self

    def sample(self, y):
        (c, n), = y.items()
        own, other = self.X_[self.y_ == c], self.X_[self.y_ != c]
        rows = np.empty((n,) + self.X_.shape[1:], dtype=self.X_.dtype)
        rows[0::2] = other[np.arange(len(rows[0::2])) % len(other)]
        rows[1::2] = own[np.arange(len(rows[1::2])) % len(own)]
        return rows, np.full(n, c)


def test_classifier_filter_drops_images_of_another_class(digit_images):
    X, y = digit_images
    images = X.reshape(-1, 8, 8)
    # "auto" chooses a bar for tables only; the images' filter has none (the CNN must name the class).
    filtered = GANOverSampler(
        estimator=_PlantedImages(), acceptance="classifier", acceptance_quantile="auto", random_state=0
    )
    X_res, y_res = filtered.fit_resample(images, y)
    assert filtered.acceptance_quantile_ == 0.7 and filtered.bar_scores_ == {}
    synthetic = X_res[len(images):]
    ones = images[y == 1]
    assert len(synthetic) == 80
    # Every kept image is one of the real 1s, none of the 0s planted among the candidates.
    assert all((ones == image).all(axis=(1, 2)).any() for image in synthetic)
    assert filtered.acceptance_rate_[1] == pytest.approx(0.5, abs=0.02)
    unfiltered = GANOverSampler(estimator=_PlantedImages(), acceptance=None, random_state=0)
    raw = unfiltered.fit_resample(images, y)[0][len(images):]
    assert sum((ones == image).all(axis=(1, 2)).any() for image in raw) == 40


class _PlantedRows(BaseEstimator):
    """Stands in for the table GAN: every other row it returns is a real row of another class."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        self.X_, self.y_ = X, np.asarray(y)
        return self

    def sample(self, y):
        (c, n), = y.items()
        rows = np.empty(n, dtype=np.int64)
        other, own = np.flatnonzero(self.y_ != c), np.flatnonzero(self.y_ == c)
        rows[0::2] = other[np.arange(len(rows[0::2])) % len(other)]
        rows[1::2] = own[np.arange(len(rows[1::2])) % len(own)]
        picked = self.X_.iloc[rows].reset_index(drop=True) if isinstance(self.X_, pd.DataFrame) else self.X_[rows]
        return picked, np.full(n, c)


def _mixed_classes(n_major=150, n_minor=40, seed=0):
    """A frame whose class shows in a numeric column, a categorical one (with gaps) and a date."""
    rng = np.random.default_rng(seed)
    y = np.array([0] * n_major + [1] * n_minor)
    frame = pd.DataFrame({
        "x": rng.normal(3.0 * y, 1.0),
        "colour": np.where(rng.random(len(y)) < 0.9, np.where(y == 1, "red", "blue"), "green"),
        "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 30, len(y)) + 60 * y, unit="D"),
    })
    frame.loc[rng.random(len(y)) < 0.1, "colour"] = None
    return frame, y


@pytest.mark.parametrize("as_frame", [False, True], ids=["array", "frame"])
def test_classifier_filter_drops_table_rows_of_another_class(as_frame):
    X, y = _mixed_classes() if as_frame else blobs([150, 40])
    filtered = GANOverSampler(estimator=_PlantedRows(), random_state=0)  # the default filter: the classifier
    X_res, y_res = filtered.fit_resample(X, y)
    wanted = 150 - 40
    assert len(X_res) == len(y) + wanted and (y_res[len(y):] == 1).all()
    real = X.reset_index(drop=True) if as_frame else X
    synthetic = X_res.iloc[len(y):] if as_frame else X_res[len(y):]
    # Which real row each synthetic row copies: none of the planted majority rows survives.
    keys = real.astype(str).agg("|".join, axis=1) if as_frame else pd.Series(map(bytes, real))
    source = dict(zip(keys, y))
    kept = synthetic.astype(str).agg("|".join, axis=1) if as_frame else pd.Series(map(bytes, synthetic))
    assert [source[k] for k in kept] == [1] * wanted
    # Half the candidates were planted from class 0 and none of them passes; the bar (the
    # members' own out-of-fold scores at the bar "auto" chooses) also turns away some real 1s.
    assert 0.0 < filtered.acceptance_rate_[1] <= 0.5
    unfiltered = GANOverSampler(estimator=_PlantedRows(), acceptance=None, random_state=0)
    raw = unfiltered.fit_resample(X, y)[0]
    raw = raw.iloc[len(y):] if as_frame else raw[len(y):]
    raw_keys = raw.astype(str).agg("|".join, axis=1) if as_frame else pd.Series(map(bytes, raw))
    assert sum(source[k] == 0 for k in raw_keys) == wanted // 2


def test_table_classifier_filter_with_a_real_gan_is_exact_and_seeded():
    X, y = _mixed_classes()
    first = sampler(acceptance="classifier", candidates=3)
    X1, y1 = first.fit_resample(X, y)
    X2, _ = sampler(acceptance="classifier", candidates=3).fit_resample(X, y)
    assert (y1 == 1).sum() == 150 and list(X1.dtypes) == list(X.dtypes)
    pd.testing.assert_frame_equal(X1, X2)
    assert 0.0 <= first.acceptance_rate_[1] <= 1.0


def test_the_classifier_filter_fits_on_one_openmp_thread(monkeypatch):
    """Gradient boosting with a thread per core slows down by an order of magnitude when another
    process (a parallel fold of a grid search) holds a core; the filter's fits use one thread."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_info

    from ganaugment.oversampling import _table_class_scores

    fit = HistGradientBoostingClassifier.fit
    seen = []

    def recording_fit(self, X, y, *args, **kwargs):
        seen.append({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"})
        return fit(self, X, y, *args, **kwargs)

    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", recording_fit)
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.choice(["u", "v"], 120)})
    y = np.where(np.arange(120) % 4 == 0, 1, 0)
    _table_class_scores(X, y, X.iloc[:10], y[:10], 0)
    assert len(seen) >= 3 and all(threads == {1} for threads in seen)


def test_spread_takes_accepted_candidates_in_rounds_over_the_members():
    from ganaugment.oversampling import keep_accepted

    passed = np.array([True, True, False, True, True, True, False, True])
    rank = np.linspace(1, 0, 8)
    # Accepted candidates 0, 1, 3, 4, 5, 7 sit nearest to members 0, 0, 0, 1, 0, 2.
    anchor = np.array([0, 0, 0, 1, 0, 2])
    assert keep_accepted(passed, rank, 3).tolist() == [0, 1, 3]  # generation order
    assert keep_accepted(passed, rank, 3, anchor).tolist() == [0, 4, 7]  # one per member first
    assert keep_accepted(passed, rank, 5, anchor).tolist() == [0, 1, 3, 4, 7]
    # Too few accepted: the best-ranked rejected one fills the gap, as without spread.
    assert keep_accepted(passed, rank, 7, anchor).tolist() == [0, 1, 2, 3, 4, 5, 7]


def test_spread_keeps_exact_counts_and_covers_more_members():
    X, y = blobs([150, 25], n_features=2)
    kept = {}
    for spread in (False, True):
        s = sampler(spread=spread, acceptance_quantile=0.0)  # most candidates pass: there is a choice
        X_res, y_res = s.fit_resample(X, y)
        assert s.acceptance_rate_[1] > 0.5
        assert np.bincount(y_res).tolist() == [150, 150] and (X_res[:175] == X).all()
        members = X[y == 1]
        nearest = np.argmin(((X_res[175:, None, :] - members[None]) ** 2).sum(axis=2), axis=1)
        kept[spread] = np.bincount(nearest, minlength=len(members))
    # The same candidates, picked in rounds: the busiest member has fewer synthetic rows around it.
    assert kept[True].max() < kept[False].max()


@pytest.mark.parametrize(
    "bad", [{"noise_dim": 0}, {"epochs": 0}, {"pac": 0}, {"discriminator_steps": 0}, {"kind": "bogus"}]
)
def test_invalid_estimator_parameters_are_named_before_training(bad):
    """imbalanced-learn's fit_resample turns off scikit-learn's checks of nested fits: these were
    trained with (epochs=0 became 1) or failed deep inside training (pac=0: modulo by zero)."""
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = blobs([100, 30])
    with pytest.raises(InvalidParameterError, match=f"'{next(iter(bad))}' parameter of GANAugmenter"):
        sampler(estimator=small_gan(**bad)).fit_resample(X, y)


def test_a_failed_refit_or_set_params_leaves_the_sampler_as_it_was():
    X, y = blobs([100, 30])
    s = sampler()
    X_res, _ = s.fit_resample(X, y)
    fitted = (s.estimator_, s.n_features_in_, dict(s.sampling_strategy_), dict(s.acceptance_rate_))
    s.set_params(estimator__device="meta")  # a torch device ganaugment does not train on
    with pytest.raises(ValueError, match="device='meta'"):
        s.fit_resample(np.hstack([X, X[:, :1]]), np.where(y == 1, 2, y))
    assert (s.estimator_, s.n_features_in_, dict(s.sampling_strategy_), dict(s.acceptance_rate_)) == fitted
    assert s.estimator_.sample(3, y=1)[0].shape == (3, 3)
    bare = GANOverSampler()
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):
        bare.set_params(estimator__bogus=1)
    assert bare.estimator is None  # it had become GANAugmenter()


# ------------------------------------------------------ acceptance_quantile="auto"
def _bar_judge(good_bar, n_good=100, n_bad=100):
    """A filter whose bar ``good_bar`` passes the first ``n_good`` candidates and every other bar the rest."""
    def judge(q):
        passed = np.zeros(n_good + n_bad, dtype=bool)
        passed[:n_good] = q == good_bar
        passed[n_good:] = q != good_bar
        return passed, np.zeros(n_good + n_bad)
    return judge


@pytest.mark.parametrize("good_bar", [0.3, 0.9])
def test_auto_bar_is_the_one_whose_rows_raise_the_held_out_f1(good_bar):
    from ganaugment.oversampling import AUTO_BARS, _choose_bar

    X, y = blobs([150, 40], n_features=2)
    rng = np.random.default_rng(1)
    # Candidates of class 1: the first 100 drawn around class 1, the other 100 on top of class 0.
    X_syn = np.vstack([rng.normal(2.0, 1.0, (100, 2)), rng.normal(0.0, 0.5, (100, 2))])
    y_syn = np.ones(200, dtype=y.dtype)
    bar, means = _choose_bar(X, y, X_syn, y_syn, {1: 80}, _bar_judge(good_bar), seed=0)
    assert bar == good_bar and set(means) == set(AUTO_BARS)
    assert means[good_bar] > max(m for q, m in means.items() if q != good_bar)


def test_auto_bar_ties_go_to_the_fixed_default_and_equal_rows_are_fitted_once(monkeypatch):
    from sklearn.ensemble import HistGradientBoostingClassifier

    from ganaugment.oversampling import AUTO_FOLDS, _choose_bar

    fits = []
    fit = HistGradientBoostingClassifier.fit

    def counted_fit(self, *args, **kwargs):
        fits.append(1)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", counted_fit)
    X, y = blobs([150, 40], n_features=2)
    same = lambda q: (np.ones(120, dtype=bool), np.zeros(120))  # noqa: E731  (every bar keeps the same rows)
    bar, means = _choose_bar(X, y, X[:120], np.ones(120, dtype=y.dtype), {1: 110}, same, seed=0)
    assert bar == 0.7 and len(set(means.values())) == 1
    assert len(fits) == AUTO_FOLDS  # one fit per inner fold, not one per bar


@pytest.mark.parametrize(
    "gains, chosen",
    [([0.10, -0.08, 0.10, -0.08, 0.01], 0.7), ([0.05, 0.04, 0.06, 0.05, 0.05], 0.5)],
    ids=["noisy gain: keep 0.7", "steady gain: switch"],
)
def test_auto_bar_leaves_the_default_only_for_a_gain_beyond_its_noise(monkeypatch, gains, chosen):
    import sklearn.metrics

    from ganaugment.oversampling import AUTO_BARS, AUTO_FOLDS, _choose_bar

    # Every bar keeps its own rows (no two bars share a fit); the inner F1 of each fit is planted:
    # 0.5 beats 0.7 by ``gains`` fold by fold, 0.9 and 0.3 trail 0.7 by 0.2.
    calls = []

    def planted_f1(*args, **kwargs):
        fold, bar = divmod(len(calls), len(AUTO_BARS))
        calls.append(1)
        return 0.6 + {0.7: 0.0, 0.5: gains[fold], 0.9: -0.2, 0.3: -0.2}[AUTO_BARS[bar]]

    monkeypatch.setattr(sklearn.metrics, "f1_score", planted_f1)
    X, y = blobs([150, 40], n_features=2)

    def judge(q):
        passed = np.arange(200) % len(AUTO_BARS) == AUTO_BARS.index(q)
        return passed, np.zeros(200)

    candidates = np.vstack([X, X[:10]])  # 200 rows
    bar, means = _choose_bar(X, y, candidates, np.ones(200, dtype=y.dtype), {1: 40}, judge, seed=0)
    assert len(calls) == AUTO_FOLDS * len(AUTO_BARS)
    assert max(means, key=means.get) == 0.5  # 0.5 has the best mean either way
    assert bar == chosen


@pytest.mark.parametrize("acceptance", ["classifier", "knn"])
def test_auto_bar_in_the_sampler_is_exact_seeded_and_reported(acceptance):
    from ganaugment.oversampling import AUTO_BARS

    X, y = _mixed_classes()
    runs = []
    for _ in range(2):
        s = sampler(estimator=_PlantedRows(), acceptance=acceptance, acceptance_quantile="auto", candidates=3)
        X_res, y_res = s.fit_resample(X, y)
        runs.append(X_res)
        assert np.bincount(y_res).tolist() == [150, 150]
        assert s.acceptance_quantile_ in AUTO_BARS and set(s.bar_scores_) == set(AUTO_BARS)
        # The best inner score, or the fixed 0.7 when the best one's gain is within its noise.
        assert s.acceptance_quantile_ in (0.7, max(s.bar_scores_, key=s.bar_scores_.get))
    pd.testing.assert_frame_equal(runs[0], runs[1])
    fixed = sampler(estimator=_PlantedRows(), acceptance=acceptance, acceptance_quantile=0.5, candidates=3)
    fixed.fit_resample(X, y)
    assert fixed.acceptance_quantile_ == 0.5 and fixed.bar_scores_ == {}


def test_auto_bar_with_several_requested_classes_and_list_input():
    from ganaugment.oversampling import AUTO_BARS

    X, y = blobs([150, 40, 30])
    s = sampler(acceptance="classifier", acceptance_quantile="auto", candidates=3)
    X_res, y_res = s.fit_resample(X.tolist(), [f"c{label}" for label in y])
    assert Counter(list(y_res)) == {"c0": 150, "c1": 150, "c2": 150}
    assert np.asarray(X_res).shape == (450, 3)
    assert s.acceptance_quantile_ in AUTO_BARS and set(s.bar_scores_) == set(AUTO_BARS)
    assert set(s.acceptance_rate_) == {"c1", "c2"}
