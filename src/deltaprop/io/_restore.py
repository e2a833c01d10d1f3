"""A checkpoint read back and checked on its own (:func:`load_checkpoint`, which returns a
:class:`TrainingState`), and put back into a training (:func:`restore_training`,
:func:`restore_callbacks`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..training.callbacks import EarlyStopping, History
from ._checkpoint_format import FIELDS, FORMAT, STATE_KEYS
from ._resume_checks import check_resume
from ._untrusted import finite_number, natural, real_number

if TYPE_CHECKING:
    from ..nn.model import Sequential
    from ..nn.optim import Optimizer


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
