"""Adult: default GANAugmenter, SDMetrics quality/diagnostic, schema and '?' rates.

Usage: python benchmarks/adult_quality.py [--data PATH] [--epochs N] [--seed S]
Prints one line per figure; the acceptance targets are in issue 2.
"""

import argparse
import os
import time

import numpy as np
import pandas as pd
import torch

from ganaugment import GANAugmenter
from ganaugment.metrics._sdmetrics import quality_and_diagnostic

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "..", "shared", "data", "adult", "adult_train.csv")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=DEFAULT)
    parser.add_argument("--epochs", type=int, default=None, help="override the default epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    real = pd.read_csv(args.data)
    params = {"random_state": args.seed, "verbose": args.verbose}
    if args.epochs is not None:
        params["epochs"] = args.epochs
    print(f"torch threads: {torch.get_num_threads()}, rows: {len(real)}, params: {params}")
    model = GANAugmenter(**params)
    start = time.perf_counter()
    model.fit(real)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    synthetic = model.sample(len(real))
    sample_seconds = time.perf_counter() - start
    scores = quality_and_diagnostic(real, synthetic)
    print(f"fit_seconds {fit_seconds:.1f}")
    print(f"encode_seconds {model.encode_seconds_:.2f}")
    print(f"epochs {len(model.history_)} seconds_per_epoch {np.mean([h['seconds'] for h in model.history_]):.2f}")
    print(f"sample_seconds_{len(real)} {sample_seconds:.2f}")
    print(f"quality_score {scores['quality_score']:.4f}")
    print(f"column_shapes {scores['column_shapes']:.4f}")
    print(f"column_pair_trends {scores['column_pair_trends']:.4f}")
    print(f"diagnostic_score {scores['diagnostic_score']:.4f} {scores['diagnostic_properties']}")
    ints = [c for c in real.columns if str(real[c].dtype) == "int64"]
    print("integer_columns_int64", all(str(synthetic[c].dtype) == "int64" for c in ints))
    for column in ("workclass", "occupation", "native-country"):
        r = (real[column] == "?").mean() * 100
        s = (synthetic[column] == "?").mean() * 100
        print(f"question_mark_rate {column} real {r:.2f}% synthetic {s:.2f}% gap {abs(r - s):.2f} points")
    last = model.history_[-1]
    print(f"final_epoch d_real {last['d_real']:.3f} d_fake {last['d_fake']:.3f}")


if __name__ == "__main__":
    main()
