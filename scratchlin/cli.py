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
import gzip
import inspect
import json
import math
import os
import sys
import tempfile
import textwrap
import time
import urllib.parse
import zipfile
import zlib
from pathlib import Path

import numpy as np

from . import __version__, datasets, metrics
from .gradcheck import gradcheck
from .model import LR_SCHEDULES, OPTIMIZERS, LinearClassifier
from .training import format_epoch, split_validation

__all__ = [
    "CLIError",
    "DownloadProgress",
    "UsageError",
    "as_feature_rows",
    "build_parser",
    "early_stopping_report",
    "hold_out",
    "load_input_rows",
    "main",
    "prepare_picture",
    "read_input_images",
]

PROG = "scratchlin"

#: Errors a user can cause and fix; reported in one line with exit status 1. (Library
#: argument errors are ValueError/TypeError; missing files are FileNotFoundError, an
#: OSError; a diverged run is a FloatingPointError; a missing extra is an ImportError; an
#: input too large for memory is a MemoryError.)
USER_ERRORS = (ValueError, TypeError, OSError, ImportError, FloatingPointError, MemoryError)

#: The exit status of a command whose output pipe closed early: 128 + SIGPIPE (13), what the
#: shell reports for ``yes | head`` under ``set -o pipefail``.
BROKEN_PIPE_STATUS = 141

#: The largest image file the command decodes: 2**28 bytes of pixels, 340,000 images of
#: 28x28 uint8 (MNIST's training images are 47 MB). An IDX header, a gzip stream or a .npy
#: header that claims more is refused before anything is allocated.
MAX_INPUT_BYTES = 1 << 28

#: Longest side of a picture that is read (larger ones are refused before decoding).
MAX_PICTURE_SIDE = 4096

_DTYPES = ("float32", "float64")
_PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")


class CLIError(Exception):
    """A problem with what the user asked for; printed as one line, exit status 1."""


class UsageError(Exception):
    """Flags that contradict each other; printed by argparse with the usage, exit status 2."""


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


def _add_threads_option(parser: argparse._ActionsContainer) -> None:
    parser.add_argument("--threads", metavar="N", type=positive_int, default=None,
                        help="BLAS threads for scratchlin's matrix products (default: "
                             "scratchlin's thread policy)")


def _add_command(commands, name: str, **kwargs) -> argparse.ArgumentParser:
    # allow_abbrev=False: '--epoch 2' is an unknown flag (with a did-you-mean hint), not a
    # silent abbreviation of '--epochs' that a later flag could make ambiguous.
    return commands.add_parser(name, allow_abbrev=False, **kwargs)


def _add_train_parser(commands) -> None:
    defaults = _estimator_defaults()
    parser = _add_command(
        commands, "train", help="train a model on MNIST, print its test accuracy, save it",
        description="Train a LinearClassifier on the 60000 MNIST training images, print one "
                    "line per epoch, then the accuracy on the 10000 test images, and save the "
                    "model. Hyperparameter defaults are LinearClassifier's. Every output path "
                    "is checked before training starts.",
        epilog="example: scratchlin train --epochs 5 --val-fraction 0.1 --seed 0 "
               "--out model.npz --plots plots/")
    hyper = parser.add_argument_group("hyperparameters (defaults: LinearClassifier's)")
    lr_default = "the optimizer's own" if defaults["lr"] is None else "%(default)s"
    hyper.add_argument("--lr", type=positive_float, default=defaults["lr"],
                       help=f"base learning rate (default: {lr_default})")
    hyper.add_argument("--epochs", type=positive_int, default=defaults["epochs"],
                       help="passes over the training data; the learning-rate schedule spans "
                            "them (default: %(default)s)")
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
                       help="learning rate per epoch, planned over --epochs; early stopping "
                            "may cut it short (default: %(default)s)")
    hyper.add_argument("--early-stopping", action=argparse.BooleanOptionalAction,
                       default=defaults["early_stopping"],
                       help="stop when the validation loss stops improving and keep the best "
                            "epoch's weights; reports the epoch it stopped at and the epoch "
                            "it kept (needs a validation split, see --val-fraction)")
    hyper.add_argument("--patience", type=positive_int, default=defaults["patience"],
                       help="epochs without improvement before early stopping (default: %(default)s)")
    hyper.add_argument("--seed", type=non_negative_int, default=defaults["seed"],
                       help="seed of the shuffles and of the validation split (default: a "
                            "fresh one, printed so the run can be repeated)")
    hyper.add_argument("--dtype", choices=_DTYPES, default=defaults["dtype"],
                       help="precision of the data, the weights and the computation "
                            "(default: %(default)s)")
    _add_threads_option(hyper)
    parser.add_argument(
        "--val-fraction", type=half_open_unit_interval, default=None,
        help="share of the TRAINING rows held out for validation, reported every epoch "
             "(default: 0, no validation; with --early-stopping "
             f"{defaults['validation_fraction']}). The test split is never used for validation.")
    parser.add_argument("--out", metavar="PATH", default="model.npz",
                        help="where to save the model; an existing file is replaced only if "
                             "it is a scratchlin model (default: %(default)s)")
    parser.add_argument("--plots", metavar="DIR", default=None,
                        help="also write weights.png, history.png and confusion.png there "
                             "(needs matplotlib: pip install scratchlin[plot])")
    parser.add_argument("--quiet", action="store_true",
                        help="no per-epoch lines and no download progress")
    _add_data_options(parser)
    _add_common_options(parser)
    parser.set_defaults(run=run_train)


