"""The playground in a real browser: headless Chromium (the system's, driven by Playwright)
loads the page, takes a step phase by phase forward and back, switches notation, trains, and
every number read off the page is checked against the engine's own.

Needs ``playwright`` (the Python package) and a Chromium at ``/usr/bin/chromium`` (Debian's
``chromium`` package; ``DELTAPROP_CHROMIUM`` names another); skipped without them, except
where ``DELTAPROP_REQUIRE_BROWSER=1`` (CI) makes that a failure.  With
``DELTAPROP_UPDATE_SCREENSHOT=1`` it also writes the README's screenshot of step mode,
``docs/images/playground-step.png``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.explainer.latex import to_math
from deltaprop.io import model_files

CHROMIUM = os.environ.get("DELTAPROP_CHROMIUM", "/usr/bin/chromium")
# CI sets DELTAPROP_REQUIRE_BROWSER=1: there a missing browser is a failure, not a skip
if os.environ.get("DELTAPROP_REQUIRE_BROWSER") == "1":
    import playwright.sync_api as playwright_api
    assert os.access(CHROMIUM, os.X_OK), f"no Chromium at {CHROMIUM}: run `make chromium`"
else:
    playwright_api = pytest.importorskip("playwright.sync_api",
                                         reason="the browser tests need playwright (pip "
                                         "install 'deltaprop[test]')")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}: the browser tests need it (`make chromium` "
                    "as root installs Debian's chromium; DELTAPROP_CHROMIUM names another)",
                    allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
SCREENSHOT = Path(__file__).parents[2] / "docs" / "images" / "playground-step.png"
SETTINGS = {"dataset": "moons", "n_samples": 200, "noise": 0.2, "seed": 3, "hidden": [4],
            "activations": ["tanh"], "output": "sigmoid", "loss": "bce", "init": "glorot_uniform",
            "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "batch_size": 6, "dropout": 0.0}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser_page(live, tmp_path_factory):
    """A fresh Chromium profile on the live server; requests elsewhere are recorded and cut."""
    status, _ = live.call("POST", "/api/config", SETTINGS)
    assert status == 200
    elsewhere: list[str] = []

    def only_local(route):
        if route.request.url.startswith(live.url):
            return route.continue_()
        elsewhere.append(route.request.url)
        return route.abort()

    with playwright_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=CHROMIUM, args=ARGS,
            headless=True, viewport={"width": 1400, "height": 1250}, timeout=60_000)
        try:
            context.set_default_timeout(15_000)
            context.route("**/*", only_local)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(live.url)
            page.wait_for_selector("body[data-ready='1']")
            yield page, errors, elsewhere
        finally:
            context.close()


def matrix(page, box: str, slot: str) -> np.ndarray:
    """The full-precision numbers of the array ``slot`` shown in ``box`` (hover values)."""
    element = page.locator(f"{box} .matrix[data-slot='{slot}']").first
    shape = tuple(int(n) for n in re.findall(r"\d+", element.get_attribute("data-shape")))
    cells = element.locator("td:not(.more)").evaluate_all(
        "cells => cells.map(cell => cell.dataset.full)")
    return np.array([float(cell) for cell in cells]).reshape(shape)


def shown(page) -> dict[str, np.ndarray]:
    return {slot: matrix(page, "#step-panel .flow", slot) for slot in page.locator(
        "#step-panel .flow .matrix").evaluate_all("boxes => boxes.map(b => b.dataset.slot)")}


def phase(page) -> tuple[int, str]:
    title = page.inner_text("#phase-title")
    return int(title.split("/")[0]) - 1, page.get_attribute("#equation", "data-key")


def go(page, button: str, expected_index: int) -> None:
    page.click(button)
    page.wait_for_function(f"document.getElementById('phase-title').textContent"
                           f".startsWith('{expected_index + 1}/')")


def typeset_tex(page) -> str:
    """The TeX source KaTeX typeset for the current equation (its MathML annotation)."""
    return page.text_content("#equation annotation")


def test_step_mode_train_and_notation_match_the_engine(browser_page, live):
    page, errors, elsewhere = browser_page
    page.click("#step-mode")
    page.wait_for_selector("#equation[data-key='input']")
    X, Y = matrix(page, "#operands", "x"), matrix(page, "#operands", "y")
    model = dp.mlp([2, 4, 1], "tanh", "sigmoid", seed=3, dtype=np.float64)
    trace = dp.explain(model, X, Y, "bce", optimizer=dp.SGD(model, lr=0.1, momentum=0.9))
    assert X.shape == (6, 2)

    for index, expected in enumerate(trace.steps):          # forward through every phase
        if index:
            go(page, "#next", index)
        assert phase(page) == (index, expected.key)
        assert typeset_tex(page) == to_math(expected.equation)
        numbers = shown(page)
        for value in expected.values:
            np.testing.assert_allclose(numbers[value.slot], value.array, rtol=1e-12,
                                       atol=1e-15, err_msg=f"{expected.key} {value.slot}")
    for index in (len(trace.steps) - 2, len(trace.steps) - 3):   # and back
        go(page, "#prev", index)
        assert phase(page) == (index, trace.steps[index].key)
    page.keyboard.press("ArrowRight")                         # the arrow keys too
    page.wait_for_function(f"document.getElementById('phase-title').textContent"
                           f".startsWith('{len(trace.steps) - 1}/')")

    keys = [step.key for step in trace.steps]
    page.click(f"#phases li[data-index='{keys.index('backward.delta.out')}']")
    page.wait_for_selector("#equation[data-key='backward.delta.out']")
    assert page.is_hidden("#asides")
    page.check("#unfused")                                   # the output delta both ways
    page.wait_for_selector("#asides .aside-equation")
    (aside,) = dp.explain(dp.mlp([2, 4, 1], "tanh", "sigmoid", seed=3, dtype=np.float64), X, Y,
                          "bce", show_unfused=True)["backward.delta.out"].asides
    assert page.text_content("#asides annotation") == to_math(aside.equation)
    np.testing.assert_allclose(matrix(page, "#asides", "delta"), aside.value("delta"),
                               rtol=1e-12)
    page.uncheck("#unfused")

    go_to = keys.index("forward.z.1")
    page.click(f"#phases li[data-index='{go_to}']")
    page.wait_for_selector("#equation[data-key='forward.z.1']")
    batch_z = matrix(page, ".flow", "z")
    page.select_option("#notation", "ng")                    # layout and equation change ...
    page.wait_for_function("document.querySelector('#equation annotation')"
                           ".textContent.includes('[1]')")
    ng = trace.in_notation("ng")["forward.z.1"]
    assert typeset_tex(page) == to_math(ng.equation)
    np.testing.assert_array_equal(matrix(page, ".flow", "z"), batch_z.T)   # ... numbers not
    np.testing.assert_allclose(matrix(page, ".flow", "z"), ng.value("z"), rtol=1e-12)
    assert page.locator("#graph .edge.lit").count() == 3
    assert page.locator("#network circle.current").evaluate_all(
        "units => units.map(u => u.dataset.layer)") == ["1"] * 4    # layer 1's units marked

    page.select_option("#notation", "batch")
    check_training(page, live)
    if os.environ.get("DELTAPROP_UPDATE_SCREENSHOT") == "1":
        take_screenshot(page)
    assert errors == [] and elsewhere == []


def take_screenshot(page) -> None:
    """Step mode on a trained network, at layer 2's weight gradient, for the README."""
    page.click("#step-mode")
    page.click("#next-batch")
    page.wait_for_selector("#equation[data-key='input']")
    page.click("#phases li:has-text('layer 2: weight gradient')")
    page.wait_for_selector("#equation[data-key='backward.grad_weight.2']")
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def check_training(page, live) -> None:
    """Train, pause; the weights drawn and the loss shown are the engine's."""
    page.click("#train")
    page.wait_for_function("Number(document.getElementById('status').dataset.steps) >= 40")
    page.click("#train")                                     # pause
    page.wait_for_timeout(300)                               # a request in flight lands
    steps = page.get_attribute("#status", "data-steps")
    model = _load(page.request.get(live.url + "api/export/model").body())
    session = live.session
    assert str(session.steps) == steps
    drawn = page.locator("#network line.weight title").evaluate_all(
        "titles => titles.map(t => t.textContent)")
    weights = {re.sub(r" = .*", "", text): float(text.split(" = ")[1]) for text in drawn}
    first = model.dense_layers[0].params["weight"]
    assert weights["W(1)[2,1]"] == first[2, 1] and len(weights) == 4 * 2 + 1 * 4
    rows = session.train_rows
    engine = dp.evaluate(model, session.data.X[rows], session.data.y[rows].reshape(-1, 1),
                         loss="bce")["loss"]
    assert f"loss {engine:.4f}" in page.inner_text("#status")


