"""Checks of the data given to LinearClassifier: features ``X`` and ``sample_weight``.

The estimator's boundary, in one place, with messages that name the argument, say what was
expected and what was received. They follow scikit-learn's conventions where its tools rely on
them (the words "sparse", "Complex data not supported", "Reshape your data", "0 sample(s)").

Features are a dense 2-D array (a list of rows, a DataFrame...) of finite numbers, converted to
the model's float dtype. The one integer dtype refused is ``uint8``: uint8 features are pixels,
and feeding pixels in 0..255 to a model that expects [0, 1] is the classic mistake, so the
message says how to convert them or to pass ``raw_pixels=True``, which trains on uint8 pixels
directly without a float copy. Other integers and bools are numbers like any others and are
converted to the model's dtype, as scikit-learn's estimators do.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import _validation as v

__all__ = ["check_features", "check_sample_weight"]

_RESHAPE_HINT = ("Reshape your data either using X.reshape(-1, 1) if it has a single feature "
                 "or X.reshape(1, -1) if it is a single row")


def _is_sparse(X) -> bool:
    return type(X).__module__.startswith("scipy.sparse") or hasattr(X, "tocsr")


def check_features(X, dtype: np.dtype, *, raw_pixels: bool, name: str = "X",
                   min_rows: int = 0, finite: bool = True) -> np.ndarray:
    """Return ``X`` as a 2-D array of finite features in ``dtype`` (uint8 with ``raw_pixels``).

    No copy is made when ``X`` already has the right dtype (e.g. an ``np.memmap`` of uint8
    pixels with ``raw_pixels=True``).

    Parameters
    ----------
    X : array_like of shape (N, F)
    dtype : numpy.dtype
        float32 or float64, the model's dtype.
    raw_pixels : bool
        If True, ``X`` must be uint8 and is returned as it is.
    name : str, default="X"
    min_rows : int, default=0
        Fewer rows raise ``ValueError`` (``fit`` needs 1).
    finite : bool, default=True
        Check that every feature is finite; a caller whose result shows a non-finite ``X``
        (a non-finite loss) may pass False and check only then.

    Returns
    -------
    ndarray of shape (N, F)
    """
    if _is_sparse(X):
        raise TypeError(f"{name} is a sparse matrix, and sparse input is not supported: pass "
                        f"dense features, e.g. {name}.toarray()")
    X = np.asarray(X)
    if X.dtype.kind == "O":
        X = X.astype(np.float64)  # numbers stored as objects; anything else raises TypeError
    if X.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}")
    if X.ndim == 1:
        raise ValueError(f"{name} must be 2-D, got 1-D array of shape {X.shape}; {_RESHAPE_HINT}")
    if X.ndim == 3:
        raise ValueError(f"{name} must be 2-D, one row of features per sample, got 3-D array of "
                         f"shape {X.shape}; flatten images into rows first: "
                         f"scratchlin.datasets.flatten({name}) or {name}.reshape(len({name}), -1)")
    v.check_ndim(X, name, 2)
    if X.shape[0] < min_rows:
        raise ValueError(f"Found array with {X.shape[0]} sample(s) (shape={X.shape}) while a "
                         f"minimum of {min_rows} is required: {name} has no rows")
    if X.shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 "
                         f"is required: {name} has no columns")
    if raw_pixels:
        if X.dtype != np.uint8:
            raise TypeError(f"{name} must be uint8 pixels with raw_pixels=True, got dtype {X.dtype}")
        return X
    if X.dtype == np.uint8:
        raise TypeError(
            f"{name} has integer dtype uint8; convert raw pixels with "
            f"scratchlin.datasets.to_float({name}) (or {name}.astype(np.float32) / 255), "
            "or pass raw_pixels=True to scale uint8 pixels batch by batch"
        )
    if X.dtype.kind in "biu":
        return X.astype(dtype)
    X = v.as_float_array(X, name).astype(dtype, copy=False)
    if finite:
        v.check_finite(X, name)
    return X


def check_sample_weight(sample_weight, n_rows: int, dtype: np.dtype, *,
                        name: str = "sample_weight", X_name: str = "X") -> np.ndarray | None:
    """Return ``sample_weight`` as a (N,) array in ``dtype``: finite, >= 0, positive sum.

    ``None`` stays ``None`` (every row weighs 1); a number weighs every row alike.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n_rows, sample_weight)
    weights = np.asarray(sample_weight)
    if weights.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {weights.dtype}")
    v.check_ndim(weights, name, 1)
    if weights.shape[0] != n_rows:
        raise ValueError(f"{name} has shape {weights.shape}, expected ({n_rows},): one weight "
                         f"per row of {X_name}")
    weights = weights.astype(dtype)
    v.check_finite(weights, name)
    if n_rows and weights.min() < 0:
        raise ValueError(f"{name} must be non-negative; it holds {weights.min()} at index "
                         f"{int(np.argmin(weights))}")
    if n_rows and not weights.sum() > 0:
        raise ValueError(f"{name} must have a positive sum, got all zeros")
    return weights
