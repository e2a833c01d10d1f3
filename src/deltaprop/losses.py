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
:math:`\sum_n w_n \ell_n / \sum_n w_n`; weights that sum to 0 leave it undefined and are
refused (``fit`` skips such a batch instead).

Called directly (the README's four-line loop), a loss checks its inputs as PyTorch does:
shapes, finite targets, labels in ``[0, C)`` and probability rows summing to 1 for
``CrossEntropyLoss``, targets in [0, 1] for both BCE losses and predictions in [0, 1] for
``BCELoss``; each error names the loss, the argument, the rule and the first offending value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._backend import Array, dtype_name, namespace, to_numpy
from .activations import Sigmoid

_LOG_FLOOR = -100.0      # PyTorch's BCELoss clamps log(p) at -100: a floor, never log(0)
_BCE_EPSILON = 1e-12     # PyTorch's floor of p(1 - p) in BCELoss's gradient


class Loss:
    """Base class. Subclasses define ``elementwise`` (value and gradient per element).

    ``loss(output, target, sample_weight=None)`` checks its inputs (shapes, finite targets in
    the loss's range, weights finite, >= 0 and not all zero), then returns
    ``value_and_grad(...)``, which computes without checking: ``fit`` calls it directly on
    arrays of other libraries, whose data it has checked once before the first epoch (each
    check there would wait for the device).
    """

    #: the function that turns the model's output into probabilities (``predict_proba``)
    link: str | None = None

    def __call__(self, output: Array, target: Array, sample_weight: Array | None = None):
        output, target, sample_weight = self._as_arrays(output, target, sample_weight)
        self.check_inputs(output, target, sample_weight)
        # a non-finite output gives a NaN / inf loss, as in PyTorch, without NumPy's warnings
        # (fit reports such a loss as a divergence)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self.value_and_grad(output, target, sample_weight)

    def _as_arrays(self, output, target, sample_weight):
        """``output`` must be an array; ``target`` and ``sample_weight`` may be lists or
        scalars when ``output`` is a NumPy array (they become NumPy arrays), and must
        otherwise be arrays of ``output``'s library."""
        name = type(self).__name__
        if not _is_array(output):
            raise TypeError(f"{name} output must be an array (the model's output), got "
                            f"{type(output).__name__}")
        if target is None:
            raise TypeError(f"{name} target must be an array, got None")
        named = {"target": target, "sample_weight": sample_weight}
        for key, value in named.items():
            if value is None:
                continue
            if not _is_array(value):
                if not isinstance(output, np.ndarray):
                    raise TypeError(f"{name} {key} must be an array like output "
                                    f"({type(output).__name__}), got {type(value).__name__}")
                try:
                    value = named[key] = np.asarray(value)
                except (TypeError, ValueError) as error:
                    raise TypeError(f"{name} {key} must be array-like, got "
                                    f"{type(value).__name__}: {error}") from None
            if not _same_library(value, output):
                raise TypeError(f"{name} {key} is a {_library(value)} array but output is a "
                                f"{_library(output)} one: put both in the same library")
        return output, named["target"], named["sample_weight"]

    def value_and_grad(self, output: Array, target: Array, sample_weight: Array | None = None):
        r"""Mean loss and :math:`\partial L/\partial \text{output}`, inputs NOT checked."""
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

    def check_inputs(self, output: Array, target: Array, sample_weight: Array | None) -> None:
        """Raise a ValueError / TypeError naming the loss, the argument, the rule and the first
        offending value.  Costs a few reductions over ``(N, k)``: nothing next to a layer's
        matrix product (``benchmarks/RESULTS.md``)."""
        self._check_output(output)
        self._check_shapes(output, target, sample_weight)
        self._check_target_values(target, output)
        if sample_weight is not None:
            check_sample_weight(sample_weight, output.dtype, owner=type(self).__name__)

    def _check_output(self, output) -> None:
        """Real floating numbers of shape (N, k), N and k >= 1 (a mean over no element has
        no value; integer or complex outputs are refused, as in PyTorch)."""
        name = type(self).__name__
        if output.ndim != 2:
            raise ValueError(f"{name} expected output of shape (N, k), got {tuple(output.shape)}")
        if output.shape[0] == 0 or output.shape[1] == 0:
            raise ValueError(f"{name} expected output of shape (N, k) with N >= 1 and k >= 1 "
                             f"(the mean over no element is undefined), got {tuple(output.shape)}")
        if isinstance(output, np.ndarray):
            floating = output.dtype.kind == "f"
        else:
            floating = namespace(output).isdtype(output.dtype, "real floating")
        if not floating:
            raise TypeError(f"{name} output must hold real floating-point numbers (the model's "
                            f"output), got dtype {output.dtype}")

    def _check_shapes(self, output, target, sample_weight) -> None:
        if tuple(target.shape) != tuple(output.shape):
            raise ValueError(f"{type(self).__name__} expected target of shape "
                             f"{tuple(output.shape)} (same as output), got {tuple(target.shape)}")
        _check_weight_shape(sample_weight, output.shape[0])

    def _check_target_values(self, target: Array, output: Array) -> None:
        """Every loss: finite numeric targets (subclasses narrow the range)."""
        _check_numeric(type(self).__name__, "target", target)
        _check_range(type(self).__name__, "target", target)

    def validate_target(self, y: np.ndarray, n_outputs: int) -> None:
        """Check a whole target array once, before training (labels, ranges, finiteness)."""
        if y.dtype.kind not in "fiub" or not np.all(np.isfinite(y)):
            raise ValueError(f"y must hold finite numbers for {type(self).__name__}")
        if y.ndim != 2 or y.shape[1] != n_outputs:
            raise ValueError(f"{type(self).__name__} expected y of shape (N, {n_outputs}) to "
                             f"match the model's {n_outputs} output(s), got {y.shape}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _same_library(a: Array, b: Array) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):     # the fast, common path
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
    try:
        return namespace(a) is namespace(b)
    except TypeError:                                   # array_api_compat: mixed libraries
        return False


def _library(array: Array) -> str:
    """``"numpy"``, ``"torch"``, ``"array_api_strict"``, ...: the array's library."""
    return type(array).__module__.split(".")[0]


def check_sample_weight(sample_weight: Array, dtype: Any, *, owner: str = "loss") -> None:
    r"""Weights of a weighted mean: finite, >= 0, and a sum > 0 that is finite in ``dtype``
    (the mean :math:`\sum_n w_n \ell_n / \sum_n w_n` is undefined when no row counts)."""
    xp = namespace(sample_weight)
    _check_numeric(owner, "sample_weight", sample_weight)
    _check_range(owner, "sample_weight", sample_weight, low=0.0)
    with np.errstate(over="ignore"):                    # an overflow is reported below
        total = float(xp.sum(xp.astype(sample_weight, dtype)))
    if not total > 0:
        raise ValueError(f"{owner} sample_weight sums to 0: the weighted mean Σ wₙ ℓₙ / Σ wₙ "
                         "is undefined when no row has weight (fit skips such batches)")
    if not math.isfinite(total):
        raise ValueError(f"{owner} sample_weight sums to {total} in {_name(dtype)}: scale "
                         "the weights down (the weighted mean does not change)")


def _check_weight_shape(sample_weight, n: int) -> None:
    if sample_weight is not None and tuple(sample_weight.shape) != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), "
                         f"got {tuple(sample_weight.shape)}")


