r"""Bending a boundary: a 2-64-64-2 ReLU network learns the quadrant (XOR-like) set with SGD and
weight decay, trained full batch and mini-batch, optionally drawn over its decision regions.

The data: points drawn uniformly in [−1, 1]², labelled 1 where x₀·x₁ > 0 (first and third
quadrants) and 0 elsewhere.  No straight line separates the classes, so the hidden layers
have to bend the boundary.

The network follows the "MLP From Scratch" notebook: ``Dense(2, 64) → ReLU → Dense(64, 64) →
ReLU → Dense(64, 2)``, weights ``0.1 · N(0, 1)`` (its ``weight_scale=0.1``; here
``dp.nn.init.scaled_normal`` with ``scale=0.1``), biases zero, logits into softmax cross-entropy,
and plain SGD with L2 weight decay: ``W ← W − η (∂L/∂W + λ W)``.

The notebook stores its weights as ``(in, out)`` and writes ``Z = H W + b``, ``∂L/∂W = Hᵀ G_Z``.
deltaprop stores ``W⁽ˡ⁾`` as ``(out, in)`` (notation guide): ``Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ + b⁽ˡ⁾`` and
``∂L/∂W⁽ˡ⁾ = Δ⁽ˡ⁾ᵀ A⁽ˡ⁻¹⁾``, the transpose of the notebook's matrix, with the same numbers.

The notebook ran full batch at η = 0.01 and stopped near 72 % accuracy after 300 epochs; a larger
step (η = 0.3) gets full-batch gradient descent to the same place mini-batches reach.  Both
runs must reach ``TARGET_ACCURACY`` on 1000 fresh test points.

Run it: ``python examples/quadrants.py [plot.png]`` (the plot needs matplotlib).
"""

# Source: the notebook "Multilayer Perceptron (MLP) From Scratch" (NumPy layers, weights
# stored as (in, out)).

from __future__ import annotations

import functools
import sys

import numpy as np

import deltaprop as dp

TARGET_ACCURACY = 0.95          # both runs reach this on the held-out points
WEIGHT_DECAY = 1e-4             # λ, as the notebook


def make_quadrants(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform in [−1, 1]²; label 1 where x₀·x₁ > 0, else 0 (integer ``(n,)``)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def build_model(seed: int) -> dp.Sequential:
    """2-64-64-2 ReLU with the notebook's small weights: W = 0.1 · N(0, 1), b = 0."""
    small = functools.partial(dp.nn.init.scaled_normal, scale=0.1)
    return dp.mlp([2, 64, 64, 2], activation="relu", init=small, seed=seed)


def train(batch_size: int | None, lr: float, epochs: int, X, y, seed: int):
    """One run; ``batch_size=None`` is full-batch gradient descent (one step per epoch)."""
    model = build_model(seed)
    optimizer = dp.SGD(model, lr=lr, weight_decay=WEIGHT_DECAY)   # g ← ∂L/∂W + λW; W ← W − ηg
    history = dp.fit(model, X, y, loss=dp.CrossEntropyLoss(), optimizer=optimizer,
                     epochs=epochs, batch_size=batch_size, shuffle=True, seed=seed)
    return model, history


def plot(path, X, y, models: dict) -> None:
    """Scatter of the data over each model's decision regions, written to ``path`` as PNG.

    Uses matplotlib's object API (``Figure``), so no pyplot state or GUI backend is touched.
    """
    from matplotlib.figure import Figure  # lazy: matplotlib is optional (extra "plot")

    grid = np.linspace(-1.0, 1.0, 151)
    g0, g1 = np.meshgrid(grid, grid)
    points = np.stack([g0.ravel(), g1.ravel()], axis=1)            # (151², 2)
    figure = Figure(figsize=(5 * len(models), 4.6))
    for i, (title, model) in enumerate(models.items()):
        axes = figure.add_subplot(1, len(models), i + 1)
        regions = dp.predict_classes(model, points, loss="cross_entropy").reshape(g0.shape)
        axes.contourf(g0, g1, regions, levels=[-0.5, 0.5, 1.5], colors=["#f4c7c3", "#c6dbef"])
        axes.scatter(X[y == 0, 0], X[y == 0, 1], s=10, c="#c0392b", label="class 0")
        axes.scatter(X[y == 1, 0], X[y == 1, 1], s=10, c="#2166ac", label="class 1")
        axes.set(title=title, xlabel="x₀", ylabel="x₁", xlim=(-1, 1), ylim=(-1, 1),
                 aspect="equal")
        axes.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=80)


def main(plot_path=None, seed: int = 0) -> dict:
    """Train full batch and mini-batch; optionally write the plot. Returns the scores."""
    X, y = make_quadrants(400, seed)
    X_test, y_test = make_quadrants(1000, seed + 1)
    runs = {
        "full batch (η = 0.3, 200 epochs)": train(None, 0.3, 200, X, y, seed),
        "mini-batch 32 (η = 0.1, 80 epochs)": train(32, 0.1, 80, X, y, seed),
    }
    results: dict = {"target_accuracy": TARGET_ACCURACY, "plot_written": False}
    for key, (model, history) in runs.items():
        name = "full_batch" if key.startswith("full") else "mini_batch"
        results[name] = {
            "loss_start": history["loss"][0],
            "loss_end": history["loss"][-1],
            "train_accuracy": history["accuracy"][-1],
            "test_accuracy": dp.evaluate(model, X_test, y_test,
                                         loss="cross_entropy")["accuracy"],
        }
    if plot_path is not None:
        try:
            plot(plot_path, X, y, {key: model for key, (model, _) in runs.items()})
            results["plot_written"] = True
        except ImportError:
            results["plot_written"] = False      # matplotlib absent: numbers only
    return results


if __name__ == "__main__":
    out = main(plot_path=sys.argv[1] if len(sys.argv) > 1 else None)
    for name in ("full_batch", "mini_batch"):
        run = out[name]
        print(f"{name:10s}: loss {run['loss_start']:.4f} -> {run['loss_end']:.4f}, "
              f"train accuracy {run['train_accuracy']:.3f}, "
              f"test accuracy {run['test_accuracy']:.3f} (target {out['target_accuracy']})")
    if len(sys.argv) > 1:
        print("plot:", sys.argv[1] if out["plot_written"] else "not written (no matplotlib)")
