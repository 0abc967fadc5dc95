"""``scratchlin train``: fit on the MNIST training split (or on the user's own table), report
the accuracy, save the model."""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from .. import metrics
from ..model import LR_SCHEDULES, SOLVERS, ConvergenceWarning, LinearClassifier
from ..optim import DEFAULT_LR
from ..training import format_iteration, split_validation
from . import _mnist
from ._errors import CLIError, UsageError
from ._interrupt import LastIteration
from ._model_inputs import in_dtype
from ._options import (
    add_command,
    add_common_options,
    add_data_options,
    add_threads_option,
    half_open_unit_interval,
    non_negative_int,
    positive_float,
    positive_int,
    unit_interval,
)
from ._outputs import check_model_target, check_new_folder
from ._tables import check_target_given, read_table
from ._text import percent

__all__ = ["add_parser", "early_stopping_report", "hold_out", "run"]

_DTYPES = ("float32", "float64")
#: The flags that are LinearClassifier's hyperparameters, by the estimator's names (a flag is
#: the name with "-" for "_"): the one place the command line maps onto the estimator.
_HYPERPARAMETERS = ("C", "solver", "max_iter", "lr", "batch_size", "momentum", "nesterov",
                    "label_smoothing", "lr_schedule", "early_stopping", "patience", "dtype")


def _estimator_defaults() -> dict:
    """The estimator's hyperparameter defaults: the single source of the train flags' defaults."""
    return LinearClassifier().get_params()


