"""
The seed notebook, step by step
===============================

scratchlin grew from a short teaching notebook: it loads MNIST, turns each image into a
vector, makes a *random* linear classifier ``logits = x @ w + b``, trips over a matrix product
of 8-bit integers, and computes a cross-entropy by hand and with PyTorch. This page repeats
every step with scratchlin, one cell at a time, and ends by feeding the notebook's own printed
logits to scratchlin, which gives back the notebook's printed loss, 16.0491.

:doc:`/notebook` describes the notebook itself. Run this page as a script with::

    python examples/seed_walkthrough.py [--data DIR] [--seed 0]

or download it as a Jupyter notebook (button at the bottom of the page).
"""
# %%
# Set-up
# ------
# The MNIST files are looked for in ``--data``, else in ``$SCRATCHLIN_DATA``, else in the
# per-user cache (downloaded there, checksum-verified, on first use).
import argparse

import numpy as np

import scratchlin as sl
from scratchlin import datasets

parser = argparse.ArgumentParser(description="The seed notebook, step by step, with scratchlin.",
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
parser.add_argument("--data", metavar="DIR", default=None,
                    help="MNIST folder; None: $SCRATCHLIN_DATA, else the per-user cache")
parser.add_argument("--no-download", dest="download", action="store_false",
                    help="fail if a file is missing (default: download=%(default)s, a "
                         "checksum-verified download of missing files)")
parser.add_argument("--seed", type=int, default=0, help="seed of w and b")
args, _ = parser.parse_known_args()
np.set_printoptions(precision=4, suppress=True, linewidth=100)

# %%
# Read the data
# -------------
# ``load_mnist`` returns the images as uint8 arrays of shape (N, 28, 28) and the labels as
# uint8 arrays of shape (N,).
train_x, train_y = datasets.load_mnist("train", root=args.data, download=args.download)
test_x, test_y = datasets.load_mnist("test", root=args.data, download=args.download)
print(f"{len(train_x)} training instances and {len(test_x)} test instances")
print(train_x.shape)

# %%
# The first image is a grid of integers from 0 (black) to 255 (white): the strokes of a 5.
with np.printoptions(linewidth=130):
    print(train_x[0])

# %%
# Each image becomes a vector of 784 features
# -------------------------------------------
# A linear model ignores the 2-D layout: each image becomes one row of 28 * 28 numbers. One
# dimension of a reshape may be given as -1; NumPy works it out from the array's size.
num_features = 28 * 28
train_x_vectors = train_x.reshape([-1, num_features])
print(train_x_vectors.shape)
assert np.array_equal(train_x_vectors, datasets.flatten(train_x))
print("the same as scratchlin.datasets.flatten(train_x)")

# %%
# Labels
# ------
print(np.unique(train_y))
num_classes = len(np.unique(train_y))
print(f"{num_classes} classes")

# %%
# A random linear classifier
# --------------------------
# The input has one dimension per pixel and the output one score per class, so ``w`` has
# shape (784, 10) and ``b`` shape (10,). They are drawn from a standard normal distribution,
# with a seed, so this page can be run again with the same numbers.
print(f"our input has {num_features} dimensions (one per pixel) and the output "
      f"{num_classes} possible classes")
rng = np.random.default_rng(args.seed)
w = rng.standard_normal((num_features, num_classes), dtype=np.float32)
b = rng.standard_normal(num_classes, dtype=np.float32)
print(f"w: {w.shape} {w.dtype}, b: {b.shape} {b.dtype}")

# %%
# Always take care with data types
# --------------------------------
# The pixels are 8-bit integers. A product of uint8 pixels with float weights is refused with
# a message that says what to do (the notebook hit torch's type-mismatch error at this point).
raw_batch = train_x_vectors[:8]
try:
    sl.linear(raw_batch, w, b)
except TypeError as error:
    print(f"sl.linear(uint8 batch, w, b) -> TypeError: {error}")

# %%
# ``to_float`` converts them to float32 in [0, 1] (a division by 255). The logits are the score
# of each instance and class:
batch = datasets.to_float(raw_batch)
logits = sl.linear(batch, w, b)
print(f"batch {batch.dtype} in [{batch.min()}, {batch.max()}]")
print(logits)

# %%
# Argmax, one-hot p and softmax q
# -------------------------------
# The predicted class of each row is the one with the highest score. With random weights they
# are wrong, as expected:
answer = logits.argmax(axis=1)
batch_labels = train_y[:8].astype(np.int64)
print(f"argmax: {answer.tolist()}")
print(f"labels: {batch_labels.tolist()}")

# %%
# The cross-entropy compares the true distribution :math:`p` (1 on the correct label, 0
# elsewhere: a one-hot row) with the predicted :math:`q = \mathrm{softmax}(z)`:
#
# .. math:: \mathrm{CE} = -\frac{1}{N} \sum_{i=1}^{N} \sum_{c} p_{ic} \log q_{ic}
p = sl.one_hot(batch_labels, num_classes)
q = sl.softmax(logits)
print("p (one-hot):")
print(p)
with np.printoptions(precision=4, suppress=False):
    print("q = softmax(logits):")
    print(q)

# %%
# The cross-entropy by hand and by the library
# --------------------------------------------
# ``log_softmax`` gives :math:`\log q` without forming :math:`q`. All three agree, and so does
# torch when it is installed:
manual = -(p * sl.log_softmax(logits)).sum() / 8
print(f"manual   -(p * log_softmax(logits)).sum() / 8  = {manual:.6f}")
print(f"library  sl.cross_entropy(logits, labels)      = {sl.cross_entropy(logits, batch_labels):.6f}")
print(f"library  sl.cross_entropy(logits, p)           = {sl.cross_entropy(logits, p):.6f}")
try:
    import torch
except ImportError:
    print("torch is not installed: no torch value (pip install torch)")
else:
    value = torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(batch_labels))
    print(f"torch    F.cross_entropy(logits, labels)       = {value.item():.6f}")

