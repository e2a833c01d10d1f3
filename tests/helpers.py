"""Generic test helpers (used by the gradient, model, optimiser and training tests):

- ``numeric_grad(f, x)``: central-difference gradient of a scalar function in float64;
- ``rel_error(a, b)``: ``‖a − b‖ / max(‖a‖ + ‖b‖, tiny)``, the measure the gradient checks use;
- ``torch_mirror(model)``: a ``torch.nn.Sequential`` in float64 with the same layers and the
  same weights as a deltaprop ``Sequential`` (imports torch lazily; call it only in tests that
  did ``pytest.importorskip("torch")``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numeric_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6
                 ) -> np.ndarray:
    """Central differences ``(f(x + εeᵢ) − f(x − εeᵢ)) / 2ε`` for every entry of ``x``.

    ``x`` is perturbed in place and restored; ``f`` reads it and returns a float.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    flat, flat_grad = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = f(x)
        flat[i] = saved - eps
        minus = f(x)
        flat[i] = saved
        flat_grad[i] = (plus - minus) / (2 * eps)
    return grad


def rel_error(a, b) -> float:
    """Relative error of two arrays: ``‖a − b‖ / max(‖a‖ + ‖b‖, 1e-300)``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def torch_layer(layer):
    """The ``torch.nn`` module that mirrors one deltaprop layer (float64, same weights)."""
    import torch

    import deltaprop as dp

    if isinstance(layer, dp.Dense):
        module = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.use_bias,
                                 dtype=torch.float64)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(np.array(layer.params["weight"], np.float64)))
            if layer.use_bias:
                module.bias.copy_(torch.from_numpy(np.array(layer.params["bias"], np.float64)))
        return module
    simple = {dp.Identity: torch.nn.Identity, dp.Sigmoid: torch.nn.Sigmoid,
              dp.Tanh: torch.nn.Tanh, dp.ReLU: torch.nn.ReLU}
    if type(layer) in simple:
        return simple[type(layer)]()
    if isinstance(layer, dp.LeakyReLU):
        return torch.nn.LeakyReLU(layer.negative_slope)
    if isinstance(layer, dp.ELU):
        return torch.nn.ELU(layer.alpha)
    if isinstance(layer, dp.GELU):
        return torch.nn.GELU(approximate=layer.approximate)
    if isinstance(layer, dp.Softplus):
        return torch.nn.Softplus(beta=layer.beta, threshold=layer.threshold)
    if isinstance(layer, dp.Softmax):
        return torch.nn.Softmax(dim=1)
    if isinstance(layer, dp.Dropout):
        return torch.nn.Dropout(layer.p)
    raise TypeError(f"no torch mirror for {layer!r}")


def torch_mirror(model):
    """A float64 ``torch.nn.Sequential`` with the layers and weights of ``model``.

    Positions match, so ``torch_mirror(model).state_dict()`` has the keys of
    ``model.state_dict()``.  The mirror is put in the same train/eval mode as ``model``.
    """
    import torch

    mirror = torch.nn.Sequential(*[torch_layer(layer) for layer in model.layers])
    return mirror.train(model.training)
