"""Issue 10: "verified means verified, bounded means bounded" for the data layer.

Each attack is built here, in tmp_path: a poisoned or planted decoded cache, a cache folder
replaced by a symlink, gzip bombs and huge files named like MNIST files (memory measured in a
subprocess), servers on 127.0.0.1 that drip bytes past the download deadline, and the .part
folders interrupted downloads leave behind. The last section kills mutants of the verification
(issue 13): a near-miss digest in a table entry, which only a full comparison refuses.
"""
import gzip
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from scratchlin import _cache, _download
from scratchlin import datasets as ds
from scratchlin.datasets import ChecksumError, DownloadError, GzipError, IDXFormatError

TEST_IMAGES, TEST_LABELS = ds.SPLITS["test"]
REPO = Path(__file__).resolve().parents[1]
# Every test here: a private per-user cache and no proxy (conftest.isolated_network_env).
pytestmark = pytest.mark.usefixtures("isolated_network_env")


@pytest.fixture(scope="module")
def genuine_test_split(mnist_root):
    """The test split decoded with the standard gzip module (not scratchlin)."""
    def read(name):
        raw = gzip.decompress((Path(mnist_root) / name).read_bytes())
        offset = 16 if "images" in name else 8
        return np.frombuffer(raw, np.uint8, offset=offset)
    return read(TEST_IMAGES).reshape(10000, 28, 28), read(TEST_LABELS)


def cache_files(tmp_path):
    return sorted((tmp_path / "xdg" / "scratchlin" / "decoded").rglob("*.npy"))


def poison_labels_keeping_stat(npy: Path) -> None:
    """Overwrite a cached labels array with 9s, then restore its mtime: the stamp still
    matches, only the content betrays the change."""
    before = npy.stat()
    labels = np.load(npy, mmap_mode="r+")
    labels[:] = 9
    labels.flush()
    del labels
    os.utime(npy, ns=(before.st_atime_ns, before.st_mtime_ns))


# ------------------------------------------------------------------------------------------
# the decoded cache: verified means verified
# ------------------------------------------------------------------------------------------

@pytest.mark.mnist
def test_poisoned_cache_with_restored_mtime_is_not_returned(test_copy, tmp_path,
                                                            genuine_test_split):
    ds.load_mnist("test", root=test_copy)
    npy = next(p for p in cache_files(tmp_path) if p.name.startswith("t10k-labels"))
    poison_labels_keeping_stat(npy)
    assert (np.load(npy) == 9).all()
    images, labels = ds.load_mnist("test", root=test_copy, verify=True)
    assert np.array_equal(labels, genuine_test_split[1])  # not 10000 nines
    assert np.array_equal(images, genuine_test_split[0])
    assert np.array_equal(np.load(npy), genuine_test_split[1])  # and the cache was rewritten


@pytest.mark.mnist
def test_cache_planted_by_another_user_is_ignored(test_copy, tmp_path, monkeypatch,
                                                  genuine_test_split):
    """Arrays with a stamp built from the genuine files, in a cache folder some other uid
    owns (simulated by changing who scratchlin thinks it is): never read, never written."""
    ds.load_mnist("test", root=test_copy)
    npy = next(p for p in cache_files(tmp_path) if p.name.startswith("t10k-labels"))
    poison_labels_keeping_stat(npy)
    monkeypatch.setattr(_cache, "holds_published_content", lambda *a: True)  # only ownership
    monkeypatch.setattr(_cache.os, "geteuid", lambda: os.getuid() + 1)
    before = {p: p.stat().st_mtime_ns for p in cache_files(tmp_path)}
    _, labels = ds.load_mnist("test", root=test_copy)
    assert np.array_equal(labels, genuine_test_split[1])
    assert {p: p.stat().st_mtime_ns for p in cache_files(tmp_path)} == before  # not written


@pytest.mark.mnist
@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o775])
def test_cache_in_a_shared_folder_is_ignored(test_copy, tmp_path, monkeypatch, mode,
                                             genuine_test_split):
    """A cache folder writable by group or others (a shared 1777 data folder) is not used,
    even when it holds a poisoned array with a matching stamp."""
    ds.load_mnist("test", root=test_copy)
    npy = next(p for p in cache_files(tmp_path) if p.name.startswith("t10k-labels"))
    poison_labels_keeping_stat(npy)
    monkeypatch.setattr(_cache, "holds_published_content", lambda *a: True)  # only the mode
    npy.parent.chmod(mode)
    _, labels = ds.load_mnist("test", root=test_copy)
    assert np.array_equal(labels, genuine_test_split[1])
    assert (np.load(npy) == 9).all()  # nothing written into the shared folder either


