"""One meaning per CLI flag across subcommands, and every flag's names read from one table."""

from __future__ import annotations

import argparse
import re

import pytest

from deltaprop.cli import build_parser, main

NETWORK_COMMANDS = ["explain", "card", "gradcheck"]


def _run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _widths_shown(command: str, out: str) -> str:
    """The widths of the network a command printed, as ``2-3-1``."""
    if command == "gradcheck":                        # the repr: one Dense per layer
        dense = re.findall(r"Dense\(in_features=(\d+), out_features=(\d+)\)", out)
        return "-".join([dense[0][0], *(n_out for _, n_out in dense)])
    return re.search(r"(\d+(?:-\d+)+) network|network (\d+(?:-\d+)+)", out).group(0).replace(
        "network", "").strip()


@pytest.mark.parametrize("command", NETWORK_COMMANDS)
def test_layers_is_the_hidden_widths_as_in_train(command, capsys):
    code, out, err = _run([command, "--layers", "4,5", "--inputs", "3", "--outputs", "2"],
                          capsys)
    assert code == 0, err
    assert _widths_shown(command, out) == "3-4-5-2"
    # given two or more widths, --layers prints one note pointing to --widths (it meant that)
    assert err.count("note: --layers now gives the hidden widths only") == 1, err
    assert "--widths 4,5" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", NETWORK_COMMANDS)
def test_widths_gives_every_width_input_first(command, capsys):
    """--widths N,H,K = --inputs N --layers H --outputs K, and the defaults are 2, 3, 1."""
    outputs = {}
    for name, argv in {"widths": ["--widths", "2,3,1"],
                       "split": ["--inputs", "2", "--layers", "3", "--outputs", "1"],
                       "default": []}.items():
        code, outputs[name], err = _run([command, *argv], capsys)
        assert code == 0 and err == "", err                  # one hidden width: no note
    assert outputs["widths"] == outputs["split"] == outputs["default"]
    assert _widths_shown(command, outputs["widths"]) == "2-3-1"
    code, out, err = _run([command, "--widths", "3,1"], capsys)     # no hidden layer
    assert code == 0 and err == ""
    assert _widths_shown(command, out) == "3-1"


@pytest.mark.parametrize("command", NETWORK_COMMANDS)
@pytest.mark.parametrize("extra", [["--layers", "3"], ["--inputs", "2"], ["--outputs", "1"]])
def test_widths_with_another_width_flag_is_refused(command, extra, capsys):
    code, _, err = _run([command, "--widths", "2,3,1", *extra], capsys)
    assert code == 2
    assert "--widths gives every width" in err and extra[0] in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", NETWORK_COMMANDS)
def test_output_activation_and_the_old_output_spelling(command, capsys):
    code, new, err = _run([command, "--output-activation", "sigmoid", "--loss", "bce"], capsys)
    assert code == 0 and err == ""
    code, old, err = _run([command, "--output", "sigmoid", "--loss", "bce"], capsys)
    assert code == 0 and old == new
    assert "note: --output is deprecated here, use --output-activation sigmoid" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", NETWORK_COMMANDS)
def test_output_activation_none_means_logits(command, capsys):
    argv = [command, "--output-activation", "none", "--loss", "cross_entropy", "--outputs", "3"]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    assert "Sigmoid" not in out and "sigmoid(" not in out


def test_gradcheck_bce_gets_the_sigmoid_that_goes_with_it(capsys):
    """As in explain and card: --loss bce without --output-activation ends in a sigmoid."""
    code, out, err = _run(["gradcheck", "--loss", "bce"], capsys)
    assert code == 0, err
    assert "Sigmoid()" in out and "loss bce" in out


def test_a_failing_run_keeps_its_note_on_the_error_line(capsys):
    code, _, err = _run(["explain", "--layers", "4,5", "--loss", "cross_entropy",
                         "--output-activation", "sigmoid"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0]
    assert "(note: --layers now gives the hidden widths only" in lines[0]


def test_predict_output_is_still_a_file():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    predict = {o: a for a in sub.choices["predict"]._actions for o in a.option_strings}
    assert predict["--output"].metavar == "FILE" and "--output-activation" not in predict


# ------------------------------------------------------------- choices: one table each


def _choices(command: str, flag: str) -> list[str]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices[command]._actions if flag in a.option_strings)
    return list(action.choices)