def _optimizer_lr_defaults() -> str:
    """The learning rate each optimizer takes when none is given, e.g. "adam 0.001, sgd 0.1"."""
    return "the optimizer's own: " + ", ".join(f"{name} {lr:g}" for name, lr in DEFAULT_LR.items())


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``train`` to ``subparsers``; its ``run`` default is :func:`run`."""
    defaults = _estimator_defaults()
    parser = add_command(
        subparsers, "train", help="train a model on MNIST or on your own table, save it",
        description="Train a LinearClassifier on the 60000 MNIST training images, print one "
                    "line per iteration, then the accuracy on the 10000 test images, and save the "
                    "model. With --table FILE --target COLUMN, train on your own data instead "
                    "and print the accuracy on its rows. Hyperparameter defaults are "
                    "LinearClassifier's. Every output path is checked before training starts.",
        epilog="examples: scratchlin train --max-iter 5 --val-fraction 0.1 --seed 0 "
               "--out model.npz --plots plots/; "
               "scratchlin train --table wine.csv --target class --out wine.npz")
    own = parser.add_argument_group("your own data (instead of MNIST)")
    own.add_argument("--table", metavar="FILE", default=None,
                     help="a table: .csv (a header row, numeric features, the labels in the "
                          "--target column: numbers or text), .npy (a 2-D array of numbers) or "
                          ".npz (arrays X and y)")
    own.add_argument("--target", metavar="COLUMN", default=None,
                     help="the label column of --table: a CSV column name, a .npy column "
                          "index (-1: the last), a .npz array name (default there: y)")
    hyper = parser.add_argument_group("hyperparameters (defaults: LinearClassifier's)")
    lr_default = (_optimizer_lr_defaults() if defaults["lr"] is None else "%(default)s")
    hyper.add_argument("--lr", type=positive_float, default=defaults["lr"],
                       help=f"base learning rate (default: {lr_default})")
    hyper.add_argument("--C", type=positive_float, default=defaults["C"],
                       help="inverse strength of the L2 penalty, scikit-learn's C; 'inf' for "
                            "none (default: %(default)s)")
    hyper.add_argument("--solver", choices=SOLVERS, default=defaults["solver"],
                       help="'lbfgs' (exact, full batch), a stochastic one, or 'auto': L-BFGS "
                            "for small data, Adam for MNIST (default: %(default)s)")
    hyper.add_argument("--max-iter", type=positive_int, default=defaults["max_iter"],
                       help="iterations at most: on MNIST one iteration of a stochastic "
                            "solver is one epoch (default: 1000 for lbfgs, 100 for the others)")
    hyper.add_argument("--batch-size", type=positive_int, default=defaults["batch_size"],
                       help="rows per minibatch (default: %(default)s)")
    hyper.add_argument("--momentum", type=half_open_unit_interval, default=defaults["momentum"],
                       help="SGD momentum in [0, 1) (default: %(default)s)")
    hyper.add_argument("--nesterov", action=argparse.BooleanOptionalAction,
                       default=defaults["nesterov"], help="Nesterov momentum for SGD")
    hyper.add_argument("--label-smoothing", type=unit_interval, default=defaults["label_smoothing"],
                       help="label smoothing in [0, 1] (default: %(default)s)")
    hyper.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=defaults["lr_schedule"],
                       help="learning rate per iteration: 'adaptive' divides it by 5 when the "
                            "loss stops improving; 'cosine' and 'step' are planned over "
                            "--max-iter (default: %(default)s)")
    hyper.add_argument("--early-stopping", action=argparse.BooleanOptionalAction,
                       default=defaults["early_stopping"],
                       help="stop when the validation loss stops improving and keep the best "
                            "iteration's weights; reports where it stopped and the iteration "
                            "it kept (needs a validation split, see --val-fraction)")
    hyper.add_argument("--patience", type=positive_int, default=defaults["patience"],
                       help="iterations without improvement before early stopping (default: %(default)s)")
    hyper.add_argument("--seed", type=non_negative_int, default=defaults["seed"],
                       help="seed of the shuffles and of the validation split (default: a "
                            "fresh one, printed so the run can be repeated)")
    hyper.add_argument("--dtype", choices=_DTYPES, default=None,
                       help="precision of the data, the weights and the computation "
                            "(default: float32 for MNIST, float64 for a table)")
    add_threads_option(hyper)
    parser.add_argument(
        "--val-fraction", type=half_open_unit_interval, default=None,
        help="share of the TRAINING rows held out for validation, reported every iteration "
             "(default: 0, no validation; with --early-stopping "
             f"{defaults['validation_fraction']}). The test split is never used for validation.")
    parser.add_argument("--out", metavar="PATH", default="model.npz",
                        help="where to save the model; an existing file is replaced only if "
                             "it is a scratchlin model (default: %(default)s)")
    parser.add_argument("--plots", metavar="DIR", default=None,
                        help="also write weights.png, history.png and confusion.png there "
                             "(needs matplotlib: pip install scratchlin[plot])")
    parser.add_argument("--quiet", action="store_true",
                        help="no per-iteration lines and no download progress")
    parser.add_argument("--save-on-interrupt", action="store_true",
                        help="on Ctrl-C, save the model as it was after the last finished "
                             "iteration to --out (default: save nothing, and say so)")
    add_data_options(parser)
    add_common_options(parser)
    parser.set_defaults(run=run)
    return parser


def _resolve_val_fraction(args, defaults: dict) -> float:
    if args.val_fraction is None:
        return defaults["validation_fraction"] if args.early_stopping else 0.0
    if args.early_stopping and args.val_fraction == 0:
        raise UsageError("--early-stopping needs a validation split: --val-fraction must be > 0, got 0")
    return args.val_fraction


def hold_out(X, y, fraction: float, seed: int):
    """Split training rows into a training and a validation part, reproducibly.

    The rows are those :class:`~scratchlin.LinearClassifier` itself holds out for early
    stopping with the same ``seed`` and ``validation_fraction``: both call
    :func:`scratchlin.training.split_validation` on a generator seeded with ``seed``.

    Parameters
    ----------
    X : ndarray of shape (N, F)
    y : ndarray of shape (N,)
    fraction : float in (0, 1)
        Share of the rows held out (``round(fraction * N)`` rows).
    seed : int
        Seed of the split.

    Returns
    -------
    X_train, y_train, X_val, y_val : ndarray
        Disjoint rows of ``X`` and ``y``, in their original order.
    """
    try:
        train_rows, val_rows = split_validation(X.shape[0], fraction, np.random.default_rng(seed))
    except ValueError as error:
        raise CLIError(f"--val-fraction: {error}") from None
    return X[train_rows], y[train_rows], X[val_rows], y[val_rows]


def _hyperparameters(args) -> dict:
    """The estimator's keyword arguments from the flags (``--threads`` is ``n_threads``)."""
    hyper = {name: getattr(args, name) for name in _HYPERPARAMETERS}
    hyper["n_threads"] = args.threads
    return hyper


