"""``deltaprop.explain``: the trace reads the engine's records, in every notation."""

from __future__ import annotations

import json
import re
import types

import numpy as np
import pytest

import deltaprop
from deltaprop import SGD, mlp

NOTATIONS = ["rows", "ng", "column", "haykin"]
# (sizes, hidden, output, loss, targets)
SETUPS = {
    "sigmoid_bce": ([3, 4, 1], "tanh", "sigmoid", "bce"),
    "softmax_ce": ([3, 4, 5, 3], "relu", None, "cross_entropy"),
    "logits_bce": ([3, 4, 2], "sigmoid", None, "bce_with_logits"),
    "mse": ([3, 5, 2], "tanh", None, "mse"),
}


def _setup(name, rng, n=5):
    sizes, hidden, output, loss = SETUPS[name]
    model = mlp(sizes, activation=hidden, output=output, seed=3, dtype=np.float64)
    X = rng.normal(size=(n, sizes[0]))
    if loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], size=n)
    elif loss == "mse":
        y = rng.normal(size=(n, sizes[-1]))
    else:
        y = rng.integers(0, 2, size=(n, sizes[-1])).astype(float)
    return model, X, y, loss


def test_explain_is_the_function_even_after_importing_the_submodules():
    import deltaprop.explainer.render
    import deltaprop.explainer.trace
    from deltaprop.explainer import memory_card, render, trace

    assert memory_card.card is deltaprop.card and render.render_text and trace.Trace

    assert callable(deltaprop.explain) and callable(deltaprop.card)
    assert deltaprop.explain.__module__ == "deltaprop.explainer"
    assert isinstance(deltaprop.explainer, types.ModuleType)     # the module has its own name


@pytest.mark.parametrize("name", list(SETUPS))
def test_trace_values_are_the_engines_records(name, rng):
    model, X, y, loss = _setup(name, rng)
    trace = deltaprop.explain(model, X, y, loss)
    records = model.records()
    for record in records:
        i = record.index
        np.testing.assert_array_equal(trace[f"forward.z.{i}"].value("z"), record.z)
        np.testing.assert_array_equal(trace[f"backward.grad_weight.{i}"].value("grad_weight"),
                                      record.grad_weight)
        np.testing.assert_array_equal(trace[f"backward.grad_bias.{i}"].value("grad_bias"),
                                      record.grad_bias)
        if i > 1:
            np.testing.assert_array_equal(trace[f"backward.grad_a.{i - 1}"].value("grad_a"),
                                          record.grad_a_prev)
            np.testing.assert_array_equal(trace[f"backward.delta.{i - 1}"].value("delta"),
                                          records[i - 2].delta)
    np.testing.assert_array_equal(trace["backward.delta.out"].value("delta"), records[-1].delta)
    value, _ = deltaprop.nn.losses.get_loss(loss)(model.forward(X), trace["input"].value("y")
                                               if loss != "cross_entropy" else y)
    assert trace["loss"].value("loss") == pytest.approx(float(value))
    # the fused output shows probabilities: softmax / sigmoid of the logits
    top = trace[f"forward.a.{len(records)}"].value("a")
    if loss == "cross_entropy":
        np.testing.assert_allclose(top.sum(axis=1), 1.0)
        np.testing.assert_allclose(trace["backward.delta.out"].value("delta"),
                                   (top - np.eye(top.shape[1])[y]) / len(X), atol=1e-12)


def test_update_step_equals_what_sgd_did(rng):
    model, X, y, loss = _setup("sigmoid_bce", rng)
    before = model.state_dict()
    optimizer = SGD(model, lr=0.3, momentum=0.9)
    trace = deltaprop.explain(model, X, y, loss, optimizer=optimizer)
    after = model.state_dict()
    for i, position in ((1, 0), (2, 2)):
        new_w = trace[f"update.weight.{i}"].value("new_weight")
        np.testing.assert_array_equal(new_w, after[f"{position}.weight"])
        velocity = trace[f"update.weight.{i}"].value("velocity")
        np.testing.assert_array_equal(velocity, optimizer.state[f"{position}.weight"]["velocity"])
        grad = trace[f"backward.grad_weight.{i}"].value("grad_weight")
        np.testing.assert_allclose(new_w, before[f"{position}.weight"] - 0.3 * grad)  # v₁ = g₁
        np.testing.assert_array_equal(trace[f"update.bias.{i}"].value("new_bias"),
                                      after[f"{position}.bias"])
    assert "μ" in trace["update.weight.1"].equation


