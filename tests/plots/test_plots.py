"""Plots: every figure is written and shows what it should; LayerStats records the right things."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from deltaprop import SGD, Adam, fit, mlp
from deltaprop.plots import (
    LayerStats,
    class_probabilities,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_history,
    plot_layer_stats,
    plot_weight_histograms,
)


def _two_blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = rng.normal(0, 0.6, (n, 2)) + np.where(y[:, None] == 1, 1.5, -1.5)
    return X.astype(np.float32), y


def _written(path, min_bytes=5_000):
    assert path.exists() and path.stat().st_size > min_bytes
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained():
    X, y = _two_blobs()
    model = mlp([2, 8, 2], activation="relu", seed=0)
    stats = LayerStats()
    history = fit(model, X, y, loss="cross_entropy", optimizer=Adam(model, lr=0.02),
                  epochs=12, batch_size=50, seed=0, validation_split=0.2, callbacks=[stats])
    return model, X, y, history, stats


@pytest.mark.slow
def test_history_curves(trained, tmp_path):
    _, _, _, history, _ = trained
    fig = plot_history(history, tmp_path / "curves.png", title="run")
    _written(tmp_path / "curves.png")
    loss_ax, metric_ax = fig.axes
    assert loss_ax.get_xlabel() == "epoch" and loss_ax.get_ylabel() == "loss"
    assert metric_ax.get_ylabel() == "accuracy"
    labels = [line.get_label() for line in loss_ax.get_lines()]
    assert labels == ["train loss", "validation loss"]
    np.testing.assert_allclose(loss_ax.get_lines()[0].get_ydata(), history["loss"])
    np.testing.assert_allclose(metric_ax.get_lines()[1].get_ydata(), history["val_accuracy"])


@pytest.mark.slow
def test_history_from_dict_and_from_estimator():
    pytest.importorskip("sklearn", minversion="1.6")
    from deltaprop.sklearn import MLPRegressor

    data = {"epochs": [1, 2, 3], "history": {"loss": [3.0, 2.0, 1.0], "r2": [0.1, 0.5, 0.7]},
            "best_epoch": 2, "stopped_epoch": None}
    fig = plot_history(data)
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "r2"]
    assert "best epoch (2)" in [line.get_label() for line in fig.axes[0].get_lines()]
    X = np.linspace(-1, 1, 60)[:, None]
    reg = MLPRegressor((8,), max_iter=200, early_stopping=True, random_state=0,
                       learning_rate_init=0.01).fit(X, X[:, 0] ** 2)
    fig = plot_history(reg)
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 2
    with pytest.raises(TypeError, match="History"):
        plot_history([1, 2, 3])


@pytest.mark.slow
def test_decision_boundary_colours_differ_between_the_class_regions(trained, tmp_path):
    model, X, y, _, _ = trained
    fig = plot_decision_boundary(model, X, y, tmp_path / "boundary.png", resolution=60)
    _written(tmp_path / "boundary.png")
    ax = fig.axes[0]
    assert ax.get_title() == "decision boundary" and ax.get_xlabel() == "$x_1$"
    # render and read pixels inside each class's region, off the data points' markers
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    height = image.shape[0]

    def pixel(x, y_):
        col, row = ax.transData.transform((x, y_))
        return image[height - int(row), int(col)]

    low, high = pixel(-2.9, -0.6), pixel(0.6, 2.9)
    assert low[0] > low[2] + 40        # class 0 region: more red than blue (orange)
    assert high[2] > high[0] + 40      # class 1 region: more blue than red
    probabilities = class_probabilities(model, np.array([[-2, -2], [2, 2]], np.float32))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert probabilities[0, 0] > 0.9 and probabilities[1, 1] > 0.9


@pytest.mark.slow
def test_decision_boundary_multiclass_and_estimator(tmp_path):
    pytest.importorskip("sklearn", minversion="1.6")
    from deltaprop.sklearn import MLPClassifier

    rng = np.random.default_rng(1)
    centres = np.array([[0, 3], [-3, -2], [3, -2]])
    y = np.repeat([0, 1, 2], 40)
    X = centres[y] + rng.normal(0, 0.7, (120, 2))
    clf = MLPClassifier((8,), max_iter=300, learning_rate_init=0.02, random_state=0,
                        tol=1e-2).fit(X, y)
    fig = plot_decision_boundary(clf, X, y, tmp_path / "three.png", resolution=50)
    _written(tmp_path / "three.png")
    assert len(fig.axes[0].get_images()) == 1
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot_decision_boundary(clf, np.zeros((5, 3)), np.zeros(5))


def test_layer_stats_records_per_epoch_and_layer(trained):
    _, _, _, history, stats = trained
    assert stats.epochs == history.epochs
    assert stats.layers == ["layer 1 (ReLU)", "layer 2 (output)"]
    grad = stats.array("grad_norm")
    assert grad.shape == (12, 2) and np.all(grad > 0)
    dead, saturated = stats.array("dead"), stats.array("saturated")
    assert np.all((dead[:, 0] >= 0) & (dead[:, 0] <= 1)) and np.all(np.isnan(dead[:, 1]))
    assert np.all(np.isnan(saturated))
    with pytest.raises(KeyError, match="grad_norm"):
        stats.array("nope")


@pytest.mark.slow
def test_layer_stats_detects_dead_relus_and_saturated_sigmoids(tmp_path):
    X, y = _two_blobs()
    relu = mlp([2, 10, 2], activation="relu", seed=0)
    relu.layers[0].params["bias"][:4] = -100.0          # 4 of 10 units can never fire
    dead_stats = LayerStats()
    fit(relu, X, y, loss="cross_entropy", optimizer=SGD(relu, lr=0.01), epochs=3,
        batch_size=50, callbacks=[dead_stats])
    np.testing.assert_allclose(dead_stats.array("dead")[:, 0], 0.4)

    sig = mlp([2, 6, 2], activation="sigmoid", seed=0)
    sig.layers[0].params["weight"] *= 200.0             # huge pre-activations: σ at 0 or 1
    sat_stats = LayerStats()
    fit(sig, X, y, loss="cross_entropy", optimizer=SGD(sig, lr=0.01), epochs=3,
        batch_size=50, callbacks=[sat_stats])
    assert np.all(sat_stats.array("saturated")[:, 0] > 0.9)

    fig = plot_layer_stats(sat_stats, tmp_path / "stats.png")
    _written(tmp_path / "stats.png")
    grad_ax, dead_ax, sat_ax = fig.axes
    assert grad_ax.get_yscale() == "log" and len(grad_ax.get_lines()) == 2
    assert len(dead_ax.get_lines()) == 0 and dead_ax.texts[0].get_text() == "no ReLU layers"
    assert len(sat_ax.get_lines()) == 1 and sat_ax.get_lines()[0].get_label() == \
        "layer 1 (Sigmoid)"
    with pytest.raises(ValueError, match="no epochs"):
        plot_layer_stats(LayerStats())


@pytest.mark.slow
def test_weight_histograms(trained, tmp_path):
    model = trained[0]
    fig = plot_weight_histograms(model, tmp_path / "weights.png")
    _written(tmp_path / "weights.png")
    assert [ax.get_title() for ax in fig.axes] == ["layer 1: W (8×2)", "layer 2: W (2×8)"]
    counts = sum(patch.get_height() for patch in fig.axes[0].patches)
    assert counts == 16                                  # every weight in one bin
    with pytest.raises(TypeError, match="Sequential"):
        plot_weight_histograms(object())


@pytest.mark.slow
def test_confusion_matrix(tmp_path):
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 0, 1, 1, 1, 2, 2, 0, 2])
    fig = plot_confusion_matrix(y_true, y_pred, tmp_path / "cm.png", labels=["a", "b", "c"])
    _written(tmp_path / "cm.png", min_bytes=3_000)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    np.testing.assert_array_equal(ax.get_images()[0].get_array(),
                                  [[2, 1, 0], [0, 2, 0], [1, 0, 3]])
    assert [t.get_text() for t in ax.texts] == ["2", "1", "0", "0", "2", "0", "1", "0", "3"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    normalised = plot_confusion_matrix(y_true, y_pred, normalize=True)
    assert normalised.axes[0].texts[0].get_text() == "0.67"


def test_plots_without_matplotlib_say_which_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"deltaprop\[plot\]"):
        plot_confusion_matrix([0, 1], [0, 1])


@pytest.mark.slow
def test_make_images_script_writes_small_pngs(tmp_path):
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "docs" / "make_images.py"
    runpy.run_path(str(script))["main"](tmp_path)
    for name in ("curves.png", "decision_boundary.png"):
        _written(tmp_path / name)
        assert (tmp_path / name).stat().st_size < 100_000
