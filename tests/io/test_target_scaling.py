"""The regression target's scaling in a model file: saved, checked, undone by predict."""

import json

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.training.preprocessing import Standardizer

pytest.importorskip("safetensors")
dio = pytest.importorskip("deltaprop.io")
from deltaprop.io._files import read_safetensors  # noqa: E402


def resign(path, tensors, fields):
    """Write ``fields`` with an honest checksum: only the validation can catch the edit."""
    fields = {k: v for k, v in fields.items() if k != "checksum"}
    fields["checksum"] = dio.checksum(tensors, fields)
    dio.write_safetensors(path, tensors, fields)


def _standardizer(mean, scale):
    scaler = Standardizer()
    scaler.mean, scaler.scale = np.array(mean, float), np.array(scale, float)
    return scaler


def _regression_file(tmp_path, target=True):
    model = dp.mlp([2, 4, 1], activation="tanh", seed=3, dtype="float64")
    path = tmp_path / "r.safetensors"
    dio.save(model, path, loss="mse", preprocessing=_standardizer([1.0, -2.0], [2.0, 0.5]),
             target_preprocessing=_standardizer([150.0], [70.0]) if target else None)
    return model, path


def test_target_scaling_round_trips_and_predict_undoes_both_scalings(tmp_path):
    model, path = _regression_file(tmp_path)
    bundle = dio.load_bundle(path)
    assert bundle.target_preprocessing.mean.tolist() == [150.0]
    assert bundle.target_preprocessing.scale.tolist() == [70.0]
    X = np.array([[1.0, -2.0], [3.0, -1.5], [-1.0, 0.0]])
    scaled = (X - [1.0, -2.0]) / [2.0, 0.5]
    expected = np.asarray(dp.predict(model, scaled)) * 70.0 + 150.0
    np.testing.assert_allclose(bundle.predict(X), expected, rtol=0, atol=1e-12)


def test_a_file_without_target_scaling_has_none_and_predicts_raw_outputs(tmp_path):
    model, path = _regression_file(tmp_path, target=False)
    _, fields = read_safetensors(path)
    assert "target_preprocessing" not in fields          # older readers load such files
    bundle = dio.load_bundle(path)
    assert bundle.target_preprocessing is None
    X = np.array([[0.5, 0.5]])
    scaled = (X - [1.0, -2.0]) / [2.0, 0.5]
    np.testing.assert_array_equal(bundle.predict(X), dp.predict(model, scaled))


@pytest.mark.parametrize("value, message", [
    ({"type": "standardizer", "mean": [1.0, 2.0], "scale": [1.0, 1.0]},
     "list of 1 numbers (one per model output), found 2"),
    ({"type": "standardizer", "mean": [1.0], "scale": [0.0]}, "finite numbers > 0"),
    ({"type": "other"}, "must be a standardizer or null"),
    ({"type": "standardizer", "mean": [1.0], "scale": [1.0], "x": 1}, "exactly type, mean"),
])
def test_a_damaged_target_scaling_is_refused_naming_the_field(tmp_path, value, message):
    _, path = _regression_file(tmp_path)
    tensors, fields = read_safetensors(path)
    resign(path, tensors, {**fields, "target_preprocessing": json.dumps(value)})
    with pytest.raises(dio.ModelFileError, match="target_preprocessing") as info:
        dio.load_bundle(path)
    assert message in str(info.value)


def test_save_refuses_a_target_scaling_of_the_wrong_width_or_type(tmp_path):
    model = dp.mlp([2, 3, 2], seed=0)
    with pytest.raises(ValueError, match="one per model output"):
        dio.save(model, tmp_path / "m.safetensors", target_preprocessing=_standardizer([0], [1]))
    with pytest.raises(TypeError, match="target_preprocessing must be None or a Standardizer"):
        dio.save(model, tmp_path / "m.safetensors", target_preprocessing={"mean": [0, 0]})
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("scaled", [True, False])
def test_predict_refuses_rows_beyond_the_models_dtype_naming_the_cell(tmp_path, scaled):
    """A float32 model cannot take 1e300 (after the scaling, or raw): a clear error naming
    the row and column (was: a RuntimeWarning from the cast, then 'X must be finite')."""
    model = dp.mlp([2, 4, 1], activation="tanh", seed=3, dtype="float32")
    path = tmp_path / "f32.safetensors"
    dio.save(model, path, loss="mse",
             preprocessing=_standardizer([0.0, 0.0], [1.0, 1.0]) if scaled else None)
    bundle = dio.load_bundle(path)
    with pytest.raises(ValueError, match=r"X\[1, 0\] .*1e\+300.* beyond the range of "
                                         r"the model's float32"):
        bundle.predict(np.array([[1.0, 2.0], [1e300, 0.0]]))
    assert np.isfinite(bundle.predict(np.array([[1e30, 0.0]]))).all()