def _back_to_batch(notation, role, array, n_samples, sample):
    """Independent inverse of each notation's layout: (array in batch form, rows it covers)."""
    rows = slice(None)
    if notation == "rows" and role in ("weight", "grad_weight", "velocity_weight"):
        array = array.T
    if notation == "ng":
        if role in ("act", "grad"):
            array = array.T / (n_samples if role == "grad" else 1)   # dZ = m Δᵀ
        elif role in ("bias", "grad_bias", "velocity_bias"):
            array = array[:, 0]
    if notation in ("column", "haykin"):
        sign = -1.0 if notation == "haykin" else 1.0               # Haykin's δ = −gradient
        if role in ("act", "grad"):
            rows = sample
            array = array[:, 0] * (sign / n_samples if role == "grad" else 1)
        elif role in ("bias", "grad_bias", "velocity_bias"):
            array = array[:, 0] * (sign if role == "grad_bias" else 1)
        elif role == "grad_weight":
            array = array * sign
    return array, rows


@pytest.mark.parametrize("notation", NOTATIONS)
@pytest.mark.parametrize("name", list(SETUPS))
def test_every_notation_shows_the_same_numbers(notation, name, rng):
    model, X, y, loss = _setup(name, rng)
    batch = deltaprop.explain(model, X, y, loss, optimizer=SGD(model, lr=0.1, momentum=0.5),
                              show_unfused=True)
    checked = 0
    for sample in (0, 3):
        other = batch.in_notation(notation, sample=sample)
        assert [s.key for s in other.steps] == [s.key for s in batch.steps]
        for step in other.steps:
            for value in step.values:
                if value.role in ("sample", "scalar") or value.view == "every" \
                        or value.slot in ("step", "step_before", "error", "decayed_grad"):
                    continue                        # Haykin's own quantities; checked elsewhere
                expected = batch[step.key].value(value.slot)
                shown, rows = _back_to_batch(notation, value.role, value.array, len(X), sample)
                np.testing.assert_allclose(shown, expected[rows], rtol=1e-12, atol=1e-15,
                                           err_msg=f"{notation} {step.key} {value.slot}")
                checked += 1
    assert checked > 20


def test_column_per_sample_gradients_average_to_the_batch_gradient(rng):
    model, X, y, loss = _setup("softmax_ce", rng)
    trace = deltaprop.explain(model, X, y, loss)
    for i in (1, 2, 3):
        key = f"backward.grad_weight.{i}"
        per_sample = [trace.in_notation("column", sample=n)[key].value("sample_grad_weight")
                      for n in range(len(X))]
        np.testing.assert_allclose(np.mean(per_sample, axis=0), trace[key].value("grad_weight"),
                                   atol=1e-12)                      # the single 1/N


def test_haykin_update_adds_the_step_and_momentum_is_alpha_delta_w(rng):
    model, X, y, loss = _setup("sigmoid_bce", rng)
    trace = deltaprop.explain(model, X, y, loss, notation="haykin",
                              optimizer=SGD(model, lr=0.5, momentum=0.9))
    step = trace["update.weight.2"]
    assert "W⁽²⁾ ← W⁽²⁾ + ΔW⁽²⁾" in step.equation and "α ΔW⁽²⁾(n−1)" in step.equation
    grad = trace.in_notation("batch")["backward.grad_weight.2"].value("grad_weight")
    np.testing.assert_allclose(step.value("step"), -0.5 * grad)     # ΔW = −η v, v₁ = g
    assert any("MINUS the gradient" in note for note in trace.notes)


