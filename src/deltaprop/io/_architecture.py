"""The architecture of a model file: the layer list, checked as untrusted input
(:func:`check_architecture`), the parameters it implies (:func:`parameter_shapes`) and the
model built from it (:func:`build`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import InvalidParameterError
from ..nn.model import Sequential, layer_types
from ._untrusted import finite_number, natural

MAX_LAYERS = 10_000                           # a bound on what a file may make us build


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


def _zeros(shape: tuple[int, int], rng: np.random.Generator, dtype: Any) -> np.ndarray:
    """Placeholder weights of a model being rebuilt (the file's weights replace them)."""
    return np.zeros(shape, dtype=dtype)
