"""Timing tools and the epoch contenders shared by ``scratchlin bench`` and ``benchmarks/``.

Machines are shared and noisy, so nothing here times one contender alone: contenders run
round-robin (:func:`interleaved`) so that a slow spell hits all of them alike, every figure is
the median of several rounds, and comparisons are ratios from the same run. Beside the times
go what they should be compared to, measured in the same run (:func:`read_bandwidth`,
:func:`gemm_rate`), and how the machine was set up (:func:`environment`: BLAS library and its
threads, the OpenBLAS variables that change its kernels, the load average).

One epoch, timed the same way everywhere: :class:`ScratchlinEpoch` (one pass of scratchlin's
training loop), :class:`TorchEpoch` (the same pass in PyTorch) and :class:`CoreFloorEpoch` (the
part of a pass no exact loop can skip), all visiting the rows in one given order, so that
:func:`check_same_epochs` can hold them to the same weights before anything is timed.

Only NumPy and threadpoolctl are needed; torch is reported if the caller imported it, and
:class:`TorchEpoch` is handed the caller's torch module.
"""
from __future__ import annotations

import contextlib
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
import typing
from collections.abc import Callable, Iterator

import numpy as np

__all__ = [
    "OPENBLAS_VARIABLES",
    "CoreFloorEpoch",
    "ScratchlinEpoch",
    "TimeBudget",
    "TorchEpoch",
    "busy_processes",
    "check_same_epochs",
    "cpu_model",
    "environment",
    "epoch_flop",
    "epoch_steps",
    "gemm_rate",
    "interleaved",
    "load_average",
    "read_bandwidth",
    "repeated",
    "summarise",
]

#: Environment variables that change which OpenBLAS kernel runs (reported with every result).
OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                      "OMP_NUM_THREADS")


def summarise(times: list) -> dict:
    """``median``, ``min``, ``max`` (seconds) and the raw ``times`` of a list of timings."""
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "times": list(times)}


def interleaved(runs: dict, *, repeat: int, warmup: int = 1,
                setups: dict | None = None, time_limit: float | None = None) -> dict:
    """Time several contenders round-robin and return each one's :func:`summarise`.

    Each of the ``repeat`` rounds visits every contender once, starting one place further
    along the list each round; a visit makes ``warmup`` untimed runs, then one timed run. The
    untimed runs matter when contenders own thread pools: right after another library's
    threads were busy, the first run measures the hand-over, not the library.

    Parameters
    ----------
    runs : dict of name -> callable
        Zero-argument functions to time.
    repeat : int
        Timed runs of each contender (rounds).
    warmup : int, default=1
        Untimed runs before each timed one.
    setups : dict of name -> callable, optional
        Called untimed before every run of that contender (e.g. to reset weights).
    time_limit : float or None, default=None
        Seconds after which no new round starts (at least one round always runs), so that
        a heavily loaded machine shortens the run instead of stretching it; ``None``: always
        ``repeat`` rounds. The rounds made are ``len(times)``.

    Returns
    -------
    dict of name -> dict
        ``median``, ``min``, ``max`` (seconds) and ``times``.
    """
    names = list(runs)
    times: dict = {name: [] for name in names}
    setups = setups or {}
    started = time.perf_counter()
    for round_number in range(repeat):
        if round_number > 0 and time_limit is not None and time.perf_counter() - started >= time_limit:
            break
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            for timed in [False] * warmup + [True]:
                if name in setups:
                    setups[name]()
                start = time.perf_counter()
                runs[name]()
                if timed:
                    times[name].append(time.perf_counter() - start)
    return {name: summarise(t) for name, t in times.items()}


class TimeBudget:
    """Seconds shared out among the figures still to measure, so a run ends near ``total``.

    Each figure gets an equal share of what is left (:meth:`share`), so figures that finish
    early leave their time to the ones after them. ``total=None`` sets no limit.
    """

    def __init__(self, total: float | None, figures: int):
        self.figures_left = figures
        self.deadline = None if total is None else time.perf_counter() + total

    def share(self) -> float | None:
        """The time limit of the next figure (``None`` without a budget); counts it as used."""
        figures, self.figures_left = max(1, self.figures_left), self.figures_left - 1
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.perf_counter()) / figures


