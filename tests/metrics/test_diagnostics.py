import warnings
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from torch import nn

from ganaugment import GANAugmenter, ModeCollapseWarning, TrainingDivergedWarning
from ganaugment.metrics.diagnostics import never_generated, warn_mode_collapse
from ganaugment.training import TrainingConfig, discriminator_won, train_gan

from ..conftest import FAST
from .test_evaluate import make_table
from .test_gate import collapsed_generator  # noqa: F401  (fixture)


def test_never_generated_reports_frequent_levels_only():
    real = pd.DataFrame({"c": ["a"] * 80 + ["b"] * 19 + ["rare"], "d": ["x"] * 100})
    synthetic = pd.DataFrame({"c": ["a"] * 100, "d": ["x"] * 100})
    # "b" is expected 19 times in 100 rows; "rare" only once, so its absence is not collapse.
    assert never_generated(real, synthetic) == {"c": ["b"]}
    assert never_generated(real, real) == {}
    with pytest.warns(ModeCollapseWarning, match="'c': 'b'"):
        warn_mode_collapse(real, synthetic)


def test_fit_warns_when_the_generator_collapses(collapsed_generator):  # noqa: F811
    X = make_table(300, 0)
    with pytest.warns(ModeCollapseWarning, match="city"):
        GANAugmenter(random_state=0, **FAST).fit(X)


def test_healthy_fit_does_not_warn_of_collapse():
    X = make_table(300, 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        GANAugmenter(random_state=0, **FAST).fit(X)
    assert ModeCollapseWarning not in [w.category for w in caught]


def history(flags):
    return [{"d_real": 0.99, "d_fake": 0.01} if won else {"d_real": 0.6, "d_fake": 0.4} for won in flags]


def test_discriminator_won_needs_a_long_run():
    assert discriminator_won(history([True] * 9 + [False] + [True] * 9)) is None
    assert discriminator_won(history([False] * 3 + [True] * 12 + [False])) == (4, 15)
    assert discriminator_won(history([True] * 10)) == (1, 10)
    assert discriminator_won([{"d_real": 0.99, "d_fake": 0.2}] * 20) is None


class _Rigged:
    """A problem whose discriminator is sure of itself from the first step."""

    device = torch.device("cpu")

    def __init__(self):
        self.generator = nn.Linear(1, 1)
        self.discriminator = nn.Linear(1, 1)
        with torch.no_grad():
            self.discriminator.weight.fill_(20.0)
            self.discriminator.bias.zero_()

    def draw(self, batch_size):
        return SimpleNamespace(real=torch.ones(batch_size, 1))

    def generate(self, batch):
        out = self.generator(torch.zeros(len(batch.real), 1))
        return out * 0.0 - 1.0, None

    def discriminate(self, x, batch):
        return self.discriminator(x)

    def generator_penalty(self, aux, batch):
        return torch.zeros(())


def test_training_warns_when_the_discriminator_wins_outright():
    config = TrainingConfig(epochs=12, steps_per_epoch=1, batch_size=8)
    hist = []
    with pytest.warns(TrainingDivergedWarning, match="won outright .* 12 consecutive epochs"):
        train_gan(_Rigged(), config, hist)
    assert len(hist) == 12 and hist[-1]["d_fake"] < 0.05
