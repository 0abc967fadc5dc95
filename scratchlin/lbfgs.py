r"""L-BFGS with a strong-Wolfe line search, from scratch: the exact solver of the estimator.

:func:`minimize` finds the minimiser of a smooth function :math:`f : \mathbb{R}^n \to \mathbb{R}`
from its value and gradient alone. Each iteration

1. turns the gradient :math:`g_k` into a search direction :math:`d_k = -H_k g_k`, where
   :math:`H_k` approximates the inverse Hessian from the last ``m`` steps
   :math:`s_i = x_{i+1} - x_i` and gradient changes :math:`y_i = g_{i+1} - g_i`
   (the *two-loop recursion*, Nocedal & Wright, *Numerical Optimization*, Algorithm 7.4;
   ``m`` is 100 by default, see :func:`default_history_size`),
   with the initial scaling :math:`H^0_k = \frac{s^\top y}{y^\top y} I` of the newest pair;
2. picks a step :math:`t` along :math:`d_k` that satisfies the strong Wolfe conditions

   .. math::
       f(x_k + t d_k) &\le f(x_k) + c_1 t\, g_k^\top d_k
           \qquad\text{(sufficient decrease)} \\
       |\nabla f(x_k + t d_k)^\top d_k| &\le c_2\, |g_k^\top d_k|
           \qquad\text{(curvature)}

   with :math:`c_1 = 10^{-4}`, :math:`c_2 = 0.9` (Algorithms 3.5 and 3.6: bracket, then zoom by
   safeguarded cubic interpolation), or, where differences of :math:`f` have sunk below its
   rounding :math:`\epsilon_f`, Hager and Zhang's *approximate Wolfe conditions*, which
   decide on the directional derivative instead (see :class:`_LineSearch`). The curvature
   condition guarantees :math:`s^\top y > 0`, so :math:`H_k` stays positive definite and
   :math:`d_k` a descent direction.

It stops, *converged*, when the largest gradient entry is at most ``tol``
(:math:`\lVert g_k \rVert_\infty \le \text{tol}`, the test scikit-learn's ``lbfgs`` makes with
``gtol=tol``), or when an iteration lowers :math:`f` by a relative ``ftol`` or less
(:math:`\Delta_k / \max(|f_k|, 1) \le 64\,\epsilon`, SciPy's ``ftol`` as scikit-learn sets
it). The decrease :math:`\Delta_k` is :math:`f_{k-1} - f_k` where that exceeds
:math:`\epsilon_f`; below it, a difference of :math:`f` is rounding noise (it may even be
negative after a good step), so :math:`\Delta_k` is the trapezoid rule on the derivatives,
:math:`-t\,(\phi'(0) + \phi'(t))/2`, exact for a quadratic. When no step can be found at all
(the *precision limit*: the gradient itself is then rounding), it has converged if
:math:`\lVert g_k \rVert_\infty \le \text{tol} + ` ``grad_rounding``, and is *stalled*
otherwise. It also stops unconverged after ``max_iter`` iterations. Everything is
deterministic: the same inputs give the same bits.

:math:`\epsilon_f` starts at :data:`F_ROUNDING_ULPS` ``* precision * |f|`` (``precision``: the
unit roundoff of the arithmetic ``f`` is computed in, e.g. float32's for a float32 objective).
An objective can be rounded far more than that (:math:`\frac12 x^\top A x` loses about
:math:`\kappa(A)\,\epsilon` of its value to cancellation): when a search finds no step, the
largest gap it saw between :math:`\phi(t) - \phi(0)` and the trapezoid rule measures the
rounding, and the search is made again with that :math:`\epsilon_f` (kept for the
iterations after), up to :data:`MAX_F_ROUNDING` ``* |f|``.

References: J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer 2006
(Algorithms 3.5, 3.6, 7.4); W. W. Hager and H. Zhang, "A new conjugate gradient method with
guaranteed descent and an efficient line search", SIAM J. Optim. 16(1), 2005, and "Algorithm
851: CG_DESCENT", ACM TOMS 32(1), 2006.

For a strictly convex objective, such as the L2-penalised cross-entropy of
:mod:`scratchlin.objective`, the minimiser is unique and L-BFGS converges to it.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["LBFGSResult", "default_history_size", "minimize"]

#: The Wolfe constants: sufficient decrease and curvature.
C1, C2 = 1e-4, 0.9
#: Function evaluations one line search may make before it gives up.
MAX_LINE_SEARCH_EVALUATIONS = 25
#: The rounding level of ``f`` the line search assumes, in units of ``precision * |f|``.
F_ROUNDING_ULPS = 16
#: The most rounding of ``f`` a failed search may measure, relative to ``|f|``: Hager and
#: Zhang's default for their estimate of the error in ``f``. A larger gap between ``f`` and the
#: derivatives is the function's shape, not rounding.
MAX_F_ROUNDING = 1e-6
#: The stop reasons (``LBFGSResult.status``) that mean converged.
CONVERGED = ("gradient", "decrease", "precision_limit")
#: Memory the curvature pairs may take by default (two float64 vectors of size n per pair).
HISTORY_BYTES = 32 * 2**20


def default_history_size(n: int) -> int:
    """The pairs :func:`minimize` keeps by default for ``n`` unknowns: 100, or fewer so that
    they fit in :data:`HISTORY_BYTES` (32 MiB), but at least 10 (SciPy's ``maxcor``).

    Why 100 (measured on MNIST against 10 to 250 pairs): see the design notes.
    """
    return int(min(100, max(10, HISTORY_BYTES // (16 * max(n, 1)))))


@dataclass
class LBFGSResult:
    """What :func:`minimize` found.

    Attributes
    ----------
    x : ndarray of shape (n,), float64
        The last iterate (the minimiser, when ``converged``).
    fun : float
        :math:`f(x)`.
    grad : ndarray of shape (n,), float64
        :math:`\\nabla f(x)`.
    n_iter : int
        Iterations made (each one line search, one update of ``x``).
    n_evaluations : int
        Calls of the function, the first included.
    converged : bool
        Whether a convergence test (gradient or relative decrease) stopped it.
    status : str
        Why it stopped, as a code. Converged: ``"gradient"`` (the gradient test),
        ``"decrease"`` (the relative-decrease test), ``"precision_limit"`` (no step the
        arithmetic can tell lowers ``f``, with the gradient within its rounding of ``tol``).
        Not converged: ``"stalled"`` (no such step, with a larger gradient), ``"max_iter"``,
        ``"not_finite"`` (``f`` or its gradient at the iterate).
    message : str
        Why it stopped, in words.
    """

    x: np.ndarray
    fun: float
    grad: np.ndarray
    n_iter: int
    n_evaluations: int
    converged: bool
    status: str
    message: str


def _two_loop_direction(grad: np.ndarray, pairs: deque) -> np.ndarray:
    """``-H grad`` by the two-loop recursion over the ``(s, y, 1 / y.s)`` pairs, oldest first."""
    q = grad.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        alpha = rho * float(s @ q)
        q -= alpha * y
        alphas.append(alpha)
    if pairs:
        s, y, rho = pairs[-1]
        q *= float(s @ y) / float(y @ y)
    for (s, y, rho), alpha in zip(pairs, reversed(alphas)):
        beta = rho * float(y @ q)
        q += (alpha - beta) * s
    return np.negative(q, out=q)


def _cubic_minimiser(t1, f1, g1, t2, f2, g2, low, high) -> float:
    """The minimiser in ``[low, high]`` of the cubic through ``(t, f, f')`` at ``t1`` and ``t2``
    (Nocedal & Wright, eq. 3.59); the interval's midpoint if the cubic has none."""
    d1 = g1 + g2 - 3 * (f1 - f2) / (t1 - t2)
    discriminant = d1 * d1 - g1 * g2
    if discriminant < 0 or not np.isfinite(discriminant):
        return (low + high) / 2
    d2 = np.sign(t2 - t1) * np.sqrt(discriminant)
    t = t2 - (t2 - t1) * (g2 + d2 - d1) / (g2 - g1 + 2 * d2)
    return float(min(max(t, low), high)) if np.isfinite(t) else (low + high) / 2


@dataclass
class _Trial:
    """One point of a line search: the step ``t``, ``x + t d``, ``f``, ``grad`` and
    ``phi'(t) = grad . d``."""

    t: float
    x: np.ndarray
    f: float
    g: np.ndarray
    dphi: float


class _LineSearch:
    r"""The line search along ``d`` from ``x``: strong Wolfe, or approximate Wolfe where ``f``
    stops resolving the decrease.

    ``phi(t) = f(x + t d)`` and ``phi'(t) = grad(x + t d) . d``. The search brackets a step and
    zooms into the bracket by safeguarded cubic interpolation (Nocedal & Wright, Algorithms 3.5
    and 3.6). A trial is accepted when it satisfies the strong Wolfe conditions, or Hager and
    Zhang's *approximate Wolfe conditions* (2005, eq. 4.1; CG_DESCENT):

    .. math::
        \phi(t) \le \phi(0) + \epsilon_f, \qquad
        \sigma\,\phi'(0) \le \phi'(t) \le (2\delta - 1)\,\phi'(0)

    with :math:`\delta = c_1`, :math:`\sigma = c_2` and :math:`\epsilon_f` the rounding level of
    ``f``. The right inequality is the sufficient-decrease condition of a quadratic
    :math:`\phi` written with derivatives only, so it stays true where differences of ``f`` are
    rounding noise. Where ``|phi(t) - phi(0)| <= eps_f`` the bracket is also chosen on the
    sign of :math:`\phi'(t)`, never on ``f``.
    """

    def __init__(self, fun, x, f0, g0, d, f_rounding: float):
        self.fun, self.x, self.d = fun, x, d
        self.f0, self.g0, self.dphi0, self.f_rounding = f0, g0, float(g0 @ d), f_rounding
        self.evaluations = 0
        self.best: _Trial | None = None  # the lowest f below phi(0) by more than its rounding
        self.rounding_seen = 0.0  # the largest gap between f and the derivatives' trapezoid rule

    def _phi(self, t: float) -> _Trial:
        x = self.x + t * self.d
        f, g = self.fun(x)
        self.evaluations += 1
        trial = _Trial(t, x, float(f), g, float(g @ self.d))
        if np.isfinite(trial.f) and np.isfinite(trial.dphi):
            gap = abs(trial.f - self.f0 + t * (self.dphi0 + trial.dphi) / 2)
            self.rounding_seen = max(self.rounding_seen, gap)
        if trial.f < min(self.f0 - self.f_rounding, self.best.f if self.best else np.inf):
            self.best = trial
        return trial

    def _sufficient(self, t, f) -> bool:
        return f <= self.f0 + C1 * t * self.dphi0

    def _curvature(self, dphi) -> bool:
        return abs(dphi) <= -C2 * self.dphi0

    def _approximately_wolfe(self, f, dphi) -> bool:
        return f <= self.f0 + self.f_rounding and C2 * self.dphi0 <= dphi <= (2 * C1 - 1) * self.dphi0

    def _unresolved(self, f) -> bool:
        """Whether ``f`` differs from ``phi(0)`` by no more than its rounding."""
        return abs(f - self.f0) <= self.f_rounding

    def _acceptable(self, trial: _Trial) -> bool:
        strong_wolfe = self._sufficient(trial.t, trial.f) and self._curvature(trial.dphi)
        return strong_wolfe or self._approximately_wolfe(trial.f, trial.dphi)

    def _rises(self, trial: _Trial, f_before: float) -> bool:
        """Whether ``f`` says the minimiser lies before ``trial``: not finite, too little decrease,
        or no lower than ``f_before``. Unresolved values of ``f`` say nothing."""
        if not (np.isfinite(trial.f) and np.isfinite(trial.dphi)):
            return True
        if self._unresolved(trial.f):
            return False
        return not self._sufficient(trial.t, trial.f) or trial.f >= f_before

    def search(self, t: float) -> _Trial | None:
        """A trial satisfying the strong or the approximate Wolfe conditions, or the one that
        lowered ``f`` most when the evaluations run out (:data:`MAX_LINE_SEARCH_EVALUATIONS`);
        ``None`` if none lowered it by more than its rounding."""
        previous = _Trial(0.0, self.x, self.f0, self.g0, self.dphi0)
        while self.evaluations < MAX_LINE_SEARCH_EVALUATIONS:
            trial = self._phi(t)
            if self._rises(trial, previous.f if self.evaluations > 1 else np.inf):
                return self._zoom(previous, trial)
            if self._acceptable(trial):
                return trial
            if trial.dphi >= 0:
                return self._zoom(trial, previous)
            previous, t = trial, 2 * t  # still descending: step further
        return self.best

    def _zoom(self, lo: _Trial, hi: _Trial) -> _Trial | None:
        """Shrink the bracket ``[lo.t, hi.t]`` (``lo`` the better end, its derivative pointing
        into the bracket) until a trial is acceptable."""
        while self.evaluations < MAX_LINE_SEARCH_EVALUATIONS:
            low, high = sorted((lo.t, hi.t))
            width = high - low
            if width <= 1e-12 * max(high, 1e-300):
                break
            if np.isfinite(hi.f) and np.isfinite(hi.dphi):
                t = _cubic_minimiser(lo.t, lo.f, lo.dphi, hi.t, hi.f, hi.dphi, low, high)
            else:
                t = (low + high) / 2
            # Keep the trial away from the ends, or the bracket could shrink by a hair only.
            trial = self._phi(min(max(t, low + 0.1 * width), high - 0.1 * width))
            if self._rises(trial, lo.f):
                hi = trial
                continue
            if self._acceptable(trial):
                return trial
            if trial.dphi * (hi.t - lo.t) >= 0:
                hi = lo
            lo = trial
        return self.best


def _relative_decrease(f_old: float, f_new: float) -> float:
    return (f_old - f_new) / max(abs(f_old), abs(f_new), 1.0)


def _decrease(f_old: float, step: _Trial, dphi0: float, f_rounding: float) -> float:
    r"""What the step lowered ``f`` by: the difference of ``f`` where it exceeds its rounding,
    else the trapezoid rule on the derivatives, :math:`-t\,(\phi'(0) + \phi'(t)) / 2` (exact for
    a quadratic, and far less rounded than ``f`` near a minimiser)."""
    if f_old - step.f > f_rounding:
        return f_old - step.f
    return -step.t * (dphi0 + step.dphi) / 2


def _at_precision_limit(result, grad_max: float, tol: float, grad_rounding: float) -> LBFGSResult:
    """The result when no step can be told to lower ``f``: converged if the gradient is within
    its rounding of ``tol``."""
    where = (f"no step the arithmetic can tell lowers the objective, with the largest gradient "
             f"entry at {grad_max:.3g}")
    if grad_max <= tol + grad_rounding:
        return result("precision_limit", f"{where}, within its rounding ({grad_rounding:.2g}) of "
                                         f"tol={tol:g}: the precision limit")
    return result("stalled", f"{where}, above tol={tol:g} plus its rounding ({grad_rounding:.2g})")


def minimize(fun: Callable[[np.ndarray], tuple[float, np.ndarray]], x0, *, max_iter: int = 100,
             tol: float = 1e-4, history_size: int | None = None, ftol: float | None = None,
             precision: float | None = None, grad_rounding: float = 0.0,
             callback: Callable[[int, np.ndarray, float, np.ndarray], None] | None = None
             ) -> LBFGSResult:
    r"""Minimise ``fun`` from ``x0`` by L-BFGS (method and stopping rules in the module notes).

    Parameters
    ----------
    fun : callable ``x -> (f, grad)``
        ``x`` is a float64 vector of shape (n,) that ``fun`` must not keep or change; it returns
        :math:`f(x)` (a float) and :math:`\nabla f(x)` (shape (n,); copied before the next call).
    x0 : array_like of shape (n,)
        The starting point.
    max_iter : int, default=100
        Iterations at most (>= 0; 0 only evaluates ``x0``).
    tol : float, default=1e-4
        Converged when :math:`\lVert \nabla f \rVert_\infty \le` ``tol``.
    history_size : int or None, default=None
        ``m``, the pairs kept for the inverse-Hessian approximation (SciPy's ``maxcor``);
        None means :func:`default_history_size`.
    ftol : float or None, default=None
        Converged when an iteration's relative decrease of ``f`` is at most ``ftol``;
        None means ``64 * np.finfo(np.float64).eps``.
    precision : float or None, default=None
        The unit roundoff of the arithmetic ``fun`` computes in (``np.finfo(dtype).eps``);
        None means float64's. ``f`` is taken to be rounded to
        :math:`\epsilon_f =` :data:`F_ROUNDING_ULPS` ``* precision * |f|``.
    grad_rounding : float, default=0.0
        The rounding level of the gradient's entries. Where no step can be told to lower
        ``f``, :math:`\lVert \nabla f \rVert_\infty \le` ``tol + grad_rounding`` is
        convergence (status ``"precision_limit"``); a larger gradient is not (``"stalled"``).
    callback : callable ``(n_iter, x, f, grad) -> None``, default=None
        Called after each iteration with the new iterate (not to be changed).

    Returns
    -------
    LBFGSResult

    Examples
    --------
    The minimiser of :math:`f(x) = \frac{1}{2} x^\top A x - c^\top x` solves :math:`A x = c`:

    >>> import numpy as np
    >>> from scratchlin.lbfgs import minimize
    >>> A, c = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, 1.0])
    >>> result = minimize(lambda x: (0.5 * x @ A @ x - c @ x, A @ x - c), np.zeros(2), tol=1e-8)
    >>> result.converged, result.x.shape, result.grad.shape
    (True, (2,), (2,))
    >>> bool(np.abs(A @ result.x - c).max() <= 1e-8) or result.status == "decrease"
    True
    >>> np.allclose(result.x, np.linalg.solve(A, c))
    True
    """
    ftol = 64 * np.finfo(np.float64).eps if ftol is None else ftol
    precision = np.finfo(np.float64).eps if precision is None else precision
    x = np.array(x0, dtype=np.float64).ravel()
    f, g = fun(x)
    f, g = float(f), np.array(g, dtype=np.float64)
    evaluations, n_iter, f_rounding_seen = 1, 0, 0.0
    pairs: deque = deque(maxlen=default_history_size(x.size) if history_size is None else history_size)

    def result(status: str, message: str) -> LBFGSResult:
        return LBFGSResult(x, f, g, n_iter, evaluations, status in CONVERGED, status, message)

    while True:
        if not np.isfinite(f) or not np.isfinite(g).all():
            return result("not_finite", "the objective or its gradient is not finite at the iterate")
        if np.max(np.abs(g), initial=0.0) <= tol:
            return result("gradient", f"the largest gradient entry is at most tol={tol:g}")
        if n_iter >= max_iter:
            return result("max_iter", f"max_iter={max_iter} iterations reached first")
        d = _two_loop_direction(g, pairs)
        if not float(g @ d) < 0:  # rounding broke the approximation: restart from the gradient
            pairs.clear()
            d = -g
        # The first step of a fresh history has no curvature to scale it: at most a unit change.
        t = 1.0 if pairs else min(1.0, 1.0 / float(np.abs(g).sum()))
        f_rounding = max(F_ROUNDING_ULPS * precision * abs(f), f_rounding_seen)
        search = _LineSearch(fun, x, f, g, d, f_rounding)
        step = search.search(t)
        evaluations += search.evaluations
        measured = min(search.rounding_seen, MAX_F_ROUNDING * abs(f))
        if step is None and measured > f_rounding:
            # f is rounded more than assumed: search again at the rounding its trials showed.
            f_rounding = f_rounding_seen = measured
            search = _LineSearch(fun, x, f, g, d, f_rounding)
            step = search.search(t)
            evaluations += search.evaluations
        if step is None:
            return _at_precision_limit(result, float(np.max(np.abs(g))), tol, grad_rounding)
        decrease = _decrease(f, step, search.dphi0, f_rounding)
        g_new = np.array(step.g, dtype=np.float64)
        s, y = step.x - x, g_new - g
        sy = float(s @ y)
        if sy > 1e-10 * float(y @ y):
            pairs.append((s, y, 1.0 / sy))
        x, f, g = step.x, step.f, g_new
        n_iter += 1
        if callback is not None:
            callback(n_iter, x, f, g)
        if decrease <= ftol * max(abs(f), 1.0):
            return result("decrease", f"an iteration lowered the objective by a relative "
                                      f"{ftol:.2g} or less")
