r"""The computational graph of a traced network, as an inline SVG (pure string building).

Forward, left to right: :math:`X \to Z^{(1)} \to A^{(1)} \to \dots \to A^{(L)} \to L`, with
each layer's :math:`W^{(l)}` (and :math:`b^{(l)}`) feeding its :math:`Z^{(l)}`, and the targets
:math:`Y` feeding the loss (in a training-mode trace with dropout, :math:`A^{(l)} \to \tilde
A^{(l)}` with the mask :math:`M^{(l)}` feeding it).  Backward, right to left underneath
(dashed): the output delta from the loss, :math:`\Delta^{(l)}` back through each
activation, :math:`\partial L/\partial A^{(l-1)}` back through each product, and
:math:`\partial L/\partial W^{(l)}` up to each weight.  Every node and every backward edge
is a link (``href="#<step key>"``) to the step of the trace that computes it; the symbols are
the trace's own (its notation's), and every piece of text is XML-escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .trace import Step, Trace

COLUMN, ROW = 128, 78              # grid pitch (px)
NODE_W, NODE_H = 96, 40


@dataclass(frozen=True)
class Node:
    name: str               # "X", "Z1", "A1", "W1", "b1", "Y", "L"
    label: str              # the symbol shown, e.g. "Z⁽¹⁾"
    detail: str             # a second line: the shape
    col: int
    row: int                # 0: parameters, 1: the forward chain, 2: the targets
    href: str               # "#forward.z.1"
    title: str              # the step's equation (shown on hover)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    backward: bool
    label: str = ""
    href: str = ""


def _node(trace: Trace, name: str, key: str, slot: str, col: int, row: int) -> Node:
    step = trace[key]
    value = next(v for v in step.values if v.slot == slot and v.view != "every")
    return Node(name, value.symbol, "×".join(map(str, value.array.shape)) or "scalar", col, row,
                "#" + key, step.equation)


def _keys(trace: Trace) -> set[str]:
    return {step.key for step in trace.steps}


def graph_parts(trace: Trace) -> tuple[list[Node], list[Edge]]:
    r"""The nodes and edges of ``trace``'s network (its first training step).

    A training-mode trace has a node :math:`\tilde A^{(l)}` after each dropped layer, fed by
    its mask (underneath), between :math:`A^{(l)}` and the next layer's product."""
    layers = [layer.index for layer in trace.recording.layers]
    keys, last = _keys(trace), layers[-1]
    nodes = [_node(trace, "X", "input", "x", 0, 1)]
    edges, prev, col = [], "X", 0
    for i in layers:
        nodes += [_node(trace, f"Z{i}", f"forward.z.{i}", "z", col + 1, 1),
                  _node(trace, f"A{i}", f"forward.a.{i}", "a", col + 2, 1),
                  _node(trace, f"W{i}", f"forward.z.{i}", "weight", col + 1, 0)]
        edges += [Edge(prev, f"Z{i}", False), Edge(f"W{i}", f"Z{i}", False),
                  Edge(f"Z{i}", f"A{i}", False)]
        if trace.recording.has_bias:
            nodes.append(_node(trace, f"b{i}", f"forward.z.{i}", "bias", col, 0))
            edges.append(Edge(f"b{i}", f"Z{i}", False))
        edges += _backward_edges(trace, keys, i, last, prev)
        prev, col = f"A{i}", col + 2
        if f"forward.dropout.{i}" in keys:
            col += 1
            nodes += [_node(trace, f"D{i}", f"forward.dropout.{i}", "dropped", col, 1),
                      _node(trace, f"M{i}", f"forward.dropout.{i}", "mask", col, 2)]
            edges += [Edge(prev, f"D{i}", False), Edge(f"M{i}", f"D{i}", False)]
            prev = f"D{i}"
    nodes += [_node(trace, "Y", "input", "y", col + 1, 2),
              _node(trace, "L", "loss", "loss", col + 1, 1)]
    edges += [Edge(f"A{last}", "L", False), Edge("Y", "L", False)]
    return nodes, edges


def _symbol(step: Step, slot: str) -> str:
    return next(v.symbol for v in step.values if v.slot == slot)


