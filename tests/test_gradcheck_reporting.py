"""What gradcheck reports and where its verdict's boundaries lie, on hand-computed cases.

The criterion is torch's: every element must satisfy |a - n| <= atol + rtol |n| (a analytic,
n numerical). The element a failure report names is the worst *violation* of that
criterion, which is not in general the element with the largest absolute error: a large
gradient entry may carry a large absolute error that its relative tolerance allows.

The functions below are polynomials whose central differences are known in closed form, so
every expected value is written by hand.
"""
import numpy as np
import pytest

import scratchlin as sl
from scratchlin.gradcheck import GradcheckError, numerical_gradient


def _square_sum(x):
    return np.sum(x ** 2)


def test_the_worst_violation_is_reported_not_the_largest_absolute_error():
    # f = sum x^2 at x = (100, 1): n = (200, 2). Analytic (200.1, 2.05):
    #   |a - n| = (0.1, 0.05), allowed = 1e-5 + 1e-3 |n| = (0.20001, 0.00201):
    #   element 0 has the largest error but is within tolerance; element 1 fails by 0.048.
    x = np.array([100.0, 1.0])
    analytic = np.array([200.1, 2.05])
    (result,) = sl.gradcheck(_square_sum, [x], [analytic], raise_exception=False)
    assert not result.passed
    assert result.worst_index == (1,)
    assert result.analytic == 2.05
    # central differences of x^2 are exact up to the rounding of f ~ 1e4: absolute error
    # ~ u f / eps = 1.1e-16 * 1e4 / 1e-6 ~ 1e-6, hence atol 1e-5 on every value below.
    np.testing.assert_allclose(result.numerical, 2.0, rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.max_abs_error, 0.1, rtol=0, atol=1e-5)  # still the maximum
    np.testing.assert_allclose(result.max_rel_error, 0.05 / 2.05, rtol=0, atol=1e-5)
    with pytest.raises(GradcheckError, match=r"inputs\[0\]\[1\]: analytic 2\.05, numerical "
                                             r"(2|2\.0000\d*|1\.9999\d*) "
                                             r"\(max abs error 0\.1, "):
        sl.gradcheck(_square_sum, [x], [analytic])


def test_the_worst_violation_in_two_dimensions_is_named_by_its_index():
    # n = 2 W; entry (0, 0) off by 0.5 on n = 2000 (allowed 2.00001), entry (1, 2) off by 0.01
    # on n = 0.2 (allowed 0.00021): only (1, 2) fails.
    W = np.array([[1000.0, 1.0, 1.0], [1.0, 1.0, 0.1]])
    analytic = 2 * W
    analytic[0, 0] += 0.5
    analytic[1, 2] += 0.01
    with pytest.raises(GradcheckError, match=r"for W\[1, 2\]: analytic 0\.21"):
        sl.gradcheck(lambda W: np.sum(W ** 2), {"W": W}, {"W": analytic})


def test_an_element_exactly_at_the_tolerance_passes():
    # f = 2 x at x = 1 with eps = 2**-10: every number involved is a power of two, so the
    # central difference is exactly 2. Analytic 2.25 is off by exactly atol = 0.25.
    x = np.array([1.0])
    (result,) = sl.gradcheck(lambda x: 2 * x.sum(), [x], [np.array([2.25])], eps=2.0 ** -10,
                             atol=0.25, rtol=0.0, raise_exception=False)
    assert result.numerical == 2.0
    assert result.passed
    (result,) = sl.gradcheck(lambda x: 2 * x.sum(), [x], [np.array([2.25 + 2 ** -20])],
                             eps=2.0 ** -10, atol=0.25, rtol=0.0, raise_exception=False)
    assert not result.passed


@pytest.mark.parametrize("analytic, passes", [(3.0, True), (5.3, False)])
def test_relative_tolerance_scales_with_the_numerical_value_not_the_analytic_one(analytic, passes):
    # n = 4 (x = 2). rtol = 0.3 allows |a - 4| <= 1.2 whatever a is: a = 3 passes (a 0.3 |a|
    # rule would allow only 0.9), a = 5.3 fails (0.3 |a| would allow 1.59).
    (result,) = sl.gradcheck(_square_sum, [np.array([2.0])], [np.array([analytic])], atol=0.0,
                             rtol=0.3, raise_exception=False)
    assert result.passed is passes


def test_relative_error_divides_by_the_larger_of_the_two_values():
    # a = 3, n = 4: 1 / max(3, 4) = 0.25; a = 5, n = 4: 1 / 5 = 0.2
    for analytic, expected in ((3.0, 0.25), (5.0, 0.2)):
        (result,) = sl.gradcheck(_square_sum, [np.array([2.0])], [np.array([analytic])],
                                 raise_exception=False)
        np.testing.assert_allclose(result.max_rel_error, expected, rtol=1e-8)


def test_every_failing_input_is_named_in_the_message():
    def f(a, b):
        return np.sum(a ** 2) + np.sum(b ** 2)

    a, b = np.array([1.0]), np.array([2.0])
    with pytest.raises(GradcheckError, match=r"inputs\[0\]\[0\]: analytic 3.*; inputs\[1\]\[0\]: analytic 5"):
        sl.gradcheck(f, [a, b], [np.array([3.0]), np.array([5.0])])


def test_the_step_size_argument_reaches_the_finite_differences():
    # f = x^3: the central difference is 3 x^2 + eps^2 exactly, so with eps = 0.1 the
    # reported error of the exact analytic gradient is eps^2 = 0.01 (not ~1e-10 at 1e-6).
    x = np.array([1.0, -2.0])
    (result,) = sl.gradcheck(lambda x: np.sum(x ** 3), [x], [3 * x ** 2], eps=0.1, atol=0.1,
                             raise_exception=False)
    np.testing.assert_allclose(result.max_abs_error, 0.01, rtol=1e-8)


def test_numerical_gradient_restores_each_element_before_the_next():
    # f = x0 x1 x2: d/dx_k is the product of the other two, and central differences of a
    # multilinear function are exact (to rounding, ~1e-16 / 1e-6 relative). An element left
    # perturbed by eps would shift the next ones by ~eps = 1e-6.
    x = np.array([2.0, 3.0, 5.0])
    np.testing.assert_allclose(numerical_gradient(lambda z: np.prod(z), x), [15.0, 10.0, 6.0],
                               rtol=1e-9)


def test_numerical_gradient_of_a_cubic_has_the_central_difference_error_eps_squared():
    # (f(x + e) - f(x - e)) / 2e = 3 x^2 + e^2 for f = x^3: one-sided differences or a 1/e
    # normaliser give 3 x^2 + 3 x e + e^2 or twice the value.
    x = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(numerical_gradient(lambda z: np.sum(z ** 3), x, eps=1e-2),
                               3 * x ** 2 + 1e-4, rtol=1e-9)
