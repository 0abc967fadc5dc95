"""The exact solver on MNIST: scratchlin's L-BFGS against scikit-learn's ``lbfgs``, in one run.

Both minimise the same objective, the mean cross-entropy plus ``|W|^2 / (2 C N)`` at ``C=1`` on
the 60,000 training rows (pixels in [0, 1]), from zero weights. scikit-learn runs as its users
run it, ``LogisticRegression(C=1, max_iter=1000)`` with its default ``tol=1e-4``; its final
objective is the target. scratchlin's ``LinearClassifier(solver="lbfgs")`` is timed until its
objective first comes within a relative 1e-6 of that target (a callback watches each
iteration; the time of the rest of its run is not counted). Both objectives are then evaluated
in float64 on the same formula, so the comparison does not rest on either library's own report.

Each dtype (float64, float32 features) is run ``--repeat`` times, the contenders alternating
(sklearn, scratchlin, sklearn, ...), and the medians are compared as a ratio. Thread settings
are printed: both libraries use threads as a user gets them (scikit-learn the BLAS pool and its
OpenMP loss loops, scratchlin its thread policy, one BLAS thread on MNIST), unless
``--threads`` pins both or ``--scratchlin-threads`` sets scratchlin's ``n_threads``.

Run: ``python benchmarks/bench_lbfgs.py [--repeat 3] [--threads N] [--train-size N]``.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

from scratchlin import LinearClassifier, datasets, objective  # noqa: E402
from scratchlin.preprocessing import flatten, to_float  # noqa: E402

RELATIVE_GAP = 1e-6


class _Reached(Exception):
    """Raised by the callback when scratchlin's objective reaches the target."""


def objective_float64(W, b, X64, y, C):
    """J = mean cross-entropy + |W|^2 / (2 C N), in float64, for any (F, C) weights."""
    return objective.dataset_loss_and_grad(np.asarray(W, np.float64), np.asarray(b, np.float64), X64, y,
                                           weight_decay=1.0 / (C * X64.shape[0]))[0]


def run_sklearn(X, y, C):
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(C=C, max_iter=1000).fit(X, y)
    return time.perf_counter() - started, int(model.n_iter_[0]), model.coef_.T, model.intercept_


def run_scratchlin(X, y, C, target, n_threads=None):
    """Seconds and iterations until J <= target * (1 + RELATIVE_GAP), and the weights then."""
    state = {}

    def watch(record):
        if record["train_loss"] <= target * (1 + RELATIVE_GAP):
            state["seconds"] = time.perf_counter() - started
            state["iterations"] = record["iteration"]
            state["W"], state["b"] = model.W.copy(), model.b.copy()
            raise _Reached

    model = LinearClassifier(C=C, solver="lbfgs", tol=0.0, max_iter=2000, callback=watch, n_threads=n_threads)
    started = time.perf_counter()
    with contextlib.suppress(_Reached), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    if "seconds" not in state:
        raise RuntimeError("scratchlin did not reach scikit-learn's objective in 2000 iterations")
    return state["seconds"], state["iterations"], state["W"], state["b"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each contender (default: 3)")
    parser.add_argument("--threads", type=int, default=None,
                        help="pin BLAS (and torch) threads for both (default: as a user gets them)")
    parser.add_argument("--scratchlin-threads", type=int, default=None,
                        help="scratchlin's n_threads (default: its thread policy, one thread on MNIST)")
    parser.add_argument("--train-size", type=int, default=60000, help="training rows (default: all)")
    parser.add_argument("--data", default=None, help="MNIST folder (default: $SCRATCHLIN_DATA or the cache)")
    args = parser.parse_args(argv)
    images, labels = datasets.load_mnist("train", root=args.data)
    images, labels = images[: args.train_size], labels[: args.train_size]
    C = 1.0
    pinned = common.pin_threads(args.threads) if args.threads else contextlib.nullcontext()
    with pinned:
        env = common.environment(args.threads or 0)
        print("\n".join(f"{k}: {v}" for k, v in env.items()))
        X64 = to_float(flatten(images), np.float64)
        rows = []
        for dtype in (np.float64, np.float32):
            X = X64.astype(dtype)
            runs: dict = {"sklearn": [], "scratchlin": []}
            for repeat in range(args.repeat):
                seconds, iterations, W, b = run_sklearn(X, labels, C)
                target = objective_float64(W, b, X64, labels, C)
                runs["sklearn"].append((seconds, iterations, target))
                seconds, iterations, W, b = run_scratchlin(X, labels, C, target, args.scratchlin_threads)
                runs["scratchlin"].append((seconds, iterations, objective_float64(W, b, X64, labels, C)))
                print(f"{np.dtype(dtype).name} round {repeat + 1}: sklearn {runs['sklearn'][-1][0]:.2f}s "
                      f"({runs['sklearn'][-1][1]} it, J={target:.9f}), scratchlin "
                      f"{seconds:.2f}s ({iterations} it, J={runs['scratchlin'][-1][2]:.9f})", flush=True)
            med = {name: statistics.median(r[0] for r in values) for name, values in runs.items()}
            rows.append((np.dtype(dtype).name, med["sklearn"], runs["sklearn"][0][1], med["scratchlin"],
                         runs["scratchlin"][0][1], med["sklearn"] / med["scratchlin"]))
    print(f"\nL-BFGS on MNIST ({args.train_size} rows, C={C}), medians of {args.repeat}; scratchlin stops "
          f"within a relative {RELATIVE_GAP:g} of scikit-learn's final objective; scratchlin's n_threads="
          f"{args.scratchlin_threads} (None: its policy)")
    print("| dtype | scikit-learn s | its iterations | scratchlin s | its iterations | speed-up |")
    print("|---|---|---|---|---|---|")
    for name, t_sk, it_sk, t_ours, it_ours, ratio in rows:
        print(f"| {name} | {t_sk:.2f} | {it_sk} | {t_ours:.2f} | {it_ours} | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
