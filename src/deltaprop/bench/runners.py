r"""One epoch of the same training run, timed with each peer, plus the matrix-product floor.

Every runner trains the same network (``sizes``, ReLU hidden layers, softmax cross-entropy,
SGD with momentum) on the same synthetic data for ``epochs`` epochs and returns the seconds
of each epoch.  The work of one step is 8 matrix products for a 3-layer network (forward
:math:`Z = A W^\top`, weight gradients :math:`\Delta^\top A_{prev}`, input gradients
:math:`\Delta W` for every layer but the first); ``matmul_flops`` counts them as
:math:`2 \cdot N \cdot \text{in} \cdot \text{out}` each.

The peers are imported lazily: PyTorch and scikit-learn are optional.
"""

from __future__ import annotations

import itertools
import math
import time
import tracemalloc
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

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
def floor_epoch(problem: Problem, batch: int) -> float:
    """Seconds of the 8 (generally 3L − 1) products of every step of one epoch, nothing else.

    All operands and outputs are preallocated, so this is what the BLAS alone needs.  Batches
    are contiguous row slices (no gather, no shuffle).
    """
    X, sizes = problem.X, problem.sizes
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal((n_out, n_in), dtype=np.float32) * 0.05
               for n_in, n_out in layer_shapes(sizes)]
    plans = {}
    for n in set(batch_sizes_of_epoch(X.shape[0], batch)):
        acts = [np.empty((n, width), np.float32) for width in sizes[1:]]       # Z⁽ˡ⁾ buffers
        deltas = [rng.standard_normal((n, width), dtype=np.float32) for width in sizes[1:]]
        grad_w = [np.empty_like(w) for w in weights]
        grad_in = [np.empty((n, width), np.float32) for width in sizes[1:-1]]
        plans[n] = (acts, deltas, grad_w, grad_in)
    start = time.perf_counter()
    row = 0
    for n in batch_sizes_of_epoch(X.shape[0], batch):
        acts, deltas, grad_w, grad_in = plans[n]
        a_prev = X[row:row + n]
        row += n
        inputs = [a_prev, *acts[:-1]]
        for a, w, z in zip(inputs, weights, acts):
            np.matmul(a, w.T, out=z)                      # Z = A Wᵀ        (N, in) @ (in, out)
        for l in range(len(weights) - 1, -1, -1):  # noqa: E741 - the layer index
            np.matmul(deltas[l].T, inputs[l], out=grad_w[l])  # ∂L/∂W = Δᵀ A_prev (out, in)
            if l > 0:
                np.matmul(deltas[l], weights[l], out=grad_in[l - 1])  # ∂L/∂A_prev = Δ W
    return time.perf_counter() - start


def floor_inference(problem: Problem, chunk: int = 4096) -> float:
    """Seconds of the forward products over every row, in chunks, into preallocated outputs."""
    X, sizes = problem.X, problem.sizes
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal((n_out, n_in), dtype=np.float32) * 0.05
               for n_in, n_out in layer_shapes(sizes)]
    outs = {n: [np.empty((n, width), np.float32) for width in sizes[1:]]
            for n in set(batch_sizes_of_epoch(X.shape[0], chunk))}
    start = time.perf_counter()
    for begin in range(0, X.shape[0], chunk):
        a = X[begin:begin + chunk]
        for w, z in zip(weights, outs[a.shape[0]]):
            np.matmul(a, w.T, out=z)
            a = z
    return time.perf_counter() - start


# -- deltaprop ------------------------------------------------------------------------------
def deltaprop_model(problem: Problem):
    from .. import mlp

    return mlp(problem.sizes, activation="relu", seed=problem.seed)


def deltaprop_epochs(problem: Problem, batch: int, epochs: int) -> list[float]:
    """Seconds of each epoch of ``deltaprop.fit`` (timed by a callback, so ``fit``'s one-off
    input checks are left out; the shuffle, gathers, steps and loss checks are in)."""
    from .. import SGD, Callback, fit

    class EpochTimer(Callback):
        def on_train_begin(self, logs):
            self.seconds = []

        def on_epoch_begin(self, epoch):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs):
            self.seconds.append(time.perf_counter() - self.start)

    model = deltaprop_model(problem)
    timer = EpochTimer()
    fit(model, problem.X, problem.y, loss="cross_entropy",
        optimizer=SGD(model, lr=problem.lr, momentum=problem.momentum), epochs=epochs,
        batch_size=batch, seed=problem.seed, metric=None, callbacks=[timer])
    return timer.seconds


def deltaprop_inference(problem: Problem) -> float:
    from .. import predict

    model = deltaprop_model(problem)
    start = time.perf_counter()
    predict(model, problem.X)
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


