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


@pytest.mark.slow
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


# -- no host round trip per batch: row order, sample weights and dropout masks ---------------
def _dropout_run(X, y, epochs=3, like=None, callbacks=(), resume=None):
    model = dp.mlp([5, 16, 2], "tanh", dropout=0.3, seed=0, dtype="float64")
    if like is not None:
        model.to(like)
    dp.fit(model, X, y, loss="cross_entropy", optimizer=dp.SGD(model, lr=0.1, momentum=0.9),
           epochs=epochs, batch_size=32, seed=1, callbacks=callbacks, resume=resume)
    return model


@pytest.mark.slow
def test_torch_dropout_masks_are_drawn_by_torch_and_seeded_once_per_epoch():
    torch = pytest.importorskip("torch")
    X, y = _data()
    Xt, yt = torch.asarray(X), torch.asarray(y)
    model = _dropout_run(Xt, yt, like=Xt)
    dropout = next(layer for layer in model.layers if isinstance(layer, dp.Dropout))
    # the layer's host Generator gave exactly one seed per epoch, nothing per batch
    twin = dp.mlp([5, 16, 2], "tanh", dropout=0.3, seed=0, dtype="float64")
    host = next(layer for layer in twin.layers if isinstance(layer, dp.Dropout)).rng
    for _ in range(3):
        host.integers(2**63)
    assert dropout.rng.bit_generator.state == host.bit_generator.state
    assert isinstance(dropout.mask, torch.Tensor)
    kept = float((dropout.mask > 0).double().mean())
    assert 0.5 < kept < 0.9                                  # about 1 - p = 0.7 of the units
    again = _dropout_run(Xt, yt, like=Xt)                             # same seeds, same masks
    for (name, value), (_, other) in zip(model.named_parameters(), again.named_parameters()):
        assert torch.equal(value, other), name


def test_torch_training_copies_no_rows_from_the_host_per_batch(monkeypatch):
    torch = pytest.importorskip("torch")
    from deltaprop.training import _batches as training

    calls = []
    original = training.to_namespace

    def counting(host, *args, **kwargs):
        calls.append(getattr(host, "shape", None))
        return original(host, *args, **kwargs)

    monkeypatch.setattr(training, "to_namespace", counting)
    X, y = _data()
    weights = np.linspace(0.5, 1.5, X.shape[0])
    model = dp.mlp([5, 16, 2], "tanh", seed=0, dtype="float64").to(torch.asarray(X))
    dp.fit(model, torch.asarray(X), torch.asarray(y), loss="cross_entropy",
           optimizer=dp.SGD(model, lr=0.1), epochs=3, batch_size=16, seed=0,
           sample_weight=weights)
    # 13 batches per epoch: one order per epoch and the weights once, not a copy per batch
    assert len(calls) == 3 + 1, calls
    reference = dp.mlp([5, 16, 2], "tanh", seed=0, dtype="float64")
    dp.fit(reference, X, y, loss="cross_entropy", optimizer=dp.SGD(reference, lr=0.1),
           epochs=3, batch_size=16, seed=0, sample_weight=weights)
    for name, value in model.named_parameters():
        np.testing.assert_allclose(value.numpy(), reference.state_dict()[name], rtol=1e-10)


@pytest.mark.slow
def test_torch_dropout_resume_from_checkpoint_equals_uninterrupted_run(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    from deltaprop.io.checkpoint import Checkpoint

    class Crash(dp.Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 3:
                raise KeyboardInterrupt

    X, y = _data()
    Xt, yt = torch.asarray(X), torch.asarray(y)
    full = _dropout_run(Xt, yt, epochs=5, like=Xt)
    path = tmp_path / "ck.safetensors"
    with pytest.raises(KeyboardInterrupt):
        _dropout_run(Xt, yt, epochs=5, like=Xt, callbacks=[Checkpoint(path, every=2), Crash()])
    resumed = _dropout_run(Xt, yt, epochs=5, like=Xt, resume=path)
    for (name, value), (_, other) in zip(full.named_parameters(), resumed.named_parameters()):
        assert torch.equal(value, other), name


def test_predict_uses_large_chunks_on_device_arrays(monkeypatch):
    torch = pytest.importorskip("torch")
    X = np.random.default_rng(0).normal(size=(3000, 5))
    model = dp.mlp([5, 4, 2], seed=0, dtype="float64")
    calls = []
    forward = model.forward
    monkeypatch.setattr(model, "forward", lambda x: calls.append(x.shape[0]) or forward(x))
    host = dp.predict(model, X)
    assert calls == [1024, 1024, 952]                         # NumPy: cache-sized chunks
    calls.clear()
    model.to(torch.asarray(X))
    device = dp.predict(model, torch.asarray(X))
    assert calls == [3000]                                    # one pass: few kernel launches
    np.testing.assert_allclose(device.numpy(), host, rtol=1e-12)
