import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from imblearn import FunctionSampler
from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator, ClassifierMixin

import ganaugment.training as training_module
from ganaugment import FidelityWarning, GANAugmenter, LowFidelityError
from ganaugment.metrics._frames import row_keys
from ganaugment.metrics.diagnostics import ModeCollapseWarning
from ganaugment.metrics.evaluate import NO_PRIVACY_NOTE
from ganaugment.metrics.gate import holdout_split

from ..conftest import FAST, fit_quietly
from .test_evaluate import make_table

GOOD = dict(FAST, epochs=3)
THRESHOLD = 0.5


@pytest.fixture(scope="module")
def table():
    frame = make_table(400, 0)
    return frame.drop(columns="label"), frame["label"].to_numpy()


@pytest.fixture
def collapsed_generator(monkeypatch):
    """Train as usual, then break the generator: the broken model of the gate tests.

    Every weight is zeroed (so every row gets the same output) and the output
    bias pins each discrete span to its last level. Zeroed weights alone are
    not enough: discrete spans are drawn from their softmax, so all-zero
    logits still give uniformly drawn levels.
    """
    train = training_module.train_gan

    def train_then_break(problem, config, history, optimizers=None):
        out = train(problem, config, history, optimizers)
        with torch.no_grad():
            for parameter in problem.generator.parameters():
                parameter.zero_()
            last = [m for m in problem.generator.modules() if isinstance(m, nn.Linear)][-1]
            for span in problem.encoder.spans_:
                if span.kind == "discrete":
                    last.bias[span.stop - 1] = 20.0
        return out

    monkeypatch.setattr(training_module, "train_gan", train_then_break)


def test_gate_is_off_by_default(table):
    X, _ = table
    model, caught = fit_quietly(GANAugmenter(random_state=0, **FAST), X)
    assert model.quality_score_ is None and model.fidelity_report_ is None and model.gate_passed_ is None
    assert FidelityWarning not in caught


def test_gate_lets_a_trained_model_through(table):
    X, y = table
    model, caught = fit_quietly(GANAugmenter(random_state=0, min_quality=THRESHOLD, **GOOD), X, y)
    assert model.gate_passed_ is True
    assert model.quality_score_ >= THRESHOLD
    assert model.quality_score_ == model.fidelity_report_.quality_score
    assert FidelityWarning not in caught
    # Scored on the 20% held out, with the class as a column.
    assert "80 real rows" in model.fidelity_report_.summary()
    assert "class" in model.fidelity_report_.columns["column"].tolist()
    assert "Training curves" in model.fidelity_report_.figure_titles
    # No copies and no note that privacy needs a holdout: the gate has no training rows to check copies against.
    assert NO_PRIVACY_NOTE not in model.fidelity_report_.notes
    assert model.fidelity_report_.privacy == {}
    Xs, ys = model.sample(50)
    assert len(Xs) == 50 and len(ys) == 50
    # The stored report holds drawn figures, not rows, and the model still pickles.
    assert all(isinstance(png, bytes) for _, png, _ in model.fidelity_report_._figures)
    clone = pickle.loads(pickle.dumps(model))
    assert clone.fidelity_report_.quality_score == model.quality_score_


def test_gate_stops_a_collapsed_generator(table, collapsed_generator):
    X, y = table
    model, caught = fit_quietly(GANAugmenter(random_state=0, min_quality=THRESHOLD, **GOOD), X, y)
    assert model.gate_passed_ is False and model.quality_score_ < THRESHOLD
    assert FidelityWarning in caught
    # The collapse is named before the gate refuses the model.
    strict = GANAugmenter(random_state=0, min_quality=THRESHOLD, on_low_quality="raise", **GOOD)
    with pytest.raises(LowFidelityError, match="below min_quality=0.5") as error, \
            pytest.warns(ModeCollapseWarning, match="never appear"):
        strict.fit(X, y)
    assert error.value.report.quality_score < THRESHOLD
    # The rejected model is not kept: the estimator is as unfitted as before the call.
    assert not hasattr(strict, "model_") and not hasattr(strict, "n_features_in_")


