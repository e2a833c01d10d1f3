r"""Model files: safetensors weights with the architecture, preprocessing and a checksum.

A model file is a plain `safetensors <https://huggingface.co/docs/safetensors>`_ file:

- tensors: ``model.state_dict()``, under PyTorch ``nn.Sequential`` keys (``"0.weight"``,
  ``"0.bias"``, ``"2.weight"``...), so ``torch.nn.Sequential.load_state_dict`` reads it as is;
- metadata (strings, JSON-encoded): ``format``, ``format_version`` (2), ``deltaprop_version``,
  ``architecture`` (the layer list), ``preprocessing`` (e.g. a ``Standardizer``), ``loss``
  (the loss name, or null), the caller's ``metadata`` (a JSON object), optionally
  ``target_preprocessing`` (the regression target's ``Standardizer``: the model predicts
  :math:`(y - \mu_y)/\sigma_y`, and :meth:`ModelBundle.predict` undoes it) and ``checksum``:
  SHA-256 over every metadata field and every tensor (:func:`checksum`).  safetensors checks
  the file's structure but not its content; the checksum catches a changed byte anywhere.

No pickle anywhere.  Files are written atomically (see :func:`deltaprop.io._files.atomic_write`),
so a crash never leaves half a file under the final name.  A file is untrusted input: loading
checks everything before building the model (a regular file; the header's claims against the
file's size, and the format, version and architecture against the tensors' names, shapes and
dtypes, before any tensor byte is read; the checksum; finite weights; the preprocessing's
widths and values; the loss name; the caller's metadata).  A bad file raises
:class:`ModelFileError` naming the file, the field, the rule and what was found, and nothing
is half-loaded.

Files of ``format_version`` 1 (written before the checksum covered the metadata) are refused
unless ``load_bundle(path, legacy=True)`` is asked for, since their metadata could have been
edited unnoticed; they are then validated like any other file, and saving the bundle again
writes a version 2 file.

Needs the ``io`` extra: ``pip install 'deltaprop[io]'`` (safetensors, imported lazily).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..nn.model import Sequential
from ._architecture import ARGUMENT_RULES as ARGUMENT_RULES
from ._architecture import MAX_LAYERS as MAX_LAYERS
from ._architecture import _zeros as _zeros
from ._architecture import architecture, build, check_architecture, parameter_shapes
from ._atomic_write import atomic_write
from ._bundle import ModelBundle
from ._bundle import _check_in_range as _check_in_range
from ._bundle import _names as _names
from ._checksum import _legacy_checksum as _legacy_checksum
from ._checksum import _little_endian as _little_endian
from ._checksum import checksum
from ._file_format import FIELDS as FIELDS
from ._file_format import FORMAT, FORMAT_VERSION, read_safetensors, write_safetensors
from ._file_format import LEGACY_FIELDS as LEGACY_FIELDS
from ._file_format import LEGACY_VERSION as LEGACY_VERSION
from ._file_format import OPTIONAL_FIELDS as OPTIONAL_FIELDS
from ._file_format import _check_fields as _check_fields
from ._file_format import _safetensors_numpy as _safetensors_numpy
from ._scaling import (
    check_preprocessing,
    check_target_preprocessing,
    preprocessing_dict,
    preprocessing_object,
    target_text,
)
from ._untrusted import ModelFileError, path_text, strict_json
from ._untrusted import finite_number as finite_number
from ._untrusted import natural as natural

# save, load and load_bundle live here; the rest lives in package-private modules, one concept
# each, and is re-exported here, the public face: ._bundle (ModelBundle), ._architecture (the
# layer list, build), ._checksum and ._file_format (the format fields, the checksum check,
# read_safetensors and write_safetensors).
__all__ = ["ModelBundle", "ModelFileError", "architecture", "atomic_write", "build",
           "checksum", "from_torch", "load", "load_bundle", "save", "to_torch"]
# to_torch / from_torch live in .torch_interop and are re-exported at the end of this module

PARAMETER_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# -- save --------------------------------------------------------------------------------------
def save(model: Sequential, path: str | os.PathLike, *, preprocessing: Any = None,
         metadata: dict[str, Any] | None = None, loss: Any = None,
         target_preprocessing: Any = None) -> Path:
    """Write ``model`` (with optional ``preprocessing``, ``loss`` and ``metadata``) to ``path``.

    ``preprocessing`` is an object with ``to_dict()`` (``Standardizer``) or a JSON-able dict;
    a Standardizer must have one mean and scale per model input.  ``target_preprocessing``
    is the Standardizer the regression target was scaled with in training (one mean and
    scale per model output): the model's outputs are scaled targets, and
    :meth:`ModelBundle.predict` returns them in the original units.  ``loss`` is a loss name,
    class or instance (``"cross_entropy"``, ``dp.MSELoss()``); ``metadata["loss"]``, as
    ``deltaprop train`` writes it, is read as the loss name too, and must then be a known
    one.  ``metadata`` is a JSON object (dict); NumPy numbers and arrays in it (or in a
    preprocessing dict) are saved as plain numbers and lists, and load back as such.
    Everything is checked before writing, with the rules :func:`load_bundle` applies (finite
    weights included).  Returns the path written.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"save expects a deltaprop Sequential, got {type(model).__name__}")
    spec = check_architecture(architecture(model))
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict (a JSON object), got {type(metadata).__name__}")
    tensors = model.state_dict()
    try:                                       # parameters replaced by hand, of another dtype
        _check_tensors(tensors, parameter_shapes(spec), "cannot save the model", "")
    except ModelFileError as error:            # or shape, would make a file load refuses
        raise ValueError(str(error)) from None
    _check_finite(tensors, "cannot save the model")
    _, prep = _json("preprocessing", preprocessing_dict(preprocessing), allow_nan=True)
    check_preprocessing(prep, spec, "preprocessing")          # then no NaN in a caller's own:
    prep_text, _ = _json("preprocessing", prep, allow_nan=False)   # load reads it strictly
    target_field = target_text(target_preprocessing, spec, _json)
    metadata_text, metadata = _json("metadata", metadata, allow_nan=True)
    loss_name = _loss_name(loss, metadata)
    fields = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "deltaprop_version": _version(),
        "architecture": json.dumps(spec),
        "preprocessing": prep_text,
        "loss": json.dumps(loss_name),
        "metadata": metadata_text,
        **({} if target_field is None else {"target_preprocessing": target_field}),
    }
    fields["checksum"] = checksum(tensors, fields)
    return write_safetensors(path, tensors, fields)


