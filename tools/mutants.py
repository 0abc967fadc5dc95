"""Hand-written mutants for ``tools/mutate.py``: realistic single-point bugs.

Each record: ``name`` (unique), ``file`` (relative to the repository root), ``original`` (an
exact snippet that must occur exactly once in the file), ``replacement``, ``description``
(the bug, in words a reviewer would use) and ``tests`` (the fast test files that should
catch it, fastest first: pytest stops at the first failure).

When the code under a mutant changes, ``mutate.py`` refuses to run until the mutant is
updated (or removed, if the bug it models can no longer be written).
"""

FUNCTIONAL_TESTS = ("tests/test_functional.py", "tests/test_gradients.py",
                    "tests/test_properties.py", "tests/test_torch_parity.py")
OPTIM_TESTS = ("tests/test_optim_rules.py", "tests/test_optim.py")
GRADCHECK_TESTS = ("tests/test_gradcheck_reporting.py", "tests/test_gradients.py")
SCHEDULE_TESTS = ("tests/test_optim_rules.py", "tests/test_optim.py", "tests/test_training.py")
KERNEL_TESTS = ("tests/test_training_rows.py", "tests/test_training_weights_and_evaluation.py",
                "tests/test_objective.py", "tests/test_training.py", "tests/test_model.py")
DATA_TESTS = ("tests/test_data_verification.py", "tests/test_idx.py", "tests/test_data_security.py",
              "tests/test_datasets.py")

MUTANTS = []


def mutant(name, file, original, replacement, description, tests):
    MUTANTS.append({"name": name, "file": file, "original": original, "replacement": replacement,
                        "description": description, "tests": tests})


# --------------------------------------------------------------------------------------------
# scratchlin/functional.py

F = "scratchlin/functional.py"


def functional(name, original, replacement, description):
    mutant(name, F, original, replacement, description, FUNCTIONAL_TESTS)


functional("to-compute-keeps-float16",
           "return x.astype(v.compute_dtype(x.dtype), copy=False)",
           "return x",
           "float16 computed in float16 instead of float32")
_NO_SHIFT = "shifted, m = x.copy(), np.zeros_like(x.max(axis=axis, keepdims=True))"
functional("shift-sign",
           "return np.subtract(x, m, out=out), m",
           "return np.add(x, m, out=out), m",
           "the shared max-shift adds the max instead of subtracting it (overflow)")
functional("lse-no-max-shift",
           "shifted, m = _shift(x, axis, guard=True)",
           _NO_SHIFT,
           "logsumexp without the max-shift (overflows for large logits)")
functional("lse-shift-not-guarded",
           "shifted, m = _shift(x, axis, guard=True)",
           "shifted, m = _shift(x, axis)",
           "logsumexp shift by a -inf/+inf max (NaN for an all -inf or a +inf row)")
functional("lse-sum-wrong-axis",
           "_, sums = _exp_sum(shifted, axis, out=shifted)",
           "_, sums = _exp_sum(shifted, -1, out=shifted)",
           "logsumexp sums over the last axis whatever axis is")
functional("logsumexp-keepdims-inverted",
           "elif not keepdims:\n        result = np.squeeze(result, axis=axes)",
           "elif keepdims:\n        result = np.squeeze(result, axis=axes)",
           "logsumexp keepdims inverted")
functional("softmax-no-max-shift",
           "shifted, m = _shift(x, axis)\n    exps, sums",
           _NO_SHIFT + "\n    exps, sums",
           "softmax without the max-shift")
functional("softmax-shift-by-global-max",
           "shifted, m = _shift(x, axis)\n    exps, sums",
           "shifted, m = _shift(x, axis, per_slice=False)[0], x.max(axis=axis, keepdims=True)\n    exps, sums",
           "softmax shifted by the global max instead of the row max (underflows rows)")
functional("softmax-normalise-wrong-axis",
           "exps, sums = _exp_sum(shifted, axis, out=shifted)",
           "exps, sums = _exp_sum(shifted, -1, out=shifted)",
           "softmax normalised over the last axis whatever axis is")
functional("softmax-float64-work",
           "probs = _softmax(work, axis)",
           "probs = _softmax(work.astype(np.float64), axis)",
           "softmax computes float32 input in float64 and casts back (2x memory, half speed)")
functional("softmax-backward-sign",
           "grad = p * (g - np.sum(g * p, axis=axis, keepdims=True))",
           "grad = p * (np.sum(g * p, axis=axis, keepdims=True) - g)",
           "softmax_backward with the sign flipped")
functional("softmax-backward-no-p-factor",
           "grad = p * (g - np.sum(g * p, axis=axis, keepdims=True))",
           "grad = g - np.sum(g * p, axis=axis, keepdims=True)",
           "softmax_backward missing the outer p factor")
functional("softmax-backward-wrong-axis",
           "grad = p * (g - np.sum(g * p, axis=axis, keepdims=True))",
           "grad = p * (g - np.sum(g * p, axis=-1, keepdims=True))",
           "softmax_backward sums over the last axis whatever axis is")
functional("log-softmax-as-log-of-softmax",
           "return _log_softmax(work, axis).reshape(x.shape).astype(x.dtype, copy=False)",
           "return np.log(softmax(x, axis)).reshape(x.shape).astype(x.dtype, copy=False)",
           "log_softmax as log(softmax(x)) (-inf where softmax underflows)")
functional("log-softmax-float64-work",
           "return _log_softmax(work, axis).reshape(x.shape).astype(x.dtype, copy=False)",
           "return _log_softmax(work.astype(np.float64), axis).reshape(x.shape).astype(x.dtype, copy=False)",
           "log_softmax computes float32 input in float64 and casts back")
functional("log-softmax-shift-guarded",
           "shifted, m = _shift(x, axis)\n    _, sums = _exp_sum(shifted, axis)\n",
           "shifted, m = _shift(x, axis, guard=True)\n    _, sums = _exp_sum(shifted, axis)\n",
           "log_softmax shifts by 0 when the max is not finite ([nan, -inf] for [inf, 0], not NaN)")
functional("log-softmax-no-max-shift",
           "shifted, m = _shift(x, axis)\n    _, sums = _exp_sum(shifted, axis)\n",
           _NO_SHIFT + "\n    _, sums = _exp_sum(shifted, axis)\n",
           "log_softmax without the max-shift (overflow for large logits)")
functional("log-softmax-backward-sign",
           "grad = g - np.exp(log_p) * np.sum(g, axis=axis, keepdims=True)",
           "grad = g + np.exp(log_p) * np.sum(g, axis=axis, keepdims=True)",
           "log_softmax_backward adds the softmax term instead of subtracting it")
functional("log-softmax-backward-softmax-rule",
           "grad = g - np.exp(log_p) * np.sum(g, axis=axis, keepdims=True)",
           "grad = g - np.exp(log_p) * np.sum(g * np.exp(log_p), axis=axis, keepdims=True)",
           "log_softmax_backward uses softmax's sum(g * p) instead of sum(g)")
functional("log-softmax-backward-wrong-axis",
           "grad = g - np.exp(log_p) * np.sum(g, axis=axis, keepdims=True)",
           "grad = g - np.exp(log_p) * np.sum(g, axis=-1, keepdims=True)",
           "log_softmax_backward sums over the last axis whatever axis is")
functional("xlogy-zero-times-inf",
           "return np.multiply(coefficient, log_p, out=np.zeros(log_p.shape, log_p.dtype), where=coefficient != 0)",
           "return coefficient * log_p",
           "0 * log 0 gives NaN instead of 0 (a -inf logit with zero target)")
