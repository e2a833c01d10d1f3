r"""Every array a trace shows is recomputed from the arrays it shows, with the printed equation.

The evaluators below are written here, in NumPy, one per equation form the explainer prints,
and are looked up BY THE PRINTED TEXT (layer superscripts replaced by ``{l}`` and ``{p}``):
a step whose equation has no evaluator fails, and a wrong printed equation either has no
evaluator or gives different numbers.  Equations are chains of assignments separated by
``;``; ``X ← …`` computes ``X (after)``, and later parts read the new value.

The one-sample notations (column, Haykin) show each per-sample quantity twice: for the sample
``n`` and for every sample side by side (view ``"every"``); per-sample equations are checked
on both, batch sums (the loss, the mean gradients) on the every-sample view.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import unicodedata

import numpy as np
import pytest

import deltaprop
from deltaprop import SGD, Adam, AdamW, mlp

SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
SUP_DIGITS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
NOTATIONS = ("batch", "rows", "ng", "column", "haykin")
# the symbols each notation prints (written here again, independently of notations.py)
SYMBOLS = {
    "batch": dict(A="A", Z="Z", Y="Y", d="Δ", gA="∂L/∂A", gW="∂L/∂W", gb="∂L/∂b", N="N",
                  lr="η", set="←"),
    "rows": dict(A="H", Z="Z", Y="Y", d="G", gA="∂L/∂H", gW="∂L/∂W", gb="∂L/∂b", N="N",
                 lr="η", set="←"),
    "ng": dict(A="A", Z="Z", Y="Y", d="dZ", gA="dA", gW="dW", gb="db", N="m", lr="α",
               set=":="),
    "column": dict(A="a", Z="z", Y="y", d="δ", gA="∂C/∂a", gW="∂L/∂W", gb="∂L/∂b", N="N",
                   lr="η", set="←"),
    "haykin": dict(A="y", Z="v", Y="d", d="δ", gA="−∂E/∂y", gW="−∂L/∂W", gb="−∂L/∂b",
                   N="N", lr="η", set="←"),
}
ROWS_LAYOUT = ("batch", "rows")          # one sample per row; the others: one per column


# -- tiny NumPy evaluators --------------------------------------------------------------------
def softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def relu(z):
    return np.maximum(z, 0)


def normal_cdf(z):
    return 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))


def per_sample_sum(x, nota):
    """Σ over one sample's outputs, kept as a broadcastable row sum / column sum."""
    return x.sum(axis=1 if nota in ROWS_LAYOUT else 0, keepdims=True)


class Env:
    """The values shown so far: ``env("A{p}")`` looks up the printed symbol of layer p."""

    def __init__(self, values: dict, layer: int, nota: str, consts: dict, k: int, n: int):
        self.values, self.nota, self.c, self.k, self.n = values, nota, consts, k, n
        sup = (lambda i: f"[{i}]") if nota == "ng" else \
            (lambda i: "⁽" + str(i).translate(SUP_DIGITS) + "⁾")
        self.fill = {"{l}": sup(layer), "{p}": sup(layer - 1)}

    def name(self, template: str) -> str:
        for key, text in self.fill.items():
            template = template.replace(key, text)
        return template

    def __call__(self, template: str):
        return self.values[self.name(template)]

    def row(self, template: str) -> np.ndarray:
        """Sample n's outputs as a vector, whatever the layout."""
        array = self(template)
        if self.nota in ROWS_LAYOUT:
            return array[self.n]
        return array[:, 0] if array.shape[1] == 1 else array[:, self.n]


def forms(nota: str, k: int, loss: str) -> dict[str, tuple[str, callable]]:
    """Printed equation part -> (kind, evaluator); kind: each, sample, batch, param."""
    s = SYMBOLS[nota]
    A, Z = s["A"], s["Z"]
    rows = nota in ROWS_LAYOUT
    kl = 1 if loss == "ce" else k                      # terms averaged per sample
    table: dict[str, tuple[str, callable]] = {}

    def add(kind, text, fn):
        table[text] = (kind, fn)

    # forward
    x = "x" if nota in ("column", "haykin") else "X"  # one sample: its column x
    add("each", f"{A}{{l}} = {x}", lambda e: {})
    if rows:
        W = "W{l}"
        affine = (lambda e: e(f"{A}{{p}}") @ e("W{l}").T) if nota == "batch" else \
            (lambda e: e(f"{A}{{p}}") @ e("W{l}"))
        prod = f"{A}{{p}} {W}ᵀ" if nota == "batch" else f"{A}{{p}} {W}"
    else:
        affine = lambda e: e("W{l}") @ e(f"{A}{{p}}")  # noqa: E731
        prod = f"W{{l}} {A}{{p}}"
    add("each", f"{Z}{{l}} = {prod} + b{{l}}", lambda e: {f"{Z}{{l}}": affine(e) + e("b{l}")})
    add("each", f"{Z}{{l}} = {prod}", lambda e: {f"{Z}{{l}}": affine(e)})
    axis = 1 if rows else 0
    for name, fn in (("tanh", np.tanh), ("sigmoid", sigmoid), ("relu", relu),
                     ("gelu", lambda z: z * normal_cdf(z)),
                     ("softplus", lambda z: np.where(z > 20, z, np.log1p(np.exp(z)))),
                     ("softmax", lambda z: softmax(z, axis))):
        add("each", f"{A}{{l}} = {name}({Z}{{l}})",
            lambda e, fn=fn: {f"{A}{{l}}": fn(e(f"{Z}{{l}}"))})
    _parametrized_forward_forms(add, A, Z)
    add("each", f"{A}{{l}} = {Z}{{l}}", lambda e: {f"{A}{{l}}": e(f"{Z}{{l}}")})
    _loss_forms(add, s, k, kl, rows)
    _output_forms(add, nota, s, kl, loss)
    _hidden_forms(add, nota, s)
    _update_forms(add, nota, s)
    _dropout_forms(table, add, nota, s)
    return table


