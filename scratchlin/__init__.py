"""scratchlin: a from-scratch, pure-NumPy softmax-regression classifier for MNIST."""
from . import datasets, lbfgs, metrics, objective, optim, training
from .functional import (
    cross_entropy,
    cross_entropy_and_grad,
    cross_entropy_backward,
    cross_entropy_target_backward,
    linear,
    linear_backward,
    log_softmax,
    log_softmax_backward,
    logsumexp,
    logsumexp_backward,
    one_hot,
    softmax,
    softmax_backward,
)
from .gradcheck import GradcheckError, gradcheck, numerical_gradient
from .model import ConvergenceWarning, LinearClassifier, NotFittedError
from .training import TrainingDivergedError

__version__ = "0.1.0"

__all__ = [
    "datasets", "lbfgs", "metrics", "objective", "optim", "training",
    "logsumexp", "logsumexp_backward", "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "one_hot", "cross_entropy", "cross_entropy_backward", "cross_entropy_target_backward", "cross_entropy_and_grad",
    "linear", "linear_backward",
    "numerical_gradient", "gradcheck", "GradcheckError",
    "LinearClassifier", "ConvergenceWarning", "NotFittedError", "TrainingDivergedError",
]
