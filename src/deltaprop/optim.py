"""Deprecated alias of ``deltaprop.nn.optim``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.optim", "deltaprop.nn.optim")
