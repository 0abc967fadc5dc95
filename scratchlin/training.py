r"""The minibatch training loop of softmax regression.

One epoch visits every training row once, in an order drawn from the seeded generator. For each
minibatch the objective of :mod:`scratchlin.objective` (cross-entropy with label smoothing and
sample weights, plus :math:`\tfrac{\lambda}{2}\lVert W \rVert^2`) and its gradient are computed
in preallocated buffers, and the optimizer updates ``W`` and ``b`` in place: they are views of
one flat vector (:class:`Parameters`) that the model itself holds, so nothing is copied back.

This module knows nothing of the estimator: :class:`scratchlin.LinearClassifier` checks the
data, maps labels to class indices, and drives a :class:`Trainer`.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import _threads, lbfgs, objective, optim
from . import _validation as v
from . import functional as F

__all__ = [
    "Parameters", "TrainingSettings", "Trainer", "TrainingDivergedError",
    "split_validation", "decision_function", "evaluate", "format_iteration", "divergence_limit",
    "fit_lbfgs", "IterateAverage", "MIN_STEPS_PER_ITERATION",
]


class TrainingDivergedError(FloatingPointError):
    """The loss blew up (see :func:`divergence_limit`) or the parameters stopped being finite:
    the step size is too large."""


class Parameters:
    """``W`` (F, C) and ``b`` (C,) as views of one flat vector ``[W.ravel(), b]``.

    The optimizer then updates a single array: each of its elementwise operations is one NumPy
    call instead of two. With Adam (eleven operations per array and step) that made the default
    fit 12% faster (1.41 -> 1.24 s). The update rules are elementwise, so the result is the same.

    Parameters
    ----------
    n_features, n_classes : int
    dtype : {np.float32, np.float64}
        The parameters start at zero.
    """

    def __init__(self, n_features: int, n_classes: int, dtype):
        self.vector = np.zeros(n_features * n_classes + n_classes, dtype)
        self.W = self.vector[: n_features * n_classes].reshape(n_features, n_classes)
        self.b = self.vector[n_features * n_classes:]

    @classmethod
    def from_arrays(cls, W: np.ndarray, b: np.ndarray) -> Parameters:
        """New parameters holding copies of ``W`` (F, C) and ``b`` (C,), in W's dtype."""
        params = cls(W.shape[0], W.shape[1], W.dtype)
        params.W[...] = W
        params.b[...] = b
        return params

    def copy(self) -> Parameters:
        """An independent copy."""
        return Parameters.from_arrays(self.W, self.b)

    def __repr__(self) -> str:
        return f"Parameters(n_features={self.W.shape[0]}, n_classes={self.W.shape[1]}, dtype={self.W.dtype})"


def _constant_schedule(base_lr: float, epoch: int) -> float:
    return base_lr


@dataclass(frozen=True)
class TrainingSettings:
    """Hyperparameters of a :class:`Trainer`, already checked by the caller.

    Attributes
    ----------
    lr : float
        Base learning rate (> 0).
    batch_size : int
        Rows per minibatch (capped at the number of rows).
    optimizer : str
        A key of :data:`scratchlin.optim.OPTIMIZERS`.
    optimizer_options : dict
        Keyword arguments of that optimizer, e.g. ``{"momentum": 0.9, "nesterov": False}``.
    weight_decay, label_smoothing : float, default=0.0
        :math:`\\lambda` and :math:`\\varepsilon` of the objective.
    lr_schedule : callable (base_lr, epoch) -> lr, default=constant
        ``epoch`` counts from 0 (see :func:`scratchlin.optim.make_schedule`).
    input_scale : float, default=1.0
        1/255 for raw uint8 pixels.
    n_threads : int or None, default=None
        BLAS threads; None lets :func:`scratchlin._threads.choose_n_threads` decide.
    verbose : bool, default=False
        Print :func:`format_iteration` after each iteration.
    callback : callable or None, default=None
        Called with each epoch's record, while the parameters hold that epoch's values.
    """

    lr: float
    batch_size: int
    optimizer: str
    optimizer_options: dict = field(default_factory=dict)
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    lr_schedule: Callable[[float, int], float] = _constant_schedule
    input_scale: float = 1.0
    n_threads: int | None = None
    verbose: bool = False
    callback: Callable[[dict], None] | None = None


