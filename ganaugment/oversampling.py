"""GANOverSampler: an imbalanced-learn over-sampler backed by the conditional GAN (tables or images).

The sampler trains one :class:`~ganaugment.GANAugmenter` on every class of
``(X, y)`` (the class is the GAN's condition, so the majority classes teach the
networks the shape of the table) and then generates rows only for the classes
that ``sampling_strategy`` asks for. Three things make it practical inside a
cross-validation loop:

* a training budget in generator steps (``max_steps``) and, optionally, in
  seconds (``time_limit``), so a fold on a large table stays short;
* a plausibility filter: more candidates than needed are generated, and
  ``acceptance="classifier"`` (the default) keeps those that a classifier
  trained on the real data places in their requested class (gradient
  boosting for tables, a small CNN for images); ``acceptance="knn"`` drops
  those whose nearest real neighbours mostly belong to other classes, or
  that lie outside the support of their own class (see :func:`_knn_acceptance`);
* a documented fallback for classes too small for a GAN (``min_class_size``):
  their rows come from SMOTE (SMOTENC for numbers and levels together, a
  SMOTE-like interpolation where missing values or dates rule SMOTENC out),
  or from random oversampling for a table of levels only, with a warning.
"""

from __future__ import annotations

import math
import numbers
import os
import time
import warnings

import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_target_type
from imblearn.utils._validation import _check_X
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_array, check_consistent_length, validate_data

from ._validation import (
    as_numpy_dates,
    as_numpy_durations,
    caller_stacklevel,
    check_table,
    column_kind,
    is_duration,
    plain_label,
    refuse_column_name_as_y,
    refuse_missing_labels,
    seed_from,
)
from .checkpoint import data_digest
from .augmenter import GANAugmenter
from .metrics._frames import _numbers, fit_threads, model_frames
from .persistence import PersistableMixin
from .tabular.encoder import _round_times, _time_step

__all__ = ["GANOverSampler", "SmallClassFallbackWarning"]


class SmallClassFallbackWarning(UserWarning):
    """A class had too few rows for the GAN; its rows came from a fallback sampler."""


