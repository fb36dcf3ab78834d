import os

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
