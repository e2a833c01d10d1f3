"""The predicted-against-actual plot, and titles that say which rows a plot shows."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from deltaprop.cli import main
from deltaprop.plots import plot_history, plot_predicted_vs_actual
from deltaprop.training.callbacks import History


@pytest.mark.slow
def test_predicted_against_actual_draws_each_row_and_the_diagonal(tmp_path):
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    predicted = np.array([1.5, 2.0, 2.5, 4.5])
    fig = plot_predicted_vs_actual(actual, predicted, tmp_path / "p.png",
                                   target_names=["price"], title="predicted: the 4 test rows")
    (ax,) = fig.axes
    points = ax.collections[0].get_offsets()
    np.testing.assert_array_equal(points, np.column_stack([actual, predicted]))
    diagonal = ax.get_lines()[0]
    assert list(diagonal.get_xdata()) == list(diagonal.get_ydata()) == [1.0, 4.5]
    ss_res, ss_tot = 0.25 + 0 + 0.25 + 0.25, 5.0                # 1 - 0.75 / 5 = 0.85
    assert ax.collections[0].get_label() == f"R² {1 - ss_res / ss_tot:.3f}" == "R² 0.850"
    assert ax.get_xlabel() == "actual price" and ax.get_ylabel() == "predicted price"
    assert fig._suptitle.get_text() == "predicted: the 4 test rows"
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_predicted_against_actual_draws_a_panel_per_target():
    y = np.random.default_rng(0).normal(size=(10, 2))
    assert len(plot_predicted_vs_actual(y, y + 0.1).axes) == 2


def test_predicted_against_actual_checks_the_shapes_before_drawing():
    y = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match=r"same shape, got \(10, 2\) and \(10, 1\)"):
        plot_predicted_vs_actual(y, y[:, 0])
    with pytest.raises(ValueError, match="name the 2 target"):
        plot_predicted_vs_actual(y, y, target_names=["a"])


def test_history_titles_say_which_rows():
    history = History()
    for epoch in (1, 2):
        history.append(epoch, {"loss": 1.0 / epoch, "accuracy": 0.5, "val_loss": 1.0,
                               "val_accuracy": 0.5})
    titles = [ax.get_title() for ax in plot_history(history).axes]
    assert titles == ["loss: training and validation rows",
                      "accuracy: training and validation rows"]
    train_only = History()
    train_only.append(1, {"loss": 1.0})
    assert plot_history(train_only).axes[0].get_title() == "loss: training rows"


@pytest.mark.slow
def test_train_plots_a_regression_on_its_test_rows(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "curve", "--epochs", "2", "--plots", "--out", str(out),
                 "--quiet"]) == 0
    assert "predicted.png" in capsys.readouterr().out
    assert (out / "predicted.png").read_bytes()[:4] == b"\x89PNG"
    assert not (out / "confusion.png").exists()
