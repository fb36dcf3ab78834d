"""Input checks shared by the estimators. Errors name the problem and the fix."""

from __future__ import annotations

import difflib
import functools
import numbers
import os
import sys
import warnings

import numpy as np
import pandas as pd
from sklearn.utils.validation import validate_data

__all__ = ["caller_stacklevel", "as_array", "as_frame", "check_table", "check_target", "check_n_samples", "seed_from"]


# Packages whose frames stand between a user's call and ours: their own code, and the
# scikit-learn / imbalanced-learn wrappers (output containers, pipelines, cross-validation)
# and joblib, through which imbalanced-learn's pipeline and the cross-validation loops call.
_LIBRARIES = (__package__, "sklearn", "imblearn", "joblib")


def caller_stacklevel() -> int:
    """``stacklevel`` that makes a warning name the first caller outside
    ganaugment, scikit-learn, imbalanced-learn and joblib. Call it from the function
    that warns; warnings raised deep inside a fit then point at the user's line."""
    folders = tuple(
        os.path.dirname(sys.modules[name].__file__) + os.sep for name in _LIBRARIES if name in sys.modules
    )
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(folders):
        frame, level = frame.f_back, level + 1
    return level


def warn_conditions_set(what: str, n_set: int, n_rows: int) -> None:
    """The warning for rows whose condition values were set by hand after the generator kept missing
    them; ``what`` names the conditions ("the condition c='x'")."""
    warnings.warn(
        f"The generator rarely honours {what}; {n_set} of {n_rows} rows had the condition value set directly.",
        RuntimeWarning,
        stacklevel=caller_stacklevel(),
    )


def without_overflow_warnings(function):
    """``function`` run with numpy's overflow, invalid-value and division warnings off.

    Statistics of values near the float64 limit overflow; the results are
    handled, so numpy's RuntimeWarnings would only be noise. Unlike
    ``np.errstate`` used as a decorator, this wrapper is a ganaugment frame,
    so :func:`caller_stacklevel` still points the function's own warnings at
    the user's line.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return function(*args, **kwargs)

    return wrapper


def as_array(X, name: str = "X") -> np.ndarray:
    """``np.asarray(X)``, with a ragged sequence (rows or images of unequal
    shapes) named as such instead of numpy's inhomogeneous-shape error."""
    try:
        return np.asarray(X)
    except ValueError as exc:
        if "inhomogeneous" not in str(exc):
            raise
        raise ValueError(
            f"{name} is a ragged sequence: its rows or images do not all have the same shape. "
            "Pad or resize them to one shape first."
        ) from None


