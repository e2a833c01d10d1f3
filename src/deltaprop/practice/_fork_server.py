"""The fork server of ``deltaprop check``'s child: a fork per run, and nothing left behind.

Loaded by path by ``_child.py --server`` (the child never imports deltaprop) before NumPy and
before any learner's code; standard library only.  :func:`serve` forks a worker per line of
stdin, ``_child.py``'s ``_become_worker`` (which never returns), and never runs the learner's
code itself; the rest of this module waits for the worker, reads the checker's lines, and
kills whatever a run leaves behind.
"""

import os
import signal

_real_exit = os._exit                # the server's own: the learner's hook is in the worker only


def serve(become_worker):
    """Fork server: NumPy imported once; per line of stdin (``TOKEN WORKDIR``), fork a worker
    and answer ``pid N TOKEN`` then, once it and everything it started have ended,
    ``status CODE TOKEN``.

    It never runs the learner's code.  As a child subreaper (Linux), it inherits whatever the
    worker leaves behind, daemons that left its session included, and kills all of it before
    answering.  The end of stdin (the checker has gone) kills the running worker too.
    """
    import numpy  # noqa: F401 - imported once here, inherited by every worker

    _become_subreaper()
    lines = _Lines(0)
    while True:
        line = lines.next()
        if line is None:
            _real_exit(0)            # the checker has gone
        token, _, workdir = os.fsdecode(line.strip()).partition(" ")
        pid = os.fork()
        if pid == 0:
            become_worker(workdir)
        _answer(f"pid {pid} {token}")
        status = _wait_worker(pid, lines)
        _kill_descendants(pid)
        _answer(f"status {os.waitstatus_to_exitcode(status)} {token}")


class _Lines:
    """The lines of a file descriptor, read without Python's buffering (see ``at_end``)."""

    LIMIT = 1 << 16                  # bytes kept unread: more is a flood, not the checker

    def __init__(self, fd):
        self.fd, self.buffer = fd, b""

    def next(self):
        """The next line, or None at the end (or after a flood of bytes without a newline)."""
        while b"\n" not in self.buffer:
            chunk = os.read(self.fd, 4096)
            if not chunk or len(self.buffer) > self.LIMIT:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def at_end(self):
        """True if the writer has closed its end, or floods it (called only where nothing is
        expected: only a learner writing through /proc sends anything then)."""
        chunk = os.read(self.fd, 4096)
        self.buffer += chunk
        return not chunk or len(self.buffer) > self.LIMIT


def _answer(text):
    """One line to the checker; if it has gone, stop everything and end."""
    try:
        os.write(1, f"{text}\n".encode())
    except OSError:
        _kill_descendants(None)
        _real_exit(0)


def _wait_worker(pid, lines):
    """The worker's wait status; if the checker goes first (end of stdin), kill it and end."""
    import select

    try:
        watch = os.pidfd_open(pid)
    except (AttributeError, OSError):
        watch = None                 # an old kernel: look every 50 ms
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            ready = select.select([0] + ([watch] if watch is not None else []), [], [],
                                  None if watch is not None else 0.05)[0]
            if 0 in ready and lines.at_end():
                _kill_descendants(pid)
                _real_exit(0)
    finally:
        if watch is not None:
            os.close(watch)


def _become_subreaper():
    """Make orphans of the workers this process's children (Linux ``PR_SET_CHILD_SUBREAPER``)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except (OSError, AttributeError, ImportError):
        pass                         # elsewhere: the worker's process group is still killed


def _kill_descendants(pid):
    """SIGKILL the worker's process group and every child left (orphans come to the
    subreaper), and reap them, until none is left."""
    if pid is not None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    while True:
        children = _children()
        for child in children:
            try:
                os.kill(child, signal.SIGKILL)
            except OSError:
                pass
        try:                         # one ended: the ones it left are ours now, look again
            done, _ = os.waitpid(-1, 0 if children else os.WNOHANG)
        except ChildProcessError:
            return
        if not children and not done:
            return                   # none seen (no /proc?) and none ended: do not block


def _children():
    """The ids of this process's children, from ``/proc`` (none where there is no /proc)."""
    me, found = os.getpid(), []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as file:
                    fields = file.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if len(fields) > 1 and fields[1] == str(me).encode():
                found.append(int(name))
    return found
