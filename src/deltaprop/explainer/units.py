r"""Saturated and dead units: where :math:`\varphi'(Z) \approx 0` on every sample of a batch.

A hidden unit :math:`j` of layer :math:`l` passes its delta through
:math:`\Delta^{(l)}_{:,j} = (\partial L/\partial A^{(l)})_{:,j} \odot \varphi'(Z^{(l)}_{:,j})`.
Where :math:`|\varphi'| <` :data:`SATURATION` on **every** sample of the batch, the unit's
delta is ≈ 0, so its weights' gradient :math:`\partial L/\partial W^{(l)}_{j,:}` and what it
sends back are ≈ 0 too: the unit learns nothing from this batch.

- *saturated*: a sigmoid or tanh (or GELU, ELU, Softplus far on the flat side) with
  :math:`|\varphi'| <` ``SATURATION`` on every sample (sigmoid beyond :math:`|z| \approx 6.9`,
  tanh beyond :math:`|z| \approx 4.1`);
- *dead*: a ReLU whose output is exactly 0 on every sample (:math:`z \le 0`, so
  :math:`\varphi' = 0`).

The derivative is the engine's own (``Activation.derivative``) applied to the recorded
:math:`Z` and :math:`A`.  Not checked: softmax (not element-wise), and an output layer whose
loss cancels :math:`\varphi'` (logits into the loss, sigmoid + binary cross-entropy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..nn.activations import Activation, Softmax
from .recording import LayerCopy, Recording

SATURATION = 1e-3          # |φ′(z)| below this on every sample: the unit is flagged


@dataclass(frozen=True)
class FlaggedUnits:
    """Layer ``layer``'s units (0-based indices) that learn nothing from this batch."""

    layer: int
    activation: str
    saturated: tuple[int, ...]      # |φ′| < SATURATION on every sample, φ not exactly 0
    dead: tuple[int, ...]           # A = 0 and φ′ = 0 on every sample (ReLU)


def _checked(rec: Recording, layer: LayerCopy) -> bool:
    """Does φ′ reach this layer's delta (element-wise, and not cancelled by the loss)?"""
    act = layer.activation
    if act is None or isinstance(act, Softmax) or \
            type(act).derivative is Activation.derivative:
        return False
    if layer.index == rec.layers[-1].index:
        return not rec.fused and rec.pairing != "sigmoid_bce"
    return True


def flagged_units(rec: Recording) -> list[FlaggedUnits]:
    """Per checked layer with at least one flagged unit: its saturated and dead units."""
    flagged = []
    for layer in rec.layers:
        if not _checked(rec, layer):
            continue
        slope = np.abs(np.asarray(layer.activation.derivative(np, layer.z, layer.a),
                                  dtype=np.float64))             # (N, out)
        quiet = np.all(slope < SATURATION, axis=0)               # (out,)
        dead = quiet & np.all(layer.a == 0, axis=0) & np.all(slope == 0, axis=0)
        if quiet.any():
            flagged.append(FlaggedUnits(layer.index, layer.activation_name,
                                        tuple(np.flatnonzero(quiet & ~dead).tolist()),
                                        tuple(np.flatnonzero(dead).tolist())))
    return flagged


def _which(flags: FlaggedUnits, units: tuple[int, ...], width: int) -> str:
    """``unit 2 of layer 1 (of 4, counting from 1)``."""
    names = ", ".join(str(j + 1) for j in units)
    return (f"unit {names}" if len(units) == 1 else f"units {names}") + \
        f" of layer {flags.layer} (of {width}, counting from 1)"


def _learns(units: tuple[int, ...]) -> str:
    return "this unit learns" if len(units) == 1 else "these units learn"


def _its(units: tuple[int, ...]) -> str:
    return "its" if len(units) == 1 else "their"


def unit_notes(rec: Recording, flags: FlaggedUnits) -> list[str]:
    """The sentences shown on the layer's activation and delta steps."""
    width = int(rec.layers[flags.layer - 1].z.shape[1])
    name, notes = flags.activation, []
    prime = "σ′" if name == "sigmoid" else f"{name}′"
    if flags.saturated:
        notes.append(f"{prime} ≈ 0 here for {_which(flags, flags.saturated, width)}: "
                     f"|{prime}(Z)| < {SATURATION:g} on every sample, so "
                     f"{_learns(flags.saturated)} nothing from this batch (saturated: "
                     f"{_its(flags.saturated)} delta, weights' gradient and what goes back "
                     "to the layer below are ≈ 0).")
    if flags.dead:
        which = _which(flags, flags.dead, width)
        notes.append(f"{which[0].upper()}{which[1:]} dead on this batch: {name}(Z) = 0 on every "
                     f"sample, so {prime} = 0 and {_learns(flags.dead)} nothing from this "
                     f"batch ({_its(flags.dead)} delta and weights' gradient are 0).")
    return notes


def add_unit_notes(rec: Recording, steps: list) -> None:
    """Note the flagged units on each affected layer's activation step and delta step."""
    top = rec.layers[-1].index
    for flags in flagged_units(rec):
        keys = {f"forward.a.{flags.layer}",
                "backward.delta.out" if flags.layer == top else f"backward.delta.{flags.layer}"}
        for step in steps:
            if step.key in keys:
                step.notes.extend(unit_notes(rec, flags))
