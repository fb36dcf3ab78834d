"""Safe, versioned model files: tensors in safetensors, everything else in JSON.

A ganaugment model file (conventionally ``*.gan``) is a zip archive holding
exactly two members:

``ganaugment.json``
    The manifest: file format name and version, the estimator class, its
    hyperparameters (``get_params``), its fitted attributes and any user
    metadata, written as strict JSON. Values JSON cannot express directly
    (tuples, timestamps, numpy arrays of strings, random generator states,
    fitted sub-objects) are written as small tagged objects.
``tensors.safetensors``
    Every tensor and numeric array, in the safetensors format.

Nothing in a model file is ever unpickled or evaluated: the manifest is
parsed as JSON, tensors are parsed by safetensors, and classes are looked up
by name in a registry of ganaugment's own classes, never imported from a
name the file supplies. A pickle, a ``torch.save`` archive, or a file of an
unknown format version is refused with a :class:`ModelFileError`.

The format is generic. An estimator gains ``save`` / ``load`` by inheriting
:class:`PersistableMixin`; its fitted attributes are written one by one.
A fitted sub-object (a model, an encoder) takes part by being decorated with
:func:`persistable` and providing ``to_state()`` (a dict of plain values,
numpy arrays and tensors) and ``from_state(state, *, device, context)``.
"""

from __future__ import annotations

import contextlib
import decimal
import datetime as _dt
import json
import math
import os
import tempfile
import zipfile
import zlib

import numpy as np

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "PersistableMixin",
    "atomic_write",
    "load_model",
    "persistable",
    "read_model_info",
    "save_model",
]

# Temporary files of atomic_write: "<folder>/.ganaugment-XXXXXXXX.tmp" until renamed into place.
TEMP_PREFIX = ".ganaugment-"

FORMAT = "ganaugment-model"
FORMAT_VERSION = 1
MANIFEST = "ganaugment.json"
TENSORS = "tensors.safetensors"
_TAG = "__ganaugment__"
_MAX_MANIFEST_BYTES = 512 * 2**20
_MAX_ITEM_BYTES = 2**20  # one array item (a string level) in a model file
_MAX_ITEMS_ARRAY_BYTES = 2**28  # a whole array built from listed items (text declared wide takes memory)

_ESTIMATORS: dict = {}
_STATE_CLASSES: dict = {}
# Bit generators whose state numpy can restore; nothing else is looked up.
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


class ModelFileError(ValueError):
    """A model file that cannot be loaded: wrong kind, corrupted, or of an unknown version."""


# ---------------------------------------------------------------- registry
def persistable(cls):
    """Class decorator: let instances of ``cls`` be saved inside a model file.

    ``cls`` must define ``to_state(self) -> dict`` and a classmethod
    ``from_state(cls, state, *, device, context)``; ``context`` holds the
    estimator attributes restored before this one (for example ``encoder_``
    before ``model_``).
    """
    for name in ("to_state", "from_state"):
        if not callable(getattr(cls, name, None)):
            raise TypeError(f"{cls.__name__} must define {name}() to be persistable.")
    _STATE_CLASSES[cls.__name__] = cls
    return cls


