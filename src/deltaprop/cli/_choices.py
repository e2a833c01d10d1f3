"""The names each CLI flag accepts, read from the library's one table of each, never copied.

A name added to a table (a loss in ``deltaprop.losses.LOSSES``, a notation in the explainer's
``NOTATIONS``, ...) is accepted by every subcommand that takes that flag.
"""

from __future__ import annotations


def activation_names() -> list[str]:
    from ..nn.activations import ACTIVATIONS
    return sorted(ACTIVATIONS)


def loss_names() -> list[str]:
    from ..nn.losses import LOSSES
    return sorted(LOSSES)


def optimizer_names() -> list[str]:
    """The optimisers in the table's order (sgd first, the default)."""
    from ..nn.optim import OPTIMIZERS
    return list(OPTIMIZERS)


def notation_names() -> list[str]:
    """The explainer's notations, in the explainer's order (batch first)."""
    from ..explainer.notations import NOTATIONS
    return list(NOTATIONS)


def trace_formats() -> list[str]:
    """What ``Trace.render`` writes (``deltaprop explain --format``)."""
    from ..explainer.trace import FORMATS
    return list(FORMATS)


def card_formats() -> list[str]:
    """What ``deltaprop.card`` writes (``deltaprop card --format``)."""
    from ..explainer.memory_card import FORMATS
    return list(FORMATS)

