"""The demo behind ``ganaugment demo``: fit on a generated table, check it, write it."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

__all__ = ["make_customers", "run_demo"]


def make_customers(n_rows: int = 5000, random_state: int = 0) -> pd.DataFrame:
    """A realistic mixed-type customer table with missing values and a rare class."""
    rng = np.random.default_rng(random_state)
    age = np.clip(rng.normal(41, 13, n_rows), 18, 90).round().astype(np.int64)
    segment = rng.choice(["retail", "small business", "enterprise"], n_rows, p=[0.7, 0.22, 0.08])
    base = np.where(segment == "enterprise", 11.5, np.where(segment == "small business", 10.3, 9.4))
    income = np.exp(rng.normal(base + 0.01 * (age - 40), 0.45))
    income[rng.random(n_rows) < 0.06] = np.nan  # not disclosed
    region = rng.choice(["north", "south", "east", "west"], n_rows, p=[0.4, 0.3, 0.2, 0.1])
    online = rng.random(n_rows) < np.where(age < 35, 0.8, 0.45)
    signup = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 2500, n_rows), unit="D")
    visits = rng.poisson(np.where(online, 9, 3)).astype(np.int64)
    logit = -3.2 + 0.9 * (segment == "enterprise") + 0.04 * (visits - 5) - 0.6 * online
    churned = np.where(rng.random(n_rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame(
        {
            "age": age,
            "segment": pd.Categorical(segment, categories=["retail", "small business", "enterprise"]),
            "income": income.round(2),
            "region": region,
            "online": online,
            "signup_date": signup,
            "visits": visits,
            "churned": churned,
        }
    )


def run_demo(output_dir: str = "ganaugment-demo", *, quick: bool = False, random_state: int = 0, verbose: bool = True) -> dict:
    """Fit GANAugmenter on a generated table, score the synthetic twin, write it to CSV.

    Returns the figures it printed.
    """
    from .augmenter import GANAugmenter
    from .metrics._sdmetrics import quality_and_diagnostic
    from .persistence import atomic_write

    # Make the folder the table goes to before training, not after: a file on the way fails now.
    try:
        os.makedirs(output_dir, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NotADirectoryError(
            f"cannot write the demo table to {output_dir!r}: it, or a folder above it, is a file, not a folder"
        ) from None
    real = make_customers(2000 if quick else 5000, random_state)
    epochs = 5 if quick else 150
    print(f"Demo table: {len(real)} rows, columns {list(real.columns)}")
    start = time.perf_counter()
    model = GANAugmenter(epochs=epochs, random_state=random_state, verbose=verbose).fit(real)
    fit_seconds = time.perf_counter() - start
    synthetic = model.sample(len(real))
    rare = model.sample(200, conditions={"segment": "enterprise"})
    scores = quality_and_diagnostic(real, synthetic)
    path = os.path.join(output_dir, "synthetic_customers.csv")
    with atomic_write(path, "w", newline="", encoding="utf-8") as handle:
        synthetic.to_csv(handle, index=False)
    figures = {
        "fit_seconds": fit_seconds,
        "quality_score": scores["quality_score"],
        "column_shapes": scores["column_shapes"],
        "column_pair_trends": scores["column_pair_trends"],
        "diagnostic_score": scores["diagnostic_score"],
        "conditional_rows_matching": float((rare["segment"] == "enterprise").mean()),
        "path": path,
    }
    print(f"Trained {epochs} epochs in {fit_seconds:.1f} s")
    print(f"SDMetrics quality score    {figures['quality_score']:.3f}")
    print(f"  column shapes            {figures['column_shapes']:.3f}")
    print(f"  column pair trends       {figures['column_pair_trends']:.3f}")
    print(f"SDMetrics diagnostic score {figures['diagnostic_score']:.3f}")
    print(f"Rows conditioned on segment='enterprise' that hold it: {figures['conditional_rows_matching']:.0%}")
    print(f"Synthetic table written to {path}")
    return figures


if __name__ == "__main__":
    run_demo()
