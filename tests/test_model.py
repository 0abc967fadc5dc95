"""Tests of scratchlin.LinearClassifier: the estimator contract, input checks, labels, dtypes,
the objective's gradient (finite differences and torch autograd), and save/load.

Training itself (determinism, the loop against hand-written NumPy and torch, early stopping,
history, divergence, the fused BatchKernel) is in test_training.py; the real-MNIST accuracy in
test_mnist_accuracy.py.

Every expected value here is computed by the test itself in float64 NumPy (or by torch), never
by the code under test.
"""
import builtins
import json
import os

import numpy as np
import pytest

import scratchlin as sl
from scratchlin import LinearClassifier, NotFittedError

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
# A few epochs of a tiny problem (milliseconds). The optimizer is pinned so that these tests do
# not depend on the defaults, which are tuned for MNIST.
FAST = dict(optimizer="sgd", lr=0.1, momentum=0.9, epochs=4, batch_size=32, seed=0)


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


def np_logits(X, W, b):
    return X.astype(np.float64) @ W.astype(np.float64) + b.astype(np.float64)


def np_log_softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


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
    (dict(epochs=0), ValueError, r"^epochs must be >= 1, got 0$"),
    (dict(optimizer="rmsprop"), ValueError, r"^optimizer must be one of 'adam', 'adamw', 'sgd', got 'rmsprop'$"),
    # The argument is ``lr_schedule``; DESIGN.md: "each message names the argument".
    (dict(lr_schedule="exponential"), ValueError,
     r"lr_schedule.*'cosine', 'step', 'constant'.*got 'exponential'"),
    (dict(label_smoothing=1.5), ValueError,
     r"^label_smoothing must be a finite number in \[0\.0, 1\.0\], got 1\.5$"),
    (dict(label_smoothing=-0.1), ValueError,
     r"^label_smoothing must be a finite number in \[0\.0, 1\.0\], got -0\.1$"),
    (dict(dtype="float16"), ValueError, r"^dtype must be float32 or float64, got 'float16'$"),
    (dict(dtype="int32"), ValueError, r"^dtype must be float32 or float64, got 'int32'$"),
    (dict(dtype="banana"), ValueError, r"^dtype must be float32 or float64, got 'banana'$"),
    (dict(momentum=1.0), ValueError, r"^momentum must be a finite number in \[0\.0, 1\.0\), got 1\.0$"),
    (dict(weight_decay=-1e-4), ValueError, r"^weight_decay must be a finite number in \[0\.0, inf\)"),
    (dict(patience=0), ValueError, r"^patience must be >= 1, got 0$"),
    (dict(seed=-1), ValueError, r"^seed must be >= 0, got -1$"),
    (dict(optimizer="sgd", nesterov=True, momentum=0.0), ValueError, r"^nesterov=True needs momentum > 0, got momentum=0"),
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
    callback = lambda record: None  # noqa: E731
    schedule = lambda base, epoch: base  # noqa: E731
    generator = np.random.default_rng(1)
    passed = dict(lr=0.05, epochs=3, batch_size=17, optimizer="ADAM", momentum=0.5, nesterov=False,
                  weight_decay=1e-3, label_smoothing=0.1, lr_schedule=schedule, early_stopping=True,
                  validation_fraction=0.2, patience=2, raw_pixels=True, seed=generator,
                  dtype=np.float64, verbose=True, callback=callback)
    model = LinearClassifier(**passed)
    params = model.get_params()
    assert set(params) == set(passed)
    for name, value in passed.items():
        assert params[name] is value, name
    clone = LinearClassifier(**params)
    assert all(clone.get_params()[k] is v for k, v in passed.items())
    assert model.set_params(lr=0.2, epochs=9) is model
    assert (model.lr, model.epochs) == (0.2, 9)


def test_hyperparameters_are_keyword_only_and_design_names_exist():
    with pytest.raises(TypeError):
        LinearClassifier(0.1)
    names = set(LinearClassifier().get_params())
    assert {"lr", "epochs", "batch_size", "optimizer", "momentum", "weight_decay",
            "label_smoothing", "seed", "dtype", "verbose"} <= names


def test_set_params_refuses_an_unknown_name():
    with pytest.raises(ValueError, match=r"^unknown hyperparameter 'learning_rate'; valid: lr, "):
        LinearClassifier().set_params(learning_rate=0.1)


