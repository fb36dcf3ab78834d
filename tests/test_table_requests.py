"""What sample() and transform() accept on a fitted table model, and what they refuse.

Requests that the model cannot honour (counts that disagree, a class that
never held a condition value, a transform input of another kind than the
training table) get an error naming the problem instead of rows that look
right and are not. Also the dtypes that decoding must give back exactly.
"""

import copy
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from ganaugment import GANAugmenter

from .conftest import FAST

ONE = {**FAST, "epochs": 1}


def fit(X, y=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GANAugmenter(random_state=0, **{**ONE, **params}).fit(X, y)


@pytest.fixture(scope="module")
def linked():
    """Column c holds 'x' only in class p; column d holds 'u' only in class q."""
    rng = np.random.default_rng(0)
    y = np.array(["p"] * 100 + ["q"] * 100)
    X = pd.DataFrame({
        "a": rng.normal(size=200),
        "c": np.where(y == "p", rng.choice(["x", "y"], 200), "y"),
        "d": np.where(y == "q", rng.choice(["u", "v"], 200), "v"),
    })
    return X, y, fit(X, y)


def test_a_y_dict_must_agree_with_n_samples(linked):
    _, _, gan = linked
    with pytest.raises(ValueError, match="n_samples=3 does not match the 2 rows asked for in the y dict"):
        gan.sample(3, y={"p": 2})
    X_new, y_new = gan.sample(3, y={"p": 2, "q": 1})
    assert len(X_new) == 3 and list(y_new) == ["p", "p", "q"]
    assert len(gan.sample(y={"q": 4})[0]) == 4  # without n_samples, the dict sets the count


@pytest.mark.parametrize("count, error", [(2.7, TypeError), (True, TypeError), ("3", TypeError), (np.nan, TypeError),
                                          (None, TypeError), (-1, ValueError)])
def test_counts_in_a_y_dict_must_be_non_negative_ints(linked, count, error):
    _, _, gan = linked
    with pytest.raises(error, match="class 'p' has"):
        gan.sample(y={"p": count, "q": 1})


def test_counts_in_a_y_dict_may_be_numpy_ints_or_zero(linked):
    _, _, gan = linked
    _, y_new = gan.sample(y={"p": np.int64(2), "q": 0})
    assert list(y_new) == ["p", "p"]


def test_sample_to_file_checks_dict_counts_the_same_way(linked, tmp_path):
    _, _, gan = linked
    with pytest.raises(TypeError, match="class 'p' has 2.7"):
        gan.sample_to_file(tmp_path / "out.csv", y={"p": 2.7})
    assert not (tmp_path / "out.csv").exists()


def test_a_two_dimensional_y_is_refused(linked):
    _, _, gan = linked
    with pytest.raises(ValueError, match=r"1-D sequence of classes or a dict; got shape \(2, 2\)"):
        gan.sample(y=np.array([["p", "q"], ["q", "p"]]))


def test_conditions_no_class_holds_together_are_refused(linked):
    _, _, gan = linked
    with pytest.raises(ValueError, match="No class of the training data holds c='x', d='u' together"):
        gan.sample(5, conditions={"c": "x", "d": "u"})


def test_a_condition_value_never_seen_with_the_requested_class_is_refused(linked, tmp_path):
    _, _, gan = linked
    with pytest.raises(ValueError, match="Class 'q' never occurs with c='x'"):
        gan.sample(5, y="q", conditions={"c": "x"})
    with pytest.raises(ValueError, match="Class 'q' never occurs with c='x'"):
        gan.sample_to_file(tmp_path / "out.csv", 5, y="q", conditions={"c": "x"})
    # Drawn classes follow the condition: every row holding c='x' is of class p.
    X_new, y_new = gan.sample(20, conditions={"c": "x"})
    assert set(y_new) == {"p"} and set(X_new["c"]) == {"x"}


def test_the_order_of_conditions_does_not_change_the_rows():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({
        "a": rng.normal(size=300),
        "c": rng.choice(["x", "y", "z"], 300, p=[0.1, 0.45, 0.45]),
        "d": rng.choice(["u", "v"], 300),
    })
    gan = fit(X)
    rows = [
        copy.deepcopy(gan).sample(40, conditions=conditions)
        for conditions in ({"c": "x", "d": "u"}, {"d": "u", "c": "x"})
    ]
    pd.testing.assert_frame_equal(rows[0], rows[1])
    assert (rows[0]["c"] == "x").all() and (rows[0]["d"] == "u").all()


def test_a_transform_refused_in_a_later_group_draws_nothing(linked):
    X, y, _ = linked
    gan = fit(X, y, condition_columns=["c"])
    untouched = copy.deepcopy(gan)
    # The rows with c='y' can be of class q; the rows with c='x' cannot, and come second.
    rows = pd.concat([X[X["c"] == "y"].head(5), X[X["c"] == "x"].head(5)])
    with pytest.raises(ValueError, match="Class 'q' never occurs with c='x'"):
        gan.transform(rows, np.array(["q"] * 10))
    pd.testing.assert_frame_equal(gan.sample(30)[0], untouched.sample(30)[0])


def test_transform_refuses_y_for_a_model_fitted_without_y(linked):
    X, y, _ = linked
    gan = fit(X)
    with pytest.raises(ValueError, match="y was given to transform"):
        gan.transform(X, y)


@pytest.mark.parametrize("column, value, match", [
    ("a", "oops", r"Column 'a' held numbers at fit; it now holds \['oops'\]"),
    ("a", pd.Timestamp("2020-01-01"), "Column 'a' held numbers at fit; it now has dtype datetime64"),
])
def test_transform_refuses_columns_of_another_kind(linked, column, value, match):
    X, y, gan = linked
    with pytest.raises(ValueError, match=match):
        gan.transform(X.assign(**{column: value}), y)


def test_transform_takes_unseen_levels_except_in_condition_columns(linked):
    X, y, gan = linked
    # Only the row count is read from column c: a level the fit never saw changes nothing.
    assert len(gan.transform(X.assign(c="never seen"), y)) == len(X)
    conditioned = fit(X, y, condition_columns=["c"])
    with pytest.raises(ValueError, match=r"Column 'c' holds values never seen at fit: \['never seen'\]"):
        conditioned.transform(X.assign(c="never seen"), y)


def test_transform_accepts_missing_values_in_its_input(linked):
    X, y, gan = linked
    holes = X.copy()
    holes.loc[:9, ["a", "d"]] = np.nan
    out = gan.transform(holes, y)
    assert len(out) == len(X) and not out["d"].isna().any()


def test_transform_refuses_dates_where_numbers_were_and_the_reverse():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"t": pd.date_range("2020", periods=150, freq="D"), "v": rng.normal(size=150)})
    gan = fit(X)
    with pytest.raises(ValueError, match="Column 't' held dates at fit; it now has dtype float64"):
        gan.transform(X.assign(t=1.0))
    assert len(gan.transform(X)) == 150