@pytest.mark.parametrize("name", ["sigmoid_bce", "softmax_ce", "logits_bce"])
def test_unfused_route_gives_the_same_output_delta(name, rng):
    model, X, y, loss = _setup(name, rng)
    trace = deltaprop.explain(model, X, y, loss, show_unfused=True)
    step = trace["backward.delta.out"]
    assert len(step.asides) == 1
    np.testing.assert_allclose(step.asides[0].value("delta"), step.value("delta"), atol=1e-12)
    if name == "softmax_ce":
        jacobian = step.asides[0].value("jacobian")
        assert jacobian.shape == (3, 3) and not np.allclose(jacobian, np.diag(np.diag(jacobian)))


def test_mse_shows_the_factor_two_trap(rng):
    model, X, y, loss = _setup("mse", rng)
    trace = deltaprop.explain(model, X, y, loss, show_unfused=True)
    assert trace["backward.delta.out"].equation == "Δ⁽²⁾ = 2(A⁽²⁾ − Y) / (N·2)"
    assert any("2(a − y)" in note for note in trace.notes)
    half = trace["backward.delta.out"].asides[0].value("delta_half")
    np.testing.assert_allclose(2 * half, trace["backward.delta.out"].value("delta"))


def test_compare_adds_the_one_sample_view(rng):
    model, X, y, loss = _setup("sigmoid_bce", rng)
    trace = deltaprop.explain(model, X, y, loss, compare="column", sample=2)
    aside = trace["forward.z.1"].asides[0]
    assert aside.equation == "z⁽¹⁾ = W⁽¹⁾ a⁽⁰⁾ + b⁽¹⁾"
    np.testing.assert_array_equal(aside.value("z")[:, 0], trace["forward.z.1"].value("z")[2])
    assert "same step in the column notation" in trace.to_text()


def test_shape_checks_carry_the_actual_sizes(rng):
    model, X, y, loss = _setup("sigmoid_bce", rng)
    trace = deltaprop.explain(model, X, y, loss)
    assert trace["forward.z.1"].shapes == "(5, 3) @ (4, 3)ᵀ + (4,) → (5, 4)"
    assert trace["backward.grad_weight.1"].shapes == "(5, 4)ᵀ @ (5, 3) → (4, 3)"
    assert trace.in_notation("ng")["forward.z.1"].shapes == "(4, 3) @ (3, 5) + (4, 1) → (4, 5)"
    assert "deltaprop.nn.layers.Dense.backward (deltaprop/nn/layers.py:" in \
        trace["backward.grad_weight.1"].code


def test_renderers_produce_valid_output_with_equations_and_numbers(rng):
    model, X, y, loss = _setup("sigmoid_bce", rng)
    trace = deltaprop.explain(model, X, y, loss, optimizer=SGD(model, lr=0.1),
                              show_unfused=True)
    equation = trace["backward.delta.1"].equation
    number = f"{trace['loss'].value('loss'):.6g}"
    data = json.loads(trace.to_json())
    steps = {step["key"]: step for step in data["steps"]}
    assert steps["backward.delta.1"]["equation"] == equation
    shown = {v["slot"]: v for v in steps["forward.z.1"]["values"]}
    np.testing.assert_allclose(shown["z"]["values"], trace["forward.z.1"].value("z"))
    assert shown["weight"]["given"] and not shown["z"]["given"]
    assert steps["forward.z.1"]["code"].startswith("deltaprop.nn.layers.Dense.forward")
    for text in (trace.to_text(), trace.to_markdown(), trace.to_html(), trace._repr_html_(),
                 trace._repr_markdown_(), str(trace)):
        assert equation in text and number in text
    assert trace.to_html().startswith("<!DOCTYPE html>")
    assert trace._repr_html_().startswith('<div class="deltaprop-trace">')
    latex = trace.to_latex()
    assert latex.startswith(r"\documentclass") and latex.rstrip().endswith(r"\end{document}")
    assert r"\Delta^{(1)} = \partial L/\partial A^{(1)} \odot" in latex and number in latex
    assert latex.count("{") == latex.count("}") and latex.count("$") % 2 == 0
    with pytest.raises(ValueError, match="unknown trace format 'pdf'"):
        trace.render("pdf")


