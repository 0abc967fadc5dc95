"""Tests of scratchlin.LinearClassifier: the estimator contract, input checks, labels, dtypes,
the objective's gradient (finite differences and torch autograd). Save/load: test_persistence.py.

Training itself (determinism, the loop against hand-written NumPy and torch, early stopping,
history, divergence, the objective with its preallocated workspace) is in test_training.py; the real-MNIST accuracy in
test_mnist_accuracy.py.

Every expected value here is computed by the test itself in float64 NumPy (or by torch), never
by the code under test.
"""
import os
import warnings

import numpy as np
import pytest
import reference

import scratchlin as sl
from scratchlin import LinearClassifier, NotFittedError
from scratchlin.training import MIN_STEPS_PER_ITERATION

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
# One iteration (200 minibatch steps) of a tiny problem, milliseconds. The stochastic solver is
# pinned, with tol=None (exactly max_iter iterations, no ConvergenceWarning), so that these tests
# do not depend on the defaults (L-BFGS on small data).
FAST = dict(solver="sgd", lr=0.1, momentum=0.9, max_iter=1, tol=None, batch_size=32, seed=0)


# --------------------------------------------------------------------------------------------
# helpers


def blobs(rng, n=120, n_features=6, labels=(0, 1, 2), spread=0.5, dtype=np.float64):
    """Gaussian blobs, one per label, centres ~3 apart per coordinate: separable by a wide
    margin (centre distances ~10 against a spread of 0.5), every label present."""
    labels = np.asarray(labels)
    centres = rng.normal(scale=3.0, size=(len(labels), n_features))
    which = rng.integers(0, len(labels), n)
    which[: len(labels)] = np.arange(len(labels))
    X = centres[which] + spread * rng.normal(size=(n, n_features))
    return X.astype(dtype), labels[which]


np_logits = reference.logits


def np_log_softmax(Z):
    return reference.log_softmax(Z, axis=1)


def rounding_bound(dtype, n_terms):
    """Worst-case relative rounding error of an ``n_terms``-long float sum, gamma_n = n u
    (u = eps / 2), times 4 for the handful of extra roundings (exp, log, divide, scale)."""
    return 2 * n_terms * float(np.finfo(dtype).eps)


# --------------------------------------------------------------------------------------------
# hyperparameters: stored by __init__, checked by fit


INVALID_HYPERPARAMETERS = [
    # (hyperparameters, exception, pinned message)
    (dict(lr=-0.1), ValueError, r"^lr must be a finite number in \(0\.0, inf\), got -0\.1$"),
    (dict(lr=0.0), ValueError, r"^lr must be a finite number in \(0\.0, inf\), got 0\.0$"),
    (dict(lr=float("nan")), ValueError, r"^lr must be a finite number in \(0\.0, inf\), got nan$"),
    (dict(lr="0.1"), TypeError, r"^lr must be a real number, got str$"),
    (dict(batch_size=0), ValueError, r"^batch_size must be >= 1, got 0$"),
    (dict(batch_size=32.0), TypeError, r"^batch_size must be an int, got float$"),
    (dict(max_iter=0), ValueError, r"^max_iter must be >= 1, got 0$"),
    (dict(max_iter=2.0), TypeError, r"^max_iter must be an int, got float$"),
    (dict(solver="rmsprop"), ValueError,
     r"^solver must be one of 'auto', 'lbfgs', 'adam', 'adamw', 'sgd', got 'rmsprop'$"),
    (dict(solver="lbfgs", early_stopping=True), ValueError,
     r"^early_stopping=True needs a stochastic solver \('adam', 'adamw' or 'sgd'\); L-BFGS solves"),
    # The argument is ``lr_schedule``; DESIGN.md: "each message names the argument".
    (dict(lr_schedule="exponential"), ValueError,
     r"^lr_schedule must be one of .*'cosine'.*, got 'exponential'$"),
    (dict(label_smoothing=1.5), ValueError,
     r"^label_smoothing must be a finite number in \[0\.0, 1\.0\], got 1\.5$"),
    (dict(label_smoothing=-0.1), ValueError,
     r"^label_smoothing must be a finite number in \[0\.0, 1\.0\], got -0\.1$"),
    (dict(dtype="float16"), ValueError, r"^dtype must be float32 or float64, got 'float16'$"),
    (dict(dtype="int32"), ValueError, r"^dtype must be float32 or float64, got 'int32'$"),
    (dict(dtype="banana"), ValueError, r"^dtype must be float32 or float64, got 'banana'$"),
    (dict(momentum=1.0), ValueError, r"^momentum must be a finite number in \[0\.0, 1\.0\), got 1\.0$"),
    (dict(C=-1.0), ValueError, r"^C must be a finite number in \(0\.0, inf\), got -1\.0$"),
    (dict(C=0.0), ValueError, r"^C must be a finite number in \(0\.0, inf\), got 0\.0$"),
    (dict(C="1"), TypeError, r"^C must be a real number, got str$"),
    (dict(patience=0), ValueError, r"^patience must be >= 1, got 0$"),
    (dict(seed=-1), ValueError, r"^seed must be non-negative, got -1$"),
    (dict(n_threads=0), ValueError, r"^n_threads must be >= 1, got 0$"),
    (dict(tol=-1.0), ValueError, r"^tol must be a finite number in \[0\.0, inf\), got -1\.0$"),
    (dict(tol="loose"), TypeError, r"^tol must be a real number, got str$"),
    (dict(tol=1e-3, n_iter_no_change=0), ValueError, r"^n_iter_no_change must be >= 1, got 0$"),
    (dict(class_weight="uniform"), TypeError, r"^class_weight must be None, 'balanced' or a dict"),
    (dict(class_weight={7: 2.0}), ValueError,
     r"^class_weight names label 7, which is not one of the classes \[0, 1, 2\]$"),
    (dict(class_weight={1: -2.0}), ValueError, r"^class_weight\[1\] must be a finite number >= 0, got -2\.0$"),
    (dict(warm_start=1), TypeError, r"^warm_start must be True or False, got int 1$"),
    (dict(solver="sgd", nesterov=True, momentum=0.0), ValueError,
     r"^nesterov=True needs momentum > 0, got momentum=0"),
    (dict(early_stopping=True, validation_fraction=1.0), ValueError,
     r"^validation_fraction must be a finite number in \(0\.0, 1\.0\), got 1\.0$"),
]


@pytest.mark.parametrize("hyper, error, message", INVALID_HYPERPARAMETERS,
                         ids=[",".join(f"{k}={v!r}" for k, v in h.items()) for h, _, _ in INVALID_HYPERPARAMETERS])
def test_invalid_hyperparameter_is_stored_by_init_and_reported_by_fit(rng, hyper, error, message):
    model = LinearClassifier(**hyper)  # scikit-learn convention: __init__ never validates
    params = model.get_params()
    for name, value in hyper.items():
        assert params[name] is value, f"{name} was not stored unchanged"
    X, y = blobs(rng, n=40)
    with pytest.raises(error, match=message):
        model.fit(X, y)
    assert not hasattr(model, "W")


def test_get_params_returns_exactly_what_was_passed_and_set_params_round_trips():
    callback = lambda record: None
    schedule = lambda base, epoch: base
    generator = np.random.default_rng(1)
    passed = dict(lr=0.05, max_iter=3, batch_size=17, solver="ADAM", momentum=0.5, nesterov=False,
                  C=1e3, label_smoothing=0.1, lr_schedule=schedule, early_stopping=True,
                  validation_fraction=0.2, patience=2, raw_pixels=True, seed=generator,
                  dtype=np.float64, verbose=True, callback=callback, class_weight={0: 2.0},
                  warm_start=True, tol=1e-4, n_iter_no_change=2, n_threads=1)
    model = LinearClassifier(**passed)
    params = model.get_params()
    assert set(params) == set(passed)
    for name, value in passed.items():
        assert params[name] is value, name
    clone = LinearClassifier(**params)
    assert all(clone.get_params()[k] is v for k, v in passed.items())
    assert model.set_params(lr=0.2, max_iter=9) is model
    assert (model.lr, model.max_iter) == (0.2, 9)


