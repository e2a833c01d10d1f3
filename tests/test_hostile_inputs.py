"""Inputs an outside checker tries: every one either works as PyTorch / scikit-learn would or
gets a clear error naming the argument, the rule and what was received (never a NumPy warning,
a bare traceback from NumPy or silent garbage)."""

from __future__ import annotations

import numpy as np
import pytest

from deltaprop import (
    SGD,
    Adam,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    EarlyStopping,
    MSELoss,
    StepLR,
    fit,
    mlp,
)
from deltaprop.nn.schedules import CosineAnnealingLR, ReduceLROnPlateau

LOSSES = [CrossEntropyLoss(), BCELoss(), BCEWithLogitsLoss(), MSELoss()]


def _logits(n: int = 4, k: int = 3) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, k))


# -- losses called directly ---------------------------------------------------------------
@pytest.mark.parametrize("loss", LOSSES, ids=repr)
@pytest.mark.parametrize("shape", [(0, 3), (4, 0)], ids=["no_rows", "no_columns"])
def test_a_loss_refuses_an_empty_output(loss, shape):
    output = np.zeros(shape)
    target = np.zeros(shape[0], np.int64) if isinstance(loss, CrossEntropyLoss) \
        else np.zeros(shape)
    with pytest.raises(ValueError, match=rf"{type(loss).__name__} .*N >= 1 and k >= 1.*"
                                         rf"\({shape[0]}, {shape[1]}\)"):
        loss(output, target)


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
@pytest.mark.parametrize("dtype", [np.int64, np.complex128, object])
def test_a_loss_refuses_an_output_that_is_not_real_floating(loss, dtype):
    output = (_logits() > 0).astype(dtype)
    target = np.array([1, 0, 2, 1]) if isinstance(loss, CrossEntropyLoss) \
        else np.ones((4, 3)) / 2
    with pytest.raises(TypeError, match=rf"{type(loss).__name__} output must hold real "
                                        rf"floating.*got dtype {np.dtype(dtype)}"):
        loss(output, target)


def test_a_loss_takes_list_targets_and_weights_but_names_a_list_output():
    output, labels, weights = _logits(), [1, 0, 2, 1], [1.0, 0.0, 2.0, 1.0]
    expected = CrossEntropyLoss()(output, np.array(labels), np.array(weights))
    received = CrossEntropyLoss()(output, labels, weights)
    np.testing.assert_array_equal(received[0], expected[0])
    np.testing.assert_array_equal(received[1], expected[1])
    with pytest.raises(TypeError, match=r"CrossEntropyLoss output must be an array .*got list"):
        CrossEntropyLoss()(output.tolist(), labels)
    with pytest.raises(TypeError, match="MSELoss target must be an array, got None"):
        MSELoss()(output, None)


def test_infinite_logits_give_pytorchs_values_without_numpy_warnings():
    torch = pytest.importorskip("torch")
    output = _logits()
    output[0, 0], output[1, 2] = np.inf, -np.inf
    labels = np.array([1, 0, 2, 1])
    value, grad = CrossEntropyLoss()(output, labels)       # filterwarnings=error: no warning
    logits = torch.tensor(output, requires_grad=True)
    reference = torch.nn.functional.cross_entropy(logits, torch.tensor(labels))
    reference.backward()
    np.testing.assert_allclose(value, reference.item(), rtol=1e-12)    # both NaN here
    np.testing.assert_allclose(grad, logits.grad.numpy(), rtol=1e-12, atol=1e-15)
    huge = np.full((2, 2), 1e200)
    assert float(MSELoss()(huge, np.zeros((2, 2)))[0]) == np.inf   # overflow: inf, no warning