def _blas_threads(params: Parameters, settings: TrainingSettings, batch_size: int):
    """The BLAS thread limit for products of ``batch_size`` rows (``settings.n_threads``, or
    the thread policy's count)."""
    n_features, n_classes = params.W.shape
    return _threads.blas_threads(_threads.choose_n_threads(
        settings.n_threads, batch_size=batch_size, n_features=n_features, n_classes=n_classes))


def _add_validation(record: dict, validation, params: Parameters, input_scale: float) -> None:
    """Add ``val_loss`` and ``val_accuracy`` of ``params`` to ``record`` (nothing without
    ``validation``, a tuple ``(X_val, labels_val[, sample_weight_val])``)."""
    if validation is not None:
        record["val_loss"], record["val_accuracy"] = evaluate(
            validation[0], validation[1], params, input_scale=input_scale,
            sample_weight=validation[2] if len(validation) > 2 else None)


def _report(settings: TrainingSettings, record: dict, max_iter: int | None) -> None:
    """Print ``record`` (with ``verbose``) and hand it to the callback, if any."""
    if settings.verbose:
        print(format_iteration(record, max_iter), flush=True)
    if settings.callback is not None:
        settings.callback(record)


def divergence_limit(n_classes: int) -> float:
    """The minibatch loss beyond which training is declared diverged: ten times ``log C``.

    ``log C`` is the loss of the zero model that training starts from (uniform predictions).
    A model whose mean loss on a batch is ten times worse gives the right class a probability
    around ``C**-10`` on average: it is not learning but blowing up, long before any overflow.
    """
    return 10 * float(np.log(n_classes))


def _check_loss(loss: float, limit: float, where: tuple[int, int], batch: int, lr: float) -> None:
    """Raise :class:`TrainingDivergedError` unless ``loss <= limit``; ``where`` is
    ``(iteration, pass within it)``, both from 1."""
    if not loss <= limit:  # also catches NaN
        raise TrainingDivergedError(
            f"training diverged at iteration {where[0]} (pass {where[1]}), batch {batch}: the loss "
            f"became {loss:.4g} "
            f"(limit {limit:.4g}, ten times that of the starting zero model); the learning rate "
            f"lr={lr:g} is too large for this data, try a smaller one (e.g. lr={lr / 10:g})"
        )


def _check_optimizer_state(optimizer, where: tuple[int, int]) -> None:
    r"""Raise :class:`TrainingDivergedError` if the optimizer's state (momentum, Adam's moments)
    overflowed: Adam's steps :math:`m / (\sqrt{v} + \epsilon)` are then 0 or NaN, and the weights
    would stop moving without any loss showing it."""
    for name, state in optimizer.state.items():
        for key, value in state.items():
            if isinstance(value, np.ndarray) and not np.isfinite(value).all():
                raise TrainingDivergedError(
                    f"training stopped at iteration {where[0]} (pass {where[1]}): the optimizer's "
                    f"{key!r} for {name!r} overflowed (the gradients are too large for the "
                    f"dtype), so its steps are no longer numbers; scale the features (e.g. "
                    f"sklearn.preprocessing.StandardScaler)")


#: A stochastic iteration is one pass over the data, repeated until it has made at least this
#: many steps: on MNIST (469 batches of 128) an iteration is one epoch; on 150 rows it is 100
#: passes. Iterations are the unit of ``max_iter``, of the stopping rule and of ``partial_fit``,
#: so a small data set gets as many updates before it is judged done as a large one.
MIN_STEPS_PER_ITERATION = 200


