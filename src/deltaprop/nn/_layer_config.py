"""Layers as JSON-able configs: the table of layer types a config may name, one layer to
and from its dict, and a whole stack's layers from a config list (``Sequential.config`` /
``Sequential.from_config``, what model files store as ``architecture``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import InvalidParameterError, check_seed
from .activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .layers import Dense, Dropout, Layer

# layer type -> (class, the constructor arguments that describe it in a config), in the order a
# config lists them; ``Dense``'s ``bias`` is its ``use_bias`` attribute
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


def layer_types() -> dict[str, tuple[str, ...]]:
    """The layer types a config may name, each with its constructor arguments, in order:
    ``{"Dense": ("in_features", "out_features", "bias"), "Dropout": ("p",), ...}``."""
    return {name: names for name, (_, names) in LAYER_TYPES.items()}


def layer_config(layer: Layer, position: int = 0) -> dict[str, Any]:
    """``layer`` as ``{"type": "Dense", "in_features": 2, "out_features": 3, "bias": True}``.

    Raises ``TypeError`` for a layer whose exact class is not one of :func:`layer_types`
    (a subclass may add state its config would not describe).
    """
    name = type(layer).__name__
    if name not in LAYER_TYPES or type(layer) is not LAYER_TYPES[name][0]:
        raise TypeError(f"layer {position} ({layer!r}) has no config; supported layers: "
                        f"{', '.join(LAYER_TYPES)}")
    args = {arg: getattr(layer, "use_bias" if arg == "bias" else arg)
            for arg in LAYER_TYPES[name][1]}
    return {"type": name, **args}


def layer_from_config(entry: Any, position: int = 0, *, dtype: Any = np.float32,
                      seed: Any = None, init: Any = "glorot_uniform") -> Layer:
    """A fresh layer from :func:`layer_config`'s dict (``seed`` and ``init`` for the weights
    of a ``Dense`` and the masks of a ``Dropout``).  An unknown type, or arguments other than
    exactly the type's, raise :class:`~deltaprop.InvalidParameterError` naming them and the
    known ones; each value is checked by the layer's constructor."""
    kind = entry.get("type") if isinstance(entry, dict) else None
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        found = f"unknown type {kind!r:.60}" if isinstance(entry, dict) else \
            f"not a dict with a 'type' but {entry!r:.60}"
        raise InvalidParameterError(f"config layer {position}: {found}; known types: "
                                    f"{', '.join(LAYER_TYPES)}")
    cls, names = LAYER_TYPES[kind]
    if set(entry) != {"type", *names}:
        found = sorted(str(key) for key in entry if key != "type")
        raise InvalidParameterError(f"config layer {position} ({kind}) must have exactly the "
                                    f"arguments {list(names)}, found {found}")
    args = {name: entry[name] for name in names}
    if cls is Dense:
        return Dense(args["in_features"], args["out_features"], bias=args["bias"], init=init,
                     seed=seed, dtype=dtype)
    if cls is Dropout:
        return Dropout(args["p"], seed=seed)
    return cls(**args)


def layers_from_config(config: Any, *, dtype: Any = np.float32, seed: Any = None,
                       init: Any = "glorot_uniform") -> list[Layer]:
    """The fresh layers of ``Sequential.from_config``, checked: a non-empty list, each entry
    a layer config, Dense widths that chain."""
    if not isinstance(config, (list, tuple)) or not config:
        raise InvalidParameterError(f"Sequential.from_config config must be a non-empty "
                                    f"list of layer dicts, got {config!r:.80}")
    rng = check_seed("Sequential.from_config", "seed", seed)
    layers = [layer_from_config(entry, position, dtype=dtype, seed=rng, init=init)
              for position, entry in enumerate(config)]
    width = None
    for position, layer in enumerate(layers):
        if isinstance(layer, Dense):
            if width is not None and layer.in_features != width:
                raise InvalidParameterError(
                    f"config layer {position} (Dense) in_features {layer.in_features} does "
                    f"not chain with the previous Dense layer's out_features {width}")
            width = layer.out_features
    return layers
