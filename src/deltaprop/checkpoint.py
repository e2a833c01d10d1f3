"""Deprecated alias of ``deltaprop.io.checkpoint``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.checkpoint", "deltaprop.io.checkpoint")