functional("ce-no-nan-check",
           'logits = v.as_float_array(logits, "logits", ndim=2)\n        v.check_no_nan(logits, "logits")',
           'logits = v.as_float_array(logits, "logits", ndim=2)',
           "NaN logits accepted silently")
functional("ce-weight-not-cast",
           "return weight.astype(self.logits.dtype)",
           "return weight",
           "a float64 class weight upcasts float32 cross-entropy work to float64")
functional("ce-prob-smoothing-no-divide-by-c",
           "target = target * (1 - eps) + eps / self.n_classes",
           "target = target * (1 - eps) + eps",
           "label smoothing of probability targets adds eps instead of eps / C")
functional("ce-prob-weight-ignored",
           "return target if self.weight is None else target * self.weight",
           "return target",
           "class weights ignored for probability targets")
functional("ce-ignore-index-hardcoded",
           "keep = self.target != self.ignore_index",
           "keep = self.target != -100",
           "ignore_index compared with the default -100 instead of the argument")
functional("ce-ignored-rows-keep-weight",
           "return np.arange(labels.shape[0]), labels, np.where(keep, label_weight, 0), keep",
           "return np.arange(labels.shape[0]), labels, label_weight, keep",
           "ignored rows keep class 0's weight (counted in the loss and the mean)")
functional("ce-prob-mean-over-classes",
           "return self.logits.dtype.type(self.logits.shape[0])",
           "return self.logits.dtype.type(self.logits.shape[1])",
           "mean over probability targets divides by C instead of N")
functional("ce-index-mean-unweighted",
           "return np.sum(self.index_parts[2])",
           "return np.sum(self.index_parts[3])",
           "weighted mean divides by the number of kept rows, not their summed weights")
functional("ce-mean-over-all-rows",
           "return total / normaliser",
           "return total / per_sample.shape[0]",
           "mean divides by N, counting ignored rows and ignoring weights")
functional("ce-smoothing-on-ignored-rows",
           "loss += (eps / inputs.n_classes) * np.where(keep, smooth, 0)",
           "loss += (eps / inputs.n_classes) * smooth",
           "ignored rows still get the label-smoothing loss")
functional("ce-index-smoothing-no-divide-by-c",
           "loss += (eps / inputs.n_classes) * np.where(keep, smooth, 0)",
           "loss += eps * np.where(keep, smooth, 0)",
           "label smoothing of index targets weighs the uniform term by eps, not eps / C")
functional("ce-label-term-unsmoothed",
           "loss = -_xlogy((1 - eps) * label_weight, log_p[rows, labels])",
           "loss = -_xlogy(label_weight, log_p[rows, labels])",
           "loss's label term forgets the (1 - eps) factor")
functional("ce-label-factor-outside-xlogy",
           "loss = -_xlogy((1 - eps) * label_weight, log_p[rows, labels])",
           "loss = -(1 - eps) * _xlogy(label_weight, log_p[rows, labels])",
           "(1 - eps) multiplies the label term after 0 log 0 = 0 (NaN at eps = 1, -inf label logit)")
functional("ce-zero-weight-mean-divides",
           "if normaliser == 0:  # no label weight counted",
           "if False:  # no label weight counted",
           "mean over zero total label weight divides by 0 (+inf with smoothing, not NaN)")
functional("ce-smoothing-unweighted",
           "smooth = -np.sum(_xlogy(inputs.class_weight(), log_p), axis=1)",
           "smooth = -np.sum(_xlogy(np.ones_like(inputs.class_weight()), log_p), axis=1)",
           "the smoothing term ignores the class weights")
functional("ce-smoothing-branch-always",
           "if eps > 0:  # skipped at eps = 0",
           "if True:  # skipped at eps = 0",
           "smoothing term computed at eps = 0 (0 * -inf = NaN for -inf logits)")
functional("ce-grad-prob-assumes-normalised-target",
           "grad *= np.sum(weighted, axis=1, keepdims=True)\n        grad -= weighted",
           "grad -= weighted",
           "probability-target gradient p - T, valid only for unweighted targets summing to 1")
functional("ce-grad-ignored-rows-get-smoothing",
           "row_total = (1 - eps) * label_weight + (eps / n_classes) * np.where(keep, class_weight.sum(), 0)",
           "row_total = (1 - eps) * label_weight + (eps / n_classes) * class_weight.sum()",
           "gradient of ignored rows is not zero under label smoothing")
functional("ce-grad-smoothing-no-divide-by-c",
           "grad -= np.outer(keep, (eps / n_classes) * class_weight)",
           "grad -= np.outer(keep, eps * class_weight)",
           "gradient's smoothing term eps instead of eps / C")
functional("ce-grad-label-term-unsmoothed",
           "grad[rows, labels] -= (1 - eps) * label_weight",
           "grad[rows, labels] -= label_weight",
           "gradient's label term forgets the (1 - eps) factor")
functional("ce-grad-all-ignored-nan",
           "return grad_output / normaliser if normaliser != 0 else np.zeros_like(grad_output)",
           "return grad_output / normaliser",
           "gradient NaN instead of 0 when every target is ignored")
functional("ce-grad-none-reduction-mean",
           "return grad_output[:, None]",
           "return grad_output.mean()",
           "reduction='none' backward uses the mean upstream gradient for every row")
functional("ce-float64-log-p",
           ("log_p = _log_softmax(inputs.logits, axis=1)\n"
            "    loss = _reduce(inputs, _per_sample_loss(inputs, log_p))\n"
            "    return np.asarray(loss)"),
           ("log_p = _log_softmax(inputs.logits.astype(np.float64), axis=1)\n"
            "    loss = _reduce(inputs, _per_sample_loss(inputs, log_p))\n"
            "    return np.asarray(loss)"),
           "cross_entropy computes float32 logits in float64")
functional("ce-and-grad-scaled-copy",
           "grad *= _grad_scale(inputs, np.ones((), inputs.logits.dtype))",
           "grad = grad * _grad_scale(inputs, np.ones((), inputs.logits.dtype))",
           "cross_entropy_and_grad scales the gradient into a second (N, C) array")
functional("ce-grad-probs-copied",
           "grad = np.exp(log_p)\n    if not inputs.is_index_target:",
           "probs = np.exp(log_p)\n    grad = probs * 1\n    if not inputs.is_index_target:",
           "the gradient is built beside the probabilities instead of in place (one more (N, C))")
# THE kernel (softmax_cross_entropy, under cross_entropy's common case, the objective and
# evaluate): run against the functional tests and the objective's, which alone pass weights.
KERNEL_FN_TESTS = ("tests/test_functional.py", "tests/test_objective.py",
                   "tests/test_training_weights_and_evaluation.py", "tests/test_gradients.py",
                   "tests/test_torch_parity.py", "tests/test_properties.py")


def ce_kernel(name, original, replacement, description):
    mutant(name, F, original, replacement, description, KERNEL_FN_TESTS)


ce_kernel("kernel-no-shift",
          "shifted, _ = _shift(logits, 1, per_slice=per_row, out=out)",
          "shifted = np.subtract(logits, 0, out=out)",
          "the kernel takes exp of the raw logits (overflow for large logits)")
ce_kernel("kernel-no-per-row-fallback",
          "if not parts[1].min() >= _SMALLEST_SAFE_SUM[logits.dtype]:",
          "if False:",
          "no per-row fallback: rows far below the batch max underflow to 0/0")
