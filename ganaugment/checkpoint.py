"""Training checkpoints: atomic snapshots every few epochs that a later fit resumes from.

A checkpoint is an ordinary ganaugment model file (see :mod:`ganaugment.persistence`),
written atomically to ``<checkpoint_dir>/checkpoint.gan``, so it is itself a usable
model: ``GANAugmenter.load(".../checkpoint.gan")`` samples from the state it holds
(networks, encoder or image codec, history, sampling and training random generators).
Table fits and image fits are checkpointed alike. What only
resumption needs travels in the file's metadata: the epoch, the seed of the fit,
both optimisers' states, and a fingerprint of the data and the hyperparameters, so
that a checkpoint is never resumed by a different fit.
"""

from __future__ import annotations

import glob
import hashlib
import os

import numpy as np
import pandas as pd

from .persistence import TEMP_PREFIX, load_model, read_model_info, save_model

__all__ = ["CHECKPOINT_NAME", "Checkpointer", "RESUMABLE_PARAMS"]

CHECKPOINT_NAME = "checkpoint.gan"
_KIND = "ganaugment-checkpoint"

# Hyperparameters that may differ between an interrupted fit and the fit that
# resumes it: none of them changes what one epoch computes.
RESUMABLE_PARAMS = frozenset(
    {"epochs", "time_limit", "verbose", "device", "checkpoint_dir", "checkpoint_every", "on_low_quality", "cuda_graph"}
)


class Checkpointer:
    """Writes and reads the checkpoint of one fit.

    Parameters
    ----------
    estimator : PersistableMixin estimator
        The estimator being fitted; it is saved as it stands at each checkpoint.
    directory : str or path-like
        Folder of the checkpoint; created when missing.
    every : int
        Save after every ``every``-th epoch.
    data : DataFrame or ndarray
        The validated training table, or the training images as given
        (before any hold-out), fingerprinted.
    y : array-like or None
        The class labels, fingerprinted with the table.
    """

    def __init__(self, estimator, directory, every: int, data: pd.DataFrame, y=None, weights=None):
        directory = os.fspath(directory)
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise ValueError(f"checkpoint_dir={directory!r} is a file; pass a folder (it is created when missing).")
        os.makedirs(directory, exist_ok=True)
        self.estimator = estimator
        self.directory = directory
        self.path = os.path.join(directory, CHECKPOINT_NAME)
        self.every = int(every)
        self.fingerprint = {"data": data_digest(data, y, weights), "params": _param_tokens(estimator)}
        self.seed = None
        self.optimizer_states = None
        self.saved_epoch = None

    def resume(self, device):
        """The checkpointed estimator and its metadata, or None when there is none.

        Refuses (ValueError) a checkpoint written by a fit with other data or
        other hyperparameters than those of ``RESUMABLE_PARAMS``.
        """
        for stale in glob.glob(os.path.join(glob.escape(self.directory), f"{TEMP_PREFIX}*.tmp")):
            os.remove(stale)  # left behind by a process killed while writing
        if not os.path.exists(self.path):
            return None
        metadata = read_model_info(self.path)["metadata"]
        if not isinstance(metadata, dict) or metadata.get("kind") != _KIND:
            raise ValueError(
                f"{self.path!r} is a model file but not a training checkpoint; pass another checkpoint_dir."
            )
        self._check_fingerprint(metadata["fingerprint"])
        estimator = load_model(self.path, device=device)
        if type(estimator) is not type(self.estimator):
            raise ValueError(f"{self.path!r} holds a {type(estimator).__name__} checkpoint; pass another checkpoint_dir.")
        self.seed = int(metadata["seed"])
        self.optimizer_states = metadata["optimizers"]
        self.saved_epoch = int(metadata["epoch"])
        return estimator, metadata

    def _check_fingerprint(self, saved: dict) -> None:
        fix = (
            f"Resume with the same data and hyperparameters, or pass another checkpoint_dir (or delete "
            f"{self.path!r}) to start over."
        )
        if saved.get("data") != self.fingerprint["data"]:
            raise ValueError(
                f"checkpoint_dir {self.directory!r} holds a checkpoint of a fit on other data "
                f"(X, y or sample_weight differ). {fix}"
            )
        old, new = saved.get("params", {}), self.fingerprint["params"]
        changed = sorted(k for k in set(old) | set(new) if old.get(k, "<unset>") != new.get(k, "<unset>"))
        if changed:
            details = ", ".join(f"{k}={old.get(k, '<unset>')!r} there, {new.get(k, '<unset>')!r} now" for k in changed)
            raise ValueError(
                f"checkpoint_dir {self.directory!r} holds a checkpoint of a fit with other hyperparameters "
                f"({details}). {fix}"
            )

    def __call__(self, epoch: int, optimizers) -> None:
        """Training callback: save after every ``every``-th epoch."""
        if epoch % self.every == 0:
            self.save(epoch, optimizers)

    def save(self, epoch: int, optimizers) -> None:
        """Write the estimator as it stands now, atomically, with what resumption needs."""
        metadata = {
            "kind": _KIND,
            "epoch": int(epoch),
            "seed": int(self.seed),
            "fingerprint": self.fingerprint,
            "optimizers": [opt.state_dict() for opt in optimizers],
        }
        save_model(self.estimator, self.path, metadata=metadata)
        self.saved_epoch = int(epoch)


def data_digest(data, y, weights=None) -> str:
    """SHA-256 of the column names, dtypes and values of the table, or of an image array's
    shape, dtype and bytes (and of y, and of the row weights when there are any)."""
    digest = hashlib.sha256()
    if isinstance(data, np.ndarray):
        array = np.ascontiguousarray(data)
        digest.update(repr(("images", array.shape, array.dtype.str)).encode())
        digest.update(memoryview(array.reshape(-1).view(np.uint8)))
    else:
        # repr of a dtype names a categorical's levels and order, which str() leaves out.
        digest.update(repr([(repr(c), repr(data[c].dtype)) for c in data.columns]).encode())
        try:
            hashes = pd.util.hash_pandas_object(data, index=False)
        except TypeError:  # unhashable cells (lists, dicts): the encoder refuses them with a clear error later
            hashes = pd.util.hash_pandas_object(data.astype(str), index=False)
        digest.update(hashes.to_numpy().tobytes())
        for name in data.columns:
            if data[name].dtype == object:  # cells are hashed by their text: 1 and "1" differ only in type
                kinds = data[name].map(lambda v: type(v).__name__)
                digest.update(pd.util.hash_pandas_object(kinds, index=False).to_numpy().tobytes())
    if y is not None:
        labels = pd.Series(np.asarray(y).ravel(), dtype=object)
        digest.update(repr(sorted({repr(v) for v in labels.unique()})).encode())
        digest.update(pd.util.hash_pandas_object(labels.astype(str), index=False).to_numpy().tobytes())
    if weights is not None:
        digest.update(b"weights")
        digest.update(np.ascontiguousarray(weights, dtype=np.float64).tobytes())
    return digest.hexdigest()


def _param_tokens(estimator) -> dict:
    """Hyperparameters that shape training, as JSON-friendly values."""
    return {
        name: _token(value)
        for name, value in sorted(estimator.get_params(deep=False).items())
        if name not in RESUMABLE_PARAMS
    }


def _token(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_token(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    # A RandomState instance: its draws are replayed from the saved seed.
    return f"<{type(value).__name__}>"
