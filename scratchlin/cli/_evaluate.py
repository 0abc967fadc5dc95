"""``scratchlin evaluate``: accuracy, loss, confusion matrix and per-class report of a saved model."""
from __future__ import annotations

import argparse
import json

import numpy as np

from .. import metrics
from . import _mnist
from ._errors import CLIError, UsageError
from ._input_files import read_labels
from ._input_rows import load_input_rows
from ._model_inputs import reads_pixels, table_rows, without_feature_names
from ._models import load_model
from ._options import add_command, add_common_options, add_data_options, add_threads_option
from ._tables import check_target_given
from ._text import one_line, percent

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``evaluate`` to ``subparsers``; its ``run`` default is :func:`run`."""
    parser = add_command(
        subparsers, "evaluate", help="accuracy, confusion matrix and per-class report of a saved model",
        description="Evaluate a saved model on an MNIST split, on your own labelled images "
                    "(--images and --labels), or on a table (--table FILE --target COLUMN): "
                    "accuracy, mean cross-entropy, confusion matrix and per-class "
                    "precision/recall/F1.",
        epilog="IMAGES take the formats of 'scratchlin predict' (IDX, .npy); LABELS are an IDX "
               "label file (.gz or raw) or a 1-D .npy array of integer labels, one per image. "
               "examples: scratchlin evaluate model.npz --json > metrics.json; "
               "scratchlin evaluate model.npz --images my-images.npy --labels my-labels.npy; "
               "scratchlin evaluate wine.npz --table wine-test.csv --target class")
    parser.add_argument("model", metavar="MODEL", help="a .npz model written by 'scratchlin train'")
    parser.add_argument("--split", choices=("test", "train"), default="test",
                        help="which MNIST split (default: %(default)s)")
    parser.add_argument("--images", metavar="IMAGES", default=None,
                        help="evaluate on these images instead of an MNIST split (needs --labels)")
    parser.add_argument("--labels", metavar="LABELS", default=None,
                        help="the true label of each image in --images")
    parser.add_argument("--table", metavar="FILE", default=None,
                        help="evaluate on a table instead (.csv, .npy or .npz, as for 'scratchlin "
                             "train --table'; a CSV's columns are matched to the model's by name)")
    parser.add_argument("--target", metavar="COLUMN", default=None,
                        help="the label column of --table (a .npy column index; a .npz array, "
                             "default y)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--quiet", action="store_true", help="no download progress")
    add_threads_option(parser)
    add_data_options(parser)
    add_common_options(parser)
    parser.set_defaults(run=run)
    return parser


def _shown_label(label) -> str:
    return repr(label) if isinstance(label, str) else str(label)


def _shown_labels(labels, limit: int = 20) -> str:
    shown = [_shown_label(label) for label in labels.tolist()[:limit]]
    return "[" + ", ".join(shown) + (", ...]" if len(labels) > limit else "]")


def _confusion_text(cm: np.ndarray, labels) -> str:
    names = [one_line(str(label)) for label in labels]
    width = max(6, len(str(cm.max())) + 2, *(len(n) + 2 for n in names))
    header = "true\\pred".rjust(width + 3) + "".join(n.rjust(width) for n in names)
    rows = [names[i].rjust(width + 3) + "".join(str(c).rjust(width) for c in row)
            for i, row in enumerate(cm)]
    return "\n".join([header, *rows])


def _table_data(args, model):
    if args.images is not None or args.labels is not None:
        raise UsageError("--table replaces --images and --labels: give one or the other")
    check_target_given(args.table, args.target)
    X, y = table_rows(model, args.table, args.target, flag="--table")
    if y is None:  # an .npz without y
        raise CLIError(f"--table: {args.table} holds no labels: expected an array y, or name "
                       "the labels array with --target")
    return X, y, args.table


def _evaluation_data(args, model):
    """(X, y, what) from --table/--target, --images/--labels, else from the MNIST split."""
    if args.table is None and args.target is not None:
        raise UsageError("--target names the label column of --table; give --table FILE too")
    if args.table is not None:
        X, y, source = _table_data(args, model)
    else:
        X, y, source = _image_data(args, model)
    unknown = np.setdiff1d(np.unique(y), model.classes_)
    if unknown.size:
        flag, where = (("--target", args.table) if args.table is not None
                       else ("--labels", args.labels) if args.labels is not None
                       else ("MODEL", source))
        raise CLIError(f"{flag}: label {_shown_label(unknown[0])} in {where} is not one of the "
                       f"model's classes {_shown_labels(model.classes_)}")
    return X, y, source


def _image_data(args, model):
    """(X, y, what) from --images/--labels, else from the MNIST split."""
    if (args.images is None) != (args.labels is None):
        raise UsageError("--images and --labels go together: give both, or neither to use "
                         "an MNIST split")
    if not reads_pixels(model):
        flag = "MODEL" if args.images is None else "--images"
        raise CLIError(f"{flag}: the model takes {model.n_features_in_} table columns, not "
                       "images; evaluate it with --table FILE --target COLUMN")
    if args.images is None:
        X, y = _mnist.load_split(args.split, args, model.W.dtype)
        return X, y, f"the MNIST {args.split} split"
    X = load_input_rows(args.images, model.n_features_in_, model.W.dtype, flag="--images")
    y = read_labels(args.labels)
    if len(y) != len(X):
        raise CLIError(f"--labels: {len(y)} labels in {args.labels} for {len(X)} images in "
                       f"{args.images}; expected one label per image")
    return X, y, args.images


def _json_text(result: dict) -> str:
    """``result`` as indented JSON, with the confusion matrix one row per line."""
    cm = result["confusion_matrix"]
    text = json.dumps({key: None if key == "confusion_matrix" else value
                       for key, value in result.items()}, indent=2)
    rows = ",\n".join("    " + json.dumps(row) for row in cm.tolist())
    return text.replace('"confusion_matrix": null', f'"confusion_matrix": [\n{rows}\n  ]', 1)


def run(args) -> int:
    """``scratchlin evaluate``: metrics of a saved model on an MNIST split or labelled files."""
    model = load_model(args.model, args.threads)
    X, y, source = _evaluation_data(args, model)
    model = without_feature_names(model)
    predicted = model.predict(X)
    loss, _ = model.evaluate(X, y)
    correct = int(np.count_nonzero(predicted == y))
    cm = metrics.confusion_matrix(y, predicted, labels=model.classes_)
    report = metrics.classification_report(y, predicted, labels=model.classes_)
    if args.json:
        print(_json_text({
            "model": str(args.model),
            "split": args.split if args.images is None and args.table is None else None,
            "images": args.images, "labels_file": args.labels, "table": args.table,
            "n_samples": len(y), "accuracy": correct / len(y), "correct": correct,
            "loss": float(loss), "labels": model.classes_.tolist(), "confusion_matrix": cm,
            "report": report,
        }))
        return 0
    rows = "rows" if args.table is not None else "images"
    print(f"{args.model} on {source} ({len(y)} {rows})")
    print(f"accuracy: {percent(correct, len(y))}")
    print(f"mean cross-entropy: {loss:.4f}\n")
    print("confusion matrix (rows: true label, columns: predicted label)")
    print(_confusion_text(cm, model.classes_) + "\n")
    print(metrics.format_report(report), end="")
    return 0
