"""Metrics against scikit-learn on random data: accuracy, MSE, R², confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest

from deltaprop import accuracy, confusion_matrix, mse, r2
from deltaprop.training.metrics import labels_from_output

sklearn_metrics = pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accuracy_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, 4, size=50), rng.integers(0, 4, size=50)
    assert accuracy(y_true, y_pred) == pytest.approx(
        sklearn_metrics.accuracy_score(y_true, y_pred), abs=1e-15)


def test_accuracy_column_against_flat_labels():
    assert accuracy(np.array([[1], [0], [1], [1]]), np.array([1, 0, 0, 1])) == 0.75


@pytest.mark.parametrize("shape", [(40,), (40, 1), (40, 3)])
def test_mse_matches_sklearn(shape):
    rng = np.random.default_rng(3)
    y_true, y_pred = rng.normal(size=shape), rng.normal(size=shape)
    assert mse(y_true, y_pred) == pytest.approx(
        sklearn_metrics.mean_squared_error(y_true, y_pred), rel=1e-12)


@pytest.mark.parametrize("shape", [(40,), (40, 1), (40, 3)])
def test_r2_matches_sklearn(shape):
    rng = np.random.default_rng(4)
    y_true = rng.normal(size=shape)
    y_pred = y_true + 0.5 * rng.normal(size=shape)
    assert r2(y_true, y_pred) == pytest.approx(
        sklearn_metrics.r2_score(y_true, y_pred), rel=1e-12)


def test_r2_multi_output_is_the_uniform_average():
    rng = np.random.default_rng(5)
    y_true = rng.normal(size=(30, 2)) * np.array([1.0, 10.0])
    y_pred = y_true + rng.normal(size=(30, 2))
    per_output = sklearn_metrics.r2_score(y_true, y_pred, multioutput="raw_values")
    assert r2(y_true, y_pred) == pytest.approx(per_output.mean(), rel=1e-12)
    assert per_output[0] != pytest.approx(per_output[1])          # the average means something


def test_r2_constant_target_as_sklearn():
    y_true = np.full((10, 2), 3.0)
    exact, off = y_true.copy(), y_true + np.linspace(-1, 1, 10)[:, None]
    assert r2(y_true, exact) == sklearn_metrics.r2_score(y_true, exact) == 1.0
    assert r2(y_true, off) == sklearn_metrics.r2_score(y_true, off) == 0.0
    mixed_true = np.column_stack([np.full(10, 3.0), np.arange(10.0)])
    mixed_pred = np.column_stack([np.full(10, 2.0), np.arange(10.0) + 0.5])
    assert r2(mixed_true, mixed_pred) == pytest.approx(
        sklearn_metrics.r2_score(mixed_true, mixed_pred), rel=1e-12)


def test_r2_of_perfect_and_mean_predictions():
    y = np.arange(8.0)
    assert r2(y, y) == 1.0
    assert r2(y, np.full(8, y.mean())) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("seed", [0, 1])
def test_confusion_matrix_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, 5, size=100), rng.integers(0, 5, size=100)
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred),
                                  sklearn_metrics.confusion_matrix(y_true, y_pred))


def test_confusion_matrix_with_n_classes_keeps_absent_classes():
    y_true, y_pred = np.array([0, 1, 1]), np.array([0, 1, 0])
    got = confusion_matrix(y_true, y_pred, n_classes=4)
    np.testing.assert_array_equal(
        got, sklearn_metrics.confusion_matrix(y_true, y_pred, labels=[0, 1, 2, 3]))
    assert got.shape == (4, 4) and got.sum() == 3


@pytest.mark.parametrize("metric", [accuracy, mse, r2, confusion_matrix])
def test_length_mismatch_raises(metric):
    with pytest.raises(ValueError, match="same length, got 3 and 4"):
        metric(np.zeros(3), np.zeros(4))


def test_labels_from_output():
    scores = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    np.testing.assert_array_equal(labels_from_output(scores, "softmax"), [1, 0, 2])
    logits = np.array([[-0.1], [0.2], [0.0], [3.0]])
    np.testing.assert_array_equal(labels_from_output(logits, "sigmoid"), [0, 1, 0, 1])
    probabilities = np.array([[0.4], [0.6], [0.2], [0.51]])
    np.testing.assert_array_equal(labels_from_output(probabilities, None), [0, 1, 0, 1])
    # the same numbers read as logits: every positive one is class 1
    np.testing.assert_array_equal(labels_from_output(probabilities, "sigmoid"), [1, 1, 1, 1])
    assert labels_from_output(logits, "sigmoid").dtype == np.int64
