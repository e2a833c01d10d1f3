"""``deltaprop export`` and ``export_onnx(bundle, preprocessing=True)``: onnxruntime on raw
rows gives ``deltaprop predict``'s numbers (the stored scaling folded into the graph)."""

import numpy as np
import pytest

from deltaprop import datasets
from deltaprop import io as dio
from deltaprop.cli import main

pytest.importorskip("safetensors")
pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from deltaprop.io.onnx import export_onnx  # noqa: E402


def _run(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": X})[0]


def _train(tmp_path, data, *flags):
    out = tmp_path / "run"
    assert main(["train", str(data), "--layers", "8", "--epochs", "2", "--out", str(out),
                 "--quiet", *flags]) == 0
    return out / "model.safetensors"


@pytest.fixture
def prices(tmp_path):
    """A regression CSV whose features and target are far from mean 0 and spread 1."""
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[100.0, -5.0], scale=[20.0, 0.1], size=(40, 2))
    y = 3 * X[:, 0] + 400 * X[:, 1] + 1000
    path = tmp_path / "prices.csv"
    path.write_text("size,age,price\n" + "".join(f"{a:.17g},{b:.17g},{c:.17g}\n"
                                                 for (a, b), c in zip(X, y)))
    return path


@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.slow
def test_the_exported_graph_on_raw_rows_answers_as_predict(tmp_path, capsys, prices, dtype,
                                                          tolerance):
    model = _train(tmp_path, prices, "--dtype", dtype)
    capsys.readouterr()
    assert main(["export", str(model), str(tmp_path / "m.onnx")]) == 0
    assert "raw rows in, the target's units out" in capsys.readouterr().out
    assert main(["predict", str(model), str(prices)]) == 0
    predicted = np.array(capsys.readouterr().out.split()[1:], dtype=float)
    X = datasets.load(str(prices)).X.astype(dtype)
    onnx_out = _run(tmp_path / "m.onnx", X)[:, 0]
    assert abs(predicted.mean()) > 100                         # in the target's units
    np.testing.assert_allclose(onnx_out, predicted, rtol=tolerance, atol=0)


def test_no_preprocessing_exports_the_bare_network(tmp_path, capsys, prices):
    model = _train(tmp_path, prices, "--dtype", "float64")
    assert main(["export", str(model), str(tmp_path / "bare.onnx"),
                 "--no-preprocessing"]) == 0
    bundle = dio.load_bundle(model)
    X = datasets.load(str(prices)).X
    scaled = bundle.preprocessing.transform(X)
    bare = _run(tmp_path / "bare.onnx", scaled)
    np.testing.assert_allclose(bundle.target_preprocessing.inverse_transform(bare),
                               bundle.predict(X), rtol=1e-12)


def test_a_classifier_folds_the_feature_scaling_only(tmp_path, capsys):
    model = _train(tmp_path, "moons", "--dtype", "float64")
    bundle = dio.load_bundle(model)
    assert bundle.target_preprocessing is None
    export_onnx(bundle, tmp_path / "moons.onnx")               # preprocessing=True: default
    X = datasets.load("moons", seed=0).X * 10 + 3              # far from the scaled range
    np.testing.assert_allclose(_run(tmp_path / "moons.onnx", X), bundle.predict(X), rtol=1e-12)
    export_onnx(bundle.model, tmp_path / "net.onnx")           # a Sequential: as it is
    np.testing.assert_allclose(_run(tmp_path / "net.onnx", bundle.preprocessing.transform(X)),
                               bundle.predict(X), rtol=1e-12)


def test_export_refuses_to_overwrite_the_model_and_a_bad_flag(tmp_path, capsys, prices):
    model = _train(tmp_path, prices)
    before = model.read_bytes()
    capsys.readouterr()
    assert main(["export", str(model), str(model)]) == 2
    assert "is the model file" in capsys.readouterr().err and model.read_bytes() == before
    with pytest.raises(Exception, match="preprocessing"):
        export_onnx(dio.load_bundle(model), tmp_path / "x.onnx", preprocessing="yes")


def test_a_model_with_its_own_preprocessing_dict_names_the_flag(tmp_path, capsys):
    """The library's advice is preprocessing=False; on the command line it is the flag."""
    import deltaprop as dp

    path = tmp_path / "own.safetensors"
    dio.save(dp.mlp([2, 3, 1], seed=0), path, loss="mse", preprocessing={"type": "mine"})
    assert main(["export", str(path), str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert "--no-preprocessing" in err and "preprocessing=False" not in err
    assert main(["export", str(path), str(tmp_path / "m.onnx"), "--no-preprocessing"]) == 0
