"""Predicted against actual: how a regression model's answers sit around the diagonal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..training.metrics import r2
from ._figure import finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_predicted_vs_actual(y_true: Any, y_pred: Any, path: Any = None, *,
                             target_names: Any = None, title: str | None = None) -> Figure:
    r"""Each row's prediction against its actual value, one panel per target, with the
    diagonal :math:`\hat y = y` (a perfect model's points lie on it) and :math:`R^2`.

    Parameters
    ----------
    y_true, y_pred : arrays of shape (N,) or (N, k), in the target's units
    path : str or Path, optional
    target_names : list of k str, optional
        Named on the axes.
    title : str, optional
        Say which rows are shown (``deltaprop train --plots`` writes "test rows").
    """
    actual = np.asarray(y_true, dtype=np.float64)
    predicted = np.asarray(y_pred, dtype=np.float64)
    actual = actual.reshape(len(actual), -1)
    predicted = predicted.reshape(len(predicted), -1)
    if actual.shape != predicted.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {actual.shape} and "
                         f"{predicted.shape}")
    if not actual.size:
        raise ValueError("y_true is empty: nothing to plot")
    k = actual.shape[1]
    names = [str(name) for name in target_names] if target_names is not None else \
        ([""] if k == 1 else [f"y{i}" for i in range(k)])
    if len(names) != k:
        raise ValueError(f"target_names must name the {k} target(s), got {len(names)}")
    fig, axes = new_figure(k, width=4.2, height=4.0)
    for ax, column, name in zip(axes, range(k), names):
        a, p = actual[:, column], predicted[:, column]
        low, high = float(min(a.min(), p.min())), float(max(a.max(), p.max()))
        ax.plot([low, high], [low, high], color="grey", ls="--", lw=1, label="predicted = actual")
        ax.scatter(a, p, s=12, alpha=0.7, color="#1f77b4", label=f"R² {r2(a, p):.3f}")
        ax.set_xlabel(f"actual {name}".strip())
        ax.set_ylabel(f"predicted {name}".strip())
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, loc="upper left")
    fig.suptitle(title or "predicted against actual")
    return finish(fig, path)
