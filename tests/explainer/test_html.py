"""The HTML trace is a standalone, balanced, escaped page with MathML and a linked graph."""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

import deltaprop
from deltaprop import SGD, mlp
from deltaprop.explainer import NOTATIONS
from deltaprop.explainer.latex import to_math
from deltaprop.explainer.mathml import latex_to_mathml, to_mathml, unknown_commands
from deltaprop.explainer.page import STYLE

VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}
HOSTILE = "<script>alert('x')</script> & \"quoted\" </details></math></svg> <b>"


class _Page(HTMLParser):
    """Every element opened is closed, in order; collects ids, links, tags and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.links: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        self.ids += [attrs["id"]] if "id" in attrs else []
        self.links += [attrs["href"]] if "href" in attrs else []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.problems.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def _trace(notation: str = "batch", **options):
    model = mlp([2, 3, 2, 1], activation="tanh", output="sigmoid", seed=0, dtype=np.float64)
    X, y = np.array([[0.5, -1.0], [1.0, 2.0], [0.1, 0.3]]), np.array([1.0, 0.0, 1.0])
    return deltaprop.explain(model, X, y, "bce", notation, optimizer=SGD(model, lr=0.5),
                             **options)


@pytest.mark.parametrize("notation", list(NOTATIONS))
def test_the_page_is_a_standalone_balanced_document(notation):
    trace = _trace(notation, show_unfused=True, compare="haykin", steps=2)
    page = trace.to_html()
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">")
    parsed = _parse(page)
    assert parsed.problems == [] and parsed.stack == []
    assert {"style", "details", "summary", "aside", "math", "svg"} <= parsed.tags
    assert "script" not in parsed.tags and "link" not in parsed.tags     # nothing to fetch
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//|@import|url\(["']?http""", page)
    assert len(parsed.ids) == len(set(parsed.ids))                       # ids are unique
    targets = {link[1:] for link in parsed.links if link.startswith("#")}
    assert targets and targets <= set(parsed.ids)                        # every link lands
    steps = {step.key for step in trace.steps}
    assert steps <= set(parsed.ids)


def test_each_step_is_a_collapsible_details_with_its_key_and_title():
    trace = _trace()
    page = trace.to_html()
    for step in trace.steps:
        assert (f'<details class="step" id="{step.key}" open>\n<summary><span class="key">'
                f"{step.key}</span>{step.title}</summary>") in page


def test_notes_and_other_notations_are_asides_set_apart():
    model = mlp([2, 3, 1], activation="relu", seed=0, dtype=np.float64)
    trace = deltaprop.explain(model, np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([1.0, 0.0]),
                              "bce_with_logits", compare="column")
    page = trace.to_html()
    (note,) = trace["forward.a.2"].notes                     # the model outputs logits
    assert f'<aside class="note" role="note">{note}</aside>' in page
    assert page.count('<aside class="other">') == sum(len(s.asides) for s in trace.steps) > 0
    assert "aside.note {" in page and "aside.other {" in page             # styled apart
    for trap in trace.notes:
        assert _parse(f"<ul><li>{trap}</li></ul>").problems == []


def test_the_jupyter_form_is_the_body_only():
    trace = _trace()
    body = trace._repr_html_()
    assert body.startswith('<div class="deltaprop-trace">\n<style>') and "<!DOCTYPE" not in body
    assert body.rstrip().endswith("</div>")
    page = trace.to_html()
    assert body.replace(f"<style>{STYLE}</style>\n", "") in page         # the same body
    head = page.split("<body>")[0]
    assert f"<style>{STYLE}</style>" in head and "<title>deltaprop: One training step" in head
    assert _parse(body).problems == [] and _parse(body).stack == []


def test_every_learner_visible_string_is_escaped():
    trace = _trace(compare="column")
    hostile = copy.deepcopy(trace)
    hostile.header = [HOSTILE]
    hostile.notes = [HOSTILE]
    for step in hostile.steps:
        for part in (step, *step.asides):
            part.title = part.equation = part.shapes = part.code = HOSTILE
            part.notes = [HOSTILE]
            for value in part.values:
                value.symbol = HOSTILE
    page = hostile.to_html()
    parsed = _parse(page)
    assert parsed.problems == [] and parsed.stack == []
    assert "script" not in parsed.tags and "b" not in parsed.tags
    shown = "".join(parsed.text)
    assert shown.count(HOSTILE) >= 3 * len(hostile.steps)     # shown as text, not markup
    for math in re.findall(r"<math.*?</math>", page, flags=re.DOTALL):
        ET.fromstring(math)                                   # well-formed XML


def _equations(trace) -> list[str]:
    return [text for step in trace.steps for part in (step, *step.asides)
            for text in (part.equation, *(value.label for value in part.values))]


@pytest.mark.parametrize("notation", list(NOTATIONS))
def test_every_equation_becomes_well_formed_mathml_with_no_unknown_command(notation, rng):
    X = rng.normal(size=(3, 2))
    cases = [
        (mlp([2, 3, 3, 2], activation=deltaprop.LeakyReLU(0.2), output=deltaprop.ELU(0.5),
             seed=0, dtype=np.float64), "mse", rng.normal(size=(3, 2)),
         lambda m: deltaprop.AdamW(m, lr=0.1)),
        (mlp([2, 3, 3], activation="gelu", seed=0, dtype=np.float64), "cross_entropy",
         rng.integers(0, 3, 3), lambda m: SGD(m, lr=0.1, momentum=0.9, nesterov=True)),
        (mlp([2, 3, 1], activation="softplus", output="sigmoid", seed=0, dtype=np.float64),
         "bce", rng.integers(0, 2, 3).astype(float), lambda m: deltaprop.Adam(m, lr=0.1)),
    ]
    for model, loss, y, make in cases:
        trace = deltaprop.explain(model, X, y, loss, notation, optimizer=make(model), steps=2,
                                  show_unfused=True, compare="haykin")
        for equation in _equations(trace):
            assert unknown_commands(to_math(equation)) == [], equation
            root = ET.fromstring(to_mathml(equation))
            assert root.tag == "math" and root.get("alttext") == equation
            assert not any("\\" in (node.text or "") for node in root.iter()
                           if node.tag != "annotation"), equation


def test_mathml_structure_of_a_known_equation():
    math = to_mathml("Z⁽¹⁾ = A⁽⁰⁾ W⁽¹⁾ᵀ + b⁽¹⁾")
    root = ET.fromstring(math)
    body = root.find("semantics/mrow")
    assert [child.tag for child in body] == ["msup", "mo", "msup", "msup", "mo", "msup"]
    base, script = body[3]
    assert base.text == "W" and "".join(script.itertext()) == "(1)⊤"
    sqrt = ET.fromstring(to_mathml("√v̂ + ε")).find("semantics/mrow/msqrt")
    assert sqrt is not None and "".join(sqrt.itertext()) == "v^"
    assert "<mtext>\\foo</mtext>" in to_mathml("\\foo")            # unknown: shown, not lost
    prime = ET.fromstring(to_mathml("σ′(Z)")).find("semantics/mrow/msup")
    assert [node.text for node in prime] == ["σ", None] and prime[1][0].text == "′"
    text = ET.fromstring(latex_to_mathml(r"\text{<b> & </b>}")).find("semantics/mrow/mtext")
    assert text.text == "<b> & </b>"