ce_kernel("kernel-fallback-global-again",
          "parts = _shifted_exp_rows(logits, label_index, eps, True, out)",
          "parts = _shifted_exp_rows(logits, label_index, eps, False, out)",
          "the fallback shifts by the batch max again (the underflowing row stays 0/0)")
ce_kernel("kernel-fallback-threshold-tiny",
          "_SMALLEST_SAFE_SUM = {dtype: np.sqrt(np.finfo(dtype).tiny) for",
          "_SMALLEST_SAFE_SUM = {dtype: np.finfo(dtype).tiny for",
          "fallback only below tiny: a row's smaller exponentials may be subnormal (precision lost)")
ce_kernel("kernel-gather-after-exp",
          ("    label_logit = shifted.reshape(-1)[label_index]\n"
           "    logit_sum = shifted @ np.ones(shifted.shape[1], shifted.dtype) if eps > 0 else None\n"
           "    exps, row_sum = _exp_sum(shifted, 1, out=shifted)\n"),
          ("    exps, row_sum = _exp_sum(shifted, 1, out=shifted)\n"
           "    label_logit = shifted.reshape(-1)[label_index]\n"
           "    logit_sum = shifted @ np.ones(shifted.shape[1], shifted.dtype) if eps > 0 else None\n"),
          "the label logits are read after the in-place exponential (exp(z_y) for z_y)")
ce_kernel("kernel-flat-index-stride",
          "np.arange(0, labels.shape[0] * n_classes, n_classes, dtype=np.intp)",
          "np.arange(0, labels.shape[0] * (n_classes - 1), n_classes - 1, dtype=np.intp)",
          "flat label index with the wrong row stride")
ce_kernel("kernel-label-term-unsmoothed",
          "label_logit *= 1 - eps",
          "label_logit *= 1",
          "loss's label term forgets (1 - eps)")
ce_kernel("kernel-smoothing-not-divided-by-c",
          "logit_sum *= eps / n_classes",
          "logit_sum *= eps",
          "loss's smoothing mass eps per class instead of eps / C")
ce_kernel("kernel-weights-ignored-in-loss",
          "loss_sum = float(row_loss.sum() if sample_weight is None else np.dot(sample_weight, row_loss))",
          "loss_sum = float(row_loss.sum())",
          "sample weights ignored in the loss (the gradient keeps them)")
ce_kernel("kernel-weighted-loss-over-n",
          "return forward.loss_sum / total_weight, _row_grad(forward, row_factor, label_smoothing)",
          "return forward.loss_sum / logits.shape[0], _row_grad(forward, row_factor, label_smoothing)",
          "weighted loss divided by the row count instead of the summed weights")
ce_kernel("kernel-weighted-grad-over-n",
          "return sample_weight * (1.0 / total_weight), total_weight",
          "return sample_weight * (1.0 / n_rows), total_weight",
          "weighted gradient normalised by the row count instead of the summed weights")
ce_kernel("kernel-weighted-grad-unweighted",
          "return sample_weight * (1.0 / total_weight), total_weight",
          "return 1.0 / n_rows, total_weight",
          "sample weights ignored in the gradient")
ce_kernel("kernel-sum-not-mean-grad",
          "return 1.0 / n_rows, float(n_rows)",
          "return 1.0, float(n_rows)",
          "gradient of the sum instead of the mean")
ce_kernel("kernel-zero-weights-nan",
          "total_weight = float(sample_weight.sum()) or 1.0\n    return sample_weight",
          "total_weight = float(sample_weight.sum())\n    return sample_weight",
          "a batch whose weights are all 0 gives 0/0 instead of no data")
ce_kernel("kernel-grad-label-unsmoothed",
          "grad.reshape(-1)[forward.label_index] -= (1 - eps) * factor",
          "grad.reshape(-1)[forward.label_index] -= factor",
          "gradient's label term forgets (1 - eps)")
ce_kernel("kernel-grad-smoothing-sign",
          "grad -= ((eps / grad.shape[1]) * factor).reshape(-1, 1)",
          "grad += ((eps / grad.shape[1]) * factor).reshape(-1, 1)",
          "gradient's smoothing term with the wrong sign")
ce_kernel("kernel-grad-smoothing-not-divided-by-c",
          "grad -= ((eps / grad.shape[1]) * factor).reshape(-1, 1)",
          "grad -= (eps * factor).reshape(-1, 1)",
          "gradient's smoothing term eps instead of eps / C")
functional("ce-fast-negative-labels-accepted",
           "if unsigned.max() >= logits.shape[1] or (unsigned is target and target.min() < 0):",
           "if unsigned.max() >= logits.shape[1]:",
           "fast path takes negative int32 labels (they index the previous row's logits)")
functional("ce-fast-sum-divided-by-n",
           'n_rows = 1.0 if reduction == "sum" else float(logits.shape[0])',
           "n_rows = float(logits.shape[0])",
           "fast path divides reduction='sum' by N too")
functional("ce-fast-nonfinite-kept",
           "if not np.isfinite(forward.loss_sum):\n        return None",
           "if False:\n        return None",
           "fast path keeps a non-finite total (+inf logits give NaN/inf silently, -inf labels...)")
functional("ce-backward-fast-ignores-grad-output",
           "if grad_output != 1:\n                grad *= grad.dtype.type(grad_output)",
           "if False:\n                grad *= grad.dtype.type(grad_output)",
           "cross_entropy_backward's fast path ignores a scalar grad_output")
functional("linear-drops-bias",
           "logits += _to_compute(b)",
           "pass",
           "linear ignores the bias")
functional("linear-backward-db-mean",
           "dW, db = xc.T @ g, g.sum(axis=0)",
           "dW, db = xc.T @ g, g.mean(axis=0)",
           "db averaged over the batch instead of summed")
functional("linear-backward-dx-normalised",
           "dx = g @ Wc.T",
           "dx = g @ Wc.T / Wc.shape[1]",
           "dx divided by the number of classes")

# --------------------------------------------------------------------------------------------
# scratchlin/optim.py

OPT = "scratchlin/optim.py"


def optim(name, original, replacement, description, tests=OPTIM_TESTS):
    mutant(name, OPT, original, replacement, description, tests)


optim("step-unchecked-no-step-count",
      'state["step"] += 1\n            self._update(',
      "self._update(",
      "the training loop's unchecked step never advances the step count (Adam's bias correction)")
optim("sgd-dampening-tau",
      "np.multiply(grad, 1.0 - self.dampening, out=scratch)",
      "np.multiply(grad, self.dampening, out=scratch)",
      "SGD dampening applied as tau instead of 1 - tau")
optim("sgd-first-buffer-dampened",
      'buf = state["momentum_buffer"] = grad.copy()',
      'buf = state["momentum_buffer"] = grad * (1.0 - self.dampening)',
      "SGD's first momentum buffer dampened (torch keeps the raw gradient)")
optim("sgd-momentum-not-decayed",
      "buf *= self.momentum",
      "pass",
      "SGD momentum buffer never multiplied by mu")
optim("sgd-nesterov-ignored",
      "if not self.nesterov:\n            return buf",
      "if True:\n            return buf",
      "nesterov=True behaves as plain momentum")
optim("sgd-nesterov-without-grad",
      "scratch += grad\n        return scratch",
      "return scratch",
      "Nesterov direction mu * b without the gradient term")
optim("sgd-update-sign",
      "np.multiply(direction, lr, out=scratch)\n        param -= scratch",
      "np.multiply(direction, lr, out=scratch)\n        param += scratch",
      "SGD ascends instead of descending")
