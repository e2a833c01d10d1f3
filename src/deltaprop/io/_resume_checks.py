"""A checkpoint checked against the training it would resume (:func:`check_resume`), before
anything is changed: the model's tensors, the optimiser's type, learning rate and slots, the
random-number states, the schedule and the early-stopping counters and best weights.
"""

from __future__ import annotations

import inspect
import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..nn.layers import Dropout
from ._checkpoint_format import OPTIMIZER_SLOTS, _plain
from ._untrusted import finite_number, natural, real_number

if TYPE_CHECKING:
    from ..nn.model import Sequential
    from ..nn.optim import Optimizer
    from ._restore import TrainingState


def check_resume(state: TrainingState, *, model: Sequential, optimizer: Optimizer,
                 rng: np.random.Generator,
                 schedule: Any = None, early_stopping: Any = None,
                 has_validation: bool | None = None) -> dict[str, dict[str, Any]]:
    """Check a checkpoint against the training it would resume, changing nothing.

    Returns the optimiser's slots ready for ``load_state_dict``.  Raises ``ValueError`` when
    the checkpoint belongs to other training, ``ModelFileError`` when it is damaged.
    """
    from .model_files import ModelFileError

    info, where = state.info, f"checkpoint {state.source or '(in memory)'}"
    if info["architecture"] != model.config():
        raise ValueError(f"{where} was saved from a different model architecture: "
                         f"{info['architecture']!s:.300} versus {model.config()}")
    params = {name: np.asarray(value) for name, value in model.state_dict().items()}
    _check_arrays(state.tensors, "model/", params, where)
    slots = _check_optimizer(info["optimizer"], state.tensors, params, optimizer, where)
    _check_generator(info["rng"], rng, f"{where}: state 'rng'")
    dropouts = {str(i): layer for i, layer in enumerate(model.layers)
                if isinstance(layer, Dropout)}
    saved = info["dropout_rng"]
    if not isinstance(saved, dict) or set(saved) != set(dropouts):
        raise ModelFileError(f"{where}: state 'dropout_rng' must hold the Generators of the "
                             f"Dropout layers {sorted(dropouts)}, found {saved!s:.80}")
    for position, layer in dropouts.items():
        _check_generator(saved[position], layer.rng, f"{where}: state 'dropout_rng' {position}")
    _check_schedule(info["schedule"], schedule, where)
    validated = any(key.startswith("val_") for key in state.history.history)
    if has_validation is not None and validated != has_validation:
        raise ValueError(f"{where} was saved by a fit {'with' if validated else 'without'} "
                         f"validation data and this fit has {'some' if has_validation else 'none'}"
                         ": resume with the same data and validation as the interrupted run")
    monitors = None if early_stopping is None else [
        getattr(stopper, "monitor", None) or ("val_loss" if has_validation else "loss")
        for stopper in early_stopping]
    _check_early_stopping(info["early_stopping"], state, params, monitors, where)
    expected = {k for k in state.tensors if k.startswith("model/")} \
        | {f"optimizer/{n}/{k}" for n, slot in slots.items() for k, v in slot.items()
           if isinstance(v, np.ndarray)} \
        | {k for k in state.tensors if k.startswith("early_stopping/")}
    extra = sorted(set(state.tensors) - expected)
    if extra:
        raise ModelFileError(f"{where}: unexpected tensors {extra!s:.200}")
    return slots


def _check_arrays(tensors: dict[str, np.ndarray], prefix: str, params: dict[str, np.ndarray],
                  where: str) -> None:
    """``prefix + name`` for every parameter: its shape and dtype, finite; nothing else."""
    found = {k[len(prefix):] for k in tensors if k.startswith(prefix)}
    missing, extra = sorted(set(params) - found), sorted(found - set(params))
    if missing or extra:
        raise ValueError(f"{where}: the tensors {prefix}* do not match the model's parameters: "
                         f"missing {missing}, unexpected {extra!s:.200}")
    for name, param in params.items():
        _check_like(tensors[prefix + name], param, f"{prefix}{name}", where)


def _check_like(array: np.ndarray, param: np.ndarray, name: str, where: str) -> None:
    """``array`` has the shape and dtype of ``param`` and only finite values."""
    from .model_files import ModelFileError

    if array.shape != param.shape or array.dtype != param.dtype:
        raise ValueError(f"{where}: tensor {name!r} must be {param.dtype} of shape "
                         f"{param.shape} like the model's parameter, found {array.dtype} "
                         f"{array.shape}")
    if not np.all(np.isfinite(array)):
        raise ModelFileError(f"{where}: tensor {name!r} holds NaN or infinite values")


