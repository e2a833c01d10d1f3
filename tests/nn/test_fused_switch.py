"""The fused/reference switch: modes, the environment variable, errors; runs with and without
numba (``pytest --without-numba`` makes it unimportable)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.nn import fused
from deltaprop.nn.fused import get_fused, set_fused, use_fused

HAS_NUMBA = fused.load_kernels() is not None


@pytest.mark.parametrize(("text", "mode"), [("0", False), ("off", False), ("1", True),
                                            ("TRUE", True), ("", None), (" auto ", None)])
def test_environment_variable_sets_the_mode(monkeypatch, text, mode):
    monkeypatch.setenv("DELTAPROP_FUSED", text)
    assert fused._mode_from_environment() is mode


def test_environment_variable_with_another_value_is_refused(monkeypatch):
    monkeypatch.setenv("DELTAPROP_FUSED", "fast")
    with pytest.raises(ValueError, match=r"DELTAPROP_FUSED must be one of 0, 1, auto.*'fast'"):
        fused._mode_from_environment()


def test_use_fused_restores_the_previous_mode():
    before = get_fused()
    with use_fused(False):
        assert get_fused() is False
        with pytest.raises(TypeError, match="set_fused fused must be None"):
            set_fused("yes")
        assert get_fused() is False
    assert get_fused() is before


@pytest.mark.parametrize("value", ["auto", 1, 0.0])
def test_optimizer_fused_must_be_none_or_a_bool(value):
    with pytest.raises(TypeError, match=rf"SGD fused must be None \(automatic\), True or False, "
                                        rf"got {value!r}"):
        dp.SGD(dp.mlp([2, 1], seed=0), 0.1, fused=value)


def test_fused_true_without_numba_says_what_to_install(monkeypatch):
    monkeypatch.setattr(fused, "_kernels", None)
    monkeypatch.setattr(fused, "_load_error", "No module named 'numba'")
    with pytest.raises(ImportError, match=r"pip install 'deltaprop\[fast\]'.*No module named"):
        dp.Adam(dp.mlp([2, 1], seed=0), fused=True)
    with pytest.raises(ImportError, match="needs numba"):
        set_fused(True)
    assert fused.kernels_for(None, np.zeros(2)) is None          # automatic: the reference


def test_kernels_apply_only_to_numpy_float_arrays_of_one_dtype():
    if not HAS_NUMBA:
        pytest.skip("numba is not installed")
    x32, x64 = np.zeros(2, np.float32), np.zeros(2)
    assert fused.kernels_for(None, x32, x32) is not None
    assert fused.kernels_for(False, x32) is None
    assert fused.kernels_for(None, x32, x64) is None
    assert fused.kernels_for(None, np.zeros(2, np.int64)) is None
    assert fused.kernels_for(None, np.zeros(2, np.float16)) is None
    assert fused.kernels_for(None, x32.view(np.memmap)) is None
    with use_fused(False):
        assert fused.kernels_for(None, x32) is None
        assert fused.kernels_for(True, x32) is not None          # the instance's own choice


def test_without_numba_the_reference_path_trains():
    """With numba absent (``--without-numba``) or present, a step runs and lowers the loss."""
    assert HAS_NUMBA == (importlib.util.find_spec("numba") is not None)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(32, 4)), rng.integers(0, 2, 32)
    model = dp.mlp([4, 8, 2], seed=0)
    optimizer = dp.SGD(model, 0.5, momentum=0.9)
    losses = [dp.train_step(model, X, y, loss="cross_entropy", optimizer=optimizer)
              for _ in range(20)]
    assert losses[-1] < losses[0]


def test_kernel_threads_is_a_positive_count():
    assert fused.kernel_threads() >= 1
