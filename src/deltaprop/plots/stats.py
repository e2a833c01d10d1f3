r"""``LayerStats``: a callback recording, per epoch and per layer, what goes wrong in deep nets.

For each ``Dense`` layer ``l`` it records after every optimiser step (from
``model.records()``, the quantities the layers cached themselves) and averages per epoch:

- ``grad_norm``: :math:`\lVert \partial L/\partial W^{(l)} \rVert_F`, the Frobenius norm of
  the weight gradient (vanishing when it falls by orders of magnitude towards the input,
  exploding when it grows);
- ``weight_norm``: :math:`\lVert W^{(l)} \rVert_F`;
- ``act_mean`` / ``act_std``: mean and standard deviation of :math:`A^{(l)}`;
- ``dead``: for ReLU-like layers, the fraction of units that were NEVER active
  (:math:`A^{(l)}_{n,j} \le 0` for every sample of the epoch): dead ReLUs;
- ``saturated``: for sigmoid / tanh layers, the fraction of activations within 2 % of the
  limits (:math:`\sigma < 0.01` or :math:`> 0.99`; :math:`|\tanh| > 0.98`), where
  :math:`\varphi'` is nearly zero and the gradient stops flowing.

No matplotlib needed; :func:`deltaprop.plots.plot_layer_stats` draws the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..nn._backend import to_numpy
from ..nn.activations import ReLU, Sigmoid, Tanh
from ..training.callbacks import Callback

SATURATION_MARGIN = 0.02   # within 2 % of the activation's range from a limit counts as saturated
STAT_NAMES = ("grad_norm", "weight_norm", "act_mean", "act_std", "dead", "saturated")


class LayerStats(Callback):
    """Record per-layer gradient norms and activation statistics during ``fit``.

    Attributes
    ----------
    layers : list[str]
        One label per ``Dense`` layer, e.g. ``"layer 1 (ReLU)"``.
    stats : dict[str, list[list[float]]]
        ``stats[name][epoch_index][layer_index]`` for the names in ``STAT_NAMES``; ``dead`` is
        NaN for non-ReLU layers, ``saturated`` NaN for non-sigmoid/tanh layers.
    epochs : list[int]
    """

    def __init__(self) -> None:
        self.layers: list[str] = []
        self.stats: dict[str, list[list[float]]] = {name: [] for name in STAT_NAMES}
        self.epochs: list[int] = []

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.layers = [f"layer {r.index} ({_label(r.activation)})"
                       for r in self.context.model.records()]

    def on_epoch_begin(self, epoch: int) -> None:
        n = len(self.layers)
        self._sums = {name: np.zeros(n) for name in ("grad_norm", "weight_norm", "act_mean",
                                                      "act_std", "saturated")}
        self._ever_active: list[np.ndarray | None] = [None] * n
        self._batches = 0

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        self._batches += 1
        for i, record in enumerate(self.context.model.records()):
            a = to_numpy(record.a)
            self._sums["grad_norm"][i] += float(np.linalg.norm(to_numpy(record.grad_weight)))
            self._sums["weight_norm"][i] += float(np.linalg.norm(
                to_numpy(record.dense.params["weight"])))
            self._sums["act_mean"][i] += float(a.mean())
            self._sums["act_std"][i] += float(a.std())
            kind = _kind(record.activation)
            if kind == "relu":
                active = np.any(a > 0, axis=0)                     # (units,): fired at least once
                seen = self._ever_active[i]
                self._ever_active[i] = active if seen is None else seen | active
            elif kind == "sigmoid":
                self._sums["saturated"][i] += float(np.mean((a < SATURATION_MARGIN / 2)
                                                            | (a > 1 - SATURATION_MARGIN / 2)))
            elif kind == "tanh":
                self._sums["saturated"][i] += float(np.mean(np.abs(a) > 1 - SATURATION_MARGIN))

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if not self._batches:
            return
        self.epochs.append(epoch)
        records = self.context.model.records()
        for name in ("grad_norm", "weight_norm", "act_mean", "act_std"):
            self.stats[name].append(list(self._sums[name] / self._batches))
        dead, saturated = [], []
        for i, record in enumerate(records):
            kind = _kind(record.activation)
            ever = self._ever_active[i]
            dead.append(float(1 - ever.mean()) if kind == "relu" and ever is not None
                        else float("nan"))
            saturated.append(float(self._sums["saturated"][i] / self._batches)
                             if kind in ("sigmoid", "tanh") else float("nan"))
        self.stats["dead"].append(dead)
        self.stats["saturated"].append(saturated)

    def array(self, name: str) -> np.ndarray:
        """``stats[name]`` as an array of shape ``(epochs, layers)``."""
        if name not in self.stats:
            raise KeyError(f"unknown statistic {name!r}; recorded: {', '.join(STAT_NAMES)}")
        return np.asarray(self.stats[name], dtype=float).reshape(len(self.epochs),
                                                                 len(self.layers))


def _kind(activation) -> str | None:
    """Which statistic applies: "relu" (dead units), "sigmoid" / "tanh" (saturation), or None."""
    return {ReLU: "relu", Sigmoid: "sigmoid", Tanh: "tanh"}.get(type(activation))


def _label(activation) -> str:
    return type(activation).__name__ if activation is not None else "output"
