"""Train a GANAugmenter on several processes with DistributedDataParallel.

Every process (*rank*) holds one shard of the table. The fit goes:

1. The ranks agree on a schema (dtypes), the classes and the row count.
2. The encoder is fitted once, on rank 0, from a random subsample of every
   shard plus a few *witness* rows (each numeric column's minimum and
   maximum, a missing and an observed value of every column); the level
   counts of categorical columns and the missing counts are the global ones,
   summed over the shards. Its state is broadcast, so every rank encodes
   with the same encoder.
3. Each rank encodes its shard and trains on it; the networks are wrapped in
   :class:`~torch.nn.parallel.DistributedDataParallel`, so their gradients
   are averaged at every step and the weights stay identical. ``batch_size``
   keeps its single-machine meaning (rows per optimisation step, over all
   ranks): each rank draws ``batch_size / world_size`` rows, and its losses
   are scaled by its share of the rows (or of the weight) so that a shard
   counts as much as it holds.
4. The condition counts that drive generation are summed over the ranks
   (``all_reduce``), batch-norm running statistics are averaged, and rank 0
   writes the model.

Randomness: the networks start from the same seed on every rank; noise,
dropout, mode assignment and training-by-sampling use per-rank streams
derived from ``random_state`` and the rank.

Launch with ``torchrun`` (gloo on CPU, NCCL on CUDA)::

    torchrun --nproc_per_node=2 -m ganaugment.distributed fit DATA.csv \\
        --target income -o model.gan --epochs 50
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import math
import numbers
import os
import sys
import time

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ._torch import make_generator
from ._validation import (
    as_frame, check_sample_weight, check_table, check_target, did_you_mean, is_dates, refuse_weightless_classes,
    seed_from,
)
from .tabular.encoder import TableEncoder, _infer_kind
from .tabular.model import TabularGAN
from .training import train_gan

__all__ = ["fit_distributed", "read_shard", "state_hash", "main"]

ENCODER_SAMPLE_ROWS = 50_000  # rows, over all ranks, that the encoder's mixtures are fitted on
PROG = "ganaugment.distributed"
_TABLES_ONLY = "distributed fits train table models; fit images on one process ('ganaugment fit', GANAugmenter.fit)"
# GANAugmenter parameters that a distributed fit refuses unless None, and what to do instead.
_UNSUPPORTED = {
    "time_limit": "every rank must run the same number of steps, so set epochs instead",
    "checkpoint_dir": "the ranks cannot resume from one shared checkpoint, so leave it out and save the fitted "
    "model from rank 0",
    "validation_fraction": "the fidelity gate is not run, so leave it out and score the saved model on held-out "
    "rows with ganaugment.evaluate or 'ganaugment report'",
    "min_quality": "the fidelity gate is not run, so leave it out and score the saved model on held-out rows "
    "with ganaugment.evaluate or 'ganaugment report'",
    "max_detection_auc": "the fidelity gate is not run, so leave it out and score the saved model on held-out "
    "rows with ganaugment.evaluate or 'ganaugment report'",
    "image_shape": _TABLES_ONLY,
}


def fit_distributed(estimator, X, y=None, *, sample_weight=None, encoder_sample_rows=ENCODER_SAMPLE_ROWS):
    """Fit ``estimator`` (a :class:`~ganaugment.GANAugmenter`) on this rank's shard.

    Call it on every rank of an initialised :mod:`torch.distributed` process
    group, with each rank's own rows. Every rank returns the same fitted
    estimator; only rank 0 should save it.

    Parameters
    ----------
    estimator : GANAugmenter
        Unfitted estimator; its hyperparameters must be equal on every rank.
        ``time_limit`` must be None (ranks must run the same number of
        steps), and so must ``checkpoint_dir``, ``validation_fraction``,
        ``min_quality`` and ``max_detection_auc``: there is no checkpointing and no fidelity gate, so
        ``quality_score_``, ``fidelity_report_`` and ``gate_passed_`` are None.
    X : DataFrame
        This rank's rows, with the same columns on every rank. Every rank
        needs at least one row, and the table at least two.
    y : array-like, default=None
        This rank's class labels.
    sample_weight : array-like of shape (n_rows,), default=None
        This rank's row weights, as ``GANAugmenter.fit`` takes them (the GAN
        learns the weighted distribution): given on every rank or on none,
        checked as ``fit`` checks them, and put on one scale over all ranks.
        Every rank needs a row of positive weight, since it draws its part of
        every batch from its own rows; a class whose rows weigh 0 on every
        rank is refused.
    encoder_sample_rows : int, default=50000
        Rows, over all ranks, that the encoder is fitted on (categorical
        level counts and missing counts always use every row).

    Returns
    -------
    estimator : GANAugmenter

    Notes
    -----
    A mistake in one rank's rows (a missing column, labels of another
    type, an empty shard) raises the same error on every rank, so no rank
    is left waiting for the others.

    Each rank's losses are scaled by its share of the table (its rows, or
    its weight) times the number of ranks before DDP averages the
    gradients, so a shard counts as much as it holds, even when the shards
    differ in size or in weight.
    """
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError(
            "fit_distributed needs an initialised torch.distributed process group; launch with torchrun "
            "and call torch.distributed.init_process_group() first."
        )
    # The hyperparameters are equal on every rank, so every rank refuses them before any collective.
    for name, instead in _UNSUPPORTED.items():
        if getattr(estimator, name) is not None:
            raise ValueError(f"{name} is not supported in a distributed fit: {instead}.")
    started = time.perf_counter()
    rank, world = dist.get_rank(), dist.get_world_size()
    estimator._validate_params()
    if estimator.kind == "image":
        raise ValueError(f"kind='image' is not supported in a distributed fit: {_TABLES_ONLY}.")
    estimator.kind_ = "table"
    estimator._reset_gate()  # no gate: its attributes are those of a fit without one
    frame, estimator._input_kind = _together(_prepare_shard, estimator, X)
    frame, n_rows = _agree_on_shards(frame)
    n_total = int(sum(n_rows))
    classes, class_codes = _global_classes(y, len(frame), estimator)
    weights, share = _global_weights(sample_weight, len(frame), n_total, class_codes, classes)
    estimator.classes_ = classes
    estimator._y_dtype = None if y is None else np.asarray(y).dtype
    seed = _broadcast(seed_from(estimator.random_state) if rank == 0 else None)
    rng = np.random.default_rng(seed)  # the same stream on every rank
    rank_rng = np.random.default_rng([seed, rank + 1])  # this rank's own stream
    device = _rank_device(estimator.device)
    estimator.device_ = device

    encoder = estimator._make_encoder(frame, rng)
    estimator.encoder_ = _shared_encoder(encoder, frame, n_total, encoder_sample_rows, rank_rng)
    estimator._condition_groups()  # the same shared encoder on every rank: all refuse a numeric column
    encoded = estimator.encoder_.transform_compact(frame, rank_rng)
    estimator.encode_seconds_ = time.perf_counter() - started

    n_classes = 0 if classes is None else len(classes)
    model = TabularGAN(estimator.encoder_, n_classes, estimator._network_params(), device, int(rng.integers(2**63 - 1)))
    model.set_training_data(encoded, class_codes, weights)
    del encoded
    counts = torch.as_tensor(model.counts, dtype=torch.float64, device=device)
    dist.all_reduce(counts)
    model.counts = counts.cpu().numpy()
    model.n_training_rows = n_total
    model.torch_rng = make_generator(int(rank_rng.integers(2**63 - 1)), device)
    estimator.model_ = model

    batch = estimator._effective_batch_size(n_total)
    pac = int(estimator.pac)
    # At least two rows per rank, a whole number of packs: batch norm needs two rows to normalise.
    per_rank = max(pac * math.ceil(2 / pac), batch // world - (batch // world) % pac)
    from .augmenter import TABLE_EPOCHS

    # Eager steps: gloo's gradient all-reduce cannot be recorded in a CUDA graph.
    config = estimator._training_config(
        epochs=TABLE_EPOCHS if estimator.epochs is None else int(estimator.epochs),
        steps_per_epoch=max(1, n_total // batch),
        batch_size=per_rank,
        description=f"GANAugmenter x{world}",
        verbose=bool(estimator.verbose) and rank == 0,
        cuda_graph=False,
        loss_scale=share * world,
    )
    generator, discriminator = model.generator, model.discriminator
    model.generator = _wrap(DistributedDataParallel, generator, device)
    model.discriminator = _wrap(_FrozenAwareDDP, discriminator, device)
    estimator.history_ = []
    try:
        train_gan(model, config, estimator.history_)
        model.generator, model.discriminator = generator, discriminator
        _average_buffers(generator, world)
        _average_buffers(discriminator, world)
        if estimator.calibrate:
            # Every rank holds the same weights and draws the same stream, so
            # with the level counts summed over ranks they fit the same offsets.
            level_counts = torch.as_tensor(model.level_counts, dtype=torch.float64, device=device)
            dist.all_reduce(level_counts)
            model.level_counts = level_counts.cpu().numpy()
            model.calibrate(np.random.default_rng([seed, 2]))
    finally:
        model.generator, model.discriminator = generator, discriminator
        model.release_training_data()
    estimator.n_ranks_ = world
    estimator.fit_seconds_ = time.perf_counter() - started
    estimator._sample_rng = np.random.default_rng(int(rng.integers(2**63 - 1)))
    return estimator


def _wrap(cls, module, device):
    """DDP without the per-forward buffer broadcast: buffers are averaged once, after training."""
    kwargs = {"device_ids": [device.index] if device.type == "cuda" else None}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters:
        kwargs["forward_sync_buffers"] = False
    else:  # torch before the rename
        kwargs["broadcast_buffers"] = False
    return cls(module, **kwargs)


class _FrozenAwareDDP(DistributedDataParallel):
    """DDP for the discriminator, whose weights are frozen during the generator step.

    In that step no gradient reaches its parameters, so no all-reduce may be
    expected: the forward pass runs under ``no_sync()``.
    """

    def forward(self, *args, **kwargs):
        if torch.is_grad_enabled() and not any(p.requires_grad for p in self.module.parameters()):
            with self.no_sync():
                return super().forward(*args, **kwargs)
        return super().forward(*args, **kwargs)


# ------------------------------------------------------------ agreement
def _all_gather(value) -> list:
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, value)
    return out


def _broadcast(value):
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _rank_device(requested: str) -> torch.device:
    """This rank's device: its local GPU under CUDA, else the CPU."""
    from ._torch import resolve_device

    device = resolve_device(requested)
    if device.type == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", dist.get_rank() % torch.cuda.device_count())))
    return device


