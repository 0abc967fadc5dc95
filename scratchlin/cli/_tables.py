"""The user's own tabular data (``--table FILE --target COLUMN``): features and labels.

Formats, chosen by the file's suffix:

- ``.csv``: a header row naming the columns, then one row per sample; every column but the
  target holds numbers; the target column holds labels (numbers or text). Read with the
  standard library's :mod:`csv`, one row at a time, from a file of at most
  :data:`MAX_TABLE_BYTES`.
- ``.npy``: one 2-D array of numbers (``numpy.save``); ``--target`` is the integer index of
  the label column (negative counts from the end).
- ``.npz``: arrays ``X`` (2-D features) and ``y`` (1-D labels) (``numpy.savez``);
  ``--target`` may name another label array.

Every way a file can be wrong is one :class:`~scratchlin.cli.CLIError` line naming the file,
the row or column, what was expected and what was found.
"""
from __future__ import annotations

import array
import csv
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._errors import CLIError, UsageError

__all__ = ["MAX_TABLE_BYTES", "TABLE_SUFFIXES", "Table", "check_target_given", "labels_like",
           "read_table"]

#: The largest table file read: 64 MiB (a CSV of about a million 10-column rows). Larger
#: files, and ``.npz`` arrays that announce more, are refused unread. A CSV is parsed into
#: 8 bytes per number and per label, so reading one costs at most about 8x its size.
MAX_TABLE_BYTES = 1 << 26

#: The suffixes read as tables.
TABLE_SUFFIXES = (".csv", ".npy", ".npz")

_SUPPORTED = ".csv (a header row, numeric features), .npy (a 2-D array) or .npz (arrays X and y)"