def _add_evaluate_parser(commands) -> None:
    parser = _add_command(
        commands, "evaluate", help="accuracy, confusion matrix and per-class report of a saved model",
        description="Evaluate a saved model on an MNIST split, or on your own labelled images "
                    "(--images and --labels): accuracy, mean cross-entropy, confusion matrix "
                    "and per-class precision/recall/F1.",
        epilog="IMAGES take the formats of 'scratchlin predict' (IDX, .npy); LABELS are an IDX "
               "label file (.gz or raw) or a 1-D .npy array of integer labels, one per image. "
               "examples: scratchlin evaluate model.npz --json > metrics.json; "
               "scratchlin evaluate model.npz --images my-images.npy --labels my-labels.npy")
    parser.add_argument("model", metavar="MODEL", help="a .npz model written by 'scratchlin train'")
    parser.add_argument("--split", choices=("test", "train"), default="test",
                        help="which MNIST split (default: %(default)s)")
    parser.add_argument("--images", metavar="IMAGES", default=None,
                        help="evaluate on these images instead of an MNIST split (needs --labels)")
    parser.add_argument("--labels", metavar="LABELS", default=None,
                        help="the true label of each image in --images")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--quiet", action="store_true", help="no download progress")
    _add_threads_option(parser)
    _add_data_options(parser)
    _add_common_options(parser)
    parser.set_defaults(run=run_evaluate)


def _add_predict_parser(commands) -> None:
    parser = _add_command(
        commands, "predict", help="predict the digits in an image file",
        description="Predict the label of every image in INPUT and print one per line; "
                    "--top-k K adds the K most likely labels with their probabilities; --csv "
                    "and --json write machine-readable rows.",
        epilog="INPUT formats: an IDX file, gzip-compressed (.gz) or not (as MNIST's own "
               "files); a .npy array of uint8 pixels 0..255 or floats in [0, 1], shaped "
               "(N, 28, 28), (N, 784) or one image (28, 28) / (784,); a picture (.png, ...; "
               "needs Pillow). Digits must be light on a dark background, as in MNIST: a "
               "warning names images whose border is bright (pass --invert for dark-on-light "
               "pictures). A picture of another size is prepared as MNIST's digits were: the "
               "digit is fitted into a 20x20 box and centred by its centre of mass in 28x28. "
               "example: scratchlin predict model.npz digits.npy --top-k 3")
    parser.add_argument("model", metavar="MODEL", help="a .npz model written by 'scratchlin train'")
    parser.add_argument("input", metavar="INPUT", help="images: IDX (.gz or raw), .npy, or a picture")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--csv", metavar="OUT", default=None,
                        help="write index,label,probability rows to OUT ('-' for stdout); with "
                             "--top-k also label_2,probability_2, ...")
    output.add_argument("--json", action="store_true",
                        help="print a JSON list, one object per image: index, label, "
                             "probability, and top (the --top-k labels with probabilities)")
    parser.add_argument("--top-k", metavar="K", type=positive_int, default=1,
                        help="report the K most likely labels per image (10: every class's "
                             "probability) (default: %(default)s)")
    parser.add_argument("--invert", action="store_true",
                        help="flip dark-on-light images to light-on-dark before predicting")
    _add_threads_option(parser)
    _add_common_options(parser)
    parser.set_defaults(run=run_predict)


def _add_gradcheck_parser(commands) -> None:
    check_defaults = {name: p.default for name, p in inspect.signature(gradcheck).parameters.items()}
    parser = _add_command(
        commands, "gradcheck", help="check the analytic gradients against finite differences",
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
    parser = _add_command(
        commands, "data", help="where the MNIST files are looked for, and whether they are intact",
        description="Show the folder the MNIST files are read from (and downloaded into), "
                    "which of the four files are there, and verify each against the published "
                    "sha256. Exit status 1 if a file is missing or corrupt.")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="folder to inspect (default: $SCRATCHLIN_DATA, else the per-user cache)")
    parser.add_argument("--download", action="store_true",
                        help="first download the missing files (about 11 MB, verified, written "
                             "atomically), with a progress line on a terminal")
    parser.add_argument("--quiet", action="store_true", help="no download progress")
    _add_common_options(parser)
    parser.set_defaults(run=run_data)