def _load(data: bytes):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.safetensors"
        path.write_bytes(data)
        return model_files.load(path)


def test_the_form_builds_the_network_and_shows_refusals(browser_page, live, tmp_path):
    page, errors, elsewhere = browser_page
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#hidden", "6, 3")
    page.dispatch_event("#hidden", "change")
    page.select_option("#activations label:nth-child(2) select", "relu")
    page.select_option("#dataset", "curve")
    page.select_option("#output", "none")
    page.select_option("#loss", "mse")
    page.fill("#lr", "0.05")
    page.click("#apply")
    page.wait_for_function("document.getElementById('boundary-caption').textContent"
                           " === 'fitted curve'")
    config = live.session.config
    assert (config.hidden, config.activations, config.lr) == ([6, 3], ["tanh", "relu"], 0.05)
    assert page.locator("#network circle.unit").count() == 1 + 6 + 3 + 1

    page.fill("#lr", "-1")
    page.click("#apply")
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error") == "lr must be a finite number in (0, 10], got -1"

    csv = tmp_path / "points.csv"
    csv.write_text("a,b,label\n" + "\n".join(f"{i * 10},{(i % 7) * 100},{(i // 10) % 3}"
                                              for i in range(60)))
    page.set_input_files("#upload", str(csv))
    page.wait_for_function("document.getElementById('dataset').value === 'upload'")
    assert "inputs standardised" in page.inner_text("#boundary-caption")
    assert live.session.config.loss == "cross_entropy"
    assert page.is_hidden("#error") and errors == [] and elsewhere == []


