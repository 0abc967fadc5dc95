"""Reading the user's image and label files, bounded before anything large is allocated.

Formats: ``.npy`` (memory-mapped, header checked), IDX (``.gz`` or raw; never decompressed
beyond what its header announces) and pictures (``.png``... through Pillow, side bounded).
"""
from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from .. import datasets
from ._errors import CLIError

__all__ = ["MAX_INPUT_BYTES", "MAX_PICTURE_SIDE", "is_picture", "read_input_images", "read_labels"]

#: The largest image file the command decodes: 2**28 bytes of pixels, 340,000 images of
#: 28x28 uint8 (MNIST's training images are 47 MB). An IDX header, a gzip stream or a .npy
#: header that claims more is refused before anything is allocated.
MAX_INPUT_BYTES = 1 << 28

#: Longest side of a picture that is read (larger ones are refused before decoding).
MAX_PICTURE_SIDE = 4096

_PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
_IDX_ITEMSIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


def _too_large(flag: str, path: Path, what: str, n_bytes: int) -> CLIError:
    return CLIError(f"{flag}: {path} {what} {n_bytes} bytes of pixels, more than the "
                    f"{MAX_INPUT_BYTES} this command reads; split it into smaller files")


def _read_npy(path: Path, flag: str = "INPUT") -> np.ndarray:
    # Memory-mapped: only the header is read here, so a header claiming a huge shape costs
    # nothing (and a file shorter than its header says is refused by the mapping).
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise CLIError(f"{flag}: {path} is not a readable .npy array of numbers: {error}") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise CLIError(f"{flag}: {path} is an .npz archive; expected one array saved with numpy.save (.npy)")
    if array.nbytes > MAX_INPUT_BYTES:
        raise _too_large(flag, path, f"holds a {array.dtype} array of shape {array.shape},", array.nbytes)
    return array


def _read_idx(path: Path, flag: str = "INPUT") -> np.ndarray:
    """An IDX file (``.gz`` or raw), never decompressing more than its header announces."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as stream:
            data = stream.read(4)
            ndim = data[3] if len(data) == 4 else 0
            data += stream.read(4 * ndim)
            if len(data) == 4 + 4 * ndim and data[2] in _IDX_ITEMSIZE:
                dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
                n_bytes = math.prod(dims) * _IDX_ITEMSIZE[data[2]]
                if n_bytes > MAX_INPUT_BYTES:
                    raise _too_large(flag, path, f"has an IDX header announcing shape {tuple(dims)}:", n_bytes)
                data += stream.read(n_bytes + 1)  # one byte more, so trailing data is noticed
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise CLIError(f"{flag}: cannot read {path}: {error}") from None
    try:
        return datasets.parse_idx(data, name=str(path))
    except datasets.MNISTError as error:
        raise CLIError(f"{flag}: {error} (expected an IDX file, a .npy array or a picture)") from None


def _pillow(path: Path):
    try:
        from PIL import Image
    except ImportError:
        raise CLIError(f"INPUT: reading {path.suffix} pictures needs Pillow, which is not "
                       "installed: pip install pillow (or pass the images as .npy or IDX)") from None
    return Image


def _read_picture(path: Path) -> np.ndarray:
    Image = _pillow(path)
    try:
        with Image.open(path) as picture:
            if max(picture.size) > MAX_PICTURE_SIDE:
                raise CLIError(f"INPUT: {path} is a {picture.size[0]}x{picture.size[1]} picture; "
                               f"expected at most {MAX_PICTURE_SIDE} pixels a side")
            return np.asarray(picture.convert("L"))
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise CLIError(f"INPUT: cannot read {path} as a picture: {error}") from None


def _check_is_file(path: Path, flag: str) -> None:
    if path.is_dir():
        raise CLIError(f"{flag}: {path} is a folder; expected a file")
    if not path.is_file():
        raise CLIError(f"{flag}: no file at {path}")


def is_picture(path) -> bool:
    """Whether ``path`` is read as a picture (by its suffix: .png, .jpg, ...)."""
    return Path(path).name.lower().endswith(_PICTURE_SUFFIXES)


def read_input_images(path, flag: str = "INPUT") -> np.ndarray:
    """The raw array in an image file: ``.npy``, a picture, or IDX (``.gz`` or not).

    Parameters
    ----------
    path : str or os.PathLike
    flag : str, default="INPUT"
        How the file is named in error messages.

    Returns
    -------
    ndarray
        As stored (any shape, any dtype; a ``.npy`` file is memory-mapped, at most
        :data:`MAX_INPUT_BYTES`); a picture as (H, W) uint8 grey levels. See
        :func:`~scratchlin.cli.as_feature_rows`.
    """
    path = Path(path)
    _check_is_file(path, flag)
    if path.suffix.lower() == ".csv":
        raise CLIError(f"{flag}: {path} is a CSV table, not images; for a table use "
                       "--table FILE --target COLUMN")
    if path.name.lower().endswith(".npy"):
        return _read_npy(path, flag)
    if is_picture(path):
        return _read_picture(path)
    return _read_idx(path, flag)


def read_labels(path) -> np.ndarray:
    """The integer labels in a 1-D .npy array or an IDX label file (``--labels``).

    Returns
    -------
    ndarray of shape (N,), an integer dtype
    """
    path = Path(path)
    _check_is_file(path, "--labels")
    array = _read_npy(path, "--labels") if path.name.lower().endswith(".npy") else _read_idx(path, "--labels")
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise CLIError(f"--labels: expected a 1-D array of integer labels, got {array.dtype} of "
                       f"shape {array.shape} in {path}")
    return np.array(array)
