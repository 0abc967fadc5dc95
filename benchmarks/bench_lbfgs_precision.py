"""L-BFGS at the precision limit: distance to the minimiser of ill-conditioned quadratics,
scratchlin's ``minimize`` against SciPy's L-BFGS-B with the same memory.

Each problem is :math:`f(x) = \\frac12 x^\\top A x - c^\\top x` with ``n = 40``, ``A`` a random
rotation of the eigenvalues ``logspace(0, log10(condition), n)`` and ``c`` standard normal
(seeded, so every machine draws the same problems). Both solvers start from zero with ``m = 10``
pairs, a gradient tolerance of 1e-12 and a relative-decrease tolerance of 1e-16, so they run
until the arithmetic stops them. The distance ``|x - x*|_2`` to ``x* = solve(A, c)`` is compared
as a ratio, ours over SciPy's: per condition, the geometric mean over the seeds and the worst
(largest) ratio. Evaluations are counted too. Nothing here is timed, so the figures do not
depend on load; they may depend on the BLAS kernel (``OPENBLAS_CORETYPE``), which is printed.

Run: ``python benchmarks/bench_lbfgs_precision.py [--seeds 10] [--conditions 1e4 1e5 1e6 1e7 1e8]``.
"""
from __future__ import annotations

import argparse
import os

import numpy as np
from scipy import optimize

from scratchlin.lbfgs import minimize

N = 40


def problem(seed: int, condition: float):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(N, N)))
    A = Q @ np.diag(np.logspace(0, np.log10(condition), N)) @ Q.T
    c = rng.normal(size=N)
    return (lambda x: (0.5 * x @ A @ x - c @ x, A @ x - c)), np.linalg.solve(A, c)


def distances(seed: int, condition: float, max_iter: int):
    """``(ours, scipy's)``: each a (distance to x*, evaluations, stop reason) triple."""
    fun, x_star = problem(seed, condition)
    ours = minimize(fun, np.zeros(N), max_iter=max_iter, tol=1e-12, ftol=1e-16, history_size=10)
    theirs = optimize.minimize(fun, np.zeros(N), jac=True, method="L-BFGS-B",
                               options={"maxiter": max_iter, "maxfun": 10 * max_iter, "gtol": 1e-12,
                                        "ftol": 1e-16, "maxcor": 10})
    return ((np.linalg.norm(ours.x - x_star), ours.n_evaluations, ours.status),
            (np.linalg.norm(theirs.x - x_star), theirs.nfev, str(theirs.message)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--conditions", type=float, nargs="+", default=[1e4, 1e5, 1e6, 1e7, 1e8])
    parser.add_argument("--max-iter", type=int, default=10_000, help="iterations at most, for both solvers")
    args = parser.parse_args(argv)
    print(f"n={N}, m=10, seeds 0..{args.seeds - 1}, max_iter={args.max_iter}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print("| condition | geometric-mean ratio | worst ratio | our median distance "
          "| SciPy's median distance | our median evaluations | SciPy's median evaluations |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for condition in args.conditions:
        runs = [distances(seed, condition, args.max_iter) for seed in range(args.seeds)]
        ratios = np.array([ours[0] / theirs[0] for ours, theirs in runs])
        print(f"| {condition:.0e} | {np.exp(np.mean(np.log(ratios))):.3f} | {ratios.max():.3f} "
              f"| {np.median([o[0] for o, _ in runs]):.2e} | {np.median([t[0] for _, t in runs]):.2e} "
              f"| {np.median([o[1] for o, _ in runs]):.0f} | {np.median([t[1] for _, t in runs]):.0f} |")


if __name__ == "__main__":
    main()
