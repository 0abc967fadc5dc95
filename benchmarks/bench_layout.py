"""Benchmark: training a stochastic solver on X in other memory layouts than C order.

Usage::

    python benchmarks/bench_layout.py [--rows 30000] [--features 200] [--iters 2] [--repeat 5]
                                      [--threads 1]

A minibatch solver gathers rows of X for every step. From a C-ordered array a row is one
contiguous run of memory; from a Fortran-ordered one (what ``np.asarray(DataFrame)`` gives
for a frame of one dtype) or a column slice ``X[:, :F]`` it is F strided reads, and NumPy's
``take`` on such an array copies far more than the rows it returns. ``LinearClassifier.fit``
therefore makes X C-contiguous once, before the first step.

Contenders, all with the same seed, rows and labels, ``solver="adam"``, ``max_iter=--iters``,
``tol=None`` (no early stop):

- ``C order``: ``np.ascontiguousarray(X)``, the reference;
- ``F order``: ``np.asfortranarray(X)``;
- ``column slice``: ``X2[:, :F]`` of an array twice as wide;
- ``DataFrame``: ``pandas.DataFrame(X)`` (skipped without pandas).

For each it prints the median seconds of ``fit`` over ``--repeat`` interleaved runs (see
:func:`scratchlin._benchtools.interleaved`), the min..max spread, and the ratio to C order,
then the peak of Python-tracked memory (tracemalloc) of one fit, against X's own size. The
weights of every layout are checked to be identical to C order's first.
"""
from __future__ import annotations

import argparse
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

try:
    from scratchlin import LinearClassifier
    from scratchlin._benchtools import interleaved
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from scratchlin import LinearClassifier
    from scratchlin._benchtools import interleaved


def _layouts(X: np.ndarray) -> dict:
    layouts = {"C order": np.ascontiguousarray(X), "F order": np.asfortranarray(X),
               "column slice": np.hstack([X, X])[:, :X.shape[1]]}
    try:
        import pandas
    except ImportError:
        return layouts
    layouts["DataFrame"] = pandas.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    return layouts


def _fit(X, y, iters: int, threads: int) -> LinearClassifier:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LinearClassifier(solver="adam", max_iter=iters, tol=None, seed=0,
                                n_threads=threads).fit(X, y)


def _peak_mb(X, y, iters: int, threads: int) -> float:
    tracemalloc.start()
    try:
        _fit(X, y, iters, threads)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30000)
    parser.add_argument("--features", type=int, default=200)
    parser.add_argument("--iters", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, args.features))
    y = rng.integers(0, 10, args.rows)
    layouts = _layouts(X)
    reference = _fit(layouts["C order"], y, args.iters, args.threads).W
    for name, data in layouts.items():
        if not np.array_equal(_fit(data, y, args.iters, args.threads).W, reference):
            raise SystemExit(f"{name}: weights differ from C order's")

    print(f"X: {args.rows} x {args.features} float64 ({X.nbytes / 1e6:.0f} MB), adam, "
          f"{args.iters} iterations, {args.threads} BLAS thread(s), median of {args.repeat}")
    results = interleaved({name: (lambda data=data: _fit(data, y, args.iters, args.threads))
                           for name, data in layouts.items()}, repeat=args.repeat)
    base = results["C order"]["median"]
    print(f"{'layout':<14}{'median s':>10}{'min..max s':>16}{'ratio':>8}{'peak MB':>10}")
    for name, data in layouts.items():
        r = results[name]
        print(f"{name:<14}{r['median']:>10.3f}{r['min']:>8.3f}..{r['max']:<6.3f}"
              f"{r['median'] / base:>8.2f}{_peak_mb(data, y, args.iters, args.threads):>10.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
