"""Model files: safetensors weights with the architecture, preprocessing and a checksum.

A model file is a plain `safetensors <https://huggingface.co/docs/safetensors>`_ file:

- tensors: ``model.state_dict()``, under PyTorch ``nn.Sequential`` keys (``"0.weight"``,
  ``"0.bias"``, ``"2.weight"``...), so ``torch.nn.Sequential.load_state_dict`` reads it as is;
- metadata (strings, JSON-encoded): ``format``, ``format_version``, ``deltaprop_version``,
  ``architecture`` (the layer list), ``preprocessing`` (e.g. a ``Standardizer``), the caller's
  ``metadata`` and ``checksum``: SHA-256 over every tensor's name, dtype, shape and bytes.
  safetensors checks the file's structure but not its content; the checksum catches a
  changed byte.

No pickle anywhere.  Files are written atomically (a temporary file in the same folder, then
``os.replace``), so a crash never leaves half a file under the final name.  Loading checks
everything (structure, format, checksum, architecture, shapes) before building the model:
a bad file raises :class:`ModelFileError` and nothing is half-loaded.

Needs the ``io`` extra: ``pip install 'deltaprop[io]'`` (safetensors, imported lazily).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .layers import Dense, Dropout, Layer
from .model import Sequential

FORMAT = "deltaprop-model"
FORMAT_VERSION = 1

# layer type -> (class, constructor arguments stored in the architecture)
LAYER_TYPES: dict[str, tuple[type[Layer], tuple[str, ...]]] = {
    "Dense": (Dense, ("in_features", "out_features", "bias")),
    "Dropout": (Dropout, ("p",)),
    "Identity": (Identity, ()),
    "Sigmoid": (Sigmoid, ()),
    "Tanh": (Tanh, ()),
    "ReLU": (ReLU, ()),
    "LeakyReLU": (LeakyReLU, ("negative_slope",)),
    "ELU": (ELU, ("alpha",)),
    "GELU": (GELU, ("approximate",)),
    "Softplus": (Softplus, ("beta", "threshold")),
    "Softmax": (Softmax, ()),
}


class ModelFileError(ValueError):
    """A model or checkpoint file is damaged, truncated, foreign or tampered with."""


@dataclass
class ModelBundle:
    """What :func:`load_bundle` returns: the model and everything saved with it."""

    model: Sequential
    preprocessing: Any = None                 # a Standardizer, a plain dict, or None
    metadata: dict[str, Any] = field(default_factory=dict)
    version: str = ""                         # the deltaprop version that wrote the file
    architecture: list[dict[str, Any]] = field(default_factory=list)


# -- architecture ------------------------------------------------------------------------------
def architecture(model: Sequential) -> list[dict[str, Any]]:
    """The layer list of ``model``: ``[{"type": "Dense", "in_features": 2, ...}, ...]``."""
    spec = []
    for position, layer in enumerate(model.layers):
        name = type(layer).__name__
        if name not in LAYER_TYPES or type(layer) is not LAYER_TYPES[name][0]:
            raise TypeError(f"layer {position} ({layer!r}) cannot be saved; supported layers: "
                            f"{', '.join(LAYER_TYPES)}")
        args = {arg: getattr(layer, "use_bias" if arg == "bias" else arg)
                for arg in LAYER_TYPES[name][1]}
        spec.append({"type": name, **args})
    return spec


def build(spec: list[dict[str, Any]], dtype: Any = np.float32) -> Sequential:
    """A fresh ``Sequential`` from :func:`architecture`'s layer list (weights not loaded)."""
    if not isinstance(spec, list) or not spec:
        raise ValueError(f"architecture must be a non-empty list of layers, got {spec!r:.80}")
    layers: list[Layer] = []
    for position, entry in enumerate(spec):
        kind = entry.get("type") if isinstance(entry, dict) else None
        if kind not in LAYER_TYPES:
            raise ValueError(f"architecture layer {position}: unknown type {kind!r}; "
                             f"supported: {', '.join(LAYER_TYPES)}")
        cls, names = LAYER_TYPES[kind]
        missing = [name for name in names if name not in entry]
        if missing:
            raise ValueError(f"architecture layer {position} ({kind}) lacks {missing}")
        args = {name: entry[name] for name in names}
        if cls is Dense:
            in_f, out_f = args.pop("in_features"), args.pop("out_features")
            layers.append(Dense(in_f, out_f, bias=bool(args["bias"]), init=_zeros, dtype=dtype))
        else:
            layers.append(cls(**args))
    return Sequential(*layers)


