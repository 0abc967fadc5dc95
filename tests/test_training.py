"""Tests of scratchlin.training through LinearClassifier.fit: the objective with its workspace
against a float64 loss and gradient, full-batch training against hand-written NumPy gradient descent and
against torch.optim, seeds, the learning-rate schedule, history, verbose output, callbacks,
early stopping, raw pixels and divergence.

Every expected value is computed by the test (float64 NumPy, a closed form, or torch), never by
the code under test. Problems are small and synthetic: the whole module runs in about a second.
"""
import math
import re

import numpy as np
import pytest
import reference

from scratchlin import LinearClassifier, NotFittedError, TrainingDivergedError
from scratchlin.training import (
    MIN_STEPS_PER_ITERATION,
    Parameters,
    Trainer,
    TrainingSettings,
    decision_function,
    evaluate,
    split_validation,
)

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]


# --------------------------------------------------------------------------------------------
# helpers


def blobs(rng, n=120, n_features=6, n_classes=3, spread=1.0, dtype=np.float64):
    """Overlapping Gaussian blobs (spread 1 around centres ~2 apart): learnable, not separable,
    so gradients never vanish; class sizes are unequal (random)."""
    centres = rng.normal(scale=1.0, size=(n_classes, n_features))
    labels = rng.integers(0, n_classes, n)
    labels[:n_classes] = np.arange(n_classes)
    X = centres[labels] + spread * rng.normal(size=(n, n_features))
    return X.astype(dtype), labels


def rounding_bound(dtype, n_terms):
    """Worst-case relative rounding error of an ``n_terms``-long float sum, gamma_n = n u
    (u = eps / 2), times 4 for the handful of extra roundings (exp, log, divide, scale)."""
    return 2 * n_terms * float(np.finfo(dtype).eps)


def np_objective_and_grad(X, labels, W, b, n_classes, weight_decay=0.0, label_smoothing=0.0):
    """The training objective and its gradient in float64 (``tests/reference.py``)."""
    assert n_classes == np.shape(W)[1]
    return reference.objective(X, labels, W, b, weight_decay=weight_decay, label_smoothing=label_smoothing)


def penalty(C, n_rows, n_classes):
    """lambda = 1 / (C N) (doubled with two classes), the class docstring's mapping of C."""
    return (2.0 if n_classes == 2 else 1.0) / (C * n_rows)


def iteration_means(losses, steps_per_iteration=MIN_STEPS_PER_ITERATION):
    """The mean of each iteration's full-batch step losses: a history record's train_loss."""
    return [float(np.mean(losses[i:i + steps_per_iteration]))
            for i in range(0, len(losses), steps_per_iteration)]


# A stochastic solver, exactly max_iter iterations (no tol test, no ConvergenceWarning).
STOCHASTIC = dict(tol=None)


def solver_options(solver, max_iter):
    """A stochastic solver for exactly ``max_iter`` iterations, or L-BFGS to convergence
    (its default tol and max_iter; it converges on these small problems)."""
    return dict(solver=solver, max_iter=max_iter, **STOCHASTIC) if solver != "lbfgs" else dict(solver="lbfgs")


def cosine_lr(base, epoch, epochs):
    """Cosine annealing to 0 over ``epochs``, as documented: lr_e = base (1 + cos(pi e / E)) / 2."""
    return base * (1 + math.cos(math.pi * epoch / epochs)) / 2


# --------------------------------------------------------------------------------------------
# evaluate, decision_function, split_validation


@pytest.mark.parametrize("chunk_size", [1, 7, 8192])
def test_evaluate_in_chunks_matches_the_float64_formula(rng, chunk_size):
    X = rng.normal(size=(50, 4))
    labels = rng.integers(0, 3, 50)
    params = Parameters.from_arrays(rng.normal(size=(4, 3)), rng.normal(size=3))
    loss, accuracy = evaluate(X, labels, params, chunk_size=chunk_size)
    expected_loss, _, _ = np_objective_and_grad(X, labels, params.W, params.b, 3)
    assert loss == pytest.approx(expected_loss, rel=rounding_bound(np.float64, 50))
    assert accuracy == np.mean(np.argmax(X @ params.W + params.b, axis=1) == labels)


# --------------------------------------------------------------------------------------------
# full-batch training == hand-written gradient descent (NumPy, torch)


def numpy_gradient_descent(X, labels, n_classes, lr, epochs, weight_decay, label_smoothing):
    """Plain full-batch gradient descent on the objective, float64; returns W, b and the
    objective before each step."""
    W = np.zeros((X.shape[1], n_classes))
    b = np.zeros(n_classes)
    losses = []
    for _ in range(epochs):
        loss, grad_W, grad_b = np_objective_and_grad(X, labels, W, b, n_classes, weight_decay, label_smoothing)
        losses.append(loss)
        W = W - lr * grad_W
        b = b - lr * grad_b
    return W, b, losses


