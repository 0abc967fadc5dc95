"""PyTorch parity: every functional op against its torch counterpart, through one helper.

Values are compared with torch run in float64 on the same inputs (exact upcasts), for the
float32 checks too: float64 torch is the exact answer up to ~1e-16, so the float32 tolerance
measures scratchlin's own rounding only. float16 is compared with torch's float16.

Tolerances (|scratchlin - torch| <= atol + rtol * |torch|, elementwise)
--------------------------------------------------------------------------
The inputs are small (N <= 6 rows, C <= 5 classes, F <= 7 features) with |logits| <~ 12, so
every output element is a sum of at most ~10 rounded terms of magnitude <~ 50. The standard
bound for such a sum is n * u * sum|terms| (u the unit roundoff); exp/log add ~1 ulp each.

* float64, u = 1.1e-16: bound ~10 * 1.1e-16 * 50 ~ 6e-14. We allow atol = rtol = 1e-12,
  ~20x the bound (and ~4500 ulps of an O(1) value), far below any formula mistake (>= 1e-3).
* float32 vs float64 torch, u = 6.0e-8: the same bound gives ~3e-5 in the very worst case;
  errors actually grow like sqrt(n) so typical are ~1e-6. We allow atol = rtol = 1e-5
  (~170 ulps relative): a float32 computation achieves it, a wrong formula does not.
* float16 vs torch float16, eps = 2**-10 = 9.8e-4: scratchlin computes in float32 and rounds
  the result once (<= eps/2 relative); torch's CPU half kernels also accumulate in float32
  and round their result, but composite ops (cross_entropy = nll(log_softmax)) round an
  intermediate to float16 too. So the two can differ by ~2 ulps of the result: rtol = 2*eps.
  atol = 2 * eps * (scale of the output) covers results that cancel (a log-probability or a
  gradient near 0 computed from O(scale) terms each rounded to eps * scale).

Largest errors observed (seed 12345; the same order for other seeds), ordinary logits:
float64 forward 3.6e-15, backward 8.9e-16; float32 forward 3.1e-6, backward 8.7e-7;
float16 forward 3.9e-3 (log_softmax, values ~ -10: one ulp there is 7.8e-3), backward 9.8e-4.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from helpers import check_against_torch  # noqa: E402

import scratchlin as sl  # noqa: E402
from scratchlin import functional as slf  # noqa: E402

EPS16 = float(np.finfo(np.float16).eps)  # 2**-10
TOL = {
    np.float64: dict(atol=1e-12, rtol=1e-12),
    np.float32: dict(atol=1e-5, rtol=1e-5),
}
FLOATS = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]

N, C, F_IN = 6, 5, 7


def _logits(rng, dtype, shape=(N, C)):
    return (3 * rng.standard_normal(shape)).astype(dtype)


# --------------------------------------------------------------------------------------------
# softmax, log_softmax, logsumexp


SHAPES_AXES = [
    pytest.param((N, C), -1, id="2d-last"),
    pytest.param((N, C), 0, id="2d-axis0"),
    pytest.param((3, 4, 5), 1, id="3d-axis1"),
    pytest.param((C,), 0, id="1d"),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape, axis", SHAPES_AXES)
def test_softmax_and_its_backward_match_torch(rng, dtype, shape, axis):
    check_against_torch(
        lambda x: sl.softmax(x, axis=axis),
        lambda x: torch.softmax(x, dim=axis),
        {"x": _logits(rng, dtype, shape)},
        wrt=("x",),
        sl_backward=lambda g, x: {"x": sl.softmax_backward(g, sl.softmax(x, axis=axis), axis=axis)},
        rng=rng, label="softmax", **TOL[dtype],
    )


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape, axis", SHAPES_AXES)
def test_log_softmax_and_its_backward_match_torch(rng, dtype, shape, axis):
    check_against_torch(
        lambda x: sl.log_softmax(x, axis=axis),
        lambda x: torch.log_softmax(x, dim=axis),
        {"x": _logits(rng, dtype, shape)},
        wrt=("x",),
        sl_backward=lambda g, x: {
            "x": sl.log_softmax_backward(g, sl.log_softmax(x, axis=axis), axis=axis)},
        rng=rng, label="log_softmax", **TOL[dtype],
    )


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdims", [False, True], ids=["squeeze", "keepdims"])
@pytest.mark.parametrize("shape, axis", SHAPES_AXES)
def test_logsumexp_matches_torch_and_its_torch_gradient_is_softmax(rng, dtype, shape, axis, keepdims):
    # scratchlin has no logsumexp_backward: d logsumexp / dx = softmax(x), so torch's
    # gradient of logsumexp must equal upstream * sl.softmax.
    def sl_backward(g, x):
        g = g if keepdims else np.expand_dims(g, axis)
        return {"x": g * sl.softmax(x, axis=axis)}

    check_against_torch(
        lambda x: sl.logsumexp(x, axis=axis, keepdims=keepdims),
        lambda x: torch.logsumexp(x, dim=axis, keepdim=keepdims),
        {"x": _logits(rng, dtype, shape)},
        wrt=("x",), sl_backward=sl_backward, rng=rng, label="logsumexp", **TOL[dtype],
    )


@pytest.mark.parametrize("dtype", FLOATS)
def test_logsumexp_of_huge_and_infinite_entries_matches_torch(dtype):
    x = np.array([[1e4, 1e4 - 1, -1e4], [-np.inf, 0.0, 1.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    check_against_torch(lambda x: sl.logsumexp(x), lambda x: torch.logsumexp(x, dim=-1),
                        {"x": x}, label="logsumexp-extreme", **TOL[dtype])


# --------------------------------------------------------------------------------------------
# one_hot


@pytest.mark.parametrize("labels_dtype", [np.int64, np.int32, np.uint8], ids=lambda d: d.__name__)
@pytest.mark.parametrize("num_classes", [None, 12], ids=["inferred", "given"])
@pytest.mark.parametrize("shape", [(8,), (3, 4)], ids=["1d", "2d"])
def test_one_hot_matches_torch_one_hot(rng, labels_dtype, num_classes, shape):
    labels = rng.integers(0, 10, size=shape).astype(labels_dtype)
    labels.flat[0] = 9  # so the inferred num_classes is 10 on both sides
    expected = F.one_hot(torch.tensor(labels.astype(np.int64)),
                         -1 if num_classes is None else num_classes).numpy()
    got = sl.one_hot(labels, num_classes)
    assert got.shape == expected.shape
    assert got.dtype == np.float32  # the documented default, where torch gives int64
    np.testing.assert_array_equal(got, expected)


# --------------------------------------------------------------------------------------------
# cross_entropy: the full option grid


def _target(kind, rng, dtype):
    """(target, ignore_index) for each target kind."""
    labels = rng.integers(0, C, size=N)
    if kind == "index":
        return labels, -100
    if kind == "index-uint8":  # MNIST's label dtype
        return labels.astype(np.uint8), -100
    if kind == "index-ignored":  # ignore_index present in the targets
        labels[[1, 4]] = -100
        return labels, -100
    if kind == "index-ignore-class-2":  # ignore_index that is also a valid class
        labels[[0, 3]] = 2
        return labels, 2
    if kind == "one-hot":
        return sl.one_hot(labels, C, dtype=dtype), -100
    if kind == "probabilities":  # soft targets, with exact zeros
        probs = rng.dirichlet(np.ones(C), size=N)
        probs[0, 1] = probs[2, 3] = 0.0
        return (probs / probs.sum(axis=1, keepdims=True)).astype(dtype), -100
    raise AssertionError(kind)


TARGET_KINDS = ["index", "index-uint8", "index-ignored", "index-ignore-class-2", "one-hot",
                "probabilities"]


def _ce_check(rng, dtype, kind, weighted, label_smoothing, reduction, *, tol, reference="float64",
              logits=None, label=None):
    target, ignore_index = _target(kind, rng, dtype)
    weight = rng.uniform(0.25, 2.0, size=C).astype(dtype) if weighted else None
    options = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    inputs = {"logits": _logits(rng, dtype) if logits is None else logits,
              "target": target, "weight": weight}
    return check_against_torch(
        lambda logits, target, weight: sl.cross_entropy(logits, target, weight=weight, **options),
        lambda logits, target, weight: F.cross_entropy(logits, target, weight=weight, **options),
        inputs, wrt=("logits",),
        sl_backward=lambda g, logits, target, weight: {
            "logits": sl.cross_entropy_backward(g, logits, target, weight=weight, **options)},
        rng=rng, reference=reference, label=label or f"cross_entropy[{kind}]", **tol,
    )


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 1.0], ids=["ls0", "ls0.1", "ls1"])
@pytest.mark.parametrize("weighted", [False, True], ids=["no-weight", "weight"])
@pytest.mark.parametrize("kind", TARGET_KINDS)
def test_cross_entropy_and_backward_match_torch(rng, kind, weighted, label_smoothing, reduction, dtype):
    _ce_check(rng, dtype, kind, weighted, label_smoothing, reduction, tol=TOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1], ids=["ls0", "ls0.1"])
@pytest.mark.parametrize("weighted", [False, True], ids=["no-weight", "weight"])
@pytest.mark.parametrize("kind", ["index-ignored", "probabilities"])
def test_cross_entropy_and_grad_matches_torch_loss_and_gradient(rng, kind, weighted,
                                                                label_smoothing, reduction, dtype):
    target, ignore_index = _target(kind, rng, dtype)
    weight = rng.uniform(0.25, 2.0, size=C).astype(dtype) if weighted else None
    options = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    check_against_torch(
        lambda logits, target, weight: sl.cross_entropy_and_grad(
            logits, target, weight=weight, **options)[0],
        lambda logits, target, weight: F.cross_entropy(logits, target, weight=weight, **options),
        {"logits": _logits(rng, dtype), "target": target, "weight": weight},
        wrt=("logits",),
        # the returned gradient is that of the loss itself: times the scalar upstream gradient
        sl_backward=lambda g, logits, target, weight: {"logits": g * sl.cross_entropy_and_grad(
            logits, target, weight=weight, **options)[1]},
        rng=rng, label="cross_entropy_and_grad", **TOL[dtype],
    )


@pytest.mark.parametrize("kind", ["index", "probabilities"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_cross_entropy_of_logits_up_to_1e4_matches_torch(rng, dtype, kind):
    logits = (1e4 * rng.uniform(-1, 1, size=(N, C))).astype(dtype)
    # Both sides get the same (already rounded) logits, so only the arithmetic differs. Its
    # dominant error: logsumexp ~1e4 is rounded once (u * 1e4: 6e-4 in float32, 1.1e-12 in
    # float64), and every log p = x - lse inherits that absolute error. A loss row sums
    # |coefficients| <= max weight (2) of them, a gradient entry p * (1 +- that error) times
    # weight 2 times |upstream| <~ 3. So atol = 4 * u * 1e4 * 2 * 3 ~ 24 * u * 1e4.
    u = float(np.finfo(dtype).eps) / 2
    tol = dict(atol=24 * u * 1e4, rtol=TOL[dtype]["rtol"])
    _ce_check(rng, dtype, kind, True, 0.1, "none", tol=tol, logits=logits,
              label=f"cross_entropy-1e4[{kind}]")


@pytest.mark.parametrize("dtype", FLOATS)
def test_cross_entropy_with_minus_inf_logits_matches_torch_where_torch_is_finite(rng, dtype):
    # -inf on a non-target class, label_smoothing 0: torch's loss and gradient are finite.
    logits = _logits(rng, dtype)
    labels = np.array([0, 1, 2, 3, 4, 0])
    logits[np.arange(N), (labels + 1) % C] = -np.inf
    options = dict(reduction="none")
    check_against_torch(
        lambda logits, target: sl.cross_entropy(logits, target, **options),
        lambda logits, target: F.cross_entropy(logits, target, **options),
        {"logits": logits, "target": labels}, wrt=("logits",),
        sl_backward=lambda g, logits, target: {
            "logits": sl.cross_entropy_backward(g, logits, target, **options)},
        rng=rng, label="cross_entropy-inf", **TOL[dtype])


# --------------------------------------------------------------------------------------------
# where scratchlin deliberately differs from torch, and torch's own edge cases


@pytest.mark.parametrize("dtype", FLOATS)
def test_zero_target_on_minus_inf_logit_is_finite_in_scratchlin_but_nan_in_torch(dtype):
    logits = np.array([[0.0, -np.inf, 1.0]], dtype=dtype)
    target = np.array([[0.5, 0.0, 0.5]], dtype=dtype)
    z = torch.tensor(logits, requires_grad=True)
    torch_loss = F.cross_entropy(z, torch.tensor(target))
    torch_loss.backward()
    # torch: 0 * log(0) = 0 * -inf = nan in the loss (its gradient happens to be finite)
    assert torch.isnan(torch_loss)
    # scratchlin: 0 * log 0 taken as its limit 0, so the loss is that of the finite entries:
    # 0.5 * (lse - 0) + 0.5 * (lse - 1) with lse = log(1 + e) = 1.3132616875182228.
    lse = np.log1p(np.e)
    expected_loss = 0.5 * lse + 0.5 * (lse - 1)
    loss, grad = sl.cross_entropy_and_grad(logits, target)
    np.testing.assert_allclose(loss, expected_loss, rtol=TOL[dtype]["rtol"])
    np.testing.assert_allclose(grad, z.grad.numpy(), **TOL[dtype])
    assert np.isfinite(grad).all()


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1], ids=["ls0", "ls0.1"])
@pytest.mark.parametrize("weighted", [False, True], ids=["no-weight", "weight"])
def test_all_targets_ignored_gives_nan_mean_and_zero_gradient_like_torch(rng, weighted, label_smoothing):
    logits = _logits(rng, np.float64)
    target = np.full(N, -100)
    weight = rng.uniform(0.25, 2.0, size=C) if weighted else None
    options = dict(weight=weight, label_smoothing=label_smoothing)
    z = torch.tensor(logits, requires_grad=True)
    torch_loss = F.cross_entropy(z, torch.tensor(target), label_smoothing=label_smoothing,
                                 weight=None if weight is None else torch.tensor(weight))
    torch_loss.backward()
    assert torch.isnan(torch_loss) and (z.grad == 0).all()  # torch's behaviour ...
    loss, grad = sl.cross_entropy_and_grad(logits, target, **options)
    assert np.isnan(loss)  # ... is scratchlin's
    np.testing.assert_array_equal(grad, np.zeros((N, C)))
    np.testing.assert_array_equal(sl.cross_entropy_backward(1.0, logits, target, **options), 0.0)


def test_negative_label_smoothing_is_accepted_by_torch_but_refused_by_scratchlin():
    logits, target = np.zeros((2, 3)), np.array([0, 1])
    assert torch.isfinite(F.cross_entropy(torch.tensor(logits), torch.tensor(target),
                                          label_smoothing=-0.1))
    with pytest.raises(ValueError, match=r"label_smoothing must be a finite number in \[0\.0, 1\.0\], got -0\.1"):
        sl.cross_entropy(logits, target, label_smoothing=-0.1)


# --------------------------------------------------------------------------------------------
# linear


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("x_shape", [(N, F_IN), (F_IN,)], ids=["batch", "single"])
def test_linear_and_backward_for_x_W_b_match_torch(rng, dtype, with_bias, x_shape):
    inputs = {"x": rng.standard_normal(x_shape).astype(dtype),
              "W": rng.standard_normal((F_IN, C)).astype(dtype)}
    if with_bias:
        inputs["b"] = rng.standard_normal(C).astype(dtype)

    def sl_backward(g, x, W, b=None):
        dx, dW, db = sl.linear_backward(g, x, W)
        return {"x": dx, "W": dW, "b": db} if b is not None else {"x": dx, "W": dW}

    # torch.nn.functional.linear takes weight as (out, in): the notebook's W is its transpose.
    check_against_torch(
        sl.linear, lambda x, W, b=None: x @ W + b if b is not None else x @ W, inputs,
        wrt=tuple(inputs), sl_backward=sl_backward, rng=rng, label="linear", **TOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_linear_equals_torch_functional_linear_with_transposed_weight(rng, dtype):
    x, W, b = (rng.standard_normal(s).astype(dtype) for s in ((N, F_IN), (F_IN, C), (C,)))
    expected = F.linear(torch.tensor(x, dtype=torch.float64), torch.tensor(W, dtype=torch.float64).T,
                        torch.tensor(b, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(sl.linear(x, W, b), expected, **TOL[dtype])


# --------------------------------------------------------------------------------------------
# float16: scratchlin computes in float32 and returns float16; compared with torch's float16


def _tol16(scale):
    return dict(atol=2 * EPS16 * scale, rtol=2 * EPS16)


def test_float16_softmax_and_backward_match_torch_float16(rng):
    # probabilities and their gradients are O(1)
    check_against_torch(
        lambda x: sl.softmax(x), lambda x: torch.softmax(x, dim=-1),
        {"x": _logits(rng, np.float16)}, wrt=("x",),
        sl_backward=lambda g, x: {"x": sl.softmax_backward(g, sl.softmax(x))},
        reference="native", rng=rng, label="softmax-f16", **_tol16(1.0))


def test_float16_log_softmax_and_backward_match_torch_float16(rng):
    # log-probabilities are O(|x|) ~ 10; the gradient g - p * sum(g) is O(|g| * C) ~ 4
    check_against_torch(
        lambda x: sl.log_softmax(x), lambda x: torch.log_softmax(x, dim=-1),
        {"x": _logits(rng, np.float16)}, wrt=("x",),
        sl_backward=lambda g, x: {"x": sl.log_softmax_backward(g, sl.log_softmax(x))},
        reference="native", rng=rng, label="log_softmax-f16", **_tol16(10.0),
        grad_atol=2 * EPS16 * 4.0, grad_rtol=2 * EPS16)


def test_float16_logsumexp_matches_torch_float16(rng):
    check_against_torch(lambda x: sl.logsumexp(x), lambda x: torch.logsumexp(x, dim=-1),
                        {"x": _logits(rng, np.float16)}, reference="native",
                        label="logsumexp-f16", **_tol16(10.0))


@pytest.mark.parametrize("kind", ["index", "index-ignored", "probabilities"])
def test_float16_cross_entropy_matches_torch_float16(rng, kind):
    # the mean loss is O(3); gradients of the mean are O(1 / N).
    tol = dict(**_tol16(3.0), grad_atol=2 * EPS16 / N, grad_rtol=2 * EPS16)
    _ce_check(rng, np.float16, kind, True, 0.1, "mean", tol=tol, reference="native")


def test_float16_linear_matches_torch_float16(rng):
    inputs = {"x": rng.standard_normal((N, F_IN)).astype(np.float16),
              "W": rng.standard_normal((F_IN, C)).astype(np.float16),
              "b": rng.standard_normal(C).astype(np.float16)}

    def sl_backward(g, x, W, b):
        dx, dW, db = sl.linear_backward(g, x, W)
        return {"x": dx, "W": dW, "b": db}

    # outputs and gradients are sums of ~7 products of N(0,1) numbers: O(3).
    check_against_torch(sl.linear, lambda x, W, b: x @ W + b, inputs, wrt=("x", "W", "b"),
                        sl_backward=sl_backward, reference="native", rng=rng,
                        label="linear-f16", **_tol16(3.0))


# --------------------------------------------------------------------------------------------
# torch's wider input surface: N-d cross-entropy, negative weights, tuple axes, 0-d inputs

SPATIAL = (3, 2)  # (d1, d2): logits (N, C, 3, 2), a class per position


def _nd_target(kind, rng, dtype):
    labels = rng.integers(0, C, size=(N,) + SPATIAL)
    if kind == "index":
        return labels, -100
    if kind == "index-ignored":
        labels[0, 1, 0] = labels[3, 2, 1] = -100
        return labels, -100
    if kind == "probabilities":
        probs = rng.dirichlet(np.ones(C), size=(N,) + SPATIAL)
        probs[0, 0, 0, 2] = 0.0
        probs /= probs.sum(axis=-1, keepdims=True)
        return np.moveaxis(probs, -1, 1).astype(dtype), -100
    raise AssertionError(kind)


def _ce_with_target_gradient(options):
    """scratchlin's gradients of cross_entropy: the logits' always, a float target's too."""
    def backward(g, logits, target, weight):
        grads = {"logits": sl.cross_entropy_backward(g, logits, target, weight=weight, **options)}
        if np.issubdtype(target.dtype, np.floating):
            no_ignore = {k: val for k, val in options.items() if k != "ignore_index"}
            grads["target"] = slf.cross_entropy_target_backward(g, logits, target, weight=weight, **no_ignore)
        return grads
    return backward


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1], ids=["ls0", "ls0.1"])
@pytest.mark.parametrize("weighted", [False, True], ids=["no-weight", "weight"])
@pytest.mark.parametrize("kind", ["index", "index-ignored", "probabilities"])
def test_nd_cross_entropy_and_its_gradients_match_torch(rng, kind, weighted, label_smoothing, reduction, dtype):
    target, ignore_index = _nd_target(kind, rng, dtype)
    weight = rng.uniform(0.25, 2.0, size=C).astype(dtype) if weighted else None
    options = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    check_against_torch(
        lambda logits, target, weight: sl.cross_entropy(logits, target, weight=weight, **options),
        lambda logits, target, weight: F.cross_entropy(logits, target, weight=weight, **options),
        {"logits": _logits(rng, dtype, (N, C) + SPATIAL), "target": target, "weight": weight},
        wrt=("logits", "target") if kind == "probabilities" else ("logits",),
        sl_backward=_ce_with_target_gradient(options),
        rng=rng, label=f"cross_entropy-nd[{kind}]", **TOL[dtype],
    )


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kind", ["index", "probabilities"])
def test_unbatched_cross_entropy_of_one_sample_matches_torch(rng, kind, reduction, dtype):
    target = np.array(3) if kind == "index" else rng.dirichlet(np.ones(C)).astype(dtype)
    options = dict(reduction=reduction, label_smoothing=0.1)
    check_against_torch(
        lambda logits, target, weight: sl.cross_entropy(logits, target, weight=weight, **options),
        lambda logits, target, weight: F.cross_entropy(logits, target, weight=weight, **options),
        {"logits": _logits(rng, dtype, (C,)), "target": target, "weight": rng.uniform(0.5, 2, C).astype(dtype)},
        wrt=("logits", "target") if kind == "probabilities" else ("logits",),
        sl_backward=_ce_with_target_gradient(options),
        rng=rng, label=f"cross_entropy-unbatched[{kind}]", **TOL[dtype],
    )


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("kind, reduction", [
    ("index", "sum"), ("index", "none"), ("probabilities", "mean"), ("probabilities", "sum")])
