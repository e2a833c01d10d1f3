"""Renderers of a :class:`~deltaprop.explainer.trace.Trace`: text, Markdown, LaTeX, HTML, JSON.

Small arrays are shown whole; an array with more than ``max_values`` entries is summarised by
its shape, min, max, mean, norm and its top-left corner.  JSON always holds every number.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from .latex import to_code, to_math, to_text

if TYPE_CHECKING:
    from .trace import Step, Trace, Value

_PHASES = {"input": "Input", "forward": "Forward pass", "loss": "Loss",
           "backward": "Backward pass", "update": "Update"}


def no_negative_zero(array: Any, decimals: int | None = None) -> np.ndarray:
    """``array`` as float64, rounded to ``decimals`` if given, with every −0 turned into 0.

    A value that rounds to zero from below (−1e−9 at 4 decimals) would print as ``-0.``;
    adding ``0.0`` after the rounding turns ``-0.0`` into ``0.0`` (IEEE: −0 + 0 = +0).
    """
    array = np.asarray(array, dtype=np.float64)
    if decimals is not None:
        array = np.round(array, decimals)
    return array + 0.0


def number(x: float, precision: int) -> str:
    """``x`` with ``precision`` significant digits, never ``-0``."""
    text = f"{float(x):.{precision}g}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def format_array(array: np.ndarray, max_values: int = 64, precision: int = 4) -> str:
    """The array whole if small, else a summary with its top-left corner.

    Every entry has ``precision`` significant digits (not decimals): a second moment of
    ``3e−06`` is shown as such, not as a ``0`` that the next equation turns into a non-zero.
    """
    array = no_negative_zero(array)
    if array.ndim == 0:
        return number(array, precision + 2)
    if array.size <= max_values:
        return _grid(array, precision)
    corner = array[:3, :3] if array.ndim == 2 else array[:6]
    stats = ", ".join(f"{name} {number(value, precision)}" for name, value in (
        ("min", array.min()), ("max", array.max()), ("mean", array.mean()),
        ("norm", np.linalg.norm(array))))
    return f"shape {array.shape}: {stats}; corner\n" + _grid(corner, precision)


def _grid(array: np.ndarray, precision: int) -> str:
    """``[[a, b],\n [c, d]]`` with right-aligned entries of ``precision`` significant digits."""
    if array.ndim > 2:
        return np.array2string(array, precision=precision, separator=", ")
    cells = [number(x, precision) for x in array.ravel()]
    width = max(map(len, cells), default=0)
    cells = [cell.rjust(width) for cell in cells]
    if array.ndim == 1:
        return "[" + ", ".join(cells) + "]"
    n_cols = array.shape[1]
    rows = ["[" + ", ".join(cells[r * n_cols:(r + 1) * n_cols]) + "]"
            for r in range(array.shape[0])]
    return "[" + ",\n ".join(rows) + "]"


def _values(step, trace) -> list[tuple[str, str]]:
    options = trace.options
    return [(value_label(value), format_array(value.array, options["max_values"],
                                         options["precision"])) for value in step.values]


def value_label(value: Value) -> str:
    """The symbol as printed, with ``(given)`` for an input of the step."""
    return value.label + (" (given)" if value.given else "")


def phase_title(trace: Trace, step: Step) -> str:
    """``Forward pass``, with the training step when the trace has several."""
    heading = _PHASES[step.phase]
    if len(trace.recordings) > 1:
        heading += f" (training step {step.iteration} of {len(trace.recordings)})"
    return heading


def _what(trace) -> str:
    count = len(trace.recordings)
    return "one forward, backward and update step" if count == 1 else \
        f"{count} training steps (forward, backward, update) on the same batch"


def title(trace: Trace) -> str:
    """The trace's heading: ``One training step, every number``."""
    count = len(trace.recordings)
    return ("One training step" if count == 1 else f"{count} training steps") + ", every number"


def new_phase(step: Step, current: tuple[str, int] | None) -> bool:
    """Does ``step`` open a new phase (or a new training step) after ``current``?"""
    return (step.phase, step.iteration) != current


