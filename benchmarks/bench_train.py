"""Training speed on MNIST: scratchlin against PyTorch and scikit-learn, in one run.

Two questions, each answered with ratios measured in the same process, threads pinned the same
way for every contender:

1. **One epoch** of minibatch SGD (momentum 0.9, lr 0.1) over the 60,000 training rows at
   batch sizes 64, 256 and 1024, from the same zero weights in the same row order:
   scratchlin's training loop (float32 features, and raw uint8 pixels scaled batch by batch),
   a plain NumPy loop as a reference, and PyTorch autograd + ``torch.optim.SGD``. Before
   anything is timed, the weights each produces after one epoch are compared: all did the same
   work. Beside them, measured in the same run: the time to read X once, and the *core
   floor*, timed with the contenders: per batch only the gather, the cast and the two matrix
   products, the part of an epoch no exact loop making these NumPy calls in turn can skip
   (:class:`CoreFloorEpoch`). ``--optimizer adam`` times Adam at its default rate instead, the
   epoch ``scratchlin bench`` times (then without the NumPy reference, which is SGD's; the
   weights are checked against torch's).
2. **Time to 92% and 92.5% test accuracy** with each one's full recipe: scratchlin's
   ``LinearClassifier(seed=0, solver="adam").fit`` (what the default ``solver="auto"`` runs on
   MNIST's 60,000 rows), the same recipe in PyTorch (Adam 2e-3, batches of 128, the L2 penalty
   of ``C=1``, iterations of at least 200 steps, the adaptive rate and its stopping rule, same
   shuffles), scratchlin's exact ``solver="lbfgs"``, scikit-learn's ``LogisticRegression``
   (lbfgs) and ``SGDClassifier`` (log loss), each run ``--accuracy-repeat`` times round-robin
   (medians).

Run: ``python benchmarks/bench_train.py`` (full, a few minutes) or ``--quick`` (under a minute).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

from scratchlin import ConvergenceWarning, LinearClassifier  # noqa: E402
from scratchlin._benchtools import (  # noqa: E402
    CoreFloorEpoch,
    ScratchlinEpoch,
    TorchEpoch,
    check_same_epochs,
    epoch_flop,
    epoch_steps,
)
from scratchlin.optim import DEFAULT_LR  # noqa: E402
from scratchlin.training import MIN_STEPS_PER_ITERATION  # noqa: E402

LR, MOMENTUM = 0.1, 0.9
CORE = "core floor"


# --------------------------------------------------------------------------------------------
# One epoch, three implementations of the same SGD


def recipe(optimizer, momentum):
    """The epoch timings' optimizer, for :class:`ScratchlinEpoch` and :class:`TorchEpoch`:
    SGD at lr 0.1 with ``momentum``, or Adam at its default rate (``scratchlin bench``'s)."""
    if optimizer == "adam":
        return {"optimizer": "adam"}
    return {"optimizer": "sgd", "lr": LR, "optimizer_options": {"momentum": momentum}}


class NumpyReferenceEpoch:
    """The loop a NumPy user writes first: gather, matmul, softmax, one-hot, update."""

    def __init__(self, X, labels, batch_size, momentum=MOMENTUM):
        self.X, self.labels, self.batch_size = X, labels, batch_size
        self.momentum = momentum

    def reset(self):
        self.W = np.zeros((self.X.shape[1], 10), np.float32)
        self.b = np.zeros(10, np.float32)
        self.vW, self.vb = np.zeros_like(self.W), np.zeros_like(self.b)
        self.first = True

    def run(self, order):
        for start in range(0, order.shape[0], self.batch_size):
            rows = order[start:start + self.batch_size]
            x, y = self.X[rows], self.labels[rows]
            logits = x @ self.W + self.b
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            grad = (p - np.eye(10, dtype=np.float32)[y]) / len(rows)
            gW, gb = x.T @ grad, grad.sum(axis=0)
            if self.first:  # torch's SGD: the first momentum buffer is the gradient itself
                self.vW, self.vb, self.first = gW, gb, False
            else:
                self.vW = self.momentum * self.vW + gW
                self.vb = self.momentum * self.vb + gb
            self.W -= LR * self.vW
            self.b -= LR * self.vb

    def weights(self):
        return self.W, self.b


def check_same_work(contenders: dict, order, steps: int) -> float:
    """Run one epoch of each from zeros; assert their weights agree with the NumPy
    reference's (torch's without one) within rounding; return the largest distance, in
    average steps (see :func:`scratchlin._benchtools.check_same_epochs`)."""
    reference = "numpy reference" if "numpy reference" in contenders else "torch"
    return check_same_epochs(contenders, order, reference=reference, steps=steps)


def bench_epochs(data, batch_sizes, repeat, n_threads=None, momentum=MOMENTUM, optimizer="sgd"):
    import torch

    X_uint8, X, labels = data["train"]
    floor = common.read_floor(X, repeat=max(repeat, 5))
    epoch_flops = epoch_flop(*X.shape, 10)
    arithmetic_floor = epoch_flops / common.gemm_rate(repeat=max(repeat, 3))
    rows, records = [], []
    for batch_size in batch_sizes:
        how = recipe(optimizer, momentum)
        contenders = {
            "scratchlin": ScratchlinEpoch(X, labels, batch_size, n_threads=n_threads, **how),
            "scratchlin raw_pixels": ScratchlinEpoch(X_uint8, labels, batch_size, input_scale=1 / 255,
                                                     n_threads=n_threads, **how),
            "numpy reference": NumpyReferenceEpoch(X, labels, batch_size, momentum=momentum),
            "torch": TorchEpoch(torch, X, labels, batch_size, **how),
        }
        if optimizer != "sgd":  # the NumPy reference is SGD's
            del contenders["numpy reference"]
        order = np.random.default_rng(batch_size).permutation(X.shape[0])
        steps = epoch_steps(X.shape[0], batch_size)
        agreement = check_same_work(contenders, order, steps)
        timed = dict(contenders, **{CORE: CoreFloorEpoch(X_uint8, batch_size, n_threads=n_threads)})
        timings = common.measure_interleaved(
            {name: (lambda c=c, order=order: c.run(order)) for name, c in timed.items()},
            setups={name: c.reset for name, c in timed.items()}, repeat=repeat)
        best = min(("scratchlin", "scratchlin raw_pixels"), key=lambda n: timings[n]["median"])
        median = {name: timing["median"] for name, timing in timings.items()}
        record = {
            "batch_size": batch_size,
            "rows": X.shape[0], "steps": steps, "passes": 1,
            "flop": epoch_flops,
            "timings": timings,
            "read_floor": floor,
            "arithmetic_floor_seconds": arithmetic_floor,
            "weights_apart_in_average_steps": agreement,
            "best_scratchlin": best,
            "ratio_to_torch": median[best] / median["torch"],
            "ratio_to_read_floor": median[best] / floor["median"],
            "ratio_to_core_floor": median[best] / median[CORE],
            "core_floor_ratio_to_torch": median[CORE] / median["torch"],
        }
        records.append(record)
        rows.append([batch_size, record["rows"], record["steps"]] + [common.fmt_ms(timings[n]) for n in timed]
                    + [f"{record[key]:.2f}x" for key in
                       ("ratio_to_torch", "ratio_to_read_floor", "ratio_to_core_floor", "core_floor_ratio_to_torch")])
        print(f"B={batch_size}: " + ", ".join(f"{n} {common.fmt_ms(t)}" for n, t in timings.items())
              + f"; {best} / torch = {record['ratio_to_torch']:.2f}x, / read floor = "
              f"{record['ratio_to_read_floor']:.1f}x, / core floor = {record['ratio_to_core_floor']:.2f}x; "
              f"core floor / torch = {record['core_floor_ratio_to_torch']:.2f}x", flush=True)
    header = (["B", "rows", "steps"] + [f"{name}, time per epoch" for name in timed]
              + ["best scratchlin / torch", "/ read-X floor", "/ core floor", "core floor / torch"])
    table = common.markdown_table(header, rows)
    table += (f"\nFloors measured in the same run: reading the {X.nbytes / 1e6:.0f} MB float32 X once, "
              f"{common.fmt_ms(floor)}; the epoch's {epoch_flops / 1e9:.2f} GFLOP at the large-GEMM "
              f"rate, {arithmetic_floor * 1e3:.1f} ms; the {CORE} (per batch only the uint8 gather, the cast "
              "and the two products, at scratchlin's thread count) timed with the contenders.\n")
    return records, table


# --------------------------------------------------------------------------------------------
# Time to accuracy


def first_reaching(curve, threshold):
    """Cumulative seconds at the first point of ``curve`` [(seconds, accuracy)] >= threshold."""
    for seconds, accuracy in curve:
        if accuracy >= threshold:
            return seconds
    return None


def scratchlin_curve(data, solver="adam"):
    """``LinearClassifier(seed=0, solver=solver).fit``; test accuracy after each iteration
    (measured outside the timed iterations). Adam is what ``solver="auto"`` runs on MNIST."""
    _, X, y = data["train"]
    _, X_test, y_test = data["test"]
    curve, elapsed = [], [0.0]

    def after_iteration(record):
        elapsed[0] += record["seconds"]
        curve.append((elapsed[0], model.score(X_test, y_test)))

    model = LinearClassifier(seed=0, solver=solver, callback=after_iteration)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the curve says how far it got
        model.fit(X, y)
    return curve, time.perf_counter() - started


def scratchlin_lbfgs_curve(data):
    return scratchlin_curve(data, solver="lbfgs")


def torch_curve(data, batch_size=128, lr=2e-3, C=1.0, tol=1e-3, n_iter_no_change=5, max_iter=100):
    """scratchlin's stochastic default recipe, in PyTorch: Adam on the cross-entropy plus
    ``lambda / 2 |W|^2`` with ``lambda = 1 / (C N)``, iterations of passes until 200 steps,
    the rate divided by 5 at each plateau of the mean training loss (at most twice, the next
    plateau stops), the same shuffles."""
    import torch

    _, X, y = data["train"]
    _, X_test, y_test = data["test"]
    Xt, yt, Xtt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64)), torch.from_numpy(X_test)
    W = torch.zeros((784, 10), requires_grad=True)
    b = torch.zeros(10, requires_grad=True)
    adam = torch.optim.Adam([W, b], lr=lr)
    penalty = 1.0 / (C * X.shape[0])
    steps_per_pass = -(-X.shape[0] // batch_size)
    passes = -(-MIN_STEPS_PER_ITERATION // steps_per_pass)
    rng = np.random.default_rng(0)
    curve, elapsed = [], 0.0
    best, no_change, cuts = np.inf, 0, 0
    for _ in range(max_iter):
        started = time.perf_counter()
        for group in adam.param_groups:
            group["lr"] = lr / 5 ** cuts
        total = 0.0
        for _ in range(passes):
            order = torch.from_numpy(rng.permutation(X.shape[0]))
            for start in range(0, X.shape[0], batch_size):
                rows = order[start:start + batch_size]
                loss = torch.nn.functional.cross_entropy(Xt[rows] @ W + b, yt[rows]) + 0.5 * penalty * (W * W).sum()
                adam.zero_grad(set_to_none=True)
                loss.backward()
                adam.step()
                total += loss.item() * rows.shape[0]
        elapsed += time.perf_counter() - started
        with torch.no_grad():
            accuracy = float(((Xtt @ W + b).argmax(1).numpy() == y_test).mean())
        curve.append((elapsed, accuracy))
        train_loss = total / (passes * X.shape[0])
        no_change = no_change + 1 if train_loss > best - tol else 0
        best = min(best, train_loss)
        if no_change >= n_iter_no_change:
            no_change = 0
            if cuts == 2:
                break
            cuts += 1
    return curve, elapsed


def sklearn_logistic(data):
    from sklearn.linear_model import LogisticRegression

    _, X, y = data["train"]
    _, X_test, y_test = data["test"]
    started = time.perf_counter()
    model = LogisticRegression(max_iter=100).fit(X.astype(np.float64), y)
    seconds = time.perf_counter() - started
    return [(seconds, model.score(X_test.astype(np.float64), y_test))], seconds


def sklearn_sgd(data, epochs=10):
    from sklearn.linear_model import SGDClassifier

    _, X, y = data["train"]
    _, X_test, y_test = data["test"]
    model = SGDClassifier(loss="log_loss", alpha=1e-5, random_state=0)
    curve, elapsed = [], 0.0
    for _ in range(epochs):
        started = time.perf_counter()
        model.partial_fit(X, y, classes=np.arange(10))
        elapsed += time.perf_counter() - started
        curve.append((elapsed, model.score(X_test, y_test)))
    return curve, elapsed


def _median_time(times):
    """Median over repeats of a time to accuracy; a run that never got there counts as
    infinitely slow, so the median is None when at least half of them did not."""
    median = float(np.median([np.inf if t is None else t for t in times]))
    return None if np.isinf(median) else median


def bench_accuracy(data, with_sklearn_lbfgs, repeat=1):
    """Each contender's curve ``repeat`` times, round-robin; times to accuracy are medians."""
    contenders = {"scratchlin (Adam, default fit)": scratchlin_curve, "torch (same recipe)": torch_curve,
                  "scratchlin (L-BFGS)": scratchlin_lbfgs_curve, "sklearn SGDClassifier": sklearn_sgd}
    if with_sklearn_lbfgs:
        contenders["sklearn LogisticRegression"] = sklearn_logistic
    names = list(contenders)
    runs: dict = {name: [] for name in names}
    for round_number in range(repeat):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            curve, total = contenders[name](data)
            runs[name].append({"curve": curve, "total_seconds": total,
                               "to_92": first_reaching(curve, 0.92), "to_92.5": first_reaching(curve, 0.925)})
    records, rows = {}, []
    for name in names:
        record = records[name] = {
            "runs": runs[name],
            "final_accuracy": runs[name][-1]["curve"][-1][1],
            "total_seconds": float(np.median([run["total_seconds"] for run in runs[name]])),
            "to_92": _median_time([run["to_92"] for run in runs[name]]),
            "to_92.5": _median_time([run["to_92.5"] for run in runs[name]]),
        }
        print(f"{name}: final accuracy {record['final_accuracy']:.4f}, median of {repeat}: "
              f"{record['total_seconds']:.2f} s in all, to 92%: {record['to_92']}, "
              f"to 92.5%: {record['to_92.5']}", flush=True)
    ours = records["scratchlin (Adam, default fit)"]["to_92.5"]
    for name, record in records.items():
        peer = record["to_92.5"]
        record["ratio_to_scratchlin_92.5"] = None if peer is None or ours is None else peer / ours
        fmt = lambda s: "not reached" if s is None else f"{s:.2f} s"  # noqa: E731
        ratio = record["ratio_to_scratchlin_92.5"]
        rows.append([name, f"{record['final_accuracy']:.4f}", fmt(record["to_92"]),
                     fmt(record["to_92.5"]), "-" if ratio is None else f"{ratio:.1f}x"])
    table = common.markdown_table(
        ["contender", "final test accuracy", f"time to 92% (median of {repeat})",
         f"time to 92.5% (median of {repeat})", "time to 92.5% / scratchlin's"], rows)
    return records, table


# --------------------------------------------------------------------------------------------


def _thread_setting(text):
    """``"policy"`` -> ``None`` (scratchlin's own choice), else a thread count >= 1."""
    if text == "policy":
        return None
    count = int(text)
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected 'policy' or an int >= 1, got {text!r}")
    return count


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="batch 256 only, 3 repeats, no lbfgs: under a minute")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--repeat", type=int, default=7, help="timed repeats per figure (median)")
    parser.add_argument("--threads", type=int, default=2,
                        help="BLAS and torch threads, for torch and the NumPy reference; also "
                             "scratchlin's ceiling (its policy never goes above the caller's limit)")
    parser.add_argument("--scratchlin-threads", type=_thread_setting, default=None,
                        help="scratchlin's BLAS threads in the epoch timings: 'policy' (default, "
                             "what a user gets: 1 thread at these batch sizes) or an int")
    parser.add_argument("--root", default=None, help="MNIST folder (default: the loader's)")
    parser.add_argument("--n-train", type=int, default=None, help="use only the first N rows")
    parser.add_argument("--skip-accuracy", action="store_true", help="only the epoch timings")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                        help="the epoch timings' optimizer: SGD (lr 0.1, --momentum) or Adam at "
                             "its default rate, as scratchlin bench times it")
    parser.add_argument("--momentum", type=float, default=MOMENTUM,
                        help="SGD momentum of the epoch timings (0: plain SGD, the yardstick of the torch comparison)")
    parser.add_argument("--accuracy-repeat", type=int, default=3,
                        help="runs of each time-to-accuracy contender, round-robin (median)")
    parser.add_argument("--out", default="bench-results", help="folder for JSON and markdown")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_sizes, args.repeat, args.accuracy_repeat = [256], 3, 1
    return args


