"""The GAN training loop shared by the tabular and image models.

The loop knows nothing about tables or images. It drives a *problem* object
that owns the two networks and knows how to draw a batch of real data,
generate fakes and score them:

``problem.draw(batch_size)``
    A batch: real data plus whatever conditions go with it.
``problem.generate(batch)``
    ``(fake, aux)``: activated fake samples for the same conditions, and
    anything the generator penalty needs.
``problem.discriminate(x, batch)``
    Discriminator logits for ``x`` under the batch's conditions.
``problem.generator_penalty(aux, batch)``
    Extra generator loss (for example the conditional cross-entropy), or 0.

The game is the standard minimax one on logits: the discriminator minimises
``softplus(-D(x)) + softplus(D(G(z)))`` (binary cross-entropy, i.e. it
maximises ``log D(x) + log(1 - D(G(z)))``); the generator minimises the
non-saturating ``softplus(-D(G(z)))``.
"""

from __future__ import annotations

import contextlib
import copy
import time
import warnings
from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from ._validation import caller_stacklevel

__all__ = [
    "TrainingConfig",
    "make_optimizers",
    "train_gan",
    "train_resumable",
    "TrainingDivergedWarning",
    "discriminator_won",
]

# The discriminator "won outright" in an epoch when its mean output on real
# data is above DOMINANCE_HIGH and on fakes below DOMINANCE_LOW; this many
# such epochs in a row trigger a TrainingDivergedWarning.
DOMINANCE_LOW, DOMINANCE_HIGH, DOMINANCE_EPOCHS = 0.05, 0.95, 10

# Steps run eagerly on a side stream before a training step is recorded as a
# CUDA graph: they create the optimiser state and the library handles, which
# recording must not allocate.
GRAPH_WARMUP_STEPS = 3


class TrainingDivergedWarning(RuntimeWarning):
    """Training produced a non-finite loss or the discriminator won outright."""


class TrainingInterruptedWarning(RuntimeWarning):
    """Ctrl-C stopped training; the model of the last finished epoch was kept."""


@dataclass
class TrainingConfig:
    epochs: int
    steps_per_epoch: int
    batch_size: int
    lr_generator: float = 2e-4
    lr_discriminator: float = 2e-4
    betas: tuple = (0.5, 0.9)
    weight_decay: float = 1e-6
    discriminator_steps: int = 1
    verbose: bool = False
    description: str = "GAN"
    time_limit: float | None = None
    callbacks: list = field(default_factory=list)
    autocast_dtype: torch.dtype | None = None  # mixed precision of the forward passes (None: off)
    cuda_graph: bool = False  # on a CUDA device, replay one recorded training step (see _Stepper)
    # Multiplies both losses before their gradients (the history keeps them unscaled). A distributed
    # fit sets it to a rank's share of the table times the number of ranks: DDP averages the ranks'
    # gradients, so a shard then counts as much as the rows (or the weight) it holds.
    loss_scale: float = 1.0


def _snapshot(problem) -> dict:
    return {
        "generator": copy.deepcopy(problem.generator.state_dict()),
        "discriminator": copy.deepcopy(problem.discriminator.state_dict()),
    }


def _restore(problem, snapshot) -> None:
    problem.generator.load_state_dict(snapshot["generator"])
    problem.discriminator.load_state_dict(snapshot["discriminator"])


def make_optimizers(problem, config: TrainingConfig) -> tuple:
    """The generator's and the discriminator's Adam optimisers (load a saved state into them to resume)."""
    # A recorded step must find the optimiser's step counts on the device.
    capturable = _records_graph(problem, config)
    opt_g = torch.optim.Adam(
        problem.generator.parameters(), lr=config.lr_generator, betas=config.betas,
        weight_decay=config.weight_decay, foreach=True, capturable=capturable,
    )
    opt_d = torch.optim.Adam(
        problem.discriminator.parameters(), lr=config.lr_discriminator, betas=config.betas,
        weight_decay=config.weight_decay, foreach=True, capturable=capturable,
    )
    return opt_g, opt_d


