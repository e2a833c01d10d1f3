"""Pieces shared by the practitioner subcommands: flag parsing, data and model loading.

Every user mistake becomes a :class:`~deltaprop.cli.CLIError` here, at the boundary, so a
subcommand prints one line and exits with code 2 instead of a traceback.
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import CLIError


@contextmanager
def user_errors(what: str):
    """Turn the library's ValueError / TypeError / OSError into a one-line ``CLIError``."""
    try:
        yield
    except (CLIError, BrokenPipeError):             # a closed pipe is main's to end quietly
        raise
    except FileNotFoundError as error:
        raise CLIError(f"{what}: no such file: {_filename(error)}") from None
    except OSError as error:
        raise CLIError(f"{what}: {os_error_text(error)}") from None
    except (ValueError, TypeError, KeyError, ImportError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        raise CLIError(f"{what}: {message}") from None


def os_error_text(error: OSError) -> str:
    """``Not a directory: 'a/b'`` rather than ``[Errno 20] Not a directory: 'a/b'``."""
    if not error.strerror:
        return str(error)
    name = _filename(error)
    return error.strerror if not name or name in error.strerror else \
        f"{error.strerror}: {name}"


def _filename(error: OSError) -> str:
    return os.fsdecode(error.filename) if error.filename is not None else ""


def int_list(text: str) -> list[int]:
    """``"64,32"`` -> ``[64, 32]`` (argparse type); every width must be a whole number >= 1.

    Spaces around a width are allowed (``"32 128"`` also works); an empty width
    (``"32,,16"``, ``",32"``, ``"32,"``, ``""``) is an error, not skipped: it is a typo
    whose meaning cannot be guessed.
    """
    parts = [part.strip() for part in text.split(",")] if "," in text else text.split()
    if not text.strip() or any(not part for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated widths like 64,32 with no empty entry, got {text!r}")
    try:
        values = [int(part) for part in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 64,32, got {text!r}") from None
    if any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"widths must be >= 1, got {text!r}")
    return values


def _number_type(convert, rule: str, accept):
    """An argparse ``type=``: ``convert`` the text, then require ``accept(value)``."""
    def parse(text: str):
        try:
            value = convert(text)
        except (ValueError, OverflowError):
            value = None
        finite = value is not None and (isinstance(value, int) or math.isfinite(value))
        if not finite or not accept(value):         # ints are finite, however large
            raise argparse.ArgumentTypeError(f"expected {rule}, got {text!r}")
        return value
    return parse


positive_int = _number_type(int, "an integer >= 1", lambda value: value >= 1)
fraction = _number_type(float, "a number in [0, 1)", lambda value: 0 <= value < 1)
open_fraction = _number_type(float, "a number in (0, 1)", lambda value: 0 < value < 1)
non_negative = _number_type(float, "a finite number >= 0", lambda value: value >= 0)
# every random generator (NumPy's, scikit-learn's random_state) takes these seeds
random_seed = _number_type(int, "an integer seed from 0 to 4294967295",
                           lambda value: 0 <= value < 2**32)


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="a dataset name (see 'deltaprop datasets') or a .csv/.npz "
                                     "file")
    parser.add_argument("--target", help="the target column of a CSV file (default: the last)")


def add_model_data_arguments(parser: argparse.ArgumentParser) -> None:
    """MODEL DATA [--target] [--seed] [--loss]: what ``evaluate`` and ``predict`` share."""
    parser.add_argument("model", help="a model file written by 'deltaprop train --out'")
    add_data_arguments(parser)
    parser.add_argument("--seed", type=random_seed, default=0,
                        help="seed of a generated toy dataset (default: 0, as in train)")
    from ._choices import loss_names

    parser.add_argument("--loss", choices=loss_names(),
                        help="the loss, when the model file does not record it")


def load_data(name: str, target: str | None = None, seed: int | None = None,
              task: str | None = None):
    """A :class:`~deltaprop.datasets.Dataset` from a name or a file path; ``task`` reads a
    CSV/NPZ file as that task (a named dataset has its own)."""
    from .. import datasets

    is_file = name not in datasets.REGISTRY and name.lower().endswith((".csv", ".npz"))
    options: dict[str, Any] = {"task": task} if task is not None and is_file else {}
    if target is not None:
        if not name.lower().endswith(".csv"):
            raise CLIError(f"--target applies to CSV files only, not {name!r}")
        options["target"] = target
    elif name in datasets.REGISTRY and seed is not None and \
            "seed" in inspect.signature(datasets.REGISTRY[name]).parameters:
        options["seed"] = seed                      # toy generators: reproducible data
    if is_file:
        if not os.path.exists(name):
            raise CLIError(f"data file not found: {name}")
        if os.path.isdir(name):
            raise CLIError(f"data file {name!r} is a directory, not a .csv/.npz file")
    with user_errors(f"cannot load {name!r}"):
        return datasets.load(name, **options)


def saved_task(bundle) -> str | None:
    """The task the model file records ("classification" / "regression"), or None."""
    from ..datasets._dataset import TASKS

    task = bundle.metadata.get("task")
    return task if isinstance(task, str) and task in TASKS else None


def load_model(path: str):
    """The :class:`~deltaprop.io.ModelBundle` saved at ``path`` (model, scaling, metadata)."""
    from .. import io

    if not os.path.exists(path):
        raise CLIError(f"model file not found: {path}")
    if os.path.isdir(path):
        raise CLIError(f"model file {path!r} is a directory; give the .safetensors file in it")
    if not os.path.isfile(path):                   # a FIFO or device: reading could block
        raise CLIError(f"model file {path!r} is not a regular file")
    with user_errors(f"cannot load model {path!r}"):
        return io.load_bundle(path)


def prepare_features(bundle, data) -> np.ndarray:
    """``data.X`` with the scaling saved with the model applied; the width and the range
    (finite in the model's dtype) are checked."""
    model, X = bundle.model, data.X
    if X.shape[1] != model.in_features:
        raise CLIError(f"the data has {X.shape[1]} features per row but the model expects "
                       f"{model.in_features}")
    preprocessing = bundle.preprocessing
    if preprocessing is not None and not hasattr(preprocessing, "transform"):
        raise CLIError("the model file's preprocessing is not a Standardizer (it was saved "
                       "as a plain dict), so the command line cannot apply it")
    if preprocessing is not None:
        with np.errstate(over="ignore", invalid="ignore"):          # checked just below
            X = preprocessing.transform(X)
    check_range(X, model.dtype, data.feature_names,
                how="" if preprocessing is None else " after the model's scaling",
                advice="rescale the data, or train the model with --dtype float64")
    return X


def recorded_features(bundle) -> list[str] | None:
    """The feature names the model file records (``deltaprop train`` writes them), or None
    when it records none or not a list of distinct strings."""
    names = bundle.metadata.get("feature_names")
    if not isinstance(names, list) or not names or len(names) != bundle.model.in_features \
            or not all(isinstance(name, str) for name in names) or len(set(names)) < len(names):
        return None
    return names


def load_model_data(args, bundle, *, need_target: bool):
    """The rows of ``args.data`` with the model's feature columns, in the model's order.

    The columns are found by the names the model file records: their order in the data
    may differ, other columns (an id, the target) are not features, and a missing one is
    an error naming it.  A CSV file needs a target column only when ``need_target``
    (``evaluate``): ``--target``, else the column the model was trained to predict, else
    the last column that is not a feature.  Without recorded names, the columns are taken
    by position, as they come.  ``predict`` gets a Dataset whose ``y`` is zeros when the
    file has no target.
    """
    names = recorded_features(bundle)
    if names is not None and is_csv_file(args.data):
        return _csv_by_name(args, bundle, names, need_target)
    if not need_target and args.target is None and is_csv_file(args.data) and \
            _csv_width(args.data) == bundle.model.in_features:
        return _new_rows(args.data, None)                   # no names: every column, in order
    if not need_target and _is_file(args.data, ".npz"):      # y, if there, is not read
        data = _npz_rows(args.data)
        return data if names is None else _reordered(data, names, args.data)
    data = load_data(args.data, args.target, seed=args.seed, task=saved_task(bundle))
    return data if names is None else _reordered(data, names, args.data)


def is_csv_file(name: str) -> bool:
    return _is_file(name, ".csv")


def _is_file(name: str, suffix: str) -> bool:
    from .. import datasets

    return name not in datasets.REGISTRY and name.lower().endswith(suffix) \
        and os.path.isfile(name)


def _npz_rows(path: str):
    from ..datasets import Dataset
    from ..datasets.files import read_npz_features

    with user_errors(f"cannot load {path!r}"):
        X, names = read_npz_features(path)
        return Dataset(X, np.zeros(len(X)), task="regression", feature_names=names)


def _csv_width(path: str) -> int:
    from ..datasets.files import csv_columns

    with user_errors(f"cannot load {path!r}"):
        return len(csv_columns(path))


def _new_rows(path: str, names: list[str] | None):
    from ..datasets import Dataset
    from ..datasets.files import read_csv_features

    with user_errors(f"cannot load {path!r}"):
        X, columns = read_csv_features(path, columns=names)
        return Dataset(X, np.zeros(len(X)), task="regression", feature_names=columns)


def _csv_by_name(args, bundle, names: list[str], need_target: bool):
    """A CSV file's feature columns found by ``names``; its target when ``need_target``."""
    from .. import datasets
    from ..datasets.files import csv_columns

    if not need_target:
        return _new_rows(args.data, names)
    with user_errors(f"cannot load {args.data!r}"):
        header = csv_columns(args.data)
    target = args.target or _target_column(bundle, header, names)
    if target is None and header:                   # no header: load_csv says what is wrong
        raise CLIError(f"{args.data!r} has no target column: its columns are the model's "
                       "features only; add the target column or give --target COLUMN")
    with user_errors(f"cannot load {args.data!r}"):
        return datasets.load_csv(args.data, target or "", task=saved_task(bundle),
                                 features=names)


def _target_column(bundle, header: list[str], names: list[str]) -> str | None:
    """The column the model was trained to predict, else the last one not a feature."""
    recorded = bundle.metadata.get("target_column")
    if isinstance(recorded, str) and recorded in header and recorded not in names:
        return recorded
    return next((column for column in reversed(header) if column not in names), None)


def _reordered(data, names: list[str], source: str):
    """``data`` with its features in the model's order, found by name; data whose features
    carry no names of their own (``x1``, ``x2``...) is taken by position."""
    own = list(data.feature_names)
    if own == names:
        return data
    repeated = next((name for name in names if own.count(name) > 1), None)
    if repeated is not None:
        raise CLIError(f"the data {source!r} names {own.count(repeated)} features "
                       f"{repeated!r:.60}: a feature the model needs must be named once")
    missing = [name for name in names if name not in own]
    if missing and own == [f"x{i + 1}" for i in range(len(own))] \
            and len(own) == len(names):
        return data                                          # unnamed columns: by position
    if missing:
        raise CLIError(f"the data {source!r} has no feature {missing[0]!r:.60}, which the "
                       f"model was trained on (its features: {', '.join(own)[:200]})")
    data.X = data.X[:, [own.index(name) for name in names]]
    data.feature_names = list(names)
    return data


def check_range(X: np.ndarray, dtype, names: list[str], *, how: str = "",
                advice: str = "rescale the data or use --dtype float64") -> None:
    """Every feature must be finite in the model's ``dtype`` (float32 ends near 3.4e38):
    a larger one becomes inf there, and the output NaN, without a word."""
    limit = float(np.finfo(dtype).max)
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(X) <= limit)                         # NaN and inf are bad too
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        column = repr(names[col]) if names else str(col + 1)
        raise CLIError(f"data row {row + 1}, feature {column}: the value {X[row, col]:.6g}"
                       f"{how} is beyond the range of {np.dtype(dtype).name} (±{limit:.3g}); "
                       f"{advice}")


