"""The sampling path's folded generator computes what the eval-mode generator does."""

import numpy as np
import pytest
import torch

from ganaugment import GANAugmenter
from ganaugment.tabular.networks import ROW_ALIGN, TabularGenerator

from .conftest import FAST
from .test_calibration import _table


def _randomised(hidden, noise_dim=8, cond_dim=6, out_dim=9, seed=0):
    """A generator whose BatchNorms have non-trivial running statistics and affine terms."""
    torch.manual_seed(seed)
    generator = TabularGenerator(noise_dim, cond_dim, hidden, out_dim)
    with torch.no_grad():
        for block in generator.blocks:
            block.norm.running_mean.normal_(0.0, 1.0)
            block.norm.running_var.uniform_(0.2, 3.0)
            block.norm.weight.normal_(1.0, 0.5)
            block.norm.bias.normal_(0.0, 0.5)
    return generator.eval()


@pytest.mark.parametrize("hidden", [(5,), (5, 7), (5, 7, 4)])
def test_folded_generator_matches_the_modules(hidden):
    generator = _randomised(hidden)
    rng = np.random.default_rng(0)
    n, cond_dim = 256, generator.cond_dim
    # A column slot (first four entries; cond_dim stands for "none") and a class slot (last two).
    column = rng.integers(0, 5, n)
    active = torch.as_tensor(np.stack([np.where(column == 4, cond_dim, column), rng.integers(4, cond_dim, n)], axis=1))
    cond = torch.zeros(n, cond_dim + 1)
    cond[torch.arange(n)[:, None], active] = 1.0
    cond = cond[:, :cond_dim]
    noise = torch.randn(n, generator.noise_dim)
    columns = torch.as_tensor(rng.permutation(generator.head.out_features)[:6])
    with torch.no_grad():
        expected = generator(noise, cond, columns=columns)
        got = generator.folded(columns)(noise, active)
    assert got.shape == expected.shape
    assert got.stride(0) % ROW_ALIGN == 0  # rows padded to an aligned width, whatever the layer widths
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_sampling_conditions_match_the_training_conditions():
    """The condition vectors hold the column and class slots, and the folded path reads them as lookups."""
    X, y = _table(n=600)
    model = GANAugmenter(**dict(FAST, epochs=1, random_state=0)).fit(X, y).model_
    lay = model.layout
    rng = np.random.default_rng(1)
    n = 200
    slot = torch.as_tensor(rng.integers(0, lay.column_width + 1, n))  # column_width: no column slot
    classes = torch.as_tensor(rng.integers(0, lay.n_classes, n))
    order = torch.cat([model._disc_flat, model._cont_index])
    noise = torch.randn(n, model.params["noise_dim"])
    cond = model._condition(slot, classes)
    # One-hot where the layout says: the column slot when there is one, and the class slot.
    in_columns = slot < lay.column_width
    assert torch.equal(cond.sum(1), in_columns.float() + 1.0)
    rows = torch.arange(n)
    assert (cond[rows[in_columns], slot[in_columns]] == 1).all()
    assert (cond[rows, lay.column_width + classes] == 1).all()
    with torch.no_grad():
        expected = model.generator.eval()(noise, cond, columns=order)
        got = model.generator.folded(order)(noise, model._active_slots(slot, classes))
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("by_slot", [False, True])
def test_offsets_folded_into_the_weights_reach_the_leading_outputs(by_slot):
    """add_to_outputs: a row's offsets (by one of its condition slots, or for all rows) land on the
    leading output columns, as adding them after the generator would."""
    generator = _randomised((5, 7))
    rng = np.random.default_rng(2)
    n, cond_dim = 300, generator.cond_dim
    active = torch.as_tensor(np.stack([rng.integers(0, 4, n), rng.integers(4, cond_dim, n)], axis=1))
    noise = torch.randn(n, generator.noise_dim)
    columns = torch.as_tensor(rng.permutation(generator.head.out_features)[:7])
    offsets = torch.as_tensor(rng.normal(0.0, 3.0, (cond_dim - 4, 4)), dtype=torch.float32)
    with torch.no_grad():
        folded = generator.folded(columns)
        expected = folded(noise, active)
        if by_slot:
            expected[:, :4] += offsets[active[:, 1] - 4]
            folded.add_to_outputs(offsets, torch.arange(4, cond_dim))
        else:
            expected[:, :4] += offsets[0]
            folded.add_to_outputs(offsets[:1])
        got = folded(noise, active)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
