"""``deltaprop card``: the six steps of backpropagation for one network, shapes filled in.

Forward and record, output delta, hidden deltas, weight gradients, bias gradients, update
(with momentum): short enough to learn by heart, in any notation, as text or Markdown.
"""

from __future__ import annotations

import argparse

from . import CLIError
from ._choices import card_formats
from ._common import positive_int
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
  deltaprop card --quiz                   # recall each step's equation from its shapes
  deltaprop card --quiz --type-shapes     # type the shape of each step's result
  deltaprop card --quiz --count 5 --notation ng
  deltaprop card --reset                  # forget the quiz progress

quiz: answers are read from stdin, one per line (so it can be scripted); progress is kept
as Leitner boxes in $DELTAPROP_DATA_DIR, else $XDG_DATA_HOME/deltaprop or
~/.local/share/deltaprop (the platform's data folder elsewhere); missed cards go back to
box 1 and come back at the next session, box b every 2^(b-1) sessions
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
    quiz = parser.add_argument_group("quiz (Leitner boxes, kept between runs)")
    quiz.add_argument("--quiz", action="store_true",
                      help="drill: each step shown with its shapes, recall the equation, "
                           "then grade yourself (y/n) when it is revealed")
    quiz.add_argument("--type-shapes", action="store_true",
                      help="with --quiz: the equation is shown, type the shape of its result "
                           "(checked)")
    quiz.add_argument("--count", type=positive_int, default=None, metavar="N",
                      help="with --quiz: at most N cards this session (default: all due)")
    quiz.add_argument("--reset", action="store_true",
                      help="forget the quiz progress (every card back to box 1)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from .. import card

    if (args.type_shapes or args.count is not None) and not args.quiz:
        raise CLIError("--type-shapes and --count go with --quiz (got them without --quiz)")
    if args.reset:
        _reset()
        if not args.quiz:
            return 0
    check_network_flags(args)
    check_choice("--format", args.format, card_formats())
    output = None if args.output_activation == "none" else args.output_activation
    if args.quiz:
        return _quiz(args, output)
    try:
        text = card(network_widths(args), args.activation, output, args.loss,
                    notation=args.notation, format=args.format, momentum=args.momentum,
                    bias=args.bias)
    except (ValueError, TypeError) as error:
        raise CLIError(str(error)) from None
    print(text, end="")
    return 0


def _reset() -> None:
    from ..practice.quiz import state_path

    path = state_path()
    try:
        path.unlink()
    except FileNotFoundError:
        print(f"no quiz progress to reset ({path} does not exist)")
        return
    except OSError as error:
        raise CLIError(f"cannot reset the quiz progress: {path}: "
                       f"{error.strerror or error}") from None
    print(f"quiz progress reset: every card is back in box 1 (removed {path})")


def _quiz(args, output) -> int:
    """One Leitner session on the card's steps; answers from stdin, progress saved."""
    import sys

    from ..explainer.memory_card import card_rows
    from ..practice import quiz

    try:
        title, _, rows = card_rows(network_widths(args), args.activation, output, args.loss,
                                   notation=args.notation, momentum=args.momentum,
                                   bias=args.bias)
    except (ValueError, TypeError) as error:
        raise CLIError(str(error)) from None
    cards = quiz.cards_from_rows(rows, args.notation, typed=args.type_shapes)
    path = quiz.state_path()
    state = quiz.load_state(path, warn=lambda text: print(f"note: {text}", file=sys.stderr))
    failed: list[str] = []

    def save(state: dict) -> None:
        if failed:
            return
        try:
            quiz.save_state(path, state)
        except OSError as error:              # warned once; the drill goes on
            failed.append(str(error))
            print(f"note: the quiz progress cannot be saved to {path}: "
                  f"{error.strerror or error}", file=sys.stderr)

    print(f"Quiz: {title}\n{len(cards)} cards; " + quiz.boxes_summary(state, cards))
    recalled, asked = quiz.drill(cards, state, sys.stdin, sys.stdout, typed=args.type_shapes,
                                 limit=args.count, save=save,
                                 echo=not sys.stdin.isatty())   # typed ones are on screen
    print(f"\nrecalled {recalled} of {asked}; " + quiz.boxes_summary(state, cards))
    return 0
