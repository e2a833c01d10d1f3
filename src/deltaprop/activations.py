"""Deprecated alias of ``deltaprop.nn.activations``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.activations", "deltaprop.nn.activations")
