"""Tests for scratchlin.datasets: locating, downloading, verifying and parsing MNIST.

Real-file tests use the ``mnist_root`` fixture (``$SCRATCHLIN_DATA``). Corruptions are made on
copies in ``tmp_path`` (the shared folder is read-only). Downloads only ever reach a fake mirror
on 127.0.0.1 started by the test, a ``file://`` folder, or a closed loopback port.
"""
import functools
import gzip
import hashlib
import http.server
import importlib.util
import os
import shutil
import socket
import stat
import struct
import threading
import urllib.request
from pathlib import Path

import mnist
import numpy as np
import pytest

from scratchlin import datasets as ds
from scratchlin.datasets import (
    ChecksumError,
    DownloadError,
    GzipError,
    IDXFormatError,
    MNISTError,
    MNISTNotFoundError,
)

TEST_IMAGES, TEST_LABELS = ds.SPLITS["test"]
TRAIN_IMAGES, TRAIN_LABELS = ds.SPLITS["train"]
FIRST_TRAIN_LABELS = [5, 0, 4, 1, 9, 2, 1, 3]
FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9]
TRAIN_IMAGE0_ROW5 = [0] * 12 + [3, 18, 18, 18, 126, 136, 175, 26, 166, 255, 247, 127, 0, 0, 0, 0]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
# Every test here: a private per-user cache and no proxy (conftest.isolated_network_env).
pytestmark = pytest.mark.usefixtures("isolated_network_env")


# ------------------------------------------------------------------------------------------
# fixtures and helpers
# ------------------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection or URL fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(mnist, "urlretrieve", refuse)


@pytest.fixture(scope="module")
def real(mnist_root):
    """Both real splits, loaded once, with the decoded cache off."""
    return {split: ds.load_mnist(split, root=mnist_root, download=False, cache=False)
            for split in ("train", "test")}


def raw_bytes(mnist_root, name):
    return gzip.decompress((Path(mnist_root) / name).read_bytes())


def idx_bytes(array, code=0x08):
    array = np.asarray(array)
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def npy_files(*folders):
    return sorted(p for f in folders if Path(f).exists() for p in Path(f).rglob("*.npy"))