def tilde(symbol: str) -> str:
    """The dropped activations' symbol: Ã, ∂L/∂Ã (precomposed where Unicode has the letter)."""
    return unicodedata.normalize("NFC", symbol + "\u0303")


def _dropout_forms(table, add, nota, s):
    """Training-mode dropout: Ã = A ⊙ M / (1 − p) forward, ∂L/∂A = ∂L/∂Ã ⊙ M / (1 − p)
    backward; the layer above reads Ã (its product, weight gradient and ∂L/∂Ã)."""
    A, gA = s["A"], s["gA"]
    M = "m" if nota in ("column", "haykin") else "M"
    At, gAt = tilde(A), tilde(gA)
    add("each", f"{At}{{l}} = {A}{{l}} ⊙ {M}{{l}} / (1 − p{{l}})",
        lambda e: {f"{At}{{l}}": e(f"{A}{{l}}") * (e(f"{M}{{l}}") / (1 - e("p{l}")))})
    add("each", f"{gA}{{l}} = {gAt}{{l}} ⊙ {M}{{l}} / (1 − p{{l}})",
        lambda e: {f"{gA}{{l}}": e(f"{gAt}{{l}}") * (e(f"{M}{{l}}") / (1 - e("p{l}")))})
    below, above = f"{A}{{p}}", f"{At}{{p}}"
    for key, (kind, fn) in list(table.items()):
        if below in key and not key.startswith(s["d"]):       # not Δ⁽ˡ⁻¹⁾: it reads ∂L/∂A
            table[key.replace(below, above)] = (kind, _reading_dropped(fn, below, above))


def _reading_dropped(fn, below: str, above: str):
    """``fn`` with every A⁽ˡ⁻¹⁾ it reads or writes (∂L/∂A⁽ˡ⁻¹⁾ too) named Ã⁽ˡ⁻¹⁾."""
    class Dropped:
        def __init__(self, env):
            self.env = env

        def __call__(self, template):
            return self.env(template.replace(below, above))

        def __getattr__(self, name):
            return getattr(self.env, name)

    return lambda e: {name.replace(below, above): value
                      for name, value in fn(Dropped(e)).items()}


# the parameters of the activations the cases use (printed in the equations)
SLOPES, ALPHAS, BETAS = (0.01, 0.2, 1 / 3), (1.0, 0.5, 2.0, 2 / 3), (2.0, 0.5)
SOFTPLUS = ((2.0, 20.0), (0.5, 20.0), (1.0, 0.5))          # (β, threshold)
GELU_T = "tanh(√(2/π) ({Z} + 0.044715 {Z}³))"       # the tanh approximation of 2Φ(z) − 1


def num(x: float) -> str:
    """A parameter as printed: every digit Python's repr gives, no trailing ".0"."""
    return repr(float(x)).removesuffix(".0")


def gelu_tanh_t(z):
    return np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3))


def _parametrized_forward_forms(add, A, Z):
    """Activations printed with their parameter, or written out (GELU-tanh, Softplus β ≠ 1)."""
    out, z = f"{A}{{l}}", f"{Z}{{l}}"
    for slope in SLOPES:
        add("each", f"{out} = leaky_relu({z}, {num(slope)})",
            lambda e, s=slope: {out: np.where(e(z) > 0, e(z), s * e(z))})
    for alpha in ALPHAS:
        add("each", f"{out} = elu({z}, {num(alpha)})",
            lambda e, a=alpha: {out: np.where(e(z) > 0, e(z), a * np.expm1(np.minimum(e(z), 0)))})
    for beta, t in SOFTPLUS:               # linear where βz > threshold, as PyTorch
        bz = z if beta == 1 else f"{num(beta)} {z}"
        scale = "" if beta == 1 else f"(1/{num(beta)}) "
        add("each", f"{out} = [{bz} > {num(t)}] ⊙ {z} + [{bz} ≤ {num(t)}] ⊙ "
            f"{scale}log(1 + e^({bz}))",
            lambda e, b=beta, t=t: {out: np.where(b * e(z) > t, e(z),
                                                  np.log1p(np.exp(b * e(z))) / b)})
    add("each", f"{out} = ½ {z} ⊙ (1 + {GELU_T.format(Z=z)})",
        lambda e: {out: 0.5 * e(z) * (1 + gelu_tanh_t(e(z)))})


@functools.cache
def cached_forms(nota: str, k: int, loss: str):
    return forms(nota, k, loss)


