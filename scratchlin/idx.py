"""The IDX file format (MNIST, Fashion-MNIST, KMNIST, EMNIST), gzip-compressed or not.

Generic and dataset-agnostic: nothing here knows a file name or a checksum. An IDX file is a
4-byte magic number (two zero bytes, a type code, the number of dimensions ``ndim``), ``ndim``
big-endian uint32 sizes, then ``prod(sizes)`` items of the type in C order.

Reading is bounded by what the file can legitimately hold: a ``.gz`` is inflated only up to
the size its IDX header declares (plus one byte, to notice that there is more), so a small
file that would inflate to gigabytes (a gzip bomb) is refused in bounded memory and time.
"""
from __future__ import annotations

import math
import os
import zlib
from pathlib import Path

import numpy as np

from ._data_errors import GzipError, IDXFormatError

__all__ = [
    "IDX_DTYPES",
    "GzipError",
    "IDXFormatError",
    "gunzip",
    "idx_header",
    "parse_idx",
    "read_idx",
]

#: IDX type code -> dtype (big-endian as stored; parsed arrays come back in native order).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_MAX_DIMS = 32
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 24  # compressed bytes read from disk at a time (MNIST: one read)
_MAX_PIECE = 1 << 26  # decompressed bytes asked for at a time (no huge preallocation)


# --------------------------------------------------------------------------------------------
# The header
# --------------------------------------------------------------------------------------------

def idx_header(shape, dtype=np.uint8) -> bytes:
    """The IDX header for an array of ``shape`` and ``dtype`` (one of :data:`IDX_DTYPES`).

    ``idx_header(a.shape, a.dtype) + a.astype(a.dtype.newbyteorder(">")).tobytes()`` is the IDX
    file of ``a``. Raises ``ValueError`` for a dtype IDX cannot hold.
    """
    dtype = np.dtype(dtype)
    codes = [c for c, d in IDX_DTYPES.items() if d.kind == dtype.kind
             and d.itemsize == dtype.itemsize]
    if not codes or not 1 <= len(shape) <= _MAX_DIMS:
        raise ValueError(f"IDX holds 1 to {_MAX_DIMS} dimensions of uint8, int8, int16, int32, "
                         f"float32 or float64, got shape {tuple(shape)} of {dtype.name}")
    return (bytes([0, 0, codes[0], len(shape)])
            + b"".join(int(n).to_bytes(4, "big") for n in shape))


def _where(name) -> str:
    return f"{name}: " if name else ""


def _header_length(head, name) -> int:
    """The header length announced by the first 4 bytes (checked: magic, type, ndim)."""
    where = _where(name)
    n = len(head)
    if n < 4:
        raise IDXFormatError(f"{where}not an IDX file: {n} bytes, fewer than the 4-byte magic "
                             f"number")
    magic = int.from_bytes(head[:4], "big")
    code, ndim = head[2], head[3]
    if head[0] or head[1]:
        raise IDXFormatError(
            f"{where}wrong magic number 0x{magic:08X}: an IDX file starts with two zero bytes, "
            f"then a type code and the number of dimensions (MNIST images 0x00000803, labels "
            f"0x00000801)")
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} ({d.name})" for c, d in IDX_DTYPES.items())
        raise IDXFormatError(f"{where}unknown IDX type code 0x{code:02X} in magic number "
                             f"0x{magic:08X}; expected one of {known}")
    if not 1 <= ndim <= _MAX_DIMS:
        raise IDXFormatError(f"{where}magic number 0x{magic:08X} gives {ndim} dimensions, "
                             f"expected 1 to {_MAX_DIMS}")
    return 4 + 4 * ndim


def _parse_header(head, name):
    """``(dtype, shape, header_length, payload_length)`` from a complete header."""
    length = _header_length(head, name)
    if len(head) < length:
        raise IDXFormatError(f"{_where(name)}truncated header: {head[3]} dimensions need a "
                             f"{length}-byte header, the data has only {len(head)} bytes")
    shape = tuple(int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(head[3]))
    dtype = IDX_DTYPES[head[2]]
    return dtype, shape, length, math.prod(shape) * dtype.itemsize


def _payload_error(name, dtype, shape, header, expected, got) -> IDXFormatError:
    which = "shorter" if got < expected else "longer"
    return IDXFormatError(
        f"{_where(name)}payload is {which} than the header says: shape {shape} of {dtype.name} "
        f"needs {expected} bytes after the {header}-byte header, got {got}")


# --------------------------------------------------------------------------------------------
# Parsing bytes
# --------------------------------------------------------------------------------------------

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
    dtype, shape, header, expected = _parse_header(view[:4 + 4 * _MAX_DIMS], name)
    got = view.nbytes - header
    if got != expected:
        raise _payload_error(name, dtype, shape, header, expected, got)
    array = np.frombuffer(view, dtype=dtype, count=math.prod(shape), offset=header)
    array = array.reshape(shape)
    if dtype.itemsize > 1 and not dtype.isnative:
        array = array.astype(dtype.newbyteorder("="))
    return array


# --------------------------------------------------------------------------------------------
# Bounded gzip decompression
# --------------------------------------------------------------------------------------------

