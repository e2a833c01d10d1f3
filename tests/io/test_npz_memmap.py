"""``open_npz``: the arrays of an uncompressed .npz memory-mapped, equal to ``np.load``'s;
compressed and object members refused with the array's name; ``fit`` trains from them."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.io import open_npz


def test_every_array_is_mapped_and_equal_to_np_load(tmp_path):
    path = tmp_path / "data.npz"
    rng = np.random.default_rng(0)
    saved = {"X": rng.normal(size=(7, 3)).astype(np.float32), "y": np.arange(7),
             "F": np.asfortranarray(rng.normal(size=(4, 5))), "empty": np.zeros((0, 3)),
             "scalar": np.float64(2.5)}
    np.savez(path, **saved)
    arrays = open_npz(path)
    assert sorted(arrays) == sorted(saved)
    for name, value in saved.items():
        np.testing.assert_array_equal(arrays[name], value)
        assert arrays[name].dtype == np.asarray(value).dtype
    assert isinstance(arrays["X"], np.memmap) and isinstance(arrays["F"], np.memmap)
    assert arrays["F"].flags.f_contiguous


def test_a_compressed_member_is_refused_with_its_name(tmp_path):
    path = tmp_path / "small.npz"
    np.savez_compressed(path, X=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"array 'X' is compressed .* np\.savez"):
        open_npz(path)


def test_objects_and_a_bad_mode_are_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, names=np.array(["a", None], dtype=object))
    with pytest.raises(ValueError, match=r"array 'names' holds Python objects"):
        open_npz(path)
    with pytest.raises(ValueError, match=r"mode must be 'r', 'r\+' or 'c', got 'w'"):
        open_npz(path, mode="w")


def test_fit_from_a_mapped_npz_equals_fit_from_memory(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    mapped = open_npz(tmp_path / "d.npz")
    models = []
    for data_X, data_y in ((X, y), (mapped["X"], mapped["y"])):
        model = dp.mlp([3, 4, 2], seed=0, dtype=np.float64)
        dp.fit(model, data_X, data_y, loss="cross_entropy", optimizer="sgd", epochs=2,
               batch_size=8, seed=0)
        models.append(model.state_dict())
    for key in models[0]:
        np.testing.assert_array_equal(models[0][key], models[1][key])
