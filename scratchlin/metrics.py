"""Classification metrics: accuracy, confusion matrix, per-class report (sklearn's definitions).

Labels may be any 1-D array of comparable values (ints, strings, ...); predictions are labels,
not scores (take ``argmax(axis=1)`` of probabilities first). Where a ratio has a zero
denominator (a class never predicted has no precision, an absent class no recall) the value
is 0.0, as with sklearn's ``zero_division=0``, and no warning is issued.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _validation as v

__all__ = ["accuracy", "confusion_matrix", "classification_report", "format_report"]

_SUMMARY_KEYS = ("accuracy", "macro avg", "weighted avg")
_METRIC_KEYS = ("precision", "recall", "f1-score", "support")


def _check_labels_1d(y, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        hint = "; for one-hot targets or probabilities pass y.argmax(axis=1)" if y.ndim == 2 else ""
        raise ValueError(f"{name} must be a 1-D array of labels, got shape {y.shape}{hint}")
    if y.size == 0:
        raise ValueError(f"{name} must hold at least one label, got an empty array")
    return y


def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = _check_labels_1d(y_true, "y_true")
    y_pred = _check_labels_1d(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {len(y_true)} and {len(y_pred)}"
        )
    if _is_numeric(y_true) != _is_numeric(y_pred):
        raise TypeError(
            "y_true and y_pred must both hold numbers or both hold strings, got dtypes "
            f"{y_true.dtype} and {y_pred.dtype}"
        )
    return y_true, y_pred


def _is_numeric(y: np.ndarray) -> bool:
    return np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_


def _resolve_labels(labels, y_true, y_pred) -> np.ndarray:
    """The labels to report on: the sorted union by default, else ``labels`` as given."""
    if labels is None:
        return np.union1d(y_true, y_pred)
    labels = _check_labels_1d(labels, "labels")
    if np.unique(labels).size != labels.size:
        values, counts = np.unique(labels, return_counts=True)
        raise ValueError(f"labels must be unique, got repeated {values[counts > 1].tolist()}")
    return labels


def _label_indices(y: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each ``y`` in ``labels`` and whether it is there at all."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    position = np.minimum(np.searchsorted(sorted_labels, y), labels.size - 1)
    return order[position], sorted_labels[position] == y


def accuracy(y_true, y_pred) -> float:
    r"""Fraction of samples whose prediction equals the true label.

    .. math:: \mathrm{acc} = \frac{1}{N} \sum_i [\hat y_i = y_i]

    Parameters
    ----------
    y_true, y_pred : array_like, shape (N,)
        True and predicted labels, N >= 1.

    Returns
    -------
    float
        In [0, 1].
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, *, labels=None) -> np.ndarray:
    """Counts of (true, predicted) label pairs; rows are true labels, columns predicted.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (N,)
        True and predicted labels, N >= 1.
    labels : array_like, shape (K,), optional
        Unique labels giving the order of rows and columns; samples whose true or predicted
        label is not among them are not counted (as in sklearn). default=None, meaning the
        sorted union of the labels in ``y_true`` and ``y_pred``.

    Returns
    -------
    ndarray of int64, shape (K, K)
        ``C[i, j]`` = number of samples with true label ``labels[i]`` predicted as
        ``labels[j]``.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    labels = _resolve_labels(labels, y_true, y_pred)
    k = labels.size
    true_index, true_known = _label_indices(y_true, labels)
    pred_index, pred_known = _label_indices(y_pred, labels)
    both_known = true_known & pred_known
    pair_index = true_index[both_known] * k + pred_index[both_known]
    return np.bincount(pair_index, minlength=k * k).reshape(k, k).astype(np.int64)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0.0 where the denominator is 0."""
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def classification_report(y_true, y_pred, *, labels=None) -> dict:
    r"""Per-class precision, recall, F1 and support, their averages, and accuracy.

    For class :math:`k`, with :math:`TP_k` samples of class :math:`k` predicted :math:`k`,
    :math:`P_k` samples predicted :math:`k` and :math:`S_k` samples of class :math:`k`
    (support), counted over all samples:

    .. math::

        \mathrm{precision}_k = \frac{TP_k}{P_k}, \quad
        \mathrm{recall}_k = \frac{TP_k}{S_k}, \quad
        F_{1,k} = \frac{2\, TP_k}{P_k + S_k}

    each 0.0 when its denominator is 0 (sklearn's ``zero_division=0``). The macro average is
    the plain mean over the K classes, the weighted average the mean weighted by
    :math:`S_k` (0.0 if all supports are 0); both carry the support :math:`\sum_k S_k`.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (N,)
        True and predicted labels, N >= 1.
    labels : array_like, shape (K,), optional
        Classes to report, in this order; default=None, meaning the sorted union of the
        labels in ``y_true`` and ``y_pred``.

    Returns
    -------
    dict
        sklearn's ``classification_report(..., output_dict=True)`` layout: one entry per
        class keyed by ``str(label)``, then ``"accuracy"`` (a float, over all N samples),
        ``"macro avg"`` and ``"weighted avg"``. Each class/average entry is a dict with
        ``"precision"``, ``"recall"``, ``"f1-score"`` (floats) and ``"support"`` (int).
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    labels = _resolve_labels(labels, y_true, y_pred)
    k = labels.size
    true_index, true_known = _label_indices(y_true, labels)
    pred_index, pred_known = _label_indices(y_pred, labels)
    hit = true_known & pred_known & (true_index == pred_index)
    true_positives = np.bincount(true_index[hit], minlength=k)
    predicted = np.bincount(pred_index[pred_known], minlength=k)
    support = np.bincount(true_index[true_known], minlength=k)

    per_class = {
        "precision": _ratio(true_positives, predicted),
        "recall": _ratio(true_positives, support),
        "f1-score": _ratio(2 * true_positives, predicted + support),
    }
    report: dict[str, Any] = {
        str(label): {**{m: float(per_class[m][i]) for m in per_class}, "support": int(support[i])}
        for i, label in enumerate(labels.tolist())
    }
    total = int(support.sum())
    weighted = {m: float(support @ per_class[m] / total) if total else 0.0 for m in per_class}
    report["accuracy"] = accuracy(y_true, y_pred)
    report["macro avg"] = {**{m: float(np.mean(per_class[m])) for m in per_class}, "support": total}
    report["weighted avg"] = {**weighted, "support": total}
    return report


def format_report(report: dict, digits: int = 4) -> str:
    """Render a :func:`classification_report` dict as sklearn's aligned text table.

    Parameters
    ----------
    report : dict
        As returned by :func:`classification_report`.
    digits : int, default=4
        Decimal places of the floats.

    Returns
    -------
    str
        One header line, one line per class, a blank line, then the accuracy, macro and
        weighted average lines, e.g.::

                          precision    recall  f1-score   support

                       0     1.0000    0.5000    0.6667         2
                       1     0.6667    1.0000    0.8000         2

                accuracy                         0.7500         4
               macro avg     0.8333    0.7500    0.7333         4
            weighted avg     0.8333    0.7500    0.7333         4
    """
    digits = v.check_int(digits, "digits", low=0)
    class_names = _check_report(report)
    name_width = max(max(map(len, class_names)), len("weighted avg"), digits)
    col = max(9, digits + 2)
    row = f"{{:>{name_width}s}} " + f" {{:>{col}.{digits}f}}" * 3 + f" {{:>{col}}}\n"

    lines = [f"{'':>{name_width}s} " + "".join(f" {h:>{col}}" for h in _METRIC_KEYS) + "\n\n"]
    lines += [row.format(name, *(report[name][m] for m in _METRIC_KEYS)) for name in class_names]
    lines.append("\n")
    support = report["macro avg"]["support"]
    lines.append(f"{'accuracy':>{name_width}s} " + f" {'':>{col}}" * 2
                 + f" {report['accuracy']:>{col}.{digits}f} {support:>{col}}\n")
    lines += [row.format(avg, *(report[avg][m] for m in _METRIC_KEYS)) for avg in _SUMMARY_KEYS[1:]]
    return "".join(lines)


def _check_report(report) -> list[str]:
    """Return the class names of a report dict, checking it has the expected layout."""
    if not isinstance(report, dict):
        raise TypeError(f"report must be the dict from classification_report, got {type(report).__name__}")
    missing = [key for key in _SUMMARY_KEYS if key not in report]
    if missing:
        raise ValueError(
            f"report must be the dict from classification_report with keys "
            f"{list(_SUMMARY_KEYS)} and one per class, got keys {list(report)} (missing {missing})"
        )
    class_names = [key for key in report if key not in _SUMMARY_KEYS]
    for name in class_names + list(_SUMMARY_KEYS[1:]):
        entry = report[name]
        if not isinstance(entry, dict) or any(m not in entry for m in _METRIC_KEYS):
            raise ValueError(
                f"report[{name!r}] must be a dict with keys {list(_METRIC_KEYS)}, got {entry!r}"
            )
    return class_names
