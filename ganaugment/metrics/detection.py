"""Detection: can a classifier tell synthetic rows from real ones?

A classifier two-sample test. Real rows are labelled 0 and synthetic rows 1,
a histogram gradient boosting classifier (native categorical support) is
cross-validated on them, and the ROC AUC of its out-of-fold predictions is the
score: 0.5 means the two tables cannot be told apart, 1.0 means every
synthetic row is recognised. With weights on the real rows, the classifier
learns, and the AUC counts, each real row in proportion to its weight.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._frames import fit_threads, model_frames, subsample, subsample_rows

__all__ = ["detection_auc"]


def detection_auc(real: pd.DataFrame, synthetic: pd.DataFrame, *, random_state: int = 0,
                  max_rows: int | None = 10000, n_splits: int = 3, sample_weight: np.ndarray | None = None) -> float:
    """Cross-validated ROC AUC of a real-vs-synthetic classifier.

    Parameters
    ----------
    real, synthetic : DataFrame
        Tables with the same columns.
    random_state : int, default=0
        Seeds the subsampling, the folds and the classifier.
    max_rows : int or None, default=10000
        Rows drawn from each table at most (both tables are subsampled to
        keep the test fast on large tables; ``None`` uses all rows).
    n_splits : int, default=3
        Cross-validation folds.
    sample_weight : ndarray of shape (len(real),), default=None
        Non-negative weights of the real rows (checked by the caller). The
        rows of weight 0 are left out before the subsample; the others enter
        the classifier's fit and the AUC with their weights, scaled so that
        the real rows weigh as much in all as they would unweighted.

    Returns
    -------
    auc : float
        0.5 = indistinguishable, 1.0 = perfectly separable. A little below
        0.5 is noise; far below it, the errors are systematic: synthetic rows
        that copy real ones put each row's twin on the other side of every
        fold (an exact copy of the real table scores about 0.1).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(random_state)
    weights = None
    if sample_weight is not None:
        weighed = np.flatnonzero(sample_weight > 0)
        real, weights = real.iloc[weighed], sample_weight[weighed]
    keep = subsample_rows(len(real), max_rows, rng)
    if keep is not None:
        real = real.iloc[keep]
        weights = None if weights is None else weights[keep]
    real = real.reset_index(drop=True)
    synthetic = subsample(synthetic, max_rows, rng)
    n_splits = int(min(n_splits, len(real), len(synthetic)))
    if n_splits < 2:
        what = "real rows of positive weight" if weights is not None else "real"
        raise ValueError(f"detection needs at least 2 {what} and 2 synthetic rows.")
    X_real, X_syn = model_frames([real, synthetic], real.columns)
    X = pd.concat([X_real, X_syn], ignore_index=True)
    y = np.r_[np.zeros(len(X_real), dtype=int), np.ones(len(X_syn), dtype=int)]
    w = None if weights is None else np.r_[weights / weights.mean(), np.ones(len(X_syn))]
    seed = int(rng.integers(2**31 - 1))
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    scores = np.empty(len(X))
    for train, test in folds.split(X, y):
        clf = HistGradientBoostingClassifier(max_iter=100, random_state=seed, categorical_features="from_dtype")
        with fit_threads(len(train)):
            clf.fit(X.iloc[train], y[train], sample_weight=None if w is None else w[train])
            scores[test] = clf.predict_proba(X.iloc[test])[:, 1]
    return float(roc_auc_score(y, scores, sample_weight=w))
