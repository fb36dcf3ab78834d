import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from ganaugment import GANAugmenter

from .conftest import FAST


@pytest.fixture(scope="module")
def labelled():
    rng = np.random.default_rng(1)
    n = 400
    X = pd.DataFrame(
        {
            "age": rng.integers(18, 70, n),
            "sex": rng.choice(["Female", "Male"], n, p=[0.35, 0.65]),
            "job": rng.choice(["clerk", "nurse", "pilot", "chef"], n),
            "score": rng.normal(size=n),
        }
    )
    y = np.where(rng.random(n) < 0.2, "rare", "common")
    return X, y


@pytest.fixture(scope="module")
def fitted(labelled):
    X, y = labelled
    return GANAugmenter(random_state=0, **FAST).fit(X, y)


def test_sample_one_class_returns_exact_labels(fitted, labelled):
    X, _ = labelled
    for label in ("rare", "common"):
        Xs, ys = fitted.sample(1000, y=label)
        assert len(Xs) == 1000 and (ys == label).all()
        assert list(Xs.columns) == list(X.columns)
        assert (Xs.dtypes == X.dtypes).all()


def test_sample_dict_and_array_of_classes(fitted):
    Xs, ys = fitted.sample(y={"rare": 30, "common": 70})
    assert len(Xs) == 100
    assert (ys == "rare").sum() == 30 and (ys == "common").sum() == 70
    wanted = np.array(["rare", "common", "rare"])
    Xs, ys = fitted.sample(y=wanted)
    assert (ys == wanted).all()


def test_unconditioned_classes_follow_training_frequencies(fitted, labelled):
    _, y = labelled
    _, ys = fitted.sample(4000)
    assert abs((ys == "rare").mean() - (y == "rare").mean()) < 0.03


@pytest.mark.parametrize("column,value", [("sex", "Female"), ("job", "pilot")])
def test_conditions_on_any_categorical_column(fitted, column, value):
    Xs, ys = fitted.sample(300, conditions={column: value})
    assert len(Xs) == 300 and (Xs[column] == value).all()


def test_conditions_combined_with_classes(fitted):
    Xs, ys = fitted.sample(y={"rare": 40, "common": 60}, conditions={"sex": "Female"})
    assert (Xs["sex"] == "Female").all()
    assert (ys == "rare").sum() == 40 and (ys == "common").sum() == 60


def test_a_zero_dimensional_array_is_one_class(fitted, tmp_path):
    label = np.squeeze(np.array(["rare"]))  # what np.squeeze(y[:1]) gives
    assert (fitted.sample(3, y=label)[1] == "rare").all()
    rows = pd.read_csv(fitted.sample_to_file(tmp_path / "rare.csv", 3, y=label, target="label"))
    assert (rows["label"] == "rare").all() and len(rows) == 3


def test_a_near_miss_names_what_was_probably_meant(fitted):
    # Case and surrounding spaces (Adult's labels read as " >50K") and typos get a suggestion;
    # a name far from every choice gets none.
    with pytest.raises(ValueError, match=r"Unknown class ' Rare '.*Did you mean 'rare'\?"):
        fitted.sample(10, y=" Rare ")
    with pytest.raises(ValueError, match=r"'jobb'.*not a column.*Did you mean 'job'\?"):
        fitted.sample(5, conditions={"jobb": "nurse"})
    with pytest.raises(ValueError, match=r"'Nurse' never occurs.*Did you mean 'nurse'\?"):
        fitted.sample(5, conditions={"job": "Nurse"})
    with pytest.raises(ValueError, match="not a column") as excinfo:
        fitted.sample(5, conditions={"planet": "mars"})
    assert "Did you mean" not in str(excinfo.value)


