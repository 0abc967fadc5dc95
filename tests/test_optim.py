"""Tests of scratchlin.optim: parity with torch.optim, in-place updates, schedules, errors."""
import math
import re
import tracemalloc

import numpy as np
import pytest

from scratchlin.optim import (
    DEFAULT_LR,
    OPTIMIZERS,
    SCHEDULES,
    SGD,
    Adam,
    AdamW,
    AdaptiveLR,
    ConstantLR,
    CosineLR,
    StepLR,
    get_optimizer,
    get_schedule,
    make_optimizer,
    make_schedule,
)

torch = pytest.importorskip("torch")

N_STEPS = 5
SHAPES = {"W": (7, 3), "b": (3,)}

# float64: our arithmetic is torch's, operation for operation, but torch's CPU kernels fuse
# some multiply-adds (FMA) and NumPy cannot, so each op may differ by ~1 ulp (1.1e-16);
# a few dozen ops over 5 steps stay far below 1e-12, while any formula error (a missing
# bias correction, a dampened first buffer) moves entries by >= 1e-4.
# float32: the same ~1 ulp per op, ulp = 6e-8, hence 1e-6.
# atol = rtol because parameters are O(1): for an entry that lands near 0 only the absolute
# error is meaningful.
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def random_params(rng, dtype):
    return {name: rng.standard_normal(shape).astype(dtype) for name, shape in SHAPES.items()}


def random_grads(rng, dtype):
    # A random scale per step makes the second moment shrink at times, so AMSGrad's running
    # maximum differs from v_t.
    scale = 10.0 ** rng.uniform(-2, 1)
    return {name: (scale * rng.standard_normal(shape)).astype(dtype) for name, shape in SHAPES.items()}


def schedule_lrs(base_lr, varying):
    """Per-step learning rates: constant, or a warm-up + cosine schedule changing every step."""
    schedule = CosineLR(total_epochs=N_STEPS, warmup_epochs=1) if varying else ConstantLR()
    return [schedule(base_lr, step) for step in range(N_STEPS)]


def run_against_torch(ours_cls, torch_cls, hyper, dtype, lrs, rng):
    """Run both optimizers on the same params and grads; return (ours, torch's) params."""
    params = random_params(rng, dtype)
    tensors = {k: torch.tensor(p.copy(), dtype=TORCH_DTYPE[dtype], requires_grad=True)
               for k, p in params.items()}
    ours = ours_cls(params, **hyper)
    theirs = torch_cls(list(tensors.values()), **hyper)
    for lr in lrs:
        grads = random_grads(rng, dtype)
        ours.step(grads, lr=lr)
        theirs.param_groups[0]["lr"] = lr
        for name, tensor in tensors.items():
            tensor.grad = torch.from_numpy(grads[name].copy())
        theirs.step()
    return params, {k: t.detach().numpy() for k, t in tensors.items()}


def assert_params_close(ours, theirs, dtype):
    tol = TOLERANCE[dtype]
    for name in ours:
        assert ours[name].dtype == dtype
        np.testing.assert_allclose(ours[name], theirs[name], rtol=tol, atol=tol, err_msg=name)


