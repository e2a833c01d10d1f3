r"""``Sequential`` (forward, backward, parameters, state dicts) and the ``mlp`` builder.

Forward runs the layers in order; backward runs them in reverse, each layer turning
:math:`\partial L/\partial(\text{its output})` into :math:`\partial L/\partial(\text{its input})`
("downstream = upstream × local", as the 2-2-1 worked example puts it).

After one forward and one backward pass, :meth:`Sequential.records` returns, for each layer
``l`` of ``docs/notation-guide.md`` (a ``Dense`` and the activation after it), the quantities
:math:`A^{(l-1)}, Z^{(l)}, A^{(l)}, \partial L/\partial A^{(l)}, \Delta^{(l)},
\partial L/\partial W^{(l)}, \partial L/\partial b^{(l)}, \partial L/\partial A^{(l-1)}` that
the layers recorded themselves: the explainer reads them here, it never recomputes them.

The support code lives next door: the input check in ``_model_input``, ``mlp``'s layers
in ``_mlp_layers``, layer configs in ``_layer_config``, the per-layer records in
``_records``, the state-dict checks in ``_state_dict`` and the summary table in
``_summary``; the names they define are importable from here as before.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ._backend import Array, dtype_name, resolve_dtype, to_namespace, to_numpy
from ._layer_config import LAYER_TYPES as LAYER_TYPES  # re-exported
from ._layer_config import layer_config as layer_config  # re-exported
from ._layer_config import layer_from_config as layer_from_config  # re-exported
from ._layer_config import layer_types as layer_types  # re-exported
from ._layer_config import layers_from_config
from ._mlp_layers import mlp_layers
from ._model_input import model_input
from ._records import LayerRecord as LayerRecord  # re-exported
from ._records import layer_records
from ._state_dict import checked_state
from ._summary import summary_table
from .layers import Dense, Layer


class Sequential:
    """A stack of layers run in order.

    Parameters
    ----------
    *layers : Layer
        The layers, first to last.  ``state_dict`` names their parameters by position as
        PyTorch's ``nn.Sequential`` does (``"0.weight"``, ``"0.bias"``, ``"2.weight"``, ...,
        activations counted), so weights move to and from PyTorch without renaming.
    """

    def __init__(self, *layers: Layer) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for position, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential layer {position} must be a deltaprop Layer, "
                                f"got {type(layer).__name__}")
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        self.layers: list[Layer] = list(layers)
        self.training = True

    # -- the passes ---------------------------------------------------------------------------
    def forward(self, x: Array) -> Array:
        """Run every layer on the batch ``x`` of shape ``(N, in_features)``; returns the output.

        ``x`` is cast to the model's dtype first (a float64 batch into a float32 model would
        otherwise silently make every product float64).
        """
        x = model_input(self, x)          # 2-D, the parameters' library and dtype
        for position, layer in enumerate(self.layers):
            try:
                x = layer.forward(x)
            except ValueError as error:
                raise ValueError(f"layer {position} of the model: {error}") from None
        return x

    __call__ = forward

    def backward(self, grad_out: Array, *, input_grad: bool = True) -> Array | None:
        r"""Propagate :math:`\partial L/\partial(\text{output})` down through every layer.

        Fills each layer's ``grads`` and returns :math:`\partial L/\partial X` (``None`` when
        ``input_grad=False``, which skips the first layer's ``Δ W`` product during training).
        """
        for position in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[position]
            if position == 0 and isinstance(layer, Dense):
                grad_out = layer.backward(grad_out, input_grad=input_grad)
            else:
                grad_out = layer.backward(grad_out)
        return grad_out

    def train(self, mode: bool = True) -> Sequential:
        """Training mode (``Dropout`` active). Returns self."""
        self.training = bool(mode)
        for layer in self.layers:
            layer.training = self.training
        return self

    def eval(self) -> Sequential:
        """Evaluation mode (``Dropout`` is the identity). Returns self."""
        return self.train(False)

    # -- parameters ---------------------------------------------------------------------------
    def parameter_refs(self) -> list[tuple[str, Layer, str]]:
        """``[(state_dict_key, layer, param_key), ...]``: where each parameter lives."""
        return [(f"{position}.{key}", layer, key)
                for position, layer in enumerate(self.layers) for key in layer.params]

    def named_parameters(self) -> Iterator[tuple[str, Array]]:
        for name, layer, key in self.parameter_refs():
            yield name, layer.params[key]

    def named_grads(self) -> Iterator[tuple[str, Array]]:
        for name, layer, key in self.parameter_refs():
            yield name, layer.grads[key]

    @property
    def n_params(self) -> int:
        return sum(int(np.prod(value.shape)) for _, value in self.named_parameters())

    @property
    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    @property
    def in_features(self) -> int:
        return self.dense_layers[0].in_features

    @property
    def out_features(self) -> int:
        return self.dense_layers[-1].out_features

    @property
    def dtype(self) -> np.dtype:
        """The parameters' dtype as a NumPy dtype (float32 unless built otherwise)."""
        return np.dtype(dtype_name(self.dense_layers[0].params["weight"]))

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter as NumPy arrays, under PyTorch ``nn.Sequential`` keys."""
        return {name: np.array(to_numpy(value)) for name, value in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load parameters saved by ``state_dict`` (or by a matching PyTorch ``nn.Sequential``).

        Every key, shape and dtype is checked before anything is written, so a bad state dict
        leaves the model untouched.
        """
        refs = self.parameter_refs()
        arrays = checked_state(state, refs)
        for name, layer, key in refs:
            like = layer.params[key]
            layer.params[key] = to_namespace(np.array(arrays[name]), like=like)

    # -- conversions --------------------------------------------------------------------------
    def to(self, like: Array) -> Sequential:
        """Move every parameter to the namespace and device of the array ``like``. Returns self."""
        for layer in self.layers:
            layer.to(like)
        return self

    def copy(self, dtype: Any = None) -> Sequential:
        """A deep copy without the recorded arrays, optionally cast to ``dtype`` (NumPy).

        The original keeps its records (a learner's trace survives a ``gradcheck``).
        """
        skip = {id(getattr(layer, name)): None for layer in self.layers
                for name in layer._cache_names if getattr(layer, name, None) is not None}
        clone = copy.deepcopy(self, memo=skip)       # recorded arrays become None in the clone
        if dtype is not None:
            dtype = resolve_dtype(dtype)
            for layer in clone.layers:
                for key, value in layer.params.items():
                    layer.params[key] = np.array(to_numpy(value), dtype=dtype)
                layer.grads = {key: value * 0 for key, value in layer.params.items()}
        return clone

    def clear_cache(self) -> None:
        for layer in self.layers:
            layer.clear_cache()

    # -- what the explainer reads ------------------------------------------------------------
    def records(self) -> list[LayerRecord]:
        """Per-layer quantities of the last forward/backward pass (see :class:`LayerRecord`)."""
        return layer_records(self.layers)

    # -- display ------------------------------------------------------------------------------
    def config(self) -> list[dict[str, Any]]:
        """The architecture as JSON-able data, one dict per layer: its type and constructor
        arguments (what model files store as ``architecture``).

        >>> mlp([2, 3, 1], activation="tanh", seed=0).config()  # doctest: +NORMALIZE_WHITESPACE
        [{'type': 'Dense', 'in_features': 2, 'out_features': 3, 'bias': True},
         {'type': 'Tanh'}, {'type': 'Dense', 'in_features': 3, 'out_features': 1, 'bias': True}]
        """
        return [layer_config(layer, position) for position, layer in enumerate(self.layers)]

    @classmethod
    def from_config(cls, config: Any, *, dtype: Any = np.float32, seed: Any = None,
                    init: Any = "glorot_uniform") -> Sequential:
        """A fresh model (new weights, drawn by ``init`` from ``seed``) from :meth:`config`'s
        list; ``from_config(m.config())`` then ``load_state_dict(m.state_dict())`` gives ``m``
        again.  A bad config (not a non-empty list, an unknown type, other arguments, values
        out of range, Dense widths that do not chain) raises
        :class:`~deltaprop.InvalidParameterError` naming the layer, the rule and the value."""
        layers = layers_from_config(config, dtype=dtype, seed=seed, init=init)
        return cls(*layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, position: int) -> Layer:
        return self.layers[position]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        lines = [f"  ({position}): {layer!r}" for position, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"

    def summary(self) -> str:
        """A table of the layers, their output shapes and parameter counts, as Keras prints
        ``model.summary()``, with the totals (and their size in memory) below.

        >>> print(mlp([2, 16, 3], seed=0).summary())
        Model: Sequential, input (N, 2), float32
        ___________________________________________________________________
         #  Layer (type)                              Output Shape  Param #
        ===================================================================
         0  Dense(in_features=2, out_features=16)     (N, 16)            48
         1  ReLU()                                    (N, 16)             0
         2  Dense(in_features=16, out_features=3)     (N, 3)             51
        ===================================================================
        Total params: 99 (396 B)
        Trainable params: 99
        Non-trainable params: 0
        ___________________________________________________________________

        ``N`` is the batch dimension (Keras writes ``None``).
        """
        return summary_table(self)


def mlp(sizes: Sequence[int], activation: Any = "relu", output: Any = None, *,
        init: Any = "glorot_uniform", bias: bool = True, dropout: float = 0.0,
        seed: Any = None, dtype: Any = np.float32) -> Sequential:
    """Build a multilayer perceptron ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths (integers >= 1), input first: ``[n_in, h1, h2, n_out]``.  Frazier's
        ``MLP(n_x, n_h, n_y)`` is ``mlp([n_x, n_h, n_y])``.
    activation : str or Activation class
        Hidden activation (``"relu"``, ``"tanh"``, ``"sigmoid"``, ...).
    output : str or None
        Output activation; ``None`` leaves logits / linear outputs (use with
        ``CrossEntropyLoss``, ``BCEWithLogitsLoss`` or ``MSELoss``).
    init : str or callable
        Weight initialiser name (see :mod:`deltaprop.nn.init`).
    bias : bool
        Give every ``Dense`` a bias (``True`` / ``False``).
    dropout : float
        A finite number in ``[0, 1)``; if > 0, a ``Dropout(dropout)`` after every hidden
        activation.
    seed : int, Generator or None
        One seed (an integer >= 0, or a Generator) makes the weights (and dropout masks)
        reproducible.
    dtype : float32 (default) or float64

    A parameter that breaks its rule raises :class:`~deltaprop.InvalidParameterError` naming
    it, the rule and the value.

    Examples
    --------
    >>> model = mlp([2, 3, 1], activation="tanh", output="sigmoid", seed=0)
    >>> model
    Sequential(
      (0): Dense(in_features=2, out_features=3)
      (1): Tanh()
      (2): Dense(in_features=3, out_features=1)
      (3): Sigmoid()
    )
    """
    layers = mlp_layers(sizes, activation, output, init=init, bias=bias, dropout=dropout,
                        seed=seed, dtype=dtype)
    return Sequential(*layers)

