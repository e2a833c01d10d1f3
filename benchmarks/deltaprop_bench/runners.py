r"""One epoch of the same training run, timed with each peer, plus the matrix-product floor.

Every runner trains the same network (``sizes``, ReLU hidden layers, softmax cross-entropy,
SGD with momentum) on the same synthetic data for ``epochs`` epochs and returns the seconds
of each epoch.  The work of one step is 8 matrix products for a 3-layer network (forward
:math:`Z = A W^\top`, weight gradients :math:`\Delta^\top A_{prev}`, input gradients
:math:`\Delta W` for every layer but the first); ``matmul_flops`` counts them as
:math:`2 \cdot N \cdot \text{in} \cdot \text{out}` each.

The peers are imported lazily: PyTorch and scikit-learn are optional.  With ``--backend``
other than NumPy, ``Problem.device`` holds the data on that library's device
(``backends.DeviceData``) and deltaprop, PyTorch and the floor run there instead.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np


@dataclass
class Problem:
    """The benchmark's data and network: ``X (N, sizes[0])`` float32, labels ``y (N,)``."""

    X: np.ndarray
    y: np.ndarray
    sizes: list[int]
    lr: float = 0.01
    momentum: float = 0.9
    seed: int = 0
    device: Any = None      # backends.DeviceData: the data on another library's device

    def head(self, n: int) -> Problem:
        """The first ``n`` rows (for warm-up runs), on the host and on the device."""
        return replace(self, X=self.X[:n], y=self.y[:n],
                       device=None if self.device is None else self.device.head(n))


