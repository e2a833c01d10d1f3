r"""The memory card: backpropagation's six steps for ONE network, shapes filled in.

1. forward, and record :math:`A^{(l-1)}, Z^{(l)}, A^{(l)}`;
2. the output delta;
3. the hidden deltas, from the top down;
4. the weight gradients;
5. the bias gradients;
6. the update (SGD with momentum).

The recap table of Haykin's error-correction framework, made concrete for the learner's
network, in any notation.  No numbers: the card is for learning by heart; ``explain``
shows the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._checks import InvalidParameterError, check_choice, check_integer, refuse
from ..nn.activations import get_activation
from ..nn.losses import get_loss
from .notations import derivative_text, function_text, get_notation, shape_text
from .outputs import output_delta_equation, softmax_backward_equation
from .recording import output_spec

FORMATS = ("text", "markdown")      # what card(format=...) renders


def _shapes(name: str):
    """role -> symbolic shape, for one notation (N / m samples, or one sample as a column)."""
    if name in ("batch", "rows"):
        act = lambda n: ("N", n)  # noqa: E731
    elif name == "ng":
        act = lambda n: (n, "m")  # noqa: E731
    else:
        act = lambda n: (n, 1)  # noqa: E731
    weight = (lambda o, i: (i, o)) if name == "rows" else (lambda o, i: (o, i))
    bias = (lambda o: (o,)) if name in ("batch", "rows") else (lambda o: (o, 1))
    return act, weight, bias


def card(layers: Sequence[int] = (2, 3, 1), activation: str = "tanh",
         output: str | None = "sigmoid", loss: Any = "bce", notation: str = "batch",
         format: str = "text", momentum: bool = True, bias: bool = True) -> str:
    """The six-step recipe for the MLP ``layers`` (widths, input first) as text or Markdown.

    ``bias=False`` is the network of ``mlp(..., bias=False)``: no ``+ b``, no bias gradient,
    no bias update.

    >>> print(card([2, 3, 1], "tanh", "sigmoid", "bce").splitlines()[0])
    Backpropagation memory card: 2-3-1 network, tanh hidden, sigmoid output, BCELoss
    """
    check_choice("card", "format", format, FORMATS)
    title, subtitle, rows = card_rows(layers, activation, output, loss, notation,
                                      momentum=momentum, bias=bias)
    return _render(title, subtitle, rows, format)


def card_rows(layers: Sequence[int] = (2, 3, 1), activation: str = "tanh",
              output: str | None = "sigmoid", loss: Any = "bce", notation: str = "batch", *,
              momentum: bool = True, bias: bool = True) -> tuple[str, str, list[Row]]:
    """The card's title, notation line and rows ``(step, equation, shapes)``: what
    :func:`card` renders, and the cards of ``deltaprop card --quiz``.

    >>> card_rows([2, 1], "tanh", "sigmoid", "bce")[2][0][0]
    '1 forward'
    """
    try:
        sizes = [check_integer("card", "layers", n, low=1) for n in layers]
    except (InvalidParameterError, TypeError):       # a width that is not one, or no list
        sizes = []
    if len(sizes) < 2:
        raise refuse("card", "layers", "at least 2 positive integer widths", layers)
    nota = get_notation(notation)
    hidden = get_activation(activation)
    loss_fn = get_loss(loss)
    out_act = get_activation(output) if output is not None else None
    if loss_fn.link == "softmax" and out_act is not None:
        if type(out_act).__name__ != "Softmax":
            raise ValueError(f"cross-entropy pairs with a softmax (or no) output, got {output!r}")
        out_act = None                              # the loss applies the softmax (fused)
    spec = output_spec(loss_fn, out_act, sizes[-1])
    rows = _forward_rows(nota, sizes, hidden, spec, bias)
    act = _shapes(nota.name)[0]
    *first, last = output_delta_equation(nota, spec, len(sizes) - 1).split(";  ")
    rows += [("2 output delta", part, "") for part in first]          # one row per part
    rows.append(("2 output delta", last, shape_text(act(sizes[-1]))))
    rows += _gradient_rows(nota, sizes, hidden, bias)
    rows += _update_rows(nota, momentum, bias)
    title = (f"Backpropagation memory card: {'-'.join(map(str, sizes))} network, "
             f"{type(hidden).__name__.lower()} hidden, {spec.activation} output, "
             f"{type(loss_fn).__name__}")
    if spec.fused:
        title += f" (on logits: the loss applies {spec.activation})"
    return title, nota.title, rows


Row = tuple[str, str, str]                                   # (step, equation, shapes)


def _forward_rows(nota, sizes: list[int], hidden, spec, bias: bool) -> list[Row]:
    """Step 1: Z = A Wᵀ (+ b) and A = φ(Z) for every layer, with their shapes."""
    s, sup, L = nota.symbols, nota.sup, len(sizes) - 1
    act, weight, bias_shape = _shapes(nota.name)
    rows: list[Row] = []
    for i in range(1, L + 1):
        n_in, n_out = sizes[i - 1], sizes[i]
        shapes = {"A": act(n_in), "W": weight(n_out, n_in)}
        if bias:
            shapes["b"] = bias_shape(n_out)
        rows.append(("1 forward", nota.equation("z", bias, l=sup(i), p=sup(i - 1)),
                     nota.shape_check("z", shapes, act(n_out))))
        output = spec.activation if spec.fused else spec.layer
        phi = function_text(hidden if i < L else output, f"{s['Z']}{sup(i)}")
        rows.append(("1 forward", nota.equation("a", l=sup(i), phi=phi),
                     f"record {s['A']}{sup(i - 1)}, {s['Z']}{sup(i)}, {s['A']}{sup(i)}"))
    return rows


def _gradient_rows(nota, sizes: list[int], hidden, bias: bool) -> list[Row]:
    """Steps 3 to 5: the hidden deltas, the weight gradients, the bias gradients."""
    s, sup, L = nota.symbols, nota.sup, len(sizes) - 1
    act, weight, bias_shape = _shapes(nota.name)
    rows: list[Row] = []
    for i in range(L, 1, -1):
        grad = nota.equation("grad_a_prev", l=sup(i), p=sup(i - 1)).split(" = ", 1)[1]
        A, Z, d = s["A"] + sup(i - 1), s["Z"] + sup(i - 1), s["d"] + sup(i - 1)
        if type(hidden).__name__ == "Softmax":         # full Jacobian: its JVP, not ⊙ φ′
            eq = softmax_backward_equation(nota, A, f"({grad})", d)
        else:
            eq = nota.equation("delta", l=sup(i), p=sup(i - 1),
                               dphi=derivative_text(hidden, A, Z))
            eq = eq.replace(f" = {s['gA']}{sup(i - 1)} ", f" = ({grad}) ")
        rows.append(("3 hidden delta", eq, shape_text(act(sizes[i - 1]))))
    if L == 1:
        rows.append(("3 hidden delta", "none: no hidden layer", ""))
    for i in range(L, 0, -1):
        rows.append(("4 weight gradient", nota.equation("grad_weight", l=sup(i), p=sup(i - 1)),
                     nota.shape_check("grad_weight", {"d": act(sizes[i]),
                                                      "A": act(sizes[i - 1])},
                                      weight(sizes[i], sizes[i - 1]))))
    if not bias:
        return [*rows, ("5 bias gradient", "none: the network has no biases", "")]
    return rows + [("5 bias gradient", nota.equation("grad_bias", l=sup(i)),
                    shape_text(bias_shape(sizes[i]))) for i in range(L, 0, -1)]


def _update_rows(nota, momentum: bool, bias: bool = True) -> list[Row]:
    s = nota.symbols
    if nota.name == "haykin":           # the batch mean −∂L/∂W (one sample: η δ yᵀ)
        gW, gb = f"({s['gW']})", f"({s['gb']})"
        if momentum:
            rows = [("6 update", f"ΔW(n) = α ΔW(n−1) + η {gW};  W ← W + ΔW", "same shape as W"),
                    ("6 update", f"Δb(n) = α Δb(n−1) + η {gb};  b ← b + Δb", "same shape as b")]
            return rows if bias else rows[:1]
        return [("6 update", f"W ← W + η {gW}" + (f";  b ← b + η {gb}" if bias else ""),
                 "same shapes as W, b" if bias else "same shape as W")]
    lr, assign = s["lr"], ":=" if nota.name == "ng" else "←"
    if momentum:
        rows = [("6 update", f"v ← μ v + {s['gW']};  W {assign} W − {lr} v", "v same shape as W"),
                ("6 update", f"u ← μ u + {s['gb']};  b {assign} b − {lr} u", "u same shape as b")]
        return rows if bias else rows[:1]
    return [("6 update", f"W {assign} W − {lr} {s['gW']}"
             + (f";  b {assign} b − {lr} {s['gb']}" if bias else ""),
             "same shapes as W, b" if bias else "same shape as W")]


def _render(title: str, subtitle: str, rows, format: str) -> str:
    if format == "markdown":
        lines = [f"### {title}", "", f"Notation: {subtitle}", "", "| step | equation | shapes |",
                 "|---|---|---|"]
        lines += [f"| {step} | `{eq}` | `{shape}` |" for step, eq, shape in rows]
        return "\n".join(lines) + "\n"
    width = max(len(eq) for _, eq, _ in rows)
    lines, last = [title, f"notation: {subtitle}", ""], None
    for step, eq, shape in rows:
        label = step if step != last else ""
        last = step
        lines.append(f"{label:<18}{eq:<{width}}   {shape}".rstrip())
    return "\n".join(lines) + "\n"
