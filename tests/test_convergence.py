"""The estimator solves its objective: L-BFGS against scikit-learn's LogisticRegression, the
convergence rules, the default solver, and defaults that work on data nobody here tuned them on.

References are scikit-learn's own solutions and the objective written out in NumPy in the
test, never values computed by scratchlin itself.
"""
import subprocess
import sys
import warnings

import numpy as np
import pytest

import scratchlin
from scratchlin import LinearClassifier
from scratchlin.model import AUTO_LBFGS_MAX_ROWS

sklearn = pytest.importorskip("sklearn")
from sklearn import datasets as skdata  # noqa: E402
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


def load(name, scaled=True):
    loader = {"iris": skdata.load_iris, "wine": skdata.load_wine,
              "breast_cancer": skdata.load_breast_cancer, "digits": skdata.load_digits}[name]
    X, y = loader(return_X_y=True)
    if name == "digits":
        return X / 16.0, y
    return (StandardScaler().fit_transform(X) if scaled else X), y


def sklearn_objective(W, b, X, y, C, sample_weight=None):
    """C * sum_i w_i l_i + |W|^2 / 2, scikit-learn's multinomial objective, written out."""
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    Z = X @ W + b
    Z = Z - Z.max(axis=1, keepdims=True)
    log_p = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return -C * np.sum(w * log_p[np.arange(len(y)), y]) + 0.5 * np.sum(W * W)


def exact_fit(X, y, C, **kw):
    return LinearClassifier(C=C, solver="lbfgs", tol=1e-9, max_iter=5000, **kw).fit(X, y)


def reference_fit(X, y, C, **kw):
    return LogisticRegression(C=C, tol=1e-10, max_iter=10000, **kw).fit(X, y)


@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
@pytest.mark.parametrize("name", ["iris", "wine", "digits"])
def test_the_multiclass_solution_is_logistic_regressions(name, C):
    X, y = load(name)
    ours, theirs = exact_fit(X, y, C), reference_fit(X, y, C)
    scale = np.abs(theirs.coef_).max()
    assert np.abs(ours.coef_ - theirs.coef_).max() <= 1e-4 * scale
    # The softmax cannot see a constant added to every intercept: compare them centred.
    centred = lambda b: b - b.mean()  # noqa: E731
    np.testing.assert_allclose(centred(ours.intercept_), centred(theirs.intercept_), atol=1e-4 * scale)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
def test_the_binary_decision_function_is_logistic_regressions(C):
    """scikit-learn fits one vector d; the softmax fits two columns, which come out as -d/2, d/2."""
    X, y = load("breast_cancer")
    ours, theirs = exact_fit(X, y, C), reference_fit(X, y, C)
    d, offset = ours.W[:, 1] - ours.W[:, 0], ours.b[1] - ours.b[0]
    scale = np.abs(theirs.coef_).max()
    assert np.abs(d - theirs.coef_[0]).max() <= 1e-4 * scale
    assert abs(offset - theirs.intercept_[0]) <= 1e-4 * scale
    np.testing.assert_allclose(ours.W[:, 0], -ours.W[:, 1], atol=1e-6 * scale)
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X),
                               atol=1e-4 * np.abs(theirs.decision_function(X)).max())


def test_C_maps_to_the_penalty_one_over_C_times_the_summed_weights(rng):
    """Our J times C * sum(w) is scikit-learn's objective, at any point (here a random one)."""
    X, y = load("wine")
    weights = rng.uniform(0.5, 2.0, size=len(y))
    W, b = rng.normal(size=(X.shape[1], 3)), rng.normal(size=3)
    C = 0.7
    model = LinearClassifier.from_params(W, b, C=C)
    ours, _ = model.loss_and_grad(X, y, sample_weight=weights)
    assert ours * C * weights.sum() == pytest.approx(sklearn_objective(W, b, X, y, C, weights), rel=1e-12)


def test_sample_and_class_weights_give_logistic_regressions_solution(rng):
    X, y = load("iris")
    weights = rng.integers(1, 4, size=len(y)).astype(float)
    ours = exact_fit(X, y, 1.0, class_weight="balanced")
    theirs = reference_fit(X, y, 1.0, class_weight="balanced")
    assert np.abs(ours.coef_ - theirs.coef_).max() <= 1e-4 * np.abs(theirs.coef_).max()
    ours = LinearClassifier(solver="lbfgs", tol=1e-9, max_iter=5000).fit(X, y, sample_weight=weights)
    theirs = LogisticRegression(tol=1e-10, max_iter=10000).fit(X, y, sample_weight=weights)
    assert np.abs(ours.coef_ - theirs.coef_).max() <= 1e-4 * np.abs(theirs.coef_).max()


