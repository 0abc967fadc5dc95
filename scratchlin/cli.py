"""The ``scratchlin`` command line: train, evaluate, predict, gradcheck, data.

Run ``scratchlin --help`` or ``scratchlin COMMAND --help``. Exit status: 0 on success, 2 for a
usage error (unknown flag, malformed or out-of-range value; argparse prints the usage), 1 for
a failure the user can fix (missing data with downloads off, a bad model or input file, a
value the library refuses, a failed gradient check), reported as one line
``scratchlin: error: ...`` on stderr. ``--traceback`` shows the full traceback instead.
"""
from __future__ import annotations

import argparse
import csv
import difflib
import inspect
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from . import __version__, datasets, metrics
from .gradcheck import gradcheck
from .model import LR_SCHEDULES, OPTIMIZERS, LinearClassifier
from .training import format_epoch

PROG = "scratchlin"

#: Errors a user can cause and fix; reported in one line with exit status 1. (Library
#: argument errors are ValueError/TypeError; missing files are FileNotFoundError, an
#: OSError; a diverged run is a FloatingPointError; a missing extra is an ImportError.)
USER_ERRORS = (ValueError, TypeError, OSError, ImportError, FloatingPointError)

_DTYPES = ("float32", "float64")
_PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")


class CLIError(Exception):
    """A problem with what the user asked for; printed as one line, exit status 1."""


# --------------------------------------------------------------------------------------------
# Argument types: malformed or out-of-range values are usage errors (exit status 2)