optim("coupled-decay-sign",
      "np.multiply(param, self.weight_decay, out=out)",
      "np.multiply(param, -self.weight_decay, out=out)",
      "coupled weight decay pushes parameters away from 0")
optim("decoupled-decay-without-lr",
      "param *= 1.0 - lr * self.weight_decay",
      "param *= 1.0 - self.weight_decay",
      "decoupled weight decay not scaled by the learning rate")
optim("decoupled-flag-ignored",
      "if self.decoupled_weight_decay:",
      "if False:",
      "decoupled_weight_decay=True still decays the gradient (AdamW is Adam + L2)")
optim("adam-m-wrong-beta",
      "scratch *= 1.0 - beta1",
      "scratch *= beta1",
      "Adam first moment mixes in the gradient with beta1 instead of 1 - beta1")
optim("adam-v-uses-beta1",
      "np.multiply(grad, 1.0 - beta2, out=scratch)",
      "np.multiply(grad, 1.0 - beta1, out=scratch)",
      "Adam second moment uses beta1")
optim("adam-no-bias-correction2",
      "denom /= math.sqrt(1.0 - beta2**step)",
      "pass",
      "Adam without the second-moment bias correction")
optim("adam-no-bias-correction1",
      "update *= lr / (1.0 - beta1**step)",
      "update *= lr",
      "Adam without the first-moment bias correction")
optim("adam-eps-before-correction",
      "denom /= math.sqrt(1.0 - beta2**step)\n        denom += self.eps",
      "denom += self.eps\n        denom /= math.sqrt(1.0 - beta2**step)",
      "Adam adds eps before the bias correction of sqrt(v)")
optim("adam-amsgrad-ignored",
      "if self.amsgrad:\n            second_moment",
      "if False:\n            second_moment",
      "amsgrad=True behaves as Adam")
optim("adam-step-off-by-one",
      'step = state["step"]',
      'step = state["step"] + 1',
      "Adam bias correction uses t + 1")
optim("step-counter-stuck",
      'state["step"] += 1',
      'state["step"] = 1',
      "step counter never advances (bias correction stuck at t = 1)")
optim("step-lr-override-sticks",
      "lr = self.lr if lr is None else v.check_real(lr, \"lr\", low=0.0)",
      "lr = self.lr = self.lr if lr is None else v.check_real(lr, \"lr\", low=0.0)",
      "a per-step lr override replaces the base lr for later steps")
optim("float16-state-in-float16",
      "return np.zeros_like(param, dtype=v.compute_dtype(param.dtype))",
      "return np.zeros_like(param)",
      "float16 parameters keep float16 optimizer state")
optim("steplr-off-by-one",
      "return base_lr * self.gamma ** (epoch // self.step_size)",
      "return base_lr * self.gamma ** ((epoch + 1) // self.step_size)",
      "StepLR decays one epoch early")
optim("steplr-no-floor",
      "return base_lr * self.gamma ** (epoch // self.step_size)",
      "return base_lr * self.gamma ** (epoch / self.step_size)",
      "StepLR decays continuously (no floor)")
optim("cosine-warmup-from-zero",
      "return base_lr * (epoch + 1) / (self.warmup_epochs + 1)",
      "return base_lr * epoch / self.warmup_epochs",
      "cosine warm-up starts at lr 0 (a wasted epoch)")
optim("cosine-not-clamped",
      "progress = min(epoch - self.warmup_epochs, period)",
      "progress = epoch - self.warmup_epochs",
      "cosine rises again after total_epochs")
optim("cosine-period-ignores-warmup",
      "period = self.total_epochs - self.warmup_epochs",
      "period = self.total_epochs",
      "cosine period counts the warm-up epochs (never reaches min_lr)")

# the estimator's "step" schedule (decays every third of the run)
optim("step-schedule-size-zero",
      "return cls(step_size=max(1, epochs // 3))",
      "return cls(step_size=epochs // 3)",
      "'step' schedule with step_size 0 for fewer than 3 epochs", SCHEDULE_TESTS)
optim("cosine-for-epochs-off-by-one",
      "return cls(total_epochs=epochs)",
      "return cls(total_epochs=epochs - 1 if epochs > 1 else 1)",
      "'cosine' schedule reaches 0 one epoch early (the last epoch takes no step)",
      SCHEDULE_TESTS)
optim("make-optimizer-ignores-default-lr",
      "return OPTIMIZERS[key](params, lr=DEFAULT_LR[key] if lr is None else lr, **options)",
      "return OPTIMIZERS[key](params, lr=DEFAULT_LR[\"adam\"] if lr is None else lr, **options)",
      "every optimizer gets Adam's default learning rate")

# --------------------------------------------------------------------------------------------
# scratchlin/gradcheck.py

G = "scratchlin/gradcheck.py"


def gradcheck(name, original, replacement, description):
    mutant(name, G, original, replacement, description, GRADCHECK_TESTS)


gradcheck("gc-worst-by-abs-error",
          "worst = np.unravel_index(int(np.argmax(excess)), error.shape)",
          "worst = np.unravel_index(int(np.argmax(error)), error.shape)",
          "reports the largest absolute error instead of the worst tolerance violation")
gradcheck("gc-rtol-on-analytic",
          "excess = error - (atol + rtol * np.abs(numerical))",
          "excess = error - (atol + rtol * np.abs(analytic))",
          "relative tolerance scaled by the analytic value instead of the numerical one")
gradcheck("gc-forward-difference-normaliser",
          "flat_grad[k] = (f_plus - f_minus) / (2 * eps)",
          "flat_grad[k] = (f_plus - f_minus) / eps",
          "central difference divided by eps instead of 2 eps")
gradcheck("gc-one-sided",
          ("flat_point[k] = original - eps\n"
           "        f_minus = _scalar(f(point))\n"
           "        flat_point[k] = original\n"
           "        flat_grad[k] = (f_plus - f_minus) / (2 * eps)"),
          ("flat_point[k] = original\n"
           "        f_minus = _scalar(f(point))\n"
           "        flat_point[k] = original\n"
           "        flat_grad[k] = (f_plus - f_minus) / eps"),
          "one-sided difference (O(eps) truncation error)")
gradcheck("gc-point-not-restored",
          "flat_point[k] = original\n        flat_grad[k]",
          "flat_grad[k]",
          "perturbed element not restored (later elements see a shifted point)")
gradcheck("gc-passed-strict",
          "passed=bool((excess <= 0).all())",
          "passed=bool((excess < 0).all())",
          "an element exactly at the tolerance fails")
gradcheck("gc-rel-error-denominator",
          "scale = np.maximum(np.abs(analytic), np.abs(numerical))",
          "scale = np.abs(numerical)",
          "relative error divided by |n| instead of max(|a|, |n|)")
gradcheck("gc-abs-error-at-worst",
          "max_abs_error=float(error.max(initial=0.0))",
          "max_abs_error=float(error[worst]) if error.size else 0.0",
          "max_abs_error reports the worst-violation element's error, not the maximum")
gradcheck("gc-values-swapped",
          ("analytic=float(analytic[worst]) if error.size else 0.0,\n"
           "        numerical=float(numerical[worst]) if error.size else 0.0,"),
          ("analytic=float(numerical[worst]) if error.size else 0.0,\n"
           "        numerical=float(analytic[worst]) if error.size else 0.0,"),
          "analytic and numerical values swapped in the report")
gradcheck("gc-accepts-float32",
          "if x.dtype != np.float64:",
          "if x.dtype == np.float16:",
          "float32 inputs accepted (rounding error swamps the verdict)")