def as_frame(X, *, estimator, reset: bool):
    """Return ``(DataFrame, kind)`` for a table given as a DataFrame or an array.

    Records or checks ``n_features_in_`` / ``feature_names_in_`` through
    scikit-learn's own machinery, so a different column set at transform
    gives scikit-learn's usual error.
    """
    if hasattr(X, "tocsr") or hasattr(X, "sparse"):
        if not isinstance(X, pd.DataFrame):
            raise TypeError("Sparse input is not supported; pass a dense array or a DataFrame.")
    if isinstance(X, pd.Series):
        raise ValueError("Expected a 2D table (DataFrame or 2D array), got a Series; use X.to_frame().")
    if isinstance(X, pd.DataFrame):
        if isinstance(X.columns, pd.MultiIndex):
            raise ValueError(
                "X has multi-level column names, which the output could not keep; flatten them first, "
                "for example X.columns = ['_'.join(map(str, c)) for c in X.columns]."
            )
        if X.columns.duplicated().any():
            dupes = X.columns[X.columns.duplicated()].unique().tolist()
            raise ValueError(f"X has duplicate column names {dupes}; rename them so each column is unique.")
        if X.columns.isna().any():
            # NaN is not equal to itself: such a model saved but could not be loaded back.
            unnamed = [i for i, missing in enumerate(X.columns.isna()) if missing]
            raise ValueError(
                f"X has a column named NaN/None (position {unnamed[0]}); name every column, for example "
                "X.columns = [str(c) for c in X.columns]."
            )
        frame, kind = X, "frame"
    else:
        array = as_array(X)
        if array.ndim != 2:
            hint = (
                "Reshape your data with array.reshape(-1, 1) for a single feature or "
                "array.reshape(1, -1) for a single sample."
                if array.ndim < 2
                else "Images are read from 3-D or 4-D arrays: (n, H, W), (n, H, W, C) or (n, C, H, W)."
            )
            raise ValueError(
                f"Expected a 2D array of shape (n_samples, n_features), got an array with {array.ndim} "
                f"dimension(s). {hint}"
            )
        if np.iscomplexobj(array):
            raise ValueError("Complex data not supported.")
        frame, kind = pd.DataFrame(array), "array"
        if array.dtype == object:
            # A mixed table's to_numpy() is an object array: give its number
            # columns their number dtypes, or they would be learned as levels.
            frame = frame.infer_objects()
    validate_data(estimator, X if kind == "frame" else frame.to_numpy(), reset=reset, skip_check_array=True)
    if not reset:
        fitted = estimator.encoder_.columns_
        if kind == "frame" and getattr(estimator, "_input_kind", None) == "array":
            # Fitted on an array: scikit-learn has warned that X has names; its columns are read by position.
            frame = frame.set_axis(list(fitted), axis=1)
        elif kind == "frame" and list(frame.columns) != list(fitted):
            missing = [c for c in fitted if c not in frame.columns]
            extra = [c for c in frame.columns if c not in fitted]
            if not missing and not extra:
                raise ValueError(
                    f"X has the columns seen at fit in another order: {list(frame.columns)} instead of "
                    f"{list(fitted)}; reorder them with X[{list(fitted)}]."
                )
            raise ValueError(
                f"X does not have the columns seen at fit (missing: {missing}, unexpected: {extra})."
            )
        if kind == "array":
            frame.columns = fitted
    return frame, kind


def check_table(frame: pd.DataFrame, *, min_rows: int) -> None:
    if frame.shape[1] == 0:
        raise ValueError("0 feature(s) (shape=(%d, 0)) while a minimum of 1 is required." % frame.shape[0])
    n = frame.shape[0]
    if n < min_rows:
        if n == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={frame.shape}) while a minimum of {min_rows} is required.")
        raise ValueError(
            f"Found n_samples = {n}: a GAN needs at least {min_rows} rows to learn a distribution."
        )
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_complex_dtype(column):
            raise ValueError(f"Complex data not supported (column {name!r}).")
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            infinite = np.isinf(column.to_numpy(dtype=np.float64, na_value=np.nan)).any()
        elif column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) not in _NO_FLOATS:
            # An object column of Python floats (mixed with text, say) is learned
            # as levels, and an infinite level would be generated as it is.
            infinite = any(isinstance(v, float) and np.isinf(v) for v in column.to_numpy())
        elif isinstance(column.dtype, pd.CategoricalDtype):
            # Only the levels can be infinite; a category of inf would be generated as it is.
            levels = column.cat.categories
            infinite = bool(levels.size) and (
                np.isinf(levels.to_numpy(dtype=np.float64)).any() if pd.api.types.is_float_dtype(levels.dtype)
                else levels.dtype == object and any(isinstance(v, float) and np.isinf(v) for v in levels)
            )
        else:
            infinite = False
        if infinite:
            raise ValueError(f"Column {name!r} contains infinite values; replace them (NaN is allowed and learned).")


# pandas' inferred types of object columns that cannot hold a float.
_NO_FLOATS = {"string", "bytes", "integer", "boolean", "datetime", "date", "time", "period", "categorical", "empty"}


