"""The conditional tabular GAN: networks, condition vector, training-by-sampling.

The condition vector given to both networks is ``[class one-hot | column
one-hot]``. The class block exists only when the model is fitted with ``y``
and is always set. The column block holds one slot per level of every
categorical column; during training exactly one slot is set, picked by
*training-by-sampling*: a categorical column uniformly, one of its levels with
probability proportional to the log of its frequency (so rare levels are
seen), then a real row holding that level. When the class is the picked
"column", the column block stays empty and the class is picked by the same
rule, which is how minority classes get enough training signal.

Everything in the hot loop is an index gather on tensors that live on the
training device.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from .._torch import build_module, draw_rows, make_generator
from ..persistence import ModelFileError, persistable
from .encoder import EncodedRows, TableEncoder
from .networks import TabularDiscriminator, TabularGenerator

__all__ = ["TabularGAN", "ConditionLayout"]

# Rows per generator pass when sampling. On the 2-core dev CPU, sampling
# 100,000 Adult rows took 0.49-0.61 s in passes of 2,048-4,096 rows against
# 0.70-0.77 s in passes of 50,000: the layers' activations stay in cache.
# An accelerator wants large passes instead.
SAMPLE_BLOCK_CPU = 4096
SAMPLE_BLOCK_ACCELERATOR = 65536
# A span's total weight below this (about exp(-69)) is redrawn from its own
# softmax: float32 keeps full precision only down to about 1e-38.
SPAN_TOTAL_FLOOR = 1e-30


@dataclass
class _Batch:
    real: torch.Tensor
    cond: torch.Tensor
    column: torch.Tensor  # picked choice column per row
    slot: torch.Tensor  # picked global slot per row


class ConditionLayout:
    """Where every (column, level) slot of the condition lives.

    Choice columns are the categorical columns of the encoder, followed by
    the class (when there is one). ``counts[c, s]`` is how many training rows
    of class ``c`` hold slot ``s`` (a single pseudo-class without ``y``);
    generation draws its conditions from these counts, so categories and
    classes follow the real frequencies.
    """

    def __init__(self, encoder: TableEncoder, n_classes: int):
        self.n_classes = n_classes
        spans = encoder.category_spans()
        self.columns = [s.column for s in spans]
        self.widths = [s.width for s in spans]
        self.span_starts = [s.start for s in spans]
        self.has_class = n_classes > 0
        widths = self.widths + ([n_classes] if self.has_class else [])
        self.slot_offsets = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
        self.n_slots = int(self.slot_offsets[-1])
        self.column_width = int(sum(self.widths))
        self.cond_dim = self.column_width + n_classes
        # Where each categorical span sits among the encoder's discrete spans
        # (the columns of EncodedRows.codes).
        position = {s.start: i for i, s in enumerate(s for s in encoder.spans_ if s.kind == "discrete")}
        self.code_columns = [position[start] for start in self.span_starts]

    @property
    def n_choice_columns(self) -> int:
        return len(self.widths) + int(self.has_class)

    def slot_codes(self, encoded: EncodedRows, class_codes: np.ndarray | None) -> np.ndarray:
        """Per row and choice column, the global slot index of the row's level."""
        codes = [
            encoded.codes[:, column].astype(np.int64) + offset
            for column, offset in zip(self.code_columns, self.slot_offsets)
        ]
        if self.has_class:
            codes.append(class_codes + self.slot_offsets[len(self.widths)])
        if not codes:
            return np.zeros((len(encoded), 0), dtype=np.int64)
        return np.stack(codes, axis=1).astype(np.int64)


