"""Practice mode's checker: correct code passes, every planted mistake is named first.

Each planted implementation is the correct one with ONE line changed, written to a file in
``tmp_path`` and graded by ``check_file`` exactly as ``deltaprop check`` does.
"""

from __future__ import annotations

import textwrap

import pytest

from deltaprop.practice import MISTAKES, TOPIC_FUNCTIONS, TOPICS, check_file, write_exercise

CORRECT = {
    "activation": '''
        import numpy as np

        def sigmoid_backward(z, grad_out):
            a = 1 / (1 + np.exp(-z))
            return grad_out * a * (1 - a)

        def tanh_backward(z, grad_out):
            return grad_out * (1 - np.tanh(z) ** 2)

        def relu_backward(z, grad_out):
            return grad_out * (z > 0)
        ''',
    "dense": '''
        import numpy as np

        def dense_backward(a_prev, weight, grad_out):
            grad_a_prev = grad_out @ weight
            grad_weight = grad_out.T @ a_prev
            grad_bias = grad_out.sum(axis=0)
            return grad_a_prev, grad_weight, grad_bias
        ''',
    "softmax_cross_entropy": '''
        import numpy as np

        def softmax_cross_entropy_backward(logits, labels):
            n = logits.shape[0]
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            Y = np.zeros_like(p)
            Y[np.arange(n), labels] = 1
            return (p - Y) / n
        ''',
    "network": '''
        import numpy as np

        def network_backward(weights, activations, zs, y):
            n = y.shape[0]
            Y = np.zeros_like(activations[-1])
            Y[np.arange(n), y] = 1
            delta = (activations[-1] - Y) / n
            grad_weights, grad_biases = [], []
            for l in range(len(weights) - 1, -1, -1):
                grad_weights.insert(0, delta.T @ activations[l])
                grad_biases.insert(0, delta.sum(axis=0))
                if l > 0:
                    delta = (delta @ weights[l]) * (1 - activations[l] ** 2)
            return grad_weights, grad_biases
        ''',
    "momentum": '''
        import numpy as np

        def momentum_step(weight, grad, velocity, lr, momentum):
            v = momentum * velocity + grad
            return weight - lr * v, v
        ''',
    "mse": '''
        def mse_backward(output, target):
            return 2 * (output - target) / output.size
        ''',
    "bce": '''
        def bce_backward(probs, target):
            return (probs - target) / (probs * (1 - probs)) / probs.size
        ''',
    "sigmoid_bce": '''
        import numpy as np

        def sigmoid_bce_backward(logits, target):
            a = 1 / (1 + np.exp(-logits))
            return (a - target) / logits.size
        ''',
    "dropout": '''
        def dropout_backward(grad_out, mask, p):
            return grad_out * mask / (1 - p)
        ''',
    "adam": '''
        import numpy as np

        def adam_step(weight, grad, m, v, t, lr, beta1, beta2, eps):
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return weight - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
        ''',
    "mlp": '''
        import numpy as np

        def mlp_backward(weights, activations, zs, y):
            n = y.shape[0]
            delta = activations[-1].copy()
            delta[np.arange(n), y] -= 1
            delta = delta / n
            grad_weights, grad_biases = [], []
            for l in range(len(weights) - 1, -1, -1):
                grad_weights.insert(0, delta.T @ activations[l])
                grad_biases.insert(0, delta.sum(axis=0))
                if l > 0:
                    delta = (delta @ weights[l]) * (1 - np.tanh(zs[l - 1]) ** 2)
            return grad_weights, grad_biases
        ''',
}

