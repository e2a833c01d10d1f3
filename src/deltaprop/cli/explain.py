"""``deltaprop explain``: every step of one training step of a small network, with its numbers.

Builds an MLP from the flags (or loads a saved model with --model), draws a small random
batch, runs the engine once (forward, loss, backward, one SGD step) and prints the trace:
each step's equation in the chosen notation, its shape check, the numbers and the function of
deltaprop that computed them.
"""

from __future__ import annotations

import argparse

import numpy as np

from . import CLIError

NOTATION_NAMES = ("batch", "rows", "ng", "column", "haykin")
FORMATS = ("text", "markdown", "latex", "html", "json")

EXAMPLES = """\
examples:
  deltaprop explain
  deltaprop explain --layers 2,3,1 --activation tanh --output sigmoid --loss bce --samples 4
  deltaprop explain --layers 4,5,3 --activation relu --output none --loss cross_entropy --unfused
  deltaprop explain --notation haykin --momentum 0.9
  deltaprop explain --notation column --sample 2 --format markdown > step.md
  deltaprop explain --model model.safetensors --loss cross_entropy --format json
"""


def add_network_flags(parser, *, default_loss: str = "bce") -> None:
    """--layers, --activation, --output, --loss, --notation (shared with ``deltaprop card``)."""
    parser.add_argument("--layers", default="2,3,1",
                        help="layer widths, input first, comma-separated (default: %(default)s)")
    parser.add_argument("--activation", default="tanh",
                        help="hidden activation: tanh, relu, sigmoid, ... (default: %(default)s)")
    parser.add_argument("--output", default=None,
                        help="output activation, or 'none' for logits (default: sigmoid with "
                             "--loss bce, none with cross_entropy, bce_with_logits and mse)")
    parser.add_argument("--loss", default=default_loss,
                        help="bce, bce_with_logits, cross_entropy or mse (default: %(default)s)")
    parser.add_argument("--notation", default="batch",
                        help=f"{', '.join(NOTATION_NAMES)} (default: %(default)s)")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "explain", help="show every step of one forward/backward/update pass, with numbers",
        description=__doc__, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_network_flags(parser)
    parser.add_argument("--samples", type=int, default=4,
                        help="batch size N of the random batch (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the weights and the batch (default: %(default)s)")
    parser.add_argument("--format", default="text", help=f"{', '.join(FORMATS)} "
                        "(default: %(default)s)")
    parser.add_argument("--model", metavar="PATH",
                        help="explain a model saved with deltaprop.io.save instead of --layers")
    parser.add_argument("--lr", type=float, default=0.1,
                        help="learning rate of the SGD step shown; 0 shows no update "
                             "(default: %(default)s)")
    parser.add_argument("--momentum", type=float, default=0.0,
                        help="SGD momentum (the velocity is shown) (default: %(default)s)")
    parser.add_argument("--sample", type=int, default=0,
                        help="the sample shown by the column and haykin notations "
                             "(default: %(default)s)")
    parser.add_argument("--unfused", action="store_true",
                        help="show the unfused output delta next to the fused (A − Y)/N")
    parser.add_argument("--compare", metavar="NOTATION",
                        help="show every step in a second notation too (e.g. column)")
    parser.set_defaults(run=run)


def parse_layers(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1:
        raise CLIError(f"--layers must be at least two positive integers like 2,3,1, got {text!r}")
    return sizes


def check_choice(flag: str, value: str, choices) -> str:
    if value not in choices:
        raise CLIError(f"{flag} must be one of {', '.join(choices)}, got {value!r}")
    return value


def check_network_flags(args) -> None:
    from ..activations import ACTIVATIONS
    from ..losses import LOSSES

    check_choice("--activation", args.activation, sorted(ACTIVATIONS))
    if args.output is None:                  # the output that goes with the loss
        args.output = "sigmoid" if args.loss == "bce" else "none"
    check_choice("--output", args.output, ["none", *sorted(ACTIVATIONS)])
    check_choice("--loss", args.loss, sorted(LOSSES))
    check_choice("--notation", args.notation, NOTATION_NAMES)


def _load_model(path: str):
    try:
        from .. import io
    except ImportError as error:
        raise CLIError(f"--model needs deltaprop.io ({error})") from None
    try:
        return io.load(path)
    except FileNotFoundError:
        raise CLIError(f"--model: no such file: {path}") from None
    except (ValueError, OSError, KeyError, ImportError) as error:
        raise CLIError(f"--model: cannot load {path}: {error}") from None


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


def run(args) -> int:
    from .. import SGD, explain, mlp

    check_network_flags(args)
    check_choice("--format", args.format, FORMATS)
    if args.compare is not None:
        check_choice("--compare", args.compare, NOTATION_NAMES)
    if args.samples < 1:
        raise CLIError(f"--samples must be a positive integer, got {args.samples}")
    if not 0 <= args.sample < args.samples:
        raise CLIError(f"--sample must be in [0, {args.samples}), got {args.sample}")
    if args.lr < 0 or not 0 <= args.momentum < 1:
        raise CLIError(f"--lr must be >= 0 and --momentum in [0, 1), got {args.lr}, "
                       f"{args.momentum}")
    if args.model:
        model = _load_model(args.model)
    else:
        output = None if args.output == "none" else args.output
        model = mlp(parse_layers(args.layers), activation=args.activation, output=output,
                    seed=args.seed, dtype=np.float64)
    X, y = random_batch(model, args.loss, args.samples, args.seed + 1)
    optimizer = SGD(model, lr=args.lr, momentum=args.momentum) if args.lr > 0 else None
    try:
        trace = explain(model, X, y, args.loss, notation=args.notation, optimizer=optimizer,
                        sample=args.sample, show_unfused=args.unfused, compare=args.compare)
    except (ValueError, TypeError) as error:
        raise CLIError(str(error)) from None
    print(trace.render(args.format), end="")
    return 0