class LevelDraw:
    """Draws one level per discrete span from the softmax of its logits.

    Built once per sampling call from the spans' widths (laid side by side);
    called on each block's logits ``disc`` and ``u``, one uniform per span
    and row, shape ``(spans, rows, 1)``. Each span is drawn by inverse CDF:
    the number of levels whose cumulative weight stays below ``u`` times the
    span's total. (An arg-max of the bare logits would always pick the
    likeliest level and lose rare ones; a Gumbel-max draw needs a uniform and
    two logs per level and was a quarter slower on the dev CPU.)

    The weights are ``exp`` of the logits less the row's largest: one pass
    over the block instead of a softmax per span, which cost a third more.
    Each span's cumulative weights are searched with ``searchsorted`` (a
    quarter faster than counting a comparison). A span whose logits all lie
    far below the row's maximum would underflow, so its total is checked,
    and those rows are drawn again from the span's own softmax with the same
    uniforms.
    """

    def __init__(self, widths: list, device: torch.device):
        ends = np.cumsum(widths).astype(np.int64)
        self.bounds = list(zip((ends - widths).tolist(), ends.tolist()))
        self.top = torch.as_tensor(np.asarray(widths, dtype=np.int64) - 1, device=device)[:, None, None]

    def __call__(self, disc: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        shape = (len(self.bounds), len(disc), 1)
        drawn = torch.empty(shape, dtype=torch.int64, device=disc.device)
        if not self.bounds:  # no discrete span to draw
            return drawn[:, :, 0].T
        totals = torch.empty(shape, dtype=disc.dtype, device=disc.device)
        weights = (disc - disc.amax(dim=1, keepdim=True)).exp_()
        for k, (a, b) in enumerate(self.bounds):
            cdf = weights[:, a:b].cumsum(dim=1)  # contiguous, as searchsorted wants it
            totals[k] = cdf[:, -1:]
            torch.searchsorted(cdf, u[k] * totals[k], out=drawn[k])
        # With u < 1 no count reaches a span's width (its last level's weight is
        # the total); the clamp keeps codes in range whatever the rounding.
        drawn.clamp_(max=self.top)
        low = totals < SPAN_TOTAL_FLOOR
        if bool(low.any()):  # a host sync, as the copy of the codes already is
            for k in torch.nonzero(low.flatten(1).any(dim=1)).flatten().tolist():
                a, b = self.bounds[k]
                rows = torch.nonzero(low[k, :, 0]).flatten()
                cdf = torch.softmax(disc[rows, a:b], dim=1).cumsum_(dim=1)
                drawn[k, rows, 0] = (cdf < u[k][rows]).sum(dim=1).clamp_(max=b - a - 1)
        return drawn[:, :, 0].T


@persistable
class TabularGAN:
    """Networks plus the tensors that training and generation gather from."""

    def __init__(
        self, encoder: TableEncoder, n_classes: int, params: dict, device: torch.device, seed: int, saved=None
    ):
        self.encoder = encoder
        self.layout = ConditionLayout(encoder, n_classes)
        self.params = dict(params)
        self.device = device
        self.torch_rng = make_generator(seed, device)
        width = encoder.output_width_
        cond_dim = self.layout.cond_dim
        self.generator = build_module(
            lambda: TabularGenerator(params["noise_dim"], cond_dim, tuple(params["generator_dim"]), width),
            device,
            self.torch_rng,
            expect=None if saved is None else saved["generator"],
        )
        self.discriminator = build_module(
            lambda: TabularDiscriminator(
                width, cond_dim, tuple(params["discriminator_dim"]), params["pac"], params["dropout"]
            ),
            device,
            self.torch_rng,
            expect=None if saved is None else saved["discriminator"],
        )
        self._build_activation_index()
        self.counts = None
        # Per class, an offset added to the logits of every discrete span at
        # generation time (see calibrate()); zero until the model is calibrated.
        self.logit_bias = np.zeros((max(n_classes, 1), len(self._disc_flat)), dtype=np.float32)

    # ------------------------------------------------------ persistence
    def to_state(self) -> dict:
        """Networks, condition statistics and generator state as plain values.

        The encoder is not included: the estimator saves it as its own
        attribute and hands it back through ``context`` on load.
        """
        return {
            "n_classes": self.layout.n_classes,
            "params": dict(self.params),
            "counts": self.counts,
            "n_training_rows": int(self.n_training_rows),
            "logit_bias": self.logit_bias,
            "generator": dict(self.generator.state_dict()),
            "discriminator": dict(self.discriminator.state_dict()),
            "torch_rng": self.torch_rng,
        }

    @classmethod
    def from_state(cls, state: dict, *, device, context) -> "TabularGAN":
        """Rebuild the model on ``device`` from :meth:`to_state` output."""
        encoder = (context or {}).get("encoder_")
        if encoder is None:
            raise ModelFileError("The tabular model state needs the fitted encoder_, which the file lacks.")
        device = torch.device("cpu") if device is None else device
        try:  # the saved weights are checked against the layout before the networks take memory
            model = cls(encoder, int(state["n_classes"]), state["params"], device, seed=0, saved=state)
            model.generator.load_state_dict(state["generator"], strict=True)
            model.discriminator.load_state_dict(state["discriminator"], strict=True)
        except (RuntimeError, ValueError) as exc:
            raise ModelFileError(str(exc)) from None
        counts = np.asarray(state["counts"], dtype=np.float64)
        if counts.shape != (max(model.layout.n_classes, 1), model.layout.n_slots):
            raise ModelFileError(f"The saved condition counts have shape {counts.shape}, which does not fit the layout.")
        if not (np.isfinite(counts).all() and (counts >= 0).all() and (counts.size == 0 or counts.sum() > 0)):
            raise ModelFileError("The saved condition counts hold negative, NaN or infinite values, or are all 0.")
        model.counts = counts
        bias = state.get("logit_bias")  # files from before calibration existed have none
        if bias is not None:
            bias = np.asarray(bias, dtype=np.float32)
            if bias.shape != model.logit_bias.shape or not np.isfinite(bias).all():
                raise ModelFileError(f"The saved logit offsets have shape {bias.shape} or non-finite values; the layout needs {model.logit_bias.shape}.")
            model.logit_bias = bias
        model.n_training_rows = int(state["n_training_rows"])
        if state.get("torch_rng") is not None:
            model.torch_rng = state["torch_rng"]
        model.generator.eval()
        model.discriminator.eval()
        return model

    # ----------------------------------------------------------- layout
    def _build_activation_index(self):
        spans = self.encoder.spans_
        cont = [s.start for s in spans if s.kind == "continuous"]
        disc = [s for s in spans if s.kind == "discrete"]
        flat = np.concatenate([np.arange(s.start, s.stop) for s in disc] + [np.zeros(0, np.int64)])
        dev = self.device
        self._cont_index = torch.as_tensor(cont, dtype=torch.long, device=dev)
        self._disc_flat = torch.as_tensor(flat, dtype=torch.long, device=dev)
        self._disc_start = torch.as_tensor([s.start for s in disc], dtype=torch.long, device=dev)
        # Span number of every discrete encoded column (in _disc_flat order),
        # for a softmax per span without padding every span to the widest one.
        self._disc_segment = torch.as_tensor(
            np.repeat(np.arange(len(disc)), [s.width for s in disc]), dtype=torch.long, device=dev
        )
        # Conditional loss: for each categorical choice column, its encoded columns (padded).
        lay = self.layout
        cmax = max(lay.widths, default=1)
        cond_index = np.zeros((max(len(lay.widths), 1), cmax), dtype=np.int64)
        cond_mask = np.zeros_like(cond_index, dtype=bool)
        for i, (start, width) in enumerate(zip(lay.span_starts, lay.widths)):
            cond_index[i, :width] = np.arange(start, start + width)
            cond_mask[i, :width] = True
        self._cond_index = torch.as_tensor(cond_index, device=dev)
        self._cond_mask = torch.as_tensor(cond_mask, device=dev)
        # For every condition slot, the discrete span (its number in
        # _disc_segment) that the slot fixes; -1 for class slots and "none".
        segment_of_start = {s.start: i for i, s in enumerate(disc)}
        slot_segment = np.full(lay.n_slots + 1, -1, dtype=np.int64)
        for j, start in enumerate(lay.span_starts):
            slot_segment[lay.slot_offsets[j] : lay.slot_offsets[j + 1]] = segment_of_start[start]
        self._slot_segment = torch.as_tensor(slot_segment, device=dev)

    # ------------------------------------------------------------- data
    def set_training_data(self, encoded, class_codes: np.ndarray | None, weights: np.ndarray | None = None) -> None:
        """Move the encoded table to the device and index it for training-by-sampling.

        ``encoded`` is :class:`EncodedRows` (compact: what the device holds)
        or the dense matrix of :meth:`TableEncoder.transform`. ``weights``
        (row weights with a mean of 1, or None) make training draw each row
        with probability proportional to its weight, and weigh the level and
        class frequencies that sampling and calibration follow.
        """
        if not isinstance(encoded, EncodedRows):
            encoded = self.encoder.compact(np.asarray(encoded, dtype=np.float32))
        lay = self.layout
        n = len(encoded)
        dev = self.device
        slots = lay.slot_codes(encoded, class_codes)
        mass = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        counts = np.zeros((max(lay.n_classes, 1), lay.n_slots), dtype=np.float64)
        rows_in_slot = np.zeros(lay.n_slots, dtype=np.int64)
        row_class = class_codes if lay.has_class else np.zeros(n, dtype=np.int64)
        for j in range(slots.shape[1]):
            np.add.at(counts, (row_class, slots[:, j]), mass)
            rows_in_slot += np.bincount(slots[:, j], minlength=lay.n_slots)
        self.counts = counts
        # How often each level of every discrete span occurs, per class: the
        # target of calibrate().
        widths = [s.width for s in self.encoder.spans_ if s.kind == "discrete"]
        n_levels = int(sum(widths))
        level_counts = np.zeros((counts.shape[0], n_levels), dtype=np.float64)
        for k, offset in enumerate(np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)):
            flat = row_class * n_levels + offset + encoded.codes[:, k].astype(np.int64)
            level_counts += np.bincount(flat, weights=mass, minlength=level_counts.size).reshape(level_counts.shape)
        self.level_counts = level_counts
        total = counts.sum(axis=0)
        # Rows sorted by slot, per choice column: rows holding slot s are
        # order[start[s] : start[s] + count[s]].
        self.n_training_rows = n
        order = np.concatenate(
            [np.argsort(slots[:, j], kind="stable") for j in range(slots.shape[1])] + [np.zeros(0, np.int64)]
        )
        order_start = np.zeros(lay.n_slots, dtype=np.int64)
        for j in range(slots.shape[1]):
            lo, hi = lay.slot_offsets[j], lay.slot_offsets[j + 1]
            within = np.concatenate([[0], np.cumsum(rows_in_slot[lo:hi])[:-1]]).astype(np.int64)
            order_start[lo:hi] = j * n + within
        # Level probabilities inside each column, proportional to log(1 + count).
        n_cols = lay.n_choice_columns
        widest = int(max(np.diff(lay.slot_offsets), default=1)) if n_cols else 1
        probs = np.zeros((max(n_cols, 1), widest), dtype=np.float64)
        for j in range(n_cols):
            lo, hi = lay.slot_offsets[j], lay.slot_offsets[j + 1]
            probs[j, : hi - lo] = np.log1p(total[lo:hi])
        probs /= np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)
        # Compact rows on the device; batches are expanded to one-hot by _rows().
        self._values = torch.as_tensor(encoded.values, dtype=torch.float32, device=dev)
        self._codes = torch.as_tensor(encoded.codes, device=dev)
        self._n_rows = n
        self._order = torch.as_tensor(order, dtype=torch.long, device=dev)
        self._order_start = torch.as_tensor(order_start, device=dev)
        self._slot_count = torch.as_tensor(rows_in_slot, dtype=torch.float32, device=dev)
        # Weighted draws: a row is found by its cumulative weight, along the rows in slot order (or in
        # table order when there is no choice column); None keeps the uniform draw.
        self._cum_weight = self._slot_base = self._slot_weight = None
        if weights is not None:
            along = order if len(order) else np.arange(n)
            cum = np.cumsum(mass[along])
            self._cum_weight = torch.as_tensor(cum, dtype=torch.float64, device=dev)
            before = np.concatenate([[0.0], cum])
            self._slot_base = torch.as_tensor(before[order_start], dtype=torch.float64, device=dev)
            self._slot_weight = torch.as_tensor(
                before[order_start + rows_in_slot] - before[order_start], dtype=torch.float64, device=dev
            )
        self._level_probs = torch.as_tensor(probs, dtype=torch.float32, device=dev)
        self._slot_offsets = torch.as_tensor(lay.slot_offsets, device=dev)
        self._row_class = torch.as_tensor(row_class, dtype=torch.long, device=dev)

    def release_training_data(self) -> None:
        """Drop the training tensors so a fitted model holds no real rows."""
        self.level_counts = None
        for name in ("_values", "_codes", "_order", "_order_start", "_slot_count", "_level_probs", "_slot_offsets",
                     "_row_class", "_cum_weight", "_slot_base", "_slot_weight"):
            setattr(self, name, None)

    # --------------------------------------------------- trainer protocol
    def draw(self, batch_size: int) -> _Batch:
        lay = self.layout
        gen = self.torch_rng
        dev = self.device
        if lay.n_choice_columns == 0:
            rows = draw_rows(self._n_rows, batch_size, gen, dev, self._cum_weight)
            cond = torch.zeros(batch_size, lay.cond_dim, device=dev)
            empty = torch.zeros(batch_size, dtype=torch.long, device=dev)
            return _Batch(self._rows(rows), cond, empty, empty)
        column = torch.randint(lay.n_choice_columns, (batch_size,), generator=gen, device=dev)
        level = torch.multinomial(self._level_probs[column], 1, generator=gen).squeeze(1)
        slot = self._slot_offsets[column] + level
        if self._cum_weight is None:
            offset = (torch.rand(batch_size, generator=gen, device=dev) * self._slot_count[slot]).long()
            rows = self._order[self._order_start[slot] + offset]
        else:
            # The row whose cumulative weight first exceeds a uniform point of the slot's weight:
            # rows of weight 0 are never drawn.
            u = torch.rand(batch_size, generator=gen, device=dev, dtype=torch.float64)
            at = torch.searchsorted(self._cum_weight, self._slot_base[slot] + u * self._slot_weight[slot], right=True)
            first = self._order_start[slot]
            rows = self._order[torch.minimum(torch.maximum(at, first), first + self._slot_count[slot].long() - 1)]
        cond = self._condition(slot, self._row_class[rows])
        return _Batch(self._rows(rows), cond, column, slot)

    def _rows(self, rows: torch.Tensor) -> torch.Tensor:
        """The encoded (one-hot) training rows ``rows``, built from the compact copy."""
        out = torch.zeros(len(rows), self.encoder.output_width_, device=self.device)
        out[:, self._cont_index] = self._values[rows]
        out.scatter_(1, self._codes[rows].long() + self._disc_start, 1.0)
        return out

    def _condition(self, slot: torch.Tensor, row_class: torch.Tensor) -> torch.Tensor:
        """Condition vectors for picked slots (column block) and classes: one-hot
        at the entries :meth:`_active_slots` names."""
        active = self._active_slots(slot, row_class)
        cond = torch.zeros(len(slot), self.layout.cond_dim + 1, device=self.device)
        return cond.scatter_(1, active, 1.0)[:, :-1]

    def _active_slots(self, slot: torch.Tensor, row_class: torch.Tensor) -> torch.Tensor:
        """The set entries of every condition vector, one column per block:
        the picked column slot (``cond_dim`` where the row has none), then the
        class slot when the model has classes. The sampling path uses this
        lookup form; :meth:`_condition` expands it."""
        lay = self.layout
        active = torch.where(slot < lay.column_width, slot, lay.cond_dim)[:, None]
        if lay.has_class:
            active = torch.cat([active, (lay.column_width + row_class)[:, None]], dim=1)
        return active

    def _activate(self, raw: torch.Tensor) -> torch.Tensor:
        """tanh on continuous columns, Gumbel-softmax on every discrete span."""
        raw = raw.float()  # bfloat16 under mixed precision; the activations run in float32
        out = torch.empty_like(raw)
        out[:, self._cont_index] = torch.tanh(raw[:, self._cont_index])
        u = torch.rand(raw.shape, generator=self.torch_rng, device=raw.device).clamp_(1e-10, 1.0 - 1e-7)
        perturbed = (raw - torch.log(-torch.log(u))) / self.params["tau"]
        out[:, self._disc_flat] = self._span_softmax(perturbed[:, self._disc_flat])
        return out

    def _span_softmax(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax within every discrete span of ``logits`` (the discrete columns, flat).

        Works on the flat columns with scatter operations: a table with one
        500-level column and forty small spans costs 40x less than padding
        every span to 500 slots.
        """
        segment = self._disc_segment.expand(len(logits), -1)
        n_spans = len(self._disc_start)
        with torch.no_grad():  # the shift only keeps exp() finite; softmax does not depend on it
            top = logits.new_full((len(logits), n_spans), float("-inf"))
            top = top.scatter_reduce(1, segment, logits, reduce="amax", include_self=True)
        weights = torch.exp(logits - top.gather(1, segment))
        total = weights.new_zeros((len(logits), n_spans)).scatter_add(1, segment, weights)
        return weights / total.gather(1, segment)

    def _noise(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return torch.randn(n, self.params["noise_dim"], generator=gen, device=self.device)

    def generate(self, batch: _Batch):
        raw = self.generator(self._noise(len(batch.cond), self.torch_rng), batch.cond)
        return self._activate(raw), raw

    def discriminate(self, x: torch.Tensor, batch: _Batch) -> torch.Tensor:
        return self.discriminator(x, batch.cond, self.torch_rng)

    def generator_penalty(self, raw: torch.Tensor, batch: _Batch) -> torch.Tensor:
        """Cross-entropy that makes the generator honour the column condition."""
        return self._condition_loss(raw, batch)

    def _condition_loss(self, raw: torch.Tensor, batch: _Batch) -> torch.Tensor:
        """Cross-entropy that makes the generator honour the column condition."""
        lay = self.layout
        if not lay.widths:
            return raw.new_zeros(())
        on_column = batch.slot < lay.column_width
        column = batch.column.clamp(max=len(lay.widths) - 1)
        logits = raw.gather(1, self._cond_index[column]).masked_fill(~self._cond_mask[column], float("-inf"))
        level = (batch.slot - self._slot_offsets[column]).clamp(min=0, max=logits.shape[1] - 1)
        ce = torch.logsumexp(logits, dim=1) - logits.gather(1, level[:, None]).squeeze(1)
        return torch.where(on_column, ce, torch.zeros_like(ce)).sum() / len(raw)

    # ------------------------------------------------------- generation
    def draw_conditions(self, n_rows: int, class_codes: np.ndarray | None, fixed: dict, rng: np.random.Generator):
        """Slots and classes for generated rows, following the real frequencies.

        ``class_codes`` fixes the class of each row (or None to draw it);
        ``fixed`` maps a choice-column index to a slot that every row must hold;
        the generator is conditioned on the rarest of them (the caller keeps
        the rows that hold the others), whatever the order of ``fixed``.
        Returns ``(slot, classes)`` arrays.
        """
        lay = self.layout
        counts = self.counts
        # P(class | fixed values) is proportional to P(class) * prod_j P(value_j | class).
        class_size = self.class_sizes()
        weight = class_size.copy()
        fixed_slots = sorted(fixed.values())  # one order of products, whatever the caller's
        for slot in fixed_slots:
            weight = weight * counts[:, slot] / np.maximum(class_size, 1e-12)
        if class_codes is None:
            class_codes = rng.choice(counts.shape[0], size=n_rows, p=weight / weight.sum())
        n_cat = len(lay.widths)
        slot = np.full(n_rows, lay.n_slots, dtype=np.int64)  # "no column slot" marker
        if fixed:
            slot[:] = min(fixed_slots, key=lambda s: (counts[:, s].sum(), s))
        elif n_cat:
            column = rng.integers(n_cat, size=n_rows)
            for j in range(n_cat):
                rows = np.flatnonzero(column == j)
                if rows.size == 0:
                    continue
                lo, hi = lay.slot_offsets[j], lay.slot_offsets[j + 1]
                for c in np.unique(class_codes[rows]):
                    sel = rows[class_codes[rows] == c]
                    p = counts[c, lo:hi]
                    if p.sum() == 0:
                        p = counts[:, lo:hi].sum(axis=0)
                    slot[sel] = lo + rng.choice(hi - lo, size=sel.size, p=p / p.sum())
        return slot, class_codes

    def class_sizes(self) -> np.ndarray:
        """Training rows per class, weighted when the fit had row weights (one pseudo-class for a
        model without ``y``), as floats."""
        lay = self.layout
        if not lay.has_class:
            return np.array([float(self.n_training_rows)])
        lo = lay.slot_offsets[len(lay.widths)]
        return np.diag(self.counts[:, lo : lo + lay.n_classes]).astype(np.float64)

    def calibrate(self, rng: np.random.Generator, n_rows: int = 20000, iterations: int = 8, limit: float = 4.0) -> None:
        """Fit per-class logit offsets so that generated levels follow the real frequencies.

        A trained generator gets the frequencies of the levels of a discrete
        column (a category, a missing-value flag, the mode of a numeric
        column) right only up to a point or two, and that error moves from
        epoch to epoch. Adding a fixed offset to a span's logits moves its
        levels' probabilities without touching what the rest of the row
        looks like, so the offsets are fitted by matching, for each class,
        the mean predicted level probabilities of ``n_rows`` generated rows
        to the real level frequencies (iterative proportional fitting in
        log space; ``limit`` bounds each offset). The rows are drawn the way
        unconditioned sampling draws them, condition slots included, so the
        offsets correct the mixture that ``sample`` produces. Needs the
        training data (``level_counts``), so it runs at the end of ``fit``.
        """
        n_classes = self.logit_bias.shape[0]
        width = len(self._disc_flat)
        bias = np.zeros((n_classes, width), dtype=np.float32)
        if width == 0:
            self.logit_bias = bias
            return
        dev = self.device
        segment = self._disc_segment
        n_spans = len(self._disc_start)
        span_width = torch.bincount(segment, minlength=n_spans).float()
        per_class = max(1000, n_rows // n_classes)
        gen = make_generator(int(rng.integers(2**63 - 1)), dev)
        self.generator.eval()
        for c in range(n_classes):
            if self.level_counts[c].sum() == 0:
                continue
            classes = np.full(per_class, c, dtype=np.int64)
            slot, _ = self.draw_conditions(per_class, classes if self.layout.has_class else None, {}, rng)
            with torch.inference_mode():
                cond = self._condition(torch.as_tensor(slot, device=dev), torch.as_tensor(classes, device=dev))
                logits = self.generator(self._noise(per_class, gen), cond, columns=self._disc_flat).float()
                counts = torch.as_tensor(self.level_counts[c], dtype=torch.float32, device=dev)
                span_total = torch.zeros(n_spans, device=dev).scatter_add(0, segment, counts)
                target = (counts / span_total[segment].clamp(min=1.0)).clamp(min=1e-6)
                offset = torch.zeros(width, device=dev)
                for _ in range(iterations):
                    made = self._span_softmax(logits + offset).mean(0)
                    offset += torch.log(target) - torch.log(made.clamp(min=1e-6))
                    # Softmax ignores a constant per span: centre each span before bounding it.
                    mean = torch.zeros(n_spans, device=dev).scatter_add(0, segment, offset) / span_width
                    offset = (offset - mean[segment]).clamp(-limit, limit)
            bias[c] = offset.cpu().numpy()
        self.logit_bias = bias

    def sample_encoded(
        self, slot: np.ndarray, classes: np.ndarray, seed: int, chunk: int | None = None, keep_condition: bool = False
    ) -> EncodedRows:
        """Generate rows for given condition slots and classes, in compact form.

        Every discrete span is drawn from the generator's categorical
        distribution and returned as the index of its level; continuous
        columns come back as their tanh value (see :class:`EncodedRows`).
        With ``keep_condition`` (a value the caller asked for), the span each
        row is conditioned on is left without calibration offset, so the
        offset does not pull rows away from the requested value. Rows are
        computed ``chunk`` at a time (default: ``SAMPLE_BLOCK_CPU`` on the
        CPU, ``SAMPLE_BLOCK_ACCELERATOR`` elsewhere).
        """
        if chunk is None:
            chunk = SAMPLE_BLOCK_CPU if self.device.type == "cpu" else SAMPLE_BLOCK_ACCELERATOR
        gen = make_generator(seed, self.device)
        n_disc = len(self._disc_flat)
        # The generator's head emits the discrete columns first, then the
        # continuous ones, so that the offsets, the draws and tanh below work
        # on two contiguous slices.
        order = torch.cat([self._disc_flat, self._cont_index])
        draw = LevelDraw([s.width for s in self.encoder.spans_ if s.kind == "discrete"], self.device)
        n = len(slot)
        values = torch.empty((n, len(self._cont_index)), dtype=torch.float32)
        codes = torch.empty((n, len(draw.bounds)), dtype=torch.int64)
        bias = torch.as_tensor(self.logit_bias, device=self.device)
        lay = self.layout
        self.generator.eval()
        with torch.inference_mode():
            network = self.generator.folded(order)
            if not keep_condition:
                # Calibration offsets (see calibrate) depend only on the row's
                # class, a slot of its condition: they join the weights.
                class_slots = lay.column_width + torch.arange(len(bias), device=self.device) if lay.has_class else None
                network.add_to_outputs(bias, class_slots)
            for lo in range(0, n, chunk):
                s = torch.as_tensor(slot[lo : lo + chunk], device=self.device)
                c = torch.as_tensor(classes[lo : lo + chunk], device=self.device)
                raw = network(self._noise(len(s), gen), self._active_slots(s, c))
                disc = raw[:, :n_disc]
                if keep_condition:
                    # The span each row is conditioned on keeps its bare logits.
                    offset = bias[c].masked_fill(self._disc_segment[None, :] == self._slot_segment[s][:, None], 0.0)
                    disc += offset
                u = torch.rand((len(draw.bounds), len(s), 1), generator=gen, device=self.device)
                # One copy to the host per block (none on the CPU).
                codes[lo : lo + len(s)] = draw(disc, u).cpu()
                values[lo : lo + len(s)] = torch.tanh(raw[:, n_disc:]).cpu()
        return EncodedRows(values.numpy(), codes.numpy())
