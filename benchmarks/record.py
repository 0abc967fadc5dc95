"""Regenerate the recorded runs in ``docs/benchmarks/`` with the code as it is, one after another.

Each record is the benchmark's own output, run from the repository's root in a fresh
interpreter with ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` removed from the environment
(so OpenBLAS picks its kernel for this CPU, as on a user's machine). The benchmark's output
already holds its date, machine (CPU model), BLAS library and kernel, thread settings and load
average; this script puts a first line in front of it with the command that made it and the
run's wall time, and writes the file under its documented name.

The runs are sized to take minutes, not hours, on a 2-core machine (smaller repeats than the
scripts' defaults): every figure is still the median of interleaved rounds, and the docs quote
ratios from within one run.

Run: ``python benchmarks/record.py`` (all, about 15-20 minutes on 2 busy cores) or
``python benchmarks/record.py bench_command bench_train`` (the named records only);
``--list`` prints the records and their commands.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks"
#: Variables that would force an OpenBLAS kernel or cache size instead of the CPU's own.
UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

#: name -> (command from the repository's root, what it writes). ``stdout``: the record is the
#: command's standard output; ``(file, ...)``: files the script writes into ``--out``, copied
#: to ``<name>`` with the file's own extension.
RECORDS: dict[str, tuple[list[str], str | tuple[str, ...]]] = {
    "bench_command": (["-m", "scratchlin", "bench"], "stdout"),
    # The epoch of scratchlin bench on MNIST's size, to set beside bench_train_adam's.
    "bench_command_epoch": (["-m", "scratchlin", "bench", "--ops", "epoch", "--dtypes", "float32",
                             "--batch-sizes", "64", "256", "2048", "--epoch-rows", "60000", "--repeat", "7",
                             "--time-budget", "0"],
                            "stdout"),
    "bench_train": (["benchmarks/bench_train.py", "--momentum", "0", "--threads", "2", "--repeat", "7",
                     "--accuracy-repeat", "1"],
                    ("bench_train.md", "bench_train.json")),
    "bench_train_threads1": (["benchmarks/bench_train.py", "--momentum", "0", "--threads", "1",
                              "--repeat", "7", "--skip-accuracy"], ("bench_train.md", "bench_train.json")),
    "bench_train_adam": (["benchmarks/bench_train.py", "--optimizer", "adam", "--threads", "1",
                          "--batch-sizes", "64", "256", "2048", "--repeat", "7", "--skip-accuracy"],
                         ("bench_train.md", "bench_train.json")),
    "bench_contention": (["benchmarks/bench_contention.py", "--repeat", "3"],
                         ("bench_contention.md", "bench_contention.json")),
    "bench_threads": (["benchmarks/bench_threads.py", "--dtypes", "float32", "--repeat", "3"],
                      ("bench_threads.md", "bench_threads.json")),
    "bench_ops_targets": (["benchmarks/bench_ops.py", "--targets-only"], ("bench_ops.md", "bench_ops.json")),
    "bench_load": (["benchmarks/bench_load.py", "--repeat", "7"], "stdout"),
}


def command_line(argv: list[str]) -> str:
    """The command as a reader types it from the repository's root."""
    return "env " + " ".join(f"-u {name}" for name in UNSET) + " python " + shlex.join(argv)


def record(name: str, argv: list[str], output, out_dir: Path) -> None:
    """Run one benchmark and write its record(s) into ``out_dir``."""
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    print(f"{name}: {command_line(argv)}", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        full = [sys.executable, *argv] + ([] if output == "stdout" else ["--out", scratch])
        started = time.perf_counter()
        result = subprocess.run(full, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"{name} failed (exit {result.returncode}); nothing written")
        header = (f"Recorded by `python benchmarks/record.py {name}` on {time.strftime('%Y-%m-%d %H:%M %Z')}"
                  f" ({seconds:.0f} s): `{command_line(argv)}`\n\n")
        if output == "stdout":
            written = {f"{name}.txt": header + result.stdout}
        else:
            written = {f"{name}{Path(p).suffix}": (header if p.endswith(".md") else "")
                       + (Path(scratch) / p).read_text() for p in output}
    for file_name, text in written.items():
        (out_dir / file_name).write_text(text)
    print(f"{name}: wrote {', '.join(written)} ({seconds:.0f} s)", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"records to make (default: all): {', '.join(RECORDS)}")
    parser.add_argument("--out", type=Path, default=DOCS, help="folder (default: docs/benchmarks)")
    parser.add_argument("--list", action="store_true", help="print the records and their commands")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in RECORDS]
    if unknown:
        parser.error(f"unknown record(s) {', '.join(unknown)}; the records are {', '.join(RECORDS)}")
    if args.list:
        for name, (command, _) in RECORDS.items():
            print(f"{name}: {command_line(command)}")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or RECORDS:
        command, output = RECORDS[name]
        record(name, command, output, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
