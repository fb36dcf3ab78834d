"""ImageGAN: the class-conditional DCGAN as a problem for :func:`train_gan`.

The training images live on the device as one float tensor ``(n, C, H, W)``
in [-1, 1]; a batch is an index gather.

``diversity > 0`` adds a generator term in the spirit of mode-seeking GANs
(Mao et al. 2019): half of every fake batch is drawn a second time with other
noise; when two images of one class drawn from different noise differ (mean
absolute pixel difference) less than two real images of that class do on
average, the shortfall, relative to the real figure and times ``diversity``,
is added to the generator loss. A generator that ignores its noise pays the
full weight. Without it, 200 MNIST digits (20 per class) gave one image per
class (within-class pixel spread 0.07 against 0.28 for the real digits).

The discriminator can see its inputs through a differentiable augmentation
(DiffAugment, Zhao et al. 2020): every image it sees, real or fake, in its own
step and in the generator's step, goes through the same random policy, each
image with its own random draws from the model's torch generator, so that the
discriminator cannot memorise a small training set while the generator still
learns the un-augmented images. The policy is a random brightness and contrast
(``color``), a translation by up to ``translate`` of the side whose new
borders repeat the edge (``translate_pad="replicate"``) or are blank
(``"background"``, -1), then a blanked square of ``cutout`` of the side at a
random position. The estimator turns on "translation (1/8, blank borders),
cutout (1/2)" for small training sets only (``IMAGE_AUGMENT_BELOW`` in
``fitting``): on 200 MNIST digits the digits came out cleaner; on load_digits,
translation alone (1/8, replicated borders, no diversity term) collapsed the
samples, and with the diversity term still scored worse than without it
(Frechet distance 11.4 against 5.8, coverage 0.60 against 0.75).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .._torch import build_module, draw_rows, make_generator
from ..persistence import ModelFileError, persistable
from .networks import ImageDiscriminator, ImageGenerator, plan

__all__ = ["ImageGAN"]

BACKGROUND = -1.0  # a blank pixel: the low end of the codec's [-1, 1] range


@dataclass
class _Batch:
    real: torch.Tensor
    classes: torch.Tensor | None


@persistable
class ImageGAN:
    """Networks plus the tensors that training and generation gather from.

    Parameters
    ----------
    shape : tuple (C, H, W)
    n_classes : int
        0 for an unconditional model.
    params : dict
        ``noise_dim``, ``base_width`` (feature width at full resolution),
        ``translate`` (largest shift of the discriminator's translation
        augmentation, as a fraction of the image side; 0 turns it off),
        ``translate_pad`` ("replicate" or "background": how the shifted-in
        borders are filled), ``cutout`` (side of the blanked square, as a
        fraction of the image side; 0 turns it off), ``color`` (random
        brightness and contrast),
        ``minibatch_std`` and ``class_spread`` (the discriminator's spread
        channel, over the batch or within each class of it) and ``diversity``
        (weight of the generator's diversity term; 0 turns it off). Keys
        missing from a model saved by an older version mean off (and
        "replicate" for ``translate_pad``).
    device : torch.device
    seed : int
    """

    def __init__(self, shape: tuple, n_classes: int, params: dict, device: torch.device, seed: int, saved=None):
        self.shape = tuple(int(s) for s in shape)
        self.n_classes = int(n_classes)
        self.params = dict(params)
        self.device = device
        self.torch_rng = make_generator(seed, device)
        self.plan = plan(*self.shape, base_width=int(params["base_width"]))
        self.generator = build_module(
            lambda: ImageGenerator(self.plan, int(params["noise_dim"]), self.n_classes), device, self.torch_rng,
            init="dcgan", expect=None if saved is None else saved["generator"],
        )
        self.discriminator = build_module(
            lambda: ImageDiscriminator(
                self.plan, self.n_classes, bool(params.get("minibatch_std", False)), bool(params.get("class_spread", False))
            ), device, self.torch_rng, init="dcgan", expect=None if saved is None else saved["discriminator"],
        )
        # The generator's class embedding sits beside N(0, 1) noise, so it starts at that scale;
        # the discriminator's projection embedding starts small, like its other weights.
        _init_embeddings(self.generator, self.torch_rng, std=1.0)
        _init_embeddings(self.discriminator, self.torch_rng, std=0.02)
        h, w = self.shape[1:]
        self._shift = (round(h * float(params["translate"])), round(w * float(params["translate"])))
        # Translated-in borders repeat the edge pixels ("replicate", the older behaviour) or
        # are blank ("background": -1, the low end of the codec's range).
        self._pad = str(params.get("translate_pad", "replicate"))
        if self._pad not in ("replicate", "background"):
            raise ValueError(f"translate_pad must be 'replicate' or 'background', got {self._pad!r}.")
        self._color = bool(params.get("color", False))
        cutout = float(params.get("cutout", 0.0))
        self._cutout = (round(h * cutout), round(w * cutout))
        self._data = None
        self._classes = None
        self._cum_weight = None
        self.class_frequencies = None  # training share of every class, kept after training

    def to_state(self) -> dict:
        """Networks, class frequencies and generator state as plain values."""
        return {
            "shape": list(self.shape),
            "n_classes": self.n_classes,
            "params": dict(self.params),
            "class_frequencies": self.class_frequencies,
            "generator": dict(self.generator.state_dict()),
            "discriminator": dict(self.discriminator.state_dict()),
            "torch_rng": self.torch_rng,
        }

    @classmethod
    def from_state(cls, state: dict, *, device, context) -> "ImageGAN":
        """Rebuild the model on ``device`` from :meth:`to_state` output."""
        device = torch.device("cpu") if device is None else device
        try:  # the saved weights are checked against the layout before the networks take memory
            model = cls(tuple(state["shape"]), int(state["n_classes"]), state["params"], device, seed=0, saved=state)
            model.generator.load_state_dict(state["generator"], strict=True)
            model.discriminator.load_state_dict(state["discriminator"], strict=True)
        except (RuntimeError, ValueError) as exc:
            raise ModelFileError(str(exc)) from None
        if state.get("class_frequencies") is not None:
            frequencies = np.asarray(state["class_frequencies"], dtype=np.float64)
            if frequencies.shape != (model.n_classes,) or not (
                np.isfinite(frequencies).all() and (frequencies >= 0).all() and frequencies.sum() > 0
            ):
                raise ModelFileError(
                    f"The saved class frequencies {frequencies.tolist()!r:.80} are not {model.n_classes} "
                    "non-negative numbers with a positive sum."
                )
            model.class_frequencies = frequencies
        if state.get("torch_rng") is not None and state["torch_rng"].device == device:
            model.torch_rng = state["torch_rng"]
        model.generator.eval()
        model.discriminator.eval()
        return model

    # ------------------------------------------------------------- data
    def set_training_data(self, images: np.ndarray, class_codes: np.ndarray | None, weights=None) -> None:
        """Move the images to the device; ``weights`` (or None) make training draw each image with
        probability proportional to its weight, and weigh the class frequencies that sampling follows."""
        self._data = torch.as_tensor(images, dtype=torch.float32, device=self.device)
        if class_codes is not None:
            counts = np.bincount(class_codes, weights=weights, minlength=self.n_classes).astype(np.float64)
            self.class_frequencies = counts / counts.sum()
        self._classes = None if class_codes is None else torch.as_tensor(class_codes, dtype=torch.long, device=self.device)
        self._cum_weight = None if weights is None else torch.as_tensor(np.cumsum(weights), device=self.device)
        self._pair_distance = _pair_distance(images, class_codes)

    def release_training_data(self) -> None:
        """Drop the training tensors so a fitted model holds no real images."""
        self._data = None
        self._classes = None
        self._cum_weight = None

    # --------------------------------------------------- trainer protocol
    def draw(self, batch_size: int) -> _Batch:
        rows = draw_rows(len(self._data), batch_size, self.torch_rng, self.device, self._cum_weight)
        classes = None if self._classes is None else self._classes[rows]
        return _Batch(self._data[rows], classes)

    def _noise(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return torch.randn(n, int(self.params["noise_dim"]), generator=gen, device=self.device)

    def generate(self, batch: _Batch):
        n = len(batch.real)
        # With the diversity term, the first half of the batch is drawn a second time with
        # other noise, in the same forward pass (so batch norm treats both draws alike).
        k = n // 2 if float(self.params.get("diversity", 0.0)) > 0.0 else 0
        classes = batch.classes
        if k and classes is not None:
            classes = torch.cat([classes, classes[:k]])
        images = self.generator(self._noise(n + k, self.torch_rng), classes)
        return images[:n], images

    def discriminate(self, x: torch.Tensor, batch: _Batch) -> torch.Tensor:
        if self.discriminator.training:
            x = self.augment(x)
        return self.discriminator(x, batch.classes)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """The discriminator's differentiable augmentation: colour, translation, then cutout (each if on).

        Every image gets its own random offsets, drawn from the model's torch generator;
        real and fake images go through the same policy, in the discriminator's step and
        in the generator's (both call :meth:`discriminate`).
        """
        if self._color:
            x = self._recolor(x)
        if max(self._shift) > 0:
            x = self._translate(x)
        if min(self._cutout) > 0:
            x = self._cut(x)
        return x

    def generator_penalty(self, aux, batch: _Batch) -> torch.Tensor:
        weight = float(self.params.get("diversity", 0.0))
        if weight == 0.0:
            return torch.zeros((), device=self.device)
        n = len(batch.real)
        k = len(aux) - n
        if k <= 0:
            return torch.zeros((), device=self.device)
        distance = (aux[:k] - aux[n:]).abs().mean()
        target = self._pair_distance
        return weight * torch.relu(target - distance) / target

    def _translate(self, x: torch.Tensor) -> torch.Tensor:
        """Shift every image by its own random offset; borders repeat the edge pixels or are blank."""
        n, _, h, w = x.shape
        sh, sw = self._shift
        if self._pad == "replicate":
            padded = F.pad(x, (sw, sw, sh, sh), mode="replicate")
        else:
            padded = F.pad(x, (sw, sw, sh, sh), mode="constant", value=BACKGROUND)
        dy = torch.randint(2 * sh + 1, (n, 1, 1), generator=self.torch_rng, device=x.device)
        dx = torch.randint(2 * sw + 1, (n, 1, 1), generator=self.torch_rng, device=x.device)
        rows = torch.arange(h, device=x.device).view(1, h, 1) + dy
        cols = torch.arange(w, device=x.device).view(1, 1, w) + dx
        index = torch.arange(n, device=x.device).view(n, 1, 1)
        return padded.permute(0, 2, 3, 1)[index, rows, cols].permute(0, 3, 1, 2)

    def _recolor(self, x: torch.Tensor) -> torch.Tensor:
        """Random brightness (a shift of up to 1/4 of the range) and contrast (x0.5 to x1.5 about the image mean)."""
        n = len(x)
        shift = torch.rand(n, 1, 1, 1, generator=self.torch_rng, device=x.device) - 0.5
        scale = torch.rand(n, 1, 1, 1, generator=self.torch_rng, device=x.device) + 0.5
        x = x + shift
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - mean) * scale + mean

    def _cut(self, x: torch.Tensor) -> torch.Tensor:
        """Blank a square of every image (the background value), centred anywhere in the image.

        Near an edge the square is clipped, so less of the image is blanked.
        """
        n, _, h, w = x.shape
        ch, cw = self._cutout
        cy = torch.randint(h, (n, 1, 1), generator=self.torch_rng, device=x.device) - ch // 2
        cx = torch.randint(w, (n, 1, 1), generator=self.torch_rng, device=x.device) - cw // 2
        rows = torch.arange(h, device=x.device).view(1, h, 1) - cy
        cols = torch.arange(w, device=x.device).view(1, 1, w) - cx
        inside = (rows >= 0) & (rows < ch) & (cols >= 0) & (cols < cw)
        return torch.where(inside.unsqueeze(1), torch.full_like(x, BACKGROUND), x)

    # ------------------------------------------------------- generation
    def sample(self, classes: np.ndarray | None, n: int, seed: int, chunk: int = 2048) -> np.ndarray:
        """``n`` images ``(n, C, H, W)`` in [-1, 1]; ``classes`` gives each one's class code."""
        gen = make_generator(seed, self.device)
        out = []
        self.generator.eval()
        with torch.inference_mode():
            for lo in range(0, n, chunk):
                size = min(chunk, n - lo)
                c = None if classes is None else torch.as_tensor(classes[lo : lo + size], dtype=torch.long, device=self.device)
                out.append(self.generator(self._noise(size, gen), c).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, *self.shape), dtype=np.float32)


def _pair_distance(images: np.ndarray, class_codes, limit: int = 10000) -> float:
    """Mean absolute pixel difference between a real image and the next one of its class."""
    images = images[:limit].reshape(min(len(images), limit), -1)
    codes = np.zeros(len(images), dtype=np.int64) if class_codes is None else np.asarray(class_codes)[:limit]
    order = np.argsort(codes, kind="stable")
    same = codes[order][1:] == codes[order][:-1]
    if not same.any():
        return 1.0
    a, b = images[order][:-1][same], images[order][1:][same]
    return max(float(np.abs(a - b).mean()), 1e-3)


def _init_embeddings(module: nn.Module, gen: torch.Generator, std: float) -> None:
    """Embeddings are outside build_module's layer list; draw them from N(0, std)."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Embedding):
                layer.weight.normal_(0.0, std, generator=gen)
