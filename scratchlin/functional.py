r"""Pure functions of softmax regression and their analytic gradients, in vectorized NumPy.

Each differentiable function ``f`` has its backward rule ``f_backward`` right below it: given
the gradient of a scalar objective with respect to ``f``'s output (``grad_output``), it returns
the gradient with respect to ``f``'s input, by the chain rule.

Conventions shared by every function here:

* Inputs are never modified; outputs are new arrays.
* float32 stays float32 and float64 stays float64; float16 is computed in float32 and the
  result cast back to float16. Integer features are refused (``TypeError``) with a hint on how
  to convert them, since silently promoting raw pixels is the classic bug.
* Numerical stability comes from working on logits: every exponential is taken of
  ``x - max(x)``, and ``log_softmax`` is ``x - logsumexp(x)``, never ``log(softmax(x))``.
  One private shift (``_shift``) and one exponential-and-sum (``_exp_sum``) do this for
  every function here.
* :func:`softmax_cross_entropy` is the kernel under :func:`cross_entropy` (in its common
  case), the training objective (:mod:`scratchlin.objective`) and evaluation: the weighted
  mean cross-entropy of class-index rows and its gradient in one pass, unchecked.
* The semantics are PyTorch's (``torch.softmax``, ``torch.log_softmax``, ``torch.logsumexp``,
  ``torch.nn.functional.cross_entropy``, ``one_hot`` and ``linear``), on the inputs PyTorch
  takes: a 0-d array is a slice of one element (axis 0 or -1); an empty array gives an empty
  result (and ``logsumexp`` over an empty axis is ``-inf``, the log of an empty sum);
  ``logsumexp`` reduces an axis, a tuple of axes or (``axis=None``) all of them;
  ``cross_entropy`` takes (N, C) logits, (N, C, d1, ..., dk) logits with a class per position
  (the class axis is 1) and unbatched (C,) logits, with class-index targets of shape (N,),
  (N, d1, ..., dk) or () and class-probability targets of the logits' shape; ``linear`` takes
  features of shape (..., F).

Differences from torch
----------------------
Spelling (the same computation):

* ``axis`` and ``keepdims`` (NumPy's names) for torch's ``dim`` and ``keepdim``.
* ``linear(x, W, b)`` takes ``W`` of shape (F, C) = (in, out), the notebook's ``x @ W + b``;
  torch's ``weight`` is (out, in), its transpose.
* No ``dtype`` argument to ``softmax`` / ``log_softmax``: cast the input first,
  ``softmax(x.astype(np.float64))``, as torch does with ``dtype=torch.float64``.
* ``one_hot`` returns float32 by default (torch: int64); pass ``dtype=np.int64`` for torch's.
  ``num_classes=-1`` (torch's "infer") and ``None`` both take ``labels.max() + 1``.
* Gradients are functions, not autograd: ``softmax_backward``, ``log_softmax_backward``,
  ``logsumexp_backward``, ``cross_entropy_backward`` (logits),
  ``cross_entropy_target_backward`` (class-probability targets) and ``linear_backward``.

Values:

* ``0 * log 0`` is taken as its limit, 0: a zero target probability (or a zero label
  coefficient at ``label_smoothing=1``) on a ``-inf`` logit adds 0 to the loss, where torch
  gives NaN.
* When every counted label has weight 0 the gradient of the ``mean`` is 0 (torch: NaN); the
  loss is NaN in both.

Refused on purpose (torch accepts them):

* Negative class weights with reduction="mean" and class-index targets. The mean divides by
  :math:`\sum_i w_{y_i}`, the sum of the targets' weights; with a negative weight that sum can
  be 0 (an infinite or NaN loss) or negative (the loss changes sign), so the result is no
  weighted average of the per-sample losses. A negative weight is otherwise a well-defined
  signed weighted sum and is accepted: with ``reduction="sum"`` or ``"none"``, and with
  class-probability targets (whose mean divides by the number of rows). To reproduce torch's
  number, take ``reduction="sum"`` and divide by ``weight[target].sum()`` yourself.
* A negative ``label_smoothing`` (torch takes it; like torch, values above 1 are refused):
  it is the probability mass moved to the uniform distribution.
* NaN logits (torch propagates them): a NaN loss hides where the NaN came from, so the error
  names its position.
* ``axis=()`` in ``logsumexp``: NumPy reads it as "no axis", torch as "every axis"; pass
  ``axis=None`` for every axis.
"""
from __future__ import annotations

import functools
import numbers
from typing import NamedTuple

import numpy as np

from . import _validation as v

__all__ = [
    "logsumexp", "softmax", "softmax_backward", "log_softmax", "log_softmax_backward", "one_hot",
    "cross_entropy", "cross_entropy_backward", "cross_entropy_and_grad", "cross_entropy_target_backward",
    "logsumexp_backward", "linear", "linear_backward", "softmax_cross_entropy",
    "REDUCTIONS",
]

#: The values of cross_entropy's ``reduction`` (torch's).
REDUCTIONS = ("mean", "sum", "none")
_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: Below this sum of exponentials a row's probabilities lose precision (:func:`softmax_cross_entropy`).
_SMALLEST_SAFE_SUM = {dtype: np.sqrt(np.finfo(dtype).tiny) for dtype in _FAST_DTYPES}


# --------------------------------------------------------------------------------------------
# dtype handling


def _to_compute(x: np.ndarray) -> np.ndarray:
    """View ``x`` in the dtype it is computed in (float16 -> float32; no copy otherwise)."""
    return x.astype(v.compute_dtype(x.dtype), copy=False)


def _check_same_float_dtype(arrays: dict) -> np.dtype:
    """Return the common dtype of ``arrays`` (name -> array), refusing mixed float dtypes.

    Mixing float32 and float64 would silently promote to float64 (and run at half speed),
    so it is refused, as PyTorch refuses it.
    """
    dtypes = {name: a.dtype for name, a in arrays.items()}
    if len(set(dtypes.values())) > 1:
        described = ", ".join(f"{name} is {dtype}" for name, dtype in dtypes.items())
        raise TypeError(f"arrays must share one float dtype, got {described}; cast them with .astype()")
    return next(iter(dtypes.values()))


# --------------------------------------------------------------------------------------------
# logsumexp, softmax, log_softmax


def _shift(x: np.ndarray, axis, *, per_slice: bool = True, guard: bool = False, out=None):
    """``(x - m, m)``: the shift that keeps every exponential of this module finite.

    ``m`` is the max over ``axis`` (an int or a tuple of ints, kept as length-1 axes) or, with
    ``per_slice=False``, the largest entry of all of ``x``: softmax does not change when a
    slice is shifted by any constant, and one max over a contiguous buffer is much faster than
    a max per short row (see :func:`softmax_cross_entropy`). With ``guard``, a max that is not
    finite shifts by 0, so a slice of all ``-inf`` keeps its ``-inf`` and one holding ``+inf``
    its ``+inf``; without it such a slice becomes NaN (no probabilities exist there).
    """
    m = x.max(axis=axis, keepdims=True) if per_slice else x.max()
    if guard:
        m = np.where(np.isfinite(m), m, 0)
    return np.subtract(x, m, out=out), m


