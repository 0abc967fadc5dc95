"""MNIST: locate, download, verify and parse the IDX files; preprocessing helpers.

The four MNIST files are looked for in one folder (see :func:`data_dir`): ``root`` if given,
else ``$SCRATCHLIN_DATA``, else the per-user cache (``$XDG_CACHE_HOME/scratchlin/mnist``,
default ``~/.cache/scratchlin/mnist``). Each file may be the published ``.gz`` or its
decompressed IDX file. Every file is checked against the published sha256 before its content is
used; a missing file is downloaded (through the ``mnist`` package) from :data:`MIRRORS`, tried in
order, into a temporary file that is renamed into place only after its checksum matches.

Decoded arrays are cached as memory-mappable ``.npy`` files (folder ``decoded/`` next to the
data, or in the per-user cache when the data folder is read-only), so later loads take
milliseconds. Each ``.npy`` has a small JSON stamp recording the size, mtime and inode of the
verified source file it came from; any change of the source makes the stamp stale, and the
source is then verified and decoded again. Deleting ``decoded/`` is always safe.

Every problem with the data raises :class:`MNISTError` (a ``ValueError``) or one of its
subclasses, and every message names the file concerned.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import json
import logging
import math
import numbers
import os
import shutil
import tempfile
import threading
import time
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._files import atomic_write

__all__ = [
    "MIRRORS",
    "FILES",
    "SPLITS",
    "MNISTFile",
    "MNISTError",
    "ChecksumError",
    "IDXFormatError",
    "GzipError",
    "MNISTNotFoundError",
    "DownloadError",
    "data_dir",
    "data_dir_and_origin",
    "find_file",
    "load_mnist",
    "download_mnist",
    "verify_file",
    "read_idx",
    "parse_idx",
    "use_with_mnist_package",
    "flatten",
    "to_float",
    "iter_minibatches",
]

log = logging.getLogger(__name__)

#: Base URLs tried in order by :func:`download_mnist` (the original site is often unavailable;
#: every download is verified by sha256, so a plain-http mirror is safe to use).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: Seconds any single network operation (connect, one read) may block.
DOWNLOAD_TIMEOUT = 30.0
#: Seconds one file's download may take in total.
DOWNLOAD_DEADLINE = 600.0


# --------------------------------------------------------------------------------------------
# The published files
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MNISTFile:
    """One published MNIST file: its names, expected shape and checksums.

    ``gz_*`` describe the published ``.gz`` file, ``raw_*`` its decompressed IDX content.
    """

    name: str
    raw_names: tuple
    split: str
    kind: str
    shape: tuple
    gz_size: int
    gz_md5: str
    gz_sha256: str
    raw_size: int
    raw_md5: str
    raw_sha256: str

    @property
    def stem(self) -> str:
        """The file name without ``.gz``, e.g. ``train-images-idx3-ubyte``."""
        return self.name[: -len(".gz")]


_FILE_LIST = (
    MNISTFile(
        "train-images-idx3-ubyte.gz", ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
        "train", "images", (60000, 28, 28),
        9912422, "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        47040016, "6bbc9ace898e44ae57da46a324031adb",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    MNISTFile(
        "train-labels-idx1-ubyte.gz", ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
        "train", "labels", (60000,),
        28881, "d53e105ee54ea40749a09fcbcd1e9432",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        60008, "a25bea736e30d166cdddb491f175f624",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    MNISTFile(
        "t10k-images-idx3-ubyte.gz", ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
        "test", "images", (10000, 28, 28),
        1648877, "9fb629c4189551a2d022fa330f9573f3",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        7840016, "2646ac647ad5339dbf082846283269ea",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    MNISTFile(
        "t10k-labels-idx1-ubyte.gz", ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
        "test", "labels", (10000,),
        4542, "ec29112dd5afa0611ce80d1b7f02629c",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        10008, "27ae3e4e09519cfbb04c329615203637",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
)

#: The four published files by ``.gz`` name, with sizes, md5 and sha256 (gz and decompressed).
FILES = {f.name: f for f in _FILE_LIST}
#: ``split -> (images file name, labels file name)``.
SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_BY_ANY_NAME = {n: f for f in _FILE_LIST for n in (f.name,) + f.raw_names}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

class MNISTError(ValueError):
    """A problem with an MNIST data file; the message names the file."""


class ChecksumError(MNISTError):
    """A file's content differs from the published one (expected and actual sha256 given)."""


