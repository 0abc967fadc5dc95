r"""The minibatch training loop of softmax regression.

One epoch visits every training row once, in an order drawn from the seeded generator. For each
minibatch of ``B`` rows the objective

.. math:: J(W, b) = \frac{1}{B} \sum_{i=1}^{B} \ell_i(x_i W + b) + \frac{\lambda}{2} \lVert W \rVert_F^2

(``\ell`` the cross-entropy, with label smoothing, of :func:`scratchlin.functional.cross_entropy`;
``\lambda`` the weight decay, which does not touch the bias) is evaluated together with its
gradient in one fused pass over preallocated buffers (:class:`BatchKernel`), and the optimizer
updates ``W`` and ``b``, held as views of one flat vector (:class:`FlatParameters`).

This module knows nothing of the estimator: :class:`scratchlin.LinearClassifier` checks the
data, maps labels to class indices and calls :func:`train`.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import functional, optim


class TrainingDivergedError(FloatingPointError):
    """The loss blew up (see :func:`divergence_limit`) or the parameters stopped being finite:
    the step size is too large."""


# --------------------------------------------------------------------------------------------
# The fused loss-and-gradient of one minibatch


class BatchKernel:
    r"""Loss and gradient of the minibatch objective, computed in place in reusable buffers.

    For a batch ``X_b`` (B, F) with class indices ``y`` (B,), scale ``s`` (1/255 for raw uint8
    pixels, else 1), smoothing :math:`\varepsilon` over C classes:

    .. math::
        Z &= s\,X_b W + b, \qquad P = \operatorname{softmax}(Z) \\
        J &= \tfrac{1}{B} \textstyle\sum_i \big(\log \sum_c e^{Z_{ic}} - (1-\varepsilon) Z_{iy_i}
             - \tfrac{\varepsilon}{C} \sum_c Z_{ic}\big) + \tfrac{\lambda}{2} \lVert W \rVert^2 \\
        G &= \tfrac{1}{B}\big(P - (1-\varepsilon)\,\mathrm{onehot}(y) - \tfrac{\varepsilon}{C}\big) \\
        \nabla_W J &= s\,X_b^\top G + \lambda W, \qquad \nabla_b J = \textstyle\sum_i G_i

    It is the same mathematics as ``cross_entropy_and_grad`` followed by ``linear_backward``
    (tests hold the two to float rounding), written for speed, each choice measured
    (``benchmarks/bench_ops.py``): no one-hot and no temporaries per batch; raw pixels are
    gathered as uint8 (a quarter of the memory traffic) and cast into a float buffer that stays
    in cache for both matrix products; the ``1/255`` is folded into the (B, C) logits and the
    (F, C) gradient instead of the (B, F) batch; row and column sums over the 10 classes are
    matrix-vector products, several times faster than ``sum(axis=...)`` on such short rows.

    Parameters
    ----------
    n_features, n_classes : int
        F and C.
    max_batch : int
        Largest B that will be passed.
    dtype : {np.float32, np.float64}
        Dtype of the parameters and of the computation.
    input_scale : float, default=1.0
        ``s`` above.
    weight_decay : float, default=0.0
        :math:`\lambda`.
    label_smoothing : float, default=0.0
        :math:`\varepsilon`.
    """

    def __init__(self, n_features, n_classes, max_batch, dtype, *, input_scale=1.0,
                 weight_decay=0.0, label_smoothing=0.0):
        self.dtype = np.dtype(dtype)
        self.input_scale = input_scale
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.n_classes = n_classes
        # Two batch buffers, used in turn: when one buffer is rewritten every batch, the core
        # that writes it must first take back the cache lines the other BLAS thread read last
        # time; alternating measured 14% faster for gather + both products (uint8, B=256).
        self._batches = [np.empty((max_batch, n_features), self.dtype) for _ in range(2)]
        self._next_batch = 0
        self._raw_batch = None  # uint8 staging buffer, made on first use
        self._logits = np.empty((max_batch, n_classes), self.dtype)
        self._row_sum = np.empty(max_batch, self.dtype)
        # Entry (i, y_i) of a (B, C) buffer is element i*C + y_i of its flat view; indexing that
        # view is 2-3x faster than a (rows, labels) fancy index into the 2-D array.
        self._row_offsets = np.arange(max_batch) * n_classes
        self._label_index = np.empty(max_batch, np.intp)
        self._ones_rows = np.ones(max_batch, self.dtype)
        self._ones_classes = np.ones(n_classes, self.dtype)
        # A row sum of exp(Z - shift) below this means the row's largest logit lies far below
        # the batch's, so its probabilities would lose precision: shift that batch per row.
        self._smallest_safe_sum = np.sqrt(np.finfo(self.dtype).tiny)
        # The gradient is one flat vector [dW.ravel(), db], with grad_W and grad_b views into
        # it, so an optimizer can update a flat parameter vector in one pass per operation.
        self.grad = np.empty(n_features * n_classes + n_classes, self.dtype)
        self.grad_W = self.grad[: n_features * n_classes].reshape(n_features, n_classes)
        self.grad_b = self.grad[n_features * n_classes:]

    def gather(self, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Copy ``X[rows]`` into a float batch buffer (casting uint8 pixels) and return it."""
        buffer = self._batches[self._next_batch]
        self._next_batch = 1 - self._next_batch
        batch = buffer[: rows.shape[0]]
        # mode="clip" skips the bounds check that makes np.take buffer its output; the rows
        # come from a permutation of range(N), so they are always in bounds.
        if X.dtype == self.dtype:
            return np.take(X, rows, axis=0, out=batch, mode="clip")
        if self._raw_batch is None or self._raw_batch.dtype != X.dtype:
            self._raw_batch = np.empty(buffer.shape, X.dtype)
        staged = np.take(X, rows, axis=0, out=self._raw_batch[: rows.shape[0]], mode="clip")
        np.copyto(batch, staged, casting="unsafe")
        return batch

    def _shifted_exp_logits(self, batch, label_index, W, b, per_row: bool):
        """Fill the logits buffer with ``exp(Z - shift)``; return it, its row sums, and the
        shifted ``Z_iy`` and ``sum_c Z_ic`` needed by the loss.

        Softmax is unchanged by any per-row constant, so the shift may be the batch's largest
        logit (one cheap global max) instead of each row's own (a slow reduction over rows of
        10); the latter is the fallback when a row would underflow.
        """
        n_rows = batch.shape[0]
        logits, row_sum = self._logits[:n_rows], self._row_sum[:n_rows]
        np.matmul(batch, W, out=logits)
        if self.input_scale != 1.0:
            logits *= self.input_scale
        logits += b
        logits -= logits.max(axis=1, keepdims=True) if per_row else logits.max()
        label_logit = logits.reshape(-1)[label_index]
        logit_sum = logits @ self._ones_classes if self.label_smoothing > 0 else 0.0
        np.exp(logits, out=logits)
        np.matmul(logits, self._ones_classes, out=row_sum)
        return logits, row_sum, label_logit, logit_sum

    def loss_and_grad(self, batch: np.ndarray, labels: np.ndarray, W: np.ndarray, b: np.ndarray) -> float:
        """Return the objective on ``batch`` and leave its gradient in ``grad_W``, ``grad_b``.

        Parameters
        ----------
        batch : ndarray of shape (B, F)
            Features (unscaled raw pixels when ``input_scale != 1``).
        labels : ndarray of shape (B,), intp
            Class indices in ``[0, C)``.
        W : ndarray of shape (F, C)
        b : ndarray of shape (C,)

        Returns
        -------
        float
            :math:`J(W, b)` on this batch.
        """
        n_rows = batch.shape[0]
        eps, n_classes = self.label_smoothing, self.n_classes
        label_index = np.add(self._row_offsets[:n_rows], labels, out=self._label_index[:n_rows])
        exps, row_sum, label_logit, logit_sum = self._shifted_exp_logits(batch, label_index, W, b, per_row=False)
        if row_sum.min() < self._smallest_safe_sum:
            exps, row_sum, label_logit, logit_sum = self._shifted_exp_logits(batch, label_index, W, b, per_row=True)

        log_normaliser = np.log(row_sum)
        # -log p_iy = log sum_c e^Z_ic - Z_iy ; -sum_c log p_ic = C log sum_c e^Z_ic - sum_c Z_ic
        total = (1 - eps) * (log_normaliser.sum() - label_logit.sum())
        if eps > 0:
            total += (eps / n_classes) * (n_classes * log_normaliser.sum() - logit_sum.sum())
        loss = float(total) / n_rows

        grad_logits = exps
        grad_logits /= row_sum[:, None]  # probabilities
        grad_logits.reshape(-1)[label_index] -= 1 - eps
        if eps > 0:
            grad_logits -= eps / n_classes
        grad_logits *= 1.0 / n_rows

        np.matmul(batch.T, grad_logits, out=self.grad_W)
        if self.input_scale != 1.0:
            self.grad_W *= self.input_scale
        np.matmul(self._ones_rows[:n_rows], grad_logits, out=self.grad_b)
        if self.weight_decay:
            self.grad_W += self.weight_decay * W
            loss += 0.5 * self.weight_decay * float(np.vdot(W, W))
        return loss


