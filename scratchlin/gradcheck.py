r"""Finite-difference gradients, and a check of analytic gradients against them.

Central differences have truncation error :math:`O(\varepsilon^2)` and rounding error about
:math:`u / \varepsilon` (``u`` the unit roundoff). In float64 (``u`` ~ 1e-16) with
``eps=1e-6`` both are ~1e-10 relative, so a disagreement above the default tolerance is a bug.
In float32 (``u`` ~ 6e-8) the rounding error alone is ~0.1 for the same ``eps``, which is why
float32 inputs are refused instead of giving a meaningless verdict.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import _validation as v

__all__ = ["ACCURATE_EPS", "GradcheckError", "GradientComparison", "eps_warning",
           "numerical_gradient", "gradcheck"]

#: The steps for which central differences in float64 are accurate on a function of order 1:
#: at ``eps`` above, the truncation error (~eps**2) exceeds 1e-7 relative; below, the rounding
#: error (~1e-16 / eps). Outside, a large error says more about the step than the gradient.
ACCURATE_EPS = (1e-7, 1e-4)

class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the finite-difference one."""


@dataclass(frozen=True)
class GradientComparison:
    r"""How one analytic gradient compares with its numerical estimate.

    Attributes
    ----------
    name : str
        The input's name (its key, or ``"inputs[k]"`` for a sequence).
    max_abs_error : float
        :math:`\max |a - n|` over the elements.
    max_rel_error : float
        :math:`\max |a - n| / \max(|a|, |n|)` (CS231n's relative error; 0 where both are 0).
        Below ~1e-7 is a correct gradient in float64.
    worst_index : tuple of int
        Element with the largest violation of :math:`|a - n| \le atol + rtol\,|n|`.
    analytic, numerical : float
        The two values at ``worst_index``.
    passed : bool
        Whether every element satisfies the criterion.
    """

    name: str
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple
    analytic: float
    numerical: float
    passed: bool


def eps_warning(eps: float) -> str | None:
    """Why a finite-difference step ``eps`` outside :data:`ACCURATE_EPS` makes the check
    unreliable, or None for a step inside it."""
    low, high = ACCURATE_EPS
    if low <= eps <= high:
        return None
    cause = ("truncation error grows as eps**2" if eps > high
             else "rounding error grows as 1e-16/eps")
    return (f"eps={eps:g} is outside {low:.0e}..{high:.0e}, where float64 central differences are "
            f"accurate ({cause}): a large error at this step measures the step, not the gradient")


def _require_float64(x, name: str) -> np.ndarray:
    x = v.as_float_array(x, name)
    if x.dtype != np.float64:
        raise TypeError(
            f"{name} must be float64 for a finite-difference check, got {x.dtype}: in float32 "
            f"the rounding error of a central difference (~1e-1 at eps=1e-6) swamps any real "
            f"gradient error; call with {name}.astype(np.float64)"
        )
    return x


def _scalar(value) -> float:
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError(f"f must return a scalar, got an array of shape {value.shape}")
    return float(value.reshape(()))


def numerical_gradient(f: Callable[[np.ndarray], float], x, eps: float = 1e-6) -> np.ndarray:
    r"""Central-difference gradient of a scalar function at ``x``.

    .. math:: \frac{\partial f}{\partial x_k} \approx
              \frac{f(x + \varepsilon e_k) - f(x - \varepsilon e_k)}{2 \varepsilon}

    Parameters
    ----------
    f : callable
        ``f(x) -> scalar``. It receives a perturbed float64 copy, never ``x`` itself.
    x : ndarray of any shape, float64
        Point at which to differentiate.
    eps : float, default=1e-6
        Step size.

    Returns
    -------
    ndarray, shape of ``x``, float64
    """
    x = _require_float64(x, "x")
    eps = v.check_real(eps, "eps", low=0.0, low_open=True)
    point = x.copy()
    grad = np.empty_like(point)
    flat_point, flat_grad = point.reshape(-1), grad.reshape(-1)
    for k in range(flat_point.size):
        original = flat_point[k]
        flat_point[k] = original + eps
        f_plus = _scalar(f(point))
        flat_point[k] = original - eps
        f_minus = _scalar(f(point))
        flat_point[k] = original
        flat_grad[k] = (f_plus - f_minus) / (2 * eps)
    return grad


