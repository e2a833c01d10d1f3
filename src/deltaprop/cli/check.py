"""``deltaprop check FILE``: grade a practice file against deltaprop's own engine.

Each function the file defines is run on seeded random inputs of several non-square shapes
and compared with the engine.  A wrong output is named, with its error, the most likely
mistake and a hint pointing at the equation.  Exit code 0 if every function passed, 1 if not.
"""

from __future__ import annotations

import argparse
import json

from . import CLIError

EPILOG = """\
mistakes (the fixed vocabulary of the JSON "mistakes" field, most likely first):
  transposed, mean_missing, mean_doubled, sign_flipped, activation_derivative_missing,
  derivative_at_wrong_point, bias_wrong_axis, wrong_shape, raised, other

examples:
  deltaprop practice dense && deltaprop check dense_practice.py
  deltaprop check --format json my_backprop.py    # one JSON object per function, per line
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
    parser.set_defaults(run=run)


def format_text(result) -> str:
    """A few lines for one :class:`~deltaprop.practice.CheckResult`."""
    if result.passed:
        return f"PASS  {result.function}: {result.message}"
    lines = [f"FAIL  {result.function}: {result.message}"]
    if result.mistakes and not result.not_implemented:
        lines.append(f"      likely mistake: {', '.join(result.mistakes)}")
    if result.hint:
        lines.append(f"      hint: {result.hint}")
    return "\n".join(lines)


def run(args) -> int:
    from ..practice import check_file

    try:
        results = check_file(args.file, seed=args.seed)
    except (FileNotFoundError, ValueError) as error:
        raise CLIError(str(error)) from None
    for result in results:
        if args.format == "json":
            print(json.dumps(result.to_dict(), ensure_ascii=False))
        else:
            print(format_text(result))
    if args.format == "text":
        passed = sum(r.passed for r in results)
        print(f"{passed}/{len(results)} functions passed")
    return 0 if all(r.passed for r in results) else 1