def test_large_arrays_are_summarised(rng):
    model = mlp([20, 30, 4], activation="relu", seed=0, dtype=np.float64)
    X, y = rng.normal(size=(40, 20)), rng.integers(0, 4, size=40)
    text = deltaprop.explain(model, X, y, "cross_entropy").to_text()
    assert "shape (40, 30): min" in text and "norm" in text and "corner" in text


def test_explain_rejects_bad_arguments(rng):
    model, X, y, loss = _setup("sigmoid_bce", rng)
    with pytest.raises(ValueError, match="unknown notation 'nielsen'"):
        deltaprop.explain(model, X, y, loss, notation="nielsen")
    with pytest.raises(ValueError, match=r"sample must be an integer in \[0, 5\), got 7"):
        deltaprop.explain(model, X, y, loss, sample=7)
    with pytest.raises(ValueError, match="optimizer must have been built for this model"):
        deltaprop.explain(model, X, y, loss, optimizer=SGD(model.copy(), lr=0.1))
    with pytest.raises(ValueError, match="takes logits, but the model ends in Sigmoid"):
        deltaprop.explain(model, X, y, "bce_with_logits")
    with pytest.raises(TypeError, match="explain expects a deltaprop Sequential"):
        deltaprop.explain("model", X, y, loss)


def test_steps_show_the_optimiser_state_at_work(rng):
    model, X, y, loss = _setup("softmax_ce", rng)
    one = deltaprop.explain(model.copy(), X, y, loss)
    trace = deltaprop.explain(model, X, y, loss, optimizer=SGD(model, lr=0.1, momentum=0.9),
                              steps=3)
    assert [s.key for s in trace.steps if s.iteration == 1][:len(one.steps)] == \
        [s.key for s in one.steps]                              # step 1 keeps its keys
    assert "step3.update.weight.2" in [s.key for s in trace.steps]
    for t in (2, 3):
        before = trace[f"step{t}.update.weight.2"]
        previous = trace[("" if t == 2 else f"step{t - 1}.") + "update.weight.2"]
        for slot, after_slot in (("velocity_before", "velocity"), ("weight", "new_weight")):
            np.testing.assert_array_equal(before.value(slot), previous.value(after_slot))
    assert not np.allclose(trace["step3.update.weight.2"].value("velocity"),
                           trace["step3.backward.grad_weight.2"].value("grad_weight"))
    assert "3 training steps" in trace.to_text() and "(training step 2 of 3)" in trace.to_text()


def test_adam_shows_its_moments_step_count_and_bias_corrections(rng):
    model, X, y, loss = _setup("mse", rng)
    trace = deltaprop.explain(model, X, y, loss, optimizer=deltaprop.Adam(model, lr=0.01),
                              steps=2)
    step = trace["step2.update.weight.1"]
    assert step.value("step_count_before") == 1 and step.value("step_count") == 2
    assert "m̂_W⁽¹⁾ = m_W⁽¹⁾ / (1 − β₁ᵗ)" in step.equation
    data = json.loads(trace.to_json())
    assert data["constants"]["β₁"] == 0.9
    assert {v["slot"] for s in data["steps"] if s["key"] == "step2.update.weight.1"
            for v in s["values"]} >= {"m_before", "m", "v_before", "v", "m_hat", "v_hat"}


@pytest.mark.parametrize("steps", [0, -1, 1.5, True])
def test_steps_must_be_a_positive_integer(steps, rng):
    model, X, y, loss = _setup("mse", rng)
    with pytest.raises(ValueError, match="explain steps must be a positive integer"):
        deltaprop.explain(model, X, y, loss, optimizer=SGD(model, lr=0.1), steps=steps)


def test_several_steps_need_an_optimizer(rng):
    model, X, y, loss = _setup("mse", rng)
    with pytest.raises(ValueError, match="steps=2 needs an optimizer"):
        deltaprop.explain(model, X, y, loss, steps=2)


NEGATIVE_ZERO = re.compile(r"-0\.?0*(?![\d.])")


