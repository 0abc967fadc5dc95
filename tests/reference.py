"""The float64 references the tests compare scratchlin with, written from the formulas.

Nothing here imports scratchlin: an expected value must never come from the code under test.
Each function is the textbook formula in float64 NumPy, with a per-row max shift (so it is
exact to float64 rounding for any logits a test uses) and PyTorch's conventions for infinite
entries. Import it from a test module (pytest's default "prepend" import mode puts ``tests/``
on ``sys.path``)::

    import reference

The objective of softmax regression, for a batch ``X`` (N, F), labels ``y``, sample weights
``w``, input scale ``s``, label smoothing ``eps`` over C classes and weight decay ``lam``::

    Z = s X W + b                      T = (1 - eps) onehot(y) + eps / C
    J = sum_i w_i (-sum_c T_ic log softmax(Z)_ic) / sum_i w_i + lam/2 ||W||^2
    G = (softmax(Z) - T) w / sum w     dJ/dW = s X^T G + lam W,   dJ/db = sum_i G_i
"""
from __future__ import annotations

import numpy as np


def logits(X, W, b, input_scale=1.0):
    """``s X W + b`` in float64, shape (N, C)."""
    X, W, b = (np.asarray(a, np.float64) for a in (X, W, b))
    return input_scale * (X @ W) + b


def logsumexp(x, axis):
    """log sum exp along ``axis`` (an int or a tuple; keepdims), in float64; -inf for an all
    -inf slice, +inf if one entry is +inf (the shift is 0 where the max is not finite)."""
    x = np.asarray(x).astype(np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m


def log_softmax(x, axis=-1):
    """``x - logsumexp(x)`` in float64 (NaN for a slice of all -inf, as in torch)."""
    with np.errstate(invalid="ignore"):  # -inf - (-inf)
        return np.asarray(x).astype(np.float64) - logsumexp(x, axis)


def softmax(x, axis=-1):
    """``exp(x - m) / sum exp(x - m)``, m the slice max, in float64 (NaN for an all -inf slice)."""
    x = np.asarray(x).astype(np.float64)
    with np.errstate(invalid="ignore"):
        exps = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return exps / np.sum(exps, axis=axis, keepdims=True)


def smoothed_targets(labels, n_classes, label_smoothing=0.0):
    """``T = (1 - eps) onehot(y) + eps / C``, shape (N, C), float64."""
    return (1 - label_smoothing) * np.eye(n_classes)[labels] + label_smoothing / n_classes


def objective(X, labels, W, b, *, sample_weight=None, weight_decay=0.0, label_smoothing=0.0,
              input_scale=1.0):
    """The training objective ``J`` and its gradients ``(J, dJ/dW, dJ/db)``, in float64.

    ``sample_weight`` None means ones; the weighted mean divides by their sum (which must
    be positive here).
    """
    W64 = np.asarray(W, np.float64)
    n_rows, n_classes = np.shape(X)[0], W64.shape[1]
    w = np.ones(n_rows) if sample_weight is None else np.asarray(sample_weight, np.float64)
    log_p = log_softmax(logits(X, W, b, input_scale), axis=1)
    T = smoothed_targets(labels, n_classes, label_smoothing)
    loss = -np.sum(w * np.sum(T * log_p, axis=1)) / w.sum() + 0.5 * weight_decay * np.sum(W64 * W64)
    G = (np.exp(log_p) - T) * (w / w.sum())[:, None]
    X64 = np.asarray(X, np.float64)
    return float(loss), input_scale * (X64.T @ G) + weight_decay * W64, G.sum(axis=0)
