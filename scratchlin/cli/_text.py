"""Small pieces of the commands' text: a path as a person would type it, an accuracy."""
from __future__ import annotations

from pathlib import Path

__all__ = ["percent", "shown"]


def shown(path) -> str:
    """``path`` for a person to read and paste: the home folder as ``~``."""
    path = Path(path)
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except (ValueError, RuntimeError):  # not under home, or no home
        return str(path)


def percent(correct: int, total: int) -> str:
    """An accuracy as ``"91.70% (9170/10000)"``."""
    return f"{100 * correct / total:.2f}% ({correct}/{total})"
