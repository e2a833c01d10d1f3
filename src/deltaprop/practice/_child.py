"""The child process of ``deltaprop check``: load the learner's file and call its functions.

Run by :mod:`deltaprop.practice.runner` as ``python -I -u _child.py WORKDIR``, or forked per
run by ``python -I -u _child.py --server`` (``_fork_server.py``, loaded by path: a server
that imports NumPy once and never runs the learner's code); never imported.
It imports only the standard library and NumPy (never deltaprop), reads ``WORKDIR/plan.json``
(the calls to make, their inputs as JSON numbers), and appends one JSON line per event to
``WORKDIR/results.jsonl``, each line written with one ``os.write`` on a file opened afresh
(the learner may close any descriptor, print anywhere, or die at any moment: what was
written before stays).  It sends back only data (``_child_encoding.py``): the returned arrays
as flat lists of numbers, or what was raised and at which line of the learner's file.  It
never judges anything.

Before the learner's file runs, the child limits its address space and file sizes
(``resource``), records where it is on a fatal signal or on ``SIGUSR1`` (:mod:`faulthandler`,
for the learner's line after a timeout), and wraps ``os._exit`` to record the caller's line.
It ends with ``os._exit``, so non-daemon threads and ``atexit`` hooks cannot keep it alive.

Events: ``loaded`` (the file ran; the functions it defines), ``import_failed``, ``start``
and ``done`` of every call (``done`` holds the value or the exception and the inputs that
were changed in place), ``os_exit`` (the learner called ``os._exit``), ``finished``.
"""

import faulthandler
import importlib.machinery
import importlib.util
import json
import os
import signal
import sys
import time
import traceback

_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0] or os.curdir) == _HERE:
    del sys.path[0]                  # Python 3.10: -I does not imply -P


