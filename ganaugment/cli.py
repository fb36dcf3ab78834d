"""The ``ganaugment`` command line: fit, sample, oversample, report, demo.

Every hyperparameter option is generated from the estimator itself: its name
and default from ``get_params()``, its type from ``_parameter_constraints``
and its help from the class docstring. An option left out is not passed at
all, so the estimator's own default applies and the command line can never
drift from the Python API.

A user error prints one line, ``ganaugment: error: ...``, and exits with a
non-zero status; set ``GANAUGMENT_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import numbers
import os
import re
import sys
import time
import warnings

from ._validation import did_you_mean, is_dates, is_duration

__all__ = ["main", "build_parser", "read_table", "write_table"]

PROG = "ganaugment"
_HP_PREFIX = "hp__"
# Parameters the command line sets itself rather than exposing as options.
_HANDLED = {"verbose"}


class UsageError(Exception):
    """A mistake in how the command was called or in the files it was given."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (plus a hint to --help)."""

    program = PROG  # the name an error line starts with

    def error(self, message):
        self.exit(2, f"{self.program}: error: {message} (see '{self.prog} --help')\n")


# ------------------------------------------------------------ table files
_READERS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
_COMPRESSION = (".gz", ".bz2", ".zip", ".xz", ".zst")


def _table_format(path: str) -> str:
    name = os.path.basename(path).lower()
    compressed = False
    for suffix in _COMPRESSION:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            compressed = True
    ext = os.path.splitext(name)[1]
    if ext not in _READERS:
        raise UsageError(f"cannot tell the format of {path!r} from its extension; use .csv, .tsv or .parquet")
    if compressed and _READERS[ext] == "parquet":
        raise UsageError(
            f"{path!r}: Parquet files are not compressed as a whole (Parquet compresses its own columns); use .parquet"
        )
    return _READERS[ext]


def _check_output(path: str, *, table: bool = False, inputs=()) -> None:
    """Fail now, before any training or generating, if ``path`` cannot be written (``-`` is stdout)
    or is one of the command's ``inputs`` (None stands for an input not given)."""
    if path == "-":
        return
    if os.path.isdir(path) or path.endswith(tuple(filter(None, (os.sep, os.altsep)))):
        raise UsageError(f"{path!r} is a folder; give the name of a file to write")
    folder = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(folder):
        problem = "is a file, not a folder" if os.path.exists(folder) else "does not exist"
        raise UsageError(f"cannot write {path!r}: folder {folder!r} {problem}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path!r}: folder {folder!r} is not writable")
    if os.path.exists(path):
        if not os.access(path, os.W_OK):
            raise UsageError(f"cannot write {path!r}: the file is read-only")
        for source in inputs:
            if source is not None and os.path.exists(source) and os.path.samefile(path, source):
                raise UsageError(f"-o {path!r} is the input file {source!r}; write to another file")
    if table:
        _table_format(path)


