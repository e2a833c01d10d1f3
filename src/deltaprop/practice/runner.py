r"""Run a learner's file in a separate Python process, and read back only data.

The learner's code never runs in the checker's process.  :func:`run_file` writes the calls
to make (function name and inputs, as JSON numbers: exact for float64) to a private
temporary directory and runs ``_child.py`` on it in its own session (``python -I``, isolated
mode: no ``PYTHONPATH``, no user site, no current directory on ``sys.path``), so that:

- a wall-clock limit is enforced from outside: past ``timeout`` seconds the parent asks the
  child where it is (``SIGUSR1`` → :mod:`faulthandler`, for the learner's line) and then kills
  its whole process group with ``SIGKILL`` (not asked, so nothing can ignore it);
- memory (``RLIMIT_AS``, :data:`MEMORY_LIMIT`) and written file sizes are limited where the
  platform has ``resource``;
- the learner's stdout and stderr go to files (never a pipe that can fill up), read back
  trimmed; the results travel in their own file, so printing to ``sys.__stdout__`` or closing
  descriptor 1 changes nothing;
- the results are JSON lines read with a size limit and a strict schema (:mod:`._protocol`):
  arrays become float64 arrays here, anything else is refused as damaged.

How the child is started and stopped (a new process, or on Linux a fork of a warm server that
has imported NumPy once) is :mod:`._processes`.  This is not a sandbox against a malicious
author: the child runs as the same user, with the same files and network.

Every way the child can end (exit of any kind, a signal, a timeout, a crash, damaged results)
becomes a :class:`LearnerError` for the function whose call was running; the other functions'
remaining calls are run again in a fresh child, so one endless loop does not hide the verdict
on the rest.  The verdicts themselves are computed by :mod:`~deltaprop.practice.checker` in
this process, against the engine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ._processes import SERVER_FAILED, start
from ._protocol import (
    FILE_SIZE_LIMIT,
    Call,
    LearnerError,
    Returned,
    RunReport,
    Unreadable,
    encode_input,
    error_from,
    fold_records,
    read_records,
    read_text,
)

__all__ = ["FILE_SIZE_LIMIT", "MEMORY_LIMIT", "TIME_LIMIT", "Call", "LearnerError", "Returned",
           "RunReport", "Unreadable", "run_file", "run_once", "source_text"]

TIME_LIMIT = 10.0                # seconds the learner's file may run (load and all calls)
MEMORY_LIMIT = 2 * 1024 ** 3     # bytes of address space for the child (RLIMIT_AS)
OUTPUT_LIMIT = 2000              # characters of the learner's prints kept (the end)


def run_file(path: Path, calls: list[Call], topics: dict[str, tuple[str, ...]],
             timeout: float = TIME_LIMIT) -> RunReport:
    """Run ``calls`` of the learner's file at ``path`` in child processes; see the module doc.

    ``topics`` maps the ``DELTAPROP_TOPIC`` markers to recognise to their functions; every
    function of ``calls`` that the file defines is called, marked or not.
    """
    report = RunReport()
    pending = list(calls)
    functions = list(dict.fromkeys(call.function for call in calls))
    while pending:
        outcome = run_once(path, pending, functions, topics, timeout)
        report.output = outcome.output or report.output
        started, damaged, outcome.records = fold_records(report, outcome.records)
        outcome.damaged = outcome.damaged or damaged
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


def run_once(path: Path, calls: list[Call], functions: list[str],
             topics: dict[str, tuple[str, ...]], timeout: float,
             gradchecks: Sequence[dict] = ()) -> _Outcome:
    """One child run of ``calls`` (and ``gradchecks``, see :mod:`.gradcheck`) in a fresh
    private work dir (removed after): what came back."""
    workdir = Path(tempfile.mkdtemp(prefix="deltaprop-check-"))
    try:
        plan = {"path": str(path.resolve()), "cwd": _working_dir(path), "functions": functions,
                "topics": {k: list(v) for k, v in topics.items()},
                "memory_limit": MEMORY_LIMIT, "file_size_limit": FILE_SIZE_LIMIT,
                "calls": [{"id": c.id, "function": c.function, "names": list(c.names),
                           "inputs": [encode_input(v) for v in c.inputs]} for c in calls],
                "gradchecks": list(gradchecks)}
        (workdir / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        with open(workdir / "stdout.txt", "w+b") as out, \
                open(workdir / "stderr.txt", "w+b") as err:
            returncode, timed_out = start(workdir, out, err, timeout)
            output = _tail(out, err)
        records, damaged = read_records(workdir / "results.jsonl",
                                        2 * len(calls) + len(gradchecks) + 8)
        trace = read_text(workdir / "trace.txt", 1024 * 1024)
        return _Outcome(records, damaged, returncode, timed_out, trace, output, path.resolve())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _working_dir(path: Path) -> str:
    """Where the file runs: the checker's working directory, or the file's own folder if
    that directory no longer exists."""
    try:
        return os.getcwd()
    except OSError:
        return str(path.resolve().parent)


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
            error = error_from(exits[-1]["error"])
            error.message = f"{error.message}, outside any of its functions{when}"
            return error
    if outcome.returncode < 0:
        name = _signal_name(-outcome.returncode)
        return LearnerError("Signal", f"the process running your file was killed by {name}"
                            f"{SIGNAL_NOTES.get(name, '')}{when}", line, source)
    if outcome.returncode == SERVER_FAILED:
        return LearnerError("DamagedResults", "the fork server that ran your file stopped "
                            "answering as agreed (did your file signal, kill or write into "
                            f"the checker's processes?){when}", line, source)
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


SOURCE_LIMIT = 4 * 1024 ** 2     # bytes of the learner's source read here, at most


def _source_line(path: Path, number: int) -> str:
    """Line ``number`` of the learner's file, read as :func:`source_text` does."""
    lines = source_text(path).splitlines()
    return lines[number - 1].strip()[:500] if 0 < number <= len(lines) else ""


def source_text(path: Path) -> str:
    """The learner's source, "" if it is no longer a regular file of at most SOURCE_LIMIT
    bytes (its code may have replaced it, by a FIFO for one: never waited on)."""
    return read_text(Path(os.path.realpath(path)), SOURCE_LIMIT)
