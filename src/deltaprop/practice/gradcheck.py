r"""``deltaprop check --gradcheck``: the learner's backward against their own forward.

CS231n's workflow: before comparing with a reference, check that the backward function is the
derivative of the forward function, by central differences

.. math::
    \frac{\partial L}{\partial x_i} \approx \frac{L(x + h e_i) - L(x - h e_i)}{2h},
    \qquad \text{relative error} = \max_i \frac{|a_i - n_i|}{\max(|a_i| + |n_i|, 10^{-8})}

with ``a`` the learner's analytic gradient and ``n`` the numerical one.  For a layer the scalar
is ``L = Σ forward(...) ⊙ G`` with the case's upstream gradient ``G``; for a loss, the loss
itself.  Both functions are the learner's, run in the isolated child
(:mod:`._gradcheck_child`); the child sends numbers back, and the relative errors and
verdicts are computed here.  A relative error above :data:`THRESHOLD` means that the
backward is not the derivative of the forward (or the forward is not smooth there).

In a file written in another notation (``DELTAPROP_NOTATION``, :mod:`.layouts`) the arrays are
in that layout, and so is what is differentiated: the forward's own arguments as the
notation lays them out (rows' ``W`` stored ``(in, out)``, Ng's bias a column).  The parameter
gradients ``dW``, ``db`` are gradients of the mean loss ``J`` in every layout; an array the
notation defines as a multiple of a gradient is compared after dividing by that multiple
(:func:`~.layouts.gradient_scale`): Ng's ``dZ`` and ``dA`` carry no ``1/m`` (compared as
``dZ/m``), Haykin's local gradients are ``−∂E/∂v`` (compared as ``−δ``).  Each such parameter
says so in its ``convention``.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._protocol import error_from
from .layouts import ROLES, gradient_scale, layout_spec, move, notation_of
from .mlp import DEFAULT, network_of, spec_for
from .references import SPECS, Case, learner_arguments
from .runner import run_once, source_text

THRESHOLD = 1e-6         # float64 central differences land near 1e-9; a bug near 1e-1
H = 1e-5                 # as in _gradcheck_child


@dataclass(frozen=True)
class GradcheckSpec:
    """How to gradcheck one backward function with the learner's forward function."""

    forward: str                                   # the learner's forward function
    args: tuple[str, ...]                          # its arguments, names of the case's inputs
    wrt: tuple[tuple[str, int | None, str], ...]   # (forward arg, backward output, its name)
    upstream: str | None = None                    # the case input holding G (a layer)
    network: bool = False                          # wrt every W⁽ˡ⁾ and b⁽ˡ⁾ of a network


def _layer(forward: str, name: str = "z", output: str = "grad_z") -> GradcheckSpec:
    return GradcheckSpec(forward, (name,), ((name, None, output),), "grad_out")


def _loss(forward: str, first: str, second: str, output: str) -> GradcheckSpec:
    return GradcheckSpec(forward, (first, second), ((first, None, output),))


GRADCHECKS: dict[str, GradcheckSpec] = {
    "sigmoid_backward": _layer("sigmoid_forward"),
    "tanh_backward": _layer("tanh_forward"),
    "relu_backward": _layer("relu_forward"),
    "dense_backward": GradcheckSpec(
        "dense_forward", ("a_prev", "weight", "bias"),
        (("a_prev", 0, "grad_a_prev"), ("weight", 1, "grad_weight"), ("bias", 2, "grad_bias")),
        "grad_out"),
    "softmax_cross_entropy_backward": _loss("softmax_cross_entropy_forward", "logits",
                                            "labels", "grad_logits"),
    "mse_backward": _loss("mse_forward", "output", "target", "grad_output"),
    "bce_backward": _loss("bce_forward", "probs", "target", "grad_probs"),
    "sigmoid_bce_backward": _loss("sigmoid_bce_forward", "logits", "target", "grad_logits"),
    "dropout_backward": GradcheckSpec("dropout_forward", ("x", "mask", "p"),
                                      (("x", None, "grad_x"),), "grad_out"),
    "network_backward": GradcheckSpec("network_forward", ("weights", "biases", "x", "y"), (),
                                      network=True),
    "mlp_backward": GradcheckSpec("mlp_forward", ("weights", "biases", "x", "y"), (),
                                  network=True),
}

_DENSE = {"batch": "Z = A_prev Wᵀ + b, b (out,)",
          "rows": "Z = H W + b, W stored (in, out), b (out,)",
          "ng": "Z = W A_prev + b, b (out, 1)", "column": "z = W a + b, b (out, 1)",
          "haykin": "v = W y + b, b (out, 1)"}
_NETWORK = {"batch": "the mean loss of the whole network, biases[l] (n_l,)",
            "rows": "the mean loss of the whole network, weights[l] stored (in, out), "
                    "biases[l] (n_l,)",
            "ng": "the mean cost J of the whole network, x (n_0, m), biases[l] (n_l, 1)",
            "column": "the cost of one sample x (n_0, 1), biases[l] (n_l, 1)",
            "haykin": "the cost E of one sample x (n_0, 1), biases[l] (n_l, 1)"}