def _together(function, *args):
    """``function(*args)`` on every rank; a user error on any rank is raised on every rank.

    A rank that raised alone would leave the others waiting in their next
    collective. The message is the first failing rank's, naming that rank
    unless every rank failed the same way.
    """
    from .cli import UsageError

    try:
        result, error = function(*args), None
    except (UsageError, ValueError, TypeError, KeyError, OSError) as exc:
        result, error = None, exc
    message = None
    if error is not None:
        message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    errors = _all_gather(None if error is None else (type(error), message))
    failed = [(rank, e) for rank, e in enumerate(errors) if e is not None]
    if not failed:
        return result
    first, (kind, message) = failed[0]
    if len(failed) < len(errors) or any(e != failed[0][1] for _, e in failed):
        message = f"rank {first} of {len(errors)}: {message}"
    try:
        raised = kind(message)
    except Exception:  # an error type that takes other arguments
        raised = RuntimeError(message)
    raise raised from error


def _prepare_shard(estimator, X):
    """This rank's rows as a frame, checked as ``fit`` checks a table; the row count is checked over all ranks."""
    frame, kind = as_frame(X, estimator=estimator, reset=True)
    check_table(frame, min_rows=0)
    estimator._validate_hyperparameters(frame)
    return frame, kind


def _agree_on_shards(frame: pd.DataFrame) -> tuple:
    """``(frame, rows per rank)``: check that the shards fit together and give them the same dtypes.

    Every rank holds the same columns, at least one row, and the table at
    least two; a column read with different dtypes (shards read from text may
    differ) is widened to one dtype on every rank.
    """
    shards = _all_gather((list(frame.columns), [str(t) for t in frame.dtypes], len(frame)))
    world = len(shards)
    if any(columns != shards[0][0] for columns, _, _ in shards):
        raise ValueError("The ranks hold different columns; every shard must have the same columns in the same order.")
    n_rows = [n for _, _, n in shards]
    if sum(n_rows) < 2:
        raise ValueError(
            f"The table holds {sum(n_rows)} row(s) over all {world} ranks; a GAN needs at least 2 rows to learn a "
            "distribution."
        )
    if 0 in n_rows:
        raise ValueError(
            f"Rank {n_rows.index(0)} of {world} holds no rows; give every rank at least one row (splitting one "
            f"table of {sum(n_rows)} rows, launch at most {sum(n_rows)} ranks)."
        )
    casts = {}
    for i, column in enumerate(frame.columns):
        seen = sorted({dtypes[i] for _, dtypes, _ in shards})
        if len(seen) == 1:
            continue
        if all(t.startswith(("int", "uint", "float", "Int", "UInt", "Float")) for t in seen):
            casts[column] = "float64"
        elif all(t.startswith(("object", "str", "string")) or t == "bool" for t in seen):
            casts[column] = "object"
        else:
            raise ValueError(
                f"Column {column!r} has different dtypes on different ranks ({', '.join(seen)}); give the "
                "column one dtype on every shard (for example with --parse-dates, or by writing Parquet shards)."
            )
    return (frame.astype(casts) if casts else frame), n_rows


