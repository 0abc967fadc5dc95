"""Pictures of a trained model: weight templates, learning curves, confusion matrix.

matplotlib is an optional dependency (the ``plot`` extra: ``pip install scratchlin[plot]``),
imported only inside these functions. Figures are drawn with matplotlib's object-oriented API
on the Agg canvas: no ``pyplot`` state is touched and no display is ever needed, so the
functions work the same in a script, a notebook, a test or on a headless server.

Every figure has a fixed size in inches and a fixed dpi (:data:`DPI`), and is saved without
"tight" cropping, so the PNG's pixel size is known in advance: ``figsize * DPI``.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["plot_weights", "plot_history", "plot_confusion_matrix", "require_matplotlib",
           "DPI", "WEIGHTS_FIGSIZE", "HISTORY_FIGSIZE", "CONFUSION_FIGSIZE"]

#: Dots per inch of every saved PNG.
DPI = 100
#: (width, height) in inches of :func:`plot_weights`' figure: 1000 x 460 pixels.
WEIGHTS_FIGSIZE = (10.0, 4.6)
#: (width, height) in inches of :func:`plot_history`'s figure: 1000 x 400 pixels.
HISTORY_FIGSIZE = (10.0, 4.0)
#: (width, height) in inches of :func:`plot_confusion_matrix`'s figure: 700 x 620 pixels.
CONFUSION_FIGSIZE = (7.0, 6.2)

_INSTALL_HINT = "pip install scratchlin[plot]"
_TEMPLATE_COLUMNS = 5
#: The colour scale of the weight templates ends at this percentile of |W|, so that a few
#: extreme weights (pixels that are almost never inked) do not wash out all the others.
_COLOUR_PERCENTILE = 99.0


def require_matplotlib():
    """Import matplotlib, or raise an ``ImportError`` that says how to install it.

    Returns
    -------
    module
        ``matplotlib``.

    Raises
    ------
    ImportError
        matplotlib is not installed; the message names ``pip install scratchlin[plot]``.
    """
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(
            f"scratchlin.plotting needs matplotlib, which is not installed ({error}); "
            f"install it with: {_INSTALL_HINT}"
        ) from None
    return matplotlib


def _new_figure(figsize):
    """A Figure on an Agg canvas (no pyplot, no display), with constrained layout."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path) -> Path:
    path = Path(path)
    figure.savefig(path, dpi=DPI, format="png")
    return path


# --------------------------------------------------------------------------------------------
# Weight templates


def _weights_of(model) -> tuple[np.ndarray, np.ndarray]:
    """``(W, class labels)`` of a fitted model (anything with ``W`` and ``classes_``)."""
    W = getattr(model, "W", None)
    if W is None:
        raise ValueError(
            f"model must be a fitted LinearClassifier (with W of shape (n_features, "
            f"n_classes)), got {type(model).__name__} without W; fit it first"
        )
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"model.W must be 2-D (n_features, n_classes), got shape {W.shape}")
    classes = np.asarray(getattr(model, "classes_", np.arange(W.shape[1])))
    return W, classes


def _image_side(n_features: int) -> int:
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ValueError(
            f"model.W must have a square number of features to be shown as images "
            f"(784 = 28 x 28 for MNIST), got {n_features}"
        )
    return side


def plot_weights(model, path) -> Path:
    """Draw each class's weight column ``W[:, k]`` as an image, one panel per class.

    For MNIST that is ten 28x28 "templates" in a 2x5 grid: red pixels are evidence for the
    class, blue pixels evidence against it, white pixels do not matter. All panels share one
    colour scale, symmetric around 0, so colours can be compared across panels: ``[-m, m]``
    with ``m`` the 99th percentile of ``|W|``. The rare larger weights (pixels almost never
    inked, which an adaptive optimizer pushes far) show in the extreme colour; the colour
    bar's pointed ends mark that clipping.

    Parameters
    ----------
    model : LinearClassifier
        A fitted model (``W`` of shape (n_features, n_classes) with n_features a square,
        ``classes_`` used as panel titles).
    path : str or os.PathLike
        Where to write the PNG (:data:`WEIGHTS_FIGSIZE` times :data:`DPI` pixels).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        The model is not fitted, or its number of features is not a square.
    ImportError
        matplotlib is not installed.
    """
    W, classes = _weights_of(model)
    side = _image_side(W.shape[0])
    n_classes = W.shape[1]
    n_cols = min(_TEMPLATE_COLUMNS, n_classes)
    n_rows = math.ceil(n_classes / n_cols)
    magnitudes = np.abs(W)
    limit = float(np.percentile(magnitudes, _COLOUR_PERCENTILE)) or float(magnitudes.max()) or 1.0
    clipped = bool((magnitudes > limit).any())

    figure = _new_figure(WEIGHTS_FIGSIZE)
    axes = figure.subplots(n_rows, n_cols, squeeze=False)
    image = None
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= n_classes:
            continue
        image = ax.imshow(W[:, k].reshape(side, side), cmap="RdBu_r", vmin=-limit, vmax=limit,
                          interpolation="nearest")
        ax.set_title(f"class {classes[k]}", fontsize=11)
    figure.colorbar(image, ax=axes, shrink=0.8, label="weight",
                    extend="both" if clipped else "neither")
    figure.suptitle("Weight templates W[:, k]   (red: evidence for the class, blue: against)")
    return _save(figure, path)


# --------------------------------------------------------------------------------------------
# Learning curves


