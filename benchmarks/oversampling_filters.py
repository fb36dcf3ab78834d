"""Which synthetic rows to keep: filter rules compared on the same trained GANs.

The oversampling benchmark (``oversampling.py``) trains a new GAN for every
variant, so two filter settings differ by their GANs' training noise as well
as by the filter, and that noise moved a table's minority F1 by up to 0.09.
This script separates the two. For every (data set, fold, GAN seed) it trains
the default ``GANOverSampler`` once, keeps its output, and draws a pool of
``--pool`` times the requested rows from the same fitted GAN. Each rule then
picks its rows from that pool, and the same two downstream models as in
``oversampling.py`` score them on the held-out fold:

* ``default``: the sampler's own output (the defaults at the time of the run);
* ``knn_cK`` / ``top_cK``: the kNN plausibility filter on the first K x n
  candidates, keeping the accepted ones in generation order (the sampler's
  rule) or simply the K x n best-ranked;
* ``clf_cK_qQ`` (K >= 10): the classifier filter (gradient boosting trained on the real
  rows; a candidate passes when its minority probability reaches the Q
  quantile of the real minority rows' out-of-fold probabilities);
* ``clftop_cK``: the K x n candidates of highest classifier probability;
* ``both_cK``: candidates that pass both the kNN filter and the classifier filter
  at Q = 0.5, filled up by classifier probability;
* ``knnclf_cK``: the kNN filter's accepted candidates, filled up by classifier
  probability instead of the kNN rank;
* ``avgrank_cK``: the best candidates by the sum of their percentile ranks under
  the two scores;
* ``disc_cK``: the K x n candidates the trained discriminator scores highest
  (each candidate judged inside fixed packs of real minority rows, see
  :func:`discriminator_scores`);
* ``clfdisc_cK``: the classifier filter's accepted candidates (Q = 0.7), the
  discriminator's favourites first, filled up by classifier probability;
* ``avgdisc_cK``: the best candidates by the sum of their percentile ranks under
  the classifier and the discriminator;
* ``cover_cK`` / ``covernear_cK``: the classifier filter's accepted candidates
  (Q = 0.7) taken in rounds over the real minority rows, each round one more
  candidate for every real row nearest to it (in generation order, or nearest
  first), so that the kept rows spread over the class as SMOTE's do; filled
  up by classifier probability. ``coverall_cK``: the same rounds over all
  candidates, no classifier;
* ``auto_cK``: the classifier filter with the bar chosen per pool by the sampler's
  ``acceptance_quantile="auto"`` (an inner 3-fold cross-validation over the bars
  0.3-0.9 on the training rows, see ``ganaugment.oversampling._choose_bar``);
  the chosen bar is printed;
* ``smote``, ``random``, ``none``: the baselines on the same folds.

The discriminator rules need pools drawn by this version of the ``pools``
phase, which stores every candidate's discriminator score; older pools skip them.
``score --datasets ...`` scores only those tables' pools, so that two score
processes can share the work; ``score --rules a b`` scores only those rules
(and the baselines).

Usage (each phase resumes where it stopped; files go to --work):
    python benchmarks/oversampling_filters.py pools --datasets ecoli yeast --gan-seeds 0 100
    python benchmarks/oversampling_filters.py score
    python benchmarks/oversampling_filters.py table
"""

from __future__ import annotations

import argparse
import glob
import os
import pickle
import sys
import time
import warnings

import numpy as np
import pandas as pd
import torch
from imblearn.over_sampling import RandomOverSampler
from sklearn.metrics import average_precision_score, f1_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oversampling as bench  # noqa: E402  (the sibling benchmark: data, models)

from ganaugment import GANOverSampler  # noqa: E402
from ganaugment.oversampling import (  # noqa: E402
    _choose_bar,
    _knn_acceptance,
    _passes_bar,
    _plausibility_matrix,
    _table_class_scores,
    keep_accepted,
)


QUANTILES = (0.3, 0.5, 0.7, 0.9)  # of the classifier filter


def _write_atomic(path: str, write) -> None:
    with open(path + ".tmp", "wb") as handle:
        write(handle)
    os.replace(path + ".tmp", path)