@pytest.mark.mnist
def test_cache_folder_replaced_by_a_symlink_is_neither_read_nor_written(test_copy, tmp_path,
                                                                        genuine_test_split):
    decoded = tmp_path / "xdg" / "scratchlin" / "decoded"
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "xdg" / "scratchlin").mkdir(parents=True, mode=0o700)
    decoded.symlink_to(elsewhere)
    _, labels = ds.load_mnist("test", root=test_copy)
    assert np.array_equal(labels, genuine_test_split[1])
    assert list(elsewhere.iterdir()) == []  # the victim wrote nothing there
    assert decoded.is_symlink()


@pytest.mark.mnist
def test_explicit_cache_folder_writable_by_others_is_refused(test_copy, tmp_path, caplog):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    ds.load_mnist("test", root=test_copy, cache=shared)
    assert list(shared.iterdir()) == []
    assert "not a private folder" in caplog.text


@pytest.mark.mnist
def test_cache_files_that_are_not_regular_files_are_ignored(test_copy, tmp_path,
                                                            genuine_test_split):
    """A FIFO in place of a cache file would block np.load forever; a symlink could point
    anywhere. Both are skipped (lstat, no follow)."""
    ds.load_mnist("test", root=test_copy)
    npy = next(p for p in cache_files(tmp_path) if p.name.startswith("t10k-labels"))
    npy.unlink()
    os.mkfifo(npy)
    _, labels = ds.load_mnist("test", root=test_copy)  # would hang if the FIFO were opened
    assert np.array_equal(labels, genuine_test_split[1])


# ------------------------------------------------------------------------------------------
# gzip bombs and huge files: bounded means bounded (memory measured in a subprocess)
# ------------------------------------------------------------------------------------------

def bomb(prefix: bytes, mebibytes: int) -> bytes:
    """A gzip member holding ``prefix`` then ``mebibytes`` MiB of zeros (about 1 KB per MiB),
    built without compressing gigabytes: after a full flush one compressed MiB repeats."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return head + block * mebibytes + compressor.flush()


LABELS_HEADER = bytes([0, 0, 8, 1]) + (10000).to_bytes(4, "big")

_MEASURE = textwrap.dedent("""
    import json, resource, sys, time
    from scratchlin import datasets as ds
    root = sys.argv[1]
    ds.load_mnist("test", root=sys.argv[2], download=False, cache=False)  # a normal load
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results = {}
    for case in sys.argv[3:]:
        call = {
            "verify": lambda: ds.load_mnist("test", root=root, download=False, cache=False),
            "no-verify": lambda: ds.load_mnist("test", root=root, download=False,
                                               verify=False),
            "read_idx": lambda: ds.read_idx(root + "/" + ds.SPLITS["test"][1]),
            "verify_file": lambda: ds.verify_file(root + "/" + ds.SPLITS["test"][1]),
            "raw verify": lambda: ds.verify_file(root + "/t10k-labels-idx1-ubyte"),
            "raw no-verify": lambda: ds.read_idx(root + "/t10k-labels-idx1-ubyte"),
        }[case]
        start = time.perf_counter()
        try:
            call()
            results[case] = ["no error", "", 0.0]
        except Exception as exc:
            results[case] = [type(exc).__name__, str(exc), time.perf_counter() - start]
    extra = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline
    print(json.dumps({"extra_kib": extra, "results": results}))
