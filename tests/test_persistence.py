"""Model files: exact round trips, refusal of pickles and bad files, atomic writes."""

import json
import os
import pickle
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from ganaugment import GANAugmenter, GANOverSampler, TableEncoder
from ganaugment import persistence
from ganaugment.persistence import ModelFileError, PersistableMixin, load_model, read_model_info
from sklearn.base import BaseEstimator

from tests.conftest import FAST, make_mixed_frame


@pytest.fixture(scope="module")
def fitted(request):
    """One model with classes, fitted on every column kind (shared: training costs time)."""
    n = 240
    X = make_mixed_frame(n)
    rng = np.random.default_rng(0)
    y = rng.choice([3, 7], n, p=[0.8, 0.2])
    # CPU: a reloaded model samples the very same rows there (CUDA runs are not bitwise reproducible).
    return GANAugmenter(**FAST, random_state=0, device="cpu").fit(X, y)


def _zip_with(path, manifest=None, tensors=None, extra=None):
    with zipfile.ZipFile(path, "w") as archive:
        if manifest is not None:
            archive.writestr(persistence.MANIFEST, manifest)
        if tensors is not None:
            archive.writestr(persistence.TENSORS, tensors)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)


def _rewrite_manifest(src, dst, change):
    with zipfile.ZipFile(src) as archive:
        manifest = json.loads(archive.read(persistence.MANIFEST))
        tensors = archive.read(persistence.TENSORS)
    change(manifest)
    _zip_with(dst, json.dumps(manifest), tensors)


# ------------------------------------------------------------- round trips
def test_loaded_model_samples_identically(fitted, tmp_path):
    path = tmp_path / "model.gan"
    fitted.save(path)
    loaded = GANAugmenter.load(path, device="cpu")
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    # Same sampling generator state: the next draws agree, row for row and dtype for dtype.
    for kwargs in ({"n_samples": 40}, {"y": {7: 15, 3: 5}}, {"n_samples": 10, "conditions": {"city": "nice"}}):
        X_a, y_a = fitted.sample(**kwargs)
        X_b, y_b = loaded.sample(**kwargs)
        assert_frame_equal(X_a, X_b)
        np.testing.assert_array_equal(y_a, y_b)
    assert loaded.history_ == fitted.history_
    assert loaded.device_ == torch.device("cpu")


def test_array_input_model_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=120), rng.integers(0, 3, 120)])
    model = GANAugmenter(**FAST, categorical_features=[1], random_state=3).fit(X)
    model.save(tmp_path / "array.gan")
    loaded = GANAugmenter.load(tmp_path / "array.gan")
    np.testing.assert_array_equal(model.sample(25), loaded.sample(25))
    np.testing.assert_array_equal(model.transform(X[:7]), loaded.transform(X[:7]))


def test_model_saved_twice_is_byte_identical(fitted, tmp_path):
    fitted.save(tmp_path / "a.gan")
    fitted.save(tmp_path / "b.gan")
    assert (tmp_path / "a.gan").read_bytes() == (tmp_path / "b.gan").read_bytes()


def test_pickle_and_joblib_of_the_estimator_keep_working(fitted, tmp_path):
    clone = pickle.loads(pickle.dumps(fitted))
    joblib.dump(fitted, tmp_path / "model.joblib")
    from_joblib = joblib.load(tmp_path / "model.joblib")
    reference = pickle.loads(pickle.dumps(fitted))  # same sampling state as the two above
    expected, _ = reference.sample(30)
    assert_frame_equal(clone.sample(30)[0], expected)
    assert_frame_equal(from_joblib.sample(30)[0], expected)


class _Wrapper(PersistableMixin, BaseEstimator):
    """Holds a fitted GANAugmenter, the way an over-sampler built on it would."""

    _transient_attributes = ("cache_",)

    def __init__(self, inner=None, ratio=0.5):
        self.inner = inner
        self.ratio = ratio

    def fit(self, X):
        self.augmenter_ = GANAugmenter(**FAST, random_state=1).fit(X)
        self.cache_ = object()  # not saved: declared transient
        return self


