r"""``scratchlin bench``: how fast softmax regression's products run on this CPU.

For each batch size B and dtype, on random MNIST-shaped data (F=784 features, C=10 classes),
one run times

* ``forward``: logits :math:`XW + b` (:math:`2BFC` FLOP);
* ``backward``: :math:`(\partial X, \partial W, \partial b)` from an upstream gradient
  (:math:`4BFC` FLOP);
* ``loss+grad``: the cross-entropy and its gradient with respect to ``W`` and ``b``
  (:math:`4BFC` FLOP: the forward product and :math:`X^\top G`);
* ``epoch``: one pass of scratchlin's training loop over ``--epoch-rows`` rows N, in
  minibatches of B, one Adam step each (:math:`\lceil N/B \rceil` steps, :math:`4NFC` FLOP in
  the two products), the pass that ``LinearClassifier.fit`` repeats,

each beside PyTorch doing the same work (when torch is installed; it is never required): the
same rows, and for the epoch the same minibatches in the same order, the same steps of the same
optimizer, checked by comparing the weights both reach before anything is timed. Every
contender runs at the thread count scratchlin's policy picks for that B (``--threads`` to force
one); ``--ops`` selects operations. Next to each time: GFLOP/s, GB/s read of ``X``, and
``x floor``, the time over a floor measured in the same run: for an operation, the larger of
reading ``X`` once at this machine's memory bandwidth and doing the FLOP at the rate of a
large square product; for the epoch, the *core floor*, an epoch of only the per-batch gather
and the two products, timed with the contenders. Then the thread scaling: ``loss+grad`` in
float32 at 1..n threads, as a speed-up over 1 thread.

Contenders are timed round-robin, each figure the median of ``--repeat`` rounds (fewer, at
least one, once the figure's share of ``--time-budget`` is spent: ``rounds`` in the JSON); see
:mod:`scratchlin._benchtools`. Run ``scratchlin bench`` (about a minute on 2 cores),
``--quick`` (a few seconds), ``--json`` for machine-readable output, ``--plot PATH`` for a
figure of throughput against batch size (needs matplotlib).
"""
from __future__ import annotations

import argparse
import functools
import json
import sys

import numpy as np

from . import _benchtools as tools
from . import _threads, functional, objective, optim

__all__ = ["SCHEMA", "add_parser", "main", "run"]

#: Identifies the layout of ``--json`` output; bumped when a field changes meaning.
SCHEMA = "scratchlin.bench/2"
N_FEATURES, N_CLASSES = 784, 10
#: What the tables' "x floor" columns mean, printed under them.
X_FLOOR_LEGEND = ("x floor: the time over the larger of two floors measured in this run, reading X "
                  "once at the memory bandwidth below\n  and doing the FLOP at the large-GEMM "
                  "rate below; 1.0 is as fast as this machine allows, 3.0 three times slower")
X_CORE_FLOOR_LEGEND = ("x core floor: the epoch's time over the core floor, an epoch of only the "
                       "per-batch gather and the two products\n  X_b W and G^T X_b (same rows, "
                       "buffers and threads), timed with the contenders")
OPS = ("forward", "backward", "loss+grad", "epoch")
PER_CALL_OPS = OPS[:3]
DEFAULT_BATCH_SIZES = [64, 256, 2048, 16384]
DEFAULTS: dict = {"batch_sizes": DEFAULT_BATCH_SIZES, "dtypes": ["float32", "float64"],
                  "repeat": 5, "rows_per_sample": 16384, "epoch_rows": 16384, "time_budget": 45.0,
                  "ops": list(OPS)}
QUICK = {"batch_sizes": [64], "dtypes": ["float32"], "repeat": 1, "rows_per_sample": 256,
         "epoch_rows": 512, "time_budget": 0.0, "ops": list(OPS)}
#: The epoch's recipe, the same on both sides: the estimator's default optimizer and rate,
#: no penalty, zero initial weights.
EPOCH_OPTIMIZER = "adam"
CORE = "core floor"