""")


def measure(root, genuine_root, *cases):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(root), str(genuine_root), *cases],
                          capture_output=True, text=True, timeout=120, env=env, check=True)
    return json.loads(done.stdout)


@pytest.mark.mnist
@pytest.mark.slow
def test_gzip_bomb_named_like_mnist_is_refused_in_bounded_memory(mnist_root, tmp_path):
    """A 3 MB t10k-labels-idx1-ubyte.gz inflating to 3 GiB (the issue measured 4.1 GB peak RSS
    and 10-30 s before): every path refuses it after inflating a few KB."""
    shutil.copyfile(Path(mnist_root) / TEST_IMAGES, tmp_path / TEST_IMAGES)
    path = tmp_path / TEST_LABELS
    path.write_bytes(bomb(LABELS_HEADER, 3 * 1024))
    assert 2_000_000 < path.stat().st_size < 4_000_000
    out = measure(tmp_path, mnist_root, "verify", "no-verify", "read_idx", "verify_file")
    results = out["results"]
    assert results["verify"][0] == results["verify_file"][0] == "ChecksumError"
    assert results["no-verify"][0] == results["read_idx"][0] == "IDXFormatError"
    assert f"checksum mismatch for {path}" in results["verify"][1]
    assert "decompresses to more than 10008 bytes" in results["verify"][1]
    assert f"{path}: payload is longer than the header says" in results["no-verify"][1]
    assert out["extra_kib"] < 300 * 1024, out  # < 300 MB beyond a normal load


@pytest.mark.mnist
@pytest.mark.slow
def test_huge_decompressed_file_is_refused_from_its_size(mnist_root, tmp_path):
    """A sparse 8 GiB file named t10k-labels-idx1-ubyte: refused without being read."""
    shutil.copyfile(Path(mnist_root) / TEST_IMAGES, tmp_path / TEST_IMAGES)
    path = tmp_path / "t10k-labels-idx1-ubyte"
    with open(path, "wb") as f:
        f.write(LABELS_HEADER)
        f.truncate(8 << 30)
    out = measure(tmp_path, mnist_root, "raw verify", "raw no-verify")
    assert out["results"]["raw verify"][0] == "ChecksumError"
    assert "not hashed: far larger than the published file" in out["results"]["raw verify"][1]
    assert out["results"]["raw no-verify"][0] == "IDXFormatError"
    assert f"got {(8 << 30) - 8}" in out["results"]["raw no-verify"][1]
    assert out["extra_kib"] < 300 * 1024, out


@pytest.mark.mnist
def test_recompressed_gz_one_byte_longer_than_published_is_refused(mnist_root, tmp_path):
    """The gunzip bound for a recompressed file is the published raw size: exactly that
    passes (test_recompressed_gz_with_genuine_content_is_accepted), one byte more does not."""
    raw = gzip.decompress((Path(mnist_root) / TEST_LABELS).read_bytes())
    path = tmp_path / TEST_LABELS
    path.write_bytes(gzip.compress(raw + b"\0", compresslevel=1))
    with pytest.raises(ChecksumError, match=rf"checksum mismatch for {path}.*decompresses to "
                                            rf"more than 10008 bytes"):
        ds.verify_file(path)
    path.write_bytes(gzip.compress(raw, compresslevel=1))
    ds.verify_file(path)


# ------------------------------------------------------------------------------------------
# downloads: the deadline holds (servers on 127.0.0.1 only)
# ------------------------------------------------------------------------------------------

class DripServer:
    """Accepts connections on 127.0.0.1 and answers at ``interval`` seconds per byte: the
    status line and headers (``drip_headers``) or only the body. Stops within ~1 s of close."""

    def __init__(self, *, drip_headers=False, interval=0.1, length=4542):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.drip_headers, self.interval, self.length = drip_headers, interval, length
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {self.length}\r\n\r\n".encode()
        try:
            conn.recv(65536)
            if not self.drip_headers:
                conn.sendall(head)
            data = (head if self.drip_headers else b"") + b"\0" * self.length
            for i in range(min(len(data), 600)):  # bounded: at most 600 bytes, ~60 s
                if self.stop.is_set():
                    break
                conn.sendall(data[i:i + 1])
                time.sleep(self.interval)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.mark.parametrize("drip_headers, interval", [(False, 0.1), (True, 0.5)],
                         ids=["body", "headers"])
def test_download_deadline_holds_against_a_drip_server(tmp_path, monkeypatch, drip_headers,
                                                       interval):
    """A byte every 0.1 s (or 0.5 s) never trips a per-read timeout; only the 1 s deadline
    can stop it. Before: a 3 s deadline was still downloading after 60 s.

    The bound of 15 s is 15x the deadline, not a speed requirement. What it catches: a
    watchdog armed with the 30 s per-read timeout instead of the deadline (stops at 30 s), and
    one that never learns the socket, so the headers, dripped at 0.5 s a byte, run to their
    end (~22 s) before the body loop notices the deadline."""
    monkeypatch.setattr(ds, "DOWNLOAD_TIMEOUT", 30.0)
    monkeypatch.setattr(ds, "DOWNLOAD_DEADLINE", 1.0)
    server = DripServer(drip_headers=drip_headers, interval=interval)
    try:
        start = time.monotonic()
        with pytest.raises(DownloadError) as info:
            ds.download_mnist(tmp_path / "d", mirrors=[server.url])
        elapsed = time.monotonic() - start
    finally:
        server.close()
    (url, reason), = info.value.attempts
    assert url == server.url + ds.SPLITS["train"][0]
    assert reason.startswith("TimeoutError") and "1 s deadline" in reason
    assert elapsed < 15  # see the docstring: the drip alone would take 60 s (capped)
    assert list((tmp_path / "d").iterdir()) == []  # no .part folder left


def test_download_deadline_holds_against_a_silent_server(tmp_path, monkeypatch):
    """Accepts and never answers; the per-read timeout (30 s) is longer than the deadline."""
    monkeypatch.setattr(ds, "DOWNLOAD_TIMEOUT", 30.0)
    monkeypatch.setattr(ds, "DOWNLOAD_DEADLINE", 1.0)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        start = time.monotonic()
        with pytest.raises(DownloadError) as info:
            ds.download_mnist(tmp_path / "d", mirrors=[url])
        elapsed = time.monotonic() - start
    assert "deadline" in info.value.attempts[0][1]
    assert elapsed < 20


# ------------------------------------------------------------------------------------------
# interrupted downloads: stale .part folders are removed
# ------------------------------------------------------------------------------------------

@pytest.mark.mnist
def test_stale_part_folders_are_removed_fresh_ones_kept(mnist_root, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    stale = folder / f".{TEST_LABELS}.abc123.part"
    fresh = folder / f".{TEST_LABELS}.def456.part"  # a download running right now
    other = folder / ".notes.part"  # not ours
    for path in (stale, fresh, other):
        path.mkdir()
        (path / TEST_LABELS).write_bytes(b"half a download")
    old = time.time() - _download.STALE_PART_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    shutil.copyfile(Path(mnist_root) / TEST_IMAGES, folder / TEST_IMAGES)
    ds.download_mnist(folder, mirrors=[Path(mnist_root).as_uri() + "/"])
    assert not stale.exists()
    assert fresh.exists() and other.exists()


@pytest.mark.mnist
def test_stale_cache_temporaries_are_removed_fresh_ones_kept(test_copy, tmp_path):
    """atomic_write cleans up after an exception, not after a kill: the next cache write
    removes temporaries older than an hour (the cache folder is private: all of it is ours)."""
    cache = tmp_path / "mine"
    cache.mkdir(mode=0o700)
    stale = cache / ".t10k-labels-idx1-ubyte.npy.k1ll3d.tmp"
    fresh = cache / ".t10k-labels-idx1-ubyte.npy.wr1t1ng.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"half a cache file")
    old = time.time() - _cache.STALE_TEMPORARY_SECONDS - 60
    os.utime(stale, (old, old))
    ds.load_mnist("test", root=test_copy, cache=cache)
    assert not stale.exists() and fresh.exists()


# ------------------------------------------------------------------------------------------
# a dataset is a table entry; mutants of the verification (issue 13)
# ------------------------------------------------------------------------------------------

def near_miss(digest: str) -> str:
    return digest[:-1] + ("0" if digest[-1] != "0" else "1")


def toy_dataset(tmp_path, *, tamper_digest=None):
    """A 2-class IDX dataset of 4x4 images, published on a file:// mirror: proof that a new
    dataset needs only a table entry. ``tamper_digest`` changes the last hex digit of that
    file's published sha256s, gz and raw (a near miss, which only a full comparison refuses)."""
    rng = np.random.default_rng(0)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    files = []
    for split, n in (("train", 6), ("test", 3)):
        for kind, array in (("images", rng.integers(0, 256, (n, 4, 4), dtype=np.uint8)),
                            ("labels", rng.integers(0, 2, n, dtype=np.uint8))):
            name = f"{split}-{kind}-idx{array.ndim}-ubyte"
            raw = (bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big")
                                                          for d in array.shape)
                   + array.tobytes())
            gz = gzip.compress(raw, mtime=0)
            (mirror / f"{name}.gz").write_bytes(gz)
            gz_sha, raw_sha = hashlib.sha256(gz).hexdigest(), hashlib.sha256(raw).hexdigest()
            if tamper_digest == name:
                gz_sha, raw_sha = near_miss(gz_sha), near_miss(raw_sha)
            files.append(ds.DataFile(
                f"{name}.gz", (name,), split, kind, array.shape,
                len(gz), hashlib.md5(gz).hexdigest(), gz_sha,
                len(raw), hashlib.md5(raw).hexdigest(), raw_sha))
    dataset = ds.IDXDataset(name="toy", env_var="SCRATCHLIN_TOY_DATA",
                            mirrors=(mirror.as_uri() + "/",), files=tuple(files), n_classes=2)
    return dataset, mirror


