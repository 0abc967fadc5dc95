"""``scratchlin predict``: the label (or the top-k labels) of every image in a file."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from .. import functional
from ._errors import UsageError
from ._model_inputs import input_row_blocks, without_feature_names
from ._models import load_model
from ._options import add_command, add_common_options, add_threads_option, positive_int
from ._outputs import check_file_target, open_output_file
from ._text import one_line, spreadsheet_safe

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``predict`` to ``subparsers``; its ``run`` default is :func:`run`."""
    parser = add_command(
        subparsers, "predict", help="predict the labels of the images or table rows in a file",
        description="Predict the label of every image (or table row) in INPUT and print one "
                    "per line; "
                    "--top-k K adds the K most likely labels with their probabilities; --csv "
                    "and --json write machine-readable rows.",
        epilog="INPUT formats: an IDX file, gzip-compressed (.gz) or not (as MNIST's own "
               "files); a .npy array of uint8 pixels 0..255 or floats in [0, 1], shaped "
               "(N, 28, 28), (N, 784) or one image (28, 28) / (784,); a picture (.png, ...; "
               "needs Pillow). Digits must be light on a dark background, as in MNIST: a "
               "warning names images whose border is bright (pass --invert for dark-on-light "
               "pictures). A picture of another size is prepared as MNIST's digits were: the "
               "digit is fitted into a 20x20 box and centred by its centre of mass in 28x28. "
               "A model trained with 'train --table' reads a table instead: .csv (columns "
               "matched by name), .npy (2-D) or .npz (array X). "
               "examples: scratchlin predict model.npz digits.npy --top-k 3; "
               "scratchlin predict wine.npz new-wines.csv")
    parser.add_argument("model", metavar="MODEL", help="a .npz model written by 'scratchlin train'")
    parser.add_argument("input", metavar="INPUT",
                        help="images: IDX (.gz or raw), .npy, or a picture; for a table "
                             "model: .csv, .npy or .npz")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--csv", metavar="OUT", default=None,
                        help="write index,label,probability rows to OUT ('-' for stdout); with "
                             "--top-k also label_2,probability_2, ...; a text label that starts "
                             "like a spreadsheet formula (= + - @) gets a leading '")
    output.add_argument("--json", action="store_true",
                        help="print a JSON list, one object per image: index, label, "
                             "probability, and top (the --top-k labels with probabilities)")
    parser.add_argument("--top-k", metavar="K", type=positive_int, default=1,
                        help="report the K most likely labels per image (10: every class's "
                             "probability) (default: %(default)s)")
    parser.add_argument("--invert", action="store_true",
                        help="flip dark-on-light images to light-on-dark before predicting")
    add_threads_option(parser)
    add_common_options(parser)
    parser.set_defaults(run=run)
    return parser


def _top_k(model, X: np.ndarray, k: int):
    """The k most likely labels per row and their probabilities, most likely first.

    Ranked by the logits, as ``model.predict`` ranks them (ties: the first class), not by the
    probabilities, which can round to equal values for different logits.
    """
    scores = model._ranking_logits(X)  # finite ranks even where the logits overflow
    with np.errstate(over="ignore"):  # a shift past -max is -inf, whose probability is 0
        probabilities = functional.softmax(scores, axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return model.classes_[order], np.take_along_axis(probabilities, order, axis=1)


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
            cells += [spreadsheet_safe(label), f"{probability:.6f}"]
        writer.writerow(cells)


def _json_rows(labels, probabilities) -> list:
    return [{"index": index, "label": row_labels[0], "probability": row_probabilities[0],
             "top": [{"label": label, "probability": p} for label, p in zip(row_labels, row_probabilities)]}
            for index, (row_labels, row_probabilities)
            in enumerate(zip(labels.tolist(), probabilities.tolist()))]


def _text_lines(labels, probabilities):
    if labels.shape[1] == 1:
        return (one_line(str(row[0])) for row in labels.tolist())
    return ("  ".join(f"{one_line(str(label))} {p:.4f}" for label, p in zip(row_labels, row_probabilities))
            for row_labels, row_probabilities in zip(labels.tolist(), probabilities.tolist()))


def run(args) -> int:
    """``scratchlin predict``: the label of every image in INPUT."""
    if args.csv not in (None, "-"):
        check_file_target("--csv", Path(args.csv))
    model = load_model(args.model, args.threads)
    n_classes = len(model.classes_)
    if args.top_k > n_classes:
        raise UsageError(f"--top-k {args.top_k}: the model has {n_classes} classes; expected "
                         f"1..{n_classes}")
    rows = input_row_blocks(model, args.input, invert=args.invert)  # a table is read by name now
    model = without_feature_names(model)
    blocks = [_top_k(model, X, args.top_k) for X in rows]
    labels = np.concatenate([block[0] for block in blocks])
    probabilities = np.concatenate([block[1] for block in blocks])
    if args.json:
        rows = [json.dumps(row, allow_nan=False) for row in _json_rows(labels, probabilities)]
        sys.stdout.write("[\n" + ",\n".join(rows) + "\n]\n")  # valid JSON, one image a line
    elif args.csv == "-":
        _write_csv(sys.stdout, labels, probabilities)
    elif args.csv is not None:
        with open_output_file("--csv", Path(args.csv)) as stream:
            _write_csv(stream, labels, probabilities)
        print(f"wrote {len(labels)} predictions to {args.csv}")
    else:
        for line in _text_lines(labels, probabilities):
            sys.stdout.write(line + "\n")
    return 0
