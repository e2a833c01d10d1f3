"""Files as untrusted input, and files written so that nothing is lost (package-private).

Reading (:func:`read_safetensors`): a safetensors file is

    8 bytes: little-endian u64 ``n``  |  ``n`` bytes: JSON header  |  the tensors' bytes

and every claim of the header is checked against the file before anything it claims is
allocated: the path must be a regular file (not a device, FIFO or folder: checked with
``os.stat`` before opening, and again on the open descriptor, opened non-blocking); the header
length must fit in the file and under :data:`HEADER_LIMIT`; each tensor's dtype must be known,
its shape a list of integers >= 0, and its byte range ``[begin, end)`` must hold exactly
``itemsize x prod(shape)`` bytes; the ranges must tile the data section with no gap, overlap
or trailing byte.  Only then are the data bytes read, and there are exactly as many as the
file has.  Duplicate JSON keys, ``NaN`` and ``Infinity`` are refused (two readers could
disagree on what such a header means).

Writing (:func:`atomic_write`): only over a regular file or a new name (a folder, FIFO,
device or socket is refused, never replaced; a symbolic link is followed, as ``open`` does);
a temporary file ``.<name>.<random>.deltaprop-tmp`` next to the target, locked while it is
written, fsync'd, given the permissions a normal ``open`` would give (``0o666 & ~umask``, or
the replaced file's own mode), then renamed over the target.  Temporary files of interrupted
writes (a kill, a power cut) are removed by the next write in that folder: only files with
that distinctive name, owned by this user, not locked by a live writer and older than
:data:`STALE_AFTER_S` seconds.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

try:                                               # POSIX; elsewhere stale files are kept
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

HEADER_LIMIT = 16 * 1024 * 1024                    # bytes of JSON header accepted at most
MAX_DIMENSIONS = 32                                # axes per tensor (NumPy's own limit: 64)
TEMP_SUFFIX = ".deltaprop-tmp"
STALE_AFTER_S = 10.0                               # a temp file younger than this is kept
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX) + "$")

# safetensors dtype names -> NumPy dtypes (little-endian, as the format stores them)
DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U64": np.dtype("<u8"), "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}


class ModelFileError(ValueError):
    """A model or checkpoint file is damaged, truncated, foreign or tampered with."""


ModelFileError.__module__ = "deltaprop.io"          # its public home


# -- reading -----------------------------------------------------------------------------------
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


class TensorLayout(NamedTuple):
    """What a safetensors header says of one tensor (before its bytes are read)."""

    dtype: np.dtype
    shape: tuple[int, ...]


def read_safetensors(path: str | os.PathLike, what: str = "model file",
                     inspect: Callable[[dict[str, TensorLayout], dict[str, str]], None]
                     | None = None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Tensors (NumPy, native byte order) and ``__metadata__`` strings of a safetensors file.

    Raises ``ModelFileError`` for anything malformed, before reading the tensor bytes; so
    may ``inspect(layouts, metadata)``, called with the checked header before those bytes
    are read.
    """
    where = path_text(path)
    with open_regular(path, what) as stream:
        size = os.fstat(stream.fileno()).st_size
        if size < 8:
            raise ModelFileError(f"{where}: not a safetensors file (only {size} bytes)")
        prefix = stream.read(8)
        if len(prefix) != 8:
            raise ModelFileError(f"{where}: truncated while reading (the file shrank)")
        (header_size,) = struct.unpack("<Q", prefix)
        if header_size > size - 8 or header_size > HEADER_LIMIT:
            raise ModelFileError(
                f"{where}: not a safetensors file, or truncated (the header claims "
                f"{header_size} bytes, the file has {size - 8} after the size field; at most "
                f"{HEADER_LIMIT} are accepted)")
        raw = stream.read(header_size)
        if len(raw) != header_size:
            raise ModelFileError(f"{where}: truncated while reading (the file shrank)")
        header = _parse_header(raw, where)
        entries, fields = _check_entries(header, size - 8 - header_size, where)
        if inspect is not None:
            inspect({name: TensorLayout(dtype.newbyteorder("="), shape)
                     for name, (dtype, shape, _, _) in entries.items()}, fields)
        data = stream.read(size - 8 - header_size)   # exactly what the entries account for
        if len(data) != size - 8 - header_size or stream.read(1):
            raise ModelFileError(f"{where}: the file changed while it was being read")
    tensors = {}
    for name, (dtype, shape, begin, _) in entries.items():
        array = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=begin)
        tensors[name] = array.reshape(shape).astype(dtype.newbyteorder("="), copy=True)
    return tensors, fields