@pytest.mark.parametrize("hyper", [dict(C=1e6, label_smoothing=0.0),
                                   dict(C=2.0, label_smoothing=0.1)],
                         ids=["weak-penalty", "C-ls"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_full_batch_sgd_equals_hand_written_numpy_gradient_descent(rng, dtype, hyper):
    X, labels = blobs(rng, n=50, n_features=6, n_classes=3)
    iterations, lr = 2, 0.5
    steps = iterations * MIN_STEPS_PER_ITERATION  # one step per pass, 200 passes an iteration
    model = LinearClassifier(solver="sgd", lr=lr, momentum=0.0, lr_schedule="constant",
                             batch_size=50, max_iter=iterations, seed=0, dtype=np.dtype(dtype).name,
                             **STOCHASTIC, **hyper).fit(X, labels)
    W, b, losses = numpy_gradient_descent(X, labels, 3, lr, steps, penalty(hyper["C"], 50, 3),
                                          hyper["label_smoothing"])
    # Full batch: the shuffle only reorders the 50-term sums. Each step is within
    # rounding_bound(50) of exact (relative to the O(1) entries), and with lr * L < 1 the
    # errors add up at most linearly over the steps (float32 also rounds X once: inside that).
    tol = steps * rounding_bound(dtype, 50)
    np.testing.assert_allclose(model.W, W, rtol=tol, atol=tol * max(1.0, np.abs(W).max()))
    np.testing.assert_allclose(model.b, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))
    # train_loss of an iteration is the mean of its steps' objectives, each before its step
    np.testing.assert_allclose([r["train_loss"] for r in model.history_], iteration_means(losses), rtol=tol)
    assert [(r["epochs"], r["steps"]) for r in model.history_] == [(200, 200)] * iterations


TORCH_OPTIMIZERS = {
    "sgd": (dict(solver="sgd", momentum=0.0), lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.0)),
    "momentum": (dict(solver="sgd", momentum=0.9), lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9)),
    "nesterov": (dict(solver="sgd", momentum=0.9, nesterov=True),
                 lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True)),
    "adam": (dict(solver="adam"), lambda p, lr: torch.optim.Adam(p, lr=lr)),
}


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
@pytest.mark.parametrize("name", list(TORCH_OPTIMIZERS))
def test_full_batch_training_equals_a_torch_optim_loop_in_float64(rng, name, schedule):
    ours, make_torch_optimizer = TORCH_OPTIMIZERS[name]
    X, labels = blobs(rng, n=60, n_features=5, n_classes=4)
    iterations, lr, C, ls = 3, (0.05 if name == "adam" else 0.3), 2.0, 0.1
    wd = penalty(C, 60, 4)
    model = LinearClassifier(lr=lr, lr_schedule=schedule, batch_size=60, max_iter=iterations, seed=0,
                             dtype="float64", C=C, label_smoothing=ls, **STOCHASTIC, **ours).fit(X, labels)

    W = torch.zeros(5, 4, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    optimizer = make_torch_optimizer([W, b], lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(labels.astype(np.int64))
    for iteration in range(iterations):
        # The schedule is planned over max_iter iterations: one rate for each iteration's 200 steps.
        optimizer.param_groups[0]["lr"] = lr if schedule == "constant" else cosine_lr(lr, iteration, iterations)
        losses = []
        for _ in range(MIN_STEPS_PER_ITERATION):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(Xt @ W + b, yt, label_smoothing=ls) + 0.5 * wd * (W * W).sum()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        assert model.history_[iteration]["train_loss"] == pytest.approx(np.mean(losses), rel=1e-12)
    # float64, a few dozen operations per step, 600 steps of a contracting iteration: ~1e-13.
    # Adam divides by sqrt(v), which turns a gradient's relative rounding error into an
    # absolute one of the same size on the step; any formula difference (a dampened first
    # buffer, a missing bias correction, the schedule off by one iteration) moves entries by
    # >= 1e-4.
    np.testing.assert_allclose(model.W, W.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(model.b, b.detach().numpy(), rtol=1e-10, atol=1e-10)


def test_full_batch_gradient_descent_decreases_the_loss_every_epoch(rng):
    # Gradient descent with lr <= 1/L decreases a convex L-smooth objective at every step. For
    # mean softmax cross-entropy, L <= lambda_max([X 1]^T [X 1]) / (2 N) (the Hessian of the
    # log-sum-exp is at most 1/2 in the operator norm).
    X, labels = blobs(rng, n=80, n_features=6, n_classes=3)
    X1 = np.hstack([X, np.ones((80, 1))])
    lr = 1.0 / (np.linalg.eigvalsh(X1.T @ X1 / 80).max() / 2)
    model = LinearClassifier(solver="sgd", lr=lr, momentum=0.0, lr_schedule="constant", batch_size=80,
                             max_iter=5, seed=0, dtype="float64", **STOCHASTIC).fit(X, labels)
    # Every step lowers J, so each iteration's mean of its 200 step losses is below the last's.
    losses = [r["train_loss"] for r in model.history_]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
    assert losses[0] < math.log(3)  # from the zero weights' log 3, the first iteration learns


# --------------------------------------------------------------------------------------------
# seeds


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_same_seed_gives_bit_identical_weights(rng, dtype, optimizer):
    X, labels = blobs(rng, n=100)
    hyper = dict(solver=optimizer, max_iter=2, batch_size=16, seed=123, dtype=np.dtype(dtype).name, **STOCHASTIC)
    first = LinearClassifier(**hyper).fit(X, labels)
    second = LinearClassifier(**hyper).fit(X, labels)
    np.testing.assert_array_equal(first.W, second.W)
    np.testing.assert_array_equal(first.b, second.b)
    assert [r["train_loss"] for r in first.history_] == [r["train_loss"] for r in second.history_]
    # a refit of the same model starts from scratch with a fresh generator from the int seed
    again = first.fit(X, labels)
    np.testing.assert_array_equal(again.W, second.W)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_different_seeds_give_different_shuffles(rng, optimizer):
    X, labels = blobs(rng, n=100)
    hyper = dict(solver=optimizer, max_iter=2, batch_size=16, **STOCHASTIC)
    a = LinearClassifier(seed=1, **hyper).fit(X, labels)
    b = LinearClassifier(seed=2, **hyper).fit(X, labels)
    assert not np.array_equal(a.W, b.W)
    # Different batches: every iteration's mean minibatch loss differs too.
    assert all(ra["train_loss"] != rb["train_loss"] for ra, rb in zip(a.history_, b.history_))
    c = LinearClassifier(seed=None, **hyper).fit(X, labels)
    d = LinearClassifier(seed=None, **hyper).fit(X, labels)
    assert not np.array_equal(c.W, d.W)


def test_an_int_seed_and_a_generator_from_it_give_the_same_weights(rng):
    X, labels = blobs(rng, n=100)
    hyper = dict(solver="adam", max_iter=2, batch_size=16, **STOCHASTIC)
    from_int = LinearClassifier(seed=7, **hyper).fit(X, labels)
    from_generator = LinearClassifier(seed=np.random.default_rng(7), **hyper).fit(X, labels)
    np.testing.assert_array_equal(from_int.W, from_generator.W)


def test_a_batch_larger_than_the_data_is_one_full_batch(rng):
    X, labels = blobs(rng, n=40)
    hyper = dict(max_iter=2, seed=0, solver="sgd", **STOCHASTIC)
    capped = LinearClassifier(batch_size=10_000, **hyper).fit(X, labels)
    full = LinearClassifier(batch_size=40, **hyper).fit(X, labels)
    np.testing.assert_array_equal(capped.W, full.W)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_fit_does_not_modify_its_inputs(rng, solver):
    X, labels = blobs(rng, n=60)
    X_val, y_val = blobs(rng, n=20)
    weights = rng.uniform(0.5, 2.0, 60)
    copies = [a.copy() for a in (X, labels, X_val, y_val, weights)]
    LinearClassifier(seed=0, dtype="float64", **solver_options(solver, 2)).fit(
        X, labels, sample_weight=weights, X_val=X_val, y_val=y_val)
    for before, after in zip(copies, (X, labels, X_val, y_val, weights)):
        np.testing.assert_array_equal(before, after)


# --------------------------------------------------------------------------------------------
# history, schedules, verbose, callback


STOCHASTIC_KEYS = {"iteration", "epochs", "steps", "train_loss", "lr", "seconds"}
LBFGS_KEYS = {"iteration", "train_loss", "grad_max", "evaluations", "seconds"}


def test_history_records_have_the_documented_keys(rng):
    X, labels = blobs(rng, n=60)
    plain = LinearClassifier(solver="adam", max_iter=3, seed=0, **STOCHASTIC).fit(X, labels)
    assert [set(r) for r in plain.history_] == [STOCHASTIC_KEYS] * 3
    assert [r["iteration"] for r in plain.history_] == [1, 2, 3]
    # 60 rows in batches of 128: one step a pass, 200 passes an iteration
    assert [(r["epochs"], r["steps"]) for r in plain.history_] == [(200, 200)] * 3
    assert all(isinstance(r["train_loss"], float) and r["seconds"] >= 0 for r in plain.history_)
    validated = LinearClassifier(solver="adam", max_iter=3, seed=0, **STOCHASTIC).fit(
        X[:40], labels[:40], X_val=X[40:], y_val=labels[40:])
    assert [set(r) for r in validated.history_] == [STOCHASTIC_KEYS | {"val_loss", "val_accuracy"}] * 3
    exact = LinearClassifier().fit(X, labels)
    assert exact.solver_ == "lbfgs" and exact.n_iter_ == len(exact.history_) > 1
    assert [set(r) for r in exact.history_] == [LBFGS_KEYS] * exact.n_iter_
    assert [r["iteration"] for r in exact.history_] == list(range(1, exact.n_iter_ + 1))
    evaluations = [r["evaluations"] for r in exact.history_]
    assert evaluations[0] >= 2 and all(b > a for a, b in zip(evaluations, evaluations[1:]))
    # The strong-Wolfe search (c1 = 1e-4, c2 = 0.9) nearly always takes its first trial step:
    # 27 evaluations for 25 iterations measured here; an exact line search would need several.
    assert evaluations[-1] <= 1.25 * exact.n_iter_ + 2
    assert exact.history_[-1]["grad_max"] <= 1e-4 < exact.history_[0]["grad_max"]  # tol="auto"


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_history_val_loss_and_accuracy_are_those_of_the_final_weights(rng, dtype, solver):
    X, labels = blobs(rng, n=80)
    model = LinearClassifier(seed=0, dtype=np.dtype(dtype).name, **solver_options(solver, 3)).fit(
        X[:50], labels[:50], X_val=X[50:], y_val=labels[50:])
    loss, _, _ = np_objective_and_grad(X[50:].astype(dtype), labels[50:], model.W, model.b, 3)
    # float32 logits of 6-term sums, a 30-term mean
    assert model.history_[-1]["val_loss"] == pytest.approx(loss, rel=rounding_bound(dtype, 30))
    logits = X[50:].astype(np.float64) @ model.W.astype(np.float64) + model.b
    assert model.history_[-1]["val_accuracy"] == np.mean(np.argmax(logits, axis=1) == labels[50:])


@pytest.mark.parametrize("iterations", [1, 4, 7])
def test_lr_follows_the_cosine_schedule_closed_form(rng, iterations):
    X, labels = blobs(rng, n=40)
    model = LinearClassifier(solver="sgd", lr=0.3, max_iter=iterations, lr_schedule="cosine", seed=0,
                             **STOCHASTIC).fit(X, labels)
    expected = [cosine_lr(0.3, e, iterations) for e in range(iterations)]
    assert [r["lr"] for r in model.history_] == pytest.approx(expected, rel=1e-15, abs=0)
    assert expected[-1] > 0  # the last iteration still takes (small) steps


@pytest.mark.parametrize("schedule, expected", [
    ("constant", [0.2] * 6),
    ("adaptive", [0.2] * 6),  # without tol there is no plateau to cut the rate at
    ("step", [0.2, 0.2, 0.02, 0.02, 0.002, 0.002]),  # / 10 every third of 6 iterations
    (lambda base, epoch: base / (epoch + 1), [0.2 / k for k in range(1, 7)]),
], ids=["constant", "adaptive", "step", "callable"])
def test_lr_follows_the_other_schedules(rng, schedule, expected):
    X, labels = blobs(rng, n=40)
    model = LinearClassifier(solver="sgd", lr=0.2, max_iter=6, lr_schedule=schedule, seed=0,
                             **STOCHASTIC).fit(X, labels)
    assert [r["lr"] for r in model.history_] == pytest.approx(expected, rel=1e-15, abs=0)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_minibatch_training_loss_falls_on_an_easy_problem(rng, optimizer):
    X, labels = blobs(rng, n=200, spread=0.3)
    lr = {"sgd": 0.1, "adam": 0.05}[optimizer]  # pinned: the defaults are tuned for MNIST
    model = LinearClassifier(solver=optimizer, lr=lr, max_iter=2, batch_size=20, seed=0, **STOCHASTIC).fit(X, labels)
    losses = [r["train_loss"] for r in model.history_]
    assert losses[0] < math.log(3)  # the first iteration already learns
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
    assert model.score(X, labels) > 0.95


def test_verbose_prints_the_solver_then_one_line_per_iteration(rng, capsys):
    X, labels = blobs(rng, n=60)
    LinearClassifier(solver="adam", max_iter=4, seed=0, verbose=True, **STOCHASTIC).fit(X, labels)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and lines[0] == "solver: adam"
    for k, line in enumerate(lines[1:], start=1):
        assert re.fullmatch(rf"iteration {k}/4  loss \d+\.\d{{4}}  lr \S+  \d+\.\ds", line), line
    LinearClassifier(solver="adam", max_iter=2, seed=0, verbose=True, **STOCHASTIC).fit(
        X[:40], labels[:40], X_val=X[40:], y_val=labels[40:])
    lines = capsys.readouterr().out.splitlines()[1:]
    assert len(lines) == 2 and all(re.search(r"  val_loss \d+\.\d{4}  val_acc \d+\.\d{2}%  ", ln) for ln in lines)
    model = LinearClassifier(verbose=True).fit(X, labels)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "solver: lbfgs (chosen by solver='auto' for 60 rows)"
    assert len(lines) == 1 + model.n_iter_
    for k, line in enumerate(lines[1:], start=1):
        pattern = rf"iteration +{k}/1000  loss \d+\.\d{{4}}  max\|grad\| \d\.\d\de[-+]\d+  \d+\.\ds"
        assert re.fullmatch(pattern, line), line
    LinearClassifier(solver="adam", max_iter=2, seed=0, **STOCHASTIC).fit(X, labels)
    LinearClassifier().fit(X, labels)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_callback_is_called_once_per_iteration_with_the_record(rng, solver):
    X, labels = blobs(rng, n=60)
    received = []
    model = LinearClassifier(seed=0, callback=lambda record: received.append(dict(record)),
                             **solver_options(solver, 5)).fit(X, labels)
    assert len(received) == model.n_iter_ == (5 if solver == "adam" else len(model.history_))
    assert model.n_iter_ >= 3
    assert received == model.history_


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_callback_sees_the_iterations_parameters_through_the_model(rng, solver):
    # Documented: while the callback runs, model.W and model.b hold that iteration's parameters
    # (for L-BFGS the iterate, not the line search's last trial point).
    X, labels = blobs(rng, n=80)
    seen = []

    def callback(record):
        loss, _, _ = np_objective_and_grad(X[50:], labels[50:], model.W, model.b, 3)
        seen.append((record["val_loss"], loss, model.score(X[50:], labels[50:]), record["val_accuracy"]))

    model = LinearClassifier(seed=0, dtype="float64", callback=callback, **solver_options(solver, 3))
    model.fit(X[:50], labels[:50], X_val=X[50:], y_val=labels[50:])
    assert len(seen) == model.n_iter_ >= 3
    for val_loss, loss, score, val_accuracy in seen:
        assert val_loss == pytest.approx(loss, rel=rounding_bound(np.float64, 30))
        assert score == val_accuracy
    assert seen[0][0] != seen[-1][0]  # the parameters did change between iterations


# --------------------------------------------------------------------------------------------
# early stopping


def overfitting_problem(rng, dtype):
    """A few training rows with many features and noisy labels: the validation loss improves
    for a few iterations (one informative feature) and then rises as the noise is memorised
    (at SGD's lr=3e-4; an iteration is 67 passes of 3 batches)."""
    n_train, n_val, n_features = 24, 300, 200
    X = rng.normal(size=(n_train + n_val, n_features))
    labels = (X[:, 0] > 0).astype(np.int64)
    X[:, 0] *= 2  # the informative feature stands out of the noise
    flip = rng.random(n_train + n_val) < 0.2
    labels[flip] = 1 - labels[flip]
    X = X.astype(dtype)
    return X[:n_train], labels[:n_train], X[n_train:], labels[n_train:]


@pytest.mark.parametrize("dtype", DTYPES)
def test_early_stopping_stops_when_val_loss_stops_improving_and_restores_the_best_weights(rng, dtype):
    X, y, X_val, y_val = overfitting_problem(rng, dtype)
    iterations, patience = 60, 3
    model = LinearClassifier(solver="sgd", lr=3e-4, momentum=0.0, lr_schedule="constant", batch_size=8,
                             max_iter=iterations, early_stopping=True, patience=patience, seed=0,
                             dtype=np.dtype(dtype).name, **STOCHASTIC).fit(X, y, X_val=X_val, y_val=y_val)
    val_losses = [r["val_loss"] for r in model.history_]
    best = int(np.argmin(val_losses))
    assert len(val_losses) < iterations, "never stopped"
    assert best >= 1, "the validation loss should improve for a while before it rises"
    assert len(val_losses) == best + 1 + patience  # stopped `patience` iterations after the best
    assert val_losses[-1] > val_losses[best]  # the last weights are worse than the best ones
    assert model.history_[-1]["best_iteration"] == best + 1 and model.history_[-1]["stopped_early"] is True
    # The model holds the best iteration's weights: its validation loss, computed here in float64
    # from the model's W and b, is the minimum of the history (float32: 200-term logits).
    restored, _, _ = np_objective_and_grad(X_val, y_val, model.W, model.b, 2)
    assert restored == pytest.approx(val_losses[best], rel=rounding_bound(dtype, 200))
    assert restored != pytest.approx(val_losses[-1], rel=rounding_bound(dtype, 200))


def test_early_stopping_without_validation_data_holds_out_a_fraction(rng):
    X, labels = blobs(rng, n=100)
    model = LinearClassifier(max_iter=4, early_stopping=True, validation_fraction=0.2, seed=0,
                             **STOCHASTIC).fit(X, labels)
    assert model.solver_ == "adam"  # solver="auto" picks Adam whenever early_stopping is set
    assert all({"val_loss", "val_accuracy"} <= set(r) for r in model.history_)
    # accuracy on the 20 held-out rows is a multiple of 1/20
    assert all(abs(r["val_accuracy"] * 20 - round(r["val_accuracy"] * 20)) < 1e-12 for r in model.history_)
    with pytest.raises(ValueError, match=r"^validation_fraction=0\.001 of 100 rows leaves 0 for validation; "
                                         r"a hold-out split needs at least one row on each side$"):
        LinearClassifier(max_iter=4, early_stopping=True, validation_fraction=0.001).fit(X, labels)


def test_validation_data_without_early_stopping_runs_every_iteration(rng):
    X, y, X_val, y_val = overfitting_problem(rng, np.float64)
    model = LinearClassifier(solver="sgd", lr=3e-4, momentum=0.0, lr_schedule="constant", batch_size=8,
                             max_iter=20, seed=0, **STOCHASTIC).fit(X, y, X_val=X_val, y_val=y_val)
    assert len(model.history_) == 20


# --------------------------------------------------------------------------------------------
# raw pixels


@pytest.mark.parametrize("dtype", DTYPES)
def test_raw_pixel_training_matches_training_on_pixels_over_255(rng, dtype):
    n, n_features = 120, 16
    labels = rng.integers(0, 3, n)
    means = rng.uniform(40, 215, size=(3, n_features))
    X = np.clip(means[labels] + rng.normal(scale=40, size=(n, n_features)), 0, 255).astype(np.uint8)
    hyper = dict(solver="sgd", lr=0.1, max_iter=1, batch_size=24, seed=0, dtype=np.dtype(dtype).name, **STOCHASTIC)
    raw = LinearClassifier(raw_pixels=True, **hyper).fit(X[:100], labels[:100], X_val=X[100:], y_val=labels[100:])
    scaled = X.astype(dtype) / dtype(255)
    ref = LinearClassifier(**hyper).fit(scaled[:100], labels[:100], X_val=scaled[100:], y_val=labels[100:])
    # Same shuffles, same batches; only where the 1/255 is applied differs (one rounding per
    # element per step). 200 steps, each within rounding_bound(24) of the other's: linear growth.
    tol = MIN_STEPS_PER_ITERATION * rounding_bound(dtype, 24)
    np.testing.assert_allclose(raw.W, ref.W, rtol=tol, atol=tol * np.abs(ref.W).max())
    np.testing.assert_allclose(raw.b, ref.b, rtol=tol, atol=tol * np.abs(ref.b).max())
    np.testing.assert_allclose([r["val_loss"] for r in raw.history_], [r["val_loss"] for r in ref.history_],
                               rtol=tol)
    np.testing.assert_array_equal(raw.predict(X), ref.predict(scaled))


# --------------------------------------------------------------------------------------------
# divergence


def test_overflowing_training_raises_training_diverged_naming_epoch_and_batch():
    # Worked out by hand: 4 rows, 20 features all 1e16 (float32), labels 0, 0, 0, 1, full batch,
    # plain SGD at lr=1e6. Pass 1 starts at zero weights (loss log 2); its gradient is
    # -/+2.5e15 in every entry of W's two columns, so the step makes them +/-2.5e21. Pass 2's
    # logits are then 20 * 1e16 * 2.5e21 = 5e38 > float32's max 3.4e38: +inf and -inf, and the
    # loss is NaN at pass 2 (of iteration 1), batch 1. The message names the iteration.
    X = np.full((4, 20), 1e16, np.float32)
    y = np.array([0, 0, 0, 1])
    model = LinearClassifier(solver="sgd", lr=1e6, momentum=0.0, lr_schedule="constant", batch_size=4,
                             max_iter=3, seed=0, **STOCHASTIC)
    with pytest.raises(TrainingDivergedError,
                       match=r"^training diverged at iteration 1 \(pass 2\), batch 1: the loss became nan "
                             r"\(limit 6\.931, ten times that of the starting zero model\); the learning rate "
                             r"lr=1e\+06 is too large for this data, try a smaller one \(e\.g\. lr=100000\)$"):
        model.fit(X, y)
    assert issubclass(TrainingDivergedError, FloatingPointError)
    # no NaN weights left behind: the model is simply not fitted
    assert not hasattr(model, "W")
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_absurd_learning_rate_on_unscaled_features_raises_training_diverged(rng):
    # The example: lr=1e6 on unscaled features (values up to 1000). The softmax is
    # stable and the cross-entropy gradient is bounded by |x|, so the weights grow by ~lr*|x|
    # per step without ever overflowing: the loss explodes from log(3) = 1.1 to ~1e12 but stays
    # finite. That run has diverged and must say so, not return a useless model.
    X = (rng.random((200, 20)) * 1000).astype(np.float32)
    y = rng.integers(0, 3, 200)
    model = LinearClassifier(solver="sgd", lr=1e6, max_iter=5, seed=0, **STOCHASTIC)
    with pytest.raises(TrainingDivergedError,
                       match=r"^training diverged at iteration \d+ \(pass \d+\), batch \d+: .*lr=.* is too "
                             r"large for this data, try a smaller one"):
        model.fit(X, y)
    assert not hasattr(model, "W")


def test_the_divergence_message_names_the_iteration_and_the_pass_it_happened_in():
    # The run above diverges in iteration 1, on its 2nd pass over the 4 rows, batch 1.
    X = np.full((4, 20), 1e16, np.float32)
    model = LinearClassifier(solver="sgd", lr=1e6, momentum=0.0, lr_schedule="constant", batch_size=4,
                             max_iter=3, seed=0, **STOCHASTIC)
    with pytest.raises(TrainingDivergedError,
                       match=r"^training diverged at iteration 1 \(pass 2\), batch 1: "):
        model.fit(X, np.array([0, 0, 0, 1]))


# --------------------------------------------------------------------------------------------
# Trainer, split_validation, decision_function directly (issue 13 survivors)


def sgd_settings(lr, batch_size, **kw):
    return TrainingSettings(lr=lr, batch_size=batch_size, optimizer="sgd", optimizer_options={}, **kw)


def test_minibatch_iteration_equals_a_float64_replay_including_the_short_last_batch(rng):
    # 50 rows in batches of 20: 20, 20 and a short batch of 10, 3 steps a pass, so an iteration
    # is ceil(200 / 3) = 67 passes (201 steps). The replay below draws the same permutation per
    # pass from the same seed and takes plain SGD steps on the float64 formula.
    X, labels = blobs(rng, n=50, n_features=6, n_classes=3)
    lr, batch_size = 0.1, 20
    params = Parameters(6, 3, np.float64)
    trainer = Trainer(params, sgd_settings(lr, batch_size, weight_decay=0.01), np.random.default_rng(5))
    record = trainer.partial_fit(X, labels)

    replay_rng = np.random.default_rng(5)
    W, b = np.zeros((6, 3)), np.zeros(3)
    losses, sizes = [], []
    for _ in range(67):
        order = replay_rng.permutation(50)
        for start in range(0, 50, batch_size):
            rows = order[start:start + batch_size]
            loss, grad_W, grad_b = np_objective_and_grad(X[rows], labels[rows], W, b, 3, weight_decay=0.01)
            W, b = W - lr * grad_W, b - lr * grad_b
            losses.append(loss)
            sizes.append(len(rows))
    assert sizes[:3] == [20, 20, 10] and len(sizes) == 201
    # Each row counts once a pass: a short batch weighs 10/50, not 1/3.
    expected = np.dot(losses, sizes) / np.sum(sizes)
    assert abs(expected - np.mean(losses)) > 1e-4  # the premise: the two weightings differ
    # float64, 201 steps of 20-term sums
    assert record["train_loss"] == pytest.approx(expected, rel=1e-11)
    np.testing.assert_allclose(params.W, W, rtol=1e-11, atol=1e-13)  # the last batch was used
    np.testing.assert_allclose(params.b, b, rtol=1e-11, atol=1e-13)
    assert (record["iteration"], record["epochs"], record["steps"]) == (1, 67, 201)
    assert (trainer.iterations_done, trainer.epochs_done, trainer.steps_done) == (1, 67, 201)


@pytest.mark.parametrize("bad_lr, error, match", [
    (-1.0, ValueError,
     r"^the learning rate lr_schedule gave for iteration 2 must be a finite number in \[0.0, inf\), got -1.0$"),
    (float("nan"), ValueError,
     r"^the learning rate lr_schedule gave for iteration 2 must be a finite number .*got nan$"),
    ("0.1", TypeError, r"^the learning rate lr_schedule gave for iteration 2 must be a real number, got str$"),
])
def test_a_bad_rate_from_a_callable_schedule_is_refused_before_the_iteration(bad_lr, error, match, rng):
    """The loop steps without per-batch checks, so the schedule's rate is checked once per
    iteration, before any batch: the parameters stay those of the last good iteration."""
    X, labels = blobs(rng, n=30, n_features=4, n_classes=3)
    settings = TrainingSettings(lr=0.2, batch_size=10, optimizer="sgd",
                                lr_schedule=lambda base, epoch: base if epoch == 0 else bad_lr)
    params = Parameters(4, 3, np.float64)
    trainer = Trainer(params, settings, np.random.default_rng(0))
    trainer.partial_fit(X, labels)
    after_first_iteration = params.vector.copy()
    with pytest.raises(error, match=match):
        trainer.partial_fit(X, labels)
    np.testing.assert_array_equal(params.vector, after_first_iteration)
    assert trainer.iterations_done == 1 and trainer.epochs_done == 67  # 3 steps a pass


def test_partial_fit_keeps_optimizer_state_and_advances_the_schedule(rng):
    X, labels = blobs(rng, n=30, n_features=4, n_classes=3)
    settings = TrainingSettings(lr=0.2, batch_size=30, optimizer="sgd", optimizer_options={"momentum": 0.9},
                                lr_schedule=lambda base, epoch: base / (epoch + 1))
    params = Parameters(4, 3, np.float64)
    trainer = Trainer(params, settings, np.random.default_rng(0))
    records = [trainer.partial_fit(X, labels) for _ in range(3)]
    assert [r["iteration"] for r in records] == [1, 2, 3]
    assert [r["lr"] for r in records] == [0.2, 0.1, 0.2 / 3]
    # float64 replay: full batch heavy-ball momentum (torch's rule, first buffer = gradient),
    # one rate per call of 200 steps, the buffer carried across calls
    W, b, buf = np.zeros((4, 3)), np.zeros(3), None
    for call in range(3):
        for _ in range(MIN_STEPS_PER_ITERATION):
            _, grad_W, grad_b = np_objective_and_grad(X, labels, W, b, 3)
            g = np.concatenate([grad_W.ravel(), grad_b])
            buf = g if buf is None else 0.9 * buf + g
            step = (0.2 / (call + 1)) * buf
            W, b = W - step[:12].reshape(4, 3), b - step[12:]
    np.testing.assert_allclose(params.W, W, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("n_rows, fraction, n_val", [(10, 0.37, 4), (25, 0.1, 2), (7, 0.5, 4), (100, 0.2, 20)])
def test_split_validation_rounds_the_size_and_never_overlaps(n_rows, fraction, n_val):
    # 0.37 * 10 = 3.7 rounds to 4 (truncation would give 3); 7 * 0.5 = 3.5 rounds to 4 (half
    # to even); 25 * 0.1 = 2.5 rounds to 2.
    train_rows, val_rows = split_validation(n_rows, fraction, np.random.default_rng(0))
    assert len(val_rows) == n_val and len(train_rows) == n_rows - n_val
    assert np.intersect1d(train_rows, val_rows).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train_rows, val_rows])), np.arange(n_rows))
    assert (np.diff(train_rows) > 0).all() and (np.diff(val_rows) > 0).all()
    with pytest.raises(ValueError, match=r"^validation_fraction=0\.01 of 10 rows leaves 0 for validation"):
        split_validation(10, 0.01, np.random.default_rng(0))


