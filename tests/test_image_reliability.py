"""Checkpoints and the fidelity gate of image fits (the image side of test_reliability and metrics/test_gate).

Tiny 8x8 digits, a few training steps per epoch: each test takes seconds.
"""

import os

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import ganaugment.checkpoint as checkpoint_module
import ganaugment.images.fitting as fitting_module
import ganaugment.training as training_module
from ganaugment import FidelityWarning, GANAugmenter, GANOverSampler, LowFidelityError
from ganaugment._validation import seed_from
from ganaugment.checkpoint import CHECKPOINT_NAME
from ganaugment.images.metrics import image_quality_score
from ganaugment.metrics.gate import holdout_split
from ganaugment.persistence import read_model_info
from .conftest import crash_at, fit_quietly, kill_after_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# 120 images in batches of 32: three steps per epoch.
TINY = dict(image_shape=(8, 8), batch_size=32, noise_dim=8)


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return d.data[:120], d.target[:120]


@pytest.fixture
def quick_gate(monkeypatch):
    """A gate whose feature CNN trains for 200 steps instead of 1000 (same score, cheaper features)."""
    monkeypatch.setattr(fitting_module, "GATE_EXTRACTOR_STEPS", 200)


# --------------------------------------------------------------- checkpoints
def test_image_checkpoints_are_written_every_k_epochs_and_at_the_end(digits, tmp_path, monkeypatch):
    X, y = digits
    real = checkpoint_module.save_model
    saved = []

    def save_model(estimator, path, *, metadata):
        saved.append(metadata["epoch"])
        assert len(estimator.history_) == metadata["epoch"]
        return real(estimator, path, metadata=metadata)

    monkeypatch.setattr(checkpoint_module, "save_model", save_model)
    folder = tmp_path / "run"
    gan = GANAugmenter(**TINY, epochs=5, checkpoint_dir=folder, checkpoint_every=2, random_state=0).fit(X, y)
    assert saved == [2, 4, 5]
    assert sorted(os.listdir(folder)) == [CHECKPOINT_NAME]
    info = read_model_info(folder / CHECKPOINT_NAME)
    assert info["metadata"]["epoch"] == 5 and len(info["metadata"]["optimizers"]) == 2
    # The checkpoint is a model file: it loads and samples what the fitted model samples.
    loaded = GANAugmenter.load(folder / CHECKPOINT_NAME)
    assert loaded.kind_ == "image"
    a, b = loaded.sample(y={3: 4, 5: 4}), gan.sample(y={3: 4, 5: 4})
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_an_image_checkpoint_written_mid_fit_samples(digits, tmp_path, on_epoch):
    X, y = digits
    on_epoch(crash_at(3))
    with pytest.raises(RuntimeError, match="simulated crash"):
        GANAugmenter(**TINY, epochs=6, checkpoint_every=2, checkpoint_dir=tmp_path, random_state=0).fit(X, y)
    at_crash = GANAugmenter.load(tmp_path / CHECKPOINT_NAME)
    images, labels = at_crash.sample(y={0: 2, 9: 3})
    assert images.shape == (5, 64) and labels.tolist() == [0, 0, 9, 9, 9]
    assert len(at_crash.history_) == 2


@pytest.mark.parametrize("conditional", [True, False])
def test_a_resumed_image_fit_gives_byte_identical_samples(digits, tmp_path, on_epoch, monkeypatch, conditional):
    X, y = digits
    y = y if conditional else None
    params = dict(**TINY, epochs=6, checkpoint_every=2, random_state=0, device="cpu")  # CPU: CUDA runs are not bitwise reproducible
    straight = GANAugmenter(**params).fit(X, y)
    on_epoch(crash_at(5))
    with pytest.raises(RuntimeError, match="simulated crash"):
        GANAugmenter(**params, checkpoint_dir=tmp_path).fit(X, y)
    at_crash = GANAugmenter.load(tmp_path / CHECKPOINT_NAME, device="cpu")
    assert len(at_crash.history_) == 4
    monkeypatch.undo()
    resumed = GANAugmenter(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert resumed.history_[:4] == at_crash.history_  # same timings: epochs 1-4 were not trained again
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3, 4, 5, 6]
    for key in ("loss_d", "loss_g", "d_real", "d_fake"):
        assert [h[key] for h in resumed.history_] == [h[key] for h in straight.history_], key
    a, b = straight.sample(50), resumed.sample(50)
    if conditional:
        np.testing.assert_array_equal(a[1], b[1])
        a, b = a[0], b[0]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(straight.transform(X[:7]), resumed.transform(X[:7]))


