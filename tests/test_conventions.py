"""One convention per concept: ``seed=`` for randomness (``rng=`` a deprecated alias) and
optimiser options by keyword only (PyTorch's positional order differs)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.nn.init import INITIALIZERS, glorot_uniform
from deltaprop.nn.optim import Optimizer

X = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)

# the things that used to take rng=: each built with the old and the new spelling
BUILDERS = {
    "Dense": lambda **kw: dp.Dense(3, 4, **kw).params["weight"],
    "Dropout": lambda **kw: dp.Dropout(0.5, **kw).forward(X),
    **{name: functools.partial(lambda name, **kw: INITIALIZERS[name]((4, 3), **kw), name)
       for name in sorted(INITIALIZERS)},
}


@pytest.mark.parametrize("owner", sorted(BUILDERS))
def test_rng_is_a_deprecated_alias_of_seed(owner):
    build = BUILDERS[owner]
    with pytest.warns(DeprecationWarning, match=rf"^{owner} rng= is deprecated .*pass seed=") \
            as record:
        old = build(rng=7)
    assert record[0].filename == __file__                   # points at the caller's line
    np.testing.assert_array_equal(old, build(seed=7))        # the same draw
    assert not np.array_equal(build(seed=7), build(seed=8))


@pytest.mark.parametrize("owner", sorted(BUILDERS))
def test_seed_and_rng_together_are_refused(owner):
    with pytest.raises(dp.InvalidParameterError,
                       match=rf"^{owner} got both seed=1 and rng=2: .*pass seed only"):
        BUILDERS[owner](seed=1, rng=2)


def test_rng_alias_still_checks_the_seed():
    with pytest.warns(DeprecationWarning), pytest.raises(dp.InvalidParameterError,
                                                         match=r"^Dense seed must be None"):
        dp.Dense(2, 2, rng="zero")


def test_a_generator_passed_as_seed_is_shared():
    generator = np.random.default_rng(0)
    first = dp.Dense(2, 2, seed=generator).params["weight"]
    second = dp.Dense(2, 2, seed=generator).params["weight"]
    assert not np.array_equal(first, second)                 # one stream, drawn in turn
    fresh = np.random.default_rng(0)
    np.testing.assert_array_equal(first, glorot_uniform((2, 2), fresh))


def test_mlp_seed_gives_the_same_weights_as_before():
    # mlp shares one Generator across its layers, as it did with rng=
    generator = np.random.default_rng(3)
    expected = [dp.Dense(2, 3, seed=generator).params["weight"],
                dp.Dense(3, 1, seed=generator).params["weight"]]
    model = dp.mlp([2, 3, 1], seed=3)
    for layer, weight in zip(model.dense_layers, expected):
        np.testing.assert_array_equal(layer.params["weight"], weight)


@pytest.mark.parametrize(("cls", "args", "keywords"), [
    (dp.SGD, (0.1, 0.9),
     "SGD(model, lr, *, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, "
     "fused=None)"),
    (dp.SGD, (0.1, 0.9, 0.5, 0.0, True),
     "SGD(model, lr, *, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, "
     "fused=None)"),
    (dp.Adam, (0.01, (0.8, 0.9)),
     "Adam(model, lr, *, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0, fused=None)"),
    (dp.AdamW, (0.01, (0.8, 0.9), 1e-8, 0.1),
     "AdamW(model, lr, *, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, fused=None)"),
])
def test_options_after_lr_are_keyword_only(cls, args, keywords):
    model = dp.mlp([2, 2], seed=0)
    with pytest.raises(TypeError) as info:
        cls(model, *args)
    message = str(info.value)
    assert message.startswith(f"{cls.__name__} takes model and lr by position and every "
                              "other argument by keyword (PyTorch's positional order differs)")
    assert keywords in message
    assert message.endswith(f"got {', '.join(map(repr, args[1:]))} after lr")


def test_lr_may_stay_positional_and_the_keywords_work():
    model = dp.mlp([2, 2], seed=0)
    sgd = dp.SGD(model, 0.1, momentum=0.9, dampening=0.5, weight_decay=0.01)
    assert (sgd.lr, sgd.momentum, sgd.dampening, sgd.weight_decay, sgd.nesterov) == \
        (0.1, 0.9, 0.5, 0.01, False)
    assert dp.SGD(model, 0.1, momentum=0.9, nesterov=True).nesterov
    adamw = dp.AdamW(model, 0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)
    assert (adamw.betas, adamw.eps, adamw.weight_decay) == ((0.8, 0.9), 1e-6, 0.1)
    assert dp.AdamW(model).weight_decay == 0.01


def test_a_custom_optimizer_keeps_its_own_positional_arguments():
    class Scaled(Optimizer):
        def __init__(self, model, lr, scale):
            super().__init__(model, lr)
            self.scale = scale

        def _change(self, state, param, grad):
            return None, self.lr * self.scale * grad

    assert Scaled(dp.mlp([2, 2], seed=0), 0.1, 2.0).scale == 2.0
    with pytest.raises(TypeError, match="positional argument"):        # Python's own error
        Scaled(dp.mlp([2, 2], seed=0), 0.1, 2.0, 3.0)
