"""The seed notebook, step by step, done right with scratchlin.

The project grew from a notebook that loads MNIST, flattens the images, makes a random linear
classifier ``logits = x @ w + b``, trips over a uint8 matrix product, and computes a
cross-entropy by hand and with PyTorch. This script repeats every step with scratchlin
(fixing the notebook's typos: the reshape uses ``num_features``, the input has 784 dimensions,
there are 10 classes), then feeds the notebook's own printed logits to scratchlin and gets
its printed loss, 16.0491, back.

Run::

    python examples/seed_walkthrough.py [--data DIR] [--seed 0]
"""
from __future__ import annotations

import argparse

import numpy as np

import scratchlin as sl
from scratchlin import datasets

#: The notebook's printed logits (cell In [59]) of its first 8 training images under its
#: random ``w`` and ``b``, and their labels (cell In [76]).
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
NOTEBOOK_LOSS = 16.0491  # In [83] and In [84]
NOTEBOOK_ARGMAX = [3, 3, 0, 6, 3, 6, 0, 9]  # In [60]


def step(title: str) -> None:
    print(f"\n## {title}")


def result(what: str, value: float) -> None:
    print(f"{what:<48} = {value:.6f}")


def show(array: np.ndarray) -> None:
    with np.printoptions(precision=4, suppress=True, linewidth=120):
        print(array)


def load(args):
    step("Read the data")
    train_x, train_y = datasets.load_mnist("train", root=args.data, download=args.download)
    test_x, test_y = datasets.load_mnist("test", root=args.data, download=args.download)
    print(f"{len(train_x)} training instances and {len(test_x)} test instances")
    print(train_x.shape)
    with np.printoptions(linewidth=120):
        print(train_x[0])
    return train_x, train_y


def to_vectors(train_x):
    step("Formatting: each 28x28 image becomes a vector of 784 features")
    num_features = 28 * 28
    train_x_vectors = train_x.reshape([-1, num_features])  # -1: inferred from the data size
    print(train_x_vectors.shape)
    assert np.array_equal(train_x_vectors, datasets.flatten(train_x))
    print("the same as scratchlin.datasets.flatten(train_x)")
    return train_x_vectors, num_features


def labels(train_y):
    step("Labels")
    print(np.unique(train_y))
    num_classes = len(np.unique(train_y))
    print(f"{num_classes} classes")
    return num_classes


def random_classifier(num_features, num_classes, seed):
    step(f"A random linear classifier: w ({num_features}, {num_classes}) and b ({num_classes},)")
    print(f"our input has {num_features} dimensions (one per pixel) and the output "
          f"{num_classes} possible classes")
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((num_features, num_classes), dtype=np.float32)
    b = rng.standard_normal(num_classes, dtype=np.float32)
    print(f"w: {w.shape} {w.dtype}, b: {b.shape} {b.dtype}, drawn with "
          f"np.random.default_rng({seed}).standard_normal")
    return w, b


def logits_of_a_batch(train_x_vectors, w, b):
    step("Always take care with data types: the pixels are 8-bit integers")
    raw_batch = train_x_vectors[:8]
    try:
        sl.linear(raw_batch, w, b)
    except TypeError as error:
        print(f"sl.linear(uint8 batch, w, b) -> TypeError: {error}")
    batch = datasets.to_float(raw_batch)  # float32 in [0, 1], i.e. / 255
    logits = sl.linear(batch, w, b)
    print(f"fixed with datasets.to_float: batch {batch.dtype} in [{batch.min()}, {batch.max()}]")
    print("logits, the score of each instance/class combination:")
    show(logits)
    return logits


def cross_entropy_by_hand(logits, train_y, num_classes):
    step("Argmax, one-hot p, softmax q and the cross-entropy")
    answer = logits.argmax(axis=1)
    print(f"argmax: {answer.tolist()}")
    batch_labels = train_y[:8].astype(np.int64)
    print(f"labels: {batch_labels.tolist()}")
    p = sl.one_hot(batch_labels, num_classes)
    q = sl.softmax(logits)
    print("p (one-hot):")
    show(p)
    print("q = softmax(logits):")
    with np.printoptions(precision=4, linewidth=120):
        print(q)
    manual = -(p * sl.log_softmax(logits)).sum() / 8
    library = sl.cross_entropy(logits, batch_labels)
    result("manual   -(p * log_softmax(logits)).sum() / 8", manual)
    result("library  sl.cross_entropy(logits, labels)", library)
    result("library  sl.cross_entropy(logits, p)", sl.cross_entropy(logits, p))
    torch_line(logits, batch_labels)
    return p


def torch_line(logits, batch_labels):
    try:
        import torch
    except ImportError:
        print("torch is not installed: skipping torch's number")
        return
    value = torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(batch_labels))
    result("torch    F.cross_entropy(logits, labels)", value.item())


def why_log_softmax(logits, p):
    step("Why log_softmax and not the notebook's log(softmax)")
    print("softmax(z)_c = exp(z_c - max z) / sum exp(z - max z). When a logit is far below "
          "the row's\nmaximum (about 104 in float32, 745 in float64), its probability "
          "underflows to exactly 0,\nso log(q) = -inf and p * log(q) = 0 * -inf = nan. "
          "log_softmax(z) = (z - max z) - log sum exp(z - max z)\nnever forms the tiny "
          "probability, so it stays finite. Logits ten times larger, as a briefly\n"
          "over-confident model produces, show the difference:")
    larger = 10 * logits
    with np.errstate(divide="ignore", invalid="ignore"):
        naive = -(p * np.log(sl.softmax(larger))).sum() / 8
    stable = -(p * sl.log_softmax(larger)).sum() / 8
    print(f"  -(p * log(softmax(10 z))).sum() / 8 = {naive}")
    print(f"  -(p * log_softmax(10 z)).sum() / 8  = {stable:.4f}")
    print(f"  sl.cross_entropy(10 z, p)           = {sl.cross_entropy(larger, p):.4f}")


def notebook_numbers():
    step("The notebook's own numbers")
    loss = sl.cross_entropy(NOTEBOOK_LOGITS, NOTEBOOK_LABELS)
    answer = NOTEBOOK_LOGITS.argmax(axis=1).tolist()
    print(f"the notebook's printed logits (In [59]) with labels {NOTEBOOK_LABELS.tolist()}:")
    print(f"  sl.cross_entropy = {loss:.4f}  (notebook: {NOTEBOOK_LOSS:.4f})")
    print(f"  argmax = {answer}  (notebook: {NOTEBOOK_ARGMAX})")
    return loss, answer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="MNIST folder; None: $SCRATCHLIN_DATA, else the per-user cache")
    parser.add_argument("--no-download", dest="download", action="store_false",
                        help="fail if a file is missing (default: download=%(default)s, a "
                             "checksum-verified download of missing files)")
    parser.add_argument("--seed", type=int, default=0, help="seed of w and b")
    args = parser.parse_args(argv)

    train_x, train_y = load(args)
    train_x_vectors, num_features = to_vectors(train_x)
    num_classes = labels(train_y)
    w, b = random_classifier(num_features, num_classes, args.seed)
    logits = logits_of_a_batch(train_x_vectors, w, b)
    p = cross_entropy_by_hand(logits, train_y, num_classes)
    why_log_softmax(logits, p)
    loss, answer = notebook_numbers()
    return 0 if round(loss, 4) == NOTEBOOK_LOSS and answer == NOTEBOOK_ARGMAX else 1


if __name__ == "__main__":
    raise SystemExit(main())