def _ranged(convert, accept, expected: str):
    """An argparse ``type`` that converts with ``convert`` and keeps values ``accept`` allows."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = expected
    return parse


def _finite(value: float) -> bool:
    return math.isfinite(value)


positive_float = _ranged(float, lambda x: _finite(x) and x > 0, "a number > 0")
non_negative_float = _ranged(float, lambda x: _finite(x) and x >= 0, "a number >= 0")
unit_interval = _ranged(float, lambda x: 0 <= x <= 1, "a number in [0, 1]")
half_open_unit_interval = _ranged(float, lambda x: 0 <= x < 1, "a number in [0, 1)")
positive_int = _ranged(int, lambda n: n >= 1, "an integer >= 1")
non_negative_int = _ranged(int, lambda n: n >= 0, "an integer >= 0")


# --------------------------------------------------------------------------------------------
# The parser


def _estimator_defaults() -> dict:
    """The estimator's hyperparameter defaults: the single source of the train flags' defaults."""
    return LinearClassifier().get_params()


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data", metavar="DIR", default=None,
        help="folder holding the MNIST files (default: $SCRATCHLIN_DATA, else the per-user "
             "cache ~/.cache/scratchlin/mnist)")
    group.add_argument(
        "--no-download", dest="download", action="store_false",
        help="never download: fail if a file is missing (default: download missing files "
             "into that folder, verified by checksum)")


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--traceback", action="store_true",
                        help="show the full Python traceback on errors (for bug reports)")


def _add_train_parser(commands) -> None:
    defaults = _estimator_defaults()
    parser = commands.add_parser(
        "train", help="train a model on MNIST, print its test accuracy, save it",
        description="Train a LinearClassifier on the 60000 MNIST training images, print one "
                    "line per epoch, then the accuracy on the 10000 test images, and save the "
                    "model. Hyperparameter defaults are LinearClassifier's.",
        epilog="example: scratchlin train --epochs 5 --val-fraction 0.1 --seed 0 "
               "--out model.npz --plots plots/")
    hyper = parser.add_argument_group("hyperparameters (defaults: LinearClassifier's)")
    lr_default = "the optimizer's own" if defaults["lr"] is None else "%(default)s"
    hyper.add_argument("--lr", type=positive_float, default=defaults["lr"],
                       help=f"base learning rate (default: {lr_default})")
    hyper.add_argument("--epochs", type=positive_int, default=defaults["epochs"],
                       help="passes over the training data (default: %(default)s)")
    hyper.add_argument("--batch-size", type=positive_int, default=defaults["batch_size"],
                       help="rows per minibatch (default: %(default)s)")
    hyper.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults["optimizer"],
                       help="update rule (default: %(default)s)")
    hyper.add_argument("--momentum", type=half_open_unit_interval, default=defaults["momentum"],
                       help="SGD momentum in [0, 1) (default: %(default)s)")
    hyper.add_argument("--nesterov", action=argparse.BooleanOptionalAction,
                       default=defaults["nesterov"], help="Nesterov momentum for SGD")
    hyper.add_argument("--weight-decay", type=non_negative_float, default=defaults["weight_decay"],
                       help="L2 penalty on W (default: %(default)s)")
    hyper.add_argument("--label-smoothing", type=unit_interval, default=defaults["label_smoothing"],
                       help="label smoothing in [0, 1] (default: %(default)s)")
    hyper.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=defaults["lr_schedule"],
                       help="learning rate per epoch (default: %(default)s)")
    hyper.add_argument("--early-stopping", action=argparse.BooleanOptionalAction,
                       default=defaults["early_stopping"],
                       help="stop when the validation loss stops improving and keep the best "
                            "epoch's weights (needs a validation split, see --val-fraction)")
    hyper.add_argument("--patience", type=positive_int, default=defaults["patience"],
                       help="epochs without improvement before early stopping (default: %(default)s)")
    hyper.add_argument("--seed", type=non_negative_int, default=defaults["seed"],
                       help="seed of the shuffles and of the validation split (default: a "
                            "fresh one, printed so the run can be repeated)")
    hyper.add_argument("--dtype", choices=_DTYPES, default=defaults["dtype"],
                       help="precision of the data, the weights and the computation "
                            "(default: %(default)s)")
    parser.add_argument(
        "--val-fraction", type=half_open_unit_interval, default=None,
        help="share of the TRAINING rows held out for validation, reported every epoch "
             "(default: 0, no validation; with --early-stopping "
             f"{defaults['validation_fraction']}). The test split is never used for validation.")
    parser.add_argument("--out", metavar="PATH", default="model.npz",
                        help="where to save the model (default: %(default)s)")
    parser.add_argument("--plots", metavar="DIR", default=None,
                        help="also write weights.png, history.png and confusion.png there "
                             "(needs matplotlib: pip install scratchlin[plot])")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress lines")
    _add_data_options(parser)
    _add_common_options(parser)
    parser.set_defaults(run=run_train)


def _add_evaluate_parser(commands) -> None:
    parser = commands.add_parser(
        "evaluate", help="accuracy, confusion matrix and per-class report of a saved model",
        description="Evaluate a saved model on an MNIST split: accuracy, mean cross-entropy, "
                    "confusion matrix and per-class precision/recall/F1.",
        epilog="example: scratchlin evaluate model.npz --json > metrics.json")
    parser.add_argument("model", metavar="MODEL", help="a .npz model written by 'scratchlin train'")
    parser.add_argument("--split", choices=("test", "train"), default="test",
                        help="which MNIST split (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    _add_data_options(parser)
    _add_common_options(parser)
    parser.set_defaults(run=run_evaluate)


def _add_predict_parser(commands) -> None:
    parser = commands.add_parser(
        "predict", help="predict the digits in an image file",
        description="Predict the label of every image in INPUT and print one per line, or "
                    "write index,label,probability rows with --csv.",
        epilog="INPUT formats: an IDX file, gzip-compressed (.gz) or not (as MNIST's own "
               "files); a .npy array of uint8 pixels 0..255 or floats in [0, 1], shaped "
               "(N, 28, 28), (N, 784) or one image (28, 28) / (784,); a single 28x28 picture "
               "(.png, ...; needs Pillow), a white digit on black as in MNIST, not resized. "
               "example: scratchlin predict model.npz digits.npy --csv predictions.csv")
    parser.add_argument("model", metavar="MODEL", help="a .npz model written by 'scratchlin train'")
    parser.add_argument("input", metavar="INPUT", help="images: IDX (.gz or raw), .npy, or a picture")
    parser.add_argument("--csv", metavar="OUT", default=None,
                        help="write index,label,probability rows to OUT ('-' for stdout)")
    _add_common_options(parser)
    parser.set_defaults(run=run_predict)


def _add_gradcheck_parser(commands) -> None:
    check_defaults = {name: p.default for name, p in inspect.signature(gradcheck).parameters.items()}
    parser = commands.add_parser(
        "gradcheck", help="check the analytic gradients against finite differences",
        description="Compare LinearClassifier.loss_and_grad's gradients with central finite "
                    "differences on a random small float64 softmax-regression problem, and "
                    "print the worst relative error per parameter (CS231n's reading: below "
                    "1e-7 is a correct gradient). Exit status 1 if any element fails "
                    "|analytic - numerical| <= atol + rtol * |numerical|.")
    parser.add_argument("--samples", type=positive_int, default=16, help="rows of X (default: %(default)s)")
    parser.add_argument("--features", type=positive_int, default=12, help="columns of X (default: %(default)s)")
    parser.add_argument("--classes", type=_ranged(int, lambda n: n >= 2, "an integer >= 2"), default=4,
                        help="number of classes (default: %(default)s)")
    parser.add_argument("--weight-decay", type=non_negative_float, default=0.0,
                        help="L2 penalty on W included in the loss (default: %(default)s)")
    parser.add_argument("--label-smoothing", type=unit_interval, default=0.0,
                        help="label smoothing in [0, 1] (default: %(default)s)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the problem (default: %(default)s)")
    parser.add_argument("--eps", type=positive_float, default=1e-5,
                        help="finite-difference step (default: %(default)s, near the float64 "
                             "optimum u**(1/3) ~ 6e-6, where truncation and rounding errors "
                             "balance)")
    parser.add_argument("--atol", type=non_negative_float, default=check_defaults["atol"],
                        help="absolute tolerance (default: %(default)s)")
    parser.add_argument("--rtol", type=non_negative_float, default=check_defaults["rtol"],
                        help="relative tolerance (default: %(default)s)")
    _add_common_options(parser)
    parser.set_defaults(run=run_gradcheck)


def _add_data_parser(commands) -> None:
    parser = commands.add_parser(
        "data", help="where the MNIST files are looked for, and whether they are intact",
        description="Show the folder the MNIST files are read from (and downloaded into), "
                    "which of the four files are there, and verify each against the published "
                    "sha256. Exit status 1 if a file is missing or corrupt.")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="folder to inspect (default: $SCRATCHLIN_DATA, else the per-user cache)")
    parser.add_argument("--download", action="store_true",
                        help="first download the missing files (verified, written atomically)")
    _add_common_options(parser)
    parser.set_defaults(run=run_data)


def build_parser() -> argparse.ArgumentParser:
    """The ``scratchlin`` argument parser, with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="scratchlin: softmax regression on MNIST in pure NumPy.",
        epilog="Run 'scratchlin COMMAND --help' for the options of a command. Exit status: "
               "0 success, 1 error, 2 usage error.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_train_parser, _add_evaluate_parser, _add_predict_parser,
                _add_gradcheck_parser, _add_data_parser):
        add(commands)
    return parser


