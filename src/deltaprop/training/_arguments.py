r"""``fit``'s argument checks, all run before the first step: the loss, optimiser and loop
settings (:func:`_checked_arguments`), the callbacks and the ``early_stopping`` shortcut, the
schedule, the seed, and the keys ``EarlyStopping`` may monitor.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_number, check_seed
from ..nn.losses import Loss, get_loss
from ..nn.optim import Optimizer, get_optimizer
from ..nn.schedules import Schedule
from . import evaluation
from ._step_guard import first_non_finite
from .callbacks import Callback, EarlyStopping
from .validation import check_flag, positive_int


def _checked_arguments(model, loss, optimizer, epochs, batch_size, shuffle, validation_split,
                       validation_data, early_stopping, callbacks, schedule, metric, resume):
    """``fit``'s settings, checked before anything runs: ``(loss, optimizer, epochs,
    batch_size, metric, callbacks)``, built from names and the ``early_stopping`` shortcut."""
    loss = get_loss(loss)
    optimizer = get_optimizer(optimizer, model)
    if not isinstance(optimizer, Optimizer) or optimizer.model is not model:
        raise ValueError("optimizer must be built on the model being trained "
                         "(e.g. SGD(model, lr=0.1))")
    epochs, batch_size = _check_loop(epochs, batch_size, validation_split, validation_data,
                                     shuffle)
    metric = evaluation.resolve_metric(metric, loss)
    callbacks = _check_callbacks(callbacks, early_stopping)
    _check_schedule(schedule, optimizer)
    broken = None if resume is not None else first_non_finite(model.named_parameters())
    if broken is not None:                         # (a resume replaces the weights)
        raise ValueError(f"model parameter {broken!r} holds NaN or Inf before training: "
                         "re-initialise the model (or load finite weights)")
    return loss, optimizer, epochs, batch_size, metric, callbacks


def _check_loop(epochs, batch_size, validation_split, validation_data, shuffle):
    """The loop's settings: ``(epochs, batch_size)`` as ints (``batch_size`` may be None)."""
    epochs = positive_int("epochs", epochs)
    batch_size = None if batch_size is None else positive_int("batch_size", batch_size)
    check_number("fit", "validation_split", validation_split, low=0.0, high=1.0)
    if validation_data is not None and validation_split:
        raise ValueError("pass validation_data or validation_split, not both")
    check_flag("", "shuffle", shuffle)
    return epochs, batch_size


def _generator(seed) -> np.random.Generator:
    return check_seed("fit", "seed", seed)


def _check_callbacks(callbacks, early_stopping) -> list[Callback]:
    """The callbacks as a list (``None`` = none), plus ``EarlyStopping`` if asked for."""
    if callbacks is None:
        callbacks = []
    elif isinstance(callbacks, Callback):
        raise TypeError(f"callbacks must be a list of Callback objects, got a single "
                        f"{type(callbacks).__name__}: pass [{type(callbacks).__name__}(...)]")
    else:
        try:
            callbacks = list(callbacks)
        except TypeError:
            raise TypeError(f"callbacks must be a list of Callback objects or None, got "
                            f"{type(callbacks).__name__}") from None
    for position, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be deltaprop Callback objects, got "
                            f"{type(callback).__name__} at position {position}")
    if early_stopping is not None:
        callbacks.append(early_stopping if isinstance(early_stopping, EarlyStopping)
                         else EarlyStopping(patience=early_stopping))
    return callbacks


def _check_schedule(schedule, optimizer: Optimizer) -> None:
    if schedule is None:
        return
    if not isinstance(schedule, Schedule):
        raise TypeError("schedule must be a deltaprop Schedule built on the optimizer (e.g. "
                        f"StepLR(optimizer, step_size=10)) or None, got "
                        f"{type(schedule).__name__} {schedule!r}")
    if schedule.optimizer is not optimizer:
        raise ValueError(f"schedule {type(schedule).__name__} was built on another optimizer "
                         f"than the one fit trains with ({type(optimizer).__name__}): build it "
                         "on the same optimizer instance")


def _logged_keys(metric: str | None, loss: Loss, has_validation: bool) -> list[str]:
    """The keys ``fit`` logs each epoch (what ``EarlyStopping`` may monitor)."""
    keys = ["loss"] + ([metric] if metric else [])
    if has_validation:
        keys += [f"val_{key}" for key in keys]
        keys += ["val_mse"] if loss.task == "regression" else []
    return [*keys, "lr"]


def _check_monitors(callbacks: list[Callback], keys: list[str]) -> None:
    for callback in callbacks:
        monitor = None if getattr(callback, "default_monitor", False) \
            else getattr(callback, "monitor", None)       # None: fit picks a logged key
        if isinstance(callback, EarlyStopping) and monitor is not None and monitor not in keys:
            hint = " (val_ keys need validation_data or validation_split)" \
                if monitor.startswith("val_") and "val_loss" not in keys else ""
            raise KeyError(f"EarlyStopping monitor={monitor!r} is not a key fit logs with "
                           f"these arguments{hint}; logged: {keys}")   # KeyError, as before