def _check_optimizer(saved: Any, tensors: dict[str, np.ndarray], params: dict[str, np.ndarray],
                     optimizer: Any, where: str) -> dict[str, dict[str, Any]]:
    """The optimiser's type, learning rate and per-parameter slots, as ``load_state_dict``
    takes them."""
    from .model_files import ModelFileError

    kind = type(optimizer).__name__
    keys = {"type", "lr", "scalars", "slots"}
    if not isinstance(saved, dict) or set(saved) != keys:
        raise ModelFileError(f"{where}: state 'optimizer' must have the keys {sorted(keys)}")
    if saved["type"] != kind:
        raise ValueError(f"{where} holds {saved['type']!r:.40} state, but the optimizer "
                         f"is {kind}")
    if not finite_number(saved["lr"]) or saved["lr"] < 0:
        raise ModelFileError(f"{where}: optimizer lr must be a finite number >= 0, found "
                             f"{saved['lr']!r:.40}")
    names, scalars = saved["slots"], saved["scalars"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) \
            or not set(names) <= set(params) \
            or len(set(names)) != len(names) or not isinstance(scalars, dict) \
            or not set(scalars) <= set(names):
        raise ModelFileError(f"{where}: optimizer slots must name distinct model parameters "
                             f"{sorted(params)}, found {names!s:.120}")
    slots: dict[str, dict[str, Any]] = {}
    for name in names:
        values = scalars[name] if name in scalars else {}
        prefix = f"optimizer/{name}/"
        arrays = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)
                  and "/" not in k[len(prefix):]}
        if not isinstance(values, dict) or set(values) & set(arrays):
            raise ModelFileError(f"{where}: optimizer slot {name!r} is damaged")
        slots[name] = _checked_slot(kind, name, values, arrays, params[name], where)
    return slots


def _checked_slot(kind: str, name: str, scalars: dict[str, Any], arrays: dict[str, np.ndarray],
                  param: np.ndarray, where: str) -> dict[str, Any]:
    """One parameter's optimiser slot: the keys the optimiser keeps (all or none), arrays
    like the parameter, counts >= 1 and finite numbers."""
    from .model_files import ModelFileError

    slot = {**scalars, **arrays}
    schema = OPTIMIZER_SLOTS.get(kind)
    if schema is not None and set(slot) not in (set(), set(schema)):
        raise ModelFileError(f"{where}: {kind} state of {name!r} must hold {sorted(schema)} "
                             f"(or nothing before the first step), found {sorted(slot)}")
    for key, value in arrays.items():
        if schema is not None and schema[key] != "array":
            raise ModelFileError(f"{where}: {kind} {name!r} {key} must be a number")
        _check_like(value, param, f"optimizer/{name}/{key}", where)
        if key == "v" and np.any(value < 0):            # Adam's second moment: √v
            raise ModelFileError(f"{where}: {kind} {name!r} v must be >= 0")
    for key, value in scalars.items():
        rule = schema[key] if schema is not None else "number"
        ok = (natural(value) and value >= 1) if rule == "count" else (
            rule == "number" and finite_number(value))
        if not ok:
            wanted = {"count": "an integer >= 1", "array": "a tensor"}.get(rule, "a finite number")
            raise ModelFileError(f"{where}: {kind} state {name!r} {key} must be {wanted}, "
                                 f"found {value!r:.40}")
    return slot


def _check_generator(saved: Any, generator: np.random.Generator, what: str) -> None:
    """``saved`` is a state that ``generator``'s bit generator takes and gives back as is
    (tried on a throwaway instance of the same class)."""
    from .model_files import ModelFileError

    probe = type(generator.bit_generator)()
    try:
        probe.state = saved
        same = json.dumps(_plain(probe.state), sort_keys=True) == json.dumps(saved,
                                                                           sort_keys=True)
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise ModelFileError(f"{what} is not a valid {type(probe).__name__} state "
                             f"({type(error).__name__}: {str(error)!r:.80})") from None
    if not same:
        raise ModelFileError(f"{what} is not a valid {type(probe).__name__} state (its values "
                             f"do not have the types and ranges numpy keeps): {saved!r:.120}")


