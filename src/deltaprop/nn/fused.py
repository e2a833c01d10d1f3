r"""Which path the engine takes: the fused numba kernels, or the readable NumPy reference.

The layers, losses and optimisers are written in NumPy (the reference: what a reader should
read).  When numba is installed (``pip install deltaprop[fast]``), the same work runs as fused
kernels (:mod:`deltaprop.nn._kernels`), one pass per operation instead of NumPy's several,
multi-threaded where the arrays are large.  The recorded quantities (``Z``, ``A``, ``Δ``,
gradients, optimiser state) are the same arrays in both paths, equal to float rounding.

As PyTorch's ``fused=`` argument of its optimisers, the mode is one of

- ``None`` (automatic, the default): kernels when numba is importable and the arrays are NumPy
  arrays of float32 or float64 on the CPU; the reference otherwise;
- ``True``: kernels required (an ``ImportError`` saying what to install when numba is missing;
  arrays they cannot take still go to the reference);
- ``False``: the reference, always.

Optimisers take it per instance (``SGD(model, lr, fused=False)``); :func:`set_fused` (or the
environment variable ``DELTAPROP_FUSED=0`` / ``1`` / ``auto``, read at import) sets it for
everything whose own ``fused`` is None, layers and losses included, and :func:`use_fused` does
the same inside a ``with`` block:

>>> import deltaprop as dp
>>> from deltaprop.nn.fused import use_fused
>>> import numpy as np
>>> with use_fused(False):                 # the NumPy reference, whatever is installed
...     model = dp.mlp([2, 3, 2], seed=0)
...     _ = model.forward(np.zeros((1, 2)))

Threads: the parallel kernels (the optimisers' updates of large parameters) use
:func:`kernel_threads` threads, which is ``NUMBA_NUM_THREADS`` when that variable is set, else
the size of NumPy's BLAS pool (threadpoolctl, when installed), at most the number of cores;
they run on the main thread's calls only (other threads get the one-thread kernels).  Unless
``NUMBA_THREADING_LAYER`` says otherwise, numba's ``workqueue`` threading layer is chosen:
OpenMP's worker threads keep spinning after a kernel and then slow every BLAS product that
follows (measured: a 784-256-128-10 step 5x slower on two cores).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

_MODES = {"0": False, "false": False, "off": False, "no": False,
          "1": True, "true": True, "on": True, "yes": True, "": None, "auto": None}


def _mode_from_environment() -> bool | None:
    text = os.environ.get("DELTAPROP_FUSED", "")
    if text.strip().lower() not in _MODES:
        raise ValueError(f"DELTAPROP_FUSED must be one of 0, 1, auto (or unset), got {text!r}")
    return _MODES[text.strip().lower()]


_global_mode: bool | None = _mode_from_environment()
_kernels: ModuleType | None = None
_load_error: str | None = None


def _choose_threading_layer() -> None:
    """numba's ``workqueue`` layer (no spinning threads) unless ``NUMBA_THREADING_LAYER``
    is set; ImportError when numba cannot be imported."""
    import numba

    if not os.environ.get("NUMBA_THREADING_LAYER"):
        numba.config.THREADING_LAYER = "workqueue"


def check_mode(owner: str, fused: Any) -> bool | None:
    """``fused`` as given to ``owner``: None, True or False (NumPy bools too), else a TypeError."""
    if fused is None or isinstance(fused, (bool, np.bool_)):
        if fused is True or fused is np.True_:
            load_kernels(required=True)                 # fail now, not at the first step
        return None if fused is None else bool(fused)
    raise TypeError(f"{owner} fused must be None (automatic), True or False, got {fused!r}")


def set_fused(mode: bool | None) -> None:
    """Set the global mode: ``None`` automatic, ``True`` kernels required, ``False`` reference."""
    global _global_mode
    _global_mode = check_mode("set_fused", mode)


def get_fused() -> bool | None:
    """The global mode (see :func:`set_fused`)."""
    return _global_mode


@contextmanager
def use_fused(mode: bool | None) -> Iterator[None]:
    """``set_fused(mode)`` inside a ``with`` block; the previous mode afterwards."""
    previous = _global_mode
    set_fused(mode)
    try:
        yield
    finally:
        set_fused(previous)


def load_kernels(*, required: bool = False) -> ModuleType | None:
    """The kernel module (compiling nothing yet), or None when numba cannot be imported;
    ``required``: an ImportError saying what to install instead of None."""
    global _kernels, _load_error
    if _kernels is None and _load_error is None:
        try:
            _choose_threading_layer()
            from . import _kernels as module
        except ImportError as error:
            _load_error = str(error)
        else:
            _set_threads()
            _kernels = module
    if _kernels is None and required:
        raise ImportError("fused=True needs numba: pip install 'deltaprop[fast]' (or numba); "
                          f"importing it failed: {_load_error}")
    return _kernels


def kernels_for(mode: bool | None, *arrays: Any) -> ModuleType | None:
    """The kernel module when ``mode`` (an instance's ``fused``; None: the global mode) allows
    it and every array is a NumPy ndarray of one dtype, float32 or float64; else None."""
    if mode is None:
        mode = _global_mode
    if mode is False:
        return None
    dtype = arrays[0].dtype if arrays else None
    for array in arrays:
        if type(array) is not np.ndarray or array.dtype != dtype:
            return None
    if dtype not in (np.float32, np.float64):
        return None
    return load_kernels(required=mode is True)


def flat(array: np.ndarray) -> np.ndarray:
    """A flat C-ordered view of ``array`` (a C-ordered copy first when it is strided)."""
    return np.ascontiguousarray(array).reshape(-1)


def pick(kernels: ModuleType, name: str, size: int) -> Callable[..., Any]:
    """Kernel ``name``, or its multi-threaded ``name_parallel`` for ``size`` elements from
    ``PARALLEL_MIN`` up when more than one kernel thread is allowed."""
    if (size >= kernels.PARALLEL_MIN and _threads > 1
            and threading.current_thread() is threading.main_thread()):
        return _kernel_for_threads(kernels, name, _threads)
    return getattr(kernels, name)


def _kernel_for_threads(module: ModuleType, name: str, threads: int) -> Callable[..., Any]:
    """Kernel ``name`` (one thread) or its ``_parallel`` version on ``threads`` threads."""
    if threads == 1:
        return getattr(module, name)
    return functools.partial(getattr(module, f"{name}_parallel"), threads)


def kernel_threads() -> int:
    """The number of threads the parallel kernels use (1 without numba)."""
    load_kernels()
    return _threads


def set_kernel_threads(count: int) -> None:
    """Let the parallel kernels use ``count`` threads (at most numba's pool size)."""
    import numba

    global _threads
    load_kernels(required=True)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"set_kernel_threads count must be an integer >= 1, got {count!r}")
    numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))
    _threads = numba.get_num_threads()


