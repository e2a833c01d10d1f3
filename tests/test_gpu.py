"""The GPU path: the engine's array-API math on PyTorch tensors and CuPy arrays.

CI has no GPU, so the device tests skip there; the PyTorch-tensor test on the CPU runs
wherever torch is installed and exercises the same code path (parameters, batches, losses and
optimiser state stay torch tensors: no conversion to NumPy per batch).
"""

import numpy as np
import pytest

import deltaprop as dp


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return X, y


def _train(X, y, like=None):
    model = dp.mlp([5, 16, 2], "tanh", seed=0, dtype="float64")
    if like is not None:
        model.to(like)
    optimizer = dp.Adam(model, lr=0.01)
    history = dp.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=4,
                     batch_size=32, seed=0, validation_split=0.2)
    return model, history


def _check_against_numpy(xp_module, X_dev, y_dev, to_host):
    X, y = _data()
    reference, ref_history = _train(X, y)
    model, history = _train(X_dev, y_dev, like=X_dev)
    for name, value in model.named_parameters():
        assert type(value) is type(X_dev), f"{name} left the device array type"
        np.testing.assert_allclose(to_host(value), reference.state_dict()[name], rtol=1e-10,
                                   atol=1e-12)
    np.testing.assert_allclose(history["loss"], ref_history["loss"], rtol=1e-10)
    np.testing.assert_allclose(history["val_loss"], ref_history["val_loss"], rtol=1e-10)
    output = dp.predict(model, X_dev)
    assert type(output) is type(X_dev)
    np.testing.assert_allclose(to_host(output), dp.predict(reference, X), rtol=1e-10,
                               atol=1e-12)


def test_torch_cpu_tensors_train_like_numpy():
    torch = pytest.importorskip("torch")
    X, y = _data()
    _check_against_numpy(torch, torch.asarray(X), torch.asarray(y),
                         lambda t: t.detach().cpu().numpy())


def test_torch_cuda_tensors_train_like_numpy():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    X, y = _data()
    _check_against_numpy(torch, torch.asarray(X, device="cuda"),
                         torch.asarray(y, device="cuda"), lambda t: t.detach().cpu().numpy())


def test_cupy_arrays_train_like_numpy():
    cupy = pytest.importorskip("cupy")
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 - any CUDA failure means: no usable device here
        pytest.skip("no CUDA device for CuPy")
    X, y = _data()
    _check_against_numpy(cupy, cupy.asarray(X), cupy.asarray(y), lambda a: a.get())
