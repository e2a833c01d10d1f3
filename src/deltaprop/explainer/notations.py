r"""The five notations the explainer speaks (``docs/notation-guide.md``): equations and layouts.

The engine computes in ONE convention (batch rows, ``W`` of shape ``(out, in)``, the loss a
batch mean).  A notation only changes how the same numbers are written:

========  ======================================  ===========================================
name      layout                                  how the engine's arrays are shown
========  ======================================  ===========================================
batch     one sample per row (the code's)         as recorded
rows      ``W`` of shape ``(in, out)``              weights and their gradients transposed
ng        samples as columns (Andrew Ng)          ``Xᵀ``; ``dZ = N·Δᵀ`` (the 1/m moves to dW)
column    one sample ``n`` as a column (Nielsen)  row ``n`` as a column; ``δ = N·Δₙᵀ``
haykin    one sample, error-correction (Haykin) as column, ``δ = −N·Δₙᵀ`` (minus the gradient)
========  ======================================  ===========================================

Each array a step shows has a *role*; :meth:`Notation.show` turns the engine's array of that
role into the notation's array.  Equations are templates: ``{l}`` is the layer's superscript,
``{p}`` the layer below, ``{phi}`` / ``{dphi}`` the activation and its derivative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


@dataclass(frozen=True)
class Context:
    """What a layout change needs to know: batch size, the sample shown, learning rate."""

    n_samples: int
    sample: int = 0
    lr: float | None = None


def _column(array: np.ndarray, ctx: Context) -> np.ndarray:
    return array[ctx.sample][:, None]                       # row n -> (k, 1) column


_SAME: Callable = lambda array, ctx: array  # noqa: E731 - a table of one-liners reads best

# role -> how the engine's array is shown, per notation
LAYOUTS: dict[str, dict[str, Callable]] = {
    "batch": {},
    "rows": {"weight": lambda w, c: w.T, "grad_weight": lambda g, c: g.T},
    "ng": {"act": lambda a, c: a.T, "grad": lambda g, c: c.n_samples * g.T,
           "bias": lambda b, c: b[:, None], "grad_bias": lambda g, c: g[:, None]},
    "column": {"act": _column, "grad": lambda g, c: c.n_samples * _column(g, c),
               "bias": lambda b, c: b[:, None], "grad_bias": lambda g, c: g[:, None]},
    "haykin": {"act": _column, "grad": lambda g, c: -c.n_samples * _column(g, c),
               "bias": lambda b, c: b[:, None], "grad_weight": lambda g, c: -g,
               "grad_bias": lambda g, c: -g[:, None]},
}


# one-sample notations: every sample's column, side by side (the layout of Ng's notation)
EVERY_SAMPLE: dict[str, dict[str, Callable]] = {
    "column": {"act": lambda a, c: a.T, "grad": lambda g, c: c.n_samples * g.T},
    "haykin": {"act": lambda a, c: a.T, "grad": lambda g, c: -c.n_samples * g.T},
}


def _name_and_parameters(activation) -> tuple[str, dict]:
    """An activation's name ("leakyrelu") and the parameters its equations print."""
    if activation is None:
        return "identity", {}
    if isinstance(activation, str):
        return activation, {}
    keep = ("negative_slope", "alpha", "approximate", "beta", "threshold")
    return (type(activation).__name__.lower(),
            {key: getattr(activation, key) for key in keep if hasattr(activation, key)})


def _num(x: float) -> str:
    """A parameter exactly as the engine uses it (1/3 -> 0.3333333333333333, 2.0 -> 2)."""
    return np.format_float_positional(float(x), trim="-")


def function_text(activation: Any, z: str) -> str:
    """φ(Z) as printed, with the parameters that change it (a name or an activation layer)."""
    name, params = _name_and_parameters(activation)
    if name == "identity":
        return z
    if name == "leakyrelu":
        return f"leaky_relu({z}, {_num(params.get('negative_slope', 0.01))})"
    if name == "elu":
        return f"elu({z}, {_num(params.get('alpha', 1.0))})"
    if name == "gelu" and params.get("approximate", "none") == "tanh":
        return f"½ {z} ⊙ (1 + {_gelu_tanh(z)})"
    beta, t = params.get("beta", 1.0), params.get("threshold", 20.0)
    if name == "softplus" and (beta != 1 or t != 20):    # linear above the threshold
        bz = z if beta == 1 else f"{_num(beta)} {z}"
        scale = "" if beta == 1 else f"(1/{_num(beta)}) "
        return f"[{bz} > {_num(t)}] ⊙ {z} + [{bz} ≤ {_num(t)}] ⊙ {scale}log(1 + e^({bz}))"
    return f"{name}({z})"


def _gelu_tanh(z: str) -> str:
    """GELU's tanh approximation of 2Φ(z) − 1 (PyTorch's ``approximate="tanh"``)."""
    return f"tanh(√(2/π) ({z} + 0.044715 {z}³))"


