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
import io
import math
import operator
import os
import stat
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable

import numpy as np

from .._zipbounds import zip_entry_count
from ..persistence import MAX_LABEL_CHARS
from ._errors import CLIError, UsageError

__all__ = ["MAX_NAME_CHARS", "MAX_TABLE_BYTES", "MAX_TABLE_CLASSES", "MAX_TABLE_COLUMNS",
           "MAX_TABLE_ENTRIES", "TABLE_SUFFIXES", "Table", "check_target_given", "labels_like",
           "read_table"]

#: The largest table file read: 64 MiB (a CSV of about a million 10-column rows). Larger
#: files are refused unread, ``.npz`` arrays that announce more too, and a file that grows
#: past it while it is read is refused when the bytes actually read pass it.
MAX_TABLE_BYTES = 1 << 26

#: The most columns a CSV table may have (its header is refused, before its names are parsed,
#: if its line holds more commas than this many columns and a quoted label can).
MAX_TABLE_COLUMNS = 100_000

#: The most distinct labels a table's target may hold: a model's classes.
MAX_TABLE_CLASSES = 1000

#: The longest column name or label read (characters): the longest a model file holds.
MAX_NAME_CHARS = MAX_LABEL_CHARS

#: The most members a ``.npz`` table may list (checked in the zip's end record, before the
#: zip module reads its directory), as for a model file.
MAX_TABLE_ENTRIES = 64

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
        The target column's labels: int64 when every label is a whole number (float64 beyond
        int64's range), else text (an object array of str); None when no target was asked for.
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


