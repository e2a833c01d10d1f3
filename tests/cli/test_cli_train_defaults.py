"""``deltaprop train --help`` shows every default; the defaults that depend on the task."""

import argparse

import pytest

from deltaprop.cli import build_parser, main
from deltaprop.cli.train import TASK_DEFAULTS


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
    assert "(default: 30 for classification, 60 for regression)" in text


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
    assert seen == TASK_DEFAULTS[task]
    assert main(["train", data, "--optimizer", "adamw", "--epochs", "3", "--quiet"]) == 2
    assert seen == {**TASK_DEFAULTS[task], "optimizer": "adamw", "epochs": 3}
