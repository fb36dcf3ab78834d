"""Image fidelity that works offline: no downloaded weights.

Inception features need weights from the internet. Here the features come
from a small CNN trained on the real images themselves (a class classifier
when labels are given, otherwise a classifier of which flip was applied to an
image, a label-free task), or from an extractor the user supplies. On those
features:

- the Frechet distance between Gaussians fitted to real and synthetic
  features (the FID recipe with another feature space; compare figures only
  under one extractor);
- precision, recall, density and coverage (Naeem et al. 2020) with k-nearest
  neighbour balls;
- the accuracy with which the classifier recognises the requested class in
  the synthetic images;
- one quality score in [0, 1] built from the last two
  (:func:`image_quality_score`), the score of the image fidelity gate.

Every function returns plain Python values so that reports can embed them.
This module imports no training code.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .._torch import build_module, make_generator
from ..persistence import atomic_write
from .codec import ImageCodec

__all__ = [
    "ImageFeatureExtractor",
    "fit_feature_extractor",
    "frechet_distance",
    "precision_recall_density_coverage",
    "image_fidelity",
    "image_quality_score",
    "save_image_grid",
]


class _SmallCNN(nn.Module):
    """Two conv blocks, pooled to a 4x4 grid, then a 128-wide feature layer."""

    def __init__(self, channels: int, height: int, width: int, n_outputs: int, feature_dim: int = 128):
        super().__init__()
        short = min(height, width)
        self.conv = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2) if short >= 8 else nn.Identity(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2) if short >= 16 else nn.Identity(),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
        )
        self.features = nn.Sequential(nn.Linear(32 * 16, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.conv(x))


def _flip_task(x: torch.Tensor, gen: torch.Generator):
    """Label-free task: which of (none, horizontal, vertical, both) flips was applied."""
    target = torch.randint(4, (len(x),), generator=gen)
    out = x.clone()
    h = (target == 1) | (target == 3)
    v = (target == 2) | (target == 3)
    out[h] = out[h].flip(3)
    out[v] = out[v].flip(2)
    return out, target


class ImageFeatureExtractor:
    """A small CNN trained on real images; its 128-wide hidden layer gives the features.

    Built by :func:`fit_feature_extractor`. ``classes_`` is None when it was
    trained without labels (then :meth:`predict` is unavailable).

    Attributes
    ----------
    codec_ : ImageCodec
        Reads images in the layout and range of the real images.
    classes_ : ndarray or None
    holdout_accuracy_ : float or None
        Class accuracy on the real images held out from its training.
    """

    def __init__(self, codec: ImageCodec, network: _SmallCNN, classes, holdout_accuracy):
        self.codec_ = codec
        self.network_ = network
        self.classes_ = classes
        self.holdout_accuracy_ = holdout_accuracy

    def _run(self, X, fn, chunk: int = 1024) -> np.ndarray:
        images = self.codec_.transform(X)
        self.network_.eval()
        out = []
        with torch.inference_mode():
            for lo in range(0, len(images), chunk):
                out.append(fn(torch.as_tensor(images[lo : lo + chunk])).numpy())
        return np.concatenate(out)

    def features(self, X) -> np.ndarray:
        """Features ``(n, 128)`` of images laid out like the real ones."""
        return self._run(X, self.network_.embed).astype(np.float64)

    def predict(self, X) -> np.ndarray:
        """Class labels of images laid out like the real ones."""
        if self.classes_ is None:
            raise ValueError("This extractor was trained without class labels; it cannot predict classes.")
        return self.classes_[self._run(X, lambda x: self.network_(x).argmax(1))]

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n, n_classes)``, columns in the order of ``classes_``."""
        if self.classes_ is None:
            raise ValueError("This extractor was trained without class labels; it cannot predict classes.")
        return self._run(X, lambda x: torch.softmax(self.network_(x).float(), dim=1)).astype(np.float64)

    def __call__(self, X) -> np.ndarray:
        return self.features(X)