def read_table(path, target, *, features=None, flag: str = "--table",
               parse_labels: bool = True) -> Table:
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
    parse_labels : bool, default=True
        Whether a CSV's labels are read as numbers when they all are (else they stay text,
        for a model whose classes are text).

    Returns
    -------
    Table

    Notes
    -----
    Time is linear in the file's size. Memory is about 8 bytes per number read, plus 16 per
    row for the labels, plus the longest line: at most 8 times the file's size (each number
    takes at least 2 characters, "1,", and each row at least 4).
    """
    path = Path(path)
    _check_file(path, flag)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, target, features, flag, parse_labels)
    if suffix == ".npy":
        return _read_npy(path, target, flag)
    return _read_npz(path, target, flag)


# -- CSV ---------------------------------------------------------------------------------------


class _TableRefused(Exception):
    """Why a table is refused, said after ``{flag}: {path}``."""


class _CappedReader(io.RawIOBase):
    """A binary file that refuses to give more than :data:`MAX_TABLE_BYTES` bytes, whatever
    its size said when it was checked (it may be growing)."""

    def __init__(self, raw):
        self.raw = raw
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        self.bytes_read += n or 0
        if self.bytes_read > MAX_TABLE_BYTES:
            raise _TableRefused(f"holds more than the {MAX_TABLE_BYTES} bytes this command "
                                "reads (did it grow while being read?); split it into smaller "
                                "files")
        return n


class _Lines:
    """The CSV file's lines, for :func:`csv.reader`, read within the table's bounds.

    Commas are counted as lines are handed out, and a record is refused as soon as its lines
    hold more than ``max_commas``, before :mod:`csv` builds its list of fields (a long line is
    read a piece at a time, so this holds within a line too). The reader of the records sets
    ``counts[COMMAS]`` to 0 after each record.
    """

    PIECE = 1 << 16  # characters
    COMMAS, MAX_COMMAS = 0, 1

    def __init__(self, text):
        self.text = text
        self.counts = [0, MAX_TABLE_COLUMNS + MAX_NAME_CHARS]

    def __iter__(self):
        return self._lines(self.text.readline, self.counts)

    @classmethod
    def _lines(cls, readline, counts: list):
        piece_size = cls.PIECE
        while line := readline(piece_size):
            counts[0] += line.count(",")
            if len(line) == piece_size and not line.endswith(("\n", "\r")):
                line = cls._rest_of_line(readline, line, counts)
            if counts[0] > counts[1]:
                raise _TooManyFields
            yield line

    @classmethod
    def _rest_of_line(cls, readline, start: str, counts: list) -> str:
        pieces = [start]
        while True:
            if counts[0] > counts[1]:
                raise _TooManyFields
            piece = readline(cls.PIECE)
            counts[0] += piece.count(",")
            pieces.append(piece)
            if len(piece) < cls.PIECE or piece.endswith(("\n", "\r")):
                return "".join(pieces)


class _TooManyFields(Exception):
    """A record with more commas than any row of the table may hold (in the line after the
    reader's ``line_num``)."""


def _open_regular(path: Path):
    """``path`` opened for binary reading without blocking (a FIFO put in its place since the
    check is refused, not waited on)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _TableRefused("is not a regular file")
    return os.fdopen(fd, "rb", buffering=0)


def _decoding_error(path: Path, n_bytes: int) -> str:
    """Where the first ``n_bytes`` of the file stop being UTF-8 (read again, exactly)."""
    with open(path, "rb") as stream:
        data = stream.read(n_bytes)
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return f"{error.reason} at byte {error.start}"
    return "at its end"


def _csv_records(raw):
    """``(lines, records, capped)``: the records of the CSV file ``raw`` (binary, unbuffered)
    and the two objects that bound them."""
    capped = _CappedReader(raw)
    lines = _Lines(io.TextIOWrapper(io.BufferedReader(capped), encoding="utf-8-sig", newline=""))
    return lines, csv.reader(lines), capped


def _read_csv(path: Path, target, features, flag: str, parse_labels: bool) -> Table:
    try:
        with _open_regular(path) as raw:
            lines, records, capped = _csv_records(raw)
            try:
                return _csv_table(records, lines, target, features, path, parse_labels)
            except _TooManyFields:
                if records.line_num == 0:
                    raise _TableRefused(f"has more than {MAX_TABLE_COLUMNS} columns in its "
                                        f"header; a table has at most {MAX_TABLE_COLUMNS}") from None
                n_columns = lines.counts[_Lines.MAX_COMMAS] - MAX_NAME_CHARS + 1
                raise _TableRefused(f"line {records.line_num + 1} has more than {n_columns} fields; "
                                    f"the header has {n_columns} columns") from None
            except UnicodeDecodeError:
                raise _TableRefused(f"is not UTF-8 text ({_decoding_error(path, capped.bytes_read)}); "
                                    "save the CSV as UTF-8") from None
            except csv.Error as error:
                raise _TableRefused(f"is not a readable CSV file: {error}") from None
    except _TableRefused as refusal:
        raise CLIError(f"{flag}: {path} {refusal}") from None


def _first_bad_cell(path: Path, names: list, feature_at: list) -> _TableRefused:
    """Read the file again, one cell at a time, for the first feature cell that is not a
    finite number: the refusal that names its line and column."""
    with _open_regular(path) as raw:
        lines, records, _ = _csv_records(raw)
        next(records)  # the header
        for row in records:
            if len(row) == len(names):
                try:
                    for at in feature_at:
                        _number(row[at], names[at], records.line_num)
                except _TableRefused as refusal:
                    return refusal
    return _TableRefused("changed while it was read")


def _csv_table(rows, lines: _Lines, target, features, path, parse_labels) -> Table:
    header = next(rows, None)
    if header is None or not any(cell.strip() for cell in header):
        raise _TableRefused("is empty; expected a header row naming the columns, then one row "
                            "per sample")
    if len(header) > MAX_TABLE_COLUMNS:
        raise _TableRefused(f"has {len(header)} columns in its header; a table has at most "
                            f"{MAX_TABLE_COLUMNS}")
    _check_names(header)
    names = [cell.strip() for cell in header]
    at_of = {name: at for at, name in enumerate(names)}
    if len(at_of) < len(names):
        repeated = next(name for at, name in enumerate(names) if at_of[name] != at)
        raise _TableRefused(f"names the column {repeated!r} twice in its header")
    target_at = _target_column(names, at_of, target, path)
    feature_at = _feature_columns(header, names, at_of, features, target_at)
    # A data row holds len(names) - 1 separators, and commas only inside its (quoted) label.
    lines.counts[_Lines.COMMAS] = 0
    lines.counts[_Lines.MAX_COMMAS] = len(names) - 1 + MAX_NAME_CHARS
    try:
        numbers, labels, codes = _csv_rows(rows, lines, names, feature_at, target_at)
        if not numbers:
            raise _TableRefused("has a header but no data rows")
        X = np.frombuffer(numbers, dtype=np.float64).reshape(-1, len(feature_at))  # no copy
        if not np.isfinite(X).all():
            raise _NotNumbers
    except _NotNumbers:
        raise _first_bad_cell(path, names, feature_at) from None
    y = None
    if target_at is not None:
        distinct = _parsed_labels(list(labels), names[target_at]) if parse_labels else None
        if distinct is None:
            distinct = np.array(list(labels), dtype=object)  # references: no padding per row
        y = distinct[np.frombuffer(codes, dtype=np.int64)]
    return Table(X, y, tuple(names[at] for at in feature_at), tuple(names))


def _check_names(header: list) -> None:
    for at, cell in enumerate(header):
        if not cell.strip():
            raise _TableRefused(f"has a header with an empty column name (column {at + 1}); "
                                "every column needs a name")
        if len(cell) > MAX_NAME_CHARS:
            raise _TableRefused(f"has a column name of {len(cell)} characters (column "
                                f"{at + 1}); a name has at most {MAX_NAME_CHARS}, as a model "
                                "file holds")


def _target_column(names: list, at_of: dict, target, path: Path):
    if target is None:
        return None
    if target not in at_of:
        raise CLIError(f"--target: {path} has no column {target!r}; its columns are: "
                       f"{_listed(names)}")
    return at_of[target]


def _feature_columns(header: list, names: list, at_of: dict, features, target_at) -> list:
    """The indices of the feature columns: ``features`` by name, or all but the target.

    A name matches a column's header cell exactly, or else with its surrounding spaces
    stripped (CSV headers often have a space after each comma).
    """
    if features is None:
        feature_at = [at for at in range(len(names)) if at != target_at]
        if not feature_at:
            raise _TableRefused(f"has no feature columns besides the target {names[target_at]!r}")
        return feature_at
    exact = {cell: at for at, cell in enumerate(header)}
    feature_at = [exact.get(name, at_of.get(name.strip(), -1)) for name in features]
    missing = [name for name, at in zip(features, feature_at) if at < 0]
    if missing:
        raise _TableRefused(f"lacks the column{'s' if len(missing) > 1 else ''} "
                            f"{_listed(missing, 5)} that the model was trained on; its columns "
                            f"are: {_listed(header)}")
    return feature_at


def _listed(names, limit: int = 20) -> str:
    """Names for a message; a name with surrounding spaces (or none) is quoted, to show them."""
    shown = [name if name and name == name.strip() and "," not in name else repr(name)
             for name in names[:limit]]
    return ", ".join(shown) + (", ..." if len(names) > limit else "")


def _csv_rows(rows, lines: _Lines, names: list, feature_at: list, target_at):
    """The feature columns' numbers (flat, row after row), the target's distinct texts
    (text -> code, in order of appearance) and each row's code: compact arrays, 8 bytes per
    number or label, whatever the text.

    Raises ``_NotNumbers`` when a feature cell is not a finite number: said with its line and
    column by :func:`_first_bad_cell`, which reads the file again (only then).
    """
    numbers = array.array("d")
    labels: dict = {}
    codes = array.array("q")
    # itemgetter gives a tuple of the cells, or for one column the cell itself
    cells_of: Callable = (operator.itemgetter(*feature_at) if len(feature_at) > 1
                          else lambda row, at=feature_at[0]: (row[at],))
    n_columns, counts = len(names), lines.counts
    for row in rows:
        counts[0] = 0
        if len(row) != n_columns:
            if not row:
                continue  # a blank line
            raise _TableRefused(f"line {rows.line_num} has {len(row)} fields; the header has "
                                f"{n_columns} columns")
        try:
            numbers.extend(map(float, cells_of(row)))
        except ValueError:
            raise _NotNumbers from None
        if target_at is not None:
            label = row[target_at].strip()
            code = labels.get(label)
            codes.append(_label_code(label, labels, names[target_at], rows.line_num)
                         if code is None else code)
    return numbers, labels, codes


class _NotNumbers(Exception):
    """A feature cell that is not a finite number (found in bulk; located by a second read)."""


def _label_code(label: str, labels: dict, column: str, line: int) -> int:
    """The code of ``label`` in ``labels`` (added if new), within the bounds on labels."""
    code = labels.get(label)
    if code is not None:
        return code
    if not label:
        raise _TableRefused(f"line {line}: the target column {column!r} is empty; every row "
                            "needs a label")
    if len(label) > MAX_NAME_CHARS:
        raise _TableRefused(f"line {line}: the label in column {column!r} has {len(label)} "
                            f"characters; a label has at most {MAX_NAME_CHARS}, as a model "
                            "file holds")
    if len(labels) == MAX_TABLE_CLASSES:
        raise _TableRefused(f"line {line}: the target column {column!r} holds more than "
                            f"{MAX_TABLE_CLASSES} distinct labels, the most a table's model "
                            "may have; is it an identifier or a measurement rather than a class?")
    labels[label] = len(labels)
    return labels[label]


def _number(cell: str, column: str, line: int) -> float:
    try:
        value = float(cell)
    except ValueError:
        what = "an empty cell" if not cell.strip() else repr(cell.strip()[:40])
        raise _TableRefused(f"line {line}, column {column!r}: {what} is not a number; feature "
                            "columns must hold numbers (encode text columns first)") from None
    if not math.isfinite(value):
        raise _TableRefused(f"line {line}, column {column!r}: {cell.strip()[:40]} is not a "
                            "finite number")
    return value


_INT64 = np.iinfo(np.int64)


def _parsed_labels(texts: list, column: str):
    """Distinct label texts as numbers, or None when they stay text.

    int64 when every one is a whole number within int64 (``"3"``, ``"3.0"``, exactly, however
    many digits), float64 for whole numbers beyond it (``"1e300"``) as long as no two
    different numbers round to the same float64. Refused: any number that is not whole (a
    continuous target), and whole numbers too large for float64 to tell apart. Text that is
    not a finite number (``"a"``, ``"nan"``) keeps every label text.
    """
    try:
        values = [Decimal(text) for text in texts]
    except InvalidOperation:
        return None
    if not all(value.is_finite() for value in values):
        return None
    for text, value in zip(texts, values):
        if value != value.to_integral_value():
            raise _TableRefused(f"holds {text!r} in the target column {column!r}: a continuous "
                                "target (a measurement), not class labels; a classifier needs "
                                "whole numbers or text as labels")
    if all(value.adjusted() <= 18 for value in values):  # at most 19 digits: int() is cheap
        whole = [int(value) for value in values]
        if all(_INT64.min <= number <= _INT64.max for number in whole):
            return np.array(whole, dtype=np.int64)
    floats = np.array([float(value) for value in values])
    if not np.isfinite(floats).all() or np.unique(floats).size != len(set(values)):
        raise _TableRefused(f"holds labels in the target column {column!r} that are different "
                            "whole numbers but the same float64 number (or too large for one); "
                            "write them as text (e.g. with a letter) or as smaller numbers")
    return floats


def labels_like(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``labels`` read in the dtype of a model's ``classes``: numbers of a model whose classes
    are text are printed (as an object array: one reference per row, not padded text)."""
    if classes.dtype.kind in "USO" and labels.dtype.kind not in "USO":
        return np.array([str(label) for label in labels.tolist()], dtype=object)
    return labels


# -- .npy and .npz -------------------------------------------------------------------------------


def _numeric_array(array: np.ndarray, what: str, path: Path, flag: str) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise CLIError(f"{flag}: {path} holds {what} of dtype {array.dtype}; expected numbers")
    return array


def _load_npy(path: Path, flag: str) -> np.ndarray:
    """The ``.npy`` file memory-mapped (only its header is read here)."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise CLIError(f"{flag}: {path} is not a readable .npy array of numbers: {error}") from None
    if not isinstance(array, np.ndarray):  # a zip archive: np.load gives an NpzFile
        array.close()
        raise CLIError(f"{flag}: {path} is a zip archive (.npz), not one array saved with "
                       "numpy.save; name it .npz if it holds arrays X and y")
    return array


def _as_float_rows(array: np.ndarray, columns: list, chunk_rows: int = 1 << 16) -> np.ndarray:
    """``array[:, columns]`` as a new float64 array, converted a block of rows at a time, so
    that no float64 copy of the whole file is made besides the result."""
    X = np.empty((array.shape[0], len(columns)), dtype=np.float64)
    for start in range(0, array.shape[0], chunk_rows):
        X[start:start + chunk_rows] = array[start:start + chunk_rows][:, columns]
    return X


def _read_npy(path: Path, target, flag: str) -> Table:
    array = _load_npy(path, flag)
    if array.ndim != 2:
        raise CLIError(f"{flag}: {path} holds an array of shape {array.shape}; expected a 2-D "
                       "table (rows, columns)")
    _numeric_array(array, "an array", path, flag)
    if array.shape[0] == 0:
        raise CLIError(f"{flag}: {path} holds no rows")
    if target is None:
        return Table(_as_float_rows(array, list(range(array.shape[1]))), None, None)
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
    X = _as_float_rows(array, [at for at in range(array.shape[1]) if at != column])
    return Table(X, _whole_labels(np.array(array[:, column])), None)


def _whole_labels(labels: np.ndarray) -> np.ndarray:
    """Float labels that are whole numbers within int64 as int64 (a .npy table stores labels
    as floats); larger whole floats stay float64, so that distinct ones stay distinct."""
    if (labels.dtype.kind == "f" and np.isfinite(labels).all()
            and (labels == np.round(labels)).all() and (np.abs(labels) < 2.0**63).all()):
        return labels.astype(np.int64)
    return labels


def _npz_sizes(path: Path, flag: str) -> dict:
    """``array name -> bytes`` of the ``.npy`` members of the archive (other members are
    kept under their own name, to be refused if asked for)."""
    try:
        with open(path, "rb") as file:
            count = zip_entry_count(file, os.fstat(file.fileno()).st_size)
            if count is not None and count > MAX_TABLE_ENTRIES:
                raise CLIError(f"{flag}: {path} lists {count} members in its zip directory; a "
                               f".npz table is read only with at most {MAX_TABLE_ENTRIES}")
            with zipfile.ZipFile(file) as archive:
                return {info.filename.removesuffix(".npy") if info.filename.endswith(".npy")
                        else info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError) as error:
        raise CLIError(f"{flag}: {path} is not a readable .npz archive: {error}") from None


def _npz_member(archive, name: str, path: Path, flag: str) -> np.ndarray:
    value = archive[name]
    if not isinstance(value, np.ndarray):  # NpzFile gives the raw bytes of a member not .npy
        raise CLIError(f"{flag}: {path} holds {name} as a member that is not a .npy array; "
                       f"expected {name}.npy, as numpy.savez writes")
    return value


def _read_npz(path: Path, target, flag: str) -> Table:
    sizes = _npz_sizes(path, flag)
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
            X = _npz_member(archive, "X", path, flag)
            y = _npz_member(archive, label_name, path, flag) if label_name is not None else None
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
    if y.dtype.kind == "U" and y.dtype.itemsize // 4 > MAX_NAME_CHARS:
        raise CLIError(f"{flag}: {path} holds labels of up to {y.dtype.itemsize // 4} "
                       f"characters; a label has at most {MAX_NAME_CHARS}, as a model file holds")
    return Table(X.astype(np.float64), _whole_labels(y), None)