class IDXFormatError(MNISTError):
    """Bytes that are not a well-formed IDX file (magic, type code, dimensions, payload)."""


class GzipError(MNISTError):
    """A ``.gz`` file that cannot be decompressed (truncated or corrupt)."""


class MNISTNotFoundError(MNISTError, FileNotFoundError):
    """An MNIST file is missing and could not be fetched; says where it looked and how to fix.

    Attributes
    ----------
    folder : pathlib.Path
        The folder that was searched.
    origin : str
        How that folder was chosen: ``"root argument"``, ``"$SCRATCHLIN_DATA"`` or
        ``"per-user cache"``.
    missing : list of str
        The published names of the missing files (e.g. ``["t10k-images-idx3-ubyte.gz"]``).
    """

    def __init__(self, message, *, folder=None, origin=None, missing=()):
        super().__init__(message)
        self.folder = None if folder is None else Path(folder)
        self.origin = origin
        self.missing = list(missing)


class DownloadError(MNISTNotFoundError):
    """Every mirror failed for a missing file; lists each mirror and its error.

    Attributes
    ----------
    folder, origin, missing
        As :class:`MNISTNotFoundError`.
    attempts : list of (str, str)
        ``(url, reason)`` for each mirror tried, in order; empty when no mirror could be tried
        (e.g. the folder is read-only).
    """

    def __init__(self, message, *, folder=None, origin=None, missing=(), attempts=()):
        super().__init__(message, folder=folder, origin=origin, missing=missing)
        self.attempts = list(attempts)


# --------------------------------------------------------------------------------------------
# Where the files are
# --------------------------------------------------------------------------------------------

def _user_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "scratchlin" / "mnist"


@dataclass(frozen=True)
class _Location:
    folder: Path
    origin: str  # "root argument", "$SCRATCHLIN_DATA" or "per-user cache"
    how: str     # the phrase used in messages


def _locate(root) -> _Location:
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a str, a path or None, got {type(root).__name__}")
        return _Location(Path(root).expanduser().absolute(), "root argument",
                         f"root={os.fspath(root)!r}")
    env = os.environ.get("SCRATCHLIN_DATA", "")
    if env:
        return _Location(Path(env).expanduser().absolute(), "$SCRATCHLIN_DATA",
                         "$SCRATCHLIN_DATA")
    return _Location(_user_cache_dir().absolute(), "per-user cache",
                     "the per-user cache (root=None, $SCRATCHLIN_DATA unset)")


def data_dir_and_origin(root=None) -> tuple[Path, str]:
    """:func:`data_dir`, and a phrase saying how it was chosen (for messages and reports)."""
    where = _locate(root)
    return where.folder, where.how


def data_dir(root=None) -> Path:
    """The folder MNIST files are read from and downloaded into.

    Parameters
    ----------
    root : str or path-like or None, default=None
        Explicit folder. When None, ``$SCRATCHLIN_DATA`` is used if set and non-empty, else
        ``$XDG_CACHE_HOME/scratchlin/mnist`` (``~/.cache/scratchlin/mnist`` when
        ``XDG_CACHE_HOME`` is unset or relative).

    Returns
    -------
    pathlib.Path
        An absolute path; the folder is not created and may not exist yet.
    """
    return data_dir_and_origin(root)[0]


def _split_infos(split):
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return tuple(FILES[name] for name in SPLITS[split])


def find_file(folder: Path, info: MNISTFile):
    """The first existing file for ``info`` in ``folder`` (the ``.gz``, then the decompressed
    names), or None."""
    for name in (info.name,) + info.raw_names:
        path = folder / name
        if path.is_file():
            return path
    return None


