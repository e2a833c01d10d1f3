r"""Run a learner's file in a separate Python process, and read back only data.

The learner's code never runs in the checker's process.  :func:`run_file` writes the calls
to make (function name and inputs, as JSON numbers: exact for float64) to a private
temporary directory and starts ``python -I _child.py DIR`` (isolated mode: no ``PYTHONPATH``,
no user site, no current directory on ``sys.path``) in a new session, so that:

- a wall-clock limit is enforced from outside: past ``timeout`` seconds the parent asks the
  child where it is (``SIGUSR1`` → :mod:`faulthandler`, for the learner's line) and then kills
  its whole process group with ``SIGKILL`` (not asked, so nothing can ignore it);
- memory (``RLIMIT_AS``, :data:`MEMORY_LIMIT`) and written file sizes are limited where the
  platform has ``resource``;
- the learner's stdout and stderr go to files (never a pipe that can fill up), read back
  trimmed; the results travel in their own file, so printing to ``sys.__stdout__`` or closing
  descriptor 1 changes nothing;
- the results are JSON lines read with a size limit and a strict schema: arrays become float64
  arrays here, anything else is refused as damaged.

On Linux the child is a ``fork`` of a warm server (:class:`_ForkServer`) that has imported
NumPy once and never runs learner code: the same isolation, without the ~0.1 s start-up.
Elsewhere, or if the server fails, a new process is started.  This is not a sandbox against
a malicious author: the child runs as the same user, with the same files and network.

Every way the child can end (exit of any kind, a signal, a timeout, a crash, damaged results)
becomes a :class:`LearnerError` for the function whose call was running; the other functions'
remaining calls are run again in a fresh child, so one endless loop does not hide the verdict
on the rest.  The verdicts themselves are computed by :mod:`~deltaprop.practice.checker` in
this process, against the engine.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CHILD = Path(__file__).with_name("_child.py")
TIME_LIMIT = 10.0                # seconds the learner's file may run (load and all calls)
MEMORY_LIMIT = 2 * 1024 ** 3     # bytes of address space for the child (RLIMIT_AS)
FILE_SIZE_LIMIT = 64 * 1024 ** 2  # bytes any file the child writes may reach (RLIMIT_FSIZE)
RESULTS_LIMIT = FILE_SIZE_LIMIT  # bytes of results read back, at most
OUTPUT_LIMIT = 2000              # characters of the learner's prints kept (the end)
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


def run_file(path: Path, calls: list[Call], topics: dict[str, tuple[str, ...]],
             timeout: float = TIME_LIMIT) -> RunReport:
    """Run ``calls`` of the learner's file at ``path`` in child processes; see the module doc.

    ``topics`` maps a ``DELTAPROP_TOPIC`` marker to the functions to call; unmarked files
    have every function of ``calls`` that they define called.
    """
    report = RunReport()
    pending = list(calls)
    functions = list(dict.fromkeys(call.function for call in calls))
    while pending:
        outcome = _run_once(path, pending, functions, topics, timeout)
        report.output = outcome.output or report.output
        started = _apply(report, outcome)
        if not report.loaded:
            report.import_error = report.import_error or _ending(outcome, timeout,
                                                                 "while being loaded")
            return report
        pending = [c for c in pending if c.id not in report.returned
                   and c.function in report.functions and c.function not in report.stopped]
        if not pending or outcome.finished:
            break
        culprit = next((c.function for c in pending if c.id == started), None)
        ending = _ending(outcome, timeout, "")
        for name in [culprit] if culprit else dict.fromkeys(c.function for c in pending):
            report.stopped[name] = ending
        pending = [c for c in pending if c.function not in report.stopped]
    return report


@dataclass
class _Outcome:
    records: list[dict]
    damaged: str | None        # why the results could not be read past ``records``
    returncode: int
    timed_out: bool
    trace: str                 # faulthandler's dump: where the child was when stopped
    output: str
    path: Path

    @property
    def finished(self) -> bool:
        return any(r["event"] == "finished" for r in self.records)


def _run_once(path, calls, functions, topics, timeout) -> _Outcome:
    workdir = Path(tempfile.mkdtemp(prefix="deltaprop-check-"))
    try:
        plan = {"path": str(path.resolve()), "cwd": os.getcwd(), "functions": functions,
                "topics": {k: list(v) for k, v in topics.items()},
                "memory_limit": MEMORY_LIMIT, "file_size_limit": FILE_SIZE_LIMIT,
                "calls": [{"id": c.id, "function": c.function, "names": list(c.names),
                           "inputs": [_encode_input(v) for v in c.inputs]} for c in calls]}
        (workdir / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        with open(workdir / "stdout.txt", "w+b") as out, \
                open(workdir / "stderr.txt", "w+b") as err:
            returncode, timed_out = _start(workdir, out, err, timeout)
            output = _tail(out, err)
        records, damaged = _read_records(workdir / "results.jsonl")
        trace = _read_text(workdir / "trace.txt", 1024 * 1024)
        return _Outcome(records, damaged, returncode, timed_out, trace, output, path.resolve())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _child_env() -> dict[str, str]:
    return dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                MKL_NUM_THREADS="1")


def _start(workdir: Path, out, err, timeout: float) -> tuple[int, bool]:
    """Run the plan in a fork of the warm server where there is one, else in a new process."""
    server = _fork_server()
    if server is not None and server.busy.acquire(blocking=False):   # one run at a time
        try:
            return server.run(workdir, timeout)
        except _ServerBrokenError as error:
            _discard_server()
            if error.started:        # the run began: its records tell how far it got
                return 1, False
            for name in ("results.jsonl", "trace.txt"):      # start over, cleanly
                with contextlib.suppress(OSError):
                    (workdir / name).unlink()
            for file in (out, err):
                file.truncate(0)
        finally:
            server.busy.release()
    return _spawn(workdir, out, err, timeout)


def _spawn(workdir: Path, out, err, timeout: float) -> tuple[int, bool]:
    """Start ``python -I _child.py DIR``, wait at most ``timeout`` s, leave nothing running."""
    posix = os.name == "posix"
    process = subprocess.Popen([sys.executable, "-I", "-u", str(CHILD), str(workdir)],
                               stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                               env=_child_env(), start_new_session=posix, close_fds=True)
    timed_out = False
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        if posix:                                    # where is it? (the learner's line)
            with contextlib.suppress(OSError):
                os.kill(process.pid, signal.SIGUSR1)
            time.sleep(0.1)
    finally:
        _kill(process, posix)
    return process.returncode, timed_out


class _ServerBrokenError(RuntimeError):
    """The fork server did not answer as agreed (``started``: after the run began)."""

    started = False


class _ForkServer:
    r"""``python -I _child.py --server``: NumPy imported once, one fork per run.

    Each run is a fresh process (``fork`` of a server that never ran learner code), in its
    own session, with the same limits as a new process; it only skips the interpreter's and
    NumPy's start-up (about 0.1 s).  The server ends when the checker's process does (end
    of its stdin).
    """

    def __init__(self):
        self.owner = os.getpid()
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-u", str(CHILD), "--server"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_child_env(),
            start_new_session=True, close_fds=True)
        self.buffer = b""
        self.busy = threading.Lock()

    def usable(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def run(self, workdir: Path, timeout: float) -> tuple[int, bool]:
        pid = None
        try:
            self.process.stdin.write(f"{workdir}\n".encode())
            self.process.stdin.flush()
            pid = self._answer("pid", time.monotonic() + SERVER_PATIENCE)
            status = self._answer("status", time.monotonic() + timeout)
            timed_out = status is None
            if timed_out:
                with contextlib.suppress(OSError):           # where is it?
                    os.kill(pid, signal.SIGUSR1)
                time.sleep(0.1)
                _kill_group(pid)
                status = self._answer("status", time.monotonic() + SERVER_PATIENCE)
            _kill_group(pid)                                 # what it started, too
            if status is None:
                raise _ServerBrokenError("no exit status")
            return status, timed_out
        except BaseException as error:
            if pid is not None:
                _kill_group(pid)
                if isinstance(error, _ServerBrokenError):
                    error.started = True
            raise

    def _answer(self, word: str, deadline: float) -> int | None:
        """The number of the next ``word N`` line; None if the deadline passed first."""
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                if word == "pid":
                    raise _ServerBrokenError("the fork server did not start a run")
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise _ServerBrokenError("the fork server has ended")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        found, _, number = line.decode("ascii", errors="replace").partition(" ")
        if found != word or not number.lstrip("-").isdigit():
            raise _ServerBrokenError(f"unexpected answer {line[:80]!r}")
        return int(number)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(1.0)
        except subprocess.TimeoutExpired:
            _kill(self.process, True)


SERVER_PATIENCE = 30.0           # seconds the server may take to start or to reap a run
USE_FORK_SERVER = sys.platform.startswith("linux")
_server: list[_ForkServer] = []
_server_lock = threading.Lock()


def _fork_server() -> _ForkServer | None:
    """The warm fork server of this process (started on first use), or None where none."""
    if not USE_FORK_SERVER:
        return None
    with _server_lock:
        if _server and not _server[0].usable():
            _server.clear()
        if not _server:
            try:
                _server.append(_ForkServer())
            except OSError:
                return None
        return _server[0]


def _discard_server() -> None:
    with _server_lock:
        if _server:
            if _server[0].owner == os.getpid():
                _server[0].close()
            _server.clear()


atexit.register(_discard_server)


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(OSError):
            kill(pid, signal.SIGKILL)


def _kill(process: subprocess.Popen, posix: bool) -> None:
    """SIGKILL the child's whole process group (what it started too), then reap it."""
    if posix:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        process.kill()                               # even if it left its group
    process.wait()