def _check_numeric(owner: str, name: str, array: Array) -> None:
    if isinstance(array, np.ndarray):                   # NumPy directly: the common, fast path
        real = array.dtype.kind in "fiub"
    else:
        xp = namespace(array)
        real = (xp.isdtype(array.dtype, "real floating") or xp.isdtype(array.dtype, "integral")
                or xp.isdtype(array.dtype, "bool"))
    if not real:
        raise TypeError(f"{owner} {name} must hold real numbers, got dtype {array.dtype}")


def _check_range(owner: str, name: str, array: Array, low: float = -math.inf,
                 high: float = math.inf, *, allow_nan: bool = False) -> None:
    """Raise unless every value is finite and in ``[low, high]``: two reductions on the fast
    path; the first offending value and its index are looked up only to write the error.
    ``allow_nan`` lets NaN through (a diverged model's output: the loss is then NaN)."""
    if isinstance(array, np.ndarray):                   # NumPy directly: the fast path
        if array.size == 0:
            return
        lo, hi = float(array.min()), float(array.max())
    else:
        if math.prod(array.shape) == 0:
            return
        xp = namespace(array)
        if xp.isdtype(array.dtype, "bool"):
            array = xp.astype(array, xp.int8)
        lo, hi = float(xp.min(array)), float(xp.max(array))
    if allow_nan:
        if not (lo < low or hi > high):                  # NaN compares False: passes
            return
    elif math.isfinite(lo) and math.isfinite(hi) and low <= lo and hi <= high:
        return
    host = to_numpy(array)
    finite = np.isfinite(host) if host.dtype.kind == "f" else np.ones(host.shape, bool)
    bad = (~finite & ~(np.isnan(host) if allow_nan else False)) | (host < low) | (host > high)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    index_text = index[0] if len(index) == 1 else index
    rule = "finite" if (low, high) == (-math.inf, math.inf) else \
        f"in [{low:g}, {high:g}]" if high < math.inf else f"finite and >= {low:g}"
    raise ValueError(f"{owner} {name} must be {rule}, got {host[index].item()!r} at index "
                     f"{index_text}")


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
        losses = xp.where(xp.isnan(output), output, losses)   # NaN in, NaN out (not the floor)
        denom = xp.maximum(output * (1 - output), xp.asarray(_BCE_EPSILON, dtype=output.dtype))
        return losses, (output - target) / denom

    def _check_target_values(self, target, output):
        _check_numeric(type(self).__name__, "target", target)
        _check_range(type(self).__name__, "target", target, 0.0, 1.0)
        # probabilities in [0, 1] (as PyTorch); NaN passes: a diverged model's NaN output gives
        # a NaN loss, which fit reports as divergence
        if type(self) is BCELoss:
            _check_range("BCELoss", "output (probabilities; pass logits to BCEWithLogitsLoss)",
                         output, 0.0, 1.0, allow_nan=True)

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

    def value_and_grad(self, output, target, sample_weight=None):
        if sample_weight is None and _numpy_labels(output, target):
            return self._from_labels(output, target)
        if target.ndim == 1:
            xp = namespace(output)
            classes = xp.arange(output.shape[1], dtype=target.dtype)
            target = xp.astype(target[:, None] == classes[None, :], output.dtype)  # one-hot (N, C)
        return super().value_and_grad(output, target, sample_weight)

    def _check_shapes(self, output, target, sample_weight):
        if target.ndim != 1:
            return super()._check_shapes(output, target, sample_weight)
        if not namespace(target).isdtype(target.dtype, "integral"):
            raise TypeError("CrossEntropyLoss expects integer class labels of shape (N,) "
                            f"or probabilities of shape (N, C), got dtype {target.dtype}")
        if target.shape[0] != output.shape[0]:
            raise ValueError(f"CrossEntropyLoss expected {output.shape[0]} labels (one per "
                             f"row of output), got {target.shape[0]}")
        _check_weight_shape(sample_weight, output.shape[0])

    def _check_target_values(self, target, output):
        n_classes = output.shape[1]
        if target.ndim == 1:                             # labels: integers in [0, C)
            _check_range("CrossEntropyLoss", f"target labels (output has {n_classes} columns)",
                         target, 0, n_classes - 1)
            return
        _check_numeric("CrossEntropyLoss", "target", target)
        _check_range("CrossEntropyLoss", "target probabilities", target, low=0.0)
        tolerance = _tolerance(target, output)
        if isinstance(target, np.ndarray):
            deviation = float(np.abs(target.sum(axis=1) - 1).max())
        else:
            xp = namespace(target)
            deviation = float(xp.max(xp.abs(xp.sum(xp.astype(target, output.dtype), axis=1) - 1)))
        if not deviation <= tolerance:                   # only then look for the row
            _check_row_sums(to_numpy(target).sum(axis=1, dtype=np.float64), tolerance)

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
        _check_row_sums(y.sum(axis=1, dtype=np.float64), _tolerance(y))