# --------------------------------------------------------------------------------------------
# Shared helpers


def _load_images(split: str, root, download: bool, dtype) -> tuple[np.ndarray, np.ndarray]:
    """One MNIST split as float rows in [0, 1] of ``dtype`` and uint8 labels."""
    images, labels = datasets.load_mnist(split, root=root, download=download)
    return datasets.to_float(datasets.flatten(images), dtype=dtype), labels


def _load_model(path) -> LinearClassifier:
    path = Path(path)
    if not path.is_file():
        raise CLIError(f"MODEL: no model file at {path} (expected a .npz written by 'scratchlin train')")
    model = LinearClassifier.load(path)
    # A raw-pixel model computes (X / 255) @ W + b: the same function on to_float(X).
    return model.set_params(raw_pixels=False)


def _percent(correct: int, total: int) -> str:
    return f"{100 * correct / total:.2f}% ({correct}/{total})"


# --------------------------------------------------------------------------------------------
# train


def _resolve_val_fraction(args, defaults: dict) -> float:
    if args.val_fraction is None:
        return defaults["validation_fraction"] if args.early_stopping else 0.0
    if args.early_stopping and args.val_fraction == 0:
        raise CLIError("--early-stopping needs a validation split: --val-fraction must be > 0, got 0")
    return args.val_fraction


