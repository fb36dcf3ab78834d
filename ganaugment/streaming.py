"""Stream synthetic rows to a CSV or Parquet file in chunks.

Memory is bounded by ``chunk_size``, not by the number of rows asked for:
each chunk is generated, decoded, appended to a temporary file next to the
destination and dropped. The temporary file replaces the destination only
once every row is written, so a crash never leaves a truncated table behind.
"""

from __future__ import annotations

import gzip
import io
import numbers
import os

import numpy as np
import pandas as pd

from ._validation import check_class_counts, check_n_samples, scalar_label, warn_conditions_set
from .persistence import atomic_write
from .tabular.encoder import known_levels

__all__ = ["write_samples", "sample_frames", "write_delimited", "table_format"]

_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path) -> tuple:
    """``(format, gzipped)`` of ``path`` from its extension."""
    name = os.path.basename(os.fspath(path)).lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[:-3]
    kind = _FORMATS.get(os.path.splitext(name)[1])
    if kind is None or (gzipped and kind == "parquet"):
        raise ValueError(
            f"Cannot tell the table format of {os.fspath(path)!r} from its extension; "
            "use .csv, .tsv, .csv.gz, .tsv.gz, .parquet or .pq."
        )
    return kind, gzipped


def write_samples(
    estimator, path, n_samples, *, chunk_size, y=None, conditions=None, target="class", progress=False, columns=None,
    rng=None,
) -> str:
    """Generate rows chunk by chunk and write them to ``path``.

    See :meth:`ganaugment.GANAugmenter.sample_to_file` for the parameters;
    ``columns`` (an order of the output columns) is for the command line,
    which puts the class column back where the training table had it.
    """
    kind, gzipped = table_format(path)
    if kind == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ImportError("Writing Parquet needs pyarrow: pip install 'ganaugment[parquet]'.") from None
    frames = sample_frames(
        estimator, n_samples, chunk_size=chunk_size, y=y, conditions=conditions, target=target,
        progress=progress, columns=columns, rng=rng,
    )
    with atomic_write(path) as handle:
        if kind == "parquet":
            _write_parquet(frames, handle, estimator)
        elif gzipped:
            # mtime=0 keeps the gzip header, and so the file bytes, reproducible.
            with gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as stream:
                write_delimited(frames, stream, "\t" if kind == "tsv" else ",")
        else:
            write_delimited(frames, handle, "\t" if kind == "tsv" else ",")
    return os.fspath(path)


def sample_frames(
    estimator, n_samples, *, chunk_size, y=None, conditions=None, target="class", progress=False, columns=None,
    rng=None,
):
    """The synthetic rows of :func:`write_samples` as an iterator of DataFrames, one per chunk.

    The request is checked here, before the first chunk is generated, so a
    bad one fails before anything is written. A model that the fidelity gate
    rejected (``on_low_quality="fallback"``) warns and gives one empty frame
    with the output's columns, as :meth:`~ganaugment.GANAugmenter.sample`
    gives no rows. ``progress`` shows a bar of rows written (on stderr). ``rng``
    (None: the model's own stream) seeds the rows.
    """
    if not isinstance(chunk_size, numbers.Integral) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}.")
    total, requested, chunks = _chunk_requests(estimator, n_samples, y, int(chunk_size))
    fixed = estimator._resolve_conditions(conditions, requested)
    if estimator.classes_ is not None and target in estimator.encoder_.columns_:
        raise ValueError(f"target={target!r} is already a column of the table; pick another name for the class column.")
    rejected = getattr(estimator, "_fallback", False)
    if rejected:
        estimator._fallback_warning("no rows are written")

    def finish(frame, classes):
        if estimator.classes_ is not None:
            frame[target] = estimator.classes_[classes]
        # File headers are text: a model fitted on an array has columns 0, 1, ...
        frame.columns = [str(c) for c in frame.columns]
        return frame if columns is None else frame[list(columns)]

    def frames():
        if rejected:
            yield finish(estimator.encoder_.empty_frame(), np.zeros(0, dtype=np.int64))
            return
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc="sampling", unit="row")
        forced = []  # one warning for the whole file, not one per chunk
        try:
            for n_rows, class_codes in chunks:
                yield finish(*estimator._generate(n_rows, class_codes, fixed, rng=rng, forced=forced))
                if bar is not None:
                    bar.update(n_rows)
        finally:
            if bar is not None:
                bar.close()
        if forced:
            warn_conditions_set(f"the condition {forced[0][0]}", sum(n for _, n in forced), total)

    return frames()


