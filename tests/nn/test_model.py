"""Sequential and mlp: whole MLPs against PyTorch, state dicts, records, builder, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from deltaprop import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dense,
    Dropout,
    LeakyReLU,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    mlp,
)
from deltaprop.nn.activations import softmax
from helpers import torch_mirror

N = 7


def _model_case(name: str, rng):
    """``(model, loss, X, y)`` in float64 for one whole-network set-up."""
    if name == "tanh_ce_labels":
        model = mlp([5, 8, 6, 3], "tanh", seed=1, dtype=np.float64)
        return model, CrossEntropyLoss(), rng.standard_normal((N, 5)), rng.integers(0, 3, N)
    if name == "relu_ce_probs":
        model = mlp([4, 9, 3], "relu", init="he_normal", seed=2, dtype=np.float64)
        return model, CrossEntropyLoss(), rng.standard_normal((N, 4)), \
            rng.dirichlet(np.ones(3), N)
    if name == "sigmoid_bce":
        model = mlp([4, 6, 2], "sigmoid", output="sigmoid", seed=3, dtype=np.float64)
        return model, BCELoss(), rng.standard_normal((N, 4)), rng.integers(0, 2, (N, 2)) * 1.0
    if name == "elu_bce_logits":
        model = mlp([3, 6, 1], "elu", init="torch_default", seed=4, dtype=np.float64)
        return model, BCEWithLogitsLoss(), rng.standard_normal((N, 3)), \
            rng.integers(0, 2, (N, 1)) * 1.0
    if name == "gelu_mse":
        model = mlp([4, 8, 5, 2], "gelu", seed=5, dtype=np.float64)
        return model, MSELoss(), rng.standard_normal((N, 4)), rng.standard_normal((N, 2))
    if name == "mixed_softmax_mse":
        r = np.random.default_rng(6)
        model = Sequential(Dense(4, 6, seed=r, dtype=np.float64), LeakyReLU(0.1),
                           Dense(6, 5, seed=r, dtype=np.float64), Softplus(),
                           Dense(5, 3, bias=False, seed=r, dtype=np.float64), Softmax())
        return model, MSELoss(), rng.standard_normal((N, 4)), rng.dirichlet(np.ones(3), N)
    if name == "dropout_eval_tanh":
        model = mlp([4, 6, 6, 2], "tanh", dropout=0.5, seed=7, dtype=np.float64).eval()
        return model, MSELoss(), rng.standard_normal((N, 4)), rng.standard_normal((N, 2))
    raise AssertionError(name)


MODEL_CASES = ["tanh_ce_labels", "relu_ce_probs", "sigmoid_bce", "elu_bce_logits", "gelu_mse",
               "mixed_softmax_mse", "dropout_eval_tanh"]


def _torch_loss(loss, output, target):
    import torch

    functional = torch.nn.functional
    target = torch.from_numpy(target)
    if isinstance(loss, CrossEntropyLoss):
        return functional.cross_entropy(output, target)
    if isinstance(loss, BCEWithLogitsLoss):
        return functional.binary_cross_entropy_with_logits(output, target)
    if isinstance(loss, BCELoss):
        return functional.binary_cross_entropy(output, target)
    return functional.mse_loss(output, target)


@pytest.mark.parametrize("name", MODEL_CASES)
def test_whole_network_matches_pytorch(rng, name):
    torch = pytest.importorskip("torch")
    model, loss, X, y = _model_case(name, rng)
    mirror = torch_mirror(model)

    output = model.forward(X)
    value, grad_output = loss(output, y)
    grad_X = model.backward(grad_output)

    x = torch.tensor(X, requires_grad=True)
    expected_output = mirror(x)
    expected_loss = _torch_loss(loss, expected_output, y)
    expected_loss.backward()

    close = {"rtol": 1e-8, "atol": 1e-10}
    np.testing.assert_allclose(output, expected_output.detach().numpy(), **close)
    np.testing.assert_allclose(float(value), expected_loss.item(), **close)
    np.testing.assert_allclose(grad_X, x.grad.numpy(), **close)
    torch_grads = {key: p.grad.numpy() for key, p in mirror.named_parameters()}
    grads = dict(model.named_grads())
    assert grads.keys() == torch_grads.keys()
    for key, grad in grads.items():
        np.testing.assert_allclose(grad, torch_grads[key], err_msg=key, **close)


def test_input_grad_false_returns_none_with_same_parameter_grads(rng):
    model, loss, X, y = _model_case("tanh_ce_labels", rng)
    _, grad_output = loss(model.forward(X), y)
    full = model.backward(grad_output)
    grads = {key: np.array(g) for key, g in model.named_grads()}
    assert full.shape == X.shape
    assert model.backward(grad_output, input_grad=False) is None
    for key, grad in model.named_grads():
        np.testing.assert_array_equal(grad, grads[key])


# -- state dicts -----------------------------------------------------------------------------

def test_state_dict_keys_like_pytorch():
    model = mlp([2, 3, 3, 1], "relu", dropout=0.5, seed=0)
    # layers: 0 Dense, 1 ReLU, 2 Dropout, 3 Dense, 4 ReLU, 5 Dropout, 6 Dense
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias"]
    assert state["0.weight"].shape == (3, 2) and state["6.bias"].shape == (1,)
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in state.values())
    # copies: changing the state dict does not change the model
    state["0.weight"][...] = 99
    assert not np.any(model.state_dict()["0.weight"] == 99)
    pytest.importorskip("torch")
    assert list(torch_mirror(model).state_dict()) == list(state)


def test_state_dict_round_trip_with_pytorch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Dropout(0.2),
                              torch.nn.Linear(5, 2))
    model = mlp([4, 5, 2], "tanh", dropout=0.2, seed=1)
    model.load_state_dict(net.state_dict())                 # float32 tensors into float32
    for key, tensor in net.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key], tensor.numpy())
    X = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    with torch.no_grad():
        expected = net.eval()(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(model.eval().forward(X), expected, rtol=1e-5, atol=1e-6)
    # and back: deltaprop's arrays load into a fresh torch module unchanged
    other = mlp([4, 5, 2], "tanh", dropout=0.2, seed=2)
    fresh = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Dropout(0.2),
                                torch.nn.Linear(5, 2))
    fresh.load_state_dict({k: torch.from_numpy(v) for k, v in other.state_dict().items()})
    for key, tensor in fresh.state_dict().items():
        np.testing.assert_array_equal(tensor.numpy(), other.state_dict()[key])


def test_state_dict_round_trip_between_models():
    source, target = mlp([3, 4, 2], seed=0), mlp([3, 4, 2], seed=1)
    target.load_state_dict(source.state_dict())
    for (key, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(a, b, err_msg=key)


def _mutated(state, **changes):
    out = {k: v.copy() for k, v in state.items()}
    for key, value in changes.items():
        out[key.replace("_", ".")] = value
    return out


def test_load_state_dict_errors_and_nothing_half_loaded():
    model = mlp([3, 4, 2], seed=0)
    before = model.state_dict()
    good = {k: v + 1 for k, v in mlp([3, 4, 2], seed=1).state_dict().items()}

    missing = dict(good)
    del missing["2.bias"]
    with pytest.raises(KeyError, match=r"missing keys \['2.bias'\]"):
        model.load_state_dict(missing)
    with pytest.raises(KeyError, match=r"unexpected keys \['4.weight'\]"):
        model.load_state_dict({**good, "4.weight": np.zeros((1, 2), np.float32)})
    # the bad entry comes last, so a loader that wrote as it went would have changed 0.*
    with pytest.raises(ValueError, match=r"'2.bias' must have shape \(2,\), got \(3,\)"):
        model.load_state_dict(_mutated(good, **{"2_bias": np.zeros(3, np.float32)}))
    with pytest.raises(TypeError, match=r"'2.bias' must have dtype float32, got float64"):
        model.load_state_dict(_mutated(good, **{"2_bias": np.zeros(2, np.float64)}))
    with pytest.raises(TypeError, match=r"'2.bias' must have dtype float32, got <U1"):
        model.load_state_dict(_mutated(good, **{"2_bias": np.array(["a", "b"])}))
    with pytest.raises(ValueError, match=r"'2.weight' must have shape \(2, 4\), got \(\)"):
        model.load_state_dict(_mutated(good, **{"2_weight": 1.0}))
    with pytest.raises(TypeError, match="state must be a dict"):
        model.load_state_dict([("0.weight", before["0.weight"])])
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_load_state_dict_copies_the_arrays():
    model = mlp([2, 2], seed=0)
    state = {k: v.copy() for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    state["0.weight"][...] = 42
    assert not np.any(model.state_dict()["0.weight"] == 42)


# -- records: NOTATION.md's quantities -------------------------------------------------------

def test_records_are_the_math(rng):
    model = mlp([4, 5, 3], "tanh", seed=0, dtype=np.float64)
    X = rng.standard_normal((N, 4))
    labels = rng.integers(0, 3, N)
    Y = np.eye(3)[labels]
    output = model.forward(X)
    first, last = model.records()
    assert (first.index, first.position, last.index, last.position) == (1, 0, 2, 2)
    assert first.delta is None and first.grad_weight is None and last.grad_bias is None
    _, grad_output = CrossEntropyLoss()(output, labels)
    model.backward(grad_output)
    first, last = model.records()
    W1, b1 = model[0].params["weight"], model[0].params["bias"]
    W2, b2 = model[2].params["weight"], model[2].params["bias"]

    # forward: Z⁽¹⁾ = X W⁽¹⁾ᵀ + b⁽¹⁾, A⁽¹⁾ = tanh Z⁽¹⁾, Z⁽²⁾ = A⁽¹⁾ W⁽²⁾ᵀ + b⁽²⁾ (logits)
    assert first.a_prev is X and first.dense is model[0] and first.activation is model[1]
    np.testing.assert_allclose(first.z, X @ W1.T + b1, rtol=1e-14)
    np.testing.assert_allclose(first.a, np.tanh(first.z), rtol=1e-14)
    np.testing.assert_allclose(last.a_prev, first.a, rtol=1e-14)
    np.testing.assert_allclose(last.z, first.a @ W2.T + b2, rtol=1e-14)
    assert last.activation is None and last.a is last.z

    # backward: Δ⁽ᴸ⁾ = (softmax(Z⁽ᴸ⁾) − Y)/N, fused cross-entropy
    np.testing.assert_allclose(last.delta, (softmax(np, last.z) - Y) / N, rtol=1e-12)
    np.testing.assert_allclose(last.grad_weight, last.delta.T @ first.a, rtol=1e-12)  # Δᵀ A_prev
    np.testing.assert_allclose(last.grad_bias, last.delta.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(last.grad_a_prev, last.delta @ W2, rtol=1e-12)       # Δ W
    # hidden layer: ∂L/∂A⁽¹⁾ arrives from above, Δ⁽¹⁾ = ∂L/∂A⁽¹⁾ ⊙ (1 − A⁽¹⁾²)
    np.testing.assert_allclose(first.grad_a, last.grad_a_prev, rtol=1e-14)
    np.testing.assert_allclose(first.delta, first.grad_a * (1 - first.a ** 2), rtol=1e-12)
    np.testing.assert_allclose(first.grad_weight, first.delta.T @ X, rtol=1e-12)
    np.testing.assert_allclose(first.grad_bias, first.delta.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(first.grad_a_prev, first.delta @ W1, rtol=1e-12)
    # the records are the layers' own gradients, not recomputed
    assert first.grad_weight is model[0].grads["weight"]


def test_records_with_output_activation_and_dropout(rng):
    model = mlp([3, 4, 2], "relu", output="sigmoid", dropout=0.5, seed=0, dtype=np.float64)
    X = rng.standard_normal((N, 3))
    model.forward(X)
    model.backward(np.ones((N, 2)))
    records = model.records()
    assert len(records) == 2
    assert isinstance(records[0].activation, ReLU) and isinstance(records[1].activation, Sigmoid)
    assert records[1].position == 3                          # 0 Dense, 1 ReLU, 2 Dropout
    np.testing.assert_allclose(records[1].delta, records[1].grad_a * records[1].a
                               * (1 - records[1].a), rtol=1e-12)


# -- the mlp builder -------------------------------------------------------------------------

def test_mlp_layers_sizes_and_activations():
    model = mlp([4, 8, 6, 3], activation="tanh", output="softmax", seed=0)
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Dense", "Tanh", "Dense", "Tanh", "Dense", "Softmax"]
    sizes = [(d.in_features, d.out_features) for d in model.dense_layers]
    assert sizes == [(4, 8), (8, 6), (6, 3)]
    assert model.in_features == 4 and model.out_features == 3
    assert model[1] is not model[3]                           # one activation object per layer
    dropped = mlp([4, 8, 6, 3], dropout=0.25, seed=0)
    assert [type(layer).__name__ for layer in dropped] == \
        ["Dense", "ReLU", "Dropout", "Dense", "ReLU", "Dropout", "Dense"]
    assert dropped[2].p == 0.25
    no_bias = mlp([3, 2, 1], bias=False, seed=0)
    assert list(no_bias.state_dict()) == ["0.weight", "2.weight"]


def test_mlp_seed_dtype_and_init():
    a, b, c = mlp([5, 4, 2], seed=3), mlp([5, 4, 2], seed=3), mlp([5, 4, 2], seed=4)
    for (key, wa), (_, wb), (_, wc) in zip(a.named_parameters(), b.named_parameters(),
                                           c.named_parameters()):
        np.testing.assert_array_equal(wa, wb, err_msg=key)
        if key.endswith("weight"):
            assert not np.array_equal(wa, wc)
    assert a.dtype == np.float32
    double = mlp([5, 4, 2], seed=3, dtype=np.float64)
    assert double.dtype == np.float64
    assert all(v.dtype == np.float64 for _, v in double.named_parameters())
    np.testing.assert_allclose(double.state_dict()["0.weight"], a.state_dict()["0.weight"],
                               rtol=1e-7)
    he = mlp([50, 40, 2], init="he_uniform", seed=0).state_dict()["0.weight"]
    assert np.abs(he).max() <= np.sqrt(6 / 50) and np.abs(he).max() > np.sqrt(6 / 90)
    torch_default = mlp([50, 40, 2], init="torch_default", seed=0).state_dict()
    assert np.any(torch_default["0.bias"] != 0)
    assert np.abs(torch_default["0.bias"]).max() <= 1 / np.sqrt(50)


def test_mlp_dropout_masks_reproducible(rng):
    X = rng.standard_normal((6, 4))
    outputs = [mlp([4, 20, 2], dropout=0.5, seed=9).forward(X) for _ in range(2)]
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_train_and_eval_modes(rng):
    model = mlp([4, 30, 2], dropout=0.5, seed=0)
    X = rng.standard_normal((5, 4)).astype(np.float32)
    assert model.training and all(layer.training for layer in model)
    assert not np.array_equal(model.forward(X), model.forward(X))   # fresh masks
    assert model.eval() is model and not model.training
    assert not any(layer.training for layer in model)
    np.testing.assert_array_equal(model.forward(X), model.forward(X))
    assert model.train().training and model[2].training


@pytest.mark.parametrize("kwargs, message", [
    ({"sizes": [3]}, "at least 2 layer widths"),
    ({"sizes": 3}, "at least 2 layer widths"),
    ({"sizes": [3, 0, 1]}, r"^mlp sizes\[1\] must be an integer >= 1, got 0$"),
    ({"sizes": [3, 2], "dropout": 1.0},
     r"^mlp dropout must be a finite number in \[0, 1\), got 1\.0$"),
    ({"sizes": [3, 2], "dropout": -0.1}, r"^mlp dropout must be a finite number in \[0, 1\)"),
    ({"sizes": [3, 2], "activation": "swish"}, "unknown activation 'swish'"),
    ({"sizes": [3, 2], "output": "swish"}, "unknown activation 'swish'"),
    ({"sizes": [3, 2], "init": "zeros"}, "unknown init 'zeros'"),
])
def test_mlp_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mlp(**kwargs)


def test_mlp_bad_dtype():
    with pytest.raises(TypeError, match="float32 or float64"):
        mlp([3, 2], dtype="int64")


# -- display ---------------------------------------------------------------------------------

def test_repr_summary_n_params():
    model = mlp([2, 3, 1], activation="tanh", output="sigmoid", seed=0)
    assert repr(model) == ("Sequential(\n  (0): Dense(in_features=2, out_features=3)\n"
                           "  (1): Tanh()\n  (2): Dense(in_features=3, out_features=1)\n"
                           "  (3): Sigmoid()\n)")
    assert model.n_params == (2 * 3 + 3) + (3 * 1 + 1)       # 13
    summary = model.summary()
    lines = summary.splitlines()
    assert lines[0] == "Model: Sequential, input (N, 2), float32"
    assert lines[2].split() == ["#", "Layer", "(type)", "Output", "Shape", "Param", "#"]
    assert [line.split()[0] for line in lines[4:8]] == ["0", "1", "2", "3"]
    dense_rows = [line for line in lines if "Dense(" in line]
    assert dense_rows[0].split()[-1] == "9" and dense_rows[1].split()[-1] == "4"
    assert "(N, 3)" in dense_rows[0] and "(N, 1)" in dense_rows[1]
    assert lines[-4:-1] == ["Total params: 13 (52 B)", "Trainable params: 13",
                            "Non-trainable params: 0"]
    assert len({len(line) for line in lines[1:3] + lines[-1:]}) == 1   # the rules span it
    assert len(model) == 4 and isinstance(model[1], Tanh)


# -- model construction and input errors -----------------------------------------------------

def test_sequential_construction_errors():
    with pytest.raises(TypeError, match="layer 1 must be a deltaprop Layer, got str"):
        Sequential(Dense(2, 2), "relu")
    with pytest.raises(ValueError, match="at least one layer"):
        Sequential()
    assert len(Sequential([Dense(2, 3), ReLU()])) == 2         # a list is accepted too


def test_model_input_errors():
    model = mlp([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"2-D array of shape \(N, 3\), got \(3,\)"):
        model.forward(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"2-D array of shape \(N, 3\), got list"):
        model.forward([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match=r"layer 0 of the model: Dense\(in_features=3, "
                                         r"out_features=4\) expected input of shape \(N, 3\), "
                                         r"got \(5, 2\)"):
        model.forward(np.zeros((5, 2), np.float32))
    # a layer further up names its own position
    broken = Sequential(Dense(3, 4), ReLU(), Dense(5, 2))
    with pytest.raises(ValueError, match=r"layer 2 of the model: .*\(N, 5\), got \(1, 4\)"):
        broken.forward(np.zeros((1, 3), np.float32))


def test_forward_casts_input_to_model_dtype(rng):
    model = mlp([3, 2], seed=0)
    assert model.forward(rng.standard_normal((4, 3))).dtype == np.float32
    double = mlp([3, 2], seed=0, dtype=np.float64)
    assert double.forward(rng.standard_normal((4, 3)).astype(np.float32)).dtype == np.float64


def test_copy_casts_and_keeps_original(rng):
    model = mlp([3, 4, 2], seed=0)
    X = rng.standard_normal((2, 3)).astype(np.float32)
    model.forward(X)
    clone = model.copy(dtype=np.float64)
    assert clone.dtype == np.float64 and model.dtype == np.float32
    assert model[0].a_prev is X                                # the original keeps its records
    assert clone[0].a_prev is None
    clone[0].params["weight"][...] = 0                         # the clone is independent
    assert np.any(model[0].params["weight"] != 0)


def test_dropout_layer_has_no_parameters():
    model = Sequential(Dense(2, 2), Dropout(0.1), Dense(2, 1))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


# -- config() / from_config(): the model describes its own architecture ------------------------
def _every_layer_model(dtype=np.float32) -> Sequential:
    """Every layer type of the registry, with non-default arguments where it has any."""
    from deltaprop import ELU, GELU, Identity

    return Sequential(
        Dense(3, 4, seed=0, dtype=dtype), LeakyReLU(0.2), Dropout(0.25, seed=1),
        Dense(4, 5, bias=False, seed=2, dtype=dtype), ELU(0.5), GELU("tanh"),
        Softplus(beta=2.0, threshold=10.0), Dense(5, 6, seed=3, dtype=dtype), GELU(),
        Identity(), Sigmoid(), Tanh(), ReLU(), Dense(6, 3, seed=4, dtype=dtype), Softmax())


# the architecture files of format_version 2 hold for _every_layer_model (the file format)
EVERY_LAYER_ARCHITECTURE = (
    '[{"type": "Dense", "in_features": 3, "out_features": 4, "bias": true}, '
    '{"type": "LeakyReLU", "negative_slope": 0.2}, {"type": "Dropout", "p": 0.25}, '
    '{"type": "Dense", "in_features": 4, "out_features": 5, "bias": false}, '
    '{"type": "ELU", "alpha": 0.5}, {"type": "GELU", "approximate": "tanh"}, '
    '{"type": "Softplus", "beta": 2.0, "threshold": 10.0}, '
    '{"type": "Dense", "in_features": 5, "out_features": 6, "bias": true}, '
    '{"type": "GELU", "approximate": "none"}, {"type": "Identity"}, {"type": "Sigmoid"}, '
    '{"type": "Tanh"}, {"type": "ReLU"}, '
    '{"type": "Dense", "in_features": 6, "out_features": 3, "bias": true}, {"type": "Softmax"}]')


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_config_round_trip_every_layer_type(dtype, rng):
    import json

    from deltaprop.nn import layer_types

    model = _every_layer_model(dtype)
    config = model.config()
    assert {entry["type"] for entry in config} == set(layer_types())   # every type covered
    assert json.loads(json.dumps(config)) == config                    # JSON-able as it is
    rebuilt = Sequential.from_config(json.loads(json.dumps(config)), dtype=dtype, seed=5)
    assert rebuilt.config() == config
    assert [type(a) for a in rebuilt] == [type(b) for b in model]
    assert rebuilt.dtype == np.dtype(dtype)
    rebuilt.load_state_dict(model.state_dict())
    x = rng.normal(size=(N, 3)).astype(dtype)
    np.testing.assert_array_equal(rebuilt.eval().forward(x), model.eval().forward(x))


def test_config_is_the_saved_architecture(tmp_path):
    import safetensors

    from deltaprop.io import architecture, save

    model = _every_layer_model()
    assert architecture(model) == model.config()
    path = save(model, tmp_path / "m.safetensors")
    with safetensors.safe_open(str(path), "np") as handle:
        assert handle.metadata()["architecture"] == EVERY_LAYER_ARCHITECTURE


def test_from_config_seed_and_init():
    config = _every_layer_model().config()
    one, two = (Sequential.from_config(config, seed=7) for _ in range(2))
    for (name, a), (_, b) in zip(one.named_parameters(), two.named_parameters(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
    zeros = Sequential.from_config(config, init=lambda shape, rng, dtype: np.zeros(shape, dtype))
    assert not any(np.any(value) for _, value in zeros.named_parameters())


def test_from_config_unknown_type_names_it_and_the_known_ones():
    from deltaprop import InvalidParameterError
    from deltaprop.nn import layer_types

    with pytest.raises(InvalidParameterError, match="layer 1: unknown type 'Conv2d'") as info:
        Sequential.from_config([{"type": "Dense", "in_features": 2, "out_features": 2,
                                 "bias": True}, {"type": "Conv2d"}])
    for name in layer_types():
        assert name in str(info.value)


@pytest.mark.parametrize("config, match", [
    ([], "non-empty list"),
    ({"type": "ReLU"}, "non-empty list"),
    (["ReLU"], "layer 0: not a dict with a 'type'"),
    ([{"kind": "ReLU"}], "layer 0: unknown type None"),
    ([{"type": "Dropout"}], r"Dropout\) must have exactly the arguments \['p'\], found \[\]"),
    ([{"type": "ReLU", "inplace": True}], r"exactly the arguments \[\], found \['inplace'\]"),
    ([{"type": "Dropout", "p": 1.5}], "p"),
    ([{"type": "Dense", "in_features": 0, "out_features": 2, "bias": True}], "in_features"),
    ([{"type": "Dense", "in_features": 2, "out_features": 3, "bias": True}, {"type": "ReLU"},
      {"type": "Dense", "in_features": 4, "out_features": 1, "bias": True}],
     "layer 2 .* in_features 4 does not chain .* out_features 3"),
])
def test_from_config_bad_configs(config, match):
    from deltaprop import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=match):
        Sequential.from_config(config)


@pytest.mark.parametrize("name", ["Scaled", "Dense"])  # a subclass under its parent's name too
def test_config_refuses_layers_it_cannot_describe(name):
    subclass = type(name, (Dense,), {})

    with pytest.raises(TypeError, match=r"layer 1 .* has no config; supported layers: Dense"):
        Sequential(Dense(2, 2), subclass(2, 2)).config()
