r"""The things learners trip on, shown on the learner's own numbers.

- ``unfused_asides``: next to the fused output delta :math:`\Delta^{(L)} = (A - Y)/N`, the
  unfused route (:math:`\partial L/\partial A \odot \sigma'(Z)`, or the full softmax Jacobian
  times :math:`\partial L/\partial A`), computed by the engine's own activation layers, with
  the same numbers; for MSE, what the ``½`` convention would give.
- ``general_notes``: the single ``1/N``, Haykin's sign, ``2(a − y)`` against ``(a − y)``,
  derivatives written from the output, the softmax Jacobian, and the slips in the seeds.
"""

from __future__ import annotations

import numpy as np

from ..activations import Sigmoid, Softmax
from ..losses import BCELoss
from .notations import Context, Notation
from .recording import Recording
from .where import code_location

# the index slips of the source documents, and their corrected forms (NOTATION.md)
SEED_SLIPS = [
    "seed 001's pseudocode writes a⁽ˡ⁾ = f(z⁽ˡ⁻¹⁾); the activation of layer l is "
    "a⁽ˡ⁾ = f(z⁽ˡ⁾).",
    "seed 001's weight-gradient line uses Delta[l+1]; layer l's weight gradient uses its own "
    "delta: ∂L/∂W⁽ˡ⁾ = Δ⁽ˡ⁾ᵀ A⁽ˡ⁻¹⁾ (batch) or δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ (one sample).",
    "seed 004 writes z[3] = W[3] x; the output layer reads the hidden activations: "
    "z[3] = W[3] a[2] + b[3].",
]


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def unfused_asides(rec: Recording, nota: Notation, ctx: Context, step) -> list:
    """Asides for the output-delta step (empty for every other step)."""
    from .trace import Step, Value

    if step.key != "backward.delta.out":
        return []
    top, show, s = rec.layers[-1], nota.show, nota.symbols
    where = code_location(Softmax.backward if rec.pairing == "softmax_ce" else Sigmoid.backward)
    count = rec.mean_count
    if rec.pairing == "softmax_ce":
        grad_a = -rec.Y / (rec.n_samples * top.a)                  # ∂L/∂A of −Σ y log a / N
        layer = Softmax()
        layer.forward(top.z)
        delta = layer.backward(grad_a)                             # engine's Jacobian product
        jacobian = layer.jacobian(np, top.a[ctx.sample])
        return [Step("backward.delta.out.unfused", "backward", top.index,
                     "output delta, unfused: softmax Jacobian times ∂L/∂A",
                     "∂L/∂A = −Y / (N·A);  Δ = ∂L/∂A · J,  J = diag(a) − a aᵀ per sample "
                     "(not diagonal)", f"J for sample {ctx.sample}: {jacobian.shape}",
                     [Value("∂L/∂A", show("grad", grad_a, ctx), "grad", "grad_a"),
                      Value(f"J (sample {ctx.sample})", jacobian, "sample", "jacobian"),
                      Value(f"{s['d']} (unfused)", show("grad", delta, ctx), "grad", "delta")],
                     where, ["same numbers as the fused (A − Y)/N"])]
    if rec.pairing == "sigmoid_bce" and rec.fused:
        _, grad_a = BCELoss()(top.a, rec.Y)                        # ∂L/∂A on probabilities
        layer = Sigmoid()
        layer.forward(top.z)
        delta = layer.backward(grad_a)                             # ∂L/∂A ⊙ σ′(Z)
        return [Step("backward.delta.out.unfused", "backward", top.index,
                     "output delta, unfused: ∂L/∂A ⊙ σ′(Z)",
                     f"∂L/∂A = (A − Y) / (A(1 − A)·{count});  Δ = ∂L/∂A ⊙ A(1 − A)",
                     f"{top.a.shape} ⊙ {top.a.shape} → {delta.shape}",
                     [Value("∂L/∂A", show("grad", grad_a, ctx), "grad", "grad_a"),
                      Value("σ′(Z) = A(1 − A)", show("act", top.a * (1 - top.a), ctx), "act",
                            "derivative"),
                      Value(f"{s['d']} (unfused)", show("grad", delta, ctx), "grad", "delta")],
                     where, ["σ′ cancels the denominator: same numbers as (A − Y)/N"])]
    if rec.pairing == "sigmoid_bce":                               # engine ran it unfused
        fused = (top.a - rec.Y) / count
        return [Step("backward.delta.out.fused", "backward", top.index,
                     "output delta, fused shortcut", f"Δ = (A − Y) / {count}",
                     f"{top.a.shape} → {fused.shape}",
                     [Value("∂L/∂A (recorded)", show("grad", top.grad_a, ctx), "grad",
                            "grad_a"),
                      Value(f"{s['d']} (fused)", show("grad", fused, ctx), "grad", "delta")],
                     code_location(BCELoss.elementwise),
                     ["the engine computed ∂L/∂A ⊙ σ′(Z); the shortcut gives the same numbers"])]
    if rec.pairing == "mse":
        return [Step("backward.delta.out.half", "backward", top.index,
                     "output delta if the loss had a ½ in front",
                     "with L = ½·mean (a − y)² the factor 2 cancels: Δ_½ = Δ / 2",
                     f"{top.delta.shape}",
                     [Value(f"{s['d']}_½", show("grad", top.delta / 2, ctx), "grad",
                            "delta_half")],
                     code_location(type(rec.loss).elementwise),
                     ["deltaprop's MSELoss has no ½: its gradient is 2(A − Y)/(N·n_L)"])]
    return []