def _not_found(where: _Location, info, why) -> MNISTNotFoundError:
    folder = where.folder
    names = ", ".join((info.name,) + info.raw_names)
    state = "" if folder.is_dir() else " (the folder does not exist)"
    return MNISTNotFoundError(
        f"MNIST file {folder / info.name} not found: looked in {folder}{state}, chosen by "
        f"{where.how}, for {names}; {why}. To fix: pass download=True (the download is verified "
        f"against the published checksum), or run scratchlin.datasets.download_mnist(), or put "
        f"the MNIST files in that folder, or set SCRATCHLIN_DATA (or root=) to a folder that "
        f"holds them.", folder=folder, origin=where.origin, missing=[info.name])


# --------------------------------------------------------------------------------------------
# Reading, decompressing and verifying bytes
# --------------------------------------------------------------------------------------------

def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _gunzip(path, data: bytes) -> bytes:
    if not data:
        raise GzipError(f"{path}: empty file (0 bytes), expected gzip data")
    try:
        return gzip.decompress(data)
    except EOFError:
        raise GzipError(
            f"{path}: truncated gzip file: the compressed data ({len(data)} bytes) ends before "
            f"the end-of-stream marker (interrupted download or copy?)") from None
    except (OSError, zlib.error, ValueError) as exc:
        raise GzipError(f"{path}: corrupt gzip file: {exc}") from None


def _checksum_error(path, kind, expected_sha, expected_size, data) -> ChecksumError:
    got = hashlib.sha256(data).hexdigest()
    return ChecksumError(
        f"checksum mismatch for {path}: expected the published {kind} sha256 {expected_sha} "
        f"({expected_size} bytes), got {got} ({len(data)} bytes). The file is corrupt or not "
        f"the original and was not used: delete it (download=True fetches a verified copy) or "
        f"replace it with the published file.")


def _verified_content(path: Path, info: MNISTFile, data: bytes) -> bytes:
    """The decompressed IDX bytes of ``data``, after checking it is the published content.

    A ``.gz`` is accepted when its bytes are the published ones, or, failing that, when its
    decompressed content is (a file recompressed by the user); a raw file when its bytes are the
    published decompressed content. Otherwise :class:`ChecksumError`.
    """
    if path.name.endswith(".gz"):
        if len(data) == info.gz_size and hashlib.sha256(data).hexdigest() == info.gz_sha256:
            # The published single-member file: inflate into a buffer of the known size, which
            # is much faster than letting the output grow (gzip.decompress).
            return zlib.decompress(data, 31, info.raw_size)
        try:
            raw = _gunzip(path, data)
        except GzipError:
            raw = None
        if raw is None or not _is_raw(info, raw):
            raise _checksum_error(path, "gz", info.gz_sha256, info.gz_size, data)
        return raw
    if not _is_raw(info, data):
        raise _checksum_error(path, "decompressed", info.raw_sha256, info.raw_size, data)
    return data


def _is_raw(info: MNISTFile, raw: bytes) -> bool:
    return len(raw) == info.raw_size and hashlib.sha256(raw).hexdigest() == info.raw_sha256


def _info_for(path: Path) -> MNISTFile:
    try:
        return _BY_ANY_NAME[path.name]
    except KeyError:
        raise MNISTError(
            f"{path}: not an MNIST file name; expected one of {sorted(_BY_ANY_NAME)}") from None


def verify_file(path) -> None:
    """Check that a file is the published MNIST file its name says.

    Parameters
    ----------
    path : str or path-like
        A ``.gz`` file or a decompressed IDX file, named as published (e.g.
        ``train-images-idx3-ubyte.gz``, ``train-images-idx3-ubyte`` or
        ``train-images.idx3-ubyte``).

    Raises
    ------
    ChecksumError
        The content differs from the published one (expected and actual sha256 in the message).
        A ``.gz`` whose bytes differ but whose decompressed content is the published one passes.
    MNISTError
        The name is not one of the MNIST file names.
    FileNotFoundError
        The file does not exist.
    """
    path = Path(path)
    _verified_content(path, _info_for(path), _read_bytes(path))


# --------------------------------------------------------------------------------------------
# IDX parsing
# --------------------------------------------------------------------------------------------

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_MAX_DIMS = 32


