"""Reading an ``.npz`` archive for ``deltaprop.datasets.files``: arrays ``X``, ``y`` and
``feature_names`` without unpickling, their shapes, finite numbers and present labels, each
error naming the file, the array and the index."""

from __future__ import annotations

import numpy as np

from ._file_checks import MISSING, _check_regular_file

# Reading a damaged or hostile .npz (a zip archive of .npy files) can raise almost anything:
# BadZipFile, zlib.error, EOFError, SyntaxError from a garbled array header, ... All of them
# mean "this file is not a readable archive", so all are caught where the archive is read.
NPZ_ERRORS = (Exception,)


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
