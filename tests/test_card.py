"""``deltaprop.card``: the six-step recipe with the network's shapes filled in."""

from __future__ import annotations

import pytest

import deltaprop

STEPS = ("1 forward", "2 output delta", "3 hidden delta", "4 weight gradient",
         "5 bias gradient", "6 update")


def test_card_for_a_2_3_1_network_has_its_shapes_and_six_steps():
    text = deltaprop.card([2, 3, 1], activation="tanh", output="sigmoid", loss="bce")
    for step in STEPS:
        assert step in text
    assert "(N, 2) @ (3, 2)ᵀ + (3,) → (N, 3)" in text          # Z⁽¹⁾
    assert "(N, 3) @ (1, 3)ᵀ + (1,) → (N, 1)" in text          # Z⁽²⁾
    assert "Δ⁽²⁾ = ∂L/∂A⁽²⁾ ⊙ A⁽²⁾ ⊙ (1 − A⁽²⁾) = (A⁽²⁾ − Y) / N" in text
    assert "Δ⁽¹⁾ = (Δ⁽²⁾ W⁽²⁾) ⊙ (1 − A⁽¹⁾²)" in text
    assert "(N, 3)ᵀ @ (N, 2) → (3, 2)" in text                 # ∂L/∂W⁽¹⁾ has W⁽¹⁾'s shape
    assert "v ← μ v + ∂L/∂W;  W ← W − η v" in text
    assert len(text.splitlines()) <= 20                          # short enough to learn


@pytest.mark.parametrize("notation, expected", [
    ("rows", ["(N, 2) @ (2, 3) + (3,) → (N, 3)", "(N, 2)ᵀ @ (N, 3) → (2, 3)"]),
    ("ng", ["(3, 2) @ (2, m) + (3, 1) → (3, m)", "dZ[2] = dA[2] ⊙ A[2] ⊙ (1 − A[2]) = A[2] − Y",
            "dW[1] = (1/m) dZ[1] A[0]ᵀ"]),
    ("column", ["(3, 2) @ (2, 1) + (3, 1) → (3, 1)", "(3, 1) @ (2, 1)ᵀ → (3, 2)"]),
    ("haykin", ["e = d − y⁽²⁾", "ΔW(n) = α ΔW(n−1) + η δ yᵀ;  W ← W + ΔW"]),
])
def test_card_in_every_notation(notation, expected):
    text = deltaprop.card([2, 3, 1], "tanh", "sigmoid", "bce", notation=notation)
    for piece in expected:
        assert piece in text, piece


def test_card_markdown_is_a_table_and_logits_use_the_fused_delta():
    text = deltaprop.card([784, 128, 10], "relu", None, "cross_entropy", format="markdown")
    assert text.startswith("### Backpropagation memory card: 784-128-10")
    assert "| step | equation | shapes |" in text
    assert "| 2 output delta | `Δ⁽²⁾ = (A⁽²⁾ − Y) / N` | `(N, 10)` |" in text
    assert "`Δ⁽¹⁾ = (Δ⁽²⁾ W⁽²⁾) ⊙ [Z⁽¹⁾ > 0]`" in text


def test_card_without_momentum_and_mse():
    text = deltaprop.card([3, 2], "tanh", None, "mse", momentum=False)
    assert "W ← W − η ∂L/∂W" in text and "μ" not in text
    assert "Δ⁽¹⁾ = 2(A⁽¹⁾ − Y) / (N·2)" in text and "none: no hidden layer" in text


def test_card_rejects_bad_arguments():
    with pytest.raises(ValueError, match="card layers must be"):
        deltaprop.card([2])
    with pytest.raises(ValueError, match="card format must be 'text' or 'markdown'"):
        deltaprop.card(format="html")
    with pytest.raises(ValueError, match="unknown notation"):
        deltaprop.card(notation="bishop")
    with pytest.raises(ValueError, match="unknown activation"):
        deltaprop.card(activation="swishy")


@pytest.mark.parametrize("notation", ["batch", "rows", "ng", "column", "haykin"])
def test_card_without_biases_has_no_bias_anywhere(notation):
    text = deltaprop.card([3, 4, 1], "tanh", "sigmoid", "bce", notation=notation, bias=False)
    text = text.split("\n", 2)[2]                     # below the title and notation lines
    assert "+ b" not in text and "+ (" not in text and "db" not in text
    assert "∂L/∂b" not in text and "b ←" not in text and "b :=" not in text
    assert "none: the network has no biases" in text
    with_bias = deltaprop.card([3, 4, 1], "tanh", "sigmoid", "bce", notation=notation)
    assert "+ b" in with_bias


def test_card_prints_the_softmax_jacobian_vector_product_for_a_softmax_layer():
    text = deltaprop.card([3, 4, 3], "tanh", "softmax", "mse")
    assert "Δ⁽²⁾ = A⁽²⁾ ⊙ (∂L/∂A⁽²⁾ − rowsum(∂L/∂A⁽²⁾ ⊙ A⁽²⁾))" in text
    assert "softmax′" not in text


def test_card_writes_a_hidden_softmax_as_its_jacobian_vector_product():
    text = deltaprop.card([2, 3, 2], "softmax", None, "mse", notation="ng")
    assert "dZ[1] = A[1] ⊙ ((W[2]ᵀ dZ[2]) − colsum((W[2]ᵀ dZ[2]) ⊙ A[1]))" in text
    assert "softmax′" not in text