def hold_out(X, y, fraction: float, seed: int):
    """Split training rows into a training and a validation part, reproducibly.

    Parameters
    ----------
    X : ndarray of shape (N, F)
    y : ndarray of shape (N,)
    fraction : float in (0, 1)
        Share of the rows held out.
    seed : int
        Seed of the split (its own stream, independent of the training shuffles).

    Returns
    -------
    X_train, y_train, X_val, y_val : ndarray
        Disjoint rows of ``X`` and ``y``, in their original order.
    """
    n_val = int(round(fraction * X.shape[0]))
    if not 1 <= n_val < X.shape[0]:
        raise CLIError(f"--val-fraction {fraction} of {X.shape[0]} rows leaves {n_val} for "
                       "validation; expected at least one row on each side")
    order = np.random.default_rng([seed, 1]).permutation(X.shape[0])
    val_rows, train_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
    return X[train_rows], y[train_rows], X[val_rows], y[val_rows]


def _hyperparameters(args) -> dict:
    names = ("lr", "epochs", "batch_size", "optimizer", "momentum", "nesterov", "weight_decay",
             "label_smoothing", "lr_schedule", "early_stopping", "patience", "dtype")
    return {name: getattr(args, name) for name in names}


def _write_plots(model, X_test, y_test, folder) -> list:
    from . import plotting

    folder = Path(folder)
    cm = metrics.confusion_matrix(y_test, model.predict(X_test), labels=model.classes_)
    return [
        plotting.plot_weights(model, folder / "weights.png"),
        plotting.plot_history(model.history_, folder / "history.png"),
        plotting.plot_confusion_matrix(cm, model.classes_, folder / "confusion.png"),
    ]


def _prepare_outputs(args) -> None:
    """Create the output folders and check matplotlib is there before any training."""
    folders = [("--out", Path(args.out).parent)]
    if args.plots is not None:
        from .plotting import require_matplotlib
        require_matplotlib()
        folders.append(("--plots", Path(args.plots)))
    for flag, folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CLIError(f"{flag}: cannot create the folder {folder}: {error.strerror or error}") from None


def run_train(args) -> int:
    """``scratchlin train``: fit on the training split, report test accuracy, save."""
    defaults = _estimator_defaults()
    val_fraction = _resolve_val_fraction(args, defaults)
    _prepare_outputs(args)  # fail now, not after training
    seed = args.seed
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**32)
        print(f"seed {seed} (drawn; pass --seed {seed} to repeat this run)")

    X, y = _load_images("train", args.data, args.download, args.dtype)
    X_test, y_test = _load_images("test", args.data, args.download, args.dtype)
    validation = {}
    if val_fraction > 0:
        X, y, X_val, y_val = hold_out(X, y, val_fraction, seed)
        validation = {"X_val": X_val, "y_val": y_val}
        print(f"training on {len(y)} rows, validating on {len(y_val)} held-out training rows")
    else:
        print(f"training on {len(y)} rows (no validation split; see --val-fraction)")

    def progress(record):
        if not args.quiet:
            print(format_epoch(record, args.epochs), flush=True)

    model = LinearClassifier(**_hyperparameters(args), seed=seed, callback=progress)
    started = time.perf_counter()
    model.fit(X, y, **validation)
    epochs_run = len(model.history_)
    print(f"trained {epochs_run} epoch{'s' if epochs_run != 1 else ''} in {time.perf_counter() - started:.1f}s")
    correct = int(np.count_nonzero(model.predict(X_test) == y_test))
    print(f"test accuracy: {_percent(correct, len(y_test))}")
    model.set_params(callback=None)
    print(f"saved the model to {model.save(args.out)}")
    if args.plots is not None:
        written = _write_plots(model, X_test, y_test, args.plots)
        print("wrote " + ", ".join(str(path) for path in written))
    return 0


