"""Input checks of the losses (``deltaprop.nn.losses``): real numbers, ranges, sample weights,
probability rows, one array library.  Each error names the loss, the argument, the rule and
the first offending value; the fast path is a few reductions over ``(N, k)``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._backend import Array, dtype_name, namespace, to_numpy


def is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def same_library(a: Array, b: Array) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):     # the fast, common path
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
    try:
        return namespace(a) is namespace(b)
    except TypeError:                                   # array_api_compat: mixed libraries
        return False


def library(array: Array) -> str:
    """``"numpy"``, ``"torch"``, ``"array_api_strict"``, ...: the array's library."""
    return type(array).__module__.split(".")[0]


def check_sample_weight(sample_weight: Array, dtype: Any, *, owner: str = "loss") -> None:
    r"""Weights of a weighted mean: finite, >= 0, and a sum > 0 that is finite in ``dtype``
    (the mean :math:`\sum_n w_n \ell_n / \sum_n w_n` is undefined when no row counts)."""
    xp = namespace(sample_weight)
    check_numeric(owner, "sample_weight", sample_weight)
    check_range(owner, "sample_weight", sample_weight, low=0.0)
    with np.errstate(over="ignore"):                    # an overflow is reported below
        total = float(xp.sum(xp.astype(sample_weight, dtype)))
    if not total > 0:
        raise ValueError(f"{owner} sample_weight sums to 0: the weighted mean Σ wₙ ℓₙ / Σ wₙ "
                         "is undefined when no row has weight (fit skips such batches)")
    if not math.isfinite(total):
        raise ValueError(f"{owner} sample_weight sums to {total} in {dtype_text(dtype)}: scale "
                         "the weights down (the weighted mean does not change)")


def check_weight_shape(sample_weight, n: int) -> None:
    if sample_weight is not None and tuple(sample_weight.shape) != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), "
                         f"got {tuple(sample_weight.shape)}")


def check_numeric(owner: str, name: str, array: Array) -> None:
    if isinstance(array, np.ndarray):                   # NumPy directly: the common, fast path
        real = array.dtype.kind in "fiub"
    else:
        xp = namespace(array)
        real = (xp.isdtype(array.dtype, "real floating") or xp.isdtype(array.dtype, "integral")
                or xp.isdtype(array.dtype, "bool"))
    if not real:
        raise TypeError(f"{owner} {name} must hold real numbers, got dtype {array.dtype}")


def check_range(owner: str, name: str, array: Array, low: float = -math.inf,
                 high: float = math.inf, *, allow_nan: bool = False) -> None:
    """Raise unless every value is finite and in ``[low, high]``: two reductions on the fast
    path; the first offending value and its index are looked up only to write the error.
    ``allow_nan`` lets NaN through (a diverged model's output: the loss is then NaN)."""
    if isinstance(array, np.ndarray):                   # NumPy directly: the fast path
        if array.size == 0:
            return
        lo, hi = float(array.min()), float(array.max())
    else:
        if math.prod(array.shape) == 0:
            return
        xp = namespace(array)
        if xp.isdtype(array.dtype, "bool"):
            array = xp.astype(array, xp.int8)
        lo, hi = float(xp.min(array)), float(xp.max(array))
    if allow_nan:
        if not (lo < low or hi > high):                  # NaN compares False: passes
            return
    elif math.isfinite(lo) and math.isfinite(hi) and low <= lo and hi <= high:
        return
    host = to_numpy(array)
    finite = np.isfinite(host) if host.dtype.kind == "f" else np.ones(host.shape, bool)
    bad = (~finite & ~(np.isnan(host) if allow_nan else False)) | (host < low) | (host > high)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    index_text = index[0] if len(index) == 1 else index
    rule = "finite" if (low, high) == (-math.inf, math.inf) else \
        f"in [{low:g}, {high:g}]" if high < math.inf else f"finite and >= {low:g}"
    raise ValueError(f"{owner} {name} must be {rule}, got {host[index].item()!r} at index "
                     f"{index_text}")


def row_sum_tolerance(*arrays) -> float:
    """How far a probability row may sum from 1: √ε of the coarsest float dtype involved
    (3.5e-4 in float32, 1.5e-8 in float64)."""
    dtypes = [np.dtype(dtype_name(a)) for a in arrays]
    return max((_SQRT_EPS[d] for d in dtypes if d in _SQRT_EPS), default=_SQRT_EPS[_F64])


_F64 = np.dtype(np.float64)
_SQRT_EPS = {np.dtype(t): math.sqrt(np.finfo(t).eps) for t in (np.float16, np.float32, np.float64)}


def check_row_sums(row_sums: np.ndarray, tolerance: float) -> None:
    """CrossEntropyLoss's fused gradient A − Y holds only when each target row sums to 1."""
    off = np.abs(row_sums - 1) > tolerance
    if np.any(off):
        row = int(np.argmax(off))
        raise ValueError("CrossEntropyLoss target probabilities must sum to 1 in every row "
                         f"(within {tolerance:.1e}), got {float(row_sums[row])!r} in row {row}"
                         " (renormalise: y / y.sum(axis=1, keepdims=True))")


def dtype_text(dtype: Any) -> str:
    """``"float32"`` for NumPy's, PyTorch's (``torch.float32``) or any library's dtype."""
    return str(dtype).rsplit(".", 1)[-1]