def _loss_forms(add, s, k, kl, rows):
    A, Y, Z, N = s["A"] + "{l}", s["Y"], s["Z"] + "{l}", s["N"]
    count = N if kl == 1 else f"({N}·{kl})"
    scope = " over every sample n" if s["A"] in ("a", "y") else ""

    def mean(x, e):
        return x.sum() / (e.c[N] * kl)

    def log_softmax(z):
        axis = 1 if rows else 0
        shifted = z - z.max(axis=axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

    add("batch", f"L = −(1/{count}) Σ {Y} ⊙ log softmax({Z}){scope}",
        lambda e: {"L": -mean(e(Y) * log_softmax(e(Z)), e)})
    add("batch", f"L = (1/{count}) Σ [max({Z}, 0) − {Z} ⊙ {Y} + log(1 + e^(−|{Z}|))]{scope}",
        lambda e: {"L": mean(np.maximum(e(Z), 0) - e(Z) * e(Y)
                             + np.log1p(np.exp(-np.abs(e(Z)))), e)})
    add("batch", f"L = −(1/{count}) Σ [{Y} ⊙ log {A} + (1 − {Y}) ⊙ log(1 − {A})]{scope}",
        lambda e: {"L": -mean(e(Y) * np.log(e(A)) + (1 - e(Y)) * np.log(1 - e(A)), e)})

    def floored(e):
        with np.errstate(divide="ignore"):
            log_a, log_1ma = np.log(e(A)), np.log(1 - e(A))
        return {"L": -mean(e(Y) * np.maximum(log_a, -100)
                           + (1 - e(Y)) * np.maximum(log_1ma, -100), e)}

    add("batch", f"L = −(1/{count}) Σ [{Y} ⊙ max(log {A}, −100) + (1 − {Y}) ⊙ "
        f"max(log(1 − {A}), −100)]{scope}", floored)
    add("batch", f"L = (1/{count}) Σ ({A} − {Y})²{scope}",
        lambda e: {"L": mean((e(A) - e(Y)) ** 2, e)})


def _output_forms(add, nota, s, kl, loss):
    A, Y, d, g, N = s["A"] + "{l}", s["Y"], s["d"] + "{l}", s["gA"] + "{l}", s["N"]
    if nota in ROWS_LAYOUT:                  # the 1/(N·n_L) of the mean sits in the delta
        count = N if kl == 1 else f"({N}·{kl})"
        scale, over = (lambda e: 1 / (e.c[N] * kl)), f" / {count}"
    else:                                    # per sample: only the 1/n_L stays
        scale, over = (lambda e: 1 / kl), ("" if kl == 1 else f" / {kl}")
    n_of = (lambda e: 1 / (e.c[N])) if nota in ROWS_LAYOUT else (lambda e: 1.0)
    if nota == "haykin":
        add("each", f"e = {Y} − {A}", lambda e: {"e": e(Y) - e(A)})
        why = {"ce": "softmax + cross-entropy: the Jacobian cancels",
               "bce": "sigmoid + cross-entropy: σ′ cancels"}.get(loss, "")
        add("each", f"{d} = e{over} ({why})", lambda e: {d: e("e") * scale(e)})
        add("each", f"{g} = {Y} / {A}", lambda e: {g: e(Y) / e(A)})
        add("each", f"{g} = e / ({A} ⊙ (1 − {A})){over}",
            lambda e: {g: e("e") / (e(A) * (1 - e(A))) * scale(e)})
        add("each", f"{g} = e / max({A} ⊙ (1 − {A}), 1e−12){over}",
            lambda e: {g: e("e") / np.maximum(e(A) * (1 - e(A)), 1e-12) * scale(e)})
        add("each", f"{g} = 2e{over}", lambda e: {g: 2 * e("e") * scale(e)})
        add("each", f"{d} = 2e{over}", lambda e: {d: 2 * e("e") * scale(e)})
    else:
        diff = f"({A} − {Y})" if nota in ROWS_LAYOUT or kl > 1 else f"{A} − {Y}"
        fused = f"{d} = {diff}{over}"
        if nota == "column":
            fused += " (" + {"ce": "softmax + cross-entropy: the Jacobian cancels",
                             "bce": "sigmoid + cross-entropy: σ′ cancels"}.get(loss, "") + ")"
        add("each", fused, lambda e: {d: (e(A) - e(Y)) * scale(e)})
        add("each", f"{g} = 2({A} − {Y}){over}", lambda e: {g: 2 * (e(A) - e(Y)) * scale(e)})
        add("each", f"{d} = 2({A} − {Y}){over}", lambda e: {d: 2 * (e(A) - e(Y)) * scale(e)})
        add("each", f"{g} = ({A} − {Y}) / ({A} ⊙ (1 − {A})){over}",
            lambda e: {g: (e(A) - e(Y)) / (e(A) * (1 - e(A))) * scale(e)})
        add("each", f"{g} = ({A} − {Y}) / max({A} ⊙ (1 − {A}), 1e−12){over}",
            lambda e: {g: (e(A) - e(Y)) / np.maximum(e(A) * (1 - e(A)), 1e-12) * scale(e)})
        ce_over = " / N" if nota in ROWS_LAYOUT else ""
        add("each", f"{g} = −{Y} / {A}{ce_over}", lambda e: {g: -e(Y) / e(A) * n_of(e)})
    _through_activation_forms(add, nota, s, kl, scale, over)


def _through_activation_forms(add, nota, s, kl, scale, over):
    """Back through the output activation: softmax's Jacobian-vector product, or ⊙ φ′."""
    A, Z, Y, d, g = (s["A"] + "{l}", s["Z"] + "{l}", s["Y"], s["d"] + "{l}", s["gA"] + "{l}")

    def jvp(e):
        return {d: e(A) * (e(g) - per_sample_sum(e(g) * e(A), nota))}

    total = {"batch": f"rowsum({g} ⊙ {A})", "rows": f"rowsum({g} ⊙ {A})",
             "ng": f"colsum({g} ⊙ {A})"}.get(nota, f"{A}ᵀ ({g})")
    add("each", f"{d} = {A} ⊙ ({g} − {total})", jvp)
    for text, dphi in _derivatives(A, Z):
        out = f"{d} = {text} ⊙ ({g})" if nota == "haykin" else f"{d} = {g} ⊙ {text}"
        add("each", out, lambda e, dphi=dphi: {d: e(g) * dphi(e)})
    # sigmoid + BCE on probabilities: the long route, and what it collapses to
    sig = f"{d} = {g} ⊙ {A} ⊙ (1 − {A})"
    collapsed = {"haykin": "e" + over, "batch": f"({A} − {Y}){over}",
                 "rows": f"({A} − {Y}){over}"}.get(nota, f"({A} − {Y}){over}" if kl > 1
                                                    else f"{A} − {Y}")
    if nota == "haykin":
        sig = f"{d} = {A} ⊙ (1 − {A}) ⊙ ({g})"

    def chain(e):
        route = e(g) * e(A) * (1 - e(A))
        short = e("e") * scale(e) if nota == "haykin" else (e(A) - e(Y)) * scale(e)
        assert np.allclose(route, short, rtol=1e-9, atol=1e-12), "the two sides differ"
        return {d: route}

    add("each", f"{sig} = {collapsed}", chain)
    add("J", f"Jₙ = diag({A}ₙ) − {A}ₙ {A}ₙᵀ (not diagonal)",
        lambda e: {"Jₙ": np.diag(e.row(A)) - np.outer(e.row(A), e.row(A))})
    add("each", f"{d}_½ = {d} / 2 (with L = ½·mean (a − y)² the factor 2 cancels)",
        lambda e: {f"{d}_½": e(d) / 2})


def _derivatives(A, Z):
    """φ′ as printed (from the output for tanh and sigmoid) and its value."""
    return [(f"(1 − {A}²)", lambda e: 1 - e(A) ** 2),
            (f"{A} ⊙ (1 − {A})", lambda e: e(A) * (1 - e(A))),
            (f"[{Z} > 0]", lambda e: (e(Z) > 0).astype(float)),
            (f"(Φ({Z}) + {Z} ⊙ Φ′({Z}))",
             lambda e: normal_cdf(e(Z)) + e(Z) * np.exp(-e(Z) ** 2 / 2) / np.sqrt(2 * np.pi)),
            (f"([{Z} > 20] + [{Z} ≤ 20] ⊙ σ({Z}))",
             lambda e: np.where(e(Z) > 20, 1.0, sigmoid(e(Z)))),
            ("1", lambda e: 1.0), *_parametrized_derivatives(A, Z)]


def _parametrized_derivatives(A, Z):
    """φ′ of the activations with a parameter, and GELU-tanh's written out."""
    out = [(f"([{Z} > 0] + {num(s)} [{Z} ≤ 0])",
            lambda e, s=s: np.where(e(Z) > 0, 1.0, s)) for s in SLOPES]
    out += [(f"([{Z} > 0] + [{Z} ≤ 0] ⊙ ({A} + {num(a)}))",
             lambda e, a=a: np.where(e(Z) > 0, 1.0, e(A) + a)) for a in ALPHAS]
    out += [(f"([{num(b)} {Z} > 20] + [{num(b)} {Z} ≤ 20] ⊙ σ({num(b)} {Z}))",
             lambda e, b=b: np.where(b * e(Z) > 20, 1.0, sigmoid(b * e(Z)))) for b in BETAS]
    out.append((f"([{Z} > 0.5] + [{Z} ≤ 0.5] ⊙ σ({Z}))",
                lambda e: np.where(e(Z) > 0.5, 1.0, sigmoid(e(Z)))))
    t = GELU_T.format(Z=Z)
    out.append((f"(½ (1 + {t}) + ½ {Z} ⊙ (1 − {t}²) ⊙ √(2/π) (1 + 0.134145 {Z}²))",
                lambda e: 0.5 * (1 + gelu_tanh_t(e(Z))) + 0.5 * e(Z) * (1 - gelu_tanh_t(e(Z)) ** 2)
                * math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * e(Z) ** 2)))
    return out