def test_resuming_an_image_fit_with_other_data_or_hyperparameters_is_refused(digits, tmp_path):
    X, y = digits
    params = dict(**TINY, epochs=2, checkpoint_dir=tmp_path, random_state=0)
    GANAugmenter(**params).fit(X, y)
    changed = X.copy()
    changed[0, 10] += 1.0
    with pytest.raises(ValueError, match="fit on other data.*another checkpoint_dir"):
        GANAugmenter(**params).fit(changed, y)
    with pytest.raises(ValueError, match="fit on other data"):
        GANAugmenter(**params).fit(X[1:], y[1:])
    with pytest.raises(ValueError, match="fit on other data"):
        GANAugmenter(**params).fit(X, (y + 1) % 10)
    with pytest.raises(ValueError, match="fit on other data"):
        GANAugmenter(**params).fit(X.astype(np.float32), y)  # same values, other dtype
    with pytest.raises(ValueError, match=r"other hyperparameters \(noise_dim=8 there, 16 now\)"):
        GANAugmenter(**{**params, "noise_dim": 16}).fit(X, y)
    with pytest.raises(ValueError, match=r"random_state=0 there, 1 now"):
        GANAugmenter(**{**params, "random_state": 1}).fit(X, y)
    with pytest.raises(ValueError, match=r"min_quality=None there, 0.1 now"):
        GANAugmenter(**{**params, "min_quality": 0.1}).fit(X, y)
    with pytest.raises(ValueError, match="epoch 2, beyond epochs=1"):
        GANAugmenter(**{**params, "epochs": 1}).fit(X, y)
    more = GANAugmenter(**{**params, "epochs": 3, "verbose": False, "time_limit": 600}).fit(X, y)
    assert [h["epoch"] for h in more.history_] == [1, 2, 3]
    # The same images as a stacked array are other data (another layout): refused, not mixed up.
    with pytest.raises(ValueError, match="fit on other data"):
        GANAugmenter(**{**params, "image_shape": None, "kind": "image"}).fit(X.reshape(-1, 8, 8), y)


