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

from scratchlin import LinearClassifier, NotFittedError, TrainingDivergedError
from scratchlin.training import (
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
    """The training objective and its gradient, written out in float64 NumPy."""
    X, W, b = (np.asarray(a, np.float64) for a in (X, W, b))
    Z = X @ W + b
    Z = Z - Z.max(axis=1, keepdims=True)
    log_p = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    T = (1 - label_smoothing) * np.eye(n_classes)[labels] + label_smoothing / n_classes
    loss = -np.mean(np.sum(T * log_p, axis=1)) + 0.5 * weight_decay * np.sum(W * W)
    G = (np.exp(log_p) - T) / X.shape[0]
    return loss, X.T @ G + weight_decay * W, G.sum(axis=0)


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


@pytest.mark.parametrize("hyper", [dict(weight_decay=0.0, label_smoothing=0.0),
                                   dict(weight_decay=0.01, label_smoothing=0.1)],
                         ids=["plain", "wd-ls"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_full_batch_sgd_equals_hand_written_numpy_gradient_descent(rng, dtype, hyper):
    X, labels = blobs(rng, n=50, n_features=6, n_classes=3)
    epochs, lr = 6, 0.5
    model = LinearClassifier(optimizer="sgd", lr=lr, momentum=0.0, lr_schedule="constant",
                             batch_size=50, epochs=epochs, seed=0, dtype=np.dtype(dtype).name,
                             **hyper).fit(X, labels)
    W, b, losses = numpy_gradient_descent(X, labels, 3, lr, epochs, **hyper)
    # Full batch: the shuffle only reorders the 50-term sums. Each step is within
    # rounding_bound(50) of exact (relative to the O(1) entries), and with lr * L < 1 the
    # errors add up at most linearly over the steps (float32 also rounds X once: inside that).
    tol = epochs * rounding_bound(dtype, 50)
    np.testing.assert_allclose(model.W, W, rtol=tol, atol=tol * max(1.0, np.abs(W).max()))
    np.testing.assert_allclose(model.b, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))
    # train_loss of a full-batch epoch is the objective before its single step
    np.testing.assert_allclose([r["train_loss"] for r in model.history_], losses, rtol=tol)


TORCH_OPTIMIZERS = {
    "sgd": (dict(optimizer="sgd", momentum=0.0), lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.0)),
    "momentum": (dict(optimizer="sgd", momentum=0.9), lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9)),
    "nesterov": (dict(optimizer="sgd", momentum=0.9, nesterov=True),
                 lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True)),
    "adam": (dict(optimizer="adam"), lambda p, lr: torch.optim.Adam(p, lr=lr)),
}


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
@pytest.mark.parametrize("name", list(TORCH_OPTIMIZERS))
def test_full_batch_training_equals_a_torch_optim_loop_in_float64(rng, name, schedule):
    ours, make_torch_optimizer = TORCH_OPTIMIZERS[name]
    X, labels = blobs(rng, n=60, n_features=5, n_classes=4)
    epochs, lr, wd, ls = 6, (0.05 if name == "adam" else 0.3), 0.01, 0.1
    model = LinearClassifier(lr=lr, lr_schedule=schedule, batch_size=60, epochs=epochs, seed=0,
                             dtype="float64", weight_decay=wd, label_smoothing=ls, **ours).fit(X, labels)

    W = torch.zeros(5, 4, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    optimizer = make_torch_optimizer([W, b], lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(labels.astype(np.int64))
    for epoch in range(epochs):
        optimizer.param_groups[0]["lr"] = lr if schedule == "constant" else cosine_lr(lr, epoch, epochs)
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(Xt @ W + b, yt, label_smoothing=ls) + 0.5 * wd * (W * W).sum()
        loss.backward()
        optimizer.step()
        assert model.history_[epoch]["train_loss"] == pytest.approx(loss.item(), rel=1e-12)
    # float64, a few dozen operations per step, 6 steps: ~1e-14. Adam divides by sqrt(v), which
    # turns a gradient's relative rounding error into an absolute one of the same size on the
    # step, still ~1e-14; any formula difference (a dampened first buffer, a missing bias
    # correction, the schedule off by one epoch) moves entries by >= 1e-4.
    np.testing.assert_allclose(model.W, W.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(model.b, b.detach().numpy(), rtol=1e-10, atol=1e-10)


def test_full_batch_gradient_descent_decreases_the_loss_every_epoch(rng):
    # Gradient descent with lr <= 1/L decreases a convex L-smooth objective at every step. For
    # mean softmax cross-entropy, L <= lambda_max([X 1]^T [X 1]) / (2 N) (the Hessian of the
    # log-sum-exp is at most 1/2 in the operator norm).
    X, labels = blobs(rng, n=80, n_features=6, n_classes=3)
    X1 = np.hstack([X, np.ones((80, 1))])
    lr = 1.0 / (np.linalg.eigvalsh(X1.T @ X1 / 80).max() / 2)
    model = LinearClassifier(optimizer="sgd", lr=lr, momentum=0.0, lr_schedule="constant", batch_size=80,
                             epochs=10, seed=0, dtype="float64").fit(X, labels)
    losses = [r["train_loss"] for r in model.history_]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
    assert losses[0] == pytest.approx(math.log(3), rel=1e-14)  # zero weights: uniform probabilities


# --------------------------------------------------------------------------------------------
# seeds


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_same_seed_gives_bit_identical_weights(rng, dtype, optimizer):
    X, labels = blobs(rng, n=100)
    hyper = dict(optimizer=optimizer, epochs=3, batch_size=16, seed=123, dtype=np.dtype(dtype).name)
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
    hyper = dict(optimizer=optimizer, epochs=2, batch_size=16)
    a = LinearClassifier(seed=1, **hyper).fit(X, labels)
    b = LinearClassifier(seed=2, **hyper).fit(X, labels)
    assert not np.array_equal(a.W, b.W)
    # Different batches: every epoch's mean minibatch loss differs too.
    assert all(ra["train_loss"] != rb["train_loss"] for ra, rb in zip(a.history_, b.history_))
    c = LinearClassifier(seed=None, **hyper).fit(X, labels)
    d = LinearClassifier(seed=None, **hyper).fit(X, labels)
    assert not np.array_equal(c.W, d.W)


def test_an_int_seed_and_a_generator_from_it_give_the_same_weights(rng):
    X, labels = blobs(rng, n=100)
    hyper = dict(epochs=2, batch_size=16)
    from_int = LinearClassifier(seed=7, **hyper).fit(X, labels)
    from_generator = LinearClassifier(seed=np.random.default_rng(7), **hyper).fit(X, labels)
    np.testing.assert_array_equal(from_int.W, from_generator.W)


def test_a_batch_larger_than_the_data_is_one_full_batch(rng):
    X, labels = blobs(rng, n=40)
    hyper = dict(epochs=3, seed=0, optimizer="sgd")
    capped = LinearClassifier(batch_size=10_000, **hyper).fit(X, labels)
    full = LinearClassifier(batch_size=40, **hyper).fit(X, labels)
    np.testing.assert_array_equal(capped.W, full.W)


def test_fit_does_not_modify_its_inputs(rng):
    X, labels = blobs(rng, n=60)
    X_val, y_val = blobs(rng, n=20)
    copies = [a.copy() for a in (X, labels, X_val, y_val)]
    LinearClassifier(epochs=2, seed=0, dtype="float64").fit(X, labels, X_val=X_val, y_val=y_val)
    for before, after in zip(copies, (X, labels, X_val, y_val)):
        np.testing.assert_array_equal(before, after)


# --------------------------------------------------------------------------------------------
# history, schedules, verbose, callback


def test_history_records_have_the_documented_keys(rng):
    X, labels = blobs(rng, n=60)
    plain = LinearClassifier(epochs=3, seed=0).fit(X, labels)
    assert [set(r) for r in plain.history_] == [{"epoch", "train_loss", "lr", "seconds"}] * 3
    assert [r["epoch"] for r in plain.history_] == [1, 2, 3]
    assert all(isinstance(r["train_loss"], float) and r["seconds"] >= 0 for r in plain.history_)
    validated = LinearClassifier(epochs=3, seed=0).fit(X[:40], labels[:40], X_val=X[40:], y_val=labels[40:])
    assert [set(r) for r in validated.history_] == [
        {"epoch", "train_loss", "lr", "seconds", "val_loss", "val_accuracy"}] * 3


@pytest.mark.parametrize("dtype", DTYPES)
def test_history_val_loss_and_accuracy_are_those_of_the_final_weights(rng, dtype):
    X, labels = blobs(rng, n=80)
    model = LinearClassifier(epochs=3, seed=0, dtype=np.dtype(dtype).name).fit(
        X[:50], labels[:50], X_val=X[50:], y_val=labels[50:])
    loss, _, _ = np_objective_and_grad(X[50:].astype(dtype), labels[50:], model.W, model.b, 3)
    # float32 logits of 6-term sums, a 30-term mean
    assert model.history_[-1]["val_loss"] == pytest.approx(loss, rel=rounding_bound(dtype, 30))
    logits = X[50:].astype(np.float64) @ model.W.astype(np.float64) + model.b
    assert model.history_[-1]["val_accuracy"] == np.mean(np.argmax(logits, axis=1) == labels[50:])


@pytest.mark.parametrize("epochs", [1, 4, 7])
def test_lr_follows_the_cosine_schedule_closed_form(rng, epochs):
    X, labels = blobs(rng, n=40)
    model = LinearClassifier(optimizer="sgd", lr=0.3, epochs=epochs, lr_schedule="cosine", seed=0).fit(X, labels)
    expected = [cosine_lr(0.3, e, epochs) for e in range(epochs)]
    assert [r["lr"] for r in model.history_] == pytest.approx(expected, rel=1e-15, abs=0)
    assert expected[-1] > 0  # the last epoch still takes a (small) step


@pytest.mark.parametrize("schedule, expected", [
    ("constant", [0.2] * 6),
    ("step", [0.2, 0.2, 0.02, 0.02, 0.002, 0.002]),  # / 10 every third of 6 epochs
    (lambda base, epoch: base / (epoch + 1), [0.2 / k for k in range(1, 7)]),
], ids=["constant", "step", "callable"])
def test_lr_follows_the_other_schedules(rng, schedule, expected):
    X, labels = blobs(rng, n=40)
    model = LinearClassifier(optimizer="sgd", lr=0.2, epochs=6, lr_schedule=schedule, seed=0).fit(X, labels)
    assert [r["lr"] for r in model.history_] == pytest.approx(expected, rel=1e-15, abs=0)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_minibatch_training_loss_falls_on_an_easy_problem(rng, optimizer):
    X, labels = blobs(rng, n=200, spread=0.3)
    lr = {"sgd": 0.1, "adam": 0.05}[optimizer]  # pinned: the defaults are tuned for MNIST
    model = LinearClassifier(optimizer=optimizer, lr=lr, epochs=8, batch_size=20, seed=0).fit(X, labels)
    losses = [r["train_loss"] for r in model.history_]
    assert losses[0] < math.log(3)  # the first epoch already learns
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
    assert model.score(X, labels) > 0.95


def test_verbose_prints_one_line_per_epoch(rng, capsys):
    X, labels = blobs(rng, n=60)
    LinearClassifier(epochs=4, seed=0, verbose=True).fit(X, labels)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    for k, line in enumerate(lines, start=1):
        assert re.fullmatch(rf"epoch {k}/4  loss \d+\.\d{{4}}  lr \S+  \d+\.\ds", line), line
    LinearClassifier(epochs=2, seed=0, verbose=True).fit(X[:40], labels[:40], X_val=X[40:], y_val=labels[40:])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(re.search(r"  val_loss \d+\.\d{4}  val_acc \d+\.\d{2}%  ", ln) for ln in lines)
    LinearClassifier(epochs=2, seed=0).fit(X, labels)
    assert capsys.readouterr().out == ""


def test_callback_is_called_once_per_epoch_with_the_record(rng):
    X, labels = blobs(rng, n=60)
    received = []
    model = LinearClassifier(epochs=5, seed=0, callback=lambda record: received.append(dict(record))).fit(X, labels)
    assert len(received) == 5
    assert received == model.history_


def test_callback_sees_the_epochs_parameters_through_the_model(rng):
    # Documented: while the callback runs, model.W and model.b hold that epoch's parameters.
    X, labels = blobs(rng, n=80)
    seen = []

    def callback(record):
        loss, _, _ = np_objective_and_grad(X[50:], labels[50:], model.W, model.b, 3)
        seen.append((record["val_loss"], loss, model.score(X[50:], labels[50:]), record["val_accuracy"]))

    model = LinearClassifier(epochs=3, seed=0, dtype="float64", callback=callback)
    model.fit(X[:50], labels[:50], X_val=X[50:], y_val=labels[50:])
    assert len(seen) == 3
    for val_loss, loss, score, val_accuracy in seen:
        assert val_loss == pytest.approx(loss, rel=rounding_bound(np.float64, 30))
        assert score == val_accuracy
    assert seen[0][0] != seen[-1][0]  # the parameters did change between epochs


# --------------------------------------------------------------------------------------------
# early stopping


def overfitting_problem(rng, dtype):
    """A few training rows with many features and noisy labels: the validation loss improves
    for a few epochs (one informative feature) and then rises as the noise is memorised."""
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
    epochs, patience = 60, 3
    model = LinearClassifier(optimizer="sgd", lr=0.02, momentum=0.0, lr_schedule="constant", batch_size=8,
                             epochs=epochs, early_stopping=True, patience=patience, seed=0,
                             dtype=np.dtype(dtype).name).fit(X, y, X_val=X_val, y_val=y_val)
    val_losses = [r["val_loss"] for r in model.history_]
    best = int(np.argmin(val_losses))
    assert len(val_losses) < epochs, "never stopped"
    assert best >= 1, "the validation loss should improve for a while before it rises"
    assert len(val_losses) == best + 1 + patience  # stopped `patience` epochs after the best
    assert val_losses[-1] > val_losses[best]  # the last weights are worse than the best ones
    # The model holds the best epoch's weights: its validation loss, computed here in float64
    # from the model's W and b, is the minimum of the history (float32: 200-term logits).
    restored, _, _ = np_objective_and_grad(X_val, y_val, model.W, model.b, 2)
    assert restored == pytest.approx(val_losses[best], rel=rounding_bound(dtype, 200))
    assert restored != pytest.approx(val_losses[-1], rel=rounding_bound(dtype, 200))


def test_early_stopping_without_validation_data_holds_out_a_fraction(rng):
    X, labels = blobs(rng, n=100)
    model = LinearClassifier(epochs=4, early_stopping=True, validation_fraction=0.2, seed=0).fit(X, labels)
    assert all({"val_loss", "val_accuracy"} <= set(r) for r in model.history_)
    # accuracy on the 20 held-out rows is a multiple of 1/20
    assert all(abs(r["val_accuracy"] * 20 - round(r["val_accuracy"] * 20)) < 1e-12 for r in model.history_)
    with pytest.raises(ValueError, match=r"^validation_fraction=0\.001 of 100 rows leaves 0 for validation; "
                                         r"a hold-out split needs at least one row on each side$"):
        LinearClassifier(epochs=4, early_stopping=True, validation_fraction=0.001).fit(X, labels)


def test_validation_data_without_early_stopping_runs_every_epoch(rng):
    X, y, X_val, y_val = overfitting_problem(rng, np.float64)
    model = LinearClassifier(optimizer="sgd", lr=0.02, momentum=0.0, lr_schedule="constant", batch_size=8,
                             epochs=20, seed=0).fit(X, y, X_val=X_val, y_val=y_val)
    assert len(model.history_) == 20


# --------------------------------------------------------------------------------------------
# raw pixels


@pytest.mark.parametrize("dtype", DTYPES)
def test_raw_pixel_training_matches_training_on_pixels_over_255(rng, dtype):
    n, n_features = 120, 16
    labels = rng.integers(0, 3, n)
    means = rng.uniform(40, 215, size=(3, n_features))
    X = np.clip(means[labels] + rng.normal(scale=40, size=(n, n_features)), 0, 255).astype(np.uint8)
    hyper = dict(optimizer="sgd", lr=0.1, epochs=5, batch_size=24, seed=0, dtype=np.dtype(dtype).name)
    raw = LinearClassifier(raw_pixels=True, **hyper).fit(X[:100], labels[:100], X_val=X[100:], y_val=labels[100:])
    scaled = X.astype(dtype) / dtype(255)
    ref = LinearClassifier(**hyper).fit(scaled[:100], labels[:100], X_val=scaled[100:], y_val=labels[100:])
    # Same shuffles, same batches; only where the 1/255 is applied differs (one rounding per
    # element per step). 25 steps, each within rounding_bound(24) of the other's: linear growth.
    tol = 25 * rounding_bound(dtype, 24)
    np.testing.assert_allclose(raw.W, ref.W, rtol=tol, atol=tol * np.abs(ref.W).max())
    np.testing.assert_allclose(raw.b, ref.b, rtol=tol, atol=tol * np.abs(ref.b).max())
    np.testing.assert_allclose([r["val_loss"] for r in raw.history_], [r["val_loss"] for r in ref.history_],
                               rtol=tol)
    np.testing.assert_array_equal(raw.predict(X), ref.predict(scaled))


# --------------------------------------------------------------------------------------------
# divergence


def test_overflowing_training_raises_training_diverged_naming_epoch_and_batch():
    # Worked out by hand: 4 rows, 20 features all 1e16 (float32), labels 0, 0, 0, 1, full batch,
    # plain SGD at lr=1e6. Epoch 1 starts at zero weights (loss log 2); its gradient is
    # -/+2.5e15 in every entry of W's two columns, so the step makes them +/-2.5e21. Epoch 2's
    # logits are then 20 * 1e16 * 2.5e21 = 5e38 > float32's max 3.4e38: +inf and -inf, and the
    # loss is NaN at epoch 2, batch 1.
    X = np.full((4, 20), 1e16, np.float32)
    y = np.array([0, 0, 0, 1])
    model = LinearClassifier(optimizer="sgd", lr=1e6, momentum=0.0, lr_schedule="constant", batch_size=4,
                             epochs=3, seed=0)
    with pytest.raises(TrainingDivergedError,
                       match=r"^training diverged at epoch 2, batch 1: the loss became nan \(limit 6\.931, ten "
                             r"times that of the starting zero model\); the learning rate "
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
    model = LinearClassifier(optimizer="sgd", lr=1e6, epochs=5, seed=0)
    with pytest.raises(TrainingDivergedError,
                       match=r"^training diverged at epoch \d+, batch \d+: .*lr=.* is too large for this data, "
                             r"try a smaller one"):
        model.fit(X, y)
    assert not hasattr(model, "W")


# --------------------------------------------------------------------------------------------
# Trainer, split_validation, decision_function directly (issue 13 survivors)


def sgd_settings(lr, batch_size, **kw):
    return TrainingSettings(lr=lr, batch_size=batch_size, optimizer="sgd", optimizer_options={}, **kw)


def test_minibatch_epoch_equals_a_float64_replay_including_the_short_last_batch(rng):
    # 50 rows in batches of 20: 20, 20 and a short batch of 10. The replay below draws the same
    # permutation from the same seed and takes plain SGD steps on the float64 formula.
    X, labels = blobs(rng, n=50, n_features=6, n_classes=3)
    lr, batch_size = 0.5, 20
    params = Parameters(6, 3, np.float64)
    trainer = Trainer(params, sgd_settings(lr, batch_size, weight_decay=0.01), np.random.default_rng(5))
    record = trainer.partial_fit(X, labels)

    order = np.random.default_rng(5).permutation(50)
    W, b = np.zeros((6, 3)), np.zeros(3)
    losses, sizes = [], []
    for start in range(0, 50, batch_size):
        rows = order[start:start + batch_size]
        loss, grad_W, grad_b = np_objective_and_grad(X[rows], labels[rows], W, b, 3, weight_decay=0.01)
        W, b = W - lr * grad_W, b - lr * grad_b
        losses.append(loss)
        sizes.append(len(rows))
    assert sizes == [20, 20, 10]
    # Each row counts once: the short batch weighs 10/50, not 1/3 (they differ here by ~1e-2).
    expected = np.dot(losses, sizes) / 50
    assert abs(expected - np.mean(losses)) > 1e-4  # the premise: the two weightings differ
    # float64, three steps of 20-term sums: ~1e-15
    assert record["train_loss"] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(params.W, W, rtol=1e-12, atol=1e-14)  # the last batch was used
    np.testing.assert_allclose(params.b, b, rtol=1e-12, atol=1e-14)
    assert record["epoch"] == 1 and trainer.epochs_done == 1


@pytest.mark.parametrize("bad_lr, error, match", [
    (-1.0, ValueError,
     r"the learning rate lr_schedule gave for epoch 2 must be a finite number in \[0.0, inf\), got -1.0"),
    (float("nan"), ValueError, r"lr_schedule gave for epoch 2 must be a finite number .*got nan"),
    ("0.1", TypeError, r"the learning rate lr_schedule gave for epoch 2 must be a real number, got str"),
])
def test_a_bad_rate_from_a_callable_schedule_is_refused_before_the_epoch(bad_lr, error, match, rng):
    """The loop steps without per-batch checks, so the schedule's rate is checked once per
    epoch, before any batch: the parameters stay those of the last good epoch."""
    X, labels = blobs(rng, n=30, n_features=4, n_classes=3)
    settings = TrainingSettings(lr=0.2, batch_size=10, optimizer="sgd",
                                lr_schedule=lambda base, epoch: base if epoch == 0 else bad_lr)
    params = Parameters(4, 3, np.float64)
    trainer = Trainer(params, settings, np.random.default_rng(0))
    trainer.partial_fit(X, labels)
    after_first_epoch = params.vector.copy()
    with pytest.raises(error, match=match):
        trainer.partial_fit(X, labels)
    np.testing.assert_array_equal(params.vector, after_first_epoch)
    assert trainer.epochs_done == 1


def test_partial_fit_keeps_optimizer_state_and_advances_the_schedule(rng):
    X, labels = blobs(rng, n=30, n_features=4, n_classes=3)
    settings = TrainingSettings(lr=0.2, batch_size=30, optimizer="sgd", optimizer_options={"momentum": 0.9},
                                lr_schedule=lambda base, epoch: base / (epoch + 1))
    params = Parameters(4, 3, np.float64)
    trainer = Trainer(params, settings, np.random.default_rng(0))
    records = [trainer.partial_fit(X, labels) for _ in range(3)]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert [r["lr"] for r in records] == [0.2, 0.1, 0.2 / 3]
    # float64 replay: full batch heavy-ball momentum (torch's rule, first buffer = gradient)
    W, b, buf = np.zeros((4, 3)), np.zeros(3), None
    for epoch in range(3):
        _, grad_W, grad_b = np_objective_and_grad(X, labels, W, b, 3)
        g = np.concatenate([grad_W.ravel(), grad_b])
        buf = g if buf is None else 0.9 * buf + g
        step = (0.2 / (epoch + 1)) * buf
        W, b = W - step[:12].reshape(4, 3), b - step[12:]
    np.testing.assert_allclose(params.W, W, rtol=1e-12, atol=1e-14)


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
    model = LinearClassifier(optimizer="sgd", lr=0.5, momentum=0.0, lr_schedule="constant", batch_size=1000,
                             epochs=3, early_stopping=True, patience=10, validation_fraction=0.25,
                             seed=3, dtype="float64").fit(X, labels)
    train_rows, val_rows = split_validation(40, 0.25, np.random.default_rng(3))  # the same first draw
    W, b, _ = numpy_gradient_descent(X[train_rows], labels[train_rows], 3, 0.5, 3, 0.0, 0.0)
    best = int(np.argmin([r["val_loss"] for r in model.history_]))
    if best == 2:  # the restored parameters are the last ones
        np.testing.assert_allclose(model.W, W, rtol=1e-12, atol=1e-14)
    else:  # the restored epoch's
        W, b, _ = numpy_gradient_descent(X[train_rows], labels[train_rows], 3, 0.5, best + 1, 0.0, 0.0)
        np.testing.assert_allclose(model.W, W, rtol=1e-12, atol=1e-14)
    # and the validation loss is that of the validation rows (float64 formula)
    assert model.history_[best]["val_loss"] == pytest.approx(
        np_objective_and_grad(X[val_rows], labels[val_rows], model.W, model.b, 3)[0], rel=1e-12)


def test_early_stopping_records_why_and_where_it_stopped(rng):
    X, y, X_val, y_val = overfitting_problem(rng, np.float64)
    params = Parameters(X.shape[1], 2, np.float64)
    trainer = Trainer(params, sgd_settings(0.02, 8), np.random.default_rng(0))
    history = trainer.fit(X, y, epochs=60, validation=(X_val, y_val), early_stopping=True, patience=3)
    val_losses = [r["val_loss"] for r in history]
    best = int(np.argmin(val_losses))
    assert history[-1]["stopped_early"] is True and history[-1]["best_epoch"] == best + 1
    assert len(history) == best + 1 + 3
    assert all("stopped_early" not in r for r in history[:-1])
    restored, _, _ = np_objective_and_grad(X_val, y_val, params.W, params.b, 2)
    assert restored == pytest.approx(val_losses[best], rel=1e-12)


def test_tol_stops_when_the_training_loss_stops_improving(rng):
    X, labels = blobs(rng, n=60, n_features=4, n_classes=3)
    trainer = Trainer(Parameters(4, 3, np.float64), sgd_settings(0.1, 60), np.random.default_rng(0))
    # tol larger than any per-epoch improvement (the loss starts at log 3 ~ 1.1): the first
    # epoch improves on +inf (scikit-learn's start), no later one improves by tol, so it stops
    # after 1 + n_iter_no_change epochs
    history = trainer.fit(X, labels, epochs=50, tol=10.0, n_iter_no_change=4)
    assert len(history) == 5 and history[-1]["stopped_early"] is True
    trainer = Trainer(Parameters(4, 3, np.float64), sgd_settings(0.1, 60), np.random.default_rng(0))
    assert len(trainer.fit(X, labels, epochs=7, tol=None)) == 7


def test_integer_sample_weights_in_training_equal_repeated_rows(rng):
    X, labels = blobs(rng, n=30, n_features=4, n_classes=3)
    counts = rng.integers(1, 4, 30)
    repeated = np.repeat(np.arange(30), counts)
    params = Parameters(4, 3, np.float64)
    Trainer(params, sgd_settings(0.5, 1000), np.random.default_rng(0)).fit(
        X, labels, epochs=4, sample_weight=counts.astype(np.float64))
    W, b, _ = numpy_gradient_descent(X[repeated], labels[repeated], 3, 0.5, 4, 0.0, 0.0)
    np.testing.assert_allclose(params.W, W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(params.b, b, rtol=1e-12, atol=1e-14)


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
    Trainer(params, sgd_settings(0.1, 5), np.random.default_rng(0)).fit(X, labels, epochs=2)
    assert params.W is W and params.b is b and np.abs(W).sum() > 0  # same arrays, trained
    copy = params.copy()
    copy.W[...] = 0
    assert np.abs(params.W).sum() > 0


def test_adamw_applies_weight_decay_in_the_update_like_torch_adamw(rng):
    X, labels = blobs(rng, n=40, n_features=4, n_classes=3)
    model = LinearClassifier(optimizer="adamw", lr=0.05, weight_decay=0.1, lr_schedule="constant", batch_size=40,
                             epochs=4, seed=0, dtype="float64").fit(X, labels)
    W = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.AdamW([W, b], lr=0.05, weight_decay=0.1)  # torch decays b too
    Xt, yt = torch.from_numpy(X), torch.from_numpy(labels.astype(np.int64))
    for _ in range(4):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(Xt @ W + b, yt).backward()
        optimizer.step()
    # float64, four steps of a dozen operations: ~1e-15; no decay or a coupled one moves W by ~1e-3
    np.testing.assert_allclose(model.W, W.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.b, b.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_raw_pixel_training_equals_float64_gradient_descent_on_pixels_over_255(rng, dtype):
    # Independent of the float path: the reference is NumPy gradient descent on X / 255.
    X = rng.integers(0, 256, size=(40, 8)).astype(np.uint8)
    labels = rng.integers(0, 3, 40)
    labels[:3] = [0, 1, 2]
    model = LinearClassifier(optimizer="sgd", lr=0.5, momentum=0.0, lr_schedule="constant", batch_size=40,
                             epochs=5, seed=0, raw_pixels=True, dtype=np.dtype(dtype).name).fit(X, labels)
    W, b, losses = numpy_gradient_descent(X / 255.0, labels, 3, 0.5, 5, 0.0, 0.0)
    # 5 full-batch steps, each within rounding_bound(40) of exact (X / 255 in [0, 1])
    tol = 5 * rounding_bound(dtype, 40)
    np.testing.assert_allclose(model.W, W, rtol=tol, atol=tol * max(1.0, np.abs(W).max()))
    np.testing.assert_allclose([r["train_loss"] for r in model.history_], losses, rtol=tol)
