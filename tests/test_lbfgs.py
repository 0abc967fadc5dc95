"""scratchlin.lbfgs: the from-scratch L-BFGS against known minimisers and SciPy's L-BFGS-B.

The references are closed forms (a quadratic's minimiser solves a linear system; Rosenbrock's
is all ones) and SciPy's Fortran L-BFGS-B on the same functions, never the code under test.
"""
import numpy as np
import pytest

from scratchlin.lbfgs import C1, C2, _LineSearch, _two_loop_direction, default_history_size, minimize

optimize = pytest.importorskip("scipy.optimize")


def quadratic(A, c):
    """f(x) = x.A.x/2 - c.x with its gradient; the minimiser solves A x = c."""
    return lambda x: (0.5 * x @ A @ x - c @ x, A @ x - c)


def rosenbrock(x):
    return optimize.rosen(x), optimize.rosen_der(x)


def spd_matrix(rng, n, condition):
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return Q @ np.diag(np.logspace(0, np.log10(condition), n)) @ Q.T


@pytest.mark.parametrize("n, condition", [(5, 10.0), (40, 1e2), (40, 1e3)])
def test_a_quadratic_is_minimised_to_its_linear_solve(rng, n, condition):
    A, c = spd_matrix(rng, n, condition), rng.normal(size=n)
    result = minimize(quadratic(A, c), np.zeros(n), max_iter=5000, tol=1e-7)
    assert result.converged, result.message
    # The smallest eigenvalue is 1, so |x - x*|_2 <= |A x - c|_2 = |g|_2, whatever stopped it.
    assert np.linalg.norm(result.x - np.linalg.solve(A, c)) <= np.linalg.norm(result.grad) <= np.sqrt(n) * 1e-5


def _distances_to_the_minimiser(condition, seed, history_size):
    """Ours and SciPy's |x - x*| on an n=40 quadratic, both run until the arithmetic stops them."""
    rng = np.random.default_rng(seed)
    A, c = spd_matrix(rng, 40, condition), rng.normal(size=40)
    ours = minimize(quadratic(A, c), np.zeros(40), max_iter=20_000, tol=1e-12, ftol=1e-16,
                    history_size=history_size)
    theirs = optimize.minimize(quadratic(A, c), np.zeros(40), jac=True, method="L-BFGS-B",
                               options={"maxiter": 20_000, "maxfun": 100_000, "gtol": 1e-12,
                                        "ftol": 1e-16, "maxcor": 10})
    assert ours.status in ("gradient", "decrease", "precision_limit", "stalled"), ours.message
    x_star = np.linalg.solve(A, c)
    return np.linalg.norm(ours.x - x_star), np.linalg.norm(theirs.x - x_star)


@pytest.mark.parametrize("condition, history_size", [
    (1e4, 10), (1e5, 10), pytest.param(1e6, 10, marks=pytest.mark.slow), (1e5, None)],
    ids=["1e4, m=10 as SciPy", "1e5, m=10 as SciPy", "1e6, m=10 as SciPy", "1e5, default m"])
def test_ill_conditioned_quadratics_end_as_close_as_scipy(condition, history_size):
    """Where the objective's last digits cannot tell the last steps apart (SciPy's L-BFGS-B ends
    ABNORMAL), ours decides on the derivative and must end no farther from the minimiser than
    SciPy on the geometric mean over 5 problems, and never 3 times farther on one. Each
    distance is decided by rounding, which varies with the BLAS kernel: a single problem
    compared with a margin could flip from one CPU to the next, a mean over five (and, for the
    worst, a factor of 3) cannot unless the method is worse."""
    ratios = np.array([np.divide(*_distances_to_the_minimiser(condition, seed, history_size))
                       for seed in range(5)])
    assert np.exp(np.log(ratios).mean()) <= 1.0, ratios
    assert ratios.max() <= 3.0, ratios


