r"""Grade a learner's practice file against the engine, and name the most likely mistake.

For each function the learner defined, :func:`check_file` draws a few seeded float64 cases of
different non-square shapes, calls the function, and compares every output with deltaprop's
reference.  A wrong output is then compared with the planted-mistake variants of
:mod:`deltaprop.practice.mistakes`; the variants whose numbers match the learner's (relative
error below 1e-6 in every case) are the diagnosis, most exact first.  If none matches, the
mistake is ``other`` (or ``wrong_shape``), followed by the variants that come closer to the
learner's numbers than the reference does.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from .loader import LearnerError, call, load_module
from .mistakes import HINTS, SPECIFIC, generic_candidates, hint_for
from .references import (
    SPECS,
    TOPIC_FUNCTIONS,
    FunctionSpec,
    OutputStructureError,
    learner_arguments,
)

RTOL = 1e-6          # an output passes if |got − ref| <= RTOL·|ref| + ATOL element-wise
ATOL = 1e-9
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


@dataclass
class CheckResult:
    """The verdict on one learner function; ``to_dict()`` is the JSON line of ``check``."""

    function: str
    topic: str
    passed: bool
    mistakes: list[str] = field(default_factory=list)   # MISTAKES vocabulary, most likely first
    hint: str = ""
    message: str = ""
    outputs: list[OutputReport] = field(default_factory=list)
    max_abs_error: float | None = None
    line: int | None = None                     # the learner's line where an exception arose
    source: str = ""                            # that line's text
    error: str | None = None                    # "ExceptionName: message"
    not_implemented: bool = False
    cases: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["max_abs_error"] is not None and not math.isfinite(data["max_abs_error"]):
            data["max_abs_error"] = None        # JSON has no inf / nan
        for output in data["outputs"]:
            if output["max_abs_error"] is not None and not math.isfinite(output["max_abs_error"]):
                output["max_abs_error"] = None
        return data


def _relative_error(got: np.ndarray, target: np.ndarray) -> float:
    if got.shape != target.shape:
        return math.inf
    error = float(np.max(np.abs(got - target), initial=0.0))
    if not math.isfinite(error):
        return math.inf
    return error / max(float(np.max(np.abs(target), initial=0.0)), 1e-12)


def _raised(spec: FunctionSpec, error: LearnerError, cases: int) -> CheckResult:
    result = CheckResult(spec.name, spec.topic, False, ["raised"], HINTS["raised"],
                         line=error.line, source=error.source, cases=cases,
                         error=f"{error.kind}: {error.message}")
    where = f" (line {error.line}: {error.source})" if error.line else ""
    if error.kind == "NotImplementedError":
        result.not_implemented = True
        result.hint = "not implemented yet: replace `raise NotImplementedError` with your code"
        result.message = f"not implemented{where}"
        return result
    shape_words = ("matmul", "shape", "broadcast", "mismatch", "align")
    if error.kind == "ValueError" and any(w in error.message for w in shape_words):
        result.mistakes.append("transposed")
        result.hint = ("a product got incompatible shapes, most often a missing or extra "
                       "transpose: write the shapes next to each product, e.g. Δ W is "
                       "(N, out) @ (out, in) -> (N, in)")
    result.message = f"raised {error.kind}: {error.message}{where}"
    return result


def check_function(spec: FunctionSpec, function: Any, path: str | Path,
                   seed: int = 0) -> CheckResult:
    """Run one learner function on the spec's cases; diagnose what is wrong."""
    rng = np.random.default_rng(seed)
    cases = [spec.make_case(rng, shape) for shape in spec.shapes]
    reports: dict[str, OutputReport] = {}
    failing: dict[str, list[dict[str, tuple[float, str]]]] = {}   # output -> per-case scores
    reference_scores: dict[str, float] = {}
    for case in cases:
        reference = spec.reference(case)
        arguments = learner_arguments(case)
        try:
            value = call(function, path, [arguments[name] for name in spec.args])
        except LearnerError as error:
            return _raised(spec, error, len(cases))
        try:
            learned = spec.read_outputs(value, case)
        except OutputStructureError as error:
            return CheckResult(spec.name, spec.topic, False, ["wrong_shape"],
                               f"{HINTS['wrong_shape']}; {error}",
                               f"wrong return value: {error}", cases=len(cases))
        variants = SPECIFIC[spec.name](case, reference)
        for name, ref in reference.items():
            got = learned[name]
            report = reports.setdefault(name, OutputReport(name, True,
                                                           expected_shape=list(ref.shape)))
            if got.shape == ref.shape and np.allclose(got, ref, rtol=RTOL, atol=ATOL):
                continue
            error = (float(np.max(np.abs(got - ref), initial=0.0))
                     if got.shape == ref.shape else None)
            if error is not None and not math.isfinite(error):
                error = math.inf                         # NaN or inf in the learner's output
            if report.passed:
                report.passed, report.case = False, spec.describe(case)
                report.shape, report.expected_shape = list(got.shape), list(ref.shape)
            if error is not None:
                report.max_abs_error = max(report.max_abs_error or 0.0, error)
            reference_scores[name] = max(reference_scores.get(name, 0.0),
                                         _relative_error(got, ref))
            failing.setdefault(name, []).append(_score_case(spec, case, name, got, ref, variants))
    outputs = [reports[name] for name in reports]
    errors = [r.max_abs_error for r in outputs if r.max_abs_error is not None]
    result = CheckResult(spec.name, spec.topic, not failing, outputs=outputs, cases=len(cases),
                         max_abs_error=max(errors) if errors else 0.0)
    if failing:
        result.mistakes, result.hint = _rank(failing, reference_scores, reports)
        result.message = "; ".join(_describe(r) for r in outputs if not r.passed)
    else:
        result.message = f"correct on {len(cases)} cases"
    return result


