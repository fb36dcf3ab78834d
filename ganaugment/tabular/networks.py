"""Generator and discriminator MLPs for tables. Shapes in, tensors out."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["TabularGenerator", "TabularDiscriminator", "FoldedGenerator"]


class _Residual(nn.Module):
    """Linear -> BatchNorm -> ReLU, concatenated to its input (CTGAN-style)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)
        self.norm = nn.BatchNorm1d(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.norm(self.linear(x))), x], dim=1)


class TabularGenerator(nn.Module):
    """Maps noise and a condition vector to raw (pre-activation) encoded rows."""

    def __init__(self, noise_dim: int, cond_dim: int, hidden: tuple, out_dim: int):
        super().__init__()
        self.noise_dim = noise_dim
        self.cond_dim = cond_dim
        blocks = []
        width = noise_dim + cond_dim
        for size in hidden:
            blocks.append(_Residual(width, size))
            width += size
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(width, out_dim)

    def forward(self, noise: torch.Tensor, cond: torch.Tensor, columns: torch.Tensor | None = None) -> torch.Tensor:
        """Raw encoded rows; with ``columns``, only those output columns, in that order.

        Selecting rows of the head's weight costs a few hundred thousand
        copies; gathering the same columns from the output costs one per
        generated value, and leaves them scattered in memory.
        """
        hidden = self.blocks(torch.cat([noise, cond], dim=1))
        if columns is None:
            return self.head(hidden)
        return F.linear(hidden, self.head.weight[columns], self.head.bias[columns])

    @torch.no_grad()
    def folded(self, columns: torch.Tensor) -> "FoldedGenerator":
        """This generator in eval mode, rewritten for fast sampling (see :class:`FoldedGenerator`)."""
        return FoldedGenerator(self, columns)


# The folded generator's row buffer is padded to a multiple of this many
# floats: on the 2-core dev CPU (AVX2, MKL) a product 426 columns wide ran
# at 150-157 GFLOPS, one 424 or 432 wide at 178-182, and the head's 167
# columns at 140 against 170 for 168 (benchmarks/gemm_widths.py).
ROW_ALIGN = 8


class FoldedGenerator:
    """The eval-mode generator as a few matrix products, for sampling.

    Computes what ``generator.eval()(noise, cond, columns=columns)`` does, up
    to float rounding, with a third fewer multiply-adds on a typical table:

    * every BatchNorm (running statistics) is folded into the weights and
      bias of the linear layer before it;
    * the condition vector is one-hot (a column slot and a class slot at
      most), so its product with a weight matrix is a sum of weight columns:
      a lookup in a table of those columns instead of a matrix product;
    * every layer reads the noise and the condition (the residual blocks
      concatenate their input to their output), so one matrix product
      computes the noise's share of all layers at once.

    Each row lives in one buffer, ``[hidden 1 | hidden 2 | ... | outputs]``:
    every layer adds its products into its own slice and applies ReLU in
    place, and the layers after it read the earlier slices where they lie
    (their weights are reordered to match the residual concatenation, which
    puts the newest output first). The outputs are padded with unused
    columns so that the row is a multiple of ``ROW_ALIGN`` wide.

    Call it with the noise and ``active``, an integer array of shape
    ``(n, k)`` naming the set condition slots of every row (the
    generator's ``cond_dim`` names none). It returns a view of the buffer.
    """

    def __init__(self, generator: TabularGenerator, columns: torch.Tensor):
        noise_dim = generator.noise_dim
        widths = [block.linear.out_features for block in generator.blocks]
        # starts[i]: where block i's output lies in the buffer; starts[-1]: where the outputs start.
        self.starts = [sum(widths[:i]) for i in range(len(widths) + 1)]
        total = self.starts[-1]
        self.n_outputs = len(columns)
        padding = -(total + self.n_outputs) % ROW_ALIGN
        head = generator.head
        layers = []
        for block in generator.blocks:
            norm = block.norm
            scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
            bias = (block.linear.bias - norm.running_mean) * scale + norm.bias
            layers.append((block.linear.weight * scale[:, None], bias))
        layers.append((
            F.pad(head.weight[columns], (0, 0, 0, padding)),
            F.pad(head.bias[columns], (0, padding)),
        ))
        noise_parts, cond_parts, biases, self.recurrent = [], [], [], []
        for i, (weight, bias) in enumerate(layers):
            previous = self.starts[i]  # input columns holding earlier outputs, newest first
            # ... taken oldest first, the order in which the buffer holds them
            earlier = [weight[:, previous - self.starts[j + 1] : previous - self.starts[j]] for j in range(i)]
            self.recurrent.append(torch.cat(earlier, dim=1).T.contiguous() if earlier else None)
            noise_parts.append(weight[:, previous : previous + noise_dim])
            cond_parts.append(weight[:, previous + noise_dim :])
            biases.append(bias)
        self.head = self.recurrent.pop()  # the head reads every hidden output
        self.noise = torch.cat(noise_parts).T.contiguous()
        self.bias = torch.cat(biases)
        table = torch.cat(cond_parts).T
        self.table = torch.cat([table, table.new_zeros((1, table.shape[1]))]).contiguous()

    def add_to_outputs(self, offsets: torch.Tensor, slots: torch.Tensor | None = None) -> None:
        """Add constant offsets to the leading outputs, folded into the weights.

        With ``slots``, ``offsets[i]`` goes to every row whose condition sets
        ``slots[i]`` (a lookup-table row); without, ``offsets[0]`` goes to
        every row (the bias). Either way the offsets cost nothing per row.
        """
        width = offsets.shape[1]
        total = self.starts[-1]
        if slots is None:
            self.bias[total : total + width] += offsets[0]
        else:
            self.table[slots, total : total + width] += offsets

    def __call__(self, noise: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
        row = F.embedding_bag(active, self.table, mode="sum")
        row += self.bias
        row.addmm_(noise, self.noise)
        for i, (lo, hi) in enumerate(zip(self.starts, self.starts[1:])):
            hidden = row[:, lo:hi]
            if i:
                hidden.addmm_(row[:, :lo], self.recurrent[i])
            hidden.relu_()
        total = self.starts[-1]
        outputs = row[:, total:].addmm_(row[:, :total], self.head)  # padding included: an aligned product
        return outputs[:, : self.n_outputs]


class TabularDiscriminator(nn.Module):
    """Scores packs of ``pac`` rows (PacGAN); returns one logit per pack.

    Dropout takes an explicit ``torch.Generator`` so that training stays
    reproducible without global random state.
    """

    def __init__(self, in_dim: int, cond_dim: int, hidden: tuple, pac: int, dropout: float):
        super().__init__()
        self.pac = pac
        self.dropout = dropout
        layers = []
        width = (in_dim + cond_dim) * pac
        for size in hidden:
            layers.append(nn.Linear(width, size))
            width = size
        self.hidden = nn.ModuleList(layers)
        self.head = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, rng: torch.Generator | None = None) -> torch.Tensor:
        h = torch.cat([x, cond], dim=1)
        h = h.reshape(h.shape[0] // self.pac, -1)
        for layer in self.hidden:
            h = nn.functional.leaky_relu(layer(h), 0.2)
            if self.training and self.dropout > 0 and rng is not None:
                keep = torch.rand(h.shape, generator=rng, device=h.device) >= self.dropout
                h = h * keep / (1.0 - self.dropout)
        return self.head(h).squeeze(1)
