"""Adult: time evaluate() + save("report.html"), and ML efficacy of the synthetic table.

Fits GANAugmenter on adult_train.csv (or reads a synthetic CSV), samples as
many rows, then times ``ganaugment.evaluate(real, synthetic, holdout=adult_test,
target="income", model=gan)`` and ``report.save(...)``. The efficacy figures
are HistGradientBoosting trained on synthetic (and on real) rows, tested on
adult_test.csv, F1 of the ">50K" class.

Usage: PYTHONPATH=. python benchmarks/report_speed.py [--epochs N] [--synthetic CSV] [--out report.html]
       [--seed S] [--min-quality Q]
Target (issue 5): evaluate + save under 60 s on the 32,561-row table.
"""

import argparse
import os
import time

import pandas as pd
import torch

from ganaugment import GANAugmenter, evaluate

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data", "adult")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=DATA)
    parser.add_argument("--epochs", type=int, default=None, help="GAN epochs (default: the model's default)")
    parser.add_argument("--synthetic", default=None, help="read the synthetic table from this CSV instead of fitting")
    parser.add_argument("--save-synthetic", default=None, help="write the sampled synthetic table to this CSV")
    parser.add_argument("--out", default="report.html")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-quality", type=float, default=None, help="turn the fidelity gate on with this threshold")
    args = parser.parse_args()
    real = pd.read_csv(os.path.join(args.data, "adult_train.csv"))
    test = pd.read_csv(os.path.join(args.data, "adult_test.csv"))
    print(f"torch threads {torch.get_num_threads()}, real rows {len(real)}, holdout rows {len(test)}")
    gan = None
    if args.synthetic:
        synthetic = pd.read_csv(args.synthetic)
        print(f"synthetic read from {args.synthetic}")
    else:
        params = {"random_state": args.seed, "min_quality": args.min_quality}
        if args.epochs is not None:
            params["epochs"] = args.epochs
        gan = GANAugmenter(**params)
        start = time.perf_counter()
        gan.fit(real)
        total = time.perf_counter() - start
        print(f"fit_seconds {total:.1f} epochs {len(gan.history_)}")
        print(f"post_fit_checks_seconds {total - gan.fit_seconds_:.1f} (mode-collapse sample + gate)")
        if gan.quality_score_ is not None:
            print(f"gate quality_score_ {gan.quality_score_:.4f} passed {gan.gate_passed_}")
        synthetic = gan.sample(len(real))
        if args.save_synthetic:
            synthetic.to_csv(args.save_synthetic, index=False)
    start = time.perf_counter()
    report = evaluate(real, synthetic, holdout=test, target="income", model=gan, random_state=args.seed)
    evaluate_seconds = time.perf_counter() - start
    start = time.perf_counter()
    report.save(args.out)
    save_seconds = time.perf_counter() - start
    print(f"evaluate_seconds {evaluate_seconds:.1f}")
    print(f"save_seconds {save_seconds:.1f}")
    print(f"evaluate_plus_save_seconds {evaluate_seconds + save_seconds:.1f} (target < 60)")
    print(f"report_bytes {os.path.getsize(args.out)}")
    print(report.summary())
    for name, value in report.scores.items():
        print(f"{name} {value:.4f}")
    for note in report.notes:
        print("note:", note)


if __name__ == "__main__":
    main()
