"""The playground's JSON API against a live server: settings, training, step mode, export,
and bad input answered with 400 and a message naming the field, the rule and the value."""

from __future__ import annotations

import http.client
import json

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.io import model_files

pytestmark = pytest.mark.timeout(60)

DEFAULTS = {"dataset": "moons", "hidden": [4], "activations": ["tanh"], "output": "sigmoid",
            "loss": "bce", "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "batch_size": 8,
            "seed": 0, "dropout": 0.0, "init": "glorot_uniform", "n_samples": 200}


@pytest.fixture
def api(live):
    status, _ = live.call("POST", "/api/config", DEFAULTS)
    assert status == 200
    return live


def test_page_and_options(api):
    status, page = api.call("GET", "/")
    assert status == 200 and b"<title>deltaprop playground</title>" in page
    status, options = api.call("GET", "/api/options")
    assert set(options["notations"]) == {"batch", "column", "haykin", "ng", "rows"}
    assert "glorot_uniform" in options["inits"] and "curve" in options["datasets"]


def test_training_lowers_the_loss_and_counts_steps(api):
    _, before = api.call("GET", "/api/state")
    _, after = api.call("POST", "/api/train?steps=60")
    assert after["steps"] == 60 and len(after["history"]) == 2
    assert after["history"][-1]["train_loss"] < before["history"][0]["train_loss"]
    view = after["view"]
    assert view["kind"] == "classes" and len(view["label"]) == view["size"] ** 2


def test_reset_gives_the_same_fresh_weights(api):
    _, first = api.call("GET", "/api/state")
    api.call("POST", "/api/train?steps=5")
    _, again = api.call("POST", "/api/reset")
    assert again["steps"] == 0
    assert again["network"]["layers"] == first["network"]["layers"]


def test_step_mode_numbers_are_the_engines(api):
    """The first recorded batch of a fresh session is what explain() computes on it."""
    _, answer = api.call("POST", "/api/step/next?notation=batch")
    step = answer["step"]
    assert step["key"] == "input" and answer["state"]["steps"] == 1
    X = np.array(next(v for v in step["values"] if v["slot"] == "x")["values"])
    y = np.array(next(v for v in step["values"] if v["slot"] == "y")["values"])
    model = dp.mlp([2, 4, 1], "tanh", "sigmoid", seed=0, dtype=np.float64)
    trace = dp.explain(model, X, y, "bce", optimizer=dp.SGD(model, lr=0.1, momentum=0.9))
    for index, expected in enumerate(trace.steps):
        status, shown = api.call("GET", f"/api/step?index={index}&notation=batch")
        assert status == 200 and shown["key"] == expected.key
        for value in shown["values"]:
            np.testing.assert_allclose(value["values"], expected.value(value["slot"]),
                                       rtol=1e-12, atol=1e-15)


def test_notation_changes_layout_never_numbers(api):
    api.call("POST", "/api/step/next")
    _, batch = api.call("GET", "/api/step?index=1&notation=batch")
    _, rows = api.call("GET", "/api/step?index=1&notation=rows")
    _, ng = api.call("GET", "/api/step?index=1&notation=ng")
    weight = {v["slot"]: np.array(v["values"]) for v in batch["values"]}["weight"]
    np.testing.assert_array_equal(
        {v["slot"]: np.array(v["values"]) for v in rows["values"]}["weight"], weight.T)
    z_batch = {v["slot"]: np.array(v["values"]) for v in batch["values"]}["z"]
    np.testing.assert_array_equal({v["slot"]: np.array(v["values"]) for v in ng["values"]}["z"],
                                  z_batch.T)
    assert batch["latex"] != ng["latex"] and "W^{(1)\\top}" in batch["latex"]
    assert batch["graph"]["lit"] == ["f:a_prev-z", "f:w-z", "f:b-z"]
    assert [v["symbol"] for v in batch["inputs"]] == ["A⁽⁰⁾"]


def test_unfused_switch_adds_the_other_route(api):
    api.call("POST", "/api/step/next")
    _, fused = api.call("GET", "/api/step?index=6")
    _, both = api.call("GET", "/api/step?index=6&unfused=1")
    assert fused["key"] == "backward.delta.out" and fused["asides"] == []
    assert len(both["asides"]) == 1 and both["asides"][0]["latex"]


def test_export_model_file_loads_with_the_same_weights(api, tmp_path):
    api.call("POST", "/api/train?steps=3")
    status, data = api.call("GET", "/api/export/model")
    assert status == 200
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    model = model_files.load(path)
    _, state = api.call("GET", "/api/state")
    np.testing.assert_array_equal(model.dense_layers[0].params["weight"],
                                  state["network"]["layers"][0]["weight"])