def build_parser() -> argparse.ArgumentParser:
    """The ``scratchlin`` argument parser, with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog=PROG, allow_abbrev=False,
        description="scratchlin: softmax regression on MNIST in pure NumPy.",
        epilog="Run 'scratchlin COMMAND --help' for the options of a command. Exit status: "
               "0 success, 1 error, 2 usage error, 141 output pipe closed early.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_train_parser, _add_evaluate_parser, _add_predict_parser,
                _add_gradcheck_parser, _add_data_parser):
        add(commands)
    return parser


# --------------------------------------------------------------------------------------------
# Download progress: one line on a terminal, nothing otherwise
#
# An own 30-line progress line rather than tqdm: the runtime dependencies stay numpy, mnist and
# threadpoolctl, and the line only has to show one file's bytes, percent and rate.


def _megabytes(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:.1f} MB"


class DownloadProgress:
    """A progress line that redraws itself: file name, bytes, percent and rate.

    Called as ``progress(file_name, done_bytes, total_bytes_or_None)``, the hook of
    :func:`scratchlin.datasets.download_mnist`. Redraws at most every ``min_interval`` seconds
    (and always at the end of a file, which ends the line), e.g.
    ``  train-images-idx3-ubyte.gz   4.2 MB / 9.9 MB   42%   1.8 MB/s``.

    Parameters
    ----------
    stream : text stream
        Where the line goes (a terminal: the line is redrawn with ``\\r``).
    min_interval : float, default=0.1
        Seconds between redraws.
    clock : callable, default=time.monotonic
    """

    def __init__(self, stream, *, min_interval: float = 0.1, clock=time.monotonic):
        self.stream, self.min_interval, self.clock = stream, min_interval, clock
        self._name: str | None = None
        self._started, self._drawn, self._width = 0.0, -math.inf, 0

    def __call__(self, name: str, done: int, total) -> None:
        now = self.clock()
        if name != self._name:
            self.close()
            self._name, self._started, self._drawn = name, now, -math.inf
        finished = total is not None and done >= total
        if not finished and now - self._drawn < self.min_interval:
            return
        self._drawn = now
        size = _megabytes(done) if total is None else f"{_megabytes(done)} / {_megabytes(total)}"
        percent = "" if not total else f"  {100 * done / total:3.0f}%"
        rate = done / max(now - self._started, 1e-3)
        text = f"  {name}  {size}{percent}  {_megabytes(rate)}/s"
        self.stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        if finished:
            self.close()
        self.stream.flush()

    def close(self) -> None:
        """End the current line, if one is drawn."""
        if self._name is not None and self._width:
            self.stream.write("\n")
            self.stream.flush()
        self._name, self._width = None, 0


def _progress_for(args, stream=None):
    """A :class:`DownloadProgress` on stderr when it is a terminal and --quiet is off, else None."""
    stream = sys.stderr if stream is None else stream
    if getattr(args, "quiet", False) or not stream.isatty():
        return None
    return DownloadProgress(stream)


# --------------------------------------------------------------------------------------------
# Missing MNIST data, said in the command's own terms on a few short lines

_LINE_WIDTH = 100
_ORIGIN_IN_CLI = {"root argument": "--data",
                  "$SCRATCHLIN_DATA": "$SCRATCHLIN_DATA",
                  "per-user cache": "the per-user cache; no --data, no $SCRATCHLIN_DATA"}


def _shown(path) -> str:
    """``path`` for a person to read and paste: the home folder as ``~``."""
    path = Path(path)
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except (ValueError, RuntimeError):  # not under home, or no home
        return str(path)


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _missing_files(folder: Path, reported) -> list:
    """Every MNIST file missing from ``folder`` (the library reports the first it needed)."""
    missing = [info.name for info in datasets.FILES.values() if datasets.find_file(folder, info) is None]
    return missing or list(reported)


def _data_error_lines(error: datasets.MNISTNotFoundError, args) -> list:
    """What is missing, where, and the ways to fix it: short lines (about 100 characters,
    plus the length of the folder's path where it is named)."""
    folder = error.folder if error.folder is not None else datasets.data_dir(args.data)
    origin = _ORIGIN_IN_CLI.get(error.origin, "the data folder")
    data_flag = f" --data {_shown(folder)}" if args.data is not None else ""
    fixes = ["  --data DIR                   (a folder that already holds the four .gz files)",
             "  export SCRATCHLIN_DATA=DIR   (the same, for every command)"]
    attempts = getattr(error, "attempts", None)
    if isinstance(error, datasets.DownloadError) and attempts:
        lines = [f"could not download MNIST: every mirror failed for {', '.join(error.missing)}",
                 f"  into: {_shown(folder)}  ({origin})"]
        lines += ["  " + _shorten(f"{urllib.parse.urlsplit(url).netloc}: {reason}", _LINE_WIDTH - 2)
                  for url, reason in attempts]
        return [*lines, "to fix, one of:",
                f"  check the network, then: scratchlin data --download{data_flag}", *fixes]
    if isinstance(error, datasets.DownloadError):  # no mirror could be tried: folder unusable
        reason = ("the folder cannot be created" if not folder.is_dir()
                  else "the folder is read-only" if not os.access(folder, os.W_OK)
                  else "nothing can be written into the folder")
        return [f"cannot download MNIST: {reason}",
                f"  into: {_shown(folder)}  ({origin})", "to fix, one of:",
                "  --data DIR                   (a writable folder, or one that holds the files)",
                "  export SCRATCHLIN_DATA=DIR   (the same, for every command)"]
    missing = _missing_files(folder, error.missing)
    what = ("all four files (train and t10k, images and labels)" if len(missing) == len(datasets.FILES)
            else ", ".join(missing))
    off = " (downloads are off: --no-download)" if not getattr(args, "download", True) else ""
    return [f"MNIST data not found{off}",
            f"  looked in: {_shown(folder)}  ({origin})",
            *textwrap.wrap(f"missing: {what}", _LINE_WIDTH, initial_indent="  ",
                           subsequent_indent="    "),
            "to fix, one of:",
            f"  scratchlin data --download{data_flag}",
            "                               (fetch them: about 11 MB, checked against sha256)",
            *fixes]


def _load_images(split: str, args, dtype) -> tuple[np.ndarray, np.ndarray]:
    """One MNIST split as float rows in [0, 1] of ``dtype`` and uint8 labels."""
    progress = _progress_for(args)
    try:
        images, labels = datasets.load_mnist(split, root=args.data, download=args.download,
                                             progress=progress)
    finally:  # end a line left open (size never announced, or a failed download)
        if progress is not None:
            progress.close()
    return datasets.to_float(datasets.flatten(images), dtype=dtype), labels


# --------------------------------------------------------------------------------------------
# Models and output files


def _load_model(path, threads=None) -> LinearClassifier:
    path = Path(path)
    if not path.is_file():
        raise CLIError(f"MODEL: no model file at {path} (expected a .npz written by 'scratchlin train')")
    try:
        model = LinearClassifier.load(path)
    except FileNotFoundError:
        raise
    except (ValueError, KeyError, EOFError, OSError, zipfile.BadZipFile, zlib.error,
            MemoryError) as error:
        # The library names the file for its own ValueErrors; the others come from below it.
        text = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
        if str(path) not in text:
            text = f"{path} is not a readable scratchlin model file: {text}"
        raise CLIError(f"MODEL: {text}") from None
    # A raw-pixel model computes (X / 255) @ W + b: the same function on to_float(X).
    model.set_params(raw_pixels=False)
    return _with_threads(model, threads)


def _with_threads(model: LinearClassifier, threads) -> LinearClassifier:
    """``model`` using ``threads`` BLAS threads (None: scratchlin's thread policy)."""
    return model.set_params(n_threads=threads)


def _percent(correct: int, total: int) -> str:
    return f"{100 * correct / total:.2f}% ({correct}/{total})"


def _check_writable_folder(flag: str, folder: Path) -> None:
    """Create ``folder`` if needed and prove a file can be written in it."""
    if folder.exists() and not folder.is_dir():
        raise CLIError(f"{flag}: {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise CLIError(f"{flag}: cannot write into the folder {folder}: "
                       f"{error.strerror or error}") from None


def _check_model_target(path: Path) -> None:
    """--out must name a file that is new, or an old scratchlin model to replace."""
    if path.is_dir():
        raise CLIError(f"--out: {path} is a folder; give a file name such as {path / 'model.npz'}")
    if path.exists():
        try:
            LinearClassifier.load(path)
        except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
            raise CLIError(f"--out: {path} exists and is not a scratchlin model; not replacing "
                           "it (remove it or choose another path)") from None
    _check_writable_folder("--out", path.parent)


def _check_file_target(flag: str, path: Path) -> None:
    if path.is_dir():
        raise CLIError(f"{flag}: {path} is a folder; expected a file name")
    _check_writable_folder(flag, path.parent)

# --------------------------------------------------------------------------------------------
# train


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
    names = ("lr", "epochs", "batch_size", "optimizer", "momentum", "nesterov", "weight_decay",
             "label_smoothing", "lr_schedule", "early_stopping", "patience", "dtype")
    hyper = {name: getattr(args, name) for name in names}
    hyper["n_threads"] = args.threads
    return hyper


def _write_plots(model, X_test, y_test, folder) -> list:
    from . import plotting

    folder = Path(folder)
    cm = metrics.confusion_matrix(y_test, model.predict(X_test), labels=model.classes_)
    return [
        plotting.plot_weights(model, folder / "weights.png"),
        plotting.plot_history(model.history_, folder / "history.png"),
        plotting.plot_confusion_matrix(cm, model.classes_, folder / "confusion.png"),
    ]


def _check_outputs(args) -> None:
    """Every output of ``train`` is checked before the data is loaded or a step is taken."""
    _check_model_target(Path(args.out))
    if args.plots is not None:
        from .plotting import require_matplotlib
        require_matplotlib()
        _check_writable_folder("--plots", Path(args.plots))


def early_stopping_report(history: list, epochs: int, lr_schedule) -> list:
    """What early stopping did, in words: where it stopped, which epoch's weights it kept.

    Parameters
    ----------
    history : list of dict
        The fit's records, each with "epoch", "val_loss", "val_accuracy" and "lr"; the last
        one may carry "stopped_early" and "best_epoch" (the training loop's own account).
    epochs : int
        The epochs asked for.
    lr_schedule : str or callable
        The schedule; a decaying one cut short is pointed out.

    Returns
    -------
    list of str
        Lines to print.
    """
    last = history[-1]
    # The loop keeps the first epoch with the lowest validation loss (it replaces the best
    # only on a strict improvement); the same rule when the record does not say.
    best_epoch = last.get("best_epoch") or min(history, key=lambda r: r["val_loss"])["epoch"]
    best = next(r for r in history if r["epoch"] == best_epoch)
    stopped = last.get("stopped_early", len(history) < epochs)
    kept = (f"kept the weights of epoch {best_epoch} (val_loss {best['val_loss']:.4f}, "
            f"val_acc {100 * best['val_accuracy']:.2f}%)")
    if not stopped:
        return [f"early stopping: ran all {epochs} epochs", kept]
    stop = (f"early stopping: stopped after epoch {last['epoch']} of {epochs}, no improvement "
            f"since epoch {best_epoch}")
    lines = [stop, kept]
    if lr_schedule != "constant":
        cut = (f"note: the {lr_schedule} schedule spans --epochs {epochs} and was cut at "
               f"lr {last['lr']:.3g}, before it finished;")
        advice = f"      to let it finish, set --epochs near {last['epoch']}"
        lines += [cut, advice]
    return lines


def run_train(args) -> int:
    """``scratchlin train``: fit on the training split, report test accuracy, save."""
    defaults = _estimator_defaults()
    val_fraction = _resolve_val_fraction(args, defaults)
    hyperparameters = _hyperparameters(args)
    _check_outputs(args)  # fail now, not after training
    X, y = _load_images("train", args, args.dtype)
    X_test, y_test = _load_images("test", args, args.dtype)
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

    def progress(record):
        if not args.quiet:
            print(format_epoch(record, args.epochs), flush=True)

    model = LinearClassifier(**hyperparameters, seed=seed, callback=progress)
    started = time.perf_counter()
    model.fit(X, y, **validation)
    epochs_run = len(model.history_)
    print(f"trained {epochs_run} epoch{'s' if epochs_run != 1 else ''} in {time.perf_counter() - started:.1f}s")
    if args.early_stopping:
        print("\n".join(early_stopping_report(model.history_, args.epochs, args.lr_schedule)))
    correct = int(np.count_nonzero(model.predict(X_test) == y_test))
    print(f"test accuracy: {_percent(correct, len(y_test))}")
    model.set_params(callback=None)
    try:
        saved = model.save(args.out)
    except OSError as error:
        raise CLIError(f"--out: cannot save the model to {args.out}: "
                       f"{error.strerror or error}") from None
    print(f"saved the model to {saved}")
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


def _read_labels(path) -> np.ndarray:
    """The integer labels in a 1-D .npy array or an IDX label file."""
    path = Path(path)
    if not path.is_file():
        raise CLIError(f"--labels: no file at {path}")
    array = _read_npy(path, "--labels") if path.name.lower().endswith(".npy") else _read_idx(path, "--labels")
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise CLIError(f"--labels: expected a 1-D array of integer labels, got {array.dtype} of "
                       f"shape {array.shape} in {path}")
    return np.array(array)


def _evaluation_data(args, model):
    """(X, y, what) from --images/--labels, else from the MNIST split."""
    if (args.images is None) != (args.labels is None):
        raise UsageError("--images and --labels go together: give both, or neither to use "
                         "an MNIST split")
    if args.images is None:
        X, y = _load_images(args.split, args, model.W.dtype)
        return X, y, f"the MNIST {args.split} split"
    X = load_input_rows(args.images, model.n_features_in_, model.W.dtype, flag="--images")
    y = _read_labels(args.labels)
    if len(y) != len(X):
        raise CLIError(f"--labels: {len(y)} labels in {args.labels} for {len(X)} images in "
                       f"{args.images}; expected one label per image")
    unknown = np.setdiff1d(np.unique(y), model.classes_)
    if unknown.size:
        raise CLIError(f"--labels: label {unknown[0]} in {args.labels} is not one of the "
                       f"model's classes {model.classes_.tolist()}")
    return X, y, args.images


def run_evaluate(args) -> int:
    """``scratchlin evaluate``: metrics of a saved model on an MNIST split or labelled files."""
    model = _load_model(args.model, args.threads)
    X, y, source = _evaluation_data(args, model)
    predicted = model.predict(X)
    loss, _ = model.evaluate(X, y)
    correct = int(np.count_nonzero(predicted == y))
    cm = metrics.confusion_matrix(y, predicted, labels=model.classes_)
    report = metrics.classification_report(y, predicted, labels=model.classes_)
    if args.json:
        print(json.dumps({
            "model": str(args.model), "split": args.split if args.images is None else None,
            "images": args.images, "labels_file": args.labels, "n_samples": len(y),
            "accuracy": correct / len(y), "correct": correct, "loss": float(loss),
            "labels": model.classes_.tolist(), "confusion_matrix": cm.tolist(),
            "report": report,
        }, indent=2))
        return 0
    print(f"{args.model} on {source} ({len(y)} images)")
    print(f"accuracy: {_percent(correct, len(y))}")
    print(f"mean cross-entropy: {loss:.4f}\n")
    print("confusion matrix (rows: true label, columns: predicted label)")
    print(_confusion_text(cm, model.classes_) + "\n")
    print(metrics.format_report(report), end="")
    return 0


# --------------------------------------------------------------------------------------------
# Reading images: bounded before anything large is allocated


def _too_large(flag: str, path: Path, what: str, n_bytes: int) -> CLIError:
    return CLIError(f"{flag}: {path} {what} {n_bytes} bytes of pixels, more than the "
                    f"{MAX_INPUT_BYTES} this command reads; split it into smaller files")


def _read_npy(path: Path, flag: str = "INPUT") -> np.ndarray:
    # Memory-mapped: only the header is read here, so a header claiming a huge shape costs
    # nothing (and a file shorter than its header says is refused by the mapping).
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise CLIError(f"{flag}: {path} is not a readable .npy array of numbers: {error}") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise CLIError(f"{flag}: {path} is an .npz archive; expected one array saved with numpy.save (.npy)")
    if array.nbytes > MAX_INPUT_BYTES:
        raise _too_large(flag, path, f"holds a {array.dtype} array of shape {array.shape},", array.nbytes)
    return array


_IDX_ITEMSIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


def _read_idx(path: Path, flag: str = "INPUT") -> np.ndarray:
    """An IDX file (``.gz`` or raw), never decompressing more than its header announces."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as stream:
            data = stream.read(4)
            ndim = data[3] if len(data) == 4 else 0
            data += stream.read(4 * ndim)
            if len(data) == 4 + 4 * ndim and data[2] in _IDX_ITEMSIZE:
                dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
                n_bytes = math.prod(dims) * _IDX_ITEMSIZE[data[2]]
                if n_bytes > MAX_INPUT_BYTES:
                    raise _too_large(flag, path, f"has an IDX header announcing shape {tuple(dims)}:", n_bytes)
                data += stream.read(n_bytes + 1)  # one byte more, so trailing data is noticed
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise CLIError(f"{flag}: cannot read {path}: {error}") from None
    try:
        return datasets.parse_idx(data, name=str(path))
    except datasets.MNISTError as error:
        raise CLIError(f"{flag}: {error} (expected an IDX file, a .npy array or a picture)") from None


def _pillow(path: Path):
    try:
        from PIL import Image
    except ImportError:
        raise CLIError(f"INPUT: reading {path.suffix} pictures needs Pillow, which is not "
                       "installed: pip install pillow (or pass the images as .npy or IDX)") from None
    return Image


def _read_picture(path: Path) -> np.ndarray:
    Image = _pillow(path)
    try:
        with Image.open(path) as picture:
            if max(picture.size) > MAX_PICTURE_SIDE:
                raise CLIError(f"INPUT: {path} is a {picture.size[0]}x{picture.size[1]} picture; "
                               f"expected at most {MAX_PICTURE_SIDE} pixels a side")
            return np.asarray(picture.convert("L"))
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise CLIError(f"INPUT: cannot read {path} as a picture: {error}") from None


def _is_picture(path) -> bool:
    return Path(path).name.lower().endswith(_PICTURE_SUFFIXES)


def read_input_images(path, flag: str = "INPUT") -> np.ndarray:
    """The raw array in an image file: ``.npy``, a picture, or IDX (``.gz`` or not).

    Parameters
    ----------
    path : str or os.PathLike
    flag : str, default="INPUT"
        How the file is named in error messages.

    Returns
    -------
    ndarray
        As stored (any shape, any dtype; a ``.npy`` file is memory-mapped, at most
        :data:`MAX_INPUT_BYTES`); a picture as (H, W) uint8 grey levels. See
        :func:`as_feature_rows`.
    """
    path = Path(path)
    if not path.is_file():
        raise CLIError(f"{flag}: no file at {path}")
    if path.name.lower().endswith(".npy"):
        return _read_npy(path, flag)
    if _is_picture(path):
        return _read_picture(path)
    return _read_idx(path, flag)


def prepare_picture(pixels: np.ndarray, side: int = 28, box: int = 20) -> np.ndarray:
    """A light-on-dark picture as MNIST's digits were prepared: fit the digit into a
    ``box`` x ``box`` square (aspect kept, anti-aliased), then centre its centre of mass in a
    ``side`` x ``side`` image.

    Parameters
    ----------
    pixels : ndarray of shape (H, W), uint8
        Grey levels, a light digit on a dark background.
    side : int, default=28
    box : int, default=20

    Returns
    -------
    ndarray of shape (side, side), uint8
    """
    from PIL import Image

    ink = pixels > 0.2 * pixels.max() if pixels.max() > 0 else None
    if ink is None:
        raise CLIError("INPUT: the picture is blank (no light pixel): nothing to predict")
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = np.ascontiguousarray(pixels[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    scale = box / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    digit = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS), dtype=np.float64)
    ys, xs = np.indices(digit.shape)
    mass = digit.sum()
    top = round((side - 1) / 2 - float((ys * digit).sum() / mass))
    left = round((side - 1) / 2 - float((xs * digit).sum() / mass))
    canvas = np.zeros((side, side))
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + digit.shape[0], side), min(left + digit.shape[1], side)
    canvas[y0:y1, x0:x1] = digit[y0 - top:y1 - top, x0 - left:x1 - left]
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


def as_feature_rows(array: np.ndarray, n_features: int, dtype, flag: str = "INPUT") -> np.ndarray:
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
    flag : str, default="INPUT"
        How the file is named in error messages.

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
        raise CLIError(f"{flag}: expected {side}x{side} images, shaped (N, {side}, {side}) or "
                       f"(N, {n_features}), got an array of shape {shape}; resize them first "
                       f"(MNIST: digit fitted into 20x20, centred by mass in {side}x{side}; "
                       "pictures such as .png are resized this way automatically)")
    if array.shape[0] == 0:
        raise CLIError(f"{flag}: holds no images (0 rows)")
    try:
        return datasets.to_float(array, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise CLIError(f"{flag}: {error}") from None


def _bright_border(images: np.ndarray) -> np.ndarray:
    """Per image (N, H, W) in [0, 1], whether its outer frame is bright on average (> 0.5).

    MNIST digits sit in a 20x20 box in the middle of 28x28: their border, 2 pixels wide and
    more, is black. A bright border means a dark digit on a light background. The frame is
    1/14 of the shorter side wide (2 pixels at 28x28)."""
    height, width = images.shape[1:]
    margin = max(1, min(height, width) // 14)
    frame = np.ones((height, width), dtype=bool)
    frame[margin:-margin, margin:-margin] = False
    return images[:, frame].mean(axis=1) > 0.5


def _warn_if_inverted(bright: np.ndarray, flag: str, notes) -> None:
    indices = np.flatnonzero(bright)
    if indices.size:
        which = ", ".join(map(str, indices[:5].tolist())) + (", ..." if indices.size > 5 else "")
        print(f"warning: {indices.size} of {len(bright)} images in {flag} look like dark digits "
              f"on a light background (index {which});\n  MNIST's are light on dark, so their "
              "predictions are unreliable: pass --invert to flip them", file=notes)


def load_input_rows(path, n_features: int, dtype, *, invert: bool = False,
                    flag: str = "INPUT", notes=None) -> np.ndarray:
    """The images in ``path`` as model input: (N, n_features) rows of ``dtype`` in [0, 1].

    A picture that is not ``side`` x ``side`` is prepared as MNIST was (see
    :func:`prepare_picture`); ``invert`` flips dark-on-light images; images that still look
    dark-on-light get a warning on ``notes`` (default: stderr).
    """
    notes = sys.stderr if notes is None else notes
    side = math.isqrt(n_features)
    array = read_input_images(path, flag)
    resize = _is_picture(path) and array.shape != (side, side)
    if resize:
        if invert:
            array, invert = 255 - array, False
        bright = _bright_border(array[None] / 255)  # judged before, as resizing adds a border
        print(f"note: resized the {array.shape[1]}x{array.shape[0]} picture as MNIST was "
              f"prepared: digit fitted into 20x20, centred by mass in {side}x{side}", file=notes)
        array = prepare_picture(array, side)
    rows = as_feature_rows(array, n_features, dtype, flag)
    if invert:
        rows = 1 - rows
    if not resize and side * side == n_features:
        bright = _bright_border(rows.reshape(-1, side, side))
    if side * side == n_features or resize:
        _warn_if_inverted(bright, flag, notes)
    return rows


# --------------------------------------------------------------------------------------------
# predict


def _top_k(probabilities: np.ndarray, classes: np.ndarray, k: int):
    """The k most likely labels per row and their probabilities, most likely first (ties:
    the first class, as ``argmax``)."""
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return classes[order], np.take_along_axis(probabilities, order, axis=1)


def _write_csv(stream, labels, probabilities) -> None:
    k = labels.shape[1]
    header = ["index", "label", "probability"]
    for rank in range(2, k + 1):
        header += [f"label_{rank}", f"probability_{rank}"]
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    for index, (row_labels, row_probabilities) in enumerate(zip(labels.tolist(), probabilities.tolist())):
        cells: list = [index]
        for label, probability in zip(row_labels, row_probabilities):
            cells += [label, f"{probability:.6f}"]
        writer.writerow(cells)


def _json_rows(labels, probabilities) -> list:
    return [{"index": index, "label": row_labels[0], "probability": row_probabilities[0],
             "top": [{"label": label, "probability": p} for label, p in zip(row_labels, row_probabilities)]}
            for index, (row_labels, row_probabilities)
            in enumerate(zip(labels.tolist(), probabilities.tolist()))]


def _text_lines(labels, probabilities):
    if labels.shape[1] == 1:
        return (str(row[0]) for row in labels.tolist())
    return ("  ".join(f"{label} {p:.4f}" for label, p in zip(row_labels, row_probabilities))
            for row_labels, row_probabilities in zip(labels.tolist(), probabilities.tolist()))


def run_predict(args) -> int:
    """``scratchlin predict``: the label of every image in INPUT."""
    if args.csv not in (None, "-"):
        _check_file_target("--csv", Path(args.csv))
    model = _load_model(args.model, args.threads)
    n_classes = len(model.classes_)
    if args.top_k > n_classes:
        raise UsageError(f"--top-k {args.top_k}: the model has {n_classes} classes; expected "
                         f"1..{n_classes}")
    X = load_input_rows(args.input, model.n_features_in_, model.W.dtype, invert=args.invert)
    labels, probabilities = _top_k(model.predict_proba(X), model.classes_, args.top_k)
    if args.json:
        rows = [json.dumps(row) for row in _json_rows(labels, probabilities)]
        sys.stdout.write("[\n" + ",\n".join(rows) + "\n]\n")  # valid JSON, one image a line
    elif args.csv == "-":
        _write_csv(sys.stdout, labels, probabilities)
    elif args.csv is not None:
        with open(args.csv, "w", newline="") as stream:
            _write_csv(stream, labels, probabilities)
        print(f"wrote {len(labels)} predictions to {args.csv}")
    else:
        for line in _text_lines(labels, probabilities):
            sys.stdout.write(line + "\n")
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
    print(f"MNIST folder: {_shown(folder)}  (from {'--data' if args.data is not None else origin})")
    if args.download:
        missing = [info.name for info in datasets.FILES.values()
                   if datasets.find_file(folder, info) is None]
        if missing:
            print(f"downloading {len(missing)} missing file{'s' if len(missing) > 1 else ''} "
                  "(verified against the published sha256) ...", flush=True)
            progress = _progress_for(args)
            try:
                datasets.download_mnist(args.data, progress=progress)
            finally:
                if progress is not None:
                    progress.close()
        else:
            print("nothing to download: all 4 files are present")
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


def _error_text(error: BaseException, args) -> str:
    """The message after ``scratchlin: error: ``: one line, or a few short ones for missing data."""
    if isinstance(error, datasets.MNISTNotFoundError):
        return "\n".join(_data_error_lines(error, args))
    return _one_line(error)


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    return next(action for action in parser._actions
                if isinstance(action, argparse._SubParsersAction)).choices[command]


def _reject_unknown(parser: argparse.ArgumentParser, command: str, unknown: list) -> None:
    """A usage error from the command's own parser, suggesting the closest known flag."""
    subparser = _subparser(parser, command)
    message = f"unrecognized arguments: {' '.join(unknown)}"
    flag = unknown[0].split("=")[0]
    known = [option for action in subparser._actions for option in action.option_strings]
    close = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
    if flag.startswith("-") and close:
        message += f" (did you mean {close[0]}?)"
    subparser.error(message)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush into the closed pipe does
    not fail again (the recipe of Python's documentation, 'Note on SIGPIPE')."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file (e.g. captured)
        pass


def main(argv=None) -> int:
    """Run the ``scratchlin`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; None means ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 success, 1 error (on stderr), 2 usage error, 141 when stdout is a
        pipe that closed early (``| head``), 130 on Ctrl-C.
    """
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            _reject_unknown(parser, args.command, unknown)
    except SystemExit as exit_:  # --help/--version (0) or a usage error (2), already printed
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        status = args.run(args)
        sys.stdout.flush()  # a closed pipe shows up here, not at the interpreter's exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE_STATUS
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except UsageError as error:
        try:
            _subparser(parser, args.command).error(str(error))
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else 2
        return 2  # pragma: no cover (error() always exits)
    except (CLIError, *USER_ERRORS) as error:
        if args.traceback:
            raise
        print(f"{PROG}: error: {_error_text(error, args)}", file=sys.stderr)
        return 1