def fit_feature_extractor(
    X, y=None, *, image_shape=None, steps: int = 1000, batch_size: int = 64, holdout: float = 0.2, random_state=0
) -> ImageFeatureExtractor:
    """Train the feature CNN on real images.

    With ``y``, it learns the classes, after holding out a stratified
    ``holdout`` share of the images to measure its accuracy; without ``y`` it
    learns the label-free flip task on all images.

    Parameters
    ----------
    X : array of images, any layout :class:`ImageCodec` accepts
    y : array-like of shape (n,), default=None
    image_shape : tuple, default=None
        Shape of one image when ``X`` holds flat rows.
    steps : int, default=1000
        Adam steps (learning rate 1e-3).
    batch_size : int, default=64
    holdout : float, default=0.2
    random_state : int, default=0

    Returns
    -------
    ImageFeatureExtractor
    """
    codec = ImageCodec(image_shape=image_shape).fit(X)
    images = torch.as_tensor(codec.transform(X))
    n = len(images)
    if n < 2:
        raise ValueError("fit_feature_extractor needs at least 2 images.")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}.")
    seed = int(np.random.default_rng(random_state).integers(2**63 - 1))
    gen = make_generator(seed, torch.device("cpu"))
    rng = np.random.default_rng(seed)
    classes, codes, test = None, None, np.zeros(n, dtype=bool)
    if y is not None:
        y = np.asarray(y).ravel()
        if len(y) != n:
            raise ValueError(f"X has {n} images but y has {len(y)} labels.")
        classes, codes = np.unique(y, return_inverse=True)
        if 0 < holdout < 1:
            for c in range(len(classes)):
                members = np.flatnonzero(codes == c)
                k = int(round(len(members) * holdout))
                if 0 < k < len(members):
                    test[rng.choice(members, size=k, replace=False)] = True
    n_out = 4 if classes is None else len(classes)
    c, h, w = codec.shape_
    network = build_module(lambda: _SmallCNN(c, h, w, n_out), torch.device("cpu"), gen)
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    train_idx = torch.as_tensor(np.flatnonzero(~test))
    targets = None if codes is None else torch.as_tensor(codes, dtype=torch.long)
    network.train()
    for _ in range(steps):
        rows = train_idx[torch.randint(len(train_idx), (min(batch_size, len(train_idx)),), generator=gen)]
        if targets is None:
            batch, target = _flip_task(images[rows], gen)
        else:
            batch, target = images[rows], targets[rows]
        loss = F.cross_entropy(network(batch), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    network.eval()
    accuracy = None
    if test.any():
        with torch.inference_mode():
            predicted = network(images[torch.as_tensor(np.flatnonzero(test))]).argmax(1).numpy()
        accuracy = float(np.mean(predicted == codes[test]))
    return ImageFeatureExtractor(codec, network, classes, accuracy)


def frechet_distance(real_features, synthetic_features) -> float:
    """Frechet distance between Gaussians fitted to two feature sets.

    ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2)``, the
    last trace from the eigenvalues of a symmetric matrix (stable, no complex
    square roots).
    """
    a = np.asarray(real_features, dtype=np.float64)
    b = np.asarray(synthetic_features, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"Feature sets must be 2D with the same width, got {a.shape} and {b.shape}.")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("The Frechet distance needs at least 2 samples on each side.")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    vals, vecs = np.linalg.eigh(cov_a)
    root_a = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    middle = root_a @ cov_b @ root_a
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross)
    return max(value, 0.0)


