r"""Practice from memory: exercises with names and shapes only, and hints revealed in stages.

``deltaprop practice TOPIC --recall`` writes each function with its inputs and outputs, their
shapes and what they mean, but no equation.  ``deltaprop check FILE --hint`` (repeatable)
reveals, per function, one stage more each time:

1. the quantities involved (which inputs enter which output);
2. the shapes of the products and sums on the way;
3. the equations themselves.

The result says how many stages were revealed (``hints_used``).
"""

from __future__ import annotations

import ast
from typing import Any

STAGES = ("the quantities involved", "the shapes", "the equations")

_ACT_IO = ("z : (N, n)  the pre-activation Z (the forward input)\n"
           "grad_out : (N, n)  ∂L/∂A, the gradient with respect to the output A = φ(Z)",
           "grad_z : (N, n)  ∂L/∂Z")


def _activation(name: str, derivative: str, output_form: str) -> tuple[str, str, str]:
    return (f"grad_out and the derivative of {name} at Z (or, written from the output, at A)",
            "everything is (N, n): the chain rule here is an element-wise product, no matmul",
            f"∂L/∂Z = ∂L/∂A ⊙ φ′(Z), with {derivative} = {output_form}")


# function -> (inputs with shapes, outputs with shapes), for the recall docstring
RECALL_IO: dict[str, tuple[str, str]] = {
    "sigmoid_backward": _ACT_IO, "tanh_backward": _ACT_IO, "relu_backward": _ACT_IO,
    "dense_backward": ("a_prev : (N, in)  the layer's input A_prev\n"
                       "weight : (out, in)  W\n"
                       "grad_out : (N, out)  Δ = ∂L/∂Z, the 1/N of the mean loss included",
                       "grad_a_prev : (N, in)\ngrad_weight : (out, in)\ngrad_bias : (out,)"),
    "softmax_cross_entropy_backward": ("logits : (N, C)  Z\nlabels : (N,) int  the classes",
                                       "grad_logits : (N, C)  ∂L/∂Z of the MEAN loss"),
    "network_backward": ("weights : list of (n_l, n_{l-1})\n"
                         "activations : list of (N, n_l), activations[0] = X, the last the "
                         "softmax probabilities\nzs : list of (N, n_l)\ny : (N,) int",
                         "grad_weights : list like weights\ngrad_biases : list of (n_l,)"),
    "mlp_backward": ("weights : list of (n_l, n_{l-1})\n"
                     "activations : list of (N, n_l), activations[0] = X, the last the output "
                     "<out>(Z⁽ᴸ⁾)\nzs : list of (N, n_l)\n<y>",
                     "grad_weights : list like weights\ngrad_biases : list of (n_l,)"),
    "momentum_step": ("weight, grad, velocity : (out, in)\nlr, momentum : float",
                      "new_weight, new_velocity : (out, in)  (PyTorch's SGD)"),
    "mse_backward": ("output, target : (N, n)", "grad_output : (N, n)  ∂L/∂A of the MEAN"),
    "bce_backward": ("probs : (N, n) in (0, 1)\ntarget : (N, n) of 0 and 1",
                     "grad_probs : (N, n)  ∂L/∂P of the MEAN"),
    "sigmoid_bce_backward": ("logits : (N, n)\ntarget : (N, n) of 0 and 1",
                             "grad_logits : (N, n)  ∂L/∂Z of the MEAN, P = σ(Z)"),
    "dropout_backward": ("grad_out : (N, n)\nmask : (N, n)  1 = kept, 0 = dropped\n"
                         "p : float  the probability to drop", "grad_x : (N, n)"),
    "adam_step": ("weight, grad, m, v : (out, in)\nt : int  this step's number (1 first)\n"
                  "lr, beta1, beta2, eps : float",
                  "new_weight, new_m, new_v : (out, in)"),
}

