"""MNIST (and other IDX datasets): find, download, verify and load the files.

This module is the public face of the data layer; each stage lives in its own module:

- :mod:`scratchlin.idx`: the IDX format (generic, bounded gzip reading);
- ``_catalog``: the dataset table (names, sizes, checksums, mirrors) and where files are looked
  for: ``root`` if given, else ``$SCRATCHLIN_DATA``, else the per-user cache
  (``$XDG_CACHE_HOME/scratchlin/mnist``, default ``~/.cache/scratchlin/mnist``);
- ``_verify``: checking a file against its published sha256, in bounded memory and time;
- ``_download``: mirrors in order, a size cap, a deadline that holds, verified then renamed;
- ``_cache``: decoded arrays as memory-mappable ``.npy`` files in a private per-user folder,
  their content checked against the published sha256 on every load;
- :mod:`scratchlin.preprocessing`: ``flatten``, ``to_float``, ``iter_minibatches`` (re-exported
  here).

With ``verify=True`` (the default) the arrays returned are the published content, or an error.
Every problem with the data raises :class:`MNISTError` (a ``ValueError``) or a subclass, and
every message names the file concerned.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from . import _cache, _verify
from ._catalog import MNIST, DataFile, IDXDataset, find_file, locate
from ._data_errors import (
    ChecksumError,
    DataFileError,
    DownloadError,
    GzipError,
    IDXFormatError,
    MNISTNotFoundError,
)
from ._download import check_mirrors, check_progress, download
from ._validation import check_bool
from .idx import parse_idx, read_idx
from .preprocessing import RAW_PIXEL_SCALE, flatten, iter_minibatches, to_float

__all__ = [
    "DOWNLOAD_DEADLINE",
    "DOWNLOAD_TIMEOUT",
    "FILES",
    "MIRRORS",
    "MNIST",
    "RAW_PIXEL_SCALE",
    "SPLITS",
    "ChecksumError",
    "DataFile",
    "DataFileError",
    "DownloadError",
    "GzipError",
    "IDXDataset",
    "IDXFormatError",
    "MNISTError",
    "MNISTFile",
    "MNISTNotFoundError",
    "data_dir",
    "data_dir_and_origin",
    "download_idx_dataset",
    "download_mnist",
    "find_file",
    "flatten",
    "iter_minibatches",
    "load_idx_dataset",
    "load_mnist",
    "parse_idx",
    "read_idx",
    "to_float",
    "use_with_mnist_package",
    "verify_file",
]

# The logger _download and _cache write to by this name (messages about downloads and the cache).
_log = logging.getLogger(__name__)

#: Base URLs tried in order when an MNIST file is missing (every download is verified by
#: sha256, so a plain-http mirror is safe). Reassign it to use other mirrors.
MIRRORS = MNIST.mirrors
#: The four published MNIST files by ``.gz`` name, with sizes, md5 and sha256.
FILES = MNIST.by_name
#: ``split -> (images file name, labels file name)``.
SPLITS = MNIST.splits
#: The first name of :class:`DataFile`.
MNISTFile = DataFile
#: The first name of :class:`DataFileError`, the base of every data error.
MNISTError = DataFileError
#: Seconds any single network operation (connect, one read) may block.
DOWNLOAD_TIMEOUT = 30.0
#: Seconds one file's download from one mirror may take in total; it holds even against a
#: server that drips a byte at a time.
DOWNLOAD_DEADLINE = 600.0


# --------------------------------------------------------------------------------------------
# Where the files are
# --------------------------------------------------------------------------------------------

def data_dir_and_origin(root=None) -> tuple:
    """:func:`data_dir`, and a phrase saying how it was chosen (for messages and reports)."""
    where = locate(MNIST, root)
    return where.folder, where.how


def data_dir(root=None):
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
    return locate(MNIST, root).folder


def _mirrors_of(dataset: IDXDataset):
    return MIRRORS if dataset is MNIST else dataset.mirrors


def _download(info, where, mirrors, progress):
    return download(info, where, mirrors, timeout=DOWNLOAD_TIMEOUT,
                    deadline=DOWNLOAD_DEADLINE, progress=progress)


def _not_found(where, info: DataFile, why) -> MNISTNotFoundError:
    folder = where.folder
    fetch = ("download_mnist()" if where.label == "MNIST"
             else f"download_idx_dataset(<{where.label} dataset>)")
    names = ", ".join(info.names)
    state = "" if folder.is_dir() else " (the folder does not exist)"
    return MNISTNotFoundError(
        f"{where.label} file {folder / info.name} not found: looked in {folder}{state}, chosen "
        f"by {where.how}, for {names}; {why}. To fix: pass download=True (the download is "
        f"verified against the published checksum), or run "
        f"scratchlin.datasets.{fetch}, or put the {where.label} files in that folder, or set "
        f"{where.env_var} (or root=) to a folder that holds them.",
        folder=folder, origin=where.origin, missing=[info.name])


# --------------------------------------------------------------------------------------------
# Verifying
# --------------------------------------------------------------------------------------------

def verify_file(path, dataset: IDXDataset = MNIST) -> None:
    """Check that a file is the published file its name says.

    Reads at most the published size (a ``.gz`` is inflated at most one byte further), so a
    gzip bomb or a huge file is refused in bounded memory and time.

    Parameters
    ----------
    path : str or path-like
        A ``.gz`` file or a decompressed IDX file, named as published (e.g.
        ``train-images-idx3-ubyte.gz``, ``train-images-idx3-ubyte`` or
        ``train-images.idx3-ubyte``).
    dataset : IDXDataset, default=MNIST
        The table the name is looked up in.

    Raises
    ------
    ChecksumError
        The content differs from the published one (expected and actual sha256 in the message).
        A ``.gz`` whose bytes differ but whose decompressed content is the published one passes.
    MNISTError
        The name is not one of the dataset's file names.
    FileNotFoundError
        The file does not exist.
    """
    path = Path(path)
    try:
        info = dataset.by_any_name[path.name]
    except KeyError:
        raise DataFileError(f"{path}: not an {dataset.name.upper()} file name; expected one of "
                            f"{sorted(dataset.by_any_name)}") from None
    _verify.verified_content(path, info)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

def _check_file_array(path, info: DataFile, array: np.ndarray) -> None:
    if info.kind == "images":
        rows = info.shape[1:]
        ok = array.dtype == np.uint8 and array.ndim == 3 and array.shape[1:] == rows
        want = f"uint8 images of shape (N, {rows[0]}, {rows[1]}) (magic 0x00000803)"
    else:
        ok = array.dtype == np.uint8 and array.ndim == 1
        want = "uint8 labels of shape (N,) (magic 0x00000801)"
    if not ok:
        raise DataFileError(f"{path}: expected {want}, got {array.dtype.name} of shape "
                            f"{array.shape}")


def _check_pair(images, labels, images_path, labels_path, n_classes) -> None:
    if len(images) != len(labels):
        raise DataFileError(
            f"images and labels have different lengths: {images_path} holds {len(images)} "
            f"images, {labels_path} holds {len(labels)} labels")
    if labels.size and labels.max() >= n_classes:
        bad = np.flatnonzero(labels >= n_classes)
        raise DataFileError(
            f"{labels_path}: labels must be digits 0..{n_classes - 1}, found {bad.size} outside "
            f"that range, the first {int(labels[bad[0]])} at index {int(bad[0])}")


def _load_file(path, info: DataFile, verify: bool, cache) -> np.ndarray:
    use_cache = verify and cache is not False
    if use_cache:
        array = _cache.load(path, info, cache)
        if array is not None:
            return array
    if verify:
        array = parse_idx(_verify.verified_content(path, info), name=str(path))
    else:
        array = read_idx(path)
    _check_file_array(path, info, array)
    if use_cache:
        _cache.save(path, info, array, cache)
    return array if array.flags.writeable else array.copy()


def _check_cache(cache):
    if not isinstance(cache, (bool, np.bool_, str, os.PathLike)):
        raise TypeError(f"cache must be True, False or a folder path, got {cache!r}")
    return bool(cache) if isinstance(cache, np.bool_) else cache


def load_idx_dataset(dataset: IDXDataset, split="train", *, root=None, download=True,
                     verify=True, cache=True, progress=None):
    """Load one split of an IDX dataset from the table (see :func:`load_mnist`).

    ``root=None`` means ``$<dataset.env_var>``, else ``user_cache_root() / dataset.name``.
    """
    if not isinstance(split, str) or split not in dataset.splits:
        choices = " or ".join(repr(s) for s in dataset.splits)
        raise ValueError(f"split must be {choices}, got {split!r}")
    infos = [dataset.by_name[name] for name in dataset.splits[split]]
    download = check_bool(download, "download")
    verify = check_bool(verify, "verify")
    cache = _check_cache(cache)
    progress = check_progress(progress)
    where = locate(dataset, root)
    paths = []
    for info in infos:
        path = find_file(where.folder, info)
        if path is None:
            if not download:
                raise _not_found(where, info, "downloads are off (download=False)")
            path = _download(info, where, check_mirrors(None, _mirrors_of(dataset)), progress)
        paths.append(path)
    images = _load_file(paths[0], infos[0], verify, cache)
    labels = _load_file(paths[1], infos[1], verify, cache)
    _check_pair(images, labels, paths[0], paths[1], dataset.n_classes)
    return images, labels


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
        The arrays returned are the published content, or an error: every file is checked
        against the published sha256 before use, and so is every cached array. False accepts
        other data in the same format and file names; the structural checks (IDX header,
        shapes, labels 0..9, equal lengths) still apply, files are read only as far as their
        IDX headers declare, downloads are still verified, and the decoded cache is not used.
    cache : bool or str or path-like, default=True
        Keep decoded arrays as memory-mappable ``.npy`` files for fast reloads: True puts them
        in the per-user cache (``$XDG_CACHE_HOME/scratchlin/decoded/``), never next to the
        data; a path puts them there. The folder is used only if only you can write it. False
        turns the cache off.
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
        A file is missing and ``download=False`` (a ``FileNotFoundError``); its attributes
        ``folder``, ``origin`` and ``missing`` say where it looked and what is missing.
    DownloadError
        A file is missing and every mirror failed (``attempts``: the ``(url, reason)`` pairs).
    ChecksumError, GzipError, IDXFormatError, MNISTError
        A corrupt or malformed file; each message names it.
    """
    return load_idx_dataset(MNIST, split, root=root, download=download, verify=verify,
                            cache=cache, progress=progress)