SGD_GRID = [
    dict(momentum=0.0, weight_decay=0.0),
    dict(momentum=0.0, weight_decay=1e-2),
    dict(momentum=0.9, weight_decay=0.0),
    dict(momentum=0.9, weight_decay=1e-2),
    dict(momentum=0.9, dampening=0.5, weight_decay=0.0),
    dict(momentum=0.9, dampening=0.5, weight_decay=1e-2),
    # dampening 0.5 cannot tell (1 - tau) g from tau g; 0.3 can (survivor of issue 13)
    dict(momentum=0.9, dampening=0.3, weight_decay=0.0),
    dict(momentum=0.9, nesterov=True, weight_decay=0.0),
    dict(momentum=0.9, nesterov=True, weight_decay=1e-2),
]
ADAM_GRID = [
    dict(weight_decay=0.0),
    dict(weight_decay=1e-2),
    dict(weight_decay=1e-2, decoupled_weight_decay=True),
    dict(weight_decay=0.0, amsgrad=True),
    dict(weight_decay=1e-2, amsgrad=True),
    dict(weight_decay=1e-2, decoupled_weight_decay=True, amsgrad=True),
]
DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("varying_lr", [False, True], ids=["const_lr", "scheduled_lr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("hyper", SGD_GRID, ids=str)
def test_sgd_matches_torch(hyper, dtype, varying_lr, rng):
    lrs = schedule_lrs(0.1, varying_lr)
    ours, theirs = run_against_torch(SGD, torch.optim.SGD, dict(lr=0.1, **hyper), dtype, lrs, rng)
    assert_params_close(ours, theirs, dtype)


@pytest.mark.parametrize("varying_lr", [False, True], ids=["const_lr", "scheduled_lr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("hyper", ADAM_GRID, ids=str)
def test_adam_matches_torch_adam_and_adamw(hyper, dtype, varying_lr, rng):
    hyper = dict(lr=1e-2, **hyper)
    if hyper.pop("decoupled_weight_decay", False):
        ours_cls = lambda params, **kw: Adam(params, decoupled_weight_decay=True, **kw)  # noqa: E731
        torch_cls = torch.optim.AdamW
    else:
        ours_cls, torch_cls = Adam, torch.optim.Adam
    lrs = schedule_lrs(1e-2, varying_lr)
    ours, theirs = run_against_torch(ours_cls, torch_cls, hyper, dtype, lrs, rng)
    assert_params_close(ours, theirs, dtype)


def test_adamw_via_get_optimizer_equals_torch_adamw(rng):
    ours, theirs = run_against_torch(
        lambda params, **kw: get_optimizer("ADAM", params, decoupled_weight_decay=True, **kw),
        torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.1), np.float64, [1e-2] * N_STEPS, rng)
    assert_params_close(ours, theirs, np.float64)


def sgdw_reference(param, grads, lrs, momentum, weight_decay):
    """SGDW written out: p <- (1 - lr wd) p; b <- g (first step) or mu b + g; p <- p - lr b."""
    param = param.copy()
    buf = None
    for grad, lr in zip(grads, lrs):
        param = (1 - lr * weight_decay) * param
        buf = grad if buf is None else momentum * buf + grad
        param = param - lr * (buf if momentum else grad)
    return param


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_decoupled_weight_decay_is_sgdw(momentum, rng):
    W = rng.standard_normal((4, 3))
    start = W.copy()
    grads = [rng.standard_normal(W.shape) for _ in range(N_STEPS)]
    lrs = schedule_lrs(0.1, varying=True)
    opt = SGD({"W": W}, lr=0.1, momentum=momentum, weight_decay=0.05, decoupled_weight_decay=True)
    for grad, lr in zip(grads, lrs):
        opt.step({"W": grad}, lr=lr)
    expected = sgdw_reference(start, grads, lrs, momentum, weight_decay=0.05)
    np.testing.assert_allclose(W, expected, rtol=1e-12, atol=1e-12)  # ~1 ulp per op, as above


@pytest.mark.parametrize("make", [
    lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2),
    lambda p: Adam(p, lr=1e-2, weight_decay=1e-2, amsgrad=True),
], ids=["sgd", "adam"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_updates_in_place_keeping_dtype_and_leaving_grads_alone(make, dtype, rng):
    storage = rng.standard_normal((6, 8)).astype(dtype)
    W = storage[:, ::2]  # a strided view: updating it must write through to storage
    b = np.zeros(3, dtype=dtype)
    before = W.copy()
    opt = make({"W": W, "b": b})
    grads = random_grads(rng, dtype)
    grads["W"] = rng.standard_normal(W.shape).astype(dtype)
    grads_before = {k: g.copy() for k, g in grads.items()}
    opt.step(grads)
    opt.step(grads)
    assert opt.params["W"] is W and opt.params["b"] is b
    assert np.shares_memory(W, storage)
    np.testing.assert_array_equal(storage[:, ::2], W)
    assert not np.allclose(W, before)
    assert W.dtype == b.dtype == dtype
    for state in opt.state.values():
        assert state["step"] == 2
        assert all(arr.dtype == dtype for arr in state.values() if isinstance(arr, np.ndarray))
    for name in grads:
        np.testing.assert_array_equal(grads[name], grads_before[name])


def test_float16_params_use_float32_state(rng):
    # Gradients of 1e-4: g**2 = 1e-8 underflows to 0 in float16 and so does eps, so Adam with
    # float16 state would divide 0 by 0. float32 state keeps the update finite.
    W16 = rng.standard_normal((5, 4)).astype(np.float16)
    W32 = W16.astype(np.float32)
    opt16, opt32 = Adam({"W": W16}, lr=1e-2), Adam({"W": W32}, lr=1e-2)
    for _ in range(N_STEPS):
        grad = (1e-4 * rng.standard_normal(W16.shape)).astype(np.float32)
        opt16.step({"W": grad.astype(np.float16)})
        opt32.step({"W": grad})
    assert W16.dtype == np.float16 and opt16.state["W"]["exp_avg_sq"].dtype == np.float32
    assert np.isfinite(W16).all()
    # each step rounds W16 to float16 (half an ulp = 2**-11 relative), 5 steps: 5 * 2**-11
    np.testing.assert_allclose(W16, W32, rtol=5 * 2.0**-11, atol=5 * 2.0**-11)


def test_amsgrad_keeps_running_max_of_second_moment(rng):
    W = rng.standard_normal((4, 3))
    opt = Adam({"W": W}, betas=(0.9, 0.5), amsgrad=True)
    history = []
    for scale in (10.0, 1.0, 0.1):  # with beta2 = 0.5, v_t then falls at every entry
        opt.step({"W": scale * np.sign(rng.standard_normal(W.shape))})
        history.append(opt.state["W"]["exp_avg_sq"].copy())
    np.testing.assert_array_equal(opt.state["W"]["max_exp_avg_sq"], np.max(history, axis=0))
    assert (opt.state["W"]["max_exp_avg_sq"] > opt.state["W"]["exp_avg_sq"]).all()


def test_step_lr_override_is_for_that_step_only(rng):
    W = np.zeros(3)
    opt = SGD({"W": W}, lr=0.1)
    opt.step({"W": np.ones(3)}, lr=0.5)
    opt.step({"W": np.ones(3)})
    np.testing.assert_allclose(W, -0.6 * np.ones(3), rtol=1e-15)
    assert opt.lr == 0.1


@pytest.mark.parametrize("make", [
    lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2),
    lambda p: Adam(p, weight_decay=1e-2, amsgrad=True),
    lambda p: AdamW(p),
], ids=["sgd_nesterov", "adam_amsgrad", "adamw"])
def test_step_unchecked_makes_the_same_updates_as_step(make, rng):
    """The training loop's unchecked step is ``step`` minus its checks: same state, same bits
    (a missed step count would change Adam's bias correction from the second step on)."""
    params = {"W": rng.standard_normal((5, 3)), "b": rng.standard_normal(3)}
    checked = make({k: v.copy() for k, v in params.items()})
    unchecked = make({k: v.copy() for k, v in params.items()})
    for lr in (0.1, 0.05, 0.2):
        grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        checked.step(grads, lr=lr)
        unchecked.step_unchecked(grads, lr)
    for name in params:
        np.testing.assert_array_equal(unchecked.params[name], checked.params[name])
        assert unchecked.state[name]["step"] == checked.state[name]["step"] == 3


@pytest.mark.parametrize("make", [
    lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2),
    lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.5, weight_decay=1e-2),
    lambda p: Adam(p, weight_decay=1e-2, amsgrad=True),
], ids=["sgd_nesterov", "sgd_dampening", "adam"])
def test_step_allocates_no_parameter_sized_arrays(make, rng):
    W = rng.standard_normal((100_000,))  # 800 kB, so any temporary of its size shows
    opt = make({"W": W})
    grads = {"W": rng.standard_normal(W.shape)}
    opt.step(grads)  # the first step may allocate the momentum buffer
    tracemalloc.start()
    try:
        opt.step(grads)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < W.nbytes // 10


def test_get_optimizer_is_case_insensitive():
    W = np.zeros(2)
    assert isinstance(get_optimizer("SGD", {"W": W}, lr=0.1), SGD)
    adam = get_optimizer("adam", {"W": W}, lr=0.01, betas=(0.8, 0.9))
    assert isinstance(adam, Adam) and adam.betas == (0.8, 0.9)


def test_registry_builds_each_optimizer_with_its_default_lr():
    W = np.zeros(2)
    assert set(OPTIMIZERS) == {"adam", "adamw", "sgd"}
    # hand values: the documented defaults (Adam 2e-3, SGD 0.1)
    assert make_optimizer("adam", {"W": W}).lr == 2e-3
    assert make_optimizer("sgd", {"W": W}).lr == 0.1
    assert make_optimizer("sgd", {"W": W}, lr=0.5, momentum=0.9).momentum == 0.9
    adamw = make_optimizer("AdamW", {"W": W})
    assert isinstance(adamw, AdamW) and adamw.decoupled_weight_decay and adamw.weight_decay == 1e-2
    assert DEFAULT_LR == {"adam": 2e-3, "adamw": 2e-3, "sgd": 0.1}


def test_adamw_matches_torch_adamw_with_its_default_decay(rng):
    W0 = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(5)]
    W = W0.copy()
    ours = AdamW({"W": W}, lr=0.01)
    Wt = torch.tensor(W0, requires_grad=True)
    theirs = torch.optim.AdamW([Wt], lr=0.01)  # weight_decay=0.01 by default
    for g in grads:
        ours.step({"W": g})
        Wt.grad = torch.from_numpy(g)
        theirs.step()
    # float64, five steps of a dozen elementwise operations: ~1e-15; the decay alone moves
    # entries by lr * wd * |W| ~ 1e-4 per step
    np.testing.assert_allclose(W, Wt.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("epochs, expected", [
    (6, [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]),
    (2, [1.0, 0.1]),  # fewer than 3 epochs: every epoch (step_size 1, not 0)
    (1, [1.0]),
])
def test_make_schedule_step_divides_by_10_every_third_of_the_run(epochs, expected):
    schedule = make_schedule("step", epochs=epochs)
    assert [schedule(1.0, e) for e in range(epochs)] == pytest.approx(expected, rel=1e-15)


def test_make_schedule_cosine_anneals_over_the_run_and_callables_pass_through():
    schedule = make_schedule("Cosine", epochs=4)
    # hand values: (1 + cos(pi e / 4)) / 2
    assert [schedule(1.0, e) for e in range(4)] == pytest.approx(
        [1.0, (1 + 2 ** -0.5) / 2, 0.5, (1 - 2 ** -0.5) / 2], rel=1e-15)
    assert make_schedule("constant", epochs=3)(0.3, 2) == 0.3

    def custom(base_lr, epoch):
        return base_lr

    assert make_schedule(custom, epochs=3) is custom
    assert set(SCHEDULES) == {"adaptive", "constant", "step", "cosine"}
    with pytest.raises(ValueError, match=r"^schedule must be one of 'adaptive', 'cosine', 'step', 'constant' "
                                         r"or a callable"):
        make_schedule("linear", epochs=3)


def test_adaptive_schedule_divides_by_5_at_each_plateau_at_most_twice():
    schedule = make_schedule("adaptive", epochs=10)
    assert isinstance(schedule, AdaptiveLR) and (schedule.factor, schedule.max_cuts) == (5.0, 2)
    # the rate does not depend on the epoch, only on the cuts so far
    assert [schedule(0.5, e) for e in (0, 3, 1000)] == [0.5, 0.5, 0.5]
    assert schedule.plateau() is True
    assert [schedule(0.5, e) for e in (0, 1000)] == [0.1, 0.1]
    assert schedule.plateau() is True
    assert schedule(0.5, 7) == pytest.approx(0.02, rel=1e-15)
    # the cuts are used up: the next plateau is convergence, and the rate stays where it is
    assert schedule.plateau() is False and schedule.cuts == 2
    assert schedule(0.5, 8) == pytest.approx(0.02, rel=1e-15)
    assert make_schedule("adaptive", epochs=10).cuts == 0  # a fresh schedule per run
    assert AdaptiveLR(factor=2.0, max_cuts=0).plateau() is False
    assert repr(schedule) == "AdaptiveLR(factor=5.0, max_cuts=2, cuts=2)"


# --- schedules -------------------------------------------------------------------------------

def torch_schedule_lrs(make_scheduler, base_lr, epochs):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


# torch's schedulers update the lr recursively (lr *= gamma; a cosine recurrence), ours is the
# closed form: the same values up to a few ulps of accumulated rounding.
SCHEDULE_RTOL = 1e-12


def test_step_lr_matches_torch():
    ours = [StepLR(step_size=3, gamma=0.5)(0.2, e) for e in range(12)]
    theirs = torch_schedule_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, 3, gamma=0.5), 0.2, 12)
    np.testing.assert_allclose(ours, theirs, rtol=SCHEDULE_RTOL)


