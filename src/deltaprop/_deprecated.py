"""Old flat module paths (``deltaprop.layers``, ``deltaprop.checkpoint``, ...) kept for one release.

No file stands at an old path: :class:`OldPathFinder` (on ``sys.meta_path`` once ``deltaprop``
is imported) makes ``deltaprop.layers`` a small module whose names are read from its new home,
``deltaprop.nn.layers``, with a ``DeprecationWarning`` naming that home.  Importing
``deltaprop`` itself never warns.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import inspect
import sys
import types
import warnings
from typing import Any

# old module (under deltaprop) -> its new home
MOVED = {
    "activations": "deltaprop.nn.activations", "init": "deltaprop.nn.init",
    "layers": "deltaprop.nn.layers", "losses": "deltaprop.nn.losses",
    "model": "deltaprop.nn.model", "optim": "deltaprop.nn.optim",
    "schedules": "deltaprop.nn.schedules", "callbacks": "deltaprop.training.callbacks",
    "gradcheck": "deltaprop.training.gradient_check", "metrics": "deltaprop.training.metrics",
    "preprocessing": "deltaprop.training.preprocessing",
    "progress": "deltaprop.training.progress", "validation": "deltaprop.training.validation",
    "checkpoint": "deltaprop.io.checkpoint", "onnx": "deltaprop.io.onnx",
}


class _OldModule(types.ModuleType):
    """An old path: each name read from it comes from the new module, with a warning."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name != "__all__":
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        new = MOVED[self.__name__.rpartition(".")[2]]
        warnings.warn(f"{self.__name__} is deprecated and will be removed in the next release; "
                      f"import from {new} instead", DeprecationWarning, stacklevel=2)
        target = importlib.import_module(new)
        if name == "__all__":
            return getattr(target, "__all__", [n for n in dir(target) if not n.startswith("_")])
        return getattr(target, name)

    def __dir__(self) -> list[str]:
        return sorted(dir(importlib.import_module(MOVED[self.__name__.rpartition(".")[2]])))


class _CallableOldModule(_OldModule):
    """``deltaprop.gradcheck``: importing a submodule rebinds the package attribute of the same
    name to the module, so ``import deltaprop.gradcheck`` would turn ``deltaprop.gradcheck(...)``
    into a call of a module.  Calling this module calls the function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__dict__["_function"](*args, **kwargs)


class OldPathFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``deltaprop.<old>`` for the names of :data:`MOVED` (and nothing else)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        package, _, name = fullname.rpartition(".")
        if package != "deltaprop" or name not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec) -> types.ModuleType:
        callable_ = spec.name == "deltaprop.gradcheck"
        module = (_CallableOldModule if callable_ else _OldModule)(spec.name)
        module.__doc__ = (f"Deprecated alias of ``{MOVED[spec.name.rpartition('.')[2]]}``, "
                          "removed in the next release.")
        if callable_:
            from .training.gradient_check import gradcheck

            module.__dict__["_function"] = gradcheck
            module.__signature__ = inspect.signature(gradcheck)   # what help() shows
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the names come from the new module on demand."""


def install() -> None:
    """Put :class:`OldPathFinder` on ``sys.meta_path`` once."""
    if not any(isinstance(finder, OldPathFinder) for finder in sys.meta_path):
        sys.meta_path.append(OldPathFinder())