def _write_plots(model, y_test, predicted, folder, *, weights: bool) -> list:
    """history.png and confusion.png (on the test rows), and weights.png for image models."""
    from .. import plotting

    folder = Path(folder)
    folder.mkdir(exist_ok=True)  # its parent was checked before training
    cm = metrics.confusion_matrix(y_test, predicted, labels=model.classes_)
    written = [plotting.plot_weights(model, folder / "weights.png")] if weights else []
    return written + [
        plotting.plot_history(model.history_, folder / "history.png"),
        plotting.plot_confusion_matrix(cm, model.classes_, folder / "confusion.png"),
    ]


def _check_outputs(args) -> None:
    """Every output of ``train`` is checked before the data is loaded or a step is taken."""
    check_model_target(Path(args.out))
    if args.plots is not None:
        from ..plotting import require_matplotlib
        require_matplotlib()
        check_new_folder("--plots", Path(args.plots))


def _check_data_flags(args) -> None:
    """--table and --target go together, and MNIST's --data is not for tables."""
    if args.table is None and args.target is not None:
        raise UsageError("--target names the label column of --table; give --table FILE too")
    if args.table is not None and args.data is not None:
        raise UsageError("--data is the folder of the MNIST files; with --table FILE it is not used")
    if args.table is not None:
        check_target_given(args.table, args.target)


def _training_data(args):
    """(X, y, X_test, y_test, feature_names, what is tested) from --table or MNIST.

    A table has no separate test rows (``X_test`` and ``y_test`` are None): its accuracy is
    measured on the rows it trains on, after any validation split.
    """
    if args.table is None:
        X, y = _mnist.load_split("train", args, args.dtype or "float32")
        X_test, y_test = _mnist.load_split("test", args, args.dtype or "float32")
        return X, y, X_test, y_test, None, "test accuracy"
    table = read_table(args.table, args.target)
    if table.y is None:  # an .npz without y
        raise CLIError(f"--table: {args.table} holds no labels: expected an array y, or name "
                       "the labels array with --target")
    X = in_dtype(table.X, args.dtype or "float64", args.table, "--table",
                 "--dtype float32 cannot hold it; use --dtype float64")
    return X, table.y, None, None, table.feature_names, "accuracy on the training rows"


