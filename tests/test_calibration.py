"""Calibration: after training, generated levels follow the real frequencies."""

import numpy as np
import pandas as pd
import pytest

from ganaugment import GANAugmenter
from ganaugment.persistence import ModelFileError
from ganaugment.tabular.model import TabularGAN

from .conftest import FAST


def _table(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.25, "yes", "no")
    # The job mix depends strongly on the class, and "?" is rare in both.
    job = np.where(
        y == "yes",
        rng.choice(["clerk", "pilot", "?"], n, p=[0.2, 0.74, 0.06]),
        rng.choice(["clerk", "pilot", "?"], n, p=[0.77, 0.2, 0.03]),
    )
    X = pd.DataFrame(
        {
            "job": job,
            "city": rng.choice(["paris", "lyon", "nice", "brest"], n, p=[0.5, 0.3, 0.15, 0.05]),
            "hours": np.where(rng.random(n) < 0.7, 40.0, rng.normal(25, 8, n)).round(),
            "bonus": np.where(rng.random(n) < 0.1, np.nan, rng.exponential(3.0, n)),
        }
    )
    return X, y


def _largest_gap(real: pd.Series, synthetic: pd.Series) -> float:
    r = real.astype(str).value_counts(normalize=True)
    s = synthetic.astype(str).value_counts(normalize=True).reindex(r.index, fill_value=0.0)
    return float((r - s).abs().max())


@pytest.fixture(scope="module")
def fitted_pair():
    X, _ = _table()
    # One epoch: the generator's level frequencies are still far off.
    params = dict(FAST, epochs=1, random_state=0)
    return X, GANAugmenter(**params).fit(X), GANAugmenter(calibrate=False, **params).fit(X)


def test_calibrated_levels_follow_the_real_frequencies(fitted_pair):
    X, calibrated, raw = fitted_pair
    on, off = calibrated.sample(30000), raw.sample(30000)
    for column in ("job", "city"):
        # 30,000 draws: sampling error is about 0.3 points, the target 1 point.
        assert _largest_gap(X[column], on[column]) < 0.01, column
    # The same networks without offsets are clearly off, so the offsets did the work.
    assert max(_largest_gap(X[c], off[c]) for c in ("job", "city")) > 0.02
    # Missing values and the spike at 40 hours are discrete outputs too.
    assert abs(on["bonus"].isna().mean() - X["bonus"].isna().mean()) < 0.01
    near = lambda hours: ((hours - 40).abs() < 2).mean()  # noqa: E731
    assert abs(near(on["hours"]) - near(X["hours"])) < 0.05, (near(on["hours"]), near(off["hours"]))


def test_calibration_changes_nothing_but_the_offsets(fitted_pair):
    _, calibrated, raw = fitted_pair
    assert np.abs(calibrated.model_.logit_bias).max() > 0
    assert not raw.model_.logit_bias.any()
    # Same seed and data: calibration runs after training and leaves the networks alone.
    for name, tensor in calibrated.model_.generator.state_dict().items():
        assert (tensor == raw.model_.generator.state_dict()[name]).all(), name


def test_calibration_is_per_class():
    X, y = _table(seed=1)
    gan = GANAugmenter(**dict(FAST, epochs=1, random_state=0)).fit(X, y)
    for label in ("yes", "no"):
        Xs, _ = gan.sample(20000, y=label)
        assert _largest_gap(X["job"][y == label], Xs["job"]) < 0.015, label


def test_condition_is_kept_under_calibration(fitted_pair):
    _, calibrated, _ = fitted_pair
    rows = calibrated.sample(500, conditions={"job": "?"})
    assert (rows["job"] == "?").all()
    # The other columns are still calibrated towards their overall frequencies.
    assert set(rows["city"]) <= {"paris", "lyon", "nice", "brest"}


