r"""THE minibatch objective of softmax regression and its gradient: one implementation.

For a batch ``X`` (B, F) with class indices ``y`` (B,), sample weights ``w`` (ones by default),
input scale ``s`` (1/255 for raw uint8 pixels, else 1), label smoothing :math:`\varepsilon` over
C classes and weight decay :math:`\lambda`:

.. math::
    Z &= s\,X W + b, \qquad P = \operatorname{softmax}(Z) \quad\text{(row by row)} \\
    \ell_i &= \log \textstyle\sum_c e^{Z_{ic}} - (1-\varepsilon) Z_{iy_i}
              - \tfrac{\varepsilon}{C} \textstyle\sum_c Z_{ic} \\
    J &= \frac{\sum_i w_i \ell_i}{\sum_i w_i} + \tfrac{\lambda}{2} \lVert W \rVert_F^2 \\
    G &= \operatorname{diag}\!\Big(\frac{w}{\sum_i w_i}\Big)
         \big(P - (1-\varepsilon)\,\mathrm{onehot}(y) - \tfrac{\varepsilon}{C}\big) \\
    \nabla_W J &= s\,X^\top G + \lambda W, \qquad \nabla_b J = \textstyle\sum_i G_i

``\ell_i`` is :func:`scratchlin.functional.cross_entropy` with ``label_smoothing`` for one row;
the bias is not decayed. Integer weights are the same as repeating rows: ``w_i = 2`` equals
row ``i`` twice.

:func:`loss_and_grad` is that formula by the chain rule, in four steps a reader of
:mod:`scratchlin.functional` already knows: ``linear`` gives ``Z``;
:func:`~scratchlin.functional.softmax_cross_entropy`, the one stable kernel, gives the loss and
``G`` in one pass over ``Z``; ``linear_backward`` gives ``s X^T G`` and ``sum_i G_i``; the L2
term adds ``lambda W``. :func:`dataset_loss_and_grad` sums it over chunks of a whole data set.

What is here is only what pays in the training loop (each choice is measured in the design
notes, "One objective" and "The softmax cross-entropy kernel"): a :class:`Workspace` holds every
buffer, so a call with ``out=`` allocates no (B, F) or (B, C) array; the training loop
gathers each batch into it (:meth:`Workspace.gather`), raw pixels as uint8 cast into one of two
float batch buffers used in turn; the raw-pixel scale multiplies the (B, C) logits, not the
(B, F) batch; and the weight gradient is computed as ``(G^T X)^T``, a product that reads the
batch in its row order.

No argument is checked here: callers check once at their public boundary
(:meth:`scratchlin.LinearClassifier.loss_and_grad`, :class:`scratchlin.training.Trainer`).
"""
from __future__ import annotations

import numpy as np

from . import functional as F

__all__ = ["DATASET_CHUNK_ROWS", "Workspace", "dataset_loss_and_grad", "loss_and_grad"]

#: Rows per chunk when the objective is evaluated on a whole data set: on MNIST (784 features,
#: 10 classes) each product stays under the thread policy's size for a second BLAS thread, and
#: the chunk mostly stays in cache between the two products (design notes, "L-BFGS evaluates
#: on one BLAS thread").
DATASET_CHUNK_ROWS = 8192


