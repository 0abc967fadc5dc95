r"""
Checking the gradient against finite differences
================================================

The training objective of ``LinearClassifier`` on N rows is

.. math:: J(W, b) = \frac{1}{N} \sum_i \mathrm{CE}(x_i W + b, y_i) + \frac{\lambda}{2} \lVert W \rVert^2

(:math:`\lambda` is ``--weight-decay``)

and its gradient, with :math:`P = \mathrm{softmax}(X W + b)` and :math:`Y` the one-hot labels, is

.. math::

    G = (P - Y) / N, \qquad \partial J / \partial W = X^\top G + \lambda W, \qquad
    \partial J / \partial b = \textstyle\sum_i G_i

This script computes that gradient three ways (by hand with scratchlin's functional ops, with
``LinearClassifier.loss_and_grad``, and numerically by central differences), shows how the
finite-difference step trades truncation against rounding error, and shows ``gradcheck``
catching a classic bug (a forgotten 1/N).

Run::

    python examples/gradient_check.py [--seed 0] [--weight-decay 0.01]
"""
from __future__ import annotations

import argparse

import numpy as np

import scratchlin as sl


def make_problem(args):
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((args.samples, args.features))
    y = rng.integers(0, args.classes, size=args.samples)
    W = 0.1 * rng.standard_normal((args.features, args.classes))
    b = 0.1 * rng.standard_normal(args.classes)
    print(f"a random float64 problem: X {X.shape}, {args.classes} classes, "
          f"weight_decay={args.weight_decay}")
    return X, y, W, b


def objective(X, y, weight_decay):
    """``J(W, b)`` as a plain function, for the finite differences."""
    def J(W, b):
        return sl.cross_entropy(sl.linear(X, W, b), y) + 0.5 * weight_decay * np.sum(W * W)
    return J


def gradient_by_hand(X, y, W, b, weight_decay):
    G = (sl.softmax(sl.linear(X, W, b)) - sl.one_hot(y, W.shape[1], dtype=X.dtype)) / len(X)
    return {"W": X.T @ G + weight_decay * W, "b": G.sum(axis=0)}


def relative_error(a, n):
    """CS231n's elementwise relative error |a - n| / max(|a|, |n|), its maximum."""
    scale = np.maximum(np.abs(a), np.abs(n))
    return float(np.max(np.divide(np.abs(a - n), scale, out=np.zeros_like(scale), where=scale > 0)))


def three_ways(X, y, W, b, weight_decay):
    print("\n## 1. The gradient three ways")
    J = objective(X, y, weight_decay)
    by_hand = gradient_by_hand(X, y, W, b, weight_decay)
    # scikit-learn's C: the penalty weight_decay is k / (C * N) for N rows, k = 2 for two
    # classes, else 1.
    k = 2 if W.shape[1] == 2 else 1
    C = k / (weight_decay * len(y)) if weight_decay else np.inf
    model = sl.LinearClassifier.from_params(W, b, C=C)
    loss, by_model = model.loss_and_grad(X, y)
    numerical = {"W": sl.numerical_gradient(lambda W_: J(W_, b), W, eps=1e-5),
                 "b": sl.numerical_gradient(lambda b_: J(W, b_), b, eps=1e-5)}
    print(f"J = {J(W, b):.10f} (loss_and_grad: {loss:.10f})")
    print("dJ/dW[0, :3]   by hand      loss_and_grad  numerical (eps=1e-5)")
    for k in range(min(3, W.shape[1])):
        print(f"  [0, {k}]   {by_hand['W'][0, k]: .10f}  {by_model['W'][0, k]: .10f}  "
              f"{numerical['W'][0, k]: .10f}")
    for name in ("W", "b"):
        print(f"max relative error of d{name}: by hand vs loss_and_grad "
              f"{relative_error(by_hand[name], by_model[name]):.1e}, loss_and_grad vs numerical "
              f"{relative_error(by_model[name], numerical[name]):.1e}")
    print("reading (CS231n): below 1e-7 the analytic gradient is right; 1e-2 or more, it is wrong")
    return J, by_model


def library_check(J, W, b, grads):
    print("\n## 2. scratchlin.gradcheck (torch's criterion: |a - n| <= atol + rtol |n| everywhere)")
    for r in sl.gradcheck(J, {"W": W, "b": b}, grads, eps=1e-5):
        print(f"  {r.name}: passed={r.passed}  max relative error {r.max_rel_error:.1e}  "
              f"max absolute error {r.max_abs_error:.1e}")


def step_size_sweep(J, W, b, grads):
    print("\n## 3. The finite-difference step: truncation error ~ eps^2, rounding ~ 1e-16 / eps")
    print("  eps      max relative error of dW")
    for eps in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8, 1e-10):
        numerical = sl.numerical_gradient(lambda W_: J(W_, b), W, eps=eps)
        print(f"  {eps:<7.0e}  {relative_error(grads['W'], numerical):.1e}")
    print("  too large: the curvature of J leaks in; too small: the two J values agree in "
          "almost every digit\n  and their difference is mostly rounding. float64 is a must: "
          "float32 is refused:")
    try:
        sl.numerical_gradient(lambda W_: J(W_, b), W.astype(np.float32))
    except TypeError as error:
        print(f"  TypeError: {error}")


def a_classic_bug(J, X, y, W, b, weight_decay):
    print("\n## 4. A classic bug: forgetting the 1/N of the mean")
    buggy = gradient_by_hand(X, y, W, b, weight_decay)
    buggy["W"] = buggy["W"] + (len(X) - 1) * (buggy["W"] - weight_decay * W)  # X^T (P - Y), no 1/N
    try:
        sl.gradcheck(J, {"W": W, "b": b}, buggy, eps=1e-5)
    except sl.GradcheckError as error:
        print(f"  caught: {error}")
        return True
    print("  NOT caught")
    return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Analytic gradients of softmax regression, checked against finite differences.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random problem")
    parser.add_argument("--samples", type=int, default=16, help="rows of X")
    parser.add_argument("--features", type=int, default=12, help="columns of X")
    parser.add_argument("--classes", type=int, default=4, help="number of classes")
    parser.add_argument("--weight-decay", type=float, default=0.01,
                        help="L2 penalty on W included in the checked loss")
    args = parser.parse_args(argv)

    X, y, W, b = make_problem(args)
    J, grads = three_ways(X, y, W, b, args.weight_decay)
    library_check(J, W, b, grads)
    step_size_sweep(J, W, b, grads)
    caught = a_classic_bug(J, X, y, W, b, args.weight_decay)
    return 0 if caught else 1


if __name__ == "__main__":
    status = main()
    if status:  # the docs build runs this file too: no SystemExit on success
        raise SystemExit(status)
