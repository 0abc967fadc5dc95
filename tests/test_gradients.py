"""Analytic gradients against central finite differences in float64, and gradcheck itself.

Tolerance of every check here: atol = 1e-7, rtol = 1e-6 (the library defaults are 1e-5 and
1e-3). With eps = 1e-6 in float64 a central difference has truncation error
eps^2 / 6 * |f'''| ~ 2e-13 and rounding error ~ u * |f| / eps ~ 1.1e-10 * |f|. Our objectives
are |f| <~ 30, so the finite difference is good to ~3e-9 (the largest error seen over all the
checks below is 6.3e-9): atol 1e-7 leaves a >10x margin and is still 1e5 times smaller than
the error of any plausible mistake (a missing 1/N, a dropped weight or smoothing term, a
transposed product) on O(0.01..1) gradients.
"""
import warnings
from pathlib import Path

import numpy as np
import pytest

import scratchlin as sl
from scratchlin.gradcheck import GradcheckError, GradientComparison

ATOL, RTOL = 1e-7, 1e-6
N, C, F_IN = 6, 5, 4


def _check(f, inputs, grads):
    """gradcheck at this module's tolerance; also asserts it really compared something."""
    results = sl.gradcheck(f, inputs, grads, atol=ATOL, rtol=RTOL)
    assert results and all(r.passed for r in results)
    return results


# --------------------------------------------------------------------------------------------
# softmax, log_softmax, logsumexp


SHAPES_AXES = [
    pytest.param((N, C), -1, id="2d-last"),
    pytest.param((N, C), 0, id="2d-axis0"),
    pytest.param((2, 3, 4), 1, id="3d-axis1"),
    pytest.param((C,), 0, id="1d"),
]


@pytest.mark.parametrize("shape, axis", SHAPES_AXES)
def test_softmax_backward_matches_finite_differences(rng, shape, axis):
    x, g = 2 * rng.standard_normal(shape), rng.standard_normal(shape)
    _check(lambda x: np.sum(g * sl.softmax(x, axis=axis)), [x],
           [sl.softmax_backward(g, sl.softmax(x, axis=axis), axis=axis)])


@pytest.mark.parametrize("shape, axis", SHAPES_AXES)
def test_log_softmax_backward_matches_finite_differences(rng, shape, axis):
    x, g = 2 * rng.standard_normal(shape), rng.standard_normal(shape)
    _check(lambda x: np.sum(g * sl.log_softmax(x, axis=axis)), [x],
           [sl.log_softmax_backward(g, sl.log_softmax(x, axis=axis), axis=axis)])


@pytest.mark.parametrize("keepdims", [False, True], ids=["squeeze", "keepdims"])
@pytest.mark.parametrize("shape, axis", SHAPES_AXES)
def test_gradient_of_logsumexp_is_softmax(rng, shape, axis, keepdims):
    # logsumexp has no backward in the API; its gradient is softmax along the same axis.
    x = 2 * rng.standard_normal(shape)
    g = rng.standard_normal(sl.logsumexp(x, axis=axis, keepdims=keepdims).shape)
    g_kept = g if keepdims else np.expand_dims(g, axis)
    _check(lambda x: np.sum(g * sl.logsumexp(x, axis=axis, keepdims=keepdims)), [x],
           [g_kept * sl.softmax(x, axis=axis)])


# --------------------------------------------------------------------------------------------
# cross_entropy: every option


def _target(kind, rng):
    """(target, ignore_index) for each kind of target."""
    labels = rng.integers(0, C, size=N)
    if kind == "index":
        return labels, -100
    if kind == "index-ignored":
        labels[[0, 3]] = -100
        return labels, -100
    if kind == "index-ignore-class-1":
        labels[[1, 2]] = 1
        return labels, 1
    if kind == "one-hot":
        return np.eye(C)[labels], -100
    if kind == "probabilities":
        probs = rng.dirichlet(np.ones(C), size=N)
        probs[0, 2] = 0.0
        return probs / probs.sum(axis=1, keepdims=True), -100
    if kind == "unnormalised-probabilities":  # torch accepts any non-negative targets
        return rng.uniform(0, 2, size=(N, C)), -100
    raise AssertionError(kind)


TARGET_KINDS = ["index", "index-ignored", "index-ignore-class-1", "one-hot", "probabilities",
                "unnormalised-probabilities"]


def _upstream(rng, reduction):
    return rng.standard_normal(N) if reduction == "none" else np.array(rng.standard_normal())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 1.0], ids=["ls0", "ls0.1", "ls1"])
