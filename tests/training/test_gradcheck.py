"""gradcheck: passes on correct models, catches deliberately broken backward passes."""

from __future__ import annotations

import types

import numpy as np
import pytest

from deltaprop import Dense, LeakyReLU, Sequential, Softmax, gradcheck, mlp

N = 5


def _data(rng, n_in, n_out, kind):
    X = rng.standard_normal((N, n_in))
    if kind == "labels":
        return X, rng.integers(0, n_out, N)
    if kind == "binary":
        return X, rng.integers(0, 2, (N, n_out)).astype(np.float64)
    if kind == "probs":
        return X, rng.dirichlet(np.ones(n_out), N)
    return X, rng.standard_normal((N, n_out))


CORRECT = [
    ("tanh_ce", lambda: mlp([4, 5, 3], "tanh", seed=0), "cross_entropy", "labels"),
    ("relu_ce_probs", lambda: mlp([4, 6, 5, 3], "relu", seed=1), "cross_entropy", "probs"),
    ("sigmoid_bce", lambda: mlp([3, 6, 2], "sigmoid", output="sigmoid", seed=2), "bce",
     "binary"),
    ("elu_bce_logits", lambda: mlp([3, 4, 1], "elu", seed=3), "bce_with_logits", "binary"),
    ("gelu_mse", lambda: mlp([3, 5, 2], "gelu", seed=4), "mse", "real"),
    ("softmax_out_mse", lambda: Sequential(Dense(3, 4, seed=5), LeakyReLU(0.1), Dense(4, 3, seed=6),
                                           Softmax()), "mse", "probs"),
    ("dropout_off", lambda: mlp([4, 6, 2], "tanh", dropout=0.5, seed=7), "mse", "real"),
]


@pytest.mark.parametrize("name, build, loss, kind", CORRECT, ids=[c[0] for c in CORRECT])
def test_passes_on_correct_models(rng, name, build, loss, kind):
    model = build()
    X, y = _data(rng, model.in_features, model.out_features, kind)
    result = gradcheck(model, X, y, loss)
    assert result.passed, str(result)
    names = [row.name for row in result.rows]
    assert names == [key for key, _ in model.named_parameters()] + ["input"]
    for row in result.rows:
        assert row.rel_error < 1e-6 and row.checked == int(np.prod(row.shape))


def _broken_backward(scale_key=None, scale=1.01, scale_grad_in=1.0):
    """A Dense backward that gets one thing wrong (bound to the instance, so copies keep it)."""
    def backward(self, delta, *, input_grad=True):
        grad_in = Dense.backward(self, delta, input_grad=input_grad)
        if scale_key is not None:
            self.grads[scale_key] = self.grads[scale_key] * scale
        return None if grad_in is None else grad_in * scale_grad_in
    return backward


def _failed(result):
    return {row.name for row in result.rows if not row.passed}


def test_fails_when_a_weight_gradient_is_off_by_one_percent(rng, monkeypatch):
    model = mlp([4, 5, 3], "tanh", seed=0)
    monkeypatch.setattr(model[2], "backward", types.MethodType(_broken_backward("weight"),
                                                               model[2]))
    X, y = _data(rng, 4, 3, "labels")
    result = gradcheck(model, X, y, "cross_entropy")
    assert not result.passed
    assert _failed(result) == {"2.weight"}
    assert 1e-3 < result["2.weight"].rel_error < 1e-2          # ≈ 0.01 / 2.01
    assert "FAILED" in str(result)


def test_fails_when_a_bias_gradient_is_missing(rng, monkeypatch):
    model = mlp([4, 5, 3], "tanh", seed=0)
    monkeypatch.setattr(model[0], "backward", types.MethodType(_broken_backward("bias", 0.0),
                                                               model[0]))
    X, y = _data(rng, 4, 3, "labels")
    result = gradcheck(model, X, y, "cross_entropy")
    assert _failed(result) == {"0.bias"}
    assert result["0.bias"].rel_error == pytest.approx(1.0)   # ‖0 − g‖ / ‖g‖


