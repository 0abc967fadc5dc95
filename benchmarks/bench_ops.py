"""Per-batch cost of the three operations of softmax regression, against their peers.

For B in 64, 256, 1024, 8192, 60000 rows of MNIST-shaped data (784 features, 10 classes), in
float32 and float64, one run times:

* ``forward``: logits ``X_b @ W + b``: ``scratchlin.linear`` vs plain NumPy vs torch;
* ``backward``: ``(dX, dW, db)`` from an upstream gradient: ``scratchlin.linear_backward`` vs
  plain NumPy vs torch autograd (``backward`` through the recorded matmul);
* ``loss+grad``: cross-entropy and its gradient with respect to ``W`` and ``b``:
  ``scratchlin.objective.loss_and_grad`` with preallocated buffers (what training calls) and the
  public ``LinearClassifier.loss_and_grad`` vs plain NumPy (softmax, one-hot, two matmuls) vs
  torch (``cross_entropy`` + autograd).

Then the speed targets, at B=256, float32, F=784, C=10, timed round-robin (median of 15
rounds), each as a ratio to the textbook NumPy written below (``textbook_loss_and_grad``):
``LinearClassifier.from_params(W, b).loss_and_grad(X, y)`` and, logits given,
``scratchlin.cross_entropy_and_grad``.

Each figure is the median time per call; beside it the achieved bandwidth over ``X_b`` and the
ratio to the read floor (the time to read ``X_b``'s bytes at the bandwidth measured in this run).
Results are checked against the NumPy reference before anything is timed.

Run: ``python benchmarks/bench_ops.py`` (``--quick`` for B=256 and 8192 in float32 only).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

import scratchlin as sl  # noqa: E402
from scratchlin import objective  # noqa: E402

N_FEATURES, N_CLASSES = 784, 10


def make_problem(batch_size, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((batch_size, N_FEATURES)).astype(dtype)
    W = (0.01 * rng.standard_normal((N_FEATURES, N_CLASSES))).astype(dtype)
    b = (0.01 * rng.standard_normal(N_CLASSES)).astype(dtype)
    y = rng.integers(0, N_CLASSES, batch_size).astype(np.intp)
    G = rng.standard_normal((batch_size, N_CLASSES)).astype(dtype)
    return X, W, b, y, G


#: The contenders compute the unpenalised cross-entropy; the estimator's objective adds
#: lambda = 1 / (C N), and C=numpy.inf means no penalty.
NO_PENALTY_C = np.inf

def numpy_loss_and_grad(X, W, b, y):
    """The textbook NumPy version: softmax, one-hot, two matmuls."""
    logits = X @ W + b
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    one_hot = np.eye(W.shape[1], dtype=X.dtype)[y]
    loss = -(one_hot * log_p).sum() / len(y)
    grad = (np.exp(log_p) - one_hot) / len(y)
    return loss, X.T @ grad, grad.sum(axis=0)


def textbook_cross_entropy_and_grad(logits, y):
    """The textbook loss and logit gradient: stable softmax, mean CE, G = (P - onehot) / B."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    sums = exps.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = np.mean(np.log(sums[:, 0]) - shifted[rows, y])
    grad = exps / sums
    grad[rows, y] -= 1
    grad /= len(y)
    return loss, grad


def textbook_loss_and_grad(X, W, b, y):
    """The 10-line textbook loss and gradient of softmax regression, the target's yardstick."""
    loss, grad = textbook_cross_entropy_and_grad(X @ W + b, y)
    return loss, X.T @ grad, grad.sum(axis=0)