def _tail(*files) -> str:
    """The end of what the learner printed (stdout, then stderr), at most OUTPUT_LIMIT chars."""
    parts = []
    for file in files:
        size = file.seek(0, os.SEEK_END)
        file.seek(max(0, size - 4 * OUTPUT_LIMIT))
        text = file.read().decode("utf-8", errors="replace").strip()
        if text:
            parts.append(text)
    text = "\n".join(parts)
    return text if len(text) <= OUTPUT_LIMIT else "…" + text[-OUTPUT_LIMIT:]


def _read_bytes(path: Path, limit: int) -> bytes | None:
    """A regular file's bytes (no symlink followed), or None if missing; raises if too big."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
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


def _read_text(path: Path, limit: int) -> str:
    try:
        data = _read_bytes(path, limit)
    except DamagedResultsError:
        return ""
    return (data or b"").decode("utf-8", errors="replace")


def _read_records(path: Path) -> tuple[list[dict], str | None]:
    """The valid JSON lines of the results file, and why reading stopped early (if it did)."""
    try:
        data = _read_bytes(path, RESULTS_LIMIT)
    except DamagedResultsError as error:
        return [], str(error)
    if data is None:
        return [], "there is no results file"
    lines = data.split(b"\n")
    complete = lines[:-1]            # a last line without its newline was cut off: skip it
    records = []
    for number, line in enumerate(complete, 1):
        try:
            record = json.loads(line.decode("utf-8"))
            _check_record(record)
        except (ValueError, TypeError, KeyError, RecursionError) as error:
            return records, f"line {number} of the results is damaged ({error})"
        records.append(record)
    return records, None


EVENTS = {"loaded": ("topic", "functions"), "import_failed": ("error",), "start": ("call",),
          "done": ("call",), "os_exit": ("code", "line"), "crashed": ("error",),
          "finished": ()}


def _check_record(record: Any) -> None:
    if not isinstance(record, dict) or record.get("event") not in EVENTS:
        raise ValueError("not an event of the checker's child")
    missing = [key for key in EVENTS[record["event"]] if key not in record]
    if missing:
        raise ValueError(f"{record['event']} lacks {', '.join(missing)}")
    if "call" in record and (type(record["call"]) is not int):
        raise ValueError("a call id is not an integer")


def _apply(report: RunReport, outcome: _Outcome) -> int | None:
    """Fold one run's records into ``report``; the id of a call that started, not done."""
    started = None
    for index, record in enumerate(outcome.records):
        event = record["event"]
        try:
            if event == "loaded":
                report.loaded = True
                report.topic = record["topic"] if isinstance(record["topic"], str) else None
                report.functions = [str(name) for name in record["functions"]]
            elif event == "import_failed" and not report.loaded:
                report.import_error = _error(record["error"])
            elif event == "start":
                started = record["call"]
            elif event == "done":
                report.returned[record["call"]] = _returned(record)
                started = None
        except (ValueError, TypeError, KeyError, RecursionError, OverflowError) as error:
            outcome.damaged = f"a {event} record is damaged ({error})"
            outcome.records = outcome.records[:index]
            break
    return started


