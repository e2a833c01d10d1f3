"""Deprecated alias of ``deltaprop.training.callbacks``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.callbacks", "deltaprop.training.callbacks")
