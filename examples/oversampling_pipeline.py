"""GANOverSampler inside an imbalanced-learn pipeline, under stratified cross-validation.

Compares, on an imbalanced table, a gradient-boosting classifier trained on:
no resampling, RandomOverSampler, SMOTE, and GANOverSampler. The sampler sits in
the pipeline, so synthetic rows only ever enter the training folds.

    python examples/oversampling_pipeline.py            # full run (minutes)
    python examples/oversampling_pipeline.py --quick    # smoke test (seconds)

Data: the Pima diabetes table when it is found (--data), otherwise a generated
imbalanced table, so the example runs anywhere.
"""

import argparse
import os
import time

import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_validate

from ganaugment import GANOverSampler

HERE = os.path.dirname(os.path.abspath(__file__))
PIMA = os.path.join(HERE, "..", "..", "shared", "data", "pima_diabetes", "diabetes.csv")


def load_data(path, quick):
    if path and os.path.exists(path):
        frame = pd.read_csv(path)
        X, y = frame.drop(columns=["Outcome"]), frame["Outcome"].to_numpy()
        name = "Pima diabetes"
    else:
        X, y = make_classification(
            n_samples=1500, n_features=8, n_informative=5, weights=[0.92], flip_y=0.01, random_state=0
        )
        X = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        name = "generated (make_classification, 8% minority)"
    if quick:
        keep = np.random.default_rng(0).permutation(len(y))[:400]
        X, y = X.iloc[keep].reset_index(drop=True), y[keep]
    return name, X, y


def gan_sampler(quick):
    sampler = GANOverSampler(sampling_strategy="auto", random_state=0)
    if quick:
        # A tiny budget: two epochs of small networks (the GAN's own hyperparameters are estimator__<name>).
        sampler.set_params(
            epochs=2, estimator__batch_size=100, estimator__generator_dim=(32,),
            estimator__discriminator_dim=(32,), estimator__noise_dim=16, estimator__pac=4,
        )
    return sampler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small sample, 2 folds and a tiny GAN budget")
    parser.add_argument("--data", default=PIMA, help="CSV with an 'Outcome' class column (default: Pima diabetes)")
    parser.add_argument("--output-dir", default=None, help="accepted for symmetry with the other examples; nothing is written")
    args = parser.parse_args(argv)

    name, X, y = load_data(args.data, args.quick)
    classes, counts = np.unique(y, return_counts=True)
    print(f"Data: {name}, {len(y)} rows, class counts {dict(zip(classes.tolist(), counts.tolist()))}")
    samplers = {
        "no resampling": None,
        "RandomOverSampler": RandomOverSampler(random_state=0),
        "SMOTE": SMOTE(random_state=0),
        "GANOverSampler": gan_sampler(args.quick),
    }
    cv = StratifiedKFold(n_splits=2 if args.quick else 5, shuffle=True, random_state=0)
    scoring = {"minority F1": "f1", "average precision": "average_precision", "balanced accuracy": "balanced_accuracy"}
    rows = []
    for label, sampler in samplers.items():
        classifier = HistGradientBoostingClassifier(random_state=0, max_iter=50 if args.quick else 200)
        steps = [classifier] if sampler is None else [sampler, classifier]
        started = time.perf_counter()
        scores = cross_validate(make_pipeline(*steps), X, y, cv=cv, scoring=scoring)
        row = {"method": label}
        for key in scoring:
            values = scores[f"test_{key}"]
            row[key] = f"{values.mean():.3f} +/- {values.std():.3f}"
        row["seconds per fold"] = f"{(time.perf_counter() - started) / cv.get_n_splits():.1f}"
        rows.append(row)
    table = pd.DataFrame(rows).set_index("method")
    print(f"\nStratified {cv.get_n_splits()}-fold cross-validation, HistGradientBoostingClassifier:")
    print(table.to_string())
    return table


if __name__ == "__main__":
    main()