def _as_byte_view(data) -> memoryview:
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"data must be a bytes-like object (bytes, bytearray, memoryview), "
                        f"got {type(data).__name__}") from None
    if not view.c_contiguous:
        raise TypeError("data must be a C-contiguous bytes-like object, got a strided buffer")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def parse_idx(data, *, name=None) -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file.

    The header is checked in full: two zero bytes, a known type code (0x08 uint8, 0x09 int8,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), 1 to 32 dimensions, a complete list of
    sizes, and a payload of exactly ``prod(sizes) * itemsize`` bytes.

    Parameters
    ----------
    data : bytes-like
        The whole file content.
    name : str, default=None
        What to call the data in error messages (e.g. its path).

    Returns
    -------
    numpy.ndarray of shape ``sizes``
        For 1-byte types a zero-copy view of ``data`` (read-only when ``data`` is ``bytes``);
        multi-byte types are converted to native byte order (a new array).

    Raises
    ------
    IDXFormatError
        Any header or length problem (never another exception for bytes-like input).
    TypeError
        ``data`` is not bytes-like.
    """
    view = _as_byte_view(data)
    where = f"{name}: " if name else ""
    n = view.nbytes
    if n < 4:
        raise IDXFormatError(f"{where}not an IDX file: {n} bytes, fewer than the 4-byte magic "
                             f"number")
    magic = int.from_bytes(view[:4], "big")
    code, ndim = view[2], view[3]
    if view[0] or view[1]:
        raise IDXFormatError(
            f"{where}wrong magic number 0x{magic:08X}: an IDX file starts with two zero bytes, "
            f"then a type code and the number of dimensions (MNIST images 0x00000803, labels "
            f"0x00000801)")
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} ({d.name})" for c, d in _IDX_DTYPES.items())
        raise IDXFormatError(f"{where}unknown IDX type code 0x{code:02X} in magic number "
                             f"0x{magic:08X}; expected one of {known}")
    if not 1 <= ndim <= _IDX_MAX_DIMS:
        raise IDXFormatError(f"{where}magic number 0x{magic:08X} gives {ndim} dimensions, "
                             f"expected 1 to {_IDX_MAX_DIMS}")
    header = 4 + 4 * ndim
    if n < header:
        raise IDXFormatError(f"{where}truncated header: {ndim} dimensions need a {header}-byte "
                             f"header, the data has only {n} bytes")
    shape = tuple(int.from_bytes(view[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[code]
    expected, got = math.prod(shape) * dtype.itemsize, n - header
    if got != expected:
        which = "shorter" if got < expected else "longer"
        raise IDXFormatError(
            f"{where}payload is {which} than the header says: shape {shape} of {dtype.name} "
            f"needs {expected} bytes after the {header}-byte header, got {got}")
    array = np.frombuffer(view, dtype=dtype, count=math.prod(shape), offset=header)
    array = array.reshape(shape)
    if dtype.itemsize > 1 and not dtype.isnative:
        array = array.astype(dtype.newbyteorder("="))
    return array


def read_idx(path) -> np.ndarray:
    """Read an IDX file, gzip-compressed (name ending in ``.gz``) or not.

    No checksum is checked (see :func:`verify_file`, :func:`load_mnist`).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    numpy.ndarray
        As :func:`parse_idx` (read-only for 1-byte types).

    Raises
    ------
    GzipError
        A ``.gz`` file that is truncated or corrupt.
    IDXFormatError
        Malformed IDX content. Both messages name ``path``.
    """
    path = Path(path)
    data = _read_bytes(path)
    if path.name.endswith(".gz"):
        data = _gunzip(path, data)
    return parse_idx(data, name=str(path))


# --------------------------------------------------------------------------------------------
# Decoded-array cache
# --------------------------------------------------------------------------------------------

_STAMP_FORMAT = 1


def _stat_key(st) -> list:
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


def _looks_writable(folder: Path) -> bool:
    """False for folders whose permission bits say read-only, even for root."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return bool(mode & 0o222) and os.access(folder, os.W_OK)