@contextlib.contextmanager
def _ending_on_ctrl_c(output: str, checkpoint_dir=None):
    """Ctrl-C during training ends the command (status 130) and writes nothing to ``output``.

    The library answers Ctrl-C by keeping the last finished epoch (and saving
    it to ``checkpoint_dir``) with a :class:`TrainingInterruptedWarning`; a
    command that went on to write that half-trained result over ``output``
    would report success for a run its user stopped.
    """
    from .training import TrainingInterruptedWarning

    stopped = []
    show = warnings.showwarning

    def keep_back(message, category, *args, **kwargs):
        if issubclass(category, TrainingInterruptedWarning):
            stopped.append(message)
        else:
            show(message, category, *args, **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("always", TrainingInterruptedWarning)
        warnings.showwarning = keep_back
        yield
    if stopped:
        message = f"nothing was written to {output!r}"
        if checkpoint_dir is not None:
            message += f"; {os.fspath(checkpoint_dir)!r} holds the last finished epoch, and the same command resumes from it"
        raise KeyboardInterrupt(message)


def text_separator(path: str, sep=None) -> str:
    """The separator of a CSV / TSV file: ``sep`` when given, else the extension's."""
    return sep if sep is not None else ("\t" if _table_format(path) == "tsv" else ",")


def check_columns_split(columns, path: str, sep: str) -> None:
    """Refuse a text table read as one column whose name holds another separator: its rows
    would be learned as whole-row categories and generated verbatim."""
    if len(columns) != 1:
        return
    name = str(columns[0])
    other = next((s for s in (";", "\t", "|", ",") if s != sep and s in name), None)
    if other is not None:
        raise UsageError(
            f"{path!r} reads as one column named {name[:60]!r}: its values seem separated by {other!r}, "
            f"not {sep!r}; pass --sep {other!r}"
        )


def read_table(path: str, *, parse_dates=None, sep=None):
    """Read a CSV / TSV / Parquet file (chosen by extension) into a DataFrame.

    ``sep`` overrides the separator of a text file (``,`` for CSV, a tab for TSV).
    """
    import pandas as pd

    kind = _table_format(path)
    if not os.path.exists(path):
        raise UsageError(f"file not found: {path}")
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            sep = text_separator(path, sep)
            header = pd.read_csv(path, sep=sep, header=None, nrows=1).iloc[0].tolist() if os.path.getsize(path) else []
            repeated = sorted({str(name) for name in header if header.count(name) > 1})
            if repeated:  # pandas would rename the second one "name.1" and learn it as a column of its own
                raise UsageError(f"{path!r} names a column twice: {', '.join(map(repr, repeated))}; rename or drop one")
            frame = pd.read_csv(path, sep=sep)
            check_columns_split(frame.columns, path, sep)
    except ImportError as exc:
        raise _needs_package(path, exc, "reading")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise UsageError(f"cannot read {path!r}: {_one_line(exc)}")
    if frame.shape[0] == 0:
        raise UsageError(f"{path!r} holds no rows")
    for column in parse_dates or ():
        frame[column] = _dates(frame, column, path)
    return frame


def _dates(frame, column: str, path: str):
    """Column ``column`` of ``frame`` as datetimes, or a UsageError that names what is not a date.

    Times with different UTC offsets in one column (a time zone across a clock change, as ``sample``
    writes it) are read as UTC instants; pandas alone would leave them as text, to be learned as levels.
    """
    import pandas as pd

    if column not in frame.columns:
        raise UsageError(
            f"--parse-dates names {column!r}, which is not a column of {path!r}; "
            f"its columns are {list(frame.columns)}." + did_you_mean(column, frame.columns)
        )
    values = frame[column]
    if is_dates(values.dtype):
        return values
    if pd.api.types.is_numeric_dtype(values.dtype):  # to_datetime would read them as nanoseconds since 1970
        raise UsageError(f"--parse-dates {column!r}: {path!r} holds numbers there ({values.dtype}), not dates")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' "could not infer format" and mixed-offset warnings
        for utc in (False, True):
            try:
                parsed = pd.to_datetime(values, utc=utc)
            except (ValueError, TypeError, OverflowError):
                continue
            if is_dates(parsed.dtype):
                return parsed
    present = values.dropna()
    example = next((v for v in present if _not_a_date(v)), present.iloc[0] if len(present) else None)
    raise UsageError(f"--parse-dates {column!r}: {path!r} holds values that are not dates, e.g. {example!r}")


def _not_a_date(value) -> bool:
    import pandas as pd

    try:
        pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return True
    return False


def write_table(frame, path: str) -> None:
    """Write ``frame`` to CSV / TSV / Parquet by extension, atomically; ``-`` is CSV on stdout."""
    from .persistence import atomic_write

    if path == "-":
        frame.to_csv(sys.stdout, index=False)
        return
    kind = _table_format(path)
    try:
        if kind == "parquet":
            with atomic_write(path) as handle:
                frame.to_parquet(handle, index=False)
        else:
            compression = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}
            codec = next((c for s, c in compression.items() if path.lower().endswith(s)), None)
            if codec == "zip":  # the member is named after the file (the temporary handle has no name to give)
                codec = {"method": "zip", "archive_name": os.path.basename(path)[: -len(".zip")]}
            with atomic_write(path) as handle:
                frame.to_csv(handle, sep="\t" if kind == "tsv" else ",", index=False, compression=codec)
    except ImportError as exc:
        raise _needs_package(path, exc)


def _needs_package(path: str, exc: ImportError, verb: str = "writing") -> "UsageError":
    """The missing optional package that reading or writing ``path`` needs, and how to install it:
    pyarrow for Parquet, otherwise the one pandas names (zstandard for ``.zst``, say)."""
    named = re.search(r"optional dependency '([^']+)'", str(exc))
    package = named.group(1) if named else (getattr(exc, "name", None) or "pyarrow")
    install = "pip install 'ganaugment[parquet]'" if package == "pyarrow" else f"pip install {package}"
    return UsageError(f"{verb} {path!r} needs {package} ({_one_line(exc)}); install it with: {install}")


