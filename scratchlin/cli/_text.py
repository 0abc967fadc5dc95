"""Small pieces of the commands' text: a path as a person would type it, an accuracy."""
from __future__ import annotations

import math
from pathlib import Path

__all__ = ["one_line", "percent", "shown", "spreadsheet_safe"]

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t",
                 0x2028: "\\u2028", 0x2029: "\\u2029"})
# The first characters that make a spreadsheet read a cell as a formula (OWASP's list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def one_line(text: str) -> str:
    """``text`` on one line: control characters and line separators written as escapes
    (``"a\\nb"`` becomes ``a\\nb``), everything else as it is."""
    return text.translate(_CONTROL)


def spreadsheet_safe(cell):
    """A CSV cell that a spreadsheet will not run: text that starts like a formula (``=``,
    ``+``, ``-``, ``@``, tab, carriage return) gets a leading ``'``, OWASP's rule for CSV
    injection. Numbers, and text that is one number (``-3``, ``+1.5``), are left alone."""
    if not isinstance(cell, str) or not cell.startswith(_FORMULA_STARTS):
        return cell
    try:
        is_number = cell == cell.strip() and math.isfinite(float(cell))
    except ValueError:
        is_number = False
    return cell if is_number else "'" + cell
