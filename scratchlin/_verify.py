"""Checking a dataset file against its published checksums, in bounded memory and time.

A file is read only as far as its published size allows: a ``.gz`` is inflated at most one
byte past the published decompressed size, a decompressed file of the wrong size is refused
from its size alone. So a gzip bomb or a huge file named like a dataset file costs nothing.
"""
from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

from . import idx
from ._catalog import DataFile
from ._data_errors import ChecksumError, GzipError

__all__ = ["checksum_error", "verified_content"]

_HASH_CHUNK = 1 << 24


def _file_sha256(file, size: int, largest: int):
    """The sha256 of an open file, or None when it is far larger than any file it could be
    (hashing gigabytes only to print a digest nobody needs)."""
    if size > 2 * largest + (1 << 20):
        return None
    file.seek(0)
    digest = hashlib.sha256()
    while chunk := file.read(_HASH_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def checksum_error(path, kind, expected_sha, expected_size, got_sha, got_size,
                   why="") -> ChecksumError:
    """The :class:`ChecksumError` for ``path`` (a file or a URL)."""
    got = got_sha if got_sha is not None else "(not hashed: far larger than the published file)"
    return ChecksumError(
        f"checksum mismatch for {path}: expected the published {kind} sha256 {expected_sha} "
        f"({expected_size} bytes), got {got} ({got_size} bytes){why}. The file is corrupt or "
        f"not the original and was not used: delete it (download=True fetches a verified copy) "
        f"or replace it with the published file.")


def _is_raw(info: DataFile, raw) -> bool:
    return len(raw) == info.raw_size and hashlib.sha256(raw).hexdigest() == info.raw_sha256


def verified_content(path: Path, info: DataFile):
    """The decompressed IDX bytes of the file at ``path``, after checking they are the
    published content of ``info``.

    A ``.gz`` is accepted when its bytes are the published ones, or, failing that, when its
    decompressed content is (a file recompressed by the user); a decompressed file when its
    bytes are the published decompressed content. Otherwise :class:`ChecksumError`.
    """
    path = Path(path)
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if path.name.endswith(".gz"):
            return _verified_gz(path, info, file, size)
        data = file.read(info.raw_size + 1) if size == info.raw_size else b""
        if not _is_raw(info, data):
            raise checksum_error(path, "decompressed", info.raw_sha256, info.raw_size,
                                 _file_sha256(file, size, info.raw_size), size)
        return data


def _verified_gz(path: Path, info: DataFile, file, size: int):
    if size == info.gz_size:
        data = file.read(info.gz_size + 1)
        if len(data) == info.gz_size and hashlib.sha256(data).hexdigest() == info.gz_sha256:
            # The published single-member file: inflate into a buffer of the known size, which
            # is faster than streaming (and safe: these bytes inflate to raw_size exactly).
            return zlib.decompress(data, 31, info.raw_size)
        file.seek(0)
    why = ""
    try:
        raw = idx._inflate_at_most(file, info.raw_size, str(path))
    except GzipError as exc:
        raw, why = None, f"; {str(exc).removeprefix(f'{path}: ')}"
    if raw is None or not _is_raw(info, raw):
        raise checksum_error(path, "gz", info.gz_sha256, info.gz_size,
                             _file_sha256(file, size, info.gz_size + info.raw_size), size, why)
    return raw
