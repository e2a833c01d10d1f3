r"""The verdict on one practice function, from what its calls returned in the child.

:func:`_judge` compares each output with the engine's reference (:data:`RTOL`, :data:`ATOL`)
and names the most likely mistake (:mod:`.diagnosis`); the other verdicts are those of a
function that raised, did not come back (:func:`_stopped`), is missing, or of a file that
failed to load (:func:`_import_failed`).  Each is a :class:`CheckResult`, re-exported by
:mod:`.checker`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._source_names import _declared
from .diagnosis import (
    OutputReport,
    describe,
    example,
    input_size,
    rank,
    relative_error,
    score_case,
)
from .layouts import LayoutSpec
from .mistakes import HINTS, SPECIFIC
from .references import SPECS, Case, FunctionSpec, OutputStructureError
from .runner import MEMORY_LIMIT, LearnerError, RunReport

RTOL = 1e-6          # an output passes if |got − ref| <= RTOL·|ref| + ATOL element-wise
ATOL = 1e-9


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
    counterexample: dict[str, Any] | None = None  # the smallest failing case (JSON-ready)
    output: str = ""                            # the file's prints (trimmed), after a crash
    hints_used: int = 0                         # stages of hints revealed (check --hint)
    hints: list[str] = field(default_factory=list)  # their texts, stage by stage
    gradcheck: dict[str, Any] | None = None     # check --gradcheck: see .gradcheck

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["max_abs_error"] is not None and not math.isfinite(data["max_abs_error"]):
            data["max_abs_error"] = None        # JSON has no inf / nan
        for output in data["outputs"]:
            if output["max_abs_error"] is not None and not math.isfinite(output["max_abs_error"]):
                output["max_abs_error"] = None
        return data


def _missing(spec: FunctionSpec, declared: bool) -> CheckResult:
    """The verdict on a function the file was expected to define, but did not."""
    what = (f"{spec.name} is in the source, but not a function once the file has run "
            "(deleted or replaced?)" if declared else f"{spec.name} is not defined in the file")
    return CheckResult(spec.name, spec.topic, False, ["other"],
                       f"define the function {spec.name}({', '.join(spec.args)})", what)


# -- the verdict on one function ---------------------------------------------------------------
def _judge(spec: FunctionSpec, cases: list[Case], returned: list, order: list[int]
           ) -> CheckResult:
    """The verdict on one function from what each of its calls returned (case order)."""
    if any(r is None for r in returned):
        lost = sum(r is None for r in returned)
        return _stopped(spec, LearnerError("DamagedResults", f"no result came back for {lost} "
                                           "of its calls", None, ""), "", len(cases))
    raised = [i for i, r in enumerate(returned) if r.error is not None]
    if raised:
        index = min(raised, key=lambda i: input_size(spec, cases[i]))
        result = _raised(spec, returned[index].error, len(cases))
        result.counterexample = example(spec, cases[index])
    else:
        result = _compare(spec, cases, [r.value for r in returned], order)
    changed = [name for name in spec.args if any(name in r.modified for r in returned)]
    if changed:
        _note_in_place(result, changed, len(cases))
    return result


def _compare(spec: FunctionSpec, cases: list[Case], values: list, order: list[int]
             ) -> CheckResult:
    """Compare every output with the engine, case by case; diagnose what is wrong."""
    reports: dict[str, OutputReport] = {}
    failing: dict[str, list[dict[str, tuple[float, str]]]] = {}   # output -> per-case scores
    reference_scores: dict[str, float] = {}
    seen: list[tuple[int, Any, Any]] = []     # (case, learned, reference) per compared case
    wrong: dict[int, list[str]] = {}          # case -> its failing outputs
    for index, (case, value) in enumerate(zip(cases, values)):
        reference = spec.reference(case)
        try:
            learned = spec.read_outputs(value, case)
        except OutputStructureError as error:
            result = CheckResult(spec.name, spec.topic, False, [error.mistake],
                                 f"{HINTS[error.mistake]}; {error}" if error.mistake ==
                                 "wrong_shape" else _UNREADABLE_HINT,
                                 f"wrong return value: {error}", cases=len(cases))
            result.counterexample = example(spec, case)
            return result
        seen.append((index, learned, reference))
        variants = (spec.variants(case, reference) if isinstance(spec, LayoutSpec)
                    else SPECIFIC[spec.name](case, reference))
        for name, ref in reference.items():
            got = learned[name]
            report = reports.setdefault(name, OutputReport(name, True,
                                                           expected_shape=list(ref.shape)))
            if got.shape == ref.shape and np.allclose(got, ref, rtol=RTOL, atol=ATOL):
                continue
            wrong.setdefault(index, []).append(name)
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
                                         relative_error(got, ref))
            failing.setdefault(name, []).append(score_case(spec, case, name, got, ref, variants))
    outputs = [reports[name] for name in reports]
    errors = [r.max_abs_error for r in outputs if r.max_abs_error is not None]
    result = CheckResult(spec.name, spec.topic, not failing, outputs=outputs, cases=len(cases),
                         max_abs_error=max(errors) if errors else 0.0)
    if not failing:
        result.message = f"correct on {len(cases)} cases"
        return result
    result.mistakes, result.hint = rank(failing, reference_scores, reports, spec.topic)
    result.message = "; ".join(describe(r) for r in outputs if not r.passed)
    smallest = min(wrong, key=lambda i: input_size(spec, cases[i]))
    _, learned, reference = seen[smallest]
    result.counterexample = example(spec, cases[smallest], reference, learned, wrong[smallest])
    _note_state(result, spec, cases, seen, wrong, order)
    return result


_UNREADABLE_HINT = ("return real float64 arrays (np.ndarray): no complex numbers (a square "
                    "root or log of a negative number?), no objects or text")


def _note_in_place(result: CheckResult, changed: list[str], cases: int) -> None:
    """A function that modifies its inputs fails, whatever it returns."""
    what = (f"changed its input{'s' if len(changed) > 1 else ''} {', '.join(changed)} in "
            "place (the caller's arrays are modified)")
    hint = ("do not modify the inputs: `x -= ...`, `x *= ...`, `x[...] = ...` and "
            "`list.pop()` write into the caller's data; compute new arrays instead "
            "(`v = momentum * velocity + grad`, `delta = delta * ...`)")
    if result.passed:
        result.passed, result.mistakes, result.hint = False, ["other"], hint
        result.message = f"{what}; its values were right on {cases} cases"
    else:
        result.message = f"{result.message}; it also {what}"
        result.hint = f"{result.hint}; also, {hint}" if result.hint else hint


def _note_state(result, spec, cases, seen, wrong, order) -> None:
    """Name a failure that repeats an earlier call's answer: state kept between calls."""
    learned_of = {index: learned for index, learned, _ in seen}
    reference_of = {index: reference for index, _, reference in seen}
    for index in sorted(wrong, key=lambda i: order[i]):
        for earlier in (i for i in learned_of if order[i] < order[index]):
            same = all(np.array_equal(learned_of[index][k], learned_of[earlier][k])
                       for k in learned_of[index])
            alike = all(np.array_equal(reference_of[index][k], reference_of[earlier][k])
                        for k in reference_of[index])
            if same and not alike:
                result.message += (f"; on {spec.describe(cases[index])} it returned exactly "
                                   f"what an earlier call ({spec.describe(cases[earlier])}) "
                                   "returned: does it keep state between calls (a cache, a "
                                   "global)?")
                if result.mistakes[:1] == ["other"]:
                    result.hint = ("compute the result from this call's inputs only: a "
                                   "cache or a global variable carries an earlier call's "
                                   "answer into this one")
                return


