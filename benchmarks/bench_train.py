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
   (:class:`CoreFloorEpoch`).
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

from scratchlin import ConvergenceWarning, LinearClassifier, _threads, objective  # noqa: E402
from scratchlin.training import MIN_STEPS_PER_ITERATION, Parameters, Trainer, TrainingSettings  # noqa: E402

LR, MOMENTUM = 0.1, 0.9
CORE = "core floor"


# --------------------------------------------------------------------------------------------
# One epoch, three implementations of the same SGD


class _GivenOrder:
    """Stands in for the trainer's Generator so that every contender visits rows in one order."""

    def __init__(self, order):
        self.order = order

    def permutation(self, n_rows):
        assert n_rows == self.order.shape[0]
        return self.order


class ScratchlinEpoch:
    """scratchlin's own loop: one pass of ``training.Trainer`` (the public objective, the SGD
    of ``scratchlin.optim`` on the flat parameters), with the benchmark's thread count. (Its
    ``partial_fit`` is an iteration, passes repeated until 200 steps: several epochs on small
    data or large batches, so the pass itself is timed.)"""

    def __init__(self, X, labels, batch_size, input_scale=1.0, n_threads=None, momentum=MOMENTUM):
        self.X, self.labels = X, labels
        self.settings = TrainingSettings(lr=LR, batch_size=batch_size, optimizer="sgd",
                                         optimizer_options={"momentum": momentum},
                                         input_scale=input_scale, n_threads=n_threads)

    def reset(self):
        self.params = Parameters(self.X.shape[1], 10, np.float32)
        self.trainer = Trainer(self.params, self.settings, np.random.default_rng(0))

    def run(self, order):
        self.trainer.rng = _GivenOrder(order)
        batch_size = min(self.settings.batch_size, self.X.shape[0])
        with self.trainer.blas_threads(batch_size):
            self.trainer._epoch(self.X, self.labels, None, batch_size, LR, (1, 1))

    def weights(self):
        return self.params.W, self.params.b


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


class TorchEpoch:
    """PyTorch autograd + ``nn.functional.cross_entropy`` + ``torch.optim.SGD``."""

    def __init__(self, X, labels, batch_size, momentum=MOMENTUM):
        import torch

        self.torch = torch
        self.momentum = momentum
        self.X, self.labels = torch.from_numpy(X), torch.from_numpy(labels.astype(np.int64))
        self.batch_size = batch_size

    def reset(self):
        torch = self.torch
        self.W = torch.zeros((self.X.shape[1], 10), requires_grad=True)
        self.b = torch.zeros(10, requires_grad=True)
        self.optimizer = torch.optim.SGD([self.W, self.b], lr=LR, momentum=self.momentum)

    def run(self, order):
        torch, F = self.torch, self.torch.nn.functional
        order = torch.from_numpy(order)
        for start in range(0, order.shape[0], self.batch_size):
            rows = order[start:start + self.batch_size]
            loss = F.cross_entropy(self.X[rows] @ self.W + self.b, self.labels[rows])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()

    def weights(self):
        return self.W.detach().numpy(), self.b.detach().numpy()


class CoreFloorEpoch:
    """The work no exact epoch can skip, and nothing else: per batch, gather the rows (uint8),
    cast them to float32, and the two products ``X_b @ W`` and ``G^T X_b``, in the same
    buffers and at the same thread count as scratchlin's loop, with fixed ``W`` and ``G``.

    No softmax, no loss, no update: an epoch of scratchlin's loop minus this is what its
    NumPy calls on (B, C) and (F, C) arrays cost, and this divided by torch's epoch is the
    best ratio to torch that a loop making these calls one after another could reach.
    """

    def __init__(self, X_uint8, batch_size, n_threads=None):
        self.X, self.batch_size = X_uint8, batch_size
        n_features = X_uint8.shape[1]
        self.n_threads = _threads.choose_n_threads(n_threads, batch_size=batch_size,
                                                   n_features=n_features, n_classes=10)
        rng = np.random.default_rng(0)
        self.W = rng.standard_normal((n_features, 10), dtype=np.float32)
        self.G = rng.standard_normal((batch_size, 10), dtype=np.float32)
        self.workspace = objective.Workspace(n_features, 10, batch_size, np.float32)

    def reset(self):
        pass

    def run(self, order):
        ws, W = self.workspace, self.W
        with _threads.blas_threads(self.n_threads):
            for start in range(0, order.shape[0], self.batch_size):
                batch = ws.gather(self.X, order[start:start + self.batch_size])
                logits = np.matmul(batch, W, out=ws.logits[:batch.shape[0]])
                np.matmul(self.G[:batch.shape[0]].T, batch, out=ws.grad_W_transposed)
        return logits