# function -> the three stages (quantities, shapes, equations)
STAGED_HINTS: dict[str, tuple[str, str, str]] = {
    "sigmoid_backward": _activation("sigmoid", "σ′(z)", "σ(z)(1 − σ(z)) = A(1 − A)"),
    "tanh_backward": _activation("tanh", "tanh′(z)", "1 − tanh(z)² = 1 − A²"),
    "relu_backward": _activation("ReLU", "relu′(z)", "[z > 0] (0 at z = 0)"),
    "dense_backward": (
        "Δ = grad_out with W gives ∂L/∂A_prev; Δ with A_prev gives ∂L/∂W; Δ alone gives ∂L/∂b",
        "(N, out) @ (out, in) -> (N, in);  (out, N) @ (N, in) -> (out, in);  (N, out) summed "
        "over axis 0 -> (out,)",
        "∂L/∂A_prev = Δ W,  ∂L/∂W = Δᵀ A_prev,  ∂L/∂b = Σₙ Δₙ,:  (no extra 1/N)"),
    "softmax_cross_entropy_backward": (
        "softmax(Z), the one-hot labels Y, and the batch size N of the mean",
        "softmax(Z) (N, C) minus Y (N, C), divided by N -> (N, C)",
        "Δᴸ = (softmax(Z) − Y) / N  (subtract each row's max before exp)"),
    "network_backward": (
        "the output delta (A − Y)/N, then per layer: Δ with A⁽ˡ⁻¹⁾, and Δ W with tanh′",
        "∂L/∂W⁽ˡ⁾: (n_l, N) @ (N, n_{l-1});  Δ⁽ˡ⁻¹⁾: (N, n_l) @ (n_l, n_{l-1}) ⊙ (N, n_{l-1})",
        "Δᴸ = (A − Y)/N;  ∂L/∂W⁽ˡ⁾ = Δ⁽ˡ⁾ᵀ A⁽ˡ⁻¹⁾;  ∂L/∂b⁽ˡ⁾ = Σₙ Δ⁽ˡ⁾;  "
        "Δ⁽ˡ⁻¹⁾ = (Δ⁽ˡ⁾ W⁽ˡ⁾) ⊙ (1 − A⁽ˡ⁻¹⁾²)"),
    "mlp_backward": (
        "the output delta of <out> + <loss>, then per layer: Δ with A⁽ˡ⁻¹⁾, and Δ W with φ′",
        "∂L/∂W⁽ˡ⁾: (n_l, N) @ (N, n_{l-1});  Δ⁽ˡ⁻¹⁾: (N, n_l) @ (n_l, n_{l-1}) ⊙ (N, n_{l-1})",
        "<delta>;  ∂L/∂W⁽ˡ⁾ = Δ⁽ˡ⁾ᵀ A⁽ˡ⁻¹⁾;  ∂L/∂b⁽ˡ⁾ = Σₙ Δ⁽ˡ⁾;  "
        "Δ⁽ˡ⁻¹⁾ = (Δ⁽ˡ⁾ W⁽ˡ⁾) ⊙ φ′(Z⁽ˡ⁻¹⁾), <dphi>"),
    "momentum_step": (
        "the velocity takes the old velocity and the gradient; the weight takes the NEW "
        "velocity and the learning rate",
        "every array has W's shape (out, in); no product of matrices, all element-wise",
        "v ← μ v + g, then W ← W − η v"),
    "mse_backward": (
        "the difference A − Y, the 2 of the square, and the count of entries N·n",
        "(N, n) − (N, n) -> (N, n), divided by the number N·n",
        "∂L/∂A = 2(A − Y) / (N n)"),
    "bce_backward": (
        "P, Y and P(1 − P) (the derivative of the two logs), and the count N·n",
        "everything element-wise, (N, n)",
        "∂L/∂P = (P − Y) / (P(1 − P)) / (N n)"),
    "sigmoid_bce_backward": (
        "σ(Z), Y and the count N·n: σ′ cancels BCE's 1/(P(1 − P))",
        "σ(Z) (N, n) minus Y (N, n), divided by N·n",
        "Δᴸ = (σ(Z) − Y) / (N n)"),
    "dropout_backward": (
        "grad_out, the mask M of the forward pass, and the scale 1/(1 − p)",
        "everything element-wise, (N, n)",
        "∂L/∂X = ∂L/∂A ⊙ M / (1 − p)"),
    "adam_step": (
        "m from g, v from g², both bias-corrected with t, then W from m̂, v̂, η and ε",
        "every array has W's shape (out, in); all element-wise",
        "m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  m̂ = m/(1 − β₁ᵗ);  v̂ = v/(1 − β₂ᵗ);  "
        "W ← W − η m̂/(√v̂ + ε)"),
}


