"""The lazy matplotlib import (Agg backend) and the save-and-return step every plot shares."""

from __future__ import annotations

import os
from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend, or a clear ImportError."""
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("deltaprop.plots needs matplotlib: pip install 'deltaprop[plot]'") \
            from error
    matplotlib.use("Agg", force=False)   # no window, no display needed (CI, servers)
    import matplotlib.pyplot as plt

    return plt


def new_figure(n_axes: int = 1, *, width: float = 5.0, height: float = 3.6,
               ncols: int | None = None):
    """A figure with ``n_axes`` axes in one row (or ``ncols`` columns); returns (fig, axes list)."""
    plt = pyplot()
    ncols = n_axes if ncols is None else ncols
    nrows = -(-n_axes // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False, layout="constrained")
    flat = list(axes.ravel())
    for extra in flat[n_axes:]:
        extra.set_visible(False)
    return fig, flat[:n_axes]


def finish(fig, path: Any = None, *, dpi: int = 100):
    """Save ``fig`` to ``path`` (PNG, SVG, PDF by extension) when given; return the figure.

    The figure is detached from pyplot's registry, so many plots do not pile up in memory.
    """
    plt = pyplot()
    if path is not None:
        path = os.fspath(path)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return fig
