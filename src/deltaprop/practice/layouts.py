r"""Exercises in the learner's notation: the arrays in that layout, graded in that layout.

A file written with ``--notation column|ng|haykin|rows`` records it (``DELTAPROP_NOTATION``);
its functions take and return arrays in that notation's layout.  The checker draws its cases
in deltaprop's batch rows, runs the engine there, and moves inputs, references and planted
mistakes into the notation's layout with the maps below (never a second implementation of
backpropagation).  Each array has a role:

=====  ===============================  =========  =======  ============  ==========  =======
role   what                             batch      rows     ng            column      haykin
=====  ===============================  =========  =======  ============  ==========  =======
R      per-sample values (N, n)         (N, n)     (N, n)   (n, m)        (n, 1)      (n, 1)
G      their gradient, mean's 1/N in    (N, n)     (N, n)   (n, m) ×m     (n, 1)      −(n, 1)
W      a weight (out, in)               (out, in)  (in,out) (out, in)     (out, in)   (out,in)
GW     ∂L/∂W                            (out, in)  (in,out) (out, in)     (out, in)   −
GB     ∂L/∂b                            (out,)     (out,)   (out, 1)      (out, 1)    −(out,1)
P      optimiser arrays, W's shape      (out, in)  (in,out) (out, in)     (out, in)   (out,in)
B      a bias (a forward's input)       (out,)     (out,)   (out, 1)      (out, 1)    (out, 1)
=====  ===============================  =========  =======  ============  ==========  =======

Andrew Ng's ``dZ`` and ``dA`` carry no ``1/m`` (it goes into ``dW`` and ``db``): ×m.  Column
and Haykin are one sample (``N = 1``, the cases are drawn so); Haykin's local gradients are
MINUS the gradients (``δ = −∂E/∂v``, ``e = d − y``).  Labels and numbers keep their form; the
optimisers keep PyTorch's update in every notation (only the weight's layout changes).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .references import Case, FunctionSpec, Outputs

LAYOUTS = ("batch", "column", "haykin", "ng", "rows")
ONE_SAMPLE = ("column", "haykin")

# function -> (role of each argument, role of each output); "Y": labels if 1-D, else R
_ACT = ({"z": "R", "grad_out": "G"}, {"grad_z": "G"})
_OPT = "P"
ROLES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "sigmoid_backward": _ACT, "tanh_backward": _ACT, "relu_backward": _ACT,
    "dense_backward": ({"a_prev": "R", "weight": "W", "grad_out": "G"},
                       {"grad_a_prev": "G", "grad_weight": "GW", "grad_bias": "GB"}),
    "softmax_cross_entropy_backward": ({"logits": "R", "labels": "Y"}, {"grad_logits": "G"}),
    "network_backward": ({"weights": "W", "activations": "R", "zs": "R", "y": "Y"},
                         {"grad_weights": "GW", "grad_biases": "GB"}),
    "mlp_backward": ({"weights": "W", "activations": "R", "zs": "R", "y": "Y"},
                     {"grad_weights": "GW", "grad_biases": "GB"}),
    "momentum_step": ({"weight": _OPT, "grad": _OPT, "velocity": _OPT},
                      {"new_weight": _OPT, "new_velocity": _OPT}),
    "adam_step": ({"weight": _OPT, "grad": _OPT, "m": _OPT, "v": _OPT},
                  {"new_weight": _OPT, "new_m": _OPT, "new_v": _OPT}),
    "mse_backward": ({"output": "R", "target": "R"}, {"grad_output": "G"}),
    "bce_backward": ({"probs": "R", "target": "R"}, {"grad_probs": "G"}),
    "sigmoid_bce_backward": ({"logits": "R", "target": "R"}, {"grad_logits": "G"}),
    "dropout_backward": ({"grad_out": "G", "mask": "R"}, {"grad_x": "G"}),
}
# where the batch size N sits in each function's shape tuples (None: no batch)
_N_AT = {"momentum_step": None, "adam_step": None, "mlp_backward": 2}


def move(array: np.ndarray, role: str, notation: str, n: int) -> np.ndarray:
    """One batch-rows array in ``notation``'s layout (see the table above)."""
    if role == "Y":
        role = "R" if np.ndim(array) == 2 else "L"
    if notation == "batch" or role == "L":
        return array
    if role == "B":
        return array if notation == "rows" else array.reshape(-1, 1)
    if notation == "rows":
        return array.T if role in ("W", "GW", "P") else array
    if role in ("W", "P"):
        return array
    scale = gradient_scale(role, notation, n)                    # Ng's ×m, Haykin's −1
    if role == "R":
        return array.T
    if role == "G":
        return scale * array.T
    if role == "GB":
        return scale * array.reshape(-1, 1)
    return scale * array                                          # GW


