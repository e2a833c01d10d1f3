r"""What a training loop hands :func:`deltaprop.training.train_step` in place of the model, the
loss and the optimiser: the same calls, plus the loop's checks.

``train_step`` is the README's four lines and nothing else; ``fit`` and the scikit-learn
estimators need a little more around each line, so they pass these stand-ins:

- :class:`LoopModel`: ``forward`` keeps the output (for the epoch's metric) and ``backward``
  skips :math:`\partial L/\partial X` (the first layer's :math:`\Delta W` product: nothing
  learns from it);
- :class:`FiniteLoss`: the loss value as a Python float, :class:`NonFiniteLossError` when it is NaN
  or infinite (raised before the backward pass: nothing has changed yet);
- :class:`GuardedStep`: ``optimizer.step()`` under :class:`StepGuard`, :class:`StepUndoneError`
  when it would leave a non-finite parameter (the step is then undone bit for bit).

The loops turn the two exceptions into their own messages (they know the epoch and batch).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..nn._backend import Array
from ._step_guard import StepGuard


class NonFiniteLossError(FloatingPointError):
    """The batch's loss is NaN or infinite (``value``); no backward pass or step was taken."""

    def __init__(self, value: float) -> None:
        super().__init__(f"loss became {value}")
        self.value = value


class StepUndoneError(FloatingPointError):
    """The step would leave parameter ``name`` NaN or infinite; it was undone bit for bit."""

    def __init__(self, name: str) -> None:
        super().__init__(f"parameter {name!r} became NaN or infinite after the step")
        self.name = name


class LoopModel:
    """The model as a training loop drives it: the output kept, no ∂L/∂X."""

    def __init__(self, model) -> None:
        self.model = model
        self.output: Array | None = None                 # the last batch's output

    def forward(self, X: Array) -> Array:
        with np.errstate(over="ignore", invalid="ignore"):   # a non-finite loss says it
            self.output = self.model.forward(X)
        return self.output

    def backward(self, grad: Array) -> None:
        self.model.backward(grad, input_grad=False)      # ∂L/∂X: nothing learns from it


class FiniteLoss:
    """``compute(output, target, sample_weight)`` (a loss, or its unchecked
    ``value_and_grad``) with the value as a float that must be finite."""

    def __init__(self, compute: Any) -> None:
        self.compute = compute
        self.value: float | None = None                  # the last batch's loss

    def __call__(self, output: Array, target: Array, sample_weight: Array | None = None):
        with np.errstate(over="ignore", invalid="ignore"):   # reported just below instead
            value, grad = self.compute(output, target, sample_weight)
        self.value = float(value)
        if not math.isfinite(self.value):
            raise NonFiniteLossError(self.value)
        return self.value, grad


class GuardedStep:
    """``optimizer.step()``, undone bit for bit (and :class:`StepUndoneError` raised) when it would
    leave a non-finite parameter."""

    def __init__(self, model, optimizer) -> None:
        self.guard = StepGuard(model, optimizer)

    def step(self) -> None:
        broken = self.guard.step()
        if broken is not None:
            raise StepUndoneError(broken)
