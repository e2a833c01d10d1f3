"""What a checkpoint file holds: its format name and version, its metadata fields, the keys
of its ``state`` field, the slots each built-in optimiser keeps per parameter, and
:func:`_plain`, which turns the training state into JSON-ready values (package-private).
"""

from __future__ import annotations

from typing import Any

import numpy as np

FORMAT = "deltaprop-checkpoint"
FORMAT_VERSION = 2
FIELDS = ("format", "format_version", "deltaprop_version", "state", "checksum")
FILE_NAME = "checkpoint.safetensors"
STATE_KEYS = {"epoch", "stopped", "architecture", "rng", "dropout_rng", "optimizer", "schedule",
              "history", "early_stopping"}
# the per-parameter state of the built-in optimisers: slot -> "array" (parameter-shaped) or
# "count"; a slot holds all of them (after a step) or none
OPTIMIZER_SLOTS = {"SGD": {"velocity": "array"},
                   "Adam": {"step": "count", "m": "array", "v": "array"},
                   "AdamW": {"step": "count", "m": "array", "v": "array"}}


def _plain(value: Any) -> Any:
    """JSON-ready copy: arrays to lists, NumPy scalars to Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
