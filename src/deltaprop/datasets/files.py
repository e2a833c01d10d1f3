"""Datasets from files: CSV (header row, numeric feature columns) and NPZ (keys ``X``, ``y``).

Errors name the file and what is wrong with it: an unknown target column lists the valid
ones; a non-numeric, missing (an empty cell, NA, N/A, null, ?) or non-finite value (feature
or target) gives its line (as a text editor numbers it) and column in a CSV file, its index
in an NPZ file.  Only regular files are opened; NPZ files are read with
``allow_pickle=False``.
"""

from __future__ import annotations

import csv
import math
import os
import re
import stat
import warnings

import numpy as np

from ._dataset import TASKS, Dataset

MAX_CLASSES = 20     # integer targets with at most this many distinct values are labels
SHOWN_CHARS = 40     # a cell quoted in a message is cut to this many characters

# a number as a CSV file writes it: ASCII digits, optional sign, point and exponent, or
# inf / nan (refused later as not finite); not Python's extras (``1_000``, ``１２``)
NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*"
                    r"|\s*[+-]?(inf|infinity|nan)\s*", re.IGNORECASE | re.ASCII)

# what spreadsheets and R / pandas write for a missing value (compared in lower case)
MISSING = frozenset({"na", "n/a", "#n/a", "null", "<na>", "?"})
INTEGER = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)

# Reading a damaged or hostile .npz (a zip archive of .npy files) can raise almost anything:
# BadZipFile, zlib.error, EOFError, SyntaxError from a garbled array header, ... All of them
# mean "this file is not a readable archive", so all are caught where the archive is read.
NPZ_ERRORS = (Exception,)


class DataFileWarning(UserWarning):
    """Something in a data file that is read, but perhaps not as its author meant."""


def load_csv(path: str | os.PathLike, target: str | None = None, *, task: str | None = None,
             delimiter: str = ",", features: list[str] | None = None) -> Dataset:
    """Read a CSV file with a header row.

    Parameters
    ----------
    path : str or PathLike
    target : str or None
        Name of the target column; ``None`` takes the last column.
    task : "classification", "regression" or None
        ``None`` decides from the target: text, or integers with at most ``MAX_CLASSES``
        distinct values, mean classification; anything else regression.
    delimiter : str
    features : list of str or None
        The feature columns by name, in this order (a saved model's, so a file whose
        columns come in another order, or hold more, is read as the model needs); the
        other columns are not read.  ``None``: every column but the target.

    The first non-blank row is always the header; a header made only of numbers is still
    read as the column names, with a :class:`DataFileWarning` (the file probably has no
    header, and its first data row is lost).  Every other column is a feature and must hold
    finite numbers; the target must be present (no empty cell) and, when it is a number,
    finite.  Errors give the line as a text editor numbers it (from 1) and the column.
    """
    path = os.fspath(path)
    _check_task(task)
    header_line, header, rows = _header_and_rows(path, delimiter)
    target = header[-1] if target is None else target
    _check_header(path, header, header_line, target, delimiter)
    _check_widths(path, header, rows)
    t_col = header.index(target)
    f_cols = [i for i in range(len(header)) if i != t_col] if features is None else \
        _named_columns(path, header, features)
    if t_col in f_cols:
        raise ValueError(f"{path}: the target column {target!r} is also a feature column")
    features = np.empty((len(rows), len(f_cols)), dtype=np.float64)
    targets: list[str] = []
    for r, (line, row) in enumerate(rows):
        for j, col in enumerate(f_cols):
            features[r, j] = _number(row[col], path, line, header[col])
        targets.append(_target_cell(row[t_col], path, line, target))
    y, classes, task = _encode_target(targets, task, f"{path} column {target!r}")
    return Dataset(features, y, task=task, feature_names=[header[i] for i in f_cols],
                   classes=classes, target_names=_target_names(task, target, classes),
                   name=os.path.basename(path), description=f"CSV file {path}, target {target!r}")


