"""The link functions live once (``deltaprop.nn.functional``) and each loss says what its
output means (``link``, ``task``, ``output``, ``default_metric``)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from deltaprop.explainer.outputs import loss_kind
from deltaprop.nn import functional
from deltaprop.nn.activations import Sigmoid, Softmax, Softplus
from deltaprop.nn.losses import (
    LOSSES,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Loss,
    MSELoss,
)
from deltaprop.training.evaluation import resolve_metric

SRC = Path(__file__).resolve().parents[2] / "src" / "deltaprop"


def _z(seed=0, shape=(7, 5)):
    return np.random.default_rng(seed).normal(scale=4.0, size=shape)


# the formulas as they stood before they moved (activations.py, losses.py): bit for bit
def _old_sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _old_softmax(z):
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _old_log_softmax(z):          # CrossEntropyLoss.elementwise's log-probabilities
    shifted = z - np.max(z, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_links_equal_the_old_formulas_bit_for_bit(dtype):
    z = _z().astype(dtype)
    np.testing.assert_array_equal(functional.sigmoid(np, z), _old_sigmoid(z))
    np.testing.assert_array_equal(functional.softmax(np, z), _old_softmax(z))
    np.testing.assert_array_equal(functional.log_softmax(np, z), _old_log_softmax(z))


def test_links_are_the_textbook_functions():
    z = _z(1)
    np.testing.assert_allclose(functional.sigmoid(np, z), 1 / (1 + np.exp(-z)), rtol=1e-13)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(functional.softmax(np, z), p, rtol=1e-13)
    np.testing.assert_allclose(functional.log_softmax(np, z), np.log(p), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_links_are_stable_for_plus_minus_1000(dtype):
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]], dtype=dtype)
    s = functional.sigmoid(np, z)              # filterwarnings=error: no overflow warning
    np.testing.assert_array_equal(s, np.array([[1, 0, 0.5], [0, 0, 1]], dtype=dtype))
    one_hot = np.array([[1, 0, 0], [0, 0, 1]], dtype=dtype)
    np.testing.assert_array_equal(functional.softmax(np, z), one_hot)
    log_p = functional.log_softmax(np, z)
    assert np.all(np.isfinite(log_p))          # log(softmax) would give -inf here
    np.testing.assert_allclose(log_p, [[0, -2000, -1000], [-2000, -2000, 0]], rtol=1e-6)


def test_apply_link():
    z = _z(2)
    assert functional.apply_link(np, None, z) is z
    for link in ("softmax", "sigmoid"):
        expected = getattr(functional, link)(np, z)
        np.testing.assert_array_equal(functional.apply_link(np, link, z), expected)
    with pytest.raises(ValueError, match=r"link must be one of .*'tanh'"):
        functional.apply_link(np, "tanh", z)


def test_layers_and_losses_compute_with_the_functions():
    z = _z(3)
    np.testing.assert_array_equal(Sigmoid().forward(z), functional.sigmoid(np, z))
    np.testing.assert_array_equal(Softmax().forward(z), functional.softmax(np, z))
    np.testing.assert_array_equal(Softplus().derivative(np, z, None), functional.sigmoid(np, z))
    y = (z > 0).astype(z.dtype)
    _, grad = BCEWithLogitsLoss()(z, y)
    np.testing.assert_array_equal(grad, (functional.sigmoid(np, z) - y) / z.size)
    w = np.ones(z.shape[0])                    # weights: the general (non fast-path) route
    _, grad = CrossEntropyLoss()(z, np.argmax(z, axis=1), sample_weight=w)
    expected = (functional.softmax(np, z) - np.eye(5)[np.argmax(z, axis=1)]) / z.shape[0]
    np.testing.assert_allclose(grad, expected, rtol=1e-13, atol=1e-16)


ATTRIBUTES = {       # link, task, output, default_metric
    MSELoss: (None, "regression", "values", "r2"),
    BCELoss: (None, "classification", "probabilities", "accuracy"),
    BCEWithLogitsLoss: ("sigmoid", "classification", "logits", "accuracy"),
    CrossEntropyLoss: ("softmax", "classification", "logits", "accuracy"),
}


@pytest.mark.parametrize("cls", list(ATTRIBUTES))
def test_each_loss_says_what_its_output_means(cls):
    loss = cls()
    assert (loss.link, loss.task, loss.output, loss.default_metric) == ATTRIBUTES[cls]
    assert resolve_metric("auto", loss) == ATTRIBUTES[cls][3]


def test_every_registered_loss_declares_its_attributes():
    assert set(LOSSES.values()) == set(ATTRIBUTES)
    for cls in LOSSES.values():
        assert cls.link in (None, *functional.LINKS)
        assert cls.output == "logits" if cls.link else cls.output in ("probabilities", "values")


def test_bce_losses_are_siblings():
    assert not isinstance(BCEWithLogitsLoss(), BCELoss)
    assert not isinstance(BCELoss(), BCEWithLogitsLoss)
    assert loss_kind(BCEWithLogitsLoss()) == loss_kind(BCELoss()) == "bce"
    BCEWithLogitsLoss()(np.array([[-5.0], [7.0]]), np.array([[0.0], [1.0]]))  # logits: fine
    with pytest.raises(ValueError, match="BCELoss output"):
        BCELoss()(np.array([[-5.0], [7.0]]), np.array([[0.0], [1.0]]))


def test_metric_follows_the_declared_task_not_the_class():
    class Huber(Loss):                         # a user's loss that says it is regression
        task, output, default_metric = "regression", "values", "r2"

    class Hinge(Loss):
        task, default_metric = "classification", "accuracy"

    assert resolve_metric("auto", Huber()) == "r2"
    assert resolve_metric("r2", Huber()) == "r2"
    with pytest.raises(ValueError, match="metric='r2' needs a regression loss"):
        resolve_metric("r2", Hinge())
    assert resolve_metric("auto", Loss()) == "accuracy"      # undeclared: as before
    assert resolve_metric("r2", Loss()) == "r2"


def _sources():
    return [p for p in SRC.rglob("*.py") if "nn" not in p.relative_to(SRC).parts[:1]]


def test_link_functions_are_defined_once():
    for name in ("sigmoid", "softmax", "log_softmax"):
        found = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")
                 if re.search(rf"^def {name}\(", p.read_text(encoding="utf-8"), re.M)]
        assert found == ["nn/functional.py"], (name, found)


def test_no_sigmoid_layer_is_built_to_call_its_function():
    """Outside the engine a ``Sigmoid()`` is built only where its forward/backward is what is
    shown (the explainer's unfused route); nowhere just to call ``.function``."""
    calls = [p for p in SRC.rglob("*.py") if "Sigmoid().function" in p.read_text("utf-8")]
    assert calls == []
    built = sorted(p.relative_to(SRC).as_posix() for p in _sources()
                   if re.search(r"\bSigmoid\(\)", p.read_text("utf-8")))
    assert built == ["explainer/traps.py"]