# --------------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------------

def download_idx_dataset(dataset: IDXDataset, root=None, *, mirrors=None, force=False,
                         progress=None):
    """Make sure every file of ``dataset`` is present and genuine (see :func:`download_mnist`)."""
    force = check_bool(force, "force")
    mirrors = check_mirrors(mirrors, _mirrors_of(dataset))
    progress = check_progress(progress)
    where = locate(dataset, root)
    for info in dataset.files:
        path = None if force else find_file(where.folder, info)
        if path is None:
            _download(info, where, mirrors, progress)
            continue
        try:
            _verify.verified_content(path, info)
        except ChecksumError as exc:
            raise ChecksumError(f"{exc} Or call download_mnist(force=True) to replace it "
                                f"with a verified download.") from None
    return where.folder


def download_mnist(root=None, *, mirrors=None, force=False, progress=None):
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
        (``total_bytes`` is None when the server does not announce it): once at 0, then at
        most every 64 KiB as bytes arrive, and once at the end. Not called for files already
        present.

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
    return download_idx_dataset(MNIST, root, mirrors=mirrors, force=force, progress=progress)


def use_with_mnist_package(root=None, *, download=True):
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

    download = check_bool(download, "download")
    where = locate(MNIST, root)
    for info in MNIST.files:
        path = where.folder / info.name
        if path.is_file():
            _verify.verified_content(path, info)
        elif download:
            _download(info, where, check_mirrors(None, MIRRORS), None)
        else:
            raise _not_found(where, info, "the mnist package needs the .gz file and downloads "
                                          "are off (download=False)")
    mnist.temporary_dir = lambda: str(where.folder)
    mnist.datasets_url = where.folder.as_uri() + "/"
    return where.folder