def _parse_header(raw: bytes, where: str) -> dict[str, Any]:
    """The header bytes as a JSON object (strict: see :func:`strict_json`)."""
    try:
        header = strict_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ModelFileError(f"{where}: not a safetensors file (its header is not JSON: "
                              f"{error})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{where}: not a safetensors file (its header is not a JSON "
                              f"object, found {type(header).__name__})")
    return header


def _check_entries(header: dict[str, Any], data_size: int, where: str):
    """Each tensor's (dtype, shape, begin, end), checked; and the metadata strings."""
    fields = header.get("__metadata__", {})
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        raise ModelFileError(f"{where}: damaged safetensors header ('__metadata__' must map "
                              "names to strings)")
    entries = {name: _check_entry(name, entry, data_size, where)
               for name, entry in header.items() if name != "__metadata__"}
    position = 0                                      # the ranges tile the data exactly
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda item: item[1][2:]):
        if begin != position:
            raise ModelFileError(f"{where}: damaged safetensors file (tensor {name!r} starts "
                                  f"at byte {begin}, expected {position}: a gap or overlap)")
        position = end
    if position != data_size:
        raise ModelFileError(f"{where}: damaged file: the tensors account for {position} "
                              f"bytes but the file holds {data_size} data bytes")
    return entries, fields


def _check_entry(name: str, entry: Any, data_size: int, where: str
                 ) -> tuple[np.dtype, tuple[int, ...], int, int]:
    """One tensor's header entry: a known dtype, a shape NumPy can hold, and a byte range
    ``[begin, end)`` inside the data of exactly ``itemsize x prod(shape)`` bytes."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"{where}: damaged safetensors header (tensor {name!r} needs "
                              f"exactly dtype, shape and data_offsets, found {entry!r:.80})")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ModelFileError(f"{where}: tensor {name!r} has unknown dtype {dtype!r:.40}; "
                              f"known: {', '.join(DTYPES)}")
    itemsize = DTYPES[dtype].itemsize
    # NumPy refuses a shape whose bytes, counting each zero dimension as 1, reach 2**63
    # (even an empty one), so such a shape is damage, not a tensor
    if not isinstance(shape, list) or len(shape) > MAX_DIMENSIONS \
            or not all(map(natural, shape)) \
            or math.prod(max(n, 1) for n in shape) * itemsize >= 2**63:
        raise ModelFileError(f"{where}: tensor {name!r} has an invalid shape "
                             f"{shape!r:.80} (at most {MAX_DIMENSIONS} integers >= 0 whose "
                             "product, zeros counted as 1, times the item size is below 2**63)")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(map(natural, offsets)):
        raise ModelFileError(f"{where}: tensor {name!r} has invalid data_offsets "
                              f"{offsets!r:.80}")
    begin, end = offsets
    needed = itemsize * math.prod(shape)
    if not begin <= end <= data_size or end - begin != needed:
        raise ModelFileError(
            f"{where}: damaged or truncated file: tensor {name!r} ({dtype} "
            f"{shape!s:.60}) needs {needed} bytes, the header places it at [{begin}, {end}) "
            f"and the file holds {data_size} data bytes")
    return DTYPES[dtype], tuple(shape), begin, end


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


# -- writing -----------------------------------------------------------------------------------
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
