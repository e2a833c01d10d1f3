"""The deltaprop safetensors file, shared by model files and checkpoints: its ``format`` and
``format_version`` fields, exactly the expected metadata fields and the checksum, checked by
:func:`read_safetensors` on top of :mod:`._safetensors_reader`'s structural checks; and
:func:`write_safetensors`, which refuses to write what this reader would refuse.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import _files
from ._atomic_write import atomic_write
from ._checksum import _legacy_checksum, checksum
from ._untrusted import ModelFileError, path_text

FORMAT = "deltaprop-model"
FORMAT_VERSION = 2
LEGACY_VERSION = 1                            # checksum over the tensors only
FIELDS = ("format", "format_version", "deltaprop_version", "architecture", "preprocessing",
          "loss", "metadata", "checksum")
# written only when there is one (a regression target scaled in training): older files
# load as before, and an older deltaprop refuses a file whose target it could not unscale
OPTIONAL_FIELDS = ("target_preprocessing",)
LEGACY_FIELDS = ("format", "format_version", "deltaprop_version", "architecture",
                 "preprocessing", "metadata", "checksum")


def write_safetensors(path: str | os.PathLike, tensors: dict[str, np.ndarray],
                      fields: dict[str, str]) -> Path:
    """Serialise with safetensors and write atomically (refused if unreadable by this reader)."""
    numpy_backend = _safetensors_numpy()
    data = numpy_backend.save({k: np.ascontiguousarray(v) for k, v in tensors.items()},
                              metadata=fields)
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > _files.HEADER_LIMIT:
        raise ValueError(f"the metadata is too large to save ({header_size} bytes of header, "
                         f"at most {_files.HEADER_LIMIT})")
    return atomic_write(path, data)


def read_safetensors(path: str | os.PathLike, expected_format: str, *, legacy: bool = False,
                     expected_fields: tuple[str, ...] | None = None,
                     layout: Callable[[dict[str, Any], dict[str, str]], None] | None = None
                     ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Tensors and metadata of a deltaprop safetensors file, after the file-level checks:
    a regular file, a sound safetensors structure, the format, the version, exactly the
    expected metadata fields and the checksum.

    All but the checksum are checked on the header, before any tensor byte is read; so is
    ``layout(tensors, fields)`` when given, where each tensor is only its ``dtype`` and
    ``shape`` (:class:`deltaprop.io._files.TensorLayout`): a file is refused for what its header
    says before its size is allocated.
    """
    where = path_text(path)
    legacy_file = False

    def check_header(tensors: dict[str, Any], fields: dict[str, str]) -> None:
        nonlocal legacy_file
        legacy_file = _check_fields(fields, expected_format, legacy, expected_fields, where)
        if layout is not None:
            layout(tensors, fields)

    tensors, fields = _files.read_safetensors(
        path, "model file" if expected_format == FORMAT else "checkpoint file", check_header)
    stored = fields["checksum"]
    actual = _legacy_checksum(tensors) if legacy_file else checksum(tensors, fields)
    if stored != actual:
        raise ModelFileError(f"{where}: checksum mismatch: the checksum does not match the "
                             "file's tensors and metadata, which were changed after saving "
                             f"(stored {stored!r:.80}, computed {actual!r})")
    return tensors, fields


def _check_fields(fields: dict[str, str], expected_format: str, legacy: bool,
                  expected_fields: tuple[str, ...] | None, where: str) -> bool:
    """The format, the version and exactly its metadata fields; True for a version 1 file."""
    if fields.get("format") != expected_format:
        advice = {"deltaprop-model": "it is a model file: load it with deltaprop.io.load",
                  "deltaprop-checkpoint": "it is a training checkpoint: resume it with "
                  "fit(..., resume=path)"}.get(fields.get("format"), "load foreign weights "
                                               "with safetensors and Sequential.load_state_dict")
        raise ModelFileError(
            f"{where}: a safetensors file, but not a {expected_format} file written by "
            f"deltaprop (metadata 'format' is {fields.get('format')!r:.60}); {advice}")
    version = fields.get("format_version")
    if version == str(LEGACY_VERSION) and not legacy:
        advice = ("If you trust this file, load it with load_bundle(path, legacy=True) and "
                  "save it again" if expected_format == FORMAT else "Resume it with the "
                  "deltaprop version that wrote it, or start the training again")
        raise ModelFileError(
            f"{where}: format_version 1 (an earlier deltaprop), whose checksum does not cover "
            f"the metadata, so an edit of it would go unnoticed. {advice}")
    if version not in ((str(FORMAT_VERSION), str(LEGACY_VERSION)) if legacy
                       and expected_format == FORMAT else (str(FORMAT_VERSION),)):
        newer = isinstance(version, str) and version.isascii() and version.isdigit() \
            and len(version) < 10 and int(version) > FORMAT_VERSION
        raise ModelFileError(f"{where}: format_version {version!r:.20} is not supported by "
                             f"this deltaprop (reads {FORMAT_VERSION})"
                             + ("; it was written by a newer deltaprop: upgrade deltaprop "
                                "to read it" if newer else ""))
    legacy_file = version == str(LEGACY_VERSION)
    allowed = LEGACY_FIELDS if legacy_file else (expected_fields or FIELDS + OPTIONAL_FIELDS)
    required = ("format", "format_version", "architecture", "checksum") if legacy_file \
        else (expected_fields or FIELDS)
    unknown, missing = sorted(set(fields) - set(allowed)), sorted(set(required) - set(fields))
    if unknown or missing:
        raise ModelFileError(f"{where}: metadata fields do not match format_version {version}:"
                             f" missing {missing}, unexpected {unknown!s:.200}")
    return legacy_file


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError("model files need safetensors, which is not installed: "
                          "pip install 'deltaprop[io]'") from None
    return safetensors.numpy
