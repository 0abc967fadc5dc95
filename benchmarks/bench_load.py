"""Benchmark: loading MNIST with scratchlin's IDX parser vs the ``mnist`` package's ``parse_idx``.

Usage::

    python benchmarks/bench_load.py [--root DIR] [--repeat 5]

``--root`` defaults to ``scratchlin.datasets.data_dir()`` (``$SCRATCHLIN_DATA`` or the per-user
cache); the four ``.gz`` files must be there (nothing is downloaded). For each split (images and
labels together) and each step it prints the median over ``--repeat`` runs, the [min-max] spread,
and the ratio mnist / scratchlin:

- ``parse only``: the parse step alone on the same, already decompressed bytes:
  ``scratchlin.datasets.parse_idx(raw)`` vs ``mnist.parse_idx(io.BytesIO(raw))``.
- ``gunzip + parse``: the same ``gzip.decompress`` of the file's bytes, then each parser.
- ``file -> array``: each library's own way from the ``.gz`` on disk, no checksum:
  ``read_idx(path)`` vs ``mnist.parse_idx(gzip.open(path))`` (what
  ``mnist.download_and_parse_mnist_file`` does).
- ``load_mnist cold``: the full public loader with the decoded cache off: sha256 verification,
  decompression, parsing and the label checks.
- ``load_mnist warm``: from the decoded ``.npy`` cache (built first, in a temporary folder),
  memory-mapped, with both cache checks (the default): the private-folder checks (``lstat`` of
  the folder chain and files) and the content sha256 against the published digest (which reads
  every page). ``warm + full read`` also copies every pixel once.
- ``warm: stamp only`` / ``warm: + private checks`` / ``warm: + content sha256``: the same
  warm load with checks switched off (patched out), to show what each costs.

Both parsers are first checked to give identical arrays (dtype, shape, values) on all four files.
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np

try:
    from scratchlin import _cache, datasets
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from scratchlin import _cache, datasets

import mnist


def _time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _fmt(times):
    if times is None:
        return "-"
    ms = [t * 1e3 for t in times]
    return f"{statistics.median(ms):9.2f} [{min(ms):.2f}-{max(ms):.2f}]"


def _ratio(ours, theirs):
    if ours is None or theirs is None:
        return "-"
    return f"{statistics.median(theirs) / statistics.median(ours):8.1f}x"


def _paths(root, split):
    return [Path(root) / name for name in datasets.SPLITS[split]]


def check_parity(root):
    """Assert both parsers give identical arrays on all four files; return the raw bytes."""
    raw = {}
    for info in datasets.FILES.values():
        path = Path(root) / info.name
        datasets.verify_file(path)
        ours = datasets.read_idx(path)
        with gzip.open(path, "rb") as f:
            theirs = mnist.parse_idx(f)
        assert ours.dtype == theirs.dtype == np.uint8, (ours.dtype, theirs.dtype)
        assert ours.shape == theirs.shape == info.shape, (ours.shape, theirs.shape)
        assert np.array_equal(ours, theirs), f"parsers disagree on {path}"
        raw[info.name] = gzip.decompress(path.read_bytes())
    return raw


def _time_split(root, split, raw, cache_dir, repeat):
    """Time every step on one split: ``[(step, split, ours, theirs), ...]``.

    Its own function, not the body of ``run``'s loop: each lambda below is timed at once and
    reads this call's ``paths``, ``blobs``... (in a loop body they would read whatever the
    loop variable holds when called, ruff's B023).
    """
    rows = []
    paths = _paths(root, split)
    blobs = [raw[p.name] for p in paths]
    gz_bytes = [p.read_bytes() for p in paths]
    rows.append(("parse only", split,
                 _time(lambda: [datasets.parse_idx(b) for b in blobs], repeat),
                 _time(lambda: [mnist.parse_idx(io.BytesIO(b)) for b in blobs], repeat)))
    rows.append(("gunzip + parse", split,
                 _time(lambda: [datasets.parse_idx(gzip.decompress(b))
                                for b in gz_bytes], repeat),
                 _time(lambda: [mnist.parse_idx(io.BytesIO(gzip.decompress(b)))
                                for b in gz_bytes], repeat)))
    rows.append(("file -> array", split,
                 _time(lambda: [datasets.read_idx(p) for p in paths], repeat),
                 _time(lambda: [_mnist_file(p) for p in paths], repeat)))
    load = dict(root=root, download=False)
    rows.append(("load_mnist cold", split,
                 _time(lambda: datasets.load_mnist(split, cache=False, **load), repeat),
                 None))
    datasets.load_mnist(split, cache=cache_dir, **load)  # build the decoded cache
    warm = datasets.load_mnist(split, cache=cache_dir, **load)
    assert isinstance(warm[0].base, np.memmap), "the decoded cache was not used"
    rows.append(("load_mnist warm (mmap)", split,
                 _time(lambda: datasets.load_mnist(split, cache=cache_dir, **load), repeat),
                 None))
    for step, checks in (("warm: stamp only", ()),
                         ("warm: + private checks", ("private",)),
                         ("warm: + content sha256", ("content",))):
        with _cache_checks(checks):
            rows.append((step, split,
                         _time(lambda: datasets.load_mnist(split, cache=cache_dir,
                                                           **load), repeat),
                         None))
    rows.append(("warm + full read", split,
                 _time(lambda: [np.array(a) for a in
                                datasets.load_mnist(split, cache=cache_dir, **load)],
                       repeat),
                 None))
    return rows


def run(root, repeat):
    """Time every step for both splits; return ``[(step, split, ours, theirs), ...]``."""
    raw = check_parity(root)
    rows = []
    cache_dir = tempfile.mkdtemp(prefix="bench-load-cache-")
    try:
        for split in ("train", "test"):
            rows += _time_split(root, split, raw, cache_dir, repeat)
    finally:
        import shutil
        shutil.rmtree(cache_dir, ignore_errors=True)
    return rows


@contextlib.contextmanager
def _cache_checks(keep):
    """Switch the decoded cache's checks off, except those named in ``keep``."""
    with contextlib.ExitStack() as stack:
        if "private" not in keep:
            stack.enter_context(mock.patch.object(_cache, "_is_private", lambda *a, **k: True))
        if "content" not in keep:
            stack.enter_context(mock.patch.object(_cache, "holds_published_content",
                                                  lambda *a: True))
        yield