def test_early_stopping_trains_on_the_training_rows_only(rng):
    # Full-batch SGD on the rows the split leaves for training must equal float64 gradient
    # descent on exactly those rows: one validation row leaking in changes the weights.
    X, labels = blobs(rng, n=40, n_features=5, n_classes=3)
    model = LinearClassifier(solver="sgd", lr=0.05, momentum=0.0, lr_schedule="constant", batch_size=1000,
                             max_iter=3, early_stopping=True, patience=10, validation_fraction=0.25,
                             seed=3, dtype="float64", **STOCHASTIC).fit(X, labels)
    train_rows, val_rows = split_validation(40, 0.25, np.random.default_rng(3))  # the same first draw
    wd = penalty(1.0, 30, 3)  # the default C over the 30 training rows
    best = int(np.argmin([r["val_loss"] for r in model.history_]))
    # the restored iteration's parameters (the last ones if best == 2)
    W, b, _ = numpy_gradient_descent(X[train_rows], labels[train_rows], 3, 0.05,
                                     (best + 1) * MIN_STEPS_PER_ITERATION, wd, 0.0)
    np.testing.assert_allclose(model.W, W, rtol=1e-11, atol=1e-13)
    # and the validation loss is that of the validation rows (float64 formula)
    assert model.history_[best]["val_loss"] == pytest.approx(
        np_objective_and_grad(X[val_rows], labels[val_rows], model.W, model.b, 3)[0], rel=1e-12)


