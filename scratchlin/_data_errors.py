"""The errors of the data layer (IDX format, dataset files, downloads), in one hierarchy.

Every data problem is a :class:`DataFileError` (a ``ValueError``) whose message names the file
concerned; ``scratchlin.datasets.MNISTError`` is the same class under its first name.
"""
from __future__ import annotations

from pathlib import Path

__all__ = [
    "ChecksumError",
    "DataFileError",
    "DownloadError",
    "GzipError",
    "IDXFormatError",
    "MNISTNotFoundError",
]


class DataFileError(ValueError):
    """A problem with a data file (IDX, MNIST or another IDX dataset); the message names it."""


class ChecksumError(DataFileError):
    """A file's content differs from the published one (expected and actual sha256 given)."""


class IDXFormatError(DataFileError):
    """Bytes that are not a well-formed IDX file (magic, type code, dimensions, payload)."""


class GzipError(DataFileError):
    """A ``.gz`` file that cannot be decompressed: truncated, corrupt, or inflating to more
    than the file can legitimately hold (a gzip bomb)."""


class MNISTNotFoundError(DataFileError, FileNotFoundError):
    """A data file is missing and could not be fetched; says where it looked and how to fix.

    Attributes
    ----------
    folder : pathlib.Path or None
        The folder that was searched.
    origin : str or None
        How that folder was chosen: ``"root argument"``, ``"$SCRATCHLIN_DATA"`` (the
        dataset's environment variable) or ``"per-user cache"``.
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
