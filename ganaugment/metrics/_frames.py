"""Table plumbing shared by the fidelity metrics.

Checks that the real, synthetic and holdout tables describe the same columns,
tells numeric columns from categorical ones, and turns tables into the two
numeric forms the metrics need: a frame with ``category`` columns for
scikit-learn's histogram gradient boosting, and a matrix in which the
Euclidean distance between rows is a per-column mismatch (for the distance to
the closest record).
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from .._validation import (
    as_numpy_dates,
    as_numpy_durations,
    column_kind,
    did_you_mean,
    first_fraction,
    is_dates,
    is_duration,
)

__all__ = [
    "check_tables", "check_class_target", "column_kind", "match_kinds", "model_frames", "DistanceEncoder", "subsample", "row_keys",
    "fit_threads", "subsample_rows", "weighted_resample",
]

# Histogram gradient boosting bins categories; more levels than this are
# given to it as ordinal codes instead.
MAX_NATIVE_CATEGORIES = 250
# Levels one-hot encoded per column for distances; rarer ones share a slot.
MAX_DISTANCE_LEVELS = 100


def _as_frame(data, name: str, columns=None) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        if isinstance(data.columns, pd.MultiIndex):
            raise ValueError(
                f"{name} has multi-level column names; flatten them first, for example "
                "frame.columns = ['_'.join(map(str, c)) for c in frame.columns]."
            )
        if data.columns.duplicated().any():
            raise ValueError(f"{name} has duplicate column names; rename them so each column is unique.")
        # SDMetrics and the plots name columns by their text: two names with one text would merge.
        as_text = pd.Index([str(c) for c in data.columns])
        if as_text.duplicated().any():
            clash = sorted({str(c) for c in as_text[as_text.duplicated()]})
            raise ValueError(
                f"{name} has column names that are equal as text ({clash}, e.g. 0 and '0'); rename them "
                "so each column's text is unique."
            )
        return data.reset_index(drop=True)
    if isinstance(data, pd.Series):
        raise TypeError(f"{name} must be a 2D table (DataFrame or 2D array), got a Series; use .to_frame().")
    try:
        array = np.asarray(data)
    except Exception as exc:  # pragma: no cover - exotic containers
        raise TypeError(f"{name} must be a DataFrame or a 2D array, got {type(data).__name__}.") from exc
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional, got an array of shape {array.shape}.")
    frame = pd.DataFrame(array)
    if array.dtype == object:
        # A mixed table's to_numpy() is an object array: its number columns are numbers, not levels.
        frame = frame.infer_objects()
    if columns is not None and frame.shape[1] == len(columns):
        frame.columns = columns
    return frame


def check_tables(real, synthetic, holdout=None, target=None):
    """Validate the tables of an evaluation; returns them as aligned DataFrames.

    The synthetic and holdout tables are reordered to the real table's
    columns. A missing or extra column, an empty table or an unknown
    ``target`` raises a ValueError naming it.
    """
    real = _as_frame(real, "real")
    synthetic = _as_frame(synthetic, "synthetic", real.columns)
    tables = {"real": real, "synthetic": synthetic}
    if holdout is not None:
        tables["holdout"] = _as_frame(holdout, "holdout", real.columns)
    if real.shape[1] == 0:
        raise ValueError("real has no columns; pass the table the model was trained on.")
    for name, frame in tables.items():
        if len(frame) == 0:
            raise ValueError(f"{name} has no rows; fidelity needs at least one row in every table.")
        if len(frame) < 2 and name != "holdout":
            raise ValueError(
                f"{name} has 1 row; fidelity needs at least 2 real and 2 synthetic rows (the detection "
                "classifier is cross-validated on both)."
            )
        if name == "real":
            continue
        missing = [c for c in real.columns if c not in frame.columns]
        extra = [c for c in frame.columns if c not in real.columns]
        if missing or extra:
            raise ValueError(
                f"{name} does not have the columns of real (missing: {missing}, unexpected: {extra}); "
                "every table must hold the same columns."
            )
        tables[name] = frame[list(real.columns)]
    if target is not None:
        if target not in real.columns:
            raise ValueError(
                f"target={target!r} is not a column of real; columns are {list(real.columns)}."
                + did_you_mean(target, real.columns)
            )
        if holdout is None:
            raise ValueError(
                "target was given without holdout: machine-learning efficacy trains on the synthetic and "
                "real tables and tests on holdout, real rows the model never saw. Pass holdout=... "
                "(--holdout on the command line)."
            )
        if real.shape[1] < 2:
            raise ValueError("target needs at least one feature column beside it.")
        check_class_target(real[target], target)
    tables = {name: _scorable(frame, real.dtypes) for name, frame in tables.items()}
    tables["real"] = _text_read_as_the_others(tables)
    return tables["real"], tables["synthetic"], tables.get("holdout")


def _scorable(frame: pd.DataFrame, durations_of: pd.Series) -> pd.DataFrame:
    """``frame`` with columns SDMetrics cannot score made scorable: float16 as float32 (SDMetrics gave
    a float16 column no score, so a shifted column dropped out and the quality rose from 0.49 to
    0.96), pyarrow dates as numpy ``datetime64`` (SDMetrics and pandas' date tests know only
    those), and the real table's duration columns as float seconds in every table."""
    half = [name for name, dtype in frame.dtypes.items() if dtype == np.float16]
    arrow_dates = [name for name, dtype in frame.dtypes.items() if is_dates(dtype) and hasattr(dtype, "pyarrow_dtype")]
    durations = [name for name in frame.columns if is_duration(durations_of[name])]
    if not half and not arrow_dates and not durations:
        return frame
    frame = frame.astype(dict.fromkeys(half, np.float32))
    for name in arrow_dates:
        frame[name] = as_numpy_dates(frame[name])
    for name in durations:
        frame[name] = _seconds(frame[name])
    return frame