def _hidden_forms(add, nota, s):
    Ap, Zp, dl, dp = s["A"] + "{p}", s["Z"] + "{p}", s["d"] + "{l}", s["d"] + "{p}"
    gAp, gW, gb = s["gA"] + "{p}", s["gW"] + "{l}", s["gb"] + "{l}"
    if nota == "batch":
        add("each", f"{gAp} = {dl} W{{l}}", lambda e: {gAp: e(dl) @ e("W{l}")})
        add("param", f"{gW} = {dl}ᵀ {Ap}", lambda e: {gW: e(dl).T @ e(Ap)})
        add("param", f"{gb} = Σₙ {dl}ₙ,:", lambda e: {gb: e(dl).sum(axis=0)})
    elif nota == "rows":
        add("each", f"{gAp} = {dl} W{{l}}ᵀ", lambda e: {gAp: e(dl) @ e("W{l}").T})
        add("param", f"{gW} = {Ap}ᵀ {dl}", lambda e: {gW: e(Ap).T @ e(dl)})
        add("param", f"{gb} = Σₙ {dl}ₙ,:", lambda e: {gb: e(dl).sum(axis=0)})
    else:
        add("each", f"{gAp} = W{{l}}ᵀ {dl}", lambda e: {gAp: e("W{l}").T @ e(dl)})
    if nota == "ng":
        add("param", f"{gW} = (1/m) {dl} {Ap}ᵀ", lambda e: {gW: e(dl) @ e(Ap).T / e.c["m"]})
        add("param", f"{gb} = (1/m) Σ_columns {dl}",
            lambda e: {gb: e(dl).sum(axis=1, keepdims=True) / e.c["m"]})
    if nota in ("column", "haykin"):
        tag = " (BP4, this sample)" if nota == "column" else " (this sample)"
        w1, b1 = ("∂C/∂W{l}", "∂C/∂b{l}") if nota == "column" else ("−∂Eₙ/∂W{l}",
                                                                    "−∂Eₙ/∂b{l}")
        n = "ₙ" if nota == "column" else "(n)"
        add("sample", f"{w1} = {dl} {Ap}ᵀ{tag}", lambda e: {w1: e(dl) @ e(Ap).T})
        add("sample", f"{b1} = {dl}{tag.replace('BP4', 'BP3')}", lambda e: {b1: e(dl)})
        add("param", f"{gW} = (1/N) Σₙ {dl}{n} {Ap}{n}ᵀ",
            lambda e: {gW: e(dl) @ e(Ap).T / e.c["N"]})
        add("param", f"{gb} = (1/N) Σₙ {dl}{n}",
            lambda e: {gb: e(dl).mean(axis=1, keepdims=True)})
    for text, dphi in _derivatives(s["A"] + "{p}", Zp):
        if nota == "column":
            add("each", f"{dp} = (W{{l}}ᵀ {dl}) ⊙ {text} (BP2)",
                lambda e, f=dphi: {dp: (e("W{l}").T @ e(dl)) * f(e)})
        elif nota == "haykin":
            add("each", f"{dp} = {text} ⊙ (W{{l}}ᵀ {dl})",
                lambda e, f=dphi: {dp: (e("W{l}").T @ e(dl)) * f(e)})
        else:
            add("each", f"{dp} = {gAp} ⊙ {text}", lambda e, f=dphi: {dp: e(gAp) * f(e)})


