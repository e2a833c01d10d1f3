"""``deltaprop train --help`` shows every default; the defaults that depend on the task."""

import argparse

import pytest

from deltaprop.cli import build_parser, main
from deltaprop.cli.train import TASK_DEFAULTS, auto_epochs


def _train_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return subparsers.choices["train"]


def test_train_help_shows_every_flag_s_default(capsys):
    parser = _train_parser()
    flags = [action for action in parser._actions if action.option_strings
             and action.dest != "help"]
    assert len(flags) > 20
    missing = [action.option_strings[0] for action in flags
               if "(default:" not in (action.help or "")]
    assert missing == []
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: sgd for classification, adam for regression)" in text
    assert "(default: 60 for regression; for classification enough for about 3000 steps, 30 " \
           "to 1000 epochs by the number of rows)" in text


@pytest.mark.parametrize("data, task", [("moons", "classification"), ("curve", "regression")])
def test_flags_left_out_take_the_task_s_defaults(monkeypatch, data, task):
    from deltaprop.cli import train

    seen = {}

    def record_and_stop(args, *rest):
        seen.update(optimizer=args.optimizer, weight_decay=args.weight_decay,
                    epochs=args.epochs)
        raise train.CLIError("stopped before training")

    monkeypatch.setattr(train, "_build", record_and_stop)
    assert main(["train", data, "--quiet"]) == 2
    # moons: 400 rows, 320 to train, 32 of them to validate: 9 steps an epoch, 3000 / 9
    assert seen == {**TASK_DEFAULTS[task], **({"epochs": 334} if task == "classification"
                                              else {})}
    assert main(["train", data, "--optimizer", "adamw", "--epochs", "3", "--quiet"]) == 2
    assert seen == {**TASK_DEFAULTS[task], "optimizer": "adamw", "epochs": 3}


@pytest.mark.parametrize("n_train, val_split, batch_size, epochs", [
    (320, 0.1, 32, 334),       # 288 rows to fit: 9 steps an epoch, ceil(3000 / 9)
    (320, 0.0, 32, 300),       # 320 rows: 10 steps
    (1438, 0.1, 32, 74),       # digits: 1294 rows, 41 steps
    (4000, 0.1, 32, 30),       # at least 30
    (10, 0.1, 32, 1000),       # at most 1000
])
def test_auto_epochs_aim_at_3000_steps(n_train, val_split, batch_size, epochs):
    assert auto_epochs(n_train, val_split, batch_size) == epochs
