"""The benchmark scripts run end to end on tiny sizes, so they cannot rot.

These assert that each script checks its contenders against each other and reports the
figures it promises; they do not assert any speed (timings belong in the benchmarks).
"""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("threadpoolctl")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_ops  # noqa: E402
import bench_train  # noqa: E402


@pytest.mark.mnist  # reads the real training and test files
@pytest.mark.slow  # ~12 s: four contenders and three accuracy fits
def test_bench_train_runs_small_and_reports_ratios(private_mnist_root, tmp_path):
    results = bench_train.main(["--root", private_mnist_root, "--n-train", "2000", "--batch-sizes", "256",
                                "--repeat", "1", "--quick", "--threads", "1", "--out", str(tmp_path)])
    (epoch,) = results["epoch"]
    assert epoch["batch_size"] == 256
    # the same-work check ran: all four loops ended one epoch within float32 rounding
    assert epoch["weights_max_rel_difference"] < 1e-5
    assert set(epoch["timings"]) == {"scratchlin", "scratchlin raw_pixels", "numpy reference", "torch"}
    best = epoch["timings"][epoch["best_scratchlin"]]["median"]
    assert epoch["ratio_to_torch"] == pytest.approx(best / epoch["timings"]["torch"]["median"])
    assert set(results["accuracy"]) == {"scratchlin (default fit)", "torch (same recipe)",
                                        "sklearn SGDClassifier"}
    # same recipe, same shuffles: scratchlin and torch end at nearly the same test accuracy
    ours, theirs = (results["accuracy"][k]["final_accuracy"]
                    for k in ("scratchlin (default fit)", "torch (same recipe)"))
    assert abs(ours - theirs) <= 0.005
    saved = json.loads((tmp_path / "bench_train.json").read_text())
    assert saved["environment"]["threads requested"] == 1
    assert "| 256 |" in (tmp_path / "bench_train.md").read_text()


def test_bench_train_refuses_contenders_that_did_different_work():
    X = np.random.default_rng(0).random((300, 784)).astype(np.float32)
    labels = np.arange(300) % 10
    right = bench_train.NumpyReferenceEpoch(X, labels, 64)
    wrong = bench_train.NumpyReferenceEpoch(X, labels, 32)  # a different batch size: other steps
    with pytest.raises(AssertionError, match="disagrees with the NumPy reference"):
        bench_train.check_same_work({"numpy reference": right, "wrong": wrong},
                                    np.random.default_rng(1).permutation(300))


@pytest.mark.slow  # ~12 s: every op of every contender, in two dtypes
def test_bench_ops_runs_small_and_checks_every_contender(tmp_path):
    results = bench_ops.main(["--batch-sizes", "64", "--repeat", "1", "--rows-per-sample", "64",
                              "--threads", "1", "--out", str(tmp_path)])
    records = results["records"]
    ops = {(r["dtype"], r["op"], r["contender"]) for r in records}
    assert len(ops) == len(records) == 2 * (3 + 3 + 4)  # 2 dtypes x (forward, backward, loss+grad)
    assert all(r["seconds"] > 0 and r["ratio_to_read_floor"] > 0 for r in records)
    assert (tmp_path / "bench_ops.md").exists()


def test_bench_train_scratchlin_threads_option():
    """Issue 12 times torch at 2 threads beside scratchlin at its own policy: the option must
    map 'policy' to the trainer's None, keep an explicit count, and refuse counts below 1."""
    assert bench_train.parse_args([]).scratchlin_threads is None
    assert bench_train.parse_args(["--scratchlin-threads", "policy"]).scratchlin_threads is None
    assert bench_train.parse_args(["--scratchlin-threads", "2"]).scratchlin_threads == 2
    with pytest.raises(SystemExit):
        bench_train.parse_args(["--scratchlin-threads", "0"])