def general_notes(rec: Recording, nota: Notation, ctx: Context) -> list[str]:
    """The traps that apply to this network and notation, with this trace's numbers."""
    N, n, top = rec.n_samples, ctx.sample, rec.layers[-1]
    notes = []
    if nota.name in ("batch", "rows"):
        notes.append(f"The 1/N of the batch mean appears once, in the output delta (N = {N}); "
                     "∂L/∂W = Δᵀ A and ∂L/∂b = Σₙ Δ then sum over the batch without dividing "
                     "again.")
    elif nota.name == "ng":
        notes.append(f"Ng's dZ has no 1/m (m = {N}): dZ = m·Δᵀ, and the 1/m appears in dW and db "
                     "instead. Writing it in both places divides twice.")
    else:
        notes.append(f"δ is one sample's error, without 1/N; the batch gradient is the mean "
                     f"over the N = {N} samples of δ aᵀ, so the 1/N appears once.")
    if nota.name == "haykin":
        d_n = float(-N * top.delta[n, 0])
        notes.append(f"Haykin's δ is MINUS the gradient: e = d − y, so δ⁽ᴸ⁾ of sample {n} is "
                     f"{_fmt(d_n)} while N·∂L/∂Z⁽ᴸ⁾ is {_fmt(-d_n)}; hence W ← W + ηδyᵀ, the "
                     "same step as gradient descent W ← W − η∂L/∂W.")
    else:
        notes.append("Gradient DEscent subtracts: W ← W − η∂L/∂W. Haykin (seed 000) writes "
                     "δ = −∂E/∂v with e = d − y and adds: W ← W + ηδyᵀ; same step.")
    if rec.pairing == "mse":
        notes.append("MSE written Σ(a − y)² has gradient 2(a − y); written ½Σ(a − y)² it has "
                     "(a − y). deltaprop's MSELoss has no ½ (as PyTorch): Δ⁽ᴸ⁾ carries the 2.")
    if rec.pairing in ("softmax_ce", "sigmoid_bce"):
        link = "softmax" if rec.pairing == "softmax_ce" else "sigmoid"
        notes.append(f"{link} + cross-entropy: the output delta collapses to (A − Y)/N; "
                     "φ′ must NOT be multiplied in a second time "
                     "(explain(..., show_unfused=True) shows both routes).")
    if rec.pairing == "softmax_ce":
        notes.append("Softmax's Jacobian is not diagonal: ∂aᵢ/∂zⱼ = aᵢ(1ᵢⱼ − aⱼ).")
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
    notes.append("Slips in the seeds, corrected in this trace: " + " ".join(SEED_SLIPS))
    return notes
