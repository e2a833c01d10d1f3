"""Datasets from optional packages: scikit-learn's bundled sets and MNIST-1D.

scikit-learn ships ``digits``, ``iris``, ``wine``, ``breast_cancer`` and ``diabetes`` inside
the package (no download); install it with ``pip install 'deltaprop[datasets]'``.

MNIST-1D comes from the ``mnist1d`` package (``pip install mnist1d``), which is not a
dependency of deltaprop.  Its generator calls ``np.random.seed`` (and ``random.seed``), that
is, it reseeds the GLOBAL random state of the whole process.  :func:`mnist1d` saves both
states before and restores them after, so loading it changes nothing for the caller.  The
data are generated locally with ``mnist1d.data.make_dataset``; deltaprop never calls
``mnist1d``'s ``get_dataset``, which downloads a pickle file from GitHub (and unpickling a
downloaded file could run arbitrary code).  Whether a given ``mnist1d`` version downloads
anything else is up to that package.
"""

from __future__ import annotations

import importlib
import random
from typing import Any

import numpy as np

from ._dataset import Dataset

SKLEARN_SETS = {
    "digits": ("load_digits", "classification",
               "8x8 images of handwritten digits (1,797 samples, 64 features, 10 classes)"),
    "iris": ("load_iris", "classification",
             "Fisher's iris flowers (150 samples, 4 features, 3 classes)"),
    "wine": ("load_wine", "classification",
             "Wine recognition (178 samples, 13 features, 3 classes)"),
    "breast_cancer": ("load_breast_cancer", "classification",
                      "Wisconsin breast cancer (569 samples, 30 features, 2 classes)"),
    "diabetes": ("load_diabetes", "regression",
                 "Diabetes progression (442 samples, 10 features, regression)"),
}


def sklearn_dataset(name: str) -> Dataset:
    """One of scikit-learn's bundled datasets by name (see ``SKLEARN_SETS``)."""
    if name not in SKLEARN_SETS:
        raise ValueError(f"unknown scikit-learn dataset {name!r}; valid names: "
                         f"{', '.join(sorted(SKLEARN_SETS))}")
    try:
        sk_datasets = importlib.import_module("sklearn.datasets")
    except ImportError:
        raise ImportError(f"the dataset {name!r} comes with scikit-learn, which is not "
                          "installed: pip install 'deltaprop[datasets]'") from None
    function, task, description = SKLEARN_SETS[name]
    bunch = getattr(sk_datasets, function)()
    classes = [str(label) for label in bunch.target_names] if task == "classification" else []
    return Dataset(np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target),
                   task=task, feature_names=[str(f) for f in bunch.feature_names],
                   classes=classes, target_names=classes or ["target"], name=name,
                   description=description)


def mnist1d(*, n_samples: int = 5000, seed: int = 42, split: str = "all",
            **args: Any) -> Dataset:
    """MNIST-1D (Greydanus, 2020): 10 classes of 40-sample 1-D signals, generated locally.

    Parameters
    ----------
    n_samples : int
        Number of signals before the package's own train/test split (its default, 5000).
    seed : int
        The generator's seed (the package's default, 42).
    split : "all", "train" or "test"
        The package splits train/test itself (80/20); ``"all"`` returns both, train first.
    **args
        Any other ``mnist1d`` generator argument (``final_seq_length``, ``iid_noise_scale``...).

    NumPy's and Python's global random states are the same after this call as before it.
    """
    if split not in ("all", "train", "test"):
        raise ValueError(f"split must be 'all', 'train' or 'test', got {split!r}")
    try:
        data_module = importlib.import_module("mnist1d.data")
    except ImportError:
        raise ImportError("MNIST-1D needs the optional package mnist1d, which is not "
                          "installed: pip install mnist1d (or 'deltaprop[mnist1d]')") from None
    settings = data_module.get_dataset_args(as_dict=True)
    unknown = sorted(set(args) - set(settings))
    if unknown:
        raise ValueError(f"unknown mnist1d arguments {unknown}; valid: {sorted(settings)}")
    settings.update(args, num_samples=int(n_samples), seed=int(seed))
    # the one place deltaprop reads NumPy's global state: to put it back afterwards
    numpy_state = np.random.get_state()  # noqa: NPY002
    python_state = random.getstate()
    try:                                       # the package reseeds the global states
        data = data_module.make_dataset(_Args(settings))
    finally:
        np.random.set_state(numpy_state)  # noqa: NPY002
        random.setstate(python_state)
    parts = {"train": [("x", "y")], "test": [("x_test", "y_test")],
             "all": [("x", "y"), ("x_test", "y_test")]}[split]
    X = np.concatenate([np.asarray(data[x], dtype=np.float64) for x, _ in parts])
    y = np.concatenate([np.asarray(data[t]).astype(np.int64) for _, t in parts])
    return Dataset(X.reshape(X.shape[0], -1), y, task="classification", classes=list(range(10)),
                   name="mnist1d", description=mnist1d.__doc__)


class _Args(dict):
    """The attribute-style argument object ``mnist1d.data.make_dataset`` reads."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None
