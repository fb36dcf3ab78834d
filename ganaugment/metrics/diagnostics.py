"""Post-fit checks that a generator covers what it learned.

Pure functions of tables: they never import training code, so tabular and
image estimators (and their callers) can run them on any sample.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._validation import caller_stacklevel
from ._frames import _labels, column_kind

__all__ = ["ModeCollapseWarning", "never_generated", "warn_mode_collapse"]


class ModeCollapseWarning(RuntimeWarning):
    """A category or class that the real data holds often was never generated."""


def never_generated(real: pd.DataFrame, synthetic: pd.DataFrame, *, columns=None,
                    min_expected: float = 10.0, weights=None) -> dict:
    """Levels of categorical columns that the synthetic table never holds.

    Only levels frequent enough to be expected at least ``min_expected`` times
    in a synthetic table of this size are reported, so that a rare level
    missing by chance is not mistaken for collapse (for a level expected 10
    times, the chance of never drawing it from a faithful generator is below
    5e-5). With ``weights`` (the real rows' weights in the fit), a level's
    share is its share of the total weight.

    Returns
    -------
    missing : dict {column: list of levels}
        Only columns with at least one missing level.
    """
    if columns is None:
        columns = [c for c in real.columns if column_kind(real[c]) == "categorical"]
    out = {}
    n = len(synthetic)
    for name in columns:
        # Shares of all rows' weight (each row weighs 1 without weights), missing values included.
        labels = _labels(real[name])
        mass = pd.Series(1.0 if weights is None else np.asarray(weights, dtype=np.float64), index=real.index)
        share = mass[labels.notna()].groupby(labels.dropna()).sum() / mass.sum()
        expected = share[share * n >= min_expected]
        produced = set(_labels(synthetic[name]).dropna())
        lost = [level for level in expected.index if level not in produced]
        if lost:
            out[name] = lost
    return out


def warn_mode_collapse(real: pd.DataFrame, synthetic: pd.DataFrame, *, columns=None, stacklevel: int | None = None,
                       weights=None) -> dict:
    """Warn with :class:`ModeCollapseWarning` when :func:`never_generated` finds levels.

    The warning names the first caller outside ganaugment and scikit-learn,
    unless ``stacklevel`` (counted from the caller of this function) is given.
    """
    missing = never_generated(real, synthetic, columns=columns, weights=weights)
    if missing:
        listing = "; ".join(
            f"{col!r}: {', '.join(map(repr, levels[:5]))}{' ...' if len(levels) > 5 else ''}"
            for col, levels in missing.items()
        )
        warnings.warn(
            f"Mode collapse: in {len(synthetic)} generated rows these frequent real levels never appear: "
            f"{listing}. Train longer, raise pac, or check the fidelity report.",
            ModeCollapseWarning,
            stacklevel=caller_stacklevel() if stacklevel is None else stacklevel + 1,
        )
    return missing


def class_counts_missing(real_labels, synthetic_labels, *, min_expected: float = 10.0) -> list:
    """Classes expected at least ``min_expected`` times that are absent from ``synthetic_labels``."""
    real_labels = pd.Series(np.asarray(real_labels, dtype=object))
    share = real_labels.value_counts(normalize=True)
    produced = set(pd.Series(np.asarray(synthetic_labels, dtype=object)).tolist())
    n = len(synthetic_labels)
    return [c for c in share.index if share[c] * n >= min_expected and c not in produced]
