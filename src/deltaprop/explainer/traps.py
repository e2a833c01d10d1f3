r"""The things learners trip on, shown on the learner's own numbers.

- ``unfused_asides``: next to the fused output delta :math:`\Delta^{(L)} = (A - Y)/N`, the
  unfused route (:math:`\partial L/\partial A \odot \sigma'(Z)`, or the full softmax Jacobian
  times :math:`\partial L/\partial A`), computed by the engine's own activation layers, with
  the same numbers; for MSE, what the ``½`` convention would give.
- ``general_notes``: the single ``1/N``, Haykin's sign, ``2(a − y)`` against ``(a − y)``,
  derivatives written from the output, the softmax Jacobian, and the slips in the source
  texts of the examples.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..nn.activations import Sigmoid, Softmax
from ..nn.losses import BCELoss
from .notations import Context, Notation
from .outputs import fused_equation, loss_gradient_equation, through_activation_equation
from .recording import Recording, bce_floors_hit
from .where import code_location

if TYPE_CHECKING:
    from .trace import Step

# the index slips of the source documents, and their corrected forms (docs/notation-guide.md)
SEED_SLIPS = [
    "the softmax derivation's pseudocode (examples/softmax_no_bias.py) writes "
    "a⁽ˡ⁾ = f(z⁽ˡ⁻¹⁾); the activation of layer l is a⁽ˡ⁾ = f(z⁽ˡ⁾).",
    "the same derivation's weight-gradient line uses Delta[l+1]; layer l's weight gradient "
    "uses its own delta: ∂L/∂W⁽ˡ⁾ = Δ⁽ˡ⁾ᵀ A⁽ˡ⁻¹⁾ (batch) or δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ (one sample).",
    "the 2-2-1 notes (examples/two_two_one.py) write z[3] = W[3] x; the output layer reads "
    "the hidden activations: z[3] = W[3] a[2] + b[3].",
]


def _fmt(x: float) -> str:
    text = f"{x:.4g}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def unfused_asides(rec: Recording, nota: Notation, ctx: Context, step: Step) -> list:
    """Asides for the output-delta step (empty for every other step), in ``nota``'s symbols."""
    if step.key != "backward.delta.out":
        return []
    spec = rec.spec
    if spec.fused:                  # −Y/A has no value where a probability underflowed to 0
        return [] if spec.loss == "ce" and not np.all(rec.layers[-1].a > 0) \
            else [_unfused_route(rec, nota, ctx)]
    if spec.loss == "bce" and spec.activation == "sigmoid":       # engine ran it unfused
        # with A(1 − A) floored the long route no longer equals the shortcut: none shown
        return [] if spec.saturated else [_fused_shortcut(rec, nota, ctx)]
    if spec.loss == "mse":
        return [_half_mse(rec, nota, ctx)]
    return []


def _unfused_route(rec: Recording, nota: Notation, ctx: Context):
    """The long way round a fused pair: ∂L/∂A of the loss on probabilities, then the link."""
    from .trace import Step, Value, activation_values

    top, s, spec = rec.layers[-1], nota.symbols, rec.spec
    last, A = top.index, nota.symbols["A"] + nota.sup(top.index)
    if spec.loss == "bce":                          # BCE on probabilities: its floors may act
        spec = replace(spec, saturated=bce_floors_hit(BCELoss(), top.a))
    if spec.loss == "ce":
        grad_a = -rec.Y / (rec.n_samples * top.a)                  # ∂L/∂A of −Σ y log a / N
        layer = Softmax()
    else:
        _, grad_a = BCELoss()(top.a, rec.Y)                        # ∂L/∂A on probabilities
        layer = Sigmoid()
    layer.forward(top.z)
    delta = layer.backward(grad_a)                                 # the engine's own backward
    parts = [loss_gradient_equation(nota, spec, last),
             through_activation_equation(nota, spec, last)]
    values = activation_values(nota, ctx, "e", "act", rec.Y - top.a, "error") \
        if parts[0].startswith("e = ") else []
    values += activation_values(nota, ctx, s["gA"] + nota.sup(last), "grad", grad_a, "grad_a")
    values += activation_values(nota, ctx, s["d"] + nota.sup(last), "grad", delta, "delta")
    if spec.loss == "ce":
        parts.append(f"Jₙ = diag({A}ₙ) − {A}ₙ {A}ₙᵀ (not diagonal)")
        values.append(Value("Jₙ", layer.jacobian(np, top.a[ctx.sample]), "sample", "jacobian",
                            "sample"))
    title = ("output delta, unfused: softmax's Jacobian-vector product" if spec.loss == "ce"
             else f"output delta, unfused: {s['gA']} ⊙ σ′")
    return Step("backward.delta.out.unfused", "backward", last, title, ";  ".join(parts),
                f"{nota.show('act', top.a, ctx).shape} → {nota.show('grad', delta, ctx).shape}",
                values, code_location(type(layer).backward),
                [] if spec.saturated else
                ["the same numbers as the fused " + fused_equation(nota, rec.spec, last)])