@pytest.mark.parametrize("weighted", [False, True], ids=["no-weight", "weight"])
@pytest.mark.parametrize("kind", TARGET_KINDS)
def test_cross_entropy_backward_matches_finite_differences(rng, kind, weighted, label_smoothing, reduction):
    logits = 2 * rng.standard_normal((N, C))
    target, ignore_index = _target(kind, rng)
    options = dict(weight=rng.uniform(0.25, 2.0, size=C) if weighted else None,
                   ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    g = _upstream(rng, reduction)
    _check(lambda z: np.sum(g * sl.cross_entropy(z, target, **options)), [logits],
           [sl.cross_entropy_backward(g, logits, target, **options)])


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1], ids=["ls0", "ls0.1"])
@pytest.mark.parametrize("weighted", [False, True], ids=["no-weight", "weight"])
@pytest.mark.parametrize("kind", ["index-ignored", "one-hot", "probabilities"])
def test_cross_entropy_and_grad_returns_the_loss_and_its_finite_difference_gradient(
        rng, kind, weighted, label_smoothing, reduction):
    logits = 2 * rng.standard_normal((N, C))
    target, ignore_index = _target(kind, rng)
    options = dict(weight=rng.uniform(0.25, 2.0, size=C) if weighted else None,
                   ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    loss, grad = sl.cross_entropy_and_grad(logits, target, **options)
    assert loss == sl.cross_entropy(logits, target, **options)  # the same forward pass
    _check(lambda z: sl.cross_entropy(z, target, **options), [logits], [grad])


@pytest.mark.parametrize("kind", ["index", "probabilities"])
def test_cross_entropy_gradient_with_minus_inf_logits_matches_finite_differences(rng, kind):
    # -inf on classes the target gives 0 (label_smoothing 0): the loss is finite, a
    # perturbed -inf stays -inf, so the numerical gradient there is 0 -- as the analytic one.
    logits = 2 * rng.standard_normal((N, C))
    labels = rng.integers(0, C, size=N)
    logits[np.arange(N), (labels + 2) % C] = -np.inf
    target = labels
    if kind == "probabilities":
        target = np.eye(C)[labels] * 0.7 + np.eye(C)[(labels + 1) % C] * 0.3
    grad = sl.cross_entropy_backward(1.0, logits, target)
    _check(lambda z: sl.cross_entropy(z, target), [logits], [grad])
    assert np.isfinite(grad).all()


# --------------------------------------------------------------------------------------------
# linear, and the whole linear-softmax-cross-entropy model


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("x_shape", [(N, F_IN), (F_IN,)], ids=["batch", "single-sample"])
def test_linear_backward_matches_finite_differences_for_x_W_b(rng, x_shape, with_bias):
    x, W, b = rng.standard_normal(x_shape), rng.standard_normal((F_IN, C)), rng.standard_normal(C)
    g = rng.standard_normal(x_shape[:-1] + (C,))
    dx, dW, db = sl.linear_backward(g, x, W)
    if with_bias:
        _check(lambda x, W, b: np.sum(g * sl.linear(x, W, b)), {"x": x, "W": W, "b": b},
               {"x": dx, "W": dW, "b": db})
    else:
        _check(lambda x, W: np.sum(g * sl.linear(x, W)), {"x": x, "W": W}, {"x": dx, "W": dW})


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1], ids=["ls0", "ls0.1"])
@pytest.mark.parametrize("weighted", [False, True], ids=["no-weight", "weight"])
@pytest.mark.parametrize("kind", ["index", "index-ignored", "one-hot", "probabilities"])
def test_model_gradients_dW_db_via_backward_chain_match_finite_differences(
        rng, kind, weighted, label_smoothing, reduction):
    # loss(W, b) = cross_entropy(linear(X, W, b), y); dW, db = linear_backward(dlogits, X, W)
    X = rng.uniform(0, 1, size=(N, F_IN))  # pixel-like features
    W, b = rng.standard_normal((F_IN, C)), rng.standard_normal(C)
    target, ignore_index = _target(kind, rng)
    options = dict(weight=rng.uniform(0.25, 2.0, size=C) if weighted else None,
                   ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)

    def loss(W, b):
        return sl.cross_entropy(sl.linear(X, W, b), target, **options)

    dlogits = sl.cross_entropy_backward(1.0, sl.linear(X, W, b), target, **options)
    _, dW, db = sl.linear_backward(dlogits, X, W)
    _check(loss, {"W": W, "b": b}, {"W": dW, "b": db})


