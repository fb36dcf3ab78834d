"""GANAugmenter against CTGAN on Adult, same machine, same epochs and batch size.

Each model runs in its own subprocess (so peak memory is its own) and prints:
encoder fit + transform time, time per epoch, total fit time, time to sample
100,000 rows (median of three calls, and the first call), peak RSS, SDMetrics
QualityReport, and the F1 of '>50K' of a HistGradientBoosting classifier
trained on 32,561 synthetic rows and tested on the real adult_test.csv
(train-on-synthetic / test-on-real).

CTGAN is installed only for this benchmark (never a dependency):
    python3 -m venv /tmp/ctgan-venv && /tmp/ctgan-venv/bin/pip install torch==2.13.0 \\
        && /tmp/ctgan-venv/bin/pip install ctgan==0.12.1 'pandas<3' sdmetrics tqdm safetensors matplotlib imbalanced-learn
    PYTHONPATH=. /tmp/ctgan-venv/bin/python benchmarks/vs_ctgan.py --epochs 30

Usage: vs_ctgan.py [--epochs N] [--batch-size B] [--models ctgan ganaugment] [--data-dir DIR]
                   [--gan JSON]

``--gan`` passes further GANAugmenter parameters (a JSON object, e.g.
'{"generator_dim": [64, 64], "noise_dim": 32}', or '{"random_state": 1}' for
another seed than 0); the printed row names them.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, "..", "..", "shared", "data", "adult")
DISCRETE = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "sex",
            "native-country", "income"]


def tstr_f1(synthetic: pd.DataFrame, test: pd.DataFrame) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import f1_score

    def split(frame):
        X = frame.drop(columns="income").copy()
        for c in X.columns:
            if X[c].dtype == object:
                X[c] = X[c].astype(pd.CategoricalDtype(sorted(set(test[c]) | set(synthetic[c]))))
        return X, (frame["income"] == ">50K").astype(int)

    X_train, y_train = split(synthetic)
    X_test, y_test = split(test)
    if y_train.nunique() < 2:
        return 0.0
    clf = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    clf.fit(X_train, y_train)
    return float(f1_score(y_test, clf.predict(X_test)))


def time_sampling(model, n_rows: int = 100_000, repeats: int = 3) -> tuple:
    """Seconds of the first ``model.sample(n_rows)`` call and the median of ``repeats`` calls.

    The first call in a process also pays for thread pools and first allocations.
    """
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.sample(n_rows)
        seconds.append(time.perf_counter() - start)
    return seconds[0], float(np.median(seconds))


def run_ctgan(train, epochs, batch_size):
    import torch
    from ctgan import CTGAN
    from ctgan.data_transformer import DataTransformer

    torch.manual_seed(0)  # CTGAN draws from torch's global generator; seed it for a fair repeatable run.
    start = time.perf_counter()
    transformer = DataTransformer()
    transformer.fit(train, DISCRETE)
    transformer.transform(train)
    encode = time.perf_counter() - start
    model = CTGAN(epochs=epochs, batch_size=batch_size, verbose=False)
    start = time.perf_counter()
    model.fit(train, DISCRETE)
    fit = time.perf_counter() - start
    train_only = fit - encode  # CTGAN.fit repeats the same preprocessing internally
    return model.sample(len(train)), encode, train_only / epochs, fit, time_sampling(model)


def run_ganaugment(train, epochs, batch_size, params=None):
    from ganaugment import GANAugmenter

    model = GANAugmenter(**{"epochs": epochs, "batch_size": batch_size, "random_state": 0, **(params or {})})
    start = time.perf_counter()
    model.fit(train)
    fit = time.perf_counter() - start
    per_epoch = float(np.mean([h["seconds"] for h in model.history_]))
    return model.sample(len(train)), model.encode_seconds_, per_epoch, fit, time_sampling(model)


def one(name, data_dir, epochs, batch_size, params=None):
    from ganaugment.metrics._sdmetrics import quality_and_diagnostic

    train = pd.read_csv(os.path.join(data_dir, "adult_train.csv"))
    test = pd.read_csv(os.path.join(data_dir, "adult_test.csv"))
    if name == "ctgan":
        synthetic, encode, per_epoch, fit, (first_sample, sample) = run_ctgan(train, epochs, batch_size)
    else:
        synthetic, encode, per_epoch, fit, (first_sample, sample) = run_ganaugment(train, epochs, batch_size, params)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    scores = quality_and_diagnostic(train, synthetic)
    print(json.dumps({
        "model": name, "epochs": epochs, "batch_size": batch_size, "params": json.dumps(params or {}),
        "encode_s": round(encode, 2), "s_per_epoch": round(per_epoch, 3), "fit_s": round(fit, 1),
        "sample_100k_s": round(sample, 2), "sample_100k_first_s": round(first_sample, 2), "peak_rss_mib": round(peak_mib),
        "quality": round(scores["quality_score"], 4), "diagnostic": round(scores["diagnostic_score"], 4),
        "tstr_f1": round(tstr_f1(synthetic, test), 3),
    }), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--models", nargs="+", default=["ctgan", "ganaugment"])
    parser.add_argument("--data-dir", default=DATA_DIR)
    parser.add_argument("--gan", type=json.loads, default={}, help="further GANAugmenter parameters, a JSON object")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.data_dir, args.epochs, args.batch_size, args.gan)
        return
    import torch

    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}")
    rows = []
    for name in args.models:
        out = subprocess.run(
            [sys.executable, __file__, "--one", name, "--epochs", str(args.epochs),
             "--batch-size", str(args.batch_size), "--data-dir", args.data_dir, "--gan", json.dumps(args.gan)],
            capture_output=True, text=True, check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows).set_index("model").T
    try:
        print(table.to_markdown())
    except ImportError:  # to_markdown needs the optional 'tabulate' package
        print(table.to_string())
    if {"ctgan", "ganaugment"} <= set(table.columns):
        c, g = table["ctgan"], table["ganaugment"]
        print(f"fit time ratio ganaugment/ctgan: {g['fit_s'] / c['fit_s']:.2f}")
        print(f"sampling speed-up: {c['sample_100k_s'] / g['sample_100k_s']:.1f}x")


if __name__ == "__main__":
    main()
