"""Old against new: the objective's speed at two revisions, interleaved in one process.

The package at ``--old-rev`` is extracted (``git archive``) into a temporary folder as
``scratchlin_old`` and imported beside the working tree's ``scratchlin``; each round runs every
contender once, in ABBA order, and the medians are printed (one BLAS thread by default: on a
shared machine, one thread is the steadier measurement).

Usage (from the repository root)::

    python tools/ab_objective.py --old-rev main --which batch     # B=256 float32, vs textbook
    python tools/ab_objective.py --old-rev main --which dataset   # 60,000 x 784, L-BFGS's call
    python tools/ab_objective.py --old-rev main --which epoch     # one Adam epoch, B=256
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_ops import textbook_loss_and_grad  # noqa: E402  (the one yardstick)


def import_old(rev: str, folder: Path):
    """The package at ``rev`` as the module ``scratchlin_old``."""
    archive = subprocess.run(["git", "archive", "--format=tar", rev, "scratchlin"], cwd=ROOT,
                             check=True, capture_output=True).stdout
    target = folder / "old.tar"
    target.write_bytes(archive)
    with tarfile.open(target) as tar:
        tar.extractall(folder, filter="data")
    (folder / "scratchlin").rename(folder / "scratchlin_old")
    sys.path.insert(0, str(folder))
    import scratchlin_old
    return scratchlin_old


def interleave(runs: dict, rounds: int) -> dict:
    """Median seconds of each zero-argument callable, run round-robin in ABBA order."""
    times: dict = {name: [] for name in runs}
    for r in range(rounds):
        order = list(runs.items()) if r % 2 == 0 else list(runs.items())[::-1]
        for name, run in order:
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def repeated(run, n: int):
    def loop():
        for _ in range(n):
            run()
    return loop


def batch(new, old, rounds):
    rng = np.random.default_rng(0)
    X = rng.random((256, 784)).astype(np.float32)
    W = (0.01 * rng.standard_normal((784, 10))).astype(np.float32)
    b = (0.01 * rng.standard_normal(10)).astype(np.float32)
    y = rng.integers(0, 10, 256).astype(np.intp)
    models = {k: m.LinearClassifier.from_params(W, b, C=np.inf) for k, m in (("old", old), ("new", new))}
    spaces = {k: m.objective.Workspace(784, 10, 256, np.float32) for k, m in (("old", old), ("new", new))}
    n = 200
    runs = {"textbook": repeated(lambda: textbook_loss_and_grad(X, W, b, y), n)}
    for k, m in (("old", old), ("new", new)):
        runs[f"{k} LinearClassifier.loss_and_grad"] = repeated(lambda m=models[k]: m.loss_and_grad(X, y), n)
        runs[f"{k} objective.loss_and_grad out="] = repeated(
            lambda m=m, ws=spaces[k]: m.objective.loss_and_grad(W, b, X, y, out=ws), n)
    med = interleave(runs, rounds)
    for name, seconds in med.items():
        print(f"{name:36s} {seconds / n * 1e6:8.1f} us  {seconds / med['textbook']:5.2f}x textbook")


def dataset(new, old, rounds):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (60000, 784)).astype(np.uint8)
    y = rng.integers(0, 10, 60000).astype(np.intp)
    for dtype in (np.float64, np.float32):
        W, b = (0.001 * rng.standard_normal((784, 10))).astype(dtype), np.zeros(10, dtype)
        X = (pixels / 255).astype(dtype)
        runs = {}
        for k, m in (("old", old), ("new", new)):
            ws, raw_ws = m.objective.Workspace(784, 10, 8192, dtype), m.objective.Workspace(784, 10, 2048, dtype)
            runs[f"{k} float"] = lambda m=m, ws=ws, W=W, b=b, X=X: m.objective.dataset_loss_and_grad(
                W, b, X, y, workspace=ws, weight_decay=1e-4)
            runs[f"{k} raw uint8"] = lambda m=m, ws=raw_ws, W=W, b=b: m.objective.dataset_loss_and_grad(
                W, b, pixels, y, workspace=ws, input_scale=1 / 255, weight_decay=1e-4)
        med = interleave(runs, rounds)
        for kind in ("float", "raw uint8"):
            print(f"dataset_loss_and_grad {np.dtype(dtype).name} {kind}: new {med['new ' + kind] * 1e3:.1f} ms, "
                  f"old {med['old ' + kind] * 1e3:.1f} ms, new/old {med['new ' + kind] / med['old ' + kind]:.3f}")


def epoch(new, old, rounds):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (60000, 784)).astype(np.uint8)
    y = rng.integers(0, 10, 60000)
    for dtype in ("float32", "float64"):
        X = (pixels / 255).astype(dtype)
        options = dict(solver="adam", max_iter=1, tol=None, batch_size=256, seed=0, dtype=dtype)
        runs = {k: (lambda m=m, X=X, options=options: m.LinearClassifier(**options).fit(X, y))
                for k, m in (("old", old), ("new", new))}
        med = interleave(runs, rounds)
        print(f"epoch {dtype}: new {med['new']:.3f} s, old {med['old']:.3f} s, new/old {med['new'] / med['old']:.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old-rev", required=True, help="git revision of the old code, e.g. main")
    parser.add_argument("--which", choices=("batch", "dataset", "epoch"), default="batch")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from threadpoolctl import threadpool_limits

    import scratchlin as new

    with tempfile.TemporaryDirectory() as folder, threadpool_limits(args.threads):
        old = import_old(args.old_rev, Path(folder))
        print(f"old {args.old_rev}, new {ROOT}; BLAS threads {args.threads}, rounds {args.rounds}")
        {"batch": batch, "dataset": dataset, "epoch": epoch}[args.which](new, old, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
