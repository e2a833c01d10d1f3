"""``check --gradcheck`` in every notation: the learner's backward against central differences
of their own forward, both in the notation's layout (Ng's dZ without the 1/m compared as
dZ/m, Haykin's local gradients compared as minus themselves, rows' W stored (in, out))."""

from __future__ import annotations

import json

import pytest

import practice_solutions as solutions
from deltaprop.cli import main
from deltaprop.practice import SPECS, check_file, render_exercise
from deltaprop.practice.gradcheck import GRADCHECKS, THRESHOLD

# element-wise steps read the same in every layout (a column or a row, ×m or −1 both sides)
ELEMENTWISE = solutions.ELEMENTWISE + solutions.OPTIMIZER_STEPS

# samples as columns: Ng's (n, m) with dZ free of the 1/m; Nielsen's column is the same code
# with m = 1; Haykin's local gradients are minus the gradients
COLUMNS = '''

def dense_forward(a_prev, weight, bias):
    return weight @ a_prev + bias                                  # (out, in) @ (in, m)


def dense_backward(a_prev, weight, grad_out):
    m = a_prev.shape[1]
    return weight.T @ grad_out, grad_out @ a_prev.T / m, grad_out.sum(axis=1, keepdims=True) / m


def softmax_cross_entropy_forward(logits, labels):
    shifted = logits - logits.max(axis=0, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    return -log_p[labels, np.arange(len(labels))].mean()


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def softmax_cross_entropy_backward(logits, labels):
    dz = _softmax(logits)
    dz[labels, np.arange(len(labels))] -= 1
    return SIGN * dz                                               # dZ = A − Y, no 1/m


def mse_backward(output, target):
    return SIGN * 2 * (output - target) / output.shape[0]


def bce_backward(probs, target):
    return SIGN * (probs - target) / (probs * (1 - probs)) / probs.shape[0]


def sigmoid_bce_backward(logits, target):
    return SIGN * (_sigmoid(logits) - target) / logits.shape[0]


def network_forward(weights, biases, x, y):
    a = x
    for l, (w, b) in enumerate(zip(weights, biases)):
        z = w @ a + b
        a = np.tanh(z) if l < len(weights) - 1 else z
    return softmax_cross_entropy_forward(a, y)


def network_backward(weights, activations, zs, y):
    m = y.shape[0]
    dz = activations[-1].copy()
    dz[y, np.arange(m)] -= 1
    grad_weights, grad_biases = [], []
    for l in range(len(weights) - 1, -1, -1):
        grad_weights.insert(0, SIGN * dz @ activations[l].T / m)
        grad_biases.insert(0, SIGN * dz.sum(axis=1, keepdims=True) / m)
        if l > 0:
            dz = (weights[l].T @ dz) * (1 - activations[l] ** 2)
    return grad_weights, grad_biases


mlp_forward, mlp_backward = network_forward, network_backward      # tanh, softmax + CE
'''

# one sample per row, W stored (in, out): Z = H W + b
ROWS = '''

def dense_forward(a_prev, weight, bias):
    return a_prev @ weight + bias                                  # (N, in) @ (in, out)


def dense_backward(a_prev, weight, grad_out):
    return grad_out @ weight.T, a_prev.T @ grad_out, grad_out.sum(axis=0)


def softmax_cross_entropy_forward(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels].mean()


def softmax_cross_entropy_backward(logits, labels):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1
    return p / len(labels)


def mse_backward(output, target):
    return 2 * (output - target) / output.size


def bce_backward(probs, target):
    return (probs - target) / (probs * (1 - probs)) / probs.size


def sigmoid_bce_backward(logits, target):
    return (_sigmoid(logits) - target) / logits.size


def network_forward(weights, biases, x, y):
    a = x
    for l, (w, b) in enumerate(zip(weights, biases)):
        z = a @ w + b
        a = np.tanh(z) if l < len(weights) - 1 else z
    return softmax_cross_entropy_forward(a, y)


def network_backward(weights, activations, zs, y):
    delta = softmax_cross_entropy_backward(zs[-1], y)
    grad_weights, grad_biases = [], []
    for l in range(len(weights) - 1, -1, -1):
        grad_weights.insert(0, activations[l].T @ delta)
        grad_biases.insert(0, delta.sum(axis=0))
        if l > 0:
            delta = (delta @ weights[l].T) * (1 - activations[l] ** 2)
    return grad_weights, grad_biases


mlp_forward, mlp_backward = network_forward, network_backward
'''

