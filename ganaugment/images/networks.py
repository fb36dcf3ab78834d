"""Class-conditional DCGAN modules whose depth adapts to the image size.

The generator starts from a small ``base`` grid, doubles it with ``n_up``
stride-2 transposed convolutions and crops the centre to ``(H, W)``; the
discriminator halves ``(H, W)`` with stride-2 convolutions (kernel 4,
padding 1, so any size works: 28 -> 14 -> 7) and ends in a linear layer.
:func:`plan` picks the stack for an image size so that 8x8 to 64x64 and
beyond, square or not, power of two or not, all get a sensible network.

Conditioning: the generator reads ``[noise | class embedding]``; the
discriminator adds a projection term ``<embed(y), h>`` (Miyato & Koyama 2018)
to its unconditional logit. Networks are plain modules: shapes in, tensors
out; no RNG, no device choice, no data handling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["ImagePlan", "plan", "ImageGenerator", "ImageDiscriminator"]


@dataclass(frozen=True)
class ImagePlan:
    """The layer stack for one image size."""

    channels: int
    height: int
    width: int
    n_up: int  # stride-2 layers in the generator
    base: tuple  # (h, w) of the generator's first grid
    widths: tuple  # generator feature widths, from the base grid upward
    strides: tuple  # generator layer strides (1 or 2), one per hidden width after the first
    d_widths: tuple  # discriminator feature widths
    d_strides: tuple  # discriminator convolution strides (1 or 2)
    d_out: tuple  # (h, w) of the discriminator's last grid


def plan(channels: int, height: int, width: int, base_width: int = 64, max_width: int = 256) -> ImagePlan:
    """Layer stack for ``channels x height x width`` images.

    The generator upsamples ``n_up`` times from a base grid of 3 to 7 pixels
    on its short side; the discriminator downsamples until its short side is
    at most 7 pixels. Feature widths double per level below the image
    (``base_width`` at full resolution), capped at ``max_width``.
    """
    short = min(height, width)
    n_up = max(1, int(math.floor(math.log2(short / 4)))) if short >= 8 else 1
    scale = 2**n_up
    base = (math.ceil(height / scale), math.ceil(width / scale))
    # Every network gets at least two hidden levels: small images add a stride-1 layer.
    extra = max(0, 2 - n_up)
    levels = n_up + extra
    widths = tuple(min(max_width, base_width * 2 ** (levels - 1 - i)) for i in range(levels))
    strides = (1,) * extra + (2,) * (n_up - 1)
    d_strides = []
    h, w = height, width
    while min(h, w) > 7 or not d_strides:
        h, w = h // 2, w // 2
        d_strides.append(2)
    d_strides += [1] * max(0, 2 - len(d_strides))
    d_widths = tuple(min(max_width, base_width * 2**i) for i in range(len(d_strides)))
    return ImagePlan(channels, height, width, n_up, base, widths, strides, d_widths, tuple(d_strides), (h, w))


class ImageGenerator(nn.Module):
    """``(noise, class) -> images (n, C, H, W)`` in [-1, 1] (tanh output)."""

    def __init__(self, layout: ImagePlan, noise_dim: int, n_classes: int, embed_dim: int = 32):
        super().__init__()
        self.layout = layout
        self.n_classes = n_classes
        self.embed = nn.Embedding(max(n_classes, 1), embed_dim) if n_classes else None
        in_dim = noise_dim + (embed_dim if n_classes else 0)
        first = layout.widths[0]
        bh, bw = layout.base
        self.project = nn.Sequential(
            nn.Linear(in_dim, first * bh * bw, bias=False),
            nn.Unflatten(1, (first, bh, bw)),
            nn.BatchNorm2d(first),
            nn.ReLU(inplace=True),
        )
        layers = []
        width = first
        for out, stride in zip(layout.widths[1:], layout.strides):
            if stride == 2:
                conv = nn.ConvTranspose2d(width, out, 4, stride=2, padding=1, bias=False)
            else:
                conv = nn.Conv2d(width, out, 3, padding=1, bias=False)
            layers += [
                conv,
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            width = out
        layers += [nn.ConvTranspose2d(width, layout.channels, 4, stride=2, padding=1), nn.Tanh()]
        self.upsample = nn.Sequential(*layers)

    def forward(self, noise: torch.Tensor, classes: torch.Tensor | None = None) -> torch.Tensor:
        h = noise
        if self.embed is not None:
            h = torch.cat([noise, self.embed(classes)], dim=1)
        images = self.upsample(self.project(h))
        top = (images.shape[2] - self.layout.height) // 2
        left = (images.shape[3] - self.layout.width) // 2
        return images[:, :, top : top + self.layout.height, left : left + self.layout.width]


class ImageDiscriminator(nn.Module):
    """``(images, class) -> one logit per image``; strided convolutions, LeakyReLU(0.2).

    Batch norm follows every convolution but the first, as in DCGAN. With
    ``minibatch_std``, the last feature map gets one more channel: the mean
    over features of their standard deviation across the batch (Karras et al.
    2018). Real and fake images are scored in separate batches, so this
    tells the discriminator when the generator's images all look alike, the
    signature of mode collapse. With ``class_spread`` (and classes), the
    spread is measured among the batch's images of each image's own class:
    a generator that draws one image per class still yields a widely spread
    batch, but no spread within any class.
    """

    def __init__(self, layout: ImagePlan, n_classes: int, minibatch_std: bool = True, class_spread: bool = False):
        super().__init__()
        layers = []
        width = layout.channels
        for i, (out, stride) in enumerate(zip(layout.d_widths, layout.d_strides)):
            if stride == 2:
                layers.append(nn.Conv2d(width, out, 4, stride=2, padding=1, bias=i == 0))
            else:
                layers.append(nn.Conv2d(width, out, 3, padding=1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            width = out
        self.features = nn.Sequential(*layers)
        self.minibatch_std = minibatch_std
        self.class_spread = bool(class_spread and n_classes)
        self.n_classes = n_classes
        feature_dim = (width + int(minibatch_std)) * layout.d_out[0] * layout.d_out[1]
        self.head = nn.Linear(feature_dim, 1)
        self.embed = nn.Embedding(n_classes, feature_dim) if n_classes else None

    def forward(self, images: torch.Tensor, classes: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(images)
        if self.minibatch_std:
            if self.class_spread and classes is not None:
                spread = _class_spread(h, classes, self.n_classes).view(-1, 1, 1, 1)
            else:
                spread = (h.std(dim=0, correction=0).mean() if len(h) > 1 else h.new_zeros(())).expand(len(h), 1, 1, 1)
            h = torch.cat([h, spread.expand(h.shape[0], 1, *h.shape[2:])], dim=1)
        h = h.flatten(1)
        logit = self.head(h).squeeze(1)
        if self.embed is not None:
            logit = logit + (self.embed(classes) * h).sum(dim=1)
        return logit


def _class_spread(h: torch.Tensor, classes: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Per image: the mean over features of their standard deviation across the batch's images of its class.

    A class with one image in the batch gets 0 (real and fake alike).
    """
    flat = h.flatten(1)
    members = nn.functional.one_hot(classes, n_classes).to(flat.dtype)  # (n, K)
    counts = members.sum(0).clamp(min=1.0)[:, None]
    # Rows are picked by multiplying with the one-hot matrix, not by indexing: the backward
    # pass of an index is a scatter-add, whose order of float additions varies between
    # runs on several CPU threads; a matmul's does not.
    mean = members.T @ flat / counts
    variance = members.T @ (flat - members @ mean) ** 2 / counts
    return members @ torch.sqrt(variance + 1e-8).mean(1)
