"""The compact training copy (EncodedRows) is the dense encoding, in far fewer bytes."""

import numpy as np
import torch

from ganaugment import TableEncoder
from ganaugment.tabular.encoder import EncodedRows
from ganaugment.tabular.model import TabularGAN

PARAMS = dict(noise_dim=8, generator_dim=[16], discriminator_dim=[16], pac=2, dropout=0.0, tau=0.2)


def test_expand_of_compact_is_the_dense_transform(mixed_frame):
    encoder = TableEncoder(random_state=0).fit(mixed_frame)
    dense = encoder.transform(mixed_frame, np.random.default_rng(5))
    rows = encoder.transform_compact(mixed_frame, np.random.default_rng(5))
    assert isinstance(rows, EncodedRows) and len(rows) == len(mixed_frame)
    np.testing.assert_array_equal(encoder.expand(rows), dense)
    assert rows.codes.dtype == np.int16 and rows.values.dtype == np.float32
    assert rows.values.nbytes + rows.codes.nbytes < dense.nbytes / 3
    # Every discrete span has exactly one slot set per row.
    discrete = [s for s in encoder.spans_ if s.kind == "discrete"]
    for k, span in enumerate(discrete):
        assert (dense[:, span.start : span.stop].sum(axis=1) == 1).all()
        np.testing.assert_array_equal(dense[:, span.start : span.stop].argmax(axis=1), rows.codes[:, k])


def test_training_batches_are_the_same_from_dense_or_compact(mixed_frame):
    encoder = TableEncoder(random_state=0).fit(mixed_frame)
    dense = encoder.transform(mixed_frame, np.random.default_rng(1))
    compact = encoder.transform_compact(mixed_frame, np.random.default_rng(1))
    classes = np.arange(len(mixed_frame)) % 2
    batches = []
    for encoded in (dense, compact):
        model = TabularGAN(encoder, 2, PARAMS, torch.device("cpu"), seed=3)
        model.set_training_data(encoded, classes)
        batches.append(model.draw(64))
        counts = model.counts
    np.testing.assert_array_equal(batches[0].real.numpy(), batches[1].real.numpy())
    np.testing.assert_array_equal(batches[0].cond.numpy(), batches[1].cond.numpy())
    # The gathered rows are real encoded rows of the table.
    real = {tuple(row) for row in dense}
    assert all(tuple(row) in real for row in batches[1].real.numpy())
    assert counts.sum() == len(mixed_frame) * (len(encoder.category_spans()) + 1)


def test_span_softmax_matches_a_padded_softmax(mixed_frame):
    encoder = TableEncoder(random_state=0).fit(mixed_frame)
    model = TabularGAN(encoder, 0, PARAMS, torch.device("cpu"), seed=3)
    logits = torch.randn(32, len(model._disc_flat), generator=torch.Generator().manual_seed(0)) * 5
    # Reference: every discrete span padded to the widest one, softmax per row of the padding.
    widths = [s.width for s in encoder.spans_ if s.kind == "discrete"]
    mask = torch.zeros(len(widths), max(widths), dtype=torch.bool)
    for i, width in enumerate(widths):
        mask[i, :width] = True
    padded = torch.full((32,) + tuple(mask.shape), float("-inf"))
    padded[:, mask] = logits
    expected = torch.softmax(padded, dim=2)[:, mask]
    torch.testing.assert_close(model._span_softmax(logits), expected)