def _text_read_as_the_others(tables: dict) -> pd.DataFrame:
    """The real table, with each column of text that the other tables hold as dates or as numbers
    read as that kind when every one of its values reads (a CSV file scored beside a Parquet file
    of the same rows). Compared as text, "2020-03-01" never equals a generated 2020-03-01 00:00:00,
    and a table scored against its own copy found no copy at all."""
    real = tables["real"]
    out = real
    for name in real.columns:
        column = real[name]
        if column_kind(column) != "categorical" or pd.api.types.is_bool_dtype(column) or isinstance(
            column.dtype, pd.CategoricalDtype
        ):
            continue
        others = [t[name] for key, t in tables.items() if key != "real" and column_kind(t[name]) != "categorical"]
        kinds = {column_kind(o) for o in others}
        if len(kinds) != 1:
            continue
        if kinds == {"numeric"}:
            values = pd.Series(_numbers(column), index=column.index)
        else:
            values = _as_datetimes(column, others[0])
        if values.notna().sum() == column.notna().sum():
            if out is real:
                out = real.copy()
            out[name] = values
    return out


def _as_bools(series: pd.Series) -> pd.Series:
    """``series`` read as booleans: True/False, 1/0 and their text ("true", "0", ...); anything else is missing."""
    words = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
    text = series.astype(object).map(lambda v: str(v).strip().lower(), na_action="ignore")
    return text.map(words).astype("boolean")


def _seconds(series: pd.Series) -> pd.Series:
    """A duration column as float seconds; durations held as text ("0 days 08:30:00", a CSV round
    trip) are read as durations, and text that is not one is left for match_kinds to count."""
    if is_duration(series.dtype):
        return pd.Series(_numbers(series), index=series.index)
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return series
    parsed = pd.to_timedelta(series.astype(object).where(series.notna(), None), errors="coerce")
    return series.astype(object).where(parsed.isna() | series.isna(), parsed.dt.total_seconds())


