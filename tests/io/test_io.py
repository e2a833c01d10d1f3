"""Model files: safetensors round trip, checks on bad files, PyTorch interchange."""

import json
import struct

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.training.preprocessing import Standardizer

pytest.importorskip("safetensors")
dio = pytest.importorskip("deltaprop.io")

X = np.random.default_rng(0).normal(size=(7, 3))


def read_fields(path):
    """The tensors and metadata strings of a file, without any deltaprop check."""
    from deltaprop.io._files import read_safetensors

    return read_safetensors(path)


def resign(path, tensors, fields):
    """Write ``tensors`` and ``fields`` to ``path`` with an honest checksum (a deliberate
    edit, as opposed to damage: only the validation can catch it)."""
    fields = {k: v for k, v in fields.items() if k != "checksum"}
    fields["checksum"] = dio.checksum(tensors, fields)
    dio.write_safetensors(path, tensors, fields)


def _model(dtype=np.float32, activation="tanh", **kwargs):
    return dp.mlp([3, 6, 5, 2], activation=activation, seed=1, dtype=dtype, **kwargs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "gelu", "elu", "softplus",
                                        "leaky_relu"])
def test_round_trip_gives_the_same_predictions(tmp_path, dtype, activation):
    model = _model(dtype, activation)
    path = dio.save(model, tmp_path / "m.safetensors")
    loaded = dio.load(path)
    assert loaded.dtype == np.dtype(dtype) and repr(loaded) == repr(model)
    np.testing.assert_array_equal(dp.predict(loaded, X), dp.predict(model, X))


def test_layer_arguments_preprocessing_and_metadata_survive(tmp_path):
    model = dp.Sequential(dp.Dense(3, 4, bias=False), dp.LeakyReLU(0.2), dp.Dropout(0.3),
                          dp.Dense(4, 2), dp.GELU("tanh"), dp.Dense(2, 2), dp.Softmax())
    scaler = Standardizer().fit(X)
    dio.save(model, tmp_path / "m.safetensors", preprocessing=scaler,
             metadata={"task": "classification", "classes": ["a", "b"]})
    bundle = dio.load_bundle(tmp_path / "m.safetensors")
    assert repr(bundle.model) == repr(model)
    assert bundle.model[1].negative_slope == 0.2 and bundle.model[2].p == 0.3
    assert bundle.metadata == {"task": "classification", "classes": ["a", "b"]}
    assert bundle.version == dp.__version__
    np.testing.assert_array_equal(bundle.preprocessing.transform(X), scaler.transform(X))


def test_file_holds_torch_keys_and_json_metadata(tmp_path):
    from safetensors import safe_open

    dio.save(_model(), tmp_path / "m.safetensors")
    with safe_open(tmp_path / "m.safetensors", framework="np") as handle:
        assert sorted(handle.keys()) == ["0.bias", "0.weight", "2.bias", "2.weight",
                                         "4.bias", "4.weight"]
        meta = handle.metadata()
    assert meta["format"] == "deltaprop-model" and meta["checksum"].startswith("sha256:")
    assert json.loads(meta["architecture"])[0] == {"type": "Dense", "in_features": 3,
                                                   "out_features": 6, "bias": True}


def test_no_temporary_file_is_left_behind(tmp_path):
    dio.save(_model(), tmp_path / "m.safetensors")
    dio.save(_model(), tmp_path / "m.safetensors")          # overwrite
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def _saved(tmp_path):
    path = tmp_path / "m.safetensors"
    dio.save(_model(), path)
    return path, bytearray(path.read_bytes())


def test_tampered_tensor_byte_is_a_checksum_mismatch(tmp_path):
    path, data = _saved(tmp_path)
    data[-3] ^= 0x01                                         # one bit of the last tensor
    path.write_bytes(bytes(data))
    with pytest.raises(dio.ModelFileError, match="checksum mismatch"):
        dio.load(path)