def listing(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


# ------------------------------------------------------------------------------------------
# real files
# ------------------------------------------------------------------------------------------

@pytest.mark.mnist
def test_real_files_match_published_checksums(mnist_root):
    for info in ds.FILES.values():
        data = (Path(mnist_root) / info.name).read_bytes()
        assert len(data) == info.gz_size
        assert hashlib.md5(data).hexdigest() == info.gz_md5
        assert hashlib.sha256(data).hexdigest() == info.gz_sha256
        raw = gzip.decompress(data)
        assert len(raw) == info.raw_size
        assert hashlib.md5(raw).hexdigest() == info.raw_md5
        assert hashlib.sha256(raw).hexdigest() == info.raw_sha256
        ds.verify_file(Path(mnist_root) / info.name)


@pytest.mark.mnist
@pytest.mark.parametrize("split, n, first, counts", [
    ("train", 60000, FIRST_TRAIN_LABELS, TRAIN_COUNTS),
    ("test", 10000, FIRST_TEST_LABELS, TEST_COUNTS),
])
def test_real_split_content(real, split, n, first, counts):
    images, labels = real[split]
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.uint8
    assert labels[:8].tolist() == first
    assert np.bincount(labels, minlength=10).tolist() == counts
    assert images.flags.writeable and labels.flags.writeable
    assert images.flags.c_contiguous


@pytest.mark.mnist
def test_real_seed_notebook_row(real):
    assert real["train"][0][0, 5].tolist() == TRAIN_IMAGE0_ROW5


@pytest.mark.mnist
def test_real_parsers_agree_with_mnist_package(mnist_root, real):
    for split in ("train", "test"):
        for name, ours in zip(ds.SPLITS[split], real[split]):
            with gzip.open(Path(mnist_root) / name) as f:
                theirs = mnist.parse_idx(f)
            assert theirs.dtype == ours.dtype and np.array_equal(theirs, ours)


@pytest.mark.mnist
def test_present_files_never_touch_network_and_env_is_used(mnist_root, monkeypatch,
                                                           no_network, tmp_path):
    monkeypatch.setenv("SCRATCHLIN_DATA", mnist_root)
    before = listing(mnist_root)
    images, labels = ds.load_mnist("test")  # default download=True, cache=True
    assert labels[:8].tolist() == FIRST_TEST_LABELS
    assert listing(mnist_root) == before  # nothing written next to read-only data
    assert npy_files(tmp_path / "xdg")  # the decoded cache went to the per-user cache
    images2, labels2 = ds.load_mnist("test")
    assert isinstance(images2.base, np.memmap)
    assert np.array_equal(images, images2) and np.array_equal(labels, labels2)


@pytest.mark.mnist
def test_use_with_mnist_package_works_offline(mnist_root, monkeypatch, no_network, real):
    monkeypatch.setattr(mnist, "temporary_dir", mnist.temporary_dir)
    monkeypatch.setattr(mnist, "datasets_url", mnist.datasets_url)
    assert ds.use_with_mnist_package(mnist_root) == Path(mnist_root).absolute()
    assert mnist.datasets_url.startswith("file://")
    for ours, theirs in [(real["train"][0], mnist.train_images()),
                         (real["train"][1], mnist.train_labels()),
                         (real["test"][0], mnist.test_images()),
                         (real["test"][1], mnist.test_labels())]:
        assert theirs.dtype == np.uint8 and np.array_equal(ours, theirs)


def test_use_with_mnist_package_needs_gz(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "temporary_dir", mnist.temporary_dir)
    with pytest.raises(MNISTNotFoundError, match=r"mnist package needs the \.gz file.*"
                                                 r"download=False"):
        ds.use_with_mnist_package(tmp_path, download=False)


# ------------------------------------------------------------------------------------------
# where files are looked for
# ------------------------------------------------------------------------------------------

def test_data_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHLIN_DATA", str(tmp_path / "env"))
    assert ds.data_dir(tmp_path / "root") == tmp_path / "root"
    assert ds.data_dir() == tmp_path / "env"
    monkeypatch.setenv("SCRATCHLIN_DATA", "")
    assert ds.data_dir() == tmp_path / "xdg" / "scratchlin" / "mnist"
    monkeypatch.delenv("SCRATCHLIN_DATA")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ds.data_dir() == tmp_path / "home" / ".cache" / "scratchlin" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert ds.data_dir() == tmp_path / "home" / ".cache" / "scratchlin" / "mnist"
    with pytest.raises(TypeError, match="root must be a str, a path or None, got int"):
        ds.data_dir(3)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
        ds.load_mnist("val")
    with pytest.raises(TypeError, match="download must be True or False, got str 'no'"):
        ds.load_mnist("test", download="no")
    with pytest.raises(TypeError, match="cache must be True, False or a folder path, got 3"):
        ds.load_mnist("test", cache=3)


def test_missing_file_with_downloads_off(tmp_path):
    folder = tmp_path / "empty"
    with pytest.raises(MNISTNotFoundError) as info:
        ds.load_mnist("test", root=folder, download=False)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, MNISTError)
    for part in (str(folder / TEST_IMAGES), "the folder does not exist", "root=",
                 "t10k-images-idx3-ubyte, t10k-images.idx3-ubyte", "download=True",
                 "SCRATCHLIN_DATA", "download=False"):
        assert part in message
    assert not folder.exists()  # looking never creates anything


def test_missing_file_error_attributes(tmp_path, monkeypatch):
    with pytest.raises(MNISTNotFoundError) as info:
        ds.load_mnist("test", root=tmp_path / "a", download=False)
    assert (info.value.folder, info.value.origin, info.value.missing) == (
        tmp_path / "a", "root argument", [TEST_IMAGES])
    monkeypatch.setenv("SCRATCHLIN_DATA", str(tmp_path / "b"))
    with pytest.raises(MNISTNotFoundError) as info:
        ds.load_mnist("train", download=False)
    assert (info.value.folder, info.value.origin, info.value.missing) == (
        tmp_path / "b", "$SCRATCHLIN_DATA", [TRAIN_IMAGES])
    monkeypatch.delenv("SCRATCHLIN_DATA")
    with pytest.raises(MNISTNotFoundError) as info:
        ds.load_mnist("test", download=False)
    assert (info.value.folder, info.value.origin) == (
        tmp_path / "xdg" / "scratchlin" / "mnist", "per-user cache")


def test_missing_file_message_names_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHLIN_DATA", str(tmp_path))
    with pytest.raises(MNISTNotFoundError, match=r"looked in .* chosen by \$SCRATCHLIN_DATA"):
        ds.load_mnist("train", download=False)


