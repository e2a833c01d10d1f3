"""Where a step lives in deltaprop's code: ``module.Class.function (path:line)``.

The learner can open the file at that line and read the lines that computed the numbers.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]     # .../src/deltaprop


@functools.cache
def code_location(function: Callable[..., Any]) -> str:
    """``"deltaprop.nn.layers.Dense.backward (deltaprop/nn/layers.py:126)"`` for a function."""
    name = f"{function.__module__}.{function.__qualname__}"
    try:
        path = Path(inspect.getsourcefile(function)).resolve()
        line = inspect.getsourcelines(function)[1]
    except (OSError, TypeError):                          # no source (frozen, C): name only
        return name
    try:
        shown = path.relative_to(_PACKAGE_ROOT.parent).as_posix()
    except ValueError:
        shown = path.name
    return f"{name} ({shown}:{line})"