def test_truncated_file(tmp_path):
    path, data = _saved(tmp_path)
    path.write_bytes(bytes(data[:-10]))
    with pytest.raises(dio.ModelFileError, match="damaged or truncated"):
        dio.load(path)
    path.write_bytes(bytes(data[:50]))
    with pytest.raises(dio.ModelFileError, match="truncated"):
        dio.load(path)
    path.write_bytes(b"abc")
    with pytest.raises(dio.ModelFileError, match="only 3 bytes"):
        dio.load(path)


def test_damaged_header(tmp_path):
    path, data = _saved(tmp_path)
    data[8] = ord("#")                                       # the header's opening brace
    path.write_bytes(bytes(data))
    with pytest.raises(dio.ModelFileError, match="not JSON"):
        dio.load(path)


def test_not_safetensors_at_all(tmp_path):
    path = tmp_path / "x.safetensors"
    path.write_bytes(b"PK\x03\x04" + bytes(100))            # e.g. a zip / PyTorch .pt file
    with pytest.raises(dio.ModelFileError, match="not a safetensors file"):
        dio.load(path)
    path.write_bytes(struct.pack("<Q", 4) + b"[1] " + bytes(8))
    with pytest.raises(dio.ModelFileError, match="not a JSON object"):
        dio.load(path)


def test_foreign_safetensors_file(tmp_path):
    from safetensors.numpy import save_file

    save_file({"0.weight": np.zeros((2, 3), np.float32)}, str(tmp_path / "f.safetensors"))
    with pytest.raises(dio.ModelFileError, match="not a deltaprop-model file"):
        dio.load(tmp_path / "f.safetensors")


def test_weights_not_matching_architecture(tmp_path):
    model = _model()
    path = dio.save(model, tmp_path / "m.safetensors")
    tensors, fields = read_fields(path)
    tensors["0.weight"] = np.zeros((6, 4), np.float32)      # wrong shape, honest checksum
    resign(path, tensors, fields)
    with pytest.raises(dio.ModelFileError, match=r"do not match.*'0\.weight'"):
        dio.load(path)


def test_missing_file_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        dio.load(tmp_path / "none.safetensors")
    with pytest.raises(TypeError, match="JSON-serialisable"):
        dio.save(_model(), tmp_path / "m.safetensors", metadata={"x": object()})
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.slow
def test_torch_loads_the_file_and_back(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    model = _model(np.float64, "relu")
    dio.save(model, tmp_path / "m.safetensors")
    # a hand-built PyTorch model with the matching layers reads the file as is
    net = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.ReLU(), torch.nn.Linear(6, 5),
                              torch.nn.ReLU(), torch.nn.Linear(5, 2)).double()
    net.load_state_dict(load_file(str(tmp_path / "m.safetensors")))
    expected = dp.predict(model, X)
    np.testing.assert_allclose(net(torch.from_numpy(X)).detach().numpy(), expected, atol=1e-12)
    # and back: PyTorch's state dict into a deltaprop model, then into a file and out again
    back = dio.from_torch(net)
    np.testing.assert_allclose(dp.predict(back, X), expected, atol=1e-12)
    from safetensors.torch import save_file

    save_file(net.state_dict(), str(tmp_path / "t.safetensors"))
    fresh = _model(np.float64, "relu")
    fresh.load_state_dict(dict(load_file(str(tmp_path / "t.safetensors"))))
    np.testing.assert_allclose(dp.predict(fresh, X), expected, atol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "gelu", "softplus", "elu", "sigmoid"])
def test_to_torch_matches(activation):
    torch = pytest.importorskip("torch")
    model = _model(np.float64, activation, dropout=0.2)
    net = dio.to_torch(model)
    assert isinstance(net[2], torch.nn.Dropout) and not net.training
    got = net(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(got, dp.predict(model, X), atol=1e-10)
    assert repr(dio.from_torch(net)) == repr(model)


def test_from_torch_rejects_unknown_modules():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"Conv1d.*no deltaprop equivalent"):
        dio.from_torch(torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3)))