def test_repr_shows_only_the_changed_hyperparameters():
    assert repr(LinearClassifier()) == "LinearClassifier()"
    assert repr(LinearClassifier(lr=0.5, dtype="float64")) == "LinearClassifier(lr=0.5, dtype='float64')"


# --------------------------------------------------------------------------------------------
# bad input, each with its pinned message


def _with_value(X, index, value):
    X = X.copy()
    X[index] = value
    return X


BAD_FIT_INPUT = {
    "nan in X": (lambda X, y: (_with_value(X, (3, 2), np.nan), y), ValueError,
                 r"^X must be finite; it holds 1 NaN/inf value\(s\), first at index \(3, 2\)$"),
    "inf in X": (lambda X, y: (_with_value(X, (5, 0), -np.inf), y), ValueError,
                 r"^X must be finite; it holds 1 NaN/inf value\(s\), first at index \(5, 0\)$"),
    "1-D X": (lambda X, y: (X[:, 0], y), ValueError, r"^X must be 2-D, got 1-D array of shape \(40,\)$"),
    "3-D X": (lambda X, y: (X.reshape(40, 3, 2), y), ValueError,
              r"^X must be 2-D, got 3-D array of shape \(40, 3, 2\)$"),
    "mismatched lengths": (lambda X, y: (X, y[:-1]), ValueError, r"^y has 39 labels but X has 40 rows$"),
    "single class": (lambda X, y: (X, np.full_like(y, 7)), ValueError,
                     r"^y must hold at least 2 classes to train a classifier, got only \[7\]$"),
    "float labels": (lambda X, y: (X, y.astype(np.float64)), TypeError,
                     r"^y must hold integer class labels, got dtype float64$"),
    "2-D labels": (lambda X, y: (X, y[:, None]), ValueError, r"^y must be 1-D, got 2-D array"),
    "int X": (lambda X, y: (np.round(X * 10).astype(np.int64), y), TypeError,
              r"^X has integer dtype int64; convert raw pixels with scratchlin\.datasets\.to_float\(X\).*"
              r"or pass raw_pixels=True"),
    "uint8 X": (lambda X, y: (np.zeros(X.shape, np.uint8), y), TypeError,
                r"^X has integer dtype uint8; .*to_float.*raw_pixels=True"),
    "bool X": (lambda X, y: (X > 0, y), TypeError, r"^X has integer dtype bool; .*to_float.*raw_pixels=True"),
    "complex X": (lambda X, y: (X.astype(np.complex128), y), TypeError,
                  r"^X must be a floating-point array \(float16, float32 or float64\), got dtype complex128$"),
}


@pytest.mark.parametrize("name", list(BAD_FIT_INPUT))
def test_fit_refuses_bad_input_with_a_pinned_message(rng, name):
    make, error, message = BAD_FIT_INPUT[name]
    X, y = blobs(rng, n=40)
    X, y = make(X, y)
    with pytest.raises(error, match=message):
        LinearClassifier(**FAST).fit(X, y)


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
    "float y_val": (lambda Xv, yv: (Xv, yv.astype(float)), TypeError,
                    r"^y_val must hold integer class labels, got dtype float64$"),
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
                                 r"^X has 5 features, but this model was fitted with 4$"),
    "1-D X": (lambda X: X[0], ValueError, r"^X must be 2-D, got 1-D array of shape \(4,\)$"),
    "nan in X": (lambda X: _with_value(X, (2, 3), np.nan), ValueError,
                 r"^X must be finite; it holds 1 NaN/inf value\(s\), first at index \(2, 3\)$"),
    "int X": (lambda X: np.zeros(X.shape, np.int32), TypeError,
              r"^X has integer dtype int32; convert raw pixels with scratchlin\.datasets\.to_float\(X\)"),
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
    with pytest.raises(TypeError, match=r"^y must hold integer class labels, got dtype float64$"):
        model.score(X, y.astype(float))


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
    model, X, _ = fitted
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


def test_float64_features_given_to_a_float32_model_are_cast_not_refused(rng):
    X, y = blobs(rng, n=60)
    from64 = LinearClassifier(**FAST).fit(X, y)
    from32 = LinearClassifier(**FAST).fit(X.astype(np.float32), y)
    assert from64.W.dtype == np.float32
    # The cast happens first, so both fits see the very same float32 numbers.
    np.testing.assert_array_equal(from64.W, from32.W)
    np.testing.assert_array_equal(from64.b, from32.b)
    np.testing.assert_array_equal(from64.decision_function(X), from32.decision_function(X.astype(np.float32)))
    assert from64.predict_proba(X).dtype == np.float32