def check_target(y, n_rows: int, *, estimator, min_classes: int = 2):
    """Validate class labels; returns ``(classes, codes)``."""
    refuse_column_name_as_y(y, "fit")
    # Before np.asarray: it would turn a NaN in a list of text into the text "nan".
    refuse_missing_labels(y)
    if not hasattr(y, "dtype"):
        # numpy would turn a list of numbers and text into text ([1, "a"] -> ["1", "a"]).
        labels = pd.Series(np.asarray(y, dtype=object).ravel()).dropna().tolist()
        if any(isinstance(v, (str, bytes)) for v in labels) and not all(isinstance(v, (str, bytes)) for v in labels):
            raise _mixed_labels(labels)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional, got shape {y.shape}.")
    if len(y) != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {len(y)} labels.")
    numbers = y if y.dtype.kind == "f" else None
    if y.dtype == object and pd.api.types.infer_dtype(y, skipna=False) in ("floating", "mixed-integer-float"):
        numbers = y.astype(np.float64)
    if numbers is not None and not np.isfinite(numbers).all():
        raise ValueError("y contains infinite values.")
    example = None if numbers is None else first_fraction(numbers)
    if example is not None:
        raise ValueError(
            f"y holds continuous numbers (e.g. {example!r}); the GAN conditions on class labels. "
            "Bin them first (for example with pd.cut), or keep the numbers as a column of X."
        )
    try:
        classes, codes = np.unique(y, return_inverse=True)
    except TypeError:
        raise _mixed_labels(y.tolist()) from None
    if len(classes) < min_classes:
        only = classes[0].item() if isinstance(classes[0], np.generic) else classes[0]
        raise ValueError(
            f"y holds a single class ({only!r}); conditioning on the class needs at least "
            f"{min_classes} classes. Fit without y to learn one class."
        )
    return classes, codes.astype(np.int64)


def check_sample_weight(sample_weight, n_rows: int, class_codes=None, classes=None, *, of: str = "X",
                        name: str = "sample_weight") -> np.ndarray | None:
    """Row weights scaled to a mean of 1, or None when there are none or all are equal.

    Refuses, by name, weights of the wrong shape or length, missing, infinite or negative
    weights, all-zero weights, and a class whose rows all weigh zero (the GAN could not learn it).
    ``of`` names the table the weights belong to in those messages, ``name`` the parameter.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n_rows, sample_weight, dtype=np.float64)  # checked as one weight for every row
    dtype = getattr(sample_weight, "dtype", None)
    if dtype is not None and (is_dates(dtype) or is_duration(dtype)):
        held = "dates" if is_dates(dtype) else "durations"
        raise ValueError(f"{name} holds {held} ({dtype}); weights are numbers.")
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers, one per row of {of}.") from None
    if weights.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {weights.shape}.")
    if len(weights) != n_rows:
        raise ValueError(f"{of} has {n_rows} rows but {name} has {len(weights)} weights.")
    if np.isnan(weights).any():
        raise ValueError(f"{name} has {int(np.isnan(weights).sum())} missing (NaN) weights.")
    if not np.isfinite(weights).all():
        raise ValueError(f"{name} contains infinite values.")
    if (weights < 0).any():
        raise ValueError(f"{name} must be >= 0; the smallest weight is {weights.min():g}.")
    if weights.max() == 0:
        raise ValueError(f"{name} is zero for every row of {of}; at least one row needs a positive weight.")
    if class_codes is not None:
        refuse_weightless_classes(np.bincount(class_codes, weights=weights, minlength=len(classes)), classes)
    if (weights == weights[0]).all():
        return None
    scaled = weights / weights.max()  # no overflow in the mean of weights near the float64 limit
    return scaled / scaled.mean()


def refuse_weightless_classes(mass: np.ndarray, classes, where: str = "") -> None:
    """Refuse, by name, the classes whose rows all weigh 0 (``mass``: each class's total weight,
    ``where`` says over which rows, as in " on every rank"): the GAN could not learn them."""
    if (mass == 0).any():
        empty = [plain_label(c) for c in np.asarray(classes)[mass == 0]]
        raise ValueError(
            f"Every row of class {empty[0]!r} has weight 0{where}"
            + (f" (and of {empty[1:]})" if len(empty) > 1 else "")
            + ": the GAN could not learn it. Drop those rows and their class, or give them weight."
        )


def kept_weights(weights, kept: np.ndarray, class_codes=None, classes=None) -> np.ndarray | None:
    """The row weights of the rows a fit keeps after the fidelity gate's hold-out, checked again."""
    if weights is None:
        return None
    try:
        return check_sample_weight(weights[kept], len(kept), class_codes, classes)
    except ValueError as exc:
        raise ValueError(f"After the fidelity gate's hold-out (validation_fraction): {exc}") from None


