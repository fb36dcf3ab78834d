"""Command-line mistakes caught early and reported in one line: outputs, image models, pipes, formats."""

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import ganaugment
import ganaugment.streaming
from ganaugment import GANAugmenter, cli
from ganaugment.demo import make_customers

from tests.conftest import FAST

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, message):
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganaugment: error:"), err
    assert message in lines[0], err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("cli_errors")


@pytest.fixture(scope="module")
def table(workdir):
    path = workdir / "customers.csv"
    make_customers(200, random_state=2).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_file(workdir):
    path = workdir / "table.gan"
    GANAugmenter(**FAST, random_state=0).fit(make_customers(200, random_state=2)).save(path)
    return path


@pytest.fixture(scope="module")
def flat_images(workdir):
    """A flat 16-column table: 4x4 images, one per row."""
    path = workdir / "flat.csv"
    pixels = np.random.default_rng(0).random((64, 16))
    pd.DataFrame(pixels, columns=[str(i) for i in range(16)]).to_csv(path, index=False)
    return path


@pytest.fixture
def no_work(monkeypatch):
    """Training, resampling, sampling and scoring fail loudly: a test using this must stop before them."""

    def fail(*args, **kwargs):
        raise AssertionError("the expensive work ran before the output was checked")

    monkeypatch.setattr(GANAugmenter, "fit", fail)
    monkeypatch.setattr(ganaugment.GANOverSampler, "fit_resample", fail)
    monkeypatch.setattr(ganaugment, "evaluate", fail)
    monkeypatch.setattr(ganaugment.streaming, "sample_frames", fail)
    monkeypatch.setattr(ganaugment.streaming, "write_samples", fail)


def test_sampling_an_image_model_says_to_use_python(workdir, capsys):
    path = workdir / "image.gan"
    pixels = np.random.default_rng(1).random((32, 16))
    GANAugmenter(image_shape=(4, 4), epochs=1, batch_size=8, random_state=0).fit(pixels).save(path)
    code, out, err = run(["sample", path, "-n", 3], capsys)
    assert_one_line_error(code, err, "image model")
    assert "sample" in err and out == ""


def test_image_shape_option_takes_integers(flat_images, workdir, capsys):
    args = cli.build_parser().parse_args(["fit", "t.csv", "-o", "m.gan", "--image-shape", "4,4"])
    assert cli.estimator_params(args) == {"image_shape": (4, 4)}
    out = workdir / "flat.gan"
    code, _, err = run(["fit", flat_images, "-o", out, "--image-shape", "4,4", "--epochs", 1, "--batch-size", 8,
                        "--random-state", 0, "--quiet"], capsys)
    assert code == 0, err
    model = GANAugmenter.load(out)
    assert model.kind_ == "image" and tuple(model.image_shape) == (4, 4)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "{table}", "-o", "{w}/folder"], "is a folder"),
        (["fit", "{table}", "-o", "{w}/folder/"], "is a folder"),
        (["fit", "{table}", "-o", "{w}/nodir/m.gan"], "does not exist"),
        (["fit", "{table}", "-o", "{table}/m.gan"], "is a file, not a folder"),
        (["oversample", "{table}", "--target", "churned", "-o", "{w}/nodir/x.csv"], "does not exist"),
        (["oversample", "{table}", "--target", "churned", "-o", "{w}/x.json"], "extension"),
        (["report", "{table}", "{table}", "-o", "{w}/nodir/r.html"], "does not exist"),
        (["report", "{table}", "{table}", "-o", "{w}/r.txt"], ".html"),
        (["sample", "{model}", "-n", "5", "-o", "{w}/out.json"], "extension"),
        (["sample", "{model}", "-n", "5", "-o", "{w}/folder/"], "is a folder"),
        (["sample", "{model}", "-n", "5", "-o", "{w}/out.parquet.gz"], "Parquet"),
        (["sample", "{model}", "-n", "5", "-o", "{w}/out.parquet.bz2"], "Parquet"),
        # An output that is an input would destroy it (fit -o DATA used to replace the table by the model).
        (["fit", "{table}", "-o", "{table}"], "is the input file"),
        (["oversample", "{table}", "--target", "churned", "-o", "{table}"], "is the input file"),
        (["report", "{table}", "{w}/s.html", "-o", "{w}/s.html"], "is the input file"),
    ],
)
def test_outputs_are_checked_before_the_work(argv, message, table, model_file, workdir, no_work, capsys):
    (workdir / "folder").mkdir(exist_ok=True)
    (workdir / "s.html").write_text("<p>an input named like a report</p>\n")
    before = table.read_bytes()
    argv = [a.format(w=workdir, table=table, model=model_file) for a in argv]
    code, _, err = run(argv, capsys)
    assert_one_line_error(code, err, message)
    assert not any(name.startswith(("out.", "r.", "x.")) for name in os.listdir(workdir))
    assert table.read_bytes() == before