def test_export_trace_html_and_latex(api):
    status, answer = api.call("GET", "/api/export/trace?format=html")
    assert status == 409 and "Next batch" in answer["error"]
    api.call("POST", "/api/step/next")
    status, html = api.call("GET", "/api/export/trace?format=html&notation=ng")
    assert status == 200 and html.lstrip().lower().startswith(b"<!doctype html")
    assert b'<meta charset="utf-8">' in html and b"deltaprop-trace" in html
    status, tex = api.call("GET", "/api/export/trace?format=latex")
    assert status == 200 and b"\\begin{document}" in tex


def test_regression_curve(api):
    status, state = api.call("POST", "/api/config", {"dataset": "curve", "output": "none",
                                                     "loss": "mse", "hidden": [8, 8],
                                                     "activations": ["tanh", "relu"]})
    assert status == 200 and state["task"] == "regression"
    assert state["view"]["kind"] == "curve" and len(state["view"]["x"]) == 200


@pytest.mark.parametrize("settings, field, rule", [
    ({"lr": -1}, "lr", "a finite number in (0, 10]"),
    ({"lr": "fast"}, "lr", "a finite number"),
    ({"hidden": [4, 0], "activations": ["tanh", "tanh"]}, "hidden[1]", "an integer in [1, 32]"),
    ({"hidden": [4, 4]}, "activations", "a list of 2 activation names"),
    ({"activations": ["swish"]}, "activations[0]", "one of tanh"),
    ({"loss": "bce", "output": "none"}, "output", "one of sigmoid with loss bce"),
    ({"dataset": "curve"}, "loss", "mse for the regression data set curve"),
    ({"batch_size": True}, "batch_size", "an integer"),
    ({"colour": "red"}, "the settings", "fields among"),
    ({"dataset": "upload"}, "dataset", "a data set name until a CSV is uploaded"),
])
def test_bad_settings_are_refused_by_field(api, settings, field, rule):
    _, before = api.call("GET", "/api/state")
    status, answer = api.call("POST", "/api/config", settings)
    assert status == 400 and answer["field"] == field
    assert answer["error"].startswith(f"{field} must be {rule}")
    assert "got" in answer["error"]
    _, after = api.call("GET", "/api/state")
    assert after["config"] == before["config"]                # nothing changed


@pytest.mark.parametrize("path, field", [
    ("/api/train?steps=0", "steps"), ("/api/train?steps=ten", "steps"),
    ("/api/train?steps=100000", "steps"), ("/api/step/next?notation=greek", "notation"),
    ("/api/step/next?unfused=yes", "unfused"),
])
def test_bad_queries_are_refused(api, path, field):
    status, answer = api.call("POST", path)
    assert status == 400 and answer["field"] == field and "got" in answer["error"]


def test_bad_step_queries(api):
    api.call("POST", "/api/step/next")
    status, answer = api.call("GET", "/api/step?index=999")
    assert (status == 400 and answer["error"] == "index must be an integer in [0, 999], got " \
        "'999'") or answer["field"] == "index"
    status, answer = api.call("GET", "/api/step?index=0&notation=column&sample=8")
    assert status == 400 and answer["field"] == "sample" and "got 8" in answer["error"]


def test_body_that_is_not_json(api):
    status, answer = api.call("POST", "/api/config", raw=b"{not json")
    assert status == 400 and answer["error"].startswith("the settings must be a JSON object")
    status, answer = api.call("POST", "/api/config", raw=b"[" * 30_000 + b"]" * 30_000)
    assert status == 400 and answer["error"].startswith("the settings must be a JSON object")
    status, answer = api.call("POST", "/api/config", raw=b"[1, 2]")
    assert status == 400 and "got [1, 2]" in answer["error"]


def test_requests_another_site_could_forge_are_refused(api):
    status, answer = api.call("POST", "/api/train?steps=5", headers={})
    assert status == 403 and "X-Deltaprop-Playground" in answer["error"]
    status, answer = api.call("GET", "/api/state", headers={"Host": "evil.example:80"})
    assert status == 403 and "'evil.example'" in answer["error"]
    _, state = api.call("GET", "/api/state")
    assert state["steps"] == 0


