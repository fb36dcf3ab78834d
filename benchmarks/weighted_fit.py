"""Row weights on Adult: does a weighted fit generate the weighted population?

Two weightings of adult_train.csv:

* ``fnlwgt``: the census design weights (the column is dropped from the table and used as
  ``sample_weight``);
* ``race``: weights of 1 / (share of the row's race), which make the five races equally
  common, a strong reweighting that also shifts every column correlated with race.

For each weighting, one GANAugmenter fitted with the weights is compared with one fitted
without them (same seed and epochs; the unweighted fit is shared). Each samples as many rows
as the table has. The target is the weighted real table. Printed per column: the total
variation distance to the target for categorical columns, and the gap between means in units
of the target's standard deviation for numeric ones; first for the unweighted real table (how
far ignoring the weights is from the target at all), then for the two fits.

With ``--gate``, the script measures the fidelity gate's view instead: a fifth of the rows is held
out (one seeded draw, the same for every fit), each model is fitted on the rest with the weights
of those rows, samples as many rows as were held out, and ``evaluate`` scores them against the
held-out rows twice: as they are, and weighted with their own weights (what the gate of a
weighted fit does). Printed: SDMetrics quality score and detection AUC of both.

Usage: python benchmarks/weighted_fit.py [--data PATH] [--epochs N] [--seed S] [--gate]
"""

import argparse
import os
import time

import numpy as np
import pandas as pd

from ganaugment import GANAugmenter, evaluate

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "..", "shared", "data", "adult", "adult_train.csv")


def distance(values: pd.Series, target: pd.Series, weights: np.ndarray) -> float:
    """How far ``values`` (unweighted rows) are from ``target`` weighted by ``weights``."""
    if values.dtype == object:
        want = pd.Series(weights, index=target.index).groupby(target).sum() / weights.sum()
        got = values.value_counts(normalize=True)
        levels = want.index.union(got.index)
        return 0.5 * float((want.reindex(levels, fill_value=0) - got.reindex(levels, fill_value=0)).abs().sum())
    mean = np.average(target, weights=weights)
    std = np.sqrt(np.average((target - mean) ** 2, weights=weights))
    return abs(float(values.mean()) - mean) / std


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gate", action="store_true", help="score each fit against held-out rows, weighted or not")
    args = parser.parse_args()
    real = pd.read_csv(args.data)
    table = real.drop(columns="fnlwgt")
    race_share = table["race"].map(table["race"].value_counts(normalize=True))
    weightings = {"fnlwgt": real["fnlwgt"].to_numpy(np.float64), "race": 1.0 / race_share.to_numpy()}
    if args.gate:
        gate_view(table, weightings, args)
        return

    def fit(weights):
        started = time.perf_counter()
        model = GANAugmenter(epochs=args.epochs, random_state=args.seed).fit(table, sample_weight=weights)
        rows = model.sample(len(table), random_state=args.seed)
        return rows, time.perf_counter() - started

    plain, seconds = fit(None)
    print(f"rows {len(table)}, epochs {args.epochs}, seed {args.seed}; unweighted fit {seconds:.1f} s")
    for name, weights in weightings.items():
        weighted, seconds = fit(weights)
        print(f"\n## weighting {name} (weighted fit {seconds:.1f} s)")
        print("| column | real, unweighted | GAN, unweighted fit | GAN, weighted fit |")
        print("|---|---|---|---|")
        summary = {"categorical": [], "numeric": []}
        for column in table.columns:
            target = table[column]
            row = [distance(source[column], target, weights) for source in (table, plain, weighted)]
            summary["categorical" if target.dtype == object else "numeric"].append(row)
            print(f"| {column} | " + " | ".join(f"{v:.4f}" for v in row) + " |")
        for kind, rows in summary.items():
            means = np.mean(rows, axis=0)
            label = "total variation" if kind == "categorical" else "|mean gap| / std"
            print(f"| mean of {len(rows)} {kind} ({label}) | " + " | ".join(f"**{v:.4f}**" for v in means) + " |")


def gate_view(table, weightings, args):
    """Each fit's synthetic rows scored against held-out rows as they are and weighted."""
    order = np.random.default_rng(args.seed).permutation(len(table))
    held, kept = np.sort(order[: len(table) // 5]), np.sort(order[len(table) // 5 :])
    train, holdout = table.iloc[kept].reset_index(drop=True), table.iloc[held].reset_index(drop=True)
    print(f"rows {len(train)} to train, {len(holdout)} held out; epochs {args.epochs}, seed {args.seed}")
    print("| fit | quality, held-out as they are | quality, held-out weighted | detection AUC, as they are "
          "| detection AUC, weighted |")
    print("|---|---|---|---|---|")
    for name, weights in {"unweighted": None, **weightings}.items():
        model = GANAugmenter(epochs=args.epochs, random_state=args.seed)
        model.fit(train, sample_weight=None if weights is None else weights[kept])
        synthetic = model.sample(len(holdout), random_state=args.seed)
        # The unweighted fit is scored against the race-balanced population, the hardest of the two targets.
        against = weightings["race"] if weights is None else weights
        plain = evaluate(holdout, synthetic, random_state=args.seed)
        weighted = evaluate(holdout, synthetic, random_state=args.seed, sample_weight=against[held])
        label = "unweighted (weighted columns: race weights)" if weights is None else f"weighted by {name}"
        print(f"| {label} | {plain.quality_score:.3f} | {weighted.quality_score:.3f} | {plain.detection_auc:.3f} "
              f"| {weighted.detection_auc:.3f} |")


if __name__ == "__main__":
    main()