def repeated(run: Callable[[], object], calls: int) -> Callable[[], None]:
    """A function that calls ``run`` ``calls`` times: one timed sample of a short operation."""
    def loop():
        for _ in range(calls):
            run()
    return loop


def read_bandwidth(*, n_bytes: int = 64 * 2**20, repeat: int = 5) -> float:
    """Bytes per second at which this process reads memory: a sum over an ``n_bytes`` array.

    This is the read-X floor's yardstick: an operation over ``X`` cannot take less than
    ``X.nbytes / read_bandwidth()``. A floor is a bound, so the fastest round is used.
    """
    probe = np.ones(n_bytes // 4, np.float32)
    timing = interleaved({"read": lambda: np.add.reduce(probe, axis=None)}, repeat=repeat)
    return probe.nbytes / timing["read"]["min"]


def gemm_rate(dtype, *, size: int = 1024, repeat: int = 5) -> float:
    """FLOP per second of a large square product in ``dtype``, the compute floor's yardstick.

    ``2 * size**3`` floating-point operations per product, at whatever BLAS thread count is
    in force when called. A floor is a bound, so the fastest round is used.
    """
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    timing = interleaved({"gemm": lambda: a @ b}, repeat=repeat)
    return 2 * size**3 / timing["gemm"]["min"]


def load_average() -> list | None:
    """The 1, 5 and 15 minute load averages, or ``None`` where the OS has none."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux, else what the OS reports)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment() -> dict:
    """Versions, cores, BLAS libraries and their current threads, OpenBLAS variables, load.

    torch is reported only if it is already imported (this function never imports it).
    """
    from threadpoolctl import threadpool_info

    from . import __version__
    from ._threads import available_cores

    env = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{cpu_model()}, {platform.machine()}, {os.cpu_count()} logical CPUs, "
                   f"{available_cores()} available to this process",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scratchlin": __version__,
        "blas": [f"{lib.get('internal_api')} {lib.get('version')} ({lib.get('architecture')}), "
                 f"{lib.get('num_threads')} threads" for lib in threadpool_info()
                 if lib.get("user_api") == "blas"],
        "openblas variables": {name: os.environ.get(name) for name in OPENBLAS_VARIABLES
                               if os.environ.get(name) is not None},
        "load average": load_average(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        env["torch"] = f"{torch.__version__}, {torch.get_num_threads()} threads"
    return env


@contextlib.contextmanager
def busy_processes(count: int) -> Iterator[list]:
    """Run ``count`` processes that spin one core each (``while True: pass``) inside the block.

    They are started with this interpreter and killed (by their own ids) on exit, also when
    the block raises or the benchmark is stopped with SIGTERM (turned into ``SystemExit``
    meanwhile, so no spinner outlives it). Used to measure how a fit behaves beside other
    busy programs.
    """
    if count == 0:
        yield []
        return
    restore_sigterm = _exit_on_sigterm()
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(count)]
    try:
        time.sleep(0.2)  # let them reach the loop
        yield spinners
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()
        restore_sigterm()


def _exit_on_sigterm() -> Callable[[], None]:
    """Make SIGTERM raise ``SystemExit`` (so ``finally`` blocks run); return the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)
    return restore


# --------------------------------------------------------------------------------------------
# One epoch on each side: the same rows, in the same order, in the same minibatches, one
# optimizer step per minibatch. Each contender has ``reset()`` (zero weights, fresh optimizer
# state; untimed), ``run(order)`` (one pass over the rows in ``order``; timed) and
# ``weights()`` (``(W, b)`` as NumPy arrays, for :func:`check_same_epochs`).


def epoch_flop(n_rows: int, n_features: int, n_classes: int) -> int:
    """Floating-point operations of an epoch's two products over all rows: the logits
    ``X_b W`` and the weight gradient ``G^T X_b``, ``2 N F C`` each."""
    return 2 * 2 * n_rows * n_features * n_classes


