"""``deltaprop train``: train an MLP on a named dataset or a CSV/NPZ file.

The data is split into train and test parts (stratified for classification), standardised
with statistics of the training part only (saved with the model), and trained with a
validation split; a one-screen summary ends the run.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from . import CLIError
from ._common import (
    add_data_arguments,
    format_scores,
    fraction,
    int_list,
    load_data,
    non_negative,
    positive_int,
    user_errors,
)

EXAMPLES = """examples:
  deltaprop train digits --layers 64 --epochs 30 --out runs/digits
  deltaprop train moons --layers 16,16 --activation tanh --optimizer adam --lr 0.01 \\
      --plots --out runs/moons
  deltaprop train data.csv --target price --layers 32 --early-stopping 10
"""

DEFAULT_LR = {"sgd": 0.05, "adam": 0.001, "adamw": 0.001}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train an MLP on a dataset or a CSV/NPZ file", description=__doc__,
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--task", choices=["classification", "regression"],
                        help="override the task a CSV/NPZ file is read as")
    parser.add_argument("--layers", type=int_list, default=[64],
                        help="hidden layer widths, comma-separated (default: 64)")
    parser.add_argument("--activation", default="relu", help="hidden activation (default: relu)")
    parser.add_argument("--loss", choices=["cross_entropy", "bce_with_logits", "bce", "mse"],
                        help="loss (default: cross_entropy for classification, mse for "
                             "regression)")
    parser.add_argument("--optimizer", choices=sorted(DEFAULT_LR), default="sgd")
    parser.add_argument("--lr", type=non_negative,
                        help="learning rate (default: 0.05 for sgd, 0.001 for adam/adamw)")
    parser.add_argument("--momentum", type=fraction, default=0.9,
                        help="SGD momentum in [0, 1) (default: %(default)s)")
    parser.add_argument("--weight-decay", type=non_negative, default=0.0,
                        help="L2 (sgd, adam) or decoupled (adamw) weight decay")
    parser.add_argument("--epochs", type=positive_int, default=30)
    parser.add_argument("--batch-size", type=positive_int, default=32,
                        help="rows per step (default: %(default)s)")
    parser.add_argument("--val-split", type=fraction, default=0.1,
                        help="fraction of the training rows used for validation")
    parser.add_argument("--test-split", type=fraction, default=0.2,
                        help="fraction of all rows held out for the final test")
    parser.add_argument("--early-stopping", type=positive_int, metavar="PATIENCE",
                        help="stop after PATIENCE epochs without a better validation loss "
                             "and restore the best weights")
    parser.add_argument("--seed", type=int, default=0, help="one seed for data, weights, "
                                                             "shuffling (default: 0)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--no-standardize", action="store_true",
                        help="train on the raw features")
    parser.add_argument("--out", metavar="DIR", help="write model.safetensors, history.json "
                                                     "(and plots) to DIR")
    parser.add_argument("--plots", action="store_true", help="write PNG plots to --out DIR")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    parser.set_defaults(run=run)


def _loss_and_outputs(args, data) -> tuple[str, int, str | None]:
    """The loss name, the number of outputs and the output activation for the task."""
    loss = args.loss or ("cross_entropy" if data.task == "classification" else "mse")
    if loss in ("bce", "bce_with_logits"):
        if data.task != "classification" or data.n_outputs > 2:
            raise CLIError(f"--loss {loss} needs a two-class classification task, "
                           f"got {data.task} with {data.n_outputs} classes")
        return loss, 1, "sigmoid" if loss == "bce" else None
    if loss == "cross_entropy" and data.task != "classification":
        raise CLIError("--loss cross_entropy needs a classification task (integer labels)")
    if loss == "mse" and data.task == "classification":
        raise CLIError("--loss mse needs a regression task; use --task regression for "
                       "numeric targets")
    return loss, data.n_outputs, None


def run(args) -> int:
    import deltaprop as dp

    from ..preprocessing import Standardizer, train_test_split
    from ..progress import ProgressBar

    if args.plots and not args.out:
        raise CLIError("--plots needs --out DIR to write the images to")
    data = load_data(args.data, args.target, seed=args.seed)
    if args.task and args.task != data.task:
        data = load_data_as(args, args.task)
    loss, n_out, output = _loss_and_outputs(args, data)
    classification = data.task == "classification"
    with user_errors("cannot split the data"):
        X_train, X_test, y_train, y_test = train_test_split(
            data.X, data.y, test_size=args.test_split or 0.2, seed=args.seed,
            stratify=classification)
    scaler = None if args.no_standardize else Standardizer().fit(X_train)
    if scaler is not None:
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    with user_errors("bad model settings"):
        model = dp.mlp([data.n_features, *args.layers, n_out], activation=args.activation,
                       output=output, seed=args.seed, dtype=args.dtype)
        lr = DEFAULT_LR[args.optimizer] if args.lr is None else args.lr
        settings = {"lr": lr, "weight_decay": args.weight_decay}
        if args.optimizer == "sgd":
            settings["momentum"] = args.momentum
        optimizer = dp.optim.get_optimizer(args.optimizer, model, **settings)
    callbacks = [ProgressBar(quiet=args.quiet)]
    stats = None
    if args.plots:
        from ..plots import LayerStats

        stats = LayerStats()
        callbacks.append(stats)
    y_fit = y_train.astype(np.float64) if loss in ("bce", "bce_with_logits") else y_train
    with user_errors("training failed"):
        history = dp.fit(model, X_train, y_fit, loss=loss, optimizer=optimizer,
                         epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                         validation_split=args.val_split, early_stopping=args.early_stopping,
                         callbacks=callbacks)
    y_eval = y_test.astype(np.float64) if loss in ("bce", "bce_with_logits") else y_test
    test_scores = dp.evaluate(model, X_test, y_eval, loss=loss)

    written = []
    if args.out:
        written = _write_outputs(args, model, history, scaler, data, loss, stats,
                                 (X_test, y_test), test_scores)
    print(_summary(model, history, test_scores, data, loss, written))
    return 0


def load_data_as(args, task: str):
    """Reload a CSV/NPZ file with an explicit task (``--task``)."""
    from .. import datasets

    if not args.data.lower().endswith((".csv", ".npz")):
        raise CLIError(f"--task applies to CSV/NPZ files; {args.data!r} is a {task} dataset "
                       "already or a fixed one")
    options = {"task": task} | ({"target": args.target} if args.target else {})
    with user_errors(f"cannot load {args.data!r}"):
        return datasets.load(args.data, **options)


def _write_outputs(args, model, history, scaler, data, loss, stats, test, test_scores):
    from .. import io

    out = Path(args.out)
    with user_errors(f"cannot write to {out}"):
        out.mkdir(parents=True, exist_ok=True)
        metadata = {"task": data.task, "loss": loss, "dataset": data.name or args.data,
                    "feature_names": data.feature_names, "classes": [str(c) for c in
                                                                     data.classes],
                    "target_names": data.target_names, "test": test_scores}
        written = [io.save(model, out / "model.safetensors", preprocessing=scaler,
                           metadata=metadata)]
        (out / "history.json").write_text(json.dumps(history.to_dict(), indent=2) + "\n")
        written.append(out / "history.json")
        if args.plots:
            written += _write_plots(out, model, history, stats, data, loss, test)
    return [os.fspath(path) for path in written]


def _write_plots(out: Path, model, history, stats, data, loss, test):
    from .. import plots
    from ..training import predict_classes

    paths = [out / "curves.png", out / "layer_stats.png", out / "weights.png"]
    plots.plot_history(history, paths[0])
    plots.plot_layer_stats(stats, paths[1])
    plots.plot_weight_histograms(model, paths[2])
    X_test, y_test = test
    if data.task == "classification":
        paths.append(out / "confusion.png")
        plots.plot_confusion_matrix(y_test, predict_classes(model, X_test, loss), paths[-1],
                                    labels=data.target_names)
        if data.n_features == 2:
            paths.append(out / "decision_boundary.png")
            plots.plot_decision_boundary(model, X_test, y_test, paths[-1], loss=loss)
    return paths


def _summary(model, history, test_scores, data, loss, written) -> str:
    sizes = [model.in_features] + [layer.out_features for layer in model.dense_layers]
    activation = type(model.layers[1]).__name__ if len(model.layers) > 1 else "-"
    last = {key: values[-1] for key, values in history.history.items() if key != "lr"}
    train = {k: v for k, v in last.items() if not k.startswith("val_")}
    val = {k[4:]: v for k, v in last.items() if k.startswith("val_")}
    best = history.best_epoch or len(history)
    lines = ["", "summary",
             f"  data          {data.name or '?'} ({data.task}, {data.n_samples} rows, "
             f"{data.n_features} features)",
             f"  network       {'-'.join(map(str, sizes))} {activation}, loss {loss}, "
             f"{model.n_params:,} parameters",
             f"  epochs        {len(history)} run, best epoch {best}"
             + (f" (early stop after {history.stopped_epoch})" if history.stopped_epoch else ""),
             f"  train         {format_scores(train)}  (last epoch)"]
    if val:
        lines.append(f"  validation    {format_scores(val)}  (last epoch)")
    lines.append(f"  test          {format_scores(test_scores)}")
    for path in written:
        lines.append(f"  wrote         {path}")
    return "\n".join(lines)
