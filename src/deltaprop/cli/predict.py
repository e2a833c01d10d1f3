"""``deltaprop predict``: predictions of a saved model, one row per sample (CSV).

The data is a dataset name, an NPZ file, or a CSV file: one whose columns are the model's
features (named as in training) is new rows, read whole; otherwise its last column (or
--target) is the target and is left out.

Classification prints the predicted class (by its original label) and, with ``--proba``,
the probability of each class; regression prints the predicted value(s).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys

import numpy as np

from . import CLIError
from ._common import (
    add_model_data_arguments,
    check_output_file,
    input_file,
    load_data,
    load_model,
    positive_int,
    prepare_features,
    saved_loss,
    saved_task,
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
    X = prepare_features(bundle, _rows_to_predict(args, bundle))
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


def _rows_to_predict(args, bundle):
    """The data to predict from.  A CSV file without --target whose columns are the
    model's features (by the names its file records, else by their number) is read whole:
    new rows have no target.  Anything else is read as ``evaluate`` reads it, and its
    target column is left out."""
    from ..datasets import Dataset
    from ..datasets.files import csv_columns, read_csv_features

    if args.data.lower().endswith(".csv") and args.target is None and \
            os.path.isfile(args.data):
        names = bundle.metadata.get("feature_names")
        names = names if _names_recorded(names) else None
        with user_errors(f"cannot load {args.data!r}"):
            columns = csv_columns(args.data)
            new_rows = columns == names if names else \
                len(columns) == bundle.model.in_features
            if new_rows:
                X, columns = read_csv_features(args.data)
                return Dataset(X, np.zeros(len(X)), task="regression", feature_names=columns)
        if names and len(columns) == len(names):
            raise CLIError(f"the columns of {args.data!r} ({_cut(columns)}) are not the "
                           f"model's features ({_cut(names)}): name them as in training, "
                           "or add a target column")
    return load_data(args.data, args.target, seed=args.seed, task=saved_task(bundle))


def _cut(names: list[str]) -> str:
    text = ", ".join(names)
    return text if len(text) <= 80 else text[:80] + "..."


def _names_recorded(names) -> bool:
    return isinstance(names, list) and bool(names) and all(isinstance(n, str) for n in names)


def _table(bundle, loss: str, X: np.ndarray, proba: bool) -> tuple[list[str], list[list]]:
    """The CSV header and rows: predicted values (regression) or labels, with probabilities."""
    from ..nn.losses import get_loss
    from ..training.metrics import labels_from_output

    output = predict(bundle.model, X)               # over the processes, if several
    if loss == "mse":
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