NOTATIONS = ("ng", "column", "haykin", "rows")


def _solution(notation: str) -> str:
    body = ROWS if notation == "rows" else COLUMNS
    sign = "SIGN = -1  # Haykin: e = d − y and δ are MINUS the gradient\n" \
        if notation == "haykin" else "SIGN = 1\n"
    return f'DELTAPROP_NOTATION = "{notation}"\n{ELEMENTWISE}\n{sign}{body}'


def _write(tmp_path, code: str):
    path = tmp_path / "mine.py"
    path.write_text(code, encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("notation", NOTATIONS)
def test_correct_code_in_every_notation_passes_every_gradcheck(tmp_path, notation):
    results = {r.function: r for r in check_file(_write(tmp_path, _solution(notation)),
                                                 gradcheck=True)}
    assert set(results) == set(SPECS)                      # every topic, in this notation
    assert all(r.passed for r in results.values()), \
        [(r.function, r.message) for r in results.values() if not r.passed]   # the engine
    assert results["adam_step"].gradcheck is None           # an optimiser has no forward
    for name in GRADCHECKS:
        report = results[name].gradcheck
        assert report["passed"] is True and report["notation"] == notation, (name, report)
        assert report["parameters"] and all(
            p["ok"] and p["relative_error"] < THRESHOLD and p["entries"] > 0
            for p in report["parameters"])
    conventions = {p["name"]: p.get("convention", "") for name in GRADCHECKS
                   for p in results[name].gradcheck["parameters"]}
    if notation == "ng":          # dZ, dA rescaled; dW, db are gradients as they are
        assert "compared as grad_z/m" in conventions["grad_z"]
        assert "compared as grad_a_prev/m" in conventions["grad_a_prev"]
        assert not conventions["grad_weight"] and not conventions["grad_weights[0]"]
    elif notation == "haykin":    # every gradient is minus itself
        assert "MINUS" in conventions["grad_weight"] and "MINUS" in conventions["grad_z"]
    else:
        assert not any(conventions.values())


@pytest.mark.slow
@pytest.mark.parametrize(("notation", "old", "new", "function", "parameter"), [
    # Ng's dW without its 1/m: m times the gradient
    ("ng", "grad_out @ a_prev.T / m", "grad_out @ a_prev.T", "dense_backward", "grad_weight"),
    # Ng's dZ WITH a 1/m: compared as dZ/m, it is 1/m of the gradient
    ("ng", "return SIGN * dz  ", "return SIGN * dz / len(labels)  ",
     "softmax_cross_entropy_backward", "grad_logits"),
    # rows: the weight gradient not transposed into W's stored (in, out)
    ("rows", "a_prev.T @ grad_out, grad_out.sum", "grad_out.T @ a_prev, grad_out.sum",
     "dense_backward", "grad_weight"),
    # Haykin: the sign of a local gradient flipped (the gradient itself returned)
    ("haykin", "return SIGN * 2 * (output - target)", "return 2 * (output - target)",
     "mse_backward", "grad_output"),
    ("haykin", "grad_weights.insert(0, SIGN * dz", "grad_weights.insert(0, dz",
     "network_backward", "grad_weights[0]"),
    # column: the activation derivative missing in BP2
    ("column", "dz = (weights[l].T @ dz) * (1 - activations[l] ** 2)",
     "dz = weights[l].T @ dz", "network_backward", "grad_weights[0]"),
])
def test_a_slip_in_each_notation_is_a_bad_gradcheck(tmp_path, capsys, notation, old, new,
                                                    function, parameter):
    code = _solution(notation)
    assert code.count(old) == 1, old
    path = _write(tmp_path, code.replace(old, new))
    assert main(["check", str(path), "--gradcheck", "--format", "json"]) == 1
    records = {r["function"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    report = records[function]["gradcheck"]
    assert report["passed"] is False, report
    assert next(p["name"] for p in report["parameters"] if not p["ok"]) == parameter
    assert all(r["gradcheck"]["passed"] for name, r in records.items()
               if name not in (function, "mlp_backward") and r["gradcheck"])
    main(["check", str(path), "--gradcheck"])
    out = capsys.readouterr().out
    assert f"BAD   gradcheck {function} against " in out and "MISMATCH" in out


@pytest.mark.slow
def test_a_forward_in_the_wrong_layout_is_caught(tmp_path):
    """The forward is differentiated as the notation lays out its arguments: a batch-rows
    forward in an Ng file fails the gradcheck, and the text names the layout to use."""
    code = ('DELTAPROP_NOTATION = "ng"\nimport numpy as np\n\n'
            "def dense_forward(a_prev, weight, bias):\n    return a_prev.T @ weight.T + bias.T\n\n"
            "def dense_backward(a_prev, weight, grad_out):\n    m = a_prev.shape[1]\n"
            "    return weight.T @ grad_out, grad_out @ a_prev.T / m, "
            "grad_out.sum(axis=1, keepdims=True) / m\n")
    (result,) = check_file(_write(tmp_path, code), gradcheck=True)
    assert result.passed and result.gradcheck["passed"] is False
    missing = check_file(_write(tmp_path, code.split("def dense_forward")[0]
                                + "def dense_backward" + code.split("def dense_backward")[1]),
                         gradcheck=True)[0].gradcheck
    assert missing["passed"] is None and "Z = W A_prev + b, b (out, 1)" in missing["message"]


@pytest.mark.parametrize(("notation", "equation", "note"), [
    ("ng", "Z = W A_prev + b, b (out, 1)", "as dZ/m"),
    ("rows", "Z = H W + b, W stored (in, out)", "W stays stored (in, out)"),
    ("column", "z = W a + b, b (out, 1)", "every array is a column"),
    ("haykin", "v = W y + b, b (out, 1)", "MINUS the gradient"),
])
def test_the_exercise_says_how_to_write_the_forward_in_its_layout(notation, equation, note):
    for recall in (False, True):
        text = render_exercise("dense", notation, recall=recall)
        assert f"dense_forward(a_prev, weight, bias): {equation}" in text
        assert note in text and "--gradcheck" in text
    assert "δ yᵀ" not in render_exercise("dense", "haykin", recall=True)   # no equation given


MLP_RELU_MSE = '''
import numpy as np

DELTAPROP_NETWORK = {"activation": "relu", "loss": "mse"}


def mlp_forward(weights, biases, x, y):
    a = x
    for l, (w, b) in enumerate(zip(weights, biases)):
        z = w @ a + b                                              # (n_l, n_{l-1}) @ (n_{l-1}, m)
        a = np.maximum(z, 0) if l < len(weights) - 1 else z
    return np.mean((a - y) ** 2)


def mlp_backward(weights, activations, zs, y):
    m = y.shape[1]
    dz = 2 * (activations[-1] - y) / y.shape[0]                    # no 1/m
    grad_weights, grad_biases = [], []
    for l in range(len(weights) - 1, -1, -1):
        grad_weights.insert(0, SIGN * dz @ activations[l].T / m)
        grad_biases.insert(0, SIGN * dz.sum(axis=1, keepdims=True) / m)
        if l > 0:
            dz = (weights[l].T @ dz) * (zs[l - 1] > 0)
    return grad_weights, grad_biases
'''


@pytest.mark.slow
@pytest.mark.parametrize("notation", ["ng", "column", "haykin"])
def test_the_mlp_gradcheck_uses_the_files_network_in_its_layout(tmp_path, notation):
    sign = -1 if notation == "haykin" else 1
    code = f'DELTAPROP_NOTATION = "{notation}"\nSIGN = {sign}\n{MLP_RELU_MSE}'
    (result,) = check_file(_write(tmp_path, code), gradcheck=True)
    assert result.passed and result.gradcheck["passed"] is True, result.gradcheck
    slip = code.replace("dz = (weights[l].T @ dz) * (zs[l - 1] > 0)", "dz = weights[l].T @ dz")
    (result,) = check_file(_write(tmp_path, slip), gradcheck=True)         # relu′ forgotten
    assert not result.passed and result.gradcheck["passed"] is False
    assert not result.gradcheck["parameters"][0]["ok"]                     # grad_weights[0]
