"""An MNIST split as the commands use it: float rows in [0, 1], with the download progress line."""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from .. import datasets
from ._errors import CLIError
from ._progress import progress_for

__all__ = ["check_data_folder", "load_split", "no_folder_left_on_failure"]


def check_data_folder(data) -> None:
    """``--data`` names MNIST's folder: a file there is the user's own table, misplaced."""
    if data is not None and Path(data).is_file():
        raise CLIError(f"--data {data}: that is a file; for your own table use --table FILE "
                       "--target COLUMN (--data is the folder of the MNIST files)")


@contextlib.contextmanager
def no_folder_left_on_failure(data):
    """On any failure (a download that failed, Ctrl-C), remove the data folder and the parents
    of it that the command made, if they are still empty: a mistyped --data leaves nothing."""
    folder = datasets.data_dir(data)
    made = []
    for path in (folder, *folder.parents):  # those missing now, deepest first
        if path.exists():
            break
        made.append(path)
    try:
        yield
    except BaseException:
        for path in made:
            try:
                path.rmdir()
            except OSError:  # not empty (a file did arrive), or gone
                break
        raise


def load_split(split: str, args, dtype) -> tuple[np.ndarray, np.ndarray]:
    """One MNIST split as float rows and uint8 labels.

    Parameters
    ----------
    split : {"train", "test"}
    args : argparse.Namespace
        The command's ``data``, ``download`` and ``quiet`` (a progress line on a terminal
        unless ``quiet``).
    dtype : numpy dtype
        float32 or float64.

    Returns
    -------
    X : ndarray of shape (N, 784), dtype ``dtype``, values in [0, 1]
    y : ndarray of shape (N,), uint8
    """
    check_data_folder(args.data)
    progress = progress_for(args)
    try:
        with no_folder_left_on_failure(args.data):
            images, labels = datasets.load_mnist(split, root=args.data, download=args.download,
                                                 progress=progress)
    finally:  # end a line left open (size never announced, or a failed download)
        if progress is not None:
            progress.close()
    return datasets.to_float(datasets.flatten(images), dtype=dtype), labels
