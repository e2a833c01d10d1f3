"""``deltaprop check --gradcheck``: the learner's backward against central differences of
their own forward, computed in the isolated child, judged here."""

from __future__ import annotations

import json
import textwrap

import pytest

import practice_solutions as solutions
from deltaprop.cli import main
from deltaprop.practice import check_file
from deltaprop.practice.gradcheck import GRADCHECKS, THRESHOLD, _Planned, _report

# a forward and a correct backward for every function that has a gradient check
CORRECT = solutions.ELEMENTWISE + '''

def dense_forward(a_prev, weight, bias):
    return a_prev @ weight.T + bias


def dense_backward(a_prev, weight, grad_out):
    return grad_out @ weight, grad_out.T @ a_prev, grad_out.sum(axis=0)


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
        z = a @ w.T + b
        a = np.tanh(z) if l < len(weights) - 1 else z
    return softmax_cross_entropy_forward(a, y)


def network_backward(weights, activations, zs, y):
    delta = softmax_cross_entropy_backward(zs[-1], y)
    grad_weights, grad_biases = [], []
    for l in range(len(weights) - 1, -1, -1):
        grad_weights.insert(0, delta.T @ activations[l])
        grad_biases.insert(0, delta.sum(axis=0))
        if l > 0:
            delta = (delta @ weights[l]) * (1 - activations[l] ** 2)
    return grad_weights, grad_biases


mlp_forward, mlp_backward = network_forward, network_backward     # tanh, softmax + CE
'''


def _write(tmp_path, code: str):
    path = tmp_path / "mine.py"
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return path


@pytest.mark.slow
def test_correct_forward_and_backward_pass_every_gradcheck(tmp_path):
    results = {r.function: r for r in check_file(_write(tmp_path, CORRECT), gradcheck=True)}
    assert set(GRADCHECKS) <= set(results)
    for name in GRADCHECKS:
        report = results[name].gradcheck
        assert results[name].passed and report["passed"] is True, (name, report)
        names = [p["name"] for p in report["parameters"]]
        if GRADCHECKS[name].network:                 # every W⁽ˡ⁾, then every b⁽ˡ⁾
            layers = len(names) // 2
            assert names == [f"grad_weights[{i}]" for i in range(layers)] \
                + [f"grad_biases[{i}]" for i in range(layers)] and layers >= 2
        else:
            assert names == [label for _, _, label in GRADCHECKS[name].wrt]
        for parameter in report["parameters"]:
            assert parameter["ok"] and parameter["relative_error"] < THRESHOLD
            assert parameter["entries"] > 0


@pytest.mark.slow
@pytest.mark.parametrize(("old", "new", "function", "engine_passes"), [
    ("return 2 * (output - target) / output.size", "return (output - target) / output.size",
     "mse_backward", False),                       # backward wrong: both say so
    ("return np.mean((output - target) ** 2)", "return np.mean((output - target) ** 2) / 2",
     "mse_backward", True),                        # forward wrong: only the gradcheck sees it
    ("grad_out.T @ a_prev, grad_out.sum", "grad_out.T @ a_prev, grad_out.mean",
     "dense_backward", False),
    ("return grad_out * mask / (1 - p)", "return grad_out * mask", "dropout_backward", False),
    ("delta = (delta @ weights[l]) * (1 - activations[l] ** 2)", "delta = delta @ weights[l]",
     "network_backward", False),
])
def test_a_backward_that_is_not_the_forwards_derivative_is_named(tmp_path, old, new, function,
                                                                engine_passes):
    assert CORRECT.count(old) == 1
    results = {r.function: r for r in check_file(_write(tmp_path, CORRECT.replace(old, new)),
                                                 gradcheck=True)}
    report = results[function].gradcheck
    assert report["passed"] is False and results[function].passed is engine_passes
    bad = [p for p in report["parameters"] if not p["ok"]]
    assert bad and all(p["relative_error"] > 1e-3 for p in bad)
    assert all(r.gradcheck["passed"] for name, r in results.items()
               if name not in (function, "mlp_backward") and r.gradcheck)


def test_without_a_forward_the_gradcheck_is_skipped_and_says_what_to_write(tmp_path):
    path = _write(tmp_path, "def relu_backward(z, grad_out):\n    return grad_out * (z > 0)\n")
    (result,) = check_file(path, gradcheck=True)
    assert result.passed and result.gradcheck["passed"] is None
    assert "relu_forward(z)" in result.gradcheck["message"]


def test_a_forward_that_raises_is_a_failed_gradcheck_with_its_line(tmp_path):
    path = _write(tmp_path, "def relu_forward(z):\n    raise ValueError('boom')\n\n"
                            "def relu_backward(z, grad_out):\n    return grad_out * (z > 0)\n")
    (result,) = check_file(path, gradcheck=True)
    assert result.gradcheck["passed"] is False
    assert "boom" in result.gradcheck["message"] and "line 2" in result.gradcheck["message"]