def epoch_steps(n_rows: int, batch_size: int) -> int:
    """Minibatches, hence optimizer steps, of one pass over ``n_rows`` rows (the last one short)."""
    return -(-n_rows // batch_size)


class _GivenOrder:
    """Stands in for the trainer's Generator so that every contender visits rows in one order."""

    def __init__(self, order):
        self.order = order

    def permutation(self, n_rows):
        assert n_rows == self.order.shape[0]
        return self.order


class ScratchlinEpoch:
    """One pass of scratchlin's training loop over ``X``: the pass that ``fit`` and
    ``partial_fit`` repeat (:meth:`scratchlin.training.Trainer._epoch`), at the trainer's own
    BLAS thread limit, without penalty.

    ``LinearClassifier.fit(max_iter=1)`` and ``partial_fit`` make one *iteration*, passes
    repeated until at least 200 steps: several epochs on small data or large batches. So the
    pass itself is timed here.

    Parameters
    ----------
    X : ndarray of shape (N, F)
        Float features, or uint8 pixels with ``input_scale=1/255`` (float32 weights then).
    labels : ndarray of shape (N,), intp
        Class indices in ``[0, n_classes)``.
    batch_size : int
    optimizer : str, default="adam"
        A key of :data:`scratchlin.optim.OPTIMIZERS`.
    lr : float or None, default=None
        None takes the optimizer's default rate.
    optimizer_options : dict or None, default=None
        E.g. ``{"momentum": 0.9}`` for SGD.
    input_scale : float, default=1.0
    n_threads : int or None, default=None
        BLAS threads; None is scratchlin's thread policy for ``batch_size``.
    n_classes : int, default=10
    """

    def __init__(self, X, labels, batch_size, *, optimizer="adam", lr=None, optimizer_options=None,
                 input_scale=1.0, n_threads=None, n_classes=10):
        from .optim import DEFAULT_LR
        from .training import TrainingSettings

        self.X, self.labels, self.n_classes = X, labels, n_classes
        self.dtype = X.dtype if X.dtype.kind == "f" else np.dtype(np.float32)
        self.lr = DEFAULT_LR[optimizer] if lr is None else lr
        self.batch_size = min(batch_size, X.shape[0])
        self.settings = TrainingSettings(lr=self.lr, batch_size=batch_size, optimizer=optimizer,
                                         optimizer_options=dict(optimizer_options or {}),
                                         input_scale=input_scale, n_threads=n_threads)

    def reset(self):
        from .training import Parameters, Trainer

        self.params = Parameters(self.X.shape[1], self.n_classes, self.dtype)
        self.trainer = Trainer(self.params, self.settings, np.random.default_rng(0))

    def run(self, order):
        # The trainer only calls rng.permutation, which _GivenOrder answers.
        self.trainer.rng = typing.cast(np.random.Generator, _GivenOrder(order))
        with self.trainer.blas_threads(self.batch_size):
            self.trainer._epoch(self.X, self.labels, None, self.batch_size, self.lr, (1, 1))

    def weights(self):
        return self.params.W, self.params.b


class TorchEpoch:
    """The same pass in PyTorch: ``X_b @ W + b``, ``nn.functional.cross_entropy``, autograd,
    and ``torch.optim``'s optimizer of the same name, rate and options, from zero weights.

    Parameters
    ----------
    torch : module
        The caller's ``torch`` (this module never imports it).
    X, labels, batch_size, optimizer, lr, optimizer_options, n_classes
        As in :class:`ScratchlinEpoch` (float ``X`` only).
    """

    OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}

    def __init__(self, torch, X, labels, batch_size, *, optimizer="adam", lr=None,
                 optimizer_options=None, n_classes=10):
        from .optim import DEFAULT_LR

        self.torch, self.n_classes = torch, n_classes
        self.X, self.labels = torch.from_numpy(X), torch.from_numpy(labels.astype(np.int64))
        self.batch_size = batch_size
        self.optimizer_class = getattr(torch.optim, self.OPTIMIZERS[optimizer])
        self.lr = DEFAULT_LR[optimizer] if lr is None else lr
        self.options = dict(optimizer_options or {})

    def reset(self):
        torch = self.torch
        self.W = torch.zeros((self.X.shape[1], self.n_classes), dtype=self.X.dtype, requires_grad=True)
        self.b = torch.zeros(self.n_classes, dtype=self.X.dtype, requires_grad=True)
        self.optimizer = self.optimizer_class([self.W, self.b], lr=self.lr, **self.options)

    def run(self, order):
        cross_entropy = self.torch.nn.functional.cross_entropy
        order = self.torch.from_numpy(order)
        for start in range(0, order.shape[0], self.batch_size):
            rows = order[start:start + self.batch_size]
            loss = cross_entropy(self.X[rows] @ self.W + self.b, self.labels[rows])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()

    def weights(self):
        return self.W.detach().numpy(), self.b.detach().numpy()


