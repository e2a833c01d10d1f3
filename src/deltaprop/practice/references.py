r"""The practice functions: their inputs, their outputs, and the engine's answer for each.

Every reference below runs deltaprop's own layers, losses and optimiser (never a second
implementation of backpropagation), so a learner's function is graded against exactly what the
library computes.  Inputs are float64, seeded, and in shapes whose dimensions all differ, so a
transposed product either fails or gives a matrix of the wrong shape.

Every function gets several cases of different shapes; the last one repeats the first shape
with new values (a function that keeps state between calls, or caches by shape, fails it),
and softmax + cross-entropy also gets rows shifted by ±1000 (finite answer; a naive ``exp``
overflows).

Each :class:`FunctionSpec` says how to draw one test case (a dict of keyword inputs), how to
run the engine on it, and how to read the learner's return value as named outputs
(``"grad_weight"``, ``"grad_weights[1]"``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from ..nn.activations import ReLU, Sigmoid, Tanh, softmax
from ..nn.layers import Dense
from ..nn.losses import CrossEntropyLoss
from ..nn.model import Sequential
from ..nn.optim import SGD
from ._protocol import Unreadable

Case = dict[str, Any]            # argument name -> value, in the order of the signature
Outputs = dict[str, np.ndarray]  # output name -> array


class OutputStructureError(ValueError):
    """The learner returned the wrong number or kind of values (not arrays in the right slots).

    ``mistake`` is the vocabulary word for it: ``wrong_shape`` for a wrong structure,
    ``other`` for values that are not real numbers (complex, objects, text).
    """

    def __init__(self, message: str, mistake: str = "wrong_shape"):
        super().__init__(message)
        self.mistake = mistake


@dataclass(frozen=True)
class FunctionSpec:
    """One function of an exercise: its signature, test cases and engine reference."""

    name: str
    topic: str
    args: tuple[str, ...]
    shapes: tuple[tuple, ...]                              # one entry per test case
    make_case: Callable[[np.random.Generator, tuple], Case]
    reference: Callable[[Case], Outputs]
    read_outputs: Callable[[Any, Case], Outputs]           # learner return -> named outputs

    def describe(self, case: Case) -> str:
        """The sizes of one case, e.g. ``N=5, in=3, out=4``, for messages."""
        return ", ".join(f"{k}={v}" for k, v in case["_sizes"].items())


def _as_array(value: Any, what: str) -> np.ndarray:
    if value is None:
        raise OutputStructureError(f"{what} is None (did the function forget to `return`?)")
    if isinstance(value, Unreadable):
        if value.kind == "size":
            raise OutputStructureError(f"{what} is {value.reason}")
        raise OutputStructureError(f"{what} is {value.reason}: return real float arrays",
                                   "other")
    if isinstance(value, (tuple, list)):
        inner = _first_unreadable(value)
        if inner is not None:
            return _as_array(inner, what)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise OutputStructureError(f"{what} is not an array of numbers "
                                   f"({type(value).__name__})") from error
    return array


def _first_unreadable(value: Any) -> Unreadable | None:
    """The first :class:`Unreadable` inside nested tuples / lists, if any."""
    if isinstance(value, Unreadable):
        return value
    if isinstance(value, (tuple, list)):
        return next((found for item in value
                     if (found := _first_unreadable(item)) is not None), None)
    return None


def read_single(name: str) -> Callable[[Any, Case], Outputs]:
    def read(value, case):
        return {name: _as_array(value, "the return value")}
    return read


def _what(value: Any) -> str:
    """What a returned value is, for messages: ``tuple of length 2``, ``None``, ..."""
    if isinstance(value, Unreadable):
        return value.reason
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of length {len(value)}"
    return "None" if value is None else f"an array of shape {np.shape(value)}"


def read_tuple(names: tuple[str, ...]) -> Callable[[Any, Case], Outputs]:
    def read(value, case):
        if not isinstance(value, (tuple, list)) or len(value) != len(names):
            raise OutputStructureError(f"expected a tuple of {len(names)} arrays "
                                       f"({', '.join(names)}), got {_what(value)}")
        return {name: _as_array(item, name) for name, item in zip(names, value)}
    return read


# -- activation: ∂L/∂Z = ∂L/∂A ⊙ φ′(Z) ----------------------------------------------------------
ACTIVATION_CLASSES = {"sigmoid_backward": Sigmoid, "tanh_backward": Tanh, "relu_backward": ReLU}


def _activation_case(rng: np.random.Generator, shape: tuple) -> Case:
    n, units = shape
    return {"z": rng.normal(0.0, 1.5, size=shape), "grad_out": rng.normal(size=shape),
            "_sizes": {"N": n, "n": units}}


def _activation_reference(cls) -> Callable[[Case], Outputs]:
    def reference(case):
        layer = cls()
        layer.forward(case["z"].copy())                       # records Z and A = φ(Z)
        return {"grad_z": layer.backward(case["grad_out"].copy())}  # ∂L/∂A ⊙ φ′(Z)
    return reference


# -- dense: ∂L/∂W = Δᵀ A_prev, ∂L/∂b = Σₙ Δ, ∂L/∂A_prev = Δ W ------------------------------------
def _dense_case(rng: np.random.Generator, shape: tuple) -> Case:
    n, n_in, n_out = shape
    return {"a_prev": rng.normal(size=(n, n_in)), "weight": rng.normal(size=(n_out, n_in)),
            "grad_out": rng.normal(size=(n, n_out)) / n,      # Δ of a mean loss carries 1/N
            "_sizes": {"N": n, "in": n_in, "out": n_out}}


def _dense_reference(case: Case) -> Outputs:
    n_out, n_in = case["weight"].shape
    layer = Dense(n_in, n_out, dtype=np.float64)
    layer.params["weight"][...] = case["weight"]
    layer.forward(case["a_prev"].copy())
    grad_a_prev = layer.backward(case["grad_out"].copy())
    return {"grad_a_prev": grad_a_prev, "grad_weight": layer.grads["weight"],
            "grad_bias": layer.grads["bias"]}


# -- softmax + cross-entropy: Δᴸ = (softmax(Z) − Y)/N ----------------------------------------------
def _softmax_ce_case(rng: np.random.Generator, shape: tuple) -> Case:
    """Logits of scale 2; with a third entry ``s``, each row is shifted by ±s (softmax is
    shift-invariant, so the answer stays finite; a naive ``exp`` overflows)."""
    n, classes, *shift = shape
    logits = rng.normal(0.0, 2.0, size=(n, classes))
    sizes: dict[str, Any] = {"N": n, "C": classes}
    if shift:
        logits += shift[0] * rng.choice([-1.0, 1.0], size=(n, 1))
        sizes["large logits"] = f"±{shift[0]:g}"
    return {"logits": logits, "labels": rng.integers(0, classes, size=n), "_sizes": sizes}


def _softmax_ce_reference(case: Case) -> Outputs:
    _, grad = CrossEntropyLoss()(case["logits"].copy(), case["labels"].copy())
    return {"grad_logits": grad}


# -- network: tanh hidden layers, softmax + cross-entropy output ------------------------------
def build_network(weights: list[np.ndarray], biases: list[np.ndarray]) -> Sequential:
    """``Dense → Tanh → … → Dense`` (logits) with the given float64 weights and biases."""
    layers = []
    for position, (weight, bias) in enumerate(zip(weights, biases)):
        dense = Dense(weight.shape[1], weight.shape[0], dtype=np.float64)
        dense.params["weight"][...] = weight
        dense.params["bias"][...] = bias
        layers.append(dense)
        if position < len(weights) - 1:
            layers.append(Tanh())
    return Sequential(layers)


def _network_case(rng: np.random.Generator, shape: tuple) -> Case:
    n, sizes = shape[0], shape[1:]
    weights = [rng.normal(0.0, 0.8, size=(n_out, n_in)) for n_in, n_out in pairwise(sizes)]
    biases = [rng.normal(0.0, 0.3, size=n_out) for n_out in sizes[1:]]
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, sizes[-1], size=n)
    model = build_network(weights, biases)
    model.forward(X)
    records = model.records()
    zs = [r.z.copy() for r in records]
    activations = [X] + [r.a.copy() for r in records[:-1]] + [softmax(np, zs[-1])]
    return {"weights": weights, "activations": activations, "zs": zs, "y": y,
            "_sizes": {"N": n, "sizes": "-".join(map(str, sizes))}, "_biases": biases}


def network_model(case: Case) -> Sequential:
    """The case's network after one engine forward pass on ``activations[0]``."""
    model = build_network(case["weights"], case["_biases"])
    model.forward(case["activations"][0].copy())
    return model


