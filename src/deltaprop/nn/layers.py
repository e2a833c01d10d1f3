r"""The layer protocol, the fully connected layer ``Dense`` and ``Dropout``.

A layer is one short class: ``forward`` caches exactly what ``backward`` needs, ``backward``
reads only that cache, fills ``self.grads`` and returns the gradient for the layer below.
Parameters and their gradients live in two dicts with the same keys, so optimisers, savers and
the explainer walk them the same way.

Notation (``docs/notation-guide.md``): a batch has one sample per row, ``W`` is ``(out, in)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import NOT_GIVEN, check_flag, check_integer, check_number, seed_or_rng
from . import fused as _fused
from ._backend import Array, device_uniform, namespace, resolve_dtype, to_namespace, to_numpy
from .init import get_initializer


class Layer:
    """Base class of every layer: no parameters, training mode on.

    Attributes
    ----------
    params, grads : dict[str, Array]
        Parameters and their gradients under the same keys (empty for parameter-free layers).
    training : bool
        ``True`` in training mode (``Dropout`` drops), ``False`` in evaluation mode.
    """

    def __init__(self) -> None:
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        self.training = True

    def forward(self, x: Array) -> Array:  # pragma: no cover - every layer overrides it
        raise NotImplementedError

    def backward(self, grad_out: Array) -> Array:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, x: Array) -> Array:
        return self.forward(x)

    def begin_epoch(self) -> None:
        """Called by ``fit`` at the start of every epoch (``Dropout`` reseeds its device
        generator here); nothing for most layers."""

    def zero_grad(self) -> None:
        """Set every gradient to zero (the engine overwrites them anyway; for manual loops)."""
        for key, grad in self.grads.items():
            self.grads[key] = grad * 0

    def clear_cache(self) -> None:
        """Drop the arrays recorded by the last forward/backward pass."""
        for name in self._cache_names:
            setattr(self, name, None)

    _cache_names: tuple[str, ...] = ()

    def to(self, like: Array) -> Layer:
        """Move the parameters to the namespace/device of ``like`` (an array). Returns self."""
        for key, value in self.params.items():
            self.params[key] = to_namespace(to_numpy(value), like=like)
        self.grads = {key: value * 0 for key, value in self.params.items()}
        return self

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class Dense(Layer):
    r"""Fully connected layer: :math:`Z = A_{prev} W^\top + b`.

    Forward:
        ``z = a_prev @ weight.T + bias``

    Backward, with ``delta`` :math:`= \Delta = \partial L / \partial Z` arriving as ``grad_out``:
        :math:`\partial L/\partial W = \Delta^\top A_{prev}`,
        :math:`\partial L/\partial b = \sum_n \Delta_{n,:}`,
        :math:`\partial L/\partial A_{prev} = \Delta W`.

    Shape:
        - Input ``a_prev``: ``(N, in_features)``
        - Output ``z``: ``(N, out_features)``

    Parameters:
        in_features, out_features: integers >= 1 (``np.int64`` too).
        bias: ``True`` / ``False``: give the layer a bias.
        init: an initialiser name of :mod:`deltaprop.nn.init` or a callable
            ``(shape, generator, dtype) -> array``.
        seed: ``None``, an integer >= 0 or a ``numpy.random.Generator`` (shared, not copied);
            ``rng=`` is its deprecated spelling (a ``DeprecationWarning``; both is an error).
        dtype: float32 (default) or float64.

        A parameter that breaks its rule raises
        :class:`~deltaprop.InvalidParameterError` naming it, the rule and the value.

    Attributes:
        params["weight"]: ``(out_features, in_features)``, drawn by ``init`` (default Glorot
            uniform); the layout of PyTorch's ``nn.Linear.weight``.
        params["bias"]: ``(out_features,)``, zeros (``init="torch_default"`` draws it as
            PyTorch does).
        a_prev, z: the input and output of the last forward pass.
        delta, grad_in: :math:`\Delta` and :math:`\partial L/\partial A_{prev}` of the last
            backward pass.
    """

    _cache_names = ("a_prev", "z", "delta", "grad_in")

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True,
                 init: Any = "glorot_uniform", seed: Any = None, dtype: Any = np.float32,
                 rng: Any = NOT_GIVEN) -> None:
        super().__init__()
        self.in_features = check_integer("Dense", "in_features", in_features, low=1)
        self.out_features = check_integer("Dense", "out_features", out_features, low=1)
        self.use_bias = check_flag("Dense", "bias", bias)
        dtype = resolve_dtype(dtype)
        rng = seed_or_rng("Dense", seed, rng)
        draw = get_initializer(init)
        shape = (self.out_features, self.in_features)
        self.params["weight"] = np.ascontiguousarray(draw(shape, rng, dtype), dtype=dtype)
        if self.use_bias:
            if draw is get_initializer("torch_default"):
                bound = 1.0 / np.sqrt(self.in_features)
                bias = rng.uniform(-bound, bound, size=self.out_features).astype(dtype)
            else:
                bias = np.zeros(self.out_features, dtype=dtype)
            self.params["bias"] = bias
        self.grads = {key: value * 0 for key, value in self.params.items()}
        self.a_prev = self.z = self.delta = self.grad_in = None

    def forward(self, a_prev: Array) -> Array:
        if a_prev.ndim != 2 or a_prev.shape[1] != self.in_features:
            raise ValueError(f"{self!r} expected input of shape (N, {self.in_features}), "
                             f"got {tuple(a_prev.shape)}")
        self.a_prev = a_prev                                   # recorded: A⁽ˡ⁻¹⁾
        z = a_prev @ self.params["weight"].T                   # (N, in) @ (in, out) -> (N, out)
        if self.use_bias and isinstance(z, np.ndarray):
            z += self.params["bias"]       # in place: z is the product's own new array
        elif self.use_bias:
            z = z + self.params["bias"]                        # (N, out) + (out,) broadcast
        self.z = z                                             # recorded: Z⁽ˡ⁾
        return z

    def backward(self, delta: Array, *, input_grad: bool = True) -> Array | None:
        xp = namespace(delta)
        self.delta = delta                                     # recorded: Δ⁽ˡ⁾ = ∂L/∂Z⁽ˡ⁾
        self.grads["weight"] = delta.T @ self.a_prev           # (out, N) @ (N, in) -> (out, in)
        if self.use_bias:
            self.grads["bias"] = _bias_grad(xp, delta)         # (N, out) -> (out,)
        # ∂L/∂A⁽ˡ⁻¹⁾ = Δ W; the first layer of a model may skip it (nobody below needs it)
        self.grad_in = delta @ self.params["weight"] if input_grad else None  # (N, out) @ (out, in)
        return self.grad_in

    def extra_repr(self) -> str:
        text = f"in_features={self.in_features}, out_features={self.out_features}"
        return text if self.use_bias else text + ", bias=False"


def _bias_grad(xp: Any, delta: Array) -> Array:
    r""":math:`\partial L/\partial b = \sum_n \Delta_{n,:}`: NumPy's ``sum(axis=0)`` (the
    reference), or one fused kernel pass when numba is installed (:mod:`deltaprop.nn.fused`)."""
    kernels = _fused.kernels_for(None, delta) if delta.ndim == 2 else None
    if kernels is None:
        return xp.sum(delta, axis=0)
    out = np.empty(delta.shape[1], delta.dtype)
    kernels.column_sums(np.ascontiguousarray(delta), out)
    return out


class Dropout(Layer):
    r"""Inverted dropout: in training, :math:`A = X \odot M / (1 - p)` with :math:`M_{ij} \sim
    \text{Bernoulli}(1 - p)`; in evaluation mode it is the identity.

    Backward: :math:`\partial L/\partial X = \partial L/\partial A \odot M / (1 - p)`.

    Shape:
        - Input and output: ``(N, n)``

    ``p`` is a finite number in ``[0, 1)`` (``np.float32(0.5)`` too); ``seed`` is ``None``, an
    integer >= 0 or a ``numpy.random.Generator``, kept as the attribute ``rng`` (``rng=`` is
    the deprecated spelling of ``seed=``).  A bad value raises
    :class:`~deltaprop.InvalidParameterError`.

    Where the masks are drawn: for NumPy arrays, from ``rng``.  For PyTorch tensors and CuPy
    arrays, on their device by the
    library's own generator, seeded with one number drawn from ``rng`` at the first forward
    pass and again whenever ``fit`` begins an epoch (:meth:`begin_epoch`): no mask is copied
    from the host per batch, and a checkpoint (which saves ``rng``) resumes the same masks.
    Other array libraries get masks drawn on the host and copied over.
    """

    _cache_names = ("mask",)

    def __init__(self, p: float = 0.5, *, seed: Any = None, rng: Any = NOT_GIVEN) -> None:
        super().__init__()
        self.p = check_number("Dropout", "p", p, low=0.0, high=1.0)
        self.rng = seed_or_rng("Dropout", seed, rng)
        self.mask = None
        self._draw = None                     # the device generator's draw(shape), if any

    def begin_epoch(self) -> None:
        self._draw = None                     # the next device mask reseeds from self.rng

    def to(self, like: Array) -> Dropout:
        self._draw = None                     # a generator belongs to one device
        return super().to(like)

    def forward(self, x: Array) -> Array:
        if not self.training or self.p == 0:
            self.mask = None
            return x
        if isinstance(x, np.ndarray):
            keep = self.rng.random(x.shape) >= self.p                # Bernoulli(1 - p)
            self.mask = keep.astype(x.dtype) / (1.0 - self.p)        # M / (1 - p)
            return x * self.mask
        if self._draw is None:                # first mask of the epoch: seed from self.rng
            self._draw = device_uniform(self.rng, like=x)
        xp = namespace(x)
        keep = self._draw(tuple(x.shape)) >= self.p                  # on x's device
        self.mask = xp.astype(keep, x.dtype) / (1.0 - self.p)        # M / (1 - p)
        return x * self.mask

    def backward(self, grad_out: Array) -> Array:
        return grad_out if self.mask is None else grad_out * self.mask

    def extra_repr(self) -> str:
        return f"p={self.p}"
