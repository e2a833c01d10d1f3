r"""The loss and the output delta, written the way each notation writes them.

What the engine computed decides the equation (``docs/notation-guide.md``):

- a loss on logits (``CrossEntropyLoss``, ``BCEWithLogitsLoss``): the fused
  :math:`\Delta^{(L)} = (A - Y)/N` (over :math:`N n_L` entries for binary cross-entropy);
- any other loss: :math:`\partial L/\partial A^{(L)}` first, then back through the output
  activation: :math:`\partial L/\partial A \odot \varphi'(Z)` for an element-wise one, the
  Jacobian-vector product :math:`A \odot (G - \operatorname{rowsum}(G \odot A))` for softmax.

The one-sample notations (column, Haykin) and Ng's have no :math:`1/N` in their deltas: the
element-wise losses keep their :math:`1/n_L`, Haykin's signs flip (:math:`e = d - y`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .notations import Notation, derivative_text


@dataclass(frozen=True)
class OutputSpec:
    """What the output layer and the loss are: ``loss`` in {"ce", "bce", "mse"}."""

    loss: str
    activation: str          # the output activation's name ("softmax", "sigmoid", "identity")
    fused: bool              # the loss took logits: Δᴸ came from the loss itself
    n_outputs: int
    layer: Any = field(default=None, compare=False)   # the output activation layer, if any
    saturated: bool = False  # BCE on probabilities hit its floors (log ≥ −100, A(1−A) ≥ 1e−12)


def loss_kind(loss: Any) -> str:
    """``"ce"``, ``"bce"`` or ``"mse"`` for a deltaprop loss (others are refused by explain)."""
    from ..nn.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
    kinds = (("ce", CrossEntropyLoss), ("bce", (BCELoss, BCEWithLogitsLoss)), ("mse", MSELoss))
    for kind, cls in kinds:
        if isinstance(loss, cls):
            return kind
    raise ValueError(f"explain supports CrossEntropyLoss, BCELoss, BCEWithLogitsLoss and "
                     f"MSELoss, got {type(loss).__name__}")


def _names(nota: Notation, last: int) -> dict[str, str]:
    s, L = nota.symbols, nota.sup(last)
    return {"A": s["A"] + L, "Z": s["Z"] + L, "Y": s["Y"], "d": s["d"] + L, "g": s["gA"] + L,
            "N": s["N"]}


def _per_output(spec: OutputSpec) -> int:
    """The number of terms per sample the loss averages over: n_L, except cross-entropy's 1."""
    return 1 if spec.loss == "ce" else spec.n_outputs


def _over(nota: Notation, spec: OutputSpec, text: str) -> str:
    """``text`` divided by what this notation's delta carries: N·n_L, n_L, or nothing."""
    k, N = _per_output(spec), nota.symbols["N"]
    if nota.name in ("batch", "rows"):
        return f"{text} / {N if k == 1 else f'({N}·{k})'}"
    return text if k == 1 else f"{text} / {k}"


def loss_equation(nota: Notation, spec: OutputSpec, last: int) -> str:
    r"""The mean loss as the engine computes it: from the logits when the loss took them
    (log-softmax, the stable binary cross-entropy), else from :math:`A^{(L)}`."""
    n = _names(nota, last)
    A, Y, Z = n["A"], n["Y"], n["Z"]
    k = _per_output(spec)
    count = n["N"] if k == 1 else f"({n['N']}·{k})"
    scope = " over every sample n" if nota.one_sample else ""
    log_a, log_1ma = f"log {A}", f"log(1 − {A})"
    if spec.saturated:                               # the floors PyTorch's BCELoss applies too
        log_a, log_1ma = f"max({log_a}, −100)", f"max({log_1ma}, −100)"
    if spec.fused:
        body = {"ce": f"L = −(1/{count}) Σ {Y} ⊙ log softmax({Z})",
                "bce": f"L = (1/{count}) Σ [max({Z}, 0) − {Z} ⊙ {Y} + log(1 + e^(−|{Z}|))]"}
    else:
        body = {"bce": f"L = −(1/{count}) Σ [{Y} ⊙ {log_a} + (1 − {Y}) ⊙ {log_1ma}]",
                "mse": f"L = (1/{count}) Σ ({A} − {Y})²"}
    return body[spec.loss] + scope


