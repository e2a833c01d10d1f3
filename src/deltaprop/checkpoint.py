"""Checkpoints during ``fit`` and ``fit(..., resume=PATH)``: continue exactly where it stopped.

A checkpoint is a safetensors file (format ``deltaprop-checkpoint``) written atomically by
the :class:`Checkpoint` callback every ``every`` epochs.  It holds

- tensors: the model's weights (``model/0.weight``...), the optimiser's state arrays
  (``optimizer/<param>/<slot>``: momentum velocity, Adam's ``m`` and ``v``) and the best
  weights kept by ``EarlyStopping`` (``early_stopping/<i>/<param>``);
- JSON metadata: the epoch, the state of ``fit``'s shuffling Generator and of every
  ``Dropout`` layer's Generator, the optimiser's learning rate and step counts, the
  learning-rate schedule, the ``History`` and ``EarlyStopping``'s counters; a SHA-256
  checksum of the tensors.

``fit(model, X, y, ..., resume=path)`` with the same data, model architecture, optimiser type,
callbacks and ``seed`` as the interrupted run restores all of that and starts at the next
epoch; the final weights are then bit for bit those of an uninterrupted run (the same
operations on the same numbers in the same order).  No pickle.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .callbacks import Callback, EarlyStopping, History
from .layers import Dropout

FORMAT = "deltaprop-checkpoint"
FILE_NAME = "checkpoint.safetensors"


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
    >>> # fit(model, X, y, ..., callbacks=[Checkpoint("run/")])        # crashes at epoch 37
    >>> # fit(model, X, y, ..., resume="run/checkpoint.safetensors")  # continues from 36
    """

    def __init__(self, path: str | os.PathLike, every: int = 1) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"Checkpoint every must be an integer >= 1, got {every!r}")
        text = os.fspath(path)
        directory = os.path.isdir(text) or text.endswith(("/", os.sep))
        self.path = Path(text) / FILE_NAME if directory else Path(text)
        self.every = every
        self.epochs: int | None = None
        self.saved_epochs: list[int] = []

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.epochs = logs.get("epochs")
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def on_epoch_complete(self, epoch: int, stopped: bool) -> None:
        """Called by ``fit`` after every callback and the schedule have seen the epoch."""
        if epoch % self.every == 0 or stopped or epoch == self.epochs:
            save_checkpoint(self.path, model=self.model, optimizer=self.optimizer,
                            epoch=epoch, rng=self.rng, history=self.history,
                            schedule=getattr(self, "schedule", None),
                            callbacks=getattr(self, "callbacks", ()), stopped=stopped)
            self.saved_epochs.append(epoch)


def save_checkpoint(path: str | os.PathLike, *, model, optimizer, epoch: int,
                    rng: np.random.Generator, history: History, schedule: Any = None,
                    callbacks: Any = (), stopped: bool = False) -> Path:
    """Write one checkpoint file (what :class:`Checkpoint` calls)."""
    from .io import architecture, checksum, write_safetensors

    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    slots: dict[str, dict[str, Any]] = {}
    for name, slot in opt["state"].items():
        for key, value in slot.items():
            if isinstance(value, np.ndarray):
                tensors[f"optimizer/{name}/{key}"] = value
            else:
                slots.setdefault(name, {})[key] = value
    stoppers = []
    for i, stopper in enumerate(c for c in callbacks if isinstance(c, EarlyStopping)):
        for key, value in (stopper.best_state or {}).items():
            tensors[f"early_stopping/{i}/{key}"] = np.array(value)
        stoppers.append({"best": stopper.best, "best_epoch": stopper.best_epoch,
                         "wait": stopper.wait, "monitor": stopper.monitor,
                         "has_best_state": stopper.best_state is not None})
    info = {
        "epoch": int(epoch), "stopped": bool(stopped),
        "architecture": architecture(model),
        "rng": _plain(rng.bit_generator.state),
        "dropout_rng": {str(i): _plain(layer.rng.bit_generator.state)
                        for i, layer in enumerate(model.layers) if isinstance(layer, Dropout)},
        "optimizer": {"type": type(optimizer).__name__, "lr": opt["lr"], "scalars": slots,
                      "slots": sorted(opt["state"])},
        "schedule": None if schedule is None else {"type": type(schedule).__name__,
                                                   "state": _plain(schedule.state_dict())},
        "history": history.to_dict(),
        "early_stopping": stoppers,
    }
    fields = {"format": FORMAT, "format_version": "1", "state": json.dumps(info),
              "checksum": checksum(tensors)}
    return write_safetensors(path, tensors, fields)


@dataclass
class TrainingState:
    """A checkpoint read back and checked (what ``fit(..., resume=...)`` applies)."""

    epoch: int
    stopped: bool
    history: History
    info: dict[str, Any]
    tensors: dict[str, np.ndarray] = field(repr=False, default_factory=dict)


def load_checkpoint(path: str | os.PathLike) -> TrainingState:
    """Read and verify a checkpoint file (``ModelFileError`` when it is bad)."""
    from .io import ModelFileError, read_safetensors

    tensors, fields = read_safetensors(path, FORMAT)
    try:
        info = json.loads(fields["state"])
        history = History.from_dict(info["history"])
        return TrainingState(int(info["epoch"]), bool(info["stopped"]), history, info, tensors)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{os.fspath(path)}: damaged checkpoint state ({error})") from None


def restore_training(resume: Any, *, model, optimizer, rng: np.random.Generator,
                     schedule: Any = None) -> TrainingState:
    """Put the model, optimiser, Generators and schedule back as the checkpoint saved them.

    Everything is checked first (architecture, optimiser type, keys, shapes), so a
    checkpoint that does not fit leaves them untouched.
    """
    from .io import architecture

    state = resume if isinstance(resume, TrainingState) else load_checkpoint(resume)
    info, where = state.info, f"checkpoint {resume!s}"
    if info["architecture"] != architecture(model):
        raise ValueError(f"{where} was saved from a different model architecture: "
                         f"{info['architecture']} versus {architecture(model)}")
    if info["optimizer"]["type"] != type(optimizer).__name__:
        raise ValueError(f"{where} holds {info['optimizer']['type']} state, but the optimizer "
                         f"is {type(optimizer).__name__}")
    if (info["schedule"] is None) != (schedule is None) or (
            schedule is not None and info["schedule"]["type"] != type(schedule).__name__):
        saved = info["schedule"] and info["schedule"]["type"]
        raise ValueError(f"{where} was saved with schedule {saved}, got "
                         f"{type(schedule).__name__ if schedule is not None else None}")
    weights = {k[len("model/"):]: v for k, v in state.tensors.items() if k.startswith("model/")}
    slots: dict[str, dict[str, Any]] = {name: dict(info["optimizer"]["scalars"].get(name, {}))
                                        for name in info["optimizer"]["slots"]}
    for key, value in state.tensors.items():
        if key.startswith("optimizer/"):
            name, slot = key[len("optimizer/"):].rsplit("/", 1)
            slots.setdefault(name, {})[slot] = value
    probe = model.copy()
    probe.load_state_dict(weights)                        # raises before touching the model
    model.load_state_dict(weights)
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