class GANOverSampler(PersistableMixin, BaseOverSampler):
    """Over-sample minority classes with a conditional tabular GAN.

    A :class:`~ganaugment.GANAugmenter` is trained on all the classes of
    ``(X, y)``, conditioned on the class, and generates exactly the number
    of rows per class that ``sampling_strategy`` asks for. Real rows come
    first in the output, unchanged; the synthetic rows follow, class by
    class. A DataFrame in gives a DataFrame out with the same dtypes; an
    array in gives an array of the same dtype.

    Images work too: an array of shape (n, H, W), (n, H, W, C) or
    (n, C, H, W) comes back with the same shape per image, and flat rows
    (such as ``load_digits().data``) are read as images when the estimator
    has an ``image_shape`` (``estimator=GANAugmenter(image_shape=(8, 8))``).
    To enlarge every class rather than balance, pass a dict
    ``sampling_strategy={{c: count_c + n for c in classes}}``.

    Read more about the game and the encoding in :class:`GANAugmenter`.

    Parameters
    ----------
    {sampling_strategy}

    estimator : GANAugmenter, default=None
        The GAN to train (cloned at every :meth:`fit_resample`). ``None``
        uses ``GANAugmenter()`` with its defaults. Its hyperparameters are
        reachable as ``estimator__<name>``, e.g. in a grid search. When its
        ``random_state`` is None, the sampler's ``random_state`` seeds it.
        Its ``checkpoint_dir``, if set, gets one subfolder per training set
        (``fit-`` and a digest of X and y), so that each fold of a
        cross-validation checkpoints and resumes on its own.
    epochs : int or None, default=None
        Training epochs of the GAN, overriding the estimator's own
        ``epochs``. ``None`` keeps the estimator's value; ``max_steps``
        can still cut training shorter.
    max_steps : int or None, default=1000
        Budget of generator updates: the GAN trains for at most
        ``ceil(max_steps / steps_per_epoch)`` epochs (and never more than
        the estimator's own ``epochs``). Keeps a fold on a large table
        short; ``None`` trains for the estimator's full ``epochs``.
    time_limit : float or None, default=None
        Stop training after this many seconds (checked once per epoch).
        Overrides the estimator's ``time_limit`` when given.
    acceptance : {{"classifier", "knn"}} or None, default="classifier"
        Plausibility filter: ``candidates`` times more rows than needed are
        generated for each class, and the filter keeps the plausible ones.
        ``"classifier"`` trains a classifier on the real rows and their
        classes. For tables it is a ``HistGradientBoostingClassifier``
        (categorical columns native), and a candidate of class ``c`` is
        accepted when its probability of ``c`` reaches the
        ``acceptance_quantile`` quantile of the out-of-fold probabilities of
        ``c`` over the real members of ``c`` (5-fold; a rare class is seldom
        the most probable one, so the bar is what its own members score).
        For images it is a small CNN
        (:func:`~ganaugment.images.fit_feature_extractor`, 1,000 Adam steps),
        and a candidate of class ``c`` is accepted when the CNN's most
        probable class for it is ``c``. On the oversampling benchmark's
        tables it was level with the kNN filter for gradient boosting and
        better for a linear model (``docs/benchmarks.md``). With
        ``"knn"``, a candidate of class ``c`` is accepted when (a) the
        share of class ``c`` among its ``n_neighbors`` nearest real rows
        reaches the
        ``acceptance_quantile`` quantile of the same share over the real
        rows of class ``c``, and (b) its distance to the nearest real row of
        class ``c`` is within the ``1 - acceptance_quantile`` quantile of the
        real rows' distances to their nearest fellow member (both
        leave-one-out, on standardised numeric and one-hot categorical
        columns; images are compared pixel by pixel, unscaled). Rejected
        candidates rank by the classifier's probability of ``c`` (by the
        kNN score with ``"knn"``). Accepted candidates are kept in generation
        order; if too few pass, the best-ranked rejected ones fill the gap,
        so the counts are always exact. ``None`` keeps the first generated
        rows.
    candidates : float, default=10.0
        Candidates generated per requested row when filtering (>= 1). At
        the default strictness the kNN filter passes only a few percent of
        them on most tables, so it mostly ranks them, and a larger pool
        ranks better (10 rather than 5 raised the benchmark's mean minority
        F1 on the same trained GANs); 20 rather than 10 did not change the
        classifier filter's.
    acceptance_quantile : float or "auto", default="auto"
        How strict the filter is, in [0, 1]: 0 accepts any row no less
        plausible than the least plausible real member of its class, higher
        values keep only rows that sit deeper inside their class.
        ``"auto"`` chooses it per fit among 0.3, 0.5, 0.7 and 0.9 (tables):
        the real rows are split in five (stratified), a gradient boosting
        classifier learns from each training part plus the same share of the
        rows each bar keeps, and scores the F1 of the requested classes
        (macro) on the held-out part. The best bar replaces 0.7 only when its
        gain over 0.7 exceeds one standard error of the five gains, so a
        small class, whose inner scores are noisy, keeps 0.7. A lenient bar
        suits a class whose boundary needs more rows (Adult's income), a
        cautious one a class whose candidates stray into other classes. It
        costs up to twenty more gradient boosting fits; the choice and the
        inner scores are in ``acceptance_quantile_`` and ``bar_scores_``.
        Images keep 0.7 (their classifier filter has no bar). On the
        oversampling benchmark (``docs/benchmarks.md``, three 5-fold splits
        of seven tables) it raised the mean minority F1 of gradient boosting
        from 0.564 (fixed 0.7) to 0.568, against SMOTE's 0.557.
    spread : bool, default=False
        Tables only. Take the accepted candidates of each class in rounds over
        its real members instead of in generation order: every candidate is
        assigned its nearest real member of the class (standardised numeric,
        one-hot categorical columns), and each round keeps one more
        candidate per member, so that the kept rows cover the class as
        SMOTE's interpolations do instead of crowding where the generator
        puts most of its mass. Images keep generation order. Measured on the
        oversampling benchmark (``docs/benchmarks.md``): level with the
        default for gradient boosting over three 5-fold splits of the seven
        issue tables (mean minority F1 0.563 against 0.564), a point lower
        for logistic regression, and as good or better on held-out tables.
    n_neighbors : int, default=5
        Neighbours used by the ``"knn"`` filter.
    min_class_size : int, default=10
        A class with fewer real rows than this gets its synthetic rows from
        ``fallback`` instead of the GAN, with a
        :class:`SmallClassFallbackWarning`.
    fallback : {{"smote", "random"}}, default="smote"
        Sampler for classes below ``min_class_size``. ``"smote"`` uses SMOTE
        when every column is numeric (where the class has missing values, a
        new row misses the values of the row it starts from, and neighbours
        are found with the gaps filled by the class's medians), and SMOTENC
        when a table mixes numeric and categorical or boolean columns,
        provided there is no missing value or date column. Other tables with
        a numeric, date or duration column get SMOTE's interpolation done
        column by column: numbers and times between a row and a near fellow
        row of the class (integers rounded, times to the class's own step),
        each level from the nearer of the two, and the gaps of the starting
        row kept. All of these need at least two rows in the class; random
        oversampling (copies of real rows) stands in otherwise, and for a
        table of categorical columns only. ``"random"`` always copies real
        rows.
    random_state : int, RandomState instance or None, default=None
        Seeds the GAN (when its own ``random_state`` is None), the candidate
        draws and the fallback. Same seed, data and CPU: identical output.

    Attributes
    ----------
    sampling_strategy_ : dict
        Rows generated per class, as resolved by imbalanced-learn.
    estimator_ : GANAugmenter or None
        The fitted GAN; None when every requested class used the fallback or
        nothing was requested.
    fallback_classes_ : list
        Classes whose rows came from the fallback sampler.
    acceptance_rate_ : dict
        Per GAN-generated class, the share of candidates the filter accepted
        (1.0 without a filter).
    acceptance_quantile_ : float
        The bar the filter used (the chosen one with ``"auto"``). Defined when
        the GAN generated rows through a filter.
    bar_scores_ : dict
        With ``acceptance_quantile="auto"`` on a table, the inner
        cross-validation's mean F1 for each bar; empty otherwise (the chosen
        bar is not always the best of these: see ``acceptance_quantile``).
    fit_seconds_ : float
        Seconds spent in the last :meth:`fit_resample`.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when X has string column names.

    See Also
    --------
    GANAugmenter : The conditional GAN this sampler trains.
    imblearn.over_sampling.SMOTE : Interpolation between minority neighbours.

    Notes
    -----
    GAN oversampling is usually competitive with SMOTE rather than better
    than it; on very small classes generators can hurt, hence the fallback.
    See the oversampling section of ``docs/benchmarks.md`` for measured figures.

    Examples
    --------
    >>> import numpy as np
    >>> from collections import Counter
    >>> from ganaugment import GANAugmenter, GANOverSampler
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (180, 3)), rng.normal(2, 1, (20, 3))])
    >>> y = np.array([0] * 180 + [1] * 20)
    >>> sampler = GANOverSampler(estimator=GANAugmenter(epochs=2), random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> sorted(Counter(y_res.tolist()).items())
    [(0, 180), (1, 180)]
    >>> bool((X_res[:200] == X).all())
    True
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "estimator": [HasMethods(["fit", "sample"]), None],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_steps": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "time_limit": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "acceptance": [StrOptions({"knn", "classifier"}), None],
        "candidates": [Interval(numbers.Real, 1, None, closed="left")],
        "acceptance_quantile": [Interval(numbers.Real, 0, 1, closed="both"), StrOptions({"auto"})],
        "spread": ["boolean"],
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "min_class_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "fallback": [StrOptions({"smote", "random"})],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        estimator=None,
        epochs=None,
        max_steps=1000,
        time_limit=None,
        acceptance="classifier",
        candidates=10.0,
        acceptance_quantile="auto",
        spread=False,
        n_neighbors=5,
        min_class_size=10,
        fallback="smote",
        random_state=None,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.estimator = estimator
        self.epochs = epochs
        self.max_steps = max_steps
        self.time_limit = time_limit
        self.acceptance = acceptance
        self.candidates = candidates
        self.acceptance_quantile = acceptance_quantile
        self.spread = spread
        self.n_neighbors = n_neighbors
        self.min_class_size = min_class_size
        self.fallback = fallback
        self.random_state = random_state

    # ------------------------------------------------------------ checks
    def set_params(self, **params):
        """Set parameters; ``estimator__<name>`` works with the default
        ``estimator=None`` too, by starting from ``GANAugmenter()``."""
        if self.estimator is None and "estimator" not in params and any(k.startswith("estimator__") for k in params):
            self.estimator = GANAugmenter()
            try:
                return super().set_params(**params)
            except Exception:
                self.estimator = None  # a refused call changes nothing
                raise
        return super().set_params(**params)

    def fit_resample(self, X, y, **params):
        """Resample X and y: the real rows first and unchanged, then the synthetic ones.

        See imbalanced-learn's ``fit_resample``; this one names a column
        name given as ``y`` before imbalanced-learn's checks. A call that
        fails leaves the sampler as it was (a fitted one keeps its GAN and
        attributes), as a failed ``GANAugmenter.fit`` does.
        """
        refuse_column_name_as_y(y, "fit_resample")
        refuse_missing_labels(y)
        before = dict(self.__dict__)
        try:
            return super().fit_resample(X, y, **params)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _check_X_y(self, X, y, accept_sparse=None):
        if hasattr(X, "tocsr"):
            raise TypeError("GANOverSampler does not accept sparse matrices; pass a dense array or a DataFrame.")
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        # The checks the GAN makes are made here too, up front: a class below
        # min_class_size never reaches the GAN, and its fallback interpolates or copies rows.
        if not isinstance(X, pd.DataFrame) and np.ndim(X) > 2:
            # Images stacked as (n, H, W), (n, H, W, C) or (n, C, H, W): the GAN reads them as they are.
            X = check_array(X, dtype=None, allow_nd=True, ensure_all_finite=False)
            check_consistent_length(X, y)
            if np.issubdtype(X.dtype, np.inexact) and not np.isfinite(X).all():
                raise ValueError("Images contain NaN or infinite values; images must be finite.")
            validate_data(self, X=X, y=y, reset=True, skip_check_array=True)
            self.n_features_in_ = int(np.prod(X.shape[1:]))
            return X, y, binarize_y
        X = _check_X(X)
        check_consistent_length(X, y)
        check_table(X if isinstance(X, pd.DataFrame) else pd.DataFrame(X), min_rows=1)
        validate_data(self, X=X, y=y, reset=True, skip_check_array=True)
        if isinstance(X, pd.DataFrame) and any(isinstance(d, pd.SparseDtype) for d in X.dtypes):
            X = X.sparse.to_dense() if all(isinstance(d, pd.SparseDtype) for d in X.dtypes) else X.apply(_dense)
        return X, y, binarize_y

    # ---------------------------------------------------------- resample
    def _fit_resample(self, X, y):
        started = time.perf_counter()
        rng = np.random.default_rng(seed_from(self.random_state))
        is_frame = isinstance(X, pd.DataFrame)
        y = np.asarray(y)
        counts = {c: int(np.sum(y == c)) for c in np.unique(y)}
        wanted = {c: int(n) for c, n in self.sampling_strategy_.items() if int(n) > 0}
        small = [c for c in wanted if counts[c] < self.min_class_size]
        gan_classes = [c for c in wanted if c not in small]
        self.estimator_ = None
        self.fallback_classes_ = list(small)
        self.acceptance_rate_ = {}
        parts = {}  # class -> synthetic rows (same container kind as X)
        if gan_classes:
            self.estimator_ = self._fit_gan(X, y, rng)
            if getattr(self.estimator_, "_fallback", False):
                # The estimator's fidelity gate rejected the model (it has warned):
                # no synthetic row below the threshold reaches the classifier.
                parts.update({c: _take(X, np.zeros(0, dtype=np.int64)) for c in gan_classes})
            else:
                parts.update(self._generate(X, y, {c: wanted[c] for c in gan_classes}, rng))
        for c in small:
            parts[c] = self._fallback_rows(X, y, c, wanted[c], counts[c], rng)

        order = [c for c in wanted]  # imblearn's resolved order
        X_new = [parts[c] for c in order]
        y_new = [np.full(len(parts[c]), c, dtype=y.dtype) for c in order]
        if is_frame:
            real = X.reset_index(drop=True)
            frames = [real] + [_like_frame(p, real) for p in X_new]
            X_res = pd.concat(frames, ignore_index=True).astype(real.dtypes.to_dict())
        else:
            X_res = np.concatenate([X] + [np.asarray(p, dtype=X.dtype).reshape((-1,) + X.shape[1:]) for p in X_new])
        y_res = np.concatenate([y] + y_new)
        self.fit_seconds_ = time.perf_counter() - started
        return X_res, y_res

    def _fit_gan(self, X, y, rng):
        estimator = GANAugmenter() if self.estimator is None else clone(self.estimator)
        if hasattr(estimator, "_parameter_constraints"):
            # imbalanced-learn's fit_resample turns scikit-learn's checks off for nested fits, and the
            # budget below reads epochs: an invalid estimator__ value is named here, before any use.
            estimator._validate_params()
        params = estimator.get_params()
        updates = {}
        if "random_state" in params and params["random_state"] is None:
            updates["random_state"] = int(rng.integers(2**31 - 1))
        if self.epochs is not None and "epochs" in params:
            params["epochs"] = updates["epochs"] = int(self.epochs)
        if self.time_limit is not None and "time_limit" in params:
            updates["time_limit"] = self.time_limit
        if params.get("checkpoint_dir") is not None:
            # One folder per training set: every fold of a cross-validation keeps, and resumes, its own
            # checkpoint instead of finding another fold's and refusing it.
            name = "fit-" + data_digest(X if isinstance(X, pd.DataFrame) else np.asarray(X), y)[:16]
            updates["checkpoint_dir"] = os.path.join(os.fspath(params["checkpoint_dir"]), name)
        if self.max_steps is not None and "epochs" in params and hasattr(estimator, "_schedule"):
            steps_per_epoch, default_epochs = estimator._schedule(X)
            full = default_epochs if params["epochs"] is None else int(params["epochs"])
            updates["epochs"] = max(1, min(full, math.ceil(self.max_steps / steps_per_epoch)))
        estimator.set_params(**updates)
        return estimator.fit(X, y)

    def _images(self, X) -> bool:
        """Whether X holds images: a stacked image array, or flat rows the GAN learns as images."""
        if not isinstance(X, pd.DataFrame) and np.ndim(X) > 2:
            return True
        fitted = getattr(self, "estimator_", None)
        if fitted is not None:
            return getattr(fitted, "kind_", None) == "image"
        kind = getattr(self.estimator, "kind", "auto")
        return kind == "image" or (kind == "auto" and getattr(self.estimator, "image_shape", None) is not None)

    def _image_classifier_acceptance(self, X, y, X_syn, y_syn, rng):
        """Accept a candidate image when a small CNN trained on the real images gives its
        requested class as the most probable one.

        Returns ``(accepted, rank)``; the rank is the probability of the requested class.
        (Tables: a gradient boosting classifier and a bar per class, see :func:`_table_class_scores`.)
        """
        from .images.metrics import fit_feature_extractor

        image_shape = getattr(self.estimator_, "image_shape", None) if np.ndim(X) == 2 else None
        classifier = fit_feature_extractor(
            X, y, image_shape=image_shape, holdout=0.0, random_state=int(rng.integers(2**31 - 1))
        )
        proba = classifier.predict_proba(X_syn)
        column = np.searchsorted(classifier.classes_, y_syn)
        rank = proba[np.arange(len(y_syn)), column]
        return proba.argmax(axis=1) == column, rank

    def _generate(self, X, y, wanted: dict, rng) -> dict:
        ratio = float(self.candidates) if self.acceptance is not None else 1.0
        request = {c: int(math.ceil(n * ratio)) for c, n in wanted.items()}
        X_syn, y_syn = self.estimator_.sample(y=request)
        y_syn = np.asarray(y_syn)
        if self.acceptance is None:
            out = {}
            for c, n in wanted.items():
                rows = np.flatnonzero(y_syn == c)[:n]
                out[c] = _take(X_syn, rows)
                self.acceptance_rate_[c] = 1.0
            return out
        auto = self.acceptance_quantile == "auto"
        quantile = DEFAULT_BAR if auto else float(self.acceptance_quantile)
        frames = None  # the tables as the classifier reads them, where it has made them
        if self.acceptance == "classifier" and not self._images(X):
            rank, member_scores, frames = _table_class_scores(
                X, y, X_syn, y_syn, int(rng.integers(2**31 - 1)), frames=True
            )

            def judge(q):
                return _passes_bar(rank, y_syn, member_scores, q), rank

        elif self.acceptance == "classifier":
            passed, rank = self._image_classifier_acceptance(X, y, X_syn, y_syn, rng)
            auto = False  # the images' filter has no bar: the CNN must name the class

            def judge(q):
                return passed, rank

        else:
            if self._images(X):
                # Pixels are compared as they are: standardising would blow up the nearly constant border.
                real_m, syn_m = _flat(X), _flat(X_syn)
                auto = False  # the bar is chosen with a table classifier; images keep the fixed one
            else:
                real_m, syn_m = _plausibility_matrix(X, X_syn)
            # The neighbour searches once; every bar "auto" tries only moves the thresholds.
            measures = _knn_measures(real_m, y, syn_m, y_syn, list(wanted), int(self.n_neighbors))

            def judge(q):
                return _knn_verdict(measures, len(y_syn), q)

        self.bar_scores_ = {}
        if auto:
            quantile, self.bar_scores_ = _choose_bar(
                X, y, X_syn, y_syn, wanted, judge, int(rng.integers(2**31 - 1)), frames
            )
        self.acceptance_quantile_ = quantile
        passed, rank = judge(quantile)
        spread = self.spread and not self._images(X)
        if spread and self.acceptance == "classifier":
            real_m, syn_m = _plausibility_matrix(X, X_syn)  # once for every class (the kNN filter made them)
        out = {}
        for c, n in wanted.items():
            rows = np.flatnonzero(y_syn == c)
            self.acceptance_rate_[c] = float(passed[rows].mean()) if rows.size else 1.0
            anchor = _nearest_member(real_m[y == c], syn_m[rows[passed[rows]]]) if spread else None
            out[c] = _take(X_syn, rows[keep_accepted(passed[rows], rank[rows], n, anchor)])
        return out

    def _fallback_rows(self, X, y, c, n, n_real, rng):
        members = np.flatnonzero(y == c)
        numeric = not isinstance(X, pd.DataFrame) or all(
            pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d) for d in X.dtypes
        )
        if self.fallback == "smote" and n_real >= 2 and isinstance(X, pd.DataFrame):
            mixed = _mixed_smote(X, y, c, n_real, n, rng)
            if mixed is None and not numeric and any(column_kind(X[name]) != "categorical" for name in X.columns):
                mixed = _interpolated_rows(X, members, n, rng), (
                    "interpolation between near rows of the class (numbers and dates between the two rows, "
                    "each level from the nearer one; a new row misses the values its starting row misses)"
                )
            if mixed is not None:
                rows, how = mixed
                self._warn_fallback(c, n_real, n, how)
                return rows
        values = None  # the table as float64 numbers, where SMOTE applies
        if self.fallback == "smote" and n_real >= 2 and numeric:
            values = X.to_numpy(dtype=np.float64, na_value=np.nan) if isinstance(X, pd.DataFrame) else _flat(X, dtype=None)
            values = values.astype(np.float64) if np.issubdtype(values.dtype, np.number) else None
        gaps = values is not None and bool(np.isnan(values[members]).any())
        how = "SMOTE" + (", each new row missing the values its starting row misses" if gaps else "")
        self._warn_fallback(c, n_real, n, how if values is not None else "random oversampling (copies of real rows)")
        if values is not None:
            if gaps:
                new = _smote_with_gaps(values[members], n, min(5, n_real - 1), rng)
            else:
                smote = SMOTE(
                    sampling_strategy={c: n_real + n},
                    k_neighbors=min(5, n_real - 1),
                    random_state=int(rng.integers(2**31 - 1)),
                )
                # SMOTE reads only the rows of class c, which hold no gap; other classes' gaps are zeroed.
                X_res, _ = smote.fit_resample(np.nan_to_num(values), y)
                new = X_res[len(y):]
            if isinstance(X, pd.DataFrame):
                return _numeric_frame(new, X.dtypes)
            new = new.reshape((-1,) + X.shape[1:])
            return np.round(new) if np.issubdtype(X.dtype, np.integer) else new
        picks = members[rng.integers(n_real, size=n)]
        return _take(X, picks)

    def _warn_fallback(self, c, n_real, n, how):
        warnings.warn(
            f"Class {plain_label(c)!r} has {n_real} rows, fewer than min_class_size={self.min_class_size}: "
            f"its {n} synthetic rows come from {how} instead of the GAN.",
            SmallClassFallbackWarning,
            stacklevel=caller_stacklevel(),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.sparse = False
        tags.non_deterministic = False
        return tags


GANOverSampler.__doc__ = GANOverSampler.__doc__.format(
    sampling_strategy=BaseOverSampler._sampling_strategy_docstring
)


# ---------------------------------------------------------------- helpers
DEFAULT_BAR = 0.7  # the fixed acceptance_quantile, and what "auto" means where it cannot choose
AUTO_BARS = (DEFAULT_BAR, 0.5, 0.9, 0.3)  # the bars acceptance_quantile="auto" chooses from, ties to the first
AUTO_FOLDS = 5  # inner folds of acceptance_quantile="auto"

def _flat(X, dtype=np.float64) -> np.ndarray:
    """Rows of an array as flat vectors (images ``(n, H, W[, C])`` become ``(n, H*W[*C])``)."""
    array = np.asarray(X) if dtype is None else np.asarray(X, dtype=dtype)
    return array.reshape(len(array), -1)


def keep_accepted(passed: np.ndarray, rank: np.ndarray, n: int, anchor: np.ndarray | None = None) -> np.ndarray:
    """Positions of the ``n`` candidates to keep: accepted ones in generation order, then,
    if too few passed, the best-ranked rejected ones (ties in order); sorted.

    With ``anchor`` (for every accepted candidate, in order, the real member it is
    nearest to), the accepted ones are taken in rounds instead: each round the next
    candidate of every member that still has one, so that the kept rows spread over
    the members (``spread=True``).
    """
    keep = np.flatnonzero(passed)
    if anchor is not None:
        turn = pd.Series(anchor).groupby(anchor).cumcount().to_numpy()
        keep = keep[np.lexsort((np.arange(len(keep)), turn))]
    keep = np.sort(keep[:n])
    if keep.size < n:
        rejected = np.flatnonzero(~passed)
        best = rejected[np.argsort(-rank[rejected], kind="stable")][: n - keep.size]
        keep = np.sort(np.concatenate([keep, best]))
    return keep


def _dense(column: pd.Series) -> pd.Series:
    return column.sparse.to_dense() if isinstance(column.dtype, pd.SparseDtype) else column


def _take(X, rows):
    if isinstance(X, pd.DataFrame):
        return X.iloc[rows].reset_index(drop=True)
    return np.asarray(X)[rows]


def _like_frame(part, real: pd.DataFrame) -> pd.DataFrame:
    if isinstance(part, pd.DataFrame):
        part = part.reset_index(drop=True)
        part.columns = real.columns
        return part
    return pd.DataFrame(np.asarray(part, dtype=object), columns=real.columns)


def _numeric_frame(values: np.ndarray, dtypes: pd.Series) -> pd.DataFrame:
    """SMOTE or SMOTENC rows back into the input schema; integer columns are rounded, not truncated."""
    frame = pd.DataFrame(values, columns=dtypes.index)
    for name, dtype in dtypes.items():
        if pd.api.types.is_integer_dtype(dtype):
            frame[name] = np.round(frame[name])
    return frame.astype(dtypes.to_dict())


def _smote_with_gaps(rows: np.ndarray, n: int, k: int, rng) -> np.ndarray:
    """``n`` SMOTE rows from the members ``rows`` of one class, some of whose values are missing.

    Neighbours are found with every gap filled by its column's median among the members; a new
    row starts from a random member and moves a random fraction of the way to one of its ``k``
    nearest fellow members. Where the starting row has a gap, so does the new row (the class's
    missing values keep their pattern); where only the neighbour has one, the starting value is kept.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column with no value among the members
        medians = np.nan_to_num(np.nanmedian(rows, axis=0))
    start, toward, share = _smote_pairs(np.where(np.isnan(rows), medians, rows), n, k, rng)
    a, b = rows[start], rows[toward]
    new = a + share[:, None] * (b - a)
    return np.where(np.isnan(b), a, new)  # NaN exactly where the starting row has one


