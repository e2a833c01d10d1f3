"""The computational graph: one node per quantity, forward and backward edges, linked steps."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import deltaprop
from deltaprop import mlp
from deltaprop.explainer.graph import graph_parts, graph_svg

SVG = "{http://www.w3.org/2000/svg}"


def _trace(sizes, notation="batch", bias=True, **options):
    model = mlp(sizes, activation="relu", output="sigmoid", seed=0, dtype=np.float64,
                bias=bias)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4, sizes[0])), rng.integers(0, 2, 4).astype(float)
    return deltaprop.explain(model, X, y, "bce", notation, **options)


@pytest.mark.parametrize("sizes", [[3, 1], [2, 4, 1], [5, 3, 4, 2, 1]])
def test_one_node_per_quantity_and_the_edges_of_the_chain(sizes):
    trace = _trace(sizes)
    nodes, edges = graph_parts(trace)
    layers = len(sizes) - 1
    names = {node.name for node in nodes}
    assert names == {"X", "Y", "L"} | {f"{q}{i}" for i in range(1, layers + 1)
                                       for q in ("Z", "A", "W", "b")}
    forward = {(e.source, e.target) for e in edges if not e.backward}
    chain = ["X"] + [f"{q}{i}" for i in range(1, layers + 1) for q in ("Z", "A")] + ["L"]
    assert set(itertools.pairwise(chain)) <= forward
    assert {(f"W{i}", f"Z{i}") for i in range(1, layers + 1)} <= forward and ("Y", "L") in forward
    backward = {(e.source, e.target): e.href for e in edges if e.backward}
    assert backward[("L", f"Z{layers}")] == "#backward.delta.out"
    for i in range(1, layers + 1):
        assert backward[(f"Z{i}", f"W{i}")] == f"#backward.grad_weight.{i}"
        if i > 1:
            assert backward[(f"Z{i}", f"A{i - 1}")] == f"#backward.grad_a.{i - 1}"
            assert backward[(f"A{i - 1}", f"Z{i - 1}")] == f"#backward.delta.{i - 1}"
    assert ("Z1", "X") not in backward                   # nothing flows back into the data


def test_every_node_and_backward_edge_links_to_a_step_that_computes_it():
    trace = _trace([2, 4, 1])
    keys = {step.key for step in trace.steps}
    nodes, edges = graph_parts(trace)
    for node in nodes:
        assert node.href[1:] in keys and node.title == trace[node.href[1:]].equation
    shown = {node.name: node for node in nodes}
    assert shown["Z1"].href == "#forward.z.1" and shown["A2"].href == "#forward.a.2"
    assert shown["L"].href == "#loss" and shown["X"].href == "#input"
    assert shown["Z1"].detail == "4×4" and shown["W1"].detail == "4×2"     # (N, out), (out, in)
    for edge in edges:
        if edge.backward:
            assert edge.href[1:] in keys and edge.label


def test_the_svg_is_well_formed_and_links_each_node():
    trace = _trace([2, 4, 1])
    root = ET.fromstring(graph_svg(trace))
    links = [a.get("href") for a in root.iter(f"{SVG}a")]
    nodes, edges = graph_parts(trace)
    assert sorted(links) == sorted([n.href for n in nodes] + [e.href for e in edges
                                                               if e.backward])
    assert len(root.findall(f"{SVG}line")) == sum(not e.backward for e in edges)
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "Z⁽¹⁾" in labels and "∂L/∂W⁽²⁾" in labels and "Δ⁽¹⁾" in labels


def test_the_graph_speaks_the_traces_notation_and_drops_absent_biases():
    ng = graph_parts(_trace([2, 4, 1], "ng"))[0]
    assert {n.name: n.label for n in ng}["Z1"] == "Z[1]"
    nodes, edges = graph_parts(_trace([2, 4, 1], bias=False))
    assert not any(n.name.startswith("b") for n in nodes)
    assert not any(e.source.startswith("b") for e in edges)


def test_the_page_carries_the_graph_and_its_links_land():
    trace = _trace([2, 4, 1], steps=1)
    page = trace.to_html()
    assert graph_svg(trace) in page
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    assert set(re.findall(r'href="#([^"]+)"', page)) <= ids


def test_node_text_is_escaped():
    trace = _trace([2, 4, 1])
    for step in trace.steps:
        step.equation = "<b>&</b>"
        for value in step.values:
            value.symbol = "<i>"
    svg = graph_svg(trace)
    ET.fromstring(svg)
    assert "<i>" not in svg and "<b>" not in svg and "&lt;i&gt;" in svg


def test_a_training_mode_trace_draws_each_dropout_with_its_mask():
    """Ã⁽ˡ⁾ between A⁽ˡ⁾ and the next product, fed by the mask; backward ∂L/∂Ã⁽ˡ⁾ into it and
    ∂L/∂A⁽ˡ⁾ out of it, each edge linked to the step that computes what it carries."""
    model = mlp([3, 4, 4, 1], activation="relu", output="sigmoid", dropout=0.5, seed=0,
                dtype=np.float64)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4, 3)), rng.integers(0, 2, 4).astype(float)
    trace = deltaprop.explain(model, X, y, "bce", dropout="train")
    nodes, edges = graph_parts(trace)
    shown = {node.name: node for node in nodes}
    assert shown["D1"].href == "#forward.dropout.1" and shown["D1"].label == "Ã⁽¹⁾"
    assert shown["M2"].label == "M⁽²⁾" and shown["M2"].detail == "4×4"
    assert len({(n.col, n.row) for n in nodes}) == len(nodes)         # no two overlap
    forward = {(e.source, e.target) for e in edges if not e.backward}
    assert {("A1", "D1"), ("M1", "D1"), ("D1", "Z2"), ("D2", "Z3")} <= forward
    assert ("A1", "Z2") not in forward
    backward = {(e.source, e.target): e.href for e in edges if e.backward}
    assert backward[("Z2", "D1")] == "#backward.grad_a.1"
    assert backward[("D1", "A1")] == "#backward.dropout.1"
    assert backward[("A1", "Z1")] == "#backward.delta.1"
    ET.fromstring(graph_svg(trace))
