"""What ``fit`` reports and how callers hook into it: ``History``, ``TrainingContext``,
``Callback``, ``EarlyStopping``.

The core does no I/O: ``fit`` returns a ``History``; printing, progress bars, checkpoints and
plots are callbacks that the callers (CLI, notebooks) pass in.

Before the first hook, ``fit`` gives every callback the same :class:`TrainingContext` as
``callback.context``: the model, optimiser, history, shuffling generator, schedule, all the
callbacks, the loop's sizes and the ``stop_training`` flag.  A hook reads what it needs there:

.. code-block:: python

    class StopWhenPerfect(Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
            if logs.get("accuracy") == 1.0:
                self.context.stop_training = True     # training ends after this epoch

The older spellings ``self.model``, ``self.optimizer``, ``self.history``, ``self.rng``,
``self.schedule``, ``self.callbacks`` and ``self.stop_training`` still work: they read the
context, and ``self.stop_training = True`` sets its flag (a false value cancels nothing that
another callback asked for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._checks import check_choice, check_flag, check_integer, check_number, refuse


class History:
    """Per-epoch logs of one ``fit`` call.

    Attributes
    ----------
    history : dict[str, list[float]]
        ``"loss"`` and, when computed, ``"val_loss"``, ``"accuracy"`` / ``"val_accuracy"``
        (classification) or ``"r2"`` / ``"val_r2"`` (regression), ``"lr"``; one entry per epoch.
    epochs : list[int]
        The epoch numbers logged, from 1.
    best_epoch : int or None
        The epoch early stopping kept (the one with the best monitored value), if any.
    stopped_epoch : int or None
        The epoch after which early stopping ended training, if it did.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epochs: list[int] = []
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epochs.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epochs)

    def to_dict(self) -> dict[str, Any]:
        return {"epochs": list(self.epochs), "history": {k: list(v) for k, v in
                                                         self.history.items()},
                "best_epoch": self.best_epoch, "stopped_epoch": self.stopped_epoch}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        history = cls()
        history.epochs = list(data["epochs"])
        history.history = {k: list(v) for k, v in data["history"].items()}
        history.best_epoch, history.stopped_epoch = data["best_epoch"], data["stopped_epoch"]
        return history

    def __repr__(self) -> str:
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History(epochs={len(self)}, last={last})"


@dataclass(eq=False)
class TrainingContext:
    """What the callbacks of one ``fit`` call share (``callback.context``).

    Attributes
    ----------
    model : Sequential
        The model being trained (read ``layer.params`` afresh: steps may put new arrays there).
    optimizer : Optimizer
    history : History
        The epochs logged so far (those of the resumed run too).
    rng : np.random.Generator
        ``fit``'s shuffling generator (seeded by ``seed``).
    schedule : Schedule or None
    callbacks : list of Callback
        Every callback of the call, in order (``early_stopping=`` last).
    epochs, n_batches, n_samples : int
        The last epoch, the batches per epoch and the training rows.
    has_validation : bool
        Whether ``val_`` keys are logged.
    epoch : int
        The epoch being trained, from 1 (0 before the first).
    stop_training : bool
        Set it to True in a hook to end training after the current epoch.
    """

    model: Any
    optimizer: Any
    history: History
    rng: Any
    schedule: Any = None
    callbacks: list = field(default_factory=list)
    epochs: int = 0
    n_batches: int = 0
    n_samples: int = 0
    has_validation: bool = False
    epoch: int = 0
    stop_training: bool = False


class _FromContext:
    """``callback.model`` and the like (the older spelling): inside ``fit``, the context's
    value.  A value assigned by hand is what a callback without a context reads (one outside
    any ``fit``, or one another callback forwards hooks to); inside ``fit`` the context wins,
    so ``self.model = None`` in ``__init__`` still sees the model being trained."""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, callback, owner=None):
        if callback is None:
            return self
        context = callback.__dict__.get("context")
        if context is not None:
            return getattr(context, self.name)
        return callback.__dict__.get(self.name)

    def __set__(self, callback, value) -> None:
        callback.__dict__[self.name] = value