def test_a_new_idx_dataset_is_one_table_entry(tmp_path, monkeypatch):
    dataset, mirror = toy_dataset(tmp_path)
    monkeypatch.delenv("SCRATCHLIN_TOY_DATA", raising=False)
    images, labels = ds.load_idx_dataset(dataset, "train")  # downloads into the user cache
    raw = gzip.decompress((mirror / "train-images-idx3-ubyte.gz").read_bytes())
    assert np.array_equal(images, np.frombuffer(raw, np.uint8, offset=16).reshape(6, 4, 4))
    assert labels.shape == (6,) and labels.max() <= 1
    assert (tmp_path / "xdg" / "scratchlin" / "toy" / "train-images-idx3-ubyte.gz").is_file()
    warm, _ = ds.load_idx_dataset(dataset, "train")
    assert isinstance(warm.base, np.memmap) and np.array_equal(warm, images)
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
        ds.load_idx_dataset(dataset, "val")
    with pytest.raises(ds.MNISTNotFoundError, match=r"TOY file .* chosen by "
                                                    r"\$SCRATCHLIN_TOY_DATA.*set "
                                                    r"SCRATCHLIN_TOY_DATA \(or root=\)") as info:
        monkeypatch.setenv("SCRATCHLIN_TOY_DATA", str(tmp_path / "nowhere"))
        ds.load_idx_dataset(dataset, "test", download=False)
    assert info.value.origin == "$SCRATCHLIN_TOY_DATA"


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"])
def test_a_near_miss_digest_is_refused(tmp_path, name):
    """Kills a comparison of digest prefixes: the published digest differs from the file's
    only in its last hex digit."""
    dataset, mirror = toy_dataset(tmp_path, tamper_digest=name)
    folder = tmp_path / "data"
    shutil.copytree(mirror, folder)
    with pytest.raises(ChecksumError, match=f"checksum mismatch for {folder / name}"):
        ds.load_idx_dataset(dataset, "train", root=folder, download=False)
    ds.load_idx_dataset(dataset, "train", root=folder, download=False, verify=False)


