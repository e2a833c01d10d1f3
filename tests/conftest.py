"""The suite's fixtures and options: a seeded ``rng`` fixture for every test (no global
state) and ``--without-numba``.  Plain helper functions (central differences, the PyTorch
mirror) live in ``helpers.py``: a module named ``conftest`` is ambiguous once a subfolder has
its own conftest (``tests/playground``), so tests import ``from helpers import ...``."""

from __future__ import annotations

import numpy as np
import pytest


def pytest_addoption(parser) -> None:
    parser.addoption("--without-numba", action="store_true",
                     help="run as if numba were not installed (the NumPy reference path)")


def pytest_configure(config) -> None:
    """``--without-numba``: numba made unimportable before any test imports deltaprop."""
    if config.getoption("--without-numba"):
        import sys

        sys.modules["numba"] = None  # type: ignore[assignment]  # import numba -> ImportError


@pytest.fixture
def rng() -> np.random.Generator:
    """A NumPy generator seeded the same way in every test."""
    return np.random.default_rng(1234)
