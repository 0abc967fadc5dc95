"""The default fit on a shared machine: idle, and beside one busy process, per thread setting.

Measured before the thread policy: on a 2-core machine, the default ``LinearClassifier(seed=0).fit`` on MNIST took 3x
its idle time when one other process kept a core busy, because OpenBLAS's two threads spin
waiting for each other on products far too small to need them. This script measures, in one
run, the fit idle and beside ``--busy`` processes running ``while True: pass`` (started and
killed here), for three settings:

* ``policy``: scratchlin's default (``n_threads=None``, :mod:`scratchlin._threads`);
* ``2 threads`` and ``1 thread``: forced through ``n_threads``.

Every round runs all six (setting, condition) pairs, conditions and settings in an order
rotated each round, so a slow spell of the shared machine hits all of them alike. The figure
is the median of ``--repeat`` rounds; the result is each setting's busy/idle ratio, and each
setting's idle time over the best setting's. The load average is printed for every round.

Beside each fit's wall time go its CPU time (all the process's threads) and its involuntary
context switches. They tell two causes of a busy/idle ratio above 1 apart:

* CPU time grows with wall time: the fit did more work, e.g. BLAS threads spinning while
  they wait for a sibling the scheduler took away (the 2-thread setting), or slower memory
  and caches shared with the busy process;
* CPU time stays while wall time and the switches grow: the fit waited for a core. With the
  busy process on one of 2 cores, any third program (another user's job) can only run on
  the fit's core. That is the machine's load, not scratchlin's doing, and it disappears on
  a machine where nothing else runs.

Beside them go the minibatch steps of each setting's fits (from ``history_``): thread counts
change the last bits of the sums, which can move the iteration at which the stopping rule ends
a fit, so the times compare the same work only where the steps agree.

Run: ``python benchmarks/bench_contention.py`` (about 2-4 minutes on 2 cores), or ``--quick``.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import numpy as np

from scratchlin import LinearClassifier, _benchtools, _threads, datasets

SETTINGS = {"policy": None, "2 threads": 2, "1 thread": 1}


def fit_default(X, labels, n_threads):
    """The default fit with ``n_threads`` (``None``: the policy).

    Returns
    -------
    tuple of (float, float, int, str)
        Wall seconds, CPU seconds of the whole process (every thread), involuntary context
        switches (times the scheduler took the core away) during the fit, and the fit's work
        (:func:`_work`: thread counts change the last bits, which can change when the
        stopping rule ends the fit).
    """
    model = LinearClassifier(seed=0, n_threads=n_threads)
    with _measured() as measured:
        model.fit(X, labels)
    return (*measured, _work(model.history_))


def _work(history) -> str:
    """A fit's work: its minibatch steps (Adam), or its objective evaluations (L-BFGS, the
    default below 20,000 rows)."""
    unit = "steps" if "steps" in history[0] else "evaluations"
    return f"{sum(record[unit] for record in history)} {unit}"


class _measured:
    """Context manager whose value, after the block, is (wall s, CPU s, involuntary switches)."""

    def __enter__(self):
        self.started = (time.perf_counter(), time.process_time(), _involuntary_switches())
        self.value = []
        return self.value

    def __exit__(self, *exc):
        wall, cpu, switches = self.started
        self.value.extend([time.perf_counter() - wall, time.process_time() - cpu,
                           _involuntary_switches() - switches])
        return False


def _involuntary_switches() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw


def run(X, labels, *, repeat: int, busy: int) -> dict:
    times = {(setting, condition): [] for setting in SETTINGS for condition in ("idle", "busy")}
    cpu = {key: [] for key in times}
    switches = {key: [] for key in times}
    steps = {key: [] for key in times}
    loads = []
    fit_default(X, labels, None)  # warm-up: page in the data, load the BLAS kernels
    for round_number in range(repeat):
        conditions = ["idle", "busy"] if round_number % 2 == 0 else ["busy", "idle"]
        for condition in conditions:
            settings = list(SETTINGS)
            shift = round_number % len(settings)
            settings = settings[shift:] + settings[:shift]
            with _benchtools.busy_processes(busy if condition == "busy" else 0):
                for setting in settings:
                    wall, cpu_seconds, switched, made = fit_default(X, labels, SETTINGS[setting])
                    steps[(setting, condition)].append(made)
                    times[(setting, condition)].append(wall)
                    cpu[(setting, condition)].append(cpu_seconds)
                    switches[(setting, condition)].append(switched)
        loads.append(_benchtools.load_average())
        print(f"round {round_number + 1}/{repeat}: " + ", ".join(
            f"{s} {c} {t[-1]:.2f}s (cpu {cpu[(s, c)][-1]:.2f}s)" for (s, c), t in times.items())
            + f"; load {loads[-1]}",
            flush=True)
    summary = {}
    for setting in SETTINGS:
        idle = statistics.median(times[(setting, "idle")])
        busy_time = statistics.median(times[(setting, "busy")])
        idle_cpu = statistics.median(cpu[(setting, "idle")])
        busy_cpu = statistics.median(cpu[(setting, "busy")])
        summary[setting] = {"idle_median_s": idle, "busy_median_s": busy_time,
                            "busy_over_idle": busy_time / idle,
                            "idle_cpu_median_s": idle_cpu, "busy_cpu_median_s": busy_cpu,
                            "busy_over_idle_cpu": busy_cpu / idle_cpu,
                            "idle_switches_median": statistics.median(switches[(setting, "idle")]),
                            "busy_switches_median": statistics.median(switches[(setting, "busy")]),
                            "steps": sorted(set(steps[(setting, "idle")] + steps[(setting, "busy")])),
                            "idle_times": times[(setting, "idle")],
                            "busy_times": times[(setting, "busy")],
                            "idle_cpu_times": cpu[(setting, "idle")],
                            "busy_cpu_times": cpu[(setting, "busy")]}
    best_idle = min(s["idle_median_s"] for s in summary.values())
    for record in summary.values():
        record["idle_over_best_idle"] = record["idle_median_s"] / best_idle
    return {"settings": summary, "load_per_round": loads}


def markdown(results, args, env) -> str:
    policy = results["policy_threads"]
    lines = [(f"### Default fit idle and beside {args.busy} busy process(es), median of "
              f"{args.repeat} interleaved rounds\n"),
             "| setting | idle | busy | busy / idle | idle / best idle | CPU s idle / busy "
             "| CPU busy / idle | involuntary switches idle / busy | work per fit |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results["settings"].items():
        label = f"policy ({policy} thread(s) at B=128)" if name == "policy" else name
        lines.append(f"| {label} | {r['idle_median_s']:.2f} s | {r['busy_median_s']:.2f} s | "
                     f"{r['busy_over_idle']:.2f}x | {r['idle_over_best_idle']:.2f}x | "
                     f"{r['idle_cpu_median_s']:.2f} / {r['busy_cpu_median_s']:.2f} | "
                     f"{r['busy_over_idle_cpu']:.2f}x | "
                     f"{r['idle_switches_median']:.0f} / {r['busy_switches_median']:.0f} | "
                     f"{', '.join(map(str, r['steps']))} |")
    lines.append(f"\nrows: {results['n_train']}; load average per round: {results['load_per_round']}; "
                 f"environment: {json.dumps(env)}\n")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--busy", type=int, default=1, help="busy processes in the busy condition")
    parser.add_argument("--n-train", type=int, default=None, help="use only the first N rows")
    parser.add_argument("--root", default=None, help="MNIST folder (default: the loader's)")
    parser.add_argument("--quick", action="store_true", help="2 rounds on 10,000 rows")
    parser.add_argument("--out", default="bench-results", help="folder for JSON and markdown")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.n_train = 2, args.n_train or 10_000
    images, labels = datasets.load_mnist("train", root=args.root)
    X = datasets.to_float(datasets.flatten(images))[: args.n_train]
    labels = labels[: args.n_train].astype(np.intp)
    env = _benchtools.environment()
    print(json.dumps(env))
    results = run(X, labels, repeat=args.repeat, busy=args.busy)
    results["policy_threads"] = _threads.choose_n_threads(None, batch_size=128,
                                                          n_features=X.shape[1], n_classes=10)
    results["n_train"], results["environment"] = int(X.shape[0]), env
    text = markdown(results, args, env)
    print()
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_contention.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "bench_contention.md").write_text(text)
    print(f"wrote {out / 'bench_contention.json'} and {out / 'bench_contention.md'}")
    return results


if __name__ == "__main__":
    main()
