r"""The exercise texts of :mod:`.layouts`: each topic's equations in each notation's own
layout (the arrays the learner's functions take and return), and the layout paragraph."""

from __future__ import annotations

from .layouts import ROLES

_ACT = {
    "column": "One sample, columns: δ = ∇ₐC ⊙ φ′(z)   (n, 1) ⊙ (n, 1) -> (n, 1)   (the φ′ "
              "factor of BP1/BP2)",
    "haykin": "One sample: δ = e ⊙ φ′(v), with e = −∂E/∂y (grad_out) and δ = −∂E/∂v "
              "(returned): (n, 1)",
    "ng": "dZ = dA ⊙ g′(Z), samples as columns: (n, m); dA and dZ carry no 1/m",
    "rows": "G_Z = G_H ⊙ φ′(Z): (N, n), as in batch rows",
}
_LOSS = {
    "column": "One sample, columns: ∂C/∂a of this sample's cost C (no 1/N), shape (n, 1)",
    "haykin": "One sample: MINUS the gradient (Haykin's e-like local gradient), shape (n, 1)",
    "ng": "Samples as columns (n, m): the gradient WITHOUT the 1/m (it goes into dW later)",
    "rows": "(N, n), as in batch rows",
}
_OPTIMISER = {
    "column": "PyTorch's update, W (out, in): the layout of samples does not matter",
    "haykin": "PyTorch's update (W ← W − η …, the gradient g as it is), W (out, in)",
    "ng": "PyTorch's update, W (out, in)",
    "rows": "PyTorch's update with W stored (in, out): every array has that shape",
}
_NETWORK = {
    "column": "One sample x: BP1 δᴸ (output delta), BP2 δˡ = (Wˡ⁺¹ᵀ δˡ⁺¹) ⊙ φ′(zˡ),\n"
              "BP3 ∂C/∂bˡ = δˡ (n_l, 1), BP4 ∂C/∂Wˡ = δˡ aˡ⁻¹ᵀ (n_l, n_{l-1}); "
              "activations[l] is (n_l, 1)",
    "haykin": "One sample: δᴸ = e at a fused output, δˡ = φ′(vˡ) ⊙ (Wˡ⁺¹ᵀ δˡ⁺¹); return\n"
              "δˡ yˡ⁻¹ᵀ = −∂E/∂Wˡ (n_l, n_{l-1}) and δˡ = −∂E/∂bˡ (n_l, 1)",
    "ng": "dZ[L] = A[L] − Y (no 1/m), dW[l] = (1/m) dZ[l] A[l-1]ᵀ, db[l] = (1/m) Σ dZ[l]\n"
          "(n_l, 1), dZ[l-1] = W[l]ᵀ dZ[l] ⊙ g′(Z[l-1]); activations[l] is (n_l, m)",
    "rows": "W⁽ˡ⁾ stored (in, out): ∂L/∂W = Hᵀ G_Z (n_{l-1}, n_l), G_H = G_Z Wᵀ; "
            "A and Z are (N, n_l)",
}
LAYOUT_EQUATIONS: dict[str, dict[str, str]] = {
    "activation": _ACT,
    "dense": {
        "column": "One sample: z = W a + b, δ = ∂C/∂z (out, 1) given:\n"
                  "    ∂C/∂a = Wᵀ δ (in, 1)\n    ∂C/∂W = δ aᵀ (out, in)\n    ∂C/∂b = δ (out, 1)",
        "haykin": "One sample: v = W y + b, δ = −∂E/∂v (out, 1) given:\n"
                  "    return Wᵀ δ (in, 1), δ yᵀ = −∂E/∂W (out, in), δ (out, 1)",
        "ng": "Z = W A + b, dZ (out, m) given, with no 1/m in it:\n"
              "    dA_prev = Wᵀ dZ (in, m)\n    dW = (1/m) dZ A_prevᵀ (out, in)\n"
              "    db = (1/m) Σ dZ over the columns (out, 1)",
        "rows": "Z = H W + b with W stored (in, out), G_Z (N, out) given:\n"
                "    G_H = G_Z Wᵀ (N, in)\n    ∂L/∂W = Hᵀ G_Z (in, out)\n"
                "    ∂L/∂b = Σₙ G_Z (out,)",
    },
    "softmax_cross_entropy": {
        "column": "One sample, logits (C, 1): δᴸ = softmax(z) − y (C, 1)",
        "haykin": "One sample, logits (C, 1): e = d − softmax(v) (C, 1), MINUS the gradient",
        "ng": "Logits (C, m): dZ = A − Y (C, m), no 1/m",
        "rows": "G = (P − Y)/N (N, C), as in batch rows",
    },
    "network": {
        "column": "Nielsen's four equations for one sample x (tanh hidden layers):\n"
                  "    BP1 δᴸ = a − y (softmax + cross-entropy)\n"
                  "    BP2 δˡ = (Wˡ⁺¹ᵀ δˡ⁺¹) ⊙ (1 − aˡ²)   (tanh′ from the output)\n"
                  "    BP3 ∂C/∂bˡ = δˡ (n_l, 1)    BP4 ∂C/∂Wˡ = δˡ aˡ⁻¹ᵀ (n_l, n_{l-1})\n"
                  "activations[l] is (n_l, 1)",
        "haykin": "One sample: e = d − y, δᴸ = e (softmax + cross-entropy: the Jacobian "
                  "cancels),\nδˡ = (1 − yˡ²) ⊙ (Wˡ⁺¹ᵀ δˡ⁺¹); return δˡ yˡ⁻¹ᵀ = −∂E/∂Wˡ "
                  "(n_l, n_{l-1}) and δˡ (n_l, 1)",
        "ng": "dZ[L] = A[L] − Y (no 1/m), dW[l] = (1/m) dZ[l] A[l-1]ᵀ, db[l] = (1/m) Σ dZ[l] "
              "(n_l, 1),\ndZ[l-1] = W[l]ᵀ dZ[l] ⊙ (1 − A[l-1]²); activations[l] is (n_l, m)",
        "rows": _NETWORK["rows"],
    },
    "mlp": _NETWORK,
    "momentum": {**_OPTIMISER, "ng": "Ng's course writes V = β V + (1 − β) dW (an exponential "
                                    "average); PyTorch, and this\nexercise, add g itself: "
                                    "v ← μ v + g, W ← W − η v, W (out, in)"},
    "adam": _OPTIMISER,
    "mse": _LOSS, "bce": _LOSS, "sigmoid_bce": _LOSS,
    "dropout": {
        "column": "One sample: ∂C/∂x = ∂C/∂a ⊙ m/(1 − p), (n, 1)",
        "haykin": "One sample: the local gradient through the mask, −∂E/∂x = e ⊙ m/(1 − p)",
        "ng": "dA_prev = dA ⊙ D / keep_prob, (n, m), keep_prob = 1 − p, no 1/m",
        "rows": "G_X = G_A ⊙ M/(1 − p), (N, n)",
    },
}

