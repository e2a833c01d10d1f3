r"""The data that travels between the checker and its child process, and how it is read.

Inputs go out as JSON numbers (exact for float64: Python writes the shortest repr that reads
back to the same double).  Results come back as JSON lines, one per event, read with a size
limit, without following links, and against a strict schema: arrays become float64 arrays
here; anything else is refused as damaged (the learner's code could write into these files).
"""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FILE_SIZE_LIMIT = 64 * 1024 ** 2  # bytes any file the child writes may reach (RLIMIT_FSIZE)
RESULTS_LIMIT = FILE_SIZE_LIMIT  # bytes of results read back, at most
MAX_DEPTH = 8                    # nesting of a decoded return value


@dataclass(eq=False)
class LearnerError(Exception):
    """What the learner's code raised, or how its process ended, located in its file."""

    kind: str                  # the exception class name, e.g. "NotImplementedError"
    message: str
    line: int | None           # line number in the learner's file (None if not known)
    source: str                # that line's text, stripped

    def __str__(self) -> str:
        where = f"line {self.line}: {self.source}  ->  " if self.line else ""
        return f"{where}{self.kind}: {self.message}"


@dataclass(frozen=True)
class Unreadable:
    """A returned value the child could not send as an array of real numbers."""

    reason: str                # e.g. "complex numbers (dtype complex128)"
    kind: str = "type"         # "type" (complex, object, text) or "size" (far too large)


@dataclass
class Call:
    """One call of a learner function on one test case."""

    id: int
    function: str
    names: tuple[str, ...]     # the argument names, for "changed in place" messages
    inputs: list[Any]          # arrays, lists of arrays, numbers


@dataclass
class Returned:
    """What one call gave back: a value (arrays, tuples, None, Unreadable) or an error."""

    value: Any = None
    error: LearnerError | None = None
    modified: list[str] = field(default_factory=list)   # inputs changed in place


@dataclass
class RunReport:
    """Everything the child processes sent back about one learner file."""

    loaded: bool = False
    topic: str | None = None
    functions: list[str] = field(default_factory=list)  # the practice functions defined
    import_error: LearnerError | None = None
    returned: dict[int, Returned] = field(default_factory=dict)     # call id -> result
    stopped: dict[str, LearnerError] = field(default_factory=dict)  # function -> why
    output: str = ""                                    # the learner's prints, trimmed


class DamagedResultsError(ValueError):
    """The results file does not follow the schema (a learner wrote into it?)."""


