"""``deltaprop train``: train an MLP on a named dataset or a CSV/NPZ file.

The data is split into train and test parts (stratified for classification), standardised
with statistics of the training part only (saved with the model; a regression target too,
so the network fits targets of mean 0 and spread 1, and every score of the test part and
of 'deltaprop predict'/'evaluate' is in the target's own units), and trained with a
validation split; a one-screen summary ends the run.

Ctrl-C stops after the current batch and saves the model trained so far and its history to
--out DIR (exit code 130; a second Ctrl-C quits without saving); after training, Ctrl-C
lets the test scores and the files be finished first.  A run whose loss becomes
NaN or infinite stops with advice on the learning rate (exit code 2).  --out never replaces
the input data, and every file is written whole (a temporary file, then renamed).
"""

from __future__ import annotations

import argparse
import math
import re
import sys

import numpy as np

from . import EXIT_INTERRUPTED, CLIError, _mpi, _resume, _train_files
from ._choices import activation_names, loss_names, optimizer_names
from ._common import (
    add_data_arguments,
    check_range,
    fraction,
    int_list,
    load_data,
    non_negative,
    open_fraction,
    positive_int,
    random_seed,
    user_errors,
)
from ._interrupt import StopOnInterrupt, TrainingInterrupted
from ._mpi import is_root, under_mpi

EXAMPLES = """examples:
  deltaprop train digits --layers 64 --epochs 30 --out runs/digits
  deltaprop train moons --layers 16,16 --activation tanh --optimizer adam --lr 0.01 \\
      --plots --out runs/moons
  deltaprop train data.csv --target price --layers 32 --early-stopping 10
  deltaprop train digits --checkpoint-every 5 --out runs/digits   # then, after a crash:
  deltaprop train digits --resume runs/digits
"""

DEFAULT_LR = {"sgd": 0.05, "adam": 0.001, "adamw": 0.001}
# the defaults that differ by task: a regression target, even standardised, is fitted with
# Adam and an L2 penalty (SGD with momentum overfits the diabetes data; measured in
# benchmarks/datasets_table.py), classification with SGD and momentum for about AUTO_STEPS
# steps ("auto": 30 epochs leave the 400 rows of spirals at 68% accuracy, 334 reach 97%)
TASK_DEFAULTS = {"classification": {"optimizer": "sgd", "weight_decay": 0.0, "epochs": "auto"},
                 "regression": {"optimizer": "adam", "weight_decay": 0.1, "epochs": 60}}
AUTO_STEPS, AUTO_EPOCHS = 3000, (30, 1000)          # "auto" epochs: steps, (fewest, most)