def _update_forms(add, nota, s):
    lr, put = s["lr"], s["set"]
    for P, G in (("W{l}", s["gW"] + "{l}"), ("b{l}", s["gb"] + "{l}")):
        after = f"{P} (after)"
        if nota == "haykin":
            _haykin_sgd_forms(add, P, G)
            grads = [f"g_{P}"]
            add("param", f"g_{P} = −({G})", lambda e, G=G, P=P: {f"g_{P}": -e(G)})
            add("param", f"g_{P} = −({G}) + λ {P}",
                lambda e, G=G, P=P: {f"g_{P}": -e(G) + e.c["λ"] * e(P)})
        else:
            grads = [G, f"g_{P}"]
            add("param", f"g_{P} = {G} + λ {P}",
                lambda e, G=G, P=P: {f"g_{P}": e(G) + e.c["λ"] * e(P)})
        for g in grads:
            v = f"v_{P}"
            add("param", f"{v} ← μ {v} + {g}",
                lambda e, v=v, g=g: {f"{v} (after)": e.c["μ"] * e(v) + e(g)})
            add("param", f"{v} ← μ {v} + (1 − τ) {g}",
                lambda e, v=v, g=g: {f"{v} (after)": e.c["μ"] * e(v) + (1 - e.c["τ"]) * e(g)})
            add("param", f"{v} ← {g} (first step: the buffer starts as the gradient)",
                lambda e, v=v, g=g: {f"{v} (after)": e(g)})
            add("param", f"{P} {put} {P} − {lr} {g}",
                lambda e, P=P, g=g, a=after: {a: e(P) - e.c[lr] * e(g)})
            add("param", f"{P} {put} {P} − {lr} ({g} + μ {v})", lambda e, P=P, g=g, v=v,
                a=after: {a: e(P) - e.c[lr] * (e(g) + e.c["μ"] * e(f"{v} (after)"))})
            for m, beta, power in (("m", "β₁", 1), ("v", "β₂", 2)):
                add("param", f"{m}_{P} ← {beta} {m}_{P} + (1 − {beta}) {g}"
                    + ("²" if power == 2 else ""),
                    lambda e, m=m, b=beta, g=g, P=P, q=power:
                    {f"{m}_{P} (after)": e.c[b] * e(f"{m}_{P}") + (1 - e.c[b]) * e(g) ** q})
        v = f"v_{P}"
        add("param", f"{P} {put} {P} − {lr} {v}",
            lambda e, P=P, v=v, a=after: {a: e(P) - e.c[lr] * e(f"{v} (after)")})
        add("param", "t ← t + 1", lambda e: {"t (after)": e("t") + 1})
        for m, beta in (("m", "β₁"), ("v", "β₂")):
            add("param", f"{m}̂_{P} = {m}_{P} / (1 − {beta}ᵗ)",
                lambda e, m=m, b=beta, P=P: {f"{m}̂_{P}": e(f"{m}_{P} (after)")
                                             / (1 - e.c[b] ** e("t (after)"))})
        add("param", f"{P} (decayed) = {P} (1 − {lr} λ)",
            lambda e, P=P: {f"{P} (decayed)": e(P) * (1 - e.c[lr] * e.c["λ"])})
        for base in (P, f"{P} (decayed)"):
            add("param", f"{P} {put} {base} − {lr} m̂_{P} / (√v̂_{P} + ε)",
                lambda e, P=P, base=base, a=after: {a: e(base) - e.c[lr] * e(f"m̂_{P}")
                                                    / (np.sqrt(e(f"v̂_{P}")) + e.c["ε"])})


def _haykin_sgd_forms(add, P, G):
    D, after = f"Δ{P}", f"{P} (after)"
    add("param", f"−g_{P} = {G} − λ {P}", lambda e: {f"−g_{P}": e(G) - e.c["λ"] * e(P)})
    for g in (G, f"−g_{P}"):
        add("param", f"{D} = η ({g})", lambda e, g=g: {D: e.c["η"] * e(g)})
        add("param", f"{D} = η ({g}) (first step)", lambda e, g=g: {D: e.c["η"] * e(g)})
        add("param", f"{D} = α {D}(n−1) + η ({g})",
            lambda e, g=g: {D: e.c["α"] * e(f"{D}(n−1)") + e.c["η"] * e(g)})
        add("param", f"{D} = α {D}(n−1) + (1 − τ) η ({g})", lambda e, g=g: {
            D: e.c["α"] * e(f"{D}(n−1)") + (1 - e.c["τ"]) * e.c["η"] * e(g)})
        add("param", f"{P} ← {P} + α {D} + η ({g})",
            lambda e, g=g: {after: e(P) + e.c["α"] * e(D) + e.c["η"] * e(g)})
    add("param", f"{P} ← {P} + {D}", lambda e: {after: e(P) + e(D)})


# -- the checker ------------------------------------------------------------------------------
LAYER = {"ng": re.compile(r"\[(\d+)\]"), "other": re.compile(r"⁽([⁰¹²³⁴⁵⁶⁷⁸⁹]+)⁾")}


def normalize(part: str, nota: str) -> tuple[str, int]:
    """The part with its layer indices written {l} (the highest) and {p} (the one below)."""
    pattern = LAYER["ng" if nota == "ng" else "other"]
    found = {int(m.group(1).translate(SUPERSCRIPT)) for m in pattern.finditer(part)}
    if not found:
        return part, 0
    top = max(found)
    assert found <= {top, top - 1}, f"unexpected layers {found} in {part!r}"

    def mark(match):
        return "{l}" if int(match.group(1).translate(SUPERSCRIPT)) == top else "{p}"
    return pattern.sub(mark, part), top