def torch_epochs(problem: Problem, batch: int, epochs: int) -> list[float]:
    """Seconds of each epoch of the usual eager loop (shuffled, sorted batch rows as deltaprop,
    ``loss.item()`` read every step as deltaprop reads its loss)."""
    import torch
    from torch.nn import functional

    model = torch_model(problem)
    optimizer = torch.optim.SGD(model.parameters(), lr=problem.lr, momentum=problem.momentum)
    X, y = torch.from_numpy(problem.X), torch.from_numpy(problem.y)
    generator = torch.Generator().manual_seed(problem.seed)
    n = X.shape[0]
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for begin in range(0, n, batch):
            rows = order[begin:begin + batch].sort().values
            loss = functional.cross_entropy(model(X[rows]), y[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item()
        seconds.append(time.perf_counter() - start)
    return seconds


def torch_inference(problem: Problem) -> float:
    import torch

    model = torch_model(problem).eval()
    X = torch.from_numpy(problem.X)
    start = time.perf_counter()
    with torch.no_grad():
        model(X)
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


def memmap_epoch(problem: Problem, batch: int, folder: str) -> dict:
    """One deltaprop epoch read from an ``np.memmap`` of the data: tracemalloc's peak of the
    NumPy allocations against the size of the data (which is never loaded whole)."""
    import os

    path = os.path.join(folder, "X.npy")
    X = np.lib.format.open_memmap(path, mode="w+", dtype=problem.X.dtype, shape=problem.X.shape)
    X[:] = problem.X
    X.flush()
    del X
    mapped = np.load(path, mmap_mode="r")
    on_disk = Problem(X=mapped, y=problem.y, sizes=problem.sizes, seed=problem.seed)
    peak = traced_peak(deltaprop_epochs, on_disk, batch, 1)
    del mapped, on_disk
    return {"batch_size": batch, "data_bytes": int(problem.X.nbytes), "peak_bytes": peak,
            "method": "tracemalloc peak of NumPy allocations during fit (one epoch) from an "
                      "np.memmap'd .npy file"}


_RSS_CHILD = """
import json, resource, sys
from deltaprop.bench import runners

def peak_kib():
    # VmHWM: the peak RSS of this process image (ru_maxrss would carry the parent's peak,
    # which Linux keeps across fork + exec)
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]), "VmHWM"
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss"

name, samples, batch, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sizes = [int(s) for s in sys.argv[5].split(",")]
problem = runners.make_problem(samples, sizes, seed=seed)
if name == "torch":
    import torch  # noqa: F401 - its libraries count in the baseline, not in the epoch
if name == "sklearn":
    import sklearn.neural_network  # noqa: F401
try:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")            # Linux: reset the peak to the current RSS
    reset = True
except OSError:
    reset = False
before, method = peak_kib()
runners.TRAINERS[name](problem, batch, 1)
after, _ = peak_kib()
print(json.dumps({"before_kib": before, "after_kib": after, "method": method, "reset": reset}))
"""


def rss_growth(name: str, problem: Problem, batch: int) -> int | None:
    """Growth of the peak resident memory over one epoch of ``name`` (bytes), in a fresh
    Python that first built the same data and imported the peer.  Linux: ``VmHWM`` from
    ``/proc/self/status``, its peak reset to the current RSS just before the epoch; elsewhere
    ``ru_maxrss`` (Unix only; ``None`` where neither exists)."""
    import json
    import subprocess
    import sys

    try:
        import resource  # noqa: F401 - Unix only
    except ImportError:
        return None
    args = [sys.executable, "-c", _RSS_CHILD, name, str(problem.X.shape[0]), str(batch),
            str(problem.seed), ",".join(map(str, problem.sizes))]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return 1024 * max(0, result["after_kib"] - result["before_kib"])


TRAINERS = {"deltaprop": deltaprop_epochs, "torch": torch_epochs, "sklearn": sklearn_epochs}
PREDICTORS = {"deltaprop": deltaprop_inference, "torch": torch_inference}
NUMPY_PEERS = ("deltaprop", "sklearn")      # tracemalloc sees NumPy's allocations only


def available_peers(wanted: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The wanted peers that can run here, and why the others cannot."""
    import importlib.util

    modules = {"deltaprop": "numpy", "torch": "torch", "sklearn": "sklearn"}
    peers, missing = [], {}
    for name in wanted:
        if importlib.util.find_spec(modules[name]) is None:
            missing[name] = f"{modules[name]} is not installed"
        else:
            peers.append(name)
    return peers, missing


def traced_peak(run, *args) -> int:
    """Peak bytes NumPy allocated (tracemalloc) while ``run(*args)`` ran, above its start."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        run(*args)
        return int(tracemalloc.get_traced_memory()[1] - base)
    finally:
        tracemalloc.stop()


def median(values: Sequence[float]) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64))) if values else math.nan
