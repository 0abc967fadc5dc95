"""How many BLAS threads scratchlin's own matrix products use, applied only around its work.

STUB laid down by the architecture step so that training and prediction can already call it;
the thread-policy work (issue 12) replaces ``choose_n_threads`` with a measured policy.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from . import _validation as v

__all__ = ["choose_n_threads", "blas_threads"]


def choose_n_threads(n_threads: int | None, *, batch_size: int, n_features: int,
                     n_classes: int) -> int | None:
    """The BLAS thread count for products of a (B, F) batch with an (F, C) matrix.

    Parameters
    ----------
    n_threads : int or None
        The user's choice (>= 1), returned as it is; ``None`` asks the policy.
    batch_size, n_features, n_classes : int
        B, F and C of the products.

    Returns
    -------
    int or None
        The thread count, or ``None`` to leave the BLAS pool as the caller set it.
    """
    if n_threads is not None:
        return v.check_int(n_threads, "n_threads", low=1)
    return 1


@contextlib.contextmanager
def blas_threads(n_threads: int | None) -> Iterator[None]:
    """Limit the BLAS pool to ``n_threads`` inside the block and restore it afterwards.

    ``None`` changes nothing.
    """
    if n_threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_threads, user_api="blas"):
        yield