def held_out_weights(weights, held: np.ndarray) -> np.ndarray | None:
    """The row weights of the fidelity gate's held-out rows (None for an unweighted fit).

    Refuses a hold-out whose rows all weigh zero: the gate would have no population to compare with.
    """
    if weights is None:
        return None
    if not weights[held].any():
        raise ValueError(
            "After the fidelity gate's hold-out (validation_fraction): every held-out row has sample_weight 0, so "
            "the gate would have nothing to compare the model with. Give more rows weight, or hold out more rows."
        )
    return weights[held]


def plain_label(value):
    """A numpy scalar label as the Python value it holds (so messages show ``1``, not ``np.int64(1)``)."""
    return value.item() if isinstance(value, np.generic) else value


def first_fraction(numbers: np.ndarray) -> float | None:
    """The first finite number in ``numbers`` that is not whole (a sign of a continuous target), or None."""
    fractional = numbers[np.isfinite(numbers) & (np.mod(numbers, 1.0) != 0.0)]
    return float(fractional[0]) if fractional.size else None


def refuse_missing_labels(y) -> None:
    """A missing label (NaN, None, pd.NA, NaT) is refused by name, before any sort of the labels trips on it."""
    if pd.isna(pd.Series(np.asarray(y, dtype=object).ravel(), dtype=object)).any():
        raise ValueError("y contains missing values (NaN/None); drop those rows or fill the labels.")


def scalar_label(y):
    """A 0-d array given as one class (``np.squeeze(y[:1])``) unwrapped to its scalar."""
    return y[()] if isinstance(y, np.ndarray) and y.ndim == 0 else y


def refuse_column_name_as_y(y, call: str) -> None:
    """A column's name given as ``y`` (``fit(df, "income")``) gets an error that shows the call to make."""
    if isinstance(y, str):
        raise TypeError(
            f"y is the text {y!r}, not labels; to use a column as the class, pass it and drop it from X: "
            f"{call}(X.drop(columns=[{y!r}]), X[{y!r}])."
        )


def _mixed_labels(labels: list) -> TypeError:
    kinds = sorted({type(v).__name__ for v in labels})
    return TypeError(
        f"y mixes label types ({', '.join(kinds)}); convert the labels to one type, for example with y.astype(str)."
    )


def did_you_mean(value, choices) -> str:
    """`` Did you mean X?`` naming the choice ``value`` was probably meant to be, or ``""``.

    A choice equal to ``value`` but for case and surrounding spaces comes first
    (Adult's labels read as ``" >50K"``, with a leading space); otherwise the
    closest texts by :func:`difflib.get_close_matches`.
    """
    choices = list(choices)
    text = str(value)
    loose = text.strip().casefold()
    same = [c for c in choices if str(c).strip().casefold() == loose and str(c) != text]
    if same:
        return f" Did you mean {same[0]!r}?"
    by_text = {}
    for c in choices:
        by_text.setdefault(str(c), c)
    close = difflib.get_close_matches(text, list(by_text), n=2, cutoff=0.75)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(by_text[c]) for c in close) + "?"


