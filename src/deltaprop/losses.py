"""Deprecated alias of ``deltaprop.nn.losses``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.losses", "deltaprop.nn.losses")
