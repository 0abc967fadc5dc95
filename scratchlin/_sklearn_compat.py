"""The scikit-learn estimator protocol, implemented without importing scikit-learn.

scikit-learn talks to third-party estimators through a small documented protocol:
``get_params``/``set_params`` (for ``clone``, grid search, pipelines), ``__sklearn_tags__``
(what the estimator is and accepts), ``__sklearn_is_fitted__``, ``n_features_in_`` and
``feature_names_in_``, and a ``NotFittedError`` that is a ``ValueError`` and an
``AttributeError``. This module provides each piece so that ``import scratchlin`` never imports
scikit-learn: the tags are built from scikit-learn's own tag classes only when scikit-learn asks
for them (it is then already imported), and a not-fitted error also becomes an instance of
scikit-learn's ``NotFittedError`` whenever scikit-learn is loaded.
"""
from __future__ import annotations

import inspect
import sys
import warnings

import numpy as np

__all__ = [
    "ConvergenceWarning",
    "DataConversionWarning",
    "EstimatorParams",
    "NotFittedError",
    "check_feature_names",
    "classifier_tags",
    "feature_names_of",
    "not_fitted_error",
    "warn_convergence",
    "warn_data_conversion",
]


class NotFittedError(ValueError, AttributeError):
    """The model has no parameters yet: call ``fit`` or use ``from_params``.

    A ``ValueError`` and an ``AttributeError`` like scikit-learn's, so ``hasattr(model,
    "coef_")`` is False on an unfitted model. When scikit-learn is loaded the raised error is
    also an instance of ``sklearn.exceptions.NotFittedError`` (see :func:`not_fitted_error`).
    """

    def __reduce__(self):
        # Its class may be one made at run time, which pickle cannot find by name (e.g. when
        # joblib sends the error between processes): rebuild it through the factory.
        return not_fitted_error, self.args


class DataConversionWarning(UserWarning):
    """Input was converted to the expected layout (scikit-learn's warning of the same name),
    e.g. a column vector of labels ``y`` of shape (N, 1) flattened to (N,)."""


class ConvergenceWarning(UserWarning):
    """A solver stopped at ``max_iter`` (or at the precision of its arithmetic) before its
    convergence test held (scikit-learn's warning of the same name, and, when scikit-learn is
    loaded, an instance of it, so ``warnings.filterwarnings("ignore", category=...)`` with
    either class works)."""


_COMBINED: dict[tuple[type, type], type] = {}


def _with_sklearn_class(ours: type, name: str) -> type:
    """``ours``, or if scikit-learn is already imported (never imported here) a subclass of
    both ``ours`` and ``sklearn.exceptions.<name>``, so that code catching or filtering
    either one sees it, e.g. scikit-learn's ``check_estimator``."""
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    theirs = getattr(sklearn_exceptions, name, None)
    if theirs is None:
        return ours
    if (ours, theirs) not in _COMBINED:
        _COMBINED[ours, theirs] = type(name, (ours, theirs),
                                       {"__module__": __name__, "__doc__": ours.__doc__})
    return _COMBINED[ours, theirs]


def not_fitted_error(message: str) -> NotFittedError:
    """A :class:`NotFittedError` carrying ``message`` (also scikit-learn's, when loaded)."""
    return _with_sklearn_class(NotFittedError, "NotFittedError")(message)


def warn_convergence(message: str, stacklevel: int = 2) -> None:
    """Warn with a :class:`ConvergenceWarning` (also scikit-learn's, when loaded)."""
    warnings.warn(message, _with_sklearn_class(ConvergenceWarning, "ConvergenceWarning"),
                  stacklevel=stacklevel + 1)


def warn_data_conversion(message: str, stacklevel: int = 2) -> None:
    """Warn with a :class:`DataConversionWarning` (also scikit-learn's, when loaded)."""
    warnings.warn(message, _with_sklearn_class(DataConversionWarning, "DataConversionWarning"),
                  stacklevel=stacklevel + 1)


