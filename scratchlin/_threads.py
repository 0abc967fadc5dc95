r"""How many BLAS threads scratchlin's own matrix products use, applied only around its work.

Training multiplies a (B, F) batch by the (F, C) weights and its transpose by the (B, C)
gradient: ``B * F * C`` multiply-adds each, about a million at the default B=128 on MNIST.
Products that small gain little from a second thread and lose a great deal when the machine
is shared. OpenBLAS's threads spin while they wait for each other, so when another process
holds a core, each product waits for the scheduler to hand back that core. Measured on a
2-core machine beside one busy process, a default fit with 2 threads took 3x its idle time;
with 1 thread it took its idle time.

The policy (:func:`choose_n_threads`), used when the user does not choose:

.. math:: n = \min\Big(\text{cores},\ \text{caller's BLAS limit},\
          \max\big(1, \big\lfloor B F C / M \big\rfloor\big)\Big),
          \qquad M = 2^{25} \approx 3.4 \cdot 10^7

that is, a thread only joins when it gets at least ``M`` multiply-adds of each product,
several milliseconds of work on one core (measured here: about 3 ms in float32, 6 ms in float64),
long against the scheduler's time slice. A slice lost to another process then costs a
fraction of a product, not several times it. For MNIST (F=784, C=10) this gives 1 thread up
to B=8559, 2 threads from B=8560 (full-batch training on 60,000 rows: all cores up to 14).

The policy depends only on the sizes, the cores this process may use and the caller's limit,
never on the momentary load, so a seeded fit gives the same bits every time on a given
machine and setting. (The thread count changes how BLAS splits its sums, so weights trained
with 1 and 2 threads differ in the last bits: up to ~6e-7 in float32.)

:func:`blas_threads` applies the count around scratchlin's own work and restores the caller's
settings afterwards, also when the work raises. It reuses one ``threadpoolctl`` controller:
building it scans the loaded libraries (0.7 ms measured, as does every fresh
``threadpool_limits``); limiting through it takes ~9 us.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from . import _validation as v

__all__ = [
    "MIN_MULTIPLY_ADDS_PER_THREAD",
    "available_cores",
    "blas_threads",
    "choose_n_threads",
]

#: A thread joins a product only if it gets at least this many multiply-adds of it.
MIN_MULTIPLY_ADDS_PER_THREAD = 2**25

_controller = None


def _blas_controller():
    """The ``threadpoolctl`` controller of the loaded BLAS libraries, built on first use.

    Returns ``None`` when no BLAS library threadpoolctl knows is loaded (nothing to limit).
    """
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController().select(user_api="blas")
    return _controller if _controller.lib_controllers else None


def available_cores() -> int:
    """The number of CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def current_blas_threads() -> int | None:
    """The caller's current BLAS thread limit (the largest over the loaded BLAS libraries),
    or ``None`` when no BLAS library can be controlled."""
    controller = _blas_controller()
    if controller is None:
        return None
    return max(lib.num_threads for lib in controller.lib_controllers)


def choose_n_threads(n_threads: int | None, *, batch_size: int, n_features: int,
                     n_classes: int) -> int | None:
    r"""The BLAS thread count for products of a (B, F) batch with an (F, C) matrix.

    Parameters
    ----------
    n_threads : int or None
        The user's choice (an int >= 1), returned as it is, even above the number of cores;
        ``None`` asks the policy:
        :math:`\min(\text{cores}, \text{caller's limit}, \max(1, \lfloor BFC / 2^{25} \rfloor))`.
    batch_size, n_features, n_classes : int
        B, F and C of the products.

    Returns
    -------
    int or None
        The thread count, or ``None`` (policy only) when no BLAS library can be controlled,
        which leaves the BLAS pool as it is.

    Raises
    ------
    TypeError, ValueError
        If ``n_threads`` is not ``None`` or an int >= 1.

    Examples
    --------
    On MNIST (F=784, C=10), with at least 2 cores and no lower limit set by the caller:

    ======== =========
    B        threads
    ======== =========
    1..8559  1
    8560     2
    60000    min(cores, 14)
    ======== =========
    """
    if n_threads is not None:
        return v.check_int(n_threads, "n_threads", low=1)
    caller_limit = current_blas_threads()
    if caller_limit is None:
        return None
    by_size = max(1, (batch_size * n_features * n_classes) // MIN_MULTIPLY_ADDS_PER_THREAD)
    return min(available_cores(), caller_limit, by_size)


@contextlib.contextmanager
def blas_threads(n_threads: int | None) -> Iterator[None]:
    """Limit the BLAS pool to ``n_threads`` inside the block and restore it afterwards.

    Parameters
    ----------
    n_threads : int or None
        Threads for the BLAS libraries inside the block; ``None`` changes nothing.

    Notes
    -----
    The limit is process-wide (BLAS has one pool), so two Python threads fitting at the same
    time see each other's limit; each restores what it found on entry.
    """
    controller = None if n_threads is None else _blas_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=n_threads):
        yield
