"""Renderers of a :class:`~deltaprop.explain.trace.Trace`: text, Markdown, LaTeX, HTML, JSON.

Small arrays are shown whole; an array with more than ``max_values`` entries is summarised by
its shape, min, max, mean, norm and its top-left corner.  JSON always holds every number.
"""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np

from .latex import to_math, to_text

_PHASES = {"input": "Input", "forward": "Forward pass", "loss": "Loss",
           "backward": "Backward pass", "update": "Update"}


def format_array(array: np.ndarray, max_values: int = 64, precision: int = 4) -> str:
    """The array whole if small, else a summary with its top-left corner."""
    array = np.round(np.asarray(array, dtype=np.float64), 12) + 0.0   # no "-0." for ±1e-17
    if array.ndim == 0:
        return f"{float(array):.{precision + 2}g}"
    if array.size <= max_values:
        return np.array2string(array, precision=precision, suppress_small=True,
                               separator=", ", max_line_width=100, floatmode="maxprec")
    corner = array[:3, :3] if array.ndim == 2 else array[:6]
    return (f"shape {array.shape}: min {array.min():.{precision}g}, max "
            f"{array.max():.{precision}g}, mean {array.mean():.{precision}g}, norm "
            f"{np.linalg.norm(array):.{precision}g}; corner\n"
            + np.array2string(corner, precision=precision, suppress_small=True, separator=", "))


def _values(step, trace) -> list[tuple[str, str]]:
    options = trace.options
    return [(value.symbol, format_array(value.array, options["max_values"],
                                        options["precision"])) for value in step.values]


def _aside_label(trace, aside) -> str:
    if any(step.key == aside.key for step in trace.steps):     # from explain(compare=...)
        return f"same step in the {trace.options.get('compare')} notation"
    return aside.title


def _indent(text: str, pad: str) -> str:
    return "\n".join(pad + line for line in text.splitlines())


# -- text -------------------------------------------------------------------------------------
def _text_step(step, trace, pad: str = "  ") -> list[str]:
    lines = [f"{pad}{step.equation}"]
    if step.shapes:
        lines.append(f"{pad}shapes: {step.shapes}")
    lines.append(f"{pad}code:   {step.code}")
    for symbol, shown in _values(step, trace):
        lines += [f"{pad}{symbol} =", _indent(shown, pad + "  ")]
    lines += [f"{pad}note: {note}" for note in step.notes]
    for aside in step.asides:
        lines += [f"{pad}-- {_aside_label(trace, aside)}", *_text_step(aside, trace, pad + "   ")]
    return lines


def render_text(trace) -> str:
    lines = ["deltaprop trace: one forward, backward and update step", *trace.header]
    phase = None
    for step in trace.steps:
        if step.phase != phase:
            phase = step.phase
            lines += ["", f"== {_PHASES[phase]} =="]
        lines += ["", f"[{step.key}] {step.title}", *_text_step(step, trace)]
    lines += ["", "== Traps to watch =="] + [f"- {note}" for note in trace.notes]
    return "\n".join(lines) + "\n"


# -- Markdown ---------------------------------------------------------------------------------
def _md_step(step, trace, level: str = "###") -> list[str]:
    lines = [f"{level} {step.title}", "", f"`{step.equation}`", ""]
    if step.shapes:
        lines += [f"Shapes: `{step.shapes}`  ", ""]
    lines += [f"Code: `{step.code}`", ""]
    for symbol, shown in _values(step, trace):
        lines += [f"{symbol} =", "", "```", shown, "```", ""]
    lines += [f"> {note}" for note in step.notes] + ([""] if step.notes else [])
    for aside in step.asides:
        lines += [f"#### {_aside_label(trace, aside)}", "", *_md_step(aside, trace)[2:]]
    return lines


def render_markdown(trace) -> str:
    lines = ["# One training step, every number", ""] + [f"- {h}" for h in trace.header] + [""]
    phase = None
    for step in trace.steps:
        if step.phase != phase:
            phase = step.phase
            lines += [f"## {_PHASES[phase]}", ""]
        lines += _md_step(step, trace)
    lines += ["## Traps to watch", ""] + [f"- {note}" for note in trace.notes]
    return "\n".join(lines) + "\n"


