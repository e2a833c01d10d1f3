"""The equations of each practice topic, written in each notation of ``docs/notation-guide.md``.

Only the explanation changes with the notation: the functions the learner writes always take
and return arrays in deltaprop's batch-rows layout (one sample per row, ``W`` of shape
``(out, in)``), so the checker can call them.  Where a notation's layout differs, the text says
how its equation maps onto the arrays of the function.
"""

from __future__ import annotations

from .texts_more import MORE_EQUATIONS

NOTATIONS: dict[str, str] = {
    "batch": "batch rows (deltaprop's own): one sample per row, W of shape (out, in), "
             "Z = A Wᵀ + b",
    "column": "column vector, one sample (Nielsen's BP1-BP4): z = W a + b",
    "haykin": "error-correction (Haykin): v = W y, e = d − y, δ = −∂E/∂v",
    "ng": "columns = samples (Andrew Ng): Z = W A + b, samples as columns",
    "rows": "row weights (in, out): Z = H W + b",
}

_ACTIVATION_BATCH = """\
∂L/∂Z = ∂L/∂A ⊙ φ′(Z)          element-wise: φ's Jacobian is diagonal
    σ′(z) = σ(z)(1 − σ(z))        (from the output: A(1 − A))
    tanh′(z) = 1 − tanh(z)²       (from the output: 1 − A²)
    relu′(z) = [z > 0]            (0 at z = 0, as PyTorch)
Shapes: Z, A, ∂L/∂A and ∂L/∂Z are all (N, n)."""

_DENSE_BATCH = """\
Forward:  Z = A_prev Wᵀ + b                 (N, in) @ (in, out) -> (N, out)
Backward, with Δ = ∂L/∂Z = grad_out:
    ∂L/∂W      = Δᵀ A_prev                  (out, N) @ (N, in) -> (out, in)
    ∂L/∂b      = Σₙ Δₙ,:                    (N, out) -> (out,)   sum over the batch
    ∂L/∂A_prev = Δ W                        (N, out) @ (out, in) -> (N, in)
Δ comes from a MEAN loss, so it already carries the 1/N: do not divide by N here."""

_SOFTMAX_CE_BATCH = """\
L = −(1/N) Σₙ log softmax(Zₙ)[yₙ]           the mean over the N samples
Δᴸ = ∂L/∂Z = (softmax(Z) − Y) / N           Y: the labels as one-hot rows (N, C)
Shapes: Z, softmax(Z), Y and Δᴸ are (N, C); labels are integers of shape (N,).
Softmax's Jacobian is full, but fused with cross-entropy it collapses to A − Y."""

_NETWORK_BATCH = """\
Forward (recorded for you): A⁽⁰⁾ = X, Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ + b⁽ˡ⁾, A⁽ˡ⁾ = tanh(Z⁽ˡ⁾) for the
hidden layers, A⁽ᴸ⁾ = softmax(Z⁽ᴸ⁾) at the output, loss = mean cross-entropy.
Backward:
    Δ⁽ᴸ⁾ = (A⁽ᴸ⁾ − Y) / N                         (N, n_L)
    for l = L, …, 1:
        ∂L/∂W⁽ˡ⁾ = Δ⁽ˡ⁾ᵀ A⁽ˡ⁻¹⁾                   (n_l, N) @ (N, n_{l-1}) -> (n_l, n_{l-1})
        ∂L/∂b⁽ˡ⁾ = Σₙ Δ⁽ˡ⁾ₙ,:                     (n_l,)
        Δ⁽ˡ⁻¹⁾ = (Δ⁽ˡ⁾ W⁽ˡ⁾) ⊙ (1 − A⁽ˡ⁻¹⁾²)       (N, n_{l-1})   l > 1; tanh′ from the output"""

_MOMENTUM_BATCH = """\
PyTorch's SGD with momentum (dampening 0, no Nesterov):
    v ← μ v + g                   g = ∂L/∂W of this step
    W ← W − η v                   gradient DEscent: minus
Shapes: W, g and v all have W's shape."""

