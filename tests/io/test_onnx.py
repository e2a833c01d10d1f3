"""ONNX export: onnxruntime gives the model's predictions, for any batch size."""

import numpy as np
import pytest

import deltaprop as dp

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from deltaprop.io.onnx import IR_VERSION, OPSET, export_onnx  # noqa: E402

RNG = np.random.default_rng(0)


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


MODELS = {
    "relu": lambda: dp.mlp([4, 16, 8, 3], activation="relu", seed=0),
    "tanh_dropout_softmax": lambda: dp.mlp([4, 16, 3], activation="tanh", output="softmax",
                                           dropout=0.3, seed=1),
    "sigmoid_out": lambda: dp.mlp([4, 8, 1], activation="sigmoid", output="sigmoid", seed=2),
    "gelu": lambda: dp.mlp([4, 8, 2], activation="gelu", seed=3),
    "gelu_tanh": lambda: dp.Sequential(dp.Dense(4, 8, seed=4), dp.GELU("tanh"), dp.Dense(8, 2)),
    "leaky_elu_softplus": lambda: dp.Sequential(
        dp.Dense(4, 8, seed=5), dp.LeakyReLU(0.1), dp.Dense(8, 8, seed=6), dp.ELU(0.7),
        dp.Dense(8, 8, bias=False, seed=7), dp.Softplus(beta=2.0), dp.Dense(8, 3, seed=8),
        dp.Softplus(), dp.Dense(3, 2, seed=9), dp.Identity()),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnxruntime_matches_predict(tmp_path, name):
    model = MODELS[name]()
    path = export_onnx(model, tmp_path / "m.onnx")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    assert proto.ir_version == IR_VERSION and proto.opset_import[0].version == OPSET
    session = _session(path)
    for n in (1, 37):                                   # dynamic batch dimension
        X = RNG.normal(size=(n, 4)).astype(np.float32) * 3
        (got,) = session.run(None, {"input": X})
        assert got.shape == (n, model.out_features) and got.dtype == np.float32
        assert np.max(np.abs(got - dp.predict(model, X))) < 1e-5


def test_trained_model_and_float64(tmp_path):
    from deltaprop import datasets

    X, y = datasets.moons(200, seed=0)
    model = dp.mlp([2, 16, 2], activation="tanh", seed=0, dtype=np.float64)
    dp.fit(model, X, y, loss="cross_entropy", optimizer=dp.Adam(model, lr=0.05), epochs=20,
           batch_size=32, seed=0)
    (got,) = _session(export_onnx(model, tmp_path / "m.onnx")).run(None, {"input": X})
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, dp.predict(model, X), atol=1e-12)


def test_graph_uses_gemm_with_transposed_weights(tmp_path):
    model = dp.mlp([3, 5, 2], activation="relu", dropout=0.5, seed=0)
    proto = onnx.load(str(export_onnx(model, tmp_path / "m.onnx")))
    ops = [node.op_type for node in proto.graph.node]
    assert ops == ["Gemm", "Relu", "Gemm", "Identity"]   # Dropout left out
    gemm = proto.graph.node[0]
    assert {a.name: a.i for a in gemm.attribute} == {"transB": 1}
    weight = next(t for t in proto.graph.initializer if t.name == "0.weight")
    assert list(weight.dims) == [5, 3]                   # (out, in), as stored
    dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_param == "N"


def test_missing_onnx_names_the_extra(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'deltaprop\[onnx\]'"):
        export_onnx(dp.mlp([2, 2], seed=0), tmp_path / "m.onnx")


@pytest.mark.parametrize("model, kwargs, error, message", [
    ("model.safetensors", {}, TypeError, "expects a deltaprop Sequential, got str"),
    (dp.Sequential(dp.Tanh()), {}, ValueError, "at least one Dense layer"),
    (None, {"opset": 12}, ValueError, r"opset must be an integer in \[13, "),
    (None, {"opset": True}, ValueError, "opset must be an integer"),
    (None, {"opset": "17"}, ValueError, "opset must be an integer"),
    (None, {"opset": 10**6}, ValueError, "opset must be an integer in"),
    (None, {"ir_version": -1}, ValueError, "ir_version must be an integer >= 3"),
    (None, {"check": "no"}, TypeError, "check must be True or False"),
])
def test_bad_export_arguments_are_clear_errors(tmp_path, model, kwargs, error, message):
    model = dp.mlp([3, 2], seed=0) if model is None else model
    with pytest.raises(error, match=message):
        export_onnx(model, tmp_path / "m.onnx", **kwargs)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["leaky_elu_softplus", "gelu_tanh", "relu"])
def test_a_float64_model_runs_in_onnxruntime(tmp_path, name):
    """onnxruntime's CPU provider has no float64 LeakyRelu, Elu or Softplus: those are
    written with elementary operators (was: the file could not be run)."""
    from deltaprop.io.model_files import architecture, build

    model32 = MODELS[name]()
    model = build(architecture(model32), dtype=np.float64)
    model.load_state_dict({k: v.astype(np.float64) for k, v in model32.state_dict().items()})
    path = export_onnx(model, tmp_path / "m.onnx")
    X = RNG.normal(size=(37, 4)) * 12                   # past Softplus's threshold of 20
    (got,) = _session(path).run(None, {"input": X})
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, dp.predict(model, X), rtol=1e-12, atol=1e-12)
