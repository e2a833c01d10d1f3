"""Datasets from files: CSV (header row, numeric feature columns) and NPZ (keys ``X``, ``y``).

Errors name the file and what is wrong with it: an unknown target column lists the valid
ones; a non-numeric, missing (an empty cell, NA, N/A, null, ?) or non-finite value (feature
or target) gives its line (as a text editor numbers it) and column in a CSV file, its index
in an NPZ file.  Only regular files are opened; NPZ files are read with
``allow_pickle=False``.

The public readers live here; the CSV details in ``_csv_reading``, the NPZ details in
``_npz_reading``, the target encoding in ``_target_encoding`` and what they share in
``_file_checks`` (the constants and ``DataFileWarning`` import from here as before).
"""

from __future__ import annotations

import os

import numpy as np

from ._csv_reading import (
    _check_header,
    _check_widths,
    _header_and_rows,
    _named_columns,
    _number,
    _read_rows,
    _target_cell,
    _warn_numeric_header,
)
from ._dataset import Dataset
from ._file_checks import MISSING as MISSING  # re-exported
from ._file_checks import NUMBER as NUMBER  # re-exported
from ._file_checks import SHOWN_CHARS as SHOWN_CHARS  # re-exported
from ._file_checks import DataFileWarning as DataFileWarning  # re-exported
from ._file_checks import _check_task
from ._npz_reading import NPZ_ERRORS as NPZ_ERRORS  # re-exported
from ._npz_reading import _check_finite, _check_npz_shapes, _check_targets, _read_npz
from ._target_encoding import INTEGER as INTEGER  # re-exported
from ._target_encoding import MAX_CLASSES as MAX_CLASSES  # re-exported
from ._target_encoding import _encode_target, _target_names


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


def csv_columns(path: str | os.PathLike, *, delimiter: str = ",") -> list[str]:
    """The column names of a CSV file (its first non-blank row), without reading further."""
    rows = _read_rows(os.fspath(path), delimiter, limit=1)
    return [name.strip() for name in rows[0][1]] if rows else []


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
