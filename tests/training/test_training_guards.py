"""``fit`` never turns an ordinary situation into garbage: zero-weight batches, a step that
overflows the weights, arguments that could only fail later, the mode it leaves the model in,
and a ``validation_split`` of a memmap that stays on disk."""

from __future__ import annotations

import copy
import tracemalloc

import numpy as np
import pytest

from deltaprop import (
    SGD,
    Adam,
    AdamW,
    Callback,
    EarlyStopping,
    Optimizer,
    StepLR,
    TrainingDivergedError,
    fit,
    mlp,
)


def _data(n: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)), rng.integers(0, 3, size=n)


def _params(model) -> dict[str, np.ndarray]:
    return model.state_dict()


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], strict=True)


class _Recorder(Callback):
    def __init__(self) -> None:
        self.batches: list[tuple[int, float]] = []

    def on_batch_end(self, batch, logs):
        self.batches.append((batch, logs["loss"]))


# -- zero-weight batches ----------------------------------------------------------------------
@pytest.mark.parametrize("zero", [0.0, 1e-50], ids=["zero", "zero_in_float32"])
def test_a_batch_of_zero_weight_takes_no_step_and_counts_in_no_loss(zero):
    X, y = _data(12)
    weights = np.ones(12)
    weights[4:8] = zero                                  # batch 2 of 3 (no shuffling)
    model, recorder = mlp([2, 4, 3], seed=0), _Recorder()
    history = fit(model, X, y, loss="cross_entropy", epochs=2, batch_size=4, shuffle=False,
                  optimizer=SGD(model, lr=0.1, momentum=0.9), sample_weight=weights,
                  metric=None, callbacks=[recorder])
    # the same run without those rows: the same steps, bit for bit
    keep = np.r_[0:4, 8:12]
    reference = mlp([2, 4, 3], seed=0)
    expected = fit(reference, X[keep], y[keep], loss="cross_entropy", epochs=2, batch_size=4,
                   shuffle=False, optimizer=SGD(reference, lr=0.1, momentum=0.9),
                   sample_weight=np.ones(8), metric=None)
    _assert_same(_params(model), _params(reference))
    assert history["loss"] == expected["loss"]
    assert [batch for batch, _ in recorder.batches] == [1, 3, 1, 3]   # no hook for batch 2


def test_zero_weight_batches_while_shuffling_stay_finite():
    X, y = _data(40)
    weights = np.zeros(40)
    weights[:3] = 1.0                                    # most shuffled batches weigh 0
    model = mlp([2, 4, 3], seed=0)
    history = fit(model, X, y, loss="cross_entropy", epochs=3, batch_size=4, seed=1,
                  optimizer=Adam(model, lr=0.01), sample_weight=weights)
    assert np.all(np.isfinite(history["loss"])) and np.all(np.isfinite(history["accuracy"]))
    assert all(np.all(np.isfinite(value)) for value in _params(model).values())


def test_weights_that_vanish_or_overflow_in_the_model_dtype_are_refused():
    X, y = _data(4)
    model = mlp([2, 4, 3], seed=0)                        # float32
    with pytest.raises(ValueError, match=r"all zero \(in the model's float32\)"):
        fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=1,
            sample_weight=np.full(4, 1e-60))
    with pytest.raises(ValueError, match="beyond the range of the model's float32"):
        fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=1,
            sample_weight=np.full(4, 1e39))
    model64 = mlp([2, 4, 3], seed=0, dtype=np.float64)
    with pytest.raises(ValueError, match="beyond the range of the model's float64"):
        fit(model64, X, y, loss="cross_entropy", optimizer="sgd", epochs=1,
            sample_weight=np.full(4, 1e308))
    with pytest.raises(ValueError, match=r"got -1\.0 at index 2"):
        fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=1,
            sample_weight=np.array([1.0, 1.0, -1.0, 1.0]))


