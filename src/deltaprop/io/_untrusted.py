"""Files as untrusted input: the shared rules (package-private).

:class:`ModelFileError`, the error of a damaged or foreign file; :func:`open_regular`, which
opens a path only when it is a regular file (not a device, FIFO or folder: checked with
``os.stat`` before opening, and again on the open descriptor, opened non-blocking);
:func:`path_text`; :func:`strict_json`, which refuses duplicate keys, ``NaN`` and ``Infinity``
(two readers could disagree on what such a text means); and the tests a number read from
such a file must pass (:func:`real_number`, :func:`finite_number`, :func:`natural`).
"""

from __future__ import annotations

import json
import math
import os
import stat
from typing import Any


class ModelFileError(ValueError):
    """A model or checkpoint file is damaged, truncated, foreign or tampered with."""


ModelFileError.__module__ = "deltaprop.io"          # its public home


def open_regular(path: str | os.PathLike, what: str = "model file"):
    """A binary file object for ``path``, refused unless it is a regular file.

    ``os.stat`` first (a FIFO or device is never opened), then ``O_NONBLOCK`` so that a file
    swapped for a FIFO between the two calls cannot block, then ``fstat`` on the descriptor.
    """
    where = path_text(path)
    try:
        info = os.stat(where)
    except FileNotFoundError:
        raise FileNotFoundError(2, f"{what} not found: {where}", where) from None
    if not stat.S_ISREG(info.st_mode):
        raise ModelFileError(f"{where}: not a regular file ({_kind(info.st_mode)}); "
                              f"a {what} must be a regular file")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(where, flags)
    try:
        opened = os.fstat(descriptor)
        if not stat.S_ISREG(opened.st_mode):
            raise ModelFileError(f"{where}: not a regular file ({_kind(opened.st_mode)}); "
                                  f"a {what} must be a regular file")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def path_text(path: Any) -> str:
    """``path`` (str, bytes or ``os.PathLike``) as text; anything else (an open file's
    number included) is a ``TypeError`` naming what it got."""
    if isinstance(path, bool) or not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path must be a str, bytes or os.PathLike, got {type(path).__name__}")
    return os.fsdecode(path)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO / named pipe"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a plain file"


def strict_json(text: str | bytes, *, constants: bool = False) -> Any:
    """``json.loads`` that refuses duplicate keys, deep nesting and (unless ``constants``)
    ``NaN`` / ``Infinity``."""
    def no_constant(name: str) -> Any:
        if constants:
            return float(name)
        raise ValueError(f"{name} is not allowed")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
            raise ValueError(f"duplicate key {duplicate!r}")
        return result

    try:
        return json.loads(text, parse_constant=no_constant, object_pairs_hook=no_duplicates)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def real_number(value: Any) -> bool:
    """An int or float (not a bool) that a float can hold: NaN and infinities included, an
    integer beyond float's range (``10**400``, valid JSON) not, so ``math.isfinite`` and
    arithmetic on it cannot raise ``OverflowError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def finite_number(value: Any) -> bool:
    """A :func:`real_number` that is neither NaN nor infinite."""
    return real_number(value) and math.isfinite(value)


def natural(value: Any) -> bool:
    """An int >= 0 (not a bool) that a float can hold (a count, a size, an epoch)."""
    return isinstance(value, int) and real_number(value) and value >= 0