# --------------------------------------------------------------------------------------------
# Evaluation in chunks (bounded memory for any N)


def evaluate(X, labels, W, b, *, input_scale=1.0, chunk_size=8192):
    """Mean cross-entropy (no smoothing, no decay) and accuracy of ``(W, b)`` on ``X``.

    Parameters
    ----------
    X : ndarray of shape (N, F)
    labels : ndarray of shape (N,), class indices
    W, b : parameters
    input_scale : float, default=1.0
    chunk_size : int, default=8192
        Rows per chunk, so memory stays bounded for any N.

    Returns
    -------
    (loss, accuracy) : tuple of float
    """
    total_loss, correct = 0.0, 0
    for start in range(0, X.shape[0], chunk_size):
        logits = decision_chunk(X[start:start + chunk_size], W, b, input_scale)
        chunk_labels = labels[start:start + chunk_size]
        total_loss += float(functional.cross_entropy(logits, chunk_labels, reduction="sum"))
        correct += int(np.count_nonzero(logits.argmax(axis=1) == chunk_labels))
    return total_loss / X.shape[0], correct / X.shape[0]


def decision_chunk(X, W, b, input_scale=1.0):
    """Logits ``s X W + b`` of one chunk, in ``W``'s dtype (casting raw pixels)."""
    if X.dtype != W.dtype:
        X = X.astype(W.dtype)
    logits = X @ W
    if input_scale != 1.0:
        logits *= input_scale
    logits += b
    return logits