def test_validation_split_holding_out_every_weighted_row_is_refused():
    X, y = _data(10)
    rng = np.random.default_rng(5)                       # fit's split, replayed
    val = np.sort(rng.permutation(10)[:2])
    weights = np.zeros(10)
    weights[val] = 1.0
    model = mlp([2, 4, 3], seed=0)
    before = _params(model)
    with pytest.raises(ValueError, match="held out every row with a sample_weight > 0"):
        fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=1, seed=5,
            validation_split=0.2, sample_weight=weights)
    _assert_same(_params(model), before)


# -- a finite loss, but the step overflows the weights ------------------------------------------
class _SetLearningRate(Callback):
    """Sets a huge learning rate once ``at`` (epoch, batch) is reached; records the state."""

    def __init__(self, at_epoch: int, lr: float) -> None:
        self.at_epoch, self.lr = at_epoch, lr

    def on_epoch_begin(self, epoch):
        if epoch == self.at_epoch:
            self.optimizer.lr = self.lr
            self.params = self.model.state_dict()
            self.state = copy.deepcopy(self.optimizer.state_dict())


@pytest.mark.parametrize("make_optimizer", [
    lambda model: SGD(model, lr=0.1),
    lambda model: SGD(model, lr=0.1, momentum=0.9),
    lambda model: SGD(model, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda model: Adam(model, lr=0.01),
    lambda model: AdamW(model, lr=0.01, weight_decay=0.1),
], ids=["sgd", "sgd_momentum", "sgd_nesterov_decay", "adam", "adamw"])
def test_a_step_that_leaves_non_finite_weights_is_undone_and_reported(make_optimizer):
    X, y = _data(12)
    model = mlp([2, 4, 3], seed=0)                        # float32: lr 1e39 overflows
    optimizer = make_optimizer(model)
    spy = _SetLearningRate(at_epoch=2, lr=1e39)
    with pytest.raises(TrainingDivergedError,
                       match=r"parameter '\d\.(weight|bias)' became NaN or infinite after the "
                             r"step \(the loss, [0-9.e+-]+, was finite\) at epoch 2, batch 1 "
                             r"of 3"):
        fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=3, batch_size=4,
            callbacks=[spy])
    _assert_same(_params(model), spy.params)             # bit for bit: before that step
    state = optimizer.state_dict()
    assert state["state"].keys() == spy.state["state"].keys()
    for name, slot in spy.state["state"].items():
        for key, value in slot.items():
            np.testing.assert_array_equal(state["state"][name][key], value, strict=True)


class _InPlaceMomentum(Optimizer):
    """A user's optimiser that writes into its state arrays: guarded by copies."""

    def update(self, state, param, grad):
        velocity = state.setdefault("velocity", np.zeros_like(grad))
        velocity *= 0.9
        velocity += grad
        param -= self.lr * velocity


def test_a_user_optimizer_writing_its_state_in_place_is_restored_too():
    X, y = _data(12)
    model = mlp([2, 4, 3], seed=0)
    optimizer = _InPlaceMomentum(model, lr=0.1)
    spy = _SetLearningRate(at_epoch=2, lr=1e39)
    with pytest.raises(TrainingDivergedError, match="at epoch 2, batch 1 of 3"):
        fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=2, batch_size=4,
            callbacks=[spy])
    _assert_same(_params(model), spy.params)
    for name, slot in spy.state["state"].items():
        np.testing.assert_array_equal(optimizer.state[name]["velocity"], slot["velocity"],
                                      strict=True)


def test_overflow_on_the_very_first_step_leaves_the_initial_weights_and_no_state():
    X, y = _data(12)
    model = mlp([2, 4, 3], seed=0)
    before = _params(model)
    optimizer = SGD(model, lr=1e39, momentum=0.5)
    with pytest.raises(TrainingDivergedError, match="epoch 1, batch 1 of 1"):
        fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=1)
    _assert_same(_params(model), before)
    assert optimizer.state == {}


# -- arguments that could only fail later raise before the first step ----------------------------
def _assert_refused_before_any_step(error, match, **kwargs):
    X, y = _data(12)
    model = mlp([2, 4, 3], seed=0)
    optimizer = kwargs.pop("optimizer", None) or SGD(model, lr=0.5)
    settings = {"loss": "cross_entropy", "epochs": 2, "batch_size": 4, **kwargs}
    before = _params(model)
    recorder = _Recorder()
    callbacks = settings.pop("callbacks", [recorder])
    with pytest.raises(error, match=match):
        fit(model, X, y, optimizer=optimizer, callbacks=callbacks, **settings)
    _assert_same(_params(model), before)
    assert recorder.batches == []


