"""Writing files so that a reader never sees a half-written one, and a crash never loses one."""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["atomic_write"]

_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def atomic_write(target, write) -> Path:
    """Call ``write(file)`` on a temporary file beside ``target``, then rename it into place.

    Guarantees, in order:

    1. *Atomic*: readers see the old ``target`` (or none) until the complete new one replaces
       it; an interrupted write leaves ``target`` as it was and removes the temporary file.
    2. *Mode*: a new ``target`` gets the permissions ``open()`` would give it (``0o666`` less
       the umask, and any default ACL of the folder), because the temporary file is created
       by ``os.open(..., 0o666)`` and the kernel applies the umask. The umask is never read:
       reading it portably means setting it, which is process-global and races with every
       other thread creating files. When ``target`` already exists, the temporary file is
       created private (``0o600``) and given ``target``'s permission bits before the rename,
       so re-saving over a private file keeps it private.
    3. *Durable*: the file's data is ``fsync``-ed before the rename, and the folder after it
       (where the platform can open a folder), so after this returns a power cut leaves the
       new file, not an empty one.

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
    existing_mode = _permission_bits(target)
    fd, tmp = _create_temporary(target, 0o666 if existing_mode is None else 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            if existing_mode is not None:
                _set_mode(file.fileno(), tmp, existing_mode)
            os.fsync(file.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(target.parent)
    return target


def _permission_bits(path: Path) -> int | None:
    """``path``'s permission bits (``0o777`` part), or None if it does not exist."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return None


def _set_mode(fd: int, path: str, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows
        os.chmod(path, mode)


def _create_temporary(target: Path, mode: int) -> tuple[int, str]:
    """Create a new, uniquely named hidden file beside ``target``: ``(fd, path)``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY | _O_CLOEXEC
    for _ in range(100):
        tmp = str(target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {target}")


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable. Windows cannot open a folder; NTFS journals renames anyway."""
    try:
        fd = os.open(folder, os.O_RDONLY | _O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder; the data itself was synced
        pass
    finally:
        os.close(fd)
