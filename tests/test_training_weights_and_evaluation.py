"""Sample weights in the epoch loss, evaluation's stability and weighting, and the kernel's
memory for raw pixels: each against a float64 reference or hand values written here."""
import tracemalloc

import numpy as np
import pytest
import reference

from scratchlin import objective
from scratchlin.training import Parameters, Trainer, TrainingSettings, evaluate


def _np_weighted_loss_and_grad(X, labels, W, b, w):
    """float64: sum_i w_i (lse(z_i) - z_iy) / sum w and its gradient (``tests/reference.py``)."""
    return reference.objective(X, labels, W, b, sample_weight=w)


def test_epoch_loss_weighs_each_batch_by_its_summed_sample_weights():
    # 10 rows in batches of 4, 4, 2; the last batch holds most of the weight, so "rows per
    # batch" and "summed weights per batch" give different epoch losses (asserted below).
    # One pass exactly (the trainer's pass itself): an iteration's later passes reshuffle.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((10, 5))
    labels = rng.integers(0, 3, 10)
    order = np.random.default_rng(7).permutation(10)  # the trainer's shuffle: same seed
    weights = np.full(10, 0.5)
    weights[order[8:]] = 20.0  # the short last batch holds most of the weight
    lr = 2.0
    params = Parameters(5, 3, np.float64)
    settings = TrainingSettings(lr=lr, batch_size=4, optimizer="sgd", optimizer_options={"momentum": 0.0})
    trainer = Trainer(params, settings, np.random.default_rng(7))
    total_loss, total_weight = trainer._epoch(X, labels, weights, 4, lr, (1, 1))

    W, b = np.zeros((5, 3)), np.zeros(3)
    losses, batch_weights, batch_rows = [], [], []
    for start in range(0, 10, 4):
        rows = order[start:start + 4]
        loss, grad_W, grad_b = _np_weighted_loss_and_grad(X[rows], labels[rows], W, b, weights[rows])
        W, b = W - lr * grad_W, b - lr * grad_b
        losses.append(loss)
        batch_weights.append(weights[rows].sum())
        batch_rows.append(len(rows))
    expected = np.dot(losses, batch_weights) / weights.sum()
    assert abs(expected - np.dot(losses, batch_rows) / 10) > 1e-3  # the premise
    # float64, three SGD steps on 4-term sums: ~1e-15 relative
    assert total_weight == pytest.approx(weights.sum(), rel=1e-15)
    assert total_loss / total_weight == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(params.W, W, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_evaluate_is_exact_for_logits_far_beyond_exps_range(dtype):
    # Logits of +-1e4 (exp overflows in both dtypes): the loss of each row is its margin
    # below the max, exactly; accuracy is exact.
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype)
    params = Parameters.from_arrays(np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 5e3]], dtype),
                                    np.zeros(3, dtype))
    labels = np.array([0, 2, 1])
    # logits: row 0 (1e4, 0, -1e4) -> loss 0; row 1 (0, 1e4, 5e3) label 2 -> 5e3;
    # row 2 (1e4, 1e4, -5e3) label 1 -> log 2 (two equal maxima)
    loss, accuracy = evaluate(X, labels, params)
    np.testing.assert_allclose(loss, (0 + 5e3 + np.log(2)) / 3, rtol=4 * np.finfo(dtype).eps)
    assert accuracy == pytest.approx(1 / 3) or accuracy == pytest.approx(2 / 3)  # tie in row 2


def test_weighted_evaluation_weighs_accuracy_and_loss_by_the_sample_weights():
    # Three rows, one-hot features, W = identity: rows 0 and 1 right, row 2 (label 0,
    # predicted 2) wrong. Weights 1, 2, 5: accuracy (1 + 2) / 8; loss the weighted mean.
    X = np.eye(3)
    params = Parameters.from_arrays(np.eye(3) * 2.0, np.zeros(3))
    labels = np.array([0, 1, 0])
    weights = np.array([1.0, 2.0, 5.0])
    loss, accuracy = evaluate(X, labels, params, sample_weight=weights)
    assert accuracy == pytest.approx(3 / 8, rel=1e-15)
    right, wrong = np.log(np.exp(2) + 2) - 2, np.log(np.exp(2) + 2)  # lse - z_y
    assert loss == pytest.approx((1 * right + 2 * right + 5 * wrong) / 8, rel=1e-14)
    # chunked evaluation gives the same figures
    assert evaluate(X, labels, params, sample_weight=weights, chunk_size=2) == pytest.approx((loss, accuracy))


def test_raw_pixels_are_cast_to_the_parameters_dtype_not_to_float64():
    # loss_and_grad on a uint8 batch without a workspace must cast it to float32 (4 bytes per
    # pixel), not float64 (8): peak memory below 6 bytes per pixel (a float32 copy plus the
    # small (B, C) and (F, C) buffers), where a float64 copy alone is 8.
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(512, 784), dtype=np.uint8)
    labels = rng.integers(0, 10, 512)
    W, b = np.zeros((784, 10), np.float32), np.zeros(10, np.float32)

    def call():
        return objective.loss_and_grad(W, b, X, labels, input_scale=1 / 255)

    call()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        _, grad_W, _ = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert grad_W.dtype == np.float32
    assert peak <= 6 * X.nbytes, f"peak {peak / X.nbytes:.1f} bytes per pixel"


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
def test_the_data_set_objective_in_chunks_is_the_objective_on_all_rows(weighted, weight_decay):
    # L-BFGS's J: 30 rows in chunks of 7 (7, 7, 7, 7 and a short chunk of 2), each chunk's
    # weighted mean counting by its share of the weight, equals the float64 formula on all
    # rows at once. The weights put most of the weight on the short last chunk, so a chunk
    # weighed by rows, or as a full chunk, is off by far more than rounding.
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 5))
    labels = rng.integers(0, 3, 30)
    W, b = rng.standard_normal((5, 3)), rng.standard_normal(3)
    weights = np.where(np.arange(30) >= 28, 25.0, rng.uniform(0.5, 1.5, 30)) if weighted else None
    loss, grad_W, grad_b = objective.dataset_loss_and_grad(W, b, X, labels, sample_weight=weights,
                                                          weight_decay=weight_decay, chunk_rows=7)
    w = np.ones(30) if weights is None else weights
    expected, expected_W, expected_b = _np_weighted_loss_and_grad(X, labels, W, b, w)
    expected += 0.5 * weight_decay * np.sum(W * W)
    expected_W = expected_W + weight_decay * W
    # float64, 30-term sums in 5 chunks: a few ulp
    assert loss == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(grad_W, expected_W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad_b, expected_b, rtol=1e-12, atol=1e-14)
    # and one chunk holding every row gives the same numbers
    whole = objective.dataset_loss_and_grad(W, b, X, labels, sample_weight=weights, weight_decay=weight_decay)
    assert whole[0] == pytest.approx(loss, rel=1e-13)
    np.testing.assert_allclose(whole[1], grad_W, rtol=1e-12, atol=1e-14)
