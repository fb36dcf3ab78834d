"""The image path of :class:`~ganaugment.GANAugmenter`: fit, generate, transform.

``GANAugmenter`` detects the data kind and calls these functions; they set
the estimator's fitted attributes (``codec_``, ``model_``, ``history_``, ...)
so that the estimator surface (``fit`` / ``sample`` / ``transform``, class
requests, ``random_state``, checkpoints, the fidelity gate) is the same for
tables and images.
"""

from __future__ import annotations

import inspect
import math
import time

import numpy as np
import pandas as pd
from sklearn.utils.validation import validate_data

from .._torch import resolve_device
from .._validation import check_sample_weight, check_target, kept_weights, seed_from
from ..metrics.gate import gate_holdout, run_image_gate
from ..training import train_resumable
from .codec import ImageCodec
from .model import ImageGAN

__all__ = ["IMAGE_STEPS", "IMAGE_BATCH_SIZE", "TABLE_ONLY", "image_schedule", "fit_images", "generate_images", "check_images"]

IMAGE_STEPS = 2500  # generator updates when ``epochs=None`` (rounded up to whole epochs)
IMAGE_BATCH_SIZE = 64  # images per step when ``batch_size=None``
# The discriminator sees the spread of its batch (a minibatch standard-deviation
# channel), which lets it notice a generator that draws one image per class.
IMAGE_MINIBATCH_STD = True
# ... measured within each class of the batch: across classes, a batch of one image per
# class still looks spread out (200 MNIST digits collapsed to one image per class without it).
IMAGE_CLASS_SPREAD = True
IMAGE_BASE_WIDTH = 32  # feature width at full resolution; doubles per halving, capped at 256
# The discriminator's differentiable augmentation (Zhao et al. 2020), applied to real and fake
# images alike in both training steps; see the ImageGAN docstring. From IMAGE_AUGMENT_BELOW
# training images on, these values hold (all off). Largest shift of the translation, as a
# fraction of the side (0: off): with shifts of 1/8, samples collapsed on load_digits; with the
# diversity term they no longer do, but load_digits samples still scored worse.
IMAGE_TRANSLATE = 0.0
# How translated-in borders are filled: "replicate" (edge pixels) or "background" (blank, -1).
IMAGE_TRANSLATE_PAD = "replicate"
# Side of the square that the cutout blanks, as a fraction of the image side (0: off).
IMAGE_CUTOUT = 0.0
# Random brightness and contrast (off: on 200 MNIST digits it made worse-looking digits, 77-84%
# of them passing the classifier filter against 92-95% without it, for no gain downstream).
IMAGE_COLOR = False
# With fewer training images than IMAGE_AUGMENT_BELOW, the discriminator overfits them and the
# policy "translation, cutout" of the paper is on instead (IMAGE_SMALL_DATA_AUGMENT). On 200
# MNIST digits (validation seeds 3-5) it gave clean strokes and backgrounds (92-95% of the
# candidates passed the classifier filter, against 72-89% without it), and 50 filtered GAN
# images per class cost a CNN 0.6 points instead of 1.9 (docs/benchmarks.md). On load_digits
# (1,797 images) it hurt: Frechet distance 13.7 against 5.8, coverage 0.56 against 0.75. The
# cut-off lies between the two measured sizes; sizes in between were not measured.
IMAGE_AUGMENT_BELOW = 1000
IMAGE_SMALL_DATA_AUGMENT = {"translate": 0.125, "translate_pad": "background", "cutout": 0.5}
# Weight of the generator's diversity term: two images of one class drawn from different noise
# must differ (mean absolute pixel difference) as much as two real images of that class do.
IMAGE_DIVERSITY = 1.0

# Parameters that only shape the tabular model: changing one with image data
# would silently do nothing, so it is an error instead. (Generated images always
# stay in the training value range, and there are no levels to calibrate.)
TABLE_ONLY = (
    "generator_dim",
    "discriminator_dim",
    "pac",
    "dropout",
    "tau",
    "max_modes",
    "max_categories",
    "categorical_features",
    "condition_columns",
    "clip",
    "calibrate",
    "max_detection_auc",
)
# Fitted attributes that only a table fit sets: an image fit of an estimator
# fitted on a table before drops them, so that none describes the old table
# (get_feature_names_out would give its column names).
TABLE_FITTED = ("feature_names_in_", "encoder_", "_input_kind")
# Fewest held-out images the fidelity gate accepts: coverage needs more than
# nearest_k (5) images on each side.
GATE_MIN_IMAGES = 6
# Training steps of the gate's feature CNN (as for image_fidelity's own extractor).
GATE_EXTRACTOR_STEPS = 1000