FORWARD_EQUATIONS: dict[str, dict[str, str]] = {
    "dense_forward": _DENSE, "network_forward": _NETWORK, "mlp_forward": _NETWORK,
    "dropout_forward": {**dict.fromkeys(("batch", "rows", "column", "haykin"),
                                        "A = X ⊙ M / (1 − p)"),
                        "ng": "A = D ⊙ A_prev / keep_prob, keep_prob = 1 − p"},
}
# what the learner's array is, where the notation makes it a multiple of the gradient
_CONVENTIONS = {
    "ng": "Ng's {name} carries no 1/m: compared as {name}/m (m = {m}) with ∂J/∂{arg}",
    "haykin": "Haykin's {name} is MINUS the gradient: compared as −{name} with ∂E/∂{arg}",
}


# what an exercise in each notation tells the learner about --gradcheck
GRADCHECK_NOTES = {
    "batch": "",
    "rows": "W stays stored (in, out), in your forward as in your backward.",
    "ng": "It compares dW, db with ∂J/∂W, ∂J/∂b of your forward's mean cost J, and dZ, dA\n"
          "(which carry no 1/m) as dZ/m, dA/m.",
    "column": "One sample: every array is a column, in your forward as in your backward.",
    "haykin": "What you return is MINUS the gradient (Haykin's local gradients): it compares "
              "minus it\nwith the gradient of your forward's cost E.",
}


def forward_equation(name: str, notation: str = "batch") -> str:
    """What the forward function of the backward ``name`` computes, in ``notation``'s layout."""
    forward = GRADCHECKS[name].forward
    if forward in FORWARD_EQUATIONS:
        return FORWARD_EQUATIONS[forward][notation]
    if GRADCHECKS[name].upstream:
        return "A = the activation of Z, element-wise"
    return ("the cost of the one sample, a number" if notation in ("column", "haykin")
            else "the loss, one number: the mean over the samples")


def _case(name: str, seed: int, network: dict, notation: str) -> tuple[Case, int]:
    """The first case of ``name`` in ``notation``'s layout, plus the forward's extra inputs
    (a bias, an input X); and its number of samples."""
    spec = spec_for(network) if name == "mlp_backward" else SPECS[name]
    spec = layout_spec(spec, notation, lambda *_: [])
    rng = np.random.default_rng([seed, 11])
    case = spec.make_case(rng, spec.shapes[0])
    batch = case.get("_batch", case)                 # the batch-rows case it came from
    n = int(batch["_sizes"].get("N", 1))
    if "_biases" in batch:                           # a network: its biases and input X
        case["biases"] = [move(b, "B", notation, n) for b in batch["_biases"]]
        case["x"] = case["activations"][0]
    if name == "dense_backward":
        case["bias"] = move(rng.normal(size=batch["weight"].shape[0]), "B", notation, n)
    if name == "dropout_backward":
        case["x"] = move(rng.normal(size=batch["grad_out"].shape), "R", notation, n)
    return case, n


@dataclass(frozen=True)
class _Planned:
    """What the checker keeps of one planned check (the child gets none of it)."""

    name: str
    names: list[str]             # the parameters, in the order the child answers
    shapes: list[list[int]]
    scales: list[float]          # the learner's array is scale · ∂J/∂X (see gradient_scale)
    conventions: list[str]       # why, where the scale is not 1


def plan(names: list[str], seed: int, network: dict | None = None, notation: str = "batch"
         ) -> tuple[list[dict], dict[int, _Planned]]:
    """The child's ``gradchecks`` for the functions ``names`` that have one, by id
    (``network``: the ``mlp`` file's choice; ``notation``: its layout)."""
    from ._protocol import encode_input

    checks, planned = [], {}
    for name in names:
        if name not in GRADCHECKS:
            continue
        check = GRADCHECKS[name]
        case, n = _case(name, seed, network or dict(DEFAULT), notation)
        arguments = learner_arguments(case)
        wrt = _wrt(check, case)
        scales = [gradient_scale(_role(name, w["name"]), notation, n) for w in wrt]
        conventions = [_CONVENTIONS[notation].format(name=w["name"], m=n, arg=w.pop("of"))
                       if scale != 1 else "" for w, scale in zip(wrt, scales, strict=True)]
        upstream = None
        if check.upstream:                   # the true ∂J/∂(output): Ng's ×m, Haykin's −1 out
            upstream = arguments[check.upstream] / gradient_scale("G", notation, n)
        planned[len(checks)] = _Planned(name, [w["name"] for w in wrt],
                                        [w.pop("shape") for w in wrt], scales, conventions)
        checks.append({
            "id": len(checks), "forward": check.forward, "backward": name,
            "forward_inputs": [encode_input(arguments[a]) for a in check.args],
            "backward_inputs": [encode_input(arguments[a]) for a in SPECS[name].args],
            "upstream": encode_input(upstream) if upstream is not None else None,
            "wrt": wrt})
    return checks, planned


def _role(name: str, output: str) -> str:
    """The layout role of the backward's output ``output`` (``grad_weights[1]`` too)."""
    return ROLES[name][1][output.split("[")[0]]