def _by_task(name: str) -> str:
    """``"sgd for classification, adam for regression"``: a default that depends on the task."""
    return ", ".join(f"{defaults[name]} for {task}" for task, defaults in TASK_DEFAULTS.items())


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train an MLP on a dataset or a CSV/NPZ file", description=__doc__,
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--task", choices=["classification", "regression"],
                        help="override the task a CSV/NPZ file is read as (default: "
                             "decided from the target column)")
    parser.add_argument("--layers", type=int_list, default=[64],
                        help="hidden layer widths, comma-separated (default: 64)")
    parser.add_argument("--activation", default="relu", choices=activation_names(),
                        metavar="NAME", help="hidden activation: %(choices)s (default: relu)")
    parser.add_argument("--loss", choices=loss_names(),
                        help="loss (default: cross_entropy for classification, mse for "
                             "regression)")
    parser.add_argument("--optimizer", choices=optimizer_names(),
                        help=f"the optimiser (default: {_by_task('optimizer')})")
    parser.add_argument("--lr", type=non_negative,
                        help="learning rate (default: 0.05 for sgd, 0.001 for adam/adamw)")
    parser.add_argument("--momentum", type=fraction, default=0.9,
                        help="SGD momentum in [0, 1) (default: %(default)s)")
    parser.add_argument("--weight-decay", type=non_negative,
                        help="L2 (sgd, adam) or decoupled (adamw) weight decay (default: "
                             f"{_by_task('weight_decay')})")
    parser.add_argument("--epochs", type=positive_int,
                        help="passes over the training rows (default: 60 for regression; for "
                             f"classification enough for about {AUTO_STEPS} steps, "
                             f"{AUTO_EPOCHS[0]} to {AUTO_EPOCHS[1]} epochs by the number of "
                             "rows)")
    parser.add_argument("--batch-size", type=positive_int, default=32,
                        help="rows per step (default: %(default)s)")
    parser.add_argument("--val-split", type=fraction, default=0.1,
                        help="fraction of the training rows used for validation (default: "
                             "%(default)s)")
    parser.add_argument("--test-split", type=open_fraction, default=0.2,
                        help="fraction of all rows held out for the final test (default: "
                             "%(default)s)")
    parser.add_argument("--early-stopping", type=positive_int, metavar="PATIENCE",
                        help="stop after PATIENCE epochs without a better validation loss "
                             "and restore the best weights (default: off)")
    parser.add_argument("--seed", type=random_seed, default=0, help="one seed for data, weights, "
                                                             "shuffling (default: 0)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="the parameters' dtype (default: %(default)s)")
    parser.add_argument("--no-standardize", action="store_true",
                        help="train on the raw features and regression target (default: "
                             "standardise both with the training part's mean and spread)")
    parser.add_argument("--out", metavar="DIR", help="write model.safetensors, history.json "
                                                     "(and plots) to DIR (default: write "
                                                     "nothing)")
    parser.add_argument("--plots", action="store_true",
                        help="write PNG plots to --out DIR (default: off)")
    parser.add_argument("--quiet", action="store_true",
                        help="print only the summary (default: show the progress)")
    parser.add_argument("--checkpoint-every", type=positive_int, metavar="K",
                        help="write the training state to --out DIR every K epochs, with "
                             "run.json, so that --resume DIR can continue it (default: off)")
    parser.add_argument("--resume", metavar="DIR",
                        help="continue the run whose checkpoint is in DIR, to the result of "
                             "the run left uninterrupted; the flags left out are the run's "
                             "(default: start afresh)")
    parser.set_defaults(run=under_mpi(run), train_parser=parser)   # mpiexec -n K: data-parallel


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
    _resume.check_flags(args)
    if args.resume is not None:
        _resume.apply_run_settings(args, args.train_parser)
    _check_plots(args)
    data = load_data(args.data, args.target, seed=args.seed, task=args.task)
    if args.task and args.task != data.task:        # a named dataset keeps its own task
        raise CLIError(f"--task {args.task} applies to CSV/NPZ files; {args.data!r} is a "
                       f"{data.task} dataset")
    loss, n_out, output = _loss_and_outputs(args, data)
    _task_defaults(args, data.task)
    if args.out is not None and is_root():   # before training: a bad --out costs no run
        _train_files.prepare_out(args)
    (X_train, X_test, y_train, y_test), scalers = _split_and_scale(args, data, loss)
    if args.epochs == "auto":
        args.epochs = auto_epochs(len(X_train), args.val_split, args.batch_size)
    if args.checkpoint_every is not None and is_root():
        _resume.write_run_file(args)
    model, optimizer = _build(args, data, n_out, output)
    binary = loss in ("bce", "bce_with_logits")
    y_fit = y_train.astype(np.float64) if binary else _scaled_target(y_train, scalers[1])
    stats, history = _fit(args, model, optimizer, loss, X_train, y_fit)
    if isinstance(history, TrainingInterrupted):
        return _train_files.save_interrupted(args, model, history, scalers, data, loss)
    saver = StopOnInterrupt()
    with saver.installed():       # training is over: a Ctrl-C now lets the rest finish first
        test_scores = _test_scores(model, X_test, y_test, loss, optimizer.lr, scalers[1])
        written = _train_files.write_outputs(args, model, history, scalers, data, loss, stats,
                                             (X_test, y_test), test_scores) \
            if args.out and is_root() else []
    print(_train_files.summary(model, history, test_scores, data, loss, written,
                               scaled=scalers[1] is not None))
    if saver.requested:
        print("deltaprop train: interrupted after training; the test scores and every file "
              "above were finished first", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _task_defaults(args, task: str) -> None:
    """Fill --optimizer, --weight-decay and --epochs left out with the task's defaults."""
    for name, value in TASK_DEFAULTS[task].items():
        if getattr(args, name) is None:
            setattr(args, name, value)


def auto_epochs(n_train: int, val_split: float, batch_size: int) -> int:
    """Enough epochs for about ``AUTO_STEPS`` steps of ``batch_size`` rows on what ``fit``
    trains on (the training rows less the validation ones), within ``AUTO_EPOCHS``."""
    n_fit = n_train - (max(1, round(n_train * val_split)) if val_split else 0)
    steps_per_epoch = math.ceil(n_fit / batch_size)
    return min(AUTO_EPOCHS[1], max(AUTO_EPOCHS[0], math.ceil(AUTO_STEPS / steps_per_epoch)))


def _check_plots(args) -> None:
    if args.plots and not args.out:
        raise CLIError("--plots needs --out DIR to write the images to")
    if args.plots:                       # a missing or broken matplotlib: before training
        from ..plots._figure import pyplot

        with user_errors("--plots needs a working matplotlib"):
            pyplot()


def _split_and_scale(args, data, loss: str):
    """``(X_train, X_test, y_train, y_test)`` and the scalers ``(features, target)`` fitted
    on the training part (the target's for mse only; both None with --no-standardize);
    every feature checked to fit --dtype.  The targets are returned unscaled."""
    from ..training.preprocessing import train_test_split

    with user_errors(f"--test-split {args.test_split:g} cannot split the data"):
        X_train, X_test, y_train, y_test = train_test_split(
            data.X, data.y, test_size=args.test_split, seed=args.seed,
            stratify=data.task == "classification")
    _check_val_split(args.val_split, len(X_train))
    scaler = None if args.no_standardize else _standardizer(X_train, data.feature_names)
    with np.errstate(over="ignore", invalid="ignore"):     # every row, numbered as read
        check_range(data.X if scaler is None else scaler.transform(data.X), args.dtype,
                    data.feature_names, how="" if scaler is None else " after scaling")
    if scaler is not None:
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    target_scaler = None if args.no_standardize or loss != "mse" else \
        _standardizer(y_train.reshape(len(y_train), -1), data.target_names, "target")
    return (X_train, X_test, y_train, y_test), (scaler, target_scaler)


def _scaled_target(y: np.ndarray, target_scaler) -> np.ndarray:
    r"""The targets the network fits: :math:`(y - \mu_y)/\sigma_y` in ``y``'s shape."""
    if target_scaler is None:
        return y
    return target_scaler.transform(y.reshape(len(y), -1)).reshape(y.shape)


def _build(args, data, n_out: int, output: str | None):
    import deltaprop as dp

    with user_errors("bad model settings"):
        model = dp.mlp([data.n_features, *args.layers, n_out], activation=args.activation,
                       output=output, seed=args.seed, dtype=args.dtype)
        optimizer = dp.nn.optim.get_optimizer(args.optimizer, model, **_optimizer_settings(args))
    return model, optimizer


def _test_scores(model, X_test, y_test, loss: str, lr: float, target_scaler
                 ) -> dict[str, float]:
    """The test part's scores; a scaled regression target's in its own units."""
    import deltaprop as dp

    from ..training.evaluation import evaluate_unscaled

    y = y_test.astype(np.float64) if loss in ("bce", "bce_with_logits") else y_test
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):   # checked below
        if target_scaler is None:
            scores = dp.evaluate(model, X_test, y, loss=loss)
        else:
            scores = evaluate_unscaled(model, X_test, y, target_scaler, loss=loss)
    _refuse_non_finite(scores, "on the test rows", lr)
    return scores


def _check_val_split(fraction: float, n_train: int) -> None:
    """``fit`` holds out max(1, round(n · fraction)) rows for validation: at least one
    row must be left to train on."""
    n_val = max(1, round(n_train * fraction)) if fraction else 0
    if n_val >= n_train:
        raise CLIError(f"--val-split {fraction:g} leaves no rows to train on: {n_val} of the "
                       f"{n_train} training rows would be held out for validation")


def _standardizer(X_train: np.ndarray, names: list[str], what: str = "feature"):
    """The training part's scaling of the features (or the ``what="target"`` columns); a
    mean or spread too large for float64 is an error, not a model that silently divides by
    infinity."""
    from ..training.preprocessing import Standardizer

    with np.errstate(over="ignore", invalid="ignore"):
        scaler = Standardizer().fit(X_train)
    bad = ~(np.isfinite(scaler.mean) & np.isfinite(scaler.scale))
    if bad.any():
        column = names[int(np.argmax(bad))] if len(names) == len(bad) else \
            str(int(np.argmax(bad)) + 1)
        raise CLIError(f"cannot standardise {what} {column!r}: its values are too large "
                       "(their mean or spread overflows float64); rescale the data first")
    return scaler


def _optimizer_settings(args) -> dict:
    lr = DEFAULT_LR[args.optimizer] if args.lr is None else args.lr
    settings = {"lr": lr, "weight_decay": args.weight_decay}
    if args.optimizer == "sgd":
        settings["momentum"] = args.momentum
    return settings


def _fit(args, model, optimizer, loss, X_train, y_fit):
    """``fit`` with the progress bar, the layer statistics (``--plots``) and Ctrl-C handling.

    Returns ``(stats, history)``, where ``history`` is a :class:`TrainingInterrupted` when
    Ctrl-C ended the run.  A diverging run is a one-line ``CLIError`` with advice.
    """
    import deltaprop as dp

    from ..training.loop import TrainingDivergedError
    from ..training.progress import ProgressBar

    progress, stopper, stats = ProgressBar(quiet=args.quiet), StopOnInterrupt(), None
    callbacks = [progress]          # fit itself stops at a NaN or infinite epoch log
    if args.plots:
        from ..plots import LayerStats

        stats = LayerStats()
        callbacks.append(stats)
    with user_errors("training failed"), np.errstate(over="ignore", invalid="ignore",
                                                     divide="ignore"):  # checked below
        try:
            with stopper.installed():
                history = dp.fit(model, X_train, y_fit, loss=loss, optimizer=optimizer,
                                 epochs=args.epochs, batch_size=args.batch_size,
                                 seed=args.seed, validation_split=args.val_split,
                                 early_stopping=args.early_stopping,
                                 callbacks=[*callbacks, *_resume.callbacks(args), stopper],
                                 resume=_resume.resume_path(args), comm=_mpi.comm())
        except TrainingInterrupted as interrupt:
            progress.on_train_end({})                 # close a tqdm bar left open
            model.eval()
            return stats, interrupt
        except TrainingDivergedError as error:        # first: it may also be a ValueError
            raise CLIError(_divergence_advice(error, optimizer.lr)) from None
    return stats, history


def _refuse_non_finite(scores: dict[str, float], where: str, lr: float) -> None:
    for key, value in scores.items():
        if not np.isfinite(value):
            raise CLIError(f"training diverged ({key} became {value} {where}); nothing was "
                           f"saved; try a smaller --lr than {lr:g}")


def _divergence_advice(error: Exception, lr: float) -> str:
    """One line: what happened, where, and the learning rate to go below."""
    text = str(error)
    where = re.search(r"at epoch \d+, batch \d+ of \d+", text)
    cause = text[:where.start()].strip() if where else text.split(";")[0]
    place = f" {where.group(0)}" if where else ""
    return (f"training diverged ({cause}{place}); nothing was saved; try a smaller --lr "
            f"than {lr:g}")