def contenders(X, W, b, y, G):
    """{op: {contender name: zero-argument callable returning a tuple of outputs}}."""
    import torch

    workspace = objective.Workspace(N_FEATURES, N_CLASSES, X.shape[0], X.dtype)
    model = sl.LinearClassifier.from_params(W, b, C=NO_PENALTY_C)
    Xt, Wt, bt, yt, Gt = (torch.from_numpy(a) for a in (X, W, b, y.astype(np.int64), G))
    Xg, Wg, bg = (t.clone().requires_grad_(True) for t in (Xt, Wt, bt))
    recorded = Xg @ Wg + bg

    def torch_loss_and_grad():
        Wg.grad = bg.grad = None
        loss = torch.nn.functional.cross_entropy(Xt @ Wg + bg, yt)
        loss.backward()
        return loss.item(), Wg.grad.numpy(), bg.grad.numpy()

    def torch_backward():
        Xg.grad = Wg.grad = bg.grad = None
        recorded.backward(Gt, retain_graph=True)
        return Xg.grad.numpy(), Wg.grad.numpy(), bg.grad.numpy()

    def objective_loss_and_grad():
        return objective.loss_and_grad(W, b, X, y, out=workspace)

    def model_loss_and_grad():
        loss, grads = model.loss_and_grad(X, y)
        return loss, grads["W"], grads["b"]

    def torch_forward():
        with torch.no_grad():
            return ((Xt @ Wt + bt).numpy(),)

    # Every contender returns a tuple of its outputs, compared element by element.
    return {
        "forward": {
            "scratchlin": lambda: (sl.linear(X, W, b),),
            "numpy": lambda: (X @ W + b,),
            "torch": torch_forward,
        },
        "backward": {
            "scratchlin": lambda: sl.linear_backward(G, X, W),
            "numpy": lambda: (G @ W.T, X.T @ G, G.sum(axis=0)),
            "torch": torch_backward,
        },
        "loss+grad": {
            "scratchlin objective out=": objective_loss_and_grad,
            "scratchlin loss_and_grad": model_loss_and_grad,
            "numpy": lambda: numpy_loss_and_grad(X, W, b, y),
            "torch": torch_loss_and_grad,
        },
    }


def check_agreement(ops, dtype):
    """Every contender's outputs equal the NumPy reference's to the dtype's rounding."""
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    for op, implementations in ops.items():
        reference = implementations["numpy"]()
        for name, run in implementations.items():
            for got, want in zip(run(), reference):
                scale = float(np.abs(want).max()) or 1.0
                if float(np.abs(np.asarray(got) - want).max()) > rtol * scale:
                    raise AssertionError(f"{op}/{name} disagrees with numpy ({dtype.__name__})")


def time_op(implementations: dict, batch_size, repeat, rows_per_sample=200_000) -> dict:
    """Seconds per call of each implementation, timed round-robin (``measure_interleaved``);
    each timed sample loops over ``rows_per_sample / batch_size`` calls, so every sample
    covers about the same work whatever the batch size."""
    calls = max(1, int(rows_per_sample / batch_size))

    def many(run):
        def loop():
            for _ in range(calls):
                run()
        return loop

    timings = common.measure_interleaved({name: many(run) for name, run in implementations.items()},
                                         repeat=repeat)
    return {name: {k: (v / calls if k != "times" else [t / calls for t in v]) for k, v in t.items()}
            for name, t in timings.items()}


def run_benchmark(batch_sizes, dtypes, repeat, rows_per_sample=200_000):
    bandwidth_probe = np.ones((60000, N_FEATURES), np.float32)
    floor = common.read_floor(bandwidth_probe, repeat=max(repeat, 5))
    bandwidth = bandwidth_probe.nbytes / floor["median"]
    del bandwidth_probe
    print(f"read bandwidth: {bandwidth / 1e9:.1f} GB/s (median of reading 188 MB)")
    records, rows = [], []
    for dtype in dtypes:
        for batch_size in batch_sizes:
            X, W, b, y, G = make_problem(batch_size, dtype)
            ops = contenders(X, W, b, y, G)
            check_agreement(ops, dtype)
            x_floor = X.nbytes / bandwidth
            for op, implementations in ops.items():
                timings = time_op(implementations, batch_size, repeat, rows_per_sample)
                for name, timing in timings.items():
                    record = {"dtype": dtype.__name__, "batch_size": batch_size, "op": op,
                              "contender": name, "seconds": timing["median"],
                              "spread": [timing["min"], timing["max"]],
                              "gb_per_s": X.nbytes / timing["median"] / 1e9,
                              "ratio_to_read_floor": timing["median"] / x_floor}
                    records.append(record)
                    rows.append([dtype.__name__, batch_size, op, name,
                                 f"{timing['median'] * 1e6:.1f}", f"{record['gb_per_s']:.1f}",
                                 f"{record['ratio_to_read_floor']:.1f}x"])
                print(f"{dtype.__name__} B={batch_size} {op}: " + ", ".join(
                    f"{name} {t['median'] * 1e6:.1f} us" for name, t in timings.items()), flush=True)
    table = common.markdown_table(["dtype", "B", "op", "contender", "us per call", "GB/s over X_b",
                                   "x read floor"], rows)
    return {"read_bandwidth_gb_per_s": bandwidth / 1e9, "records": records}, table


