r"""Step mode: one recorded training step, written phase by phase for the page.

The numbers are the explainer's: :func:`~deltaprop.explainer.build_trace` writes the
:class:`~deltaprop.explainer.Recording` of one batch in the chosen notation (the notation
changes the layout and the equations, never the numbers), and each of its steps becomes one
phase here: the equation (Unicode, and LaTeX for KaTeX through the explainer's ``to_math``),
the shape check with the real sizes, the arrays it reads (``inputs``: found in the earlier
steps of the same trace) and the arrays it computes, which edges of the layer's
computational graph it runs along, and the optimiser's constants and state.

Arrays with at most :data:`WHOLE` entries are sent whole; larger ones as their top-left
corner and a summary (min, max, mean, norm).  Every number is sent at full precision: the
page rounds for display and shows the full value on hover.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..explainer import Recording, Step, Trace, build_trace
from ..explainer.dropout import tilde
from ..explainer.latex import to_math
from .config import NOTATIONS, PlaygroundInputError
from .views import plain

WHOLE = 64
CORNER = 6
TRACE_CACHE = 16


def array_view(array: Any) -> dict[str, Any]:
    """An array for the page: whole if small, else its corner and a summary."""
    array = np.asarray(array, dtype=np.float64)
    view: dict[str, Any] = {"shape": list(array.shape), "whole": array.size <= WHOLE}
    if view["whole"]:
        view["values"] = plain(array)
        return view
    corner = array[:CORNER, :CORNER] if array.ndim == 2 else array[:CORNER * CORNER]
    finite = array[np.isfinite(array)]
    view["values"] = plain(corner)
    view["summary"] = {name: float(value) for name, value in (
        ("min", finite.min()), ("max", finite.max()), ("mean", finite.mean()),
        ("norm", np.linalg.norm(finite)))} if finite.size else {}
    return view


def _value(value, given: bool | None = None) -> dict[str, Any]:
    return {"symbol": value.label, "latex": to_math(value.label), "slot": value.slot,
            "role": value.role, "given": value.given if given is None else given,
            "every": value.view == "every", **array_view(value.array)}


def _find(trace: Trace, key: str, slot: str):
    for value in trace[key].values:
        if value.slot == slot and value.view != "every":
            return value
    raise KeyError(f"step {key!r} has no value {slot!r}")


def _delta_key(trace: Trace, layer: int) -> str:
    last = trace.recording.layers[-1].index
    return "backward.delta.out" if layer == last else f"backward.delta.{layer}"


def _activation_key(trace: Trace, layer: int) -> tuple[str, str]:
    """What layer ``layer + 1`` reads: A⁽ˡ⁾, or Ã⁽ˡ⁾ where a dropout mask was drawn."""
    if layer == 0:
        return ("input", "x")
    dropped = f"forward.dropout.{layer}"
    return (dropped, "dropped") if _has(trace, dropped) else (f"forward.a.{layer}", "a")


def _has(trace: Trace, key: str) -> bool:
    return any(step.key == key for step in trace.steps)


def operands(trace: Trace, step: Step) -> list[tuple[str, str]]:
    """``(step key, slot)`` of each array ``step`` reads that an earlier step computed."""
    parts, last = step.key.split("."), trace.recording.layers[-1].index
    kind = parts[0] if parts[0] in ("input", "loss") else f"{parts[0]}.{parts[1]}"
    layer = step.layer
    if kind in ("loss", "backward.delta") and parts[-1] in ("loss", "out"):
        return [(f"forward.a.{last}", "a"), ("input", "y")]
    through = f"backward.dropout.{layer}"
    table = {
        "forward.z": lambda: [_activation_key(trace, layer - 1)],
        "forward.a": lambda: [(f"forward.z.{layer}", "z")],
        "forward.dropout": lambda: [(f"forward.a.{layer}", "a")],
        "backward.grad_weight": lambda: [(_delta_key(trace, layer), "delta"),
                                         _activation_key(trace, layer - 1)],
        "backward.grad_bias": lambda: [(_delta_key(trace, layer), "delta")],
        "backward.grad_a": lambda: [(_delta_key(trace, layer + 1), "delta"),
                                    (f"forward.z.{layer + 1}", "weight")],
        "backward.dropout": lambda: [(f"backward.grad_a.{layer}", "grad_a")],
        "backward.delta": lambda: [(through, "grad_a_kept") if _has(trace, through)
                                   else (f"backward.grad_a.{layer}", "grad_a"),
                                   (f"forward.z.{layer}", "z")],
        "update.weight": lambda: [(f"backward.grad_weight.{layer}", "grad_weight")],
        "update.bias": lambda: [(f"backward.grad_bias.{layer}", "grad_bias")],
    }
    return table[kind]() if kind in table else []


# which edges of one layer's graph a step runs along (the page lights them):
# nodes a_prev, w, b, z, a, up (the layer above, the loss, or the dropped Ã⁽ˡ⁾); f: forward,
# b: backward
EDGES = {"forward.z": ["f:a_prev-z", "f:w-z", "f:b-z"], "forward.a": ["f:z-a"],
         "forward.dropout": ["f:a-up"], "loss": ["f:a-up"],
         "backward.delta.out": ["b:up-a", "b:a-z"], "backward.grad_weight": ["b:z-w"],
         "backward.grad_bias": ["b:z-b"], "backward.grad_a": ["b:z-a_prev"],
         "backward.dropout": ["b:up-a"], "backward.delta": ["b:up-a", "b:a-z"],
         "update.weight": ["u:w"], "update.bias": ["u:b"]}


def graph(trace: Trace, step: Step) -> dict[str, Any] | None:
    """The layer whose graph the page draws for ``step``, its node labels and the lit edges."""
    if step.key == "input":
        return None
    parts, last = step.key.split("."), trace.recording.layers[-1].index
    kind = step.key if step.key in EDGES else f"{parts[0]}.{parts[1]}"
    layer = last if step.key in ("loss", "backward.delta.out") else step.layer
    if kind == "backward.grad_a":
        layer += 1                               # ∂L/∂A⁽ˡ⁻¹⁾ comes out of layer l
    nota_symbols, sup = _symbols(trace)
    dropped = tilde(nota_symbols["A"])
    labels = {"a_prev": (dropped if _has(trace, f"forward.dropout.{layer - 1}")
                         else nota_symbols["A"]) + sup(layer - 1),
              "w": nota_symbols["W"] + sup(layer), "b": "b" + sup(layer),
              "z": nota_symbols["Z"] + sup(layer), "a": nota_symbols["A"] + sup(layer),
              "up": "L" if layer == last else dropped + sup(layer)
              if _has(trace, f"forward.dropout.{layer}") else f"layer {layer + 1}"}
    return {"layer": layer, "lit": EDGES[kind],
            "labels": {key: {"text": text, "latex": to_math(text)}
                       for key, text in labels.items()}}


def _symbols(trace: Trace):
    from ..explainer.notations import get_notation
    nota = get_notation(trace.notation)
    return nota.symbols, nota.sup


def check_view(notation: Any, sample: Any, n_samples: int) -> None:
    """The page's notation and sample, checked before the trace is written."""
    if not isinstance(notation, str) or notation not in NOTATIONS:
        raise PlaygroundInputError("notation", "one of " + ", ".join(NOTATIONS), notation)
    if isinstance(sample, bool) or not isinstance(sample, int) or not 0 <= sample < n_samples:
        raise PlaygroundInputError("sample", f"an integer in [0, {n_samples - 1}]", sample)