def check_n_samples(n_samples) -> int:
    if n_samples is None:
        raise ValueError("n_samples is required.")
    if not isinstance(n_samples, numbers.Integral) or isinstance(n_samples, bool):
        raise TypeError(f"n_samples must be an int, got {type(n_samples).__name__}.")
    if n_samples <= 0:
        raise ValueError(f"n_samples must be a positive int, got {n_samples}.")
    return int(n_samples)


def check_class_counts(counts: dict) -> list:
    """``[(label, count)]`` from a ``{class: rows}`` dict, every count a non-negative int."""
    parts = []
    for label, count in counts.items():
        if not isinstance(count, numbers.Integral) or isinstance(count, bool):
            raise TypeError(
                f"The y dict must map classes to row counts (ints); class {label!r} has {count!r}."
            )
        if count < 0:
            raise ValueError(f"Counts in the y dict must be non-negative; class {label!r} has {count}.")
        parts.append((label, int(count)))
    return parts


def seed_from(random_state) -> int:
    """An int seed from ``random_state`` (int, RandomState or None).

    A numpy ``Generator`` is refused, as scikit-learn's parameter checks refuse it.
    """
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**63 - 1))
    if isinstance(random_state, numbers.Integral):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int, a RandomState or None, got {random_state!r}.")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    raise ValueError(f"random_state must be an int, a RandomState or None, got {random_state!r}.")


def call_rng(random_state) -> np.random.Generator | None:
    """The generator of one call seeded with ``random_state``, or None (the model's own stream) for None."""
    return None if random_state is None else np.random.default_rng(seed_from(random_state))


def is_duration(dtype) -> bool:
    """Whether ``dtype`` holds durations: numpy ``timedelta64`` or a pyarrow ``duration``."""
    if pd.api.types.is_timedelta64_dtype(dtype):
        return True
    arrow = getattr(dtype, "pyarrow_dtype", None)
    return arrow is not None and str(arrow).startswith("duration")


def is_dates(dtype) -> bool:
    """Whether ``dtype`` holds dates: numpy ``datetime64`` (with a time zone or not), or a pyarrow
    ``timestamp`` or ``date`` (which pandas' own ``is_datetime64_any_dtype`` does not count)."""
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return True
    arrow = getattr(dtype, "pyarrow_dtype", None)
    return arrow is not None and str(arrow).startswith(("timestamp", "date"))


def as_numpy_dates(series: pd.Series) -> pd.Series:
    """A date column as numpy ``datetime64``: pyarrow timestamps keep their unit and time zone,
    pyarrow dates become whole-day timestamps in seconds."""
    arrow = getattr(series.dtype, "pyarrow_dtype", None)
    if arrow is None or not is_dates(series.dtype):
        return series
    unit, tz = getattr(arrow, "unit", "s"), getattr(arrow, "tz", None)
    return series.astype(pd.DatetimeTZDtype(unit, tz) if tz else f"datetime64[{unit}]")


def as_numpy_durations(series: pd.Series) -> pd.Series:
    """A duration column as numpy ``timedelta64`` (pyarrow durations converted in their own unit)."""
    arrow = getattr(series.dtype, "pyarrow_dtype", None)
    return series.astype(f"timedelta64[{arrow.unit}]") if arrow is not None and is_duration(series.dtype) else series


def column_kind(series: pd.Series) -> str:
    """``"numeric"``, ``"datetime"`` or ``"categorical"`` (booleans are categorical).

    The one rule for what a column holds, shared by the encoder (which
    encodes datetimes as numbers) and the fidelity metrics.
    """
    if pd.api.types.is_bool_dtype(series):
        return "categorical"
    if is_dates(series.dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series) or is_duration(series.dtype):
        return "numeric"  # durations too: the encoder learns them in nanoseconds, the metrics in seconds
    return "categorical"