class Trainer:
    """Training state that outlives one call: the parameters (updated in place, never copied
    back), the optimizer and its state, the iteration counter (which drives the schedule), the rng.

    Parameters
    ----------
    params : Parameters
        Updated in place; the caller (the model) keeps using these very arrays.
    settings : TrainingSettings
    rng : numpy.random.Generator
        Source of the per-epoch shuffles.
    """

    def __init__(self, params: Parameters, settings: TrainingSettings, rng: np.random.Generator):
        self.params = params
        self.settings = settings
        self.rng = rng
        self.iterations_done = self.epochs_done = self.steps_done = 0
        self.weight_decay = settings.weight_decay
        self.optimizer = optim.make_optimizer(settings.optimizer, {"theta": params.vector},
                                              lr=settings.lr, **settings.optimizer_options)
        self._workspace: objective.Workspace | None = None

    def set_penalty(self, strength: float) -> None:
        r"""Set :math:`\lambda`: the objective's L2 term, or the optimizer's own decay when it
        applies the decay itself (AdamW)."""
        if self.optimizer.decoupled_weight_decay:
            self.optimizer.weight_decay = strength
        else:
            self.weight_decay = strength

    def blas_threads(self, batch_size: int):
        """The BLAS thread limit for this trainer's products on batches of ``batch_size`` rows."""
        return _blas_threads(self.params, self.settings, batch_size)

    def _workspace_for(self, batch_size: int) -> objective.Workspace:
        ws = self._workspace
        if ws is None or ws.max_batch < batch_size:
            ws = self._workspace = objective.Workspace(*self.params.W.shape, batch_size, self.params.W.dtype)
        return ws

    def partial_fit(self, X, labels, sample_weight=None) -> dict:
        """One iteration over the rows of ``X`` (see :data:`MIN_STEPS_PER_ITERATION`).

        Parameters
        ----------
        X : ndarray of shape (N, F)
            Features in the parameters' dtype, or uint8 pixels with ``input_scale != 1``.
        labels : ndarray of shape (N,), intp
            Class indices in ``[0, C)``.
        sample_weight : ndarray of shape (N,) or None, default=None
            Non-negative row weights in the parameters' dtype.

        Returns
        -------
        dict
            ``{"iteration", "epochs", "steps", "train_loss", "lr", "seconds"}``: the
            iteration's number (from 1 over the trainer's life), the passes over ``X`` and the
            steps it made, the mean minibatch objective, ``lr = schedule(lr, iterations_done)``.

        Raises
        ------
        TrainingDivergedError
        """
        batch_size = min(self.settings.batch_size, X.shape[0])
        with self.blas_threads(batch_size):
            record = self._iteration(X, labels, sample_weight, batch_size)
        _report(self.settings, record, record["iteration"])
        return record

    def fit(self, X, labels, *, max_iter: int, sample_weight=None, validation=None,
            early_stopping: bool = False, patience: int = 3, tol: float | None = 1e-4,
            n_iter_no_change: int = 5) -> tuple[list, bool]:
        """Iterate over ``(X, labels)`` until a stopping rule holds or ``max_iter`` is reached.

        Parameters
        ----------
        X, labels, sample_weight
            As in :meth:`partial_fit`.
        max_iter : int
            Iterations at most.
        validation : tuple (X_val, labels_val[, sample_weight_val]) or None, default=None
            Evaluated after each iteration; records gain ``val_loss`` and ``val_accuracy``.
        early_stopping : bool, default=False
            Stop when ``val_loss`` has not improved for ``patience`` iterations; the parameters
            are then set (in place) to those of the best iteration, and the last record gains
            ``"stopped_early": True`` and ``"best_iteration"``. Needs ``validation``.
        patience : int, default=3
        tol : float or None, default=1e-4
            scikit-learn's rule on the training loss: a *plateau* is ``n_iter_no_change``
            iterations in a row whose loss is not below ``best - tol``. At a plateau an
            adaptive schedule (:class:`scratchlin.optim.AdaptiveLR`) lowers the rate and
            training goes on; otherwise (or when its cuts are used up) training has converged
            and the last record has ``"converged": True``. None disables the rule.
        n_iter_no_change : int, default=5

        Returns
        -------
        history : list of dict
            One record per iteration made.
        converged : bool
            Whether the ``tol`` rule or early stopping ended training (not ``max_iter``).
        """
        if early_stopping and validation is None:
            raise ValueError("early_stopping=True needs validation data")
        batch_size = min(self.settings.batch_size, X.shape[0])
        history: list = []
        best_val = best_params = None
        best_iteration, best_train, no_change, converged = 0, np.inf, 0, False
        plateau = getattr(self.settings.lr_schedule, "plateau", None)
        with self.blas_threads(batch_size):
            for iteration_in_run in range(1, max_iter + 1):
                record = self._iteration(X, labels, sample_weight, batch_size)
                _add_validation(record, validation, self.params, self.settings.input_scale)
                history.append(record)
                _report(self.settings, record, self.iterations_done - iteration_in_run + max_iter)
                if early_stopping:
                    if best_val is None or record["val_loss"] < best_val:
                        best_val, best_iteration = record["val_loss"], record["iteration"]
                        best_params = self.params.vector.copy()
                    elif record["iteration"] - best_iteration >= patience:
                        record.update(stopped_early=True, best_iteration=best_iteration)
                        converged = True
                        break
                if tol is not None:
                    no_change = no_change + 1 if record["train_loss"] > best_train - tol else 0
                    best_train = min(best_train, record["train_loss"])
                    if no_change >= n_iter_no_change:
                        no_change = 0
                        if plateau is None or not plateau():
                            record["converged"] = converged = True
                            break
        if early_stopping and best_params is not None:
            self.params.vector[...] = best_params
            history[-1].setdefault("best_iteration", best_iteration)
        return history, converged

    def _iteration(self, X, labels, sample_weight, batch_size) -> dict:
        """Shuffled passes until :data:`MIN_STEPS_PER_ITERATION` steps; the record without
        validation figures."""
        started = time.perf_counter()
        iteration = self.iterations_done + 1
        lr = v.check_real(self.settings.lr_schedule(self.settings.lr, self.iterations_done),
                          f"the learning rate lr_schedule gave for iteration {iteration}", low=0.0)
        steps_per_epoch = -(-X.shape[0] // batch_size)
        epochs = -(-MIN_STEPS_PER_ITERATION // steps_per_epoch)
        total_loss = total_weight = 0.0
        for pass_number in range(1, epochs + 1):
            loss, weight = self._epoch(X, labels, sample_weight, batch_size, lr, (iteration, pass_number))
            total_loss += loss
            total_weight += weight
        self.iterations_done = iteration
        self.epochs_done += epochs
        self.steps_done += epochs * steps_per_epoch
        return {"iteration": iteration, "epochs": epochs, "steps": epochs * steps_per_epoch,
                "train_loss": total_loss / total_weight, "lr": lr,
                "seconds": time.perf_counter() - started}

    def _epoch(self, X, labels, sample_weight, batch_size, lr, where) -> tuple[float, float]:
        """One shuffled pass (``where``: its iteration and its pass within it, for messages);
        returns the weighted sum of the minibatch losses and the weight."""
        settings, params = self.settings, self.params
        ws = self._workspace_for(batch_size)
        grads = {"theta": ws.grad}
        limit = divergence_limit(params.W.shape[1])
        order = self.rng.permutation(X.shape[0])
        total_loss = total_weight = 0.0
        # Overflow in a diverging run is reported by _check_loss, not as a RuntimeWarning.
        with np.errstate(over="ignore", invalid="ignore"):
            for batch_number, start in enumerate(range(0, order.shape[0], batch_size), start=1):
                rows = order[start:start + batch_size]
                weights = None if sample_weight is None else sample_weight[rows]
                loss, _, _ = objective.loss_and_grad(
                    params.W, params.b, ws.gather(X, rows), labels[rows], sample_weight=weights,
                    input_scale=settings.input_scale, weight_decay=self.weight_decay,
                    label_smoothing=settings.label_smoothing, out=ws)
                _check_loss(loss, limit, where, batch_number, lr)
                self.optimizer.step_unchecked(grads, lr)
                # The loss weighs each batch by its rows (or its summed weights), so a short
                # last batch counts for what it holds.
                batch_weight = rows.shape[0] if weights is None else float(weights.sum())
                total_loss += loss * batch_weight
                total_weight += batch_weight
            if not np.isfinite(params.vector).all():
                _check_loss(float("nan"), limit, where, -(-order.shape[0] // batch_size), lr)
            _check_optimizer_state(self.optimizer, where)
        return total_loss, total_weight


class IterateAverage:
    r"""A running average of a stochastic solver's iterates, weighted towards the recent ones.

    After the :math:`k`-th update with iterate :math:`\theta_k`,

    .. math:: \bar\theta_k = \bar\theta_{k-1} + \frac{\eta + 1}{k + \eta}
              (\theta_k - \bar\theta_{k-1}), \qquad \bar\theta_1 = \theta_1, \quad \eta = 3

    (polynomial-decay averaging, Shamir & Zhang, ICML 2013): it forgets the early iterates,
    far from the minimiser, at the rate of a suffix average, with no memory of past iterates.
    :meth:`scratchlin.LinearClassifier.partial_fit` updates it after each call, so that a model
    fitted on a stream of chunks is an average of what each chunk taught it, not the
    optimizer's last position (which follows the last chunk).

    Parameters
    ----------
    average : Parameters
        Holds :math:`\bar\theta`, updated in place (the model's own parameters).
    eta : float, default=3.0
    """

    def __init__(self, average: Parameters, eta: float = 3.0):
        self.average = average
        self.eta = eta
        self.updates = 0

    def update(self, iterate: Parameters) -> None:
        """Fold ``iterate`` into the average."""
        self.updates += 1
        weight = (self.eta + 1) / (self.updates + self.eta)
        self.average.vector += weight * (iterate.vector - self.average.vector)


#: Rows per chunk of L-BFGS's evaluations on raw pixels: two float32 buffers of 2048 x 784
#: take 13 MB, whatever the size of the data set.
RAW_CHUNK_ROWS = 2048


def gradient_rounding(X, dtype, input_scale: float = 1.0,
                      chunk_rows: int = objective.DATASET_CHUNK_ROWS) -> float:
    r"""The rounding level of :math:`\nabla J`'s entries computed in ``dtype``:
    :math:`\sqrt{N}\, u\, (1 + \max_j \frac{1}{N} \sum_i |x_{ij}|)`.

    A gradient entry is a mean over the rows of :math:`x_{ij} (p_{ik} - y_{ik})`, terms of size
    at most :math:`|x_{ij}|` (1 for the bias). Summing :math:`N` rounded terms errs by about
    :math:`\sqrt{N}\, u` times their absolute sum (the probabilistic bound of Higham and Mary,
    2019), :math:`u` the dtype's unit roundoff. Computed ``chunk_rows`` rows at a time, so no
    copy of ``X`` is made.
    """
    n_rows = X.shape[0]
    column_sums = np.zeros(X.shape[1])
    for start in range(0, n_rows, chunk_rows):
        column_sums += np.abs(X[start:start + chunk_rows]).sum(axis=0, dtype=np.float64)
    mean_abs = float(column_sums.max(initial=0.0)) * input_scale / max(n_rows, 1)
    return float(np.sqrt(n_rows) * np.finfo(dtype).eps * (1.0 + mean_abs))


def fit_lbfgs(params: Parameters, X, labels, settings: TrainingSettings, *, max_iter: int, tol: float,
              sample_weight=None, validation=None) -> tuple[list, lbfgs.LBFGSResult]:
    r"""Minimise the objective on all of ``(X, labels)`` by L-BFGS (:mod:`scratchlin.lbfgs`).

    Every evaluation is the whole data set's :math:`J` and gradient
    (:func:`scratchlin.objective.dataset_loss_and_grad`), so the result is the one minimiser of
    the (strictly convex, with :math:`\lambda > 0`) objective, to the gradient tolerance ``tol``,
    the same on every run. The solver works on a float64 copy of ``params.vector``; each
    evaluation writes it into the parameters in their own dtype, and the computation is in that
    dtype.

    Parameters
    ----------
    params : Parameters
        The starting point; set to the solution (in place) at the end.
    X, labels, sample_weight
        As in :meth:`Trainer.partial_fit`.
    settings : TrainingSettings
        Its ``weight_decay``, ``label_smoothing``, ``input_scale``, ``n_threads``, ``verbose``
        and ``callback`` apply; the learning rate, batch size and schedule do not.
    max_iter : int
    tol : float
        Converged when the largest entry of :math:`\nabla J` is at most ``tol``.
    validation : tuple or None, default=None
        As in :meth:`Trainer.fit`.

    Returns
    -------
    history : list of dict
        Per iteration: ``iteration``, ``train_loss`` (:math:`J`), ``grad_max``
        (:math:`\lVert \nabla J \rVert_\infty`), ``evaluations`` (objective evaluations so far),
        ``seconds``, and with validation ``val_loss``, ``val_accuracy``.
    result : scratchlin.lbfgs.LBFGSResult
    """
    # Raw pixels are cast chunk by chunk into two float buffers: small chunks keep them small.
    chunk = min(X.shape[0], objective.DATASET_CHUNK_ROWS if X.dtype == params.W.dtype else RAW_CHUNK_ROWS)
    ws = objective.Workspace(*params.W.shape, chunk, params.W.dtype)
    history: list = []
    evaluations, clock = [0], [time.perf_counter()]

    def loss_and_grad(x):
        params.vector[...] = x
        evaluations[0] += 1
        loss, grad_W, grad_b = objective.dataset_loss_and_grad(
            params.W, params.b, X, labels, sample_weight=sample_weight,
            input_scale=settings.input_scale, weight_decay=settings.weight_decay,
            label_smoothing=settings.label_smoothing, workspace=ws, chunk_rows=chunk)
        return loss, np.concatenate([grad_W.ravel(), grad_b]).astype(np.float64)

    def after_iteration(n_iter, x, loss, grad):
        params.vector[...] = x  # the callback sees the iterate, not the last trial point
        record = {"iteration": n_iter, "train_loss": loss, "grad_max": float(np.abs(grad).max()),
                  "evaluations": evaluations[0], "seconds": time.perf_counter() - clock[0]}
        _add_validation(record, validation, params, settings.input_scale)
        history.append(record)
        _report(settings, record, max_iter)
        clock[0] = time.perf_counter()

    with _blas_threads(params, settings, chunk), np.errstate(over="ignore", invalid="ignore"):
        result = lbfgs.minimize(loss_and_grad, params.vector, max_iter=max_iter, tol=tol,
                                precision=float(np.finfo(params.W.dtype).eps),
                                grad_rounding=gradient_rounding(X, params.W.dtype, settings.input_scale),
                                callback=after_iteration)
    params.vector[...] = result.x
    return history, result


# --------------------------------------------------------------------------------------------
# The hold-out split, and evaluation in chunks (bounded memory for any N)


def split_validation(n_rows: int, fraction: float, rng: np.random.Generator):
    """Draw ``round(fraction * n_rows)`` rows for validation; the others train.

    The one hold-out split of scratchlin: the estimator's early stopping and the CLI both use it.

    Parameters
    ----------
    n_rows : int
    fraction : float in (0, 1)
    rng : numpy.random.Generator
        Draws the split (one permutation of ``n_rows``).

    Returns
    -------
    train_rows, val_rows : ndarray of intp, each sorted, disjoint, together ``range(n_rows)``

    Raises
    ------
    ValueError
        If either side would be empty.
    """
    fraction = v.check_real(fraction, "validation_fraction", low=0.0, high=1.0, low_open=True, high_open=True)
    n_val = int(round(fraction * n_rows))
    if n_val < 1 or n_val >= n_rows:
        raise ValueError(
            f"validation_fraction={fraction} of {n_rows} rows leaves {n_val} for validation; "
            "a hold-out split needs at least one row on each side"
        )
    order = rng.permutation(n_rows)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _logits_chunk(X, params, input_scale):
    """Logits ``s X W + b`` of one chunk, in W's dtype (casting raw pixels chunk by chunk)."""
    W = params.W
    if X.dtype != W.dtype:
        X = X.astype(W.dtype)
    logits = X @ W
    if input_scale != 1.0:
        logits *= input_scale
    logits += params.b
    return logits


def decision_function(X, params, *, input_scale: float = 1.0, chunk_size: int = 8192) -> np.ndarray:
    """Logits ``s X W + b``, computed ``chunk_size`` rows at a time.

    Parameters
    ----------
    X : ndarray of shape (N, F)
        Features in W's dtype, or raw pixels with ``input_scale`` 1/255.
    params : Parameters
        Anything with ``W`` (F, C) and ``b`` (C,).
    input_scale : float, default=1.0
    chunk_size : int, default=8192
        Rows cast at a time, so raw pixels never need a float copy of all of ``X``.

    Returns
    -------
    ndarray of shape (N, C), W's dtype
    """
    logits = np.empty((X.shape[0], params.W.shape[1]), params.W.dtype)
    for start in range(0, X.shape[0], chunk_size):
        logits[start:start + chunk_size] = _logits_chunk(X[start:start + chunk_size], params, input_scale)
    return logits


def evaluate(X, labels, params, *, input_scale: float = 1.0, sample_weight=None, chunk_size: int = 8192):
    r"""Mean cross-entropy (no smoothing, no decay) and accuracy of ``params`` on ``X``.

    .. math:: L = \frac{\sum_i w_i (\operatorname{logsumexp}(z_i) - z_{iy_i})}{\sum_i w_i},
              \quad \text{accuracy} = \frac{\sum_i w_i [\arg\max_c z_{ic} = y_i]}{\sum_i w_i}

    with :math:`z_i` the logits of :func:`decision_function` and :math:`L` computed by
    :func:`scratchlin.functional.softmax_cross_entropy`, chunk by chunk.

    Parameters
    ----------
    X : ndarray of shape (N, F), N >= 1
    labels : ndarray of shape (N,), class indices
    params : Parameters
    input_scale : float, default=1.0
    sample_weight : ndarray of shape (N,) or None, default=None
    chunk_size : int, default=8192
        Rows per chunk, so memory stays bounded for any N.

    Returns
    -------
    (loss, accuracy) : tuple of float

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlin.training import Parameters, evaluate
    >>> params = Parameters(2, 3, np.float64)
    >>> params.b[...] = [1.0, 0.0, 0.0]  # class 0 is predicted everywhere
    >>> loss, accuracy = evaluate(np.eye(2), np.array([0, 2]), params)
    >>> round(loss, 4), accuracy  # mean of log(e + 2) - 1 and log(e + 2); one row right
    (1.0514, 0.5)
    """
    total_loss = total_correct = 0.0
    for start in range(0, X.shape[0], chunk_size):
        logits = _logits_chunk(X[start:start + chunk_size], params, input_scale)
        chunk_labels = labels[start:start + chunk_size]
        correct = logits.argmax(axis=1) == chunk_labels
        weights = None if sample_weight is None else sample_weight[start:start + chunk_size]
        chunk_loss, _ = F.softmax_cross_entropy(logits, chunk_labels, sample_weight=weights)
        if weights is None:
            total_loss += chunk_loss * logits.shape[0]
            total_correct += int(np.count_nonzero(correct))
        else:
            total_loss += chunk_loss * float(weights.sum())
            total_correct += float(weights[correct].sum())
    total_weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
    return total_loss / total_weight, total_correct / total_weight


def format_iteration(record: dict, max_iter: int | None) -> str:
    """The one-line progress report of a history record, e.g.
    ``iteration  3/100  loss 0.2901  val_loss 0.3102  val_acc 91.32%  lr 0.0018  0.1s`` (a
    stochastic solver; ``max|grad| 1.2e-05`` instead of the rate for L-BFGS; no ``/100`` when
    ``max_iter`` is None)."""
    counter = (f"{record['iteration']}" if max_iter is None
               else f"{record['iteration']:>{len(str(max_iter))}}/{max_iter}")
    line = f"iteration {counter}  loss {record['train_loss']:.4f}"
    if "val_accuracy" in record:
        line += f"  val_loss {record['val_loss']:.4f}  val_acc {100 * record['val_accuracy']:.2f}%"
    if "grad_max" in record:
        return line + f"  max|grad| {record['grad_max']:.2e}  {record['seconds']:.1f}s"
    return line + f"  lr {record['lr']:.3g}  {record['seconds']:.1f}s"
