r"""``LinearClassifier``: multinomial logistic (softmax) regression with the seed's layout.

The model is the seed notebook's: ``logits = X @ W + b`` with ``W`` of shape
(n_features, n_classes) and ``b`` of shape (n_classes,), probabilities ``softmax(logits)``,
trained by minibatch gradient descent on the weighted mean cross-entropy plus an L2 penalty on
``W`` (see :mod:`scratchlin.objective`):

.. math:: J(W, b) = \frac{\sum_i w_i \ell_i(x_i W + b)}{\sum_i w_i}
          + \frac{\lambda}{2} \lVert W \rVert_F^2

This module is the scikit-learn-style facade: it checks hyperparameters and data, maps labels
to columns (:mod:`scratchlin._labels`), speaks scikit-learn's protocol
(:mod:`scratchlin._sklearn_compat`) and hands the work to :mod:`scratchlin.training`.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from . import _threads, objective, optim, persistence
from . import _validation as v
from . import functional as F
from ._inputs import check_features, check_sample_weight
from ._labels import check_classes, check_targets, class_weights_of, encode, row_weights
from ._sklearn_compat import (
    EstimatorParams,
    NotFittedError,
    check_feature_names,
    classifier_tags,
    feature_names_of,
    not_fitted_error,
)
from .preprocessing import RAW_PIXEL_SCALE
from .training import (
    Parameters,
    Trainer,
    TrainingSettings,
    decision_function,
    evaluate,
    split_validation,
)

__all__ = ["LR_SCHEDULES", "LinearClassifier", "NotFittedError", "OPTIMIZERS"]

# Names kept for scratchlin.cli, read from optim's registries (the one list of each).
LR_SCHEDULES = tuple(optim.SCHEDULES)
OPTIMIZERS = tuple(optim.OPTIMIZERS)
# What fit (or partial_fit) sets; an interrupted or failed call puts back what was there.
_FITTED_STATE = ("_params", "_trainer", "_trainer_class_weights", "classes_", "n_features_in_",
                 "feature_names_in_", "history_", "n_iter_")
# Below this many rows, prediction runs in whatever BLAS pool the caller has: entering and
# leaving threadpoolctl's limits took 2.9-3.7 ms (OpenBLAS, 2 cores, shared machine), more than
# X @ W itself up to a few hundred rows (8 us at 32 rows), against ~18 ms for 2048 rows.
_SMALL_PREDICT_ROWS = 2048


def _without_zero_weights(X, labels, weights):
    """``(X, labels, weights)`` without the rows of weight 0.

    They change nothing in the objective, but a minibatch made only of them would have a
    weighted mean of 0/0. Leaving them out costs a copy of the other rows, made only when
    some weight is 0.
    """
    if weights is None or weights.all():
        return X, labels, weights
    keep = np.flatnonzero(weights)
    return X[keep], labels[keep], weights[keep]


class LinearClassifier(EstimatorParams):
    r"""Softmax-regression classifier trained by minibatch SGD or Adam, in pure NumPy.

    Hyperparameters are stored unchanged by ``__init__`` and checked by :meth:`fit`
    (scikit-learn's convention). The defaults (Adam, 15 epochs of batches of 128, cosine
    schedule) reach the linear ceiling on MNIST, about 92.8% test accuracy on pixels scaled to
    [0, 1], in a few seconds on two cores.

    It follows scikit-learn's estimator protocol without importing scikit-learn: ``clone``,
    ``Pipeline``, ``GridSearchCV``, ``cross_val_score`` and ``CalibratedClassifierCV`` work on
    it, and ``dask_ml.wrappers.Incremental`` trains it block by block through
    :meth:`partial_fit` (README, "scikit-learn and Dask").

    Parameters
    ----------
    lr : float or None, default=None
        Base learning rate (> 0); ``None`` takes the optimizer's default from
        ``scratchlin.optim``'s registry (``2e-3`` for Adam, ``0.1`` for SGD).
    epochs : int, default=15
        Passes over the training data in :meth:`fit` (>= 1); also the length of the
        ``"cosine"`` and ``"step"`` schedules, which :meth:`partial_fit` follows one call per
        epoch.
    batch_size : int, default=128
        Rows per minibatch (>= 1; capped at N). With ``batch_size >= N`` training is full-batch
        and integer ``sample_weight`` is exactly equivalent to repeating rows.
    optimizer : str, default="adam"
        A name in ``scratchlin.optim``'s registry (``"adam"``, ``"sgd"``, ...).
    momentum : float, default=0.9
        Heavy-ball momentum of SGD (ignored by the others).
    nesterov : bool, default=False
        Nesterov momentum for SGD.
    weight_decay : float, default=0.0
        :math:`\lambda`, the L2 penalty on ``W`` (not ``b``), part of the objective and of
        ``loss_and_grad``.
    label_smoothing : float in [0, 1], default=0.0
        As in :func:`scratchlin.cross_entropy`.
    lr_schedule : {"constant", "step", "cosine"} or callable, default="cosine"
        Learning rate per epoch, ``schedule(lr, epoch)``; see :mod:`scratchlin.optim`. Each
        :meth:`fit` restarts it at epoch 0; :meth:`partial_fit` advances it by one per call.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved for ``patience`` epochs, and restore
        the best parameters. Uses ``X_val, y_val`` if given to ``fit``, else holds out
        ``validation_fraction`` of the training rows.
    validation_fraction : float in (0, 1), default=0.1
        Held-out share of the training rows when early stopping without ``X_val``.
    patience : int, default=3
        Epochs without improvement before stopping.
    raw_pixels : bool, default=False
        Accept uint8 pixels and scale them by 1/255 batch by batch (no float copy of the
        data set is ever made, even from an ``np.memmap``). Without it uint8 features are
        refused with a TypeError (pixels in 0..255 are the classic mistake); other integer
        features are converted to ``dtype``.
    seed : int, numpy.random.Generator or None, default=None
        Source of the shuffles (and of the validation split). The same int gives
        bit-identical weights on the same machine.
    dtype : {"float32", "float64"}, default="float32"
        Dtype of the parameters and of the computation.
    verbose : bool, default=False
        Print one line per epoch.
    callback : callable or None, default=None
        Called with each epoch's history record (a dict). While it runs, the model's ``W``
        and ``b`` hold that epoch's parameters, so it may call e.g. ``model.score``.
    class_weight : dict, "balanced" or None, default=None
        Weight of each class in the objective, multiplying ``sample_weight``: a dict
        ``{label: weight}`` (labels not named weigh 1), or ``"balanced"``,
        ``N / (n_classes * count(label))`` from the training labels (not with
        :meth:`partial_fit`).
    warm_start : bool, default=False
        If the model is fitted, :meth:`fit` starts from its ``W`` and ``b`` instead of zeros
        (same classes and features required), with a fresh optimizer and the schedule
        restarted at epoch 0.
    tol : float or None, default=None
        With a number, :meth:`fit` stops when the training loss has not improved by ``tol``
        for ``n_iter_no_change`` consecutive epochs (scikit-learn's rule); the schedule is
        still the one of ``epochs`` (a cosine is cut short, not compressed). ``None`` runs all
        ``epochs``.
    n_iter_no_change : int, default=5
        Epochs without improvement that stop training when ``tol`` is set.
    n_threads : int or None, default=None
        BLAS threads for training and (on inputs of 2048 rows or more) prediction; ``None``
        lets scratchlin's thread policy decide.

    Attributes
    ----------
    W : ndarray of shape (n_features, n_classes)
        Read-only property: the fitted weights (the very array training updates).
    b : ndarray of shape (n_classes,)
        Read-only property: the fitted biases.
    coef_ : ndarray of shape (n_classes, n_features)
        ``W.T``, scikit-learn's layout (a view).
    intercept_ : ndarray of shape (n_classes,)
        ``b``.
    classes_ : ndarray of shape (n_classes,)
        The sorted labels, in their own dtype; column ``k`` of ``W`` scores ``classes_[k]``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str objects, shape (n_features,)
        Column names of a DataFrame ``X`` given to ``fit`` (only then).
    history_ : list of dict
        Per epoch (or per :meth:`partial_fit` call): ``epoch``, ``train_loss`` (mean
        minibatch objective as optimised, penalty included), ``lr``, ``seconds`` and, with
        validation, ``val_loss``, ``val_accuracy``.
    n_iter_ : int
        Epochs run by the last :meth:`fit` (fewer than ``epochs`` after early stopping or
        ``tol``), or calls to :meth:`partial_fit` since its first.
    """

    _estimator_type = "classifier"  # scikit-learn < 1.6 reads this instead of the tags

    def __init__(self, *, lr=None, epochs=15, batch_size=128, optimizer="adam", momentum=0.9,
                 nesterov=False, weight_decay=0.0, label_smoothing=0.0, lr_schedule="cosine",
                 early_stopping=False, validation_fraction=0.1, patience=3, raw_pixels=False,
                 seed=None, dtype="float32", verbose=False, callback=None, class_weight=None,
                 warm_start=False, tol=None, n_iter_no_change=5, n_threads=None):
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.raw_pixels = raw_pixels
        self.seed = seed
        self.dtype = dtype
        self.verbose = verbose
        self.callback = callback
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.n_threads = n_threads

    # -- scikit-learn protocol ----------------------------------------------------------------

    def __sklearn_tags__(self):
        return classifier_tags(self)

    def __sklearn_is_fitted__(self) -> bool:
        return "_params" in self.__dict__

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise not_fitted_error(
                f"this {type(self).__name__} is not fitted yet: call fit(X, y) or "
                "LinearClassifier.from_params(W, b) first"
            )

    @property
    def W(self) -> np.ndarray:
        """The weights, shape (n_features, n_classes); updated in place by training."""
        self._check_fitted()
        return self._params.W

    @property
    def b(self) -> np.ndarray:
        """The biases, shape (n_classes,)."""
        self._check_fitted()
        return self._params.b

    @property
    def coef_(self) -> np.ndarray:
        """``W.T``, shape (n_classes, n_features): scikit-learn's layout, a view."""
        return self.W.T

    @property
    def intercept_(self) -> np.ndarray:
        """``b``, shape (n_classes,)."""
        return self.b

    # -- hyperparameters ----------------------------------------------------------------------

    def _settings(self) -> TrainingSettings:
        """Check every training hyperparameter and resolve names through optim's registries."""
        optimizer = self.optimizer.lower() if isinstance(self.optimizer, str) else self.optimizer
        v.check_choice(optimizer, "optimizer", OPTIMIZERS)
        momentum = v.check_real(self.momentum, "momentum", low=0.0, high=1.0, high_open=True)
        nesterov = v.check_bool(self.nesterov, "nesterov")
        if nesterov and optimizer == "sgd" and momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0")
        epochs = v.check_int(self.epochs, "epochs", low=1)
        if not callable(self.lr_schedule):
            v.check_choice(self.lr_schedule, "lr_schedule", LR_SCHEDULES)
        lr = (optim.DEFAULT_LR[optimizer] if self.lr is None
              else v.check_real(self.lr, "lr", low=0.0, low_open=True))
        options, weight_decay = optim.OPTIMIZERS[optimizer].estimator_options(
            momentum=momentum, nesterov=nesterov,
            weight_decay=v.check_real(self.weight_decay, "weight_decay", low=0.0))
        return TrainingSettings(
            lr=lr,
            batch_size=v.check_int(self.batch_size, "batch_size", low=1),
            optimizer=optimizer,
            optimizer_options=options,
            weight_decay=weight_decay,
            label_smoothing=v.check_real(self.label_smoothing, "label_smoothing", low=0.0, high=1.0),
            lr_schedule=optim.make_schedule(self.lr_schedule, epochs=epochs),
            input_scale=self._input_scale(),
            n_threads=None if self.n_threads is None else v.check_int(self.n_threads, "n_threads", low=1),
            verbose=v.check_bool(self.verbose, "verbose"),
            callback=self.callback,
        )

    def _stopping_rules(self) -> dict:
        """``Trainer.fit``'s keyword arguments for early stopping and ``tol``."""
        early_stopping = v.check_bool(self.early_stopping, "early_stopping")
        tol = None if self.tol is None else v.check_real(self.tol, "tol", low=0.0)
        return dict(early_stopping=early_stopping,
                    patience=v.check_int(self.patience, "patience", low=1),
                    tol=tol,
                    n_iter_no_change=v.check_int(self.n_iter_no_change, "n_iter_no_change", low=1))

    def _input_scale(self) -> float:
        return RAW_PIXEL_SCALE if v.check_bool(self.raw_pixels, "raw_pixels") else 1.0

    # -- fitting ------------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train on ``(X, y)``, from zero weights (or the fitted ones with ``warm_start``).

        If training fails or is interrupted (an error, ``KeyboardInterrupt`` from a
        callback), the model keeps the fit it had before the call, or stays unfitted.

        Parameters
        ----------
        X : array_like of shape (N, F), float (or uint8 with ``raw_pixels=True``)
            Finite features, e.g. ``to_float(flatten(images))``, or a DataFrame.
        y : array_like of shape (N,)
            Class labels (integers, bools, strings or whole floats), at least two distinct.
        sample_weight : array_like of shape (N,) or None, default=None
            Non-negative weight of each row in the objective (``w_i`` above); integer weights
            act as repeated rows (exactly so with full-batch training).
        X_val : array_like of shape (M, F), default=None
            Validation features, evaluated after each epoch (``history_``).
        y_val : array_like of shape (M,), default=None
            Validation labels, among those of ``y``.

        Returns
        -------
        self
        """
        settings, rules = self._settings(), self._stopping_rules()
        rng = v.as_generator(self.seed)
        warm = v.check_bool(self.warm_start, "warm_start") and self.__sklearn_is_fitted__()
        dtype = self._params.W.dtype if warm else v.check_float_dtype(self.dtype)
        names = feature_names_of(X)
        X = check_features(X, dtype, raw_pixels=self.raw_pixels, min_rows=1)
        y = check_targets(y, X.shape[0], owner=type(self).__name__)
        classes = np.unique(y)
        if classes.shape[0] < 2:
            raise ValueError(f"y must hold at least 2 classes to train a classifier, got 1 "
                             f"class: {classes.tolist()}")
        if warm:
            self._check_same_problem(classes, X.shape[1])
        labels = encode(y, classes)
        weights = row_weights(check_sample_weight(sample_weight, X.shape[0], dtype),
                              class_weights_of(self.class_weight, classes, labels, dtype), labels)
        X, labels, weights, validation = self._validation_data(
            X, labels, weights, classes, X_val, y_val, rules["early_stopping"], rng, dtype)
        X, labels, weights = _without_zero_weights(X, labels, weights)
        params = (self._params.copy() if warm
                  else Parameters(X.shape[1], classes.shape[0], dtype))
        with self._previous_fit_kept_on_error():
            self._set_fitted(params, classes, names)
            history = self._train(Trainer(params, settings, rng), X, labels, weights, validation, rules)
            self.history_, self.n_iter_ = history, len(history)
        return self

    def _train(self, trainer, X, labels, weights, validation, rules) -> list:
        """The one call into the training loop (BLAS threads are set by the trainer)."""
        epochs = v.check_int(self.epochs, "epochs", low=1)
        return trainer.fit(X, labels, epochs=epochs, sample_weight=weights,
                           validation=validation, **rules)

    def _check_same_problem(self, classes, n_features) -> None:
        if not np.array_equal(classes, self.classes_):
            raise ValueError(f"warm_start=True needs the classes of the fitted model "
                             f"{self.classes_.tolist()}, got {classes.tolist()}")
        self._check_n_features(n_features)

    def _check_n_features(self, n_features, name="X") -> None:
        if n_features != self.n_features_in_:
            raise ValueError(f"{name} has {n_features} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input")

    def _set_fitted(self, params, classes, names) -> None:
        """Bind the new state (so a callback sees the parameters being trained)."""
        for name in _FITTED_STATE:
            self.__dict__.pop(name, None)
        self._params, self.classes_, self.n_features_in_ = params, classes, params.W.shape[0]
        if names is not None:
            self.feature_names_in_ = names

    @contextlib.contextmanager
    def _previous_fit_kept_on_error(self):
        """On any exception (``KeyboardInterrupt`` included), put back the fitted state that
        was there before, or none."""
        previous = {name: self.__dict__[name] for name in _FITTED_STATE if name in self.__dict__}
        try:
            yield
        except BaseException:
            for name in _FITTED_STATE:
                self.__dict__.pop(name, None)
            self.__dict__.update(previous)
            raise

    def _validation_data(self, X, labels, weights, classes, X_val, y_val, early_stopping, rng, dtype):
        """``(X, labels, weights, validation)`` after setting validation rows aside, if any."""
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val and y_val must be given together")
        if X_val is not None:
            X_val = check_features(X_val, dtype, raw_pixels=self.raw_pixels, name="X_val", min_rows=1)
            if X_val.shape[1] != X.shape[1]:
                raise ValueError(f"X_val has {X_val.shape[1]} features, X has {X.shape[1]}")
            y_val = check_targets(y_val, X_val.shape[0], name="y_val", X_name="X_val")
            return X, labels, weights, (X_val, encode(y_val, classes, name="y_val"))
        if not early_stopping:
            return X, labels, weights, None
        fraction = v.check_real(self.validation_fraction, "validation_fraction",
                                low=0.0, high=1.0, low_open=True, high_open=True)
        train_rows, val_rows = split_validation(X.shape[0], fraction, rng)
        if weights is None:
            return X[train_rows], labels[train_rows], None, (X[val_rows], labels[val_rows])
        return (X[train_rows], labels[train_rows], weights[train_rows],
                (X[val_rows], labels[val_rows], weights[val_rows]))

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One pass over ``(X, y)``, continuing the optimizer state of the previous call.

        The first call needs ``classes``, every label the coming chunks may hold (as in
        scikit-learn), unless the model is already fitted (by ``fit`` or ``from_params``):
        then training continues from its parameters. The first call builds the optimizer
        and draws the shuffles from ``seed``; each call is one epoch of ``lr_schedule``
        (set ``epochs`` to the number of calls planned, or use ``lr_schedule="constant"``).
        Hyperparameters are read on the first call; early stopping and ``tol`` do not apply
        (each call is one pass); :meth:`fit` starts over.

        Parameters
        ----------
        X : array_like of shape (N, F)
        y : array_like of shape (N,)
        classes : array_like of shape (C,), default=None
            All the labels, required on the first call.
        sample_weight : array_like of shape (N,) or None, default=None

        Returns
        -------
        self
        """
        if "_trainer" not in self.__dict__:
            return self._first_partial_fit(X, y, classes, sample_weight)
        self._check_classes_unchanged(classes)
        X, labels, weights = self._check_more_data(X, y, sample_weight, class_weights=self._trainer_class_weights)
        record = self._trainer.partial_fit(*_without_zero_weights(X, labels, weights))
        self.history_.append(record)
        self.n_iter_ = self._trainer.epochs_done
        return self

    def _first_partial_fit(self, X, y, classes, sample_weight):
        settings = self._settings()
        if self.__sklearn_is_fitted__():
            self._check_classes_unchanged(classes)
            classes, names, params = self.classes_, getattr(self, "feature_names_in_", None), self._params.copy()
            X, labels, weights_in = self._check_more_data(X, y, sample_weight, class_weights=None)
        else:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit: all "
                                 "the labels the chunks may hold, e.g. classes=np.arange(10)")
            classes = check_classes(classes)
            dtype = v.check_float_dtype(self.dtype)
            names = feature_names_of(X)
            X = check_features(X, dtype, raw_pixels=self.raw_pixels, min_rows=1)
            y = check_targets(y, X.shape[0], owner=type(self).__name__)
            labels = encode(y, classes, known_as="the classes passed to partial_fit")
            weights_in = check_sample_weight(sample_weight, X.shape[0], dtype)
            params = Parameters(X.shape[1], classes.shape[0], dtype)
        class_weights = class_weights_of(self.class_weight, classes, None, params.W.dtype)
        weights = row_weights(weights_in, class_weights, labels)
        trainer = Trainer(params, settings, v.as_generator(self.seed))
        with self._previous_fit_kept_on_error():
            self._set_fitted(params, classes, names)
            self._trainer, self._trainer_class_weights = trainer, class_weights
            self.history_ = [trainer.partial_fit(*_without_zero_weights(X, labels, weights))]
            self.n_iter_ = trainer.epochs_done
        return self

    def _check_classes_unchanged(self, classes) -> None:
        if classes is not None and not np.array_equal(check_classes(classes), self.classes_):
            raise ValueError(f"classes={np.asarray(classes).tolist()} differs from the classes "
                             f"of the model {self.classes_.tolist()}")

    def _check_more_data(self, X, y, sample_weight, *, class_weights):
        """Check a chunk against the fitted model; labels must be among ``classes_``."""
        check_feature_names(self, X, reset=False)
        X = check_features(X, self._params.W.dtype, raw_pixels=self.raw_pixels, min_rows=1)
        self._check_n_features(X.shape[1])
        y = check_targets(y, X.shape[0], owner=type(self).__name__)
        labels = encode(y, self.classes_, known_as="the model's classes")
        weights = check_sample_weight(sample_weight, X.shape[0], self._params.W.dtype)
        return X, labels, row_weights(weights, class_weights, labels)

    # -- prediction ---------------------------------------------------------------------------

    def _check_predict_X(self, X) -> np.ndarray:
        self._check_fitted()
        check_feature_names(self, X, reset=False)
        X = check_features(X, self._params.W.dtype, raw_pixels=self.raw_pixels)
        self._check_n_features(X.shape[1])
        return X

    def _logits(self, X) -> np.ndarray:
        """``s X W + b``, shape (N, n_classes), after checking ``X``."""
        X = self._check_predict_X(X)
        with self._predict_threads(X.shape[0]):
            return decision_function(X, self._params, input_scale=self._input_scale())

    def _predict_threads(self, n_rows: int):
        """The BLAS thread limit for a prediction of ``n_rows`` rows, or none for small ones."""
        if n_rows < _SMALL_PREDICT_ROWS:
            return contextlib.nullcontext()
        n_threads = _threads.choose_n_threads(self.n_threads, batch_size=n_rows,
                                              n_features=self.n_features_in_,
                                              n_classes=self.classes_.shape[0])
        return _threads.blas_threads(n_threads)

    def decision_function(self, X) -> np.ndarray:
        """Logits ``X @ W + b``, or with two classes the log-odds of ``classes_[1]``.

        Parameters
        ----------
        X : array_like of shape (N, F), float (uint8 with ``raw_pixels=True``)

        Returns
        -------
        ndarray of shape (N, n_classes), or (N,) with two classes (scikit-learn's
        convention for binary classifiers: ``logits[:, 1] - logits[:, 0]``, positive where
        ``classes_[1]`` is predicted); the model's dtype
        """
        logits = self._logits(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``softmax(X @ W + b)``, shape (N, n_classes); rows sum to 1."""
        return F.softmax(self._logits(X), axis=1)

    def predict_log_proba(self, X) -> np.ndarray:
        """Log-probabilities ``log_softmax(X @ W + b)``, shape (N, n_classes)."""
        return F.log_softmax(self._logits(X), axis=1)

    def predict(self, X) -> np.ndarray:
        """Most probable label of each row, shape (N,), from ``classes_`` (their dtype)."""
        logits = self._logits(X)  # checks fitted first
        return self.classes_[np.argmax(logits, axis=1)]

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy: the (weighted) fraction of rows whose predicted label equals ``y``."""
        X = self._check_predict_X(X)
        y = check_targets(y, X.shape[0], owner=type(self).__name__)
        if X.shape[0] == 0:
            raise ValueError("X must hold at least one row to score, got 0")
        weights = check_sample_weight(sample_weight, X.shape[0], np.dtype(np.float64))
        return float(np.average(self.predict(X) == y, weights=weights))

    def evaluate(self, X, y):
        """Mean cross-entropy (no smoothing, no penalty) and accuracy on ``(X, y)``."""
        X = self._check_predict_X(X)
        labels = encode(check_targets(y, X.shape[0]), self.classes_)
        if X.shape[0] == 0:
            raise ValueError("X must hold at least one row to evaluate, got 0")
        return evaluate(X, labels, self._params, input_scale=self._input_scale())

    # -- the objective ------------------------------------------------------------------------

    def loss_and_grad(self, X, y, sample_weight=None):
        r"""The training objective and its gradient at the current parameters.

        .. math:: J = \frac{\sum_i w_i \ell_i}{\sum_i w_i} + \frac{\lambda}{2}\lVert W\rVert_F^2,
                  \quad \nabla_W J = s X^\top G + \lambda W, \quad \nabla_b J = \textstyle\sum_i G_i

        with :math:`G` the gradient of the weighted mean cross-entropy (label smoothing
        included) with respect to the logits, :math:`s` the raw-pixel scale (1 without
        ``raw_pixels``): :func:`scratchlin.objective.loss_and_grad`, the one implementation
        training uses.

        Parameters
        ----------
        X : array_like of shape (N, F)
        y : array_like of shape (N,), labels from ``classes_``
        sample_weight : array_like of shape (N,) or None, default=None
            :math:`w_i`; ``None`` weighs every row 1 (the plain mean).

        Returns
        -------
        loss : float
        grads : dict
            ``{"W": (F, C) array, "b": (C,) array}`` in the model's dtype.
        """
        X = self._check_predict_X(X)
        labels = encode(check_targets(y, X.shape[0]), self.classes_)
        weights = check_sample_weight(sample_weight, X.shape[0], self._params.W.dtype)
        loss, grad_W, grad_b = objective.loss_and_grad(
            self._params.W, self._params.b, X, labels, sample_weight=weights,
            input_scale=self._input_scale(),
            weight_decay=v.check_real(self.weight_decay, "weight_decay", low=0.0),
            label_smoothing=v.check_real(self.label_smoothing, "label_smoothing", low=0.0, high=1.0))
        return float(loss), {"W": grad_W, "b": grad_b}

    # -- construction from parameters, persistence --------------------------------------------

    @classmethod
    def from_params(cls, W, b, *, classes=None, **hyperparameters):
        """A fitted model from given parameters, e.g. the seed notebook's random ``w``, ``b``.

        Parameters
        ----------
        W : ndarray of shape (F, C), float32 or float64
        b : ndarray of shape (C,), same dtype
        classes : array_like of shape (C,), default=None
            Labels of the columns, of any label dtype (integers, bools, strings);
            ``arange(C)`` by default. They are sorted, with the columns.
        **hyperparameters
            Stored as in ``__init__``.

        Returns
        -------
        LinearClassifier
            Fitted, with an empty ``history_`` (which may be set afterwards).
        """
        W = v.as_float_array(W, "W", ndim=2)
        b = v.as_float_array(b, "b", ndim=1)
        if b.shape[0] != W.shape[1]:
            raise ValueError(f"b must have shape ({W.shape[1]},) to match W {W.shape}, got {b.shape}")
        if W.dtype != b.dtype:
            raise TypeError(f"W and b must share a dtype, got W {W.dtype} and b {b.dtype}")
        dtype = v.check_float_dtype(W.dtype)
        if "dtype" in hyperparameters and v.check_float_dtype(hyperparameters["dtype"]) != dtype:
            raise ValueError(f"dtype={hyperparameters['dtype']!r} contradicts W's dtype {dtype}")
        model = cls(**{**hyperparameters, "dtype": dtype.name})
        classes = np.arange(W.shape[1]) if classes is None else np.asarray(classes)
        if classes.shape != (W.shape[1],) or np.unique(classes).shape[0] != W.shape[1]:
            raise ValueError(f"classes must be {W.shape[1]} distinct labels, got {classes!r}")
        order = np.argsort(classes, kind="stable")
        model._set_fitted(Parameters.from_arrays(W[:, order], b[order]), classes[order], None)
        model.history_, model.n_iter_ = [], 0
        return model

    def save(self, path) -> Path:
        """Write the model to an ``.npz`` file, atomically, without pickle.

        The file holds ``W``, ``b``, ``classes``, a format name and version, the dtype, the
        hyperparameters and the history (both as JSON text).

        Parameters
        ----------
        path : str or os.PathLike
            Destination; written to a temporary file in the same folder, then renamed.

        Returns
        -------
        pathlib.Path
        """
        self._check_fitted()
        return persistence.save_model(self, path)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`; nothing in the file is ever executed.

        Raises
        ------
        ValueError
            If the file is not an ``.npz``, holds pickled objects, is not a scratchlin model,
            has an unknown format version, or inconsistent shapes or dtypes.

        Notes
        -----
        Hyperparameters JSON cannot hold (a callback, a ``Generator`` seed, a callable
        schedule) are not saved; the loaded model has their defaults.
        """
        return persistence.load_model(cls, path)