# -- the checksum ------------------------------------------------------------------------------
def checksum(tensors: dict[str, np.ndarray]) -> str:
    """``"sha256:<hex>"`` over each tensor's name, dtype, shape and little-endian bytes."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.tobytes())
    return "sha256:" + digest.hexdigest()


# -- save / load -------------------------------------------------------------------------------
def save(model: Sequential, path: str | os.PathLike, *, preprocessing: Any = None,
         metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (with optional ``preprocessing`` and JSON-able ``metadata``) to ``path``.

    ``preprocessing`` is an object with ``to_dict()`` (``Standardizer``) or a JSON-able dict.
    Returns the path written.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"save expects a deltaprop Sequential, got {type(model).__name__}")
    tensors = model.state_dict()
    fields = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "deltaprop_version": _version(),
        "architecture": json.dumps(architecture(model)),
        "preprocessing": json.dumps(_preprocessing_dict(preprocessing)),
        "metadata": _json("metadata", {} if metadata is None else metadata),
        "checksum": checksum(tensors),
    }
    return write_safetensors(path, tensors, fields)


def load(path: str | os.PathLike) -> Sequential:
    """The model saved in ``path`` (see :func:`load_bundle` for the preprocessing)."""
    return load_bundle(path).model


def load_bundle(path: str | os.PathLike) -> ModelBundle:
    """The model, its preprocessing (a ``Standardizer`` when one was saved) and metadata."""
    tensors, fields = read_safetensors(path, FORMAT)
    where = os.fspath(path)
    try:
        spec = json.loads(fields["architecture"])
        prep = json.loads(fields.get("preprocessing", "null"))
        user = json.loads(fields.get("metadata", "{}"))
    except (KeyError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{where}: damaged metadata ({error})") from None
    dtypes = {array.dtype for array in tensors.values()}
    if len(dtypes) > 1:
        raise ModelFileError(f"{where}: tensors of mixed dtypes {sorted(map(str, dtypes))}")
    try:
        model = build(spec, dtype=dtypes.pop() if dtypes else np.float32)
        model.load_state_dict(tensors)
    except (ValueError, TypeError, KeyError) as error:
        raise ModelFileError(f"{where}: the weights do not match the saved architecture: "
                             f"{error}") from None
    model.eval()
    return ModelBundle(model, _preprocessing_object(prep), user,
                       fields.get("deltaprop_version", ""), spec)


# -- safetensors with checks (shared with checkpoints) -----------------------------------------
def write_safetensors(path: str | os.PathLike, tensors: dict[str, np.ndarray],
                      fields: dict[str, str]) -> Path:
    """Serialise with safetensors and write atomically: temp file, fsync, ``os.replace``."""
    numpy_backend = _safetensors_numpy()
    data = numpy_backend.save({k: np.ascontiguousarray(v) for k, v in tensors.items()},
                              metadata=fields)
    return atomic_write(path, data)


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file next to ``path``, then rename it over ``path``."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return path


def read_safetensors(path: str | os.PathLike, expected_format: str
                     ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Tensors and metadata of a deltaprop safetensors file, after every check."""
    numpy_backend = _safetensors_numpy()
    where = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"model file not found: {where}") from None
    if len(data) < 8:
        raise ModelFileError(f"{where}: not a safetensors file (only {len(data)} bytes)")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > len(data) - 8:
        raise ModelFileError(f"{where}: not a safetensors file, or truncated (the header "
                             f"claims {header_size} bytes, the file has {len(data) - 8} after "
                             "the size field)")
    try:
        header = json.loads(data[8:8 + header_size])
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ModelFileError(f"{where}: not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{where}: not a safetensors file (its header is not a JSON object)")
    try:
        tensors = numpy_backend.load(data)
    except Exception as error:  # noqa: BLE001 - safetensors raises its own SafetensorError
        raise ModelFileError(f"{where}: damaged or truncated safetensors file ({error})") from None
    fields = header.get("__metadata__") or {}
    if fields.get("format") != expected_format:
        found = fields.get("format")
        raise ModelFileError(
            f"{where}: a safetensors file, but not a {expected_format} file written by "
            f"deltaprop (metadata 'format' is {found!r}); load foreign weights with "
            "safetensors and Sequential.load_state_dict")
    if fields.get("format_version") != str(FORMAT_VERSION):
        raise ModelFileError(f"{where}: format_version {fields.get('format_version')!r} is not "
                             f"supported by this deltaprop (reads {FORMAT_VERSION})")
    expected, actual = fields.get("checksum"), checksum(tensors)
    if expected != actual:
        raise ModelFileError(f"{where}: checksum mismatch, the tensors were changed after "
                             f"saving (stored {expected}, computed {actual})")
    return tensors, fields