def test_upload_through_the_api(api):
    rows = "\n".join(f"{i * 0.1:.1f},{(i % 7) * 0.2:.1f},{i % 2}" for i in range(40))
    status, state = api.call("POST", "/api/upload", raw=("a,b,label\n" + rows).encode())
    assert status == 200 and state["config"]["dataset"] == "upload"
    assert state["data"]["features"] == ["a", "b"] and state["standardised"]
    status, answer = api.call("POST", "/api/upload", raw=b"a,b\n1,2\n")
    assert status == 400 and answer["error"].startswith("the CSV line 1 must be 3 columns")


def connect(api) -> http.client.HTTPConnection:
    host, port = api.url.split("//")[1].strip("/").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=20)


def test_an_oversized_upload_is_refused_before_it_is_read(api):
    """Only the headers are sent: the declared size alone gets the answer."""
    connection = connect(api)
    try:
        connection.putrequest("POST", "/api/upload")
        connection.putheader("X-Deltaprop-Playground", "1")
        connection.putheader("Content-Length", "1200000")
        connection.endheaders()
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 400 and answer["error"] == \
        "the CSV must be at most 1000000 bytes, got '1200000 bytes'"


def test_an_oversized_chunked_upload_is_cut_off(api):
    connection = connect(api)
    try:
        try:
            connection.request("POST", "/api/upload", body=iter([b"1,2,3\n" * 50_000] * 4),
                               headers={"X-Deltaprop-Playground": "1"}, encode_chunked=True)
        except (BrokenPipeError, ConnectionResetError):
            pass                               # the server answered before the last chunk
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 400
    assert answer["error"] == "the CSV must be at most 1000000 bytes, got 'over 1000000 bytes'"


def test_a_diverging_run_is_reported_not_a_server_error(api):
    status, _ = api.call("POST", "/api/config", {
        "dataset": "curve", "output": "none", "loss": "mse", "lr": 10.0, "momentum": 0.0,
        "hidden": [8], "activations": ["relu"]})
    assert status == 200
    status, state = api.call("POST", "/api/train?steps=300")
    assert status == 200 and "try a learning rate below 10" in state["error"]
    status, answer = api.call("POST", "/api/step/next")
    assert status == 200 and answer["step"]["key"] == "input"


@pytest.mark.slow
@pytest.mark.parametrize("settings", [
    {"hidden": [], "activations": []},                                   # logistic regression
    {"dataset": "blobs", "output": "none", "loss": "cross_entropy", "hidden": [3, 2],
     "activations": ["relu", "gelu"], "optimizer": "adam", "lr": 0.01},
    {"dataset": "spirals", "output": "none", "loss": "bce_with_logits", "dropout": 0.3,
     "optimizer": "adamw", "batch_size": 1000},
])
def test_every_phase_of_other_networks_is_served(api, settings):
    status, _ = api.call("POST", "/api/config", {**DEFAULTS, **settings})
    assert status == 200
    api.call("POST", "/api/train?steps=3")
    _, first = api.call("POST", "/api/step/next?notation=haykin")
    for index in range(first["step"]["count"]):
        for notation in ("batch", "column", "haykin", "ng", "rows"):
            status, step = api.call("GET", f"/api/step?index={index}&notation={notation}"
                                           "&unfused=1")
            assert status == 200 and step["latex"], (index, notation, step)


def test_each_batch_shows_its_own_numbers(api):
    """The traces written for one batch are never shown for the next."""
    inputs = []
    for _ in range(2):
        api.call("POST", "/api/step/next")
        _, step = api.call("GET", "/api/step?index=0&notation=rows")
        inputs.append(np.array(step["values"][0]["values"]))
        assert api.session.recording.X.tolist() == inputs[-1].tolist()
    assert inputs[0].tolist() != inputs[1].tolist()


def test_a_sample_beyond_the_next_batch_takes_no_step(api):
    """The last batch of an epoch is smaller: asking it for a row it lacks is a 400 that
    trains nothing (was: the step was taken, then refused, and that batch never shown)."""
    api.call("POST", "/api/config", {"batch_size": 64})
    for _ in range(10):
        _, before = api.call("GET", "/api/state")
        status, answer = api.call("POST", "/api/step/next?notation=column&sample=63")
        if status != 200:
            break
    assert status == 400 and answer["field"] == "sample"
    _, after = api.call("GET", "/api/state")
    assert after["steps"] == before["steps"]
    _, answer = api.call("POST", "/api/step/next?notation=column&sample=0")
    assert answer["state"]["steps"] == before["steps"] + 1
    assert 0 < answer["step"]["n_samples"] < 64


