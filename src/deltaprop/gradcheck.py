"""Deprecated alias of ``deltaprop.training.gradient_check``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.gradcheck", "deltaprop.training.gradient_check")

from ._deprecated import callable_module  # noqa: E402 - the module must exist first
from .training.gradient_check import gradcheck as _gradcheck  # noqa: E402

callable_module(__name__, _gradcheck)
