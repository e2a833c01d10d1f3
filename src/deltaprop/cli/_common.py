"""Pieces shared by the practitioner subcommands: flag parsing, data and model loading.

Every user mistake becomes a :class:`~deltaprop.cli.CLIError` here, at the boundary, so a
subcommand prints one line and exits with code 2 instead of a traceback.
"""

from __future__ import annotations

import argparse
import inspect
import os
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import CLIError


@contextmanager
def user_errors(what: str):
    """Turn the library's ValueError / TypeError / OSError into a one-line ``CLIError``."""
    try:
        yield
    except CLIError:
        raise
    except FileNotFoundError as error:
        raise CLIError(f"{what}: no such file: {error.filename}") from None
    except (ValueError, TypeError, KeyError, OSError, ImportError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        raise CLIError(f"{what}: {message}") from None


def int_list(text: str) -> list[int]:
    """``"64,32"`` -> ``[64, 32]`` (argparse type); every width must be >= 1."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 64,32, got {text!r}") from None
    if any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"layer widths must be >= 1, got {text!r}")
    return values


def _number_type(convert, rule: str, accept):
    """An argparse ``type=``: ``convert`` the text, then require ``accept(value)``."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not np.isfinite(value) or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {rule}, got {text!r}")
        return value
    return parse


positive_int = _number_type(int, "an integer >= 1", lambda value: value >= 1)
fraction = _number_type(float, "a number in [0, 1)", lambda value: 0 <= value < 1)
non_negative = _number_type(float, "a finite number >= 0", lambda value: value >= 0)


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="a dataset name (see 'deltaprop datasets') or a .csv/.npz "
                                     "file")
    parser.add_argument("--target", help="the target column of a CSV file (default: the last)")


def add_model_data_arguments(parser: argparse.ArgumentParser) -> None:
    """MODEL DATA [--target] [--seed] [--loss]: what ``evaluate`` and ``predict`` share."""
    parser.add_argument("model", help="a model file written by 'deltaprop train --out'")
    add_data_arguments(parser)
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of a generated toy dataset (default: 0, as in train)")
    parser.add_argument("--loss", choices=["cross_entropy", "bce_with_logits", "bce", "mse"],
                        help="the loss, when the model file does not record it")


def load_data(name: str, target: str | None = None, seed: int | None = None):
    """A :class:`~deltaprop.datasets.Dataset` from a name or a file path."""
    from .. import datasets

    options: dict[str, Any] = {}
    if target is not None:
        if not name.lower().endswith(".csv"):
            raise CLIError(f"--target applies to CSV files only, not {name!r}")
        options["target"] = target
    elif name in datasets.REGISTRY and seed is not None and \
            "seed" in inspect.signature(datasets.REGISTRY[name]).parameters:
        options["seed"] = seed                      # toy generators: reproducible data
    if name not in datasets.REGISTRY and not os.path.exists(name) and \
            name.lower().endswith((".csv", ".npz")):
        raise CLIError(f"data file not found: {name}")
    with user_errors(f"cannot load {name!r}"):
        return datasets.load(name, **options)


def load_model(path: str):
    """The :class:`~deltaprop.io.ModelBundle` saved at ``path`` (model, scaling, metadata)."""
    from .. import io

    if not os.path.exists(path):
        raise CLIError(f"model file not found: {path}")
    with user_errors(f"cannot load model {path!r}"):
        return io.load_bundle(path)


def prepare_features(bundle, X: np.ndarray) -> np.ndarray:
    """Apply the scaling saved with the model, and check the width."""
    model = bundle.model
    if X.shape[1] != model.in_features:
        raise CLIError(f"the data has {X.shape[1]} features per row but the model expects "
                       f"{model.in_features}")
    return bundle.preprocessing.transform(X) if bundle.preprocessing is not None else X


def format_scores(scores: dict[str, float]) -> str:
    return "  ".join(f"{key} {value:.4f}" for key, value in scores.items())