def make_problem(samples: int, sizes: Sequence[int], *, seed: int = 0) -> Problem:
    """Synthetic, learnable data: labels are the arg-max of a fixed random projection of X."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, sizes[0]), dtype=np.float32)
    projection = rng.standard_normal((sizes[0], sizes[-1]), dtype=np.float32)
    y = np.argmax(X @ projection, axis=1).astype(np.int64)
    return Problem(X=X, y=y, sizes=[int(s) for s in sizes], seed=seed)


def layer_shapes(sizes: Sequence[int]) -> list[tuple[int, int]]:
    """``[(in, out), ...]`` of the dense layers."""
    return list(itertools.pairwise(sizes))


def batch_sizes_of_epoch(samples: int, batch: int) -> list[int]:
    """Rows in each batch of one epoch: full batches, then the remainder."""
    full, rest = divmod(samples, batch)
    return [batch] * full + ([rest] if rest else [])


def matmul_flops(samples: int, sizes: Sequence[int], *, training: bool = True) -> int:
    """Floating-point operations of the matrix products of one epoch (``2·N·in·out`` each).

    Training: forward + weight gradients for every layer, input gradients for all but the
    first; inference: forward only.
    """
    per_row = [n_in * n_out for n_in, n_out in layer_shapes(sizes)]
    if not training:
        return 2 * samples * sum(per_row)
    return 2 * samples * (3 * sum(per_row) - per_row[0])


def matmuls_per_epoch(samples: int, batch: int, sizes: Sequence[int]) -> int:
    """How many matrix products one training epoch calls (``3L - 1`` per step)."""
    return len(batch_sizes_of_epoch(samples, batch)) * (3 * (len(sizes) - 1) - 1)


# -- the floor: the matrix products alone, on preallocated arrays -----------------------------
def _floor_ops(problem: Problem):
    """(operations, X): NumPy and the host data, or the backend and its device copy."""
    if problem.device is None:
        from .backends import NumpyOps

        return NumpyOps(), problem.X
    return problem.device.backend, problem.device.X


def floor_epoch(problem: Problem, batch: int) -> float:
    """Seconds of the 8 (generally 3L − 1) products of every step of one epoch, nothing else.

    All operands and outputs are preallocated, so this is what the BLAS alone needs.  Batches
    are contiguous row slices (no gather, no shuffle).  On another backend the same products
    run with its ``matmul(..., out=)`` on its device, synchronised at both ends.
    """
    ops, X = _floor_ops(problem)
    sizes = problem.sizes
    rng = np.random.default_rng(1)
    weights = [ops.asarray(rng.standard_normal((n_out, n_in), dtype=np.float32) * 0.05)
               for n_in, n_out in layer_shapes(sizes)]
    plans = {}
    for n in set(batch_sizes_of_epoch(X.shape[0], batch)):
        acts = [ops.empty((n, width)) for width in sizes[1:]]                 # Z⁽ˡ⁾ buffers
        deltas = [ops.asarray(rng.standard_normal((n, width), dtype=np.float32))
                  for width in sizes[1:]]
        grad_w = [ops.empty(tuple(w.shape)) for w in weights]
        grad_in = [ops.empty((n, width)) for width in sizes[1:-1]]
        plans[n] = (acts, deltas, grad_w, grad_in)
    matmul = ops.matmul
    ops.synchronize()
    start = time.perf_counter()
    row = 0
    for n in batch_sizes_of_epoch(X.shape[0], batch):
        acts, deltas, grad_w, grad_in = plans[n]
        a_prev = X[row:row + n]
        row += n
        inputs = [a_prev, *acts[:-1]]
        for a, w, z in zip(inputs, weights, acts):
            matmul(a, w.T, out=z)                         # Z = A Wᵀ        (N, in) @ (in, out)
        for l in range(len(weights) - 1, -1, -1):  # noqa: E741 - the layer index
            matmul(deltas[l].T, inputs[l], out=grad_w[l])  # ∂L/∂W = Δᵀ A_prev (out, in)
            if l > 0:
                matmul(deltas[l], weights[l], out=grad_in[l - 1])  # ∂L/∂A_prev = Δ W
    ops.synchronize()
    return time.perf_counter() - start


def floor_inference(problem: Problem, chunk: int | None = None) -> float:
    """Seconds of the forward products over every row, in chunks, into preallocated outputs
    (by default the chunks ``predict`` uses: 1024 rows on NumPy, the fastest of 512–8192 rows
    here with either OpenBLAS kernel; 65536 on other backends)."""
    ops, X = _floor_ops(problem)
    if chunk is None:
        from deltaprop.training.evaluation import DEVICE_PREDICT_CHUNK, PREDICT_CHUNK

        chunk = PREDICT_CHUNK if problem.device is None else DEVICE_PREDICT_CHUNK
    sizes = problem.sizes
    rng = np.random.default_rng(1)
    weights = [ops.asarray(rng.standard_normal((n_out, n_in), dtype=np.float32) * 0.05)
               for n_in, n_out in layer_shapes(sizes)]
    outs = {n: [ops.empty((n, width)) for width in sizes[1:]]
            for n in set(batch_sizes_of_epoch(X.shape[0], chunk))}
    matmul = ops.matmul
    ops.synchronize()
    start = time.perf_counter()
    for begin in range(0, X.shape[0], chunk):
        a = X[begin:begin + chunk]
        for w, z in zip(weights, outs[a.shape[0]]):
            matmul(a, w.T, out=z)
            a = z
    ops.synchronize()
    return time.perf_counter() - start


# -- deltaprop ------------------------------------------------------------------------------
def deltaprop_model(problem: Problem):
    from deltaprop import mlp

    return mlp(problem.sizes, activation="relu", seed=problem.seed)


def _deltaprop_setup(problem: Problem):
    """The model (moved to the backend's device if any), the data it trains on, and the
    device's synchronise function."""
    model = deltaprop_model(problem)
    if problem.device is None:
        return model, problem.X, problem.y, _no_wait
    data = problem.device
    return model.to(data.X), data.X, data.y, data.backend.synchronize


def _no_wait() -> None:
    pass


def deltaprop_epochs(problem: Problem, batch: int, epochs: int) -> list[float]:
    """Seconds of each epoch of ``deltaprop.fit`` (timed by a callback, so ``fit``'s one-off
    input checks are left out; the shuffle, gathers, steps and loss checks are in)."""
    from deltaprop import SGD, Callback, fit

    model, X, y, synchronize = _deltaprop_setup(problem)

    class EpochTimer(Callback):
        def on_train_begin(self, logs):
            self.seconds = []

        def on_epoch_begin(self, epoch):
            synchronize()                                 # a GPU's queue is empty: start
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs):
            synchronize()
            self.seconds.append(time.perf_counter() - self.start)

    timer = EpochTimer()
    fit(model, X, y, loss="cross_entropy",
        optimizer=SGD(model, lr=problem.lr, momentum=problem.momentum), epochs=epochs,
        batch_size=batch, seed=problem.seed, metric=None, callbacks=[timer])
    return timer.seconds


def deltaprop_inference(problem: Problem) -> float:
    from deltaprop import predict

    model, X, _, synchronize = _deltaprop_setup(problem)
    synchronize()
    start = time.perf_counter()
    predict(model, X)
    synchronize()
    return time.perf_counter() - start


