"""The check of a batch entering ``Sequential.forward``: a 2-D array of the parameters'
library, cast to their dtype; each error names the rule and what was received."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._backend import Array, namespace

if TYPE_CHECKING:
    from .model import Sequential


def model_input(model: Sequential, x: Any) -> Array:
    """``x`` checked (2-D, the library of ``model``'s parameters) and cast to their dtype (a
    float64 batch into a float32 model would otherwise make every product float64)."""
    if getattr(x, "ndim", None) != 2:
        raise ValueError(f"model input must be a 2-D array of shape (N, {model.in_features}),"
                         f" got {_shape_of(x)}")
    xp = namespace(x)
    param = next((value for _, value in model.named_parameters()), None)
    if param is not None and namespace(param) is not xp:
        raise TypeError(f"model input has type {_kind(x)} but the model's parameters "
                        f"have type {_kind(param)}: move the model with model.to(x) first")
    if param is not None and x.dtype != param.dtype:
        x = xp.astype(x, param.dtype)
    return x


def _kind(x: Any) -> str:
    return f"{type(x).__module__.split('.')[0]}.{type(x).__name__}"


def _shape_of(x: Any) -> str:
    shape = getattr(x, "shape", None)
    return str(tuple(shape)) if shape is not None else type(x).__name__