def test_float16_features_are_accepted_and_computed_in_the_model_dtype(rng):
    X, y = blobs(rng, n=60)
    model = LinearClassifier(**FAST).fit(X.astype(np.float16), y)
    assert model.W.dtype == np.float32
    assert model.predict_proba(X.astype(np.float16)).dtype == np.float32


# --------------------------------------------------------------------------------------------
# loss_and_grad: finite differences and torch autograd


OBJECTIVE_CASES = [dict(weight_decay=0.0, label_smoothing=0.0), dict(weight_decay=0.3, label_smoothing=0.0),
                   dict(weight_decay=0.0, label_smoothing=0.2), dict(weight_decay=0.3, label_smoothing=0.2)]


@pytest.mark.parametrize("hyper", OBJECTIVE_CASES, ids=lambda h: f"wd={h['weight_decay']}-ls={h['label_smoothing']}")
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


@pytest.mark.parametrize("hyper", OBJECTIVE_CASES, ids=lambda h: f"wd={h['weight_decay']}-ls={h['label_smoothing']}")
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
    t_loss, t_grad_W, t_grad_b = torch_objective(X, labels, W, b, hyper["weight_decay"],
                                                 hyper["label_smoothing"], dtype)
    # Both sides round at the inputs' dtype. The longest sums are the F=30-term logits and the
    # N=64-term gradient reductions, so each side's error is below gamma_64 times the sum of
    # the absolute terms; rounding_bound(64) covers both sides. The absolute error of a
    # gradient entry is bounded relative to sum_i |x_if| |G_ic| <= max|x| * sum_i |G_ic| <=
    # 2 max|x| (each row of G = (P - T) / N has L1 norm <= 2 / N), plus wd |W|.
    tol = rounding_bound(dtype, 64)
    assert loss == pytest.approx(t_loss, rel=tol)
    grad_scale = 2 * np.abs(X).max() + hyper["weight_decay"] * np.abs(W).max()
    np.testing.assert_allclose(grads["W"], t_grad_W, rtol=tol, atol=tol * grad_scale)
    np.testing.assert_allclose(grads["b"], t_grad_b, rtol=tol, atol=tol * 2)


def test_loss_and_grad_of_raw_pixels_is_the_objective_on_pixels_over_255(rng):
    X = rng.integers(0, 256, size=(40, 8)).astype(np.uint8)
    labels = rng.integers(0, 3, 40)
    W, b = rng.normal(size=(8, 3)), rng.normal(size=3)
    loss, grads = LinearClassifier.from_params(W, b, raw_pixels=True, weight_decay=0.1).loss_and_grad(X, labels)
    t_loss, t_grad_W, t_grad_b = torch_objective(X / 255.0, labels, W, b, 0.1, 0.0, np.float64)
    # float64, 40-term sums
    tol = rounding_bound(np.float64, 40)
    assert loss == pytest.approx(t_loss, rel=tol)
    np.testing.assert_allclose(grads["W"], t_grad_W, rtol=tol, atol=tol * 3)
    np.testing.assert_allclose(grads["b"], t_grad_b, rtol=tol, atol=tol * 2)


# --------------------------------------------------------------------------------------------
# save / load


def _fit_for_saving(rng, **extra):
    X, y = blobs(rng, n=80, n_features=5, labels=(-3, 7, 42))
    hyper = dict(lr=0.05, epochs=4, batch_size=16, momentum=0.5, weight_decay=1e-3, label_smoothing=0.1,
                 lr_schedule="step", seed=3, dtype="float64", **extra)
    model = LinearClassifier(**hyper).fit(X[:60], y[:60], X_val=X[60:], y_val=y[60:])
    return model, X, y, hyper


