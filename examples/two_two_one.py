r"""One training step of a 2-2-1 binary classifier (tanh hidden, sigmoid output, binary
cross-entropy) worked out by hand, checked number by number against the engine, then trained.

Part 1 works ONE training step out by hand: every number of the forward pass, the loss, the
backward pass and the SGD update is written in the comments below and stored in ``HAND``,
rounded to 6 decimals.  ``tests/test_examples.py`` runs the same step through the engine and
checks each recorded array against ``HAND``, so the hand arithmetic is verified, not just shown.

Part 2 trains the same architecture on a small two-blob toy set and reports that it learns.

Layer numbering.  The source notes count the input as layer 1, so their hidden layer is ``[2]``
and their output layer ``[3]``; the notation guide counts from the first weight layer, so here
they are ``(1)`` and ``(2)``: their ``W[2]`` is our ``W⁽¹⁾``, their ``W[3]`` is our ``W⁽²⁾``.

The notes' slip.  They write the output layer's linear combination as ``z[3] = W[3] x``.  The
output layer never sees ``x``: its input is the hidden activation, so the line must read
``z[3] = W[3] a[2]`` (here ``Z⁽²⁾ = A⁽¹⁾ W⁽²⁾ᵀ + b⁽²⁾``).  It also calls ``W[3]`` a 2×1 matrix;
in the ``z = W a`` convention it is 1×2 (one row per output neuron), the shape used below.

Run it: ``python examples/two_two_one.py``
"""

# Source: notes on forward and backward propagation for a 2-2-1 binary-classification MLP
# (layers numbered from the input, ``z[2] = W[2] x``).

from __future__ import annotations

import numpy as np

import deltaprop as dp

LEARNING_RATE = 0.5                               # η of the worked step

