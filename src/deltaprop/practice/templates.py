r"""Write a practice exercise: a Python file with the function(s) to implement and a TODO.

The file states the equations in the chosen notation (``equations.py``), the signature and
shapes of each function in deltaprop's batch-rows layout, and a ``DELTAPROP_TOPIC`` marker so
that ``deltaprop check`` knows which functions to expect.
"""

from __future__ import annotations

from pathlib import Path

from ..io._files import atomic_write
from .equations import EQUATIONS, NOTATIONS
from .gradcheck import GRADCHECK_NOTES, GRADCHECKS, forward_equation
from .layout_texts import LAYOUT_EQUATIONS, layout_paragraph
from .layouts import ROLES
from .mlp import ACTIVATIONS, LOSSES, check_network
from .recall import RECALL_PREAMBLE, recall_docstring
from .references import TOPICS
from .texts_more import MORE_FUNCTIONS, MORE_FUNCTIONS_OF, MORE_TITLES, fill_network

TITLES = {
    "activation": "the backward pass of an element-wise activation",
    "dense": "the backward pass of a fully connected (Dense) layer",
    "softmax_cross_entropy": "the output delta of softmax + cross-entropy",
    "network": "the whole backward pass of a small MLP",
    "momentum": "one step of SGD with momentum",
    **MORE_TITLES,
}

_ACTIVATION_DOC = r'''
    Parameters
    ----------
    z : ndarray, shape (N, n)
        The pre-activation Z this activation was applied to (the forward INPUT).
    grad_out : ndarray, shape (N, n)
        ∂L/∂A, the gradient of the loss with respect to this activation's output.

    Returns
    -------
    grad_z : ndarray, shape (N, n)
        ∂L/∂Z = ∂L/∂A ⊙ {derivative}.
    '''

FUNCTIONS: dict[str, tuple[str, str]] = {
    "sigmoid_backward": ("z, grad_out", "∂L/∂Z for A = σ(Z)." + _ACTIVATION_DOC.format(
        derivative="σ′(Z), σ′(z) = σ(z)(1 − σ(z))")),
    "tanh_backward": ("z, grad_out", "∂L/∂Z for A = tanh(Z)." + _ACTIVATION_DOC.format(
        derivative="tanh′(Z), tanh′(z) = 1 − tanh(z)²")),
    "relu_backward": ("z, grad_out", "∂L/∂Z for A = max(Z, 0)." + _ACTIVATION_DOC.format(
        derivative="[Z > 0] (1 where z > 0, else 0)")),
    "dense_backward": ("a_prev, weight, grad_out", r'''Backward pass of Z = A_prev Wᵀ + b.

    Parameters
    ----------
    a_prev : ndarray, shape (N, in)
        The layer's input A_prev, one sample per row.
    weight : ndarray, shape (out, in)
        W, one row per output neuron (PyTorch's nn.Linear layout).
    grad_out : ndarray, shape (N, out)
        Δ = ∂L/∂Z (already includes the 1/N of the mean loss).

    Returns
    -------
    grad_a_prev : ndarray, shape (N, in)      ∂L/∂A_prev = Δ W
    grad_weight : ndarray, shape (out, in)    ∂L/∂W = Δᵀ A_prev
    grad_bias : ndarray, shape (out,)         ∂L/∂b = Σₙ Δₙ,:
    '''),
    "softmax_cross_entropy_backward": ("logits, labels", r'''∂L/∂Z of the MEAN
    softmax cross-entropy loss L = −(1/N) Σₙ log softmax(Zₙ)[yₙ].

    Parameters
    ----------
    logits : ndarray, shape (N, C)
        Z, the output layer's pre-activations (no softmax applied yet).
    labels : ndarray of int, shape (N,)
        The class of each sample, in [0, C).

    Returns
    -------
    grad_logits : ndarray, shape (N, C)
        Δᴸ = (softmax(Z) − Y) / N, with Y the one-hot rows of the labels.
    '''),
    "network_backward": ("weights, activations, zs, y", r'''All the weight and bias
    gradients of an MLP with tanh hidden layers and a softmax + mean cross-entropy output.

    Parameters
    ----------
    weights : list of L ndarrays
        weights[l - 1] is W⁽ˡ⁾, shape (n_l, n_{l-1}) = (out, in).
    activations : list of L + 1 ndarrays
        activations[l] is A⁽ˡ⁾, shape (N, n_l): activations[0] is the input X,
        activations[L] the softmax probabilities. Recorded by the forward pass.
    zs : list of L ndarrays
        zs[l - 1] is Z⁽ˡ⁾, shape (N, n_l) (zs[-1] are the logits).
    y : ndarray of int, shape (N,)
        The class labels.

    Returns
    -------
    grad_weights : list of L ndarrays, grad_weights[l - 1] = ∂L/∂W⁽ˡ⁾, shape like W⁽ˡ⁾
    grad_biases : list of L ndarrays, grad_biases[l - 1] = ∂L/∂b⁽ˡ⁾, shape (n_l,)
    '''),
    "momentum_step": ("weight, grad, velocity, lr, momentum", r'''One SGD-with-momentum
    update, PyTorch's convention: v ← μ v + g, then W ← W − η v.

    Parameters
    ----------
    weight : ndarray, shape (out, in)     W before the step
    grad : ndarray, shape (out, in)       g = ∂L/∂W of this step
    velocity : ndarray, shape (out, in)   v from the previous steps
    lr : float                            η, the learning rate
    momentum : float                      μ, in [0, 1)

    Returns
    -------
    new_weight : ndarray, shape (out, in)
    new_velocity : ndarray, shape (out, in)
    '''),
    **MORE_FUNCTIONS,
}