def test_detection_threshold_stops_rows_a_classifier_recognises(table, collapsed_generator):
    """max_detection_auc alone turns the gate on, and fails on the detection test, not on quality."""
    X, y = table
    model = GANAugmenter(random_state=0, max_detection_auc=0.9, on_low_quality="fallback", **GOOD)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    report = model.fidelity_report_
    assert "80 real rows" in report.summary()  # 20% held out by default, as with min_quality
    assert report.detection_auc > 0.9 and model.gate_passed_ is False
    message = " ".join(str(w.message) for w in caught if w.category is FidelityWarning)
    assert f"ROC AUC {report.detection_auc:.3f}" in message and "above max_detection_auc=0.9" in message
    assert "min_quality" not in message  # only the failed check is named
    with pytest.warns(FidelityWarning, match=r"detection AUC 1\.000 > max_detection_auc=0\.9\); sample\(\) returns no rows"):
        assert len(model.sample(5)[0]) == 0
    strict = GANAugmenter(random_state=0, min_quality=0.0, max_detection_auc=0.9, on_low_quality="raise", **GOOD)
    with pytest.raises(LowFidelityError, match="Train longer or raise max_detection_auc;"):
        fit_quietly(strict, X, y)


def test_detection_threshold_of_one_lets_every_model_through(table):
    X, y = table
    model, caught = fit_quietly(GANAugmenter(random_state=0, max_detection_auc=1.0, **GOOD), X, y)
    assert model.gate_passed_ is True and FidelityWarning not in caught
    assert 0.5 <= model.fidelity_report_.detection_auc <= 1.0


@pytest.mark.parametrize("value", [1.5, -0.1, True, "0.9"])
def test_detection_threshold_is_checked(table, value):
    X, _ = table
    with pytest.raises((ValueError, TypeError), match="max_detection_auc"):
        GANAugmenter(max_detection_auc=value, **FAST).fit(X)


def test_fallback_hands_out_no_synthetic_rows(table, collapsed_generator):
    X, y = table
    model, _ = fit_quietly(GANAugmenter(random_state=0, min_quality=THRESHOLD, on_low_quality="fallback", **GOOD), X, y)
    with pytest.warns(FidelityWarning, match="no rows") as sampled:
        Xs, ys = model.sample(20)
    assert Xs.shape == (0, X.shape[1]) and list(Xs.columns) == list(X.columns) and len(ys) == 0
    with pytest.warns(FidelityWarning, match="unchanged") as transformed:
        out = model.transform(X.iloc[:7])
    pd.testing.assert_frame_equal(out, X.iloc[:7].reset_index(drop=True))
    # Both warnings name this file, not scikit-learn's output wrapper around transform().
    assert {w.filename for w in sampled.list + transformed.list} == {__file__}


