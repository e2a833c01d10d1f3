"""Progress reporting for ``fit``: the :class:`ProgressBar` callback.

Nothing prints unless the caller passes the callback (the library itself does no I/O):

.. code-block:: python

    history = fit(model, X, y, loss="cross_entropy", optimizer="adam", epochs=20,
                  callbacks=[ProgressBar()])

On a terminal it draws a tqdm bar over each epoch's batches (running loss), replaced at the
epoch's end by one line of its figures cut to the terminal's width: the validation figures
are kept last of all (``lr``, the time, the training metric and the training loss give way
first), so an 80-column terminal still shows them.  When the stream is not a terminal (a CI
log, a file, a pipe) it writes ONE plain line per epoch instead, so logs stay readable.
tqdm is optional (``pip install 'deltaprop[progress]'``): without it the per-epoch lines
are used everywhere.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any, TextIO

import numpy as np

from .._checks import check_flag, refuse
from .callbacks import Callback

_ORDER = ("loss", "accuracy", "r2", "val_loss", "val_accuracy", "val_r2", "val_mse", "lr")


def format_logs(logs: dict[str, float]) -> str:
    """``"loss 0.4123  accuracy 0.9120  val_loss 0.4550"``: the known keys first, in order."""
    keys = [k for k in _ORDER if k in logs] + sorted(k for k in logs if k not in _ORDER)
    return "  ".join(f"{key} {logs[key]:.4g}" if key == "lr" else f"{key} {logs[key]:.4f}"
                     for key in keys)


# on a terminal: shorter names, and what gives way first when the line is too wide
_SHORT = {"accuracy": "acc", "val_accuracy": "val_acc"}
_GIVES_WAY = ("lr", "time", "mse", "val_mse", "r2", "accuracy", "loss")


def epoch_line(head: str, logs: dict[str, float], seconds: float, width: int) -> str:
    """``head`` and the epoch's figures in at most ``width`` characters, the validation
    figures kept longest (see ``_GIVES_WAY``)."""
    keys = [k for k in _ORDER if k in logs] + sorted(k for k in logs if k not in _ORDER)
    items = {key: f"{_SHORT.get(key, key)} {logs[key]:.4g}" if key == "lr" else
             f"{_SHORT.get(key, key)} {logs[key]:.4f}" for key in keys}
    items["time"] = f"({seconds:.2f} s)"
    for key in (None, *_GIVES_WAY):
        items.pop(key, None)
        line = "  ".join([head, *items.values()])
        if len(line) <= width:
            return line
    return line[:width]                        # a width too narrow for one figure: cut


class ProgressBar(Callback):
    """Show training progress: a tqdm bar per epoch on a terminal, one line per epoch otherwise.

    Parameters
    ----------
    file : text stream, optional
        Where to write; ``sys.stderr`` (looked up when training starts) by default.
    quiet : bool
        Write nothing at all (the CLI's ``--quiet``).
    bar : "auto", True or False
        ``"auto"`` uses a tqdm bar when ``file.isatty()`` and tqdm is installed; ``False``
        always writes plain lines; ``True`` asks for tqdm (ImportError if missing).
    ncols : int or None
        The terminal's width for the bar and the epoch lines; ``None``: as the terminal
        reports it (80 when it does not).
    """

    rank_zero_only = True                    # under MPI: one bar, on rank 0

    def __init__(self, *, file: TextIO | None = None, quiet: bool = False,
                 bar: Any = "auto", ncols: int | None = None) -> None:
        if not (isinstance(bar, (bool, np.bool_)) or (isinstance(bar, str) and bar == "auto")):
            raise refuse("ProgressBar", "bar", "'auto', True or False", bar)
        self.file, self.bar = file, bar if isinstance(bar, str) else bool(bar)
        self.quiet = check_flag("ProgressBar", "quiet", quiet)
        if ncols is not None and (isinstance(ncols, bool) or not isinstance(ncols, int)
                                  or ncols < 20):
            raise refuse("ProgressBar", "ncols", "None or an integer >= 20", ncols)
        self.ncols = ncols
        self.mode: str | None = None            # "tqdm", "lines" or "quiet" once training starts
        self._tqdm: Any = None
        self._pbar: Any = None

    def _stream(self) -> TextIO:
        return self.file if self.file is not None else sys.stderr

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.epochs, self.n_batches = logs.get("epochs"), logs.get("n_batches")
        self.mode = "quiet" if self.quiet else "lines"
        if not self.quiet and self.bar is not False:
            is_tty = bool(getattr(self._stream(), "isatty", lambda: False)())
            if self.bar is True or is_tty:
                try:
                    from tqdm import tqdm
                except ImportError as error:
                    if self.bar is True:
                        raise ImportError("ProgressBar(bar=True) needs tqdm: "
                                          "pip install 'deltaprop[progress]'") from error
                else:
                    self._tqdm, self.mode = tqdm, "tqdm"

    def on_epoch_begin(self, epoch: int) -> None:
        self._start, self._loss_sum, self._seen = time.perf_counter(), 0.0, 0
        if self.mode == "tqdm":
            width = len(str(self.epochs))
            self._pbar = self._tqdm(total=self.n_batches, file=self._stream(), leave=False,
                                    desc=f"epoch {epoch:>{width}}/{self.epochs}",
                                    unit="batch", ncols=self._width())

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        if self.mode != "tqdm":
            return
        self._loss_sum += logs["loss"]
        self._seen += 1
        self._pbar.update(1)
        self._pbar.set_postfix_str(f"loss {self._loss_sum / self._seen:.4f}", refresh=False)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.mode == "tqdm":                   # the bar gives way to one line that fits
            self._pbar.close()
            self._pbar = None
            seconds = time.perf_counter() - self._start
            width = len(str(self.epochs))
            stream = self._stream()
            stream.write(epoch_line(f"epoch {epoch:>{width}}/{self.epochs}", logs, seconds,
                                    self._width() - 1) + "\n")
            stream.flush()
        elif self.mode == "lines":
            seconds = time.perf_counter() - self._start
            stream = self._stream()
            stream.write(f"epoch {epoch}/{self.epochs}  {format_logs(logs)}  ({seconds:.2f} s)\n")
            stream.flush()

    def _width(self) -> int:
        return self.ncols if self.ncols is not None else \
            shutil.get_terminal_size((80, 24)).columns

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self._pbar is not None:                # training ended inside an epoch
            self._pbar.close()
            self._pbar = None
        history = None if self.context is None else self.context.history
        if self.mode == "lines" and history is not None and history.stopped_epoch is not None:
            self._stream().write(f"early stopping after epoch {history.stopped_epoch}\n")