# --------------------------------------------------------------------------------------------
# evaluate


def _confusion_text(cm: np.ndarray, labels) -> str:
    names = [str(label) for label in labels]
    width = max(6, len(str(cm.max())) + 2, *(len(n) + 2 for n in names))
    header = "true\\pred".rjust(width + 3) + "".join(n.rjust(width) for n in names)
    rows = [names[i].rjust(width + 3) + "".join(str(c).rjust(width) for c in row)
            for i, row in enumerate(cm)]
    return "\n".join([header, *rows])


def run_evaluate(args) -> int:
    """``scratchlin evaluate``: metrics of a saved model on an MNIST split."""
    model = _load_model(args.model)
    X, y = _load_images(args.split, args.data, args.download, model.W.dtype)
    predicted = model.predict(X)
    loss, _ = model.evaluate(X, y)
    correct = int(np.count_nonzero(predicted == y))
    cm = metrics.confusion_matrix(y, predicted, labels=model.classes_)
    report = metrics.classification_report(y, predicted, labels=model.classes_)
    if args.json:
        print(json.dumps({
            "model": str(args.model), "split": args.split, "n_samples": int(len(y)),
            "accuracy": correct / len(y), "correct": correct, "loss": float(loss),
            "labels": model.classes_.tolist(), "confusion_matrix": cm.tolist(),
            "report": report,
        }, indent=2))
        return 0
    print(f"{args.model} on the MNIST {args.split} split ({len(y)} images)")
    print(f"accuracy: {_percent(correct, len(y))}")
    print(f"mean cross-entropy: {loss:.4f}\n")
    print("confusion matrix (rows: true label, columns: predicted label)")
    print(_confusion_text(cm, model.classes_) + "\n")
    print(metrics.format_report(report), end="")
    return 0


# --------------------------------------------------------------------------------------------
# predict


def _read_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise CLIError(f"INPUT: {path} is not a readable .npy array of numbers: {error}") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise CLIError(f"INPUT: {path} is an .npz archive; expected one array saved with numpy.save (.npy)")
    return array


def _read_picture(path: Path) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise CLIError(f"INPUT: reading {path.suffix} pictures needs Pillow, which is not "
                       "installed: pip install pillow (or pass the images as .npy or IDX)") from None
    try:
        with Image.open(path) as picture:
            return np.asarray(picture.convert("L"))
    except OSError as error:
        raise CLIError(f"INPUT: cannot read {path} as a picture: {error}") from None


def read_input_images(path) -> np.ndarray:
    """The raw array in an INPUT file: ``.npy``, a picture, or IDX (``.gz`` or not).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    ndarray
        As stored (any shape, any dtype); see :func:`as_feature_rows`.
    """
    path = Path(path)
    if not path.is_file():
        raise CLIError(f"INPUT: no file at {path}")
    name = path.name.lower()
    if name.endswith(".npy"):
        return _read_npy(path)
    if name.endswith(_PICTURE_SUFFIXES):
        return _read_picture(path)
    try:
        return datasets.read_idx(path)
    except datasets.MNISTError as error:
        raise CLIError(f"INPUT: {error} (expected an IDX file, a .npy array or a picture)") from None