class Callback:
    """Hooks called by ``fit``.  ``fit`` sets ``self.context`` (a :class:`TrainingContext`:
    the model, optimiser, history, shuffling generator, schedule, every callback, the loop's
    sizes) before the first hook; ``self.model``, ``self.optimizer``, ``self.history``,
    ``self.rng``, ``self.schedule`` and ``self.callbacks`` read it.

    Set ``self.context.stop_training = True`` (or ``self.stop_training = True``) in a hook to
    end training after the current epoch.

    ``rank_zero_only = True`` marks a callback with side effects (files, printing, progress):
    in ``fit(comm=...)`` over MPI it runs on rank 0 only.  The others run on every process,
    where they see the same logs and so take the same decisions (early stopping, a changed
    learning rate); a request to stop from any process stops every process.
    """

    context: TrainingContext | None = None
    rank_zero_only: bool = False
    model = _FromContext()
    optimizer = _FromContext()
    history = _FromContext()
    rng = _FromContext()
    schedule = _FromContext()
    callbacks = _FromContext()

    @property
    def stop_training(self) -> bool:
        """The context's ``stop_training`` (one flag for the whole ``fit`` call).

        Assigning a true value asks ``fit`` to stop after this epoch; a false one withdraws
        nothing (``self.stop_training = epoch == 3`` in one callback does not cancel another
        callback's request, as when each callback had its own flag)."""
        if self.context is None:
            return bool(self.__dict__.get("_stop_training", False))
        return self.context.stop_training

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        if self.context is None:
            self.__dict__["_stop_training"] = bool(value)
        elif value:
            self.context.stop_training = True

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        """Before the first epoch; ``logs`` holds ``epochs``, ``n_batches`` and ``n_samples``."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Before each epoch (counted from 1)."""

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        """After each optimiser step; ``logs`` holds the batch's ``loss``."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """After each epoch, with the epoch's logs (as stored in ``History``)."""

    def on_epoch_complete(self, epoch: int, stopped: bool) -> None:
        """After every ``on_epoch_end`` and the schedule's step: the epoch's state is final
        (``stopped`` says whether training ends here); checkpoints are written now."""

    def on_train_end(self, logs: dict[str, Any]) -> None:
        """After the last epoch (also after early stopping)."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ``restore_best_weights=True`` (default) puts back the weights of the best epoch at the end.
    ``monitor`` defaults to ``"val_loss"`` when there is validation data, else ``"loss"``.

    Checked when built: ``patience`` an integer >= 1 (``np.int64`` too), ``min_delta`` a
    finite number >= 0, ``monitor`` a str or None, ``mode`` one of ``"auto"``, ``"min"``,
    ``"max"``, ``restore_best_weights`` ``True`` / ``False``; anything else raises
    :class:`~deltaprop.InvalidParameterError`.
    """

    def __init__(self, patience: int = 5, *, monitor: str | None = None, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True) -> None:
        patience = check_integer("EarlyStopping", "patience", patience, low=1)
        min_delta = check_number("EarlyStopping", "min_delta", min_delta, low=0.0)
        if monitor is not None and not isinstance(monitor, str):
            raise refuse("EarlyStopping", "monitor",
                         "a key of the logs (a str, e.g. 'val_loss') or None", monitor)
        restore_best_weights = check_flag("EarlyStopping", "restore_best_weights",
                                          restore_best_weights)
        mode = check_choice("EarlyStopping", "mode", mode, ("auto", "min", "max"))
        self.patience, self.monitor, self.min_delta = patience, monitor, float(min_delta)
        # monitor=None: chosen again by every fit (val_loss only when it has validation data)
        self.default_monitor = monitor is None
        self.mode, self.restore_best_weights = mode, restore_best_weights
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict | None = None
        self.wait = 0

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        if self.monitor is None or getattr(self, "default_monitor", False):
            self.monitor = "val_loss" if logs.get("has_validation") else "loss"
        self.best, self.best_epoch, self.best_state, self.wait = None, None, None, 0

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        maximize = self.mode == "max" or (self.mode == "auto" and not self.monitor.endswith("loss"))
        if maximize:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, which fit does not log; "
                           f"logged: {sorted(logs)}")
        value = logs[self.monitor]
        if self._better(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = self.context.model.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.context.stop_training = True
                self.context.history.stopped_epoch = epoch

    def on_train_end(self, logs: dict[str, Any]) -> None:
        self.context.history.best_epoch = self.best_epoch
        if self.restore_best_weights and self.best_state is not None:
            self.context.model.load_state_dict(self.best_state)
