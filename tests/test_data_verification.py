"""The download's size guards and the label-range check, at their exact boundaries.

The download guards are tested on the body copy of ``_download`` with a fake response (no network): a
server that announces nothing and streams one byte more than the published file is stopped
while streaming; a transfer one byte short of its announced length is refused as interrupted
(before the checksum, whose message would not say what went wrong). A file named like a
decompressed dataset file is refused from its size. No real data is read.
"""
import io
import tracemalloc

import numpy as np
import pytest

from scratchlin import _download, datasets
from scratchlin.datasets import ChecksumError, MNISTError


class _FakeResponse(io.BytesIO):
    def __init__(self, body: bytes, length=None):
        super().__init__(body)
        self.headers = {} if length is None else {"Content-Length": str(length)}


class _NeverExpires:
    expired = False


def _receive(body, length=None, max_bytes=100) -> bytes:
    """What the download's body copy writes for a server sending ``body`` (announcing
    ``length``), with the published size ``max_bytes``."""
    out = io.BytesIO()
    _download._copy_body("http://mirror/f.gz", _FakeResponse(body, length), out, max_bytes,
                         progress=None, watchdog=_NeverExpires(), deadline=600.0)
    return out.getvalue()


def test_a_stream_longer_than_the_published_file_is_stopped_without_content_length():
    with pytest.raises(MNISTError, match=r"sent more than the 100 bytes of the published file"):
        _receive(b"x" * 101)


def test_a_stream_of_exactly_the_published_size_is_accepted():
    assert _receive(b"x" * 100, length=100) == b"x" * 100


def test_a_transfer_one_byte_short_of_its_announced_length_is_interrupted():
    with pytest.raises(MNISTError, match=r"download interrupted after 99 of 100 bytes"):
        _receive(b"x" * 99, length=100)


def _idx(magic: int, shape, payload: bytes) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in shape)
    return header + payload


@pytest.mark.parametrize("bad_label", [10, 255])
def test_a_single_label_just_outside_0_to_9_is_refused(tmp_path, bad_label):
    # Unverified (verify=False) local files: 3 blank images, labels (1, bad, 2).
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx(0x803, (3, 28, 28), bytes(3 * 784)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx(0x801, (3,), bytes([1, bad_label, 2])))
    with pytest.raises(MNISTError, match=rf"labels must be digits 0\.\.9, found 1 outside that "
                                         rf"range, the first {bad_label} at index 1"):
        datasets.load_mnist("test", root=tmp_path, download=False, verify=False, cache=False)


def test_labels_0_to_9_are_accepted(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx(0x803, (10, 28, 28), bytes(10 * 784)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx(0x801, (10,), bytes(range(10))))
    images, labels = datasets.load_mnist("test", root=tmp_path, download=False, verify=False, cache=False)
    assert images.shape == (10, 28, 28)
    np.testing.assert_array_equal(labels, np.arange(10))


def test_a_large_file_named_like_a_decompressed_dataset_file_is_refused_without_reading_it(tmp_path):
    # A sparse 64 MiB file named t10k-labels-idx1-ubyte (published: 10,008 bytes): its size
    # alone refuses it. tracemalloc sees every bytes object a read would create: reading it
    # whole would allocate 64 MiB; the bound is 1 MiB, 100x the published file.
    path = tmp_path / "t10k-labels-idx1-ubyte"
    with open(path, "wb") as f:
        f.write(b"\0\0\x08\x01\0\0\x27\x10")  # the real header: uint8, 1-D, 10000 labels
        f.truncate(64 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(ChecksumError, match=r"not hashed: far larger than the published file"):
            datasets.verify_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak} bytes allocated to refuse a file by its size"