def _backward_edges(trace: Trace, keys: set[str], i: int, last: int, prev: str) -> list[Edge]:
    """Layer ``i``'s backward edges, each linked to the step that computes what it carries
    (through the dropout below it, if a mask was drawn: ∂L/∂Ã, then ∂L/∂A)."""
    delta_key = "backward.delta.out" if i == last else f"backward.delta.{i}"
    source = "L" if i == last else f"A{i}"
    edges = [Edge(source, f"Z{i}", True, _symbol(trace[delta_key], "delta"), "#" + delta_key)]
    key = f"backward.grad_weight.{i}"
    edges.append(Edge(f"Z{i}", f"W{i}", True, _symbol(trace[key], "grad_weight"), "#" + key))
    key = f"backward.grad_a.{i - 1}"
    if key in keys:
        edges.append(Edge(f"Z{i}", prev, True, _symbol(trace[key], "grad_a"), "#" + key))
    key = f"backward.dropout.{i - 1}"
    if key in keys:
        edges.append(Edge(prev, f"A{i - 1}", True, _symbol(trace[key], "grad_a_kept"),
                          "#" + key))
    return edges


def _centre(node: Node) -> tuple[float, float]:
    return 16 + node.col * COLUMN + NODE_W / 2, 16 + node.row * ROW + NODE_H / 2


def _node_svg(node: Node) -> str:
    x, y = _centre(node)
    kind = {"W": "param", "b": "param", "Y": "data", "X": "data", "M": "data",
            "L": "loss"}.get(
        node.name[0], "value")
    return (f'<a href="{escape(node.href)}" class="node {kind}">'
            f"<title>{escape(node.title)}</title>"
            f'<rect x="{x - NODE_W / 2:g}" y="{y - NODE_H / 2:g}" width="{NODE_W}" '
            f'height="{NODE_H}" rx="6"></rect>'
            f'<text x="{x:g}" y="{y - 3:g}" text-anchor="middle" class="symbol">'
            f"{escape(node.label)}</text>"
            f'<text x="{x:g}" y="{y + 13:g}" text-anchor="middle" class="shape">'
            f"{escape(node.detail)}</text></a>")


def _edge_svg(edge: Edge, where: dict[str, Node]) -> str:
    (x1, y1), (x2, y2) = _centre(where[edge.source]), _centre(where[edge.target])
    if not edge.backward:                      # a straight arrow, node border to node border
        dx, dy = x2 - x1, y2 - y1
        scale = min(NODE_W / 2 / abs(dx) if dx else 1e9, NODE_H / 2 / abs(dy) if dy else 1e9)
        return (f'<line class="forward" x1="{x1 + dx * scale:g}" y1="{y1 + dy * scale:g}" '
                f'x2="{x2 - dx * scale:g}" y2="{y2 - dy * scale:g}" '
                'marker-end="url(#dp-forward)"></line>')
    up = y2 < y1                               # ∂L/∂W goes up to its weight, the rest go left
    sx, sy = (x1 + 10, y1 - NODE_H / 2) if up else (x1, y1 + NODE_H / 2)
    tx, ty = (x2 + 10, y2 + NODE_H / 2) if up else (x2, y2 + NODE_H / 2)
    bend = (sx + 34, (sy + ty) / 2) if up else ((sx + tx) / 2, sy + 34)
    label_x, label_y = (bend[0] + 4, bend[1]) if up else (bend[0], bend[1] - 6)
    anchor = "start" if up else "middle"
    return (f'<a href="{escape(edge.href)}" class="edge backward">'
            f"<title>{escape(edge.label)}</title>"
            f'<path d="M {sx:g} {sy:g} Q {bend[0]:g} {bend[1]:g} {tx:g} {ty:g}" '
            'marker-end="url(#dp-backward)"></path>'
            f'<text x="{label_x:g}" y="{label_y:g}" text-anchor="{anchor}">'
            f"{escape(edge.label)}</text></a>")


_DEFS = ("<defs>" + "".join(
    f'<marker id="dp-{kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
    f'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
    f'class="{kind}-head"></path></marker>' for kind in ("forward", "backward")) + "</defs>")


def graph_svg(trace: Trace) -> str:
    """The graph as one ``<svg>`` element: forward arrows solid, backward ones dashed."""
    nodes, edges = graph_parts(trace)
    where = {node.name: node for node in nodes}
    width = 32 + max(n.col for n in nodes) * COLUMN + NODE_W
    height = 32 + 2 * ROW + NODE_H + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="deltaprop-graph" '
             f'viewBox="0 0 {width:g} {height:g}" width="{width:g}" height="{height:g}" '
             'role="img" aria-labelledby="dp-graph-title">',
             '<title id="dp-graph-title">Computational graph: forward (solid) and backward '
             "(dashed); each node links to its step</title>", _DEFS]
    parts += [_edge_svg(edge, where) for edge in edges if not edge.backward]
    parts += [_edge_svg(edge, where) for edge in edges if edge.backward]
    parts += [_node_svg(node) for node in nodes]
    return "\n".join([*parts, "</svg>"])