def _smote_pairs(points: np.ndarray, n: int, k: int, rng) -> tuple:
    """SMOTE's draws for ``n`` new rows among ``points`` (one class's rows, no NaN): the starting
    row, one of its ``k`` nearest fellow rows, and how far along the way to it the new row lies."""
    neighbours = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points, return_distance=False)[:, 1:]
    start = rng.integers(len(points), size=n)
    toward = neighbours[start, rng.integers(k, size=n)]
    return start, toward, rng.random(n)


def _interpolated_rows(X: pd.DataFrame, members: np.ndarray, n: int, rng) -> pd.DataFrame:
    """``n`` SMOTE-like rows of class ``members`` for a table that SMOTE and SMOTENC refuse:
    missing values, dates or durations among numbers and levels.

    Neighbours are found on the class's rows as the kNN filter compares rows
    (:func:`_plausibility_matrix`: numbers and times standardised, a gap at the mean with an
    indicator of its own, levels one-hot). A new row lies a random share of the way from a
    member to one of its nearest fellow members: numbers, dates and durations are interpolated
    (integers rounded, times to the coarsest step the class's own times keep, as the encoder
    does); each level, a missing one included, comes from whichever of the two rows is nearer.
    Where the starting row misses a value so does the new row; where only the other row misses
    it, the starting value is kept.
    """
    real = X.iloc[members].reset_index(drop=True)
    start, toward, share = _smote_pairs(_plausibility_matrix(real, real)[0], n, min(5, len(members) - 1), rng)
    columns = {}
    for name in X.columns:
        kind = "time" if is_duration(real[name].dtype) else column_kind(real[name])
        column = as_numpy_durations(real[name]) if kind == "time" else as_numpy_dates(real[name])
        a = column.iloc[start].reset_index(drop=True)
        b = column.iloc[toward].reset_index(drop=True)
        if kind == "categorical":
            columns[name] = a.where(share < 0.5, b)
            continue
        new = (a + (b - a) * share).where(b.notna(), a)
        if kind == "numeric":
            new = new.round() if pd.api.types.is_integer_dtype(X[name].dtype) else new
        elif column.notna().any():  # durations measured as dates after the epoch, as the encoder does
            present = column.dropna()
            step = _time_step(present if kind == "datetime" else pd.Timestamp(0) + present)
            new = _round_times(new, step) if step else new
        columns[name] = new
    return pd.DataFrame(columns).astype(X.dtypes.to_dict())