def _error(data: Any) -> LearnerError:
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
        return Returned(error=_error(record["raised"]), modified=modified)
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


def _encode_input(value: Any) -> dict:
    if isinstance(value, list):
        return {"list": [_encode_input(item) for item in value]}
    if isinstance(value, np.ndarray):
        return {"array": {"dtype": value.dtype.str, "shape": list(value.shape),
                          "data": value.ravel().tolist()}}
    return {"number": value}


SIGNAL_NOTES = {"SIGKILL": " (out of memory?)", "SIGSEGV": " (a crash in compiled code, or "
                "out of memory)", "SIGABRT": " (aborted, often out of memory)",
                "SIGXFSZ": " (it wrote a file larger than the limit)"}


def _ending(outcome: _Outcome, timeout: float, when: str) -> LearnerError:
    """How the child ended early, as a :class:`LearnerError` with the learner's line."""
    line, source = _trace_line(outcome.trace, outcome.path)
    when = f" {when}" if when else ""
    exits = [r for r in outcome.records if r["event"] in ("os_exit", "crashed")]
    if outcome.timed_out:
        return LearnerError("LearnerTimeoutError", f"still running after {timeout:g} s{when}, "
                            "so it was stopped (an endless loop? a bare `except:` in a loop "
                            "can make one)", line, source)
    if exits and exits[-1]["event"] == "os_exit":
        found = exits[-1]
        line = found["line"] if type(found["line"]) is int else None
        return LearnerError("os._exit", f"your file called os._exit({found['code']}){when}",
                            line, str(found.get("source", ""))[:500])
    if exits:
        with contextlib.suppress(ValueError):
            error = _error(exits[-1]["error"])
            error.message = f"{error.message}, outside any of its functions{when}"
            return error
    if outcome.returncode < 0:
        name = _signal_name(-outcome.returncode)
        return LearnerError("Signal", f"the process running your file was killed by {name}"
                            f"{SIGNAL_NOTES.get(name, '')}{when}", line, source)
    if outcome.damaged:
        return LearnerError("DamagedResults", f"the checker could not read what your file "
                            f"returned: {outcome.damaged}{when}", None, "")
    return LearnerError("ProcessExit", f"the process running your file ended with exit code "
                        f"{outcome.returncode} before the checks were done{when} (os._exit, "
                        "os.close of the checker's files, or a thread that ended it?)",
                        line, source)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _trace_line(trace: str, path: Path) -> tuple[int | None, str]:
    """The learner's innermost line in faulthandler's dump (the main thread first)."""
    blocks = [block for block in trace.split("\n\n") if block.strip()]
    blocks.sort(key=lambda block: "_child.py" not in block)   # the thread running the calls
    marker = f'File "{path}", line '
    for block in blocks:
        for text in block.splitlines():          # most recent call first
            start = text.find(marker)
            if start >= 0:
                digits = text[start + len(marker):].split(" ", 1)[0]
                if digits.isdigit():
                    number = int(digits)
                    return number, _source_line(path, number)
    return None, ""


def _source_line(path: Path, number: int) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            for index, text in enumerate(file, 1):
                if index == number:
                    return text.strip()[:500]
    except OSError:
        pass
    return ""