def test_ctrl_c_in_an_image_fit_saves_the_last_finished_epoch_and_resumes_exactly(digits, tmp_path, monkeypatch):
    X, y = digits
    real = fitting_module.ImageGAN.generate
    calls = {"n": 0}

    def generate(self, batch):
        calls["n"] += 1
        if calls["n"] == 11:  # three steps per epoch: the second step of epoch 4
            raise KeyboardInterrupt
        return real(self, batch)

    params = dict(**TINY, epochs=6, checkpoint_every=2, random_state=0, device="cpu")  # CPU: CUDA runs are not bitwise reproducible
    straight = GANAugmenter(**params).fit(X, y)
    monkeypatch.setattr(fitting_module.ImageGAN, "generate", generate)
    with pytest.warns(RuntimeWarning, match="interrupted.*last finished epoch \\(3\\)"):
        gan = GANAugmenter(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert len(gan.history_) == 3
    assert read_model_info(tmp_path / CHECKPOINT_NAME)["metadata"]["epoch"] == 3
    monkeypatch.undo()
    resumed = GANAugmenter(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert resumed.history_[:3] == gan.history_
    np.testing.assert_array_equal(resumed.sample(40)[0], straight.sample(40)[0])


_TRAINING_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from sklearn.datasets import load_digits
from ganaugment import GANAugmenter
d = load_digits()
GANAugmenter(**{params!r}).fit(d.data[:120], d.target[:120])
"""


def test_a_killed_image_training_process_resumes_from_its_checkpoint(digits, tmp_path):
    X, y = digits
    # CPU: CUDA runs are not bitwise reproducible.
    params = dict(**TINY, epochs=100_000, checkpoint_dir=str(tmp_path), checkpoint_every=1, random_state=0,
                  device="cpu")
    checkpoint = kill_after_checkpoint(_TRAINING_SCRIPT.format(root=ROOT, params=params), tmp_path, CHECKPOINT_NAME)
    at_kill = GANAugmenter.load(checkpoint, device="cpu")
    k = len(at_kill.history_)
    assert k >= 1 and read_model_info(checkpoint)["metadata"]["epoch"] == k
    params["epochs"] = k + 2
    resumed = GANAugmenter(**params).fit(X, y)
    assert resumed.history_[:k] == at_kill.history_
    assert [h["epoch"] for h in resumed.history_] == list(range(1, k + 3))
    images, labels = resumed.sample(y={4: 5})
    assert images.shape == (5, 64) and images.min() >= 0 and images.max() <= 16 and set(labels) == {4}
    # An uninterrupted fit of k + 2 epochs draws the same images.
    straight = GANAugmenter(**{**params, "checkpoint_dir": None}).fit(X, y)
    np.testing.assert_array_equal(straight.sample(y={4: 5})[0], GANAugmenter.load(checkpoint, device="cpu").sample(y={4: 5})[0])
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


# --------------------------------------------------------------- the gate
def test_image_quality_score_is_coverage_or_the_smaller_of_coverage_and_class_accuracy():
    assert image_quality_score({"coverage": 0.4, "class_accuracy": None}) == 0.4
    assert image_quality_score({"coverage": 0.4, "class_accuracy": 0.9}) == 0.4
    assert image_quality_score({"coverage": 0.8, "class_accuracy": 0.3}) == 0.3


def test_image_gate_is_off_by_default(digits):
    X, y = digits
    model, caught = fit_quietly(GANAugmenter(**TINY, epochs=1, random_state=0), X, y)
    assert model.quality_score_ is None and model.fidelity_report_ is None and model.gate_passed_ is None
    assert FidelityWarning not in caught


@pytest.mark.parametrize("conditional", [True, False])
def test_image_gate_lets_a_trained_model_through(conditional, request):
    if not conditional:  # the conditional case runs the gate as shipped, this one a cheaper feature CNN
        request.getfixturevalue("quick_gate")
    d = load_digits()
    X, y = d.data[:400], (d.target[:400] if conditional else None)
    gan = GANAugmenter(image_shape=(8, 8), epochs=20, batch_size=64, noise_dim=16, random_state=0, min_quality=0.2)
    model, caught = fit_quietly(gan, X, y)
    assert FidelityWarning not in caught
    assert model.gate_passed_ is True and model.quality_score_ >= 0.2
    report = model.fidelity_report_
    assert report.kind == "image" and report.quality_score == model.quality_score_
    assert "80 real images, 80 synthetic images" in report.summary()
    assert "Training curves" in report.figure_titles
    if conditional:
        assert model.quality_score_ == min(report["class_accuracy"], report["coverage"])
        assert report["real_class_accuracy"] > 0.7  # the classifier behind class_accuracy works
        assert "class_accuracy" in report.to_frame().index
        assert len(model.sample(y={1: 3})[0]) == 3
    else:
        assert model.quality_score_ == report["coverage"]
        assert "class_accuracy" not in report.scores
        assert len(model.sample(3)) == 3


@pytest.fixture
def zeroed_generator(monkeypatch):
    """Train as usual, then zero every generator weight: each image comes out the same."""
    train = training_module.train_gan

    def train_then_break(problem, config, history, optimizers=None):
        out = train(problem, config, history, optimizers)
        with torch.no_grad():
            for parameter in problem.generator.parameters():
                parameter.zero_()
        return out

    monkeypatch.setattr(training_module, "train_gan", train_then_break)


@pytest.mark.parametrize("broken", ["zeroed", "untrained"])
def test_image_gate_catches_a_broken_generator(digits, request, quick_gate, broken):
    X, y = digits
    if broken == "zeroed":
        request.getfixturevalue("zeroed_generator")
        params = dict(**TINY, epochs=3, min_quality=0.1, random_state=0)
    else:  # one epoch of three steps, against a threshold only real images could reach
        params = dict(**TINY, epochs=1, min_quality=1.0, random_state=0)
    model, caught = fit_quietly(GANAugmenter(**params), X, y)
    assert FidelityWarning in caught
    assert model.gate_passed_ is False and model.quality_score_ < params["min_quality"]
    assert model.sample(4, y=2)[0].shape == (4, 64)  # "warn" keeps the model usable
    with pytest.raises(LowFidelityError, match="held-out images is .*below min_quality") as error:
        GANAugmenter(**params, on_low_quality="raise").fit(X, y)
    assert error.value.report.kind == "image" and error.value.report.quality_score < params["min_quality"]


def test_image_gate_fallback_hands_out_no_synthetic_images(digits, zeroed_generator, quick_gate, tmp_path):
    X, y = digits
    params = dict(**TINY, epochs=3, min_quality=0.1, on_low_quality="fallback", random_state=0)
    with pytest.warns(FidelityWarning, match="no synthetic images") as fitted:
        model = GANAugmenter(**params).fit(X, y)
    with pytest.warns(FidelityWarning, match="no images") as sampled:
        images, labels = model.sample(20)
    assert images.shape == (0, 64) and images.dtype == X.dtype and len(labels) == 0
    with pytest.warns(FidelityWarning, match="unchanged") as transformed:
        out = model.transform(X[:7], y[:7])
    np.testing.assert_array_equal(out, X[:7])
    # Through fit_transform the gate's warning comes from under two scikit-learn wrappers.
    with pytest.warns(FidelityWarning) as wrapped:
        GANAugmenter(**params).fit_transform(X, y)
    assert ["no synthetic images" in str(w.message) for w in wrapped.list] == [True, False]  # fit's, then transform's
    # Every warning names this file: the line that called fit, sample or transform.
    assert {w.filename for w in fitted.list + sampled.list + transformed.list + wrapped.list} == {__file__}
    # The decision travels with the model file.
    model.save(tmp_path / "gated.gan")
    loaded = GANAugmenter.load(tmp_path / "gated.gan")
    assert loaded.gate_passed_ is False and loaded.quality_score_ == model.quality_score_
    assert loaded.fidelity_report_.to_frame().equals(model.fidelity_report_.to_frame())
    with pytest.warns(FidelityWarning):
        assert len(loaded.sample(5)[0]) == 0
    # Unconditional stacked images: an empty stack in the input layout.
    stacked = (X.reshape(-1, 8, 8) * 15).astype(np.uint8)
    with pytest.warns(FidelityWarning):
        model = GANAugmenter(**{**params, "image_shape": None}).fit(stacked)
    with pytest.warns(FidelityWarning):
        empty = model.sample(3)
    assert empty.shape == (0, 8, 8) and empty.dtype == np.uint8


@pytest.mark.parametrize("stacked", [False, True])
def test_image_gate_fallback_keeps_synthetic_images_out_of_the_oversampler(digits, zeroed_generator, quick_gate,
                                                                           stacked):
    X, y = digits
    y = np.where(y < 3, 1, 0)  # imbalanced: about a third in class 1
    image_shape = (8, 8)
    if stacked:
        X, image_shape = X.reshape(-1, 8, 8), None
    gan = GANAugmenter(**{**TINY, "image_shape": image_shape}, epochs=2, min_quality=0.1, on_low_quality="fallback",
                       random_state=0)
    with pytest.warns(FidelityWarning):
        X_res, y_res = GANOverSampler(estimator=gan, random_state=0).fit_resample(X, y)
    assert X_res.shape == X.shape
    np.testing.assert_array_equal(X_res, X)
    np.testing.assert_array_equal(y_res, y)


def test_image_gate_leaves_the_fit_draws_unchanged(digits, quick_gate):
    """A gated fit trains and samples exactly like a gate-off fit on the images it kept."""
    X, y = digits
    gated, _ = fit_quietly(GANAugmenter(**TINY, epochs=2, validation_fraction=0.25, random_state=7), X, y)
    assert gated.gate_passed_ is True and 0 <= gated.quality_score_ <= 1  # scored without a threshold
    kept, held = holdout_split(len(X), 0.25, np.random.default_rng([seed_from(7), 1]), y=y)
    assert gated.fidelity_report_.details["shape_line"].startswith(f"{len(held)} real images")
    plain, _ = fit_quietly(GANAugmenter(**TINY, epochs=2, random_state=7), X[kept], y[kept])
    assert plain.quality_score_ is None
    assert [h["loss_d"] for h in plain.history_] == [h["loss_d"] for h in gated.history_]
    a, b = gated.sample(30), plain.sample(30)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    # Same seed, same gate score.
    again, _ = fit_quietly(GANAugmenter(**TINY, epochs=2, validation_fraction=0.25, random_state=7), X, y)
    assert again.quality_score_ == gated.quality_score_


def test_a_resumed_gated_image_fit_matches_an_uninterrupted_one(digits, tmp_path, on_epoch, monkeypatch, quick_gate):
    X, y = digits
    params = dict(**TINY, epochs=4, checkpoint_every=1, validation_fraction=0.2, random_state=0)
    straight, _ = fit_quietly(GANAugmenter(**params), X, y)
    on_epoch(crash_at(3))
    with pytest.raises(RuntimeError, match="simulated crash"):
        GANAugmenter(**params, checkpoint_dir=tmp_path).fit(X, y)
    monkeypatch.undo()
    monkeypatch.setattr(fitting_module, "GATE_EXTRACTOR_STEPS", 200)  # undone with the crash: the same gate again
    resumed, _ = fit_quietly(GANAugmenter(**params, checkpoint_dir=tmp_path), X, y)
    assert len(resumed.history_) == 4
    assert resumed.quality_score_ == straight.quality_score_
    np.testing.assert_array_equal(resumed.sample(20)[0], straight.sample(20)[0])


def test_image_gate_needs_enough_held_out_images(digits):
    X, y = digits
    with pytest.raises(ValueError, match="validation_fraction=0.1 of 30 images leaves 27 images to train on and 3 "
                                         "to check; both need at least 6"):
        GANAugmenter(**TINY, epochs=1, validation_fraction=0.1).fit(X[:30])
    with pytest.raises(ValueError, match="min_quality"):
        GANAugmenter(**TINY, epochs=1, min_quality=1.5).fit(X, y)
