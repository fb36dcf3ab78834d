"""GANAugmenter: the scikit-learn estimator that learns data with a conditional GAN."""

from __future__ import annotations

import numbers
import os
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._torch import autocast_dtype, resolve_device
from ._validation import (
    as_array,
    as_frame,
    call_rng,
    caller_stacklevel,
    check_class_counts,
    check_n_samples,
    check_sample_weight,
    check_table,
    check_target,
    did_you_mean,
    held_out_weights,
    kept_weights,
    scalar_label,
    seed_from,
    warn_conditions_set,
)
from .checkpoint import Checkpointer
from .images import fitting as _images
from .images.codec import ImageCodec, looks_like_images
from .images.model import ImageGAN
from .metrics.diagnostics import warn_mode_collapse
from .metrics.gate import FidelityWarning, failed_thresholds, gate_holdout, run_gate
from .persistence import PersistableMixin
from .tabular.encoder import TableEncoder
from .tabular.model import TabularGAN
from .training import TrainingConfig, train_resumable

__all__ = ["GANAugmenter"]

TABLE_EPOCHS = 300  # default passes over a table when ``epochs=None``
TABLE_BATCH_SIZE = 500  # default rows per step for a table when ``batch_size=None``
# Rows generated after fit for the mode-collapse check and the fidelity gate.
CHECK_ROWS_MIN, CHECK_ROWS_MAX = 1000, 20000