def step_view(recording: Recording, index: int, notation: str, *, unfused: bool = False,
              sample: int = 0, traces: dict | None = None) -> dict[str, Any]:
    """Phase ``index`` of the recorded step, written in ``notation``, for the page.

    ``traces``: a cache of the traces written from ``recording`` (the page asks for one phase
    at a time, so each notation's trace is written once, not once per phase).
    """
    check_view(notation, sample, recording.n_samples)
    key = (notation, bool(unfused), sample)
    trace = None if traces is None else traces.get(key)
    if trace is None:
        trace = build_trace(recording, notation, sample=sample, show_unfused=unfused)
        if traces is not None:
            if len(traces) >= TRACE_CACHE:
                traces.clear()
            traces[key] = trace
    n_steps = len(trace.steps)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n_steps:
        raise PlaygroundInputError("index", f"an integer in [0, {n_steps - 1}]", index)
    step = trace.steps[index]
    inputs = [_value(_find(trace, key, slot), given=True) for key, slot in operands(trace, step)]
    return {
        "index": index, "count": len(trace.steps), "key": step.key, "phase": step.phase,
        "layer": step.layer, "title": step.title, "equation": step.equation,
        "latex": to_math(step.equation), "shapes": step.shapes, "notes": step.notes,
        "code": step.code, "inputs": inputs, "values": [_value(v) for v in step.values],
        "asides": [{"title": aside.title, "equation": aside.equation,
                    "latex": to_math(aside.equation), "shapes": aside.shapes,
                    "values": [_value(v) for v in aside.values]} for aside in step.asides],
        "graph": graph(trace, step),
        "steps": [{"key": s.key, "title": s.title, "phase": s.phase} for s in trace.steps],
        "header": trace.header, "notation": trace.notation, "title_notation": trace.title,
        "constants": trace.constants, "loss": plain(recording.loss_value),
        "optimizer": type(recording.optimizer).__name__ if recording.optimizer else None,
        "n_samples": recording.n_samples, "one_sample": trace.notation in ("column", "haykin"),
        "mode": _mode(recording),
    }


def _mode(recording: Recording) -> str:
    """What the page says about the step: training mode, and where the masks are."""
    dropped = [layer.index for layer in recording.layers if layer.dropout is not None]
    if recording.dropout_mode != "train":
        return "evaluation mode: Dropout passes everything through"
    if not dropped:
        return "training mode, the step fit takes (this network has no dropout)"
    return ("training mode, the step fit takes: the dropout masks drawn after layer"
            f"{'s' if len(dropped) > 1 else ''} {', '.join(map(str, dropped))} are shown "
            "in the dropout phases")
