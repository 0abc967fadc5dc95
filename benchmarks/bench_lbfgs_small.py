"""L-BFGS on scikit-learn's small data sets: float32 fits against ``LogisticRegression``, and
the work of float64 fits, counted in evaluations of the objective.

**float32 table.** Standardised iris, wine, breast_cancer and digits in float32,
``LinearClassifier(solver="lbfgs", C=C, tol=1e-6)`` and ``LogisticRegression(C=C, tol=1e-6)``
for C in 0.01, 1, 100: our iterations, stop reason and largest gradient entry, scikit-learn's
iterations and whether either warned, and the distance (largest entry of ``coef_``, binary
decision vectors compared as scikit-learn's) of each solution from a tight float64 reference
(``LogisticRegression(tol=1e-12)`` on the same data in float64).

**float64 work.** The same fits in float64 with the default ``tol`` and with ``tol=1e-8``:
iterations and evaluations of this ``scratchlin.lbfgs`` and, with ``--baseline FILE``, of
another ``lbfgs.py`` (e.g. a copy of the previous version) run on the same problems. Evaluations
do not depend on the machine or its load, so they compare the two without timing noise.

Run: ``python benchmarks/bench_lbfgs_small.py [--baseline old_lbfgs.py]``.
"""
from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
import warnings
from unittest import mock

import numpy as np
from sklearn import datasets as skdata
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

import scratchlin.lbfgs
from scratchlin import LinearClassifier

NAMES = ("iris", "wine", "breast_cancer", "digits")
CS = (0.01, 1.0, 100.0)


def data(name: str, dtype) -> tuple[np.ndarray, np.ndarray]:
    X, y = getattr(skdata, f"load_{name}")(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(dtype), y


def coef(model, classes: int) -> np.ndarray:
    """scikit-learn's layout of the weights: with two classes, the one decision vector."""
    if isinstance(model, LinearClassifier) and classes == 2:
        return (model.W[:, 1] - model.W[:, 0])[None, :]
    return np.asarray(model.coef_, dtype=np.float64)


def distance(model, classes: int, reference: np.ndarray) -> float:
    return float(np.abs(coef(model, classes) - reference).max())


def fit_warns(estimator, X, y) -> bool:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(X, y)
    return any(issubclass(w.category, ConvergenceWarning) for w in caught)


def float32_table() -> None:
    print("| data | C | our n_iter_ | our stop_reason_ | our max abs grad | our warning "
          "| sklearn n_iter_ | sklearn warning | our distance | sklearn's distance |")
    print("|---|---:|---:|---|---:|---|---:|---|---:|---:|")
    for name in NAMES:
        X32, y = data(name, np.float32)
        X64 = X32.astype(np.float64)
        classes = len(np.unique(y))
        for C in CS:
            reference = coef(LogisticRegression(C=C, tol=1e-12, max_iter=100_000).fit(X64, y), classes)
            ours, theirs = LinearClassifier(solver="lbfgs", C=C, tol=1e-6), LogisticRegression(C=C, tol=1e-6)
            our_warning, their_warning = fit_warns(ours, X32, y), fit_warns(theirs, X32, y)
            print(f"| {name} | {C:g} | {ours.n_iter_} | {ours.stop_reason_} "
                  f"| {ours.history_[-1]['grad_max']:.2g} | {'yes' if our_warning else 'no'} "
                  f"| {int(np.max(theirs.n_iter_))} | {'yes' if their_warning else 'no'} "
                  f"| {distance(ours, classes, reference):.2g} "
                  f"| {distance(theirs, classes, reference):.2g} |")


def load_module(path: str):
    spec = importlib.util.spec_from_file_location("baseline_lbfgs", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def counted_fit(minimize, X, y, C, tol):
    """``(n_iter, evaluations)`` of an L-BFGS fit whose solver is ``minimize``."""
    with mock.patch.object(scratchlin.lbfgs, "minimize", _dropping_new_options(minimize)), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LinearClassifier(solver="lbfgs", C=C, tol=tol).fit(X, y)
    return model.n_iter_, model.history_[-1]["evaluations"] if model.history_ else 1


def _dropping_new_options(minimize):
    """``minimize`` called with only the options it knows (an older one has fewer)."""
    known = inspect.signature(minimize).parameters

    def call(fun, x0, **options):
        result = minimize(fun, x0, **{k: v for k, v in options.items() if k in known})
        if not hasattr(result, "status"):  # an older result: a code the estimator reads
            result.status = "gradient" if result.converged else "max_iter"
        return result

    return call


def float64_work(baseline: str | None) -> None:
    contenders = {"new": scratchlin.lbfgs.minimize}
    if baseline:
        contenders["old"] = load_module(baseline).minimize
    header = " | ".join(f"{k} iterations | {k} evaluations" for k in contenders)
    print(f"| data | C | tol | {header} |")
    print("|---|---:|---:|" + "---:|" * (2 * len(contenders)))
    totals = {k: 0 for k in contenders}
    for name in NAMES:
        X, y = data(name, np.float64)
        for C in CS:
            for tol in (1e-4, 1e-8):
                cells = []
                for key, minimize in contenders.items():
                    n_iter, evaluations = counted_fit(minimize, X, y, C, tol)
                    totals[key] += evaluations
                    cells.append(f"{n_iter} | {evaluations}")
                print(f"| {name} | {C:g} | {tol:g} | " + " | ".join(cells) + " |")
    print("total evaluations: " + ", ".join(f"{k} {v}" for k, v in totals.items()))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="another lbfgs.py to count float64 evaluations of")
    args = parser.parse_args(argv)
    float32_table()
    print()
    float64_work(args.baseline)


if __name__ == "__main__":
    main()
