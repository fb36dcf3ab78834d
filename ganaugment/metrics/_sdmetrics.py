"""Every call into SDMetrics lives here.

SDMetrics deprecated its single-table report classes in favour of unified
reports that take ``{"tables": {...}}`` metadata; this module uses the unified
API of the pinned version and keeps SDMetrics' own warnings away from users.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd

from .._validation import caller_stacklevel, is_dates
from .gate import FidelityWarning

__all__ = ["infer_metadata", "quality_and_diagnostic"]

_DETAIL_NAMES = {
    "Column": "column",
    "Column 1": "column_1",
    "Column 2": "column_2",
    "Metric": "metric",
    "Score": "score",
    "Real Correlation": "real_correlation",
    "Synthetic Correlation": "synthetic_correlation",
    "Error": "error",
}

TABLE = "table"
# SDMetrics scores a pair of categorical columns on this many rows of each table when either
# is longer, drawn with pandas' sample(), that is from numpy's global random state.
SUBSAMPLED_PAIRS_ABOVE = 50_000


def infer_metadata(frame: pd.DataFrame) -> dict:
    """SDMetrics metadata for one table: numbers are numerical, the rest categorical."""
    columns = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col):
            columns[str(name)] = {"sdtype": "boolean"}
        elif is_dates(col.dtype):
            columns[str(name)] = {"sdtype": "datetime"}
        elif pd.api.types.is_numeric_dtype(col):
            columns[str(name)] = {"sdtype": "numerical"}
        else:
            columns[str(name)] = {"sdtype": "categorical"}
    return {"tables": {TABLE: {"columns": columns}}}


def _string_columns(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns=str)


@contextlib.contextmanager
def _global_numpy_seed(seed: int):
    """Seed numpy's global random state for SDMetrics' own draws, then give the caller's back."""
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(saved)


def quality_and_diagnostic(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict | None = None, *, seed: int = 0,
    diagnostic_real: pd.DataFrame | None = None,
) -> dict:
    """Run SDMetrics' QualityReport and DiagnosticReport; return scores and the reports.

    ``diagnostic_real`` (default: ``real``) is the real table that the
    DiagnosticReport, and the inferred metadata, read: where ``real`` is a
    weighted resample, its ranges and levels are narrower than the data's.

    Besides the scores, ``column_shape_details`` (one row per column: metric,
    score) and ``pair_trend_details`` (one row per column pair: metric, score
    and the real and synthetic correlations where SDMetrics computes them)
    come from the reports' detail tables.

    The synthetic columns are first read as the kind of the real column
    (:func:`~ganaugment.metrics._frames.match_kinds`: numbers or dates stored
    as text). The scores are then SDMetrics' own, with one exception:
    SDMetrics cannot score a column whose synthetic values are all missing
    (the real ones not) and leaves it out of its means, which would reward a
    generator for dropping a column. Such a column's shape scores 0, and so does each of its pairs whose real
    correlation SDMetrics would score; ``column_shapes``,
    ``column_pair_trends`` and ``quality_score`` are recomputed the way
    SDMetrics computes them. Any other column that SDMetrics leaves unscored
    is named in a :class:`~ganaugment.metrics.FidelityWarning`. ``notes``
    says what was converted or scored 0.

    Past :data:`SUBSAMPLED_PAIRS_ABOVE` rows SDMetrics scores each pair of
    categorical columns on a draw of that many rows, taken from numpy's
    global random state; the reports run with that state seeded from
    ``seed`` and the caller's state is put back afterwards, so the same
    inputs and seed give the same scores and the caller's draws are
    untouched.
    """
    from sdmetrics.reports import DiagnosticReport, QualityReport

    from ._frames import match_kinds

    real = _string_columns(real)
    diagnostic_real = real if diagnostic_real is None else _string_columns(diagnostic_real)
    synthetic, converted = match_kinds(real, _string_columns(synthetic))
    notes = [conversion_note("synthetic", name, bad) for name, bad in converted.items()]
    if metadata is None:
        metadata = infer_metadata(diagnostic_real)
    if max(len(real), len(synthetic)) > SUBSAMPLED_PAIRS_ABOVE:
        notes.append(
            f"SDMetrics scored each pair of categorical columns on {SUBSAMPLED_PAIRS_ABOVE:,} rows drawn from each "
            "table longer than that; every other SDMetrics score uses every row."
        )
    with warnings.catch_warnings(), _global_numpy_seed(seed):
        warnings.simplefilter("ignore")
        quality = QualityReport()
        quality.generate({TABLE: real}, {TABLE: synthetic}, metadata, verbose=False)
        diagnostic = DiagnosticReport()
        diagnostic.generate({TABLE: diagnostic_real}, {TABLE: synthetic}, metadata, verbose=False)
        q_props = quality.get_properties().set_index("Property")["Score"]
        d_props = diagnostic.get_properties().set_index("Property")["Score"]
        shapes = quality.get_details("Column Shapes")
        pairs = quality.get_details("Column Pair Trends")
    scores = {
        "quality_score": float(quality.get_score()),
        "column_shapes": float(q_props.get("Column Shapes", float("nan"))),
        "column_pair_trends": float(q_props.get("Column Pair Trends", float("nan"))),
    }
    empty = [
        name for name in real.columns
        if synthetic[name].isna().all() and real[name].notna().any() and _shape_missing(shapes, name)
    ]
    if empty:
        shapes, pairs = _score_empty_columns(shapes, pairs, empty, real, quality)
        scores = _quality_scores(shapes, pairs)
        for name in empty:
            notes.append(
                f"Every synthetic value of column {name!r} is missing: SDMetrics cannot score it, so its shape "
                "(and each of its pairs with a real correlation SDMetrics scores) counts 0."
            )
    n_pairs, n_scored = len(pairs), int(pairs["Score"].notna().sum()) if "Score" in pairs else 0
    if n_pairs and n_scored < n_pairs:
        # SDMetrics scores a pair only where the real table's correlation or association is strong enough.
        notes.append(
            f"SDMetrics scored {n_scored} of {n_pairs} column pairs (those whose real correlation or association "
            "passes its threshold); column_pair_trends averages those"
            + (", and with none, quality_score is the column shapes score alone." if n_scored == 0 else ".")
        )
    unscored = [name for name in real.columns if name not in empty and _shape_missing(shapes, name)]
    if unscored:
        reasons = "; ".join(f"{name!r}: {_shape_error(shapes, real, synthetic, name).rstrip('.')}" for name in unscored)
        warnings.warn(
            f"SDMetrics could not score the shape of column(s) {unscored} ({reasons}); they are left out of "
            "column_shapes and quality_score.",
            FidelityWarning, stacklevel=caller_stacklevel(),
        )
    return {
        **scores,
        "diagnostic_score": float(diagnostic.get_score()),
        "diagnostic_properties": {k: float(v) for k, v in d_props.items()},
        "column_shape_details": _tidy(shapes),
        "pair_trend_details": _tidy(pairs),
        "quality_report": quality,
        "diagnostic_report": diagnostic,
        "metadata": metadata,
        "notes": notes,
    }


