"""The runnable examples in ``examples/``: each one learns, and the
claims their comments make (equal weights, the fused output delta, the hand-worked numbers)
hold."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str):
    """Import ``examples/<name>.py`` as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"deltaprop_example_{name}",
                                                  EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- Haykin's error-correction rule with momentum ---------------------------------------------
def test_error_correction_haykin_loop_gives_the_same_weights_as_sgd_momentum():
    results = load("error_correction_momentum").main(steps=300)
    haykin, engine = results["haykin_weights"], results["engine_weights"]
    assert haykin.keys() == engine.keys()
    for key in haykin:
        assert haykin[key].dtype == np.float64
        np.testing.assert_allclose(haykin[key], engine[key], rtol=0, atol=1e-10, err_msg=key)
    np.testing.assert_allclose(results["haykin_losses"], results["engine_losses"],
                               rtol=1e-10, atol=0)
    assert results["loss_end"] < 0.1 * results["loss_start"]


def test_error_correction_momentum_matters():
    # the comparison is not vacuous: without momentum in the engine the weights differ
    module = load("error_correction_momentum")
    X, d = module.make_data()
    haykin = dp.mlp([2, 8, 1], activation="tanh", output="sigmoid", seed=0, dtype=np.float64)
    engine = haykin.copy()
    optimizer = dp.SGD(engine, lr=0.5)                     # momentum 0 on purpose
    previous: dict = {}
    for _ in range(20):
        module.haykin_step(haykin, X, d, previous, eta=0.5, alpha=0.9)
        module.engine_step(engine, optimizer, X, d)
    difference = max(np.max(np.abs(haykin.state_dict()[k] - engine.state_dict()[k]))
                     for k in haykin.state_dict())
    assert difference > 1e-3


# -- softmax + cross-entropy without biases ----------------------------------------------------
def test_softmax_no_bias_output_delta_is_softmax_minus_onehot_over_n_and_it_learns():
    results = load("softmax_no_bias").main()
    assert results["delta_max_error"] < 1e-12
    assert results["has_bias"] is False
    assert results["losses"][-1] < 0.25 * results["losses"][0]
    assert results["test_accuracy"] >= 0.9


# -- the MLP builder on three tasks ------------------------------------------------------------
@pytest.mark.slow
def test_mlp_builder_regression_binary_multiclass():
    pytest.importorskip("sklearn")
    results = load("mlp_builder").main()
    assert results["glorot_bound_holds"]
    assert results["regression"]["r2"] >= 0.95
    assert results["binary"]["accuracy"] >= 0.93
    assert results["multiclass"]["accuracy"] >= 0.9


# -- quadrants, full batch and mini-batch ------------------------------------------------------
@pytest.mark.slow
def test_quadrants_full_batch_and_mini_batch_reach_the_target():
    results = load("quadrants").main(plot_path=None)
    assert results["plot_written"] is False
    for name in ("full_batch", "mini_batch"):
        run = results[name]
        assert run["loss_end"] < 0.5 * run["loss_start"], name
        assert run["test_accuracy"] >= results["target_accuracy"], name


@pytest.mark.slow
def test_quadrants_writes_the_plot(tmp_path):
    pytest.importorskip("matplotlib")
    module = load("quadrants")
    X, y = module.make_quadrants(100, seed=0)
    models = {"untrained": module.build_model(0)}
    path = tmp_path / "quadrants.png"
    module.plot(path, X, y, models)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_quadrants_main_passes_plot_path_through(tmp_path, monkeypatch):
    module = load("quadrants")
    written = []
    monkeypatch.setattr(module, "plot", lambda path, X, y, models: written.append(
        (path, sorted(models))))
    monkeypatch.setattr(module, "train", lambda batch_size, lr, epochs, X, y, seed: (
        module.build_model(seed), {"loss": [1.0], "accuracy": [0.5]}))
    results = module.main(plot_path=tmp_path / "p.png")
    assert results["plot_written"] is True
    assert len(written) == 1 and written[0][0] == tmp_path / "p.png"
    assert len(written[0][1]) == 2                         # full batch and mini-batch

    def no_matplotlib(*args):
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(module, "plot", no_matplotlib)
    assert module.main(plot_path=tmp_path / "q.png")["plot_written"] is False


# -- the 2-2-1 network, one step by hand -------------------------------------------------------
def test_two_two_one_engine_matches_the_hand_worked_step():
    module = load("two_two_one")
    recorded = module.worked_step()
    assert set(module.HAND) <= set(recorded)
    for key, hand in module.HAND.items():
        # the comments round to 6 decimals: at most 5e-7 away from the exact value
        np.testing.assert_allclose(recorded[key], np.asarray(hand, dtype=np.float64),
                                   rtol=0, atol=5.01e-7, err_msg=key)


def test_two_two_one_hand_numbers_are_not_trivially_satisfied():
    # a different learning rate moves the updated weights away from the hand values
    module = load("two_two_one")
    recorded = module.worked_step(lr=0.1)
    assert np.max(np.abs(recorded["W1_new"] - np.asarray(module.HAND["W1_new"]))) > 1e-2


def test_two_two_one_trains_on_the_blobs():
    results = load("two_two_one").main()
    assert results["loss_end"] < 0.2 * results["loss_start"]
    assert results["test_accuracy"] >= 0.9


# -- the scripts run as scripts ----------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["error_correction_momentum", "two_two_one"])
def test_example_runs_as_a_script(name):
    completed = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py")],
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "loss" in completed.stdout
