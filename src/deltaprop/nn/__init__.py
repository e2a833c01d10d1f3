r"""The engine: layers, activations, losses, optimisers, schedules and the model — the math only.

Every module here imports only from ``deltaprop._checks`` and from this package; nothing above
(training, files, explainer, command line) is imported.  The forward pass of one ``Dense``
layer is :math:`Z = A W^\top + b`; its backward pass fills ``grads`` from the cached ``A``.
"""

from .activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .layers import Dense, Dropout, Layer
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss
from .model import LayerRecord, Sequential, layer_types, mlp
from .optim import SGD, Adam, AdamW, Optimizer
from .schedules import CosineAnnealingLR, ExponentialLR, ReduceLROnPlateau, Schedule, StepLR

__all__ = [
    "ELU", "GELU", "SGD", "Adam", "AdamW", "BCELoss", "BCEWithLogitsLoss", "CosineAnnealingLR",
    "CrossEntropyLoss", "Dense", "Dropout", "ExponentialLR", "Identity", "Layer", "LayerRecord",
    "LeakyReLU", "Loss", "MSELoss", "Optimizer", "ReLU", "ReduceLROnPlateau", "Schedule",
    "Sequential", "Sigmoid", "Softmax", "Softplus", "StepLR", "Tanh", "layer_types", "mlp",
]
