"""The fidelity gate's two scores on Adult as training goes on: quality and detection AUC.

For each number of epochs, fits the default GANAugmenter with the gate on
(20 % of the rows held out, no threshold) and prints the gate's SDMetrics
quality score and detection ROC AUC, both measured on the held-out rows. It
shows which models each threshold (``min_quality``, ``max_detection_auc``)
would let through.

Usage: python benchmarks/gate_detection.py [--data PATH] [--epochs 2 10 30 100 300] [--seed S]
"""

import argparse
import os
import time
import warnings

import pandas as pd

from ganaugment import GANAugmenter

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "..", "shared", "data", "adult", "adult_train.csv")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT)
    parser.add_argument("--epochs", type=int, nargs="+", default=[2, 10, 30, 100, 300])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    real = pd.read_csv(args.data)
    print("| epochs | quality score | detection AUC | fit seconds (gate included) |")
    print("|---|---|---|---|")
    for epochs in args.epochs:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a short run's collapse warnings: the scores say it
            gan = GANAugmenter(epochs=epochs, validation_fraction=0.2, random_state=args.seed).fit(real)
        seconds = time.perf_counter() - started
        report = gan.fidelity_report_
        print(f"| {epochs} | {report.quality_score:.3f} | {report.detection_auc:.3f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