# (topic, function, expected first mistake, line of CORRECT[topic] to replace, replacement)
PLANTED = [
    ("activation", "sigmoid_backward", "activation_derivative_missing",
     "return grad_out * a * (1 - a)", "return grad_out"),
    ("activation", "sigmoid_backward", "derivative_at_wrong_point",
     "return grad_out * a * (1 - a)", "return grad_out * z * (1 - z)"),
    ("activation", "sigmoid_backward", "derivative_at_wrong_point",
     "return grad_out * a * (1 - a)",
     "s = 1 / (1 + np.exp(-a)); return grad_out * s * (1 - s)"),
    ("activation", "sigmoid_backward", "sign_flipped",
     "return grad_out * a * (1 - a)", "return -grad_out * a * (1 - a)"),
    ("activation", "tanh_backward", "activation_derivative_missing",
     "return grad_out * (1 - np.tanh(z) ** 2)", "return grad_out"),
    ("activation", "tanh_backward", "derivative_at_wrong_point",
     "return grad_out * (1 - np.tanh(z) ** 2)", "return grad_out * (1 - z ** 2)"),
    ("activation", "tanh_backward", "derivative_at_wrong_point",
     "return grad_out * (1 - np.tanh(z) ** 2)",
     "return grad_out * (1 - np.tanh(np.tanh(z)) ** 2)"),
    ("activation", "tanh_backward", "sign_flipped",
     "return grad_out * (1 - np.tanh(z) ** 2)", "return grad_out * (np.tanh(z) ** 2 - 1)"),
    ("activation", "relu_backward", "activation_derivative_missing",
     "return grad_out * (z > 0)", "return grad_out"),
    ("activation", "relu_backward", "sign_flipped",
     "return grad_out * (z > 0)", "return -grad_out * (z > 0)"),
    ("activation", "relu_backward", "transposed",
     "return grad_out * (z > 0)", "return (grad_out * (z > 0)).T"),
    ("activation", "relu_backward", "wrong_shape",
     "return grad_out * (z > 0)", "return (grad_out * (z > 0)).sum(axis=0)"),
    ("dense", "dense_backward", "transposed",
     "grad_weight = grad_out.T @ a_prev", "grad_weight = a_prev.T @ grad_out"),
    ("dense", "dense_backward", "mean_doubled",
     "grad_weight = grad_out.T @ a_prev", "grad_weight = grad_out.T @ a_prev / len(a_prev)"),
    ("dense", "dense_backward", "mean_doubled",
     "grad_bias = grad_out.sum(axis=0)", "grad_bias = grad_out.mean(axis=0)"),
    ("dense", "dense_backward", "sign_flipped",
     "grad_weight = grad_out.T @ a_prev", "grad_weight = -(grad_out.T @ a_prev)"),
    ("dense", "dense_backward", "bias_wrong_axis",
     "grad_bias = grad_out.sum(axis=0)", "grad_bias = grad_out.sum(axis=1)"),
    ("dense", "dense_backward", "wrong_shape",
     "grad_bias = grad_out.sum(axis=0)", "grad_bias = grad_out.sum(axis=0, keepdims=True)"),
    ("softmax_cross_entropy", "softmax_cross_entropy_backward", "mean_missing",
     "return (p - Y) / n", "return p - Y"),
    ("softmax_cross_entropy", "softmax_cross_entropy_backward", "mean_doubled",
     "return (p - Y) / n", "return (p - Y) / n / n"),
    ("softmax_cross_entropy", "softmax_cross_entropy_backward", "sign_flipped",
     "return (p - Y) / n", "return (Y - p) / n"),
    ("softmax_cross_entropy", "softmax_cross_entropy_backward", "transposed",
     "return (p - Y) / n", "return (p - Y).T / n"),
    ("softmax_cross_entropy", "softmax_cross_entropy_backward", "wrong_shape",
     "return (p - Y) / n", "return ((p - Y) / n).reshape(-1)"),
    ("softmax_cross_entropy", "softmax_cross_entropy_backward", "other",
     "return (p - Y) / n", "return p / n"),
    ("network", "network_backward", "mean_missing",
     "delta = (activations[-1] - Y) / n", "delta = activations[-1] - Y"),
    ("network", "network_backward", "mean_doubled",
     "delta = (activations[-1] - Y) / n", "delta = (activations[-1] - Y) / n / n"),
    ("network", "network_backward", "sign_flipped",
     "delta = (activations[-1] - Y) / n", "delta = (Y - activations[-1]) / n"),
    ("network", "network_backward", "transposed",
     "grad_weights.insert(0, delta.T @ activations[l])",
     "grad_weights.insert(0, activations[l].T @ delta)"),
    ("network", "network_backward", "activation_derivative_missing",
     "delta = (delta @ weights[l]) * (1 - activations[l] ** 2)", "delta = delta @ weights[l]"),
    ("network", "network_backward", "derivative_at_wrong_point",
     "delta = (delta @ weights[l]) * (1 - activations[l] ** 2)",
     "delta = (delta @ weights[l]) * (1 - zs[l - 1] ** 2)"),
    ("network", "network_backward", "bias_wrong_axis",
     "grad_biases.insert(0, delta.sum(axis=0))", "grad_biases.insert(0, delta.sum(axis=1))"),
    ("network", "network_backward", "wrong_shape",
     "grad_biases.insert(0, delta.sum(axis=0))",
     "grad_biases.insert(0, delta.sum(axis=0, keepdims=True))"),
    ("momentum", "momentum_step", "sign_flipped",
     "return weight - lr * v, v", "return weight + lr * v, v"),
    ("momentum", "momentum_step", "sign_flipped",
     "v = momentum * velocity + grad", "v = momentum * velocity - grad"),
    ("momentum", "momentum_step", "transposed",
     "return weight - lr * v, v", "return (weight - lr * v).T, v"),
    ("momentum", "momentum_step", "wrong_shape",
     "return weight - lr * v, v", "return weight - lr * v, v.ravel()"),
    ("momentum", "momentum_step", "other",
     "return weight - lr * v, v", "return weight - lr * velocity, v"),
    ("mse", "mse_backward", "mean_missing",
     "return 2 * (output - target) / output.size", "return 2 * (output - target)"),
    ("mse", "mse_backward", "mean_missing",
     "return 2 * (output - target) / output.size", "return 2 * (output - target) / len(output)"),
    ("mse", "mse_backward", "sign_flipped",
     "return 2 * (output - target) / output.size", "return 2 * (target - output) / output.size"),
    ("mse", "mse_backward", "wrong_shape",
     "return 2 * (output - target) / output.size",
     "return (2 * (output - target) / output.size).sum(axis=1)"),
    ("mse", "mse_backward", "other",
     "return 2 * (output - target) / output.size", "return (output - target) / output.size"),
    ("bce", "bce_backward", "mean_missing",
     "/ probs.size", ""),
    ("bce", "bce_backward", "sign_flipped",
     "return (probs - target)", "return (target - probs)"),
    ("bce", "bce_backward", "wrong_shape",
     "return (probs - target) / (probs * (1 - probs)) / probs.size",
     "return ((probs - target) / (probs * (1 - probs)) / probs.size).ravel()"),
    ("bce", "bce_backward", "other",
     "/ (probs * (1 - probs))", ""),
    ("sigmoid_bce", "sigmoid_bce_backward", "mean_missing",
     "return (a - target) / logits.size", "return a - target"),
    ("sigmoid_bce", "sigmoid_bce_backward", "sign_flipped",
     "return (a - target) / logits.size", "return (target - a) / logits.size"),
    ("sigmoid_bce", "sigmoid_bce_backward", "activation_derivative_missing",
     "return (a - target) / logits.size", "return (logits - target) / logits.size"),
    ("sigmoid_bce", "sigmoid_bce_backward", "wrong_shape",
     "return (a - target) / logits.size", "return ((a - target) / logits.size)[:, :1]"),
    ("sigmoid_bce", "sigmoid_bce_backward", "other",
     "return (a - target) / logits.size", "return (a - target) / logits.size * a * (1 - a)"),
    ("dropout", "dropout_backward", "other",
     "return grad_out * mask / (1 - p)", "return grad_out * mask"),
    ("dropout", "dropout_backward", "other",
     "return grad_out * mask / (1 - p)", "return grad_out * mask / p"),
    ("dropout", "dropout_backward", "sign_flipped",
     "return grad_out * mask / (1 - p)", "return -grad_out * mask / (1 - p)"),
    ("dropout", "dropout_backward", "wrong_shape",
     "return grad_out * mask / (1 - p)", "return (grad_out * mask / (1 - p)).T.ravel()"),
    ("adam", "adam_step", "sign_flipped",
     "return weight - lr * m_hat", "return weight + lr * m_hat"),
    ("adam", "adam_step", "other",
     "v_hat = v / (1 - beta2 ** t)", "v_hat = v / (1 - beta2 ** (t + 1))"),
    ("adam", "adam_step", "other",
     "grad ** 2", "abs(grad)"),
    ("adam", "adam_step", "wrong_shape",
     "np.sqrt(v_hat) + eps), m, v", "np.sqrt(v_hat) + eps), m, v.ravel()"),
    ("adam", "adam_step", "transposed",
     "np.sqrt(v_hat) + eps), m, v", "np.sqrt(v_hat) + eps), m.T, v"),
    ("mlp", "mlp_backward", "sign_flipped", "delta = delta / n", "delta = -delta / n"),
    ("mlp", "mlp_backward", "mean_missing", "delta = delta / n", "delta = delta"),
    ("mlp", "mlp_backward", "activation_derivative_missing",
     "delta = (delta @ weights[l]) * (1 - np.tanh(zs[l - 1]) ** 2)", "delta = delta @ weights[l]"),
    ("mlp", "mlp_backward", "derivative_at_wrong_point",
     "(1 - np.tanh(zs[l - 1]) ** 2)", "(1 - np.tanh(activations[l]) ** 2)"),
    ("mlp", "mlp_backward", "bias_wrong_axis", "delta.sum(axis=0)", "delta.sum(axis=1)"),
    ("mlp", "mlp_backward", "wrong_shape", "delta.sum(axis=0)", "delta.sum(axis=0)[None]"),
]


