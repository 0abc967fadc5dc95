"""Apply hand-written mutants one at a time and report which ones the tests catch.

A mutant is a realistic single-point bug (a flipped sign, a dropped max-shift, a wrong
normaliser...) written as a record in ``tools/mutants.py``: the file, an exact snippet of
its source, the snippet's replacement, a description and the test files that should catch
it. For each mutant this script

1. writes the mutated file into a private temporary copy of the repository (the working
   tree is never touched, so runs are safe in parallel and beside other work),
2. runs the mutant's test files there with ``PYTHONPATH`` pointing at the copy and a
   timeout (a hang counts as caught),
3. records "killed" (some test failed) or "survived" (every test passed). The files run
   one by one in the listed order and the first failure ends the mutant's run.

A mutant whose snippet does not occur exactly once is an error, not a skip: when the code
changes, the mutant must be updated, so mutants cannot rot silently. Before any mutant, the
unmutated copy must pass every selected test file, otherwise every mutant would look caught.

Usage (from the repository root, with the test dependencies importable)::

    python tools/mutate.py                       # every mutant, one at a time
    python tools/mutate.py -j 2                  # two mutants at a time (two copies)
    python tools/mutate.py --module functional   # only mutants of scratchlin/functional.py
    python tools/mutate.py --only sgd-dampening-tau --only adam-no-bias-correction1
    python tools/mutate.py --list                # names, files and descriptions; run nothing

Standard library only. Exit status: 0 if the score reaches ``--fail-under`` (default 0),
1 if not, 2 if a mutant or the baseline is broken.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS_FILE = Path(__file__).resolve().with_name("mutants.py")
_IGNORED = shutil.ignore_patterns(".git", "__pycache__", ".hypothesis", ".pytest_cache",
                                  ".mypy_cache", ".ruff_cache", "*.egg-info", "build", "dist",
                                  "*.pyc")


@dataclass(frozen=True)
class Mutant:
    """One hand-written bug: replace ``original`` (occurring once in ``file``) by ``replacement``."""

    name: str
    file: str
    original: str
    replacement: str
    description: str
    tests: tuple

    @property
    def module(self) -> str:
        return Path(self.file).stem


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    killed: bool
    seconds: float
    detail: str  # the first failing test, "timeout", or ""


def load_mutants(path: Path = MUTANTS_FILE) -> list[Mutant]:
    """Read ``MUTANTS`` (a list of dicts) from ``path``."""
    spec = importlib.util.spec_from_file_location("_scratchlin_mutants", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [Mutant(name=m["name"], file=m["file"], original=m["original"],
                   replacement=m["replacement"], description=m["description"],
                   tests=tuple(m["tests"]))
            for m in module.MUTANTS]


def check_mutants(mutants: list[Mutant], root: Path) -> list[str]:
    """Every problem that would make a mutant meaningless (empty list: all fine)."""
    problems, seen = [], set()
    for m in mutants:
        if m.name in seen:
            problems.append(f"{m.name}: duplicate name")
        seen.add(m.name)
        source_path = root / m.file
        if not source_path.is_file():
            problems.append(f"{m.name}: file {m.file} does not exist")
            continue
        count = source_path.read_text().count(m.original)
        if count != 1:
            problems.append(f"{m.name}: snippet occurs {count} times in {m.file} (must be exactly "
                            f"once; update the mutant): {m.original!r}")
        if m.original == m.replacement:
            problems.append(f"{m.name}: replacement equals the original")
        if not m.tests:
            problems.append(f"{m.name}: no test files")
        problems += [f"{m.name}: test file {t} does not exist"
                     for t in m.tests if not (root / t).is_file()]
    return problems


def _pytest(copy: Path, tests, timeout: float, marker: str, seed: int):
    """Run pytest on ``tests`` inside ``copy``; return (passed, timed_out, first_failure)."""
    # XDG_CACHE_HOME inside the copy: a mutant of the data cache must not write the user's.
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1",
               XDG_CACHE_HOME=str(copy / ".cache"))
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               f"--hypothesis-seed={seed}", "-m", marker, *tests]
    try:
        done = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, check=False,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, True, "timeout"
    failed = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    if done.returncode == 5:  # pytest: no tests collected
        raise RuntimeError(f"no test selected by -m {marker!r} in {tests}")
    return done.returncode == 0, False, (failed[0] if failed else done.stdout[-300:])


def _run_one(mutant: Mutant, copy: Path, timeout: float, marker: str, seed: int) -> Outcome:
    target = copy / mutant.file
    original_source = target.read_text()
    target.write_text(original_source.replace(mutant.original, mutant.replacement, 1))
    start = time.perf_counter()
    passed, detail = True, ""
    try:
        # One file at a time, in the mutant's order: a kill by the first (fast) file spares
        # collecting the others (importing torch alone takes seconds).
        for test_file in mutant.tests:
            passed, _, detail = _pytest(copy, [test_file], timeout, marker, seed)
            if not passed:
                break
    finally:
        target.write_text(original_source)
    return Outcome(mutant, killed=not passed, seconds=time.perf_counter() - start,
                   detail="" if passed else detail)


def run(mutants: list[Mutant], *, jobs: int, timeout: float, marker: str, seed: int,
        root: Path = ROOT, progress=print) -> list[Outcome]:
    """Baseline check, then every mutant on ``jobs`` private copies of ``root``."""
    with tempfile.TemporaryDirectory(prefix="scratchlin-mutate-") as tmp:
        copies = queue.Queue()
        for k in range(max(1, jobs)):
            copy = Path(tmp) / f"copy{k}"
            shutil.copytree(root, copy, ignore=_IGNORED)
            copies.put(copy)

        all_tests = sorted({t for m in mutants for t in m.tests})
        progress(f"baseline: {' '.join(all_tests)}")
        copy = copies.get()
        passed, _timed_out, detail = _pytest(copy, all_tests, timeout * 4, marker, seed)
        copies.put(copy)
        if not passed:
            raise RuntimeError(f"the unmutated code fails its tests ({detail}); fix that first")

        def job(mutant):
            copy = copies.get()
            try:
                return _run_one(mutant, copy, timeout, marker, seed)
            finally:
                copies.put(copy)

        outcomes = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for outcome in pool.map(job, mutants):
                verdict = "killed  " if outcome.killed else "SURVIVED"
                progress(f"{verdict} {outcome.mutant.name:40s} {outcome.seconds:5.1f}s  "
                         f"{outcome.detail[:90]}")
                outcomes.append(outcome)
        return outcomes


def summary(outcomes: list[Outcome]) -> str:
    """Per-module and total score, then every survivor with its description."""
    lines, modules = [], sorted({o.mutant.file for o in outcomes})
    for file in modules + [None]:
        chosen = [o for o in outcomes if file is None or o.mutant.file == file]
        killed = sum(o.killed for o in chosen)
        label = "total" if file is None else file
        timeouts = sum(o.detail == "timeout" for o in chosen)
        lines.append(f"{label:32s} {killed:3d}/{len(chosen):3d} killed  "
                     f"score {100 * killed / len(chosen):5.1f}%"
                     + (f"  ({timeouts} by timeout: rerun them with --only)" if timeouts else ""))
    survivors = [o.mutant for o in outcomes if not o.killed]
    lines.append(f"survivors ({len(survivors)}):")
    lines += [f"  {m.name} [{m.file}]: {m.description}" for m in survivors]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this mutant (repeatable)")
    parser.add_argument("--module", action="append", default=[], metavar="MODULE",
                        help="only mutants of this module, e.g. functional (repeatable)")
    parser.add_argument("-j", "--jobs", type=int, default=1,
                        help="mutants run at a time, each in its own copy (default 1)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds per test file before the mutant counts as caught "
                             "(a hang); reported as 'timeout' (default 600)")
    parser.add_argument("-m", "--marker", default="not slow",
                        help="pytest marker expression (default 'not slow')")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    parser.add_argument("--fail-under", type=float, default=0.0,
                        help="exit 1 if the score (percent) is below this")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    mutants = load_mutants()
    problems = check_mutants(mutants, ROOT)
    if problems:
        print("broken mutants:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    unknown = set(args.only) - {m.name for m in mutants}
    if unknown:
        print(f"unknown mutant names: {sorted(unknown)}", file=sys.stderr)
        return 2
    if args.only:
        mutants = [m for m in mutants if m.name in args.only]
    if args.module:
        mutants = [m for m in mutants if m.module in args.module]
    if not mutants:
        print("no mutant selected", file=sys.stderr)
        return 2
    if args.list:
        for m in mutants:
            print(f"{m.name:40s} {m.file:28s} {m.description}")
        print(f"{len(mutants)} mutants")
        return 0
    try:
        outcomes = run(mutants, jobs=args.jobs, timeout=args.timeout, marker=args.marker,
                       seed=args.seed)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 2
    print(summary(outcomes))
    score = 100 * sum(o.killed for o in outcomes) / len(outcomes)
    return 0 if score >= args.fail_under else 1


if __name__ == "__main__":
    sys.exit(main())
