"""The HTML trace in a real browser: the MathML is laid out, graph links and steps work.

Needs Playwright (Python) and a Chromium: ``/usr/bin/chromium`` (Debian's ``chromium``
package) or ``$DELTAPROP_CHROMIUM``; skipped without them.  No server: the page is loaded
with ``set_content``, and it fetches nothing.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import deltaprop
from deltaprop import mlp

CHROMIUM = os.environ.get("DELTAPROP_CHROMIUM") or shutil.which("chromium") or \
    shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: "
                                 "apt-get install chromium) and no $DELTAPROP_CHROMIUM")]


@pytest.fixture(scope="module")
def page():
    model = mlp([2, 3, 1], activation="relu", output="sigmoid", seed=0, dtype=np.float64)
    model.layers[0].params["weight"][2] = [-5.0, -5.0]         # unit 3: dead on this batch
    trace = deltaprop.explain(model, np.array([[0.5, 1.0], [1.0, 2.0]]), np.array([1.0, 0.0]),
                              "bce", optimizer=deltaprop.SGD(model, lr=0.5))
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"],
                                         timeout=30_000)
        try:
            tab = browser.new_page()
            tab.set_default_timeout(10_000)                  # no pytest-timeout needed
            requests: list[str] = []
            tab.on("request", lambda request: requests.append(request.url))
            tab.set_content(trace.to_html(), wait_until="load", timeout=20_000)
            yield tab, requests
        finally:
            browser.close()


def test_the_mathml_is_typeset_and_nothing_is_fetched(page):
    tab, requests = page
    assert requests == []
    boxes = tab.evaluate("""() => [...document.querySelectorAll('math[display=block]')]
        .map(m => { const r = m.getBoundingClientRect(); return [r.width, r.height]; })""")
    assert boxes and all(w > 20 and h > 10 for w, h in boxes)
    # a laid-out superscript sits higher than its base: MathML is rendered, not plain text
    rise = tab.evaluate("""() => { const s = document.querySelector('#forward\\\\.z\\\\.1 msup');
        return s.children[0].getBoundingClientRect().top
             - s.children[1].getBoundingClientRect().top; }""")
    assert rise > 1


def test_a_graph_node_leads_to_its_step_and_steps_fold(page):
    tab, _ = page
    tab.click("svg.deltaprop-graph a[href='#backward.grad_weight.2']")
    assert tab.evaluate("location.hash") == "#backward.grad_weight.2"
    step = tab.locator("details[id='forward.a.1']")
    note = step.locator("aside.note")
    assert "dead on this batch" in note.inner_text()
    assert note.evaluate("a => getComputedStyle(a).borderLeftStyle") == "solid"
    assert step.evaluate("d => d.open") is True
    step.locator("summary").click()
    assert step.evaluate("d => d.open") is False and note.inner_text() == ""