def test_estimator_holding_an_estimator_round_trips(tmp_path):
    X = pd.DataFrame({"a": np.arange(100) % 5, "b": ["u", "v", "w", "v"] * 25})
    wrapper = _Wrapper(inner=GANAugmenter(epochs=1), ratio=0.25).fit(X)
    wrapper.save(tmp_path / "w.gan")
    loaded = _Wrapper.load(tmp_path / "w.gan")
    assert loaded.ratio == 0.25 and loaded.inner.get_params() == GANAugmenter(epochs=1).get_params()
    assert not hasattr(loaded, "cache_")
    assert_frame_equal(loaded.augmenter_.sample(20), wrapper.augmenter_.sample(20))


def test_metadata_is_kept(fitted, tmp_path):
    fitted.save(tmp_path / "m.gan", metadata={"target": "label", "source": "unit test"})
    info = read_model_info(tmp_path / "m.gan")
    assert info["metadata"] == {"target": "label", "source": "unit test"}
    assert info["estimator"] == "GANAugmenter"
    assert info["format_version"] == persistence.FORMAT_VERSION
    assert info["params"]["generator_dim"] == FAST["generator_dim"]


def test_unfitted_estimator_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GANAugmenter().save(tmp_path / "x.gan")
    assert not (tmp_path / "x.gan").exists()


# ----------------------------------------------------- encoder state exactly
LEVEL_COLUMNS = {
    "str": pd.Series(["a", "b", "a", "c"] * 5),
    "int": pd.Series([1, 5, 5, -2] * 5),
    "float": pd.Series([0.1, 2.5, 1e-300, 0.1] * 5),
    "bool": pd.Series([True, False, True, True] * 5),
    "nullable_bool": pd.Series([True, None, False, True] * 5, dtype="boolean"),
    "timestamp": pd.Series(pd.to_datetime(["2020-01-01 10:00", "2021-06-30 00:00", "2020-01-01 10:00", "1999-12-31 23:59"] * 5)),
    "tz_timestamp": pd.Series(pd.date_range("2022-03-27", periods=4, freq="h", tz="Europe/Paris").repeat(5)),
    "int_categories": pd.Series(pd.Categorical([10, 20, 10, 30] * 5, categories=[30, 20, 10, 40], ordered=True)),
    "str_categories": pd.Series(pd.Categorical(["lo", "hi", None, "lo"] * 5, categories=["lo", "mid", "hi"])),
    "string_dtype": pd.Series(["u", "v", None, "u"] * 5, dtype="string"),
    "missing_object": pd.Series(["u", None, np.nan, "u"] * 5, dtype=object),
}


def _typed(values):
    return [(type(v), v) for v in values]


@pytest.mark.parametrize("kind", sorted(LEVEL_COLUMNS))
def test_encoder_state_round_trips_exactly(kind):
    frame = pd.DataFrame({"col": LEVEL_COLUMNS[kind], "num": np.linspace(0, 1, 20)})
    encoder = TableEncoder(categorical_features=["col"], max_categories=3, random_state=0).fit(frame)
    writer = persistence._Encoder()
    text = json.dumps(writer.encode(encoder, "encoder"), allow_nan=False)
    tensors = {k: v.clone() for k, v in writer.tensors.items()}
    restored = persistence._Decoder(tensors, device=None, where="test").decode(json.loads(text))
    assert restored.columns_ == encoder.columns_
    assert restored.spans_ == encoder.spans_
    for before, after in zip(encoder.states_, restored.states_):
        assert after == before
        assert _typed(after.levels) == _typed(before.levels)
        assert _typed(after.pooled_levels) == _typed(before.pooled_levels)
        assert after.categories is None or _typed(after.categories) == _typed(before.categories)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    matrix = encoder.transform(frame, np.random.default_rng(0))
    assert_frame_equal(restored.inverse_transform(matrix, rng_b), encoder.inverse_transform(matrix, rng_a))