_threads = 1


def _set_threads() -> None:
    """Follow ``NUMBA_NUM_THREADS`` when set, else the BLAS pool's size (threadpoolctl)."""
    import numba

    global _threads
    _threads = numba.get_num_threads()
    if os.environ.get("NUMBA_NUM_THREADS"):
        return                                          # numba has read it already
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return
    blas = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    if blas:
        numba.set_num_threads(max(1, min(min(blas), numba.config.NUMBA_NUM_THREADS)))
        _threads = numba.get_num_threads()


def compile_kernels() -> float:
    """Compile (or load from the disk cache) every kernel for float32 and float64; returns the
    seconds it took: the first run's compile time on a new machine, a fraction of a second
    afterwards.  ``make test`` calls it once before the suite."""
    import time

    module = load_kernels(required=True)
    start = time.perf_counter()
    for dtype in (np.float32, np.float64):
        one, vec, labels = dtype(1), np.ones(2, dtype), np.zeros(2, np.intp)
        mat = np.ones((2, 2), dtype)
        sgd_rule, adam_rule = (one, one, one, one, False, False), [one] * 9
        for threads in (1, 2):
            sgd, sgd_in_place, adam, adam_in_place = (
                _kernel_for_threads(module, name, threads)
                for name in ("sgd", "sgd_in_place", "adam", "adam_in_place"))
            sgd(vec, vec, vec, vec.copy(), vec.copy(), *sgd_rule)
            sgd_in_place(vec.copy(), vec, vec.copy(), *sgd_rule)
            adam(vec, vec, vec, vec, vec.copy(), vec.copy(), vec.copy(), *adam_rule)
            adam_in_place(vec.copy(), vec, vec.copy(), vec.copy(), *adam_rule)
        for name in ("relu", "sigmoid", "tanh"):
            getattr(module, f"{name}_forward")(vec, vec.copy())
        module.relu_backward(vec, vec, vec.copy())
        module.sigmoid_backward(vec, vec, vec.copy())
        module.tanh_backward(vec, vec, vec.copy())
        module.leaky_relu_forward(vec, one, vec.copy())
        module.leaky_relu_backward(vec, vec, one, vec.copy())
        module.column_sums(mat, vec.copy())
        module.cross_entropy_labels(mat, labels, mat.copy())
        for name in ("cross_entropy_probs", "bce_with_logits", "mse"):
            getattr(module, name)(mat, mat, mat.copy())
    return time.perf_counter() - start
