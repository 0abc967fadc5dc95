"""The two errors a command raises about what the user asked for, and how ``main`` reports them."""
from __future__ import annotations

__all__ = ["CLIError", "USER_ERRORS", "UsageError"]


class CLIError(Exception):
    """A problem with what the user asked for; printed as one line, exit status 1."""


class UsageError(Exception):
    """Flags that contradict each other; printed by argparse with the usage, exit status 2."""


#: Errors a user can cause and fix; reported in one line with exit status 1. (Library
#: argument errors are ValueError/TypeError; missing files are FileNotFoundError, an
#: OSError; a diverged run is a FloatingPointError; a missing extra is an ImportError; an
#: input too large for memory is a MemoryError.)
USER_ERRORS = (ValueError, TypeError, OSError, ImportError, FloatingPointError, MemoryError)