class Workspace:
    """Preallocated buffers for :func:`loss_and_grad` on batches of up to ``max_batch`` rows.

    Parameters
    ----------
    n_features, n_classes : int
        F and C.
    max_batch : int
        The largest B that will be passed.
    dtype : {np.float32, np.float64}
        The dtype of the parameters and of the computation.

    Attributes
    ----------
    grad : ndarray of shape (F*C + C,)
        The last gradient as one flat vector ``[grad_W.ravel(), grad_b]``, the layout of
        :class:`scratchlin.training.Parameters`, so an optimizer updates both in one pass.
    grad_W : ndarray of shape (F, C)
        View of ``grad``.
    grad_b : ndarray of shape (C,)
        View of ``grad``.
    """

    def __init__(self, n_features: int, n_classes: int, max_batch: int, dtype):
        self.dtype = np.dtype(dtype)
        self.max_batch = max_batch
        self.logits = np.empty((max_batch, n_classes), self.dtype)
        self.grad_logits = np.empty((max_batch, n_classes), self.dtype)
        self.ones_rows = np.ones(max_batch, self.dtype)
        self.grad = np.empty(n_features * n_classes + n_classes, self.dtype)
        self.grad_W = self.grad[: n_features * n_classes].reshape(n_features, n_classes)
        self.grad_b = self.grad[n_features * n_classes:]
        self.grad_W_transposed = np.empty((n_classes, n_features), self.dtype)
        self._batches: list[np.ndarray] = []  # made on first use: not needed for float input
        self._next_batch = 0
        self._staging: np.ndarray | None = None

    def _batch_buffer(self, n_rows: int) -> np.ndarray:
        """The next of two float batch buffers, used in turn (see the module notes)."""
        if not self._batches:
            shape = (self.max_batch, self.grad_W.shape[0])
            self._batches = [np.empty(shape, self.dtype) for _ in range(2)]
        buffer = self._batches[self._next_batch]
        self._next_batch = 1 - self._next_batch
        return buffer[:n_rows]

    def cast(self, X: np.ndarray) -> np.ndarray:
        """``X`` (e.g. uint8 pixels) cast into a float batch buffer; values unchanged."""
        batch = self._batch_buffer(X.shape[0])
        np.copyto(batch, X, casting="unsafe")
        return batch

    def gather(self, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``X[rows]`` in a float batch buffer (raw pixels staged as uint8, then cast).

        ``rows`` must be valid row indices (a slice of a permutation): ``mode="clip"`` skips
        the bounds check that makes ``np.take`` buffer its output.
        """
        batch = self._batch_buffer(rows.shape[0])
        if X.dtype == self.dtype:
            return np.take(X, rows, axis=0, out=batch, mode="clip")
        if self._staging is None or self._staging.dtype != X.dtype:
            self._staging = np.empty((self.max_batch, X.shape[1]), X.dtype)
        staged = np.take(X, rows, axis=0, out=self._staging[: rows.shape[0]], mode="clip")
        np.copyto(batch, staged, casting="unsafe")
        return batch


def _linear(X, W, b, input_scale, ws: Workspace) -> np.ndarray:
    """:func:`scratchlin.functional.linear` with the raw-pixel scale, :math:`Z = s X W + b`,
    in ``ws.logits`` (the scale multiplies the (B, C) product, not the (B, F) batch)."""
    Z = np.matmul(X, W, out=ws.logits[: X.shape[0]])
    if input_scale != 1.0:
        Z *= input_scale
    Z += b
    return Z


def _linear_backward(G, X, input_scale, ws: Workspace):
    r"""The parameters' half of :func:`scratchlin.functional.linear_backward` with the scale:
    :math:`s X^\top G` and :math:`\sum_i G_i`, in ``ws.grad_W`` and ``ws.grad_b`` (no
    gradient for ``X``, a constant here).

    :math:`X^\top G` is computed as :math:`(G^\top X)^\top`: the product then reads ``X`` in
    its natural row order, and one transposing copy writes the (F, C) gradient.
    """
    grad_W_transposed = np.matmul(G.T, X, out=ws.grad_W_transposed)
    if input_scale != 1.0:
        grad_W_transposed *= input_scale
    np.copyto(ws.grad_W, grad_W_transposed.T)  # (np.multiply would buffer the strided read)
    np.matmul(ws.ones_rows[: G.shape[0]], G, out=ws.grad_b)
    return ws.grad_W, ws.grad_b


def _add_l2(loss, grad_W, W, weight_decay):
    r"""The penalty :math:`\tfrac{\lambda}{2} \lVert W \rVert_F^2` and its gradient
    :math:`\lambda W` (in place in ``grad_W``); the bias is not penalised."""
    if weight_decay:
        grad_W += weight_decay * W
        loss += 0.5 * weight_decay * float(np.vdot(W, W))
    return loss


def loss_and_grad(W, b, X, labels, *, sample_weight=None, input_scale=1.0, weight_decay=0.0,
                  label_smoothing=0.0, out=None):
    r"""The objective :math:`J(W, b)` on one batch and its gradient, by the chain rule.

    Linear, then cross-entropy, then linear backward, then the L2 term:

    1. :math:`Z = s X W + b` (:func:`scratchlin.functional.linear`, with the raw-pixel scale);
    2. :math:`L` and :math:`G = \partial L / \partial Z` by
       :func:`scratchlin.functional.softmax_cross_entropy`;
    3. :math:`\nabla_W L = s X^\top G` and :math:`\nabla_b L = \sum_i G_i`
       (:func:`scratchlin.functional.linear_backward`, without the gradient for ``X``);
    4. :math:`J = L + \tfrac{\lambda}{2} \lVert W \rVert_F^2`, :math:`\nabla_W J = \nabla_W L + \lambda W`.

    Parameters
    ----------
    W : ndarray of shape (F, C), float32 or float64
    b : ndarray of shape (C,), W's dtype
    X : ndarray of shape (B, F)
        Features in W's dtype, or uint8 pixels when ``input_scale != 1``.
    labels : ndarray of shape (B,), intp
        Class indices in ``[0, C)``.
    sample_weight : ndarray of shape (B,), W's dtype, default=None
        Non-negative weights :math:`w_i`; None means ones. If they are all 0 the data term
        and its gradient are 0 (only the decay remains).
    input_scale : float, default=1.0
        :math:`s`, e.g. 1/255 for raw pixels.
    weight_decay : float, default=0.0
        :math:`\lambda \ge 0`.
    label_smoothing : float, default=0.0
        :math:`\varepsilon \in [0, 1]`.
    out : Workspace, default=None
        Preallocated buffers (``max_batch >= B``, W's dtype). The returned gradients are then
        views into it, overwritten by the next call. Without it, fresh arrays are returned.

    Returns
    -------
    loss : float
    grad_W : ndarray of shape (F, C), W's dtype
    grad_b : ndarray of shape (C,), W's dtype

    Notes
    -----
    Nothing is checked (see the module notes). The loss is finite for any finite logits,
    however large: a float32 ``W = 10 * N(0, 1)`` on pixels in [0, 1] (logits in the
    hundreds, where ``exp`` overflows) gives the exact loss.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlin.objective import loss_and_grad
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> W, b = np.zeros((2, 3)), np.zeros(3)
    >>> loss, grad_W, grad_b = loss_and_grad(W, b, X, np.array([0, 2]))
    >>> round(loss, 4)  # log(3): every class equally likely
    1.0986
    >>> grad_W.round(3)  # X^T (P - onehot) / 2, P = 1/3 everywhere
    array([[-0.333,  0.167,  0.167],
           [ 0.167,  0.167, -0.333]])
    """
    ws = out if out is not None else Workspace(W.shape[0], W.shape[1], X.shape[0], W.dtype)
    if X.dtype != W.dtype:  # raw pixels
        X = ws.cast(X) if out is not None else X.astype(W.dtype)
    Z = _linear(X, W, b, input_scale, ws)
    loss, G = F.softmax_cross_entropy(Z, labels, sample_weight=sample_weight,
                                      label_smoothing=label_smoothing, out=ws.grad_logits[: X.shape[0]])
    grad_W, grad_b = _linear_backward(G, X, input_scale, ws)
    return _add_l2(loss, grad_W, W, weight_decay), grad_W, grad_b


def dataset_loss_and_grad(W, b, X, labels, *, sample_weight=None, input_scale=1.0, weight_decay=0.0,
                          label_smoothing=0.0, workspace=None, chunk_rows=DATASET_CHUNK_ROWS):
    r"""The objective :math:`J(W, b)` on a whole data set, ``chunk_rows`` rows at a time.

    The same :math:`J` and gradient as :func:`loss_and_grad` on all the rows at once (up to
    rounding): each chunk's weighted mean counts in proportion to its weight,

    .. math:: J = \sum_k \frac{\sum_{i \in k} w_i}{\sum_i w_i} J_k^{\text{data}}
              + \tfrac{\lambda}{2} \lVert W \rVert_F^2,

    so memory stays bounded for any N (raw pixels are cast one chunk at a time).

    Parameters
    ----------
    W, b, X, labels, sample_weight, input_scale, weight_decay, label_smoothing
        As in :func:`loss_and_grad`; ``X`` may have any number of rows N >= 1.
    workspace : Workspace or None, default=None
        Buffers reused across calls; chunks are then at most its ``max_batch`` rows.
    chunk_rows : int, default=DATASET_CHUNK_ROWS

    Returns
    -------
    loss : float
    grad_W : ndarray of shape (F, C), W's dtype (a new array)
    grad_b : ndarray of shape (C,), W's dtype (a new array)

    Examples
    --------
    Chunks of 2 rows give the objective of all 5 rows at once:

    >>> import numpy as np
    >>> from scratchlin.objective import dataset_loss_and_grad, loss_and_grad
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(5, 3)), np.array([0, 1, 2, 1, 0])
    >>> W, b = rng.normal(size=(3, 3)), np.zeros(3)
    >>> chunked, _, _ = dataset_loss_and_grad(W, b, X, y, chunk_rows=2)
    >>> at_once, _, _ = loss_and_grad(W, b, X, y)
    >>> bool(np.isclose(chunked, at_once, rtol=1e-14))
    True
    """
    n_rows = X.shape[0]
    size = min(n_rows, chunk_rows if workspace is None else min(chunk_rows, workspace.max_batch))
    ws = workspace if workspace is not None else Workspace(W.shape[0], W.shape[1], size, W.dtype)
    total_weight = float(n_rows if sample_weight is None else sample_weight.sum()) or 1.0
    loss, grad = 0.0, np.zeros_like(ws.grad)
    for start in range(0, n_rows, size):
        rows = slice(start, start + size)
        weights = None if sample_weight is None else sample_weight[rows]
        chunk_loss, _, _ = loss_and_grad(W, b, X[rows], labels[rows], sample_weight=weights,
                                         input_scale=input_scale, label_smoothing=label_smoothing,
                                         out=ws)
        share = float(min(size, n_rows - start) if weights is None else weights.sum()) / total_weight
        loss += share * chunk_loss
        grad += share * ws.grad
    grad_W = grad[: W.size].reshape(W.shape)
    return _add_l2(loss, grad_W, W, weight_decay), grad_W, grad[W.size:]