def check_class_target(values: pd.Series, target) -> None:
    """Refuse a target of fractional numbers: efficacy trains classifiers."""
    if not pd.api.types.is_float_dtype(values):
        return
    example = first_fraction(values.to_numpy(dtype=np.float64, na_value=np.nan))
    if example is not None:
        raise ValueError(
            f"target column {target!r} holds continuous numbers (e.g. {example!r}); efficacy "
            "scores classifiers, so the target must hold classes. Bin it first, or pick a class column."
        )


def _numbers(series: pd.Series) -> np.ndarray:
    if is_duration(series.dtype):
        seconds = as_numpy_durations(series).dt.total_seconds()  # no nanosecond overflow
        return seconds.to_numpy(dtype=np.float64, na_value=np.nan)
    if is_dates(series.dtype):
        series = as_numpy_dates(series)
        if getattr(series.dtype, "tz", None) is not None:
            series = series.dt.tz_convert(None)  # UTC instants
        # Counted in the column's own unit, then scaled in floats: a cast to nanoseconds would wrap
        # dates past 2262 (a 9999-12-31 "no end" date) around silently.
        stamps = series.to_numpy()
        unit = np.datetime_data(stamps.dtype)[0]
        values = stamps.astype(np.int64).astype(np.float64) * (np.timedelta64(1, unit) / np.timedelta64(1, "ns"))
        values[series.isna().to_numpy()] = np.nan
        return values
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _as_datetimes(series: pd.Series, like: pd.Series) -> pd.Series:
    """``series`` read as datetimes in the time zone of ``like``; unreadable values become NaT.

    Values are read as UTC instants (naive ones as UTC wall times), so text
    with mixed UTC offsets reads too; a naive real column gets naive UTC times.
    """
    if is_dates(series.dtype) or (
        pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    ):
        # Numbers are nanoseconds since the epoch, the inverse of _numbers.
        parsed = pd.to_datetime(series, errors="coerce", utc=True)
    else:
        text = series.astype(object).where(series.notna(), None)
        # pandas infers one format from the first value; read value by value only when that misses some.
        parsed = pd.to_datetime(text, errors="coerce", utc=True)
        if parsed.isna().sum() > text.isna().sum():
            mixed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
            if mixed.isna().sum() < parsed.isna().sum():
                parsed = mixed
    tz = getattr(like.dtype, "tz", None)
    return parsed.dt.tz_convert(tz) if tz is not None else parsed.dt.tz_localize(None)