def _check_table_only(estimator) -> None:
    defaults = inspect.signature(type(estimator).__init__).parameters
    changed = [
        name
        for name in TABLE_ONLY
        if name in defaults and _differs(getattr(estimator, name), defaults[name].default)
    ]
    if changed:
        raise ValueError(
            f"{', '.join(changed)} only apply to tables, but X holds images; leave them at their defaults "
            "(the image network is sized from the image shape, generated images always stay in the training "
            "value range, calibration is for table levels, and the image gate checks min_quality only)."
        )


def _differs(value, default) -> bool:
    if isinstance(default, tuple) and isinstance(value, (tuple, list)):
        return tuple(value) != default
    return value != default


def image_schedule(estimator, n_images: int, epochs) -> tuple:
    """``(batch size, steps per epoch, epochs)`` for ``n_images`` training images.

    ``epochs=None`` gives as many epochs as make ``IMAGE_STEPS`` steps.
    """
    batch = min(IMAGE_BATCH_SIZE if estimator.batch_size is None else int(estimator.batch_size), n_images)
    steps_per_epoch = max(1, n_images // max(batch, 1))
    epochs = math.ceil(IMAGE_STEPS / steps_per_epoch) if epochs is None else int(epochs)
    return batch, steps_per_epoch, epochs


def fit_images(estimator, X, y, sample_weight=None) -> None:
    """Fit ``estimator``'s image GAN on ``X`` (optionally conditioned on ``y``).

    The steps are those of the table fit: open the checkpoint (resuming from
    it when ``checkpoint_dir`` holds one), hold out ``validation_fraction``
    of the images for the fidelity gate (stratified by class), train with
    checkpoints, then score the generator on the held-out images.
    """
    _check_table_only(estimator)
    started = time.perf_counter()
    codec = ImageCodec(image_shape=estimator.image_shape).fit(X)
    images = codec.transform(X)
    if len(images) < 2:
        raise ValueError(f"Found n_samples = {len(images)}: a GAN needs at least 2 images to learn a distribution.")
    classes, class_codes = (None, None) if y is None else check_target(y, len(images), estimator=estimator)
    weights = check_sample_weight(sample_weight, len(images), class_codes, classes)
    raw = ImageCodec._as_array(X)  # the images as given: fingerprinted, and what the gate compares
    checkpointer, resumed = estimator._open_checkpoint(raw, y, weights)
    for name in TABLE_FITTED:
        if hasattr(estimator, name):
            delattr(estimator, name)
    # Flat rows given as a DataFrame (load_digits(as_frame=True).data): generated images come back
    # as a DataFrame with its columns, and transform checks the column names, as for tables.
    estimator._image_columns = None
    if isinstance(X, pd.DataFrame):
        validate_data(estimator, X, reset=True, skip_check_array=True)  # feature_names_in_, for text names
        estimator._image_columns = list(X.columns)
    estimator.codec_ = codec
    estimator.classes_ = classes
    estimator._y_dtype = None if y is None else np.asarray(y).dtype
    estimator.n_features_in_ = int(np.prod(np.shape(X)[1:]))
    estimator._reset_gate()
    # A resumed fit replays the seed of the fit it resumes: same draws, same result.
    seed = seed_from(estimator.random_state) if resumed is None else checkpointer.seed
    rng = np.random.default_rng(seed)
    check_rng, kept, held = gate_holdout(estimator, len(images), seed, y=class_codes, min_rows=GATE_MIN_IMAGES,
                                         what="images")
    validation = None
    if held is not None:
        validation = (raw[held], None if class_codes is None else class_codes[held])
        raw, images = raw[kept], images[kept]
        class_codes = None if class_codes is None else class_codes[kept]
        weights = kept_weights(weights, kept, class_codes, classes)
    estimator.device_ = resolve_device(estimator.device)
    n_classes = 0 if classes is None else len(classes)
    params = {
        "noise_dim": int(estimator.noise_dim),
        "base_width": IMAGE_BASE_WIDTH,
        "translate": IMAGE_TRANSLATE,
        "translate_pad": IMAGE_TRANSLATE_PAD,
        "cutout": IMAGE_CUTOUT,
        "color": IMAGE_COLOR,
        "minibatch_std": IMAGE_MINIBATCH_STD,
        "class_spread": IMAGE_CLASS_SPREAD,
        "diversity": IMAGE_DIVERSITY,
    }
    if len(images) < IMAGE_AUGMENT_BELOW:
        params.update(IMAGE_SMALL_DATA_AUGMENT)
    model_seed = int(rng.integers(2**63 - 1))
    if resumed is None:
        model = ImageGAN(codec.shape_, n_classes, params, estimator.device_, model_seed)
    else:
        model = resumed.model_
    estimator.model_ = model
    # Training draws from the model's own torch generator, never from rng, so this is the
    # generator an uninterrupted fit ends with too; set now so that a checkpoint can sample.
    estimator._sample_rng = np.random.default_rng(int(rng.integers(2**63 - 1)))
    estimator.encode_seconds_ = time.perf_counter() - started
    batch, steps_per_epoch, epochs = image_schedule(estimator, len(images), estimator.epochs)
    if resumed is not None:
        estimator._refuse_checkpoint_beyond(checkpointer, epochs)
    config = estimator._training_config(
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        batch_size=batch,
        description="GANAugmenter (images)",
        betas=(0.5, 0.999),
    )
    estimator.history_ = [] if resumed is None else list(resumed.history_)
    model.set_training_data(images, class_codes, weights)
    train_resumable(model, config, estimator.history_, checkpointer, resumed is not None, seed)
    estimator.fit_seconds_ = time.perf_counter() - started
    _check_image_fit(estimator, raw, class_codes, validation, check_rng)


def _check_image_fit(estimator, train, train_codes, validation, rng) -> None:
    """The fidelity gate of an image fit (when it is on): generated against held-out images.

    As many images are generated as were held out, with the held-out images'
    classes, from ``rng`` (the gate's own stream), so that the score compares
    sets of equal size and class mix and the model's sampling stream is left
    untouched.
    """
    if validation is None:
        return
    held, held_codes = validation
    model = estimator.model_
    generated = model.sample(held_codes if model.n_classes else None, len(held), seed=int(rng.integers(2**63 - 1)))
    synthetic = estimator.codec_.inverse_transform(generated)
    report, passed = run_image_gate(
        train, held, synthetic,
        y_train=train_codes, y_held=held_codes, y_synthetic=held_codes if model.n_classes else None,
        image_shape=estimator.image_shape, min_quality=estimator.min_quality,
        on_low_quality=estimator.on_low_quality, history=estimator.history_, extractor_steps=GATE_EXTRACTOR_STEPS,
        random_state=int(rng.integers(2**31 - 1)),
    )
    estimator.quality_score_, estimator.fidelity_report_, estimator.gate_passed_ = report.quality_score, report, passed
    estimator._fallback = not passed and estimator.on_low_quality == "fallback"


def generate_images(estimator, n_samples: int, class_codes, rng=None):
    """``(images in the input layout, class codes)`` for ``n_samples`` images.

    Without requested classes, classes are drawn with the training frequencies
    (fixed when the model is unconditional: ``None``). ``rng`` (None: the
    model's own stream) seeds the draws.
    """
    rng = estimator._sample_rng if rng is None else rng
    model = estimator.model_
    if class_codes is None and model.n_classes:
        class_codes = rng.choice(model.n_classes, size=n_samples, p=model.class_frequencies)
    images = model.sample(class_codes, n_samples, seed=int(rng.integers(2**63 - 1)))
    return as_output(estimator, estimator.codec_.inverse_transform(images)), class_codes


def as_output(estimator, images: np.ndarray):
    """Images in the container of the training X: a DataFrame with its columns for flat rows
    fitted from a DataFrame, else the array as the codec lays it out."""
    columns = getattr(estimator, "_image_columns", None)
    return images if columns is None else pd.DataFrame(images, columns=columns)


def check_images(estimator, X) -> int:
    """Validate images given to ``transform``; returns how many there are."""
    if isinstance(X, pd.DataFrame) and hasattr(estimator, "feature_names_in_"):
        validate_data(estimator, X, reset=False, skip_check_array=True)  # the column names seen at fit
    images = estimator.codec_.transform(X)
    if len(images) == 0:
        raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
    return len(images)
