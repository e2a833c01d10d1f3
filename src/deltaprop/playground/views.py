r"""What the page draws besides step mode, computed by the engine and sent as plain lists.

- the decision boundary: the model's probabilities on a grid over the data
  (:func:`deltaprop.predict_proba`), or the fitted curve of a 1-D regression;
- the network: each ``Dense`` layer's weights and biases, and the hidden units flagged
  **dead** (:math:`\varphi'(z) = 0` for every training sample: the unit passes no gradient)
  or **saturated** (:math:`|\varphi'(z)| < 0.01` for at least 90 % of them: it learns almost
  nothing), with :math:`\varphi'` the activation's own ``derivative``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..nn.activations import Activation
from ..nn.layers import Dense
from ..training.evaluation import predict, predict_proba

if TYPE_CHECKING:
    from ..datasets import Dataset
    from ..nn.model import Sequential
    from .state import Playground

GRID = 48                     # boundary cells per side
CURVE_POINTS = 200
SATURATED = 0.01              # |φ′| below this ...
SATURATED_SHARE = 0.9         # ... for this share of the samples


def plain(array: Any) -> Any:
    """A NumPy array as nested lists, NaN and ±inf as ``None`` (JSON has no such numbers)."""
    array = np.asarray(array, dtype=np.float64)
    return array.tolist() if np.all(np.isfinite(array)) else _none_for_nonfinite(array)


def _none_for_nonfinite(array: np.ndarray) -> Any:
    if array.ndim == 0:
        return float(array) if np.isfinite(array) else None
    return [_none_for_nonfinite(item) for item in array]


def _span(values: np.ndarray) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    pad = 0.1 * (high - low) + 0.1
    return low - pad, high + pad


def boundary(session: Playground, data: Dataset) -> dict[str, Any]:
    """The model on a grid over the data (2-D), or along the x axis (1-D regression)."""
    model, loss = session.model, session.loss
    X = data.X
    if X.shape[1] == 1:                                       # a fitted curve
        low, high = _span(X[:, 0])
        xs = np.linspace(low, high, CURVE_POINTS)[:, None]   # (P, 1)
        with np.errstate(over="ignore", invalid="ignore"):   # a diverged model: shown as null
            ys = np.asarray(predict(model, session.features(xs)))[:, 0]
        return {"kind": "curve", "x": plain(xs[:, 0]), "y": plain(ys)}
    (x0, x1), (y0, y1) = _span(X[:, 0]), _span(X[:, 1])
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)       # (G², 2), row-major from y0
    with np.errstate(over="ignore", invalid="ignore"):
        if data.task == "regression":
            values = np.asarray(predict(model, session.features(points)))[:, 0]
            return {"kind": "heat", "extent": [x0, x1, y0, y1], "size": GRID,
                    "value": plain(values)}
        proba = np.asarray(predict_proba(model, session.features(points), loss=loss))
    if proba.shape[1] == 1:                                   # P(class 1) -> two columns
        proba = np.concatenate([1 - proba, proba], axis=1)
    return {"kind": "classes", "extent": [x0, x1, y0, y1], "size": GRID,
            "label": proba.argmax(axis=1).tolist(), "confidence": plain(proba.max(axis=1))}


def unit_flags(model: Sequential, X: np.ndarray) -> list[list[str]]:
    """Per hidden layer, per unit: ``"dead"``, ``"saturated"`` or ``""`` on the rows ``X``."""
    was_training = model.training
    model.eval()
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            model.forward(X)
            records = model.records()
            flags = []
            for record in records[:-1]:
                if record.activation is None:
                    flags.append([""] * record.z.shape[1])
                    continue
                slope = np.abs(np.asarray(record.activation.derivative(
                    np, record.z, record.a)))                  # (N, units)
                dead = np.all(slope == 0, axis=0)
                saturated = np.mean(slope < SATURATED, axis=0) >= SATURATED_SHARE
                flags.append(["dead" if d else "saturated" if s else ""
                              for d, s in zip(dead, saturated)])
    finally:
        model.train(was_training)
    return flags


def network_view(model: Sequential, flags: list[list[str]]) -> dict[str, Any]:
    """The layers' sizes, weights ``(out, in)``, biases, activations and unit flags."""
    layers: list[dict[str, Any]] = []
    for layer in model.layers:
        if isinstance(layer, Dense):
            layers.append({"weight": plain(layer.params["weight"]),
                           "bias": plain(layer.params["bias"]) if "bias" in layer.params
                           else None, "activation": "identity"})
        elif layers and isinstance(layer, Activation):
            layers[-1]["activation"] = type(layer).__name__.lower()
    sizes = [model.dense_layers[0].in_features] + [d.out_features for d in model.dense_layers]
    return {"sizes": sizes, "layers": layers, "flags": flags}