def test_step_mode_with_dropout_shows_the_training_steps_masks(browser_page, live):
    """Dropout 0.5 set on the form: the page says the step is in training mode, and the
    dropout phases show the mask the engine drew, typeset as the explainer writes them."""
    page, errors, elsewhere = browser_page
    live.call("POST", "/api/config", {**SETTINGS, "dataset": "moons"})
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#dropout", "0.5")
    with page.expect_response(lambda response: "/api/config" in response.url):
        page.click("#apply")
    assert live.session.config.dropout == 0.5
    assert page.is_hidden("#step-panel")                      # a fresh page: no step yet
    with page.expect_response(lambda response: "/api/step/next" in response.url):
        page.click("#step-mode")                             # which records the first batch
    page.wait_for_selector("#equation[data-key='input']")
    trace = dp.explainer.build_trace(live.session.recording, "batch")
    keys = [step.key for step in trace.steps]
    for key, slot in (("forward.dropout.1", "dropped"), ("backward.dropout.1", "grad_a_kept")):
        page.click(f"#phases li[data-index='{keys.index(key)}']")
        page.wait_for_selector(f"#equation[data-key='{key}']")
        assert typeset_tex(page) == to_math(trace[key].equation) and "\\tilde{A}" in \
            typeset_tex(page)
        np.testing.assert_array_equal(matrix(page, "#operands", "mask"),
                                      trace[key].value("mask"))
        np.testing.assert_allclose(matrix(page, "#results", slot), trace[key].value(slot),
                                   rtol=1e-12)
    assert "training mode" in page.inner_text("#training-mode")
    assert errors == [] and elsewhere == []