def _decoded_dirs(src: Path, cache) -> list:
    if cache is not True:
        return [Path(cache).expanduser()]
    dirs = [src.parent / "decoded"] if _looks_writable(src.parent) else []
    key = hashlib.sha256(os.fsencode(src.parent)).hexdigest()[:16]
    return dirs + [_user_cache_dir() / "decoded" / key]


def _stamp(src: Path, info: MNISTFile, src_stat, npy_stat) -> dict:
    return {"format": _STAMP_FORMAT, "file": info.name, "raw_sha256": info.raw_sha256,
            "source": str(src), "source_stat": _stat_key(src_stat),
            "npy_stat": _stat_key(npy_stat)[:2]}


def _load_decoded(src: Path, info: MNISTFile, cache):
    """The cached array for a verified, unchanged ``src``, or None."""
    try:
        src = src.resolve()
        src_stat = src.stat()
        dirs = _decoded_dirs(src, cache)
    except (OSError, RuntimeError):
        return None
    for folder in dirs:
        npy = folder / f"{info.stem}.npy"
        try:
            stamp = json.loads((folder / f"{info.stem}.json").read_text())
            if stamp != _stamp(src, info, src_stat, npy.stat()):
                continue
            array = np.load(npy, mmap_mode="c", allow_pickle=False)
        except (OSError, ValueError, TypeError):
            continue
        if array.dtype == np.uint8 and array.shape == info.shape:
            log.debug("loaded %s from the decoded cache %s", src, npy)
            return np.asarray(array)
    return None


def _save_decoded(src: Path, info: MNISTFile, array: np.ndarray, cache) -> None:
    """Best effort: write ``array`` and its stamp to the first folder that accepts them."""
    try:
        src = src.resolve()
        src_stat = src.stat()
        dirs = _decoded_dirs(src, cache)
    except (OSError, RuntimeError):
        return
    for folder in dirs:
        npy = folder / f"{info.stem}.npy"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write(npy, lambda f: np.save(f, array, allow_pickle=False))
            stamp = json.dumps(_stamp(src, info, src_stat, npy.stat())).encode()
            atomic_write(folder / f"{info.stem}.json", lambda f: f.write(stamp))
            log.debug("cached the decoded %s as %s", src, npy)
            return
        except OSError as exc:
            log.debug("cannot cache the decoded %s in %s: %s", src, folder, exc)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

def _check_file_array(path, info: MNISTFile, array: np.ndarray) -> None:
    if info.kind == "images":
        ok = array.dtype == np.uint8 and array.ndim == 3 and array.shape[1:] == (28, 28)
        want = "uint8 images of shape (N, 28, 28) (magic 0x00000803)"
    else:
        ok = array.dtype == np.uint8 and array.ndim == 1
        want = "uint8 labels of shape (N,) (magic 0x00000801)"
    if not ok:
        raise MNISTError(f"{path}: expected {want}, got {array.dtype.name} of shape "
                         f"{array.shape}")


def _check_pair(images, labels, images_path, labels_path) -> None:
    if len(images) != len(labels):
        raise MNISTError(
            f"images and labels have different lengths: {images_path} holds {len(images)} "
            f"images, {labels_path} holds {len(labels)} labels")
    if labels.size and labels.max() > 9:
        bad = np.flatnonzero(labels > 9)
        raise MNISTError(
            f"{labels_path}: labels must be digits 0..9, found {bad.size} outside that range, "
            f"the first {int(labels[bad[0]])} at index {int(bad[0])}")


