"""
Train, evaluate, save, reload, predict and plot
===============================================

The whole life of a model: train ``LinearClassifier`` with its default hyperparameters on
MNIST's training split, with 5000 of its rows held out for validation (passed as ``X_val``,
``y_val``, so the learning curves are honest and the test split stays unseen), evaluate it on
the test split (accuracy and a per-class report), save it, load it back, predict with
probabilities, and draw its three pictures: the weight templates, the learning curves and the
confusion matrix.

Run::

    python examples/train_mnist.py [--data DIR] [--out-dir DIR] [--train-size N]

The model and the pictures go into ``--out-dir`` (by default a new temporary folder, printed at
the start; never the current folder). ``--train-size`` trains on a random subset, for quick
runs. The documentation builds this page with all 55000 training rows.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import scratchlin as sl
from scratchlin import datasets, metrics


def load(args):
    """Float training, validation and test rows, with labels."""
    train_images, train_labels = datasets.load_mnist("train", root=args.data, download=args.download)
    test_images, test_labels = datasets.load_mnist("test", root=args.data, download=args.download)
    X = datasets.to_float(datasets.flatten(train_images))
    X_test = datasets.to_float(datasets.flatten(test_images))
    order = np.random.default_rng(args.seed).permutation(len(X))
    val_rows, train_rows = order[:args.val_size], order[args.val_size:]
    if args.train_size is not None:
        train_rows = train_rows[:args.train_size]
    print(f"{len(train_rows)} training rows, {len(val_rows)} validation rows "
          f"(held out of the training split), {len(X_test)} test rows")
    return (X[train_rows], train_labels[train_rows], X[val_rows], train_labels[val_rows],
            X_test, test_labels)


def train(args, X, y, X_val, y_val):
    hyper = {} if args.max_iter is None else {"max_iter": args.max_iter}
    model = sl.LinearClassifier(seed=args.seed, verbose=True, **hyper)
    print(f"training {model!r}")
    return model.fit(X, y, X_val=X_val, y_val=y_val)


def evaluate(model, X_test, y_test):
    predicted = model.predict(X_test)
    print(f"\ntest accuracy: {model.score(X_test, y_test):.4f}")
    print(metrics.format_report(metrics.classification_report(y_test, predicted)))
    return predicted


def save_and_reload(model, X_test, out_dir: Path):
    path = model.save(out_dir / "model.npz")
    reloaded = sl.LinearClassifier.load(path)
    same = np.array_equal(reloaded.predict(X_test), model.predict(X_test))
    print(f"saved to {path}; the reloaded model predicts identically: {same}")
    return reloaded


def predict_a_few(model, X_test, y_test, count=8):
    probabilities = model.predict_proba(X_test[:count])
    print(f"\nthe first {count} test images:")
    for i, row in enumerate(probabilities):
        k = int(row.argmax())
        print(f"  image {i}: predicted {model.classes_[k]} (p={row[k]:.3f}), true {y_test[i]}")


def plot(model, y_test, predicted, out_dir: Path):
    try:
        from scratchlin import plotting
        paths = [
            plotting.plot_weights(model, out_dir / "weights.png"),
            plotting.plot_history(model.history_, out_dir / "history.png"),
            plotting.plot_confusion_matrix(metrics.confusion_matrix(y_test, predicted),
                                           model.classes_, out_dir / "confusion.png"),
        ]
    except ImportError as error:
        print(f"\nno pictures: {error}")
        return
    print("\nwrote " + ", ".join(str(p) for p in paths))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Train, evaluate, save, reload, predict and plot.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="MNIST folder; None: $SCRATCHLIN_DATA, else the per-user cache")
    parser.add_argument("--no-download", dest="download", action="store_false",
                        help="fail if a file is missing (default: download=%(default)s, a "
                             "checksum-verified download of missing files)")
    parser.add_argument("--max-iter", type=int, default=None,
                        help="iterations (epochs, on MNIST); None: LinearClassifier's")
    parser.add_argument("--train-size", type=int, default=None,
                        help="train on this many rows only; None: all 55000")
    parser.add_argument("--val-size", type=int, default=5000,
                        help="training rows held out for validation")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the shuffles and the plots' sample")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="folder for the model and the pictures; None: a new temporary folder")
    args = parser.parse_args(argv)
    if args.out_dir is None:
        args.out_dir = Path(tempfile.mkdtemp(prefix="scratchlin-train-mnist-"))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    print(f"writing the model and the pictures into {args.out_dir}")

    X, y, X_val, y_val, X_test, y_test = load(args)
    model = train(args, X, y, X_val, y_val)
    predicted = evaluate(model, X_test, y_test)
    model = save_and_reload(model, X_test, args.out_dir)
    predict_a_few(model, X_test, y_test)
    plot(model, y_test, predicted, args.out_dir)
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # the docs build runs this file too: no SystemExit on success
        raise SystemExit(status)
