r"""An uploaded CSV: two feature columns and a target, read as untrusted input.

The rules, each refused with the line, the column and the cell it is about: at most
:data:`MAX_BYTES` bytes and :data:`MAX_ROWS` rows, UTF-8 text, exactly three comma-separated
columns on every row, finite numbers in every cell and a spread per column that fits a
float64 (an optional first line of column names, none of them a number, is skipped); lines
may end in ``\n``, ``\r\n`` or ``\r``.  The target is read as class labels when every value
is an integer and there are at most :data:`MAX_CLASSES` of them, else as a regression target.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from ..datasets import Dataset
from .config import PlaygroundInputError

MAX_BYTES = 1_000_000
MAX_ROWS = 5000
MIN_ROWS = 10
MAX_CLASSES = 10


def _cell(text: str, line: int, column: int) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        raise PlaygroundInputError(f"the CSV line {line}, column {column}", "a finite number",
                                   text)
    return value


def _rows(text: str) -> tuple[list[str], list[list[float]]]:
    names, rows, header = ["x1", "x2", "y"], [], False
    reader = csv.reader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n")))
    try:
        for cells in reader:
            line = reader.line_num
            if not cells or all(not cell.strip() for cell in cells):
                continue
            if len(cells) != 3:
                raise PlaygroundInputError(f"the CSV line {line}", "3 columns (x1, x2, target)",
                                           ",".join(cells)[:80])
            values = [_cell(cell.strip(), line, col) for col, cell in enumerate(cells, start=1)]
            if all(value is None for value in values) and not rows and not header:
                names = [cell.strip() or f"column {i}" for i, cell in enumerate(cells, 1)]
                header = True                            # a first line of column names
                continue
            if None in values:
                column = values.index(None) + 1
                raise PlaygroundInputError(f"the CSV line {line}, column {column}", "a number",
                                           cells[column - 1][:40])
            rows.append(values)
            if len(rows) > MAX_ROWS:
                raise PlaygroundInputError("the CSV", f"at most {MAX_ROWS} rows",
                                           f"{len(rows)}+")
    except csv.Error as error:
        raise PlaygroundInputError("the CSV", "comma-separated values",
                                   f"line {reader.line_num}: {error}") from None
    return names, rows


def _check_spread(table: np.ndarray, names: list[str]) -> None:
    """Each column's mean and standard deviation fit a float64: the features are
    standardised, and a spread that overflows would turn a column into zeros."""
    with np.errstate(over="ignore", invalid="ignore"):
        spread = table.std(axis=0)                            # (3,)
    for column in np.flatnonzero(~np.isfinite(spread)):
        biggest = float(np.max(np.abs(table[:, column])))
        raise PlaygroundInputError(f"the CSV column {column + 1} ({names[column]})",
                                   "numbers whose spread fits a float64 (|x| below about "
                                   "1e150): rescale them", f"values up to {biggest:.3g}")


def read_upload(data: bytes) -> Dataset:
    """The uploaded bytes as a :class:`~deltaprop.datasets.Dataset` (``name="upload"``)."""
    if len(data) > MAX_BYTES:
        raise PlaygroundInputError("the CSV", f"at most {MAX_BYTES} bytes", f"{len(data)} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PlaygroundInputError("the CSV", "UTF-8 text",
                                   f"byte {error.start}: {data[error.start:error.start + 4]!r}"
                                   ) from None
    names, rows = _rows(text)
    if len(rows) < MIN_ROWS:
        raise PlaygroundInputError("the CSV", f"at least {MIN_ROWS} rows of numbers",
                                   f"{len(rows)} rows")
    table = np.array(rows, dtype=np.float64)                 # (N, 3)
    _check_spread(table, names)
    X, target = table[:, :2], table[:, 2]
    values = np.unique(target)
    if np.all(values == np.round(values)) and 2 <= len(values) <= MAX_CLASSES:
        labels = np.searchsorted(values, target)              # class index 0..K-1
        return Dataset(X, labels, task="classification", feature_names=names[:2],
                       classes=[int(v) for v in values], name="upload",
                       description="uploaded CSV")
    return Dataset(X, target, task="regression", feature_names=names[:2],
                   target_names=names[2:], name="upload", description="uploaded CSV")
