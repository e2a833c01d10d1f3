"""Inside the network: per-layer gradient norms and activation statistics across epochs,
weight histograms, and the confusion matrix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..nn._backend import to_numpy
from ..training.metrics import confusion_matrix
from ._figure import finish, new_figure
from .stats import LayerStats

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_layer_stats(stats: LayerStats, path: Any = None, *,
                     title: str | None = None) -> Figure:
    """Three panels across epochs, one line per layer:

    1. ``‖∂L/∂W⁽ˡ⁾‖`` on a log scale: lines falling apart by orders of magnitude towards the
       input mean vanishing gradients; growing lines, exploding ones;
    2. the fraction of dead ReLU units (never active during the epoch);
    3. the fraction of saturated sigmoid / tanh activations.

    Panels 2 and 3 say "no ReLU layers" / "no sigmoid or tanh layers" when nothing applies.
    """
    if not isinstance(stats, LayerStats):
        raise TypeError(f"plot_layer_stats expects a LayerStats callback that was passed to "
                        f"fit, got {type(stats).__name__}")
    if not stats.epochs:
        raise ValueError("LayerStats holds no epochs: pass it to fit(callbacks=[...]) first")
    fig, axes = new_figure(3, width=4.4, height=3.5)
    epochs = stats.epochs
    panels = [("grad_norm", "gradient norm ‖∂L/∂W‖", "no layers"),
              ("dead", "dead ReLU units (fraction)", "no ReLU layers"),
              ("saturated", "saturated activations (fraction)", "no sigmoid or tanh layers")]
    for ax, (name, label, empty) in zip(axes, panels):
        values = stats.array(name)
        drawn = 0
        for j, layer in enumerate(stats.layers):
            if np.all(np.isnan(values[:, j])):
                continue
            ax.plot(epochs, values[:, j], marker="o" if len(epochs) < 30 else None,
                    ms=3, lw=1.8, label=layer, color=f"C{j}")
            drawn += 1
        if name == "grad_norm" and drawn and np.all(values[np.isfinite(values)] > 0):
            ax.set_yscale("log")
        elif name != "grad_norm":
            ax.set_ylim(-0.03, 1.03)
        if not drawn:
            ax.text(0.5, 0.5, empty, ha="center", va="center", transform=ax.transAxes,
                    color="grey")
            if len(epochs) > 1:
                ax.set_xlim(epochs[0], epochs[-1])      # same epoch axis as the other panels
        else:
            ax.legend(frameon=False, fontsize=8)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(label.split(" (")[0])
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return finish(fig, path)


def plot_weight_histograms(model: Any, path: Any = None, *, bins: int = 40,
                           title: str | None = None) -> Figure:
    """One histogram of ``W⁽ˡ⁾``'s entries per ``Dense`` layer, with its mean and std."""
    dense = getattr(model, "dense_layers", None)
    if not dense:
        raise TypeError(f"plot_weight_histograms expects a deltaprop Sequential, "
                        f"got {type(model).__name__}")
    fig, axes = new_figure(len(dense), width=3.6, height=3.0, ncols=min(len(dense), 4))
    for index, (ax, layer) in enumerate(zip(axes, dense), start=1):
        weights = to_numpy(layer.params["weight"]).ravel().astype(np.float64)
        ax.hist(weights, bins=bins, color=f"C{index - 1}", alpha=0.85)
        ax.set_title(f"layer {index}: W ({layer.out_features}×{layer.in_features})")
        ax.set_xlabel("weight value")
        ax.set_ylabel("count")
        ax.text(0.02, 0.95, f"mean {weights.mean():+.3f}\nstd {weights.std():.3f}",
                transform=ax.transAxes, va="top", fontsize=8)
    if title:
        fig.suptitle(title)
    return finish(fig, path)


def plot_confusion_matrix(y_true: Any, y_pred: Any, path: Any = None, *, labels: Any = None,
                          normalize: bool = False, title: str | None = None) -> Figure:
    """The confusion matrix (rows: true class, columns: predicted), counts in the cells.

    ``normalize=True`` divides each row by its total (per-class recall on the diagonal).
    ``labels`` names the classes 0..C-1 on the axes.
    """
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred).reshape(-1)
    n_classes = int(max(y_true.max(), y_pred.max())) + 1 if labels is None else len(labels)
    matrix = confusion_matrix(y_true, y_pred, n_classes=n_classes).astype(np.float64)
    if normalize:
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    names = [str(label) for label in (labels if labels is not None else range(n_classes))]
    size = 1.8 + 0.45 * n_classes
    fig, (ax,) = new_figure(1, width=size + 1.0, height=size)
    image = ax.imshow(matrix, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, fraction=0.046)
    threshold = matrix.max() / 2
    for i in range(n_classes):
        for j in range(n_classes):
            text = f"{matrix[i, j]:.2f}" if normalize else f"{int(matrix[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=9,
                    color="white" if matrix[i, j] > threshold else "black")
    ax.set_xticks(range(n_classes), names)
    ax.set_yticks(range(n_classes), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or ("confusion matrix (row-normalised)" if normalize
                           else "confusion matrix"))
    return finish(fig, path)
