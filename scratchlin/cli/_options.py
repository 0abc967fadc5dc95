"""Argument types and the options several commands share.

A malformed or out-of-range value is a usage error (exit status 2): the types below raise
``argparse.ArgumentTypeError``, which argparse prints with the command's usage.
"""
from __future__ import annotations

import argparse
import math

__all__ = [
    "add_command", "add_common_options", "add_data_options", "add_threads_option",
    "half_open_unit_interval", "non_negative_float", "non_negative_int", "positive_float",
    "positive_int", "ranged", "unit_interval",
]


def ranged(convert, accept, expected: str):
    """An argparse ``type`` that converts with ``convert`` and keeps the values ``accept`` allows.

    Parameters
    ----------
    convert : callable
        ``str -> value`` (``int``, ``float``); a ``ValueError`` is a usage error.
    accept : callable
        ``value -> bool``.
    expected : str
        What a valid value is, for the message ``expected {expected}, got '...'``.
    """

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


positive_float = ranged(float, lambda x: math.isfinite(x) and x > 0, "a number > 0")
non_negative_float = ranged(float, lambda x: math.isfinite(x) and x >= 0, "a number >= 0")
unit_interval = ranged(float, lambda x: 0 <= x <= 1, "a number in [0, 1]")
half_open_unit_interval = ranged(float, lambda x: 0 <= x < 1, "a number in [0, 1)")
positive_int = ranged(int, lambda n: n >= 1, "an integer >= 1")
non_negative_int = ranged(int, lambda n: n >= 0, "an integer >= 0")


def add_command(subparsers, name: str, **kwargs) -> argparse.ArgumentParser:
    """A command's parser, added to ``subparsers`` (``kwargs``: ``help``, ``description``...)."""
    # allow_abbrev=False: '--epoch 2' is an unknown flag (with a did-you-mean hint), not a
    # silent abbreviation of '--epochs' that a later flag could make ambiguous.
    return subparsers.add_parser(name, allow_abbrev=False, **kwargs)


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """``--data DIR`` and ``--no-download``, for the commands that read MNIST."""
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data", metavar="DIR", default=None,
        help="folder holding the MNIST files (default: $SCRATCHLIN_DATA, else the per-user "
             "cache ~/.cache/scratchlin/mnist)")
    group.add_argument(
        "--no-download", dest="download", action="store_false",
        help="never download: fail if a file is missing (default: download missing files "
             "into that folder, verified by checksum)")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """``--traceback``, which every command has."""
    parser.add_argument("--traceback", action="store_true",
                        help="show the full Python traceback on errors (for bug reports)")


def add_threads_option(parser: argparse._ActionsContainer) -> None:
    """``--threads N``, the BLAS threads of the model's products."""
    parser.add_argument("--threads", metavar="N", type=positive_int, default=None,
                        help="BLAS threads for scratchlin's matrix products (default: "
                             "scratchlin's thread policy)")