def _raised(spec: FunctionSpec, error: LearnerError, cases: int) -> CheckResult:
    """The verdict on a function that raised: the exception, its line, and what it hints."""
    result = CheckResult(spec.name, spec.topic, False, ["raised"], HINTS["raised"],
                         line=error.line, source=error.source, cases=cases,
                         error=f"{error.kind}: {error.message}")
    where = f" (line {error.line}: {error.source})" if error.line else ""
    if error.kind == "NotImplementedError":
        result.not_implemented = True
        result.hint = "not implemented yet: replace `raise NotImplementedError` with your code"
        result.message = f"not implemented{where}"
        return result
    result.message = f"raised {error.kind}: {error.message}{where}"
    if error.kind == "SystemExit":
        result.message = f"called sys.exit({error.message}) (or exit / quit){where}"
        result.hint = ("a practice function returns its result; it must not end the program "
                       "(sys.exit, exit, quit)")
    elif error.kind == "MemoryError":
        result.hint = (f"it ran out of memory (the limit is {MEMORY_LIMIT / 2**30:g} GiB): "
                       "the arrays of a practice function are tiny; look for a huge "
                       "allocation, e.g. an outer product or a list that keeps growing")
    shape_words = ("matmul", "shape", "broadcast", "mismatch", "align")
    if error.kind == "ValueError" and any(w in error.message for w in shape_words):
        result.mistakes.append("transposed")
        result.hint = ("a product got incompatible shapes, most often a missing or extra "
                       "transpose: write the shapes next to each product, e.g. Δ W is "
                       "(N, out) @ (out, in) -> (N, in)")
    return result


STOP_HINTS = {
    "LearnerTimeoutError": "the function did not return in time: look for a loop that never "
                           "ends; the checker stops it from outside, so catching exceptions "
                           "or signals cannot keep it running",
    "DamagedResults": "a practice function only computes and returns arrays: it must not "
                      "write into other files or descriptors",
}
ENDED_HINT = ("a practice function returns its result: it must not end the process that "
              "runs it (os._exit, sys.exit, signals, closing descriptors, threads)")


def _stopped(spec: FunctionSpec, error: LearnerError, output: str, cases: int) -> CheckResult:
    """A function whose calls did not all come back: its process ended, or its results."""
    where = f" (line {error.line}: {error.source})" if error.line else ""
    return CheckResult(spec.name, spec.topic, False, ["raised"],
                       STOP_HINTS.get(error.kind, ENDED_HINT),
                       f"not run to the end: {error.message}{where}", line=error.line,
                       source=error.source, error=f"{error.kind}: {error.message}",
                       cases=cases, output=output)


def _import_failed(path: Path, report: RunReport, only: str | None) -> list[CheckResult]:
    """One result for ``<import>``, then a failed one for each function the file declares."""
    error = report.import_error
    where = f" at line {error.line}: {error.source}" if error.line else ""
    if error.kind == "SystemExit":
        what = f"your file called sys.exit({error.message}) (or exit / quit) while being loaded"
    elif error.kind in ("LearnerTimeoutError", "os._exit", "Signal", "ProcessExit",
                        "DamagedResults"):
        what = error.message
    else:
        what = f"importing the file raised {error.kind}: {error.message}"
    results = [CheckResult("<import>", "", False, ["raised"],
                           "the file itself fails to run: fix this error first",
                           f"{what}{where}", line=error.line, source=error.source,
                           error=f"{error.kind}: {error.message}", output=report.output)]
    for name in _declared(path, only):
        results.append(CheckResult(name, SPECS[name].topic, False, ["raised"],
                                   "the file itself fails to run: fix that error first",
                                   f"not run: {what}{where}", line=error.line,
                                   source=error.source, error=f"{error.kind}: {error.message}"))
    return results
