"""Files written so that nothing is lost (package-private).

:func:`atomic_write` writes only over a regular file or a new name (a folder, FIFO, device or
socket is refused, never replaced; a symbolic link is followed, as ``open`` does): a temporary
file ``.<name>.<random>.deltaprop-tmp`` next to the target, locked while it is written,
fsync'd, given the permissions a normal ``open`` would give (``0o666 & ~umask``, or the
replaced file's own mode), then renamed over the target.  Temporary files of interrupted
writes (a kill, a power cut) are removed by the next write in that folder: only files with
that distinctive name, owned by this user, not locked by a live writer and older than
:data:`STALE_AFTER_S` seconds.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path

from ._untrusted import _kind, path_text

try:                                               # POSIX; elsewhere stale files are kept
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

TEMP_SUFFIX = ".deltaprop-tmp"
STALE_AFTER_S = 10.0                               # a temp file younger than this is kept
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX) + "$")


def atomic_write(path: str | bytes | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a locked temporary file next to ``path``, then rename it over ``path``.

    The new file gets the replaced file's permissions, or ``0o666 & ~umask`` for a new file,
    as ``open(path, "w")`` would.  Stale temporary files in the folder are removed first.
    ``path`` must name a regular file or a new one; a symbolic link is followed and kept
    (see :func:`writable_target`).  Returns ``path`` as given, as a ``Path``.
    """
    target = writable_target(path)
    directory = target.parent
    remove_stale_temporaries(directory)
    mode = _mode_for(target)
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX,
                                        dir=directory)
    except PermissionError as error:                  # name the folder, not the temporary
        text = os.fsdecode(path)
        raise PermissionError(error.errno, f"cannot write {text}: no permission to create "
                              f"files in the folder {directory}", text) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            _lock(stream.fileno())
            stream.write(data)
            stream.flush()
            os.fchmod(stream.fileno(), mode) if hasattr(os, "fchmod") else os.chmod(temp, mode)
            os.fsync(stream.fileno())
            if os.name == "posix":                    # renamed while still locked
                os.replace(temp, target)
        if os.name != "posix":  # pragma: no cover - Windows cannot rename an open file
            os.replace(temp, target)
    except BaseException:
        if os.path.lexists(temp):
            os.unlink(temp)
        raise
    _sync_directory(directory)
    return Path(os.fsdecode(path))


def writable_target(path: str | bytes | os.PathLike) -> Path:
    """The file a write to ``path`` replaces, refused unless it can be a regular file.

    ``path`` must name a file (no trailing ``/``) in an existing folder.  A symbolic link is
    followed, as ``open(path, "w")`` would: the file it points to is replaced and the link
    kept.  What is there must be a regular file or nothing: a folder, FIFO, device or socket
    is refused, since renaming over it would silently replace it (``/dev/null`` included).
    """
    text = path_text(path)
    if not text:
        raise ValueError("path is empty: give the name of the file to write")
    if text.endswith(("/", os.sep)) or os.path.basename(text) in (".", ".."):
        raise IsADirectoryError(errno.EISDIR, "cannot write a file here: the path names a "
                                "folder; give a file name", text)
    try:
        mode = os.stat(text).st_mode                  # follows links, as open() would
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        error = IsADirectoryError if stat.S_ISDIR(mode) else FileExistsError
        raise error(errno.EISDIR if stat.S_ISDIR(mode) else errno.EEXIST,
                    f"cannot write {text}: it is {_kind(mode)}, not a regular file, and would "
                    "be replaced; give the name of a file", text)
    target = Path(os.path.realpath(text) if os.path.islink(text) else text)
    if not os.path.isdir(target.parent):
        raise FileNotFoundError(errno.ENOENT, f"cannot write {text}: the folder "
                                f"{target.parent} does not exist", text)
    return target


def _lock(descriptor: int) -> None:
    """Mark a temporary file as being written (a file system without locks: unmarked, and
    then never removed by :func:`remove_stale_temporaries`, whose own lock fails too)."""
    if fcntl is not None:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass


def _mode_for(path: Path) -> int:
    try:
        info = os.stat(path)
    except OSError:
        return 0o666 & ~current_umask()
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else 0o666 & ~current_umask()


def current_umask() -> int:
    """The process's umask, read without changing it where Linux shows it (thread-safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)                            # elsewhere: read by setting it back
    os.umask(mask)
    return mask


def remove_stale_temporaries(directory: str | os.PathLike) -> list[str]:
    """Delete the temporary files of interrupted writes in ``directory``; return their names.

    Only names ``.<target>.<8 characters>.deltaprop-tmp``, regular files (not links) owned by
    this user, at least :data:`STALE_AFTER_S` seconds old and not locked by a live writer.
    """
    if fcntl is None:  # pragma: no cover - without locks a live writer cannot be told apart
        return []
    removed = []
    try:
        names = [name for name in os.listdir(directory) if _TEMP_NAME.match(name)]
    except OSError:
        return []
    for name in names:
        full = os.path.join(directory, name)
        try:
            info = os.lstat(full)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() \
                    or time.time() - info.st_mtime < STALE_AFTER_S:
                continue
            descriptor = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)   # fails while written
            if os.path.samestat(os.fstat(descriptor), info):
                os.unlink(full)
                removed.append(name)
        except OSError:
            pass
        finally:
            os.close(descriptor)
    return removed


def _sync_directory(directory: Path) -> None:
    """fsync the folder so the rename itself survives a power cut (POSIX only)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(descriptor)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(descriptor)