@pytest.mark.slow
def test_the_gradcheck_runs_in_the_child_without_deltaprop(tmp_path):
    code = CORRECT.replace("def relu_forward(z):\n",
                           "def relu_forward(z):\n    import sys\n"
                           "    if any(m.startswith('deltaprop') for m in sys.modules):\n"
                           "        raise RuntimeError('deltaprop imported')\n")
    results = {r.function: r for r in check_file(_write(tmp_path, code), gradcheck=True)}
    assert results["relu_backward"].gradcheck["passed"] is True


@pytest.mark.parametrize("record", [
    {"outputs": "nope"}, {"outputs": [{"name": 3}]},
    {"outputs": [{"name": "grad_z", "entries": [0], "numeric": ["x"], "analytic": [1.0],
                  "shape": [1]}]},
    {"outputs": [{"name": "grad_z", "entries": [99], "numeric": [1.0], "analytic": [1.0],
                  "shape": [1]}]},
    {"outputs": [{"name": "grad_z", "entries": [0], "numeric": [1.0], "analytic": [1.0],
                  "shape": [1]}, {"name": "extra"}]},
    {"outputs": [{"name": "grad_z", "entries": [-1], "numeric": [1.0], "analytic": [1.0],
                  "shape": [1]}]},
    {"outputs": [{"name": "grad_weight", "entries": [0], "numeric": [1.0], "analytic": [1.0],
                  "shape": [1]}]},
    {"raised": "not an error record"}])
def test_what_comes_back_from_the_child_is_read_strictly(record):
    planned = _Planned("relu_backward", ["grad_z"], [[1]], [1.0], [""])
    report = _report(planned, {"event": "gradcheck", "id": 0, **record})
    assert report["passed"] is False and report["message"]


@pytest.mark.slow
def test_cli_gradcheck_text_json_and_exit_code(tmp_path, capsys):
    forward_wrong = CORRECT.replace("return np.mean((output - target) ** 2)",
                                    "return np.mean(np.abs(output - target))")
    path = _write(tmp_path, forward_wrong)
    assert main(["check", str(path), "--gradcheck"]) == 1          # the engine passes all
    out = capsys.readouterr().out
    assert "BAD   gradcheck mse_backward against mse_forward" in out and "MISMATCH" in out
    assert "OK    gradcheck dense_backward" in out and "relative error" in out
    assert main(["check", str(path), "--gradcheck", "--format", "json"]) == 1
    records = {r["function"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert records["mse_backward"]["passed"] is True
    assert records["mse_backward"]["gradcheck"]["passed"] is False
    assert records["dense_backward"]["gradcheck"]["parameters"][1]["name"] == "grad_weight"
    assert main(["check", str(path)]) == 0                          # without it: engine only


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_gradcheck_must_be_a_bool(tmp_path, bad):
    from deltaprop import InvalidParameterError

    path = _write(tmp_path, "def relu_backward(z, grad_out):\n    return grad_out * (z > 0)\n")
    with pytest.raises(InvalidParameterError, match="gradcheck must be True or False"):
        check_file(path, gradcheck=bad)


RELU_MSE = '''
import numpy as np

DELTAPROP_NETWORK = {"activation": "relu", "loss": "mse"}


def mlp_forward(weights, biases, x, y):
    a = x
    for l, (w, b) in enumerate(zip(weights, biases)):
        z = a @ w.T + b
        a = np.maximum(z, 0) if l < len(weights) - 1 else z
    return np.mean((a - y) ** 2)


def mlp_backward(weights, activations, zs, y):
    delta = 2 * (activations[-1] - y) / y.size
    grad_weights, grad_biases = [], []
    for l in range(len(weights) - 1, -1, -1):
        grad_weights.insert(0, delta.T @ activations[l])
        grad_biases.insert(0, delta.sum(axis=0))
        if l > 0:
            delta = (delta @ weights[l]) * (zs[l - 1] > 0)
    return grad_weights, grad_biases
'''


@pytest.mark.slow
def test_the_mlp_gradcheck_uses_the_files_network(tmp_path):
    (result,) = check_file(_write(tmp_path, RELU_MSE), gradcheck=True)
    assert result.passed and result.gradcheck["passed"] is True, result.gradcheck
    wrong = RELU_MSE.replace("np.maximum(z, 0)", "np.tanh(z)")      # the forward disagrees
    (result,) = check_file(_write(tmp_path, wrong), gradcheck=True)
    assert result.passed and result.gradcheck["passed"] is False