class PersistableMixin:
    """Adds :meth:`save` and :meth:`load` to a scikit-learn estimator.

    The hyperparameters come from ``get_params(deep=False)``; every other
    instance attribute (the fitted state) is written with the rules of this
    module. Subclasses are registered by class name when they are defined,
    so that :func:`load_model` can find them without importing anything
    named in the file.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _ESTIMATORS[cls.__name__] = cls

    def save(self, path, *, metadata=None):
        """Write the fitted estimator to ``path`` (a safe, versioned model file).

        Parameters
        ----------
        path : str or path-like
            Destination, conventionally ending in ``.gan``. Written atomically:
            a failure midway leaves any previous file at ``path`` untouched.
        metadata : dict, default=None
            JSON-serialisable information kept with the model (for example
            the name of the target column); read it back with
            :func:`ganaugment.persistence.read_model_info`.

        Returns
        -------
        path : str
        """
        return save_model(self, path, metadata=metadata)

    @classmethod
    def load(cls, path, *, device="auto"):
        """Load an estimator written by :meth:`save`.

        Loading never runs code from the file: a pickle or any file that is
        not a ganaugment model file is refused with :class:`ModelFileError`.

        Parameters
        ----------
        path : str or path-like
            A file written by :meth:`save`.
        device : {"auto", "cpu", "cuda"} or str, default="auto"
            Where to put the networks. ``"auto"`` uses CUDA when available and
            the CPU otherwise, so a model trained on a GPU loads on a CPU-only
            machine.

        Returns
        -------
        estimator : instance of this class
        """
        estimator = load_model(path, device=device)
        if not isinstance(estimator, cls):
            raise ModelFileError(
                f"{os.fspath(path)!r} holds a {type(estimator).__name__}, not a {cls.__name__}; "
                f"load it with {type(estimator).__name__}.load()."
            )
        return estimator


# --------------------------------------------------------------- writing
@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", **open_kwargs):
    """Open a temporary file next to ``path``; on success move it onto ``path``.

    The data are flushed and fsynced before :func:`os.replace`, so ``path``
    holds either its old content or the complete new one, never a partial
    write. On any exception the temporary file is removed. The new file gets
    the permissions of the file it replaces, or those a plain ``open`` would
    give (the umask applied to 0o666) where there was none; a symbolic link
    is written through, not replaced.
    """
    path = os.fsdecode(path)  # str, pathlib or bytes
    if path.endswith(os.sep) or os.path.isdir(path):
        raise IsADirectoryError(f"Cannot write {path!r}: it is a folder; give a file name.")
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot write {path!r}: folder {folder!r} does not exist.")
    # os.replace needs only the folder's permission: a read-only file would be replaced where open() refuses.
    if os.path.exists(target) and not os.access(target, os.W_OK):
        raise PermissionError(f"Cannot write {path!r}: the file is read-only.")
    try:
        # A short fixed prefix: a name near the file system's limit must still leave room for the suffix.
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=folder)
    except PermissionError:
        raise PermissionError(f"Cannot write {path!r}: folder {folder!r} is not writable.") from None
    try:
        os.chmod(tmp, _mode_for(target))
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_folder(folder)


def _mode_for(target: str) -> int:
    """Permission bits for a file written at ``target``: those it has, else 0o666 less the umask."""
    try:
        return os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_process_umask()


def _process_umask() -> int:
    """The process's umask, read without changing it where the system shows it (Linux).

    ``os.umask`` can only be read by setting it, for the whole process: a file another thread
    created in between would get mode 0o666.
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0)  # elsewhere: set and restore at once
    os.umask(umask)
    return umask


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def save_model(estimator, path, *, metadata=None) -> str:
    """Write ``estimator`` to ``path``; see :meth:`PersistableMixin.save`."""
    from sklearn.utils.validation import check_is_fitted

    from . import __version__

    check_is_fitted(estimator)
    name = type(estimator).__name__
    if _ESTIMATORS.get(name) is not type(estimator):
        raise TypeError(f"{name} cannot be saved: it does not inherit ganaugment's PersistableMixin.")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}.")
    writer = _Encoder()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        **writer.encode_estimator(estimator, ""),
        "metadata": writer.encode({} if metadata is None else metadata, "metadata"),
    }
    text = json.dumps(manifest, allow_nan=False, separators=(",", ":"))
    blob = writer.tensor_bytes()
    with atomic_write(path) as handle:
        with zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(_member(MANIFEST, zipfile.ZIP_DEFLATED), text)
            archive.writestr(_member(TENSORS, zipfile.ZIP_STORED), blob)
    return os.fsdecode(path)


