"""``explain(..., dropout="train")``: the training step ``fit`` takes, with the Dropout masks the
engine drew, shown forward and backward in every notation and every output format.

(``test_explain_recompute.py`` recomputes every shown array from the shown mask and p.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import deltaprop
from deltaprop import SGD, mlp
from deltaprop.explainer.latex import to_math
from deltaprop.explainer.mathml import to_mathml, unknown_commands
from deltaprop.training import train_step

NOTATIONS = ("batch", "rows", "ng", "column", "haykin")


def _model(dtype=np.float64, p=0.5, sizes=(3, 5, 4, 2)):
    return mlp(list(sizes), activation="relu", dropout=p, seed=7, dtype=dtype)


def _batch(rng, n=6, n_in=3, n_out=2):
    return rng.normal(size=(n, n_in)), rng.integers(0, n_out, size=n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_trace_is_the_training_step_fit_takes(dtype, rng):
    """Same weights, same Dropout generators: the trace's gradients and updated weights are
    exactly those of ``train_step`` (the step ``fit`` takes) on the same batch."""
    X, y = _batch(rng)
    traced, trained = _model(dtype), _model(dtype)
    trace = deltaprop.explain(traced, X, y, "cross_entropy", optimizer=SGD(traced, lr=0.1,
                              momentum=0.9), dropout="train", steps=2)
    optimizer = SGD(trained, lr=0.1, momentum=0.9)
    trained.train()
    for t in (1, 2):
        train_step(trained, X.astype(dtype), y, loss="cross_entropy", optimizer=optimizer)
        prefix = "" if t == 1 else "step2."
        for i, dense in enumerate(trained.dense_layers, start=1):
            np.testing.assert_array_equal(
                trace[f"{prefix}backward.grad_weight.{i}"].value("grad_weight"),
                dense.grads["weight"])
            np.testing.assert_array_equal(
                trace[f"{prefix}update.weight.{i}"].value("new_weight"), dense.params["weight"])
    for a, b in zip(traced.dense_layers, trained.dense_layers):
        np.testing.assert_array_equal(a.params["weight"], b.params["weight"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_shown_numbers_chain_exactly_in_the_engines_dtype(dtype, rng):
    """Ã = A ⊙ (M / (1 − p)) and ∂L/∂A = ∂L/∂Ã ⊙ (M / (1 − p)) to the last bit, Ã is what the
    next layer read, and the mask is 0s and 1s drawn with P(1) = 1 − p."""
    X, y = _batch(rng, n=64)
    model = _model(dtype, p=0.3, sizes=(3, 40, 40, 2))
    trace = deltaprop.explain(model, X, y, "cross_entropy", dropout="train")
    for layer in trace.recording.layers[:-1]:
        i = layer.index
        forward, backward = trace[f"forward.dropout.{i}"], trace[f"backward.dropout.{i}"]
        mask, p = forward.value("mask"), float(forward.value("p"))
        scale = mask.astype(dtype) / (1.0 - p)                     # as the layer computes it
        assert p == 0.3 and set(np.unique(mask)) == {0, 1}
        assert abs(mask.mean() - 0.7) < 0.05                    # 2560 draws of Bernoulli(0.7)
        a = trace[f"forward.a.{i}"].value("a")
        assert np.array_equal(forward.value("dropped"), a * scale)
        assert np.array_equal(forward.value("dropped"), trace.recording.layers[i].a_prev)
        grad_dropped = trace[f"backward.grad_a.{i}"].value("grad_a")
        assert np.array_equal(backward.value("grad_a_kept"), grad_dropped * scale)
        assert np.array_equal(backward.value("grad_a_kept"), layer.grad_a)
        assert np.array_equal(backward.value("mask"), mask)
        assert forward.value("dropped").dtype == dtype


@pytest.mark.parametrize("notation", NOTATIONS)
def test_the_mask_is_laid_out_as_the_activations_in_every_notation(notation, rng):
    X, y = _batch(rng)
    trace = deltaprop.explain(_model(), X, y, "cross_entropy", dropout="train")
    shown = trace.in_notation(notation, sample=3)
    mask = trace["forward.dropout.1"].value("mask")               # (N, n), batch rows
    expected = {"batch": mask, "rows": mask, "ng": mask.T}.get(notation, mask[3][:, None])
    step = shown["forward.dropout.1"]
    np.testing.assert_array_equal(step.value("mask"), expected)
    np.testing.assert_array_equal(shown["backward.dropout.1"].value("mask"), expected)
    if notation in ("column", "haykin"):                            # and every sample too
        every = next(v for v in step.values if v.slot == "mask" and v.view == "every")
        np.testing.assert_array_equal(every.array, mask.T)
    keys = [s.key for s in shown.steps]
    assert keys.index("forward.a.1") + 1 == keys.index("forward.dropout.1")
    assert keys.index("backward.grad_a.1") + 1 == keys.index("backward.dropout.1") \
        == keys.index("backward.delta.1") - 1
    assert "M⁽¹⁾" in step.equation or "M[1]" in step.equation or "m⁽¹⁾" in step.equation


def test_every_format_shows_the_mask_and_the_training_mode(rng, tmp_path):
    X, y = _batch(rng)
    trace = deltaprop.explain(_model(), X, y, "cross_entropy", dropout="train")
    mask = trace["forward.dropout.1"].value("mask")
    text = str(trace)
    assert "is on in this trace: the step runs in training mode" in text
    assert "[forward.dropout.1] layer 1: dropout (training mode)" in text
    assert "Ã⁽¹⁾ = A⁽¹⁾ ⊙ M⁽¹⁾ / (1 − p⁽¹⁾)" in text
    assert "∂L/∂A⁽¹⁾ = ∂L/∂Ã⁽¹⁾ ⊙ M⁽¹⁾ / (1 − p⁽¹⁾)" in text
    steps = {s["key"]: s for s in json.loads(trace.to_json())["steps"]}
    values = {v["slot"]: v for v in steps["forward.dropout.1"]["values"]}
    assert values["mask"]["values"] == mask.tolist() and values["p"]["values"] == 0.5
    assert values["mask"]["given"] and not values["dropped"]["given"]
    assert "backward.dropout.2" in steps and "forward.dropout.2" in steps
    html = trace.to_html()
    assert "forward.dropout.1" in html and "<mo>~</mo>" in html and "training mode" in html
    latex = trace.to_latex()
    assert r"\tilde{A}{}^{(1)} = A^{(1)} \odot  M^{(1)} / (1 - p^{(1)})" in latex
    assert all(ord(c) < 128 for c in latex)
    if shutil.which("pdflatex"):
        (tmp_path / "t.tex").write_text(latex, encoding="ascii")
        run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                              "-no-shell-escape", "t.tex"], cwd=tmp_path, capture_output=True,
                             timeout=60, check=False)
        assert run.returncode == 0 and (tmp_path / "t.pdf").exists()


@pytest.mark.parametrize("notation", NOTATIONS)
def test_every_dropout_equation_is_well_formed_mathml(notation, rng):
    X, y = _batch(rng)
    trace = deltaprop.explain(_model(), X, y, "cross_entropy", notation, dropout="train",
                              compare="column")
    for step in trace.steps:
        for part in (step, *step.asides):
            for text in (part.equation, *(value.label for value in part.values)):
                assert unknown_commands(to_math(text)) == [], text
                assert not any("\u0303" in unicodedata.normalize("NFD", c)   # every tilde:
                               for c in to_math(text)), text           # \tilde{...}
                assert ET.fromstring(to_mathml(text)).tag == "math"


def test_off_is_the_default_draws_nothing_and_says_so(rng):
    X, y = _batch(rng)
    model = _model()
    states = [layer.rng.bit_generator.state for layer in model.layers
              if isinstance(layer, deltaprop.Dropout)]
    trace = deltaprop.explain(model, X, y, "cross_entropy")
    assert not any("dropout" in step.key for step in trace.steps)
    assert "is off in this trace" in str(trace) and "dropout='train'" in str(trace)
    assert states == [layer.rng.bit_generator.state for layer in model.layers
                      if isinstance(layer, deltaprop.Dropout)]
    deltaprop.explain(model, X, y, "cross_entropy", dropout="train")
    assert states != [layer.rng.bit_generator.state for layer in model.layers
                      if isinstance(layer, deltaprop.Dropout)]       # fit would draw too
    model.eval()
    deltaprop.explain(model, X, y, "cross_entropy", dropout="train")
    assert not model.training                                         # the mode is restored


def test_a_zero_rate_dropout_draws_no_mask_and_the_trace_still_chains(rng):
    X, y = _batch(rng)
    model = _model(p=0.0)
    trace = deltaprop.explain(model, X, y, "cross_entropy", dropout="train")
    assert not any("dropout" in step.key for step in trace.steps)
    np.testing.assert_array_equal(trace["forward.z.2"].value("z"),
                                  trace["forward.a.1"].value("a")
                                  @ trace["forward.z.2"].value("weight").T
                                  + trace["forward.z.2"].value("bias"))


@pytest.mark.parametrize("value", ["on", "eval", True, None, 1, "TRAIN"])
def test_a_bad_dropout_mode_is_refused_naming_the_argument(value, rng):
    X, y = _batch(rng)
    model = _model()
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"explain dropout must be one of 'off', 'train'.*got"):
        deltaprop.explain(model, X, y, "cross_entropy", optimizer=SGD(model, lr=0.1),
                          dropout=value)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize(("layers", "position", "what"), [
    (lambda: [deltaprop.Dense(3, 4), deltaprop.Dropout(0.5), deltaprop.ReLU(),
              deltaprop.Dense(4, 2)], 1, "is followed by layer 2 \\(ReLU\\), not a Dense"),
    (lambda: [deltaprop.Dense(3, 4), deltaprop.ReLU(), deltaprop.Dense(4, 2),
              deltaprop.Dropout(0.5)], 3, "is the last layer"),
    (lambda: [deltaprop.Dense(3, 4), deltaprop.ReLU(), deltaprop.Dropout(0.5),
              deltaprop.Dropout(0.2), deltaprop.Dense(4, 2)], 2, "is followed by layer 3"),
])
def test_a_dropout_the_training_trace_cannot_show_is_refused(layers, position, what, rng):
    """Between a Dense and its activation, after the output, or two in a row: refused in
    training mode (with what to do instead), explained in evaluation mode."""
    X, y = _batch(rng)
    with pytest.raises(ValueError, match=rf"layer {position} \(Dropout\) {what}.*dropout='off'"):
        deltaprop.explain(deltaprop.Sequential(*layers()), X, y, "cross_entropy",
                          dropout="train")
    deltaprop.explain(deltaprop.Sequential(*layers()), X, y, "cross_entropy")


def test_record_step_takes_the_mode_too(rng):
    X, y = _batch(rng)
    rec = deltaprop.explainer.record_step(_model(), X, y, "cross_entropy", dropout="train")
    assert rec.dropout_mode == "train"
    assert [layer.dropout is not None for layer in rec.layers] == [True, True, False]
    rec = deltaprop.explainer.record_step(_model(), X, y, "cross_entropy")
    assert rec.dropout_mode == "off" and all(layer.dropout is None for layer in rec.layers)