# ------------------------------------------------------------------------------------------
# corruptions, each on a copy
# ------------------------------------------------------------------------------------------

@pytest.mark.mnist
@pytest.mark.parametrize("name", [TEST_IMAGES, TEST_LABELS])
def test_checksum_mismatch_is_refused_and_not_cached(test_copy, tmp_path, name):
    path = test_copy / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    got = hashlib.sha256(data).hexdigest()
    pattern = (rf"checksum mismatch for {path}: expected the published gz sha256 "
               rf"{ds.FILES[name].gz_sha256} \({len(data)} bytes\), got {got}.*not used")
    with pytest.raises(ChecksumError, match=pattern):
        ds.load_mnist("test", root=test_copy)
    with pytest.raises(ChecksumError, match=pattern):
        ds.verify_file(path)
    bad = [p for p in npy_files(test_copy, tmp_path / "xdg") if p.stem == name[:-3]]
    assert bad == []


@pytest.mark.mnist
def test_decompressed_files_are_accepted_and_verified(mnist_root, tmp_path, real):
    folder = tmp_path / "raw"
    folder.mkdir()
    images_raw = raw_bytes(mnist_root, TEST_IMAGES)
    (folder / "t10k-images-idx3-ubyte").write_bytes(images_raw)  # gunzip's name
    (folder / "t10k-labels.idx1-ubyte").write_bytes(raw_bytes(mnist_root, TEST_LABELS))  # LeCun's
    images, labels = ds.load_mnist("test", root=folder, download=False, cache=False)
    assert np.array_equal(images, real["test"][0]) and np.array_equal(labels, real["test"][1])
    bad = bytearray(images_raw)
    bad[-1] ^= 1
    (folder / "t10k-images-idx3-ubyte").write_bytes(bytes(bad))
    with pytest.raises(ChecksumError, match=r"t10k-images-idx3-ubyte: expected the published "
                                            r"decompressed sha256 0fa7898d"):
        ds.load_mnist("test", root=folder, download=False)


@pytest.mark.mnist
def test_recompressed_gz_with_genuine_content_is_accepted(mnist_root, tmp_path, real):
    folder = tmp_path / "recompressed"
    folder.mkdir()
    for name in ds.SPLITS["test"]:
        (folder / name).write_bytes(gzip.compress(raw_bytes(mnist_root, name), compresslevel=1))
    images, labels = ds.load_mnist("test", root=folder, download=False)
    assert np.array_equal(images, real["test"][0]) and np.array_equal(labels, real["test"][1])


@pytest.mark.mnist
def test_truncated_gzip(test_copy):
    path = test_copy / TEST_IMAGES
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(ChecksumError, match=f"checksum mismatch for {path}"):
        ds.load_mnist("test", root=test_copy, download=False)
    pattern = rf"{path}: truncated gzip file: the compressed data \(100000 bytes\) ends before"
    with pytest.raises(GzipError, match=pattern):
        ds.load_mnist("test", root=test_copy, download=False, verify=False)
    with pytest.raises(GzipError, match=pattern):
        ds.read_idx(path)