class CoreFloorEpoch:
    """The work no exact epoch can skip, and nothing else: per batch, gather the rows (and
    cast them, for uint8 pixels), and the two products ``X_b @ W`` and ``G^T X_b``, in the
    same buffers and at the same thread count as scratchlin's loop, with fixed ``W`` and ``G``.

    No softmax, no loss, no update: an epoch of scratchlin's loop minus this is what its
    NumPy calls on (B, C) and (F, C) arrays cost, and this divided by torch's epoch is the
    best ratio to torch that a loop making these calls one after another could reach.

    Parameters
    ----------
    X : ndarray of shape (N, F)
        Float features, or uint8 pixels (cast to float32 batch by batch).
    batch_size : int
    n_threads : int or None, default=None
        As in :class:`ScratchlinEpoch`.
    n_classes : int, default=10
    """

    def __init__(self, X, batch_size, n_threads=None, n_classes=10):
        from . import _threads, objective

        self.X, self.batch_size = X, batch_size
        dtype = X.dtype if X.dtype.kind == "f" else np.dtype(np.float32)
        n_features = X.shape[1]
        self.n_threads = _threads.choose_n_threads(n_threads, batch_size=batch_size,
                                                   n_features=n_features, n_classes=n_classes)
        rng = np.random.default_rng(0)
        self.W = rng.standard_normal((n_features, n_classes)).astype(dtype)
        self.G = rng.standard_normal((batch_size, n_classes)).astype(dtype)
        self.workspace = objective.Workspace(n_features, n_classes, batch_size, dtype)

    def reset(self):
        pass

    def run(self, order):
        from . import _threads

        ws, W = self.workspace, self.W
        with _threads.blas_threads(self.n_threads):
            for start in range(0, order.shape[0], self.batch_size):
                batch = ws.gather(self.X, order[start:start + self.batch_size])
                logits = np.matmul(batch, W, out=ws.logits[:batch.shape[0]])
                np.matmul(self.G[:batch.shape[0]].T, batch, out=ws.grad_W_transposed)
        return logits


#: How far apart two contenders' weights may end after the same epoch, in average steps:
#: the distance between them over ``|theta| / steps`` (no step of a pass from zero can be
#: shorter on average). Measured on MNIST and random data, Adam and SGD, B=64..16384: rounding
#: leaves them at most 6e-4 average steps apart (float32; 1e-13 in float64), where one
#: minibatch more or less moves them 0.6-8.5 average steps and half a minibatch 0.06.
SAME_EPOCH_TOLERANCE = 0.01


def check_same_epochs(contenders: dict, order, *, reference: str, steps: int) -> float:
    """Run one epoch of each contender from zeros in ``order``; raise ``AssertionError`` if
    any one's weights end further than :data:`SAME_EPOCH_TOLERANCE` average steps from
    ``reference``'s; return the largest distance found, in average steps.

    An average step is ``|theta| / steps``, the reference's distance from its zero start
    (``theta`` all of ``W`` and ``b``) over the ``steps`` of the pass. Ending at the same
    weights means the same rows, minibatches, steps and update rule: a contender that made a
    step more or less, or another pass, ends elsewhere. Distances are Euclidean, not the
    largest coordinate, as Adam turns the rounding of a gradient component that nearly
    cancels into a visible difference of that one weight.
    """
    ends = {}
    for name, contender in contenders.items():
        contender.reset()
        contender.run(order)
        ends[name] = np.concatenate([np.asarray(a, np.float64).ravel() for a in contender.weights()])
    average_step = float(np.linalg.norm(ends[reference])) / steps or 1.0
    worst = 0.0
    for name, theta in ends.items():
        distance = float(np.linalg.norm(theta - ends[reference])) / average_step
        if distance > SAME_EPOCH_TOLERANCE:
            raise AssertionError(f"{name} disagrees with {reference} after one epoch: their weights "
                                 f"are {distance:.3g} average steps apart (rounding leaves them "
                                 f"within {SAME_EPOCH_TOLERANCE}); refusing to time different work")
        worst = max(worst, distance)
    return worst
