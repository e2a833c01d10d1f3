r"""The five notations the explainer speaks (``NOTATION.md``): equations and array layouts.

The engine computes in ONE convention (batch rows, ``W`` of shape ``(out, in)``, the loss a
batch mean).  A notation only changes how the same numbers are written:

========  ======================================  ===========================================
name      layout                                  how the engine's arrays are shown
========  ======================================  ===========================================
batch     one sample per row (the code's)         as recorded
rows      seed 003: ``W`` of shape ``(in, out)``  weights and their gradients transposed
ng        samples as columns (Andrew Ng)          ``Xᵀ``; ``dZ = N·Δᵀ`` (the 1/m moves to dW)
column    one sample ``n`` as a column (Nielsen)  row ``n`` as a column; ``δ = N·Δₙᵀ``
haykin    one sample, error-correction (seed 000) as column, ``δ = −N·Δₙᵀ`` (minus the gradient)
========  ======================================  ===========================================

Each array a step shows has a *role*; :meth:`Notation.show` turns the engine's array of that
role into the notation's array.  Equations are templates: ``{l}`` is the layer's superscript,
``{p}`` the layer below, ``{phi}`` / ``{dphi}`` the activation and its derivative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
    "rows": {"weight": lambda w, c: w.T, "grad_weight": lambda g, c: g.T,
             "velocity_weight": lambda v, c: v.T},
    "ng": {"act": lambda a, c: a.T, "grad": lambda g, c: c.n_samples * g.T,
           "bias": lambda b, c: b[:, None], "grad_bias": lambda g, c: g[:, None],
           "velocity_bias": lambda v, c: v[:, None]},
    "column": {"act": _column, "grad": lambda g, c: c.n_samples * _column(g, c),
               "bias": lambda b, c: b[:, None], "grad_bias": lambda g, c: g[:, None],
               "velocity_bias": lambda v, c: v[:, None]},
    "haykin": {"act": _column, "grad": lambda g, c: -c.n_samples * _column(g, c),
               "bias": lambda b, c: b[:, None], "grad_weight": lambda g, c: -g,
               "grad_bias": lambda g, c: -g[:, None],
               "velocity_weight": lambda v, c: -c.lr * v,
               "velocity_bias": lambda v, c: -c.lr * v[:, None]},
}


def derivative_text(activation: str, a: str, z: str) -> str:
    """φ′ written the way learners meet it (from the output where that is the custom)."""
    return {"tanh": f"(1 − {a}²)", "sigmoid": f"{a} ⊙ (1 − {a})", "relu": f"[{z} > 0]",
            "identity": "1"}.get(activation, f"{activation}′({z})")


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

    def equation(self, kind: str, **fields: str) -> str:
        return self.templates[kind][0].format(**self.symbols, **fields)

    def shape_check(self, kind: str, shapes: dict[str, tuple[int, ...]],
                    out: tuple[int, ...]) -> str:
        pattern = self.templates[kind][1]
        text = pattern.format(**{key: shape_text(value) for key, value in shapes.items()})
        return f"{text} → {shape_text(out)}"


def shape_text(shape) -> str:
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
    "update_weight": ("{W}{l} ← {W}{l} − {lr} {step_w}", "{W} − η {g}"),
    "update_bias": ("b{l} ← b{l} − {lr} {step_b}", "{b} − η {g}"),
}

NOTATIONS: dict[str, Notation] = {
    "batch": Notation(
        "batch", "batch rows (the code's convention): Z = A Wᵀ + b, W of shape (out, in)",
        False, _paren,
        {"A": "A", "Z": "Z", "Y": "Y", "W": "W", "d": "Δ", "gA": "∂L/∂A", "gW": "∂L/∂W",
         "gb": "∂L/∂b", "lr": "η", "N": "N"}, _BATCH),
    "rows": Notation(
        "rows", "row weights (seed 003): Z = H W + b, W of shape (in, out)", False, _paren,
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
         "delta": ("{d}{p} = {gA}{p} ⊙ {dphi}", "{g} ⊙ {Z}"),
         "update_weight": ("{W}{l} := {W}{l} − {lr} {step_w}", "{W} − α {g}"),
         "update_bias": ("b{l} := b{l} − {lr} {step_b}", "{b} − α {g}")}),
    "column": Notation(
        "column", "one sample as a column vector (Nielsen's BP1–BP4): z = W a + b", True,
        _paren,
        {"A": "a", "Z": "z", "Y": "y", "W": "W", "d": "δ", "gA": "∂C/∂a", "gW": "∂L/∂W",
         "gb": "∂L/∂b", "lr": "η", "N": "N"},
        {"z": ("{Z}{l} = {W}{l} {A}{p} + b{l}", "{W} @ {A} + {b}"),
         "a": ("{A}{l} = {phi}", "{phi_shape}"),
         "grad_weight": ("∂C/∂W{l} = {d}{l} {A}{p}ᵀ (BP4, this sample);  "
                         "{gW}{l} = (1/N) Σₙ {d}{l}ₙ {A}{p}ₙᵀ", "{d} @ {A}ᵀ"),
         "grad_bias": ("∂C/∂b{l} = {d}{l} (BP3, this sample);  {gb}{l} = (1/N) Σₙ {d}{l}ₙ",
                       "{d}"),
         "grad_a_prev": ("{gA}{p} = {W}{l}ᵀ {d}{l}", "{W}ᵀ @ {d}"),
         "delta": ("{d}{p} = ({W}{l}ᵀ {d}{l}) ⊙ {dphi} (BP2)", "{g} ⊙ {Z}"),
         "update_weight": ("{W}{l} ← {W}{l} − {lr} {step_w}", "{W} − η {g}"),
         "update_bias": ("b{l} ← b{l} − {lr} {step_b}", "{b} − η {g}")}),
    "haykin": Notation(
        "haykin", "error correction (Haykin, seed 000): e = d − y, δ = −∂E/∂v, W ← W + η δ yᵀ",
        True, _paren,
        {"A": "y", "Z": "v", "Y": "d", "W": "W", "d": "δ", "gA": "−∂E/∂y",
         "gW": "−∂L/∂W", "gb": "−∂L/∂b", "lr": "η", "N": "N"},
        {"z": ("{Z}{l} = {W}{l} {A}{p} + b{l}", "{W} @ {A} + {b}"),
         "a": ("{A}{l} = {phi}", "{phi_shape}"),
         "grad_weight": ("δ{l} {A}{p}ᵀ (this sample);  {gW}{l} = (1/N) Σₙ {d}{l}(n) "
                         "{A}{p}(n)ᵀ", "{d} @ {A}ᵀ"),
         "grad_bias": ("δ{l} (this sample);  {gb}{l} = (1/N) Σₙ {d}{l}(n)", "{d}"),
         "grad_a_prev": ("{gA}{p} = {W}{l}ᵀ {d}{l}", "{W}ᵀ @ {d}"),
         "delta": ("{d}{p} = {dphi} ⊙ ({W}{l}ᵀ {d}{l})", "{Z} ⊙ {g}"),
         "update_weight": ("ΔW{l} = {step_w};  {W}{l} ← {W}{l} + ΔW{l}", "{W} + {g}"),
         "update_bias": ("Δb{l} = {step_b};  b{l} ← b{l} + Δb{l}", "{b} + {g}")}),
}


def get_notation(name: str) -> Notation:
    if not isinstance(name, str) or name.lower() not in NOTATIONS:
        raise ValueError(f"unknown notation {name!r}; valid names: {', '.join(NOTATIONS)}")
    return NOTATIONS[name.lower()]


def output_delta_equation(notation: Notation, pairing: str, last: int, activation: str,
                          n_outputs: int, engine_unfused: bool = False) -> str:
    """The output-delta equation of ``pairing`` (softmax_ce, sigmoid_bce, mse, general).

    ``engine_unfused``: a ``Sigmoid`` layer + ``BCELoss``, which the engine computes as
    ``∂L/∂A ⊙ σ′(Z)``; the batch forms then show that route before its simplification.
    """
    s, L = notation.symbols, notation.sup(last)
    A, Z, Y, d = s["A"] + L, s["Z"] + L, s["Y"], s["d"] + L
    dphi = derivative_text(activation, A, Z)
    k = n_outputs if pairing in ("sigmoid_bce", "mse") else 1
    if notation.name in ("batch", "rows"):
        count = "N" if k == 1 else f"(N·{k})"
        return {"softmax_ce": f"{d} = ({A} − {Y}) / N",
                "sigmoid_bce": f"{d} = " + (f"∂L/∂{A} ⊙ {dphi} = " if engine_unfused else "")
                               + f"({A} − {Y}) / {count}",
                "mse": f"{d} = 2({A} − {Y}) / {count}" + ("" if dphi == "1" else f" ⊙ {dphi}"),
                }.get(pairing, f"{d} = ∂L/∂{A} ⊙ {dphi}")
    scale = "" if k == 1 else f"(1/{k})"
    fused = f"{scale}({A} − {Y})" if scale else f"{A} − {Y}"
    if notation.name == "ng":
        return {"softmax_ce": f"{d} = {A} − {Y}", "sigmoid_bce": f"{d} = {fused}",
                "mse": f"{d} = {2 if k == 1 else f'(2/{k})'}({A} − {Y})"
                       + ("" if dphi == "1" else f" ⊙ {dphi}")
                }.get(pairing, f"{d} = m ∂L/∂{A} ⊙ {dphi}")
    if notation.name == "column":
        return {"softmax_ce": f"{d} = ∇ₐC ⊙ φ′({Z}) = {A} − {Y} (BP1, fused)",
                "sigmoid_bce": f"{d} = ∇ₐC ⊙ σ′({Z}) = {fused} (BP1, fused)",
                "mse": f"{d} = ∇ₐC ⊙ φ′({Z}) = {2 if k == 1 else f'(2/{k})'}({A} − {Y})"
                       + ("" if dphi == "1" else f" ⊙ {dphi}") + " (BP1)",
                }.get(pairing, f"{d} = ∇ₐC ⊙ {dphi} (BP1)")
    e = f"e = {Y} − {A}"                                    # haykin
    return {"softmax_ce": f"{e};  {d} = e (φ′ cancels against cross-entropy)",
            "sigmoid_bce": f"{e};  {d} = {scale}e (σ′ cancels against cross-entropy)",
            "mse": f"{e};  {d} = {2 if k == 1 else f'(2/{k})'} e"
                   + ("" if dphi == "1" else f" ⊙ {dphi}") + " (mean of e², no ½)",
            }.get(pairing, f"{d} = −∂Eₙ/∂{A} ⊙ {dphi}")