def test_early_stopping_records_why_and_where_it_stopped(rng):
    X, y, X_val, y_val = overfitting_problem(rng, np.float64)
    params = Parameters(X.shape[1], 2, np.float64)
    trainer = Trainer(params, sgd_settings(3e-4, 8), np.random.default_rng(0))
    history, converged = trainer.fit(X, y, max_iter=60, validation=(X_val, y_val), early_stopping=True,
                                     patience=3, tol=None)
    val_losses = [r["val_loss"] for r in history]
    best = int(np.argmin(val_losses))
    assert converged is True and best >= 1
    assert history[-1]["stopped_early"] is True and history[-1]["best_iteration"] == best + 1
    assert len(history) == best + 1 + 3
    assert all("stopped_early" not in r for r in history[:-1])
    restored, _, _ = np_objective_and_grad(X_val, y_val, params.W, params.b, 2)
    assert restored == pytest.approx(val_losses[best], rel=1e-12)


def test_tol_stops_when_the_training_loss_stops_improving(rng):
    X, labels = blobs(rng, n=60, n_features=4, n_classes=3)
    trainer = Trainer(Parameters(4, 3, np.float64), sgd_settings(0.1, 60), np.random.default_rng(0))
    # tol larger than any per-iteration improvement (the loss starts at log 3 ~ 1.1): the first
    # iteration improves on +inf (scikit-learn's start), no later one improves by tol, so it
    # stops after 1 + n_iter_no_change iterations (a constant schedule has no rate to cut)
    history, converged = trainer.fit(X, labels, max_iter=50, tol=10.0, n_iter_no_change=4)
    assert len(history) == 5 and converged is True and history[-1]["converged"] is True
    assert all("converged" not in r for r in history[:-1])
    trainer = Trainer(Parameters(4, 3, np.float64), sgd_settings(0.1, 60), np.random.default_rng(0))
    history, converged = trainer.fit(X, labels, max_iter=7, tol=None)
    assert len(history) == 7 and converged is False
    assert (trainer.iterations_done, trainer.epochs_done) == (7, 7 * MIN_STEPS_PER_ITERATION)


