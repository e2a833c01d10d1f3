r"""Dropout in a training-mode trace: the mask the engine drew, forward and backward.

With ``explain(..., dropout="train")`` each Dropout after hidden layer :math:`l` draws a mask
:math:`M^{(l)}` (1: kept, 0: dropped; :math:`P(1) = 1 - p`) and the trace shows

- forward, after :math:`A^{(l)}`: :math:`\tilde A^{(l)} = A^{(l)} \odot M^{(l)} / (1 - p)`,
  the array layer :math:`l + 1` reads (its equations then say :math:`\tilde A^{(l)}`);
- backward, after :math:`\partial L/\partial \tilde A^{(l)}` (what layer :math:`l + 1` passes
  down): :math:`\partial L/\partial A^{(l)} = \partial L/\partial \tilde A^{(l)} \odot M^{(l)}
  / (1 - p)`, the gradient the activation's :math:`\varphi'` multiplies.

The mask is laid out as the activations are (``role="act"``: transposed in the samples-as-
columns notations, one column per sample in the one-sample ones); its entries are 0 and 1 in
every notation.  The tilde sits on the notation's letter (``Ã``, ``ã``, ``ỹ``, ``H̃``), which
``latex.py`` writes ``\tilde{A}``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..nn.layers import Dropout
from .notations import Context, Notation, shape_text
from .recording import LayerCopy, Recording
from .where import code_location

if TYPE_CHECKING:
    from .trace import Step, Value

TILDE = "\u0303"


def tilde(symbol: str) -> str:
    """``symbol`` with a tilde on its last letter, precomposed where Unicode has the letter
    (``A`` -> ``Ã``, ``∂C/∂a`` -> ``∂C/∂ã``, ``y`` -> ``ỹ``; ``H`` -> ``H̃`` combining)."""
    return unicodedata.normalize("NFC", symbol + TILDE)


def mask_symbol(nota: Notation) -> str:
    """``M`` for a batch of rows or columns, ``m`` for the one-sample column vector."""
    return "m" if nota.one_sample else "M"


def dropped(nota: Notation) -> Notation:
    """``nota`` writing the dropped activations: ``A`` -> ``Ã``, ``∂L/∂A`` -> ``∂L/∂Ã``."""
    symbols = nota.symbols
    return replace(nota, symbols={**symbols, "A": tilde(symbols["A"]),
                                  "gA": tilde(symbols["gA"])})


def reading(rec: Recording, nota: Notation, index: int) -> Notation:
    """How layer ``index``'s equations name what it reads: ``Ã`` when a mask was drawn
    below it (training mode), else ``A``."""
    below = rec.layers[index - 2] if index > 1 else None
    return dropped(nota) if below is not None and below.dropout is not None else nota


def one_sample_delta_equation(nota: Notation, d: str, grad_a: str, dphi: str) -> str:
    """δ of a layer with a mask above it, in the one-sample notations: their BP2 form
    (Wᵀδ) ⊙ φ′ would skip the mask, so it is written from ∂C/∂a (the dropout's backward
    output), as the batch notations always write it."""
    if nota.name == "haykin":
        return f"{d} = {dphi} ⊙ ({grad_a})"
    return f"{d} = {grad_a} ⊙ {dphi}"


def _given(nota: Notation, ctx: Context, layer: LayerCopy) -> list[Value]:
    """The mask (0s and 1s, laid out as the activations) and p, both inputs of the step."""
    from .trace import Value, activation_values

    sup = nota.sup(layer.index)
    mask = activation_values(nota, ctx, mask_symbol(nota) + sup, "act", layer.dropout.mask,
                             "mask", True)
    return [*mask, Value(f"p{sup}", np.asarray(layer.dropout.p), "scalar", "p", given=True)]


def forward_step(nota: Notation, ctx: Context, layer: LayerCopy) -> Step:
    """``forward.dropout.l``: Ã⁽ˡ⁾ = A⁽ˡ⁾ ⊙ M⁽ˡ⁾ / (1 − p⁽ˡ⁾), the engine's own Ã."""
    from .trace import Step, activation_values

    s, i = nota.symbols, layer.index
    sup = nota.sup(i)
    a, mask = s["A"] + sup, mask_symbol(nota) + sup
    out = tilde(s["A"]) + sup
    shape = shape_text(nota.show("act", layer.a, ctx).shape)
    return Step(f"forward.dropout.{i}", "forward", i, f"layer {i}: dropout (training mode)",
                f"{out} = {a} ⊙ {mask} / (1 − p{sup})", f"{shape} ⊙ {shape} → {shape}",
                _given(nota, ctx, layer)
                + activation_values(nota, ctx, out, "act", layer.dropout.dropped, "dropped"),
                code_location(Dropout.forward),
                [f"{mask} was drawn by the Dropout layer: each entry 1 with probability "
                 f"1 − p = {1 - layer.dropout.p:g}, 0 otherwise; the kept entries are scaled "
                 f"by 1/(1 − p) = {1 / (1 - layer.dropout.p):g} (inverted dropout)"])


def backward_step(nota: Notation, ctx: Context, layer: LayerCopy) -> Step:
    """``backward.dropout.l``: ∂L/∂A⁽ˡ⁾ = ∂L/∂Ã⁽ˡ⁾ ⊙ M⁽ˡ⁾ / (1 − p⁽ˡ⁾), the same mask."""
    from .trace import Step, activation_values

    s, i = nota.symbols, layer.index
    sup = nota.sup(i)
    mask, out = mask_symbol(nota) + sup, s["gA"] + sup
    shape = shape_text(nota.show("grad", layer.grad_a, ctx).shape)
    return Step(f"backward.dropout.{i}", "backward", i, f"layer {i}: back through dropout",
                f"{out} = {tilde(s['gA'])}{sup} ⊙ {mask} / (1 − p{sup})",
                f"{shape} ⊙ {shape} → {shape}",
                _given(nota, ctx, layer)
                + activation_values(nota, ctx, out, "grad", layer.grad_a, "grad_a_kept"),
                code_location(Dropout.backward),
                ["the same mask as the forward pass: a dropped unit passes no gradient"])
