"""Checkpoints during ``fit`` and ``fit(..., resume=PATH)``: continue exactly where it stopped.

A checkpoint is a safetensors file (format ``deltaprop-checkpoint``) written atomically by
the :class:`Checkpoint` callback every ``every`` epochs.  It holds

- tensors: the model's weights (``model/0.weight``...), the optimiser's state arrays
  (``optimizer/<param>/<slot>``: momentum velocity, Adam's ``m`` and ``v``) and the best
  weights kept by ``EarlyStopping`` (``early_stopping/<i>/<param>``);
- JSON metadata: the epoch, the state of ``fit``'s shuffling Generator and of every
  ``Dropout`` layer's Generator, the optimiser's learning rate and step counts, the
  learning-rate schedule, the ``History`` and ``EarlyStopping``'s counters; a SHA-256
  checksum of all of it and the tensors (``format_version`` 2, see :func:`deltaprop.io.checksum`).

``fit(model, X, y, ..., resume=path)`` with the same data, model architecture, optimiser type,
callbacks and ``seed`` as the interrupted run restores all of that and starts at the next
epoch; the final weights are then bit for bit those of an uninterrupted run (the same
operations on the same numbers in the same order).  No pickle.

A checkpoint is untrusted input like a model file, and resuming is all-or-nothing: every part
(the model's tensors and architecture, the optimiser's type, learning rate and slots with their
shapes and dtypes, the epoch and history, the random-number states, the schedule, the
early-stopping counters and best weights) is checked against the training being resumed
before anything is changed, so a resume that fails leaves the model, optimiser, Generators,
schedule and callbacks as they were.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_integer
from ..nn.layers import Dropout
from ..training.callbacks import Callback, EarlyStopping, History
from ._files import finite_number, natural, real_number

if TYPE_CHECKING:
    from ..nn.model import Sequential
    from ..nn.optim import Optimizer

FORMAT = "deltaprop-checkpoint"
FORMAT_VERSION = 2
FIELDS = ("format", "format_version", "deltaprop_version", "state", "checksum")
FILE_NAME = "checkpoint.safetensors"
STATE_KEYS = {"epoch", "stopped", "architecture", "rng", "dropout_rng", "optimizer", "schedule",
              "history", "early_stopping"}
# the per-parameter state of the built-in optimisers: slot -> "array" (parameter-shaped) or
# "count"; a slot holds all of them (after a step) or none
OPTIMIZER_SLOTS = {"SGD": {"velocity": "array"},
                   "Adam": {"step": "count", "m": "array", "v": "array"},
                   "AdamW": {"step": "count", "m": "array", "v": "array"}}


class Checkpoint(Callback):
    """Save the whole training state every ``every`` epochs (and after the last one).

    Parameters
    ----------
    path : str or PathLike
        The checkpoint file, or a directory (existing, or written with a trailing ``/``) in
        which ``checkpoint.safetensors`` is written.  Each save replaces the previous one
        atomically, so the file is always a complete checkpoint.
    every : int
        Save after every ``every``-th epoch.

    Examples
    --------
    Train 6 epochs; separately, train 4 with a checkpoint every 2 (as if the run had crashed
    after epoch 4) and resume a differently initialised model from the file: it ends with the
    full run's weights.

    >>> import numpy as np, deltaprop as dp
    >>> X = np.random.default_rng(0).normal(size=(20, 2)); y = (X[:, 0] > 0).astype(int)
    >>> def run(epochs, init_seed=0, **options):
    ...     model = dp.mlp([2, 4, 2], seed=init_seed)
    ...     dp.fit(model, X, y, loss="cross_entropy", optimizer=dp.SGD(model, lr=0.1),
    ...            epochs=epochs, batch_size=5, seed=0, **options)
    ...     return model
    >>> full = run(6)
    >>> _ = run(4, callbacks=[Checkpoint("run/", every=2)])        # "crashes" after epoch 4
    >>> resumed = run(6, init_seed=1, resume="run/checkpoint.safetensors")  # from epoch 5
    >>> all(np.array_equal(full.state_dict()[k], resumed.state_dict()[k])
    ...     for k in full.state_dict())
    True
    """

    rank_zero_only = True                    # under MPI: rank 0 writes the (shared) state

    def __init__(self, path: str | os.PathLike, every: int = 1) -> None:
        every = check_integer("Checkpoint", "every", every, low=1)
        text = os.fsdecode(path)
        directory = os.path.isdir(text) or text.endswith(("/", os.sep))
        self.path = Path(text) / FILE_NAME if directory else Path(text)
        self.every = every
        self.epochs: int | None = None
        self.saved_epochs: list[int] = []

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        from ._files import writable_target

        self.epochs = logs.get("epochs")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writable_target(self.path)                    # a FIFO or folder there: before training

    def on_epoch_complete(self, epoch: int, stopped: bool) -> None:
        """Called by ``fit`` after every callback and the schedule have seen the epoch."""
        if epoch % self.every == 0 or stopped or epoch == self.epochs:
            context = self.context
            save_checkpoint(self.path, model=context.model, optimizer=context.optimizer,
                            epoch=epoch, rng=context.rng, history=context.history,
                            schedule=context.schedule, callbacks=context.callbacks,
                            stopped=stopped)
            self.saved_epochs.append(epoch)


def save_checkpoint(path: str | os.PathLike, *, model: Sequential,
                    optimizer: Optimizer, epoch: int,
                    rng: np.random.Generator, history: History, schedule: Any = None,
                    callbacks: Any = (), stopped: bool = False) -> Path:
    """Write one checkpoint file (what :class:`Checkpoint` calls)."""
    from .._version import __version__
    from .model_files import checksum, write_safetensors

    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    slots: dict[str, dict[str, Any]] = {}
    for name, slot in opt["state"].items():
        for key, value in slot.items():
            if isinstance(value, np.ndarray):
                tensors[f"optimizer/{name}/{key}"] = value
            else:
                slots.setdefault(name, {})[key] = _plain(value)
    stoppers = []
    for i, stopper in enumerate(c for c in callbacks if isinstance(c, EarlyStopping)):
        for key, value in (stopper.best_state or {}).items():
            tensors[f"early_stopping/{i}/{key}"] = np.array(value)
        stoppers.append({"best": _plain(stopper.best), "best_epoch": stopper.best_epoch,
                         "wait": stopper.wait, "monitor": stopper.monitor,
                         "has_best_state": stopper.best_state is not None})
    info = {
        "epoch": int(epoch), "stopped": bool(stopped),
        "architecture": model.config(),
        "rng": _plain(rng.bit_generator.state),
        "dropout_rng": {str(i): _plain(layer.rng.bit_generator.state)
                        for i, layer in enumerate(model.layers) if isinstance(layer, Dropout)},
        "optimizer": {"type": type(optimizer).__name__, "lr": _plain(opt["lr"]),
                      "scalars": slots, "slots": sorted(opt["state"])},
        "schedule": None if schedule is None else {"type": type(schedule).__name__,
                                                   "state": _plain(schedule.state_dict())},
        "history": history.to_dict(),
        "early_stopping": stoppers,
    }
    fields = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
              "deltaprop_version": __version__, "state": json.dumps(info)}
    fields["checksum"] = checksum(tensors, fields)
    return write_safetensors(path, tensors, fields)


@dataclass
class TrainingState:
    """A checkpoint read back and checked (what ``fit(..., resume=...)`` applies)."""

    epoch: int
    stopped: bool
    history: History
    info: dict[str, Any]
    tensors: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    source: str = ""

    def restore_training(self, **training: Any) -> None:
        """:func:`restore_training` with this state (what ``fit(resume=...)`` calls)."""
        restore_training(self, **training)

    def restore_callbacks(self, callbacks: Any) -> None:
        """:func:`restore_callbacks` with this state (after ``on_train_begin``)."""
        restore_callbacks(self, callbacks)


def load_checkpoint(path: str | os.PathLike) -> TrainingState:
    """Read and verify a checkpoint file (``ModelFileError`` when it is bad).

    The file-level checks and the checkpoint's own consistency (types, ranges, the history
    against the epoch); :func:`restore_training` then checks it against the training.
    """
    from ._files import path_text
    from .model_files import ModelFileError, read_safetensors

    where = path_text(path)

    def layout(layouts: dict[str, Any], fields: dict[str, str]) -> None:
        _check_layout(layouts, _parsed_state(fields, where), where)   # before the tensor bytes

    tensors, fields = read_safetensors(path, FORMAT, expected_fields=FIELDS, layout=layout)
    info = _parsed_state(fields, where)
    epoch = info["epoch"]
    if not natural(epoch) or epoch < 1 or not isinstance(info["stopped"], bool):
        raise ModelFileError(f"{where}: state 'epoch' must be an integer >= 1 and 'stopped' "
                             f"true or false, found {epoch!r:.40} and {info['stopped']!r:.40}")
    history = _checked_history(info["history"], epoch, where)
    return TrainingState(epoch, info["stopped"], history, info, tensors, where)


def _parsed_state(fields: dict[str, str], where: str) -> dict[str, Any]:
    """The ``state`` field: a JSON object with exactly the keys :data:`STATE_KEYS`."""
    from ._files import strict_json
    from .model_files import ModelFileError

    try:
        info = strict_json(fields["state"], constants=True)
    except ValueError as error:
        raise ModelFileError(f"{where}: field 'state' is not valid JSON ({error})") from None
    if not isinstance(info, dict) or set(info) != STATE_KEYS:
        found = sorted(info) if isinstance(info, dict) else type(info).__name__
        raise ModelFileError(f"{where}: field 'state' must be an object with the keys "
                             f"{sorted(STATE_KEYS)}, found {found}")
    return info


def _check_layout(layouts: dict[str, Any], info: dict[str, Any], where: str) -> None:
    """Before any tensor byte is read: each tensor is a parameter of the saved architecture
    (``model/<p>``, ``optimizer/<p>/<slot>``, ``early_stopping/<i>/<p>``) of its shape."""
    from .model_files import ModelFileError, check_architecture, parameter_shapes

    try:
        shapes = parameter_shapes(check_architecture(info["architecture"]))
    except ValueError as error:
        raise ModelFileError(f"{where}: state 'architecture': {error}") from None
    for name, layout in layouts.items():
        group, _, rest = name.partition("/")
        parameter = {"model": rest, "optimizer": rest.partition("/")[0],
                     "early_stopping": rest.partition("/")[2]}.get(group)
        if parameter not in shapes:
            raise ModelFileError(f"{where}: unexpected tensor {name!r:.100}")
        if layout.shape != shapes[parameter]:
            raise ModelFileError(f"{where}: tensor {name!r} must have shape "
                                 f"{shapes[parameter]} like the saved architecture's "
                                 f"{parameter!r}, found {layout.shape}")


def _checked_history(data: Any, epoch: int, where: str) -> History:
    """A ``History`` of exactly epochs 1..epoch, numbers only, finite loss and lr."""
    from .model_files import ModelFileError

    def fail(rule: str) -> ModelFileError:
        return ModelFileError(f"{where}: state 'history' {rule}")

    keys = {"epochs", "history", "best_epoch", "stopped_epoch"}
    if not isinstance(data, dict) or set(data) != keys:
        raise fail(f"must be an object with the keys {sorted(keys)}")
    epochs = data["epochs"]                            # compared without building 1..epoch
    if not isinstance(epochs, list) or len(epochs) != epoch or not all(
            natural(value) and value == i for i, value in enumerate(epochs, start=1)):
        raise fail(f"must list the epochs 1 to {epoch}, found {data['epochs']!s:.80}")
    logs = data["history"]
    if not isinstance(logs, dict) or "loss" not in logs:
        raise fail("'history' must be an object holding at least 'loss'")
    for key, values in logs.items():
        if not isinstance(values, list) or len(values) != epoch or not all(
                map(real_number, values)):
            raise fail(f"{key!r} must be a list of {epoch} numbers")
        if key in ("loss", "lr") and not all(finite_number(v) and v >= 0 for v in values):
            raise fail(f"{key!r} must hold finite numbers >= 0")
    for key in ("best_epoch", "stopped_epoch"):
        value = data[key]
        if value is not None and not (natural(value) and 1 <= value <= epoch):
            raise fail(f"{key!r} must be null or an epoch in [1, {epoch}], found {value!r:.40}")
    return History.from_dict(data)


def restore_training(resume: Any, *, model: Sequential, optimizer: Optimizer,
                     rng: np.random.Generator,
                     schedule: Any = None, early_stopping: Any = None,
                     has_validation: bool | None = None,
                     epochs: int | None = None) -> TrainingState:
    """Put the model, optimiser, Generators and schedule back as the checkpoint saved them.

    Everything is checked first (:func:`check_resume`), so a checkpoint that does not fit
    leaves them untouched.  Checked too when given: ``early_stopping``, the ``EarlyStopping``
    callbacks the resumed ``fit`` will have (an int stands for ``EarlyStopping(patience=int)``)
    with the monitor each will use (``has_validation``: whether that fit validates);
    ``epochs``, the epochs it runs in all.
    """
    state = resume if isinstance(resume, TrainingState) else load_checkpoint(resume)
    if epochs is not None and state.epoch > epochs:
        raise ValueError(f"checkpoint {state.source} was saved after epoch {state.epoch}, but "
                         f"fit runs {epochs} epochs in all: pass epochs >= {state.epoch}")
    slots = check_resume(state, model=model, optimizer=optimizer, rng=rng, schedule=schedule,
                         early_stopping=early_stopping, has_validation=has_validation)
    info = state.info
    model.load_state_dict({k[len("model/"):]: v for k, v in state.tensors.items()
                           if k.startswith("model/")})
    optimizer.load_state_dict({"lr": info["optimizer"]["lr"], "state": slots})
    rng.bit_generator.state = info["rng"]
    for position, generator_state in info["dropout_rng"].items():
        model.layers[int(position)].rng.bit_generator.state = generator_state
    if schedule is not None:
        schedule.load_state_dict(info["schedule"]["state"])
    return state


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


def restore_callbacks(state: TrainingState, callbacks: Any) -> None:
    """Give each ``EarlyStopping`` (in order) its saved counters and best weights."""
    stoppers = [c for c in callbacks if isinstance(c, EarlyStopping)]
    saved = state.info["early_stopping"]
    if len(stoppers) != len(saved):
        raise ValueError(f"the checkpoint was saved with {len(saved)} EarlyStopping "
                         f"callback(s), this fit has {len(stoppers)}")
    for i, (stopper, values) in enumerate(zip(stoppers, saved)):
        stopper.best, stopper.best_epoch = values["best"], values["best_epoch"]
        stopper.wait, stopper.monitor = values["wait"], values["monitor"]
        prefix = f"early_stopping/{i}/"
        best = {k[len(prefix):]: v for k, v in state.tensors.items() if k.startswith(prefix)}
        stopper.best_state = best if values["has_best_state"] else None
        stopper.stop_training = state.stopped


def _plain(value: Any) -> Any:
    """JSON-ready copy: arrays to lists, NumPy scalars to Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
