"""Downloading dataset files: mirrors in order, a size cap, a deadline that holds, verified
before being renamed into place, temporary folders cleaned up.

The deadline holds against a server that drips a byte at a time: a watchdog shuts the
connection's socket down when the deadline passes, which ends any read in progress (headers or
body), and the body is read in small pieces (``read1``) so progress and the size cap are
checked as bytes arrive.
"""
from __future__ import annotations

import functools
import hashlib
import http.client
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from ._catalog import DataFile, Location, user_cache_root
from ._data_errors import DataFileError, DownloadError
from ._verify import checksum_error

__all__ = ["STALE_PART_SECONDS", "check_mirrors", "check_progress", "download",
           "remove_stale_parts"]

log = logging.getLogger("scratchlin.datasets")

#: A ``.part`` folder older than this was left by an interrupted download (a live one ends
#: within its deadline, 600 s by default): the next download into that folder removes it.
STALE_PART_SECONDS = 3600.0

_READ_SIZE = 1 << 16
_PROGRESS_EVERY = 1 << 16


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------

def check_mirrors(mirrors, default) -> tuple:
    """``mirrors`` (None: ``default``) as a tuple of base URLs ending in ``/``."""
    if mirrors is None:
        mirrors = default
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


def check_progress(progress):
    """``progress`` after checking it is None or a callable."""
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable (file_name, done_bytes, total_bytes) or "
                        f"None, got {type(progress).__name__} {progress!r}")
    return progress


# --------------------------------------------------------------------------------------------
# One HTTP(S) transfer under a deadline
# --------------------------------------------------------------------------------------------

class _Watchdog:
    """Shuts down every socket it watches once ``seconds`` have passed."""

    def __init__(self, seconds: float):
        self.expired = False
        self._sockets: list = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock) -> None:
        try:  # the plain-socket shutdown, also under TLS: it wakes a blocked recv at once
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass

    def cancel(self) -> None:
        self._timer.cancel()


class _WatchedHTTP(http.client.HTTPConnection):
    """An HTTP connection that hands its socket to a watchdog once connected."""

    def __init__(self, *args, watchdog, **kwargs):
        super().__init__(*args, **kwargs)
        self._watchdog = watchdog

    def connect(self):
        super().connect()
        self._watchdog.watch(self.sock)


class _WatchedHTTPS(_WatchedHTTP, http.client.HTTPSConnection):
    """The same over TLS: ``super().connect()`` is HTTPSConnection's, so the watchdog gets
    the TLS socket."""


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog):
        super().__init__()
        self._watchdog = watchdog

    def http_open(self, req):
        return self.do_open(functools.partial(_WatchedHTTP, watchdog=self._watchdog), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog, context=None):
        super().__init__(context=context)
        self._watchdog, self._tls_context = watchdog, context

    def https_open(self, req):
        # context None: http.client's default context (certificates and host names verified),
        # the one urllib's own handler uses; kept here rather than read from its private _context.
        return self.do_open(functools.partial(_WatchedHTTPS, watchdog=self._watchdog), req,
                            context=self._tls_context)


def _fetch(url: str, target: Path, *, max_bytes: int, timeout: float, deadline: float,
           progress=None) -> None:
    """Write the resource at ``url`` to ``target``: at most ``max_bytes``, within ``deadline``
    seconds in all, each network wait at most ``timeout`` seconds."""
    started = time.monotonic()
    watchdog = _Watchdog(deadline)
    opener = urllib.request.build_opener(_HTTPHandler(watchdog), _HTTPSHandler(watchdog))
    try:
        with opener.open(url, timeout=min(timeout, deadline)) as response, \
                open(target, "wb") as out:
            _copy_body(url, response, out, max_bytes, progress, watchdog, deadline)
            out.flush()
            os.fsync(out.fileno())
    except (OSError, http.client.HTTPException):
        if watchdog.expired or time.monotonic() - started >= deadline:
            raise _late(url, deadline) from None
        raise
    finally:
        watchdog.cancel()


def _late(url, deadline) -> TimeoutError:
    return TimeoutError(f"{url}: download took longer than the {deadline:g} s deadline "
                        f"(DOWNLOAD_DEADLINE)")


def _copy_body(url, response, out, max_bytes, progress, watchdog, deadline) -> None:
    announced = response.headers.get("Content-Length")
    announced = int(announced) if announced and announced.strip().isdigit() else None
    if announced is not None and announced > max_bytes:
        raise DataFileError(f"{url}: the server announces {announced} bytes, more than the "
                            f"{max_bytes} of the published file")
    received = reported = 0
    if progress is not None:
        progress(0, announced)
    read = getattr(response, "read1", response.read)
    while chunk := read(_READ_SIZE):
        received += len(chunk)
        if received > max_bytes:
            raise DataFileError(f"{url}: the server sent more than the {max_bytes} bytes of "
                                f"the published file")
        if watchdog.expired:
            raise _late(url, deadline)
        out.write(chunk)
        if progress is not None and received - reported >= _PROGRESS_EVERY:
            progress(received, announced)
            reported = received
    if watchdog.expired:
        raise _late(url, deadline)
    if announced is not None and received < announced:
        raise DataFileError(f"{url}: download interrupted after {received} of {announced} "
                            f"bytes")
    if progress is not None and received != reported:
        progress(received, announced)