def _fused_shortcut(rec: Recording, nota: Notation, ctx: Context):
    from .trace import Step, activation_values

    top, s = rec.layers[-1], nota.symbols
    fused = (top.a - rec.Y) / rec.mean_count
    equation = fused_equation(nota, rec.spec, top.index)
    values = activation_values(nota, ctx, "e", "act", rec.Y - top.a, "error") \
        if equation.startswith("e = ") else []
    values += activation_values(nota, ctx, s["d"] + nota.sup(top.index), "grad", fused, "delta")
    return Step("backward.delta.out.fused", "backward", top.index,
                "output delta, fused shortcut", equation,
                f"{nota.show('act', top.a, ctx).shape} → {nota.show('grad', fused, ctx).shape}",
                values, code_location(BCELoss.elementwise),
                ["the engine computed the long route; the shortcut gives the same numbers"])


def _half_mse(rec: Recording, nota: Notation, ctx: Context):
    from .trace import Step, activation_values

    top, d = rec.layers[-1], nota.symbols["d"] + nota.sup(rec.layers[-1].index)
    return Step("backward.delta.out.half", "backward", top.index,
                "output delta if the loss had a ½ in front",
                f"{d}_½ = {d} / 2 (with L = ½·mean (a − y)² the factor 2 cancels)",
                f"{nota.show('grad', top.delta, ctx).shape}",
                activation_values(nota, ctx, f"{d}_½", "grad", top.delta / 2, "delta_half"),
                code_location(type(rec.loss).elementwise),
                [f"deltaprop's MSELoss has no ½: its gradient is 2(A − Y)/{_count_text(rec)}"])


def _count_text(rec: Recording) -> str:
    return "N" if rec.mean_count == rec.n_samples else f"(N·{rec.n_outputs})"


def _mean_note(rec: Recording, nota: Notation) -> str:
    """Where the loss mean's single 1/N (or 1/(N·n_L)) sits, in this notation."""
    N, k, count = rec.n_samples, rec.n_outputs, rec.mean_count
    where = "the output delta" if rec.fused or rec.spec.activation == "identity" else \
        f"{nota.symbols['gA']}⁽ᴸ⁾ and so in the output delta"
    if count == N:
        factor, per_output = f"1/N (N = {N})", ""
    else:
        factor = f"1/(N·n_L) = 1/{count} (N = {N} samples × n_L = {k} outputs: the mean is " \
                 "over every entry)"
        per_output = f" and keeps the 1/n_L = 1/{k}"
    if nota.name in ("batch", "rows"):
        return (f"The {factor} of the loss mean appears once, in {where}; the weight and bias "
                "gradients then sum over the batch without dividing again.")
    if nota.name == "ng":
        return (f"Ng's dZ has no 1/m (m = {N}): dZ = m·Δᵀ{per_output}; the 1/m appears in dW "
                "and db instead. Writing it in both places divides twice.")
    return (f"δ is one sample's error, without 1/N{per_output}; the batch gradient is the mean "
            f"over the N = {N} samples of δ aᵀ, so the 1/N appears once.")


def _collapse_note(rec: Recording, nota: Notation) -> str:
    """Softmax/sigmoid + cross-entropy: the delta collapses, unless BCE's floors acted."""
    spec = rec.spec
    collapsed = fused_equation(nota, replace(spec, fused=True), rec.layers[-1].index,
                               reason=False).replace(";  ", ", ")
    if spec.saturated:
        return (f"sigmoid + binary cross-entropy on probabilities would collapse to "
                f"{collapsed}, but on this batch a sigmoid saturated and the floors of the "
                "loss (log ≥ −100, A(1 − A) ≥ 1e−12, as PyTorch) act, so the engine's delta "
                "differs from it; BCEWithLogitsLoss on logits computes the collapsed form "
                "exactly.")
    return (f"{spec.activation} + cross-entropy: the output delta collapses to {collapsed}; "
            "φ′ must NOT be multiplied in a second time (explain(..., show_unfused=True) "
            "shows both routes).")