def test_a_flat_objective_with_a_gradient_is_solved_on_the_derivative():
    """f returns the same value everywhere (rounding has swallowed every difference) while the
    gradient is that of a quadratic: the strong Wolfe conditions can never hold, the
    approximate Wolfe conditions do, and the decrease test must not take f's standstill for
    convergence."""
    A, c = np.diag([1.0, 10.0, 100.0]), np.array([1.0, 1.0, 1.0])
    result = minimize(lambda x: (1.0, A @ x - c), np.zeros(3), max_iter=200, tol=1e-10, ftol=0.0)
    assert result.status == "gradient", result.message
    np.testing.assert_allclose(result.x, np.linalg.solve(A, c), rtol=1e-8)


def test_the_default_memory_is_100_pairs_within_32_mib():
    assert default_history_size(7850) == 100  # MNIST's W and b
    assert default_history_size(2**17) == 16  # 32 MiB / (16 bytes * 2**17)
    assert default_history_size(10**8) == 10


@pytest.mark.parametrize("n", [2, 10, 30])
def test_rosenbrock_reaches_all_ones_as_scipy_does(n):
    x0 = np.tile([-1.2, 1.0], n // 2)
    ours = minimize(rosenbrock, x0, max_iter=2000, tol=1e-9)
    theirs = optimize.minimize(rosenbrock, x0, jac=True, method="L-BFGS-B",
                               options={"maxiter": 2000, "gtol": 1e-9, "ftol": 1e-15})
    assert ours.converged, ours.message
    np.testing.assert_allclose(ours.x, np.ones(n), atol=1e-6)
    np.testing.assert_allclose(theirs.x, np.ones(n), atol=1e-5)
    # Same method, same memory (m=10): comparable work, within a factor of 2 of SciPy's.
    assert ours.n_evaluations <= 2 * theirs.nfev + 10


def test_the_gradient_test_is_on_the_largest_entry():
    A, c = np.eye(3), np.array([1.0, 2.0, 3.0])
    result = minimize(quadratic(A, c), np.array([1.0, 2.0, 3.0 + 5e-5]), tol=1e-4)
    # |g|_inf = 5e-5 <= tol at the start (|g|_1 and |g|_2 also are; the point is no step is made)
    assert result.converged and result.n_iter == 0 and result.n_evaluations == 1
    result = minimize(quadratic(A, c), np.array([1.0, 2.0, 3.0 + 2e-4]), tol=1e-4)
    assert result.converged and result.n_iter >= 1


def test_max_iter_stops_unconverged_with_the_reason(rng):
    A, c = spd_matrix(rng, 30, 1e4), rng.normal(size=30)
    result = minimize(quadratic(A, c), np.zeros(30), max_iter=3, tol=1e-12)
    assert not result.converged and result.n_iter == 3
    assert result.message == "max_iter=3 iterations reached first" and result.status == "max_iter"


def test_the_same_inputs_give_the_same_bits(rng):
    A, c = spd_matrix(rng, 20, 1e3), rng.normal(size=20)
    first = minimize(quadratic(A, c), np.ones(20), tol=1e-9)
    second = minimize(quadratic(A, c), np.ones(20), tol=1e-9)
    assert first.x.tobytes() == second.x.tobytes() and first.n_evaluations == second.n_evaluations


def test_a_non_finite_start_is_reported_not_iterated():
    result = minimize(lambda x: (np.inf, np.zeros_like(x)), np.zeros(2))
    assert not result.converged and result.n_iter == 0
    assert "not finite" in result.message


def test_the_callback_sees_each_iterate_and_the_objective_falls(rng):
    A, c = spd_matrix(rng, 10, 100.0), rng.normal(size=10)
    fun = quadratic(A, c)
    seen = []
    result = minimize(fun, np.zeros(10), tol=1e-10, callback=lambda k, x, f, g: seen.append((k, x.copy(), f)))
    assert [k for k, _, _ in seen] == list(range(1, result.n_iter + 1))
    values = [f for _, _, f in seen]
    assert all(b < a for a, b in zip(values, values[1:]))  # strictly decreasing
    for _, x, f in seen:
        assert f == pytest.approx(fun(x)[0], rel=1e-12)


def test_the_accepted_step_satisfies_both_strong_wolfe_conditions(rng):
    fun = rosenbrock
    x = np.array([-1.2, 1.0, -0.5, 0.3])
    f, g = fun(x)
    d = -g
    step = _LineSearch(fun, x, f, g, d, f_rounding=0.0).search(min(1.0, 1.0 / np.abs(g).sum()))
    t, x_new, f_new, g_new = step.t, step.x, step.f, step.g
    dphi0 = g @ d
    assert f_new <= f + C1 * t * dphi0  # sufficient decrease
    assert abs(g_new @ d) <= C2 * abs(dphi0)  # curvature
    np.testing.assert_allclose(x_new, x + t * d)


def test_the_two_loop_recursion_equals_the_explicit_bfgs_inverse(rng):
    """With every pair kept, H_k g from the recursion equals the BFGS inverse-Hessian update
    H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T applied to H0 = (s.y / y.y) I."""
    n = 6
    A = spd_matrix(rng, n, 50.0)
    pairs = []
    for _ in range(4):
        s = rng.normal(size=n)
        y = A @ s
        pairs.append((s, y, 1.0 / (s @ y)))
    s_last, y_last, _ = pairs[-1]
    H = (s_last @ y_last) / (y_last @ y_last) * np.eye(n)
    for s, y, rho in pairs:
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    g = rng.normal(size=n)
    np.testing.assert_allclose(_two_loop_direction(g, pairs), -H @ g, rtol=1e-10, atol=1e-12)


def test_the_first_step_changes_no_entry_by_more_than_one():
    """Without curvature yet, the first trial step is t = min(1, 1/|g|_1) along -g."""
    trials = []

    def fun(x):
        trials.append(x.copy())
        return 0.5 * float(x @ x) * 1e6, 1e6 * x

    minimize(fun, np.full(4, 3.0), max_iter=1)
    assert np.abs(trials[1] - trials[0]).max() <= 1.0 + 1e-12


def _search_from(f0, dphi0, f_rounding=0.0):
    """A line search whose phi(0) = f0 and phi'(0) = g0 . d = dphi0 (1-D, d = 1)."""
    return _LineSearch(lambda x: (0.0, np.zeros(1)), np.zeros(1), f0, np.array([dphi0]), np.array([1.0]),
                       f_rounding)


def test_sufficient_decrease_demands_c1_of_the_linear_decrease():
    search = _search_from(f0=1.0, dphi0=-1.0)  # the linear model predicts f0 - t at step t
    assert search._sufficient(1.0, 1.0 - 2e-4)       # more than c1 * t = 1e-4 below f0
    assert not search._sufficient(1.0, 1.0 - 0.5e-4)  # less than that
    assert not search._sufficient(1.0, 1.0 + 0.5e-4)  # a step that raises f is never accepted


def test_the_curvature_condition_is_the_strong_one():
    search = _search_from(f0=1.0, dphi0=-1.0)
    assert search._curvature(-0.5) and search._curvature(0.5)  # |phi'(t)| <= c2 |phi'(0)|
    assert not search._curvature(-0.95)  # still falling steeply: step further
    assert not search._curvature(0.95)   # rising steeply: the weak condition would accept this


def test_the_approximate_wolfe_conditions_are_hager_and_zhangs():
    """sigma phi'(0) <= phi'(t) <= (2 delta - 1) phi'(0) and phi(t) <= phi(0) + eps_f."""
    search = _search_from(f0=1.0, dphi0=-1.0, f_rounding=1e-6)
    assert search._approximately_wolfe(1.0 + 1e-6, -0.5)     # f within its rounding, falling gently
    assert search._approximately_wolfe(1.0, 0.99)           # rising, but less than 1 - 2 c1
    assert not search._approximately_wolfe(1.0 + 2e-6, -0.5)  # f rose by more than its rounding
    assert not search._approximately_wolfe(1.0, -0.95)        # still falling steeply
    assert not search._approximately_wolfe(1.0, 1.0)          # rising as fast as it fell: too far
    assert C2 * -1.0 == -0.9 and (2 * C1 - 1) * -1.0 == pytest.approx(0.9998)


def test_f_is_unresolved_within_its_rounding_only():
    search = _search_from(f0=1.0, dphi0=-1.0, f_rounding=1e-6)
    assert search._unresolved(1.0 - 0.5e-6) and search._unresolved(1.0 + 0.5e-6)
    assert not search._unresolved(1.0 - 2e-6) and not search._unresolved(1.0 + 2e-6)


def test_a_float32_objective_is_solved_to_its_gradients_rounding():
    """f and its gradient computed in float32, the solver told so: it ends near the gradient's
    float32 rounding, Higham's bound n u (|A| |x| + |c|) for each entry of A x - c (n products
    summed), though differences of f stop resolving progress far earlier."""
    n = 20
    A, c = spd_matrix(np.random.default_rng(0), n, 1e3), np.ones(n)
    A32, c32 = A.astype(np.float32), c.astype(np.float32)

    def float32_quadratic(x):
        x32 = x.astype(np.float32)
        return float(np.float32(0.5) * x32 @ A32 @ x32 - c32 @ x32), (A32 @ x32 - c32).astype(np.float64)

    x_star = np.linalg.solve(A, c)
    floor = n * np.finfo(np.float32).eps * (np.abs(A).sum(axis=1).max() * np.abs(x_star).max() + 1.0)
    result = minimize(float32_quadratic, np.zeros(n), max_iter=2000, tol=0.0, ftol=0.0,
                      precision=float(np.finfo(np.float32).eps))
    assert result.status == "stalled", result.message  # tol=0 cannot be met
    # The search decides on g . d, a sum of n rounded entries, so it may stop with the gradient
    # a small multiple of one entry's rounding: within twice the bound.
    assert np.abs(result.grad).max() <= 2 * floor, (np.abs(result.grad).max(), floor)


def test_stopping_at_the_precision_limit_is_convergence_only_near_tol():
    """No step can lower f (it rises in every direction the search tries, yet the gradient
    says otherwise): converged when the gradient is within its rounding of tol, else stalled."""
    def impossible(x):  # the gradient points downhill, but f only ever rises
        return float(1.0 + np.sum(np.abs(x))), np.full_like(x, 1e-3)

    near = minimize(impossible, np.zeros(2), tol=0.9e-3, grad_rounding=0.2e-3)
    assert near.status == "precision_limit" and near.converged, near.message
    far = minimize(impossible, np.zeros(2), tol=0.5e-3, grad_rounding=0.2e-3)
    assert far.status == "stalled" and not far.converged, far.message
    assert "1e-03" in far.message or "0.001" in far.message


def test_an_objective_rounded_beyond_its_dtype_is_solved_on_the_measured_rounding():
    """f carries a deterministic error of 1e-10 (far above 16 float64 units of |f| ~ 1, far
    below the 1e-6 |f| cap), its gradient none: the search must measure that rounding and go on
    to the gradient tolerance, which f's differences stop resolving at gradients near 1e-5."""
    A, c = np.diag(np.logspace(0, 2, 6)), np.ones(6)

    def noisy(x):
        return 0.5 * x @ A @ x - c @ x + 1e-10 * np.sin(1e7 * x.sum()), A @ x - c

    result = minimize(noisy, np.zeros(6), max_iter=500, tol=1e-8, ftol=0.0)
    assert result.status == "gradient", result.message
