"""LinearClassifier as a scikit-learn citizen (issue 11), without scikit-learn as a dependency.

scikit-learn is a test extra: these tests import it, the library never does (test_package.py).
Expected values come from scikit-learn itself (its check suite, its tools) or from NumPy
computations written here.
"""
import subprocess
import sys
import warnings

import numpy as np
import pytest

import scratchlin as sl
from scratchlin import LinearClassifier

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone, is_classifier
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_class_weight_classifiers,
    check_estimator,
    check_sample_weight_equivalence_on_dense_data,
)
from sklearn.utils.validation import check_is_fitted

# The checks of scikit-learn's suite that LinearClassifier fails on purpose: none. (The
# defaults solve the objective to convergence, by L-BFGS on small data, and dtype follows X.)
DEVIATIONS: dict = {}


def classification_data(n=150, n_features=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(3, n_features))
    which = np.arange(n) % 3
    return centres[which] + rng.normal(size=(n, n_features)), which


def test_check_estimator_passes_in_full():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(LinearClassifier(seed=0), on_fail=None, on_skip=None)
    failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
    assert set(failed) == set(DEVIATIONS) == set(), failed
    # The only skip is scikit-learn's own: array API input needs SCIPY_ARRAY_API set.
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input"}, skipped
    assert len(results) > 50  # the suite did run


# The stochastic solvers on the blobs: on which scikit-learn's LogisticRegression scores
# 0.98-1.0 per fold; the default (L-BFGS) needs nothing pinned.
LEARNS = dict(seed=0, solver="adam", lr=0.1, max_iter=5, tol=None)


@pytest.mark.parametrize("dtype", [None, "float32"])
def test_the_checks_that_used_to_deviate_pass_with_the_defaults(dtype):
    # Integer weights equal repeated rows to the check's 1e-7 (L-BFGS to tol on the same
    # objective; float64 for float64 X), and the class-weight check finds the optimum it assumes.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dtype is None:
            check_sample_weight_equivalence_on_dense_data("LinearClassifier", LinearClassifier(seed=0))
        check_class_weight_classifiers("LinearClassifier", LinearClassifier(seed=0, dtype=dtype))


def test_the_issue_examples_work():
    X, y = classification_data()
    assert is_classifier(LinearClassifier())
    scores = cross_val_score(LinearClassifier(seed=0), X, y, cv=3)
    assert scores.shape == (3,) and ((0 <= scores) & (scores <= 1)).all()
    assert cross_val_score(LinearClassifier(**LEARNS), X, y, cv=3).min() >= 0.95
    assert cross_val_score(LinearClassifier(), X, y, cv=3).min() >= 0.95
    make_pipeline(StandardScaler(), LinearClassifier(seed=0)).fit(X, y)
    pipeline = make_pipeline(StandardScaler(), LinearClassifier(**LEARNS)).fit(X, y)
    assert pipeline.score(X, y) >= 0.95
    search = GridSearchCV(LinearClassifier(seed=0), {"C": [1e-3, 1.0]}, cv=3).fit(X, y)
    assert search.best_params_["C"] == 1.0  # C=1e-3 shrinks W to almost nothing
    assert search.best_estimator_.W.shape == (4, 3)


def test_calibrated_classifier_cv_wraps_it():
    X, y = classification_data()
    calibrated = CalibratedClassifierCV(LinearClassifier(**LEARNS), cv=3).fit(X, y)
    probs = calibrated.predict_proba(X)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)  # float64 sums of 3
    assert calibrated.score(X, y) >= 0.95


def test_clone_copies_hyperparameters_and_drops_the_fit():
    X, y = classification_data()
    model = LinearClassifier(seed=0, lr=0.01, class_weight={0: 2.0}).fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "W") and not hasattr(copy, "classes_")


def test_not_fitted_errors_are_sklearns_too_and_check_is_fitted_agrees():
    X, y = classification_data()
    model = LinearClassifier(seed=0)
    with pytest.raises(SklearnNotFittedError):
        model.predict(X)
    with pytest.raises(sl.NotFittedError):
        model.predict(X)
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(model)
    check_is_fitted(model.fit(X, y))


def test_a_not_fitted_error_survives_pickling_between_processes():
    import pickle

    with pytest.raises(sl.NotFittedError) as caught:
        LinearClassifier().predict(np.eye(3))
    copy = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(copy, SklearnNotFittedError) and isinstance(copy, sl.NotFittedError)
    assert str(copy) == str(caught.value)


def test_string_labels_through_a_pipeline_and_cross_validation():
    X, y = classification_data()
    names = np.array(["cat", "dog", "eel"])[y]
    scores = cross_val_score(make_pipeline(StandardScaler(), LinearClassifier(**LEARNS)), X, names, cv=3)
    assert scores.min() >= 0.95
    predicted = LinearClassifier(**LEARNS).fit(X, names).predict(X)
    assert predicted.dtype == names.dtype and set(predicted) <= {"cat", "dog", "eel"}


def test_dataframe_feature_names_are_recorded_and_checked():
    pd = pytest.importorskip("pandas")
    X, y = classification_data()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = LinearClassifier(seed=0).fit(frame, y)
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c", "d"])
    assert model.feature_names_in_.dtype == object
    np.testing.assert_array_equal(model.predict(frame), np.argmax(X @ model.W + model.b, axis=1))
    with pytest.raises(ValueError, match=r"Feature names must be in the same order as they were in fit"):
        model.predict(frame[["b", "a", "c", "d"]])
    with pytest.warns(UserWarning, match=r"^X does not have valid feature names, but LinearClassifier was fitted"):
        model.predict(X)
    # a refit on an array forgets the names
    assert not hasattr(LinearClassifier(seed=0).fit(frame, y).fit(X, y), "feature_names_in_")


def test_importing_scratchlin_and_fitting_never_imports_sklearn():
    # fit, predict, and raising NotFittedError (which looks for sklearn in sys.modules only)
    code = ("import sys, numpy as np, scratchlin as sl\n"
            "sl.LinearClassifier(seed=0, max_iter=1).fit(np.eye(4), ['a', 'b', 'a', 'b']).predict(np.eye(4))\n"
            "try:\n    sl.LinearClassifier().predict(np.eye(4))\nexcept sl.NotFittedError:\n    pass\n"
            "print(sorted(m for m in ('sklearn', 'dask', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("C", [0.05, 1.0])
def test_the_solution_is_logistic_regressions_with_the_same_C(n_classes, C):
    # The class docstring: J times C sum w is LogisticRegression's objective, so the minimisers
    # agree; with two classes the softmax's columns are -d/2, +d/2 and lambda is doubled so that
    # X @ (w1 - w0) is scikit-learn's decision function. Both solve to a gradient of 1e-10:
    # the parameters then differ by about 1e-10 * C N / (smallest curvature), far below 1e-5,
    # while a penalty off by 2 moves them by > 1e-2.
    from sklearn.linear_model import LogisticRegression

    X, y = classification_data(n=150)
    X, y = X[y < n_classes], y[y < n_classes]
    ours = LinearClassifier(C=C, tol=1e-10, max_iter=1000).fit(X, y)
    theirs = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X), rtol=1e-5, atol=1e-5)
    if n_classes == 2:
        np.testing.assert_allclose(ours.coef_[1] - ours.coef_[0], theirs.coef_[0], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(ours.coef_[0], -ours.coef_[1], rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-5, atol=1e-5)
        shift = ours.intercept_ - theirs.intercept_  # the softmax cannot see a shared constant
        np.testing.assert_allclose(shift, shift.mean(), atol=1e-5)