def test_r2_with_a_classification_loss_is_refused():
    _assert_refused_before_any_step(ValueError, "metric='r2' needs a regression loss",
                                    metric="r2")


def test_schedule_given_as_a_string_is_refused():
    _assert_refused_before_any_step(TypeError, "schedule must be a deltaprop Schedule.*'cosine'",
                                    schedule="cosine")


def test_schedule_built_on_another_optimizer_is_refused():
    other = SGD(mlp([2, 4, 3], seed=1), lr=0.1)
    _assert_refused_before_any_step(ValueError, "built on another optimizer",
                                    schedule=StepLR(other, step_size=1))


@pytest.mark.parametrize("callbacks, match", [
    (5, "callbacks must be a list of Callback objects or None, got int"),
    ([_Recorder(), "progress"], "got str at position 1"),
    (_Recorder(), "got a single _Recorder"),
])
def test_callbacks_that_are_not_callbacks_are_refused(callbacks, match):
    _assert_refused_before_any_step(TypeError, match, callbacks=callbacks)


@pytest.mark.parametrize("monitor, match", [
    ("val_loss", "need validation_data or validation_split"),
    ("val_acc", "not a key fit logs"),
    ("acuracy", "not a key fit logs"),
])
def test_early_stopping_monitor_that_will_not_exist_is_refused(monitor, match):
    _assert_refused_before_any_step(KeyError, match,
                                    early_stopping=EarlyStopping(monitor=monitor))


def test_shuffle_must_be_a_bool():
    _assert_refused_before_any_step(TypeError, "shuffle must be True or False, got 'no'",
                                    shuffle="no")


def test_callbacks_none_means_no_callbacks():
    X, y = _data(12)
    model = mlp([2, 4, 3], seed=0)
    history = fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=2, callbacks=None)
    assert len(history) == 2


def test_valid_monitors_are_accepted():
    X, y = _data(12)
    for monitor, kwargs in [("val_accuracy", {"validation_split": 0.25}), ("accuracy", {}),
                            ("lr", {})]:
        model = mlp([2, 4, 3], seed=0)
        fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=2,
            early_stopping=EarlyStopping(monitor=monitor), **kwargs)
    model = mlp([2, 4, 1], seed=0)
    fit(model, X, X[:, :1], loss="mse", optimizer="sgd", epochs=2, validation_split=0.25,
        early_stopping=EarlyStopping(monitor="val_mse"))


# -- evaluation mode however fit ends ---------------------------------------------------------
class _Raise(Callback):
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def on_batch_end(self, batch, logs):
        raise self.error


@pytest.mark.parametrize("how", ["ends", "early_stop", "diverges", "interrupted", "bad_argument"])
def test_fit_leaves_the_model_in_evaluation_mode(how):
    X, y = _data(12)
    model = mlp([2, 4, 3], dropout=0.5, seed=0)
    model.train()
    settings = {"loss": "cross_entropy", "epochs": 30, "batch_size": 4}
    optimizer = SGD(model, lr=0.1)
    if how == "early_stop":
        settings["early_stopping"] = EarlyStopping(patience=1, min_delta=1e9)
    if how == "diverges":
        optimizer = SGD(model, lr=1e39)
    if how == "interrupted":
        settings["callbacks"] = [_Raise(KeyboardInterrupt())]
    if how == "bad_argument":
        settings["metric"] = "r2"
    expected = {"ends": None, "early_stop": None, "diverges": TrainingDivergedError,
                "interrupted": KeyboardInterrupt, "bad_argument": ValueError}[how]
    if expected is None:
        history = fit(model, X, y, optimizer=optimizer, **settings)
        assert (how == "early_stop") == (len(history) < 30)
    else:
        with pytest.raises(expected):
            fit(model, X, y, optimizer=optimizer, **settings)
    assert not model.training
    assert not any(layer.training for layer in model.layers)


