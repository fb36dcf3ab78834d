"""A synthetic release of the Adult census table, with its fidelity report.

Fits GANAugmenter on adult_train, generates a synthetic table of the same size,
and scores it with ganaugment.evaluate against the real training rows, using
adult_test as the holdout for privacy (distance to closest record) and
machine-learning efficacy (train on synthetic, test on real) on 'income'.

    python examples/adult_release.py            # full run (minutes; default settings)
    python examples/adult_release.py --quick    # smoke test (a sample of rows, a tiny GAN)

Writes the synthetic table and report.html to --output-dir.
"""

import argparse
import os
import time

import pandas as pd

from ganaugment import GANAugmenter, evaluate

HERE = os.path.dirname(os.path.abspath(__file__))
ADULT = os.path.join(HERE, "..", "..", "shared", "data", "adult")


def load(folder, quick):
    train = pd.read_csv(os.path.join(folder, "adult_train.csv"))
    holdout = pd.read_csv(os.path.join(folder, "adult_test.csv"))
    holdout["income"] = holdout["income"].str.rstrip(".")  # some copies end test labels with '.'
    if quick:
        train = train.sample(1000, random_state=0).reset_index(drop=True)
        holdout = holdout.sample(500, random_state=0).reset_index(drop=True)
    return train, holdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 rows and a tiny GAN budget")
    parser.add_argument("--data", default=ADULT, help="folder holding adult_train.csv and adult_test.csv")
    parser.add_argument("--output-dir", default="adult-release", help="where to write the table and the report")
    args = parser.parse_args(argv)

    train, holdout = load(args.data, args.quick)
    print(f"Adult: {len(train)} training rows, {len(holdout)} holdout rows, {train.shape[1]} columns")
    params = {"random_state": 0, "verbose": not args.quick}
    if args.quick:
        params.update(epochs=3, batch_size=200, generator_dim=(64,), discriminator_dim=(64,), noise_dim=32, pac=4)
    started = time.perf_counter()
    gan = GANAugmenter(**params).fit(train)
    print(f"Fitted in {time.perf_counter() - started:.1f} s ({len(gan.history_)} epochs)")
    synthetic = gan.sample(len(train))

    report = evaluate(train, synthetic, holdout=holdout, target="income")
    print(report.summary())

    os.makedirs(args.output_dir, exist_ok=True)
    table_path = os.path.join(args.output_dir, "adult_synthetic.csv")
    tmp = table_path + ".tmp"
    synthetic.to_csv(tmp, index=False)
    os.replace(tmp, table_path)
    report_path = os.path.join(args.output_dir, "report.html")
    report.save(report_path)
    gan.save(os.path.join(args.output_dir, "adult.gan"), metadata={"data": "adult_train.csv"})
    print(f"Synthetic table: {table_path}")
    print(f"Fidelity report: {report_path}")
    return report


if __name__ == "__main__":
    main()
