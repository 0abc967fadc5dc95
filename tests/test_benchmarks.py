"""The benchmark scripts run end to end on tiny sizes, so they cannot rot.

These assert that each script's contenders do the same work (counted from the outside), that
it checks them against each other and reports the figures it promises; they do not assert any
speed (timings belong in the benchmarks).
"""
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("threadpoolctl")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_ops  # noqa: E402
import bench_train  # noqa: E402
import record  # noqa: E402
from counting import count_work  # noqa: E402

from scratchlin import _benchtools  # noqa: E402


@pytest.mark.mnist  # reads the real training and test files
@pytest.mark.slow  # ~12 s: four contenders and three accuracy fits
def test_bench_train_runs_small_and_reports_ratios(private_mnist_root, tmp_path):
    results = bench_train.main(["--root", private_mnist_root, "--n-train", "2000", "--batch-sizes", "256",
                                "--repeat", "1", "--quick", "--threads", "1", "--out", str(tmp_path)])
    (epoch,) = results["epoch"]
    assert epoch["batch_size"] == 256
    # the same-work check ran: all four loops ended one epoch within rounding of each other
    assert epoch["weights_apart_in_average_steps"] <= _benchtools.SAME_EPOCH_TOLERANCE
    assert (epoch["rows"], epoch["steps"], epoch["passes"]) == (2000, 8, 1)  # 2000 = 7 * 256 + 208
    assert set(epoch["timings"]) == {"scratchlin", "scratchlin raw_pixels", "numpy reference", "torch",
                                     "core floor"}
    median = {name: timing["median"] for name, timing in epoch["timings"].items()}
    best = median[epoch["best_scratchlin"]]
    assert epoch["ratio_to_torch"] == pytest.approx(best / median["torch"])
    assert epoch["ratio_to_core_floor"] == pytest.approx(best / median["core floor"])
    assert epoch["core_floor_ratio_to_torch"] == pytest.approx(median["core floor"] / median["torch"])
    assert set(results["accuracy"]) == {"scratchlin (Adam, default fit)", "torch (same recipe)",
                                        "scratchlin (L-BFGS)", "sklearn SGDClassifier"}
    # same recipe, same shuffles: scratchlin and torch end at nearly the same test accuracy
    ours, theirs = (results["accuracy"][k]["final_accuracy"]
                    for k in ("scratchlin (Adam, default fit)", "torch (same recipe)"))
    assert abs(ours - theirs) <= 0.005
    saved = json.loads((tmp_path / "bench_train.json").read_text())
    assert saved["environment"]["threads requested"] == 1
    assert "| 256 |" in (tmp_path / "bench_train.md").read_text()


def test_bench_train_core_floor_does_the_gather_cast_and_both_products_of_each_batch():
    """The floor is only meaningful if it does the epoch's unavoidable work on the right rows:
    its last batch's products must be those of the rows the order names."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(70, 12), dtype=np.uint8)
    floor = bench_train.CoreFloorEpoch(X, batch_size=32)
    order = rng.permutation(70)
    logits = floor.run(order)
    last_rows = X[order[64:]].astype(np.float32)  # 70 = 32 + 32 + 6
    assert logits.shape == (6, 10)
    np.testing.assert_allclose(logits, last_rows @ floor.W, rtol=1e-5)
    np.testing.assert_allclose(floor.workspace.grad_W_transposed, floor.G[:6].T @ last_rows, rtol=1e-5)


@pytest.mark.parametrize("times, expected", [
    ([2.0], 2.0), ([3.0, 1.0, 2.0], 2.0), ([1.0, None, 3.0], 3.0), ([None, 1.0, None], None), ([None], None)])
def test_time_to_accuracy_median_counts_a_run_that_never_got_there_as_slowest(times, expected):
    assert bench_train._median_time(times) == expected


def test_bench_train_refuses_contenders_that_did_different_work():
    X = np.random.default_rng(0).random((300, 784)).astype(np.float32)
    labels = np.arange(300) % 10
    right = bench_train.NumpyReferenceEpoch(X, labels, 64)
    wrong = bench_train.NumpyReferenceEpoch(X, labels, 32)  # a different batch size: other steps
    with pytest.raises(AssertionError, match="wrong disagrees with numpy reference"):
        bench_train.check_same_work({"numpy reference": right, "wrong": wrong},
                                    np.random.default_rng(1).permutation(300), steps=5)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_bench_train_epochs_make_the_same_steps_on_the_same_rows(optimizer):
    """scratchlin's pass (float features and raw pixels) and torch's, counted from the
    outside: one step per minibatch of 64, every one of the 300 rows once."""
    rng = np.random.default_rng(0)
    X_uint8 = rng.integers(0, 256, size=(300, 784), dtype=np.uint8)
    X, labels = X_uint8.astype(np.float32) / 255, np.arange(300) % 10
    how = bench_train.recipe(optimizer, momentum=0.9)
    order = rng.permutation(300)
    sides = {"scratchlin": [_benchtools.ScratchlinEpoch(X, labels, 64, **how),
                            _benchtools.ScratchlinEpoch(X_uint8, labels, 64, input_scale=1 / 255, **how)],
             "torch": [_benchtools.TorchEpoch(torch, X, labels, 64, **how)]}
    for side, contenders in sides.items():
        for contender in contenders:
            contender.reset()
            with count_work() as counts:
                contender.run(order)
            assert counts[side] == {"steps": 5, "rows": 300}, (side, contender)  # 4 * 64 + 44


def test_bench_ops_times_every_contender_on_the_same_calls():
    """Every contender of an op is called as many times per sample, on the same batch."""
    calls: dict = {}

    def counted(name):
        def run():
            calls[name] = calls.get(name, 0) + 1
        return run

    timings = bench_ops.time_op({name: counted(name) for name in ("scratchlin", "numpy", "torch")},
                                batch_size=64, repeat=2, rows_per_sample=640)
    assert set(timings) == {"scratchlin", "numpy", "torch"}
    assert len(set(calls.values())) == 1 and calls["numpy"] == 10 * (2 * 2)  # 10 calls, 2 rounds + warm-ups


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


def test_every_recorded_run_in_the_docs_is_made_by_the_record_script():
    """``docs/benchmarks/`` holds only what ``benchmarks/record.py`` writes, each record opens
    with the command that made it, and the pages include only these records."""
    root = Path(__file__).resolve().parents[1]
    folder = root / "docs" / "benchmarks"
    recorded = {path.stem for path in folder.iterdir()}
    assert recorded <= set(record.RECORDS), recorded - set(record.RECORDS)
    for path in [*folder.glob("*.md"), *folder.glob("*.txt")]:
        first = path.read_text().splitlines()[0]
        assert first.startswith(f"Recorded by `python benchmarks/record.py {path.stem}` on "), path.name
        command, _ = record.RECORDS[path.stem]
        assert first.endswith(f"`{record.command_line(command)}`"), path.name
    pages = [root / "docs" / "user_guide" / "performance.md", root / "docs" / "design.md"]
    included = {name for page in pages for name in re.findall(r"\.\./benchmarks/(\w+)\.(?:md|txt)", page.read_text())}
    assert included and included <= recorded, included - recorded
