"""The HTML trace: a standalone page (or, for Jupyter, the same body as a fragment).

The page needs nothing from outside: its styles are inline, the equations are MathML written
in Python (``mathml.py``, typeset by the browser, no script), the computational graph is an
inline SVG (``graph.py``) whose nodes link to their steps, each step is a collapsible
``<details>``, notes and the same step in another notation are ``<aside>`` s set apart.  Every
piece of text is escaped; the numbers are those of the text form (``render.format_array``).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from .graph import graph_svg
from .mathml import to_mathml
from .render import aside_label, format_array, new_phase, phase_title, title, value_label

if TYPE_CHECKING:
    from .trace import Step, Trace

STYLE = """
.deltaprop-trace { font: 16px/1.5 system-ui, sans-serif; color: #1d2433; max-width: 60rem;
  margin: 0 auto; padding: 1rem; }
.deltaprop-trace h1 { font-size: 1.6rem; } .deltaprop-trace h2 { margin-top: 2rem;
  border-bottom: 2px solid #d0d7e2; }
.deltaprop-trace details.step { border: 1px solid #d0d7e2; border-radius: 6px;
  margin: .6rem 0; padding: .2rem .8rem; background: #fff; }
.deltaprop-trace details.step > summary { cursor: pointer; font-weight: 600; padding: .3rem 0; }
.deltaprop-trace .key { font: 12px ui-monospace, monospace; color: #5a6478;
  margin-right: .5rem; }
.deltaprop-trace details.step:target { outline: 3px solid #f2b134; }
.deltaprop-trace math[display="block"] { margin: .5rem 0; font-size: 1.15em;
  overflow-x: auto; }
.deltaprop-trace pre { background: #f5f7fa; padding: .4rem .6rem; overflow-x: auto;
  margin: .2rem 0 .6rem; }
.deltaprop-trace .meta { color: #3d4658; font-size: .92em; margin: .2rem 0; }
.deltaprop-trace aside { margin: .6rem 0; padding: .4rem .8rem; border-radius: 4px; }
.deltaprop-trace aside.note { background: #fff8e1; border-left: 4px solid #f2b134; }
.deltaprop-trace aside.other { background: #eef4ff; border-left: 4px solid #4a7bd0; }
.deltaprop-trace section.traps li { background: #fdeeee; border-left: 4px solid #c94a4a;
  list-style: none; margin: .5rem 0; padding: .4rem .8rem; }
.deltaprop-trace figure.graph { overflow-x: auto; margin: 1rem 0; }
.deltaprop-graph .node rect { fill: #fff; stroke: #4a7bd0; stroke-width: 1.5; }
.deltaprop-graph .node.param rect { fill: #f2f6ff; stroke-dasharray: 4 2; }
.deltaprop-graph .node.data rect { fill: #f5f7fa; stroke: #5a6478; }
.deltaprop-graph .node.loss rect { fill: #fdeeee; stroke: #c94a4a; }
.deltaprop-graph .node:hover rect { stroke-width: 3; }
.deltaprop-graph text { font: 14px system-ui, sans-serif; fill: #1d2433; }
.deltaprop-graph text.shape { font-size: 11px; fill: #5a6478; }
.deltaprop-graph line.forward { stroke: #1d2433; stroke-width: 1.5; }
.deltaprop-graph .backward path { fill: none; stroke: #c94a4a; stroke-width: 1.5;
  stroke-dasharray: 5 3; }
.deltaprop-graph .backward text { fill: #c94a4a; font-size: 12px; }
.deltaprop-graph .forward-head { fill: #1d2433; } .deltaprop-graph .backward-head { fill: #c94a4a; }
"""


def _values(step: Step, trace: Trace) -> list[str]:
    options = trace.options
    lines = []
    for value in step.values:                 # the symbol as math, "(given)" etc. as text
        suffix = value_label(value).removeprefix(value.symbol)
        shown = format_array(value.array, options["max_values"], options["precision"])
        lines.append(f'<div class="value"><p class="label">'
                     f"{to_mathml(value.symbol, display=False)}{escape(suffix)} =</p>"
                     f"<pre>{escape(shown)}</pre></div>")
    return lines


def _body(step: Step, trace: Trace) -> list[str]:
    """A step's equation, shapes, code location, values, notes and asides."""
    lines = [to_mathml(step.equation)]
    if step.shapes:
        lines.append(f'<p class="meta shapes">shapes: <code>{escape(step.shapes)}</code></p>')
    lines.append(f'<p class="meta code">code: <code>{escape(step.code)}</code></p>')
    lines += _values(step, trace)
    lines += [f'<aside class="note" role="note">{escape(note)}</aside>' for note in step.notes]
    for aside in step.asides:
        lines += ['<aside class="other">', f"<h4>{escape(aside_label(trace, aside))}: "
                  f"{escape(aside.title)}</h4>", *_body(aside, trace), "</aside>"]
    return lines


def _step(step: Step, trace: Trace) -> list[str]:
    return [f'<details class="step" id="{escape(step.key)}" open>',
            f'<summary><span class="key">{escape(step.key)}</span>{escape(step.title)}'
            "</summary>", *_body(step, trace), "</details>"]


def render_body(trace: Trace, *, style: bool = True) -> str:
    """The trace as one ``<div class="deltaprop-trace">``, with its own ``<style>`` unless
    ``style`` is false (the standalone page puts it in its ``<head>``)."""
    lines = ['<div class="deltaprop-trace">', *([f"<style>{STYLE}</style>"] if style else []),
             f"<h1>{escape(title(trace))}</h1>",
             '<ul class="header">', *(f"<li>{escape(h)}</li>" for h in trace.header), "</ul>",
             '<figure class="graph">', graph_svg(trace),
             "<figcaption>The computational graph: forward arrows solid, backward arrows "
             "dashed; click a node or a backward arrow to go to its step.</figcaption>",
             "</figure>"]
    phase = None
    for step in trace.steps:
        if new_phase(step, phase):
            lines += [] if phase is None else ["</section>"]
            phase = (step.phase, step.iteration)
            lines += [f'<section class="phase {escape(step.phase)}">',
                      f"<h2>{escape(phase_title(trace, step))}</h2>"]
        lines += _step(step, trace)
    lines += ["</section>"] if phase is not None else []
    lines += ['<section class="traps">', "<h2>Traps to watch</h2>", "<ul>",
              *(f"<li>{escape(note)}</li>" for note in trace.notes), "</ul>", "</section>",
              "</div>"]
    return "\n".join(lines) + "\n"


def render_page(trace: Trace) -> str:
    """A standalone HTML5 document: doctype, charset, title, styles, the body above."""
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', "<head>",
                      '<meta charset="utf-8">',
                      '<meta name="viewport" content="width=device-width, initial-scale=1">',
                      f"<title>deltaprop: {escape(title(trace))}</title>",
                      f"<style>{STYLE}</style>", "</head>", "<body>",
                      render_body(trace, style=False).rstrip("\n"), "</body>", "</html>"]) + "\n"