# -------------------------------------------------- estimator options
def _param_docs(cls, *, types: bool = False, when_none: bool = False) -> dict:
    """First sentence of every parameter's description in a numpydoc docstring.

    With ``types=True``, each parameter's type instead (``"tuple of int"``);
    with ``when_none=True``, the sentence that says what ``None`` means
    (``"None picks ..."``), for the parameters that have one.
    """
    doc = cls.__doc__ or ""
    match = re.search(r"\n\s*Parameters\n\s*-+\n(.*?)(\n\s*[A-Z][A-Za-z ]+\n\s*-{3,}\n|\Z)", doc, re.S)
    if not match:
        return {}
    docs, names, lines, kind = {}, [], [], ""

    def flush():
        text = " ".join(line.strip() for line in lines).strip()
        text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text).replace("``", "")
        sentences = re.split(r"(?<=\.)\s", text) if text else [""]
        if when_none:
            said = [s for s in sentences if s.startswith("None ")]
            docs.update({name: said[0].rstrip(".") for name in names} if said else {})
            return
        for name in names:
            docs[name] = kind if types else sentences[0]

    body = match.group(1).splitlines()
    indent = min((len(l) - len(l.lstrip()) for l in body if l.strip()), default=0)
    for line in body:
        if not line.strip():
            continue
        if len(line) - len(line.lstrip()) == indent:
            flush()
            head, _, spec = line.partition(" : ")
            names, lines = [n.strip() for n in head.split(",")], []
            kind = re.split(r",\s*default\b", spec)[0].strip()
        else:
            lines.append(line)
    flush()
    return docs


def _constraint_kinds(constraints) -> set:
    from sklearn.utils._param_validation import Interval, Options, StrOptions

    kinds = set()
    for item in constraints or ():
        if item is None:
            kinds.add("none")
        elif isinstance(item, Interval):
            kinds.add("int" if item.type is numbers.Integral else "float")
        elif isinstance(item, StrOptions):
            kinds.add("str")
        elif isinstance(item, Options):
            kinds.add("choice")
        elif item in ("boolean",):
            kinds.add("bool")
        elif item in ("random_state",):
            kinds.add("int")
        elif item is str:
            kinds.add("str")
        elif item is bool:
            kinds.add("bool")
        elif item in (int,):
            kinds.add("int")
        elif item in (float,):
            kinds.add("float")
        elif item in (list, tuple):
            kinds.add("list")
        elif item == "array-like":
            kinds.add("list")
        else:
            kinds.add("other")
    return kinds


def _converter(name: str, default, kinds: set, doc_type: str = ""):
    """A string -> value function for one hyperparameter, and a metavar.

    List elements are integers when the default holds integers or the
    docstring types the parameter as ``tuple of int`` / ``list of int``
    (a default of None says nothing about them).
    """
    if isinstance(default, bool) or kinds == {"bool"}:
        return None, None  # a --flag / --no-flag pair
    if isinstance(default, (tuple, list)) or "list" in kinds:
        int_default = isinstance(default, (tuple, list)) and default and all(
            isinstance(v, numbers.Integral) for v in default
        )
        element = int if int_default or re.fullmatch(r"(tuple|list) of int", doc_type) else str

        def as_list(text):
            if text.lower() == "none" and "none" in kinds:
                return None
            items = [t.strip() for t in text.split(",") if t.strip()]
            try:
                values = [element(t) for t in items]
            except ValueError:
                raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
            return tuple(values) if isinstance(default, tuple) or doc_type.startswith("tuple") else values

        return as_list, "A,B,..."
    simple = [k for k in ("int", "float", "str") if k in kinds]
    if not simple:
        if isinstance(default, numbers.Integral):
            simple = ["int"]
        elif isinstance(default, numbers.Real):
            simple = ["float"]
        elif isinstance(default, str):
            simple = ["str"]

    def convert(text):
        if text.lower() == "none" and ("none" in kinds or default is None):
            return None
        if text.lstrip().startswith(("{", "[")) and ("other" in kinds or "list" in kinds):
            try:
                return json.loads(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"expected JSON, got {text!r}") from None
        for kind in simple:
            try:
                return {"int": int, "float": float, "str": str}[kind](text)
            except ValueError:
                continue
        if not simple or "other" in kinds or "choice" in kinds:
            try:
                return json.loads(text)
            except ValueError:
                return text
        wanted = " or ".join({"int": "an integer", "float": "a number", "str": "a string"}[k] for k in simple)
        raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")

    single = len(simple) == 1 and not kinds & {"other", "choice", "list"}
    metavar = {"int": "INT", "float": "FLOAT", "str": "TEXT"}.get(simple[0], "VALUE") if single else "VALUE"
    return convert, metavar


