"""Image augmentation on digits: does a GAN help a classifier trained on few images?

Keeps a few real 8x8 digits per class (scikit-learn's load_digits), fits the
class-conditional image GAN of GANAugmenter on them, and compares a classifier
trained on the real images alone with one trained on real + generated images,
on the same held-out digits.

    python examples/digits_augmentation.py            # full run
    python examples/digits_augmentation.py --quick    # smoke test
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

from ganaugment import GANAugmenter


def split(X, y, per_class, seed):
    rng = np.random.default_rng(seed)
    train = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)])
    test = np.setdiff1d(np.arange(len(y)), train)
    return train, test


def accuracy(X_train, y_train, X_test, y_test):
    model = LogisticRegression(max_iter=2000).fit(X_train / 16.0, y_train)
    return accuracy_score(y_test, model.predict(X_test / 16.0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed and a tiny GAN budget")
    parser.add_argument("--per-class", type=int, default=20, help="real training images per digit (default: 20)")
    parser.add_argument("--synthetic-per-class", type=int, default=100, help="generated images per digit (default: 100)")
    parser.add_argument("--output-dir", default=None, help="accepted for symmetry with the other examples; nothing is written")
    args = parser.parse_args(argv)

    digits = load_digits()
    X, y = digits.data, digits.target
    seeds = [0] if args.quick else [0, 1, 2]
    real_scores, augmented_scores = [], []
    for seed in seeds:
        train, test = split(X, y, args.per_class, seed)
        params = {"image_shape": (8, 8), "random_state": seed}
        if args.quick:
            params["epochs"] = 3
        started = time.perf_counter()
        gan = GANAugmenter(**params).fit(X[train], y[train])
        seconds = time.perf_counter() - started
        counts = {int(c): args.synthetic_per_class for c in np.unique(y)}
        X_fake, y_fake = gan.sample(y=counts)
        X_fake = np.asarray(X_fake, dtype=np.float64).reshape(len(y_fake), -1)
        real = accuracy(X[train], y[train], X[test], y[test])
        augmented = accuracy(np.vstack([X[train], X_fake]), np.concatenate([y[train], y_fake]), X[test], y[test])
        real_scores.append(real)
        augmented_scores.append(augmented)
        print(
            f"seed {seed}: GAN fitted in {seconds:.1f} s; held-out accuracy real only {real:.3f}, "
            f"real + {len(y_fake)} generated {augmented:.3f}"
        )
    print(
        f"\n{args.per_class} real digits per class, {len(seeds)} seed(s): "
        f"real only {np.mean(real_scores):.3f} +/- {np.std(real_scores):.3f}, "
        f"real + GAN {np.mean(augmented_scores):.3f} +/- {np.std(augmented_scores):.3f}"
    )
    return real_scores, augmented_scores


if __name__ == "__main__":
    main()
