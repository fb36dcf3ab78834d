"""evaluate(): the fidelity of a synthetic table, in one FidelityReport."""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
import pandas as pd

from .._validation import caller_stacklevel, check_sample_weight, without_overflow_warnings
from . import _sdmetrics
from ._frames import (
    _labels, _numbers, check_random_state_int, check_tables, column_kind, match_kinds, subsample, weighted_resample,
)
from .detection import detection_auc
from .efficacy import ml_efficacy
from .gate import FidelityWarning
from .privacy import exact_copy_share, privacy_scores
from .report import FidelityReport

__all__ = ["evaluate"]

# Rows per table that the figures draw from (histograms are stable well below this).
PLOT_ROWS = 20000
# A detection AUC below this is not noise around 0.5 (a few hundred rows give 0.45-0.5) but
# systematic: an exact copy of the real table scores about 0.1.
COPY_LIKE_AUC = 0.3
# Share of holdout rows found in real past which the privacy baseline is in doubt.
HOLDOUT_OVERLAP = 0.5
NO_PRIVACY_NOTE = (
    "Distances to the closest record were not measured, and exact copies have no baseline: both need holdout=, "
    "real rows the generator never saw (a table whose real rows often repeat gives copies by chance)."
)


@without_overflow_warnings  # values near the float64 limit overflow in SDMetrics' and the classifiers' statistics
def evaluate(real, synthetic, *, holdout=None, target=None, metadata=None, model=None,
             random_state=0, max_rows=20000, sample_weight=None, holdout_weight=None) -> FidelityReport:
    """Measure how faithful, useful and private a synthetic table is.

    Parameters
    ----------
    real : DataFrame
        The real rows the generator was trained on.
    synthetic : DataFrame
        Generated rows with the same columns.
    holdout : DataFrame, default=None
        Real rows the generator never saw. Enables the privacy scores (and
        machine-learning efficacy together with ``target``); without it the
        report notes that privacy was not scored. When half or more of its
        rows are also rows of ``real``, a :class:`FidelityWarning` says that
        the privacy baseline is in doubt.
    target : str, default=None
        Column to predict for machine-learning efficacy (needs ``holdout``).
    metadata : dict, default=None
        SDMetrics metadata ``{"tables": {name: {"columns": ...}}}`` for one
        table (any name); inferred from the dtypes of ``real`` when left out.
    model : fitted estimator, default=None
        A fitted ganaugment model; its ``history_`` gives the training curves.
    random_state : int, default=0
        Seeds subsampling, cross-validation folds and classifiers: the same
        inputs and seed give the same report.
    max_rows : int or None, default=20000
        Cost bound for large tables. The detection test uses at most
        ``max_rows / 2`` rows of each table; the distance to the closest record
        measures at most ``max_rows / 4`` rows of the synthetic and holdout
        tables against at most ``max_rows`` training rows. SDMetrics reports,
        exact copies and efficacy use every row, but for SDMetrics' own draw
        of 50,000 rows for pairs of categorical columns in longer tables
        (seeded from ``random_state``; ``report.notes`` says when it was
        made). ``None`` = no bound.
    sample_weight : array-like of shape (len(real),), default=None
        Non-negative weights of the real rows (survey or design weights, or
        those a model was fitted with): the synthetic rows are then compared
        with the weighted population, as a model fitted with these weights
        generates it. SDMetrics' quality score, the column table and the
        figures read a weighted resample of ``real`` (as many rows, each
        repeated about in proportion to its weight; equal weights give
        ``real`` itself); the DiagnosticReport's ranges and levels come from
        ``real`` as it is. The detection classifier and its AUC weigh each
        real row, and so does the efficacy classifier trained on ``real``
        (the rarer class is then the rarer in weight). Exact copies and the
        distances to the closest record are per row and ignore the weights.
    holdout_weight : array-like of shape (len(holdout),), default=None
        Non-negative weights of the holdout rows (needs ``holdout``): the
        efficacy scores (F1, ROC AUC) weigh each holdout row, and rows of
        weight 0 are left out of them. The privacy scores ignore them.

    Returns
    -------
    report : FidelityReport
        ``quality_score``, ``diagnostic_score``, ``column_shapes``,
        ``column_pair_trends`` (SDMetrics, exactly as its reports compute
        them, except that a column whose synthetic values are all missing
        scores 0 where SDMetrics would leave it out), ``detection_auc`` and
        ``detection_score``, ``exact_copy_share``; with ``holdout``,
        ``dcr_synthetic_median``, ``dcr_holdout_median``, ``dcr_closer_share``,
        ``holdout_copy_share``; with ``target``,
        ``efficacy_{real,synthetic,augmented}_{f1,auc}``. The table
        ``report.columns`` compares every column.

    Notes
    -----
    A synthetic or holdout column holding numbers or dates as text, where
    the real column holds numbers or datetimes, is read as numbers or
    datetimes first; values that cannot be read count as missing and
    ``report.notes`` says so. A column whose synthetic values are all
    missing gets a shape score of 0 (see ``report.columns``); a column that
    SDMetrics still cannot score is named in a :class:`FidelityWarning`.
    """
    seed = check_random_state_int(random_state)
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows < 8):
        raise ValueError(f"max_rows must be an int >= 8 or None, got {max_rows!r}.")
    if metadata is not None:
        metadata = _one_table_metadata(metadata)
    real, synthetic, holdout = check_tables(real, synthetic, holdout, target)
    weights = check_sample_weight(sample_weight, len(real), of="real")
    if holdout_weight is not None and holdout is None:
        raise ValueError("holdout_weight was given without holdout; pass the holdout rows it weighs.")
    holdout_weights = None
    if holdout is not None:
        holdout_weights = check_sample_weight(holdout_weight, len(holdout), of="holdout", name="holdout_weight")
    # Numbers or dates stored as text would read as missing (and SDMetrics would leave them out):
    # every metric sees the other tables' columns as the real column's kind.
    conversion_notes = []
    synthetic, converted = match_kinds(real, synthetic)
    conversion_notes += [_sdmetrics.conversion_note("synthetic", n, bad) for n, bad in converted.items()]
    if holdout is not None:
        holdout, converted = match_kinds(real, holdout)
        conversion_notes += [_sdmetrics.conversion_note("holdout", n, bad) for n, bad in converted.items()]
    rng = np.random.default_rng(seed)
    seeds = [int(s) for s in rng.integers(2**31 - 1, size=4)]
    sdmetrics_seed = int(rng.integers(2**31 - 1))  # drawn after the others, which it leaves as they were
    # The population the synthetic rows are compared with (its own stream: unweighted reports stay as they were).
    population = real if weights is None else weighted_resample(real, weights, np.random.default_rng([seed, 1]))

    report = FidelityReport(kind="table")
    shape_line = f"{len(real)} real rows{'' if weights is None else ' (weighted)'}, {len(synthetic)} synthetic rows"
    if holdout is not None:
        shape_line += f", {len(holdout)} holdout rows{'' if holdout_weights is None else ' (weighted)'}"
    report.details["shape_line"] = shape_line + f", {real.shape[1]} columns"
    report.notes.extend(conversion_notes)
    if weights is not None:
        report.notes.append(
            f"The real rows are weighted (sample_weight): SDMetrics' quality score, the column table and the "
            f"figures compare the synthetic rows with a weighted resample of {len(real)} real rows, and detection "
            "and the efficacy classifier trained on them weigh each real row; exact copies and distances to the "
            "closest record ignore the weights."
        )

    sdm = _sdmetrics.quality_and_diagnostic(
        population, synthetic, metadata, seed=sdmetrics_seed, diagnostic_real=None if weights is None else real
    )
    report.notes.extend(sdm["notes"])
    report.add_scores(
        {k: sdm[k] for k in ("quality_score", "column_shapes", "column_pair_trends", "diagnostic_score")},
        section="sdmetrics",
    )
    report.details.update(
        quality_report=sdm["quality_report"], diagnostic_report=sdm["diagnostic_report"], metadata=sdm["metadata"],
        pair_trend_details=sdm["pair_trend_details"],
    )
    report.add_table("columns", _column_table(population, synthetic, sdm["column_shape_details"]))

    detection_rows = None if max_rows is None else max_rows // 2
    auc = detection_auc(real, synthetic, random_state=seeds[0], max_rows=detection_rows, sample_weight=weights)
    report.add_scores({"detection_auc": auc, "detection_score": 1.0 - 2.0 * max(auc - 0.5, 0.0)}, section="detection")
    if detection_rows is not None and max(len(real), len(synthetic)) > detection_rows:
        report.notes.append(f"Detection used a random subsample of at most {detection_rows} rows per table.")
    if auc < COPY_LIKE_AUC:
        report.notes.append(
            f"The detection AUC ({auc:.3f}) is far below 0.5: its errors are systematic, as when synthetic rows "
            "are copies of real rows (each row's twin sits on the other side of every fold). Check the exact "
            "copies, and the distances to the closest record, which need holdout=."
        )

    if holdout is not None:
        privacy = privacy_scores(real, synthetic, holdout, random_state=seeds[1], max_rows=max_rows)
        report.details["dcr_synthetic"] = privacy.pop("dcr_synthetic")
        report.details["dcr_holdout"] = privacy.pop("dcr_holdout")
        report.add_scores(privacy, section="privacy")
        report.notes.extend(_privacy_notes(privacy, report.details["dcr_holdout"], real, synthetic, holdout, max_rows))
    else:
        # Counted over every row, no baseline needed to see a generator that hands out its training rows.
        report.add_scores({"exact_copy_share": exact_copy_share(real, synthetic)}, section="privacy")
        report.notes.append(NO_PRIVACY_NOTE)
    if holdout_weights is not None and target is None:
        report.notes.append("holdout_weight weighs the efficacy scores, which need target=; it was not used.")
    if target is not None:
        eff = ml_efficacy(
            real, synthetic, holdout, target, random_state=seeds[2], real_weight=weights, holdout_weight=holdout_weights
        )
        report.notes.extend(eff["notes"])
        positive = eff["positive_class"]
        report.details["efficacy_label"] = "macro F1" if positive is None else f"F1 of {target}={positive}"
        scores = {}
        for key, name in (("real", "real"), ("synthetic", "synthetic"), ("real+synthetic", "augmented")):
            scores[f"efficacy_{name}_f1"] = eff[key]["f1"]
            scores[f"efficacy_{name}_auc"] = eff[key]["auc"]
        report.add_scores(scores, section="efficacy")

    pairs = sdm["pair_trend_details"]
    if len(pairs) and "score" in pairs:
        report.add_table("column pairs scored by SDMetrics", pairs[pairs["score"].notna()].reset_index(drop=True))
    _add_figures(report, population, synthetic, model, seeds[3])
    return report