def _global_classes(y, n_rows, estimator):
    """Classes over all ranks and this rank's codes into them."""
    has_y = _all_gather(y is not None)
    if any(has_y) and not all(has_y):
        raise ValueError("Some ranks were given y and others not; pass y on every rank or on none.")
    if y is None:
        return None, None
    shards = _all_gather(_together(lambda: check_target(y, n_rows, estimator=estimator, min_classes=1)[0]))
    try:
        # As objects, labels of different types stay themselves (numpy would turn them all into text).
        np.unique(np.concatenate([np.asarray(c, dtype=object) for c in shards]))
    except TypeError:
        kinds = sorted({type(v).__name__ for c in shards for v in c.tolist()})
        raise TypeError(
            f"y mixes label types over the ranks ({', '.join(kinds)}); convert the labels to one type on every "
            "rank, for example with y.astype(str)."
        ) from None
    classes = np.unique(np.concatenate([np.asarray(c) for c in shards]))
    if len(classes) < 2:
        raise ValueError(f"y holds a single class ({classes[0]!r}) over all ranks; conditioning needs at least 2.")
    labels = np.asarray(y).ravel()
    return classes, np.searchsorted(classes, labels).astype(np.int64)


def _global_weights(sample_weight, n_rows: int, n_total: int, class_codes, classes) -> tuple:
    """``(this rank's weights on the scale of all ranks, this rank's share of the table)``.

    The weights come back with a mean of 1 over every rank's rows, or None
    when no rank has weights or all weights are equal; the share is this
    rank's part of the total weight (of the rows, unweighted).
    """
    given = _all_gather(sample_weight is not None)
    if any(given) and not all(given):
        raise ValueError("Some ranks were given sample_weight and others not; pass it on every rank or on none.")
    if sample_weight is None:
        return None, n_rows / n_total

    def checked():
        check_sample_weight(sample_weight, n_rows, of="this rank's X")  # refuses by name, or passes
        return np.broadcast_to(np.asarray(sample_weight, dtype=np.float64), (n_rows,)).copy()

    raw = _together(checked)
    extremes = np.array(_all_gather((float(raw.min()), float(raw.max()))))
    smallest, largest = extremes[:, 0].min(), extremes[:, 1].max()
    scaled = raw / largest  # no overflow in the sums of weights near the float64 limit
    sums = _all_gather(float(scaled.sum()))
    if class_codes is not None:
        mass = np.sum(_all_gather(np.bincount(class_codes, weights=scaled, minlength=len(classes))), axis=0)
        refuse_weightless_classes(mass, classes, " on every rank")
    share = sums[dist.get_rank()] / sum(sums)
    if smallest == largest:
        return None, share  # equal weights everywhere: the unweighted fit
    return scaled / (sum(sums) / n_total), share


