"""Saving and loading model files: ``.npz`` archives, never pickle, every read bounded.

A model file is a zip archive (what :func:`numpy.savez` writes) of seven ``.npy`` members,
and an eighth for a model fitted on named columns:

===================  =================================================================
``format``           the text ``"scratchlin.LinearClassifier"``
``format_version``   an integer, :data:`FORMAT_VERSION`
``W``                (F, C) float32 or float64, finite
``b``                (C,), W's dtype, finite
``classes``          (C,) distinct labels: integers, booleans, whole floats, unicode or
                     byte strings
``hyperparameters``  JSON text: an object, hyperparameter name -> value (encoding below)
``history``          JSON text: a list of per-epoch records (objects)
``feature_names``    optional: (F,) unicode strings, ``feature_names_in_``
===================  =================================================================

Loading treats the file as hostile. Nothing in it is executed or unpickled; only these
members are read, and each one's ``.npy`` header (dtype, shape) is checked against what the
member may hold and against the size the zip records for it *before* its data is read, with
decompression bounded (see :func:`load_model`). Every way a file can be wrong is a
``ValueError`` naming the file.

JSON encoding of values
-----------------------
``None``, ``bool``, ``int``, ``float`` (NaN and infinities as JSON's ``NaN``/``Infinity``),
``str`` and lists are themselves; NumPy scalars become the equal Python number, string or
bool; a dtype (``np.float32``) becomes its name. A dict whose keys are all strings is a JSON
object. Everything JSON cannot say unambiguously is a one-key object whose key is a tag:

- ``{"__items__": [[key, value], ...]}``: a dict with other keys, e.g. ``class_weight={0: 2.0}``
  is ``{"__items__": [[0, 2.0]]}`` (JSON would turn the key into the string ``"0"``). A
  string-keyed dict that happens to be exactly one tag key is written this way too, so a
  one-key object with a tag key is never a plain dict.
- ``{"__tuple__": [...]}``: a tuple.

Version history: 1 (scratchlin 0.1) held only JSON scalars as hyperparameters and integer
classes; 2 adds the tagged values above and boolean/string classes; 3 adds ``feature_names``
and float and byte-string classes. Older files are read unchanged; an older reader refuses
newer files (by their version number, or by the member it does not know).
"""
from __future__ import annotations

import json
import math
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from ._files import atomic_write
from ._zipbounds import zip_entry_count

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "MAX_LABEL_CHARS", "MEMBERS", "OPTIONAL_MEMBERS", "READABLE_VERSIONS",
           "load_model", "save_model"]

FORMAT_NAME = "scratchlin.LinearClassifier"
FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
MEMBERS = ("format", "format_version", "W", "b", "classes", "hyperparameters", "history")
#: Members a file may hold besides :data:`MEMBERS` (from version 3 on).
OPTIONAL_MEMBERS = ("feature_names",)

# Bounds on what a model file may make load() allocate. A member's uncompressed size is
# checked against the zip's records before reading: a stored member may not claim more bytes
# than the file has, a deflated one may expand at most _MAX_EXPANSION times (or to
# _EXPANSION_FLOOR bytes, for tiny members). np.savez stores without compression, so files
# written by save() expand 1x; real weights deflate by ~1.1x.
_MAX_EXPANSION = 20
_EXPANSION_FLOOR = 1 << 20
_MAX_ZIP_ENTRIES = 64  # checked in the end record, before the zip module reads the directory
# JSON text is bounded by what parsing it may allocate: 2 Mi characters of "{}," parse to
# 700,000 empty dicts, measured ~140 MB resident. A history record is ~150 characters, so
# this holds 14,000 epochs.
_MAX_TEXT_CHARS = {"format": 64, "hyperparameters": 1 << 20, "history": 1 << 21}
#: The longest class label or feature name a model file holds (characters).
MAX_LABEL_CHARS = 1024
_MAX_LABEL_CHARS = MAX_LABEL_CHARS
_MAX_JSON_DEPTH = 32
_MAX_NPY_HEADER = 10_000  # numpy's own default limit