def test_save_load_round_trip_restores_everything(rng, tmp_path):
    model, X, y, hyper = _fit_for_saving(rng)
    path = tmp_path / "model.npz"
    assert model.save(path) == path
    loaded = LinearClassifier.load(path)
    assert type(loaded) is LinearClassifier
    assert loaded.W.dtype == np.float64 and loaded.b.dtype == np.float64
    assert loaded.W.tobytes() == model.W.tobytes() and loaded.b.tobytes() == model.b.tobytes()
    np.testing.assert_array_equal(loaded.classes_, [-3, 7, 42])
    assert loaded.n_features_in_ == 5
    assert loaded.get_params() == {**LinearClassifier().get_params(), **hyper}
    assert loaded.history_ == model.history_  # floats survive JSON exactly (repr round-trips)
    assert len(loaded.history_) == 4 and "val_loss" in loaded.history_[0]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    # the loaded model trains again with its restored hyperparameters
    refit = loaded.fit(X[:60], y[:60], X_val=X[60:], y_val=y[60:])
    np.testing.assert_array_equal(refit.W, model.W)


def test_save_load_round_trip_of_a_raw_pixels_float32_model(rng, tmp_path):
    X = rng.integers(0, 256, size=(50, 6)).astype(np.uint8)
    y = np.arange(50) % 2
    model = LinearClassifier(raw_pixels=True, **FAST).fit(X, y)
    loaded = LinearClassifier.load(model.save(tmp_path / "raw.npz"))
    assert loaded.raw_pixels is True and loaded.W.dtype == np.float32
    np.testing.assert_array_equal(loaded.decision_function(X), model.decision_function(X))


def test_numpy_scalar_hyperparameters_survive_save_and_load(rng, tmp_path):
    # Hyperparameters taken from NumPy grids (np.arange, a float32 array) are accepted by fit;
    # save must not silently replace them by the defaults.
    X, y = blobs(rng, n=40)
    model = LinearClassifier(epochs=np.int64(3), seed=np.int64(5), lr=np.float32(0.05),
                             batch_size=np.int32(8)).fit(X, y)
    loaded = LinearClassifier.load(model.save(tmp_path / "m.npz"))
    params = loaded.get_params()
    assert (params["epochs"], params["seed"], params["batch_size"]) == (3, 5, 8)
    assert params["lr"] == pytest.approx(0.05, rel=1e-7)