def test_corrupt_and_empty_gzip(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(b"this is not gzip data")
    with pytest.raises(GzipError, match=rf"{path}: corrupt gzip file: not gzip data \(starts "
                                        rf"with b'th', not the gzip magic"):
        ds.read_idx(path)
    path.write_bytes(b"")
    with pytest.raises(GzipError, match=rf"{path}: empty file \(0 bytes\)"):
        ds.read_idx(path)


@pytest.mark.mnist
@pytest.mark.parametrize("compress", [False, True])
def test_wrong_magic(mnist_root, tmp_path, compress):
    raw = bytearray(raw_bytes(mnist_root, TEST_LABELS))
    raw[0] = 0x01
    shutil.copyfile(Path(mnist_root) / TEST_IMAGES, tmp_path / TEST_IMAGES)
    path = tmp_path / (TEST_LABELS if compress else "t10k-labels-idx1-ubyte")
    path.write_bytes(gzip.compress(bytes(raw)) if compress else bytes(raw))
    with pytest.raises(ChecksumError, match=f"checksum mismatch for {path}"):
        ds.load_mnist("test", root=tmp_path, download=False)
    with pytest.raises(IDXFormatError, match=rf"{path}: wrong magic number 0x01000801"):
        ds.load_mnist("test", root=tmp_path, download=False, verify=False)
    with pytest.raises(IDXFormatError, match=rf"{path}: wrong magic number 0x01000801"):
        ds.read_idx(path)


@pytest.mark.mnist
@pytest.mark.parametrize("delta, which", [(-1, "shorter"), (3, "longer")])
def test_payload_length_differs_from_header(mnist_root, tmp_path, delta, which):
    raw = raw_bytes(mnist_root, TEST_LABELS)
    raw = raw[:delta] if delta < 0 else raw + b"\0" * delta
    shutil.copyfile(Path(mnist_root) / TEST_IMAGES, tmp_path / TEST_IMAGES)
    path = tmp_path / "t10k-labels.idx1-ubyte"
    path.write_bytes(raw)
    pattern = (rf"{path}: payload is {which} than the header says: shape \(10000,\) of uint8 "
               rf"needs 10000 bytes after the 8-byte header, got {10000 + delta}")
    with pytest.raises(IDXFormatError, match=pattern):
        ds.load_mnist("test", root=tmp_path, download=False, verify=False)
    with pytest.raises(ChecksumError, match=f"checksum mismatch for {path}"):
        ds.load_mnist("test", root=tmp_path, download=False)


@pytest.mark.mnist
def test_labels_outside_0_to_9(mnist_root, tmp_path, real):
    labels = real["test"][1].copy()
    labels[[3, 70]] = [10, 200]
    shutil.copyfile(Path(mnist_root) / TEST_IMAGES, tmp_path / TEST_IMAGES)
    path = tmp_path / TEST_LABELS
    path.write_bytes(gzip.compress(idx_bytes(labels)))
    with pytest.raises(MNISTError, match=rf"{path}: labels must be digits 0\.\.9, found 2 "
                                         r"outside that range, the first 10 at index 3"):
        ds.load_mnist("test", root=tmp_path, download=False, verify=False)
    with pytest.raises(ChecksumError):
        ds.load_mnist("test", root=tmp_path, download=False)


@pytest.mark.mnist
def test_images_and_labels_of_different_lengths(mnist_root, tmp_path, real):
    shutil.copyfile(Path(mnist_root) / TEST_IMAGES, tmp_path / TEST_IMAGES)
    path = tmp_path / TEST_LABELS
    path.write_bytes(gzip.compress(idx_bytes(real["test"][1][:9999])))
    pattern = (rf"images and labels have different lengths: {tmp_path / TEST_IMAGES} holds "
               rf"10000 images, {path} holds 9999 labels")
    with pytest.raises(MNISTError, match=pattern):
        ds.load_mnist("test", root=tmp_path, download=False, verify=False)


@pytest.mark.mnist
def test_wrong_kind_of_file(mnist_root, tmp_path):
    shutil.copyfile(Path(mnist_root) / TEST_IMAGES, tmp_path / TEST_IMAGES)
    shutil.copyfile(Path(mnist_root) / TEST_IMAGES, tmp_path / TEST_LABELS)  # images as labels
    with pytest.raises(MNISTError, match=rf"{tmp_path / TEST_LABELS}: expected uint8 labels of "
                                         r"shape \(N,\) \(magic 0x00000801\), got uint8 of shape "
                                         r"\(10000, 28, 28\)"):
        ds.load_mnist("test", root=tmp_path, download=False, verify=False)


def test_verify_file_refuses_unknown_names(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("x")
    with pytest.raises(MNISTError, match=rf"{path}: not an MNIST file name; expected one of"):
        ds.verify_file(path)


# ------------------------------------------------------------------------------------------
# the decoded (.npy) cache
# ------------------------------------------------------------------------------------------

def decoded_dir(tmp_path):
    return tmp_path / "xdg" / "scratchlin" / "decoded"


@pytest.mark.mnist
def test_decoded_cache_lives_in_the_per_user_cache(test_copy, tmp_path, real):
    before = listing(test_copy)
    cold = ds.load_mnist("test", root=test_copy)
    assert listing(test_copy) == before  # nothing written next to the data, even writable
    cached = npy_files(decoded_dir(tmp_path))
    assert [p.name for p in cached] == ["t10k-images-idx3-ubyte.npy",
                                        "t10k-labels-idx1-ubyte.npy"]
    for path in [*cached, cached[0].parent, decoded_dir(tmp_path),
                 tmp_path / "xdg" / "scratchlin"]:
        assert not path.stat().st_mode & 0o022  # nobody else may write any of it
    assert stat.S_IMODE(cached[0].parent.stat().st_mode) == 0o700
    warm = ds.load_mnist("test", root=test_copy)
    for a, b, c in zip(cold, warm, real["test"]):
        assert isinstance(b.base, np.memmap) and type(b) is np.ndarray
        assert np.array_equal(a, c) and np.array_equal(b, c)
    warm[0][0, 0, 0] = 99  # copy-on-write: the cache file is not changed
    assert ds.load_mnist("test", root=test_copy)[0][0, 0, 0] == 0


@pytest.mark.mnist
def test_decoded_cache_is_invalidated_when_the_source_changes(test_copy, monkeypatch):
    ds.load_mnist("test", root=test_copy)
    path = test_copy / TEST_LABELS
    calls = []
    original = ds._verify.verified_content
    monkeypatch.setattr(ds._verify, "verified_content",
                        lambda *a: calls.append(a[0].name) or original(*a))
    ds.load_mnist("test", root=test_copy)
    assert calls == []  # stamps current: nothing re-read
    st_ = path.stat()
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 10**9))
    ds.load_mnist("test", root=test_copy)
    assert calls == [TEST_LABELS]  # re-verified after the change, then re-stamped
    ds.load_mnist("test", root=test_copy)
    assert calls == [TEST_LABELS]
    data = bytearray(path.read_bytes())
    data[100] ^= 1
    path.write_bytes(bytes(data))  # same size, now corrupt: the cache must not hide it
    with pytest.raises(ChecksumError, match=f"checksum mismatch for {path}"):
        ds.load_mnist("test", root=test_copy)