# --------------------------------------------------------------------------------------------
# What is timed. The scratchlin side goes through these two adapters only, so switching to
# another implementation is a one-line change in each.


def scratchlin_loss_and_grad(W, b, X, labels, workspace=None):
    """scratchlin's mean cross-entropy of ``X W + b`` and its gradient ``(loss, dW, db)``,
    the training objective itself (in ``workspace``'s buffers when one is given)."""
    return objective.loss_and_grad(W, b, X, labels, out=workspace)


def epoch_contenders(torch, X, labels, batch_size, n_threads) -> dict:
    """One epoch each of scratchlin's training loop, of PyTorch (when ``torch`` is not None)
    and of the core floor, over ``(X, labels)`` in minibatches of ``batch_size``: objects with
    ``reset()`` and ``run(order)`` (see :mod:`scratchlin._benchtools`)."""
    contenders: dict = {"scratchlin": tools.ScratchlinEpoch(X, labels, batch_size, optimizer=EPOCH_OPTIMIZER,
                                                            n_threads=n_threads, n_classes=N_CLASSES)}
    if torch is not None:
        contenders["torch"] = tools.TorchEpoch(torch, X, labels, batch_size,
                                               optimizer=EPOCH_OPTIMIZER, n_classes=N_CLASSES)
    contenders[CORE] = tools.CoreFloorEpoch(X, batch_size, n_threads=n_threads, n_classes=N_CLASSES)
    return contenders


# --------------------------------------------------------------------------------------------
# The problem and the two contenders


