"""Old flat module paths (``deltaprop.layers``, ``deltaprop.checkpoint``, ...) kept for one release.

Each old module is a few lines that call :func:`moved`; reading a name from it returns the
name from its new home and emits a ``DeprecationWarning`` naming that home.  Importing
``deltaprop`` itself never touches these modules, so it never warns.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import types
import warnings
from typing import Any


def moved(old: str, new: str) -> tuple[Any, Any]:
    """The module-level ``__getattr__`` and ``__dir__`` of the old module ``old``."""

    def old_getattr(name: str) -> Any:
        if name.startswith("__") and name != "__all__":
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(f"{old} is deprecated and will be removed in the next release; "
                      f"import from {new} instead", DeprecationWarning, stacklevel=2)
        target = importlib.import_module(new)
        if name == "__all__":
            return getattr(target, "__all__", [n for n in dir(target) if not n.startswith("_")])
        return getattr(target, name)

    def old_dir() -> list[str]:
        return sorted(dir(importlib.import_module(new)))

    return old_getattr, old_dir


class _CallableModule(types.ModuleType):
    """An old module whose name is also a public function of ``deltaprop`` (``gradcheck``).

    Importing a submodule rebinds the package attribute of the same name to the module, so
    ``import deltaprop.gradcheck`` would otherwise turn ``deltaprop.gradcheck(...)`` into a
    call of a module.  Calling this module calls the function.
    """

    _function: Any = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._function(*args, **kwargs)


def callable_module(old: str, function: Any) -> None:
    """Make the old module ``old`` callable as ``function`` (see :class:`_CallableModule`)."""
    module = sys.modules[old]
    module.__class__ = _CallableModule
    module._function = function
    module.__signature__ = inspect.signature(function)     # what help() and inspect show
