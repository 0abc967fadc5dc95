"""Class labels of a classifier: which targets are labels, and their mapping to columns of W.

A classifier accepts the labels scikit-learn accepts for single-output classification:
integers of any width, bools, strings (``str`` or ``object`` arrays of ``str``) and floats
that hold whole numbers (``1.0``, ``2.0``). The sorted distinct labels are ``classes_``;
column ``k`` of ``W`` scores ``classes_[k]``, and ``predict`` returns labels from
``classes_`` in their own dtype. Refused, each with a message saying why: continuous floats
("Unknown label type: continuous", scikit-learn's wording, which its tools look for), NaN or
infinite labels, complex numbers, mixtures of strings and numbers, and 2-D targets other than
a column vector (which is flattened with a :class:`DataConversionWarning`, as scikit-learn
does).
"""
from __future__ import annotations

import numbers

import numpy as np

from ._sklearn_compat import warn_data_conversion

__all__ = ["check_classes", "check_targets", "class_weights_of", "encode", "row_weights"]


def check_targets(y, n_rows: int, *, name: str = "y", X_name: str = "X",
                  owner: str = "LinearClassifier") -> np.ndarray:
    """Return ``y`` as a 1-D array of class labels, one per row of ``X``.

    Parameters
    ----------
    y : array_like of shape (N,) or (N, 1)
    n_rows : int
        N, the number of rows of ``X``.
    name, X_name : str
        Argument names used in messages.
    owner : str
        The estimator's class name, for the message when ``y`` is None.

    Returns
    -------
    ndarray of shape (N,), the labels' own dtype
    """
    if y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warn_data_conversion(
            f"A column-vector y was passed when a 1d array was expected: {name} of shape "
            f"{y.shape} is flattened to ({y.shape[0]},). Pass {name}.ravel() to silence this.",
            stacklevel=3)
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D, one class label per row, got {y.ndim}-D array of shape "
            f"{y.shape}; multi-output and multilabel targets are not supported"
        )
    if y.shape[0] != n_rows:
        raise ValueError(f"{name} has {y.shape[0]} labels but {X_name} has {n_rows} rows")
    _check_label_kind(y, name)
    return y


def _check_label_kind(y: np.ndarray, name: str) -> None:
    kind = y.dtype.kind
    if kind in "biuUS":  # bool, int, uint, str, bytes
        return
    if kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {y.dtype}")
    if kind == "O":
        is_string = [isinstance(label, str) for label in y]
        if all(is_string):
            return
        if any(is_string):
            raise TypeError(
                f"{name} mixes strings and other labels ({_kinds(y)}); labels must be all "
                "strings or all numbers"
            )
        if not all(isinstance(label, numbers.Real) for label in y):
            raise ValueError(f"Unknown label type: {name} holds objects of types {_kinds(y)}; "
                             "labels must be integers, bools, strings or whole floats")
        values = np.asarray(y.tolist(), dtype=np.float64)
    elif kind == "f":
        values = y
    else:
        raise ValueError(f"Unknown label type: {name} has dtype {y.dtype}; labels must be "
                         "integers, bools, strings or whole floats")
    _check_whole_numbers(values, name)


def _check_whole_numbers(values: np.ndarray, name: str) -> None:
    finite = np.isfinite(values)
    if not finite.all():
        position = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"{name} must hold finite labels; it holds {values[position]} at "
                         f"index {position}")
    fractional = values != np.floor(values)
    if fractional.any():
        position = int(np.flatnonzero(fractional)[0])
        raise ValueError(
            f"Unknown label type: continuous. {name} holds {values[position]} at index "
            f"{position}; a classifier needs class labels (integers, bools, strings or whole "
            "floats), not a continuous target"
        )


def _kinds(y: np.ndarray) -> str:
    return ", ".join(sorted({type(label).__name__ for label in y}))


