"""Metrics on the host: accuracy, mean squared error, R², confusion matrix.

They take NumPy arrays (or anything ``np.asarray`` accepts) and return plain floats / arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_integer


def _pair(y_true, y_pred, name: str, *, numeric: bool = False,
          empty: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Two arrays of one value (or one row) per sample, of the same shape once flattened per
    sample; ``numeric``: real numbers only; ``empty``: zero samples allowed."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    for label, array in (("y_true", y_true), ("y_pred", y_pred)):
        if array.ndim == 0:
            raise ValueError(f"{name}: {label} must be an array with one entry per sample, "
                             f"got the scalar {array.item()!r}")
        if numeric and array.dtype.kind not in "fiub":
            raise TypeError(f"{name}: {label} must hold real numbers, got dtype {array.dtype}")
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(f"{name}: y_true and y_pred must have the same length, got "
                         f"{y_true.shape[0]} and {y_pred.shape[0]}")
    if y_true.size != y_pred.size:
        raise ValueError(f"{name}: y_true and y_pred must hold as many values per sample, got "
                         f"shapes {y_true.shape} and {y_pred.shape}")
    if not empty and y_true.shape[0] == 0:
        raise ValueError(f"{name}: y_true and y_pred hold no sample")
    return y_true, y_pred


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of labels predicted right (``y_pred`` holds labels, not scores)."""
    y_true, y_pred = _pair(y_true, y_pred, "accuracy", empty=True)
    return float(np.mean(y_true.reshape(y_pred.shape) == y_pred)) if y_true.size else float("nan")


def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error over every element."""
    y_true, y_pred = _pair(y_true, y_pred, "mse", numeric=True)
    return float(np.mean((y_pred - y_true.reshape(y_pred.shape)) ** 2))


def r2(y_true: Any, y_pred: Any) -> float:
    r"""Coefficient of determination :math:`1 - SS_{res}/SS_{tot}`, averaged over outputs
    (scikit-learn's ``r2_score`` with ``multioutput="uniform_average"``)."""
    y_true, y_pred = _pair(y_true, y_pred, "r2", numeric=True)
    y_pred = y_pred.reshape(y_pred.shape[0], -1).astype(np.float64)
    y_true = y_true.reshape(y_pred.shape).astype(np.float64)
    ss_res = np.sum((y_true - y_pred) ** 2, axis=0)
    ss_tot = np.sum((y_true - y_true.mean(axis=0)) ** 2, axis=0)
    return r2_from_sums(ss_res, ss_tot)


def r2_from_sums(ss_res: Any, ss_tot: Any) -> float:
    """R² from per-output residual and total sums of squares (averaged over outputs)."""
    ss_res, ss_tot = np.asarray(ss_res, np.float64), np.asarray(ss_tot, np.float64)
    safe_tot = np.where(ss_tot > 0, ss_tot, 1.0)
    # a constant target scores 1 when predicted exactly and 0 otherwise (as scikit-learn)
    scores = np.where(ss_tot > 0, 1 - ss_res / safe_tot, np.where(ss_res > 0, 0.0, 1.0))
    return float(np.mean(scores))


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int | None = None) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class ``i`` predicted as class ``j``.

    Labels are integers in ``[0, n_classes)`` (``n_classes``, None or an integer >= 1, defaults
    to the largest + 1; anything else raises :class:`~deltaprop.InvalidParameterError`)."""
    y_true, y_pred = _pair(y_true, y_pred, "confusion_matrix", numeric=True, empty=True)
    y_true, y_pred = y_true.ravel(), y_pred.ravel()
    if n_classes is not None:
        n_classes = check_integer("confusion_matrix", "n_classes", n_classes, low=1,
                                  rule="None or an integer >= 1")
    _check_labels(y_true, y_pred, np.inf if n_classes is None else n_classes)
    if n_classes is None:
        n_classes = int(max(y_true.max(), y_pred.max())) + 1 if y_true.size else 0
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true.astype(np.int64), y_pred.astype(np.int64)), 1)
    return counts


def _check_labels(y_true: np.ndarray, y_pred: np.ndarray, n_classes: float) -> None:
    for label, array in (("y_true", y_true), ("y_pred", y_pred)):
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(array) | (array < 0) | (array >= n_classes) \
                | (array != np.round(array))
        if np.any(bad):
            index = int(np.argmax(bad))
            rule = "integer labels >= 0" if n_classes == np.inf else \
                f"integer labels in [0, {n_classes})"
            raise ValueError(f"confusion_matrix: {label} must hold {rule}, got "
                             f"{array[index].item()!r} at index {index}")


def labels_from_output(output: np.ndarray, link: str | None) -> np.ndarray:
    """Class labels from a model's output: arg-max over several outputs, a threshold on one.

    With one output, the threshold is 0 for logits (``link="sigmoid"``) and 0.5 for
    probabilities (a model ending in ``Sigmoid``).
    """
    output = np.asarray(output)
    if output.ndim == 2 and output.shape[1] > 1:
        return np.argmax(output, axis=1)
    threshold = 0.0 if link == "sigmoid" else 0.5
    return (output.reshape(output.shape[0]) > threshold).astype(np.int64)