def _member(name: str, compression: int) -> zipfile.ZipInfo:
    """A zip entry with a fixed timestamp, so that saving twice gives identical bytes."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    return info


# --------------------------------------------------------------- reading
def read_model_info(path) -> dict:
    """The manifest summary of a model file, without building the model.

    Returns a dict with ``format_version``, ``library_version``,
    ``estimator``, ``params`` and ``metadata``.
    """
    path = os.fsdecode(path)
    with _unreadable_as_model_file_error(path):
        manifest, tensors = _read(path, with_tensors=True)
        reader = _Decoder(tensors, device=None, where=path)
        return {
            "format_version": manifest["format_version"],
            "library_version": manifest.get("library_version"),
            "estimator": manifest["estimator"],
            "params": {k: reader.decode(v) for k, v in _expect(manifest["params"], dict, "params", path).items()},
            "metadata": reader.decode(manifest.get("metadata", {})),
        }


def load_model(path, *, device="auto"):
    """Load the estimator saved in ``path``; see :meth:`PersistableMixin.load`."""
    import ganaugment  # noqa: F401  (registers every estimator and state class)

    from ._torch import resolve_device

    where = os.fsdecode(path)
    device = resolve_device(device)
    with _unreadable_as_model_file_error(where):
        manifest, tensors = _read(path, with_tensors=True)
        reader = _Decoder(tensors, device=device, where=where)
        reader.library_version = manifest.get("library_version")
        estimator = reader.decode_estimator(manifest)
    return estimator


@contextlib.contextmanager
def _unreadable_as_model_file_error(where):
    """Turn any failure to parse or rebuild a model file into a :class:`ModelFileError` naming it.

    The format checks raise ModelFileError themselves; this catches what a
    damaged or crafted file can still provoke below them (a corrupt deflate
    stream, an unsupported zip feature, JSON nested beyond the recursion
    limit, a value of the wrong type reaching a constructor). A missing or
    unreadable file keeps its own error.
    """
    try:
        yield
    except (ModelFileError, FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except (zlib.error, EOFError, NotImplementedError, RecursionError, MemoryError, AttributeError, KeyError,
            TypeError, ValueError, IndexError, OverflowError, RuntimeError, OSError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else f"{type(exc).__name__}: {exc}"
        raise ModelFileError(f"{where!r} is corrupted or was crafted: it cannot be read as a model ({reason}).") from None


def _expect(value, kind, what, where):
    if not isinstance(value, kind):
        raise ModelFileError(f"{where!r} is corrupted: {what} should be a {kind.__name__}.")
    return value


def _read(path, *, with_tensors: bool):
    where = os.fsdecode(path)
    if not os.path.exists(where):
        raise FileNotFoundError(f"Model file {where!r} does not exist.")
    if os.path.isdir(where):
        raise IsADirectoryError(f"{where!r} is a folder, not a model file: give the path of a file written by save().")
    with open(where, "rb") as handle:
        head = handle.read(4)
    if not head.startswith(b"PK\x03\x04"):
        raise ModelFileError(_not_a_model_message(where, head))
    try:
        archive = zipfile.ZipFile(where)
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"{where!r} is not a ganaugment model file: it is a damaged zip archive ({exc}).") from None
    with archive:
        names = set(archive.namelist())
        if MANIFEST not in names:
            if any(n.endswith(".pkl") or n.endswith("data.pkl") for n in names):
                raise ModelFileError(
                    f"{where!r} is a PyTorch/pickle archive (torch.save), not a ganaugment model file; "
                    "it was refused because unpickling can run arbitrary code."
                )
            raise ModelFileError(f"{where!r} is not a ganaugment model file: it has no {MANIFEST}.")
        extra = sorted(names - {MANIFEST, TENSORS})
        if extra:
            raise ModelFileError(
                f"{where!r} is not a valid ganaugment model file: unexpected members {extra[:5]}."
            )
        for info in archive.infolist():
            # Refuse decompression bombs before reading anything.
            if info.compress_type != zipfile.ZIP_STORED and info.file_size > 1000 * max(info.compress_size, 1):
                raise ModelFileError(f"{where!r} is not a valid ganaugment model file: {info.filename} is a decompression bomb.")
        if archive.getinfo(MANIFEST).file_size > _MAX_MANIFEST_BYTES:
            raise ModelFileError(f"{where!r} is not a valid ganaugment model file: its manifest is too large.")
        try:
            manifest = json.loads(archive.read(MANIFEST).decode("utf-8"))
        except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
            raise ModelFileError(f"{where!r} is corrupted: its manifest is not valid JSON ({exc}).") from None
        _check_manifest(manifest, where)
        tensors = {}
        if with_tensors:
            if TENSORS not in names:
                raise ModelFileError(f"{where!r} is corrupted: it has no {TENSORS}.")
            tensors = _parse_tensors(archive, where)
    return manifest, tensors


def _not_a_model_message(where, head: bytes) -> str:
    if head[:1] == b"\x80" or head[:1] in (b"(", b"c", b"]", b"}"):
        return (
            f"{where!r} is not a ganaugment model file: it looks like a pickle, which ganaugment never "
            "loads because unpickling can run arbitrary code. Save models with estimator.save(path)."
        )
    return f"{where!r} is not a ganaugment model file (it is not a zip archive written by save())."


def _check_manifest(manifest, where):
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{where!r} is not a ganaugment model file: its manifest names no {FORMAT!r} format.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{where!r} is corrupted: invalid format version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{where!r} uses model file format version {version}, but this ganaugment reads versions up to "
            f"{FORMAT_VERSION}; upgrade ganaugment (the file was written by ganaugment "
            f"{manifest.get('library_version')})."
        )
    for key in ("estimator", "params", "fitted"):
        if key not in manifest:
            raise ModelFileError(f"{where!r} is corrupted: its manifest has no {key!r} entry.")
    if not isinstance(manifest["estimator"], str):
        raise ModelFileError(f"{where!r} is corrupted: the estimator name is not a string.")


def _parse_tensors(archive, where) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load as load_tensors

    try:
        return load_tensors(archive.read(TENSORS))
    except (SafetensorError, ValueError, RuntimeError, zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f"{where!r} is corrupted: its tensors cannot be read ({exc}).") from None


# ----------------------------------------------------- value (de)coding
class _Encoder:
    """Turns fitted values into strict JSON, collecting tensors on the side."""

    def __init__(self):
        self.tensors = {}

    def tensor_bytes(self) -> bytes:
        from safetensors.torch import save as save_tensors

        return save_tensors(self.tensors)

    def encode_estimator(self, estimator, where: str) -> dict:
        """Class name, hyperparameters and fitted attributes of a PersistableMixin estimator."""
        name = type(estimator).__name__
        if _ESTIMATORS.get(name) is not type(estimator):
            raise TypeError(f"Cannot save {where or name}: {name} does not inherit ganaugment's PersistableMixin.")
        params = estimator.get_params(deep=False)
        skip = set(params) | set(getattr(type(estimator), "_transient_attributes", ()))
        return {
            "estimator": name,
            "params": {k: self.encode(v, f"{where}{k}") for k, v in params.items()},
            "fitted": [[k, self.encode(v, f"{where}{k}")] for k, v in vars(estimator).items() if k not in skip],
        }

    def _store(self, tensor, where) -> dict:
        key = f"t{len(self.tensors)}"
        self.tensors[key] = tensor.detach().to("cpu").clone().contiguous()
        return {_TAG: "tensor", "key": key}

    def encode(self, value, where: str):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and not isinstance(value, np.integer):
            return int(value)
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else {_TAG: "float", "repr": repr(float(value))}
        if isinstance(value, np.generic):
            if isinstance(value, np.datetime64):
                return {_TAG: "datetime64", "dtype": value.dtype.str, "value": int(value.view("int64"))}
            if isinstance(value, np.timedelta64):
                return {_TAG: "timedelta64", "dtype": value.dtype.str, "value": int(value.view("int64"))}
            if isinstance(value, (np.bool_, np.integer, np.floating, np.str_)):
                return {_TAG: "npscalar", "dtype": value.dtype.str, "value": self.encode(value.item(), where)}
            raise TypeError(f"Cannot save {where}: numpy scalars of type {type(value).__name__} are not supported.")
        if isinstance(value, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {_TAG: "tuple", "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            if all(isinstance(k, str) for k in value) and _TAG not in value:
                return {k: self.encode(v, f"{where}.{k}") for k, v in value.items()}
            return {
                _TAG: "dict",
                "items": [[self.encode(k, where), self.encode(v, f"{where}[{k!r}]")] for k, v in value.items()],
            }
        if isinstance(value, os.PathLike):
            return os.fspath(value)  # a folder or file name (checkpoint_dir): kept as its string
        return self._encode_object(value, where)

    def _encode_object(self, value, where):
        import pandas as pd
        import torch

        if isinstance(value, pd.Timestamp):
            return {
                _TAG: "timestamp",
                "value": int(value.value),
                "tz": None if value.tz is None else str(value.tz),
                "unit": getattr(value, "unit", "ns"),
            }
        if isinstance(value, pd.Timedelta):
            return {_TAG: "timedelta", "value": int(value.value), "unit": getattr(value, "unit", "ns")}
        if value is pd.NaT:
            return {_TAG: "nat"}
        if value is pd.NA:
            return {_TAG: "na"}
        if isinstance(value, pd.Interval):  # the levels of a pd.cut column
            return {
                _TAG: "interval", "left": self.encode(value.left, where), "right": self.encode(value.right, where),
                "closed": value.closed,
            }
        if isinstance(value, pd.Period):
            return {_TAG: "period", "text": str(value), "freq": value.freqstr}
        if isinstance(value, decimal.Decimal):
            return {_TAG: "decimal", "text": str(value)}
        if isinstance(value, bytes):
            return {_TAG: "bytes", "hex": value.hex()}
        if isinstance(value, _dt.datetime):
            return {_TAG: "datetime", "iso": value.isoformat()}
        if isinstance(value, _dt.date):
            return {_TAG: "date", "iso": value.isoformat()}
        if isinstance(value, np.dtype):
            if value.kind == "V" or value.fields is not None:
                raise TypeError(f"Cannot save {where}: structured dtypes are not supported.")
            return {_TAG: "dtype", "str": value.str if value.kind != "O" else "object"}
        if isinstance(value, np.ndarray):
            return self._encode_array(value, where)
        if isinstance(value, torch.Tensor):
            return self._store(value, where)
        if isinstance(value, torch.device):
            return {_TAG: "device", "str": str(value)}
        if isinstance(value, torch.Generator):
            return {
                _TAG: "torch_generator",
                "device": value.device.type,
                "state": self._store(value.get_state(), where),
            }
        if isinstance(value, np.random.Generator):
            state = value.bit_generator.state
            return {_TAG: "np_generator", "state": self.encode(state, where)}
        if isinstance(value, np.random.RandomState):
            name, keys, pos, has_gauss, gauss = value.get_state(legacy=True)
            return {
                _TAG: "random_state",
                "keys": self._store(torch.from_numpy(keys.astype(np.int64)), where),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "gauss": float(gauss),
            }
        if isinstance(value, PersistableMixin):
            return {_TAG: "estimator", **self.encode_estimator(value, where + ".")}
        if type(value).__name__ in _STATE_CLASSES and _STATE_CLASSES[type(value).__name__] is type(value):
            state = value.to_state()
            return {_TAG: "object", "class": type(value).__name__, "state": self.encode(state, where)}
        raise TypeError(
            f"Cannot save {where}: values of type {type(value).__module__}.{type(value).__name__} are not "
            "supported by the ganaugment model format (register the class with @persistable)."
        )

    def _encode_array(self, array, where):
        import torch

        dtype = array.dtype
        if dtype.kind in "biuf" and dtype.itemsize <= 8 and dtype.kind + str(dtype.itemsize) not in ("u2", "u4", "u8"):
            tensor = torch.from_numpy(np.ascontiguousarray(array).astype(dtype.newbyteorder("=")))
            return {_TAG: "ndarray", "dtype": dtype.str, "shape": list(array.shape), "data": self._store(tensor, where)}
        if dtype.kind in "uMm":
            data = array.astype(np.int64) if dtype.kind == "u" else array.view(np.int64)
            tensor = torch.from_numpy(np.ascontiguousarray(data))
            return {_TAG: "ndarray", "dtype": dtype.str, "shape": list(array.shape), "data": self._store(tensor, where)}
        if dtype.kind in "OUS":
            items = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(array.ravel().tolist())]
            return {
                _TAG: "ndarray",
                "dtype": "object" if dtype.kind == "O" else dtype.str,
                "shape": list(array.shape),
                "items": items,
            }
        raise TypeError(f"Cannot save {where}: arrays of dtype {dtype} are not supported.")


class _Decoder:
    """Inverse of :class:`_Encoder`; every malformed value is a ModelFileError."""

    def __init__(self, tensors: dict, device, where: str):
        self.tensors = tensors
        self.device = device
        self.where = where
        self.library_version = None

    def decode_estimator(self, entry: dict):
        """Rebuild an estimator from :meth:`_Encoder.encode_estimator` output."""
        where = self.where
        name = entry.get("estimator")
        cls = _ESTIMATORS.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ModelFileError(f"{where!r} holds a {name!r}, which this version of ganaugment does not provide.")
        params = {k: self.decode(v) for k, v in _expect(entry.get("params"), dict, "params", where).items()}
        unknown = sorted(set(params) - set(cls().get_params(deep=False)))
        if unknown:
            raise ModelFileError(
                f"{where!r} sets hyperparameters {unknown} that {name} does not have; "
                f"it was written by ganaugment {self.library_version}."
            )
        estimator = cls(**params)
        context = {}
        for item in _expect(entry.get("fitted"), list, "fitted", where):
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
                self.fail("malformed fitted attribute entry")
            key, value = item
            # A fitted name is data, never a method or class attribute it could shadow (sample, fit).
            if not key.isidentifier() or key.startswith("__") or key in params or hasattr(cls, key):
                self.fail(f"invalid fitted attribute name {key!r}")
            if key == "device_" and self.device is not None:
                value = self.device  # wherever it was trained, the model now lives here
            else:
                value = self.decode(value, context=context)
            context[key] = value
            setattr(estimator, key, value)
        # Every estimator, the top one and those inside it (a sampler's GAN), checks what it was given:
        # a crafted file could otherwise load and fail at the first sample().
        check = getattr(estimator, "_check_restored", None)
        if check is not None:
            check()
        return estimator

    def fail(self, message):
        raise ModelFileError(f"{self.where!r} is corrupted: {message}.")

    def tensor(self, ref):
        key = ref.get("key") if isinstance(ref, dict) else None
        if key not in self.tensors:
            self.fail(f"tensor {key!r} is missing")
        return self.tensors[key]

    def decode(self, value, context=None):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.decode(v, context) for v in value]
        if not isinstance(value, dict):
            self.fail(f"unexpected JSON value of type {type(value).__name__}")
        tag = value.get(_TAG)
        if tag is None:
            return {k: self.decode(v, context) for k, v in value.items()}
        try:
            return self._decode_tagged(tag, value, context)
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError, OverflowError, IndexError, RuntimeError) as exc:
            self.fail(f"cannot restore a value tagged {tag!r} ({type(exc).__name__}: {exc})")

    def _decode_tagged(self, tag, value, context):
        import pandas as pd
        import torch

        if tag == "float":
            if value["repr"] not in ("nan", "inf", "-inf"):
                self.fail(f"bad float {value['repr']!r}")
            return float(value["repr"])
        if tag == "npscalar":
            return np.dtype(_plain_dtype(value["dtype"])).type(self.decode(value["value"]))
        if tag in ("datetime64", "timedelta64"):
            dtype = np.dtype(_plain_dtype(value["dtype"]))
            if dtype.kind not in "Mm":
                self.fail(f"bad {tag} dtype")
            return np.array(int(value["value"]), dtype=np.int64).view(dtype)[()]
        if tag == "tuple":
            return tuple(self.decode(v, context) for v in value["items"])
        if tag == "dict":
            return {_hashable(self.decode(k)): self.decode(v, context) for k, v in value["items"]}
        if tag == "timestamp":
            stamp = pd.Timestamp(int(value["value"]), unit="ns", tz="UTC" if value["tz"] else None)
            if value["tz"]:
                stamp = stamp.tz_convert(value["tz"])
            return stamp.as_unit(value.get("unit", "ns"))
        if tag == "timedelta":
            return pd.Timedelta(int(value["value"]), unit="ns").as_unit(value.get("unit", "ns"))
        if tag == "nat":
            return pd.NaT
        if tag == "na":
            return pd.NA
        if tag == "interval":
            if value["closed"] not in ("left", "right", "both", "neither"):
                self.fail(f"bad interval side {value['closed']!r}")
            return pd.Interval(self.decode(value["left"]), self.decode(value["right"]), closed=value["closed"])
        if tag == "period":
            return pd.Period(_short_text(value["text"], self), freq=_short_text(value["freq"], self))
        if tag == "decimal":
            return decimal.Decimal(_short_text(value["text"], self))
        if tag == "bytes":
            return bytes.fromhex(value["hex"])
        if tag == "datetime":
            return _dt.datetime.fromisoformat(value["iso"])
        if tag == "date":
            return _dt.date.fromisoformat(value["iso"])
        if tag == "dtype":
            return np.dtype(_plain_dtype(value["str"]))
        if tag == "ndarray":
            return self._decode_array(value)
        if tag == "tensor":
            return self.tensor(value)
        if tag == "device":
            return torch.device(value["str"])
        if tag == "torch_generator":
            state = self.tensor(value["state"])
            gen = torch.Generator(device=self.device if self.device is not None else "cpu")
            if gen.device.type == value["device"]:
                gen.set_state(state)
            else:
                # A CUDA generator's state does not fit a CPU generator: seed from it instead.
                gen.manual_seed(int(torch.as_tensor(state, dtype=torch.uint8)[:8].to(torch.int64).sum()))
            return gen
        if tag == "np_generator":
            state = self.decode(value["state"])
            name = state.get("bit_generator") if isinstance(state, dict) else None
            if name not in _BIT_GENERATORS:
                self.fail(f"unknown random bit generator {name!r}")
            bit = getattr(np.random, name)()
            bit.state = state
            return np.random.Generator(bit)
        if tag == "random_state":
            keys = self.tensor(value["keys"]).numpy().astype(np.uint32)
            rs = np.random.RandomState()
            rs.set_state(("MT19937", keys, int(value["pos"]), int(value["has_gauss"]), float(value["gauss"])))
            return rs
        if tag == "estimator":
            return self.decode_estimator(value)
        if tag == "object":
            cls = _STATE_CLASSES.get(value["class"])
            if cls is None:
                self.fail(f"it holds a {value['class']!r} object, which this ganaugment does not know")
            state = self.decode(value["state"], context)
            return cls.from_state(state, device=self.device, context=context or {})
        self.fail(f"unknown value tag {tag!r}")

    def _decode_array(self, value):
        shape = tuple(int(n) for n in value["shape"])
        if "items" in value:
            items = [self.decode(v) for v in value["items"]]
            dtype = np.dtype(object) if value["dtype"] == "object" else np.dtype(_plain_dtype(value["dtype"]))
            if dtype.itemsize * len(items) > _MAX_ITEMS_ARRAY_BYTES:
                self.fail(f"an array of {len(items)} items of {dtype.itemsize} bytes would take more than 256 MiB")
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out.astype(dtype).reshape(shape)
        data = self.tensor(value["data"]).numpy()
        dtype = np.dtype(_plain_dtype(value["dtype"]))
        if dtype.kind in "Mm":
            return data.astype(np.int64).view(dtype).reshape(shape)
        return data.astype(dtype).reshape(shape)


def _short_text(text, reader, limit: int = 100) -> str:
    """``text`` when it is a string of at most ``limit`` characters (a parsed level, not a payload)."""
    if not isinstance(text, str) or len(text) > limit:
        reader.fail("a level's text is not a short string")
    return text


def _plain_dtype(text):
    """Accept only simple dtype strings (no structured or object-building specs)."""
    if not isinstance(text, str) or len(text) > 40 or any(c in text for c in "[](){},:"):
        if isinstance(text, str) and text.startswith(("<M8[", ">M8[", "|M8[", "<m8[", ">m8[", "|m8[")):
            return text
        raise ValueError(f"unsupported dtype {text!r}")
    if np.dtype(text).itemsize > _MAX_ITEM_BYTES:
        raise ValueError(f"dtype {text!r} has items of {np.dtype(text).itemsize} bytes")
    return text


def _hashable(value):
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value
