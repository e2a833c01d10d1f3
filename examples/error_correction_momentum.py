r"""Haykin's error-correction rule with momentum is gradient descent with momentum:
a hand loop in his notation ends with the same weights as ``dp.SGD(model, lr=η, momentum=α)``.

A small MLP is trained by a hand-written loop in Haykin's notation (docs/notation-guide.md, row
"error-correction"), on whole batches.  An identical copy of the model is trained by the
engine's ``dp.SGD(model, lr=η, momentum=α)``.  After many steps both hold the same weights (to
rounding), which shows that the two descriptions are one algorithm:

================================  ==========================================================
Haykin (this file's loop)          gradient descent (the engine)
================================  ==========================================================
``e = d − y``                      ``∂L/∂A⁽ᴸ⁾ = 2 (A − Y) / (N·n_L)``   (``MSELoss``)
``δ = −∂L/∂v``  (MINUS gradient)   ``Δ = ∂L/∂Z``  (PLUS gradient)
``ΔW(n) = α ΔW(n−1) + η δ yᵀ``     ``u ← α u + ∂L/∂W``,  ``W ← W − η u``
``W ← W + ΔW``                     (so ``ΔW(n) = −η u(n)`` at every step)
================================  ==========================================================

Symbols: Haykin's induced local field ``v`` is the notation guide's ``Z``; his function signal
``y`` is ``A``; the desired response ``d`` is the target ``Y``.  In batch rows (one sample per
row) his column-vector ``W y`` becomes ``Y_prev Wᵀ`` and the outer product ``δ yᵀ`` summed over
the batch becomes ``δᵀ Y_prev``.  Biases are Haykin's weights on a fixed input of +1, so their
update uses the column sum of ``δ``.

Run it: ``python examples/error_correction_momentum.py``
"""

# Source: a step-by-step matrix backpropagation framework written in Haykin's error-correction
# notation (its recap table is the memory card, ``deltaprop card``).

from __future__ import annotations

import numpy as np

import deltaprop as dp