def test_fallback_writes_no_rows_to_a_file(table, collapsed_generator, tmp_path):
    """sample_to_file honours the gate as sample() does: the columns, no rows, a warning."""
    X, y = table
    model, _ = fit_quietly(GANAugmenter(random_state=0, min_quality=THRESHOLD, on_low_quality="fallback", **GOOD), X, y)
    path = tmp_path / "rows.csv"
    with pytest.warns(FidelityWarning, match="no rows are written"):
        model.sample_to_file(path, 500, chunk_size=100)
    back = pd.read_csv(path)
    assert len(back) == 0 and list(back.columns) == [str(c) for c in X.columns] + ["class"]


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Remembers the rows it was trained on."""

    def fit(self, X, y):
        self.seen_ = X.copy()
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.repeat(self.classes_[0], len(X))


def augment_with(model):
    def augment(X, y):
        Xs, ys = model.fit(X, y).sample(len(X))
        return pd.concat([X, Xs], ignore_index=True), np.r_[y, ys]

    return augment


@pytest.mark.parametrize("broken", [True, False])
def test_pipeline_with_fallback_never_feeds_rejected_rows(table, request, broken):
    if broken:
        request.getfixturevalue("collapsed_generator")
    X, y = table
    gan = GANAugmenter(random_state=0, min_quality=THRESHOLD, on_low_quality="fallback", **GOOD)
    pipe = Pipeline([("augment", FunctionSampler(func=augment_with(gan), validate=False)), ("clf", RecordingClassifier())])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
    seen = pipe.named_steps["clf"].seen_
    real_rows = np.isin(row_keys(seen), row_keys(X))
    if broken:
        assert gan.gate_passed_ is False
        assert len(seen) == len(X) and real_rows.all()
    else:  # a model that passes does feed synthetic rows: the check above can fail
        assert gan.gate_passed_ is True
        assert len(seen) == 2 * len(X) and not real_rows[len(X):].all()


def test_same_seed_same_gate_and_samples(table):
    X, y = table
    a, _ = fit_quietly(GANAugmenter(random_state=5, validation_fraction=0.3, **FAST), X, y)
    b, _ = fit_quietly(GANAugmenter(random_state=5, validation_fraction=0.3, **FAST), X, y)
    assert a.quality_score_ == b.quality_score_ and a.gate_passed_ is True  # no threshold: scored only
    pd.testing.assert_frame_equal(a.sample(30)[0], b.sample(30)[0])


def test_gate_leaves_a_gate_off_fit_unchanged(table):
    X, _ = table
    plain, _ = fit_quietly(GANAugmenter(random_state=1, **FAST), X)
    again, _ = fit_quietly(GANAugmenter(random_state=1, **FAST), X)
    pd.testing.assert_frame_equal(plain.sample(25), again.sample(25))


def test_gate_with_classes_beside_columns_named_like_the_class(table):
    X, y = table
    crowded = X.assign(**{"class": 1.0, "class_": 2.0, "class__": 3.0})
    model, _ = fit_quietly(GANAugmenter(random_state=0, validation_fraction=0.3, **FAST), crowded, y)
    assert 0.0 <= model.quality_score_ <= 1.0
    assert "class___" in model.fidelity_report_.columns["column"].tolist()


def test_holdout_split_is_stratified_and_checked():
    y = np.r_[np.zeros(95, int), np.ones(5, int)]
    train, held = holdout_split(len(y), 0.2, np.random.default_rng(0), y=y)
    assert len(np.intersect1d(train, held)) == 0 and len(train) + len(held) == 100
    assert set(y[held]) == {0, 1} and set(y[train]) == {0, 1}
    with pytest.raises(ValueError, match="validation_fraction"):
        holdout_split(3, 0.2, np.random.default_rng(0))


@pytest.mark.parametrize(
    "params", [{"min_quality": 1.5}, {"on_low_quality": "ignore"}, {"validation_fraction": 1.0}]
)
def test_gate_parameters_are_validated(table, params):
    X, _ = table
    with pytest.raises(ValueError):
        GANAugmenter(**params, **FAST).fit(X)


def test_gated_model_file_keeps_the_gate_decision(table, collapsed_generator, tmp_path):
    from ganaugment import GANAugmenter as Loader

    X, y = table
    model, _ = fit_quietly(GANAugmenter(random_state=0, min_quality=THRESHOLD, on_low_quality="fallback", **GOOD), X, y)
    model.save(tmp_path / "gated.gan")
    loaded = Loader.load(tmp_path / "gated.gan")
    assert loaded.gate_passed_ is False and loaded.quality_score_ == model.quality_score_
    with pytest.warns(FidelityWarning):
        assert len(loaded.sample(10)[0]) == 0
    report = loaded.fidelity_report_
    assert report.to_frame().equals(model.fidelity_report_.to_frame())
    pd.testing.assert_frame_equal(report.columns, model.fidelity_report_.columns, check_dtype=False)
    assert report.figure_titles == model.fidelity_report_.figure_titles
    assert "data:image/png;base64," in report.to_html()