# -- NumPy scalars where Python numbers are accepted ----------------------------------------
def test_numpy_integers_and_floats_are_accepted_where_python_numbers_are():
    model = mlp([2, 3, 2], seed=0)
    optimizer = SGD(model, lr=np.int64(1), momentum=np.float32(0.5))
    assert type(optimizer.lr) is float and optimizer.lr == 1.0
    stopper = EarlyStopping(patience=np.int64(2), min_delta=np.int32(0))
    assert type(stopper.patience) is int and stopper.patience == 2
    assert type(StepLR(optimizer, step_size=np.int64(3)).step_size) is int
    assert type(CosineAnnealingLR(optimizer, T_max=np.uint8(4)).T_max) is int
    plateau = ReduceLROnPlateau(optimizer, patience=np.int16(1), cooldown=np.int64(0))
    assert (type(plateau.patience), type(plateau.cooldown)) == (int, int)
    X = np.random.default_rng(0).normal(size=(8, 2))
    history = fit(model, X, np.arange(8) % 2, loss="cross_entropy", optimizer=optimizer,
                  epochs=1, validation_split=np.float32(0.25), seed=0)
    assert "val_loss" in history.history


@pytest.mark.parametrize("bad", [True, np.True_, 2.0, "2"])
def test_bools_and_non_integers_are_still_refused_as_counts(bad):
    with pytest.raises(ValueError, match=r"EarlyStopping patience must be an integer >= 1"):
        EarlyStopping(patience=bad)
    with pytest.raises(ValueError, match=r"Adam lr must be a finite number"):
        Adam(mlp([2, 2]), lr=bad if not isinstance(bad, float) else float("nan"))


def test_complex_sample_weights_are_refused_not_cast():
    model = mlp([2, 2], seed=0)
    X = np.zeros((4, 2))
    with pytest.raises(TypeError, match=r"sample_weight must be 4 numbers, got ndarray.*"
                                        r"complex128"):
        fit(model, X, np.arange(4) % 2, loss="cross_entropy", optimizer="sgd", epochs=1,
            sample_weight=np.ones(4, complex))


# -- the step guard with optimisers and models off the beaten path ---------------------------
class _Accumulating(SGD):
    """A custom step that writes into its state in place and keeps Python objects in it; its
    second step puts an infinity in every parameter."""

    def _change(self, state, param, grad):
        total = state.setdefault("total", np.zeros_like(param))
        total += grad                                    # in place, against the contract
        state["log"] = [*state.get("log", []), float(grad.sum())]
        state.setdefault("steps", []).append(len(state["log"]))   # a list mutated in place
        change = self.lr * total
        return None, change + np.inf if len(state["log"]) == 2 else change


def _snapshot(model, optimizer) -> bytes:
    import pickle

    return pickle.dumps((model.state_dict(), optimizer.state))


def test_a_custom_step_that_writes_its_state_in_place_is_undone_bit_for_bit():
    from deltaprop import Callback, TrainingDivergedError

    model = mlp([2, 3, 2], seed=0, dtype="float64")
    optimizer, before = _Accumulating(model, lr=0.1), {}

    class Snapshot(Callback):
        def on_epoch_begin(self, epoch):
            before["state"] = _snapshot(model, optimizer)

        def on_batch_end(self, batch, logs):
            before["state"] = _snapshot(model, optimizer)

    X = np.random.default_rng(0).normal(size=(8, 2))
    with pytest.raises(TrainingDivergedError, match="batch 2 of 2"):
        fit(model, X, np.arange(8) % 2, loss="cross_entropy", optimizer=optimizer, epochs=1,
            batch_size=4, shuffle=False, callbacks=[Snapshot()])
    assert _snapshot(model, optimizer) == before["state"]


def _tied(dtype="float64"):
    model = mlp([3, 3, 3], seed=0, dtype=dtype)
    first, second = model.dense_layers
    second.params["weight"] = first.params["weight"]     # one array in two layers
    return model


@pytest.mark.parametrize("make", [lambda m: SGD(m, lr=0.1, momentum=0.9),
                                  lambda m: Adam(m, lr=0.01)], ids=["sgd", "adam"])