def test_condition_columns_must_be_categorical():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"i": rng.integers(0, 5, 150), "c": rng.choice(["x", "y"], 150)})
    with pytest.raises(ValueError, match="condition_columns names 'i', a numeric column"):
        fit(X, condition_columns=["i"])
    gan = fit(X, condition_columns=["c"])
    assert (gan.transform(X)["c"] == X["c"]).all()
    gan.set_params(condition_columns=["zz"])
    with pytest.raises(ValueError, match="condition_columns names 'zz', which is not a column the model was fitted on"):
        gan.transform(X)


def test_an_object_array_keeps_its_number_columns_numeric():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"f": rng.normal(size=200), "s": rng.choice(["u", "v"], 200), "i": rng.integers(0, 1000, 200)})
    gan = fit(X.to_numpy())  # an object array
    assert [s.kind for s in gan.encoder_.states_] == ["numeric", "categorical", "numeric"]
    out = gan.sample(500)
    assert out.dtype == object and out.shape == (500, 3)
    # Numbers are generated, not replayed: most of them are values the table never held.
    assert np.isin(out[:, 0].astype(float), X["f"].to_numpy()).mean() < 0.5


def test_an_infinite_float_in_an_object_column_is_refused():
    values = np.random.default_rng(4).normal(size=200).astype(object)
    values[-1] = np.inf
    with pytest.raises(ValueError, match="Column 'a' contains infinite values"):
        GANAugmenter(**ONE).fit(pd.DataFrame({"a": values, "b": ["t"] * 200}))
    # Text that spells a number is a level like any other.
    ok = pd.DataFrame({"a": ["inf", "1.5"] * 100, "b": ["t", "u"] * 100})
    assert set(fit(ok).sample(50)["a"]) <= {"inf", "1.5"}


def test_a_pyarrow_integer_column_with_gaps_keeps_its_dtype():
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(5)
    values = np.where(rng.random(200) < 0.3, None, rng.integers(0, 9, 200))
    X = pd.DataFrame({"i": pd.Series(values, dtype="int64[pyarrow]"), "v": rng.normal(size=200)})
    gan = fit(X)
    dtypes = {str(gan.sample(n)["i"].dtype) for n in (1, 2, 3, 200)}
    assert dtypes == {"int64[pyarrow]"}


def test_a_time_zone_aware_column_keeps_its_unit():
    X = pd.DataFrame({
        "t": pd.date_range("2020", periods=200, tz="Europe/Paris").astype("datetime64[ms, Europe/Paris]"),
        "v": np.random.default_rng(6).normal(size=200),
    })
    out = fit(X).sample(20)
    assert out["t"].dtype == X["t"].dtype


