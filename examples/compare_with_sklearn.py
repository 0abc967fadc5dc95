"""
scratchlin and scikit-learn's LogisticRegression on small data sets
===================================================================

``LinearClassifier()`` and scikit-learn's ``LogisticRegression()`` fit the same kind of model, a
multinomial logistic (softmax) regression. This page compares them on scikit-learn's bundled
data sets (iris, wine, breast cancer and digits, whose pixels 0..16 are divided by 16), each
with and without a ``StandardScaler`` in a ``Pipeline``, by the mean accuracy of a 5-fold
cross-validation (``cross_val_score(..., cv=5)``).

Both estimators keep **their default hyperparameters**: nothing is tuned, so the table shows
what a user gets out of the box. The table is computed when the documentation is built, so it
always describes the current code. Warnings raised during the fits (such as a solver stopping
before convergence) are counted in the last columns rather than printed.

**Needs scikit-learn** (``pip install scikit-learn``; it is in the ``test`` and ``docs`` extras).
Run::

    python examples/compare_with_sklearn.py
"""
# %%
# The data sets and the four estimators
# -------------------------------------
import argparse
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from scratchlin import LinearClassifier

parser = argparse.ArgumentParser(
    description="LinearClassifier() against LogisticRegression() on scikit-learn's small data sets.",
    formatter_class=argparse.ArgumentDefaultsHelpFormatter)
parser.add_argument("--folds", type=int, default=5, help="folds of the cross-validation")
args, _ = parser.parse_known_args()


def data_sets():
    """(name, X, y) of each bundled data set, digits scaled to [0, 1]."""
    digits = load_digits()
    return [
        ("iris", *load_iris(return_X_y=True)),
        ("wine", *load_wine(return_X_y=True)),
        ("breast_cancer", *load_breast_cancer(return_X_y=True)),
        ("digits", digits.data / 16.0, digits.target),
    ]


def estimators():
    """The four contenders, every hyperparameter at its default."""
    return {
        "scratchlin": LinearClassifier(),
        "scratchlin + scaler": make_pipeline(StandardScaler(), LinearClassifier()),
        "sklearn": LogisticRegression(),
        "sklearn + scaler": make_pipeline(StandardScaler(), LogisticRegression()),
    }


def cv_accuracy(estimator, X, y, folds):
    """Mean cross-validated accuracy and the number of warnings the fits raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = cross_val_score(estimator, X, y, cv=folds)
    return float(np.mean(scores)), len(caught)


# %%
# Cross-validated accuracy
# ------------------------
names = list(estimators())
results = {}
for data_name, X, y in data_sets():
    results[data_name] = {name: cv_accuracy(est, X, y, args.folds) for name, est in estimators().items()}
    rows, features = X.shape
    print(f"{data_name}: {rows} rows, {features} features, {len(np.unique(y))} classes")

print(f"\nmean accuracy of {args.folds}-fold cross-validation (warnings raised by the fits)")
print(f"{'data set':<14}" + "".join(f"{name:>22}" for name in names))
for data_name, row in results.items():
    cells = "".join(f"{f'{accuracy:.4f} ({count})':>22}" for accuracy, count in row.values())
    print(f"{data_name:<14}{cells}")

# %%
# The same as a picture
# ---------------------
import matplotlib.pyplot as plt  # noqa: E402 (a cell of its own, as in a notebook)

figure, axes = plt.subplots(figsize=(8, 3.6), layout="constrained")
width = 0.2
positions = np.arange(len(results))
for offset, name in enumerate(names):
    accuracies = [results[data_name][name][0] for data_name in results]
    axes.bar(positions + (offset - 1.5) * width, accuracies, width, label=name)
axes.set_xticks(positions, list(results))
axes.set_ylabel(f"mean {args.folds}-fold CV accuracy")
axes.set_ylim(0.5, 1.0)
axes.legend(loc="lower right", fontsize="small")
axes.set_title("LinearClassifier() and LogisticRegression(), default hyperparameters")
plt.show()