_FUNCTIONS_OF = {
    "activation": ("sigmoid_backward", "tanh_backward", "relu_backward"),
    "dense": ("dense_backward",),
    "softmax_cross_entropy": ("softmax_cross_entropy_backward",),
    "network": ("network_backward",),
    "momentum": ("momentum_step",),
    **MORE_FUNCTIONS_OF,
}


def _check_choice(kind: str, value: str, valid) -> None:
    if value not in valid:
        raise ValueError(f"unknown practice {kind} {value!r}; valid {kind}s: "
                         f"{', '.join(valid)}")


def render_exercise(topic: str, notation: str = "batch", filename: str = "FILE", *,
                    recall: bool = False, network: dict | None = None) -> str:
    """The text of the exercise file for ``topic``, equations in ``notation``.

    ``recall=True`` writes names and shapes only, no equation (:mod:`.recall`): the learner
    writes the functions from memory, and ``deltaprop check --hint`` reveals the equations in
    stages.  ``network`` (topic ``mlp`` only) is ``{"activation": ..., "loss": ...}``
    (:mod:`.mlp`): the file records it, and is checked on that network.
    """
    _check_choice("topic", topic, TOPICS)
    _check_choice("notation", notation, tuple(NOTATIONS))
    if network is not None and topic != "mlp":
        raise ValueError(f"network= goes with the topic mlp only, got topic {topic!r}")
    text = _render(topic, notation, filename, recall)
    if topic != "mlp":
        return text
    chosen = check_network({} if network is None else network, "network")
    text = text.replace("DELTAPROP_TOPIC = \"mlp\"  # tells `deltaprop check` which functions to "
                        "expect\n", "DELTAPROP_TOPIC = \"mlp\"  # tells `deltaprop check` which "
                        f"functions to expect\nDELTAPROP_NETWORK = {chosen!r}  # the network "
                        "checked\n")
    return fill_network(text, ACTIVATIONS, LOSSES, chosen)


