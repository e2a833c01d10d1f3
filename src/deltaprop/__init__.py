"""deltaprop: multilayer perceptrons with backpropagation written by hand in matrix form.

Conventions (``docs/notation-guide.md``): one sample per row, ``W`` of shape ``(out, in)``,
``Z = A Wᵀ + b``, losses return the batch mean so the ``1/N`` lives in the output delta.
"""

from ._checks import InvalidParameterError
from .activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .callbacks import Callback, EarlyStopping, History, TrainingContext
from .explain import Trace, card, explain
from .gradcheck import GradcheckResult, gradcheck
from .layers import Dense, Dropout, Layer
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss
from .metrics import accuracy, confusion_matrix, mse, r2
from .model import LayerRecord, Sequential, mlp
from .optim import SGD, Adam, AdamW, Optimizer
from .progress import ProgressBar
from .schedules import CosineAnnealingLR, ExponentialLR, ReduceLROnPlateau, Schedule, StepLR
from .training import (
    TrainingDivergedError,
    evaluate,
    fit,
    predict,
    predict_classes,
    predict_proba,
    train_step,
)

__version__ = "0.1.0"

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