gradcheck("gc-reports-first-failure-only",
          "for r in failures\n        ]",
          "for r in failures[:1]\n        ]",
          "the error message names only the first failing input")
gradcheck("gc-eps-ignored",
          "numerical = numerical_gradient(f_of_this_input, x, eps=eps)",
          "numerical = numerical_gradient(f_of_this_input, x)",
          "gradcheck's eps argument not passed to the finite differences")

# --------------------------------------------------------------------------------------------
# scratchlin/objective.py: the training kernel

OBJ = "scratchlin/objective.py"


def kernel(name, original, replacement, description, file=OBJ):
    mutant(name, file, original, replacement, description, KERNEL_TESTS)


kernel("obj-logits-unscaled",
       "if input_scale != 1.0:\n        Z *= input_scale",
       "if False:\n        Z *= input_scale",
       "raw pixels' 1/255 scale missing from the logits")
kernel("obj-logits-without-bias",
       "    Z += b\n",
       "    Z += 0 * b\n",
       "the objective's logits leave out the bias")
kernel("obj-grad-W-unscaled",
       "if input_scale != 1.0:\n        grad_W_transposed *= input_scale",
       "if False:\n        grad_W_transposed *= input_scale",
       "raw pixels' 1/255 scale missing from grad_W")
kernel("obj-grad-b-mean",
       "np.matmul(ws.ones_rows[: G.shape[0]], G, out=ws.grad_b)",
       "np.matmul(ws.ones_rows[: G.shape[0]], G, out=ws.grad_b)\n    ws.grad_b /= G.shape[0]",
       "grad_b divided by the batch size again (G already carries 1/B)")
# The penalty is written once (_add_l2), for the minibatch and the whole-data-set objective.
kernel("obj-decay-loss-factor",
       "loss += 0.5 * weight_decay * float(np.vdot(W, W))",
       "loss += weight_decay * float(np.vdot(W, W))",
       "weight-decay penalty lambda ||W||^2 instead of lambda/2 ||W||^2")
kernel("obj-decay-grad-factor",
       "grad_W += weight_decay * W\n        loss",
       "grad_W += 2 * weight_decay * W\n        loss",
       "weight-decay gradient 2 lambda W")
kernel("obj-bias-decayed",
       "    grad_W, grad_b = _linear_backward(G, X, input_scale, ws)\n",
       "    grad_W, grad_b = _linear_backward(G, X, input_scale, ws)\n    grad_b += weight_decay * b\n",
       "the bias is decayed too")
kernel("obj-raw-cast-float64",
       "X = ws.cast(X) if out is not None else X.astype(W.dtype)",
       "X = ws.cast(X) if out is not None else X.astype(np.float64)",
       "raw pixels cast to float64 without a workspace (float32 work in float64)")

# --------------------------------------------------------------------------------------------
# scratchlin/training.py: the training loop, the split, evaluation

TR = "scratchlin/training.py"

kernel("tr-no-shuffle",
       "order = self.rng.permutation(X.shape[0])",
       "order = np.arange(X.shape[0])",
       "epochs visit the rows in the same order (no shuffle)", TR)
kernel("tr-drop-last-batch",
       "enumerate(range(0, order.shape[0], batch_size), start=1)",
       "enumerate(range(0, order.shape[0] - batch_size + 1, batch_size), start=1)",
       "the partial last batch is dropped", TR)
kernel("tr-loss-full-batch-weight",
       "batch_weight = rows.shape[0] if weights is None else float(weights.sum())",
       "batch_weight = batch_size if weights is None else float(weights.sum())",
       "epoch train_loss weighs the partial last batch like a full one", TR)
kernel("tr-loss-ignores-sample-weight",
       "batch_weight = rows.shape[0] if weights is None else float(weights.sum())",
       "batch_weight = rows.shape[0]",
       "epoch train_loss weighs batches by rows, not by their summed sample weights", TR)
kernel("tr-schedule-one-based",
       "self.settings.lr_schedule(self.settings.lr, self.iterations_done)",
       "self.settings.lr_schedule(self.settings.lr, iteration)",
       "schedule called with the 1-based iteration (first iteration already decayed)", TR)
kernel("tr-schedule-rate-unchecked",
       'lr = v.check_real(self.settings.lr_schedule(self.settings.lr, self.iterations_done),\n'
       '                          f"the learning rate lr_schedule gave for iteration {iteration}", low=0.0)',
       "lr = self.settings.lr_schedule(self.settings.lr, self.iterations_done)",
       "a callable schedule's negative or NaN rate reaches the unchecked optimizer step", TR)
kernel("tr-epoch-counter-stuck",
       "self.iterations_done = iteration",
       "self.iterations_done = 1",
       "iterations_done stops at 1 (schedule and partial_fit numbering stall)", TR)
kernel("tr-iteration-floor-steps",
       "epochs = -(-MIN_STEPS_PER_ITERATION // steps_per_epoch)",
       "epochs = MIN_STEPS_PER_ITERATION // steps_per_epoch",
       "passes per iteration rounded down: fewer than 200 steps (none at all on MNIST)", TR)
kernel("tr-iteration-one-pass",
       "epochs = -(-MIN_STEPS_PER_ITERATION // steps_per_epoch)",
       "epochs = 1",
       "an iteration is one pass whatever its steps (the 200-step rule dropped)", TR)
kernel("tr-min-steps-100",
       "MIN_STEPS_PER_ITERATION = 200",
       "MIN_STEPS_PER_ITERATION = 100",
       "iterations of at least 100 steps instead of the documented 200", TR)
kernel("tr-epochs-done-per-iteration",
       "self.epochs_done += epochs",
       "self.epochs_done += 1",
       "epochs_done counts iterations instead of passes", TR)
kernel("tr-plateau-never-converges",
       "if plateau is None or not plateau():",
       "if plateau is None:",
       "an adaptive schedule whose cuts are used up never ends training", TR)
kernel("tr-plateau-counter-kept",
       "no_change = 0\n                        if plateau is None or not plateau():",
       "if plateau is None or not plateau():",
       "after a cut the plateau counter is not reset: the next iteration cuts again", TR)
kernel("tr-average-plain-mean",
       "weight = (self.eta + 1) / (self.updates + self.eta)",
       "weight = 1 / self.updates",
       "partial_fit's iterate average is the plain mean (remembers the first, poor iterates)", TR)
kernel("tr-average-last-iterate",
       "weight = (self.eta + 1) / (self.updates + self.eta)",
       "weight = 1.0",
       "partial_fit's model is the last iterate, not the average", TR)
kernel("tr-average-eta-1",
       "def __init__(self, average: Parameters, eta: float = 3.0):",
       "def __init__(self, average: Parameters, eta: float = 1.0):",
       "polynomial-decay averaging with eta = 1 instead of 3", TR)
kernel("tr-early-stop-no-restore",
       "self.params.vector[...] = best_params",
       "pass",
       "early stopping keeps the last parameters instead of the best", TR)
kernel("tr-patience-off-by-one",
       'elif record["iteration"] - best_iteration >= patience:',
       'elif record["iteration"] - best_iteration > patience:',
       "early stopping waits patience + 1 iterations", TR)
kernel("tr-tol-sign",
       'no_change = no_change + 1 if record["train_loss"] > best_train - tol else 0',
       'no_change = no_change + 1 if record["train_loss"] > best_train + tol else 0',
       "tol rule counts an epoch as improving unless the loss rose by tol", TR)
