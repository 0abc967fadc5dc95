"""INTERIM: the contract's training API (CONTRACT.md) on top of today's training.py.

Deleted when the core helper's training.py lands (tag core-contract-ready); model.py then
imports the same names from .training/.optim. No sample weights here.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import optim
from .training import (BatchKernel, TrainingDivergedError, build_schedule, decision_chunk,  # noqa: F401
                       evaluate as _evaluate, format_epoch, train_epoch)

OPTIMIZERS = optim._OPTIMIZERS
SCHEDULES = optim._SCHEDULES
DEFAULT_LR = {"adam": 2e-3, "sgd": 0.1}


def make_schedule(name_or_callable, *, epochs):
    return build_schedule(name_or_callable, epochs)


class Parameters:
    def __init__(self, n_features, n_classes, dtype):
        self.vector = np.zeros(n_features * n_classes + n_classes, dtype)
        self.W = self.vector[: n_features * n_classes].reshape(n_features, n_classes)
        self.b = self.vector[n_features * n_classes:]

    @classmethod
    def from_arrays(cls, W, b):
        params = cls(W.shape[0], W.shape[1], W.dtype)
        params.W[...] = W
        params.b[...] = b
        return params

    def copy(self):
        return Parameters.from_arrays(self.W, self.b)


@dataclass(frozen=True)
class TrainingSettings:
    lr: float
    batch_size: int
    optimizer: str
    optimizer_options: dict = field(default_factory=dict)
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    lr_schedule: Callable = optim.ConstantLR()
    input_scale: float = 1.0
    n_threads: int | None = None
    verbose: bool = False
    callback: Callable | None = None


class Trainer:
    def __init__(self, params, settings, rng):
        self.params, self.settings, self.rng = params, settings, rng
        self.epochs_done = 0
        self._optimizer = optim.get_optimizer(settings.optimizer, {"theta": params.vector},
                                              lr=settings.lr, **settings.optimizer_options)
        self._kernel = None

    def _kernel_for(self, n_rows):
        batch = min(self.settings.batch_size, n_rows)
        if self._kernel is None or self._kernel._batches[0].shape[0] < batch:
            s = self.settings
            self._kernel = BatchKernel(*self.params.W.shape, batch, self.params.W.dtype,
                                       input_scale=s.input_scale, weight_decay=s.weight_decay,
                                       label_smoothing=s.label_smoothing)
        return self._kernel, batch

    def partial_fit(self, X, labels, sample_weight=None):
        if sample_weight is not None:
            raise NotImplementedError("sample_weight needs the core helper's training.py")
        started = time.perf_counter()
        lr = self.settings.lr_schedule(self.settings.lr, self.epochs_done)
        kernel, batch = self._kernel_for(X.shape[0])
        order = self.rng.permutation(X.shape[0])
        loss = train_epoch(kernel, self._optimizer, X, labels, self.params, order, batch, lr,
                           self.epochs_done + 1)
        self.epochs_done += 1
        return {"epoch": self.epochs_done, "train_loss": loss, "lr": lr,
                "seconds": time.perf_counter() - started}

    def fit(self, X, labels, *, epochs, sample_weight=None, validation=None,
            early_stopping=False, patience=3, tol=None, n_iter_no_change=None):
        history, best, stall = [], None, (np.inf, 0)
        for _ in range(epochs):
            record = self.partial_fit(X, labels, sample_weight)
            if validation is not None:
                record["val_loss"], record["val_accuracy"] = _evaluate(
                    validation[0], validation[1], self.params.W, self.params.b,
                    input_scale=self.settings.input_scale)
            history.append(record)
            if self.settings.verbose:
                print(format_epoch(record, epochs), flush=True)
            if self.settings.callback is not None:
                self.settings.callback(record)
            if early_stopping:
                if best is None or record["val_loss"] < best[0]:
                    best = (record["val_loss"], record["epoch"], self.params.vector.copy())
                elif record["epoch"] - best[1] >= patience:
                    break
            if tol is not None:
                if record["train_loss"] > stall[0] - tol:
                    stall = (stall[0], stall[1] + 1)
                else:
                    stall = (record["train_loss"], 0)
                if stall[1] >= n_iter_no_change:
                    break
        if early_stopping and best is not None:
            self.params.vector[...] = best[2]
            history[-1].update(stopped_early=len(history) < epochs, best_epoch=best[1])
        return history


def split_validation(n_rows, fraction, rng):
    n_val = int(round(fraction * n_rows))
    if n_val < 1 or n_val >= n_rows:
        raise ValueError(f"validation_fraction={fraction} of {n_rows} rows leaves {n_val} for "
                         "validation; early stopping needs at least one row on each side")
    order = rng.permutation(n_rows)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def decision_function(X, params, *, input_scale=1.0, chunk_size=8192):
    chunks = [decision_chunk(X[s:s + chunk_size], params.W, params.b, input_scale)
              for s in range(0, X.shape[0], chunk_size)]
    return np.concatenate(chunks) if chunks else np.empty((0, params.b.shape[0]), params.W.dtype)


def evaluate(X, labels, params, *, input_scale=1.0, sample_weight=None):
    return _evaluate(X, labels, params.W, params.b, input_scale=input_scale)
