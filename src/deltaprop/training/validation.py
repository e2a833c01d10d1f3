"""Checks at the boundary of ``fit`` / ``evaluate`` / ``predict``: shapes, dtypes, finiteness.

Each check raises a ``ValueError`` / ``TypeError`` that names the argument, the rule and what
was received, before any training starts (the hot loop then checks nothing per batch except
the loss's finiteness).  The checks of scalar parameters (``check_number``, ``check_integer``,
``check_flag``, ``positive_int``) live in :mod:`deltaprop._checks` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import (  # noqa: F401 - re-exported: the parameter checks used to live here
    InvalidParameterError,
    check_flag,
    check_integer,
    check_number,
    positive_int,
)
from ..nn._backend import Array, dtype_name, is_foreign_array, namespace, to_namespace, to_numpy
from ..nn.losses import Loss

if TYPE_CHECKING:
    from ..nn.model import Sequential


def check_data(model: Sequential, X: Any, y: Any, loss: Loss, *,
               name: str = "X") -> tuple[Array, Array]:
    """Validate ``(X, y)`` for ``model`` and ``loss`` and return them ready for training.

    ``y`` of shape ``(N,)`` becomes ``(N, 1)`` for a one-output model with a non-label loss.
    """
    X = as_array(X, name)
    check_features(model, X, name)
    y_name = "y" if name == "X" else f"{name} y"
    y = as_array(y, y_name, numeric_only=False)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{name} and {y_name} must have the same number of rows, got "
                         f"{X.shape[0]} and {y.shape[0]}")
    host_y = to_numpy(y)
    integer_labels = loss.link == "softmax" and host_y.ndim == 1 and host_y.dtype.kind in "iu"
    if host_y.ndim == 1 and loss.link != "softmax":     # softmax losses take (N,) labels only
        host_y = host_y.reshape(-1, 1)                   # (N,) -> (N, 1) for one output
    if host_y.dtype.kind == "f" and host_y.ndim == 2:    # targets in the model's float dtype,
        check_dtype_range(host_y, model.dtype, y_name)   # checked as training will see them
        host_y = host_y.astype(model.dtype, copy=False)
    loss.validate_target(host_y, model.out_features)
    if not integer_labels:
        host_y = host_y.astype(model.dtype, copy=False)
    y = host_y if isinstance(X, np.ndarray) else to_namespace(host_y, like=X)
    return X, y


def as_array(data: Any, name: str, *, numeric_only: bool = True) -> Array:
    if data is None:
        raise TypeError(f"{name} must be an array, got None")
    if is_foreign_array(data):                           # torch, CuPy, ...: keep it there
        array = data
        host = None
    else:
        try:
            array = data if isinstance(data, np.ndarray) else np.asarray(data)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be array-like, got {type(data).__name__}: "
                            f"{error}") from None
        host = array
        if array.dtype.kind not in "fiub":
            raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.ndim not in (1, 2) or (numeric_only and array.ndim != 2):
        rule = "2-D (N, features)" if numeric_only else "1-D or 2-D"
        raise ValueError(f"{name} must be {rule}, got shape {tuple(array.shape)}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 rows)")
    check_finite(host if host is not None else array, name)
    return array


# fit(comm=...): each process scans only its share of the rows (the processes then agree)
_scan_share: ContextVar[tuple[int, int] | None] = ContextVar("scan_share", default=None)


@contextmanager
def scanning_share(size: int, rank: int) -> Iterator[None]:
    """Inside, the whole-array scans (NaN / Inf, the dtype's range) read only rows
    ``[n·rank/size, n·(rank+1)/size)`` of NumPy arrays: process ``rank`` of ``size`` checks its
    share, and together they check every row."""
    token = _scan_share.set((size, rank))
    try:
        yield
    finally:
        _scan_share.reset(token)


def _scanned_rows(n: int) -> tuple[int, int]:
    share = _scan_share.get()
    if share is None:
        return 0, n
    size, rank = share
    return n * rank // size, n * (rank + 1) // size


def check_finite(array: Any, name: str, chunk_elements: int = 1 << 20) -> None:
    """Raise if ``array`` holds NaN or Inf, reading it (or a memmap) chunk by chunk.

    A chunk holds about ``chunk_elements`` numbers, so the boolean mask of the check stays
    about 1 MB whatever the size of the data.
    """
    if isinstance(array, np.ndarray):
        if array.dtype.kind != "f":
            return
        chunk = max(1, chunk_elements // max(1, int(np.prod(array.shape[1:]))))  # rows
        first, end = _scanned_rows(array.shape[0])
        for start in range(first, end, chunk):
            block = array[start:min(start + chunk, end)]
            if not np.isfinite(block).all():
                bad = np.argwhere(~np.isfinite(block))[0]
                where = tuple(int(i) for i in bad)
                where = (where[0] + start, *where[1:])
                raise ValueError(f"{name} must be finite, found {block[tuple(bad)]} at index "
                                 f"{where}")
        return
    xp = namespace(array)
    if xp.isdtype(array.dtype, "real floating") and not bool(xp.all(xp.isfinite(array))):
        raise ValueError(f"{name} must be finite, found NaN or Inf")


def check_features(model: Sequential, X: Any, name: str) -> None:
    """``X`` has the model's number of features, and values its dtype can hold (the model
    casts each batch to it: 1e300 would become inf in float32)."""
    if X.shape[1] != model.in_features:
        first = model.dense_layers[0]
        raise ValueError(f"{name} has {X.shape[1]} features per row but the model's first layer "
                         f"{first!r} expects {model.in_features}: got shape {tuple(X.shape)}, "
                         f"expected (N, {model.in_features})")
    check_dtype_range(X, model.dtype, name)


def check_dtype_range(array: Any, dtype: Any, name: str, chunk_elements: int = 1 << 20) -> None:
    """Raise if a floating ``array`` holds a value beyond the range of the narrower floating
    ``dtype`` it will be cast to, reading it (or a memmap) chunk by chunk."""
    dtype = np.dtype(dtype)
    source = np.dtype(dtype_name(array)) if not isinstance(array, np.ndarray) else array.dtype
    if source.kind != "f" or dtype.kind != "f" or source.itemsize <= dtype.itemsize:
        return
    limit = float(np.finfo(dtype).max)
    if not isinstance(array, np.ndarray):
        xp = namespace(array)
        if float(xp.max(xp.abs(array))) > limit:
            raise ValueError(f"{name} holds values beyond the range of the model's {dtype} "
                             f"(|x| > {limit:.3g}): scale the data or train in float64")
        return
    rows = max(1, chunk_elements // max(1, int(np.prod(array.shape[1:]))))
    first, end = _scanned_rows(array.shape[0])
    for start in range(first, end, rows):
        block = np.abs(array[start:min(start + rows, end)])
        if float(block.max()) > limit:
            where = tuple(int(i) for i in np.argwhere(block > limit)[0])
            raise ValueError(f"{name} holds {float(array[start + where[0]][where[1:]])!r} at "
                             f"index {(where[0] + start, *where[1:])}, beyond the range of the "
                             f"model's {dtype} (|x| <= {limit:.3g}): scale the data or train in "
                             "float64")


def check_weights(sample_weight: Any, n: int, dtype: Any = np.float64) -> np.ndarray:
    """``n`` finite weights >= 0, not all zero, as ``dtype`` (the model's: the loss computes
    its weighted mean in it, so a weight too large or too small for it is caught here)."""
    try:
        weights = np.asarray(sample_weight)
        if weights.dtype.kind not in "fiub":            # complex, object, str: no silent cast
            raise TypeError(f"dtype {weights.dtype}")
        weights = weights.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"sample_weight must be {n} numbers, got "
                        f"{type(sample_weight).__name__}: {error}") from None
    if weights.shape != (n,):
        raise ValueError(f"sample_weight must be {n} finite numbers >= 0 (one per row), "
                         f"got shape {weights.shape}")
    bad = ~np.isfinite(weights) | (weights < 0)
    if np.any(bad):
        index = int(np.argmax(bad))
        raise ValueError(f"sample_weight must be {n} finite numbers >= 0 (one per row), "
                         f"got {float(weights[index])!r} at index {index}")
    with np.errstate(over="ignore"):                    # an overflow is reported below
        cast = weights.astype(dtype)
        total, raw_total = np.sum(cast, dtype=np.float64), float(weights.sum())
    if not total > 0:
        raise ValueError("sample_weight must not be all zero"
                         + ("" if raw_total == 0 else f" (in the model's {np.dtype(dtype)})"))
    if not (np.all(np.isfinite(cast)) and total < np.finfo(dtype).max):
        raise ValueError(f"sample_weight sums to {raw_total:g}, beyond the range of the "
                         f"model's {np.dtype(dtype)}: scale the weights down (the weighted mean "
                         "does not change)")
    return cast