def test_a_cache_that_does_not_hold_the_published_content_is_not_used(tmp_path):
    """Kills a cache check that trusts stamps (and ownership) without looking at content:
    the toy dataset's cached labels are flipped, stamp and mtime intact."""
    dataset, mirror = toy_dataset(tmp_path)
    folder = tmp_path / "data"
    shutil.copytree(mirror, folder)
    _, labels = ds.load_idx_dataset(dataset, "test", root=folder)
    npy = next((tmp_path / "xdg").rglob("test-labels-idx1-ubyte.npy"))
    before = npy.stat()
    cached = np.load(npy, mmap_mode="r+")
    cached[:] = 1 - cached
    cached.flush()
    del cached
    os.utime(npy, ns=(before.st_atime_ns, before.st_mtime_ns))
    _, again = ds.load_idx_dataset(dataset, "test", root=folder)
    assert np.array_equal(again, labels)


def test_corrupt_same_size_files_are_refused(tmp_path):
    """Kills 'skip the hash when the size matches', for the .gz and the decompressed file."""
    dataset, mirror = toy_dataset(tmp_path)
    folder = tmp_path / "data"
    shutil.copytree(mirror, folder)
    gz = folder / "test-labels-idx1-ubyte.gz"
    data = bytearray(gz.read_bytes())
    raw = bytearray(gzip.decompress(bytes(data)))
    data[-9] ^= 1  # inside the deflate data: still the same size
    gz.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=f"checksum mismatch for {gz}"):
        ds.load_idx_dataset(dataset, "test", root=folder, download=False)
    gz.unlink()
    raw[-1] ^= 1
    (folder / "test-labels-idx1-ubyte").write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match="published decompressed sha256"):
        ds.load_idx_dataset(dataset, "test", root=folder, download=False)


def test_unverified_content_is_structurally_checked(tmp_path):
    dataset, mirror = toy_dataset(tmp_path)
    folder = tmp_path / "data"
    shutil.copytree(mirror, folder)
    labels = np.array([0, 1, 2], dtype=np.uint8)  # 2 is outside a 2-class dataset
    raw = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + labels.tobytes()
    (folder / "test-labels-idx1-ubyte.gz").write_bytes(gzip.compress(raw))
    with pytest.raises(ds.MNISTError, match=r"labels must be digits 0\.\.1, found 1 outside"):
        ds.load_idx_dataset(dataset, "test", root=folder, download=False, verify=False)


def test_error_classes_keep_their_first_names():
    assert ds.MNISTError is ds.DataFileError and ds.MNISTFile is ds.DataFile
    for cls in (ChecksumError, GzipError, IDXFormatError, DownloadError):
        assert issubclass(cls, ds.MNISTError) and issubclass(cls, ValueError)