def _score_case(spec, case, name, got, ref, variants) -> dict[str, tuple[float, str]]:
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
        score = _relative_error(got, np.asarray(target))
        if label not in scores or score < scores[label][0]:
            scores[label] = (score, hint or hint_for(spec.topic, label))
    return scores


def _rank(failing, reference_scores, reports) -> tuple[list[str], str]:
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
                unexplained.append(("other", f"{name} contains NaN or inf: look for an "
                                    "exponential that overflows (use a stable sigmoid or "
                                    "softmax) or a division by zero"))
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


def _describe(report: OutputReport) -> str:
    if report.max_abs_error == math.inf:
        return f"{report.name} contains NaN or inf ({report.case})"
    if report.shape != report.expected_shape:
        return (f"{report.name} has shape {tuple(report.shape)}, expected "
                f"{tuple(report.expected_shape)} ({report.case})")
    return f"{report.name} is off by up to {report.max_abs_error:.3g} ({report.case})"


def check_module(module: ModuleType, path: str | Path, seed: int = 0) -> list[CheckResult]:
    """Check every practice function that ``module`` defines (all of its topic's, if marked)."""
    topic = getattr(module, "DELTAPROP_TOPIC", None)
    names = TOPIC_FUNCTIONS.get(topic, ()) if isinstance(topic, str) else ()
    if not names:
        names = tuple(name for name in SPECS if callable(getattr(module, name, None)))
    if not names:
        raise ValueError(f"{path} defines none of the practice functions "
                         f"({', '.join(SPECS)}); write one with 'deltaprop practice TOPIC'")
    results = []
    for name in names:
        spec, function = SPECS[name], getattr(module, name, None)
        if not callable(function):
            results.append(CheckResult(name, spec.topic, False, ["other"],
                                       f"define the function {name}({', '.join(spec.args)})",
                                       f"{name} is not defined in the file"))
            continue
        results.append(check_function(spec, function, path, seed))
    return results


def check_file(path: str | Path, seed: int = 0) -> list[CheckResult]:
    """Import the learner's file and check its practice functions against the engine.

    Raises ``FileNotFoundError`` if there is no such file and ``ValueError`` if it defines no
    practice function.  An exception raised while importing the file is reported as one
    result for the function ``"<import>"`` with the mistake ``raised`` and its line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        module = load_module(path)
    except LearnerError as error:
        where = f" at line {error.line}: {error.source}" if error.line else ""
        return [CheckResult("<import>", "", False, ["raised"],
                            "the file itself fails to run: fix this error first",
                            f"importing the file raised {error.kind}: {error.message}{where}",
                            line=error.line, source=error.source,
                            error=f"{error.kind}: {error.message}")]
    return check_module(module, path, seed)