def _load_sibling(name):
    """A module beside this file, loaded by path (deltaprop itself is never imported)."""
    spec = importlib.util.spec_from_file_location(f"_deltaprop_{name}",
                                                  os.path.join(_HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# What the child sends back, values and errors as JSON data: loaded by path like every sibling,
# here at the start, before any learner code (in the server: before the fork).
_ENCODING = _load_sibling("_child_encoding")
MAX_ELEMENTS = _ENCODING.MAX_ELEMENTS         # numbers sent back per call, at most
_PATH = _ENCODING._PATH                       # the learner's file, once known (a shared list)
_describe_error, _frame_line = _ENCODING._describe_error, _ENCODING._frame_line
_decode, _encode = _ENCODING._decode, _ENCODING._encode
_snapshot, _changed = _ENCODING._snapshot, _ENCODING._changed
_PID = os.getpid()
_real_exit = os._exit


class _Sender:
    """Append JSON lines to ``results.jsonl``, reopening it for each line."""

    def __init__(self, path):
        self.path = path

    def send(self, record):
        if os.getpid() != _PID:       # a fork of the learner's never speaks for us
            _real_exit(0)
        data = (json.dumps(record, allow_nan=True) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def _call(function, call, inputs, path, np, sender):
    """One call: fresh copies of the inputs, the value or the exception, the changed inputs."""
    args = [_decode(value, np) for value in inputs]
    before = [_snapshot(arg, np) for arg in args]
    sender.send({"event": "start", "call": call["id"]})
    started = time.perf_counter()
    record = {"event": "done", "call": call["id"]}
    try:
        value = function(*args)
    except BaseException as error:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too
        record["raised"] = _describe_error(error, path)
    else:
        try:
            record["value"] = _encode(value, np, [MAX_ELEMENTS])
        except BaseException as error:  # noqa: BLE001 - e.g. an __array__ that raises
            record["raised"] = _describe_error(error, path)
            record["raised"]["while"] = "converting the return value to an array"
    if os.getpid() != _PID:
        _real_exit(0)
    record["seconds"] = time.perf_counter() - started
    record["modified"] = _changed(call["names"], before, args, np)
    sender.send(record)


def _load(path, sender):
    """Run the learner's file as a fresh module (its ``__main__`` block does not run)."""
    name = "_deltaprop_learner"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:                 # not a .py name: read it as source, as `python FILE` does
        loader = importlib.machinery.SourceFileLoader(name, path)
        spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    if spec is None or spec.loader is None:
        sender.send({"event": "import_failed", "error": {
            "kind": "ImportError", "message": f"cannot import {path} as Python",
            "line": None, "source": ""}})
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as error:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too
        sender.send({"event": "import_failed", "error": _describe_error(error, path)})
        return None
    return module


def _functions(module, plan):
    """The marked topic (if known) and every practice function the file defines."""
    def defined(name):
        try:
            function = getattr(module, name, None)
            return function if callable(function) else None
        except BaseException:  # noqa: BLE001 - a module __getattr__ may raise
            return None
    try:
        topic = getattr(module, "DELTAPROP_TOPIC", None)
    except BaseException:  # noqa: BLE001
        topic = None
    topic = topic if isinstance(topic, str) and topic in plan["topics"] else None
    functions = {}
    for name in plan["functions"]:
        function = defined(name)
        if function is not None:
            functions[name] = function
    return topic, functions


def _hook_exit(path, sender):
    """Record the learner's line before ``os._exit`` ends the process."""
    def _exit(code=0):
        _flush_streams()
        try:
            line, source = _frame_line(path)
            sender.send({"event": "os_exit", "code": repr(code)[:100], "line": line,
                         "source": source})
        finally:
            _real_exit(code if isinstance(code, int) else 1)
    os._exit = _exit


def _limit_resources(plan):
    """Cap the address space and file sizes, and turn off core dumps, where the platform can."""
    try:
        import resource
    except ImportError:              # not on this platform
        return
    for name, value in (("RLIMIT_AS", plan["memory_limit"]), ("RLIMIT_CORE", 0),
                        ("RLIMIT_FSIZE", plan["file_size_limit"])):
        limit = getattr(resource, name, None)
        if limit is not None:
            try:
                resource.setrlimit(limit, (value, value))
            except (ValueError, OSError):
                pass                 # keep the platform's limit where it cannot be lowered


def main(workdir, sender):
    """Read the plan, load the learner's file, make its calls; every event to ``sender``."""
    with open(os.path.join(workdir, "plan.json"), encoding="utf-8") as file:
        plan = json.load(file)
    trace = open(os.path.join(workdir, "trace.txt"), "w")
    faulthandler.enable(file=trace, all_threads=True)   # where a fatal signal struck
    if hasattr(signal, "SIGUSR1"):                      # the parent asks before a kill
        faulthandler.register(signal.SIGUSR1, file=trace, all_threads=True)
    import numpy as np

    path = _PATH[0] = os.path.abspath(plan["path"])
    try:
        os.chdir(plan["cwd"])        # where the checker was started, as `python file.py`
    except (OSError, KeyError, TypeError):
        pass
    sys.path.append(os.path.dirname(path))  # helper modules beside the file, not shadowing
    _limit_resources(plan)
    _hook_exit(path, sender)
    module = _load(path, sender)
    if module is None:
        return
    topic, functions = _functions(module, plan)
    sender.send({"event": "loaded", "topic": topic, "functions": sorted(functions)})
    for call in plan["calls"]:
        if call["function"] in functions:
            _call(functions[call["function"]], call, call["inputs"], path, np, sender)
    if plan.get("gradchecks"):
        _load_sibling("_gradcheck_child").run(plan["gradchecks"], module, _decode,
                                              lambda e: _describe_error(e, path), sender.send, np)
    sender.send({"event": "finished"})



def _flush_streams():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - the learner may have closed it
            pass


def _flush_and_exit(code):
    """Flush the learner's prints, then end at once: threads and atexit hooks cannot hold us."""
    _flush_streams()
    _real_exit(code)


def _run(workdir):
    """Carry out the plan in ``workdir``, report an unexpected end, and exit (never returns)."""
    sender = _Sender(os.path.join(workdir, "results.jsonl"))
    code = 0
    try:
        main(workdir, sender)
    except BaseException as error:  # noqa: BLE001 - e.g. a learner's alarm between calls
        code = 3
        try:
            sender.send({"event": "crashed", "error": _describe_error(error, _PATH[0]),
                         "traceback": traceback.format_exc()[-4000:]})
        except BaseException:  # noqa: BLE001 - nothing left to tell it with
            pass
    _flush_and_exit(code)


def _become_worker(workdir):
    """In a fork of the server: own session, own stdio files, then run (never returns)."""
    global _PID
    try:
        _PID = os.getpid()
        os.setsid()                  # its own process group: the parent kills it whole
        for fd, name, flags in ((0, os.devnull, os.O_RDONLY),
                                (1, os.path.join(workdir, "stdout.txt"), os.O_WRONLY),
                                (2, os.path.join(workdir, "stderr.txt"), os.O_WRONLY)):
            opened = os.open(name, flags | (os.O_APPEND if fd else 0))
            os.dup2(opened, fd)
            os.close(opened)
        sys.stdin = open(os.devnull)
        sys.argv = [sys.argv[0], workdir]
    except BaseException:  # noqa: BLE001 - cannot even start: tell by the exit code
        _real_exit(4)
    _run(workdir)


def _serve():
    """The fork server (``_fork_server.py``): NumPy imported once, then a fork per run, each
    a worker (:func:`_become_worker`); never returns."""
    _load_sibling("_fork_server").serve(_become_worker)


if __name__ == "__main__":
    if sys.argv[1:] == ["--server"]:
        _serve()
    _run(sys.argv[1])
