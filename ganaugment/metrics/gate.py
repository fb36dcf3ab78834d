"""The fidelity gate: score a fitted generator on held-out rows before use.

The gate is three plain steps that any estimator can call (GANAugmenter does;
an over-sampler can do the same):

1. :func:`holdout_split` sets aside part of the training rows before fit;
2. after fit, the estimator generates a sample (GANAugmenter: as many rows
   as it trained on, between 1,000 and 20,000) and
   :func:`run_gate` scores them against the held-out rows with
   :func:`~ganaugment.evaluate` (quality measured out of sample, so a
   generator that memorises its training rows gains nothing);
3. :func:`run_gate` applies the thresholds: below ``min_quality`` (or, for
   tables, with a detection AUC above ``max_detection_auc``) it warns, raises
   :class:`LowFidelityError`, or (``"fallback"``) warns and tells the
   estimator to hand out no synthetic rows.

Images take the same three steps with :func:`run_image_gate` in place of
:func:`run_gate`: held-out images are scored with the offline image metrics
(:mod:`ganaugment.images.metrics`) and the image quality score defined by
:func:`~ganaugment.images.metrics.image_quality_score`; the threshold is
applied by the same :func:`apply_threshold`.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._validation import caller_stacklevel

__all__ = [
    "FidelityWarning",
    "LowFidelityError",
    "holdout_split",
    "gate_holdout",
    "check_gate_params",
    "run_gate",
    "run_image_gate",
    "apply_threshold",
    "failed_thresholds",
    "DEFAULT_VALIDATION_FRACTION",
]

DEFAULT_VALIDATION_FRACTION = 0.2
ON_LOW_QUALITY = ("warn", "raise", "fallback")


class FidelityWarning(UserWarning):
    """The fitted generator scored below ``min_quality`` (or a fallback is in use)."""


class LowFidelityError(RuntimeError):
    """Raised by the gate with ``on_low_quality="raise"`` when quality is below ``min_quality``."""

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report


def check_gate_params(validation_fraction, min_quality, on_low_quality, max_detection_auc=None):
    """Validate the gate parameters; returns the validation fraction to use (0.0 = gate off)."""
    for name, value in (("min_quality", min_quality), ("max_detection_auc", max_detection_auc)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1):
            raise ValueError(f"{name} must be None or a float in [0, 1], got {value!r}.")
    if on_low_quality not in ON_LOW_QUALITY:
        raise ValueError(f"on_low_quality must be one of {ON_LOW_QUALITY}, got {on_low_quality!r}.")
    if validation_fraction is None:
        thresholds = min_quality is not None or max_detection_auc is not None
        return DEFAULT_VALIDATION_FRACTION if thresholds else 0.0
    if isinstance(validation_fraction, bool) or not isinstance(validation_fraction, numbers.Real) \
            or not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be None or a float in (0, 1), got {validation_fraction!r}.")
    return float(validation_fraction)


def gate_holdout(estimator, n_rows: int, seed: int, *, y=None, min_rows: int = 2, what: str = "rows"):
    """The fidelity gate's random stream and hold-out for a fit of ``estimator`` seeded with ``seed``.

    The gate draws from its own stream (``[seed, 1]``), so a fit with the
    gate off draws exactly what it drew before the gate existed. Returns
    ``(rng, kept, held)``: the stream (the gate's later draws continue it)
    and the positions of the training and held-out rows, both None when the
    gate is off (see :func:`check_gate_params` and :func:`holdout_split`).
    """
    rng = np.random.default_rng([seed, 1])
    fraction = check_gate_params(
        estimator.validation_fraction, estimator.min_quality, estimator.on_low_quality,
        getattr(estimator, "max_detection_auc", None),
    )
    if not fraction:
        return rng, None, None
    kept, held = holdout_split(n_rows, fraction, rng, y=y, min_rows=min_rows, what=what)
    return rng, kept, held


def holdout_split(n_rows: int, fraction: float, rng: np.random.Generator, *, y=None, min_rows: int = 2,
                  what: str = "rows"):
    """Positions of the training rows and of the held-out rows.

    With ``y``, every class keeps about ``fraction`` of its rows aside (and at
    least one row on each side when it has two or more; a class of one row
    is only learned), so a rare class is both learned and checked. Raises
    ValueError when either side would hold fewer than ``min_rows`` rows.
    """
    if y is None:
        order = rng.permutation(n_rows)
        n_out = int(round(n_rows * fraction))
        held = order[:n_out]
    else:
        codes = np.unique(np.asarray(y), return_inverse=True)[1].ravel()
        held = []
        for c in range(codes.max() + 1):
            rows = rng.permutation(np.flatnonzero(codes == c))
            n_out = int(round(len(rows) * fraction))
            # At least one row on each side; the only row of a class is learned, not held out.
            n_out = min(max(n_out, 1), len(rows) - 1)
            held.append(rows[:n_out])
        held = np.concatenate(held)
    held = np.sort(held)
    train = np.setdiff1d(np.arange(n_rows), held)
    if len(held) < min_rows or len(train) < min_rows:
        raise ValueError(
            f"validation_fraction={fraction} of {n_rows} {what} leaves {len(train)} {what} to train on and "
            f"{len(held)} to check; both need at least {min_rows}. Use more {what} or another fraction."
        )
    return train, held


def run_gate(validation, synthetic, *, min_quality, on_low_quality, max_detection_auc=None, model=None,
             metadata=None, random_state=0, stacklevel=None, sample_weight=None):
    """Score ``synthetic`` against the held-out ``validation`` rows and apply the thresholds.

    ``sample_weight``: the weights of the held-out rows, when the model was
    fitted with weights; the scores then compare with the weighted
    population, as :func:`~ganaugment.metrics.evaluate` does.

    Returns
    -------
    report : FidelityReport
        Its figures are already drawn (PNG bytes), so the report holds no
        rows of ``validation`` and can be kept by a fitted model.
    passed : bool
        True when the quality score reaches ``min_quality`` and the detection
        AUC does not exceed ``max_detection_auc`` (a None threshold always
        passes). With ``on_low_quality="warn"`` or ``"fallback"`` a failure also emits
        a :class:`FidelityWarning`; with ``"raise"`` it raises
        :class:`LowFidelityError` carrying the report.
    """
    from .evaluate import NO_PRIVACY_NOTE, evaluate

    report = evaluate(
        validation, synthetic, metadata=metadata, model=model, random_state=random_state, sample_weight=sample_weight
    )
    report.title = "Fidelity gate report (synthetic vs held-out rows)"
    # The generator never saw these rows: there is no training table here to check copies against.
    report.notes = [note for note in report.notes if note != NO_PRIVACY_NOTE]
    report.scores.pop("exact_copy_share", None)
    report.sections.pop("exact_copy_share", None)
    # A fitted model keeps this report: draw its figures now so it holds no real rows.
    report.render_figures()
    passed = apply_threshold(
        report, len(validation), min_quality=min_quality, on_low_quality=on_low_quality,
        max_detection_auc=max_detection_auc, stacklevel=stacklevel,
    )
    return report, passed


def run_image_gate(train, held, synthetic, *, y_train=None, y_held=None, y_synthetic=None, image_shape=None,
                   min_quality, on_low_quality, history=None, extractor_steps=1000, random_state=0,
                   stacklevel=None):
    """Score generated images against held-out images and apply the threshold.

    A small CNN is trained on the generator's training images ``train``
    (on ``y_train`` when given, else on the label-free flip task; see
    :func:`~ganaugment.images.metrics.fit_feature_extractor`); on its
    features the held-out images ``held`` and the generated ``synthetic``
    ones are compared with :func:`~ganaugment.images.metrics.image_fidelity`,
    and :func:`~ganaugment.images.metrics.image_quality_score` turns the
    figures into the report's ``quality_score``.

    Parameters
    ----------
    train, held, synthetic : arrays of images in one layout
        Any layout :class:`~ganaugment.ImageCodec` accepts (flat rows need
        ``image_shape``). ``synthetic`` should hold as many images as
        ``held``, with the classes of ``held``: coverage depends on both
        counts.
    y_train, y_held, y_synthetic : array-like or None
        Classes of the three sets (all or none).
    history : list of dict, default=None
        The fitted model's ``history_``, drawn as training curves.
    extractor_steps : int, default=1000
        Training steps of the feature CNN.

    Returns
    -------
    report : FidelityReport
        ``kind="image"``, with ``quality_score``, the image metrics and, with
        classes, ``real_class_accuracy``: the classifier's accuracy on the
        held-out real images, the most that ``class_accuracy`` can expect.
    passed : bool
        As for :func:`run_gate`.
    """
    from ..images.metrics import fit_feature_extractor, image_fidelity, image_quality_score
    from .report import FidelityReport

    extractor = fit_feature_extractor(
        train, y_train, image_shape=image_shape, steps=int(extractor_steps), holdout=0.0, random_state=random_state
    )
    figures = image_fidelity(held, synthetic, y_held, y_synthetic, extractor=extractor, image_shape=image_shape,
                             random_state=random_state)
    report = FidelityReport(kind="image", title="Fidelity gate report (synthetic vs held-out images)")
    report.add_scores({"quality_score": image_quality_score(figures)}, section="quality")
    report.add_scores(
        {k: figures[k] for k in ("class_accuracy", "coverage", "precision", "recall", "density", "frechet_distance")
         if figures[k] is not None},
        section="fidelity",
    )
    if y_held is not None:
        real_accuracy = float(np.mean(np.asarray(extractor.predict(held)) == np.asarray(y_held).ravel()))
        report.add_scores({"real_class_accuracy": real_accuracy}, section="reference")
    report.details["shape_line"] = f"{len(held)} real images, {len(synthetic)} synthetic images"
    report.notes.append(f"Features: {figures['extractor']}, trained on the {len(train)} training images.")
    if history:
        from .plots import training_curves

        report.add_figure("Training curves", lambda: training_curves(history))
    report.render_figures()
    passed = apply_threshold(
        report, len(held), min_quality=min_quality, on_low_quality=on_low_quality, what="images",
        stacklevel=stacklevel,
    )
    return report, passed


def failed_thresholds(report, *, min_quality, max_detection_auc=None) -> dict:
    """The gate thresholds that ``report`` fails, each with the figure that fails it
    (``{"min_quality": 0.412}``); empty when it passes. A None threshold never fails."""
    failed = {}
    if min_quality is not None and not report.quality_score >= min_quality:
        failed["min_quality"] = report.quality_score
    if max_detection_auc is not None and not report.detection_auc <= max_detection_auc:
        failed["max_detection_auc"] = report.detection_auc
    return failed


def apply_threshold(report, n_held: int, *, min_quality, on_low_quality, max_detection_auc=None, what: str = "rows",
                    stacklevel: int | None = None):
    """Compare ``report.quality_score`` with ``min_quality`` and ``report.detection_auc``
    with ``max_detection_auc``; True when both pass (a None threshold always does).

    On a failure: ``"raise"`` raises :class:`LowFidelityError`
    carrying the report; ``"warn"`` and ``"fallback"`` emit a
    :class:`FidelityWarning` and return False. The warning names the first
    caller outside ganaugment and scikit-learn, unless ``stacklevel``
    (counted from the caller of this function) is given.
    """
    failed = failed_thresholds(report, min_quality=min_quality, max_detection_auc=max_detection_auc)
    if not failed:
        return True
    failures, relax = [], []
    if "min_quality" in failed:
        failures.append(
            f"the generator's quality score on {n_held} held-out {what} is {failed['min_quality']:.3f}, "
            f"below min_quality={min_quality}"
        )
        relax.append("lower min_quality")
    if "max_detection_auc" in failed:
        failures.append(
            f"a classifier tells the generated {what} from {n_held} held-out {what} with ROC AUC "
            f"{failed['max_detection_auc']:.3f} (0.5: indistinguishable), above max_detection_auc={max_detection_auc}"
        )
        relax.append("raise max_detection_auc")
    message = "Fidelity gate: " + "; and ".join(failures) + "."
    if on_low_quality == "raise":
        hint = f" Train longer or {' and '.join(relax)}; the report is in .report."
        raise LowFidelityError(message + hint, report)
    if on_low_quality == "fallback":
        message += f" Falling back: the model hands out no synthetic {what}."
    warnings.warn(message, FidelityWarning, stacklevel=caller_stacklevel() if stacklevel is None else stacklevel + 1)
    return False
