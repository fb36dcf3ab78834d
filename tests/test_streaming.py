"""sample_to_file: chunked, atomic, schema-preserving, deterministic."""

import copy
import os

import numpy as np
import pandas as pd
import pytest

from ganaugment import GANAugmenter

from .conftest import FAST, make_mixed_frame


@pytest.fixture(scope="module")
def fitted():
    """One small fitted model per module; tests take deep copies (same random stream)."""
    frame = make_mixed_frame()
    return frame, GANAugmenter(**FAST, random_state=7).fit(frame)


def _copy(fitted):
    return copy.deepcopy(fitted[1])


def _same(left, right):
    # Parquet reads a missing object value back as None, sample() gives NaN.
    pd.testing.assert_frame_equal(left.fillna(np.nan), right.fillna(np.nan))


def test_parquet_over_several_chunks_equals_consecutive_samples(fitted, tmp_path):
    mixed_frame = fitted[0]
    streamed, twin = _copy(fitted), _copy(fitted)
    path = tmp_path / "out.parquet"
    assert streamed.sample_to_file(path, 250, chunk_size=100) == str(path)
    back = pd.read_parquet(path)
    expected = pd.concat([twin.sample(100), twin.sample(100), twin.sample(50)], ignore_index=True)
    assert len(back) == 250
    assert back.dtypes.astype(str).tolist() == expected.dtypes.astype(str).tolist()
    assert list(back.columns) == list(mixed_frame.columns)
    _same(back, expected)
    assert os.listdir(tmp_path) == ["out.parquet"]  # no temporary file left


def test_csv_is_reproducible_byte_for_byte(fitted, tmp_path):
    mixed_frame = fitted[0]
    first, second = _copy(fitted), _copy(fitted)
    first.sample_to_file(tmp_path / "a.csv", 230, chunk_size=60)
    second.sample_to_file(tmp_path / "b.csv", 230, chunk_size=60)
    data = (tmp_path / "a.csv").read_bytes()
    assert data == (tmp_path / "b.csv").read_bytes()
    back = pd.read_csv(tmp_path / "a.csv")
    assert back.shape == (230, mixed_frame.shape[1])  # one header, every chunk's rows
    assert list(back.columns) == list(mixed_frame.columns)
    assert set(back["city"]) <= {"paris", "lyon", "nice"}
    # The next call continues the random stream: different rows.
    first.sample_to_file(tmp_path / "c.csv", 230, chunk_size=60)
    assert (tmp_path / "c.csv").read_bytes() != data


def test_gzipped_tsv(fitted, tmp_path):
    mixed_frame = fitted[0]
    _copy(fitted).sample_to_file(tmp_path / "out.tsv.gz", 120, chunk_size=50)
    back = pd.read_csv(tmp_path / "out.tsv.gz", sep="\t")
    assert back.shape == (120, mixed_frame.shape[1])


def test_class_counts_and_conditions_across_chunks(mixed_frame, tmp_path):
    X, y = mixed_frame.drop(columns=["member"]), mixed_frame["member"].map({True: "yes", False: "no"})
    model = GANAugmenter(**FAST, random_state=7).fit(X, y)
    path = tmp_path / "out.parquet"
    model.sample_to_file(path, chunk_size=40, y={"no": 70, "yes": 50}, conditions={"city": "lyon"}, target="label")
    back = pd.read_parquet(path)
    assert list(back.columns) == list(X.columns) + ["label"]
    assert back["label"].tolist() == ["no"] * 70 + ["yes"] * 50
    assert (back["city"] == "lyon").all()
    model.sample_to_file(tmp_path / "one.csv", 90, chunk_size=40, y="yes")
    assert (pd.read_csv(tmp_path / "one.csv")["class"] == "yes").all()


def test_a_class_request_builds_its_labels_one_chunk_at_a_time(mixed_frame):
    import tracemalloc

    from ganaugment.streaming import sample_frames

    X, y = mixed_frame.drop(columns=["member"]), mixed_frame["member"].map({True: "yes", False: "no"})
    model = GANAugmenter(**FAST, random_state=7).fit(X, y)
    # 10**8 labels take 800 MB when built before the first chunk is drawn (as they were).
    for request in ("yes", {"no": 5 * 10**7, "yes": 5 * 10**7}):
        n = None if isinstance(request, dict) else 10**8
        tracemalloc.start()
        try:
            first = next(sample_frames(model, n, chunk_size=10_000, y=request))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert len(first) == 10_000 and set(first["class"]) == {"yes" if request == "yes" else "no"}
        assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MiB"


def test_failure_leaves_destination_untouched(fitted, tmp_path, monkeypatch):
    model = _copy(fitted)
    path = tmp_path / "out.csv"
    path.write_text("old content\n")
    real, calls = model._generate, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(model, "_generate", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        model.sample_to_file(path, 100, chunk_size=40)
    assert path.read_text() == "old content\n"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_bad_requests_fail_before_writing(fitted, tmp_path):
    model = _copy(fitted)
    with pytest.raises(ValueError, match="extension"):
        model.sample_to_file(tmp_path / "out.xlsx", 10)
    with pytest.raises(ValueError, match="chunk_size"):
        model.sample_to_file(tmp_path / "out.csv", 10, chunk_size=0)
    with pytest.raises(ValueError, match="fitted without y"):
        model.sample_to_file(tmp_path / "out.csv", 10, y="a")
    with pytest.raises(ValueError, match="n_samples"):
        model.sample_to_file(tmp_path / "out.csv", 0)
    assert os.listdir(tmp_path) == []


def test_loaded_model_without_y_streams(fitted, tmp_path):
    # A saved and loaded model (the CLI's path) has no training data attached.
    _copy(fitted).save(tmp_path / "m.gan")
    loaded = GANAugmenter.load(tmp_path / "m.gan")
    loaded.sample_to_file(tmp_path / "out.csv", 50, chunk_size=20, conditions={"city": "nice"})
    back = pd.read_csv(tmp_path / "out.csv")
    assert len(back) == 50 and (back["city"] == "nice").all()


def test_model_fitted_on_an_array_gets_text_headers(tmp_path):
    X = np.random.default_rng(0).normal(size=(60, 2))
    model = GANAugmenter(**FAST, random_state=0).fit(X)
    model.sample_to_file(tmp_path / "out.parquet", 25, chunk_size=10)
    back = pd.read_parquet(tmp_path / "out.parquet")
    assert list(back.columns) == ["0", "1"] and len(back) == 25
    assert back.dtypes.astype(str).tolist() == ["float64", "float64"]


def test_progress_bar_counts_rows_and_follows_verbose(fitted, tmp_path, capsys):
    model = _copy(fitted)
    model.sample_to_file(tmp_path / "quiet.csv", 120, chunk_size=50)
    assert "row" not in capsys.readouterr().err  # verbose=False: no bar by default
    model.sample_to_file(tmp_path / "bar.csv", 120, chunk_size=50, progress=True)
    err = capsys.readouterr().err
    assert "sampling" in err and "120/120" in err
    model.set_params(verbose=True)
    model.sample_to_file(tmp_path / "verbose.csv", 30, chunk_size=50)
    assert "30/30" in capsys.readouterr().err
