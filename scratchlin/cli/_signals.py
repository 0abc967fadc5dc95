"""SIGTERM and SIGHUP during a command: unwound like an error, so that nothing is left behind.

By default these signals end the process at once, and a model being saved leaves its hidden
temporary file beside ``--out``. While a command runs they raise :class:`Terminated` instead:
every ``finally`` and cleanup runs (the temporary file is removed; the file ``--out`` names is
untouched), and the command exits with status 128 + the signal's number, as the shell reports
a process ended by it.
"""
from __future__ import annotations

import contextlib
import signal
import threading

__all__ = ["Terminated", "terminating_cleanly"]

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Terminated(BaseException):
    """A termination signal arrived; ``signum`` says which. A BaseException, like
    KeyboardInterrupt, so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def status(self) -> int:
        """The exit status: 128 + the signal's number."""
        return 128 + self.signum


def _raise_terminated(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def terminating_cleanly():
    """While inside, SIGTERM and SIGHUP raise :class:`Terminated` (in the main thread only,
    where Python runs signal handlers; elsewhere this does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise_terminated) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
