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
      computes the noise's share of all layers at once; the hidden outputs
      are written into one buffer instead of being concatenated.

    Call it with the noise and ``active``, an integer array of shape
    ``(n, k)`` naming the set condition slots of every row (the
    generator's ``cond_dim`` names none).
    """

    def __init__(self, generator: TabularGenerator, columns: torch.Tensor):
        noise_dim = generator.noise_dim
        widths = [block.linear.out_features for block in generator.blocks]
        # starts[i]: columns of the earlier blocks' outputs in block i's input (newest first);
        # starts[-1]: all hidden outputs, the head's leading input columns.
        self.starts = [sum(widths[:i]) for i in range(len(widths) + 1)]
        noise_parts, cond_parts, biases, self.recurrent = [], [], [], []
        layers = []
        for block in generator.blocks:
            norm = block.norm
            scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
            bias = (block.linear.bias - norm.running_mean) * scale + norm.bias
            layers.append((block.linear.weight * scale[:, None], bias))
        layers.append((generator.head.weight[columns], generator.head.bias[columns]))
        for previous, (weight, bias) in zip(self.starts, layers):
            self.recurrent.append(weight[:, :previous].T.contiguous())
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
        shared = torch.addmm(self.bias, noise, self.noise)
        shared += F.embedding_bag(active, self.table, mode="sum")
        total = self.starts[-1]
        # Hidden outputs, newest first, as the residual blocks' concatenation lays them out.
        state = shared.new_empty((len(noise), total))
        for i, (lo, hi) in enumerate(zip(self.starts, self.starts[1:])):
            pre = shared[:, lo:hi]
            if i:
                pre = torch.addmm(pre, state[:, total - lo :], self.recurrent[i])
            state[:, total - hi : total - lo] = torch.relu(pre)
        return torch.addmm(shared[:, total:], state, self.head)


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
