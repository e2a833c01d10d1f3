r"""``fit`` / ``evaluate`` / ``predict``: the training loop over whole mini-batches.

One optimiser step is the four lines of the README:

.. code-block:: python

    output = model.forward(X_batch)                 # Z⁽ˡ⁾, A⁽ˡ⁾ recorded per layer
    value, grad = loss(output, y_batch)             # mean loss and ∂L/∂output (carries 1/N)
    model.backward(grad)                            # Δ⁽ˡ⁾, ∂L/∂W⁽ˡ⁾, ∂L/∂b⁽ˡ⁾ per layer
    optimizer.step()                                # W ← W − η ∂L/∂W

``fit`` adds batching, shuffling, validation, metrics, callbacks and the checks that keep bad
data and diverging runs from producing silent garbage.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._backend import Array, namespace, to_namespace, to_numpy
from .callbacks import Callback, EarlyStopping, History
from .losses import Loss, MSELoss, get_loss
from .metrics import accuracy, labels_from_output, r2, r2_from_sums
from .optim import Optimizer, get_optimizer
from .validation import as_array, check_data, check_features, check_weights, positive_int

# rows per forward pass in predict/evaluate: bounded memory, and each chunk's activations
# stay near the cache (1024 rows of 784-256-128-10: 0.94x the time of 4096-row chunks)
PREDICT_CHUNK = 1024
# on other array libraries (GPUs): few large chunks, since each pass launches several kernels
DEVICE_PREDICT_CHUNK = 65536


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite; the model keeps the weights from before that step."""