def test_tied_weights_train_as_the_readme_loop_trains_them(make):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 3))
    model = _tied()
    fit(model, X, y, loss="mse", optimizer=make(model), epochs=2, batch_size=4,
        shuffle=False, metric=None)
    reference = _tied()
    optimizer = make(reference)
    for _ in range(2):
        for begin in range(0, 12, 4):
            _, grad = MSELoss()(reference.forward(X[begin:begin + 4]), y[begin:begin + 4])
            reference.backward(grad)
            optimizer.step()
    first, second = model.dense_layers
    assert first.params["weight"] is second.params["weight"]
    for ours, theirs in zip(model.state_dict().values(), reference.state_dict().values()):
        np.testing.assert_array_equal(ours, theirs)


# -- the scikit-learn estimators ------------------------------------------------------------
def test_a_partial_fit_that_diverges_keeps_the_estimator_as_it_was():
    pytest.importorskip("sklearn")
    from deltaprop.sklearn import MLPRegressor

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.normal(size=30)
    estimator = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0,
                             learning_rate_init=0.01, random_state=0)
    estimator.partial_fit(X, y).partial_fit(X, y)
    before = (estimator.predict(X), estimator.n_iter_, list(estimator.loss_curve_),
              estimator._optimizer.state_dict())
    estimator.set_params(learning_rate_init=1e300)
    estimator._optimizer.lr = 1e300                      # as a new setting would reach it
    estimator.set_params(batch_size=1)                   # 30 steps: the weights overflow
    with pytest.raises(ValueError, match=r"diverged .* left as it was before this "
                                         r"partial_fit call \(epoch 2\)"):
        estimator.partial_fit(X * 1e3, y * 1e3)
    np.testing.assert_array_equal(estimator.predict(X), before[0])
    assert (estimator.n_iter_, estimator.loss_curve_) == (before[1], before[2])
    estimator._optimizer.lr = 0.01
    assert estimator._optimizer.state_dict() == {**before[3], "lr": 0.01}


def test_regression_targets_beyond_float32_are_named_not_cast_to_inf():
    pytest.importorskip("sklearn")
    from deltaprop.sklearn import MLPRegressor

    X, y = np.zeros((5, 2)), np.array([0.0, 1.0, 1e300, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"MLPRegressor: y holds 1e\+300 \(flat index 2\), "
                                         r"beyond the range of the network's float32"):
        MLPRegressor(dtype="float32", max_iter=1).fit(X, y)


# -- schedules ------------------------------------------------------------------------------
def test_a_schedule_that_would_overflow_the_learning_rate_is_refused():
    from deltaprop.nn.schedules import ExponentialLR

    optimizer = SGD(mlp([2, 2]), lr=0.0)
    schedule = ExponentialLR(optimizer, gamma=1e300)
    schedule.step()                                      # 0 · 1e300: fine
    with pytest.raises(ValueError, match=r"ExponentialLR would set the learning rate to inf "
                                         r"at epoch 2 \(from lr=0\)"):
        schedule.step()                                  # 0 · 1e600: OverflowError in Python
    assert (optimizer.lr, schedule.last_epoch) == (0.0, 1)
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau.step needs the monitored metric "
                                        r"as a number, got str 'abc'"):
        ReduceLROnPlateau(optimizer).step("abc")


# -- data beyond the model's dtype ----------------------------------------------------------
def test_data_beyond_a_float32_models_range_is_named_not_turned_into_inf():
    from deltaprop import predict

    model = mlp([3, 1], seed=0)                         # float32
    X, y = np.ones((6, 3)), np.ones(6)
    X[4, 2] = -1e300
    with pytest.raises(ValueError, match=r"^X holds -1e\+300 at index \(4, 2\), beyond the "
                                         r"range of the model's float32"):
        fit(model, X, y, loss="mse", optimizer="sgd", epochs=1)
    with pytest.raises(ValueError, match=r"^X holds -1e\+300 at index \(4, 2\)"):
        predict(model, X)
    with pytest.raises(ValueError, match=r"^y holds 1e\+300 .* model's float32"):
        fit(model, np.ones((6, 3)), np.full(6, 1e300), loss="mse", optimizer="sgd", epochs=1)
    assert predict(mlp([3, 1], seed=0, dtype="float64"), X).shape == (6, 1)   # it fits there