def test_bad_sample_requests_are_named(fitted):
    with pytest.raises(ValueError, match="Unknown class 'nope'"):
        fitted.sample(10, y="nope")
    # An unknown class is refused with a count of 0 too, as sample_to_file refuses it.
    with pytest.raises(ValueError, match="Unknown class 'nope'"):
        fitted.sample(y={"rare": 3, "nope": 0})
    # A missing label was shown as "Unknown class nan".
    for request in (["rare", None], {"rare": 2, None: 1}):
        with pytest.raises(ValueError, match=r"y asks for a missing class \(None or NaN\)"):
            fitted.sample(y=request)
    with pytest.raises(ValueError, match="positive"):
        fitted.sample(0)
    with pytest.raises(ValueError, match="positive"):
        fitted.sample(-3, y="rare")
    with pytest.raises(ValueError, match="non-negative"):
        fitted.sample(y={"rare": -2, "common": 5})
    with pytest.raises(ValueError, match="positive"):
        fitted.sample(y={})
    with pytest.raises(ValueError, match="'planet'.*not a column"):
        fitted.sample(5, conditions={"planet": "mars"})
    with pytest.raises(ValueError, match="never occurs in column 'job'"):
        fitted.sample(5, conditions={"job": "astronaut"})
    with pytest.raises(ValueError, match="numeric"):
        fitted.sample(5, conditions={"age": 30})


def test_model_without_y_returns_only_X(labelled):
    X, _ = labelled
    gan = GANAugmenter(random_state=0, **FAST).fit(X)
    out = gan.sample(20)
    assert isinstance(out, pd.DataFrame) and out.shape == (20, 4)
    with pytest.raises(ValueError, match="fitted without y"):
        gan.sample(5, y="rare")


def test_transform_keeps_rows_schema_and_condition_columns(labelled):
    X, y = labelled
    gan = GANAugmenter(random_state=0, condition_columns=["sex"], **FAST).fit(X, y)
    twin = gan.transform(X)
    assert twin.shape == X.shape and (twin.dtypes == X.dtypes).all()
    assert (twin["sex"].to_numpy() == X["sex"].to_numpy()).all()


def test_fit_transform_is_a_synthetic_twin(labelled):
    X, y = labelled
    twin = GANAugmenter(random_state=0, **FAST).fit_transform(X, y)
    assert twin.shape == X.shape
    assert not twin.equals(X)


def test_transform_rejects_other_columns(fitted, labelled):
    X, _ = labelled
    with pytest.raises(ValueError):
        fitted.transform(X.drop(columns="job"))
    with pytest.raises(ValueError):
        fitted.transform(X.rename(columns={"job": "work"}))


def test_same_seed_same_samples_and_no_global_rng(labelled):
    X, y = labelled
    import torch

    np_state = np.random.get_state()[1].copy()
    torch_state = torch.random.get_rng_state().clone()
    # CPU: CUDA runs are not bitwise reproducible.
    a = GANAugmenter(random_state=3, device="cpu", **FAST).fit(X, y).sample(200)
    b = GANAugmenter(random_state=3, device="cpu", **FAST).fit(X, y).sample(200)
    pd.testing.assert_frame_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert (np.random.get_state()[1] == np_state).all()
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    c = GANAugmenter(random_state=4, device="cpu", **FAST).fit(X, y).sample(200)
    assert not a[0].equals(c[0])


def test_successive_samples_differ(fitted):
    assert not fitted.sample(50, y="rare")[0].equals(fitted.sample(50, y="rare")[0])