kernel("tr-divergence-misses-nan",
       "if not loss <= limit:  # also catches NaN",
       "if loss > limit:  # also catches NaN",
       "a NaN loss is not reported as divergence", TR)
kernel("tr-split-truncates",
       "n_val = int(round(fraction * n_rows))",
       "n_val = int(fraction * n_rows)",
       "validation size truncated instead of rounded", TR)
kernel("tr-split-trains-on-all-rows",
       "return np.sort(order[n_val:]), np.sort(order[:n_val])",
       "return np.sort(order), np.sort(order[:n_val])",
       "the training side of the split keeps the validation rows", TR)
kernel("tr-decision-unscaled",
       "if input_scale != 1.0:\n        logits *= input_scale\n    logits += params.b",
       "if False:\n        logits *= input_scale\n    logits += params.b",
       "decision_function/evaluate without the raw-pixel 1/255 scale", TR)
kernel("tr-evaluate-loss-unweighted",
       "F.softmax_cross_entropy(logits, chunk_labels, sample_weight=weights)",
       "F.softmax_cross_entropy(logits, chunk_labels, sample_weight=None)",
       "evaluate's loss ignores the sample weights within a chunk", TR)
kernel("tr-evaluate-short-chunk-full",
       "total_loss += chunk_loss * logits.shape[0]",
       "total_loss += chunk_loss * chunk_size",
       "evaluate counts the short last chunk's mean loss as a full chunk's", TR)
kernel("tr-evaluate-chunks-by-rows",
       "total_loss += chunk_loss * float(weights.sum())",
       "total_loss += chunk_loss * logits.shape[0]",
       "weighted evaluation weighs each chunk's mean by its rows, not its summed weight", TR)
kernel("tr-evaluate-unweighted-accuracy",
       "total_correct += float(weights[correct].sum())",
       "total_correct += int(np.count_nonzero(correct))",
       "weighted accuracy counts rows instead of their weights", TR)
kernel("tr-evaluate-total-rows",
       "total_weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())",
       "total_weight = X.shape[0]",
       "weighted evaluation divides by the row count", TR)

# --------------------------------------------------------------------------------------------
# scratchlin/model.py: the estimator's use of the split and of the raw-pixel scale

M = "scratchlin/model.py"

kernel("model-trains-on-validation-rows",
       "return X[train_rows], labels[train_rows], None, (X[val_rows], labels[val_rows])",
       "return X, labels, None, (X[val_rows], labels[val_rows])",
       "early stopping trains on all rows, validation rows included", M)
kernel("model-decision-without-raw-scale",
       "return decision_function(X, self._params, input_scale=self._input_scale())",
       "return decision_function(X, self._params, input_scale=1.0)",
       "decision_function of a raw-pixel model without the 1/255 scale", M)

kernel("model-weighted-trains-on-validation-rows",
       "return (X[train_rows], labels[train_rows], weights[train_rows],",
       "return (X, labels, weights,",
       "with sample weights, early stopping trains on all rows, validation rows included", M)

# The estimator's new rules: C's mapping to lambda, solver="auto", the weight seen by
# partial_fit, dtype=None.
kernel("model-C-binary-not-doubled",
       "return (2.0 if n_classes == 2 else 1.0) / (C * total_weight)",
       "return 1.0 / (C * total_weight)",
       "with two classes lambda = 1 / (C sum w): half scikit-learn's penalty on the decision function", M)
kernel("model-C-doubled-always",
       "return (2.0 if n_classes == 2 else 1.0) / (C * total_weight)",
       "return 2.0 / (C * total_weight)",
       "lambda doubled for any number of classes", M)
# The estimator's weighted penalty: test_model (weights against repeated rows) catches these
# in a minute, so it runs before the training loop's long file.
mutant("model-C-over-rows", M,
       "total_weight = _summed_weight(X.shape[0], weights)\n        settings",
       "total_weight = float(X.shape[0])\n        settings",
       "lambda divides by the row count, not the summed sample weights", ("tests/test_model.py",))
mutant("model-partial-fit-weight-not-accumulated", M,
       "self._weight_seen += _summed_weight(X.shape[0], weights)",
       "self._weight_seen = _summed_weight(X.shape[0], weights)",
       "partial_fit's lambda divides by the last chunk's weight, not all the weight seen",
       ("tests/test_model.py", "tests/test_training.py"))
kernel("model-auto-boundary",
       "if n_rows is None or n_rows > AUTO_LBFGS_MAX_ROWS or",
       "if n_rows is None or n_rows >= AUTO_LBFGS_MAX_ROWS or",
       "solver='auto' takes Adam at exactly 20,000 rows", M)
kernel("model-auto-ignores-early-stopping",
       "if n_rows is None or n_rows > AUTO_LBFGS_MAX_ROWS or v.check_bool(self.early_stopping, \"early_stopping\"):",
       "if n_rows is None or n_rows > AUTO_LBFGS_MAX_ROWS:",
       "solver='auto' picks L-BFGS with early_stopping=True (which then refuses)", M)
kernel("model-dtype-float32-not-kept",
       "if kinds == {np.dtype(np.float32)}:\n            return np.dtype(np.float32)",
       "if kinds == {np.dtype(np.float32)}:\n            return np.dtype(np.float64)",
       "dtype=None turns float32 X into a float64 model", M)
kernel("model-average-not-updated",
       "record = self._trainer.partial_fit(*_without_zero_weights(X, labels, weights))\n"
       "        self._average.update(self._trainer.params)",
       "record = self._trainer.partial_fit(*_without_zero_weights(X, labels, weights))",
       "after the first call, partial_fit no longer updates the model's average", M)

# The whole-data-set objective of L-BFGS: chunks weighed by their share of the weight.
DATASET = ("tests/test_training_weights_and_evaluation.py", "tests/test_model.py")
mutant("obj-dataset-last-chunk-full-share",
       OBJ, "share = float(min(size, n_rows - start) if weights is None else weights.sum()) / total_weight",
       "share = float(size if weights is None else weights.sum()) / total_weight",
       "the short last chunk counts as a full one in J and its gradient", DATASET)
mutant("obj-dataset-share-ignores-weights",
       OBJ, "share = float(min(size, n_rows - start) if weights is None else weights.sum()) / total_weight",
       "share = float(min(size, n_rows - start)) / n_rows",
       "chunks weighed by their rows, not their summed sample weights", DATASET)
mutant("obj-dataset-no-penalty-gradient",
       OBJ, "return _add_l2(loss, grad_W, W, weight_decay), grad_W, grad[W.size:]",
       "return loss + 0.5 * weight_decay * float(np.vdot(W, W)), grad_W, grad[W.size:]",
       "L-BFGS's gradient leaves out lambda W (the loss keeps it)", DATASET)

# scratchlin/lbfgs.py: the Wolfe line search, the two-loop recursion, the curvature check.
LB = "scratchlin/lbfgs.py"
LBFGS_TESTS = ("tests/test_lbfgs.py", "tests/test_convergence.py", "tests/test_sklearn.py", "tests/test_model.py",
               "tests/test_training.py")


def lbfgs(name, original, replacement, description):
    mutant(name, LB, original, replacement, description, LBFGS_TESTS)


lbfgs("lbfgs-wolfe-constants-swapped",
      "C1, C2 = 1e-4, 0.9", "C1, C2 = 0.9, 1e-4",
      "c1 and c2 swapped: sufficient decrease demands 90% of the linear decrease")