def test_no_negative_zero_is_printed_in_any_format():
    """Values that round to zero from below (and an exact −0.0) print as 0."""
    model = mlp([2, 2, 1], activation="relu", output="sigmoid", dtype=np.float64)
    model.load_state_dict({"0.weight": np.array([[-1e-9, 0.5], [-0.3, -2e-7]]),
                           "0.bias": np.array([-3e-9, -1e-12]),
                           "2.weight": np.array([[-4e-8, 0.7]]), "2.bias": np.array([-0.0])})
    X, y = np.array([[-0.0, 1.0], [-1e-10, -2.0]]), np.array([1.0, 0.0])
    trace = deltaprop.explain(model, X, y, "bce", optimizer=SGD(model, lr=1e-6, momentum=0.5),
                              steps=2, show_unfused=True, compare="column")
    for fmt in ("text", "markdown", "latex", "html", "json"):
        for notation in ("batch", "haykin", "ng"):
            shown = trace.in_notation(notation).render(fmt)
            found = NEGATIVE_ZERO.findall(shown)
            assert not found, f"{fmt} {notation}: {found[:3]}"
    assert "-1e-09" in trace.to_json()                  # tiny values keep their sign in JSON


def test_format_array_turns_negative_zero_into_zero():
    from deltaprop.explainer.render import format_array, number

    assert format_array(np.array([[-1e-9, 2.0], [-0.0, -4e-5]])) == \
        "[[-1e-09,      2],\n [     0, -4e-05]]"
    assert number(-0.0, 4) == "0" and number(-1e-9, 4) == "-1e-09" and number(-2.5, 4) == "-2.5"


def test_bias_free_network_has_no_bias_anywhere(rng):
    model = mlp([3, 4, 2], activation="tanh", bias=False, seed=0, dtype=np.float64)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, size=5)
    trace = deltaprop.explain(model, X, y, "cross_entropy", optimizer=SGD(model, lr=0.1),
                              show_unfused=True)
    for notation in ("batch", "rows", "ng", "column", "haykin"):
        shown = trace.in_notation(notation)
        assert shown["forward.z.1"].equation.endswith(("W⁽¹⁾ᵀ", "W⁽¹⁾", "A⁽⁰⁾", "a⁽⁰⁾",
                                                       "y⁽⁰⁾", "A[0]", "H⁽⁰⁾ W⁽¹⁾"))
        assert all("bias" not in s.key and "+ b" not in s.equation for s in shown.steps)
        assert "+ (" not in shown["forward.z.2"].shapes
    assert "no biases" in trace.header[0] and any("bias=False" in n for n in trace.notes)


@pytest.mark.parametrize(("name", "count"), [("logits_bce", "1/(N·n_L) = 1/10"),
                                              ("mse", "1/(N·n_L) = 1/10"),
                                              ("softmax_ce", "1/N (N = 5)")])
def test_the_mean_note_states_what_the_loss_divides_by(name, count, rng):
    model, X, y, loss = _setup(name, rng)
    trace = deltaprop.explain(model, X, y, loss)
    assert count in trace.notes[0]
    engine = deltaprop.nn.losses.get_loss(loss)            # what the engine divides by
    output, Y = model.forward(X), trace["input"].value("y")
    _, grad = engine(output, y if loss == "cross_entropy" else Y)
    link = {"logits_bce": lambda z: 1 / (1 + np.exp(-z)), "mse": lambda z: z,
            "softmax_ce": lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)}[name]
    factor = 2 if loss == "mse" else 1
    divisor = 10 if "10" in count else 5
    np.testing.assert_allclose(grad, factor * (link(output) - Y) / divisor, atol=1e-12)


def test_an_optimiser_the_trace_cannot_write_is_refused_before_the_engine_runs(rng):
    class Halving(deltaprop.nn.optim.Optimizer):
        def update(self, state, param, grad):
            param -= 0.5 * grad

    model, X, y, loss = _setup("mse", rng)
    before = model.state_dict()
    with pytest.raises(TypeError, match="explain shows the steps of SGD, Adam and AdamW, "
                                        "got Halving"):
        deltaprop.explain(model, X, y, loss, optimizer=Halving(model, lr=0.1))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize(("optimizer", "defined_in"),
                         [("SGD", "SGD"), ("Adam", "Adam"), ("AdamW", "Adam")])
