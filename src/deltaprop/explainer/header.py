"""The lines at the top of a trace: the network, the loss, the notation and the optimiser."""

from __future__ import annotations

from .notations import Context, Notation
from .recording import Recording
from .updates import constants


def _described(layer) -> str:
    """``tanh``, or ``gelu(approximate='tanh')``: the name and any parameter it was built with."""
    extra = layer.activation.extra_repr() if layer.activation is not None and \
        hasattr(layer.activation, "extra_repr") else ""
    return layer.activation_name + (f"({extra})" if extra else "")


def header_lines(recs: list[Recording], ctx: Context, nota: Notation) -> list[str]:
    """The trace's header: the network, the loss, the notation, dropout, the optimiser."""
    rec = recs[0]
    sizes = [rec.layers[0].weight.shape[1]] + [layer.weight.shape[0] for layer in rec.layers]
    hidden = sorted({_described(layer) for layer in rec.layers[:-1]})
    output = _described(rec.layers[-1])
    if rec.fused:
        output = f"logits; the loss applies {rec.loss.link}"
    lines = [f"network {'-'.join(map(str, sizes))}"
             + (f", {'/'.join(hidden)} hidden" if hidden else "") + f", output {output}"
             + ("" if rec.has_bias else ", no biases"),
             f"loss {type(rec.loss).__name__} (batch mean), N = {rec.n_samples} samples, "
             f"computed in {rec.layers[0].z.dtype}",
             f"notation: {nota.title}"]
    dropout = rec.extras.get("dropout", [])
    if dropout:
        where = ", ".join(f"p = {p:g} after layer {index}" for index, p in dropout)
        lines.append(f"dropout ({where}) is on in this trace: the step runs in training mode, "
                     "as fit runs it, with the masks the Dropout layers drew"
                     if rec.dropout_mode == "train" else
                     f"dropout ({where}) is off in this trace: explain runs the model in "
                     "evaluation mode, where Dropout passes A through unchanged "
                     "(dropout='train' shows the training step, masks and all)")
    if nota.one_sample:
        lines.append(f"one sample shown as column vectors: n = {ctx.sample}; the batch sums "
                     "also show every sample, one column each")
    opt = rec.optimizer
    if opt is not None:
        numbers = ", ".join(f"{symbol} = {value:g}"
                            for symbol, value in constants(rec, nota).items()
                            if symbol != nota.symbols["N"])
        lines.append(f"optimizer {type(opt).__name__}: {numbers}"
                     + (f"; {len(recs)} steps on the same batch" if len(recs) > 1 else ""))
    return lines