def read_csv_features(path: str | os.PathLike, *, delimiter: str = ",",
                      columns: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """The feature columns of a CSV file with a header row (a file of new rows to predict,
    with or without a target): ``(X, column names)``.  ``columns`` names them, in the order
    wanted (the other columns are not read); ``None`` reads every column.  The rules and
    messages are those of :func:`load_csv` for its feature columns."""
    path = os.fspath(path)
    header_line, header, rows = _header_and_rows(path, delimiter)
    _warn_numeric_header(path, header, header_line, stacklevel=4)
    _check_widths(path, header, rows)
    cols = list(range(len(header))) if columns is None else \
        _named_columns(path, header, columns)
    X = np.empty((len(rows), len(cols)), dtype=np.float64)
    for r, (line, row) in enumerate(rows):
        X[r] = [_number(row[col], path, line, header[col]) for col in cols]
    return X, [header[col] for col in cols]


def _named_columns(path: str, header: list[str], names: list[str]) -> list[int]:
    """The positions of the columns ``names`` in ``header``; a missing or repeated one is
    an error naming it."""
    missing = [name for name in names if name not in header]
    if missing:
        raise ValueError(f"{path} has no column {_shown(missing[0])}"
                         + (f" (nor {len(missing) - 1} more of the features)"
                            if len(missing) > 1 else "")
                         + f", a feature the model was trained on; the file's columns: "
                         f"{_cut(', '.join(header), 200)}")
    repeated = next((name for name in names if header.count(name) > 1), None)
    if repeated is not None:
        raise ValueError(f"{path} has {header.count(repeated)} columns named "
                         f"{_shown(repeated)}: a feature column must be named once")
    return [header.index(name) for name in names]


def _header_and_rows(path: str, delimiter: str
                     ) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """The header's line and names, and the data rows (at least one) with their lines."""
    rows = _read_rows(path, delimiter)
    if len(rows) < 2:
        raise ValueError(f"{path} needs a header row and at least one data row, "
                         f"found {len(rows)} non-empty line(s)")
    return rows[0][0], [name.strip() for name in rows[0][1]], rows[1:]


def _check_widths(path: str, header: list[str], rows: list[tuple[int, list[str]]]) -> None:
    for line, row in rows:
        if len(row) != len(header):
            raise ValueError(f"{path} line {line}: expected {len(header)} values (as in the "
                             f"header), got {len(row)}")


def _check_header(path: str, header: list[str], line: int, target: str,
                  delimiter: str) -> None:
    """The target is one column of the header and leaves features; an all-number header
    is read as names, with a warning."""
    if target not in header:
        raise ValueError(f"{path} has no column {_shown(target)}; columns: "
                         f"{_cut(', '.join(header), 200)}")
    if header.count(target) > 1:
        raise ValueError(f"{path} has {header.count(target)} columns named {target!r}: "
                         "the target column must be named once")
    if len(header) < 2:
        other = next((sep for sep in ";\t|" if sep != delimiter and sep in header[0]), None)
        hint = (f" (the header holds {other!r}: values must be separated by "
                f"{delimiter!r})" if other else "")
        raise ValueError(f"{path} has only the column {_shown(target)}: no features "
                         f"left{hint}")
    _warn_numeric_header(path, header, line, stacklevel=5)


def _warn_numeric_header(path: str, header: list[str], line: int, stacklevel: int) -> None:
    if all(_is_number(name) for name in header):
        warnings.warn(f"{path} line {line}: the first row {_cut(', '.join(header), 80)} is "
                      "all numbers but was read as the header (the column names); if it is "
                      "data, add a row of column names above it", DataFileWarning,
                      stacklevel=stacklevel)


def _shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters (a cell may be huge)."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"


def _cut(text: str, limit: int) -> str:
    """``text`` unquoted, cut to ``limit`` characters."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _read_rows(path: str, delimiter: str, limit: int | None = None
               ) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a CSV file (the first ``limit`` ones), each with the line it
    starts on (from 1)."""
    _check_regular_file(path, "CSV")
    rows: list[tuple[int, list[str]]] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            end = 0                               # the line the previous row ended on
            for row in reader:
                if any(cell.strip() for cell in row):          # skip blank lines
                    rows.append((end + 1, row))
                    if len(rows) == limit:
                        break
                end = reader.line_num
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not a readable CSV text file: it must be UTF-8 text, "
                         f"byte {error.object[error.start]:#04x} "
                         "is not (a binary, compressed or differently encoded file?)") from None
    except csv.Error as error:
        raise ValueError(f"{path} is not a readable CSV text file: {error}") from None
    return rows


