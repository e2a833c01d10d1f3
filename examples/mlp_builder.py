r"""One builder, three tasks: ``dp.mlp`` with Glorot uniform weights on a regression, a binary
and a multi-class task, each with the output and loss that fit it.

Frazier's ``MLP(n_x, n_h, n_y, ...)`` constructor takes the input width ``n_x``, the hidden
width ``n_h``, the number of hidden layers, the output width ``n_y``, the hidden and output
activations and the cost.  In deltaprop that is ``dp.mlp([n_x, n_h, ..., n_h, n_y],
activation=..., output=...)`` plus a loss passed to ``dp.fit``.  Its Dense layers draw ``W ~
U(−a, a)``, ``a = √(6/(n_in + n_out))`` (``init="glorot_uniform"``, the default, written out
below) and start biases at zero.

- regression: linear output (``output=None``), ``MSELoss``, Δ⁽ᴸ⁾ = 2(A − Y)/(N·n_y);
  synthetic data, scored by R²;
- binary: sigmoid output, ``BCELoss``, Δ⁽ᴸ⁾ = (A − Y)/N; scikit-learn's breast cancer set;
- multi-class: logits (``output=None``), ``CrossEntropyLoss``, Δ⁽ᴸ⁾ = (softmax(Z) − Y)/N;
  scikit-learn's wine set.

Frazier's binary cost (its eq. 35) is printed without the minus sign in front of the sum; the
loss that is minimised is ``C = −(1/m) Σ [y ln ŷ + (1 − y) ln(1 − ŷ)]``, which ``BCELoss`` is.

The two classification sets are scikit-learn's bundled copies (no download); scikit-learn is
imported inside the function that needs it.

Run it: ``python examples/mlp_builder.py``
"""

# Source: J. Frazier, "An Undergraduate's Explanation of the Multilayer Perceptron: Mathematical
# Concepts and a Python3 Implementation" (2022).

from __future__ import annotations

import numpy as np

import deltaprop as dp


def standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale each feature to zero mean and unit variance with the TRAINING statistics."""
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def frazier_mlp(n_x: int, n_h: int, n_y: int, *, n_hidden_layers: int = 1,
                activation: str = "tanh", output: str | None = None, seed: int = 0):
    """Frazier's ``MLP(n_x, n_h, n_y, ...)`` signature, built with ``dp.mlp``."""
    sizes = [n_x] + [n_h] * n_hidden_layers + [n_y]                # [n_x, n_h, ..., n_y]
    return dp.mlp(sizes, activation=activation, output=output, init="glorot_uniform",
                  seed=seed)


def regression(seed: int = 0, epochs: int = 100) -> dict:
    """y = sin(x₀)·x₁ + ½x₂² + noise on 600 points; reports R² on 200 held-out points."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(800, 3))
    y = np.sin(X[:, 0]) * X[:, 1] + 0.5 * X[:, 2] ** 2 + 0.05 * rng.standard_normal(800)
    X_train, X_test = standardize(X[:600], X[600:])
    y_train, y_test = y[:600, None], y[600:, None]                  # (N, 1) targets
    model = frazier_mlp(3, 32, 1, n_hidden_layers=2, activation="tanh", seed=seed)
    dp.fit(model, X_train, y_train, loss=dp.MSELoss(), epochs=epochs, batch_size=32,
           optimizer=dp.SGD(model, lr=0.05, momentum=0.9), seed=seed)
    return dp.evaluate(model, X_test, y_test, loss=dp.MSELoss())   # {"loss", "r2", "mse"}


def binary(seed: int = 0, epochs: int = 30) -> dict:
    """Breast cancer (569 × 30): sigmoid output + binary cross-entropy; test accuracy."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y.astype(np.float64), test_size=0.25,
                                                        random_state=seed, stratify=y)
    X_train, X_test = standardize(X_train, X_test)
    model = frazier_mlp(30, 16, 1, activation="tanh", output="sigmoid", seed=seed)
    loss = dp.BCELoss()                           # on probabilities ŷ = σ(Z⁽ᴸ⁾)
    dp.fit(model, X_train, y_train, loss=loss, epochs=epochs, batch_size=32,
           optimizer=dp.SGD(model, lr=0.1), seed=seed)
    return dp.evaluate(model, X_test, y_test, loss=loss)           # {"loss", "accuracy"}


def multiclass(seed: int = 0, epochs: int = 60) -> dict:
    """Wine (178 × 13, 3 classes): logits + softmax cross-entropy; test accuracy."""
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split

    X, y = load_wine(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=seed,
                                                        stratify=y)
    X_train, X_test = standardize(X_train, X_test)
    model = frazier_mlp(13, 16, 3, activation="relu", seed=seed)
    loss = dp.CrossEntropyLoss()                  # integer labels (N,), logits (N, 3)
    dp.fit(model, X_train, y_train, loss=loss, epochs=epochs, batch_size=16,
           optimizer=dp.SGD(model, lr=0.05), seed=seed)
    return dp.evaluate(model, X_test, y_test, loss=loss)


def glorot_bound_holds(seed: int = 0) -> bool:
    """Every weight lies in [−a, a] with a = √(6/(n_in + n_out)); every bias is 0."""
    model = frazier_mlp(30, 16, 1, seed=seed)
    ok = True
    for layer in model.dense_layers:
        a = np.sqrt(6.0 / (layer.in_features + layer.out_features))
        ok &= bool(np.all(np.abs(layer.params["weight"]) <= a))
        ok &= bool(np.all(layer.params["bias"] == 0))
    return ok


def main(seed: int = 0) -> dict:
    """Run the three tasks; return their held-out scores."""
    return {
        "glorot_bound_holds": glorot_bound_holds(seed),
        "regression": regression(seed),
        "binary": binary(seed),
        "multiclass": multiclass(seed),
    }


if __name__ == "__main__":
    results = main()
    print(f"Glorot uniform bound respected: {results['glorot_bound_holds']}")
    print(f"regression  (synthetic, 3 -> 32 -> 32 -> 1): test R² = "
          f"{results['regression']['r2']:.3f}")
    print(f"binary      (breast cancer, 30 -> 16 -> 1):  test accuracy = "
          f"{results['binary']['accuracy']:.3f}")
    print(f"multi-class (wine, 13 -> 16 -> 3):           test accuracy = "
          f"{results['multiclass']['accuracy']:.3f}")