def add_estimator_options(parser, cls, *, title: str, skip=()) -> None:
    """One option per hyperparameter of ``cls``, derived from the class itself."""
    defaults = cls().get_params(deep=False)
    constraints = getattr(cls, "_parameter_constraints", {})
    docs = _param_docs(cls)
    doc_types = _param_docs(cls, types=True)
    doc_none = _param_docs(cls, when_none=True)
    group = parser.add_argument_group(title, f"Hyperparameters of {cls.__name__}; a left-out option keeps the class default.")
    for name, default in defaults.items():
        if name in _HANDLED or name in skip:
            continue
        kinds = _constraint_kinds(constraints.get(name))
        flag = "--" + name.replace("_", "-")
        shown = ",".join(map(str, default)) if isinstance(default, (tuple, list)) else default
        help_text = (docs.get(name) or name.replace("_", " ")).replace("%", "%%")
        if default is None and name in doc_none:
            shown = doc_none[name]  # "None picks 300 for tables ..." says more than "None"
        help_text += f" (default: {shown})".replace("%", "%%")
        convert, metavar = _converter(name, default, kinds, doc_types.get(name, ""))
        if convert is None:
            group.add_argument(
                flag, dest=_HP_PREFIX + name, action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS, help=help_text,
            )
        else:
            group.add_argument(
                flag, dest=_HP_PREFIX + name, type=convert, metavar=metavar,
                default=argparse.SUPPRESS, help=help_text,
            )


def estimator_params(args) -> dict:
    """The hyperparameters the user actually set on the command line."""
    return {k[len(_HP_PREFIX):]: v for k, v in vars(args).items() if k.startswith(_HP_PREFIX)}


# ---------------------------------------------------------------- parser
def _optional_class(name: str):
    """``ganaugment.<name>`` if this installation provides it, else None."""
    import ganaugment

    try:
        return getattr(ganaugment, name)
    except AttributeError:
        return None