# ---------------------------------------------------------------------------------------------
# Part 1: the worked step.  Two samples (N = 2), one per row of X (batch rows).
#
#   X = [[ 1.0, 2.0],      Y = [[1],
#        [-1.0, 0.5]]           [0]]
#
#   W⁽¹⁾ = [[ 0.1, 0.2],   b⁽¹⁾ = [0.0, 0.1]       W⁽²⁾ = [[0.5, -0.5]]   b⁽²⁾ = [0.0]
#           [-0.3, 0.4]]
#
# Forward, layer 1:  Z⁽¹⁾ = X W⁽¹⁾ᵀ + b⁽¹⁾                                      (2, 2)
#   row 1: [ 0.1·1 + 0.2·2 + 0.0,  -0.3·1 + 0.4·2 + 0.1 ] = [0.5, 0.6]
#   row 2: [-0.1   + 0.1   + 0.0,   0.3   + 0.2   + 0.1 ] = [0.0, 0.6]
#   A⁽¹⁾ = tanh(Z⁽¹⁾) = [[0.462117, 0.537050],
#                        [0.000000, 0.537050]]
# Forward, layer 2:  Z⁽²⁾ = A⁽¹⁾ W⁽²⁾ᵀ + b⁽²⁾     (the notes' slip: A⁽¹⁾ here, not X)  (2, 1)
#   row 1: 0.5·0.462117 − 0.5·0.537050 = −0.037466
#   row 2: 0.5·0.000000 − 0.5·0.537050 = −0.268525
#   A⁽²⁾ = σ(Z⁽²⁾) = [[0.490635],
#                     [0.433269]]
# Loss (batch mean of binary cross-entropy):
#   L = −½ [ 1·log 0.490635 + (1 − 0)·log(1 − 0.433269) ]
#     = −½ [ −0.712056 − 0.567871 ] = 0.639963
#
# Backward, output layer (sigmoid + BCE fuse; the 1/N appears here and only here):
#   Δ⁽²⁾ = (A⁽²⁾ − Y) / N = [[(0.490635 − 1)/2],  = [[−0.254683],
#                            [(0.433269 − 0)/2]]     [ 0.216635]]
#   ∂L/∂W⁽²⁾ = Δ⁽²⁾ᵀ A⁽¹⁾ = [−0.254683·0.462117 + 0.216635·0,
#                           −0.254683·0.537050 + 0.216635·0.537050]
#            = [[−0.117693, −0.020434]]                                      (1, 2)
#   ∂L/∂b⁽²⁾ = Σₙ Δ⁽²⁾ₙ = −0.254683 + 0.216635 = [−0.038048]
#   ∂L/∂A⁽¹⁾ = Δ⁽²⁾ W⁽²⁾ = [[−0.254683·0.5, −0.254683·(−0.5)],  = [[−0.127341,  0.127341],
#                          [ 0.216635·0.5,  0.216635·(−0.5)]]     [ 0.108317, −0.108317]]
# Backward, hidden layer (tanh′ written from the output: 1 − A²):
#   1 − A⁽¹⁾² = [[0.786448, 0.711578],
#                [1.000000, 0.711578]]
#   Δ⁽¹⁾ = ∂L/∂A⁽¹⁾ ⊙ (1 − A⁽¹⁾²) = [[−0.100147,  0.090613],
#                                   [ 0.108317, −0.077076]]
#   ∂L/∂W⁽¹⁾ = Δ⁽¹⁾ᵀ X = [[−0.100147·1 + 0.108317·(−1), −0.100147·2 + 0.108317·0.5],
#                        [ 0.090613·1 − 0.077076·(−1),  0.090613·2 − 0.077076·0.5]]
#            = [[−0.208465, −0.146136],
#               [ 0.167689,  0.142688]]
#   ∂L/∂b⁽¹⁾ = Σₙ Δ⁽¹⁾ₙ = [0.008170, 0.013537]
#
# SGD update, η = 0.5:  W ← W − η ∂L/∂W   (gradient DEscent: the minus sign)
#   W⁽¹⁾ = [[ 0.1 + 0.5·0.208465,  0.2 + 0.5·0.146136],  = [[ 0.204232,  0.273068],
#           [−0.3 − 0.5·0.167689,  0.4 − 0.5·0.142688]]     [−0.383845,  0.328656]]
#   b⁽¹⁾ = [0.0 − 0.5·0.008170, 0.1 − 0.5·0.013537]      = [−0.004085,  0.093231]
#   W⁽²⁾ = [[0.5 + 0.5·0.117693, −0.5 + 0.5·0.020434]]   = [[0.558847, −0.489783]]
#   b⁽²⁾ = [0.0 + 0.5·0.038048]                          = [0.019024]
# ---------------------------------------------------------------------------------------------

X_WORKED = np.array([[1.0, 2.0], [-1.0, 0.5]])
Y_WORKED = np.array([[1.0], [0.0]])
WEIGHTS_WORKED = {
    "0.weight": np.array([[0.1, 0.2], [-0.3, 0.4]]),   # W⁽¹⁾ (out=2, in=2)
    "0.bias": np.array([0.0, 0.1]),                     # b⁽¹⁾
    "2.weight": np.array([[0.5, -0.5]]),                # W⁽²⁾ (out=1, in=2)
    "2.bias": np.array([0.0]),                          # b⁽²⁾
}

# The numbers of the comments above, rounded to 6 decimals (the test's tolerance).
HAND = {
    "Z1": [[0.5, 0.6], [0.0, 0.6]],
    "A1": [[0.462117, 0.537050], [0.0, 0.537050]],
    "Z2": [[-0.037466], [-0.268525]],
    "A2": [[0.490635], [0.433269]],
    "loss": 0.639963,
    "delta2": [[-0.254683], [0.216635]],
    "grad_W2": [[-0.117693, -0.020434]],
    "grad_b2": [-0.038048],
    "grad_A1": [[-0.127341, 0.127341], [0.108317, -0.108317]],
    "delta1": [[-0.100147, 0.090613], [0.108317, -0.077076]],
    "grad_W1": [[-0.208465, -0.146136], [0.167689, 0.142688]],
    "grad_b1": [0.008170, 0.013537],
    "W1_new": [[0.204232, 0.273068], [-0.383845, 0.328656]],
    "b1_new": [-0.004085, 0.093231],
    "W2_new": [[0.558847, -0.489783]],
    "b2_new": [0.019024],
}


