"""The fidelity gate: score a fitted generator on held-out rows before use.

The gate is three plain steps that any estimator can call (GANAugmenter does;
an over-sampler can do the same):

1. :func:`holdout_split` sets aside part of the training rows before fit;
2. after fit, the estimator generates as many rows as were held out and
   :func:`run_gate` scores them against the held-out rows with
   :func:`~ganaugment.evaluate` (quality measured out of sample, so a
   generator that memorises its training rows gains nothing);
3. :func:`run_gate` applies the threshold: below ``min_quality`` it warns,
   raises :class:`LowFidelityError`, or (``"fallback"``) warns and tells the
   estimator to hand out no synthetic rows.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

__all__ = [
    "FidelityWarning",
    "LowFidelityError",
    "holdout_split",
    "check_gate_params",
    "run_gate",
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


def check_gate_params(validation_fraction, min_quality, on_low_quality):
    """Validate the gate parameters; returns the validation fraction to use (0.0 = gate off)."""
    if min_quality is not None:
        if isinstance(min_quality, bool) or not isinstance(min_quality, numbers.Real) or not 0 <= min_quality <= 1:
            raise ValueError(f"min_quality must be None or a float in [0, 1], got {min_quality!r}.")
    if on_low_quality not in ON_LOW_QUALITY:
        raise ValueError(f"on_low_quality must be one of {ON_LOW_QUALITY}, got {on_low_quality!r}.")
    if validation_fraction is None:
        return DEFAULT_VALIDATION_FRACTION if min_quality is not None else 0.0
    if isinstance(validation_fraction, bool) or not isinstance(validation_fraction, numbers.Real) \
            or not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be None or a float in (0, 1), got {validation_fraction!r}.")
    return float(validation_fraction)


def holdout_split(n_rows: int, fraction: float, rng: np.random.Generator, *, y=None, min_rows: int = 2):
    """Positions of the training rows and of the held-out rows.

    With ``y``, every class keeps about ``fraction`` of its rows aside (and at
    least one row on each side when it has two or more), so a rare class is
    both learned and checked. Raises ValueError when either side would hold
    fewer than ``min_rows`` rows.
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
            if len(rows) >= 2:
                n_out = min(max(n_out, 1), len(rows) - 1)
            held.append(rows[:n_out])
        held = np.concatenate(held)
    held = np.sort(held)
    train = np.setdiff1d(np.arange(n_rows), held)
    if len(held) < min_rows or len(train) < min_rows:
        raise ValueError(
            f"validation_fraction={fraction} of {n_rows} rows leaves {len(train)} rows to train on and "
            f"{len(held)} to check; both need at least {min_rows}. Use more rows or another fraction."
        )
    return train, held


def run_gate(validation, synthetic, *, min_quality, on_low_quality, model=None, metadata=None,
             random_state=0, stacklevel=3):
    """Score ``synthetic`` against the held-out ``validation`` rows and apply the threshold.

    Returns
    -------
    report : FidelityReport
        Its figures are already drawn (PNG bytes), so the report holds no
        rows of ``validation`` and can be kept by a fitted model.
    passed : bool
        True when ``min_quality`` is None or the quality score reaches it.
        With ``on_low_quality="warn"`` or ``"fallback"`` a failure also emits
        a :class:`FidelityWarning`; with ``"raise"`` it raises
        :class:`LowFidelityError` carrying the report.
    """
    from .evaluate import evaluate

    report = evaluate(validation, synthetic, metadata=metadata, model=model, random_state=random_state)
    report.title = "Fidelity gate report (synthetic vs held-out rows)"
    # A fitted model keeps this report: draw its figures now so it holds no real rows.
    report.render_figures()
    quality = report.quality_score
    if min_quality is None or quality >= min_quality:
        return report, True
    message = (
        f"Fidelity gate: the generator's quality score on {len(validation)} held-out rows is {quality:.3f}, "
        f"below min_quality={min_quality}."
    )
    if on_low_quality == "raise":
        raise LowFidelityError(message + " Train longer or lower min_quality; the report is in .report.", report)
    if on_low_quality == "fallback":
        message += " Falling back: the model hands out no synthetic rows."
    warnings.warn(message, FidelityWarning, stacklevel=stacklevel)
    return report, False
