"""Reading a safetensors file that nobody vouches for (package-private).

A safetensors file is

    8 bytes: little-endian u64 ``n``  |  ``n`` bytes: JSON header  |  the tensors' bytes

and every claim of the header is checked against the file before anything it claims is
allocated: the path must be a regular file (:func:`~deltaprop.io._untrusted.open_regular`); the
header length must fit in the file and under :data:`HEADER_LIMIT`; each tensor's dtype must be
known, its shape a list of integers >= 0, and its byte range ``[begin, end)`` must hold exactly
``itemsize x prod(shape)`` bytes; the ranges must tile the data section with no gap, overlap
or trailing byte.  Only then are the data bytes read, and there are exactly as many as the
file has.  Duplicate JSON keys, ``NaN`` and ``Infinity`` are refused (two readers could
disagree on what such a header means).
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ._untrusted import ModelFileError, natural, open_regular, path_text, strict_json

HEADER_LIMIT = 16 * 1024 * 1024                    # bytes of JSON header accepted at most
MAX_DIMENSIONS = 32                                # axes per tensor (NumPy's own limit: 64)

# safetensors dtype names -> NumPy dtypes (little-endian, as the format stores them)
DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U64": np.dtype("<u8"), "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}


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
