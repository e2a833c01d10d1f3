r"""``Step`` and ``Trace``: the ordered steps of one training step, in one notation.

A trace is built from a :class:`~deltaprop.explainer.recording.Recording` (what the engine
recorded) and a :class:`~deltaprop.explainer.notations.Notation` (how to write it).  Order:
the input, forward per layer (:math:`Z^{(l)}`, :math:`A^{(l)}`), the loss, the output delta,
then per layer from the top :math:`\partial L/\partial W^{(l)}`, :math:`\partial L/\partial
b^{(l)}`, :math:`\partial L/\partial A^{(l-1)}`, :math:`\Delta^{(l-1)}`, and the update.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_integer
from ..nn.optim import Optimizer
from . import dropout
from .header import header_lines
from .notations import Context, Notation, derivative_text, function_text, get_notation
from .outputs import loss_equation, output_delta_equation, softmax_backward_equation
from .recording import Recording
from .updates import constants, update_parts
from .where import code_location

FORMATS = ("text", "markdown", "latex", "html", "json")     # Trace.render: one to_<name> each


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
    view: str = ""          # one-sample notations: "sample" (sample n) or "every" (all n)
    given: bool = False     # shown as an input of the step (computed or chosen elsewhere)

    @property
    def label(self) -> str:
        """The symbol as printed: the every-sample view says so."""
        return f"{self.symbol} (every n)" if self.view == "every" \
            else self.symbol


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

    iteration: int = 1                                   # explain(..., steps=k): which step

    def value(self, slot: str) -> np.ndarray:
        for value in self.values:
            if value.slot == slot and value.view != "every":
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
    recordings: list[Recording] = field(default_factory=list)
    constants: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Step:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(f"no step {key!r}; steps: {[s.key for s in self.steps]}")

    def in_notation(self, notation: str, **options: Any) -> Trace:
        """The same recorded numbers written in another notation (no engine run)."""
        return build_trace(self.recordings or [self.recording], notation,
                           **{**self.options, **options})

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

    def to_html(self, *, standalone: bool = True) -> str:
        """A standalone HTML page; ``standalone=False``: the ``<div>`` body only."""
        from .render import render_html
        return render_html(self, standalone=standalone)

    def to_dict(self) -> dict[str, Any]:
        from .render import trace_dict
        return trace_dict(self)

    def to_json(self, indent: int | None = 1) -> str:
        from .render import render_json
        return render_json(self, indent=indent)

    def render(self, format: str = "text") -> str:
        """The trace as ``"text"``, ``"markdown"``, ``"latex"``, ``"html"`` or ``"json"``."""
        renderers = {name: getattr(self, f"to_{name}") for name in FORMATS}
        if format not in renderers:
            raise ValueError(f"unknown trace format {format!r}; valid: {', '.join(renderers)}")
        return renderers[format]()

    __str__ = to_text

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html(standalone=False)


def check_sample(sample: int, n_samples: int) -> None:
    """The sample the one-sample notations show is one of the batch's."""
    check_integer("explain", "sample", sample, low=0, high=n_samples - 1,
                  rule=f"an integer in [0, {n_samples})")


def check_display_options(max_values: int, precision: int) -> None:
    """``max_values`` and ``precision`` are positive integers (checked before the engine runs)."""
    for name, value in (("max_values", max_values), ("precision", precision)):
        check_integer("explain", name, value, low=1)