@pytest.fixture
def extended_tables(monkeypatch):
    """Every table gets one more name; a CLI copy of a table would not know it."""
    from deltaprop import SGD, MSELoss, Tanh
    from deltaprop.explainer import memory_card, trace
    from deltaprop.explainer.notations import NOTATIONS
    from deltaprop.nn.activations import ACTIVATIONS
    from deltaprop.nn.losses import LOSSES
    from deltaprop.nn.optim import OPTIMIZERS

    monkeypatch.setitem(LOSSES, "zz_loss", MSELoss)
    monkeypatch.setitem(ACTIVATIONS, "zz_act", Tanh)
    monkeypatch.setitem(OPTIMIZERS, "zz_opt", SGD)
    monkeypatch.setitem(NOTATIONS, "zz_notation", NOTATIONS["batch"])
    monkeypatch.setattr(trace, "FORMATS", (*trace.FORMATS, "zz_format"))
    monkeypatch.setattr(memory_card, "FORMATS", (*memory_card.FORMATS, "zz_card"))
    return {"loss": sorted(LOSSES), "activation": sorted(ACTIVATIONS),
            "optimizer": list(OPTIMIZERS), "notation": list(NOTATIONS),
            "format": list(trace.FORMATS), "card_format": list(memory_card.FORMATS)}


@pytest.mark.parametrize(("command", "flag", "table"), [
    ("train", "--loss", "loss"), ("evaluate", "--loss", "loss"), ("predict", "--loss", "loss"),
    ("gradcheck", "--loss", "loss"), ("train", "--activation", "activation"),
    ("gradcheck", "--activation", "activation"), ("train", "--optimizer", "optimizer"),
])
def test_argparse_choices_are_the_library_tables(command, flag, table, extended_tables):
    assert _choices(command, flag) == extended_tables[table]


@pytest.mark.parametrize(("command", "flag", "table"), [
    ("explain", "--loss", "loss"), ("card", "--loss", "loss"),
    ("explain", "--activation", "activation"), ("card", "--activation", "activation"),
    ("explain", "--output-activation", "activation"), ("explain", "--optimizer", "optimizer"),
    ("explain", "--notation", "notation"), ("card", "--notation", "notation"),
    ("explain", "--compare", "notation"), ("explain", "--format", "format"),
    ("card", "--format", "card_format"),
])
def test_checked_choices_are_the_library_tables(command, flag, table, extended_tables,
                                                capsys):
    code, _, err = _run([command, flag, "nope"], capsys)
    assert code == 2
    listed = re.search(rf"{flag} must be one of (.*), got 'nope'", err).group(1).split(", ")
    expected = extended_tables[table]
    assert listed == (["none", *expected] if flag == "--output-activation" else expected)


def test_the_lists_agree_across_the_library():
    from deltaprop.cli.train import DEFAULT_LR
    from deltaprop.explainer.notations import NOTATIONS
    from deltaprop.nn.optim import OPTIMIZERS
    from deltaprop.practice import NOTATIONS as PRACTICE_NOTATIONS

    assert set(DEFAULT_LR) == set(OPTIMIZERS)        # a default learning rate for each
    assert set(PRACTICE_NOTATIONS) == set(NOTATIONS)
    assert _choices("practice", "--notation") == list(PRACTICE_NOTATIONS)


def test_every_trace_format_renders(capsys):
    from deltaprop.explainer.trace import FORMATS

    for name in FORMATS:
        assert main(["explain", "--format", name]) == 0, name
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("command", ["explain", "gradcheck"])
@pytest.mark.parametrize("extra", [["--layers", "4"], ["--widths", "3,5,2"], ["--inputs", "3"],
                                   ["--output-activation", "sigmoid"], ["--output", "sigmoid"]])
def test_model_gives_the_network_so_network_flags_are_refused(command, extra, tmp_path,
                                                              capsys):
    pytest.importorskip("safetensors")
    from deltaprop import io, mlp

    path = tmp_path / "model.safetensors"
    io.save(mlp([3, 5, 2], activation="tanh", seed=1), path, metadata={"loss": "mse"})
    code, _, err = _run([command, "--model", str(path), *extra], capsys)
    assert code == 2
    assert f"--model gives the network; drop {extra[0]}" in err
    assert len(err.strip().splitlines()) == 1
    assert _run([command, "--model", str(path)], capsys)[0] == 0
