"""One place for parameter checks: every public parameter converted to ``deltaprop._checks``.

The table below holds one row per parameter: a NumPy scalar that must be accepted, and the
values that must be refused (a bool, a string, NaN and the parameter's own out-of-range
values) with :class:`InvalidParameterError` whose message is exactly
``"<Owner> <name> must be <rule>, got <value!r>"``.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

import deltaprop as dp
from deltaprop._checks import check_number, check_seed
from deltaprop.datasets import toy
from deltaprop.io.checkpoint import Checkpoint
from deltaprop.nn.init import INITIALIZERS, glorot_uniform, scaled_normal
from deltaprop.training import validation
from deltaprop.training.preprocessing import train_test_split

NAN = float("nan")
NUMBER = "a finite number"
SEED = "None, an integer >= 0 or a np.random.Generator"

# values every parameter of a kind refuses (the row adds its own out-of-range values)
COMMON_BAD = {
    "number": [True, np.True_, "0.5", NAN, np.float32("nan"), math.inf, None, 10**400],
    "integer": [True, np.True_, "3", 2.5, NAN, np.float64(3.0), None],
    "flag": [1, 0, "yes", NAN, None],
    "seed": [True, "3", 1.5, NAN, -1, np.int64(-2)],
    "choice": [True, "bogus", NAN, None],
}


def _model():
    return dp.mlp([2, 2], seed=0)


def _opt(cls, **fixed):
    return lambda **kw: cls(_model(), **fixed, **kw)


def _sched(cls, *args, **fixed):
    return lambda **kw: cls(dp.SGD(_model(), lr=0.1), *args, **fixed, **kw)


def _gradcheck(**kw):
    X = np.array([[0.5, -1.0], [2.0, 0.1]])
    return dp.gradcheck(dp.mlp([2, 2], seed=0), X, np.array([0, 1]), "cross_entropy", **kw)


# (call taking the parameter as keyword ``name``, owner, name, kind, accepted NumPy scalar,
#  out-of-range values, rule)
ROWS = [
    (lambda **kw: dp.Dense(**{"in_features": 2, "out_features": 3} | kw), "Dense",
     "in_features", "integer", np.int64(3), [0, -1], "an integer >= 1"),
    (lambda **kw: dp.Dense(**{"in_features": 2, "out_features": 3} | kw), "Dense",
     "out_features", "integer", np.int32(3), [0], "an integer >= 1"),
    (lambda **kw: dp.Dense(2, 3, **kw), "Dense", "bias", "flag", np.False_, [], "True or False"),
    (lambda **kw: dp.Dense(2, 3, **kw), "Dense", "seed", "seed", np.int64(4), [], SEED),
    (lambda **kw: dp.Dropout(**kw), "Dropout", "p", "number", np.float32(0.5), [1.0, -0.1, 1.5],
     f"{NUMBER} in [0, 1)"),
    (lambda **kw: dp.Dropout(**kw), "Dropout", "seed", "seed", np.uint8(7), [], SEED),
    (dp.LeakyReLU, "LeakyReLU", "negative_slope", "number", np.float32(0.1), [-0.01],
     f"{NUMBER} in [0, inf)"),
    (dp.ELU, "ELU", "alpha", "number", np.float16(0.5), [0, -1.0], f"{NUMBER} in (0, inf)"),
    (dp.Softplus, "Softplus", "beta", "number", np.int64(2), [0.0], f"{NUMBER} in (0, inf)"),
    (dp.Softplus, "Softplus", "threshold", "number", np.float32(10), [-math.inf], NUMBER),
    (dp.GELU, "GELU", "approximate", "choice", np.str_("tanh"), ["Tanh", ""],
     "'none' or 'tanh'"),
    (lambda **kw: scaled_normal((2, 2), 0, **kw), "scaled_normal", "scale", "number",
     np.float32(0.1), [-0.5], f"{NUMBER} in [0, inf)"),
    *[(lambda name=name, **kw: INITIALIZERS[name]((2, 2), **kw), name, "seed", "seed",
       np.int64(1), [], SEED) for name in sorted(INITIALIZERS)],
    (lambda **kw: dp.mlp(**{"sizes": [2, 3, 1]} | kw), "mlp", "dropout", "number",
     np.float32(0.25), [1.0, -0.5], f"{NUMBER} in [0, 1)"),
    (lambda **kw: dp.mlp([2, 3, 1], **kw), "mlp", "bias", "flag", np.True_, [], "True or False"),
    (lambda **kw: dp.mlp([2, 3, 1], **kw), "mlp", "seed", "seed", np.int64(0), [], SEED),
    (lambda **kw: dp.mlp([2, kw.pop("sizes[1]"), 1]), "mlp", "sizes[1]", "integer",
     np.int16(3), [0], "an integer >= 1"),
    *[(_opt(cls), cls.__name__, "lr", "number", np.float32(0.1), [-0.1], f"{NUMBER} in [0, inf)")
      for cls in (dp.SGD, dp.Adam, dp.AdamW)],
    (_opt(dp.SGD), "SGD", "momentum", "number", np.float32(0.9), [1.0, -0.1],
     f"{NUMBER} in [0, 1)"),
    (_opt(dp.SGD), "SGD", "dampening", "number", np.float64(0.5), [1.5, -0.1],
     f"{NUMBER} in [0, 1]"),
    (_opt(dp.SGD), "SGD", "weight_decay", "number", np.float32(1e-4), [-1e-4],
     f"{NUMBER} in [0, inf)"),
    (_opt(dp.SGD, momentum=0.9), "SGD", "nesterov", "flag", np.True_, [], "True or False"),
    *[(lambda cls=cls, **kw: cls(_model(), betas=(kw.pop("betas[0]"), 0.999)), cls.__name__,
       "betas[0]", "number", np.float32(0.8), [1.0, -0.1], f"{NUMBER} in [0, 1)")
      for cls in (dp.Adam, dp.AdamW)],
    (lambda **kw: dp.Adam(_model(), betas=(0.9, kw.pop("betas[1]"))), "Adam", "betas[1]",
     "number", np.float64(0.99), [1.0], f"{NUMBER} in [0, 1)"),
    *[(_opt(cls), cls.__name__, name, "number", np.float32(1e-6), [-1.0], f"{NUMBER} in [0, inf)")
      for cls in (dp.Adam, dp.AdamW) for name in ("eps", "weight_decay")],
    (_sched(dp.StepLR), "StepLR", "step_size", "integer", np.int64(2), [0], "an integer >= 1"),
    (_sched(dp.StepLR, 2), "StepLR", "gamma", "number", np.float32(0.5), [0.0, -1.0],
     f"{NUMBER} in (0, inf)"),
    (_sched(dp.ExponentialLR), "ExponentialLR", "gamma", "number", np.float32(0.9), [0],
     f"{NUMBER} in (0, inf)"),
    (_sched(dp.CosineAnnealingLR), "CosineAnnealingLR", "T_max", "integer", np.int64(5), [0],
     "an integer >= 1"),
    (_sched(dp.CosineAnnealingLR, 5), "CosineAnnealingLR", "eta_min", "number",
     np.float32(0.0), [-0.1], f"{NUMBER} in [0, inf)"),
    (_sched(dp.ReduceLROnPlateau), "ReduceLROnPlateau", "mode", "choice", np.str_("max"),
     ["auto"], "'min' or 'max'"),
    (_sched(dp.ReduceLROnPlateau), "ReduceLROnPlateau", "factor", "number", np.float32(0.5),
     [0.0, 1.0], f"{NUMBER} in (0, 1)"),
    *[(_sched(dp.ReduceLROnPlateau), "ReduceLROnPlateau", name, "integer", np.int64(0), [-1],
       "an integer >= 0") for name in ("patience", "cooldown")],
    *[(_sched(dp.ReduceLROnPlateau), "ReduceLROnPlateau", name, "number", np.float32(0.0),
       [-1e-3], f"{NUMBER} in [0, inf)") for name in ("threshold", "min_lr")],
    (dp.EarlyStopping, "EarlyStopping", "patience", "integer", np.int64(3), [0],
     "an integer >= 1"),
    (dp.EarlyStopping, "EarlyStopping", "min_delta", "number", np.float32(0.01), [-0.01],
     f"{NUMBER} in [0, inf)"),
    (dp.EarlyStopping, "EarlyStopping", "restore_best_weights", "flag", np.False_, [],
     "True or False"),
    (dp.EarlyStopping, "EarlyStopping", "mode", "choice", np.str_("max"), ["MIN"],
     "'auto', 'min' or 'max'"),
    *[(getattr(toy, name), name, "n_samples", "integer", np.int64(8), [1, 0],
       "an integer >= 2") for name in ("quadrants", "moons", "circles", "spirals", "blobs",
                                      "curve")],
    *[(lambda name=name, **kw: getattr(toy, name)(8, **kw), name, "noise", "number",
       np.float32(0.1), [-0.1], f"{NUMBER} in [0, inf)") for name in ("quadrants", "curve")],
    *[(lambda name=name, **kw: getattr(toy, name)(8, **kw), name, "seed", "seed",
       np.int64(3), [], SEED) for name in ("moons", "blobs")],
    (lambda **kw: toy.circles(8, **kw), "circles", "factor", "number", np.float32(0.3),
     [0.0, 1.0], f"{NUMBER} in (0, 1)"),
    (lambda **kw: toy.spirals(8, **kw), "spirals", "n_classes", "integer", np.int64(3), [1],
     "an integer >= 2"),
    (lambda **kw: toy.spirals(8, **kw), "spirals", "turns", "number", np.float32(2.0), [],
     NUMBER),
    (lambda **kw: toy.blobs(8, **kw), "blobs", "centers", "integer", np.int64(4), [1],
     "an integer >= 2"),
    (lambda **kw: train_test_split(np.zeros((8, 2)), np.arange(8) % 2, **kw),
     "train_test_split", "seed", "seed", np.int64(1), [], SEED),
    (lambda **kw: train_test_split(np.zeros((8, 2)), np.arange(8) % 2, **kw),
     "train_test_split", "stratify", "flag", np.True_, [], "True or False"),
    (lambda **kw: dp.confusion_matrix([0, 1], [1, 1], **kw), "confusion_matrix", "n_classes",
     "integer", np.int64(3), [0], "None or an integer >= 1"),
    (_gradcheck, "gradcheck", "eps", "number", np.float32(1e-3), [0.0, -1e-6],
     f"{NUMBER} in (0, inf)"),
    (_gradcheck, "gradcheck", "tol", "number", np.float32(1e-3), [-1e-6],
     f"{NUMBER} in [0, inf)"),
    (_gradcheck, "gradcheck", "max_entries", "integer", np.int64(2), [0],
     "None or an integer >= 1"),
    (_gradcheck, "gradcheck", "seed", "seed", np.int64(2), [], SEED),
    (lambda **kw: dp.ProgressBar(**kw), "ProgressBar", "quiet", "flag", np.True_, [],
     "True or False"),
    (lambda **kw: dp.ProgressBar(**kw), "ProgressBar", "bar", "flag", np.False_, ["AUTO"],
     "'auto', True or False"),
    (lambda **kw: Checkpoint("never-written/", **kw), "Checkpoint", "every",
     "integer", np.int64(2), [0], "an integer >= 1"),
]
IDS = [f"{row[1]}.{row[2]}" for row in ROWS]


@pytest.mark.parametrize(("call", "owner", "name", "kind", "good", "out_of_range", "rule"),
                         ROWS, ids=IDS)
def test_a_numpy_scalar_is_accepted(call, owner, name, kind, good, out_of_range, rule):
    call(**{name: good})


def _refusals():
    for row, row_id in zip(ROWS, IDS):
        call, owner, name, kind, _good, out_of_range, rule = row
        for bad in COMMON_BAD[kind] + out_of_range:
            if bad is None and rule.startswith("None"):
                continue                                  # None is allowed there
            yield pytest.param(call, owner, name, bad, rule, id=f"{row_id}={bad!r:.20}")


@pytest.mark.parametrize(("call", "owner", "name", "bad", "rule"), list(_refusals()))
def test_a_bad_value_is_refused_naming_owner_name_rule_and_value(call, owner, name, bad, rule):
    expected = f"{owner} {name} must be {rule}, got {bad!r}"
    with pytest.raises(dp.InvalidParameterError) as info:
        call(**{name: bad})
    assert str(info.value) == expected


def test_the_error_is_both_a_value_error_and_a_type_error():
    assert issubclass(dp.InvalidParameterError, ValueError)
    assert issubclass(dp.InvalidParameterError, TypeError)
    for caught in (ValueError, TypeError):
        with pytest.raises(caught, match=r"^Dropout p must be"):
            dp.Dropout(p=2)
    # the checks and the error type that validation.py used to hold are the same objects
    assert validation.InvalidParameterError is dp.InvalidParameterError
    assert validation.check_number is check_number


def test_accepted_numpy_scalars_become_python_numbers():
    assert type(dp.Dropout(p=np.float32(0.5)).p) is float
    assert dp.Dropout(p=np.float32(0.5)).p == 0.5
    layer = dp.Dense(np.int64(2), np.int64(3), bias=np.True_)
    assert type(layer.in_features) is int and layer.use_bias is True
    assert type(dp.SGD(_model(), lr=np.float32(0.5)).lr) is float


def test_test_size_takes_a_fraction_or_a_row_count():
    X, y = np.zeros((8, 2)), np.arange(8)
    assert train_test_split(X, y, test_size=np.float32(0.25), seed=0)[1].shape == (2, 2)
    assert train_test_split(X, y, test_size=np.int64(3), seed=0)[1].shape == (3, 2)
    for bad in (True, "0.25", NAN, 0.0, -0.5, 1.5, 0):
        with pytest.raises(dp.InvalidParameterError, match=r"^train_test_split test_size"):
            train_test_split(X, y, test_size=bad)
    with pytest.raises(dp.InvalidParameterError, match="at least one row in each part of 8"):
        train_test_split(X, y, test_size=8)


def test_check_file_seed_and_timeout(tmp_path):
    from deltaprop.practice import checker

    path = tmp_path / "learner.py"
    path.write_text("x = 1\n")
    assert checker._seed("check_file", np.int64(3)) == 3
    assert checker._timeout("check_file", np.float32(2.5)) == 2.5
    for name, bad, rule in (("seed", True, "an integer >= 0"), ("seed", -1, "an integer >= 0"),
                            ("seed", 1.5, "an integer >= 0"),
                            ("timeout", True, f"{NUMBER} in (0, inf)"),
                            ("timeout", NAN, f"{NUMBER} in (0, inf)"),
                            ("timeout", 0, f"{NUMBER} in (0, inf)"),
                            ("timeout", "5", f"{NUMBER} in (0, inf)")):
        with pytest.raises(dp.InvalidParameterError) as info:
            checker.check_file(path, **{name: bad})
        assert str(info.value) == f"check_file {name} must be {rule}, got {bad!r}"


def test_export_onnx_options(tmp_path):
    pytest.importorskip("onnx")
    from deltaprop.io.onnx import export_onnx

    model = _model()
    export_onnx(model, tmp_path / "m.onnx", opset=np.int64(17), ir_version=np.int32(8),
                check=np.True_)
    for name, bad, rule in (("opset", True, "an integer in [13, "), ("opset", 12, "an integer"),
                            ("opset", "17", "an integer in [13, "),
                            ("ir_version", 2, "an integer >= 3"),
                            ("check", 1, "True or False")):
        with pytest.raises(dp.InvalidParameterError,
                           match=rf"^export_onnx {name} must be {re.escape(rule)}.*, got "
                                 rf"{re.escape(repr(bad))}$"):
            export_onnx(model, tmp_path / "bad.onnx", **{name: bad})
    assert not (tmp_path / "bad.onnx").exists()


def test_plot_resolution_is_checked():
    pytest.importorskip("matplotlib")
    from deltaprop.plots import plot_decision_boundary

    X, y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([0, 1])
    for bad in (True, 1, 2.5, "10"):
        with pytest.raises(dp.InvalidParameterError,
                           match=rf"^plot_decision_boundary resolution must be an integer "
                                 rf">= 2, got {re.escape(repr(bad))}$"):
            plot_decision_boundary(_model(), X, y, resolution=bad)
    for bad in (True, -0.5, NAN, "1"):
        with pytest.raises(dp.InvalidParameterError,
                           match=rf"^plot_decision_boundary margin must be a finite number "
                                 rf"in \[0, inf\), got {re.escape(repr(bad))}$"):
            plot_decision_boundary(_model(), X, y, margin=bad)


def test_seed_accepts_generators_and_numpy_seed_objects():
    generator = np.random.default_rng(0)
    assert check_seed("x", "seed", generator) is generator        # shared, not copied
    assert isinstance(check_seed("x", "seed", np.random.SeedSequence(1)), np.random.Generator)
    a, b = check_seed("x", "seed", np.int64(5)), check_seed("x", "seed", 5)
    assert a.random() == b.random()


def test_unknown_names_are_invalid_parameter_errors_listing_the_valid_ones():
    from deltaprop.nn.activations import get_activation
    from deltaprop.nn.init import get_initializer
    from deltaprop.nn.optim import get_optimizer

    for lookup, bad, valid in ((get_activation, "swish", "relu"),
                               (get_initializer, "zeros", "he_normal"),
                               (lambda name: get_optimizer(name, _model()), "rmsprop", "adamw")):
        with pytest.raises(dp.InvalidParameterError, match=f"unknown .*{bad!r}.*{valid}"):
            lookup(bad)


def test_nesterov_needs_momentum():
    with pytest.raises(dp.InvalidParameterError, match="nesterov=True needs momentum > 0"):
        dp.SGD(_model(), lr=0.1, nesterov=True)


def test_no_warning_on_the_new_spellings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dp.Dense(2, 3, seed=0)
        dp.Dropout(0.5, seed=0)
        glorot_uniform((2, 2), 0)
        dp.mlp([2, 3, 1], dropout=0.5, seed=0)