def format_scores(scores: dict[str, float]) -> str:
    return "  ".join(f"{key} {value:.4f}" for key, value in scores.items())


# -- output files: never over an input, always whole ------------------------------------------
def same_file(path: str | os.PathLike, other: str | os.PathLike) -> bool:
    """Whether two paths name one file, also through symbolic or hard links."""
    try:
        return os.path.samefile(path, other)
    except OSError:                                 # one of them does not exist (yet)
        return os.path.realpath(path) == os.path.realpath(other)


def check_output_file(flag: str, path: str | os.PathLike, inputs: dict[str, str | None]
                      ) -> None:
    """Refuse an output ``path`` that is a directory, lies in a missing folder, or is one of
    the ``inputs`` (``{"model file": path, ...}``), even through a link."""
    where = os.fspath(path)
    if not where:
        raise CLIError(f"{flag} needs a file name, got an empty one")
    if os.path.isdir(where):
        raise CLIError(f"{flag} {where!r} is a directory; give a file name")
    folder = os.path.dirname(os.path.abspath(where))
    if not os.path.isdir(folder):
        problem = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise CLIError(f"{flag} {where!r}: {folder} {problem}")
    for what, source in inputs.items():
        if source is not None and os.path.isfile(source) and same_file(where, source):
            raise CLIError(f"{flag} {where!r} is the {what} {source!r}; refusing to "
                           "overwrite it, choose another file name")


def input_file(name: str) -> str | None:
    """``name`` when it is a file the command reads (not a registered dataset name)."""
    from .. import datasets

    return None if name in datasets.REGISTRY or not os.path.isfile(name) else name


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) atomically: a reader or a crash never sees half a file.

    A path that exists but is no regular file (``/dev/stdout``, ``/dev/null``, a FIFO) is
    written to in place: renaming over it would replace the device, not write to it.
    """
    from ..io import atomic_write

    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        return
    atomic_write(path, text.encode("utf-8"))


def saved_loss(bundle, override: str | None) -> str:
    """The loss recorded in the model file (``save(loss=...)``), or ``--loss`` when it
    records none; ``--loss`` may not contradict the file, nor the model's output width."""
    if override and bundle.loss and override != bundle.loss:
        raise CLIError(f"--loss {override} contradicts the model file, which records the "
                       f"loss {bundle.loss}; leave --loss out")
    loss = override or bundle.loss
    if loss is None:
        raise CLIError("the model file does not record its loss: pass --loss")
    if loss == "cross_entropy" and bundle.model.out_features < 2:
        raise CLIError(f"--loss cross_entropy needs a model with 2 or more outputs (one a "
                       f"class), this one has {bundle.model.out_features}")
    return loss
