"""Timing tools shared by ``scratchlin bench`` and the scripts in ``benchmarks/``.

Machines are shared and noisy, so nothing here times one contender alone: contenders run
round-robin (:func:`interleaved`) so that a slow spell hits all of them alike, every figure is
the median of several rounds, and comparisons are ratios from the same run. Beside the times
go what they should be compared to, measured in the same run (:func:`read_bandwidth`,
:func:`gemm_rate`), and how the machine was set up (:func:`environment`: BLAS library and its
threads, the OpenBLAS variables that change its kernels, the load average).

Only NumPy and threadpoolctl are needed; torch is reported if the caller imported it.
"""
from __future__ import annotations

import contextlib
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

__all__ = [
    "OPENBLAS_VARIABLES",
    "TimeBudget",
    "busy_processes",
    "environment",
    "gemm_rate",
    "interleaved",
    "load_average",
    "read_bandwidth",
    "repeated",
    "summarise",
]

#: Environment variables that change which OpenBLAS kernel runs (reported with every result).
OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                      "OMP_NUM_THREADS")


def summarise(times: list) -> dict:
    """``median``, ``min``, ``max`` (seconds) and the raw ``times`` of a list of timings."""
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "times": list(times)}


def interleaved(runs: dict, *, repeat: int, warmup: int = 1,
                setups: dict | None = None, time_limit: float | None = None) -> dict:
    """Time several contenders round-robin and return each one's :func:`summarise`.

    Each of the ``repeat`` rounds visits every contender once, starting one place further
    along the list each round; a visit makes ``warmup`` untimed runs, then one timed run. The
    untimed runs matter when contenders own thread pools: right after another library's
    threads were busy, the first run measures the hand-over, not the library.

    Parameters
    ----------
    runs : dict of name -> callable
        Zero-argument functions to time.
    repeat : int
        Timed runs of each contender (rounds).
    warmup : int, default=1
        Untimed runs before each timed one.
    setups : dict of name -> callable, optional
        Called untimed before every run of that contender (e.g. to reset weights).
    time_limit : float or None, default=None
        Seconds after which no new round starts (at least one round always runs), so that
        a heavily loaded machine shortens the run instead of stretching it; ``None``: always
        ``repeat`` rounds. The rounds made are ``len(times)``.

    Returns
    -------
    dict of name -> dict
        ``median``, ``min``, ``max`` (seconds) and ``times``.
    """
    names = list(runs)
    times: dict = {name: [] for name in names}
    setups = setups or {}
    started = time.perf_counter()
    for round_number in range(repeat):
        if round_number > 0 and time_limit is not None and time.perf_counter() - started >= time_limit:
            break
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            for timed in [False] * warmup + [True]:
                if name in setups:
                    setups[name]()
                start = time.perf_counter()
                runs[name]()
                if timed:
                    times[name].append(time.perf_counter() - start)
    return {name: summarise(t) for name, t in times.items()}


class TimeBudget:
    """Seconds shared out among the figures still to measure, so a run ends near ``total``.

    Each figure gets an equal share of what is left (:meth:`share`), so figures that finish
    early leave their time to the ones after them. ``total=None`` sets no limit.
    """

    def __init__(self, total: float | None, figures: int):
        self.figures_left = figures
        self.deadline = None if total is None else time.perf_counter() + total

    def share(self) -> float | None:
        """The time limit of the next figure (``None`` without a budget); counts it as used."""
        figures, self.figures_left = max(1, self.figures_left), self.figures_left - 1
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.perf_counter()) / figures


def repeated(run: Callable[[], object], calls: int) -> Callable[[], None]:
    """A function that calls ``run`` ``calls`` times: one timed sample of a short operation."""
    def loop():
        for _ in range(calls):
            run()
    return loop


def read_bandwidth(*, n_bytes: int = 64 * 2**20, repeat: int = 5) -> float:
    """Bytes per second at which this process reads memory: a sum over an ``n_bytes`` array.

    This is the read-X floor's yardstick: an operation over ``X`` cannot take less than
    ``X.nbytes / read_bandwidth()``. A floor is a bound, so the fastest round is used.
    """
    probe = np.ones(n_bytes // 4, np.float32)
    timing = interleaved({"read": lambda: np.add.reduce(probe, axis=None)}, repeat=repeat)
    return probe.nbytes / timing["read"]["min"]


def gemm_rate(dtype, *, size: int = 1024, repeat: int = 5) -> float:
    """FLOP per second of a large square product in ``dtype``, the compute floor's yardstick.

    ``2 * size**3`` floating-point operations per product, at whatever BLAS thread count is
    in force when called. A floor is a bound, so the fastest round is used.
    """
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    timing = interleaved({"gemm": lambda: a @ b}, repeat=repeat)
    return 2 * size**3 / timing["gemm"]["min"]


def load_average() -> list | None:
    """The 1, 5 and 15 minute load averages, or ``None`` where the OS has none."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def environment() -> dict:
    """Versions, cores, BLAS libraries and their current threads, OpenBLAS variables, load.

    torch is reported only if it is already imported (this function never imports it).
    """
    from threadpoolctl import threadpool_info

    from . import __version__
    from ._threads import available_cores

    env = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs, "
                   f"{available_cores()} available to this process",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scratchlin": __version__,
        "blas": [f"{lib.get('internal_api')} {lib.get('version')} ({lib.get('architecture')}), "
                 f"{lib.get('num_threads')} threads" for lib in threadpool_info()
                 if lib.get("user_api") == "blas"],
        "openblas variables": {name: os.environ.get(name) for name in OPENBLAS_VARIABLES
                               if os.environ.get(name) is not None},
        "load average": load_average(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        env["torch"] = f"{torch.__version__}, {torch.get_num_threads()} threads"
    return env


@contextlib.contextmanager
def busy_processes(count: int) -> Iterator[list]:
    """Run ``count`` processes that spin one core each (``while True: pass``) inside the block.

    They are started with this interpreter and killed (by their own ids) on exit, also when
    the block raises or the benchmark is stopped with SIGTERM (turned into ``SystemExit``
    meanwhile, so no spinner outlives it). Used to measure how a fit behaves beside other
    busy programs.
    """
    if count == 0:
        yield []
        return
    restore_sigterm = _exit_on_sigterm()
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(count)]
    try:
        time.sleep(0.2)  # let them reach the loop
        yield spinners
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()
        restore_sigterm()


def _exit_on_sigterm() -> Callable[[], None]:
    """Make SIGTERM raise ``SystemExit`` (so ``finally`` blocks run); return the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)
    return restore
