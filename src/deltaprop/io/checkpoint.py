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

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_integer
from ..nn.layers import Dropout
from ..training.callbacks import Callback, EarlyStopping, History
from ._checkpoint_format import FIELDS as FIELDS
from ._checkpoint_format import FILE_NAME, FORMAT, FORMAT_VERSION, _plain
from ._checkpoint_format import OPTIMIZER_SLOTS as OPTIMIZER_SLOTS
from ._checkpoint_format import STATE_KEYS as STATE_KEYS
from ._restore import TrainingState as TrainingState
from ._restore import _check_layout as _check_layout
from ._restore import _checked_history as _checked_history
from ._restore import _parsed_state as _parsed_state
from ._restore import load_checkpoint as load_checkpoint
from ._restore import restore_callbacks as restore_callbacks
from ._restore import restore_training as restore_training
from ._resume_checks import _check_arrays as _check_arrays
from ._resume_checks import _check_early_stopping as _check_early_stopping
from ._resume_checks import _check_generator as _check_generator
from ._resume_checks import _check_like as _check_like
from ._resume_checks import _check_optimizer as _check_optimizer
from ._resume_checks import _check_schedule as _check_schedule
from ._resume_checks import _check_schedule_settings as _check_schedule_settings
from ._resume_checks import _checked_slot as _checked_slot
from ._resume_checks import check_resume as check_resume
from ._untrusted import finite_number as finite_number
from ._untrusted import natural as natural
from ._untrusted import real_number as real_number

if TYPE_CHECKING:
    from ..nn.model import Sequential
    from ..nn.optim import Optimizer

# The Checkpoint callback and save_checkpoint live here; reading and restoring
# (load_checkpoint, TrainingState, restore_training, restore_callbacks) live in ._restore, the
# checks against the training (check_resume) in ._resume_checks and the file's fields in
# ._checkpoint_format; all are re-exported here, the public face.  __all__ names the public ones
# in the order docs/api/io.md shows them (members_order: __all__): the order of a training's life.
__all__ = ["Checkpoint", "save_checkpoint", "TrainingState", "load_checkpoint",  # noqa: RUF022
           "restore_training", "check_resume", "restore_callbacks"]


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