def loss_gradient_equation(nota: Notation, spec: OutputSpec, last: int) -> str:
    r""":math:`\partial L/\partial A^{(L)}` (Haykin: :math:`-\partial E/\partial y`)."""
    n = _names(nota, last)
    A, Y, g, loss = n["A"], n["Y"], n["g"], spec.loss
    spread = f"({A} ⊙ (1 − {A}))"
    if spec.saturated:                               # PyTorch's floor of A(1 − A)
        spread = f"max({A} ⊙ (1 − {A}), 1e−12)"
    if nota.name == "haykin":
        e = f"e = {Y} − {A};  "
        body = {"ce": f"{Y} / {A}", "bce": f"e / {spread}", "mse": "2e"}[loss]
        return (e if loss != "ce" else "") + f"{g} = " + _over(nota, spec, body)
    body = {"ce": f"−{Y} / {A}", "bce": f"({A} − {Y}) / {spread}",
            "mse": f"2({A} − {Y})"}[loss]
    return f"{g} = " + _over(nota, spec, body)


def through_activation_equation(nota: Notation, spec: OutputSpec, last: int) -> str:
    r"""The output delta from :math:`\partial L/\partial A^{(L)}`: ⊙ φ′, or softmax's JVP."""
    n = _names(nota, last)
    A, Z, d, g = n["A"], n["Z"], n["d"], n["g"]
    if spec.activation == "softmax":
        return softmax_backward_equation(nota, A, g, d)
    dphi = derivative_text(spec.layer if spec.layer is not None else spec.activation, A, Z)
    if dphi == "1":
        return f"{d} = {g}"
    return f"{d} = {dphi} ⊙ ({g})" if nota.name == "haykin" else f"{d} = {g} ⊙ {dphi}"


def softmax_backward_equation(nota: Notation, A: str, g: str, d: str) -> str:
    r"""Softmax's Jacobian-vector product, per sample: :math:`A \odot (G - \sum_j G_j A_j)`."""
    wrapped = g if g.startswith("(") and g.endswith(")") else f"({g})"
    total = {"batch": f"rowsum({g} ⊙ {A})", "rows": f"rowsum({g} ⊙ {A})",
             "ng": f"colsum({g} ⊙ {A})"}.get(nota.name, f"{A}ᵀ {wrapped}")
    return f"{d} = {A} ⊙ ({g} − {total})"


def fused_equation(nota: Notation, spec: OutputSpec, last: int, reason: bool = True) -> str:
    r"""The collapsed output delta: :math:`(A - Y)/N` in the notation's own scaling.

    The one-sample notations say why in parentheses unless ``reason`` is false.
    """
    n = _names(nota, last)
    A, Y, d = n["A"], n["Y"], n["d"]
    why = ("softmax + cross-entropy: the Jacobian cancels" if spec.activation == "softmax"
           else "sigmoid + cross-entropy: σ′ cancels")
    if not reason:
        return fused_equation(nota, spec, last).replace(f" ({why})", "")
    if nota.name == "haykin":
        return f"e = {Y} − {A};  {d} = " + _over(nota, spec, "e") + f" ({why})"
    text = f"{d} = " + _over(nota, spec, f"({A} − {Y})" if nota.name in ("batch", "rows")
                            or _per_output(spec) > 1 else f"{A} − {Y}")
    return text + f" ({why})" if nota.one_sample else text


def output_delta_equation(nota: Notation, spec: OutputSpec, last: int) -> str:
    """The output-delta step's equation: fused, or the loss gradient then the activation."""
    if spec.fused:
        return fused_equation(nota, spec, last)
    first = loss_gradient_equation(nota, spec, last)
    if spec.activation == "identity":                     # Δ = ∂L/∂A: one equation
        g = _names(nota, last)["g"]
        return first.replace(f"{g} = ", _names(nota, last)["d"] + " = ")
    second = through_activation_equation(nota, spec, last)
    if spec.loss == "bce" and spec.activation == "sigmoid" and not spec.saturated:
        fused = fused_equation(nota, OutputSpec("bce", "sigmoid", True, spec.n_outputs), last,
                               reason=False)
        second += " = " + fused.rsplit(" = ", 1)[1]
    return f"{first};  {second}"
