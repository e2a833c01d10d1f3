r"""The mistakes the checker can name, and the planted-mistake variants it compares against.

A learner's wrong numbers are compared with the reference AND with the reference as it would
come out of each classic slip; the slip whose numbers match the learner's best is named first.

Which mistakes apply to which topic (``G`` = generic, derived from the reference output;
``S`` = a variant run through the engine with one step changed; ``–`` = does not apply):

=============================  ==========  =====  ==========  =======  ========
mistake                        activation  dense  softmax_ce  network  momentum
=============================  ==========  =====  ==========  =======  ========
transposed                     G           G      G           G        G
mean_missing                   –           – (1)  G           G        –
mean_doubled                   –           G (1)  G           G        –
sign_flipped                   G           G      G           G        S (2)
activation_derivative_missing  S           –      –           S        –
derivative_at_wrong_point      S (3)       –      –           S        –
bias_wrong_axis                –           S      –           S        –
wrong_shape                    G           G      G           G        G
=============================  ==========  =====  ==========  =======  ========

(1) ``dense_backward`` receives ``grad_out`` = Δ, which already carries the loss's ``1/N``: the
layer must not divide again (``mean_doubled``); it cannot "miss" a ``1/N`` it never applies.
(2) for an update, "sign flipped" means gradient ascent (``W + ηv``) or ``v ← μv − g``.
(3) not for ReLU: its derivative ``[z > 0]`` is the same read from ``z`` or from ``a``.
``raised`` (the function raised) and ``other`` (nothing above explains the numbers) apply
everywhere.  The topics ``mse``, ``bce``, ``sigmoid_bce``, ``dropout`` and ``adam``
(:mod:`.topics_more`) and ``mlp`` (:mod:`.mlp`) list theirs in ``GENERIC`` below, with their
planted variants beside their references; a file in another notation's layout is diagnosed
with the same variants moved into that layout (:mod:`.layouts`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..nn.activations import softmax
from ..nn.layers import Dense
from ..nn.losses import CrossEntropyLoss
from ..nn.model import Sequential
from ..nn.optim import SGD
from .references import (
    ACTIVATION_CLASSES,
    MLP_VARIANTS,
    Case,
    Outputs,
    network_model,
    network_outputs,
)
from .topics_more import MORE_GENERIC, MORE_TOPIC_HINTS, MORE_VARIANTS

MISTAKES: tuple[str, ...] = (
    "transposed", "mean_missing", "mean_doubled", "sign_flipped",
    "activation_derivative_missing", "derivative_at_wrong_point", "bias_wrong_axis",
    "wrong_shape", "raised", "other",
)

# the generic mistakes that apply to each topic (see the table above)
GENERIC: dict[str, frozenset[str]] = {
    "activation": frozenset({"sign_flipped", "transposed", "wrong_shape"}),
    "dense": frozenset({"sign_flipped", "transposed", "wrong_shape", "mean_doubled"}),
    "softmax_cross_entropy": frozenset({"sign_flipped", "transposed", "wrong_shape",
                                        "mean_missing", "mean_doubled"}),
    "network": frozenset({"sign_flipped", "transposed", "wrong_shape", "mean_missing",
                          "mean_doubled"}),
    "momentum": frozenset({"transposed", "wrong_shape"}),
    **MORE_GENERIC,
    "mlp": frozenset({"sign_flipped", "transposed", "wrong_shape", "mean_missing",
                      "mean_doubled"}),
}

HINTS: dict[str, str] = {
    "transposed": "a product is transposed: with batch rows ∂L/∂W = Δᵀ A_prev has W's shape "
                  "(out, in), and ∂L/∂A_prev = Δ W has A_prev's shape (N, in)",
    "mean_missing": "the 1/N of the batch mean is missing: Δᴸ = (A − Y)/N",
    "mean_doubled": "the 1/N is applied twice: it belongs in Δᴸ = (A − Y)/N only; the layers "
                    "below must not divide by N again",
    "sign_flipped": "the sign is flipped: the gradient of the loss is (A − Y)/N, not (Y − A)/N; "
                    "descent subtracts it (W ← W − η ∂L/∂W)",
    "activation_derivative_missing": "the activation's derivative is missing: "
                                     "∂L/∂Z = ∂L/∂A ⊙ φ′(Z)",
    "derivative_at_wrong_point": "the derivative is evaluated at the wrong point: φ′ is taken "
                                 "at Z; written from the output it is σ′ = A(1 − A), "
                                 "tanh′ = 1 − A² (do not apply φ′ to A, nor A-formulas to Z)",
    "bias_wrong_axis": "the bias gradient sums over the wrong axis: ∂L/∂b = Σₙ Δₙ,: sums over "
                       "the batch (axis 0), giving shape (out,)",
    "wrong_shape": "the output has the wrong shape: each gradient has the shape of what it "
                   "differentiates (∂L/∂W like W, ∂L/∂b like b, ∂L/∂Z like Z)",
    "raised": "the function raised an exception (see the line)",
    "other": "the numbers match no classic slip: compare your code with the equations in the "
             "docstring, one line at a time, on a tiny input",
}

# where a topic needs its own words for a mistake
TOPIC_HINTS: dict[tuple[str, str], str] = {
    ("activation", "sign_flipped"): "the sign is flipped: ∂L/∂Z = +∂L/∂A ⊙ φ′(Z), and φ′ ≥ 0 "
                                    "for sigmoid, tanh and ReLU",
    ("activation", "transposed"): "the result is transposed: ∂L/∂Z has Z's shape (N, n); the "
                                  "product ∂L/∂A ⊙ φ′(Z) is element-wise, no transpose needed",
    ("dense", "sign_flipped"): "the sign is flipped: ∂L/∂W = Δᵀ A_prev, ∂L/∂b = Σₙ Δₙ,: and "
                               "∂L/∂A_prev = Δ W carry Δ's own sign; the minus belongs to the "
                               "update W ← W − η ∂L/∂W only",
    ("softmax_cross_entropy", "transposed"): "the result is transposed: Δᴸ has the logits' "
                                             "shape (N, C), one sample per row",
    ("momentum", "transposed"): "the result is transposed: an update keeps W's shape "
                                "(out, in); v ← μ v + g and W ← W − η v need no transpose",
    **MORE_TOPIC_HINTS,
}


def hint_for(topic: str, mistake: str) -> str:
    """The hint of ``mistake`` in ``topic``'s words."""
    return TOPIC_HINTS.get((topic, mistake), HINTS[mistake])


