"""Reversible encoding of a table into the matrix a tabular GAN learns.

Every column becomes one or more *spans* of the encoded matrix:

* a numeric column (float, integer, datetime) becomes a continuous span of
  width 1 (its value normalised inside the Gaussian mode it belongs to) and a
  discrete span that one-hot encodes that mode ("mode-specific
  normalisation"); when the column has missing values a second discrete span
  of width 2 records whether the value is missing;
* a categorical column (object, string, category, boolean) becomes one
  discrete span, one slot per level. Missing values are a level of their own.

The list of :class:`Span` objects is the single description that drives the
generator's output activations, the conditional loss and the sampler.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Hashable
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import pandas as pd
from sklearn.mixture import GaussianMixture

from .._validation import (
    as_numpy_dates,
    as_numpy_durations,
    caller_stacklevel,
    column_kind,
    did_you_mean,
    is_dates,
    is_duration,
)
from ..persistence import ModelFileError, persistable

__all__ = ["Span", "TableEncoder", "EncodedRows", "known_levels"]

# Placeholders in a categorical column's ``levels`` for the missing-value slot
# (always last) and the slot of the pooled rare levels (just before it). They
# are stored as text so that model files hold plain values, and recognised by
# position only (see _marker_slots): a user level may hold the same text.
_MISSING = "__ganaugment_missing__"
_OTHER = "__ganaugment_other__"
# Lookup key of a missing value: an object that no user value equals.
_MISSING_KEY = object()


@dataclass(frozen=True)
class Span:
    """A contiguous block of the encoded matrix.

    Parameters
    ----------
    start : int
        First column of the block in the encoded matrix.
    width : int
        Number of encoded columns in the block.
    kind : {"continuous", "discrete"}
        ``"continuous"`` blocks take a ``tanh`` output activation, discrete
        blocks a (Gumbel-)softmax.
    column : str
        Name of the source column.
    role : {"value", "mode", "missing", "category"}
        What the block holds for its column.
    """

    start: int
    width: int
    kind: str
    column: str
    role: str

    @property
    def stop(self) -> int:
        return self.start + self.width


@dataclass
class EncodedRows:
    """An encoded table in compact form (see :meth:`TableEncoder.transform_compact`).

    ``values[:, k]`` is the k-th continuous span's value (float32);
    ``codes[:, k]`` is the index of the slot that is set in the k-th discrete
    span (a small integer), spans counted in ``spans_`` order.
    """

    values: np.ndarray
    codes: np.ndarray

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class _ColumnState:
    """Everything learned about one column (plain data, JSON-friendly)."""

    name: str
    kind: str  # "numeric" or "categorical"
    dtype: str  # pandas dtype string of the input column
    has_missing: bool = False
    missing_rate: float = 0.0
    # numeric
    is_integer: bool = False
    is_datetime: bool = False
    is_duration: bool = False  # timedelta64: learned as nanoseconds, like dates
    datetime_unit: str | None = None
    minimum: float = 0.0
    # Exact bounds of integer and datetime columns (float64 rounds beyond 2**53).
    integer_bounds: list | None = None
    maximum: float = 0.0
    # Decimal places of a float column whose observed values all have at most
    # MAX_DECIMALS of them (prices, rates); generated values are rounded to it.
    decimals: int | None = None
    # The coarsest of a day, an hour, ... a microsecond that every observed date is a whole
    # number of (on the wall clock); generated dates are rounded to it ("D": dates only).
    time_step: str | None = None
    center: float = 0.0
    scale: float = 1.0
    means: list = field(default_factory=list)
    stds: list = field(default_factory=list)
    weights: list = field(default_factory=list)
    # categorical
    levels: list = field(default_factory=list)  # encoded levels (may hold _MISSING/_OTHER)
    frequencies: list = field(default_factory=list)
    pooled_levels: list = field(default_factory=list)  # rare levels behind _OTHER
    pooled_frequencies: list = field(default_factory=list)
    categories: list | None = None  # categories of a pandas Categorical input
    categories_dtype: str | None = None  # and their dtype ("uint8", "string", ...)
    ordered: bool = False


def _infer_kind(series: pd.Series, categorical: bool) -> str:
    """The encoder's kind of a column: datetimes are encoded as numbers."""
    if categorical or column_kind(series) == "categorical":
        return "categorical"
    return "numeric"


MAX_DECIMALS = 6


def _decimal_places(observed: np.ndarray, precision: np.finfo) -> int | None:
    """The fewest decimal places (at most MAX_DECIMALS) that every observed value has, else None.

    A value "has" d places when rounding it to d places moves it by no more
    than the float type's own rounding (a CSV's "12.34" is the double nearest
    to 12.34, not 12.34 itself).
    """
    tolerance = 4 * precision.eps * np.abs(observed)
    for places in range(MAX_DECIMALS + 1):
        if np.all(np.abs(np.round(observed, places) - observed) <= tolerance):
            return places
    return None


# Candidate steps of a datetime column, coarsest first, with their length in nanoseconds.
TIME_STEPS = (("D", 86_400 * 10**9), ("h", 3_600 * 10**9), ("min", 60 * 10**9), ("s", 10**9), ("ms", 10**6),
              ("us", 10**3))


def _time_step(present: pd.Series) -> str | None:
    """The coarsest step in TIME_STEPS that every (non-missing) date of the column is a multiple of.

    Measured on the wall clock, so that local midnights of a time-zone aware
    column count as whole days.
    """
    wall = present.dt.tz_localize(None) if getattr(present.dt, "tz", None) is not None else present
    ticks = wall.to_numpy(dtype="datetime64[ns]").astype("int64")
    for name, length in TIME_STEPS:
        if np.all(ticks % length == 0):
            return name
    return None


