"""Deprecated alias of ``deltaprop.training.metrics``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.metrics", "deltaprop.training.metrics")