def discriminator_scores(estimator, X_real, y_real, candidates, label, packs=4, seed=0):
    """The fitted discriminator's mean logit for each candidate row of class ``label``.

    The discriminator judges packs of ``pac`` rows (PacGAN), not single rows,
    so each candidate is scored inside ``packs`` fixed packs of real rows of
    its class: the same packs and positions for every candidate, so that the
    scores rank candidates on the same footing. The real members of the class
    are scored the same way, as a reference. Rows go through the fitted
    encoder (modes drawn with ``seed``) and the condition names the class only,
    as in training when the class is the picked column.
    Returns ``(candidate_scores, member_scores)``.
    """
    model = estimator.model_
    rng = np.random.default_rng(seed)
    members = X_real[np.asarray(y_real) == label].reset_index(drop=True)
    encode = lambda frame: torch.as_tensor(estimator.encoder_.transform(frame, rng))  # noqa: E731
    real, cand = encode(members), encode(candidates.reset_index(drop=True))
    pac = int(model.params["pac"])
    code = int(np.searchsorted(estimator.classes_, label))
    slot = model.layout.column_width + code
    partners = [real[rng.choice(len(real), pac - 1, replace=len(real) < pac - 1)] for _ in range(packs)]
    places = rng.integers(pac, size=packs)
    model.discriminator.eval()

    def score(rows):
        out = torch.zeros(len(rows))
        for start in range(0, len(rows), 2048):
            block = rows[start:start + 2048]
            n = len(block)
            cond = model._condition(torch.full((n * pac,), slot), torch.full((n * pac,), code))
            for others, place in zip(partners, places):
                pack = torch.empty(n, pac, block.shape[1])
                pack[:, :place] = others[:place]
                pack[:, place] = block
                pack[:, place + 1:] = others[place:]
                with torch.no_grad():
                    out[start:start + n] += model.discriminator(pack.reshape(n * pac, -1), cond)
        return (out / packs).numpy()

    return score(cand), score(real)


def make_pools(args) -> None:
    os.makedirs(os.path.join(args.work, "pools"), exist_ok=True)
    for name in args.datasets or bench.DATASETS:
        X, y = bench.load(name, args.data)
        cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=args.seed)
        for fold, (train, test) in enumerate(cv.split(X, y)):
            for gan_seed in args.gan_seeds:
                path = os.path.join(args.work, "pools", f"{name}-{fold}-{gan_seed}.pkl")
                if fold >= args.folds or os.path.exists(path):
                    continue
                X_tr, y_tr = X.iloc[train].reset_index(drop=True), y[train]
                started = time.perf_counter()
                sampler = GANOverSampler(random_state=args.seed + fold + gan_seed)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    X_res, _ = sampler.fit_resample(X_tr, y_tr)
                need = int(sampler.sampling_strategy_[1])
                pool, _ = sampler.estimator_.sample(y={1: args.pool * need})
                disc, disc_members = discriminator_scores(sampler.estimator_, X_tr, y_tr, pool, 1, seed=args.seed + fold)
                record = {"train": train, "test": test, "need": need, "pool": pool,
                          "disc": disc, "disc_members": disc_members,
                          "default": X_res.iloc[len(X_tr):].reset_index(drop=True),
                          "seconds": time.perf_counter() - started}
                _write_atomic(path, lambda handle: pickle.dump(record, handle))
                print(f"{name} fold {fold} seed {gan_seed}: {record['seconds']:.1f}s, "
                      f"acceptance {sampler.acceptance_rate_[1]:.3f}", flush=True)


def nearest_member(members: np.ndarray, candidates: np.ndarray):
    """For each candidate, the position of its nearest real member and the distance to it."""
    from sklearn.neighbors import NearestNeighbors

    distance, index = NearestNeighbors(n_neighbors=1).fit(members).kneighbors(candidates)
    return index[:, 0], distance[:, 0]


def covering(priority: np.ndarray, anchor: np.ndarray, need: int) -> np.ndarray:
    """Up to ``need`` of the candidates ``priority`` (in that order), taken in rounds: each round
    takes the next candidate of every real member that still has one (``anchor`` names each
    candidate's nearest member), so that the kept rows spread over the members."""
    turn = pd.Series(anchor[priority]).groupby(anchor[priority]).cumcount().to_numpy()
    return priority[np.lexsort((np.arange(len(priority)), turn))][:need]


