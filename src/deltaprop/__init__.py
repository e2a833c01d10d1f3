"""deltaprop: multilayer perceptrons with backpropagation written by hand in matrix form.

Conventions (``docs/notation-guide.md``): one sample per row, ``W`` of shape ``(out, in)``,
``Z = A Wᵀ + b``, losses return the batch mean so the ``1/N`` lives in the output delta.
"""

from . import _deprecated
from ._checks import InvalidParameterError
from ._version import __version__
from .explainer import Trace, card, explain
from .io.checkpoint import load_checkpoint as _load_checkpoint
from .nn.activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .nn.layers import Dense, Dropout, Layer
from .nn.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss
from .nn.model import LayerRecord, Sequential, mlp
from .nn.optim import SGD, Adam, AdamW, Optimizer
from .nn.schedules import CosineAnnealingLR, ExponentialLR, ReduceLROnPlateau, Schedule, StepLR
from .training import loop as _loop
from .training.callbacks import Callback, EarlyStopping, History, TrainingContext
from .training.evaluation import evaluate, predict, predict_classes, predict_proba
from .training.gradient_check import GradcheckResult, gradcheck
from .training.loop import TrainingDivergedError, fit
from .training.metrics import accuracy, confusion_matrix, mse, r2
from .training.progress import ProgressBar
from .training.step import train_step

# the composition root: training reads no file itself, fit(resume=path) uses io's reader
_loop.set_checkpoint_reader(_load_checkpoint)

# old flat module paths (deltaprop.layers, ...), kept one release: see _deprecated.py
_deprecated.install()


def __getattr__(name: str):
    """``deltaprop.init`` and the other old module attributes, through their old paths."""
    if name in _deprecated.MOVED:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ELU", "GELU", "SGD", "Adam", "AdamW", "BCELoss", "BCEWithLogitsLoss", "Callback",
    "CosineAnnealingLR", "CrossEntropyLoss", "Dense", "Dropout", "EarlyStopping",
    "ExponentialLR", "GradcheckResult", "History", "Identity", "InvalidParameterError", "Layer",
    "LayerRecord",
    "LeakyReLU", "Loss", "MSELoss", "Optimizer", "ProgressBar", "ReLU", "ReduceLROnPlateau",
    "Schedule",
    "Sequential", "Sigmoid", "Softmax", "Softplus", "StepLR", "Tanh", "Trace",
    "TrainingContext", "TrainingDivergedError", "__version__", "accuracy", "card",
    "confusion_matrix", "evaluate", "explain", "fit", "gradcheck", "mlp", "mse", "predict",
    "predict_classes", "predict_proba", "r2", "train_step",
]
