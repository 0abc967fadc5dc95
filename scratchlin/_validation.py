"""Argument checks shared by the public functions, with their error messages in one place.

Every check raises ``TypeError`` (wrong kind of thing) or ``ValueError`` (right kind, wrong
value) with a message that names the argument, says what was expected and what was received.
"""
from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = (np.float16, np.float32, np.float64)


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a float input is computed in: float16 is promoted to float32."""
    return np.dtype(np.float32) if dtype == np.float16 else np.dtype(dtype)


def as_float_array(x, name: str, *, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``x`` as a float16/32/64 ndarray (no copy when it already is one).

    Raises
    ------
    TypeError
        If ``x`` has an integer, boolean, complex or object dtype. Integer pixels are the
        classic mistake (the seed notebook's ``ByteTensor`` error), so the message says how
        to convert them.
    ValueError
        If ``x`` does not have ``ndim`` dimensions.
    """
    array = np.asarray(x)
    if array.dtype.type not in FLOAT_DTYPES:
        hint = ""
        if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
            hint = (
                "; convert integer data first, e.g. x.astype(np.float32) / 255 for raw "
                "pixels or scratchlin.datasets.to_float(x)"
            )
        raise TypeError(
            f"{name} must be a floating-point array (float16, float32 or float64), "
            f"got dtype {array.dtype}{hint}"
        )
    check_ndim(array, name, ndim)
    return array


def check_ndim(array: np.ndarray, name: str, ndim: int | tuple[int, ...] | None) -> None:
    """Raise ``ValueError`` unless ``array.ndim`` is ``ndim`` (or one of them)."""
    if ndim is None:
        return
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if array.ndim not in allowed:
        expected = " or ".join(f"{n}-D" for n in allowed)
        raise ValueError(f"{name} must be {expected}, got {array.ndim}-D array of shape {array.shape}")


def check_axis(axis, ndim: int, name: str = "axis") -> int:
    """Return ``axis`` normalised to ``0 <= axis < ndim``."""
    if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
        raise TypeError(f"{name} must be an int, got {type(axis).__name__}")
    axis = int(axis)  # np.int64 and other Integrals as a Python int, which compares with ints
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{name}={axis} is out of range for an array with {ndim} dimension(s)")
    return axis % max(ndim, 1)


def check_same_shape(a: np.ndarray, a_name: str, b: np.ndarray, b_name: str) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"{a_name} must have the shape of {b_name} {b.shape}, got {a.shape}")


def check_choice(value, name: str, choices: tuple[str, ...]) -> str:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_real(value, name: str, *, low=None, high=None, low_open=False, high_open=False,
               allow_inf=False) -> float:
    """Return ``value`` as a float after checking it is a finite real in the given interval
    (or ``+inf``, with ``allow_inf`` and no upper bound)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if allow_inf and high is None and value == np.inf:
        return value
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if not np.isfinite(value) or below or above:
        left = "(" if low_open or low is None else "["
        right = ")" if high_open or high is None else "]"
        interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ValueError(f"{name} must be a finite number in {interval}, got {value}")
    return value


def check_int(value, name: str, *, low=None) -> int:
    """Return ``value`` as an int after checking it is an integer ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def check_class_indices(target: np.ndarray, num_classes: int, name: str,
                        ignore_index: int | None = None) -> None:
    """Raise ``ValueError`` if an index in ``target`` (other than ``ignore_index``) is not in
    ``[0, num_classes)``, naming the first offending label and its position."""
    valid = (target >= 0) & (target < num_classes)
    if ignore_index is not None:
        valid |= target == ignore_index
    if not valid.all():
        position = int(np.flatnonzero(~valid.ravel())[0])
        label = target.ravel()[position]
        raise ValueError(
            f"{name} holds class index {label} at position {position}; "
            f"expected indices in [0, {num_classes - 1}]"
            + (f" or ignore_index={ignore_index}" if ignore_index is not None else "")
        )


def check_no_nan(array: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if ``array`` holds a NaN (``inf`` is allowed: it has a meaning)."""
    if np.isnan(array).any():
        position = np.unravel_index(int(np.flatnonzero(np.isnan(array.ravel()))[0]), array.shape)
        raise ValueError(f"{name} contains NaN (first at index {tuple(int(i) for i in position)})")


_SMALL_ARRAY = 1 << 20  # elements; its boolean isfinite mask is at most 1 MiB


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if ``array`` holds a NaN or an infinity."""
    # Small arrays (a minibatch): one isfinite pass, 1.5x faster than min and max. Large ones:
    # min and max propagate NaN and expose +-inf without allocating a boolean array the size
    # of ``array`` (47 MB for MNIST). Only a failing array pays for locating the culprit.
    if array.size <= _SMALL_ARRAY:
        if np.isfinite(array).all():
            return
    elif np.isfinite(array.min()) and np.isfinite(array.max()):
        return
    if not np.isfinite(array).all():
        bad = np.flatnonzero(~np.isfinite(array.ravel()))
        position = np.unravel_index(int(bad[0]), array.shape)
        raise ValueError(
            f"{name} must be finite; it holds {bad.size} NaN/inf value(s), "
            f"first at index {tuple(int(i) for i in position)}"
        )


def check_bool(value, name: str) -> bool:
    """Return ``value`` as a bool after checking it is a Python or NumPy bool (not 0/1)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_seed(seed, name: str = "seed"):
    """Return ``seed`` unchanged after checking it is None, an int >= 0 or a Generator."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be None, a non-negative int or a numpy.random.Generator, "
                        f"got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"{name} must be non-negative, got {seed}")
    return int(seed)


def as_generator(seed, name: str = "seed") -> np.random.Generator:
    """A ``numpy.random.Generator`` from ``seed`` (see :func:`check_seed`); a Generator is
    returned as it is, so the caller's stream advances."""
    seed = check_seed(seed, name)
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def check_float_dtype(dtype, name: str = "dtype", allowed=("float32", "float64")) -> np.dtype:
    """Return ``dtype`` as a ``numpy.dtype`` after checking its name is one of ``allowed``."""
    try:
        resolved = np.dtype(dtype) if dtype is not None else None
    except TypeError:
        resolved = None
    # Compare by name: np.dtype("float64") == None is True, so `in` would accept None.
    if resolved is None or resolved.name not in allowed:
        raise ValueError(f"{name} must be {' or '.join(allowed)}, got {dtype!r}")
    return resolved
