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

import hashlib
import json
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import InvalidParameterError
from ..nn.model import Sequential, layer_types
from . import _files
from ._files import ModelFileError, atomic_write, finite_number, natural, path_text, strict_json
from ._scaling import (
    check_preprocessing,
    check_target_preprocessing,
    preprocessing_dict,
    preprocessing_object,
    target_text,
)

__all__ = ["ModelBundle", "ModelFileError", "architecture", "atomic_write", "build",
           "checksum", "from_torch", "load", "load_bundle", "save", "to_torch"]
# to_torch / from_torch live in .torch_interop and are re-exported at the end of this module

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
PARAMETER_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
MAX_LAYERS = 10_000                           # a bound on what a file may make us build



@dataclass
class ModelBundle:
    """What :func:`load_bundle` returns: the model and everything saved with it."""

    model: Sequential
    preprocessing: Any = None                 # a Standardizer, a plain dict, or None
    metadata: dict[str, Any] = field(default_factory=dict)
    version: str = ""                         # the deltaprop version that wrote the file
    architecture: list[dict[str, Any]] = field(default_factory=list)
    loss: str | None = None                   # the recorded loss name (``save(loss=...)``)
    target_preprocessing: Any = None          # the target's Standardizer (regression), or None

    @property
    def classes(self) -> list[str] | None:
        """``metadata["classes"]`` as strings (what ``deltaprop train`` records), or None
        when absent or not a list of strings and numbers (the caller's own use of the key)."""
        return _names(self.metadata.get("classes"))

    @property
    def target_names(self) -> list[str] | None:
        """``metadata["target_names"]`` as strings, or None (as :attr:`classes`)."""
        return _names(self.metadata.get("target_names"))

    def predict(self, X: Any) -> np.ndarray:
        r"""The model's output for raw rows ``X`` (N, features), in the target's units.

        The stored feature scaling is applied first, :math:`(x - \mu)/\sigma`, and the
        target's undone after, :math:`\hat y = \hat y_s \sigma_y + \mu_y` (a model saved
        without them computes on ``X`` as it is).  Returns float64 (N, outputs).
        """
        from ..training.evaluation import predict

        if self.preprocessing is not None and not hasattr(self.preprocessing, "transform"):
            raise ValueError("the model file's preprocessing is not a Standardizer (a plain "
                             "dict), so it cannot be applied; scale X yourself and call "
                             "deltaprop.predict")
        X = np.asarray(X, dtype=np.float64)
        if self.preprocessing is not None:
            X = self.preprocessing.transform(X)
        _check_in_range(X, self.model.dtype, self.preprocessing is not None)
        output = np.asarray(predict(self.model, X.astype(self.model.dtype, copy=False)))
        return self.unscale_output(output)

    def unscale_output(self, output: Any) -> np.ndarray:
        r"""``output`` (N, outputs) in the target's units: :math:`y_s \sigma_y + \mu_y` with
        the stored target scaling, or ``output`` as float64 when there is none."""
        output = np.asarray(output, dtype=np.float64)
        if self.target_preprocessing is None:
            return output
        return self.target_preprocessing.inverse_transform(output)


def _check_in_range(X: np.ndarray, dtype: np.dtype, scaled: bool) -> None:
    """Every value of ``X`` fits the model's ``dtype`` (float32 ends near 3.4e38): a larger
    one would become inf in the cast, and the output NaN."""
    limit = float(np.finfo(dtype).max)
    with np.errstate(invalid="ignore"):
        beyond = np.argwhere(np.abs(X) > limit)           # NaN compares False: checked later
    if beyond.size:
        cell = tuple(int(i) for i in beyond[0])
        where = ", ".join(map(str, cell))
        raise ValueError(f"ModelBundle.predict: X[{where}] = {X[cell]:.6g}"
                         f"{' after the stored scaling' if scaled else ''} is beyond the range "
                         f"of the model's {np.dtype(dtype).name} (±{limit:.2g}); rescale the "
                         "data, or use a float64 model")


