"""``deltaprop practice TOPIC``: write an exercise file to implement, then grade it with check."""

from __future__ import annotations

import argparse
import sys

from . import CLIError

EPILOG = """\
topics:
  activation              sigmoid_backward, tanh_backward, relu_backward: ∂L/∂Z = ∂L/∂A ⊙ φ′(Z)
  dense                   dense_backward: ∂L/∂A_prev, ∂L/∂W, ∂L/∂b of Z = A_prev Wᵀ + b
  softmax_cross_entropy   softmax_cross_entropy_backward: Δᴸ = (softmax(Z) − Y)/N
  network                 network_backward: every gradient of a tanh / softmax MLP
  momentum                momentum_step: v ← μ v + g, W ← W − η v
  mse                     mse_backward: ∂L/∂A = 2(A − Y)/(N n)
  bce                     bce_backward: ∂L/∂P = (P − Y)/(P(1 − P))/(N n)
  sigmoid_bce             sigmoid_bce_backward: Δᴸ = (σ(Z) − Y)/(N n)
  dropout                 dropout_backward: ∂L/∂X = ∂L/∂A ⊙ M/(1 − p)
  adam                    adam_step: m, v, bias correction, W ← W − η m̂/(√v̂ + ε)
  mlp                     mlp_backward: every gradient of an MLP with the --activation and
                          --loss you choose (any hidden activation of the engine)

examples:
  deltaprop practice dense                       # writes dense_practice.py
  deltaprop practice activation --notation column --out my_activation.py
  deltaprop practice network --out -             # print the exercise instead
  deltaprop check dense_practice.py              # grade your implementation
  deltaprop practice mlp --activation relu --loss mse
  deltaprop practice adam --recall               # from memory: names and shapes only
  deltaprop check adam_practice.py --hint        # stuck? reveal the first stage of hints
"""


def add_parser(subparsers) -> None:
    from ..practice import NOTATIONS
    from ..practice.mlp import ACTIVATIONS, LOSSES

    parser = subparsers.add_parser(
        "practice", help="write an exercise file (a function to implement, with its equations)",
        description=__doc__ + "\nThe file holds each function's signature, a docstring with the "
        "equation and shapes\n(in the chosen notation) and a TODO. In a notation other than batch "
        "rows, the arrays\nare in that notation's layout too, and graded in it.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("topic", metavar="TOPIC", help="what to practise (see the list below)")
    parser.add_argument("--notation", default="batch", choices=tuple(NOTATIONS),
                        help="notation of the equations AND layout of the arrays, graded in that "
                             "layout (default: batch, deltaprop's rows)")
    parser.add_argument("--out", metavar="FILE", default=None,
                        help="file to write (default: TOPIC_practice.py; '-' prints it)")
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    parser.add_argument("--activation", default=None, choices=tuple(ACTIVATIONS),
                        help="topic mlp: the hidden layers' activation (default: tanh)")
    parser.add_argument("--loss", default=None, choices=tuple(LOSSES),
                        help="topic mlp: the loss, with its output activation (softmax for "
                             "cross_entropy, sigmoid for bce, none for mse; default: "
                             "cross_entropy)")
    parser.add_argument("--recall", action="store_true",
                        help="names and shapes only, no equations: write it from memory "
                             "(`deltaprop check FILE --hint` reveals them in stages)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..practice import TOPIC_FUNCTIONS, render_exercise, write_exercise

    network = {key: value for key, value in (("activation", args.activation),
                                             ("loss", args.loss)) if value is not None}
    if network and args.topic != "mlp":
        raise CLIError(f"--activation and --loss choose the network of the topic mlp; got them "
                       f"with the topic {args.topic!r}")
    network = network if args.topic == "mlp" else None
    try:
        if args.out == "-":
            sys.stdout.write(render_exercise(args.topic, args.notation,
                                             filename=f"{args.topic}_practice.py",
                                             recall=args.recall, network=network))
            return 0
        path = write_exercise(args.topic, args.out, notation=args.notation,
                              overwrite=args.force, recall=args.recall, network=network)
    except (ValueError, FileExistsError) as error:
        raise CLIError(str(error)) from None
    except OSError as error:
        raise CLIError(f"cannot write {args.out}: {error.strerror}") from None
    functions = ", ".join(TOPIC_FUNCTIONS[args.topic])
    print(f"wrote {path}: implement {functions}, then run: deltaprop check {path}")
    return 0
