"""Adult: default GANAugmenter, SDMetrics quality/diagnostic, schema and '?' rates.

Usage: python benchmarks/adult_quality.py [--data PATH] [--epochs N] [--seed S] [--device D]
                                         [--uncalibrated] [--out DIR]
Prints one line per figure; the acceptance targets are in issue 2.
--uncalibrated also scores rows from the same fitted model with the
calibration offsets set to zero (the generator as trained); --out writes the
synthetic tables there as CSV.
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
    parser.add_argument("--device", default="auto")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--uncalibrated", action="store_true", help="also score the uncalibrated generator")
    parser.add_argument("--out", default=None, help="folder for the synthetic CSV files")
    parser.add_argument("--time-calibration", action="store_true", help="print the seconds calibration took")
    args = parser.parse_args()
    real = pd.read_csv(args.data)
    params = {"random_state": args.seed, "verbose": args.verbose, "device": args.device}
    if args.epochs is not None:
        params["epochs"] = args.epochs
    print(f"torch threads: {torch.get_num_threads()}, rows: {len(real)}, params: {params}")
    model = GANAugmenter(**params)
    if args.time_calibration:
        _time_calibration()
    start = time.perf_counter()
    model.fit(real)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    synthetic = model.sample(len(real))
    sample_seconds = time.perf_counter() - start
    print(f"fit_seconds {fit_seconds:.1f}")
    print(f"encode_seconds {model.encode_seconds_:.2f}")
    print(f"epochs {len(model.history_)} seconds_per_epoch {np.mean([h['seconds'] for h in model.history_]):.2f}")
    print(f"sample_seconds_{len(real)} {sample_seconds:.2f}")
    tables = {"calibrated" if model.calibrate else "default": synthetic}
    if args.uncalibrated:
        model.model_.logit_bias[:] = 0.0
        tables["uncalibrated"] = model.sample(len(real))
    for name, table in tables.items():
        report(real, table, name)
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            table.to_csv(os.path.join(args.out, f"adult_seed{args.seed}_{name}.csv"), index=False)
    last = model.history_[-1]
    print(f"final_epoch d_real {last['d_real']:.3f} d_fake {last['d_fake']:.3f}")


def _time_calibration():
    """Wrap TabularGAN.calibrate so that each call prints its wall time."""
    from ganaugment.tabular.model import TabularGAN

    calibrate = TabularGAN.calibrate

    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        calibrate(self, *args, **kwargs)
        print(f"calibration_seconds {time.perf_counter() - start:.2f}")

    TabularGAN.calibrate = timed


def report(real, synthetic, name):
    """Print the issue-2 figures of one synthetic table."""
    print(f"--- {name}")
    try:
        scores = quality_and_diagnostic(real, synthetic)
    except ImportError as exc:  # a bare GPU box may lack sdmetrics; score the CSVs elsewhere
        print(f"quality_score unavailable ({exc})")
    else:
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


if __name__ == "__main__":
    main()