# -- PyTorch interchange -----------------------------------------------------------------------
def to_torch(model: Sequential):
    """The matching ``torch.nn.Sequential`` with the same weights (float32/64 as the model)."""
    torch = _torch()
    nn = torch.nn
    dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[model.dtype]
    modules = []
    for entry in architecture(model):
        kind = entry["type"]
        if kind == "Dense":
            modules.append(nn.Linear(entry["in_features"], entry["out_features"],
                                     bias=entry["bias"], dtype=dtype))
        elif kind == "Softmax":
            modules.append(nn.Softmax(dim=-1))
        else:
            args = {k: v for k, v in entry.items() if k != "type"}
            modules.append(getattr(nn, kind)(**args))
    module = nn.Sequential(*modules)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return module.eval()


def from_torch(module) -> Sequential:
    """A deltaprop ``Sequential`` from a ``torch.nn.Sequential`` of supported modules."""
    torch = _torch()
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"from_torch expects a torch.nn.Sequential, got {type(module).__name__}")
    spec: list[dict[str, Any]] = []
    for position, child in enumerate(module):
        kind = type(child).__name__
        if isinstance(child, nn.Linear):
            spec.append({"type": "Dense", "in_features": child.in_features,
                         "out_features": child.out_features, "bias": child.bias is not None})
        elif kind in LAYER_TYPES and kind != "Dense":
            args = {name: getattr(child, name) for name in LAYER_TYPES[kind][1]}
            if kind == "Softmax" and child.dim not in (-1, 1, None):
                raise ValueError(f"module {position}: Softmax over dim={child.dim}; deltaprop "
                                 "applies it over the features (dim=-1)")
            spec.append({"type": kind, **args})
        else:
            supported = ", ".join(["Linear", *[k for k in LAYER_TYPES if k != "Dense"]])
            raise TypeError(f"module {position} ({kind}) has no deltaprop equivalent; "
                            f"supported: {supported}")
    state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    dtypes = {array.dtype for array in state.values()}
    if not dtypes <= {np.dtype(np.float32), np.dtype(np.float64)} or len(dtypes) != 1:
        raise TypeError(f"from_torch needs all parameters float32 or all float64, got "
                        f"{sorted(map(str, dtypes))}")
    model = build(spec, dtype=dtypes.pop())
    model.load_state_dict(state)
    return model


# -- helpers -----------------------------------------------------------------------------------
def _zeros(shape: tuple[int, int], rng: np.random.Generator, dtype: Any) -> np.ndarray:
    """Placeholder weights of a model being rebuilt (the file's weights replace them)."""
    return np.zeros(shape, dtype=dtype)


def _preprocessing_dict(preprocessing: Any) -> Any:
    if preprocessing is None:
        return None
    if hasattr(preprocessing, "to_dict"):
        return preprocessing.to_dict()
    if isinstance(preprocessing, dict):
        json.dumps(preprocessing)                       # fail now, not at load time
        return preprocessing
    raise TypeError("preprocessing must be None, a dict, or have to_dict() (Standardizer), "
                    f"got {type(preprocessing).__name__}")


def _preprocessing_object(data: Any) -> Any:
    if isinstance(data, dict) and data.get("type") == "standardizer":
        from .preprocessing import Standardizer

        return Standardizer.from_dict(data)
    return data


def _json(name: str, value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be JSON-serialisable: {error}") from None


def _version() -> str:
    from . import __version__

    return __version__


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError("model files need safetensors, which is not installed: "
                          "pip install 'deltaprop[io]'") from None
    return safetensors.numpy


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("PyTorch interchange needs torch, which is not installed: "
                          "pip install torch") from None
    return torch
