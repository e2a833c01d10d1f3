"""Bad input for ``fit`` / ``evaluate`` / ``predict``: clear errors naming argument, rule, value."""

from __future__ import annotations

import re

import numpy as np
import pytest

from deltaprop import SGD, evaluate, fit, mlp, predict, predict_classes
from deltaprop.nn.activations import ACTIVATIONS
from deltaprop.nn.init import INITIALIZERS
from deltaprop.nn.losses import LOSSES
from deltaprop.nn.optim import OPTIMIZERS


def _model(n_in: int = 2, n_out: int = 3):
    return mlp([n_in, 4, n_out], seed=0)


def _data(n: int = 10):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 2)), rng.integers(0, 3, size=n)


def _fit(X=None, y=None, model=None, **kwargs):
    default_X, default_y = _data()
    model = model or _model()
    settings = {"loss": "cross_entropy", "optimizer": SGD(model, lr=0.1), "epochs": 1}
    settings.update(kwargs)
    return fit(model, default_X if X is None else X, default_y if y is None else y, **settings)


# -- X ----------------------------------------------------------------------------------------
WIDTH_MESSAGE = re.escape("X has 3 features per row but the model's first layer "
                          "Dense(in_features=2, out_features=4) expects 2: got shape (10, 3), "
                          "expected (N, 2)")


def test_fit_rejects_wrong_input_width():
    with pytest.raises(ValueError, match=WIDTH_MESSAGE):
        _fit(X=np.zeros((10, 3)))


def test_evaluate_rejects_wrong_input_width():
    with pytest.raises(ValueError, match=WIDTH_MESSAGE):
        evaluate(_model(), np.zeros((10, 3)), np.zeros(10, dtype=int), loss="cross_entropy")


def test_predict_rejects_wrong_input_width():
    with pytest.raises(ValueError, match=WIDTH_MESSAGE):
        predict(_model(), np.zeros((10, 3)))


def test_validation_data_width_is_checked_and_named():
    model = _model()
    with pytest.raises(ValueError, match=r"validation_data has 5 features .* got shape \(4, 5\)"):
        _fit(model=model, optimizer=SGD(model, lr=0.1),
             validation_data=(np.zeros((4, 5)), np.zeros(4, dtype=int)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_fit_rejects_non_finite_X(bad):
    X, _ = _data()
    X[7, 1] = bad
    with pytest.raises(ValueError, match=rf"X must be finite, found {bad} at index \(7, 1\)"):
        _fit(X=X)


def test_predict_and_evaluate_reject_non_finite_X():
    X, y = _data()
    X[2, 0] = np.nan
    with pytest.raises(ValueError, match="X must be finite"):
        predict(_model(), X)
    with pytest.raises(ValueError, match="X must be finite"):
        evaluate(_model(), X, y, loss="cross_entropy")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_fit_rejects_non_finite_y(bad):
    X, _ = _data()
    y = np.zeros((10, 3))
    y[4, 2] = bad
    with pytest.raises(ValueError, match=rf"y must be finite, found {bad} at index \(4, 2\)"):
        _fit(X=X, y=y, loss="mse")


def test_fit_rejects_1d_X():
    with pytest.raises(ValueError, match=r"X must be 2-D \(N, features\), got shape \(10,\)"):
        _fit(X=np.zeros(10))


def test_predict_rejects_3d_X():
    with pytest.raises(ValueError, match=r"X must be 2-D .* got shape \(2, 5, 2\)"):
        predict(_model(), np.zeros((2, 5, 2)))


def test_fit_rejects_empty_X():
    with pytest.raises(ValueError, match=r"X is empty \(0 rows\)"):
        _fit(X=np.zeros((0, 2)), y=np.zeros(0, dtype=int))


def test_fit_rejects_non_numeric_and_missing_X():
    with pytest.raises(TypeError, match="X must hold numbers, got dtype <U1"):
        _fit(X=np.array([["a", "b"]] * 10))
    with pytest.raises(TypeError, match="X must be an array, got None"):
        fit(_model(), None, np.zeros(10, dtype=int), loss="cross_entropy", optimizer="sgd",
            epochs=1)


# -- y ----------------------------------------------------------------------------------------
def test_fit_rejects_X_and_y_of_different_lengths():
    with pytest.raises(ValueError, match="X and y must have the same number of rows, got 10 "
                                         "and 9"):
        _fit(y=np.zeros(9, dtype=int))


def test_evaluate_rejects_X_and_y_of_different_lengths():
    X, _ = _data()
    with pytest.raises(ValueError, match="same number of rows, got 10 and 11"):
        evaluate(_model(), X, np.zeros(11, dtype=int), loss="cross_entropy")


@pytest.mark.parametrize(("labels", "shown"), [([0, 1, 3], "from 0 to 3"),
                                               ([-1, 0, 2], "from -1 to 2")])
def test_cross_entropy_rejects_labels_out_of_range(labels, shown):
    y = np.resize(np.array(labels), 10)
    with pytest.raises(ValueError, match=rf"labels must lie in \[0, 3\) .* 3 outputs, got "
                                         rf"values {shown}"):
        _fit(y=y)


def test_cross_entropy_rejects_float_labels():
    with pytest.raises(TypeError, match=r"integer class labels .* got dtype float64"):
        _fit(y=np.zeros(10))


def test_cross_entropy_rejects_negative_probabilities():
    y = np.full((10, 3), 1 / 3)
    y[0] = [1.5, -0.5, 0.0]
    with pytest.raises(ValueError, match="probability targets must be >= 0"):
        _fit(y=y)


def test_bce_rejects_targets_outside_0_1():
    model = _model(n_out=1)
    with pytest.raises(ValueError, match=r"BCEWithLogitsLoss expects targets in \[0, 1\], got "
                                         r"values from 0\.0 to 2\.0"):
        _fit(model=model, optimizer=SGD(model, lr=0.1), loss="bce_with_logits",
             y=np.resize([0.0, 1.0, 2.0], 10))


def test_y_width_must_match_the_outputs():
    with pytest.raises(ValueError, match=r"MSELoss expected y of shape \(N, 3\) .* got \(10, 2\)"):
        _fit(y=np.zeros((10, 2)), loss="mse")


# -- hyperparameters --------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0, -1, 2.5, True, "8"])
def test_fit_rejects_bad_batch_size(value):
    with pytest.raises(ValueError, match=rf"batch_size must be an integer >= 1, got "
                                         rf"{re.escape(repr(value))}"):
        _fit(batch_size=value)


@pytest.mark.parametrize("value", [0, -3, 1.0, None])
def test_fit_rejects_bad_epochs(value):
    with pytest.raises(ValueError, match=rf"epochs must be an integer >= 1, got {value!r}"):
        _fit(epochs=value)


@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5, True, "0.2"])
def test_fit_rejects_validation_split_outside_0_1(value):
    with pytest.raises(ValueError, match=rf"fit validation_split must be a finite number in "
                                         rf"\[0, 1\), got {re.escape(repr(value))}"):
        _fit(validation_split=value)


