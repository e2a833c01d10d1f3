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
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._protocol import error_from
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

SIGNATURES = {"dense_forward": "Z = A_prev Wᵀ + b", "dropout_forward": "A = X ⊙ M / (1 − p)",
              "network_forward": "the mean loss of the whole network",
              "mlp_forward": "the mean loss of the whole network"}


def _case(name: str, seed: int, network: dict) -> Case:
    """The first case of ``name``, plus the forward's extra inputs (a bias, an input X)."""
    spec = spec_for(network) if name == "mlp_backward" else SPECS[name]
    rng = np.random.default_rng([seed, 11])
    case = spec.make_case(rng, spec.shapes[0])
    if "_biases" in case:                            # a network: its biases and input X
        case["biases"], case["x"] = case["_biases"], case["activations"][0]
    if name == "dense_backward":
        case["bias"] = rng.normal(size=case["weight"].shape[0])
    if name == "dropout_backward":
        case["x"] = rng.normal(size=case["grad_out"].shape)
    return case


def plan(names: list[str], seed: int, network: dict | None = None
         ) -> tuple[list[dict], dict[int, str]]:
    """The child's ``gradchecks`` for the functions ``names`` that have one, by id
    (``network``: the ``mlp`` file's choice)."""
    from ._protocol import encode_input

    checks, ids = [], {}
    for name in names:
        if name not in GRADCHECKS:
            continue
        check, case = GRADCHECKS[name], _case(name, seed, network or dict(DEFAULT))
        arguments = learner_arguments(case)
        wrt = _wrt(check, case)
        ids[len(checks)] = name
        checks.append({
            "id": len(checks), "forward": check.forward, "backward": name,
            "forward_inputs": [encode_input(arguments[a]) for a in check.args],
            "backward_inputs": [encode_input(arguments[a]) for a in SPECS[name].args],
            "upstream": encode_input(arguments[check.upstream]) if check.upstream else None,
            "wrt": wrt, "shapes": [w.pop("shape") for w in wrt]})
    return checks, ids


def _wrt(check: GradcheckSpec, case: Case) -> list[dict]:
    """What to differentiate: each input of a layer or loss, or each W⁽ˡ⁾ and b⁽ˡ⁾."""
    if not check.network:
        return [{"arg": check.args.index(arg), "output": output, "name": label,
                 "shape": list(np.shape(case[arg]))} for arg, output, label in check.wrt]
    found = []
    for which, arg in enumerate(("weights", "biases")):
        for layer, array in enumerate(case[arg]):
            found.append({"arg": check.args.index(arg), "item": layer, "output": [which, layer],
                          "name": f"grad_{arg}[{layer}]", "shape": list(array.shape)})
    return found


def run_gradchecks(path: Path, names: list[str], seed: int, timeout: float
                   ) -> dict[str, dict[str, Any]]:
    """The gradcheck report of each function of ``names`` that has one (JSON-ready)."""
    try:
        network = network_of(ast.parse(source_text(path)))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        network = dict(DEFAULT)
    checks, ids = plan(names, seed, network)
    if not checks:
        return {}
    outcome = run_once(path, [], [], {}, timeout, checks)
    found: dict[str, dict[str, Any]] = {}
    for record in outcome.records:
        if record["event"] == "gradcheck" and record["id"] in ids:
            name = ids[record["id"]]
            found[name] = _report(name, checks[record["id"]]["shapes"], record)
    for name in ids.values():
        if name not in found:
            found[name] = {"forward": GRADCHECKS[name].forward, "passed": False,
                           "parameters": [], "message": "not run: the file stopped before "
                           "its gradient check (it fails to load, or timed out)"}
    return found


def skipped_gradchecks(names: list[str], why: str) -> dict[str, dict[str, Any]]:
    """A skipped report (``passed`` None) for each function of ``names`` with a check."""
    return {name: {"forward": GRADCHECKS[name].forward, "passed": None, "parameters": [],
                   "message": why} for name in names if name in GRADCHECKS}


def _report(name: str, shapes: list[list[int]], record: dict) -> dict[str, Any]:
    """Relative errors per parameter, and the verdict, from the child's numbers."""
    forward = GRADCHECKS[name].forward
    report: dict[str, Any] = {"forward": forward, "h": H, "threshold": THRESHOLD,
                              "passed": None, "parameters": []}
    if "missing" in record:
        what = SIGNATURES.get(forward, "the forward pass")
        args = ", ".join(GRADCHECKS[name].args)
        report["message"] = (f"no {forward}({args}) ({what}) in the file: define it to "
                             f"check {name} against it")
        return report
    if "raised" in record:
        try:
            error = error_from(record["raised"])
        except ValueError:
            error = None
        report.update(passed=False, message=f"raised {error}" if error else "raised")
        return report
    try:
        report["parameters"] = [_parameter(output, shape)
                                for output, shape in zip(record["outputs"], shapes, strict=True)]
    except (TypeError, ValueError, KeyError, IndexError) as error:
        report.update(passed=False, message=f"its results could not be read ({error})")
        return report
    report["passed"] = all(p["ok"] for p in report["parameters"])
    report["message"] = ("the backward is the derivative of the forward" if report["passed"]
                         else "the backward does not match central differences of the "
                              "forward")
    return report


def _parameter(output: Any, shape: list[int]) -> dict[str, Any]:
    """One parameter's relative error; strict about what came back from the child."""
    name, entries, numeric = output["name"], output["entries"], output["numeric"]
    analytic, got_shape = output["analytic"], output["shape"]
    if not isinstance(name, str) or not all(type(i) is int for i in entries) \
            or not all(type(x) in (int, float) for x in numeric + analytic) \
            or len(numeric) != len(entries) or not all(type(n) is int for n in got_shape):
        raise ValueError("not the gradient check's format")
    found = {"name": name[:100], "entries": len(entries), "relative_error": None, "ok": False}
    if got_shape != shape or len(analytic) != math.prod(shape):
        found["message"] = f"{name} has shape {tuple(got_shape)}, expected {tuple(shape)}"
        return found
    a = np.asarray(analytic, dtype=np.float64)[np.asarray(entries, dtype=np.int64)]
    n = np.asarray(numeric, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        errors = np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-8)
    error = float(np.max(errors, initial=0.0))
    if not math.isfinite(error):
        found["message"] = f"{name}: NaN or inf in the gradients"
        return found
    found.update(relative_error=error, ok=error <= THRESHOLD)
    return found