def _names(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(
            isinstance(v, str) or finite_number(v) for v in value):
        return None
    return [v if isinstance(v, str) else str(v) for v in value]


# -- architecture ------------------------------------------------------------------------------
def architecture(model: Sequential) -> list[dict[str, Any]]:
    """The layer list of ``model`` (:meth:`Sequential.config`, which owns the layer types):
    ``[{"type": "Dense", "in_features": 2, ...}, ...]``; kept for existing callers."""
    return model.config()


# the rule each stored layer argument must follow: (test, rule in words)
ARGUMENT_RULES: dict[str, tuple[Any, str]] = {
    "in_features": (lambda v: natural(v) and v >= 1, "an integer >= 1"),
    "out_features": (lambda v: natural(v) and v >= 1, "an integer >= 1"),
    "bias": (lambda v: isinstance(v, bool), "true or false"),
    "p": (lambda v: finite_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "negative_slope": (lambda v: finite_number(v) and v >= 0, "a finite number >= 0"),
    "alpha": (lambda v: finite_number(v) and v > 0, "a finite number > 0"),
    "approximate": (lambda v: v in ("none", "tanh"), "'none' or 'tanh'"),
    "beta": (lambda v: finite_number(v) and v > 0, "a finite number > 0"),
    "threshold": (lambda v: finite_number(v), "a finite number"),
}


def check_architecture(spec: Any) -> list[dict[str, Any]]:
    """``spec`` checked layer by layer: known types, exactly their arguments, each of the
    right type and range, and the Dense widths chaining (``out`` of one = ``in`` of the
    next).  Raises ``ValueError`` naming the layer, the rule and what was found."""
    if not isinstance(spec, list) or not 1 <= len(spec) <= MAX_LAYERS:
        found = f"{len(spec)} layers" if isinstance(spec, list) else f"{spec!r:.80}"
        raise ValueError(f"architecture must be a non-empty list of at most {MAX_LAYERS} "
                         f"layers, got {found}")
    width = None
    types = layer_types()                              # the engine's registry
    for position, entry in enumerate(spec):
        kind = entry.get("type") if isinstance(entry, dict) else None
        if not isinstance(kind, str) or kind not in types:
            raise ValueError(f"architecture layer {position}: unknown type {kind!r:.60}; "
                             f"supported: {', '.join(types)}")
        names = types[kind]
        if set(entry) != {"type", *names}:
            found = sorted(key for key in entry if key != "type")
            raise ValueError(f"architecture layer {position} ({kind}) must have exactly the "
                             f"arguments {list(names)}, found {found}")
        for name in names:
            test, rule = ARGUMENT_RULES[name]
            if not test(entry[name]):
                raise ValueError(f"architecture layer {position} ({kind}) {name} must be "
                                 f"{rule}, found {entry[name]!r:.60}")
        if kind == "Dense":
            if width is not None and entry["in_features"] != width:
                raise ValueError(f"architecture layer {position} (Dense) in_features "
                                 f"{entry['in_features']} does not chain with the previous "
                                 f"Dense layer's out_features {width}")
            width = entry["out_features"]
    if width is None:
        raise ValueError("architecture must contain at least one Dense layer")
    return spec


def parameter_shapes(spec: list[dict[str, Any]]) -> dict[str, tuple[int, ...]]:
    """The tensor each Dense layer of a checked ``spec`` needs: ``{"0.weight": (out, in)...}``."""
    shapes: dict[str, tuple[int, ...]] = {}
    for position, entry in enumerate(spec):
        if entry["type"] == "Dense":
            shapes[f"{position}.weight"] = (entry["out_features"], entry["in_features"])
            if entry["bias"]:
                shapes[f"{position}.bias"] = (entry["out_features"],)
    return shapes


def build(spec: list[dict[str, Any]], dtype: Any = np.float32) -> Sequential:
    """A fresh ``Sequential`` from :func:`architecture`'s layer list, checked as a file's
    (:func:`check_architecture`), with zero placeholder weights the file's replace."""
    try:
        return Sequential.from_config(check_architecture(spec), dtype=dtype, init=_zeros)
    except InvalidParameterError as error:             # a rule of the engine not checked here
        raise ValueError(f"architecture: {error}") from None


# -- the checksum ------------------------------------------------------------------------------
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


# -- safetensors with checks (shared with checkpoints) -----------------------------------------
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


# -- helpers -----------------------------------------------------------------------------------
def _zeros(shape: tuple[int, int], rng: np.random.Generator, dtype: Any) -> np.ndarray:
    """Placeholder weights of a model being rebuilt (the file's weights replace them)."""
    return np.zeros(shape, dtype=dtype)


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


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError("model files need safetensors, which is not installed: "
                          "pip install 'deltaprop[io]'") from None
    return safetensors.numpy


from .torch_interop import from_torch, to_torch  # noqa: E402  (needs build, defined above)
