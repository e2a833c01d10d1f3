r"""Softmax followed by cross-entropy gives the output delta (softmax(Z) − Y)/N: checked on a
network without biases, in batch form, which then learns three Gaussian blobs.

"A Detailed Derivation of Backpropagation" (2022) derives, one sample at a time and then for a
batch of rows, that softmax followed by cross-entropy gives the output error ``Δ⁽ᴸ⁾ =
(softmax(Z⁽ᴸ⁾) − Y) / N``: the non-diagonal softmax Jacobian ``∂aᵢ/∂zⱼ = aᵢ(1ᵢⱼ − aⱼ)``
collapses when multiplied by ``−y/a``.  This example

1. builds the network without biases (``bias=False``: ``Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ``, as the derivation's
   pseudocode), with logits as the output (the softmax lives inside ``CrossEntropyLoss``);
2. runs one forward/backward pass and compares the output delta the engine recorded with
   ``(softmax(Z) − Y)/N`` computed here from the recorded ``Z`` and a one-hot ``Y``;
3. trains it by the four lines of a step on Gaussian blobs and reports the test accuracy.

The derivation's pseudocode has two index slips that the engine does not copy: it writes
``a⁽ˡ⁾ = f(z⁽ˡ⁻¹⁾)`` (the activation of layer l is ``f(z⁽ˡ⁾)``), and it builds the weight
gradient of layer l from ``Delta[l+1]`` (it is ``Δ⁽ˡ⁾ᵀ A⁽ˡ⁻¹⁾``, the layer's own delta).

Run it: ``python examples/softmax_no_bias.py``
"""

# Source: "A Detailed Derivation of Backpropagation" (blog post, September 2022).

from __future__ import annotations

import numpy as np

import deltaprop as dp

N_CLASSES = 3


def make_blobs(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs on a circle around the origin; integer labels ``(n,)``.

    With no biases every pre-activation is 0 at x = 0, so the classes are placed at angles
    around the origin, where lines through the origin can separate them.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, size=n)
    angles = 2 * np.pi * labels / N_CLASSES
    centres = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)   # (n, 2)
    return centres + 0.6 * rng.standard_normal((n, 2)), labels


def softmax_rows(Z: np.ndarray) -> np.ndarray:
    """softmax over each row, shifted by the row max so no exp overflows."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def output_delta_check(model: dp.Sequential, X: np.ndarray, labels: np.ndarray) -> float:
    """Largest |engine's Δ⁽ᴸ⁾ − (softmax(Z⁽ᴸ⁾) − Y)/N| after one forward/backward pass."""
    logits = model.forward(X)                                     # Z⁽ᴸ⁾, (N, C)
    _, grad = dp.CrossEntropyLoss()(logits, labels)               # ∂L/∂Z⁽ᴸ⁾ (fused)
    model.backward(grad)
    last = model.records()[-1]                                    # the output layer L
    Y = np.eye(N_CLASSES)[labels]                                 # one-hot, (N, C)
    n = X.shape[0]
    by_hand = (softmax_rows(last.z) - Y) / n                      # Δ⁽ᴸ⁾ = (A⁽ᴸ⁾ − Y)/N
    # and the layer's weight gradient is Δ⁽ᴸ⁾ᵀ A⁽ᴸ⁻¹⁾ (its OWN delta): (C, N) @ (N, h) -> (C, h)
    grad_w = by_hand.T @ last.a_prev
    return max(float(np.max(np.abs(last.delta - by_hand))),
               float(np.max(np.abs(last.grad_weight - grad_w))))


def main(epochs: int = 150, lr: float = 0.5, seed: int = 0) -> dict:
    """Check the output delta, train full batch, return losses and accuracies."""
    X, labels = make_blobs(seed=seed)
    X_test, labels_test = make_blobs(n=300, seed=seed + 1)
    model = dp.mlp([2, 16, N_CLASSES], activation="tanh", bias=False, seed=seed,
                   dtype=np.float64)
    delta_error = output_delta_check(model, X, labels)

    loss = dp.CrossEntropyLoss()
    optimizer = dp.SGD(model, lr=lr)
    losses = []
    for _ in range(epochs):                       # full batch: one step per epoch
        logits = model.forward(X)                 # Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ (no bias), A⁽ˡ⁾ = tanh
        value, grad = loss(logits, labels)        # L (batch mean), Δ⁽ᴸ⁾ = (softmax(Z) − Y)/N
        model.backward(grad)                      # Δ⁽ˡ⁾ = (Δ⁽ˡ⁺¹⁾ W⁽ˡ⁺¹⁾) ⊙ f′(Z⁽ˡ⁾), ∂L/∂W⁽ˡ⁾
        optimizer.step()                          # W⁽ˡ⁾ ← W⁽ˡ⁾ − η ∂L/∂W⁽ˡ⁾
        losses.append(float(value))
    predicted = dp.predict_classes(model, X_test, loss=loss)
    return {
        "delta_max_error": delta_error,
        "has_bias": any(key.endswith("bias") for key in model.state_dict()),
        "losses": losses,
        "train_accuracy": dp.accuracy(labels, dp.predict_classes(model, X, loss=loss)),
        "test_accuracy": dp.accuracy(labels_test, predicted),
    }


if __name__ == "__main__":
    results = main()
    print(f"output delta vs (softmax(Z) − Y)/N: max difference {results['delta_max_error']:.1e}")
    print(f"loss {results['losses'][0]:.4f} -> {results['losses'][-1]:.4f}; accuracy train "
          f"{results['train_accuracy']:.3f}, test {results['test_accuracy']:.3f}")
