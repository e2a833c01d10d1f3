"""Reading a CSV file for ``deltaprop.datasets.files``: its non-blank rows with their line
numbers, the header and its checks, the named columns, and the cells (a number, or a target),
each error naming the file, the line as a text editor numbers it, and the column."""

from __future__ import annotations

import csv
import math
import re
import warnings

from ._file_checks import (
    MISSING,
    DataFileWarning,
    _check_regular_file,
    _cut,
    _is_number,
    _shown,
)


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