def _round_times(times: pd.Series, step: str) -> pd.Series:
    """Dates or durations rounded to ``step``; dates on the wall clock, where a local time that a
    clock change skips moves forward."""
    try:
        if is_duration(times.dtype):
            return times.dt.round(step)
        return times.dt.round(step, ambiguous=np.zeros(len(times), dtype=bool), nonexistent="shift_forward")
    except (TypeError, ValueError, NotImplementedError, AttributeError, OverflowError):
        # Left as generated: a dtype without rounding (some pyarrow timestamps), or a value at the
        # edge of the nanosecond range (clip=False) that rounding would push out of it.
        return times


def _warn_learned_as_levels(name, series: pd.Series) -> None:
    """Warn when a column that looks like a quantity (numbers held as text) will be levels."""
    levels = _distinct_numbers_as_text(series)
    if levels:
        warnings.warn(
            f"Column {name!r} holds only numbers, but as {series.dtype} values (text or Python objects): it is learned as a "
            f"categorical column with {levels} levels, so generated values can only repeat those levels. "
            f"If it is a quantity, convert it before fitting (X[{name!r}] = pd.to_numeric(X[{name!r}])); "
            "to keep it categorical, name it in categorical_features.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )


def _warn_coarse_integers(name, low: int, high: int) -> None:
    """Warn when an integer column's values are too large for float64, which the GAN learns in, to
    tell apart (2**62 plus ids up to 1000: float64 steps by 1024 there, so every generated value was
    the column's minimum or maximum)."""
    step = float(np.spacing(float(max(abs(low), abs(high)))))
    if high > low and step > 1 and high - low < 1000 * step:  # a constant comes back exactly
        warnings.warn(
            f"Column {name!r} holds integers from {low} to {high}: at that size float64, which the GAN "
            f"learns numbers in, steps by {step:.0f}, so generated values fall on a few of them. Subtract "
            f"a base value first (X[{name!r}] - {low}) and add it back to the generated rows.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )


# A text column whose values all read as numbers is learned as categorical, as
# its dtype says; past this many distinct values it more likely holds a quantity
# read as text (a CSV column with a stray "n/a" fixed by hand), and fit warns.
NUMBERS_AS_TEXT_LEVELS = 20


def _distinct_numbers_as_text(series: pd.Series) -> int:
    """The number of distinct values of a text column that holds only numbers, 0 for any other column."""
    if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
        return 0
    try:
        distinct = pd.unique(series.dropna().to_numpy(dtype=object))
    except TypeError:  # unhashable values (lists, dicts): the categorical fit names them
        return 0
    if len(distinct) <= NUMBERS_AS_TEXT_LEVELS or any(isinstance(v, (bool, np.bool_)) for v in distinct):
        return 0
    as_numbers = pd.to_numeric(pd.Series(distinct, dtype=object).astype(str), errors="coerce")
    return len(distinct) if as_numbers.notna().all() else 0


@persistable
class TableEncoder:
    """Reversible transformer between a DataFrame and a GAN-ready matrix.

    Parameters
    ----------
    max_modes : int, default=10
        Upper bound on the number of Gaussian modes per numeric column.
    max_categories : int or None, default=500
        Largest number of levels a categorical column keeps as slots of its
        own. The rarest levels beyond that are pooled into one slot; when the
        generator picks that slot, a pooled level is drawn with its observed
        frequency, so no unseen level is ever produced and memory stays
        bounded for identifier-like columns. ``None`` keeps every level.
    mixture_sample_size : int, default=20000
        Rows sub-sampled per column to fit the Gaussian mixture.
    clip : bool, default=True
        Keep decoded numeric values inside the observed minimum and maximum.
    categorical_features : list of str, default=None
        Columns to treat as categorical whatever their dtype.
    random_state : int, default=0
        Seed for sub-sampling, the mixtures and mode assignment.

    Attributes
    ----------
    spans_ : list of Span
        Layout of the encoded matrix.
    columns_ : list of str
        Column names, in input order.
    output_width_ : int
        Width of the encoded matrix.
    """

    def __init__(
        self,
        *,
        max_modes=10,
        max_categories=500,
        mixture_sample_size=20000,
        clip=True,
        categorical_features=None,
        random_state=0,
    ):
        self.max_modes = max_modes
        self.max_categories = max_categories
        self.mixture_sample_size = mixture_sample_size
        self.clip = clip
        self.categorical_features = categorical_features
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, data: pd.DataFrame, sample_weight=None) -> "TableEncoder":
        """Learn every column's encoding from ``data``.

        ``sample_weight`` (row weights, or None) weighs the frequencies with
        which the pooled rare levels of a column are drawn; the levels, their
        order and the value modes come from the rows as they are.
        """
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"TableEncoder expects a pandas DataFrame, got {type(data).__name__}.")
        forced = set(self.categorical_features or ())
        unknown = forced - set(data.columns)
        if unknown:
            raise ValueError(
                f"categorical_features names columns that are not in the data: {sorted(map(str, unknown))}."
            )
        rng = np.random.default_rng(self.random_state)
        empty = [name for name in data.columns if data[name].isna().all()]
        if empty:
            raise ValueError(
                f"Column {empty[0]!r} has no observed value: it is entirely missing, so there is nothing to "
                "learn. Drop it (X.dropna(axis=1, how='all')) or fill it before fitting."
            )
        sparse = [name for name in data.columns if isinstance(data[name].dtype, pd.SparseDtype)]
        if sparse:
            raise ValueError(
                f"Column {sparse[0]!r} is sparse ({data[sparse[0]].dtype}); make it dense before fitting "
                f"(X[{sparse[0]!r}] = X[{sparse[0]!r}].sparse.to_dense())."
            )
        self.columns_ = list(data.columns)
        self.states_ = []
        for name in self.columns_:
            series = data[name]
            kind = _infer_kind(series, name in forced)
            if kind == "categorical" and name not in forced:
                _warn_learned_as_levels(name, series)
            if kind == "numeric":
                state = self._fit_numeric(name, series, rng)
            else:
                state = self._fit_categorical(name, series, sample_weight)
            self.states_.append(state)
        self._build_spans()
        return self

    def _fit_numeric(self, name, series, rng) -> _ColumnState:
        state = _ColumnState(name=name, kind="numeric", dtype=str(series.dtype))
        state.is_datetime = is_dates(series.dtype)
        state.is_duration = is_duration(series.dtype)
        values = self._numeric_values(series, state)
        missing = np.isnan(values)
        state.has_missing = bool(missing.any())
        state.missing_rate = float(missing.mean())
        observed = values[~missing]
        if observed.size == 0:
            raise ValueError(f"Column {name!r} has no observed value: it is entirely missing.")
        if not np.isfinite(observed).all():
            raise ValueError(
                f"Column {name!r} contains infinite values; replace or drop them before fitting."
            )
        state.is_integer = bool(state.is_datetime or state.is_duration or pd.api.types.is_integer_dtype(series))
        state.minimum = float(observed.min())
        state.maximum = float(observed.max())
        if not state.is_integer and pd.api.types.is_float_dtype(series):
            float_type = getattr(series.dtype, "numpy_dtype", series.dtype)  # pandas' Float32 holds a numpy one
            state.decimals = _decimal_places(observed, np.finfo(float_type))
        if state.is_integer:
            present = series.dropna()
            exact = self._ticks(present, state).astype("int64") if state.is_datetime or state.is_duration else present
            state.integer_bounds = [int(exact.min()), int(exact.max())]
            if state.is_datetime:
                state.time_step = _time_step(as_numpy_dates(present))
            elif state.is_duration:
                state.time_step = _time_step(pd.Series(exact.astype("datetime64[ns]")))  # whole minutes, seconds, ...
            else:
                _warn_coarse_integers(name, *state.integer_bounds)
        # Statistics of the values divided by their largest magnitude: values near
        # the float64 limit would overflow a plain mean and standard deviation.
        magnitude = float(np.abs(observed).max()) or 1.0
        unit = observed / magnitude
        state.center = float(unit.mean()) * magnitude
        std = float(unit.std()) * magnitude
        state.scale = std if std > 0 else 1.0
        standard = _standardise(observed, state)
        core = _core_spread(standard)
        if 0 < core < 0.1:
            # A few extreme values dwarf the rest (one 1e12 among N(0, 1) values): scaled by the
            # whole column's deviation, the bulk sits in a sliver far narrower than the narrowest mode
            # the mixture allows, and most generated values landed far from the data. The central
            # values' median and spread standardise such a column instead.
            state.center = float(np.median(unit)) * magnitude
            state.scale = core * std
            standard = _standardise(observed, state)
        if standard.size > self.mixture_sample_size:
            standard = rng.choice(standard, size=self.mixture_sample_size, replace=False)
        n_distinct = np.unique(standard).size
        n_modes = int(max(1, min(self.max_modes, n_distinct, standard.size)))
        if n_modes == 1:
            means, stds, weights = [float(standard.mean())], [max(float(standard.std()), 1e-3)], [1.0]
        else:
            mixture = GaussianMixture(
                n_components=n_modes,
                covariance_type="diag",
                reg_covar=1e-6,
                max_iter=100,
                n_init=1,
                init_params="k-means++",
                random_state=int(rng.integers(2**31 - 1)),
            )
            mixture.fit(standard.reshape(-1, 1))
            keep = mixture.weights_ > 1e-3
            means = mixture.means_[keep, 0].tolist()
            stds = np.sqrt(np.maximum(mixture.covariances_[keep, 0], 1e-6)).tolist()
            weights = (mixture.weights_[keep] / mixture.weights_[keep].sum()).tolist()
        state.means, state.stds, state.weights = means, stds, weights
        return state

    @classmethod
    def _numeric_values(cls, series: pd.Series, state: _ColumnState) -> np.ndarray:
        if state.is_datetime or state.is_duration:
            values = cls._ticks(series, state)
            out = values.astype("int64").astype(np.float64)
            out[np.isnat(values)] = np.nan
            return out
        return pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)

    @staticmethod
    def _ticks(series: pd.Series, state: _ColumnState) -> np.ndarray:
        """A date or duration column as numpy nanoseconds (``datetime64[ns]`` / ``timedelta64[ns]``)."""
        series = as_numpy_durations(series) if state.is_duration else as_numpy_dates(series)
        if hasattr(series.dt, "as_unit"):
            try:  # a [s] or [ms] column can hold values that nanoseconds cannot: the cast would wrap around
                series = series.dt.as_unit("ns")
            except (pd.errors.OutOfBoundsDatetime, pd.errors.OutOfBoundsTimedelta, OverflowError):
                held = (
                    f"dates outside {pd.Timestamp.min.date()} to {pd.Timestamp.max.date()}, the range of the "
                    "nanosecond timestamps that dates are encoded in. Convert it first (to years as numbers, "
                    "say, or to text)."
                    if state.is_datetime
                    else f"durations beyond {pd.Timedelta.max.days:,} days, the range of the nanoseconds that "
                    "durations are encoded in. Convert it first (to days as numbers, say)."
                )
                raise ValueError(f"Column {state.name!r} holds {held}") from None
        return series.to_numpy(dtype="datetime64[ns]" if state.is_datetime else "timedelta64[ns]")

    def _fit_categorical(self, name, series, weights=None) -> _ColumnState:
        state = _ColumnState(name=name, kind="categorical", dtype=_dtype_text(series.dtype))
        if isinstance(series.dtype, pd.CategoricalDtype):
            state.categories = list(series.cat.categories)
            state.categories_dtype = str(series.cat.categories.dtype)
            state.ordered = bool(series.cat.ordered)
        missing = series.isna().to_numpy()
        state.has_missing = bool(missing.any())
        state.missing_rate = float(missing.mean())
        observed = series[~missing]
        inferred = pd.api.types.infer_dtype(observed, skipna=True)
        if inferred.startswith("mixed"):
            kinds = sorted({type(v).__name__ for v in observed.head(1000)})
            if len(kinds) == 1:  # one type that pandas cannot class (tuples, lists, dicts, sets)
                raise ValueError(
                    f"Column {name!r} holds {kinds[0]} values, which cannot be learned as levels; convert them "
                    "to text (for example with .astype(str)) before fitting."
                )
            raise ValueError(
                f"Column {name!r} mixes value types ({', '.join(kinds)}); "
                "convert it to a single type (for example with .astype(str)) before fitting."
            )
        counts = observed.value_counts(sort=True, dropna=True)
        weighted = None
        if weights is not None:
            mass = pd.Series(np.asarray(weights, dtype=np.float64)[~missing])
            weighted = mass.groupby(observed.to_numpy(), sort=False).sum()
        return self._categorical_levels(state, counts, int(missing.sum()), weighted)

    def _categorical_levels(self, state, counts: pd.Series, n_missing: int, weighted=None) -> _ColumnState:
        """Set ``state``'s levels from value counts, most frequent first.

        Split from :meth:`_fit_categorical` so that counts merged over the
        shards of a distributed fit give the same state as one full column.
        ``weighted`` (each level's total row weight, or None) sets the draw
        frequencies of the pooled levels.
        """
        name = state.name
        counts = counts[counts > 0]
        levels = list(counts.index)
        freqs = counts.to_numpy(dtype=np.float64)
        if self.max_categories is not None and len(levels) > self.max_categories:
            keep = self.max_categories - 1
            state.pooled_levels = levels[keep:]
            pooled = freqs[keep:]
            mass = None if weighted is None else weighted.reindex(state.pooled_levels).fillna(0.0).to_numpy()
            draw = pooled if mass is None or mass.sum() == 0 else mass  # a pool of weight 0 is never picked
            state.pooled_frequencies = (draw / draw.sum()).tolist()
            levels = levels[:keep] + [_OTHER]
            freqs = np.concatenate([freqs[:keep], [pooled.sum()]])
        if state.has_missing:
            levels.append(_MISSING)
            freqs = np.concatenate([freqs, [n_missing]])
        if not levels:
            raise ValueError(f"Column {name!r} has no observed value: it is entirely missing.")
        state.levels = [_to_python(v) for v in levels]
        state.pooled_levels = [_to_python(v) for v in state.pooled_levels]
        state.frequencies = (freqs / freqs.sum()).tolist()
        return state

    def _build_spans(self):
        spans = []
        start = 0
        for state in self.states_:
            if state.kind == "numeric":
                spans.append(Span(start, 1, "continuous", state.name, "value"))
                start += 1
                spans.append(Span(start, len(state.means), "discrete", state.name, "mode"))
                start += len(state.means)
                if state.has_missing:
                    spans.append(Span(start, 2, "discrete", state.name, "missing"))
                    start += 2
            else:
                spans.append(Span(start, len(state.levels), "discrete", state.name, "category"))
                start += len(state.levels)
        self.spans_ = spans
        self.output_width_ = start

    # ---------------------------------------------------------- persistence
    def to_state(self) -> dict:
        """The fitted encoder as plain values (see :mod:`ganaugment.persistence`)."""
        return {
            "params": {
                "max_modes": self.max_modes,
                "max_categories": self.max_categories,
                "mixture_sample_size": self.mixture_sample_size,
                "clip": self.clip,
                "categorical_features": self.categorical_features,
                "random_state": self.random_state,
            },
            "columns": list(self.columns_),
            "states": [asdict(state) for state in self.states_],
        }

    @classmethod
    def from_state(cls, state: dict, *, device=None, context=None) -> "TableEncoder":
        """Rebuild a fitted encoder from :meth:`to_state` output."""
        allowed = {f.name for f in fields(_ColumnState)}
        encoder = cls(**state["params"])
        encoder.columns_ = list(state["columns"])
        encoder.states_ = []
        for entry in state["states"]:
            unknown = set(entry) - allowed
            if unknown:
                raise ModelFileError(f"Encoder state has unknown column fields {sorted(unknown)}.")
            encoder.states_.append(_ColumnState(**entry))
        if [s.name for s in encoder.states_] != encoder.columns_:
            raise ModelFileError("Encoder state is inconsistent: column states do not match the columns.")
        encoder._build_spans()
        return encoder

    def check_restored(self) -> None:
        """Refuse column states that a fit never gives (a crafted model file): numbers that are not
        finite, a scale that is not positive, a dtype pandas cannot read. They loaded, then failed
        or generated NaN at the first ``sample``."""
        for state in self.states_:
            if state.kind == "categorical":
                continue
            numbers = [state.center, state.scale, state.minimum, state.maximum, *state.means, *state.stds, *state.weights]
            try:
                finite = bool(np.isfinite(np.asarray(numbers, dtype=np.float64)).all())
            except (TypeError, ValueError):
                finite = False
            if not finite or not state.scale > 0 or any(s <= 0 for s in state.stds):
                raise ValueError(f"column {state.name!r} has numbers that are not finite, or a scale or spread <= 0")
            if state.decimals is not None and not (isinstance(state.decimals, int) and 0 <= state.decimals <= 15):
                raise ValueError(f"column {state.name!r} has {state.decimals!r} decimal places")
            if state.integer_bounds is not None and not all(
                isinstance(b, int) and -(2**63) <= b < 2**64 for b in state.integer_bounds
            ):
                raise ValueError(f"column {state.name!r} has integer bounds outside 64-bit integers")
            try:
                pd.api.types.pandas_dtype(state.dtype)
            except ImportError:
                pass  # a pyarrow dtype without pyarrow: decoding falls back to numpy, as it always did
            except (TypeError, ValueError):
                raise ValueError(f"column {state.name!r} has dtype {state.dtype!r}, which pandas does not know") from None

    # --------------------------------------------------------- introspection
    def state_of(self, column) -> _ColumnState:
        for state in self.states_:
            if state.name == column:
                return state
        raise KeyError(column)

    @property
    def categorical_columns(self) -> list:
        """Names of the columns encoded as one categorical span."""
        return [s.name for s in self.states_ if s.kind == "categorical"]

    def category_spans(self) -> list:
        """The discrete spans of categorical columns, in column order."""
        return [s for s in self.spans_ if s.role == "category"]

    def level_index(self, column, value) -> int:
        """Position of ``value`` in the slots of categorical ``column``."""
        state = self.state_of(column)
        if state.kind != "categorical":
            raise ValueError(
                f"Column {column!r} is numeric; conditions are only supported on categorical columns."
            )
        if np.ndim(value) != 0 or not isinstance(_level_key(value), Hashable):
            raise TypeError(
                f"The value given for column {column!r} must be a single value, got {type(value).__name__}."
            )
        code = self._lookup(state).get(_level_key(value))
        if code is not None:
            return code
        known = known_levels(state)
        raise ValueError(
            f"Value {value!r} never occurs in column {column!r}; known values include {known[:10]}."
            + did_you_mean(value, known)
        )

    def is_pooled_slot(self, column, level: int) -> bool:
        """Whether slot ``level`` of categorical ``column`` holds the levels pooled beyond ``max_categories``."""
        return _marker_slots(self.state_of(column))[0] == level

    # ------------------------------------------------------------ transform
    def transform(self, data: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """Encode ``data`` into a float32 matrix of width ``output_width_``."""
        return self.expand(self.transform_compact(data, rng))

    def transform_compact(self, data: pd.DataFrame, rng: np.random.Generator) -> "EncodedRows":
        """Encode ``data`` without materialising the one-hot blocks.

        Holds one float per continuous span and one small integer per
        discrete span: for a million rows and a few hundred one-hot slots this
        is tens of megabytes instead of gigabytes. :meth:`expand` gives the
        matrix :meth:`transform` returns; the same ``rng`` draws the same modes.
        """
        missing_cols = [c for c in self.columns_ if c not in data.columns]
        if missing_cols:
            raise ValueError(f"Columns seen at fit are missing: {missing_cols}.")
        n = len(data)
        n_cont = sum(s.kind == "continuous" for s in self.spans_)
        widest = max((s.width for s in self.spans_ if s.kind == "discrete"), default=1)
        values = np.zeros((n, n_cont), dtype=np.float32)
        codes = np.zeros((n, len(self.spans_) - n_cont), dtype=np.int16 if widest < 2**15 else np.int32)
        i = j = 0
        for state in self.states_:
            series = data[state.name]
            if state.kind == "numeric":
                values[:, i], codes[:, j], missing = self._encode_numeric(series, state, rng)
                i, j = i + 1, j + 1
                if state.has_missing:
                    codes[:, j] = missing
                    j += 1
            else:
                codes[:, j] = self.category_codes(series, state)
                j += 1
        return EncodedRows(values, codes)

    def check_frame(self, data: pd.DataFrame, levels_of=()) -> None:
        """Raise a clear error where ``data`` does not look like the fitted table.

        For input that is read but not encoded (``GANAugmenter.transform``
        takes only its row count and condition values): every fitted column
        must be present, a numeric column must hold numbers (a date column,
        dates), and the categorical columns in ``levels_of`` (the ones whose
        values are used) only levels seen at fit; other categorical columns
        may hold any value. Missing values are allowed anywhere.
        """
        missing_cols = [c for c in self.columns_ if c not in data.columns]
        if missing_cols:
            raise ValueError(f"Columns seen at fit are missing: {missing_cols}.")
        for state in self.states_:
            series = data[state.name]
            if state.kind == "categorical":
                if state.name in levels_of:
                    self.category_codes(series.dropna(), state)
                continue
            dates, durations = is_dates(series.dtype), is_duration(series.dtype)
            if series.isna().all() or (dates and state.is_datetime) or (durations and state.is_duration):
                continue
            if dates or state.is_datetime or durations or state.is_duration:
                held = "dates" if state.is_datetime else "durations" if state.is_duration else "numbers"
                raise ValueError(f"Column {state.name!r} held {held} at fit; it now has dtype {series.dtype}.")
            try:
                pd.to_numeric(series, errors="raise")
            except (TypeError, ValueError):
                examples = [v for v in series.dropna().unique()[:50] if pd.isna(pd.to_numeric(v, errors="coerce"))][:5]
                raise ValueError(
                    f"Column {state.name!r} held numbers at fit; it now holds {examples} (dtype {series.dtype})."
                ) from None

    def expand(self, rows: "EncodedRows") -> np.ndarray:
        """The float32 matrix of width ``output_width_`` that ``rows`` describe."""
        n = len(rows.values)
        out = np.zeros((n, self.output_width_), dtype=np.float32)
        out[:, [s.start for s in self.spans_ if s.kind == "continuous"]] = rows.values
        index = np.arange(n)
        for j, span in enumerate(s for s in self.spans_ if s.kind == "discrete"):
            out[index, span.start + rows.codes[:, j]] = 1.0
        return out

    def empty_frame(self) -> pd.DataFrame:
        """A DataFrame with the fitted columns and dtypes and no rows."""
        n_cont = sum(s.kind == "continuous" for s in self.spans_)
        none = EncodedRows(np.zeros((0, n_cont), np.float32), np.zeros((0, len(self.spans_) - n_cont), np.int32))
        return self.inverse_transform(none, np.random.default_rng(0))

    def compact(self, matrix: np.ndarray) -> "EncodedRows":
        """The compact rows of a dense encoded matrix (the inverse of :meth:`expand`).

        Every discrete span is read by its arg-max, so ``matrix`` may hold
        probabilities or logits as well as one-hot rows.
        """
        matrix = np.asarray(matrix)
        if not np.issubdtype(matrix.dtype, np.floating):
            matrix = matrix.astype(np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != self.output_width_:
            raise ValueError(
                f"Expected an encoded matrix of width {self.output_width_}, got shape {matrix.shape}."
            )
        # Arg-max reads the float32 slots as they are; the value columns are
        # picked out, not a float64 copy of the whole matrix made.
        values = matrix[:, [s.start for s in self.spans_ if s.kind == "continuous"]]
        codes = [matrix[:, s.start : s.stop].argmax(axis=1) for s in self.spans_ if s.kind == "discrete"]
        codes = np.stack(codes, axis=1).astype(np.int32) if codes else np.zeros((len(matrix), 0), np.int32)
        return EncodedRows(values, codes)

    def _encode_numeric(self, series, state, rng, block: int = 65536):
        """``(scaled value, mode, missing)`` per row; the posterior is computed by row blocks."""
        values = self._numeric_values(series, state)
        missing = np.isnan(values)
        if np.isinf(values).any():
            raise ValueError(f"Column {state.name!r} contains infinite values.")
        standard = _standardise(np.where(missing, state.center, values), state)
        del values
        means = np.asarray(state.means)
        stds = np.asarray(state.stds)
        log_prior = np.log(np.asarray(state.weights))[None, :] - np.log(stds)[None, :]
        u = rng.random(len(standard))
        modes = np.empty(len(standard), dtype=np.int64)
        # Posterior of each mode, then one mode per row drawn from it
        # (inverse CDF), in blocks so that the (rows x modes) temporaries stay small.
        for lo in range(0, len(standard), block):
            z = (standard[lo : lo + block, None] - means[None, :]) / stds[None, :]
            log_post = log_prior - 0.5 * z**2
            log_post -= log_post.max(axis=1, keepdims=True)
            post = np.exp(log_post)
            post /= post.sum(axis=1, keepdims=True)
            chosen = (post.cumsum(axis=1) < u[lo : lo + block, None]).sum(axis=1)
            modes[lo : lo + block] = np.minimum(chosen, len(means) - 1)
        scaled = (standard - means[modes]) / (4.0 * stds[modes])
        return np.clip(scaled, -0.99, 0.99), modes, missing

    def category_codes(self, series: pd.Series, state: _ColumnState | None = None) -> np.ndarray:
        """Slot index of every value of a categorical column."""
        if state is None:
            state = self.state_of(series.name)
        lookup = self._lookup(state)
        values = series.astype(object).to_numpy()
        # Map the distinct values once, then broadcast: no Python loop over rows.
        inverse, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        table = np.array([lookup.get(_level_key(u), -1) for u in uniques] + [lookup.get(_MISSING_KEY, -1)])
        codes = table[inverse]  # inverse == -1 (missing) picks the last entry
        bad = codes < 0
        if bad.any():
            examples = pd.unique(pd.Series(values[bad], dtype=object))[:5].tolist()
            raise ValueError(f"Column {state.name!r} holds values never seen at fit: {examples}.")
        return codes.astype(np.int64)

    @staticmethod
    def _lookup(state) -> dict:
        """Map from a level key to its slot; pooled levels map to the pooled slot."""
        other, missing = _marker_slots(state)
        lookup = {_level_key(level): i for i, level in enumerate(state.levels) if i not in (other, missing)}
        lookup.update({_level_key(level): other for level in state.pooled_levels})
        if missing is not None:
            lookup[_MISSING_KEY] = missing
        return lookup

    # ------------------------------------------------------ inverse transform
    def inverse_transform(self, rows, rng: np.random.Generator) -> pd.DataFrame:
        """Decode generated rows back into a DataFrame with the fitted schema.

        ``rows`` is :class:`EncodedRows` (what the generator's sampling path
        returns) or a dense matrix of width ``output_width_``, whose discrete
        spans are read by their arg-max (see :meth:`compact`).
        """
        if not isinstance(rows, EncodedRows):
            rows = self.compact(rows)
        n_cont = sum(s.kind == "continuous" for s in self.spans_)
        n = len(rows.values)
        if rows.values.shape != (n, n_cont) or rows.codes.shape != (n, len(self.spans_) - n_cont):
            raise ValueError(
                f"Expected compact rows with {n_cont} values and {len(self.spans_) - n_cont} codes per row, "
                f"got shapes {rows.values.shape} and {rows.codes.shape}."
            )
        columns = {}
        i = j = 0  # next continuous value, next discrete code
        for state in self.states_:
            if state.kind == "numeric":
                has_missing = state.has_missing
                missing = rows.codes[:, j + 1] == 1 if has_missing else np.zeros(n, dtype=bool)
                columns[state.name] = self._decode_numeric(rows.values[:, i], rows.codes[:, j], missing, state)
                i, j = i + 1, j + 1 + int(has_missing)
            else:
                columns[state.name] = self._decode_categorical(rows.codes[:, j], state, rng)
                j += 1
        # The arrays are new and ours: no copy, and no consolidation into 2-D blocks.
        return pd.DataFrame(columns, columns=self.columns_, copy=False)

    def _decode_numeric(self, scaled, modes, missing, state):
        means = np.asarray(state.means)
        stds = np.asarray(state.stds)
        scaled = np.clip(scaled.astype(np.float64), -1.0, 1.0)
        standard = scaled * 4.0 * stds[modes] + means[modes]
        with np.errstate(over="ignore"):  # a value beyond the float64 range becomes +-inf, clipped below
            values = (standard + state.center / state.scale) * state.scale
        if self.clip:
            values = np.clip(values, state.minimum, state.maximum)
        values = np.clip(values, -np.finfo(np.float64).max, np.finfo(np.float64).max)
        if state.is_integer:
            values = np.round(values)
        elif state.decimals is not None:
            values = np.round(values, state.decimals)
        bounds = state.integer_bounds if self.clip else None
        return _restore_numeric_dtype(values, missing, state, bounds)

    def _decode_categorical(self, codes, state, rng):
        levels = np.empty(len(state.levels), dtype=object)
        levels[:] = state.levels
        values = levels[codes]
        other, missing_slot = _marker_slots(state)
        if other is not None:
            pooled = codes == other
            n_pooled = int(pooled.sum())
            if n_pooled:
                choice = rng.choice(len(state.pooled_levels), size=n_pooled, p=state.pooled_frequencies)
                pool = np.empty(len(state.pooled_levels), dtype=object)
                pool[:] = state.pooled_levels
                values[pooled] = pool[choice]
        missing = codes == missing_slot if missing_slot is not None else np.zeros(len(codes), bool)
        return _restore_categorical_dtype(values, missing, state)


def _marker_slots(state) -> tuple[int | None, int | None]:
    """Slots of a categorical column's pooled rare levels and of its missing values (None where absent).

    Found by position, where :meth:`TableEncoder._categorical_levels` puts them, never by the
    placeholder text: a level of the user's data may read ``"__ganaugment_missing__"``.
    """
    n = len(state.levels)
    missing = n - 1 if state.has_missing else None
    other = n - 1 - int(state.has_missing) if state.pooled_levels else None
    return other, missing


def known_levels(state) -> list:
    """A categorical column's observed levels, most frequent first, then its pooled rare ones."""
    other, missing = _marker_slots(state)
    return [v for i, v in enumerate(state.levels) if i not in (other, missing)] + list(state.pooled_levels)


# Width of a normal variable's central 98 % (its 1st to 99th percentile), in standard deviations.
_CORE_WIDTH = 4.6527


def _core_spread(standard: np.ndarray) -> float:
    """The spread of the central 98 % of standardised values, in the column's standard deviations
    (about 1 for a normal column, 0.4-1 for skewed or zero-heavy ones)."""
    low, high = np.quantile(standard, [0.01, 0.99])
    return float(high - low) / _CORE_WIDTH


def _standardise(values: np.ndarray, state: _ColumnState) -> np.ndarray:
    """``(values - center) / scale`` without the overflow of the difference near the float64 limit."""
    return values / state.scale - state.center / state.scale


def _level_key(value):
    """Hashable key of a level; booleans are kept apart from the integers 0 and 1."""
    if _is_missing(value):
        return _MISSING_KEY
    value = _to_python(value)
    return ("bool", value) if isinstance(value, bool) else value


def _is_missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _to_python(value):
    """Numpy scalars become Python scalars so that levels compare and serialise simply."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value
    return value


def _restore_numeric_dtype(values, missing, state, bounds=None) -> pd.Series:
    dtype = state.dtype
    if state.is_datetime or state.is_duration:
        # The smallest int64 is numpy's NaT: a value clipped to it would read as missing.
        ints = np.maximum(_as_integers(values, "int64", bounds), np.iinfo(np.int64).min + 1)
        out = pd.Series(ints.astype("datetime64[ns]" if state.is_datetime else "timedelta64[ns]"))
        out[missing] = pd.NaT
        step = state.time_step
        tz = _time_zone(dtype) if state.is_datetime else None
        if tz is not None:
            # Time-zone aware columns: localise back from UTC nanoseconds and round on the local
            # clock, then restore the unit (a datetime64[ms, UTC] column stays in ms).
            out = out.dt.tz_localize("UTC").dt.tz_convert(tz)
        return (_round_times(out, step) if step else out).astype(dtype)
    if state.is_integer:
        ints = _as_integers(values, dtype, bounds)
        if missing.any():
            out = pd.Series(ints, dtype=dtype if dtype[:1].isupper() else "Int64")
            out[missing] = pd.NA
            try:
                # Nullable and pyarrow integer dtypes hold the gaps as they are ...
                return out.astype(dtype)
            except (TypeError, ValueError):
                # ... numpy integers cannot: the nullable Int64 holds them.
                return out
        return pd.Series(ints).astype(dtype)
    values = values.copy()
    values[missing] = np.nan
    return pd.Series(values).astype(dtype)


def _time_zone(dtype: str):
    """The time zone of a date dtype (numpy or pyarrow), or None for naive dates."""
    try:
        resolved = pd.api.types.pandas_dtype(dtype)
    except (TypeError, ValueError):
        return None
    return getattr(resolved, "tz", None) or getattr(getattr(resolved, "pyarrow_dtype", None), "tz", None)


def _as_integers(values: np.ndarray, dtype: str, bounds=None) -> np.ndarray:
    """Rounded floats as integers inside the range of ``dtype`` (a cast would wrap around).

    ``bounds`` (exact ints) clips the result after the cast, where no rounding happens.
    """
    try:
        resolved = pd.api.types.pandas_dtype(dtype)  # numpy, nullable ("UInt64") or pyarrow ("uint64[pyarrow]")
        info = np.iinfo(getattr(resolved, "numpy_dtype", resolved))
    except (TypeError, ValueError):
        info = np.iinfo(np.int64)
    target = np.uint64 if info.min == 0 else np.int64
    # The largest float64 below 2**63 (or 2**64): float(info.max) itself rounds up past the range.
    top = min(float(info.max), np.nextafter(2.0**64 if target is np.uint64 else 2.0**63, 0))
    ints = np.clip(np.nan_to_num(values), float(info.min), top).astype(target)
    if bounds is not None:
        ints = np.clip(ints, target(bounds[0]), target(bounds[1]))
    return ints


def _restore_categorical_dtype(values, missing, state) -> pd.Series:
    out = pd.Series(values, dtype=object)
    has_missing = bool(missing.any())
    if has_missing:  # a masked assignment costs a millisecond per column even with nothing to set
        out[missing] = None
    if state.categories is not None:
        # By codes: pd.Categorical(objects, categories=...) infers a dtype from the objects, which
        # pandas deprecates (a FutureWarning for pd.cut's Interval levels).
        position = {category: i for i, category in enumerate(state.categories)}
        codes = out.map(position).fillna(-1).to_numpy(dtype=np.int64)  # a gap (None) maps to -1
        categories = state.categories
        if state.categories_dtype is not None:  # absent from model files saved before it was kept
            try:
                categories = pd.Index(categories, dtype=state.categories_dtype)
            except (TypeError, ValueError, ImportError):
                pass  # left to pandas' inference, as before
        dtype = pd.CategoricalDtype(categories, ordered=state.ordered)
        return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype))
    dtype = state.dtype
    if dtype == "bool":
        if has_missing:
            return out.astype("boolean")
        return out.astype(bool)
    if dtype == "object":
        if has_missing:
            out[missing] = np.nan
        return out
    if dtype == "str":
        # pandas' "str" (StringDtype with NaN for missing); astype("str") would be numpy's
        # str cast in pandas 2 and turn the gaps into the text "None".
        if has_missing:
            out[missing] = np.nan
        try:
            return out.astype(pd.StringDtype(na_value=np.nan))
        except (TypeError, ValueError, ImportError):
            return out
    try:
        return out.astype(_dtype_from_text(dtype))
    except (TypeError, ValueError, ImportError):
        return out


def _dtype_text(dtype) -> str:
    """A level column's dtype as text that :func:`_dtype_from_text` (or pandas) reads back as the same dtype.

    ``str()`` says "string[pyarrow]" both for pandas' pyarrow-backed StringDtype and for
    ``pd.ArrowDtype(pa.string())``, and "string" for both StringDtype storages; pandas reads
    "string[pyarrow]" as the StringDtype and cannot read a pyarrow dictionary type at all.
    """
    arrow = getattr(dtype, "pyarrow_dtype", None)
    if arrow is not None and str(arrow) == "string":
        return "utf8[pyarrow]"  # pandas reads the alias as pd.ArrowDtype(pa.string())
    if isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA:
        return f"string[{dtype.storage}]"
    return str(dtype)


_ARROW_DICTIONARY = re.compile(r"dictionary<values=(\w+), indices=(\w+), ordered=([01])>\[pyarrow\]")


def _dtype_from_text(text: str):
    """The dtype :func:`_dtype_text` wrote: a pyarrow dictionary type is rebuilt; other text goes to pandas."""
    match = _ARROW_DICTIONARY.fullmatch(text)
    if match is None:
        return text
    import pyarrow as pa

    values, indices, ordered = match.groups()
    return pd.ArrowDtype(pa.dictionary(pa.type_for_alias(indices), pa.type_for_alias(values), ordered=ordered == "1"))
