"""PyTorch interchange: a deltaprop ``Sequential`` to ``torch.nn.Sequential`` and back.

The tensors keep their ``nn.Sequential`` keys (``"0.weight"``...), so weights move both ways
unchanged; needs torch (imported lazily).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..nn.model import Sequential, layer_types
from .model_files import build


def to_torch(model: Sequential) -> Any:
    """The matching ``torch.nn.Sequential`` with the same weights (float32/64 as the model)."""
    torch = _torch()
    nn = torch.nn
    dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[model.dtype]
    modules = []
    for entry in model.config():
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


def from_torch(module: Any) -> Sequential:
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
        elif kind in layer_types() and kind != "Dense":
            args = {name: getattr(child, name) for name in layer_types()[kind]}
            if kind == "Softmax" and child.dim not in (-1, 1, None):
                raise ValueError(f"module {position}: Softmax over dim={child.dim}; deltaprop "
                                 "applies it over the features (dim=-1)")
            spec.append({"type": kind, **args})
        else:
            supported = ", ".join(["Linear", *[k for k in layer_types() if k != "Dense"]])
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


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("PyTorch interchange needs torch, which is not installed: "
                          "pip install torch") from None
    return torch
