r"""The exercise texts of :mod:`.topics_more`: titles, docstrings, equations per notation."""

from __future__ import annotations

MORE_TITLES = {
    "mse": "the gradient of the mean squared error",
    "bce": "the gradient of binary cross-entropy on probabilities",
    "sigmoid_bce": "the output delta of sigmoid + binary cross-entropy (fused)",
    "dropout": "the backward pass of (inverted) dropout",
    "adam": "one step of the Adam optimiser",
}

_LOSS_DOC = r'''{what}

    Parameters
    ----------
    {first} : ndarray, shape (N, n)
        {first_doc}
    target : ndarray, shape (N, n)
        {target_doc}

    Returns
    -------
    {grad} : ndarray, shape (N, n)
        {equation}
    '''

MORE_FUNCTIONS: dict[str, tuple[str, str]] = {
    "mse_backward": ("output, target", _LOSS_DOC.format(
        what="∂L/∂A of the MEAN squared error L = (1/(N n)) Σ (A − Y)².", first="output",
        first_doc="A, the network's output (no activation after it).",
        target_doc="Y, the targets.", grad="grad_output",
        equation="∂L/∂A = 2(A − Y)/(N n): the mean runs over all N·n entries.")),
    "bce_backward": ("probs, target", _LOSS_DOC.format(
        what="∂L/∂P of the MEAN binary cross-entropy on probabilities\n"
             "    L = −(1/(N n)) Σ [Y log P + (1 − Y) log(1 − P)].", first="probs",
        first_doc="P, probabilities in (0, 1) (the output of a sigmoid).",
        target_doc="Y, the targets, 0 or 1.", grad="grad_probs",
        equation="∂L/∂P = (P − Y) / (P(1 − P)) / (N n).")),
    "sigmoid_bce_backward": ("logits, target", _LOSS_DOC.format(
        what="∂L/∂Z of sigmoid + MEAN binary cross-entropy, fused: P = σ(Z).", first="logits",
        first_doc="Z, the output layer's pre-activations (no sigmoid applied yet).",
        target_doc="Y, the targets, 0 or 1.", grad="grad_logits",
        equation="Δᴸ = ∂L/∂Z = (σ(Z) − Y)/(N n): σ′ cancels BCE's 1/(P(1 − P)).")),
    "dropout_backward": ("grad_out, mask, p", r'''Backward pass of inverted dropout,
    A = X ⊙ M / (1 − p) in training.

    Parameters
    ----------
    grad_out : ndarray, shape (N, n)
        ∂L/∂A, the gradient with respect to dropout's output.
    mask : ndarray, shape (N, n)
        M, the mask the forward pass drew: 1 where the unit was KEPT, 0 where dropped.
    p : float
        The probability to DROP a unit, in [0, 1).

    Returns
    -------
    grad_x : ndarray, shape (N, n)
        ∂L/∂X = ∂L/∂A ⊙ M / (1 − p).
    '''),
    "adam_step": ("weight, grad, m, v, t, lr, beta1, beta2, eps", r'''One Adam step
    (Kingma & Ba, PyTorch's torch.optim.Adam), with bias correction.

    Parameters
    ----------
    weight : ndarray, shape (out, in)     W before the step
    grad : ndarray, shape (out, in)       g = ∂L/∂W of this step
    m, v : ndarray, shape (out, in)       the moment estimates after step t − 1
    t : int                               the number of THIS step (1 for the first)
    lr, beta1, beta2, eps : float         η, β₁, β₂, ε

    Returns
    -------
    new_weight : ndarray, shape (out, in)    W − η m̂ / (√v̂ + ε)
    new_m : ndarray, shape (out, in)         β₁ m + (1 − β₁) g
    new_v : ndarray, shape (out, in)         β₂ v + (1 − β₂) g²
    '''),
}

MORE_FUNCTIONS_OF = {"mse": ("mse_backward",), "bce": ("bce_backward",),
                     "sigmoid_bce": ("sigmoid_bce_backward",), "dropout": ("dropout_backward",),
                     "adam": ("adam_step",)}

_MSE = """\
L = (1/(N n)) Σₙ Σⱼ (Aₙⱼ − Yₙⱼ)²          the mean over all N·n entries, no ½
∂L/∂A = 2(A − Y)/(N n)                     (N, n), like A"""

_BCE = """\
L = −(1/(N n)) Σ [Y log P + (1 − Y) log(1 − P)]
∂L/∂P = (1/(N n)) (−Y/P + (1 − Y)/(1 − P)) = (P − Y) / (P(1 − P)) / (N n)     (N, n)"""