def test_integer_weights_are_repeated_rows_exactly_enough(rng):
    X, y = load("iris")
    counts = rng.integers(0, 3, size=len(y))
    weighted = exact_fit(X, y, 1.0).fit(X, y, sample_weight=counts)
    repeated = exact_fit(np.repeat(X, counts, axis=0), np.repeat(y, counts), 1.0)
    np.testing.assert_allclose(weighted.W, repeated.W, atol=1e-7)


def test_C_inf_is_the_unpenalised_objective(rng):
    X, y = load("iris")
    W, b = rng.normal(size=(4, 3)), rng.normal(size=3)
    loss, grads = LinearClassifier.from_params(W, b, C=np.inf).loss_and_grad(X, y)
    mean_cross_entropy = (sklearn_objective(W, b, X, y, 1.0) - 0.5 * np.sum(W * W)) / len(y)
    assert loss == pytest.approx(mean_cross_entropy, rel=1e-12)
    # Unpenalised, separable-ish iris: the weights grow far past the penalised solution's.
    free = LinearClassifier(C=np.inf, max_iter=300).fit(X, y)
    assert np.abs(free.W).max() > 3 * np.abs(exact_fit(X, y, 1.0).W).max()


@pytest.mark.parametrize("C", [0.0, -1.0, np.nan, "1"])
def test_C_must_be_a_positive_number(C):
    X, y = load("iris")
    with pytest.raises((ValueError, TypeError), match=r"^C must be a"):
        LinearClassifier(C=C).fit(X, y)


def test_the_stochastic_solvers_reach_the_objectives_minimum():
    X, y = load("iris")
    target = exact_fit(X, y, 1.0).history_[-1]["train_loss"]
    for solver in ("adam", "sgd"):
        model = LinearClassifier(solver=solver, seed=0).fit(X, y)
        assert model.solver_ == solver
        final = model.loss_and_grad(X, y)[0]
        assert target <= final <= target * 1.01, solver


# --- convergence semantics ---------------------------------------------------------------------


def test_reaching_max_iter_warns_with_scikit_learns_convergence_warning():
    X, y = load("digits")
    with pytest.warns(SklearnConvergenceWarning, match=r"^LinearClassifier with solver='lbfgs' did not "
                      r"converge in max_iter=3 iterations \(tol=0\.0001\); scale the features"):
        model = LinearClassifier(max_iter=3).fit(X, y)
    assert model.n_iter_ == 3 and len(model.history_) == 3
    with pytest.warns(scratchlin.ConvergenceWarning, match="solver='adam' did not converge in max_iter=2"):
        LinearClassifier(solver="adam", max_iter=2, seed=0).fit(X, y)


FLOAT32_CASES = [(name, C) for name in ("iris", "wine", "breast_cancer", "digits")
                 for C in (0.01, 1.0, 100.0)]


@pytest.mark.parametrize("name, C", FLOAT32_CASES)
def test_float32_fits_converge_where_logistic_regression_does(name, C):
    """Standardised float32 data, tol=1e-6: where scikit-learn's lbfgs converges without a
    warning, ours must too (the objective's float32 rounding is not a failure to converge)."""
    X, y = skdata.__dict__["load_" + name](return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SklearnConvergenceWarning)
        LogisticRegression(C=C, tol=1e-6, max_iter=1000).fit(X, y)  # the premise: no warning
        model = LinearClassifier(solver="lbfgs", C=C, tol=1e-6).fit(X, y)
    assert model.stop_reason_ in ("gradient", "decrease", "precision_limit"), model.stop_message_
    assert model.W.dtype == np.float32


def test_a_stall_far_from_tol_names_its_reason_the_gradient_and_remedies(monkeypatch):
    """Where L-BFGS stops at the precision limit with the gradient far from tol (here made to,
    after 10 iterations of 1000 allowed), the warning names that, the gradient reached and the
    remedies, and not max_iter."""
    X, y = load("iris")
    X = X.astype(np.float32)
    real_minimize = scratchlin.lbfgs.minimize

    def stalls_after_10(fun, x0, **kw):
        result = real_minimize(fun, x0, **{**kw, "max_iter": 10})
        result.status, result.converged, result.grad = "stalled", False, np.full_like(result.grad, 3e-3)
        return result

    monkeypatch.setattr(scratchlin.lbfgs, "minimize", stalls_after_10)
    with pytest.warns(SklearnConvergenceWarning) as caught:
        model = LinearClassifier(solver="lbfgs", tol=1e-6).fit(X, y)
    message = str(caught[0].message)
    assert model.stop_reason_ == "stalled" and model.n_iter_ == 10
    assert "after 10 iterations" in message and "precision" in message and "0.003" in message
    assert "max_iter" not in message
    assert "Scale the features" in message and "dtype='float64'" in message and "raise C" in message


