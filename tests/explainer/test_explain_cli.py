"""``deltaprop explain`` and ``deltaprop card`` on the command line."""

from __future__ import annotations

import json

import pytest

from deltaprop.cli import main


def test_explain_prints_every_step_as_text(capsys):
    assert main(["explain", "--layers", "3", "--activation", "tanh", "--output-activation",
                 "sigmoid", "--loss", "bce", "--samples", "4", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    for piece in ("Z⁽¹⁾ = A⁽⁰⁾ W⁽¹⁾ᵀ + b⁽¹⁾", "(4, 2) @ (3, 2)ᵀ + (3,) → (4, 3)",
                  "= (A⁽²⁾ − Y) / N", "∂L/∂W⁽¹⁾ = Δ⁽¹⁾ᵀ A⁽⁰⁾", "update.weight.2",
                  "deltaprop.nn.layers.Dense.backward", "Traps to watch"):
        assert piece in out, piece


@pytest.mark.parametrize("fmt, marker", [("markdown", "## Backward pass"),
                                         ("latex", r"\end{document}"),
                                         ("html", '<div class="deltaprop-trace">')])
def test_explain_formats(fmt, marker, capsys):
    assert main(["explain", "--format", fmt, "--notation", "ng"]) == 0
    assert marker in capsys.readouterr().out


def test_explain_json_with_logits_momentum_and_unfused(capsys):
    assert main(["explain", "--inputs", "3", "--layers", "4", "--outputs", "3",
                 "--output-activation", "none", "--loss", "cross_entropy", "--momentum", "0.9",
                 "--unfused", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    steps = {step["key"]: step for step in data["steps"]}
    assert steps["backward.delta.out"]["asides"][0]["name"].startswith("output delta, unfused")
    assert [v["slot"] for v in steps["update.weight.1"]["values"]] == [
        "weight", "velocity_before", "velocity", "new_weight"]


@pytest.mark.parametrize("argv, message", [
    (["explain", "--widths", "2,3,1", "--layers", "4"], "--widths gives every width; drop "
     "--layers"),
    (["explain", "--widths", "3"], "--widths needs an input and an output width"),
    (["explain", "--notation", "bishop"], "--notation must be one of"),
    (["explain", "--format", "pdf"], "--format must be one of"),
    (["explain", "--loss", "hinge"], "--loss must be one of"),
    (["explain", "--loss", "cross_entropy", "--output-activation", "sigmoid"],
     "takes logits, but the model ends in Sigmoid"),
    (["explain", "--samples", "3", "--sample", "5"], "--sample must be in [0, 3)"),
    (["explain", "--model", "/nonexistent/model.safetensors"], "--model"),
    (["explain", "--dropout", "on"], "--dropout must be one of off, train, got 'on'"),
    (["explain", "--dropout-rate", "1"], "--dropout-rate must be a number in [0, 1), got 1.0"),
    (["explain", "--dropout-rate", "nan"], "--dropout-rate must be a number in [0, 1)"),
    (["explain", "--model", "m.safetensors", "--dropout-rate", "0.5"],
     "--model gives the network; drop --dropout-rate"),
    (["card", "--format", "html"], "--format must be one of text, markdown"),
    (["card", "--activation", "swish"], "--activation must be one of"),
])
def test_bad_flag_values_end_with_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_card_prints_the_recipe(capsys):
    assert main(["card", "--layers", "3", "--activation", "tanh", "--output-activation",
                 "sigmoid", "--loss", "bce", "--notation", "column"]) == 0
    out = capsys.readouterr().out
    assert "(3, 2) @ (2, 1) + (3, 1) → (3, 1)" in out and "6 update" in out
    assert main(["card", "--format", "markdown", "--no-momentum"]) == 0
    assert "| step | equation | shapes |" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["explain", "card"])
def test_help_has_examples(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"deltaprop {command} --layers" in capsys.readouterr().out


def test_explain_a_saved_model(tmp_path, capsys):
    pytest.importorskip("safetensors")
    from deltaprop import io, mlp

    path = tmp_path / "model.safetensors"
    io.save(mlp([3, 5, 2], activation="relu", seed=1), path)
    assert main(["explain", "--model", str(path), "--loss", "cross_entropy"]) == 0
    out = capsys.readouterr().out
    assert "network 3-5-2, relu hidden" in out and "(4, 3) @ (5, 3)ᵀ + (5,) → (4, 5)" in out


@pytest.mark.parametrize(("loss", "last_layer"), [("cross_entropy", "A⁽²⁾ = softmax(Z⁽²⁾)"),
                                                  ("bce", "A⁽²⁾ = sigmoid(Z⁽²⁾)")])
def test_output_activation_defaults_to_the_one_that_goes_with_the_loss(loss, last_layer,
                                                                         capsys):
    """Without --output-activation: logits for cross-entropy, a sigmoid for BCE."""
    assert main(["explain", "--layers", "3", "--outputs", "2" if loss == "cross_entropy" else "1",
                 "--loss", loss]) == 0
    out = capsys.readouterr().out
    assert last_layer in out


def test_explain_steps_with_adam_shows_its_state_each_step(capsys):
    assert main(["explain", "--optimizer", "adam", "--lr", "0.01", "--steps", "2",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    keys = [step["key"] for step in data["steps"]]
    assert "update.weight.1" in keys and "step2.update.weight.1" in keys
    step2 = next(s for s in data["steps"] if s["key"] == "step2.update.weight.1")
    counts = {v["slot"]: v["values"] for v in step2["values"]}
    assert counts["step_count_before"] == 1.0 and counts["step_count"] == 2.0


def _saved(tmp_path, loss):
    pytest.importorskip("safetensors")
    from deltaprop import io, mlp

    path = tmp_path / "model.safetensors"
    io.save(mlp([3, 4, 2], activation="tanh", seed=1), path, metadata={"loss": loss})
    return str(path)


def test_explain_a_model_uses_the_loss_recorded_in_its_file(tmp_path, capsys):
    path = _saved(tmp_path, "cross_entropy")
    assert main(["explain", "--model", path]) == 0
    out = capsys.readouterr().out
    assert "loss CrossEntropyLoss" in out and "Δ⁽²⁾ = (A⁽²⁾ − Y) / N" in out
    assert main(["explain", "--model", path, "--loss", "cross_entropy"]) == 0


def test_explain_refuses_a_loss_that_contradicts_the_file(tmp_path, capsys):
    path = _saved(tmp_path, "mse")
    assert main(["explain", "--model", path, "--loss", "cross_entropy"]) == 2
    err = capsys.readouterr().err
    assert "--loss cross_entropy contradicts the loss 'mse' recorded in" in err


@pytest.mark.parametrize("argv, message", [
    (["explain", "--steps", "0"], "--steps must be a positive integer"),
    (["explain", "--steps", "2", "--lr", "0"], "> 1 needs --lr > 0"),
    (["explain", "--optimizer", "rmsprop"], "--optimizer must be one of sgd, adam, adamw"),
    (["explain", "--optimizer", "adam", "--momentum", "0.9"], "--momentum applies to"),
])
def test_bad_step_flags_end_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_explain_dropout_train_shows_the_masks_and_off_says_it_is_off(capsys):
    flags = ["explain", "--layers", "4,4", "--activation", "relu", "--dropout-rate", "0.5",
             "--format", "json"]
    assert main([*flags, "--dropout", "train"]) == 0
    data = json.loads(capsys.readouterr().out)
    steps = {step["key"]: step for step in data["steps"]}
    assert {"forward.dropout.1", "forward.dropout.2", "backward.dropout.1"} <= set(steps)
    mask = next(v for v in steps["forward.dropout.1"]["values"] if v["slot"] == "mask")
    assert {x for row in mask["values"] for x in row} <= {0, 1}
    assert any("training mode" in line for line in data["header"])
    assert main(flags) == 0
    data = json.loads(capsys.readouterr().out)
    assert not any("dropout" in step["key"] for step in data["steps"])
    assert any("is off in this trace" in line for line in data["header"])
