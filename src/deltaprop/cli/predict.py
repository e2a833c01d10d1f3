"""``deltaprop predict``: predictions of a saved model, one row per sample (CSV).

Classification prints the predicted class (by its original label) and, with ``--proba``,
the probability of each class; regression prints the predicted value(s).
"""

from __future__ import annotations

import argparse
import csv
import sys

import numpy as np

from ._common import (
    add_model_data_arguments,
    load_data,
    load_model,
    prepare_features,
    user_errors,
)
from .evaluate import saved_loss

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
    parser.add_argument("--limit", type=int, help="print only the first LIMIT rows")
    parser.add_argument("--output", metavar="FILE", help="write the CSV to FILE (default: "
                                                         "standard output)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..losses import get_loss
    from ..metrics import labels_from_output
    from ..training import predict, predict_proba

    bundle = load_model(args.model)
    loss = saved_loss(bundle, args.loss)
    data = load_data(args.data, args.target, seed=args.seed)
    X = prepare_features(bundle, data.X)
    if args.limit is not None:
        X = X[:max(args.limit, 0)]
    output = np.asarray(predict(bundle.model, X))
    header: list[str]
    if loss == "mse":
        names = bundle.metadata.get("target_names") or [f"y{i}" for i in range(output.shape[1])]
        header, rows = list(names)[:output.shape[1]], output.tolist()
    else:
        classes = bundle.metadata.get("classes") or []
        labels = labels_from_output(output, get_loss(loss).link)
        names = [classes[i] if i < len(classes) else str(i) for i in labels]
        header, rows = ["prediction"], [[name] for name in names]
        if args.proba:
            proba = np.asarray(predict_proba(bundle.model, X, loss))
            if proba.shape[1] == 1:                       # one sigmoid output: P(class 1)
                proba = np.hstack([1 - proba, proba])
            header += [f"p({c})" for c in (classes or range(proba.shape[1]))]
            rows = [row + [f"{p:.6f}" for p in probs] for row, probs in zip(rows, proba)]
    with user_errors("cannot write the predictions"):
        stream = open(args.output, "w", newline="") if args.output else sys.stdout
        try:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        finally:
            if args.output:
                stream.close()
    return 0