def _records_graph(problem, config: TrainingConfig) -> bool:
    # Recording with the model's own torch generator needs graph-safe generator
    # states (torch 2.3 and later); an older torch trains without a graph.
    return (
        bool(config.cuda_graph) and problem.device.type == "cuda"
        and hasattr(torch.Generator, "graphsafe_set_state") and hasattr(torch.Generator, "clone_state")
    )


def train_gan(problem, config: TrainingConfig, history: list, optimizers=None) -> tuple:
    """Train ``problem``'s networks for ``config.epochs`` epochs.

    Appends one dict per finished epoch to ``history`` (``epoch``,
    ``loss_d``, ``loss_g``, ``d_real``, ``d_fake``, ``seconds``; the epoch
    after which ``time_limit`` stopped training early also holds
    ``time_limit_reached=True``) and returns
    the two optimisers so that a resumed fit can carry on with their state.

    A non-finite loss rolls the networks back to the end of the last good
    epoch and skips the rest of that epoch, with a warning. A
    ``KeyboardInterrupt`` restores the last finished epoch and returns
    normally, so the caller keeps a usable model.
    """
    gen, disc = problem.generator, problem.discriminator
    opt_g, opt_d = make_optimizers(problem, config) if optimizers is None else optimizers
    start_epoch = len(history)
    good = _snapshot(problem)
    good_opt = (copy.deepcopy(opt_g.state_dict()), copy.deepcopy(opt_d.state_dict()))
    started = time.perf_counter()
    stepper = _Stepper(problem, config, opt_g, opt_d)
    bar = None
    if config.verbose:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.epochs, initial=start_epoch, desc=config.description, unit="epoch")
    gen.train()
    disc.train()
    try:
        for epoch in range(start_epoch, config.epochs):
            epoch_start = time.perf_counter()
            totals = stepper.epoch()
            stats = {k: float(v) for k, v in zip(("loss_d", "loss_g", "d_real", "d_fake"), totals.tolist())}
            # A last step can leave non-finite weights behind a finite loss: check both.
            if not (all(map(_finite, stats.values())) and _networks_finite(problem)):
                _restore(problem, good)
                opt_g.load_state_dict(good_opt[0])
                opt_d.load_state_dict(good_opt[1])
                stepper.forget()  # the reloaded optimiser state lives in new tensors
                warnings.warn(
                    f"Epoch {epoch + 1}: a loss became non-finite; the networks were rolled back to the "
                    "end of the previous epoch and that epoch was skipped.",
                    TrainingDivergedWarning,
                    stacklevel=caller_stacklevel(),
                )
                stats["rolled_back"] = True
            else:
                good = _snapshot(problem)
                good_opt = (copy.deepcopy(opt_g.state_dict()), copy.deepcopy(opt_d.state_dict()))
            stats = {"epoch": epoch + 1, **stats, "seconds": time.perf_counter() - epoch_start}
            history.append(stats)
            if bar is not None:
                bar.set_postfix(
                    loss_d=f"{stats['loss_d']:.3f}", loss_g=f"{stats['loss_g']:.3f}",
                    d_real=f"{stats['d_real']:.2f}", d_fake=f"{stats['d_fake']:.2f}",
                )
                bar.update(1)
            for callback in config.callbacks:
                callback(epoch + 1, (opt_g, opt_d))
            if config.time_limit is not None and time.perf_counter() - started > config.time_limit:
                if epoch + 1 < config.epochs:
                    history[-1]["time_limit_reached"] = True  # so a short history_ says why it is short
                break
    except KeyboardInterrupt:
        _restore(problem, good)
        opt_g.load_state_dict(good_opt[0])
        opt_d.load_state_dict(good_opt[1])
        warnings.warn(
            f"Training interrupted; keeping the model of the last finished epoch ({len(history)}).",
            TrainingInterruptedWarning,
            stacklevel=caller_stacklevel(),
        )
    finally:
        if bar is not None:
            bar.close()
        gen.eval()
        disc.eval()
    won = discriminator_won(history[start_epoch:])
    if won is not None:
        warnings.warn(
            f"The discriminator won outright (D(real) > {DOMINANCE_HIGH}, D(fake) < {DOMINANCE_LOW}) for "
            f"{won[1] - won[0] + 1} consecutive epochs ({start_epoch + won[0]} to {start_epoch + won[1]}): the "
            "generator gets no useful gradient. Lower lr_discriminator, raise dropout or pac, or check the data.",
            TrainingDivergedWarning,
            stacklevel=caller_stacklevel(),
        )
    return opt_g, opt_d


