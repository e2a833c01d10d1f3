"""``deltaprop check FILE``: grade a practice file against deltaprop's own engine.

The file runs in a separate, isolated Python process with a time and a memory limit; each
function it defines is called there on seeded random inputs of several non-square shapes, and
what it returns is compared here with the engine.  A wrong output is named, with its error,
the most likely mistake, a hint pointing at the equation, and the smallest failing case.
Whatever the file does (exit, hang, crash, print), the verdict is a FAIL that says so.
Exit code 0 only if every function was run and passed, 1 if not, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json

from . import CLIError

EPILOG = """\
mistakes (the fixed vocabulary of the JSON "mistakes" field, most likely first):
  transposed, mean_missing, mean_doubled, sign_flipped, activation_derivative_missing,
  derivative_at_wrong_point, bias_wrong_axis, wrong_shape, raised, other

json fields beyond function, passed, mistakes, hint, message: counterexample (the smallest
  failing case: case, inputs, expected, received as nested lists; NaN and inf as strings),
  line / source / error (where the file raised or stopped), output (its prints, after a crash),
  hints_used / hints (the stages revealed by --hint), gradcheck (with --gradcheck: forward,
  notation, passed (null if skipped), parameters: name, relative_error, entries, ok,
  convention where the notation makes the array a multiple of the gradient)

examples:
  deltaprop practice dense && deltaprop check dense_practice.py
  deltaprop check --format json my_backprop.py    # one JSON object per function, per line
  deltaprop check --timeout 30 slow_but_correct.py
  deltaprop practice dense --recall && deltaprop check dense_practice.py --hint --hint
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "check", help="grade a practice file: which output is wrong, and the likely mistake",
        description=__doc__, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="FILE", help="the Python file to check")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people, json for graders (default: text)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random test inputs (default: 0)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="wall-clock limit of one run of the file, after which it is "
                             "stopped and its running function fails (default: 10)")
    parser.add_argument("--hint", action="count", default=0,
                        help="reveal hints in stages, per function: once the quantities "
                             "involved, twice the shapes too, three times the equations; "
                             "the result counts them (hints_used)")
    parser.add_argument("--gradcheck", action="store_true",
                        help="first check each backward function against central "
                             "differences of your own forward function (e.g. dense_forward): "
                             "the relative error per parameter (CS231n's gradient check)")
    parser.set_defaults(run=run)


def format_text(result) -> str:
    """A few lines for one :class:`~deltaprop.practice.CheckResult`.

    Text that comes from the learner's file (messages, source lines, prints) is shown with
    its control characters escaped, one line per line shown: it cannot draw a fake ``PASS``
    line, move the cursor or clear the screen.
    """
    first = _gradcheck_lines(result)
    if result.passed:
        return "\n".join([*first, f"PASS  {result.function}: {printable(result.message)}",
                          *_hint_lines(result)])
    lines = [*first, f"FAIL  {result.function}: {printable(result.message)}",
             *_hint_lines(result)]
    if result.mistakes and not result.not_implemented:
        lines.append(f"      likely mistake: {', '.join(result.mistakes)}")
    if result.hint:
        lines.append(f"      hint: {printable(result.hint)}")
    if result.counterexample and not result.not_implemented:
        lines += _format_example(result.counterexample)
    if result.output:
        printed = result.output.splitlines()[-OUTPUT_LINES:]
        lines.append("      your file printed (the end):")
        lines += [f"        | {printable(line[:160])}" for line in printed]
    return "\n".join(lines)


def _gradcheck_lines(result) -> list[str]:
    """``--gradcheck``: the relative error of each parameter, before the engine's verdict."""
    report = result.gradcheck
    if not report:
        return []
    verdict = {True: "OK  ", False: "BAD ", None: "SKIP"}[report["passed"]]
    lines = [f"{verdict}  gradcheck {result.function} against {report['forward']}: "
             f"{printable(report['message'])}"]
    for parameter in report["parameters"]:
        error = parameter["relative_error"]
        shown = f"{error:.2e}" if error is not None else printable(parameter.get("message", ""))
        mark = "ok" if parameter["ok"] else "MISMATCH"
        lines.append(f"        {printable(parameter['name']):<12} relative error {shown}  "
                     f"({parameter['entries']} entries)  {mark}")
        if parameter.get("convention"):
            lines.append(f"          {printable(parameter['convention'])}")
    return lines


def _hint_lines(result) -> list[str]:
    """The hint stages revealed by ``--hint``, and how many were used."""
    if not result.hints_used:
        return []
    from ..practice.recall import STAGES

    return [f"      hints used: {result.hints_used} of {len(STAGES)}",
            *(f"      hint {text}" for text in result.hints)]


def printable(text: str) -> str:
    """``text`` on one line, its control and bidirectional-override characters escaped."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


OUTPUT_LINES = 6          # lines of the learner's own prints shown after a crash
EXAMPLE_THRESHOLD = 30    # numbers an array may have to be printed in full


def _format_example(example: dict) -> list[str]:
    """The smallest failing case: its inputs, then expected and received per wrong output."""
    lines = [f"      smallest failing case ({example['case']}):"]
    for name, value in example["inputs"].items():
        lines += _format_value(name, value)
    for name in example.get("expected", {}):
        lines += _format_value(f"expected {name}", example["expected"][name])
        lines += _format_value(f"received {name}", example["received"][name])
    return lines


def _format_value(label: str, value) -> list[str]:
    import numpy as np

    if isinstance(value, list) and value and isinstance(value[0], list) \
            and not _is_rectangular(value):
        return [line for i, item in enumerate(value) for line in
                _format_value(f"{label}[{i}]", item)]
    array = np.array(_floats(value))
    if array.size > EXAMPLE_THRESHOLD:
        return [f"        {label} = array of shape {array.shape}"]
    text = np.array2string(array, precision=4, separator=", ", suppress_small=True,
                           max_line_width=88, floatmode="maxprec")
    indent = " " * (11 + len(label))
    return [f"        {label} = " + text.replace("\n", "\n" + indent)]


def _floats(value):
    if isinstance(value, list):
        return [_floats(item) for item in value]
    return float(value) if isinstance(value, str) else value     # "nan", "inf", "-inf"


def _is_rectangular(value) -> bool:
    import numpy as np

    try:
        np.array(_floats(value), dtype=np.float64)
    except ValueError:
        return False
    return True


def run(args) -> int:
    """Check the file and print one result per function; 0 only if every one passed."""
    from ..practice import check_file

    options = {} if args.timeout is None else {"timeout": args.timeout}
    try:
        results = check_file(args.file, seed=args.seed, hints=args.hint,
                             gradcheck=args.gradcheck, **options)
    except (FileNotFoundError, ValueError) as error:
        raise CLIError(str(error)) from None
    except OSError as error:         # e.g. no room for the run's temporary folder
        raise CLIError(f"cannot check {args.file}: {error.strerror or error}") from None
    for result in results:
        if args.format == "json":
            print(json.dumps(result.to_dict(), ensure_ascii=False, allow_nan=False))
        else:
            print(format_text(result))
    if args.format == "text":
        passed = sum(r.passed for r in results)
        print(f"{passed}/{len(results)} functions passed")
    gradchecks_ok = all(r.gradcheck["passed"] is not False for r in results if r.gradcheck)
    return 0 if results and all(r.passed for r in results) and gradchecks_ok else 1