def network_outputs(grad_weights: list, grad_biases: list) -> Outputs:
    outputs = {f"grad_weights[{i}]": g for i, g in enumerate(grad_weights)}
    outputs.update({f"grad_biases[{i}]": g for i, g in enumerate(grad_biases)})
    return outputs


def _network_reference(case: Case) -> Outputs:
    model = network_model(case)
    _, delta = CrossEntropyLoss()(model.records()[-1].z, case["y"])   # Δᴸ = (A − Y)/N
    model.backward(delta)
    records = model.records()
    return network_outputs([r.grad_weight for r in records], [r.grad_bias for r in records])


def read_network(value: Any, case: Case) -> Outputs:
    layers = len(case["weights"])
    if not isinstance(value, (tuple, list)) or len(value) != 2 \
            or not all(isinstance(v, (tuple, list)) and len(v) == layers for v in value):
        got = _what(value)
        if isinstance(value, (tuple, list)) and len(value) == 2:
            got = f"lists of {_what(value[0])} and {_what(value[1])}"
        raise OutputStructureError(f"expected (grad_weights, grad_biases): two lists of {layers} "
                                   f"arrays each, got {got}")
    return network_outputs([_as_array(g, f"grad_weights[{i}]") for i, g in enumerate(value[0])],
                           [_as_array(g, f"grad_biases[{i}]") for i, g in enumerate(value[1])])


