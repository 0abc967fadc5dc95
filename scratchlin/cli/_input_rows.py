"""The user's images as model input: (N, n_features) float rows in [0, 1]."""
from __future__ import annotations

import math
import sys

import numpy as np

from .. import datasets
from ._errors import CLIError
from ._input_files import is_picture, read_input_images
from ._pictures import bright_border, prepare_picture, warn_if_inverted

__all__ = ["as_feature_rows", "input_row_blocks", "load_input_rows"]


def as_feature_rows(array: np.ndarray, n_features: int, dtype, flag: str = "INPUT") -> np.ndarray:
    """Images as float rows in [0, 1]: shape (N, n_features) of ``dtype``.

    Parameters
    ----------
    array : ndarray
        Pixels 0..255 (any integer dtype) or floats in [0, 1], shaped (N, H, W), (N, H*W),
        one image (H, W), or one row (H*W,), with ``H * W == n_features``.
    n_features : int
        What the model expects (784 for MNIST).
    dtype : numpy dtype
        The model's dtype.
    flag : str, default="INPUT"
        How the file is named in error messages.

    Returns
    -------
    ndarray of shape (N, n_features)
    """
    array = _as_rows(array, n_features, flag)
    try:
        return datasets.to_float(array, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise CLIError(f"{flag}: {error}") from None


def _as_rows(array: np.ndarray, n_features: int, flag: str) -> np.ndarray:
    """``array`` reshaped to (N, n_features) rows, as it is stored (no conversion)."""
    side = math.isqrt(n_features)
    shape = array.shape
    if array.ndim == 3 and shape[1] * shape[2] == n_features:
        array = array.reshape(shape[0], n_features)
    elif array.ndim == 2 and shape[1] != n_features and array.size == n_features:
        array = array.reshape(1, n_features)  # one (H, W) image
    elif array.ndim == 1 and array.size == n_features:
        array = array.reshape(1, n_features)
    elif not (array.ndim == 2 and shape[1] == n_features) and side * side != n_features:
        raise CLIError(f"{flag}: the model takes {n_features} features per row; expected an "
                       f"array of shape (N, {n_features}), got {shape}")
    elif not (array.ndim == 2 and shape[1] == n_features):
        raise CLIError(f"{flag}: expected {side}x{side} images, shaped (N, {side}, {side}) or "
                       f"(N, {n_features}), got an array of shape {shape}; resize them first "
                       f"(MNIST: digit fitted into 20x20, centred by mass in {side}x{side}; "
                       "pictures such as .png are resized this way automatically)")
    if array.shape[0] == 0:
        raise CLIError(f"{flag}: holds no images (0 rows)")
    return array


def load_input_rows(path, n_features: int, dtype, *, invert: bool = False,
                    flag: str = "INPUT", notes=None) -> np.ndarray:
    """The images in ``path`` as model input: (N, n_features) rows of ``dtype`` in [0, 1].

    A picture that is not ``side`` x ``side`` is prepared as MNIST was (see
    :func:`~scratchlin.cli.prepare_picture`); ``invert`` flips dark-on-light images; images
    that still look dark-on-light get a warning on ``notes`` (default: stderr).
    """
    notes = sys.stderr if notes is None else notes
    side = math.isqrt(n_features)
    array = read_input_images(path, flag)
    resize = is_picture(path) and array.shape != (side, side)
    if resize:
        if invert:
            array, invert = 255 - array, False
        bright = bright_border(array[None] / 255)  # judged before, as resizing adds a border
        print(f"note: resized the {array.shape[1]}x{array.shape[0]} picture as MNIST was "
              f"prepared: digit fitted into 20x20, centred by mass in {side}x{side}", file=notes)
        array = prepare_picture(array, side)
    rows = as_feature_rows(array, n_features, dtype, flag)
    if invert:
        rows = 1 - rows
    if not resize and side * side == n_features:
        bright = bright_border(rows.reshape(-1, side, side))
    if side * side == n_features or resize:
        warn_if_inverted(bright, flag, notes)
    return rows


def input_row_blocks(path, n_features: int, dtype, *, invert: bool = False, flag: str = "INPUT",
                     notes=None, block_rows: int = 2048):
    """:func:`load_input_rows`, ``block_rows`` rows at a time: the images of a ``.npy`` or IDX
    file are converted to floats block by block (a ``.npy`` file stays memory-mapped), so
    predicting costs one block of floats, not a float copy of the whole file.

    Yields
    ------
    ndarray of shape (n, n_features), ``dtype``, in [0, 1]
        The blocks, in order; the dark-on-light warning, if any, comes after the last.
    """
    notes = sys.stderr if notes is None else notes
    if is_picture(path):
        yield load_input_rows(path, n_features, dtype, invert=invert, flag=flag, notes=notes)
        return
    array = _as_rows(read_input_images(path, flag), n_features, flag)
    side = math.isqrt(n_features)
    bright = []
    for start in range(0, array.shape[0], block_rows):
        rows = as_feature_rows(array[start:start + block_rows], n_features, dtype, flag)
        if invert:
            rows = 1 - rows
        if side * side == n_features:
            bright.append(bright_border(rows.reshape(-1, side, side)))
        yield rows
    if bright:
        warn_if_inverted(np.concatenate(bright), flag, notes)
