"""Initialisers: shapes, dtypes, bounds and spreads (fixed seed, loose tolerances), names."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from deltaprop import Dense
from deltaprop.nn.init import INITIALIZERS, get_initializer

FAN_OUT, FAN_IN = 200, 300          # 60 000 draws: a sample std is within ~0.6 % of the truth
SHAPE = (FAN_OUT, FAN_IN)

# name -> (uniform bound or None, expected standard deviation)
EXPECTED = {
    "glorot_uniform": (np.sqrt(6 / (FAN_IN + FAN_OUT)), np.sqrt(2 / (FAN_IN + FAN_OUT))),
    "glorot_normal": (None, np.sqrt(2 / (FAN_IN + FAN_OUT))),
    "he_uniform": (np.sqrt(6 / FAN_IN), np.sqrt(2 / FAN_IN)),
    "he_normal": (None, np.sqrt(2 / FAN_IN)),
    "scaled_normal": (None, 0.01),
    "torch_default": (1 / np.sqrt(FAN_IN), 1 / np.sqrt(3 * FAN_IN)),
}


def test_every_initialiser_is_covered():
    assert set(EXPECTED) == set(INITIALIZERS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shape_dtype_bounds_and_spread(name):
    draw = get_initializer(name)
    weight = draw(SHAPE, np.random.default_rng(0), np.float32)
    assert weight.shape == SHAPE and weight.dtype == np.float32
    bound, std = EXPECTED[name]
    assert abs(weight.mean()) < 0.05 * std                       # centred (sd of mean ≈ 0.004σ)
    assert abs(weight.std() / std - 1) < 0.03
    if bound is not None:
        assert np.abs(weight).max() <= bound
        assert np.abs(weight).max() > 0.99 * bound               # fills the interval
    else:
        assert np.abs(weight).max() > 3 * std                    # normal tails, not uniform
    assert draw(SHAPE, np.random.default_rng(0), np.float64).dtype == np.float64


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_same_seed_same_draw(name):
    draw = get_initializer(name)
    a = draw((4, 3), np.random.default_rng(5), np.float64)
    b = draw((4, 3), np.random.default_rng(5), np.float64)
    c = draw((4, 3), np.random.default_rng(6), np.float64)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_scaled_normal_scale():
    draw = functools.partial(get_initializer("scaled_normal"), scale=0.5)
    weight = draw(SHAPE, np.random.default_rng(0), np.float64)
    assert abs(weight.std() / 0.5 - 1) < 0.03


def test_glorot_uses_both_fans():
    # swapping fan_in and fan_out leaves the Glorot bound unchanged but not He's
    rng = np.random.default_rng(0)
    wide = get_initializer("he_uniform")((10, 1000), rng, np.float64)
    tall = get_initializer("he_uniform")((1000, 10), rng, np.float64)
    assert np.abs(wide).max() < 0.1 < np.abs(tall).max()        # √(6/1000) vs √(6/10)


@pytest.mark.parametrize("alias, name", [
    ("xavier_uniform", "glorot_uniform"), ("xavier_normal", "glorot_normal"),
    ("kaiming_uniform", "he_uniform"), ("kaiming_normal", "he_normal"),
    ("Glorot_Uniform", "glorot_uniform"),
])
def test_aliases(alias, name):
    assert get_initializer(alias) is INITIALIZERS[name]


def test_callable_passes_through_and_works_in_dense():
    def ones(shape, rng, dtype):
        return np.ones(shape, dtype=dtype)

    assert get_initializer(ones) is ones
    layer = Dense(3, 2, init=ones, dtype=np.float64)
    np.testing.assert_array_equal(layer.params["weight"], np.ones((2, 3)))


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown init 'orthogonal'") as info:
        get_initializer("orthogonal")
    for name in [*INITIALIZERS, "xavier_uniform", "kaiming_normal"]:
        assert name in str(info.value)
    with pytest.raises(TypeError, match="init must be a name or a callable, got int"):
        get_initializer(3)


def test_dense_uses_init_and_torch_default_bias():
    layer = Dense(300, 200, init="torch_default", seed=0, dtype=np.float64)
    bound = 1 / np.sqrt(300)
    bias = layer.params["bias"]
    assert bias.shape == (200,) and bias.dtype == np.float64
    assert np.abs(bias).max() <= bound and np.abs(bias).max() > 0.9 * bound
    assert abs(bias.std() / (bound / np.sqrt(3)) - 1) < 0.15     # 200 draws
    assert np.abs(layer.params["weight"]).max() <= bound
    for name in ("glorot_uniform", "he_normal", "scaled_normal"):
        np.testing.assert_array_equal(Dense(5, 4, init=name, seed=0).params["bias"], 0.0)


def test_torch_default_matches_pytorch_linear_bound():
    # PyTorch's nn.Linear draws weight and bias from U(−1/√in, 1/√in); compare the spread
    torch = pytest.importorskip("torch")
    with torch.random.fork_rng():            # leaves torch's global RNG as it was
        torch.manual_seed(0)
        linear = torch.nn.Linear(FAN_IN, FAN_OUT, dtype=torch.float64)
    theirs = linear.weight.detach().numpy()
    ours = get_initializer("torch_default")(SHAPE, np.random.default_rng(0), np.float64)
    assert np.abs(theirs).max() <= 1 / np.sqrt(FAN_IN) + 1e-12
    assert abs(ours.std() / theirs.std() - 1) < 0.03
