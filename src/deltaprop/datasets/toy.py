r"""The 2-D toy sets a learner plays with, and a noisy 1-D regression curve.

Every generator takes ``n_samples``, ``noise`` and ``seed`` and returns a
:class:`~deltaprop.datasets.Dataset` with ``X`` of shape ``(N, 2)`` (``(N, 1)`` for the curve),
float64, and ``y`` of shape ``(N,)``: integer labels ``0..K-1`` or real targets.  Randomness
comes from ``np.random.default_rng(seed)`` only, never from NumPy's global state.

Parameters are checked (:mod:`deltaprop._checks`): ``n_samples`` an integer >= 2, ``noise`` a
finite number >= 0, ``seed`` None, an integer >= 0 or a Generator; NumPy scalars are accepted,
bools refused, and a bad value raises :class:`~deltaprop.InvalidParameterError`.

``noise`` is the standard deviation of Gaussian jitter added to the points after the labels
are fixed (so labels stay exact and the classes overlap as ``noise`` grows); for ``blobs`` it
is the spread of each cluster, and for ``curve`` the noise on the target.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_integer, check_number, check_seed
from ._dataset import Dataset

DESCRIPTIONS = {
    "quadrants": "XOR of the signs: class 1 in quadrants I and III, 2 features",
    "moons": "Two interleaving half circles, 2 features, 2 classes",
    "circles": "A small circle inside a large one, 2 features, 2 classes",
    "spirals": "Interleaved spiral arms, 2 features, 2+ classes (n_classes=)",
    "blobs": "Gaussian clusters, 2 features, 3+ classes (centers=)",
    "curve": "Noisy 1-D regression curve y = sin(x) + 0.3x, 1 feature",
}


def _check(owner: str, n_samples: Any, noise: Any,
           seed: Any) -> tuple[int, float, np.random.Generator]:
    """The checks every generator shares: ``n_samples`` an integer >= 2, ``noise`` a finite
    number >= 0, ``seed`` None, an integer >= 0 or a Generator (NumPy scalars accepted)."""
    return (check_integer(owner, "n_samples", n_samples, low=2),
            check_number(owner, "noise", noise, low=0.0),
            check_seed(owner, "seed", seed))


def _split_counts(n: int, k: int) -> list[int]:
    """``n`` samples shared among ``k`` classes as evenly as possible."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def quadrants(n_samples: int = 400, *, noise: float = 0.0, seed: Any = None) -> Dataset:
    r"""XOR on the plane: :math:`x \sim \mathcal N(0, I_2)`, :math:`y = [x_1 x_2 > 0]`.

    Class 1 fills the first and third quadrants, class 0 the other two: no straight line
    separates them, so a network needs a hidden layer.
    """
    n, noise, rng = _check("quadrants", n_samples, noise, seed)
    X = rng.standard_normal((n, 2))                           # (N, 2)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)              # 1 where the signs agree
    X = X + noise * rng.standard_normal((n, 2))
    return Dataset(X, y, task="classification", feature_names=["x1", "x2"],
                   classes=[0, 1], name="quadrants", description=DESCRIPTIONS["quadrants"])


def moons(n_samples: int = 400, *, noise: float = 0.1, seed: Any = None) -> Dataset:
    """Two interleaving half circles: class 0 on top, class 1 below and shifted right."""
    n, noise, rng = _check("moons", n_samples, noise, seed)
    n_top, n_bottom = _split_counts(n, 2)
    t_top = np.linspace(0, np.pi, n_top)
    t_bottom = np.linspace(0, np.pi, n_bottom)
    top = np.stack([np.cos(t_top), np.sin(t_top)], axis=1)
    bottom = np.stack([1 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)], axis=1)
    X = np.concatenate([top, bottom]) + noise * rng.standard_normal((n, 2))
    y = np.repeat(np.arange(2), [n_top, n_bottom])
    return _shuffled(rng, X, y, "moons", DESCRIPTIONS["moons"])