# --------------------------------------------------------------- encoder
def shard_summary(frame: pd.DataFrame, forced_categorical, n_sample: int, rng: np.random.Generator) -> dict:
    """What rank 0 needs from one shard to fit the shared encoder.

    A random subsample plus witness rows (numeric minimum and maximum, one
    observed and one missing value per column), the level counts of
    categorical columns and the missing count of every column.
    """
    n = len(frame)
    picks = [rng.choice(n, size=min(n, n_sample), replace=False)] if n_sample > 0 else []
    categorical, missing = {}, {}
    for column in frame.columns:
        series = frame[column]
        is_missing = series.isna().to_numpy()
        missing[column] = int(is_missing.sum())
        picks.append(np.flatnonzero(is_missing)[:1])
        picks.append(np.flatnonzero(~is_missing)[:1])
        if _infer_kind(series, column in forced_categorical) == "categorical":
            categorical[column] = series[~is_missing].value_counts(sort=True, dropna=True)
        elif (~is_missing).any():
            values = TableEncoder._numeric_values(series, _state_for(series))
            picks.append(np.array([np.nanargmin(values), np.nanargmax(values)]))
    rows = np.unique(np.concatenate(picks)).astype(np.int64)
    return {"n_rows": n, "sample": frame.iloc[rows], "categorical": categorical, "missing": missing}