def match_kinds(real: pd.DataFrame, other: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """``other`` with each numeric or datetime column read as the real column's kind.

    Numbers or dates stored as text (a CSV round trip, a generator decoding
    to strings) are otherwise scored as NaN by SDMetrics, which then leaves
    the column out of its averages, and read as missing by the other
    metrics. Numbers are read with ``pd.to_numeric`` and dates with
    ``pd.to_datetime`` (datetimes in another time zone are converted to the
    real column's); a value that cannot be read becomes missing. Booleans given
    as 0/1 or as text ("True", "false", ...) against a real boolean column are
    read as booleans. Columns already of the real column's kind are left untouched.

    Returns
    -------
    other : DataFrame
        The converted table (a copy when any column was converted).
    converted : dict {column: n_unreadable}
        Each converted column and how many of its present values could not
        be read.
    """
    converted = {}
    out = other
    for name in real.columns:
        kind = column_kind(real[name])
        series = other[name]
        flags = pd.api.types.is_bool_dtype(real[name]) and not pd.api.types.is_bool_dtype(series)
        if not flags and (kind == "categorical" or (
            column_kind(series) == kind and getattr(series.dtype, "tz", None) == getattr(real[name].dtype, "tz", None)
        )):
            continue
        if flags:  # 0/1 or "True"/"False" against real booleans
            values = _as_bools(series)
        elif kind == "numeric":
            values = pd.Series(_numbers(series), index=series.index)
        else:
            values = _as_datetimes(series, real[name])
        if out is other:
            out = other.copy()
        out[name] = _in_dtype_of(values, real[name])
        converted[name] = int((series.notna() & values.isna()).sum())
    return out, converted


def _in_dtype_of(values: pd.Series, like: pd.Series) -> pd.Series:
    """Converted ``values`` in the dtype of the real column ``like`` when they fit it exactly.

    SDMetrics' table-structure diagnostic compares dtypes, so a column read
    from text as float64 where the real one is int64 would count as a
    different structure although every value matches.
    """
    if values.dtype == like.dtype:
        return values
    try:
        cast = values.astype(like.dtype)
    except (TypeError, ValueError, OverflowError):
        return values
    same = (cast.isna() == values.isna()).all()
    if same and pd.api.types.is_numeric_dtype(values):
        present = values.notna().to_numpy()
        same = bool(np.array_equal(_numbers(cast)[present], values.to_numpy(dtype=np.float64)[present]))
    elif same:
        same = bool((cast.dropna() == values.dropna()).all())
    return cast if same else values


def _labels(series: pd.Series) -> pd.Series:
    """Categorical values as strings, missing values kept missing."""
    as_object = series.astype(object)
    # str() of each value: astype(str) decodes bytes as UTF-8 and fails on other bytes.
    return as_object.where(as_object.isna(), as_object.map(str, na_action="ignore"))


def model_frames(frames: list, columns) -> list:
    """Numeric frames for histogram gradient boosting, one per input frame.

    Numeric and datetime columns become floats (missing values stay NaN;
    a column entirely missing in one frame becomes its missing-value flag);
    categorical columns become ``category`` columns sharing one set of levels
    across all frames, or ordinal codes when a column has too many levels.
    """
    out = [{} for _ in frames]  # columns gathered first: a frame grown column by column warns past 100
    for name in columns:
        kind = column_kind(frames[0][name])
        if kind != "categorical":
            values = [_numbers(f[name]) for f in frames]
            if any(len(v) and np.isnan(v).all() for v in values):
                # Gradient boosting's binning fails on a column without a value in the rows it
                # trains on; where one frame has none, whether a value is missing is what can be
                # learned from the column, so it is given as that in every frame.
                values = [np.isnan(v).astype(np.float64) for v in values]
            for o, v in zip(out, values):
                o[str(name)] = v
            continue
        labels = [_labels(f[name]) for f in frames]
        levels = pd.Index(pd.concat(labels, ignore_index=True).dropna().unique())
        for o, lab in zip(out, labels):
            cat = pd.Categorical(lab.to_numpy(dtype=object), categories=levels)  # an array: no dtype inference
            if len(levels) > MAX_NATIVE_CATEGORIES:
                codes = cat.codes.astype(np.float64)
                codes[codes < 0] = np.nan
                o[str(name)] = codes
            else:
                o[str(name)] = cat
    return [pd.DataFrame(o, index=range(len(f))) for o, f in zip(out, frames)]


class DistanceEncoder:
    """Rows as vectors whose Euclidean distance counts per-column mismatches.

    Fitted on the training rows. A numeric column contributes its difference
    divided by the column's range on the training rows (by its absolute value,
    at least 1, when the column is constant), plus 1 when exactly
    one of the two values is missing; a categorical column contributes 1 when
    the levels differ (one-hot slots scaled by ``1/sqrt(2)``). Distances are
    divided by ``sqrt(n_columns)``, so two rows that differ fully in every
    column are about 1 apart and identical rows are 0 apart.
    """

    def fit(self, frame: pd.DataFrame) -> "DistanceEncoder":
        self.columns_ = list(frame.columns)
        self.states_ = []
        for name in self.columns_:
            series = frame[name]
            kind = column_kind(series)
            if kind == "categorical":
                counts = _labels(series).fillna("\x00missing").value_counts()
                self.states_.append(("categorical", list(counts.index[:MAX_DISTANCE_LEVELS])))
            else:
                values = _numbers(series)
                finite = values[np.isfinite(values)]
                lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, np.inf)
                # A constant column has no range: its differences are read relative to its value. A column
                # with no value at all gives no scale either (dates would count in nanoseconds): only
                # the missing indicator counts there.
                span = hi - lo if hi > lo else max(abs(lo), 1.0)
                self.states_.append(("numeric", (lo, span)))
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for name, (kind, state) in zip(self.columns_, self.states_):
            series = frame[name]
            if kind == "categorical":
                labels = _labels(series).fillna("\x00missing")
                codes = pd.Categorical(labels, categories=state).codes
                onehot = np.zeros((len(frame), len(state) + 1), dtype=np.float32)
                onehot[np.arange(len(frame)), np.where(codes < 0, len(state), codes)] = 1.0
                parts.append(onehot / np.sqrt(2.0))
            else:
                lo, span = state
                values = _numbers(series)
                missing = ~np.isfinite(values)
                scaled = np.where(missing, 0.0, (values - lo) / span)
                parts.append(np.stack([scaled, missing.astype(np.float64)], axis=1).astype(np.float32))
        return np.concatenate(parts, axis=1) / np.float32(np.sqrt(len(self.columns_)))


