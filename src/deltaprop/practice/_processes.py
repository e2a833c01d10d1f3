r"""Start the child process and stop it from outside: a new process, or a fork of a server.

:func:`start` runs ``_child.py`` on a work directory and returns ``(exit code, timed out)``,
leaving nothing running: past the time limit it asks the child where it is (``SIGUSR1``, for
the learner's line) and then kills its whole process group with ``SIGKILL``.

On Linux the child is a ``fork`` of a warm :class:`ForkServer` that has imported NumPy once
and never runs learner code: the same isolation (own session, own limits, own files) without
the ~0.1 s start-up of a new interpreter.  The server is a child subreaper: what a run leaves
behind, daemons that left its session included, becomes the server's and is killed before
the run's status is answered; if the checker goes away mid-run, the server kills the run and
ends.  Its answers carry a per-run token, so that lines a learner writes into its pipes
(through ``/proc``) break that server (it is replaced) instead of misleading a later check.
A second thread gets a server of its own for its run.  Elsewhere, or if a server cannot be
started, a new ``python -I -u _child.py DIR`` runs instead; there, processes that left the
child's session are not found.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

CHILD = Path(__file__).with_name("_child.py")


def child_env() -> dict[str, str]:
    return dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                MKL_NUM_THREADS="1")


def start(workdir: Path, out, err, timeout: float) -> tuple[int, bool]:
    """Run the plan in a fork of the warm server where there is one, else in a new process.

    A second run while the warm server is busy (another thread) gets a server of its own,
    closed after the run, so that it is cleaned up the same way.
    """
    server = fork_server()
    if server is not None:
        if server.busy.acquire(blocking=False):                 # one run at a time
            try:
                found = _run_on(server, workdir, out, err, timeout)
            finally:
                server.busy.release()
            if found is not None:
                return found
        else:
            found = _run_on_own_server(workdir, out, err, timeout)
            if found is not None:
                return found
    return spawn(workdir, out, err, timeout)


def _run_on(server: ForkServer, workdir: Path, out, err, timeout: float
            ) -> tuple[int, bool] | None:
    """``server.run``; None (and a clean work dir) if the server failed before the run began."""
    try:
        return server.run(workdir, timeout)
    except ServerBrokenError as error:
        discard_server(server)
        if error.started:            # the run began: its records tell how far it got
            return SERVER_FAILED, False
        for name in ("results.jsonl", "trace.txt"):          # start over, cleanly
            with contextlib.suppress(OSError):
                (workdir / name).unlink()
        for file in (out, err):
            file.truncate(0)
        return None
    except BaseException:            # e.g. Ctrl-C: the run was killed, the protocol is mid-way
        discard_server(server)
        raise


def _run_on_own_server(workdir: Path, out, err, timeout: float) -> tuple[int, bool] | None:
    try:
        server = ForkServer()
    except OSError:
        return None
    try:
        return _run_on(server, workdir, out, err, timeout)
    finally:
        server.close()


def spawn(workdir: Path, out, err, timeout: float) -> tuple[int, bool]:
    """Start ``python -I _child.py DIR``, wait at most ``timeout`` s, leave nothing running."""
    posix = os.name == "posix"
    process = subprocess.Popen([sys.executable, "-I", "-u", str(CHILD), str(workdir)],
                               stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                               env=child_env(), start_new_session=posix, close_fds=True)
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
        kill_process(process, posix)
    return process.returncode, timed_out


class ServerBrokenError(RuntimeError):
    """The fork server did not answer as agreed (``started``: after the run began)."""

    started = False


class ForkServer:
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
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=child_env(),
            start_new_session=True, close_fds=True)
        self.buffer = b""
        self.busy = threading.Lock()

    def usable(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def run(self, workdir: Path, timeout: float) -> tuple[int, bool]:
        """One run in a fork: ``(exit code, timed out)``; past ``timeout`` s it is killed."""
        pid = None
        try:
            token = secrets.token_hex(8)   # answers echo it: the learner cannot forge them
            self.process.stdin.write(os.fsencode(f"{token} {workdir}\n"))
            self.process.stdin.flush()
            pid = self._answer("pid", token, time.monotonic() + SERVER_PATIENCE)
            status = self._answer("status", token, time.monotonic() + timeout)
            timed_out = status is None
            if timed_out:
                with contextlib.suppress(OSError):           # where is it?
                    os.kill(pid, signal.SIGUSR1)
                time.sleep(0.1)
                kill_group(pid)
                with contextlib.suppress(OSError):           # the learner may have stopped it
                    os.kill(self.process.pid, signal.SIGCONT)
                status = self._answer("status", token, time.monotonic() + SERVER_PATIENCE)
            kill_group(pid)                                 # what it started, too
            if status is None:
                raise ServerBrokenError("no exit status")
            return status, timed_out
        except BaseException as error:
            if pid is not None:
                kill_group(pid)
                if isinstance(error, ServerBrokenError):
                    error.started = True
            raise

    def _answer(self, word: str, token: str, deadline: float) -> int | None:
        """The number of the next ``word N TOKEN`` line; None if the deadline passed first.

        Any other line (one a learner wrote into the server's pipes through ``/proc``, or an
        earlier run's) breaks the server: it is replaced, and no run is misread."""
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if word == "pid":
                    raise ServerBrokenError("the fork server did not start a run")
                return None
            if not _readable(fd, min(remaining, 3600.0)):
                continue             # (a huge timeout is waited for in hours)
            chunk = os.read(fd, 4096)
            if not chunk:
                raise ServerBrokenError("the fork server has ended")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        parts = line.decode("ascii", errors="replace").split(" ")
        if len(parts) != 3 or parts[0] != word or parts[2] != token \
                or not parts[1].lstrip("-").isdigit():
            raise ServerBrokenError(f"unexpected answer {line[:80]!r}")
        return int(parts[1])

    def close(self) -> None:
        """End the server (end of its stdin; killed if it does not end within 1 s)."""
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(1.0)
        except subprocess.TimeoutExpired:
            kill_process(self.process, True)
        self.process.stdout.close()


SERVER_FAILED = 1000             # "exit code" of a run whose server stopped answering
SERVER_PATIENCE = 30.0           # seconds the server may take to start or to reap a run
USE_FORK_SERVER = sys.platform.startswith("linux")
_server: list[ForkServer] = []
_server_lock = threading.Lock()


def fork_server() -> ForkServer | None:
    """The warm fork server of this process (started on first use), or None where none."""
    if not USE_FORK_SERVER:
        return None
    with _server_lock:
        if _server and not _server[0].usable():
            _server.clear()
        if not _server:
            try:
                _server.append(ForkServer())
            except OSError:
                return None
        return _server[0]


def discard_server(server: ForkServer | None = None) -> None:
    """Close ``server`` (default: the warm one) and forget it if it is the warm one."""
    with _server_lock:
        if server is None or (_server and _server[0] is server):
            server = _server.pop() if _server else None
    if server is not None and server.owner == os.getpid():
        server.close()


atexit.register(discard_server)


def _readable(fd: int, seconds: float) -> bool:
    """Whether ``fd`` is readable within ``seconds`` (``poll``: any descriptor number, where
    ``select`` refuses those past 1023 in a process with many files open)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(math.ceil(seconds * 1000)))
    return bool(select.select([fd], [], [], seconds)[0])


def kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(OSError):
            kill(pid, signal.SIGKILL)


def kill_process(process: subprocess.Popen, posix: bool) -> None:
    """SIGKILL the child's whole process group (what it started too), then reap it."""
    if posix:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        process.kill()                               # even if it left its group
    process.wait()