def _loss_name(loss: Any, metadata: dict[str, Any]) -> str | None:
    """The canonical name of ``loss`` (or of ``metadata["loss"]``), checked to agree."""
    from ..nn.losses import LOSSES, Loss

    names = {cls: name for name, cls in LOSSES.items()}
    if loss is None:
        name = None
    elif isinstance(loss, str) and loss.lower() in LOSSES:
        name = loss.lower()
    elif isinstance(loss, Loss) and type(loss) in names:
        name = names[type(loss)]
    elif isinstance(loss, type) and loss in names:
        name = names[loss]
    else:
        raise ValueError(f"loss must be one of {sorted(LOSSES)} (or its class or instance), "
                         f"got {loss!r:.60}")
    if "loss" in metadata:
        recorded = metadata["loss"]
        if not isinstance(recorded, str) or recorded.lower() not in LOSSES:
            raise ValueError(f"metadata['loss'] is read as the loss name and must be one of "
                             f"{sorted(LOSSES)}, got {recorded!r:.60}")
        if name is not None and name != recorded.lower():
            raise ValueError(f"loss={name!r} and metadata['loss']={recorded!r} disagree")
        name = recorded.lower()
    return name


# -- load --------------------------------------------------------------------------------------
def load(path: str | os.PathLike, *, legacy: bool = False) -> Sequential:
    """The model saved in ``path`` (see :func:`load_bundle` for the preprocessing)."""
    return load_bundle(path, legacy=legacy).model


