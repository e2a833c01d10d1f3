r"""The ``mlp`` topic: the whole backward pass of an MLP with the activation and loss you pick.

``deltaprop practice mlp --activation relu --loss mse`` writes ``mlp_backward`` for a network
``Dense → φ → … → Dense`` with that hidden activation φ and that loss (and its output
activation); the file records the choice (``DELTAPROP_NETWORK = {...}``) so that
``deltaprop check`` grades it on that network.  Cases carry the choice (``case["_network"]``),
so references and planted mistakes read it from there:

.. math::
    \Delta^{(L)} = \frac{\partial L}{\partial Z^{(L)}},\quad
    \frac{\partial L}{\partial W^{(l)}} = \Delta^{(l)\top} A^{(l-1)},\quad
    \frac{\partial L}{\partial b^{(l)}} = \textstyle\sum_n \Delta^{(l)}_{n,:},\quad
    \Delta^{(l-1)} = (\Delta^{(l)} W^{(l)}) \odot \varphi'(Z^{(l-1)})
"""

from __future__ import annotations

import ast
from dataclasses import replace
from itertools import pairwise
from typing import Any

import numpy as np

from ..nn.activations import get_activation
from ..nn.functional import sigmoid, softmax
from ..nn.layers import Dense
from ..nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from ..nn.model import Sequential
from .references import Case, FunctionSpec, Outputs, network_outputs, read_network

# hidden activation -> its derivative, as the exercise states it
ACTIVATIONS = {
    "identity": "φ′(z) = 1",
    "sigmoid": "σ′(z) = σ(z)(1 − σ(z)) = A(1 − A)",
    "tanh": "tanh′(z) = 1 − tanh(z)² = 1 − A²",
    "relu": "relu′(z) = [z > 0]",
    "leaky_relu": "φ′(z) = 1 if z > 0 else 0.01 (negative slope 0.01)",
    "elu": "φ′(z) = 1 if z > 0 else eᶻ = A + 1 (alpha 1)",
    "softplus": "φ(z) = log(1 + eᶻ), φ′(z) = σ(z)",
    "gelu": "φ(z) = z Φ(z), φ′(z) = Φ(z) + z 𝜑(z) (Φ, 𝜑: the normal CDF and density; "
            "Φ(z) = (1 + erf(z/√2))/2, math.erf through np.vectorize)",
}
# loss -> (output activation, the output delta of the mean loss, the target)
LOSSES = {
    "cross_entropy": ("softmax", "Δᴸ = (softmax(Z⁽ᴸ⁾) − Y)/N", "y : (N,) int class labels"),
    "bce": ("sigmoid", "Δᴸ = (σ(Z⁽ᴸ⁾) − Y)/(N n_L)", "y : (N, n_L) of 0 and 1"),
    "mse": ("identity", "Δᴸ = 2(A⁽ᴸ⁾ − Y)/(N n_L), A⁽ᴸ⁾ = Z⁽ᴸ⁾",
            "y : (N, n_L) real targets"),
}
DEFAULT = {"activation": "tanh", "loss": "cross_entropy"}
_SHAPES = ((5, 3, 4, 2), (7, 2, 5, 4, 3), (5, 3, 4, 2))


def check_network(options: Any, where: str = "DELTAPROP_NETWORK") -> dict[str, str]:
    """``{"activation": ..., "loss": ...}`` checked against the names above."""
    if not isinstance(options, dict) or not set(options) <= set(DEFAULT):
        raise ValueError(f"{where} must be a dict with the keys activation and loss, got "
                         f"{options!r:.200}")
    found = {**DEFAULT, **options}
    for key, valid in (("activation", ACTIVATIONS), ("loss", LOSSES)):
        if found[key] not in valid:
            raise ValueError(f"{where} {key} must be one of {', '.join(valid)}; got "
                             f"{found[key]!r:.100}")
    return found


def network_of(tree: ast.Module | None) -> dict[str, str]:
    """The ``DELTAPROP_NETWORK`` literal of a parsed exercise file (default if absent);
    ``ValueError`` if it is there but not a literal dict of known names."""
    for node in getattr(tree, "body", ()):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name)
                                                and t.id == "DELTAPROP_NETWORK"
                                                for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise ValueError("DELTAPROP_NETWORK must be a literal dict like "
                                 '{"activation": "relu", "loss": "mse"}') from None
            return check_network(value)
    return dict(DEFAULT)


def spec_for(options: dict[str, str]) -> FunctionSpec:
    """``mlp_backward``'s spec with its cases drawn for that network."""
    chosen = (options["activation"], options["loss"])
    return replace(MLP_SPEC, shapes=tuple((*chosen, *shape) for shape in _SHAPES))


