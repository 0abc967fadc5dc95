"""Tests for scratchlin.idx: the generic IDX parser and the bounded gzip reader.

The reference reading of the format (``expected_parse``) and every gzip file are made here with
``struct`` and the standard ``gzip``/``zlib`` modules, independently of scratchlin.
"""
import gzip
import math
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scratchlin import datasets
from scratchlin import idx as ds
from scratchlin.idx import GzipError, IDXFormatError


def idx_bytes(array, code=0x08):
    array = np.asarray(array)
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_datasets_keeps_the_idx_names():
    assert datasets.parse_idx is ds.parse_idx and datasets.read_idx is ds.read_idx
    assert datasets.IDXFormatError is IDXFormatError and datasets.GzipError is GzipError
    assert issubclass(IDXFormatError, datasets.MNISTError)
    assert issubclass(GzipError, datasets.MNISTError)


# ------------------------------------------------------------------------------------------
# the IDX parser
# ------------------------------------------------------------------------------------------

IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def expected_parse(data):
    """An independent reading of the IDX format: (shape, big-endian dtype) or None if invalid."""
    if len(data) < 4 or data[0] or data[1] or data[2] not in IDX_DTYPES:
        return None
    ndim = data[3]
    if not 1 <= ndim <= 32 or len(data) < 4 + 4 * ndim:
        return None
    shape = struct.unpack_from(f">{ndim}I", data, 4)
    dtype = np.dtype(IDX_DTYPES[data[2]])
    if len(data) - 4 - 4 * ndim != math.prod(shape) * dtype.itemsize:
        return None
    return shape, dtype


def check_parse(data):
    expected = expected_parse(data)
    if expected is None:
        with pytest.raises(IDXFormatError):
            ds.parse_idx(data)
        return
    shape, dtype = expected
    array = ds.parse_idx(data)
    assert array.shape == shape
    assert array.dtype == dtype.newbyteorder("=")
    assert array.astype(dtype).tobytes() == bytes(data[4 + 4 * len(shape):])


@st.composite
def mutated_idx(draw):
    code = draw(st.sampled_from(sorted(IDX_DTYPES) + [0x00, 0x07, 0x0A, 0x0F, 0xFF]))
    ndim = draw(st.one_of(st.integers(0, 4), st.sampled_from([32, 33, 255])))
    size = st.integers(0, 3) if ndim <= 4 else st.integers(0, 1)  # keeps payloads small
    sizes = draw(st.lists(size, min_size=min(ndim, 40), max_size=min(ndim, 40)))
    itemsize = np.dtype(IDX_DTYPES.get(code, ">u1")).itemsize
    count = math.prod(sizes[:ndim]) if ndim <= 40 else 0
    payload = draw(st.binary(min_size=count * itemsize, max_size=count * itemsize))
    data = bytearray(bytes([0, 0, code, ndim]) + b"".join(s.to_bytes(4, "big") for s in sizes)
                     + payload)
    action = draw(st.sampled_from(["none", "flip", "cut", "extend", "huge", "magic"]))
    if action == "flip" and data:
        i = draw(st.integers(0, min(len(data), 4 + 4 * min(ndim, 40)) - 1))
        data[i] ^= draw(st.integers(1, 255))
    elif action == "cut" and data:
        del data[draw(st.integers(0, len(data) - 1)):]
    elif action == "extend":
        data += draw(st.binary(min_size=1, max_size=9))
    elif action == "huge" and 1 <= ndim <= 40:
        i = draw(st.integers(0, ndim - 1))
        data[4 + 4 * i: 8 + 4 * i] = b"\xff\xff\xff\xff"
    elif action == "magic":
        data[: 2] = draw(st.binary(min_size=2, max_size=2))
    return bytes(data)


@settings(max_examples=300, deadline=1000)
@given(st.binary(max_size=80))
def test_parse_idx_random_bytes(data):
    check_parse(data)


@settings(max_examples=300, deadline=1000)
@given(mutated_idx())
def test_parse_idx_mutated_headers(data):
    check_parse(data)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), gz=st.booleans())
