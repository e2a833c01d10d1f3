"""``deltaprop gradcheck``: compare every analytic gradient with central differences.

Builds a network from the flags (or loads a saved model), draws a small random batch, and
prints, per parameter and for the input, the relative error between the engine's backward
pass and float64 central differences.  Exit code 0 when every row passes, 1 otherwise.
"""

from __future__ import annotations

import argparse

import numpy as np

from ._choices import activation_names, loss_names
from ._common import load_model, positive_int, random_seed, user_errors
from ._network import (
    add_output_activation_flag,
    add_width_flags,
    network_widths,
    output_activation,
    refuse_with_model,
)

EXAMPLES = """examples:
  deltaprop gradcheck --layers 3 --activation tanh --output-activation sigmoid --loss bce
  deltaprop gradcheck --inputs 4 --layers 8,8 --outputs 3 --activation gelu \
      --loss cross_entropy --samples 6
  deltaprop gradcheck --widths 2,3,1        # every width, input first
  deltaprop gradcheck --model runs/digits/model.safetensors --max-entries 50
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "gradcheck", help="check the backward pass against central differences",
        description=__doc__, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_width_flags(parser)
    parser.add_argument("--activation", default="tanh", choices=activation_names(),
                        metavar="NAME", help="hidden activation: %(choices)s "
                                             "(default: %(default)s)")
    add_output_activation_flag(parser, "output activation, or 'none' for logits (default: "
                                       "sigmoid with --loss bce, none otherwise)")
    parser.add_argument("--loss", default=None, choices=loss_names(),
                        help="default: bce with a sigmoid output, mse otherwise")
    parser.add_argument("--model", help="check a saved model instead of building one")
    parser.add_argument("--samples", type=positive_int, default=4, help="batch size N")
    parser.add_argument("--max-entries", type=positive_int,
                        help="check at most this many random entries per parameter")
    parser.add_argument("--seed", type=random_seed, default=0,
                        help="seed of the weights and the batch (default: %(default)s)")
    parser.set_defaults(run=run)


def run(args) -> int:
    import deltaprop as dp

    refuse_with_model(args)
    if args.model:
        bundle = load_model(args.model)
        model, loss = bundle.model, args.loss or bundle.loss or "mse"
    else:
        widths = network_widths(args)
        output = output_activation(args)
        if output is None:                   # the output that goes with the loss, as in explain
            output = "sigmoid" if args.loss == "bce" else "none"
        loss = args.loss or ("bce" if output == "sigmoid" else "mse")
        output = None if output == "none" else output
        with user_errors("bad network"):
            model = dp.mlp(widths, activation=args.activation, output=output,
                           seed=args.seed, dtype="float64")
    with user_errors(f"cannot draw --samples {args.samples} rows"):
        X, y = _random_batch(model, loss, args.samples, args.seed)
    with user_errors("gradcheck failed to run"):
        result = dp.gradcheck(model, X, y, loss, max_entries=args.max_entries, seed=args.seed)
    print(f"{model!r}\nloss {loss}, N = {args.samples}, float64 central differences\n")
    print(result)
    return 0 if result.passed else 1


def _random_batch(model, loss: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` standard-normal inputs and targets of the form ``loss`` takes."""
    rng = np.random.default_rng(seed)
    n_out = model.out_features
    X = rng.normal(size=(n, model.in_features))
    if loss == "cross_entropy":
        y = rng.integers(0, n_out, size=n)
    elif loss in ("bce", "bce_with_logits"):
        y = rng.integers(0, 2, size=(n, n_out)).astype(np.float64)
    else:
        y = rng.normal(size=(n, n_out))
    return X, y
