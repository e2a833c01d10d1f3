r"""The checksum of a deltaprop file: SHA-256 over every metadata field and every tensor
(:func:`checksum`), and the tensors-only one of ``format_version`` 1 files.
"""

from __future__ import annotations

import hashlib
import json
import struct

import numpy as np


def checksum(tensors: dict[str, np.ndarray], fields: dict[str, str]) -> str:
    r"""``"sha256:<hex>"`` over every metadata field (but ``checksum``) and every tensor.

    Canonical and unambiguous: a tag, then for each field in sorted name order its name and
    UTF-8 value, then for each tensor in sorted name order its name, little-endian dtype,
    shape and bytes, each item preceded by its length (8 bytes, little-endian).
    """
    digest = hashlib.sha256()

    def item(data: bytes) -> None:
        digest.update(struct.pack("<Q", len(data)))
        digest.update(data)

    item(b"deltaprop-checksum-2")
    names = sorted(name for name in fields if name != "checksum")
    digest.update(struct.pack("<Q", len(names)))
    for name in names:
        item(name.encode("utf-8", "surrogatepass"))     # JSON may hold lone surrogates
        item(fields[name].encode("utf-8", "surrogatepass"))
    digest.update(struct.pack("<Q", len(tensors)))
    for name in sorted(tensors):
        array = _little_endian(tensors[name])
        item(name.encode("utf-8", "surrogatepass"))
        item(array.dtype.str.encode())
        item(json.dumps(list(array.shape)).encode())
        item(array.tobytes())
    return "sha256:" + digest.hexdigest()


def _legacy_checksum(tensors: dict[str, np.ndarray]) -> str:
    """The ``format_version`` 1 checksum: the tensors only (name, dtype, shape, bytes)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        array = _little_endian(tensors[name])
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.tobytes())
    return "sha256:" + digest.hexdigest()


def _little_endian(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    return array.astype(array.dtype.newbyteorder("<"), copy=False)