def conversion_note(table: str, name, unreadable: int) -> str:
    """The report note for a column that :func:`~ganaugment.metrics._frames.match_kinds` converted."""
    note = f"{table} column {name!r} was read as the kind of the real column"
    if unreadable:
        note += f"; {unreadable} value(s) could not be read and count as missing"
    return note + "."


def _shape_missing(shapes: pd.DataFrame, name) -> bool:
    """True when SDMetrics gave column ``name`` no shape score (a NaN row or no row)."""
    row = shapes.loc[shapes["Column"] == name, "Score"] if len(shapes) else pd.Series(dtype=float)
    # Columns of an sdtype SDMetrics does not score (ids, say) have no row: not a failure.
    return len(row) > 0 and bool(row.isna().all())


def _shape_error(shapes: pd.DataFrame, real, synthetic, name) -> str:
    if real[name].isna().all():
        both = " (and every synthetic one)" if synthetic[name].isna().all() else ""
        return f"every real value is missing{both}, so there is no shape to compare with"
    if "Error" in shapes:
        error = shapes.loc[shapes["Column"] == name, "Error"].dropna()
        if len(error):
            return str(error.iloc[0])
    return "no score"


def _score_empty_columns(shapes, pairs, empty, real, quality):
    """Shapes and pair details with 0 for the columns the synthetic table holds no value of."""
    from sdmetrics.column_pairs import CorrelationSimilarity

    shapes = shapes.copy()
    shapes.loc[shapes["Column"].isin(empty), "Score"] = 0.0
    if len(pairs) == 0:
        return shapes, pairs
    pairs = pairs.copy()
    threshold = getattr(quality, "real_correlation_threshold", 0)
    touched = (pairs["Column 1"].isin(empty) | pairs["Column 2"].isin(empty)) & pairs["Score"].isna()
    for i in pairs.index[touched & (pairs["Metric"] == "CorrelationSimilarity")]:
        # SDMetrics failed before computing the real correlation: compute it on the real rows
        # alone, with the report's threshold, to know whether the pair counts.
        a, b = pairs.at[i, "Column 1"], pairs.at[i, "Column 2"]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                corr = CorrelationSimilarity.compute_breakdown(real[[a, b]], real[[a, b]])["real"]
        except Exception:  # a constant or too short real column: SDMetrics would not score the pair either
            continue
        if abs(corr) > threshold:
            pairs.at[i, "Score"] = 0.0
            pairs.at[i, "Real Correlation"] = corr
            if "Meets Threshold?" in pairs:
                pairs.at[i, "Meets Threshold?"] = True
    return shapes, pairs


def _quality_scores(shapes: pd.DataFrame, pairs: pd.DataFrame) -> dict:
    """QualityReport's three scores from its (edited) details, computed as SDMetrics computes them."""
    column_shapes = float(shapes["Score"].mean()) if len(shapes) else np.nan
    if len(pairs) and "Meets Threshold?" in pairs:
        counted = pairs["Meets Threshold?"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        column_pair_trends = float(pairs.loc[counted, "Score"].mean())
    else:
        column_pair_trends = float(pairs["Score"].mean()) if len(pairs) else np.nan
    present = [s for s in (column_shapes, column_pair_trends) if not np.isnan(s)]
    return {
        "quality_score": float(np.mean(present)) if present else np.nan,
        "column_shapes": column_shapes,
        "column_pair_trends": column_pair_trends,
    }


def _tidy(details: pd.DataFrame) -> pd.DataFrame:
    """A report's per-column or per-pair table with snake_case names, no table column."""
    if details is None or len(details) == 0:
        return pd.DataFrame(columns=["metric", "score"])
    keep = [c for c in details.columns if c in _DETAIL_NAMES]
    return details[keep].rename(columns=_DETAIL_NAMES).reset_index(drop=True)