def circles(n_samples: int = 400, *, noise: float = 0.05, factor: float = 0.5,
            seed: Any = None) -> Dataset:
    """A small circle (class 1, radius ``factor``) inside a large one (class 0, radius 1)."""
    n, noise, rng = _check("circles", n_samples, noise, seed)
    factor = check_number("circles", "factor", factor, low=0.0, high=1.0, low_open=True)
    n_out, n_in = _split_counts(n, 2)
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = factor * np.stack([np.cos(t_in), np.sin(t_in)], axis=1)
    X = np.concatenate([outer, inner]) + noise * rng.standard_normal((n, 2))
    y = np.repeat(np.arange(2), [n_out, n_in])
    return _shuffled(rng, X, y, "circles", DESCRIPTIONS["circles"])


def spirals(n_samples: int = 400, *, noise: float = 0.2, n_classes: int = 2,
            turns: float = 1.5, seed: Any = None) -> Dataset:
    r"""``n_classes`` interleaved spiral arms; arm ``k`` is turned by :math:`2\pi k / K`.

    Radius grows linearly from 0 to 1 along each arm; ``noise`` jitters the angle-independent
    position (in units of the unit radius divided by 10, so 0.2 is a visible blur).
    """
    n, noise, rng = _check("spirals", n_samples, noise, seed)
    n_classes = check_integer("spirals", "n_classes", n_classes, low=2)
    turns = check_number("spirals", "turns", turns)
    counts = _split_counts(n, n_classes)
    points, labels = [], []
    for k, count in enumerate(counts):
        radius = np.linspace(0.05, 1.0, count)
        angle = 2 * np.pi * turns * radius + 2 * np.pi * k / n_classes
        points.append(np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1))
        labels.append(np.full(count, k))
    X = np.concatenate(points) + 0.1 * noise * rng.standard_normal((n, 2))
    return _shuffled(rng, X, np.concatenate(labels), "spirals", DESCRIPTIONS["spirals"])


def blobs(n_samples: int = 400, *, noise: float = 1.0, centers: int = 3,
          seed: Any = None) -> Dataset:
    """``centers`` Gaussian clusters with standard deviation ``noise``, centres drawn in
    ``[-5, 5]²`` from the same seed."""
    n, noise, rng = _check("blobs", n_samples, noise, seed)
    centers = check_integer("blobs", "centers", centers, low=2)
    means = rng.uniform(-5, 5, size=(centers, 2))             # (K, 2)
    y = np.repeat(np.arange(centers), _split_counts(n, centers))
    X = means[y] + noise * rng.standard_normal((n, 2))       # (N, 2)
    return _shuffled(rng, X, y, "blobs", DESCRIPTIONS["blobs"])


def curve(n_samples: int = 200, *, noise: float = 0.1, seed: Any = None) -> Dataset:
    r"""A noisy 1-D regression curve: :math:`x \sim U(-3, 3)`,
    :math:`y = \sin(x) + 0.3x + \varepsilon`, with
    :math:`\varepsilon \sim \mathcal N(0, \text{noise}^2)`.
    """
    n, noise, rng = _check("curve", n_samples, noise, seed)
    x = np.sort(rng.uniform(-3, 3, size=n))
    y = np.sin(x) + 0.3 * x + noise * rng.standard_normal(n)
    return Dataset(x[:, None], y, task="regression", feature_names=["x"],
                   name="curve", description=DESCRIPTIONS["curve"])


def _shuffled(rng: np.random.Generator, X: np.ndarray, y: np.ndarray, name: str,
              description: str) -> Dataset:
    order = rng.permutation(X.shape[0])
    labels = y[order].astype(np.int64)
    return Dataset(X[order], labels, task="classification", feature_names=["x1", "x2"],
                   classes=list(range(int(labels.max()) + 1)), name=name, description=description)