def rules(X_tr, y_tr, record, seed, ratios):
    """Rows each rule keeps, as frames.

    Both filters judge a candidate on its own (against thresholds set by the
    real rows), so they run once on the whole pool and each ratio takes a prefix.
    """
    pool, need = record["pool"], record["need"]
    chosen = {"default": record["default"], "none": pool.iloc[:0]}
    ones = np.ones(len(pool), dtype=y_tr.dtype)
    real_m, syn_m = _plausibility_matrix(X_tr, pool)
    knn_passed, knn_rank = _knn_acceptance(real_m, y_tr, syn_m, ones, [1], 5, 0.7)
    # One classifier for every quantile: only the bar differs.
    clf_rank, member_scores = _table_class_scores(X_tr, y_tr, pool, ones, seed)
    clf = {q: (_passes_bar(clf_rank, ones, member_scores, q), clf_rank) for q in QUANTILES}

    def percentile(values):
        return pd.Series(values).rank(pct=True).to_numpy()

    for ratio in ratios:
        n = ratio * need
        if len(pool) < n:
            continue
        first = pool.iloc[:n]
        chosen[f"knn_c{ratio}"] = first.iloc[keep_accepted(knn_passed[:n], knn_rank[:n], need)]
        chosen[f"top_c{ratio}"] = first.iloc[np.sort(np.argsort(-knn_rank[:n], kind="stable")[:need])]
        if ratio < 10:
            continue
        for q, (passed, rank) in clf.items():
            chosen[f"clf_c{ratio}_q{q}"] = first.iloc[keep_accepted(passed[:n], rank[:n], need)]
        chosen[f"clftop_c{ratio}"] = first.iloc[np.sort(np.argsort(-clf_rank[:n], kind="stable")[:need])]
        chosen[f"both_c{ratio}"] = first.iloc[keep_accepted(knn_passed[:n] & clf[0.5][0][:n], clf_rank[:n], need)]
        chosen[f"knnclf_c{ratio}"] = first.iloc[keep_accepted(knn_passed[:n], clf_rank[:n], need)]
        both_ranks = percentile(knn_rank[:n]) + percentile(clf_rank[:n])
        chosen[f"avgrank_c{ratio}"] = first.iloc[np.sort(np.argsort(-both_ranks, kind="stable")[:need])]
        # Coverage: every real minority row gets about as many synthetic rows near it, as SMOTE's do.
        passed = clf[0.7][0][:n]
        anchor, gap = nearest_member(real_m[y_tr == 1], syn_m[:n])
        rejected = np.flatnonzero(~passed)[np.argsort(-clf_rank[:n][~passed], kind="stable")]
        for label, priority in (("cover", np.flatnonzero(passed)),
                                ("covernear", np.flatnonzero(passed)[np.argsort(gap[passed], kind="stable")])):
            chosen[f"{label}_c{ratio}"] = first.iloc[np.sort(np.concatenate([
                covering(priority, anchor, need), rejected[: max(0, need - len(priority))]]))]
        chosen[f"coverall_c{ratio}"] = first.iloc[np.sort(covering(np.arange(n), anchor, need))]
        if ratio == 10:
            def judge(q, n=n):
                return _passes_bar(clf_rank[:n], ones[:n], member_scores, q), clf_rank[:n]

            bar, means = _choose_bar(X_tr, y_tr, first, ones[:n], {1: need}, judge, seed)
            print(f"  auto_c{ratio}: bar {bar} ({', '.join(f'{q}: {m:.3f}' for q, m in means.items())})", flush=True)
            chosen[f"auto_c{ratio}"] = first.iloc[keep_accepted(*judge(bar), need)]
        if "disc" not in record:
            continue
        disc = record["disc"][:n]
        chosen[f"disc_c{ratio}"] = first.iloc[np.sort(np.argsort(-disc, kind="stable")[:need])]
        # The classifier's accepted candidates, the discriminator's favourites first.
        passed = clf[0.7][0][:n]
        order = np.concatenate([np.flatnonzero(passed)[np.argsort(-disc[passed], kind="stable")],
                                np.flatnonzero(~passed)[np.argsort(-clf_rank[:n][~passed], kind="stable")]])
        chosen[f"clfdisc_c{ratio}"] = first.iloc[np.sort(order[:need])]
        disc_ranks = percentile(disc) + percentile(clf_rank[:n])
        chosen[f"avgdisc_c{ratio}"] = first.iloc[np.sort(np.argsort(-disc_ranks, kind="stable")[:need])]
    return chosen


