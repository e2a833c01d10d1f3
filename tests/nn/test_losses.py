"""Losses: central differences, PyTorch parity, the fused identities, extreme logits, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from deltaprop import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    MSELoss,
    Sigmoid,
    Softmax,
)
from deltaprop.nn.activations import softmax
from deltaprop.nn.losses import LOSSES, get_loss
from helpers import numeric_grad, rel_error

N, K = 6, 4


def _case(name: str, rng):
    """``(loss, output, target)`` in float64 for one of the loss set-ups under test."""
    if name == "mse":
        return MSELoss(), rng.standard_normal((N, K)), rng.standard_normal((N, K))
    if name == "bce":
        return BCELoss(), rng.uniform(0.05, 0.95, (N, K)), rng.uniform(0, 1, (N, K))
    if name == "bce_hard":
        return BCELoss(), rng.uniform(0.05, 0.95, (N, K)), rng.integers(0, 2, (N, K)) * 1.0
    if name == "bce_with_logits":
        return BCEWithLogitsLoss(), 3 * rng.standard_normal((N, K)), rng.uniform(0, 1, (N, K))
    if name == "ce_labels":
        return CrossEntropyLoss(), 2 * rng.standard_normal((N, K)), rng.integers(0, K, N)
    if name == "ce_probs":
        return CrossEntropyLoss(), 2 * rng.standard_normal((N, K)), rng.dirichlet(np.ones(K), N)
    raise AssertionError(name)


NAMES = ["mse", "bce", "bce_hard", "bce_with_logits", "ce_labels", "ce_probs"]


def _torch_elementwise(name, output, target):
    """PyTorch's per-element (or per-sample) losses, ``reduction="none"``."""
    from torch.nn import functional

    if name == "mse":
        return functional.mse_loss(output, target, reduction="none")
    if name.startswith("bce_with"):
        return functional.binary_cross_entropy_with_logits(output, target, reduction="none")
    if name.startswith("bce"):
        return functional.binary_cross_entropy(output, target, reduction="none")
    return functional.cross_entropy(output, target, reduction="none")


@pytest.mark.parametrize("weighted", [False, True], ids=["mean", "sample_weight"])
@pytest.mark.parametrize("name", NAMES)
def test_central_differences(rng, name, weighted):
    loss, output, target = _case(name, rng)
    weight = rng.uniform(0.1, 2.0, N) if weighted else None
    value, grad = loss(output, target, weight)
    assert value.shape == () and grad.shape == output.shape and grad.dtype == np.float64
    numeric = numeric_grad(lambda out: float(loss(out, target, weight)[0]), output)
    assert rel_error(grad, numeric) < 1e-7


