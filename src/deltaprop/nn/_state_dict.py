"""The checks of ``Sequential.load_state_dict``:
every key, shape and dtype of a state dict, checked before anything is written."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._backend import dtype_name, to_numpy
from .layers import Layer


def checked_state(state: Any, refs: list[tuple[str, Layer, str]]) -> dict[str, np.ndarray]:
    """``state``'s arrays on the host, by key, once every key, shape and dtype matches the
    parameters ``refs`` (``Sequential.parameter_refs()``); otherwise a KeyError, ValueError
    or TypeError naming the key, the rule and what was found."""
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict of arrays, got {type(state).__name__}")
    expected = {name for name, _, _ in refs}
    missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or extra:
        raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {extra}; "
                       f"the model has {sorted(expected)}")
    arrays = {}
    for name, layer, key in refs:
        value = _host_array(state[name], name)
        current = layer.params[key]
        if tuple(value.shape) != tuple(current.shape):
            raise ValueError(f"load_state_dict: {name!r} must have shape "
                             f"{tuple(current.shape)}, got {tuple(value.shape)}")
        if value.dtype != np.dtype(dtype_name(current)):
            raise TypeError(f"load_state_dict: {name!r} must have dtype "
                            f"{dtype_name(current)}, got {value.dtype}")
        arrays[name] = value
    return arrays


def _host_array(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach"):                            # a PyTorch tensor
        value = value.detach().cpu().numpy()
    try:
        return to_numpy(value) if not isinstance(value, (list, tuple)) else np.asarray(value)
    except Exception as error:  # noqa: BLE001 - re-raised with the key's name
        raise TypeError(f"load_state_dict: {name!r} is not an array ({error})") from None