def early_stopping_report(history: list, max_iter: int | None, lr_schedule) -> list:
    """What early stopping did, in words: where it stopped, which iteration's weights it kept.

    Parameters
    ----------
    history : list of dict
        The fit's records, each with "iteration", "val_loss", "val_accuracy" and "lr"; the last
        one may carry "stopped_early" and "best_iteration" (the training loop's own account).
    max_iter : int or None
        The iterations allowed (None: the solver's default).
    lr_schedule : str or callable
        The schedule; a decaying one cut short is pointed out.

    Returns
    -------
    list of str
        Lines to print.
    """
    last = history[-1]
    # The loop keeps the first iteration with the lowest validation loss (it replaces the best
    # only on a strict improvement); the same rule when the record does not say.
    best_iteration = (last.get("best_iteration")
                      or min(history, key=lambda r: r["val_loss"])["iteration"])
    best = next(r for r in history if r["iteration"] == best_iteration)
    stopped = last.get("stopped_early", False)
    kept = (f"kept the weights of iteration {best_iteration} (val_loss {best['val_loss']:.4f}, "
            f"val_acc {100 * best['val_accuracy']:.2f}%)")
    if not stopped:
        return [f"early stopping: did not trigger in {len(history)} iterations", kept]
    stop = (f"early stopping: stopped after iteration {last['iteration']}, no improvement "
            f"since iteration {best_iteration}")
    lines = [stop, kept]
    if lr_schedule in ("cosine", "step"):
        cut = (f"note: the {lr_schedule} schedule spans --max-iter {max_iter or 100} and was cut at "
               f"lr {last['lr']:.3g}, before it finished;")
        advice = f"      to let it finish, set --max-iter near {last['iteration']}"
        lines += [cut, advice]
    return lines


def save_model(model: LinearClassifier, out: str) -> Path:
    """Save ``model`` to ``out`` (--out), its callback left out; ``out`` is checked again
    first, as something else may have been put there while training ran."""
    model.set_params(callback=None)
    check_model_target(Path(out))
    try:
        return model.save(out)
    except OSError as error:
        raise CLIError(f"--out: cannot save the model to {out}: {error.strerror or error}") from None


def _fit_reporting_convergence(model: LinearClassifier, X, y, validation: dict) -> None:
    """``model.fit``, with a :class:`ConvergenceWarning` said as one line on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y, **validation)
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            print(f"scratchlin: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def run(args) -> int:
    """``scratchlin train``: fit on the training rows, report the accuracy, save."""
    _check_data_flags(args)
    val_fraction = _resolve_val_fraction(args, _estimator_defaults())
    hyperparameters = _hyperparameters(args)
    _check_outputs(args)  # fail now, not after training
    X, y, X_test, y_test, feature_names, tested = _training_data(args)
    seed = args.seed
    if seed is None:
        seed = int(np.random.default_rng().integers(2**32))  # fresh OS entropy
        print(f"seed {seed} (drawn; pass --seed {seed} to repeat this run)")
    validation = {}
    if val_fraction > 0:
        X, y, X_val, y_val = hold_out(X, y, val_fraction, seed)
        validation = {"X_val": X_val, "y_val": y_val}
        print(f"training on {len(y)} rows, validating on {len(y_val)} held-out training rows")
    else:
        print(f"training on {len(y)} rows (no validation split; see --val-fraction)")
    if X_test is None:
        X_test, y_test = X, y

    last_iteration = LastIteration(feature_names)

    def progress(record):
        last_iteration.keep(model, record)
        if not args.quiet:
            print(format_iteration(record, args.max_iter), flush=True)

    model = LinearClassifier(**hyperparameters, seed=seed, callback=progress)
    started = time.perf_counter()
    try:
        _fit_reporting_convergence(model, X, y, validation)
    except KeyboardInterrupt:
        return last_iteration.interrupted(args.out if args.save_on_interrupt else None, save_model)
    n_iter = len(model.history_)
    print(f"trained with {model.solver_}: {n_iter} iteration{'s' if n_iter != 1 else ''} in "
          f"{time.perf_counter() - started:.1f}s")
    if args.early_stopping:
        print("\n".join(early_stopping_report(model.history_, args.max_iter, args.lr_schedule)))
    predicted = model.predict(X_test)
    print(f"{tested}: {percent(int(np.count_nonzero(predicted == y_test)), len(y_test))}")
    if feature_names is not None:
        model.feature_names_in_ = np.asarray(feature_names, dtype=object)  # the CSV header
    print(f"saved the model to {save_model(model, args.out)}")
    if args.plots is not None:
        written = _write_plots(model, y_test, predicted, args.plots, weights=args.table is None)
        print("wrote " + ", ".join(str(path) for path in written))
    return 0
