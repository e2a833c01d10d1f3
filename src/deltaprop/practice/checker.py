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

Here: the entry points, the cases and the order of the calls; the verdicts are in
``_verdicts.py``, the reading of the file's source (never run) in ``_source_names.py``.
"""

from __future__ import annotations

import stat
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from .._checks import check_integer, check_number, refuse

# `name as name`: re-exported here, where these names were defined before the split
from ._source_names import _declared as _declared
from ._source_names import _parsed, _source_names, _wanted
from ._verdicts import _UNREADABLE_HINT as _UNREADABLE_HINT
from ._verdicts import ATOL as ATOL
from ._verdicts import ENDED_HINT as ENDED_HINT
from ._verdicts import RTOL as RTOL
from ._verdicts import STOP_HINTS as STOP_HINTS
from ._verdicts import CheckResult, _import_failed, _judge, _missing, _stopped
from ._verdicts import _compare as _compare
from ._verdicts import _note_in_place as _note_in_place
from ._verdicts import _note_state as _note_state
from ._verdicts import _raised as _raised
from .diagnosis import OutputReport as OutputReport
from .gradcheck import run_gradchecks
from .layouts import layout_spec, notation_of
from .mistakes import SPECIFIC
from .mlp import network_of, spec_for
from .recall import is_recall, reveal_hints
from .references import (
    SPECS,
    TOPIC_FUNCTIONS,
    Case,
    FunctionSpec,
    learner_arguments,
)
from .runner import TIME_LIMIT, Call, run_file


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
