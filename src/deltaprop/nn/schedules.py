r"""Learning-rate schedules, stepped once per epoch (``fit(..., schedule=...)``).

Each follows the PyTorch scheduler of the same name: after ``step()`` number ``t`` the
optimiser's ``lr`` is the schedule's value for epoch ``t``.

- ``StepLR``: :math:`\eta_t = \eta_0 \gamma^{\lfloor t / s \rfloor}`
- ``ExponentialLR``: :math:`\eta_t = \eta_0 \gamma^t`
- ``CosineAnnealingLR``: :math:`\eta_t = \eta_{min} + \frac12(\eta_0 - \eta_{min})
  (1 + \cos(\pi t / T_{max}))`
- ``ReduceLROnPlateau``: multiply by ``factor`` when the monitored metric has not improved
  for ``patience`` epochs.

Every setting is checked when the schedule is built (integers >= their minimum, finite numbers
in their interval, NumPy scalars accepted, bools refused): a bad one raises
:class:`~deltaprop.InvalidParameterError` naming the schedule, the setting, the rule and the
value.
"""

from __future__ import annotations

import math
from typing import Any

from .._checks import check_choice, check_integer, check_number
from .optim import Optimizer


class Schedule:
    """Base class: remembers the optimiser's initial ``lr`` and the epoch count."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} expects a deltaprop optimizer, "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def step(self, metric: float | None = None) -> None:
        """Advance one epoch and set the optimiser's ``lr``; a value that is not a finite
        number >= 0 (``gamma ** t`` overflowing) is refused with the optimiser unchanged."""
        try:
            lr = self.lr_at(self.last_epoch + 1)
        except OverflowError:
            lr = math.inf
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"{type(self).__name__} would set the learning rate to {lr} at "
                             f"epoch {self.last_epoch + 1} (from lr={self.base_lr:g}): choose "
                             "settings that keep it finite")
        self.last_epoch += 1
        self.optimizer.lr = lr

    def lr_at(self, epoch: int) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        vars(self).update(state)


class StepLR(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = check_integer("StepLR", "step_size", step_size, low=1)
        self.gamma = check_number("StepLR", "gamma", gamma, low=0.0, low_open=True)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(Schedule):
    """Multiply the learning rate by ``gamma`` every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = check_number("ExponentialLR", "gamma", gamma, low=0.0, low_open=True)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** epoch


class CosineAnnealingLR(Schedule):
    """Cosine from the initial ``lr`` down to ``eta_min`` over ``T_max`` epochs."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.T_max = check_integer("CosineAnnealingLR", "T_max", T_max, low=1)
        self.eta_min = check_number("CosineAnnealingLR", "eta_min", eta_min, low=0.0)

    def lr_at(self, epoch: int) -> float:
        cosine = (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        return self.eta_min + (self.base_lr - self.eta_min) * cosine


class ReduceLROnPlateau(Schedule):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement.

    ``step(metric)`` takes the monitored value (``fit`` passes the validation loss when there is
    validation data, else the training loss).  ``mode="min"``: lower is better; an improvement
    must beat the best by the relative ``threshold``.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0) -> None:
        super().__init__(optimizer)
        self.mode = check_choice("ReduceLROnPlateau", "mode", mode, ("min", "max"))
        self.factor = check_number("ReduceLROnPlateau", "factor", factor, low=0.0, high=1.0,
                                    low_open=True)
        self.patience = check_integer("ReduceLROnPlateau", "patience", patience, low=0)
        self.cooldown = check_integer("ReduceLROnPlateau", "cooldown", cooldown, low=0)
        self.threshold = check_number("ReduceLROnPlateau", "threshold", threshold, low=0.0)
        self.min_lr = check_number("ReduceLROnPlateau", "min_lr", min_lr, low=0.0)
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_epochs = 0
        self.cooldown_left = 0

    def _improved(self, metric: float) -> bool:
        if self.mode == "min":
            return metric < self.best * (1 - self.threshold)
        return metric > self.best * (1 + self.threshold)

    def step(self, metric: float | None = None) -> None:
        if metric is None:
            raise ValueError("ReduceLROnPlateau.step needs the monitored metric, got None")
        try:
            metric = float(metric)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step needs the monitored metric as a number, "
                            f"got {type(metric).__name__} {metric!r}") from None
        self.last_epoch += 1
        if self._improved(metric):
            self.best, self.bad_epochs = metric, 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > self.patience:
            # never up (PyTorch: only a decrease is applied), e.g. when min_lr > lr
            self.optimizer.lr = min(self.optimizer.lr,
                                    max(self.optimizer.lr * self.factor, self.min_lr))
            self.cooldown_left, self.bad_epochs = self.cooldown, 0
