"""The Keras-style table of ``Sequential.summary``:
the layers, their output shapes and parameter counts, the totals and their size in memory."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._backend import dtype_name
from .layers import Dense

if TYPE_CHECKING:
    from .model import Sequential


def summary_table(model: Sequential) -> str:
    """``model.summary()``'s text (see :meth:`Sequential.summary`)."""
    rows = [("#", "Layer (type)", "Output Shape", "Param #")]
    width = model.in_features
    for position, layer in enumerate(model.layers):
        if isinstance(layer, Dense):
            width = layer.out_features
        count = sum(int(np.prod(value.shape)) for value in layer.params.values())
        rows.append((str(position), repr(layer), f"(N, {width})", f"{count:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    widths[1] += 3                                        # Keras's roomy columns
    lines = [" " + "  ".join(cell.rjust(w) if i in (0, 3) else cell.ljust(w)
                             for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    rule = max(len(line) for line in lines)
    dtype = dtype_name(model.dense_layers[0].params["weight"])
    size = model.n_params * np.dtype(dtype).itemsize
    return "\n".join([f"Model: Sequential, input (N, {model.in_features}), {dtype}",
                      "_" * rule, lines[0], "=" * rule, *lines[1:], "=" * rule,
                      f"Total params: {model.n_params:,} ({_bytes(size)})",
                      f"Trainable params: {model.n_params:,}", "Non-trainable params: 0",
                      "_" * rule])


def _bytes(size: int) -> str:
    """``396 B``, ``18.8 KB``, ``1.2 MB``: a size in memory, as Keras shows it."""
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:,} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GB"