def test_hyperparameters_are_keyword_only_and_design_names_exist():
    with pytest.raises(TypeError):
        LinearClassifier(0.1)
    names = set(LinearClassifier().get_params())
    assert {"C", "solver", "max_iter", "tol", "lr", "batch_size", "momentum", "label_smoothing",
            "seed", "dtype", "verbose"} <= names
    assert not names & {"epochs", "optimizer", "weight_decay"}  # the names before C and solver


def test_set_params_refuses_an_unknown_name():
    with pytest.raises(ValueError,
                       match=r"^unknown hyperparameter 'learning_rate'; valid: C, solver, max_iter, tol, lr, "):
        LinearClassifier().set_params(learning_rate=0.1)


def test_repr_shows_only_the_changed_hyperparameters():
    assert repr(LinearClassifier()) == "LinearClassifier()"
    assert repr(LinearClassifier(lr=0.5, dtype="float64")) == "LinearClassifier(lr=0.5, dtype='float64')"


# --------------------------------------------------------------------------------------------
# bad input, each with its pinned message


class _SparseLike:
    """Stands for a scipy.sparse matrix (scipy is not a dependency): it has ``tocsr``."""

    def tocsr(self):
        return self


def _with_value(X, index, value):
    X = X.copy()
    X[index] = value
    return X


BAD_FIT_INPUT = {
    "nan in X": (lambda X, y: (_with_value(X, (3, 2), np.nan), y), ValueError,
                 r"^X must be finite; it holds 1 NaN/inf value\(s\), first at index \(3, 2\)$"),
    "inf in X": (lambda X, y: (_with_value(X, (5, 0), -np.inf), y), ValueError,
                 r"^X must be finite; it holds 1 NaN/inf value\(s\), first at index \(5, 0\)$"),
    "1-D X": (lambda X, y: (X[:, 0], y), ValueError,
              r"^X must be 2-D, got 1-D array of shape \(40,\); Reshape your data either using"),
    "3-D X": (lambda X, y: (X.reshape(40, 3, 2), y), ValueError,
              r"^X must be 2-D, one row of features per sample, got 3-D array of shape \(40, 3, 2\); "
              r"flatten images into rows first: scratchlin\.datasets\.flatten\(X\) or X\.reshape\(len\(X\), -1\)$"),
    "mismatched lengths": (lambda X, y: (X, y[:-1]), ValueError, r"^y has 39 labels but X has 40 rows$"),
    "single class": (lambda X, y: (X, np.full_like(y, 7)), ValueError,
                     r"^y must hold at least 2 classes to train a classifier, got 1 class: \[7\]$"),
    "continuous labels": (lambda X, y: (X, y + 0.5), ValueError,
                          r"^Unknown label type: continuous\. y holds 0\.5 at index \d+; a classifier"),
    "nan label": (lambda X, y: (X, _with_value(y.astype(float), 3, np.nan)), ValueError,
                  r"^y must hold finite labels; it holds nan at index 3$"),
    "inf label": (lambda X, y: (X, _with_value(y.astype(float), 4, np.inf)), ValueError,
                  r"^y must hold finite labels; it holds inf at index 4$"),
    "strings mixed with numbers": (lambda X, y: (X, np.array(["a"] + [1] * 39, dtype=object)), TypeError,
                                   r"^y mixes strings and other labels \(int, str\)"),
    "complex labels": (lambda X, y: (X, y + 1j), ValueError, r"^Complex data not supported: y has dtype complex128$"),
    "2-D labels": (lambda X, y: (X, np.stack([y, y], axis=1)), ValueError,
                   r"^y must be 1-D, one class label per row, got 2-D array of shape \(40, 2\); multi-output"),
    "y None": (lambda X, y: (X, None), ValueError,
               r"^LinearClassifier requires y to be passed, but the target y is None$"),
    "uint8 X": (lambda X, y: (np.zeros(X.shape, np.uint8), y), TypeError,
                (r"^X has integer dtype uint8; convert raw pixels with scratchlin\.datasets\.to_float\(X\).*"
                 r"or pass raw_pixels=True")),
    "complex X": (lambda X, y: (X.astype(np.complex128), y), ValueError,
                  r"^Complex data not supported: X has dtype complex128$"),
    "sparse X": (lambda X, y: (_SparseLike(), y), TypeError,
                 r"^X is a sparse matrix, and sparse input is not supported: pass dense features"),
    "no rows": (lambda X, y: (X[:0], y[:0]), ValueError,
                r"^Found array with 0 sample\(s\) \(shape=\(0, 6\)\) while a minimum of 1 is required"),
    "no columns": (lambda X, y: (X[:, :0], y), ValueError,
                   r"^Found array with 0 feature\(s\) \(shape=\(40, 0\)\) while a minimum of 1"),
    "negative sample weight": (lambda X, y: (X, y, _with_value(np.ones(40), 2, -1.0)), ValueError,
                               r"^sample_weight must be non-negative; it holds -1\.0 at index 2$"),
    "zero sample weights": (lambda X, y: (X, y, np.zeros(40)), ValueError,
                            r"^sample_weight must have a positive sum, got all zeros$"),
    "sample weight length": (lambda X, y: (X, y, np.ones(39)), ValueError,
                             r"^sample_weight has shape \(39,\), expected \(40,\): one weight per row of X$"),
    "nan sample weight": (lambda X, y: (X, y, _with_value(np.ones(40), 5, np.nan)), ValueError,
                          r"^sample_weight must be finite"),
}


@pytest.mark.parametrize("name", list(BAD_FIT_INPUT))
def test_fit_refuses_bad_input_with_a_pinned_message(rng, name):
    make, error, message = BAD_FIT_INPUT[name]
    X, y = blobs(rng, n=40)
    X, y, *weights = make(X, y)
    with pytest.raises(error, match=message):
        LinearClassifier(**FAST).fit(X, y, *weights)


BAD_VALIDATION_INPUT = {
    "unseen label in y_val": (lambda Xv, yv: (Xv, _with_value(yv, 4, 5)), ValueError,
                              r"^y_val holds label 5 that is not one of the classes seen in fit: \[0, 1, 2\]$"),
    "negative unseen label in y_val": (lambda Xv, yv: (Xv, _with_value(yv, 0, -1)), ValueError,
                                       r"^y_val holds label -1 that is not one of the classes"),
    "X_val without y_val": (lambda Xv, yv: (Xv, None), ValueError, r"^X_val and y_val must be given together$"),
    "nan in X_val": (lambda Xv, yv: (_with_value(Xv, (1, 1), np.nan), yv), ValueError,
                     r"^X_val must be finite; it holds 1 NaN/inf value\(s\), first at index \(1, 1\)$"),
    "X_val feature count": (lambda Xv, yv: (Xv[:, :4], yv), ValueError, r"^X_val has 4 features, X has 6$"),
    "y_val length": (lambda Xv, yv: (Xv, yv[:3]), ValueError, r"^y_val has 3 labels but X_val has 10 rows$"),
    "continuous y_val": (lambda Xv, yv: (Xv, yv + 0.25), ValueError, r"^Unknown label type: continuous\. y_val holds"),
    # An empty validation set has no loss or accuracy: it must be refused at the boundary,
    # not crash with ZeroDivisionError after the first epoch.
    "empty validation set": (lambda Xv, yv: (Xv[:0], yv[:0]), ValueError, r"X_val"),
}


@pytest.mark.parametrize("name", list(BAD_VALIDATION_INPUT))
def test_fit_refuses_bad_validation_data_with_a_pinned_message(rng, name):
    make, error, message = BAD_VALIDATION_INPUT[name]
    X, y = blobs(rng, n=40)
    X_val, y_val = make(X[:10], y[:10])
    with pytest.raises(error, match=message):
        LinearClassifier(**FAST).fit(X, y, X_val=X_val, y_val=y_val)


