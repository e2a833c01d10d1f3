"""The exercise texts print the equations the checker's references compute.

For each topic, the equations every exercise file prints (in every notation) are coded here
in NumPy, line by line, and compared with the checker's engine references on its own cases.
"""

from __future__ import annotations

import numpy as np
import pytest

from deltaprop.practice.equations import NOTATIONS
from deltaprop.practice.references import SPECS
from deltaprop.practice.templates import render_exercise


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _network(case):
    """Δ⁽ᴸ⁾ = (A⁽ᴸ⁾ − Y)/N; ∂L/∂W = Δᵀ A_prev; ∂L/∂b = Σₙ Δ; Δ⁽ˡ⁻¹⁾ = (Δ W) ⊙ (1 − A²)."""
    acts, weights, y = case["activations"], case["weights"], case["y"]
    delta = (acts[-1] - np.eye(acts[-1].shape[1])[y]) / len(y)
    out = {}
    for i in range(len(weights) - 1, -1, -1):
        out[f"grad_weights[{i}]"] = delta.T @ acts[i]
        out[f"grad_biases[{i}]"] = delta.sum(axis=0)
        delta = (delta @ weights[i]) * (1 - acts[i] ** 2)
    return out


def _adam(case):
    """m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; m̂, v̂ bias-corrected; W ← W − η m̂/(√v̂ + ε)."""
    b1, b2, t = case["beta1"], case["beta2"], case["t"]
    m = b1 * case["m"] + (1 - b1) * case["grad"]
    v = b2 * case["v"] + (1 - b2) * case["grad"] ** 2
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return {"new_m": m, "new_v": v,
            "new_weight": case["weight"] - case["lr"] * m_hat / (np.sqrt(v_hat) + case["eps"])}


# printed line(s) -> the same equation in NumPy, per function the checker grades
PRINTED = {
    "sigmoid_backward": (["∂L/∂Z = ∂L/∂A ⊙ φ′(Z)", "σ′(z) = σ(z)(1 − σ(z))"],
                         lambda c: {"grad_z": c["grad_out"] * _sigmoid(c["z"])
                                    * (1 - _sigmoid(c["z"]))}),
    "tanh_backward": (["tanh′(z) = 1 − tanh(z)²"],
                      lambda c: {"grad_z": c["grad_out"] * (1 - np.tanh(c["z"]) ** 2)}),
    "relu_backward": (["relu′(z) = [z > 0]"],
                      lambda c: {"grad_z": c["grad_out"] * (c["z"] > 0)}),
    "dense_backward": (["∂L/∂W      = Δᵀ A_prev", "∂L/∂b      = Σₙ Δₙ,:",
                        "∂L/∂A_prev = Δ W"],
                       lambda c: {"grad_weight": c["grad_out"].T @ c["a_prev"],
                                  "grad_bias": c["grad_out"].sum(axis=0),
                                  "grad_a_prev": c["grad_out"] @ c["weight"]}),
    "softmax_cross_entropy_backward": (
        ["Δᴸ = ∂L/∂Z = (softmax(Z) − Y) / N"],
        lambda c: {"grad_logits": (_softmax(c["logits"]) - np.eye(c["logits"].shape[1])[
            c["labels"]]) / len(c["labels"])}),
    "network_backward": (["Δ⁽ᴸ⁾ = (A⁽ᴸ⁾ − Y) / N", "∂L/∂W⁽ˡ⁾ = Δ⁽ˡ⁾ᵀ A⁽ˡ⁻¹⁾",
                          "∂L/∂b⁽ˡ⁾ = Σₙ Δ⁽ˡ⁾ₙ,:", "Δ⁽ˡ⁻¹⁾ = (Δ⁽ˡ⁾ W⁽ˡ⁾) ⊙ (1 − A⁽ˡ⁻¹⁾²)"],
                         _network),
    "momentum_step": (["v ← μ v + g", "W ← W − η v"],
                      lambda c: {"new_velocity": c["momentum"] * c["velocity"] + c["grad"],
                                 "new_weight": c["weight"] - c["lr"] * (
                                     c["momentum"] * c["velocity"] + c["grad"])}),
    "mse_backward": (["∂L/∂A = 2(A − Y)/(N n)"],
                     lambda c: {"grad_output": 2 * (c["output"] - c["target"])
                                / c["output"].size}),
    "bce_backward": (["= (P − Y) / (P(1 − P)) / (N n)"],
                     lambda c: {"grad_probs": (c["probs"] - c["target"])
                                / (c["probs"] * (1 - c["probs"])) / c["probs"].size}),
    "sigmoid_bce_backward": (["= (σ(Z) − Y)/(N n)"],
                             lambda c: {"grad_logits": (_sigmoid(c["logits"]) - c["target"])
                                        / c["logits"].size}),
    "dropout_backward": (["∂L/∂X = ∂L/∂A ⊙ M / (1 − p)"],
                         lambda c: {"grad_x": c["grad_out"] * c["mask"] / (1 - c["p"])}),
    "adam_step": (["m ← β₁ m + (1 − β₁) g", "v ← β₂ v + (1 − β₂) g²",
                   "m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)", "W ← W − η m̂ / (√v̂ + ε)"],
                  _adam),
    "mlp_backward": (["Δᴸ = (softmax(Z⁽ᴸ⁾) − Y)/N", "∂L/∂W⁽ˡ⁾ = Δ⁽ˡ⁾ᵀ A⁽ˡ⁻¹⁾",
                      "Δ⁽ˡ⁻¹⁾ = (Δ⁽ˡ⁾ W⁽ˡ⁾) ⊙ φ′(Z⁽ˡ⁻¹⁾)", "tanh′(z) = 1 − tanh(z)² = 1 − A²"],
                     _network),                      # the default network: tanh, softmax + CE
}


def test_every_graded_function_has_its_printed_equations():
    assert set(PRINTED) == set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_printed_equations_compute_what_the_checker_expects(name):
    spec = SPECS[name]
    lines, compute = PRINTED[name]
    for notation in NOTATIONS:
        text = render_exercise(spec.topic, notation)
        for line in lines:
            assert line in text, f"{name} [{notation}] does not print {line!r}"
    rng = np.random.default_rng(0)
    for shape in spec.shapes:
        case = spec.make_case(rng, shape)
        expected, got = spec.reference(case), compute(case)
        assert set(got) == set(expected)
        for key, value in expected.items():
            np.testing.assert_allclose(got[key], value, rtol=1e-10, atol=1e-12,
                                       err_msg=f"{name} {key}")


@pytest.mark.parametrize(("notation", "output_delta"), [
    ("column", "BP1 δᴸ = a − y (softmax + cross-entropy)"),
    ("haykin", "δᴸ = e (softmax + cross-entropy: the Jacobian cancels)"),
    ("ng", "dZ[L] = A[L] − Y")])
def test_the_network_text_writes_the_fused_output_delta_in_each_notation(notation,
                                                                          output_delta):
    text = render_exercise("network", notation)
    assert output_delta in text
    assert "e ⊙ φ′(vᴸ)" not in text and "∇ₐC ⊙ φ′" not in text       # not for softmax + CE