def _write(tmp_path, code: str, name: str = "solution.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return path


def _plant(topic: str, old: str, new: str) -> str:
    code = textwrap.dedent(CORRECT[topic])
    assert code.count(old) == 1, old          # the test table itself must be right
    return code.replace(old, new)


@pytest.mark.parametrize("topic", TOPICS)
def test_correct_implementation_passes(tmp_path, topic):
    results = check_file(_write(tmp_path, CORRECT[topic]))
    assert [r.function for r in results] == list(TOPIC_FUNCTIONS[topic])
    for result in results:
        assert result.passed, (result.function, result.message)
        assert result.mistakes == [] and result.max_abs_error < 1e-9 and result.cases >= 2


@pytest.mark.parametrize(("topic", "function", "mistake", "old", "new"), PLANTED,
                         ids=[f"{p[1]}-{p[2]}-{i}" for i, p in enumerate(PLANTED)])
def test_planted_mistake_is_named_first(tmp_path, topic, function, mistake, old, new):
    results = {r.function: r for r in check_file(_write(tmp_path, _plant(topic, old, new)))}
    result = results[function]
    assert not result.passed
    assert result.mistakes[0] == mistake, (result.mistakes, result.message)
    assert set(result.mistakes) <= set(MISTAKES)
    assert result.hint and result.message
    others = [r for name, r in results.items() if name != function]
    assert all(r.passed for r in others)


def test_planted_mistakes_cover_every_topic_and_applicable_mistake():
    covered = {(topic, mistake) for topic, _, mistake, _, _ in PLANTED}
    for topic in TOPICS:
        assert {"sign_flipped", "wrong_shape"} <= {m for t, m in covered if t == topic}


def test_dense_reports_which_output_is_wrong_and_by_how_much(tmp_path):
    code = _plant("dense", "grad_weight = grad_out.T @ a_prev",
                  "grad_weight = -(grad_out.T @ a_prev)")
    (result,) = check_file(_write(tmp_path, code))
    reports = {r.name: r for r in result.outputs}
    assert reports["grad_a_prev"].passed and reports["grad_bias"].passed
    assert not reports["grad_weight"].passed
    assert reports["grad_weight"].max_abs_error > 0 and "grad_weight" in result.message
    assert result.max_abs_error == reports["grad_weight"].max_abs_error


def test_transposed_grad_weight_also_notes_the_wrong_shape(tmp_path):
    code = _plant("dense", "grad_weight = grad_out.T @ a_prev",
                  "grad_weight = a_prev.T @ grad_out")
    (result,) = check_file(_write(tmp_path, code))
    assert result.mistakes == ["transposed", "wrong_shape"]
    assert "Δᵀ A_prev" in result.hint


def test_exception_is_reported_with_its_line(tmp_path):
    code = _plant("dense", "grad_a_prev = grad_out @ weight", "grad_a_prev = grad_out @ weight.T")
    path = _write(tmp_path, code)
    (result,) = check_file(path)
    line = path.read_text(encoding="utf-8").splitlines().index(
        "    grad_a_prev = grad_out @ weight.T") + 1
    assert result.mistakes[:2] == ["raised", "transposed"]
    assert result.line == line and "weight.T" in result.source
    assert result.error.startswith("ValueError")


def test_any_exception_is_raised_not_a_crash(tmp_path):
    path = _write(tmp_path, '''
        def momentum_step(weight, grad, velocity, lr, momentum):
            helper = {}
            return helper["velocity"]
        ''')
    (result,) = check_file(path)
    assert result.mistakes == ["raised"] and result.line == 4
    assert result.error.startswith("KeyError") and not result.not_implemented


def test_import_error_is_reported_with_its_line(tmp_path):
    path = _write(tmp_path, "import numpy as np\n\nx = 1 / 0\n")
    (result,) = check_file(path)
    assert result.function == "<import>" and result.mistakes == ["raised"]
    assert result.line == 3 and "ZeroDivisionError" in result.error


def test_syntax_error_is_reported_with_its_line(tmp_path):
    path = _write(tmp_path, "def dense_backward(a_prev, weight, grad_out):\n    return (\n")
    (result,) = check_file(path)
    assert result.mistakes == ["raised"] and result.error.startswith("SyntaxError")
    assert result.line in (2, 3)


def test_wrong_return_structure_is_wrong_shape(tmp_path):
    path = _write(tmp_path, '''
        def dense_backward(a_prev, weight, grad_out):
            grad_out.T @ a_prev
        ''')
    (result,) = check_file(path)
    assert result.mistakes == ["wrong_shape"] and "None" in result.message


@pytest.mark.parametrize("topic", TOPICS)
def test_untouched_skeleton_is_not_implemented(tmp_path, topic):
    path = write_exercise(topic, tmp_path / f"{topic}.py")
    results = check_file(path)
    assert [r.function for r in results] == list(TOPIC_FUNCTIONS[topic])
    for result in results:
        assert not result.passed and result.not_implemented and result.mistakes == ["raised"]
        assert "NotImplementedError" in result.source


def test_marked_file_reports_missing_functions(tmp_path):
    code = textwrap.dedent(CORRECT["activation"]).replace(
        "def relu_backward", "def relu_backward_draft") + '\nDELTAPROP_TOPIC = "activation"\n'
    results = {r.function: r for r in check_file(_write(tmp_path, code))}
    assert results["sigmoid_backward"].passed and results["tanh_backward"].passed
    assert not results["relu_backward"].passed and "not defined" in results["relu_backward"].message


def test_file_without_practice_functions_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="none of the practice functions"):
        check_file(_write(tmp_path, "x = 1\n"))
    with pytest.raises(FileNotFoundError):
        check_file(tmp_path / "missing.py")