# --------------------------------------------------------------------------------------------
# The loop


@dataclass
class TrainingSettings:
    """Hyperparameters of :func:`train`; see :class:`scratchlin.LinearClassifier`."""

    lr: float
    epochs: int
    batch_size: int
    optimizer: str
    momentum: float
    nesterov: bool
    weight_decay: float
    label_smoothing: float
    lr_schedule: Callable[[float, int], float]
    early_stopping: bool
    patience: int
    verbose: bool
    callback: Callable | None = None
    input_scale: float = 1.0


def build_schedule(schedule, epochs: int):
    """The per-epoch learning-rate schedule named by the estimator's ``lr_schedule``.

    ``"cosine"`` anneals to 0 over ``epochs`` (the last epoch still takes a small step),
    ``"step"`` divides the rate by 10 every third of the run, ``"constant"`` keeps it; a
    callable ``(base_lr, epoch) -> lr`` is used as it is.
    """
    if isinstance(schedule, str) and schedule.lower() == "cosine":
        return optim.CosineLR(total_epochs=epochs)
    if isinstance(schedule, str) and schedule.lower() == "step":
        return optim.StepLR(step_size=max(1, epochs // 3))
    return optim.get_schedule(schedule)


def _make_optimizer(settings: TrainingSettings, params: dict):
    if settings.optimizer == "sgd":
        return optim.SGD(params, lr=settings.lr, momentum=settings.momentum,
                         nesterov=settings.nesterov)
    return optim.Adam(params, lr=settings.lr)


def format_epoch(record: dict, epochs: int) -> str:
    """The one-line progress report of a history record, e.g.
    ``epoch  3/15  loss 0.2901  val_loss 0.3102  val_acc 91.32%  lr 0.0018  0.1s``."""
    width = len(str(epochs))
    line = f"epoch {record['epoch']:>{width}}/{epochs}  loss {record['train_loss']:.4f}"
    if "val_accuracy" in record:
        line += f"  val_loss {record['val_loss']:.4f}  val_acc {100 * record['val_accuracy']:.2f}%"
    return line + f"  lr {record['lr']:.3g}  {record['seconds']:.1f}s"


def divergence_limit(n_classes: int) -> float:
    """The minibatch loss beyond which training is declared diverged: ten times ``log C``.

    ``log C`` is the loss of the zero model that training starts from (uniform predictions).
    A model whose mean loss on a batch is ten times worse gives the right class a probability
    around ``C**-10`` on average: it is not learning but blowing up, long before any overflow.
    """
    return 10 * float(np.log(n_classes))


def _check_loss(loss: float, limit: float, epoch: int, batch: int, lr: float) -> None:
    if not loss <= limit:  # also catches NaN
        raise TrainingDivergedError(
            f"training diverged at epoch {epoch}, batch {batch}: the loss became {loss:.4g} "
            f"(limit {limit:.4g}, ten times that of the starting zero model); the learning rate "
            f"lr={lr:g} is too large for this data, try a smaller one (e.g. lr={lr / 10:g})"
        )


class FlatParameters:
    """``W`` and ``b`` as views into one flat vector ``[W.ravel(), b]``.

    The optimizer then updates a single array: each of its elementwise operations is one
    NumPy call instead of two. With Adam (eleven operations per array and step) that made the
    default fit 12% faster (1.41 -> 1.24 s). The update rules are elementwise, so the result is
    the same.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray):
        self.vector = np.concatenate([W.ravel(), b])
        self.W = self.vector[: W.size].reshape(W.shape)
        self.b = self.vector[W.size:]

    def copy_to(self, params: dict) -> None:
        """Write the current values into ``params["W"]`` and ``params["b"]``."""
        params["W"][...] = self.W
        params["b"][...] = self.b


def train_epoch(kernel, optimizer, X, labels, flat, order, batch_size, lr, epoch):
    """One pass over ``X`` in the given row ``order``, updating ``flat`` (FlatParameters)
    through ``optimizer``, which was built on ``{"theta": flat.vector}``.

    Returns
    -------
    float
        The objective averaged over the epoch's rows (each batch weighted by its size).

    Raises
    ------
    TrainingDivergedError
        If a batch's loss exceeds :func:`divergence_limit` or is not finite.
    """
    W, b = flat.W, flat.b
    grads = {"theta": kernel.grad}
    limit = divergence_limit(W.shape[1])
    total = 0.0
    # Overflow in a diverging run is reported by _check_loss, not as a RuntimeWarning.
    with np.errstate(over="ignore", invalid="ignore"):
        for batch_number, start in enumerate(range(0, order.shape[0], batch_size), start=1):
            rows = order[start:start + batch_size]
            batch = kernel.gather(X, rows)
            loss = kernel.loss_and_grad(batch, labels[rows], W, b)
            _check_loss(loss, limit, epoch, batch_number, lr)
            optimizer.step(grads, lr=lr)
            total += loss * rows.shape[0]
    return total / order.shape[0]


def train(params: dict, X, labels, settings: TrainingSettings, rng: np.random.Generator,
          validation=None) -> list:
    """Fit ``params`` (``{"W": (F, C), "b": (C,)}``, updated in place) to ``(X, labels)``.

    Parameters
    ----------
    params : dict of ndarray
        Initial parameters; they hold the trained (or, with early stopping, the best) values
        on return.
    X : ndarray of shape (N, F)
        Float features in ``params``' dtype, or raw pixels when ``settings.input_scale != 1``.
    labels : ndarray of shape (N,), intp
        Class indices in ``[0, C)``.
    settings : TrainingSettings
    rng : numpy.random.Generator
        Source of the per-epoch shuffles.
    validation : tuple (X_val, labels_val) or None, default=None
        Evaluated after every epoch; required for early stopping.

    Returns
    -------
    list of dict
        One record per epoch: ``epoch``, ``train_loss`` (the minibatch objective as optimised,
        averaged over the epoch's rows), ``lr``, ``seconds`` and, with validation, ``val_loss`` and
        ``val_accuracy``.

    Raises
    ------
    TrainingDivergedError
        When a batch's loss exceeds :func:`divergence_limit` or the parameters stop being
        finite.
    """
    n_samples = X.shape[0]
    batch_size = min(settings.batch_size, n_samples)
    flat = FlatParameters(params["W"], params["b"])
    kernel = BatchKernel(flat.W.shape[0], flat.W.shape[1], batch_size, flat.W.dtype,
                         input_scale=settings.input_scale, weight_decay=settings.weight_decay,
                         label_smoothing=settings.label_smoothing)
    optimizer = _make_optimizer(settings, {"theta": flat.vector})
    history, best = [], None
    for epoch in range(1, settings.epochs + 1):
        started = time.perf_counter()
        lr = settings.lr_schedule(settings.lr, epoch - 1)
        order = rng.permutation(n_samples)
        train_loss = train_epoch(kernel, optimizer, X, labels, flat, order, batch_size, lr, epoch)
        if not np.isfinite(flat.vector).all():
            _check_loss(float("nan"), 0.0, epoch, -(-n_samples // batch_size), lr)
        flat.copy_to(params)  # the caller's arrays (and a callback) see this epoch's values
        record = {"epoch": epoch, "train_loss": train_loss, "lr": lr}
        if validation is not None:
            record["val_loss"], record["val_accuracy"] = evaluate(
                *validation, flat.W, flat.b, input_scale=settings.input_scale)
        record["seconds"] = time.perf_counter() - started
        history.append(record)
        if settings.verbose:
            print(format_epoch(record, settings.epochs), flush=True)
        if settings.callback is not None:
            settings.callback(record)
        if settings.early_stopping:
            if best is None or record["val_loss"] < best[0]:
                best = (record["val_loss"], epoch, flat.vector.copy())
            elif epoch - best[1] >= settings.patience:
                break
    if settings.early_stopping and best is not None:
        flat.vector[...] = best[2]
        flat.copy_to(params)
    return history