def test_read_idx_random_files(data, gz):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("f.gz" if gz else "f")
        path.write_bytes(gzip.compress(data) if gz and data[:1] == b"\0" else data)
        try:
            ds.read_idx(path)
        except (IDXFormatError, GzipError) as exc:
            assert str(path) in str(exc)


def test_parse_idx_examples():
    a = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 7
    out = ds.parse_idx(idx_bytes(a, 0x0C))
    assert out.dtype == np.dtype("=i4") and np.array_equal(out, a)
    f = np.array([0.5, -1.25, np.inf])
    assert np.array_equal(ds.parse_idx(bytearray(idx_bytes(f, 0x0E))), f)
    u = np.array([[1, 2], [3, 250]], dtype=np.uint8)
    view = ds.parse_idx(memoryview(idx_bytes(u)))
    assert np.array_equal(view, u) and view.dtype == np.uint8
    assert ds.parse_idx(idx_bytes(np.zeros((0, 5), np.uint8))).shape == (0, 5)


@pytest.mark.parametrize("data, pattern", [
    (b"\0\0\x08", r"not an IDX file: 3 bytes, fewer than the 4-byte magic number"),
    (b"\x1f\x8b\x08\x00", r"wrong magic number 0x1F8B0800: an IDX file starts with two zero"),
    (b"\0\0\x0a\x01", r"unknown IDX type code 0x0A in magic number 0x00000A01; expected one of "
                      r"0x08 \(uint8\), 0x09 \(int8\), 0x0B \(int16\)"),
    (b"\0\0\x08\x00", r"magic number 0x00000800 gives 0 dimensions, expected 1 to 32"),
    (b"\0\0\x08\x03\0\0\0\x01", r"truncated header: 3 dimensions need a 16-byte header, the "
                                r"data has only 8 bytes"),
    (b"\0\0\x08\x01\xff\xff\xff\xff", r"payload is shorter than the header says: shape "
                                      r"\(4294967295,\) of uint8 needs 4294967295 bytes"),
])
def test_parse_idx_errors(data, pattern):
    with pytest.raises(IDXFormatError, match=pattern):
        ds.parse_idx(data)
    with pytest.raises(IDXFormatError, match="some/file: " + pattern):
        ds.parse_idx(data, name="some/file")


def test_parse_idx_refuses_non_bytes():
    with pytest.raises(TypeError, match="data must be a bytes-like object .* got str"):
        ds.parse_idx("\0\0\x08\x01")




def test_idx_header_round_trip():
    a = np.arange(6, dtype=np.int16).reshape(2, 3)
    assert ds.idx_header(a.shape, a.dtype) == bytes([0, 0, 0x0B, 2, 0, 0, 0, 2, 0, 0, 0, 3])
    assert np.array_equal(ds.parse_idx(idx_bytes(a, 0x0B)), a)
    with pytest.raises(ValueError, match="IDX holds 1 to 32 dimensions .* got shape \\(2,\\) of "
                                         "complex128"):
        ds.idx_header((2,), np.complex128)


# ------------------------------------------------------------------------------------------
# gzip, bounded
# ------------------------------------------------------------------------------------------

def test_gunzip_bound_is_exact():
    """Exactly max_size bytes pass; one more is refused (kills an off-by-one either way)."""
    data = bytes(range(256)) * 4
    gz = gzip.compress(data)
    assert ds.gunzip(gz, max_size=len(data)) == data
    with pytest.raises(GzipError, match=rf"blob: decompresses to more than {len(data) - 1} "
                                        rf"bytes.*refused after inflating {len(data)} bytes"):
        ds.gunzip(gz, max_size=len(data) - 1, name="blob")


def test_gunzip_multi_member_crc_and_trailing_garbage():
    data = b"first member" + b"second member"
    two = gzip.compress(b"first member") + gzip.compress(b"second member")
    assert ds.gunzip(two, max_size=len(data)) == data
    with pytest.raises(GzipError, match="blob: decompresses to more than 12 bytes"):
        ds.gunzip(two, max_size=12, name="blob")
    bad_crc = bytearray(gzip.compress(data))
    bad_crc[-8] ^= 1  # the CRC32 of the trailer
    with pytest.raises(GzipError, match="corrupt gzip file: .*incorrect data check"):
        ds.gunzip(bytes(bad_crc), max_size=100)
    with pytest.raises(GzipError, match=r"not gzip data after the first gzip member \(starts "
                                        r"with b'xy'"):
        ds.gunzip(gzip.compress(data) + b"xyz", max_size=100)