def aside_label(trace: Trace, aside: Step) -> str:
    """What an aside is: the same step in the compared notation, or its own title."""
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
        lines += [f"{pad}-- {aside_label(trace, aside)}", *_text_step(aside, trace, pad + "   ")]
    return lines


def render_text(trace: Trace) -> str:
    lines = [f"deltaprop trace: {_what(trace)}", *trace.header]
    phase = None
    for step in trace.steps:
        if new_phase(step, phase):
            phase = (step.phase, step.iteration)
            lines += ["", f"== {phase_title(trace, step)} =="]
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
        lines += [f"#### {aside_label(trace, aside)}", "", *_md_step(aside, trace)[2:]]
    return lines


def render_markdown(trace: Trace) -> str:
    lines = [f"# {title(trace)}", ""] + [f"- {h}" for h in trace.header] + [""]
    phase = None
    for step in trace.steps:
        if new_phase(step, phase):
            phase = (step.phase, step.iteration)
            lines += [f"## {phase_title(trace, step)}", ""]
        lines += _md_step(step, trace)
    lines += ["## Traps to watch", ""] + [f"- {note}" for note in trace.notes]
    return "\n".join(lines) + "\n"


# -- LaTeX ------------------------------------------------------------------------------------
# A matrix wider than TILE_COLS or taller than TILE_ROWS is shown in tiles of that size (every
# entry kept, as in the text form); \fit scales a display down only if it is still too wide.
TILE_ROWS, TILE_COLS = 12, 6
_PREAMBLE = [r"\documentclass{article}", r"\usepackage{amsmath}", r"\usepackage{graphicx}",
             r"\setcounter{MaxMatrixCols}{" + str(TILE_COLS + 1) + "}",
             r"\newcommand{\fit}[1]{\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}"
             r"{!}{$\displaystyle #1$}}", r"\setlength{\parindent}{0pt}"]


def _display(math: str) -> str:
    return r"\[ \fit{" + math + r"} \]"


def _bmatrix(rows: list[list[str]]) -> str:
    return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(row) for row in rows) + \
        r"\end{bmatrix}"


def _latex_array(array: np.ndarray, trace) -> str:
    """The array as one LaTeX math expression: a number, a ``bmatrix`` of the entries as the
    text form prints them, or (summarised) its top-left corner followed by dots."""
    array = no_negative_zero(array)
    precision = trace.options["precision"]
    if array.ndim == 0:
        return number(array, precision + 2)
    if array.size > trace.options["max_values"]:
        return _corner(array, trace)
    grid = array if array.ndim == 2 else array.reshape(1, array.size)
    return _bmatrix(_shown_numbers(grid, trace).reshape(grid.shape).tolist())


def _corner(array: np.ndarray, trace) -> str:
    r"""The corner the text summary prints, with ``\cdots``, ``\vdots``, ``\ddots`` beyond."""
    grid = array if array.ndim == 2 else array.reshape(1, array.size)
    rows, cols = (3, 3) if array.ndim == 2 else (1, 6)
    corner = grid[:rows, :cols]
    cells = _shown_numbers(corner, trace, whole=True).reshape(corner.shape).tolist()
    wide, tall = grid.shape[1] > cols, grid.shape[0] > rows
    cells = [row + [r"\cdots"] * wide for row in cells]
    if tall:
        cells.append([r"\vdots"] * corner.shape[1] + [r"\ddots"] * wide)
    return _bmatrix(cells)


NUMBER_PATTERN = _NUMBER = re.compile(r"[-+]?(?:nan|inf|(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)")


def _shown_numbers(array: np.ndarray, trace, whole: bool = False) -> np.ndarray:
    """The entries exactly as the text, Markdown and HTML forms print them (same rounding)."""
    limit = array.size if whole else trace.options["max_values"]
    text = format_array(array, limit, trace.options["precision"])
    return np.array(_NUMBER.findall(text), dtype=object)


