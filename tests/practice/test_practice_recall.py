"""Practice from memory: recall exercises (names and shapes only) and hints revealed in stages."""

from __future__ import annotations

import ast
import json

import pytest

from deltaprop import InvalidParameterError
from deltaprop.cli import main
from deltaprop.practice import SPECS, TOPIC_FUNCTIONS, TOPICS, check_file, render_exercise
from deltaprop.practice.equations import EQUATIONS
from deltaprop.practice.layout_texts import LAYOUT_EQUATIONS
from deltaprop.practice.recall import RECALL_IO, STAGED_HINTS, STAGES, WITHHELD

TRANSPOSED_DENSE = '''
DELTAPROP_TOPIC = "dense"
DELTAPROP_RECALL = True


def dense_backward(a_prev, weight, grad_out):
    return grad_out @ weight, a_prev.T @ grad_out, grad_out.sum(axis=0)
'''


def test_every_practice_function_has_recall_shapes_and_three_stages():
    assert set(RECALL_IO) == set(SPECS) == set(STAGED_HINTS)
    assert all(len(stages) == len(STAGES) == 3 for stages in STAGED_HINTS.values())


@pytest.mark.parametrize("topic", TOPICS)
def test_recall_exercise_has_names_and_shapes_but_no_equation(topic):
    text = render_exercise(topic, recall=True)
    tree = ast.parse(text)
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] \
        == list(TOPIC_FUNCTIONS[topic])
    assert "DELTAPROP_RECALL = True" in text
    for line in EQUATIONS[topic]["batch"].splitlines():     # the normal exercise's equations
        assert line.strip() not in text
    for function in TOPIC_FUNCTIONS[topic]:
        *_, equations = STAGED_HINTS[function]
        for equation in equations.split(";  "):
            assert equation.strip() not in text, equation
        assert "(N," in text or "(out, in)" in text            # the shapes are there


@pytest.mark.parametrize("level", [0, 1, 2, 3, 7])
def test_each_hint_reveals_one_stage_more_and_is_counted(tmp_path, level):
    path = tmp_path / "dense.py"
    path.write_text(render_exercise("dense", recall=True), encoding="utf-8")
    (result,) = check_file(path, hints=level)
    expected = min(level, 3)
    assert result.hints_used == expected and len(result.hints) == expected
    for index, text in enumerate(result.hints):
        assert STAGES[index] in text and STAGED_HINTS["dense_backward"][index] in text
    assert result.to_dict()["hints_used"] == expected


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_hints_must_be_an_integer_at_least_zero(tmp_path, bad):
    path = tmp_path / "dense.py"
    path.write_text(TRANSPOSED_DENSE, encoding="utf-8")
    with pytest.raises(InvalidParameterError, match="hints"):
        check_file(path, hints=bad)


@pytest.mark.slow
def test_a_recall_failure_names_the_mistake_but_keeps_the_equation_until_asked(tmp_path):
    path = tmp_path / "dense.py"
    path.write_text(TRANSPOSED_DENSE, encoding="utf-8")
    (withheld,) = check_file(path, hints=2)
    assert withheld.mistakes[0] == "transposed" and withheld.hint == WITHHELD
    (shown,) = check_file(path, hints=3)
    assert shown.mistakes[0] == "transposed" and "Δᵀ A_prev" in shown.hint
    normal = tmp_path / "normal.py"          # not a recall file: the hint is shown at once
    normal.write_text(TRANSPOSED_DENSE.replace("DELTAPROP_RECALL = True", ""), "utf-8")
    (plain,) = check_file(normal)
    assert "Δᵀ A_prev" in plain.hint and plain.hints_used == 0


@pytest.mark.slow
def test_cli_recall_then_check_with_hints(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["practice", "mse", "--recall"]) == 0
    capsys.readouterr()
    text = (tmp_path / "mse_practice.py").read_text(encoding="utf-8")
    assert "2(A − Y)" not in text and "DELTAPROP_RECALL = True" in text
    assert main(["check", "mse_practice.py", "--hint", "--hint", "--format", "json"]) == 1
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["hints_used"] == 2 and len(record["hints"]) == 2
    assert main(["check", "mse_practice.py", "--hint"]) == 1
    out = capsys.readouterr().out
    assert "hints used: 1 of 3" in out and "quantities involved" in out
    assert "the shapes" not in out


@pytest.mark.parametrize("notation", ["column", "haykin", "ng", "rows"])
@pytest.mark.parametrize("topic", ["dense", "network", "softmax_cross_entropy"])
def test_a_recall_exercise_in_another_layout_has_no_equation_either(topic, notation):
    text = render_exercise(topic, notation, recall=True)
    assert f'DELTAPROP_NOTATION = "{notation}"' in text
    for line in LAYOUT_EQUATIONS[topic][notation].splitlines():
        assert line.strip() not in text
    for line in EQUATIONS[topic]["batch"].splitlines():
        assert line.strip() not in text


@pytest.mark.slow
def test_hints_of_a_file_in_another_layout_are_that_layouts(tmp_path):
    path = tmp_path / "dense.py"
    path.write_text(render_exercise("dense", "ng", recall=True), encoding="utf-8")
    (result,) = check_file(path, hints=3)
    assert "WITHOUT the 1/m" in result.hints[1]
    assert "dW = (1/m) dZ A_prevᵀ" in result.hints[2] and "Δᵀ A_prev" not in result.hints[2]


@pytest.mark.slow
@pytest.mark.parametrize(("notation", "function", "wanted", "unwanted"), [
    ("ng", "softmax_cross_entropy_backward", "no 1/m", "batch size N of the mean"),
    ("ng", "mse_backward", "count n of a sample's entries", "N·n"),
    ("haykin", "mse_backward", "MINUS the gradient", "Every function below"),
    ("column", "softmax_cross_entropy_backward", "N = 1", "Every function below"),
    ("rows", "dense_backward", "W is stored (in, out)", "Every function below"),
])
def test_the_first_hints_speak_the_files_layout(tmp_path, notation, function, wanted,
                                                unwanted):
    topic = SPECS[function].topic
    path = tmp_path / "mine.py"
    path.write_text(render_exercise(topic, notation, recall=True), encoding="utf-8")
    result = next(r for r in check_file(path, hints=2) if r.function == function)
    shown = " ".join(result.hints[:2])
    assert wanted in shown and unwanted not in shown, result.hints
    assert "Use NumPy only" not in result.hints[1]            # the shapes, no boilerplate
