"""The fused numba kernels against their NumPy reference, to float rounding.

Every kernel (optimisers, losses, activations, the bias gradient) on float32
and float64, odd shapes (one row, one column, 7 × 13) and non-contiguous inputs (transposed and
strided views).  Each comparison first checks that the kernel really ran (a spy on the kernel
module), so a path that silently fell back to NumPy cannot pass.  Skipped without numba.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.nn import fused
from deltaprop.nn.fused import use_fused

pytest.importorskip("numba")
kernels_module = pytest.importorskip("deltaprop.nn._kernels")

TOLERANCE = {np.float32: 2e-6, np.float64: 1e-13}
DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1), (1, 13), (7, 1), (7, 13)]
# every odd shape C-ordered, and the 7 x 13 one as a transposed and as a strided view
CASES = [(shape, "contiguous") for shape in SHAPES] + [((7, 13), "transposed"),
                                                        ((7, 13), "strided")]


@pytest.fixture(scope="module", autouse=True)
def compiled():
    fused.compile_kernels()                    # once per module; from the disk cache after


@pytest.fixture
def spy(monkeypatch):
    """Counts the calls of each kernel (by name) while the test runs."""
    calls: dict[str, int] = {}
    for name in ("sgd", "adam", "sgd_parallel", "adam_parallel", "sgd_in_place",
                 "adam_in_place", "sgd_in_place_parallel", "adam_in_place_parallel", "relu_forward",
                 "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
                 "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
                 "column_sums", "cross_entropy_labels", "cross_entropy_probs",
                 "bce_with_logits", "mse"):
        kernel = getattr(kernels_module, name)

        def counted(*args, _kernel=kernel, _name=name):
            calls[_name] = calls.get(_name, 0) + 1
            return _kernel(*args)
        monkeypatch.setattr(kernels_module, name, counted)
    return calls


def close(fast, reference, dtype) -> None:
    fast, reference = np.asarray(fast), np.asarray(reference)
    assert fast.dtype == reference.dtype and fast.shape == reference.shape
    scale = max(1.0, float(np.abs(reference).max(initial=0.0)))
    np.testing.assert_allclose(fast, reference, rtol=0, atol=TOLERANCE[dtype] * scale)


def strided(array: np.ndarray, how: str) -> np.ndarray:
    """The same values as a C-ordered array, a transposed view, or every second column."""
    if how == "transposed":
        return np.ascontiguousarray(array.T).T
    if how == "strided":
        wide = np.zeros((array.shape[0], 2 * array.shape[1]), array.dtype)
        wide[:, ::2] = array
        return wide[:, ::2]
    return array


# -- optimisers --------------------------------------------------------------------------------
OPTIMIZERS = [
    (dp.SGD, {}), (dp.SGD, {"weight_decay": 0.1}), (dp.SGD, {"momentum": 0.9}),
    (dp.SGD, {"momentum": 0.5, "dampening": 0.3, "weight_decay": 0.01}),
    (dp.SGD, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (dp.Adam, {}), (dp.Adam, {"weight_decay": 0.1, "betas": (0.8, 0.9)}),
    (dp.AdamW, {}), (dp.AdamW, {"weight_decay": 0.3, "eps": 1e-3}),
]


def _train(optimizer_class, options, fused_mode, dtype, sizes, out_of_place):
    model = dp.mlp(sizes, "tanh", seed=0, dtype=dtype)
    optimizer = optimizer_class(model, 0.05, fused=fused_mode, **options)
    rng = np.random.default_rng(0)
    for _ in range(3):
        X, y = rng.normal(size=(5, sizes[0])), rng.integers(0, sizes[-1], 5)
        model.forward(X.astype(dtype))
        _, grad = dp.CrossEntropyLoss()(model.layers[-1].z, y)
        model.backward(grad)
        if out_of_place:                           # fit's step guard: Optimizer.updated
            for name, layer, key in model.parameter_refs():
                slot = optimizer.state.setdefault(name, {})
                layer.params[key] = optimizer.updated(slot, layer.params[key], layer.grads[key])
        else:
            optimizer.step()
    return model, optimizer


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("optimizer_class", "options"), OPTIMIZERS)
@pytest.mark.parametrize(("sizes", "out_of_place"),
                         [([7, 13, 3], False), ([7, 13, 3], True), ([1, 1, 2], False)])
def test_optimizer_kernel_matches_reference(optimizer_class, options, dtype, out_of_place,
                                            sizes, spy):
    fast, fast_opt = _train(optimizer_class, options, True, dtype, sizes, out_of_place)
    kernel = ("adam" if optimizer_class is not dp.SGD else "sgd") + \
        ("" if out_of_place else "_in_place")
    others = {"sgd", "adam", "sgd_in_place", "adam_in_place"} - {kernel}
    assert spy[kernel] == 3 * 4 and not others & spy.keys()
    reference, ref_opt = _train(optimizer_class, options, False, dtype, sizes, out_of_place)
    for (name, a), (_, b) in zip(fast.named_parameters(), reference.named_parameters()):
        close(a, b, dtype)
        for key, value in ref_opt.state[name].items():
            close(fast_opt.state[name][key], value, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("optimizer_class", "options"), OPTIMIZERS[2:7:2])
@pytest.mark.parametrize("how", ["transposed", "strided"])
def test_optimizer_kernel_on_strided_gradient_and_state(optimizer_class, options, dtype, how,
                                                        spy):
    rng = np.random.default_rng(1)
    param = rng.normal(size=(7, 13)).astype(dtype)
    grad = rng.normal(size=(7, 13)).astype(dtype)
    results = []
    for mode in (True, False):
        optimizer = optimizer_class(dp.mlp([13, 7], seed=0), 0.1, fused=mode, **options)
        state: dict = {}
        new = param.copy()
        for _ in range(2):
            optimizer.update(state, new, strided(grad, how))
            state = {key: strided(value, how) if isinstance(value, np.ndarray) else value
                     for key, value in state.items()}
        results.append((new, state))
    assert sum(spy.values()) == 2
    close(results[0][0], results[1][0], dtype)
    for key, value in results[1][1].items():
        close(results[0][1][key], value, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("optimizer_class", "options"), [OPTIMIZERS[4], OPTIMIZERS[6],
                                                          OPTIMIZERS[8]])
@pytest.mark.parametrize("in_place", [True, False])
def test_large_parameters_update_on_threads_as_the_reference(optimizer_class, options, dtype,
                                                             in_place, spy, monkeypatch):
    monkeypatch.setattr(fused, "_threads", 3)        # an odd count: slices of unequal size
    monkeypatch.setattr(kernels_module, "PARALLEL_MIN", 1 << 12)   # small arrays, same path
    rng = np.random.default_rng(8)
    shape = (301, kernels_module.PARALLEL_MIN // 300 + 1)          # just over the threshold
    param, grad = rng.normal(size=shape).astype(dtype), rng.normal(size=shape).astype(dtype)
    results = []
    for mode in (True, False):
        optimizer = optimizer_class(dp.mlp([2, 1], seed=0), 0.1, fused=mode, **options)
        state: dict = {}
        new = param.copy()
        for _ in range(2):
            if in_place:
                optimizer.update(state, new, grad)
            else:
                new = optimizer.updated(state, new, grad)
        results.append((new, state))
    kernel = "sgd" if optimizer_class is dp.SGD else "adam"
    assert spy == {f"{kernel}{'_in_place' if in_place else ''}_parallel": 2}
    close(results[0][0], results[1][0], dtype)
    for key, value in results[1][1].items():
        close(results[0][1][key], value, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("optimizer_class", "options"), OPTIMIZERS[2::2])
@pytest.mark.parametrize("threads", [1, 3])
def test_the_out_of_place_kernels_report_a_non_finite_parameter(optimizer_class, options,
                                                                dtype, threads, monkeypatch):
    monkeypatch.setattr(fused, "_threads", threads)
    monkeypatch.setattr(kernels_module, "PARALLEL_MIN", 1 << 12)
    shape = (301, kernels_module.PARALLEL_MIN // 300 + 1)          # threaded when threads > 1
    optimizer = optimizer_class(dp.mlp([2, 1], seed=0), 0.1, fused=True, **options)
    param, grad = np.ones(shape, dtype), np.ones(shape, dtype)
    assert optimizer.updated_and_finite({}, param, grad)[1] is True
    for bad in (np.nan, np.inf, -np.inf):
        for where in ((0, 0), (150, 7), (-1, -1)):      # first, middle (another slice), last
            broken = grad.copy()
            broken[where] = bad
            new, finite = optimizer.updated_and_finite({}, param, broken)
            assert finite is False and not np.isfinite(new[where])
    reference = optimizer_class(dp.mlp([2, 1], seed=0), 0.1, fused=False, **options)
    assert reference.updated_and_finite({}, param, grad)[1] is None     # the caller checks


@pytest.mark.parametrize("fused_mode", [True, False])
@pytest.mark.parametrize(("optimizer_class", "key"), [(dp.SGD, "velocity"), (dp.Adam, "m")])
def test_a_state_of_another_shape_is_refused_not_read_past_its_end(optimizer_class, key,
                                                                   fused_mode):
    optimizer = optimizer_class(dp.mlp([2, 1], seed=0), 0.1, fused=fused_mode,
                                **({"momentum": 0.9} if optimizer_class is dp.SGD else {}))
    param, grad = np.ones((7, 13), np.float32), np.ones((7, 13), np.float32)
    state: dict = {}
    optimizer.update(state, param, grad)
    state[key] = np.ones((3, 13), np.float32)            # e.g. loaded for another model
    for step in (optimizer.update, optimizer.updated):
        with pytest.raises(ValueError, match="shape"):
            step(dict(state), param, grad)


def test_updated_leaves_the_old_parameter_and_state_untouched():
    model = dp.mlp([3, 2], seed=0)
    optimizer = dp.Adam(model, 0.1, fused=True)
    param, grad = model[0].params["weight"], np.ones((2, 3), np.float32)
    state: dict = {}
    optimizer.update(state, param.copy(), grad)              # a state to start from
    before = {key: np.array(value) for key, value in state.items()}
    kept = {key: value for key, value in state.items()}
    saved = param.copy()
    new = optimizer.updated(state, param, grad)
    assert new is not param and np.array_equal(param, saved)
    for key in ("m", "v"):
        assert state[key] is not kept[key] and np.array_equal(kept[key], before[key])


def test_a_subclass_keeps_the_reference_rule(spy):
    class Doubled(dp.SGD):
        def _change(self, state, param, grad):
            return None, 2 * self.lr * grad
    model = dp.mlp([3, 2], seed=0)
    start = model[0].params["weight"].copy()
    model[0].grads["weight"] = np.ones((2, 3), np.float32)
    model[0].grads["bias"] = np.ones(2, np.float32)
    Doubled(model, 0.5, fused=True).step()
    assert "sgd" not in spy
    np.testing.assert_array_equal(model[0].params["weight"], start - 1)


# -- losses ------------------------------------------------------------------------------------
def _targets(name, shape, dtype, rng):
    if name == "labels":
        return rng.integers(0, shape[1], shape[0])
    if name == "probs":
        raw = rng.random(shape) + 0.1
        return (raw / raw.sum(axis=1, keepdims=True)).astype(dtype)
    return rng.random(shape).astype(dtype)


LOSSES = [(dp.MSELoss, "values", "mse"), (dp.BCEWithLogitsLoss, "values", "bce_with_logits"),
          (dp.CrossEntropyLoss, "labels", "cross_entropy_labels"),
          (dp.CrossEntropyLoss, "probs", "cross_entropy_probs")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "how"), CASES)
@pytest.mark.parametrize(("loss_class", "target_kind", "kernel"), LOSSES)
def test_loss_kernel_matches_reference(loss_class, target_kind, kernel, dtype, shape, how, spy):
    rng = np.random.default_rng(2)
    output = strided((rng.normal(size=shape) * 4).astype(dtype), how)
    target = _targets(target_kind, shape, dtype, rng)
    if target.ndim == 2:
        target = strided(target, how)
    with use_fused(True):
        value, grad = loss_class()(output, target)
    assert spy == {kernel: 1}
    with use_fused(False):
        ref_value, ref_grad = loss_class()(output, target)
    close(value, ref_value, dtype)
    close(grad, ref_grad, dtype)


def test_loss_kernel_keeps_non_finite_outputs_non_finite():
    output = np.array([[np.nan, 0.0], [np.inf, 1.0]], np.float32)
    with use_fused(True):
        for loss, target in ((dp.MSELoss(), np.zeros((2, 2), np.float32)),
                             (dp.BCEWithLogitsLoss(), np.zeros((2, 2), np.float32)),
                             (dp.CrossEntropyLoss(), np.array([0, 1]))):
            value, _ = loss(output, target)
            assert not np.isfinite(value)


def test_label_kernel_refuses_a_label_out_of_range():
    kernels = fused.load_kernels(required=True)
    with pytest.raises(IndexError, match="label"):
        kernels.cross_entropy_labels(np.zeros((2, 3)), np.array([0, 3]), np.empty((2, 3)))


def test_weighted_and_mixed_dtype_losses_take_the_reference(spy):
    output = np.zeros((3, 2), np.float32)
    with use_fused(True):
        dp.MSELoss()(output, np.zeros((3, 2)))                       # float64 target
        dp.CrossEntropyLoss()(output, np.array([0, 1, 1]), np.ones(3))
    assert spy == {}


# -- activations and Dense -----------------------------------------------------------------------
ACTIVATIONS = [(dp.ReLU, {}, "relu"), (dp.LeakyReLU, {"negative_slope": 0.2}, "leaky_relu"),
               (dp.Sigmoid, {}, "sigmoid"), (dp.Tanh, {}, "tanh")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "how"), CASES)
@pytest.mark.parametrize(("layer_class", "options", "kernel"), ACTIVATIONS)
def test_activation_kernels_match_reference(layer_class, options, kernel, dtype, shape, how, spy):
    rng = np.random.default_rng(3)
    z = (rng.normal(size=shape) * 30).astype(dtype)
    z.flat[0] = 0.0                                   # φ′ at exactly 0 (ReLU: 0, as PyTorch)
    z, grad_out = strided(z, how), strided(rng.normal(size=shape).astype(dtype), how)
    results = []
    for mode in (True, False):
        layer = layer_class(**options)
        with use_fused(mode):
            results.append((layer.forward(z), layer.backward(grad_out), layer))
    assert spy == {f"{kernel}_forward": 1, f"{kernel}_backward": 1}
    (a, grad_in, fast), (ref_a, ref_grad_in, _) = results
    close(a, ref_a, dtype)
    close(grad_in, ref_grad_in, dtype)
    assert fast.z is z and fast.a is a and fast.grad_out is grad_out and fast.grad_in is grad_in


def test_an_instance_with_its_own_derivative_keeps_it(spy):
    layer = dp.Tanh()
    layer.derivative = lambda xp, z, a: 1 - a          # a learner's (wrong) φ′
    z = np.array([[0.5, -1.0]])
    with use_fused(True):
        layer.forward(z)
        grad_in = layer.backward(np.ones_like(z))
    np.testing.assert_allclose(grad_in, 1 - np.tanh(z))
    assert "tanh_backward" not in spy


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "how"), CASES)
def test_bias_gradient_kernel_matches_reference(dtype, shape, how, spy):
    rng = np.random.default_rng(4)
    layer = dp.Dense(3, shape[1], dtype=dtype, seed=0)
    layer.forward(rng.normal(size=(shape[0], 3)).astype(dtype))
    delta = strided(rng.normal(size=shape).astype(dtype), how)
    grads = []
    for mode in (True, False):
        with use_fused(mode):
            layer.backward(delta)
        grads.append(dict(layer.grads))
    assert spy == {"column_sums": 1}
    close(grads[0]["bias"], grads[1]["bias"], dtype)
    close(grads[0]["weight"], grads[1]["weight"], dtype)


# -- the model: same records, same training --------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "leaky_relu"])
def test_fused_step_keeps_every_record(activation, dtype, spy):
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(7, 5)).astype(dtype), rng.integers(0, 3, 7)
    runs = []
    for mode in (True, False):
        model = dp.mlp([5, 13, 4, 3], activation, seed=0, dtype=dtype)
        with use_fused(mode):
            dp.train_step(model, X, y, loss="cross_entropy",
                          optimizer=dp.SGD(model, 0.1, momentum=0.9))
        runs.append(model)
    assert spy["sgd_in_place"] == 6 and spy["cross_entropy_labels"] == 1
    for fast, ref in zip(runs[0].records(), runs[1].records()):
        for field in ("a_prev", "z", "a", "grad_a", "delta", "grad_weight", "grad_bias",
                      "grad_a_prev"):
            close(getattr(fast, field), getattr(ref, field), dtype)
    for (_, a), (_, b) in zip(runs[0].named_parameters(), runs[1].named_parameters()):
        close(a, b, dtype)


@pytest.mark.slow
def test_fit_with_kernels_follows_the_reference_run():
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(200, 6)), rng.integers(0, 3, 200)
    histories = []
    for mode in (True, False):
        model = dp.mlp([6, 16, 3], seed=0)
        with use_fused(mode):
            history = dp.fit(model, X, y, loss="cross_entropy", epochs=3, batch_size=32, seed=0,
                             optimizer=dp.Adam(model, 0.01))
        histories.append(history.history["loss"])
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-4)