def main(argv=None):
    args = parse_args(argv)
    with common.pin_threads(args.threads):
        env = common.environment(args.threads)
        for key, value in env.items():
            print(f"{key}: {value}")
        data = common.load_data(args.root, args.n_train)
        epoch_records, epoch_table = bench_epochs(data, args.batch_sizes, args.repeat,
                                                   n_threads=args.scratchlin_threads,
                                                   momentum=args.momentum, optimizer=args.optimizer)
        scratchlin_threads = ("its policy" if args.scratchlin_threads is None
                              else args.scratchlin_threads)
        name = (f"SGD (momentum {args.momentum}, lr {LR})" if args.optimizer == "sgd"
                else f"Adam (lr {DEFAULT_LR['adam']:g})")
        peers = "torch and NumPy" if args.optimizer == "sgd" else "torch"
        markdown = (f"### One epoch of {name}, float32, "
                    f"median (min..max) of {args.repeat}; {peers} at {args.threads} "
                    f"thread(s), scratchlin at {scratchlin_threads}\n\n")
        markdown += epoch_table
        results = {"epoch": epoch_records}
        if not args.skip_accuracy:
            accuracy_records, accuracy_table = bench_accuracy(data, with_sklearn_lbfgs=not args.quick,
                                                              repeat=args.accuracy_repeat)
            markdown += "\n### Time to test accuracy (each contender's full recipe)\n\n" + accuracy_table
            results["accuracy"] = accuracy_records
    common.report(args.out, "bench_train", results, markdown, env)
    return results


if __name__ == "__main__":
    main()