def _compare(name: str, analytic: np.ndarray, numerical: np.ndarray, atol: float, rtol: float):
    error = np.abs(analytic - numerical)
    scale = np.maximum(np.abs(analytic), np.abs(numerical))
    relative = np.divide(error, scale, out=np.zeros_like(error), where=scale > 0)
    excess = error - (atol + rtol * np.abs(numerical))
    worst = np.unravel_index(int(np.argmax(excess)), error.shape) if error.size else ()
    return GradientComparison(
        name=name,
        max_abs_error=float(error.max(initial=0.0)),
        max_rel_error=float(relative.max(initial=0.0)),
        worst_index=tuple(int(i) for i in worst),
        analytic=float(analytic[worst]) if error.size else 0.0,
        numerical=float(numerical[worst]) if error.size else 0.0,
        passed=bool((excess <= 0).all()),
    )


def _named(items, what: str) -> dict:
    if isinstance(items, Mapping):
        return dict(items)
    if isinstance(items, Sequence) and not isinstance(items, np.ndarray):
        return {f"inputs[{k}]": item for k, item in enumerate(items)}  # grads[k] pairs with it
    raise TypeError(f"{what} must be a sequence or a mapping of arrays, got {type(items).__name__}")


def gradcheck(f: Callable[..., float], inputs, grads, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> list[GradientComparison]:
    r"""Check analytic gradients of ``f`` against central differences, as torch's gradcheck.

    Every element must satisfy :math:`|a - n| \le atol + rtol\,|n|`, where ``a`` is the
    analytic and ``n`` the numerical gradient.

    Parameters
    ----------
    f : callable
        Scalar function: ``f(*inputs)`` for a sequence, ``f(**inputs)`` for a mapping.
    inputs : sequence or mapping of ndarray, float64
        Point of the check. Not modified.
    grads : same kind and keys as ``inputs``
        Analytic gradients of ``f`` at ``inputs``, each of its input's shape.
    eps : float, default=1e-6
        Finite-difference step.
    atol, rtol : float, default=1e-5, 1e-3
        Absolute and relative tolerance.
    raise_exception : bool, default=True
        Raise :class:`GradcheckError` on failure, or only report it.

    Returns
    -------
    list of GradientComparison
        One per input, with its worst absolute and relative errors.

    Raises
    ------
    GradcheckError
        If ``raise_exception`` and some element fails; the message names the input, the
        element, both values and the relative error.
    """
    named_inputs = {name: _require_float64(x, name) for name, x in _named(inputs, "inputs").items()}
    named_grads = _named(grads, "grads")
    if named_grads.keys() != named_inputs.keys():
        raise ValueError(f"grads must match inputs: inputs {list(named_inputs)}, grads {list(named_grads)}")
    call = (lambda values: f(**values)) if isinstance(inputs, Mapping) else (lambda values: f(*values.values()))

    results = []
    for name, x in named_inputs.items():
        analytic = np.asarray(named_grads[name], dtype=np.float64)
        v.check_same_shape(analytic, f"grads[{name!r}]", x, name)

        def f_of_this_input(point, name=name):
            return call({**named_inputs, name: point})

        numerical = numerical_gradient(f_of_this_input, x, eps=eps)
        results.append(_compare(name, analytic, numerical, atol, rtol))

    failures = [r for r in results if not r.passed]
    if failures and raise_exception:
        lines = [
            f"{r.name}{list(r.worst_index)}: analytic {r.analytic:.10g}, numerical {r.numerical:.10g} "
            f"(max abs error {r.max_abs_error:.3g}, max relative error {r.max_rel_error:.3g}; "
            f"atol={atol}, rtol={rtol})"
            for r in failures
        ]
        raise GradcheckError("gradient check failed for " + "; ".join(lines))
    return results
