"""The ``deltaprop`` command line: one module per subcommand, thin over the public API.

Each subcommand module defines ``add_parser(subparsers)`` (its flags, help and examples) and
``run(args) -> int``.  A ``CLIError`` raised by a subcommand ends the program with one clear
line on stderr and exit code 2: user mistakes never end in a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand name -> module under deltaprop.cli (imported only when listed in --help or run)
SUBCOMMANDS = {
    "train": "train",
    "evaluate": "evaluate",
    "predict": "predict",
    "datasets": "datasets",
    "gradcheck": "gradcheck",
    "bench": "bench",
    "demo": "demo",
    "practice": "practice",
    "check": "check",
    "explain": "explain",
    "card": "card",
}


class CLIError(Exception):
    """A user mistake (missing file, bad flag value): printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deltaprop",
        description="Multilayer perceptrons with hand-written matrix backpropagation.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'deltaprop COMMAND --help' for the flags and examples of each command.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"deltaprop {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS.values():
        importlib.import_module(f"{__name__}.{module}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except CLIError as error:
        print(f"deltaprop {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"deltaprop {args.command}: interrupted", file=sys.stderr)
        return 130