_SIGMOID_BCE = """\
P = σ(Z),  L = −(1/(N n)) Σ [Y log P + (1 − Y) log(1 − P)]
Δᴸ = ∂L/∂Z = ∂L/∂P ⊙ σ′(Z) = (P − Y)/(P(1 − P) N n) ⊙ P(1 − P) = (σ(Z) − Y)/(N n)
Shapes: Z, P, Y and Δᴸ are all (N, n)."""

_DROPOUT = """\
Forward (training): M ~ Bernoulli(1 − p) (1 = kept),  A = X ⊙ M / (1 − p)
Backward:           ∂L/∂X = ∂L/∂A ⊙ M / (1 − p)        element-wise, (N, n)
In evaluation mode dropout is the identity (nothing to practise there)."""

_ADAM = """\
m ← β₁ m + (1 − β₁) g                  the mean of the gradients (momentum)
v ← β₂ v + (1 − β₂) g²                 the mean of their squares (element-wise)
m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)   bias correction, t = 1 at the first step
W ← W − η m̂ / (√v̂ + ε)                 every array has W's shape"""

_BATCH = {"mse": _MSE, "bce": _BCE, "sigmoid_bce": _SIGMOID_BCE, "dropout": _DROPOUT,
          "adam": _ADAM}

_NOTES = {
    "column": {"mse": "One sample, a column y: ∂C/∂a = 2(a − y)/n for C = (1/n) Σ (a − y)².",
               "bce": "One sample, a column: ∂C/∂p = (p − y) ⊘ (p(1 − p)) / n.",
               "sigmoid_bce": "One sample: δᴸ = a − y (BP1 with σ′ cancelled), /n for the mean.",
               "dropout": "One sample, a column: ∂C/∂x = ∂C/∂a ⊙ m/(1 − p).",
               "adam": "The step does not depend on how samples are laid out."},
    "haykin": {"mse": "Haykin: e = d − y, E = ½ Σ e²; ∂E/∂y = −e. This function returns the\n"
                      "gradient of the MEAN (no ½): 2(y − d)/(N n) = −2e/(N n).",
               "bce": "Haykin works with e = d − y; here the gradient with respect to the\n"
                      "probabilities, sign and 1/(N n) included.",
               "sigmoid_bce": "Haykin: δ = e = d − y is MINUS the gradient; return the\n"
                              "gradient (y − d)/(N n).",
               "dropout": "Dropout came after Haykin's book; its backward pass is a mask.",
               "adam": "Haykin's ΔW = −η ∂E/∂W becomes W ← W − η m̂/(√v̂ + ε)."},
    "ng": {"mse": "Ng's columns (n, m): dA = 2(A − Y)/(n m). Here samples are ROWS (N, n).",
           "bce": "Ng: dA = −(Y/A − (1 − Y)/(1 − A)), the 1/m applied later in dW. Here the\n"
                  "mean's 1/(N n) is in the returned gradient, samples as ROWS.",
           "sigmoid_bce": "Ng: dZ = A − Y, the 1/m applied later in dW. Here the mean puts\n"
                          "the 1/(N n) in the returned gradient, samples as ROWS.",
           "dropout": "Ng: dA = dA ⊙ D / keep_prob, with keep_prob = 1 − p.",
           "adam": "Ng: V = β₁V + (1 − β₁)dW, S = β₂S + (1 − β₂)dW², corrected, then\n"
                   "W := W − α V̂/(√Ŝ + ε): the same step, t counted from 1."},
    "rows": {"mse": "Row convention: G_A = 2(A − Y)/(N n), the same line.",
             "bce": "Row convention: the same element-wise line.",
             "sigmoid_bce": "Row convention: G_Z = (σ(Z) − Y)/(N n), the same line.",
             "dropout": "Row convention: G_X = G_A ⊙ M/(1 − p), the same line.",
             "adam": "The step does not depend on W's layout."},
}


def _equations(topic: str) -> dict[str, str]:
    found = {"batch": _BATCH[topic]}
    for notation, notes in _NOTES.items():
        found[notation] = f"{notes[topic]}\n\n{_BATCH[topic]}"
    return found


MORE_EQUATIONS = {topic: _equations(topic) for topic in _BATCH}