def test_read_idx_bound_is_exact(tmp_path):
    """A gzipped IDX file with one byte more than its header declares is refused (not silently
    cut), and one with exactly the declared bytes is read."""
    labels = np.arange(10, dtype=np.uint8)
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes(labels)))
    assert np.array_equal(ds.read_idx(path), labels)
    path.write_bytes(gzip.compress(idx_bytes(labels) + b"\0"))
    with pytest.raises(IDXFormatError, match=rf"{path}: payload is longer than the header says: "
                                             rf"shape \(10,\) of uint8 needs 10 bytes after the "
                                             rf"8-byte header, and the file decompresses to more"):
        ds.read_idx(path)
    path.write_bytes(gzip.compress(idx_bytes(labels)[:-1]))
    with pytest.raises(IDXFormatError, match=r"payload is shorter .* needs 10 bytes after the "
                                             r"8-byte header, got 9"):
        ds.read_idx(path)


def test_read_idx_raw_file_is_sized_before_reading(tmp_path):
    """A decompressed file larger than its header declares is refused from its size alone: a
    sparse 4 GiB file takes no time and no memory."""
    path = tmp_path / "labels"
    with open(path, "wb") as f:
        f.write(idx_bytes(np.zeros(10, np.uint8)))
        f.truncate(1 << 32)
    with pytest.raises(IDXFormatError, match=rf"payload is longer .* needs 10 bytes after the "
                                             rf"8-byte header, got {(1 << 32) - 8}"):
        ds.read_idx(path)


def test_read_idx_gzip_bomb_is_refused_quickly(tmp_path):
    """A 1 MB .gz inflating to 1 GiB: refused after inflating 10001 bytes. (Memory is measured
    in a subprocess in test_data_security.py; here only the error.)"""
    path = tmp_path / "bomb.gz"
    path.write_bytes(bomb(idx_bytes(np.zeros(10000, np.uint8)), 1024))
    with pytest.raises(IDXFormatError, match=rf"{path}: payload is longer .*refused after "
                                             rf"inflating 10001 bytes"):
        ds.read_idx(path)


def bomb(prefix: bytes, mebibytes: int) -> bytes:
    """A gzip member holding ``prefix`` then ``mebibytes`` MiB of zeros, built in O(size of the
    result): after a full flush the compressor restarts, so one compressed MiB repeats."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return head + block * mebibytes + compressor.flush()  # (its CRC is wrong: bombs don't care)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=mutated_idx(), how=st.sampled_from(["one member", "two members", "cut"]),
       data=st.data())
def test_read_idx_gz_matches_the_reference(content, how, data):
    """Hostile gzipped IDX files (random headers, sizes, payload lengths, member splits,
    truncations): read_idx agrees with the reference reading, or raises one of its two errors
    naming the file; nothing else escapes."""
    level = data.draw(st.integers(0, 9))
    if how == "two members":
        cut = data.draw(st.integers(0, len(content)))
        gz = gzip.compress(content[:cut], level) + gzip.compress(content[cut:], level)
    else:
        gz = gzip.compress(content, level)
    if how == "cut":
        gz = gz[: data.draw(st.integers(0, len(gz) - 1))]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.gz"
        path.write_bytes(gz)
        expected = expected_parse(content)
        if how == "cut" or expected is None:
            with pytest.raises((IDXFormatError, GzipError)) as info:
                ds.read_idx(path)
            assert str(path) in str(info.value)
            if how != "cut":
                assert info.type is IDXFormatError
            return
        array = ds.read_idx(path)
    shape, dtype = expected
    assert array.shape == shape and array.dtype == dtype.newbyteorder("=")
    assert array.astype(dtype).tobytes() == content[4 + 4 * len(shape):]
