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

The code lives in three modules, one concept each, re-exported here (the names other modules
and the tests import from ``deltaprop.io._files``): :mod:`._untrusted` (``ModelFileError``,
:func:`open_regular`, :func:`strict_json` and the number tests), :mod:`._safetensors_reader`
(:func:`read_safetensors`) and :mod:`._atomic_write` (:func:`atomic_write`).
"""

from ._atomic_write import _TEMP_NAME as _TEMP_NAME
from ._atomic_write import (
    STALE_AFTER_S,
    TEMP_SUFFIX,
    atomic_write,
    current_umask,
    remove_stale_temporaries,
    writable_target,
)
from ._atomic_write import _lock as _lock
from ._atomic_write import _mode_for as _mode_for
from ._atomic_write import _sync_directory as _sync_directory
from ._safetensors_reader import (
    DTYPES,
    HEADER_LIMIT,
    MAX_DIMENSIONS,
    TensorLayout,
    read_safetensors,
)
from ._safetensors_reader import _check_entries as _check_entries
from ._safetensors_reader import _check_entry as _check_entry
from ._safetensors_reader import _parse_header as _parse_header
from ._untrusted import (
    ModelFileError,
    finite_number,
    natural,
    open_regular,
    path_text,
    real_number,
    strict_json,
)
from ._untrusted import _kind as _kind

__all__ = ["DTYPES", "HEADER_LIMIT", "MAX_DIMENSIONS", "STALE_AFTER_S", "TEMP_SUFFIX",
           "ModelFileError", "TensorLayout", "atomic_write", "current_umask", "finite_number",
           "natural", "open_regular", "path_text", "read_safetensors", "real_number",
           "remove_stale_temporaries", "strict_json", "writable_target"]
