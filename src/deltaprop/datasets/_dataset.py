"""The ``Dataset`` record every loader returns."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TASKS = ("classification", "regression")


@dataclass
class Dataset:
    """Features, targets and what they mean.

    Attributes
    ----------
    X : ndarray of shape (N, n_features), float64
    y : ndarray of shape (N,) or (N, k)
        Integer labels ``0..K-1`` (classification) or real targets (regression).
    task : "classification" or "regression"
    feature_names : list of str
    classes : list
        The original label of each class index (``classes[y[i]]``); empty for regression.
    target_names : list of str
        The target column name(s) (regression) or the class names as text (classification).
    name, description : str

    ``X, y = dataset`` unpacks the arrays.
    """

    X: np.ndarray
    y: np.ndarray
    task: str = "classification"
    feature_names: list[str] = field(default_factory=list)
    classes: list[Any] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)
    name: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"Dataset task must be one of {TASKS}, got {self.task!r}")
        self.X = np.asarray(self.X, dtype=np.float64)
        self.y = np.asarray(self.y)
        if self.X.ndim != 2:
            raise ValueError(f"Dataset X must be 2-D (N, features), got shape {self.X.shape}")
        if self.y.shape[:1] != self.X.shape[:1]:
            raise ValueError(f"Dataset X and y must have the same number of rows, got "
                             f"{self.X.shape[0]} and {self.y.shape[0] if self.y.ndim else 0}")
        if not self.feature_names:
            self.feature_names = [f"x{i + 1}" for i in range(self.X.shape[1])]
        if len(self.feature_names) != self.X.shape[1]:
            raise ValueError(f"Dataset has {self.X.shape[1]} features but "
                             f"{len(self.feature_names)} feature_names")
        if self.task == "classification":
            self.y = self.y.astype(np.int64)
            if not self.classes:
                self.classes = list(range(int(self.y.max()) + 1)) if self.y.size else []
            if not self.target_names:
                self.target_names = [str(label) for label in self.classes]
        else:
            self.y = self.y.astype(np.float64)
        self.description = _first_paragraph(self.description)

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.X, self.y))

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_outputs(self) -> int:
        """Output width a model needs: the number of classes (1 for two classes is also
        fine with a sigmoid), or the number of regression targets."""
        if self.task == "classification":
            return len(self.classes)
        return 1 if self.y.ndim == 1 else int(self.y.shape[1])

    def __repr__(self) -> str:
        extra = f", classes={len(self.classes)}" if self.task == "classification" else ""
        return (f"Dataset(name={self.name!r}, task={self.task!r}, X={self.X.shape}, "
                f"y={self.y.shape}{extra})")


def _first_paragraph(text: str | None) -> str:
    """A docstring's first paragraph on one line (what ``available()`` lists)."""
    if not text:
        return ""
    paragraph = inspect.cleandoc(text).split("\n\n")[0]
    return " ".join(paragraph.split())