@pytest.mark.parametrize(
    "value",
    [
        (1, "a"),
        {"x": [1.5, float("nan"), float("-inf")]},
        {3: "int key", (1, 2): "tuple key"},
        np.int32(-4),
        np.float32(0.25),
        np.datetime64("2020-01-02T03:04:05.123456789"),
        np.dtype("int16"),
        pd.Timestamp("2021-03-04 05:06:07.000000123", tz="America/New_York"),
        pd.Timedelta("1 days 00:00:00.5"),
        pd.Timestamp("2021-03-04").as_unit("s"),
        np.array(["a", "bb"]),
        np.array([[1, 2], [3, 4]], dtype=np.uint8),
        np.array([1.5, np.nan]),
        np.array(["2020-01-01", "NaT"], dtype="datetime64[ms]"),
        np.array([1, "a", None, 2.5], dtype=object),
    ],
    ids=repr,
)
def test_tagged_values_round_trip_with_their_types(value):
    writer = persistence._Encoder()
    text = json.dumps(writer.encode(value, "value"), allow_nan=False)
    back = persistence._Decoder(dict(writer.tensors), device=None, where="t").decode(json.loads(text))
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype
        np.testing.assert_array_equal(back, value)
    elif isinstance(value, dict) and "x" in value:
        assert back["x"][0] == 1.5 and np.isnan(back["x"][1]) and back["x"][2] == float("-inf")
    else:
        assert back == value
        if isinstance(value, pd.Timestamp):
            assert back.unit == value.unit and str(back.tz) == str(value.tz)


def test_random_generators_round_trip():
    gen = np.random.default_rng(42)
    gen.random(3)
    legacy = np.random.RandomState(7)
    legacy.rand(5)
    writer = persistence._Encoder()
    text = json.dumps(writer.encode({"g": gen, "r": legacy}, "rngs"))
    back = persistence._Decoder(dict(writer.tensors), device=None, where="t").decode(json.loads(text))
    np.testing.assert_array_equal(back["g"].random(4), gen.random(4))
    np.testing.assert_array_equal(back["r"].rand(4), legacy.rand(4))


def test_unsupported_attribute_is_named(fitted, tmp_path):
    clone = pickle.loads(pickle.dumps(fitted))
    clone.extra_ = object()
    with pytest.raises(TypeError, match="extra_"):
        clone.save(tmp_path / "bad.gan")
    assert not (tmp_path / "bad.gan").exists()


# ------------------------------------------------------ untrusted files
class _Plant:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.gan"
    path.write_bytes(pickle.dumps(_Plant(marker)))
    with pytest.raises(ModelFileError, match="pickle"):
        GANAugmenter.load(path)
    assert not marker.exists()


def test_torch_pickle_archive_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.gan"
    torch.save({"payload": _Plant(marker)}, path)
    assert zipfile.is_zipfile(path)
    with pytest.raises(ModelFileError, match="pickle"):
        GANAugmenter.load(path)
    assert not marker.exists()


def test_pickle_smuggled_into_a_model_file_is_refused(fitted, tmp_path):
    marker = tmp_path / "pwned"
    fitted.save(tmp_path / "good.gan")
    with zipfile.ZipFile(tmp_path / "good.gan") as archive:
        manifest = archive.read(persistence.MANIFEST)
    bad = tmp_path / "bad.gan"
    _zip_with(bad, manifest, pickle.dumps(_Plant(marker)))
    with pytest.raises(ModelFileError, match="tensors cannot be read"):
        GANAugmenter.load(bad)
    _zip_with(bad, manifest, b"", extra={"extra.pkl": pickle.dumps(_Plant(marker))})
    with pytest.raises(ModelFileError, match="unexpected members"):
        GANAugmenter.load(bad)
    assert not marker.exists()


def test_class_names_in_the_file_are_never_imported(fitted, tmp_path):
    fitted.save(tmp_path / "good.gan")

    def evil_estimator(manifest):
        manifest["estimator"] = "os.system"

    _rewrite_manifest(tmp_path / "good.gan", tmp_path / "a.gan", evil_estimator)
    with pytest.raises(ModelFileError, match="does not provide"):
        GANAugmenter.load(tmp_path / "a.gan")

    def evil_object(manifest):
        for entry in manifest["fitted"]:
            if entry[0] == "encoder_":
                entry[1]["class"] = "subprocess.Popen"

    _rewrite_manifest(tmp_path / "good.gan", tmp_path / "b.gan", evil_object)
    with pytest.raises(ModelFileError, match="does not know"):
        GANAugmenter.load(tmp_path / "b.gan")