def test_update_steps_point_at_the_optimisers_own_math(optimizer, defined_in, rng):
    """The update step's code is the optimiser's own step, not the shared plumbing."""
    model = mlp([3, 4, 2], activation="tanh", seed=0, dtype=np.float64)
    opt = getattr(deltaprop, optimizer)(model, lr=0.1)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, size=5)
    trace = deltaprop.explain(model, X, y, "cross_entropy", optimizer=opt)
    updates = [step for step in trace.steps if step.phase == "update"]
    assert updates
    assert all(step.code.startswith(f"deltaprop.nn.optim.{defined_in}.") for step in updates)


@pytest.mark.parametrize(("layers", "position", "what"), [
    (lambda: [deltaprop.Dense(3, 4), deltaprop.ReLU(), deltaprop.Tanh(), deltaprop.Dense(4, 2)],
     2, "a second activation"),
    (lambda: [deltaprop.ReLU(), deltaprop.Dense(3, 2)], 0, "before the first Dense"),
    (lambda: [deltaprop.Dropout(0.5), deltaprop.Dense(3, 2)], 0, "before the first Dense"),
])
def test_a_model_whose_records_do_not_chain_is_refused(layers, position, what, rng):
    """Two activations after one Dense: the records hold the first one's A, the next layer
    reads the second's; the trace would show an A that is not what the next layer used."""
    model = deltaprop.Sequential(*layers())
    with pytest.raises(ValueError, match=rf"layer {position} \(\w+\) is {what}"):
        deltaprop.explain(model, rng.normal(size=(4, 3)), rng.normal(size=(4, 2)), "mse")


def test_dropout_is_said_to_be_off_and_the_forward_pass_chains(rng):
    model = mlp([3, 4, 4, 2], activation="relu", dropout=0.5, seed=0, dtype=np.float64)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)
    trace = deltaprop.explain(model, X, y, "cross_entropy", optimizer=SGD(model, lr=0.1))
    assert "dropout (p = 0.5 after layer 1, p = 0.5 after layer 2) is off" in str(trace)
    assert any("M/(1 − p)" in note for note in trace.notes)
    for layer in (2, 3):                   # what layer l read is what layer l − 1 showed
        step = trace[f"forward.z.{layer}"]
        a_prev = trace[f"forward.a.{layer - 1}"].value("a")
        assert np.allclose(step.value("z"), a_prev @ step.value("weight").T
                           + step.value("bias"), rtol=1e-12)
    assert model.training                  # the caller's mode is restored
    plain = mlp([3, 4, 2], seed=0, dtype=np.float64)
    assert "dropout" not in str(deltaprop.explain(plain, X, y, "cross_entropy")).lower()


def _latex_problems(line: str) -> list[str]:
    """What would stop pdflatex on one line: non-ASCII, unbalanced braces or $, a script or
    radicand that is a parenthesised group (TeX takes one token: e^(−x) sets only "(")."""
    problems = [f"non-ASCII {c!r}" for c in sorted(set(line)) if ord(c) > 127]
    depth, i = 0, 0
    while i < len(line) and depth >= 0:
        depth += {"{": 1, "}": -1}.get(line[i], 0)
        i += 2 if line[i] == "\\" else 1
    problems += ["unbalanced braces"] if depth else []
    problems += ["odd $"] if line.replace(r"\$", "").count("$") % 2 else []
    problems += ["?"] if "?" in line else []              # to_text's stand-in for unknown
    problems += re.findall(r"\^\(|\\sqrt(?!\{)", line)
    return problems


