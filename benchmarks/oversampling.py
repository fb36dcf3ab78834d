"""Oversampling benchmark: GANOverSampler against no resampling, random oversampling and SMOTE.

Protocol (issue 3): stratified 5-fold cross-validation; in every fold the
sampler is fitted on the training part only, and its output trains two
models, HistGradientBoostingClassifier (categorical columns native) and
LogisticRegression (scaled numeric, one-hot categorical). Each sampler is
fitted once per fold and both models train on that same resampled table
(what an imblearn Pipeline per model would do, at half the GAN cost).
Scores on the held-out part: minority-class F1, average precision, balanced
accuracy; wall time per fold for the sampler and for each model.

Usage:
    python benchmarks/oversampling.py                       # everything
    python benchmarks/oversampling.py --datasets ecoli yeast --folds 2
    python benchmarks/oversampling.py --gan 'gan_nofilter={"acceptance": null}'
    python benchmarks/oversampling.py --gan 'gan_small={"estimator": {"generator_dim": [64, 64]}}'
Prints a markdown table per model and a summary against the target
(GAN mean minority F1 >= SMOTE's, and GAN beats SMOTE on at least half of the
tables, for HistGradientBoosting).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE, SMOTENC, RandomOverSampler
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from ganaugment import GANAugmenter, GANOverSampler

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data")
DATASETS = ["pima_diabetes", "ecoli", "yeast", "wine_quality", "mammography", "oil_spill", "adult"]
# Not among the seven: tables kept out of every choice of defaults, to check them on.
# phoneme since the first runs; the other three (other minority classes and the red wines of
# the same files) since the filter study that chose the classifier filter.
HELD_OUT = ["phoneme", "wine_red", "yeast_me1", "ecoli_pp"]
# Development tables for trying a change before it meets the tables: Adult's test file
# (other rows, same task) and the same file with another target (sex, 33 % female). Adult is
# the only table with categorical columns, so a change to how they are learned can only
# be tried here.
DEV = ["adult_test", "adult_sex"]
# Held out later, for a change shaped by the held-out tables above: other minority classes of the
# same files, never used before acceptance_quantile="auto" was guarded against noisy inner scores.
FRESH = ["yeast_me3", "yeast_exc", "wine_white_high", "wine_red_high", "ecoli_om"]
SAMPLERS = ["none", "random", "smote", "gan"]


def load(name: str, root: str):
    """(X, y) with y = 1 for the minority class; identifier columns dropped."""
    if name == "pima_diabetes":
        frame = pd.read_csv(os.path.join(root, name, "diabetes.csv"))
        return frame.drop(columns="Outcome"), (frame["Outcome"] == 1).astype(int).to_numpy()
    if name in ("ecoli", "ecoli_pp", "ecoli_om"):
        frame = pd.read_csv(os.path.join(root, "ecoli", "ecoli.csv"))
        minority = {"ecoli": "imU", "ecoli_pp": "pp", "ecoli_om": "om"}[name]
        return frame.drop(columns=["sequence_name", "class"]), (frame["class"] == minority).astype(int).to_numpy()
    if name in ("yeast", "yeast_me1", "yeast_me3", "yeast_exc"):
        frame = pd.read_csv(os.path.join(root, "yeast", "yeast.csv"))
        minority = {"yeast": "ME2", "yeast_me1": "ME1", "yeast_me3": "ME3", "yeast_exc": "EXC"}[name]
        return frame.drop(columns=["sequence_name", "class"]), (frame["class"] == minority).astype(int).to_numpy()
    if name in ("wine_quality", "wine_red"):
        colour = "white" if name == "wine_quality" else "red"
        frame = pd.read_csv(os.path.join(root, "wine_quality", f"winequality-{colour}.csv"), sep=";")
        return frame.drop(columns="quality"), (frame["quality"] <= 4).astype(int).to_numpy()
    if name in ("wine_white_high", "wine_red_high"):
        colour, best = ("white", 8) if name == "wine_white_high" else ("red", 7)
        frame = pd.read_csv(os.path.join(root, "wine_quality", f"winequality-{colour}.csv"), sep=";")
        return frame.drop(columns="quality"), (frame["quality"] >= best).astype(int).to_numpy()
    if name == "mammography":
        frame = pd.read_csv(os.path.join(root, name, "mammography.csv"))
        return frame.drop(columns="class"), (frame["class"] == 1).astype(int).to_numpy()
    if name == "oil_spill":
        frame = pd.read_csv(os.path.join(root, name, "oil_spill.csv"))
        return frame.drop(columns="target"), (frame["target"] == 1).astype(int).to_numpy()
    if name == "phoneme":
        frame = pd.read_csv(os.path.join(root, name, "phoneme.csv"))
        return frame.drop(columns="class"), (frame["class"] == 1).astype(int).to_numpy()
    if name == "adult":
        frame = pd.read_csv(os.path.join(root, name, "adult_train.csv"))
        return frame.drop(columns="income"), (frame["income"] == ">50K").astype(int).to_numpy()
    if name in ("adult_test", "adult_sex"):
        frame = pd.read_csv(os.path.join(root, "adult", "adult_test.csv"))
        if name == "adult_sex":
            return frame.drop(columns="sex"), (frame["sex"] == "Female").astype(int).to_numpy()
        return frame.drop(columns="income"), (frame["income"] == ">50K").astype(int).to_numpy()
    raise ValueError(f"unknown data set {name!r}; choose from {DATASETS + HELD_OUT + DEV + FRESH}")


def categorical_columns(X: pd.DataFrame) -> list:
    return [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]


def make_sampler(kind: str, X: pd.DataFrame, seed: int, gan_params: dict):
    cats = categorical_columns(X)
    if kind == "none":
        return None
    if kind == "random":
        return RandomOverSampler(random_state=seed)
    if kind == "smote":
        if cats:
            return SMOTENC(categorical_features=[X.columns.get_loc(c) for c in cats], random_state=seed)
        return SMOTE(random_state=seed)
    if kind.startswith("gan"):
        params = dict(gan_params)
        if isinstance(params.get("estimator"), dict):  # the GAN's own settings, from the JSON of --gan
            params["estimator"] = GANAugmenter(**params["estimator"])
        return GANOverSampler(random_state=seed, **params)
    raise ValueError(kind)


def make_models(X: pd.DataFrame, seed: int) -> dict:
    cats = categorical_columns(X)
    nums = [c for c in X.columns if c not in cats]
    hgb_prep = ColumnTransformer(
        [("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan), cats)],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    hgb = make_pipeline(
        hgb_prep,
        HistGradientBoostingClassifier(
            categorical_features=list(range(len(cats))) or None, random_state=seed
        ),
    )
    lr_prep = ColumnTransformer(
        [("num", StandardScaler(), nums), ("cat", OneHotEncoder(handle_unknown="ignore"), cats)]
    )
    lr = make_pipeline(lr_prep, LogisticRegression(max_iter=2000))
    return {"hgb": hgb, "logreg": lr}


def run(args) -> list:
    records = []
    variants = {"gan": {}}
    for spec in args.gan or ():
        label, _, params = spec.partition("=")
        variants[label] = json.loads(params) if params else {}
    if args.skip_default_gan:
        variants.pop("gan")
    samplers = [s for s in args.samplers if s != "gan"] + (list(variants) if "gan" in args.samplers else [])
    for name in args.datasets:
        X, y = load(name, args.data)
        cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=args.seed)
        print(f"# {name}: {X.shape[0]} rows x {X.shape[1]} cols, minority {y.sum()} ({y.mean():.1%})", flush=True)
        for fold, (train, test) in enumerate(cv.split(X, y)):
            if fold >= args.folds:
                break
            X_tr, y_tr = X.iloc[train].reset_index(drop=True), y[train]
            X_te, y_te = X.iloc[test].reset_index(drop=True), y[test]
            runs = [(kind, s) for kind in samplers for s in (args.gan_seeds if kind.startswith("gan") else [0])]
            for kind, gan_seed in runs:
                sampler = make_sampler(kind, X, args.seed + fold + gan_seed, variants.get(kind, {}))
                started = time.perf_counter()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    X_fit, y_fit = (X_tr, y_tr) if sampler is None else sampler.fit_resample(X_tr, y_tr)
                sample_seconds = time.perf_counter() - started
                notes = sorted({type(w.message).__name__ for w in caught if "ganaugment" in str(w.filename)})
                for model_name, model in make_models(X, args.seed).items():
                    started = time.perf_counter()
                    model.fit(X_fit, y_fit)
                    model_seconds = time.perf_counter() - started
                    proba = model.predict_proba(X_te)[:, 1]
                    pred = (proba >= 0.5).astype(int)
                    record = {
                        "dataset": name, "cv_seed": args.seed, "fold": fold, "sampler": kind, "model": model_name,
                        "gan_seed": gan_seed,
                        "f1": f1_score(y_te, pred, pos_label=1, zero_division=0),
                        "ap": average_precision_score(y_te, proba),
                        "bal_acc": balanced_accuracy_score(y_te, pred),
                        "sampler_seconds": sample_seconds, "model_seconds": model_seconds,
                        "notes": notes,
                    }
                    if kind.startswith("gan"):
                        record["acceptance_rate"] = getattr(sampler, "acceptance_rate_", {})
                        record["acceptance_rate"] = {str(k): v for k, v in record["acceptance_rate"].items()}
                    records.append(record)
                    print(
                        f"{name} fold {fold} {kind:>12}{f'+{gan_seed}' if gan_seed else ''} {model_name:>6}: f1 {record['f1']:.3f} ap {record['ap']:.3f} "
                        f"bal_acc {record['bal_acc']:.3f} sampler {sample_seconds:.1f}s model {model_seconds:.1f}s"
                        + (f" {notes}" if notes else ""),
                        flush=True,
                    )
            if args.out:
                with open(args.out, "w") as handle:
                    json.dump(records, handle, indent=1)
    return records


def _mean_and_se(points: np.ndarray) -> tuple:
    """Mean and standard error of the mean (NaN for a single value)."""
    se = points.std(ddof=1) / np.sqrt(len(points)) if len(points) > 1 else float("nan")
    return points.mean(), se


def paired_gaps(gap: pd.Series, label: str) -> str:
    """Per data set, the fold-by-fold F1 gap in points: mean +- standard error, folds ahead.

    ``gap`` is indexed by (data set, fold); a fold's GAN figure is the mean over GAN
    seeds. A gap more than two standard errors from zero is starred. The
    standard error only covers the fold-to-fold spread (5 folds a split, more when
    splits are pooled), so it is a rough guide to what a rerun could move, not a test.
    """
    parts = []
    for dataset, values in gap.groupby(level="dataset", sort=False):
        points = values.to_numpy() * 100
        mean, se = _mean_and_se(points)
        star = "*" if abs(mean) > 2 * se else ""
        parts.append(f"{dataset} {mean:+.1f} +- {se:.1f}{star} ({int((points > 0).sum())}/{len(points)})")
    everything = gap.to_numpy() * 100
    mean, se = _mean_and_se(everything)
    return (
        f"{label}, minority F1 points per data set, mean +- s.e. over folds (folds ahead; * beyond 2 s.e.): "
        + "; ".join(parts)
        + f". All {len(everything)} folds: {mean:+.1f} +- {se:.1f}"
    )


def report(records: list) -> None:
    """Markdown tables of fold means, and the GAN-vs-SMOTE summary on matched folds."""
    frame = pd.DataFrame(records)
    if frame.empty:
        return
    # Runs with other --seed values are other 5-fold splits: a fold is (split seed, fold number).
    # Records written before the split seed was stored came from the default split, seed 0.
    split_seed = frame["cv_seed"].fillna(0).astype(int) if "cv_seed" in frame else pd.Series(0, index=frame.index)
    frame["fold"] = split_seed.astype(str) + ":" + frame["fold"].astype(str)
    n_folds = frame.groupby("dataset")["fold"].nunique().max()
    frame["seconds"] = frame["sampler_seconds"] + frame["model_seconds"]
    order = list(dict.fromkeys(frame["sampler"]))
    for model_name, part in frame.groupby("model", sort=False):
        print(f"\n### {model_name}: mean over {n_folds} folds and the GAN seeds (minority F1 / average precision / balanced accuracy / s per fold)\n")
        # Every fold weighs the same: a fold's GAN figures are first averaged over its GAN seeds
        # (pooled splits may have run different numbers of them).
        per_fold = part.groupby(["dataset", "sampler", "fold"], sort=False)[["f1", "ap", "bal_acc", "seconds"]].mean()
        table = per_fold.reset_index().groupby(["dataset", "sampler"], sort=False).agg(
            f1=("f1", "mean"), ap=("ap", "mean"), bal_acc=("bal_acc", "mean"), seconds=("seconds", "mean"),
            folds=("fold", "nunique"),
        )
        print("| data set | " + " | ".join(order) + " |")
        print("|---|" + "---|" * len(order))
        for dataset in dict.fromkeys(part["dataset"]):
            cells = []
            for sampler in order:
                if (dataset, sampler) in table.index:
                    r = table.loc[(dataset, sampler)]
                    folds = "" if r.folds == n_folds else f" ({int(r.folds)} folds)"
                    cells.append(f"{r.f1:.3f} / {r.ap:.3f} / {r.bal_acc:.3f} / {r.seconds:.1f}s{folds}")
                else:
                    cells.append("-")
            print(f"| {dataset} | " + " | ".join(cells) + " |")
        if "smote" not in order:
            continue
        print()
        for sampler in order:
            if not sampler.startswith("gan"):
                continue
            # Compare on the (data set, fold) pairs that both samplers ran.
            pair = part[part["sampler"].isin([sampler, "smote"])].pivot_table(
                index=["dataset", "fold"], columns="sampler", values="f1"
            ).dropna()
            if pair.empty or sampler not in pair:
                continue
            per_set = pair.groupby(level="dataset", sort=False).mean()
            wins = int((per_set[sampler] > per_set["smote"]).sum())
            print(
                f"{model_name}: {sampler} mean minority F1 {per_set[sampler].mean():.3f} vs SMOTE "
                f"{per_set['smote'].mean():.3f} over {len(per_set)} data sets ({len(pair)} matched folds); "
                f"beats SMOTE on {wins} of {len(per_set)}"
            )
            print(paired_gaps(pair[sampler] - pair["smote"], f"{model_name}: {sampler} - SMOTE"))
            if sampler != "gan" and "gan" in order:
                # A variant beside the default: the same GAN and candidates on every fold, so the gap is the variant's.
                beside = part[part["sampler"].isin([sampler, "gan"])].pivot_table(
                    index=["dataset", "fold"], columns="sampler", values="f1"
                ).dropna()
                if sampler in beside and "gan" in beside:
                    print(paired_gaps(beside[sampler] - beside["gan"], f"{model_name}: {sampler} - gan"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DATA, help="folder holding the shared data sets")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS + HELD_OUT + DEV + FRESH,
                        help="default: the seven tables of the issue (with --from-json: every table in the files); "
                        + ", ".join(HELD_OUT + FRESH) + " are held-out checks; " + ", ".join(DEV) + " are for development")
    parser.add_argument("--samplers", nargs="+", default=SAMPLERS, choices=SAMPLERS)
    parser.add_argument("--folds", type=int, default=5, help="run only the first N of the 5 folds")
    parser.add_argument("--gan", action="append", metavar="LABEL=JSON",
                        help="extra GANOverSampler variant, e.g. 'gan_nofilter={\"acceptance\": null}'; an "
                        "\"estimator\" object holds GANAugmenter settings")
    parser.add_argument("--skip-default-gan", action="store_true", help="run only the --gan variants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gan-seeds", type=int, nargs="+", default=[0], metavar="OFFSET",
                        help="train one GAN per offset in every fold (random_state = seed + fold + offset); "
                        "the tables average over them, since one GAN's training noise can move a table's F1 by 0.05")
    parser.add_argument("--out", help="write the per-fold records to this JSON file")
    parser.add_argument("--from-json", nargs="+", help="only print the tables of JSON files written by --out")
    args = parser.parse_args()
    if args.from_json:
        records = []
        for path in args.from_json:
            with open(path) as handle:
                records += json.load(handle)
        report([r for r in records if args.datasets is None or r["dataset"] in args.datasets])
        return
    args.datasets = args.datasets or DATASETS
    started = time.perf_counter()
    records = run(args)
    report(records)
    print(f"\ntotal wall time {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
