"""A data file's target column as ``Dataset`` targets: the task decided from the values
(classification for text or few distinct integers, else regression), class labels encoded
as indices (integers compared exactly) and the target names."""

from __future__ import annotations

import re

import numpy as np

from ._file_checks import _cut, _is_number, _shown

MAX_CLASSES = 20     # integer targets with at most this many distinct values are labels

INTEGER = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)


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
