"""
scratchlin and PyTorch, step for step
=====================================

The same softmax regression trained by scratchlin and by PyTorch.

Both start from the same seeded random weights and see the same minibatches in the same
order (one seeded permutation per epoch). scratchlin computes each step's loss and gradient
with ``LinearClassifier.loss_and_grad`` and updates with ``scratchlin.optim.SGD``; torch uses
autograd on ``F.cross_entropy`` and ``torch.optim.SGD``. Momentum, weight decay (an L2 penalty
on W in the loss, as in scratchlin's objective), label smoothing and a cosine learning-rate
schedule are all on. The script prints both losses per epoch and, at the end, how far apart
the weights have drifted: in float64 only rounding separates them; in float32 the two
libraries' different summation orders add up over thousands of steps.

**Needs torch**: ``pip install torch --index-url https://download.pytorch.org/whl/cpu`` (the
CPU build). Run::

    python examples/compare_with_torch.py [--epochs 3] [--dtype float64] [--train-size 10000]

On all 60000 rows it takes minutes (torch's per-batch overhead dominates); a subset shows the
same agreement sooner. **The documentation builds this page with** ``--train-size 5000``.
"""
from __future__ import annotations

import argparse

import numpy as np

import scratchlin as sl
from scratchlin import datasets, optim


def load(args):
    images, labels = datasets.load_mnist("train", root=args.data, download=args.download)
    test_images, test_labels = datasets.load_mnist("test", root=args.data, download=args.download)
    n = len(images) if args.train_size is None else args.train_size
    X = datasets.to_float(datasets.flatten(images[:n]), dtype=args.dtype)
    X_test = datasets.to_float(datasets.flatten(test_images), dtype=args.dtype)
    return X, labels[:n].astype(np.int64), X_test, test_labels.astype(np.int64)


def initial_weights(args, n_features, n_classes):
    rng = np.random.default_rng(args.seed)
    W = (0.01 * rng.standard_normal((n_features, n_classes))).astype(args.dtype)
    b = np.zeros(n_classes, dtype=args.dtype)
    return W, b


class ScratchlinRun:
    """scratchlin's side: ``loss_and_grad`` + ``optim.SGD``, parameters updated in place."""

    def __init__(self, W0, b0, args, n_rows):
        # C is scikit-learn's: the penalty weight_decay = 1 / (C * N) for N training rows.
        self.n_rows = n_rows
        self.model = sl.LinearClassifier.from_params(
            W0, b0, C=1.0 / (args.weight_decay * n_rows) if args.weight_decay else np.inf,
            label_smoothing=args.label_smoothing)
        self.optimizer = optim.SGD({"W": self.model.W, "b": self.model.b}, lr=args.lr,
                                   momentum=args.momentum)

    def step(self, X, y, lr) -> float:
        loss, grads = self.model.loss_and_grad(X, y, total_weight=self.n_rows)
        self.optimizer.step(grads, lr=lr)
        return loss

    def weights(self):
        return self.model.W, self.model.b

    def predict(self, X):
        return self.model.predict(X)


class TorchRun:
    """torch's side: autograd on the same objective + ``torch.optim.SGD``."""

    def __init__(self, W0, b0, args, torch):
        self.torch, self.args = torch, args
        self.W = torch.tensor(W0, requires_grad=True)
        self.b = torch.tensor(b0, requires_grad=True)
        self.optimizer = torch.optim.SGD([self.W, self.b], lr=args.lr, momentum=args.momentum)

    def step(self, X, y, lr) -> float:
        torch = self.torch
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        logits = torch.from_numpy(X) @ self.W + self.b
        loss = torch.nn.functional.cross_entropy(
            logits, torch.from_numpy(y), label_smoothing=self.args.label_smoothing)
        loss = loss + 0.5 * self.args.weight_decay * (self.W * self.W).sum()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def weights(self):
        return self.W.detach().numpy(), self.b.detach().numpy()

    def predict(self, X):
        with self.torch.no_grad():
            return (self.torch.from_numpy(X) @ self.W + self.b).argmax(dim=1).numpy()


def train_side_by_side(runs, X, y, args):
    schedule = optim.CosineLR(total_epochs=args.epochs)
    rng = np.random.default_rng(args.seed)
    print(f"{'epoch':>5}  {'lr':>8}  {'scratchlin loss':>16}  {'torch loss':>16}  {'difference':>10}")
    for epoch in range(args.epochs):
        lr = schedule(args.lr, epoch)
        order = rng.permutation(len(X))
        totals = np.zeros(len(runs))
        for start in range(0, len(X), args.batch_size):
            rows = order[start:start + args.batch_size]
            Xb, yb = X[rows], y[rows]
            totals += [run.step(Xb, yb, lr) for run in runs]
        n_batches = -(-len(X) // args.batch_size)
        mean = totals / n_batches
        print(f"{epoch + 1:>5}  {lr:>8.4f}  {mean[0]:>16.10f}  {mean[1]:>16.10f}  "
              f"{abs(mean[0] - mean[1]):>10.1e}")


def compare(runs, X_test, y_test):
    (W_sl, b_sl), (W_t, b_t) = (run.weights() for run in runs)
    pred_sl, pred_t = (run.predict(X_test) for run in runs)
    print(f"max |W_scratchlin - W_torch| = {np.max(np.abs(W_sl - W_t)):.3e}  "
          f"(max |W| = {np.max(np.abs(W_sl)):.3f})")
    print(f"max |b_scratchlin - b_torch| = {np.max(np.abs(b_sl - b_t)):.3e}")
    print(f"test accuracy: scratchlin {np.mean(pred_sl == y_test):.4f}, "
          f"torch {np.mean(pred_t == y_test):.4f}")
    print(f"test predictions agree on {int(np.sum(pred_sl == pred_t))}/{len(y_test)} images")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="The same softmax regression trained by scratchlin and by PyTorch.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="MNIST folder; None: $SCRATCHLIN_DATA, else the per-user cache")
    parser.add_argument("--no-download", dest="download", action="store_false",
                        help="fail if a file is missing (default: download=%(default)s, a "
                             "checksum-verified download of missing files)")
    parser.add_argument("--train-size", type=int, default=None,
                        help="first N training rows; None: all 60000 (minutes: torch's per-batch "
                             "overhead dominates)")
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training rows")
    parser.add_argument("--batch-size", type=int, default=128, help="rows per minibatch")
    parser.add_argument("--lr", type=float, default=0.1, help="SGD base learning rate")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    parser.add_argument("--weight-decay", type=float, default=1e-4, help="L2 penalty on W")
    parser.add_argument("--label-smoothing", type=float, default=0.1, help="label smoothing")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="precision of both runs")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights and the shuffles")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("this example needs PyTorch, which is not installed: "
              "pip install torch --index-url https://download.pytorch.org/whl/cpu")
        return 1

    X, y, X_test, y_test = load(args)
    W0, b0 = initial_weights(args, X.shape[1], 10)
    print(f"{len(X)} training rows, {args.dtype}, batches of {args.batch_size}, SGD lr={args.lr} "
          f"momentum={args.momentum}, weight_decay={args.weight_decay}, "
          f"label_smoothing={args.label_smoothing}, cosine schedule over {args.epochs} epochs")
    runs = [ScratchlinRun(W0, b0, args, len(X)), TorchRun(W0, b0, args, torch)]
    train_side_by_side(runs, X, y, args)
    compare(runs, X_test, y_test)
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # the docs build runs this file too: no SystemExit on success
        raise SystemExit(status)