def test_the_only_row_of_a_class_is_never_held_out_for_the_gate():
    rng = np.random.default_rng(7)
    X = pd.DataFrame({"a": rng.normal(size=200), "c": rng.choice(["x", "y"], 200)})
    y = np.array(["p"] * 199 + ["q"])
    gan = fit(X, y, validation_fraction=0.6)
    assert gan.model_.class_sizes().tolist()[1] == 1


@pytest.mark.parametrize("params, error, match", [
    ({"generator_dim": (8.7,)}, ValueError, r"generator_dim must hold positive int widths, got \(8.7,\)"),
    ({"discriminator_dim": (16, 0)}, ValueError, "discriminator_dim must hold positive int widths"),
    ({"generator_dim": ()}, ValueError, "generator_dim must hold positive int widths"),
    ({"categorical_features": [True, False]}, TypeError, "not a boolean mask"),
    # One row a step would fail inside batch normalisation, mid-training.
    ({"batch_size": 1, "pac": 1}, ValueError, r"'batch_size' parameter of GANAugmenter must be an int in the range \[2, inf\)"),
])
def test_hyperparameters_are_checked_before_training(params, error, match):
    X = pd.DataFrame({"a": np.arange(50.0), "b": ["u", "v"] * 25})
    with pytest.raises(error, match=match):
        GANAugmenter(**{**ONE, **params}).fit(X)


def test_multi_level_column_names_are_refused():
    X = pd.DataFrame(np.random.default_rng(8).normal(size=(50, 2)), columns=pd.MultiIndex.from_tuples([("a", 1), ("a", 2)]))
    with pytest.raises(ValueError, match="multi-level column names"):
        GANAugmenter(**ONE).fit(X)


def test_the_gates_hold_out_leaves_every_condition_value_to_learn():
    """A value of a condition column held only by rows the gate held out was never learned, so
    fit_transform failed after training (transform refused the value as never seen)."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=150), "c": rng.choice(["x", "y"], 150).astype(object)})
    X.loc[:2, "c"] = ["rare1", "rare2", "rare3"]
    X.loc[3, "c"] = np.nan
    for seed in range(3):
        gan = GANAugmenter(random_state=seed, validation_fraction=0.5, condition_columns=["c"], **ONE)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = gan.fit_transform(X)
        assert out["c"].iloc[:3].tolist() == ["rare1", "rare2", "rare3"]
        assert len(out) == len(X) and (out["c"].iloc[4:] == X["c"].iloc[4:]).all()
    with pytest.raises(ValueError, match=r"leaves 0 row\(s\) to check once every value of condition_columns \['c'\]"):
        fit(X.assign(c=[f"id{i}" for i in range(150)]), validation_fraction=0.01, condition_columns=["c"])


def test_a_value_pooled_beyond_max_categories_is_a_condition_the_generator_honours():
    """Rows of the pooled slot decode to one of the column's many rare values at random, so the
    rows were redrawn 20 times and then set by hand, with a warning that blamed the generator."""
    X = pd.DataFrame({"a": np.arange(400.0), "id": [f"id{i}" for i in range(400)]})
    gan = fit(X, max_categories=10, epochs=30)
    assert gan.encoder_.is_pooled_slot("id", gan.encoder_.level_index("id", "id399"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = gan.sample(500, conditions={"id": "id399"})
    assert (out["id"] == "id399").all() and out["id"].dtype == X["id"].dtype
    assert not gan.encoder_.is_pooled_slot("id", gan.encoder_.level_index("id", "id1"))


def test_conditions_set_by_hand_are_reported_once_per_call(tmp_path):
    """transform warned once per group of condition values (hundreds for an identifier column),
    and sample_to_file once per chunk."""
    X = pd.DataFrame({"a": np.arange(400.0), "id": [f"id{i % 40}" for i in range(400)]})
    gan = fit(X, condition_columns=["id"])  # one epoch: the generator misses most conditions
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = gan.transform(X)
        gan.sample_to_file(tmp_path / "s.csv", 1000, conditions={"id": "id3"}, chunk_size=100)
    messages = [str(w.message) for w in caught if "rarely honours" in str(w.message)]
    assert (out["id"] == X["id"]).all() and (pd.read_csv(tmp_path / "s.csv")["id"] == "id3").all()
    assert len(messages) == 2, messages
    assert re.search(r"the conditions of \d+ of 40 groups of rows \(the first: id='id\d+'\); \d+ of 400 rows", messages[0])
    assert re.search(r"the condition id='id3'; \d+ of 1000 rows had the condition value set directly", messages[1])
    assert all(w.filename == __file__ for w in caught if "rarely honours" in str(w.message))