# -- mlp: the whole backward pass, any hidden activation and loss (placeholders filled in
# by the exercise from its DELTAPROP_NETWORK: <act>, <dphi>, <out>, <loss>, <delta>, <y>) --
MORE_TITLES["mlp"] = "the whole backward pass of an MLP, with the activation and loss you chose"
MORE_FUNCTIONS_OF["mlp"] = ("mlp_backward",)
MORE_FUNCTIONS["mlp_backward"] = ("weights, activations, zs, y", r'''All the weight and bias
    gradients of an MLP: <act> hidden layers, output activation <out>, MEAN <loss> loss.

    Parameters
    ----------
    weights : list of L ndarrays
        weights[l - 1] is W⁽ˡ⁾, shape (n_l, n_{l-1}) = (out, in).
    activations : list of L + 1 ndarrays
        activations[l] is A⁽ˡ⁾, shape (N, n_l): activations[0] is the input X,
        activations[L] the output A⁽ᴸ⁾ = <out>(Z⁽ᴸ⁾). Recorded by the forward pass.
    zs : list of L ndarrays
        zs[l - 1] is Z⁽ˡ⁾, shape (N, n_l) (zs[-1] are the logits).
    <y>
        The targets.

    Returns
    -------
    grad_weights : list of L ndarrays, grad_weights[l - 1] = ∂L/∂W⁽ˡ⁾, shape like W⁽ˡ⁾
    grad_biases : list of L ndarrays, grad_biases[l - 1] = ∂L/∂b⁽ˡ⁾, shape (n_l,)
    ''')

_MLP = """\
Forward (recorded for you): A⁽⁰⁾ = X, Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ + b⁽ˡ⁾, A⁽ˡ⁾ = φ(Z⁽ˡ⁾) with φ = <act>
for the hidden layers, A⁽ᴸ⁾ = <out>(Z⁽ᴸ⁾) at the output, loss = mean <loss>.
    <dphi>
Backward:
    <delta>                     (N, n_L)
    for l = L, …, 1:
        ∂L/∂W⁽ˡ⁾ = Δ⁽ˡ⁾ᵀ A⁽ˡ⁻¹⁾                   (n_l, N) @ (N, n_{l-1}) -> (n_l, n_{l-1})
        ∂L/∂b⁽ˡ⁾ = Σₙ Δ⁽ˡ⁾ₙ,:                     (n_l,)
        Δ⁽ˡ⁻¹⁾ = (Δ⁽ˡ⁾ W⁽ˡ⁾) ⊙ φ′(Z⁽ˡ⁻¹⁾)          (N, n_{l-1})   l > 1"""

MORE_EQUATIONS["mlp"] = {
    "batch": _MLP,
    "column": "Nielsen's four equations for one sample x: BP1 δᴸ (the output delta),\n"
              "BP2 δˡ = (Wˡ⁺¹ᵀ δˡ⁺¹) ⊙ φ′(zˡ), BP3 ∂C/∂bˡ = δˡ, BP4 ∂C/∂Wˡ = δˡ aˡ⁻¹ᵀ,\n"
              "averaged over the batch; with samples as ROWS that is:\n\n" + _MLP,
    "haykin": "Haykin: δ = −∂E/∂v, δˡ = φ′(vˡ) ⊙ (Wˡ⁺¹ᵀ δˡ⁺¹), ΔW = η δ yᵀ per sample.\n"
              "Return the GRADIENTS of the mean loss (no η, no minus), batch rows:\n\n" + _MLP,
    "ng": "Ng: dW[l] = (1/m) dZ[l] A[l-1]ᵀ, dZ[l-1] = W[l]ᵀ dZ[l] ⊙ g′(Z[l-1]) (samples as\n"
          "columns). With samples as ROWS and the 1/N put once in Δᴸ:\n\n" + _MLP,
    "rows": "Row convention (W as (in, out)): ∂L/∂W = Hᵀ G_Z, G_H = G_Z Wᵀ. Here every W is\n"
            "(out, in): return the transposes of those ∂L/∂W:\n\n" + _MLP,
}


def fill_network(text: str, activations: dict, losses: dict, network: dict) -> str:
    """An mlp text with the chosen network's names and equations in its placeholders."""
    out, delta, target = losses[network["loss"]]
    names = {"<act>": network["activation"], "<dphi>": activations[network["activation"]],
             "<out>": out, "<loss>": network["loss"].replace("_", "-"), "<delta>": delta,
             "<y>": target}
    for key, value in names.items():
        text = text.replace(key, value)
    return text