def as_feature_rows(array: np.ndarray, n_features: int, dtype) -> np.ndarray:
    """Images as float rows in [0, 1]: shape (N, n_features) of ``dtype``.

    Parameters
    ----------
    array : ndarray
        Pixels 0..255 (any integer dtype) or floats in [0, 1], shaped (N, H, W), (N, H*W),
        one image (H, W), or one row (H*W,), with ``H * W == n_features``.
    n_features : int
        What the model expects (784 for MNIST).
    dtype : numpy dtype
        The model's dtype.

    Returns
    -------
    ndarray of shape (N, n_features)
    """
    side = math.isqrt(n_features)
    shape = array.shape
    if array.ndim == 3 and shape[1] * shape[2] == n_features:
        array = array.reshape(shape[0], n_features)
    elif array.ndim == 2 and shape[1] != n_features and array.size == n_features:
        array = array.reshape(1, n_features)  # one (H, W) image
    elif array.ndim == 1 and array.size == n_features:
        array = array.reshape(1, n_features)
    elif not (array.ndim == 2 and shape[1] == n_features):
        raise CLIError(f"INPUT: expected images of shape (N, {side}, {side}) or (N, {n_features}), "
                       f"got an array of shape {shape}")
    if array.shape[0] == 0:
        raise CLIError("INPUT: holds no images (0 rows)")
    try:
        return datasets.to_float(array, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise CLIError(f"INPUT: {error}") from None


def _write_csv(stream, labels, probabilities) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["index", "label", "probability"])
    for index, (label, probability) in enumerate(zip(labels.tolist(), probabilities.tolist())):
        writer.writerow([index, label, f"{probability:.6f}"])


def run_predict(args) -> int:
    """``scratchlin predict``: the label of every image in INPUT."""
    model = _load_model(args.model)
    X = as_feature_rows(read_input_images(args.input), model.n_features_in_, model.W.dtype)
    labels = model.predict(X)
    probabilities = model.predict_proba(X)[np.arange(len(labels)), np.searchsorted(model.classes_, labels)]
    if args.csv is None:
        print("\n".join(str(label) for label in labels.tolist()))
    elif args.csv == "-":
        _write_csv(sys.stdout, labels, probabilities)
    else:
        with open(args.csv, "w", newline="") as stream:
            _write_csv(stream, labels, probabilities)
        print(f"wrote {len(labels)} predictions to {args.csv}")
    return 0


# --------------------------------------------------------------------------------------------
# gradcheck


def _random_problem(args):
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((args.samples, args.features))
    y = rng.integers(0, args.classes, size=args.samples)
    W = 0.1 * rng.standard_normal((args.features, args.classes))
    b = 0.1 * rng.standard_normal(args.classes)
    return X, y, W, b


def _reading(relative_error: float) -> str:
    """CS231n's reading of a relative error, for a smooth (kink-free) objective."""
    if relative_error < 1e-7:
        return "good (< 1e-7)"
    if relative_error < 1e-4:
        return "suspect (1e-7..1e-4; this objective has no kinks)"
    if relative_error < 1e-2:
        return "probably wrong (1e-4..1e-2)"
    return "wrong (>= 1e-2)"


