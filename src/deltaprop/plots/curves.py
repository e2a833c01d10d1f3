"""Loss and metric curves (train and validation) from a ``History``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..training.callbacks import History
from ._figure import finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_METRICS = ("accuracy", "r2", "mse")
TRAIN_STYLE = {"color": "#1f77b4", "lw": 2}
VAL_STYLE = {"color": "#ff7f0e", "lw": 2, "ls": "--"}


def plot_history(history: Any, path: Any = None, *, title: str | None = None) -> Figure:
    """Loss per epoch (left) and the metric per epoch (right, when logged), train and validation.

    Parameters
    ----------
    history : History, dict from ``History.to_dict()``, or an object with ``loss_curve_``
        (a fitted :class:`deltaprop.sklearn.MLPClassifier` / ``MLPRegressor``).
    path : str or Path, optional
        Where to save the image.

    Returns the matplotlib Figure; a vertical dotted line marks the best epoch early stopping
    kept.
    """
    logs, epochs, best = _as_logs(history)
    metric = next((m for m in _METRICS if m in logs), None)
    fig, axes = new_figure(2 if metric else 1)
    panels = [("loss", "loss")] + ([(metric, metric)] if metric else [])
    for ax, (key, label) in zip(axes, panels):
        ax.plot(epochs, logs[key], label=f"train {label}", **TRAIN_STYLE)
        if f"val_{key}" in logs:
            ax.plot(epochs, logs[f"val_{key}"], label=f"validation {label}", **VAL_STYLE)
        if best is not None:
            ax.axvline(best, color="grey", ls=":", lw=1, label=f"best epoch ({best})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(f"{label}: training" + (" and validation" if f"val_{key}" in logs
                                             else "") + " rows")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
    if key == "loss" and min(logs["loss"]) > 0 and max(logs["loss"]) / min(logs["loss"]) > 50:
        axes[0].set_yscale("log")
    if title:
        fig.suptitle(title)
    return finish(fig, path)


def _as_logs(history: Any):
    if isinstance(history, History):
        return history.history, list(history.epochs), history.best_epoch
    if isinstance(history, dict) and "history" in history:
        return history["history"], list(history["epochs"]), history.get("best_epoch")
    if hasattr(history, "loss_curve_"):
        logs = {"loss": list(history.loss_curve_)}
        if getattr(history, "validation_loss_curve_", None):
            logs["val_loss"] = list(history.validation_loss_curve_)
        return logs, list(range(1, len(logs["loss"]) + 1)), None
    raise TypeError("plot_history expects a History, History.to_dict() or a fitted estimator "
                    f"with loss_curve_, got {type(history).__name__}")