def _check_schedule(saved: Any, schedule: Any, where: str) -> None:
    """The same schedule type, and a state with the schedule's own keys and value types."""
    from .model_files import ModelFileError

    if (saved is None) != (schedule is None) or (schedule is not None and (
            not isinstance(saved, dict) or saved.get("type") != type(schedule).__name__)):
        found = saved.get("type") if isinstance(saved, dict) else saved
        raise ValueError(f"{where} was saved with schedule {found!r:.40}, got "
                         f"{type(schedule).__name__ if schedule is not None else None}")
    if schedule is None:
        return
    current, state = schedule.state_dict(), saved.get("state")
    if set(saved) != {"type", "state"} or not isinstance(state, dict) \
            or set(state) != set(current):
        raise ModelFileError(f"{where}: schedule state must have the keys {sorted(current)}")
    for key, now in current.items():
        value = state[key]
        if isinstance(now, bool) or isinstance(now, str):
            ok = type(value) is type(now) and (key != "mode" or value in ("min", "max"))
        elif isinstance(now, int):
            ok = natural(value)
        else:                                          # floats; only the best may be ±inf
            ok = real_number(value) and not math.isnan(value) and (
                key == "best" or (finite_number(value) and value >= 0))
        if not ok:
            raise ModelFileError(f"{where}: schedule {key} must be like {now!r} "
                                 f"({type(now).__name__}), found {value!r:.40}")
    _check_schedule_settings(state, schedule, where)


def _check_schedule_settings(state: dict[str, Any], schedule: Any, where: str) -> None:
    """A built-in schedule's saved settings (``step_size``, ``gamma``...) follow its own
    constructor's rules, tried on a throwaway instance (it only reads the optimiser's lr)."""
    from ..nn import schedules
    from .model_files import ModelFileError

    kind = type(schedule)
    if kind not in (schedules.StepLR, schedules.ExponentialLR, schedules.CosineAnnealingLR,
                    schedules.ReduceLROnPlateau):
        return
    names = [name for name in inspect.signature(kind).parameters if name != "optimizer"]
    try:
        kind(schedule.optimizer, **{name: state[name] for name in names})
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{where}: schedule state: {error}") from None


def _check_early_stopping(saved: Any, state: TrainingState, params: dict[str, np.ndarray],
                          monitors: list[str] | None, where: str) -> None:
    """Each saved ``EarlyStopping``: counters in range, the monitor the resumed fit's will use
    (when ``monitors`` is given), best weights like the model's."""
    from .model_files import ModelFileError

    if not isinstance(saved, list):
        raise ModelFileError(f"{where}: state 'early_stopping' must be a list")
    if monitors is not None and len(monitors) != len(saved):
        raise ValueError(f"the checkpoint was saved with {len(saved)} EarlyStopping "
                         f"callback(s), this fit has {len(monitors)}")
    for i, values in enumerate(saved if monitors is not None else ()):
        if isinstance(values, dict) and values.get("monitor") != monitors[i]:
            raise ValueError(f"{where}: EarlyStopping {i} monitored "
                             f"{values.get('monitor')!r:.40}, this fit's monitors "
                             f"{monitors[i]!r}")
    keys = {"best", "best_epoch", "wait", "monitor", "has_best_state"}
    for i, values in enumerate(saved):
        if not isinstance(values, dict) or set(values) != keys:
            raise ModelFileError(f"{where}: early_stopping {i} must have the keys {sorted(keys)}")
        best, best_epoch, wait = values["best"], values["best_epoch"], values["wait"]
        ok = ((best is None) == (best_epoch is None)
              and (best is None or (real_number(best) and not math.isnan(best)))
              and (best_epoch is None or (natural(best_epoch) and 1 <= best_epoch <= state.epoch))
              and natural(wait) and wait <= state.epoch and isinstance(values["monitor"], str)
              and isinstance(values["has_best_state"], bool))
        if not ok:
            raise ModelFileError(f"{where}: early_stopping {i} counters out of range: "
                                 f"{values!s:.200}")
        prefix = f"early_stopping/{i}/"
        if values["has_best_state"]:
            _check_arrays(state.tensors, prefix, params, where)
        elif any(k.startswith(prefix) for k in state.tensors):
            raise ModelFileError(f"{where}: early_stopping {i} has best weights but says not")
    for key in (k for k in state.tensors if k.startswith("early_stopping/")):
        index = key.split("/")[1]
        if not (index.isascii() and index.isdigit() and int(index) < len(saved)):
            raise ModelFileError(f"{where}: unexpected tensor {key!r:.100}")