def _pairwise(a: torch.Tensor, b: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    return torch.cat([torch.cdist(a[i : i + chunk], b) for i in range(0, len(a), chunk)])


def precision_recall_density_coverage(real_features, synthetic_features, nearest_k: int = 5) -> dict:
    """Precision, recall, density and coverage of Naeem et al. (2020).

    Each real sample owns a ball reaching its ``nearest_k``-th nearest real
    neighbour. Precision: share of synthetic samples inside some real ball.
    Recall: share of real samples inside some synthetic ball (same rule on the
    synthetic side). Density: mean number of real balls holding a synthetic
    sample, over ``nearest_k`` (1 when matched, can exceed 1). Coverage: share
    of real balls holding at least one synthetic sample.
    """
    real = torch.as_tensor(np.asarray(real_features, dtype=np.float32))
    fake = torch.as_tensor(np.asarray(synthetic_features, dtype=np.float32))
    if len(real) <= nearest_k or len(fake) <= nearest_k:
        raise ValueError(f"Precision/recall need more than nearest_k={nearest_k} samples on each side.")
    real_real = _pairwise(real, real)
    real_radius = real_real.kthvalue(nearest_k + 1, dim=1).values  # +1 skips the point itself
    del real_real
    fake_fake = _pairwise(fake, fake)
    fake_radius = fake_fake.kthvalue(nearest_k + 1, dim=1).values
    del fake_fake
    real_fake = _pairwise(real, fake)  # (n_real, n_fake)
    # A sample on a ball's boundary counts as inside: with repeated images a radius is 0, and an
    # exact copy of a real image sits at distance 0 from it.
    inside = real_fake <= real_radius[:, None]
    precision = inside.any(dim=0).float().mean().item()
    density = inside.sum(dim=0).float().mean().item() / nearest_k
    recall = (real_fake <= fake_radius[None, :]).any(dim=1).float().mean().item()
    coverage = (real_fake.min(dim=1).values <= real_radius).float().mean().item()
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def _subsample(X, y, limit: int, rng: np.random.Generator):
    if limit is None or len(X) <= limit:
        return X, y
    keep = np.sort(rng.choice(len(X), size=limit, replace=False))
    return np.asarray(X)[keep], None if y is None else np.asarray(y)[keep]


def image_fidelity(
    real,
    synthetic,
    y_real=None,
    y_synthetic=None,
    *,
    extractor=None,
    image_shape=None,
    nearest_k: int = 5,
    max_samples: int | None = 5000,
    random_state=0,
) -> dict:
    """Compare synthetic images with real ones, offline.

    Parameters
    ----------
    real, synthetic : arrays of images in the same layout
        Any layout :class:`ImageCodec` accepts (flat rows need
        ``image_shape``). ``synthetic`` is what :meth:`GANAugmenter.sample`
        returns, so it already has the layout of ``real``.
    y_real : array-like, default=None
        Classes of the real images; the extractor is then a class classifier.
    y_synthetic : array-like, default=None
        Requested classes of the synthetic images; gives ``class_accuracy``.
        Its labels must be classes the classifier knows (those of ``y_real``,
        or the extractor's ``classes_``): a ``ValueError`` names any other.
    extractor : ImageFeatureExtractor or callable, default=None
        ``None`` trains a small CNN on ``real`` (see
        :func:`fit_feature_extractor`). A callable maps images (in the layout
        of ``real``) to a 2D feature array; give it a ``predict`` method to
        get ``class_accuracy``.
    image_shape : tuple, default=None
    nearest_k : int, default=5
    max_samples : int or None, default=5000
        Largest number of images per side used for the feature statistics
        (a random subset beyond it). Class accuracy uses every image.
    random_state : int, default=0

    Returns
    -------
    dict
        ``frechet_distance``, ``precision``, ``recall``, ``density``,
        ``coverage``, ``class_accuracy`` (None without labels or a predicting
        extractor), ``classifier_holdout_accuracy`` (the trained classifier's
        accuracy on real images it did not see, None otherwise),
        ``n_real``, ``n_synthetic``, ``feature_dim``, ``extractor``.
    """
    rng = np.random.default_rng(random_state)
    for name, images in (("real", real), ("synthetic", synthetic)):
        if len(images) < 2:  # before training the CNN
            raise ValueError(
                f"{name} holds {len(images)} image(s); the fidelity metrics need at least 2 real and 2 synthetic "
                "images (a model whose fidelity gate rejected it samples none)."
            )
    if y_synthetic is not None and len(np.asarray(y_synthetic).ravel()) != len(synthetic):
        raise ValueError(f"synthetic has {len(synthetic)} images but y_synthetic has {len(np.ravel(y_synthetic))} labels.")
    if extractor is None and y_real is not None and y_synthetic is not None:
        _check_known_labels(y_synthetic, np.unique(np.asarray(y_real).ravel()))  # before training the CNN
    if extractor is None:
        extractor = fit_feature_extractor(real, y_real, image_shape=image_shape, random_state=random_state)
        described = "small CNN trained on the real images" + (" (classes)" if y_real is not None else " (flip task)")
    elif callable(extractor) or hasattr(extractor, "features"):
        described = type(extractor).__name__
    else:
        raise TypeError("extractor must be an ImageFeatureExtractor, a callable returning features, or None.")
    features = extractor.features if hasattr(extractor, "features") else extractor
    real_s, _ = _subsample(real, None, max_samples, rng)
    fake_s, _ = _subsample(synthetic, None, max_samples, rng)
    real_f, fake_f = np.asarray(features(real_s)), np.asarray(features(fake_s))
    result = {"frechet_distance": frechet_distance(real_f, fake_f)}
    result.update(precision_recall_density_coverage(real_f, fake_f, nearest_k=nearest_k))
    accuracy = None
    if y_synthetic is not None and hasattr(extractor, "predict") and getattr(extractor, "classes_", True) is not None:
        if getattr(extractor, "classes_", None) is not None:
            _check_known_labels(y_synthetic, extractor.classes_)
        predicted = np.asarray(extractor.predict(synthetic))
        accuracy = float(np.mean(predicted == np.asarray(y_synthetic).ravel()))
    result.update(
        {
            "class_accuracy": accuracy,
            "classifier_holdout_accuracy": getattr(extractor, "holdout_accuracy_", None),
            "n_real": int(len(real_s)),
            "n_synthetic": int(len(fake_s)),
            "feature_dim": int(real_f.shape[1]),
            "extractor": described,
        }
    )
    return result


def _check_known_labels(y_synthetic, classes) -> None:
    """Labels of ``y_synthetic`` that the classifier cannot predict would silently count as misses."""
    known = set(np.asarray(classes).tolist())
    unknown = list(dict.fromkeys(label for label in np.asarray(y_synthetic).ravel().tolist() if label not in known))
    if unknown:
        raise ValueError(
            f"y_synthetic holds labels the classifier does not know: {unknown[:10]!r}"
            f"{' ...' if len(unknown) > 10 else ''}; its classes are {np.asarray(classes).tolist()[:20]!r}. "
            "Give y_synthetic the labels of y_real (same values and type, e.g. 3 rather than '3')."
        )


def image_quality_score(figures: dict) -> float:
    """One quality score in [0, 1] from the output of :func:`image_fidelity`.

    Without classes (``class_accuracy`` is None) it is the **coverage**: the
    share of real images whose neighbourhood (the ball reaching their
    ``nearest_k``-th nearest real neighbour in feature space) holds at least
    one synthetic image. With classes it is the smaller of the coverage and
    the **class accuracy** (the share of synthetic images that the
    classifier trained on real images assigns to their requested class):
    ``min(class_accuracy, coverage)``.

    Why these two: coverage falls both when synthetic images are unlike
    the real ones and when they repeat a few modes (mode collapse), and,
    unlike precision and density, it is not fooled by a generator that
    draws a handful of perfect images; class accuracy checks what coverage
    cannot, that an image requested as class ``c`` looks like ``c``. Taking
    the smaller one makes ``min_quality=q`` read as "both reach ``q``". Both
    have a known ceiling: for synthetic images drawn from the real
    distribution, coverage is about ``1 - 2**-nearest_k`` (0.97 for
    ``nearest_k=5``) when both sets have the same size (Naeem et al. 2020),
    and class accuracy is about the classifier's accuracy on unseen real
    images. Coverage rises with the number of synthetic images, so compare
    scores at equal set sizes (the fidelity gate generates as many images,
    of the same classes, as it holds out).
    """
    coverage = float(figures["coverage"])
    accuracy = figures.get("class_accuracy")
    if accuracy is None:
        return coverage
    return min(float(accuracy), coverage)


def save_image_grid(
    images, path, y=None, *, n_per_class: int = 8, image_shape=None, title=None, value_range=None
) -> str:
    """Save a PNG grid: one row per class (or rows of 8 without ``y``).

    One channel is drawn in grey, two as red and green (blue left empty),
    three as RGB; of four channels the first three are drawn as RGB (the
    fourth, often alpha, is left out).

    ``value_range=(low, high)`` are the values drawn black and white. Give
    the training images' range for generated images, for example
    ``(gan.codec_.low_, gan.codec_.high_)``: by default the range is read
    from ``images`` themselves as the image GAN reads it (``uint8`` 0-255;
    values inside [0, 1] or [-1, 1] as that range; otherwise their own
    minimum and maximum, which stretches faint images to full contrast), and
    images that all hold one value are drawn mid grey.

    The file is written to a temporary file in the same folder, then moved
    into place, so a crash never leaves a half-written PNG.

    Returns
    -------
    str : the path written.
    """
    from matplotlib.figure import Figure

    from ..metrics.plots import plain_text

    if value_range is None:
        array = ImageCodec._as_array(images)
        if array.size and array.min() == array.max():
            value_range = (float(array.min()) - 1.0, float(array.min()) + 1.0)  # one value: mid grey
    codec = ImageCodec(image_shape=image_shape).fit(images, value_range=value_range)
    pixels = (codec.transform(images) + 1.0) / 2.0  # (n, C, H, W) in [0, 1]
    if y is None:
        columns = n_per_class
        rows = [np.arange(i, min(i + columns, len(pixels))) for i in range(0, min(len(pixels), 8 * columns), columns)]
        names = [None] * len(rows)
    else:
        y = np.asarray(y).ravel()
        if len(y) != len(pixels):
            raise ValueError(f"{len(pixels)} images but {len(y)} labels.")
        names = list(np.unique(y))
        rows = [np.flatnonzero(y == name)[:n_per_class] for name in names]
        columns = max(len(r) for r in rows)
    c, h, w = codec.shape_
    fig = Figure(figsize=(columns * 0.8 + 0.6, len(rows) * 0.8 + (0.4 if title else 0.1)))
    axes = fig.subplots(len(rows), columns, squeeze=False)
    for r, (members, name) in enumerate(zip(rows, names)):
        for col in range(columns):
            ax = axes[r, col]
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            if col < len(members):
                img = pixels[members[col]]
                if c == 1:
                    ax.imshow(img[0], cmap="gray", vmin=0, vmax=1)
                elif c == 2:  # matplotlib draws 1, 3 or 4 channels: an empty blue channel makes RGB
                    ax.imshow(np.moveaxis(np.concatenate([img, np.zeros_like(img[:1])]), 0, -1), vmin=0, vmax=1)
                else:
                    ax.imshow(np.moveaxis(img[:3], 0, -1), vmin=0, vmax=1)
            if col == 0 and name is not None:
                ax.set_ylabel(plain_text(name), rotation=0, labelpad=12, va="center")
    if title:
        fig.suptitle(title)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with atomic_write(path) as stream:
        fig.savefig(stream, format="png", dpi=100)
    return str(path)