STATE_BEFORE = {"velocity_before", "m_before", "v_before", "step_count_before", "step_before"}
DRAWN = {"mask", "p"}                   # a training-mode step draws a fresh dropout mask


class Checker:
    """Walks a trace in order, recomputing every value that is not given."""

    def __init__(self, trace, k: int, loss: str):
        self.trace, self.nota = trace, trace.notation
        self.one_sample = self.nota in ("column", "haykin")
        self.table = cached_forms(self.nota, k, loss)
        self.k, self.n = k, trace.options["sample"]
        self.checked: set[str] = set()

    def views(self, kind: str) -> list[str]:
        if not self.one_sample:
            return [""]
        return {"each": ["sample", "every"], "sample": ["sample"], "J": ["sample"]}.get(
            kind, ["every"])

    def view_of(self, value) -> str:
        return value.view if self.one_sample else ""

    def lookup(self, store, view: str) -> dict:
        return {**store[""], **store.get(view, {})} if view else dict(store[""])

    def run(self):
        carried: dict = {"": {}, "sample": {}, "every": {}}
        for t in range(1, len(self.trace.recordings) + 1):
            store = {view: dict(values) for view, values in carried.items()}
            for step in (s for s in self.trace.steps if s.iteration == t):
                self.step(step, store, t, keep=True)
                for aside in step.asides:
                    if aside.key != step.key:              # not a compare= aside
                        self.step(aside, {v: dict(d) for v, d in store.items()}, t, keep=False)
            self.same_sample_in_both_views(store, t)
            carried = self.carry(store)
        return self.checked

    def same_sample_in_both_views(self, store, t: int):
        """Column n of the every-sample view IS the one-sample view."""
        for symbol, array in store.get("sample", {}).items():
            if symbol in store.get("every", {}):
                every = store["every"][symbol]
                assert np.array_equal(every[:, [self.n]], array), \
                    f"[{self.nota} t={t}] {symbol}: sample {self.n} differs between the views"

    def carry(self, store):
        out = {view: {} for view in store}
        for view, values in store.items():
            for symbol, array in values.items():
                if symbol.endswith(" (after)"):
                    out[view][symbol[: -len(" (after)")]] = array
                elif symbol.startswith(("ΔW", "Δb")) and "(n−1)" not in symbol:
                    out[view][symbol + "(n−1)"] = array        # Haykin's ΔW(n) -> ΔW(n−1)
        for view, values in store.items():                 # X and Y: the same batch
            for symbol, array in values.items():
                if symbol.endswith(("⁽⁰⁾", "[0]")) or symbol in ("Y", "y", "d"):
                    out[view].setdefault(symbol, array)
        return out

    def step(self, step, store, t: int, keep: bool):
        where = f"[{self.nota} t={t} {step.key}]"
        for value in (v for v in step.values if v.given):
            self.given(value, store, t, where)
            store.setdefault(self.view_of(value), {})[value.symbol] = value.array
        computed = {view: {} for view in ("", "sample", "every")}
        layer = 0
        for part in step.equation.split(";  "):
            key, top = normalize(part, self.nota)
            layer = max(layer, top)
            if key not in self.table:
                pytest.fail(f"{where} no evaluator for the printed equation {part!r} "
                            f"(as {key!r})")
            kind, fn = self.table[key]
            self.checked.add(key)
            for view in self.views(kind):
                env = Env({**self.lookup(store, view), **computed[view], **computed[""]},
                          top, self.nota, self.trace.constants, self.k, self.n)
                for name, array in fn(env).items():
                    computed["" if kind in ("param", "batch") else view][env.name(name)] = \
                        np.asarray(array, dtype=float)
        for value in (v for v in step.values if not v.given):
            self.compare(value, computed, where)
        if keep:
            for value in step.values:
                store.setdefault(self.view_of(value), {})[value.symbol] = value.array

    def given(self, value, store, t: int, where: str):
        known = self.lookup(store, self.view_of(value))
        if value.symbol in known:
            assert np.array_equal(value.array, known[value.symbol]), \
                f"{where} {value.symbol} (given) differs from where it was shown before"
        elif t > 1 and value.slot not in DRAWN:
            pytest.fail(f"{where} {value.symbol} is given but was never shown before")
        elif value.slot in STATE_BEFORE:
            assert not np.any(value.array), f"{where} a fresh optimiser starts at zero"

    def compare(self, value, computed, where: str):
        view = self.view_of(value)
        found = computed[view].get(value.symbol, computed[""].get(value.symbol))
        assert found is not None, f"{where} no printed equation computes {value.label}"
        close = value.array.shape == found.shape and \
            np.allclose(value.array, found, rtol=1e-9, atol=1e-12)
        assert close, f"{where} {value.label}: shown {value.array}, recomputed {found}"


