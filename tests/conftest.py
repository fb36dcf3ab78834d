import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pandas as pd
import pytest

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")

# Small networks keep every test that trains a GAN to a second or two on CPU.
FAST = dict(epochs=2, batch_size=100, generator_dim=(32,), discriminator_dim=(32,), noise_dim=16, pac=4)


def data_path(*parts):
    path = os.path.join(DATA, *parts)
    if not os.path.exists(path):
        pytest.skip(f"shared data not available: {path}")
    return path


def make_mixed_frame(n=300, seed=0):
    """A small table with every column kind and missing values."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(10, 1, n)),
            "city": rng.choice(["paris", "lyon", "nice"], n, p=[0.6, 0.3, 0.1]),
            "member": rng.random(n) < 0.3,
            "grade": pd.Categorical(rng.choice(["a", "b", "c"], n), categories=["a", "b", "c", "d"]),
            "joined": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
            "note": np.where(rng.random(n) < 0.2, None, rng.choice(["x", "y"], n)),
        }
    )


@pytest.fixture
def mixed_frame():
    return make_mixed_frame()


def kill_after_checkpoint(script_source: str, folder, checkpoint_name: str):
    """Run a training script until it has written a checkpoint in ``folder``, then SIGKILL it.

    Returns the checkpoint's path; fails the test when the process ends on its
    own or writes nothing within 180 s.
    """
    script = folder / "train.py"
    script.write_text(textwrap.dedent(script_source))
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    checkpoint = folder / checkpoint_name
    try:
        deadline = time.monotonic() + 180
        while not checkpoint.exists():
            if process.poll() is not None:
                pytest.fail("the training process ended early: " + process.stderr.read().decode())
            if time.monotonic() > deadline:
                pytest.fail("no checkpoint appeared within 180 s")
            time.sleep(0.05)
        time.sleep(0.5)  # let it train and overwrite the checkpoint a few more times
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    return checkpoint


@pytest.fixture
def on_epoch(monkeypatch):
    """Install ``fn(problem, epoch)`` callbacks into the table or image fits that follow."""
    import ganaugment.training as training_module

    def install(*functions):
        real = training_module.train_gan

        def train_with_callbacks(problem, config, history, optimizers=None):
            for fn in functions:
                config.callbacks.append(lambda epoch, _, fn=fn: fn(problem, epoch))
            return real(problem, config, history, optimizers=optimizers)

        monkeypatch.setattr(training_module, "train_gan", train_with_callbacks)

    return install


def fit_quietly(model, X, y=None):
    """Fit ``model``, recording every warning; returns ``(model, warning categories)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    return model, [w.category for w in caught]


def crash_at(epoch):
    """An ``on_epoch`` callback that raises when training reaches ``epoch``."""

    def crash(problem, now):
        if now == epoch:
            raise RuntimeError("simulated crash")

    return crash
