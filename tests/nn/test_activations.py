"""Activations: central differences, PyTorch parity, extreme inputs, the name table."""

from __future__ import annotations

import numpy as np
import pytest

from deltaprop import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from deltaprop.nn.activations import ACTIVATIONS, get_activation
from helpers import numeric_grad, rel_error

# (id, factory, torch functional name and kwargs)
CASES = [
    ("identity", Identity, None),
    ("sigmoid", Sigmoid, ("sigmoid", {})),
    ("tanh", Tanh, ("tanh", {})),
    ("relu", ReLU, ("relu", {})),
    ("leaky_relu", lambda: LeakyReLU(0.1), ("leaky_relu", {"negative_slope": 0.1})),
    ("elu", lambda: ELU(1.5), ("elu", {"alpha": 1.5})),
    ("gelu", GELU, ("gelu", {})),
    ("gelu_tanh", lambda: GELU("tanh"), ("gelu", {"approximate": "tanh"})),
    ("softplus", Softplus, ("softplus", {})),
    ("softplus_beta2", lambda: Softplus(beta=2.0, threshold=5.0),
     ("softplus", {"beta": 2.0, "threshold": 5.0})),
    ("softmax", Softmax, ("softmax", {"dim": 1})),
]
IDS = [case[0] for case in CASES]


def _inputs(rng, shape=(5, 4)) -> np.ndarray:
    """Float64 inputs in ±[0.1, 3]: away from the kinks of ReLU, LeakyReLU and ELU at 0, and
    from Softplus's threshold (β z = 5 for the β = 2 case needs z = 2.5: kept clear below)."""
    magnitude = rng.uniform(0.1, 2.4, size=shape)
    return magnitude * rng.choice([-1.0, 1.0], size=shape)


@pytest.mark.parametrize("name, factory, torch_spec", CASES, ids=IDS)
def test_central_differences(rng, name, factory, torch_spec):
    # L = Σ G ⊙ φ(Z) with an arbitrary upstream G: checks the full backward, Softmax included
    layer = factory()
    Z = _inputs(rng)
    G = rng.standard_normal(Z.shape)

    def loss(_=None) -> float:
        return float(np.sum(G * layer.forward(Z)))

    layer.forward(Z)
    analytic = layer.backward(G)
    assert analytic.shape == Z.shape and analytic.dtype == np.float64
    assert rel_error(analytic, numeric_grad(loss, Z)) < 1e-8