def make_data(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth 2-D → 1-D regression target in (0, 1), so a sigmoid output can reach it."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))                      # (N, 2)
    d = 0.5 + 0.4 * np.sin(2.0 * X[:, :1]) * np.cos(X[:, 1:])    # (N, 1) desired response
    return X, d


def phi_prime(layer: dp.Layer, y: np.ndarray) -> np.ndarray:
    """φ′(v) written from the layer's output y (no second exp/tanh)."""
    if isinstance(layer, dp.Tanh):
        return 1.0 - y * y                    # tanh′(v) = 1 − y²
    if isinstance(layer, dp.Sigmoid):
        return y * (1.0 - y)                  # σ′(v) = y (1 − y)
    raise TypeError(f"this example handles Tanh and Sigmoid layers, got {layer!r}")


def haykin_step(model: dp.Sequential, X: np.ndarray, d: np.ndarray, previous: dict,
                eta: float, alpha: float) -> float:
    r"""One batch step of the error-correction rule with momentum; returns the mean loss.

    ``previous`` maps each parameter name to its last correction ``ΔW(n−1)`` (empty at n = 1,
    i.e. ``ΔW(0) = 0``); it is updated in place.
    """
    # 1. Forward pass through the ENGINE: it records v⁽ˡ⁾ (= Z⁽ˡ⁾) and y⁽ˡ⁾ (= A⁽ˡ⁾) per layer.
    model.forward(X)
    records = model.records()                                     # one per weight layer
    y_out = records[-1].a                                         # y⁽ᴸ⁾, (N, n_L)
    n, n_out = y_out.shape

    # 2. Error signal at the output:  e = d − y.
    e = d - y_out                                                 # (N, n_L)

    # 3. Output local gradient.  Haykin's cost E = ½ Σ e² gives δ⁽ᴸ⁾ = e ⊙ φ′(v⁽ᴸ⁾).  The
    #    engine's MSELoss is the batch MEAN without the ½, L = Σ e² / (N·n_L), so
    #    −∂L/∂y⁽ᴸ⁾ = 2 e / (N·n_L).  Using that same factor here makes δ exactly −∂L/∂v: the
    #    1/N of the batch mean enters once, at the output, as in the notation guide's Δ⁽ᴸ⁾.
    scale = 2.0 / (n * n_out)
    delta = scale * e * phi_prime(records[-1].activation, y_out)  # δ⁽ᴸ⁾ = −Δ⁽ᴸ⁾, (N, n_L)

    # 4. Walk down the layers: correction for layer l, then δ for the layer below.
    for index in range(len(records) - 1, -1, -1):
        record = records[index]
        y_prev = record.a_prev                                    # y⁽ˡ⁻¹⁾, (N, n_{l−1})
        weight = record.dense.params["weight"]                    # W⁽ˡ⁾, (n_l, n_{l−1})
        prefix = f"{record.position}."
        # η δ yᵀ summed over the batch, in batch rows: η δᵀ Y_prev  (n_l, N) @ (N, n_{l−1})
        gradient_step = {prefix + "weight": eta * (delta.T @ y_prev)}
        if record.dense.use_bias:
            gradient_step[prefix + "bias"] = eta * delta.sum(axis=0)   # fixed input +1
        if index > 0:
            # δ⁽ˡ⁻¹⁾ = φ′(v⁽ˡ⁻¹⁾) ⊙ (W⁽ˡ⁾ᵀ δ⁽ˡ⁾), in rows: φ′ ⊙ (δ W)   (N, n_l) @ (n_l, n_{l−1})
            below = records[index - 1]
            delta = phi_prime(below.activation, below.a) * (delta @ weight)
        # ΔW(n) = α ΔW(n−1) + η δ yᵀ;   W ← W + ΔW   (PLUS: δ already carries the minus sign)
        for name, step in gradient_step.items():
            correction = step if name not in previous else alpha * previous[name] + step
            key = name.split(".")[1]
            record.dense.params[key] += correction
            previous[name] = correction
    return float(np.mean(e * e))                                  # L before this step


def engine_step(model: dp.Sequential, optimizer: dp.SGD, X: np.ndarray, d: np.ndarray) -> float:
    """The same step in gradient-descent form: forward, loss, backward, step."""
    value, grad = dp.MSELoss()(model.forward(X), d)
    model.backward(grad)
    optimizer.step()
    return float(value)


def main(steps: int = 300, eta: float = 0.5, alpha: float = 0.9, seed: int = 0) -> dict:
    """Train two identical float64 models, one per notation; return their losses and weights."""
    X, d = make_data(seed=seed)
    haykin = dp.mlp([2, 8, 1], activation="tanh", output="sigmoid", seed=seed,
                    dtype=np.float64)
    engine = haykin.copy()                                        # identical starting weights
    optimizer = dp.SGD(engine, lr=eta, momentum=alpha)
    previous: dict[str, np.ndarray] = {}                          # ΔW(0) = 0
    haykin_losses, engine_losses = [], []
    for _ in range(steps):
        haykin_losses.append(haykin_step(haykin, X, d, previous, eta, alpha))
        engine_losses.append(engine_step(engine, optimizer, X, d))
    final = float(dp.MSELoss()(haykin.forward(X), d)[0])
    state_h, state_e = haykin.state_dict(), engine.state_dict()
    max_diff = max(float(np.max(np.abs(state_h[k] - state_e[k]))) for k in state_h)
    return {
        "haykin_weights": state_h,
        "engine_weights": state_e,
        "max_weight_difference": max_diff,
        "haykin_losses": haykin_losses,
        "engine_losses": engine_losses,
        "loss_start": haykin_losses[0],
        "loss_end": final,
    }


if __name__ == "__main__":
    results = main()
    print(f"loss {results['loss_start']:.5f} -> {results['loss_end']:.5f} "
          f"after {len(results['haykin_losses'])} steps")
    print(f"largest |W_haykin − W_engine| over all parameters: "
          f"{results['max_weight_difference']:.2e}")