# --------------------------------------------------------------------------------------------
# One file, from the first mirror that delivers the published bytes
# --------------------------------------------------------------------------------------------

def _part_prefix(info: DataFile) -> str:
    return f".{info.name}."


def remove_stale_parts(folder: Path, info: DataFile, *, older_than=STALE_PART_SECONDS) -> list:
    """Remove the ``.part`` folders of interrupted downloads of ``info`` in ``folder`` (those
    older than ``older_than`` seconds and owned by the current user); return their paths."""
    removed: list = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(_part_prefix(info)) and entry.name.endswith(".part")):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if (entry.is_dir(follow_symlinks=False) and st.st_uid == os.geteuid()
                and now - st.st_mtime > older_than):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    if removed:
        log.info("removed %d stale download folder(s) in %s", len(removed), folder)
    return removed


def _looks_writable(folder: Path) -> bool:
    """False for folders whose permission bits say read-only, even for root."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return bool(mode & 0o222) and os.access(folder, os.W_OK)


def _prepare_folder(info: DataFile, where: Location) -> dict:
    """Create ``where.folder`` if needed; raise DownloadError when it cannot be written."""
    folder, target = where.folder, where.folder / info.name
    details = {"folder": folder, "origin": where.origin, "missing": [info.name]}
    try:
        if where.origin == "per-user cache":
            user_cache_root().parent.mkdir(parents=True, exist_ok=True)
            user_cache_root().mkdir(mode=0o700, exist_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(
            f"{where.label} file {target} is missing and cannot be downloaded: cannot create "
            f"the folder {folder} (chosen by {where.how}): {exc}. Set {where.env_var} (or "
            f"root=) to a writable folder, or one that holds the files.", **details) from None
    if not _looks_writable(folder):
        raise DownloadError(
            f"{where.label} file {target} is missing and cannot be downloaded: the folder "
            f"{folder} (chosen by {where.how}) is read-only. Set {where.env_var} (or root=) "
            f"to a writable folder, or one that holds the files.", **details)
    return details


def download(info: DataFile, where: Location, mirrors: tuple, *, timeout: float,
             deadline: float, progress=None) -> Path:
    """Fetch ``info``'s ``.gz`` into ``where.folder``: try each mirror (each within
    ``deadline`` seconds), verify the sha256, then rename into place.
    ``progress(file_name, done_bytes, total_bytes)`` is called as bytes arrive."""
    details = _prepare_folder(info, where)
    folder, target = where.folder, where.folder / info.name
    remove_stale_parts(folder, info)
    report = None if progress is None else functools.partial(progress, info.name)
    errors: list = []
    attempts: list = []
    for base in mirrors:
        url = base + info.name
        try:
            part_dir = tempfile.mkdtemp(prefix=_part_prefix(info), suffix=".part", dir=folder)
        except OSError as exc:
            raise DownloadError(f"{where.label} file {target} is missing and cannot be "
                                f"downloaded: cannot write into {folder}: {exc}",
                                attempts=attempts, **details) from None
        try:
            log.info("downloading %s", url)
            part = Path(part_dir) / info.name
            _fetch(url, part, max_bytes=info.gz_size, timeout=timeout, deadline=deadline,
                   progress=report)
            _check_download(url, part, info)
            os.replace(part, target)
            log.info("downloaded and verified %s", target)
            return target
        except (OSError, http.client.HTTPException, ValueError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            errors.append(f"  {url}: {reason}")
            attempts.append((url, reason))
            log.info("mirror failed: %s: %s", url, exc)
        finally:
            shutil.rmtree(part_dir, ignore_errors=True)
    raise DownloadError(
        f"{where.label} file {target} is missing (looked in {folder}, chosen by {where.how}) "
        f"and could not be downloaded; every mirror failed:\n" + "\n".join(errors)
        + f"\nNo file was written. Check the network, or copy the published file into "
        f"{folder}, or set {where.env_var} (or root=) to a folder that holds the "
        f"{where.label} files.",
        attempts=attempts, **details)


def _check_download(url: str, part: Path, info: DataFile) -> None:
    data = part.read_bytes()  # at most info.gz_size bytes: _fetch caps it
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != info.gz_size or digest != info.gz_sha256:
        raise checksum_error(url, "gz", info.gz_sha256, info.gz_size, digest, len(data))
