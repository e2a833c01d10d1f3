"""``train_step``: the README's four lines, and every training loop takes its step through it;
the ``TrainingContext`` callbacks see; ``loss=`` as a keyword in ``predict_proba`` /
``predict_classes``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.training import step as training
from deltaprop.training.callbacks import Callback, TrainingContext


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)


def _same_params(a, b) -> bool:
    return all(np.array_equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())


@pytest.mark.parametrize("weighted", [False, True])
def test_train_step_is_the_four_lines_bit_for_bit(weighted):
    X, y = _data()
    w = np.linspace(0.5, 2.0, X.shape[0]) if weighted else None
    by_hand, stepped = dp.mlp([3, 5, 3], seed=1), dp.mlp([3, 5, 3], seed=1)
    loss = dp.CrossEntropyLoss()
    hand_opt = dp.SGD(by_hand, lr=0.3, momentum=0.9)
    step_opt = dp.SGD(stepped, lr=0.3, momentum=0.9)
    for _ in range(3):
        output = by_hand.forward(X)                                  # the README's lines
        value, grad = loss(output, y) if w is None else loss(output, y, w)
        by_hand.backward(grad)
        hand_opt.step()
        returned = dp.train_step(stepped, X, y, loss=loss, optimizer=step_opt,
                                 sample_weight=w)
        assert isinstance(returned, float) and returned == float(value)
        assert _same_params(by_hand, stepped)
        for (name, g1), (_, g2) in zip(by_hand.named_grads(), stepped.named_grads()):
            assert np.array_equal(g1, g2), name


def test_train_step_takes_a_loss_name():
    X, y = _data()
    a, b = dp.mlp([3, 4, 3], seed=2), dp.mlp([3, 4, 3], seed=2)
    value_a = dp.train_step(a, X, y, loss="cross_entropy", optimizer=dp.SGD(a, lr=0.1))
    value_b = dp.train_step(b, X, y, loss=dp.CrossEntropyLoss(), optimizer=dp.SGD(b, lr=0.1))
    assert value_a == value_b and _same_params(a, b)
    with pytest.raises(TypeError):
        dp.train_step(a, X, y, dp.CrossEntropyLoss(), dp.SGD(a, lr=0.1))   # keywords only


def _counting(monkeypatch) -> list:
    """Replace ``deltaprop.training.train_step`` by a wrapper that counts its calls."""
    calls, original = [], training.train_step

    def counted(*args, **kwargs):
        calls.append(args[1].shape[0])                           # the batch's rows
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "train_step", counted)
    return calls


def test_fit_steps_through_train_step_and_equals_it(monkeypatch):
    X, y = _data(20)
    calls = _counting(monkeypatch)
    model = dp.mlp([3, 6, 3], seed=3)
    dp.fit(model, X, y, loss="cross_entropy", optimizer=dp.SGD(model, lr=0.2, momentum=0.5),
           epochs=3, batch_size=8, shuffle=False)
    assert calls == [8, 8, 4] * 3                               # every batch, nothing else
    monkeypatch.undo()
    # normal training is train_step on each batch, bit for bit
    by_hand = dp.mlp([3, 6, 3], seed=3)
    optimizer = dp.SGD(by_hand, lr=0.2, momentum=0.5)
    for _ in range(3):
        for start in range(0, 20, 8):
            dp.train_step(by_hand, X[start:start + 8], y[start:start + 8],
                          loss="cross_entropy", optimizer=optimizer)
    assert _same_params(model, by_hand)


def test_a_batch_of_weight_zero_takes_no_train_step(monkeypatch):
    X, y = _data(16)
    weights = np.ones(16)
    weights[8:] = 0.0
    calls = _counting(monkeypatch)
    model = dp.mlp([3, 4, 3], seed=0)
    dp.fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=2, batch_size=8,
           shuffle=False, sample_weight=weights)
    assert calls == [8, 8]                                      # the weight-0 batches: none


def test_the_sklearn_estimators_step_through_train_step(monkeypatch):
    pytest.importorskip("sklearn")
    from sklearn.exceptions import ConvergenceWarning

    from deltaprop.sklearn import MLPClassifier, MLPRegressor

    X, y = _data(30)
    calls = _counting(monkeypatch)
    with pytest.warns(ConvergenceWarning):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, batch_size=10, random_state=0,
                      tol=0.0, n_iter_no_change=100).fit(X, y)
    assert calls == [10, 10, 10] * 2
    calls.clear()
    MLPRegressor(hidden_layer_sizes=(4,), max_iter=1, batch_size=16, random_state=0,
                 alpha=0.5).partial_fit(X, X[:, 0])
    assert calls == [16, 14]


def test_the_explainer_records_through_train_step(monkeypatch):
    from deltaprop.explainer.recording import record_steps

    X, y = _data(4)
    calls = _counting(monkeypatch)
    model = dp.mlp([3, 4, 3], seed=0)
    recordings = record_steps(model, X, y, "cross_entropy", dp.SGD(model, lr=0.1), steps=3)
    assert calls == [4, 4, 4] and len(recordings) == 3
    # the recorded numbers are those train_step computed: loss and the update it took
    monkeypatch.undo()
    again = dp.mlp([3, 4, 3], seed=0)
    optimizer = dp.SGD(again, lr=0.1)
    for recording in recordings:
        before = again.dense_layers[0].params["weight"].copy()
        value = dp.train_step(again, X, y, loss="cross_entropy", optimizer=optimizer)
        assert recording.loss_value == value
        first = recording.layers[0]
        assert np.array_equal(first.weight, before)
        assert np.array_equal(first.new_weight, again.dense_layers[0].params["weight"])


def test_the_explainer_without_an_optimizer_changes_no_weight(monkeypatch):
    from deltaprop.explainer.recording import record_step

    X, y = _data(4)
    calls = _counting(monkeypatch)
    model = dp.mlp([3, 4, 3], seed=0)
    before = model.state_dict()
    recording = record_step(model, X, y, "cross_entropy")
    assert calls == [4] and recording.layers[0].new_weight is None
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


def test_the_benchmark_profile_times_train_step(monkeypatch):
    monkeypatch.syspath_prepend(Path(__file__).resolve().parents[2] / "benchmarks")
    from deltaprop_bench import profile, runners

    calls = _counting(monkeypatch)
    problem = runners.make_problem(40, [5, 6, 3])
    epochs = profile.engine_epochs(problem, 16)
    first = next(epochs)
    assert calls == [16, 16, 8]
    assert all(first[phase] > 0 for phase in profile.PHASES)
    # the same run as fit's engine calls: the epoch's mean loss is that of train_step by hand
    monkeypatch.undo()
    model = runners.deltaprop_model(problem)
    optimizer = dp.SGD(model, lr=problem.lr, momentum=problem.momentum)
    order = np.random.default_rng(problem.seed).permutation(40)
    total = 0.0
    for start in range(0, 40, 16):
        rows = np.sort(order[start:start + 16])
        total += dp.train_step(model, problem.X[rows], problem.y[rows], loss="cross_entropy",
                               optimizer=optimizer) * rows.shape[0]
    assert first["mean_loss"] == total / 40


class _Seen(Callback):
    def __init__(self):
        self.seen = []

    def on_train_begin(self, logs):
        self.seen.append(self.context)

    def on_epoch_end(self, epoch, logs):
        context = self.context
        assert context.epoch == epoch and len(context.history) == epoch
        # the older spellings read the context
        assert self.model is context.model and self.optimizer is context.optimizer
        assert self.history is context.history and self.rng is context.rng
        assert self.schedule is context.schedule and self.callbacks is context.callbacks


def test_callbacks_share_one_declared_context():
    X, y = _data(20)
    model = dp.mlp([3, 4, 3], seed=0)
    optimizer = dp.SGD(model, lr=0.1)
    schedule = dp.StepLR(optimizer, step_size=1)
    first, second = _Seen(), _Seen()
    history = dp.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=2,
                     batch_size=8, seed=0, schedule=schedule, callbacks=[first, second])
    context = first.seen[0]
    assert isinstance(context, TrainingContext) and second.seen == [context]
    assert context.model is model and context.optimizer is optimizer
    assert context.history is history and context.schedule is schedule
    assert context.callbacks == [first, second]
    assert (context.epochs, context.n_batches, context.n_samples) == (2, 3, 20)
    assert not context.has_validation and isinstance(context.rng, np.random.Generator)
    assert "model" not in vars(first) and "history" not in vars(first)   # nothing set on it


@pytest.mark.parametrize("spelling", ["context", "attribute"])
def test_stop_training_through_the_context_or_the_old_attribute(spelling):
    class StopAtTwo(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 2:
                if spelling == "context":
                    self.context.stop_training = True
                else:
                    self.stop_training = True

    X, y = _data(12)
    stopper, other = StopAtTwo(), _Seen()
    history = dp.fit(dp.mlp([3, 4, 3], seed=0), X, y, loss="cross_entropy", optimizer="sgd",
                     epochs=6, callbacks=[stopper, other])
    assert history.epochs == [1, 2]
    assert other.stop_training and other.context.stop_training     # one flag for the call


def test_a_false_stop_training_does_not_cancel_another_callbacks_request():
    class StopAtTwo(Callback):
        def on_epoch_end(self, epoch, logs):
            self.stop_training = epoch == 2

    class NeverStop(Callback):
        def on_epoch_end(self, epoch, logs):
            self.stop_training = False                        # its own flag, as before

    X, y = _data(12)
    history = dp.fit(dp.mlp([3, 4, 3], seed=0), X, y, loss="cross_entropy", optimizer="sgd",
                     epochs=5, callbacks=[StopAtTwo(), NeverStop()])
    assert history.epochs == [1, 2]


def test_a_callback_declaring_its_own_stop_training_still_stops_fit():
    class Declared(Callback):
        stop_training = False                                 # hides the context's flag

        def on_epoch_end(self, epoch, logs):
            if epoch == 2:
                self.stop_training = True

    X, y = _data(12)
    declared = Declared()
    for _ in range(2):                                        # reset by each fit, as before
        history = dp.fit(dp.mlp([3, 4, 3], seed=0), X, y, loss="cross_entropy",
                         optimizer="sgd", epochs=5, callbacks=[declared])
        assert history.epochs == [1, 2]


def test_a_callback_that_sets_the_old_names_itself_still_reads_the_context():
    class Old(Callback):
        def __init__(self):
            self.model = self.history = None                  # a common __init__
            self.weights = []

        def on_epoch_end(self, epoch, logs):
            self.weights.append(self.model.state_dict()["0.weight"].copy())
            assert len(self.history) == epoch

    X, y = _data(12)
    model, old = dp.mlp([3, 4, 3], seed=0), Old()
    dp.fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=2, callbacks=[old])
    assert len(old.weights) == 2
    np.testing.assert_array_equal(old.weights[-1], model.state_dict()["0.weight"])


def test_a_callback_outside_fit_keeps_what_is_set_on_it():
    callback, model = Callback(), dp.mlp([2, 2], seed=0)
    assert callback.model is None and callback.context is None and not callback.stop_training
    callback.model = model
    callback.stop_training = True
    assert callback.model is model and callback.stop_training


def test_predict_proba_and_classes_take_loss_as_a_keyword():
    X, _ = _data(6)
    model = dp.mlp([3, 4, 3], seed=0)
    proba = dp.predict_proba(model, X, loss="cross_entropy")
    labels = dp.predict_classes(model, X, loss="cross_entropy")
    np.testing.assert_array_equal(labels, np.argmax(proba, axis=1))
    with pytest.warns(DeprecationWarning, match=r"predict_proba\(model, X, loss=\.\.\.\)"):
        old = dp.predict_proba(model, X, "cross_entropy")
    np.testing.assert_array_equal(old, proba)
    with pytest.warns(DeprecationWarning, match="predict_classes"):
        np.testing.assert_array_equal(dp.predict_classes(model, X, "cross_entropy"), labels)
    for function in (dp.predict_proba, dp.predict_classes):
        with pytest.raises(TypeError, match="missing the keyword argument 'loss'"):
            function(model, X)
        with pytest.raises(TypeError, match="keyword loss="):
            function(model, X, "mse", loss="mse")


def test_every_public_function_that_takes_a_loss_takes_it_as_loss_keyword():
    import inspect

    takers = {}
    for name in dp.__all__:
        function = getattr(dp, name)
        if callable(function) and not isinstance(function, type):
            parameters = inspect.signature(function).parameters
            assert not {"loss_fn", "criterion", "objective"} & set(parameters), name
            if "loss" in parameters:
                takers[name] = parameters["loss"].kind
    assert {"fit", "evaluate", "predict_proba", "predict_classes", "train_step", "gradcheck",
            "explain"} <= set(takers)
    assert all(kind in (inspect.Parameter.KEYWORD_ONLY,
                        inspect.Parameter.POSITIONAL_OR_KEYWORD) for kind in takers.values())
    for name in ("fit", "evaluate", "predict_proba", "predict_classes", "train_step"):
        assert takers[name] is inspect.Parameter.KEYWORD_ONLY, name