@pytest.mark.parametrize("host, allowed", [
    ("[::1]", True), ("[::1]:8000", True), ("localhost", True), ("127.0.0.1:80", True),
    ("[::1].evil.example", False), ("[::1]:80.evil.example", False), ("[::1", False),
    ("localhost:80.evil.example", False), ("localhost:", False), ("::1", False),
    ("evil.example:80", False), ("[::2]:80", False), ("", False)])
def test_the_host_check_reads_every_form_of_the_host_header(host, allowed):
    """IPv6 in brackets with or without a port (was: ``[::1]`` without one was refused)."""
    import asyncio

    from deltaprop.playground.server import LocalOnly

    reached, sent = [], []

    async def app(scope, receive, send):
        reached.append(scope)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "headers": [(b"host", host.encode())]}
    asyncio.run(LocalOnly(app, {"::1", "127.0.0.1", "localhost"})(scope, None, send))
    assert bool(reached) == allowed
    assert allowed or sent[0]["status"] == 403


@pytest.mark.parametrize("scale, column", [(1e300, 1), (1e307, 2)])
def test_an_upload_too_large_to_standardise_is_a_400(api, scale, column):
    """Its spread overflows float64 (was: an overflow warning, then the column silently
    all zeros after the scaling, or inf)."""
    rows = "\n".join(f"{(i % 7) * (scale if column == 1 else 1)},"
                     f"{(i % 5) * (scale if column == 2 else 1)},{i % 2}" for i in range(40))
    status, answer = api.call("POST", "/api/upload", raw=rows.encode())
    assert status == 400 and answer["field"].startswith(f"the CSV column {column} (x{column})")
    assert "spread fits a float64" in answer["error"]
    _, state = api.call("GET", "/api/state")
    assert state["config"]["dataset"] == "moons"                 # nothing changed


def test_step_mode_with_dropout_is_the_training_step_with_its_masks(api):
    """With dropout > 0 step mode records the training step (masks drawn), and every phase,
    the dropout ones included, is what dp.explain(..., dropout="train") shows for it."""
    from deltaprop.playground.state import build_model

    status, _ = api.call("POST", "/api/config", {"dropout": 0.5, "hidden": [6],
                                                 "activations": ["relu"]})
    assert status == 200
    _, answer = api.call("POST", "/api/step/next?notation=batch")
    step = answer["step"]
    X = np.array(next(v for v in step["values"] if v["slot"] == "x")["values"])
    y = np.array(next(v for v in step["values"] if v["slot"] == "y")["values"])
    model = build_model(api.session.config, 2, 1)          # the session's fresh network
    trace = dp.explain(model, X, y, "bce", optimizer=dp.SGD(model, lr=0.1, momentum=0.9),
                       dropout="train")
    assert "training mode" in step["mode"] and "after layer 1" in step["mode"]
    keys = [s["key"] for s in step["steps"]]
    assert keys == [s.key for s in trace.steps]
    assert "forward.dropout.1" in keys and "backward.dropout.1" in keys
    for index, expected in enumerate(trace.steps):
        _, shown = api.call("GET", f"/api/step?index={index}&notation=batch")
        for value in shown["values"]:
            np.testing.assert_allclose(value["values"], expected.value(value["slot"]),
                                       rtol=1e-12, atol=1e-15)
    mask = trace["forward.dropout.1"].value("mask")
    assert 0 < mask.sum() < mask.size                       # some dropped, some kept
    _, forward = api.call("GET", f"/api/step?index={keys.index('forward.dropout.1')}")
    assert forward["graph"]["lit"] == ["f:a-up"]
    assert forward["graph"]["labels"]["up"]["latex"] == r"\tilde{A}{}^{(1)}"
    assert [v["slot"] for v in forward["inputs"]] == ["a"]
    _, z2 = api.call("GET", f"/api/step?index={keys.index('forward.z.2')}")
    assert [v["symbol"] for v in z2["inputs"]] == ["Ã⁽¹⁾"]
    assert "\\tilde{A}" in z2["latex"] and z2["graph"]["labels"]["a_prev"]["text"] == "Ã⁽¹⁾"
    _, back = api.call("GET", f"/api/step?index={keys.index('backward.delta.1')}")
    assert [v["slot"] for v in back["inputs"]] == ["grad_a_kept", "z"]
    _, ng = api.call("GET", f"/api/step?index={keys.index('backward.dropout.1')}&notation=ng")
    shown_mask = next(v for v in ng["values"] if v["slot"] == "mask")
    np.testing.assert_array_equal(shown_mask["values"], mask.T)  # laid out as dA: columns
    assert shown_mask["given"] and ng["graph"]["lit"] == ["b:up-a"]
