"""Model files are untrusted input: the checksum covers the metadata, and every field is
validated at load, so that a file either loads whole or raises ``ModelFileError``."""

import contextlib
import io as text_io
import json
import math
import tracemalloc

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.training.preprocessing import Standardizer

pytest.importorskip("safetensors")
dio = pytest.importorskip("deltaprop.io")
from deltaprop.io._files import read_safetensors  # noqa: E402


def _model():
    return dp.mlp([3, 5, 2], activation="tanh", seed=1)


def _scaler():
    scaler = Standardizer()
    scaler.mean, scaler.scale = np.array([0.25, 0.5, 0.75]), np.array([1.5, 2.5, 3.5])
    return scaler


def _saved(tmp_path, **kwargs):
    path = tmp_path / "m.safetensors"
    kwargs = {"preprocessing": _scaler(), "loss": "cross_entropy",
              "metadata": {"owner": "alice", "classes": ["a", "b"]}} | kwargs
    dio.save(_model(), path, **kwargs)
    return path


def resign(path, tensors, fields):
    """Write ``tensors`` and ``fields`` with an honest checksum: a deliberate edit that only
    the validation can catch."""
    fields = {k: v for k, v in fields.items() if k != "checksum"}
    fields["checksum"] = dio.checksum(tensors, fields)
    dio.write_safetensors(path, tensors, fields)


# -- 1. the checksum covers every metadata field ---------------------------------------------
@pytest.mark.parametrize("old, new", [
    (b"Tanh", b"ReLU"),                          # architecture: another valid activation
    (b"2.5", b"9.5"),                            # preprocessing: a standardizer scale
    (b"cross_entropy", b"cross_entropX"),       # the loss
    (b"alice", b"bobby"),                        # the caller's metadata
    (dp.__version__.encode(), b"9" * len(dp.__version__)),  # the writer's version
])
def test_editing_any_metadata_byte_is_a_checksum_mismatch(tmp_path, old, new):
    path = _saved(tmp_path)
    data = path.read_bytes()
    assert data.count(old) == 1
    path.write_bytes(data.replace(old, new))
    with pytest.raises(dio.ModelFileError, match="checksum does not match") as error:
        dio.load_bundle(path)
    assert str(path) in str(error.value)


def test_a_forged_checksum_is_shown_escaped(tmp_path):
    path = _saved(tmp_path)
    tensors, fields = read_safetensors(path)
    dio.write_safetensors(path, tensors, fields | {"checksum": "\x1b[2J"})
    with pytest.raises(dio.ModelFileError, match=r"stored '\\x1b\[2J'"):
        dio.load(path)


def test_a_valid_metadata_edit_is_caught_by_the_checksum_alone(tmp_path):
    """Tanh -> ReLU and another caller value are valid: only the checksum can notice."""
    path = _saved(tmp_path)
    tensors, fields = read_safetensors(path)
    fields["metadata"] = json.dumps({"owner": "mallory"})
    fields["architecture"] = fields["architecture"].replace("Tanh", "ReLU")
    dio.write_safetensors(path, tensors, fields)                # the old checksum kept
    with pytest.raises(dio.ModelFileError, match="checksum mismatch"):
        dio.load(path)
    resign(path, tensors, fields)                               # re-signed: a valid file
    assert isinstance(dio.load(path)[1], dp.ReLU)


def test_checksum_is_canonical_and_length_prefixed():
    tensors = {"0.weight": np.ones((1, 2), np.float32)}
    base = dio.checksum(tensors, {"a": "xy", "b": ""})
    assert base == dio.checksum(tensors, {"b": "", "a": "xy", "checksum": "ignored"})
    assert dio.checksum(tensors, {"a": "bc"}) != dio.checksum(tensors, {"ab": "c"})
    assert base != dio.checksum(tensors, {"a": "xy", "b": "", "c": ""})
    assert base != dio.checksum({"0.weight": np.ones((2, 1), np.float32)}, {"a": "xy", "b": ""})