def _state_for(series):
    from .tabular.encoder import _ColumnState

    state = _ColumnState(name=series.name, kind="numeric", dtype=str(series.dtype))
    state.is_datetime = is_dates(series.dtype)
    return state


def encoder_from_summaries(encoder: TableEncoder, summaries: list) -> TableEncoder:
    """Fit ``encoder`` on the shards' subsamples, then use the global counts.

    The result has every categorical level of every shard, with its global
    frequency, and the global missing rates.
    """
    sample = pd.concat([s["sample"] for s in summaries], ignore_index=True)
    encoder.fit(sample)
    n_total = sum(s["n_rows"] for s in summaries)
    for state in encoder.states_:
        n_missing = sum(s["missing"][state.name] for s in summaries)
        state.has_missing = n_missing > 0
        state.missing_rate = n_missing / n_total
        if state.kind == "categorical":
            parts = [s["categorical"][state.name] for s in summaries if state.name in s["categorical"]]
            merged = pd.concat(parts).groupby(level=0, sort=False).sum()
            merged = merged.sort_values(ascending=False, kind="stable")
            state.pooled_levels, state.pooled_frequencies = [], []
            encoder._categorical_levels(state, merged, n_missing)
    encoder._build_spans()
    return encoder


def _shared_encoder(encoder, frame, n_total, sample_rows, rng) -> TableEncoder:
    rank, world = dist.get_rank(), dist.get_world_size()
    forced = set(encoder.categorical_features or ())
    n_sample = math.ceil(sample_rows * len(frame) / max(n_total, 1))
    summary = shard_summary(frame, forced, n_sample, rng)
    summaries = [None] * world if rank == 0 else None
    dist.gather_object(summary, summaries, dst=0)
    state = _together(lambda: encoder_from_summaries(encoder, summaries).to_state() if rank == 0 else None)
    # Every rank, rank 0 included, rebuilds from the same plain state.
    return TableEncoder.from_state(_broadcast(state))


def _average_buffers(module: torch.nn.Module, world: int) -> None:
    """Average floating buffers (batch-norm running statistics) over the ranks."""
    for buffer in module.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer)
            buffer /= world