class GANAugmenter(PersistableMixin, TransformerMixin, BaseEstimator):
    """Learn a table or a set of images with a conditional GAN and generate synthetic samples.

    The generator and discriminator are MLPs trained with the standard
    minimax GAN game: the discriminator maximises
    ``log D(x) + log(1 - D(G(z)))`` (binary cross-entropy on logits) and the
    generator plays the non-saturating form of the same game. Numeric columns
    are encoded with mode-specific normalisation, categorical columns as
    one-hot slots, and training-by-sampling over the categorical columns makes
    rare levels part of the game.

    Images (``kind="image"``, or detected from a 3D / 4D array or an
    ``image_shape``) are learned by a class-conditional DCGAN whose layer stack
    is sized from the image shape (see :mod:`ganaugment.images`), trained by
    the same loop; samples come back in the layout, dtype and value range of
    the training images. Parameters that only shape the tabular model must
    stay at their defaults for images.

    Parameters
    ----------
    epochs : int or None, default=None
        Passes over the training data. ``None`` picks the default of the
        data kind: 300 for tables; for images, as many epochs as make 2,500
        training steps.
    batch_size : int or None, default=None
        Rows per training step, at least 2 (the networks' batch
        normalisation needs two rows); rounded down to a multiple of ``pac``.
        ``None`` picks the default of the data kind: 500 for tables, 64 for
        images.
    generator_dim : tuple of int, default=(128, 128)
        Widths of the generator's residual blocks.
    discriminator_dim : tuple of int, default=(128, 128)
        Widths of the discriminator's hidden layers.
    noise_dim : int, default=128
        Size of the generator's noise input.
    pac : int, default=10
        Rows packed into one discriminator input (PacGAN), against mode
        collapse.
    dropout : float, default=0.25
        Dropout in the discriminator.
    lr_generator, lr_discriminator : float, default=2e-4
        Adam learning rates.
    discriminator_steps : int, default=1
        Discriminator updates per generator update.
    tau : float, default=0.2
        Gumbel-softmax temperature of the generator's discrete outputs.
    max_modes : int, default=10
        Most Gaussian modes per numeric column.
    max_categories : int or None, default=500
        Levels a categorical column keeps as their own slot; rarer levels are
        pooled and drawn with their observed frequency when the pooled slot is
        generated (no unseen level is ever produced). ``None`` keeps all.
    categorical_features : list of str or int, default=None
        Columns to treat as categorical whatever their dtype (names for a
        DataFrame, positions for an array).
    condition_columns : list of str, default=None
        Categorical columns whose value each row of :meth:`transform` keeps
        from the matching input row.
    clip : bool, default=True
        Keep generated numeric values inside the observed min/max.
    calibrate : bool, default=True
        Make generated levels follow the real frequencies (tables only).
        After training, one logit offset per level of every discrete output
        (category, missing-value flag, mode of a numeric column) is fitted
        per class (see the user guide). ``False`` samples from the trained
        generator as it is.
    time_limit : float or None, default=None
        Stop training after this many seconds (checked once per epoch);
        ``history_`` then marks its last epoch ``time_limit_reached=True``.
    checkpoint_dir : str, path-like or None, default=None
        Folder where training is saved atomically every ``checkpoint_every``
        epochs and when it ends (``checkpoint.gan``, itself a loadable model).
        A fit given a folder that holds a checkpoint resumes from it, and
        refuses a checkpoint written with other data or hyperparameters
        (``epochs``, ``time_limit``, ``verbose``, ``device``,
        ``cuda_graph``, ``checkpoint_every`` and ``on_low_quality`` may
        change). Tables and images alike.
    checkpoint_every : int, default=10
        Epochs between two checkpoints.
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Where to train. ``"auto"`` uses CUDA when it is available.
    kind : {"auto", "table", "image"}, default="auto"
        What X holds. ``"auto"``: images when X is a 3D or 4D array or
        ``image_shape`` is given, a table otherwise.
    image_shape : tuple of int, default=None
        Shape of one image when X holds flat rows, such as
        ``image_shape=(8, 8)`` for ``sklearn.datasets.load_digits().data``:
        ``(H, W)``, ``(H, W, C)`` or ``(C, H, W)``.
    mixed_precision : {"auto", "bf16"} or None, default=None
        Run the training forward passes (tables and images) under bfloat16
        autocast; weights, optimiser state and sampling stay float32.
        ``"auto"`` does so on a CUDA device that supports bfloat16 and
        changes nothing on CPU; ``"bf16"`` does so on any device (CPU
        included; on a CPU without native bfloat16 it is slower, see
        ``docs/benchmarks.md``). ``None`` trains in float32.
    cuda_graph : bool, default=True
        On a CUDA device, record one training step as a CUDA graph after
        three warm-up steps and replay it for every later step, which removes
        the per-kernel launch cost that bounds these small networks on a GPU
        (tables and images). If recording fails, training goes on without it
        and a warning says why. No effect on CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds every random draw. The same seed, data and CPU give identical
        samples; no global random state is read or changed.
    verbose : bool, default=False
        Show a progress bar with the live losses.
    validation_fraction : float or None, default=None
        Share of the rows (or images) held out of training to score the
        fitted model on (the fidelity gate). ``None`` holds out 0.2 when
        ``min_quality`` or ``max_detection_auc`` is set and nothing otherwise. With ``y`` the split is
        stratified. Images need at least 6 held out.
    min_quality : float or None, default=None
        Fidelity gate threshold, in [0, 1]. ``None`` turns the gate off
        (unless ``validation_fraction`` is set, which scores without a
        threshold). The score compared with it, ``quality_score_``, depends
        on the data kind. Tables: the SDMetrics quality score of generated
        rows against the held-out rows. Images: as many images as were held
        out are generated, with their classes, and compared with them on the
        features of a small CNN trained on the training images (see
        :func:`~ganaugment.images.metrics.image_quality_score`); the score is
        the coverage (share of held-out images whose nearest-neighbour ball
        holds a generated image; about 0.97 for a perfect generator), and
        with ``y`` the smaller of the coverage and the class accuracy (share
        of generated images that the CNN assigns to their requested class).
    max_detection_auc : float or None, default=None
        Second fidelity gate threshold, for tables: the largest detection
        ROC AUC accepted (a classifier telling generated rows from the
        held-out rows; 0.5 when they cannot be told apart, 1.0 when every
        generated row is recognised). SDMetrics' quality score compares
        columns one by one and in pairs, so a model can pass ``min_quality``
        while its rows are easy to tell from real ones; this catches that.
        ``None`` turns the check off. Images: must be None.
    on_low_quality : {"warn", "raise", "fallback"}, default="warn"
        What a failed gate (a quality score below ``min_quality``, or a
        detection AUC above ``max_detection_auc``) does: ``"warn"`` warns
        and keeps the model usable; ``"raise"`` raises
        :class:`~ganaugment.LowFidelityError` from ``fit``; ``"fallback"``
        warns, and from then on :meth:`sample` returns no rows (no images)
        and :meth:`transform` returns its input unchanged (each with a
        :class:`~ganaugment.FidelityWarning`), so no unchecked synthetic row
        or image reaches a downstream model.

    Attributes
    ----------
    kind_ : {"table", "image"}
        The data kind the model learned.
    encoder_ : TableEncoder
        The fitted reversible table encoder (tables).
    codec_ : ImageCodec
        The fitted image layout / range codec (images).
    model_ : TabularGAN or ImageGAN
        The networks and the condition statistics.
    history_ : list of dict
        One entry per epoch: ``epoch`` (counted from 1), ``loss_d``,
        ``loss_g``, ``d_real``, ``d_fake`` (mean discriminator probabilities,
        both near 1/2 at the equilibrium) and ``seconds``; an epoch rolled
        back after a non-finite loss also holds ``rolled_back=True``, and the
        epoch after which ``time_limit`` stopped training before ``epochs``
        holds ``time_limit_reached=True``.
    classes_ : ndarray or None
        Class labels when fitted with ``y``.
    quality_score_ : float or None
        Quality score of the fidelity gate (None when the gate is off).
    fidelity_report_ : FidelityReport or None
        The gate's report: generated rows against the held-out rows (for
        images, ``kind="image"``: the image metrics and the classifier's
        accuracy on the held-out real images, ``real_class_accuracy``).
    gate_passed_ : bool or None
        Whether the gate let the model through (None when the gate is off).
    device_ : torch.device
        Device the networks live on.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when X has string column names.

    See Also
    --------
    GANOverSampler : imbalanced-learn over-sampler built on this model.

    Examples
    --------
    >>> import pandas as pd
    >>> from ganaugment import GANAugmenter
    >>> X = pd.DataFrame({"age": [23, 35, 47, 51, 62, 29] * 20,
    ...                   "city": ["a", "b", "a", "c", "b", "a"] * 20})
    >>> gan = GANAugmenter(epochs=2, random_state=0).fit(X)
    >>> synthetic = gan.sample(5)
    >>> synthetic.shape, list(synthetic.dtypes.astype(str))
    ((5, 2), ['int64', 'object'])
    """

    _parameter_constraints: dict = {
        "epochs": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(numbers.Integral, 2, None, closed="left"), None],
        "generator_dim": [tuple, list],
        "discriminator_dim": [tuple, list],
        "noise_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "pac": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "lr_generator": [Interval(numbers.Real, 0, None, closed="neither")],
        "lr_discriminator": [Interval(numbers.Real, 0, None, closed="neither")],
        "discriminator_steps": [Interval(numbers.Integral, 1, None, closed="left")],
        "tau": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_modes": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_categories": [Interval(numbers.Integral, 2, None, closed="left"), None],
        "categorical_features": [list, tuple, None],
        "condition_columns": [list, tuple, None],
        "clip": ["boolean"],
        "calibrate": ["boolean"],
        "time_limit": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "checkpoint_dir": [str, os.PathLike, None],
        "checkpoint_every": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [str],
        "kind": [StrOptions({"auto", "table", "image"})],
        "image_shape": [tuple, list, None],
        "mixed_precision": [StrOptions({"auto", "bf16"}), None],
        "cuda_graph": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "min_quality": [Interval(numbers.Real, 0, 1, closed="both"), None],
        "max_detection_auc": [Interval(numbers.Real, 0, 1, closed="both"), None],
        "on_low_quality": [StrOptions({"warn", "raise", "fallback"})],
    }

    def __init__(
        self,
        *,
        epochs=None,
        batch_size=None,
        generator_dim=(128, 128),
        discriminator_dim=(128, 128),
        noise_dim=128,
        pac=10,
        dropout=0.25,
        lr_generator=2e-4,
        lr_discriminator=2e-4,
        discriminator_steps=1,
        tau=0.2,
        max_modes=10,
        max_categories=500,
        categorical_features=None,
        condition_columns=None,
        clip=True,
        calibrate=True,
        time_limit=None,
        checkpoint_dir=None,
        checkpoint_every=10,
        device="auto",
        kind="auto",
        image_shape=None,
        mixed_precision=None,
        cuda_graph=True,
        random_state=None,
        verbose=False,
        validation_fraction=None,
        min_quality=None,
        max_detection_auc=None,
        on_low_quality="warn",
    ):
        self.epochs = epochs
        self.batch_size = batch_size
        self.generator_dim = generator_dim
        self.discriminator_dim = discriminator_dim
        self.noise_dim = noise_dim
        self.pac = pac
        self.dropout = dropout
        self.lr_generator = lr_generator
        self.lr_discriminator = lr_discriminator
        self.discriminator_steps = discriminator_steps
        self.tau = tau
        self.max_modes = max_modes
        self.max_categories = max_categories
        self.categorical_features = categorical_features
        self.condition_columns = condition_columns
        self.clip = clip
        self.calibrate = calibrate
        self.time_limit = time_limit
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.kind = kind
        self.image_shape = image_shape
        self.mixed_precision = mixed_precision
        self.cuda_graph = cuda_graph
        self.random_state = random_state
        self.verbose = verbose
        self.validation_fraction = validation_fraction
        self.min_quality = min_quality
        self.max_detection_auc = max_detection_auc
        self.on_low_quality = on_low_quality

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Train the GAN on ``X`` (conditioned on the class ``y`` when given).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table. Numeric, categorical, boolean and datetime columns,
            with missing values, are all learned. Or images: an array of
            shape (n, H, W), (n, H, W, C), (n, C, H, W), or flat rows with
            ``image_shape``.
        y : array-like of shape (n_samples,), default=None
            Class labels to condition on.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights (survey or design weights, say): the
            GAN learns the weighted distribution. Training draws each row
            with probability proportional to its weight (a row of weight 0 is
            never drawn), and generated classes and levels follow the
            weighted frequencies. The fidelity gate compares the generated
            rows with its held-out rows weighted the same way (see
            :func:`~ganaugment.evaluate`'s ``sample_weight``; the image gate
            compares with the held-out images as they are). The encoder's
            column statistics (value modes, level lists) are unweighted.
            Equal weights give exactly the unweighted fit.

        Returns
        -------
        self : GANAugmenter

        Notes
        -----
        A fit that raises (bad input found after some fitted attributes
        were replaced, a failed training run, the fidelity gate's
        ``LowFidelityError``) leaves the estimator as it was before the
        call: a previously fitted model stays whole and usable.
        """
        before = dict(self.__dict__)
        try:
            return self._fit(X, y, sample_weight)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit(self, X, y, sample_weight):
        if self.kind == "image" or (self.kind == "auto" and looks_like_images(X, self.image_shape)):
            self.kind_ = "image"
            _images.fit_images(self, X, y, sample_weight)
            return self
        if self.image_shape is not None:
            raise ValueError("image_shape was given with kind='table'; drop it or use kind='image'.")
        self.kind_ = "table"
        for name in ("codec_", "_image_columns"):
            if hasattr(self, name):
                delattr(self, name)  # a table refit of an image model: nothing may describe the old images
        frame, self._input_kind = self._prepare_fit_input(X)
        classes, class_codes = (None, None) if y is None else check_target(y, len(frame), estimator=self)
        weights = check_sample_weight(sample_weight, len(frame), class_codes, classes)
        self._validate_hyperparameters(frame)
        checkpointer, resumed = self._open_checkpoint(frame, y, weights)
        if resumed is not None:
            self._refuse_checkpoint_beyond(checkpointer, TABLE_EPOCHS if self.epochs is None else int(self.epochs))
        self.classes_ = classes
        self._reset_gate()
        self._y_dtype = None if y is None else np.asarray(y).dtype
        # A resumed fit replays the seed of the fit it resumes: same draws, same result.
        seed = seed_from(self.random_state) if resumed is None else checkpointer.seed
        rng = np.random.default_rng(seed)
        check_rng, kept, held = gate_holdout(self, len(frame), seed, y=class_codes)
        if held is not None and self.condition_columns:
            kept, held = self._learn_every_condition_value(frame, kept, held)
        validation = None
        if held is not None:
            validation = (
                frame.iloc[held].reset_index(drop=True), None if y is None else class_codes[held],
                held_out_weights(weights, held),
            )
            frame = frame.iloc[kept].reset_index(drop=True)
            class_codes = None if y is None else class_codes[kept]
            weights = kept_weights(weights, kept, class_codes, classes)
        self.device_ = resolve_device(self.device)
        started = time.perf_counter()
        encoder = self._make_encoder(frame, rng)
        self.encoder_ = encoder.fit(frame, weights) if resumed is None else resumed.encoder_
        self._condition_groups()
        encoded = self.encoder_.transform_compact(frame, rng)
        self.encode_seconds_ = time.perf_counter() - started
        n_classes = 0 if classes is None else len(classes)
        model_seed = int(rng.integers(2**63 - 1))
        if resumed is None:
            self.model_ = TabularGAN(self.encoder_, n_classes, self._network_params(), self.device_, model_seed)
        else:
            self.model_ = resumed.model_
        # Training draws from the model's own torch generator, never from rng,
        # so this is the generator an uninterrupted fit ends with too.
        self._sample_rng = np.random.default_rng(int(rng.integers(2**63 - 1)))
        self.model_.set_training_data(encoded, class_codes, weights)
        batch = self._effective_batch_size(len(frame))
        config = self._training_config(
            epochs=TABLE_EPOCHS if self.epochs is None else int(self.epochs),
            steps_per_epoch=max(1, len(frame) // batch),
            batch_size=batch,
            description="GANAugmenter",
        )
        self.history_ = [] if resumed is None else list(resumed.history_)
        calibrate = (lambda: self.model_.calibrate(np.random.default_rng([seed, 2]))) if self.calibrate else None
        train_resumable(self.model_, config, self.history_, checkpointer, resumed is not None, seed, calibrate)
        self.fit_seconds_ = time.perf_counter() - started
        self._check_fit(frame, validation, check_rng, weights)
        return self

    def _training_config(self, *, epochs, steps_per_epoch, batch_size, description, **overrides):
        """The :class:`TrainingConfig` of a fit: this estimator's training settings, and ``overrides``."""
        settings = dict(
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            batch_size=batch_size,
            lr_generator=self.lr_generator,
            lr_discriminator=self.lr_discriminator,
            discriminator_steps=self.discriminator_steps,
            verbose=bool(self.verbose),
            description=description,
            time_limit=self.time_limit,
            autocast_dtype=autocast_dtype(self.mixed_precision, self.device_),
            cuda_graph=self.cuda_graph,
        )
        settings.update(overrides)
        return TrainingConfig(**settings)

    def _open_checkpoint(self, data, y, weights=None):
        """``(Checkpointer, checkpointed estimator)``; both None without checkpoint_dir.

        ``data`` is the table (a DataFrame) or the images as given (an array),
        fingerprinted with ``y`` and the row ``weights``. The caller checks the
        checkpoint's epoch against its epoch count with :meth:`_refuse_checkpoint_beyond`.
        """
        if self.checkpoint_dir is None:
            return None, None
        checkpointer = Checkpointer(self, self.checkpoint_dir, self.checkpoint_every, data, y, weights)
        found = checkpointer.resume(self.device)
        if found is None:
            return checkpointer, None
        resumed, _ = found
        return checkpointer, resumed

    def _refuse_checkpoint_beyond(self, checkpointer, epochs: int) -> None:
        """A checkpoint past ``epochs`` cannot be resumed into this fit: say so."""
        if checkpointer.saved_epoch > epochs:
            raise ValueError(
                f"checkpoint_dir {self.checkpoint_dir!r} holds a checkpoint at epoch {checkpointer.saved_epoch}, "
                f"beyond epochs={epochs}; raise epochs to train on, or pass another checkpoint_dir to start over."
            )

    def _reset_gate(self) -> None:
        """Gate off until the fit's gate has run (so no checkpoint carries a previous fit's verdict)."""
        self.quality_score_, self.fidelity_report_, self.gate_passed_ = None, None, None
        self._fallback = False

    def _check_fit(self, frame, validation, rng, weights=None):
        """Post-fit checks: mode collapse always (levels' shares weighted as in the fit), the fidelity
        gate when it is on."""
        self._reset_gate()
        n_check = min(max(len(frame), CHECK_ROWS_MIN), CHECK_ROWS_MAX)
        synthetic, classes = self._generate(n_check, None, {}, rng=rng)
        warn_mode_collapse(frame, synthetic, weights=weights)
        if validation is None:
            return
        held, held_codes, held_weights = validation
        if self.classes_ is not None:
            name = "class"
            while name in held.columns:  # a free column name for the class
                name += "_"
            held = held.assign(**{name: self.classes_[held_codes].astype(str)})
            synthetic = synthetic.assign(**{name: self.classes_[classes].astype(str)})
        report, passed = run_gate(
            held, synthetic, min_quality=self.min_quality, on_low_quality=self.on_low_quality,
            max_detection_auc=self.max_detection_auc, model=self,
            random_state=int(rng.integers(2**31 - 1)), sample_weight=held_weights,
        )
        self.quality_score_, self.fidelity_report_, self.gate_passed_ = report.quality_score, report, passed
        self._fallback = not passed and self.on_low_quality == "fallback"

    def _gate_failures(self) -> str:
        """Why the fidelity gate rejected this model, e.g. ``"quality 0.412 < min_quality=0.7"``."""
        failed = failed_thresholds(
            self.fidelity_report_, min_quality=self.min_quality, max_detection_auc=self.max_detection_auc
        )
        said = {
            "min_quality": "quality {:.3f} < min_quality={}",
            "max_detection_auc": "detection AUC {:.3f} > max_detection_auc={}",
        }
        return ", ".join(said[name].format(figure, getattr(self, name)) for name, figure in failed.items())

    def _fallback_warning(self, what: str):
        warnings.warn(
            f"The fidelity gate rejected this model ({self._gate_failures()}); {what}.",
            FidelityWarning,
            stacklevel=caller_stacklevel(),
        )

    def _prepare_fit_input(self, X):
        frame, kind = as_frame(X, estimator=self, reset=True)
        check_table(frame, min_rows=2)
        return frame, kind

    def _make_encoder(self, frame, rng) -> TableEncoder:
        """An unfitted TableEncoder configured from this estimator's parameters."""
        return TableEncoder(
            max_modes=self.max_modes,
            max_categories=self.max_categories,
            categorical_features=self._categorical_names(frame),
            clip=self.clip,
            random_state=int(rng.integers(2**31 - 1)),
        )

    def _categorical_names(self, frame):
        if self.categorical_features is None:
            return None
        names = []
        for feature in self.categorical_features:
            if isinstance(feature, (bool, np.bool_)):
                raise TypeError(
                    "categorical_features takes column names or positions, not a boolean mask; "
                    f"got {self.categorical_features!r}."
                )
            if isinstance(feature, numbers.Integral) and feature not in frame.columns:
                if not -frame.shape[1] <= feature < frame.shape[1]:
                    raise ValueError(f"categorical_features index {feature} is out of range for {frame.shape[1]} columns.")
                names.append(frame.columns[feature])
            else:
                names.append(feature)
        return names

    def _check_restored(self) -> None:
        """Called by :meth:`load`: a fitted model's attributes must have the types a fit gives them.

        The file format checks every value it decodes, but not what the
        estimator makes of them; a crafted file could otherwise load and
        fail at the first ``sample``.
        """
        if not hasattr(self, "model_"):
            return  # saved unfitted
        kind = getattr(self, "kind_", None)
        if kind not in ("table", "image"):
            raise ValueError(f"kind_ is {kind!r}, not 'table' or 'image'")
        expected = {"model_": TabularGAN, "encoder_": TableEncoder, "_sample_rng": np.random.Generator}
        if kind == "image":
            expected.update(model_=ImageGAN, codec_=ImageCodec)
            del expected["encoder_"]
        for name, cls in expected.items():
            value = getattr(self, name, None)
            if not isinstance(value, cls):
                raise TypeError(f"{name} is a {type(value).__name__}, not a {cls.__name__}")
        columns = getattr(self, "_image_columns", None)
        if columns is not None and not (isinstance(columns, list) and len(columns) == self.n_features_in_):
            raise TypeError(f"_image_columns is not a list of {self.n_features_in_} column names: {columns!r:.80}")
        classes = getattr(self, "classes_", None)
        if classes is not None and not (isinstance(classes, np.ndarray) and classes.ndim == 1 and len(classes) >= 2):
            raise TypeError(f"classes_ is not a 1-D array of at least two classes: {classes!r:.80}")
        n_classes = self.model_.n_classes if kind == "image" else self.model_.layout.n_classes
        if (0 if classes is None else len(classes)) != n_classes:
            raise ValueError(f"classes_ names {0 if classes is None else len(classes)} classes; the networks have {n_classes}")
        if kind == "image":
            codec = self.codec_
            layouts = ("gray", "last", "first", "flat_gray", "flat_last", "flat_first")
            if codec.layout_ not in layouts or codec.shape_ != tuple(self.model_.shape):
                raise ValueError(
                    f"the image codec (layout {codec.layout_!r}, shape {codec.shape_}) does not fit the networks' "
                    f"images of shape {tuple(self.model_.shape)}"
                )
            if not (np.isfinite([codec.low_, codec.high_]).all() and codec.low_ < codec.high_):
                raise ValueError(f"the image codec's value range ({codec.low_}, {codec.high_}) is not a range")
            if codec.dtype_.kind not in "biuf":
                raise ValueError(f"the image codec's dtype {codec.dtype_} does not hold pixel values")
        else:
            if getattr(self, "_input_kind", None) not in ("frame", "array"):
                raise ValueError(f"_input_kind is {getattr(self, '_input_kind', None)!r}, not 'frame' or 'array'")
            self.encoder_.check_restored()

    def _condition_groups(self) -> list:
        """``condition_columns`` as a list, each checked to be a categorical column of the fitted table."""
        groups = list(self.condition_columns or ())
        for column in groups:
            if column not in self.encoder_.columns_:
                raise ValueError(
                    f"condition_columns names {column!r}, which is not a column the model was fitted on."
                    + did_you_mean(column, self.encoder_.columns_)
                )
            if self.encoder_.state_of(column).kind != "categorical":
                raise ValueError(
                    f"condition_columns names {column!r}, a numeric column; conditions are only supported on "
                    "categorical columns (pass it in categorical_features to treat it as one)."
                )
        return groups

    def _learn_every_condition_value(self, frame, kept, held):
        """Give back to training one held-out row of every ``condition_columns`` value (a gap
        included) that the fidelity gate's hold-out would otherwise take out of training entirely:
        the model would never learn it, could not be asked for it, and ``transform`` of the fitted
        table would refuse its rows. The same seed still gives the same split."""
        for column in self.condition_columns:
            values = frame[column]
            learned, aside = values.iloc[kept], values.iloc[held].reset_index(drop=True)
            unlearned = ~aside.isin(learned.dropna()) & aside.notna()
            if learned.notna().all():
                unlearned |= aside.isna()
            back = aside[unlearned].drop_duplicates().index.to_numpy()  # a gap is one value here
            if back.size:
                kept = np.sort(np.concatenate([kept, held[back]]))
                held = np.delete(held, back)
        if len(held) < 2:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves {len(held)} row(s) to check once every "
                f"value of condition_columns {list(self.condition_columns)} keeps a row to train on; the gate "
                "needs at least 2. Use a larger validation_fraction or more rows."
            )
        return kept, held

    def _validate_hyperparameters(self, frame):
        for name in ("generator_dim", "discriminator_dim"):
            widths = getattr(self, name)
            positive = all(isinstance(w, numbers.Integral) and not isinstance(w, bool) and w >= 1 for w in widths)
            if not positive or (name == "generator_dim" and len(widths) == 0):
                raise ValueError(f"{name} must hold positive int widths, got {widths!r}.")
        for column in self.condition_columns or ():
            if column not in frame.columns:
                raise ValueError(
                    f"condition_columns names {column!r}, which is not a column of X."
                    + did_you_mean(column, frame.columns)
                )

    def _network_params(self) -> dict:
        return {
            "noise_dim": int(self.noise_dim),
            "generator_dim": [int(w) for w in self.generator_dim],
            "discriminator_dim": [int(w) for w in self.discriminator_dim],
            "pac": int(self.pac),
            "dropout": float(self.dropout),
            "tau": float(self.tau),
        }

    def _schedule(self, X) -> tuple:
        """``(steps per epoch, epochs when epochs=None)`` that :meth:`fit` would use on ``X``."""
        if self.kind == "image" or (self.kind == "auto" and looks_like_images(X, self.image_shape)):
            _, steps_per_epoch, epochs = _images.image_schedule(self, len(X), epochs=None)
            return steps_per_epoch, epochs
        return max(1, len(X) // self._effective_batch_size(len(X))), TABLE_EPOCHS

    def _effective_batch_size(self, n_rows: int) -> int:
        batch_size = TABLE_BATCH_SIZE if self.batch_size is None else self.batch_size
        batch = min(int(batch_size), max(n_rows, self.pac))
        return max(self.pac, batch - batch % self.pac)

    # --------------------------------------------------------------- sample
    def sample(self, n_samples=None, *, y=None, conditions=None, random_state=None):
        """Generate synthetic rows.

        Parameters
        ----------
        n_samples : int, default=None
            Number of rows. May be left out when ``y`` is an array or a dict,
            which then fix the count.
        y : class label, array-like of labels or dict {label: count}, default=None
            Classes of the generated rows (models fitted with ``y`` only).
            Without it, classes follow the training frequencies.
        conditions : dict {column: value}, default=None
            Categorical column values that every generated row must hold.
        random_state : int, RandomState instance or None, default=None
            Seeds this call alone: the same value gives the same rows,
            whatever was sampled before, and the model's own stream is left
            where it was. None continues that stream, so successive calls
            give new rows (a fitted or loaded model with a fixed
            ``random_state`` still gives the same sequence of calls).

        Returns
        -------
        X_synthetic : DataFrame or ndarray
            Same container and schema as the training X.
        y_synthetic : ndarray
            Only for models fitted with ``y``: the class of every row.
        """
        check_is_fitted(self, "model_")
        n_samples, class_codes = self._resolve_sample_request(n_samples, y)
        rng = call_rng(random_state)
        if getattr(self, "kind_", "table") == "image":
            if conditions:
                raise ValueError("conditions apply to table columns; an image model takes only y.")
            if getattr(self, "_fallback", False):
                self._fallback_warning("sample() returns no images")
                empty = _images.as_output(
                    self, self.codec_.inverse_transform(np.zeros((0, *self.codec_.shape_), dtype=np.float32))
                )
                return empty if self.classes_ is None else (empty, self.classes_[:0])
            images, classes = _images.generate_images(self, n_samples, class_codes, rng)
            return images if self.classes_ is None else (images, self.classes_[classes])
        fixed = self._resolve_conditions(conditions, class_codes)
        if getattr(self, "_fallback", False):
            self._fallback_warning("sample() returns no rows")
            X_out = self._to_output(self.encoder_.empty_frame())
            return X_out if self.classes_ is None else (X_out, self.classes_[:0])
        frame, classes = self._generate(n_samples, class_codes, fixed, rng=rng)
        X_out = self._to_output(frame)
        if self.classes_ is None:
            return X_out
        return X_out, self.classes_[classes]

    def sample_to_file(
        self, path, n_samples=None, *, chunk_size=100_000, y=None, conditions=None, target="class", progress=None,
        random_state=None,
    ):
        """Stream synthetic rows to a CSV or Parquet file, ``chunk_size`` rows at a time.

        Memory depends on ``chunk_size``, not on ``n_samples``. The file is
        written under a temporary name next to ``path`` and renamed onto it
        once complete. Its columns and dtypes are those of :meth:`sample`
        (Parquet keeps them exactly; CSV keeps the text). The rows are the
        ones that consecutive ``sample(chunk_size)`` calls would return.

        Parameters
        ----------
        path : str or path-like
            Destination; the format follows the extension: ``.csv``,
            ``.tsv`` (optionally ``.gz``), ``.parquet`` or ``.pq``.
        n_samples : int, default=None
            Number of rows; may be left out when ``y`` is a dict or an
            array (one row per entry).
        chunk_size : int, default=100_000
            Rows generated and written at a time.
        y, conditions
            As in :meth:`sample`.
        target : str, default="class"
            Name of the class column appended to the rows of a model fitted
            with ``y``.
        progress : bool, default=None
            Show a progress bar of the rows written; ``None`` follows
            ``verbose``.
        random_state : int, RandomState instance or None, default=None
            As in :meth:`sample`: seeds this file alone, the same value
            gives the same file.

        Returns
        -------
        path : str

        Notes
        -----
        A model that the fidelity gate rejected with
        ``on_low_quality="fallback"`` writes a table with its columns and no
        rows, with a :class:`~ganaugment.FidelityWarning`, as :meth:`sample`
        returns no rows.
        """
        from .streaming import write_samples

        check_is_fitted(self, "model_")
        if getattr(self, "kind_", "table") == "image":
            raise ValueError("sample_to_file writes tables; this model learned images. Use sample() instead.")
        return write_samples(
            self, path, n_samples, chunk_size=chunk_size, y=y, conditions=conditions, target=target,
            progress=bool(self.verbose) if progress is None else bool(progress), rng=call_rng(random_state),
        )

    def _resolve_sample_request(self, n_samples, y):
        y = scalar_label(y)
        if y is None:
            return check_n_samples(n_samples), None
        if self.classes_ is None:
            raise ValueError("y was given to sample(), but the model was fitted without y.")
        codes = None  # a class or a dict: each class is looked up once, then repeated
        if isinstance(y, dict):
            parts = check_class_counts(y)
            keys = np.empty(len(parts), dtype=object)
            keys[:] = [label for label, _ in parts]
            # An unknown class is refused even with a count of 0, as sample_to_file does.
            codes = np.repeat(self._class_codes(keys), [count for _, count in parts])
            given = f"the {len(codes)} rows asked for in the y dict"
        elif np.ndim(y) == 0:
            n = check_n_samples(n_samples)
            codes = np.repeat(self._class_codes(np.asarray([y], dtype=object)), n)
        else:
            if np.ndim(y) > 1:
                raise ValueError(f"y must be one class, a 1-D sequence of classes or a dict; got shape {np.shape(y)}.")
            labels = np.asarray(y, dtype=object).ravel()
            given = f"the {len(labels)} labels given in y"
        size = len(labels) if codes is None else len(codes)
        if n_samples is not None and (isinstance(y, dict) or np.ndim(y) != 0) and int(n_samples) != size:
            raise ValueError(f"n_samples={n_samples} does not match {given}.")
        check_n_samples(size)
        return size, self._class_codes(labels) if codes is None else codes

    def _class_codes(self, labels) -> np.ndarray:
        known = pd.Index(self.classes_).tolist()  # Timestamps for datetime classes, where .tolist() gives ints
        lookup = {_hashable(c): i for i, c in enumerate(known)}
        # Look up each distinct label once, then broadcast (no loop over rows).
        inverse, uniques = pd.factorize(pd.Series(labels, dtype=object), use_na_sentinel=False)
        per_label = np.array([lookup.get(_hashable(u), -1) for u in uniques], dtype=np.int64)
        codes = per_label[inverse]
        if (codes < 0).any():
            unknown = sorted((u for u, c in zip(uniques, per_label) if c < 0), key=repr)
            if any(np.ndim(u) == 0 and pd.isna(u) for u in unknown):
                raise ValueError(f"y asks for a missing class (None or NaN); the model was fitted on classes {known}.")
            raise ValueError(
                f"Unknown class {', '.join(map(repr, unknown[:5]))}; the model was fitted on classes {known}."
                + did_you_mean(unknown[0], known)
            )
        return codes

    def _resolve_conditions(self, conditions, classes=None) -> dict:
        """``{choice column: (column, value, slot)}`` for ``conditions``, checked against the training data.

        ``classes`` (class codes, or None when the classes are drawn) are
        the classes the rows will have: each of them must have held every
        condition value in the training data, and a drawn class must hold
        them all at once, or the request names rows the model never saw.
        """
        if not conditions:
            return {}
        if not isinstance(conditions, dict):
            raise TypeError("conditions must be a dict {column: value}.")
        lay = self.model_.layout
        counts = self.model_.counts
        fixed = {}
        for column, value in conditions.items():
            if column not in self.encoder_.columns_:
                raise ValueError(
                    f"conditions names {column!r}, which is not a column the model was fitted on."
                    + did_you_mean(column, self.encoder_.columns_)
                )
            if column not in lay.columns:
                raise ValueError(
                    f"Column {column!r} is numeric; conditions are only supported on categorical columns."
                )
            j = lay.columns.index(column)
            level = self.encoder_.level_index(column, value)
            if counts[:, lay.slot_offsets[j] + level].sum() == 0:
                raise ValueError(
                    f"Value {value!r} of column {column!r} was never learned: every training row holding it had "
                    "sample_weight 0."
                )
            fixed[j] = (column, value, int(lay.slot_offsets[j] + level))
        if self.classes_ is None:
            return fixed
        described = ", ".join(f"{c}={v!r}" for c, v, _ in fixed.values())
        held = np.all(counts[:, [slot for _, _, slot in fixed.values()]] > 0, axis=1)
        if classes is None:
            if not held.any():
                raise ValueError(f"No class of the training data holds {described} together; no rows can be drawn.")
            return fixed
        missing = [c for c in np.unique(classes) if not held[c]]
        if missing:
            names = ", ".join(repr(v) for v in self.classes_[missing[:5]].tolist())
            raise ValueError(
                f"Class {names} never occurs with {described} in the training data; "
                "ask for a class that does, or leave y out to draw classes that hold the condition."
            )
        return fixed

    def _generate(self, n_samples, class_codes, fixed, max_rounds: int = 20, rng=None, forced=None):
        """Generate rows; rows breaking a fixed condition are redrawn (bounded).

        Rows still breaking it after ``max_rounds`` get the value set directly, with a warning;
        a list given as ``forced`` collects ``(conditions, rows set)`` instead, for a caller that
        generates in parts (transform's groups, a file's chunks) to warn once.
        """
        rng = self._sample_rng if rng is None else rng
        model = self.model_
        lay = model.layout
        slots_fixed = {j: s for j, (_, _, s) in fixed.items()}
        # A row honours a condition when the generator drew the condition's slot. A value pooled
        # beyond max_categories shares its slot with the column's other rare values, and decoding
        # draws one of those at random, so such a value is set on the rows of that slot.
        pooled = [(column, value) for j, (column, value, s) in fixed.items()
                  if self.encoder_.is_pooled_slot(column, s - int(lay.slot_offsets[j]))]
        frames, class_parts = [], []
        need_classes = class_codes
        remaining = n_samples
        for _ in range(max_rounds):
            n_draw = remaining if not fixed else int(remaining * 1.2) + 16
            draw_classes = None if need_classes is None else np.resize(need_classes, n_draw)
            slot, classes = model.draw_conditions(n_draw, draw_classes, slots_fixed, rng)
            encoded = model.sample_encoded(slot, classes, seed=int(rng.integers(2**63 - 1)), keep_condition=bool(fixed))
            frame = self.encoder_.inverse_transform(encoded, rng)
            if fixed:
                keep = np.ones(len(frame), dtype=bool)
                for j, (_, _, s) in fixed.items():
                    keep &= encoded.codes[:, lay.code_columns[j]] == s - lay.slot_offsets[j]
                if need_classes is not None:
                    # Keep the requested class order: take the first rows of each class.
                    keep_idx = _first_per_class(classes, keep, need_classes)
                else:
                    keep_idx = np.flatnonzero(keep)[:remaining]
                frame, classes = frame.iloc[keep_idx], classes[keep_idx]
                for column, value in pooled:
                    _set_value(frame, column, value)
            frames.append(frame)
            class_parts.append(classes)
            remaining -= len(frame)
            if need_classes is not None:
                need_classes = _still_needed(need_classes, classes)
            if remaining <= 0:
                break
        if remaining > 0:
            described = ", ".join(f"{c}={v!r}" for c, v, _ in fixed.values())
            if forced is None:
                warn_conditions_set(f"the condition {described}", remaining, n_samples)
            else:
                forced.append((described, remaining))
            draw_classes = None if need_classes is None else need_classes
            slot, classes = model.draw_conditions(remaining, draw_classes, slots_fixed, rng)
            frame = self.encoder_.inverse_transform(
                model.sample_encoded(slot, classes, seed=int(rng.integers(2**63 - 1)), keep_condition=True), rng
            )
            for column, value, _ in fixed.values():
                _set_value(frame, column, value)
            frames.append(frame)
            class_parts.append(classes)
        frame = pd.concat(frames, ignore_index=True)
        classes = np.concatenate(class_parts)
        if class_codes is not None:
            order = _order_like(classes, class_codes)
            frame, classes = frame.iloc[order].reset_index(drop=True), classes[order]
        return frame, classes

    def _to_output(self, frame: pd.DataFrame):
        if self._input_kind == "frame":
            return frame
        return frame.to_numpy()

    # ------------------------------------------------------------ transform
    def transform(self, X, y=None):
        """Return a synthetic table with as many rows as ``X``.

        Where the model is conditioned, each synthetic row keeps the
        condition of the matching input row: its class when the model was
        fitted with ``y`` and ``y`` is passed here, and the values of
        ``condition_columns``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Same columns as at fit.
        y : array-like of shape (n_samples,), default=None
            Classes to keep, for a model fitted with ``y``.

        Returns
        -------
        X_synthetic : DataFrame or ndarray of shape (n_samples, n_features)
            A DataFrame keeps the row index of ``X`` (as scikit-learn
            transformers do, so pandas output lines up in a
            ``ColumnTransformer``): synthetic row ``i`` stands in for row
            ``i`` of ``X`` and shares its conditions.
        """
        check_is_fitted(self, "model_")
        is_image = getattr(self, "kind_", "table") == "image"
        if is_image:
            if not self.codec_.layout_.startswith("flat_"):
                self._refuse_table_output_for_stacked_images()
            n_rows = _images.check_images(self, X)
            if getattr(self, "_fallback", False):
                self._fallback_warning("transform() returns its input images unchanged")
                return X.copy() if isinstance(X, pd.DataFrame) else np.array(X, copy=True)
        else:
            frame, _ = as_frame(X, estimator=self, reset=False)
            check_table(frame, min_rows=1)
            groups = self._condition_groups()
            # Only the condition columns' values are used: a level the fit never saw elsewhere (a
            # test set's rare country, a level the gate held out) changes nothing in the output.
            self.encoder_.check_frame(frame, levels_of=groups)
            n_rows = len(frame)
            if getattr(self, "_fallback", False):
                self._fallback_warning("transform() returns its input rows unchanged")
                return self._to_output(frame.copy())
        class_codes = None
        if y is not None and self.classes_ is None:
            raise ValueError("y was given to transform(), but the model was fitted without y.")
        if y is not None:
            y = np.asarray(y, dtype=object).ravel()
            if len(y) != n_rows:
                raise ValueError(f"y has {len(y)} labels but X has {n_rows} rows.")
            class_codes = self._class_codes(y)
        if is_image:
            return _images.generate_images(self, n_rows, class_codes)[0]
        if not groups:
            out, _ = self._generate(len(frame), class_codes, {})
            return self._to_output(out.set_axis(frame.index, axis=0))
        # One generation per distinct combination of condition values.
        keys = frame[groups].astype(object).where(frame[groups].notna(), None)
        key_series = pd.Series(list(map(tuple, keys.to_numpy())), index=range(len(frame)))
        requests = []  # every group is checked before any is drawn: a refused one leaves the stream as it was
        for key, positions in key_series.groupby(key_series, sort=False).groups.items():
            positions = np.asarray(list(positions))
            codes = None if class_codes is None else class_codes[positions]
            requests.append((positions, codes, self._resolve_conditions(dict(zip(groups, key)), codes)))
        parts, forced = [], []
        for positions, codes, fixed in requests:
            out, _ = self._generate(len(positions), codes, fixed, forced=forced)
            out.index = positions
            parts.append(out)
        if forced:  # one warning, not one per group of rows
            what = f"the condition {forced[0][0]}" if len(requests) == 1 else (
                f"the conditions of {len(forced)} of {len(requests)} groups of rows (the first: {forced[0][0]})"
            )
            warn_conditions_set(what, sum(n for _, n in forced), len(frame))
        out = pd.concat(parts).sort_index()
        return self._to_output(out.set_axis(frame.index, axis=0))

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then return a synthetic twin of ``X`` (same rows count and schema)."""
        if not isinstance(X, pd.DataFrame) and np.ndim(as_array(X)) > 2:
            self._refuse_table_output_for_stacked_images()  # before training, not after it
        self._refuse_unlearned_condition_values(X, fit_params.get("sample_weight"))
        return self.fit(X, y, **fit_params).transform(X, y)

    def _refuse_unlearned_condition_values(self, X, sample_weight) -> None:
        """Before training: a row of ``X`` whose ``condition_columns`` value only rows of weight 0 hold
        could not get a synthetic twin after the fit (the model never learns that value)."""
        if sample_weight is None or not self.condition_columns or not isinstance(X, pd.DataFrame):
            return
        try:
            weights = np.asarray(sample_weight, dtype=np.float64)
        except (TypeError, ValueError):
            return  # fit names the problem
        if weights.shape != (len(X),):
            return
        for column in self.condition_columns:
            if column not in X.columns:
                return  # fit names the problem
            mass = pd.Series(weights).groupby(X[column].to_numpy(), dropna=True).sum()
            unlearned = mass.index[mass.to_numpy() == 0].tolist()
            if unlearned:
                raise ValueError(
                    f"Column {column!r} (a condition column) holds {unlearned[0]!r} only in rows of sample_weight 0: "
                    "the model would never learn it, so those rows of X could get no synthetic twin. Drop them "
                    "from X, or fit, then transform the rows of positive weight."
                )

    def _refuse_table_output_for_stacked_images(self) -> None:
        container = _get_output_config("transform", self)["dense"]
        if container != "default":
            raise ValueError(
                f"transform output {container!r} (set by set_output or sklearn.set_config(transform_output=...)) "
                "needs one row per image, but this model takes stacked images; fit it on flat rows with "
                "image_shape=(H, W[, C]), or use set_output(transform='default')."
            )

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "n_features_in_")
        return _check_feature_names_in(self, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.non_deterministic = False
        tags.transformer_tags.preserves_dtype = []
        return tags


def _hashable(value):
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value)  # .item() of a nanosecond datetime64 is an int
    if isinstance(value, np.timedelta64):
        return pd.Timedelta(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _set_value(frame: pd.DataFrame, column, value) -> None:
    """Set ``value`` on every row of ``frame[column]``, keeping the column's dtype."""
    frame[column] = pd.Series([value] * len(frame), index=frame.index).astype(frame[column].dtype)


def _first_per_class(classes, keep, needed) -> np.ndarray:
    """Indices of kept rows, no more per class than ``needed`` asks."""
    want = np.bincount(needed, minlength=classes.max(initial=0) + 1)
    kept = np.flatnonzero(keep)
    rank = pd.Series(classes[kept]).groupby(classes[kept]).cumcount().to_numpy()
    return kept[rank < want[classes[kept]]]


def _still_needed(needed, produced) -> np.ndarray:
    size = max(needed.max(initial=0), produced.max(initial=0)) + 1
    rest = np.bincount(needed, minlength=size) - np.bincount(produced, minlength=size)
    return np.repeat(np.arange(size), np.maximum(rest, 0))


def _order_like(classes, requested) -> np.ndarray:
    """Permutation of ``classes`` that lines them up with ``requested``."""
    order = np.empty(len(requested), dtype=np.int64)
    order[np.argsort(requested, kind="stable")] = np.argsort(classes, kind="stable")
    return order
