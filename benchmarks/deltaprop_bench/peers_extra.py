r"""More peers: deltaprop's NumPy reference path, and JAX (CPU) jitted two ways.

- ``deltaprop-ref``: ``deltaprop.fit`` exactly as the ``deltaprop`` peer, under
  ``use_fused(False)``: the readable NumPy path, no numba kernel (fused versus reference);
- ``jax``: one ``jax.jit`` training step (forward, ``jax.grad``, SGD momentum) called from a
  Python loop over the batches, ``float(loss)`` read every step as deltaprop reads its loss;
- ``jax-scan``: the whole epoch's full batches under one ``jax.jit`` of ``lax.scan`` over the
  step (rows gathered inside), then the last, smaller batch by the jitted step.

Both JAX peers start from deltaprop's initial weights, see the same shuffled-then-sorted rows
per batch (the permutation drawn on the host), and follow torch.optim.SGD's momentum rule
(``v = g`` at the first step, then ``v = μ v + g``; ``W ← W − η v``): :func:`check_jax` runs
a few steps of each against ``deltaprop.train_step`` and reports the largest loss difference.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from .runners import Problem, deltaprop_epochs, deltaprop_model


def deltaprop_reference_epochs(problem: Problem, batch: int, epochs: int) -> list[float]:
    """``deltaprop.fit`` on the NumPy reference path (no fused kernel)."""
    from deltaprop.nn.fused import use_fused

    with use_fused(False):
        return deltaprop_epochs(problem, batch, epochs)


def _jax_parts(problem: Problem):
    """(params, velocity, step, scan_epoch) with deltaprop's initial weights."""
    import jax
    import jax.numpy as jnp

    state = deltaprop_model(problem).state_dict()
    n_layers = len(problem.sizes) - 1
    params = [(jnp.asarray(state[f"{2 * i}.weight"]), jnp.asarray(state[f"{2 * i}.bias"]))
              for i in range(n_layers)]
    velocity = jax.tree_util.tree_map(jnp.zeros_like, params)
    step, scan_epoch = _jax_functions(n_layers, problem.lr, problem.momentum)
    return params, velocity, step, scan_epoch


@functools.lru_cache(maxsize=8)
def _jax_functions(n_layers: int, lr: float, momentum: float):
    """The jitted step and epoch (kept: JAX compiles each once per argument shape)."""
    import jax
    import jax.numpy as jnp

    def loss_fn(params, x, y):
        a = x
        for i, (w, b) in enumerate(params):
            a = a @ w.T + b                                   # Z = A Wᵀ + b
            if i < n_layers - 1:
                a = jax.nn.relu(a)
        log_p = jax.nn.log_softmax(a, axis=1)
        return -jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=1))

    def update(params, velocity, first, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        velocity = jax.tree_util.tree_map(
            lambda v, g: jnp.where(first, g, momentum * v + g), velocity, grads)
        params = jax.tree_util.tree_map(lambda p, v: p - lr * v, params, velocity)
        return params, velocity, loss

    step = jax.jit(update, donate_argnums=(0, 1))

    @jax.jit
    def scan_epoch(params, velocity, first, X, y, rows):
        def body(carry, batch_rows):
            params, velocity, first = carry
            params, velocity, loss = update(params, velocity, first, X[batch_rows],
                                            y[batch_rows])
            return (params, velocity, jnp.asarray(False)), loss
        (params, velocity, first), losses = jax.lax.scan(body, (params, velocity, first),
                                                         rows)
        return params, velocity, first, losses

    return step, scan_epoch


def _epoch_rows(rng: np.random.Generator, n: int, batch: int) -> list[np.ndarray]:
    order = rng.permutation(n)
    return [np.sort(order[begin:begin + batch]) for begin in range(0, n, batch)]


def jax_epochs(problem: Problem, batch: int, epochs: int, *, scan: bool = False) -> list[float]:
    """Seconds of each epoch: the jitted step in a Python loop, or (``scan``) the epoch's
    full batches under ``lax.scan`` plus the last batch by the step.  Every shape is compiled
    before the first epoch (ahead of time, untimed), so no epoch includes compile time."""
    import jax
    import jax.numpy as jnp

    params, velocity, step, scan_epoch = _jax_parts(problem)
    X, y = jnp.asarray(problem.X), jnp.asarray(problem.y.astype(np.int32))
    rng = np.random.default_rng(problem.seed)
    first = jnp.asarray(True)
    n = X.shape[0]
    full = n // batch if scan else 0
    steps = {rows: step.lower(params, velocity, first, X[:rows], y[:rows]).compile()
             for rows in {batch, n % batch} - {0}}
    if full:
        scan_epoch = scan_epoch.lower(params, velocity, first, X, y,
                                      jnp.zeros((full, batch), jnp.int32)).compile()
    for rows, compiled in steps.items():                 # the eager gathers compile too
        index = jnp.zeros(rows, jnp.int32)
        copies = jax.tree_util.tree_map(jnp.copy, (params, velocity))
        float(compiled(*copies, jnp.asarray(False), X[index], y[index])[2])
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        batches = _epoch_rows(rng, n, batch)
        if full:
            rows = jnp.asarray(np.stack(batches[:full]).astype(np.int32))
            params, velocity, first, losses = scan_epoch(params, velocity, first, X, y, rows)
            losses.block_until_ready()
        for rows in batches[full:]:
            index = jnp.asarray(rows.astype(np.int32))
            params, velocity, loss = steps[rows.shape[0]](params, velocity, first, X[index],
                                                          y[index])
            first = jnp.asarray(False)
            float(loss)
        jax.block_until_ready(params)
        seconds.append(time.perf_counter() - start)
    return seconds


def jax_scan_epochs(problem: Problem, batch: int, epochs: int) -> list[float]:
    return jax_epochs(problem, batch, epochs, scan=True)


def check_jax(problem: Problem, batch: int, steps: int = 5) -> dict[str, float]:
    """The largest difference between deltaprop's and each JAX peer's loss over ``steps``
    steps on the same batches (no shuffle: rows in order), from the same weights."""
    import jax.numpy as jnp

    import deltaprop as dp

    batch = min(batch, problem.X.shape[0])
    steps = max(1, min(steps, problem.X.shape[0] // batch))
    X, y = problem.X[:batch * steps], problem.y[:batch * steps]
    model = deltaprop_model(problem)
    optimizer = dp.SGD(model, problem.lr, momentum=problem.momentum)
    reference = [dp.train_step(model, X[k * batch:(k + 1) * batch], y[k * batch:(k + 1) * batch],
                               loss="cross_entropy", optimizer=optimizer) for k in range(steps)]
    params, velocity, step, scan_epoch = _jax_parts(problem)
    first, looped = jnp.asarray(True), []
    for k in range(steps):
        rows = slice(k * batch, (k + 1) * batch)
        params, velocity, loss = step(params, velocity, first, jnp.asarray(X[rows]),
                                      jnp.asarray(y[rows].astype(np.int32)))
        first = jnp.asarray(False)
        looped.append(float(loss))
    params, velocity, step, scan_epoch = _jax_parts(problem)
    rows = np.arange(batch * steps).reshape(steps, batch)
    scanned = scan_epoch(params, velocity, jnp.asarray(True), jnp.asarray(X),
                         jnp.asarray(y.astype(np.int32)), jnp.asarray(rows))[3]
    return {"steps": steps, "deltaprop_losses": reference,
            "jax_max_abs_difference": float(np.max(np.abs(np.subtract(looped, reference)))),
            "jax_scan_max_abs_difference": float(np.max(np.abs(np.asarray(scanned)
                                                               - reference)))}