def _ctrl_c_at_step(monkeypatch, step=6):
    """Ctrl-C in the middle of training (step 6: the second epoch of 200 rows in batches of 50);
    the library keeps the last finished epoch and warns."""
    import ganaugment.augmenter as augmenter_module

    real = augmenter_module.TabularGAN.generate
    calls = {"n": 0}

    def generate(self, batch):
        calls["n"] += 1
        if calls["n"] == step:
            raise KeyboardInterrupt
        return real(self, batch)

    monkeypatch.setattr(augmenter_module.TabularGAN, "generate", generate)


@pytest.mark.parametrize("command", ["fit", "oversample"])
def test_ctrl_c_during_training_writes_nothing_and_exits_130(command, table, tmp_path, monkeypatch, capsys):
    out = tmp_path / ("m.gan" if command == "fit" else "b.csv")
    out.write_bytes(b"the previous result")
    _ctrl_c_at_step(monkeypatch, 6 if command == "fit" else 3)  # the sampler's GAN: one step an epoch
    argv = [command, table, "-o", out, "--epochs", "5", "--quiet"]
    argv += ["--batch-size", "50"] if command == "fit" else ["--target", "churned", "--min-class-size", "2"]
    code, _, err = run(argv, capsys)
    assert code == 130, err
    assert err.strip().splitlines()[-1] == f"ganaugment: interrupted; nothing was written to {str(out)!r}"
    assert out.read_bytes() == b"the previous result"
    assert os.listdir(tmp_path) == [out.name]


def test_ctrl_c_with_a_checkpoint_dir_names_it_and_the_same_command_resumes(table, tmp_path, monkeypatch, capsys):
    out, folder = tmp_path / "m.gan", tmp_path / "ckpt"
    argv = ["fit", table, "-o", out, "--epochs", "3", "--batch-size", "50", "--quiet", "--checkpoint-dir", folder,
            "--random-state", "0"]
    with monkeypatch.context() as patch:
        _ctrl_c_at_step(patch)
        code, _, err = run(argv, capsys)
    assert code == 130 and "holds the last finished epoch, and the same command resumes from it" in err
    assert not out.exists() and (folder / "checkpoint.gan").exists()
    assert run(argv, capsys)[0] == 0
    assert [h["epoch"] for h in GANAugmenter.load(out).history_] == [1, 2, 3]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write read-only files")
def test_a_read_only_output_is_refused_before_the_work(table, tmp_path, no_work, capsys):
    out = tmp_path / "m.gan"
    out.write_bytes(b"keep me")
    out.chmod(0o444)
    code, _, err = run(["fit", table, "-o", out, "--quiet"], capsys)
    assert_one_line_error(code, err, "read-only")
    from ganaugment.persistence import atomic_write

    with pytest.raises(PermissionError, match="read-only"), atomic_write(out) as handle:
        handle.write(b"new")  # os.replace alone would have replaced the read-only file
    assert out.read_bytes() == b"keep me"
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    code, _, err = run(["fit", table, "-o", locked / "m.gan", "--quiet"], capsys)
    assert_one_line_error(code, err, "is not writable")  # before training, naming the folder, not a temp file
    with pytest.raises(PermissionError, match="folder .*locked' is not writable"), atomic_write(locked / "m") as handle:
        handle.write(b"new")