def build_trace(recordings: Recording | list[Recording], notation: str = "batch", *,
                sample: int = 0, show_unfused: bool = False, compare: str | None = None,
                max_values: int = 64, precision: int = 4) -> Trace:
    """Write the recording(s) (one per optimiser step) as a :class:`Trace` in ``notation``."""
    from .traps import general_notes

    recs = recordings if isinstance(recordings, list) else [recordings]
    rec = recs[0]
    nota = get_notation(notation)
    check_sample(sample, rec.n_samples)
    if compare is not None:
        get_notation(compare)
    check_display_options(max_values, precision)
    options = {"sample": int(sample), "show_unfused": bool(show_unfused), "compare": compare,
               "max_values": max_values, "precision": precision}
    ctx = Context(rec.n_samples, int(sample), getattr(rec.optimizer, "lr", None))
    steps = [step for r in recs for step in _iteration_steps(r, nota, ctx, show_unfused)]
    if compare is not None and compare != nota.name:
        other = {s.key: s for r in recs for s in _iteration_steps(r, get_notation(compare),
                                                                  ctx, False, notes=False)}
        for step in steps:
            if step.key in other:
                step.asides.append(other[step.key])
    return Trace(notation=nota.name, title=nota.title, header=header_lines(recs, ctx, nota),
                 steps=steps, notes=general_notes(rec, nota, ctx), recording=rec,
                 options=options, recordings=recs, constants=constants(rec, nota))


def _iteration_steps(rec: Recording, nota: Notation, ctx: Context,
                     show_unfused: bool, notes: bool = True) -> list[Step]:
    """The steps of one training step; keys of the second and later get a ``stepT.`` prefix.

    ``notes``: saturated and dead units noted on their steps (not in a compared aside)."""
    from .traps import unfused_asides
    from .units import add_unit_notes

    steps = _steps(rec, nota, ctx)
    if notes:
        add_unit_notes(rec, steps)
    for step in steps:
        if show_unfused:
            step.asides.extend(unfused_asides(rec, nota, ctx, step))
        step.iteration = rec.iteration
        if rec.iteration > 1:
            step.key = f"step{rec.iteration}.{step.key}"
    return steps


def activation_values(nota: Notation, ctx: Context, symbol: str, role: str, array: Any,
                      slot: str, given: bool = False) -> list[Value]:
    """A per-sample quantity: the shown sample, and every sample in the one-sample notations."""
    if not nota.one_sample:
        return [Value(symbol, nota.show(role, array, ctx), role, slot, given=given)]
    return [Value(symbol, nota.show(role, array, ctx), role, slot, "sample", given),
            Value(symbol, nota.show_every(role, array, ctx), role, slot, "every", given)]


def _steps(rec: Recording, nota: Notation, ctx: Context) -> list[Step]:
    s, sup = nota.symbols, nota.sup
    x = "x" if nota.one_sample else "X"             # one sample's input: the column x
    steps = [Step("input", "input", 0, "input and targets", f"{s['A']}{sup(0)} = {x}", "",
                  # what layer 1 read: X cast to the model's dtype by the engine
                  activation_values(nota, ctx, f"{s['A']}{sup(0)}", "act", rec.layers[0].a_prev,
                              "x", True)
                  + activation_values(nota, ctx, s["Y"], "act", rec.Y, "y", True),
                  "deltaprop.nn.model.Sequential.forward")]
    for layer in rec.layers:
        steps.extend(_forward_steps(rec, nota, ctx, layer))
        if layer.dropout is not None:                # training mode: the mask drawn
            steps.append(dropout.forward_step(nota, ctx, layer))
    steps.append(_loss_step(rec, nota, ctx))
    steps.append(_output_delta_step(rec, nota, ctx))
    for layer in reversed(rec.layers):
        steps.extend(_backward_steps(rec, nota, ctx, layer))
    if rec.optimizer is not None:
        for layer in rec.layers:
            steps.extend(_update_steps(rec, nota, ctx, layer))
    return steps


