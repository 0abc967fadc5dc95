"""scratchlin.functional: hand-computed values, the seed notebook's numbers, error messages,
dtypes, and that no input is ever modified.

Expected values are worked by hand; where a number has many digits the comment shows the
formula it came from (evaluated with Python's ``math``, not with scratchlin).
"""
import math
import tracemalloc
import warnings

import numpy as np
import pytest
import reference

import scratchlin as sl
from scratchlin import functional as slf

FLOATS = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
ALL_FLOATS = FLOATS + [pytest.param(np.float16, id="float16")]

# Hand-computation tolerance: float64 results of a handful of operations on O(1)..O(1e3)
# numbers are within a few ulps, so rtol 1e-14 (~45 ulps) in float64; float32 within a few of
# its ulps, rtol 1e-6 (~17 ulps).
RTOL = {np.float32: 1e-6, np.float64: 1e-14}

LN2, LN3 = math.log(2), math.log(3)


# --------------------------------------------------------------------------------------------
# logsumexp


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("x, expected", [
    pytest.param([0.0, 0.0], LN2, id="two-zeros-is-ln2"),
    pytest.param([1.0, 2.0, 3.0], 3 + math.log(1 + math.exp(-1) + math.exp(-2)), id="1-2-3"),
    pytest.param([5.0], 5.0, id="single-element-is-itself"),
    pytest.param([0.0, LN2, LN3], math.log(6), id="ln(1+2+3)"),
    pytest.param([1000.0, 1000.0], 1000 + LN2, id="large-no-overflow"),
    pytest.param([-1000.0, -1000.0], -1000 + LN2, id="very-negative-no-underflow"),
    pytest.param([-np.inf, 0.0], 0.0, id="minus-inf-contributes-nothing"),
    pytest.param([-np.inf, -np.inf], -np.inf, id="all-minus-inf-is-minus-inf"),
    pytest.param([np.inf, 1.0], np.inf, id="plus-inf-is-plus-inf"),
])
def test_logsumexp_of_small_vectors_equals_hand_computed_value(x, expected, dtype):
    got = sl.logsumexp(np.array(x, dtype=dtype))
    assert got.dtype == dtype and got.shape == ()
    np.testing.assert_allclose(got, expected, rtol=RTOL[dtype])


def test_logsumexp_reduces_the_given_axis_and_keeps_it_on_request():
    x = np.array([[0.0, 0.0], [LN2, LN3]])  # columns: log(1 + 2) = ln 3, log(1 + 3) = ln 4
    np.testing.assert_allclose(sl.logsumexp(x, axis=0), [LN3, math.log(4)], rtol=1e-14)
    kept = sl.logsumexp(x, axis=0, keepdims=True)
    assert kept.shape == (1, 2)
    # rows: log(1 + 1) = ln 2, log(2 + 3) = ln 5
    np.testing.assert_allclose(sl.logsumexp(x, axis=-1, keepdims=True), [[LN2], [math.log(5)]],
                               rtol=1e-14)


# --------------------------------------------------------------------------------------------
# softmax, log_softmax and their backward


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("x, expected", [
    pytest.param([0.0, LN2, LN3], [1 / 6, 2 / 6, 3 / 6], id="exp-is-1-2-3"),
    pytest.param([7.0, 7.0, 7.0, 7.0], [0.25] * 4, id="uniform"),
    pytest.param([1000.0, 1000.0], [0.5, 0.5], id="large-no-overflow"),
    pytest.param([-np.inf, 0.0, -np.inf], [0.0, 1.0, 0.0], id="minus-inf-gets-zero"),
    pytest.param([0.0, 1e4], [0.0, 1.0], id="underflow-to-exact-one-hot"),  # e^-1e4 = 0
])
def test_softmax_equals_hand_computed_probabilities(x, expected, dtype):
    got = sl.softmax(np.array(x, dtype=dtype))
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=RTOL[dtype], atol=0)


def test_softmax_of_a_row_without_finite_logit_is_nan_like_torch():
    assert np.isnan(sl.softmax(np.array([-np.inf, -np.inf]))).all()


