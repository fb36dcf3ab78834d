"""cuda_graph: training steps replayed from one recorded CUDA graph.

On CPU the option must change nothing; the tests that record a graph need a
CUDA device and are skipped without one (CI has none; they were run on the
lent H100, see docs/benchmarks.md).
"""

import numpy as np
import pytest
import torch

import ganaugment.training as training_module
from ganaugment import GANAugmenter
from ganaugment.training import TrainingDivergedWarning

from .conftest import FAST, make_mixed_frame
from .test_reliability import assert_same_weights
from .test_reliability import weights as problem_weights

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
# Enough steps per epoch that an epoch runs warm-up steps, records one, and replays the rest.
GRAPH = dict(FAST, epochs=3, batch_size=40)


def weights(model):
    """The generator weights of a fitted estimator."""
    return problem_weights(model.model_)


def gap(a, b):
    """Largest difference between two sets of weights."""
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


def assert_same_run(a, b, moved):
    """``a`` and ``b`` are the same training run, up to float noise.

    CUDA's backward passes of gather and embedding add with atomics, in no
    fixed order, so two CUDA fits with one seed differ in the last bits, and
    the differences grow a little with every step. Weights that followed
    another random stream would differ by as much as training moved them;
    ``moved`` is how far the later epochs moved them.
    """
    assert gap(a, b) < 0.05 * moved, (gap(a, b), moved)


def test_cuda_graph_changes_nothing_on_cpu():
    table = make_mixed_frame()
    on = GANAugmenter(**FAST, device="cpu", cuda_graph=True, random_state=3).fit(table)
    off = GANAugmenter(**FAST, device="cpu", cuda_graph=False, random_state=3).fit(table)
    assert_same_weights(weights(on), weights(off))
    assert on.sample(50).equals(off.sample(50))


def test_cuda_graph_must_be_boolean():
    with pytest.raises(ValueError, match="cuda_graph"):
        GANAugmenter(**FAST, cuda_graph="yes").fit(make_mixed_frame())


@cuda
def test_recorded_steps_train_and_are_reproducible():
    table = make_mixed_frame()
    recorded = []
    real_record = training_module._Stepper._record

    def record(self, steps):
        done = real_record(self, steps)
        recorded.append(self.graph is not None)
        return done

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training_module._Stepper, "_record", record)
        first = GANAugmenter(**GRAPH, device="cuda", random_state=5).fit(table)
    assert recorded == [True]  # recorded once, in the first epoch, and replayed after
    # The replays trained the networks: the weights moved after the first epoch.
    one_epoch = GANAugmenter(**{**GRAPH, "epochs": 1}, device="cuda", random_state=5).fit(table)
    moved = gap(weights(first), weights(one_epoch))
    assert moved > 1e-4
    second = GANAugmenter(**GRAPH, device="cuda", random_state=5).fit(table)
    assert_same_run(weights(first), weights(second), moved)
    losses = [h["loss_d"] for h in first.history_]
    assert all(np.isfinite(losses)) and len(set(losses)) == len(losses)
    out = first.sample(200)
    assert list(out.columns) == list(table.columns) and len(out) == 200
    assert set(out["city"].dropna()) <= {"paris", "lyon", "nice"}


@cuda
def test_replays_compute_what_eager_steps_compute():
    """Every replay draws the next numbers of the model's torch generator, as an eager step
    does: a fit with a recorded step ends with the weights of a fit without one."""
    table = make_mixed_frame()
    graph = GANAugmenter(**GRAPH, device="cuda", random_state=2).fit(table)
    eager = GANAugmenter(**GRAPH, device="cuda", cuda_graph=False, random_state=2).fit(table)
    one_epoch = GANAugmenter(**{**GRAPH, "epochs": 1}, device="cuda", cuda_graph=False, random_state=2).fit(table)
    assert_same_run(weights(graph), weights(eager), gap(weights(eager), weights(one_epoch)))


@cuda
def test_a_step_that_cannot_be_recorded_falls_back_to_eager_training():
    table = make_mixed_frame()
    from ganaugment.tabular.model import TabularGAN

    real_draw = TabularGAN.draw

    def syncing_draw(self, batch_size):
        batch = real_draw(self, batch_size)
        batch.real.sum().item()  # a host sync: not allowed while recording
        return batch

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TabularGAN, "draw", syncing_draw)
        with pytest.warns(RuntimeWarning, match="Could not record the training step as a CUDA graph"):
            model = GANAugmenter(**GRAPH, device="cuda", random_state=0).fit(table)
    assert len(model.history_) == GRAPH["epochs"]
    assert all(np.isfinite(h["loss_g"]) for h in model.history_)
    assert len(model.sample(50)) == 50


@cuda
def test_rollback_records_the_step_again():
    """A rolled-back epoch reloads the optimiser state into new tensors; the old graph must not be replayed."""
    table = make_mixed_frame()
    real_epoch = training_module._Stepper.epoch
    calls = {"n": 0, "graphs": []}

    def poisoning_epoch(self):
        calls["graphs"].append(self.graph)
        totals = real_epoch(self)
        calls["n"] += 1
        if calls["n"] == 2:
            with torch.no_grad():
                next(self.problem.generator.parameters()).fill_(float("nan"))
        return totals

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training_module._Stepper, "epoch", poisoning_epoch)
        with pytest.warns(TrainingDivergedWarning, match="Epoch 2"):
            model = GANAugmenter(**{**GRAPH, "epochs": 4}, device="cuda", random_state=0).fit(table)
    assert [bool(h.get("rolled_back")) for h in model.history_] == [False, True, False, False]
    first, second, third, fourth = calls["graphs"]
    assert first is None and second is not None  # recorded in epoch 1, replayed in epoch 2
    assert third is None  # forgotten after the rollback, so epoch 3 records anew
    assert fourth is not None and fourth is not second
    for tensor in model.model_.generator.state_dict().values():
        assert torch.isfinite(tensor).all()


@cuda
def test_image_fit_records_its_step():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (120, 8, 8)).astype(np.uint8)
    labels = np.arange(120) % 3
    params = dict(epochs=3, batch_size=16, noise_dim=16, device="cuda", random_state=0)
    a = GANAugmenter(**params).fit(images, labels)
    eager = GANAugmenter(**params, cuda_graph=False).fit(images, labels)
    one_epoch = GANAugmenter(**{**params, "epochs": 1}, cuda_graph=False).fit(images, labels)
    assert_same_run(weights(a), weights(eager), gap(weights(eager), weights(one_epoch)))
    out, y = a.sample(30, y=np.arange(30) % 3)
    assert out.shape == (30, 8, 8) and (y == np.arange(30) % 3).all()
