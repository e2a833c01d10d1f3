r"""Train/test split and standardisation, fitted on the training part only.

``Standardizer`` learns :math:`\mu` and :math:`\sigma` per feature from the training rows and
applies :math:`(x - \mu)/\sigma` everywhere; ``to_dict`` / ``from_dict`` let
:func:`deltaprop.io.save` store it with the model, so ``predict`` scales new data the same way.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np

from .._checks import (
    InvalidParameterError,
    check_flag,
    check_integer,
    check_number,
    check_seed,
    is_number,
)


def train_test_split(X: Any, y: Any, *, test_size: float = 0.25, seed: Any = None,
                     stratify: bool = False) -> tuple[np.ndarray, ...]:
    """Split rows at random into ``X_train, X_test, y_train, y_test``.

    Parameters
    ----------
    test_size : float in (0, 1) or int >= 1
        Fraction (or number) of rows held out; at least one row must stay in each part.
    seed : int >= 0, Generator or None
    stratify : bool
        Keep the class proportions of ``y`` (integer labels) in both parts.

    A parameter that breaks its rule raises :class:`~deltaprop.InvalidParameterError` (NumPy
    scalars are accepted, bools refused).

    Both parts keep the original row order (the rows are chosen at random, not shuffled).
    """
    X, y = np.asarray(X), np.asarray(y)
    n = X.shape[0] if X.ndim else 0
    if y.shape[:1] != (n,):
        raise ValueError(f"X and y must have the same number of rows, got {n} and "
                         f"{y.shape[0] if y.ndim else 0}")
    n_test = _test_rows(test_size, n)
    stratify = check_flag("train_test_split", "stratify", stratify)
    rng = check_seed("train_test_split", "seed", seed)
    if not stratify:
        test = rng.permutation(n)[:n_test]
    else:
        labels = np.asarray(y).reshape(n, -1)[:, 0] if y.ndim > 1 else y
        classes, counts = np.unique(labels, return_counts=True)
        # per class: its share of the test rows, largest remainders rounded up
        exact = counts * n_test / n
        take = np.floor(exact).astype(int)
        for i in np.argsort(-(exact - take), kind="stable")[:n_test - take.sum()]:
            take[i] += 1
        test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:k]
                               for c, k in zip(classes, take)])
    mask = np.zeros(n, dtype=bool)
    mask[test] = True
    return X[~mask], X[mask], y[~mask], y[mask]


def _test_rows(test_size: Any, n: int) -> int:
    """The number of test rows: ``test_size`` a fraction in (0, 1) of ``n`` or an integer
    row count, leaving at least one row in each part."""
    if is_number(test_size) and not isinstance(test_size, Integral):
        fraction = check_number("train_test_split", "test_size", test_size, low=0.0, high=1.0,
                                low_open=True)
        n_test = round(n * fraction)
    else:
        n_test = check_integer("train_test_split", "test_size", test_size, low=1,
                               rule="a fraction in (0, 1) or an integer row count >= 1")
    if not 1 <= n_test < n:
        raise InvalidParameterError(f"train_test_split test_size={test_size!r} must leave at "
                                    f"least one row in each part of {n} rows")
    return n_test


class Standardizer:
    r"""Per-feature :math:`(x - \mu)/\sigma`, with :math:`\mu, \sigma` from the training rows.

    A constant feature (:math:`\sigma = 0`) is only centred (divided by 1).

    Attributes
    ----------
    mean, scale : ndarray of shape (n_features,), float64, after ``fit``.
    """

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit(self, X: Any) -> Standardizer:
        X = _two_d(X, "Standardizer.fit X")
        self.mean = X.mean(axis=0)                            # (n_features,)
        std = X.std(axis=0)
        self.scale = np.where(std > 0, std, 1.0)              # (n_features,)
        return self

    def transform(self, X: Any) -> np.ndarray:
        if self.mean is None:
            raise ValueError("Standardizer is not fitted: call fit(X_train) first")
        X = _two_d(X, "Standardizer.transform X")
        if X.shape[1] != self.mean.shape[0]:
            raise ValueError(f"Standardizer was fitted on {self.mean.shape[0]} features, got "
                             f"X of shape {X.shape}")
        return (X - self.mean) / self.scale                   # (N, n) broadcast (n,)

    def fit_transform(self, X: Any) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        if self.mean is None:
            raise ValueError("Standardizer is not fitted: call fit(X_train) first")
        return _two_d(X, "Standardizer.inverse_transform X") * self.scale + self.mean

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (floats written exactly, as Python's repr does)."""
        if self.mean is None:
            raise ValueError("Standardizer is not fitted: nothing to save")
        return {"type": "standardizer", "mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardizer:
        if not isinstance(data, dict) or data.get("type") != "standardizer":
            raise ValueError(f"not a saved Standardizer: {data!r:.80}")
        scaler = cls()
        scaler.mean = np.asarray(data["mean"], dtype=np.float64)
        scaler.scale = np.asarray(data["scale"], dtype=np.float64)
        if scaler.mean.ndim != 1 or scaler.mean.shape != scaler.scale.shape \
                or not np.all(scaler.scale > 0):
            raise ValueError("a saved Standardizer needs mean and scale of equal length, "
                             "scale > 0")
        return scaler

    def __repr__(self) -> str:
        fitted = "unfitted" if self.mean is None else f"n_features={self.mean.shape[0]}"
        return f"Standardizer({fitted})"


def _two_d(X: Any, name: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, features), got shape {X.shape}")
    return X