def run_targets(repeat=15, batch_size=256, calls=200):
    """The issue's target rows: public scratchlin vs the textbook, B=256, float32, interleaved."""
    X, W, b, y, _ = make_problem(batch_size, np.float32)
    logits = X @ W + b
    model = sl.LinearClassifier.from_params(W, b, C=NO_PENALTY_C)
    workspace = objective.Workspace(N_FEATURES, N_CLASSES, batch_size, np.float32)
    pairs = {
        "objective.loss_and_grad": (lambda: objective.loss_and_grad(W, b, X, y),
                                    lambda: textbook_loss_and_grad(X, W, b, y)),
        "objective.loss_and_grad out=": (lambda: objective.loss_and_grad(W, b, X, y, out=workspace),
                                         lambda: textbook_loss_and_grad(X, W, b, y)),
        "LinearClassifier.loss_and_grad": (lambda: model.loss_and_grad(X, y),
                                           lambda: textbook_loss_and_grad(X, W, b, y)),
        "cross_entropy_and_grad": (lambda: sl.cross_entropy_and_grad(logits, y),
                                   lambda: textbook_cross_entropy_and_grad(logits, y)),
    }
    ours_loss, ours_grad = sl.cross_entropy_and_grad(logits, y)
    ref_loss, ref_grad = textbook_cross_entropy_and_grad(logits, y)
    assert abs(ours_loss - ref_loss) <= 1e-5 * abs(ref_loss)
    np.testing.assert_allclose(ours_grad, ref_grad, rtol=1e-4, atol=1e-7)

    def many(run):
        def loop():
            for _ in range(calls):
                run()
        return loop

    runs = {}
    for name, (ours, textbook) in pairs.items():
        runs[f"{name} (scratchlin)"], runs[f"{name} (textbook)"] = many(ours), many(textbook)
    timings = common.measure_interleaved(runs, repeat=repeat)
    results, rows = {}, []
    for name in pairs:
        ours, textbook = timings[f"{name} (scratchlin)"], timings[f"{name} (textbook)"]
        ratio = ours["median"] / textbook["median"]
        results[name] = {"scratchlin_us": ours["median"] / calls * 1e6,
                         "textbook_us": textbook["median"] / calls * 1e6, "ratio": ratio}
        rows.append([name, f"{ours['median'] / calls * 1e6:.1f}", f"{textbook['median'] / calls * 1e6:.1f}",
                     f"{ratio:.2f}x"])
        print(f"target B={batch_size} float32 {name}: scratchlin {ours['median'] / calls * 1e6:.1f} us, "
              f"textbook {textbook['median'] / calls * 1e6:.1f} us, ratio {ratio:.2f}x "
              f"(median of {repeat} interleaved rounds of {calls} calls)", flush=True)
    table = common.markdown_table(["target (B=256, float32)", "scratchlin us", "textbook us", "ratio"], rows)
    return results, table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="B=256 and 8192, float32, 3 repeats")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256, 1024, 8192, 60000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows-per-sample", type=int, default=200_000,
                        help="rows processed per timed sample (calls = this / B)")
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--targets-only", action="store_true",
                        help="only the issue's target rows (B=256 float32 vs textbook)")
    args = parser.parse_args(argv)
    dtypes = [np.float32, np.float64]
    if args.quick:
        args.batch_sizes, args.repeat, dtypes = [256, 8192], 3, [np.float32]
    with common.pin_threads(args.threads):
        env = common.environment(args.threads)
        for key, value in env.items():
            print(f"{key}: {value}")
        if args.targets_only:
            results, table = {"records": []}, ""
        else:
            results, table = run_benchmark(args.batch_sizes, dtypes, args.repeat, args.rows_per_sample)
        results["targets"], target_table = run_targets(repeat=max(args.repeat, 15) if args.targets_only else 15)
        table += "\n" + target_table
    common.report(args.out, "bench_ops", results, table, env)
    return results


if __name__ == "__main__":
    main()
