"""Generator and discriminator MLPs for tables. Shapes in, tensors out."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["TabularGenerator", "TabularDiscriminator"]


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