def test_float64_probabilities_from_float32_pass_for_a_float32_model_as_in_its_loss():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20, 4)).astype(np.float32)
    targets = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float64)
    assert np.abs(targets.sum(axis=1) - 1).max() > 1.5e-8  # beyond float64's tolerance
    X = rng.normal(size=(20, 3))
    model = mlp([3, 4], seed=0)                         # float32, as the loss sees the targets
    CrossEntropyLoss()(model.forward(X), targets)
    fit(model, X, targets, loss="cross_entropy", optimizer="sgd", epochs=1)
    with pytest.raises(ValueError, match=r"sum to 1 in every row .*renormalise"):
        fit(mlp([3, 4], seed=0, dtype="float64"), X, targets, loss="cross_entropy",
            optimizer="sgd", epochs=1)


def test_the_estimators_name_features_beyond_their_float32_network():
    pytest.importorskip("sklearn")
    from deltaprop.sklearn import MLPClassifier

    X, y = np.ones((6, 2)), np.array([0, 1] * 3)
    X[3, 1] = 1e200
    estimator = MLPClassifier(hidden_layer_sizes=(3,), dtype="float32", max_iter=1)
    with pytest.raises(ValueError, match=r"^X holds 1e\+200 at index \(3, 1\), beyond the "
                                         r"range of the model's float32.*train in float64"):
        estimator.fit(X, y)
    assert not hasattr(estimator, "model_")


@pytest.mark.parametrize("lr", [float("nan"), -0.1, "0.1"])
def test_a_learning_rate_a_callback_breaks_is_refused_before_the_next_step(lr):
    from deltaprop import Callback

    class Breaker(Callback):
        def on_batch_end(self, batch, logs):
            self.optimizer.lr = lr

    model = mlp([2, 3, 2], seed=0)
    X = np.random.default_rng(0).normal(size=(8, 2))
    after_one_step = {}

    class Snapshot(Callback):
        def on_batch_end(self, batch, logs):
            after_one_step.update(model.state_dict())

    with pytest.raises(ValueError, match=r"SGD lr is .* at epoch 1, batch 2: a learning rate "
                                         r"must be a finite number >= 0"):
        fit(model, X, np.arange(8) % 2, loss="cross_entropy", optimizer=SGD(model, lr=0.1),
            epochs=1, batch_size=4, shuffle=False, callbacks=[Snapshot(), Breaker()])
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, after_one_step[name])


# -- metrics --------------------------------------------------------------------------------
@pytest.mark.parametrize("y_true, y_pred, error, match", [
    ([0, -1], [0, 1], ValueError, r"y_true must hold integer labels >= 0, got -1 at index 1"),
    ([0.5, 1.0], [0, 1], ValueError, r"y_true must hold integer labels >= 0, got 0.5 at"),
    ([0, np.inf], [0, 1], ValueError, r"y_true must hold integer labels >= 0, got inf at"),
    ([0, 1], [0, 3], ValueError, r"y_pred must hold integer labels in \[0, 2\), got 3 at"),
    (["a"], ["b"], TypeError, r"y_true must hold real numbers, got dtype <U1"),
    (1, 1, ValueError, r"y_true must be an array with one entry per sample, got the scalar"),
], ids=["negative", "fraction", "inf", "beyond_n_classes", "strings", "scalar"])
def test_confusion_matrix_refuses_what_is_not_a_label(y_true, y_pred, error, match):
    from deltaprop.training.metrics import confusion_matrix

    with pytest.raises(error, match=rf"^confusion_matrix: {match}"):
        confusion_matrix(y_true, y_pred, n_classes=2 if "in \\[0, 2" in match else None)


def test_confusion_matrix_counts_small_unsigned_labels():
    from deltaprop.training.metrics import confusion_matrix

    got = confusion_matrix(np.array([2, 0], np.uint8), np.array([2, 1], np.uint8))
    np.testing.assert_array_equal(got, [[0, 1, 0], [0, 0, 0], [0, 0, 1]])