def _forward_steps(rec: Recording, nota: Notation, ctx: Context, layer) -> list[Step]:
    s, sup, i = nota.symbols, nota.sup, layer.index
    Z, A = s["Z"] + sup(i), s["A"] + sup(i)
    weight = nota.show("weight", layer.weight, ctx)
    params = [Value(s["W"] + sup(i), weight, "weight", "weight", given=True)]
    shapes = {"A": nota.show("act", layer.a_prev, ctx).shape, "W": weight.shape}
    if layer.bias is not None:
        params.append(Value("b" + sup(i), nota.show("bias", layer.bias, ctx), "bias", "bias",
                            given=True))
        shapes["b"] = params[-1].array.shape
    z = nota.show("act", layer.z, ctx)
    link = rec.fused and i == rec.layers[-1].index
    name = rec.loss.link if link else layer.activation_name
    a = nota.show("act", layer.a, ctx)
    phi = function_text(name if link else layer.activation, Z)
    where = ("softmax over each sample's outputs" if name == "softmax" else
             f"{name} element-wise") + f": {tuple(z.shape)} → {tuple(a.shape)}"
    return [Step(f"forward.z.{i}", "forward", i, f"layer {i}: pre-activation",
                 dropout.reading(rec, nota, i).equation("z", layer.bias is not None,
                                                        l=sup(i), p=sup(i - 1)),
                 nota.shape_check("z", shapes, z.shape),
                 params + activation_values(nota, ctx, Z, "act", layer.z, "z"),
                 code_location(type(layer.dense).forward)),
            Step(f"forward.a.{i}", "forward", i, f"layer {i}: activation",
                 nota.equation("a", l=sup(i), phi=phi), where,
                 activation_values(nota, ctx, A, "act", layer.a, "a"),
                 code_location(_activation_function(rec, layer, link)),
                 ["the model outputs logits; the loss applies the link itself (fused)"]
                 if link else [])]


def _loss_step(rec: Recording, nota: Notation, ctx: Context) -> Step:
    top = rec.layers[-1]
    show = nota.show_every if nota.one_sample else nota.show      # the mean is over the batch
    return Step("loss", "loss", None, "loss (batch mean)",
                loss_equation(nota, rec.spec, top.index),
                f"{show('act', top.a, ctx).shape}, {show('act', rec.Y, ctx).shape} → ()",
                [Value("L", np.asarray(rec.loss_value), "scalar", "loss")],
                code_location(type(rec.loss).elementwise))


def _output_delta_step(rec: Recording, nota: Notation, ctx: Context) -> Step:
    s, top = nota.symbols, rec.layers[-1]
    last = top.index
    values = []
    equation = output_delta_equation(nota, rec.spec, last)
    if nota.name == "haykin" and equation.startswith("e = "):
        values += activation_values(nota, ctx, "e", "act", rec.Y - top.a, "error")
    if not rec.fused and rec.spec.activation != "identity":
        values += activation_values(nota, ctx, s["gA"] + nota.sup(last), "grad", top.grad_a,
                              "grad_a_out")
    values += activation_values(nota, ctx, s["d"] + nota.sup(last), "grad", top.delta, "delta")
    delta = nota.show("grad", top.delta, ctx)
    return Step("backward.delta.out", "backward", last, "output delta", equation,
                f"{tuple(nota.show('act', top.a, ctx).shape)} − "
                f"{tuple(nota.show('act', rec.Y, ctx).shape)} → {tuple(delta.shape)}", values,
                code_location(type(rec.loss).elementwise if rec.fused or top.activation is None
                              else type(top.activation).backward))


def _activation_function(rec: Recording, layer, link: bool):
    if link:
        from ..nn import activations
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
        values.append(Value(nota.symbols["gW1"] + sup(i), np.outer(delta[:, 0], a_prev[:, 0]),
                            "sample", "sample_grad_weight", "sample"))
    steps = [Step(f"backward.grad_weight.{i}", "backward", i, f"layer {i}: weight gradient",
                  dropout.reading(rec, nota, i).equation("grad_weight", l=sup(i), p=sup(i - 1)),
                  nota.shape_check("grad_weight", {"d": delta.shape, "A": a_prev.shape},
                                   grad_w.shape), values, where)]
    if layer.grad_bias is not None:
        grad_b = show("grad_bias", layer.grad_bias, ctx)
        values = [Value(s["gb"] + sup(i), grad_b, "grad_bias", "grad_bias")]
        if nota.one_sample:
            values.append(Value(nota.symbols["gb1"] + sup(i), delta, "sample",
                                "sample_grad_bias", "sample"))
        steps.append(Step(f"backward.grad_bias.{i}", "backward", i, f"layer {i}: bias gradient",
                          nota.equation("grad_bias", l=sup(i)),
                          nota.shape_check("grad_bias", {"d": delta.shape}, grad_b.shape),
                          values, where))
    if i == 1:
        return steps
    return steps + _hidden_delta_steps(rec, nota, ctx, layer, where)