# -- the matrix -------------------------------------------------------------------------------
# (sizes, hidden, output layer, loss name, loss kind)
PAIRS = {
    "logits+cross_entropy": ([3, 4, 3], "relu", None, "cross_entropy", "ce"),
    "softmax layer+mse": ([3, 4, 3], "tanh", "softmax", "mse", "mse"),
    "softmax layer+bce": ([2, 3, 3], "sigmoid", "softmax", "bce", "bce"),
    "sigmoid+bce": ([3, 4, 1], "tanh", "sigmoid", "bce", "bce"),
    "sigmoid+bce, 2 outputs": ([3, 4, 2], "relu", "sigmoid", "bce", "bce"),
    "logits+bce_with_logits": ([3, 4, 2], "sigmoid", None, "bce_with_logits", "bce"),
    "identity+mse": ([3, 4, 2], "tanh", None, "mse", "mse"),
    "identity layer+mse": ([2, 3, 1], "relu", "identity", "mse", "mse"),
    "tanh+mse": ([3, 2, 2], "sigmoid", "tanh", "mse", "mse"),
    "elu+mse": ([3, 4, 2], "leaky_relu", "elu", "mse", "mse"),
    "leaky_relu+mse": ([2, 3, 3, 2], "elu", "leaky_relu", "mse", "mse"),
    "softplus+mse, gelu hidden": ([3, 4, 2], "gelu", "softplus", "mse", "mse"),
    "identity+mse, softmax hidden": ([3, 4, 3, 2], "softmax", None, "mse", "mse"),
    "gelu-tanh+mse, softplus β=2 hidden": ([3, 4, 2], deltaprop.Softplus(beta=2.0),
                                           deltaprop.GELU("tanh"), "mse", "mse"),
    "softplus β=0.5+mse, gelu-tanh hidden": ([3, 4, 2], deltaprop.GELU("tanh"),
                                             deltaprop.Softplus(beta=0.5), "mse", "mse"),
    "elu α=2+mse, leaky 0.2 hidden": ([2, 3, 3, 2], deltaprop.LeakyReLU(0.2),
                                      deltaprop.ELU(2.0), "mse", "mse"),
    "leaky 0.2+mse, elu α=0.5 hidden": ([3, 4, 2], deltaprop.ELU(0.5),
                                        deltaprop.LeakyReLU(0.2), "mse", "mse"),
    "elu α=2/3+mse, leaky 1/3 hidden": ([3, 4, 2], deltaprop.LeakyReLU(1 / 3),
                                        deltaprop.ELU(2 / 3), "mse", "mse"),
    "logits+cross_entropy, identity hidden, one layer deeper": (
        [3, 4, 4, 3], deltaprop.Identity(), None, "cross_entropy", "ce"),
    "logits+cross_entropy, no hidden layer": ([3, 3], "relu", None, "cross_entropy", "ce"),
    "softplus threshold 0.5+mse, tanh hidden": ([3, 4, 2], "tanh",
                                                deltaprop.Softplus(threshold=0.5), "mse", "mse"),
    "sigmoid+bce, saturated": ([2, 3, 2], "tanh", "sigmoid", "bce", "bce"),
    "logits+bce_with_logits, saturated": ([2, 3, 2], "tanh", None, "bce_with_logits", "bce"),
}
OPTIMIZERS = {
    "none": None,
    "sgd": lambda m: SGD(m, lr=0.3),
    "sgd+momentum": lambda m: SGD(m, lr=0.2, momentum=0.9),
    "sgd+nesterov+decay": lambda m: SGD(m, lr=0.2, momentum=0.8, nesterov=True,
                                        weight_decay=0.1),
    "sgd+dampening+decay": lambda m: SGD(m, lr=0.1, momentum=0.7, dampening=0.3,
                                         weight_decay=0.05),
    "sgd+decay": lambda m: SGD(m, lr=0.1, weight_decay=0.2),
    "adam": lambda m: Adam(m, lr=0.05),
    "adam+decay": lambda m: Adam(m, lr=0.05, weight_decay=0.1),
    "adamw": lambda m: AdamW(m, lr=0.05, weight_decay=0.1),
}


def _case(pair: str, bias: bool, seed: int = 0):
    sizes, hidden, output, loss, kind = PAIRS[pair]
    rng = np.random.default_rng(seed)
    model = mlp(sizes, activation=hidden, output=output, bias=bias, seed=seed,
                dtype=np.float64)
    if bias:                                       # non-zero biases, so "+ b" matters
        model.load_state_dict({k: v + rng.normal(0, 0.3, v.shape) if k.endswith("bias") else v
                               for k, v in model.state_dict().items()})
    if "saturated" in pair:                        # |Z| of 30 to 50: the BCE floors act
        state = model.state_dict()
        last = max(k for k in state if k.endswith("weight"))
        state[last] = np.sign(state[last]) * 20.0
        model.load_state_dict(state)
    X, y = batch(rng, sizes, loss, kind, 4)
    return model, X, y, loss, kind, sizes[-1]


def batch(rng, sizes, loss: str, kind: str, n: int):
    """``n`` random inputs and targets of the loss's kind."""
    X = rng.normal(size=(n, sizes[0]))
    if loss == "cross_entropy":
        return X, rng.integers(0, sizes[-1], size=n)
    if kind == "bce":
        return X, rng.integers(0, 2, size=(n, sizes[-1])).astype(float)
    return X, rng.normal(size=(n, sizes[-1]))


def assert_no_bias(trace):
    """No "+ b", no bias shape, gradient or update anywhere in a bias-free network's trace."""
    steps = [a for s in trace.steps for a in (s, *s.asides)]
    for step in steps:
        assert "+ b" not in step.equation and "+ {b}" not in step.shapes, step.key
        assert "bias" not in step.key, step.key
        for value in step.values:
            assert not re.search(r"(^|[_/∂])b(⁽|\[|$)", value.symbol), value.symbol
    assert "no biases" in trace.header[0]


def check_all_notations(pair: str, bias: bool, optimizer: str) -> set[str]:
    model, X, y, loss, kind, k = _case(pair, bias)
    make = OPTIMIZERS[optimizer]
    trace = deltaprop.explain(model, X, y, loss, optimizer=make(model) if make else None,
                              steps=2 if make else 1, show_unfused=True, sample=1)
    checked = set()
    for notation in NOTATIONS:
        shown = trace.in_notation(notation)
        if not bias:
            assert_no_bias(shown)
        checked |= {f"{notation}: {key}" for key in Checker(shown, k, kind).run()}
    return checked