# --------------------------------------------------------------------------------------------
# numerical_gradient


def test_numerical_gradient_of_sin_is_cos_to_truncation_and_rounding_error(rng):
    x = rng.uniform(-3, 3, size=(2, 3))
    got = sl.numerical_gradient(lambda x: np.sum(np.sin(x)), x)
    assert got.shape == x.shape and got.dtype == np.float64
    # truncation eps^2 / 6 ~ 2e-13, rounding ~ u * |f| / eps ~ 1e-9 for |f| <= 6
    np.testing.assert_allclose(got, np.cos(x), atol=1e-8, rtol=0)


def test_numerical_gradient_is_central_not_one_sided():
    # f = x^3 at x = 1 with eps = 1e-3: central gives 3 + eps^2 = 3.000001, forward 3.003001
    got = sl.numerical_gradient(lambda x: float(x[0] ** 3), np.array([1.0]), eps=1e-3)
    np.testing.assert_allclose(got, [3.000001], rtol=1e-9)


def test_numerical_gradient_never_modifies_x_nor_passes_it_to_f(rng):
    x = rng.standard_normal(4)
    before = x.copy()
    seen = []

    def f(point):
        seen.append(point is x or np.shares_memory(point, x))
        return np.sum(point ** 2)

    sl.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, before)
    assert seen and not any(seen)


# --------------------------------------------------------------------------------------------
# gradcheck itself


def _square_sum(x):
    return np.sum(x ** 2)


def test_gradcheck_passes_a_correct_gradient_and_reports_tiny_errors():
    x = np.array([1.0, 2.0, 3.0])
    (result,) = sl.gradcheck(_square_sum, [x], [2 * x])
    assert isinstance(result, GradientComparison)
    assert result.name == "inputs[0]" and result.passed
    assert result.max_abs_error < 1e-8 and result.max_rel_error < 1e-8  # d(x^2) = 2x exactly


def test_gradcheck_names_mapping_inputs_by_their_key_and_calls_f_with_keywords():
    def f(*, W, b):
        return np.sum(W ** 2) + 3 * np.sum(b)

    W, b = np.array([[1.0, -2.0]]), np.array([0.5])
    results = sl.gradcheck(f, {"W": W, "b": b}, {"W": 2 * W, "b": np.array([3.0])})
    assert [r.name for r in results] == ["W", "b"] and all(r.passed for r in results)


def test_gradcheck_raises_naming_the_input_element_and_both_values():
    x = np.array([1.0, 2.0, 3.0])
    wrong = np.array([2.0, 5.0, 6.0])  # element 1 should be 4
    with pytest.raises(GradcheckError, match=r"gradient check failed for inputs\[0\]\[1\]: analytic 5, "
                                             r"numerical (4|3\.99999\d*|4\.00000\d*) \(max abs error 1(\.0+\d*)?, "
                                             r"max relative error 0\.2(0+\d*)?; atol=1e-05, rtol=0\.001\)"):
        sl.gradcheck(_square_sum, [x], [wrong])
    with pytest.raises(AssertionError):  # a GradcheckError is an AssertionError for pytest
        sl.gradcheck(_square_sum, [x], [wrong])
    with pytest.raises(GradcheckError, match=r"for W\[0, 1\]: analytic 0"):
        sl.gradcheck(lambda W: np.sum(W ** 2), {"W": np.array([[1.0, 2.0]])}, {"W": np.array([[2.0, 0.0]])})


def test_gradcheck_without_raising_reports_the_worst_element():
    x = np.array([1.0, 2.0, 3.0])
    (result,) = sl.gradcheck(_square_sum, [x], [np.array([2.0, 5.0, 6.0])], raise_exception=False)
    assert not result.passed
    assert result.worst_index == (1,)
    assert result.analytic == 5.0
    np.testing.assert_allclose(result.numerical, 4.0, rtol=1e-8)
    np.testing.assert_allclose(result.max_abs_error, 1.0, rtol=1e-8)
    np.testing.assert_allclose(result.max_rel_error, 0.2, rtol=1e-8)  # 1 / max(|5|, |4|)


@pytest.mark.parametrize("rtol, passes", [(0.26, True), (0.24, False)], ids=["rtol-0.26-passes", "rtol-0.24-fails"])
def test_gradcheck_criterion_is_abs_error_within_atol_plus_rtol_times_numerical(rtol, passes):
    # |5 - 4| = 1 <= 0 + rtol * 4 iff rtol >= 0.25
    x = np.array([1.0, 2.0, 3.0])
    (result,) = sl.gradcheck(_square_sum, [x], [np.array([2.0, 5.0, 6.0])], atol=0.0, rtol=rtol,
                             raise_exception=False)
    assert result.passed is passes