def _wrt(check: GradcheckSpec, case: Case) -> list[dict]:
    """What to differentiate: each input of a layer or loss, or each W⁽ˡ⁾ and b⁽ˡ⁾."""
    if not check.network:
        return [{"arg": check.args.index(arg), "output": output, "name": label, "of": arg,
                 "shape": list(np.shape(case[arg]))} for arg, output, label in check.wrt]
    found = []
    for which, arg in enumerate(("weights", "biases")):
        for layer, array in enumerate(case[arg]):
            found.append({"arg": check.args.index(arg), "item": layer, "output": [which, layer],
                          "name": f"grad_{arg}[{layer}]", "of": f"{arg}[{layer}]",
                          "shape": list(array.shape)})
    return found


def run_gradchecks(path: Path, names: list[str], seed: int, timeout: float
                   ) -> dict[str, dict[str, Any]]:
    """The gradcheck report of each function of ``names`` that has one (JSON-ready), in the
    file's notation (``DELTAPROP_NOTATION``) and on its network (``DELTAPROP_NETWORK``)."""
    try:
        tree = ast.parse(source_text(path))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    network, notation = _marker(network_of, tree, dict(DEFAULT)), \
        _marker(notation_of, tree, "batch")
    checks, planned = plan(names, seed, network, notation)
    if not checks:
        return {}
    outcome = run_once(path, [], [], {}, timeout, checks)
    found: dict[str, dict[str, Any]] = {}
    for record in outcome.records:
        if record["event"] == "gradcheck" and record["id"] in planned:
            found[planned[record["id"]].name] = _report(planned[record["id"]], record,
                                                        notation)
    for name in (p.name for p in planned.values()):
        if name not in found:
            found[name] = {"forward": GRADCHECKS[name].forward, "notation": notation,
                           "passed": False, "parameters": [], "message": "not run: the "
                           "file stopped before its gradient check (it fails to load, or "
                           "timed out)"}
    return found


def _marker(read: Any, tree: ast.Module | None, default: Any) -> Any:
    """A marker of the file (its network, its notation), or ``default`` if unreadable (the
    engine's check has reported that already)."""
    try:
        return read(tree) if tree is not None else default
    except (ValueError, TypeError):
        return default


def _report(planned: _Planned, record: dict, notation: str = "batch") -> dict[str, Any]:
    """Relative errors per parameter, and the verdict, from the child's numbers."""
    name, forward = planned.name, GRADCHECKS[planned.name].forward
    report: dict[str, Any] = {"forward": forward, "notation": notation, "h": H,
                              "threshold": THRESHOLD, "passed": None, "parameters": []}
    if "missing" in record:
        args = ", ".join(GRADCHECKS[name].args)
        report["message"] = (f"no {forward}({args}) ({forward_equation(name, notation)}) in "
                             f"the file: define it to check {name} against it")
        return report
    if "raised" in record:
        try:
            error = error_from(record["raised"])
        except ValueError:
            error = None
        report.update(passed=False, message=f"raised {error}" if error else "raised")
        return report
    try:
        report["parameters"] = [
            _parameter(output, *expected) for output, expected
            in zip(record["outputs"], zip(planned.names, planned.shapes, planned.scales,
                                          planned.conventions, strict=True), strict=True)]
    except (TypeError, ValueError, KeyError, IndexError) as error:
        report.update(passed=False, message=f"its results could not be read ({error})")
        return report
    report["passed"] = all(p["ok"] for p in report["parameters"])
    report["message"] = ("the backward is the derivative of the forward" if report["passed"]
                         else "the backward does not match central differences of the "
                              "forward")
    return report


def _parameter(output: Any, expected: str, shape: list[int], scale: float = 1.0,
               convention: str = "") -> dict[str, Any]:
    """One parameter's relative error, the learner's array divided by ``scale`` (what the
    notation makes it a multiple of the gradient, ``convention``); strict about what came back
    from the child."""
    name, entries, numeric = output["name"], output["entries"], output["numeric"]
    analytic, got_shape = output["analytic"], output["shape"]
    if name != expected or not all(type(i) is int for i in entries) \
            or not all(type(x) in (int, float) for x in numeric + analytic) \
            or len(numeric) != len(entries) or not all(type(n) is int for n in got_shape):
        raise ValueError("not the gradient check's format")
    found = {"name": expected, "entries": len(entries), "relative_error": None, "ok": False}
    if convention:
        found["convention"] = convention
    if got_shape != shape or len(analytic) != math.prod(shape):
        found["message"] = f"{name} has shape {tuple(got_shape)}, expected {tuple(shape)}"
        return found
    if not all(0 <= i < len(analytic) for i in entries):
        raise ValueError("entries out of range")
    a = np.asarray(analytic, dtype=np.float64)[np.asarray(entries, dtype=np.int64)] / scale
    n = np.asarray(numeric, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        errors = np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-8)
    error = float(np.max(errors, initial=0.0))
    if not math.isfinite(error):
        found["message"] = f"{name}: NaN or inf in the gradients"
        return found
    found.update(relative_error=error, ok=error <= THRESHOLD)
    return found
