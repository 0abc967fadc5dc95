"""scratchlin.functional against PyTorch's own sample inputs (its OpInfo database).

``torch.testing._internal.common_methods_invocations.op_db`` holds, for each torch operation,
the sample inputs torch's test suite runs it on: scalars, empty tensors, tuples of dims,
N-d cross-entropy, negative class weights. Each sample of the six operations below, in
float32 and float64 (one_hot: int64 labels), is translated into the scratchlin call and

* either computed by scratchlin: its value, and its gradient from scratchlin's ``*_backward``
  rules with respect to every tensor torch differentiates (one random upstream gradient shared
  by both), must equal torch's: shape, dtype and values;
* or refused with ``ValueError`` / ``TypeError``: the message must match one of the documented
  refusals in :data:`REFUSALS`, each of which is also named in ``scratchlin.functional``'s
  "Differences from torch".

Translations (not differences in meaning): torch's ``dim``/``keepdim`` are ``axis``/``keepdims``;
``softmax(x, dim, dtype=d)`` is ``softmax(x.astype(d), axis)`` (the input is cast first, and the
gradient cast back to the input's dtype, as torch does); torch's linear weight is (out, in),
scratchlin's ``W`` is (in, out) = its transpose; one_hot is asked for int64 (torch's dtype).

The reference and tolerances
----------------------------
The values and gradients are compared with torch run in float64 on float64 copies of the
sample (exact upcasts), so that a float32 result is judged against the exact answer, with
``|scratchlin - torch| <= atol + rtol * |torch|`` elementwise. OpInfo's values lie in [-9, 9]
and every output is a sum of at most 50 terms (logsumexp over a 5 x 5 block) of magnitude
<= ~50, so the rounding bound n * u * sum|terms| is ~2.5e-13 in float64 and ~1.5e-4 in
float32 in the very worst case, typical errors being a few ulps of the result:

* float64: rtol = 1e-10, atol = 1e-12 (the largest errors observed are ~1e-15);
* float32: rtol = 1e-5, atol = 1e-5 (~170 ulps of an O(1) value; observed ~1e-6).

A formula mistake (a wrong sign, a missing normaliser) moves results by >= 1e-2.

Run as a script (``python tests/test_opinfo.py``) it prints the counts per operation; with
``--module PATH`` it loads that file as ``scratchlin.functional`` instead (for a comparison
with another version of the module).
"""
from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass, field

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")  # torch's op_db imports it
from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402

import scratchlin.functional as sl_functional  # noqa: E402

OP_NAMES = ("softmax", "log_softmax", "logsumexp", "nn.functional.cross_entropy",
            "nn.functional.one_hot", "nn.functional.linear")
FLOAT_DTYPES = (torch.float32, torch.float64)
TOL = {torch.float64: dict(rtol=1e-10, atol=1e-12), torch.float32: dict(rtol=1e-5, atol=1e-5)}
SEED = 0


@dataclass(frozen=True)
class Refusal:
    """A torch input scratchlin refuses on purpose: the operation, the message, and the phrase
    that names it in ``scratchlin.functional``'s "Differences from torch"."""

    op: str
    message: str  # a regular expression the error message matches
    doc_phrase: str


#: Every deliberate refusal, as documented in scratchlin.functional's module docstring.
REFUSALS = (
    Refusal("nn.functional.cross_entropy",
            r"weight holds a negative entry .* reduction='mean' with class-index targets divides by "
            r"the sum of the targets' weights",
            "Negative class weights with reduction=\"mean\" and class-index targets"),
)


# --------------------------------------------------------------------------------------------
# torch samples as numpy, and the scratchlin call of each


def _to_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().numpy().copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_to_numpy(v) for v in value)
    return value


_NUMPY_DTYPE = {torch.float32: np.float32, torch.float64: np.float64}


@dataclass
class Call:
    """A sample as a scratchlin call: its forward, and its backward as name -> gradient."""

    forward: object  # () -> ndarray
    backward: object  # (upstream gradient) -> dict name -> ndarray


def _softmax_like(F, forward_name):
    backward = getattr(F, forward_name + "_backward")

    def translate(x, args, kwargs):
        axis = args[0] if args else kwargs["dim"]
        cast = "dtype" in kwargs  # torch's dtype=: cast the input first, the gradient back
        work = x.astype(_NUMPY_DTYPE[kwargs["dtype"]]) if cast else x
        forward = getattr(F, forward_name)

        def input_gradient(g):
            grad = backward(g, forward(work, axis=axis), axis=axis)
            return {"input": grad.astype(x.dtype) if cast else grad}
        return Call(lambda: forward(work, axis=axis), input_gradient)
    return translate


def _logsumexp(F):
    def translate(x, args, kwargs):
        axis, keepdims = args
        return Call(lambda: F.logsumexp(x, axis=axis, keepdims=keepdims),
                    lambda g: {"input": F.logsumexp_backward(g, x, axis=axis, keepdims=keepdims)})
    return translate


