"""Tests for scratchlin.preprocessing: flatten, to_float, RAW_PIXEL_SCALE, iter_minibatches.

References are written here independently (float64 NumPy, hand-made orders).
"""
import numpy as np
import pytest

from scratchlin import datasets
from scratchlin import preprocessing as pp


def test_datasets_keeps_the_preprocessing_names():
    for name in ("flatten", "to_float", "iter_minibatches", "RAW_PIXEL_SCALE"):
        assert getattr(datasets, name) is getattr(pp, name)
        assert name in datasets.__all__ and name in pp.__all__


def test_raw_pixel_scale_maps_255_to_one():
    assert pp.RAW_PIXEL_SCALE == 1 / 255
    assert np.float64(255) * pp.RAW_PIXEL_SCALE == 1.0


# ------------------------------------------------------------------------------------------
# preprocessing
# ------------------------------------------------------------------------------------------

def test_flatten_is_a_view_when_possible(rng):
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    flat = pp.flatten(images)
    assert flat.shape == (5, 784) and np.shares_memory(flat, images)
    assert np.array_equal(flat[3], images[3].ravel())
    strided = images[:, ::2, :]
    assert np.array_equal(pp.flatten(strided), strided.reshape(5, -1))
    assert pp.flatten(np.zeros((0, 28, 28), np.uint8)).shape == (0, 784)


@pytest.mark.parametrize("shape", [(784,), (5, 784), (1, 5, 28, 28)])
def test_flatten_refuses_non_3d(shape):
    with pytest.raises(ValueError, match=rf"images must be a 3-D array of shape \(N, height, "
                                         rf"width\), got shape {re_shape(shape)}"):
        pp.flatten(np.zeros(shape, np.uint8))


def re_shape(shape):
    return str(shape).replace("(", r"\(").replace(")", r"\)")


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_to_float_of_pixels_is_exact(dtype):
    x = np.arange(256, dtype=np.uint8).reshape(16, 4, 4)
    out = pp.to_float(x, dtype)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_array_equal(out, x.astype(dtype) / 255)
    assert out.max() == 1.0 and out.min() == 0.0
    assert out.reshape(-1)[255] == 1.0
    wide = pp.to_float(x.astype(np.int64), dtype)
    np.testing.assert_array_equal(wide, out)


def test_to_float_of_floats_checks_the_range():
    x = np.array([0.0, 0.25, 1.0], dtype=np.float64)
    out = pp.to_float(x)
    assert out.dtype == np.float32 and not np.shares_memory(out, x)
    np.testing.assert_array_equal(pp.to_float(out, np.float64), x)
    with pytest.raises(ValueError, match=r"float images must be finite and within \[0, 1\], got "
                                         r"values from 0\.0 to 255\.0 \(raw 0\.\.255 pixels\?"):
        pp.to_float(np.array([0.0, 255.0]))
    with pytest.raises(ValueError, match=r"float images must be finite"):
        pp.to_float(np.array([0.5, np.nan]))


def test_to_float_errors():
    with pytest.raises(TypeError, match="dtype must be float16, float32 or float64, got int32"):
        pp.to_float(np.zeros(3, np.uint8), np.int32)
    with pytest.raises(TypeError, match="dtype must be float16, float32 or float64, got 'x'"):
        pp.to_float(np.zeros(3, np.uint8), "x")
    with pytest.raises(TypeError, match="images must be integer pixels .* got dtype bool"):
        pp.to_float(np.zeros(3, bool))
    with pytest.raises(ValueError, match="images must hold pixel values 0..255, got values from "
                                         "-1 to 256"):
        pp.to_float(np.array([-1, 256]))


# ------------------------------------------------------------------------------------------
# minibatches
# ------------------------------------------------------------------------------------------

def _epoch_ids(**kwargs):
    X = np.arange(23)[:, None] * np.ones((1, 3), dtype=np.int64)
    y = np.arange(23)
    ids = []
    for Xb, yb in pp.iter_minibatches(X, y, **kwargs):
        assert Xb.flags.c_contiguous and yb.flags.c_contiguous
        assert np.array_equal(Xb[:, 0], yb)  # rows stay paired with their labels
        ids.append(yb.tolist())
    return ids


@pytest.mark.parametrize("batch_size", [1, 4, 5, 23, 100])
def test_minibatches_visit_every_sample_once(batch_size):
    batches = _epoch_ids(batch_size=batch_size, seed=0)
    assert sorted(sum(batches, [])) == list(range(23))
    assert all(len(b) == batch_size for b in batches[:-1])
    kept = _epoch_ids(batch_size=batch_size, seed=0, drop_last=True)
    assert all(len(b) == batch_size for b in kept)
    assert len(kept) == 23 // batch_size
    assert kept == batches[: len(kept)]


def test_minibatches_are_reproducible():
    assert _epoch_ids(batch_size=4, seed=7) == _epoch_ids(batch_size=4, seed=7)
    assert _epoch_ids(batch_size=4, seed=7) != _epoch_ids(batch_size=4, seed=8)
    gen_a, gen_b = np.random.default_rng(3), np.random.default_rng(3)
    first_a, second_a = _epoch_ids(batch_size=4, seed=gen_a), _epoch_ids(batch_size=4, seed=gen_a)
    assert first_a != second_a  # a Generator advances: each epoch is a new order
    assert [first_a, second_a] == [_epoch_ids(batch_size=4, seed=gen_b),
                                   _epoch_ids(batch_size=4, seed=gen_b)]
    assert _epoch_ids(batch_size=5, shuffle=False) == [list(range(i, min(i + 5, 23)))
                                                       for i in range(0, 23, 5)]


def test_minibatches_without_labels_and_views():
    X = np.asfortranarray(np.arange(20.0).reshape(10, 2))
    batches = list(pp.iter_minibatches(X, batch_size=4, shuffle=False))
    assert [b.shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert all(b.flags.c_contiguous for b in batches)
    C = np.arange(20.0).reshape(10, 2)
    assert all(np.shares_memory(b, C)
               for b in pp.iter_minibatches(C, batch_size=4, shuffle=False))
    assert list(pp.iter_minibatches(np.zeros((0, 2)), batch_size=3)) == []


@pytest.mark.parametrize("kwargs, error, pattern", [
    (dict(batch_size=0), ValueError, "batch_size must be >= 1, got 0"),
    (dict(batch_size=2.0), TypeError, "batch_size must be an int, got float"),
    (dict(batch_size=True), TypeError, "batch_size must be an int, got bool"),
    (dict(batch_size=2, seed="a"), TypeError, "seed must be None, a non-negative int or a "
                                              "numpy.random.Generator, got str 'a'"),
    (dict(batch_size=2, seed=-1), ValueError, "seed must be non-negative, got -1"),
    (dict(batch_size=2, shuffle=1), TypeError, "shuffle must be True or False, got int 1"),
    (dict(batch_size=2, drop_last=None), TypeError, "drop_last must be True or False"),
])
def test_minibatch_argument_errors_are_raised_at_call(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        pp.iter_minibatches(np.zeros((4, 2)), **kwargs)  # no next(): checked eagerly


def test_minibatch_length_mismatch():
    with pytest.raises(ValueError, match=r"y must have one entry per row of X: X has 4 rows, "
                                         r"y has shape \(3,\)"):
        pp.iter_minibatches(np.zeros((4, 2)), np.zeros(3), batch_size=2)
    with pytest.raises(ValueError, match=r"X must have at least 1 dimension"):
        pp.iter_minibatches(np.float64(1.0), batch_size=2)


