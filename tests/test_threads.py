"""The BLAS thread policy: which count it picks for which sizes, how a user overrides it, and
that scratchlin's limit never outlives its own work (the caller's settings come back, also
after an exception).

No test here depends on timing or on the machine's core count: the policy's inputs (cores,
the caller's limit) are fixed with monkeypatch where they matter.
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from scratchlin import _threads

MNIST = {"n_features": 784, "n_classes": 10}


def blas_threads_now():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture
def machine(monkeypatch):
    """Pretend the machine has ``cores`` CPUs and the caller allows ``limit`` BLAS threads."""
    def set_machine(cores, limit):
        monkeypatch.setattr(_threads, "available_cores", lambda: cores)
        monkeypatch.setattr(_threads, "current_blas_threads", lambda: limit)
    return set_machine


# The documented table. A thread joins only with >= 2**25 = 33,554,432 multiply-adds of each
# product: B * 784 * 10 >= k * 2**25 gives k threads, i.e. B >= 4280.2 * k (hand-computed).
@pytest.mark.parametrize("batch_size, cores, limit, expected", [
    (1, 2, 2, 1),
    (128, 2, 2, 1),        # the default fit's batches: far too small for a second thread
    (4096, 2, 2, 1),
    (8559, 2, 2, 1),       # 8559 * 7840 = 67,102,560 < 2 * 2**25 = 67,108,864
    (8560, 2, 2, 2),       # 8560 * 7840 = 67,110,400 >= 2 * 2**25
    (60000, 2, 2, 2),      # full batch: capped by the cores
    (60000, 64, 64, 14),   # 470,400,000 // 2**25 = 14
    (60000, 8, 64, 8),
    (60000, 8, 1, 1),      # the caller limited BLAS to 1 thread: never exceeded
    (60000, 1, 4, 1),
])
def test_policy_picks_threads_by_work_per_thread(machine, batch_size, cores, limit, expected):
    machine(cores, limit)
    assert _threads.choose_n_threads(None, batch_size=batch_size, **MNIST) == expected


def test_policy_threshold_is_per_thread_work_not_batch_size(machine):
    machine(16, 16)
    # same multiply-adds (2**26) from different shapes: the same two threads
    assert _threads.choose_n_threads(None, batch_size=2**16, n_features=2**10, n_classes=1) == 2
    assert _threads.choose_n_threads(None, batch_size=2**6, n_features=2**10, n_classes=2**10) == 2
    assert _threads.choose_n_threads(None, batch_size=2**6 - 1, n_features=2**10,
                                     n_classes=2**10) == 1


def test_policy_leaves_the_pool_alone_without_a_controllable_blas(monkeypatch):
    monkeypatch.setattr(_threads, "_blas_controller", lambda: None)
    assert _threads.choose_n_threads(None, batch_size=60000, **MNIST) is None
    assert _threads.current_blas_threads() is None
    with _threads.blas_threads(1):  # nothing to limit: a no-op, not an error
        pass


@pytest.mark.parametrize("n_threads", [1, 3, 64, np.int64(2)])
def test_user_choice_wins_over_the_policy(machine, n_threads):
    machine(2, 1)
    chosen = _threads.choose_n_threads(n_threads, batch_size=128, **MNIST)
    assert chosen == n_threads and type(chosen) is int


@pytest.mark.parametrize("n_threads, error, message", [
    (0, ValueError, r"n_threads must be >= 1, got 0"),
    (-1, ValueError, r"n_threads must be >= 1, got -1"),
    (1.5, TypeError, r"n_threads must be an int, got float"),
    ("2", TypeError, r"n_threads must be an int, got str"),
    (True, TypeError, r"n_threads must be an int, got bool"),
])
def test_bad_thread_counts_are_refused_by_name(n_threads, error, message):
    with pytest.raises(error, match=message):
        _threads.choose_n_threads(n_threads, batch_size=128, **MNIST)


def test_current_blas_threads_reads_the_callers_limit():
    with threadpool_limits(limits=1, user_api="blas"):
        assert _threads.current_blas_threads() == 1
    assert _threads.current_blas_threads() == max(blas_threads_now())


def test_blas_threads_applies_the_limit_inside_and_restores_after():
    before = threadpool_info()
    with _threads.blas_threads(1):
        assert set(blas_threads_now()) == {1}
    assert threadpool_info() == before


def test_blas_threads_restores_the_callers_own_limit_not_the_default():
    with threadpool_limits(limits=1, user_api="blas"):
        inside_caller = threadpool_info()
        with _threads.blas_threads(2):
            assert set(blas_threads_now()) == {2}
        assert threadpool_info() == inside_caller


def test_blas_threads_restores_after_an_exception():
    before = threadpool_info()
    with pytest.raises(RuntimeError, match="boom"), _threads.blas_threads(1):
        assert set(blas_threads_now()) == {1}
        raise RuntimeError("boom")
    assert threadpool_info() == before


def test_blas_threads_none_changes_nothing():
    with threadpool_limits(limits=1, user_api="blas"), _threads.blas_threads(None):
        assert set(blas_threads_now()) == {1}


def _small_problem(rng):
    X = rng.random((300, 20)).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int) + 2 * (X[:, 1] > 0.5)
    return X, y


SOLVERS = {"lbfgs": dict(solver="lbfgs"), "adam": dict(solver="adam", max_iter=2, tol=None)}


@pytest.mark.parametrize("solver", list(SOLVERS))
def test_fit_leaves_the_callers_thread_settings_unchanged(rng, solver):
    from scratchlin import LinearClassifier

    X, y = _small_problem(rng)
    # The caller allows 2 threads; the policy picks 1 for this tiny fit, then must put 2 back.
    with threadpool_limits(limits=2, user_api="blas"):
        before = threadpool_info()
        LinearClassifier(seed=0, **SOLVERS[solver]).fit(X, y)
        assert threadpool_info() == before


@pytest.mark.parametrize("solver", list(SOLVERS))
def test_fit_restores_thread_settings_when_training_raises(rng, solver):
    from scratchlin import LinearClassifier

    X, y = _small_problem(rng)

    def stop(record):
        raise KeyboardInterrupt("stopped by the user")

    with threadpool_limits(limits=2, user_api="blas"):  # the policy's 1 differs from it
        before = threadpool_info()
        with pytest.raises(KeyboardInterrupt, match="stopped by the user"):
            LinearClassifier(seed=0, callback=stop, **SOLVERS[solver]).fit(X, y)
        assert threadpool_info() == before


@pytest.mark.parametrize("n_threads", [1, 2])
def test_seeded_training_is_bit_identical_for_a_given_thread_count(n_threads):
    """Two trainings with the same seed and thread count give the same bits.

    (Across thread counts the bits may differ: BLAS splits its sums differently. That is why
    the policy depends on sizes, cores and the caller's limit, never on the momentary load.)
    B=256 with F=784 is large enough that OpenBLAS really splits the product over 2 threads.
    """
    from scratchlin.training import Parameters, Trainer, TrainingSettings

    data_rng = np.random.default_rng(7)
    X = data_rng.random((1024, 784)).astype(np.float32)
    labels = data_rng.integers(0, 10, 1024).astype(np.intp)
    settings = TrainingSettings(lr=2e-3, batch_size=256, optimizer="adam", n_threads=n_threads)
    weights = []
    for _ in range(2):
        params = Parameters(784, 10, np.float32)
        Trainer(params, settings, np.random.default_rng(0)).fit(X, labels, max_iter=1, tol=None)
        weights.append(params.vector.copy())
    assert np.any(weights[0] != 0)
    np.testing.assert_array_equal(weights[0], weights[1])
