r"""Losses: ``loss(output, target) -> (value, grad_output)``; the ``name -> class`` table.

Every loss returns the batch MEAN, as PyTorch's ``reduction="mean"`` (over every element), so
its gradient carries the :math:`1/N` — the one place in the library that divides by the batch
size (``docs/notation-guide.md``).  ``value`` is a 0-d array of the input's namespace
(``float(value)`` gives the number); ``grad_output`` has the shape of ``output``.

Output/loss pairs for which the output delta is :math:`\Delta^{(L)} = (A - Y)/N`
(``A`` the probabilities):

- ``CrossEntropyLoss`` on logits = softmax output + cross-entropy;
- ``BCEWithLogitsLoss`` on logits = sigmoid output + binary cross-entropy (divided by
  ``N·n_L`` when there are ``n_L`` outputs).

``BCELoss`` on probabilities gives the unfused :math:`\partial L/\partial A`, which the
``Sigmoid`` layer then multiplies by :math:`\sigma'(Z)`; the result is the same numbers.

An optional ``sample_weight`` of shape ``(N,)`` turns the mean into the weighted mean
:math:`\sum_n w_n \ell_n / \sum_n w_n`; weights that sum to 0 leave it undefined and are
refused (``fit`` skips such a batch instead).

Called directly (the README's four-line loop), a loss checks its inputs as PyTorch does:
an output of real floating numbers of shape ``(N, k)`` with N, k >= 1, a target and weights
of the output's array library (lists become NumPy arrays next to a NumPy output), shapes,
finite targets, labels in ``[0, C)`` and probability rows summing to 1 for
``CrossEntropyLoss``, targets in [0, 1] for both BCE losses and predictions in [0, 1] for
``BCELoss``; each error names the loss, the argument, the rule and the first offending value.
Those checks live in ``_loss_inputs`` (the classes below inherit them).
A NaN or infinite output gives a NaN or infinite loss, as in PyTorch, without NumPy warnings.

With numba installed, ``MSELoss``, ``BCEWithLogitsLoss`` and ``CrossEntropyLoss`` compute the
value and the gradient in one fused pass (:mod:`deltaprop.nn.fused`) on NumPy float32/float64
outputs without ``sample_weight``, the target of the output's dtype (or integer labels); the
NumPy lines below are the reference, and the path whenever the kernel does not apply.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import fused as _fused
from ._backend import Array, namespace
from ._loss_checks import check_range, check_sample_weight
from ._loss_inputs import BinaryTargetInputs, CrossEntropyInputs, LossInputs
from .functional import log_softmax, sigmoid

_LOG_FLOOR = -100.0      # PyTorch's BCELoss clamps log(p) at -100: a floor, never log(0)
_BCE_EPSILON = 1e-12     # PyTorch's floor of p(1 - p) in BCELoss's gradient


class Loss(LossInputs):
    """Base class. Subclasses define ``elementwise`` (value and gradient per element).

    ``loss(output, target, sample_weight=None)`` checks its inputs (shapes, finite targets in
    the loss's range, weights finite, >= 0 and not all zero), then returns
    ``value_and_grad(...)``, which computes without checking: ``fit`` calls it directly on
    arrays of other libraries, whose data it has checked once before the first epoch (each
    check there would wait for the device).
    """

    #: the function that turns the model's output into probabilities (``predict_proba``):
    #: ``"softmax"``, ``"sigmoid"`` or None (the output is used as it is)
    link: str | None = None
    #: ``"classification"``, ``"regression"``, or None (a loss that does not say: any metric)
    task: str | None = None
    #: what the model's output is expected to be: ``"logits"``, ``"probabilities"`` or
    #: ``"values"`` (None: not said)
    output: str | None = None
    #: the metric ``fit`` / ``evaluate`` report for ``metric="auto"``
    default_metric: str = "accuracy"

    def __call__(self, output: Array, target: Array, sample_weight: Array | None = None):
        output, target, sample_weight = self._as_arrays(output, target, sample_weight)
        self.check_inputs(output, target, sample_weight)
        # a non-finite output gives a NaN / inf loss, as in PyTorch, without NumPy's warnings
        # (fit reports such a loss as a divergence)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self.value_and_grad(output, target, sample_weight)

    def value_and_grad(self, output: Array, target: Array,
                       sample_weight: Array | None = None) -> tuple[Array, Array]:
        r"""Mean loss and :math:`\partial L/\partial \text{output}`, inputs NOT checked."""
        fused = _fused_loss(self, output, target, sample_weight)
        if fused is not None:
            return fused
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

    def elementwise(self, xp: Any, output: Array,
                    target: Array) -> tuple[Array, Array]:  # pragma: no cover - overridden
        raise NotImplementedError

    def check_inputs(self, output: Array, target: Array, sample_weight: Array | None) -> None:
        """Raise a ValueError / TypeError naming the loss, the argument, the rule and the first
        offending value.  Costs a few reductions over ``(N, k)``: nothing next to a layer's
        matrix product (``benchmarks/RESULTS.md``)."""
        self._check_output(output)
        self._check_shapes(output, target, sample_weight)
        self._check_target_values(target, output)
        if sample_weight is not None:
            check_sample_weight(sample_weight, output.dtype, owner=type(self).__name__)

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

    task, output, default_metric = "regression", "values", "r2"

    def elementwise(self, xp: Any, output: Array, target: Array) -> tuple[Array, Array]:
        diff = output - target
        return diff * diff, 2 * diff


class _BinaryCrossEntropy(BinaryTargetInputs, Loss):
    """What both binary cross-entropies share: targets in [0, 1] (each label's probability,
    checked by ``BinaryTargetInputs``).

    ``BCELoss`` and ``BCEWithLogitsLoss`` are siblings: neither is an instance of the other.
    """

    task, default_metric = "classification", "accuracy"

class BCELoss(_BinaryCrossEntropy):
    r"""Binary cross-entropy on probabilities ``p`` in [0, 1]:
    :math:`-\frac{1}{Nn}\sum y \log p + (1-y)\log(1-p)`, logs floored at -100 (as PyTorch).

    Gradient :math:`\frac{1}{Nn} (p - y) / (p(1-p))`; after a ``Sigmoid`` layer this becomes
    :math:`(A - Y)/(Nn)`.  Prefer ``BCEWithLogitsLoss`` for training: it is stable for any logit.
    """

    output = "probabilities"

    def elementwise(self, xp: Any, output: Array, target: Array) -> tuple[Array, Array]:
        # max(log p, -100) without ever taking log(0) (p = 0 or 1 exactly: a saturated sigmoid)
        floor = xp.asarray(_LOG_FLOOR, dtype=output.dtype)
        safe_p = xp.where(output > 0, output, xp.ones_like(output))     # stand-in: log 1 = 0
        safe_q = xp.where(output < 1, output, xp.zeros_like(output))    # stand-in: log1p(0) = 0
        log_p = xp.where(output > 0, xp.maximum(xp.log(safe_p), floor), floor)
        log_1mp = xp.where(output < 1, xp.maximum(xp.log1p(-safe_q), floor), floor)
        losses = -(target * log_p + (1 - target) * log_1mp)
        losses = xp.where(xp.isnan(output), output, losses)   # NaN in, NaN out (not the floor)
        denom = xp.maximum(output * (1 - output), xp.asarray(_BCE_EPSILON, dtype=output.dtype))
        return losses, (output - target) / denom

    def _check_target_values(self, target, output):
        super()._check_target_values(target, output)
        # probabilities in [0, 1] (as PyTorch); NaN passes: a diverged model's NaN output gives
        # a NaN loss, which fit reports as divergence
        check_range("BCELoss", "output (probabilities; pass logits to BCEWithLogitsLoss)",
                     output, 0.0, 1.0, allow_nan=True)


class BCEWithLogitsLoss(_BinaryCrossEntropy):
    r"""Binary cross-entropy on logits ``z``: :math:`\frac{1}{Nn}\sum \max(z,0) - zy +
    \log(1 + e^{-|z|})`, stable for any ``z``.  Fused gradient :math:`(\sigma(Z) - Y)/(Nn)`."""

    link, output = "sigmoid", "logits"

    def elementwise(self, xp: Any, output: Array, target: Array) -> tuple[Array, Array]:
        relu = xp.where(output > 0, output, xp.zeros_like(output))
        losses = relu - output * target + xp.log1p(xp.exp(-xp.abs(output)))
        return losses, sigmoid(xp, output) - target     # σ(Z) − Y


class CrossEntropyLoss(CrossEntropyInputs, Loss):
    r"""Softmax cross-entropy on logits: :math:`-\frac1N \sum_n \sum_c Y_{nc} \log
    \mathrm{softmax}(Z_n)_c`, computed with log-sum-exp.

    ``target`` is either integer class labels of shape ``(N,)`` (values in ``[0, C)``) or
    one-hot / probability rows of shape ``(N, C)``.  Fused gradient
    :math:`\Delta^{(L)} = (\mathrm{softmax}(Z) - Y)/N`.
    """

    link, task, output, default_metric = "softmax", "classification", "logits", "accuracy"

    def value_and_grad(self, output: Array, target: Array,
                       sample_weight: Array | None = None) -> tuple[Array, Array]:
        if sample_weight is None and _numpy_labels(output, target):
            fused = _fused_labels(self, output, target)
            return fused if fused is not None else self._from_labels(output, target)
        if target.ndim == 1:
            xp = namespace(output)
            classes = xp.arange(output.shape[1], dtype=target.dtype)
            target = xp.astype(target[:, None] == classes[None, :], output.dtype)  # one-hot (N, C)
        return super().value_and_grad(output, target, sample_weight)

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

    def elementwise(self, xp: Any, output: Array, target: Array) -> tuple[Array, Array]:
        log_probs = log_softmax(xp, output)                     # (N, C), log-sum-exp
        losses = -xp.sum(target * log_probs, axis=1)            # (N,): one loss per sample
        # A = softmax(Z) = exp(log softmax(Z)): one exp instead of a second softmax pass
        return losses, xp.exp(log_probs) - target               # (N, C): A − Y

def _numpy_labels(output, target) -> bool:
    """NumPy logits (N, C) and NumPy integer labels (N,) (checked by the caller)."""
    return (isinstance(output, np.ndarray) and isinstance(target, np.ndarray)
            and output.ndim == 2 and target.ndim == 1 and target.dtype.kind in "iu"
            and target.shape[0] == output.shape[0] > 0 and output.shape[1] > 0
            and output.dtype.kind == "f")


def _fused_loss(loss: Loss, output, target, sample_weight):
    """``(value, grad)`` from the loss's kernel, or None when it does not apply (see the module
    docstring): exactly the classes of ``_KERNELS``, their own element-wise math."""
    name = _KERNELS.get(type(loss))
    if (name is None or sample_weight is not None or output.ndim != 2
            or tuple(target.shape) != tuple(output.shape)):
        return None
    kernels = _fused.kernels_for(None, output, target)
    if kernels is None:
        return None
    grad = np.empty(output.shape, output.dtype)
    value = getattr(kernels, name)(np.ascontiguousarray(output), np.ascontiguousarray(target),
                                   grad)
    return np.asarray(value, dtype=output.dtype), grad


def _fused_labels(loss: Loss, output: np.ndarray, labels: np.ndarray):
    """``CrossEntropyLoss._from_labels`` as one kernel pass, or None when it does not apply."""
    kernels = _fused.kernels_for(None, output) if type(loss) is CrossEntropyLoss else None
    if kernels is None:
        return None
    grad = np.empty(output.shape, output.dtype)
    value = kernels.cross_entropy_labels(np.ascontiguousarray(output),
                                         labels.astype(np.intp, copy=False), grad)
    return np.asarray(value, dtype=output.dtype), grad


LOSSES: dict[str, type[Loss]] = {
    "mse": MSELoss,
    "bce": BCELoss,
    "bce_with_logits": BCEWithLogitsLoss,
    "cross_entropy": CrossEntropyLoss,
}


_KERNELS: dict[type[Loss], str] = {MSELoss: "mse", BCEWithLogitsLoss: "bce_with_logits",
                                    CrossEntropyLoss: "cross_entropy_probs"}


def get_loss(loss: Any) -> Loss:
    """Build a loss from its name (``"cross_entropy"``), class, or pass an instance through."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    if not isinstance(loss, str) or loss.lower() not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; valid names: {', '.join(sorted(LOSSES))}")
    return LOSSES[loss.lower()]()
