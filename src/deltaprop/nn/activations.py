r"""Element-wise activation layers, ``Softmax``, and the ``name -> class`` table.

An element-wise activation :math:`A = \varphi(Z)` has a diagonal Jacobian, so its
backward pass is a product, element by element:

.. math:: \partial L/\partial Z = \partial L/\partial A \odot \varphi'(Z)

Each class below writes :math:`\varphi` in ``forward`` and :math:`\varphi'` in ``derivative``,
next to each other.  ``derivative`` gets both ``z`` and ``a`` so that a derivative written from
the output (sigmoid :math:`a(1-a)`, tanh :math:`1-a^2`) needs no second evaluation.

``Softmax`` is the exception: its Jacobian is full, and its ``backward`` is the
Jacobian-vector product.  With cross-entropy the pair collapses to :math:`(A - Y)/N`; that
fused form lives in :class:`deltaprop.nn.losses.CrossEntropyLoss`, which takes logits.

With numba installed, ``ReLU``, ``LeakyReLU``, ``Sigmoid`` and ``Tanh`` run ``forward`` and
``backward`` on NumPy float32/float64 arrays as one fused kernel pass each
(:mod:`deltaprop.nn.fused`); ``function`` and ``derivative`` stay the reference, and the
recorded ``z``, ``a``, ``grad_out`` and ``grad_in`` are the same in both paths.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import InvalidParameterError, check_choice, check_number
from . import fused as _fused
from ._backend import Array, erf, is_numpy, namespace
from .functional import sigmoid, softmax
from .layers import Layer


class Activation(Layer):
    """Base class: ``forward`` records ``z`` and ``a``; ``backward`` multiplies by φ′."""

    _cache_names = ("z", "a", "grad_out", "grad_in")

    def __init__(self) -> None:
        super().__init__()
        self.z = self.a = self.grad_out = self.grad_in = None

    def function(self, xp: Any, z: Array) -> Array:  # pragma: no cover - overridden
        raise NotImplementedError

    def derivative(self, xp: Any, z: Array, a: Array) -> Array:  # pragma: no cover - overridden
        raise NotImplementedError

    def forward(self, z: Array) -> Array:
        self.z = z                                           # recorded: Z⁽ˡ⁾
        kernels = self._kernels(z)
        if kernels is not None:                              # the same φ(Z), in one pass
            self.a = _run_elementwise(self._fused_forward, kernels, z)
            return self.a
        self.a = self.function(namespace(z), z)              # recorded: A⁽ˡ⁾ = φ(Z⁽ˡ⁾)
        return self.a

    def backward(self, grad_out: Array) -> Array:
        self.grad_out = grad_out                             # ∂L/∂A⁽ˡ⁾
        kernels = self._kernels(grad_out, self.z, self.a)
        if kernels is not None and grad_out.shape == self.z.shape:   # ∂L/∂A ⊙ φ′, one pass
            self.grad_in = _run_elementwise(self._fused_backward, kernels, grad_out)
            return self.grad_in
        xp = namespace(grad_out)
        self.grad_in = grad_out * self.derivative(xp, self.z, self.a)  # Δ⁽ˡ⁾ = ∂L/∂A ⊙ φ′(Z)
        return self.grad_in

    #: the classes whose ``_fused_forward`` / ``_fused_backward`` compute their own φ and φ′
    #: (a subclass, or an instance given its own ``function`` / ``derivative``, keeps the
    #: reference: it may change φ)
    _fused_classes: tuple[type, ...] = ()

    def _kernels(self, *arrays: Array):
        own = vars(self)
        if type(self) not in self._fused_classes or "function" in own or "derivative" in own:
            return None
        return _fused.kernels_for(None, *arrays)


class Identity(Activation):
    r""":math:`\varphi(z) = z`, :math:`\varphi'(z) = 1` (linear output for regression)."""

    def function(self, xp: Any, z: Array) -> Array:
        return z

    def derivative(self, xp: Any, z: Array, a: Array) -> Array:
        return xp.ones_like(z)

    def backward(self, grad_out: Array) -> Array:
        self.grad_out = self.grad_in = grad_out              # φ′ = 1: nothing to multiply
        return grad_out


class Sigmoid(Activation):
    r""":math:`\sigma(z) = 1/(1+e^{-z})`, :math:`\sigma'(z) = a(1-a)` (written from the output).

    Computed as :math:`1/(1+e^{-|z|})` or :math:`e^{-|z|}/(1+e^{-|z|})` by sign, so no
    exponential can overflow.
    """

    def function(self, xp: Any, z: Array) -> Array:
        return sigmoid(xp, z)

    def derivative(self, xp: Any, z: Array, a: Array) -> Array:
        return a * (1 - a)                                   # σ′(z) = σ(z)(1 − σ(z))

    def _fused_forward(self, kernels, z, out):
        kernels.sigmoid_forward(z, out)

    def _fused_backward(self, kernels, grad_out, out):
        kernels.sigmoid_backward(grad_out, _fused.flat(self.a), out)


class Tanh(Activation):
    r""":math:`\tanh(z)`, :math:`\tanh'(z) = 1 - a^2` (written from the output)."""

    def function(self, xp: Any, z: Array) -> Array:
        return xp.tanh(z)

    def derivative(self, xp: Any, z: Array, a: Array) -> Array:
        return 1 - a * a

    def _fused_forward(self, kernels, z, out):
        kernels.tanh_forward(z, out)

    def _fused_backward(self, kernels, grad_out, out):
        kernels.tanh_backward(grad_out, _fused.flat(self.a), out)


class ReLU(Activation):
    r""":math:`\max(z, 0)`, :math:`\varphi'(z) = [z > 0]` (0 at z = 0, as PyTorch)."""

    def function(self, xp: Any, z: Array) -> Array:
        if is_numpy(xp):
            # max(Z, 0) against an array of zeros kept between calls: in NumPy 2.4 this is
            # ~15x faster than xp.where (which branches per element) and ~4x faster than a
            # scalar 0 (measured at (128, 256) float32)
            zeros = getattr(self, "_zeros", None)
            if zeros is None or zeros.shape != z.shape or zeros.dtype != z.dtype:
                zeros = self._zeros = np.zeros(z.shape, z.dtype)
            return np.maximum(z, zeros)
        return xp.where(z > 0, z, xp.zeros_like(z))

    def derivative(self, xp: Any, z: Array, a: Array) -> Array:
        return xp.astype(z > 0, z.dtype)                     # float mask, not boolean

    def _fused_forward(self, kernels, z, out):
        kernels.relu_forward(z, out)

    def _fused_backward(self, kernels, grad_out, out):
        kernels.relu_backward(grad_out, _fused.flat(self.z), out)


class LeakyReLU(Activation):
    r""":math:`z` for :math:`z > 0`, else :math:`\alpha z`; :math:`\varphi' \in \{1, \alpha\}`.

    ``negative_slope`` :math:`\alpha` is a finite number >= 0 (NumPy scalars too)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = check_number("LeakyReLU", "negative_slope", negative_slope,
                                           low=0.0)

    def function(self, xp: Any, z: Array) -> Array:
        return xp.where(z > 0, z, self.negative_slope * z)

    def derivative(self, xp: Any, z: Array, a: Array) -> Array:
        positive = xp.astype(z > 0, z.dtype)
        return positive + self.negative_slope * (1 - positive)

    def _fused_forward(self, kernels, z, out):
        kernels.leaky_relu_forward(z, z.dtype.type(self.negative_slope), out)

    def _fused_backward(self, kernels, grad_out, out):
        kernels.leaky_relu_backward(grad_out, _fused.flat(self.z),
                                    grad_out.dtype.type(self.negative_slope), out)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Activation):
    r""":math:`z` for :math:`z > 0`, else :math:`\alpha(e^z - 1)`; :math:`\varphi' = a + \alpha`
    for :math:`z \le 0` (written from the output); ``alpha`` is a finite number > 0."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = check_number("ELU", "alpha", alpha, low=0.0, low_open=True)

    def function(self, xp: Any, z: Array) -> Array:
        negative = xp.where(z > 0, xp.zeros_like(z), z)      # exp only of z <= 0: no overflow
        return xp.where(z > 0, z, self.alpha * xp.expm1(negative))

    def derivative(self, xp: Any, z: Array, a: Array) -> Array:
        return xp.where(z > 0, xp.ones_like(z), a + self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Activation):
    r""":math:`z\,\Phi(z)`, :math:`\varphi'(z) = \Phi(z) + z\,\phi(z)` (Φ the normal CDF).

    ``approximate="tanh"`` uses :math:`\Phi(z) \approx \frac12(1 + \tanh(\sqrt{2/\pi}
    (z + 0.044715 z^3)))`, as PyTorch's ``GELU(approximate="tanh")``; ``approximate`` is
    ``"none"`` or ``"tanh"``.
    """

    _K = math.sqrt(2.0 / math.pi)

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = check_choice("GELU", "approximate", approximate, ("none", "tanh"))

    def function(self, xp: Any, z: Array) -> Array:
        if self.approximate == "tanh":
            return 0.5 * z * (1 + xp.tanh(self._K * (z + 0.044715 * z * z * z)))
        return 0.5 * z * (1 + erf(xp, z / math.sqrt(2.0)))

    def derivative(self, xp: Any, z: Array, a: Array) -> Array:
        if self.approximate == "tanh":
            t = xp.tanh(self._K * (z + 0.044715 * z * z * z))
            return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * self._K * (1 + 3 * 0.044715 * z * z)
        cdf = 0.5 * (1 + erf(xp, z / math.sqrt(2.0)))
        pdf = xp.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        return cdf + z * pdf

    def extra_repr(self) -> str:
        return "" if self.approximate == "none" else f"approximate={self.approximate!r}"


class Softplus(Activation):
    r""":math:`\frac1\beta \log(1 + e^{\beta z})`, :math:`\varphi'(z) = \sigma(\beta z)`;
    linear above ``threshold`` (as PyTorch), computed with ``logaddexp`` so it never overflows.
    ``beta`` is a finite number > 0, ``threshold`` a finite number."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = check_number("Softplus", "beta", beta, low=0.0, low_open=True)
        self.threshold = check_number("Softplus", "threshold", threshold)

    def function(self, xp: Any, z: Array) -> Array:
        bz = self.beta * z
        return xp.where(bz > self.threshold, z, xp.logaddexp(xp.zeros_like(z), bz) / self.beta)

    def derivative(self, xp: Any, z: Array, a: Array) -> Array:
        bz = self.beta * z
        sig = sigmoid(xp, bz)
        return xp.where(bz > self.threshold, xp.ones_like(z), sig)

    def extra_repr(self) -> str:
        return "" if self.beta == 1 and self.threshold == 20 else \
            f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Activation):
    r"""Softmax over the features of each row; its Jacobian is NOT diagonal.

    :math:`\partial a_i/\partial z_j = a_i(1_{ij} - a_j)`, so the backward pass is the
    Jacobian-vector product, row by row:

    .. math:: \partial L/\partial Z = A \odot (\partial L/\partial A - \textstyle\sum_j
              (\partial L/\partial A)_j A_j)

    Correct on its own (with any loss).  For training with cross-entropy, prefer logits and
    :class:`~deltaprop.nn.losses.CrossEntropyLoss`, whose gradient is the fused :math:`(A-Y)/N`.
    """

    def function(self, xp: Any, z: Array) -> Array:
        return softmax(xp, z)

    def backward(self, grad_out: Array) -> Array:
        self.grad_out = grad_out
        xp = namespace(grad_out)
        a = self.a
        dot = xp.sum(grad_out * a, axis=-1, keepdims=True)  # (N, 1): Σⱼ (∂L/∂A)ⱼ Aⱼ
        self.grad_in = a * (grad_out - dot)                  # (N, n) ⊙ (N, n)
        return self.grad_in

    def jacobian(self, xp: Any, a_row: Array) -> Array:
        """The full ``(n, n)`` Jacobian ``diag(a) - a aᵀ`` for one row (the explainer shows it)."""
        return xp.eye(a_row.shape[0], dtype=a_row.dtype) * a_row - a_row[:, None] * a_row[None, :]


def _run_elementwise(kernel, kernels, x: np.ndarray) -> np.ndarray:
    """A new C-ordered array like ``x`` filled by ``kernel(kernels, flat x, flat out)``."""
    out = np.empty(x.shape, x.dtype)
    kernel(kernels, _fused.flat(x), out.reshape(-1))
    return out


for _class in (ReLU, LeakyReLU, Sigmoid, Tanh):
    _class._fused_classes = (_class,)


ACTIVATIONS: dict[str, type[Activation]] = {
    "identity": Identity,
    "linear": Identity,
    "sigmoid": Sigmoid,
    "logistic": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "softplus": Softplus,
    "softmax": Softmax,
}


def get_activation(name: str | Activation | type[Activation], **kwargs: Any) -> Activation:
    """Build an activation layer from its name (``"relu"``), class, or pass an instance through."""
    if isinstance(name, Activation):
        return name
    if isinstance(name, type) and issubclass(name, Activation):
        return name(**kwargs)
    if not isinstance(name, str) or name.lower() not in ACTIVATIONS:
        valid = ", ".join(sorted(ACTIVATIONS))
        raise InvalidParameterError(f"unknown activation {name!r}; valid names: {valid}")
    return ACTIVATIONS[name.lower()](**kwargs)
