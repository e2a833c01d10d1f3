"""Saturated and dead units are noted where they occur, and only there."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop
from deltaprop import mlp
from deltaprop.explainer.units import SATURATION, flagged_units

X = np.array([[0.5, 1.0], [1.0, 2.0], [0.3, 0.4], [-0.2, 0.8]])
Y = np.array([1.0, 0.0, 1.0, 0.0])


def _model(activation: str, output: str = "sigmoid"):
    return mlp([2, 4, 3, 1], activation=activation, output=output, seed=0, dtype=np.float64)


def _set_unit(model, layer: int, unit: int, weight, bias: float) -> None:
    dense = model.layers[2 * (layer - 1)]
    dense.params["weight"][unit] = weight
    dense.params["bias"][unit] = bias


def _notes(trace, key: str) -> list[str]:
    return [note for note in trace[key].notes if "counting from 1" in note]


@pytest.mark.parametrize(("activation", "prime"), [("sigmoid", "σ′"), ("tanh", "tanh′")])
def test_a_saturated_unit_is_noted_on_its_activation_and_delta_steps(activation, prime):
    model = _model(activation)
    _set_unit(model, 1, 1, [40.0, 40.0], 5.0)          # z ≥ 9 on every row: φ′ < 1e−3
    _set_unit(model, 2, 2, [-30.0, 0.0, 0.0, 0.0], -30.0)   # layer 2, unit 3: z ≤ −30
    trace = deltaprop.explain(model, X, Y, "bce")
    flags = {f.layer: f for f in flagged_units(trace.recording)}
    assert flags[1].saturated == (1,) and flags[1].dead == ()
    assert flags[2].saturated == (2,)
    for key in ("forward.a.1", "backward.delta.1"):
        (note,) = _notes(trace, key)
        assert note.startswith(f"{prime} ≈ 0 here for unit 2 of layer 1 (of 4,")
        assert "this unit learns nothing from this batch" in note
    assert "unit 3 of layer 2 (of 3," in _notes(trace, "backward.delta.2")[0]
    for key in ("forward.z.1", "backward.grad_weight.1", "loss", "backward.delta.out"):
        assert not _notes(trace, key)
    note = _notes(trace, "forward.a.1")[0]
    assert note in trace.to_text() and note in trace.to_markdown()
    assert "here for unit 2 of layer 1" in trace.to_latex()
    assert "here for unit 2 of layer 1" in trace.to_html()


def test_healthy_units_and_units_alive_on_one_sample_are_not_flagged():
    model = _model("sigmoid")
    trace = deltaprop.explain(model, X, Y, "bce")
    assert flagged_units(trace.recording) == []
    assert not any("counting from 1" in note for step in trace.steps for note in step.notes)
    # saturated on three rows, but z = 2 (σ′ ≈ 0.1) on the last one: it learns from that one
    _set_unit(model, 1, 0, [40.0, 10.0], 2.0)
    z = X @ model.layers[0].params["weight"][0] + model.layers[0].params["bias"][0]
    assert np.all(np.abs(z[:3]) > 10) and abs(z[3]) < 3
    assert flagged_units(deltaprop.explain(model, X, Y, "bce").recording) == []


def test_a_dead_relu_unit_is_dead_not_saturated():
    model = _model("relu")
    _set_unit(model, 1, 3, [-5.0, -5.0], -1.0)         # z < 0 on every row: relu = 0
    _set_unit(model, 1, 0, [-5.0, -5.0], 4.0)          # z > 0 on two rows: alive
    for unit in (1, 2):
        _set_unit(model, 1, unit, [1.0, 1.0], 0.5)     # z > 0 on every row
    trace = deltaprop.explain(model, X, Y, "bce")
    (flags,) = flagged_units(trace.recording)
    assert flags.layer == 1 and flags.dead == (3,) and flags.saturated == ()
    (note,) = _notes(trace, "backward.delta.1")
    assert note.startswith("Unit 4 of layer 1 (of 4, counting from 1) dead on this batch: "
                           "relu(Z) = 0 on every sample")
    assert _notes(trace, "forward.a.1") == [note]
    step = trace["backward.grad_weight.1"]
    assert not np.any(step.value("grad_weight")[3])        # what the note says is true


def test_the_output_layer_is_flagged_only_where_its_derivative_reaches_the_delta():
    model = _model("tanh")
    out = model.layers[4]
    out.params["weight"][0] = [30.0, 30.0, 30.0]
    out.params["bias"][0] = 60.0                               # the output sigmoid saturates
    assert flagged_units(deltaprop.explain(model.copy(), X, Y, "bce").recording) == []
    trace = deltaprop.explain(model.copy(), X, Y.reshape(-1, 1), "mse")   # MSE: σ′ is used
    (flags,) = flagged_units(trace.recording)
    assert flags.layer == 3 and flags.saturated == (0,)
    assert _notes(trace, "backward.delta.out") and _notes(trace, "forward.a.3")


def test_the_threshold_is_the_one_stated():
    model = mlp([1, 1, 1], activation="sigmoid", output="sigmoid", seed=0, dtype=np.float64)
    z_edge = np.log(1 / SATURATION)       # σ′(z) = σ(1 − σ) ≈ e^−z just below the threshold
    model.layers[0].params["weight"][0] = [1.0]
    X1 = np.array([[z_edge + 0.1], [z_edge + 0.5]])
    model.layers[0].params["bias"][0] = 0.0
    assert flagged_units(deltaprop.explain(model, X1, np.array([1.0, 0.0]), "bce")
                         .recording)[0].saturated == (0,)
    X2 = np.array([[z_edge - 0.5], [z_edge + 0.5]])
    assert flagged_units(deltaprop.explain(model, X2, np.array([1.0, 0.0]), "bce")
                         .recording) == []


def test_each_training_step_is_checked_on_its_own_numbers():
    model = _model("relu")
    _set_unit(model, 1, 3, [-5.0, -5.0], -1.0)         # dead, and no gradient can revive it
    for unit in (0, 1, 2):
        _set_unit(model, 1, unit, [1.0, 1.0], 0.5)     # z > 0 on every row
    trace = deltaprop.explain(model, X, Y, "bce", optimizer=deltaprop.SGD(model, lr=0.1),
                              steps=2, compare="column")
    for prefix in ("", "step2."):
        (note,) = _notes(trace, f"{prefix}backward.delta.1")
        assert note.startswith("Unit 4 of layer 1")
    for step in trace.steps:                              # not repeated in the other notation
        assert not any("counting from 1" in n for aside in step.asides for n in aside.notes)
