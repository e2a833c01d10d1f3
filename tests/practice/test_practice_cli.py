"""``deltaprop practice`` and ``deltaprop check``: the exercise files and the grader's output."""

from __future__ import annotations

import ast
import json
import os
import textwrap

import pytest

from deltaprop.cli import main
from deltaprop.practice import (
    MISTAKES,
    NOTATIONS,
    SPECS,
    TOPIC_FUNCTIONS,
    TOPICS,
    render_exercise,
    write_exercise,
)

REQUIRED_KEYS = {"function", "passed", "mistakes"}


@pytest.mark.parametrize("notation", NOTATIONS)
@pytest.mark.parametrize("topic", TOPICS)
def test_exercise_is_valid_python_with_the_checked_signatures(topic, notation):
    text = render_exercise(topic, notation)
    tree = ast.parse(text)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert tuple(functions) == TOPIC_FUNCTIONS[topic]
    for name, node in functions.items():
        assert tuple(arg.arg for arg in node.args.args) == SPECS[name].args
        docstring = ast.get_docstring(node)
        assert "shape" in docstring and "Returns" in docstring
        assert isinstance(node.body[-1], ast.Raise)                  # the TODO
    assert NOTATIONS[notation] in text and f'DELTAPROP_TOPIC = "{topic}"' in text
    if notation == "batch":
        assert "batch-rows layout" in text and "DELTAPROP_NOTATION" not in text
    else:                               # the arrays are in the notation's layout, and say so
        assert f'DELTAPROP_NOTATION = "{notation}"' in text
        assert f"arrays in THIS notation's layout ({notation})" in text


def test_notation_changes_the_equations_not_the_signature():
    batch, ng, rows = (render_exercise("dense", n) for n in ("batch", "ng", "rows"))
    assert "dW = (1/m) dZ A_prevᵀ" in ng and "dW = (1/m)" not in batch
    assert "Hᵀ G_Z" in rows
    assert "def dense_backward(a_prev, weight, grad_out):" in batch and \
        "def dense_backward(a_prev, weight, grad_out):" in ng
    assert "e = d − y" in render_exercise("softmax_cross_entropy", "haykin")
    assert "(1 − β)" in render_exercise("momentum", "ng")


def test_unknown_topic_and_notation_list_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="valid topics: activation, dense"):
        write_exercise("convolution", tmp_path / "x.py")
    with pytest.raises(ValueError, match="valid notations: batch, column"):
        render_exercise("dense", "einstein")


def test_write_exercise_never_overwrites_by_accident(tmp_path):
    path = write_exercise("momentum", tmp_path / "m.py")
    path.write_text("my work", encoding="utf-8")
    with pytest.raises(FileExistsError):
        write_exercise("momentum", path)
    assert path.read_text(encoding="utf-8") == "my work"
    write_exercise("momentum", path, overwrite=True)
    assert "def momentum_step" in path.read_text(encoding="utf-8")