def test_negative_class_weights_match_torch_where_scratchlin_accepts_them(rng, dtype, kind, reduction):
    target = (rng.integers(0, C, size=N) if kind == "index"
              else rng.dirichlet(np.ones(C), size=N).astype(dtype))
    weight = rng.uniform(-2.0, 2.0, size=C).astype(dtype)
    weight[0] = -1.5  # at least one negative weight
    options = dict(reduction=reduction, label_smoothing=0.1)
    check_against_torch(
        lambda logits, target, weight: sl.cross_entropy(logits, target, weight=weight, **options),
        lambda logits, target, weight: F.cross_entropy(logits, target, weight=weight, **options),
        {"logits": _logits(rng, dtype), "target": target, "weight": weight},
        wrt=("logits", "target") if kind == "probabilities" else ("logits",),
        sl_backward=_ce_with_target_gradient(options),
        rng=rng, label=f"cross_entropy-negative-weight[{kind}]", **TOL[dtype],
    )


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdims", [False, True], ids=["squeeze", "keepdims"])
@pytest.mark.parametrize("shape, axis", [
    pytest.param((3, 4, 5), (0, 2), id="3d-axes-0-2"),
    pytest.param((3, 4, 5), (-1, 0, 1), id="3d-every-axis-negative"),
    pytest.param((6, 5), (0, 1), id="2d-both"),
    pytest.param((6, 5), [1], id="2d-list"),
    pytest.param((), (0,), id="0d"),
    pytest.param((), -1, id="0d-minus-1"),
])
def test_logsumexp_over_axes_and_its_backward_match_torch(rng, dtype, shape, axis, keepdims):
    check_against_torch(
        lambda x: sl.logsumexp(x, axis=axis, keepdims=keepdims),
        lambda x: torch.logsumexp(x, dim=axis, keepdim=keepdims),
        {"x": np.asarray(_logits(rng, dtype, shape))}, wrt=("x",),
        sl_backward=lambda g, x: {"x": slf.logsumexp_backward(g, x, axis=axis, keepdims=keepdims)},
        rng=rng, label="logsumexp-axes", **TOL[dtype])


