r"""What each layer ``l`` recorded in the last forward/backward pass, gathered per layer of
the notation guide (a ``Dense`` and the activation after it): :class:`LayerRecord` and
:func:`layer_records`, behind ``Sequential.records``.
The explainer reads them here; it never recomputes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._backend import Array
from .activations import Activation
from .layers import Dense, Layer


@dataclass
class LayerRecord:
    r"""What layer ``l`` recorded in the last forward/backward pass (the notation guide's symbols).

    ``a`` is the output of the layer's activation (``z`` itself when it has none); ``grad_a``
    is :math:`\partial L/\partial A^{(l)}` and ``delta`` is :math:`\Delta^{(l)} = \partial
    L/\partial Z^{(l)}`.  Backward fields are ``None`` until a backward pass has run.
    """

    index: int                      # l, counted from 1 (A⁽⁰⁾ is the input)
    dense: Dense
    activation: Activation | None
    position: int                   # position of the Dense layer in the Sequential
    a_prev: Array | None
    z: Array | None
    a: Array | None
    grad_a: Array | None
    delta: Array | None
    grad_weight: Array | None
    grad_bias: Array | None
    grad_a_prev: Array | None


def layer_records(layers: Sequence[Layer]) -> list[LayerRecord]:
    """One :class:`LayerRecord` per ``Dense`` of ``layers``, joined by the activation right
    after it."""
    records: list[LayerRecord] = []
    for position, layer in enumerate(layers):
        if isinstance(layer, Dense):
            records.append(LayerRecord(
                index=len(records) + 1, dense=layer, activation=None, position=position,
                a_prev=layer.a_prev, z=layer.z, a=layer.z, grad_a=layer.delta,
                delta=layer.delta, grad_weight=layer.grads.get("weight")
                if layer.delta is not None else None,
                grad_bias=layer.grads.get("bias") if layer.delta is not None else None,
                grad_a_prev=layer.grad_in))
        elif isinstance(layer, Activation) and records and records[-1].activation is None:
            record = records[-1]
            record.activation, record.a, record.grad_a = layer, layer.a, layer.grad_out
    return records