def _render(topic: str, notation: str, filename: str, recall: bool) -> str:
    """The exercise text (before an mlp's network is filled in)."""
    body = RECALL_PREAMBLE if recall else EQUATIONS[topic][notation]
    layout = ("Whatever the notation of the equations above, every function below takes and "
              "returns\narrays in deltaprop's batch-rows layout, so the checker can call it: "
              "one sample per ROW,\nweights of shape (out, in). Use NumPy only; do not modify "
              "the inputs in place.")
    if notation != "batch":                      # the arrays in the notation's own layout
        layout = layout_paragraph(_FUNCTIONS_OF[topic], notation)
        if not recall:
            body = (f"{LAYOUT_EQUATIONS[topic][notation]}\n\nThe same step in deltaprop's "
                    f"batch rows, for comparison (NOT the layout of your arrays):\n\n"
                    f"{EQUATIONS[topic]['batch']}")
    equations = "\n".join("    " + line if line else "" for line in body.splitlines())
    kind = "recall " if recall else ""
    parts = [f'''r"""deltaprop {kind}practice: {TITLES[topic]}.

Notation: {NOTATIONS[notation]}.

{equations}

{layout}

Replace each `raise NotImplementedError` with your code, then grade it with:

    deltaprop check {filename}
"""

import numpy as np  # noqa: F401 - you will need it

DELTAPROP_TOPIC = "{topic}"  # tells `deltaprop check` which functions to expect
''']
    if notation != "batch":
        parts.append(f'DELTAPROP_NOTATION = "{notation}"  # the layout of the arrays, graded '
                     'in it\n')
    if any(name in GRADCHECKS for name in _FUNCTIONS_OF[topic]):
        parts[0] = parts[0].replace("\n\"\"\"\n", f"\n\n{_gradcheck_paragraph(topic, notation)}"
                                    "\n\"\"\"\n", 1)
    if recall:
        parts.append("DELTAPROP_RECALL = True  # names and shapes only: --hint reveals more\n")
    for name in _FUNCTIONS_OF[topic]:
        signature, doc = FUNCTIONS[name]
        doc = recall_docstring(name) if recall else doc
        if notation != "batch":                  # names only: the layout is at the top
            outputs = ", ".join(ROLES[name][1])
            doc = (f"{doc.split(chr(10) + chr(10))[0].strip()}\n\n    In the {notation} "
                   "layout: each shape as at the top of the file.\n"
                   f"    Inputs: {signature}\n    Returns: {outputs} (their shapes: see the "
                   "top)\n    ")
        parts.append(f'''

def {name}({signature}):
    r"""{doc.rstrip()}
    """
    # TODO: {"write it from memory" if recall else "implement the equations of the docstring"}
    raise NotImplementedError("{name} is not implemented yet")
''')
    return "".join(parts)


def _gradcheck_paragraph(topic: str, notation: str) -> str:
    """How to run ``check --gradcheck``: the forward functions to write, in the layout."""
    forwards = [(f"{GRADCHECKS[n].forward}({', '.join(GRADCHECKS[n].args)})",
                 forward_equation(n, notation)) for n in _FUNCTIONS_OF[topic] if n in GRADCHECKS]
    text = ("To check your backward against central differences of your own forward pass, "
            "also write\n")
    if notation == "batch":
        return text + f"{', '.join(f for f, _ in forwards)} and run `deltaprop check --gradcheck`."
    lines = "\n".join(f"    {function}: {equation}" for function, equation in forwards)
    return (f"{text}{lines}\nin this layout, and run `deltaprop check --gradcheck`.\n"
            f"{GRADCHECK_NOTES[notation]}")


def write_exercise(topic: str, path: str | Path | None = None, notation: str = "batch",
                   *, overwrite: bool = False, recall: bool = False,
                   network: dict | None = None) -> Path:
    """Write the exercise file of ``topic`` to ``path`` (default ``<topic>_practice.py``).

    Raises ``ValueError`` for an unknown topic or notation, or a ``path`` that is a folder, a
    FIFO or a device, even with ``overwrite``; ``FileExistsError`` if the file exists and
    ``overwrite`` is false (a learner's work is never overwritten by accident).  The file is
    written whole (a temporary file renamed over ``path``) or not at all.
    """
    _check_choice("topic", topic, TOPICS)
    path = Path(path) if path is not None else Path(f"{topic}_practice.py")
    if path.exists() and not path.is_file():      # a folder, FIFO (writing would block), device
        raise ValueError(f"path must name a regular file or a new one; {path} exists and is "
                         "not a regular file")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists (pass overwrite=True / --force to "
                              "replace it)")
    text = render_exercise(topic, notation, filename=str(path), recall=recall,
                           network=network)
    atomic_write(path, text.encode("utf-8"))       # whole or not at all
    return path