# a planted variant: (mistake, hint or "" for the default hint, outputs it changes)
Variant = tuple[str, str, Outputs]


def _activation_variants(name: str) -> Callable[[Case, Outputs], list[Variant]]:
    cls = ACTIVATION_CLASSES[name]

    def variants(case: Case, reference: Outputs) -> list[Variant]:
        layer = cls()
        z, grad_out = case["z"], case["grad_out"]
        a = layer.function(np, z)
        found = [("activation_derivative_missing", "", {"grad_z": grad_out}),
                 ("other", "you returned φ′(Z) alone: multiply it by grad_out (chain rule, "
                           "∂L/∂Z = ∂L/∂A ⊙ φ′(Z))", {"grad_z": layer.derivative(np, z, a)}),
                 ("other", "you multiplied by φ(Z) instead of φ′(Z): ∂L/∂Z = ∂L/∂A ⊙ φ′(Z)",
                  {"grad_z": grad_out * a})]
        if name != "relu_backward":
            at_a = layer.derivative(np, a, layer.function(np, a))       # φ′ applied to A
            output_formula_at_z = layer.derivative(np, None, z)         # A-formula fed Z
            found += [("derivative_at_wrong_point",
                       "φ′ was applied to A = φ(Z) instead of Z: "
                       + HINTS["derivative_at_wrong_point"],
                       {"grad_z": grad_out * at_a}),
                      ("derivative_at_wrong_point",
                       "the output form of φ′ (σ′ = A(1 − A), tanh′ = 1 − A²) was fed Z "
                       "instead of A = φ(Z)", {"grad_z": grad_out * output_formula_at_z})]
        return found
    return variants


def _dense_variants(case: Case, reference: Outputs) -> list[Variant]:
    return [("bias_wrong_axis", "", {"grad_bias": np.sum(case["grad_out"], axis=1)})]


def _softmax_ce_variants(case: Case, reference: Outputs) -> list[Variant]:
    logits, labels = case["logits"], case["labels"]
    n, classes = logits.shape
    probs = softmax(np, logits)
    grad = reference["grad_logits"]
    return [("other", "you forgot to subtract the one-hot labels: Δᴸ = (softmax(Z) − Y)/N",
             {"grad_logits": probs / n}),
            ("other", "you divided by N·C (a mean over every element): cross-entropy sums over "
                      "the classes and averages over the N samples only",
             {"grad_logits": grad / classes}),
            ("other", "you multiplied by softmax's derivative A(1 − A) again: the fused "
                      "gradient (A − Y)/N already contains softmax's Jacobian",
             {"grad_logits": grad * probs * (1 - probs)}),
            ("other", "the labels were subtracted as numbers, not as one-hot rows Y",
             {"grad_logits": (probs - labels[:, None]) / n})]


