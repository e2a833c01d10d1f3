"""Deprecated alias of ``deltaprop.nn.model``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.model", "deltaprop.nn.model")
