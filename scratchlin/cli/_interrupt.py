"""Ctrl-C during ``train``: what is kept (the last finished iteration's model, if asked) and
what is said about it."""
from __future__ import annotations

import sys

import numpy as np

from ..model import LinearClassifier

__all__ = ["INTERRUPTED_STATUS", "LastIteration"]

#: The exit status after Ctrl-C: 128 + SIGINT (2), what the shell reports.
INTERRUPTED_STATUS = 130


class LastIteration:
    """The model as it stood after the last finished iteration, kept from the training callback.

    The estimator puts back its previous state when ``fit`` is interrupted, so the weights
    trained so far are copied here after every iteration (``W`` and ``b``: F x C + C numbers).

    Parameters
    ----------
    feature_names : sequence of str or None
        The table's column names, given to a saved model.
    """

    def __init__(self, feature_names=None):
        self.feature_names = feature_names
        self.model: LinearClassifier | None = None
        self.history: list = []

    def keep(self, model: LinearClassifier, record: dict) -> None:
        """Copy ``model``'s parameters after the iteration ``record`` describes."""
        params = {name: value for name, value in model.get_params().items() if name != "callback"}
        kept = LinearClassifier.from_params(model.W.copy(), model.b.copy(),
                                            classes=model.classes_, **params)
        kept.history_ = [*self.history, dict(record)]
        # One assignment each, last: a Ctrl-C inside this method leaves the previous iteration's.
        self.history = kept.history_
        self.model = kept

    def interrupted(self, out, save) -> int:
        """Say what Ctrl-C left (saving the last iteration's model to ``out`` unless it is None)
        on stderr, and return :data:`INTERRUPTED_STATUS`.

        ``save(model, out) -> path`` writes the model.
        """
        done = len(self.history)
        where = f"scratchlin: interrupted during iteration {done + 1}"
        if self.model is None:
            print(f"{where}; nothing was saved (no iteration had finished)", file=sys.stderr)
        elif out is None:
            print(f"{where}; nothing was saved (pass --save-on-interrupt to keep the model "
                  f"of the last finished iteration)", file=sys.stderr)
        else:
            if self.feature_names is not None:
                self.model.feature_names_in_ = np.asarray(self.feature_names, dtype=object)
            path = save(self.model, out)
            print(f"{where}; saved the model after iteration {done} to {path}", file=sys.stderr)
        return INTERRUPTED_STATUS
