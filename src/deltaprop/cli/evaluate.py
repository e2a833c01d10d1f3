"""``deltaprop evaluate``: the loss and metric of a saved model on a dataset or file.

The scaling saved with the model is applied first; the loss and task come from the model
file's metadata (written by ``deltaprop train``), or from ``--loss``.  The feature columns
are found by the names the model file records (in any order); the target is --target, else
the column the model was trained on, else the last column that is not a feature.  A
regression model's scores are in the target's own units.
"""

from __future__ import annotations

import argparse

import numpy as np

from . import CLIError
from ._common import (
    add_model_data_arguments,
    format_scores,
    load_model,
    load_model_data,
    prepare_features,
    saved_loss,
)
from ._mpi import evaluate, under_mpi

EXAMPLES = """examples:
  deltaprop train digits --out runs/digits
  deltaprop evaluate runs/digits/model.safetensors digits
  deltaprop evaluate model.safetensors data.csv --target price
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="loss and metric of a saved model on data", description=__doc__,
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_data_arguments(parser)
    parser.set_defaults(run=under_mpi(run))   # mpiexec -n K: rows split



def model_labels(bundle, data) -> np.ndarray:
    """The data's targets, with class labels numbered as the model numbers them.

    A file's labels are numbered in sorted order of the labels *it* holds: a file with
    only "dog" and "fish" numbers them 0 and 1, while a model trained on "cat", "dog",
    "fish" calls them 1 and 2.  The class names the model file records translate them.
    Integer labels none of which the model names are taken as the class numbers
    themselves (a model whose names are others, as an API caller may record); a label
    the model does not know among ones it does is an error.
    """
    if data.task != "classification" or not bundle.classes:
        return data.y
    index = {name: i for i, name in enumerate(bundle.classes)}
    unknown = [str(label) for label in data.classes if str(label) not in index]
    if not unknown:
        return np.array([index[str(label)] for label in data.classes])[data.y]
    if len(unknown) == len(data.classes) and \
            all(isinstance(label, (int, np.integer)) for label in data.classes):
        return np.array(data.classes, dtype=np.int64)[data.y]
    raise CLIError(f"the data holds the class {unknown[0]!r}, which the model does not "
                   f"know (its classes: {', '.join(bundle.classes)})")


def run(args) -> int:
    bundle = load_model(args.model)
    loss = saved_loss(bundle, args.loss)
    data = load_model_data(args, bundle, need_target=True)
    X = prepare_features(bundle, data)
    y = model_labels(bundle, data)
    y = y.astype(np.float64) if loss in ("bce", "bce_with_logits", "mse") else y
    try:
        scaler = bundle.target_preprocessing if loss == "mse" else None   # in y's units
        scores = evaluate(bundle.model, X, y, loss, scaler)   # over the processes, if several
    except (ValueError, TypeError) as error:
        raise CLIError(f"cannot evaluate on {args.data!r}: {error}") from None
    print(f"{args.data}: {data.n_samples} rows  {format_scores(scores)}")
    return 0