@pytest.mark.mnist
def test_decoded_cache_damage_is_repaired(test_copy, tmp_path, real):
    ds.load_mnist("test", root=test_copy)
    folder = npy_files(decoded_dir(tmp_path))[0].parent
    npy = folder / "t10k-images-idx3-ubyte.npy"
    npy.write_bytes(npy.read_bytes()[:1000])
    images, _ = ds.load_mnist("test", root=test_copy)
    assert np.array_equal(images, real["test"][0])
    (folder / "t10k-images-idx3-ubyte.json").write_text("{not json")
    images, _ = ds.load_mnist("test", root=test_copy)
    assert np.array_equal(images, real["test"][0])
    assert isinstance(ds.load_mnist("test", root=test_copy)[0].base, np.memmap)


@pytest.mark.mnist
def test_read_only_data_folder_is_never_written(test_copy, tmp_path):
    before = listing(test_copy)
    mode = test_copy.stat().st_mode
    test_copy.chmod(stat.S_IMODE(mode) & ~0o222)
    try:
        ds.load_mnist("test", root=test_copy)
        warm = ds.load_mnist("test", root=test_copy)
    finally:
        test_copy.chmod(stat.S_IMODE(mode))
    assert listing(test_copy) == before
    assert len(npy_files(tmp_path / "xdg")) == 2
    assert isinstance(warm[0].base, np.memmap)


@pytest.mark.mnist
def test_cache_off_or_elsewhere(test_copy, tmp_path):
    ds.load_mnist("test", root=test_copy, cache=False)
    assert npy_files(test_copy, tmp_path / "xdg") == []
    ds.load_mnist("test", root=test_copy, cache=tmp_path / "mine")
    assert len(npy_files(tmp_path / "mine")) == 2
    assert npy_files(test_copy, tmp_path / "xdg") == []
    warm = ds.load_mnist("test", root=test_copy, cache=tmp_path / "mine")
    assert isinstance(warm[0].base, np.memmap)
    ds.load_mnist("test", root=test_copy, verify=False)  # unverified data is never cached
    assert npy_files(test_copy, tmp_path / "xdg") == []


# ------------------------------------------------------------------------------------------
# downloads from a fake mirror (loopback only)
# ------------------------------------------------------------------------------------------