# -- momentum: v ← μ v + g, W ← W − η v (PyTorch's SGD) --------------------------------------
def _momentum_case(rng: np.random.Generator, shape: tuple) -> Case:
    (n_out, n_in), lr, momentum = shape
    return {"weight": rng.normal(size=(n_out, n_in)), "grad": rng.normal(size=(n_out, n_in)),
            "velocity": rng.normal(size=(n_out, n_in)), "lr": lr, "momentum": momentum,
            "_sizes": {"shape": f"{n_out}x{n_in}", "lr": lr, "momentum": momentum}}


def _momentum_reference(case: Case) -> Outputs:
    n_out, n_in = case["weight"].shape
    model = Sequential(Dense(n_in, n_out, bias=False, dtype=np.float64))
    model[0].params["weight"][...] = case["weight"]
    model[0].grads["weight"] = case["grad"].copy()
    optimizer = SGD(model, lr=case["lr"], momentum=case["momentum"])
    optimizer.state["0.weight"] = {"velocity": case["velocity"].copy()}  # v from earlier steps
    optimizer.step()
    return {"new_weight": model[0].params["weight"],
            "new_velocity": optimizer.state["0.weight"]["velocity"]}


# -- the table ------------------------------------------------------------------------------
def _activation_spec(name: str) -> FunctionSpec:
    return FunctionSpec(name, "activation", ("z", "grad_out"), ((5, 3), (4, 7), (2, 6), (5, 3)),
                        _activation_case, _activation_reference(ACTIVATION_CLASSES[name]),
                        read_single("grad_z"))


SPECS: dict[str, FunctionSpec] = {
    **{name: _activation_spec(name) for name in ACTIVATION_CLASSES},
    "dense_backward": FunctionSpec(
        "dense_backward", "dense", ("a_prev", "weight", "grad_out"),
        ((5, 3, 4), (7, 6, 2), (3, 2, 5), (5, 3, 4)), _dense_case, _dense_reference,
        read_tuple(("grad_a_prev", "grad_weight", "grad_bias"))),
    "softmax_cross_entropy_backward": FunctionSpec(
        "softmax_cross_entropy_backward", "softmax_cross_entropy", ("logits", "labels"),
        ((5, 3), (8, 4), (3, 6), (5, 3), (4, 3, 1000.0)), _softmax_ce_case, _softmax_ce_reference,
        read_single("grad_logits")),
    "network_backward": FunctionSpec(
        "network_backward", "network", ("weights", "activations", "zs", "y"),
        ((5, 3, 4, 2), (7, 2, 5, 4, 3), (5, 3, 4, 2)), _network_case, _network_reference,
        read_network),
    "momentum_step": FunctionSpec(
        "momentum_step", "momentum", ("weight", "grad", "velocity", "lr", "momentum"),
        (((4, 3), 0.1, 0.9), ((2, 5), 0.05, 0.5), ((6, 2), 0.3, 0.8), ((4, 3), 0.2, 0.5)),
        _momentum_case, _momentum_reference, read_tuple(("new_weight", "new_velocity"))),
}

from .mlp import MLP_SPEC, MLP_VARIANTS  # noqa: E402, F401 - they build on the helpers above
from .topics_more import MORE_SPECS  # noqa: E402

SPECS.update(MORE_SPECS)
SPECS[MLP_SPEC.name] = MLP_SPEC

TOPIC_FUNCTIONS: dict[str, tuple[str, ...]] = {}
for _spec in SPECS.values():
    TOPIC_FUNCTIONS.setdefault(_spec.topic, ())
    TOPIC_FUNCTIONS[_spec.topic] += (_spec.name,)
TOPICS: tuple[str, ...] = tuple(TOPIC_FUNCTIONS)


def learner_arguments(case: Case) -> dict[str, Any]:
    """Fresh copies of a case's public inputs (the learner may modify them in place)."""
    def copy(value):
        if isinstance(value, list):
            return [copy(v) for v in value]
        return value.copy() if isinstance(value, np.ndarray) else value
    return {k: copy(v) for k, v in case.items() if not k.startswith("_")}
