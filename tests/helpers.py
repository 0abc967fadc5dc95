"""One helper to compare a scratchlin function with its PyTorch counterpart.

In the spirit of tinygrad's ``helper_test_op``: the same inputs go to both libraries; the
helper checks the output's shape, then its dtype, then its values, then -- with one random
upstream gradient shared by both -- the gradient with respect to every input in ``wrt``
(shape, dtype, values), and finally that scratchlin left its inputs untouched.

Import it from a test module (pytest's default "prepend" import mode puts ``tests/`` on
``sys.path``)::

    torch = pytest.importorskip("torch")
    from helpers import check_against_torch

The value reference
-------------------
``reference="float64"`` (the default) runs torch on float64 copies of the inputs (exact, as
every float16/float32 value is a float64 value), so a float32 scratchlin result is compared
with the *exact* answer up to float64 rounding -- "tests against float64 torch", as micrograd
does. The tolerance then only has to cover scratchlin's own float32 rounding, not torch's as
well. The expected *dtype* still comes from torch run at the inputs' own dtype.

``reference="native"`` compares with torch run at the inputs' own dtype (used for float16,
where the question is "does scratchlin agree with torch's float16", and both sides round).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

_TORCH_FLOAT = {
    np.dtype(np.float16): torch.float16,
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float64): torch.float64,
}
_NUMPY_FLOAT = {t: n for n, t in _TORCH_FLOAT.items()}


@dataclass
class Observed:
    """Largest errors seen by one ``check_against_torch`` call (for reporting)."""

    label: str
    dtype: str
    forward_abs: float
    forward_rel: float
    backward_abs: dict = field(default_factory=dict)
    backward_rel: dict = field(default_factory=dict)


#: Every call appends here, so a throwaway script can print the worst errors once.
OBSERVED: list[Observed] = []


def _to_torch(value, float_dtype, requires_grad=False):
    """numpy -> torch: floats to ``float_dtype`` (exact upcast), integers to int64 (torch
    wants Long class indices, e.g. for MNIST's uint8 labels); None and Python scalars pass."""
    if value is None or not isinstance(value, np.ndarray):
        return value
    if np.issubdtype(value.dtype, np.floating):
        tensor = torch.tensor(value, dtype=float_dtype)
        return tensor.requires_grad_(requires_grad)
    if np.issubdtype(value.dtype, np.integer):
        return torch.tensor(value.astype(np.int64))
    raise TypeError(f"no torch conversion for dtype {value.dtype}")


def _float_dtype_of(inputs: dict) -> np.dtype:
    dtypes = {v.dtype for v in inputs.values()
              if isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.floating)}
    if len(dtypes) != 1:
        raise ValueError(f"inputs must share one float dtype, got {dtypes}")
    return dtypes.pop()


def _errors(actual: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """Max absolute and relative error over the elements where both are finite."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    finite = np.isfinite(actual) & np.isfinite(expected)
    if not finite.any():
        return 0.0, 0.0
    diff = np.abs(actual[finite] - expected[finite])
    scale = np.abs(expected[finite])
    rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    return float(diff.max()), float(rel.max())


def _assert_same(what: str, actual: np.ndarray, expected_tensor, expected_dtype, atol, rtol):
    expected = expected_tensor.detach().numpy()
    assert np.shape(actual) == tuple(expected_tensor.shape), (
        f"{what}: shape {np.shape(actual)}, torch {tuple(expected_tensor.shape)}")
    assert np.asarray(actual).dtype == expected_dtype, (
        f"{what}: dtype {np.asarray(actual).dtype}, torch {expected_dtype}")
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected.astype(np.float64),
                               atol=atol, rtol=rtol, equal_nan=True, err_msg=what)
    return _errors(actual, expected)


def check_against_torch(sl_forward, torch_forward, inputs: dict, *, atol: float, rtol: float,
                        wrt=(), sl_backward=None, grad_atol=None, grad_rtol=None,
                        reference: str = "float64", rng=None, label: str = "") -> Observed:
    """Run ``sl_forward(**inputs)`` and ``torch_forward(**tensors)`` and compare them.

    Parameters
    ----------
    sl_forward : callable
        ``sl_forward(**inputs) -> ndarray`` (the scratchlin function, options bound).
    torch_forward : callable
        ``torch_forward(**tensors) -> Tensor``, the same computation in torch.
    inputs : dict of name -> ndarray (or None)
        Float arrays, sharing one dtype, go to torch as that dtype (or float64, see
        ``reference``); integer arrays go as int64.
    atol, rtol : float
        Forward tolerance: ``|sl - torch| <= atol + rtol * |torch|`` elementwise.
    wrt : tuple of str
        Inputs to differentiate with respect to; empty for a forward-only check.
    sl_backward : callable
        ``sl_backward(grad_output, **inputs) -> dict name -> gradient`` (scratchlin's backward).
    grad_atol, grad_rtol : float, default ``atol``, ``rtol``
        Backward tolerance.
    reference : {"float64", "native"}
        Torch run in float64 or at the inputs' dtype for the values (module docstring).
    rng : numpy Generator
        Source of the random upstream gradient (standard normal, in the output's dtype,
        the same numbers for both libraries).

    Returns
    -------
    Observed
        The largest forward and backward errors (also appended to ``OBSERVED``).
    """
    if reference not in ("float64", "native"):
        raise ValueError(f"reference must be 'float64' or 'native', got {reference!r}")
    grad_atol = atol if grad_atol is None else grad_atol
    grad_rtol = rtol if grad_rtol is None else grad_rtol
    dtype = _float_dtype_of(inputs)
    native = _TORCH_FLOAT[dtype]
    ref_dtype = torch.float64 if reference == "float64" else native
    before = {k: v.copy() for k, v in inputs.items() if isinstance(v, np.ndarray)}

    # 1. torch at the inputs' own dtype gives the expected output dtype.
    with torch.no_grad():
        native_out = torch_forward(**{k: _to_torch(v, native) for k, v in inputs.items()})
    expected_dtype = _NUMPY_FLOAT[native_out.dtype]

    # 2. torch at the reference dtype gives the values.
    tensors = {k: _to_torch(v, ref_dtype, requires_grad=k in wrt) for k, v in inputs.items()}
    ref_out = torch_forward(**tensors)

    out = sl_forward(**inputs)
    fwd_abs, fwd_rel = _assert_same(f"{label} forward", out, ref_out, expected_dtype, atol, rtol)
    observed = Observed(label, str(dtype), fwd_abs, fwd_rel)

    if wrt:
        if rng is None or sl_backward is None:
            raise ValueError("a backward check needs sl_backward and rng")
        upstream = np.asarray(rng.standard_normal(np.shape(out))).astype(expected_dtype)
        ref_out.backward(torch.tensor(upstream, dtype=ref_dtype))
        grads = sl_backward(upstream, **inputs)
        assert set(grads) == set(wrt), f"sl_backward returned {set(grads)}, expected {set(wrt)}"
        for name in wrt:
            expected_grad_dtype = _NUMPY_FLOAT[native]  # d(out)/d(input) has the input's dtype
            b_abs, b_rel = _assert_same(f"{label} d/d{name}", grads[name], tensors[name].grad,
                                        expected_grad_dtype, grad_atol, grad_rtol)
            observed.backward_abs[name], observed.backward_rel[name] = b_abs, b_rel

    for name, original in before.items():
        np.testing.assert_array_equal(inputs[name], original,
                                      err_msg=f"{label}: scratchlin modified input {name!r}")
    OBSERVED.append(observed)
    return observed
