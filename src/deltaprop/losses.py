r"""Losses: ``loss(output, target) -> (value, grad_output)``; the ``name -> class`` table.

Every loss returns the batch MEAN, as PyTorch's ``reduction="mean"`` (over every element), so
its gradient carries the :math:`1/N` — the one place in the library that divides by the batch
size (``NOTATION.md``).  ``value`` is a 0-d array of the input's namespace (``float(value)``
gives the number); ``grad_output`` has the shape of ``output``.

Output/loss pairs for which the output delta is :math:`\Delta^{(L)} = (A - Y)/N`
(``A`` the probabilities):

- ``CrossEntropyLoss`` on logits = softmax output + cross-entropy;
- ``BCEWithLogitsLoss`` on logits = sigmoid output + binary cross-entropy (divided by
  ``N·n_L`` when there are ``n_L`` outputs).

``BCELoss`` on probabilities gives the unfused :math:`\partial L/\partial A`, which the
``Sigmoid`` layer then multiplies by :math:`\sigma'(Z)`; the result is the same numbers.

An optional ``sample_weight`` of shape ``(N,)`` turns the mean into the weighted mean
:math:`\sum_n w_n \ell_n / \sum_n w_n`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._backend import Array, namespace
from .activations import Sigmoid

_LOG_FLOOR = -100.0      # PyTorch's BCELoss clamps log(p) at -100: a floor, never log(0)
_BCE_EPSILON = 1e-12     # PyTorch's floor of p(1 - p) in BCELoss's gradient


class Loss:
    """Base class. Subclasses define ``elementwise`` (value and gradient per element)."""

    #: the function that turns the model's output into probabilities (``predict_proba``)
    link: str | None = None

    def __call__(self, output: Array, target: Array, sample_weight: Array | None = None):
        self._check_shapes(output, target, sample_weight)
        xp = namespace(output)
        losses, grads = self.elementwise(xp, output, target)  # per element (N, k) or sample (N,)
        n = output.shape[0]
        terms_per_sample = losses.shape[1] if losses.ndim == 2 else 1
        if sample_weight is None:
            count = n * terms_per_sample                       # the mean's denominator
            return xp.sum(losses) / count, grads / count       # the 1/N lives here
        w = xp.astype(sample_weight, output.dtype)
        count = xp.sum(w) * terms_per_sample                   # weighted mean: Σ wₙ ℓₙ / Σ wₙ
        w_losses = w[:, None] if losses.ndim == 2 else w
        return xp.sum(losses * w_losses) / count, grads * w[:, None] / count

    def elementwise(self, xp, output: Array, target: Array):  # pragma: no cover - overridden
        raise NotImplementedError

    def _check_shapes(self, output, target, sample_weight) -> None:
        if output.ndim != 2:
            raise ValueError(f"{type(self).__name__} expected output of shape (N, k), "
                             f"got {tuple(output.shape)}")
        if tuple(target.shape) != tuple(output.shape):
            raise ValueError(f"{type(self).__name__} expected target of shape "
                             f"{tuple(output.shape)} (same as output), got {tuple(target.shape)}")
        if sample_weight is not None and tuple(sample_weight.shape) != (output.shape[0],):
            raise ValueError(f"sample_weight must have shape ({output.shape[0]},), "
                             f"got {tuple(sample_weight.shape)}")

    def validate_target(self, y: np.ndarray, n_outputs: int) -> None:
        """Check a whole target array once, before training (labels, ranges, finiteness)."""
        if y.dtype.kind not in "fiub" or not np.all(np.isfinite(y)):
            raise ValueError(f"y must hold finite numbers for {type(self).__name__}")
        if y.ndim != 2 or y.shape[1] != n_outputs:
            raise ValueError(f"{type(self).__name__} expected y of shape (N, {n_outputs}) to "
                             f"match the model's {n_outputs} output(s), got {y.shape}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSELoss(Loss):
    r"""Mean squared error :math:`\frac{1}{N n} \sum (a - y)^2`; gradient
    :math:`\frac{2}{N n}(A - Y)` (the 2 comes from the square; no ½ in front)."""

    def elementwise(self, xp, output, target):
        diff = output - target
        return diff * diff, 2 * diff


class BCELoss(Loss):
    r"""Binary cross-entropy on probabilities ``p`` in [0, 1]:
    :math:`-\frac{1}{Nn}\sum y \log p + (1-y)\log(1-p)`, logs floored at -100 (as PyTorch).

    Gradient :math:`\frac{1}{Nn} (p - y) / (p(1-p))`; after a ``Sigmoid`` layer this becomes
    :math:`(A - Y)/(Nn)`.  Prefer ``BCEWithLogitsLoss`` for training: it is stable for any logit.
    """

    def elementwise(self, xp, output, target):
        # max(log p, -100) without ever taking log(0) (p = 0 or 1 exactly: a saturated sigmoid)
        floor = xp.asarray(_LOG_FLOOR, dtype=output.dtype)
        safe_p = xp.where(output > 0, output, xp.ones_like(output))     # stand-in: log 1 = 0
        safe_q = xp.where(output < 1, output, xp.zeros_like(output))    # stand-in: log1p(0) = 0
        log_p = xp.where(output > 0, xp.maximum(xp.log(safe_p), floor), floor)
        log_1mp = xp.where(output < 1, xp.maximum(xp.log1p(-safe_q), floor), floor)
        losses = -(target * log_p + (1 - target) * log_1mp)
        denom = xp.maximum(output * (1 - output), xp.asarray(_BCE_EPSILON, dtype=output.dtype))
        return losses, (output - target) / denom

    def validate_target(self, y, n_outputs):
        super().validate_target(y, n_outputs)
        if np.any((y < 0) | (y > 1)):
            raise ValueError("BCELoss expects targets in [0, 1], got values from "
                             f"{y.min()} to {y.max()}")


class BCEWithLogitsLoss(BCELoss):
    r"""Binary cross-entropy on logits ``z``: :math:`\frac{1}{Nn}\sum \max(z,0) - zy +
    \log(1 + e^{-|z|})`, stable for any ``z``.  Fused gradient :math:`(\sigma(Z) - Y)/(Nn)`."""

    link = "sigmoid"

    def elementwise(self, xp, output, target):
        relu = xp.where(output > 0, output, xp.zeros_like(output))
        losses = relu - output * target + xp.log1p(xp.exp(-xp.abs(output)))
        return losses, Sigmoid().function(xp, output) - target     # σ(Z) − Y


class CrossEntropyLoss(Loss):
    r"""Softmax cross-entropy on logits: :math:`-\frac1N \sum_n \sum_c Y_{nc} \log
    \mathrm{softmax}(Z_n)_c`, computed with log-sum-exp.

    ``target`` is either integer class labels of shape ``(N,)`` (values in ``[0, C)``) or
    one-hot / probability rows of shape ``(N, C)``.  Fused gradient
    :math:`\Delta^{(L)} = (\mathrm{softmax}(Z) - Y)/N`.
    """

    link = "softmax"

    def __call__(self, output, target, sample_weight=None):
        if sample_weight is None and _numpy_labels(output, target):
            return self._from_labels(output, target)
        if target.ndim == 1 and output.ndim == 2:
            xp = namespace(output)
            if not xp.isdtype(target.dtype, "integral"):
                raise TypeError("CrossEntropyLoss expects integer class labels of shape (N,) "
                                f"or probabilities of shape (N, C), got dtype {target.dtype}")
            classes = xp.arange(output.shape[1], dtype=target.dtype)
            if target.shape[0] != output.shape[0]:
                raise ValueError(f"CrossEntropyLoss expected {output.shape[0]} labels (one per "
                                 f"row of output), got {target.shape[0]}")
            target = xp.astype(target[:, None] == classes[None, :], output.dtype)  # one-hot (N, C)
        return super().__call__(output, target, sample_weight)

    @staticmethod
    def _from_labels(output: np.ndarray, labels: np.ndarray):
        r"""NumPy, integer labels, no weights: the same value and :math:`(A - Y)/N` without
        building the one-hot ``Y`` (a training step's fast path; ~2x fewer array calls).

        :math:`L = \frac1N \sum_n (\log \sum_c e^{s_{nc}} - s_{n,y_n})` with
        :math:`s = Z - \max_c Z` (log-sum-exp), and :math:`A - Y` is the softmax with 1
        subtracted at each row's label.
        """
        n = output.shape[0]
        shifted = output - output.max(axis=1, keepdims=True)     # (N, C): s = Z − max Z
        exp = np.exp(shifted)                                     # (N, C): e^s
        sums = exp.sum(axis=1, keepdims=True)                     # (N, 1): Σ_c e^s
        rows = np.arange(n)
        value = (np.log(sums).sum() - shifted[rows, labels].sum()) / n
        grad = exp / (sums * n)                                   # A / N
        grad[rows, labels] -= 1.0 / n                             # (A − Y) / N
        return np.asarray(value, dtype=output.dtype), grad

    def elementwise(self, xp, output, target):
        shifted = output - xp.max(output, axis=1, keepdims=True)
        log_probs = shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
        losses = -xp.sum(target * log_probs, axis=1)            # (N,): one loss per sample
        # A = softmax(Z) = exp(log softmax(Z)): one exp instead of a second softmax pass
        return losses, xp.exp(log_probs) - target               # (N, C): A − Y

    def validate_target(self, y, n_outputs):
        if y.ndim == 1:
            if y.dtype.kind not in "iu":
                raise TypeError("CrossEntropyLoss expects integer class labels of shape (N,) "
                                f"or probabilities of shape (N, C), got dtype {y.dtype}")
            if y.size and (y.min() < 0 or y.max() >= n_outputs):
                raise ValueError(f"CrossEntropyLoss labels must lie in [0, {n_outputs}) for a "
                                 f"model with {n_outputs} outputs, got values from {y.min()} "
                                 f"to {y.max()}")
            return
        super().validate_target(y, n_outputs)
        if np.any(y < 0):
            raise ValueError("CrossEntropyLoss probability targets must be >= 0")


def _numpy_labels(output, target) -> bool:
    """NumPy logits (N, C) and NumPy integer labels (N,) all in [0, C)."""
    return (isinstance(output, np.ndarray) and isinstance(target, np.ndarray)
            and output.ndim == 2 and target.ndim == 1 and target.dtype.kind in "iu"
            and target.shape[0] == output.shape[0] > 0 and output.shape[1] > 0
            and output.dtype.kind == "f" and 0 <= target.min() and target.max() < output.shape[1])


LOSSES: dict[str, type[Loss]] = {
    "mse": MSELoss,
    "bce": BCELoss,
    "bce_with_logits": BCEWithLogitsLoss,
    "cross_entropy": CrossEntropyLoss,
}


def get_loss(loss: Any) -> Loss:
    """Build a loss from its name (``"cross_entropy"``), class, or pass an instance through."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    if not isinstance(loss, str) or loss.lower() not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; valid names: {', '.join(sorted(LOSSES))}")
    return LOSSES[loss.lower()]()
