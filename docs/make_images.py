"""Make the README's example figures: ``python docs/make_images.py [OUT_DIR]``.

Trains a small network on two interleaved half-moons (made here with NumPy, seed 0) and writes
``curves.png`` (loss and accuracy, train and validation) and ``decision_boundary.png``.
Needs the ``plot`` extra (matplotlib).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from deltaprop import Adam, fit, mlp
from deltaprop.plots import plot_decision_boundary, plot_history


def two_moons(n: int = 400, noise: float = 0.15, seed: int = 0):
    """Two interleaved half circles in the plane, labels 0 and 1."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    x = np.where(label == 0, np.cos(angle), 1 - np.cos(angle))
    y = np.where(label == 0, np.sin(angle), 0.5 - np.sin(angle))
    X = np.column_stack([x, y]) + rng.normal(0, noise, (n, 2))
    return X.astype(np.float32), label


def main(out: Path) -> None:
    X, y = two_moons()
    model = mlp([2, 16, 16, 2], activation="tanh", seed=0)
    history = fit(model, X, y, loss="cross_entropy", optimizer=Adam(model, lr=0.005),
                  epochs=150, batch_size=32, seed=0, validation_split=0.25,
                  early_stopping=30)
    plot_history(history, out / "curves.png", title="2-16-16-2 tanh network on two moons")
    plot_decision_boundary(model, X, y, out / "decision_boundary.png",
                           title="decision boundary (two moons)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "images")