def test_integer_sample_weights_in_training_equal_repeated_rows(rng):
    X, labels = blobs(rng, n=30, n_features=4, n_classes=3)
    counts = rng.integers(1, 4, 30)
    repeated = np.repeat(np.arange(30), counts)
    params = Parameters(4, 3, np.float64)
    Trainer(params, sgd_settings(0.5, 1000), np.random.default_rng(0)).fit(
        X, labels, max_iter=1, sample_weight=counts.astype(np.float64), tol=None)
    W, b, _ = numpy_gradient_descent(X[repeated], labels[repeated], 3, 0.5, MIN_STEPS_PER_ITERATION, 0.0, 0.0)
    np.testing.assert_allclose(params.W, W, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(params.b, b, rtol=1e-11, atol=1e-13)


def test_decision_function_scales_raw_pixels_by_1_over_255(rng):
    X = rng.integers(0, 256, size=(5, 3)).astype(np.uint8)
    params = Parameters.from_arrays(rng.normal(size=(3, 2)).astype(np.float32), np.array([0.5, -1.0], np.float32))
    logits = decision_function(X, params, input_scale=1 / 255, chunk_size=2)
    expected = X.astype(np.float64) / 255 @ params.W.astype(np.float64) + params.b
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)  # float32, 3-term sums


