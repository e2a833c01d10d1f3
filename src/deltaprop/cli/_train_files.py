"""What ``deltaprop train`` writes and prints: the files in --out DIR and the summary.

Every file is written whole (a temporary file, then renamed), and never over the input data.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from . import EXIT_INTERRUPTED, CLIError
from ._common import (
    check_output_file,
    format_scores,
    input_file,
    is_csv_file,
    user_errors,
    write_text,
)
from ._interrupt import TrainingInterrupted

# the files ``--out DIR`` receives (the plots only with --plots)
OUT_FILES = ("model.safetensors", "history.json", "checkpoint.safetensors", "run.json",
             "curves.png", "layer_stats.png", "predicted.png",
             "weights.png", "confusion.png", "decision_boundary.png")


def prepare_out(args) -> None:
    """Create ``--out DIR`` and refuse it when a file written there would be the input data."""
    if not args.out:
        raise CLIError("--out needs a folder name, got an empty one")
    out = Path(args.out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise CLIError(f"--out {args.out!r} is a file; give a folder (it receives "
                       "model.safetensors and history.json)")
    with user_errors(f"--out {args.out!r}: cannot create the folder"):
        out.mkdir(parents=True, exist_ok=True)
    for name in OUT_FILES:
        check_output_file("--out", out / name, {"input data": input_file(args.data)})


def _save_model(args, model, scalers, data, loss, extra: dict) -> Path:
    from .. import io

    metadata = {"task": data.task, "loss": loss, "dataset": data.name or args.data,
                "feature_names": data.feature_names,
                "classes": [str(c) for c in data.classes],
                "target_names": data.target_names, **_target_column(args), **extra}
    return io.save(model, Path(args.out) / "model.safetensors", preprocessing=scalers[0],
                   target_preprocessing=scalers[1], loss=loss, metadata=metadata)


def _target_column(args) -> dict[str, str]:
    """``{"target_column": NAME}`` for a CSV file: what ``evaluate`` reads as the target."""
    from ..datasets.files import csv_columns

    if not is_csv_file(args.data):
        return {}
    return {"target_column": args.target or csv_columns(args.data)[-1]}


def _save_history(args, history, extra: dict) -> Path:
    path = Path(args.out) / "history.json"
    write_text(path, json.dumps({**history.to_dict(), **extra}, indent=2) + "\n")
    return path


def write_outputs(args, model, history, scalers, data, loss, stats, test, test_scores):
    out = Path(args.out)
    with user_errors(f"cannot write to {out}"):
        written = [_save_model(args, model, scalers, data, loss, {"test": test_scores}),
                   _save_history(args, history, {})]
        if args.plots:
            written += _write_plots(out, model, history, stats, data, loss, test, scalers[1])
    return [os.fspath(path) for path in written]


def save_interrupted(args, model, stop: TrainingInterrupted, scalers, data, loss) -> int:
    """Ctrl-C: save the model as it is after the last whole step, and the complete epochs."""
    history = stop.history
    epochs = f"{len(history)} complete epoch{'s' * (len(history) != 1)}"
    where = f"interrupted at epoch {stop.epoch}, batch {stop.batch} of {stop.n_batches}"
    if not args.out:
        print(f"deltaprop train: {where}; nothing saved (pass --out DIR to keep the model)",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    note = {"epoch": stop.epoch, "batch": stop.batch, "n_batches": stop.n_batches,
            "note": f"training was {where}: the weights include every step up to there; "
                    f"the history holds the {epochs} only (a partial epoch is not logged)"}
    with user_errors(f"cannot write to {args.out}"):
        model_path = _save_model(args, model, scalers, data, loss, {"interrupted": note})
        history_path = _save_history(args, history, {"interrupted": note})
    print(f"deltaprop train: {where}; saved the model trained so far to {model_path} and "
          f"its history ({epochs}) to {history_path}", file=sys.stderr)
    return EXIT_INTERRUPTED


def _write_plots(out: Path, model, history, stats, data, loss, test, target_scaler):
    """The PNG plots of --plots; each title says which rows it shows."""
    from .. import plots
    from ..training.evaluation import predict, predict_classes

    paths = [out / "curves.png", out / "layer_stats.png", out / "weights.png"]
    plots.plot_history(history, paths[0])
    plots.plot_layer_stats(stats, paths[1], title="layer statistics over the training batches")
    plots.plot_weight_histograms(model, paths[2], title="weights after training")
    X_test, y_test = test
    rows = f"the {len(y_test)} test rows"
    if data.task == "classification":
        paths.append(out / "confusion.png")
        plots.plot_confusion_matrix(y_test, predict_classes(model, X_test, loss=loss), paths[-1],
                                    labels=data.target_names, title=f"confusion matrix: {rows}")
        if data.n_features == 2:
            paths.append(out / "decision_boundary.png")
            plots.plot_decision_boundary(model, X_test, y_test, paths[-1], loss=loss,
                                         title=f"decision boundary: {rows}")
    elif loss == "mse":
        output = np.asarray(predict(model, X_test), dtype=np.float64)
        if target_scaler is not None:
            output = target_scaler.inverse_transform(output)
        paths.append(out / "predicted.png")
        plots.plot_predicted_vs_actual(y_test, output, paths[-1],
                                       target_names=data.target_names or None,
                                       title=f"predicted against actual: {rows}")
    return paths


def summary(model, history, test_scores, data, loss, written, scaled: bool) -> str:
    """The run on one screen.  The train and validation figures are those of the epoch
    whose weights the model keeps: the best one under --early-stopping (its weights are
    restored), else the last."""
    sizes = [model.in_features] + [layer.out_features for layer in model.dense_layers]
    activation = type(model.layers[1]).__name__ if len(model.layers) > 1 else "-"
    kept = history.best_epoch or history.epochs[-1]
    row = history.epochs.index(kept)
    figures = {key: values[row] for key, values in history.history.items() if key != "lr"}
    train = {k: v for k, v in figures.items() if not k.startswith("val_")}
    val = {k[4:]: v for k, v in figures.items() if k.startswith("val_")}
    why = "the last; --early-stopping keeps the best" if history.best_epoch is None else \
        f"the best {'validation' if 'val_loss' in history.history else 'training'} loss" + (
            f"; early stop after {history.stopped_epoch}" if history.stopped_epoch else "")
    note = f"  (epoch {kept}" + ("; standardised target)" if scaled else ")")
    lines = ["", "summary",
             f"  data          {data.name or '?'} ({data.task}, {data.n_samples} rows, "
             f"{data.n_features} features)",
             f"  network       {'-'.join(map(str, sizes))} {activation}, loss {loss}, "
             f"{model.n_params:,} parameters",
             f"  epochs        {len(history)} run, kept epoch {kept} ({why})",
             f"  train         {format_scores(train)}{note}"]
    if val:
        lines.append(f"  validation    {format_scores(val)}{note}")
    lines.append(f"  test          {format_scores(test_scores)}")
    for path in written:
        lines.append(f"  wrote         {path}")
    return "\n".join(lines)
