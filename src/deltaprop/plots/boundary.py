"""The 2-D decision boundary with the data, as TensorFlow Playground shows it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_integer, check_number
from ..nn._backend import to_numpy
from ..nn.activations import Sigmoid, Softmax
from ..nn.functional import apply_link
from ..nn.losses import get_loss
from ..training.evaluation import predict
from ._figure import finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# TensorFlow Playground's colours: orange (class 0), blue (class 1), light grey in between
PLAYGROUND = ("#f59322", "#e8eaeb", "#0877bd")
CLASS_COLORS = ("#e8871e", "#2f6eb5", "#3a9a4a", "#c23b3b", "#7e57c2", "#8d6e63", "#d81b60")


def class_probabilities(model: Any, X: np.ndarray, loss: Any = None) -> np.ndarray:
    """``(N, C)`` class probabilities from a deltaprop model or anything with ``predict_proba``.

    For a deltaprop ``Sequential`` the link is the ``loss``'s (softmax / sigmoid), or, with
    ``loss=None``: none when the model ends in ``Softmax`` / ``Sigmoid``, sigmoid for one
    output, softmax for several (logits, as ``mlp(..., output=None)`` gives).
    """
    if hasattr(model, "predict_proba") and not hasattr(model, "dense_layers"):
        return np.asarray(model.predict_proba(X))
    output = to_numpy(predict(model, X)).astype(np.float64)
    last = model.layers[-1]
    link = get_loss(loss).link if loss is not None else (
        None if isinstance(last, (Softmax, Sigmoid)) else
        "sigmoid" if output.shape[1] == 1 else "softmax")
    output = apply_link(np, link, output)
    if output.shape[1] == 1:                                  # P(class 1) -> [P0, P1]
        output = np.hstack([1 - output, output])
    return output


def plot_decision_boundary(model: Any, X: Any, y: Any, path: Any = None, *, loss: Any = None,
                           resolution: int = 200, margin: float = 0.5,
                           title: str | None = None) -> Figure:
    """Filled map of the predicted class over the plane, with the data on top.

    Two classes: the colour is P(class 1) (orange → white → blue, as TensorFlow Playground),
    with the 0.5 contour drawn.  More classes: each region takes its class's colour, paler
    where the model is less sure.

    Parameters
    ----------
    model : Sequential or estimator with ``predict_proba`` (2 input features)
    X : array (N, 2)
    y : array (N,) of integer labels 0..C-1 (or the estimator's ``classes_``)
    path : str or Path, optional
    loss : loss name/instance, optional
        Tells how the model's outputs become probabilities (see :func:`class_probabilities`).
    resolution : int
        Grid points per axis, an integer >= 2.
    margin : float
        Space around the data, a finite number >= 0.

    A bad ``resolution`` or ``margin`` raises :class:`~deltaprop.InvalidParameterError`.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs X of shape (N, 2), got {X.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y must have the same number of rows, got {X.shape[0]} and "
                         f"{y.shape[0]}")
    resolution = check_integer("plot_decision_boundary", "resolution", resolution, low=2)
    margin = check_number("plot_decision_boundary", "margin", margin, low=0.0)
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(low[0], high[0], resolution),
                         np.linspace(low[1], high[1], resolution))
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    proba = class_probabilities(model, grid.astype(_input_dtype(model)), loss)
    labels = np.unique(y) if not hasattr(model, "classes_") else np.asarray(model.classes_)
    codes = np.searchsorted(labels, y)

    fig, (ax,) = new_figure(1, width=5.2, height=4.6)
    grid_shape, extent = xx.shape, (low[0], high[0], low[1], high[1])
    if proba.shape[1] == 2:
        colors = _two_classes(fig, ax, xx, yy, proba[:, 1].reshape(grid_shape), labels, codes)
    else:
        colors = _many_classes(ax, xx, yy, proba, codes, extent)
    ax.scatter(X[:, 0], X[:, 1], c=colors, s=20, edgecolors="#333333", linewidths=0.5)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title or "decision boundary")
    return finish(fig, path)


def _two_classes(fig, ax, xx, yy, p1, labels, codes):
    """P(class 1) filled from orange to blue with its 0.5 contour; returns the points' colours."""
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("playground", PLAYGROUND)
    filled = ax.contourf(xx, yy, p1, levels=np.linspace(0, 1, 11), cmap=cmap, alpha=0.55)
    ax.contour(xx, yy, p1, levels=[0.5], colors="k", linewidths=1.2)
    fig.colorbar(filled, ax=ax, label=f"P(class {labels[-1]})")
    return np.where(codes == 1, PLAYGROUND[2], PLAYGROUND[0])


def _many_classes(ax, xx, yy, proba, codes, extent):
    """Each region in its class's colour, paler where the model is less sure, with the
    borders drawn; returns the points' colours."""
    from matplotlib.colors import ListedColormap, to_rgb

    n_classes = proba.shape[1]
    palette = [CLASS_COLORS[i % len(CLASS_COLORS)] for i in range(n_classes)]
    predicted = proba.argmax(axis=1)
    confidence = (proba.max(axis=1) - 1 / n_classes) / (1 - 1 / n_classes)  # 0 .. 1
    rgb = np.array([to_rgb(c) for c in palette])[predicted]
    shade = 0.2 + 0.35 * confidence[:, None]             # pale; paler where less sure
    image = (1 - shade) * 1.0 + shade * rgb
    ax.imshow(image.reshape(*xx.shape, 3), origin="lower", aspect="auto", extent=extent,
              interpolation="bilinear")
    ax.contour(xx, yy, predicted.reshape(xx.shape), levels=np.arange(n_classes) + 0.5,
               colors="k", linewidths=0.8)
    return ListedColormap(palette)(codes)


def _input_dtype(model: Any):
    return model.dtype if hasattr(model, "dense_layers") else np.float64