def gradient_scale(role: str, notation: str, n: int) -> float:
    r"""The factor ``s`` of a gradient role in ``notation``: the learner's array is
    ``s · ∂J/∂X`` with ``X`` the array as the notation lays it out (the table above: Ng's
    ``dZ``, ``dA`` are ``m ∂J/∂Z``; Haykin's local gradients are ``−∂E/∂v``); 1 elsewhere."""
    if notation == "ng" and role == "G":
        return float(n)
    if notation == "haykin" and role in ("G", "GW", "GB"):
        return -1.0
    return 1.0


def _move_value(value: Any, role: str, notation: str, n: int) -> Any:
    if isinstance(value, list):
        return [_move_value(item, role, notation, n) for item in value]
    return move(value, role, notation, n) if isinstance(value, np.ndarray) else value


def move_outputs(outputs: Outputs, name: str, notation: str, n: int) -> Outputs:
    """Named outputs (``grad_weights[1]`` too) in the notation's layout."""
    roles = ROLES[name][1]
    return {key: move(value, roles[key.split("[")[0]], notation, n)
            for key, value in outputs.items()}


@dataclass(frozen=True)
class LayoutSpec(FunctionSpec):
    """A :class:`FunctionSpec` whose cases, references and slips are in a notation's layout;
    each case keeps the batch case it came from as ``case["_batch"]``."""

    notation: str = "batch"
    batch_variants: Callable[[Case, Outputs], list] | None = None

    def variants(self, case: Case, reference: Outputs) -> list:
        batch = case["_batch"]
        found = self.batch_variants(batch, _BASE[self.name].reference(batch))
        found = [(mistake, hint, move_outputs(outputs, self.name, self.notation, _n(case)))
                 for mistake, hint, outputs in found]
        return found + (_ng_slips(self.name, reference, _n(case)) if self.notation == "ng"
                        else [])


def _ng_slips(name: str, reference: Outputs, n: int) -> list:
    """Where Ng's 1/m goes: into dW and db once, never into dZ or dA."""
    roles = {key: ROLES[name][1][key.split("[")[0]] for key in reference}
    weights = {k: v * n for k, v in reference.items() if roles[k] in ("GW", "GB")}
    deltas = {k: v / n for k, v in reference.items() if roles[k] == "G"}
    return [(mistake, hint, outputs) for mistake, hint, outputs in (
        ("mean_missing", "Ng's dW and db carry the 1/m: dW = (1/m) dZ A_prevᵀ, "
                         "db = (1/m) Σ dZ", weights),
        ("mean_doubled", "Ng's dZ and dA carry no 1/m: it goes once into dW and db", deltas))
        if outputs]


_BASE: dict[str, FunctionSpec] = {}


def _n(case: Case) -> int:
    return int(case["_sizes"].get("N", 1))


def layout_spec(spec: FunctionSpec, notation: str, variants: Callable) -> FunctionSpec:
    """``spec`` in ``notation``'s layout (``spec`` itself for batch)."""
    if notation == "batch":
        return spec
    _BASE[spec.name] = spec
    roles = ROLES[spec.name][0]
    at = _N_AT.get(spec.name, 0)
    shapes = spec.shapes
    if notation in ONE_SAMPLE and at is not None:                 # one sample: N = 1
        shapes = tuple((*shape[:at], 1, *shape[at + 1:]) for shape in shapes)

    def make_case(rng: np.random.Generator, shape: tuple) -> Case:
        batch = spec.make_case(rng, shape)
        n = _n(batch)
        case = {key: _move_value(value, roles[key], notation, n) if key in roles else value
                for key, value in batch.items()}
        case["_batch"] = batch
        return case

    def reference(case: Case) -> Outputs:
        return move_outputs(spec.reference(case["_batch"]), spec.name, notation, _n(case))

    return LayoutSpec(spec.name, spec.topic, spec.args, shapes, make_case, reference,
                      spec.read_outputs, notation=notation, batch_variants=variants)


def with_shapes(spec: FunctionSpec, shapes: tuple) -> FunctionSpec:
    return replace(spec, shapes=shapes)


def notation_of(tree: ast.Module | None) -> str:
    """The ``DELTAPROP_NOTATION`` of a parsed exercise file ("batch" if absent); ValueError
    if it is there but not one of :data:`LAYOUTS`."""
    for node in getattr(tree, "body", ()):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name)
                                                and t.id == "DELTAPROP_NOTATION"
                                                for t in node.targets):
            value = node.value.value if isinstance(node.value, ast.Constant) else None
            if value not in LAYOUTS:
                raise ValueError(f"DELTAPROP_NOTATION must be one of {', '.join(LAYOUTS)}; "
                                 f"got {ast.unparse(node.value)[:80]}")
            return value
    return "batch"