SOFTMAXES = {"softmax": (sl.softmax, sl.softmax_backward, torch.softmax),
             "log_softmax": (sl.log_softmax, sl.log_softmax_backward, torch.log_softmax)}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape, axis", [pytest.param((), 0, id="0d"), pytest.param((), -1, id="0d-minus-1"),
                                         pytest.param((4, 0, 3), 1, id="empty-axis")])
@pytest.mark.parametrize("name", list(SOFTMAXES))
def test_softmax_and_log_softmax_of_0d_and_empty_inputs_match_torch(rng, name, dtype, shape, axis):
    forward, backward, torch_forward = SOFTMAXES[name]
    check_against_torch(
        lambda x: forward(x, axis=axis), lambda x: torch_forward(x, dim=axis),
        {"x": np.asarray(_logits(rng, dtype, shape))}, wrt=("x",),
        sl_backward=lambda g, x: {"x": backward(g, forward(x, axis=axis), axis=axis)},
        rng=rng, label=f"{name}-{shape}", **TOL[dtype])


# --------------------------------------------------------------------------------------------
# softmax_cross_entropy, the kernel under cross_entropy, the objective and evaluate


def _torch_weighted_mean_ce(logits, target, weight, label_smoothing):
    """torch's per-row cross-entropy, weighted mean over the rows (torch has no sample weight)."""
    rows = F.cross_entropy(logits, target, reduction="none", label_smoothing=label_smoothing)
    return rows.mean() if weight is None else (weight * rows).sum() / weight.sum()


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True], ids=["no-weight", "sample-weight"])
@pytest.mark.parametrize("spread", [3.0, 300.0], ids=["one-shift", "per-row-fallback"])
def test_softmax_cross_entropy_matches_torch(rng, dtype, label_smoothing, weighted, spread):
    # spread 300: rows hundreds apart, so some row lies far below the batch's max and the
    # kernel redoes the batch with per-row shifts. Logits of size ~|spread| lose u * spread
    # absolute in log p (see the 1e4 test above), hence atol scaled by spread.
    options = dict(label_smoothing=label_smoothing)
    u = float(np.finfo(dtype).eps) / 2
    check_against_torch(
        lambda logits, target, weight: np.asarray(slf.softmax_cross_entropy(
            logits, target, sample_weight=weight, **options)[0], dtype),
        lambda logits, target, weight: _torch_weighted_mean_ce(logits, target, weight, label_smoothing),
        {"logits": (spread / 3 * _logits(rng, dtype)).astype(dtype), "target": rng.integers(0, C, N),
         "weight": rng.uniform(0.0, 2.0, N).astype(dtype) if weighted else None},
        wrt=("logits",), sl_backward=lambda g, logits, target, weight: {"logits": g * slf.softmax_cross_entropy(
            logits, target, sample_weight=weight, **options)[1]},
        rng=rng, label="softmax_cross_entropy", atol=max(TOL[dtype]["atol"], 24 * u * spread),
        rtol=TOL[dtype]["rtol"])
