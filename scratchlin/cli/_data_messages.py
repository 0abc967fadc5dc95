"""Missing MNIST data, said in the command's own terms on a few short lines: what is missing,
where it was looked for (and why there), and the ways to fix it."""
from __future__ import annotations

import os
import textwrap
import urllib.parse
from pathlib import Path

from .. import datasets
from ._text import shown

__all__ = ["data_error_lines", "origin_in_cli"]

_LINE_WIDTH = 100
_ORIGIN_IN_CLI = {"root argument": "--data",
                  "$SCRATCHLIN_DATA": "$SCRATCHLIN_DATA",
                  "per-user cache": "the per-user cache; no --data, no $SCRATCHLIN_DATA"}
_FIXES = ["  --data DIR                   (a folder that already holds the four .gz files)",
          "  export SCRATCHLIN_DATA=DIR   (the same, for every command)"]


def origin_in_cli(origin: str) -> str:
    """How the data folder was chosen, in the command's terms ("--data", "$SCRATCHLIN_DATA",
    or the per-user cache) rather than the library's (``root=None``)."""
    return _ORIGIN_IN_CLI.get(origin, "the data folder")


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _missing_files(folder: Path, reported) -> list:
    """Every MNIST file missing from ``folder`` (the library reports the first it needed)."""
    missing = [info.name for info in datasets.FILES.values() if datasets.find_file(folder, info) is None]
    return missing or list(reported)


def _failed_download(error: datasets.DownloadError, folder: Path, origin: str, data_flag: str) -> list:
    lines = [f"could not download MNIST: every mirror failed for {', '.join(error.missing)}",
             f"  into: {shown(folder)}  ({origin})"]
    lines += ["  " + _shorten(f"{urllib.parse.urlsplit(url).netloc}: {reason}", _LINE_WIDTH - 2)
              for url, reason in error.attempts]
    return [*lines, "to fix, one of:",
            f"  check the network, then: scratchlin data --download{data_flag}", *_FIXES]


def _unusable_folder(folder: Path, origin: str) -> list:
    """No mirror could be tried: nothing can be written into the folder."""
    reason = ("the folder cannot be created" if not folder.is_dir()
              else "the folder is read-only" if not os.access(folder, os.W_OK)
              else "nothing can be written into the folder")
    return [f"cannot download MNIST: {reason}",
            f"  into: {shown(folder)}  ({origin})", "to fix, one of:",
            "  --data DIR                   (a writable folder, or one that holds the files)",
            "  export SCRATCHLIN_DATA=DIR   (the same, for every command)"]


def data_error_lines(error: datasets.MNISTNotFoundError, args) -> list:
    """What is missing, where, and the ways to fix it.

    Parameters
    ----------
    error : datasets.MNISTNotFoundError
        As raised by :func:`scratchlin.datasets.load_mnist` (a ``DownloadError`` included).
    args : argparse.Namespace
        The command's arguments (``data``, and ``download`` where the command has it).

    Returns
    -------
    list of str
        Short lines (about 100 characters, plus the length of the folder's path where it is
        named), the first to follow ``scratchlin: error: ``.
    """
    folder = error.folder if error.folder is not None else datasets.data_dir(args.data)
    origin = origin_in_cli(error.origin)
    data_flag = f" --data {shown(folder)}" if args.data is not None else ""
    if isinstance(error, datasets.DownloadError) and getattr(error, "attempts", None):
        return _failed_download(error, folder, origin, data_flag)
    if isinstance(error, datasets.DownloadError):
        return _unusable_folder(folder, origin)
    missing = _missing_files(folder, error.missing)
    what = ("all four files (train and t10k, images and labels)" if len(missing) == len(datasets.FILES)
            else ", ".join(missing))
    off = " (downloads are off: --no-download)" if not getattr(args, "download", True) else ""
    return [f"MNIST data not found{off}",
            f"  looked in: {shown(folder)}  ({origin})",
            *textwrap.wrap(f"missing: {what}", _LINE_WIDTH, initial_indent="  ",
                           subsequent_indent="    "),
            "to fix, one of:",
            f"  scratchlin data --download{data_flag}",
            "                               (fetch them: about 11 MB, checked against sha256)",
            *_FIXES]
