"""Deprecated alias of ``deltaprop.nn.layers``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.layers", "deltaprop.nn.layers")