@dataclass(frozen=True)
class Table:
    """A table read from a file.

    Attributes
    ----------
    X : ndarray of shape (N, F), float64
        The feature columns, in the file's order.
    y : ndarray of shape (N,) or None
        The target column's labels: int64 when every label is a whole number, else str
        None when no target was asked for.
    feature_names : tuple of str or None
        The CSV header's feature columns; None for ``.npy``/``.npz``.
    columns : tuple of str
        Every column the CSV header names (empty for ``.npy``/``.npz``).
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: tuple | None
    columns: tuple = ()


def check_target_given(path, target) -> None:
    """A labelled table needs --target, except a ``.npz`` archive (whose labels default to y)."""
    if target is None and Path(path).suffix.lower() != ".npz":
        raise UsageError("--table needs --target COLUMN: the column that holds the labels (for "
                         "a .npy table its index, -1 for the last)")


def _check_file(path: Path, flag: str) -> None:
    if path.is_dir():
        raise CLIError(f"{flag}: {path} is a folder; expected a table file: {_SUPPORTED}")
    if not path.is_file():
        raise CLIError(f"{flag}: no file at {path}")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise CLIError(f"{flag}: cannot read {path.name}: {path.suffix or 'no suffix'} is not a "
                       f"supported table format; expected {_SUPPORTED}")
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise CLIError(f"{flag}: {path} is {size} bytes, more than the {MAX_TABLE_BYTES} this "
                       "command reads; split it into smaller files")


def read_table(path, target, *, features=None, flag: str = "--table") -> Table:
    """Features (and labels, if ``target`` is given) from a ``.csv``, ``.npy`` or ``.npz`` file.

    Parameters
    ----------
    path : str or os.PathLike
    target : str or None
        The label column: a CSV column name, a ``.npy`` column index (as text, e.g. ``"-1"``),
        a ``.npz`` array name (None: ``"y"`` if the archive holds it). None for a CSV or
        ``.npy`` file: every column is a feature.
    features : sequence of str, default=None
        For a CSV: the feature columns to read, in this order (a model's
        ``feature_names_in_``); any other column is left unread. None: every column but the
        target.
    flag : str, default="--table"
        How the file is named in messages.

    Returns
    -------
    Table
    """
    path = Path(path)
    _check_file(path, flag)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, target, features, flag)
    if suffix == ".npy":
        return _read_npy(path, target, flag)
    return _read_npz(path, target, flag)


# -- CSV ---------------------------------------------------------------------------------------


def _read_csv(path: Path, target, features, flag: str) -> Table:
    with open(path, newline="", encoding="utf-8-sig") as stream:
        try:
            rows = csv.reader(stream)
            header = next(rows, None)
            if header is None or not any(cell.strip() for cell in header):
                raise CLIError(f"{flag}: {path} is empty; expected a header row naming the "
                               "columns, then one row per sample")
            names = [cell.strip() for cell in header]
            _check_names(names, path, flag)
            target_at = _target_column(names, target, path)
            feature_at = _feature_columns(names, features, target_at, path, flag)
            numbers, labels, codes = _csv_rows(rows, names, feature_at, target_at, path, flag)
        except UnicodeDecodeError as error:
            raise CLIError(f"{flag}: {path} is not UTF-8 text ({error.reason} at byte "
                           f"{error.start}); save the CSV as UTF-8") from None
        except csv.Error as error:
            raise CLIError(f"{flag}: {path} is not a readable CSV file: {error}") from None
    if not numbers:
        raise CLIError(f"{flag}: {path} has a header but no data rows")
    n_rows = len(numbers) // len(feature_at)
    X = np.frombuffer(numbers, dtype=np.float64).reshape(n_rows, len(feature_at)).copy()
    feature_names = tuple(names[at] for at in feature_at)
    y = None
    if target_at is not None:
        distinct = np.array(list(labels), dtype=str)  # in order of first appearance
        y = _parsed_labels(distinct)[np.frombuffer(codes, dtype=np.int64)]
    return Table(X, y, feature_names, tuple(names))


def _check_names(names: list, path: Path, flag: str) -> None:
    empty = [at for at, name in enumerate(names) if not name]
    if empty:
        raise CLIError(f"{flag}: {path} has a header with an empty column name (column "
                       f"{empty[0] + 1}); every column needs a name")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise CLIError(f"{flag}: {path} names the column {repeated[0]!r} twice in its header")


def _target_column(names: list, target, path: Path):
    if target is None:
        return None
    if target not in names:
        raise CLIError(f"--target: {path} has no column {target!r}; its columns are: "
                       f"{_listed(names)}")
    return names.index(target)


def _feature_columns(names: list, features, target_at, path: Path, flag: str) -> list:
    """The indices of the feature columns: ``features`` by name, or all but the target."""
    if features is None:
        feature_at = [at for at in range(len(names)) if at != target_at]
        if not feature_at:
            raise CLIError(f"{flag}: {path} has no feature columns besides the target "
                           f"{names[target_at]!r}")
        return feature_at
    missing = [name for name in features if name not in names]
    if missing:
        raise CLIError(f"{flag}: {path} lacks the column{'s' if len(missing) > 1 else ''} "
                       f"{', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''} that the "
                       f"model was trained on; its columns are: {_listed(names)}")
    return [names.index(name) for name in features]


def _listed(names) -> str:
    return ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")


def _csv_rows(rows, names: list, feature_at: list, target_at, path: Path, flag: str):
    """The feature columns' numbers (flat, row after row), the target's distinct texts
    (text -> code, in order of appearance) and each row's code: compact arrays, 8 bytes per
    number or label, whatever the text."""
    numbers = array.array("d")
    labels: dict = {}
    codes = array.array("q")
    for rows_read, row in enumerate(rows, start=2):  # line 1 is the header
        if not row:
            continue  # a blank line
        if len(row) != len(names):
            raise CLIError(f"{flag}: {path} line {rows_read} has {len(row)} fields; the header "
                           f"has {len(names)} columns")
        for at in feature_at:
            numbers.append(_number(row[at], names[at], rows_read, path, flag))
        if target_at is not None:
            label = row[target_at].strip()
            if not label:
                raise CLIError(f"{flag}: {path} line {rows_read}: the target column "
                               f"{names[target_at]!r} is empty; every row needs a label")
            codes.append(labels.setdefault(label, len(labels)))
    return numbers, labels, codes


def _number(cell: str, column: str, line: int, path: Path, flag: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        what = "an empty cell" if not cell.strip() else repr(cell.strip()[:40])
        raise CLIError(f"{flag}: {path} line {line}, column {column!r}: {what} is not a number; "
                       "feature columns must hold numbers (encode text columns first)") from None
    if not math.isfinite(value):
        raise CLIError(f"{flag}: {path} line {line}, column {column!r}: {cell.strip()} is not a "
                       "finite number")
    return value


def _parsed_labels(texts: np.ndarray) -> np.ndarray:
    """Labels as int64 when every one is a whole number ("3", "3.0"), else as text."""
    try:
        values = texts.astype(np.float64)
    except ValueError:
        return texts
    if np.isfinite(values).all() and (values == np.round(values)).all():
        return values.astype(np.int64)
    return texts


def labels_like(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``labels`` read in the dtype of a model's ``classes`` (text labels of a model whose
    classes are numbers are parsed; numbers of a model whose classes are text are printed)."""
    if classes.dtype.kind in "US":
        return labels.astype(str)
    if labels.dtype.kind in "US":
        parsed = _parsed_labels(labels)
        return parsed if parsed.dtype.kind in "iu" else labels
    return labels


