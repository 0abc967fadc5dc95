"""Tests of scratchlin.metrics: hand-computed examples, parity with sklearn.metrics, errors."""
import re

import numpy as np
import pytest

from scratchlin.metrics import accuracy, classification_report, confusion_matrix, format_report

# A small case worked out by hand; class 2 is never predicted (zero-division precision).
Y_TRUE = [0, 0, 0, 1, 1, 2]
Y_PRED = [0, 0, 1, 1, 0, 0]
HAND_CONFUSION = [[2, 1, 0],   # true 0: predicted 0, 0, 1
                  [1, 1, 0],   # true 1: predicted 1, 0
                  [1, 0, 0]]   # true 2: predicted 0
HAND_PER_CLASS = {  # precision = TP / predicted, recall = TP / support, f1 = 2 TP / (predicted + support)
    "0": dict(precision=2 / 4, recall=2 / 3, f1=4 / 7, support=3),
    "1": dict(precision=1 / 2, recall=1 / 2, f1=2 / 4, support=2),
    "2": dict(precision=0.0, recall=0 / 1, f1=0.0, support=1),
}
HAND_TABLE = """\
              precision    recall  f1-score   support

           0     0.5000    0.6667    0.5714         3
           1     0.5000    0.5000    0.5000         2
           2     0.0000    0.0000    0.0000         1

    accuracy                         0.5000         6
   macro avg     0.3333    0.3889    0.3571         6
weighted avg     0.4167    0.5000    0.4524         6
"""


def test_accuracy_by_hand():
    assert accuracy(Y_TRUE, Y_PRED) == 0.5
    assert accuracy(np.array(["a", "b"]), np.array(["a", "b"])) == 1.0


def test_confusion_matrix_by_hand():
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, HAND_CONFUSION)


def test_confusion_matrix_labels_choose_order_and_drop_others():
    # labels [2, 0]: the samples with true or predicted 1 are not counted
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED, labels=[2, 0]), [[0, 1], [0, 2]])
    # a label in neither array gets an all-zero row and column
    np.testing.assert_array_equal(
        confusion_matrix([1, 1], [1, 3], labels=[1, 2, 3]), [[1, 0, 1], [0, 0, 0], [0, 0, 0]])


def test_confusion_matrix_string_labels_sorted_union():
    cm = confusion_matrix(["dog", "cat", "dog"], ["dog", "dog", "owl"])
    np.testing.assert_array_equal(cm, [[0, 1, 0],   # cat
                                       [0, 1, 1],   # dog
                                       [0, 0, 0]])  # owl, only ever predicted


def test_classification_report_by_hand():
    report = classification_report(Y_TRUE, Y_PRED)
    assert list(report) == ["0", "1", "2", "accuracy", "macro avg", "weighted avg"]
    for label, hand in HAND_PER_CLASS.items():
        entry = report[label]
        assert entry["precision"] == pytest.approx(hand["precision"], rel=1e-15)
        assert entry["recall"] == pytest.approx(hand["recall"], rel=1e-15)
        assert entry["f1-score"] == pytest.approx(hand["f1"], rel=1e-15)
        assert entry["support"] == hand["support"]
    assert report["accuracy"] == 0.5
    assert report["macro avg"] == pytest.approx(
        {"precision": 1 / 3, "recall": 7 / 18, "f1-score": 5 / 14, "support": 6}, rel=1e-15)
    assert report["weighted avg"] == pytest.approx(  # supports 3, 2, 1 out of 6
        {"precision": 5 / 12, "recall": 1 / 2, "f1-score": 19 / 42, "support": 6}, rel=1e-15)


def test_format_report_by_hand():
    assert format_report(classification_report(Y_TRUE, Y_PRED)) == HAND_TABLE


def test_format_report_digits():
    lines = format_report(classification_report(Y_TRUE, Y_PRED), digits=2).splitlines()
    assert lines[2].split() == ["0", "0.50", "0.67", "0.57", "3"]


# --- parity with sklearn ---------------------------------------------------------------------

@pytest.fixture
def sk_metrics():
    """sklearn.metrics; only these tests skip without it (a failure under CI)."""
    return pytest.importorskip("sklearn.metrics")


