"""The ``deltaprop`` command line: one module per subcommand, thin over the public API.

Each subcommand module defines ``add_parser(subparsers)`` (its flags, help and examples) and
``run(args) -> int``.  A ``CLIError`` raised by a subcommand ends the program with one clear
line on stderr and exit code 2: user mistakes never end in a traceback.  So do bad flags
(argparse's usage text is left out: ``--help`` shows it), a warning is one line too, and a
reader that closes the pipe early (``deltaprop predict ... | head -1``) ends the program
quietly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

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
    "playground": "playground",
    "export": "export",
}

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130           # 128 + SIGINT, as a shell reports a process ended by Ctrl-C
EXIT_BROKEN_PIPE = 141           # 128 + SIGPIPE, as `yes | head -1` ends


class CLIError(Exception):
    """A user mistake (missing file, bad flag value): printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (the usage is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} "
                                   f"(see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="deltaprop",
        description="Multilayer perceptrons with hand-written matrix backpropagation.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'deltaprop COMMAND --help' for the flags and examples of each command.")
    from .._version import __version__

    parser.add_argument("--version", action="version", version=f"deltaprop {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS.values():
        importlib.import_module(f"{__name__}.{module}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    importlib.import_module(f"{__name__}._mpi").quiet_unless_rank_zero()   # under mpiexec
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)   # which flags were written
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(args.command)
            _show_data_warnings()
            code = int(args.run(args) or 0)
            sys.stdout.flush()          # a closed pipe is noticed here, not at exit
        for note in getattr(args, "notes", []):       # deprecated flags: after the output
            print(f"deltaprop {args.command}: note: {note}", file=sys.stderr)
        return code
    except CLIError as error:
        notes = "".join(f" (note: {note})" for note in getattr(args, "notes", []))
        print(f"deltaprop {args.command}: error: {_one_line(error)}{notes}", file=sys.stderr)
        return EXIT_USER_ERROR
    except MemoryError as error:        # sizes from the flags or the data: too large here
        print(f"deltaprop {args.command}: error: not enough memory ({_one_line(error)}): "
              "the sizes asked for are too large for this machine", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"deltaprop {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as error:
        # the subcommands turn their own file errors into CLIError; one without a file name
        # left is standard output's (a full disk, a failing device behind it)
        _flush_or_silence_stdout()
        reason = error.strerror or _one_line(error)
        where = f"{os.fsdecode(error.filename)}: " if error.filename is not None else \
            "cannot write to standard output: "
        print(f"deltaprop {args.command}: error: {where}{reason}", file=sys.stderr)
        return EXIT_USER_ERROR


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _one_line_warning(command: str):
    """``warnings.showwarning`` for the CLI: ``deltaprop CMD: warning: MESSAGE``."""
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"deltaprop {command}: warning: {text}", file=file or sys.stderr)
    return show


def _show_data_warnings() -> None:
    """Warnings about the user's data files are always shown (once each), never errors."""
    from ..datasets.files import DataFileWarning

    warnings.simplefilter("default", DataFileWarning)


def _flush_or_silence_stdout() -> None:
    """Flush standard output; if it cannot take what waits, silence it so that the
    interpreter's final flush does not fail again."""
    try:
        sys.stdout.flush()
    except OSError:
        _silence_stdout()


def _silence_stdout() -> None:
    """After ``BrokenPipeError``: point stdout at devnull so that the interpreter's final flush
    does not fail again (the recipe of the Python docs, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):     # stdout is not a real file (tests)
        pass