def _hidden_delta_steps(rec: Recording, nota: Notation, ctx: Context, layer,
                        where: str) -> list[Step]:
    """∂L/∂A⁽ˡ⁻¹⁾ out of layer l (∂L/∂Ã⁽ˡ⁻¹⁾ with a mask below, then back through it), and
    Δ⁽ˡ⁻¹⁾."""
    s, sup, show, i = nota.symbols, nota.sup, nota.show, layer.index
    below, read = rec.layers[i - 2], dropout.reading(rec, nota, i)
    delta, weight = show("grad", layer.delta, ctx), show("weight", layer.weight, ctx)
    grad_a = show("grad", layer.grad_a_prev, ctx)
    A, Z, d = s["A"] + sup(i - 1), s["Z"] + sup(i - 1), s["d"] + sup(i - 1)
    if below.activation_name == "softmax":             # full Jacobian: its JVP, not ⊙ φ′
        delta_equation = softmax_backward_equation(nota, A, s["gA"] + sup(i - 1), d)
    elif below.dropout is not None and nota.one_sample:
        delta_equation = dropout.one_sample_delta_equation(
            nota, d, s["gA"] + sup(i - 1), derivative_text(below.activation, A, Z))
    else:
        delta_equation = nota.equation("delta", l=sup(i), p=sup(i - 1),
                                       dphi=derivative_text(below.activation, A, Z))
    activation = below.activation if below.activation is not None else below.dense
    steps = [Step(f"backward.grad_a.{i - 1}", "backward", i - 1,
                  f"layer {i}: gradient to the layer below",
                  read.equation("grad_a_prev", l=sup(i), p=sup(i - 1)),
                  nota.shape_check("grad_a_prev", {"d": delta.shape, "W": weight.shape},
                                   grad_a.shape),
                  activation_values(nota, ctx, read.symbols["gA"] + sup(i - 1), "grad",
                                    layer.grad_a_prev, "grad_a"), where)]
    if below.dropout is not None:
        steps.append(dropout.backward_step(nota, ctx, below))
    steps.append(Step(
        f"backward.delta.{i - 1}", "backward", i - 1, f"layer {i - 1}: delta", delta_equation,
        nota.shape_check("delta", {"g": show("grad", below.grad_a, ctx).shape,
                                   "Z": show("act", below.z, ctx).shape},
                         show("grad", below.delta, ctx).shape),
        activation_values(nota, ctx, d, "grad", below.delta, "delta"),
        code_location(getattr(type(activation), "derivative", type(activation).backward))))
    return steps


def _update_steps(rec: Recording, nota: Notation, ctx: Context, layer) -> list[Step]:
    i, opt = layer.index, rec.optimizer
    steps = []
    for key in ("weight", "bias"):
        if key not in layer.updates:
            continue
        equation, values = update_parts(rec, nota, ctx, layer, key)
        grad_symbol = (nota.symbols["gW"] if key == "weight" else nota.symbols["gb"])
        shapes = f"{tuple(values[0].array.shape)} (same shape as {grad_symbol}{nota.sup(i)})"
        steps.append(Step(f"update.{key}.{i}", "update", i, f"layer {i}: update {key}",
                          equation, shapes, values, code_location(_update_code(opt))))
    return steps


def _update_code(opt):
    """The optimiser's own update math: its ``_change`` (the step ``Optimizer.update`` applies)
    where it keeps the shared ``update``, else the ``update`` it defines itself."""
    cls = type(opt)
    return cls._change if cls.update is Optimizer.update else cls.update
