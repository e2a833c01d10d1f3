r"""The backprop explainer: every step of one training step, in the learner's notation.

>>> import numpy as np, deltaprop
>>> model = deltaprop.mlp([2, 3, 1], activation="tanh", output="sigmoid", seed=0)
>>> X, y = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([1.0, 0.0])
>>> trace = deltaprop.explain(model, X, y, "bce")
>>> trace["backward.delta.out"].equation.split(";  ")[1]
'Δ⁽²⁾ = ∂L/∂A⁽²⁾ ⊙ A⁽²⁾ ⊙ (1 − A⁽²⁾) = (A⁽²⁾ − Y) / N'

``explain`` runs the real engine (``recording.py``), then writes what it recorded in one of
five notations (``notations.py``; the loss and output delta in ``outputs.py``, the optimiser
steps in ``updates.py``, the header in ``header.py``, a training-mode step's dropout masks in
``dropout.py``) as a :class:`Trace` of :class:`Step` s (``trace.py``), which renders itself as
text, Markdown, LaTeX, HTML or JSON (``render.py``; the HTML page in ``page.py``, its MathML
in ``mathml.py``, its computational graph in ``graph.py``).  ``traps.py`` shows what learners
trip on, ``units.py`` the saturated and dead units; ``memory_card.py`` prints the six-step
recipe for a network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .memory_card import card
from .notations import NOTATIONS, get_notation
from .recording import Recording, record_step, record_steps
from .trace import Step, Trace, Value, build_trace, check_display_options, check_sample
from .traps import SEED_SLIPS

if TYPE_CHECKING:
    from ..nn.model import Sequential


def explain(model: Sequential, X: Any, y: Any, loss: Any, notation: str = "batch",
            optimizer: Any = None, *,
            sample: int = 0, show_unfused: bool = False, compare: str | None = None,
            max_values: int = 64, precision: int = 4, steps: int = 1,
            dropout: str = "off") -> Trace:
    r"""Run one training step of ``model`` on ``(X, y)`` and return every step of it.

    Every array shown can be recomputed by hand from the other arrays shown, with the
    equation printed next to it (the tests do exactly that, in every notation).

    The engine runs once per step, as ``fit`` would: ``model.forward``, the loss, ``model.backward``
    and, if ``optimizer`` is given, ``optimizer.step()`` — so the model's parameters ARE
    updated then (pass ``model.copy()`` to keep yours).  The trace's numbers are the ones the
    layers recorded (:meth:`deltaprop.Sequential.records`); nothing is computed twice.

    Parameters
    ----------
    model : Sequential
    X : array of shape (N, n_in)
    y : targets as ``fit`` takes them (``(N,)`` labels for cross-entropy, ``(N, n_out)``)
    loss : Loss or str
        ``"cross_entropy"`` / ``"bce_with_logits"`` on a model ending in logits show the fused
        output delta :math:`(A - Y)/N`; ``"bce"`` after a ``Sigmoid`` and ``"mse"`` too.
    notation : {"batch", "rows", "ng", "column", "haykin"}
        How the equations and arrays are written (``docs/notation-guide.md``); the numbers
        are the same up to transposition, sign and where the :math:`1/N` sits.
    optimizer : Optimizer or None
        ``SGD`` (momentum, Nesterov, dampening, weight decay), ``Adam`` or ``AdamW``: each
        update shows the parameter before and after and the optimiser state (velocity, Adam's
        moments, step count and bias corrections) before and after.
    sample : int
        The sample shown by the one-sample notations (``column``, ``haykin``).
    show_unfused : bool
        Next to the fused output delta, show the unfused route with the same numbers.
    compare : str or None
        Show each step in a second notation too (``compare="column"``: the one-sample view).
    max_values, precision : int
        Arrays with more entries are summarised; digits shown.
    steps : int
        Training steps run on the same batch (needs an optimizer when > 1), so momentum and
        Adam's state are seen in action; the steps of step ``t > 1`` have keys ``"stepT.…"``.
    dropout : {"off", "train"}
        ``"off"`` (default): the step runs in evaluation mode, where Dropout passes everything
        through (the trace says so).  ``"train"``: in training mode, as ``fit`` runs it; each
        Dropout draws its mask from its own generator (advancing it, as ``fit`` would) and
        the trace shows it, forward :math:`\tilde A = A \odot M / (1 - p)` and backward
        :math:`\partial L/\partial A = \partial L/\partial \tilde A \odot M / (1 - p)`
        (steps ``"forward.dropout.l"`` and ``"backward.dropout.l"``).

    Returns
    -------
    Trace
        ``str(trace)``, ``trace.to_markdown()``, ``to_latex()``, ``to_html()``, ``to_json()``;
        ``trace["backward.grad_weight.1"]`` is one :class:`Step`.
    """
    get_notation(notation)                           # a bad name fails before the engine runs
    check_display_options(max_values, precision)
    if np.ndim(X) >= 1:                              # before the optimiser steps
        check_sample(sample, len(X))
    recordings = record_steps(model, X, y, loss, optimizer, steps, dropout=dropout)
    return build_trace(recordings, notation, sample=sample, show_unfused=show_unfused,
                       compare=compare, max_values=max_values, precision=precision)


__all__ = ["NOTATIONS", "SEED_SLIPS", "Recording", "Step", "Trace", "Value", "build_trace",
           "card", "explain", "record_step", "record_steps"]