def test_save_is_atomic_and_leaves_no_temporary_file(rng, tmp_path):
    model, _, _, _ = _fit_for_saving(rng)
    target = tmp_path / "model.npz"
    model.save(target)
    model.save(target)  # overwriting
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary_file(rng, tmp_path, monkeypatch):
    model, _, _, _ = _fit_for_saving(rng)
    target = tmp_path / "model.npz"
    model.save(target)
    before = target.read_bytes()

    def interrupted_savez(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", interrupted_savez)
    with pytest.raises(OSError, match="disk full"):
        model.save(target)
    assert os.listdir(tmp_path) == ["model.npz"]
    assert target.read_bytes() == before


def _contents(model):
    """The arrays a valid saved model holds, as a dict to tamper with."""
    return {
        "format": np.array("scratchlin.LinearClassifier"),
        "format_version": np.array(1),
        "W": model.W, "b": model.b, "classes": model.classes_,
        "hyperparameters": np.array(json.dumps({"dtype": "float64"})),
        "history": np.array("[]"),
    }


def test_the_tamper_template_is_a_loadable_model(rng, tmp_path):
    model, X, _, _ = _fit_for_saving(rng)
    np.savez(tmp_path / "ok.npz", **_contents(model))
    np.testing.assert_array_equal(LinearClassifier.load(tmp_path / "ok.npz").predict(X), model.predict(X))


def test_load_refuses_an_object_array_written_by_savez(rng, tmp_path):
    model, _, _, _ = _fit_for_saving(rng)
    contents = _contents(model)
    contents["hyperparameters"] = np.array({"lr": 0.1}, dtype=object)  # savez pickles it
    np.savez(tmp_path / "pickled.npz", **contents)
    with pytest.raises(ValueError, match=r"pickled\.npz holds pickled Python objects, which are never loaded"):
        LinearClassifier.load(tmp_path / "pickled.npz")


class _Hostile:
    """Unpickling this calls open(marker, "w"): it creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


@pytest.mark.parametrize("key", ["W", "hyperparameters", "extra"])
def test_load_never_unpickles_a_hostile_file(rng, tmp_path, key):
    model, _, _, _ = _fit_for_saving(rng)
    marker = tmp_path / "PWNED"
    contents = _contents(model)
    hostile = np.empty(1, dtype=object)
    hostile[0] = _Hostile(marker)
    contents[key] = hostile
    path = tmp_path / "hostile.npz"
    np.savez(path, **contents)
    with pytest.raises(ValueError, match=r"holds pickled Python objects, which are never loaded"):
        LinearClassifier.load(path)
    assert not marker.exists()
    # The file is really hostile: a pickle-enabled load runs the payload.
    with np.load(path, allow_pickle=True) as archive:
        archive[key]
    assert marker.exists()


def _npz_bytes_truncated(model, tmp_path):
    model.save(tmp_path / "full.npz")
    return (tmp_path / "full.npz").read_bytes()[:300]


NOT_A_MODEL_FILE = {
    "text": lambda model, tmp: b"hello, I am a text file\n",
    "empty": lambda model, tmp: b"",
    "random bytes": lambda model, tmp: np.random.default_rng(0).bytes(200),
    "truncated npz": _npz_bytes_truncated,
}


@pytest.mark.parametrize("name", list(NOT_A_MODEL_FILE))
def test_load_refuses_a_file_that_is_not_an_npz(rng, tmp_path, name):
    model, _, _, _ = _fit_for_saving(rng)
    path = tmp_path / "model.npz"
    path.write_bytes(NOT_A_MODEL_FILE[name](model, tmp_path))
    with pytest.raises(ValueError, match=r"model\.npz is not a scratchlin model file \(\.npz\)"):
        LinearClassifier.load(path)


def test_load_refuses_a_npy_file_with_a_value_error(tmp_path):
    # Input: a valid .npy array file. Expected: ValueError "... is not a scratchlin model file".
    path = tmp_path / "array.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match=r"array\.npy is not a scratchlin model file"):
        LinearClassifier.load(path)


def test_load_of_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        LinearClassifier.load(tmp_path / "absent.npz")


def _tampered(name):
    def without(key):
        return lambda c: {k: v for k, v in c.items() if k != key}

    def replace(key, value):
        return lambda c: {**c, key: value(c)}

    return {
        "missing history": (without("history"), r"is not a scratchlin model file \(missing \['history'\]\)$"),
        "missing W": (without("W"), r"is not a scratchlin model file \(missing \['W'\]\)$"),
        "other format": (replace("format", lambda c: np.array("sklearn")),
                         r"is not a scratchlin model file \(missing format name\)$"),
        "format version 2": (replace("format_version", lambda c: np.array(2)),
                             r"has model format version 2; this scratchlin reads version 1$"),
        "short b": (replace("b", lambda c: c["b"][:2]),
                    r"has inconsistent shapes: W \(5, 3\), b \(2,\), classes \(3,\); expected \(F, C\), \(C,\), \(C,\)$"),
        "long classes": (replace("classes", lambda c: np.arange(4)),
                         r"has inconsistent shapes: W \(5, 3\), b \(3,\), classes \(4,\)"),
        "1-D W": (replace("W", lambda c: c["W"].ravel()), r"has inconsistent shapes: W \(15,\)"),
        "non-finite W": (replace("W", lambda c: _with_value(c["W"], (0, 0), np.inf)),
                         r"holds non-finite parameters$"),
        # DESIGN / load's docstring: inconsistent dtypes are a ValueError too.
        "b dtype differs": (replace("b", lambda c: c["b"].astype(np.float32)), r"dtype"),
        "integer W and b": (replace("W", lambda c: c["W"].astype(np.int64)), r"dtype"),
    }[name]


@pytest.mark.parametrize("name", ["missing history", "missing W", "other format", "format version 2",
                                  "short b", "long classes", "1-D W", "non-finite W",
                                  "b dtype differs", "integer W and b"])
def test_load_refuses_a_tampered_model_file_with_a_pinned_value_error(rng, tmp_path, name):
    model, _, _, _ = _fit_for_saving(rng)
    tamper, message = _tampered(name)
    contents = tamper(_contents(model))
    if name == "integer W and b":
        contents["b"] = contents["b"].astype(np.int64)
    path = tmp_path / "tampered.npz"
    np.savez(path, **contents)
    with pytest.raises(ValueError, match=message) as raised:
        LinearClassifier.load(path)
    assert str(path) in str(raised.value)  # the message names the file


def test_save_gives_the_file_the_permissions_open_would(tmp_path):
    import os
    model = LinearClassifier.from_params(np.zeros((3, 2)), np.zeros(2))
    old_mask = os.umask(0o022)
    try:
        path = model.save(tmp_path / "m.npz")
    finally:
        os.umask(old_mask)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0o600
