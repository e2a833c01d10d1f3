"""Exercises in the learner's notation: written in that layout, graded in that layout."""

from __future__ import annotations

import pytest

import practice_solutions as solutions
from deltaprop.cli import main
from deltaprop.practice import check_file, render_exercise

# correct code in each notation's layout (the file's DELTAPROP_NOTATION says which)
SOLUTIONS = {
    "ng": '''
import numpy as np


def dense_backward(a_prev, weight, grad_out):
    m = a_prev.shape[1]
    return weight.T @ grad_out, grad_out @ a_prev.T / m, grad_out.sum(axis=1, keepdims=True) / m


def softmax_cross_entropy_backward(logits, labels):
    e = np.exp(logits - logits.max(axis=0, keepdims=True))
    p = e / e.sum(axis=0, keepdims=True)
    p[labels, np.arange(len(labels))] -= 1
    return p


def network_backward(weights, activations, zs, y):
    m = y.shape[0]
    dz = activations[-1].copy()
    dz[y, np.arange(m)] -= 1
    grad_weights, grad_biases = [], []
    for l in range(len(weights) - 1, -1, -1):
        grad_weights.insert(0, dz @ activations[l].T / m)
        grad_biases.insert(0, dz.sum(axis=1, keepdims=True) / m)
        if l > 0:
            dz = (weights[l].T @ dz) * (1 - activations[l] ** 2)
    return grad_weights, grad_biases


def mse_backward(output, target):
    return 2 * (output - target) / output.shape[0]


def momentum_step(weight, grad, velocity, lr, momentum):
    v = momentum * velocity + grad
    return weight - lr * v, v
''',
    "column": '''
import numpy as np


def dense_backward(a_prev, weight, grad_out):
    return weight.T @ grad_out, grad_out @ a_prev.T, grad_out


def softmax_cross_entropy_backward(logits, labels):
    e = np.exp(logits - logits.max())
    p = e / e.sum()
    p[labels[0], 0] -= 1
    return p


def mse_backward(output, target):
    return 2 * (output - target) / output.size


def dropout_backward(grad_out, mask, p):
    return grad_out * mask / (1 - p)
''',
    "haykin": '''
import numpy as np


def dense_backward(a_prev, weight, grad_out):
    return weight.T @ grad_out, grad_out @ a_prev.T, grad_out


def softmax_cross_entropy_backward(logits, labels):
    e = np.exp(logits - logits.max())
    d = np.zeros_like(e)
    d[labels[0], 0] = 1
    return d - e / e.sum()


def sigmoid_bce_backward(logits, target):
    return (target - 1 / (1 + np.exp(-logits))) / logits.size


def relu_backward(z, grad_out):
    return grad_out * (z > 0)
''',
    "rows": '''
import numpy as np


def dense_backward(a_prev, weight, grad_out):
    return grad_out @ weight.T, a_prev.T @ grad_out, grad_out.sum(axis=0)

''' + solutions.OPTIMIZER_STEPS,
}

BATCH_DENSE = '''
def dense_backward(a_prev, weight, grad_out):
    return grad_out @ weight, grad_out.T @ a_prev, grad_out.sum(axis=0)
'''


def _write(tmp_path, notation: str, code: str):
    path = tmp_path / f"{notation}.py"
    path.write_text(f'DELTAPROP_NOTATION = "{notation}"\n{code}', encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("notation", SOLUTIONS)
def test_correct_code_in_the_notations_layout_passes(tmp_path, notation):
    results = check_file(_write(tmp_path, notation, SOLUTIONS[notation]))
    assert len(results) >= 3
    for result in results:
        assert result.passed, (notation, result.function, result.message)


@pytest.mark.slow
@pytest.mark.parametrize(("notation", "old", "new", "mistake"), [
    ("ng", "grad_out @ a_prev.T / m", "grad_out @ a_prev.T", "mean_missing"),   # dW needs 1/m
    ("ng", "weight.T @ grad_out", "weight.T @ grad_out / m", "mean_doubled"),  # dA has none
    ("haykin", "return d - e / e.sum()", "return e / e.sum() - d", "sign_flipped"),
    ("rows", "a_prev.T @ grad_out", "grad_out.T @ a_prev", "transposed"),
    ("column", "grad_out @ a_prev.T", "a_prev @ grad_out.T", "transposed"),
])
def test_a_slip_in_the_notations_layout_is_named(tmp_path, notation, old, new, mistake):
    code = SOLUTIONS[notation]
    assert code.count(old) == 1
    results = {r.function: r for r in check_file(_write(tmp_path, notation,
                                                        code.replace(old, new)))}
    failed = [r for r in results.values() if not r.passed]
    assert len(failed) == 1 and failed[0].mistakes[0] == mistake, \
        [(r.function, r.mistakes, r.message) for r in failed]


@pytest.mark.parametrize("notation", ["ng", "rows", "column"])
def test_batch_code_fails_a_file_in_another_layout(tmp_path, notation):
    (result,) = check_file(_write(tmp_path, notation, BATCH_DENSE))
    assert not result.passed
    batch = tmp_path / "batch.py"
    batch.write_text(BATCH_DENSE, encoding="utf-8")
    assert check_file(batch)[0].passed                        # no marker: batch rows


@pytest.mark.parametrize("marker", ['"greek"', "3", "NOTATION"])
def test_a_bad_notation_marker_is_a_clear_error(tmp_path, marker, capsys):
    path = tmp_path / "bad.py"
    path.write_text(f"DELTAPROP_NOTATION = {marker}\n{BATCH_DENSE}", encoding="utf-8")
    with pytest.raises(ValueError, match="DELTAPROP_NOTATION must be one of batch, column"):
        check_file(path)
    assert main(["check", str(path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_the_written_exercise_records_its_notation_and_is_graded_in_it(tmp_path):
    text = render_exercise("dense", "ng")
    assert 'DELTAPROP_NOTATION = "ng"' in text and "WITHOUT the 1/m" in text
    body = SOLUTIONS["ng"].split("\n\n\ndef softmax")[0].replace("import numpy as np\n", "")
    skeleton = text.split("\n\ndef dense_backward")[0]
    path = tmp_path / "dense_practice.py"
    path.write_text(skeleton + "\n" + body, encoding="utf-8")
    (result,) = check_file(path)
    assert result.passed, result.message


def test_gradcheck_runs_in_a_file_in_another_layout(tmp_path):
    path = _write(tmp_path, "rows", "def relu_forward(z):\n    return z * (z > 0)\n\n"
                                    "def relu_backward(z, grad_out):\n"
                                    "    return grad_out * (z > 0)\n")
    (result,) = check_file(path, gradcheck=True)
    assert result.passed and result.gradcheck["passed"] is True
    assert result.gradcheck["notation"] == "rows"