def build_parser() -> argparse.ArgumentParser:
    from . import GANAugmenter, __version__

    parser = _Parser(
        prog=PROG,
        description="GAN data augmentation from the command line: learn a table, generate synthetic rows, "
        "balance classes, and check the fidelity of synthetic data. Tables are CSV, TSV or Parquet, "
        "chosen by file extension.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    fit = commands.add_parser(
        "fit", help="train a GAN on a table and save the model",
        description="Train a conditional GAN on DATA and save it as a safe, versioned model file.",
    )
    fit.add_argument("data", metavar="DATA", help="training table (.csv, .tsv or .parquet)")
    fit.add_argument("-o", "--output", required=True, metavar="MODEL", help="where to write the model (e.g. model.gan)")
    fit.add_argument("--target", metavar="COL", help="class column to condition on; 'sample --class' then picks classes")
    fit.add_argument(
        "--weights", metavar="COL",
        help="column of row weights (survey or design weights): the model learns the weighted distribution, "
        "and the column itself is not learned or generated",
    )
    _add_reading_options(fit)
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    add_estimator_options(fit, GANAugmenter, title="GAN options")
    fit.set_defaults(handler=_cmd_fit)

    sample = commands.add_parser(
        "sample", help="generate synthetic rows from a saved model",
        description="Generate synthetic rows from a model written by 'ganaugment fit'. By default the random "
        "generator state stored in the model is used, so the same command gives the same rows.",
    )
    sample.add_argument("model", metavar="MODEL", help="model file written by 'ganaugment fit'")
    sample.add_argument("-n", "--n-samples", type=_positive_int, required=True, metavar="N", help="number of rows")
    sample.add_argument("-o", "--output", default="-", metavar="OUT", help="output table (.csv, .tsv, .parquet); '-' (default) writes CSV to stdout")
    sample.add_argument("--class", dest="klass", metavar="C", help="generate only rows of class C (models fitted with --target)")
    sample.add_argument(
        "--condition", action="append", default=[], metavar="COL=VALUE",
        help="every row holds VALUE in categorical column COL; repeat for several columns",
    )
    sample.add_argument("--seed", type=_seed, metavar="INT", help="seed the sampling instead of using the stored generator state")
    sample.add_argument("--device", default="auto", help="where to run the generator: auto, cpu or cuda (default: auto)")
    sample.add_argument(
        "--chunk-size", type=_positive_int, default=100_000, metavar="N",
        help="rows generated and written at a time; memory depends on it, not on -n (default: 100000)",
    )
    sample.add_argument("--quiet", action="store_true", help="no progress bar")
    sample.set_defaults(handler=_cmd_sample)

    over = commands.add_parser(
        "oversample", help="balance a table's classes with GANOverSampler",
        description="Add synthetic rows to the minority classes of DATA (GANOverSampler.fit_resample) and "
        "write the balanced table: the real rows first and unchanged, then the synthetic ones.",
    )
    over.add_argument("data", metavar="DATA", help="imbalanced table (.csv, .tsv or .parquet)")
    over.add_argument("--target", required=True, metavar="COL", help="class column")
    over.add_argument("-o", "--output", required=True, metavar="OUT", help="balanced table to write")
    _add_reading_options(over)
    over.add_argument("--quiet", action="store_true", help="no progress bar for the GAN's training")
    sampler = _optional_class("GANOverSampler")
    if sampler is not None:
        # The GAN itself is not an option: its hyperparameters (--epochs, ...) are.
        add_estimator_options(over, sampler, title="sampler options", skip=("estimator",))
    over.set_defaults(handler=_cmd_oversample)

    report = commands.add_parser(
        "report", help="score synthetic data against real data and write an HTML report",
        description="Compare SYNTHETIC with REAL (ganaugment.evaluate) and write a self-contained HTML report.",
    )
    report.add_argument("real", metavar="REAL", help="the real (training) table")
    report.add_argument("synthetic", metavar="SYNTHETIC", help="the synthetic table")
    report.add_argument("-o", "--output", required=True, metavar="HTML", help="report file to write (e.g. report.html)")
    report.add_argument("--holdout", metavar="TABLE", help="real rows not used in training: enables privacy and ML-efficacy figures")
    report.add_argument("--target", metavar="COL", help="class column for machine-learning efficacy")
    report.add_argument(
        "--weights", metavar="COL",
        help="column of REAL holding row weights (those the model was fitted with): the synthetic rows are compared "
        "with the weighted population; the column is not scored. HOLDOUT's column of that name, where it has one, "
        "weighs the efficacy scores; SYNTHETIC's is dropped",
    )
    _add_reading_options(report)
    report.set_defaults(handler=_cmd_report)

    demo = commands.add_parser(
        "demo", help="fit on a generated customer table, print fidelity figures, write the synthetic table",
        description="Run the demo: fit GANAugmenter on a generated customer table, print SDMetrics figures, "
        "and write the synthetic table to CSV.",
    )
    demo.add_argument("--quick", action="store_true", help="a small table and few epochs (seconds, for a smoke test)")
    demo.add_argument("--output-dir", default="ganaugment-demo", metavar="DIR", help="where to write the synthetic table (default: ganaugment-demo)")
    demo.add_argument("--random-state", type=int, default=0, metavar="INT", help="seed of the table and the model (default: 0)")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def _add_reading_options(parser):
    parser.add_argument(
        "--parse-dates", type=_column_list, default=None, metavar="COL,COL",
        help="columns to read as datetimes (CSV stores them as text)",
    )
    parser.add_argument(
        "--sep", default=None, metavar="CHAR",
        help="separator of a CSV/TSV input, e.g. ';' (default: ',' for .csv, a tab for .tsv)",
    )


def _column_list(text):
    return [t.strip() for t in text.split(",") if t.strip()]


def _positive_int(text, smallest=1, what="a positive integer"):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < smallest:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def _seed(text):
    return _positive_int(text, 0, "a non-negative integer")


# -------------------------------------------------------------- commands
def _split_target(frame, target, path):
    if target is None:
        return frame, None
    if target not in frame.columns:
        raise UsageError(
            f"--target {target!r} is not a column of {path!r}; its columns are {list(frame.columns)}."
            + did_you_mean(target, frame.columns)
        )
    return frame.drop(columns=[target]), frame[target]