@pytest.mark.parametrize("name, factory, torch_spec", CASES, ids=IDS)
def test_torch_parity(rng, name, factory, torch_spec):
    torch = pytest.importorskip("torch")
    layer = factory()
    Z = _inputs(rng, (6, 5))
    G = rng.standard_normal(Z.shape)
    z = torch.tensor(Z, requires_grad=True)
    if torch_spec is None:
        a = z * 1.0
    else:
        function, kwargs = torch_spec
        a = getattr(torch.nn.functional, function)(z, **kwargs)
    a.backward(torch.from_numpy(G))
    A = layer.forward(Z)
    grad = layer.backward(G)
    np.testing.assert_allclose(A, a.detach().numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(grad, z.grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name, factory, torch_spec", CASES, ids=IDS)
def test_extreme_inputs_are_finite(name, factory, torch_spec):
    # warnings are errors: an overflow in exp would fail this test
    layer = factory()
    Z = np.array([[-1000.0, -30.0, 0.5, 30.0, 1000.0],
                  [1000.0, 1000.0, -1000.0, 0.0, -1000.0]])
    A = layer.forward(Z)
    grad = layer.backward(np.ones_like(Z))
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(grad))


def test_extreme_values_are_right():
    Z = np.array([[-1000.0, 1000.0]])
    np.testing.assert_array_equal(Sigmoid().forward(Z), [[0.0, 1.0]])
    np.testing.assert_array_equal(Tanh().forward(Z), [[-1.0, 1.0]])
    np.testing.assert_array_equal(Softplus().forward(Z), [[0.0, 1000.0]])
    np.testing.assert_array_equal(ELU().forward(Z), [[-1.0, 1000.0]])
    np.testing.assert_array_equal(GELU().forward(Z), [[-0.0, 1000.0]])
    np.testing.assert_array_equal(Softmax().forward(Z), [[0.0, 1.0]])
    # Sigmoid's derivative a(1 − a) vanishes at both ends, without NaN
    layer = Sigmoid()
    layer.forward(Z)
    np.testing.assert_array_equal(layer.backward(np.ones_like(Z)), [[0.0, 0.0]])


def test_sigmoid_tanh_derivative_from_output(rng):
    Z = _inputs(rng)
    for layer, expected in ((Sigmoid(), lambda a: a * (1 - a)), (Tanh(), lambda a: 1 - a * a)):
        A = layer.forward(Z)
        np.testing.assert_allclose(layer.backward(np.ones_like(Z)), expected(A), rtol=1e-14)


def test_relu_derivative_is_zero_at_zero():
    # PyTorch's convention: ReLU′(0) = 0; LeakyReLU′(0) = slope
    Z = np.array([[0.0, -1.0, 2.0]])
    relu, leaky = ReLU(), LeakyReLU(0.2)
    relu.forward(Z)
    leaky.forward(Z)
    np.testing.assert_array_equal(relu.backward(np.ones_like(Z)), [[0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(leaky.backward(np.ones_like(Z)), [[0.2, 0.2, 1.0]])


def test_softmax_jacobian_vector_product_matches_full_jacobian(rng):
    layer = Softmax()
    Z = rng.standard_normal((3, 4))
    G = rng.standard_normal((3, 4))
    A = layer.forward(Z)
    grad = layer.backward(G)
    for n in range(3):
        J = layer.jacobian(np, A[n])                  # ∂aᵢ/∂zⱼ = aᵢ(1ᵢⱼ − aⱼ), symmetric
        np.testing.assert_allclose(J, np.diag(A[n]) - np.outer(A[n], A[n]), rtol=1e-15)
        np.testing.assert_allclose(grad[n], J.T @ G[n], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=1e-15)
    # a constant upstream gradient has no effect (softmax is shift invariant along the row)
    layer.forward(Z)
    np.testing.assert_allclose(layer.backward(np.ones_like(Z)), 0.0, atol=1e-15)


@pytest.mark.parametrize("name, factory, torch_spec", CASES, ids=IDS)
def test_float32_stays_float32(rng, name, factory, torch_spec):
    layer = factory()
    Z = _inputs(rng).astype(np.float32)
    assert layer.forward(Z).dtype == np.float32
    assert layer.backward(np.ones_like(Z)).dtype == np.float32


def test_records_z_a_and_gradients(rng):
    layer = Tanh()
    Z = _inputs(rng)
    A = layer.forward(Z)
    G = rng.standard_normal(Z.shape)
    grad_in = layer.backward(G)
    assert layer.z is Z and layer.a is A and layer.grad_out is G and layer.grad_in is grad_in
    layer.clear_cache()
    assert layer.z is None and layer.a is None


def test_get_activation_names_classes_instances():
    assert isinstance(get_activation("relu"), ReLU)
    assert isinstance(get_activation("ReLU"), ReLU)                  # case-insensitive
    assert isinstance(get_activation("linear"), Identity)
    assert isinstance(get_activation("logistic"), Sigmoid)
    assert get_activation(LeakyReLU, negative_slope=0.3).negative_slope == 0.3
    instance = ELU(0.5)
    assert get_activation(instance) is instance
    for name, cls in ACTIVATIONS.items():
        assert type(get_activation(name)) is cls


def test_get_activation_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown activation 'swish'") as info:
        get_activation("swish")
    for name in ACTIVATIONS:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="unknown activation"):
        get_activation(3)


@pytest.mark.parametrize("build, message", [
    (lambda: LeakyReLU(-0.1), "negative_slope"),
    (lambda: LeakyReLU(float("nan")), "negative_slope"),
    (lambda: ELU(0.0), "alpha"),
    (lambda: ELU("1"), "alpha"),
    (lambda: GELU("erf"), "approximate"),
    (lambda: Softplus(beta=0), "beta"),
])
def test_bad_hyperparameters(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_reprs():
    assert repr(ReLU()) == "ReLU()"
    assert repr(LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(ELU(2.0)) == "ELU(alpha=2.0)"
    assert repr(GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(GELU()) == "GELU()"
    assert repr(Softplus()) == "Softplus()"
