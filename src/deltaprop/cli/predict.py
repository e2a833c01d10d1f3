"""``deltaprop predict``: predictions of a saved model, one row per sample (CSV).

The data is a dataset name, an NPZ file, or a CSV file.  The feature columns are found by
the names the model file records: they may come in any order, a target column is not
needed (one present is left out, as are other columns), and a missing feature is an error
naming it.  A regression model's predictions are in the target's own units.

Classification prints the predicted class (by its original label) and, with ``--proba``,
the probability of each class; regression prints the predicted value(s).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys

import numpy as np

from . import CLIError
from ._common import (
    add_model_data_arguments,
    check_output_file,
    input_file,
    load_model,
    load_model_data,
    positive_int,
    prepare_features,
    saved_loss,
    user_errors,
    write_text,
)
from ._mpi import is_root, predict, predict_proba, under_mpi

EXAMPLES = """examples:
  deltaprop predict runs/digits/model.safetensors digits --limit 5
  deltaprop predict model.safetensors new.csv --target price --proba --output predictions.csv
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="predictions of a saved model", description=__doc__, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_data_arguments(parser)
    parser.add_argument("--proba", action="store_true", help="add class probabilities")
    parser.add_argument("--limit", type=positive_int, help="print only the first LIMIT rows")
    parser.add_argument("--output", metavar="FILE",
                        help="write the CSV to FILE (default: standard output); never the "
                             "model or data file, written whole or not at all")
    parser.set_defaults(run=under_mpi(run))   # mpiexec -n K: rows split


def run(args) -> int:
    if args.output is not None:               # before any work: the inputs stay untouched
        check_output_file("--output", args.output,
                          {"model file": args.model, "input data": input_file(args.data)})
    bundle = load_model(args.model)
    loss = saved_loss(bundle, args.loss)
    if args.proba and loss == "mse":
        raise CLIError("--proba needs a classification model; this one is a regression "
                       "model (loss mse), whose predictions are values, not classes")
    X = prepare_features(bundle, load_model_data(args, bundle, need_target=False))
    if args.limit is not None:
        X = X[:args.limit]
    with user_errors(f"cannot predict on {args.data!r}"):
        header, rows = _table(bundle, loss, X, args.proba)
    if args.output is None:
        _write_csv(sys.stdout, header, rows)
        return 0
    text = io.StringIO()
    _write_csv(text, header, rows)
    with user_errors("cannot write the predictions"):
        if is_root():
            write_text(args.output, text.getvalue())
    return 0


def _table(bundle, loss: str, X: np.ndarray, proba: bool) -> tuple[list[str], list[list]]:
    """The CSV header and rows: predicted values (regression) or labels, with probabilities."""
    from ..nn.losses import get_loss
    from ..training.metrics import labels_from_output

    output = predict(bundle.model, X)               # over the processes, if several
    if loss == "mse":                                  # in the target's units
        output = bundle.unscale_output(output)
        names = bundle.target_names or [f"y{i}" for i in range(output.shape[1])]
        return list(names)[:output.shape[1]], output.tolist()
    classes = bundle.classes or []
    labels = labels_from_output(output, get_loss(loss).link)
    names = [classes[i] if i < len(classes) else str(i) for i in labels]
    header, rows = ["prediction"], [[name] for name in names]
    if proba:
        probabilities = predict_proba(bundle.model, X, loss)
        if probabilities.shape[1] == 1:                  # one sigmoid output: P(class 1)
            probabilities = np.hstack([1 - probabilities, probabilities])
        header += [f"p({c})" for c in (classes or range(probabilities.shape[1]))]
        rows = [row + [f"{p:.6f}" for p in probs] for row, probs in zip(rows, probabilities)]
    return header, rows


def _write_csv(stream, header: list[str], rows: list[list]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