def build_model(seed: int | None = None) -> dp.Sequential:
    """The 2-2-1 network: Dense(2→2), Tanh, Dense(2→1), Sigmoid, in float64."""
    return dp.mlp([2, 2, 1], activation="tanh", output="sigmoid", seed=seed, dtype=np.float64)


def worked_step(lr: float = LEARNING_RATE) -> dict[str, np.ndarray]:
    """Run the worked step through the engine and return what it recorded (as copies)."""
    model = build_model()
    model.load_state_dict(WEIGHTS_WORKED)
    loss = dp.BCELoss()

    A2 = model.forward(X_WORKED)                  # records Z⁽ˡ⁾, A⁽ˡ⁾ per layer
    value, grad_A2 = loss(A2, Y_WORKED)           # L and ∂L/∂A⁽²⁾ = (A − Y)/(N·A(1 − A))
    model.backward(grad_A2)                       # Sigmoid turns it into Δ⁽²⁾ = (A − Y)/N
    hidden, output = model.records()              # layer (1) and layer (2)
    recorded = {
        "Z1": hidden.z, "A1": hidden.a, "Z2": output.z, "A2": output.a,
        "loss": value,
        "delta2": output.delta, "grad_W2": output.grad_weight, "grad_b2": output.grad_bias,
        "grad_A1": output.grad_a_prev,            # = hidden.grad_a: Δ⁽²⁾ W⁽²⁾
        "delta1": hidden.delta, "grad_W1": hidden.grad_weight, "grad_b1": hidden.grad_bias,
    }
    recorded = {key: np.array(value, dtype=np.float64) for key, value in recorded.items()}
    dp.SGD(model, lr=lr).step()                   # W ← W − η ∂L/∂W
    state = model.state_dict()
    recorded.update(W1_new=state["0.weight"], b1_new=state["0.bias"],
                    W2_new=state["2.weight"], b2_new=state["2.bias"])
    return recorded


# ---------------------------------------------------------------------------------------------
# Part 2: training on a toy set.
# ---------------------------------------------------------------------------------------------
def make_blobs(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping Gaussian blobs in 2-D, labels 0 / 1 as a column ``(n, 1)``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    centres = np.where(labels[:, None] == 1, [1.0, 1.0], [-1.0, -1.0])   # (n, 2)
    X = centres + 0.7 * rng.standard_normal((n, 2))
    return X, labels[:, None].astype(np.float64)


def main(epochs: int = 200, seed: int = 0) -> dict:
    """The worked step, then a short full-batch training run on two blobs."""
    worked = worked_step()
    X, y = make_blobs(seed=seed)
    X_test, y_test = make_blobs(seed=seed + 1)
    model = build_model(seed=seed)
    loss = dp.BCELoss()
    before = dp.evaluate(model, X, y, loss=loss)
    history = dp.fit(model, X, y, loss=loss, optimizer=dp.SGD(model, lr=0.5),
                     epochs=epochs, batch_size=None, seed=seed)   # full batch
    after = dp.evaluate(model, X_test, y_test, loss=loss)
    return {
        "worked": worked,
        "hand": HAND,
        "loss_start": before["loss"],
        "loss_end": history["loss"][-1],
        "train_accuracy": history["accuracy"][-1],
        "test_accuracy": after["accuracy"],
    }


def _report(results: dict) -> None:
    worst = max(float(np.max(np.abs(np.asarray(results["worked"][key]) - np.asarray(hand))))
                for key, hand in results["hand"].items())
    print("worked step: largest |engine − hand| over all quantities =", f"{worst:.1e}")
    print(f"training: loss {results['loss_start']:.4f} -> {results['loss_end']:.4f}, "
          f"train accuracy {results['train_accuracy']:.3f}, "
          f"test accuracy {results['test_accuracy']:.3f}")


if __name__ == "__main__":
    _report(main())