@pytest.mark.parametrize("name", ["mse", "r2"])
def test_regression_metrics_name_empty_mismatched_and_non_numeric_inputs(name):
    from deltaprop.training import metrics

    metric = getattr(metrics, name)
    with pytest.raises(ValueError, match=rf"^{name}: y_true and y_pred hold no sample"):
        metric([], [])
    with pytest.raises(ValueError, match=rf"^{name}: .* as many values per sample, got shapes "
                                         r"\(4,\) and \(4, 2\)"):
        metric(np.zeros(4), np.zeros((4, 2)))
    with pytest.raises(TypeError, match=rf"^{name}: y_pred must hold real numbers"):
        metric([1.0], ["a"])


def test_an_early_stopping_with_the_default_monitor_can_be_reused_without_validation():
    X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    stopper, model = EarlyStopping(patience=2), mlp([2, 2], seed=0)
    fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=1, validation_split=0.25,
        early_stopping=stopper, seed=0)
    assert stopper.monitor == "val_loss"
    fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=1, early_stopping=stopper)
    assert stopper.monitor == "loss"
    chosen = EarlyStopping(patience=2, monitor="val_loss")   # a monitor asked for stays checked
    with pytest.raises(KeyError, match="monitor='val_loss' is not a key fit logs"):
        fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=1, early_stopping=chosen)


def test_a_loss_names_a_target_or_weights_of_another_library_than_its_output():
    xp = pytest.importorskip("array_api_strict")
    output = xp.asarray(_logits())
    labels = xp.asarray(np.array([1, 0, 2, 1]))
    CrossEntropyLoss()(output, labels, xp.ones(4, dtype=xp.float64))
    with pytest.raises(TypeError, match=r"^CrossEntropyLoss target is a numpy array but output "
                                        r"is a array_api_strict one"):
        CrossEntropyLoss()(output, np.array([1, 0, 2, 1]))
    with pytest.raises(TypeError, match=r"^MSELoss sample_weight is a numpy array"):
        MSELoss()(output, output, np.ones(4))
    with pytest.raises(TypeError, match=r"^MSELoss target is a array_api_strict array but "
                                        r"output is a numpy one"):
        MSELoss()(_logits(), output)


def test_a_callback_that_breaks_a_parameter_gets_its_own_error_back():
    from deltaprop import Callback

    class Vandal(Callback):
        def on_batch_end(self, batch, logs):
            self.model.dense_layers[0].params["weight"] = "not an array"
            raise RuntimeError("the callback's own error")

    model = mlp([2, 2], seed=0)
    with pytest.raises(RuntimeError, match="the callback's own error"):
        fit(model, np.zeros((4, 2)), np.arange(4) % 2, loss="cross_entropy", optimizer="sgd",
            epochs=1, callbacks=[Vandal()])
    assert not model.training


def test_flags_take_numpy_bools_and_refuse_truthy_values():
    model = mlp([2, 2])
    assert SGD(model, momentum=0.9, nesterov=np.True_).nesterov is True
    with pytest.raises(TypeError, match=r"^SGD nesterov must be True or False, got 'yes'"):
        SGD(model, momentum=0.9, nesterov="yes")
    assert EarlyStopping(restore_best_weights=np.False_).restore_best_weights is False
    assert Adam(model, betas=np.array([0.8, 0.9])).betas == (0.8, 0.9)


def test_a_model_without_a_dense_layer_is_named_by_fit_predict_and_evaluate():
    from deltaprop import ReLU, Sequential, evaluate, predict

    model, X, y = Sequential(ReLU()), np.ones((4, 2)), np.zeros((4, 2))
    match = r"^model must have at least one Dense layer .*got Sequential"
    with pytest.raises(ValueError, match=match):
        fit(model, X, y, loss="mse", optimizer="sgd", epochs=1)
    with pytest.raises(ValueError, match=match):
        predict(model, X)
    with pytest.raises(ValueError, match=match):
        evaluate(model, X, y, loss="mse")
    with pytest.raises(TypeError, match=r"^model must be a deltaprop model .*got dict"):
        predict({}, X)


