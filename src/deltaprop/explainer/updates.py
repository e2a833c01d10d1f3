r"""The update step of each parameter, with the optimiser state before and after.

Each update is written as a chain of assignments, read left to right (``;`` separates them),
each shown with its numbers so that every one can be redone by hand:

- SGD (PyTorch's rule): :math:`g = \partial L/\partial W + \lambda W` (weight decay),
  :math:`v \leftarrow \mu v + (1 - \tau) g` (momentum, the buffer starts as :math:`g`),
  :math:`W \leftarrow W - \eta v` (or :math:`W - \eta (g + \mu v)` with Nesterov);
- Haykin writes the same SGD step as :math:`\Delta W(n) = \alpha \Delta W(n-1) + \eta
  (-\partial L/\partial W)`, :math:`W \leftarrow W + \Delta W` (so :math:`\Delta W = -\eta v`);
- Adam: :math:`t \leftarrow t + 1`, the moments :math:`m, v`, their bias corrections
  :math:`\hat m = m/(1 - \beta_1^t)`, :math:`\hat v = v/(1 - \beta_2^t)` and
  :math:`W \leftarrow W - \eta \hat m/(\sqrt{\hat v} + \epsilon)` (AdamW decays W first).
"""

from __future__ import annotations

import numpy as np

from ..nn.optim import SGD, Adam, AdamW
from .notations import Context, Notation
from .recording import LayerCopy, ParamUpdate, Recording


def constants(rec: Recording, nota: Notation) -> dict[str, float]:
    """The optimiser's numbers under the symbols this notation's update equations use."""
    opt, lr = rec.optimizer, nota.symbols["lr"]
    values: dict[str, float] = {nota.symbols["N"]: float(rec.n_samples)}
    if opt is None:
        return values
    values[lr] = float(opt.lr)
    if isinstance(opt, SGD):
        momentum = "α" if nota.name == "haykin" else "μ"
        for symbol, number in ((momentum, opt.momentum), ("τ", opt.dampening),
                               ("λ", opt.weight_decay)):
            if number:
                values[symbol] = float(number)
    elif isinstance(opt, Adam):
        values.update({"β₁": float(opt.betas[0]), "β₂": float(opt.betas[1]),
                       "ε": float(opt.eps)})
        if opt.weight_decay:
            values["λ"] = float(opt.weight_decay)
    return values


class _Writer:
    """Collects the parts of one update equation and the values each part computes."""

    def __init__(self, nota: Notation, ctx: Context, role: str):
        self.nota, self.ctx, self.role = nota, ctx, role
        self.parts: list[str] = []
        self.values: list = []

    def given(self, symbol: str, array, slot: str) -> None:
        self._add(symbol, array, slot, True)

    def part(self, equation: str, symbol: str, array, slot: str) -> None:
        self.parts.append(equation)
        self._add(symbol, array, slot, False)

    def _add(self, symbol: str, array, slot: str, given: bool) -> None:
        from .trace import Value
        if np.ndim(array) == 0:
            self.values.append(Value(symbol, np.asarray(array, dtype=np.float64), "scalar",
                                     slot, given=given))
        else:
            self.values.append(Value(symbol, self.nota.show(self.role, array, self.ctx),
                                     self.role, slot, given=given))


def update_parts(rec: Recording, nota: Notation, ctx: Context, layer: LayerCopy,
                 key: str) -> tuple[str, list]:
    """The equation (parts joined by ``;``) and the values of one parameter's update."""
    s, sup, i = nota.symbols, nota.sup, layer.index
    P = (s["W"] if key == "weight" else "b") + sup(i)
    G = (s["gW"] if key == "weight" else s["gb"]) + sup(i)
    update = layer.updates[key]
    out = _Writer(nota, ctx, key)
    out.given(P, update.before, key)
    opt = rec.optimizer
    if isinstance(opt, SGD) and nota.name == "haykin":
        _haykin_sgd(out, opt, update, P, G, layer, key)
    elif isinstance(opt, SGD):
        _sgd(out, opt, update, P, G, layer, key)
    elif isinstance(opt, Adam):
        _adam(out, opt, update, P, G, layer, key)
    else:
        raise ValueError(f"explain shows SGD, Adam and AdamW steps, got {type(opt).__name__}")
    return ";  ".join(out.parts), out.values


def _grad(layer: LayerCopy, key: str) -> np.ndarray:
    return layer.grad_weight if key == "weight" else layer.grad_bias


