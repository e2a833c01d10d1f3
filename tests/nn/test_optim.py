"""Optimisers: trajectories against ``torch.optim`` in float64, state dicts, bad hyperparameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deltaprop import SGD, Adam, AdamW, CrossEntropyLoss, Optimizer, mlp
from deltaprop.nn.optim import OPTIMIZERS, get_optimizer

SIZES = [5, 8, 6, 3]
N_STEPS = 20


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(16, SIZES[0]))
    y = rng.integers(0, SIZES[-1], size=16)
    return X, y


def _model(seed: int = 1):
    # tanh keeps every unit active, so each parameter moves on each step
    return mlp(SIZES, activation="tanh", seed=seed, dtype=np.float64)


def _torch_twin(torch, model):
    """An ``nn.Sequential`` with the same layers and copies of the same float64 weights."""
    nn = torch.nn
    layers = []
    for layer in model.layers:
        name = type(layer).__name__
        if name == "Dense":
            layers.append(nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64))
        elif name == "Tanh":
            layers.append(nn.Tanh())
        else:  # pragma: no cover - the test models use Dense and Tanh only
            raise AssertionError(name)
    twin = nn.Sequential(*layers)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return twin


def _train_both(torch, make_ours, make_theirs, steps: int = N_STEPS):
    X, y = _data()
    model = _model()
    twin = _torch_twin(torch, model)
    ours, theirs = make_ours(model), make_theirs(twin.parameters())
    loss = CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(steps):
        value, grad = loss(model.forward(X), y)
        model.backward(grad)
        ours.step()
        theirs.zero_grad()
        torch_value = torch.nn.functional.cross_entropy(twin(X_t), y_t)
        torch_value.backward()
        theirs.step()
        assert float(value) == pytest.approx(torch_value.item(), rel=1e-8)
    return model, twin


def _assert_same_weights(model, twin, rtol=1e-8):
    theirs = {k: v.detach().numpy() for k, v in twin.state_dict().items()}
    ours = model.state_dict()
    assert ours.keys() == theirs.keys()
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=rtol, atol=1e-12, err_msg=key)


SGD_CASES = {
    "plain": {"lr": 0.1},
    "momentum": {"lr": 0.1, "momentum": 0.9},
    "nesterov": {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    "weight_decay": {"lr": 0.1, "weight_decay": 0.01},
    "momentum_weight_decay": {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.05},
    "dampening": {"lr": 0.1, "momentum": 0.9, "dampening": 0.3},
    "nesterov_weight_decay": {"lr": 0.05, "momentum": 0.8, "nesterov": True,
                              "weight_decay": 1e-3},
}


@pytest.mark.parametrize("settings", list(SGD_CASES.values()), ids=list(SGD_CASES))
@pytest.mark.slow
def test_SGD_matches_torch_after_20_steps(settings):
    torch = pytest.importorskip("torch")
    model, twin = _train_both(torch, lambda m: SGD(m, **settings),
                              lambda p: torch.optim.SGD(p, foreach=False, **settings))
    _assert_same_weights(model, twin)


ADAM_CASES = [
    (Adam, "Adam", {"lr": 0.01}),
    (Adam, "Adam", {"lr": 0.01, "weight_decay": 0.1}),
    (Adam, "Adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6}),
    (AdamW, "AdamW", {"lr": 0.01}),
    (AdamW, "AdamW", {"lr": 0.01, "weight_decay": 0.0}),
    (AdamW, "AdamW", {"lr": 0.01, "weight_decay": 0.5}),
]


@pytest.mark.parametrize(("ours", "theirs", "settings"), ADAM_CASES,
                         ids=[f"{t}-{i}" for i, (_, t, _) in enumerate(ADAM_CASES)])
@pytest.mark.slow
def test_Adam_family_matches_torch_after_20_steps(ours, theirs, settings):
    torch = pytest.importorskip("torch")
    model, twin = _train_both(torch, lambda m: ours(m, **settings),
                              lambda p: getattr(torch.optim, theirs)(p, foreach=False,
                                                                     **settings))
    _assert_same_weights(model, twin)


def test_weights_really_move():
    """Guard for the comparisons above: 20 steps change every parameter."""
    X, y = _data()
    model = _model()
    before = model.state_dict()
    optimizer = Adam(model, lr=0.01)
    for _ in range(N_STEPS):
        _, grad = CrossEntropyLoss()(model.forward(X), y)
        model.backward(grad)
        optimizer.step()
    for key, value in model.state_dict().items():
        assert not np.allclose(value, before[key]), key


def test_plain_SGD_is_W_minus_lr_grad():
    X, y = _data()
    model = _model()
    before = model.state_dict()
    _, grad = CrossEntropyLoss()(model.forward(X), y)
    model.backward(grad)
    grads = {k: np.array(v) for k, v in model.named_grads()}
    SGD(model, lr=0.3).step()
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(value, before[key] - 0.3 * grads[key], rtol=1e-12)


@pytest.mark.parametrize("make", [
    lambda m: SGD(m, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda m: Adam(m, lr=0.01, weight_decay=0.01),
    lambda m: AdamW(m, lr=0.01),
], ids=["SGD", "Adam", "AdamW"])
def test_state_dict_round_trip_continues_identically(make):
    X, y = _data()
    loss = CrossEntropyLoss()

    def steps(model, optimizer, count):
        for _ in range(count):
            _, grad = loss(model.forward(X), y)
            model.backward(grad)
            optimizer.step()

    reference = _model()
    reference_opt = make(reference)
    steps(reference, reference_opt, 10)
    saved_weights, saved_state = reference.state_dict(), reference_opt.state_dict()
    steps(reference, reference_opt, 10)

    resumed = _model(seed=99)                       # other weights, overwritten below
    resumed.load_state_dict(saved_weights)
    resumed_opt = make(resumed)
    resumed_opt.load_state_dict(saved_state)
    steps(resumed, resumed_opt, 10)
    for key, value in reference.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)


def test_state_dict_is_a_copy():
    X, y = _data()
    model = _model()
    optimizer = SGD(model, lr=0.1, momentum=0.9)
    for _ in range(2):
        _, grad = CrossEntropyLoss()(model.forward(X), y)
        model.backward(grad)
        optimizer.step()
    state = optimizer.state_dict()
    velocity = np.array(state["state"]["0.weight"]["velocity"])
    _, grad = CrossEntropyLoss()(model.forward(X), y)
    model.backward(grad)
    optimizer.step()
    np.testing.assert_array_equal(state["state"]["0.weight"]["velocity"], velocity)
    assert state["lr"] == 0.1


BAD_HYPERPARAMETERS = [
    (SGD, {"lr": -0.1}, "lr", "-0.1"),
    (SGD, {"lr": math.nan}, "lr", "nan"),
    (SGD, {"lr": math.inf}, "lr", "inf"),
    (SGD, {"lr": "0.1"}, "lr", "'0.1'"),
    (SGD, {"lr": True}, "lr", "True"),
    (SGD, {"momentum": -0.5}, "momentum", "-0.5"),
    (SGD, {"momentum": 1.0}, "momentum", "1.0"),
    (SGD, {"momentum": 1.5}, "momentum", "1.5"),
    (SGD, {"nesterov": True}, "nesterov", "momentum=0"),
    (SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "nesterov", "dampening=0.1"),
    (SGD, {"weight_decay": -1e-4}, "weight_decay", "-0.0001"),
    (SGD, {"dampening": 1.5}, "dampening", "1.5"),
    (SGD, {"dampening": -0.1}, "dampening", "-0.1"),
    (Adam, {"lr": -1.0}, "lr", "-1.0"),
    (Adam, {"betas": (1.0, 0.999)}, "betas[0]", "1.0"),
    (Adam, {"betas": (0.9, -0.1)}, "betas[1]", "-0.1"),
    (Adam, {"betas": (0.9, 1.2)}, "betas[1]", "1.2"),
    (Adam, {"betas": 0.9}, "betas", "0.9"),
    (Adam, {"betas": (0.9, 0.99, 0.999)}, "betas", "(0.9, 0.99, 0.999)"),
    (Adam, {"eps": -1e-8}, "eps", "-1e-08"),
    (Adam, {"eps": math.nan}, "eps", "nan"),
    (Adam, {"weight_decay": -0.01}, "weight_decay", "-0.01"),
    (AdamW, {"weight_decay": -0.01}, "weight_decay", "-0.01"),
    (AdamW, {"lr": math.nan}, "lr", "nan"),
]


@pytest.mark.parametrize(("cls", "kwargs", "name", "shown"), BAD_HYPERPARAMETERS,
                         ids=[f"{c.__name__}-{k}" for c, k, _, _ in BAD_HYPERPARAMETERS])
def test_bad_hyperparameters_raise_naming_argument_and_value(cls, kwargs, name, shown):
    with pytest.raises(ValueError) as info:
        cls(_model(), **kwargs)
    message = str(info.value)
    assert cls.__name__ in message
    assert name in message
    assert shown in message


def test_optimizer_needs_a_model():
    with pytest.raises(TypeError, match="SGD expects a deltaprop model"):
        SGD([np.zeros(3)], lr=0.1)


def test_zero_lr_is_allowed_and_freezes_weights():
    X, y = _data()
    model = _model()
    before = model.state_dict()
    optimizer = SGD(model, lr=0.0, momentum=0.9)
    _, grad = CrossEntropyLoss()(model.forward(X), y)
    model.backward(grad)
    optimizer.step()
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize(("name", "cls"), [("sgd", SGD), ("SGD", SGD), ("adam", Adam),
                                           ("Adam", Adam), ("adamw", AdamW)])
def test_get_optimizer_by_name(name, cls):
    model = _model()
    optimizer = get_optimizer(name, model)
    assert type(optimizer) is cls
    assert optimizer.model is model


def test_get_optimizer_passes_kwargs_and_instances():
    model = _model()
    optimizer = get_optimizer(SGD, model, lr=0.5, momentum=0.1)
    assert (optimizer.lr, optimizer.momentum) == (0.5, 0.1)
    assert get_optimizer(optimizer, model) is optimizer
    assert get_optimizer("adam", model, lr=0.2).lr == 0.2
    assert isinstance(optimizer, Optimizer)


def test_get_optimizer_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError) as info:
        get_optimizer("rmsprop", _model())
    message = str(info.value)
    assert "'rmsprop'" in message
    for name in OPTIMIZERS:
        assert name in message