def _cross_entropy(F):
    def translate(logits, args, kwargs):
        (target,) = args
        options = dict(kwargs)

        def backward(g):
            grads = {"input": F.cross_entropy_backward(g, logits, target, **options)}
            if np.issubdtype(target.dtype, np.floating):
                no_ignore = {k: val for k, val in options.items() if k != "ignore_index"}
                grads["target"] = F.cross_entropy_target_backward(g, logits, target, **no_ignore)
            return grads
        return Call(lambda: F.cross_entropy(logits, target, **options), backward)
    return translate


def _one_hot(F):
    def translate(labels, args, kwargs):
        num_classes = args[0] if args else kwargs.get("num_classes", -1)
        return Call(lambda: F.one_hot(labels, num_classes, dtype=np.int64), None)
    return translate


def _linear(F):
    def translate(x, args, kwargs):
        weight, bias = args[0], (args[1] if len(args) > 1 else None)
        W = weight.T  # torch's weight is (out, in)

        def backward(g):
            dx, dW, db = F.linear_backward(g, x, W)
            grads = {"input": dx, "weight": dW.T}
            if bias is not None:
                grads["bias"] = db
            return grads
        return Call(lambda: F.linear(x, W, bias), backward)
    return translate


TRANSLATORS = {
    "softmax": lambda F: _softmax_like(F, "softmax"),
    "log_softmax": lambda F: _softmax_like(F, "log_softmax"),
    "logsumexp": _logsumexp,
    "nn.functional.cross_entropy": _cross_entropy,
    "nn.functional.one_hot": _one_hot,
    "nn.functional.linear": _linear,
}


def _torch_leaves(op_name, sample) -> dict:
    """The sample's tensors that torch differentiates, by the names the translators use."""
    names = {"input": sample.input}
    if op_name == "nn.functional.cross_entropy":
        names["target"] = sample.args[0]
    if op_name == "nn.functional.linear":
        names["weight"] = sample.args[0]
        if len(sample.args) > 1:
            names["bias"] = sample.args[1]
    return {k: t for k, t in names.items() if isinstance(t, torch.Tensor) and t.requires_grad}


