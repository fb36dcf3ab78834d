"""Seconds of GANOverSampler's classifier filter on one OpenMP thread and on all, idle and on a shared box.

The filter fits gradient boosting six times (5-fold out-of-fold scores of the
real rows, then one fit for the candidates). This times those fits on Adult,
scoring 2,000 candidate rows, with the OpenMP threads of the box and with one,
first on an idle box and then with one other gradient-boosting process busy
beside it (as when folds are fitted in parallel). A run that passes
``--limit`` seconds is stopped and reported as such.

    python benchmarks/filter_threads.py --adult ../shared/data/adult/adult_train.csv
"""

from __future__ import annotations

import argparse
import multiprocessing
import time


def busy(seconds: float) -> None:
    """Fit gradient boosting again and again for ``seconds`` (the other process on the box)."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = make_classification(20000, 20, random_state=0)
    end = time.time() + seconds
    while time.time() < end:
        HistGradientBoostingClassifier(max_iter=50).fit(X, y)


def filter_seconds(path: str, one_thread: bool, result) -> None:
    import warnings

    import numpy as np
    import pandas as pd
    from threadpoolctl import threadpool_limits

    import ganaugment.oversampling as oversampling

    warnings.simplefilter("ignore")
    frame = pd.read_csv(path)
    X, y = frame.drop(columns="income"), frame["income"].astype(str).to_numpy()
    rows = np.random.default_rng(0).choice(len(X), 2000)
    # The filter limits its own threads; to time it on every thread, lift that limit.
    threads = 1 if one_thread else None
    oversampling.fit_threads = lambda n_rows: threadpool_limits(threads, user_api="openmp")
    started = time.perf_counter()
    oversampling._table_class_scores(X, y, X.iloc[rows].reset_index(drop=True), y[rows], 0)
    result.put(time.perf_counter() - started)


def timed(path: str, one_thread: bool, limit: float) -> str:
    result = multiprocessing.Queue()
    worker = multiprocessing.Process(target=filter_seconds, args=(path, one_thread, result))
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        worker.terminate()
        worker.join()
        return f"> {limit:.0f} s (stopped)"
    return f"{result.get():.1f} s"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adult", required=True, help="adult_train.csv")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds before a run is stopped")
    args = parser.parse_args(argv)
    for load in ("idle", "one other process"):
        other = None
        if load != "idle":
            other = multiprocessing.Process(target=busy, args=(4 * args.limit,), daemon=True)
            other.start()
            time.sleep(3)
        for one_thread in (True, False):
            label = "one thread" if one_thread else "all threads"
            print(f"{load:18s} {label:12s} {timed(args.adult, one_thread, args.limit)}", flush=True)
        if other is not None:
            other.terminate()
            other.join()


if __name__ == "__main__":
    main()