def _sgd(out: _Writer, opt: SGD, update: ParamUpdate, P: str, G: str, layer, key) -> None:
    nota = out.nota
    lr, assign = nota.symbols["lr"], ":=" if nota.name == "ng" else "←"
    g, grad = G, _grad(layer, key)
    if opt.weight_decay:
        g, grad = f"g_{P}", grad + opt.weight_decay * update.before
        out.part(f"{g} = {G} + λ {P}", g, grad, "decayed_grad")
    step = g
    if opt.momentum:
        v = f"v_{P}"
        first = "velocity" not in update.state_before
        out.given(v, np.zeros_like(update.before) if first
                  else update.state_before["velocity"], "velocity_before")
        damped = f"(1 − τ) {g}" if opt.dampening else g
        out.part(f"{v} ← {g} (first step: the buffer starts as the gradient)"
                 if first and opt.dampening else f"{v} ← μ {v} + {damped}",
                 f"{v} (after)", update.state_after["velocity"], "velocity")
        step = f"({g} + μ {v})" if opt.nesterov else v
    out.part(f"{P} {assign} {P} − {lr} {step}", f"{P} (after)", update.after, f"new_{key}")


def _haykin_sgd(out: _Writer, opt: SGD, update: ParamUpdate, P: str, G: str, layer,
                key) -> None:
    r"""Haykin's ΔW = α ΔW(n−1) + η (−∂L/∂W): the same step, :math:`\Delta W = -\eta v`."""
    g, grad = G, -_grad(layer, key)                  # Haykin shows −∂L/∂W
    if opt.weight_decay:
        g, grad = f"−g_{P}", grad - opt.weight_decay * update.before
        out.part(f"{g} = {G} − λ {P}", g, grad, "decayed_grad")           # −(∂L/∂W + λW)
    D, g = f"Δ{P}", f"({g})"                          # η (−∂L/∂W): a product, not η − …
    if not opt.momentum:
        out.part(f"{D} = η {g}", D, update.after - update.before, "step")
        out.part(f"{P} ← {P} + {D}", f"{P} (after)", update.after, f"new_{key}")
        return
    first = "velocity" not in update.state_before
    previous = np.zeros_like(update.before) if first \
        else -opt.lr * update.state_before["velocity"]
    out.given(f"{D}(n−1)", previous, "step_before")
    damped = f"(1 − τ) η {g}" if opt.dampening else f"η {g}"
    out.part(f"{D} = η {g} (first step)" if first and opt.dampening
             else f"{D} = α {D}(n−1) + {damped}", D, -opt.lr * update.state_after["velocity"],
             "step")
    out.part(f"{P} ← {P} + α {D} + η {g}" if opt.nesterov else f"{P} ← {P} + {D}",
             f"{P} (after)", update.after, f"new_{key}")


def _adam(out: _Writer, opt: Adam, update: ParamUpdate, P: str, G: str, layer, key) -> None:
    nota = out.nota
    lr = nota.symbols["lr"]
    g, grad = G, _grad(layer, key)
    if nota.name == "haykin":                        # Adam reads the gradient, not −gradient
        g = f"g_{P}"
        grad = grad + opt.weight_decay * update.before if opt.weight_decay and \
            not isinstance(opt, AdamW) else grad
        out.part(f"{g} = −({G})" + (" + λ " + P if opt.weight_decay
                                     and not isinstance(opt, AdamW) else ""), g, grad, "grad")
    elif opt.weight_decay and not isinstance(opt, AdamW):
        g, grad = f"g_{P}", grad + opt.weight_decay * update.before
        out.part(f"{g} = {G} + λ {P}", g, grad, "decayed_grad")
    base = P
    if isinstance(opt, AdamW) and opt.weight_decay:
        base = f"{P} (decayed)"
        out.part(f"{base} = {P} (1 − {lr} λ)", base, update.before * (1 - opt.lr *
                                                                     opt.weight_decay), "decayed")
    before, after = update.state_before, update.state_after
    zeros = np.zeros_like(update.before)
    out.given("t", np.float64(before.get("step", 0)), "step_count_before")
    out.part("t ← t + 1", "t (after)", np.float64(after["step"]), "step_count")
    for name, beta, power in (("m", "β₁", ""), ("v", "β₂", "²")):
        out.given(f"{name}_{P}", before.get(name, zeros), f"{name}_before")
        out.part(f"{name}_{P} ← {beta} {name}_{P} + (1 − {beta}) {g}{power}",
                 f"{name}_{P} (after)", after[name], name)
    t = after["step"]
    for name, beta in (("m", opt.betas[0]), ("v", opt.betas[1])):
        symbol = "β₁" if name == "m" else "β₂"
        out.part(f"{name}̂_{P} = {name}_{P} / (1 − {symbol}ᵗ)", f"{name}̂_{P}",
                 after[name] / (1 - beta ** t), f"{name}_hat")
    assign = ":=" if nota.name == "ng" else "←"
    out.part(f"{P} {assign} {base} − {lr} m̂_{P} / (√v̂_{P} + ε)", f"{P} (after)",
             update.after, f"new_{key}")