# --------------------------------------------------------------- helpers
def state_hash(estimator) -> str:
    """SHA-256 of the networks' weights and buffers and of the calibration offsets."""
    digest = hashlib.sha256()
    for name, net in (("generator", estimator.model_.generator), ("discriminator", estimator.model_.discriminator)):
        for key, tensor in net.state_dict().items():
            digest.update(f"{name}.{key}".encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digest.update(b"logit_bias")
    digest.update(np.ascontiguousarray(estimator.model_.logit_bias).tobytes())
    return digest.hexdigest()


def read_shard(path: str, rank: int, world_size: int, *, parse_dates=None, sep=None) -> pd.DataFrame:
    """This rank's rows of a table: ``rows[rank::world_size]``.

    When ``path`` contains ``{rank}``, each rank reads its own file
    (``path.format(rank=rank)``) whole. CSV/TSV files are parsed row by row
    with the other ranks' rows skipped; Parquet files are read by record
    batch, so no rank holds the whole table. A rank past the last row gets
    the columns and no rows. ``sep`` overrides a text file's separator.
    """
    from .cli import _table_format, check_columns_split, read_table, text_separator

    if isinstance(world_size, bool) or not isinstance(world_size, numbers.Integral) or world_size < 1:
        raise ValueError(f"world_size must be a positive int, got {world_size!r}; pass dist.get_world_size().")
    if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or not 0 <= rank < world_size:
        raise ValueError(
            f"rank must be an int in [0, {world_size}) for world_size={world_size}, got {rank!r}; pass dist.get_rank()."
        )
    if "{rank}" in path:
        return read_table(path.format(rank=rank), parse_dates=parse_dates, sep=sep)
    if not os.path.exists(path):
        raise FileNotFoundError(f"file not found: {path}")
    kind = _table_format(path)
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pq.ParquetFile(path)
        _check_parse_dates(parse_dates, table.schema_arrow.names, path)
        parts, offset = [], 0
        for batch in table.iter_batches(batch_size=65536):
            first = (rank - offset) % world_size
            parts.append(batch.take(pa.array(np.arange(first, batch.num_rows, world_size))))
            offset += batch.num_rows
        # The file's schema gives a table without rows its columns and dtypes.
        frame = pa.Table.from_batches(parts, schema=table.schema_arrow).to_pandas()
        for column in parse_dates or ():
            frame[column] = pd.to_datetime(frame[column])
        return frame
    sep = text_separator(path, sep)
    columns = pd.read_csv(path, sep=sep, nrows=0).columns
    check_columns_split(columns, path, sep)
    _check_parse_dates(parse_dates, columns, path)
    return pd.read_csv(
        path,
        sep=sep,
        skiprows=lambda i: i > 0 and (i - 1) % world_size != rank,
        parse_dates=list(parse_dates or []) or False,
    )


def _check_parse_dates(parse_dates, columns, path: str) -> None:
    missing = [column for column in parse_dates or () if column not in list(columns)]
    if missing:
        raise ValueError(
            f"parse_dates names {', '.join(map(repr, missing))}, which is not a column of {path!r}; name one of "
            f"its columns {list(columns)}." + did_you_mean(missing[0], columns)
        )


# ------------------------------------------------------------------ CLI
class _Unsupported(argparse.Action):
    """An estimator option that a distributed fit refuses: a usage error, named with the reason."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f"{option_string} is not supported in a distributed fit: {_UNSUPPORTED[self.dest]}")


def _parser() -> argparse.ArgumentParser:
    from . import GANAugmenter
    from .cli import _add_reading_options, _Parser, add_estimator_options

    class Parser(_Parser):
        """The command line's parser: a usage error is one line, named for this entry point."""

        program = PROG

    parser = Parser(
        prog="torchrun --nproc_per_node=N -m ganaugment.distributed",
        description="Train a GAN on several processes with DistributedDataParallel; rank 0 saves the model.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)
    fit = commands.add_parser("fit", help="train on DATA, each rank on rows[rank::world_size]")
    fit.add_argument(
        "data", metavar="DATA",
        help="training table (.csv, .tsv or .parquet); a path with '{rank}' names one shard file per rank",
    )
    fit.add_argument("-o", "--output", required=True, metavar="MODEL", help="where rank 0 writes the model")
    fit.add_argument("--target", metavar="COL", help="class column to condition on")
    fit.add_argument(
        "--weights", metavar="COL",
        help="column of row weights: the model learns the weighted distribution (as 'ganaugment fit --weights')",
    )
    fit.add_argument("--backend", choices=["gloo", "nccl"], help="default: nccl on CUDA, gloo otherwise")
    _add_reading_options(fit)
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    # DATA is a table file, so there is no kind to choose.
    add_estimator_options(fit, GANAugmenter, title="GAN options", skip=(*_UNSUPPORTED, "kind"))
    for name in _UNSUPPORTED:  # refused while parsing, not after the process group is up
        fit.add_argument("--" + name.replace("_", "-"), dest=name, action=_Unsupported, help=argparse.SUPPRESS)
    return parser


def main(argv=None) -> int:
    """Entry point of ``python -m ganaugment.distributed`` (under torchrun); returns the exit status.

    A user error prints one line, ``ganaugment.distributed: error: ...``, on
    every rank and exits with status 1 (2 for a mistake in the arguments);
    set ``GANAUGMENT_DEBUG=1`` to see the traceback instead.
    """
    from .cli import run_reporting_errors

    args = _parser().parse_args(argv)
    if "RANK" not in os.environ:
        print(f"{PROG}: error: run me under torchrun (RANK/WORLD_SIZE are not set).", file=sys.stderr)
        return 2
    return run_reporting_errors(PROG, lambda: _fit(args))


def _fit(args) -> None:
    from . import GANAugmenter
    from .cli import UsageError, _check_output, _refuse_columns_not_learned, estimator_params

    params = estimator_params(args)
    _refuse_columns_not_learned(args, params)
    params["verbose"] = not args.quiet
    # Rank 0 writes the model: it checks where before any training, and every rank hears of a problem.
    output_error = None
    if int(os.environ["RANK"]) == 0:
        try:
            _check_output(args.output, inputs=(args.data,))
        except UsageError as exc:
            output_error = exc
    backend = args.backend or ("nccl" if torch.cuda.is_available() and params.get("device", "auto") != "cpu" else "gloo")
    dist.init_process_group(backend)
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        frame, y, weights, columns = _together(_read_input, args, rank, world, output_error)
        model = fit_distributed(GANAugmenter(**params), frame, y, sample_weight=weights)
        print(
            f"rank {rank}/{world}: trained on {len(frame)} of {model.model_.n_training_rows} rows for "
            f"{len(model.history_)} epochs in {model.fit_seconds_:.1f} s; weights sha256 {state_hash(model)}",
            file=sys.stderr,
        )
        if rank == 0:
            model.save(
                args.output,
                metadata={
                    "target": args.target, "columns": columns, "data": os.path.basename(args.data), "ranks": world,
                    "weights": args.weights,
                },
            )
            print(f"model written to {args.output}", file=sys.stderr)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _read_input(args, rank: int, world: int, output_error):
    """``(X, y, weights, column names)`` of this rank's shard; raises ``output_error`` (rank 0's check of -o)
    first. The column names leave out the --weights column, which is neither learned nor generated."""
    from .cli import _split_weights

    if output_error is not None:
        raise output_error
    frame = read_shard(args.data, rank, world, parse_dates=args.parse_dates, sep=args.sep)
    frame, weights = _split_weights(frame, args.weights, args.data, args.target)
    columns = [str(c) for c in frame.columns]
    if args.target is None:
        return frame, None, weights, columns
    if args.target not in frame.columns:
        raise ValueError(
            f"--target {args.target!r} is not a column of {args.data!r}; name one of its columns {list(frame.columns)}."
            + did_you_mean(args.target, frame.columns)
        )
    return frame.drop(columns=[args.target]), frame[args.target], weights, columns


if __name__ == "__main__":
    sys.exit(main())