def make_problem(n_rows, dtype, seed=0):
    """Random ``(X, W, b, labels, G)``: X in [0, 1), labels a linear rule of X (learnable)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_rows, N_FEATURES)).astype(dtype)
    W = (0.01 * rng.standard_normal((N_FEATURES, N_CLASSES))).astype(dtype)
    b = (0.01 * rng.standard_normal(N_CLASSES)).astype(dtype)
    labels = np.argmax(X @ rng.standard_normal((N_FEATURES, N_CLASSES)).astype(dtype), axis=1)
    G = rng.standard_normal((n_rows, N_CLASSES)).astype(dtype)
    return X, W, b, labels.astype(np.intp), G


def flop_count(op, n_rows):
    """Useful floating-point operations of ``op`` on ``n_rows`` rows (see the module doc)."""
    return (2 if op == "forward" else 4) * n_rows * N_FEATURES * N_CLASSES


def scratchlin_ops(X, W, b, labels, G):
    workspace = objective.Workspace(N_FEATURES, N_CLASSES, X.shape[0], X.dtype)
    return {"forward": lambda: functional.linear(X, W, b),
            "backward": lambda: functional.linear_backward(G, X, W),
            "loss+grad": lambda: scratchlin_loss_and_grad(W, b, X, labels, workspace)}


def torch_ops(torch, X, W, b, labels, G):
    """The same three operations in PyTorch (autograd for the gradients)."""
    Xt, Wt, bt, Gt = (torch.from_numpy(a) for a in (X, W, b, G))
    yt = torch.from_numpy(labels.astype(np.int64))
    Xg, Wg, bg = (t.clone().requires_grad_(True) for t in (Xt, Wt, bt))

    def forward():
        with torch.no_grad():
            return Xt @ Wt + bt

    def backward():
        Xg.grad = Wg.grad = bg.grad = None
        (Xg @ Wg + bg).backward(Gt)

    def loss_and_grad():
        Wg.grad = bg.grad = None
        torch.nn.functional.cross_entropy(Xt @ Wg + bg, yt).backward()

    return {"forward": forward, "backward": backward, "loss+grad": loss_and_grad}


def check_loss_and_grad(X, W, b, labels):
    """scratchlin's loss and gradients against float64 NumPy written here, before timing.

    Tolerance: 1e-4 relative in float32 (sums of B*784 terms in float32 round at ~1e-6
    relative; 100x room), 1e-10 in float64.
    """
    X64, W64, b64 = (a.astype(np.float64) for a in (X, W, b))
    logits = X64 @ W64 + b64
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(labels))
    G = np.exp(log_p)
    G[rows, labels] -= 1
    G /= len(labels)
    expected = (-log_p[rows, labels].mean(), X64.T @ G, G.sum(axis=0))
    rtol = 1e-4 if X.dtype == np.float32 else 1e-10
    for name, got, want in zip(("loss", "grad_W", "grad_b"),
                               scratchlin_loss_and_grad(W, b, X, labels), expected):
        scale = float(np.abs(want).max()) or 1.0
        if float(np.abs(np.asarray(got, np.float64) - want).max()) > rtol * scale:
            raise AssertionError(f"scratchlin's {name} disagrees with the NumPy reference "
                                 f"({X.dtype.name}); refusing to time a wrong result")


# --------------------------------------------------------------------------------------------
# Measuring


class _Threads:
    """Pin BLAS (through scratchlin's own limiter) and torch to one count, restoring both."""

    def __init__(self, torch, n_threads):
        self.torch, self.n_threads = torch, n_threads

    def __enter__(self):
        self.blas = _threads.blas_threads(self.n_threads)
        self.blas.__enter__()
        if self.torch is not None:
            self.torch_before = self.torch.get_num_threads()
            self.torch.set_num_threads(self.n_threads)

    def __exit__(self, *exc):
        if self.torch is not None:
            self.torch.set_num_threads(self.torch_before)
        return self.blas.__exit__(*exc)


def _record(op, dtype, batch_size, contender, n_threads, timing, work, floor):
    """One figure: the median time of ``work`` (``rows``, ``steps``, ``flop``[, ``passes``])
    and the rates and ``x_floor`` against ``floor`` (``(name, seconds)``) that follow from it."""
    seconds = timing["median"]
    x_bytes = work["rows"] * N_FEATURES * np.dtype(dtype).itemsize
    floor_name, floor_seconds = floor
    return {"op": op, "dtype": dtype, "batch_size": batch_size, "contender": contender,
            "threads": n_threads, "seconds": seconds, "min": timing["min"], "max": timing["max"],
            "rounds": len(timing["times"]), **work,
            "gflop_per_s": work["flop"] / seconds / 1e9, "gb_per_s": x_bytes / seconds / 1e9,
            "floor": floor_name, "floor_seconds": floor_seconds, "x_floor": seconds / floor_seconds}


def _n_threads(settings, batch_size) -> int:
    return settings.threads or _threads.choose_n_threads(
        None, batch_size=batch_size, n_features=N_FEATURES, n_classes=N_CLASSES) or 1


def measure_ops(settings, torch, floors, log, budget=None):
    """Records of the selected operations (``settings.ops``) at every (dtype, B)."""
    records = []
    for dtype in settings.dtypes:
        epoch_X, _, _, epoch_labels, _ = make_problem(settings.epoch_rows, dtype, seed=1)
        for batch_size in settings.batch_sizes:
            n_threads = _n_threads(settings, batch_size)
            with _Threads(torch, n_threads):
                if any(op in settings.ops for op in PER_CALL_OPS):
                    records += _measure_per_call(settings, torch, floors, log, budget, dtype,
                                                 batch_size, n_threads)
                if "epoch" in settings.ops:
                    records += measure_epoch(settings, torch, log, budget, epoch_X, epoch_labels,
                                             batch_size, n_threads)
    return records


def _measure_per_call(settings, torch, floors, log, budget, dtype, batch_size, n_threads):
    """forward, backward and loss+grad (those selected) on one batch of ``batch_size`` rows."""
    X, W, b, labels, G = make_problem(batch_size, dtype)
    check_loss_and_grad(X, W, b, labels)
    calls = max(1, settings.rows_per_sample // batch_size)
    ours = scratchlin_ops(X, W, b, labels, G)
    theirs = torch_ops(torch, X, W, b, labels, G) if torch is not None else {}
    records = []
    for op in (op for op in PER_CALL_OPS if op in settings.ops):
        runs = {"scratchlin": tools.repeated(ours[op], calls)}
        if torch is not None:
            runs["torch"] = tools.repeated(theirs[op], calls)
        timings = tools.interleaved(runs, repeat=settings.repeat, time_limit=budget and budget.share())
        work = {"rows": batch_size, "steps": 0, "flop": flop_count(op, batch_size)}
        x_bytes = batch_size * N_FEATURES * np.dtype(dtype).itemsize
        floor = max(x_bytes / floors["read_bytes_per_s"], work["flop"] / floors["gemm_flop_per_s"][dtype])
        for contender, timing in timings.items():
            per_call = dict(timing, **{k: timing[k] / calls for k in ("median", "min", "max")})
            records.append(_record(op, dtype, batch_size, contender, n_threads, per_call, work,
                                   ("read X or large GEMM", floor)))
        log(f"{dtype} B={batch_size} {op} ({n_threads} thread(s)): " + ", ".join(
            f"{name} {t['median'] / calls * 1e6:.1f} us" for name, t in timings.items()))
    return records


def measure_epoch(settings, torch, log, budget, X, labels, batch_size, n_threads):
    """One epoch over ``(X, labels)`` in minibatches of ``batch_size``: scratchlin, torch and
    the core floor, interleaved, each from zero weights, all in the same row order.

    Before timing, scratchlin's and torch's weights after one epoch must agree
    (:func:`scratchlin._benchtools.check_same_epochs`): the same weights mean the same rows,
    minibatches and steps.
    """
    dtype = X.dtype.name
    order = np.random.default_rng(batch_size).permutation(X.shape[0])
    contenders = epoch_contenders(torch, X, labels, batch_size, n_threads)
    steps = tools.epoch_steps(X.shape[0], batch_size)
    if torch is not None:
        tools.check_same_epochs({name: contenders[name] for name in ("scratchlin", "torch")}, order,
                                reference="torch", steps=steps)
    timings = tools.interleaved({name: functools.partial(c.run, order) for name, c in contenders.items()},
                                setups={name: c.reset for name, c in contenders.items()},
                                repeat=settings.repeat, time_limit=budget and budget.share())
    work = {"rows": X.shape[0], "steps": steps, "passes": 1,
            "flop": tools.epoch_flop(X.shape[0], N_FEATURES, N_CLASSES)}
    floor = (CORE, timings.pop(CORE)["median"])
    log(f"{dtype} B={batch_size} epoch ({n_threads} thread(s), {work['steps']} steps): "
        + ", ".join(f"{name} {t['median'] * 1e3:.1f} ms" for name, t in timings.items())
        + f", {CORE} {floor[1] * 1e3:.1f} ms")
    return [_record("epoch", dtype, batch_size, contender, n_threads, timing, work, floor)
            for contender, timing in timings.items()]


def measure_scaling(settings, torch, log, budget=None):
    """loss+grad in float32 at 1..max_threads threads, at every B: speed-up over 1 thread."""
    counts = list(range(1, settings.max_threads + 1))
    records = []
    for batch_size in settings.batch_sizes:
        X, W, b, labels, G = make_problem(batch_size, "float32")
        calls = max(1, settings.rows_per_sample // batch_size)
        ours = tools.repeated(scratchlin_ops(X, W, b, labels, G)["loss+grad"], calls)
        theirs = (tools.repeated(torch_ops(torch, X, W, b, labels, G)["loss+grad"], calls)
                  if torch is not None else None)
        runs = {}
        for k in counts:
            runs[("scratchlin", k)] = _pinned(ours, torch, k)
            if theirs is not None:
                runs[("torch", k)] = _pinned(theirs, torch, k)
        timings = tools.interleaved(runs, repeat=settings.repeat,
                                    time_limit=budget and budget.share())
        for (contender, k), timing in timings.items():
            one = timings[(contender, 1)]["median"]
            records.append({"op": "loss+grad", "dtype": "float32", "batch_size": batch_size,
                            "contender": contender, "threads": k,
                            "seconds": timing["median"] / calls, "rounds": len(timing["times"]),
                            "speedup_vs_1_thread": one / timing["median"]})
        log(f"scaling B={batch_size}: " + ", ".join(
            f"{c} {k}t {t['median'] / calls * 1e6:.1f} us" for (c, k), t in timings.items()))
    return records


def _pinned(run, torch, n_threads):
    def pinned_run():
        with _Threads(torch, n_threads):
            run()
    return pinned_run


def measure_floors(settings, log):
    """The yardsticks: memory read bandwidth, and the large-GEMM rate per dtype (the best of
    1 thread and all ``max_threads``: on a busy machine more threads can be slower)."""
    repeat = max(3, settings.repeat)
    read_bytes_per_s = tools.read_bandwidth(repeat=repeat)
    gemm_flop_per_s: dict[str, float] = {}
    for dtype in settings.dtypes:
        rates = []
        for n_threads in sorted({1, settings.max_threads}):
            with _threads.blas_threads(n_threads):
                rates.append(tools.gemm_rate(dtype, size=512 if settings.quick else 1024,
                                             repeat=repeat))
        gemm_flop_per_s[dtype] = max(rates)
    log(f"floors: read {read_bytes_per_s / 1e9:.1f} GB/s, large GEMM "
        + ", ".join(f"{d} {r / 1e9:.1f} GFLOP/s" for d, r in gemm_flop_per_s.items()))
    return {"read_bytes_per_s": read_bytes_per_s, "gemm_flop_per_s": gemm_flop_per_s}


# --------------------------------------------------------------------------------------------
# Reporting


def format_table(results) -> str:
    """The terminal report: a table of the per-call operations and one of the epoch, one row
    per (dtype, op, B), each row's work (rows, steps, FLOP) on its left, torch beside it."""
    records = {(r["dtype"], r["op"], r["batch_size"], r["contender"]): r for r in results["records"]}
    has_torch = results["torch"] is not None
    lines = []
    per_call = [key for key in records if key[1] != "epoch" and key[3] == "scratchlin"]
    if per_call:
        header = ["dtype", "op", "B", "thr", "rows", "steps", "MFLOP", "us/call", "GFLOP/s", "GB/s",
                  "x floor"] + (["torch us/call", "torch/ours"] if has_torch else [])
        rows = [_row(records, key, has_torch, unit=1e6) for key in per_call]
        lines += ["one call of each operation on B rows:", _aligned(header, rows), X_FLOOR_LEGEND, ""]
    epochs = [key for key in records if key[1] == "epoch" and key[3] == "scratchlin"]
    if epochs:
        header = ["dtype", "op", "B", "thr", "rows", "steps", "MFLOP", "ms/epoch", "GFLOP/s", "GB/s",
                  "x core floor"] + (["torch ms/epoch", "torch/ours"] if has_torch else [])
        rows = [_row(records, key, has_torch, unit=1e3) for key in epochs]
        lines += ["one epoch: one pass over the rows in minibatches of B, one step per minibatch "
                  f"({results['settings']['epoch_recipe']}), the same order on both sides:",
                  _aligned(header, rows), X_CORE_FLOOR_LEGEND, ""]
    floors = results["floors"]
    lines.append(f"floors: read {floors['read_gb_per_s']:.1f} GB/s; large GEMM "
                 + ", ".join(f"{d} {g:.1f} GFLOP/s" for d, g in floors["gemm_gflop_per_s"].items()))
    scaling = results["thread_scaling"]
    if scaling:
        lines.append("\nthread scaling, loss+grad float32 (speed-up over 1 thread):")
        counts = sorted({r["threads"] for r in scaling})
        contenders = list(dict.fromkeys(r["contender"] for r in scaling))
        table = {(r["contender"], r["batch_size"], r["threads"]): r for r in scaling}
        rows = [[c, batch_size] + [f"{table[(c, batch_size, k)]['speedup_vs_1_thread']:.2f}x"
                                   for k in counts]
                for batch_size in dict.fromkeys(r["batch_size"] for r in scaling) for c in contenders]
        lines.append(_aligned(["contender", "B"] + [f"{k} thr" for k in counts], rows))
    env = results["environment"]
    lines.append(f"\n{env['date']}; {env['machine']}")
    lines.append(f"BLAS: {'; '.join(env['blas'])}; OpenBLAS variables: "
                 f"{env['openblas variables'] or 'none set'}; torch: {results['torch'] or 'not installed'}")
    lines.append(f"threads: {results['settings']['threads']}; load average before/after: "
                 f"{env['load average']} / {results['load_after']}")
    return "\n".join(lines)


def _row(records, key, has_torch, unit) -> list:
    """A table row: the record's work, its time in ``1 / unit`` seconds, rates, floor, torch."""
    dtype, op, batch_size, _ = key
    r = records[key]
    row = [dtype, op, batch_size, r["threads"], r["rows"], r["steps"], f"{r['flop'] / 1e6:.1f}",
           f"{r['seconds'] * unit:.1f}", f"{r['gflop_per_s']:.1f}", f"{r['gb_per_s']:.1f}",
           f"{r['x_floor']:.1f}"]
    if has_torch:
        peer = records[(dtype, op, batch_size, "torch")]
        row += [f"{peer['seconds'] * unit:.1f}", f"{peer['seconds'] / r['seconds']:.2f}x"]
    return row


def _aligned(header, rows) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    return "\n".join("  ".join(str(x).rjust(w) for x, w in zip(line, widths))
                     for line in [header] + rows)


def plot(results, path) -> None:
    """Throughput (GFLOP/s) against batch size, one panel per dtype, one line per op."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dtypes = list(dict.fromkeys(r["dtype"] for r in results["records"]))
    figure, axes = plt.subplots(1, len(dtypes), figsize=(6 * len(dtypes), 4.2), squeeze=False)
    for ax, dtype in zip(axes[0], dtypes):
        for op in OPS:
            for contender, style in (("scratchlin", "-o"), ("torch", "--s")):
                points = sorted((r["batch_size"], r["gflop_per_s"]) for r in results["records"]
                                if r["dtype"] == dtype and r["op"] == op
                                and r["contender"] == contender)
                if points:
                    ax.plot(*zip(*points), style, label=f"{contender} {op}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size B")
        ax.set_ylabel("GFLOP/s")
        ax.set_title(f"{dtype}, threads by scratchlin's policy")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


# --------------------------------------------------------------------------------------------
# The command


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``bench`` command to a CLI's ``subparsers`` and return its parser.

    The parser's defaults name the command's entry point twice, ``run`` (the ``scratchlin``
    CLI's convention) and ``handler``; it has ``--traceback``, as every command does.
    """
    parser = subparsers.add_parser(
        "bench", help="time forward, backward, loss+grad and an epoch on this CPU",
        description=__doc__.split("\n\n")[0].replace("``", "").replace(r"\partial ", "d"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(parser)
    parser.set_defaults(run=run, handler=run)
    return parser


def _add_arguments(parser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="B=64, float32, 1 round, tiny samples: a smoke test (seconds)")
    parser.add_argument("--batch-sizes", type=_positive_int, nargs="+", metavar="B",
                        help=f"default: {' '.join(map(str, DEFAULT_BATCH_SIZES))}")
    parser.add_argument("--dtypes", nargs="+", choices=("float32", "float64"),
                        help="default: float32 float64")
    parser.add_argument("--ops", nargs="+", choices=OPS, metavar="OP",
                        help=f"operations to time, of {', '.join(OPS)} (default: all; the "
                             "thread scaling runs with loss+grad)")
    parser.add_argument("--repeat", type=_positive_int,
                        help=f"timed rounds per figure, median reported (default {DEFAULTS['repeat']})")
    parser.add_argument("--threads", type=_positive_int, default=None,
                        help="BLAS (and torch) threads for every figure (default: scratchlin's "
                             "policy for each B)")
    parser.add_argument("--max-threads", type=_positive_int, default=None,
                        help="thread scaling from 1 to this (default: the cores available)")
    parser.add_argument("--time-budget", type=float, metavar="SECONDS",
                        help="seconds shared among the figures: a figure starts no new round "
                             "once its share is spent, so a loaded machine gets fewer rounds, not "
                             f"a longer run; 0 for no limit (default {DEFAULTS['time_budget']:g})")
    parser.add_argument("--epoch-rows", type=_positive_int,
                        help=f"rows of the epoch's data set (default {DEFAULTS['epoch_rows']})")
    parser.add_argument("--no-torch", action="store_true", help="do not time torch even if installed")
    parser.add_argument("--json", action="store_true",
                        help="print the results as JSON instead of the table (progress lines "
                             "always go to stderr, so stdout holds only the results)")
    parser.add_argument("--plot", metavar="PATH", default=None,
                        help="save throughput against batch size to PATH (needs matplotlib)")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full Python traceback on errors (for bug reports)")


def _settings(args) -> argparse.Namespace:
    """``args`` with every unset size filled from the defaults (or ``--quick``'s)."""
    base = QUICK if args.quick else DEFAULTS
    settings = argparse.Namespace(**vars(args))
    for key, value in base.items():
        if getattr(settings, key, None) is None:
            setattr(settings, key, value)
    settings.ops = list(dict.fromkeys(settings.ops))
    settings.max_threads = args.max_threads or (min(2, _threads.available_cores()) if args.quick
                                                else _threads.available_cores())
    return settings


def _import_torch(skip: bool):
    if skip:
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch


def run(args) -> int:
    """Run the benchmark described by parsed ``args``; print the table (or JSON); return 0.

    Raises
    ------
    ImportError
        If ``--plot`` is given and matplotlib is not installed (checked before any timing).
    """
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ImportError("--plot needs matplotlib, which is not installed; install it with "
                              "'pip install matplotlib' (or 'pip install scratchlin[plot]')") from None
    settings = _settings(args)
    def log(text):  # progress: stderr, so 'scratchlin bench > out.txt' holds only the results
        print(text, file=sys.stderr, flush=True)

    torch = _import_torch(args.no_torch)
    environment = tools.environment()
    log(f"threads: {settings.threads or 'policy'}; BLAS {environment['blas']}; "
        f"load average {environment['load average']}; torch "
        f"{'not used' if torch is None else torch.__version__}")
    floors = measure_floors(settings, log)
    with_scaling = "loss+grad" in settings.ops
    figures = (len(settings.dtypes) * len(settings.batch_sizes) * len(settings.ops)
               + with_scaling * len(settings.batch_sizes))
    budget = tools.TimeBudget(settings.time_budget or None, figures)
    records = measure_ops(settings, torch, floors, log, budget)
    scaling = measure_scaling(settings, torch, log, budget) if with_scaling else []
    results = {
        "schema": SCHEMA,
        "environment": environment,
        "torch": None if torch is None else torch.__version__,
        "settings": {"ops": settings.ops, "batch_sizes": settings.batch_sizes, "dtypes": settings.dtypes,
                     "repeat": settings.repeat, "time_budget": settings.time_budget or None,
                     "rows_per_sample": settings.rows_per_sample,
                     "epoch_rows": settings.epoch_rows, "threads": settings.threads or "policy",
                     "max_threads": settings.max_threads,
                     "epoch_recipe": f"{EPOCH_OPTIMIZER}, lr {optim.DEFAULT_LR[EPOCH_OPTIMIZER]:g}, "
                                     "no penalty, zero initial weights"},
        "floors": {"read_gb_per_s": floors["read_bytes_per_s"] / 1e9,
                   "gemm_gflop_per_s": {d: r / 1e9 for d, r in floors["gemm_flop_per_s"].items()}},
        "records": records,
        "thread_scaling": scaling,
        "load_after": tools.load_average(),
    }
    if args.plot is not None:
        plot(results, args.plot)
        log(f"wrote {args.plot}")
    if args.json:
        print(json.dumps(results, indent=2, default=_json_default))
    else:
        print(format_table(results))
    return 0


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def main(argv=None) -> int:
    """``python -m scratchlin.bench [options]``: the same as ``scratchlin bench``."""
    parser = argparse.ArgumentParser(prog="scratchlin bench", description=__doc__.split("\n\n")[0])
    _add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ImportError as error:
        if args.traceback:
            raise
        print(f"scratchlin bench: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
