"""What every benchmark here shares: thread pinning, timing by repeated medians, the memory
and arithmetic floors measured in the same run, the environment report, and result files.

Benchmarks are scripts, not tests: they print a table and write JSON + markdown. Machines are
shared and noisy, so every figure is the median of several repeats after a warm-up, with the
spread (min..max) beside it, and comparisons are ratios measured in the same process.
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from scratchlin._benchtools import cpu_model, interleaved


@contextlib.contextmanager
def pin_threads(n_threads: int):
    """Limit BLAS (numpy's, via threadpoolctl) and torch to ``n_threads``, the same for all,
    restoring both settings on exit."""
    from threadpoolctl import threadpool_limits

    try:
        import torch
    except ImportError:
        torch = None
    previous = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n_threads)
    try:
        with threadpool_limits(limits=n_threads):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(previous)


def environment(n_threads: int) -> dict:
    """Versions and thread settings of every contender, to print and store with the results."""
    from threadpoolctl import threadpool_info

    import scratchlin

    env = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{cpu_model()}, {platform.machine()}, {os.cpu_count()} logical CPUs",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scratchlin": scratchlin.__version__,
        "threads requested": n_threads,
        "blas": [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}), "
                 f"{i.get('num_threads')} threads" for i in threadpool_info()
                 if i.get("user_api") == "blas"],
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE", "(unset)"),
        "load average at start": [round(x, 2) for x in os.getloadavg()],
    }
    with contextlib.suppress(ImportError):
        import torch

        env["torch"] = f"{torch.__version__}, {torch.get_num_threads()} threads"
    with contextlib.suppress(ImportError):
        import sklearn

        env["scikit-learn"] = sklearn.__version__
    return env


def measure(run, *, repeat: int, warmup: int = 1, setup=None) -> dict:
    """Time ``run()`` ``repeat`` times after ``warmup`` untimed calls.

    ``setup()``, if given, is called untimed before each call (e.g. to reset weights).

    Returns
    -------
    dict
        ``median``, ``min``, ``max`` (seconds) and the raw ``times``.
    """
    setups = None if setup is None else {"run": setup}
    return measure_interleaved({"run": run}, repeat=repeat, warmup=warmup, setups=setups)["run"]


#: Round-robin timing (see :func:`scratchlin._benchtools.interleaved`): each of ``repeat``
#: rounds visits every contender once, in an order rotated every round, with ``warmup`` untimed
#: runs before each timed one, so a slow spell of a shared machine hits all of them alike.
#: One implementation serves ``scratchlin bench`` and these scripts.
measure_interleaved = interleaved


def read_floor(X: np.ndarray, *, repeat: int) -> dict:
    """Time to read ``X`` once from memory (a sum over it), the bandwidth floor of an epoch."""
    return measure(lambda: np.add.reduce(X, axis=None), repeat=repeat)


def gemm_rate(*, repeat: int, size: int = 2048) -> float:
    """Large float32 GEMM rate in FLOP/s, the arithmetic floor's yardstick."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    timing = measure(lambda: a @ b, repeat=repeat)
    return 2 * size**3 / timing["median"]


def fmt_ms(timing: dict) -> str:
    """``median (min..max)`` in milliseconds."""
    return f"{timing['median'] * 1e3:.1f} ms ({timing['min'] * 1e3:.1f}..{timing['max'] * 1e3:.1f})"


def report(out_dir, name: str, results: dict, markdown: str, env: dict) -> None:
    """Append the environment to ``markdown``, print it, and write both result files."""
    env["load average at end"] = [round(x, 2) for x in os.getloadavg()]
    results["environment"] = env
    markdown += "\n" + ", ".join(f"{k}: {v}" for k, v in env.items()) + "\n"
    print()
    print(markdown)
    write_results(out_dir, name, results, markdown)


def write_results(out_dir, name: str, results: dict, markdown: str) -> None:
    """Write ``name.json`` and ``name.md`` into ``out_dir`` (created if needed)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out_dir / f"{name}.md").write_text(markdown)
    print(f"wrote {out_dir / (name + '.json')} and {out_dir / (name + '.md')}")


def markdown_table(header: list, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def load_data(root=None, n_train=None):
    """MNIST as (uint8 X (N, 784), float32 X, labels) for train and test, from the loader."""
    from scratchlin import datasets

    out = {}
    for split in ("train", "test"):
        images, labels = datasets.load_mnist(split, root=root)
        if n_train is not None and split == "train":
            images, labels = images[:n_train], labels[:n_train]
        pixels = datasets.flatten(images)
        out[split] = (np.ascontiguousarray(pixels), datasets.to_float(pixels), labels.astype(np.intp))
    return out