def _privacy_notes(privacy: dict, dcr_holdout, real, synthetic, holdout, max_rows) -> list:
    """What the privacy scores' reader should know; an overlapping holdout is also a FidelityWarning."""
    notes = []
    if privacy["holdout_copy_share"] >= HOLDOUT_OVERLAP:
        notes.append(
            f"{privacy['holdout_copy_share']:.0%} of the holdout rows are also rows of real. Either the holdout "
            "overlaps the table passed as real (pass the training rows as real and only the rows set aside as "
            "holdout), or the table repeats its rows so often that copies cannot be told from chance."
        )
        warnings.warn(notes[-1], FidelityWarning, stacklevel=caller_stacklevel())
    elif float(np.quantile(dcr_holdout, 0.05)) == 0:
        notes.append(
            "More than 5% of the holdout rows equal a training row, so dcr_closer_share is the share of synthetic "
            "rows at distance 0 (compare it with holdout_copy_share), not a share with a 0.05 baseline."
        )
    # The DCR measures at most max_rows // 4 rows of each query table against at most max_rows training rows.
    if max_rows is not None and (len(real) > max_rows or max(len(synthetic), len(holdout)) > max_rows // 4):
        notes.append(
            f"Distances to the closest record: at most {max_rows // 4} synthetic and holdout rows each, "
            f"against at most {max_rows} training rows, so a near-copy of a training row left out of those "
            "may go unseen; exact copies were checked on every row."
        )
    return notes


def _one_table_metadata(metadata) -> dict:
    """SDMetrics metadata with its one table named as the metrics name it."""
    form = 'SDMetrics\' form {"tables": {"<name>": {"columns": {...}}}}'
    if not (isinstance(metadata, dict) and isinstance(metadata.get("tables"), dict)):
        raise ValueError(f"metadata must be a dict in {form}.")
    tables = metadata["tables"]
    if len(tables) != 1:
        raise ValueError(
            f"metadata describes {len(tables)} tables ({list(tables)}); evaluate scores one table, so give "
            f"metadata in {form} with one entry."
        )
    (table,) = tables.values()
    if not (isinstance(table, dict) and isinstance(table.get("columns"), dict)):
        raise ValueError(f"metadata's table has no 'columns' dict; metadata must be in {form}.")
    # The metrics see column names as text (see model_frames): the metadata's keys must be too.
    table = {**table, "columns": {str(name): spec for name, spec in table["columns"].items()}}
    return {**metadata, "tables": {_sdmetrics.TABLE: table}}


def _column_table(real: pd.DataFrame, synthetic: pd.DataFrame, shapes: pd.DataFrame) -> pd.DataFrame:
    """One row per column: SDMetrics shape score plus simple side-by-side statistics."""
    by_column = {str(r.column): (r.metric, r.score) for r in shapes.itertuples(index=False)} if len(shapes) else {}
    rows = []
    for name in real.columns:
        r, s = real[name], synthetic[name]
        kind = column_kind(r)
        metric, score = by_column.get(str(name), ("", np.nan))
        row = {
            "column": str(name), "kind": kind, "metric": metric, "score": score,
            "real_missing": float(r.isna().mean()), "synthetic_missing": float(s.isna().mean()),
        }
        if kind == "categorical":
            rl, sl = set(_labels(r).dropna()), set(_labels(s).dropna())
            row.update(
                real_levels=len(rl), synthetic_levels=len(sl),
                levels_never_generated=len(rl - sl), levels_not_in_real=len(sl - rl),
            )
        else:
            rv, sv = _numbers(r), _numbers(s)
            stats = {
                "real_mean": np.nanmean(rv) if np.isfinite(rv).any() else np.nan,
                "synthetic_mean": np.nanmean(sv) if np.isfinite(sv).any() else np.nan,
                "real_std": np.nanstd(rv) if np.isfinite(rv).any() else np.nan,
                "synthetic_std": np.nanstd(sv) if np.isfinite(sv).any() else np.nan,
            }
            if kind == "datetime":
                stats = {key: _as_time(value, key.endswith("std"), r) for key, value in stats.items()}
            row.update(stats)
        rows.append(row)
    return pd.DataFrame(rows)


def _as_time(nanoseconds: float, is_spread: bool, like: pd.Series):
    """A datetime column's mean (a timestamp in the column's time zone) or
    standard deviation (a duration) as text, from nanoseconds since the epoch."""
    if not np.isfinite(nanoseconds):
        return np.nan
    tz = getattr(like.dtype, "tz", None)
    try:
        if is_spread:
            return str(pd.Timedelta(round(nanoseconds), unit="ns").round("s"))
        stamp = pd.Timestamp(round(nanoseconds), unit="ns").round("s")
        return str(stamp.tz_localize("UTC").tz_convert(tz) if tz is not None else stamp)
    except (OverflowError, ValueError):  # beyond pandas' nanosecond range (years 1677-2262): whole seconds
        seconds = int(round(nanoseconds / 1e9))
        if is_spread:
            return f"{seconds / 86400:.0f} days"
        return str(np.datetime64(seconds, "s")).replace("T", " ") + (" UTC" if tz is not None else "")


def _add_figures(report, real, synthetic, model, seed):
    from . import plots

    rng = np.random.default_rng(seed)
    real_plot, synthetic_plot = subsample(real, PLOT_ROWS, rng), subsample(synthetic, PLOT_ROWS, rng)
    report.add_figure(
        "Column distributions",
        partial(plots.column_distributions, real_plot, synthetic_plot),
        "Blue: real, orange: synthetic. Numeric columns as densities, categorical columns as level shares "
        "(most frequent real levels).",
    )
    if real.shape[1] > 1:
        report.add_figure(
            "Correlation difference",
            partial(plots.correlation_difference, real_plot, synthetic_plot),
            "|real - synthetic| association for every column pair: Pearson correlation for two numeric columns, "
            "Cramer's V (numbers cut into real-quantile bins) otherwise. 0 (white) = same association.",
        )
    history = getattr(model, "history_", None) if model is not None else None
    if history:
        report.add_figure(
            "Training curves",
            partial(plots.training_curves, list(history)),
            "Per-epoch means. D(real) and D(fake) near 0.5 mean the discriminator cannot tell; D(real) near 1 "
            "with D(fake) near 0 for many epochs means the discriminator won and the generator stopped learning.",
        )
    if "dcr_synthetic" in report.details:
        dcr_s, dcr_h = report.details["dcr_synthetic"], report.details["dcr_holdout"]
        report.add_figure(
            "Distance to closest record",
            partial(plots.dcr_histogram, dcr_s, dcr_h),
            "Synthetic rows should be no closer to the training rows than unseen real rows are; a synthetic "
            "mass at 0 means copied rows.",
        )
