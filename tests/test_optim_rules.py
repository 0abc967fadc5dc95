"""Update rules of scratchlin.optim against float64 references written here, in NumPy.

test_optim.py compares with torch.optim on a grid of settings; this file writes each rule
out by hand (the formulas of the optimizers' docstrings, which are torch's) and runs it on
settings chosen so that every term of the rule changes the result: a dampening other than
0.5 (where tau and 1 - tau coincide), Nesterov with and without weight decay, coupled and
decoupled decay, bias corrections at small step counts, learning rates that change per step.

Tolerance: scratchlin runs in float64 here and so does the reference; both are a few dozen
floating-point operations per step on O(1) numbers, ordered differently, so they agree to
~1e-15. 1e-12 leaves room for that and is 8+ orders of magnitude below the effect of any
term of the rule (every mutation of a coefficient moves parameters by >= 1e-4).
"""
import numpy as np
import pytest

import scratchlin as sl
from scratchlin import optim

TOL = 1e-12
SHAPE = (4, 3)


def _steps(rng, n_steps=5):
    """Per-step gradients (of varying scale, so AMSGrad's running max matters) and lrs."""
    grads = [10.0 ** rng.uniform(-1, 1) * rng.standard_normal(SHAPE) for _ in range(n_steps)]
    lrs = [0.1, 0.05, 0.2, 0.02, 0.1][:n_steps]
    return grads, lrs


def _run(name, p0, grads, lrs, **hyper):
    param = p0.copy()
    opt = optim.make_optimizer(name, {"p": param}, lr=lrs[0], **hyper)
    for grad, lr in zip(grads, lrs):
        opt.step({"p": grad}, lr=lr)
    return param


def reference_sgd(p0, grads, lrs, *, momentum=0.0, dampening=0.0, nesterov=False,
                  weight_decay=0.0, decoupled_weight_decay=False):
    p, buf = p0.astype(np.float64), None
    for g, lr in zip(grads, lrs):
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            d = g + momentum * buf if nesterov else buf
        else:
            d = g
        p = p - lr * d
    return p


