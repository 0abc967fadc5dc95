"""
Early stopping and the learning-rate schedule
=============================================

With ``early_stopping=True``, ``LinearClassifier`` holds out ``validation_fraction`` of the
training rows, stops once their loss has not improved for ``patience`` iterations (epochs, on
MNIST), and keeps the weights of its best iteration. A cosine schedule is planned over the whole
``max_iter`` budget, so early stopping may cut it short. That is on purpose: the rate of each
iteration then depends only on the hyperparameters, not on how the validation loss happened to
move, so a run with early stopping is the same run as without it up to the iteration where it
stopped. The default ``"adaptive"`` rate instead divides itself by 5 when the training loss
stops improving.

Is the adaptive or a constant rate a better partner for early stopping than a cosine cut short? This page
measures it on MNIST for three seeds, with the test split kept for the final accuracy only. The
table is computed when the documentation is built.

Run::

    python examples/early_stopping.py [--data DIR] [--seeds 0 1 2]
"""
# %%
# The runs
# --------
import argparse

import numpy as np

import scratchlin as sl
from scratchlin import datasets

parser = argparse.ArgumentParser(description="Early stopping with a cut cosine or a constant rate.",
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
parser.add_argument("--data", metavar="DIR", default=None,
                    help="MNIST folder; None: $SCRATCHLIN_DATA, else the per-user cache")
parser.add_argument("--no-download", dest="download", action="store_false",
                    help="fail if a file is missing (default: download=%(default)s)")
parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the runs")
args, _ = parser.parse_known_args()

images, labels = datasets.load_mnist("train", root=args.data, download=args.download)
test_images, test_labels = datasets.load_mnist("test", root=args.data, download=args.download)
X, X_test = datasets.to_float(datasets.flatten(images)), datasets.to_float(datasets.flatten(test_images))

SETTINGS = {
    "budget 40, cosine, cut by early stopping": dict(max_iter=40, lr_schedule="cosine", early_stopping=True),
    "budget 40, constant rate, early stopping": dict(max_iter=40, lr_schedule="constant", early_stopping=True),
    "the defaults, early stopping on": dict(early_stopping=True),
    "the defaults, all rows, no early stopping": dict(),
}


def run(settings, seed):
    """Iterations run, the iteration whose weights were kept, and the test accuracy."""
    model = sl.LinearClassifier(seed=seed, **settings).fit(X, labels)
    kept = model.history_[-1].get("best_iteration", model.n_iter_)
    return model.n_iter_, kept, model.score(X_test, test_labels)


results = {name: [run(settings, seed) for seed in args.seeds] for name, settings in SETTINGS.items()}

# %%
# Iterations run, weights kept and test accuracy
# ----------------------------------------------
print(f"seeds {args.seeds}")
print(f"{'setting':<44}{'iterations run (kept)':<28}{'test accuracy, %':<24}mean")
for name, runs in results.items():
    epochs = ", ".join(f"{ran} ({kept})" for ran, kept, _ in runs)
    accuracies = ", ".join(f"{100 * accuracy:.2f}" for _, _, accuracy in runs)
    mean = 100 * np.mean([accuracy for _, _, accuracy in runs])
    print(f"{name:<44}{epochs:<28}{accuracies:<24}{mean:.2f}%")

# %%
# Read the means against the spread between seeds before calling one setting better. Early
# stopping is worth using when you do not know how many epochs to run; with a known budget it
# holds 10% of the rows back for nothing. When it cuts a decaying schedule, ``scratchlin train``
# says so and suggests setting the budget near the epoch where it stopped, so that the next
# run's schedule ends where training ends.
