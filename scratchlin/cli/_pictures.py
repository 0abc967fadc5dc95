"""Pictures as MNIST's digits look: light on dark, fitted into 20x20, centred by mass in 28x28."""
from __future__ import annotations

import numpy as np

from ._errors import CLIError

__all__ = ["bright_border", "prepare_picture", "warn_if_inverted"]


def prepare_picture(pixels: np.ndarray, side: int = 28, box: int = 20) -> np.ndarray:
    """A light-on-dark picture as MNIST's digits were prepared: fit the digit into a
    ``box`` x ``box`` square (aspect kept, anti-aliased), then centre its centre of mass in a
    ``side`` x ``side`` image.

    Parameters
    ----------
    pixels : ndarray of shape (H, W), uint8
        Grey levels, a light digit on a dark background.
    side : int, default=28
    box : int, default=20

    Returns
    -------
    ndarray of shape (side, side), uint8
    """
    from PIL import Image

    ink = pixels > 0.2 * pixels.max() if pixels.max() > 0 else None
    if ink is None:
        raise CLIError("INPUT: the picture is blank (no light pixel): nothing to predict")
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = np.ascontiguousarray(pixels[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    scale = box / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    digit = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS), dtype=np.float64)
    ys, xs = np.indices(digit.shape)
    mass = digit.sum()
    top = round((side - 1) / 2 - float((ys * digit).sum() / mass))
    left = round((side - 1) / 2 - float((xs * digit).sum() / mass))
    canvas = np.zeros((side, side))
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + digit.shape[0], side), min(left + digit.shape[1], side)
    canvas[y0:y1, x0:x1] = digit[y0 - top:y1 - top, x0 - left:x1 - left]
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


def bright_border(images: np.ndarray) -> np.ndarray:
    """Per image (N, H, W) in [0, 1], whether its outer frame is bright on average (> 0.5).

    MNIST digits sit in a 20x20 box in the middle of 28x28: their border, 2 pixels wide and
    more, is black. A bright border means a dark digit on a light background. The frame is
    1/14 of the shorter side wide (2 pixels at 28x28).

    Returns
    -------
    ndarray of shape (N,), bool
    """
    height, width = images.shape[1:]
    margin = max(1, min(height, width) // 14)
    frame = np.ones((height, width), dtype=bool)
    frame[margin:-margin, margin:-margin] = False
    return images[:, frame].mean(axis=1) > 0.5


def warn_if_inverted(bright: np.ndarray, flag: str, notes) -> None:
    """A warning on ``notes`` naming the images whose ``bright`` border says dark-on-light."""
    indices = np.flatnonzero(bright)
    if indices.size:
        which = ", ".join(map(str, indices[:5].tolist())) + (", ..." if indices.size > 5 else "")
        print(f"warning: {indices.size} of {len(bright)} images in {flag} look like dark digits "
              f"on a light background (index {which});\n  MNIST's are light on dark, so their "
              "predictions are unreliable: pass --invert to flip them", file=notes)