def subsample_rows(n_rows: int, max_rows: int | None, rng: np.random.Generator) -> np.ndarray | None:
    """Positions of at most ``max_rows`` of ``n_rows`` rows, drawn without replacement and sorted;
    None (every row) when there are no more than ``max_rows``."""
    if max_rows is None or n_rows <= max_rows:
        return None
    return np.sort(rng.choice(n_rows, size=int(max_rows), replace=False))


def subsample(frame: pd.DataFrame, max_rows: int | None, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``max_rows`` rows drawn without replacement (all rows when fewer)."""
    keep = subsample_rows(len(frame), max_rows, rng)
    return frame if keep is None else frame.iloc[keep].reset_index(drop=True)


def weighted_resample(frame: pd.DataFrame, weights: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """As many rows as ``frame`` holds, drawn in proportion to ``weights``: an unweighted table of
    the weighted population, for scores that take no weights (SDMetrics', the figures').

    Systematic resampling: one random offset, then evenly spaced points on the
    cumulative weights, so every row appears ``floor(n * share)`` or
    ``ceil(n * share)`` times (equal weights give every row once, in order; a
    row of weight 0 never appears). Independent draws would add their own
    noise to the scores.
    """
    n = len(frame)
    cumulative = np.cumsum(weights, dtype=np.float64)
    points = (np.arange(n) + rng.random()) * (cumulative[-1] / n)
    last = np.flatnonzero(weights)[-1]  # where float rounding puts a point at the total
    rows = np.minimum(np.searchsorted(cumulative, points, side="right"), last)
    return frame.iloc[rows].reset_index(drop=True)


def row_keys(frame: pd.DataFrame, like: pd.DataFrame | None = None) -> np.ndarray:
    """A 64-bit hash per row that is equal for rows with equal values.

    Numbers are compared as floats (-0.0 equal to 0.0) and every other value
    by its text, so an integer column and its float twin give the same keys.
    Each column is read as the kind of the same column in ``like`` (the
    table the keys are compared with; ``frame`` itself by default), so two
    tables that store a column differently still give equal keys.
    """
    like = frame if like is None else like
    normal = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        series = frame[name]
        if column_kind(like[name]) == "categorical":
            normal[str(name)] = _labels(series).fillna("\x00missing").astype(str)
        else:
            normal[str(name)] = _numbers(series) + 0.0
    return pd.util.hash_pandas_object(normal, index=False).to_numpy()


def fit_threads(n_rows: int):
    """Context manager running a histogram gradient boosting fit on one OpenMP thread.

    Its per-split thread synchronisation is costly when cores are shared:
    on a loaded 2-core box the Adult efficacy fits took 123 s with the default
    threads and 7.4 s with one. A metric should cost the same wherever it
    runs, so every classifier fit of the metrics uses one thread.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="openmp")


def check_random_state_int(random_state) -> int:
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise TypeError(f"random_state must be an int, got {random_state!r}.")
    return int(random_state)