# %%
# Why ``log_softmax`` and not ``log(softmax)``
# --------------------------------------------
# :math:`\mathrm{softmax}(z)_c = e^{z_c - m} / \sum_k e^{z_k - m}` with :math:`m = \max_k z_k`.
# When a logit is far below the row's maximum (about 104 in float32, 745 in float64), its
# probability underflows to exactly 0, so :math:`\log q = -\infty` and
# :math:`0 \cdot (-\infty)` is NaN. ``log_softmax(z) = (z - m) - log sum exp(z - m)`` never forms
# the tiny probability. Logits ten times larger, as a briefly over-confident model produces,
# show the difference:
larger = 10 * logits
with np.errstate(divide="ignore", invalid="ignore"):
    naive = -(p * np.log(sl.softmax(larger))).sum() / 8
stable = -(p * sl.log_softmax(larger)).sum() / 8
print(f"-(p * log(softmax(10 z))).sum() / 8 = {naive}")
print(f"-(p * log_softmax(10 z)).sum() / 8  = {stable:.4f}")
print(f"sl.cross_entropy(10 z, p)           = {sl.cross_entropy(larger, p):.4f}")

# %%
# The notebook's own numbers
# --------------------------
# The notebook drew its weights without a seed, so its logits cannot be drawn again; it
# printed them to four decimals, and those printed values are enough to check its loss.
NOTEBOOK_LOGITS = np.array([
    [-2.1683, 1.6978, -5.5113, 17.6847, -6.6208, -18.6775, 5.6941, -10.6070, 9.5219, 11.2406],
    [-3.7293, 0.1569, -18.7178, 14.7960, 14.3775, -15.4994, -0.0481, -10.9189, -15.2758, -12.3799],
    [18.6178, 0.4904, -2.3751, -4.0934, 0.5952, -10.6828, 3.7636, -4.7998, -0.8878, 2.3721],
    [-3.6464, 4.4262, -4.0765, 3.2682, -4.5175, -0.9030, 6.7660, -1.0203, -3.4345, 0.7512],
    [5.3913, -2.9702, -22.2613, 15.6960, -5.6496, -2.6898, 4.6293, -9.6786, 1.3551, -2.6823],
    [-1.5382, -8.6193, -12.2209, 2.8339, -5.1867, -1.9191, 9.0326, -21.1009, 2.6512, 8.9355],
    [8.0742, 3.6382, -7.3217, 8.0356, -7.2478, 0.7622, -5.5060, -21.6653, 1.0987, 5.7574],
    [1.5389, -5.5820, -12.7511, 11.4416, -1.9076, -7.4371, 3.9595, -15.7578, -3.0995, 18.5088],
], dtype=np.float32)
NOTEBOOK_LABELS = np.array([5, 0, 4, 1, 9, 2, 1, 3])
NOTEBOOK_LOSS = 16.0491
NOTEBOOK_ARGMAX = [3, 3, 0, 6, 3, 6, 0, 9]

loss = sl.cross_entropy(NOTEBOOK_LOGITS, NOTEBOOK_LABELS)
notebook_answer = NOTEBOOK_LOGITS.argmax(axis=1).tolist()
print(f"the notebook's printed logits with labels {NOTEBOOK_LABELS.tolist()}:")
print(f"  sl.cross_entropy = {loss:.4f}  (notebook: {NOTEBOOK_LOSS:.4f})")
print(f"  argmax = {notebook_answer}  (notebook: {NOTEBOOK_ARGMAX})")
assert round(float(loss), 4) == NOTEBOOK_LOSS and notebook_answer == NOTEBOOK_ARGMAX

# %%
# Most of the loss comes from rows whose correct class scores far below the best one: the
# first row gives its label, 5, a logit of -18.68 against 17.68 for class 3.
#
# The next step is to *train* ``w`` and ``b``: see :ref:`sphx_glr_auto_examples_train_mnist.py`.
