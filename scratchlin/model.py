r"""``LinearClassifier``: multinomial logistic (softmax) regression with the seed's layout.

The model is the seed notebook's: ``logits = X @ W + b`` with ``W`` of shape
(n_features, n_classes) and ``b`` of shape (n_classes,), probabilities ``softmax(logits)``,
fitted by minimising the weighted mean cross-entropy plus an L2 penalty on ``W`` (see
:mod:`scratchlin.objective`), with scikit-learn's ``C``:

.. math:: J(W, b) = \frac{\sum_i w_i \ell_i(x_i W + b)}{\sum_i w_i}
          + \frac{\lambda}{2} \lVert W \rVert_F^2, \qquad \lambda = \frac{1}{C \sum_i w_i}

either exactly by L-BFGS (:mod:`scratchlin.lbfgs`) or approximately by a minibatch stochastic
solver (:mod:`scratchlin.training`).

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
    ConvergenceWarning,
    EstimatorParams,
    NotFittedError,
    check_feature_names,
    classifier_tags,
    feature_names_of,
    not_fitted_error,
    warn_convergence,
)
from .preprocessing import RAW_PIXEL_SCALE
from .training import (
    IterateAverage,
    Parameters,
    Trainer,
    TrainingSettings,
    decision_function,
    evaluate,
    fit_lbfgs,
    split_validation,
)

__all__ = ["AUTO_LBFGS_MAX_ROWS", "ConvergenceWarning", "LR_SCHEDULES", "LinearClassifier",
           "NotFittedError", "OPTIMIZERS", "SOLVERS"]

# Names kept for scratchlin.cli, read from optim's registries (the one list of each).
LR_SCHEDULES = tuple(optim.SCHEDULES)
OPTIMIZERS = tuple(optim.OPTIMIZERS)
#: The values of ``solver``: the exact full-batch solver, the stochastic ones, and "auto".
SOLVERS = ("auto", "lbfgs", *OPTIMIZERS)
#: ``solver="auto"`` takes L-BFGS up to this many training rows, Adam above (see the class notes).
AUTO_LBFGS_MAX_ROWS = 20_000
# tol="auto": scikit-learn's LogisticRegression (gradient) and SGDClassifier (loss) defaults.
_AUTO_TOL = {"lbfgs": 1e-4, "stochastic": 1e-3}
# max_iter=None.
_DEFAULT_MAX_ITER = {"lbfgs": 1000, "stochastic": 100}
# What fit (or partial_fit) sets; an interrupted or failed call puts back what was there.
_FITTED_STATE = ("_params", "_trainer", "_trainer_class_weights", "_weight_seen", "_average", "classes_",
                 "n_features_in_", "feature_names_in_", "history_", "n_iter_", "solver_",
                 "stop_reason_", "stop_message_")
# Below this many rows, prediction runs in whatever BLAS pool the caller has: entering and
# leaving threadpoolctl's limits took 2.9-3.7 ms (OpenBLAS, 2 cores, shared machine), more than
# X @ W itself up to a few hundred rows (8 us at 32 rows), against ~18 ms for 2048 rows.
_SMALL_PREDICT_ROWS = 2048


def _largest_abs(X, chunk_rows: int = objective.DATASET_CHUNK_ROWS) -> float:
    """``max |X|``, a chunk of rows at a time (no copy of ``X``)."""
    return max((float(np.abs(X[i:i + chunk_rows]).max(initial=0.0))
                for i in range(0, X.shape[0], chunk_rows)), default=0.0)


def _stochastic_stop(history: list, converged: bool, tol) -> tuple[str, str]:
    """``(stop_reason_, stop_message_)`` of a stochastic fit."""
    if history and history[-1].get("stopped_early"):
        return "early_stopping", (f"the validation loss had not improved since iteration "
                                  f"{history[-1]['best_iteration']}")
    if converged:
        return "plateau", f"the training loss stopped improving by tol={tol} at the last rate"
    return "max_iter", f"max_iter={len(history)} iterations reached first"


def _summed_weight(n_rows: int, weights) -> float:
    r""":math:`\sum_i w_i` of ``n_rows`` rows (``n_rows`` without weights): what ``C`` scales."""
    return float(n_rows if weights is None else weights.sum())


def _overflow_safe_logits(X, W, b, input_scale: float) -> np.ndarray:
    """Logits of rows whose ``s X W + b`` overflowed, shifted so that their largest is 0.

    Softmax and argmax ignore a shift, so these give the probabilities and the label the exact
    logits would. They are computed in float64 from ``X / max|x|`` and ``W / max|W|``, whose
    products cannot overflow, and scaled back only after the shift: a difference too large for
    float64 becomes -inf, whose probability is 0. Shape (N, C), float64, entries in [-inf, 0].
    """
    X = np.asarray(X, dtype=np.float64) * input_scale
    W, b = W.astype(np.float64), b.astype(np.float64)
    x_scale = np.abs(X).max(axis=1, keepdims=True)
    w_scale = max(float(np.abs(W).max()), np.finfo(np.float64).tiny)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        x_scale = np.where(x_scale > 0, x_scale, 1.0)
        z = (X / x_scale) @ (W / w_scale) + b / (x_scale * w_scale)
        return x_scale * (w_scale * (z - z.max(axis=1, keepdims=True)))


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
    r"""Softmax-regression classifier, solved to convergence, in pure NumPy.

    ``fit`` minimises the L2-regularised mean cross-entropy

    .. math:: J(W, b) = \frac{\sum_i w_i \ell_i(x_i W + b)}{\sum_i w_i}
              + \frac{\lambda}{2} \lVert W \rVert_F^2, \qquad
              \lambda = \frac{1}{C \sum_i w_i}

    (:math:`w_i` the sample weights times the class weights, all 1 by default; :math:`\lambda`
    is doubled with two classes, see below). Multiplying
    :math:`J` by :math:`C \sum_i w_i` gives scikit-learn's ``LogisticRegression`` objective
    :math:`C \sum_i w_i \ell_i + \frac{1}{2}\lVert W \rVert^2`, so ``C`` means what it means
    there, and the solution is ``LogisticRegression(C=C)``'s: with three classes or more,
    ``coef_`` equal and ``intercept_`` equal up to a constant shared by all classes (which the
    softmax cannot see). With two classes scikit-learn fits one weight vector :math:`d` where
    the softmax fits two columns, which come out opposite, :math:`\pm d/2`; their penalty is
    then half of :math:`\frac{\lambda}{2}\lVert d \rVert^2`, so :math:`\lambda` is doubled
    (:math:`\lambda = 2 / (C \sum_i w_i)`) and the decision function ``X @ (w_1 - w_0)`` equals
    scikit-learn's. The objective is strictly convex (for finite ``C``), so it has one minimiser.

    **Solvers.** ``"lbfgs"`` is an exact full-batch solver (:mod:`scratchlin.lbfgs`): it
    reaches the minimiser to the tolerance ``tol`` on the gradient, deterministically.
    ``"adam"``, ``"adamw"`` and ``"sgd"`` are minibatch stochastic solvers, much cheaper per
    pass on large data, which reach the minimiser approximately. ``"auto"`` (the default) picks
    L-BFGS for up to :data:`AUTO_LBFGS_MAX_ROWS` training rows and Adam above that (and Adam
    whenever ``early_stopping`` is set); ``solver_`` says which one ran.

    **Convergence.** One *iteration* of L-BFGS is one line search (one or a few evaluations of
    :math:`J` on all the rows); it has converged when the largest entry of :math:`\nabla J`
    is at most ``tol``, as scikit-learn's ``lbfgs`` (or when an iteration lowers :math:`J` by
    a relative :math:`64\epsilon` or less, or when the arithmetic can tell no step lowers
    :math:`J` and the gradient is within its rounding of ``tol``: see ``stop_reason_``).
    One iteration of a stochastic solver is a pass
    over the training rows, repeated until it has made at least 200 minibatch steps
    (:data:`scratchlin.training.MIN_STEPS_PER_ITERATION`: one epoch on MNIST, 100 passes on
    150 rows); it has converged when ``n_iter_no_change`` iterations in a row fail to lower the
    best mean training loss by ``tol`` (scikit-learn's rule) and the ``"adaptive"`` schedule
    has already divided the rate by 5 twice at such plateaus. Stopping unconverged (at
    ``max_iter``, or L-BFGS at the precision limit far from ``tol``) warns with a
    :class:`ConvergenceWarning` (scikit-learn's, when it is installed) that says which; so does a
    stochastic solver that left the weights where they started, and one whose state overflowed
    raises :class:`~scratchlin.TrainingDivergedError`.

    Hyperparameters are stored unchanged by ``__init__`` and checked by :meth:`fit`
    (scikit-learn's convention). It follows scikit-learn's estimator protocol without importing
    scikit-learn: ``clone``, ``Pipeline``, ``GridSearchCV``, ``cross_val_score`` and
    ``check_estimator`` work on it, and ``dask_ml.wrappers.Incremental`` trains it block by
    block through :meth:`partial_fit`.

    Parameters
    ----------
    C : float, default=1.0
        Inverse strength of the L2 penalty (> 0), scikit-learn's ``C``; ``numpy.inf`` for no
        penalty. With :meth:`partial_fit`, :math:`\sum_i w_i` counts the rows of all the calls
        so far.
    solver : {"auto", "lbfgs", "adam", "adamw", "sgd"}, default="auto"
        See the notes above. ``"adamw"`` applies :math:`\lambda` as decoupled weight decay.
    max_iter : int or None, default=None
        Iterations at most (>= 1), in the sense above; None means 1000 for L-BFGS (enough to
        converge on unscaled features such as scikit-learn's breast_cancer, where 100 are not)
        and 100 for the stochastic solvers. Also the length of the ``"cosine"`` and ``"step"``
        schedules.
    tol : float, "auto" or None, default="auto"
        The convergence tolerance (>= 0): on the largest gradient entry for L-BFGS, on the
        mean training loss for a stochastic solver. ``"auto"`` is 1e-4 for L-BFGS and 1e-3
        for the stochastic solvers (the defaults of scikit-learn's ``LogisticRegression`` and
        ``SGDClassifier``, whose tests these are: minibatch noise in the loss is about 3e-4
        on MNIST, so a smaller tolerance mistakes noise for progress). None disables the test
        of a stochastic solver, which then runs ``max_iter`` iterations without a warning (and
        leaves L-BFGS only its relative-decrease test).
    lr : float or None, default=None
        Base learning rate of a stochastic solver (> 0); ``None`` takes the optimizer's
        default (``2e-3`` for Adam and AdamW, ``0.1`` for SGD).
    batch_size : int, default=128
        Rows per minibatch of a stochastic solver (>= 1; capped at N).
    momentum : float, default=0.9
        Heavy-ball momentum of SGD.
    nesterov : bool, default=False
        Nesterov momentum for SGD.
    label_smoothing : float in [0, 1], default=0.0
        As in :func:`scratchlin.cross_entropy`; part of the objective.
    lr_schedule : {"adaptive", "constant", "step", "cosine"} or callable, default="adaptive"
        Learning rate of a stochastic solver per iteration. ``"adaptive"`` keeps the base rate
        and divides it by 5 at each plateau (see above); ``"cosine"`` and ``"step"`` are planned
        over ``max_iter`` iterations; a callable is ``schedule(lr, iteration)`` (0-based).
        :meth:`partial_fit` counts its calls as iterations; ``"adaptive"`` and ``"constant"``
        then keep the base rate however many calls come.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved for ``patience`` iterations, and restore
        the best parameters (stochastic solvers). Uses ``X_val, y_val`` if given to ``fit``,
        else holds out ``validation_fraction`` of the training rows.
    validation_fraction : float in (0, 1), default=0.1
        Held-out share of the training rows when early stopping without ``X_val``.
    patience : int, default=3
        Iterations without improvement before early stopping.
    raw_pixels : bool, default=False
        Accept uint8 pixels and scale them by 1/255 batch by batch (no float copy of the
        data set is ever made, even from an ``np.memmap``). Without it uint8 features are
        refused with a TypeError (pixels in 0..255 are the classic mistake); other integer
        features are converted to floats.
    seed : int, numpy.random.Generator or None, default=None
        Source of the shuffles (and of the validation split) of the stochastic solvers. The
        same int gives bit-identical weights on the same machine. L-BFGS uses no randomness.
    dtype : {"float32", "float64"} or None, default=None
        Dtype of the parameters and of the computation. None follows ``X``: float32 stays
        float32, other numbers become float64 (scikit-learn's rule), raw uint8 pixels float32.
    verbose : bool, default=False
        Print the solver chosen and one line per iteration.
    callback : callable or None, default=None
        Called with each iteration's history record (a dict). While it runs, the model's ``W``
        and ``b`` hold that iteration's parameters, so it may call e.g. ``model.score``.
    class_weight : dict, "balanced" or None, default=None
        Weight of each class in the objective, multiplying ``sample_weight``: a dict
        ``{label: weight}`` (labels not named weigh 1), or ``"balanced"``,
        ``N / (n_classes * count(label))`` from the training labels (not with
        :meth:`partial_fit`).
    warm_start : bool, default=False
        If the model is fitted, :meth:`fit` starts from its ``W`` and ``b`` instead of zeros
        (same classes and features required), with a fresh optimizer and schedule.
    n_iter_no_change : int, default=5
        Iterations without an improvement of ``tol`` that make a plateau (stochastic solvers).
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
    solver_ : str
        The solver that ran: ``solver``, or what ``"auto"`` chose.
    history_ : list of dict
        Per iteration: ``iteration``, ``train_loss`` (the objective, penalty included: exact
        for L-BFGS, the mean over the iteration's minibatches for the others), ``seconds``;
        L-BFGS adds ``grad_max`` and ``evaluations``, the stochastic solvers ``lr``,
        ``epochs`` and ``steps``; with validation data, ``val_loss`` and ``val_accuracy``.
    n_iter_ : int
        Iterations run by the last :meth:`fit`, or calls to :meth:`partial_fit` since its first.
    stop_reason_ : str
        Why the last :meth:`fit` stopped, as a code. L-BFGS: ``"gradient"`` (the largest
        gradient entry is at most ``tol``), ``"decrease"`` (an iteration lowered :math:`J` by a
        relative :math:`64\epsilon` or less), ``"precision_limit"`` (the arithmetic can tell
        no step lowers :math:`J`, and the largest gradient entry is at most ``tol`` plus the
        gradient's rounding level :math:`\sqrt{N}\,u\,(1 + \max_j \overline{|x_j|})`, ``u``
        the dtype's unit roundoff, see :func:`scratchlin.training.gradient_rounding`): these
        are convergence; ``"stalled"`` (no such step, the gradient farther from ``tol``) and
        ``"max_iter"`` are not, and warn. Stochastic solvers: ``"plateau"`` (the ``tol``
        rule), ``"early_stopping"``, ``"max_iter"``. Not set by :meth:`partial_fit`.
    stop_message_ : str
        The same, in words, with the figures (e.g. the gradient reached).
    """

    _estimator_type = "classifier"  # scikit-learn < 1.6 reads this instead of the tags

    def __init__(self, *, C=1.0, solver="auto", max_iter=None, tol="auto", lr=None, batch_size=128,
                 momentum=0.9, nesterov=False, label_smoothing=0.0, lr_schedule="adaptive",
                 early_stopping=False, validation_fraction=0.1, patience=3, raw_pixels=False,
                 seed=None, dtype=None, verbose=False, callback=None, class_weight=None,
                 warm_start=False, n_iter_no_change=5, n_threads=None):
        self.C = C
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.lr = lr
        self.batch_size = batch_size
        self.momentum = momentum
        self.nesterov = nesterov
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

    def _solver_for(self, n_rows: int | None) -> str:
        """The solver that runs: ``solver``, or what ``"auto"`` picks for ``n_rows`` training
        rows (None: a stream, for :meth:`partial_fit`)."""
        solver = self.solver.lower() if isinstance(self.solver, str) else self.solver
        v.check_choice(solver, "solver", SOLVERS)
        if solver != "auto":
            return solver
        if n_rows is None or n_rows > AUTO_LBFGS_MAX_ROWS or v.check_bool(self.early_stopping, "early_stopping"):
            return "adam"
        return "lbfgs"

    def _penalty(self, total_weight: float, n_classes: int) -> float:
        r""":math:`\lambda = k / (C \sum_i w_i)`, :math:`k` 2 for two classes, else 1; 0 for
        ``C = inf``."""
        C = v.check_real(self.C, "C", low=0.0, low_open=True, allow_inf=True)
        if C == np.inf or total_weight == 0:
            return 0.0
        return (2.0 if n_classes == 2 else 1.0) / (C * total_weight)

    def _max_iter(self, solver: str) -> int:
        if self.max_iter is None:
            return _DEFAULT_MAX_ITER["lbfgs" if solver == "lbfgs" else "stochastic"]
        return v.check_int(self.max_iter, "max_iter", low=1)

    def _settings(self, solver: str, penalty: float) -> TrainingSettings:
        """Check every training hyperparameter and resolve names through optim's registries."""
        momentum = v.check_real(self.momentum, "momentum", low=0.0, high=1.0, high_open=True)
        nesterov = v.check_bool(self.nesterov, "nesterov")
        if nesterov and solver == "sgd" and momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0")
        if not callable(self.lr_schedule):
            v.check_choice(self.lr_schedule, "lr_schedule", LR_SCHEDULES)
        # L-BFGS uses no optimizer, and Adam's options keep the penalty in the objective.
        optimizer = "adam" if solver == "lbfgs" else solver
        lr = (optim.DEFAULT_LR[optimizer] if self.lr is None
              else v.check_real(self.lr, "lr", low=0.0, low_open=True))
        options, weight_decay = optim.OPTIMIZERS[optimizer].estimator_options(
            momentum=momentum, nesterov=nesterov, weight_decay=penalty)
        return TrainingSettings(
            lr=lr,
            batch_size=v.check_int(self.batch_size, "batch_size", low=1),
            optimizer=optimizer,
            optimizer_options=options,
            weight_decay=weight_decay,
            label_smoothing=v.check_real(self.label_smoothing, "label_smoothing", low=0.0, high=1.0),
            lr_schedule=optim.make_schedule(self.lr_schedule, epochs=self._max_iter(solver)),
            input_scale=self._input_scale(),
            n_threads=None if self.n_threads is None else v.check_int(self.n_threads, "n_threads", low=1),
            verbose=v.check_bool(self.verbose, "verbose"),
            callback=self.callback,
        )

    def _stopping_rules(self, solver: str) -> dict:
        """``Trainer.fit``'s keyword arguments for early stopping and ``tol``."""
        early_stopping = v.check_bool(self.early_stopping, "early_stopping")
        if isinstance(self.tol, str) and self.tol == "auto":
            tol: float | None = _AUTO_TOL["lbfgs" if solver == "lbfgs" else "stochastic"]
        else:
            tol = None if self.tol is None else v.check_real(self.tol, "tol", low=0.0)
        return dict(early_stopping=early_stopping,
                    patience=v.check_int(self.patience, "patience", low=1),
                    tol=tol,
                    n_iter_no_change=v.check_int(self.n_iter_no_change, "n_iter_no_change", low=1))

    def _input_scale(self) -> float:
        return RAW_PIXEL_SCALE if v.check_bool(self.raw_pixels, "raw_pixels") else 1.0

    def _compute_dtype(self, X) -> np.dtype:
        """``dtype``, or when it is None the dtype ``X`` asks for (float32 stays float32, raw
        pixels compute in float32, anything else in float64)."""
        if self.dtype is not None:
            return v.check_float_dtype(self.dtype)
        kinds = {np.dtype(d) for d in getattr(X, "dtypes", [getattr(X, "dtype", None)]) if d is not None}
        if kinds == {np.dtype(np.float32)}:
            return np.dtype(np.float32)
        if kinds == {np.dtype(np.uint8)} and v.check_bool(self.raw_pixels, "raw_pixels"):
            return np.dtype(np.float32)
        return np.dtype(np.float64)

    # -- fitting ------------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Solve for ``W`` and ``b`` on ``(X, y)``, from zeros (or the fitted ones with ``warm_start``).

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
            act exactly as repeated rows with L-BFGS.
        X_val : array_like of shape (M, F), default=None
            Validation features, evaluated after each iteration (``history_``).
        y_val : array_like of shape (M,), default=None
            Validation labels, among those of ``y``.

        Returns
        -------
        self

        Warns
        -----
        ConvergenceWarning
            If ``max_iter`` iterations ran before the convergence test held, or L-BFGS stopped
            at the precision limit far from ``tol`` (the message says which, with the
            gradient reached and remedies), or a stochastic solver never moved the weights.

        Raises
        ------
        TrainingDivergedError
            If a stochastic solver diverged or its state (e.g. Adam's squared gradients)
            overflowed.
        """
        early_stopping = v.check_bool(self.early_stopping, "early_stopping")
        rng = v.as_generator(self.seed)
        warm = v.check_bool(self.warm_start, "warm_start") and self.__sklearn_is_fitted__()
        names = feature_names_of(X)
        dtype = self._params.W.dtype if warm else self._compute_dtype(X)
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
            X, labels, weights, classes, X_val, y_val, early_stopping, rng, dtype)
        X, labels, weights = _without_zero_weights(X, labels, weights)
        solver = self._solver_for(X.shape[0])
        if solver != "lbfgs":  # minibatches gather rows: one copy now, not one per minibatch
            X = np.ascontiguousarray(X)
        rules = self._stopping_rules(solver)
        if solver == "lbfgs" and early_stopping:
            raise ValueError("early_stopping=True needs a stochastic solver ('adam', 'adamw' or "
                             "'sgd'); L-BFGS solves the objective exactly instead")
        total_weight = _summed_weight(X.shape[0], weights)
        settings = self._settings(solver, self._penalty(total_weight, classes.shape[0]))
        if settings.verbose:
            print(f"solver: {solver}" + (" (chosen by solver='auto' for "
                                         f"{X.shape[0]} rows)" if solver != self.solver else ""))
        params = (self._params.copy() if warm
                  else Parameters(X.shape[1], classes.shape[0], dtype))
        with self._previous_fit_kept_on_error():
            self._set_fitted(params, classes, names)
            self.solver_, self._weight_seen = solver, total_weight
            if solver == "lbfgs":
                history, result = self._fit_lbfgs(params, settings, X, labels, weights, validation, rules)
                self.stop_reason_, self.stop_message_ = result.status, result.message
                warning = self._lbfgs_warning(result, rules["tol"], settings, X)
            else:
                start = params.vector.copy()
                trainer = Trainer(params, settings, rng)
                history, converged = trainer.fit(X, labels, max_iter=self._max_iter(solver),
                                                 sample_weight=weights, validation=validation, **rules)
                self.stop_reason_, self.stop_message_ = _stochastic_stop(history, converged, rules["tol"])
                warning = self._stochastic_warning(solver, rules["tol"], len(history),
                                                   np.array_equal(start, params.vector))
            self.history_, self.n_iter_ = history, len(history)
        if warning:
            warn_convergence(f"{type(self).__name__} with solver={solver!r} {warning}", stacklevel=2)
        return self

    def _fit_lbfgs(self, params, settings, X, labels, weights, validation, rules):
        history, result = fit_lbfgs(params, X, labels, settings, max_iter=self._max_iter("lbfgs"),
                                    tol=rules["tol"] or 0.0, sample_weight=weights,
                                    validation=validation)
        if not np.isfinite(result.fun):
            raise FloatingPointError(f"L-BFGS stopped: {result.message}")
        return history, result

    def _lbfgs_warning(self, result, tol, settings, X) -> str | None:
        """What went wrong with an L-BFGS fit, in words (the end of a ConvergenceWarning)."""
        if result.status == "max_iter":
            return (f"did not converge in max_iter={result.n_iter} iterations (tol={tol}); scale "
                    "the features (e.g. sklearn.preprocessing.StandardScaler), or raise max_iter")
        if result.status != "stalled":
            return None
        dtype, grad_max = self._params.W.dtype, float(np.abs(result.grad).max())
        remedy = ("Scale the features (e.g. sklearn.preprocessing.StandardScaler), "
                  + ("use dtype='float64', " if dtype == np.float32 else "") + "or raise C.")
        if result.n_iter == 0:
            return (f"could not take a single step: the objective rose or overflowed at every step "
                    f"tried along its gradient (largest entry {grad_max:.3g}). Its curvature is out "
                    f"of the {dtype} arithmetic's range: the largest feature is "
                    f"{_largest_abs(X) * settings.input_scale:.3g} and the penalty strength is "
                    f"{settings.weight_decay:.3g} (C={self.C}). {remedy}")
        return (f"stopped after {result.n_iter} iterations at the limit of the {dtype} "
                f"arithmetic's precision (no step it could try lowered the objective by more than "
                f"its rounding), with the largest gradient entry at {grad_max:.3g}, above tol={tol}. "
                f"{remedy}")

    def _stochastic_warning(self, solver: str, tol, n_iter: int, never_moved: bool) -> str | None:
        if never_moved:
            return (f"left the weights where they started in {n_iter} iterations: its "
                    "steps were all zero (a zero learning rate, or gradients too large for the "
                    "dtype); scale the features, or check lr and lr_schedule")
        if self.stop_reason_ == "max_iter" and tol is not None:
            return (f"did not converge in max_iter={self._max_iter(solver)} iterations "
                    f"(tol={tol}); raise max_iter, or lower lr")
        return None

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
        r"""One iteration on ``(X, y)``, continuing the optimizer state of the previous call.

        The first call needs ``classes``, every label the coming chunks may hold (as in
        scikit-learn), unless the model is already fitted (by ``fit`` or ``from_params``):
        then training continues from its parameters. The first call builds the optimizer
        (``solver``, with ``"auto"`` meaning Adam; L-BFGS needs all the data at once) and
        draws the shuffles from ``seed``. Each call is one iteration of a stochastic solver
        on the chunk: passes over it until 200 steps are made, at the rate of
        ``lr_schedule`` for that call (``"adaptive"`` and ``"constant"``: the base rate,
        whatever the number of calls). The penalty is :math:`\lambda = 1 / (C \sum w)` over all
        the rows seen so far, so it fades as the stream grows, as it does for a larger data set.
        The model's ``W`` and ``b`` are a running average of the optimizer's parameters after
        each call (:class:`scratchlin.training.IterateAverage`), so that they do not follow the
        last chunk: over 60 chunks of 1,000 MNIST rows the last iterate scores 88.5% on the test
        set and the average 92.5%. (A callback sees the optimizer's own parameters.)
        Hyperparameters are read on the first call; early stopping and ``tol`` do not apply;
        :meth:`fit` starts over.

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
        self._weight_seen += _summed_weight(X.shape[0], weights)
        self._trainer.set_penalty(self._penalty(self._weight_seen, self.classes_.shape[0]))
        record = self._trainer.partial_fit(*_without_zero_weights(X, labels, weights))
        self._average.update(self._trainer.params)
        self.history_.append(record)
        self.n_iter_ = self._trainer.iterations_done
        return self

    def _first_partial_fit(self, X, y, classes, sample_weight):
        solver = self._solver_for(None)
        if solver == "lbfgs":
            raise ValueError("partial_fit needs a stochastic solver ('adam', 'adamw' or 'sgd', or "
                             "'auto', which means 'adam' here): L-BFGS needs all the data at once; "
                             "call fit instead")
        weight_seen = self.__dict__.get("_weight_seen", 0.0)
        if self.__sklearn_is_fitted__():
            self._check_classes_unchanged(classes)
            classes, names, params = self.classes_, getattr(self, "feature_names_in_", None), self._params.copy()
            X, labels, weights_in = self._check_more_data(X, y, sample_weight, class_weights=None)
        else:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit: all "
                                 "the labels the chunks may hold, e.g. classes=np.arange(10)")
            classes = check_classes(classes)
            names = feature_names_of(X)
            dtype = self._compute_dtype(X)
            X = np.ascontiguousarray(check_features(X, dtype, raw_pixels=self.raw_pixels, min_rows=1))
            y = check_targets(y, X.shape[0], owner=type(self).__name__)
            labels = encode(y, classes, known_as="the classes passed to partial_fit")
            weights_in = check_sample_weight(sample_weight, X.shape[0], dtype)
            params = Parameters(X.shape[1], classes.shape[0], dtype)
        class_weights = class_weights_of(self.class_weight, classes, None, params.W.dtype)
        weights = row_weights(weights_in, class_weights, labels)
        weight_seen += _summed_weight(X.shape[0], weights)
        trainer = Trainer(params.copy(), self._settings(solver, self._penalty(weight_seen, classes.shape[0])),
                          v.as_generator(self.seed))
        with self._previous_fit_kept_on_error():
            self._set_fitted(params, classes, names)
            self._trainer, self._trainer_class_weights = trainer, class_weights
            self.solver_, self._weight_seen, self._average = solver, weight_seen, IterateAverage(params)
            self.history_ = [trainer.partial_fit(*_without_zero_weights(X, labels, weights))]
            self._average.update(trainer.params)
            self.n_iter_ = trainer.iterations_done
        return self

    def _check_classes_unchanged(self, classes) -> None:
        if classes is not None and not np.array_equal(check_classes(classes), self.classes_):
            raise ValueError(f"classes={np.asarray(classes).tolist()} differs from the classes "
                             f"of the model {self.classes_.tolist()}")

    def _check_more_data(self, X, y, sample_weight, *, class_weights):
        """Check a chunk against the fitted model; labels must be among ``classes_``."""
        check_feature_names(self, X, reset=False)
        X = np.ascontiguousarray(check_features(X, self._params.W.dtype, raw_pixels=self.raw_pixels,
                                                min_rows=1))
        self._check_n_features(X.shape[1])
        y = check_targets(y, X.shape[0], owner=type(self).__name__)
        labels = encode(y, self.classes_, known_as="the model's classes")
        weights = check_sample_weight(sample_weight, X.shape[0], self._params.W.dtype)
        return X, labels, row_weights(weights, class_weights, labels)

    # -- prediction ---------------------------------------------------------------------------

    def _check_predict_X(self, X, *, finite: bool = True) -> np.ndarray:
        self._check_fitted()
        check_feature_names(self, X, reset=False)
        X = check_features(X, self._params.W.dtype, raw_pixels=self.raw_pixels, finite=finite)
        self._check_n_features(X.shape[1])
        return X

    def _logits(self, X) -> np.ndarray:
        """``s X W + b``, shape (N, n_classes), after checking ``X``."""
        X = self._check_predict_X(X)
        with self._predict_threads(X.shape[0]):
            return decision_function(X, self._params, input_scale=self._input_scale())

    def _ranking_logits(self, X, checked: bool = False) -> np.ndarray:
        """The logits, except that rows which overflowed are replaced by finite-ranked ones
        (:func:`_overflow_safe_logits`): what ``predict`` and ``predict_proba`` rank."""
        X = X if checked else self._check_predict_X(X)
        with self._predict_threads(X.shape[0]), np.errstate(over="ignore", invalid="ignore"):
            logits = decision_function(X, self._params, input_scale=self._input_scale())
        overflowed = ~np.isfinite(logits).all(axis=1)
        if overflowed.any():
            logits = logits.astype(np.float64)
            logits[overflowed] = _overflow_safe_logits(X[overflowed], self._params.W,
                                                       self._params.b, self._input_scale())
        return logits

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
        """Class probabilities ``softmax(X @ W + b)``, shape (N, n_classes); rows sum to 1.

        Finite even where the logits overflow (huge features or weights): those rows are
        computed from logits scaled down and shifted, which softmax does not see.
        """
        logits = self._ranking_logits(X)
        with np.errstate(over="ignore"):  # a shift past -max is -inf, whose probability is 0
            return F.softmax(logits, axis=1).astype(self._params.W.dtype, copy=False)

    def predict_log_proba(self, X) -> np.ndarray:
        """Log-probabilities ``log_softmax(X @ W + b)``, shape (N, n_classes)."""
        logits = self._ranking_logits(X)
        with np.errstate(over="ignore"):
            return F.log_softmax(logits, axis=1).astype(self._params.W.dtype, copy=False)

    def predict(self, X) -> np.ndarray:
        """Most probable label of each row, shape (N,), from ``classes_`` (their dtype)."""
        logits = self._ranking_logits(X)  # checks fitted first
        return self.classes_[np.argmax(logits, axis=1)]

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy: the (weighted) fraction of rows whose predicted label equals ``y``."""
        X = self._check_predict_X(X)
        y = check_targets(y, X.shape[0], owner=type(self).__name__)
        if X.shape[0] == 0:
            raise ValueError("X must hold at least one row to score, got 0")
        weights = check_sample_weight(sample_weight, X.shape[0], np.dtype(np.float64))
        predicted = self.classes_[np.argmax(self._ranking_logits(X, checked=True), axis=1)]
        return float(np.average(predicted == y, weights=weights))

    def evaluate(self, X, y):
        """Mean cross-entropy (no smoothing, no penalty) and accuracy on ``(X, y)``."""
        X = self._check_predict_X(X)
        labels = encode(check_targets(y, X.shape[0]), self.classes_)
        if X.shape[0] == 0:
            raise ValueError("X must hold at least one row to evaluate, got 0")
        return evaluate(X, labels, self._params, input_scale=self._input_scale())

    # -- the objective ------------------------------------------------------------------------

    def loss_and_grad(self, X, y, sample_weight=None, *, total_weight=None):
        r"""The training objective and its gradient at the current parameters.

        .. math:: J = \frac{\sum_i w_i \ell_i}{\sum_i w_i} + \frac{\lambda}{2}\lVert W\rVert_F^2,
                  \quad \nabla_W J = s X^\top G + \lambda W, \quad \nabla_b J = \textstyle\sum_i G_i

        with :math:`\lambda = k / (C\, n)` (:math:`k` = 2 with two classes, else 1) and
        :math:`n` = ``total_weight``: the summed weight of these rows by default (the objective
        :meth:`fit` on them minimises), or of the whole training set when a minibatch loop
        calls this (the estimate of that set's objective), :math:`G` the gradient of the
        weighted mean cross-entropy (label smoothing included) with respect to the logits,
        :math:`s` the raw-pixel scale (1 without ``raw_pixels``):
        :func:`scratchlin.objective.loss_and_grad`, the one implementation training uses.

        Parameters
        ----------
        X : array_like of shape (N, F)
        y : array_like of shape (N,), labels from ``classes_``
        sample_weight : array_like of shape (N,) or None, default=None
            :math:`w_i`; ``None`` weighs every row 1 (the plain mean).
        total_weight : float or None, default=None
            :math:`n` in the penalty (> 0), e.g. the number of training rows when ``X`` is
            one minibatch of them; None means the summed weight of these rows.

        Returns
        -------
        loss : float
        grads : dict
            ``{"W": (F, C) array, "b": (C,) array}`` in the model's dtype.
        """
        X = self._check_predict_X(X, finite=False)  # a NaN or inf in X makes the loss non-finite
        labels = encode(check_targets(y, X.shape[0]), self.classes_)
        weights = check_sample_weight(sample_weight, X.shape[0], self._params.W.dtype)
        n = (_summed_weight(X.shape[0], weights) if total_weight is None
             else v.check_real(total_weight, "total_weight", low=0.0, low_open=True))
        smoothing = v.check_real(self.label_smoothing, "label_smoothing", low=0.0, high=1.0)
        with np.errstate(invalid="ignore", over="ignore"):  # a non-finite X is reported below
            loss, grad_W, grad_b = objective.loss_and_grad(
                self._params.W, self._params.b, X, labels, sample_weight=weights,
                input_scale=self._input_scale(), weight_decay=self._penalty(n, self.classes_.shape[0]),
                label_smoothing=smoothing)
        if not np.isfinite(loss):  # finite parameters: only a non-finite X gives this
            v.check_finite(X, "X")
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
        if (hyperparameters.get("dtype") is not None
                and v.check_float_dtype(hyperparameters["dtype"]) != dtype):
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