def test_gradcheck_catches_a_mean_gradient_missing_its_1_over_n(rng):
    logits, labels = rng.standard_normal((N, C)), rng.integers(0, C, size=N)
    sum_gradient = sl.cross_entropy_backward(1.0, logits, labels, reduction="sum")
    with pytest.raises(GradcheckError, match=r"inputs\[0\]\[\d+, \d+\]"):
        sl.gradcheck(lambda z: sl.cross_entropy(z, labels), [logits], [sum_gradient])


def test_gradcheck_catches_a_one_percent_gradient_error_at_the_default_tolerance(rng):
    logits, labels = rng.standard_normal((N, C)), rng.integers(0, C, size=N)
    grad = sl.cross_entropy_backward(1.0, logits, labels)
    with pytest.raises(GradcheckError):
        sl.gradcheck(lambda z: sl.cross_entropy(z, labels), [logits], [1.01 * grad])


def test_gradcheck_does_not_modify_inputs_or_grads(rng):
    x = rng.standard_normal(3)
    grads = [2 * x]
    x_before, g_before = x.copy(), grads[0].copy()
    sl.gradcheck(_square_sum, [x], grads)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(grads[0], g_before)


@pytest.mark.parametrize("call, error, message", [
    pytest.param(lambda: sl.gradcheck(_square_sum, [np.ones(3, np.float32)], [np.ones(3)]), TypeError,
                 r"inputs\[0\] must be float64 for a finite-difference check, got float32: in float32 the "
                 r"rounding error of a central difference \(~1e-1 at eps=1e-6\) swamps any real gradient error",
                 id="gradcheck-float32"),
    pytest.param(lambda: sl.gradcheck(_square_sum, {"W": np.ones(3, np.float32)}, {"W": np.ones(3)}), TypeError,
                 r"W must be float64 for a finite-difference check, got float32.*call with W\.astype\(np\.float64\)",
                 id="gradcheck-float32-named"),
    pytest.param(lambda: sl.numerical_gradient(_square_sum, np.ones(3, np.float32)), TypeError,
                 r"x must be float64 for a finite-difference check, got float32.*call with x\.astype\(np\.float64\)",
                 id="numerical-gradient-float32"),
    pytest.param(lambda: sl.numerical_gradient(_square_sum, np.ones(3, np.float16)), TypeError,
                 r"x must be float64 for a finite-difference check, got float16", id="numerical-gradient-float16"),
    pytest.param(lambda: sl.numerical_gradient(_square_sum, np.ones(3, np.int64)), TypeError,
                 r"x must be a floating-point array .*got dtype int64", id="numerical-gradient-int"),
    pytest.param(lambda: sl.numerical_gradient(lambda x: 2 * x, np.ones(3)), ValueError,
                 r"f must return a scalar, got an array of shape \(3,\)", id="f-not-scalar"),
    pytest.param(lambda: sl.numerical_gradient(_square_sum, np.ones(3), eps=0.0), ValueError,
                 r"eps must be a finite number in \(0\.0, inf\), got 0\.0", id="eps-zero"),
    pytest.param(lambda: sl.gradcheck(_square_sum, [np.ones(3)], {"x": np.ones(3)}), ValueError,
                 r"grads must match inputs: inputs \['inputs\[0\]'\], grads \['x'\]", id="grads-keys"),
    pytest.param(lambda: sl.gradcheck(_square_sum, [np.ones(3)], [np.ones(2)]), ValueError,
                 r"grads\['inputs\[0\]'\] must have the shape of inputs\[0\] \(3,\), got \(2,\)", id="grads-shape"),
    pytest.param(lambda: sl.gradcheck(_square_sum, np.ones(3), [np.ones(3)]), TypeError,
                 r"inputs must be a sequence or a mapping of arrays, got ndarray", id="inputs-bare-array"),
])
def test_gradcheck_and_numerical_gradient_refuse_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("module", ["functional.py", "_validation.py", "gradcheck.py"])
def test_module_source_compiles_without_invalid_escape_warnings(module):
    # "\m" in a non-raw docstring is a DeprecationWarning today and a SyntaxWarning from
    # Python 3.12; it will become a SyntaxError. Docstrings with LaTeX must be r"""...""".
    path = Path(sl.__file__).parent / module
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile(path.read_text(), str(path), "exec")
