r"""Weight initialisers: ``name -> function(shape, seed, dtype) -> ndarray`` on the host.

Every initialiser draws a weight of shape ``(out, in)`` = ``(fan_out, fan_in)``, the layout
of ``docs/notation-guide.md``.  Biases start at zero unless a layer asks otherwise.

=====================  =============================================================  ==========
name                   distribution                                                   used by
=====================  =============================================================  ==========
``glorot_uniform``     :math:`U(-a, a)`, :math:`a = \sqrt{6 / (n_{in} + n_{out})}`     Frazier
``glorot_normal``      :math:`N(0, 2 / (n_{in} + n_{out}))`
``he_uniform``         :math:`U(-a, a)`, :math:`a = \sqrt{6 / n_{in}}`                  ReLU nets
``he_normal``          :math:`N(0, 2 / n_{in})`
``scaled_normal``      :math:`\text{scale} \cdot N(0, 1)` (``weight_scale`` in quadrants)
``torch_default``      :math:`U(-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}})`, bias too          PyTorch
=====================  =============================================================  ==========

``xavier_*`` and ``kaiming_*`` are accepted as aliases of the ``glorot_*`` and ``he_*`` names.

``seed`` is ``None``, an integer >= 0 or a ``numpy.random.Generator`` (``Dense`` passes its
Generator, so the layers of one model draw from one stream); ``rng=`` is its deprecated
spelling.  A bad seed or ``scale`` raises :class:`~deltaprop.InvalidParameterError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._checks import NOT_GIVEN, InvalidParameterError, check_number, seed_or_rng

# (shape, seed, dtype) -> weight; Dense passes its np.random.Generator as the seed
Initializer = Callable[[tuple[int, int], Any, np.dtype], np.ndarray]


def glorot_uniform(shape: tuple[int, int], seed: Any = None, dtype: Any = np.float32, *,
                   rng: Any = NOT_GIVEN) -> np.ndarray:
    rng = seed_or_rng("glorot_uniform", seed, rng)
    fan_out, fan_in = shape
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(shape: tuple[int, int], seed: Any = None, dtype: Any = np.float32, *,
                  rng: Any = NOT_GIVEN) -> np.ndarray:
    rng = seed_or_rng("glorot_normal", seed, rng)
    fan_out, fan_in = shape
    return (rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))).astype(dtype)


def he_uniform(shape: tuple[int, int], seed: Any = None, dtype: Any = np.float32, *,
               rng: Any = NOT_GIVEN) -> np.ndarray:
    rng = seed_or_rng("he_uniform", seed, rng)
    limit = np.sqrt(6.0 / shape[1])
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape: tuple[int, int], seed: Any = None, dtype: Any = np.float32, *,
              rng: Any = NOT_GIVEN) -> np.ndarray:
    rng = seed_or_rng("he_normal", seed, rng)
    return (rng.standard_normal(shape) * np.sqrt(2.0 / shape[1])).astype(dtype)


def scaled_normal(shape: tuple[int, int], seed: Any = None, dtype: Any = np.float32,
                  scale: float = 0.01, *, rng: Any = NOT_GIVEN) -> np.ndarray:
    """``weight_scale * randn(...)``, as in examples/quadrants.py; pass ``scale`` (a finite
    number >= 0) with ``functools.partial``."""
    scale = check_number("scaled_normal", "scale", scale, low=0.0)
    rng = seed_or_rng("scaled_normal", seed, rng)
    return (scale * rng.standard_normal(shape)).astype(dtype)


def torch_default(shape: tuple[int, int], seed: Any = None, dtype: Any = np.float32, *,
                  rng: Any = NOT_GIVEN) -> np.ndarray:
    """The distribution of PyTorch's ``nn.Linear`` default: ``U(-1/sqrt(in), 1/sqrt(in))``."""
    rng = seed_or_rng("torch_default", seed, rng)
    bound = 1.0 / np.sqrt(shape[-1]) if shape[-1] > 0 else 0.0
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "scaled_normal": scaled_normal,
    "torch_default": torch_default,
}
_ALIASES = {
    "xavier_uniform": "glorot_uniform",
    "xavier_normal": "glorot_normal",
    "kaiming_uniform": "he_uniform",
    "kaiming_normal": "he_normal",
}


def get_initializer(init: str | Callable) -> Callable:
    """Look up an initialiser by name (or pass a callable through); anything else raises
    :class:`~deltaprop.InvalidParameterError` listing the valid names."""
    if callable(init):
        return init
    if not isinstance(init, str):
        raise InvalidParameterError(f"init must be a name or a callable, got "
                                    f"{type(init).__name__}")
    key = _ALIASES.get(init.lower(), init.lower())
    if key not in INITIALIZERS:
        valid = ", ".join(sorted([*INITIALIZERS, *_ALIASES]))
        raise InvalidParameterError(f"unknown init {init!r}; valid names: {valid}")
    return INITIALIZERS[key]