# stage 1 where the notation changes what is involved: Ng's dZ carries no 1/m, Nielsen's and
# Haykin's one sample has none, Haykin returns minus the gradient, rows store W (in, out)
_NG_QUANTITIES = {
    "softmax_cross_entropy_backward": "softmax(Z) and the one-hot labels Y, samples as columns",
    "network_backward": "the output dZ = A − Y, then per layer: dZ with A[l-1] and the 1/m for "
                        "dW and db, and W[l]ᵀ dZ with tanh′",
    "mse_backward": "the difference A − Y, the 2 of the square, and the count n of a sample's "
                    "entries",
    "bce_backward": "P, Y and P(1 − P) (the derivative of the two logs), and the count n of a "
                    "sample's entries",
    "sigmoid_bce_backward": "σ(Z), Y and the count n of a sample's entries: σ′ cancels BCE's "
                            "1/(P(1 − P))",
}
_LAYOUT_NOTES = {
    "ng": "in Ng's layout dZ and dA carry no 1/m: it goes once into dW and db",
    "column": "one sample as a column: N = 1",
    "haykin": "one sample as a column (N = 1), and what you return is MINUS the gradient "
              "(e = d − y, δ = −∂E/∂v)",
    "rows": "W is stored (in, out)",
}


def _layout_stages(function: str, topic: str, notation: str) -> list[str]:
    """The three stages of ``function`` in ``notation``'s layout (not batch rows)."""
    from .layout_texts import LAYOUT_EQUATIONS, layout_paragraph
    from .layouts import ROLES

    quantities, _, _ = STAGED_HINTS[function]
    if notation == "ng":
        quantities = _NG_QUANTITIES.get(function, quantities)
    inputs, outputs = ROLES[function]
    gradients = any(role in ("G", "GW", "GB") for role in outputs.values())
    weights = any(role in ("W", "P") for role in inputs.values())
    if (gradients and notation != "rows") or (weights and notation == "rows"):
        quantities = f"{quantities} ({_LAYOUT_NOTES[notation]})"
    shapes = "; ".join(line.strip() for line in
                       layout_paragraph((function,), notation).splitlines()[1:-1])
    return [quantities, shapes, LAYOUT_EQUATIONS[topic][notation].replace("\n", " ")]


def hints_for(function: str, level: int) -> list[str]:
    """The first ``level`` stages of ``function``'s hints (at most all three), labelled."""
    stages = STAGED_HINTS.get(function, ())
    return [f"{i + 1}/{len(STAGES)} {STAGES[i]}: {text}"
            for i, text in enumerate(stages[:max(0, level)])]


def reveal_hints(results: list, level: int, recall: bool = False,
                 network: dict | None = None, notation: str = "batch") -> list:
    """Give each result (a :class:`~.checker.CheckResult`) its first ``level`` hint stages
    and ``hints_used``, the number of stages revealed (at most the stages there are).

    In a recall exercise (``recall``), a failure's hint, which states the equation, is
    withheld until every stage has been asked for: the mistake is still named.
    ``network`` fills in the ``mlp`` topic's hints (its activation and loss); in a file in
    another ``notation``'s layout, the shapes and equations are that layout's.
    """
    from .mlp import ACTIVATIONS, DEFAULT, LOSSES
    from .texts_more import fill_network

    for result in results:
        stages = list(STAGED_HINTS.get(result.function, ()))
        if stages and notation != "batch":
            stages = _layout_stages(result.function, result.topic, notation)
        result.hints = [fill_network(f"{i + 1}/{len(STAGES)} {STAGES[i]}: {text}", ACTIVATIONS,
                                     LOSSES, network or DEFAULT)
                        for i, text in enumerate(stages[:max(0, level)])]
        result.hints_used = len(result.hints)
        if recall and result.hint and result.hints_used < len(STAGES) \
                and result.function in STAGED_HINTS and not result.not_implemented:
            result.hint = WITHHELD
    return results


WITHHELD = ("(a recall exercise: the hint would give the equation away; "
            "`--hint` reveals it in stages)")


def is_recall(tree: Any) -> bool:
    """Whether a parsed exercise file says ``DELTAPROP_RECALL = True`` at its top level."""
    return any(isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
               and node.value.value is True
               and any(isinstance(t, ast.Name) and t.id == "DELTAPROP_RECALL"
                       for t in node.targets) for node in getattr(tree, "body", ()))


def recall_docstring(function: str) -> str:
    """The docstring of a recall exercise: names and shapes only, no equation."""
    inputs, outputs = RECALL_IO[function]
    indent = "\n        "
    return (f"Write it from memory: names and shapes only.\n\n    Inputs\n    ------\n"
            f"        {inputs.replace(chr(10), indent)}\n\n    Returns\n    -------\n"
            f"        {outputs.replace(chr(10), indent)}\n    ")


RECALL_PREAMBLE = """\
Recall exercise: no equations here, only the names and shapes. Write each function from
memory. Stuck? `deltaprop check FILE --hint` reveals the quantities involved, `--hint
--hint` the shapes too, `--hint --hint --hint` the equations; the result counts the hints."""
