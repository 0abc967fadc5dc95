"""Checks of the paths a command will write, made before any work is done."""
from __future__ import annotations

import os
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path

from ..model import LinearClassifier
from ._errors import CLIError

__all__ = ["check_file_target", "check_model_target", "check_new_folder", "check_writable_folder",
           "open_output_file"]


def check_writable_folder(flag: str, folder: Path) -> None:
    """``folder`` exists and a file can be written in it (``flag`` names it); nothing is
    created: a missing folder is refused, so a mistyped path leaves no folder behind."""
    if folder.exists() and not folder.is_dir():
        raise CLIError(f"{flag}: {folder} is a file, not a folder")
    if not folder.exists():
        raise CLIError(f"{flag}: the folder {folder} does not exist; create it first "
                       f"(mkdir -p {folder}) or choose another path")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise CLIError(f"{flag}: cannot write into the folder {folder}: "
                       f"{error.strerror or error}") from None


def check_new_folder(flag: str, folder: Path) -> None:
    """``folder`` is an existing writable folder, or one that can be made in an existing
    folder (it is made only when something is written into it)."""
    if folder.is_dir():
        check_writable_folder(flag, folder)
    elif folder.exists():
        raise CLIError(f"{flag}: {folder} is a file, not a folder")
    else:
        check_writable_folder(flag, folder.absolute().parent)


def check_model_target(path: Path) -> None:
    """--out must name a file that is new, or an old scratchlin model to replace."""
    if path.is_dir():
        raise CLIError(f"--out: {path} is a folder; give a file name such as {path / 'model.npz'}")
    if path.exists():
        try:
            LinearClassifier.load(path)
        except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
            raise CLIError(f"--out: {path} exists and is not a scratchlin model; not replacing "
                           "it (remove it or choose another path)") from None
    check_writable_folder("--out", path.absolute().parent)


def check_file_target(flag: str, path: Path) -> None:
    """``path`` names a regular file, or none yet, in a folder that can be written (a FIFO
    or a device is refused: opening one could wait forever for a reader)."""
    if path.is_dir():
        raise CLIError(f"{flag}: {path} is a folder; expected a file name")
    if path.exists() and not path.is_file():
        raise CLIError(f"{flag}: {path} is not a regular file (a FIFO or a device?); expected "
                       "a file name ('-' writes to stdout)")
    check_writable_folder(flag, path.absolute().parent)


def open_output_file(flag: str, path: Path):
    """``path`` opened for writing text, created or truncated; never waits for a FIFO's
    reader (one made there since the check is refused)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0),
                     0o666)
    except OSError as error:  # ENXIO: a FIFO without a reader
        raise CLIError(f"{flag}: cannot write {path}: {error.strerror or error}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CLIError(f"{flag}: {path} is not a regular file (a FIFO or a device?); expected "
                       "a file name ('-' writes to stdout)")
    os.set_blocking(fd, True)
    os.ftruncate(fd, 0)
    return os.fdopen(fd, "w", newline="")