def test_unknown_format_version_is_a_clear_error(fitted, tmp_path):
    fitted.save(tmp_path / "good.gan")
    _rewrite_manifest(tmp_path / "good.gan", tmp_path / "new.gan", lambda m: m.update(format_version=99))
    with pytest.raises(ModelFileError, match="format version 99.*upgrade ganaugment"):
        GANAugmenter.load(tmp_path / "new.gan")


def _bomb(path):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(persistence.MANIFEST, b" " * 50_000_000)
        archive.writestr(persistence.TENSORS, b"")


@pytest.mark.parametrize(
    "make",
    [
        lambda p, good: p.write_bytes(b"hello, not a model"),
        lambda p, good: p.write_bytes(good[: len(good) // 2]),
        lambda p, good: _zip_with(p, "{not json", b""),
        lambda p, good: _zip_with(p, json.dumps({"format": "something-else"}), b""),
        lambda p, good: p.write_bytes(b""),
        lambda p, good: _bomb(p),
    ],
    ids=["text", "truncated", "bad-json", "foreign-format", "empty", "zip-bomb"],
)
def test_damaged_or_foreign_files_are_refused(fitted, tmp_path, make):
    fitted.save(tmp_path / "good.gan")
    path = tmp_path / "bad.gan"
    make(path, (tmp_path / "good.gan").read_bytes())
    with pytest.raises(ModelFileError, match="bad.gan"):
        GANAugmenter.load(path)


def test_weights_that_do_not_fit_the_layout_are_refused(fitted, tmp_path):
    fitted.save(tmp_path / "good.gan")

    def shrink(manifest):
        for entry in manifest["fitted"]:
            if entry[0] == "model_":
                entry[1]["state"]["params"]["noise_dim"] = 3  # the stored weights expect 16

    _rewrite_manifest(tmp_path / "good.gan", tmp_path / "bad.gan", shrink)
    with pytest.raises(ModelFileError, match="do not fit"):
        GANAugmenter.load(tmp_path / "bad.gan")


def _set_fitted(name, value):
    def change(manifest):
        entries = manifest["fitted"]
        names = [entry[0] for entry in entries]
        if name in names:
            entries[names.index(name)][1] = value
        else:
            entries.append([name, value])

    return change


@pytest.mark.parametrize("change, reason", [
    (_set_fitted("encoder_", 3), "cannot be read as a model .AttributeError"),
    (_set_fitted("model_", None), "model_ is a NoneType, not a TabularGAN"),
    (_set_fitted("kind_", "image"), "model_ is a TabularGAN, not a ImageGAN"),
    (_set_fitted("kind_", "movie"), "kind_ is 'movie'"),
    (_set_fitted("_sample_rng", "x"), "_sample_rng is a str"),
    (_set_fitted("classes_", "abc"), "classes_ is not a 1-D array"),
    (_set_fitted("sample", 1), "invalid fitted attribute name 'sample'"),
    (_set_fitted("classes_", {"__ganaugment__": "ndarray", "dtype": "<U200000000", "shape": [30], "items": ["a"] * 30}),
     "has items of 800000000 bytes"),
])
def test_crafted_values_are_refused_at_load(fitted, tmp_path, change, reason):
    fitted.save(tmp_path / "good.gan")
    _rewrite_manifest(tmp_path / "good.gan", tmp_path / "bad.gan", change)
    with pytest.raises(ModelFileError, match=reason):
        GANAugmenter.load(tmp_path / "bad.gan")


def _in_state(owner, path, value):
    """A change that sets ``state[path...]`` of the fitted attribute ``owner`` (a model_ or encoder_ state)."""

    def change(manifest):
        entry = next(entry for entry in manifest["fitted"] if entry[0] == owner)[1]["state"]
        for key in path[:-1]:
            entry = entry[key]
        entry[path[-1]] = value(entry[path[-1]]) if callable(value) else value

    return change


def _numeric_column(manifest):
    encoder = next(entry for entry in manifest["fitted"] if entry[0] == "encoder_")[1]["state"]
    return next(i for i, state in enumerate(encoder["states"]) if state["kind"] == "numeric")


@pytest.mark.parametrize("change, reason", [
    # Each loaded, then failed or generated NaN at the first sample() (a read-only audit's crafted files).
    (_set_fitted("classes_", {"__ganaugment__": "ndarray", "dtype": "<U1", "shape": [3], "items": ["a", "b", "c"]}),
     "classes_ names 3 classes; the networks have 2"),
    (_in_state("model_", ["params", "generator_dim"], [32, 10**9]), "the layout needs \\(1000000000"),
    (_set_fitted("_input_kind", "movie"), "_input_kind is 'movie'"),
])
def test_crafted_states_that_loaded_and_failed_later_are_refused(fitted, tmp_path, change, reason):
    fitted.save(tmp_path / "good.gan")
    _rewrite_manifest(tmp_path / "good.gan", tmp_path / "bad.gan", change)
    with pytest.raises(ModelFileError, match=reason):
        GANAugmenter.load(tmp_path / "bad.gan")


@pytest.mark.parametrize("field, value, reason", [
    ("scale", float("nan"), "numbers that are not finite"),
    ("stds", lambda stds: [0.0] * len(stds), "a scale or spread <= 0"),
    ("decimals", 10**9, "1000000000 decimal places"),
    ("integer_bounds", [-(10**30), 10**30], "integer bounds outside 64-bit"),
    ("dtype", "not-a-dtype", "dtype 'not-a-dtype', which pandas does not know"),
])
def test_crafted_encoder_numbers_are_refused(fitted, tmp_path, field, value, reason):
    fitted.save(tmp_path / "good.gan")

    def change(manifest):
        column = _numeric_column(manifest)
        _in_state("encoder_", ["states", column, field], value)(manifest)

    _rewrite_manifest(tmp_path / "good.gan", tmp_path / "bad.gan", change)
    with pytest.raises(ModelFileError, match=reason):
        GANAugmenter.load(tmp_path / "bad.gan")


def test_non_finite_network_weights_are_refused(fitted, tmp_path):
    from safetensors.numpy import load, save

    fitted.save(tmp_path / "good.gan")
    with zipfile.ZipFile(tmp_path / "good.gan") as archive:
        manifest, tensors = archive.read(persistence.MANIFEST), load(archive.read(persistence.TENSORS))
    state = next(entry for entry in json.loads(manifest)["fitted"] if entry[0] == "model_")[1]["state"]
    key = state["generator"]["head.weight"]["key"]
    tensors[key] = np.full_like(tensors[key], np.nan)
    _zip_with(tmp_path / "bad.gan", manifest, save(tensors))
    with pytest.raises(ModelFileError, match="weight 'head.weight' holds NaN or infinite values"):
        GANAugmenter.load(tmp_path / "bad.gan")


def test_a_crafted_gan_inside_a_sampler_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(120, 2)), np.r_[np.zeros(90, int), np.ones(30, int)]
    sampler = GANOverSampler(estimator=GANAugmenter(**FAST), acceptance=None, random_state=0)
    sampler.fit_resample(X, y)
    sampler.save(tmp_path / "good.gan")

    def change(manifest):
        inner = next(entry for entry in manifest["fitted"] if entry[0] == "estimator_")[1]
        next(entry for entry in inner["fitted"] if entry[0] == "kind_")[1] = "movie"

    _rewrite_manifest(tmp_path / "good.gan", tmp_path / "bad.gan", change)
    with pytest.raises(ModelFileError, match="kind_ is 'movie'"):
        GANOverSampler.load(tmp_path / "bad.gan")


def test_json_nested_beyond_the_recursion_limit_is_refused(fitted, tmp_path):
    fitted.save(tmp_path / "good.gan")
    with zipfile.ZipFile(tmp_path / "good.gan") as archive:
        manifest = archive.read(persistence.MANIFEST).decode()
        tensors = archive.read(persistence.TENSORS)
    deep = manifest.replace('"fitted":', '"deep": ' + "[" * 100_000 + "]" * 100_000 + ', "fitted":', 1)
    _zip_with(tmp_path / "deep.gan", deep, tensors)
    for read in (GANAugmenter.load, read_model_info):
        with pytest.raises(ModelFileError, match="nested too deeply"):
            read(tmp_path / "deep.gan")


def test_a_damaged_compressed_manifest_is_refused(fitted, tmp_path):
    fitted.save(tmp_path / "good.gan")
    with zipfile.ZipFile(tmp_path / "good.gan") as archive:
        manifest = archive.read(persistence.MANIFEST)
        tensors = archive.read(persistence.TENSORS)
    with zipfile.ZipFile(tmp_path / "deflated.gan", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(persistence.MANIFEST, manifest)
        archive.writestr(persistence.TENSORS, tensors)
    data = bytearray((tmp_path / "deflated.gan").read_bytes())
    with zipfile.ZipFile(tmp_path / "deflated.gan") as archive:
        info = archive.getinfo(persistence.MANIFEST)
    start = info.header_offset + 30 + len(info.filename)  # the compressed bytes follow the local header
    refused = 0
    for offset in range(start + 10, start + info.compress_size - 10, max(1, info.compress_size // 40)):
        damaged = bytearray(data)
        damaged[offset] ^= 0x10
        (tmp_path / "damaged.gan").write_bytes(bytes(damaged))
        with pytest.raises(ModelFileError):
            GANAugmenter.load(tmp_path / "damaged.gan")
        refused += 1
    assert refused >= 30


def test_saving_keeps_the_permissions_and_links_of_the_target(fitted, tmp_path):
    umask = os.umask(0o022)
    try:
        fitted.save(tmp_path / "new.gan")
        assert os.stat(tmp_path / "new.gan").st_mode & 0o777 == 0o644  # as open() would create it
        os.chmod(tmp_path / "new.gan", 0o640)
        fitted.save(tmp_path / "new.gan")
        assert os.stat(tmp_path / "new.gan").st_mode & 0o777 == 0o640
        os.symlink(tmp_path / "new.gan", tmp_path / "link.gan")
        fitted.save(tmp_path / "link.gan")
        assert os.path.islink(tmp_path / "link.gan")
        GANAugmenter.load(tmp_path / "link.gan")
    finally:
        os.umask(umask)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the umask from /proc")
def test_saving_leaves_the_process_umask_alone(fitted, tmp_path, monkeypatch):
    # Reading the umask with os.umask sets it for the whole process: a file another thread created
    # meanwhile got mode 0o666.
    umask = os.umask(0o027)
    try:
        calls = []
        monkeypatch.setattr(os, "umask", lambda mask: calls.append(mask) or 0o027)
        fitted.save(tmp_path / "new.gan")
        assert calls == [] and os.stat(tmp_path / "new.gan").st_mode & 0o777 == 0o640
    finally:
        monkeypatch.undo()
        os.umask(umask)


def test_saving_to_a_long_name_or_a_folder(fitted, tmp_path):
    long_name = tmp_path / ("x" * 245 + ".gan")  # 249 characters, under the usual 255 limit
    fitted.save(long_name)
    assert GANAugmenter.load(long_name).classes_.tolist() == [3, 7]
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        fitted.save(tmp_path)
    assert sorted(os.listdir(tmp_path)) == [long_name.name]  # no temporary file left


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.gan"):
        load_model(tmp_path / "nowhere.gan")


def test_loading_a_folder_says_it_is_a_folder(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder, not a model file"):
        load_model(tmp_path)


# --------------------------------------------------------------- devices
def test_model_from_a_cuda_machine_loads_on_the_cpu(fitted, tmp_path):
    """Simulate a file written on a GPU: the device recorded as CUDA, a CUDA generator state.

    Tensors are always written from host memory (``.to("cpu")``) by safetensors,
    so the only device-bound parts are the recorded device and the training
    generator's state; ``load(device="auto")`` puts the model where it can run.
    """
    fitted.save(tmp_path / "good.gan")

    def as_if_cuda(manifest):
        manifest["params"]["device"] = "cuda"
        for entry in manifest["fitted"]:
            if entry[0] == "device_":
                entry[1]["str"] = "cuda:0"
            if entry[0] == "model_":
                entry[1]["state"]["torch_rng"]["device"] = "cuda"

    _rewrite_manifest(tmp_path / "good.gan", tmp_path / "cuda.gan", as_if_cuda)
    loaded = GANAugmenter.load(tmp_path / "cuda.gan")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert loaded.device_.type == expected
    assert loaded.model_.torch_rng.device.type == expected
    assert next(loaded.model_.generator.parameters()).device.type == expected
    X_s, y_s = loaded.sample(20)
    assert list(X_s.columns) == list(fitted.feature_names_in_) and set(y_s) <= {3, 7}
    assert loaded.device == "cuda"  # the hyperparameter is kept as saved


# ------------------------------------------------------------- atomicity
def test_failed_save_leaves_the_previous_file_untouched(fitted, tmp_path, monkeypatch):
    path = tmp_path / "model.gan"
    path.write_bytes(b"previous content")
    real_writestr = zipfile.ZipFile.writestr

    def fail_on_tensors(self, name, data, *args, **kwargs):
        if getattr(name, "filename", name) == persistence.TENSORS:
            real_writestr(self, name, data[: len(data) // 3], *args, **kwargs)
            raise OSError("disk full (simulated)")
        return real_writestr(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", fail_on_tensors)
    with pytest.raises(OSError, match="disk full"):
        fitted.save(path)
    assert path.read_bytes() == b"previous content"
    assert sorted(os.listdir(tmp_path)) == ["model.gan"]  # no temporary file left behind
    monkeypatch.undo()
    fitted.save(path)
    assert GANAugmenter.load(path).n_features_in_ == fitted.n_features_in_


def test_atomic_write_never_exposes_a_partial_file(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with persistence.atomic_write(target) as handle:
            handle.write(b"half")
            raise RuntimeError("crash")
    assert not target.exists() and os.listdir(tmp_path) == []
    with persistence.atomic_write(target) as handle:
        handle.write(b"whole")
    assert target.read_bytes() == b"whole"


def test_wrong_estimator_class_is_refused(fitted, tmp_path):
    class OtherEstimator(PersistableMixin, BaseEstimator):
        pass

    fitted.save(tmp_path / "m.gan")
    with pytest.raises(ModelFileError, match="GANAugmenter.load"):
        OtherEstimator.load(tmp_path / "m.gan")


# ------------------------------------------------ property: any state value


def _same(a, b) -> bool:
    """Equal value and equal type, all the way down (True is not 1, NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (np.isnan(a) and np.isnan(b)) or a == b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, pd.Timestamp):
        return a == b and a.unit == b.unit and str(a.tz) == str(b.tz)
    return a == b


_timestamps = st.builds(
    lambda dt, tz: pd.Timestamp(dt).tz_localize(tz) if tz else pd.Timestamp(dt),
    st.datetimes(min_value=pd.Timestamp("1700-01-01").to_pydatetime(), max_value=pd.Timestamp("2200-01-01").to_pydatetime()),
    st.sampled_from([None, "UTC", "Asia/Kolkata", "America/Sao_Paulo"]),
)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(), _timestamps,
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.text(), st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(_values)
def test_any_state_value_round_trips_with_its_types(value):
    writer = persistence._Encoder()
    text = json.dumps(writer.encode(value, "value"), allow_nan=False)
    back = persistence._Decoder(dict(writer.tensors), device=None, where="t").decode(json.loads(text))
    assert _same(back, value), (value, back)


def test_a_bytes_path_is_a_file_name(fitted, tmp_path):
    """os.fspath keeps bytes paths as bytes: load reported a valid file as corrupted, save raised TypeError."""
    path = os.fsencode(tmp_path / "bytes.gan")
    assert fitted.save(path) == os.fsdecode(path)
    loaded = GANAugmenter.load(path)
    pd.testing.assert_frame_equal(loaded.sample(5, random_state=1)[0], fitted.sample(5, random_state=1)[0])
