"""Deprecated alias of ``deltaprop.training.validation``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.validation", "deltaprop.training.validation")