# -- validation_split of a memmap ---------------------------------------------------------------
def test_validation_split_gathers_the_same_batches_as_an_explicit_split():
    X, y = _data(50, seed=3)
    model = mlp([2, 4, 3], seed=0)
    history = fit(model, X, y, loss="cross_entropy", optimizer=Adam(model, lr=0.01), epochs=3,
                  batch_size=8, seed=7, validation_split=0.2)
    rng = np.random.default_rng(7)                       # the split fit makes, by hand
    order = rng.permutation(50)
    train, val = np.sort(order[10:]), np.sort(order[:10])
    reference = mlp([2, 4, 3], seed=0)
    expected = fit(reference, X[train], y[train], loss="cross_entropy", batch_size=8,
                   optimizer=Adam(reference, lr=0.01), epochs=3, seed=rng,
                   validation_data=(X[val], y[val]))
    _assert_same(_params(model), _params(reference))
    assert history.history == expected.history


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.slow
def test_validation_split_of_a_memmap_copies_neither_part(tmp_path, shuffle):
    """Half the rows held out: neither the training rows nor the validation rows are copied
    (what stays in memory is index arrays, one batch and one prediction chunk)."""
    n, width = 16000, 256
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32,
                                  shape=(n, width))
    X[:] = np.random.default_rng(0).normal(size=(n, width)).astype(np.float32)
    X.flush()
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    y = (np.arange(n) % 3).astype(np.int64)
    model = mlp([width, 8, 3], seed=0)
    tracemalloc.start()
    try:
        history = fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=1,
                      batch_size=256, seed=0, validation_split=0.5, shuffle=shuffle)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "val_loss" in history
    assert peak < 0.2 * X.nbytes, f"peak {peak} bytes for a {X.nbytes}-byte memmap"


def test_the_guards_work_on_other_array_libraries():
    xps = pytest.importorskip("array_api_strict")
    X, y = _data(12)
    weights = np.ones(12)
    weights[4:8] = 0.0
    model = mlp([2, 4, 3], seed=0)
    model.to(xps.asarray(X.astype(np.float32)))
    before = _params(model)
    with pytest.raises(TrainingDivergedError, match="became NaN or infinite after the step"):
        fit(model, xps.asarray(X.astype(np.float32)), xps.asarray(y), loss="cross_entropy",
            optimizer=SGD(model, lr=1e39, momentum=0.5), epochs=1, batch_size=4,
            shuffle=False, sample_weight=weights)
    _assert_same(_params(model), before)
    history = fit(model, xps.asarray(X.astype(np.float32)), xps.asarray(y),
                  loss="cross_entropy", optimizer=SGD(model, lr=0.1), epochs=2, batch_size=4,
                  shuffle=False, sample_weight=weights)
    assert np.all(np.isfinite(history["loss"]))


@pytest.mark.parametrize("seed", ["abc", -1, 1.5])
def test_a_seed_numpy_cannot_use_is_refused_naming_seed(seed):
    _assert_refused_before_any_step(TypeError, r"seed must be None, an integer >= 0 or a "
                                               r"np\.random\.Generator", seed=seed)


def test_early_stopping_arguments_are_checked_when_built():
    with pytest.raises(TypeError, match="monitor must be a key of the logs"):
        EarlyStopping(monitor=3)
    with pytest.raises(TypeError, match="restore_best_weights must be True or False, got 'no'"):
        EarlyStopping(restore_best_weights="no")


def test_predict_proba_and_classes_check_the_loss_before_predicting():
    from deltaprop import predict_classes, predict_proba

    model = mlp([2, 4, 3], seed=0)
    for function in (predict_proba, predict_classes):
        with pytest.raises(ValueError, match="unknown loss 'hinge'"):
            function(model, np.full((2, 3), np.nan), loss="hinge")   # the X error would come later