_ROLE_WORDS = {
    "ng": {"R": "samples as COLUMNS, (features, m)",
           "G": "Ng's dZ / dA: samples as columns, WITHOUT the 1/m",
           "W": "(out, in)", "GW": "dW: (out, in), WITH the 1/m of the mean",
           "GB": "db: a column (out, 1), WITH the 1/m of the mean", "P": "W's shape (out, in)"},
    "column": {"R": "one sample as a column, (features, 1)",
               "G": "one sample's gradient as a column (its own cost: no 1/N)",
               "W": "(out, in)", "GW": "(out, in)", "GB": "a column (out, 1)",
               "P": "W's shape (out, in)"},
    "haykin": {"R": "one sample as a column, (features, 1)",
               "G": "local gradients, columns: MINUS the gradient (Haykin's δ and e)",
               "W": "(out, in)", "GW": "(out, in), MINUS the gradient",
               "GB": "a column (out, 1), MINUS the gradient", "P": "W's shape (out, in), PyTorch's "
               "update"},
    "rows": {"R": "one sample per row, (N, features)", "G": "(N, features), the 1/N inside",
             "W": "stored (in, out)", "GW": "(in, out), like W", "GB": "(out,)",
             "P": "W's shape, stored (in, out)"},
}


def layout_paragraph(functions: tuple[str, ...], notation: str) -> str:
    """What each argument and return value of ``functions`` looks like in ``notation``."""
    lines = [f"Every function below takes and returns arrays in THIS notation's layout "
             f"({notation}), and is graded in it:"]
    for role, words in _ROLE_WORDS[notation].items():
        names = [name for function in functions for roles in ROLES[function]
                 for name, found in roles.items() if found == role or
                 (found == "Y" and role == "R" and name == "y")]
        if names:
            lines.append(f"    {', '.join(dict.fromkeys(names))}: {words}")
    lines.append("Class labels stay integers (N,); numbers stay numbers. Use NumPy only; do "
                 "not modify the inputs in place.")
    return "\n".join(lines)