lbfgs("lbfgs-sufficient-decrease-sign",
      "return f <= self.f0 + C1 * t * self.dphi0",
      "return f <= self.f0 - C1 * t * self.dphi0",
      "the sufficient-decrease test accepts steps that raise f")
lbfgs("lbfgs-curvature-sign",
      "return abs(dphi) <= -C2 * self.dphi0",
      "return abs(dphi) <= C2 * self.dphi0",
      "the curvature condition can never hold (dphi0 < 0)")
lbfgs("lbfgs-curvature-weak",
      "return abs(dphi) <= -C2 * self.dphi0",
      "return dphi >= C2 * self.dphi0",
      "the weak Wolfe curvature condition instead of the strong one")
lbfgs("lbfgs-two-loop-first-sign",
      "q -= alpha * y",
      "q += alpha * y",
      "two-loop recursion: the first loop adds alpha y")
lbfgs("lbfgs-two-loop-second-sign",
      "q += (alpha - beta) * s",
      "q += (beta - alpha) * s",
      "two-loop recursion: the second loop's correction reversed")
lbfgs("lbfgs-two-loop-alphas-order",
      "for (s, y, rho), alpha in zip(pairs, reversed(alphas)):",
      "for (s, y, rho), alpha in zip(pairs, alphas):",
      "two-loop recursion: the second loop pairs each s with another pair's alpha")
lbfgs("lbfgs-initial-scaling-inverted",
      "q *= float(s @ y) / float(y @ y)",
      "q *= float(y @ y) / float(s @ y)",
      "initial inverse Hessian y.y / s.y (the Hessian's scale, not its inverse's)")
lbfgs("lbfgs-curvature-check-inverted",
      "if sy > 1e-10 * float(y @ y):",
      "if sy < 1e-10 * float(y @ y):",
      "pairs kept only when their curvature s.y is not positive: steepest descent")
lbfgs("lbfgs-gradient-test-l1",
      "if np.max(np.abs(g), initial=0.0) <= tol:",
      "if np.abs(g).sum() / g.size <= tol:",
      "converged on the mean gradient entry instead of the largest")
# The precision limit: the approximate Wolfe conditions, the rounding of f, the decrease
# measured on the derivatives, convergence within the gradient's rounding of tol.
PRECISION_TESTS = ("tests/test_lbfgs.py", "tests/test_convergence.py")
mutant("lbfgs-approximate-wolfe-sign", LB,
       "C2 * self.dphi0 <= dphi <= (2 * C1 - 1) * self.dphi0",
       "C2 * self.dphi0 <= dphi <= (1 - 2 * C1) * self.dphi0",
       "approximate Wolfe's upper bound with its sign flipped: only steep descent is accepted", PRECISION_TESTS)
mutant("lbfgs-approximate-wolfe-ignores-f", LB,
       "return f <= self.f0 + self.f_rounding and C2",
       "return C2",
       "approximate Wolfe without the guard on f: a step that raises f far above its rounding passes",
       PRECISION_TESTS)
mutant("lbfgs-f-rounding-not-measured", LB,
       "if step is None and measured > f_rounding:",
       "if False:",
       "eps_f from the dtype alone: an objective rounded more than that stalls", PRECISION_TESTS)
mutant("lbfgs-f-never-unresolved", LB,
       "return abs(f - self.f0) <= self.f_rounding",
       "return False",
       "the bracket always decided on f, even where its differences are rounding", PRECISION_TESTS)
mutant("lbfgs-decrease-always-from-f", LB,
       "if f_old - step.f > f_rounding:",
       "if True:",
       "the decrease test on f's difference even below its rounding: f's standstill taken for convergence",
       PRECISION_TESTS)
mutant("lbfgs-precision-limit-ignores-rounding", LB,
       "if grad_max <= tol + grad_rounding:",
       "if grad_max <= tol:",
       "the precision limit is convergence only below tol itself (false warnings in float32)", PRECISION_TESTS)
mutant("training-gradient-rounding-zero", "scratchlin/training.py",
       "return float(np.sqrt(n_rows) * np.finfo(dtype).eps * (1.0 + mean_abs))",
       "return 0.0",
       "the gradient's rounding level taken as zero (float32 fits at their precision limit warn)",
       ("tests/test_convergence.py",))
mutant("training-optimizer-state-unchecked", "scratchlin/training.py",
       "            _check_optimizer_state(self.optimizer, where)\n",
       "",
       "Adam's overflowed moments go unnoticed: zero weights returned silently", ("tests/test_convergence.py",))
mutant("model-never-moved-silent", M,
       "        if never_moved:\n",
       "        if False:\n",
       "a stochastic fit that never moved the weights does not warn", ("tests/test_convergence.py",))
mutant("model-warning-always-max-iter", M,
       'if result.status == "max_iter":',
       'if result.status in ("max_iter", "stalled"):',
       "a stall at the precision limit blamed on max_iter", ("tests/test_convergence.py",))

# Not a mutant: removing the restart from the gradient when the two-loop direction is not a
# descent direction. Pairs are kept only with s.y > 0, so H stays positive definite and that
# direction is a descent one in exact arithmetic; the restart guards against rounding alone.

optim("adaptive-cut-factor",
      "def __init__(self, factor: float = 5.0, max_cuts: int = 2):",
      "def __init__(self, factor: float = 10.0, max_cuts: int = 2):",
      "the adaptive rate divided by 10 at a plateau instead of 5", SCHEDULE_TESTS + ("tests/test_model.py",))
optim("adaptive-one-cut-too-many",
      "if self.cuts >= self.max_cuts:",
      "if self.cuts > self.max_cuts:",
      "the adaptive schedule cuts three times before convergence", SCHEDULE_TESTS + ("tests/test_model.py",))
optim("adaptive-rate-ignores-cuts",
      "return base_lr / self.factor ** self.cuts",
      "return base_lr / self.factor",
      "the adaptive rate is cut once from the start and never again", SCHEDULE_TESTS + ("tests/test_model.py",))

# How the estimator's hyperparameters reach each optimizer (optim's estimator_options), and the
# label encoding's fast path for classes 0..C-1 (_labels.py).
ESTIMATOR_TESTS = ("tests/test_training.py", "tests/test_model.py", "tests/test_torch_parity.py")

optim("estimator-sgd-drops-nesterov",
      'return {"momentum": momentum, "nesterov": nesterov}, weight_decay',
      'return {"momentum": momentum, "nesterov": False}, weight_decay',
      "LinearClassifier(nesterov=True) trains with plain momentum", ESTIMATOR_TESTS)
optim("estimator-adamw-decay-twice",
      'return {"weight_decay": weight_decay}, 0.0',
      'return {"weight_decay": weight_decay}, weight_decay',
      "AdamW's decay applied in the update and again as an L2 term of the objective",
      ESTIMATOR_TESTS)
kernel("labels-range-fast-path-off-by-one",
       "0 <= y.min() and y.max() < len(classes)",
       "0 <= y.min() and y.max() <= len(classes)",
       "a label one past the last class is taken as its own index", "scratchlin/_labels.py")

# --------------------------------------------------------------------------------------------
# The data layer: scratchlin/_verify.py (published checksums), idx.py (IDX parsing, bounded
# gunzip), _cache.py (the decoded cache), _download.py (size caps, deadline), datasets.py (the
# facade's use of verify and of the cache)


def data(name, file, original, replacement, description):
    mutant(name, file, original, replacement, description, DATA_TESTS)


VERIFY, IDX, CACHE, DOWNLOAD, DATASETS = ("scratchlin/_verify.py", "scratchlin/idx.py",
                                          "scratchlin/_cache.py", "scratchlin/_download.py",
                                          "scratchlin/datasets.py")