def derivative_text(activation: Any, a: str, z: str) -> str:
    """φ′ written the way learners meet it (from the output where that is the custom)."""
    name, params = _name_and_parameters(activation)
    if name == "leakyrelu":
        return f"([{z} > 0] + {_num(params.get('negative_slope', 0.01))} [{z} ≤ 0])"
    if name == "elu":
        return f"([{z} > 0] + [{z} ≤ 0] ⊙ ({a} + {_num(params.get('alpha', 1.0))}))"
    if name == "gelu" and params.get("approximate", "none") == "none":
        return f"(Φ({z}) + {z} ⊙ Φ′({z}))"                     # Φ: the standard normal CDF
    if name == "gelu":                      # T = tanh(√(2/π)(z + 0.044715 z³)), written out
        t = _gelu_tanh(z)
        return (f"(½ (1 + {t}) + ½ {z} ⊙ (1 − {t}²) ⊙ √(2/π) (1 + 0.134145 {z}²))")
    if name == "softplus":                  # σ(βz), and 1 where PyTorch's threshold makes it z
        t, beta = _num(params.get('threshold', 20.0)), params.get("beta", 1.0)
        bz = z if beta == 1 else f"{_num(beta)} {z}"
        return f"([{bz} > {t}] + [{bz} ≤ {t}] ⊙ σ({bz}))"
    return {"tanh": f"(1 − {a}²)", "sigmoid": f"{a} ⊙ (1 − {a})", "relu": f"[{z} > 0]",
            "identity": "1"}.get(name, f"{name}′({z})")


@dataclass(frozen=True)
class Notation:
    """One way of writing backpropagation: symbols, equation templates and array layouts."""

    name: str
    title: str
    one_sample: bool                 # shows sample n as column vectors
    sup: Callable[[int], str]        # layer index -> superscript
    symbols: dict[str, str]          # A, Z, Y, delta, grad_a, grad_w, grad_b, lr, error, ...
    templates: dict[str, tuple[str, str]]   # step kind -> (equation, shape pattern)

    def show(self, role: str, array: np.ndarray, ctx: Context) -> np.ndarray:
        """The engine's ``array`` of ``role`` written in this notation."""
        return LAYOUTS[self.name].get(role, _SAME)(array, ctx)

    def show_every(self, role: str, array: np.ndarray, ctx: Context) -> np.ndarray:
        """One-sample notations: every sample's column side by side (column n = sample n)."""
        return EVERY_SAMPLE[self.name][role](array, ctx)

    def equation(self, kind: str, bias: bool = True, **fields: str) -> str:
        text = self.templates[kind][0].format(**self.symbols, **fields)
        return text if bias else text.replace(" + b" + fields.get("l", ""), "")

    def shape_check(self, kind: str, shapes: dict[str, tuple[int, ...]],
                    out: tuple[int, ...]) -> str:
        pattern = self.templates[kind][1]
        if "b" not in shapes:
            pattern = pattern.replace(" + {b}", "")
        text = pattern.format(**{key: shape_text(value) for key, value in shapes.items()})
        return f"{text} → {shape_text(out)}"


def shape_text(shape: Any) -> str:
    """``(4, 3)``, ``(3,)`` or ``(N, 3)``: a shape whose sizes may be symbols."""
    shape = tuple(shape)
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _paren(index: int) -> str:
    return f"⁽{str(index).translate(_SUPERSCRIPT)}⁾"


def _bracket(index: int) -> str:
    return f"[{index}]"


_BATCH = {
    "z": ("{Z}{l} = {A}{p} {W}{l}ᵀ + b{l}", "{A} @ {W}ᵀ + {b}"),
    "a": ("{A}{l} = {phi}", "{phi_shape}"),
    "grad_weight": ("{gW}{l} = {d}{l}ᵀ {A}{p}", "{d}ᵀ @ {A}"),
    "grad_bias": ("{gb}{l} = Σₙ {d}{l}ₙ,:", "sum over axis 0 of {d}"),
    "grad_a_prev": ("{gA}{p} = {d}{l} {W}{l}", "{d} @ {W}"),
    "delta": ("{d}{p} = {gA}{p} ⊙ {dphi}", "{g} ⊙ {Z}"),
}