def _split_weights(X, name, path, target):
    """``(X without the --weights column ``name``, its values as numbers)``; ``(X, None)`` without --weights.
    ``path`` is where X was read, ``target`` the --target column."""
    if name is None:
        return X, None
    import numpy as np
    import pandas as pd

    if name == target:
        raise UsageError(f"--weights {name!r} is also the --target column; weights and classes are different columns.")
    if name not in X.columns:
        raise UsageError(
            f"--weights {name!r} is not a column of {path!r}; its columns are {list(X.columns)}."
            + did_you_mean(name, X.columns)
        )
    column = X[name]
    if is_dates(column.dtype) or is_duration(column.dtype):
        held = "dates" if is_dates(column.dtype) else "durations"
        raise UsageError(f"--weights {name!r} holds {held}; weights are numbers.")
    try:
        weights = pd.to_numeric(column, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        examples = column[pd.to_numeric(column, errors="coerce").isna() & column.notna()].unique()[:3].tolist()
        raise UsageError(f"--weights {name!r} must hold numbers; it holds {examples}.") from None
    bad = {"missing": np.isnan(weights), "infinite": np.isinf(weights), "negative": weights < 0}
    for what, rows in bad.items():
        if rows.any():
            raise UsageError(
                f"--weights {name!r} has {int(rows.sum())} {what} value(s) (first in data row "
                f"{int(np.argmax(rows)) + 1}); weights must be finite and non-negative."
            )
    return X.drop(columns=[name]), weights


def _refuse_columns_not_learned(args, params) -> None:
    """The --target and --weights columns are not columns of the table the GAN learns: naming one in
    --categorical-features or --condition-columns gets this explanation, not "not a column of the data"."""
    for flag, name in (("--target", args.target), ("--weights", getattr(args, "weights", None))):
        for option in ("categorical_features", "condition_columns"):
            if name is not None and name in (params.get(option) or ()):
                role = "the class" if flag == "--target" else "the row weights"
                raise UsageError(
                    f"{flag} {name!r} is also named in --{option.replace('_', '-')}; it holds {role}, not a column "
                    "the GAN learns. Leave it out there."
                )


def _cmd_fit(args):
    from . import GANAugmenter

    _check_output(args.output, inputs=(args.data,))
    frame = read_table(args.data, parse_dates=args.parse_dates, sep=args.sep)
    X, y = _split_target(frame, args.target, args.data)
    params = estimator_params(args)
    _refuse_columns_not_learned(args, params)
    X, weights = _split_weights(X, args.weights, args.data, args.target)
    params["verbose"] = not args.quiet
    model = GANAugmenter(**params)
    started = time.perf_counter()
    with _ending_on_ctrl_c(args.output, model.checkpoint_dir):
        model.fit(X, y, **({} if weights is None else {"sample_weight": weights}))
    seconds = time.perf_counter() - started
    columns = [str(c) for c in frame.columns if c != args.weights]
    model.save(
        args.output,
        metadata={"target": args.target, "columns": columns, "data": os.path.basename(args.data), "weights": args.weights},
    )
    print(
        f"Trained on {_trained_rows(model, len(X))} x {X.shape[1]} columns for {len(model.history_)} epochs "
        f"in {seconds:.1f} s; "
        f"model written to {args.output}",
        file=sys.stderr,
    )


def _trained_rows(model, n_rows: int) -> str:
    """``"N rows"``, saying how many the fidelity gate held out of training."""
    trained = int(getattr(getattr(model, "model_", None), "n_training_rows", n_rows))
    return f"{n_rows} rows" if trained == n_rows else f"{trained} rows ({n_rows - trained} held out for the fidelity gate)"


def _match_label(value: str, candidates, what: str):
    """The candidate whose text is ``value`` (labels come from the command line as text)."""
    candidates = list(candidates)
    for candidate in candidates:
        if str(candidate) == value:
            return candidate
    for candidate in candidates:
        if str(candidate).lower() == value.lower():
            return candidate
    shown = ", ".join(map(str, candidates[:10]))
    raise UsageError(f"{what} {value!r} is unknown; known values include {shown}." + did_you_mean(value, candidates))


def _cmd_sample(args):
    import pandas as pd

    from . import GANAugmenter
    from .persistence import read_model_info
    from .streaming import sample_frames, table_format, write_delimited, write_samples
    from ._validation import call_rng
    from .tabular.encoder import known_levels

    _check_output(args.output, table=True, inputs=(args.model,))
    info = read_model_info(args.model)
    model = GANAugmenter.load(args.model, device=args.device)
    if getattr(model, "_fallback", False):
        # In Python a rejected model samples no rows, with a warning; a command that exits 0 after
        # writing an empty table would let a release script carry on with it.
        raise UsageError(
            f"{args.model} was rejected by its fidelity gate ({model._gate_failures()}) and hands out no rows; "
            "nothing was written. Refit it (longer, or with other settings), or inspect its fidelity_report_ "
            "in Python."
        )
    if getattr(model, "kind_", None) == "image":
        raise UsageError(
            f"{args.model!r} is an image model; the command line writes tables, so sample images from Python: "
            "GANAugmenter.load(path).sample(n)"
        )
    kwargs = {"rng": call_rng(args.seed)}
    if args.klass is not None:
        if model.classes_ is None:
            raise UsageError("--class was given, but the model was fitted without --target")
        kwargs["y"] = _match_label(args.klass, model.classes_.tolist(), "class")
    conditions = {}
    for item in args.condition:
        column, sep, value = item.partition("=")
        if not sep or not column:
            raise UsageError(f"--condition expects COL=VALUE, got {item!r}")
        columns = {str(c): c for c in model.encoder_.columns_}
        if column not in columns:
            raise UsageError(
                f"--condition names {column!r}, which is not a column of the model; columns: {list(columns)}."
                + did_you_mean(column, columns)
            )
        state = model.encoder_.state_of(columns[column])
        if state.kind != "categorical":
            raise UsageError(f"--condition: column {column!r} is numeric; conditions work on categorical columns only")
        levels = known_levels(state)
        conditions[columns[column]] = _match_label(value, levels, f"value of {column!r}")
    if conditions:
        kwargs["conditions"] = conditions
    names = [str(c) for c in model.encoder_.columns_]
    if model.classes_ is not None:
        # A model saved from Python may not name its class column: take the first free name.
        kwargs["target"] = info["metadata"].get("target") or next(
            name for name in ("class", "label", "target", *(f"class_{i}" for i in range(len(names) + 1)))
            if name not in names
        )
        order = info["metadata"].get("columns")
        if order and set(order) == set(names + [kwargs["target"]]):
            kwargs["columns"] = list(order)  # the class column back where the training table had it
    # Rows are generated, decoded and written chunk by chunk, so memory does not grow with -n.
    kwargs.update(chunk_size=args.chunk_size, progress=not args.quiet)
    if args.output == "-":
        write_delimited(sample_frames(model, args.n_samples, **kwargs), sys.stdout)
        return
    try:
        table_format(args.output)
    except ValueError:
        # A format the stream writer does not produce (e.g. .csv.bz2): gather the chunks, then write.
        write_table(pd.concat(list(sample_frames(model, args.n_samples, **kwargs)), ignore_index=True), args.output)
    else:
        try:
            write_samples(model, args.output, args.n_samples, **kwargs)
        except ImportError as exc:
            raise _needs_package(args.output, exc)
    print(f"Wrote {args.n_samples} synthetic rows to {args.output}", file=sys.stderr)


def _cmd_oversample(args):
    sampler_cls = _optional_class("GANOverSampler")
    if sampler_cls is None:
        raise UsageError("the oversample command needs ganaugment.GANOverSampler, which this installation does not provide")
    import pandas as pd

    _check_output(args.output, table=True, inputs=(args.data,))
    frame = read_table(args.data, parse_dates=args.parse_dates, sep=args.sep)
    X, y = _split_target(frame, args.target, args.data)
    params = estimator_params(args)
    _refuse_columns_not_learned(args, params)
    if not args.quiet:
        from . import GANAugmenter

        params["estimator"] = GANAugmenter(verbose=True)  # the sampler's default GAN, with its progress bar
    if isinstance(params.get("sampling_strategy"), dict):
        # JSON keys are text; map them onto the class labels of the target column.
        labels = y.unique().tolist()
        params["sampling_strategy"] = {
            _match_label(str(k), labels, "class in --sampling-strategy"): int(v)
            for k, v in params["sampling_strategy"].items()
        }
    with _ending_on_ctrl_c(args.output):
        X_res, y_res = sampler_cls(**params).fit_resample(X, y)
    X_res = pd.DataFrame(X_res, columns=X.columns) if not isinstance(X_res, pd.DataFrame) else X_res.copy()
    X_res[args.target] = list(y_res)
    X_res = X_res[list(frame.columns)]
    write_table(X_res, args.output)
    counts = pd.Series(list(y_res)).value_counts().sort_index()
    before = y.value_counts().reindex(counts.index, fill_value=0)
    summary = ", ".join(f"{k}: {before[k]} -> {counts[k]}" for k in counts.index)
    print(f"Class counts {summary}; balanced table written to {args.output}", file=sys.stderr)


def _cmd_report(args):
    try:
        from . import evaluate
    except ImportError:
        raise UsageError("the report command needs ganaugment.evaluate, which this installation does not provide") from None
    if not args.output.lower().endswith((".html", ".htm")):
        raise UsageError(f"the report is HTML; give a path ending in .html, got {args.output!r}")
    _check_output(args.output, inputs=(args.real, args.synthetic, args.holdout))
    real = read_table(args.real, parse_dates=args.parse_dates, sep=args.sep)
    synthetic = read_table(args.synthetic, parse_dates=args.parse_dates, sep=args.sep)
    holdout = None if args.holdout is None else read_table(args.holdout, parse_dates=args.parse_dates, sep=args.sep)
    if args.target is not None:
        for path, table in ((args.real, real), (args.synthetic, synthetic), (args.holdout, holdout)):
            if table is not None and args.target not in table.columns:
                raise UsageError(
                    f"--target {args.target!r} is not a column of {path!r}." + did_you_mean(args.target, table.columns)
                )
    real, weights = _split_weights(real, args.weights, args.real, args.target)
    holdout_weights = None
    if weights is not None:
        synthetic = synthetic.drop(columns=[args.weights], errors="ignore")
        if holdout is not None and args.weights in holdout.columns:
            holdout, holdout_weights = _split_weights(holdout, args.weights, args.holdout, args.target)
    report = evaluate(
        real, synthetic, holdout=holdout, target=args.target, sample_weight=weights, holdout_weight=holdout_weights
    )
    report.save(args.output)
    print(report.summary())
    print(f"Report written to {args.output}", file=sys.stderr)


def _cmd_demo(args):
    from .demo import run_demo

    run_demo(args.output_dir, quick=args.quick, random_state=args.random_state)


# ------------------------------------------------------------------ main
def _one_line(exc) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 on success)."""
    args = build_parser().parse_args(argv)
    return run_reporting_errors(PROG, lambda: args.handler(args))


def run_reporting_errors(prog: str, work) -> int:
    """Call ``work()``; returns the exit status, with a user error as one line on stderr.

    Warnings become one ``<prog>: warning: ...`` line each. A user error
    (bad input, a damaged model file, a path that cannot be written) prints
    ``<prog>: error: ...`` and gives status 1; Ctrl-C gives 130; a reader
    of stdout that went away (``| head``) ends quietly. ``GANAUGMENT_DEBUG=1``
    keeps Python's warnings and tracebacks.
    """
    from .metrics.gate import LowFidelityError
    from .persistence import ModelFileError

    debug = os.environ.get("GANAUGMENT_DEBUG", "") not in ("", "0")
    # OSError: a folder where a file goes, a full disk, no permission, ... (BrokenPipeError is handled first).
    # LowFidelityError: the fidelity gate refused the model (--on-low-quality raise).
    user_errors = (UsageError, ModelFileError, LowFidelityError, ValueError, TypeError, KeyError, OSError)

    def show_warning(message, category, filename, lineno, file=None, line=None):
        print(f"{prog}: warning: {_one_line(message)}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = show_warning
            work()
        sys.stdout.flush()  # a reader that has gone (| head) shows here, not at exit
    except KeyboardInterrupt as exc:
        print(f"{prog}: interrupted" + (f"; {exc}" if exc.args else ""), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout closed it (e.g. '| head'): stop quietly. Point stdout at devnull so that
        # Python's flush at exit does not raise again (the recipe of the Python signal docs).
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (AttributeError, OSError, ValueError):
            pass
        return 1
    except user_errors as exc:
        if debug:
            raise
        message = _one_line(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
