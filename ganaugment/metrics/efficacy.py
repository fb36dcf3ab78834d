"""Machine-learning efficacy: is the synthetic table useful for learning?

Three histogram gradient boosting classifiers predict ``target`` and are
tested on the same holdout rows (real rows the generator never saw): one
trained on the real table, one on the synthetic table, one on both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._frames import check_class_target, fit_threads, model_frames

__all__ = ["ml_efficacy"]


def _label_text(labels: pd.Series) -> np.ndarray:
    """Target labels as text, a whole float written as its integer (1.0 -> "1").

    A target of integers in one table and floats in another (a generator's
    output, a CSV round trip) then holds the same classes in both.
    """
    def text(value):
        if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
            return str(int(value))
        return str(value)

    return np.asarray([text(v) for v in labels], dtype=str)


def _class_probabilities(clf, X, labels: list) -> np.ndarray:
    """Predicted probability of each of ``labels``; 0 for a label the classifier never saw."""
    proba = clf.predict_proba(X)
    column = {c: i for i, c in enumerate(clf.classes_)}
    return np.column_stack([proba[:, column[c]] if c in column else np.zeros(len(proba)) for c in labels])


def _scores(clf, X_test, y_test, classes, positive, weight=None) -> dict:
    from sklearn.metrics import f1_score, roc_auc_score

    pred = clf.predict(X_test)
    proba = _class_probabilities(clf, X_test, classes)
    out = {}
    if positive is not None:
        # The positive class against all other labels, including labels the real rows do not
        # hold (in the holdout or learned from the synthetic rows): they are negatives.
        is_positive = y_test == positive
        if not is_positive.any():
            return {"f1": np.nan, "auc": np.nan}
        out["f1"] = float(f1_score(is_positive, pred == positive, zero_division=0, sample_weight=weight))
        scores = proba[:, classes.index(positive)]
        out["auc"] = np.nan if is_positive.all() else float(roc_auc_score(is_positive, scores, sample_weight=weight))
    else:
        out["f1"] = float(
            f1_score(y_test, pred, average="macro", labels=classes, zero_division=0, sample_weight=weight)
        )
        # sklearn's one-vs-rest macro AUC, computed per class so that holdout labels beyond the real
        # classes and classes the classifier never saw (probability 0) do not break it.
        if set(classes) <= set(y_test):
            out["auc"] = float(np.mean([
                roc_auc_score(y_test == c, proba[:, i], sample_weight=weight) for i, c in enumerate(classes)
            ]))
        else:
            out["auc"] = np.nan
    return out


def _listed(labels, limit: int = 5) -> str:
    labels = sorted(str(c) for c in labels)
    shown = ", ".join(repr(c) for c in labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def _notes(target, classes, positive, trained: dict, y_syn, y_hold) -> list:
    """What the efficacy scores cannot show by themselves: classes unseen, unknown or absent."""
    notes = []
    for name, y in trained.items():
        seen = set(y)
        if len(seen) < 2:
            notes.append(
                f"The {name} rows hold a single {target} class ({_listed(seen)}): no classifier was trained "
                "and its efficacy scores are NaN."
            )
            continue
        unseen = [c for c in ([positive] if positive is not None else classes) if c not in seen]
        if unseen:
            notes.append(
                f"The classifier trained on the {name} rows never saw {target} class(es) {_listed(unseen)}: it "
                "gives them probability 0, never predicts them (F1 0) and ranks them at chance (ROC AUC 0.5)."
            )
    extra = set(y_syn) - set(classes)
    if extra:
        notes.append(
            f"The synthetic rows hold {target} values that the real rows do not ({_listed(extra)}); the "
            "classifiers learn them as classes of their own."
        )
    extra = set(y_hold) - set(classes)
    if extra:
        counted = "count as negatives" if positive is not None else "count against the class predicted for them"
        notes.append(f"Holdout rows labelled {_listed(extra)}, not a class of the real rows, {counted}.")
    if positive is not None and positive not in set(y_hold):
        notes.append(f"The holdout holds no row of {target}={positive!r}: its F1 and ROC AUC are NaN.")
    elif positive is None and not set(classes) <= set(y_hold):
        missing = set(classes) - set(y_hold)
        notes.append(f"The holdout holds no row of {target} class(es) {_listed(missing)}: ROC AUC is NaN.")
    return notes


def ml_efficacy(real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, target,
                *, random_state: int = 0, real_weight=None, holdout_weight=None) -> dict:
    """F1 and ROC AUC on ``holdout`` of classifiers trained on real, synthetic and both.

    The classes are those of the real table. For a binary target the
    positive class is the rarer class of the real table (on a tie, the later
    in sorted order), F1 is that class's F1 and the AUC ranks it against
    every other label; for more classes F1 is the macro average over the
    real classes and the AUC is the one-vs-rest macro average (NaN when the
    holdout lacks a real class). Labels match as text, with whole floats
    written as integers (``1.0`` is class ``1``); a real target holding
    fractional numbers is a regression target and raises a ValueError.

    Labels outside the real classes are scored, not rejected: holdout rows
    with such a label count as negatives of the positive class (for more
    classes, against the class predicted for them), and synthetic rows with
    such a label train a class of their own. A classifier that never saw a
    real class gives it probability 0, so it never predicts it (F1 0) and
    ranks it at chance (AUC 0.5): the honest score of training data that
    lacks the class. A training table holding a single class trains no
    classifier (NaN scores); a holdout without the positive class gives NaN.
    ``notes`` says when any of this happened.

    ``real_weight`` and ``holdout_weight`` (checked weights of the real and
    holdout rows, or None) score for a weighted population: the rarer class
    is the rarer in weight, the classifiers learn the real rows at their
    weights (the synthetic rows, drawn from the population, weigh 1), and
    F1 and AUC weigh the holdout rows; holdout rows of weight 0 are left out.

    Returns
    -------
    scores : dict
        ``{"positive_class", "real": {"f1", "auc"}, "synthetic": {...},
        "real+synthetic": {...}, "notes": [str, ...]}``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = [c for c in real.columns if c != target]
    if holdout_weight is not None:
        weighed = holdout_weight > 0
        holdout, holdout_weight = holdout[weighed].reset_index(drop=True), holdout_weight[weighed]
    labels = [f[target].astype(object) for f in (real, synthetic, holdout)]
    for name, lab in zip(("real", "synthetic", "holdout"), labels):
        if lab.isna().any():
            raise ValueError(f"target column {target!r} has missing values in {name}; efficacy needs labels.")
    check_class_target(real[target], target)
    y_real, y_syn, y_hold = (_label_text(lab) for lab in labels)
    classes = sorted(str(c) for c in set(y_real))
    if len(classes) < 2:
        raise ValueError(
            f"target column {target!r} holds a single class in real ({classes[0]!r}); efficacy needs at least two."
        )
    counts = pd.Series(np.ones(len(y_real)) if real_weight is None else real_weight).groupby(y_real).sum()
    positive = str(sorted(counts.index[counts == counts.min()])[-1]) if len(classes) == 2 else None
    X_real, X_syn, X_hold = model_frames([real, synthetic, holdout], features)
    both = None if real_weight is None else np.r_[real_weight, np.ones(len(y_syn))]
    trainings = {
        "real": (X_real, y_real, real_weight),
        "synthetic": (X_syn, y_syn, None),
        "real+synthetic": (pd.concat([X_real, X_syn], ignore_index=True), np.r_[y_real, y_syn], both),
    }
    out = {"positive_class": positive}
    for name, (X, y, weight) in trainings.items():
        if len(set(y)) < 2:
            out[name] = {"f1": np.nan, "auc": np.nan}
            continue
        clf = HistGradientBoostingClassifier(random_state=random_state, categorical_features="from_dtype")
        with fit_threads(len(X)):
            clf.fit(X, y, sample_weight=weight)
            out[name] = _scores(clf, X_hold, y_hold, classes, positive, holdout_weight)
    out["notes"] = _notes(target, classes, positive, {"real": y_real, "synthetic": y_syn}, y_syn, y_hold)
    return out
