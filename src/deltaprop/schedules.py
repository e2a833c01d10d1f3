"""Deprecated alias of ``deltaprop.nn.schedules``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.schedules", "deltaprop.nn.schedules")
