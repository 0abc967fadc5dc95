"""``scratchlin bench``: both sides of every comparison do the same work (counted from the
outside), its JSON layout, that its figures are the ones its formulas promise, and that it runs
without torch and fails clearly without matplotlib.

No speed is asserted: the figures only have to be positive, finite and consistent with the
times they come from.
"""
import argparse
import contextlib
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchlin import bench

torch = pytest.importorskip("torch")
pytest.importorskip("matplotlib")

from counting import count_work  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIGURES = ("seconds", "min", "max", "gflop_per_s", "gb_per_s", "floor_seconds", "x_floor")
OPS = ("forward", "backward", "loss+grad", "epoch")
QUICK_EPOCH_ROWS, QUICK_B = 512, 64  # what --quick promises (the command's help)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One ``--quick --json --plot`` run, in process (torch installed), shared by the tests;
    with the optimizer steps and their rows counted on each side."""
    plot_path = tmp_path_factory.mktemp("bench") / "throughput.png"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), count_work() as counts:
        status = bench.main(["--quick", "--json", "--max-threads", "2", "--plot", str(plot_path)])
    return status, out.getvalue(), err.getvalue(), plot_path, counts


def run_quiet(argv):
    """``bench.main(argv)`` in process; (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = bench.main(argv)
    return status, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------------------------
# Equal work


def test_both_sides_of_the_run_make_the_same_steps_on_the_same_rows(quick_run):
    """Over a whole ``--quick`` run, scratchlin and torch make as many optimizer steps, on as
    many minibatch rows: every epoch of one side is matched by one epoch of the other."""
    counts = quick_run[4]
    assert counts["scratchlin"]["steps"] > 0
    assert counts["scratchlin"] == counts["torch"]


@pytest.mark.parametrize("n_rows, batch_size", [(512, 64), (300, 64), (256, 256), (1000, 2048)])
def test_one_epoch_is_one_pass_on_both_sides(n_rows, batch_size):
    """Each side's epoch, counted: one step per minibatch, every row once (a short last batch
    included), as the table states (rows, steps, FLOP)."""
    X, _, _, labels, _ = bench.make_problem(n_rows, "float32")
    contenders = bench.epoch_contenders(torch, X, labels, batch_size, n_threads=1)
    order = np.random.default_rng(0).permutation(n_rows)
    minibatches = len(range(0, n_rows, batch_size))
    for side in ("scratchlin", "torch"):
        contenders[side].reset()
        with count_work() as counts:
            contenders[side].run(order)
        assert counts[side] == {"steps": minibatches, "rows": n_rows}, side
    records = bench.measure_epoch(argparse.Namespace(repeat=1), torch, lambda text: None, None, X,
                                  labels, batch_size, n_threads=1)
    for record in records:
        assert (record["rows"], record["steps"], record["passes"]) == (n_rows, minibatches, 1)
        assert record["flop"] == 2 * 2 * n_rows * 784 * 10  # X_b W and G^T X_b over every row


def test_stated_work_of_the_quick_run_is_what_was_counted(quick_run):
    """The epoch rows of ``--quick`` state 512 rows in 8 steps; per timed or checked epoch the
    counters saw exactly that."""
    results, counts = json.loads(quick_run[1]), quick_run[4]
    (ours,) = [r for r in results["records"] if r["op"] == "epoch" and r["contender"] == "scratchlin"]
    assert (ours["rows"], ours["steps"]) == (QUICK_EPOCH_ROWS, QUICK_EPOCH_ROWS // QUICK_B)
    epochs_run = counts["scratchlin"]["steps"] // ours["steps"]
    assert counts["scratchlin"] == {"steps": epochs_run * ours["steps"], "rows": epochs_run * ours["rows"]}
    # one checked epoch, then per round one untimed and one timed
    assert epochs_run == 1 + 2 * ours["rounds"]


def test_an_epoch_that_does_other_work_is_refused_before_timing():
    """Two passes for one (what ``fit(max_iter=1)`` makes on small data), a step more or a
    different batch size: the weights end elsewhere, and the benchmark refuses to time."""
    from scratchlin import _benchtools

    X, _, _, labels, _ = bench.make_problem(512, "float32")
    order = np.random.default_rng(0).permutation(512)
    steps = _benchtools.epoch_steps(512, 64)

    class TwoPasses(_benchtools.ScratchlinEpoch):
        def run(self, order):
            super().run(order)
            super().run(order)

    class StepShort(_benchtools.TorchEpoch):
        def run(self, order):
            super().run(order[:-64])

    for other in (TwoPasses(X, labels, 64), _benchtools.TorchEpoch(torch, X, labels, 32),
                  StepShort(torch, X, labels, 64)):
        same = {"torch": _benchtools.TorchEpoch(torch, X, labels, 64), "other": other}
        with pytest.raises(AssertionError, match="refusing to time different work"):
            _benchtools.check_same_epochs(same, order, reference="torch", steps=steps)
    fine = {"torch": _benchtools.TorchEpoch(torch, X, labels, 64),
            "scratchlin": _benchtools.ScratchlinEpoch(X, labels, 64)}
    assert _benchtools.check_same_epochs(fine, order, reference="torch", steps=steps) < 0.01


def run_blocking(module: str, argv: list) -> subprocess.CompletedProcess:
    """``scratchlin.bench.main(argv)`` in a fresh interpreter where ``import module`` fails."""
    code = (f"import sys; sys.modules[{module!r}] = None; from scratchlin.bench import main; "
            f"sys.exit(main({argv!r}))")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False,
                          timeout=300)


def test_json_has_the_documented_layout(quick_run):
    status, stdout = quick_run[:2]
    assert status == 0
    results = json.loads(stdout)  # stdout is nothing but the JSON (progress went to stderr)
    assert results["schema"] == "scratchlin.bench/2"
    assert set(results) >= {"environment", "torch", "settings", "floors", "records",
                            "thread_scaling", "load_after"}
    assert results["torch"] is not None
    kinds = {(r["op"], r["dtype"], r["batch_size"], r["contender"]) for r in results["records"]}
    assert kinds == {(op, "float32", 64, who) for op in OPS for who in ("scratchlin", "torch")}
    assert all({"rows", "steps", "flop", "floor"} <= set(r) for r in results["records"])
    assert len(results["records"]) == len(kinds)
    env = results["environment"]
    assert env["blas"] and "load average" in env and "openblas variables" in env


def test_every_figure_is_positive_and_finite(quick_run):
    results = json.loads(quick_run[1])
    for record in results["records"]:
        for key in FIGURES:
            assert math.isfinite(record[key]) and record[key] > 0, (key, record)
    assert results["floors"]["read_gb_per_s"] > 0
    assert all(math.isfinite(g) and g > 0 for g in results["floors"]["gemm_gflop_per_s"].values())


def test_rates_follow_from_the_times_by_the_documented_formulas(quick_run):
    results = json.loads(quick_run[1])
    for record in results["records"]:
        rows = QUICK_EPOCH_ROWS if record["op"] == "epoch" else QUICK_B
        assert record["rows"] == rows
        multiply_adds = rows * 784 * 10
        flops = (2 if record["op"] == "forward" else 4) * multiply_adds
        assert record["flop"] == flops
        assert record["steps"] == (QUICK_EPOCH_ROWS // QUICK_B if record["op"] == "epoch" else 0)
        assert record["gflop_per_s"] == pytest.approx(flops / record["seconds"] / 1e9)
        assert record["gb_per_s"] == pytest.approx(rows * 784 * 4 / record["seconds"] / 1e9)
        assert record["x_floor"] == pytest.approx(record["seconds"] / record["floor_seconds"])
        assert record["min"] <= record["seconds"] <= record["max"]
        if record["op"] != "epoch":
            # the floor is the larger of reading X and doing the FLOP at the large-GEMM rate
            read = rows * 784 * 4 / (results["floors"]["read_gb_per_s"] * 1e9)
            compute = flops / (results["floors"]["gemm_gflop_per_s"]["float32"] * 1e9)
            assert record["floor_seconds"] == pytest.approx(max(read, compute))


def test_the_epoch_is_measured_against_its_own_core_floor(quick_run):
    """Both epoch rows share one floor, the core-floor epoch timed with them, not the per-call
    floors (an epoch is many small products, not one read of X)."""
    results = json.loads(quick_run[1])
    epochs = [r for r in results["records"] if r["op"] == "epoch"]
    assert {r["floor"] for r in epochs} == {"core floor"}
    assert len({r["floor_seconds"] for r in epochs}) == 1
    assert {r["floor"] for r in results["records"] if r["op"] != "epoch"} == {"read X or large GEMM"}


def test_thread_count_is_the_policys_and_scaling_covers_1_to_n(quick_run):
    results = json.loads(quick_run[1])
    # B=64: 64 * 7840 multiply-adds, far below 2**25 per thread: the policy picks 1
    assert {r["threads"] for r in results["records"]} == {1}
    scaling = results["thread_scaling"]
    assert {(r["contender"], r["threads"]) for r in scaling} == {
        (who, k) for who in ("scratchlin", "torch") for k in (1, 2)}
    for record in scaling:
        assert math.isfinite(record["speedup_vs_1_thread"]) and record["speedup_vs_1_thread"] > 0
        if record["threads"] == 1:
            assert record["speedup_vs_1_thread"] == 1.0


def test_plot_is_written(quick_run):
    """With matplotlib's Agg backend (the CI's), a PNG with a line per op and contender."""
    import matplotlib.image

    plot_path = quick_run[3]
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(plot_path).shape
    assert width > 300 and height > 300


def test_terminal_table_states_the_work_of_each_row(quick_run):
    """Two tables: per call (us/call) and per epoch (ms/epoch), each row with its rows, steps
    and MFLOP, beside torch."""
    results = json.loads(quick_run[1])
    lines = bench.format_table(results).splitlines()
    headers = [line.split() for line in lines if line.lstrip().startswith("dtype")]
    assert headers == [
        ["dtype", "op", "B", "thr", "rows", "steps", "MFLOP", "us/call", "GFLOP/s", "GB/s", "x", "floor",
         "torch", "us/call", "torch/ours"],
        ["dtype", "op", "B", "thr", "rows", "steps", "MFLOP", "ms/epoch", "GFLOP/s", "GB/s", "x", "core",
         "floor", "torch", "ms/epoch", "torch/ours"]]
    rows = {line.split()[1]: line.split() for line in lines if line.lstrip().startswith("float32")}
    assert set(rows) == set(OPS)
    assert rows["epoch"][4:7] == ["512", "8", f"{4 * 512 * 7840 / 1e6:.1f}"]
    assert rows["forward"][4:7] == ["64", "0", f"{2 * 64 * 7840 / 1e6:.1f}"]
    text = "\n".join(lines)
    assert "thread scaling" in text and "load average" in text
    assert results["environment"]["machine"] in text and results["environment"]["date"] in text


def test_ops_selects_operations(tmp_path):
    status, stdout, _ = run_quiet(["--quick", "--json", "--ops", "epoch", "--max-threads", "1"])
    assert status == 0
    results = json.loads(stdout)
    assert {r["op"] for r in results["records"]} == {"epoch"}
    assert results["settings"]["ops"] == ["epoch"]
    assert results["thread_scaling"] == []  # scaling is loss+grad's
    assert "us/call" not in bench.format_table(results)


def test_unknown_op_is_a_usage_error_listing_the_valid_ones(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--ops", "epoch", "epochs"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'epochs'" in err
    assert all(repr(op) in err for op in OPS)


def test_runs_without_torch():
    result = run_blocking("torch", ["--quick", "--json", "--max-threads", "1"])
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert results["torch"] is None
    assert {r["contender"] for r in results["records"]} == {"scratchlin"}
    assert {r["contender"] for r in results["thread_scaling"]} == {"scratchlin"}
    assert "torch/ours" not in bench.format_table(results)


def test_plot_without_matplotlib_fails_clearly_before_timing(tmp_path):
    result = run_blocking("matplotlib", ["--quick", "--plot", str(tmp_path / "x.png")])
    assert result.returncode == 1
    assert "scratchlin bench: error: --plot needs matplotlib" in result.stderr
    assert "pip install matplotlib" in result.stderr
    assert "floors" not in result.stdout  # nothing was timed
    assert not (tmp_path / "x.png").exists()


def test_add_parser_registers_the_bench_command():
    parser = argparse.ArgumentParser(prog="scratchlin")
    bench.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "--quick", "--batch-sizes", "8", "16", "--threads", "1"])
    assert args.run is bench.run and args.handler is bench.run and args.traceback is False
    assert args.quick and args.batch_sizes == [8, 16] and args.threads == 1


@pytest.mark.parametrize("argv", [["--batch-sizes", "0"], ["--repeat", "-1"], ["--threads", "x"]])
def test_bad_sizes_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(argv)
    assert exit_info.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err


def test_a_wrong_gradient_is_refused_before_timing(monkeypatch):
    X, W, b, labels, _ = bench.make_problem(32, np.float32)
    right = bench.scratchlin_loss_and_grad

    def off_by_sign(W, b, X, labels):
        loss, grad_W, grad_b = right(W, b, X, labels)
        return loss, -grad_W, grad_b

    bench.check_loss_and_grad(X, W, b, labels)  # the real one passes
    monkeypatch.setattr(bench, "scratchlin_loss_and_grad", off_by_sign)
    with pytest.raises(AssertionError, match="grad_W disagrees with the NumPy reference"):
        bench.check_loss_and_grad(X, W, b, labels)


def test_time_limit_stops_starting_rounds_but_always_makes_one():
    """A spent time limit (0 s) leaves exactly one round per contender; no limit makes all
    ``repeat`` rounds. (No dependence on speed: 0 s is spent before any round ends.)"""
    from scratchlin import _benchtools

    calls = {"a": 0, "b": 0}

    def counter(name):
        def run():
            calls[name] += 1
        return run

    runs = {name: counter(name) for name in calls}
    spent = _benchtools.interleaved(runs, repeat=5, warmup=0, time_limit=0.0)
    assert [len(t["times"]) for t in spent.values()] == [1, 1]
    unlimited = _benchtools.interleaved(runs, repeat=5, warmup=0, time_limit=None)
    assert [len(t["times"]) for t in unlimited.values()] == [5, 5]
    assert _benchtools.TimeBudget(None, 3).share() is None