def _load_file(path: Path, info: MNISTFile, verify: bool, cache) -> np.ndarray:
    use_cache = verify and cache is not False
    if use_cache:
        array = _load_decoded(path, info, cache)
        if array is not None:
            return array
    data = _read_bytes(path)
    if verify:
        raw = _verified_content(path, info, data)
    elif path.name.endswith(".gz"):
        raw = _gunzip(path, data)
    else:
        raw = data
    array = parse_idx(raw, name=str(path))
    _check_file_array(path, info, array)
    if use_cache:
        _save_decoded(path, info, array, cache)
    return array if array.flags.writeable else array.copy()


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def load_mnist(split="train", *, root=None, download=True, verify=True, cache=True,
               progress=None):
    """Load one MNIST split as uint8 arrays.

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        60000 training or 10000 test images.
    root : str or path-like or None, default=None
        Folder holding the files; None means ``$SCRATCHLIN_DATA``, else the per-user cache
        (see :func:`data_dir`). Each file may be the ``.gz`` or its decompressed IDX file.
    download : bool, default=True
        Fetch missing files from :data:`MIRRORS` into that folder (verified, atomic). With
        False a missing file raises :class:`MNISTNotFoundError`. Files already present never
        cause network access.
    verify : bool, default=True
        Check every file against the published sha256 before using it. False accepts other
        data in the same format and file names (e.g. Fashion-MNIST); the structural checks
        (IDX header, shapes, labels 0..9, equal lengths) still apply, downloads are still
        verified, and the decoded cache is not used.
    cache : bool or str or path-like, default=True
        Keep decoded arrays as memory-mappable ``.npy`` files for fast reloads: True puts them
        in ``decoded/`` next to the data, or in the per-user cache when the data folder is
        read-only; a path puts them there; False turns the cache off.
    progress : callable or None, default=None
        Passed to the download of a missing file: see :func:`download_mnist`.

    Returns
    -------
    images : numpy.ndarray of uint8, shape (N, 28, 28)
    labels : numpy.ndarray of uint8, shape (N,)
        Writable arrays. From the decoded cache they are copy-on-write memory maps (writes stay
        in memory, the cache file is never changed).

    Raises
    ------
    MNISTNotFoundError
        A file is missing and ``download=False`` (a ``FileNotFoundError``).
    DownloadError
        A file is missing and every mirror failed.
    ChecksumError, GzipError, IDXFormatError, MNISTError
        A corrupt or malformed file; each message names it.
    """
    infos = _split_infos(split)
    download = _check_flag(download, "download")
    verify = _check_flag(verify, "verify")
    if not isinstance(cache, (bool, np.bool_, str, os.PathLike)):
        raise TypeError(f"cache must be True, False or a folder path, got {cache!r}")
    if isinstance(cache, np.bool_):
        cache = bool(cache)
    progress = _check_progress(progress)
    where = _locate(root)
    paths = []
    for info in infos:
        path = find_file(where.folder, info)
        if path is None:
            if not download:
                raise _not_found(where, info, "downloads are off (download=False)")
            path = _download(info, where, None, progress)
        paths.append(path)
    images = _load_file(paths[0], infos[0], verify, cache)
    labels = _load_file(paths[1], infos[1], verify, cache)
    _check_pair(images, labels, paths[0], paths[1])
    return images, labels


# --------------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------------

_MNIST_GLOBALS_LOCK = threading.Lock()


def _check_mirrors(mirrors) -> tuple:
    if mirrors is None:
        mirrors = MIRRORS
    if isinstance(mirrors, str) or not hasattr(mirrors, "__iter__"):
        raise TypeError(f"mirrors must be a sequence of base URLs, got {mirrors!r}")
    mirrors = tuple(mirrors)
    if not mirrors:
        raise ValueError("mirrors must hold at least one base URL, got an empty sequence")
    for url in mirrors:
        if not isinstance(url, str) or "://" not in url:
            raise ValueError(f"each mirror must be a base URL such as "
                             f"'https://host/mnist/', got {url!r}")
    return tuple(u if u.endswith("/") else u + "/" for u in mirrors)


def _check_progress(progress):
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable (file_name, done_bytes, total_bytes) or "
                        f"None, got {type(progress).__name__} {progress!r}")
    return progress


def _file_progress(progress, name):
    """``progress`` bound to one file name, as ``report(done, total)``; None stays None."""
    if progress is None:
        return None
    return lambda done, total: progress(name, done, total)


_PROGRESS_EVERY = 1 << 16


