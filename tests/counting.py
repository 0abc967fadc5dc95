"""Counting the work of a benchmark's contenders from the outside, so that a test can hold
both sides of a comparison to the same work without trusting what the benchmark says it did.

Import it from a test module (``tests/`` is on ``sys.path``, as for ``helpers``)::

    torch = pytest.importorskip("torch")
    from counting import count_work

Inside ``with count_work() as counts:``, ``counts[side]`` (side ``"scratchlin"`` or
``"torch"``) holds ``{"steps": int, "rows": int}``: the optimizer steps made, and the rows of
the minibatch behind each step (the rows of the last loss evaluated before it). Evaluations
that no step follows (a loss timed on its own) add no rows.
"""
from __future__ import annotations

import contextlib

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from scratchlin import objective, optim


@contextlib.contextmanager
def count_work():
    counts = {side: {"steps": 0, "rows": 0} for side in ("scratchlin", "torch")}
    last_rows = {"scratchlin": 0, "torch": 0}

    def stepped(side):
        counts[side]["steps"] += 1
        counts[side]["rows"] += last_rows[side]
        last_rows[side] = 0

    loss_and_grad, step_unchecked = objective.loss_and_grad, optim._Optimizer.step_unchecked
    cross_entropy = torch.nn.functional.cross_entropy

    def counted_loss_and_grad(W, b, X, labels, *args, **kwargs):
        last_rows["scratchlin"] = X.shape[0]
        return loss_and_grad(W, b, X, labels, *args, **kwargs)

    def counted_step_unchecked(self, grads, lr):
        stepped("scratchlin")
        return step_unchecked(self, grads, lr)

    def counted_cross_entropy(logits, target, *args, **kwargs):
        last_rows["torch"] = logits.shape[0]
        return cross_entropy(logits, target, *args, **kwargs)

    hook = register_optimizer_step_post_hook(lambda *_: stepped("torch"))
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(objective, "loss_and_grad", counted_loss_and_grad)
            patch.setattr(optim._Optimizer, "step_unchecked", counted_step_unchecked)
            patch.setattr(torch.nn.functional, "cross_entropy", counted_cross_entropy)
            yield counts
    finally:
        hook.remove()
