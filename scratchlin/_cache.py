"""The decoded-array cache: verified arrays kept as memory-mappable ``.npy`` files.

Two rules make a cached array as trustworthy as a verified file:

- **Only a private folder is used.** By default the cache lives in the per-user cache
  (``user_cache_root()/decoded/<key of the data folder>``), never next to the data (a data
  folder is often shared, read-only or backed up, and 55 MB appearing in it unasked is a
  surprise). A folder is used only when it, every folder from the cache root down to it, and
  each cache file are owned by the current user, not writable by group or others, and not
  symlinks; folders are created with mode 0o700. So another user can neither plant arrays nor
  redirect the writes.
- **The content is checked on every load.** The sha256 of the cached array, behind its IDX
  header, must equal the published sha256 of the decompressed file (the same number that
  verifies the file). A cache edited by anyone, even the user, is ignored and rewritten.

A small JSON stamp records the source file's size, mtime, inode and device, so a changed
source is verified again (and refused if corrupt) rather than hidden behind an old cache.
Deleting the cache folder is always safe.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import time
from pathlib import Path

import numpy as np

from . import idx
from ._catalog import DataFile, user_cache_root
from ._files import atomic_write

__all__ = ["STALE_TEMPORARY_SECONDS", "holds_published_content", "load",
           "remove_stale_temporaries", "save"]

log = logging.getLogger("scratchlin.datasets")

_STAMP_FORMAT = 2


def _is_private(path: Path, *, folder: bool) -> bool:
    """Owned by the current user, not group/world-writable, the right kind, not a symlink."""
    st = os.lstat(path)
    right_kind = stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode)
    return right_kind and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _private_folder(folder: Path, top: Path, create: bool) -> bool:
    """Whether ``folder`` and every folder from ``top`` down to it are private (creating the
    missing ones, mode 0o700, when ``create``)."""
    chain = [folder, *folder.parents]
    chain = chain[: chain.index(top) + 1] if top in chain else [folder]
    for path in reversed(chain):
        try:
            private = _is_private(path, folder=True)
        except FileNotFoundError:
            if not create:
                return False
            try:
                path.mkdir(mode=0o700)
            except FileExistsError:
                pass
            private = _is_private(path, folder=True)
        if not private:
            log.warning("not using the decoded cache in %s: %s is not a private folder (it must "
                        "be owned by you, not writable by group or others, and not a symlink)",
                        folder, path)
            return False
    return True


def _folder(src: Path, cache, create: bool):
    """The private cache folder for ``src``, or None."""
    if cache is True:
        top = user_cache_root()
        key = hashlib.sha256(os.fsencode(src.parent)).hexdigest()[:16]
        folder = top / "decoded" / key
        if create:
            top.parent.mkdir(parents=True, exist_ok=True)
    else:
        folder = top = Path(cache).expanduser().absolute()
        if create:
            folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        return folder if _private_folder(folder, top, create) else None
    except OSError as exc:
        log.debug("no decoded cache for %s: %s", src, exc)
        return None


def _stamp(src: Path, info: DataFile, src_stat) -> dict:
    return {"format": _STAMP_FORMAT, "file": info.name, "raw_sha256": info.raw_sha256,
            "source": str(src),
            "source_stat": [src_stat.st_size, src_stat.st_mtime_ns, src_stat.st_ino,
                            src_stat.st_dev]}


def holds_published_content(array: np.ndarray, info: DataFile) -> bool:
    """Whether ``array`` is the published content of ``info``: its IDX header and bytes hash
    to the published sha256 of the decompressed file."""
    if array.dtype != np.uint8 or array.shape != info.shape or not array.flags.c_contiguous:
        return False
    digest = hashlib.sha256(idx.idx_header(info.shape, np.uint8))
    digest.update(array.reshape(-1).data)
    return digest.hexdigest() == info.raw_sha256


def load(src: Path, info: DataFile, cache):
    """The cached array for the unchanged, already verified ``src``, or None."""
    try:
        src = src.resolve()
        src_stat = src.stat()
        folder = _folder(src, cache, create=False)
        if folder is None:
            return None
        npy, stamp = folder / f"{info.stem}.npy", folder / f"{info.stem}.json"
        if not (_is_private(npy, folder=False) and _is_private(stamp, folder=False)):
            return None
        if json.loads(stamp.read_text()) != _stamp(src, info, src_stat):
            return None
        array = np.load(npy, mmap_mode="c", allow_pickle=False)
    except (OSError, ValueError, TypeError, RuntimeError):
        return None
    if not holds_published_content(array, info):
        log.warning("ignoring the decoded cache file %s: it does not hold the published "
                    "content of %s (it will be rewritten)", npy, info.name)
        return None
    log.debug("loaded %s from the decoded cache %s", src, npy)
    return np.asarray(array)


#: A temporary file older than this was left by an interrupted write (atomic_write's
#: ``.<name>.<random>.tmp``): the next write into the same cache folder removes it.
STALE_TEMPORARY_SECONDS = 3600.0


def remove_stale_temporaries(folder: Path, *, older_than=STALE_TEMPORARY_SECONDS) -> list:
    """Remove the leftover temporary files of interrupted cache writes in ``folder``."""
    removed: list = []
    now = time.time()
    for entry in os.scandir(folder):
        if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISREG(st.st_mode) and now - st.st_mtime > older_than:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _write_private(path: Path, write) -> None:
    atomic_write(path, write)
    os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) & ~0o022)


def save(src: Path, info: DataFile, array: np.ndarray, cache) -> None:
    """Best effort: keep the verified ``array`` of ``src`` in its private cache folder."""
    try:
        src = src.resolve()
        src_stat = src.stat()
        folder = _folder(src, cache, create=True)
        if folder is None:
            return
        remove_stale_temporaries(folder)
        npy = folder / f"{info.stem}.npy"
        _write_private(npy, lambda f: np.save(f, array, allow_pickle=False))
        stamp = json.dumps(_stamp(src, info, src_stat)).encode()
        _write_private(folder / f"{info.stem}.json", lambda f: f.write(stamp))
        log.debug("cached the decoded %s as %s", src, npy)
    except (OSError, RuntimeError) as exc:
        log.debug("cannot cache the decoded %s: %s", src, exc)