def _chunk_requests(estimator, n_samples, y, chunk_size):
    """``(total, classes, chunks)``: the number of rows asked for, the class codes asked for
    (None when the classes are drawn), and an iterator of ``(rows, class codes or None)``
    per chunk. A class or a dict of counts is expanded into codes one chunk at a time, as the
    chunks are drawn, so memory does not grow with the number of rows.

    Validation happens here, eagerly, so a bad request fails before the
    destination file is touched.
    """
    y = scalar_label(y)
    if y is None or np.ndim(y) == 0 or isinstance(y, dict):
        if y is not None and estimator.classes_ is None:
            raise ValueError("y was given to sample_to_file(), but the model was fitted without y.")
        if isinstance(y, dict):
            parts = [(int(estimator._class_codes([label])[0]), count) for label, count in check_class_counts(y)]
            total = check_n_samples(sum(count for _, count in parts))
            if n_samples is not None and int(n_samples) != total:
                raise ValueError(f"n_samples={n_samples} does not match the {total} rows asked for in the y dict.")
        else:
            total = check_n_samples(n_samples)
            code = None if y is None else int(estimator._class_codes([y])[0])
            parts = [(code, total)]
        classes = None if y is None else np.unique([code for code, count in parts if count > 0]).astype(np.int64)
        return total, classes, _split_runs(parts, chunk_size)
    total, codes = estimator._resolve_sample_request(n_samples, y)
    chunks = ((min(chunk_size, total - lo), codes[lo : lo + chunk_size]) for lo in range(0, total, chunk_size))
    return total, np.unique(codes), chunks


def _split_runs(parts, chunk_size):
    """Cut runs of ``(class code or None, count)`` into chunks of ``chunk_size`` rows."""
    pending, pending_rows = [], 0
    for code, count in parts:
        while count > 0:
            take = min(count, chunk_size - pending_rows)
            pending.append((code, take))
            pending_rows += take
            count -= take
            if pending_rows == chunk_size:
                yield _chunk(pending, pending_rows)
                pending, pending_rows = [], 0
    if pending_rows:
        yield _chunk(pending, pending_rows)


def _chunk(pending, rows):
    if pending[0][0] is None:
        return rows, None
    return rows, np.concatenate([np.full(count, code, dtype=np.int64) for code, count in pending])


def write_delimited(frames, stream, sep=","):
    """Write DataFrames to a stream (binary, or text such as stdout) as one delimited table."""
    text_mode = isinstance(stream, io.TextIOBase)
    header = True
    for frame in frames:
        text = frame.to_csv(None, sep=sep, index=False, header=header, lineterminator="\n")
        stream.write(text if text_mode else text.encode("utf-8"))
        header = False


def _write_parquet(frames, handle, estimator):
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    schema = None
    try:
        for frame in frames:
            if writer is None:
                schema = _arrow_schema(frame, estimator)
                writer = pq.ParquetWriter(handle, schema)
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
    finally:
        if writer is not None:
            writer.close()


def _arrow_schema(frame, estimator):
    """The Arrow schema of the first chunk, with no column left untyped.

    A chunk whose object column holds only missing values would make Arrow
    infer the ``null`` type, and later chunks would not fit; such columns
    take the type of the column's fitted levels instead.
    """
    import pyarrow as pa

    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(schema):
        if pa.types.is_null(field.type) and field.name in estimator.encoder_.columns_:
            state = estimator.encoder_.state_of(field.name)
            known = known_levels(state)
            typed = pa.array(pd.Series(known, dtype=object)).type if known else pa.string()
            schema = schema.set(i, pa.field(field.name, typed))
    return schema
