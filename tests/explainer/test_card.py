"""``deltaprop.card``: the six-step recipe with the network's shapes filled in."""

from __future__ import annotations

import re

import numpy as np
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
    ("haykin", ["e = d − y⁽²⁾", "ΔW(n) = α ΔW(n−1) + η (−∂L/∂W);  W ← W + ΔW"]),
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


# (sizes, hidden, output, loss): every output/loss pair the card writes
CARD_CASES = [([2, 3, 1], "tanh", "sigmoid", "bce"), ([3, 4, 3], "relu", None, "cross_entropy"),
              ([3, 4, 2], "sigmoid", None, "bce_with_logits"), ([3, 4, 2], "tanh", None, "mse"),
              ([2, 3, 3], "tanh", "softmax", "mse"), ([3, 2], "relu", "sigmoid", "mse"),
              ([2, 3, 4, 2], "softmax", None, "mse"), ([3, 4, 2], "elu", "sigmoid", "bce")]
LAYER_MARK = re.compile(r"⁽[⁰¹²³⁴⁵⁶⁷⁸⁹]+⁾|\[\d+\]")


def _card_parts(text: str) -> list[tuple[str, str]]:
    """(step, equation part) of a Markdown card."""
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| ")][1:]
    return [(row[0][2:], part) for row in rows for part in row[1].strip("`").split(";  ")
            if not part.startswith("none:")]


def _bare(equation: str) -> str:
    """An update without layer indices and per-parameter names: v_W⁽¹⁾ -> v, W⁽¹⁾ -> W."""
    return re.sub(r"_[Wb](?=\W|$)", "", LAYER_MARK.sub("", equation))


@pytest.mark.parametrize("notation", ["batch", "rows", "ng", "column", "haykin"])
@pytest.mark.parametrize("bias", [True, False])
def test_every_card_row_is_an_equation_the_engine_is_traced_with(notation, bias):
    """Each card row is printed by the trace of the same network (whose every equation the
    recompute test redoes on the engine's numbers), with ∂L/∂A⁽ˡ⁻¹⁾ written out as the
    trace's own equation for it; the update rows are the trace's SGD-with-momentum step."""
    for sizes, hidden, output, loss in CARD_CASES:
        card = deltaprop.card(sizes, hidden, output, loss, notation=notation,
                              format="markdown", bias=bias)
        model = deltaprop.mlp(sizes, activation=hidden, output=output, bias=bias, seed=0,
                              dtype=np.float64)
        rng = np.random.default_rng(0)
        y = rng.integers(0, sizes[-1], 3) if loss == "cross_entropy" else \
            rng.integers(0, 2, (3, sizes[-1])).astype(float)
        trace = deltaprop.explain(model, rng.normal(size=(3, sizes[0])), y, loss, notation,
                                  optimizer=deltaprop.SGD(model, lr=0.1, momentum=0.9))
        parts = {part for step in trace.steps for part in step.equation.split(";  ")}
        grads = [step.equation.split(" = ", 1) for step in trace.steps
                 if step.key.startswith("backward.grad_a.")]
        updates = {_bare(part) for part in parts if "←" in part or ":=" in part or "ΔW" in part
                   or "Δb" in part}
        for step, part in _card_parts(card):
            if step == "6 update":
                bare = part.replace("u", "v").replace("ΔW(n) =", "ΔW =").replace("Δb(n) =", "Δb =")
                assert bare in updates, (notation, sizes, part, sorted(updates))
            else:
                # the card writes ∂L/∂A⁽ˡ⁻¹⁾ out as the trace's own equation for it
                undone = {part.replace(f"({rhs})", lhs).replace(f"ᵀ {lhs}", f"ᵀ ({lhs})")
                          for lhs, rhs in grads}
                assert part in parts or undone & parts, (notation, sizes, loss, part)