def reference_adam(p0, grads, lrs, *, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   decoupled_weight_decay=False, amsgrad=False):
    b1, b2 = betas
    p = p0.astype(np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    v_max = np.zeros_like(p)
    for t, (g, lr) in enumerate(zip(grads, lrs), start=1):
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = np.maximum(v_max, v)
        second = v_max if amsgrad else v
        # eps is added after the bias correction of sqrt(v) (torch's rule)
        p = p - lr / (1 - b1 ** t) * m / (np.sqrt(second) / np.sqrt(1 - b2 ** t) + eps)
    return p


@pytest.mark.parametrize("dampening", [0.0, 0.3, 0.9, 1.0])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_sgd_dampening_scales_the_gradient_added_to_the_buffer_by_one_minus_tau(
        rng, dampening, weight_decay):
    # tau = 0.3 and 0.9 tell tau from 1 - tau (0.5 cannot); tau = 1 freezes the buffer at the
    # first gradient; the first buffer is the raw gradient whatever tau is.
    p0 = rng.standard_normal(SHAPE)
    grads, lrs = _steps(rng)
    hyper = {"momentum": 0.8, "dampening": dampening, "weight_decay": weight_decay}
    np.testing.assert_allclose(_run("sgd", p0, grads, lrs, **hyper),
                               reference_sgd(p0, grads, lrs, **hyper), rtol=TOL, atol=TOL)


def test_sgd_dampening_one_keeps_the_first_gradient_as_the_direction(rng):
    # Hand derivation: with tau = 1, b_t = mu^(t-1) g_1, so after two steps at lr 1:
    # p = p0 - g1 - mu g1.
    p0, g1, g2 = (rng.standard_normal(SHAPE) for _ in range(3))
    got = _run("sgd", p0, [g1, g2], [1.0, 1.0], momentum=0.5, dampening=1.0)
    np.testing.assert_allclose(got, p0 - 1.5 * g1, rtol=TOL, atol=TOL)


def test_sgd_dampening_matches_torch(rng):
    torch = pytest.importorskip("torch")
    p0 = rng.standard_normal(SHAPE)
    grads, lrs = _steps(rng)
    tensor = torch.tensor(p0.copy(), requires_grad=True)
    theirs = torch.optim.SGD([tensor], lr=lrs[0], momentum=0.8, dampening=0.3)
    for grad, lr in zip(grads, lrs):
        theirs.param_groups[0]["lr"] = lr
        tensor.grad = torch.from_numpy(grad.copy())
        theirs.step()
    np.testing.assert_allclose(_run("sgd", p0, grads, lrs, momentum=0.8, dampening=0.3),
                               tensor.detach().numpy(), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("hyper", [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "nesterov": True},
    {"momentum": 0.7, "nesterov": True, "weight_decay": 0.1},
    {"momentum": 0.9, "weight_decay": 0.1},
    {"momentum": 0.9, "weight_decay": 0.1, "decoupled_weight_decay": True},
    {"weight_decay": 0.1, "decoupled_weight_decay": True},
], ids=str)
def test_sgd_matches_the_written_out_rule(rng, hyper):
    p0 = rng.standard_normal(SHAPE)
    grads, lrs = _steps(rng)
    np.testing.assert_allclose(_run("sgd", p0, grads, lrs, **hyper),
                               reference_sgd(p0, grads, lrs, **hyper), rtol=TOL, atol=TOL)


def test_sgd_one_step_by_hand():
    # p = 1, g = 2, lr = 0.5, coupled decay 0.1: p - lr (g + 0.1 p) = 1 - 0.5 * 2.1 = -0.05
    param = np.array([1.0])
    optim.make_optimizer("sgd", {"p": param}, lr=0.5, weight_decay=0.1).step({"p": np.array([2.0])})
    np.testing.assert_allclose(param, [-0.05], rtol=TOL)
    # decoupled, zero gradient: p = (1 - lr * 0.1) p = 0.95 (coupled would give the same here
    # only by accident of the formula, so the flag's effect is pinned by the rule tests above)
    param = np.array([1.0])
    opt = optim.make_optimizer("sgd", {"p": param}, lr=0.5, weight_decay=0.1,
                              decoupled_weight_decay=True)
    opt.step({"p": np.array([0.0])})
    np.testing.assert_allclose(param, [0.95], rtol=TOL)


@pytest.mark.parametrize("hyper", [
    {},
    {"betas": (0.8, 0.99), "eps": 1e-3},  # a large eps tells where it is added
    {"weight_decay": 0.1},
    {"weight_decay": 0.1, "decoupled_weight_decay": True},
    {"amsgrad": True},
    {"amsgrad": True, "weight_decay": 0.1, "decoupled_weight_decay": True},
], ids=str)
def test_adam_matches_the_written_out_rule(rng, hyper):
    p0 = rng.standard_normal(SHAPE)
    grads, lrs = _steps(rng)
    np.testing.assert_allclose(_run("adam", p0, grads, lrs, **hyper),
                               reference_adam(p0, grads, lrs, **hyper), rtol=TOL, atol=TOL)


def test_adam_first_step_moves_every_entry_by_lr_times_its_sign():
    # Bias-corrected m_1 / sqrt(v_1) = g / |g| exactly (eps negligible): the textbook first step.
    param = np.array([0.0, 0.0, 0.0])
    grad = np.array([3.0, -1e-3, 200.0])
    optim.make_optimizer("adam", {"p": param}, lr=0.01, eps=1e-12).step({"p": grad})
    np.testing.assert_allclose(param, [-0.01, 0.01, -0.01], rtol=1e-8)


def test_adam_descends_a_quadratic():
    # A behavioural check on the sign conventions: Adam descends f(p) = |p - 3|^2 / 2.
    param = np.array([0.0])
    opt = optim.make_optimizer("adam", {"p": param}, lr=0.1)
    for _ in range(500):
        opt.step({"p": param - 3.0})
    assert abs(param[0] - 3.0) < 1e-2


# --------------------------------------------------------------------------------------------
# the estimator's "step" schedule: divide by 10 every third of the run (at least every epoch)


@pytest.mark.parametrize("epochs, expected", [
    (1, [0.5]),
    (2, [0.5, 0.05]),
    (3, [0.5, 0.05, 0.005]),
    (6, [0.5, 0.5, 0.05, 0.05, 0.005, 0.005]),
])
def test_step_schedule_hand_values_including_runs_shorter_than_three_epochs(rng, epochs, expected):
    # step_size = max(1, epochs // 3): for 1 or 2 epochs a step of 0 would divide by zero.
    X = rng.random((30, 4)).astype(np.float32)
    y = np.arange(30) % 3
    model = sl.LinearClassifier(max_iter=epochs, lr=0.5, lr_schedule="step", solver="sgd",
                                batch_size=16, seed=0, tol=None).fit(X, y)
    np.testing.assert_allclose([r["lr"] for r in model.history_], expected, rtol=1e-12)


@pytest.mark.parametrize("name, epochs, expected", [
    ("step", 1, [1.0]),
    ("step", 2, [1.0, 0.1]),
    ("step", 6, [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]),
    ("cosine", 1, [1.0]),
    ("cosine", 2, [1.0, 0.5]),  # anneals to 0 at epoch == epochs: the last epoch still steps
    ("cosine", 4, [1.0, (1 + np.cos(np.pi / 4)) / 2, 0.5, (1 + np.cos(3 * np.pi / 4)) / 2]),
    ("constant", 3, [1.0, 1.0, 1.0]),
])
def test_make_schedule_hand_values_for_a_run_of_epochs(name, epochs, expected):
    schedule = optim.make_schedule(name, epochs=epochs)
    np.testing.assert_allclose([schedule(1.0, e) for e in range(epochs)], expected, rtol=1e-12)


def test_make_optimizer_without_lr_takes_each_optimizers_own_default():
    for name, default in optim.DEFAULT_LR.items():
        assert optim.make_optimizer(name, {"p": np.zeros(2)}).lr == default
    assert len(set(optim.DEFAULT_LR.values())) > 1  # else the check above could not fail


@pytest.mark.parametrize("step_size, gamma, expected", [
    (1, 0.5, [1.0, 0.5, 0.25, 0.125]),
    (2, 0.1, [1.0, 1.0, 0.1, 0.1, 0.01]),
    (3, 0.5, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]),
])
def test_step_lr_hand_values(step_size, gamma, expected):
    schedule = optim.StepLR(step_size=step_size, gamma=gamma)
    np.testing.assert_allclose([schedule(1.0, e) for e in range(len(expected))], expected,
                               rtol=1e-12)


def test_cosine_hand_values_with_warmup_and_after_the_end():
    # T = 5, W = 1, base 1, min 0: warm-up 1/2, then 1 + cos(pi k / 4) over 2 for k = 0..4,
    # then min_lr forever.
    schedule = optim.CosineLR(total_epochs=5, warmup_epochs=1)
    expected = [0.5, 1.0, (1 + np.cos(np.pi / 4)) / 2, 0.5, (1 + np.cos(3 * np.pi / 4)) / 2, 0.0,
                0.0, 0.0]
    np.testing.assert_allclose([schedule(1.0, e) for e in range(8)], expected, rtol=1e-12,
                               atol=1e-15)