def test_a_failed_refit_unfits_and_a_failed_partial_fit_changes_nothing():
    pytest.importorskip("sklearn")
    from sklearn.exceptions import ConvergenceWarning, NotFittedError

    from deltaprop.sklearn import MLPClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), np.arange(20) % 3
    estimator = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        estimator.fit(X, y)
    before = estimator.predict_proba(X)
    with pytest.raises(ValueError, match=r"y holds labels array\(\[7\]\) not in classes_"):
        estimator.partial_fit(X, np.r_[y[:-1], 7])
    np.testing.assert_array_equal(estimator.predict_proba(X), before)
    assert estimator.n_iter_ == 2
    with pytest.raises(ValueError, match="needs at least 2 classes"):
        estimator.fit(X, np.zeros(20, int))
    with pytest.raises(NotFittedError):
        estimator.predict(X)
    assert not hasattr(estimator, "classes_")


def _torch_cases():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(5, 3))
    labels = np.array([1, 0, 2, 1, 0])
    probabilities = 1 / (1 + np.exp(-logits))
    soft = rng.random((5, 3)).astype(np.float32)
    soft /= soft.sum(axis=1, keepdims=True)
    saturated = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.25]])
    return {  # name: (loss, output, target, weights or None, PyTorch's form)
        "labels_uint8": (CrossEntropyLoss(), logits, labels.astype(np.uint8), None, "ce"),
        "labels_float16": (CrossEntropyLoss(), logits.astype(np.float16), labels, None, "ce"),
        "one_hot_int": (CrossEntropyLoss(), logits, np.eye(3, dtype=int)[labels], None, "ce"),
        "one_hot_bool": (CrossEntropyLoss(), logits, np.eye(3, dtype=bool)[labels], None, "ce"),
        "float32_rows": (CrossEntropyLoss(), logits.astype(np.float32), soft, None, "ce"),
        "weights_int": (CrossEntropyLoss(), logits, labels, np.array([1, 0, 2, 1, 3]), "ce"),
        "bce_saturated": (BCELoss(), saturated, np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 0.5]]),
                          None, "bce"),                  # p = 1, y = 0: the floors act
        "bce_bool_target": (BCELoss(), probabilities, logits > 0, None, "bce"),
        "bce_weighted": (BCELoss(), probabilities, rng.random((5, 3)), rng.random(5), "bce"),
        "logits_huge": (BCEWithLogitsLoss(), logits * 1e30, logits > 0, None, "bcel"),
        "mse_weighted_zeros": (MSELoss(), logits, logits[::-1].copy(), np.r_[0, 0, 2, 1, 1.0],
                               "mse"),
    }


@pytest.mark.parametrize("case", list(_torch_cases()))
def test_accepted_edge_inputs_give_pytorchs_value_and_gradient(case):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    loss, output, target, weights, form = _torch_cases()[case]
    value, grad = loss(output, target, weights)
    z = torch.tensor(output, requires_grad=True)
    t = torch.tensor(np.asarray(target))
    per_element = {"ce": lambda: functional.cross_entropy(
                       z, t.long() if t.ndim == 1 else t.to(z.dtype), reduction="none"),
                   "bce": lambda: functional.binary_cross_entropy(z, t.to(z.dtype),
                                                                  reduction="none"),
                   "bcel": lambda: functional.binary_cross_entropy_with_logits(
                       z, t.to(z.dtype), reduction="none"),
                   "mse": lambda: (z - t) ** 2}[form]()
    w = torch.ones(output.shape[0], dtype=z.dtype) if weights is None \
        else torch.tensor(weights, dtype=z.dtype)
    w_rows = w if per_element.ndim == 1 else w[:, None]
    terms = 1 if per_element.ndim == 1 else per_element.shape[1]
    reference = (per_element * w_rows).sum() / (w.sum() * terms)
    reference.backward()
    tolerance = {np.float16: 1e-2, np.float32: 1e-5}.get(output.dtype.type, 1e-8)
    np.testing.assert_allclose(float(value), reference.item(), rtol=tolerance)
    np.testing.assert_allclose(grad.astype(np.float64), z.grad.numpy().astype(np.float64),
                               rtol=tolerance, atol=tolerance * 1e-2)