def general_notes(rec: Recording, nota: Notation, ctx: Context) -> list[str]:
    """The traps that apply to this network and notation, with this trace's numbers."""
    N, n, top, spec = rec.n_samples, ctx.sample, rec.layers[-1], rec.spec
    notes = [_mean_note(rec, nota)]
    if nota.name == "haykin":
        d_n = float(-N * top.delta[n, 0])
        notes.append(f"Haykin's δ is MINUS the gradient: e = d − y, so δ⁽ᴸ⁾ of sample {n} is "
                     f"{_fmt(d_n)} while N·∂L/∂Z⁽ᴸ⁾ is {_fmt(-d_n)}; hence W ← W + ηδyᵀ, the "
                     "same step as gradient descent W ← W − η∂L/∂W.")
    else:
        notes.append("Gradient DEscent subtracts: W ← W − η∂L/∂W. Haykin writes "
                     "δ = −∂E/∂v with e = d − y and adds: W ← W + ηδyᵀ; same step.")
    if not rec.has_bias:
        notes.append("This network has no biases (bias=False): no + b in the forward pass, no "
                     "bias gradient and no bias update.")
    if rec.extras.get("dropout") and rec.dropout_mode == "train":
        notes.append("Dropout is on here (training mode): each step draws a fresh mask M, 0s "
                     "and 1s with P(1) = 1 − p, the forward pass multiplies by M/(1 − p) and the "
                     "backward pass multiplies by the SAME M/(1 − p) (not a new mask, not "
                     "forgetting the 1/(1 − p)); at prediction time (model.eval()) nothing is "
                     "dropped or rescaled.")
    elif rec.extras.get("dropout"):
        notes.append("Dropout is off here (evaluation mode). In training, fit multiplies each "
                     "dropped layer's activations by a fresh mask M/(1 − p), M of 0s and 1s "
                     "with P(1) = 1 − p, and the backward pass multiplies ∂L/∂A by the same "
                     "M/(1 − p); at prediction time nothing is dropped or rescaled.")
    if spec.loss == "mse":
        notes.append("MSE written Σ(a − y)² has gradient 2(a − y); written ½Σ(a − y)² it has "
                     "(a − y). deltaprop's MSELoss has no ½ (as PyTorch): Δ⁽ᴸ⁾ carries the 2.")
    if spec.fused or (spec.loss == "bce" and spec.activation == "sigmoid"):
        notes.append(_collapse_note(rec, nota))
    if spec.activation == "softmax" and rec.n_outputs == 1:
        notes.append("A softmax over ONE output is always 1, so the loss does not depend on Z "
                     "and every gradient is 0: two classes need two outputs, or one sigmoid "
                     "output with binary cross-entropy.")
    if spec.activation == "softmax":
        notes.append("Softmax's Jacobian is not diagonal: ∂aᵢ/∂zⱼ = aᵢ(1ᵢⱼ − aⱼ), so "
                     "∂L/∂A ⊙ softmax′(Z) is NOT its backward pass; the Jacobian-vector product "
                     "A ⊙ (G − rowsum(G ⊙ A)), G = ∂L/∂A, is.")
    for layer in rec.layers[:-1]:
        name = layer.activation_name
        if name in ("tanh", "sigmoid"):
            right = 1 - layer.a ** 2 if name == "tanh" else layer.a * (1 - layer.a)
            wrong = 1 - layer.z ** 2 if name == "tanh" else layer.z * (1 - layer.z)
            formula = "1 − A²" if name == "tanh" else "A(1 − A)"
            notes.append(f"{name}′ is written from the OUTPUT, {formula}, A = {name}(Z) "
                         f"(layer {layer.index}); putting Z in that formula instead is off by up "
                         f"to {_fmt(float(np.max(np.abs(right - wrong))))} on this batch.")
            break
    notes.append("Slips in the examples' source texts, corrected in this trace: "
                 + " ".join(SEED_SLIPS))
    return notes
