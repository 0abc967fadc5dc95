"""``scratchlin data``: where the MNIST files are looked for, and whether they are intact."""
from __future__ import annotations

import argparse
from pathlib import Path

from .. import datasets
from ._data_messages import origin_in_cli
from ._errors import CLIError
from ._mnist import check_data_folder, no_folder_left_on_failure
from ._options import add_command, add_common_options
from ._progress import progress_for
from ._text import shown

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``data`` to ``subparsers``; its ``run`` default is :func:`run`."""
    parser = add_command(
        subparsers, "data", help="where the MNIST files are looked for, and whether they are intact",
        description="Show the folder the MNIST files are read from (and downloaded into), "
                    "which of the four files are there, and verify each against the published "
                    "sha256. Exit status 1 if a file is missing or corrupt.")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="folder to inspect (default: $SCRATCHLIN_DATA, else the per-user cache)")
    parser.add_argument("--download", action="store_true",
                        help="first download the missing files (about 11 MB, verified, written "
                             "atomically), with a progress line on a terminal")
    parser.add_argument("--quiet", action="store_true", help="no download progress")
    add_common_options(parser)
    parser.set_defaults(run=run)
    return parser


def _file_status(folder: Path, info) -> tuple[str, bool]:
    """One line about an MNIST file, and whether it is present and genuine."""
    path = datasets.find_file(folder, info)
    if path is None:
        return f"  {info.name:<28} missing", False
    try:
        datasets.verify_file(path)
    except datasets.MNISTError:
        return f"  {path.name:<28} {path.stat().st_size:>9} bytes  CORRUPT (sha256 mismatch)", False
    return f"  {path.name:<28} {path.stat().st_size:>9} bytes  sha256 verified", True


def _download_missing(args, folder: Path) -> None:
    missing = [info.name for info in datasets.FILES.values() if datasets.find_file(folder, info) is None]
    if not missing:
        print("nothing to download: all 4 files are present")
        return
    print(f"downloading {len(missing)} missing file{'s' if len(missing) > 1 else ''} "
          "(verified against the published sha256) ...", flush=True)
    progress = progress_for(args)
    try:
        with no_folder_left_on_failure(args.data):
            datasets.download_mnist(args.data, progress=progress)
    finally:
        if progress is not None:
            progress.close()


def run(args) -> int:
    """``scratchlin data``: the data folder, its files and their checksums."""
    check_data_folder(args.data)
    where = datasets.locate(datasets.MNIST, args.data)
    folder = where.folder
    print(f"MNIST folder: {shown(folder)}  (from {origin_in_cli(where.origin)})")
    if args.download:
        _download_missing(args, folder)
    statuses = [_file_status(folder, info) for info in datasets.FILES.values()]
    for line, _ in statuses:
        print(line)
    bad = sum(not ok for _, ok in statuses)
    if bad:
        raise CLIError(f"{bad} of {len(statuses)} MNIST files in {folder} are missing or corrupt; "
                       "run 'scratchlin data --download' (or set SCRATCHLIN_DATA / --data to a "
                       "folder that holds them)")
    print(f"all {len(statuses)} files present and verified")
    return 0