# -- PyTorch eager ------------------------------------------------------------------------------
def torch_model(problem: Problem):
    """``nn.Sequential`` with deltaprop's initial weights (same keys: ``"0.weight"``, ...)."""
    import torch
    from torch import nn

    modules = []
    for i, (n_in, n_out) in enumerate(layer_shapes(problem.sizes)):
        modules.append(nn.Linear(n_in, n_out))
        if i < len(problem.sizes) - 2:
            modules.append(nn.ReLU())
    model = nn.Sequential(*modules)
    state = deltaprop_model(problem).state_dict()
    model.load_state_dict({key: torch.from_numpy(value) for key, value in state.items()})
    return model


def _torch_setup(problem: Problem):
    """The device, data and synchronise function of the PyTorch peer: the CPU and the host
    data, or the backend's device (the same one deltaprop runs on)."""
    import torch

    data = problem.device
    if data is None or data.torch_device in (None, "cpu"):
        return "cpu", torch.from_numpy(problem.X), torch.from_numpy(problem.y), _no_wait
    return data.torch_device, data.torch_x, data.torch_y, torch.cuda.synchronize


def torch_epochs(problem: Problem, batch: int, epochs: int) -> list[float]:
    """Seconds of each epoch of the usual eager loop (shuffled, sorted batch rows as deltaprop,
    ``loss.item()`` read every step as deltaprop reads its loss); on a GPU the permutation is
    drawn there and the device is synchronised at both ends of the epoch."""
    import torch
    from torch.nn import functional

    device, X, y, synchronize = _torch_setup(problem)
    model = torch_model(problem).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=problem.lr, momentum=problem.momentum)
    generator = torch.Generator(device=device).manual_seed(problem.seed)
    n = X.shape[0]
    seconds = []
    for _ in range(epochs):
        synchronize()
        start = time.perf_counter()
        order = torch.randperm(n, generator=generator, device=device)
        total = 0.0
        for begin in range(0, n, batch):
            rows = order[begin:begin + batch].sort().values
            loss = functional.cross_entropy(model(X[rows]), y[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item()
        synchronize()
        seconds.append(time.perf_counter() - start)
    return seconds


def torch_inference(problem: Problem) -> float:
    import torch

    device, X, _, synchronize = _torch_setup(problem)
    model = torch_model(problem).to(device).eval()
    synchronize()
    start = time.perf_counter()
    with torch.no_grad():
        model(X)
    synchronize()
    return time.perf_counter() - start


# -- scikit-learn -------------------------------------------------------------------------------
def sklearn_epochs(problem: Problem, batch: int, epochs: int) -> list[float]:
    """Seconds of ``MLPClassifier.fit`` with ``max_iter=1`` per epoch (its input validation
    included: there is no hook inside it), float32 input, plain momentum, no L2 penalty."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    seconds = []
    for _ in range(epochs):
        model = MLPClassifier(hidden_layer_sizes=tuple(problem.sizes[1:-1]), activation="relu",
                              solver="sgd", learning_rate_init=problem.lr,
                              momentum=problem.momentum, nesterovs_momentum=False, alpha=0.0,
                              batch_size=batch, max_iter=1, shuffle=True,
                              random_state=problem.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(problem.X, problem.y)
            seconds.append(time.perf_counter() - start)
    return seconds


def _extra_peer(name: str):
    """A runner of ``peers_extra`` (imported when it runs: it imports this module)."""
    def run(problem: Problem, batch: int, epochs: int) -> list[float]:
        from . import peers_extra

        return getattr(peers_extra, name)(problem, batch, epochs)
    return run


TRAINERS = {"deltaprop": deltaprop_epochs, "torch": torch_epochs, "sklearn": sklearn_epochs,
            "deltaprop-ref": _extra_peer("deltaprop_reference_epochs"),
            "jax": _extra_peer("jax_epochs"), "jax-scan": _extra_peer("jax_scan_epochs")}
PREDICTORS = {"deltaprop": deltaprop_inference, "torch": torch_inference}
NUMPY_PEERS = ("deltaprop", "deltaprop-ref", "sklearn")   # tracemalloc sees NumPy's only
PEER_MODULES = {"deltaprop": "numpy", "deltaprop-ref": "numpy", "torch": "torch",
                "sklearn": "sklearn", "jax": "jax", "jax-scan": "jax"}


def available_peers(wanted: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The wanted peers that can run here, and why the others cannot."""
    import importlib.util

    peers, missing = [], {}
    for name in wanted:
        if importlib.util.find_spec(PEER_MODULES[name]) is None:
            missing[name] = f"{PEER_MODULES[name]} is not installed: skipped"
        else:
            peers.append(name)
    return peers, missing


def median(values: Sequence[float]) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64))) if values else math.nan
