"""``deltaprop train --checkpoint-every K`` and ``--resume DIR``: continue a run exactly.

With ``--checkpoint-every K`` the run writes ``checkpoint.safetensors`` (the whole training
state, see :mod:`deltaprop.io.checkpoint`) into ``--out DIR`` every K epochs, and
``run.json``: the settings of the run (data, network, optimiser, split, seed) and, for a
data file, its SHA-256: a file changed since (rows added, removed, edited) is refused on
resume, as its split and scaling would not be the run's.
``--resume DIR`` reads both: the flags left out are taken from ``run.json``, a flag given
with another value than the run's is an error (the result would not be the run's), except
``--epochs``, which may extend it; the data file may be named by another path to the same
bytes (``../x.csv`` from another folder).  ``--checkpoint-every`` left out keeps the run's, so the
resumed run goes on writing checkpoints (a second crash loses no more).  The split, the
scaling and the initial weights are rebuilt from the same data and seed, and ``fit``
continues after the checkpoint's epoch: the result is bit for bit that of the run left
uninterrupted.  ``--out`` defaults to DIR.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

from ..io._files import strict_json
from . import CLIError
from ._common import input_file, user_errors, write_text
from ._mpi import is_root

RUN_FILE = "run.json"
CHECKPOINT_FILE = "checkpoint.safetensors"
# the flags that make the run: resuming with others would not continue it
SETTINGS = ("data", "target", "task", "layers", "activation", "loss", "optimizer", "lr",
            "momentum", "weight_decay", "epochs", "batch_size", "val_split", "test_split",
            "early_stopping", "seed", "dtype", "no_standardize")
MAX_RUN_FILE = 1 << 20                          # run.json is a few hundred bytes


def check_flags(args) -> None:
    """--checkpoint-every needs --out; --resume DIR is a folder with a checkpoint in it."""
    if args.checkpoint_every is not None and not (args.out or args.resume):
        raise CLIError("--checkpoint-every needs --out DIR to write the checkpoints to")
    if args.resume is None:
        return
    folder = Path(args.resume)
    if not folder.is_dir():
        raise CLIError(f"--resume {args.resume!r} is not a folder; give the --out DIR of the "
                       "run written with --checkpoint-every")
    for name in (CHECKPOINT_FILE, RUN_FILE):
        if not (folder / name).is_file():
            raise CLIError(f"--resume {args.resume!r} has no {name}: the run was not written "
                           "with --checkpoint-every, or not into this folder")
    if args.out is None:
        args.out = args.resume


def apply_run_settings(args, parser) -> None:
    """Take the settings of the run being resumed for every flag left out; a flag written
    with another value (its default included) is an error naming it."""
    stored = _read_run_file(Path(args.resume) / RUN_FILE)
    actions = {action.dest: action for action in parser._actions}
    written = _flags_written(args, parser)
    for name in SETTINGS:
        if name not in stored:
            raise CLIError(f"--resume: {RUN_FILE} has no setting {name!r}")
        given = getattr(args, name)
        run_value = _checked(actions[name], name, stored[name])
        if name == "data":
            if given != run_value and not _same_content(given, stored.get("data_sha256")):
                raise CLIError(f"--resume: the run was trained on {run_value!r:.200}, not "
                               f"{given!r:.200}")
        elif name not in written or given == run_value:
            setattr(args, name, run_value)
        elif name != "epochs" and given != run_value:
            flag = "--" + name.replace("_", "-")
            raise CLIError(f"--resume: {flag} {given!r:.60} differs from the run being "
                           f"resumed ({run_value!r:.60}); leave {flag} out to continue it")
    _check_data_file(args.data, stored.get("data_sha256"))
    if args.checkpoint_every is None and stored.get("checkpoint_every") is not None:
        args.checkpoint_every = _checked(actions["checkpoint_every"], "checkpoint_every",
                                         stored["checkpoint_every"])


def _flags_written(args, parser) -> set[str]:
    """The settings written on the command line, even at their default value (``--seed 0``
    against a run with seed 5 is a contradiction, not a flag left out)."""
    argv = getattr(args, "argv", None)
    if argv is None or "train" not in argv:             # called without main: by value
        return {action.dest for action in parser._actions
                if getattr(args, action.dest, None) not in (None, action.default)}
    marker = object()
    probe = argparse.Namespace(**{action.dest: marker for action in parser._actions})
    parser.parse_known_args(argv[argv.index("train") + 1:], probe)
    return {dest for dest, value in vars(probe).items() if value is not marker}


def _data_digest(data: str) -> str | None:
    """The SHA-256 of the data file (hex), None for a named data set."""
    path = input_file(data)
    if path is None:
        return None
    digest = hashlib.sha256()
    with user_errors(f"cannot read {data!r}"), open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _same_content(data: str, stored) -> bool:
    """``data`` is a file with the run's data in it, by another path (``../x.csv`` from
    another folder)."""
    return isinstance(stored, str) and input_file(data) is not None and \
        (not is_root() or _data_digest(data) == stored)


def _check_data_file(data: str, stored) -> None:
    """The data file is the one the run was trained on, byte for byte (a run.json without
    the digest, or a named data set, is not checked)."""
    if stored is None or not is_root():        # under mpiexec rank 0 reads the file whole;
        return                                  # its error ends every process
    if not isinstance(stored, str):
        raise CLIError(f"--resume: {RUN_FILE} setting 'data_sha256' holds {stored!r:.60}, "
                       "not a SHA-256 in hex")
    current = _data_digest(data)
    if current is not None and current != stored:
        raise CLIError(f"--resume: the data file {data!r:.200} changed since the run was "
                       "written (its SHA-256 differs): the split and the scaling would not be "
                       "the run's; resume with the data as it was, or start a new run")


def _checked(action, name: str, value):
    """A setting of ``run.json`` (untrusted) read as its flag reads it: the flag's type and
    choices, or null where the flag may be left out."""
    if value is None and action.default is None:
        return None
    if isinstance(action.const, bool):                        # a store_true flag
        if isinstance(value, bool):
            return value
    elif name == "layers":
        if isinstance(value, list) and all(isinstance(v, int) for v in value):
            return _convert(action, ",".join(map(str, value)), name)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return _convert(action, str(value), name)
    raise CLIError(f"--resume: {RUN_FILE} setting {name!r} holds {value!r:.60}, which "
                   f"--{name.replace('_', '-')} does not take")


def _convert(action, text: str, name: str):
    try:
        value = action.type(text) if action.type else text
    except (argparse.ArgumentTypeError, ValueError) as error:
        raise CLIError(f"--resume: {RUN_FILE} setting {name!r}: {error}") from None
    if action.choices is not None and value not in action.choices:
        raise CLIError(f"--resume: {RUN_FILE} setting {name!r} must be one of "
                       f"{', '.join(map(str, action.choices))}, found {text!r:.60}")
    return value


def _read_run_file(path: Path) -> dict:
    """``run.json``, an untrusted file: a JSON object of at most MAX_RUN_FILE bytes."""
    with user_errors(f"--resume: cannot read {path}"):
        if os.path.getsize(path) > MAX_RUN_FILE:
            raise ValueError(f"larger than {MAX_RUN_FILE} bytes: not a run.json")
        # duplicate keys ({"seed": 0, "seed": 5}), NaN and deep nesting refused
        stored = strict_json(path.read_text(encoding="utf-8"))
    if not isinstance(stored, dict):
        raise CLIError(f"--resume: {path} must hold a JSON object, found "
                       f"{type(stored).__name__}")
    return stored


def write_run_file(args) -> None:
    """``run.json`` in --out DIR: the settings a resumed run must share, and the checkpoint
    interval it keeps unless told otherwise."""
    settings = {name: getattr(args, name) for name in (*SETTINGS, "checkpoint_every")}
    settings["data_sha256"] = _data_digest(args.data)
    with user_errors(f"cannot write to {args.out}"):
        write_text(Path(args.out) / RUN_FILE, json.dumps(settings, indent=2) + "\n")


def callbacks(args) -> list:
    """The :class:`~deltaprop.io.checkpoint.Checkpoint` callback, when asked for."""
    if args.checkpoint_every is None:
        return []
    from ..io.checkpoint import Checkpoint

    return [Checkpoint(Path(args.out) / CHECKPOINT_FILE, every=args.checkpoint_every)]


def resume_path(args) -> str | None:
    return None if args.resume is None else os.fspath(Path(args.resume) / CHECKPOINT_FILE)