class EstimatorParams:
    """``get_params``, ``set_params`` and a short ``repr``: the hyperparameters are exactly the
    keyword arguments of ``__init__``, stored there unchanged (scikit-learn's convention)."""

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep=True) -> dict:
        """Hyperparameters as a dict (scikit-learn's ``get_params``; ``deep`` has nothing to
        recurse into)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set hyperparameters by name and return ``self``; unknown names raise ``ValueError``."""
        names = self._param_names()
        for name, value in params.items():
            if name not in names:
                raise ValueError(f"unknown hyperparameter {name!r}; valid: {', '.join(names)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = type(self)().get_params()
        changed = [f"{k}={val!r}" for k, val in self.get_params().items()
                   if val is not defaults[k] and not _equal(val, defaults[k])]
        return f"{type(self).__name__}({', '.join(changed)})"


def _equal(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays, whose == is elementwise
        return False


def classifier_tags(estimator):
    """``__sklearn_tags__`` of a classifier taking dense 2-D numeric features.

    Called only by scikit-learn, so importing it here imports nothing new. Multiclass, one
    label per row (a column vector is flattened with a warning), no NaN, no sparse input, no
    strings as features.
    """
    from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

    return Tags(
        estimator_type="classifier",
        target_tags=TargetTags(required=True, single_output=True, multi_output=False),
        classifier_tags=ClassifierTags(multi_class=True, multi_label=False),
        input_tags=InputTags(two_d_array=True, sparse=False, allow_nan=False, string=False),
        transformer_tags=None,
        regressor_tags=None,
        non_deterministic=estimator.get_params().get("seed") is None,
    )


def feature_names_of(X) -> np.ndarray | None:
    """The column names of a DataFrame-like ``X`` as an object array, or ``None``.

    Names count only if all of them are strings (scikit-learn's rule); a mix of strings and
    other names is a ``TypeError``.
    """
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "__array__"):
        return None
    names = np.asarray(columns, dtype=object)
    is_string = [isinstance(name, str) for name in names]
    if all(is_string) and len(names) > 0:
        return names
    if any(is_string):
        kinds = sorted({type(name).__name__ for name in names})
        raise TypeError(
            "feature names are only supported if all input features have string names, "
            f"but X has names of types {kinds}; convert them all to str, e.g. "
            "X.columns = X.columns.astype(str)"
        )
    return None


def check_feature_names(estimator, X, *, reset: bool) -> None:
    """Record (``reset=True``, in ``fit``) or check ``feature_names_in_`` against ``X``'s
    column names, with scikit-learn's messages (its pipelines and checks rely on them)."""
    names = feature_names_of(X)
    if reset:
        if names is None:
            estimator.__dict__.pop("feature_names_in_", None)
        else:
            estimator.feature_names_in_ = names
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    cls = type(estimator).__name__
    if names is None and fitted is None:
        return
    if fitted is None:
        warnings.warn(f"X has feature names, but {cls} was fitted without feature names",
                      UserWarning, stacklevel=3)
        return
    if names is None:
        warnings.warn(f"X does not have valid feature names, but {cls} was fitted with "
                      "feature names", UserWarning, stacklevel=3)
        return
    if len(names) == len(fitted) and (names == fitted).all():
        return
    raise ValueError(_feature_names_message(fitted, names))


def _feature_names_message(fitted: np.ndarray, given: np.ndarray) -> str:
    message = "The feature names should match those that were passed during fit.\n"
    unexpected = sorted(set(given) - set(fitted))
    missing = sorted(set(fitted) - set(given))
    if unexpected:
        message += "Feature names unseen at fit time:\n" + _name_list(unexpected)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + _name_list(missing)
    if not unexpected and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    return message


def _name_list(names, limit=5) -> str:
    lines = [f"- {name}\n" for name in names[:limit]]
    return "".join(lines) + ("- ...\n" if len(names) > limit else "")
