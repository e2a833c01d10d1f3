"""Import a learner's file from its path and call its functions without letting them crash us.

The learner's code runs in this process (as ``python file.py`` would): it is imported with
:mod:`importlib` under a private module name, never added to ``sys.modules``; its prints go
to stderr so ``--format json`` stays parseable; its warnings are silenced (a NumPy overflow
warning is not a mistake of the checker); a call that runs past ``TIME_LIMIT`` seconds is
interrupted (Unix, main thread).  Any exception, at import or in a call, becomes a
:class:`LearnerError` that carries the line of the learner's file where it happened.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import linecache
import signal
import sys
import threading
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

_counter = itertools.count()


@dataclass(eq=False)
class LearnerError(Exception):
    """An exception raised by the learner's code, located in the learner's file."""

    kind: str                  # the exception class name, e.g. "NotImplementedError"
    message: str
    line: int | None           # line number in the learner's file (None if not found)
    source: str                # that line's text, stripped

    def __str__(self) -> str:
        where = f"line {self.line}: {self.source}  ->  " if self.line else ""
        return f"{where}{self.kind}: {self.message}"


def _locate(error: BaseException, path: Path) -> tuple[int | None, str]:
    """The deepest line of ``path`` in the traceback of ``error``."""
    if isinstance(error, SyntaxError) and error.lineno and Path(error.filename or "") == path:
        return error.lineno, (error.text or "").strip()
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if Path(frame.filename).resolve() == path:
            line = frame.lineno
    if line is None:
        return None, ""
    return line, linecache.getline(str(path), line).strip()


def _wrap(error: BaseException, path: Path) -> LearnerError:
    line, source = _locate(error, path)
    message = error.msg if isinstance(error, SyntaxError) else str(error)
    return LearnerError(type(error).__name__, str(message), line, source)


TIME_LIMIT = 10.0     # seconds one learner call (or the import) may run, where enforceable


class LearnerTimeoutError(Exception):
    """Raised inside the learner's code when it runs past :data:`TIME_LIMIT`."""


def _on_alarm(signum, frame):
    raise LearnerTimeoutError(f"still running after {TIME_LIMIT:g} s (an endless loop?)")


@contextlib.contextmanager
def _time_limit():
    """SIGALRM-based limit: only on Unix and in the main thread (else no limit)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _guarded():
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings(), _time_limit():
        warnings.simplefilter("ignore")
        yield


def load_module(path: str | Path) -> ModuleType:
    """Execute the learner's file as a fresh module; raise :class:`LearnerError` if it fails."""
    path = Path(path).resolve()
    name = f"_deltaprop_practice_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LearnerError("ImportError", f"cannot import {path} as Python", None, "")
    module = importlib.util.module_from_spec(spec)
    linecache.checkcache(str(path))            # the file may have changed since last read
    try:
        with _guarded():
            spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - any error in the learner's file is reported
        raise _wrap(error, path) from None
    return module


def call(function: Any, path: str | Path, args: list[Any]) -> Any:
    """Call one learner function with positional ``args``; raise :class:`LearnerError` if it
    raises (positional, so the learner may name the parameters as they like)."""
    try:
        with _guarded():
            return function(*args)
    except Exception as error:  # noqa: BLE001 - the learner's exception is the finding
        raise _wrap(error, Path(path).resolve()) from None
