"""The ``scratchlin`` command line: train, evaluate, predict, gradcheck, data, bench.

Run ``scratchlin --help`` or ``scratchlin COMMAND --help``. Exit status: 0 on success, 2 for a
usage error (unknown flag, malformed or out-of-range value; argparse prints the usage), 1 for
a failure the user can fix (missing data with downloads off, a bad model or input file, a
value the library refuses, a failed gradient check), reported as one line
``scratchlin: error: ...`` on stderr. ``--traceback`` shows the full traceback instead.

This module builds the parser from :data:`COMMANDS` and turns errors into exit statuses. Each
command is a module with ``add_parser(subparsers)`` (which sets the parser's ``run`` default)
and ``run(args) -> int``: ``_train``, ``_evaluate``, ``_predict``, ``_gradcheck``, ``_data``.
What they share: ``_options`` (argument types, common flags), ``_input_files``,
``_pictures`` and ``_input_rows`` (the user's images), ``_tables`` (the user's own tables:
CSV, .npy, .npz), ``_model_inputs`` (images or table columns, whichever a model reads),
``_mnist``, ``_progress`` and ``_data_messages`` (MNIST with a progress line, and what to do
when it is missing), ``_models`` and ``_outputs`` (the model read, the paths written),
``_interrupt`` (Ctrl-C during ``train``), ``_pipe`` (``| head``).
"""
from __future__ import annotations

import argparse
import difflib
import importlib
import sys

from .. import __version__, datasets
from ..model import LR_SCHEDULES, OPTIMIZERS
from ._data_messages import data_error_lines
from ._errors import USER_ERRORS, CLIError, UsageError
from ._input_files import MAX_INPUT_BYTES, MAX_PICTURE_SIDE, read_input_images
from ._input_rows import as_feature_rows, load_input_rows
from ._pictures import prepare_picture
from ._pipe import BROKEN_PIPE_STATUS, silence_stdout
from ._progress import DownloadProgress
from ._signals import Terminated, terminating_cleanly
from ._train import early_stopping_report, hold_out

__all__ = [
    "BROKEN_PIPE_STATUS",
    "COMMANDS",
    "CLIError",
    "DownloadProgress",
    "LR_SCHEDULES",
    "MAX_INPUT_BYTES",
    "MAX_PICTURE_SIDE",
    "OPTIMIZERS",
    "PROG",
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

#: The program name, first word of every message.
PROG = "scratchlin"

#: The commands, one module each, in the order ``scratchlin --help`` lists them. A module
#: defines ``add_parser(subparsers)``, which sets ``run`` (and ``traceback``) defaults on its
#: parser, and ``run(args) -> int``. A new command is one more line here.
COMMANDS = (
    "scratchlin.cli._train",
    "scratchlin.cli._evaluate",
    "scratchlin.cli._predict",
    "scratchlin.cli._gradcheck",
    "scratchlin.cli._data",
    "scratchlin.bench",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``scratchlin`` argument parser, with one subparser per command of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog=PROG, allow_abbrev=False,
        description="scratchlin: softmax regression in pure NumPy, on MNIST or on your own "
                    "table (train --table FILE --target COLUMN).",
        epilog="Run 'scratchlin COMMAND --help' for the options of a command. Exit status: "
               "0 success, 1 error, 2 usage error, 141 output pipe closed early.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def _error_text(error: BaseException, args) -> str:
    """The message after ``scratchlin: error: ``: one line, or a few short ones for missing data."""
    if isinstance(error, datasets.MNISTNotFoundError):
        return "\n".join(data_error_lines(error, args))
    return " ".join(str(error).split()) or type(error).__name__


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    return next(action for action in parser._actions
                if isinstance(action, argparse._SubParsersAction)).choices[command]


#: Flags of scratchlin 0.1 that have a new name.
_RENAMED_FLAGS = {"--epochs": "--max-iter", "--optimizer": "--solver", "--weight-decay": "--C"}


def _reject_unknown(parser: argparse.ArgumentParser, command: str, unknown: list) -> None:
    """A usage error from the command's own parser, suggesting the closest known flag."""
    subparser = _subparser(parser, command)
    message = f"unrecognized arguments: {' '.join(unknown)}"
    flag = unknown[0].split("=")[0]
    known = [option for action in subparser._actions for option in action.option_strings]
    close = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
    if flag in _RENAMED_FLAGS and _RENAMED_FLAGS[flag] in known:
        message += f" ({flag} is now {_RENAMED_FLAGS[flag]}; see the changelog)"
    elif flag.startswith("-") and close:
        message += f" (did you mean {close[0]}?)"
    subparser.error(message)


def _exit_status(exit_: SystemExit) -> int:
    """The status argparse exits with (0 for --help/--version, 2 for a usage error)."""
    return exit_.code if isinstance(exit_.code, int) else 2


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
        pipe that closed early (``| head``), 130 on Ctrl-C, 128 + the signal's number on SIGTERM
        or SIGHUP (after removing any temporary file).
    """
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            _reject_unknown(parser, args.command, unknown)
    except SystemExit as exit_:  # --help/--version (0) or a usage error (2), already printed
        return _exit_status(exit_)
    try:
        with terminating_cleanly():
            status = args.run(args)
        sys.stdout.flush()  # a closed pipe shows up here, not at the interpreter's exit
        return status
    except Terminated as terminated:
        print(f"{PROG}: terminated by signal {terminated.signum}", file=sys.stderr)
        return terminated.status
    except BrokenPipeError:
        silence_stdout()
        return BROKEN_PIPE_STATUS
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except UsageError as error:
        try:
            _subparser(parser, args.command).error(str(error))
        except SystemExit as exit_:
            return _exit_status(exit_)
        return 2  # pragma: no cover (error() always exits)
    except (CLIError, *USER_ERRORS) as error:
        if args.traceback:
            raise
        print(f"{PROG}: error: {_error_text(error, args)}", file=sys.stderr)
        return 1