def test_cosine_lr_matches_torch_cosine_annealing():
    ours = [CosineLR(total_epochs=10, min_lr=1e-3)(0.1, e) for e in range(11)]
    theirs = torch_schedule_lrs(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-3), 0.1, 11)
    np.testing.assert_allclose(ours, theirs, rtol=SCHEDULE_RTOL)


def test_schedule_hand_values():
    assert [StepLR(2)(0.1, e) for e in range(5)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 1e-3], rel=1e-15)
    cosine = CosineLR(total_epochs=8, min_lr=0.02)
    assert cosine(0.1, 0) == 0.1
    assert cosine(0.1, 4) == pytest.approx((0.1 + 0.02) / 2, rel=1e-15)
    assert cosine(0.1, 8) == pytest.approx(0.02, rel=1e-15)
    assert cosine(0.1, 20) == pytest.approx(0.02, rel=1e-15)  # stays at min_lr past the end
    warm = CosineLR(total_epochs=10, warmup_epochs=4)
    assert [warm(0.5, e) for e in range(5)] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5], rel=1e-15)
    assert warm(0.5, 7) == pytest.approx(0.25, rel=1e-15)  # half way through the cosine part
    assert ConstantLR()(0.3, 99) == 0.3


def test_get_schedule_by_name_or_callable():
    step = get_schedule("Step", step_size=2, gamma=0.5)
    assert isinstance(step, StepLR) and step(1.0, 4) == 0.25
    assert isinstance(get_schedule("constant"), ConstantLR)
    assert isinstance(get_schedule("cosine", total_epochs=3), CosineLR)

    def custom(base_lr, epoch):
        return base_lr / (epoch + 1)

    assert get_schedule(custom) is custom