# -- .npy and .npz -------------------------------------------------------------------------------


def _numeric_array(array: np.ndarray, what: str, path: Path, flag: str) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise CLIError(f"{flag}: {path} holds {what} of dtype {array.dtype}; expected numbers")
    return array


def _read_npy(path: Path, target, flag: str) -> Table:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise CLIError(f"{flag}: {path} is not a readable .npy array of numbers: {error}") from None
    if array.ndim != 2:
        raise CLIError(f"{flag}: {path} holds an array of shape {array.shape}; expected a 2-D "
                       "table (rows, columns)")
    _numeric_array(array, "an array", path, flag)
    if array.shape[0] == 0:
        raise CLIError(f"{flag}: {path} holds no rows")
    if target is None:
        return Table(np.array(array, dtype=np.float64), None, None)
    try:
        column = int(target)
    except ValueError:
        raise CLIError(f"--target: a .npy table has no column names; expected the index of the "
                       f"label column (0..{array.shape[1] - 1}, or -1 for the last), got "
                       f"{target!r}") from None
    if not -array.shape[1] <= column < array.shape[1]:
        raise CLIError(f"--target: {path} has {array.shape[1]} columns; expected an index in "
                       f"0..{array.shape[1] - 1} (or -1 for the last), got {column}")
    column %= array.shape[1]
    if array.shape[1] == 1:
        raise CLIError(f"{flag}: {path} has no feature columns besides the target column {column}")
    X = np.delete(np.asarray(array, dtype=np.float64), column, axis=1)
    return Table(X, _whole_labels(np.asarray(array[:, column])), None)


def _whole_labels(labels: np.ndarray) -> np.ndarray:
    """Float labels that are whole numbers as int64 (a .npy table stores labels as floats)."""
    if labels.dtype.kind == "f" and np.isfinite(labels).all() and (labels == np.round(labels)).all():
        return labels.astype(np.int64)
    return labels


def _read_npz(path: Path, target, flag: str) -> Table:
    try:
        with zipfile.ZipFile(path) as archive:
            sizes = {info.filename.removesuffix(".npy"): info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError) as error:
        raise CLIError(f"{flag}: {path} is not a readable .npz archive: {error}") from None
    # Without --target, the labels are "y" if the archive has them (predict needs only X).
    label_name = target if target is not None else "y" if "y" in sizes else None
    if "X" not in sizes or (label_name is not None and label_name not in sizes):
        held = ", ".join(sorted(sizes)[:10]) or "no arrays"
        raise CLIError(f"{flag}: {path} holds {held}; expected arrays named X (features, 2-D) "
                       f"and {label_name or 'y'} (labels, 1-D), as numpy.savez(FILE, X=X, "
                       f"{label_name or 'y'}=y) writes")
    n_bytes = sizes["X"] + (sizes[label_name] if label_name is not None else 0)
    if n_bytes > MAX_TABLE_BYTES:
        raise CLIError(f"{flag}: {path} holds {n_bytes} bytes of arrays, more than the "
                       f"{MAX_TABLE_BYTES} this command reads")
    try:
        with np.load(path, allow_pickle=False) as archive:
            X = archive["X"]
            y = archive[label_name] if label_name is not None else None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise CLIError(f"{flag}: {path} is not a readable .npz of arrays: {error}") from None
    if y is None:
        if X.ndim != 2 or len(X) == 0:
            raise CLIError(f"{flag}: {path} holds X of shape {X.shape}; expected (N, F), N >= 1")
        return Table(_numeric_array(X, "X", path, flag).astype(np.float64), None, None)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y) or len(X) == 0:
        raise CLIError(f"{flag}: {path} holds X of shape {X.shape} and {label_name} of shape "
                       f"{y.shape}; expected X (N, F) and {label_name} (N,) with N >= 1")
    _numeric_array(X, "X", path, flag)
    if y.dtype.kind not in "biufU":
        raise CLIError(f"{flag}: {path} holds labels of dtype {y.dtype}; expected numbers or text")
    return Table(X.astype(np.float64), _whole_labels(y), None)
