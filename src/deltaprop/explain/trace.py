r"""``Step`` and ``Trace``: the ordered steps of one training step, in one notation.

A trace is built from a :class:`~deltaprop.explain.recording.Recording` (what the engine
recorded) and a :class:`~deltaprop.explain.notations.Notation` (how to write it).  Order:
the input, forward per layer (:math:`Z^{(l)}`, :math:`A^{(l)}`), the loss, the output delta,
then per layer from the top :math:`\partial L/\partial W^{(l)}`, :math:`\partial L/\partial
b^{(l)}`, :math:`\partial L/\partial A^{(l-1)}`, :math:`\Delta^{(l-1)}`, and the update.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .notations import Context, Notation, derivative_text, get_notation, output_delta_equation
from .recording import Recording
from .where import code_location


@dataclass
class Value:
    """One array a step shows: its symbol, the array (in the step's notation) and its role.

    ``slot`` names the quantity independently of the notation (``"z"``, ``"delta"``, ...), so
    the same quantity can be found in traces of different notations; ``role`` says how the
    engine's array was re-laid out (see ``notations.LAYOUTS``).
    """

    symbol: str
    array: np.ndarray
    role: str
    slot: str


@dataclass
class Step:
    """One step of the trace: equation, shape check, values and where it lives in the code."""

    key: str                        # unique, e.g. "forward.z.1", "backward.grad_weight.2"
    phase: str                      # "input", "forward", "loss", "backward", "update"
    layer: int | None
    title: str
    equation: str
    shapes: str
    values: list[Value]
    code: str
    notes: list[str] = field(default_factory=list)
    asides: list[Step] = field(default_factory=list)   # same step another way (unfused, ...)

    def value(self, slot: str) -> np.ndarray:
        for value in self.values:
            if value.slot == slot:
                return value.array
        raise KeyError(f"step {self.key!r} has no value {slot!r}; it has "
                       f"{[v.slot for v in self.values]}")


@dataclass
class Trace:
    """The steps of one forward/backward/update pass, with renderers.

    ``str(trace)`` is the plain-text form; ``to_markdown()``, ``to_latex()``, ``to_html()``,
    ``to_json()`` and ``to_dict()`` give the others, and Jupyter displays a trace by itself.
    """

    notation: str
    title: str
    header: list[str]
    steps: list[Step]
    notes: list[str]
    recording: Recording
    options: dict[str, Any]

    def __getitem__(self, key: str) -> Step:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(f"no step {key!r}; steps: {[s.key for s in self.steps]}")

    def in_notation(self, notation: str, **options: Any) -> Trace:
        """The same recorded numbers written in another notation (no engine run)."""
        return build_trace(self.recording, notation, **{**self.options, **options})

    # renderers live in render.py; these are thin forwards
    def to_text(self) -> str:
        from .render import render_text
        return render_text(self)

    def to_markdown(self) -> str:
        from .render import render_markdown
        return render_markdown(self)

    def to_latex(self) -> str:
        from .render import render_latex
        return render_latex(self)

    def to_html(self) -> str:
        from .render import render_html
        return render_html(self)

    def to_dict(self) -> dict[str, Any]:
        from .render import trace_dict
        return trace_dict(self)

    def to_json(self, indent: int | None = 1) -> str:
        from .render import render_json
        return render_json(self, indent=indent)

    def render(self, format: str = "text") -> str:
        """The trace as ``"text"``, ``"markdown"``, ``"latex"``, ``"html"`` or ``"json"``."""
        renderers = {"text": self.to_text, "markdown": self.to_markdown,
                     "latex": self.to_latex, "html": self.to_html, "json": self.to_json}
        if format not in renderers:
            raise ValueError(f"unknown trace format {format!r}; valid: {', '.join(renderers)}")
        return renderers[format]()

    __str__ = to_text

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html()


def build_trace(rec: Recording, notation: str = "batch", *, sample: int = 0,
                show_unfused: bool = False, compare: str | None = None,
                max_values: int = 64, precision: int = 4) -> Trace:
    """Write the recording ``rec`` as a :class:`Trace` in ``notation``."""
    from .traps import general_notes, unfused_asides

    nota = get_notation(notation)
    if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) \
            or not 0 <= sample < rec.n_samples:
        raise ValueError(f"explain sample must be an integer in [0, {rec.n_samples}), "
                         f"got {sample!r}")
    if compare is not None:
        get_notation(compare)
    options = {"sample": int(sample), "show_unfused": bool(show_unfused), "compare": compare,
               "max_values": max_values, "precision": precision}
    lr = getattr(rec.optimizer, "lr", None)
    ctx = Context(rec.n_samples, int(sample), lr)
    steps = _steps(rec, nota, ctx)
    if show_unfused:
        for step in steps:
            step.asides.extend(unfused_asides(rec, nota, ctx, step))
    if compare is not None and compare != nota.name:
        other = {s.key: s for s in _steps(rec, get_notation(compare), ctx)}
        for step in steps:
            if step.key in other:
                step.asides.append(other[step.key])
    return Trace(notation=nota.name, title=nota.title, header=_header(rec, ctx, nota),
                 steps=steps, notes=general_notes(rec, nota, ctx), recording=rec,
                 options=options)


def _header(rec: Recording, ctx: Context, nota: Notation) -> list[str]:
    sizes = [rec.layers[0].weight.shape[1]] + [layer.weight.shape[0] for layer in rec.layers]
    hidden = sorted({layer.activation_name for layer in rec.layers[:-1]})
    output = rec.layers[-1].activation_name
    if rec.fused:
        output = f"logits; the loss applies {rec.loss.link}"
    lines = [f"network {'-'.join(map(str, sizes))}"
             + (f", {'/'.join(hidden)} hidden" if hidden else "") + f", output {output}",
             f"loss {type(rec.loss).__name__} (batch mean), N = {rec.n_samples} samples",
             f"notation: {nota.title}"]
    if nota.one_sample:
        lines.append(f"one sample shown as column vectors: n = {ctx.sample}")
    opt = rec.optimizer
    if opt is not None:
        extra = f", momentum {opt.momentum:g}" if getattr(opt, "momentum", 0) else ""
        lines.append(f"optimizer {type(opt).__name__}, lr {opt.lr:g}{extra}")
    return lines


def _steps(rec: Recording, nota: Notation, ctx: Context) -> list[Step]:
    s, sup = nota.symbols, nota.sup
    show = nota.show
    layers, last = rec.layers, rec.layers[-1].index
    steps = [Step("input", "input", 0, "input and targets", f"{s['A']}{sup(0)} = X", "",
                  [Value(f"{s['A']}{sup(0)}", show("act", rec.X, ctx), "act", "x"),
                   Value(s["Y"], show("act", rec.Y, ctx), "act", "y")],
                  "deltaprop.model.Sequential.forward")]
    for layer in layers:                                             # forward
        i = layer.index
        Z, A = s["Z"] + sup(i), s["A"] + sup(i)
        a_prev = show("act", layer.a_prev, ctx)
        weight, z = show("weight", layer.weight, ctx), show("act", layer.z, ctx)
        bias = show("bias", layer.bias if layer.bias is not None else 0 * layer.z[0], ctx)
        steps.append(Step(
            f"forward.z.{i}", "forward", i, f"layer {i}: pre-activation",
            nota.equation("z", l=sup(i), p=sup(i - 1)),
            nota.shape_check("z", {"A": a_prev.shape, "W": weight.shape, "b": bias.shape},
                             z.shape),
            [Value(Z, z, "act", "z")], code_location(type(layer.dense).forward)))
        link = rec.fused and i == last
        name = rec.loss.link if link else layer.activation_name
        a = show("act", layer.a, ctx)
        phi = f"{name}({Z})" if name != "identity" else Z
        steps.append(Step(
            f"forward.a.{i}", "forward", i, f"layer {i}: activation",
            nota.equation("a", l=sup(i), phi=phi),
            ("softmax over each sample's outputs" if name == "softmax" else
             f"{name} element-wise") + f": {tuple(z.shape)} → {tuple(a.shape)}",
            [Value(A, a, "act", "a")],
            code_location(_activation_function(rec, layer, link)),
            ["the model outputs logits; the loss applies the link itself (fused)"]
            if link else []))
    steps.append(Step("loss", "loss", None, "loss (batch mean)",
                      f"L = mean {type(rec.loss).__name__}({s['A']}{sup(last)}, {s['Y']})",
                      f"{layers[-1].a.shape}, {rec.Y.shape} → ()",
                      [Value("L", np.asarray(rec.loss_value), "scalar", "loss")],
                      code_location(type(rec.loss).elementwise)))
    top = layers[-1]
    delta = show("grad", top.delta, ctx)
    steps.append(Step(
        "backward.delta.out", "backward", last, "output delta",
        output_delta_equation(nota, rec.pairing, last, top.activation_name, rec.n_outputs,
                              engine_unfused=not rec.fused),
        f"{tuple(show('act', top.a, ctx).shape)} − {tuple(show('act', rec.Y, ctx).shape)} → "
        f"{tuple(delta.shape)}", [Value(s["d"] + sup(last), delta, "grad", "delta")],
        code_location(type(rec.loss).elementwise if rec.fused or top.activation is None
                      else type(top.activation).backward)))
    for layer in reversed(layers):                                    # backward
        steps.extend(_backward_steps(rec, nota, ctx, layer))
    if rec.optimizer is not None:                                     # update
        for layer in layers:
            steps.extend(_update_steps(rec, nota, ctx, layer))
    return steps


def _activation_function(rec: Recording, layer, link: bool):
    if link:
        from .. import activations
        return activations.softmax if rec.loss.link == "softmax" else activations.Sigmoid.function
    if layer.activation is None:
        return type(layer.dense).forward
    return type(layer.activation).function


def _backward_steps(rec: Recording, nota: Notation, ctx: Context, layer) -> list[Step]:
    s, sup, show, i = nota.symbols, nota.sup, nota.show, layer.index
    where = code_location(type(layer.dense).backward)
    delta, a_prev = show("grad", layer.delta, ctx), show("act", layer.a_prev, ctx)
    grad_w = show("grad_weight", layer.grad_weight, ctx)
    values = [Value(s["gW"] + sup(i), grad_w, "grad_weight", "grad_weight")]
    if nota.one_sample:
        values.append(Value("this sample", np.outer(delta[:, 0], a_prev[:, 0]), "sample",
                            "sample_grad_weight"))
    steps = [Step(f"backward.grad_weight.{i}", "backward", i, f"layer {i}: weight gradient",
                  nota.equation("grad_weight", l=sup(i), p=sup(i - 1)),
                  nota.shape_check("grad_weight", {"d": delta.shape, "A": a_prev.shape},
                                   grad_w.shape), values, where)]
    if layer.grad_bias is not None:
        grad_b = show("grad_bias", layer.grad_bias, ctx)
        steps.append(Step(f"backward.grad_bias.{i}", "backward", i, f"layer {i}: bias gradient",
                          nota.equation("grad_bias", l=sup(i)),
                          nota.shape_check("grad_bias", {"d": delta.shape}, grad_b.shape),
                          [Value(s["gb"] + sup(i), grad_b, "grad_bias", "grad_bias")], where))
    if i == 1:
        return steps
    below = rec.layers[i - 2]
    weight = show("weight", layer.weight, ctx)
    grad_a = show("grad", layer.grad_a_prev, ctx)
    steps.append(Step(f"backward.grad_a.{i - 1}", "backward", i - 1,
                      f"layer {i}: gradient to the layer below",
                      nota.equation("grad_a_prev", l=sup(i), p=sup(i - 1)),
                      nota.shape_check("grad_a_prev", {"d": delta.shape, "W": weight.shape},
                                       grad_a.shape),
                      [Value(s["gA"] + sup(i - 1), grad_a, "grad", "grad_a")], where))
    dphi = derivative_text(below.activation_name, s["A"] + sup(i - 1), s["Z"] + sup(i - 1))
    delta_below = show("grad", below.delta, ctx)
    activation = below.activation if below.activation is not None else below.dense
    steps.append(Step(f"backward.delta.{i - 1}", "backward", i - 1, f"layer {i - 1}: delta",
                      nota.equation("delta", l=sup(i), p=sup(i - 1), dphi=dphi),
                      nota.shape_check("delta", {"g": grad_a.shape,
                                                 "Z": show("act", below.z, ctx).shape},
                                       delta_below.shape),
                      [Value(s["d"] + sup(i - 1), delta_below, "grad", "delta")],
                      code_location(getattr(type(activation), "derivative",
                                            type(activation).backward))))
    return steps


def _update_steps(rec: Recording, nota: Notation, ctx: Context, layer) -> list[Step]:
    s, sup, show, i = nota.symbols, nota.sup, nota.show, layer.index
    opt = rec.optimizer
    where = code_location(type(opt).update)
    momentum = getattr(opt, "momentum", 0.0)
    steps = []
    for key, new, grad, velocity in (
            ("weight", layer.new_weight, layer.grad_weight, layer.velocity_weight),
            ("bias", layer.new_bias, layer.grad_bias, layer.velocity_bias)):
        if new is None:
            continue
        symbol = s["W"] + sup(i) if key == "weight" else "b" + sup(i)
        grad_symbol = (s["gW"] if key == "weight" else s["gb"]) + sup(i)
        values = [Value(f"{symbol} (after)", show(key, new, ctx), key, f"new_{key}")]
        if type(opt).__name__ != "SGD":
            equation = f"{symbol} ← {type(opt).__name__} step from {grad_symbol}"
        elif nota.name == "haykin":
            term = f"η (1/N) Σₙ δ{sup(i)}(n)" + (f" y{sup(i - 1)}(n)ᵀ" if key == "weight" else "")
            step = f"α Δ{symbol}(n−1) + {term}" if momentum else term
            equation = nota.equation(f"update_{key}", l=sup(i), step_w=step, step_b=step)
            values.append(Value(f"Δ{symbol}", show(f"velocity_{key}",
                                                   velocity if momentum else grad, ctx),
                                f"velocity_{key}", "step"))
        else:
            v = f"v_{symbol}"
            step = v if momentum else grad_symbol
            if getattr(opt, "nesterov", False):
                step = f"({grad_symbol} + μ {v})"                   # Nesterov look-ahead
            equation = nota.equation(f"update_{key}", l=sup(i), step_w=step, step_b=step)
            if momentum:
                damped = f"(1 − τ) {grad_symbol}" if getattr(opt, "dampening", 0) else grad_symbol
                equation = f"{v} ← μ {v} + {damped};  {equation}"
            if momentum and velocity is not None:
                values.append(Value(v, show(f"velocity_{key}", velocity, ctx),
                                    f"velocity_{key}", "velocity"))
        shapes = f"{tuple(show(key, new, ctx).shape)} (same shape as {grad_symbol})"
        notes = [f"weight decay: the gradient used is {grad_symbol} + λ {symbol}, "
                 f"λ = {opt.weight_decay:g}"] if getattr(opt, "weight_decay", 0) else []
        steps.append(Step(f"update.{key}.{i}", "update", i, f"layer {i}: update {key}",
                          equation, shapes, values, where, notes))
    return steps