def test_a_semicolon_file_is_refused_with_the_separator_named_and_read_with_sep(tmp_path, monkeypatch, capsys):
    # Read with ',' it is one text column of whole rows: a GAN would learn and copy the rows verbatim.
    path = tmp_path / "wine.csv"
    make_customers(60, random_state=0).to_csv(path, sep=";", index=False)
    code, _, err = run(["fit", path, "-o", tmp_path / "m.gan", "--quiet"], capsys)
    assert_one_line_error(code, err, "seem separated by ';', not ','; pass --sep ';'")
    seen = []
    monkeypatch.setattr(GANAugmenter, "fit", lambda self, X, y=None: seen.append(X.shape) or self)
    monkeypatch.setattr(GANAugmenter, "save", lambda self, *a, **k: None)
    monkeypatch.setattr(GANAugmenter, "history_", [], raising=False)
    assert run(["fit", path, "-o", tmp_path / "m.gan", "--sep", ";", "--quiet"], capsys)[0] == 0
    assert seen == [(60, make_customers(60, random_state=0).shape[1])]
    from ganaugment.distributed import read_shard

    with pytest.raises(cli.UsageError, match="pass --sep ';'"):
        read_shard(str(path), 0, 2)
    assert len(read_shard(str(path), 0, 2, sep=";")) == 30


def test_an_os_error_is_one_line(table, tmp_path, monkeypatch, capsys):
    def fail(self, X, y=None):
        raise NotADirectoryError(20, "Not a directory", str(tmp_path / "m.gan"))

    monkeypatch.setattr(GANAugmenter, "fit", fail)
    code, _, err = run(["fit", table, "-o", tmp_path / "m.gan", "--quiet"], capsys)
    assert_one_line_error(code, err, "Not a directory")


def test_an_interrupted_demo_leaves_no_partial_file(tmp_path, monkeypatch, capsys):
    from ganaugment.demo import run_demo

    real_to_csv = pd.DataFrame.to_csv

    def half_then_ctrl_c(self, target=None, **kwargs):
        real_to_csv(self.head(10), target, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        run_demo(str(tmp_path), quick=True, verbose=False)
    assert os.listdir(tmp_path) == []  # it left synthetic_customers.csv.tmp behind


def test_demo_checks_its_output_folder_before_training(tmp_path, no_work, capsys):
    path = tmp_path / "d.csv"
    path.write_text("a file\n")
    for target in (path, path / "sub"):  # a file as the folder, or above it (that failed after training)
        code, _, err = run(["demo", "--quick", "--output-dir", target], capsys)
        assert_one_line_error(code, err, "not a folder")
    assert path.read_text() == "a file\n"


def test_a_closed_pipe_ends_sampling_quietly(model_file):
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ganaugment", "sample", str(model_file), "-n", "200000", "--chunk-size", "1000", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT,
    )
    header = process.stdout.readline()
    process.stdout.close()  # what '| head -1' does
    _, err = process.communicate(timeout=300)
    assert header.decode().strip().split(",") == list(make_customers(5).columns)
    assert process.returncode != 0
    assert err.decode().strip() == ""


def test_unknown_parse_dates_column_of_a_parquet_table(tmp_path, capsys):
    path = tmp_path / "t.parquet"
    cli.write_table(make_customers(20), str(path))
    code, _, err = run(["fit", path, "-o", tmp_path / "m.gan", "--parse-dates", "nope"], capsys)
    assert_one_line_error(code, err, "--parse-dates names 'nope', which is not a column")


def test_compressed_parquet_is_refused(tmp_path):
    with pytest.raises(cli.UsageError, match="Parquet"):
        cli.write_table(make_customers(5), str(tmp_path / "t.parquet.gz"))
    assert os.listdir(tmp_path) == []


