"""``deltaprop explain``: every step of one training step of a small network, with its numbers.

Builds an MLP from the flags (or loads a saved model with --model, whose recorded loss is
used), draws a small random batch, runs the engine (forward, loss, backward, one optimiser
step, or --steps K of them) and prints the trace: each step's equation in the chosen
notation, its shape check, the numbers and the function of deltaprop that computed them.
Every number shown can be recomputed by hand from the numbers shown before it.
"""

from __future__ import annotations

import argparse

import numpy as np

from . import CLIError
from ._choices import loss_names, notation_names, optimizer_names, trace_formats
from ._common import random_seed
from ._network import (
    add_network_flags,
    check_choice,
    check_network_flags,
    network_widths,
    refuse_with_model,
)

EXAMPLES = """\
examples:
  deltaprop explain
  deltaprop explain --layers 3 --activation tanh --output-activation sigmoid --loss bce --samples 4
  deltaprop explain --inputs 4 --layers 5 --outputs 3 --activation relu --output-activation none \
      --loss cross_entropy --unfused
  deltaprop explain --widths 2,3,1          # every width, input first
  deltaprop explain --notation haykin --momentum 0.9 --steps 3
  deltaprop explain --optimizer adam --lr 0.01 --steps 2 --format json
  deltaprop explain --notation column --sample 2 --format markdown > step.md
  deltaprop explain --model runs/iris/model.safetensors
  deltaprop explain --layers 4,4 --activation relu --dropout-rate 0.5 --dropout train
"""



def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "explain", help="show every step of one forward/backward/update pass, with numbers",
        description=__doc__, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_network_flags(parser, default_loss=None)
    parser.add_argument("--samples", type=int, default=4,
                        help="batch size N of the random batch (default: %(default)s)")
    parser.add_argument("--seed", type=random_seed, default=0,
                        help="seed of the weights and the batch (default: %(default)s)")
    parser.add_argument("--format", default="text", help=f"{', '.join(trace_formats())} "
                        "(default: %(default)s)")
    parser.add_argument("--model", metavar="PATH",
                        help="explain a model saved with deltaprop.io.save instead of building one")
    parser.add_argument("--lr", type=float, default=0.1,
                        help="learning rate of the step shown; 0 shows no update "
                             "(default: %(default)s)")
    parser.add_argument("--optimizer", default="sgd",
                        help=f"{', '.join(optimizer_names())} (default: %(default)s)")
    parser.add_argument("--momentum", type=float, default=0.0,
                        help="SGD momentum (the velocity is shown) (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=1,
                        help="training steps on the same batch, so that momentum and Adam's "
                             "state are seen at work (default: %(default)s)")
    parser.add_argument("--sample", type=int, default=0,
                        help="the sample shown by the column and haykin notations "
                             "(default: %(default)s)")
    parser.add_argument("--unfused", action="store_true",
                        help="show the unfused output delta next to the fused (A − Y)/N")
    parser.add_argument("--compare", metavar="NOTATION",
                        help="show every step in a second notation too (e.g. column)")
    parser.add_argument("--dropout", default="off", metavar="MODE",
                        help="train: run the step in training mode, as fit does, and show "
                             "each Dropout's mask forward and backward; off: evaluation mode, "
                             "Dropout passes everything through (default: %(default)s)")
    parser.add_argument("--dropout-rate", type=float, default=0.0, metavar="P",
                        help="add a Dropout(P) after each hidden layer of the network built "
                             "from the flags (default: %(default)s)")
    parser.set_defaults(run=run)