@pytest.mark.parametrize("scale, C, fact", [(1e300, 1.0, "largest feature is 7.9e+300"),
                                            (1.0, 1e-300, "C=1e-300")])
def test_a_first_step_out_of_range_says_so(scale, C, fact):
    """Features of 1e300 or C=1e-300: no step can be taken from zero; the warning says that
    and why, not max_iter."""
    X, y = skdata.load_iris(return_X_y=True)
    with pytest.warns(SklearnConvergenceWarning, match="could not take a single step") as caught:
        model = LinearClassifier(solver="lbfgs", C=C).fit(X * scale, y)
    assert fact in str(caught[0].message) and "max_iter" not in str(caught[0].message)
    assert model.n_iter_ == 0 and model.stop_reason_ == "stalled"


@pytest.mark.parametrize("solver", ["adam", "adamw"])
def test_a_stochastic_solver_whose_moments_overflow_refuses(solver):
    """Adam's squared gradient overflows on features of 1e300 and its steps become 0: that
    must raise, not return the zero weights."""
    X, y = skdata.load_iris(return_X_y=True)
    with pytest.raises(scratchlin.TrainingDivergedError, match="overflowed.*scale the features"):
        LinearClassifier(solver=solver, seed=0).fit(X * 1e300, y)


def test_a_stochastic_solver_whose_weights_never_moved_warns():
    X, y = load("iris")
    with pytest.warns(SklearnConvergenceWarning, match="left the weights where they started"):
        model = LinearClassifier(solver="adam", lr_schedule=lambda lr, i: 0.0, seed=0).fit(X, y)
    assert not model.W.any()


def test_the_stop_reason_is_recorded():
    X, y = load("iris")
    assert LinearClassifier(solver="lbfgs").fit(X, y).stop_reason_ == "gradient"
    with pytest.warns(SklearnConvergenceWarning):
        model = LinearClassifier(solver="lbfgs", max_iter=2).fit(X, y)
    assert model.stop_reason_ == "max_iter" and "max_iter=2" in model.stop_message_
    model = LinearClassifier(solver="sgd", tol=None, max_iter=2, seed=0).fit(X, y)
    assert model.stop_reason_ == "max_iter"


def test_a_converged_fit_does_not_warn_and_reports_its_iterations():
    X, y = load("iris")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LinearClassifier().fit(X, y)
    assert 1 <= model.n_iter_ < 100 and len(model.history_) == model.n_iter_
    assert model.history_[-1]["grad_max"] <= 1e-4
    assert [r["iteration"] for r in model.history_] == list(range(1, model.n_iter_ + 1))


def test_tol_none_runs_max_iter_stochastic_iterations_without_a_warning():
    X, y = load("iris")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LinearClassifier(solver="sgd", tol=None, max_iter=4, seed=0).fit(X, y)
    assert model.n_iter_ == 4


def test_a_stochastic_iteration_makes_at_least_200_steps():
    X, y = load("iris")  # 150 rows: 2 steps per pass at batch 128, so 100 passes per iteration
    model = LinearClassifier(solver="adam", tol=None, max_iter=2, seed=0).fit(X, y)
    assert [(r["epochs"], r["steps"]) for r in model.history_] == [(100, 200), (100, 200)]
    model = LinearClassifier(solver="adam", tol=None, max_iter=1, batch_size=7, seed=0).fit(X, y)
    assert (model.history_[0]["epochs"], model.history_[0]["steps"]) == (10, 220)


def test_the_adaptive_rate_is_cut_by_five_at_each_plateau_twice_then_training_stops():
    X, y = load("wine")
    model = LinearClassifier(solver="adam", seed=0).fit(X, y)
    rates = sorted({r["lr"] for r in model.history_}, reverse=True)
    assert rates == pytest.approx([2e-3, 2e-3 / 5, 2e-3 / 25])
    assert model.history_[-1].get("converged") is True and model.n_iter_ < 100


def test_auto_picks_lbfgs_for_small_data_and_adam_for_large_or_early_stopping(capsys):
    X, y = load("iris")
    assert LinearClassifier().fit(X, y).solver_ == "lbfgs"
    assert LinearClassifier(early_stopping=True, seed=0).fit(X, y).solver_ == "adam"
    rng = np.random.default_rng(0)
    big = rng.normal(size=(AUTO_LBFGS_MAX_ROWS + 1, 2))
    labels = (big[:, 0] > 0).astype(int)
    model = LinearClassifier(max_iter=2, tol=None, verbose=True, seed=0).fit(big, labels)
    assert model.solver_ == "adam"
    assert capsys.readouterr().out.startswith(
        f"solver: adam (chosen by solver='auto' for {AUTO_LBFGS_MAX_ROWS + 1} rows)\n")


