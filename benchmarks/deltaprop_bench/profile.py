r"""Where deltaprop's time per training step goes (``deltaprop bench --profile``, NumPy only).

For each batch size, epochs (after an untimed warm-up epoch) of three loops over the same
data, interleaved, each step cut into phases with ``time.perf_counter`` and reported in µs per step:

- ``engine``: the calls ``fit`` makes, in its order (``training.py``): the sorted rows of a
  shuffled order, ``_take`` into a reused buffer (X) and of the labels (gather); then
  ``train_step`` with ``fit``'s stand-ins (``_step_hooks``), each wrapped in a stopwatch:
  ``model.forward`` (forward); ``loss(output, y)`` and ``float(value)`` with its finiteness
  check (loss); ``model.backward(grad, input_grad=False)`` (backward); ``optimizer.step()``
  (step; the plain step, without ``fit``'s guard);
- ``hand``: the same network and update written out in plain NumPy as tightly as it goes
  (flat parameter/gradient/velocity buffers, one whole-array momentum update, preallocated
  activations): the reference for "is the engine at NumPy's limit?";
- ``products``: the floor's :math:`3L - 1` matrix products of the same steps on preallocated
  arrays, split into the forward products :math:`Z = A W^\top` and the backward ones
  (:math:`\Delta^\top A`, :math:`\Delta W`).

``total`` is the epoch's wall time over its steps (so it also holds the permutation and the
timer calls); ``fit_total`` is the median epoch of ``deltaprop.fit`` itself over its steps.  The
engine's forward minus the forward products is the element-wise and Python work of the
forward pass, and likewise for the backward pass.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import runners

PHASES = ("gather", "forward", "loss", "backward", "step")


def run_profile(problem: runners.Problem, batch_sizes: list[int],
                reps: int = 1) -> list[dict[str, Any]]:
    """One profile row per batch size (see the module docstring).

    Each loop first runs one untimed warm-up epoch; then ``reps`` rounds time one epoch of
    each loop, interleaved (the order rotates every round), plus one ``fit`` epoch.  Of each
    loop the epoch with the median total is reported, all its phases from that same epoch.
    """
    rows = []
    for batch in batch_sizes:
        batch = min(batch, problem.X.shape[0])
        steps = len(runners.batch_sizes_of_epoch(problem.X.shape[0], batch))
        loops = {"engine": engine_epochs(problem, batch),
                 "engine_reference": reference_epochs(problem, batch),
                 "hand": hand_epochs(problem, batch),
                 "products": products_epochs(problem, batch)}
        for loop in loops.values():
            next(loop)                                   # warm-up epoch, not reported
        runs: dict[str, list] = {name: [] for name in [*loops, "fit"]}
        order = list(runs)
        for rep in range(reps):
            for name in order[rep % len(order):] + order[:rep % len(order)]:
                if name == "fit":
                    runs[name].append(1e6 * runners.deltaprop_epochs(problem, batch, 1)[0]
                                      / steps)
                else:
                    runs[name].append(next(loops[name]))
        row: dict[str, Any] = {"batch_size": batch, "steps": steps, "reps": reps,
                               "unit": "microseconds per step",
                               "fit_total": runners.median(runs.pop("fit"))}
        for name, epochs in runs.items():
            by_total = sorted(epochs, key=lambda epoch: epoch["total"])
            row[name] = {**by_total[(len(by_total) - 1) // 2],
                         "totals": [epoch["total"] for epoch in epochs]}
            if name != "products":                       # the same training run, epoch by epoch
                row[name]["mean_losses"] = [epoch["mean_loss"] for epoch in epochs]
        rows.append(row)
    return rows


def _account(spent: dict[str, float], marks: tuple[float, ...]) -> None:
    """Add the time between consecutive ``perf_counter`` marks to the phases, in order."""
    for phase, begin, end in zip(PHASES, marks, marks[1:]):
        spent[phase] += end - begin


def _per_step(seconds: dict[str, float], steps: int) -> dict[str, float]:
    return {name: 1e6 * value / steps for name, value in seconds.items()}


def _epoch_plan(problem: runners.Problem, batch: int):
    """What both timed loops share: the data, ``fit``'s shuffling Generator, the number of
    rows and of steps, and the reused gather buffer."""
    X = problem.X
    n = X.shape[0]
    return (X, problem.y, np.random.default_rng(problem.seed), n, math.ceil(n / batch),
            np.empty((batch, X.shape[1]), X.dtype))


class _Stopwatch:
    """``train_step``'s model, loss and optimiser, each call followed by a ``perf_counter``
    mark: the marks cut the step into forward, loss, backward and step."""

    def __init__(self, model, loss, optimizer) -> None:
        from deltaprop.training._step_hooks import FiniteLoss, LoopModel

        self.marks: list[float] = []
        self.model = LoopModel(model)                    # fit's: no ∂L/∂X
        self.finite_loss = FiniteLoss(loss)              # fit's: float(value), finite

    def forward(self, X):
        output = self.model.forward(X)
        self.marks.append(time.perf_counter())
        return output

    def loss(self, output, y, *weights):
        value_grad = self.finite_loss(output, y, *weights)
        self.marks.append(time.perf_counter())
        return value_grad

    def backward(self, grad) -> None:
        self.model.backward(grad)
        self.marks.append(time.perf_counter())


def reference_epochs(problem: runners.Problem, batch: int) -> Iterator[dict[str, float]]:
    """``engine_epochs`` on deltaprop's NumPy reference path (``use_fused(False)``): no
    numba kernel, whatever is installed."""
    from deltaprop.nn.fused import use_fused

    loop = engine_epochs(problem, batch)
    while True:
        with use_fused(False):
            epoch = next(loop)
        yield epoch


def engine_epochs(problem: runners.Problem, batch: int) -> Iterator[dict[str, float]]:
    """µs per step of each phase of ``fit``'s step, built from the same engine calls
    (:func:`deltaprop.training.train_step` with a stopwatch): one epoch per ``next()`` (the
    same model trains on)."""
    from deltaprop import SGD
    from deltaprop.nn.losses import get_loss
    from deltaprop.training import step as training
    from deltaprop.training._step_hooks import NonFiniteLossError
    from deltaprop.training.loop import _take

    model = runners.deltaprop_model(problem)
    optimizer = SGD(model, lr=problem.lr, momentum=problem.momentum)
    watch = _Stopwatch(model, get_loss("cross_entropy"), optimizer)
    timed_step = _TimedStep(optimizer, watch.marks)
    X, y, rng, n, n_batches, x_buffer = _epoch_plan(problem, batch)
    while True:                                          # one epoch per next()
        spent = dict.fromkeys(PHASES, 0.0)
        loss_sum = 0.0
        start = time.perf_counter()
        for layer in model.layers:
            layer.begin_epoch()                          # as fit does (Dropout reseeds)
        order = rng.permutation(n)
        model.train()
        for b in range(n_batches):
            t0 = time.perf_counter()
            rows = np.sort(order[b * batch:(b + 1) * batch])
            xb, yb = _take(X, rows, out=x_buffer), _take(y, rows)
            watch.marks[:] = [t0, time.perf_counter()]
            try:
                value = training.train_step(watch, xb, yb, loss=watch.loss,
                                            optimizer=timed_step)
            except NonFiniteLossError as error:
                raise FloatingPointError(f"profile: loss became {error.value} at batch "
                                         f"{b + 1}") from None
            _account(spent, tuple(watch.marks))          # gather, forward, loss, backward, step
            loss_sum += value * rows.shape[0]
        spent["total"] = time.perf_counter() - start
        yield {**_per_step(spent, n_batches), "mean_loss": loss_sum / n}


class _TimedStep:
    """``optimizer.step()`` followed by a ``perf_counter`` mark."""

    def __init__(self, optimizer, marks: list[float]) -> None:
        self.optimizer, self.marks = optimizer, marks

    def step(self) -> None:
        self.optimizer.step()
        self.marks.append(time.perf_counter())


class HandNet:
    r"""The benchmark's ReLU MLP in plain NumPy, everything preallocated.

    Parameters, gradients and momentum velocities each live in ONE flat float32 buffer; the
    per-layer ``W⁽ˡ⁾ (out, in)`` and ``b⁽ˡ⁾ (out,)`` are views into it, so the optimiser step
    is three whole-array operations.  Starts from deltaprop's initial weights.
    """

    def __init__(self, problem: runners.Problem) -> None:
        shapes = runners.layer_shapes(problem.sizes)
        total = sum(n_out * n_in + n_out for n_in, n_out in shapes)
        self.params = np.empty(total, np.float32)
        self.grads = np.zeros(total, np.float32)
        self.velocity = np.zeros(total, np.float32)
        self.scratch = np.empty(total, np.float32)        # η v, before W ← W − η v
        self.weights, self.biases, self.grad_w, self.grad_b = [], [], [], []
        offset = 0
        for n_in, n_out in shapes:                        # [W⁽¹⁾ b⁽¹⁾ W⁽²⁾ b⁽²⁾ ...]
            end = offset + n_out * n_in
            self.weights.append(self.params[offset:end].reshape(n_out, n_in))
            self.grad_w.append(self.grads[offset:end].reshape(n_out, n_in))
            offset, end = end, end + n_out
            self.biases.append(self.params[offset:end])
            self.grad_b.append(self.grads[offset:end])
            offset = end
        state = runners.deltaprop_model(problem).state_dict()
        dense_keys = sorted({key.split(".")[0] for key in state}, key=int)
        for key, weight, bias in zip(dense_keys, self.weights, self.biases):
            weight[...] = state[f"{key}.weight"]
            bias[...] = state[f"{key}.bias"]
        self.sizes, self.lr, self.momentum = problem.sizes, problem.lr, problem.momentum
        self.plans: dict[int, dict[str, list[np.ndarray]]] = {}

    def plan(self, n: int) -> dict[str, list[np.ndarray]]:
        """Activation, mask and delta buffers for an ``n``-row batch (made once per size)."""
        if n not in self.plans:
            widths = self.sizes[1:]
            self.plans[n] = {"acts": [np.empty((n, w), np.float32) for w in widths],
                             "masks": [np.empty((n, w), np.float32) for w in widths[:-1]],
                             "zeros": [np.zeros((n, w), np.float32) for w in widths[:-1]],
                             "deltas": [np.empty((n, w), np.float32) for w in widths[:-1]],
                             "rows": [np.arange(n)],
                             "row_max": [np.empty((n, 1), np.float32)],
                             "row_sum": [np.empty((n, 1), np.float32)]}
        return self.plans[n]

    def forward(self, x: np.ndarray) -> np.ndarray:
        buf = self.plan(x.shape[0])
        a = x
        last = len(self.weights) - 1
        for l, (w, b, z) in enumerate(zip(self.weights, self.biases, buf["acts"])):  # noqa: E741
            np.matmul(a, w.T, out=z)                       # Z = A Wᵀ    (N, in) @ (in, out)
            z += b                                         #   + b
            if l < last:
                np.maximum(z, buf["zeros"][l], out=z)      # A = max(Z, 0), in place
            a = z
        return a

    def loss(self, logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        r"""Mean softmax cross-entropy and :math:`\Delta^{(L)} = (P - Y)/N`, in ``logits``'
        own buffer (it is not needed afterwards)."""
        buf = self.plan(logits.shape[0])
        n = logits.shape[0]
        rows = buf["rows"][0]                              # 0, 1, ..., N − 1
        row_max, row_sum = buf["row_max"][0], buf["row_sum"][0]
        np.max(logits, axis=1, keepdims=True, out=row_max)
        logits -= row_max                                  # z − max z (stable)
        correct = logits[rows, y]                          # z_y − max z, (N,)
        np.exp(logits, out=logits)
        np.sum(logits, axis=1, keepdims=True, out=row_sum)
        value = float(np.mean(np.log(row_sum[:, 0]) - correct))   # −log p_y = log Σe − (z_y)
        row_sum *= n
        logits /= row_sum                                  # P / N = e^z / (N Σ e^z)
        logits[rows, y] -= 1.0 / n                         # (P − Y) / N
        return value, logits

    def backward(self, x: np.ndarray, delta: np.ndarray) -> None:
        buf = self.plan(x.shape[0])
        inputs = [x, *buf["acts"][:-1]]
        for l in range(len(self.weights) - 1, -1, -1):  # noqa: E741 - the layer index
            np.matmul(delta.T, inputs[l], out=self.grad_w[l])  # ∂L/∂W = Δᵀ A_prev (out, in)
            np.sum(delta, axis=0, out=self.grad_b[l])           # ∂L/∂b = Σ_rows Δ
            if l > 0:
                below = buf["deltas"][l - 1]
                np.matmul(delta, self.weights[l], out=below)    # ∂L/∂A_prev = Δ W
                np.greater(inputs[l], 0, out=buf["masks"][l - 1])   # ReLU′ as a 0/1 float
                below *= buf["masks"][l - 1]
                delta = below

    def step(self) -> None:
        """v ← μ v + g;  W ← W − η v: three passes over the flat buffers."""
        self.velocity *= self.momentum
        self.velocity += self.grads
        np.multiply(self.velocity, self.lr, out=self.scratch)
        self.params -= self.scratch


def hand_epochs(problem: runners.Problem, batch: int) -> Iterator[dict[str, float]]:
    """µs per step of each phase of the hand-written NumPy loop (same rows as ``fit``), one
    epoch per ``next()``."""
    from deltaprop.training.loop import _take

    net = HandNet(problem)
    X, y, rng, n, n_batches, x_buffer = _epoch_plan(problem, batch)
    while True:                                          # one epoch per next()
        spent = dict.fromkeys(PHASES, 0.0)
        loss_sum = 0.0
        start = time.perf_counter()
        order = rng.permutation(n)
        for b in range(n_batches):
            t0 = time.perf_counter()
            rows = np.sort(order[b * batch:(b + 1) * batch])
            xb, yb = _take(X, rows, out=x_buffer), _take(y, rows)   # the same gather as fit
            t1 = time.perf_counter()
            logits = net.forward(xb)
            t2 = time.perf_counter()
            value, delta = net.loss(logits, yb)
            t3 = time.perf_counter()
            net.backward(xb, delta)
            t4 = time.perf_counter()
            net.step()
            t5 = time.perf_counter()
            _account(spent, (t0, t1, t2, t3, t4, t5))
            loss_sum += value * rows.shape[0]
        spent["total"] = time.perf_counter() - start
        yield {**_per_step(spent, n_batches), "mean_loss": loss_sum / n}


def products_epochs(problem: runners.Problem, batch: int) -> Iterator[dict[str, float]]:
    """µs per step of the floor's forward products and backward products (preallocated,
    contiguous batches), one epoch per ``next()``."""
    X, sizes = problem.X, problem.sizes
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal((n_out, n_in), dtype=np.float32) * 0.05
               for n_in, n_out in runners.layer_shapes(sizes)]
    plans = {}
    for n in set(runners.batch_sizes_of_epoch(X.shape[0], batch)):
        plans[n] = ([np.empty((n, width), np.float32) for width in sizes[1:]],
                    [rng.standard_normal((n, width), dtype=np.float32) for width in sizes[1:]],
                    [np.empty_like(w) for w in weights],
                    [np.empty((n, width), np.float32) for width in sizes[1:-1]])
    batches = runners.batch_sizes_of_epoch(X.shape[0], batch)
    while True:                                          # one epoch per next()
        spent = {"forward": 0.0, "backward": 0.0}
        start = time.perf_counter()
        row = 0
        for n in batches:
            acts, deltas, grad_w, grad_in = plans[n]
            inputs = [X[row:row + n], *acts[:-1]]
            row += n
            t0 = time.perf_counter()
            for a, w, z in zip(inputs, weights, acts):
                np.matmul(a, w.T, out=z)                          # Z = A Wᵀ
            t1 = time.perf_counter()
            for l in range(len(weights) - 1, -1, -1):  # noqa: E741 - the layer index
                np.matmul(deltas[l].T, inputs[l], out=grad_w[l])  # ∂L/∂W = Δᵀ A_prev
                if l > 0:
                    np.matmul(deltas[l], weights[l], out=grad_in[l - 1])  # ∂L/∂A_prev = Δ W
            t2 = time.perf_counter()
            spent["forward"] += t1 - t0
            spent["backward"] += t2 - t1
        spent["total"] = time.perf_counter() - start
        yield _per_step(spent, len(batches))


def profile_markdown(rows: list[dict[str, Any]]) -> list[str]:
    """The profile as a Markdown table: µs per step by phase, for each batch size."""
    reps = rows[0].get("reps", 1) if rows else 1
    lines = [f"Where a training step's time goes (µs per step; of {reps} interleaved epochs "
             "after a warm-up, the one with the median total; `total` = the epoch's wall "
             "time / steps):", "",
             "| batch | loop | gather | forward | loss | backward | optimiser step | total |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]

    def cells(entry: dict[str, float], names=(*PHASES, "total")) -> str:
        return " | ".join("–" if name not in entry else f"{entry[name]:,.1f}" for name in names)

    for row in rows:
        engine, hand, products = row["engine"], row["hand"], row["products"]
        overhead = {name: engine[name] - products[name] for name in ("forward", "backward",
                                                                     "total")}
        for label, entry in (("deltaprop (fit's engine calls)", engine),
                             ("deltaprop, NumPy reference path", row.get("engine_reference",
                                                                         {})),
                             ("hand-written NumPy loop", hand),
                             ("matrix products only", products),
                             ("deltaprop − products", overhead),
                             ("deltaprop.fit, whole epoch", {"total": row["fit_total"]})):
            lines.append(f"| {row['batch_size']} | {label} | {cells(entry)} |")
    lines += [""] + [f"- batch {row['batch_size']}: deltaprop's step = "
                     f"{row['engine']['total'] / row['products']['total']:.2f} × the products "
                     f"alone, {row['engine']['total'] / row['hand']['total']:.2f} × the "
                     f"hand-written NumPy loop"
                     + (f", {row['engine']['total'] / row['engine_reference']['total']:.2f} × "
                        f"its NumPy reference path" if "engine_reference" in row else "")
                     for row in rows]
    lines += ["", "deltaprop − products: forward = activations, bias and Python work of the "
              "forward pass; backward = ReLU′, bias sums and Python work of the backward pass "
              "(the products' columns hold Z = A Wᵀ in forward and Δᵀ A, Δ W in backward).", ""]
    return lines
