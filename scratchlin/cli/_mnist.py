"""An MNIST split as the commands use it: float rows in [0, 1], with the download progress line."""
from __future__ import annotations

import numpy as np

from .. import datasets
from ._progress import progress_for

__all__ = ["load_split"]


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
    progress = progress_for(args)
    try:
        images, labels = datasets.load_mnist(split, root=args.data, download=args.download,
                                             progress=progress)
    finally:  # end a line left open (size never announced, or a failed download)
        if progress is not None:
            progress.close()
    return datasets.to_float(datasets.flatten(images), dtype=dtype), labels