@pytest.mark.parametrize("notation", ["batch", *NOTATIONS])
def test_latex_is_well_formed_for_every_activation_and_optimiser(notation, rng):
    X = rng.normal(size=(3, 2))
    models = [
        (deltaprop.Sequential(deltaprop.Dense(2, 3, dtype=np.float64), deltaprop.GELU("tanh"),
                              deltaprop.Dense(3, 3, dtype=np.float64), deltaprop.Softplus(2.0),
                              deltaprop.Dense(3, 2, dtype=np.float64)), "bce_with_logits",
         rng.integers(0, 2, size=(3, 2)).astype(float)),
        (mlp([2, 3, 3, 2], activation=deltaprop.LeakyReLU(0.2), output=deltaprop.ELU(0.5),
             seed=0, dtype=np.float64), "mse", rng.normal(size=(3, 2))),
        (mlp([2, 3, 3], activation="gelu", output="softmax", seed=0, dtype=np.float64), "mse",
         rng.normal(size=(3, 3))),
    ]
    optimizers = [lambda m: deltaprop.AdamW(m, lr=0.1), lambda m: SGD(m, lr=0.1, momentum=0.9,
                                                                      nesterov=True,
                                                                      weight_decay=0.1),
                  lambda m: deltaprop.Adam(m, lr=0.1, weight_decay=0.1)]
    for (model, loss, y), make in zip(models, optimizers):
        trace = deltaprop.explain(model, X, y, loss, notation, optimizer=make(model), steps=2,
                                  show_unfused=True, compare="column")
        for line in trace.to_latex().splitlines():
            assert not _latex_problems(line), (_latex_problems(line), line)


NUMBER = re.compile(r"[-+]?(?:nan|inf|(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)")


def test_every_printed_number_is_the_computed_one_to_its_digits_in_every_format(rng):
    """Adam's second moment after one step is ~1e−6: printed with fixed decimals it read 0,
    and the next printed equation v̂ = v / (1 − β₂ᵗ) then gave a non-zero from that 0."""
    from deltaprop.explainer.render import _latex_array, format_array

    model = mlp([2, 3, 1], activation="tanh", output="sigmoid", seed=0, dtype=np.float64)
    X, y = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([1.0, 0.0])
    trace = deltaprop.explain(model, X, y, "bce", optimizer=deltaprop.Adam(model, lr=0.01),
                              steps=2)
    v = trace["update.weight.1"].value("v")
    assert np.all(v > 0) and np.max(v) < 1e-4                 # the case that read 0 before
    for step in trace.steps:
        for value in step.values:
            text = format_array(value.array)
            shown = np.array([float(x) for x in NUMBER.findall(text)])
            assert np.allclose(shown, np.ravel(value.array), rtol=5e-4, atol=0), \
                (step.key, value.label, text)
            if np.ndim(value.array):                      # LaTeX: the same printed entries
                latex = _latex_array(value.array, trace)
                assert NUMBER.findall(latex.split("}", 1)[1]) == NUMBER.findall(text)


def test_a_one_output_softmax_is_called_out(rng):
    model = mlp([3, 1], seed=0, dtype=np.float64)
    trace = deltaprop.explain(model, rng.normal(size=(4, 3)), np.zeros(4, dtype=int),
                              "cross_entropy")
    assert not np.any(trace["backward.grad_weight.1"].value("grad_weight"))
    assert any("softmax over ONE output is always 1" in note for note in trace.notes)
    two = mlp([3, 2], seed=0, dtype=np.float64)
    assert not any("ONE output" in note for note in deltaprop.explain(
        two, rng.normal(size=(4, 3)), np.zeros(4, dtype=int), "cross_entropy").notes)


@pytest.mark.parametrize(("name", "value"), [("precision", 0), ("precision", -1),
                                             ("precision", 2.5), ("max_values", 0),
                                             ("max_values", True)])
def test_display_options_are_checked_before_anything_is_rendered(name, value, rng):
    model = mlp([2, 2, 1], output="sigmoid", seed=0, dtype=np.float64)
    before = model.state_dict()
    with pytest.raises(ValueError, match=rf"explain {name} must be an integer >= 1, got"):
        deltaprop.explain(model, rng.normal(size=(2, 2)), np.array([1.0, 0.0]), "bce",
                          optimizer=SGD(model, lr=0.5), **{name: value})
    assert all(np.array_equal(v, model.state_dict()[k]) for k, v in before.items())