# --- validation ------------------------------------------------------------------------------

def params():
    return {"W": np.zeros((3, 2)), "b": np.zeros(2)}


@pytest.mark.parametrize("make, error, match", [
    (lambda: SGD(params(), lr=0.0), ValueError, r"lr must be a finite number in \(0.0, inf[\])], got 0.0"),
    (lambda: SGD(params(), lr=-0.1), ValueError, r"lr must be .* got -0.1"),
    (lambda: SGD(params(), lr=float("nan")), ValueError, r"lr must be a finite number .* got nan"),
    (lambda: SGD(params(), lr=float("inf")), ValueError, r"lr must be a finite number .* got inf"),
    (lambda: SGD(params(), lr="0.1"), TypeError, r"lr must be a real number, got str"),
    (lambda: SGD(params(), lr=0.1, momentum=-0.5), ValueError,
     r"momentum must be .*\[0.0, inf[\])], got -0.5"),
    (lambda: SGD(params(), lr=0.1, dampening=-0.1), ValueError,
     r"dampening must be .*\[0.0, 1.0\], got -0.1"),
    (lambda: SGD(params(), lr=0.1, dampening=1.5), ValueError,
     r"dampening must be .*\[0.0, 1.0\], got 1.5"),
    (lambda: SGD(params(), lr=0.1, nesterov=True), ValueError,
     r"nesterov=True requires momentum > 0 and dampening == 0, got momentum=0.0 and dampening=0.0"),
    (lambda: SGD(params(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     r"nesterov=True requires .* got momentum=0.9 and dampening=0.1"),
    (lambda: SGD(params(), lr=0.1, nesterov="yes"), TypeError, r"nesterov must be True or False, got str 'yes'"),
    (lambda: SGD(params(), lr=0.1, weight_decay=-1e-4), ValueError, r"weight_decay must be .*got -0.0001"),
    (lambda: SGD(params(), lr=0.1, decoupled_weight_decay=1), TypeError,
     r"decoupled_weight_decay must be True or False, got int 1"),
    (lambda: Adam(params(), betas=(1.0, 0.999)), ValueError, r"betas\[0\] must be .*\[0.0, 1.0\), got 1.0"),
    (lambda: Adam(params(), betas=(0.9, -0.1)), ValueError, r"betas\[1\] must be .*\[0.0, 1.0\), got -0.1"),
    (lambda: Adam(params(), betas=0.9), TypeError, r"betas must be a pair \(beta1, beta2\), got 0.9"),
    (lambda: Adam(params(), eps=0.0), ValueError, r"eps must be a finite number in \(0.0, inf[\])], got 0.0"),
    (lambda: Adam(params(), amsgrad=None), TypeError, r"amsgrad must be True or False, got NoneType"),
    (lambda: Adam({"W": np.zeros(3, dtype=np.int64)}), TypeError,
     r"params\['W'\] must have a float16, float32 or float64 dtype, got dtype int64; convert"),
    (lambda: Adam({"W": [0.0, 1.0]}), TypeError, r"params\['W'\] must be a numpy.ndarray .* got list"),
    (lambda: Adam([np.zeros(3)]), TypeError, r"params must be a dict \{name: ndarray\}, got list"),
    (lambda: Adam({}), ValueError, r"params must hold at least one array, got an empty dict"),
    (lambda: Adam({"W": np.broadcast_to(np.zeros(1), (3,))}), ValueError,
     r"params\['W'\] must be a writeable array, got a read-only one"),
    (lambda: get_optimizer("rmsprop", params(), lr=0.1), ValueError,
     r"optimizer must be one of 'adam', 'adamw', 'sgd', got 'rmsprop'"),
    (lambda: get_optimizer(SGD, params(), lr=0.1), TypeError, r"optimizer name must be a str, got type"),
])
def test_construction_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("grads, error, match", [
    ({"W": np.ones((3, 2))}, ValueError,
     re.escape("grads must have the keys of params ['W', 'b'], got ['W'] (missing ['b'], unexpected [])")),
    ({"W": np.ones((3, 2)), "b": np.ones(2), "c": np.ones(1)}, ValueError,
     re.escape("(missing [], unexpected ['c'])")),
    ({"W": np.ones((3, 2)), "b": np.ones(3)}, ValueError,
     re.escape("grads['b'] must have the shape of params['b'] (2,), got (3,)")),
    ({"W": np.ones((3, 2)), "b": np.ones(2, dtype=int)}, TypeError,
     r"grads\['b'\] must be a float array .* got dtype int64"),
    ([np.ones((3, 2)), np.ones(2)], TypeError, r"grads must be a dict \{name: ndarray\}, got list"),
])
def test_step_errors_name_the_key_and_update_nothing(grads, error, match):
    p = params()
    opt = SGD(p, lr=0.1)
    p["W"][...] = 1.0
    with pytest.raises(error, match=match):
        opt.step(grads)
    np.testing.assert_array_equal(p["W"], 1.0)
    assert opt.state["W"]["step"] == 0


def test_step_lr_override_must_be_non_negative():
    opt = SGD(params(), lr=0.1)
    with pytest.raises(ValueError, match=r"lr must be a finite number in \[0.0, inf[\])], got -0.1"):
        opt.step({"W": np.zeros((3, 2)), "b": np.zeros(2)}, lr=-0.1)


@pytest.mark.parametrize("make, error, match", [
    (lambda: StepLR(0), ValueError, r"step_size must be >= 1, got 0"),
    (lambda: StepLR(2.5), TypeError, r"step_size must be an int, got float"),
    (lambda: StepLR(2, gamma=0.0), ValueError, r"gamma must be a finite number in \(0.0, inf[\])], got 0.0"),
    (lambda: CosineLR(0), ValueError, r"total_epochs must be >= 1, got 0"),
    (lambda: AdaptiveLR(factor=1.0), ValueError, r"^factor must be a finite number in \(1\.0, inf\), got 1\.0$"),
    (lambda: AdaptiveLR(max_cuts=-1), ValueError, r"^max_cuts must be >= 0, got -1$"),
    (lambda: AdaptiveLR()(0.1, -1), ValueError, r"epoch must be >= 0, got -1"),
    (lambda: CosineLR(10, min_lr=-1e-3), ValueError, r"min_lr must be .*got -0.001"),
    (lambda: CosineLR(5, warmup_epochs=5), ValueError, r"warmup_epochs must be < total_epochs=5, got 5"),
    (lambda: CosineLR(5, min_lr=0.5)(0.1, 0), ValueError, r"base_lr must be >= min_lr=0.5, got 0.1"),
    (lambda: StepLR(2)(0.1, -1), ValueError, r"epoch must be >= 0, got -1"),
    (lambda: ConstantLR()(0.1, 1.0), TypeError, r"epoch must be an int, got float"),
    (lambda: ConstantLR()(0.0, 1), ValueError,
     r"base_lr must be a finite number in \(0.0, inf[\])], got 0.0"),
    (lambda: get_schedule("linear"), ValueError,
     r"schedule must be one of 'adaptive', 'cosine', 'step', 'constant' or a callable "
     r"\(base_lr, epoch\) -> lr, got 'linear'"),
    (lambda: get_schedule(0.1), TypeError, r"schedule must be a name or a callable .* got float"),
    (lambda: get_schedule(ConstantLR(), gamma=0.5), TypeError,
     r"schedule keyword arguments apply to a schedule name only, got \['gamma'\]"),
])
def test_schedule_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_repr_shows_hyperparameters():
    assert repr(SGD(params(), lr=0.1, momentum=0.9)) == (
        "SGD(lr=0.1, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0, "
        "decoupled_weight_decay=False)")
    assert repr(CosineLR(10, warmup_epochs=2)) == "CosineLR(total_epochs=10, min_lr=0.0, warmup_epochs=2)"
    assert math.isclose(Adam(params()).lr, 1e-3)