def test_parameters_are_views_of_one_vector_and_the_trainer_updates_them_in_place(rng):
    params = Parameters(3, 2, np.float32)
    W, b, vector = params.W, params.b, params.vector
    assert np.shares_memory(W, vector) and np.shares_memory(b, vector)
    X, labels = blobs(rng, n=20, n_features=3, n_classes=2, dtype=np.float32)
    Trainer(params, sgd_settings(0.1, 5), np.random.default_rng(0)).fit(X, labels, max_iter=2)
    assert params.W is W and params.b is b and np.abs(W).sum() > 0  # same arrays, trained
    copy = params.copy()
    copy.W[...] = 0
    assert np.abs(params.W).sum() > 0


def test_adamw_applies_weight_decay_in_the_update_like_torch_adamw(rng):
    X, labels = blobs(rng, n=40, n_features=4, n_classes=3)
    # C = 0.25 on 40 rows: lambda = 1 / (0.25 * 40) = 0.1, applied as AdamW's decoupled decay
    model = LinearClassifier(solver="adamw", lr=0.05, C=0.25, lr_schedule="constant", batch_size=40,
                             max_iter=1, seed=0, dtype="float64", **STOCHASTIC).fit(X, labels)
    W = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.AdamW([W, b], lr=0.05, weight_decay=0.1)  # torch decays b too
    Xt, yt = torch.from_numpy(X), torch.from_numpy(labels.astype(np.int64))
    for _ in range(MIN_STEPS_PER_ITERATION):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(Xt @ W + b, yt).backward()
        optimizer.step()
    # float64, 200 steps of a dozen operations: ~1e-13; no decay or a coupled one moves W by ~1e-3
    np.testing.assert_allclose(model.W, W.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.b, b.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_raw_pixel_training_equals_float64_gradient_descent_on_pixels_over_255(rng, dtype):
    # Independent of the float path: the reference is NumPy gradient descent on X / 255.
    X = rng.integers(0, 256, size=(40, 8)).astype(np.uint8)
    labels = rng.integers(0, 3, 40)
    labels[:3] = [0, 1, 2]
    model = LinearClassifier(solver="sgd", lr=0.5, momentum=0.0, lr_schedule="constant", batch_size=40,
                             max_iter=2, seed=0, raw_pixels=True, dtype=np.dtype(dtype).name,
                             **STOCHASTIC).fit(X, labels)
    steps = 2 * MIN_STEPS_PER_ITERATION
    W, b, losses = numpy_gradient_descent(X / 255.0, labels, 3, 0.5, steps, penalty(1.0, 40, 3), 0.0)
    # 400 full-batch steps, each within rounding_bound(40) of exact (X / 255 in [0, 1])
    tol = steps * rounding_bound(dtype, 40)
    np.testing.assert_allclose(model.W, W, rtol=tol, atol=tol * max(1.0, np.abs(W).max()))
    np.testing.assert_allclose([r["train_loss"] for r in model.history_], iteration_means(losses), rtol=tol)