# -- files of format_version 1 ---------------------------------------------------------------
def _version_1(tmp_path, architecture=None):
    model = _model()
    tensors = model.state_dict()
    fields = {"format": "deltaprop-model", "format_version": "1", "deltaprop_version": "0.1",
              "architecture": json.dumps(architecture or dio.architecture(model)),
              "preprocessing": "null", "metadata": json.dumps({"loss": "mse"}),
              "checksum": dio.model_files._legacy_checksum(tensors)}
    path = tmp_path / "old.safetensors"
    dio.write_safetensors(path, tensors, fields)
    return path, model


def test_version_1_files_are_refused_unless_asked_and_then_checked(tmp_path):
    path, model = _version_1(tmp_path)
    with pytest.raises(dio.ModelFileError, match=r"format_version 1.*legacy=True.*save it"):
        dio.load(path)
    bundle = dio.load_bundle(path, legacy=True)
    np.testing.assert_array_equal(dp.predict(bundle.model, np.ones((2, 3))),
                                  dp.predict(model, np.ones((2, 3))))
    assert bundle.loss == "mse"
    dio.save(bundle.model, tmp_path / "new.safetensors", metadata=bundle.metadata)
    assert dio.load_bundle(tmp_path / "new.safetensors").loss == "mse"   # version 2 now
    spec = dio.architecture(model)
    spec[0]["in_features"] = 4                                 # validated all the same
    path, _ = _version_1(tmp_path, spec)
    with pytest.raises(dio.ModelFileError, match="architecture"):
        dio.load(path, legacy=True)


# -- 2. full validation: every damage is a ModelFileError naming file and field --------------
def _edit_json(name, change):
    def edit(tensors, fields):
        value = json.loads(fields[name])
        fields[name] = json.dumps(change(value))
    return edit


def _set(name, text):
    def edit(tensors, fields):
        fields[name] = text
    return edit


def _layer(position, **changes):
    def change(spec):
        spec[position].update(changes)
        return spec
    return _edit_json("architecture", change)


def _tensors(change):
    def edit(tensors, fields):
        change(tensors)
    return edit


