"""Image benchmarks of GANAugmenter's conditional DCGAN; prints its figures.

Sections (run one or several: ``python benchmarks/images.py digits mnist lowdata``):

digits
    ``load_digits`` (1,797 8x8 images, flat rows 0-16): fit time with default
    settings, class accuracy and fidelity of class-conditional samples.
mnist
    MNIST digits from ``../shared/data/mnist`` (10,000; train on the first
    8,000, hold out 2,000): fit time with default settings; the accuracy with
    which a CNN trained on the real training digits recognises the requested
    digit in 2,000 samples (200 per class); Frechet distance and coverage
    beside the real-held-out-vs-real-train figures; a PNG grid per class.
lowdata
    20 real MNIST images per class (200 in all): a classifier trained on them
    alone, against the same classifier trained on them plus 20, 50 or 200 GAN
    images per class, raw (``sample``) or kept by the classifier filter of
    ``GANOverSampler(acceptance="classifier")``; scored on the 2,000 held-out
    digits, mean and spread over 3 seeds.

Figures go to stdout and, as JSON, to ``--out`` (written atomically).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from ganaugment import GANAugmenter, GANOverSampler, image_fidelity, save_image_grid  # noqa: E402
from ganaugment.images.metrics import fit_feature_extractor  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")


def read_idx(path: str) -> np.ndarray:
    """An idx file (the MNIST format): magic, dimension sizes, then raw bytes."""
    with gzip.open(path, "rb") as stream:
        data = stream.read()
    if data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte idx file.")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(folder: str = DATA):
    images = read_idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"))
    return images[:8000], labels[:8000], images[8000:], labels[8000:]


def rounded(report: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in report.items()}


def bench_digits(out_dir: str, seed: int) -> dict:
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = digits.data, digits.target
    started = time.perf_counter()
    gan = GANAugmenter(image_shape=(8, 8), random_state=seed).fit(X, y)
    fit_seconds = time.perf_counter() - started
    X_new, y_new = gan.sample(y={c: 100 for c in range(10)})
    extractor = fit_feature_extractor(X, y, image_shape=(8, 8), random_state=seed)
    fake = image_fidelity(X, X_new, y, y_new, extractor=extractor)
    half = len(X) // 2
    real = image_fidelity(X[:half], X[half:], y[:half], y[half:], extractor=extractor)
    grid = save_image_grid(X_new, os.path.join(out_dir, "digits_samples.png"), y_new, image_shape=(8, 8))
    return {
        "fit_seconds": round(fit_seconds, 1),
        "epochs": len(gan.history_),
        "synthetic": rounded(fake),
        "real_vs_real": rounded(real),
        "grid": grid,
    }


def bench_mnist(out_dir: str, seed: int) -> dict:
    X_train, y_train, X_test, y_test = load_mnist()
    started = time.perf_counter()
    extractor = fit_feature_extractor(X_train, y_train, random_state=seed)
    extractor_seconds = time.perf_counter() - started
    test_accuracy = float(np.mean(extractor.predict(X_test) == y_test))
    print(f"mnist: classifier trained in {extractor_seconds:.0f} s, held-out accuracy {test_accuracy:.4f}", flush=True)
    started = time.perf_counter()
    gan = GANAugmenter(random_state=seed).fit(X_train, y_train)
    fit_seconds = time.perf_counter() - started
    print(f"mnist: GAN fit in {fit_seconds:.0f} s ({len(gan.history_)} epochs)", flush=True)
    X_new, y_new = gan.sample(y={c: 200 for c in range(10)})
    fake = image_fidelity(X_test, X_new, y_test, y_new, extractor=extractor)
    real = image_fidelity(X_test, X_train[:2000], y_test, y_train[:2000], extractor=extractor)
    per_class = {
        int(c): round(float(np.mean(extractor.predict(X_new[y_new == c]) == c)), 3) for c in range(10)
    }
    grid = save_image_grid(X_new, os.path.join(out_dir, "mnist_samples.png"), y_new, n_per_class=10)
    return {
        "fit_seconds": round(fit_seconds, 1),
        "epochs": len(gan.history_),
        "last_epoch": rounded(gan.history_[-1]),
        "classifier_test_accuracy": round(test_accuracy, 4),
        "synthetic_vs_test": rounded(fake),
        "real_train_vs_test": rounded(real),
        "class_accuracy_per_digit": per_class,
        "grid": grid,
    }


def _pixels(X: np.ndarray) -> np.ndarray:
    return X.reshape(len(X), -1).astype(np.float64) / 255.0


def _classifier_accuracy(X, y, X_test, y_test) -> float:
    model = LogisticRegression(C=0.1, max_iter=500).fit(_pixels(X), y)
    return float(model.score(_pixels(X_test), y_test))


def _first_per_class(X, y, n: int):
    rows = np.concatenate([np.flatnonzero(y == c)[:n] for c in np.unique(y)])
    return X[rows], y[rows]


def bench_lowdata(out_dir: str, seeds=(0, 1, 2), per_class: int = 20, ratios=(20, 50, 200), epochs=None) -> dict:
    """Real-only against real + GAN images, unfiltered and filtered, at several synthetic counts per class.

    One GAN per seed, trained by ``GANOverSampler`` (its defaults: at most 1,000 generator
    steps) with ``acceptance="classifier"``, asked for ``max(ratios)`` images per class. The
    filtered images at a smaller count are the first ones of each class in that output (the
    filter keeps candidates in generation order); the unfiltered images are drawn from the
    same fitted GAN with ``sample``.
    """
    X_all, y_all, X_test, y_test = load_mnist()
    top = max(ratios)
    runs = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        keep = np.concatenate([rng.choice(np.flatnonzero(y_all == c), per_class, replace=False) for c in range(10)])
        X, y = X_all[keep], y_all[keep]
        started = time.perf_counter()
        sampler = GANOverSampler(
            estimator=GANAugmenter(random_state=seed),
            sampling_strategy={c: per_class + top for c in range(10)},
            epochs=epochs,
            acceptance="classifier",
            random_state=seed,
        )
        X_res, y_res = sampler.fit_resample(X, y)
        fit_seconds = time.perf_counter() - started
        filtered = (X_res[len(X):], y_res[len(y):])
        raw = sampler.estimator_.sample(y={c: top for c in range(10)})
        run = {"seed": seed, "real_only": round(_classifier_accuracy(X, y, X_test, y_test), 4)}
        for name, (X_syn, y_syn) in (("gan", raw), ("gan_filtered", filtered)):
            for n in ratios:
                X_new, y_new = _first_per_class(X_syn, y_syn, n)
                score = _classifier_accuracy(np.concatenate([X, X_new]), np.concatenate([y, y_new]), X_test, y_test)
                run[f"{name}_{n}"] = round(score, 4)
        run["acceptance_rate"] = round(float(np.mean(list(sampler.acceptance_rate_.values()))), 3)
        run["gan_steps"] = len(sampler.estimator_.history_) * sampler.estimator_._schedule(X)[0]
        run["seconds"] = round(fit_seconds, 1)
        print(f"lowdata: {run}", flush=True)
        runs.append(run)
        if seed == seeds[0]:
            save_image_grid(raw[0], os.path.join(out_dir, "lowdata_samples.png"), raw[1], n_per_class=10)
            save_image_grid(filtered[0], os.path.join(out_dir, "lowdata_filtered.png"), filtered[1], n_per_class=10)
    variants = ["real_only"] + [f"{name}_{n}" for name in ("gan", "gan_filtered") for n in ratios]
    summary = {}
    for key in variants:
        values = np.array([r[key] for r in runs])
        summary[key] = {
            "mean": round(float(values.mean()), 4),
            "std": round(float(values.std(ddof=1)), 4) if len(values) > 1 else 0.0,
        }
    print("lowdata: training set                          accuracy mean +- std (ddof 1)")
    for key in variants:
        label = "200 real" if key == "real_only" else (
            f"200 real + {key.rsplit('_', 1)[1]}/class GAN" + (" (classifier filter)" if "filtered" in key else "")
        )
        print(f"lowdata: {label:<46}{summary[key]['mean']:.4f} +- {summary[key]['std']:.4f}", flush=True)
    return {
        "classifier": "LogisticRegression(C=0.1) on pixels / 255",
        "real_images": per_class * 10,
        "synthetic_per_class": list(ratios),
        "sampler": "GANOverSampler(estimator=GANAugmenter(random_state=seed), acceptance='classifier'), max_steps=1000",
        "epochs": "sampler default" if epochs is None else epochs,
        "runs": runs,
        "summary": summary,
    }


def write_json(path: str, payload: dict) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temp = tempfile.mkstemp(suffix=".json", dir=folder)
    with os.fdopen(handle, "w") as stream:
        json.dump(payload, stream, indent=2, default=str)
    os.replace(temp, path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sections", nargs="*", default=["digits", "mnist", "lowdata"])
    parser.add_argument("--out-dir", default="out/images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lowdata-epochs", type=int, default=None, help="GAN epochs in the low-data runs (default: the sampler's budget of 1,000 steps)")
    args = parser.parse_args(argv)
    results = {}
    for section in args.sections:
        started = time.perf_counter()
        if section == "digits":
            results[section] = bench_digits(args.out_dir, args.seed)
        elif section == "mnist":
            results[section] = bench_mnist(args.out_dir, args.seed)
        elif section == "lowdata":
            results[section] = bench_lowdata(args.out_dir, epochs=args.lowdata_epochs)
        else:
            parser.error(f"unknown section {section!r}")
        results[section]["section_seconds"] = round(time.perf_counter() - started, 1)
        print(section, json.dumps(results[section], indent=1, default=str), flush=True)
        write_json(os.path.join(args.out_dir, "results.json"), results)


if __name__ == "__main__":
    main()
