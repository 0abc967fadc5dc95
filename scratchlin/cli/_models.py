"""Reading the model file a command was given, with errors that name MODEL."""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from ..model import LinearClassifier
from ._errors import CLIError

__all__ = ["load_model"]


def load_model(path, threads=None) -> LinearClassifier:
    """The model saved at ``path``, using ``threads`` BLAS threads (None: scratchlin's policy).

    A raw-pixel model is turned into the equal float-input model: the commands always feed
    ``to_float`` rows, and ``(X / 255) @ W + b`` on pixels is the same function.

    Raises
    ------
    CLIError
        No file at ``path``, or not a readable scratchlin model (the reason included).
    """
    path = Path(path)
    if not path.is_file():
        raise CLIError(f"MODEL: no model file at {path} (expected a .npz written by 'scratchlin train')")
    try:
        model = LinearClassifier.load(path)
    except FileNotFoundError:
        raise
    except (ValueError, KeyError, EOFError, OSError, zipfile.BadZipFile, zlib.error,
            MemoryError) as error:
        # The library names the file for its own ValueErrors; the others come from below it.
        text = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
        if str(path) not in text:
            text = f"{path} is not a readable scratchlin model file: {text}"
        raise CLIError(f"MODEL: {text}") from None
    model.set_params(raw_pixels=False)
    return model.set_params(n_threads=threads)
