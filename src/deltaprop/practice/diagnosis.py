r"""Name the most likely mistake behind a wrong output, and show its smallest failing case.

A learner's wrong output is compared with the reference as it would come out of each classic
slip (:mod:`.mistakes`): the slips whose numbers match the learner's (relative error below
:data:`EXPLAINED` in every case) are the diagnosis, most exact first.  If none matches, the
mistake is ``other`` (or ``wrong_shape``), followed by the slips that come closer than the
reference does (below :data:`NEAR`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .mistakes import HINTS, generic_candidates, hint_for
from .references import Case, FunctionSpec

EXPLAINED = 1e-6     # a variant explains an output if its relative error is below this
NEAR = 0.25          # ... and comes close (listed after "other") below this


@dataclass
class OutputReport:
    """One output of a checked function (over all test cases)."""

    name: str
    passed: bool
    max_abs_error: float | None = None          # None where the shapes differ
    shape: list[int] | None = None              # the learner's shape (first failing case)
    expected_shape: list[int] | None = None
    case: str = ""                              # the sizes of the first failing case


def relative_error(got: np.ndarray, target: np.ndarray) -> float:
    if got.shape != target.shape:
        return math.inf
    error = float(np.max(np.abs(got - target), initial=0.0))
    if not math.isfinite(error):
        return math.inf
    return error / max(float(np.max(np.abs(target), initial=0.0)), 1e-12)


# -- the smallest failing case -----------------------------------------------------------------
def input_size(spec: FunctionSpec, case: Case) -> int:
    def size(value):
        if isinstance(value, list):
            return sum(size(v) for v in value)
        return int(np.size(value))
    return sum(size(case[name]) for name in spec.args)


def plain(value: Any) -> Any:
    """Arrays -> nested lists for JSON; NaN and ±inf as the strings "nan", "inf", "-inf"."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    array = np.asarray(value)
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        return np.vectorize(lambda x: x if math.isfinite(x) else str(x),
                            otypes=[object])(array).tolist()
    return array.tolist()


def example(spec: FunctionSpec, case: Case, expected: dict | None = None,
             received: dict | None = None, outputs: list[str] = ()) -> dict[str, Any]:
    """The case for a failure message: sizes, inputs and (for a wrong value) the ``outputs``
    expected and received, as nested lists."""
    found: dict[str, Any] = {"case": spec.describe(case),
                             "inputs": {name: plain(case[name]) for name in spec.args}}
    if expected is not None and received is not None:
        found["expected"] = {name: plain(expected[name]) for name in outputs}
        found["received"] = {name: plain(received[name]) for name in outputs}
    return found


# -- the diagnosis -----------------------------------------------------------------------------
def score_case(spec: FunctionSpec, case: Case, name: str, got: Any, ref: Any,
               variants: Any) -> dict[str, tuple[float, str]]:
    """``label -> (relative error, hint)`` of every candidate slip for one output, one case."""
    candidates = [(label, target, "") for label, target in
                  generic_candidates(spec.topic, ref, case["_sizes"].get("N", 1))]
    candidates += [(label, outputs[name], hint) for label, hint, outputs in variants
                   if name in outputs]
    if got.shape != ref.shape and got.size == ref.size:
        candidates.append(("wrong_shape", ref.reshape(got.shape),
                           f"{name} has shape {got.shape}, expected {ref.shape} "
                           "(the numbers are right, the layout is not)"))
    scores: dict[str, tuple[float, str]] = {}
    for label, target, hint in candidates:
        score = relative_error(got, np.asarray(target))
        if label not in scores or score < scores[label][0]:
            scores[label] = (score, hint or hint_for(spec.topic, label))
    return scores


STABILITY_HINTS = {
    "": "look for an exponential that overflows (use a stable sigmoid or softmax) or a "
        "division by zero",
    "softmax_cross_entropy": "softmax is not numerically stable: exp overflows for large "
                             "logits; subtract each row's max first, exp(Z − max Z), which "
                             "changes nothing in exact arithmetic and keeps every number finite",
}


def rank(failing: dict[str, list[dict[str, tuple[float, str]]]], reference_scores: Any,
         reports: dict[str, Any], topic: str) -> tuple[list[str], str]:
    """The mistakes (exact explanations first, then ``other`` / ``wrong_shape`` and near
    misses) and the hint of the first, from every wrong output's per-case scores."""
    exact, near, unexplained = [], [], []
    for name, per_case in failing.items():
        labels = set().union(*per_case)
        combined = {label: (max(case.get(label, (math.inf, ""))[0] for case in per_case),
                            next(case[label][1] for case in per_case if label in case))
                    for label in labels}
        ranked = sorted(combined.items(), key=lambda item: item[1][0])
        hits = [(label, hint) for label, (score, hint) in ranked if score <= EXPLAINED]
        exact += hits
        if not hits:
            report = reports[name]
            if report.shape != report.expected_shape:
                unexplained.append(("wrong_shape", f"{name} has shape {tuple(report.shape)}, "
                                    f"expected {tuple(report.expected_shape)}: "
                                    f"{HINTS['wrong_shape']}"))
            elif report.max_abs_error == math.inf:
                unexplained.append(("other", f"{name} contains NaN or inf: "
                                    + STABILITY_HINTS.get(topic, STABILITY_HINTS[""])))
            else:
                unexplained.append(("other", HINTS["other"]))
        near += [(score, label, hint) for label, (score, hint) in ranked
                 if EXPLAINED < score < min(NEAR, 0.5 * reference_scores[name])]
    # near misses are shown only when some wrong output has no exact explanation
    ordered = exact + unexplained
    if unexplained and near:
        _, label, hint = min(near)
        ordered[len(exact)] = (ordered[len(exact)][0],
                               f"{ordered[len(exact)][1]}; the closest slip ({label}): {hint}")
        ordered += [(label, hint) for _, label, hint in sorted(near)]
    if exact and any(r.shape != r.expected_shape for r in reports.values() if not r.passed):
        ordered.append(("wrong_shape", HINTS["wrong_shape"]))
    mistakes, hints = [], []
    for label, hint in ordered:
        if label not in mistakes:
            mistakes.append(label)
            hints.append(hint)
    return mistakes, hints[0]


def describe(report: OutputReport) -> str:
    if report.max_abs_error == math.inf:
        return f"{report.name} contains NaN or inf ({report.case})"
    if report.shape != report.expected_shape:
        return (f"{report.name} has shape {tuple(report.shape)}, expected "
                f"{tuple(report.expected_shape)} ({report.case})")
    return f"{report.name} is off by up to {report.max_abs_error:.3g} ({report.case})"