def _exp_sum(shifted: np.ndarray, axis, *, out=None):
    """``(exp(shifted), its sums over axis)``, the exponentials written to ``out`` (which may
    be ``shifted`` itself); the sums keep the reduced axes, except for the rows of a 2-D array
    reduced along axis 1, whose sums are a vector (a matrix-vector product, several times
    faster than ``sum(axis=1)`` on rows of 10)."""
    exps = np.exp(shifted, out=out)
    if exps.ndim == 2 and axis in (1, -1, (1,)) and exps.flags.c_contiguous:
        return exps, exps @ np.ones(exps.shape[1], exps.dtype)
    return exps, np.sum(exps, axis=axis, keepdims=True)


def _logsumexp(x: np.ndarray, axis) -> np.ndarray:
    """``log(sum(exp(x), axis))`` with ``keepdims=True``, stable for large ``|x|``: the guarded
    shift, so an all ``-inf`` slice gives ``-inf`` and a slice holding ``+inf`` gives ``+inf``."""
    shifted, m = _shift(x, axis, guard=True)
    _, sums = _exp_sum(shifted, axis, out=shifted)
    with np.errstate(divide="ignore"):  # log(0) = -inf for an all -inf row is the right answer
        return np.log(sums.reshape(m.shape)) + m


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """``(x - m) - log(sum(exp(x - m)))`` with ``m`` the max along ``axis``.

    Subtracting the shift first keeps the result accurate for large logits: ``x - logsumexp(x)``
    rounds ``logsumexp`` at the logits' magnitude (float32 logits of 512 lose 6e-5 absolute).
    The shift is not guarded: a slice whose max is not finite (all ``-inf``, or holding
    ``+inf``) has no log-probabilities and gives NaN throughout, as in PyTorch and as
    ``log(softmax(x))`` (a guarded shift gave ``[nan, -inf]`` for ``[inf, 0]``).
    """
    shifted, m = _shift(x, axis)
    _, sums = _exp_sum(shifted, axis)
    shifted -= np.log(sums.reshape(m.shape))
    return shifted


def _softmax(x: np.ndarray, axis) -> np.ndarray:
    """``exp(x - m) / sum(exp(x - m))`` along ``axis``, as a new array (NaN for a slice
    without a finite max)."""
    shifted, m = _shift(x, axis)
    exps, sums = _exp_sum(shifted, axis, out=shifted)
    exps /= sums.reshape(m.shape)
    return exps


def _at_least_1d(x: np.ndarray) -> np.ndarray:
    """A 0-d array as a vector of one element (torch's rule for dim 0 or -1 of a scalar)."""
    return x.reshape(1) if x.ndim == 0 else x


def _check_axis(axis, ndim: int) -> int:
    """``axis`` in ``[0, ndim)``; a 0-d array has the one axis 0 (or -1), as in torch."""
    if ndim > 0:
        return v.check_axis(axis, ndim)
    try:
        return v.check_axis(axis, 1)
    except ValueError:
        raise ValueError(f"axis={axis} is out of range for a 0-d array, which takes axis 0 or -1") from None


def _prepare_softmax_input(x, name: str, axis) -> tuple[np.ndarray, int]:
    """``x`` as a float array and ``axis`` in ``[0, ndim)``; a 0-d ``x`` has the one axis 0."""
    x = v.as_float_array(x, name)
    return x, _check_axis(axis, x.ndim)