def test_wrong_gradient_to_the_layer_below_fails_every_row_below(rng, monkeypatch):
    model = mlp([4, 5, 3], "tanh", seed=0)
    monkeypatch.setattr(model[2], "backward",
                        types.MethodType(_broken_backward(scale_grad_in=1.01), model[2]))
    X, y = _data(rng, 4, 3, "labels")
    result = gradcheck(model, X, y, "cross_entropy")
    assert _failed(result) == {"0.weight", "0.bias", "input"}


def test_wrong_activation_derivative_fails(rng, monkeypatch):
    # tanh′ written as 1 − a instead of 1 − a²: every row below the activation fails
    model = mlp([4, 5, 3], "tanh", seed=0)
    monkeypatch.setattr(model[1], "derivative",
                        types.MethodType(lambda self, xp, z, a: 1 - a, model[1]))
    X, y = _data(rng, 4, 3, "labels")
    result = gradcheck(model, X, y, "cross_entropy")
    assert _failed(result) == {"0.weight", "0.bias", "input"}


def test_table_string_and_dict(rng):
    model = mlp([3, 4, 2], "tanh", seed=0)
    X, y = _data(rng, 3, 2, "real")
    result = gradcheck(model, X, y, "mse")
    text = str(result)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["parameter", "shape", "checked"]
    for name, shape in [("0.weight", "(4, 3)"), ("0.bias", "(4,)"), ("2.weight", "(2, 4)"),
                        ("input", "(5, 3)")]:
        row = next(line for line in lines if line.startswith(name + " "))
        assert shape in row and row.endswith("yes")
    assert lines[-1] == "passed (tolerance 1e-06)"
    assert repr(result) == text
    data = result.to_dict()
    assert data["passed"] is True and data["tol"] == 1e-6
    assert [row["name"] for row in data["rows"]] == ["0.weight", "0.bias", "2.weight", "2.bias",
                                                     "input"]
    assert data["rows"][0]["shape"] == [4, 3]
    with pytest.raises(KeyError, match="no gradcheck row 'nope'"):
        result["nope"]


def test_max_entries_samples_each_parameter(rng):
    model = mlp([6, 8, 3], "tanh", seed=0)
    X, y = _data(rng, 6, 3, "labels")
    result = gradcheck(model, X, y, "cross_entropy", max_entries=4)
    assert result.passed
    assert [row.checked for row in result.rows] == [4, 4, 4, 3, 4]   # 2.bias has only 3


def test_tolerance_is_applied(rng, monkeypatch):
    model = mlp([4, 5, 3], "tanh", seed=0)
    monkeypatch.setattr(model[2], "backward", types.MethodType(_broken_backward("weight"),
                                                               model[2]))
    X, y = _data(rng, 4, 3, "labels")
    assert gradcheck(model, X, y, "cross_entropy", tol=0.01).passed   # 0.5 % is within 1 %


def test_original_model_untouched(rng):
    model = mlp([4, 5, 3], "tanh", dropout=0.2, seed=0)
    X, y = _data(rng, 4, 3, "labels")
    X32 = X.astype(np.float32)
    model.forward(X32)                                          # records of a learner's pass
    before = {key: np.array(value) for key, value in model.named_parameters()}
    gradcheck(model, X, y, "cross_entropy")
    assert model.dtype == np.float32 and model.training
    assert all(value.dtype == np.float32 for _, value in model.named_parameters())
    for key, value in model.named_parameters():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    assert model[0].a_prev is X32


def test_bad_data_is_rejected(rng):
    model = mlp([4, 5, 3], "tanh", seed=0)
    X, y = _data(rng, 4, 3, "labels")
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        gradcheck(model, X[:, :3], y, "cross_entropy")
    with pytest.raises(ValueError, match="labels must lie in"):
        gradcheck(model, X, y + 3, "cross_entropy")
    with pytest.raises(ValueError, match="unknown loss"):
        gradcheck(model, X, y, "hinge")