data("ds-gz-size-only", VERIFY,
     "if len(data) == info.gz_size and hashlib.sha256(data).hexdigest() == info.gz_sha256:",
     "if len(data) == info.gz_size:",
     "a .gz of the published size is accepted without its checksum")
data("ds-raw-size-only", VERIFY,
     "return len(raw) == info.raw_size and hashlib.sha256(raw).hexdigest() == info.raw_sha256",
     "return len(raw) == info.raw_size",
     "decompressed content of the right size accepted without its checksum")
data("verify-gz-inflate-unbounded", VERIFY,
     "raw = idx._inflate_at_most(file, info.raw_size, str(path))",
     "raw = idx._inflate_at_most(file, 1 << 40, str(path))",
     "a .gz that is not the published file is inflated without the published-size bound")
data("ds-no-verify", DATASETS,
     "if verify:\n        array = parse_idx(_verify.verified_content(path, info)",
     "if False:\n        array = parse_idx(_verify.verified_content(path, info)",
     "verify=True checks nothing")
data("ds-cache-used-without-verify", DATASETS,
     "use_cache = verify and cache is not False",
     "use_cache = cache is not False",
     "verify=False serves (and fills) the verified decoded cache")
data("ds-labels-range", DATASETS,
     "if labels.size and labels.max() >= n_classes:",
     "if labels.size and labels.max() > n_classes:",
     "label 10 accepted as a digit")
data("ds-idx-payload-check", IDX,
     "got = view.nbytes - header\n    if got != expected:",
     "got = view.nbytes - header\n    if got < expected:",
     "an IDX payload longer than its header says is accepted")
data("idx-gunzip-bound-truncates", IDX,
     "data = _Inflater(file, name).read(limit + 1)",
     "data = _Inflater(file, name).read(limit)",
     "gunzip inflates only max_size bytes, so a bomb is silently cut instead of refused")
data("idx-gunzip-bound-off-by-one", IDX,
     "if len(data) > limit:",
     "if len(data) >= limit:",
     "gunzip refuses data that inflates to exactly max_size bytes")
data("idx-read-idx-reads-all", IDX,
     "buffer += _read_up_to(stream, expected + 1)",
     "buffer += _read_up_to(stream, 1 << 40)",
     "read_idx inflates a .gz to its end instead of one byte past the declared payload")
data("ds-cache-trusted-without-stamp", CACHE,
     "if json.loads(stamp.read_text()) != _stamp(src, info, src_stat):",
     "if json.loads(stamp.read_text())[\"file\"] != info.name:",
     "the decoded cache is trusted without checking the source file is unchanged")
data("ds-stamp-ignores-mtime", CACHE,
     "[src_stat.st_size, src_stat.st_mtime_ns, src_stat.st_ino,",
     "[src_stat.st_size, src_stat.st_ino,",
     "a same-size rewrite of the source in place still hits the stale cache")
data("cache-no-content-check", CACHE,
     "if not holds_published_content(array, info):",
     "if False:",
     "a cached array is served without checking its sha256 against the published one")
data("cache-content-hash-without-header", CACHE,
     "digest = hashlib.sha256(idx.idx_header(info.shape, np.uint8))",
     "digest = hashlib.sha256()",
     "the cache's content hash forgets the IDX header (never equals the published sha256)")
data("cache-owner-unchecked", CACHE,
     "right_kind and st.st_uid == os.geteuid() and not st.st_mode & 0o022",
     "right_kind and not st.st_mode & 0o022",
     "a cache folder or file owned by another user is used")
data("cache-group-writable-accepted", CACHE,
     "right_kind and st.st_uid == os.geteuid() and not st.st_mode & 0o022",
     "right_kind and st.st_uid == os.geteuid() and not st.st_mode & 0o002",
     "a group-writable cache folder or file is used")
data("cache-follows-symlinks", CACHE,
     "st = os.lstat(path)\n    right_kind",
     "st = os.stat(path)\n    right_kind",
     "a symlinked cache folder or file is followed (and read or written)")
data("cache-only-last-folder-checked", CACHE,
     "for path in reversed(chain):",
     "for path in chain[:1]:",
     "only the cache folder itself is checked, not the folders above it up to the cache root")
data("cache-folder-created-open", CACHE,
     "path.mkdir(mode=0o700)",
     "path.mkdir()",
     "cache folders created with the umask's mode (readable by others) instead of 0o700")
data("ds-download-cap-off-by-one", DOWNLOAD,
     "if received > max_bytes:",
     "if received >= max_bytes:",
     "a download of exactly the published size is refused as too large")
data("ds-download-cap-missing", DOWNLOAD,
     "if received > max_bytes:",
     "if received > 2 * max_bytes:",
     "a server sending more than the published size is not stopped")
data("download-cap-is-raw-size", DOWNLOAD,
     "_fetch(url, part, max_bytes=info.gz_size,",
     "_fetch(url, part, max_bytes=info.raw_size,",
     "the download cap is the decompressed size (5x the .gz) instead of the .gz size")
data("ds-announced-cap-off-by-one", DOWNLOAD,
     "if announced is not None and announced > max_bytes:",
     "if announced is not None and announced >= max_bytes:",
     "an announced size equal to the published one is refused")
data("ds-interrupted-accepted", DOWNLOAD,
     "if announced is not None and received < announced:",
     "if announced is not None and received < announced - 1:",
     "a transfer one byte short of its announced length is accepted")
data("download-checksum-size-only", DOWNLOAD,
     "if len(data) != info.gz_size or digest != info.gz_sha256:",
     "if len(data) != info.gz_size:",
     "a downloaded file of the published size is accepted without its checksum")
data("download-watchdog-not-watching", DOWNLOAD,
     "super().connect()\n        self._watchdog.watch(self.sock)",
     "super().connect()",
     "the watchdog never learns the socket: a dripping server outlives the deadline")
data("download-watchdog-on-timeout", DOWNLOAD,
     "watchdog = _Watchdog(deadline)",
     "watchdog = _Watchdog(timeout)",
     "the watchdog is armed with the per-read timeout instead of the whole-download deadline")
data("verify-raw-read-unbounded", VERIFY,
     'data = file.read(info.raw_size + 1) if size == info.raw_size else b""',
     "data = file.read()",
     "a decompressed file is read whole before its size is compared with the published one")
data("idx-magic-zero-bytes-unchecked", IDX,
     "if head[0] or head[1]:",
     "if head[0]:",
     "an IDX magic number whose second byte is not zero is accepted")
data("idx-payload-size-ignores-itemsize", IDX,
     "return dtype, shape, length, math.prod(shape) * dtype.itemsize",
     "return dtype, shape, length, math.prod(shape)",
     "the IDX payload length counts elements, not bytes (multi-byte types misread)")
data("idx-big-endian-kept", IDX,
     "if dtype.itemsize > 1 and not dtype.isnative:\n        array = array.astype",
     "if False:\n        array = array.astype",
     "multi-byte IDX arrays returned in big-endian order (not native)")
data("download-fresh-part-folders-removed", DOWNLOAD,
     "and now - st.st_mtime > older_than):",
     "):",
     "the .part folder of a live download (fresh) is removed by another download")
data("cache-fresh-temporaries-removed", CACHE,
     "if stat.S_ISREG(st.st_mode) and now - st.st_mtime > older_than:",
     "if stat.S_ISREG(st.st_mode):",
     "a cache write in progress (fresh temporary) is removed by another load")
