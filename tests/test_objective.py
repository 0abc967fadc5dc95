"""Tests of scratchlin.objective, the one minibatch loss and gradient.

Every expected value comes from the float64 formula of ``tests/reference.py`` (or from
repeating rows, the definition of integer sample weights), never from scratchlin.
"""
import tracemalloc

import numpy as np
import pytest
import reference

from scratchlin.objective import Workspace, loss_and_grad

DTYPES = [np.float32, np.float64]


def rounding_bound(dtype, n_terms):
    """Worst-case relative rounding error of an ``n_terms``-long float sum, gamma_n = n u
    (u = eps / 2), times 4 for the handful of extra roundings (exp, log, divide, scale)."""
    return 2 * n_terms * float(np.finfo(dtype).eps)



def problem(rng, n, n_features, n_classes, dtype, raw=False):
    if raw:
        X = rng.integers(0, 256, size=(n, n_features)).astype(np.uint8)
    else:
        X = rng.normal(size=(n, n_features)).astype(dtype)
    labels = rng.integers(0, n_classes, n).astype(np.intp)
    W = (0.05 * rng.normal(size=(n_features, n_classes))).astype(dtype)
    b = rng.normal(size=n_classes).astype(dtype)
    return X, labels, W, b


@pytest.mark.parametrize("with_workspace", [False, True], ids=["fresh", "out="])
@pytest.mark.parametrize("raw", [False, True], ids=["float", "uint8-scaled"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("dtype", DTYPES)
def test_loss_and_grad_equal_the_float64_formula(rng, dtype, weight_decay, label_smoothing, raw,
                                                 with_workspace):
    n, n_features, n_classes = 100, 50, 10
    X, labels, W, b = problem(rng, n, n_features, n_classes, dtype, raw)
    scale = 1 / 255 if raw else 1.0
    ws = Workspace(n_features, n_classes, 64, dtype) if with_workspace else None
    # A full buffer first, then a smaller batch: the second must not see the first's leftovers.
    for rows in (rng.choice(n, 64, replace=False), rng.choice(n, 17, replace=False)):
        batch = ws.gather(X, rows) if with_workspace else X[rows]
        loss, grad_W, grad_b = loss_and_grad(W, b, batch, labels[rows], input_scale=scale,
                                             weight_decay=weight_decay, label_smoothing=label_smoothing,
                                             out=ws)
        assert isinstance(loss, float)
        assert grad_W.dtype == dtype and grad_b.dtype == dtype
        assert grad_W.shape == (n_features, n_classes) and grad_b.shape == (n_classes,)
        exact_loss, exact_W, exact_b = reference.objective(X[rows] / (255.0 if raw else 1.0), labels[rows], W, b,
                                                 weight_decay=weight_decay, label_smoothing=label_smoothing)
        # The longest sums are the F=50-term logits and the B<=64-term gradient reductions:
        # within gamma_64 of the exact value each. Absolute error of a gradient entry is relative
        # to sum_i |s x_if| |G_ic| <= 2 max|s x| (each row of G has L1 norm <= 2 / B).
        tol = rounding_bound(dtype, 64)
        bound = 2 * np.abs(X[rows] * scale).max() + weight_decay * np.abs(W).max()
        assert loss == pytest.approx(exact_loss, rel=tol)
        np.testing.assert_allclose(grad_W, exact_W, rtol=tol, atol=tol * bound)
        np.testing.assert_allclose(grad_b, exact_b, rtol=tol, atol=tol * 2)


@pytest.mark.parametrize("gap", [30.0, 45.0, 200.0, 1e4])
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_row_far_below_the_others_stays_accurate(rng, dtype, gap):
    # Softmax is shift-invariant per row, so shifting the whole batch by one constant is valid,
    # but a row whose logits all lie ``gap`` below the batch's largest then underflows (exp(-200)
    # is 0 in float32) or keeps only ~gap * u of relative precision. An extra feature, ``gap`` in
    # row 0 and 0 elsewhere, with a weight of -1 for every class, moves row 0's logits down by
    # ``gap`` without changing its probabilities.
    n_rows, n_features, n_classes = 32, 20, 10
    X = rng.normal(size=(n_rows, n_features + 1)).astype(dtype)
    X[:, -1] = 0
    X[0, -1] = gap
    labels = rng.integers(0, n_classes, n_rows)
    W = (0.3 * rng.normal(size=(n_features + 1, n_classes))).astype(dtype)
    W[-1] = -1
    b = np.zeros(n_classes, dtype)
    loss, grad_W, grad_b = loss_and_grad(W, b, X, labels, label_smoothing=0.1)
    exact_loss, exact_W, exact_b = reference.objective(X, labels, W, b, label_smoothing=0.1)
    # As above, plus the row-0 logits' own rounding: |z| ~ gap, so their absolute error (and the
    # relative error of the shifted exponentials) is ~ gap u; rounding_bound(64) = 128 eps
    # covers gap <= 200 (the 1e4 case must take the per-row shift to be accurate).
    tol = rounding_bound(dtype, 64)
    assert np.isfinite(loss)
    assert loss == pytest.approx(exact_loss, rel=tol)
    np.testing.assert_allclose(grad_W, exact_W, rtol=tol, atol=tol * 2 * np.abs(X).max())
    np.testing.assert_allclose(grad_b, exact_b, rtol=tol, atol=tol * 2)


@pytest.mark.parametrize("with_workspace", [False, True], ids=["fresh", "out="])
def test_huge_float32_logits_give_the_exact_finite_loss(rng, with_workspace):
    # W = 10 N(0, 1) on pixels in [0, 1]: logits of several hundred, far above float32's exp
    # overflow at ~88.7. Without the max shift on the fast path the loss is inf or NaN.
    X = rng.random((256, 784)).astype(np.float32)
    labels = rng.integers(0, 10, 256)
    W = (10 * rng.standard_normal((784, 10))).astype(np.float32)
    b = np.zeros(10, np.float32)
    Z = X.astype(np.float64) @ W
    assert Z.max() > 200  # the premise: exp would overflow in float32
    out = Workspace(784, 10, 256, np.float32) if with_workspace else None
    loss, grad_W, grad_b = loss_and_grad(W, b, X, labels, out=out)
    exact_loss, exact_W, exact_b = reference.objective(X, labels, W, b)
    assert np.isfinite(loss) and exact_loss > 30  # hundreds of nats per row, yet finite
    # Logits are 784-term float32 sums of terms up to ~10: absolute error <= 784 u 10 ~ 5e-4
    # nats per row, on a loss of hundreds: relative 1e-5 is already loose.
    assert loss == pytest.approx(exact_loss, rel=1e-5)
    # Probabilities are almost one-hot; a row near a tie moves by <= 0.25 * 5e-4, over 256 rows.
    np.testing.assert_allclose(grad_b, exact_b, atol=1e-4)
    assert np.isfinite(grad_W).all()


def test_the_gradient_is_overwritten_not_accumulated(rng):
    X, labels, W, b = problem(rng, 32, 5, 3, np.float64)
    ws = Workspace(5, 3, 32, np.float64)
    first, grad_W, grad_b = loss_and_grad(W, b, X, labels, weight_decay=0.1, out=ws)
    kept = grad_W.copy(), grad_b.copy()
    second, grad_W, grad_b = loss_and_grad(W, b, X, labels, weight_decay=0.1, out=ws)
    assert first == second
    np.testing.assert_array_equal(grad_W, kept[0])
    np.testing.assert_array_equal(grad_b, kept[1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_integer_sample_weights_equal_repeated_rows(rng, dtype):
    X, labels, W, b = problem(rng, 20, 6, 4, dtype)
    counts = rng.integers(0, 4, 20)
    counts[0] = 1  # at least one row counts
    repeated = np.repeat(np.arange(20), counts)
    loss, grad_W, grad_b = loss_and_grad(W, b, X, labels, sample_weight=counts.astype(dtype),
                                         weight_decay=0.01, label_smoothing=0.1)
    exact_loss, exact_W, exact_b = reference.objective(X[repeated], labels[repeated], W, b,
                                             weight_decay=0.01, label_smoothing=0.1)
    tol = rounding_bound(dtype, 64)  # <= 60 repeated rows, 6-term logits
    assert loss == pytest.approx(exact_loss, rel=tol)
    np.testing.assert_allclose(grad_W, exact_W, rtol=tol, atol=tol * 2 * np.abs(X).max())
    np.testing.assert_allclose(grad_b, exact_b, rtol=tol, atol=tol * 2)


def test_fractional_sample_weights_follow_the_weighted_mean(rng):
    X, labels, W, b = problem(rng, 30, 6, 4, np.float64)
    weights = rng.random(30)
    loss, grad_W, grad_b = loss_and_grad(W, b, X, labels, sample_weight=weights)
    exact_loss, exact_W, exact_b = reference.objective(X, labels, W, b, sample_weight=weights)
    assert loss == pytest.approx(exact_loss, rel=1e-13)
    np.testing.assert_allclose(grad_W, exact_W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad_b, exact_b, rtol=1e-12, atol=1e-14)


def test_float32_input_allocates_no_float64_or_batch_sized_temporaries(rng):
    # A float64 computation cast back would allocate at least one float64 (B, F) copy: 2x X.
    X, labels, W, b = problem(rng, 256, 784, 10, np.float32)
    loss_and_grad(W, b, X, labels)  # warm up
    tracemalloc.start()
    try:
        loss, grad_W, grad_b = loss_and_grad(W, b, X, labels, label_smoothing=0.1, weight_decay=0.01)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert grad_W.dtype == grad_b.dtype == np.float32
    # Only (B, C), (F, C) and (B,) buffers: 10 + 10 + 1 floats per row/feature, ~3% of X.
    assert peak < X.nbytes // 4, peak
    ws = Workspace(784, 10, 256, np.float32)
    batch = ws.gather(X, np.arange(256))
    loss_and_grad(W, b, batch, labels, out=ws)
    tracemalloc.start()
    try:
        loss_and_grad(W, b, batch, labels, out=ws)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes // 50, peak  # with out=: only a few (B,) vectors


def test_gather_alternates_two_buffers_and_casts_raw_pixels_exactly(rng):
    X = rng.integers(0, 256, size=(40, 7)).astype(np.uint8)
    ws = Workspace(7, 3, 16, np.float32)
    first = ws.gather(X, np.arange(16))
    second = ws.gather(X, np.arange(16, 32))
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, X[:16].astype(np.float64))  # uint8 -> float is exact
    np.testing.assert_array_equal(second, X[16:32].astype(np.float64))
    assert first.dtype == np.float32


def test_a_batch_of_zero_weights_contributes_nothing_but_the_decay(rng):
    X, labels, W, b = problem(rng, 8, 5, 3, np.float64)
    loss, grad_W, grad_b = loss_and_grad(W, b, X, labels, sample_weight=np.zeros(8), weight_decay=0.1)
    assert loss == pytest.approx(0.05 * np.sum(W * W), rel=1e-14)  # (lambda / 2) ||W||^2 by hand
    np.testing.assert_allclose(grad_W, 0.1 * W, rtol=1e-14)
    np.testing.assert_array_equal(grad_b, 0.0)
