"""``scratchlin gradcheck``: the estimator's analytic gradients against finite differences."""
from __future__ import annotations

import argparse
import inspect

import numpy as np

from ..gradcheck import eps_warning, gradcheck
from ..model import LinearClassifier
from ._errors import CLIError
from ._options import (
    add_command,
    add_common_options,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    ranged,
    unit_interval,
)

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``gradcheck`` to ``subparsers``; its ``run`` default is :func:`run`."""
    check_defaults = {name: p.default for name, p in inspect.signature(gradcheck).parameters.items()}
    parser = add_command(
        subparsers, "gradcheck", help="check the analytic gradients against finite differences",
        description="Compare LinearClassifier.loss_and_grad's gradients with central finite "
                    "differences on a random small float64 softmax-regression problem, and "
                    "print the worst relative error per parameter (CS231n's reading: below "
                    "1e-7 is a correct gradient). Exit status 1 if any element fails "
                    "|analytic - numerical| <= atol + rtol * |numerical|.")
    parser.add_argument("--samples", type=positive_int, default=16, help="rows of X (default: %(default)s)")
    parser.add_argument("--features", type=positive_int, default=12, help="columns of X (default: %(default)s)")
    parser.add_argument("--classes", type=ranged(int, lambda n: n >= 2, "an integer >= 2"), default=4,
                        help="number of classes (default: %(default)s)")
    parser.add_argument("--C", type=ranged(float, lambda c: c > 0, "a number > 0 or inf"), default=1.0,
                        help="inverse strength of the L2 penalty included in the loss, "
                             "scikit-learn's C; inf for none (default: %(default)s)")
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
    add_common_options(parser)
    parser.set_defaults(run=run)
    return parser


def _random_problem(args):
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((args.samples, args.features))
    y = rng.integers(0, args.classes, size=args.samples)
    W = 0.1 * rng.standard_normal((args.features, args.classes))
    b = 0.1 * rng.standard_normal(args.classes)
    return X, y, W, b


def _reading(relative_error: float, step_is_accurate: bool = True) -> str:
    """CS231n's reading of a relative error, for a smooth (kink-free) objective; with a step
    outside the accurate range, an error is the step's as much as the gradient's."""
    if relative_error < 1e-7:
        return "good (< 1e-7)"
    if not step_is_accurate:
        return "unreliable at this eps (see the note)"
    if relative_error < 1e-4:
        return "suspect (1e-7..1e-4; this objective has no kinks)"
    if relative_error < 1e-2:
        return "probably wrong (1e-4..1e-2)"
    return "wrong (>= 1e-2)"


def run(args) -> int:
    """``scratchlin gradcheck``: analytic vs numerical gradients of the training objective."""
    X, y, W, b = _random_problem(args)
    hyper = {"C": args.C, "label_smoothing": args.label_smoothing}

    def loss(W, b):
        return LinearClassifier.from_params(W, b, **hyper).loss_and_grad(X, y)[0]

    _, grads = LinearClassifier.from_params(W, b, **hyper).loss_and_grad(X, y)
    results = gradcheck(loss, {"W": W, "b": b}, grads, eps=args.eps, atol=args.atol,
                        rtol=args.rtol, raise_exception=False)
    print("gradient check of LinearClassifier.loss_and_grad (float64, central differences)")
    print(f"  X {X.shape}, {args.classes} classes, C={args.C:g}, "
          f"label_smoothing={args.label_smoothing:g}, seed {args.seed}, eps={args.eps:g}")
    print(f"  {'param':<6} {'shape':<7} {'max rel error':>15} {'max abs error':>15}   reading")
    warning = eps_warning(args.eps)
    for r in results:
        shape = "x".join(map(str, {"W": W, "b": b}[r.name].shape))
        print(f"  {r.name:<6} {shape:<7} {r.max_rel_error:>15.2e} {r.max_abs_error:>15.2e}   "
              f"{_reading(r.max_rel_error, warning is None)}")
    if warning is not None:
        print(f"note: {warning}; the default --eps 1e-05 is near the optimum")
    failures = [r for r in results if not r.passed]
    if failures:
        worst = failures[0]
        cause = ("; the step is the likely cause: retry with --eps 1e-5" if warning is not None
                 else "")
        raise CLIError(
            f"gradient check failed for {', '.join(r.name for r in failures)}: "
            f"{worst.name}{list(worst.worst_index)} analytic {worst.analytic:.10g} vs numerical "
            f"{worst.numerical:.10g}, beyond atol={args.atol:g} + rtol={args.rtol:g} * |numerical|"
            f"{cause}")
    print(f"passed: every element within atol={args.atol:g} + rtol={args.rtol:g} * |numerical|")
    return 0
