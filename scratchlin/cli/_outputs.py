"""Checks of the paths a command will write, made before any work is done."""
from __future__ import annotations

import tempfile
import zipfile
import zlib
from pathlib import Path

from ..model import LinearClassifier
from ._errors import CLIError

__all__ = ["check_file_target", "check_model_target", "check_new_folder", "check_writable_folder"]


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
    """``path`` names a file (not a folder) in a folder that can be written."""
    if path.is_dir():
        raise CLIError(f"{flag}: {path} is a folder; expected a file name")
    check_writable_folder(flag, path.absolute().parent)
