"""The download progress line: one line redrawn on a terminal, nothing otherwise.

An own 30-line progress line rather than tqdm: the runtime dependencies stay numpy, mnist and
threadpoolctl, and the line only has to show one file's bytes, percent and rate.
"""
from __future__ import annotations

import math
import sys
import time

__all__ = ["DownloadProgress", "progress_for"]


def _megabytes(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:.1f} MB"


class DownloadProgress:
    """A progress line that redraws itself: file name, bytes, percent and rate.

    Called as ``progress(file_name, done_bytes, total_bytes_or_None)``, the hook of
    :func:`scratchlin.datasets.download_mnist`. Redraws at most every ``min_interval`` seconds
    (and always at the end of a file, which ends the line), e.g.
    ``  train-images-idx3-ubyte.gz   4.2 MB / 9.9 MB   42%   1.8 MB/s``.

    Parameters
    ----------
    stream : text stream
        Where the line goes (a terminal: the line is redrawn with ``\\r``).
    min_interval : float, default=0.1
        Seconds between redraws.
    clock : callable, default=time.monotonic
    """

    def __init__(self, stream, *, min_interval: float = 0.1, clock=time.monotonic):
        self.stream, self.min_interval, self.clock = stream, min_interval, clock
        self._name: str | None = None
        self._started, self._drawn, self._width = 0.0, -math.inf, 0

    def __call__(self, name: str, done: int, total) -> None:
        now = self.clock()
        if name != self._name:
            self.close()
            self._name, self._started, self._drawn = name, now, -math.inf
        finished = total is not None and done >= total
        if not finished and now - self._drawn < self.min_interval:
            return
        self._drawn = now
        size = _megabytes(done) if total is None else f"{_megabytes(done)} / {_megabytes(total)}"
        percent = "" if not total else f"  {100 * done / total:3.0f}%"
        rate = done / max(now - self._started, 1e-3)
        text = f"  {name}  {size}{percent}  {_megabytes(rate)}/s"
        self.stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        if finished:
            self.close()
        self.stream.flush()

    def close(self) -> None:
        """End the current line, if one is drawn."""
        if self._name is not None and self._width:
            self.stream.write("\n")
            self.stream.flush()
        self._name, self._width = None, 0


def progress_for(args, stream=None) -> DownloadProgress | None:
    """A :class:`DownloadProgress` on stderr when it is a terminal and --quiet is off, else None."""
    stream = sys.stderr if stream is None else stream
    if getattr(args, "quiet", False) or not stream.isatty():
        return None
    return DownloadProgress(stream)
