"""What the CSV and NPZ readers of ``deltaprop.datasets.files`` share: the warning they give,
which cells are numbers or missing values, cells quoted in messages, refusing a path that is
not a regular file, and the ``task`` check."""

from __future__ import annotations

import os
import re
import stat

from ._dataset import TASKS

SHOWN_CHARS = 40     # a cell quoted in a message is cut to this many characters

# a number as a CSV file writes it: ASCII digits, optional sign, point and exponent, or
# inf / nan (refused later as not finite); not Python's extras (``1_000``, ``１２``)
NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*"
                    r"|\s*[+-]?(inf|infinity|nan)\s*", re.IGNORECASE | re.ASCII)

# what spreadsheets and R / pandas write for a missing value (compared in lower case)
MISSING = frozenset({"na", "n/a", "#n/a", "null", "<na>", "?"})


class DataFileWarning(UserWarning):
    """Something in a data file that is read, but perhaps not as its author meant."""


def _is_number(text: str) -> bool:
    """Whether ``text`` is a number as CSV files write them (see ``NUMBER``)."""
    return NUMBER.fullmatch(text) is not None


def _shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters (a cell may be huge)."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"


def _cut(text: str, limit: int) -> str:
    """``text`` unquoted, cut to ``limit`` characters."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _check_regular_file(path: str, kind: str) -> None:
    """Refuse a missing path, a folder, a device or a FIFO before opening it (a FIFO would
    block the reader forever)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{kind} file not found: {path}") from None
    if not stat.S_ISREG(mode):
        what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise ValueError(f"{path} is {what}, not a {kind} file")


def _check_task(task: str | None) -> None:
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {TASKS} or None, got {task!r}")