def test_a_seeded_sample_repeats_and_leaves_the_model_stream_alone(labelled, tmp_path):
    X, y = labelled
    model = GANAugmenter(random_state=0, **FAST).fit(X, y)
    twin = pickle.loads(pickle.dumps(model))
    first = model.sample(100, random_state=7)
    pd.testing.assert_frame_equal(first[0], model.sample(100, random_state=7)[0])
    np.testing.assert_array_equal(first[1], model.sample(100, random_state=7)[1])
    assert not first[0].equals(model.sample(100, random_state=8)[0])
    with pytest.raises(ValueError, match=r"random_state must be a non-negative int, a RandomState or None, got -1"):
        model.sample(5, random_state=-1)
    # The seeded calls took nothing from the model's own stream: it goes on as in a model that never made them.
    pd.testing.assert_frame_equal(model.sample(50, y="rare")[0], twin.sample(50, y="rare")[0])
    # Same seed, same file.
    paths = [tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"]
    for path, seed in zip(paths, (5, 5, 6)):
        model.sample_to_file(path, 200, random_state=seed, chunk_size=64)
    texts = [path.read_text() for path in paths]
    assert texts[0] == texts[1] != texts[2]
    pd.testing.assert_frame_equal(model.sample(50, y="rare")[0], twin.sample(50, y="rare")[0])


def test_history_records_the_game(fitted):
    assert len(fitted.history_) == FAST["epochs"]
    for entry in fitted.history_:
        assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(entry)
        assert 0 < entry["d_real"] < 1 and 0 < entry["d_fake"] < 1


def test_clone_pickle_and_grid_search(labelled, fitted):
    X, y = labelled
    clone(fitted)
    restored = pickle.loads(pickle.dumps(fitted))
    assert restored.sample(5, y="rare")[0].shape == (5, 4)

    def score(estimator, X, y=None):
        # Higher when generated ages have the real mean: a real, if rough, criterion.
        return -abs(estimator.sample(200)[0]["age"].mean() - X["age"].mean())

    search = GridSearchCV(GANAugmenter(random_state=0, **FAST), {"epochs": [1, 2]}, cv=2, scoring=score)
    search.fit(X, y)
    assert search.best_params_["epochs"] in (1, 2)


def test_numpy_input_gives_numpy_output_and_set_output(labelled):
    X, _ = labelled
    arr = X[["age", "score"]].to_numpy(dtype=float)
    gan = GANAugmenter(random_state=0, **FAST).fit(arr)
    out = gan.sample(10)
    assert isinstance(out, np.ndarray) and out.shape == (10, 2)
    gan.set_output(transform="pandas")
    framed = gan.transform(arr[:7])
    assert isinstance(framed, pd.DataFrame) and list(framed.columns) == ["x0", "x1"]
    assert list(gan.get_feature_names_out()) == ["x0", "x1"]
    assert list(GANAugmenter(random_state=0, **FAST).fit(X).get_feature_names_out()) == list(X.columns)


def test_missing_values_reproduced_at_real_rate():
    rng = np.random.default_rng(0)
    n = 2000
    X = pd.DataFrame({"v": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),
                      "c": np.where(rng.random(n) < 0.2, None, rng.choice(["a", "b"], n))})
    gan = GANAugmenter(random_state=0, **{**FAST, "epochs": 15, "batch_size": 200}).fit(X)
    out = gan.sample(4000)
    # A dropped or rejected missing marker would give 0; the tolerance allows a tiny, brief fit.
    assert abs(out["v"].isna().mean() - 0.3) < 0.1
    assert abs(out["c"].isna().mean() - 0.2) < 0.1


@pytest.mark.parametrize(
    "X,match",
    [
        (pd.DataFrame({"a": []}), "0 sample"),
        (pd.DataFrame({"a": [1.0]}), "n_samples = 1"),
        (pd.DataFrame({"a": [1.0, np.inf, 2.0]}), "'a'.*infinite"),
        (pd.DataFrame(index=range(5)), "0 feature"),
    ],
)
def test_bad_training_tables_are_refused_before_training(X, match):
    with pytest.raises(ValueError, match=match):
        GANAugmenter(**FAST).fit(X)


def test_bad_targets_are_refused(labelled):
    X, y = labelled
    with pytest.raises(ValueError, match="single class"):
        GANAugmenter(**FAST).fit(X, np.full(len(X), "a"))
    with pytest.raises(ValueError, match="missing values"):
        GANAugmenter(**FAST).fit(X, np.where(np.arange(len(X)) == 3, None, y))
    with pytest.raises(ValueError, match="labels"):
        GANAugmenter(**FAST).fit(X, y[:-1])


def test_hyperparameters_validated_in_fit(labelled):
    X, _ = labelled
    with pytest.raises(ValueError, match="epochs"):
        GANAugmenter(epochs=0).fit(X)
    with pytest.raises(ValueError, match="device"):
        GANAugmenter(device="tpu").fit(X)
