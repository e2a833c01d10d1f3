r"""The start of a ``fit`` call: a checkpoint restored (``fit(resume=...)``, read through the
reader that :func:`set_checkpoint_reader` installs), every callback given the call's context
and its ``on_train_begin`` called (:func:`_begin`).
"""

from __future__ import annotations

from typing import Any

from .callbacks import Callback, EarlyStopping, TrainingContext


def _begin(context: TrainingContext, resume) -> int:
    """Restore a checkpoint (``resume``), give every callback the context and call its
    ``on_train_begin``; returns the first epoch to train (past ``epochs`` when the resumed run
    had stopped early)."""
    state = None
    if resume is not None:
        state = resume if hasattr(resume, "restore_training") else _read_checkpoint(resume)
        # the EarlyStopping callbacks (early_stopping= is among them by now): checked first
        stoppers = [c for c in context.callbacks if isinstance(c, EarlyStopping)]
        state.restore_training(model=context.model, optimizer=context.optimizer,
                               rng=context.rng, schedule=context.schedule,
                               early_stopping=stoppers, epochs=context.epochs,
                               has_validation=context.has_validation)
        context.history = state.history
    for callback in context.callbacks:
        callback.context = context
        if _own_stop_flag(callback):
            callback.stop_training = False               # as fit did before the context
        callback.on_train_begin({"epochs": context.epochs, "n_batches": context.n_batches,
                                 "n_samples": context.n_samples,
                                 "has_validation": context.has_validation})
    if state is None:
        return 1
    state.restore_callbacks(context.callbacks)
    return context.epochs + 1 if state.stopped else state.epoch + 1   # stopped: done


# Training knows no file format: ``fit(resume=path)`` asks for the reader that the files
# package hands over (``deltaprop/__init__.py`` wires ``deltaprop.io.checkpoint.load_checkpoint``
# in), and applies the state it returns through the state's own ``restore_training`` and
# ``restore_callbacks``.  So the arrows point down: io imports training, never the reverse.
_checkpoint_reader: Any = None


def set_checkpoint_reader(reader: Any) -> None:
    """Install ``reader(path) -> state`` as the way ``fit(resume=path)`` reads a checkpoint."""
    global _checkpoint_reader
    _checkpoint_reader = reader


def _read_checkpoint(path: Any) -> Any:
    if _checkpoint_reader is None:                      # only when deltaprop/__init__ is bypassed
        raise RuntimeError("no checkpoint reader is installed: import deltaprop first")
    return _checkpoint_reader(path)


def _own_stop_flag(callback: Callback) -> bool:
    """A callback class that declares ``stop_training`` itself (``stop_training = False`` in
    its body, as the base class once did) hides the context's flag: fit reads its own."""
    return not isinstance(getattr(type(callback), "stop_training", None), property)