@pytest.mark.parametrize("call", [
    lambda m, X, y: m.predict(X),
    lambda m, X, y: m.predict_proba(X),
    lambda m, X, y: m.predict_log_proba(X),
    lambda m, X, y: m.decision_function(X),
    lambda m, X, y: m.score(X, y),
    lambda m, X, y: m.evaluate(X, y),
    lambda m, X, y: m.loss_and_grad(X, y),
    lambda m, X, y: m.coef_,
    lambda m, X, y: m.intercept_,
    lambda m, X, y: m.save("never-written.npz"),
], ids=["predict", "predict_proba", "predict_log_proba", "decision_function", "score",
        "evaluate", "loss_and_grad", "coef_", "intercept_", "save"])
def test_use_before_fit_raises_not_fitted_error(rng, call, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X, y = blobs(rng, n=10)
    with pytest.raises(NotFittedError, match=r"^this LinearClassifier is not fitted yet: call fit\(X, y\) "
                                              r"or LinearClassifier\.from_params\(W, b\) first$"):
        call(LinearClassifier(), X, y)
    assert os.listdir(tmp_path) == []


def test_not_fitted_error_is_a_value_error_and_an_attribute_error():
    # ValueError and AttributeError as scikit-learn's: hasattr() on a fitted attribute is False.
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert not hasattr(LinearClassifier(), "coef_")


@pytest.fixture
def fitted(rng):
    X, y = blobs(rng, n=60, n_features=4)
    return LinearClassifier(**FAST).fit(X, y), X, y


BAD_PREDICT_INPUT = {
    "wrong number of features": (lambda X: np.zeros((3, 5)), ValueError,
                                 r"^X has 5 features, but LinearClassifier is expecting 4 features as input$"),
    "1-D X": (lambda X: X[0], ValueError, r"^X must be 2-D, got 1-D array of shape \(4,\); Reshape your data"),
    "nan in X": (lambda X: _with_value(X, (2, 3), np.nan), ValueError,
                 r"^X must be finite; it holds 1 NaN/inf value\(s\), first at index \(2, 3\)$"),
    "uint8 X": (lambda X: np.zeros(X.shape, np.uint8), TypeError,
                r"^X has integer dtype uint8; convert raw pixels with scratchlin\.datasets\.to_float\(X\)"),
}


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba", "decision_function"])
@pytest.mark.parametrize("name", list(BAD_PREDICT_INPUT))
def test_predict_refuses_bad_input_with_a_pinned_message(fitted, name, method):
    model, X, _ = fitted
    make, error, message = BAD_PREDICT_INPUT[name]
    with pytest.raises(error, match=message):
        getattr(model, method)(make(X))


def test_score_with_1d_X_names_X_not_a_negative_row_count(fitted):
    model, X, y = fitted
    # Input: score(X[0] of shape (4,), y[:1]). Expected: "X must be 2-D ...".
    with pytest.raises(ValueError, match=r"^X must be 2-D"):
        model.score(X[0], y[:1])


def test_score_refuses_mismatched_lengths_and_float_labels(fitted):
    model, X, y = fitted
    with pytest.raises(ValueError, match=r"^y has 59 labels but X has 60 rows$"):
        model.score(X, y[:-1])
    with pytest.raises(ValueError, match=r"^Unknown label type: continuous\. y holds 0\.5 at index 0"):
        model.score(X, y + 0.5)


def test_loss_and_grad_refuses_a_label_unseen_in_fit(fitted):
    model, X, y = fitted
    with pytest.raises(ValueError, match=r"^y holds label 9 that is not one of the classes seen in fit: \[0, 1, 2\]$"):
        model.loss_and_grad(X, _with_value(y, 0, 9))


def test_raw_pixels_model_refuses_float_features(rng):
    X = rng.integers(0, 256, size=(30, 5)).astype(np.uint8)
    y = np.arange(30) % 3
    with pytest.raises(TypeError, match=r"^X must be uint8 pixels with raw_pixels=True, got dtype float32$"):
        LinearClassifier(raw_pixels=True, **FAST).fit(X.astype(np.float32), y)
    model = LinearClassifier(raw_pixels=True, **FAST).fit(X, y)
    with pytest.raises(TypeError, match=r"^X must be uint8 pixels with raw_pixels=True, got dtype float64$"):
        model.predict(X / 255.0)


# --------------------------------------------------------------------------------------------
# labels: any integers, mapped by classes_


@pytest.mark.parametrize("labels", [(10, 20, 30), (42, -3, 7), (0, 1), (5, 3, 9, 1000000007)])
def test_arbitrary_integer_labels_are_mapped_by_classes_and_returned_by_predict(rng, labels):
    X, y = blobs(rng, n=90, labels=labels)
    model = LinearClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(model.classes_, np.sort(labels))
    predicted = model.predict(X)
    assert predicted.dtype == y.dtype
    assert set(predicted.tolist()) <= set(labels)
    # The blobs are separable by a wide margin, so the training rows are all classified right.
    np.testing.assert_array_equal(predicted, y)
    assert model.score(X, y) == 1.0
    # column k of W scores classes_[k]
    expected = np.sort(labels)[np.argmax(np_logits(X, model.W, model.b), axis=1)]
    np.testing.assert_array_equal(predicted, expected)


def test_uint8_labels_like_mnist_keep_their_dtype(rng):
    X, y = blobs(rng, n=60, labels=np.array([0, 1, 2], np.uint8))
    model = LinearClassifier(**FAST).fit(X, y)
    assert model.classes_.dtype == np.uint8 and model.predict(X).dtype == np.uint8


def test_coef_is_W_transposed_and_intercept_is_b(fitted):
    model, _, _ = fitted
    assert model.W.shape == (4, 3) and model.b.shape == (3,)
    assert model.coef_.shape == (3, 4)
    np.testing.assert_array_equal(model.coef_, model.W.T)
    np.testing.assert_array_equal(model.intercept_, model.b)
    assert model.n_features_in_ == 4


def test_from_params_with_unsorted_classes_reorders_the_columns(rng):
    W = rng.normal(size=(5, 3))
    b = rng.normal(size=3)
    classes = np.array([42, -3, 7])
    X = rng.normal(size=(50, 5))
    model = LinearClassifier.from_params(W, b, classes=classes)
    np.testing.assert_array_equal(model.classes_, [-3, 7, 42])
    # The label of the largest original logit, whatever the column order inside the model.
    np.testing.assert_array_equal(model.predict(X), classes[np.argmax(X @ W + b, axis=1)])
    np.testing.assert_allclose(model.decision_function(X), (X @ W + b)[:, [1, 2, 0]], rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(model.W, W[:, [1, 2, 0]])
    W[:] = 0  # from_params copies: the caller's arrays are not the model's
    assert np.abs(model.W).min() > 0


def test_from_params_refuses_inconsistent_parameters(rng):
    W = rng.normal(size=(5, 3))
    with pytest.raises(ValueError, match=r"^b must have shape \(3,\) to match W \(5, 3\), got \(2,\)$"):
        LinearClassifier.from_params(W, np.zeros(2))
    with pytest.raises(TypeError, match=r"^W and b must share a dtype, got W float64 and b float32$"):
        LinearClassifier.from_params(W, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"^classes must be 3 distinct labels"):
        LinearClassifier.from_params(W, np.zeros(3), classes=[1, 1, 2])


# --------------------------------------------------------------------------------------------
# prediction against an independent float64 computation


def test_predictions_match_an_independent_float64_computation_across_predict_chunks(rng):
    # 2 * 8192 + 5 rows: more than one of the model's 8192-row prediction chunks.
    W, b = rng.normal(size=(3, 4)), rng.normal(size=4)
    X = rng.normal(size=(2 * 8192 + 5, 3))
    y = rng.integers(0, 4, X.shape[0])
    model = LinearClassifier.from_params(W, b)
    Z = X @ W + b
    log_p = np_log_softmax(Z)
    # float64, three-term dot products: a few ulp.
    np.testing.assert_allclose(model.decision_function(X), Z, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(model.predict_log_proba(X), log_p, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(model.predict_proba(X), np.exp(log_p), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(model.predict(X), np.argmax(Z, axis=1))
    assert model.score(X, y) == np.mean(np.argmax(Z, axis=1) == y)
    loss, accuracy = model.evaluate(X, y)
    assert loss == pytest.approx(-np.mean(log_p[np.arange(len(y)), y]), rel=1e-12)
    assert accuracy == np.mean(np.argmax(Z, axis=1) == y)


def test_predict_on_zero_rows_returns_empty_arrays(fitted):
    model, X, _ = fitted
    assert model.predict(X[:0]).shape == (0,)
    assert model.predict_proba(X[:0]).shape == (0, 3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_predict_log_proba_stays_finite_where_predict_proba_underflows(rng, dtype):
    # Logit gaps of ~1e4: exp underflows to 0, so log(softmax) would be -inf; log_softmax is not.
    W = (rng.normal(size=(4, 3)) * 1e4).astype(dtype)
    model = LinearClassifier.from_params(W, np.zeros(3, dtype))
    X = rng.normal(size=(20, 4)).astype(dtype)
    assert (model.predict_proba(X) == 0).any()
    log_p = model.predict_log_proba(X)
    assert np.isfinite(log_p).all()
    np.testing.assert_allclose(log_p, np_log_softmax(np_logits(X, W, np.zeros(3))),
                               rtol=rounding_bound(dtype, 4), atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_predict_proba_rows_are_probabilities(fitted, dtype):
    model, X, _ = fitted
    model = LinearClassifier.from_params(model.W.astype(dtype), model.b.astype(dtype))
    p = model.predict_proba(X)
    assert (p >= 0).all() and (p <= 1).all()
    # each of the C entries is rounded once after the division, and summing C of them adds C - 1
    # roundings: |sum - 1| <= (2C - 1) u < C eps.
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=3 * np.finfo(dtype).eps)


# --------------------------------------------------------------------------------------------
# dtypes


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_model_dtype_is_kept_by_parameters_outputs_and_gradients(rng, dtype):
    X, y = blobs(rng, n=60)
    model = LinearClassifier(dtype=np.dtype(dtype).name, **FAST).fit(X.astype(np.float32), y)
    assert model.W.dtype == dtype and model.b.dtype == dtype
    for method in ("decision_function", "predict_proba", "predict_log_proba"):
        assert getattr(model, method)(X).dtype == dtype, method
    loss, grads = model.loss_and_grad(X, y)
    assert isinstance(loss, float)
    assert grads["W"].dtype == dtype and grads["b"].dtype == dtype
    assert grads["W"].shape == model.W.shape and grads["b"].shape == model.b.shape


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_dtype_none_follows_X_float32_stays_and_other_numbers_become_float64(rng, solver):
    X, y = blobs(rng, n=60)
    hyper = dict(FAST, solver=solver, tol="auto", max_iter=100)
    for features, expected in [(X.astype(np.float32), np.float32), (X, np.float64),
                               (X.astype(np.float16), np.float64), (np.round(X).astype(np.int32), np.float64)]:
        model = LinearClassifier(**hyper).fit(features, y)
        assert model.W.dtype == expected and model.b.dtype == expected, features.dtype
        assert model.predict_proba(features).dtype == expected
    pixels = rng.integers(0, 256, size=(60, 6)).astype(np.uint8)
    assert LinearClassifier(raw_pixels=True, **hyper).fit(pixels, y).W.dtype == np.float32


def test_float64_features_given_to_a_float32_model_are_cast_not_refused(rng):
    X, y = blobs(rng, n=60)
    from64 = LinearClassifier(**FAST, dtype="float32").fit(X, y)
    from32 = LinearClassifier(**FAST, dtype="float32").fit(X.astype(np.float32), y)
    assert from64.W.dtype == np.float32
    # The cast happens first, so both fits see the very same float32 numbers.
    np.testing.assert_array_equal(from64.W, from32.W)
    np.testing.assert_array_equal(from64.b, from32.b)
    np.testing.assert_array_equal(from64.decision_function(X), from32.decision_function(X.astype(np.float32)))
    assert from64.predict_proba(X).dtype == np.float32


def test_float16_features_are_accepted_and_computed_in_the_model_dtype(rng):
    X, y = blobs(rng, n=60)
    model = LinearClassifier(**FAST).fit(X.astype(np.float16), y)
    assert model.W.dtype == np.float64  # dtype=None: numbers other than float32 become float64
    assert model.predict_proba(X.astype(np.float16)).dtype == np.float64
    model = LinearClassifier(**FAST, dtype="float32").fit(X.astype(np.float16), y)
    assert model.predict_proba(X.astype(np.float16)).dtype == np.float32


# --------------------------------------------------------------------------------------------
# loss_and_grad: finite differences and torch autograd


# C=1e6 is a nearly absent penalty, C=0.25 a strong one (lambda = 1 / (C N) = 1/3 on 12 rows).
OBJECTIVE_CASES = [dict(C=1e6, label_smoothing=0.0), dict(C=0.25, label_smoothing=0.0),
                   dict(C=1e6, label_smoothing=0.2), dict(C=0.25, label_smoothing=0.2)]


def penalty(C, total_weight, n_classes):
    """lambda of the class docstring: 1 / (C sum w), doubled with two classes; 0 for C = inf."""
    return 0.0 if C == np.inf else (2.0 if n_classes == 2 else 1.0) / (C * total_weight)


@pytest.mark.parametrize("hyper", OBJECTIVE_CASES, ids=lambda h: f"C={h['C']}-ls={h['label_smoothing']}")
@pytest.mark.parametrize("raw_pixels", [False, True])
def test_loss_and_grad_matches_finite_differences_in_float64(rng, hyper, raw_pixels):
    classes = np.array([-3, 7, 42, 100])
    if raw_pixels:
        X = rng.integers(0, 256, size=(12, 5)).astype(np.uint8)
    else:
        X = rng.normal(size=(12, 5))
    y = classes[rng.integers(0, 4, 12)]
    W, b = rng.normal(size=(5, 4)), rng.normal(size=4)

    def objective(W, b):
        return LinearClassifier.from_params(W, b, classes=classes, raw_pixels=raw_pixels,
                                            **hyper).loss_and_grad(X, y)[0]

    _, grads = LinearClassifier.from_params(W, b, classes=classes, raw_pixels=raw_pixels,
                                            **hyper).loss_and_grad(X, y)
    # Central differences in float64 at eps=1e-6: truncation ~eps^2 |f'''| ~ 1e-12 and rounding
    # ~u |f| / eps ~ 1e-10; atol=1e-8 leaves a 100x margin, while a wrong term (a missing 1/N,
    # a missing lambda W, smoothing left out of the gradient) is off by >= 1e-3.
    sl.gradcheck(objective, {"W": W, "b": b}, grads, eps=1e-6, atol=1e-8, rtol=1e-6)


TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def torch_objective(X, labels, W, b, weight_decay, label_smoothing, dtype):
    """torch's cross_entropy(X W + b) + wd/2 ||W||^2 and its autograd gradient, in ``dtype``."""
    Wt = torch.tensor(W, dtype=TORCH_DTYPE[dtype], requires_grad=True)
    bt = torch.tensor(b, dtype=TORCH_DTYPE[dtype], requires_grad=True)
    Xt = torch.tensor(X, dtype=TORCH_DTYPE[dtype])
    loss = torch.nn.functional.cross_entropy(Xt @ Wt + bt, torch.tensor(labels, dtype=torch.int64),
                                             label_smoothing=label_smoothing)
    loss = loss + 0.5 * weight_decay * (Wt * Wt).sum()
    loss.backward()
    return loss.item(), Wt.grad.numpy(), bt.grad.numpy()


@pytest.mark.parametrize("hyper", OBJECTIVE_CASES, ids=lambda h: f"C={h['C']}-ls={h['label_smoothing']}")
@pytest.mark.parametrize("dtype", DTYPES)
def test_loss_and_grad_matches_torch_autograd(rng, dtype, hyper):
    n, n_features, n_classes = 64, 30, 10
    classes = np.array([10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
    X = rng.normal(size=(n, n_features)).astype(dtype)
    labels = rng.integers(0, n_classes, n)
    W = (0.3 * rng.normal(size=(n_features, n_classes))).astype(dtype)
    b = rng.normal(size=n_classes).astype(dtype)
    model = LinearClassifier.from_params(W, b, classes=classes, **hyper)
    loss, grads = model.loss_and_grad(X, classes[labels])
    weight_decay = penalty(hyper["C"], n, n_classes)
    t_loss, t_grad_W, t_grad_b = torch_objective(X, labels, W, b, weight_decay,
                                                 hyper["label_smoothing"], dtype)
    # Both sides round at the inputs' dtype. The longest sums are the F=30-term logits and the
    # N=64-term gradient reductions, so each side's error is below gamma_64 times the sum of
    # the absolute terms; rounding_bound(64) covers both sides. The absolute error of a
    # gradient entry is bounded relative to sum_i |x_if| |G_ic| <= max|x| * sum_i |G_ic| <=
    # 2 max|x| (each row of G = (P - T) / N has L1 norm <= 2 / N), plus wd |W|.
    tol = rounding_bound(dtype, 64)
    assert loss == pytest.approx(t_loss, rel=tol)
    grad_scale = 2 * np.abs(X).max() + weight_decay * np.abs(W).max()
    np.testing.assert_allclose(grads["W"], t_grad_W, rtol=tol, atol=tol * grad_scale)
    np.testing.assert_allclose(grads["b"], t_grad_b, rtol=tol, atol=tol * 2)


def test_loss_and_grad_of_raw_pixels_is_the_objective_on_pixels_over_255(rng):
    X = rng.integers(0, 256, size=(40, 8)).astype(np.uint8)
    labels = rng.integers(0, 3, 40)
    W, b = rng.normal(size=(8, 3)), rng.normal(size=3)
    # C = 0.25: lambda = 1 / (0.25 * 40) = 0.1
    loss, grads = LinearClassifier.from_params(W, b, raw_pixels=True, C=0.25).loss_and_grad(X, labels)
    t_loss, t_grad_W, t_grad_b = torch_objective(X / 255.0, labels, W, b, 0.1, 0.0, np.float64)
    # float64, 40-term sums
    tol = rounding_bound(np.float64, 40)
    assert loss == pytest.approx(t_loss, rel=tol)
    np.testing.assert_allclose(grads["W"], t_grad_W, rtol=tol, atol=tol * 3)
    np.testing.assert_allclose(grads["b"], t_grad_b, rtol=tol, atol=tol * 2)


# --------------------------------------------------------------------------------------------
# labels of any kind scikit-learn accepts, in their own dtype


LABEL_KINDS = {
    "str": np.array(["cat", "dog", "eel"]),
    "object str": np.array(["cat", "dog", "eel"], dtype=object),
    "bool": np.array([False, True]),
    "whole floats": np.array([-1.0, 2.0, 7.0]),
    "int8": np.array([-5, 0, 9], dtype=np.int8),
}


@pytest.mark.parametrize("kind", list(LABEL_KINDS))
def test_labels_of_any_kind_are_learned_and_predicted_in_their_own_dtype(rng, kind):
    labels = LABEL_KINDS[kind]
    X, y = blobs(rng, n=90, labels=labels)
    model = LinearClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(model.classes_, np.sort(labels))
    predicted = model.predict(X)
    assert predicted.dtype == y.dtype
    np.testing.assert_array_equal(predicted, y)  # separable by a wide margin
    assert model.score(X, y) == 1.0


def test_a_column_vector_y_is_flattened_with_a_warning(rng):
    X, y = blobs(rng, n=60)
    with pytest.warns(sl._sklearn_compat.DataConversionWarning, match=r"^A column-vector y was passed"):
        column = LinearClassifier(**FAST).fit(X, y[:, None])
    flat = LinearClassifier(**FAST).fit(X, y)
    assert column.W.tobytes() == flat.W.tobytes()


def test_integer_features_other_than_uint8_are_numbers_converted_to_the_model_dtype(rng):
    X, y = blobs(rng, n=60)
    X_int = np.round(X * 4).astype(np.int64)
    from_int = LinearClassifier(**FAST).fit(X_int, y)
    from_float = LinearClassifier(**FAST).fit(X_int.astype(np.float64), y)
    assert from_int.W.dtype == np.float64
    assert from_int.W.tobytes() == from_float.W.tobytes()
    np.testing.assert_array_equal(from_int.predict(X_int.astype(np.int32)), from_float.predict(X_int))


def test_binary_decision_function_is_the_log_odds_of_the_second_class(rng):
    W, b = rng.normal(size=(3, 2)), rng.normal(size=2)
    X = rng.normal(size=(20, 3))
    model = LinearClassifier.from_params(W, b, classes=["no", "yes"])
    Z = X @ W + b
    np.testing.assert_allclose(model.decision_function(X), Z[:, 1] - Z[:, 0], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(model.predict(X), np.where(Z[:, 1] > Z[:, 0], "yes", "no"))


# --------------------------------------------------------------------------------------------
# the fitted state: read-only W and b, kept through a failed or interrupted refit


def test_W_and_b_are_read_only_properties_and_fit_adds_only_trailing_underscore_names(fitted):
    model, _, _ = fitted
    with pytest.raises(AttributeError):
        model.W = np.zeros((4, 3))
    with pytest.raises(AttributeError):
        model.b = np.zeros(3)
    hyperparameters = set(LinearClassifier().get_params())
    public = {name for name in vars(model) if not name.startswith("_")}
    assert all(name.endswith("_") for name in public - hyperparameters), public


class _Interrupt:
    """A callback pressing Ctrl-C at the given iteration."""

    def __init__(self, at_epoch):
        self.at_epoch = at_epoch

    def __call__(self, record):
        if record["iteration"] == self.at_epoch:
            raise KeyboardInterrupt


def test_an_interrupted_refit_keeps_the_previous_model(rng):
    X, y = blobs(rng, n=60)
    model = LinearClassifier(**FAST).fit(X, y)
    W, b, history = model.W.copy(), model.b.copy(), list(model.history_)
    model.set_params(callback=_Interrupt(at_epoch=2), max_iter=3)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X[:, :3] * 2, np.array(["a", "b", "c"])[y])  # new features, new labels
    assert model.W.tobytes() == W.tobytes() and model.b.tobytes() == b.tobytes()
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert model.n_features_in_ == 6 and model.history_ == history
    np.testing.assert_array_equal(model.predict(X), y)


def test_an_interrupted_first_fit_leaves_the_model_unfitted(rng):
    X, y = blobs(rng, n=60)
    model = LinearClassifier(callback=_Interrupt(at_epoch=1), **FAST)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert not hasattr(model, "W") and not hasattr(model, "classes_") and not hasattr(model, "history_")


def test_a_diverged_refit_keeps_the_previous_model(rng):
    X, y = blobs(rng, n=60)
    model = LinearClassifier(**FAST).fit(X, y)
    W = model.W.copy()
    with pytest.raises(sl.TrainingDivergedError):
        model.set_params(lr=1e6, momentum=0.0).fit(X * 1e3, y)
    assert model.W.tobytes() == W.tobytes()


# --------------------------------------------------------------------------------------------
# warm_start, partial_fit, sample and class weights against full-batch gradient descent in
# float64 NumPy: with batch_size >= N, SGD without momentum and a constant schedule, one epoch
# is exactly W <- W - lr * grad J(W) (the shuffle only reorders the sum), and one iteration is
# MIN_STEPS_PER_ITERATION (200) such steps. J includes the default penalty C=1.0,
# lambda = 1 / (C sum w), which the reference computes from the documented formula.


GD = dict(solver="sgd", momentum=0.0, lr=0.5, lr_schedule="constant", batch_size=1000,
          dtype="float64", seed=0, tol=None)
STEPS = MIN_STEPS_PER_ITERATION


def np_objective_grad(X, labels, W, b, weights=None, weight_decay=0.0):
    """Gradient of sum_i w_i CE_i / sum_i w_i + wd/2 |W|^2, written out in float64."""
    _, grad_W, grad_b = reference.objective(X, labels, W, b, sample_weight=weights, weight_decay=weight_decay)
    return grad_W, grad_b


def np_gradient_descent(X, labels, n_classes, steps, lr, W=None, b=None, weights=None, C=1.0,
                        total_weight=None):
    """``steps`` steps of full-batch gradient descent on J with lambda = penalty(C, ...);
    ``total_weight`` (the sum of the weights by default) is what lambda divides by."""
    W = np.zeros((X.shape[1], n_classes)) if W is None else W.astype(np.float64)
    b = np.zeros(n_classes) if b is None else b.astype(np.float64)
    if total_weight is None:
        total_weight = X.shape[0] if weights is None else float(np.sum(weights))
    weight_decay = penalty(C, total_weight, n_classes)
    for _ in range(steps):
        grad_W, grad_b = np_objective_grad(X, labels, W, b, weights, weight_decay)
        W, b = W - lr * grad_W, b - lr * grad_b
    return W, b


# float64 gradient descent of some hundred steps on 6 features: the two computations sum the
# same terms in different orders; the penalised objective is strongly convex, so the differences
# (a few ulp a step) do not grow.
GD_TOLERANCE = dict(rtol=1e-10, atol=1e-11)


def test_fit_is_full_batch_gradient_descent_under_these_settings(rng):
    # The reference the following tests stand on: 2 iterations are 2 * 200 steps.
    X, y = blobs(rng, n=60)
    model = LinearClassifier(max_iter=2, **GD).fit(X, y)
    W, b = np_gradient_descent(X, y, 3, steps=2 * STEPS, lr=0.5)
    np.testing.assert_allclose(model.W, W, **GD_TOLERANCE)
    np.testing.assert_allclose(model.b, b, **GD_TOLERANCE)
    assert [(r["iteration"], r["epochs"], r["steps"]) for r in model.history_] == [(1, 200, 200), (2, 200, 200)]


@pytest.mark.parametrize("C", [0.1, 10.0])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_C_sets_the_penalty_of_the_fitted_objective(rng, C, n_classes):
    # lambda = 1 / (C N) with three classes, 2 / (C N) with two: the fit is gradient descent on
    # that objective and no other.
    X, y = blobs(rng, n=60, labels=tuple(range(n_classes)))
    model = LinearClassifier(max_iter=1, C=C, **GD).fit(X, y)
    W, b = np_gradient_descent(X, y, n_classes, steps=STEPS, lr=0.5, C=C)
    np.testing.assert_allclose(model.W, W, **GD_TOLERANCE)
    np.testing.assert_allclose(model.b, b, **GD_TOLERANCE)


def test_C_inf_means_no_penalty(rng):
    X, y = blobs(rng, n=60)
    model = LinearClassifier(max_iter=1, C=np.inf, **GD).fit(X, y)
    W, _ = np_gradient_descent(X, y, 3, steps=STEPS, lr=0.5, C=np.inf)
    np.testing.assert_allclose(model.W, W, **GD_TOLERANCE)


def test_warm_start_continues_from_the_fitted_parameters(rng):
    X, y = blobs(rng, n=60)
    model = LinearClassifier(max_iter=1, warm_start=True, **GD).fit(X, y)
    W0, b0 = model.W.copy(), model.b.copy()
    model.fit(X, y)
    W, _ = np_gradient_descent(X, y, 3, steps=STEPS, lr=0.5, W=W0, b=b0)
    np.testing.assert_allclose(model.W, W, **GD_TOLERANCE)
    cold = LinearClassifier(max_iter=1, **GD).fit(X, y).fit(X, y)
    np.testing.assert_allclose(cold.W, W0, **GD_TOLERANCE)  # without warm_start: from zero
    with pytest.raises(ValueError, match=r"^warm_start=True needs the classes of the fitted model "
                                         r"\[0, 1, 2\], got \[0, 1\]$"):
        model.fit(X[y < 2], y[y < 2])


def test_partial_fit_makes_one_iteration_per_call_and_the_model_averages_the_iterates(rng):
    X, y = blobs(rng, n=60, labels=("a", "b", "c"))
    labels = np.searchsorted(["a", "b", "c"], y)
    model = LinearClassifier(**GD)
    with pytest.raises(ValueError, match=r"^classes must be passed on the first call to partial_fit"):
        model.partial_fit(X, y)
    model.partial_fit(X[:30], y[:30], classes=["c", "b", "a"])
    # The penalty divides by the weight seen so far: 30 rows, then 60.
    W1, b1 = np_gradient_descent(X[:30], labels[:30], 3, steps=STEPS, lr=0.5)
    np.testing.assert_allclose(model.W, W1, **GD_TOLERANCE)  # the first average is the iterate
    model.partial_fit(X[30:], y[30:])
    W2, b2 = np_gradient_descent(X[30:], labels[30:], 3, steps=STEPS, lr=0.5, W=W1, b=b1, total_weight=60)
    # The optimizer's iterate continues from its own last position...
    np.testing.assert_allclose(model._trainer.params.W, W2, **GD_TOLERANCE)
    np.testing.assert_allclose(model._trainer.params.b, b2, **GD_TOLERANCE)
    # ...and the model is the running average with weight (eta + 1) / (k + eta) = 4/5 at k = 2.
    np.testing.assert_allclose(model.W, W1 + 0.8 * (W2 - W1), **GD_TOLERANCE)
    np.testing.assert_allclose(model.b, b1 + 0.8 * (b2 - b1), **GD_TOLERANCE)
    assert model.n_iter_ == 2 and [r["iteration"] for r in model.history_] == [1, 2]
    assert model.solver_ == "sgd"
    with pytest.raises(ValueError, match=r"^y holds label 'd' that is not one of the model's classes: "
                                         r"\['a', 'b', 'c'\]$"):
        model.partial_fit(X[:3], np.array(["a", "b", "d"]))
    with pytest.raises(ValueError, match=r"^y holds label 'd' that is not one of the classes passed to partial_fit"):
        LinearClassifier(**GD).partial_fit(X[:3], np.array(["a", "b", "d"]), classes=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"^classes=\['a', 'b'\] differs from the classes of the model"):
        model.partial_fit(X[:3], y[:3], classes=["a", "b"])
    with pytest.raises(ValueError, match=r"^X has 2 features, but LinearClassifier is expecting 6"):
        model.partial_fit(X[:3, :2], y[:3])


def test_partial_fit_refuses_lbfgs_and_auto_means_adam(rng):
    X, y = blobs(rng, n=60)
    with pytest.raises(ValueError, match=r"^partial_fit needs a stochastic solver \('adam', 'adamw' or 'sgd', "
                                         r"or 'auto', which means 'adam' here\): L-BFGS needs all the data"):
        LinearClassifier(solver="lbfgs").partial_fit(X, y, classes=[0, 1, 2])
    assert LinearClassifier(seed=0).partial_fit(X, y, classes=[0, 1, 2]).solver_ == "adam"


def test_partial_fit_after_fit_continues_from_the_fitted_parameters(rng):
    X, y = blobs(rng, n=60)
    model = LinearClassifier(max_iter=1, **GD).fit(X, y)
    W0, b0 = model.W.copy(), model.b.copy()
    model.partial_fit(X, y)
    W, _ = np_gradient_descent(X, y, 3, steps=STEPS, lr=0.5, W=W0, b=b0, total_weight=120)
    np.testing.assert_allclose(model.W, W, **GD_TOLERANCE)


def test_integer_sample_weights_equal_repeated_rows_in_full_batch_training(rng):
    X, y = blobs(rng, n=40)
    weights = rng.integers(0, 4, 40)
    weights[:3] = 1  # every class keeps a row
    weighted = LinearClassifier(max_iter=1, **GD).fit(X, y, sample_weight=weights)
    repeated = LinearClassifier(max_iter=1, **GD).fit(np.repeat(X, weights, axis=0), np.repeat(y, weights))
    np.testing.assert_allclose(weighted.W, repeated.W, **GD_TOLERANCE)
    np.testing.assert_allclose(weighted.b, repeated.b, **GD_TOLERANCE)
    W, _ = np_gradient_descent(X, y, 3, steps=STEPS, lr=0.5, weights=weights)
    np.testing.assert_allclose(weighted.W, W, **GD_TOLERANCE)


def test_class_weight_multiplies_the_sample_weights(rng):
    X, y = blobs(rng, n=45)
    sample_weight = rng.uniform(0.5, 2.0, 45)
    model = LinearClassifier(max_iter=1, class_weight={0: 3.0, 2: 0.5}, **GD).fit(X, y, sample_weight=sample_weight)
    W, _ = np_gradient_descent(X, y, 3, steps=STEPS, lr=0.5,
                               weights=sample_weight * np.array([3.0, 1.0, 0.5])[y])
    np.testing.assert_allclose(model.W, W, **GD_TOLERANCE)
    balanced = LinearClassifier(max_iter=1, class_weight="balanced", **GD).fit(X, y)
    counts = np.bincount(y)
    W, _ = np_gradient_descent(X, y, 3, steps=STEPS, lr=0.5, weights=(45 / (3 * counts))[y])
    np.testing.assert_allclose(balanced.W, W, **GD_TOLERANCE)
    with pytest.raises(ValueError, match=r"^class_weight='balanced' needs the whole training set"):
        LinearClassifier(class_weight="balanced", **GD).partial_fit(X, y, classes=[0, 1, 2])


def test_score_with_sample_weight_is_the_weighted_fraction_correct(rng):
    W, b = rng.normal(size=(3, 3)), rng.normal(size=3)
    X, y = rng.normal(size=(50, 3)), rng.integers(0, 3, 50)
    weights = rng.uniform(0, 1, 50)
    correct = np.argmax(X @ W + b, axis=1) == y
    model = LinearClassifier.from_params(W, b)
    assert model.score(X, y, sample_weight=weights) == pytest.approx(weights[correct].sum() / weights.sum(), rel=1e-12)


def test_tol_stops_after_n_iter_no_change_iterations_without_improvement(rng):
    X, y = blobs(rng, n=60)
    # Any decrease is smaller than tol=100: iteration 1 sets the best loss, iterations 2 and 3
    # do not improve it by tol, and scikit-learn's rule stops after n_iter_no_change=2 of them
    # (a constant schedule has no rate to cut).
    hyper = dict(GD, tol=100.0, n_iter_no_change=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converged: no ConvergenceWarning
        model = LinearClassifier(max_iter=10, **hyper).fit(X, y)
    assert model.n_iter_ == 3 == len(model.history_) and model.history_[-1]["converged"] is True
    assert LinearClassifier(max_iter=10, **GD).fit(X, y).n_iter_ == 10  # tol=None: every iteration


def test_the_adaptive_schedule_divides_the_rate_by_5_at_two_plateaus_then_converges(rng):
    X, y = blobs(rng, n=60)
    # Plateaus (2 iterations without a gain of tol=100) end at iterations 3, 5 and 7: the
    # first two cut the rate, the third, with the cuts used up, is convergence.
    model = LinearClassifier(max_iter=20, **dict(GD, tol=100.0, n_iter_no_change=2, lr_schedule="adaptive")).fit(X, y)
    assert [r["lr"] for r in model.history_] == pytest.approx([0.5, 0.5, 0.5, 0.1, 0.1, 0.02, 0.02], rel=1e-15)
    assert model.n_iter_ == 7 and model.history_[-1]["converged"] is True


def test_reaching_max_iter_first_warns_a_convergence_warning(rng):
    X, y = blobs(rng, n=60)
    with pytest.warns(sl.ConvergenceWarning,
                      match=r"^LinearClassifier with solver='sgd' did not converge in "
                            r"max_iter=2 iterations \(tol=1e-09\); raise max_iter, or lower lr$"):
        model = LinearClassifier(max_iter=2, **dict(GD, tol=1e-9)).fit(X, y)
    assert model.n_iter_ == 2
    with pytest.warns(sl.ConvergenceWarning, match=r"^LinearClassifier with solver='lbfgs' did not converge in "
                                                    r"max_iter=1 iterations \(tol=0\.0001\); scale the features"):
        LinearClassifier(max_iter=1).fit(X, y)


# --------------------------------------------------------------------------------------------
# training from a memory map of raw pixels makes no copy of X


@pytest.fixture
def memmapped_pixels(rng, tmp_path):
    n_rows, n_features = 20000, 784  # 15.7 MB of pixels on disk
    pixels = np.lib.format.open_memmap(tmp_path / "pixels.npy", mode="w+", dtype=np.uint8,
                                       shape=(n_rows, n_features))
    pixels[:] = rng.integers(0, 256, size=(n_rows, n_features), dtype=np.uint8)
    pixels.flush()
    return np.load(tmp_path / "pixels.npy", mmap_mode="r"), rng.integers(0, 10, n_rows)


def _peak_allocation_of_fit(model, X, y):
    import tracemalloc

    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sl.ConvergenceWarning)
            model.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\npeak traced allocation while fitting {X.nbytes / 1e6:.1f} MB of memmapped pixels "
          f"({model.solver_}): {peak / 1e6:.2f} MB")
    return peak


def test_fit_on_a_memmap_of_uint8_pixels_allocates_far_less_than_the_data(memmapped_pixels):
    X, y = memmapped_pixels
    peak = _peak_allocation_of_fit(LinearClassifier(raw_pixels=True, solver="adam", max_iter=1, tol=None,
                                                    seed=0), X, y)
    # What is allocated scales with the rows only (shuffle order, labels and their encoding,
    # 8 bytes a row each, a few times) plus two float32 batch buffers (0.8 MB): 2.6 MB measured.
    # A copy of X would be 15.7 MB (uint8) or 63 MB (float32); a quarter of X catches either.
    assert peak < X.nbytes / 4


def test_lbfgs_on_a_memmap_of_uint8_pixels_makes_no_float_copy_of_the_data(memmapped_pixels):
    # The class docstring: with raw_pixels "no float copy of the data set is ever made".
    X, y = memmapped_pixels
    peak = _peak_allocation_of_fit(LinearClassifier(raw_pixels=True, max_iter=2), X, y)
    assert peak < X.nbytes * np.dtype(np.float32).itemsize


def test_solver_auto_takes_lbfgs_up_to_20000_rows_and_adam_above_or_with_early_stopping(rng):
    X = rng.normal(size=(20001, 2))
    y = (X[:, 0] > 0).astype(int)
    quick = dict(max_iter=1, tol=None, seed=0)  # one iteration: the choice is what is tested
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.ConvergenceWarning)  # L-BFGS with max_iter=1
        assert LinearClassifier(**quick).fit(X[:20000], y[:20000]).solver_ == "lbfgs"
    assert LinearClassifier(**quick).fit(X, y).solver_ == "adam"
    assert LinearClassifier(early_stopping=True, **quick).fit(X[:100], y[:100]).solver_ == "adam"
    assert LinearClassifier(solver="SGD", **quick).fit(X[:100], y[:100]).solver_ == "sgd"  # any case
    assert "solver_" not in LinearClassifier().__dict__


def test_rows_of_weight_zero_are_left_out_so_no_minibatch_weighs_nothing(rng):
    X, y = blobs(rng, n=40)
    weights = np.where(np.arange(40) % 4 < 2, 0.0, rng.uniform(0.5, 2.0, 40))  # half are 0
    keep = weights > 0
    hyper = dict(FAST, batch_size=2)  # with the zeros in, some pairs would weigh 0 in total
    with_zeros = LinearClassifier(**hyper).fit(X, y, sample_weight=weights)
    without = LinearClassifier(**hyper).fit(X[keep], y[keep], sample_weight=weights[keep])
    assert with_zeros.W.tobytes() == without.W.tobytes()


@pytest.mark.parametrize("C", [1e6, 2.0])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_weighted_loss_and_grad_matches_numpy(rng, C, n_classes):
    # The penalty is lambda = 1 / (C sum w) with three classes and twice that with two
    # (the softmax's two opposite columns then equal scikit-learn's one weight vector).
    W, b = rng.normal(size=(6, n_classes)), rng.normal(size=n_classes)
    X, y = blobs(rng, n=30, labels=tuple(range(n_classes)))
    weights = rng.uniform(0, 3, 30)
    weight_decay = (2.0 if n_classes == 2 else 1.0) / (C * weights.sum())
    model = LinearClassifier.from_params(W, b, C=C)
    loss, grads = model.loss_and_grad(X, y, sample_weight=weights)
    log_p = np_log_softmax(np_logits(X, W, b))
    expected = -np.sum(weights * log_p[np.arange(30), y]) / weights.sum() + 0.5 * weight_decay * np.sum(W * W)
    grad_W, grad_b = np_objective_grad(X, y, W, b, weights, weight_decay)
    # float64 sums of 30 terms: a few ulp
    assert loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grads["W"], grad_W, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(grads["b"], grad_b, rtol=1e-11, atol=1e-13)


def test_n_threads_reaches_the_thread_policy_in_fit_and_in_large_predictions(rng, monkeypatch):
    from scratchlin import _threads

    asked = []
    choose = _threads.choose_n_threads

    def recording(n_threads, **sizes):
        asked.append((n_threads, sizes["batch_size"]))
        return choose(n_threads, **sizes)

    monkeypatch.setattr(_threads, "choose_n_threads", recording)
    X, y = blobs(rng, n=60)
    model = LinearClassifier(n_threads=1, **FAST).fit(X, y)
    assert asked and all(n == 1 for n, _ in asked)
    asked.clear()
    model.predict(X)  # 60 rows: entering a thread limit would cost more than the product
    assert asked == []
    model.predict(np.repeat(X, 50, axis=0))  # 3000 rows
    assert asked == [(1, 3000)]


@pytest.mark.parametrize("classes", [np.array(["b", "a", "c"]), np.array([True, False]),
                                     np.array([2.0, -1.0, 0.5])], ids=["str", "bool", "float"])
def test_from_params_takes_classes_of_any_label_dtype_and_history_can_be_set(rng, classes):
    W, b = rng.normal(size=(4, classes.size)), rng.normal(size=classes.size)
    X = rng.normal(size=(20, 4))
    model = LinearClassifier.from_params(W, b, classes=classes, class_weight={"x": 1.0}, lr=0.5)
    assert model.classes_.dtype == classes.dtype
    np.testing.assert_array_equal(model.predict(X), classes[np.argmax(X @ W + b, axis=1)])
    assert model.get_params()["class_weight"] == {"x": 1.0} and model.history_ == []
    model.history_ = [{"iteration": 1, "train_loss": 0.5}]
    assert model.history_[0]["iteration"] == 1


# --------------------------------------------------------------------------------------------
# boundary checks on their fast paths (labels 0..C-1; small and large feature arrays)


@pytest.mark.parametrize("bad_label", [3, -1])
def test_labels_outside_range_classes_are_refused_on_the_fast_path(rng, bad_label):
    W, b = rng.normal(size=(4, 3)), np.zeros(3)
    model = LinearClassifier.from_params(W, b)  # classes 0, 1, 2: a label is its own index
    X = rng.normal(size=(5, 4))
    with pytest.raises(ValueError, match=rf"^y holds label {bad_label} that is not one of"):
        model.loss_and_grad(X, np.array([0, 1, 2, bad_label, 0]))
    # uint8 labels and int64 labels give the same loss (the index is the label itself)
    y = np.array([2, 0, 1, 1, 0])
    assert model.loss_and_grad(X, y)[0] == model.loss_and_grad(X, y.astype(np.uint8))[0]
    # the loss is that of the labels, not of some other mapping: float64 reference
    logits = X @ W + b
    log_p = logits - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True)) \
        - logits.max(1, keepdims=True)
    expected = -log_p[np.arange(5), y].mean() + 0.5 * penalty(1.0, 5, 3) * np.sum(W * W)  # default C=1
    assert model.loss_and_grad(X, y)[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n_rows", [4, 1400])  # 4 x 784 and 1400 x 784 (> 2**20 elements)
def test_a_nan_is_found_in_small_and_large_feature_arrays(rng, n_rows):
    model = LinearClassifier.from_params(rng.normal(size=(784, 3)), np.zeros(3))
    X = rng.normal(size=(n_rows, 784))
    X[n_rows - 1, 783] = np.nan
    message = rf"X must be finite; it holds 1 NaN/inf value\(s\), first at index \({n_rows - 1}, 783\)"
    with pytest.raises(ValueError, match=message):
        model.predict(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dead_feature", [False, True])
def test_loss_and_grad_refuses_a_non_finite_feature_found_through_its_outputs(rng, bad, dead_feature):
    # loss_and_grad checks X through the loss and gradient it computes from it; a feature whose
    # row of W is zero (it contributes nothing to the logits) must be caught all the same.
    W = rng.normal(size=(6, 3))
    X = rng.normal(size=(5, 6))
    if dead_feature:
        W[4] = 0.0
    X[3, 4] = bad
    model = LinearClassifier.from_params(W, np.zeros(3))
    with pytest.raises(ValueError, match=r"^X must be finite; it holds 1 NaN/inf value\(s\), first at index \(3, 4\)$"):
        model.loss_and_grad(X, np.array([0, 1, 2, 0, 1]))


# --------------------------------------------------------------------------------------------
# degenerate weights, overflowing logits, DataFrames scored


@pytest.mark.parametrize("solver", ["lbfgs", "adam", "adamw", "sgd"])
def test_class_weights_that_zero_every_row_are_a_value_error_naming_them(rng, solver):
    X, y = blobs(rng, n=30, labels=(0, 1))
    with pytest.raises(ValueError, match=r"^class_weight gives every row weight 0"):
        LinearClassifier(solver=solver, class_weight={0: 0, 1: 0}).fit(X, y)
    if solver != "lbfgs":  # a partial_fit chunk made only of classes that weigh 0
        model = LinearClassifier(solver=solver, class_weight={0: 0})
        with pytest.raises(ValueError, match=r"^class_weight gives every row weight 0"):
            model.partial_fit(X[y == 0], y[y == 0], classes=[0, 1])


@pytest.mark.parametrize("case", ["features near the float64 maximum", "float32 weights of 3e38"])
def test_overflowing_logits_give_the_limiting_probabilities(case):
    # The logits are +-inf (or inf - inf = NaN); the probabilities are the limit of the
    # softmax as the logits grow: all on the largest direction of the scaled logits.
    if case == "features near the float64 maximum":
        W = np.array([[1.0, -1.0, 0.5], [2.0, 0.0, -1.0]])
        model = LinearClassifier.from_params(W, np.zeros(3))
        X = np.array([[1e308, 1e308], [-1e308, 1e308], [1.0, 2.0]])
        expected_labels = [0, 0, 0]  # x W / 1e308 = [3, -1, -0.5] and [1, 1, -1.5]: a tie
        expected_first = np.array([1.0, 0.0, 0.0])
        expected_second = np.array([0.5, 0.5, 0.0])
    else:
        W = np.array([[3e38, 1.5e38, -3e38], [3e38, 0.0, -3e38]], dtype=np.float32)
        model = LinearClassifier.from_params(W, np.zeros(3, np.float32))
        X = np.array([[1.0, 1.0], [-1.0, 0.0], [1e-38, 0.0]], dtype=np.float32)
        expected_labels = [0, 2, 0]
        expected_first = np.array([1.0, 0.0, 0.0])
        expected_second = np.array([0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning either
        probabilities = model.predict_proba(X)
        labels = model.predict(X)
    assert np.isfinite(probabilities).all()
    np.testing.assert_array_equal(probabilities[0], expected_first)
    np.testing.assert_array_equal(probabilities[1], expected_second)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=4 * np.finfo(W.dtype).eps)
    assert labels.tolist() == expected_labels
    # rows whose logits are finite are computed as before
    finite = X[2:3]
    np.testing.assert_array_equal(probabilities[2], sl.softmax(finite @ W, axis=1)[0])


def test_score_on_a_dataframe_fitted_with_names_warns_nothing(rng):
    pandas = pytest.importorskip("pandas")
    X, y = blobs(rng, n=60)
    frame = pandas.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    model = LinearClassifier().fit(frame, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model.score(frame, y) == np.mean(model.predict(frame) == y)