def test_model_state_without_offsets_loads_with_none(fitted_pair):
    _, calibrated, _ = fitted_pair
    model = calibrated.model_
    state = model.to_state()
    del state["logit_bias"]  # a file written before calibration existed
    old = TabularGAN.from_state(state, device=None, context={"encoder_": calibrated.encoder_})
    assert not old.logit_bias.any()
    state["logit_bias"] = np.zeros((1, 3), dtype=np.float32)
    with pytest.raises(ModelFileError, match="logit offsets"):
        TabularGAN.from_state(state, device=None, context={"encoder_": calibrated.encoder_})
    state["logit_bias"] = np.full_like(model.logit_bias, np.nan)
    with pytest.raises(ModelFileError, match="non-finite"):
        TabularGAN.from_state(state, device=None, context={"encoder_": calibrated.encoder_})


@pytest.mark.parametrize("far_span", [False, True])
def test_sampling_path_puts_every_column_back_in_place(fitted_pair, far_span):
    """Fixed head outputs: continuous columns read tanh(bias), spans draw softmax(bias).

    With ``far_span``, one span's logits sit 200 below the rest: their
    weights underflow against the row's maximum, and the span must still
    draw its own softmax (the redraw path).
    """
    import copy

    import torch

    model = copy.deepcopy(fitted_pair[2].model_)
    head = model.generator.head
    rng = np.random.default_rng(0)
    with torch.no_grad():
        noise = torch.randn(64, model.params["noise_dim"])
        cond = model._condition(torch.zeros(64, dtype=torch.long), torch.zeros(64, dtype=torch.long))
        pick = torch.as_tensor(rng.permutation(head.out_features)[:7])
        full = model.generator.eval()(noise, cond)
        assert torch.allclose(model.generator(noise, cond, columns=pick), full[:, pick], atol=1e-5)
        head.weight.zero_()
        head.bias.copy_(torch.as_tensor(rng.normal(0.0, 1.0, head.out_features), dtype=torch.float32))
        if far_span:
            far = [s for s in model.encoder.spans_ if s.kind == "discrete"][1]
            head.bias[far.start : far.stop] -= 200.0
    bias = head.bias.detach().numpy()
    n = 30000
    rows = model.sample_encoded(np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), seed=3)
    encoded = model.encoder.expand(rows)
    assert encoded.shape == (n, head.out_features)
    for span in model.encoder.spans_:
        block = encoded[:, span.start : span.stop]
        logits = bias[span.start : span.stop]
        if span.kind == "continuous":
            assert np.allclose(block, np.tanh(logits), atol=1e-6)
        else:
            expected = np.exp(logits - logits.max())
            expected /= expected.sum()
            drawn = np.bincount(block.argmax(axis=1), minlength=span.width) / n
            # 30,000 draws: the sampling error is below 0.3 points.
            assert np.abs(drawn - expected).max() < 0.012, (span, drawn, expected)


def test_level_draw_follows_each_span_softmax_and_handles_no_spans():
    """LevelDraw on its own: every span of a block draws its softmax, whatever the other spans hold."""
    import torch

    from ganaugment.tabular.model import LevelDraw

    widths = [3, 1, 5]
    logits = torch.tensor([0.5, -1.0, 2.0, 7.0, 0.0, 1.0, -300.0, 1.5, 0.2])
    logits[4:] -= 150.0  # the last span far below the row's maximum: it takes the redraw path
    n = 40_000
    gen = torch.Generator().manual_seed(0)
    draw = LevelDraw(widths, torch.device("cpu"))
    drawn = draw(logits.expand(n, -1).clone(), torch.rand((3, n, 1), generator=gen)).numpy()
    assert drawn.shape == (n, 3)
    start = 0
    for k, width in enumerate(widths):
        expected = torch.softmax(logits[start : start + width], dim=0).numpy()
        got = np.bincount(drawn[:, k], minlength=width) / n
        assert len(got) == width  # no level out of range
        assert np.abs(got - expected).max() < 0.01, (k, got, expected)
        start += width
    empty = LevelDraw([], torch.device("cpu"))(torch.empty((4, 0)), torch.empty((0, 4, 1)))
    assert empty.shape == (4, 0)