def _mixed_smote(X: pd.DataFrame, y, c, n_real: int, n: int, rng):
    """``(rows, "SMOTENC")`` for class ``c`` of a table of numeric and categorical or boolean
    columns, or None where SMOTENC does not apply: an all-numeric table (plain SMOTE's), a missing
    value or a date column. A table of levels only gets copies of real rows: SMOTEN gives each
    column the neighbours' most frequent level, and on a handful of rows that is nearly one row."""
    from imblearn.over_sampling import SMOTENC

    kinds = [column_kind(X[name]) for name in X.columns]
    durations = any(is_duration(d) for d in X.dtypes)
    if set(kinds) != {"numeric", "categorical"} or durations or X.isna().to_numpy().any():
        return None
    levels = [i for i, kind in enumerate(kinds) if kind == "categorical"]
    # Levels go in as codes (a column may mix ints and text, which SMOTENC's encoder refuses) and
    # numbers as floats (integer columns are rounded below, not truncated).
    plain, uniques = {}, {}
    for name, kind in zip(X.columns, kinds):
        if kind == "categorical":
            plain[name], uniques[name] = pd.factorize(X[name])
        else:
            plain[name] = X[name].astype(np.float64)
    sampler = SMOTENC(
        categorical_features=levels,
        sampling_strategy={c: n_real + n},
        k_neighbors=min(5, n_real - 1),
        random_state=int(rng.integers(2**31 - 1)),
    )
    new, _ = sampler.fit_resample(pd.DataFrame(plain), y)
    new = new.iloc[len(y):].reset_index(drop=True)
    for name, levels in uniques.items():
        new[name] = levels.take(new[name].to_numpy(dtype=np.int64))
    return _numeric_frame(new, X.dtypes), "SMOTENC"


