"""Shared fixtures and the CI rule that a skipped test is a failed test.

Locally a missing optional dependency (torch, matplotlib) or missing MNIST files skip the
tests that need them. Under CI (``CI`` set to anything but ``""``/``0``/``false``) every skip
is turned into a failure, so the torch-parity and real-MNIST tests cannot silently drop out.
"""
import os
import shutil
import sys

import hypothesis
import numpy as np
import pytest

IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

# Locally hypothesis explores new examples each run; in CI it replays a fixed sequence, so a
# run's verdict depends on the code, not on luck. (A failure found locally prints its seed.)
hypothesis.settings.register_profile("ci", derandomize=True, print_blob=True)
if IN_CI:
    hypothesis.settings.load_profile("ci")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under CI, which must run every test: {reason}"


@pytest.fixture(autouse=True)
def torch_on_one_thread():
    """torch on one thread during each test (if a test module imported it), then as it was.

    The tests hand torch arrays of a few hundred numbers, which its thread pool cannot speed
    up; on a busy machine every op then waits for the pool's threads to be scheduled, and a
    loop of a few hundred small steps takes a minute instead of a second.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def rng():
    """A fresh, seeded generator per test, so tests never share random state."""
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def mnist_root():
    """The folder holding the four MNIST .gz files, from ``$SCRATCHLIN_DATA``.

    Skips (a failure under CI) when it is not set or does not hold the files.
    """
    root = os.environ.get("SCRATCHLIN_DATA")
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    if not root or not all(os.path.exists(os.path.join(root, n)) for n in names):
        pytest.skip("real MNIST files not found: set SCRATCHLIN_DATA to their folder")
    return root


@pytest.fixture
def private_mnist_root(mnist_root, tmp_path, monkeypatch):
    """A private folder linking to the real MNIST files, set as ``$SCRATCHLIN_DATA``.

    Loading caches decoded arrays next to the data (if that folder is writable) or in the
    per-user cache: with this fixture both land in ``tmp_path``, so a test behaves the same
    whether or not the real data folder is writable, and leaves it and ``~/.cache`` alone.
    """
    root = tmp_path / "mnist"
    root.mkdir()
    for name in os.listdir(mnist_root):
        if name.endswith(".gz"):
            (root / name).symlink_to(os.path.realpath(os.path.join(mnist_root, name)))
    monkeypatch.setenv("SCRATCHLIN_DATA", str(root))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return str(root)


@pytest.fixture
def isolated_network_env(tmp_path, monkeypatch):
    """A per-user cache in ``tmp_path`` and no proxy, so loopback URLs are fetched directly."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    for var in ("http_proxy", "https_proxy", "ftp_proxy", "all_proxy",
                "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def test_copy(mnist_root, tmp_path):
    """A writable folder holding copies of the two MNIST test-split .gz files."""
    from scratchlin.datasets import SPLITS

    folder = tmp_path / "data"
    folder.mkdir()
    for name in SPLITS["test"]:
        shutil.copyfile(os.path.join(mnist_root, name), folder / name)
    return folder