def read_bytes(path: Path, limit: int) -> bytes | None:
    """A regular file's bytes (no symlink followed), or None if missing; raises if too big
    or not a regular file.  Opened without blocking: a FIFO put in its place (the learner's
    code can) is refused, never waited on."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DamagedResultsError(f"{path.name} is not a regular file")
        if info.st_size > limit:
            raise DamagedResultsError(f"{path.name} holds {info.st_size} bytes, more than "
                                      f"{limit}")
        return file.read(limit + 1)[:limit]


def read_text(path: Path, limit: int) -> str:
    """:func:`read_bytes` as text (undecodable bytes replaced); "" if it cannot be read."""
    try:
        data = read_bytes(path, limit)
    except DamagedResultsError:
        return ""
    return (data or b"").decode("utf-8", errors="replace")


def read_records(path: Path, most: int) -> tuple[list[dict], str | None]:
    """The valid JSON lines of the results file (at most ``most``: a run of the plan writes
    fewer), and why reading stopped early (if it did)."""
    try:
        data = read_bytes(path, RESULTS_LIMIT)
    except DamagedResultsError as error:
        return [], str(error)
    if data is None:
        return [], "there is no results file"
    complete = data.split(b"\n", most)[:-1]   # a last line without its newline: cut off
    records = []
    for number, line in enumerate(complete, 1):
        try:
            record = json.loads(line.decode("utf-8"))
            _check_record(record)
        except (ValueError, TypeError, KeyError, RecursionError) as error:
            return records, f"line {number} of the results is damaged ({error})"
        records.append(record)
    if len(complete) == most and data.count(b"\n") > most:
        return records, f"it holds more than {most} records, more than the plan can write"
    return records, None


EVENTS = {"loaded": ("topic", "functions"), "import_failed": ("error",), "start": ("call",),
          "done": ("call",), "os_exit": ("code", "line"), "crashed": ("error",),
          "finished": (), "gradcheck": ("id",)}


def _check_record(record: Any) -> None:
    if not isinstance(record, dict) or record.get("event") not in EVENTS:
        raise ValueError("not an event of the checker's child")
    missing = [key for key in EVENTS[record["event"]] if key not in record]
    if missing:
        raise ValueError(f"{record['event']} lacks {', '.join(missing)}")
    if "call" in record and (type(record["call"]) is not int):
        raise ValueError("a call id is not an integer")


def fold_records(report: RunReport, records: list[dict]
                 ) -> tuple[int | None, str | None, list[dict]]:
    """Fold one run's records into ``report``: the id of a call that started and did not
    finish, why reading stopped early (or None), and the records up to there."""
    started = None
    for index, record in enumerate(records):
        event = record["event"]
        try:
            if event == "loaded":
                report.loaded = True
                report.topic = record["topic"] if isinstance(record["topic"], str) else None
                report.functions = [str(name) for name in record["functions"]]
            elif event == "import_failed" and not report.loaded:
                report.import_error = error_from(record["error"])
            elif event == "start":
                started = record["call"]
            elif event == "done":
                report.returned[record["call"]] = _returned(record)
                started = None
        except (ValueError, TypeError, KeyError, RecursionError, OverflowError) as error:
            return started, f"a {event} record is damaged ({error})", records[:index]
    return started, None, records


def error_from(data: Any) -> LearnerError:
    if not isinstance(data, dict):
        raise ValueError("an error record is not an object")
    line = data.get("line")
    if line is not None and type(line) is not int:
        raise ValueError("an error line is not an integer")
    kind, message, source = (str(data.get(k, "")) for k in ("kind", "message", "source"))
    if data.get("while"):
        message = f"{message} (while {data['while']})"
    return LearnerError(kind[:100], message[:2000], line, source[:500])


def _returned(record: dict) -> Returned:
    modified = record.get("modified", [])
    if not isinstance(modified, list) or not all(isinstance(m, str) for m in modified):
        raise ValueError("the changed inputs are not a list of names")
    if "raised" in record:
        return Returned(error=error_from(record["raised"]), modified=modified)
    return Returned(value=_decode_value(record["value"], 0), modified=modified)


def _decode_value(value: Any, depth: int) -> Any:
    """JSON data from the child -> None, tuples / lists, float64 arrays or Unreadable."""
    if depth > MAX_DEPTH or not isinstance(value, dict):
        raise ValueError("a returned value is not in the checker's format")
    if value.get("none") is True:
        return None
    if "seq" in value:
        items = [_decode_value(item, depth + 1) for item in value["seq"]]
        return tuple(items) if value.get("tuple") is True else items
    if "unreadable" in value:
        return Unreadable(str(value["unreadable"])[:300], "size" if "shape" in value else "type")
    shape, data = value["array"]["shape"], value["array"]["data"]
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape) \
            or not isinstance(data, list) or math.prod(shape) != len(data) \
            or not all(type(x) in (int, float) for x in data):
        raise ValueError("a returned array is not a shape and as many numbers")
    return np.array(data, dtype=np.float64).reshape(shape)


def encode_input(value: Any) -> dict:
    if isinstance(value, list):
        return {"list": [encode_input(item) for item in value]}
    if isinstance(value, np.ndarray):
        return {"array": {"dtype": value.dtype.str, "shape": list(value.shape),
                          "data": value.ravel().tolist()}}
    return {"number": value}
