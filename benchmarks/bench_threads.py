"""The measurement behind scratchlin's thread policy: the two training products at 1..n
BLAS threads, per batch size, on an idle machine and beside busy processes.

For each B the forward product (B, 784) @ (784, 10) and the gradient product
(784, B) @ (B, 10) are timed together at every thread count, idle and with ``--busy``
processes spinning (``while True: pass``, started and killed here). Thread counts and
conditions are interleaved round by round; each figure is the median of ``--repeat`` rounds,
reported as the time with k threads over the time with 1 thread in the same condition.

The policy (:mod:`scratchlin._threads`) lets a thread join only when it gets at least 2**25
multiply-adds of each product (B >= 8560 for two threads on MNIST). A second thread must pay
off idle without costing much beside a busy process; this table shows where that holds.

Run: ``python benchmarks/bench_threads.py`` (about a minute on 2 cores), or ``--quick``.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np

from scratchlin import _benchtools, _threads

N_FEATURES, N_CLASSES = 784, 10


def products(batch_size, dtype):
    """A zero-argument function running both training products once, in place."""
    rng = np.random.default_rng(0)
    X = rng.random((batch_size, N_FEATURES)).astype(dtype)
    W = rng.random((N_FEATURES, N_CLASSES)).astype(dtype)
    G = rng.random((batch_size, N_CLASSES)).astype(dtype)
    logits = np.empty((batch_size, N_CLASSES), dtype)
    grad_W = np.empty((N_FEATURES, N_CLASSES), dtype)

    def run():
        np.matmul(X, W, out=logits)
        np.matmul(X.T, G, out=grad_W)
    return run


def measure(batch_size, dtype, counts, *, repeat, busy, rows_per_sample):
    calls = max(1, rows_per_sample // batch_size)
    sample = _benchtools.repeated(products(batch_size, dtype), calls)

    def at(k):
        def pinned():
            with _threads.blas_threads(k):
                sample()
        return pinned

    times = {(c, k): [] for c in ("idle", "busy") for k in counts}
    for round_number in range(repeat):
        for condition in (("idle", "busy") if round_number % 2 == 0 else ("busy", "idle")):
            with _benchtools.busy_processes(busy if condition == "busy" else 0):
                timing = _benchtools.interleaved({k: at(k) for k in counts}, repeat=1)
            for k in counts:
                times[(condition, k)].append(timing[k]["median"] / calls)
    medians = {key: statistics.median(t) for key, t in times.items()}
    return {f"{c} {k}t": {"seconds": medians[(c, k)],
                          "over_1_thread": medians[(c, k)] / medians[(c, 1)]}
            for c, k in medians}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+",
                        default=[128, 512, 2048, 8192, 16384, 60000])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--busy", type=int, default=1)
    parser.add_argument("--max-threads", type=int, default=_threads.available_cores())
    parser.add_argument("--rows-per-sample", type=int, default=65536)
    parser.add_argument("--quick", action="store_true", help="B=128 and 16384, float32, 2 rounds")
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_sizes, args.dtypes, args.repeat = [128, 16384], ["float32"], 2
    counts = list(range(1, max(2, args.max_threads) + 1))
    env = _benchtools.environment()
    print(json.dumps(env))
    records, lines = [], []
    header = ["dtype", "B", "policy"] + [f"{c} {k}t/1t" for c in ("idle", "busy") for k in counts[1:]]
    for dtype in args.dtypes:
        for batch_size in args.batch_sizes:
            result = measure(batch_size, dtype, counts, repeat=args.repeat, busy=args.busy,
                             rows_per_sample=args.rows_per_sample)
            policy = _threads.choose_n_threads(None, batch_size=batch_size,
                                               n_features=N_FEATURES, n_classes=N_CLASSES)
            records.append({"dtype": dtype, "batch_size": batch_size, "policy_threads": policy,
                            "results": result, "load": _benchtools.load_average()})
            row = [dtype, batch_size, policy] + [
                f"{result[f'{c} {k}t']['over_1_thread']:.2f}x" for c in ("idle", "busy")
                for k in counts[1:]]
            lines.append("| " + " | ".join(map(str, row)) + " |")
            print(lines[-1] + f"  (1 thread: idle {result['idle 1t']['seconds'] * 1e6:.0f} us, "
                  f"busy {result['busy 1t']['seconds'] * 1e6:.0f} us; load {records[-1]['load']})",
                  flush=True)
    table = ("### Both training products, k threads over 1 thread, idle and beside "
             f"{args.busy} busy process(es), median of {args.repeat} rounds\n\n"
             + "| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n"
             + "\n".join(lines) + f"\n\nenvironment: {json.dumps(env)}\n")
    print()
    print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_threads.json").write_text(json.dumps({"records": records, "environment": env},
                                                       indent=2) + "\n")
    (out / "bench_threads.md").write_text(table)
    print(f"wrote {out / 'bench_threads.json'} and {out / 'bench_threads.md'}")
    return records


if __name__ == "__main__":
    main()
