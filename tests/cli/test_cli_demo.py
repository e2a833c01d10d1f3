"""``deltaprop demo``: trains on the digits, prints epoch lines, accuracy and the walkthrough."""

from __future__ import annotations

import re

import pytest

from deltaprop.cli import main


@pytest.mark.slow
def test_demo_runs_and_prints_progress_accuracy_and_walkthrough(capsys):
    pytest.importorskip("sklearn")                   # the bundled digits
    assert main(["demo", "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    epoch_lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2
    assert re.match(r"epoch +1  loss \d+\.\d{4}  accuracy \d\.\d{4}  val_loss", epoch_lines[0])
    accuracy = float(re.search(r"test accuracy (\d\.\d{4})", out).group(1))
    assert 0.8 < accuracy <= 1.0                      # two epochs already learn the digits
    walkthrough = out[out.index("One training step"):]
    for text in ("Forward", "Z1 = A0 W1ᵀ + b1", "Loss: L = mean BCE", "Backward:",
                 "Δ2 = ∂L/∂A2 ⊙ σ′(Z2) = (A2 − Y)/N", "∂L/∂W1 = Δ1ᵀ A0", "Update (SGD"):
        assert text in walkthrough, text


def test_demo_rejects_a_bad_flag(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--epochs", "two"])
    assert info.value.code == 2
    assert "--epochs" in capsys.readouterr().err
