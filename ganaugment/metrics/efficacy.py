"""Machine-learning efficacy: is the synthetic table useful for learning?

Three histogram gradient boosting classifiers predict ``target`` and are
tested on the same holdout rows (real rows the generator never saw): one
trained on the real table, one on the synthetic table, one on both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._frames import fit_threads, model_frames

__all__ = ["ml_efficacy"]


def _scores(clf, X_test, y_test, classes, positive) -> dict:
    from sklearn.metrics import f1_score, roc_auc_score

    pred = clf.predict(X_test)
    proba = clf.predict_proba(X_test)
    out = {}
    if positive is not None:
        out["f1"] = float(f1_score(y_test, pred, pos_label=positive, zero_division=0))
        column = list(clf.classes_).index(positive)
        out["auc"] = float(roc_auc_score(y_test == positive, proba[:, column])) if len(set(y_test)) > 1 else np.nan
    else:
        out["f1"] = float(f1_score(y_test, pred, average="macro", labels=classes, zero_division=0))
        present = [c for c in classes if c in set(y_test)]
        if len(clf.classes_) == len(classes) and len(present) == len(classes):
            out["auc"] = float(roc_auc_score(y_test, proba, multi_class="ovr", labels=list(clf.classes_)))
        else:
            out["auc"] = np.nan
    return out


def ml_efficacy(real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, target,
                *, random_state: int = 0) -> dict:
    """F1 and ROC AUC on ``holdout`` of classifiers trained on real, synthetic and both.

    For a binary target the positive class is the rarer class of the real
    table and F1 is that class's F1; for more classes F1 is the macro average
    and the AUC is one-vs-rest. A training table holding a single class gives
    NaN scores for its classifier.

    Returns
    -------
    scores : dict
        ``{"positive_class", "real": {"f1", "auc"}, "synthetic": {...},
        "real+synthetic": {...}}``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = [c for c in real.columns if c != target]
    labels = [f[target].astype(object) for f in (real, synthetic, holdout)]
    for name, lab in zip(("real", "synthetic", "holdout"), labels):
        if lab.isna().any():
            raise ValueError(f"target column {target!r} has missing values in {name}; efficacy needs labels.")
    y_real, y_syn, y_hold = (np.asarray(lab.astype(str)) for lab in labels)
    classes = sorted(set(y_real))
    counts = pd.Series(y_real).value_counts()
    positive = counts.index[-1] if len(classes) == 2 else None
    X_real, X_syn, X_hold = model_frames([real, synthetic, holdout], features)
    trainings = {
        "real": (X_real, y_real),
        "synthetic": (X_syn, y_syn),
        "real+synthetic": (pd.concat([X_real, X_syn], ignore_index=True), np.r_[y_real, y_syn]),
    }
    out = {"positive_class": positive}
    for name, (X, y) in trainings.items():
        if len(set(y)) < 2:
            out[name] = {"f1": np.nan, "auc": np.nan}
            continue
        clf = HistGradientBoostingClassifier(random_state=random_state, categorical_features="from_dtype")
        with fit_threads(len(X)):
            clf.fit(X, y)
            out[name] = _scores(clf, X_hold, y_hold, classes, positive)
    return out
