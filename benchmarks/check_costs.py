"""What the training safeguards cost next to one training step (numbers in RESULTS.md).

    PYTHONPATH=src OPENBLAS_NUM_THREADS=1 python benchmarks/check_costs.py

Times, on the 784-256-128-10 MLP (float32) at batch 128:

- a loss call with its input checks (``loss(output, y)``) against the same computation
  unchecked (``loss.value_and_grad``), for each loss;
- one training step (forward, loss, backward, optimiser step; no guard);
- the step guard of ``fit`` (SGD and Adam step out of place: a finiteness pass over the new
  parameters before they replace the old ones);
- one epoch of ``fit`` on 10240 rows with and without the guard (SGD with momentum).

Each figure is the best of 7 repeats of a timed loop (microseconds per call).
"""

from __future__ import annotations

import statistics
import timeit

import numpy as np

import deltaprop as dp
from deltaprop.training._step_guard import StepGuard


def _best(call, number: int = 200) -> float:
    return min(timeit.repeat(call, number=number, repeat=7)) / number * 1e6


def _loss_cases(rng):
    logits = rng.normal(size=(128, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 128)
    probabilities = np.eye(10, dtype=np.float32)[labels]
    unit = dp.nn.activations.softmax(np, logits)
    return [("CrossEntropyLoss, labels", dp.CrossEntropyLoss(), logits, labels),
            ("CrossEntropyLoss, probabilities", dp.CrossEntropyLoss(), logits, probabilities),
            ("BCELoss", dp.BCELoss(), unit, probabilities),
            ("BCEWithLogitsLoss", dp.BCEWithLogitsLoss(), logits, probabilities),
            ("MSELoss", dp.MSELoss(), logits, probabilities)]


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    rows = []
    for optimizer_name in ("sgd", "adam"):
        model = dp.mlp([784, 256, 128, 10], seed=0)
        optimizer = (dp.SGD(model, lr=0.01, momentum=0.9) if optimizer_name == "sgd"
                     else dp.Adam(model, lr=1e-3))
        loss = dp.CrossEntropyLoss()

        def step(model=model, optimizer=optimizer, loss=loss):
            _, grad = loss.value_and_grad(model.forward(X), y)
            model.backward(grad, input_grad=False)
            optimizer.step()

        step()
        guard = StepGuard(model, optimizer)
        step_us = _best(step, 50)
        guard_us = _best(guard.step) - _best(optimizer.step)    # the guarded optimiser step
        rows.append((f"step guard ({optimizer_name})", guard_us, step_us))
    step_us = rows[0][2]
    for name, loss, output, target in _loss_cases(rng):
        checked = _best(lambda loss=loss, o=output, t=target: loss(o, t), 2000)
        unchecked = _best(lambda loss=loss, o=output, t=target: loss.value_and_grad(o, t), 2000)
        rows.append((f"checks of {name}", checked - unchecked, step_us))
    print(f"{'what':40s} {'cost (us)':>10s} {'step (us)':>10s} {'share':>7s}")
    for name, cost, step in rows:
        print(f"{name:40s} {cost:10.1f} {step:10.0f} {cost / step:7.2%}")
    extra, bare = _epoch_with_and_without_guard(rng)
    print(f"one epoch of fit, 10240 rows, SGD momentum: {bare:.3f} s without the guard, "
          f"{extra:+.3f} s with it ({extra / bare:+.2%})")


def _epoch_with_and_without_guard(rng) -> tuple[float, float]:
    """(epoch time with the guard − without, epoch time without), seconds, medians of 15."""
    X = rng.normal(size=(10240, 784)).astype(np.float32)
    y = rng.integers(0, 10, 10240)

    def epoch():
        model = dp.mlp([784, 256, 128, 10], seed=0)
        dp.fit(model, X, y, loss="cross_entropy", epochs=1, batch_size=128, seed=0,
               optimizer=dp.SGD(model, lr=0.01, momentum=0.9), metric=None)

    original = StepGuard.step
    guarded, bare = [], []
    for _ in range(15):                    # interleaved, so that load from elsewhere hits both
        guarded.append(timeit.timeit(epoch, number=1))
        StepGuard.step = lambda self: self.optimizer.step()          # unguarded: returns None
        try:
            bare.append(timeit.timeit(epoch, number=1))
        finally:
            StepGuard.step = original
    guarded, bare = statistics.median(guarded), statistics.median(bare)
    return guarded - bare, bare


if __name__ == "__main__":
    main()
