"""The ``mlp`` topic: the whole backward pass for any hidden activation and loss of the engine."""

from __future__ import annotations

import itertools

import pytest

from deltaprop.cli import main
from deltaprop.practice import check_file, render_exercise
from deltaprop.practice.mlp import ACTIVATIONS, LOSSES

# one learner implementation for every network: φ′ and the output delta by name
GENERIC = '''
import math

import numpy as np

PHI_PRIME = {
    "identity": lambda z: np.ones_like(z),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)) * (1 - 1 / (1 + np.exp(-z))),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "relu": lambda z: (z > 0).astype(float),
    "leaky_relu": lambda z: np.where(z > 0, 1.0, 0.01),
    "elu": lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0))),
    "softplus": lambda z: 1 / (1 + np.exp(-z)),
    "gelu": lambda z: (0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))
                       + z * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)),
}


def mlp_backward(weights, activations, zs, y):
    n, out = activations[-1].shape
    if DELTAPROP_NETWORK["loss"] == "cross_entropy":
        delta = activations[-1].copy()
        delta[np.arange(n), y] -= 1
        delta = delta / n
    elif DELTAPROP_NETWORK["loss"] == "bce":
        delta = (activations[-1] - y) / (n * out)
    else:
        delta = 2 * (activations[-1] - y) / (n * out)
    phi_prime = PHI_PRIME[DELTAPROP_NETWORK["activation"]]
    grad_weights, grad_biases = [], []
    for l in range(len(weights) - 1, -1, -1):
        grad_weights.insert(0, delta.T @ activations[l])   # (n_l, N) @ (N, n_{l-1})
        grad_biases.insert(0, delta.sum(axis=0))
        if l > 0:
            delta = (delta @ weights[l]) * phi_prime(zs[l - 1])
    return grad_weights, grad_biases
'''


def _write(tmp_path, activation: str, loss: str, code: str = GENERIC):
    path = tmp_path / "mlp_practice.py"
    header = render_exercise("mlp", network={"activation": activation, "loss": loss})
    header = header.split("\n\ndef mlp_backward")[0]                 # the docs and the marker
    path.write_text(header + "\n" + code, encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize(("activation", "loss"), list(itertools.product(ACTIVATIONS, LOSSES)))
def test_a_correct_backward_passes_for_every_activation_and_loss(tmp_path, activation, loss):
    (result,) = check_file(_write(tmp_path, activation, loss))
    assert result.passed, result.message
    assert activation in result.message or result.cases == 3


@pytest.mark.slow
@pytest.mark.parametrize(("activation", "loss", "old", "new", "mistake"), [
    ("relu", "mse", "delta = (delta @ weights[l]) * phi_prime(zs[l - 1])",
     "delta = delta @ weights[l]", "activation_derivative_missing"),
    ("sigmoid", "bce", "phi_prime(zs[l - 1])", "phi_prime(activations[l])",
     "derivative_at_wrong_point"),
    ("gelu", "cross_entropy", "delta.sum(axis=0)", "delta.sum(axis=1)", "bias_wrong_axis"),
    ("elu", "mse", "delta = 2 * (activations[-1] - y) / (n * out)",
     "delta = 2 * (activations[-1] - y)", "mean_missing"),
    ("softplus", "bce", "delta = (activations[-1] - y) / (n * out)",
     "delta = (y - activations[-1]) / (n * out)", "sign_flipped"),
    ("tanh", "mse", "delta.T @ activations[l]", "activations[l].T @ delta", "transposed"),
])
def test_planted_mistakes_are_named_on_the_chosen_network(tmp_path, activation, loss, old, new,
                                                          mistake):
    assert GENERIC.count(old) == 1
    (result,) = check_file(_write(tmp_path, activation, loss, GENERIC.replace(old, new)))
    assert not result.passed and result.mistakes[0] == mistake, (result.mistakes,
                                                                 result.message)


def test_the_file_is_graded_on_its_own_network(tmp_path):
    """The same tanh code fails a relu file: the network comes from the file, not a default."""
    code = GENERIC.replace('PHI_PRIME[DELTAPROP_NETWORK["activation"]]', 'PHI_PRIME["tanh"]')
    (tanh,) = check_file(_write(tmp_path, "tanh", "cross_entropy", code))
    (relu,) = check_file(_write(tmp_path, "relu", "cross_entropy", code))
    assert tanh.passed and not relu.passed and "relu" in relu.message


@pytest.mark.parametrize(("marker", "words"), [
    ('DELTAPROP_NETWORK = {"activation": "swish"}', ["activation", "swish", "relu"]),
    ('DELTAPROP_NETWORK = {"loss": "hinge"}', ["loss", "hinge", "mse"]),
    ('DELTAPROP_NETWORK = {"act": "relu"}', ["keys activation and loss"]),
    ("DELTAPROP_NETWORK = dict(activation='relu')", ["literal dict"]),
    ("DELTAPROP_NETWORK = ['relu']", ["dict"]),
])
def test_a_bad_network_marker_is_a_clear_error(tmp_path, marker, words, capsys):
    path = tmp_path / "mlp_practice.py"
    path.write_text(f'DELTAPROP_TOPIC = "mlp"\n{marker}\n\n' + GENERIC, encoding="utf-8")
    with pytest.raises(ValueError) as error:
        check_file(path)
    assert all(word in str(error.value) for word in words), str(error.value)
    assert main(["check", str(path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_cli_writes_the_chosen_network_and_refuses_it_for_other_topics(tmp_path, capsys):
    out = tmp_path / "m.py"
    assert main(["practice", "mlp", "--activation", "elu", "--loss", "bce", "--out",
                 str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "DELTAPROP_NETWORK = {'activation': 'elu', 'loss': 'bce'}" in text
    assert ACTIVATIONS["elu"] in text and LOSSES["bce"][1] in text and "<" not in text
    assert main(["practice", "dense", "--activation", "relu"]) == 2
    assert "topic mlp" in capsys.readouterr().err