def test_a_bad_sample_is_refused_before_the_optimiser_steps(rng):
    model = mlp([2, 2, 1], output="sigmoid", seed=0, dtype=np.float64)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"explain sample must be an integer in \[0, 2\), got 5"):
        deltaprop.explain(model, rng.normal(size=(2, 2)), np.array([1.0, 0.0]), "bce",
                          "column", optimizer=SGD(model, lr=0.5), sample=5)
    assert all(np.array_equal(v, model.state_dict()[k]) for k, v in before.items())


def _stripped(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines())


@pytest.mark.parametrize("notation", ["batch", *NOTATIONS])
def test_every_renderer_shows_the_same_equations_and_numbers(notation, rng):
    import html

    from deltaprop.explainer.latex import to_math
    from deltaprop.explainer.render import _latex_array, format_array

    model = mlp([2, 3, 2], activation=deltaprop.GELU("tanh"), output="softmax", seed=0,
                dtype=np.float64)
    trace = deltaprop.explain(model, rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), "mse",
                              notation, optimizer=deltaprop.Adam(model, lr=0.01), steps=2,
                              show_unfused=True, compare="haykin")
    text, md, page, tex = trace.to_text(), trace.to_markdown(), trace.to_html(), trace.to_latex()
    shown = json.loads(trace.to_json())["steps"]
    for step, stored in zip(trace.steps, shown):
        assert stored["equation"] == step.equation
        for part in (step, *step.asides):
            assert part.equation in text and f"`{part.equation}`" in md
            assert html.escape(part.equation) in page and to_math(part.equation) in tex
            for value in part.values:
                numbers = format_array(value.array)
                assert numbers in md and html.escape(numbers) in page
                assert _stripped(numbers) in _stripped(text)        # text indents arrays
                latex = _latex_array(value.array, trace)
                assert latex in tex
                if np.ndim(value.array):                 # the matrix holds the same entries
                    assert NUMBER.findall(latex.split("}", 1)[1]) == NUMBER.findall(numbers)


def test_the_header_names_the_activations_parameters(rng):
    model = mlp([2, 3, 3, 2], activation=deltaprop.GELU("tanh"),
                output=deltaprop.Softplus(beta=2.0), seed=0, dtype=np.float64)
    header = deltaprop.explain(model, rng.normal(size=(2, 2)), rng.normal(size=(2, 2)),
                               "mse").header[0]
    assert "gelu(approximate='tanh') hidden" in header
    assert "output softplus(beta=2.0, threshold=20.0)" in header


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_are_shown_in_the_dtype_the_engine_computed_in(dtype, rng):
    model = mlp([2, 3, 2], seed=0, dtype=dtype)
    trace = deltaprop.explain(model, rng.normal(size=(3, 2)), np.array([0, 1, 1]),
                              "cross_entropy", optimizer=deltaprop.Adam(model, lr=0.1))
    assert f"computed in {np.dtype(dtype)}" in trace.header[1]
    for step in trace.steps:
        for value in step.values:
            if value.role != "scalar":
                assert value.array.dtype == dtype, (step.key, value.label)


def test_explain_and_card_options_follow_the_parameter_rules(rng):
    """NumPy integers are accepted; bools are not; errors are InvalidParameterError."""
    model = mlp([3, 4, 2], activation="tanh", seed=0, dtype=np.float64)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, size=5)
    trace = deltaprop.explain(model, X, y, "cross_entropy", sample=np.int64(4),
                              precision=np.int64(3), notation="column")
    assert trace.steps
    assert deltaprop.card([np.int64(2), np.int64(3), 1], "tanh", "sigmoid", "bce")
    for options in ({"sample": True}, {"sample": 5}, {"precision": 0}, {"max_values": 2.0}):
        with pytest.raises(deltaprop.InvalidParameterError, match="explain"):
            deltaprop.explain(model, X, y, "cross_entropy", **options)
    with pytest.raises(deltaprop.InvalidParameterError, match="card layers"):
        deltaprop.card([2, True, 1], "tanh", "sigmoid", "bce")
    with pytest.raises(deltaprop.InvalidParameterError, match="card format"):
        deltaprop.card([2, 3, 1], "tanh", "sigmoid", "bce", format="pdf")
