"""Datasets: toy generators, scikit-learn's bundled sets, MNIST-1D, CSV and NPZ files.

>>> from deltaprop import datasets
>>> data = datasets.load("moons", n_samples=200, noise=0.2, seed=0)
>>> data.X.shape, data.task
((200, 2), 'classification')
>>> [name for name, _ in datasets.available()][:3]
['blobs', 'breast_cancer', 'circles']

``load(name_or_path, **options)`` is the one entry point (the CLI's ``train`` uses it); a
name that is not registered but ends in ``.csv`` or ``.npz`` is read as a file (options:
``target=`` for CSV, ``task=`` for both).  Splitting and scaling live in
:mod:`deltaprop.training.preprocessing` and are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..training.preprocessing import Standardizer, train_test_split
from ._dataset import Dataset
from .external import SKLEARN_SETS, mnist1d, sklearn_dataset
from .files import DataFileWarning, load_csv, load_npz
from .toy import DESCRIPTIONS, blobs, circles, curve, moons, quadrants, spirals


def _sklearn_loader(name: str) -> Callable[..., Dataset]:
    def loader() -> Dataset:
        return sklearn_dataset(name)
    loader.__doc__ = f"scikit-learn's {name!r} dataset (needs the datasets extra)."
    return loader


def xor(n_samples: int = 400, *, noise: float = 0.0, seed: Any = None) -> Dataset:
    """Alias of :func:`quadrants`: XOR of the signs of x1 and x2."""
    data = quadrants(n_samples, noise=noise, seed=seed)
    data.name = "xor"
    return data


REGISTRY: dict[str, Callable[..., Dataset]] = {
    "quadrants": quadrants, "xor": xor, "moons": moons, "circles": circles,
    "spirals": spirals, "blobs": blobs, "curve": curve,
    **{name: _sklearn_loader(name) for name in SKLEARN_SETS},
    "mnist1d": mnist1d,
}

SUMMARIES: dict[str, str] = {
    **DESCRIPTIONS, "xor": "Alias of quadrants",
    **{name: f"{info[2]} [scikit-learn, needs the datasets extra]"
       for name, info in SKLEARN_SETS.items()},
    "mnist1d": "MNIST-1D, 40-sample 1-D signals, 10 classes [needs the mnist1d extra]",
}


def available() -> list[tuple[str, str]]:
    """``[(name, one-line description), ...]`` of every registered dataset, sorted by name."""
    return [(name, SUMMARIES[name]) for name in sorted(REGISTRY)]


def load(name_or_path: str | os.PathLike, **options: Any) -> Dataset:
    """A registered dataset by name, or a ``.csv`` / ``.npz`` file by path.

    ``options`` go to the generator (``n_samples``, ``noise``, ``seed``, ...) or the file
    reader (``target``, ``task``).  Unknown names and bad options raise ``ValueError``
    listing what is valid.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"dataset must be a name or a path, got {type(name_or_path).__name__}")
    key = os.fspath(name_or_path)
    if key in REGISTRY:
        loader = REGISTRY[key]
    elif key.lower().endswith(".csv"):
        loader = load_csv
    elif key.lower().endswith(".npz"):
        loader = load_npz
    else:
        hint = " (a file must end in .csv or .npz)" if os.path.exists(key) else ""
        raise ValueError(f"unknown dataset {key!r}{hint}; valid names: "
                         f"{', '.join(sorted(REGISTRY))}, or a path to a .csv / .npz file")
    try:
        if loader in (load_csv, load_npz):
            return loader(key, **options)
        return loader(**options)
    except TypeError as error:
        if "unexpected keyword" not in str(error) and "positional argument" not in str(error):
            raise
        raise ValueError(f"dataset {key!r} does not take the options {sorted(options)}: "
                         f"{error}") from None


__all__ = [
    "REGISTRY", "DataFileWarning", "Dataset", "Standardizer", "available", "blobs", "circles",
    "curve", "load", "load_csv", "load_npz", "mnist1d", "moons", "quadrants",
    "sklearn_dataset", "spirals", "train_test_split", "xor",
]