def _prepare_axes(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (int, tuple or list of ints, or None for all) as a tuple of distinct axes in
    ``[0, max(ndim, 1))``; a 0-d array counts as one axis, as in torch."""
    if axis is None:
        return tuple(range(max(ndim, 1)))
    if isinstance(axis, (tuple, list)):
        axis = tuple(axis)
        if not axis:
            raise ValueError(
                "axis=() is ambiguous (NumPy reduces no axis, PyTorch every axis); "
                "pass axis=None to reduce every axis, or a tuple of the axes to reduce"
            )
        axes = tuple(_check_axis(a, ndim) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"axis {axis} names an axis more than once")
        return axes
    return (_check_axis(axis, ndim),)


def _reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> tuple[int, ...]:
    """The shape of a reduction of ``shape`` over ``axes`` (0-d stays 0-d)."""
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _prepare_backward_inputs(grad_output, output, name: str, axis):
    """Checked ``(grad_output, output)`` in compute dtype, the axis, and the result dtype."""
    output, axis = _prepare_softmax_input(output, name, axis)
    grad_output = v.as_float_array(grad_output, "grad_output")
    v.check_same_shape(grad_output, "grad_output", output, name)
    dtype = _check_same_float_dtype({"grad_output": grad_output, name: output})
    return _to_compute(grad_output), _to_compute(output), axis, dtype


def logsumexp(x, axis: int | tuple[int, ...] | None = -1, keepdims: bool = False) -> np.ndarray:
    r"""Log of the sum of exponentials over ``axis``, computed without overflow.

    .. math:: \operatorname{logsumexp}(x) = m + \log \sum_j e^{x_j - m}, \quad m = \max_j x_j

    where :math:`j` runs over every position of the reduced axes.

    Parameters
    ----------
    x : ndarray of any shape, float
        Input values; ``-inf`` entries contribute nothing. A 0-d ``x`` is one element.
    axis : int, tuple (or list) of int, or None, default=-1
        Axis or axes to reduce (as ``dim`` in :func:`torch.logsumexp`); ``None`` reduces all.
    keepdims : bool, default=False
        Keep the reduced axes with length 1.

    Returns
    -------
    ndarray of ``x``'s dtype
        Shape of ``x`` without the reduced axes (or with length 1 there if ``keepdims``); 0-d
        for a 0-d ``x``. A slice of all ``-inf`` gives ``-inf``, and so does an empty slice
        (the log of an empty sum, 0).
    """
    x = v.as_float_array(x, "x")
    axes = _prepare_axes(axis, x.ndim)
    work = _at_least_1d(_to_compute(x))
    if work.size == 0:  # no max to shift by; every slice's sum is 0
        result = np.full(_reduced_shape(work.shape, axes, keepdims=True), -np.inf, work.dtype)
    else:
        result = _logsumexp(work, axes)
    if x.ndim == 0:
        result = result.reshape(())
    elif not keepdims:
        result = np.squeeze(result, axis=axes)
    return result.astype(x.dtype, copy=False)


def logsumexp_backward(grad_output, x, axis: int | tuple[int, ...] | None = -1,
                       keepdims: bool = False) -> np.ndarray:
    r"""Gradient through :func:`logsumexp`, given its input ``x``.

    .. math:: \frac{\partial L}{\partial x_j} = g\, e^{x_j - \operatorname{logsumexp}(x)}
              = g \operatorname{softmax}(x)_j

    over the reduced axes, with :math:`g` broadcast along them.

    Parameters
    ----------
    grad_output : ndarray, shape of ``logsumexp(x, axis, keepdims)``, float
        :math:`g = \partial L / \partial \operatorname{logsumexp}(x)`.
    x : ndarray, float
        The input of :func:`logsumexp`.
    axis, keepdims
        As given to :func:`logsumexp`.

    Returns
    -------
    ndarray, shape and dtype of ``x``
        :math:`\partial L / \partial x`.
    """
    x = v.as_float_array(x, "x")
    axes = _prepare_axes(axis, x.ndim)
    grad_output = v.as_float_array(grad_output, "grad_output")
    expected = _reduced_shape(x.shape, axes, keepdims)
    if grad_output.shape != expected:
        raise ValueError(f"grad_output must have the shape of logsumexp(x) {expected}, got {grad_output.shape}")
    dtype = _check_same_float_dtype({"grad_output": grad_output, "x": x})
    work, g = _at_least_1d(_to_compute(x)), _at_least_1d(_to_compute(grad_output))
    if x.ndim and not keepdims:
        g = np.expand_dims(g, axes)
    if work.size == 0:
        return np.zeros(x.shape, dtype)
    with np.errstate(invalid="ignore"):  # an all -inf slice has no softmax: NaN, as in torch
        grad = g * np.exp(work - _logsumexp(work, axes))
    return grad.reshape(x.shape).astype(dtype, copy=False)


def softmax(x, axis: int = -1) -> np.ndarray:
    r"""Softmax along ``axis``: non-negative values that sum to 1.

    .. math:: \operatorname{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}},
              \quad m = \max_j x_j

    Parameters
    ----------
    x : ndarray of any shape, float
        Logits. A 0-d ``x`` is a slice of one element (its softmax is 1).
    axis : int, default=-1
        Axis over which the probabilities sum to 1 (0 or -1 for a 0-d ``x``).

    Returns
    -------
    ndarray, shape and dtype of ``x``
        Probabilities (empty for an empty ``x``). As in PyTorch, a slice of all ``-inf`` (no
        finite logit) gives NaN.
    """
    x, axis = _prepare_softmax_input(x, "x", axis)
    work = _at_least_1d(_to_compute(x))
    if work.size == 0:  # nothing to normalise (np.max refuses an empty slice)
        return np.empty(x.shape, x.dtype)
    with np.errstate(invalid="ignore"):  # an all -inf slice gives NaN, documented, as in torch
        probs = _softmax(work, axis)
    return probs.reshape(x.shape).astype(x.dtype, copy=False)


def softmax_backward(grad_output, probs, axis: int = -1) -> np.ndarray:
    r"""Gradient through :func:`softmax`, given its output ``probs``.

    The Jacobian is :math:`\partial p_i / \partial x_j = p_i (\delta_{ij} - p_j)`, so

    .. math:: \frac{\partial L}{\partial x} = p \odot \Big(g - \sum_j g_j p_j\Big)

    Parameters
    ----------
    grad_output : ndarray, shape of ``probs``, float
        :math:`g = \partial L / \partial p`.
    probs : ndarray of shape (..., C, ...), float
        ``softmax(x, axis)``.
    axis : int, default=-1
        The axis softmax was taken over.

    Returns
    -------
    ndarray, shape and dtype of ``probs``
        :math:`\partial L / \partial x`.
    """
    g, p, axis, dtype = _prepare_backward_inputs(grad_output, probs, "probs", axis)
    g, p = _at_least_1d(g), _at_least_1d(p)
    grad = p * (g - np.sum(g * p, axis=axis, keepdims=True))
    return grad.reshape(np.shape(probs)).astype(dtype, copy=False)


def log_softmax(x, axis: int = -1) -> np.ndarray:
    r"""Logarithm of :func:`softmax`, computed directly from the logits.

    .. math:: \log \operatorname{softmax}(x)_i = x_i - \operatorname{logsumexp}(x)

    Stays finite for finite logits of any size, where ``log(softmax(x))`` underflows to
    ``-inf``.

    Parameters
    ----------
    x : ndarray of any shape, float
        Logits. A 0-d ``x`` is a slice of one element (its log-softmax is 0).
    axis : int, default=-1
        Axis of the classes (0 or -1 for a 0-d ``x``).

    Returns
    -------
    ndarray, shape and dtype of ``x``
        Log-probabilities, empty for an empty ``x`` (``-inf`` where ``x`` is ``-inf``; NaN
        throughout a slice of all ``-inf`` or holding ``+inf``, as in PyTorch).
    """
    x, axis = _prepare_softmax_input(x, "x", axis)
    work = _at_least_1d(_to_compute(x))
    if work.size == 0:  # nothing to normalise (np.max refuses an empty slice)
        return np.empty(x.shape, x.dtype)
    with np.errstate(invalid="ignore"):  # all -inf or a +inf: NaN, documented, as in torch
        return _log_softmax(work, axis).reshape(x.shape).astype(x.dtype, copy=False)


def log_softmax_backward(grad_output, log_probs, axis: int = -1) -> np.ndarray:
    r"""Gradient through :func:`log_softmax`, given its output ``log_probs``.

    With :math:`\partial \log p_i / \partial x_j = \delta_{ij} - p_j`,

    .. math:: \frac{\partial L}{\partial x} = g - e^{\log p} \sum_i g_i

    Parameters
    ----------
    grad_output : ndarray, shape of ``log_probs``, float
        :math:`g = \partial L / \partial \log p`.
    log_probs : ndarray of shape (..., C, ...), float
        ``log_softmax(x, axis)``.
    axis : int, default=-1
        The axis log_softmax was taken over.

    Returns
    -------
    ndarray, shape and dtype of ``log_probs``
        :math:`\partial L / \partial x`.
    """
    g, log_p, axis, dtype = _prepare_backward_inputs(grad_output, log_probs, "log_probs", axis)
    g, log_p = _at_least_1d(g), _at_least_1d(log_p)
    grad = g - np.exp(log_p) * np.sum(g, axis=axis, keepdims=True)
    return grad.reshape(np.shape(log_probs)).astype(dtype, copy=False)


# --------------------------------------------------------------------------------------------
# one_hot


def _as_index_array(labels, name: str) -> np.ndarray:
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"{name} must hold integer class indices, got dtype {labels.dtype}; "
            f"convert with {name}.astype(np.int64) if the values are whole numbers"
        )
    return labels


def one_hot(labels, num_classes: int | None = None, dtype=np.float32) -> np.ndarray:
    """Encode integer class indices as one-hot rows.

    Parameters
    ----------
    labels : array_like of int, shape (...)
        Class indices in ``[0, num_classes)``; a 0-d label gives one row of shape (C,).
    num_classes : int or None, default=None
        Number of classes C; ``None`` (or -1, PyTorch's spelling) takes ``labels.max() + 1``.
    dtype : dtype, default=np.float32
        Dtype of the result.

    Returns
    -------
    ndarray of shape (..., C)
        ``out[..., k] = 1`` where ``labels == k``, else 0.
    """
    labels = _as_index_array(labels, "labels")
    if num_classes is None or (type(num_classes) is int and num_classes == -1):
        if labels.size == 0:
            raise ValueError("num_classes must be given when labels is empty")
        v.check_class_indices(labels, max(int(labels.max()) + 1, 1), "labels")  # negatives
        num_classes = int(labels.max()) + 1
    num_classes = v.check_int(num_classes, "num_classes", low=1)
    v.check_class_indices(labels, num_classes, "labels")
    encoded = np.zeros(labels.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(encoded, labels[..., None].astype(np.intp), 1, axis=-1)
    return encoded


# --------------------------------------------------------------------------------------------
# cross_entropy


def _xlogy(coefficient: np.ndarray, log_p: np.ndarray) -> np.ndarray:
    """``coefficient * log_p`` with ``0 * log 0 = 0`` (the limit) instead of NaN."""
    coefficient, log_p = np.broadcast_arrays(coefficient, log_p)
    return np.multiply(coefficient, log_p, out=np.zeros(log_p.shape, log_p.dtype), where=coefficient != 0)


class _CrossEntropyInputs:
    """Validated, compute-dtype inputs of cross_entropy, shared by forward and backward."""

    def __init__(self, logits, target, weight, ignore_index, reduction, label_smoothing):
        logits = v.as_float_array(logits, "logits", ndim=2)
        v.check_no_nan(logits, "logits")
        self.out_dtype = logits.dtype
        self.logits = _to_compute(logits)
        n_samples, n_classes = logits.shape
        self.n_classes = n_classes
        self.reduction = v.check_choice(reduction, "reduction", REDUCTIONS)
        self.label_smoothing = v.check_real(label_smoothing, "label_smoothing", low=0.0, high=1.0)
        self.ignore_index = v.check_int(ignore_index, "ignore_index")
        self.weight = self._check_weight(weight)
        self.is_index_target = self._check_target(target, n_samples)
        self._refuse_a_mean_with_negative_weight()

    def _check_weight(self, weight):
        if weight is None:
            return None
        weight = v.as_float_array(weight, "weight", ndim=1)
        if weight.shape[0] != self.n_classes:
            raise ValueError(
                f"weight must have one entry per class ({self.n_classes}), got shape {weight.shape}"
            )
        v.check_finite(weight, "weight")
        return weight.astype(self.logits.dtype)

    def _refuse_a_mean_with_negative_weight(self):
        """A weighted mean of class-index targets divides by the sum of the labels' weights:
        with a negative weight that sum can be 0 or negative, and the "mean" no average."""
        if self.weight is None or not self.is_index_target or self.reduction != "mean":
            return
        if (self.weight < 0).any():
            k = int(np.argmin(self.weight))
            raise ValueError(
                f"weight holds a negative entry ({self.weight[k]} for class {k}), and "
                "reduction='mean' with class-index targets divides by the sum of the targets' "
                "weights, which is then no weighted average (it can be 0 or negative and flip the "
                "loss's sign); use reduction='sum' or 'none' and divide by a normaliser of your "
                "choice, or non-negative weights"
            )

    def _check_target(self, target, n_samples) -> bool:
        target = np.asarray(target)
        if target.ndim == 1:
            if np.issubdtype(target.dtype, np.floating):
                raise TypeError(
                    f"a 1-D target must hold integer class indices, got dtype {target.dtype}; "
                    "convert with target.astype(np.int64), or pass class probabilities of "
                    "shape (N, C)"
                )
            target = _as_index_array(target, "target")
            if target.shape[0] != n_samples:
                raise ValueError(
                    f"target must have one label per row of logits ({n_samples}), got {target.shape[0]}"
                )
            v.check_class_indices(target, self.n_classes, "target", self.ignore_index)
            self.target = target
            return True
        if target.ndim == 2:
            target = v.as_float_array(target, "target (class probabilities)")
            v.check_same_shape(target, "target (class probabilities)", self.logits, "logits")
            v.check_finite(target, "target")
            if (target < 0).any():
                raise ValueError(f"target probabilities must be non-negative, got minimum {target.min()}")
            if self.ignore_index != -100:
                raise ValueError(
                    f"ignore_index={self.ignore_index} is only supported with class-index targets, "
                    "not with class-probability targets"
                )
            self.target = target.astype(self.logits.dtype, copy=False)
            return False
        raise ValueError(
            f"target must be class indices of shape (N,) or class probabilities of shape (N, C), "
            f"got shape {target.shape}"
        )

    # -- the target as coefficients of log p: loss_i = -sum_j T_ij log p_ij -------------------

    def weighted_target_probs(self) -> np.ndarray:
        """T for probability targets: ``w_j * ((1 - eps) t_ij + eps / C)``, shape (N, C)."""
        eps, target = self.label_smoothing, self.target
        if eps > 0:
            target = target * (1 - eps) + eps / self.n_classes
        return target if self.weight is None else target * self.weight

    @functools.cached_property
    def index_parts(self):
        """For index targets: rows, safe labels, ``w[y_i]`` (0 if ignored), keep mask."""
        keep = self.target != self.ignore_index
        labels = np.where(keep, self.target, 0).astype(np.intp)
        label_weight = np.ones(labels.shape, self.logits.dtype) if self.weight is None else self.weight[labels]
        return np.arange(labels.shape[0]), labels, np.where(keep, label_weight, 0), keep

    def class_weight(self) -> np.ndarray:
        return np.ones(self.n_classes, self.logits.dtype) if self.weight is None else self.weight

    @functools.cached_property
    def normaliser(self):
        """What ``mean`` divides by: summed label weights (index targets) or N (probabilities)."""
        if not self.is_index_target:
            return self.logits.dtype.type(self.logits.shape[0])
        return np.sum(self.index_parts[2])


def _per_sample_loss(inputs: _CrossEntropyInputs, log_p: np.ndarray) -> np.ndarray:
    """loss_i = -sum_j T_ij log p_ij, shape (N,), without building T for index targets."""
    if not inputs.is_index_target:
        return -np.sum(_xlogy(inputs.weighted_target_probs(), log_p), axis=1)
    rows, labels, label_weight, keep = inputs.index_parts
    eps = inputs.label_smoothing
    # (1 - eps) belongs to the label's coefficient: at eps = 1 a -inf label logit adds 0 (0 log 0)
    loss = -_xlogy((1 - eps) * label_weight, log_p[rows, labels])
    if eps > 0:  # skipped at eps = 0, where 0 * inf would turn a -inf logit into NaN
        smooth = -np.sum(_xlogy(inputs.class_weight(), log_p), axis=1)
        loss += (eps / inputs.n_classes) * np.where(keep, smooth, 0)
    return loss


def _per_sample_grad(inputs: _CrossEntropyInputs, log_p: np.ndarray) -> np.ndarray:
    """d loss_i / d logits_ij = p_ij * sum_k T_ik - T_ij, shape (N, C).

    The probabilities become the gradient in place: besides ``log_p`` one (N, C) array."""
    grad = np.exp(log_p)
    if not inputs.is_index_target:
        weighted = inputs.weighted_target_probs()
        grad *= np.sum(weighted, axis=1, keepdims=True)
        grad -= weighted
        return grad
    rows, labels, label_weight, keep = inputs.index_parts
    eps, n_classes = inputs.label_smoothing, inputs.n_classes
    class_weight = inputs.class_weight()
    row_total = (1 - eps) * label_weight + (eps / n_classes) * np.where(keep, class_weight.sum(), 0)
    grad *= row_total[:, None]
    if eps > 0:
        grad -= np.outer(keep, (eps / n_classes) * class_weight)
    grad[rows, labels] -= (1 - eps) * label_weight
    return grad


def _reduce(inputs: _CrossEntropyInputs, per_sample: np.ndarray):
    if inputs.reduction == "none":
        return per_sample
    total = np.sum(per_sample)
    if inputs.reduction == "sum":
        return total
    normaliser = inputs.normaliser
    if normaliser == 0:  # no label weight counted: NaN as torch, even if smoothing added a total
        return per_sample.dtype.type(np.nan)
    return total / normaliser


def _grad_scale(inputs: _CrossEntropyInputs, grad_output: np.ndarray) -> np.ndarray:
    """The factor each row's gradient is multiplied by: upstream gradient / mean normaliser."""
    if inputs.reduction == "none":
        return grad_output[:, None]
    if inputs.reduction == "sum":
        return grad_output
    normaliser = inputs.normaliser
    # With every target ignored the loss is NaN but no logit influences it: gradient 0 (torch).
    return grad_output / normaliser if normaliser != 0 else np.zeros_like(grad_output)


def _check_grad_output(grad_output, inputs: _CrossEntropyInputs) -> np.ndarray:
    if isinstance(grad_output, numbers.Real) and not isinstance(grad_output, bool):
        grad_output = float(grad_output)  # a Python 1 means 1.0 here, not integer features
    grad_output = v.as_float_array(grad_output, "grad_output")
    expected = (inputs.logits.shape[0],) if inputs.reduction == "none" else ()
    if grad_output.shape != expected:
        raise ValueError(
            f"grad_output must have shape {expected} for reduction={inputs.reduction!r}, "
            f"got {grad_output.shape}"
        )
    return grad_output.astype(inputs.logits.dtype)


class _Rows(NamedTuple):
    """Logits and target in any of torch's layouts as rows of classes, and the way back.

    torch's class axis is 1 (0 for unbatched (C,) logits): (N, C, d1, ..., dk) logits are the
    N * d1 * ... * dk rows of C classes that sit at each position (n, d1, ..., dk).
    """

    logits: np.ndarray  # (M, C)
    target: np.ndarray  # (M,) class indices or (M, C) probabilities
    logits_shape: tuple  # the caller's layout: (C,), (N, C) or (N, C, d1, ..., dk)
    loss_shape: tuple  # a loss per position: (), (N,) or (N, d1, ..., dk)

    def loss(self, loss, reduction: str):
        """A reduced loss as it is; per-row losses (M,) in the shape of the positions."""
        return loss.reshape(self.loss_shape) if reduction == "none" else loss

    def upstream(self, grad_output, reduction: str):
        """grad_output of shape ``loss_shape`` (reduction "none") as one value per row."""
        if reduction != "none":
            return grad_output
        grad_output = v.as_float_array(grad_output, "grad_output")
        if grad_output.shape != self.loss_shape:
            raise ValueError(
                f"grad_output must have shape {self.loss_shape} for reduction='none', "
                f"got {grad_output.shape}"
            )
        return grad_output.reshape(-1)

    def layout(self, rows: np.ndarray) -> np.ndarray:
        """(M, C) rows (a gradient) back in the layout of the logits."""
        if len(self.logits_shape) == 1:
            return rows.reshape(self.logits_shape)
        at_positions = rows.reshape(self.loss_shape + (rows.shape[1],))
        return np.ascontiguousarray(np.moveaxis(at_positions, -1, 1))


def _as_rows(logits, target) -> _Rows:
    """The logits and target of :func:`cross_entropy` as :class:`_Rows` (checks their shapes)."""
    logits = v.as_float_array(logits, "logits")
    if logits.ndim == 0:
        raise ValueError("logits must have a class axis: shape (C,), (N, C) or (N, C, d1, ..., dk), got a 0-d array")
    if logits.ndim == 2:  # the rows themselves: the row functions check the target
        return _Rows(logits, target, logits.shape, logits.shape[:1])
    v.check_no_nan(logits, "logits")  # here, to name the position in the caller's layout
    n_classes = logits.shape[0] if logits.ndim == 1 else logits.shape[1]
    loss_shape = logits.shape[:1] + logits.shape[2:] if logits.ndim > 1 else ()

    def to_rows(a):
        return a.reshape(1, n_classes) if a.ndim == 1 else np.moveaxis(a, 1, -1).reshape(-1, n_classes)

    target = np.asarray(target)
    if target.shape == loss_shape:
        if np.issubdtype(target.dtype, np.floating):
            raise TypeError(
                f"a target of shape {loss_shape} must hold integer class indices, got dtype "
                f"{target.dtype}; convert with target.astype(np.int64), or pass class "
                f"probabilities of the logits' shape {logits.shape}"
            )
        return _Rows(to_rows(logits), target.reshape(-1), logits.shape, loss_shape)
    if target.shape == logits.shape:
        return _Rows(to_rows(logits), to_rows(target), logits.shape, loss_shape)
    raise ValueError(
        f"target must be class indices of shape {loss_shape} or class probabilities of the "
        f"logits' shape {logits.shape} (the class axis is {0 if logits.ndim == 1 else 1}), "
        f"got shape {target.shape}"
    )


def cross_entropy(logits, target, *, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0):
    r"""Cross-entropy between softmax(logits) and a target, as in PyTorch.

    Let :math:`\log p = \operatorname{log\_softmax}(z)`, :math:`w` the class weights (ones by
    default), :math:`\varepsilon` the label smoothing and :math:`C` the number of classes.

    Logits have the class axis 1, as in PyTorch: shape (N, C), or (N, C, d1, ..., dk) for a
    class per position (pixels of an image, steps of a sequence), or (C,) for one sample. Below,
    :math:`i` runs over the N rows, or over the N * d1 * ... * dk positions.

    *Class-index target* :math:`y_i` (integer, shape (N,), (N, d1, ..., dk) or ()):

    .. math:: \ell_i = -(1-\varepsilon)\, w_{y_i} \log p_{i y_i}
                       - \frac{\varepsilon}{C} \sum_c w_c \log p_{ic}

    and ``mean`` divides :math:`\sum_i \ell_i` by :math:`\sum_i w_{y_i}` over the rows whose
    target is not ``ignore_index`` (ignored rows have :math:`\ell_i = 0`).

    *Class-probability target* :math:`t_{ic}` (float, the logits' shape, one-hot included):

    .. math:: \ell_i = -\sum_c w_c \big((1-\varepsilon) t_{ic} + \tfrac{\varepsilon}{C}\big)
                       \log p_{ic}

    and ``mean`` divides by the number of rows (positions).

    Parameters
    ----------
    logits : ndarray of shape (N, C), (N, C, d1, ..., dk) or (C,), float
        Unnormalised scores. NaN is refused; ``-inf`` means "impossible class".
    target : ndarray of int, shape (N,), (N, d1, ..., dk) or (); or of float, the logits' shape
        Class indices in ``[0, C)`` (or ``ignore_index``), or non-negative class
        probabilities.
    weight : ndarray of shape (C,), default=None
        Weight per class. A negative weight makes the loss a signed weighted sum: accepted
        for ``sum``, ``none`` and probability targets, refused for the ``mean`` of class-index
        targets (see "Differences from torch" above).
    ignore_index : int, default=-100
        Class-index target value whose rows count neither in the loss nor in the mean.
    reduction : {"mean", "sum", "none"}, default="mean"
        How the per-sample losses :math:`\ell_i` are combined.
    label_smoothing : float in [0, 1], default=0.0
        Mass :math:`\varepsilon` moved from the target to the uniform distribution.

    Returns
    -------
    loss : scalar of ``logits``' dtype, or ndarray of the target positions' shape ((N,),
        (N, d1, ..., dk) or ()) for ``reduction="none"``
        A zero target coefficient on a ``-inf`` logit contributes 0 (the limit of
        :math:`t \log p`), where PyTorch gives NaN: a zero target probability, and also the
        label term at ``label_smoothing=1`` (PyTorch's :math:`0 \cdot \infty`), so a ``-inf``
        label logit at full smoothing gives the smoothing term's ``+inf``. ``mean`` over no
        counted row, or over rows whose label weights are all 0, is NaN as in PyTorch (also
        with label smoothing).

    Notes
    -----
    Class-index targets never build an (N, C) one-hot matrix. ``weight`` and probability
    targets are cast to ``logits``' dtype: the computation runs in the logits' precision.
    """
    if not (type(logits) is np.ndarray and logits.ndim == 2):  # (N, C) rows: computed below
        rows = _as_rows(logits, target)
        loss = cross_entropy(rows.logits, rows.target, weight=weight, ignore_index=ignore_index,
                             reduction=reduction, label_smoothing=label_smoothing)
        return rows.loss(loss, reduction)
    eps = _kernel_case(logits, target, weight, ignore_index, reduction, label_smoothing)
    fast = None if eps is None else _kernel_loss(logits, target, eps, reduction, need_grad=False)
    if fast is not None:
        return fast[0]
    inputs = _CrossEntropyInputs(logits, target, weight, ignore_index, reduction, label_smoothing)
    log_p = _log_softmax(inputs.logits, axis=1)
    loss = _reduce(inputs, _per_sample_loss(inputs, log_p))
    return np.asarray(loss).astype(inputs.out_dtype)[()]


def cross_entropy_backward(grad_output, logits, target, *, weight=None, ignore_index: int = -100,
                           reduction: str = "mean", label_smoothing: float = 0.0) -> np.ndarray:
    r"""Gradient of :func:`cross_entropy` with respect to ``logits``.

    Writing the loss of row :math:`i` as :math:`\ell_i = -\sum_c T_{ic} \log p_{ic}` (``T`` the
    weighted, smoothed target of :func:`cross_entropy`'s formulas),

    .. math:: \frac{\partial \ell_i}{\partial z_{ic}} = p_{ic} \sum_k T_{ik} - T_{ic}

    which is the familiar ``softmax(z) - onehot(y)`` without weights or smoothing. Each row is
    then multiplied by ``grad_output`` (per row for ``reduction="none"``) and, for ``mean``, by
    1 / the normaliser of the mean.

    Parameters
    ----------
    grad_output : float or ndarray of shape () or of the target positions' shape
        Upstream gradient: a scalar for ``mean``/``sum``; for ``none``, one value per loss
        (shape (N,), (N, d1, ..., dk) or ()).
    logits, target, weight, ignore_index, reduction, label_smoothing
        As in :func:`cross_entropy`.

    Returns
    -------
    ndarray, shape of ``logits``, ``logits``' dtype
        :math:`\partial L / \partial z`. Zero for ignored rows, and zero everywhere when every
        target is ignored (as in PyTorch) or every counted label has weight 0 (PyTorch: NaN).
    """
    if not (type(logits) is np.ndarray and logits.ndim == 2):  # (N, C) rows: computed below
        rows = _as_rows(logits, target)
        grad = cross_entropy_backward(rows.upstream(grad_output, reduction), rows.logits, rows.target,
                                      weight=weight, ignore_index=ignore_index, reduction=reduction,
                                      label_smoothing=label_smoothing)
        return rows.layout(grad)
    if type(grad_output) in (float, int) or (type(grad_output) is np.ndarray and grad_output.shape == ()
                                             and grad_output.dtype in _FAST_DTYPES):
        eps = _kernel_case(logits, target, weight, ignore_index, reduction, label_smoothing)
        fast = None if eps is None else _kernel_loss(logits, target, eps, reduction, need_grad=True)
        if fast is not None:
            grad = fast[1]
            if grad_output != 1:
                grad *= grad.dtype.type(grad_output)
            return grad
    inputs = _CrossEntropyInputs(logits, target, weight, ignore_index, reduction, label_smoothing)
    grad_output = _check_grad_output(grad_output, inputs)
    log_p = _log_softmax(inputs.logits, axis=1)
    grad = _per_sample_grad(inputs, log_p)
    grad *= _grad_scale(inputs, grad_output)  # in place: no second (N, C) array
    return grad.astype(inputs.out_dtype, copy=False)


def cross_entropy_and_grad(logits, target, *, weight=None, ignore_index: int = -100,
                           reduction: str = "mean", label_smoothing: float = 0.0):
    r"""The loss of :func:`cross_entropy` and its gradient, from one shared forward pass.

    Parameters
    ----------
    logits, target, weight, ignore_index, label_smoothing
        As in :func:`cross_entropy`.
    reduction : {"mean", "sum"}, default="mean"
        Must reduce to a scalar, so that "the gradient of the loss" has one meaning; for
        ``"none"`` use :func:`cross_entropy_backward` with a ``grad_output`` of shape (N,).

    Returns
    -------
    loss : scalar of ``logits``' dtype
    grad : ndarray, shape and dtype of ``logits``
        ``cross_entropy_backward(1.0, logits, target, ...)``.
    """
    if not (type(logits) is np.ndarray and logits.ndim == 2):  # (N, C) rows: computed below
        rows = _as_rows(logits, target)
        loss, grad = cross_entropy_and_grad(rows.logits, rows.target, weight=weight, ignore_index=ignore_index,
                                            reduction=reduction, label_smoothing=label_smoothing)
        return loss, rows.layout(grad)
    v.check_choice(reduction, "reduction", ("mean", "sum"))
    eps = _kernel_case(logits, target, weight, ignore_index, reduction, label_smoothing)
    fast = None if eps is None else _kernel_loss(logits, target, eps, reduction, need_grad=True)
    if fast is not None:
        return fast
    inputs = _CrossEntropyInputs(logits, target, weight, ignore_index, reduction, label_smoothing)
    log_p = _log_softmax(inputs.logits, axis=1)
    loss = _reduce(inputs, _per_sample_loss(inputs, log_p))
    grad = _per_sample_grad(inputs, log_p)
    grad *= _grad_scale(inputs, np.ones((), inputs.logits.dtype))  # in place: no second (N, C)
    return inputs.out_dtype.type(loss), grad.astype(inputs.out_dtype, copy=False)


def cross_entropy_target_backward(grad_output, logits, target, *, weight=None, reduction: str = "mean",
                                  label_smoothing: float = 0.0) -> np.ndarray:
    r"""Gradient of :func:`cross_entropy` with respect to a class-probability ``target``.

    The loss is linear in the target: with :math:`w` the class weights (ones by default) and
    :math:`\varepsilon` the label smoothing,

    .. math:: \frac{\partial \ell_i}{\partial t_{ic}} = -(1-\varepsilon)\, w_c \log p_{ic}

    then multiplied by ``grad_output`` (per row for ``reduction="none"``) and, for ``mean``, by
    1 / the number of rows (positions). A zero coefficient on a ``-inf`` logit gives 0, the
    limit used in :func:`cross_entropy`.

    Parameters
    ----------
    grad_output, logits, weight, reduction, label_smoothing
        As in :func:`cross_entropy_backward`.
    target : ndarray of float, the logits' shape
        Class probabilities. Class indices have no gradient (``TypeError``).

    Returns
    -------
    ndarray, shape and dtype of ``logits``
        :math:`\partial L / \partial t`.
    """
    if not (type(logits) is np.ndarray and logits.ndim == 2):  # (N, C) rows: computed below
        rows = _as_rows(logits, target)
        grad = cross_entropy_target_backward(rows.upstream(grad_output, reduction), rows.logits, rows.target,
                                             weight=weight, reduction=reduction, label_smoothing=label_smoothing)
        return rows.layout(grad)
    inputs = _CrossEntropyInputs(logits, target, weight, -100, reduction, label_smoothing)
    if inputs.is_index_target:
        raise TypeError(
            "class-index targets have no gradient (they are integers); pass class probabilities "
            "of the logits' shape to differentiate with respect to the target"
        )
    log_p = _log_softmax(inputs.logits, axis=1)
    grad = _xlogy(-(1 - inputs.label_smoothing) * inputs.class_weight(), log_p)
    grad *= _grad_scale(inputs, _check_grad_output(grad_output, inputs))
    return grad.astype(inputs.out_dtype, copy=False)


# --------------------------------------------------------------------------------------------
# THE kernel: softmax cross-entropy of class-index rows, the losses and dL/dZ in one pass


class _RowLosses(NamedTuple):
    """The forward pass of :func:`softmax_cross_entropy` (see :func:`_row_losses`)."""

    exps: np.ndarray  # (N, C) exp(logits - shift), turned into the gradient in place
    row_sum: np.ndarray  # (N,) sum_c exp(logits_ic - shift_i)
    label_index: np.ndarray  # (N,) flat index i*C + y_i
    loss_sum: float  # sum_i w_i l_i


def _flat_label_index(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """``i*C + y_i``: entry ``(i, y_i)`` of an (N, C) buffer as an index of its flat view, 2-3x
    faster to read and write than ``Z[arange(N), y]``."""
    index = np.arange(0, labels.shape[0] * n_classes, n_classes, dtype=np.intp)
    index += labels
    return index


def _shifted_exp_rows(logits, label_index, eps, per_row: bool, out):
    """``exp(logits - shift)`` in ``out``, its row sums, and the shifted label logits and (with
    smoothing) shifted logit sums the loss needs, taken before the exponential."""
    shifted, _ = _shift(logits, 1, per_slice=per_row, out=out)
    label_logit = shifted.reshape(-1)[label_index]
    logit_sum = shifted @ np.ones(shifted.shape[1], shifted.dtype) if eps > 0 else None
    exps, row_sum = _exp_sum(shifted, 1, out=shifted)
    return exps, row_sum, label_logit, logit_sum


def _row_losses(logits, labels, eps, sample_weight=None, out=None) -> _RowLosses:
    r"""The exponentials and :math:`\sum_i w_i \ell_i`, with
    :math:`\ell_i = \log \sum_c e^{z_{ic}} - (1-\varepsilon) z_{iy_i} - \tfrac{\varepsilon}{C}
    \sum_c z_{ic}` taken on the shifted logits (where it is the same number)."""
    n_classes = logits.shape[1]
    label_index = _flat_label_index(labels, n_classes)
    if out is None:
        out = np.empty_like(logits)
    parts = _shifted_exp_rows(logits, label_index, eps, False, out)
    if not parts[1].min() >= _SMALLEST_SAFE_SUM[logits.dtype]:  # a row far below the max (or NaN)
        parts = _shifted_exp_rows(logits, label_index, eps, True, out)
    exps, row_sum, label_logit, logit_sum = parts
    row_loss = np.log(row_sum)
    label_logit *= 1 - eps  # in place (a gathered copy): no (N,) temporary
    row_loss -= label_logit
    if logit_sum is not None:
        logit_sum *= eps / n_classes
        row_loss -= logit_sum
    loss_sum = float(row_loss.sum() if sample_weight is None else np.dot(sample_weight, row_loss))
    return _RowLosses(exps, row_sum, label_index, loss_sum)


def _row_factor(n_rows: int, sample_weight):
    """``w_i / sum w``, each row's share of the weighted mean (a float when every weight is 1),
    and ``sum w``; weights all 0 count as a sum of 1: no data, loss 0 and no gradient."""
    if sample_weight is None:
        return 1.0 / n_rows, float(n_rows)
    total_weight = float(sample_weight.sum()) or 1.0
    return sample_weight * (1.0 / total_weight), total_weight


def _row_grad(forward: _RowLosses, row_factor, eps) -> np.ndarray:
    """``row_factor_i (P - (1-eps) onehot - eps/C)``, in place in ``forward.exps``."""
    grad, row_sum = forward.exps, forward.row_sum
    factor = np.asarray(row_factor, grad.dtype)
    grad *= np.divide(row_factor, row_sum, out=row_sum)[:, None]  # P times the row factor, one pass
    grad.reshape(-1)[forward.label_index] -= (1 - eps) * factor
    if eps > 0:
        grad -= ((eps / grad.shape[1]) * factor).reshape(-1, 1)
    return grad


def softmax_cross_entropy(logits, labels, *, sample_weight=None, label_smoothing: float = 0.0, out=None):
    r"""The weighted mean cross-entropy of softmax(logits) and its gradient, in one pass.

    This is the kernel under :func:`cross_entropy` (in its common case), the training
    objective (:mod:`scratchlin.objective`) and :func:`scratchlin.training.evaluate`. For
    rows :math:`z_i` of C logits, labels :math:`y_i`, sample weights :math:`w_i` and label
    smoothing :math:`\varepsilon`:

    .. math::
        \ell_i &= \log \textstyle\sum_c e^{z_{ic}} - (1-\varepsilon) z_{iy_i}
                  - \tfrac{\varepsilon}{C} \textstyle\sum_c z_{ic}, \qquad
        L = \frac{\sum_i w_i \ell_i}{\sum_i w_i} \\
        \frac{\partial L}{\partial z_{ic}} &= \frac{w_i}{\sum_k w_k}
            \Big(p_{ic} - (1-\varepsilon)[c = y_i] - \tfrac{\varepsilon}{C}\Big),
        \qquad p_i = \operatorname{softmax}(z_i)

    It is :func:`cross_entropy` (``reduction="mean"``, no class weights) with per-row weights,
    written for speed: every exponential is taken of ``z - m`` with ``m`` the largest logit of
    the whole batch (one contiguous reduction), and only when a row's sum of exponentials
    falls below :math:`\sqrt{\text{tiny}}` (the row lies far below the batch's max, or holds
    a non-finite logit) is the batch redone with each row's own max. Entry :math:`(i, y_i)`
    is read through its index :math:`iC + y_i` in the flat buffer. The measurements behind
    these choices are in the design notes ("The softmax cross-entropy kernel").

    Parameters
    ----------
    logits : ndarray of shape (N, C), float32 or float64, N >= 1
        Not modified.
    labels : ndarray of shape (N,), int
        Class indices in ``[0, C)``.
    sample_weight : ndarray of shape (N,), ``logits``' dtype, default=None
        Non-negative :math:`w_i`; None means ones. All 0: loss 0 and gradient 0.
    label_smoothing : float in [0, 1], default=0.0
    out : ndarray of shape (N, C), ``logits``' dtype, default=None
        Where the gradient is written (a new array by default).

    Returns
    -------
    loss : float
        :math:`L`; NaN or infinite only for non-finite logits.
    grad : ndarray of shape (N, C), ``logits``' dtype
        :math:`\partial L / \partial z` (``out`` when given).

    Notes
    -----
    Nothing is checked: callers check once at their public boundary
    (:func:`cross_entropy` checks everything and computes the uncommon cases itself).

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlin.functional import softmax_cross_entropy
    >>> logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> loss, grad = softmax_cross_entropy(logits, np.array([0, 2]))
    >>> round(loss, 4)  # the mean of log(e^2 + 2) - 2 and log(3)
    0.6691
    >>> grad.round(3)  # (softmax(z_i) - onehot(y_i)) / 2
    array([[-0.107,  0.053,  0.053],
           [ 0.167,  0.167, -0.333]])
    """
    forward = _row_losses(logits, labels, label_smoothing, sample_weight, out=out)
    row_factor, total_weight = _row_factor(logits.shape[0], sample_weight)
    return forward.loss_sum / total_weight, _row_grad(forward, row_factor, label_smoothing)


def _kernel_case(logits, target, weight, ignore_index, reduction, label_smoothing):
    r"""The smoothing :math:`\varepsilon` when :func:`cross_entropy`'s arguments are the
    kernel's common case, else None (the general path then checks everything).

    The common case: (N, C) float32/float64 logits, N >= 1 class indices all in ``[0, C)``, no
    class weight, nothing ignored, a mean or a sum. Every check here is O(N): NaN or infinite
    logits show as a non-finite loss, and only then does the general path run (and name them).
    """
    if not (weight is None and ignore_index == -100 and reduction in ("mean", "sum")
            and type(logits) is np.ndarray and logits.ndim == 2 and logits.dtype in _FAST_DTYPES
            and type(target) is np.ndarray and target.ndim == 1 and target.dtype.kind in "iu"
            and 0 < target.shape[0] == logits.shape[0]):
        return None
    eps = label_smoothing
    if not (type(eps) is float and 0.0 <= eps <= 1.0):
        eps = v.check_real(label_smoothing, "label_smoothing", low=0.0, high=1.0)
    # One reduction checks 0 <= y < C: negative indices wrap to huge unsigned values.
    unsigned = target.view(np.uintp) if target.dtype == np.intp else target
    if unsigned.max() >= logits.shape[1] or (unsigned is target and target.min() < 0):
        return None
    return eps


def _kernel_loss(logits, target, eps, reduction, need_grad: bool):
    """``(loss, grad or None)`` of the kernel for a mean or a sum; None if the loss is not
    finite (then the general path reports the NaN, or computes the infinities)."""
    with np.errstate(all="ignore"):  # non-finite logits are left to the general path
        forward = _row_losses(logits, target, eps)
    if not np.isfinite(forward.loss_sum):
        return None
    n_rows = 1.0 if reduction == "sum" else float(logits.shape[0])
    loss = forward.loss_sum / n_rows
    grad = _row_grad(forward, 1.0 / n_rows, eps) if need_grad else None
    return logits.dtype.type(loss), grad


# --------------------------------------------------------------------------------------------
# linear


def _check_linear_operands(x, W, b=None):
    x = v.as_float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have a feature axis: shape (F,), (N, F) or (..., F), got a 0-d array")
    W = v.as_float_array(W, "W", ndim=2)
    if x.shape[-1] != W.shape[0]:
        raise ValueError(
            f"x has {x.shape[-1]} features (shape {x.shape}) but W expects {W.shape[0]} "
            f"(shape {W.shape}, i.e. (n_features, n_classes))"
        )
    arrays = {"x": x, "W": W}
    if b is not None:
        b = v.as_float_array(b, "b", ndim=1)
        if b.shape[0] != W.shape[1]:
            raise ValueError(f"b must have shape ({W.shape[1]},) to match W {W.shape}, got {b.shape}")
        arrays["b"] = b
    dtype = _check_same_float_dtype(arrays)
    return x, W, b, dtype


def linear(x, W, b=None) -> np.ndarray:
    r"""Affine map of the seed notebook: ``logits = x @ W + b``.

    .. math:: z_{ic} = \sum_f x_{if} W_{fc} + b_c

    Parameters
    ----------
    x : ndarray of shape (N, F), (F,) or (..., F), float
        Features (the last axis; any leading axes are batch axes). Integer arrays (e.g. raw
        uint8 pixels) are refused with a ``TypeError``: convert with
        ``x.astype(np.float32) / 255`` or ``scratchlin.datasets.to_float``.
    W : ndarray of shape (F, C), same dtype as ``x``
        Weights, one column per class.
    b : ndarray of shape (C,), same dtype, default=None
        Bias.

    Returns
    -------
    ndarray of shape (..., C), ``x``'s dtype
        ``x``'s leading axes and C classes.
    """
    x, W, b, dtype = _check_linear_operands(x, W, b)
    logits = _to_compute(x) @ _to_compute(W)
    if b is not None:
        logits += _to_compute(b)
    return logits.astype(dtype, copy=False)


def linear_backward(grad_output, x, W):
    r"""Gradients of :func:`linear` with respect to ``x``, ``W`` and ``b``.

    .. math:: \frac{\partial L}{\partial x} = G W^\top, \quad
              \frac{\partial L}{\partial W} = x^\top G, \quad
              \frac{\partial L}{\partial b} = \sum_i G_i

    Parameters
    ----------
    grad_output : ndarray of shape (..., C)
        :math:`G = \partial L / \partial z`, matching ``linear(x, W)``.
    x : ndarray of shape (..., F)
        Features; the sums over :math:`i` run over every leading position.
    W : ndarray of shape (F, C)

    Returns
    -------
    dx : ndarray, shape of ``x``
    dW : ndarray, shape of ``W``
    db : ndarray of shape (C,)
    """
    x, W, _, dtype = _check_linear_operands(x, W)
    grad_output = v.as_float_array(grad_output, "grad_output")
    expected = x.shape[:-1] + (W.shape[1],)
    if grad_output.shape != expected:
        raise ValueError(f"grad_output must have shape {expected} (that of x @ W), got {grad_output.shape}")
    _check_same_float_dtype({"grad_output": grad_output, "x": x})
    g, xc, Wc = _to_compute(grad_output), _to_compute(x), _to_compute(W)
    dx = g @ Wc.T
    if x.ndim == 1:
        dW, db = np.outer(xc, g), g.copy()
    elif x.ndim == 2:
        dW, db = xc.T @ g, g.sum(axis=0)
    else:  # every leading position is a row
        rows_x, rows_g = xc.reshape(-1, x.shape[-1]), g.reshape(-1, W.shape[1])
        dW, db = rows_x.T @ rows_g, rows_g.sum(axis=0)
    return tuple(a.astype(dtype, copy=False) for a in (dx, dW, db))
