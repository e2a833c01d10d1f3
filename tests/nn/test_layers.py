"""Dense and Dropout: a hand-worked example, central differences, records, modes, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from deltaprop import Dense, Dropout
from helpers import numeric_grad, rel_error


def _dense(weight, bias=None):
    """A float64 Dense layer with the given weight (out, in) and bias (out,)."""
    weight = np.array(weight, dtype=np.float64)
    layer = Dense(weight.shape[1], weight.shape[0], bias=bias is not None, dtype=np.float64)
    layer.params["weight"] = weight
    if bias is not None:
        layer.params["bias"] = np.array(bias, dtype=np.float64)
    return layer


def test_dense_hand_worked_example():
    # 2 samples, 2 inputs, 3 outputs.
    X = np.array([[1.0, 2.0],
                  [3.0, -1.0]])
    W = [[1.0, 0.0],       # neuron 0 reads x₁
         [0.0, 1.0],       # neuron 1 reads x₂
         [1.0, -1.0]]      # neuron 2 reads x₁ − x₂
    b = [0.5, -0.5, 1.0]
    layer = _dense(W, b)

    # Z = X Wᵀ + b
    # row 1: [1, 2, 1 − 2] + b = [1.5, 1.5, 0.0]
    # row 2: [3, −1, 3 + 1] + b = [3.5, −1.5, 5.0]
    Z = layer.forward(X)
    np.testing.assert_array_equal(Z, [[1.5, 1.5, 0.0], [3.5, -1.5, 5.0]])

    delta = np.array([[1.0, 0.0, 2.0],
                      [0.0, 1.0, -1.0]])
    grad_in = layer.backward(delta)
    # ∂L/∂W = Δᵀ X, one row per output neuron:
    # neuron 0: 1·[1, 2] + 0·[3, −1] = [1, 2]
    # neuron 1: 0·[1, 2] + 1·[3, −1] = [3, −1]
    # neuron 2: 2·[1, 2] − 1·[3, −1] = [2 − 3, 4 + 1] = [−1, 5]
    np.testing.assert_array_equal(layer.grads["weight"], [[1.0, 2.0], [3.0, -1.0], [-1.0, 5.0]])
    # ∂L/∂b = column sums of Δ: [1 + 0, 0 + 1, 2 − 1] = [1, 1, 1]
    np.testing.assert_array_equal(layer.grads["bias"], [1.0, 1.0, 1.0])
    # ∂L/∂X = Δ W:
    # row 1: 1·[1, 0] + 0·[0, 1] + 2·[1, −1] = [3, −2]
    # row 2: 0·[1, 0] + 1·[0, 1] − 1·[1, −1] = [−1, 2]
    np.testing.assert_array_equal(grad_in, [[3.0, -2.0], [-1.0, 2.0]])


def test_dense_records_and_shapes(rng):
    layer = Dense(4, 3, dtype=np.float64, seed=0)
    assert layer.params["weight"].shape == (3, 4) and layer.params["bias"].shape == (3,)
    assert layer.grads.keys() == layer.params.keys()
    X = rng.standard_normal((5, 4))
    Z = layer.forward(X)
    assert Z.shape == (5, 3)
    assert layer.a_prev is X and layer.z is Z
    delta = rng.standard_normal((5, 3))
    grad_in = layer.backward(delta)
    assert grad_in.shape == (5, 4)
    assert layer.delta is delta and layer.grad_in is grad_in
    assert layer.grads["weight"].shape == (3, 4) and layer.grads["bias"].shape == (3,)
    layer.clear_cache()
    assert layer.a_prev is None and layer.z is None and layer.delta is None


def test_dense_default_dtype_float32_and_zero_bias():
    layer = Dense(3, 2, seed=0)
    assert layer.params["weight"].dtype == np.float32
    assert layer.params["bias"].dtype == np.float32
    np.testing.assert_array_equal(layer.params["bias"], 0.0)
    assert layer.forward(np.ones((2, 3), np.float32)).dtype == np.float32


@pytest.mark.parametrize("bias", [True, False])
def test_dense_central_differences(rng, bias):
    # L = Σ G ⊙ Z for a fixed random G, so ∂L/∂Z = G and every gradient is testable.
    layer = Dense(4, 3, bias=bias, dtype=np.float64, init="he_normal", seed=1)
    if bias:
        layer.params["bias"] = rng.standard_normal(3)
    X = rng.standard_normal((6, 4))
    G = rng.standard_normal((6, 3))

    def loss(_=None) -> float:
        return float(np.sum(G * layer.forward(X)))

    layer.forward(X)
    grad_in = layer.backward(G)
    for key in layer.params:
        numeric = numeric_grad(loss, layer.params[key])
        assert rel_error(layer.grads[key], numeric) < 1e-8, key
    assert rel_error(grad_in, numeric_grad(loss, X)) < 1e-8
    if not bias:
        assert "bias" not in layer.params and "bias" not in layer.grads


def test_dense_input_grad_false_skips_grad_in(rng):
    layer = Dense(3, 2, dtype=np.float64, seed=0)
    X = rng.standard_normal((4, 3))
    layer.forward(X)
    delta = rng.standard_normal((4, 2))
    assert layer.backward(delta, input_grad=False) is None
    assert layer.grad_in is None
    np.testing.assert_allclose(layer.grads["weight"], delta.T @ X)


def test_dense_wrong_width_names_layer_and_shapes():
    layer = Dense(3, 4)
    with pytest.raises(ValueError, match=r"Dense\(in_features=3, out_features=4\)") as info:
        layer.forward(np.zeros((5, 4), np.float32))
    assert "(N, 3)" in str(info.value) and "(5, 4)" in str(info.value)
    with pytest.raises(ValueError, match=r"\(N, 3\).*\(3,\)"):
        layer.forward(np.zeros(3, np.float32))


@pytest.mark.parametrize("in_features, out_features, bad", [
    (0, 2, "in_features"), (-1, 2, "in_features"), (2.5, 2, "in_features"),
    (True, 2, "in_features"), (2, 0, "out_features"), (2, "3", "out_features"),
])
def test_dense_bad_features(in_features, out_features, bad):
    with pytest.raises(ValueError, match=f"^Dense {bad} must be an integer >= 1, got "):
        Dense(in_features, out_features)


def test_dense_bad_dtype_and_init():
    with pytest.raises(TypeError, match="float32 or float64"):
        Dense(2, 2, dtype=np.int32)
    with pytest.raises(ValueError, match="unknown init 'nope'"):
        Dense(2, 2, init="nope")


def test_dense_repr():
    assert repr(Dense(3, 4)) == "Dense(in_features=3, out_features=4)"
    assert repr(Dense(3, 4, bias=False)) == "Dense(in_features=3, out_features=4, bias=False)"


def test_dense_same_seed_same_weights():
    a, b, c = Dense(5, 4, seed=7), Dense(5, 4, seed=7), Dense(5, 4, seed=8)
    np.testing.assert_array_equal(a.params["weight"], b.params["weight"])
    assert not np.array_equal(a.params["weight"], c.params["weight"])


# -- Dropout ---------------------------------------------------------------------------------

def test_dropout_training_inverted_scaling_and_mask_in_backward(rng):
    p = 0.25
    layer = Dropout(p, seed=0)
    X = rng.standard_normal((400, 50))
    out = layer.forward(X)
    kept = out != 0
    # kept entries are scaled by 1 / (1 − p), dropped ones are exactly zero
    np.testing.assert_allclose(out[kept], X[kept] / (1 - p), rtol=1e-15)
    assert abs((~kept).mean() - p) < 0.01                   # 20 000 draws: sd ≈ 0.003
    # the mean activation is preserved in expectation
    assert abs(layer.forward(np.ones((400, 50))).mean() - 1.0) < 0.02
    layer.forward(X)
    grad_out = rng.standard_normal(X.shape)
    grad_in = layer.backward(grad_out)
    np.testing.assert_array_equal(grad_in, grad_out * layer.mask)
    # the same mask as the forward pass: zeros where the output was dropped
    out = layer.forward(X)
    grad_in = layer.backward(np.ones_like(X))
    np.testing.assert_array_equal(grad_in == 0, out == 0)
    np.testing.assert_allclose(grad_in[out != 0], 1 / (1 - p))


def test_dropout_eval_is_identity(rng):
    layer = Dropout(0.5, seed=0)
    layer.training = False
    X = rng.standard_normal((8, 3))
    assert layer.forward(X) is X
    assert layer.mask is None
    grad = rng.standard_normal((8, 3))
    assert layer.backward(grad) is grad


def test_dropout_p_zero_is_identity(rng):
    X = rng.standard_normal((4, 3))
    assert Dropout(0.0).forward(X) is X


def test_dropout_reproducible_with_seed(rng):
    X = rng.standard_normal((20, 10))
    a, b = Dropout(0.5, seed=3), Dropout(0.5, seed=3)
    np.testing.assert_array_equal(a.forward(X), b.forward(X))
    np.testing.assert_array_equal(a.forward(X), b.forward(X))       # second draws agree too
    assert not np.array_equal(Dropout(0.5, seed=4).forward(X), Dropout(0.5, seed=3).forward(X))


def test_dropout_keeps_dtype():
    out = Dropout(0.5, seed=0).forward(np.ones((10, 10), np.float32))
    assert out.dtype == np.float32


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, "0.5", True, None])
def test_dropout_bad_p(p):
    with pytest.raises(ValueError, match=r"^Dropout p must be a finite number in \[0, 1\), got "):
        Dropout(p)


def test_dropout_repr():
    assert repr(Dropout(0.3)) == "Dropout(p=0.3)"
