"""Array-namespace helpers: the one place that knows about NumPy versus other array libraries.

The engine's math is written against the array API standard (``xp.matmul``, ``xp.exp``, ...),
so the same layer code runs on NumPy, ``array_api_strict``, CuPy or PyTorch tensors.  The
namespace ``xp`` is looked up from the arrays themselves with ``array_api_compat``.

Initial weights are drawn on the host with a NumPy ``Generator`` and moved to the array's
namespace and device once (``to_namespace``), so a seed gives the same weights everywhere.
Numbers needed per batch (dropout masks) are drawn on the device by the array library's own
generator (``device_uniform``), seeded from the host ``Generator``: no host-to-device copy
per batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import array_api_compat
import numpy as np

Array = Any  # an array of any namespace that follows the array API standard

_FLOAT_DTYPES = {"float32": np.float32, "float64": np.float64}


def namespace(*arrays: Array) -> Any:
    """Return the array-API namespace shared by ``arrays`` (NumPy's for NumPy arrays)."""
    if arrays and all(type(array) is np.ndarray for array in arrays):  # the common case
        return _NUMPY_NAMESPACE                              # (~10x cheaper than the lookup)
    return array_api_compat.array_namespace(*arrays)


_NUMPY_NAMESPACE = array_api_compat.array_namespace(np.empty(0))


def is_foreign_array(data: Any) -> bool:
    """True for an array of another library (array_api_strict, PyTorch, CuPy, ...): data the
    engine must keep in its own namespace and device rather than convert to NumPy."""
    return array_api_compat.is_array_api_obj(data) and not isinstance(data, np.ndarray)


def is_numpy(xp: Any) -> bool:
    """True when ``xp`` is NumPy's namespace (plain or the ``array_api_compat`` wrapper)."""
    return array_api_compat.is_numpy_namespace(xp)


def resolve_dtype(dtype: Any, *, name: str = "dtype") -> np.dtype:
    """Turn ``np.float32``, ``"float64"``, ... into a NumPy floating dtype, or raise."""
    try:
        resolved = np.dtype(_FLOAT_DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.type not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}")
    return resolved


def dtype_name(array: Array) -> str:
    """``"float32"`` / ``"float64"`` / ... for an array of any namespace."""
    text = str(array.dtype)
    return text.rsplit(".", 1)[-1]


def to_numpy(array: Array) -> np.ndarray:
    """Copy ``array`` to a NumPy array on the host (no copy when it already is one)."""
    if isinstance(array, np.ndarray):
        return array
    if array_api_compat.is_torch_array(array):
        return array.detach().cpu().numpy()
    if array_api_compat.is_cupy_array(array):
        return array.get()
    try:
        return np.from_dlpack(array)  # array_api_strict and other CPU arrays
    except (TypeError, RuntimeError, BufferError, AttributeError):
        return np.asarray(array)


def to_namespace(host: np.ndarray, like: Array | None = None, *, xp: Any = None,
                 device: Any = None) -> Array:
    """Move a host NumPy array into the namespace (and onto the device) of ``like``."""
    if like is not None:
        xp = namespace(like)
        device = array_api_compat.device(like)
    if xp is None or is_numpy(xp):
        return host
    if device is None:
        return xp.asarray(host)
    return xp.asarray(host, device=device)


def device_uniform(rng: np.random.Generator, like: Array) -> Callable[[tuple[int, ...]], Array]:
    """A function ``draw(shape)`` of uniform ``[0, 1)`` arrays on the device of ``like``.

    PyTorch tensors and CuPy arrays get the library's own generator on their device (in
    ``like``'s dtype), seeded with one number drawn from ``rng`` now: nothing is copied from
    the host per draw.  Other libraries (``array_api_strict``, ...) get numbers drawn from
    ``rng`` on the host at each call and copied over.
    """
    if array_api_compat.is_torch_array(like):
        import torch

        device, dtype = like.device, like.dtype
        generator = torch.Generator(device=device)
        generator.manual_seed(int(rng.integers(2**63)))
        return lambda shape: torch.rand(shape, generator=generator, device=device, dtype=dtype)
    if array_api_compat.is_cupy_array(like):
        import cupy

        device, dtype = like.device, like.dtype
        with device:
            generator = cupy.random.default_rng(int(rng.integers(2**63)))

        def draw(shape):
            with device:
                return generator.random(shape, dtype=dtype)
        return draw
    return lambda shape: to_namespace(rng.random(shape), like=like)


def erf(xp: Any, x: Array) -> Array:
    """The error function, which the array API standard does not include (GELU needs it)."""
    if is_numpy(xp):
        try:
            from scipy.special import erf as scipy_erf  # fast path when SciPy is installed
        except ImportError:
            return np.vectorize(math.erf, otypes=[x.dtype])(x)
        return scipy_erf(x).astype(x.dtype, copy=False)
    if array_api_compat.is_torch_namespace(xp):
        import torch

        return torch.special.erf(x)
    if array_api_compat.is_cupy_namespace(xp):
        from cupyx.scipy.special import erf as cupy_erf

        return cupy_erf(x)
    host = to_numpy(x)
    return to_namespace(erf(np, host), like=x)