def test_bce_on_a_model_without_a_sigmoid_output_is_refused_before_the_first_step():
    X, _ = _data(12)
    y = (X[:, :1] > 0).astype(np.float64)
    model = mlp([2, 4, 1], seed=0)                        # linear output: not probabilities
    before = _params(model)
    with pytest.raises(ValueError, match=r"BCELoss output \(probabilities; pass logits to "
                                         r"BCEWithLogitsLoss\) must be in \[0, 1\]"):
        fit(model, X, y, loss="bce", optimizer=SGD(model, lr=0.1), epochs=1)
    _assert_same(_params(model), before)
    model = mlp([2, 4, 1], output="sigmoid", seed=0)
    assert len(fit(model, X, y, loss="bce", optimizer=SGD(model, lr=0.1), epochs=1)) == 1


class _InterruptedSGD(SGD):
    """Ctrl-C arrives in the middle of a step, after the first parameters were updated
    (``update`` overridden: the guard copies before the step)."""

    def __init__(self, model, at_step: int) -> None:
        super().__init__(model, lr=0.1, momentum=0.9)
        self.at_step, self.updates = at_step, 0

    def _count(self) -> None:
        self.updates += 1
        if self.updates == self.at_step:
            self.params = self.model.state_dict()
            self.velocity = {name: slot["velocity"].copy() for name, slot in self.state.items()
                             if "velocity" in slot}
        if self.updates == self.at_step + 2:               # two parameters later
            raise KeyboardInterrupt

    def update(self, state, param, grad):
        self._count()
        super().update(state, param, grad)


class _InterruptedOutOfPlace(_InterruptedSGD):
    """The same inside SGD's own out-of-place step (``update`` not overridden; its
    ``_change`` writes into no array, as it declares)."""

    update = Optimizer.update
    pure_change = True

    def _change(self, state, param, grad):
        self._count()
        return super()._change(state, param, grad)


@pytest.mark.parametrize("kind", [_InterruptedSGD, _InterruptedOutOfPlace])
def test_an_interrupt_inside_a_step_leaves_no_half_updated_model(kind):
    X, y = _data(12)
    model = mlp([2, 4, 3], seed=0)
    n_params = len(model.parameter_refs())
    optimizer = kind(model, at_step=2 * n_params + 1)               # the 3rd step's start
    assert optimizer.steps_out_of_place == (kind is _InterruptedOutOfPlace)
    with pytest.raises(KeyboardInterrupt):
        fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=1, batch_size=4)
    _assert_same(_params(model), optimizer.params)
    for name, velocity in optimizer.velocity.items():
        np.testing.assert_array_equal(optimizer.state[name]["velocity"], velocity, strict=True)
    assert not model.training


def test_fit_trains_the_parameter_arrays_the_layers_held_before():
    X, y = _data(12)
    model = mlp([2, 4, 3], seed=0)
    held = {name: value for name, value in model.named_parameters()}
    before = {name: value.copy() for name, value in held.items()}
    fit(model, X, y, loss="cross_entropy", optimizer=Adam(model, lr=0.1), epochs=2)
    for name, value in model.named_parameters():
        assert value is held[name]
        assert not np.array_equal(value, before[name])


def test_a_model_that_is_not_one_is_named():
    X, y = _data(4)
    with pytest.raises(TypeError, match=r"model must be a deltaprop model .*got NoneType"):
        fit(None, X, y, loss="cross_entropy", optimizer="sgd", epochs=1)


def test_a_validation_loss_that_overflows_is_a_divergence_not_a_logged_inf():
    """Finite weights whose outputs overflow on the validation rows (float32 MSE of 1e25
    inputs): fit stops with TrainingDivergedError and no NumPy warning, not an ``inf`` log."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(32, 2)), rng.normal(size=(32, 1))
    X_val = np.full((4, 2), 1e25)
    model = mlp([2, 4, 1], activation="relu", seed=0, dtype=np.float32)
    with pytest.raises(TrainingDivergedError, match="val_loss became inf at epoch 1;"):
        fit(model, X, y, loss="mse", optimizer=SGD(model, lr=0.01), epochs=2, batch_size=8,
            validation_data=(X_val, np.zeros((4, 1))))
    assert not model.training