def test_learner_prints_do_not_reach_stdout(tmp_path, capsys):
    code = textwrap.dedent(CORRECT["momentum"]).replace("    v = ", "    print('hi')\n    v = ")
    (result,) = check_file(_write(tmp_path, code))
    assert result.passed
    assert capsys.readouterr().out == ""


def test_learner_who_modifies_inputs_in_place_fails(tmp_path):
    path = _write(tmp_path, '''
        def momentum_step(weight, grad, velocity, lr, momentum):
            velocity *= momentum
            velocity += grad
            weight -= lr * velocity
            return weight, velocity
        ''')
    (result,) = check_file(path)
    assert not result.passed and result.mistakes == ["other"]
    assert "changed its inputs weight, velocity in place" in result.message
    assert "values were right" in result.message and "do not modify" in result.hint


def test_unexplained_numbers_are_other_then_the_closest_slips(tmp_path):
    # a sign flip AND a 0.1% scale error: no slip matches exactly, the sign flip comes closest
    code = _plant("activation", "return grad_out * (1 - np.tanh(z) ** 2)",
                  "return -grad_out * (1 - np.tanh(z) ** 2) * 1.001")
    results = {r.function: r for r in check_file(_write(tmp_path, code))}
    result = results["tanh_backward"]
    assert result.mistakes == ["other", "sign_flipped"]
    assert "closest slip (sign_flipped)" in result.hint


def test_nan_output_is_named(tmp_path):
    code = _plant("activation", "return grad_out * (z > 0)", "return grad_out * np.nan")
    result = {r.function: r for r in check_file(_write(tmp_path, code))}["relu_backward"]
    assert result.mistakes == ["other"] and "NaN" in result.message and "NaN" in result.hint
    assert result.to_dict()["max_abs_error"] is None              # JSON has no inf


@pytest.mark.slow
def test_endless_loop_is_interrupted_with_its_line(tmp_path):
    path = _write(tmp_path, '''
        def momentum_step(weight, grad, velocity, lr, momentum):
            while True:
                velocity = velocity + 0
        ''' + CORRECT["dense"])
    results = {r.function: r for r in check_file(path, timeout=1)}
    result = results["momentum_step"]
    assert result.mistakes == ["raised"] and result.error.startswith("LearnerTimeoutError")
    assert result.line in (3, 4)
    assert results["dense_backward"].passed          # the other function is still judged
