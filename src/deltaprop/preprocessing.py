"""Deprecated alias of ``deltaprop.training.preprocessing``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.preprocessing", "deltaprop.training.preprocessing")
