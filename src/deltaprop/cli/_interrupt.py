"""Ctrl-C during ``deltaprop train``: finish the current batch, then stop so the model is saved.

While :meth:`StopOnInterrupt.installed` is active, SIGINT only sets a flag; the callback
raises :class:`TrainingInterrupted` from ``fit`` right after the optimiser step in which
the signal arrived (or at the end of an epoch, when it arrived during validation), so the
weights are those of whole steps.  A second Ctrl-C quits at once, without saving.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..training.callbacks import Callback, History


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C ended ``fit`` after batch ``batch`` of ``n_batches`` in epoch ``epoch``;
    ``history`` holds the epochs completed before."""

    def __init__(self, epoch: int, batch: int, n_batches: int, history: History) -> None:
        super().__init__(f"interrupted at epoch {epoch}, batch {batch} of {n_batches}")
        self.epoch, self.batch, self.n_batches = epoch, batch, n_batches
        self.history = history


class StopOnInterrupt(Callback):
    """The callback that turns a Ctrl-C into a clean stop after a whole optimiser step."""

    def __init__(self) -> None:
        self.requested = False

    @contextmanager
    def installed(self) -> Iterator[None]:
        """SIGINT sets the flag while inside; the previous handler is restored after."""
        if threading.current_thread() is not threading.main_thread():
            yield                                # signals reach the main thread only
            return
        previous = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous if previous is not None
                          else signal.default_int_handler)

    def _on_sigint(self, signum, frame) -> None:
        if self.requested:                       # the second Ctrl-C: quit now
            raise KeyboardInterrupt
        self.requested = True

    def on_batch_end(self, batch, logs):
        if self.requested:                       # where: fit's context
            context = self.context
            raise TrainingInterrupted(context.epoch, batch, context.n_batches, context.history)

    def on_epoch_complete(self, epoch, stopped):
        # Ctrl-C during validation: the epoch is whole; after the last one, training is done
        context = self.context
        if self.requested and not stopped and epoch < context.epochs:
            raise TrainingInterrupted(epoch, context.n_batches, context.n_batches,
                                      context.history)