# the quick tests: each pair x bias with one optimiser, taken in turn so every optimiser is
# met with and without biases; the slow test runs the whole product
QUICK = [(pair, bias, list(OPTIMIZERS)[i % len(OPTIMIZERS)])
         for i, (pair, bias) in enumerate(itertools.product(PAIRS, (True, False)))]


@pytest.mark.parametrize(("pair", "bias", "optimizer"), QUICK,
                         ids=[f"{p}-{'bias' if b else 'no-bias'}-{o}" for p, b, o in QUICK])
def test_every_shown_array_is_recomputed_from_the_shown_arrays(pair, bias, optimizer):
    check_all_notations(pair, bias, optimizer)


def test_the_quick_cases_meet_every_optimiser_with_and_without_biases():
    for bias in (True, False):
        assert {o for _, b, o in QUICK if b == bias} == set(OPTIMIZERS)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_the_whole_matrix(optimizer):
    """Every pair x bias x notation for one optimiser (about a second each)."""
    for pair, bias in itertools.product(PAIRS, (True, False)):
        check_all_notations(pair, bias, optimizer)


def test_extreme_logits_are_recomputed_too():
    """Probabilities that underflow to 0: the printed log-softmax loss still holds."""
    model = mlp([2, 3], activation="tanh", dtype=np.float64)
    model.load_state_dict({"0.weight": np.array([[500.0, 0.0], [-500.0, 0.0], [0.0, 1.0]]),
                           "0.bias": np.zeros(3)})
    X, y = np.array([[2.0, 0.0], [-1.0, 1.0]]), np.array([1, 0])
    trace = deltaprop.explain(model, X, y, "cross_entropy", optimizer=SGD(model, lr=0.1),
                              show_unfused=True)
    assert np.isfinite(trace["loss"].value("loss")) and not trace["backward.delta.out"].asides
    for notation in NOTATIONS:
        Checker(trace.in_notation(notation), 3, "ce").run()


@pytest.mark.parametrize("pair", list(PAIRS))
def test_the_notes_claim_only_what_holds_on_the_traces_numbers(pair):
    """The collapse to (A − Y)/(N·k), the 1/N or 1/(N·n_L), Haykin's sign: each note's
    claim is checked on the engine's numbers of that very batch."""
    model, X, y, loss, kind, k = _case(pair, True)
    trace = deltaprop.explain(model, X, y, loss)
    rec = trace.recording
    top, N = rec.layers[-1], rec.n_samples
    count = N if kind == "ce" else N * k                     # what MSELoss/BCELoss divide by
    value = trace["loss"].value("loss")
    assert np.isfinite(value)
    mean = trace.notes[0]
    assert (f"1/N (N = {N})" in mean) if count == N else (f"1/(N·n_L) = 1/{count}" in mean)
    if any("collapses to" in note for note in trace.notes):
        assert np.allclose(top.delta, (top.a - rec.Y) / count, rtol=1e-9, atol=1e-12)
    haykin = trace.in_notation("haykin", sample=1)
    sign = next(note for note in haykin.notes if note.startswith("Haykin's δ"))
    shown = float(re.search(r"sample 1 is (\S+) while", sign).group(1))
    assert np.isclose(shown, -N * top.delta[1, 0], rtol=1e-3, atol=1e-4)


# -- training-mode dropout --------------------------------------------------------------------
# (sizes, hidden, output, loss name, loss kind, dropout p, optimizer)
DROPOUT_CASES = {
    "relu, logits+cross_entropy, p=0.5": ([3, 5, 4, 3], "relu", None, "cross_entropy", "ce",
                                          0.5, "sgd+momentum"),
    "tanh, sigmoid+bce, p=0.3": ([3, 5, 4, 1], "tanh", "sigmoid", "bce", "bce", 0.3, "adam"),
    "softmax hidden, mse, p=0.25": ([3, 4, 3, 2], "softmax", None, "mse", "mse", 0.25, "sgd"),
    "identity hidden, mse, p=0.6": ([2, 4, 2], deltaprop.Identity(), None, "mse", "mse", 0.6,
                                    "adamw"),
}


def dropout_case(name: str, bias: bool = True):
    sizes, hidden, output, loss, kind, p, optimizer = DROPOUT_CASES[name]
    model = mlp(sizes, activation=hidden, output=output, bias=bias, seed=1, dropout=p,
                dtype=np.float64)
    X, y = batch(np.random.default_rng(3), sizes, loss, kind, 5)
    return model, X, y, loss, kind, sizes[-1], OPTIMIZERS[optimizer]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("name", list(DROPOUT_CASES))
def test_training_mode_dropout_is_recomputed_from_the_shown_mask(name, bias):
    """Ã = A ⊙ M / (1 − p) and ∂L/∂A = ∂L/∂Ã ⊙ M / (1 − p), with the mask shown, chain
    into every later step, in every notation, over two training steps (two masks)."""
    model, X, y, loss, kind, k, make = dropout_case(name, bias)
    trace = deltaprop.explain(model, X, y, loss, optimizer=make(model), steps=2, sample=2,
                              dropout="train", show_unfused=True)
    hidden = len(DROPOUT_CASES[name][0]) - 2
    for prefix in ("", "step2."):
        for i in range(1, hidden + 1):
            mask = trace[f"{prefix}forward.dropout.{i}"].value("mask")
            assert set(np.unique(mask)) == {0.0, 1.0}, "the case must drop some and keep some"
            assert np.array_equal(trace[f"{prefix}backward.dropout.{i}"].value("mask"), mask)
    assert not np.array_equal(trace["forward.dropout.1"].value("mask"),
                              trace["step2.forward.dropout.1"].value("mask"))
    checked = set()
    for notation in NOTATIONS:
        checked |= Checker(trace.in_notation(notation), k, kind).run()
    assert any("⊙ M{l} / (1 − p{l})" in key or "⊙ m{l} / (1 − p{l})" in key
               for key in checked)
