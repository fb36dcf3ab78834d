"""Pairwise association of columns, for the correlation-difference heatmap.

SDMetrics' pair trends score only the pairs whose real association passes
its threshold; the heatmap of the report shows every pair instead. Numeric
pairs use the Pearson correlation; any pair with a categorical column uses
Cramer's V, numeric columns being cut into quantile bins of the real table
first (missing values are a bin of their own).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._frames import _labels, _numbers, column_kind

__all__ = ["association_matrices"]


def _codes(real: pd.Series, other: pd.Series, bins: int):
    """Integer codes of both series on the real series' levels or quantile bins."""
    if column_kind(real) == "categorical":
        levels = pd.Index(_labels(real).dropna().unique())
        out = []
        for s in (real, other):
            c = levels.get_indexer(_labels(s))
            c[c < 0] = len(levels)  # missing or unseen level
            out.append(c)
        return out
    r = _numbers(real)
    finite = r[np.isfinite(r)]
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])) if finite.size else np.array([])
    out = []
    for values in (r, _numbers(other)):
        c = np.searchsorted(edges, values, side="right")
        c[~np.isfinite(values)] = len(edges) + 1
        out.append(c)
    return out


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    k, m = a.max() + 1, b.max() + 1
    if min(k, m) < 2:
        return 0.0
    table = np.bincount(a * m + b, minlength=k * m).reshape(k, m).astype(np.float64)
    n = table.sum()
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    mask = expected > 0
    chi2 = ((table - expected)[mask] ** 2 / expected[mask]).sum()
    return float(np.sqrt(chi2 / (n * (min(k, m) - 1))))


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return 0.0
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def association_matrices(real: pd.DataFrame, synthetic: pd.DataFrame, *, bins: int = 10):
    """``(real_matrix, synthetic_matrix)`` of pairwise associations (diagonal 1)."""
    columns = list(real.columns)
    numeric = [column_kind(real[c]) != "categorical" for c in columns]
    codes = [_codes(real[c], synthetic[c], bins) for c in columns]
    values = [(_numbers(real[c]), _numbers(synthetic[c])) if is_num else None for c, is_num in zip(columns, numeric)]
    size = len(columns)
    matrices = [np.eye(size), np.eye(size)]
    for i in range(size):
        for j in range(i + 1, size):
            for t in (0, 1):
                if numeric[i] and numeric[j]:
                    v = _pearson(values[i][t], values[j][t])
                else:
                    v = _cramers_v(codes[i][t], codes[j][t])
                matrices[t][i, j] = matrices[t][j, i] = v
    return matrices[0], matrices[1]