def _mnist_file(path):
    with gzip.open(path, "rb") as f:
        return mnist.parse_idx(f)


def report(rows, repeat):
    print(f"python {platform.python_version()} | numpy {np.__version__} | mnist "
          f"{mnist.__version__} | {platform.machine()} | {os.cpu_count()} CPUs | "
          f"repeat={repeat}")
    print("times in ms: median [min-max] per split (images + labels); ratio = mnist / scratchlin")
    print(f"{'step':<24}{'split':<7}{'scratchlin':>26}{'mnist package':>26}{'ratio':>10}")
    for step, split, ours, theirs in rows:
        print(f"{step:<24}{split:<7}{_fmt(ours):>26}{_fmt(theirs):>26}{_ratio(ours, theirs):>10}")
    totals = {}
    for step, _, ours, theirs in rows:
        a, b = totals.get(step, (0.0, 0.0))
        totals[step] = (a + statistics.median(ours), b + (statistics.median(theirs)
                                                          if theirs else float("nan")))
    print("both splits (sum of medians, ms):")
    for step, (a, b) in totals.items():
        theirs = "-" if np.isnan(b) else f"{b * 1e3:.2f}"
        ratio = "-" if np.isnan(b) else f"{b / a:.1f}x"
        print(f"  {step:<24} scratchlin {a * 1e3:9.2f}   mnist {theirs:>9}   ratio {ratio}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=None,
                        help="folder with the four MNIST .gz files (default: data_dir())")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per step (>= 1)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    root = datasets.data_dir(args.root)
    missing = [n for n in datasets.FILES if not (root / n).is_file()]
    if missing:
        print(f"missing in {root}: {', '.join(missing)} (set --root or SCRATCHLIN_DATA, or run "
              f"scratchlin.datasets.download_mnist())", file=sys.stderr)
        return 2
    print(f"root: {root}")
    report(run(root, args.repeat), args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