def _latex_value(value, trace) -> list[str]:
    """One shown array: a display (tiles of a large whole matrix), or its summary and corner."""
    label, array = to_math(value_label(value)), no_negative_zero(value.array)
    if array.ndim == 0 or array.size > trace.options["max_values"]:
        lines = [] if array.ndim == 0 else [to_text(f"{value_label(value)}: " + format_array(
            array, trace.options["max_values"], trace.options["precision"]).split(";")[0])
            + "; top-left corner:"]
        return [*lines, _display(label + " = " + _latex_array(array, trace))]
    grid = array if array.ndim == 2 else array.reshape(1, array.size)
    shown = _shown_numbers(grid, trace).reshape(grid.shape)
    if grid.shape[0] <= TILE_ROWS and grid.shape[1] <= TILE_COLS:
        return [_display(label + " = " + _bmatrix(shown.tolist()))]
    lines = []
    for r in range(0, grid.shape[0], TILE_ROWS):
        for c in range(0, grid.shape[1], TILE_COLS):
            tile = shown[r:r + TILE_ROWS, c:c + TILE_COLS]
            rows, cols = f"{r + 1}--{r + tile.shape[0]}", f"{c + 1}--{c + tile.shape[1]}"
            where = rf"\text{{rows {rows}, columns {cols}}}" if array.ndim == 2 \
                else rf"\text{{entries {cols}}}"
            lines.append(_display(rf"{label}\ [{where}] = " + _bmatrix(tile.tolist())))
    return lines


def _latex_step(step, trace) -> list[str]:
    lines = [r"\subsection*{" + to_text(step.title) + "}", _display(to_math(step.equation))]
    if step.shapes:
        lines.append(r"Shapes: \texttt{" + to_text(step.shapes) + r"}\\")
    lines.append("Code: " + to_code(step.code))
    for value in step.values:
        lines += _latex_value(value, trace)
    lines += [r"\par\emph{" + to_text(note) + r"}\par" for note in step.notes]
    for aside in step.asides:
        lines += [r"\paragraph{" + to_text(aside_label(trace, aside)) + "}"]
        lines += _latex_step(aside, trace)[1:]
    return lines


def render_latex(trace: Trace) -> str:
    lines = [*_PREAMBLE, r"\begin{document}", r"\raggedright",
             r"\section*{" + to_text(title(trace)) + "}", r"\begin{itemize}"]
    lines += [r"\item " + to_text(h) for h in trace.header] + [r"\end{itemize}"]
    phase = None
    for step in trace.steps:
        if new_phase(step, phase):
            phase = (step.phase, step.iteration)
            lines.append(r"\section*{" + to_text(phase_title(trace, step)) + "}")
        lines += _latex_step(step, trace)
    lines += [r"\section*{Traps to watch}", r"\begin{itemize}"]
    lines += [r"\item " + to_text(note) for note in trace.notes]
    lines += [r"\end{itemize}", r"\end{document}"]
    return "\n".join(lines) + "\n"


# -- HTML -------------------------------------------------------------------------------------
def render_html(trace: Trace, *, standalone: bool = True) -> str:
    """The trace as a standalone HTML page (``page.py``); ``standalone=False``: the body only
    (a ``<div>`` with its own styles, as Jupyter shows it)."""
    from .page import render_body, render_page

    return render_page(trace) if standalone else render_body(trace)


# -- JSON -------------------------------------------------------------------------------------
def _step_dict(step) -> dict[str, Any]:
    return {"key": step.key, "phase": step.phase, "layer": step.layer, "name": step.title,
            "iteration": step.iteration,
            "equation": step.equation, "shapes": step.shapes, "code": step.code,
            "values": [{"symbol": v.symbol, "slot": v.slot, "role": v.role, "view": v.view,
                        "given": v.given, "shape": list(np.shape(v.array)),
                        "values": no_negative_zero(v.array).tolist()}
                       for v in step.values],
            "notes": list(step.notes), "asides": [_step_dict(a) for a in step.asides]}


def trace_dict(trace: Trace) -> dict[str, Any]:
    return {"notation": trace.notation, "title": trace.title, "header": list(trace.header),
            "constants": {k: float(v) + 0.0 for k, v in trace.constants.items()},
            "steps": [_step_dict(step) for step in trace.steps], "notes": list(trace.notes)}


def render_json(trace: Trace, indent: int | None = 1) -> str:
    return json.dumps(trace_dict(trace), indent=indent, ensure_ascii=False)
