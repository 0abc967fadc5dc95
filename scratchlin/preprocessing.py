"""Preprocessing: flattening images, scaling raw pixels to floats, minibatch iteration.

:data:`RAW_PIXEL_SCALE` is the one place the raw-pixel scale is defined: ``to_float`` divides by
255 and the training objective multiplies uint8 inputs by ``RAW_PIXEL_SCALE`` (its
``input_scale``), so both mean the same pixel values.
"""
from __future__ import annotations

import numpy as np

from ._validation import FLOAT_DTYPES, as_generator, check_bool, check_int

__all__ = ["RAW_PIXEL_SCALE", "flatten", "iter_minibatches", "to_float"]

#: Raw uint8 pixels (0..255) times this lie in [0, 1]: ``1 / 255``.
RAW_PIXEL_SCALE = 1.0 / 255


def flatten(images) -> np.ndarray:
    """Flatten images of shape (N, H, W) to rows of shape (N, H * W).

    Parameters
    ----------
    images : array_like of shape (N, H, W)

    Returns
    -------
    numpy.ndarray of shape (N, H * W)
        A view of ``images`` (no copy) when its memory layout allows, else a copy.

    Raises
    ------
    ValueError
        ``images`` is not 3-D.
    """
    x = np.asarray(images)
    if x.ndim != 3:
        raise ValueError(f"images must be a 3-D array of shape (N, height, width), got shape "
                         f"{x.shape}")
    n, h, w = x.shape
    return x.reshape(n, h * w)


def _float_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float16, float32 or float64, got {dtype!r}") from None
    if dt.type not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float16, float32 or float64, got {dt.name}")
    return dt


def to_float(images, dtype=np.float32) -> np.ndarray:
    """Scale pixels to floats in [0, 1].

    Parameters
    ----------
    images : array_like of any shape
        Raw pixels (any integer dtype, values 0..255; divided by 255 so 255 maps to exactly
        1.0: the result equals ``images.astype(dtype) / 255``), or floats already in [0, 1]
        (only converted, so ``to_float`` is idempotent).
    dtype : {numpy.float16, numpy.float32, numpy.float64}, default=numpy.float32

    Returns
    -------
    numpy.ndarray of ``dtype``, same shape
        Always a new array.

    Raises
    ------
    TypeError
        ``dtype`` is not a float dtype, or ``images`` is neither integer nor float (e.g. bool).
    ValueError
        Integer pixels outside 0..255, or floats that are not finite or outside [0, 1].
    """
    dt = _float_dtype(dtype)
    x = np.asarray(images)
    if x.dtype.kind in "ui":
        if x.dtype != np.uint8 and x.size and (x.min() < 0 or x.max() > 255):
            raise ValueError(f"images must hold pixel values 0..255, got values from {x.min()} "
                             f"to {x.max()} (dtype {x.dtype.name})")
        out = x.astype(dt)
        # Division, not multiplication by RAW_PIXEL_SCALE: 255 / 255 is exactly 1.0.
        np.divide(out, 255, out=out)
        return out
    if x.dtype.kind == "f":
        if x.size and not (np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1):
            hint = (" (raw 0..255 pixels? pass them as uint8, or divide by 255)"
                    if np.isfinite(x).all() and x.max() > 1 else "")
            raise ValueError(f"float images must be finite and within [0, 1], got values from "
                             f"{x.min()} to {x.max()}{hint}")
        return x.astype(dt)
    raise TypeError(f"images must be integer pixels (e.g. uint8 0..255) or floats in [0, 1], "
                    f"got dtype {x.dtype.name}")


def iter_minibatches(X, y=None, *, batch_size, shuffle=True, seed=None, drop_last=False):
    """Iterate over one epoch of minibatches.

    Arguments are checked and the order is drawn when this is called, not at the first batch.

    Parameters
    ----------
    X : array_like of shape (N, ...)
    y : array_like of shape (N, ...) or None, default=None
    batch_size : int
        Rows per batch (>= 1); the last batch is smaller unless ``drop_last``.
    shuffle : bool, default=True
        Visit rows in a random order drawn from ``seed``; False keeps the order.
    seed : int or numpy.random.Generator or None, default=None
        An int gives the same order on every call; a Generator is advanced, so successive
        epochs differ but the whole sequence is reproducible; None draws fresh entropy.
    drop_last : bool, default=False
        Skip the final batch when it has fewer than ``batch_size`` rows.

    Yields
    ------
    Xb : numpy.ndarray of shape (B, ...), C-contiguous
        Or ``(Xb, yb)`` when ``y`` is given. Every row appears exactly once per epoch (bar the
        dropped tail). With ``shuffle=False`` batches of a C-contiguous ``X`` are views of it.

    Raises
    ------
    TypeError, ValueError
        Invalid arguments, or ``y`` with a different number of rows than ``X``.
    """
    X = np.asarray(X)
    if X.ndim < 1:
        raise ValueError(f"X must have at least 1 dimension (rows first), got shape {X.shape}")
    if y is not None:
        y = np.asarray(y)
        if y.ndim < 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must have one entry per row of X: X has {X.shape[0]} rows, "
                             f"y has shape {y.shape}")
    batch_size = check_int(batch_size, "batch_size", low=1)
    shuffle = check_bool(shuffle, "shuffle")
    drop_last = check_bool(drop_last, "drop_last")
    rng = as_generator(seed)
    order = rng.permutation(X.shape[0]) if shuffle else None
    return _batches(X, y, order, batch_size, drop_last)


def _batches(X, y, order, batch_size, drop_last):
    n = X.shape[0]
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        end = min(start + batch_size, n)
        if order is None:
            Xb = np.ascontiguousarray(X[start:end])
            yb = None if y is None else np.ascontiguousarray(y[start:end])
        else:
            idx = order[start:end]
            Xb = X.take(idx, axis=0)
            yb = None if y is None else y.take(idx, axis=0)
        yield Xb if y is None else (Xb, yb)