@pytest.mark.parametrize("name", NAMES)
def test_torch_parity_mean(rng, name):
    torch = pytest.importorskip("torch")
    loss, output, target = _case(name, rng)
    value, grad = loss(output, target)
    out = torch.tensor(output, requires_grad=True)
    expected = _torch_elementwise(name, out, torch.from_numpy(target)).mean()
    expected.backward()
    np.testing.assert_allclose(float(value), expected.item(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(grad, out.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_torch_parity_sample_weight(rng, name):
    # the weighted mean Σₙ wₙ ℓₙ / Σₙ wₙ, with ℓₙ the mean over the sample's outputs
    torch = pytest.importorskip("torch")
    loss, output, target = _case(name, rng)
    weight = rng.uniform(0.1, 2.0, N)
    value, grad = loss(output, target, weight)
    out = torch.tensor(output, requires_grad=True)
    per = _torch_elementwise(name, out, torch.from_numpy(target))
    per_sample = per.mean(dim=1) if per.ndim == 2 else per
    w = torch.from_numpy(weight)
    expected = (per_sample * w).sum() / w.sum()
    expected.backward()
    np.testing.assert_allclose(float(value), expected.item(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(grad, out.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_unit_sample_weight_is_the_plain_mean(rng):
    loss, output, target = _case("ce_labels", rng)
    value, grad = loss(output, target)
    value_w, grad_w = loss(output, target, np.ones(N))
    np.testing.assert_allclose(float(value_w), float(value), rtol=1e-14)
    np.testing.assert_allclose(grad_w, grad, rtol=1e-14)


def test_mse_hand_worked():
    # outputs [[1, 2], [3, 5]], targets [[0, 2], [3, 3]]: differences [[1, 0], [0, 2]]
    # loss = (1² + 0² + 0² + 2²) / (N·n = 4) = 5/4; gradient 2(A − Y)/4 = [[0.5, 0], [0, 1]]
    value, grad = MSELoss()(np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[0.0, 2.0], [3.0, 3.0]]))
    assert float(value) == 1.25
    np.testing.assert_array_equal(grad, [[0.5, 0.0], [0.0, 1.0]])


# -- the fused identities --------------------------------------------------------------------

def test_cross_entropy_gradient_is_softmax_minus_y_over_n(rng):
    Z = rng.standard_normal((N, K))
    labels = rng.integers(0, K, N)
    Y = np.eye(K)[labels]
    _, grad_labels = CrossEntropyLoss()(Z, labels)
    _, grad_probs = CrossEntropyLoss()(Z, Y)
    expected = (softmax(np, Z) - Y) / N                         # Δ⁽ᴸ⁾ = (A − Y)/N
    np.testing.assert_allclose(grad_labels, expected, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(grad_probs, expected, rtol=1e-14, atol=1e-16)


def test_softmax_layer_with_explicit_cross_entropy_collapses_to_a_minus_y(rng):
    # L = −(1/N) Σ Y log A, so ∂L/∂A = −Y/(N A); Softmax's full JVP turns it into (A − Y)/N
    Z = rng.standard_normal((N, K))
    Y = rng.dirichlet(np.ones(K), N)
    layer = Softmax()
    A = layer.forward(Z)
    delta = layer.backward(-Y / (N * A))
    np.testing.assert_allclose(delta, (A - Y) / N, rtol=1e-10, atol=1e-15)


def test_sigmoid_then_bce_equals_bce_with_logits(rng):
    Z = 3 * rng.standard_normal((N, K))
    Y = rng.uniform(0, 1, (N, K))
    sigmoid = Sigmoid()
    A = sigmoid.forward(Z)
    value, grad_a = BCELoss()(A, Y)
    value_logits, grad_z = BCEWithLogitsLoss()(Z, Y)
    np.testing.assert_allclose(float(value), float(value_logits), rtol=1e-12)
    delta = sigmoid.backward(grad_a)                            # ∂L/∂A ⊙ σ′(Z)
    np.testing.assert_allclose(delta, grad_z, rtol=1e-10, atol=1e-16)
    np.testing.assert_allclose(grad_z, (A - Y) / (N * K), rtol=1e-12)   # (A − Y)/(N·n_L)


# -- extreme logits --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bce_with_logits", "ce_labels", "ce_probs", "mse"])
def test_extreme_logits_are_finite_and_match_torch(rng, name):
    loss, _, target = _case(name, rng)
    output = rng.choice([-1e4, 1e4], size=(N, K)) * rng.uniform(0.5, 1.0, (N, K))
    value, grad = loss(output, target)                          # warnings are errors
    assert np.isfinite(float(value)) and np.all(np.isfinite(grad))
    torch = pytest.importorskip("torch")
    out = torch.tensor(output, requires_grad=True)
    expected = _torch_elementwise(name, out, torch.from_numpy(target)).mean()
    expected.backward()
    np.testing.assert_allclose(float(value), expected.item(), rtol=1e-8)
    np.testing.assert_allclose(grad, out.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_bce_on_saturated_probabilities_is_floored_like_torch():
    # a sigmoid of ±1e4 is exactly 1 or 0: log(0) must be floored at −100, never warn
    A = Sigmoid().forward(np.array([[1e4], [-1e4], [1e4], [0.0]]))
    Y = np.array([[0.0], [1.0], [1.0], [1.0]])
    value, grad = BCELoss()(A, Y)
    # per sample: 100 (floored), 100 (floored), 0, log 2; mean over 4
    np.testing.assert_allclose(float(value), (200 + np.log(2)) / 4, rtol=1e-12)
    assert np.all(np.isfinite(grad))
    torch = pytest.importorskip("torch")
    out = torch.tensor(A, requires_grad=True)
    expected = torch.nn.functional.binary_cross_entropy(out, torch.from_numpy(Y))
    expected.backward()
    np.testing.assert_allclose(float(value), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, out.grad.numpy(), rtol=1e-8)


def test_bce_with_logits_extreme_values_exact():
    Z = np.array([[1e4, -1e4, 1e4, -1e4]])
    Y = np.array([[1.0, 0.0, 0.0, 1.0]])
    value, grad = BCEWithLogitsLoss()(Z, Y)
    # right with certainty: 0; wrong with certainty: |z| = 1e4 each; mean over 4 = 5000
    assert float(value) == 5000.0
    np.testing.assert_array_equal(grad, [[0.0, 0.0, 0.25, -0.25]])


def test_float32_stays_float32(rng):
    for name in NAMES:
        loss, output, target = _case(name, rng)
        output = output.astype(np.float32)
        if target.dtype.kind == "f":
            target = target.astype(np.float32)
        value, grad = loss(output, target)
        assert value.dtype == np.float32 and grad.dtype == np.float32, name


# -- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("loss", [MSELoss(), BCELoss(), BCEWithLogitsLoss(), CrossEntropyLoss()])
def test_shape_mismatch(loss):
    with pytest.raises(ValueError, match=r"target of shape \(4, 3\).*got \(4, 2\)"):
        loss(np.full((4, 3), 0.5), np.full((4, 2), 0.5))
    with pytest.raises(ValueError, match=r"output of shape \(N, k\), got \(4,\)"):
        loss(np.full(4, 0.5), np.full(4, 0.5))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\), got \(3,\)"):
        loss(np.full((4, 3), 0.5), np.full((4, 3), 0.5), np.ones(3))


def test_cross_entropy_label_errors():
    loss = CrossEntropyLoss()
    with pytest.raises(TypeError, match=r"integer class labels.*float64"):
        loss(np.zeros((3, 4)), np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"expected 3 labels.*got 2"):
        loss(np.zeros((3, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\).*from 0 to 4"):
        loss.validate_target(np.array([0, 1, 4]), 4)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\).*from -1 to 2"):
        loss.validate_target(np.array([-1, 1, 2]), 4)
    with pytest.raises(TypeError, match="integer class labels"):
        loss.validate_target(np.array([0.0, 1.0]), 4)
    with pytest.raises(ValueError, match="probability targets must be >= 0"):
        loss.validate_target(np.array([[1.5, -0.5]]), 2)
    loss.validate_target(np.array([0, 3, 2]), 4)                    # valid: no error


def test_validate_target_shapes_and_finiteness():
    with pytest.raises(ValueError, match=r"expected y of shape \(N, 2\).*got \(3, 1\)"):
        MSELoss().validate_target(np.zeros((3, 1)), 2)
    with pytest.raises(ValueError, match="finite"):
        MSELoss().validate_target(np.array([[np.nan]]), 1)
    with pytest.raises(ValueError, match="finite"):
        CrossEntropyLoss().validate_target(np.array([[np.inf, 0.0]]), 2)


@pytest.mark.parametrize("loss", [BCELoss(), BCEWithLogitsLoss()])
def test_bce_targets_outside_unit_interval(loss):
    with pytest.raises(ValueError, match=r"targets in \[0, 1\].*from -0.5 to 1.0"):
        loss.validate_target(np.array([[-0.5], [1.0]]), 1)
    with pytest.raises(ValueError, match=r"targets in \[0, 1\].*from 0.0 to 2.0"):
        loss.validate_target(np.array([[0.0], [2.0]]), 1)
    loss.validate_target(np.array([[0.0], [0.3], [1.0]]), 1)         # valid: no error


def test_get_loss_names_classes_instances():
    for name, cls in LOSSES.items():
        assert type(get_loss(name)) is cls
    assert isinstance(get_loss("MSE"), MSELoss)
    assert isinstance(get_loss(BCELoss), BCELoss)
    instance = CrossEntropyLoss()
    assert get_loss(instance) is instance
    assert CrossEntropyLoss.link == "softmax" and BCEWithLogitsLoss.link == "sigmoid"
    assert MSELoss.link is None and BCELoss.link is None


def test_unknown_loss_lists_valid_names():
    with pytest.raises(ValueError, match="unknown loss 'hinge'") as info:
        get_loss("hinge")
    for name in LOSSES:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="unknown loss"):
        get_loss(None)


# -- a loss checks its own inputs when called directly (the README's loop) -----------------------
@pytest.mark.parametrize("output, labels, match", [
    (np.zeros((3, 4)), np.array([0, 1, 4]), r"labels \(output has 4 columns\) must be in "
                                             r"\[0, 3\], got 4 at index 2"),
    (np.zeros((3, 4)), np.array([0, -1, 2]), r"got -1 at index 1"),
    (np.zeros((3, 4), np.float32), np.array([7, 0, 0], np.uint8), r"got 7 at index 0"),
])
def test_cross_entropy_labels_out_of_range(output, labels, match):
    with pytest.raises(ValueError, match=match):
        CrossEntropyLoss()(output, labels)
    with pytest.raises(ValueError, match=match):               # the weighted path too
        CrossEntropyLoss()(output, labels, np.ones(3))


@pytest.mark.parametrize("target, match", [
    (np.array([[0.5, 0.6], [1.0, 0.0]]), r"must sum to 1 in every row .*got 1\.1 in row 0"),
    (np.array([[1.0, 0.0], [0.0, 0.0]]), r"got 0\.0 in row 1"),
    (np.array([[1.5, -0.5], [1.0, 0.0]]), r"probabilities must be finite and >= 0, got -0\.5 "
                                          r"at index \(0, 1\)"),
    (np.array([[1.0, 0.0], [np.nan, 1.0]]), r"got nan at index \(1, 0\)"),
])
def test_cross_entropy_probability_rows(target, match):
    with pytest.raises(ValueError, match=match):
        CrossEntropyLoss()(np.zeros((2, 2)), target)


def test_cross_entropy_probability_rows_within_float32_rounding_pass(rng):
    target = softmax(np, rng.normal(size=(64, 10)).astype(np.float32))
    value, _ = CrossEntropyLoss()(rng.normal(size=(64, 10)).astype(np.float32), target)
    assert np.isfinite(value)


@pytest.mark.parametrize("loss", [BCELoss(), BCEWithLogitsLoss()])
@pytest.mark.parametrize("bad, shown", [(1.5, "1.5"), (-0.25, "-0.25"), (np.nan, "nan"),
                                        (np.inf, "inf")])
def test_bce_targets_must_lie_in_0_1(loss, bad, shown):
    target = np.array([[0.0, 1.0], [0.5, bad]])
    with pytest.raises(ValueError, match=rf"{type(loss).__name__} target must be in \[0, 1\], "
                                         rf"got {shown} at index \(1, 1\)"):
        loss(np.full((2, 2), 0.5), target)


@pytest.mark.parametrize("bad", [1.5, -0.1, np.inf])
def test_bce_predictions_must_lie_in_0_1(bad):
    output = np.array([[0.2, bad], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"BCELoss output \(probabilities; pass logits to "
                                         r"BCEWithLogitsLoss\) must be in \[0, 1\], got "):
        BCELoss()(output, np.zeros((2, 2)))
    BCEWithLogitsLoss()(output if np.isfinite(bad) else np.zeros((2, 2)), np.zeros((2, 2)))


def test_nan_predictions_give_a_nan_loss_not_a_floored_one():
    value, grad = BCELoss()(np.array([[np.nan], [0.5]]), np.array([[1.0], [0.0]]))
    assert np.isnan(value) and np.isnan(grad[0, 0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_mse_targets_must_be_finite(bad):
    with pytest.raises(ValueError, match=r"MSELoss target must be finite, got -?(nan|inf) at "
                                         r"index \(0, 2\)"):
        MSELoss()(np.zeros((2, 3)), np.array([[0.0, 1.0, bad], [0.0, 0.0, 0.0]]))


@pytest.mark.parametrize("loss", [MSELoss(), BCELoss(), BCEWithLogitsLoss(), CrossEntropyLoss()])
def test_complex_or_text_targets_are_refused(loss):
    with pytest.raises(TypeError, match=r"real numbers|integer class labels"):
        loss(np.full((2, 2), 0.5), np.full((2, 2), 0.5 + 0j))


@pytest.mark.parametrize("name", NAMES)
def test_sample_weight_all_zero_negative_or_non_finite(rng, name):
    loss, output, target = _case(name, rng)
    with pytest.raises(ValueError, match=r"sample_weight sums to 0: the weighted mean .* is "
                                         r"undefined"):
        loss(output, target, np.zeros(N))
    for bad, shown in [(-1.0, "-1.0"), (np.nan, "nan"), (np.inf, "inf")]:
        weights = np.ones(N)
        weights[3] = bad
        with pytest.raises(ValueError, match=rf"sample_weight must be finite and >= 0, got "
                                             rf"{shown} at index 3"):
            loss(output, target, weights)
    with pytest.raises(ValueError, match="sample_weight sums to inf in float32"):
        loss(output.astype(np.float32), target, np.full(N, 1e38))
    weights = np.zeros(N)
    weights[2] = 1.0                                     # one row counts: fine
    value, _ = loss(output, target, weights)
    assert np.isfinite(value)


@pytest.mark.parametrize("name", NAMES)
def test_value_and_grad_is_the_call_without_checks(rng, name):
    loss, output, target = _case(name, rng)
    weight = rng.uniform(0.1, 2.0, N)
    for args in [(output, target), (output, target, weight)]:
        checked, unchecked = loss(*args), loss.value_and_grad(*args)
        np.testing.assert_array_equal(checked[0], unchecked[0], strict=True)
        np.testing.assert_array_equal(checked[1], unchecked[1], strict=True)
