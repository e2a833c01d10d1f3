r"""The benchmark on another array library: ``--backend torch-cpu``, ``torch-cuda`` or ``cupy``.

deltaprop then trains with ``fit`` on arrays of that library (its model moved there with
``model.to(X)``), PyTorch eager runs on the same device, and the floor is the same
:math:`3L - 1` products per step done with the library's own ``matmul(..., out=)`` into
preallocated arrays on the device.  The data are converted once, before any timing.

GPU work is asynchronous: every timed region synchronises the device before it reads the
clock, at its start and at its end (``torch.cuda.synchronize()``,
``cupy.cuda.Device().synchronize()``).

The libraries are imported lazily: importing this module touches neither PyTorch nor CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

BACKENDS = ("numpy", "torch-cpu", "torch-cuda", "cupy")
GPU_BACKENDS = ("torch-cuda", "cupy")
GPU_BATCH_SIZES = [512, 1024, 2048, 4096, 8192]       # the GPU table of benchmarks/RESULTS.md


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot run here (library missing, no CUDA device)."""


class NumpyOps:
    """The floor's operations on NumPy (what ``runners.floor_epoch`` always did)."""

    name = "numpy"
    matmul = staticmethod(np.matmul)

    def asarray(self, host: np.ndarray) -> np.ndarray:
        return host

    def empty(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.empty(shape, np.float32)

    def synchronize(self) -> None:
        pass


@dataclass
class Backend:
    """One array library on one device: how to put data there, allocate, multiply, wait."""

    name: str                      # "torch-cpu", "torch-cuda" or "cupy"
    library: Any                   # the torch or cupy module
    device: str                    # "cpu" or "cuda"

    @property
    def is_gpu(self) -> bool:
        return self.name in GPU_BACKENDS

    @property
    def matmul(self):
        return self.library.matmul           # torch.matmul / cupy.matmul, both take out=

    def asarray(self, host: np.ndarray) -> Any:
        """A copy of the host array on this backend's device."""
        if self.name == "cupy":
            return self.library.asarray(host)
        return self.library.from_numpy(np.ascontiguousarray(host)).to(self.device)

    def empty(self, shape: tuple[int, ...]) -> Any:
        if self.name == "cupy":
            return self.library.empty(shape, dtype=self.library.float32)
        return self.library.empty(shape, dtype=self.library.float32, device=self.device)

    def synchronize(self) -> None:
        """Wait for the device's queued work (nothing to wait for on the CPU)."""
        if self.name == "torch-cuda":
            self.library.cuda.synchronize()
        elif self.name == "cupy":
            self.library.cuda.Device().synchronize()

    def device_name(self) -> str:
        if self.name == "torch-cuda":
            return str(self.library.cuda.get_device_name(0))
        if self.name == "cupy":
            device = self.library.cuda.Device()
            name = self.library.cuda.runtime.getDeviceProperties(device.id)["name"]
            return name.decode() if isinstance(name, bytes) else str(name)
        return "cpu"


def get_backend(name: str) -> NumpyOps | Backend:
    """The backend called ``name``, or :class:`BackendUnavailableError` saying what is missing."""
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    if name == "numpy":
        return NumpyOps()
    if name == "cupy":
        try:
            import cupy
        except ImportError:
            raise BackendUnavailableError("--backend cupy needs CuPy, which is not installed "
                                     "(pip install cupy-cuda12x)") from None
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as error:  # noqa: BLE001 - CUDARuntimeError without a driver, ...
            raise BackendUnavailableError(f"--backend cupy needs a CUDA device; "
                                     f"cupy.cuda.runtime.getDeviceCount() failed: "
                                     f"{error}") from None
        if count < 1:
            raise BackendUnavailableError("--backend cupy needs a CUDA device; "
                                     "cupy.cuda.runtime.getDeviceCount() is 0")
        return Backend(name, cupy, "cuda")
    try:
        import torch
    except ImportError:
        raise BackendUnavailableError(f"--backend {name} needs PyTorch, which is not installed "
                                 "(pip install 'deltaprop[torch]')") from None
    if name == "torch-cuda" and not torch.cuda.is_available():
        raise BackendUnavailableError("--backend torch-cuda needs a CUDA device; "
                                 "torch.cuda.is_available() is False")
    return Backend(name, torch, "cuda" if name == "torch-cuda" else "cpu")


def torch_peer_device(backend: Backend) -> tuple[str | None, str | None]:
    """The device the PyTorch peer runs on for ``backend``, or ``(None, why not)``."""
    if backend.name.startswith("torch"):
        return backend.device, None
    try:
        import torch
    except ImportError:
        return None, "torch is not installed"
    if not torch.cuda.is_available():
        return None, "torch.cuda.is_available() is False: no PyTorch peer on the GPU"
    return "cuda", None


@dataclass
class DeviceData:
    """The benchmark's data on the backend (converted once), for deltaprop and the floor, and
    on the PyTorch peer's device (``torch_x``/``torch_y``, ``None`` without that peer)."""

    backend: Backend
    X: Any
    y: Any
    torch_device: str | None = None
    torch_x: Any = None
    torch_y: Any = None

    def head(self, n: int) -> DeviceData:
        """The first ``n`` rows (views), for the warm-up runs."""
        torch_x = None if self.torch_x is None else self.torch_x[:n]
        torch_y = None if self.torch_y is None else self.torch_y[:n]
        return replace(self, X=self.X[:n], y=self.y[:n], torch_x=torch_x, torch_y=torch_y)


def device_data(backend: Backend, X: np.ndarray, y: np.ndarray,
                torch_device: str | None) -> DeviceData:
    """Copy the data to the backend's device, and to the PyTorch peer's device if there is one."""
    data = DeviceData(backend, backend.asarray(X), backend.asarray(y), torch_device)
    if torch_device is not None:
        import torch

        if backend.name.startswith("torch"):
            data.torch_x, data.torch_y = data.X, data.y          # the very same tensors
        else:
            data.torch_x = torch.from_numpy(X).to(torch_device)
            data.torch_y = torch.from_numpy(y).to(torch_device)
    backend.synchronize()
    return data


def array_description(array: Any) -> str:
    """``"torch.Tensor on cuda:0"``: what deltaprop's parameters ended up as."""
    kind = f"{type(array).__module__.split('.')[0]}.{type(array).__name__}"
    device = getattr(array, "device", "cpu")
    return f"{kind} on {device}"
