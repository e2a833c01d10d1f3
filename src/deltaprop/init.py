"""Deprecated alias of ``deltaprop.nn.init``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.init", "deltaprop.nn.init")
