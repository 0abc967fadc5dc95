"""Hypothesis properties of softmax, log_softmax, cross_entropy and linear.

Logits are drawn as float32-representable values (``width=32``), so the float32 and float64
cases see the same numbers. Tolerances are written in units of the dtype's unit roundoff
``u`` (2**-24 for float32, 2**-53 for float64) times the size of the quantities involved,
each next to the property it bounds.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratchlin as sl

SETTINGS = settings(max_examples=60, deadline=None)
DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]


def _u(dtype):
    return float(np.finfo(dtype).eps) / 2


@st.composite
def logit_matrices(draw, max_abs=1e4, minus_inf=False, max_rows=6, min_classes=1, max_classes=8):
    n = draw(st.integers(1, max_rows))
    c = draw(st.integers(min_classes, max_classes))
    elements = st.floats(-max_abs, max_abs, width=32)
    if minus_inf:
        elements = st.one_of(elements, st.just(-np.inf))
    return draw(hnp.arrays(np.float64, (n, c), elements=elements))


@st.composite
def problems(draw, max_abs=1e4, minus_inf=False, ignore=False):
    """(logits, labels, weight or None, label_smoothing, reduction) for index targets."""
    logits = draw(logit_matrices(max_abs=max_abs, minus_inf=minus_inf))
    n, c = logits.shape
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    if ignore:
        ignored = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        labels = np.where(ignored, -100, labels)
    weight = draw(st.none() | hnp.arrays(np.float64, c, elements=st.floats(0.0, 10.0, width=32)))
    smoothing = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]) | st.floats(0.0, 1.0))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    return logits, labels, weight, smoothing, reduction


def _cast(dtype, *arrays):
    return [None if a is None else a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]


# --------------------------------------------------------------------------------------------
# softmax / log_softmax / logsumexp


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(x=logit_matrices(minus_inf=True))
def test_softmax_rows_are_probabilities_summing_to_one(dtype, x):
    x = x.astype(dtype)
    has_finite = np.isfinite(x).any(axis=1)
    with np.errstate(invalid="ignore"):  # a row of only -inf is NaN by contract (as torch)
        p = sl.softmax(x)[has_finite]
    assert ((p >= 0) & (p <= 1)).all()
    # each p_j has relative error ~ (C + 2) u (C-term sum, exp, divide): |sum - 1| <= 4 C u
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=4 * x.shape[1] * _u(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(k=hnp.arrays(np.int64, st.tuples(st.integers(1, 6), st.integers(1, 8)),
                    elements=st.integers(-2 ** 20, 2 ** 20)),
       shift=st.lists(st.integers(-1000, 1000), min_size=6, max_size=6))
def test_softmax_is_exactly_invariant_to_an_exact_per_row_shift(dtype, k, shift):
    # x = k / 1024 and x + c (|x + c| < 2**11 on a 2**-10 grid: 21 bits) are exact in float32
    # and float64, so x + c - max(x + c) == x - max(x) exactly, and a max-subtracting softmax
    # gives bit-identical probabilities.
    x = (k / 1024).astype(dtype)
    shifted = x + np.array(shift[: x.shape[0]], dtype=dtype)[:, None]
    np.testing.assert_array_equal(sl.softmax(shifted), sl.softmax(x))


@SETTINGS
@given(x=logit_matrices(), shift=st.floats(-1e4, 1e4))
def test_softmax_is_invariant_to_any_per_row_constant_up_to_rounding(x, shift):
    # float64: x + c is rounded (error <= u |x + c|), which moves each p_j by at most
    # 2 p_j u max|x + c|; allow 4 u (max|x| + |c|) + 4 C u absolute.
    shifted = x + shift
    tol = 4 * _u(np.float64) * (np.abs(x).max() + abs(shift) + x.shape[1])
    np.testing.assert_allclose(sl.softmax(shifted), sl.softmax(x), rtol=0, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(x=logit_matrices(minus_inf=True))
def test_log_softmax_equals_log_of_softmax_where_finite(dtype, x):
    x = x.astype(dtype)
    x = x[np.isfinite(x).any(axis=1)]
    if x.size == 0:
        return
    p = sl.softmax(x)
    where = p >= np.finfo(dtype).tiny  # log(p) is finite and p not subnormal (full precision)
    with np.errstate(divide="ignore"):
        log_p = np.log(p.astype(np.float64))
    # log_softmax = x - lse has absolute error ~ u (|x| + |lse|); log(p) ~ u (|x - max| + C).
    finite_x = np.where(np.isfinite(x), x, 0)
    tol = 4 * _u(dtype) * (2 * np.abs(finite_x).max() + x.shape[1] + 1)
    got = sl.log_softmax(x)
    np.testing.assert_allclose(got[where], log_p[where], rtol=0, atol=tol)
    assert (got[~np.isfinite(x)] == -np.inf).all()  # -inf logits stay -inf, not NaN


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(x=logit_matrices())
def test_logsumexp_lies_between_max_and_max_plus_log_c(dtype, x):
    x = x.astype(dtype)
    lse, m = sl.logsumexp(x).astype(np.float64), x.max(axis=1).astype(np.float64)
    slack = 4 * _u(dtype) * (np.abs(m) + np.log(x.shape[1]) + 1)
    assert (lse >= m - slack).all()
    assert (lse <= m + np.log(x.shape[1]) + slack).all()


# --------------------------------------------------------------------------------------------
# cross_entropy


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data(), problem=problems(minus_inf=True))
def test_huge_and_minus_inf_logits_give_finite_loss_and_gradient(dtype, data, problem):
    # Condition: the target class logit is finite and label_smoothing = 0. Otherwise the
    # loss is inf by definition: -log p_y = inf for a -inf target logit, and smoothing gives
    # every class (also a -inf one) target mass eps / C, contributing eps / C * inf.
    logits, labels, weight, _, reduction = problem
    n = logits.shape[0]
    logits[np.arange(n), labels] = data.draw(hnp.arrays(
        np.float64, n, elements=st.floats(-1e4, 1e4, width=32)), label="target logits")
    if weight is not None:
        weight = weight + 0.5  # positive: a mean over zero total weight is NaN by contract
    logits, weight = _cast(dtype, logits, weight)
    loss = sl.cross_entropy(logits, labels, weight=weight, reduction=reduction)
    grad = sl.cross_entropy_backward(np.ones(n, dtype) if reduction == "none" else 1.0,
                                     logits, labels, weight=weight, reduction=reduction)
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    # probability targets: mass only on finite logits (0 * log 0 = 0 for the rest)
    probs = np.where(np.isfinite(logits), 1.0, 0.0).astype(dtype)
    probs /= probs.sum(axis=1, keepdims=True)
    loss, grad = sl.cross_entropy_and_grad(logits, probs, weight=weight,
                                           reduction="sum" if reduction == "none" else reduction)
    assert np.isfinite(loss) and np.isfinite(grad).all()


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(problem=problems(ignore=True))
def test_cross_entropy_with_index_targets_is_never_negative(dtype, problem):
    # log p = x - lse <= 0 exactly in floating point (the max term contributes exp(0) = 1 to
    # the sum, so lse >= max), and every coefficient is >= 0: no tolerance needed.
    logits, labels, weight, smoothing, reduction = problem
    logits, weight = _cast(dtype, logits, weight)
    loss = sl.cross_entropy(logits, labels, weight=weight, label_smoothing=smoothing,
                            reduction=reduction)
    loss = np.asarray(loss)
    assert (loss[~np.isnan(loss)] >= 0).all()
    if reduction != "mean":  # only a mean over zero total weight is NaN
        assert not np.isnan(loss).any()


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(problem=problems())
def test_index_and_one_hot_targets_agree_without_weights(dtype, problem):
    # Without weights both normalise a mean by N and give the same per-row loss. The two
    # paths sum the same C terms in a different order: relative error ~ C u, absolute
    # ~ C u * (terms up to |lse - x| <= 2 max|x|). Gradients are O(1): absolute C u.
    logits, labels, _, smoothing, reduction = problem
    logits = logits.astype(dtype)
    c = logits.shape[1]
    one_hot = sl.one_hot(labels, c, dtype=dtype)
    options = dict(label_smoothing=smoothing, reduction=reduction)
    scale = 2 * np.abs(logits).max() + 1
    tol = 8 * c * _u(dtype)
    np.testing.assert_allclose(sl.cross_entropy(logits, one_hot, **options),
                               sl.cross_entropy(logits, labels, **options),
                               rtol=tol, atol=tol * scale * logits.shape[0])
    g = np.ones(logits.shape[0], dtype) if reduction == "none" else 1.0
    np.testing.assert_allclose(sl.cross_entropy_backward(g, logits, one_hot, **options),
                               sl.cross_entropy_backward(g, logits, labels, **options),
                               rtol=0, atol=tol)


def _row_total_weight(labels, weight, smoothing, c):
    """sum_c T_ic of each row for index targets: (1 - eps) w_y + eps / C * sum(w); 0 if ignored."""
    w = np.ones(c) if weight is None else weight
    keep = labels != -100
    total = (1 - smoothing) * w[np.where(keep, labels, 0)] + smoothing / c * w.sum()
    return np.where(keep, total, 0.0), keep


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(problem=problems(max_abs=50.0, ignore=True))
def test_mean_gradient_rows_sum_to_zero_relative_to_the_rows_total_weight(dtype, problem):
    # d loss_i / d z_ic = (p_ic S_i - T_ic) / norm with S_i = sum_c T_ic, and sum_c p_ic = 1:
    # each row sums to 0. Rounding: the gradient's p = exp(x - lse) (as torch's) inherits the
    # absolute error u |lse| of log p, so sum p = 1 +- u (|lse| + C + 2), with
    # |lse| <= max|x| + log C; the C-term row sum adds C u. Hence
    # |row sum| <= 4 u (max|x| + log C + 2 C + 2) S_i / norm. Ignored rows are exactly 0.
    logits, labels, weight, smoothing, _ = problem
    c = logits.shape[1]
    total, keep = _row_total_weight(labels, weight, smoothing, c)
    norm = (np.ones(c) if weight is None else weight)[labels[keep]].sum()
    if norm == 0:  # nothing counted: NaN loss, zero gradient (tested in test_functional)
        return
    logits, weight_d = _cast(dtype, logits, weight)
    grad = sl.cross_entropy_backward(1.0, logits, labels, weight=weight_d, label_smoothing=smoothing)
    row_sums = grad.astype(np.float64).sum(axis=1)
    bound = 4 * _u(dtype) * (np.abs(logits).max() + np.log(c) + 2 * c + 2) * total / norm
    assert (np.abs(row_sums) <= bound).all()
    np.testing.assert_array_equal(grad[~keep], 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(problem=problems(ignore=True))
def test_reductions_are_consistent_sum_of_none_and_sum_over_label_weights(dtype, problem):
    logits, labels, weight, smoothing, _ = problem
    logits, weight = _cast(dtype, logits, weight)
    options = dict(weight=weight, label_smoothing=smoothing)
    none = sl.cross_entropy(logits, labels, reduction="none", **options).astype(np.float64)
    total = sl.cross_entropy(logits, labels, reduction="sum", **options)
    mean = sl.cross_entropy(logits, labels, reduction="mean", **options)
    # summing N non-negative terms: relative error <= N u (plus the terms' own rounding)
    tol = 4 * (len(labels) + 1) * _u(dtype)
    np.testing.assert_allclose(total, none.sum(), rtol=tol, atol=0)
    norm = (np.ones(logits.shape[1]) if weight is None else weight.astype(np.float64))[
        labels[labels != -100]].sum()
    if norm > 0:
        exact = none.sum() / norm
        if exact > np.finfo(dtype).max:  # e.g. label weights near float32's tiny: overflow is right
            assert np.isposinf(mean)
        else:
            np.testing.assert_allclose(mean, exact, rtol=tol, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(problem=problems(ignore=True))
def test_cross_entropy_and_grad_is_exactly_the_loss_and_its_backward(dtype, problem):
    logits, labels, weight, smoothing, reduction = problem
    reduction = "sum" if reduction == "none" else reduction
    logits, weight = _cast(dtype, logits, weight)
    options = dict(weight=weight, label_smoothing=smoothing, reduction=reduction)
    loss, grad = sl.cross_entropy_and_grad(logits, labels, **options)
    np.testing.assert_array_equal(loss, sl.cross_entropy(logits, labels, **options))
    np.testing.assert_array_equal(grad, sl.cross_entropy_backward(1.0, logits, labels, **options))


# --------------------------------------------------------------------------------------------
# backward rules: adjoint identities


@SETTINGS
@given(data=st.data(), n=st.integers(1, 5), f=st.integers(1, 6), c=st.integers(1, 5))
def test_linear_backward_is_the_adjoint_of_linear(data, n, f, c):
    # <G, x W> = <x^T G, W> = <G W^T, x>: the defining identity of dW and dx (float64; three
    # sums of n f c products of O(1) numbers, error <= n f c u * sum|products|).
    floats = st.floats(-10, 10, width=32)
    x = data.draw(hnp.arrays(np.float64, (n, f), elements=floats))
    W = data.draw(hnp.arrays(np.float64, (f, c), elements=floats))
    G = data.draw(hnp.arrays(np.float64, (n, c), elements=floats))
    dx, dW, db = sl.linear_backward(G, x, W)
    inner = np.sum(G * sl.linear(x, W))
    scale = np.abs(G) @ np.abs(W).T
    tol = 4 * n * f * c * _u(np.float64) * (np.sum(scale * np.abs(x)) + 1)
    np.testing.assert_allclose(np.sum(dW * W), inner, rtol=0, atol=tol)
    np.testing.assert_allclose(np.sum(dx * x), inner, rtol=0, atol=tol)
    np.testing.assert_allclose(db, G.sum(axis=0), rtol=0, atol=4 * n * _u(np.float64) * np.abs(G).sum())


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data(), x=logit_matrices(max_abs=50.0))
def test_softmax_and_log_softmax_backward_rows_sum_to_zero(dtype, data, x):
    # the Jacobians' columns sum to 0 because softmax sums to the constant 1, so
    # sum_j dL/dx_j = 0 for any upstream g; rounding ~ C u * sum |terms|.
    g = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-10, 10, width=32)))
    x, g = x.astype(dtype), g.astype(dtype)
    c = x.shape[1]
    p = sl.softmax(x)
    for grad in (sl.softmax_backward(g, p), sl.log_softmax_backward(g, sl.log_softmax(x))):
        scale = 2 * np.abs(g.astype(np.float64)).sum(axis=1) + 1
        assert (np.abs(grad.astype(np.float64).sum(axis=1)) <= 8 * c * _u(dtype) * scale).all()