def load_bundle(path: str | os.PathLike, *, legacy: bool = False) -> ModelBundle:
    """The model, its preprocessing (a ``Standardizer`` when one was saved), loss and metadata.

    Everything is checked before the model is built; a bad file raises
    :class:`ModelFileError`.  ``legacy=True`` also reads ``format_version`` 1 files, whose
    checksum does not cover the metadata (only for files you trust; then save them again).
    """
    where = path_text(path)

    def layout(tensors: dict[str, Any], fields: dict[str, str]) -> None:
        _check_tensors(tensors, parameter_shapes(_architecture(fields, where)), where, "")

    tensors, fields = read_safetensors(path, FORMAT, legacy=legacy, layout=layout)
    spec = _architecture(fields, where)
    dtype = _check_tensors(tensors, parameter_shapes(spec), where, "")
    try:
        _check_finite(tensors, where)
    except ValueError as error:
        raise ModelFileError(str(error)) from None
    prep = _parse(fields, "preprocessing", where, default="null")
    try:
        check_preprocessing(prep, spec, "field 'preprocessing'")
    except ValueError as error:
        raise ModelFileError(f"{where}: {error}") from None
    user = _parse(fields, "metadata", where, default="{}", constants=True)
    if not isinstance(user, dict):
        raise ModelFileError(f"{where}: field 'metadata' must be a JSON object, found "
                             f"{type(user).__name__}")
    recorded = _parse(fields, "loss", where, default="null")
    try:
        loss = _loss_name(recorded, user)
    except ValueError as error:
        raise ModelFileError(f"{where}: field 'loss': {error}") from None
    version = fields.get("deltaprop_version", "")
    if len(version) > 64 or not version.isprintable():
        raise ModelFileError(f"{where}: field 'deltaprop_version' must be a version number "
                             f"(printable, at most 64 characters), found {version!r:.80}")
    target = _parse(fields, "target_preprocessing", where, default="null")
    try:
        check_target_preprocessing(target, spec, "field 'target_preprocessing'")
    except ValueError as error:
        raise ModelFileError(f"{where}: {error}") from None
    model = build(spec, dtype=dtype)
    model.load_state_dict(tensors)                     # checked above: cannot fail
    model.eval()
    return ModelBundle(model, preprocessing_object(prep), user, version, spec, loss,
                       preprocessing_object(target))


def _architecture(fields: dict[str, str], where: str) -> list[dict[str, Any]]:
    """The file's architecture field, parsed and checked (:func:`check_architecture`)."""
    spec = _parse(fields, "architecture", where)
    try:
        return check_architecture(spec)
    except ValueError as error:
        raise ModelFileError(f"{where}: field 'architecture': {error}") from None


def _parse(fields: dict[str, str], name: str, where: str, *, default: str | None = None,
           constants: bool = False) -> Any:
    """Metadata field ``name`` read as strict JSON (``default`` when absent, else an error)."""
    text = fields.get(name, default)
    if text is None:
        raise ModelFileError(f"{where}: field {name!r} is missing")
    try:
        return strict_json(text, constants=constants)
    except ValueError as error:
        raise ModelFileError(f"{where}: field {name!r} is not valid JSON ({error})") from None


def _check_tensors(tensors: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]],
                   where: str, prefix: str) -> np.dtype:
    """The tensors ``prefix + name`` are exactly ``shapes``, all float32 or all float64."""
    expected = {prefix + name for name in shapes}
    missing, extra = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
    if missing or extra:
        raise ModelFileError(f"{where}: the tensors do not match the architecture: missing "
                             f"{missing}, unexpected {extra!s:.200}")
    dtypes = {tensors[name].dtype for name in expected}
    if len(dtypes) > 1 or not dtypes <= set(PARAMETER_DTYPES):
        raise ModelFileError(f"{where}: the tensors must be all float32 or all float64, "
                             f"found {sorted(map(str, dtypes))}")
    for name, shape in shapes.items():
        if tensors[prefix + name].shape != shape:
            raise ModelFileError(f"{where}: the weights do not match the saved architecture: "
                                 f"{prefix + name!r} must have shape {shape}, found "
                                 f"{tensors[prefix + name].shape}")
    return dtypes.pop() if dtypes else np.dtype(np.float32)


# -- helpers -----------------------------------------------------------------------------------
def _json(name: str, value: Any, *, allow_nan: bool) -> tuple[str, Any]:
    """``value`` as the JSON text to save, and that text read back as :func:`load_bundle`
    will read it (NumPy numbers and arrays become plain numbers and lists; keys that become
    the same text, such as ``1`` and ``"1"``, are refused)."""
    try:
        text = json.dumps(value, allow_nan=allow_nan, default=_plain_numpy)
    except RecursionError:
        raise ValueError(f"{name} is nested too deeply to save") from None
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be JSON-serialisable: {error}") from None
    try:
        return text, strict_json(text, constants=allow_nan)
    except ValueError as error:
        raise ValueError(f"{name} cannot be saved as JSON that loads back: {error}") from None


def _plain_numpy(value: Any) -> Any:
    """``json.dumps``'s fallback: NumPy scalars and arrays as Python numbers and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _check_finite(tensors: dict[str, np.ndarray], where: str) -> None:
    """Every parameter finite: a model with NaN or infinite weights predicts garbage."""
    for name, array in tensors.items():
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{where}: parameter {name!r} holds NaN or infinite values; a "
                             "model file holds a usable model only")


def _version() -> str:
    from .._version import __version__

    return __version__


from .torch_interop import from_torch, to_torch  # noqa: E402  (needs build, defined above)
