"""The real-data test: LinearClassifier with its defaults on the full MNIST training set.

The most important test of the suite: a linear softmax classifier on MNIST pixels scaled to
[0, 1] tops out at about 92.5-92.8% test accuracy; the library's defaults must reach it.
Training happens once per module (module-scoped fixtures): a float model on
``to_float(flatten(images))`` and a raw-pixel model on the uint8 images. Needs the real files:
``SCRATCHLIN_DATA=../shared/data/mnist`` (a skip locally, a failure under CI).
"""
import os
import warnings

import numpy as np
import pytest

from scratchlin import ConvergenceWarning, LinearClassifier
from scratchlin.datasets import flatten, load_mnist, to_float

pytestmark = [pytest.mark.mnist, pytest.mark.slow]

ACCURACY_FLOOR = 0.925


@pytest.fixture(scope="module")
def mnist(mnist_root):
    train_images, train_labels = load_mnist("train", root=mnist_root, download=False)
    test_images, test_labels = load_mnist("test", root=mnist_root, download=False)
    assert train_images.shape == (60000, 28, 28) and test_images.shape == (10000, 28, 28)
    return train_images, train_labels, test_images, test_labels


def _fit_without_convergence_warning(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the defaults must converge
        return model.fit(X, y)


@pytest.fixture(scope="module")
def float_model(mnist):
    train_images, train_labels, _, _ = mnist
    return _fit_without_convergence_warning(LinearClassifier(seed=0), to_float(flatten(train_images)), train_labels)


@pytest.fixture(scope="module")
def raw_model(mnist):
    train_images, train_labels, _, _ = mnist
    return _fit_without_convergence_warning(LinearClassifier(seed=0, raw_pixels=True), flatten(train_images),
                                            train_labels)


@pytest.fixture(scope="module")
def test_split(mnist):
    _, _, test_images, test_labels = mnist
    return to_float(flatten(test_images)), flatten(test_images), test_labels


def test_defaults_reach_the_linear_ceiling_on_mnist(float_model, test_split):
    X_test, _, y_test = test_split
    accuracy = float_model.score(X_test, y_test)
    print(f"\nMNIST test accuracy with the defaults: {accuracy:.4f}")
    assert accuracy >= ACCURACY_FLOOR
    # score is the plain fraction of correct predictions
    assert accuracy == np.count_nonzero(float_model.predict(X_test) == y_test) / 10000
    assert float_model.W.shape == (784, 10) and float_model.W.dtype == np.float32
    np.testing.assert_array_equal(float_model.classes_, np.arange(10))
    # 60,000 rows: solver="auto" is Adam; an iteration is one epoch (469 steps of 128 rows),
    # and the tol rule (not max_iter) ended the fit
    assert float_model.solver_ == "adam"
    assert len(float_model.history_) == float_model.n_iter_ < 100  # max_iter=None: 100 stochastic iterations
    assert float_model.history_[-1]["converged"] is True
    assert {(r["epochs"], r["steps"]) for r in float_model.history_} == {(1, 469)}
    print(f"converged after {float_model.n_iter_} iterations")


def test_predict_proba_rows_sum_to_one(float_model, test_split):
    X_test, _, _ = test_split
    probs = float_model.predict_proba(X_test)
    assert probs.dtype == np.float32 and probs.shape == (10000, 10)
    assert (probs >= 0).all()
    # Each of the 10 probabilities is rounded once after the division (u = 6e-8 relative) and
    # the float32 sum of 10 of them adds up to 9 more roundings: |sum - 1| <= 19 u < 10 eps
    # = 1.2e-6. A formula error (a missing normalisation, a log-space slip) is off by far more.
    np.testing.assert_allclose(probs.sum(axis=1, dtype=np.float32), 1.0, rtol=0, atol=10 * np.finfo(np.float32).eps)


def test_save_then_load_gives_identical_bits_and_predictions(float_model, test_split, tmp_path):
    X_test, _, _ = test_split
    path = float_model.save(tmp_path / "mnist.npz")
    assert os.listdir(tmp_path) == ["mnist.npz"]  # no temporary file left behind
    loaded = LinearClassifier.load(path)
    assert loaded.W.dtype == np.float32 and loaded.W.tobytes() == float_model.W.tobytes()
    assert loaded.b.tobytes() == float_model.b.tobytes()
    np.testing.assert_array_equal(loaded.predict(X_test), float_model.predict(X_test))
    np.testing.assert_array_equal(loaded.predict_proba(X_test), float_model.predict_proba(X_test))
    assert loaded.history_ == float_model.history_


def test_raw_pixel_training_reaches_the_same_accuracy_and_agrees_with_the_float_path(
        float_model, raw_model, test_split):
    X_test, raw_test, y_test = test_split
    accuracy = raw_model.score(raw_test, y_test)
    agreement = np.mean(raw_model.predict(raw_test) == float_model.predict(X_test))
    print(f"\nMNIST test accuracy, raw_pixels=True: {accuracy:.4f}; agreement with the float path: {agreement:.4%}")
    assert accuracy >= ACCURACY_FLOOR
    # Not 100%: the float path trains on to_float's rounded x / 255 values, the raw path on the
    # exact integers and scales the (B, C) logits and the (F, C) gradient by 1/255 instead, so
    # every step differs by float32 rounding (~1e-7 relative). Over ~14,000 steps those differences
    # grow a little, and a test row whose top two logits are that close can flip. 99.9% allows
    # 10 of the 10000 rows to do so.
    assert agreement >= 0.999


def test_partial_fit_over_ten_passes_of_shuffled_chunks_reaches_fits_accuracy(mnist, float_model, test_split):
    train_images, train_labels, _, _ = mnist
    X, (X_test, _, y_test) = to_float(flatten(train_images)), test_split
    passes, n_chunks = 10, 6
    # Each call is one iteration (one pass over its 10,000 rows: 79 steps, repeated to 200) at
    # the base rate of the adaptive schedule; the model is the running average of the iterates.
    model = LinearClassifier(seed=0)
    rng = np.random.default_rng(1)
    for _ in range(passes):
        for chunk in np.array_split(rng.permutation(len(X)), n_chunks):
            model.partial_fit(X[chunk], train_labels[chunk], classes=np.arange(10))
    accuracy, reference = model.score(X_test, y_test), float_model.score(X_test, y_test)
    print(f"\npartial_fit, {passes} passes of {n_chunks} shuffled chunks: {accuracy:.4f} "
          f"(fit: {reference:.4f})")
    assert model.n_iter_ == passes * n_chunks
    assert accuracy >= reference - 0.003
