"""Image augmentation on digits: does a GAN help a classifier trained on few images?

Keeps a few real 8x8 digits per class (scikit-learn's load_digits) and, for
each seed, lets GANOverSampler train the class-conditional image GAN on them
and keep the generated digits that its classifier filter places in their
class. A small CNN is then trained twice, on the real digits alone and on real
+ generated digits, and both are scored on the same held-out digits.

The recipe is the one that held up on 200 MNIST digits (docs/benchmarks.md,
low-data augmentation): few generated images (10 per class) that count less
than real ones (sample weight 0.3). More generated images at full weight made
the CNN worse there, and a linear model on pixels gained nothing at all. On
these 8x8 digits the gain is no larger than the CNN's seed-to-seed noise:
-0.33 points with 20 real digits per class, +0.28 with 10 (three seeds each;
docs/benchmarks.md gives the figures and commands).

    python examples/digits_augmentation.py            # full run, 3 seeds
    python examples/digits_augmentation.py --quick    # smoke test
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn import functional as F

from ganaugment import GANAugmenter, GANOverSampler


def split(y, per_class, seed):
    """``per_class`` training digits of every class; all the others are held out."""
    rng = np.random.default_rng(seed)
    train = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)])
    return train, np.setdiff1d(np.arange(len(y)), train)


def cnn_accuracy(images, labels, weights, test_images, test_labels, seed, steps):
    """Train a small CNN on 8x8 digits and return its held-out accuracy.

    Every batch of 64 draws images with probability proportional to their
    weight: a generated digit of weight 0.3 is seen 0.3 times as often as a
    real one.
    """
    torch.manual_seed(seed)
    draws = torch.Generator().manual_seed(seed)
    network = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Flatten(),
        nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Linear(128, 10),
    )
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    x = torch.as_tensor(images[:, None] / 16.0, dtype=torch.float32)
    t = torch.as_tensor(labels, dtype=torch.long)
    p = torch.as_tensor(weights / weights.sum(), dtype=torch.float64)
    for _ in range(steps):
        rows = torch.multinomial(p, 64, replacement=True, generator=draws)
        loss = F.cross_entropy(network(x[rows]), t[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.inference_mode():
        predicted = network(torch.as_tensor(test_images[:, None] / 16.0, dtype=torch.float32)).argmax(1).numpy()
    return float(np.mean(predicted == test_labels))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, a tiny GAN budget and a short CNN run")
    parser.add_argument("--per-class", type=int, default=20, help="real training digits per class (default: 20)")
    parser.add_argument("--synthetic-per-class", type=int, default=10, help="generated digits per class (default: 10)")
    parser.add_argument("--weight", type=float, default=0.3, help="sample weight of a generated digit (default: 0.3)")
    parser.add_argument("--output-dir", default=None, help="accepted for symmetry with the other examples; nothing is written")
    args = parser.parse_args(argv)

    digits = load_digits()
    X, y = digits.images, digits.target
    seeds = [0] if args.quick else [0, 1, 2]
    # The CNN's own training noise is about as large as the effect looked for,
    # so each figure is the mean over three CNN initialisations.
    cnn_seeds, steps = ([0], 100) if args.quick else ([0, 1, 2], 1000)
    real_scores, augmented_scores = [], []
    for seed in seeds:
        train, test = split(y, args.per_class, seed)
        gan = GANAugmenter(image_shape=(8, 8), random_state=seed, **({"epochs": 3} if args.quick else {}))
        sampler = GANOverSampler(
            estimator=gan,
            sampling_strategy={int(c): args.per_class + args.synthetic_per_class for c in np.unique(y)},
            random_state=seed,
        )
        started = time.perf_counter()
        X_res, y_res = sampler.fit_resample(X[train], y[train])
        seconds = time.perf_counter() - started
        n_real = len(train)
        weights = np.concatenate([np.ones(n_real), np.full(len(y_res) - n_real, args.weight)])
        real = np.mean([
            cnn_accuracy(X[train], y[train], np.ones(n_real), X[test], y[test], s, steps) for s in cnn_seeds
        ])
        augmented = np.mean([
            cnn_accuracy(X_res, y_res, weights, X[test], y[test], s, steps) for s in cnn_seeds
        ])
        real_scores.append(real)
        augmented_scores.append(augmented)
        accepted = np.mean(list(sampler.acceptance_rate_.values()))
        print(
            f"seed {seed}: GAN trained and filtered in {seconds:.1f} s ({accepted:.0%} of candidates accepted); "
            f"held-out CNN accuracy real only {real:.3f}, real + {len(y_res) - n_real} generated {augmented:.3f}"
        )
    gaps = np.subtract(augmented_scores, real_scores)
    print(
        f"\n{args.per_class} real digits per class, {len(seeds)} seed(s): "
        f"real only {np.mean(real_scores):.3f} +/- {np.std(real_scores):.3f}, "
        f"real + GAN {np.mean(augmented_scores):.3f} +/- {np.std(augmented_scores):.3f} "
        f"(gap {np.mean(gaps) * 100:+.2f} points, GAN ahead on {int(np.sum(gaps > 0))} of {len(seeds)} seeds)"
    )
    return real_scores, augmented_scores


if __name__ == "__main__":
    main()