def _check_history(history) -> list:
    if not isinstance(history, (list, tuple)) or not history:
        raise ValueError(
            "history must be a non-empty list of per-iteration dicts (a fitted model's history_), "
            f"got {history!r:.80}"
        )
    for i, record in enumerate(history):
        if not isinstance(record, dict):
            raise TypeError(f"history[{i}] must be a dict, got {type(record).__name__}")
        missing = [key for key in ("iteration", "train_loss") if key not in record]
        if missing:
            raise ValueError(f"history[{i}] must have keys 'iteration' and 'train_loss', it lacks {missing}")
    return list(history)


def _column(history, key) -> np.ndarray | None:
    """The values of ``key`` over the iterations, or None when no record has it."""
    if not any(key in record for record in history):
        return None
    return np.array([record.get(key, np.nan) for record in history], dtype=np.float64)


def plot_history(history, path) -> Path:
    """Draw the learning curves of a training run.

    Left: the training objective after each iteration (for a stochastic solver the mean
    minibatch objective over the iteration, as optimised; label smoothing and the L2 penalty
    are included) and, when present, the validation loss (plain cross-entropy). Right: the
    validation accuracy when present, else the learning rate of a stochastic solver, or the
    largest gradient entry of L-BFGS (log scale).

    Parameters
    ----------
    history : list of dict
        A fitted model's ``history_``: per iteration ``iteration``, ``train_loss`` and
        optionally ``lr`` or ``grad_max``, ``val_loss``, ``val_accuracy``.
    path : str or os.PathLike
        Where to write the PNG (:data:`HISTORY_FIGSIZE` times :data:`DPI` pixels).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError, TypeError
        ``history`` is empty or its records lack ``iteration`` or ``train_loss``.
    ImportError
        matplotlib is not installed.
    """
    history = _check_history(history)
    iterations = _column(history, "iteration")
    val_loss, val_accuracy, lr, grad_max = (
        _column(history, k) for k in ("val_loss", "val_accuracy", "lr", "grad_max"))

    figure = _new_figure(HISTORY_FIGSIZE)
    loss_ax, right_ax = figure.subplots(1, 2)
    loss_ax.plot(iterations, _column(history, "train_loss"), "o-", color="C0", label="training (as optimised)")
    if val_loss is not None:
        loss_ax.plot(iterations, val_loss, "s-", color="C1", label="validation")
    loss_ax.set(title="Loss", xlabel="iteration", ylabel="mean cross-entropy")
    loss_ax.legend()

    if val_accuracy is not None:
        right_ax.plot(iterations, 100 * val_accuracy, "s-", color="C1")
        right_ax.set(title="Validation accuracy", xlabel="iteration", ylabel="accuracy (%)")
    elif lr is not None:
        right_ax.plot(iterations, lr, "o-", color="C2")
        right_ax.set(title="Learning rate (no validation data)", xlabel="iteration", ylabel="lr")
    elif grad_max is not None:
        right_ax.semilogy(iterations, grad_max, "o-", color="C2")
        right_ax.set(title="Largest gradient entry", xlabel="iteration", ylabel="max |grad J|")
    else:
        right_ax.set_axis_off()
    for ax in (loss_ax, right_ax):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    return _save(figure, path)


# --------------------------------------------------------------------------------------------
# Confusion matrix


def _check_confusion(cm, labels) -> tuple[np.ndarray, list]:
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"cm must be a square 2-D matrix of counts, got shape {cm.shape}")
    if not np.issubdtype(cm.dtype, np.integer) or (cm < 0).any():
        raise ValueError(
            f"cm must hold non-negative integer counts (metrics.confusion_matrix), got dtype "
            f"{cm.dtype} with minimum {cm.min()}"
        )
    labels = [str(label) for label in np.asarray(labels).ravel()]
    if len(labels) != cm.shape[0]:
        raise ValueError(f"labels must name the {cm.shape[0]} rows of cm, got {len(labels)} labels")
    return cm, labels


def _row_shares(cm: np.ndarray) -> np.ndarray:
    """Each count as a share of its row (its true class); 0 for empty rows."""
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0)


def plot_confusion_matrix(cm, labels, path) -> Path:
    """Draw a confusion matrix as a heat map with the count in every cell.

    Rows are true labels, columns predicted labels. A cell's colour is its share of the row
    (the fraction of that true class sent to that prediction) on a square-root scale, so the
    few-percent confusions stay visible beside a diagonal of ~95%.

    Parameters
    ----------
    cm : array_like of int, shape (K, K)
        Counts, e.g. from :func:`scratchlin.metrics.confusion_matrix`.
    labels : sequence of length K
        Class names of the rows and columns, in order.
    path : str or os.PathLike
        Where to write the PNG (:data:`CONFUSION_FIGSIZE` times :data:`DPI` pixels).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        ``cm`` is not a square matrix of non-negative integers, or ``labels`` has the wrong
        length.
    ImportError
        matplotlib is not installed.
    """
    cm, labels = _check_confusion(cm, labels)
    shares = _row_shares(cm)
    require_matplotlib()
    from matplotlib.colors import PowerNorm

    figure = _new_figure(CONFUSION_FIGSIZE)
    ax = figure.subplots()
    image = ax.imshow(shares, cmap="Blues", norm=PowerNorm(0.5, vmin=0.0, vmax=1.0))
    font_size = 10 if len(labels) <= 12 else 6
    for (i, j), count in np.ndenumerate(cm):
        colour = "white" if shares[i, j] > 0.4 else "black"
        ax.text(j, i, str(count), ha="center", va="center", color=colour, fontsize=font_size)
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    accuracy = np.trace(cm) / max(cm.sum(), 1)
    ax.set(xlabel="predicted label", ylabel="true label",
           title=f"Confusion matrix: {cm.sum()} samples, accuracy {100 * accuracy:.2f}%")
    figure.colorbar(image, ax=ax, shrink=0.8, label="share of the true class")
    return _save(figure, path)
