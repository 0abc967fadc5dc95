"""Which solver for which size: L-BFGS against Adam on growing subsets of MNIST, in one run.

For each training size N (the first N rows), both solvers fit ``LinearClassifier`` at its
defaults (``C=1``, ``tol="auto"``): the exact L-BFGS, and Adam with its adaptive rate. Each
reports the fit's seconds, its iterations, the objective it reached (evaluated in float64 on
the same formula) and the test accuracy on the 10,000 test images. The contenders alternate and
each is run ``--repeat`` times (median seconds). ``solver="auto"`` switches from L-BFGS to Adam
above :data:`scratchlin.model.AUTO_LBFGS_MAX_ROWS` rows; this is the measurement behind it.

Run: ``python benchmarks/bench_solvers.py [--sizes 2000 5000 10000 20000 40000 60000] [--repeat 3]``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

from scratchlin import LinearClassifier, datasets, objective  # noqa: E402
from scratchlin.model import AUTO_LBFGS_MAX_ROWS  # noqa: E402
from scratchlin.preprocessing import flatten, to_float  # noqa: E402


def fit(solver, X, y):
    model = LinearClassifier(solver=solver, seed=0)
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    return time.perf_counter() - started, model, bool(caught)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 10000, 20000, 40000, 60000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", default=None)
    args = parser.parse_args(argv)
    images, labels = datasets.load_mnist("train", root=args.data)
    test_images, test_labels = datasets.load_mnist("test", root=args.data)
    X_all, X_test = to_float(flatten(images)), to_float(flatten(test_images))
    print("\n".join(f"{k}: {v}" for k, v in common.environment(0).items()))
    print(f"\nsolver='auto' takes L-BFGS up to {AUTO_LBFGS_MAX_ROWS} rows\n")
    print("| rows | solver | seconds (median) | iterations | objective J | test accuracy | warned |")
    print("|---|---|---|---|---|---|---|")
    for n in args.sizes:
        X, y = X_all[:n], labels[:n]
        X64 = X.astype(np.float64)
        seconds: dict = {"lbfgs": [], "adam": []}
        last: dict = {}
        for _ in range(args.repeat):
            for solver in ("lbfgs", "adam"):
                elapsed, model, warned = fit(solver, X, y)
                seconds[solver].append(elapsed)
                last[solver] = (model, warned)
        for solver in ("lbfgs", "adam"):
            model, warned = last[solver]
            J = objective.dataset_loss_and_grad(model.W.astype(np.float64), model.b.astype(np.float64), X64, y,
                                                weight_decay=1.0 / n)[0]
            print(f"| {n} | {solver} | {statistics.median(seconds[solver]):.2f} | {model.n_iter_} | {J:.5f} | "
                  f"{100 * model.score(X_test, test_labels):.2f}% | {'yes' if warned else 'no'} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