def build(case: Case) -> Sequential:
    """``Dense → φ → … → Dense`` (the output activation is the loss's) after a forward pass."""
    weights, biases = case["weights"], case["_biases"]
    layers: list = []
    for position, (weight, bias) in enumerate(zip(weights, biases)):
        dense = Dense(weight.shape[1], weight.shape[0], dtype=np.float64)
        dense.params["weight"][...] = weight
        dense.params["bias"][...] = bias
        layers.append(dense)
        if position < len(weights) - 1:
            layers.append(get_activation(case["_network"]["activation"]))
    model = Sequential(layers)
    model.forward(case["activations"][0].copy())
    return model


def _case(rng: np.random.Generator, shape: tuple) -> Case:
    activation, loss, n, *sizes = shape
    weights = [rng.normal(0.0, 0.8, size=(n_out, n_in)) for n_in, n_out in pairwise(sizes)]
    biases = [rng.normal(0.0, 0.3, size=n_out) for n_out in sizes[1:]]
    if loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], size=n)
    elif loss == "bce":
        y = rng.integers(0, 2, size=(n, sizes[-1])).astype(np.float64)
    else:
        y = rng.normal(size=(n, sizes[-1]))
    case = {"weights": weights, "activations": [rng.normal(size=(n, sizes[0]))], "zs": [],
            "y": y, "_biases": biases, "_network": {"activation": activation, "loss": loss},
            "_sizes": {"N": n, "sizes": "-".join(map(str, sizes)), "activation": activation,
                       "loss": loss}}
    records = build(case).records()
    case["zs"] = [r.z.copy() for r in records]
    case["activations"] += [r.a.copy() for r in records[:-1]] + [_output(case)]
    return case


def _output(case: Case) -> np.ndarray:
    """A⁽ᴸ⁾: the output activation of the loss applied to the logits."""
    z, name = case["zs"][-1], LOSSES[case["_network"]["loss"]][0]
    return {"softmax": softmax, "sigmoid": sigmoid}.get(name, lambda xp, v: v.copy())(np, z)


def _output_delta(case: Case, logits: np.ndarray) -> np.ndarray:
    """Δᴸ from the engine's loss (fused with its output activation)."""
    loss = {"cross_entropy": CrossEntropyLoss, "bce": BCEWithLogitsLoss,
            "mse": MSELoss}[case["_network"]["loss"]]()
    return loss(logits, case["y"])[1]


def _backward(case: Case, hidden_backward=None) -> Outputs:
    """The engine's backward pass (with the hidden activations' step replaced, if given)."""
    model = build(case)
    grad = _output_delta(case, model.records()[-1].z)
    for layer in reversed(model.layers):
        if isinstance(layer, Dense) or hidden_backward is None:
            grad = layer.backward(grad)
        else:
            grad = hidden_backward(layer, grad)
    records = model.records()
    return network_outputs([r.grad_weight for r in records], [r.grad_bias for r in records])


def _reference(case: Case) -> Outputs:
    return _backward(case)


def variants(case: Case, reference: Outputs) -> list:
    """The planted slips of this network: φ′ left out or taken at A, the bias summed over
    the wrong axis."""
    found = [("activation_derivative_missing", "", _backward(case, lambda layer, g: g))]
    if case["_network"]["activation"] not in ("relu", "leaky_relu", "identity"):
        found.append(("derivative_at_wrong_point", "φ′ was taken at A = φ(Z) instead of Z",
                      _backward(case, lambda layer, g: g * layer.derivative(
                          np, layer.a, layer.function(np, layer.a)))))
    model = build(case)
    model.backward(_output_delta(case, model.records()[-1].z))
    deltas = [r.delta for r in model.records()]
    found.append(("bias_wrong_axis", "", {f"grad_biases[{i}]": np.sum(d, axis=1)
                                          for i, d in enumerate(deltas)}))
    if case["_network"]["loss"] != "cross_entropy":      # a mean over N·n_L entries
        n, outputs = case["activations"][-1].shape      # every gradient is linear in Δᴸ
        found += [("mean_missing", f"the mean runs over all N·n_L entries: Δᴸ carries "
                   f"1/(N n_L){hint}", {k: v * factor for k, v in reference.items()})
                  for hint, factor in (("", n * outputs), (" (you divided by N only)", outputs))]
    return found


MLP_SPEC = FunctionSpec("mlp_backward", "mlp", ("weights", "activations", "zs", "y"),
                        tuple(("tanh", "cross_entropy", *s) for s in _SHAPES), _case,
                        _reference, read_network)
MLP_VARIANTS = variants