def run_gradcheck(args) -> int:
    """``scratchlin gradcheck``: analytic vs numerical gradients of the training objective."""
    X, y, W, b = _random_problem(args)
    hyper = {"weight_decay": args.weight_decay, "label_smoothing": args.label_smoothing}

    def loss(W, b):
        return LinearClassifier.from_params(W, b, **hyper).loss_and_grad(X, y)[0]

    _, grads = LinearClassifier.from_params(W, b, **hyper).loss_and_grad(X, y)
    results = gradcheck(loss, {"W": W, "b": b}, grads, eps=args.eps, atol=args.atol,
                        rtol=args.rtol, raise_exception=False)
    print("gradient check of LinearClassifier.loss_and_grad (float64, central differences)")
    print(f"  X {X.shape}, {args.classes} classes, weight_decay={args.weight_decay:g}, "
          f"label_smoothing={args.label_smoothing:g}, seed {args.seed}, eps={args.eps:g}")
    print(f"  {'param':<6} {'shape':<7} {'max rel error':>15} {'max abs error':>15}   reading")
    for r in results:
        shape = "x".join(map(str, {"W": W, "b": b}[r.name].shape))
        print(f"  {r.name:<6} {shape:<7} {r.max_rel_error:>15.2e} {r.max_abs_error:>15.2e}   "
              f"{_reading(r.max_rel_error)}")
    failures = [r for r in results if not r.passed]
    if failures:
        worst = failures[0]
        raise CLIError(
            f"gradient check failed for {', '.join(r.name for r in failures)}: "
            f"{worst.name}{list(worst.worst_index)} analytic {worst.analytic:.10g} vs numerical "
            f"{worst.numerical:.10g}, beyond atol={args.atol:g} + rtol={args.rtol:g} * |numerical|")
    print(f"passed: every element within atol={args.atol:g} + rtol={args.rtol:g} * |numerical|")
    return 0


# --------------------------------------------------------------------------------------------
# data


def _file_status(folder: Path, info) -> tuple[str, bool]:
    """One line about an MNIST file, and whether it is present and genuine."""
    path = datasets.find_file(folder, info)
    if path is None:
        return f"  {info.name:<28} missing", False
    try:
        datasets.verify_file(path)
    except datasets.MNISTError:
        return f"  {path.name:<28} {path.stat().st_size:>9} bytes  CORRUPT (sha256 mismatch)", False
    return f"  {path.name:<28} {path.stat().st_size:>9} bytes  sha256 verified", True


def run_data(args) -> int:
    """``scratchlin data``: the data folder, its files and their checksums."""
    folder, origin = datasets.data_dir_and_origin(args.data)
    print(f"MNIST folder: {folder}  (from {'--data' if args.data is not None else origin})")
    if args.download:
        print("downloading the missing files ...", flush=True)
        datasets.download_mnist(args.data)
    statuses = [_file_status(folder, info) for info in datasets.FILES.values()]
    for line, _ in statuses:
        print(line)
    bad = sum(not ok for _, ok in statuses)
    if bad:
        raise CLIError(f"{bad} of {len(statuses)} MNIST files in {folder} are missing or corrupt; "
                       "run 'scratchlin data --download' (or set SCRATCHLIN_DATA / --data to a "
                       "folder that holds them)")
    print(f"all {len(statuses)} files present and verified")
    return 0


# --------------------------------------------------------------------------------------------
# Entry point


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _reject_unknown(parser: argparse.ArgumentParser, command: str, unknown: list) -> None:
    """A usage error from the command's own parser, suggesting the closest known flag."""
    subparser = next(action for action in parser._actions
                     if isinstance(action, argparse._SubParsersAction)).choices[command]
    message = f"unrecognized arguments: {' '.join(unknown)}"
    flag = unknown[0].split("=")[0]
    known = [option for action in subparser._actions for option in action.option_strings]
    close = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
    if flag.startswith("-") and close:
        message += f" (did you mean {close[0]}?)"
    subparser.error(message)


def main(argv=None) -> int:
    """Run the ``scratchlin`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; None means ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 success, 1 error (one line on stderr), 2 usage error.
    """
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            _reject_unknown(parser, args.command, unknown)
    except SystemExit as exit_:  # --help/--version (0) or a usage error (2), already printed
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (CLIError, *USER_ERRORS) as error:
        if args.traceback:
            raise
        print(f"{PROG}: error: {_one_line(error)}", file=sys.stderr)
        return 1
