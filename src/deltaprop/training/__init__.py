"""The loop around the engine: ``train_step`` (the four lines), ``fit``, ``evaluate``,
``predict``, callbacks and their context, data checks, metrics and the gradient check.

Imports only ``deltaprop.nn`` and ``deltaprop._checks``; it needs no file format to train.
"""

from .callbacks import Callback, EarlyStopping, History, TrainingContext
from .evaluation import evaluate, predict, predict_classes, predict_proba
from .gradient_check import GradcheckResult, gradcheck
from .loop import TrainingDivergedError, fit
from .metrics import accuracy, confusion_matrix, mse, r2
from .progress import ProgressBar
from .step import train_step

__all__ = [
    "Callback", "EarlyStopping", "GradcheckResult", "History", "ProgressBar", "TrainingContext",
    "TrainingDivergedError", "accuracy", "confusion_matrix", "evaluate", "fit", "gradcheck",
    "mse", "predict", "predict_classes", "predict_proba", "r2", "train_step",
]