def fit(model, X, y, *, loss: Any, optimizer: Any, epochs: int, batch_size: int | None = None,
        shuffle: bool = True, seed: Any = None, validation_data: tuple | None = None,
        validation_split: float = 0.0, early_stopping: Any = None, callbacks=(),
        schedule: Any = None, sample_weight: Any = None, metric: str | None = "auto",
        resume: Any = None) -> History:
    """Train ``model`` on ``(X, y)`` and return the per-epoch :class:`History`.

    Parameters
    ----------
    model : Sequential
    X : array of shape (N, in_features)
        NumPy, ``np.memmap`` (batches are read as needed) or any array-API array.
    y : array
        ``(N,)`` integer labels or ``(N, C)`` probabilities for ``CrossEntropyLoss``;
        ``(N,)`` or ``(N, k)`` numbers for the other losses.
    loss : Loss or str
        ``"cross_entropy"``, ``"bce"``, ``"bce_with_logits"``, ``"mse"`` or an instance.
    optimizer : Optimizer or str
        An instance (``SGD(model, lr=0.1)``) or a name with default settings.
    epochs : int
    batch_size : int or None
        ``None`` = full batch (seed 003's full-batch gradient descent).
    shuffle : bool
        Reshuffle the rows each epoch (with ``seed``).
    seed : int, Generator or None
        Makes shuffling and the validation split reproducible.
    validation_data : (X_val, y_val), optional
    validation_split : float
        Fraction of the rows (picked at random with ``seed``) held out for validation.
    early_stopping : int or EarlyStopping, optional
        Patience in epochs, or a configured ``EarlyStopping``; restores the best weights.
    callbacks : sequence of Callback
    schedule : Schedule, optional
        Stepped after every epoch (``ReduceLROnPlateau`` gets the monitored loss).
    sample_weight : array of shape (N,), optional
        Weights of the rows in the mean loss.
    metric : "auto", "accuracy", "r2" or None
        Logged per epoch; ``"auto"`` picks accuracy for classification losses, R² for MSE.
    resume : path, optional
        A file written by :class:`deltaprop.checkpoint.Checkpoint`: the model, optimiser,
        random-number states, schedule, history and early-stopping counters are restored and
        training continues after the saved epoch (same data, ``seed`` and settings as the
        interrupted run: the result is then bit for bit that of an uninterrupted run).

    Raises
    ------
    TrainingDivergedError
        When a batch's loss is NaN or infinite; the message names the epoch and batch, and the
        model keeps the weights from before that step.
    """
    loss = get_loss(loss)
    optimizer = get_optimizer(optimizer, model)
    if not isinstance(optimizer, Optimizer) or optimizer.model is not model:
        raise ValueError("optimizer must be built on the model being trained "
                         "(e.g. SGD(model, lr=0.1))")
    epochs = positive_int("epochs", epochs)
    batch_size = None if batch_size is None else positive_int("batch_size", batch_size)
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
            or not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be a fraction in [0, 1), got {validation_split!r}")
    if validation_data is not None and validation_split:
        raise ValueError("pass validation_data or validation_split, not both")
    metric = _resolve_metric(metric, loss)

    X, y = check_data(model, X, y, loss)
    weights = None if sample_weight is None else check_weights(sample_weight, X.shape[0])
    rng = np.random.default_rng(seed)
    if validation_split:
        X, y, weights, validation_data = _split(X, y, weights, validation_split, rng)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        validation_data = check_data(model, *validation_data, loss, name="validation_data")

    n = X.shape[0]
    if metric == "r2":                                   # Σ (y − ȳ)² per output, once
        host = to_numpy(y).astype(np.float64)
        ss_tot = np.sum((host - host.mean(axis=0)) ** 2, axis=0)
    batch = n if batch_size is None else min(batch_size, n)
    n_batches = math.ceil(n / batch)
    history, start, resumed = History(), 1, None
    if resume is not None:       # lazy: checkpoints need the optional safetensors
        from .checkpoint import restore_training

        callbacks = list(callbacks)                      # checked first, changed after
        stoppers = [c for c in callbacks if isinstance(c, EarlyStopping)] \
            + ([] if early_stopping is None else [early_stopping])
        resumed = restore_training(resume, model=model, optimizer=optimizer, rng=rng,
                                   schedule=schedule, early_stopping=stoppers, epochs=epochs,
                                   has_validation=validation_data is not None)
        history, start = resumed.history, resumed.epoch + 1
    callbacks = list(callbacks)
    if early_stopping is not None:
        callbacks.append(early_stopping if isinstance(early_stopping, EarlyStopping)
                         else EarlyStopping(patience=early_stopping))
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be deltaprop Callback objects, "
                            f"got {type(callback).__name__}")
        callback.model, callback.optimizer, callback.history = model, optimizer, history
        callback.rng, callback.schedule, callback.callbacks = rng, schedule, callbacks
        callback.stop_training = False
        callback.on_train_begin({"epochs": epochs, "n_batches": n_batches, "n_samples": n,
                                 "has_validation": validation_data is not None})
    if resumed is not None:
        from .checkpoint import restore_callbacks

        restore_callbacks(resumed, callbacks)
        if resumed.stopped:                              # early stopping had ended that run
            start = epochs + 1

    on_host = isinstance(X, np.ndarray)
    # one batch buffer reused by every NumPy gather: no new (batch, features) array per step
    x_buffer = np.empty((batch, X.shape[1]), X.dtype) if on_host else None
    # device arrays: the weights move to X's device once, the row order once per epoch
    weights = weights if weights is None or on_host else to_namespace(weights, like=X)
    xp = np if on_host else namespace(X)
    for epoch in range(start, epochs + 1):
        for callback in callbacks:
            callback.on_epoch_begin(epoch)
        for layer in model.layers:
            layer.begin_epoch()                          # Dropout: reseed device generators
        order = rng.permutation(n) if shuffle else None
        order = order if on_host or order is None else to_namespace(order, like=X)
        model.train()
        total, score_sum = 0.0, 0                        # score_sum stays on the array's device
        for b in range(n_batches):
            begin, end = b * batch, min((b + 1) * batch, n)   # the array API wants end <= n
            if shuffle:        # ascending rows: faster gathers, same batch contents
                rows = xp.sort(order[begin:end])
                xb, yb = _take(X, rows, out=x_buffer), _take(y, rows)
                wb = None if weights is None else _take(weights, rows)
            else:              # rows in order: each batch is a view of X, nothing is copied
                xb, yb = X[begin:end, ...], y[begin:end, ...]
                wb = None if weights is None else weights[begin:end, ...]
            with np.errstate(over="ignore", invalid="ignore"):  # reported just below instead
                output = model.forward(xb)
                value, grad = loss(output, yb, wb)
            value = float(value)
            if not math.isfinite(value):
                raise TrainingDivergedError(
                    f"loss became {value} at epoch {epoch}, batch {b + 1} of {n_batches}; "
                    "training stopped and the model keeps the weights from before this step "
                    f"(try a smaller learning rate than {optimizer.lr:g})")
            model.backward(grad, input_grad=False)
            optimizer.step()
            total += value * (end - begin)
            if metric is not None:
                score_sum = score_sum + _batch_score(metric, output, yb, loss.link)
            for callback in callbacks:
                callback.on_batch_end(b + 1, {"loss": value})
        logs = {"loss": total / n}
        if metric == "accuracy":
            logs["accuracy"] = float(score_sum) / n
        elif metric == "r2":
            logs["r2"] = r2_from_sums(to_numpy(score_sum), ss_tot)
        if validation_data is not None:
            scores = evaluate(model, *validation_data, loss=loss, metric=metric)
            logs.update({f"val_{key}": value for key, value in scores.items()})
        logs["lr"] = optimizer.lr
        history.append(epoch, logs)
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
        if schedule is not None:
            schedule.step(logs.get("val_loss", logs["loss"]))
        stop = any(callback.stop_training for callback in callbacks)
        for callback in callbacks:                       # e.g. Checkpoint: the epoch is whole
            callback.on_epoch_complete(epoch, stop)
        if stop:
            break
    for callback in callbacks:
        callback.on_train_end({"epochs_run": len(history)})
    model.eval()
    return history