DAMAGE = {
    "unknown layer type": (_layer(1, type="Swish"), "architecture.*unknown type 'Swish'"),
    "extra argument": (_layer(1, slope=2), r"architecture.*exactly the arguments \[\]"),
    "missing argument": (_edit_json("architecture", lambda s: [
        {k: v for k, v in s[0].items() if k != "bias"}, *s[1:]]),
        "architecture.*exactly the arguments"),
    "width as text": (_layer(0, in_features="3"), "in_features must be an integer >= 1"),
    "bias as 1": (_layer(0, bias=1), "bias must be true or false"),
    "zero width": (_layer(0, in_features=0), "in_features must be an integer >= 1"),
    "widths do not chain": (_layer(2, in_features=4), "does not chain"),
    "not a list": (_set("architecture", '{"type": "Dense"}'), "non-empty list"),
    "empty list": (_set("architecture", "[]"), "non-empty list"),
    "too many layers": (_set("architecture", json.dumps([{"type": "Tanh"}] * 10_001)),
                        "at most 10000 layers, got 10001 layers"),
    "no Dense layer": (_set("architecture", '[{"type": "Tanh"}]'), "at least one Dense"),
    "architecture not JSON": (_set("architecture", "[{"), "'architecture' is not valid JSON"),
    "duplicate key": (_set("architecture", '[{"type": "Dense", "type": "Tanh"}]'),
                      "duplicate key 'type'"),
    "NaN argument": (_set("architecture", '[{"type": "Dropout", "p": NaN}]'),
                     "NaN is not allowed"),
    "deep nesting": (_set("architecture", "[" * 100000 + "]" * 100000), "nested too deeply"),
    "layer larger than its tensors": (
        _edit_json("architecture", lambda s: [
            {"type": "Dense", "in_features": 20000, "out_features": 20000, "bias": True},
            {"type": "Tanh"},
            {"type": "Dense", "in_features": 20000, "out_features": 2, "bias": True}]),
        r"'0\.weight' must have shape \(20000, 20000\)"),
    "extra tensor": (_tensors(lambda t: t.update({"9.weight": np.zeros((1, 1), np.float32)})),
                     r"unexpected \['9\.weight'\]"),
    "missing tensor": (_tensors(lambda t: t.pop("0.bias")), r"missing \['0\.bias'\]"),
    "half-precision tensors": (_tensors(lambda t: t.update(
        {k: v.astype(np.float16) for k, v in t.items()})), "all float32 or all float64"),
    "mixed dtypes": (_tensors(lambda t: t.update({"0.bias": t["0.bias"].astype(np.float64)})),
                     "all float32 or all float64"),
    # valid JSON integers beyond float's range: math.isfinite raised OverflowError
    "slope beyond float": (_edit_json("architecture", lambda a: [
        a[0], {"type": "LeakyReLU", "negative_slope": 10**400}, *a[2:]]),
        "negative_slope must be a finite number >= 0, found 1000"),
    "scale beyond float": (_edit_json("preprocessing", lambda p: p | {"scale": [1, 10**400, 1]}),
                           "scale must hold finite numbers > 0, found 1000"),
    "NaN weight": (_tensors(lambda t: t["0.weight"].__setitem__((1, 2), np.nan)),
                   r"parameter '0\.weight' holds NaN or infinite values"),
    "infinite bias": (_tensors(lambda t: t["2.bias"].__setitem__(0, -np.inf)),
                      r"parameter '2\.bias' holds NaN or infinite values"),
    "standardizer too narrow": (_edit_json("preprocessing", lambda p: p | {
        "mean": [0.0, 0.0], "scale": [1.0, 1.0]}), "mean must be a list of 3 numbers"),
    "zero scale": (_edit_json("preprocessing", lambda p: p | {"scale": [1.0, 0.0, 1.0]}),
                   r"scale must hold finite numbers > 0, found 0\.0"),
    "negative scale": (_edit_json("preprocessing", lambda p: p | {"scale": [1, -2, 1]}),
                       "scale must hold finite numbers > 0"),
    "infinite mean": (_set("preprocessing", '{"type": "standardizer", "mean": [1, 1, '
                                            'Infinity], "scale": [1, 1, 1]}'),
                      "Infinity is not allowed"),
    "huge mean": (_set("preprocessing", '{"type": "standardizer", "mean": [1, 1, 1e999], '
                                        '"scale": [1, 1, 1]}'), "mean must hold finite numbers"),
    "null scale": (_edit_json("preprocessing", lambda p: p | {"scale": [1, None, 1]}),
                   "scale must hold finite numbers > 0, found None"),
    "bool scale": (_edit_json("preprocessing", lambda p: p | {"scale": [1, True, 1]}),
                   "scale must hold finite numbers > 0, found True"),
    "loss a list": (_set("loss", "[]"), "field 'loss'.*got \\[\\]"),
    "text mean": (_edit_json("preprocessing", lambda p: p | {"mean": [1, "1", 1]}),
                  "mean must hold finite numbers"),
    "standardizer extra key": (_edit_json("preprocessing", lambda p: p | {"x": 1}),
                               "exactly type, mean and scale"),
    "preprocessing a list": (_set("preprocessing", "[1, 2]"), "JSON object or null"),
    "unknown loss": (_set("loss", '"hinge"'), "field 'loss'.*hinge"),
    "loss a number": (_set("loss", "3"), "field 'loss'"),
    "loss disagrees": (lambda t, f: f.update(loss='"mse"', metadata='{"loss": "bce"}'),
                       "disagree"),
    "metadata a list": (_set("metadata", "[1, 2]"), "'metadata' must be a JSON object"),
    "metadata loss unknown": (_edit_json("metadata", lambda m: m | {"loss": 0.5}),
                              "metadata.'loss'. is read as the loss name"),
    "version with control characters": (_set("deltaprop_version", "1.0\x1b[2J"),
                                        r"'deltaprop_version' must be a version number.*"
                                        r"'1\.0\\x1b\[2J'"),
    "version too long": (_set("deltaprop_version", "1" * 65), "at most 64 characters"),
    "missing field": (lambda t, f: f.pop("loss"), r"missing \['loss'\]"),
    "unknown field": (_set("evil", "1"), r"unexpected \['evil'\]"),
    "other format": (_set("format", "deltaprop-checkpoint"), "not a deltaprop-model file"),
    "future version": (_set("format_version", "3"), "format_version '3' is not supported.*"
                                                     "written by a newer deltaprop: upgrade"),
    "version as a number": (_set("format_version", "2.0"), r"format_version '2\.0' is not "
                                                           r"supported by this deltaprop \(reads "
                                                           r"2\)$"),
    "version missing": (lambda t, f: f.pop("format_version"), "format_version None is not"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_each_damage_is_refused_with_file_and_rule(tmp_path, damage):
    edit, message = DAMAGE[damage]
    path = _saved(tmp_path)
    tensors, fields = read_safetensors(path)
    edit(tensors, fields)
    resign(path, tensors, fields)                      # an honest checksum: validation's job
    tracemalloc.start()
    try:
        with pytest.raises(dio.ModelFileError, match=message) as error:
            dio.load_bundle(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(error.value)
    assert isinstance(error.value, ValueError)
    assert peak < 16 * 2**20                           # never the 1.6 GB a claim asks for


def test_a_sound_file_loads_whole(tmp_path):
    path = _saved(tmp_path)
    bundle = dio.load_bundle(path)
    assert bundle.loss == "cross_entropy" and bundle.metadata["owner"] == "alice"
    np.testing.assert_array_equal(bundle.preprocessing.scale, [1.5, 2.5, 3.5])
    assert not bundle.model.training


# -- loss=, preprocessing and metadata checked at save ------------------------------------------
@pytest.mark.parametrize("loss, name", [("mse", "mse"), ("Cross_Entropy", "cross_entropy"),
                                        (dp.BCEWithLogitsLoss(), "bce_with_logits"),
                                        (dp.BCELoss, "bce"), (None, None)])
def test_loss_is_recorded_by_name(tmp_path, loss, name):
    dio.save(_model(), tmp_path / "m.safetensors", loss=loss)
    bundle = dio.load_bundle(tmp_path / "m.safetensors")
    assert bundle.loss == name and bundle.metadata == {}


def test_metadata_loss_as_the_cli_writes_it(tmp_path):
    dio.save(_model(), tmp_path / "m.safetensors", metadata={"loss": "mse", "task": "r"})
    bundle = dio.load_bundle(tmp_path / "m.safetensors")
    assert bundle.loss == "mse" and bundle.metadata == {"loss": "mse", "task": "r"}


@pytest.mark.parametrize("kwargs, error, message", [
    ({"loss": "hinge"}, ValueError, "loss must be one of"),
    ({"loss": 3}, ValueError, "loss must be one of"),
    ({"metadata": {"loss": 0.35}}, ValueError, r"metadata\['loss'\] is read as the loss name"),
    ({"metadata": {"loss": "mse"}, "loss": "bce"}, ValueError, "disagree"),
    ({"metadata": ["a"]}, TypeError, "metadata must be a dict"),
    ({"preprocessing": Standardizer().fit(np.ones((4, 2)))}, ValueError,
     "mean must be a list of 3 numbers"),
    ({"preprocessing": {"type": "standardizer", "mean": [0] * 3, "scale": [1, 1, math.nan]}},
     ValueError, "scale must hold finite numbers"),
    ({"preprocessing": {"type": "standardizer", "mean": np.zeros(3), "scale": np.ones(2)}},
     ValueError, "scale must be a list of 3 numbers"),
    ({"metadata": {1: "a", "1": "b"}}, ValueError, "duplicate key '1'"),
    ({"metadata": {"classes": {1, 2}}}, TypeError, "metadata must be JSON-serialisable"),
])
def test_save_refuses_what_load_would_refuse(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        dio.save(_model(), tmp_path / "m.safetensors", **kwargs)
    assert list(tmp_path.iterdir()) == []


ORDINARY = {"notes": {"nested": {"deep": [1, 2.5, None, True, "ünïcødé ✓ 模型"]}},
            "empty": {}, "list": [], "big": 10**30, "tiny": 5e-324, "neg": -0.0,
            "nan": math.nan, "inf": -math.inf, "none": None, "": "empty key",
            "classes": ["ja", "nein"], "target_names": ["y"], "test": {"accuracy": 0.9}}


def test_ordinary_caller_metadata_round_trips(tmp_path):
    dio.save(_model(), tmp_path / "m.safetensors", metadata=ORDINARY)
    loaded = dio.load_bundle(tmp_path / "m.safetensors").metadata
    assert json.dumps(loaded, sort_keys=True) == json.dumps(ORDINARY, sort_keys=True)


def test_numpy_values_in_metadata_and_preprocessing_are_saved_as_plain_json(tmp_path):
    """What users pass without thinking (``y.max() + 1``, ``np.unique(labels)``) is saved, and
    loads back as the plain JSON values it was written as."""
    labels = np.array(["cat", "dog"])
    metadata = {"n_classes": np.int64(2), "score": np.float32(0.5), "ok": np.bool_(True),
                "counts": np.arange(3), "classes": np.unique(labels), "pair": (1, 2)}
    scaler = {"type": "standardizer", "mean": np.zeros(3), "scale": np.full(3, 2.0)}
    dio.save(_model(), tmp_path / "m.safetensors", metadata=metadata, preprocessing=scaler)
    bundle = dio.load_bundle(tmp_path / "m.safetensors")
    assert bundle.metadata == {"n_classes": 2, "score": 0.5, "ok": True, "counts": [0, 1, 2],
                               "classes": ["cat", "dog"], "pair": [1, 2]}
    assert type(bundle.metadata["n_classes"]) is int and bundle.classes == ["cat", "dog"]
    np.testing.assert_array_equal(bundle.preprocessing.scale, [2.0, 2.0, 2.0])


@pytest.mark.parametrize("replace, message", [
    (lambda w: w.astype(np.float64), r"all float32 or all float64, found \['float32', 'float64'\]"),
    (lambda w: np.zeros((5, 4), np.float32), r"'0\.weight' must have shape \(5, 3\), found "
                                              r"\(5, 4\)"),
])
def test_save_refuses_parameters_replaced_by_ones_load_would_refuse(tmp_path, replace, message):
    model = _model()
    model.layers[0].params["weight"] = replace(model.layers[0].params["weight"])
    with pytest.raises(ValueError, match=f"cannot save the model: .*{message}"):
        dio.save(model, tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_save_refuses_a_model_with_non_finite_weights(tmp_path, bad):
    model = _model()
    model.layers[0].params["weight"][0, 0] = bad
    with pytest.raises(ValueError, match=r"parameter '0\.weight' holds NaN or infinite"):
        dio.save(model, tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_cli_reads_a_model_with_ordinary_metadata(tmp_path):
    from deltaprop.cli import main

    model = dp.mlp([2, 4, 2], seed=0)
    path = tmp_path / "m.safetensors"
    dio.save(model, path, metadata=ORDINARY | {"loss": "cross_entropy"})
    for argv in (["evaluate", str(path), "moons"], ["predict", str(path), "moons", "--limit",
                                                    "3"]):
        out = text_io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(text_io.StringIO()):
            assert main(argv) == 0
        assert out.getvalue()


@pytest.mark.parametrize("value, names", [(["a", "b"], ["a", "b"]), ([0, 1.5], ["0", "1.5"]),
                                          ([10**400], None),
                                          (5, None), ({"a": 1}, None), ([None, [1]], None),
                                          ([True], None), (None, None)])
def test_class_and_target_names_are_plain_strings_or_none(tmp_path, value, names):
    dio.save(_model(), tmp_path / "m.safetensors",
             metadata={"classes": value, "target_names": value})
    bundle = dio.load_bundle(tmp_path / "m.safetensors")
    assert bundle.classes == names and bundle.target_names == names
    assert bundle.metadata["classes"] == value                # the caller's value, untouched


def test_a_lone_surrogate_in_the_header_is_a_model_file_error(tmp_path):
    path = _saved(tmp_path, metadata={"owner": "alice1"})
    data = path.read_bytes()
    path.write_bytes(data.replace(b"alice1", b"\\ud800"))   # same length: a lone surrogate
    with pytest.raises(dio.ModelFileError, match="checksum mismatch"):
        dio.load(path)
