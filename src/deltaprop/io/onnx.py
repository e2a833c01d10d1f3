r"""ONNX export: ``export_onnx(model, path)`` writes a graph that onnxruntime runs.

Each layer becomes standard ONNX operators (opset 17, IR version 8, which onnxruntime 1.14
and later accept):

- ``Dense``: ``Gemm(A, W, b, transB=1)``, i.e. :math:`Z = A W^\top + b`; ``W`` is already
  ``(out, in)``, so no transpose is stored;
- ``ReLU`` ``Relu``, ``Tanh`` ``Tanh``, ``Sigmoid`` ``Sigmoid``, ``LeakyReLU``
  ``LeakyRelu(alpha)``, ``ELU`` ``Elu(alpha)``, ``Softmax`` ``Softmax(axis=-1)``,
  ``Identity`` ``Identity``;
- ``Softplus(beta)``: ``Softplus(beta z) / beta`` (PyTorch's linear branch above
  ``threshold`` differs by less than :math:`e^{-20}`);
- ``GELU``: :math:`\tfrac12 z (1 + \mathrm{erf}(z/\sqrt2))` with ``Erf`` (the ``Gelu``
  operator needs opset 20), or the tanh formula for ``approximate="tanh"``;
- ``Dropout`` is the identity at inference and is left out.

The input ``"input"`` has shape ``(N, in_features)`` with a dynamic batch dimension ``N``;
the output ``"output"`` is the model's output (logits when the model ends without an output
activation).

The scaling stored with a model (a :class:`~deltaprop.io.ModelBundle` from
:func:`deltaprop.io.load_bundle`) is folded into the graph with ``preprocessing=True``, the
default: the features are standardised first, ``Sub`` then ``Div``,
:math:`(x - \mu)/\sigma`, and a regression output is returned to the target's units last,
``Mul`` then ``Add``, :math:`\hat y_s \sigma_y + \mu_y`.  The graph then takes raw rows and
answers as ``deltaprop predict`` does.  ``preprocessing=False`` exports the bare network,
which expects standardised rows and (regression) answers in standardised units.  A bare
``Sequential`` stores no scaling: its graph is the network as it is.

Needs the ``onnx`` extra: ``pip install 'deltaprop[onnx]'``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_flag, check_integer
from ..nn.activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from ..nn.layers import Dense, Dropout

if TYPE_CHECKING:
    from ..nn.model import Sequential
    from .model_files import ModelBundle

OPSET = 17
IR_VERSION = 8

_SIMPLE = {ReLU: "Relu", Tanh: "Tanh", Sigmoid: "Sigmoid", Identity: "Identity"}


def export_onnx(model: Sequential | ModelBundle, path: str | os.PathLike, *,
                preprocessing: bool = True, opset: int = OPSET, ir_version: int = IR_VERSION,
                check: bool = True) -> Path:
    """Write ``model`` as an ONNX file at ``path`` (checked with ``onnx.checker``).

    ``model`` is a ``Sequential``, or a :class:`~deltaprop.io.ModelBundle` (what
    :func:`deltaprop.io.load_bundle` returns) whose stored scaling ``preprocessing=True``
    (the default) folds into the graph: raw rows in, the target's units out, the numbers of
    ``deltaprop predict``.  ``preprocessing=False`` writes the bare network (standardised
    rows in).  The graph computes in the model's dtype (float32 or float64; onnxruntime's
    CPU provider has no float64 ``Erf``, so a float64 model with exact GELU needs another
    runtime, or ``GELU("tanh")``, or float32).  ``opset`` must
    be at least 13 (``Softmax`` over the last axis) and at most what the installed onnx
    knows, ``ir_version`` an integer >= 3, ``check`` and ``preprocessing`` ``True`` /
    ``False`` (else :class:`~deltaprop.InvalidParameterError`).  Returns the path.
    """
    onnx, helper, numpy_helper = _onnx()
    preprocessing = check_flag("export_onnx", "preprocessing", preprocessing)
    model, features, target = _scalings(model, preprocessing)
    opset, ir_version, check = _check_arguments(model, opset, ir_version, check,
                                                onnx.defs.onnx_opset_version())
    graph = _Graph(helper, numpy_helper, model.dtype)
    current = "input"
    if features is not None:                             # (x - mu) / sigma, per feature
        current = graph.node("Sub", [current, graph.constant("input_mean", features.mean)],
                             "input_centred")
        current = graph.node("Div", [current, graph.constant("input_scale", features.scale)],
                             "input_scaled")
    for position, layer in enumerate(model.layers):
        current = graph.add_layer(position, layer, current)
    if target is not None:                               # y_s sigma_y + mu_y, per output
        current = graph.node("Mul", [current, graph.constant("target_scale", target.scale)],
                             "output_rescaled")
        current = graph.node("Add", [current, graph.constant("target_mean", target.mean)],
                             "output_unscaled")
    graph.nodes.append(helper.make_node("Identity", [current], ["output"], name="output"))
    elem = graph.elem
    inputs = [helper.make_tensor_value_info("input", elem, ["N", model.in_features])]
    outputs = [helper.make_tensor_value_info("output", elem, ["N", model.out_features])]
    onnx_graph = helper.make_graph(graph.nodes, "deltaprop_mlp", inputs, outputs,
                                   initializer=graph.initializers)
    proto = helper.make_model(onnx_graph, producer_name="deltaprop",
                              opset_imports=[helper.make_opsetid("", opset)])
    proto.ir_version = ir_version
    if check:
        onnx.checker.check_model(proto)
    from .model_files import atomic_write

    return atomic_write(path, proto.SerializeToString())


MIN_OPSET = 13                                     # Softmax(axis=-1) as PyTorch's dim=-1


def _scalings(model: Any, preprocessing: bool) -> tuple[Any, Any, Any]:
    """``(network, feature scaling, target scaling)`` to export; the scalings are None
    unless ``model`` is a ModelBundle and ``preprocessing`` is True."""
    from .model_files import ModelBundle

    if not isinstance(model, ModelBundle):
        return model, None, None
    if not preprocessing:
        return model.model, None, None
    features = model.preprocessing
    if features is not None and not hasattr(features, "transform"):
        raise ValueError("the model's preprocessing is the caller's own dict, not a "
                         "Standardizer, so it cannot be folded into the graph; export with "
                         "preprocessing=False and apply it yourself")
    return model.model, features, model.target_preprocessing


def _check_arguments(model: Any, opset: Any, ir_version: Any, check: Any,
                     newest: int) -> tuple[int, int, bool]:
    """A deltaprop Sequential that can be saved (supported layers, one Dense at least), and
    export options of the right types and ranges, returned as Python ints and bool."""
    from ..nn.model import Sequential
    from .model_files import architecture, check_architecture

    if not isinstance(model, Sequential):
        raise TypeError(f"export_onnx expects a deltaprop Sequential, got "
                        f"{type(model).__name__}")
    check_architecture(architecture(model))
    return (check_integer("export_onnx", "opset", opset, low=MIN_OPSET, high=newest),
            check_integer("export_onnx", "ir_version", ir_version, low=3),
            check_flag("export_onnx", "check", check))


class _Graph:
    """Nodes and initialisers, with fresh tensor names per layer position."""

    def __init__(self, helper, numpy_helper, dtype: np.dtype) -> None:
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, np.dtype(dtype)
        self.elem = helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def constant(self, name: str, value: Any) -> str:
        array = np.asarray(value, dtype=self.dtype)
        self.initializers.append(self.numpy_helper.from_array(array, name=name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def add_layer(self, position: int, layer: Any, x: str) -> str:
        """The nodes of ``layer`` applied to tensor ``x``; returns the output tensor's name."""
        tag = f"l{position}"
        if isinstance(layer, Dense):                     # Z = A Wᵀ + b  (Gemm, transB=1)
            inputs = [x, self.constant(f"{position}.weight", _host(layer.params["weight"]))]
            if layer.use_bias:
                inputs.append(self.constant(f"{position}.bias", _host(layer.params["bias"])))
            return self.node("Gemm", inputs, f"{tag}_dense", transB=1)
        if isinstance(layer, Dropout):                   # identity at inference
            return x
        if type(layer) in _SIMPLE:
            return self.node(_SIMPLE[type(layer)], [x], f"{tag}_{_SIMPLE[type(layer)].lower()}")
        if isinstance(layer, Softmax):
            return self.node("Softmax", [x], f"{tag}_softmax", axis=-1)
        if self.dtype == np.float64 and isinstance(layer, (LeakyReLU, ELU, Softplus)):
            return self._elementary(layer, x, tag)
        if isinstance(layer, LeakyReLU):
            return self.node("LeakyRelu", [x], f"{tag}_leaky_relu", alpha=layer.negative_slope)
        if isinstance(layer, ELU):
            return self.node("Elu", [x], f"{tag}_elu", alpha=layer.alpha)
        if isinstance(layer, Softplus):
            if layer.beta == 1:
                return self.node("Softplus", [x], f"{tag}_softplus")
            beta = self.constant(f"{tag}_beta", layer.beta)
            scaled = self.node("Mul", [x, beta], f"{tag}_beta_z")
            soft = self.node("Softplus", [scaled], f"{tag}_softplus_bz")
            return self.node("Div", [soft, beta], f"{tag}_softplus")
        if isinstance(layer, GELU):
            return self._gelu(layer, x, tag)
        raise TypeError(f"layer {position} ({layer!r}) has no ONNX export; supported: Dense, "
                        "Dropout, Identity, ReLU, LeakyReLU, ELU, GELU, Sigmoid, Tanh, "
                        "Softplus, Softmax")

    def _elementary(self, layer: Any, x: str, tag: str) -> str:
        r"""LeakyReLU, ELU and Softplus from elementary operators, as the engine computes
        them (onnxruntime's CPU provider has no float64 LeakyRelu, Elu or Softplus):
        :math:`z > 0 ? z : \alpha z`, :math:`z > 0 ? z : \alpha(e^{\min(z,0)} - 1)`,
        :math:`\beta z > t ? z : (\max(\beta z, 0) + \log(1 + e^{-|\beta z|}))/\beta`."""
        zero = self.constant(f"{tag}_zero", 0.0)
        if isinstance(layer, LeakyReLU):
            slope = self.constant(f"{tag}_slope", layer.negative_slope)
            other = self.node("Mul", [x, slope], f"{tag}_az")
            test, name = self.node("Greater", [x, zero], f"{tag}_pos"), f"{tag}_leaky_relu"
        elif isinstance(layer, ELU):
            low = self.node("Exp", [self.node("Min", [x, zero], f"{tag}_min")], f"{tag}_exp")
            minus = self.node("Sub", [low, self.constant(f"{tag}_one", 1.0)], f"{tag}_em1")
            other = self.node("Mul", [minus, self.constant(f"{tag}_alpha", layer.alpha)],
                              f"{tag}_aem1")
            test, name = self.node("Greater", [x, zero], f"{tag}_pos"), f"{tag}_elu"
        else:
            beta = self.constant(f"{tag}_beta", layer.beta)
            bz = self.node("Mul", [x, beta], f"{tag}_bz")
            tail = self.node("Exp", [self.node("Neg", [self.node("Abs", [bz], f"{tag}_abs")],
                                               f"{tag}_nabs")], f"{tag}_etail")
            log = self.node("Log", [self.node("Add", [tail, self.constant(
                f"{tag}_one", 1.0)], f"{tag}_1pe")], f"{tag}_log1pe")
            soft = self.node("Add", [self.node("Max", [bz, zero], f"{tag}_relu"), log],
                             f"{tag}_lae")
            other = self.node("Div", [soft, beta], f"{tag}_soft")
            test = self.node("Greater", [bz, self.constant(f"{tag}_t", layer.threshold)],
                             f"{tag}_big")
            name = f"{tag}_softplus"
        return self.node("Where", [test, x, other], name)

    def _gelu(self, layer: GELU, x: str, tag: str) -> str:
        r"""GELU from standard operators: :math:`\tfrac12 z (1 + \mathrm{erf}(z/\sqrt2))`, or
        the tanh approximation."""
        half = self.constant(f"{tag}_half", 0.5)
        one = self.constant(f"{tag}_one", 1.0)
        if layer.approximate == "tanh":                  # ½z(1 + tanh(√(2/π)(z + 0.044715z³)))
            cube = self.node("Mul", [x, self.node("Mul", [x, x], f"{tag}_z2")], f"{tag}_z3")
            inner = self.node("Add", [x, self.node(
                "Mul", [cube, self.constant(f"{tag}_c", 0.044715)], f"{tag}_cz3")], f"{tag}_in")
            arg = self.node("Mul", [inner, self.constant(f"{tag}_k", math.sqrt(2 / math.pi))],
                            f"{tag}_arg")
            core = self.node("Tanh", [arg], f"{tag}_tanh")
        else:                                            # ½z(1 + erf(z/√2))
            arg = self.node("Div", [x, self.constant(f"{tag}_sqrt2", math.sqrt(2.0))],
                            f"{tag}_arg")
            core = self.node("Erf", [arg], f"{tag}_erf")
        phi = self.node("Add", [core, one], f"{tag}_1p")
        return self.node("Mul", [self.node("Mul", [x, half], f"{tag}_hz"), phi], f"{tag}_gelu")


def _host(array: Any) -> np.ndarray:
    from ..nn._backend import to_numpy

    return np.ascontiguousarray(to_numpy(array))


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError("ONNX export needs onnx, which is not installed: "
                          "pip install 'deltaprop[onnx]'") from None
    return onnx, helper, numpy_helper
