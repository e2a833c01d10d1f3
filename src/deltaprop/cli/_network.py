"""The network flags shared by ``explain``, ``gradcheck`` and ``card``: one meaning each.

``--layers`` is the hidden widths, as in ``deltaprop train``; ``--inputs`` and ``--outputs``
are the widths of the input and the output; ``--widths`` gives every width, input first
(what ``--layers`` meant in these commands before).  ``--output-activation`` names the
output activation (``--output`` is a FILE in ``predict``; here it is kept for one release,
with a note).  The widths of the network are

    widths = [inputs, *layers, outputs]      or      widths = --widths
"""

from __future__ import annotations

from . import CLIError
from ._choices import activation_names, loss_names, notation_names
from ._common import int_list, positive_int

DEFAULT_INPUTS, DEFAULT_HIDDEN, DEFAULT_OUTPUTS = 2, [3], 1


def add_width_flags(parser) -> None:
    """--layers H1,H2,... (hidden), --inputs N, --outputs K, or --widths N,H1,...,K."""
    parser.add_argument("--layers", type=int_list, default=None, metavar="H1,H2,...",
                        help="hidden layer widths, comma-separated, as in 'deltaprop train' "
                             f"(default: {','.join(map(str, DEFAULT_HIDDEN))})")
    parser.add_argument("--inputs", type=positive_int, default=None, metavar="N",
                        help=f"input width (default: {DEFAULT_INPUTS})")
    parser.add_argument("--outputs", type=positive_int, default=None, metavar="K",
                        help=f"output width (default: {DEFAULT_OUTPUTS})")
    parser.add_argument("--widths", type=int_list, default=None, metavar="N,H1,...,K",
                        help="every width, input first (instead of --inputs, --layers, "
                             "--outputs); --widths 3,1 has no hidden layer")


def network_widths(args) -> list[int]:
    """``[inputs, *layers, outputs]``, or ``--widths``; a note for --layers given 2+ widths."""
    if args.widths is not None:
        given = [flag for flag, value in (("--layers", args.layers), ("--inputs", args.inputs),
                                          ("--outputs", args.outputs)) if value is not None]
        if given:
            raise CLIError(f"--widths gives every width; drop {', '.join(given)} (got "
                           f"--widths {_text(args.widths)} with {', '.join(given)})")
        if len(args.widths) < 2:
            raise CLIError(f"--widths needs an input and an output width (at least two "
                           f"positive integers like 2,3,1), got {_text(args.widths)}")
        return list(args.widths)
    if args.layers is not None and len(args.layers) >= 2:
        add_note(args, f"--layers now gives the hidden widths only, as in 'deltaprop train'; "
                       f"for every width, input first, use --widths {_text(args.layers)}")
    hidden = DEFAULT_HIDDEN if args.layers is None else args.layers
    inputs = DEFAULT_INPUTS if args.inputs is None else args.inputs
    outputs = DEFAULT_OUTPUTS if args.outputs is None else args.outputs
    return [inputs, *hidden, outputs]


def refuse_with_model(args) -> None:
    """``--model`` gives the network: a width or output flag next to it would be ignored."""
    flags = {"--layers": args.layers, "--inputs": args.inputs, "--outputs": args.outputs,
             "--widths": args.widths, "--output-activation": args.output_activation,
             "--output": args.deprecated_output}
    given = [flag for flag, value in flags.items() if value is not None]
    if args.model and given:
        raise CLIError(f"--model gives the network; drop {', '.join(given)} (got --model "
                       f"{args.model} with {', '.join(given)})")


def add_output_activation_flag(parser, help: str) -> None:
    """--output-activation NAME, and --output NAME kept for one release."""
    parser.add_argument("--output-activation", default=None, metavar="NAME", help=help)
    parser.add_argument("--output", dest="deprecated_output", default=None, metavar="NAME",
                        help="deprecated spelling of --output-activation (in 'deltaprop "
                             "predict', --output is a FILE)")


def output_activation(args) -> str | None:
    """The output activation named by --output-activation (or the deprecated --output)."""
    old, new = args.deprecated_output, args.output_activation
    if old is None:
        return new
    if new is not None and new != old:
        raise CLIError(f"--output {old} contradicts --output-activation {new}; "
                       f"give --output-activation only")
    add_note(args, f"--output is deprecated here, use --output-activation {old} (--output is "
                   f"a FILE in 'deltaprop predict')")
    return old


def add_note(args, text: str) -> None:
    """A deprecation note for the user: ``main`` prints it on stderr after the run, or on the
    error's line if the run fails (a user error stays one line)."""
    notes = vars(args).setdefault("notes", [])
    if text not in notes:
        notes.append(text)


def _text(widths) -> str:
    return ",".join(map(str, widths))


def add_network_flags(parser, *, default_loss: str | None = "bce") -> None:
    """--layers/--inputs/--outputs/--widths, --activation, --output-activation, --loss,
    --notation (shared with ``deltaprop card``)."""
    add_width_flags(parser)
    parser.add_argument("--activation", default="tanh",
                        help=f"hidden activation: {', '.join(activation_names())} "
                             "(default: %(default)s)")
    add_output_activation_flag(parser, "output activation, or 'none' for logits (default: "
                               "sigmoid with --loss bce, none with cross_entropy, "
                               "bce_with_logits and mse)")
    parser.add_argument("--loss", default=default_loss,
                        help=f"{', '.join(loss_names())} (default: "
                             + (f"{default_loss})" if default_loss else
                                "the loss recorded in --model's file, else bce)"))
    parser.add_argument("--notation", default="batch",
                        help=f"{', '.join(notation_names())} (default: %(default)s)")


def check_choice(flag: str, value: str, choices) -> str:
    if value not in choices:
        raise CLIError(f"{flag} must be one of {', '.join(choices)}, got {value!r}")
    return value


def check_network_flags(args) -> None:
    """Check the names; ``args.output_activation`` becomes the one that goes with the loss."""
    check_choice("--activation", args.activation, activation_names())
    output = output_activation(args)
    if output is None:                       # the output that goes with the loss
        output = "sigmoid" if args.loss == "bce" else "none"
    args.output_activation = check_choice("--output-activation", output,
                                          ["none", *activation_names()])
    check_choice("--loss", args.loss, loss_names())
    check_choice("--notation", args.notation, notation_names())
