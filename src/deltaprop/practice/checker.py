r"""Grade a learner's practice file against the engine, and name the most likely mistake.

The learner's code runs in a separate, isolated Python process (:mod:`.runner`); this module
only draws the inputs, reads back the arrays the learner's functions returned (or what they
raised, or how their process ended), and judges them here, against deltaprop's engine.  So
nothing the learner's file does (``sys.exit``, ``os._exit``, an endless loop, a patched
``np.allclose``, a changed tolerance or engine class, prints to ``sys.__stdout__``) can
change the references, the comparison, or the verdict: each of those is a FAIL that says
what happened and, where known, at which line.

For each function the learner defined, :func:`check_file` draws a few seeded float64 cases of
different non-square shapes (one shape twice, with other values; large logits for softmax)
and calls the function on fresh copies of each, in a seeded order that interleaves the
functions and the cases.  Every output is compared with the engine's reference.  A wrong
output is then compared (:mod:`.diagnosis`) with the planted-mistake variants of
:mod:`deltaprop.practice.mistakes`; the variants whose numbers match the learner's (relative
error below 1e-6 in every case) are the diagnosis, most exact first.  If none matches, the
mistake is ``other`` (or ``wrong_shape``), followed by the variants that come closer to the
learner's numbers than the reference does.  A function that changes its inputs in place,
returns complex or non-numeric values, or returns an earlier call's answer fails too.  A
failure carries its smallest failing case (``counterexample``): inputs, expected, received.
"""

from __future__ import annotations

import ast
import math
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from .._checks import check_integer, check_number, refuse
from .diagnosis import (
    OutputReport,
    describe,
    example,
    input_size,
    rank,
    relative_error,
    score_case,
)
from .gradcheck import run_gradchecks
from .layouts import LayoutSpec, layout_spec, notation_of
from .mistakes import HINTS, SPECIFIC
from .mlp import network_of, spec_for
from .recall import is_recall, reveal_hints
from .references import (
    SPECS,
    TOPIC_FUNCTIONS,
    Case,
    FunctionSpec,
    OutputStructureError,
    learner_arguments,
)
from .runner import (
    MEMORY_LIMIT,
    TIME_LIMIT,
    Call,
    LearnerError,
    RunReport,
    run_file,
    source_text,
)

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


# -- the public entry points -------------------------------------------------------------------
def check_file(path: str | Path, seed: int = 0, *, timeout: float = TIME_LIMIT,
               hints: int = 0, gradcheck: bool = False) -> list[CheckResult]:
    """Run the learner's file in an isolated process and check its practice functions.

    ``timeout`` is the wall-clock limit, in seconds, of one run of the file (loading it and
    all its calls); past it, the process is killed and the function that was running fails.
    Raises ``FileNotFoundError`` if there is no such file and ``ValueError`` if it defines no
    practice function (or is a folder, FIFO or device); a ``seed`` that is not an integer >= 0
    or a ``timeout`` that is not a finite number > 0 raises
    :class:`~deltaprop.InvalidParameterError` (a ``ValueError`` too).
    Every practice function the file defines is judged (those of its ``DELTAPROP_TOPIC``
    marker must be there).  Nothing the file does escapes as
    an exception: an error while loading it is one result for ``"<import>"`` with the mistake
    ``raised`` and its line, followed by a failed result for each function the file declares.
    ``hints`` (an integer >= 0) reveals that many stages of each function's hints
    (:mod:`.recall`): the quantities involved, the shapes, the equations.
    ``gradcheck=True`` also checks each backward function against central differences of
    the file's own forward function (:mod:`.gradcheck`), in ``result.gradcheck``, in the
    file's notation.
    """
    level = check_integer("check_file", "hints", hints, low=0)
    if not isinstance(gradcheck, (bool, np.bool_)):
        raise refuse("check_file", "gradcheck", "True or False", gradcheck)
    path, seed = _existing(path), _seed("check_file", seed)
    timeout = _timeout("check_file", timeout)
    results = _check(path, seed, timeout, only=None)
    tree = _parsed(path)
    if gradcheck:
        reports = run_gradchecks(path, [r.function for r in results], seed, timeout)
        for result in results:
            result.gradcheck = reports.get(result.function)
    return reveal_hints(results, level, recall=is_recall(tree), network=network_of(tree),
                        notation=notation_of(tree))


def check_module(module: ModuleType, path: str | Path | None = None, seed: int = 0, *,
                 timeout: float = TIME_LIMIT) -> list[CheckResult]:
    """Check the practice functions of ``module``'s file (``path``, default ``__file__``).

    The already imported ``module`` is not called: its file is run afresh in an isolated
    process, exactly as :func:`check_file` does, so that its verdict is honest.
    """
    path = path if path is not None else getattr(module, "__file__", None)
    if path is None:
        raise ValueError(f"module {module.__name__!r} has no file to check; pass path=")
    return check_file(path, seed, timeout=timeout)


def check_function(spec: FunctionSpec, function: Any, path: str | Path, seed: int = 0, *,
                   timeout: float = TIME_LIMIT) -> CheckResult:
    """Check the function ``spec.name`` of the file at ``path`` alone.

    ``function`` is kept for compatibility and not called: the function of that name in
    ``path`` runs in an isolated process (see :func:`check_file`).
    """
    results = _check(_existing(path), _seed("check_function", seed),
                     _timeout("check_function", timeout), only=spec.name)
    return next((r for r in results if r.function == spec.name), results[0])