def _network_backward(case: Case, hidden_backward) -> Outputs:
    """The engine's backward pass, with the hidden activations' step replaced."""
    model = network_model(case)
    _, grad = CrossEntropyLoss()(model.records()[-1].z, case["y"])
    for layer in reversed(model.layers):
        if isinstance(layer, Dense):
            grad = layer.backward(grad)
        else:
            grad = hidden_backward(layer, grad)
    records = model.records()
    return network_outputs([r.grad_weight for r in records], [r.grad_bias for r in records])


def _network_variants(case: Case, reference: Outputs) -> list[Variant]:
    def at_a(layer, grad):
        return grad * layer.derivative(np, layer.a, layer.function(np, layer.a))

    def formula_at_z(layer, grad):
        return grad * layer.derivative(np, None, layer.z)

    deltas = _network_deltas(case)
    return [("activation_derivative_missing", "",
             _network_backward(case, lambda layer, grad: grad)),
            ("derivative_at_wrong_point", "tanh′ was applied to A = tanh(Z): tanh′(Z) = 1 − A²",
             _network_backward(case, at_a)),
            ("derivative_at_wrong_point", "the output form tanh′ = 1 − A² was fed Z instead of A",
             _network_backward(case, formula_at_z)),
            ("bias_wrong_axis", "",
             {f"grad_biases[{i}]": np.sum(d, axis=1) for i, d in enumerate(deltas)})]


def _network_deltas(case: Case) -> list[np.ndarray]:
    model = network_model(case)
    _, delta = CrossEntropyLoss()(model.records()[-1].z, case["y"])
    model.backward(delta)
    return [r.delta for r in model.records()]


def _momentum_variants(case: Case, reference: Outputs) -> list[Variant]:
    weight, grad, velocity = case["weight"], case["grad"], case["velocity"]
    lr, mu = case["lr"], case["momentum"]
    v_new = reference["new_velocity"]
    v_minus = mu * velocity - grad
    haykin_v = mu * velocity - lr * grad
    return [("sign_flipped", "the update climbs the loss: descent is W ← W − η v",
             {"new_weight": weight + lr * v_new}),
            ("sign_flipped", "the gradient enters the velocity with the wrong sign: "
                             "v ← μ v + g (then W ← W − η v)",
             {"new_velocity": v_minus, "new_weight": weight - lr * v_minus}),
            ("other", "W was updated with the OLD velocity: compute v ← μ v + g first, then "
                      "W ← W − η v", {"new_weight": weight - lr * velocity}),
            ("other", "this is the form whose velocity holds −η g (v ← μ v − η g, W ← W + v; "
                      "Haykin/Sutskever); this exercise uses PyTorch's v ← μ v + g, "
                      "W ← W − η v", {"new_velocity": haykin_v, "new_weight": weight + haykin_v}),
            ("other", "the velocity was damped, v ← μ v + (1 − μ) g: PyTorch's SGD (dampening=0) "
                      "adds g itself", _damped_momentum(case))]


def _damped_momentum(case: Case) -> Outputs:
    """The engine's SGD with ``dampening = momentum`` (the 'exponential average' slip)."""
    n_out, n_in = case["weight"].shape
    model = Sequential(Dense(n_in, n_out, bias=False, dtype=np.float64))
    model[0].params["weight"][...] = case["weight"]
    model[0].grads["weight"] = case["grad"].copy()
    optimizer = SGD(model, lr=case["lr"], momentum=case["momentum"],
                    dampening=case["momentum"])
    optimizer.state["0.weight"] = {"velocity": case["velocity"].copy()}
    optimizer.step()
    return {"new_weight": model[0].params["weight"],
            "new_velocity": optimizer.state["0.weight"]["velocity"]}


SPECIFIC: dict[str, Callable[[Case, Outputs], list[Variant]]] = {
    **{name: _activation_variants(name) for name in ACTIVATION_CLASSES},
    "dense_backward": _dense_variants,
    "softmax_cross_entropy_backward": _softmax_ce_variants,
    "network_backward": _network_variants,
    "momentum_step": _momentum_variants,
    **MORE_VARIANTS,
    "mlp_backward": MLP_VARIANTS,
}


def generic_candidates(topic: str, reference: np.ndarray, n: int) -> list[tuple[str, np.ndarray]]:
    """The generic slips of one reference output (``n`` is the batch size of the case)."""
    applicable = GENERIC[topic]
    found = []
    if "sign_flipped" in applicable:
        found.append(("sign_flipped", -reference))
    if "transposed" in applicable and reference.ndim == 2:
        found.append(("transposed", reference.T))
    if "mean_missing" in applicable:
        found.append(("mean_missing", reference * n))
    if "mean_doubled" in applicable:
        found.append(("mean_doubled", reference / n))
    return found