def test_oversample_help_has_no_estimator_and_documents_epochs(capsys):
    with pytest.raises(SystemExit):
        cli.main(["oversample", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--estimator" not in help_text
    assert "--epochs INT Training epochs of the GAN" in help_text
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["oversample", "t.csv", "--target", "y", "-o", "b.csv", "--estimator", "none"])
    assert excinfo.value.code == 2


def test_sample_refuses_a_model_its_gate_rejected(tmp_path, capsys):
    """It wrote a table of column names, said 'Wrote 0 synthetic rows' and exited 0."""
    path = tmp_path / "rejected.gan"
    rejected = GANAugmenter(**FAST, random_state=0, min_quality=1.0, on_low_quality="fallback")
    with pytest.warns(ganaugment.FidelityWarning):
        rejected.fit(make_customers(200, random_state=2))
    rejected.save(path)
    code, _, err = run(["sample", path, "-n", "5", "-o", tmp_path / "release.csv"], capsys)
    assert_one_line_error(code, err, "rejected by its fidelity gate")
    assert "min_quality=1.0" in err and "nothing was written" in err
    assert sorted(os.listdir(tmp_path)) == ["rejected.gan"]


def test_parse_dates_reads_mixed_offsets_and_names_what_is_not_a_date(tmp_path, no_work, capsys):
    """A time zone across a clock change (as sample writes it) stayed text and was learned as levels;
    a column of words or of numbers passed silently."""
    times = pd.Series(pd.date_range("2021-03-20", periods=20, freq="D", tz="Europe/Paris"))
    frame = pd.DataFrame({"t": times, "city": ["Paris", "Lyon"] * 10, "n": range(20)})
    path = tmp_path / "dst.csv"
    frame.to_csv(path, index=False)
    read = cli.read_table(str(path), parse_dates=["t"])
    assert str(read["t"].dtype) == "datetime64[ns, UTC]" and (read["t"] == times).all()
    for column, message in (("city", "holds values that are not dates, e.g. 'Paris'"),
                            ("n", "holds numbers there (int64), not dates")):
        code, _, err = run(["fit", path, "-o", tmp_path / "m.gan", "--parse-dates", column], capsys)
        assert_one_line_error(code, err, message)
    assert not (tmp_path / "m.gan").exists()


def test_compressed_outputs_name_their_member_and_their_missing_package(tmp_path, monkeypatch):
    import zipfile

    frame = make_customers(5)
    cli.write_table(frame, str(tmp_path / "o.csv.zip"))
    with zipfile.ZipFile(tmp_path / "o.csv.zip") as archive:
        assert archive.namelist() == ["o.csv"]  # it was a member named "zip"
    back = pd.read_csv(tmp_path / "o.csv.zip")
    assert list(back.columns) == list(frame.columns) and len(back) == len(frame)

    def no_zstandard(*args, **kwargs):
        raise ImportError("Missing optional dependency 'zstandard'.  Use pip or conda to install zstandard.")

    monkeypatch.setattr(pd.DataFrame, "to_csv", no_zstandard)
    with pytest.raises(cli.UsageError, match=r"needs zstandard .*install it with: pip install zstandard$"):
        cli.write_table(frame, str(tmp_path / "o.csv.zst"))
    assert sorted(os.listdir(tmp_path)) == ["o.csv.zip"]


def test_a_gate_that_refuses_the_model_is_one_line_and_the_rows_held_out_are_told(tmp_path, table, capsys):
    base = ["fit", table, "--target", "churned", "--epochs", "1", "--quiet"]
    code, _, err = run(base + ["-o", tmp_path / "r.gan", "--min-quality", "0.99", "--on-low-quality", "raise"], capsys)
    assert_one_line_error(code, err, "Fidelity gate")
    assert not (tmp_path / "r.gan").exists()
    code, _, err = run(base + ["-o", tmp_path / "w.gan", "--min-quality", "0.1"], capsys)
    assert code == 0 and re.search(r"Trained on 160 rows \(40 held out for the fidelity gate\)", err), err


def test_a_column_named_twice_is_refused(tmp_path, no_work, capsys):
    """pandas renamed the second one "a.1", to be learned and generated as a column of its own."""
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n4,5,6\n")
    code, _, err = run(["fit", path, "-o", tmp_path / "m.gan"], capsys)
    assert_one_line_error(code, err, "names a column twice: 'a'")