def _existing(path: str | Path) -> Path:
    """``path`` if it is a regular file (never opened here: a FIFO would block the child)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {path}") from None
    except OSError as error:
        raise ValueError(f"path must be a readable Python file; {path}: "
                         f"{error.strerror or error}") from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, a device?)"
        raise ValueError(f"path must be a Python file; {path} is {kind}")
    return path


def _seed(owner: str, seed: Any) -> int:
    """An integer >= 0 (``np.int64`` too): the child process draws the cases from it."""
    return check_integer(owner, "seed", seed, low=0)


def _timeout(owner: str, timeout: Any) -> float:
    """Seconds, a finite number > 0 (``np.float32`` too)."""
    return check_number(owner, "timeout", timeout, low=0.0, low_open=True)


def _check(path: Path, seed: int, timeout: float, only: str | None) -> list[CheckResult]:
    """Draw the cases, run the file on them in a child, and judge each function here."""
    names = (only,) if only else tuple(SPECS)
    specs = _file_specs(path, names)
    cases = {name: [specs[name].make_case(rng, shape) for shape in specs[name].shapes]
             for name in names for rng in [np.random.default_rng(seed)]}
    calls, position = _plan(cases, seed)
    report = run_file(path, calls, {} if only else TOPIC_FUNCTIONS, timeout)
    if report.import_error is not None:
        return _import_failed(path, report, only)
    declared, topic = _source_names(path)   # what the run reports is checked against these
    wanted = (only,) if only else _wanted([report.topic, topic],
                                          set(report.functions) | declared)
    if not wanted:
        raise ValueError(f"{path} defines none of the practice functions "
                         f"({', '.join(SPECS)}); write one with 'deltaprop practice TOPIC'")
    results = []
    for name in wanted:
        spec = specs[name]
        if name not in report.functions:
            results.append(_missing(spec, name in declared))
        elif name in report.stopped:
            results.append(_stopped(spec, report.stopped[name], report.output,
                                    len(cases[name])))
        else:
            keys = [(name, index) for index in range(len(cases[name]))]
            results.append(_judge(spec, cases[name],
                                  [report.returned.get(position[key]) for key in keys],
                                  [position[key] for key in keys]))
    return results


def _file_specs(path: Path, names: tuple[str, ...]) -> dict[str, FunctionSpec]:
    """The specs of ``names`` for this file: its network (``mlp``) and its notation's layout
    (``DELTAPROP_NOTATION``, :mod:`.layouts`)."""
    tree = _parsed(path)
    notation, network = notation_of(tree), network_of(tree)
    specs = {}
    for name in names:
        spec = spec_for(network) if name == "mlp_backward" else SPECS[name]
        specs[name] = layout_spec(spec, notation, SPECIFIC[name])
    return specs


def _missing(spec: FunctionSpec, declared: bool) -> CheckResult:
    """The verdict on a function the file was expected to define, but did not."""
    what = (f"{spec.name} is in the source, but not a function once the file has run "
            "(deleted or replaced?)" if declared else f"{spec.name} is not defined in the file")
    return CheckResult(spec.name, spec.topic, False, ["other"],
                       f"define the function {spec.name}({', '.join(spec.args)})", what)


def _plan(cases: dict[str, list[Case]], seed: int
          ) -> tuple[list[Call], dict[tuple[str, int], int]]:
    """Every (function, case) call, in a seeded order that interleaves functions and cases;
    and the position of each ``(function, case index)`` in that order (its call id)."""
    keys = [(name, index) for name, found in cases.items() for index in range(len(found))]
    order = np.random.default_rng([seed, 7]).permutation(len(keys))
    calls, position = [], {}
    for call_id, chosen in enumerate(order):
        name, index = keys[chosen]
        arguments = learner_arguments(cases[name][index])
        calls.append(Call(call_id, name, SPECS[name].args,
                          [arguments[arg] for arg in SPECS[name].args]))
        position[(name, index)] = call_id
    return calls, position


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


def _declared(path: Path, only: str | None) -> list[str]:
    """The practice functions a file declares, read from its source (never run here)."""
    defined, topic = _source_names(path)
    if only:
        return [only] if only in defined else []
    return list(_wanted([topic], defined))


def _parsed(path: Path) -> ast.Module | None:
    """The file's source, parsed (never run); None for a file too large or not Python."""
    try:
        return ast.parse(source_text(path))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _source_names(path: Path) -> tuple[set[str], str | None]:
    """The names of the file's top-level functions and its ``DELTAPROP_TOPIC``, from its
    source (parsed, never run; nothing for a file too large or not Python)."""
    tree = _parsed(path)
    if tree is None:
        return set(), None
    defined = {node.name for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    topic = next((node.value.value for node in tree.body if isinstance(node, ast.Assign)
                  and isinstance(node.value, ast.Constant)
                  and any(isinstance(t, ast.Name) and t.id == "DELTAPROP_TOPIC"
                          for t in node.targets)), None)
    return defined, topic if isinstance(topic, str) else None


def _wanted(topics: list[Any], defined) -> tuple[str, ...]:
    """The functions to judge: the marked topics' (missing ones fail), then every other
    practice function the file defines (an extra function is judged too, never skipped)."""
    marked = tuple(dict.fromkeys(name for topic in topics if isinstance(topic, str)
                                 for name in TOPIC_FUNCTIONS.get(topic, ())))
    return marked + tuple(name for name in SPECS if name in defined and name not in marked)