def _load_model(path: str, loss: str | None):
    """The model saved at ``path`` and the loss to explain it with (the file's, by default).

    An explicit ``--loss`` that contradicts the loss recorded in the file is an error: the
    trace would show a training step the model was never trained with.
    """
    try:
        from .. import io
    except ImportError as error:
        raise CLIError(f"--model needs deltaprop.io ({error})") from None
    try:
        bundle = io.load_bundle(path)
    except FileNotFoundError:
        raise CLIError(f"--model: no such file: {path}") from None
    except (ValueError, OSError, KeyError, ImportError) as error:
        raise CLIError(f"--model: cannot load {path}: {error}") from None
    recorded = getattr(bundle, "loss", None)         # the file's loss field, where it has one
    if recorded is None and isinstance(bundle.metadata, dict):
        recorded = bundle.metadata.get("loss")       # as `deltaprop train` writes it
    if recorded is not None and not isinstance(recorded, str):
        raise CLIError(f"--model: {path} records a loss that is not a name: {recorded!r}")
    if loss is not None and recorded is not None and loss != recorded:
        raise CLIError(f"--loss {loss} contradicts the loss {recorded!r} recorded in {path}; "
                       f"drop --loss to use the recorded one")
    if loss is None and recorded is None:
        raise CLIError(f"--model: {path} records no loss; pass --loss "
                       f"({', '.join(loss_names())})")
    return bundle.model, loss or recorded


def random_batch(model, loss: str, n_samples: int, seed: int):
    """A reproducible batch ``(X, y)`` whose targets suit ``loss``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, model.in_features)).round(2)
    k = model.out_features
    if loss == "cross_entropy":
        return X, rng.integers(0, k, size=n_samples)
    if loss in ("bce", "bce_with_logits"):
        return X, rng.integers(0, 2, size=(n_samples, k)).astype(float)
    return X, rng.normal(size=(n_samples, k)).round(2)


def _check_run_flags(args) -> None:
    check_choice("--format", args.format, trace_formats())
    check_choice("--optimizer", args.optimizer, optimizer_names())
    if args.compare is not None:
        check_choice("--compare", args.compare, notation_names())
    if args.samples < 1:
        raise CLIError(f"--samples must be a positive integer, got {args.samples}")
    if not 0 <= args.sample < args.samples:
        raise CLIError(f"--sample must be in [0, {args.samples}), got {args.sample}")
    if not (np.isfinite(args.lr) and args.lr >= 0) or not 0 <= args.momentum < 1:
        raise CLIError(f"--lr must be >= 0 and --momentum in [0, 1), got {args.lr}, "
                       f"{args.momentum}")
    if args.momentum and args.optimizer != "sgd":
        raise CLIError(f"--momentum applies to --optimizer sgd, got --optimizer "
                       f"{args.optimizer}")
    check_choice("--dropout", args.dropout, ("off", "train"))
    if not (np.isfinite(args.dropout_rate) and 0 <= args.dropout_rate < 1):
        raise CLIError(f"--dropout-rate must be a number in [0, 1), got {args.dropout_rate}")
    if args.model and args.dropout_rate:
        raise CLIError(f"--model gives the network; drop --dropout-rate (got --model "
                       f"{args.model} with --dropout-rate {args.dropout_rate})")
    if args.steps < 1 or (args.steps > 1 and args.lr == 0):
        raise CLIError(f"--steps must be a positive integer (and > 1 needs --lr > 0), got "
                       f"{args.steps} with --lr {args.lr}")


def _optimizer(args, model):
    from ..nn.optim import OPTIMIZERS

    if args.lr == 0:
        return None
    if args.optimizer == "sgd":
        return OPTIMIZERS["sgd"](model, lr=args.lr, momentum=args.momentum)
    return OPTIMIZERS[args.optimizer](model, lr=args.lr)


def run(args) -> int:
    from .. import explain, mlp

    _check_run_flags(args)
    refuse_with_model(args)
    if args.model:
        model, args.loss = _load_model(args.model, args.loss)
    args.loss = args.loss or "bce"
    check_network_flags(args)
    if not args.model:
        output = None if args.output_activation == "none" else args.output_activation
        model = mlp(network_widths(args), activation=args.activation, output=output,
                    seed=args.seed, dtype=np.float64, dropout=args.dropout_rate)
    X, y = random_batch(model, args.loss, args.samples, args.seed + 1)
    try:
        trace = explain(model, X, y, args.loss, notation=args.notation,
                        optimizer=_optimizer(args, model), sample=args.sample,
                        show_unfused=args.unfused, compare=args.compare, steps=args.steps,
                        dropout=args.dropout)
    except (ValueError, TypeError) as error:
        raise CLIError(str(error)) from None
    print(trace.render(args.format), end="")
    return 0
