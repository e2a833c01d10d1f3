"""Deprecated alias of ``deltaprop.training.progress``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.progress", "deltaprop.training.progress")
