"""``deltaprop card``: the six steps of backpropagation for one network, shapes filled in.

Forward and record, output delta, hidden deltas, weight gradients, bias gradients, update
(with momentum): short enough to learn by heart, in any notation, as text or Markdown.
"""

from __future__ import annotations

import argparse

from . import CLIError
from ._choices import card_formats
from ._network import add_network_flags, check_choice, check_network_flags, network_widths

EXAMPLES = """\
examples:
  deltaprop card
  deltaprop card --layers 3 --activation tanh --output-activation sigmoid --loss bce
  deltaprop card --inputs 784 --layers 128 --outputs 10 --activation relu \
      --output-activation none --loss cross_entropy
  deltaprop card --notation ng --format markdown
  deltaprop card --notation haykin --no-momentum
  deltaprop card --widths 3,1 --activation tanh --output-activation sigmoid --no-bias
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "card", help="print the backpropagation memory card for a network",
        description=__doc__, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_network_flags(parser)
    parser.add_argument("--format", default="text",
                        help=f"{' or '.join(card_formats())} (default: %(default)s)")
    parser.add_argument("--no-momentum", dest="momentum", action="store_false",
                        help="plain SGD update instead of SGD with momentum")
    parser.add_argument("--no-bias", dest="bias", action="store_false",
                        help="a network without biases (mlp(..., bias=False)): no + b")
    parser.set_defaults(run=run)


def run(args) -> int:
    from .. import card

    check_network_flags(args)
    check_choice("--format", args.format, card_formats())
    output = None if args.output_activation == "none" else args.output_activation
    try:
        text = card(network_widths(args), args.activation, output, args.loss,
                    notation=args.notation, format=args.format, momentum=args.momentum,
                    bias=args.bias)
    except (ValueError, TypeError) as error:
        raise CLIError(str(error)) from None
    print(text, end="")
    return 0