def _tolerance(*arrays) -> float:
    """How far a probability row may sum from 1: √ε of the coarsest float dtype involved
    (3.5e-4 in float32, 1.5e-8 in float64)."""
    dtypes = [np.dtype(dtype_name(a)) for a in arrays]
    return max((_SQRT_EPS[d] for d in dtypes if d in _SQRT_EPS), default=_SQRT_EPS[_F64])


_F64 = np.dtype(np.float64)
_SQRT_EPS = {np.dtype(t): math.sqrt(np.finfo(t).eps) for t in (np.float16, np.float32, np.float64)}


def _check_row_sums(row_sums: np.ndarray, tolerance: float) -> None:
    """CrossEntropyLoss's fused gradient A − Y holds only when each target row sums to 1."""
    off = np.abs(row_sums - 1) > tolerance
    if np.any(off):
        row = int(np.argmax(off))
        raise ValueError("CrossEntropyLoss target probabilities must sum to 1 in every row "
                         f"(within {tolerance:.1e}), got {float(row_sums[row])!r} in row {row}"
                         " (renormalise: y / y.sum(axis=1, keepdims=True))")


def _numpy_labels(output, target) -> bool:
    """NumPy logits (N, C) and NumPy integer labels (N,) (checked by the caller)."""
    return (isinstance(output, np.ndarray) and isinstance(target, np.ndarray)
            and output.ndim == 2 and target.ndim == 1 and target.dtype.kind in "iu"
            and target.shape[0] == output.shape[0] > 0 and output.shape[1] > 0
            and output.dtype.kind == "f")


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


def _name(dtype: Any) -> str:
    """``"float32"`` for NumPy's, PyTorch's (``torch.float32``) or any library's dtype."""
    return str(dtype).rsplit(".", 1)[-1]