def check_same_work(contenders: dict, order) -> float:
    """Run one epoch of each from zeros; assert their weights agree; return the max difference.

    The tolerance is float32's: the contenders sum in different orders (BLAS blocking, torch's
    kernels), so after an epoch the weights differ by up to 9.4e-7 of their scale (measured, at
    B=64, 938 steps); 1e-5 leaves 10x room. A wrong gradient, learning rate or row order differs
    by orders of magnitude more.
    """
    results = {}
    for name, contender in contenders.items():
        contender.reset()
        contender.run(order)
        results[name] = contender.weights()
    reference_W, reference_b = results["numpy reference"]
    scale = float(np.abs(reference_W).max())
    worst = 0.0
    for name, (W, b) in results.items():
        difference = max(float(np.abs(W - reference_W).max()), float(np.abs(b - reference_b).max()))
        if difference > 1e-5 * scale:
            raise AssertionError(f"{name} disagrees with the NumPy reference after one epoch: "
                                 f"max |dW| = {difference:.3g} (weights up to {scale:.3g})")
        worst = max(worst, difference)
    return worst / scale


def bench_epochs(data, batch_sizes, repeat, n_threads=None, momentum=MOMENTUM):
    X_uint8, X, labels = data["train"]
    floor = common.read_floor(X, repeat=max(repeat, 5))
    epoch_flops = 2 * 2 * X.shape[0] * X.shape[1] * 10  # two (N x F) by (F x C) products
    arithmetic_floor = epoch_flops / common.gemm_rate(repeat=max(repeat, 3))
    rows, records = [], []
    for batch_size in batch_sizes:
        contenders = {
            "scratchlin": ScratchlinEpoch(X, labels, batch_size, n_threads=n_threads, momentum=momentum),
            "scratchlin raw_pixels": ScratchlinEpoch(X_uint8, labels, batch_size, input_scale=1 / 255,
                                                     n_threads=n_threads, momentum=momentum),
            "numpy reference": NumpyReferenceEpoch(X, labels, batch_size, momentum=momentum),
            "torch": TorchEpoch(X, labels, batch_size, momentum=momentum),
        }
        order = np.random.default_rng(batch_size).permutation(X.shape[0])
        agreement = check_same_work(contenders, order)
        timed = dict(contenders, **{CORE: CoreFloorEpoch(X_uint8, batch_size, n_threads=n_threads)})
        timings = common.measure_interleaved(
            {name: (lambda c=c, order=order: c.run(order)) for name, c in timed.items()},
            setups={name: c.reset for name, c in timed.items()}, repeat=repeat)
        best = min(("scratchlin", "scratchlin raw_pixels"), key=lambda n: timings[n]["median"])
        median = {name: timing["median"] for name, timing in timings.items()}
        record = {
            "batch_size": batch_size,
            "timings": timings,
            "read_floor": floor,
            "arithmetic_floor_seconds": arithmetic_floor,
            "weights_max_rel_difference": agreement,
            "best_scratchlin": best,
            "ratio_to_torch": median[best] / median["torch"],
            "ratio_to_read_floor": median[best] / floor["median"],
            "ratio_to_core_floor": median[best] / median[CORE],
            "core_floor_ratio_to_torch": median[CORE] / median["torch"],
        }
        records.append(record)
        rows.append([batch_size] + [common.fmt_ms(timings[n]) for n in timed]
                    + [f"{record[key]:.2f}x" for key in
                       ("ratio_to_torch", "ratio_to_read_floor", "ratio_to_core_floor", "core_floor_ratio_to_torch")])
        print(f"B={batch_size}: " + ", ".join(f"{n} {common.fmt_ms(t)}" for n, t in timings.items())
              + f"; {best} / torch = {record['ratio_to_torch']:.2f}x, / read floor = "
              f"{record['ratio_to_read_floor']:.1f}x, / core floor = {record['ratio_to_core_floor']:.2f}x; "
              f"core floor / torch = {record['core_floor_ratio_to_torch']:.2f}x", flush=True)
    header = (["B"] + list(timed) + ["best scratchlin / torch", "/ read-X floor", "/ core floor",
                                     "core floor / torch"])
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
                                                   momentum=args.momentum)
        scratchlin_threads = ("its policy" if args.scratchlin_threads is None
                              else args.scratchlin_threads)
        markdown = (f"### One epoch of SGD (momentum {args.momentum}, lr {LR}), float32, "
                    f"median (min..max) of {args.repeat}; torch and NumPy at {args.threads} "
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