def score(args) -> None:
    os.makedirs(os.path.join(args.work, "scores"), exist_ok=True)
    for path in sorted(glob.glob(os.path.join(args.work, "pools", "*.pkl"))):
        stem = os.path.basename(path)[:-4]
        out = os.path.join(args.work, "scores", stem + ".csv")
        if os.path.exists(out):
            continue
        name, fold, gan_seed = stem.rsplit("-", 2)
        if args.datasets and name not in args.datasets:
            continue
        X, y = bench.load(name, args.data)
        with open(path, "rb") as handle:
            record = pickle.load(handle)
        X_tr, y_tr = X.iloc[record["train"]].reset_index(drop=True), y[record["train"]]
        X_te, y_te = X.iloc[record["test"]].reset_index(drop=True), y[record["test"]]
        rows = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits = {}
            for label, kept in rules(X_tr, y_tr, record, int(fold), args.ratios).items():
                if args.rules and label not in args.rules:
                    continue
                X_fit = pd.concat([X_tr, kept.reset_index(drop=True)], ignore_index=True).astype(X_tr.dtypes.to_dict())
                fits[label] = (X_fit, np.concatenate([y_tr, np.ones(len(kept), dtype=y_tr.dtype)]))
            fits["smote"] = bench.make_sampler("smote", X_tr, args.seed + int(fold), {}).fit_resample(X_tr, y_tr)
            fits["random"] = RandomOverSampler(random_state=args.seed + int(fold)).fit_resample(X_tr, y_tr)
            for label, (X_fit, y_fit) in fits.items():
                for model_name, model in bench.make_models(X, args.seed).items():
                    proba = model.fit(X_fit, y_fit).predict_proba(X_te)[:, 1]
                    rows.append({"dataset": name, "fold": int(fold), "gan_seed": int(gan_seed), "rule": label,
                                 "model": model_name, "ap": average_precision_score(y_te, proba),
                                 "f1": f1_score(y_te, (proba >= 0.5).astype(int), zero_division=0)})
        _write_atomic(out, lambda handle: handle.write(pd.DataFrame(rows).to_csv(index=False).encode()))
        print(f"scored {stem}", flush=True)


def table(args) -> None:
    files = glob.glob(os.path.join(args.work, "scores", "*.csv"))
    if not files:
        raise SystemExit(f"no scores under {args.work}; run the pools and score phases first")
    frame = pd.concat([pd.read_csv(p) for p in files])
    for model_name, part in frame.groupby("model"):
        cells = part.groupby(["dataset", "rule"]).f1.mean().unstack()
        runs = part[part.rule == "smote"].groupby("dataset").size()
        print(f"\n### {model_name}: minority F1, mean over folds and GAN seeds ({runs.to_dict()} runs)\n")
        print(cells.round(3).to_string())
        held = [d for d in bench.HELD_OUT if d in cells.index]
        dev = [d for d in bench.DEV if d in cells.index]
        groups = (("issue", cells.drop(index=held + dev)), ("held-out", cells.loc[held]), ("development", cells.loc[dev]))
        for label, part_cells in groups:
            if part_cells.empty:
                continue
            summary = pd.DataFrame({
                "mean": part_cells.mean(), "beats_smote_on": part_cells.gt(part_cells["smote"], axis=0).sum()
            })
            print(f"\nover the {len(part_cells)} {label} tables:\n")
            print(summary.sort_values("mean").round(4).to_string())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=["pools", "score", "table"])
    parser.add_argument("--data", default=bench.DATA)
    parser.add_argument("--datasets", nargs="+", choices=bench.DATASETS + bench.HELD_OUT + bench.DEV)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--gan-seeds", type=int, nargs="+", default=[0, 100], metavar="OFFSET")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pool", type=int, default=20, help="candidates drawn per requested row")
    parser.add_argument("--ratios", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--work", default="out/oversampling_filters")
    parser.add_argument("--rules", nargs="+", help="score only these rules (and smote, random)")
    args = parser.parse_args(argv)
    {"pools": make_pools, "score": score, "table": table}[args.phase](args)


if __name__ == "__main__":
    main()
