"""The layers of :func:`deltaprop.nn.mlp` (``Dense``, then the hidden activation and an
optional ``Dropout`` between every two widths), after checking its arguments: each error
names the argument, the rule and the value."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import InvalidParameterError, check_flag, check_integer, check_number, check_seed
from .activations import get_activation
from .layers import Dense, Dropout, Layer


def mlp_layers(sizes: Sequence[int], activation: Any = "relu", output: Any = None, *,
               init: Any = "glorot_uniform", bias: bool = True, dropout: float = 0.0,
               seed: Any = None, dtype: Any = np.float32) -> list[Layer]:
    """The layers of ``mlp(sizes, activation, output, ...)`` (see :func:`deltaprop.nn.mlp`)."""
    sizes = list(sizes) if isinstance(sizes, (list, tuple, np.ndarray)) else sizes
    if not isinstance(sizes, list) or len(sizes) < 2:
        raise InvalidParameterError(f"mlp sizes must be a list of at least 2 layer widths, "
                                    f"got {sizes!r}")
    sizes = [check_integer("mlp", f"sizes[{i}]", width, low=1) for i, width in enumerate(sizes)]
    dropout = check_number("mlp", "dropout", dropout, low=0.0, high=1.0)
    bias = check_flag("mlp", "bias", bias)
    rng = check_seed("mlp", "seed", seed)
    get_activation(activation)                              # fail early on a bad name
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(Dense(n_in, n_out, bias=bias, init=init, seed=rng, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(copy.deepcopy(get_activation(activation)))
            if dropout > 0:
                layers.append(Dropout(dropout, seed=rng))
        elif output is not None:
            layers.append(get_activation(output))
    return layers