NOTATIONS: dict[str, Notation] = {
    "batch": Notation(
        "batch", "batch rows (the code's convention): Z = A Wᵀ + b, W of shape (out, in)",
        False, _paren,
        {"A": "A", "Z": "Z", "Y": "Y", "W": "W", "d": "Δ", "gA": "∂L/∂A", "gW": "∂L/∂W",
         "gb": "∂L/∂b", "lr": "η", "N": "N"}, _BATCH),
    "rows": Notation(
        "rows", "row weights: Z = H W + b, W of shape (in, out)", False, _paren,
        {"A": "H", "Z": "Z", "Y": "Y", "W": "W", "d": "G", "gA": "∂L/∂H", "gW": "∂L/∂W",
         "gb": "∂L/∂b", "lr": "η", "N": "N"},
        {**_BATCH,
         "z": ("{Z}{l} = {A}{p} {W}{l} + b{l}", "{A} @ {W} + {b}"),
         "grad_weight": ("{gW}{l} = {A}{p}ᵀ {d}{l}", "{A}ᵀ @ {d}"),
         "grad_a_prev": ("{gA}{p} = {d}{l} {W}{l}ᵀ", "{d} @ {W}ᵀ")}),
    "ng": Notation(
        "ng", "samples as columns (Andrew Ng): Z = W A + b, dW = (1/m) dZ Aᵀ", False, _bracket,
        {"A": "A", "Z": "Z", "Y": "Y", "W": "W", "d": "dZ", "gA": "dA", "gW": "dW",
         "gb": "db", "lr": "α", "N": "m"},
        {"z": ("{Z}{l} = {W}{l} {A}{p} + b{l}", "{W} @ {A} + {b}"),
         "a": ("{A}{l} = {phi}", "{phi_shape}"),
         "grad_weight": ("{gW}{l} = (1/m) {d}{l} {A}{p}ᵀ", "{d} @ {A}ᵀ"),
         "grad_bias": ("{gb}{l} = (1/m) Σ_columns {d}{l}", "sum over axis 1 of {d}"),
         "grad_a_prev": ("{gA}{p} = {W}{l}ᵀ {d}{l}", "{W}ᵀ @ {d}"),
         "delta": ("{d}{p} = {gA}{p} ⊙ {dphi}", "{g} ⊙ {Z}")}),
    "column": Notation(
        "column", "one sample as a column vector (Nielsen's BP1–BP4): z = W a + b", True,
        _paren,
        {"A": "a", "Z": "z", "Y": "y", "W": "W", "d": "δ", "gA": "∂C/∂a", "gW": "∂L/∂W",
         "gb": "∂L/∂b", "gW1": "∂C/∂W", "gb1": "∂C/∂b", "lr": "η", "N": "N"},
        {"z": ("{Z}{l} = {W}{l} {A}{p} + b{l}", "{W} @ {A} + {b}"),
         "a": ("{A}{l} = {phi}", "{phi_shape}"),
         "grad_weight": ("{gW1}{l} = {d}{l} {A}{p}ᵀ (BP4, this sample);  "
                         "{gW}{l} = (1/N) Σₙ {d}{l}ₙ {A}{p}ₙᵀ", "{d} @ {A}ᵀ"),
         "grad_bias": ("{gb1}{l} = {d}{l} (BP3, this sample);  {gb}{l} = (1/N) Σₙ {d}{l}ₙ",
                       "{d}"),
         "grad_a_prev": ("{gA}{p} = {W}{l}ᵀ {d}{l}", "{W}ᵀ @ {d}"),
         "delta": ("{d}{p} = ({W}{l}ᵀ {d}{l}) ⊙ {dphi} (BP2)", "{g} ⊙ {Z}")}),
    "haykin": Notation(
        "haykin", "error correction (Haykin): e = d − y, δ = −∂E/∂v, W ← W + η δ yᵀ",
        True, _paren,
        {"A": "y", "Z": "v", "Y": "d", "W": "W", "d": "δ", "gA": "−∂E/∂y",
         "gW": "−∂L/∂W", "gb": "−∂L/∂b", "gW1": "−∂Eₙ/∂W", "gb1": "−∂Eₙ/∂b", "lr": "η",
         "N": "N"},
        {"z": ("{Z}{l} = {W}{l} {A}{p} + b{l}", "{W} @ {A} + {b}"),
         "a": ("{A}{l} = {phi}", "{phi_shape}"),
         "grad_weight": ("{gW1}{l} = {d}{l} {A}{p}ᵀ (this sample);  {gW}{l} = (1/N) Σₙ "
                         "{d}{l}(n) {A}{p}(n)ᵀ", "{d} @ {A}ᵀ"),
         "grad_bias": ("{gb1}{l} = {d}{l} (this sample);  {gb}{l} = (1/N) Σₙ {d}{l}(n)",
                       "{d}"),
         "grad_a_prev": ("{gA}{p} = {W}{l}ᵀ {d}{l}", "{W}ᵀ @ {d}"),
         "delta": ("{d}{p} = {dphi} ⊙ ({W}{l}ᵀ {d}{l})", "{Z} ⊙ {g}")}),
}


def get_notation(name: str) -> Notation:
    if not isinstance(name, str) or name.lower() not in NOTATIONS:
        raise ValueError(f"unknown notation {name!r}; valid names: {', '.join(NOTATIONS)}")
    return NOTATIONS[name.lower()]
