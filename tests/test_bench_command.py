"""``scratchlin bench``: its JSON layout, that its figures are the ones its formulas promise,
and that it runs without torch and fails clearly without matplotlib.

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

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

REPO = Path(__file__).resolve().parents[1]
FIGURES = ("seconds", "min", "max", "gflop_per_s", "gb_per_s", "floor_seconds", "x_floor")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One ``--quick --json --plot`` run, in process (torch installed), shared by the tests."""
    plot_path = tmp_path_factory.mktemp("bench") / "throughput.png"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = bench.main(["--quick", "--json", "--max-threads", "2", "--plot", str(plot_path)])
    return status, out.getvalue(), err.getvalue(), plot_path


def run_blocking(module: str, argv: list) -> subprocess.CompletedProcess:
    """``scratchlin.bench.main(argv)`` in a fresh interpreter where ``import module`` fails."""
    code = (f"import sys; sys.modules[{module!r}] = None; from scratchlin.bench import main; "
            f"sys.exit(main({argv!r}))")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False,
                          timeout=300)


def test_json_has_the_documented_layout(quick_run):
    status, stdout, _, _ = quick_run
    assert status == 0
    results = json.loads(stdout)  # stdout is nothing but the JSON (progress went to stderr)
    assert results["schema"] == "scratchlin.bench/1"
    assert set(results) >= {"environment", "torch", "settings", "floors", "records",
                            "thread_scaling", "load_after"}
    assert results["torch"] is not None
    kinds = {(r["op"], r["dtype"], r["batch_size"], r["contender"]) for r in results["records"]}
    assert kinds == {(op, "float32", 64, who) for op in ("forward", "backward", "loss+grad", "epoch")
                     for who in ("scratchlin", "torch")}
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
        rows = 512 if record["op"] == "epoch" else 64  # --quick: epoch on 512 rows, B=64
        assert record["rows"] == rows
        multiply_adds = rows * 784 * 10
        flops = (2 if record["op"] == "forward" else 4) * multiply_adds
        assert record["gflop_per_s"] == pytest.approx(flops / record["seconds"] / 1e9)
        assert record["gb_per_s"] == pytest.approx(rows * 784 * 4 / record["seconds"] / 1e9)
        assert record["x_floor"] == pytest.approx(record["seconds"] / record["floor_seconds"])
        # the floor is the larger of reading X and doing the FLOP at the large-GEMM rate
        read = rows * 784 * 4 / (results["floors"]["read_gb_per_s"] * 1e9)
        compute = flops / (results["floors"]["gemm_gflop_per_s"]["float32"] * 1e9)
        assert record["floor_seconds"] == pytest.approx(max(read, compute))
        assert record["min"] <= record["seconds"] <= record["max"]


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
    plot_path = quick_run[3]
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_terminal_table_shows_rates_floors_and_torch(quick_run):
    table = bench.format_table(json.loads(quick_run[1]))
    header = table.splitlines()[0].split()
    assert header == ["dtype", "op", "B", "thr", "us/call", "GFLOP/s", "GB/s", "x", "floor",
                      "torch", "us", "torch/ours"]
    assert sum(line.lstrip().startswith("float32") for line in table.splitlines()) == 4
    assert "thread scaling" in table and "load average" in table


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
