"""Training past one machine's memory: dask_ml.wrappers.Incremental over LinearClassifier.

Dask runs with its synchronous or threads scheduler (no network, no cluster). The reference for
what Incremental must do is partial_fit called by hand on the same blocks in the same order.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchlin import LinearClassifier

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
wrappers = pytest.importorskip("dask_ml.wrappers")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "train_with_dask.py"


def blobs(rng, n=600, n_features=5, n_classes=3):
    centres = rng.normal(scale=3.0, size=(n_classes, n_features))
    labels = np.arange(n) % n_classes
    return (centres[labels] + rng.normal(size=(n, n_features))).astype(np.float32), labels


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_incremental_calls_partial_fit_once_per_block_in_order(rng, scheduler):
    X, y = blobs(rng)
    hyper = dict(seed=0, solver="sgd", lr=0.1, batch_size=32)
    with dask.config.set(scheduler=scheduler):
        incremental = wrappers.Incremental(LinearClassifier(**hyper), shuffle_blocks=False)
        incremental.fit(da.from_array(X, chunks=(150, 5)), da.from_array(y, chunks=150),
                        classes=[0, 1, 2])
        by_hand = LinearClassifier(**hyper)
        for start in range(0, 600, 150):
            by_hand.partial_fit(X[start:start + 150], y[start:start + 150], classes=[0, 1, 2])
        model = incremental.estimator_
        # Same blocks, same order, same seed: the very same arithmetic (iterate and average).
        assert model.W.tobytes() == by_hand.W.tobytes()
        assert model._trainer.params.vector.tobytes() == by_hand._trainer.params.vector.tobytes()
        assert model.n_iter_ == 4 and len(model.history_) == 4
        np.testing.assert_array_equal(incremental.classes_, [0, 1, 2])
        accuracy = incremental.score(da.from_array(X, chunks=(150, 5)), da.from_array(y, chunks=150))
    assert accuracy == by_hand.score(X, y) and accuracy > 0.9  # blobs ~3 apart, unit noise


def test_the_dask_example_documents_its_options():
    result = subprocess.run([sys.executable, str(EXAMPLE), "--help"], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    for option in ("--data", "--blocks", "--passes", "--scheduler", "--seed", "(default: 6)"):
        assert option in result.stdout


@pytest.mark.mnist
@pytest.mark.slow
def test_one_pass_over_mnist_in_six_blocks_reaches_88_percent(mnist_root, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_with_dask", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.main(["--data", mnist_root, "--no-download", "--blocks", "6",
                         "--scheduler", "synchronous"]) == 0
    out = capsys.readouterr().out
    assert "60000 in 6 blocks of up to 10000" in out
    accuracy = float(out.rsplit("test accuracy:", 1)[1])
    print(f"\none pass, six blocks, test accuracy {accuracy:.4f}")
    assert accuracy >= 0.88
