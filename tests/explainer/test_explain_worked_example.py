"""``docs/worked-example.md`` is exactly what the generator writes from the engine's trace."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deltaprop.explainer.worked_example import worked_example_markdown, worked_example_trace

PAGE = Path(__file__).resolve().parents[2] / "docs" / "worked-example.md"


def test_worked_example_matches_the_committed_page():
    assert worked_example_markdown() == PAGE.read_text(encoding="utf-8"), (
        "docs/worked-example.md is stale: python -m deltaprop.explainer.worked_example "
        "> docs/worked-example.md")


def test_worked_example_numbers_by_hand():
    trace = worked_example_trace()
    # Z⁽¹⁾ row 0: [0.5·1 − 0.3·2 + 0.1, 0.2·1 + 0.4·2 − 0.1] = [0, 0.9]
    np.testing.assert_allclose(trace["forward.z.1"].value("z")[0], [0.0, 0.9], atol=1e-12)
    a1 = np.tanh([[0.0, 0.9], [-0.55, -0.1]])
    z2 = a1 @ np.array([[0.7], [-0.6]]) + 0.05
    a2 = 1 / (1 + np.exp(-z2))
    delta2 = (a2 - np.array([[1.0], [0.0]])) / 2                # (A − Y)/N, N = 2
    np.testing.assert_allclose(trace["backward.delta.out"].value("delta"), delta2)
    np.testing.assert_allclose(trace["update.weight.2"].value("new_weight"),
                               [[0.7, -0.6]] - 0.5 * delta2.T @ a1)