# Per-class values are the same divisions as sklearn's; the averages sum in another order,
# which can move the last bit (observed: 1 ulp), hence a relative 1e-12.
SKLEARN_RTOL = 1e-12


@pytest.fixture
def random_labels(rng):
    """300 labels in 0..9; predictions never use 9, so class 9 has zero-division precision."""
    return rng.integers(0, 10, 300), rng.integers(0, 9, 300)


def test_matches_sklearn_on_random_labels(random_labels, sk_metrics):
    y_true, y_pred = random_labels
    assert accuracy(y_true, y_pred) == sk_metrics.accuracy_score(y_true, y_pred)
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred),
                                  sk_metrics.confusion_matrix(y_true, y_pred))
    ours = classification_report(y_true, y_pred)
    theirs = sk_metrics.classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    assert list(ours) == list(theirs)
    assert ours["9"]["precision"] == 0.0 and ours["9"]["support"] > 0
    assert ours["accuracy"] == theirs["accuracy"]
    for key in theirs.keys() - {"accuracy"}:
        assert ours[key] == pytest.approx(theirs[key], rel=SKLEARN_RTOL), key
    assert format_report(ours) == sk_metrics.classification_report(y_true, y_pred, digits=4, zero_division=0)


def test_matches_sklearn_with_explicit_labels(random_labels, sk_metrics):
    y_true, y_pred = random_labels
    labels = [7, 2, 9, 11]  # unsorted, a never-predicted class, and a label in neither array
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, labels=labels),
        sk_metrics.confusion_matrix(y_true, y_pred, labels=labels))
    ours = classification_report(y_true, y_pred, labels=labels)
    theirs = sk_metrics.classification_report(
        y_true, y_pred, labels=labels, output_dict=True, zero_division=0)
    # With a subset of labels sklearn reports "micro avg" where we report accuracy.
    for key in ["7", "2", "9", "11", "macro avg", "weighted avg"]:
        assert ours[key] == pytest.approx(theirs[key], rel=SKLEARN_RTOL), key
    assert ours["accuracy"] == sk_metrics.accuracy_score(y_true, y_pred)


# --- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, match", [
    (lambda: accuracy(np.zeros((3, 2)), np.zeros(3)), ValueError,
     re.escape("y_true must be a 1-D array of labels, got shape (3, 2); for one-hot targets "
               "or probabilities pass y.argmax(axis=1)")),
    (lambda: confusion_matrix([0, 1], 1), ValueError,
     re.escape("y_pred must be a 1-D array of labels, got shape ()")),
    (lambda: classification_report([0, 1, 2], [0, 1]), ValueError,
     "y_true and y_pred must have the same length, got 3 and 2"),
    (lambda: accuracy([], []), ValueError, "y_true must hold at least one label, got an empty array"),
    (lambda: accuracy([0, 1], ["0", "1"]), TypeError,
     "y_true and y_pred must both hold numbers or both hold strings, got dtypes int64 and <U1"),
    (lambda: confusion_matrix([0, 1], [0, 1], labels=[0, 1, 0]), ValueError,
     re.escape("labels must be unique, got repeated [0]")),
    (lambda: classification_report([0, 1], [0, 1], labels=[]), ValueError,
     "labels must hold at least one label, got an empty array"),
    (lambda: format_report({"0": {}}), ValueError,
     re.escape("report must be the dict from classification_report with keys ['accuracy', "
               "'macro avg', 'weighted avg'] and one per class, got keys ['0']")),
    (lambda: format_report([]), TypeError, "report must be the dict from classification_report, got list"),
    (lambda: format_report(classification_report([0], [0]), digits=-1), ValueError,
     "digits must be >= 0, got -1"),
])
def test_errors_name_argument_expectation_and_value(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_format_report_rejects_an_entry_without_metrics():
    report = classification_report([0, 1], [0, 1])
    del report["1"]["recall"]
    with pytest.raises(ValueError, match=re.escape("report['1'] must be a dict with keys ['precision', "
                                                   "'recall', 'f1-score', 'support'], got")):
        format_report(report)