def test_a_column_of_labels_for_cross_entropy_says_to_ravel_it():
    X, y = np.zeros((6, 2)), (np.arange(6) % 3)[:, None]
    with pytest.raises(ValueError, match=r"got a column of shape \(6, 1\): pass y.ravel\(\)"):
        fit(mlp([2, 3], seed=0), X, y, loss="cross_entropy", optimizer="sgd", epochs=1)


def test_weights_a_callback_ties_during_fit_stay_tied_after_it():
    from deltaprop import Callback

    class Tie(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 1:
                first, second = self.model.dense_layers
                second.params["weight"] = first.params["weight"]

    rng = np.random.default_rng(0)
    model = _tied()
    first, second = model.dense_layers
    second.params["weight"] = second.params["weight"].copy()   # untied at the start
    fit(model, rng.normal(size=(8, 3)), rng.normal(size=(8, 3)), loss="mse", epochs=3,
        optimizer=Adam(model, lr=0.01), callbacks=[Tie()], metric=None)
    assert first.params["weight"] is second.params["weight"]


def test_reduce_on_plateau_never_raises_the_learning_rate_to_min_lr():
    torch = pytest.importorskip("torch")
    optimizer = SGD(mlp([2, 2]), lr=0.01)
    schedule = ReduceLROnPlateau(optimizer, patience=0, min_lr=0.1)
    parameter = torch.nn.Parameter(torch.zeros(1))
    reference = torch.optim.SGD([parameter], lr=0.01)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(reference, patience=0, min_lr=0.1)
    for metric in [1.0, 1.0, 1.0]:
        schedule.step(metric)
        plateau.step(metric)
        assert optimizer.lr == reference.param_groups[0]["lr"] == 0.01


def test_non_finite_weights_not_made_by_a_step_get_no_learning_rate_advice():
    from deltaprop import Callback, TrainingDivergedError

    X, y = np.random.default_rng(0).normal(size=(8, 2)), np.arange(8) % 2
    model = mlp([2, 3, 2], seed=0)
    model.dense_layers[1].params["bias"][0] = np.nan
    with pytest.raises(ValueError, match=r"^model parameter '2.bias' holds NaN or Inf before "
                                         r"training"):
        fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=1)

    class Poison(Callback):
        def on_epoch_end(self, epoch, logs):
            self.model.dense_layers[0].params["weight"][0, 0] = np.inf

    model = mlp([2, 3, 2], seed=0)
    with pytest.raises(TrainingDivergedError, match=r"at epoch 2, batch 1: parameter "
                                                    r"'0.weight' was already NaN or infinite"):
        fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=2, callbacks=[Poison()])


def test_a_model_with_broken_weights_can_still_resume_from_a_checkpoint(tmp_path):
    pytest.importorskip("safetensors")
    from deltaprop.io.checkpoint import Checkpoint

    X, y = np.random.default_rng(0).normal(size=(8, 2)), np.arange(8) % 2
    path = tmp_path / "run.safetensors"
    model = mlp([2, 3, 2], seed=0)
    fit(model, X, y, loss="cross_entropy", optimizer=SGD(model, lr=0.1), epochs=1, seed=0,
        callbacks=[Checkpoint(path)])
    model.dense_layers[0].params["weight"][...] = np.nan  # the weights of a crashed run
    history = fit(model, X, y, loss="cross_entropy", optimizer=SGD(model, lr=0.1), epochs=2,
                  seed=0, resume=path)
    assert history.epochs == [1, 2]
    assert np.all(np.isfinite(model.dense_layers[0].params["weight"]))