def check_classes(classes, *, name: str = "classes") -> np.ndarray:
    """Return the sorted distinct labels of ``classes`` (checked like ``y``); at least two."""
    classes = np.asarray(classes)
    classes = check_targets(classes, classes.shape[0] if classes.ndim else -1, name=name,
                            X_name=name)
    distinct = np.unique(classes)
    if distinct.shape[0] < 2:
        raise ValueError(
            f"{name} must hold at least 2 classes to train a classifier, got "
            f"{distinct.shape[0]} class: {distinct.tolist()}"
        )
    return distinct


def _is_range(classes: np.ndarray) -> bool:
    """Whether ``classes`` is the integers ``0, 1, ..., C-1`` (MNIST's digits, say)."""
    return (classes.dtype.kind in "iu" and classes.size > 0 and int(classes[0]) == 0
            and int(classes[-1]) == classes.size - 1)


def encode(y: np.ndarray, classes: np.ndarray, *, name: str = "y",
           known_as: str = "the classes seen in fit") -> np.ndarray:
    """The column index of each label in the sorted ``classes``, shape (N,), intp.

    Raises ``ValueError`` naming the first label of ``y`` that is not in ``classes``.
    """
    if _is_range(classes) and y.dtype.kind in "iu" and y.size and 0 <= y.min() and y.max() < len(classes):
        return y.astype(np.intp, copy=False)  # classes 0..C-1: a label is its own index
    indices = np.minimum(np.searchsorted(classes, y), len(classes) - 1)
    unknown = classes[indices] != y
    if np.any(unknown):
        label = y[np.flatnonzero(unknown)[0]]
        label = label.item() if isinstance(label, np.generic) else label
        raise ValueError(
            f"{name} holds label {label!r} that is not one of {known_as}: {classes.tolist()}"
        )
    return indices.astype(np.intp)


def class_weights_of(class_weight, classes: np.ndarray, labels: np.ndarray | None,
                     dtype) -> np.ndarray | None:
    """The weight of each class, shape (C,), from a ``class_weight`` hyperparameter.

    ``None``: no class weights. A dict ``{label: weight}``: labels not named weigh 1.
    ``"balanced"``: ``N / (C * count_k)`` from the class ``labels`` (indices) of the rows, so
    every class carries the same total weight (scikit-learn's formula).
    """
    if class_weight is None:
        return None
    n_classes = classes.shape[0]
    if isinstance(class_weight, str) and class_weight == "balanced":
        if labels is None:
            raise ValueError("class_weight='balanced' needs the whole training set: it is not "
                             "supported by partial_fit; pass a dict of weights instead")
        counts = np.bincount(labels, minlength=n_classes)
        return (labels.shape[0] / (n_classes * np.maximum(counts, 1))).astype(dtype)
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be None, 'balanced' or a dict {{label: weight}}, "
                        f"got {type(class_weight).__name__} {class_weight!r}")
    weights = np.ones(n_classes, dtype)
    for label, weight in class_weight.items():
        column = np.flatnonzero(classes == label)
        if column.size == 0:
            raise ValueError(f"class_weight names label {label!r}, which is not one of the "
                             f"classes {classes.tolist()}")
        is_number = isinstance(weight, numbers.Real) and not isinstance(weight, bool)
        value = float(weight) if is_number else float("nan")
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"class_weight[{label!r}] must be a finite number >= 0, got {weight!r}")
        weights[column[0]] = weight
    return weights


def row_weights(sample_weight: np.ndarray | None, class_weights: np.ndarray | None,
                labels: np.ndarray) -> np.ndarray | None:
    """Each row's weight in the objective: ``sample_weight[i] * class_weights[labels[i]]``
    (either factor may be absent); ``None`` when both are.

    Raises ``ValueError`` when the class weights leave every row weighing 0: the weighted mean
    of the loss would be 0/0.
    """
    if class_weights is None:
        return sample_weight
    per_row = class_weights[labels]
    weights = per_row if sample_weight is None else per_row * sample_weight
    if weights.size and not weights.sum() > 0:
        raise ValueError("class_weight gives every row weight 0: each row's class weighs 0 "
                         "(or its sample_weight does); at least one row needs a positive weight")
    return weights