def _urlretrieve(url, filename, *, max_bytes, progress=None):
    """``urlretrieve`` with bounded timeouts, a size cap and an interrupted-transfer check."""
    deadline = time.monotonic() + DOWNLOAD_DEADLINE
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, \
            open(filename, "wb") as out:
        announced = response.headers.get("Content-Length")
        announced = int(announced) if announced and announced.strip().isdigit() else None
        if announced is not None and announced > max_bytes:
            raise MNISTError(f"{url}: the server announces {announced} bytes, more than the "
                             f"{max_bytes} of the published file")
        received = reported = 0
        if progress is not None:
            progress(0, announced)
        while chunk := response.read(1 << 20):
            received += len(chunk)
            if received > max_bytes:
                raise MNISTError(f"{url}: the server sent more than the {max_bytes} bytes of "
                                 f"the published file")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}: download took longer than {DOWNLOAD_DEADLINE} s")
            out.write(chunk)
            if progress is not None and received - reported >= _PROGRESS_EVERY:
                progress(received, announced)
                reported = received
        if progress is not None and received != reported:
            progress(received, announced)
        if announced is not None and received < announced:
            raise MNISTError(f"{url}: download interrupted after {received} of {announced} "
                             f"bytes")
        out.flush()
        os.fsync(out.fileno())
    return filename, None


def _fetch_with_mnist(base: str, info: MNISTFile, target_dir: str, progress=None) -> Path:
    """One download attempt through ``mnist.download_file`` from mirror ``base``."""
    import mnist

    with _MNIST_GLOBALS_LOCK:
        saved = mnist.datasets_url, mnist.urlretrieve
        mnist.datasets_url = base
        mnist.urlretrieve = functools.partial(_urlretrieve, max_bytes=info.gz_size,
                                              progress=_file_progress(progress, info.name))
        try:
            return Path(mnist.download_file(info.name, target_dir=target_dir, force=True))
        finally:
            mnist.datasets_url, mnist.urlretrieve = saved


def _download(info: MNISTFile, where: _Location, mirrors, progress=None) -> Path:
    """Fetch ``info``'s .gz into ``where.folder``: try each mirror, verify, then rename."""
    mirrors = _check_mirrors(mirrors)
    folder, how = where.folder, where.how
    target = folder / info.name
    details = dict(folder=folder, origin=where.origin, missing=[info.name])
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(
            f"MNIST file {target} is missing and cannot be downloaded: cannot create the folder "
            f"{folder} (chosen by {how}): {exc}. Set SCRATCHLIN_DATA (or root=) to a writable "
            f"folder, or one that holds the files.", **details) from None
    if not _looks_writable(folder):
        raise DownloadError(
            f"MNIST file {target} is missing and cannot be downloaded: the folder {folder} "
            f"(chosen by {how}) is read-only. Set SCRATCHLIN_DATA (or root=) to a writable "
            f"folder, or one that holds the files.", **details)
    errors, attempts = [], []
    for base in mirrors:
        url = base + info.name
        try:
            part_dir = tempfile.mkdtemp(prefix=f".{info.name}.", suffix=".part", dir=folder)
        except OSError as exc:
            raise DownloadError(f"MNIST file {target} is missing and cannot be downloaded: "
                                f"cannot write into {folder}: {exc}", attempts=attempts,
                                **details) from None
        try:
            log.info("downloading %s", url)
            part = _fetch_with_mnist(base, info, part_dir, progress)
            data = _read_bytes(part)
            if len(data) != info.gz_size or hashlib.sha256(data).hexdigest() != info.gz_sha256:
                raise _checksum_error(url, "gz", info.gz_sha256, info.gz_size, data)
            os.replace(part, target)
            log.info("downloaded and verified %s", target)
            return target
        except (OSError, http.client.HTTPException, ValueError) as exc:
            errors.append(f"  {url}: {type(exc).__name__}: {exc}")
            attempts.append((url, f"{type(exc).__name__}: {exc}"))
            log.info("mirror failed: %s: %s", url, exc)
        finally:
            shutil.rmtree(part_dir, ignore_errors=True)
    raise DownloadError(
        f"MNIST file {target} is missing (looked in {folder}, chosen by {how}) and could not be "
        f"downloaded; every mirror failed:\n" + "\n".join(errors) + "\nNo file was written. "
        f"Check the network, or copy the published file into {folder}, or set SCRATCHLIN_DATA "
        f"(or root=) to a folder that holds the four MNIST files.", attempts=attempts, **details)