def test_validation_split_that_leaves_no_training_rows():
    with pytest.raises(ValueError, match=r"validation_split=0\.99 leaves no training rows "
                                         r"out of 10"):
        _fit(validation_split=0.99)


def test_fit_rejects_validation_data_and_split_together():
    X, y = _data()
    with pytest.raises(ValueError, match="validation_data or validation_split, not both"):
        _fit(validation_data=(X, y), validation_split=0.2)


def test_fit_rejects_validation_data_that_is_not_a_pair():
    X, y = _data()
    with pytest.raises(ValueError, match=r"validation_data must be a pair \(X_val, y_val\)"):
        _fit(validation_data=(X, y, y))


def test_fit_rejects_unknown_metric():
    with pytest.raises(ValueError, match="metric must be 'auto', 'accuracy', 'r2' or None, got "
                                         "'f1'"):
        _fit(metric="f1")


# -- names ------------------------------------------------------------------------------------
def _assert_lists(message: str, valid) -> None:
    for name in valid:
        assert name in message, name


def test_unknown_loss_lists_valid_names():
    with pytest.raises(ValueError, match="unknown loss 'hinge'; valid names:") as info:
        _fit(loss="hinge")
    _assert_lists(str(info.value), LOSSES)


def test_unknown_optimizer_lists_valid_names():
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'; valid names:") as info:
        _fit(optimizer="lbfgs")
    _assert_lists(str(info.value), OPTIMIZERS)


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="unknown activation 'swish'; valid names:") as info:
        mlp([2, 4, 1], activation="swish")
    _assert_lists(str(info.value), ACTIVATIONS)


def test_unknown_output_activation_lists_valid_names():
    with pytest.raises(ValueError, match="unknown activation 'probit'") as info:
        mlp([2, 4, 1], output="probit")
    _assert_lists(str(info.value), ACTIVATIONS)


def test_unknown_init_lists_valid_names():
    with pytest.raises(ValueError, match="unknown init 'lecun'; valid names:") as info:
        mlp([2, 4, 1], init="lecun")
    _assert_lists(str(info.value), INITIALIZERS)


def test_unknown_loss_in_predict_classes_and_evaluate():
    X, y = _data()
    with pytest.raises(ValueError, match="unknown loss 'l1'"):
        predict_classes(_model(), X, loss="l1")
    with pytest.raises(ValueError, match="unknown loss 'l1'"):
        evaluate(_model(), X, y, loss="l1")


def test_fit_rejects_an_optimizer_built_on_another_model():
    model, other = _model(), _model()
    with pytest.raises(ValueError, match="optimizer must be built on the model being trained"):
        _fit(model=model, optimizer=SGD(other, lr=0.1))


# -- sample weights ---------------------------------------------------------------------------
@pytest.mark.parametrize(("weights", "shape"), [(np.ones(9), "(9,)"), (np.ones((10, 1)),
                                                                       "(10, 1)")])
def test_fit_rejects_sample_weight_of_the_wrong_shape(weights, shape):
    with pytest.raises(ValueError, match=rf"sample_weight must be 10 finite numbers >= 0 \(one "
                                         rf"per row\), got shape {re.escape(shape)}"):
        _fit(sample_weight=weights)


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_fit_rejects_negative_or_non_finite_sample_weight(bad):
    weights = np.ones(10)
    weights[3] = bad
    with pytest.raises(ValueError, match="sample_weight must be 10 finite numbers >= 0"):
        _fit(sample_weight=weights)


def test_fit_rejects_all_zero_sample_weight():
    with pytest.raises(ValueError, match="sample_weight must not be all zero"):
        _fit(sample_weight=np.zeros(10))


def test_errors_leave_the_model_untouched():
    model = _model()
    before = model.state_dict()
    with pytest.raises(ValueError):
        _fit(model=model, optimizer=SGD(model, lr=0.1), y=np.full(10, 5))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