def test_softmax_normalises_along_the_given_axis():
    x = np.array([[0.0, 5.0], [LN3, 5.0]])  # column 0: e^0, e^ln3 = 1, 3 -> 1/4, 3/4
    np.testing.assert_allclose(sl.softmax(x, axis=0), [[0.25, 0.5], [0.75, 0.5]], rtol=1e-14)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("x, expected", [
    # log(k / 6) for exp(x) = 1, 2, 3
    pytest.param([0.0, LN2, LN3], [-math.log(6), math.log(2 / 6), math.log(3 / 6)], id="1-2-3"),
    # log(softmax) would be log(0) = -inf here; x - logsumexp(x) = -1e4 exactly
    pytest.param([0.0, 1e4], [-1e4, 0.0], id="finite-where-log-softmax-underflows"),
    pytest.param([-np.inf, 0.0], [-np.inf, 0.0], id="minus-inf-stays-minus-inf"),
])
def test_log_softmax_equals_hand_computed_values(x, expected, dtype):
    got = sl.log_softmax(np.array(x, dtype=dtype))
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=RTOL[dtype], atol=0)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("x", [
    pytest.param([np.inf, 0.0], id="plus-inf"),
    pytest.param([0.0, np.inf, -np.inf], id="plus-inf-and-minus-inf"),
    pytest.param([-np.inf, -np.inf], id="all-minus-inf"),
])
def test_log_softmax_of_a_slice_without_finite_max_is_nan_throughout_like_torch(x, dtype):
    # torch 2.13: log_softmax([inf, 0]) = [nan, nan] (and so is log(softmax)); a shift guarded
    # as logsumexp's would give [nan, -inf]. The slice along the other axis stays finite.
    x = np.array(x, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NaN is the documented answer: no warning
        assert np.isnan(sl.log_softmax(x)).all()
        both = sl.log_softmax(np.stack([x, np.zeros_like(x)]), axis=1)
    assert np.isnan(both[0]).all()
    np.testing.assert_allclose(both[1], -math.log(x.size), rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_backward_equals_hand_computed_jacobian_product(dtype):
    # p = (1/2, 1/2), g = (1, 0): p * (g - g.p) = (1/2 * 1/2, 1/2 * -1/2)
    probs, g = np.array([0.5, 0.5], dtype), np.array([1.0, 0.0], dtype)
    np.testing.assert_allclose(sl.softmax_backward(g, probs), [0.25, -0.25], rtol=RTOL[dtype])
    # p = (1/6, 2/6, 3/6), g = (0, 0, 6): g.p = 3, p * (g - 3) = (-1/2, -1, 3/2)
    probs, g = np.array([1, 2, 3], dtype) / 6, np.array([0, 0, 6], dtype)
    np.testing.assert_allclose(sl.softmax_backward(g, probs), [-0.5, -1.0, 1.5], rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_log_softmax_backward_equals_hand_computed_values(dtype):
    # p = (1/4, 3/4), g = (1, 1): g - p * sum(g) = (1 - 1/2, 1 - 3/2)
    log_p, g = np.log(np.array([0.25, 0.75], dtype)), np.array([1.0, 1.0], dtype)
    np.testing.assert_allclose(sl.log_softmax_backward(g, log_p), [0.5, -0.5], rtol=RTOL[dtype])


def test_backward_functions_use_the_given_axis():
    probs = np.array([[0.5, 0.25], [0.5, 0.75]])  # columns are distributions
    g = np.array([[1.0, 0.0], [0.0, 0.0]])
    # column 0: p * (g - g.p) = (0.5 * 0.5, 0.5 * -0.5); column 1: g = 0 -> 0
    np.testing.assert_allclose(sl.softmax_backward(g, probs, axis=0), [[0.25, 0], [-0.25, 0]])
    # column 0: g - p * sum(g) = (1 - 0.5, 0 - 0.5); column 1: 0
    np.testing.assert_allclose(sl.log_softmax_backward(g, np.log(probs), axis=0),
                               [[0.5, 0], [-0.5, 0]])


# --------------------------------------------------------------------------------------------
# one_hot


def test_one_hot_puts_a_single_one_at_each_label():
    got = sl.one_hot(np.array([2, 0, 1, 2]), 4)
    expected = np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.float32


def test_one_hot_infers_num_classes_as_max_label_plus_one():
    assert sl.one_hot(np.array([0, 3])).shape == (2, 4)


@pytest.mark.parametrize("dtype", ALL_FLOATS)
def test_one_hot_returns_the_requested_dtype(dtype):
    assert sl.one_hot(np.array([1]), 3, dtype=dtype).dtype == dtype


def test_one_hot_of_a_2d_label_array_adds_a_trailing_class_axis():
    got = sl.one_hot(np.array([[0, 1], [1, 1]], dtype=np.uint8), 2)
    np.testing.assert_array_equal(got, [[[1, 0], [0, 1]], [[0, 1], [0, 1]]])


def test_one_hot_of_no_labels_is_an_empty_matrix():
    assert sl.one_hot(np.array([], dtype=np.int64), 3).shape == (0, 3)


# --------------------------------------------------------------------------------------------
# cross_entropy: a 2x3 example worked by hand
#
# logits [[1, 2, 3], [1, 1, 1]], labels [2, 0]:
#   row 0: lse = 3 + log(1 + e^-1 + e^-2) = 3.4076059644443806, loss l0 = lse - 3
#   row 1: uniform logits, loss l1 = log 3

LOGITS_2x3 = [[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]
LABELS_2x3 = [2, 0]
L0 = math.log(1 + math.exp(-1) + math.exp(-2))  # 0.4076059644443806
L1 = LN3  # 1.0986122886681098
P0 = [math.exp(k - 3 - L0) for k in (1, 2, 3)]  # softmax of row 0: 0.0900, 0.2447, 0.6652


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("as_one_hot", [False, True], ids=["index-target", "one-hot-target"])
@pytest.mark.parametrize("reduction, expected", [
    pytest.param("mean", (L0 + L1) / 2, id="mean"),  # 0.7531091265562452
    pytest.param("sum", L0 + L1, id="sum"),  # 1.5062182531124904
    pytest.param("none", [L0, L1], id="none"),
])
def test_cross_entropy_of_2x3_example_equals_hand_computed_loss(reduction, expected, as_one_hot, dtype):
    logits = np.array(LOGITS_2x3, dtype)
    target = np.eye(3, dtype=dtype)[LABELS_2x3] if as_one_hot else np.array(LABELS_2x3)
    got = sl.cross_entropy(logits, target, reduction=reduction)
    assert got.dtype == dtype and got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("options, expected", [
    # weight (1, 2, 3): rows weigh w[2] = 3 and w[0] = 1; mean divides by 3 + 1
    pytest.param(dict(weight=[1.0, 2.0, 3.0]), (3 * L0 + 1 * L1) / 4, id="weighted-mean"),
    pytest.param(dict(weight=[1.0, 2.0, 3.0], reduction="sum"), 3 * L0 + L1, id="weighted-sum"),
    # smoothing eps: row loss = (1 - eps) * l + eps * mean_c(lse - x_c) = l + eps * (x_y - mean(x))
    # row 0: l0 + 0.1 * (3 - 2); row 1: uniform logits, still log 3
    pytest.param(dict(label_smoothing=0.1, reduction="none"), [L0 + 0.1, L1], id="smoothing-0.1"),
    # smoothing 1: target uniform; row 0: mean_c(lse - x_c) = lse - 2 = l0 + 1
    pytest.param(dict(label_smoothing=1.0, reduction="none"), [L0 + 1, L1], id="smoothing-1"),
])
def test_cross_entropy_options_on_2x3_example_equal_hand_computed_loss(options, expected, dtype):
    options = {k: (np.array(v, dtype) if k == "weight" else v) for k, v in options.items()}
    got = sl.cross_entropy(np.array(LOGITS_2x3, dtype), np.array(LABELS_2x3), **options)
    np.testing.assert_allclose(got, expected, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_ignored_row_counts_neither_in_the_loss_nor_in_the_mean(dtype):
    logits = np.array(LOGITS_2x3, dtype)
    target = np.array([2, -100])
    np.testing.assert_allclose(sl.cross_entropy(logits, target), L0, rtol=RTOL[dtype])
    np.testing.assert_allclose(sl.cross_entropy(logits, target, reduction="none"), [L0, 0.0],
                               rtol=RTOL[dtype])
    # ignore_index may be a real class: ignoring class 0 drops row 1
    np.testing.assert_allclose(sl.cross_entropy(logits, np.array(LABELS_2x3), ignore_index=0),
                               L0, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_cross_entropy_backward_of_2x3_example_is_softmax_minus_one_hot_over_n(dtype):
    logits = np.array(LOGITS_2x3, dtype)
    expected = np.array([[P0[0], P0[1], P0[2] - 1], [1 / 3 - 1, 1 / 3, 1 / 3]]) / 2
    got = sl.cross_entropy_backward(np.array(1.0, dtype), logits, np.array(LABELS_2x3))
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=RTOL[dtype], atol=RTOL[dtype])
    loss, grad = sl.cross_entropy_and_grad(logits, np.array(LABELS_2x3))
    np.testing.assert_allclose(loss, (L0 + L1) / 2, rtol=RTOL[dtype])
    np.testing.assert_allclose(grad, expected, rtol=RTOL[dtype], atol=RTOL[dtype])


def test_cross_entropy_backward_scales_rows_by_grad_output_for_reduction_none():
    got = sl.cross_entropy_backward(np.array([2.0, 0.0]), np.array(LOGITS_2x3),
                                    np.array(LABELS_2x3), reduction="none")
    np.testing.assert_allclose(got, [[2 * P0[0], 2 * P0[1], 2 * (P0[2] - 1)], [0, 0, 0]],
                               rtol=1e-14)


# --------------------------------------------------------------------------------------------
# the seed notebook's printed numbers (In [59], [60], [68], [76], [83]/[84])

NOTEBOOK_LOGITS = np.array([  # In [59], printed to 4 decimals
    [-2.1683, 1.6978, -5.5113, 17.6847, -6.6208, -18.6775, 5.6941, -10.6070, 9.5219, 11.2406],
    [-3.7293, 0.1569, -18.7178, 14.7960, 14.3775, -15.4994, -0.0481, -10.9189, -15.2758, -12.3799],
    [18.6178, 0.4904, -2.3751, -4.0934, 0.5952, -10.6828, 3.7636, -4.7998, -0.8878, 2.3721],
    [-3.6464, 4.4262, -4.0765, 3.2682, -4.5175, -0.9030, 6.7660, -1.0203, -3.4345, 0.7512],
    [5.3913, -2.9702, -22.2613, 15.6960, -5.6496, -2.6898, 4.6293, -9.6786, 1.3551, -2.6823],
    [-1.5382, -8.6193, -12.2209, 2.8339, -5.1867, -1.9191, 9.0326, -21.1009, 2.6512, 8.9355],
    [8.0742, 3.6382, -7.3217, 8.0356, -7.2478, 0.7622, -5.5060, -21.6653, 1.0987, 5.7574],
    [1.5389, -5.5820, -12.7511, 11.4416, -1.9076, -7.4371, 3.9595, -15.7578, -3.0995, 18.5088],
])
NOTEBOOK_LABELS = np.array([5, 0, 4, 1, 9, 2, 1, 3], dtype=np.uint8)  # In [76]; MNIST's uint8
NOTEBOOK_ARGMAX = [3, 3, 0, 6, 3, 6, 0, 9]  # In [60]
NOTEBOOK_Q_ROWS_0_TO_6 = np.array([  # In [68], softmax printed to 5 significant digits
    [2.3831e-09, 1.1380e-07, 8.4191e-11, 9.9812e-01, 2.7760e-11, 1.6116e-16, 6.1907e-06, 5.1550e-13, 2.8453e-04, 1.5868e-03],  # noqa: E501 (the printed row)
    [5.4323e-09, 2.6468e-07, 1.6810e-15, 6.0311e-01, 3.9689e-01, 4.2004e-14, 2.1563e-07, 4.0979e-12, 5.2528e-14, 9.5074e-13],  # noqa: E501 (the printed row)
    [1.0000e+00, 1.3407e-08, 7.6360e-10, 1.3698e-10, 1.4889e-08, 1.8832e-13, 3.5390e-07, 6.7585e-11, 3.3792e-09, 8.8018e-08],  # noqa: E501 (the printed row)
    [2.6599e-05, 8.5258e-02, 1.7302e-05, 2.6783e-02, 1.1131e-05, 4.1335e-04, 8.8493e-01, 3.6760e-04, 3.2878e-05, 2.1613e-03],  # noqa: E501 (the printed row)
    [3.3475e-05, 7.8224e-09, 3.2760e-17, 9.9995e-01, 5.3667e-10, 1.0354e-08, 1.5624e-05, 9.5487e-12, 5.9129e-07, 1.0433e-08],  # noqa: E501 (the printed row)
    [1.3423e-05, 1.1287e-08, 3.0789e-10, 1.0632e-03, 3.4942e-07, 9.1712e-06, 5.2324e-01, 4.2841e-14, 8.8567e-04, 4.7479e-01],  # noqa: E501 (the printed row)
    [4.8212e-01, 5.7096e-03, 9.9265e-08, 4.6387e-01, 1.0688e-07, 3.2181e-04, 6.0999e-07, 5.8538e-14, 4.5053e-04, 4.7529e-02],  # noqa: E501 (the printed row)
])

# Why 16.0491 only to ~1.5e-4: every logit was rounded to 4 decimals, |dz| <= 5e-5. The mean
# loss changes by sum_ij dL/dz_ij dz_ij, and each row of dL/dz = (softmax - onehot) / 8 has
# l1-norm <= 2 / 8, so |dL| <= 8 rows * 2/8 * 5e-5 = 1e-4. The printed 16.0491 is itself rounded
# (+-5e-5), and float32 arithmetic on a loss of 16 adds ~1e-5. Total <= 1.6e-4; we use 2e-4.
NOTEBOOK_LOSS, NOTEBOOK_LOSS_ATOL = 16.0491, 2e-4


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("as_one_hot", [False, True], ids=["index-target", "one-hot-target"])
def test_notebook_logits_give_the_notebook_loss_16_0491(as_one_hot, dtype):
    logits = NOTEBOOK_LOGITS.astype(dtype)
    target = sl.one_hot(NOTEBOOK_LABELS, 10, dtype=dtype) if as_one_hot else NOTEBOOK_LABELS
    loss = sl.cross_entropy(logits, target)
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss, NOTEBOOK_LOSS, rtol=0, atol=NOTEBOOK_LOSS_ATOL)


def test_notebook_argmax_of_softmax_and_log_softmax_is_the_printed_answer():
    np.testing.assert_array_equal(np.argmax(sl.softmax(NOTEBOOK_LOGITS), axis=1), NOTEBOOK_ARGMAX)
    np.testing.assert_array_equal(np.argmax(sl.log_softmax(NOTEBOOK_LOGITS), axis=1), NOTEBOOK_ARGMAX)


@pytest.mark.parametrize("dtype", FLOATS)
def test_notebook_softmax_matches_the_printed_probabilities(dtype):
    # Printed to 5 significant digits: relative error <= 5e-5. The 4-decimal logits move
    # log q_j by dz_j - sum_k q_k dz_k, at most 1e-4. float32's own rounding (~u * |z| ~ 1e-6)
    # is negligible. So rtol = 1.5e-4 + margin = 2e-4.
    q = sl.softmax(NOTEBOOK_LOGITS.astype(dtype))[:7]
    np.testing.assert_allclose(q, NOTEBOOK_Q_ROWS_0_TO_6, rtol=2e-4, atol=0)


# --------------------------------------------------------------------------------------------
# linear


@pytest.mark.parametrize("dtype", FLOATS)
def test_linear_is_x_at_W_plus_b_by_hand(dtype):
    x = np.array([[1, 2], [3, 4]], dtype)
    W = np.array([[1, 0, -1], [2, 1, 0]], dtype)  # (n_features=2, n_classes=3)
    b = np.array([0.5, -0.5, 0], dtype)
    # row 0: (1 + 4, 0 + 2, -1 + 0) + b; row 1: (3 + 8, 0 + 4, -3 + 0) + b
    np.testing.assert_array_equal(sl.linear(x, W, b), [[5.5, 1.5, -1], [11.5, 3.5, -3]])
    np.testing.assert_array_equal(sl.linear(x, W), [[5, 2, -1], [11, 4, -3]])
    np.testing.assert_array_equal(sl.linear(x[0], W, b), [5.5, 1.5, -1])


@pytest.mark.parametrize("dtype", FLOATS)
def test_linear_backward_by_hand(dtype):
    x = np.array([[1, 2], [3, 4]], dtype)
    W = np.array([[1, 0, -1], [2, 1, 0]], dtype)
    g = np.array([[1, 0, 0], [0, 0, 1]], dtype)
    dx, dW, db = sl.linear_backward(g, x, W)
    np.testing.assert_array_equal(dx, [[1, 2], [-1, 0]])  # g @ W.T: rows W[:, 0], W[:, 2]
    np.testing.assert_array_equal(dW, [[1, 0, 3], [2, 0, 4]])  # x.T @ g
    np.testing.assert_array_equal(db, [1, 0, 1])  # column sums of g
    dx1, dW1, db1 = sl.linear_backward(g[0], x[0], W)  # a single sample
    np.testing.assert_array_equal(dx1, [1, 2])
    np.testing.assert_array_equal(dW1, [[1, 0, 0], [2, 0, 0]])
    np.testing.assert_array_equal(db1, [1, 0, 0])


# --------------------------------------------------------------------------------------------
# 0 * log 0 = 0 and the all-ignored mean


@pytest.mark.parametrize("dtype", FLOATS)
def test_zero_target_probability_on_minus_inf_logit_gives_finite_loss_and_gradient(dtype):
    logits = np.array([[0.0, -np.inf, 1.0]], dtype)
    target = np.array([[0.5, 0.0, 0.5]], dtype)
    # lse = log(1 + e); loss = 0.5 (lse - 0) + 0.5 (lse - 1) + 0 * (the -inf entry, limit 0)
    lse = math.log1p(math.e)
    p = [1 / (1 + math.e), 0.0, math.e / (1 + math.e)]
    loss, grad = sl.cross_entropy_and_grad(logits, target)
    np.testing.assert_allclose(loss, lse - 0.5, rtol=RTOL[dtype])
    np.testing.assert_allclose(grad, [[p[0] - 0.5, 0.0, p[2] - 0.5]], rtol=RTOL[dtype])
    np.testing.assert_allclose(sl.cross_entropy(logits, target), lse - 0.5, rtol=RTOL[dtype])


def test_zero_weight_class_with_minus_inf_logit_keeps_a_smoothed_loss_finite():
    # class 1 has logit -inf and weight 0: label smoothing's 0 * log 0 term is 0, not NaN.
    logits = np.array([[0.0, -np.inf, 1.0]])
    lse = math.log1p(math.e)
    # 0.9 * w2 * (lse - 1) + 0.1 / 3 * (w0 * (lse - 0) + w1 * inf-term (0) + w2 * (lse - 1)),
    # divided by the label weight w2 = 1
    expected = 0.9 * (lse - 1) + 0.1 / 3 * (lse + lse - 1)
    p0, p2 = 1 / (1 + math.e), math.e / (1 + math.e)
    # d/dz_c = p_c * sum_k T_k - T_c with T = (0.1/3, 0, 0.9 + 0.1/3), sum_k T_k = 0.9 + 0.2/3
    total = 0.9 + 0.2 / 3
    loss, grad = sl.cross_entropy_and_grad(logits, np.array([2]), weight=np.array([1.0, 0.0, 1.0]),
                                           label_smoothing=0.1)
    np.testing.assert_allclose(loss, expected, rtol=1e-14)
    np.testing.assert_allclose(grad, [[p0 * total - 0.1 / 3, 0.0, p2 * total - 0.9 - 0.1 / 3]],
                               rtol=1e-14)


@pytest.mark.parametrize("case", [
    pytest.param(dict(target=[[0.5, 0.0, 0.5]]), id="probability-target"),
    pytest.param(dict(target=[2], weight=[1.0, 0.0, 1.0], label_smoothing=0.1),
                 id="zero-weight-class-with-smoothing"),
])
def test_zero_times_log_zero_path_emits_no_runtime_warning(case):
    # The documented limit 0 * log 0 = 0 is a supported input, not an accident: it must not
    # emit "invalid value encountered in multiply" (which fails runs under -W error).
    logits = np.array([[0.0, -np.inf, 1.0]])
    options = {k: np.array(v) if isinstance(v, list) else v for k, v in case.items()}
    target = options.pop("target")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = sl.cross_entropy(logits, target, **options)
        sl.cross_entropy_backward(1.0, logits, target, **options)
        sl.cross_entropy_and_grad(logits, target, **options)
    assert np.isfinite(loss)


def test_mean_over_all_ignored_targets_is_nan_with_zero_gradient():
    logits, target = np.array(LOGITS_2x3), np.array([-100, -100])
    assert np.isnan(sl.cross_entropy(logits, target))
    np.testing.assert_array_equal(sl.cross_entropy_backward(1.0, logits, target), np.zeros((2, 3)))
    loss, grad = sl.cross_entropy_and_grad(logits, target)
    assert np.isnan(loss)
    np.testing.assert_array_equal(grad, np.zeros((2, 3)))
    # sum and none over ignored rows are plain zeros
    assert sl.cross_entropy(logits, target, reduction="sum") == 0
    np.testing.assert_array_equal(sl.cross_entropy(logits, target, reduction="none"), [0, 0])


# --------------------------------------------------------------------------------------------
# torch's wider input surface: 0-d inputs, empty arrays, tuples of axes, N-d cross-entropy


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", [0, -1])
def test_a_0d_input_is_a_slice_of_one_element(dtype, axis):
    x = dtype(2.5)
    # softmax of one element is 1, its log 0, logsumexp the element itself
    for got, expected in [(sl.softmax(x, axis), 1.0), (sl.log_softmax(x, axis), 0.0),
                          (sl.logsumexp(x, axis), 2.5), (sl.logsumexp(x, (axis,), keepdims=True), 2.5)]:
        assert got.shape == () and got.dtype == dtype
        assert got == expected
    g = np.array(3.0, dtype)
    # p = 1: p * (g - g p) = 0; g - p * g = 0; d lse / dx = g * e^(x - x) = g
    assert sl.softmax_backward(g, np.array(1.0, dtype), axis) == 0
    assert sl.log_softmax_backward(g, np.array(0.0, dtype), axis) == 0
    assert slf.logsumexp_backward(g, x, axis) == 3.0


@pytest.mark.parametrize("dtype", FLOATS)
def test_empty_arrays_give_empty_results_and_an_empty_logsumexp_is_minus_inf(dtype):
    x = np.zeros((5, 0, 0), dtype)
    for got in (sl.softmax(x), sl.log_softmax(x, axis=1), sl.softmax_backward(x, x), sl.log_softmax_backward(x, x)):
        assert got.shape == (5, 0, 0) and got.dtype == dtype
    # the log of an empty sum (0) is -inf, one per remaining position
    got = sl.logsumexp(np.zeros((2, 0), dtype), axis=1)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, [-np.inf, -np.inf])
    assert sl.logsumexp(np.zeros((0, 3), dtype), axis=1).shape == (0,)
    assert sl.logsumexp(np.zeros((2, 0), dtype), axis=1, keepdims=True).shape == (2, 1)
    assert slf.logsumexp_backward(np.zeros(2, dtype), np.zeros((2, 0), dtype), axis=1).shape == (2, 0)


@pytest.mark.parametrize("dtype", FLOATS)
def test_logsumexp_over_a_tuple_of_axes_sums_every_named_axis(dtype):
    x = np.array([[0.0, LN2], [LN3, 0.0]], dtype)  # exp: 1, 2, 3, 1 -> sum 7
    for axis in [(0, 1), (1, -2), None]:
        got = sl.logsumexp(x, axis=axis)
        assert got.shape == () and got.dtype == dtype
        np.testing.assert_allclose(got, math.log(7), rtol=RTOL[dtype])
    assert sl.logsumexp(x, axis=(0, 1), keepdims=True).shape == (1, 1)
    # zeros of shape (2, 3, 4) over axes 0 and 2: log(2 * 4) at each of the 3 middle positions
    z = np.zeros((2, 3, 4), dtype)
    np.testing.assert_allclose(sl.logsumexp(z, axis=(0, -1)), [math.log(8)] * 3, rtol=RTOL[dtype])
    # its gradient spreads g / 8 over the 8 entries of each slice
    grad = slf.logsumexp_backward(np.array([8.0, 16.0, 0.0], dtype), z, axis=(0, -1))
    assert grad.shape == z.shape and grad.dtype == dtype
    np.testing.assert_allclose(grad[:, 0, :], 1.0, rtol=RTOL[dtype])
    np.testing.assert_allclose(grad[:, 1, :], 2.0, rtol=RTOL[dtype])
    np.testing.assert_array_equal(grad[:, 2, :], 0.0)


def test_one_hot_takes_torchs_minus_one_for_inferred_classes_and_a_0d_label():
    np.testing.assert_array_equal(sl.one_hot(np.array([0, 2]), -1), [[1, 0, 0], [0, 0, 1]])
    got = sl.one_hot(np.array(1), 3, dtype=np.int64)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, [0, 1, 0])


# The 2x3 example with its two rows as two positions of one image: logits (1, C=3, 2).
LOGITS_1x3x2 = np.array(LOGITS_2x3).T[None]  # [0, :, 0] = [1, 2, 3], [0, :, 1] = [1, 1, 1]
LABELS_1x2 = np.array([LABELS_2x3])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("as_one_hot", [False, True], ids=["index-target", "probability-target"])
def test_cross_entropy_of_nd_logits_takes_axis_1_as_the_classes(as_one_hot, dtype):
    logits = LOGITS_1x3x2.astype(dtype)
    target = np.moveaxis(np.eye(3, dtype=dtype)[LABELS_1x2], -1, 1) if as_one_hot else LABELS_1x2
    none = sl.cross_entropy(logits, target, reduction="none")
    assert none.shape == (1, 2) and none.dtype == dtype
    np.testing.assert_allclose(none, [[L0, L1]], rtol=RTOL[dtype])
    np.testing.assert_allclose(sl.cross_entropy(logits, target), (L0 + L1) / 2, rtol=RTOL[dtype])
    # the gradient of the mean: (softmax - onehot) / 2 at each position, along axis 1
    expected = np.array([[P0[0], 1 / 3 - 1], [P0[1], 1 / 3], [P0[2] - 1, 1 / 3]])[None] / 2
    for grad in (sl.cross_entropy_backward(1.0, logits, target), sl.cross_entropy_and_grad(logits, target)[1]):
        assert grad.shape == (1, 3, 2) and grad.dtype == dtype
        np.testing.assert_allclose(grad, expected, rtol=RTOL[dtype], atol=RTOL[dtype])
    # reduction="none": one upstream value per position
    grad = sl.cross_entropy_backward(np.array([[2.0, 0.0]], dtype), logits, target, reduction="none")
    np.testing.assert_allclose(grad, expected * [[[4, 0]]], rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_cross_entropy_of_one_unbatched_sample_is_a_0d_loss(dtype):
    logits = np.array(LOGITS_2x3[0], dtype)  # (C,) logits, label 2
    loss = sl.cross_entropy(logits, np.array(2), reduction="none")
    assert loss.shape == () and loss.dtype == dtype
    np.testing.assert_allclose(loss, L0, rtol=RTOL[dtype])
    grad = sl.cross_entropy_backward(1.0, logits, np.array(2))
    np.testing.assert_allclose(grad, [P0[0], P0[1], P0[2] - 1], rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_a_negative_class_weight_is_a_signed_weighted_sum(dtype):
    logits, weight = np.array(LOGITS_2x3, dtype), np.array([1.0, -2.0, 3.0], dtype)
    labels = np.array([1, 0])  # row 0's label 1 has weight -2: loss lse - 2 = L0 + 1
    got = sl.cross_entropy(logits, labels, weight=weight, reduction="sum")
    np.testing.assert_allclose(got, -2 * (L0 + 1) + 1 * L1, rtol=RTOL[dtype])
    np.testing.assert_allclose(sl.cross_entropy(logits, labels, weight=weight, reduction="none"),
                               [-2 * (L0 + 1), L1], rtol=RTOL[dtype])
    # d/dz of w_y (lse - z_y) = w_y (p - onehot): the sign of the weight flips row 0's step
    expected = [[-2 * P0[0], -2 * (P0[1] - 1), -2 * P0[2]], [1 / 3 - 1, 1 / 3, 1 / 3]]
    np.testing.assert_allclose(sl.cross_entropy_backward(1.0, logits, labels, weight=weight, reduction="sum"),
                               expected, rtol=RTOL[dtype], atol=RTOL[dtype])
    # probability targets: the mean divides by N = 2 whatever the weights
    one_hot = np.eye(3, dtype=dtype)[labels]
    np.testing.assert_allclose(sl.cross_entropy(logits, one_hot, weight=weight),
                               (-2 * (L0 + 1) + L1) / 2, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_cross_entropy_target_backward_is_minus_the_log_probabilities(dtype):
    logits = np.array(LOGITS_2x3, dtype)
    target = np.eye(3, dtype=dtype)[LABELS_2x3]
    # -log p: row 0 lse - (1, 2, 3) = L0 + (2, 1, 0); row 1 log 3; the mean halves it
    minus_log_p = np.array([[L0 + 2, L0 + 1, L0], [L1, L1, L1]])
    got = slf.cross_entropy_target_backward(1.0, logits, target)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, minus_log_p / 2, rtol=RTOL[dtype])
    # smoothing scales the target by (1 - eps); weights scale each class; "none" each row
    got = slf.cross_entropy_target_backward(np.array([1.0, 3.0], dtype), logits, target, reduction="none",
                                            weight=np.array([1.0, 2.0, 0.0], dtype), label_smoothing=0.5)
    np.testing.assert_allclose(got, 0.5 * minus_log_p * [[1, 2, 0]] * [[1], [3]], rtol=RTOL[dtype])
    # N-d: the gradient comes back in the logits' layout
    nd = slf.cross_entropy_target_backward(1.0, LOGITS_1x3x2.astype(dtype), target.T[None].copy())
    np.testing.assert_allclose(nd, minus_log_p.T[None] / 2, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_linear_maps_the_last_axis_of_an_nd_input(dtype):
    x = np.arange(8, dtype=dtype).reshape(2, 2, 2)  # four feature rows (0, 1), (2, 3), ...
    W = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], dtype)  # z = (x0, x1, x0 + x1)
    got = sl.linear(x, W)
    assert got.shape == (2, 2, 3) and got.dtype == dtype
    np.testing.assert_array_equal(got[1, 0], [4, 5, 9])
    dx, dW, db = sl.linear_backward(np.ones((2, 2, 3), dtype), x, W)
    assert dx.shape == x.shape
    # dW = sum over the 4 rows of x^T G with G = 1: column sums of x, (0+2+4+6, 1+3+5+7)
    np.testing.assert_array_equal(dW, [[12, 12, 12], [16, 16, 16]])
    np.testing.assert_array_equal(db, [4, 4, 4])
    np.testing.assert_array_equal(dx[0, 1], [2, 2])  # G W^T: row sums of W


# --------------------------------------------------------------------------------------------
# error messages


def _ce(**kw):
    """cross_entropy on a valid (2, 3) problem with the keyword arguments ``kw`` replaced."""
    args = {"logits": np.zeros((2, 3)), "target": np.array([0, 1]), **kw}
    return lambda: sl.cross_entropy(**args)


ERRORS = [
    # labels out of range: which label, where, and the valid range
    pytest.param(_ce(target=np.array([0, 3])), ValueError,
                 r"target holds class index 3 at position 1; expected indices in \[0, 2\] or ignore_index=-100",
                 id="label-too-large"),
    pytest.param(_ce(target=np.array([-1, 0])), ValueError,
                 r"target holds class index -1 at position 0; expected indices in \[0, 2\]",
                 id="label-negative"),
    pytest.param(lambda: sl.one_hot(np.array([0, 5]), 3), ValueError,
                 r"labels holds class index 5 at position 1; expected indices in \[0, 2\]",
                 id="one-hot-label-too-large"),
    pytest.param(lambda: sl.one_hot(np.array([-2, -1])), ValueError,
                 r"labels holds class index -2 at position 0",
                 id="one-hot-negative-labels-inferred-classes"),
    pytest.param(lambda: sl.one_hot(np.array([0.0, 1.0])), TypeError,
                 r"labels must hold integer class indices, got dtype float64", id="one-hot-float-labels"),
    pytest.param(lambda: sl.one_hot(np.array([], dtype=np.int64)), ValueError,
                 r"num_classes must be given when labels is empty", id="one-hot-empty-no-classes"),
    # batch sizes
    pytest.param(_ce(target=np.array([0, 1, 2])), ValueError,
                 r"target must have one label per row of logits \(2\), got 3", id="batch-size-differs"),
    pytest.param(_ce(target=np.ones((2, 4)) / 4), ValueError,
                 r"target \(class probabilities\) must have the shape of logits \(2, 3\), got \(2, 4\)",
                 id="probability-target-shape-differs"),
    pytest.param(_ce(logits=np.zeros((2, 3, 4)), target=np.zeros((2, 5), np.int64)), ValueError,
                 r"target must be class indices of shape \(2, 4\) or class probabilities of the logits' "
                 r"shape \(2, 3, 4\) \(the class axis is 1\), got shape \(2, 5\)", id="nd-target-shape"),
    pytest.param(_ce(logits=np.zeros((2, 3, 4)), target=np.zeros((2, 4))), TypeError,
                 r"a target of shape \(2, 4\) must hold integer class indices, got dtype float64",
                 id="nd-float-index-target"),
    pytest.param(_ce(logits=np.zeros((2, 3, 4)), target=np.full((2, 4), 3)), ValueError,
                 r"target holds class index 3 at position 0; expected indices in \[0, 2\]", id="nd-label-too-large"),
    pytest.param(_ce(logits=np.float64(1.0)), ValueError,
                 r"logits must have a class axis: shape \(C,\), \(N, C\) or \(N, C, d1, \.\.\., dk\), got a 0-d",
                 id="logits-0d"),
    pytest.param(lambda: sl.cross_entropy_backward(np.zeros(3), np.zeros((2, 3, 4)), np.zeros((2, 4), np.int64),
                                                   reduction="none"), ValueError,
                 r"grad_output must have shape \(2, 4\) for reduction='none', got \(3,\)", id="nd-grad-output-shape"),
    pytest.param(lambda: slf.cross_entropy_target_backward(1.0, np.zeros((2, 3)), np.array([0, 1])), TypeError,
                 r"class-index targets have no gradient \(they are integers\)", id="target-backward-of-indices"),
    pytest.param(lambda: sl.linear(np.float64(1.0), np.zeros((1, 2))), ValueError,
                 r"x must have a feature axis: shape \(F,\), \(N, F\) or \(\.\.\., F\), got a 0-d", id="linear-0d"),
    pytest.param(_ce(target=np.zeros((2, 3, 1))), ValueError,
                 r"target must be class indices of shape \(N,\) or class probabilities of shape \(N, C\), "
                 r"got shape \(2, 3, 1\)",
                 id="target-3d"),
    # target kinds
    pytest.param(_ce(target=np.array([0.0, 1.0])), TypeError,
                 r"a 1-D target must hold integer class indices, got dtype float64; "
                 r"convert with target\.astype\(np\.int64\)",
                 id="float-index-target"),
    pytest.param(_ce(target=np.array([[0.5, 0.5, 0.0], [-0.5, 1.0, 0.5]])), ValueError,
                 r"target probabilities must be non-negative, got minimum -0\.5", id="negative-probability"),
    pytest.param(_ce(target=np.eye(3)[[0, 1]], ignore_index=1), ValueError,
                 r"ignore_index=1 is only supported with class-index targets, not with class-probability targets",
                 id="ignore-index-with-probability-target"),
    # weight
    pytest.param(_ce(weight=np.ones(4)), ValueError,
                 r"weight must have one entry per class \(3\), got shape \(4,\)", id="weight-length"),
    pytest.param(_ce(weight=np.array([1.0, -1.0, 1.0])), ValueError,
                 r"weight holds a negative entry \(-1\.0 for class 1\), and reduction='mean' with "
                 r"class-index targets divides by the sum of the targets' weights, .*use reduction='sum' "
                 r"or 'none'", id="weight-negative-in-a-mean"),
    pytest.param(_ce(weight=np.array([1.0, np.nan, 1.0])), ValueError,
                 r"weight must be finite; it holds 1 NaN/inf value\(s\), first at index \(1,\)",
                 id="weight-nan"),
    # reduction
    pytest.param(_ce(reduction="avg"), ValueError,
                 r"reduction must be one of 'mean', 'sum', 'none', got 'avg'", id="unknown-reduction"),
    pytest.param(lambda: sl.cross_entropy_backward(1.0, np.zeros((2, 3)), np.array([0, 1]), reduction="max"),
                 ValueError, r"reduction must be one of 'mean', 'sum', 'none', got 'max'",
                 id="unknown-reduction-backward"),
    pytest.param(lambda: sl.cross_entropy_and_grad(np.zeros((2, 3)), np.array([0, 1]), reduction="none"),
                 ValueError, r"reduction must be one of 'mean', 'sum', got 'none'",
                 id="and-grad-needs-a-scalar-reduction"),
    # label_smoothing: torch accepts < 0, we refuse
    pytest.param(_ce(label_smoothing=-0.1), ValueError,
                 r"label_smoothing must be a finite number in \[0\.0, 1\.0\], got -0\.1", id="smoothing-negative"),
    pytest.param(_ce(label_smoothing=1.5), ValueError,
                 r"label_smoothing must be a finite number in \[0\.0, 1\.0\], got 1\.5", id="smoothing-above-1"),
    pytest.param(_ce(label_smoothing=float("nan")), ValueError,
                 r"label_smoothing must be a finite number in \[0\.0, 1\.0\], got nan", id="smoothing-nan"),
    pytest.param(_ce(label_smoothing="0.1"), TypeError,
                 r"label_smoothing must be a real number, got str", id="smoothing-string"),
    pytest.param(_ce(ignore_index=1.5), TypeError, r"ignore_index must be an int, got float",
                 id="ignore-index-float"),
    # logits
    pytest.param(_ce(logits=np.array([[0.0, 1.0, 2.0], [3.0, np.nan, 5.0]])), ValueError,
                 r"logits contains NaN \(first at index \(1, 1\)\)", id="nan-in-logits"),
    pytest.param(_ce(logits=np.zeros(3), target=np.array([0])), ValueError,
                 r"target must be class indices of shape \(\) or class probabilities of the logits' shape "
                 r"\(3,\) \(the class axis is 0\), got shape \(1,\)", id="unbatched-logits-batched-target"),
    pytest.param(_ce(logits=np.zeros((2, 3), dtype=np.int64)), TypeError,
                 r"logits must be a floating-point array \(float16, float32 or float64\), got dtype int64",
                 id="integer-logits"),
    pytest.param(lambda: sl.cross_entropy_backward(np.ones(2), np.zeros((2, 3)), np.array([0, 1])),
                 ValueError, r"grad_output must have shape \(\) for reduction='mean', got \(2,\)",
                 id="backward-grad-output-shape"),
    # integer features to linear: the seed notebook's ByteTensor lesson
    pytest.param(lambda: sl.linear(np.zeros((2, 784), np.uint8), np.zeros((784, 10), np.float32)),
                 TypeError,
                 r"x must be a floating-point array .*got dtype uint8; convert integer data first, "
                 r"e\.g\. x\.astype\(np\.float32\) / 255 for raw pixels or scratchlin\.datasets\.to_float\(x\)",
                 id="linear-uint8-pixels"),
    pytest.param(lambda: sl.linear(np.zeros((2, 3)), np.zeros((3, 2), np.int32)), TypeError,
                 r"W must be a floating-point array .*got dtype int32", id="linear-integer-W"),
    pytest.param(lambda: sl.linear_backward(np.zeros((2, 2)), np.zeros((2, 3), np.uint8), np.zeros((3, 2))),
                 TypeError, r"x must be a floating-point array .*got dtype uint8.*/ 255",
                 id="linear-backward-uint8"),
    pytest.param(lambda: sl.linear(np.zeros((2, 3)), np.zeros((4, 2))), ValueError,
                 r"x has 3 features \(shape \(2, 3\)\) but W expects 4 "
                 r"\(shape \(4, 2\), i\.e\. \(n_features, n_classes\)\)",
                 id="linear-feature-mismatch"),
    pytest.param(lambda: sl.linear(np.zeros((2, 3)), np.zeros((3, 2)), np.zeros(3)), ValueError,
                 r"b must have shape \(2,\) to match W \(3, 2\), got \(3,\)", id="linear-bias-shape"),
    pytest.param(lambda: sl.linear_backward(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((3, 2))),
                 ValueError, r"grad_output must have shape \(2, 2\) \(that of x @ W\), got \(2, 3\)",
                 id="linear-backward-grad-shape"),
    # mixed float32 / float64 operands
    pytest.param(lambda: sl.linear(np.zeros((2, 3), np.float32), np.zeros((3, 2))), TypeError,
                 r"arrays must share one float dtype, got x is float32, W is float64; cast them with \.astype\(\)",
                 id="linear-mixed-x-W"),
    pytest.param(lambda: sl.linear(np.zeros((2, 3)), np.zeros((3, 2)), np.zeros(2, np.float32)), TypeError,
                 r"arrays must share one float dtype, got x is float64, W is float64, b is float32",
                 id="linear-mixed-b"),
    pytest.param(lambda: sl.linear_backward(np.zeros((2, 2), np.float32), np.zeros((2, 3)), np.zeros((3, 2))),
                 TypeError, r"got grad_output is float32, x is float64", id="linear-backward-mixed"),
    pytest.param(lambda: sl.softmax_backward(np.zeros(3), np.full(3, 1 / 3, np.float32)), TypeError,
                 r"arrays must share one float dtype, got grad_output is float64, probs is float32",
                 id="softmax-backward-mixed"),
    pytest.param(lambda: sl.log_softmax_backward(np.zeros(3, np.float32), np.zeros(3)), TypeError,
                 r"arrays must share one float dtype, got grad_output is float32, log_probs is float64",
                 id="log-softmax-backward-mixed"),
    pytest.param(lambda: sl.softmax_backward(np.zeros(4), np.full(3, 1 / 3)), ValueError,
                 r"grad_output must have the shape of probs \(3,\), got \(4,\)", id="softmax-backward-shape"),
    # reductions over an axis
    pytest.param(lambda: sl.softmax(np.zeros((2, 3)), axis=2), ValueError,
                 r"axis=2 is out of range for an array with 2 dimension\(s\)", id="axis-out-of-range"),
    pytest.param(lambda: sl.logsumexp(np.zeros((2, 3)), axis=1.0), TypeError,
                 r"axis must be an int, got float", id="axis-float"),
    pytest.param(lambda: sl.logsumexp(np.float64(1.0), axis=1), ValueError,
                 r"axis=1 is out of range for a 0-d array, which takes axis 0 or -1", id="logsumexp-0d-axis-1"),
    pytest.param(lambda: sl.softmax(np.float32(1.0), axis=-2), ValueError,
                 r"axis=-2 is out of range for a 0-d array, which takes axis 0 or -1", id="softmax-0d-axis-minus-2"),
    pytest.param(lambda: sl.logsumexp(np.zeros((2, 3)), axis=(0, -2)), ValueError,
                 r"axis \(0, -2\) names an axis more than once", id="logsumexp-repeated-axis"),
    pytest.param(lambda: sl.logsumexp(np.zeros((2, 3)), axis=()), ValueError,
                 r"axis=\(\) is ambiguous \(NumPy reduces no axis, PyTorch every axis\); pass axis=None",
                 id="logsumexp-empty-axis-tuple"),
    pytest.param(lambda: sl.logsumexp(np.zeros((2, 3)), axis=(0, 1.0)), TypeError,
                 r"axis must be an int, got float", id="logsumexp-float-in-axis-tuple"),
    pytest.param(lambda: slf.logsumexp_backward(np.zeros(3), np.zeros((2, 3)), axis=0, keepdims=True), ValueError,
                 r"grad_output must have the shape of logsumexp\(x\) \(1, 3\), got \(3,\)",
                 id="logsumexp-backward-shape"),
    pytest.param(lambda: sl.log_softmax(np.array([1, 2, 3])), TypeError,
                 r"x must be a floating-point array .*got dtype int64", id="log-softmax-integer"),
]


@pytest.mark.parametrize("call, error, message", ERRORS)
def test_invalid_argument_raises_with_a_message_naming_it(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --------------------------------------------------------------------------------------------
# every public function: dtypes kept, inputs never modified, outputs new arrays


def _inputs(dtype, rng):
    n, c, f = 4, 5, 3
    logits = (3 * rng.standard_normal((n, c))).astype(dtype)
    return {
        "x": logits,
        "grad": rng.standard_normal((n, c)).astype(dtype),
        "probs": np.full((n, c), 1 / c, dtype=dtype),
        "log_probs": np.full((n, c), -math.log(c), dtype=dtype),
        "labels": np.array([0, 4, -100, 2]),
        "labels_u8": np.array([0, 4, 1, 2], dtype=np.uint8),
        "target_probs": rng.dirichlet(np.ones(c), size=n).astype(dtype),
        "weight": rng.uniform(0.5, 2, size=c).astype(dtype),
        "g_rows": rng.standard_normal(n).astype(dtype),
        "g_scalar": np.array(0.7, dtype=dtype),
        "features": rng.standard_normal((n, f)).astype(dtype),
        "W": rng.standard_normal((f, c)).astype(dtype),
        "b": rng.standard_normal(c).astype(dtype),
        "image_logits": (3 * rng.standard_normal((2, c, 3, 2))).astype(dtype),  # (N, C, d1, d2)
        "image_labels": rng.integers(0, c, size=(2, 3, 2)),
        "image_probs": np.moveaxis(rng.dirichlet(np.ones(c), size=(2, 3, 2)), -1, 1).astype(dtype),
        "g_lse": rng.standard_normal(c).astype(dtype),
    }


# name -> function of the input dict returning a tuple of outputs
CALLS = {
    "one_hot": lambda a: (sl.one_hot(a["labels_u8"], 5, dtype=a["x"].dtype),),
    "logsumexp": lambda a: (sl.logsumexp(a["x"]),),
    "logsumexp-axis0-keepdims": lambda a: (sl.logsumexp(a["x"], axis=0, keepdims=True),),
    "softmax": lambda a: (sl.softmax(a["x"]),),
    "softmax-axis0": lambda a: (sl.softmax(a["x"], axis=0),),
    "log_softmax": lambda a: (sl.log_softmax(a["x"]),),
    "softmax_backward": lambda a: (sl.softmax_backward(a["grad"], a["probs"]),),
    "log_softmax_backward": lambda a: (sl.log_softmax_backward(a["grad"], a["log_probs"]),),
    "cross_entropy-index-weight-smoothing": lambda a: (sl.cross_entropy(
        a["x"], a["labels"], weight=a["weight"], label_smoothing=0.1),),
    "cross_entropy-uint8-labels-none": lambda a: (sl.cross_entropy(
        a["x"], a["labels_u8"], reduction="none"),),
    "cross_entropy-probs-weight-sum": lambda a: (sl.cross_entropy(
        a["x"], a["target_probs"], weight=a["weight"], reduction="sum"),),
    "cross_entropy_backward-index": lambda a: (sl.cross_entropy_backward(
        a["g_scalar"], a["x"], a["labels"], weight=a["weight"], label_smoothing=0.1),),
    "cross_entropy_backward-probs-none": lambda a: (sl.cross_entropy_backward(
        a["g_rows"], a["x"], a["target_probs"], reduction="none", label_smoothing=0.1),),
    "cross_entropy_and_grad-index": lambda a: sl.cross_entropy_and_grad(
        a["x"], a["labels"], weight=a["weight"], label_smoothing=0.1),
    "cross_entropy_and_grad-probs": lambda a: sl.cross_entropy_and_grad(
        a["x"], a["target_probs"], weight=a["weight"], reduction="sum"),
    "logsumexp_backward-axes": lambda a: (slf.logsumexp_backward(a["g_lse"], a["x"], axis=(0,)),),
    "cross_entropy-nd-index-weight-none": lambda a: (sl.cross_entropy(
        a["image_logits"], a["image_labels"], weight=a["weight"], reduction="none"),),
    "cross_entropy_and_grad-nd-probs": lambda a: sl.cross_entropy_and_grad(
        a["image_logits"], a["image_probs"], label_smoothing=0.1),
    "cross_entropy_backward-nd-index": lambda a: (sl.cross_entropy_backward(
        a["g_scalar"], a["image_logits"], a["image_labels"]),),
    "cross_entropy_target_backward-nd": lambda a: (slf.cross_entropy_target_backward(
        a["g_scalar"], a["image_logits"], a["image_probs"], weight=a["weight"]),),
    "linear": lambda a: (sl.linear(a["features"], a["W"], a["b"]),),
    "linear-nd": lambda a: (sl.linear(a["features"].reshape(2, 2, -1), a["W"], a["b"]),),
    "linear-single-sample": lambda a: (sl.linear(a["features"][0], a["W"], a["b"]),),
    "linear_backward": lambda a: sl.linear_backward(a["grad"], a["features"], a["W"]),
    "linear_backward-single-sample": lambda a: sl.linear_backward(a["grad"][0], a["features"][0], a["W"]),
}


@pytest.mark.parametrize("dtype", ALL_FLOATS)
@pytest.mark.parametrize("name", list(CALLS))
def test_every_output_keeps_the_input_float_dtype(name, dtype, rng):
    outputs = CALLS[name](_inputs(dtype, rng))
    for k, out in enumerate(outputs):
        assert np.asarray(out).dtype == dtype, f"{name} output {k}: {np.asarray(out).dtype}"
        assert np.isfinite(out).all(), f"{name} output {k} is not finite on ordinary inputs"


@pytest.mark.parametrize("dtype", ALL_FLOATS)
@pytest.mark.parametrize("name", list(CALLS))
def test_no_function_modifies_its_inputs_or_returns_one_of_them(name, dtype, rng):
    inputs = _inputs(dtype, rng)
    copies = {k: v.copy() for k, v in inputs.items()}
    outputs = CALLS[name](inputs)
    for k, v in inputs.items():
        assert v.dtype == copies[k].dtype
        np.testing.assert_array_equal(v, copies[k], err_msg=f"{name} modified {k}")
    for out in outputs:
        for k, v in inputs.items():
            assert not np.shares_memory(np.asarray(out), v), f"{name} returned a view of {k}"


@pytest.mark.parametrize("dtype", ALL_FLOATS)
def test_cross_entropy_with_reduction_returns_a_0d_scalar_of_the_logits_dtype(dtype):
    loss = sl.cross_entropy(np.zeros((2, 3), dtype), np.array([0, 1]))
    assert np.ndim(loss) == 0 and loss.dtype == dtype
    loss, grad = sl.cross_entropy_and_grad(np.zeros((2, 3), dtype), np.array([0, 1]))
    assert np.ndim(loss) == 0 and loss.dtype == dtype and grad.dtype == dtype


@pytest.mark.parametrize("dtype", ALL_FLOATS)
def test_one_hot_and_cross_entropy_accept_mnist_uint8_labels(dtype):
    labels = np.array([2, 0], dtype=np.uint8)
    # same hand value as the int64 2x3 example (logits cast to dtype: exact integers)
    loss = sl.cross_entropy(np.array(LOGITS_2x3, dtype), labels)
    # float16 is computed in float32 and rounded once: relative error <= eps16 / 2 = 4.9e-4
    rtol = 1e-3 if dtype == np.float16 else RTOL[dtype]
    np.testing.assert_allclose(loss, (L0 + L1) / 2, rtol=rtol)


# --------------------------------------------------------------------------------------------
# cross_entropy_and_grad's fast path (index targets, no weight, nothing ignored)


def float64_ce_and_grad(logits, target, eps=0.0, reduction="mean"):
    """Mean (or sum) label-smoothed cross-entropy and its logit gradient, float64, per-row max."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    T = (1 - eps) * np.eye(z.shape[1])[target] + eps / z.shape[1]
    scale = 1 / z.shape[0] if reduction == "mean" else 1.0
    return -np.sum(T * log_p) * scale, (np.exp(log_p) - T) * scale


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("gap", [0.0, 1e4], ids=["near", "one-row-1e4-below"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_cross_entropy_and_grad_equals_the_float64_formula(dtype, gap, eps, reduction):
    rng = np.random.default_rng(0)
    logits = (3 * rng.standard_normal((64, 10))).astype(dtype)
    logits[0] -= dtype(gap)  # far below the batch's max: the per-row shift must take over
    target = rng.integers(0, 10, 64)
    loss, grad = sl.cross_entropy_and_grad(logits, target, label_smoothing=eps, reduction=reduction)
    want_loss, want_grad = float64_ce_and_grad(logits, target, eps, reduction)
    assert loss.dtype == dtype and grad.dtype == dtype and grad.shape == (64, 10)
    # 10-term sums and a 64-term total, in dtype: within 2 * 64 eps relative; the 1e4 row's
    # logits carry their own rounding, 1e4 * u absolute, on a loss of ~1e4 / 64 per row.
    tol = 128 * float(np.finfo(dtype).eps)
    assert float(loss) == pytest.approx(want_loss, rel=tol)
    np.testing.assert_allclose(grad, want_grad, rtol=tol, atol=tol / 64)


@pytest.mark.parametrize("dtype, gap", [(np.float32, 100.0), (np.float64, 740.0)])
def test_cross_entropy_and_grad_of_a_row_in_the_subnormal_range_of_the_batch_max(dtype, gap):
    # Row 1 lies `gap` below the batch max, where exp(row - batch max) is subnormal (float32:
    # e^-100 = 26 steps of the smallest subnormal; float64: e^-740 = 85 steps): shifted by the
    # batch max its probabilities would be off by percents, yet its sum is not 0, so only the
    # per-row fallback rescues it. Hand values: row 0 uniform over 4 (loss log 4), row 1 the
    # softmax of [0, 0, -1, -2] (exact after the row's own shift), label 2.
    logits = np.array([[0, 0, 0, 0], [-gap, -gap, -gap - 1, -gap - 2]], dtype)
    target = np.array([0, 2])
    loss, grad = sl.cross_entropy_and_grad(logits, target, reduction="sum")
    row = np.array([0.0, 0.0, -1.0, -2.0])
    lse = np.log(np.exp(row).sum())
    want_loss = np.log(4) + lse - row[2]
    want_grad = np.array([[0.25 - 1, 0.25, 0.25, 0.25], np.exp(row - lse) - [0, 0, 1, 0]])
    # a handful of roundings of values ~1 in dtype: 8 eps relative
    tol = 8 * float(np.finfo(dtype).eps)
    assert float(loss) == pytest.approx(want_loss, rel=tol)
    np.testing.assert_allclose(grad, want_grad, rtol=tol, atol=tol)


@pytest.mark.parametrize("target", [[1, -1], [1, -3]], ids=["-1", "-3"])
def test_negative_int32_labels_are_refused_not_wrapped_into_another_row(target):
    # A negative label is not a class: it must not index the previous row's logits.
    logits = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"target holds class index -\d at position 1; expected "
                                         r"indices in \[0, 2\] or ignore_index=-100"):
        sl.cross_entropy_and_grad(logits, np.array(target, np.int32))


def test_an_int32_ignore_index_row_is_ignored():
    # ignore_index -100 in an int32 target: row 1 is left out, the loss is row 0's: log 3.
    logits = np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]], np.float32)
    loss, grad = sl.cross_entropy_and_grad(logits, np.array([1, -100], np.int32))
    assert float(loss) == pytest.approx(np.log(3), rel=1e-6)
    np.testing.assert_allclose(grad, [[1 / 3, 1 / 3 - 1, 1 / 3], [0, 0, 0]], rtol=1e-6, atol=1e-7)


def test_cross_entropy_and_grad_of_huge_float32_logits_is_finite_and_exact():
    # logits in the hundreds (exp overflows float32 above ~88.7): the shift must be applied
    rng = np.random.default_rng(1)
    logits = (200 * rng.standard_normal((256, 10))).astype(np.float32)
    target = rng.integers(0, 10, 256)
    loss, grad = sl.cross_entropy_and_grad(logits, target)
    want_loss, want_grad = float64_ce_and_grad(logits, target)
    assert np.isfinite(loss) and want_loss > 50
    assert float(loss) == pytest.approx(want_loss, rel=1e-5)  # 256-term float32 total
    np.testing.assert_allclose(grad, want_grad, atol=1e-6)


def test_cross_entropy_and_grad_hands_unusual_inputs_to_the_general_path():
    logits = np.array([[0.0, LN2, LN3], [1.0, 1.0, 1.0]])
    # an ignored row counts neither in the loss nor in the mean: the loss is row 0's alone
    loss, grad = sl.cross_entropy_and_grad(logits, np.array([2, -100]))
    assert float(loss) == pytest.approx(math.log(6) - LN3, rel=1e-14)  # -log(3/6)
    np.testing.assert_allclose(grad[1], 0.0)
    np.testing.assert_allclose(grad[0], [1 / 6, 2 / 6, 3 / 6 - 1], rtol=1e-14)
    with pytest.raises(ValueError, match=r"^logits contains NaN \(first at index \(1, 2\)\)$"):
        sl.cross_entropy_and_grad(np.array([[0.0, 1.0, 2.0], [0.0, 1.0, np.nan]]), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"^target holds class index 3 at position 1; expected indices in \[0, 2\]"):
        sl.cross_entropy_and_grad(logits, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"^target holds class index -1 at position 0"):
        sl.cross_entropy_and_grad(logits, np.array([-1, 0]))
    # a -inf logit that is not the label: probability 0, finite loss, as in the general path
    loss, grad = sl.cross_entropy_and_grad(np.array([[0.0, -np.inf, 0.0]]), np.array([0]))
    assert float(loss) == pytest.approx(LN2, rel=1e-14) and grad[0, 1] == 0


def test_cross_entropy_and_grad_makes_one_logits_sized_buffer_in_its_dtype():
    logits = np.random.default_rng(2).standard_normal((20_000, 10)).astype(np.float32)
    target = np.arange(20_000) % 10
    sl.cross_entropy_and_grad(logits, target)
    tracemalloc.start()
    try:
        _, grad = sl.cross_entropy_and_grad(logits, target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the gradient itself (1x) and a (N,) index (0.2x for int64 at C=10); a float64 copy of
    # the logits alone would be 2x
    assert grad.dtype == np.float32
    assert peak < 1.6 * logits.nbytes, peak / logits.nbytes


# --------------------------------------------------------------------------------------------
# softmax_cross_entropy, the kernel


def test_softmax_cross_entropy_of_a_small_batch_equals_hand_computed_values():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    loss, grad = slf.softmax_cross_entropy(logits, np.array([0, 2]), sample_weight=np.array([3.0, 1.0]))
    e = math.e ** 2
    # (3 (log(e^2 + 2) - 2) + log 3) / 4, and rows (w_i / 4)(softmax - onehot)
    assert loss == pytest.approx((3 * (math.log(e + 2) - 2) + math.log(3)) / 4, rel=1e-15)
    expected = np.array([[0.75 * (e / (e + 2) - 1), 0.75 / (e + 2), 0.75 / (e + 2)],
                         [0.25 / 3, 0.25 / 3, 0.25 * (1 / 3 - 1)]])
    np.testing.assert_allclose(grad, expected, rtol=1e-15, atol=1e-17)


def test_softmax_cross_entropy_keeps_relative_precision_in_a_row_far_below_the_batch_max():
    # Row 1 lies 400 below row 0. Shifted by the batch's max, its exponentials are ~e^-400:
    # above float64's tiny (e^-708) but below sqrt(tiny) (e^-354), and its smallest, e^-730,
    # would be subnormal (a few digits left). Shifted by its own max, every probability keeps
    # float64's relative precision: a handful of roundings (exp, sum, divide), 1e-13 is ample.
    logits = np.array([[0.0, 1.0, 2.0], [-400.0, -730.0, -401.0]])
    labels = np.array([2, 0])
    loss, grad = slf.softmax_cross_entropy(logits, labels)
    expected = (reference.softmax(logits, axis=1) - np.eye(3)[labels]) / 2
    np.testing.assert_allclose(grad, expected, rtol=1e-13, atol=0)
    expected_loss = -np.mean(reference.log_softmax(logits, axis=1)[[0, 1], labels])
    assert loss == pytest.approx(expected_loss, rel=1e-13)


def test_softmax_cross_entropy_with_all_zero_weights_is_zero_with_no_gradient():
    loss, grad = slf.softmax_cross_entropy(np.ones((3, 4)), np.array([0, 1, 2]), sample_weight=np.zeros(3))
    assert loss == 0.0
    np.testing.assert_array_equal(grad, 0.0)


def test_softmax_cross_entropy_writes_into_out_and_leaves_the_logits_alone():
    logits = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
    before, out = logits.copy(), np.empty_like(logits)
    _, grad = slf.softmax_cross_entropy(logits, np.array([1, 0]), out=out)
    assert grad is out and grad.dtype == np.float32
    np.testing.assert_array_equal(logits, before)
