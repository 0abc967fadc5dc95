"""A command whose output pipe closed early (``scratchlin predict ... | head``)."""
from __future__ import annotations

import os
import sys

__all__ = ["BROKEN_PIPE_STATUS", "silence_stdout"]

#: The exit status of a command whose output pipe closed early: 128 + SIGPIPE (13), what the
#: shell reports for ``yes | head`` under ``set -o pipefail``.
BROKEN_PIPE_STATUS = 141


def silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush into the closed pipe does
    not fail again (the recipe of Python's documentation, 'Note on SIGPIPE')."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file (e.g. captured)
        pass