_TAG_ITEMS, _TAG_TUPLE = "__items__", "__tuple__"
_TAGS = (_TAG_ITEMS, _TAG_TUPLE)

_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # open a FIFO without waiting for a writer
_O_BINARY = getattr(os, "O_BINARY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


# ---------------------------------------------------------------------------------------------
# saving


def save_model(model, path) -> Path:
    """Write a fitted model to ``path`` as an ``.npz`` file; atomic, durable, no pickle.

    Reads only the model's public surface: ``W``, ``b``, ``classes_``, ``get_params()``,
    ``history_`` and ``feature_names_in_`` (if present).

    Parameters
    ----------
    model : LinearClassifier
        Fitted.
    path : str or os.PathLike
        Destination. Written to a temporary file in the same folder, fsync-ed, then renamed
        over ``path`` (see :func:`scratchlin._files.atomic_write` for the permissions).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        If ``classes_`` are not integers, booleans, floats or strings, a history value is of a
        type the format cannot hold (see the module docstring), or a hyperparameter is of a
        type :func:`load_model` refuses for it (e.g. ``C="abc"``).
    ValueError
        If the file would exceed a bound :func:`load_model` enforces: more than 2 Mi
        characters of history JSON (about 14,000 epochs), 1 Mi of hyperparameters, labels
        longer than 1024 characters. Nothing is written then.

    Notes
    -----
    Callables (a callback, a callable ``lr_schedule``) and random generators (a ``Generator``
    seed) cannot be saved: they are left out, and the loaded model has their defaults.
    """
    path = Path(path)
    W, b = model.W, model.b
    hyperparameters = {}
    for name, value in model.get_params().items():
        try:
            hyperparameters[name] = _encode(value, name)
        except _Unsaveable:
            continue
    hyperparameters["dtype"] = W.dtype.name
    try:  # a file load would refuse is not written
        _check_hyperparameter_types(_decode_json(_json_text(hyperparameters, "hyperparameters"),
                                                 "hyperparameters"))
    except _Refused as refusal:
        raise TypeError(f"the model cannot be saved: it {refusal}") from None
    history = _encode(list(getattr(model, "history_", [])), "history_")
    arrays = {
        "format": np.array(FORMAT_NAME),
        "format_version": np.array(FORMAT_VERSION),
        "W": W,
        "b": b,
        "classes": _saveable_classes(model.classes_),
        "hyperparameters": _json_text(hyperparameters, "hyperparameters"),
        "history": _json_text(history, "history"),
    }
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        arrays["feature_names"] = _saveable_names(names, W.shape[0])
    return atomic_write(path, lambda file: np.savez(file, **arrays))


def _json_text(value, name: str) -> np.ndarray:
    """``value`` as JSON in a 0-d unicode array; a ValueError if load would refuse its size."""
    text = json.dumps(value, allow_nan=True)
    if len(text) > _MAX_TEXT_CHARS[name]:
        raise ValueError(f"{name} is {len(text)} characters as JSON; a model file holds at most "
                         f"{_MAX_TEXT_CHARS[name]} (load refuses more, to bound its memory)")
    return np.array(text)


class _Unsaveable(Exception):
    """A value that is left out of the file on purpose (callables, random generators)."""


def _encode(value, name):
    """``value`` as JSON-ready Python data (see the module docstring)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, list):
        return [_encode(item, name) for item in value]
    if isinstance(value, tuple):
        return {_TAG_TUPLE: [_encode(item, name) for item in value]}
    if isinstance(value, dict):
        keys = [_encode_key(key, name) for key in value]
        values = [_encode(item, name) for item in value.values()]
        if all(isinstance(key, str) for key in keys) and not (len(keys) == 1 and keys[0] in _TAGS):
            return dict(zip(keys, values))
        return {_TAG_ITEMS: [[key, item] for key, item in zip(keys, values)]}
    if callable(value) or isinstance(value, (np.random.Generator, np.random.RandomState)):
        raise _Unsaveable
    raise TypeError(f"{name} holds {value!r} of type {type(value).__name__}, which a model "
                    "file cannot hold (numbers, strings, bools, None, lists, tuples and dicts)")


def _encode_key(key, name):
    if isinstance(key, np.generic):
        key = key.item()
    if key is None or isinstance(key, (bool, int, float, str)):
        return key
    raise TypeError(f"{name} has a dict key {key!r} of type {type(key).__name__}; a model "
                    "file holds only number, string, bool or None keys")


def _saveable_classes(classes) -> np.ndarray:
    """``classes_`` in a dtype the file holds; object labels (from pandas, say) are saved as
    the array NumPy makes of them (strings as '<U', numbers as int64 or float64)."""
    classes = np.asarray(classes)
    if classes.dtype == object:
        classes = np.array(classes.tolist())
    if classes.dtype.kind not in "iubfUS":
        raise TypeError(f"classes_ must hold integers, booleans, floats or strings to be "
                        f"saved, got dtype {classes.dtype}")
    if classes.dtype.kind == "f" and not np.isfinite(classes).all():
        raise ValueError(f"classes_ must be finite to be saved, got {classes.tolist()[:10]}")
    if _label_chars(classes.dtype) > _MAX_LABEL_CHARS:
        raise ValueError(f"classes_ holds labels of up to {_label_chars(classes.dtype)} "
                         f"characters; a model file holds at most {_MAX_LABEL_CHARS}")
    return classes


def _label_chars(dtype: np.dtype) -> int:
    """The longest text a string dtype holds (0 for numbers)."""
    return {"U": dtype.itemsize // 4, "S": dtype.itemsize}.get(dtype.kind, 0)


def _saveable_names(names, n_features: int) -> np.ndarray:
    names = np.asarray(names, dtype=object)
    if names.shape != (n_features,) or not all(isinstance(name, str) for name in names.tolist()):
        raise TypeError(f"feature_names_in_ must be {n_features} strings to be saved, got {names!r:.80}")
    names = names.astype(str)
    if _label_chars(names.dtype) > _MAX_LABEL_CHARS:
        raise ValueError(f"feature_names_in_ holds names of up to {_label_chars(names.dtype)} "
                         f"characters; a model file holds at most {_MAX_LABEL_CHARS}")
    return names


# ---------------------------------------------------------------------------------------------
# loading


#: Hyperparameters that scratchlin 0.1 called otherwise: ``optimizer`` became ``solver`` (the
#: same values), ``epochs`` became ``max_iter`` (on MNIST an iteration is an epoch).
#: ``weight_decay`` has no equivalent without the training set's size (``C`` is
#: ``1 / (weight_decay * N)``), so it is dropped like any unknown name.
_RENAMED = {"optimizer": "solver", "epochs": "max_iter"}


def _renamed(hyperparameters: dict) -> dict:
    """``hyperparameters`` with scratchlin 0.1's names replaced by today's (a name given under
    both keeps today's)."""
    renamed = {_RENAMED.get(key, key): value for key, value in hyperparameters.items()
               if key not in _RENAMED or _RENAMED[key] not in hyperparameters}
    return renamed


def load_model(cls, path):
    """Read a model file written by :func:`save_model` (format version 1, 2 or 3).

    Parameters
    ----------
    cls : type
        The estimator class; the model is ``cls.from_params(W, b, classes=classes,
        **hyperparameters)`` with ``history_`` (and ``feature_names_in_``) set afterwards.
        Hyperparameters the file holds but ``cls().get_params()`` does not know are ignored.
    path : str or os.PathLike

    Returns
    -------
    cls instance

    Raises
    ------
    FileNotFoundError, PermissionError
        If the file cannot be opened.
    ValueError
        Naming the file, for anything else: not a regular file (a folder, a FIFO), not a zip
        archive, a damaged or truncated archive, members other than the seven of the format,
        a member whose ``.npy`` header disagrees with the size the archive records for it or
        would expand beyond the bounds (zip bombs), pickled objects, wrong dtypes or shapes,
        non-finite parameters, repeated classes, an unknown format version, malformed or too
        deeply nested JSON, or parameters ``cls.from_params`` refuses.

    Notes
    -----
    Nothing in the file is executed. Memory is bounded by the file's size: at most
    ``_MAX_EXPANSION`` (20) times the compressed size of each member (1 MiB for tiny ones),
    1 Mi characters of hyperparameter JSON and 2 Mi of history.
    """
    path = Path(path)
    with _open_regular_file(path) as file:
        try:
            arrays = _read_members(file)
        except _Refused as refusal:
            raise ValueError(f"{path} {refusal}") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, struct.error,
                NotImplementedError, RuntimeError, OverflowError, OSError, ValueError,
                TypeError) as error:
            # The zip and npy readers' own complaints about a damaged file.
            raise ValueError(f"{path} is not a scratchlin model file (.npz): {error}") from None
    try:
        return _build_model(cls, arrays)
    except _Refused as refusal:
        raise ValueError(f"{path} {refusal}") from None


class _Refused(Exception):
    """Why a file is not a loadable model; ``load_model`` prefixes the file name."""


def _open_regular_file(path: Path):
    """``path`` opened for binary reading; a ValueError unless it is a regular file.

    Opened non-blocking, so a FIFO is refused instead of waiting forever for a writer.
    """
    if not stat.S_ISREG(os.stat(path).st_mode):  # FileNotFoundError passes through
        raise ValueError(f"{path} is not a scratchlin model file: it is not a regular file")
    fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_BINARY | _O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced since the stat above
            raise ValueError(f"{path} is not a scratchlin model file: it is not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


# -- the archive ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NpyHeader:
    dtype: np.dtype
    shape: tuple
    fortran_order: bool
    data_offset: int  # bytes of magic and header before the data

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _read_members(file) -> dict:
    """The members as arrays, each checked by its header before its data is read."""
    if file.read(4) != b"PK\x03\x04":  # np.load would treat any other content as a pickle
        raise _Refused("is not a scratchlin model file (.npz): it is not a zip archive")
    file_size = os.fstat(file.fileno()).st_size
    _check_entry_count(file, file_size)
    with zipfile.ZipFile(file) as archive:
        infos = _member_infos(archive)
        headers = {}
        for name in infos:
            _check_zip_sizes(name, infos[name], file_size)
            headers[name] = _read_header(archive, name, infos[name])
        _check_headers(headers)
        return {name: _read_data(archive, name, infos[name], headers[name]) for name in infos}


def _check_entry_count(file, file_size: int) -> None:
    """Refuse archives listing more than ``_MAX_ZIP_ENTRIES`` members, from the end record(s),
    before the zip module builds one object per listed member."""
    count = zip_entry_count(file, file_size)
    if count is None:
        raise _Refused("is not a scratchlin model file (.npz): it has no zip end record")
    if count > _MAX_ZIP_ENTRIES:
        raise _Refused(f"is not a scratchlin model file: its zip directory lists {count} "
                       f"members (a model has {len(MEMBERS)})")


def _member_infos(archive: zipfile.ZipFile) -> dict:
    """``name -> ZipInfo`` of the seven members (and the optional ones present); anything else
    is refused unread."""
    names = [info.filename for info in archive.infolist()]
    expected = [f"{name}.npy" for name in MEMBERS + OPTIONAL_MEMBERS]
    missing = [name for name in MEMBERS if f"{name}.npy" not in names]
    if missing:
        raise _Refused(f"is not a scratchlin model file (missing {missing})")
    unexpected = sorted({n for n in names if n not in expected} | {n for n in names if names.count(n) > 1})
    if unexpected:
        raise _Refused(f"is not a scratchlin model file: it holds unexpected or repeated "
                       f"members {unexpected[:5]} (a model holds {expected[:len(MEMBERS)]}, "
                       f"and may hold {expected[len(MEMBERS):]})")
    return {info.filename[:-4]: info for info in archive.infolist()}


def _check_zip_sizes(name: str, info: zipfile.ZipInfo, file_size: int) -> None:
    """Bound what reading the member can cost, from the archive's records alone."""
    if info.flag_bits & 0x1:
        raise _Refused(f"is not a scratchlin model file: member {name!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Refused(f"is not a scratchlin model file: member {name!r} uses compression "
                       f"method {info.compress_type} (only stored or deflated members are read)")
    if info.header_offset < 0 or info.header_offset + info.compress_size > file_size:
        raise _Refused(f"is not a scratchlin model file (.npz): member {name!r} claims "
                       f"{info.compress_size} bytes beyond the file's {file_size}")
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise _Refused(f"is not a scratchlin model file (.npz): stored member {name!r} claims "
                       f"{info.file_size} bytes but occupies {info.compress_size}")
    limit = max(_MAX_EXPANSION * info.compress_size, _EXPANSION_FLOOR)
    if info.file_size > limit:
        raise _Refused(f"is refused: member {name!r} would expand from {info.compress_size} to "
                       f"{info.file_size} bytes (at most {_MAX_EXPANSION}x is read; a zip bomb?)")


def _read_header(archive: zipfile.ZipFile, name: str, info: zipfile.ZipInfo) -> _NpyHeader:
    with archive.open(info) as member:
        version = npy_format.read_magic(member)
        if version == (1, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_1_0(member, _MAX_NPY_HEADER)
        elif version == (2, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_2_0(member, _MAX_NPY_HEADER)
        else:
            raise _Refused(f"is not a scratchlin model file: member {name!r} is .npy version "
                           f"{version[0]}.{version[1]} (1.0 and 2.0 are read)")
        data_offset = member.tell()
    if dtype.hasobject:
        raise _Refused("holds pickled Python objects, which are never loaded (they could run "
                       "code); it is not a scratchlin model file")
    if any(dim < 0 for dim in shape):
        raise _Refused(f"is not a scratchlin model file: member {name!r} has shape {shape}")
    header = _NpyHeader(dtype, tuple(shape), bool(fortran_order), data_offset)
    if header.data_offset + header.nbytes != info.file_size:
        raise _Refused(
            f"is not a scratchlin model file: member {name!r} declares shape {header.shape} of "
            f"{dtype} ({header.nbytes} bytes of data) but the archive records "
            f"{info.file_size - header.data_offset}"
        )
    return header


def _read_data(archive: zipfile.ZipFile, name: str, info: zipfile.ZipInfo,
               header: _NpyHeader) -> np.ndarray:
    """The member's array, read after its header passed every check (in native byte order)."""
    with archive.open(info) as member:
        member.read(header.data_offset)
        data = member.read(header.nbytes)  # at most the checked number of bytes is inflated
        if len(data) != header.nbytes:
            raise _Refused(f"is not a scratchlin model file (.npz): member {name!r} is truncated")
        member.read(1)  # reaching the end makes the zip module verify the CRC
    array = np.frombuffer(data, dtype=header.dtype)
    array = array.reshape(header.shape, order="F" if header.fortran_order else "C")
    return array.astype(header.dtype.newbyteorder("="), copy=False)


_ALLOWED = {  # member -> (ndim, dtype kinds, what it must be, in words)
    "format": (0, "U", "text"),
    "format_version": (0, "iu", "an integer"),
    "W": (2, "f", "a 2-D float32 or float64 array"),
    "b": (1, "f", "a 1-D float32 or float64 array"),
    "classes": (1, "iubfUS", "a 1-D array of integers, booleans, floats or strings"),
    "feature_names": (1, "U", "a 1-D array of strings"),
    "hyperparameters": (0, "U", "text"),
    "history": (0, "U", "text"),
}


def _check_headers(headers: dict) -> None:
    """Dtypes, shapes and sizes of all members, before any data is read."""
    for name, header in headers.items():
        ndim, kinds, expected = _ALLOWED[name]
        dtype = header.dtype
        if len(header.shape) != ndim or dtype.kind not in kinds or dtype.fields or dtype.subdtype:
            raise _Refused(f"is not a scratchlin model file: {name} must be {expected}, got "
                           f"dtype {dtype} and shape {header.shape}")
        if name in ("W", "b") and dtype.itemsize not in (4, 8):
            raise _Refused(f"has {name} of dtype {dtype}; a model's dtype is float32 or float64")
        if name in _MAX_TEXT_CHARS and dtype.itemsize // 4 > _MAX_TEXT_CHARS[name]:
            raise _Refused(f"is refused: {name} is {dtype.itemsize // 4} characters long "
                           f"(at most {_MAX_TEXT_CHARS[name]} are read)")
    for name, what in (("classes", "class labels"), ("feature_names", "feature names")):
        if name in headers and _label_chars(headers[name].dtype) > _MAX_LABEL_CHARS:
            raise _Refused(f"is refused: its {what} are up to "
                           f"{_label_chars(headers[name].dtype)} characters long "
                           f"(at most {_MAX_LABEL_CHARS} are read)")
    if "feature_names" in headers and headers["feature_names"].shape != (headers["W"].shape[0],):
        raise _Refused(f"has feature_names of shape {headers['feature_names'].shape} for W of "
                       f"shape {headers['W'].shape}; expected one name per row of W")
    W, b, classes = (headers[k].shape for k in ("W", "b", "classes"))
    if b != (W[1],) or classes != (W[1],):
        raise _Refused(f"has inconsistent shapes: W {W}, b {b}, classes {classes}; "
                       "expected (F, C), (C,), (C,)")
    if W[0] == 0 or W[1] == 0:
        raise _Refused(f"has W of shape {W}: a model needs at least one feature and one class")
    if headers["W"].dtype.itemsize != headers["b"].dtype.itemsize:
        raise _Refused(f"has W of dtype {headers['W'].dtype} but b of dtype {headers['b'].dtype}; "
                       "they must share one")


# -- the contents -----------------------------------------------------------------------------


def _build_model(cls, arrays: dict):
    """Check the members' values and build ``cls.from_params(...)``."""
    name = str(arrays["format"][()])
    if name != FORMAT_NAME:
        raise _Refused(f"is not a scratchlin model file (its format is {name!r}, "
                       f"not {FORMAT_NAME!r})")
    version = int(arrays["format_version"][()])
    if version not in READABLE_VERSIONS:
        raise _Refused(f"has model format version {version}; this scratchlin reads versions "
                       f"{', '.join(map(str, READABLE_VERSIONS))}")
    W, b, classes = arrays["W"], arrays["b"], arrays["classes"]
    if not (np.isfinite(W).all() and np.isfinite(b).all()):
        raise _Refused("holds non-finite parameters")
    if "feature_names" in arrays and version < 3:
        raise _Refused(f"holds feature_names, which format version {version} does not have")
    if classes.dtype.kind == "f" and not np.isfinite(classes).all():
        raise _Refused("holds non-finite classes")
    if classes.dtype == np.bool_ and (classes.view(np.uint8) > 1).any():
        raise _Refused("holds boolean classes that are neither True nor False")
    if np.unique(classes).shape[0] != classes.shape[0]:
        raise _Refused(f"holds repeated classes: {classes.tolist()[:20]}")
    hyperparameters = _decode_json(arrays["hyperparameters"], "hyperparameters")
    if not isinstance(hyperparameters, dict):
        raise _Refused(f"holds hyperparameters that are not a JSON object of name -> value, "
                       f"got {type(hyperparameters).__name__}")
    history = _decode_json(arrays["history"], "history")
    if not (isinstance(history, list) and all(isinstance(record, dict) for record in history)):
        raise _Refused("holds a history that is not a JSON list of objects")
    names = cls().get_params()
    hyperparameters = _renamed(hyperparameters)
    known = {key: value for key, value in hyperparameters.items() if key in names}
    _check_hyperparameter_types(known)
    try:
        model = cls.from_params(W, b, classes=classes, **known)
    except (TypeError, ValueError) as error:
        raise _Refused(f"holds an inconsistent model: {error}") from None
    model.history_ = history
    if "feature_names" in arrays:
        names = arrays["feature_names"]
        if np.unique(names).shape[0] != names.shape[0]:
            raise _Refused("holds repeated feature names")
        model.feature_names_in_ = names.astype(object)  # as fit records a DataFrame's names
    return model


_NUMBER = ("a number", (int, float))
_INT = ("an integer", (int,))
_TEXT = ("text", (str,))
_BOOL = ("true or false", (bool,))
_NONE = ("null", (type(None),))
_DICT = ("an object", (dict,))
#: What each hyperparameter may be in a model file, as JSON decodes it (a callable or a
#: Generator is never saved, so ``callback`` is null). A name not listed is not checked.
_HYPERPARAMETER_TYPES = {
    "C": (_NUMBER,), "solver": (_TEXT,), "max_iter": (_INT, _NONE), "tol": (_NUMBER, _TEXT, _NONE),
    "lr": (_NUMBER, _NONE), "batch_size": (_INT,), "momentum": (_NUMBER,), "nesterov": (_BOOL,),
    "label_smoothing": (_NUMBER,), "lr_schedule": (_TEXT,), "early_stopping": (_BOOL,),
    "validation_fraction": (_NUMBER,), "patience": (_INT,), "raw_pixels": (_BOOL,),
    "seed": (_INT, _NONE), "dtype": (_TEXT, _NONE), "verbose": (_BOOL,), "callback": (_NONE,),
    "class_weight": (_DICT, _TEXT, _NONE), "warm_start": (_BOOL,), "n_iter_no_change": (_INT,),
    "n_threads": (_INT, _NONE),
}


def _check_hyperparameter_types(hyperparameters: dict) -> None:
    """Each hyperparameter is of a type it may have (their values are checked by ``fit``)."""
    for name, value in hyperparameters.items():
        allowed = _HYPERPARAMETER_TYPES.get(name)
        if allowed is None:
            continue
        if any(isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
               for _, types in allowed):
            continue
        expected = " or ".join(words for words, _ in allowed)
        raise _Refused(f"holds the hyperparameter {name}={value!r:.80} of type "
                       f"{type(value).__name__}; expected {expected}")
    weights = hyperparameters.get("class_weight")
    if isinstance(weights, dict) and not all(
            isinstance(w, (int, float)) and not isinstance(w, bool) for w in weights.values()):
        raise _Refused(f"holds the hyperparameter class_weight={weights!r:.80}; expected "
                       "numbers as weights")


def _decode_json(text_array: np.ndarray, name: str):
    """Parse a JSON member, undoing :func:`_encode` as it goes (no second copy of the data)."""
    text = str(text_array[()])
    try:
        value = json.loads(text, object_hook=lambda obj: _untag(obj, name))
    except RecursionError:  # the parser's own guard, at about 1000 levels
        raise _Refused(f"holds {name} nested too deeply (at most {_MAX_JSON_DEPTH} levels)") from None
    except ValueError as error:  # JSONDecodeError, or an integer of more than 4300 digits
        raise _Refused(f"holds {name} that are not valid JSON: {error}") from None
    if _nesting_depth(value) > _MAX_JSON_DEPTH:
        raise _Refused(f"holds {name} nested too deeply (at most {_MAX_JSON_DEPTH} levels)")
    return value


def _untag(obj: dict, name: str):
    """One parsed JSON object: a tagged value (see the module docstring) or a plain dict."""
    if len(obj) != 1 or next(iter(obj)) not in _TAGS:
        return obj
    tag, content = next(iter(obj.items()))
    if not isinstance(content, list):
        raise _Refused(f"holds {name} with a malformed {tag!r} value: {content!r:.80}")
    return tuple(content) if tag == _TAG_TUPLE else _decode_items(content, name)


def _nesting_depth(value) -> int:
    """How many containers deep ``value`` goes (stops counting past the limit), level by
    level: no recursion, and no copies of the data beyond one list of references."""
    depth, level = 0, [value]
    while depth <= _MAX_JSON_DEPTH:
        containers = [item for item in level if isinstance(item, (list, tuple, dict))]
        if not containers:
            break
        depth += 1
        level = []
        for item in containers:
            level.extend(item.values() if isinstance(item, dict) else item)
    return depth


def _decode_items(pairs: list, name: str) -> dict:
    result = {}
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2) or not (
                pair[0] is None or isinstance(pair[0], (bool, int, float, str))):
            raise _Refused(f"holds {name} with a malformed dict entry {pair!r:.80} "
                           "(expected [key, value] with a number, string, bool or null key)")
        if pair[0] in result:
            raise _Refused(f"holds {name} with the dict key {pair[0]!r} twice")
        result[pair[0]] = pair[1]
    return result