def train_resumable(problem, config: TrainingConfig, history: list, checkpointer=None, resumed=False, seed=None,
                    after_training=None) -> None:
    """:func:`train_gan` with checkpoints and an exact stop, for the table and image fits alike.

    The training rows must already be on ``problem`` (``set_training_data``);
    they are released however training ends. With a ``checkpointer``
    (:class:`~ganaugment.checkpoint.Checkpointer`), it saves every
    ``checkpoint_every`` epochs and once more at the end, and a ``resumed``
    fit first reloads the optimiser states it saved. ``after_training`` runs
    while the training rows are still there (table calibration).

    Ctrl-C mid-epoch keeps the networks of the last finished epoch
    (:func:`train_gan`); the model's torch generator goes back to the state
    it had when that epoch ended, so that resuming from the last checkpoint
    gives what an uninterrupted fit gives.
    """
    optimizers = make_optimizers(problem, config)
    if checkpointer is not None:
        checkpointer.seed = seed
        if resumed:
            for optimizer, state in zip(optimizers, checkpointer.optimizer_states):
                optimizer.load_state_dict(state)
        config.callbacks.append(checkpointer)
    at_epoch_end = [problem.torch_rng.get_state()]
    config.callbacks.insert(0, lambda epoch, _: at_epoch_end.__setitem__(0, problem.torch_rng.get_state()))
    try:
        optimizers = train_gan(problem, config, history, optimizers=optimizers)
        if after_training is not None:
            after_training()
    finally:
        problem.release_training_data()
    problem.torch_rng.set_state(at_epoch_end[0])
    # The last epoch, or where Ctrl-C stopped; saved again when after_training changed the model (the
    # periodic save of the last epoch came before calibration), so the checkpoint samples like the fit.
    if checkpointer is not None and (checkpointer.saved_epoch != len(history) or after_training is not None):
        checkpointer.save(len(history), optimizers)


def _networks_finite(problem) -> bool:
    """True when every weight and buffer of both networks is finite (one host sync)."""
    tensors = [
        t for net in (problem.generator, problem.discriminator)
        for t in (*net.parameters(), *net.buffers()) if t.is_floating_point()
    ]
    return bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all()) if tensors else True


def discriminator_won(history: list, *, low: float = DOMINANCE_LOW, high: float = DOMINANCE_HIGH,
                      patience: int = DOMINANCE_EPOCHS):
    """First run of at least ``patience`` epochs in which the discriminator won outright.

    Returns ``(first, last)`` 1-based epoch positions in ``history`` of the
    longest such run starting first, or None.
    """
    best, start = None, None
    for i, h in enumerate(history + [{}], start=1):
        won = h.get("d_real", 0.0) > high and h.get("d_fake", 1.0) < low
        if won and start is None:
            start = i
        elif not won and start is not None:
            if i - start >= patience and (best is None or i - start > best[1] - best[0] + 1):
                best = (start, i - 1)
            start = None
    return best


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")