# -- LaTeX ------------------------------------------------------------------------------------
def _latex_array(array: np.ndarray, trace) -> str:
    array = np.asarray(array, dtype=np.float64)
    precision = trace.options["precision"]
    if array.ndim == 0:
        return f"{float(array):.{precision + 2}g}"
    if array.size > trace.options["max_values"]:
        return r"\text{" + to_text(format_array(array, trace.options["max_values"],
                                                precision).split(";")[0]) + "}"
    rows = array if array.ndim == 2 else array[None, :]
    body = r" \\ ".join(" & ".join(f"{x:.{precision}g}" for x in row) for row in rows)
    return r"\begin{bmatrix}" + body + r"\end{bmatrix}"


def _latex_step(step, trace) -> list[str]:
    lines = [r"\subsection*{" + to_text(step.title) + "}",
             r"\[ " + to_math(step.equation) + r" \]"]
    if step.shapes:
        lines.append(r"Shapes: \texttt{" + to_text(step.shapes) + r"}\\")
    lines.append(r"Code: \texttt{" + to_text(step.code) + "}")
    for value in step.values:
        lines.append(r"\[ " + to_math(value.symbol) + " = " + _latex_array(value.array, trace)
                     + r" \]")
    lines += [r"\emph{" + to_text(note) + "}" for note in step.notes]
    for aside in step.asides:
        lines += [r"\paragraph{" + to_text(_aside_label(trace, aside)) + "}"]
        lines += _latex_step(aside, trace)[1:]
    return lines


def render_latex(trace) -> str:
    lines = [r"\documentclass{article}", r"\usepackage{amsmath}", r"\begin{document}",
             r"\section*{One training step, every number}", r"\begin{itemize}"]
    lines += [r"\item " + to_text(h) for h in trace.header] + [r"\end{itemize}"]
    phase = None
    for step in trace.steps:
        if step.phase != phase:
            phase = step.phase
            lines.append(r"\section*{" + _PHASES[phase] + "}")
        lines += _latex_step(step, trace)
    lines += [r"\section*{Traps to watch}", r"\begin{itemize}"]
    lines += [r"\item " + to_text(note) for note in trace.notes]
    lines += [r"\end{itemize}", r"\end{document}"]
    return "\n".join(lines) + "\n"


# -- HTML -------------------------------------------------------------------------------------
def _html_step(step, trace, tag: str = "h4") -> list[str]:
    e = html.escape
    lines = [f'<div class="step" id="{e(step.key)}">', f"<{tag}>{e(step.title)}</{tag}>",
             f'<p class="equation"><code>{e(step.equation)}</code></p>']
    if step.shapes:
        lines.append(f'<p class="shapes">shapes: <code>{e(step.shapes)}</code></p>')
    lines.append(f'<p class="code">code: <code>{e(step.code)}</code></p>')
    for symbol, shown in _values(step, trace):
        lines.append(f"<p>{e(symbol)} =</p><pre>{e(shown)}</pre>")
    lines += [f'<p class="note">{e(note)}</p>' for note in step.notes]
    for aside in step.asides:
        lines += ['<div class="aside">', f"<h5>{e(_aside_label(trace, aside))}</h5>",
                  *_html_step(aside, trace, "h6")[2:], "</div>"]
    return [*lines, "</div>"]


def render_html(trace) -> str:
    e = html.escape
    lines = ['<div class="deltaprop-trace">', "<h2>One training step, every number</h2>",
             "<ul>", *(f"<li>{e(h)}</li>" for h in trace.header), "</ul>"]
    phase = None
    for step in trace.steps:
        if step.phase != phase:
            phase = step.phase
            lines.append(f"<h3>{_PHASES[phase]}</h3>")
        lines += _html_step(step, trace)
    lines += ["<h3>Traps to watch</h3>", "<ul>", *(f"<li>{e(n)}</li>" for n in trace.notes),
              "</ul>", "</div>"]
    return "\n".join(lines) + "\n"


# -- JSON -------------------------------------------------------------------------------------
def _step_dict(step) -> dict[str, Any]:
    return {"key": step.key, "phase": step.phase, "layer": step.layer, "name": step.title,
            "equation": step.equation, "shapes": step.shapes, "code": step.code,
            "values": [{"symbol": v.symbol, "slot": v.slot, "role": v.role,
                        "shape": list(np.shape(v.array)),
                        "values": np.asarray(v.array, dtype=np.float64).tolist()}
                       for v in step.values],
            "notes": list(step.notes), "asides": [_step_dict(a) for a in step.asides]}


def trace_dict(trace) -> dict[str, Any]:
    return {"notation": trace.notation, "title": trace.title, "header": list(trace.header),
            "steps": [_step_dict(step) for step in trace.steps], "notes": list(trace.notes)}


def render_json(trace, indent: int | None = 1) -> str:
    return json.dumps(trace_dict(trace), indent=indent, ensure_ascii=False)
