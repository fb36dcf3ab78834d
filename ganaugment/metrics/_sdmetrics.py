"""Every call into SDMetrics lives here.

SDMetrics deprecated its single-table report classes in favour of unified
reports that take ``{"tables": {...}}`` metadata; this module uses the unified
API of the pinned version and keeps SDMetrics' own warnings away from users.
"""

from __future__ import annotations

import warnings

import pandas as pd

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


def infer_metadata(frame: pd.DataFrame) -> dict:
    """SDMetrics metadata for one table: numbers are numerical, the rest categorical."""
    columns = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col):
            columns[str(name)] = {"sdtype": "boolean"}
        elif pd.api.types.is_datetime64_any_dtype(col):
            columns[str(name)] = {"sdtype": "datetime"}
        elif pd.api.types.is_numeric_dtype(col):
            columns[str(name)] = {"sdtype": "numerical"}
        else:
            columns[str(name)] = {"sdtype": "categorical"}
    return {"tables": {TABLE: {"columns": columns}}}


def _string_columns(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns=str)


def quality_and_diagnostic(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict | None = None) -> dict:
    """Run SDMetrics' QualityReport and DiagnosticReport; return scores and the reports.

    Besides the scores, ``column_shape_details`` (one row per column: metric,
    score) and ``pair_trend_details`` (one row per column pair: metric, score
    and the real and synthetic correlations where SDMetrics computes them)
    come from the reports' detail tables.
    """
    from sdmetrics.reports import DiagnosticReport, QualityReport

    real = _string_columns(real)
    synthetic = _string_columns(synthetic)
    if metadata is None:
        metadata = infer_metadata(real)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quality = QualityReport()
        quality.generate({TABLE: real}, {TABLE: synthetic}, metadata, verbose=False)
        diagnostic = DiagnosticReport()
        diagnostic.generate({TABLE: real}, {TABLE: synthetic}, metadata, verbose=False)
        q_props = quality.get_properties().set_index("Property")["Score"]
        d_props = diagnostic.get_properties().set_index("Property")["Score"]
        shapes = quality.get_details("Column Shapes")
        pairs = quality.get_details("Column Pair Trends")
    return {
        "quality_score": float(quality.get_score()),
        "column_shapes": float(q_props.get("Column Shapes", float("nan"))),
        "column_pair_trends": float(q_props.get("Column Pair Trends", float("nan"))),
        "diagnostic_score": float(diagnostic.get_score()),
        "diagnostic_properties": {k: float(v) for k, v in d_props.items()},
        "column_shape_details": _tidy(shapes),
        "pair_trend_details": _tidy(pairs),
        "quality_report": quality,
        "diagnostic_report": diagnostic,
        "metadata": metadata,
    }


def _tidy(details: pd.DataFrame) -> pd.DataFrame:
    """A report's per-column or per-pair table with snake_case names, no table column."""
    if details is None or len(details) == 0:
        return pd.DataFrame(columns=["metric", "score"])
    keep = [c for c in details.columns if c in _DETAIL_NAMES]
    return details[keep].rename(columns=_DETAIL_NAMES).reset_index(drop=True)
