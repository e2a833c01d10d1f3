"""``predict``, ``predict_proba``, ``predict_classes`` and ``evaluate``: the trained model on
whole arrays, in chunks of rows, in evaluation mode."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ..nn._backend import Array, namespace, to_numpy
from ..nn.functional import apply_link
from ..nn.losses import Loss, get_loss
from .metrics import accuracy, labels_from_output, r2
from .validation import as_array, check_data, check_features, positive_int

if TYPE_CHECKING:
    from ..nn.model import Sequential

# rows per forward pass in predict/evaluate: bounded memory, and each chunk's activations
# stay near the cache (1024 rows of 784-256-128-10: 0.94x the time of 4096-row chunks)
PREDICT_CHUNK = 1024
# on other array libraries (GPUs): few large chunks, since each pass launches several kernels
DEVICE_PREDICT_CHUNK = 65536


def predict(model: Sequential, X: Any, *, batch_size: int | None = None) -> Array:
    """The model's output for every row of ``X`` (evaluation mode, in chunks of rows).

    ``batch_size`` rows per forward pass: by default ``PREDICT_CHUNK`` (1024) for NumPy
    arrays and ``DEVICE_PREDICT_CHUNK`` (65536) for other array libraries.
    """
    check_model(model)
    X = as_array(X, "X")
    check_features(model, X, "X")
    if batch_size is None:
        batch_size = PREDICT_CHUNK if isinstance(X, np.ndarray) else DEVICE_PREDICT_CHUNK
    batch_size = positive_int("batch_size", batch_size)
    was_training = model.training
    model.eval()
    try:
        n = X.shape[0]                                   # `, ...`: the array API indexes every axis
        chunks = [model.forward(X[start:min(start + batch_size, n), ...])
                  for start in range(0, n, batch_size)]
    finally:
        model.train(was_training)
    xp = namespace(chunks[0]) if chunks else np
    return chunks[0] if len(chunks) == 1 else xp.concat(chunks, axis=0)


_REQUIRED: Any = object()          # the loss keyword was not given


def predict_proba(model: Sequential, X: Any, *args: Any, loss: Any = _REQUIRED) -> Array:
    """Probabilities: the output passed through the loss's link (softmax / sigmoid), if any.

    ``loss`` is a keyword, as in ``fit`` and ``evaluate``: ``predict_proba(model, X,
    loss="cross_entropy")`` (the positional ``predict_proba(model, X, loss)`` is deprecated).
    """
    link = get_loss(_loss_keyword("predict_proba", args, loss)).link   # before the work
    output = predict(model, X)
    return apply_link(namespace(output), link, output)


def predict_classes(model: Sequential, X: Any, *args: Any, loss: Any = _REQUIRED) -> np.ndarray:
    """Class labels (NumPy): arg-max of several outputs, or a threshold on a single one.

    ``loss`` is a keyword (the positional ``predict_classes(model, X, loss)`` is deprecated).
    """
    link = get_loss(_loss_keyword("predict_classes", args, loss)).link
    return labels_from_output(to_numpy(predict(model, X)), link)


def _loss_keyword(function: str, args: tuple, loss: Any) -> Any:
    """``loss=`` of ``predict_proba`` / ``predict_classes``; a positional one still works for
    one release, with a ``DeprecationWarning``."""
    if len(args) > 1 or (args and loss is not _REQUIRED):
        raise TypeError(f"{function}() takes model, X and the keyword loss=...; got "
                        f"{2 + len(args)} positional arguments"
                        + (" and loss=" if loss is not _REQUIRED else ""))
    if args:
        warnings.warn(f"{function}(model, X, loss) is deprecated: pass the loss as a keyword, "
                      f"{function}(model, X, loss=...) (as fit and evaluate take it)",
                      DeprecationWarning, stacklevel=3)
        return args[0]
    if loss is _REQUIRED:
        raise TypeError(f"{function}() missing the keyword argument 'loss' (e.g. "
                        f"loss='cross_entropy')")
    return loss


def evaluate(model: Sequential, X: Any, y: Any, *, loss: Any,
             metric: str | None = "auto") -> dict[str, float]:
    """Mean loss and metric (``accuracy`` or ``r2``, plus ``mse`` for regression) on ``(X, y)``."""
    loss = get_loss(loss)
    metric = resolve_metric(metric, loss)
    check_model(model)
    X, y = check_data(model, X, y, loss)
    return scores(predict(model, X), y, loss, metric)


def evaluate_unscaled(model: Sequential, X: Any, y: Any, target_scaler: Any, *,
                      loss: Any = "mse", metric: str | None = "auto") -> dict[str, float]:
    r"""``evaluate``'s scores in the target's own units, for a model trained on standardised
    targets :math:`y_s = (y - \mu_y)/\sigma_y`: its outputs become
    :math:`\hat y = \hat y_s \sigma_y + \mu_y` (``target_scaler.inverse_transform``) before
    they are compared with the raw ``y`` (N,) or (N, outputs).  Returns float64 scores."""
    loss = get_loss(loss)
    metric = resolve_metric(metric, loss)
    check_model(model)
    X, _ = check_data(model, X, y, loss)                     # the shapes, rows and values
    output = target_scaler.inverse_transform(to_numpy(predict(model, X)).astype(np.float64))
    target = np.asarray(y, dtype=np.float64).reshape(output.shape[0], -1)   # (N, outputs)
    return scores(output, target, loss, metric)


def scores(output: Array, y: Array, loss: Loss, metric: str | None) -> dict[str, float]:
    """``evaluate``'s numbers from the model's ``output`` for the targets ``y``."""
    value, _ = loss(output, y)
    scores = {"loss": float(value)}
    if metric == "accuracy":
        scores["accuracy"] = accuracy(labels(to_numpy(y)),
                                      labels_from_output(to_numpy(output), loss.link))
    elif metric == "r2":
        scores["r2"] = r2(to_numpy(y), to_numpy(output))
    if loss.task == "regression":
        scores["mse"] = float(np.mean((to_numpy(output) - to_numpy(y)) ** 2))
    return scores


def resolve_metric(metric: str | None, loss: Loss) -> str | None:
    """``"auto"``: the loss's ``default_metric`` (R² for MSE, accuracy otherwise).  R² needs
    a loss whose ``task`` is not classification: the classification losses' targets are
    labels or probabilities, not the outputs' scale.
    Accuracy is allowed with any loss (MSE-trained classifiers: arg-max or a 0.5 threshold)."""
    if metric == "auto":
        return loss.default_metric
    if metric not in (None, "accuracy", "r2"):
        raise ValueError(f"metric must be 'auto', 'accuracy', 'r2' or None, got {metric!r}")
    if metric == "r2" and loss.task == "classification":
        raise ValueError(f"metric='r2' needs a regression loss such as MSELoss, got {loss!r}: "
                         "use metric='accuracy' (or 'auto') with a classification loss")
    return metric


def labels(y: np.ndarray) -> np.ndarray:
    """Labels from integer targets, one-hot / probability rows, or 0/1 columns."""
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    return (y.reshape(-1) > 0.5).astype(np.int64) if y.dtype.kind == "f" else y.reshape(-1)


def check_model(model: Any) -> None:
    """A deltaprop model with at least one ``Dense`` layer (its features and dtype)."""
    if not (hasattr(model, "parameter_refs") and hasattr(model, "eval")
            and hasattr(model, "dense_layers")):
        raise TypeError(f"model must be a deltaprop model (a Sequential), "
                        f"got {type(model).__name__}")
    if not model.dense_layers:
        raise ValueError(f"model must have at least one Dense layer (its weights are what is "
                         f"trained, and its in_features what X must have), got {model!r}")
