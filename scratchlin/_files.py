"""Writing files so that a reader never sees a half-written one."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


def atomic_write(target, write) -> Path:
    """Call ``write(file)`` on a temporary file beside ``target``, then rename it into place.

    An interrupted write leaves ``target`` as it was (absent or the old version), never
    truncated. The file gets the permissions ``open()`` would give it (``0o666`` less the
    umask), not ``mkstemp``'s private ``0o600``.

    Parameters
    ----------
    target : str or os.PathLike
    write : callable
        Receives the binary file object.

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
