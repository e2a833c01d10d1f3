"""Deprecated alias of ``deltaprop.training.gradcheck``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.gradcheck", "deltaprop.training.gradcheck")


def _call_gradcheck(*args, **kwargs):
    """``deltaprop.gradcheck(...)`` keeps calling the function after this module is imported."""
    from .training.gradcheck import gradcheck

    return gradcheck(*args, **kwargs)


from ._deprecated import callable_module  # noqa: E402 - the module must exist first

callable_module(__name__, _call_gradcheck)