EQUATIONS: dict[str, dict[str, str]] = {
    "activation": {
        "batch": _ACTIVATION_BATCH,
        "column": "One sample, z a column (n, 1):  δ = ∇ₐC ⊙ φ′(z)   (the φ′ factor of BP1/BP2)\n"
                  "Here each ROW of z and grad_out is one sample's zᵀ, ∇ₐCᵀ; the product is\n"
                  "element-wise, so the batch form is the same line:\n\n" + _ACTIVATION_BATCH,
        "haykin": "δ = e ⊙ φ′(v): φ′ is taken at the induced local field v (our z).\n"
                  "Haykin's δ is MINUS the gradient; this function returns the gradient\n"
                  "∂L/∂z = ∂L/∂a ⊙ φ′(z) (grad_out = ∂L/∂a; for Haykin's E = ½ Σ e² of one\n"
                  "sample it would be ∂E/∂y = −e).\n\n"
                  + _ACTIVATION_BATCH,
        "ng": "dZ = dA ⊙ g′(Z), samples as columns (n, m). Here samples are ROWS: the arrays\n"
              "are Zᵀ and dAᵀ, (N, n); an element-wise product does not care:\n\n"
              + _ACTIVATION_BATCH,
        "rows": "G_Z = G_H ⊙ φ′(Z): the same element-wise product.\n\n" + _ACTIVATION_BATCH,
    },
    "dense": {
        "batch": _DENSE_BATCH,
        "column": "One sample, columns:  z = W a + b,  δ = ∂C/∂z\n"
                  "    ∂C/∂W = δ aᵀ   (out, 1) @ (1, in)     ∂C/∂b = δ     ∂C/∂a = Wᵀ δ\n"
                  "Over a batch, stacked as ROWS, Σₙ δₙ aₙᵀ becomes Δᵀ A_prev:\n\n" + _DENSE_BATCH,
        "haykin": "Haykin's update ΔW = η δ yᵀ uses δ = −∂E/∂v. This function returns the\n"
                  "GRADIENT (no η, no minus sign), batch rows:\n\n" + _DENSE_BATCH,
        "ng": "Ng: dW = (1/m) dZ A_prevᵀ, db = (1/m) Σ dZ, dA_prev = Wᵀ dZ (samples as columns,\n"
              "dZ without the 1/m). Here the 1/N is already inside grad_out and samples are\n"
              "ROWS, so dW = grad_outᵀ a_prev with no 1/m:\n\n" + _DENSE_BATCH,
        "rows": "Rows store W as (in, out): Z = H W + b, ∂L/∂W = Hᵀ G_Z, (in, out).\n"
                "Here weight is (out, in), so grad_weight is the transpose of that:\n\n"
                + _DENSE_BATCH,
    },
    "softmax_cross_entropy": {
        "batch": _SOFTMAX_CE_BATCH,
        "column": "One sample: δᴸ = a − y (softmax + cross-entropy, BP1 fused). The MEAN over\n"
                  "N samples divides each sample's δ by N:\n\n" + _SOFTMAX_CE_BATCH,
        "haykin": "Haykin: e = d − y and δ = e is the NEGATIVE gradient. This function returns\n"
                  "the gradient of the mean loss, −e/N = (y − d)/N:\n\n" + _SOFTMAX_CE_BATCH,
        "ng": "Ng: dZ = A − Y (columns), the 1/m applied later in dW. Here the mean loss\n"
              "puts the 1/N in the returned gradient, and samples are ROWS:\n\n"
              + _SOFTMAX_CE_BATCH,
        "rows": "Row convention: G = (P − Y)/N, the same line:\n\n" + _SOFTMAX_CE_BATCH,
    },
    "network": {
        "batch": _NETWORK_BATCH,
        "column": "Nielsen's four equations for one sample x:\n"
                  "    BP1 δᴸ = a − y (softmax + cross-entropy)\n"
                  "    BP2 δˡ = (Wˡ⁺¹ᵀ δˡ⁺¹) ⊙ (1 − aˡ²)   (tanh′ from the output)\n"
                  "    BP3 ∂C/∂bˡ = δˡ      BP4 ∂C/∂Wˡ = δˡ aˡ⁻¹ᵀ\n"
                  "averaged over the batch; with samples as ROWS that is:\n\n" + _NETWORK_BATCH,
        "haykin": "Haykin: e = d − y, δᴸ = e (softmax + cross-entropy: the Jacobian cancels),\n"
                  "δˡ = (1 − yˡ²) ⊙ (Wˡ⁺¹ᵀ δˡ⁺¹) (tanh′ from the output), ΔW = η δ yᵀ per\n"
                  "sample, with δ the NEGATIVE gradient of one sample's loss. Averaged over the\n"
                  "batch and with the sign turned: ∂L/∂W = −(1/N) Σₙ δ(n) y(n)ᵀ. Return these\n"
                  "gradients (no η, no minus):\n\n"
                  + _NETWORK_BATCH,
        "ng": "Ng: dZ[L] = A[L] − Y, dW[l] = (1/m) dZ[l] A[l-1]ᵀ, db[l] = (1/m) Σ dZ[l],\n"
              "dZ[l-1] = W[l]ᵀ dZ[l] ⊙ (1 − A[l-1]²) (samples as columns). With samples as\n"
              "ROWS and the 1/N put once in Δᴸ:\n\n" + _NETWORK_BATCH,
        "rows": "Row convention (W as (in, out)): G_Z = (P − Y)/N, ∂L/∂W = Hᵀ G_Z, G_H = G_Z Wᵀ.\n"
                "Here every W is (out, in): return the transposes of those ∂L/∂W:\n\n"
                + _NETWORK_BATCH,
    },
    "momentum": {
        "batch": _MOMENTUM_BATCH,
        "column": "The update does not depend on how samples are laid out:\n\n" + _MOMENTUM_BATCH,
        "haykin": "Haykin: ΔW(n) = α ΔW(n−1) + η (1/N) Σₙ δ(n) y(n)ᵀ, W ← W + ΔW(n). It is\n"
                  "the same step with ΔW = −η v, α = μ and (1/N) Σₙ δ(n) y(n)ᵀ = −g (a fixed η).\n"
                  "Implement PyTorch's form:\n\n"
                  + _MOMENTUM_BATCH,
        "ng": "Ng's course writes V = β V + (1 − β) dW (an exponential average). PyTorch, and\n"
              "this exercise, add g itself (no (1 − β) factor):\n\n" + _MOMENTUM_BATCH,
        "rows": "The update does not depend on W's layout:\n\n" + _MOMENTUM_BATCH,
    },
    **MORE_EQUATIONS,
}