class _Stepper:
    """Runs the training steps of an epoch: eagerly, or as replays of one recorded CUDA graph.

    A training step of these small networks launches a few hundred short
    kernels, so on a GPU it is bound by launch overhead, not arithmetic. With
    ``config.cuda_graph`` on a CUDA device, the first epoch runs
    ``GRAPH_WARMUP_STEPS`` steps eagerly, then records one step (batch draw,
    discriminator and generator updates, running totals) as a CUDA graph;
    every later step replays it. The graph reads and writes the same tensors
    every time (weights, gradients, optimiser state, the totals), and the
    model's torch generator is registered with it, so every replay draws
    fresh random numbers from that generator's stream.

    If recording fails (an operation that cannot be recorded), training goes
    on eagerly and a warning says why.
    """

    def __init__(self, problem, config: TrainingConfig, opt_g, opt_d):
        self.problem = problem
        self.config = config
        self.optimizers = (opt_g, opt_d)
        self.totals = torch.zeros(4, device=problem.device)
        self.graph = None
        self.record = _records_graph(problem, config)
        if config.autocast_dtype is None:
            self.autocast = contextlib.nullcontext
        else:
            # A recorded step must not cache cast weights between replays.
            cache = not self.record
            self.autocast = lambda: torch.autocast(problem.device.type, dtype=config.autocast_dtype, cache_enabled=cache)

    def epoch(self) -> torch.Tensor:
        """One epoch; returns the epoch means as one tensor (no host sync)."""
        steps = self.config.steps_per_epoch
        self.totals.zero_()
        # Recording and replay use the current device's streams: make that the model's
        # device (a model on cuda:1 while cuda:0 is current).
        with torch.cuda.device(self.problem.device) if self.record else contextlib.nullcontext():
            done = self._record(steps) if self.record and self.graph is None else 0
            run = self.step if self.graph is None else self.graph.replay
            for _ in range(steps - done):
                run()
        return self.totals / steps

    def step(self) -> None:
        _train_step(self.problem, self.config, *self.optimizers, self.totals, self.autocast)

    def forget(self) -> None:
        """Drop the recorded step (after the optimiser state was replaced); the next epoch records anew."""
        self.graph = None

    def _record(self, steps: int) -> int:
        """Warm up, then record one step; returns the number of steps run."""
        device = self.problem.device
        warm = min(GRAPH_WARMUP_STEPS, steps)
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(warm):
                self.step()
        torch.cuda.current_stream(device).wait_stream(side)
        rng = self.problem.torch_rng
        # A failed recording leaves the registered generator state marked as
        # recording; a clean copy replaces it then.
        clean = rng.clone_state()
        graph = torch.cuda.CUDAGraph()
        with warnings.catch_warnings():
            # Newer torch registers a generator on its first use while recording and
            # deprecates this call; older torch needs it.
            warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning))
            graph.register_generator_state(rng)
        try:
            with torch.cuda.graph(graph):
                self.step()
        except BaseException as exc:  # Ctrl-C while recording too: the generator must stay usable
            rng.graphsafe_set_state(clean)
            if not isinstance(exc, RuntimeError):
                raise
            self.record = False
            warnings.warn(
                f"Could not record the training step as a CUDA graph ({exc}); training goes on without one "
                "(cuda_graph=False skips the attempt).",
                RuntimeWarning,
                stacklevel=caller_stacklevel(),
            )
            return warm
        self.graph = graph
        return warm


def _train_step(problem, config, opt_g, opt_d, totals, autocast) -> None:
    """One generator step after ``config.discriminator_steps`` discriminator steps; adds to ``totals``."""
    last = config.discriminator_steps - 1
    for k in range(config.discriminator_steps):
        batch = problem.draw(config.batch_size)
        with autocast():
            if k < last:
                with torch.no_grad():
                    fake, aux = problem.generate(batch)
            else:
                # The last fake keeps its graph: the generator step reuses it
                # once the discriminator has been updated on its detached copy.
                fake, aux = problem.generate(batch)
            real_logits = problem.discriminate(batch.real, batch)
            fake_logits = problem.discriminate(fake.detach(), batch)
            loss_d = F.softplus(-real_logits.float()).mean() + F.softplus(fake_logits.float()).mean()
        opt_d.zero_grad(set_to_none=True)
        (loss_d if config.loss_scale == 1.0 else loss_d * config.loss_scale).backward()
        opt_d.step()
    # Generator step: the discriminator's weights need no gradient here.
    problem.discriminator.requires_grad_(False)
    with autocast():
        fake_logits_g = problem.discriminate(fake, batch)
        loss_g = F.softplus(-fake_logits_g.float()).mean() + problem.generator_penalty(aux, batch)
    opt_g.zero_grad(set_to_none=True)
    (loss_g if config.loss_scale == 1.0 else loss_g * config.loss_scale).backward()
    opt_g.step()
    problem.discriminator.requires_grad_(True)
    with torch.no_grad():
        totals += torch.stack(
            [
                loss_d.detach(),
                loss_g.detach(),
                torch.sigmoid(real_logits.detach()).mean(),
                torch.sigmoid(fake_logits.detach()).mean(),
            ]
        )
