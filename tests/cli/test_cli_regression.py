"""Regression from the command line: the target is standardised in training, and every
number the user sees (test scores, predict, evaluate) is in the target's own units."""

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import datasets
from deltaprop.cli import main

pytest.importorskip("safetensors")


def _far_target_csv(path, n=60, seed=0):
    """y = 500 + 300 (x1 - x2) + noise: far from mean 0 and spread 1."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = 500 + 300 * (X[:, 0] - X[:, 1]) + rng.normal(scale=5, size=n)
    path.write_text("x1,x2,price\n" + "".join(f"{a:.6f},{b:.6f},{c:.6f}\n"
                                                for (a, b), c in zip(X, y)))
    return path, X, y


@pytest.fixture
def trained(tmp_path, capsys):
    data, _, _ = _far_target_csv(tmp_path / "prices.csv")
    X, y = datasets.load(str(data))                 # the numbers as written
    out = tmp_path / "run"
    assert main(["train", str(data), "--layers", "8", "--epochs", "3", "--dtype", "float64",
                 "--out", str(out), "--quiet"]) == 0
    summary = capsys.readouterr().out
    return out / "model.safetensors", data, X, y, summary


def test_the_target_scaling_is_stored_and_fitted_on_the_training_part(trained):
    from deltaprop.training.preprocessing import train_test_split

    model, _, X, y, _ = trained
    bundle = dp.io.load_bundle(model)
    _, _, y_train, _ = train_test_split(X, y, test_size=0.2, seed=0)
    assert bundle.target_preprocessing.mean == pytest.approx([y_train.mean()], rel=1e-12)
    assert bundle.target_preprocessing.scale == pytest.approx([y_train.std()], rel=1e-12)
    assert bundle.metadata["target_column"] == "price"


def test_predict_and_evaluate_answer_in_the_target_s_units(trained, capsys):
    model, data, X, y, _ = trained
    bundle = dp.io.load_bundle(model)
    expected = bundle.predict(X)[:, 0]                 # scaled in, unscaled out
    assert abs(expected.mean() - 500) < 400            # the target's units, not ~N(0, 1)
    assert main(["predict", str(model), str(data)]) == 0
    lines = capsys.readouterr().out.split()
    assert lines[0] == "price"
    np.testing.assert_allclose(np.array(lines[1:], dtype=float), expected, rtol=1e-12)
    assert main(["evaluate", str(model), str(data)]) == 0
    mse = float(np.mean((expected - y) ** 2))
    assert f"mse {mse:.4f}" in capsys.readouterr().out


def test_the_test_scores_are_in_the_target_s_units(trained):
    model, _, _, _, summary = trained
    test = dp.io.load_bundle(model).metadata["test"]
    assert test["mse"] == test["loss"] and test["mse"] > 10    # unscaled: spread ~400
    assert f"mse {test['mse']:.4f}" in summary


def test_no_standardize_leaves_the_target_alone(tmp_path, capsys):
    data, _, _ = _far_target_csv(tmp_path / "prices.csv")
    out = tmp_path / "raw"
    assert main(["train", str(data), "--layers", "4", "--epochs", "1", "--lr", "1e-6",
                 "--no-standardize", "--out", str(out), "--quiet"]) == 0
    assert dp.io.load_bundle(out / "model.safetensors").target_preprocessing is None
