"""``open_npz``: the arrays of an uncompressed ``.npz`` as memory maps, nothing read yet.

``np.load("data.npz", mmap_mode="r")`` ignores ``mmap_mode`` and reads an array whole when it
is accessed.  An ``.npz`` written by ``np.savez`` (not ``savez_compressed``) stores each
``.npy`` file as is inside the zip archive, so each array can be mapped at its offset:
``fit`` (``fit(comm=...)``: each process) then reads only the rows of its batches.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "data.npz")
>>> np.savez(path, X=np.arange(12.0).reshape(4, 3), y=np.array([0, 1, 1, 0]))
>>> arrays = open_npz(path)
>>> type(arrays["X"]).__name__, arrays["X"][2].tolist()
('memmap', [6.0, 7.0, 8.0])
"""

from __future__ import annotations

import os
import struct
import zipfile

import numpy as np

_LOCAL_HEADER = struct.Struct("<4s22xHH")        # signature ... name length, extra length


def open_npz(path: str | os.PathLike, mode: str = "r") -> dict[str, np.ndarray]:
    """Every array of the uncompressed ``.npz`` at ``path``, memory-mapped (``mode`` as in
    ``np.memmap``: ``"r"``, ``"r+"`` or ``"c"``).

    Raises ``ValueError`` naming the array when a member is compressed (written by
    ``np.savez_compressed``: load it with ``np.load``, or save it with ``np.savez``) or holds
    Python objects.
    """
    if mode not in ("r", "r+", "c"):
        raise ValueError(f"open_npz mode must be 'r', 'r+' or 'c', got {mode!r}")
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as file:
        for info in archive.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"{os.fspath(path)}: array {name!r} is compressed and cannot "
                                 "be memory-mapped: save it with np.savez (not "
                                 "savez_compressed), or read it whole with np.load")
            arrays[name] = _mapped(path, file, info, name, mode)
    return arrays


def _mapped(path, file, info: zipfile.ZipInfo, name: str, mode: str) -> np.ndarray:
    """The ``.npy`` member ``info`` mapped at its data offset."""
    file.seek(info.header_offset)
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(file.read(_LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise ValueError(f"{os.fspath(path)}: array {name!r}: not a zip member header")
    file.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    version = np.lib.format.read_magic(file)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read_header is None:
        raise ValueError(f"{os.fspath(path)}: array {name!r} has .npy format {version}, "
                         "which open_npz does not map (1.0 and 2.0 only)")
    shape, fortran_order, dtype = read_header(file)
    if dtype.hasobject:
        raise ValueError(f"{os.fspath(path)}: array {name!r} holds Python objects, which "
                         "cannot be memory-mapped")
    if 0 in shape:                                   # nothing to map (mmap refuses 0 bytes)
        return np.empty(shape, dtype, order="F" if fortran_order else "C")
    return np.memmap(path, dtype=dtype, mode=mode, offset=file.tell(), shape=shape,
                     order="F" if fortran_order else "C")