class _Inflater:
    """Decompress a gzip stream incrementally, never inflating more than is asked for.

    ``read(n)`` returns up to ``n`` decompressed bytes, fewer only at the end of the stream
    (after every member's CRC and length were checked by zlib).
    """

    def __init__(self, file, name):
        self._file, self._name = file, name
        self._zlib: zlib._Decompress | None = None  # the current member's decompressor
        self._input = b""  # compressed bytes not yet given to zlib
        self._compressed = 0  # compressed bytes read so far

    def _more_input(self) -> bytes:
        data = self._file.read(_CHUNK)
        self._compressed += len(data)
        return data

    def _start_member(self, data) -> zlib._Decompress:
        while len(data) < 2 and (more := self._more_input()):
            data += more
        if data[:2] != _GZIP_MAGIC:
            where = "" if self._zlib is None else " after the first gzip member"
            raise GzipError(f"{self._name}: corrupt gzip file: not gzip data{where} (starts "
                            f"with {data[:2]!r}, not the gzip magic b'\\x1f\\x8b')")
        self._zlib = zlib.decompressobj(31)
        self._input = data
        return self._zlib

    def read(self, n: int) -> bytearray:
        out = bytearray()
        while len(out) < n:
            member = self._zlib
            if member is None or member.eof:
                rest = b"" if member is None else member.unused_data
                rest = rest or self._more_input()
                if not rest:
                    if member is None:
                        raise GzipError(f"{self._name}: empty file (0 bytes), expected gzip "
                                        f"data")
                    break  # a clean end after a complete member
                member = self._start_member(rest)
            at_end = False
            if not self._input:
                self._input = self._more_input()
                at_end = not self._input
            try:
                # With no new input this still drains output zlib holds back (a long match).
                piece = member.decompress(self._input, min(n - len(out), _MAX_PIECE))
            except zlib.error as exc:
                raise GzipError(f"{self._name}: corrupt gzip file: {exc}") from None
            self._input = member.unconsumed_tail
            if at_end and not piece and not member.eof:
                raise GzipError(
                    f"{self._name}: truncated gzip file: the compressed data "
                    f"({self._compressed} bytes) ends before the end-of-stream marker "
                    f"(interrupted download or copy?)")
            out += piece
        return out


def _inflate_at_most(file, limit: int, name) -> bytearray:
    """All of the gzip stream in ``file`` if it inflates to at most ``limit`` bytes; else
    :class:`GzipError` after inflating only ``limit + 1`` bytes."""
    data = _Inflater(file, name).read(limit + 1)
    if len(data) > limit:
        raise GzipError(f"{name}: decompresses to more than {limit} bytes, more than it can "
                        f"legitimately hold; refused after inflating {limit + 1} bytes (a gzip "
                        f"bomb, or not the expected file)")
    return data


def gunzip(data, *, max_size: int, name=None) -> bytearray:
    """Decompress gzip ``data`` (one or more members), refusing output beyond ``max_size``.

    Parameters
    ----------
    data : bytes-like
    max_size : int
        The most decompressed bytes the data may legitimately hold; decompression stops after
        ``max_size + 1`` bytes, so memory and time stay bounded whatever the input.
    name : str, default=None
        What to call the data in error messages.

    Returns
    -------
    bytearray

    Raises
    ------
    GzipError
        Empty, truncated or corrupt data, a bad CRC, or more than ``max_size`` bytes.
    """
    import io

    return _inflate_at_most(io.BytesIO(_as_byte_view(data)), max_size, name or "gzip data")


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------

def _read_up_to(stream, n: int) -> bytearray:
    """Up to ``n`` bytes from ``stream``, in bounded pieces (``n`` may be astronomically
    large: it comes from a header)."""
    out = bytearray()
    while len(out) < n:
        piece = stream.read(min(n - len(out), _MAX_PIECE))
        if not piece:
            break
        out += piece
    return out


def read_idx(path) -> np.ndarray:
    """Read an IDX file, gzip-compressed (name ending in ``.gz``) or not.

    No checksum is checked (see :func:`scratchlin.datasets.verify_file`). The header is read
    first; then at most the payload it declares is read (a ``.gz`` is inflated only that far),
    so neither a huge file nor a gzip bomb can exhaust memory.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    numpy.ndarray
        As :func:`parse_idx` (writable).

    Raises
    ------
    GzipError
        A ``.gz`` file that is empty, truncated or corrupt.
    IDXFormatError
        Malformed IDX content, including more or less payload than the header declares.
        Both messages name ``path``.
    """
    path = Path(path)
    name = str(path)
    with open(path, "rb") as file:
        stream = _Inflater(file, name) if path.name.endswith(".gz") else file
        buffer = _read_up_to(stream, 4)
        length = _header_length(buffer, name)
        buffer += _read_up_to(stream, length - 4)
        dtype, shape, length, expected = _parse_header(buffer, name)
        if stream is file:  # the exact size is known without reading the payload
            got = os.fstat(file.fileno()).st_size - length
            if got != expected:
                raise _payload_error(name, dtype, shape, length, expected, got)
        buffer += _read_up_to(stream, expected + 1)
    got = len(buffer) - length
    if got > expected and stream is not file:
        raise IDXFormatError(
            f"{name}: payload is longer than the header says: shape {shape} of {dtype.name} "
            f"needs {expected} bytes after the {length}-byte header, and the file decompresses "
            f"to more (refused after inflating {expected + 1} bytes: a gzip bomb costs "
            f"nothing)")
    return parse_idx(buffer, name=name)
