"""What a saved model is fed: image pixels (MNIST's kind) or the columns of a table.

A model reads images when it was not trained on named columns and its number of features is
a square (784 = 28 x 28); any other model reads features, from a table file (see
:mod:`._tables`), whose columns are matched to the model's by name when both have names.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from ._errors import CLIError
from ._input_rows import input_row_blocks as image_row_blocks
from ._input_rows import load_input_rows
from ._tables import TABLE_SUFFIXES, labels_like, read_table

__all__ = ["in_dtype", "input_row_blocks", "input_rows", "reads_pixels", "table_rows", "without_feature_names"]


def reads_pixels(model) -> bool:
    """Whether ``model`` takes square images: no feature names, a square number of features."""
    n_features = model.n_features_in_
    return (getattr(model, "feature_names_in_", None) is None
            and math.isqrt(n_features) ** 2 == n_features)


def table_rows(model, path, target, *, flag: str, notes=None):
    """The rows of a table file as ``model`` takes them, and their labels.

    Parameters
    ----------
    model : LinearClassifier
        Fitted; its ``feature_names_in_`` (if any) pick the CSV columns by name.
    path : str or os.PathLike
    target : str or None
        The label column (see :func:`~scratchlin.cli._tables.read_table`); None: no labels.
    flag : str
        How the file is named in messages.
    notes : text stream, default=None
        Where the columns left unread are named (default: stderr).

    Returns
    -------
    X : ndarray of shape (N, n_features_in_), the model's dtype
    y : ndarray of shape (N,) in the dtype of the model's classes, or None
    """
    names = getattr(model, "feature_names_in_", None)
    table = read_table(path, target, features=None if names is None else list(names), flag=flag,
                       parse_labels=model.classes_.dtype.kind not in "USO")
    n_features = model.n_features_in_
    if table.X.shape[1] != n_features:
        raise CLIError(f"{flag}: {path} has {table.X.shape[1]} feature column"
                       f"{'s' if table.X.shape[1] != 1 else ''}; the model was trained on "
                       f"{n_features}")
    notes = sys.stderr if notes is None else notes
    _name_unread_columns(path, table, target, notes)
    y = None if table.y is None else labels_like(table.y, model.classes_)
    X = _as_pixels(table.X, path, notes) if reads_pixels(model) else table.X
    return in_dtype(X, model.W.dtype, path, flag, "the model computes in float32"), y


def _as_pixels(X: np.ndarray, path, notes) -> np.ndarray:
    """A table's values as a model of images takes them: whole numbers 0..255 (not all 0 or
    1) are pixels, divided by 255 as ``.npy`` and IDX images are, and said so on ``notes``;
    anything else is read as it is (floats in [0, 1], or the features of a table model whose
    number of columns happens to be a square)."""
    low, high = (X.min(), X.max()) if X.size else (0.0, 0.0)
    if 0 <= low and 1 < high <= 255 and (X == np.round(X)).all():
        print(f"note: the model reads images: the values 0..{high:g} of {path} are read as "
              "pixels 0..255 and divided by 255, as .npy and IDX images are", file=notes)
        return X / 255
    return X


def in_dtype(X: np.ndarray, dtype, path, flag: str, why: str) -> np.ndarray:
    """``X`` in ``dtype`` (float32 or float64); a value float32 cannot hold is refused, naming
    the cast (``why``), instead of becoming infinite."""
    dtype = np.dtype(dtype)
    if dtype == np.float32 and X.size:
        at = np.unravel_index(np.argmax(np.abs(X)), X.shape)
        if abs(X[at]) > np.finfo(np.float32).max:
            raise CLIError(f"{flag}: {path} holds {X[at]:g} (row {at[0] + 1}, feature column "
                           f"{at[1] + 1}), beyond float32's range (about ±3.4e38), and {why}; "
                           "rescale that column")
    return X.astype(dtype, copy=False)


def _name_unread_columns(path, table, target, notes) -> None:
    used = {*(table.feature_names or ()), target}
    unread = [name for name in table.columns if name not in used]
    if unread:
        print(f"note: the model does not use the column{'s' if len(unread) > 1 else ''} "
              f"{', '.join(unread[:5])}{', ...' if len(unread) > 5 else ''} of {path}; "
              "left unread", file=notes)


def input_rows(model, path, *, invert: bool, flag: str = "INPUT") -> np.ndarray:
    """``predict``'s INPUT as rows for ``model``: images for a pixel model, else a table."""
    path = Path(path)
    if reads_pixels(model) and path.suffix.lower() not in (".csv", ".npz"):
        return load_input_rows(path, model.n_features_in_, model.W.dtype, invert=invert, flag=flag)
    return _table_input(model, path, invert, flag)


def input_row_blocks(model, path, *, invert: bool, flag: str = "INPUT"):
    """:func:`input_rows` as an iterator of blocks of rows: images are converted a block at a
    time, as they are used (see :func:`~scratchlin.cli._input_rows.input_row_blocks`); a table
    is read now, by the model's column names, as one block."""
    path = Path(path)
    if reads_pixels(model) and path.suffix.lower() not in (".csv", ".npz"):
        return image_row_blocks(path, model.n_features_in_, model.W.dtype, invert=invert, flag=flag)
    return iter([_table_input(model, path, invert, flag)])


def _table_input(model, path: Path, invert: bool, flag: str) -> np.ndarray:
    suffix = path.suffix.lower()
    n_features = model.n_features_in_
    if path.is_dir():
        raise CLIError(f"{flag}: {path} is a folder; expected a file")
    if invert:
        raise CLIError("--invert flips image pixels; this model reads table columns, not images")
    if suffix not in TABLE_SUFFIXES:
        raise CLIError(f"{flag}: the model takes {n_features} features per row from a table: "
                       f".csv (a header row, numeric features), .npy (a 2-D array) or .npz "
                       f"(array X); got {path.name}")
    if suffix == ".npy":
        _check_npy_shape(path, n_features, flag)
    X, _ = table_rows(model, path, None, flag=flag)
    return X


def _check_npy_shape(path: Path, n_features: int, flag: str) -> None:
    """A ``.npy`` INPUT of a feature model is (N, n_features): said in features, not pixels."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)  # the header only
    except (ValueError, OSError, EOFError):
        return  # read_table says what is wrong with the file
    if not isinstance(array, np.ndarray):  # a zip archive; read_table says so
        array.close()
        return
    shape = array.shape
    if len(shape) != 2 or shape[1] != n_features:
        raise CLIError(f"{flag}: {path} holds an array of shape {shape}; the model takes "
                       f"{n_features} features per row: expected shape (N, {n_features})")


def without_feature_names(model):
    """``model`` for plain arrays: the CLI has matched the table's columns by name already."""
    model.__dict__.pop("feature_names_in_", None)
    return model
