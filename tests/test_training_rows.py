"""Which rows training uses, and the raw-pixel scale of predictions, seen through the weights.

With one-hot features (X the identity, one feature per row) a gradient step changes row ``i``
of ``W`` exactly when row ``i`` of ``X`` was in the batch: the weights record which rows
were trained on. From zero weights every class score is equal, so each trained row's update
``-lr (p - onehot(y)) / B`` has no zero entry (p = 1/C, never 0 or 1 for C = 3); the L2
penalty ``lambda W`` leaves a zero row at zero.
"""
import warnings

import numpy as np
import pytest

import scratchlin as sl

N_CLASSES = 3


def _one_hot_rows(n, dtype=np.float32):
    return np.eye(n, dtype=dtype), np.arange(n) % N_CLASSES


def _sgd(**options):
    base = {"solver": "sgd", "momentum": 0.0, "lr": 1.0, "lr_schedule": "constant", "max_iter": 1, "tol": None,
            "seed": 0}
    return sl.LinearClassifier(**{**base, **options})


@pytest.mark.parametrize("n, fraction, n_val", [
    (14, 0.25, 4),  # 3.5 rounds to 4 (truncation would give 3)
    (20, 0.1, 2),
    (9, 0.3, 3),    # 2.7 rounds to 3
])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample-weight"])
def test_early_stopping_trains_only_on_the_rows_it_does_not_validate_on(n, fraction, n_val, weighted):
    X, y = _one_hot_rows(n)
    # positive weights (a weight of 0 would drop the row before the split): same held-out rows
    sample_weight = np.linspace(0.5, 2.0, n) if weighted else None
    model = _sgd(batch_size=n, early_stopping=True, validation_fraction=fraction).fit(
        X, y, sample_weight=sample_weight)
    trained = np.any(model.W != 0, axis=1)
    assert np.count_nonzero(~trained) == n_val  # round(fraction * n) rows held out, untouched


@pytest.mark.parametrize("n, batch_size", [(10, 4), (7, 3), (5, 2), (4, 4)])
def test_one_epoch_visits_every_row_including_the_partial_last_batch(n, batch_size):
    # One pass exactly (an iteration repeats passes, whose fresh shuffles would hide a dropped
    # batch): the trainer's pass itself, from zero weights.
    X, y = _one_hot_rows(n)
    settings = sl.training.TrainingSettings(lr=1.0, batch_size=batch_size, optimizer="sgd")
    params = sl.training.Parameters(n, N_CLASSES, np.float32)
    trainer = sl.training.Trainer(params, settings, np.random.default_rng(0))
    _, weight = trainer._epoch(X, y, None, batch_size, 1.0, (1, 1))
    assert weight == n  # every row counted once in the pass's loss
    assert np.all(params.W != 0, axis=None), "rows of a dropped batch leave their W row at 0"
    # and an iteration is made of such passes: -(-200 // ceil(n / batch_size)) of them
    record = trainer.partial_fit(X, y)
    steps_per_pass = -(-n // batch_size)
    assert record["epochs"] == -(-200 // steps_per_pass) and record["steps"] == record["epochs"] * steps_per_pass


def test_the_seed_changes_the_order_the_rows_are_visited_in():
    # With batches of one row, row i's update depends on the bias at its turn, i.e. on the
    # order of the rows: two seeds must give different weights (an unshuffled pass, the same
    # order for every seed, would give identical ones).
    X, y = _one_hot_rows(12)
    first = _sgd(batch_size=1, seed=1).fit(X, y).W
    second = _sgd(batch_size=1, seed=2).fit(X, y).W
    assert not np.array_equal(first, second)


def test_a_raw_pixel_models_logits_are_the_float64_reference_with_the_1_over_255_scale(rng):
    X = rng.integers(0, 256, size=(40, 6), dtype=np.uint8)
    y = np.arange(40) % N_CLASSES
    model = sl.LinearClassifier(raw_pixels=True).fit(X, y)  # dtype=None: raw pixels compute in float32
    expected = (X.astype(np.float64) / 255) @ model.W.astype(np.float64) + model.b.astype(np.float64)
    # float32: a 6-term dot product of values <= 1 by |W|: ~8 u32 |terms|
    scale = (X.astype(np.float64) / 255) @ np.abs(model.W.astype(np.float64)) + np.abs(model.b)
    got = model.decision_function(X)
    assert got.dtype == np.float32
    assert np.all(np.abs(got - expected) <= 16 * np.finfo(np.float32).eps * (scale + 1e-30))
    assert np.abs(expected).max() > 0  # the check above could fail: the logits are not all 0


def test_a_diverging_fit_raises_without_runtime_warnings():
    # The overflow of a diverging run is reported by TrainingDivergedError alone.
    X = np.full((4, 20), 1e16, np.float32)
    model = _sgd(lr=1e6, batch_size=4, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(sl.training.TrainingDivergedError,
                           match=r"^training diverged at iteration 1 \(pass 2\), batch 1: the loss became nan"):
            model.fit(X, np.array([0, 0, 0, 1]))
