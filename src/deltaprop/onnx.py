"""Deprecated alias of ``deltaprop.io.onnx``, removed in the next release."""

from ._deprecated import moved

__getattr__, __dir__ = moved("deltaprop.onnx", "deltaprop.io.onnx")
