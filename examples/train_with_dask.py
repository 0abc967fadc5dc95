"""
Training block by block with Dask-ML
====================================

The route past one machine's memory.

``dask_ml.wrappers.Incremental`` feeds a Dask array to ``LinearClassifier.partial_fit`` one
block at a time, so only one block has to be in memory; the same code runs on a laptop
(the threads scheduler, the default here) or on a cluster (``dask.distributed``). Each
``partial_fit`` call is one pass over its block with the optimizer state of the previous call.

The MNIST pixels stay uint8 (``raw_pixels=True``): blocks are a quarter of the size of float32
ones, and scratchlin scales them by 1/255 batch by batch.

Run::

    python examples/train_with_dask.py [--data DIR] [--blocks 6] [--passes 1]

**Needs dask and dask-ml**: ``pip install "dask[array]" dask-ml`` (both are in the ``test`` and
``docs`` extras).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import scratchlin as sl
from scratchlin import datasets


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train scratchlin's LinearClassifier on MNIST held as a Dask array, block "
                    "by block, through dask_ml.wrappers.Incremental.")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="folder of the MNIST .gz files (default: $SCRATCHLIN_DATA or "
                             "scratchlin's cache folder)")
    parser.add_argument("--no-download", dest="download", action="store_false",
                        help="fail instead of downloading missing MNIST files (default: download them, "
                             "checksum-verified)")
    parser.add_argument("--blocks", type=int, default=6,
                        help="blocks (Dask chunks) the 60000 training rows are cut into; one "
                             "partial_fit call per block and pass (default: 6)")
    parser.add_argument("--passes", type=int, default=1,
                        help="passes over all the blocks, each in a new random block order "
                             "(default: 1)")
    parser.add_argument("--scheduler", choices=("threads", "synchronous"), default="threads",
                        help="Dask scheduler: a local thread pool, or everything in this "
                             "thread (for debugging) (default: threads)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the shuffles inside each block and of the block order "
                             "(default: 0)")
    return parser.parse_args(argv)


def load_blocks(args):
    """Training pixels and labels as Dask arrays in ``args.blocks`` row blocks; test split as
    NumPy arrays."""
    import dask.array as da

    images, labels = datasets.load_mnist("train", root=args.data, download=args.download)
    test_images, test_labels = datasets.load_mnist("test", root=args.data, download=args.download)
    rows_per_block = -(-len(images) // args.blocks)
    # In a real out-of-core setting X would come from storage (da.from_zarr, da.from_npy_stack,
    # a memory map); from_array wraps the in-memory pixels the same way.
    X = da.from_array(datasets.flatten(images), chunks=(rows_per_block, -1))
    y = da.from_array(labels, chunks=rows_per_block)
    return X, y, datasets.flatten(test_images), test_labels


def train(args, X, y):
    from dask_ml.wrappers import Incremental

    model = sl.LinearClassifier(raw_pixels=True, seed=args.seed)
    incremental = Incremental(model, random_state=args.seed)
    for number in range(1, args.passes + 1):
        started = time.perf_counter()
        # The first call builds the model (classes are required then, as in scikit-learn);
        # the next passes continue it: Incremental clones its estimator on fit, so later
        # passes go through partial_fit of the wrapper.
        if number == 1:
            incremental.fit(X, y, classes=np.arange(10))
        else:
            incremental.partial_fit(X, y, classes=np.arange(10))
        losses = [record["train_loss"] for record in incremental.estimator_.history_[-X.numblocks[0]:]]
        print(f"pass {number}/{args.passes}: {X.numblocks[0]} blocks, mean block loss "
              f"{np.mean(losses):.4f}, {time.perf_counter() - started:.1f}s")
    return incremental


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        import dask
        import dask_ml  # noqa: F401 (only to say early that it is missing)
    except ImportError as error:
        print(f"this example needs dask and dask-ml ({error.name} is not installed): "
              'pip install "dask[array]" dask-ml')
        return 1

    with dask.config.set(scheduler=args.scheduler):
        X, y, X_test, y_test = load_blocks(args)
        print(f"training rows: {X.shape[0]} in {X.numblocks[0]} blocks of up to {X.chunks[0][0]}")
        incremental = train(args, X, y)
        accuracy = incremental.estimator_.score(X_test, y_test)
    print(f"test accuracy: {accuracy:.4f}")
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # the docs build runs this file too: no SystemExit on success
        raise SystemExit(status)