def test_lbfgs_refuses_what_it_cannot_do():
    X, y = load("iris")
    with pytest.raises(ValueError, match=r"^early_stopping=True needs a stochastic solver"):
        LinearClassifier(solver="lbfgs", early_stopping=True).fit(X, y)
    with pytest.raises(ValueError, match=r"^partial_fit needs a stochastic solver"):
        LinearClassifier(solver="lbfgs").partial_fit(X, y, classes=[0, 1, 2])


def test_lbfgs_is_deterministic_and_ignores_the_seed():
    X, y = load("wine")
    first = LinearClassifier(seed=1).fit(X, y)
    second = LinearClassifier(seed=2).fit(X, y)
    assert first.W.tobytes() == second.W.tobytes()


def test_the_warning_needs_no_scikit_learn_import():
    code = ("import sys, warnings, numpy as np, scratchlin\n"
            "X = np.random.default_rng(0).normal(size=(60, 3)); y = np.arange(60) % 3\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    scratchlin.LinearClassifier(max_iter=1).fit(X, y)\n"
            "assert w[0].category is scratchlin.ConvergenceWarning, w\n"
            "assert 'sklearn' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --- dtype ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("given, expected", [(np.float32, np.float32), (np.float64, np.float64),
                                             (np.int64, np.float64), (np.float16, np.float64)])
def test_the_computation_follows_the_inputs_dtype(given, expected):
    X, y = load("iris")
    model = LinearClassifier().fit(X.astype(given), y)
    assert model.W.dtype == expected and model.predict_proba(X.astype(given)).dtype == expected


def test_an_explicit_dtype_wins():
    X, y = load("iris")
    assert LinearClassifier(dtype="float32").fit(X, y).W.dtype == np.float32


# --- streams -------------------------------------------------------------------------------------


def test_ten_passes_of_partial_fit_over_seven_chunks_reach_fits_training_accuracy():
    X, y = load("digits")
    fitted = LinearClassifier().fit(X, y).score(X, y)
    model = LinearClassifier(seed=0)
    for _ in range(10):
        for chunk in np.array_split(np.arange(len(y)), 7):
            model.partial_fit(X[chunk], y[chunk], classes=np.arange(10))
    assert model.n_iter_ == 70
    assert model.score(X, y) >= fitted - 0.01


def test_the_partial_fit_rate_does_not_run_out_over_many_calls():
    X, y = load("iris")
    model = LinearClassifier(seed=0)
    for _ in range(120):  # more calls than max_iter
        model.partial_fit(X, y, classes=[0, 1, 2])
    assert {r["lr"] for r in model.history_} == {2e-3}
    assert model.score(X, y) >= 0.95


def test_partial_fit_penalises_with_all_the_rows_seen(rng):
    X, y = load("iris")
    model = LinearClassifier(seed=0, C=0.5)
    model.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    assert model._trainer.weight_decay == pytest.approx(1 / (0.5 * 50))
    model.partial_fit(X[50:], y[50:])
    assert model._trainer.weight_decay == pytest.approx(1 / (0.5 * 150))


# --- defaults on data nobody here made ----------------------------------------------------------


@pytest.mark.parametrize("scaled", [False, True], ids=["raw", "StandardScaler"])
@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "digits"])
def test_default_cv_accuracy_is_at_least_logistic_regressions_minus_one_point(name, scaled):
    X, y = load(name, scaled=False)
    wrap = (lambda est: make_pipeline(StandardScaler(), est)) if scaled else (lambda est: est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SklearnConvergenceWarning)  # both stop at max_iter on raw wine
        ours = cross_val_score(wrap(LinearClassifier()), X, y, cv=5).mean()
        theirs = cross_val_score(wrap(LogisticRegression()), X, y, cv=5).mean()
    assert ours >= theirs - 0.01, (ours, theirs)


# --- MNIST through Dask --------------------------------------------------------------------------


@pytest.mark.mnist
@pytest.mark.slow
def test_dask_incremental_over_60_blocks_of_mnist_reaches_91_5_percent(private_mnist_root):
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    from scratchlin import datasets
    from scratchlin.preprocessing import flatten, to_float

    images, labels = datasets.load_mnist("train", root=private_mnist_root, download=False)
    test_images, test_labels = datasets.load_mnist("test", root=private_mnist_root, download=False)
    X = to_float(flatten(images))
    with dask.config.set(scheduler="synchronous"):
        incremental = wrappers.Incremental(LinearClassifier(seed=0), shuffle_blocks=False)
        incremental.fit(da.from_array(X, chunks=(1000, 784)), da.from_array(labels, chunks=1000),
                        classes=np.arange(10))
    model = incremental.estimator_
    assert model.n_iter_ == 60
    assert model.score(to_float(flatten(test_images)), test_labels) >= 0.915