def test_cli_practice_writes_the_file_and_check_grades_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["practice", "dense"]) == 0
    out = capsys.readouterr().out
    assert "dense_practice.py" in out and "deltaprop check" in out
    assert main(["check", "dense_practice.py"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  dense_backward: not implemented" in out and "0/1 functions passed" in out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_practice_refuses_a_fifo_or_folder_even_with_force(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.py")                 # opening it to write would block
    (tmp_path / "folder.py").mkdir()
    for name in ("pipe.py", "folder.py"):
        with pytest.raises(ValueError, match="not a regular file"):
            write_exercise("dense", tmp_path / name, overwrite=True)
        assert main(["practice", "dense", "--out", str(tmp_path / name), "--force"]) == 2
        assert "not a regular file" in capsys.readouterr().err
    assert (tmp_path / "folder.py").is_dir() and not (tmp_path / "pipe.py").is_file()


def test_cli_practice_notation_and_out(tmp_path, capsys):
    target = tmp_path / "mine.py"
    assert main(["practice", "activation", "--notation", "column", "--out", str(target)]) == 0
    assert "BP1/BP2" in target.read_text(encoding="utf-8")
    assert main(["practice", "network", "--out", "-"]) == 0
    assert "def network_backward(weights, activations, zs, y):" in capsys.readouterr().out


def test_cli_practice_errors_are_one_line_exit_2(tmp_path, capsys):
    assert main(["practice", "convolution", "--out", str(tmp_path / "x.py")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "valid topics: activation, dense, softmax_cross_entropy" in err
    existing = tmp_path / "e.py"
    existing.write_text("keep", encoding="utf-8")
    assert main(["practice", "dense", "--out", str(existing)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["practice", "dense", "--out", str(existing), "--force"]) == 0


def test_cli_check_json_lines_with_the_fixed_keys(tmp_path, capsys):
    path = tmp_path / "act.py"
    path.write_text(textwrap.dedent('''
        import numpy as np

        def sigmoid_backward(z, grad_out):
            a = 1 / (1 + np.exp(-z))
            return grad_out * a * (1 - a)

        def tanh_backward(z, grad_out):
            return grad_out

        def relu_backward(z, grad_out):
            raise NotImplementedError
        '''), encoding="utf-8")
    assert main(["check", "--format", "json", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["function"] for r in records] == list(TOPIC_FUNCTIONS["activation"])
    for record in records:
        assert REQUIRED_KEYS <= set(record) and isinstance(record["passed"], bool)
        assert set(record["mistakes"]) <= set(MISTAKES)
    sigmoid, tanh, relu = records
    assert sigmoid["passed"] and sigmoid["mistakes"] == []
    assert tanh["mistakes"][0] == "activation_derivative_missing" and tanh["max_abs_error"] > 0
    assert relu["mistakes"] == ["raised"] and relu["not_implemented"] and relu["line"] == 12


def test_cli_check_passes_with_exit_0(tmp_path, capsys):
    path = tmp_path / "ok.py"
    path.write_text("def momentum_step(weight, grad, velocity, lr, momentum):\n"
                    "    v = momentum * velocity + grad\n"
                    "    return weight - lr * v, v\n", encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert "PASS  momentum_step" in capsys.readouterr().out


def test_cli_check_usage_errors_exit_2(tmp_path, capsys):
    assert main(["check", str(tmp_path / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n", encoding="utf-8")
    assert main(["check", str(empty)]) == 2
    assert "none of the practice functions" in capsys.readouterr().err


def test_cli_check_import_error_is_a_result_not_a_crash(tmp_path, capsys):
    path = tmp_path / "broken.py"
    path.write_text("import numpy as np\nraise RuntimeError('oops')\n", encoding="utf-8")
    assert main(["check", "--format", "json", str(path)]) == 1
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["function"] == "<import>" and record["mistakes"] == ["raised"]
    assert record["line"] == 2


@pytest.mark.parametrize("command", ["practice", "check"])
def test_help_has_examples(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"deltaprop {command}" in out


def test_cli_check_text_escapes_what_the_file_sends(tmp_path, capsys):
    """A learner's message cannot draw a PASS line, a summary or terminal escapes."""
    path = tmp_path / "forge.py"
    path.write_text('def relu_backward(z, grad_out):\n    raise ValueError("\\x1b[2J\\r\\n'
                    'PASS  relu_backward: correct\\n1/1 functions passed\\u202e")\n',
                    encoding="utf-8")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert not any(line.startswith("PASS") for line in out.splitlines())
    assert [line for line in out.splitlines() if "functions passed" in line[:30]] \
        == ["0/1 functions passed"]
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    assert "\\x1b[2J\\r\\nPASS" in out


def test_cli_check_reports_a_system_error_in_one_line(tmp_path, capsys, monkeypatch):
    import errno
    import tempfile

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    path = tmp_path / "ok.py"
    path.write_text("def relu_backward(z, grad_out):\n    return grad_out * (z > 0)\n",
                    encoding="utf-8")
    monkeypatch.setattr(tempfile, "mkdtemp", full)
    assert main(["check", str(path)]) == 2
    assert "cannot check" in capsys.readouterr().err