def predict(model, X, *, batch_size: int | None = None) -> Array:
    """The model's output for every row of ``X`` (evaluation mode, in chunks of rows).

    ``batch_size`` rows per forward pass: by default ``PREDICT_CHUNK`` (1024) for NumPy
    arrays and ``DEVICE_PREDICT_CHUNK`` (65536) for other array libraries.
    """
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


def predict_proba(model, X, loss: Any) -> Array:
    """Probabilities: the output passed through the loss's link (softmax / sigmoid), if any."""
    from .activations import Sigmoid, softmax

    output = predict(model, X)
    link = get_loss(loss).link
    if link == "softmax":
        return softmax(namespace(output), output)
    if link == "sigmoid":
        return Sigmoid().function(namespace(output), output)
    return output


def predict_classes(model, X, loss: Any) -> np.ndarray:
    """Class labels (NumPy): arg-max of several outputs, or a threshold on a single one."""
    return labels_from_output(to_numpy(predict(model, X)), get_loss(loss).link)


def evaluate(model, X, y, *, loss: Any, metric: str | None = "auto") -> dict[str, float]:
    """Mean loss and metric (``accuracy`` or ``r2``, plus ``mse`` for regression) on ``(X, y)``."""
    loss = get_loss(loss)
    metric = _resolve_metric(metric, loss)
    X, y = check_data(model, X, y, loss)
    output = predict(model, X)
    value, _ = loss(output, y)
    scores = {"loss": float(value)}
    if metric == "accuracy":
        scores["accuracy"] = accuracy(_labels(to_numpy(y)),
                                      labels_from_output(to_numpy(output), loss.link))
    elif metric == "r2":
        scores["r2"] = r2(to_numpy(y), to_numpy(output))
    if isinstance(loss, MSELoss):
        scores["mse"] = float(np.mean((to_numpy(output) - to_numpy(y)) ** 2))
    return scores


def _resolve_metric(metric: str | None, loss: Loss) -> str | None:
    if metric == "auto":
        return "r2" if isinstance(loss, MSELoss) else "accuracy"
    if metric not in (None, "accuracy", "r2"):
        raise ValueError(f"metric must be 'auto', 'accuracy', 'r2' or None, got {metric!r}")
    return metric


def _labels(y: np.ndarray) -> np.ndarray:
    """Labels from integer targets, one-hot / probability rows, or 0/1 columns."""
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    return (y.reshape(-1) > 0.5).astype(np.int64) if y.dtype.kind == "f" else y.reshape(-1)


def _batch_score(metric: str, output: Array, target: Array, link: str | None) -> Array:
    """Per batch, on the output's device: correct predictions, or Σ (a − y)² per output."""
    xp = namespace(output)
    if metric == "r2":
        return xp.sum((output - target) ** 2, axis=0)
    if output.shape[1] > 1:
        predicted = xp.argmax(output, axis=1)
    else:
        predicted = xp.astype(output[:, 0] > (0.0 if link == "sigmoid" else 0.5), xp.int64)
    if target.ndim == 2 and target.shape[1] > 1:
        expected = xp.argmax(target, axis=1)               # one-hot / probability rows
    elif target.ndim == 2:
        expected = xp.astype(target[:, 0] > 0.5, xp.int64)  # 0/1 column
    else:
        expected = target                                  # integer labels
    return xp.sum(xp.astype(predicted == xp.astype(expected, predicted.dtype), xp.int64))


def _take(array, rows: np.ndarray, *, out: np.ndarray | None = None):
    """The given rows of ``array`` (NumPy fancy indexing, or ``xp.take`` on other arrays).

    With ``out`` (NumPy only, at least ``len(rows)`` rows) the rows are gathered into its first
    ``len(rows)`` rows and that view is returned.  ``mode="clip"`` skips NumPy's bounds check,
    which would otherwise gather into a temporary and copy it (the rows are valid by
    construction).
    """
    if isinstance(array, np.ndarray):
        if out is not None:
            return np.take(array, rows, axis=0, out=out[:rows.shape[0]], mode="clip")
        return array[rows]
    xp = namespace(array)
    if isinstance(rows, np.ndarray):                     # host indices (e.g. the split)
        rows = to_namespace(rows, like=array)
    return xp.take(array, rows, axis=0)


def _split(X, y, weights, fraction: float, rng: np.random.Generator):
    n = X.shape[0]
    n_val = max(1, round(n * fraction))
    if n_val >= n:
        raise ValueError(f"validation_split={fraction} leaves no training rows out of {n}")
    order = rng.permutation(n)
    train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    w_train = None if weights is None else weights[train]
    return _take(X, train), _take(y, train), w_train, (_take(X, val), _take(y, val))