def download_mnist(root=None, *, mirrors=None, force=False, progress=None) -> Path:
    """Make sure all four MNIST files are present and genuine, downloading what is missing.

    Parameters
    ----------
    root : str or path-like or None, default=None
        Target folder (see :func:`data_dir`); created if needed.
    mirrors : sequence of str or None, default=None
        Base URLs tried in order (``base + file name``); None means :data:`MIRRORS`.
    force : bool, default=False
        Download even files that are present, replacing them only once the new copy is verified.
    progress : callable or None, default=None
        Called as ``progress(file_name, done_bytes, total_bytes)`` while a file downloads
        (``total_bytes`` is None when the server does not announce it), at most every 64 KiB
        and once at the end. Not called for files already present.

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    ChecksumError
        A file already present is not genuine (use ``force=True`` to replace it).
    DownloadError
        Every mirror failed for a file; nothing partial is left behind.
    """
    force = _check_flag(force, "force")
    mirrors = _check_mirrors(mirrors)
    progress = _check_progress(progress)
    where = _locate(root)
    folder = where.folder
    for info in _FILE_LIST:
        path = None if force else find_file(folder, info)
        if path is None:
            _download(info, where, mirrors, progress)
        else:
            try:
                verify_file(path)
            except ChecksumError as exc:
                raise ChecksumError(f"{exc} Or call download_mnist(force=True) to replace it "
                                    f"with a verified download.") from None
    return folder


def use_with_mnist_package(root=None, *, download=True) -> Path:
    """Point the ``mnist`` package at the verified folder, for the seed notebook's style.

    Afterwards ``mnist.train_images()``, ``mnist.train_labels()``, ``mnist.test_images()`` and
    ``mnist.test_labels()`` read the verified ``.gz`` files in that folder, with no network access.
    Sets the module globals ``mnist.temporary_dir`` and ``mnist.datasets_url`` (a ``file://``
    URL of the folder).

    Parameters
    ----------
    root : str or path-like or None, default=None
        The folder (see :func:`data_dir`).
    download : bool, default=True
        Download missing ``.gz`` files first (the ``mnist`` package reads only the ``.gz``).

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    MNISTNotFoundError, DownloadError, ChecksumError
        As :func:`load_mnist`.
    """
    import mnist

    download = _check_flag(download, "download")
    where = _locate(root)
    folder = where.folder
    for info in _FILE_LIST:
        path = folder / info.name
        if path.is_file():
            verify_file(path)
        elif download:
            _download(info, where, None)
        else:
            raise _not_found(where, info, "the mnist package needs the .gz file and "
                                                "downloads are off (download=False)")
    mnist.temporary_dir = lambda: str(folder)
    mnist.datasets_url = folder.as_uri() + "/"
    return folder


# --------------------------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------------------------

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


_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


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
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float16, float32 or float64, got {dtype!r}") from None
    if dt not in _FLOAT_DTYPES:
        raise TypeError(f"dtype must be float16, float32 or float64, got {dt.name}")
    x = np.asarray(images)
    if x.dtype.kind in "ui":
        if x.dtype != np.uint8 and x.size and (x.min() < 0 or x.max() > 255):
            raise ValueError(f"images must hold pixel values 0..255, got values from {x.min()} "
                             f"to {x.max()} (dtype {x.dtype.name})")
        out = x.astype(dt)
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


def _as_generator(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None, a non-negative int or a numpy.random.Generator, "
                        f"got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return np.random.default_rng(int(seed))


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
    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batch_size must be an int, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    shuffle = _check_flag(shuffle, "shuffle")
    drop_last = _check_flag(drop_last, "drop_last")
    rng = _as_generator(seed)
    order = rng.permutation(X.shape[0]) if shuffle else None
    return _batches(X, y, order, int(batch_size), drop_last)


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