class _MirrorHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files; ``/truncated/*`` announces the full length but stops half-way."""

    requests = None
    released = None  # a threading.Event: /hang/* answers nothing until it is set

    def do_GET(self):
        self.requests.append(self.path)
        kind, _, name = self.path.strip("/").partition("/")
        if kind == "hang":
            self.released.wait()
            return
        if kind == "truncated":
            data = (Path(self.directory) / "good" / name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


@pytest.fixture
def mirror(mnist_root, tmp_path):
    """An HTTP server on 127.0.0.1 with good/, corrupt/, big/, truncated/ and hang/ mirrors."""
    root = tmp_path / "mirror"
    for sub in ("good", "corrupt", "big"):
        (root / sub).mkdir(parents=True)
    for name in ds.FILES:
        data = (Path(mnist_root) / name).read_bytes()
        (root / "good" / name).write_bytes(data)
        (root / "corrupt" / name).write_bytes(data[:-9] + b"corrupted")
        (root / "big" / name).write_bytes(data + b"trailing junk")
    requests, released = [], threading.Event()
    handler = type("Handler", (_MirrorHandler,), {"requests": requests, "released": released})
    server = _QuietServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield {"base": base, "requests": requests, "root": root}
    finally:
        released.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


@pytest.mark.mnist
def test_download_tries_mirrors_in_order(mirror, closed_port_url, tmp_path, monkeypatch, real):
    # The hang mirror never answers while the test runs, so only the per-read timeout passes
    # it; the good mirror must answer each read within that timeout, on a busy machine too.
    monkeypatch.setattr(ds, "DOWNLOAD_TIMEOUT", 2.0)
    saved = mnist.datasets_url, mnist.urlretrieve
    base = mirror["base"]
    monkeypatch.setattr(ds, "MIRRORS", (closed_port_url, base + "corrupt", base + "big/",
                                        base + "truncated/", base + "hang/", base + "good/"))
    folder = tmp_path / "cache"
    images, labels = ds.load_mnist("test", root=folder)
    assert np.array_equal(images, real["test"][0]) and np.array_equal(labels, real["test"][1])
    expected = [f"/{m}/{name}" for name in ds.SPLITS["test"]
                for m in ("corrupt", "big", "truncated", "hang", "good")]
    assert mirror["requests"] == expected
    assert sorted(p.name for p in folder.iterdir()) == sorted(ds.SPLITS["test"])
    for name in ds.SPLITS["test"]:
        ds.verify_file(folder / name)
    assert (mnist.datasets_url, mnist.urlretrieve) == saved


@pytest.mark.mnist
def test_download_fails_cleanly_when_every_mirror_fails(mirror, closed_port_url, tmp_path):
    base = mirror["base"]
    folder = tmp_path / "cache"
    saved = mnist.datasets_url, mnist.urlretrieve
    with pytest.raises(DownloadError) as info:
        ds.download_mnist(folder, mirrors=[closed_port_url, base + "corrupt/", base + "big/",
                                           base + "truncated/"])
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    path = folder / TRAIN_IMAGES
    for part in (f"MNIST file {path} is missing", "every mirror failed",
                 f"{closed_port_url}{TRAIN_IMAGES}: URLError", "Connection refused",
                 f"{base}corrupt/{TRAIN_IMAGES}: ChecksumError: checksum mismatch for "
                 f"{base}corrupt/{TRAIN_IMAGES}: expected the published gz sha256 "
                 f"{ds.FILES[TRAIN_IMAGES].gz_sha256}",
                 f"{base}big/{TRAIN_IMAGES}: DataFileError: {base}big/{TRAIN_IMAGES}: the "
                 f"server announces 9912435 bytes, more than the 9912422",
                 f"{base}truncated/{TRAIN_IMAGES}: DataFileError: {base}truncated/"
                 f"{TRAIN_IMAGES}: "
                 f"download interrupted after 4956211 of 9912422 bytes",
                 "No file was written", "SCRATCHLIN_DATA"):
        assert part in message
    assert list(folder.iterdir()) == []  # no partial file, no temporary folder
    assert (mnist.datasets_url, mnist.urlretrieve) == saved
    error = info.value
    assert (error.folder, error.origin, error.missing) == (folder, "root argument",
                                                           [TRAIN_IMAGES])
    urls = [url for url, _ in error.attempts]
    assert urls == [closed_port_url + TRAIN_IMAGES, base + "corrupt/" + TRAIN_IMAGES,
                    base + "big/" + TRAIN_IMAGES, base + "truncated/" + TRAIN_IMAGES]
    reasons = [reason for _, reason in error.attempts]
    assert reasons[0].startswith("URLError") and reasons[1].startswith("ChecksumError")
    assert "download interrupted after 4956211 of 9912422 bytes" in reasons[3]


@pytest.mark.mnist
def test_download_reports_progress(mirror, tmp_path):
    calls = []
    folder = tmp_path / "cache"
    ds.download_mnist(folder, mirrors=[mirror["base"] + "good/"],
                      progress=lambda *args: calls.append(args))
    for info in ds.FILES.values():
        mine = [(done, total) for name, done, total in calls if name == info.name]
        assert mine[0] == (0, info.gz_size) and mine[-1] == (info.gz_size, info.gz_size)
        done = [d for d, _ in mine]
        assert done == sorted(done) and len(done) >= 2
        assert all(b - a <= (1 << 20) for a, b in zip(done, done[1:]))  # as bytes arrive
    assert {name for name, _, _ in calls} == set(ds.FILES)
    calls.clear()
    ds.download_mnist(folder, mirrors=[mirror["base"] + "good/"],
                      progress=lambda *args: calls.append(args))
    assert calls == []  # nothing to download, nothing reported
    with pytest.raises(TypeError, match="progress must be a callable .* got int 3"):
        ds.download_mnist(folder, progress=3)


@pytest.mark.mnist
def test_load_mnist_passes_progress_to_downloads(mirror, tmp_path, monkeypatch):
    monkeypatch.setattr(ds, "MIRRORS", (mirror["base"] + "good/",))
    calls = []
    ds.load_mnist("test", root=tmp_path / "d", cache=False,
                  progress=lambda *args: calls.append(args))
    assert {name for name, _, _ in calls} == set(ds.SPLITS["test"])
    assert (TEST_LABELS, 4542, 4542) in calls
    with pytest.raises(TypeError, match="progress must be a callable"):
        ds.load_mnist("test", root=tmp_path / "d", progress="yes")


@pytest.mark.mnist
def test_download_from_file_url_and_force_replace(mnist_root, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(mnist_root, source)
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / TEST_LABELS).write_bytes(b"bad")
    mirrors = [source.as_uri() + "/"]
    with pytest.raises(ChecksumError, match=rf"{folder / TEST_LABELS}.*download_mnist\("
                                            r"force=True\)"):
        ds.download_mnist(folder, mirrors=mirrors)
    assert ds.download_mnist(folder, mirrors=mirrors, force=True) == folder
    assert sorted(p.name for p in folder.iterdir()) == sorted(ds.FILES)
    for name in ds.FILES:
        ds.verify_file(folder / name)


def test_download_mirror_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="mirrors must hold at least one base URL"):
        ds.download_mnist(tmp_path, mirrors=[])
    with pytest.raises(TypeError, match="mirrors must be a sequence of base URLs, got 'http"):
        ds.download_mnist(tmp_path, mirrors="http://127.0.0.1/")
    with pytest.raises(ValueError, match="each mirror must be a base URL .* got 'nowhere'"):
        ds.download_mnist(tmp_path, mirrors=["nowhere"])


def test_download_into_unwritable_place(tmp_path, closed_port_url):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DownloadError, match=rf"cannot create the folder {blocker / 'sub'}"):
        ds.download_mnist(blocker / "sub", mirrors=[closed_port_url])


def test_no_download_into_read_only_folder(tmp_path, closed_port_url):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(DownloadError, match=rf"{folder / TEST_IMAGES} is missing and cannot "
                                                rf"be downloaded: the folder {folder} \(chosen "
                                                rf"by root=.*\) is read-only") as info:
            ds.load_mnist("test", root=folder)
        assert (info.value.folder, info.value.missing, info.value.attempts) == (
            folder, [TEST_IMAGES], [])
    finally:
        folder.chmod(0o755)
    assert list(folder.iterdir()) == []


def test_missing_file_and_no_network(tmp_path, closed_port_url, monkeypatch):
    monkeypatch.setattr(ds, "MIRRORS", (closed_port_url,))
    with pytest.raises(DownloadError, match=r"(?s)t10k-images-idx3-ubyte\.gz is missing.*"
                                            r"Connection refused"):
        ds.load_mnist("test", root=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


# ------------------------------------------------------------------------------------------
# the benchmark script
# ------------------------------------------------------------------------------------------

@pytest.mark.slow  # 5.4 s measured (a cold load of all four files, then the benchmark's steps)
@pytest.mark.mnist
def test_bench_load_smoke(mnist_root, capsys):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_load.py"
    spec = importlib.util.spec_from_file_location("bench_load", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--root", mnist_root, "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert f"numpy {np.__version__}" in out
    for step in ("parse only", "gunzip + parse", "file -> array", "load_mnist cold",
                 "load_mnist warm (mmap)"):
        assert step in out