def csv_columns(path: str | os.PathLike, *, delimiter: str = ",") -> list[str]:
    """The column names of a CSV file (its first non-blank row), without reading further."""
    rows = _read_rows(os.fspath(path), delimiter, limit=1)
    return [name.strip() for name in rows[0][1]] if rows else []


def _check_regular_file(path: str, kind: str) -> None:
    """Refuse a missing path, a folder, a device or a FIFO before opening it (a FIFO would
    block the reader forever)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{kind} file not found: {path}") from None
    if not stat.S_ISREG(mode):
        what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise ValueError(f"{path} is {what}, not a {kind} file")


def load_npz(path: str | os.PathLike, *, task: str | None = None) -> Dataset:
    """Read an ``.npz`` file holding arrays ``X`` (N, features) and ``y`` (N,) or (N, k).

    An optional string array ``feature_names`` names the columns.  No pickled objects.
    """
    path = os.fspath(path)
    _check_task(task)
    X, y, names = _read_npz(path)
    _check_npz_shapes(path, X, y, names)
    names = [n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n) for n in names]
    _check_finite(X, f"{path} array 'X'", "features")
    _check_targets(y, path)
    if y.dtype.kind == "S":                              # bytes labels read as text
        y = np.char.decode(y, "utf-8", errors="replace")
    if y.ndim == 2 and (task == "regression" or (task is None and y.dtype.kind == "f")):
        return Dataset(X, y, task="regression", feature_names=names,
                       target_names=[f"y{i + 1}" for i in range(y.shape[1])],
                       name=os.path.basename(path), description=f"NPZ file {path}")
    if y.ndim != 1:
        raise ValueError(f"{path}: class labels y must have shape (N,), got {y.shape} with "
                         f"dtype {y.dtype} (a 2-D float y is read as regression targets)")
    values = [str(v) for v in y.tolist()] if y.dtype.kind in "US" else y.tolist()
    y_enc, classes, task = _encode_target(values, task, f"{path} array 'y'")
    return Dataset(X, y_enc, task=task, feature_names=names, classes=classes,
                   target_names=_target_names(task, "y", classes),
                   name=os.path.basename(path), description=f"NPZ file {path}")


def read_npz_features(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """The features of an ``.npz`` file, with or without ``y`` (new rows to predict):
    ``(X, feature names)``, the names ``[]`` when the file has none.  The rules and
    messages are those of :func:`load_npz` for ``X``."""
    path = os.fspath(path)
    X, _, names = _read_npz(path, need_y=False)
    _check_npz_shapes(path, X, None, names)
    _check_finite(X, f"{path} array 'X'", "features")
    return X.astype(np.float64), [n.decode("utf-8", "replace") if isinstance(n, bytes)
                                  else str(n) for n in names]


def _check_npz_shapes(path: str, X: np.ndarray, y: np.ndarray | None, names: list) -> None:
    """X (N, features) numeric with N, features >= 1; y (N,) or (N, k); one name a column."""
    if X.dtype.kind not in "fiub" or X.ndim != 2:
        raise ValueError(f"{path}: X must be a 2-D numeric array, got dtype {X.dtype}, "
                         f"shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{path}: X must hold at least one row and one feature column, "
                         f"got shape {X.shape}")
    if y is not None and (y.ndim not in (1, 2) or y.shape[0] != X.shape[0]):
        raise ValueError(f"{path}: y must have shape (N,) or (N, k) with N = {X.shape[0]} "
                         f"rows as in X, got {y.shape}")
    if names and (np.ndim(names) != 1 or len(names) != X.shape[1]):
        raise ValueError(f"{path}: feature_names must list one name per column of X "
                         f"({X.shape[1]}), got shape {np.shape(names)}")


def _read_npz(path: str, need_y: bool = True) -> tuple[np.ndarray, np.ndarray | None, list]:
    """Arrays ``X``, ``y`` (None when absent and not ``need_y``) and the optional
    ``feature_names`` of an ``.npz`` archive, read without unpickling; a damaged archive or
    an array of Python objects is a ValueError."""
    _check_regular_file(path, "NPZ")
    with open(path, "rb") as handle:                # closed however the reading ends
        try:
            archive = np.load(handle, allow_pickle=False)
        except NPZ_ERRORS as error:
            raise ValueError(f"{path} is not a readable .npz file: {_reason(error)}") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError(f"{path} is a single .npy array, not an .npz archive with X "
                             "and y")
        with archive:
            missing = [key for key in ("X", "y")[:1 + need_y] if key not in archive.files]
            if missing:
                raise ValueError(f"{path} must hold arrays 'X'" + " and 'y'" * need_y
                                 + f"; missing {', '.join(missing)}, found "
                                 f"{', '.join(archive.files) or 'none'}")
            X = _npz_array(archive, "X", path)
            y = _npz_array(archive, "y", path) if "y" in archive.files else None
            names = _npz_array(archive, "feature_names", path).tolist() \
                if "feature_names" in archive.files else []
    return X, y, names


def _npz_array(archive, key: str, path: str) -> np.ndarray:
    try:
        return archive[key]
    except NPZ_ERRORS as error:
        if "allow_pickle" in str(error):
            raise ValueError(f"{path} array {key!r} holds Python objects, which only "
                             "unpickling can read (unsafe for a file from elsewhere, so "
                             "refused); save it as a numeric or text array") from None
        raise ValueError(f"{path} array {key!r} is unreadable: {_reason(error)}") from None


def _reason(error: Exception) -> str:
    """The message of ``error`` on one line (its type when it has none)."""
    return " ".join(str(error).split()) or type(error).__name__


def _number(cell: str, path: str, line: int, column: str) -> float:
    where = f"{path} line {line}, column {column!r}"
    if not cell.strip():
        raise ValueError(f"{where}: missing value (empty cell)")
    if cell.strip().lower() in MISSING:
        raise ValueError(f"{where}: missing value ({cell.strip()!r})")
    if not _is_number(cell):
        raise ValueError(f"{where}: expected a number, got {_shown(cell)}")
    value = float(cell)
    if not math.isfinite(value):
        beyond = "" if re.search(r"inf|nan", cell, re.IGNORECASE) else \
            " (it is beyond the range of a 64-bit float, about ±1.8e308)"
        raise ValueError(f"{where}: value must be finite, got {_shown(cell)}{beyond}")
    return value


def _is_number(text: str) -> bool:
    """Whether ``text`` is a number as CSV files write them (see ``NUMBER``)."""
    return NUMBER.fullmatch(text) is not None


def _target_cell(cell: str, path: str, line: int, column: str) -> str:
    """The target text of one CSV row: present, and finite when it is a number."""
    text = cell.strip()
    where = f"{path} line {line}, column {column!r} (the target)"
    if not text:
        raise ValueError(f"{where}: missing value (empty cell)")
    if text.lower() in MISSING:
        raise ValueError(f"{where}: missing value ({text!r})")
    if _is_number(text) and not math.isfinite(float(text)):
        raise ValueError(f"{where}: value must be finite, got {_shown(cell)}")
    return text


def _check_targets(y: np.ndarray, path: str) -> None:
    """NPZ targets: numbers (finite) or non-empty labels, else an error naming the index."""
    if y.dtype.kind in "US":
        labels = [str(v.decode("utf-8", "replace") if isinstance(v, bytes) else v).strip()
                  for v in y.reshape(-1).tolist()]
        missing = next((i for i, text in enumerate(labels)
                        if not text or text.lower() in MISSING), None)
        if missing is not None:
            index = np.unravel_index(missing, y.shape)
            raise ValueError(f"{path} array 'y': missing target at index {_index(index)} "
                             f"({repr(labels[missing]) if labels[missing] else 'empty string'})")
    elif y.dtype.kind not in "fiub":
        raise ValueError(f"{path}: y must hold numbers or text labels, got dtype {y.dtype}")
    else:
        _check_finite(y, f"{path} array 'y'", "targets")


def _check_finite(array: np.ndarray, where: str, what: str) -> None:
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ValueError(f"{where}: {what} must be finite, got {array[index]} at index "
                         f"{_index(index)}")


def _index(index: tuple) -> str:
    return str(int(index[0])) if len(index) == 1 else str(tuple(int(i) for i in index))


def _encode_target(values: list, task: str | None, where: str) -> tuple[np.ndarray, list, str]:
    """Targets as float (regression) or class indices with their original labels.

    Integer labels are compared exactly: float64 would merge labels beyond 2**53 (IDs such
    as 2**62 and 2**62 + 1) into one class without a word.
    """
    numbers, exact = _as_numbers(values), _exact_integers(values)
    if task is None:
        integral = numbers is not None and bool(np.all(numbers == np.round(numbers)))
        distinct = len(set(exact)) if exact is not None else \
            len(np.unique(numbers)) if integral else MAX_CLASSES + 1
        task = "classification" if numbers is None or distinct <= MAX_CLASSES \
            else "regression"
    if task == "regression":
        if numbers is None:
            bad = next(v for v in values if _as_numbers([v]) is None)
            raise ValueError(f"{where}: regression targets must be numbers, got "
                             f"{_shown(str(bad))}")
        return numbers, [], task
    if exact is not None:
        classes = sorted(set(exact))
        index = {label: i for i, label in enumerate(classes)}
        y = np.array([index[label] for label in exact])
    elif numbers is not None:
        labels, y = np.unique(numbers, return_inverse=True)
        classes = [int(v) if float(v).is_integer() else float(v) for v in labels]
    else:
        labels, y = np.unique(np.asarray(values, dtype=str), return_inverse=True)
        classes = [str(v) for v in labels]
    if len(classes) < 2:
        raise ValueError(f"{where}: classification needs at least 2 classes, found "
                         f"{_cut(str(classes), 80)}")
    return y.astype(np.int64), classes, task


def _exact_integers(values: list) -> list[int] | None:
    """The values as Python ints when every one is an integer or integer text (at most 40
    digits), else None."""
    exact = []
    for value in values:
        if isinstance(value, (int, np.integer)):
            exact.append(int(value))
        elif isinstance(value, str) and len(value) <= 40 and INTEGER.fullmatch(value):
            exact.append(int(value))
        else:
            return None
    return exact


def _as_numbers(values: list) -> np.ndarray | None:
    if any(isinstance(v, str) and not _is_number(v) for v in values):
        return None
    try:
        numbers = np.asarray([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    return numbers if np.all(np.isfinite(numbers)) else None


def _target_names(task: str, target: str, classes: list) -> list[str]:
    return [str(label) for label in classes] if task == "classification" else [target]


def _check_task(task: str | None) -> None:
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {TASKS} or None, got {task!r}")