def _as_float64(value):
    """A float64 copy of every floating tensor, keeping requires_grad (exact upcasts)."""
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            return value.detach().clone()
        return value.detach().to(torch.float64).requires_grad_(value.requires_grad)
    if isinstance(value, (list, tuple)):
        return type(value)(_as_float64(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_float64(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------------------------
# running one sample


@dataclass
class Outcome:
    op: str
    dtype: str
    index: int
    description: str
    refused: str | None = None  # the error message
    disagreements: list = field(default_factory=list)

    @property
    def documented(self) -> bool:
        return any(r.op == self.op and re.search(r.message, self.refused) for r in REFUSALS)


def _describe(sample) -> str:
    def shape(a):
        return f"{tuple(a.shape)} {str(a.dtype).replace('torch.', '')}" if isinstance(a, torch.Tensor) else repr(a)
    kwargs = ", ".join(f"{k}={shape(val)}" for k, val in sample.kwargs.items())
    return f"input {shape(sample.input)}, args [{', '.join(shape(a) for a in sample.args)}], {kwargs}"


def _compare(what, actual, expected: torch.Tensor, expected_dtype, tol, out: list):
    actual = np.asarray(actual)
    want = expected.detach().numpy()
    if actual.shape != tuple(expected.shape):
        out.append(f"{what}: shape {actual.shape}, torch {tuple(expected.shape)}")
    elif actual.dtype != expected_dtype:
        out.append(f"{what}: dtype {actual.dtype}, torch {expected_dtype}")
    elif not np.allclose(actual.astype(np.float64), want.astype(np.float64), equal_nan=True, **tol):
        err = np.nanmax(np.abs(actual.astype(np.float64) - want)) if actual.size else 0.0
        out.append(f"{what}: largest difference {err:.3g} (tolerance {tol})")


def run_sample(F, op, index, sample, dtype, rng) -> Outcome:
    """Run one OpInfo sample through torch (float64 reference) and scratchlin; compare."""
    outcome = Outcome(op.name, str(dtype).replace("torch.", ""), index, _describe(sample))
    native = op.op(sample.input, *sample.args, **sample.kwargs)  # the dtype torch returns
    reference = _as_float64(sample)
    expected = op.op(reference.input, *reference.args, **reference.kwargs)
    leaves = _torch_leaves(op.name, reference)
    x, args, kwargs = _to_numpy(sample.input), _to_numpy(tuple(sample.args)), _to_numpy(dict(sample.kwargs))
    try:
        call = TRANSLATORS[op.name](F)(x, args, kwargs)
        got = call.forward()
        g = rng.standard_normal(np.shape(got)).astype(got.dtype) if leaves else None
        grads = call.backward(g) if leaves else {}
    except (ValueError, TypeError, AttributeError) as error:  # AttributeError: no such rule
        outcome.refused = f"{type(error).__name__}: {error}"
        return outcome
    tol = TOL.get(dtype, dict(rtol=0, atol=0))
    _compare("value", got, expected, native.detach().numpy().dtype, tol, outcome.disagreements)
    if leaves:
        torch_grads = torch.autograd.grad(expected, list(leaves.values()), torch.tensor(g, dtype=expected.dtype))
        native_leaves = _torch_leaves(op.name, sample)  # for the dtype of each gradient
        for name, torch_grad in zip(leaves, torch_grads):
            leaf_dtype = native_leaves[name].detach().numpy().dtype
            if name not in grads:
                outcome.disagreements.append(f"gradient of {name}: scratchlin gives none")
                continue
            _compare(f"gradient of {name}", grads[name], torch_grad, leaf_dtype, tol, outcome.disagreements)
    return outcome


def run_op(F, op, dtype) -> list[Outcome]:
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    samples = op.sample_inputs("cpu", dtype, requires_grad=dtype.is_floating_point)
    return [run_sample(F, op, i, sample, dtype, rng) for i, sample in enumerate(samples)]


def _cases():
    for op in op_db:
        if op.name in OP_NAMES:
            dtypes = (torch.int64,) if op.name == "nn.functional.one_hot" else FLOAT_DTYPES
            for dtype in dtypes:
                name = op.name + (f"[{op.variant_test_name}]" if op.variant_test_name else "")
                yield pytest.param(op, dtype, id=f"{name}-{str(dtype).replace('torch.', '')}")


CASES = list(_cases())


# --------------------------------------------------------------------------------------------
# the tests


def test_every_named_operation_has_opinfo_samples_in_both_float_dtypes():
    ids = {case.id for case in CASES}
    for name in OP_NAMES:
        dtypes = ("int64",) if name == "nn.functional.one_hot" else ("float32", "float64")
        for dtype in dtypes:
            assert f"{name}-{dtype}" in ids, f"op_db has no {name} samples in {dtype}"


@pytest.mark.parametrize("op, dtype", CASES)
def test_every_opinfo_sample_equals_torch_or_is_a_documented_refusal(op, dtype, record_property):
    outcomes = run_op(sl_functional, op, dtype)
    assert outcomes, "no sample inputs"
    refused = [o.refused for o in outcomes if o.refused is not None]
    counts = f"{len(outcomes)} samples, {len(outcomes) - len(refused)} computed, {len(refused)} refused"
    record_property("counts", counts)  # in the JUnit XML report; printed with pytest -rP
    print(f"{op.name} {str(dtype).replace('torch.', '')}: {counts}", *(f"  refused: {r}" for r in refused), sep="\n")
    problems = [f"sample {o.index} ({o.description}): {'; '.join(o.disagreements)}"
                for o in outcomes if o.disagreements]
    problems += [f"sample {o.index} ({o.description}): undocumented refusal: {o.refused}"
                 for o in outcomes if o.refused is not None and not o.documented]
    assert not problems, "\n".join(problems)


def _differences_section() -> str:
    doc = sl_functional.__doc__
    assert "Differences from torch" in doc, "functional.py's docstring has no 'Differences from torch'"
    return doc[doc.index("Differences from torch"):]


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda r: r.doc_phrase)
def test_every_documented_refusal_is_named_in_the_differences_from_torch(refusal):
    assert refusal.doc_phrase in _differences_section()


def test_a_negative_weighted_mean_is_refused_with_why_and_what_to_do():
    # The documented refusal in OpInfo's own sample form: weight with a negative entry.
    logits, target = np.zeros((2, 3)), np.array([0, 1])
    weight = np.array([1.0, -2.0, 0.5])
    with pytest.raises(ValueError, match=REFUSALS[0].message + r".*use reduction='sum' or 'none'"):
        sl_functional.cross_entropy(logits, target, weight=weight)


# --------------------------------------------------------------------------------------------
# the counts, as a script


def counts(F) -> dict:
    """(operation, dtype) -> (samples, equal, refused, disagreeing, refusal reasons)."""
    table = {}
    for case in CASES:
        op, dtype = case.values
        outcomes = run_op(F, op, dtype)
        refused = [o.refused for o in outcomes if o.refused is not None]
        bad = sum(1 for o in outcomes if o.disagreements)
        table[case.id] = (len(outcomes), len(outcomes) - len(refused) - bad, len(refused), bad, refused)
    return table


def _load(path):
    spec = importlib.util.spec_from_file_location("scratchlin._functional_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv):
    F = _load(argv[argv.index("--module") + 1]) if "--module" in argv else sl_functional
    table = counts(F)
    print(f"{'operation-dtype':44} samples  equal  refused  disagree")
    totals = np.zeros(4, int)
    for case_id, (n, equal, refused, bad, reasons) in table.items():
        totals += (n, equal, refused, bad)
        print(f"{case_id:44} {n:7} {equal:6} {refused:8} {bad:9}")
        if "--reasons" in argv:
            for reason in sorted(set(reasons)):
                print(f"    {reasons.count(reason)} x {reason[:150]}")
    print(f"{'total':44} {totals[0]:7} {totals[1]:6} {totals[2]:8} {totals[3]:9}")


if __name__ == "__main__":
    main(sys.argv)