def _nearest_member(members: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """For every candidate row, the position of its nearest real member; both as rows of
    :func:`_plausibility_matrix` (numeric columns standardised and levels one-hot over the
    whole real table)."""
    if len(candidates) == 0:
        return np.zeros(0, dtype=np.int64)
    return NearestNeighbors(n_neighbors=1).fit(members).kneighbors(candidates, return_distance=False)[:, 0]


def _plausibility_matrix(X_real, X_other):
    """Numeric matrices for a nearest-neighbour metric, fitted on the real rows.

    Numeric columns are standardised (missing -> 0 plus an indicator), other
    columns one-hot encoded over the real levels.
    """
    real = X_real if isinstance(X_real, pd.DataFrame) else pd.DataFrame(X_real)
    other = X_other if isinstance(X_other, pd.DataFrame) else pd.DataFrame(np.asarray(X_other), columns=real.columns)
    blocks_real, blocks_other = [], []
    for name in real.columns:
        a, b = real[name], other[name]
        if column_kind(a) != "categorical":
            va, vb = _numbers(a), _numbers(b)
            center = np.nanmean(va) if np.isfinite(va).any() else 0.0
            scale = np.nanstd(va) if np.isfinite(va).any() else 1.0
            scale = scale if scale > 0 else 1.0
            za, zb = (va - center) / scale, (vb - center) / scale
            ma, mb = np.isnan(za), np.isnan(zb)
            blocks_real.append(np.nan_to_num(za)[:, None])
            blocks_other.append(np.nan_to_num(zb)[:, None])
            if ma.any():
                blocks_real.append(ma[:, None].astype(float))
                blocks_other.append(mb[:, None].astype(float))
        else:
            levels = pd.Index(pd.unique(a.astype(object).where(a.notna(), None)))
            codes_a = levels.get_indexer(a.astype(object).where(a.notna(), None))
            codes_b = levels.get_indexer(b.astype(object).where(b.notna(), None))
            eye = np.eye(len(levels) + 1)[:, :-1]  # unknown level (-1) -> all zeros
            blocks_real.append(eye[codes_a])
            blocks_other.append(eye[codes_b])
    return np.hstack(blocks_real), np.hstack(blocks_other)


def _knn_acceptance(real_m, y, syn_m, y_syn, classes, k, quantile):
    """Which synthetic rows look like real members of their class, and a rank for the rest.

    Two neighbour tests, each calibrated on the real rows of the class
    (leave-one-out, so a real row is never its own neighbour):

    * class share: the share of the own class among the ``k`` nearest real
      rows must reach the ``quantile`` quantile of that share over the real
      members (drops rows that sit among other classes);
    * support: the distance to the nearest real member of the class must not
      exceed the ``1 - quantile`` quantile of the members' own
      nearest-member distances (drops rows outside the class's support).

    ``real_m`` and ``syn_m`` are the real and synthetic rows as numeric
    matrices in one metric space. Returns ``(accepted, rank)``; a higher rank
    is more plausible. The neighbour searches (:func:`_knn_measures`) do not
    depend on ``quantile``; only :func:`_knn_verdict` does.
    """
    return _knn_verdict(_knn_measures(real_m, y, syn_m, y_syn, classes, k), len(y_syn), quantile)


def _knn_measures(real_m, y, syn_m, y_syn, classes, k) -> dict:
    """The kNN filter's neighbour measures per class: ``{c: (rows, share, real_share,
    syn_gap, real_gap)}`` (the candidates of ``c``, their class share and distance to
    the nearest member, and the same two leave-one-out over the members), or
    ``{c: (rows, None, ...)}`` where the class cannot be judged (no candidate, or
    fewer than two members)."""
    k = min(k, len(y) - 1)
    nn = NearestNeighbors(n_neighbors=k + 1).fit(real_m)
    _, syn_idx = nn.kneighbors(syn_m, n_neighbors=k)
    share = (y[syn_idx] == y_syn[:, None]).mean(axis=1)
    measures = {}
    for c in classes:
        members = np.flatnonzero(y == c)
        rows = np.flatnonzero(y_syn == c)
        if rows.size == 0 or members.size < 2:
            measures[c] = (rows, None, None, None, None)
            continue
        _, idx = nn.kneighbors(real_m[members], n_neighbors=k + 1)
        own = idx == members[:, None]
        # Drop the row itself (wherever ties put it) and keep k neighbours.
        kept = np.where(own.any(axis=1)[:, None], ~own, np.arange(k + 1)[None, :] < k)
        real_share = np.array([(y[i[m]][:k] == c).mean() for i, m in zip(idx, kept)])
        inside = NearestNeighbors(n_neighbors=2).fit(real_m[members])
        real_gap = inside.kneighbors(real_m[members])[0][:, 1]
        syn_gap = inside.kneighbors(syn_m[rows], n_neighbors=1)[0][:, 0]
        measures[c] = (rows, share[rows], real_share, syn_gap, real_gap)
    return measures


def _knn_verdict(measures: dict, n_candidates: int, quantile) -> tuple:
    """``(accepted, rank)`` of the kNN filter at ``quantile``, from :func:`_knn_measures`."""
    accepted = np.zeros(n_candidates, dtype=bool)
    rank = np.full(n_candidates, -np.inf)
    for rows, share, real_share, syn_gap, real_gap in measures.values():
        if share is None:
            accepted[rows] = True
            continue
        max_gap = float(np.quantile(real_gap, 1.0 - quantile))
        accepted[rows] = (share >= np.quantile(real_share, quantile)) & (syn_gap <= max_gap)
        rank[rows] = share - syn_gap / max(max_gap, 1e-12)
    return accepted, rank


def _table_class_scores(X, y, X_syn, y_syn, seed, frames=False):
    """``(rank, member_scores)`` from a classifier trained on the real table rows.

    The classifier filter for tables: a candidate of class ``c`` is accepted when
    its probability of ``c`` reaches a quantile of the real members' out-of-fold
    probabilities of ``c`` (:func:`_passes_bar`). A rare class is rarely the most
    probable one, so the bar is relative to what its own members score, not 0.5.

    A ``HistGradientBoostingClassifier`` learns the class from the real rows
    (categorical columns native, as prepared for the fidelity metrics by
    :func:`~ganaugment.metrics._frames.model_frames`). ``rank`` is its
    probability of the requested class for every synthetic row;
    ``member_scores[c]`` holds the out-of-fold probabilities of ``c`` of the
    real members of ``c``, for every class requested in ``y_syn``. With
    ``frames=True`` the real and synthetic tables as the classifier read them
    come third, as a pair.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    real = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    syn = X_syn if isinstance(X_syn, pd.DataFrame) else pd.DataFrame(np.asarray(X_syn), columns=real.columns)
    real_m, syn_m = model_frames([real, syn], real.columns)
    y = np.asarray(y)
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    classes, counts = np.unique(y, return_counts=True)
    folds = int(min(5, max(2, counts[np.isin(classes, np.unique(y_syn))].min())))
    # One OpenMP thread, as for the fidelity metrics' classifiers: on the 2-core dev CPU the Adult
    # filter took 4.5 s either way when idle, but with one other gradient-boosting process on the
    # box 7.8 s on one thread against more than 120 s on two (benchmarks/filter_threads.py).
    with warnings.catch_warnings(), fit_threads(len(real_m)):
        # A class smaller than the number of folds only warns; its members still get a score.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        oof = cross_val_predict(
            model, real_m, y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed), method="predict_proba"
        )
        model.fit(real_m, y)
    proba = model.predict_proba(syn_m)
    rank = proba[np.arange(len(y_syn)), np.searchsorted(model.classes_, y_syn)]
    member_scores = {c: oof[y == c, np.searchsorted(model.classes_, c)] for c in np.unique(y_syn)}
    return (rank, member_scores, (real_m, syn_m)) if frames else (rank, member_scores)


def _passes_bar(rank, y_syn, member_scores, quantile) -> np.ndarray:
    """Whether each synthetic row's score reaches the ``quantile`` quantile of its class's members' scores."""
    accepted = np.zeros(len(y_syn), dtype=bool)
    for c, scores in member_scores.items():
        rows = np.flatnonzero(y_syn == c)
        accepted[rows] = rank[rows] >= np.quantile(scores, quantile)
    return accepted


def _choose_bar(X, y, X_syn, y_syn, wanted: dict, judge, seed: int, frames=None):
    """The filter's bar (``acceptance_quantile``) chosen by an inner cross-validation.

    For every bar in :data:`AUTO_BARS`, ``judge(bar)`` gives the candidates'
    ``(accepted, rank)`` and :func:`keep_accepted` the rows that bar would keep.
    The real rows are split in :data:`AUTO_FOLDS` (stratified; fewer when a requested
    class has fewer rows); on each split a gradient boosting classifier learns from
    the training part plus the same share of each bar's kept rows, and scores the F1
    of the requested classes (macro) on the held-out real rows. The bar of the best
    mean replaces the fixed default (the first in :data:`AUTO_BARS`, which also wins
    ties) only when its mean gain over the default exceeds one standard error of the
    per-split gains. Bars that keep the same rows are fitted once.

    The networks and the filter saw the held-out rows while training, so the
    scores are optimistic; they are only compared with one another.
    Returns ``(bar, {bar: mean F1})``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    if frames is None:
        real = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        syn = X_syn if isinstance(X_syn, pd.DataFrame) else pd.DataFrame(np.asarray(X_syn), columns=real.columns)
        frames = model_frames([real, syn], real.columns)
    real_m, syn_m = frames
    y, y_syn = np.asarray(y), np.asarray(y_syn)
    rows = [np.flatnonzero(y_syn == c) for c in wanted]
    kept = {}
    for bar in AUTO_BARS:
        passed, rank = judge(bar)
        kept[bar] = [r[keep_accepted(passed[r], rank[r], n)] for r, n in zip(rows, wanted.values())]
    labels = list(wanted)
    folds = int(min(AUTO_FOLDS, min(int(np.sum(y == c)) for c in labels)))
    scores = {bar: [] for bar in AUTO_BARS}
    with warnings.catch_warnings(), fit_threads(len(real_m)):
        warnings.simplefilter("ignore", UserWarning)  # a class with fewer rows than folds
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(real_m, y):
            share = len(train) / len(y)
            done = {}
            for bar in AUTO_BARS:
                rows = np.concatenate([k[: math.ceil(share * len(k))] for k in kept[bar]])
                key = rows.tobytes()
                if key not in done:
                    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
                    model.fit(
                        pd.concat([real_m.iloc[train], syn_m.iloc[rows]], ignore_index=True),
                        np.concatenate([y[train], y_syn[rows]]),
                    )
                    predicted = model.predict(real_m.iloc[test])
                    done[key] = f1_score(y[test], predicted, labels=labels, average="macro", zero_division=0)
                scores[bar].append(done[key])
    means = {bar: float(np.mean(values)) for bar, values in scores.items()}
    best = max(AUTO_BARS, key=lambda bar: (means[bar], -AUTO_BARS.index(bar)))
    gains = np.subtract(scores[best], scores[DEFAULT_BAR])
    if gains.mean() <= gains.std(ddof=1) / math.sqrt(len(gains)):
        best = DEFAULT_BAR  # not clearly better than the fixed bar: the inner scores are noisy on small classes
    return best, means
