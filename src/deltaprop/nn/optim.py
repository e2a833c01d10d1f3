r"""Optimisers, sorted by increasing complexity: ``SGD``, ``Adam``, ``AdamW``.

Each is one short ``update`` with its per-parameter state, following PyTorch's update rules
(``torch.optim``, ``foreach=False``), so a trajectory matches PyTorch step for step.  The
parameters are updated in place: gradient DEscent, :math:`W \leftarrow W - \eta\,\partial L/
\partial W` (docs/notation-guide.md).

Only ``model`` and ``lr`` may be passed by position; every other argument is keyword-only,
because PyTorch's positional order differs (``torch.optim.SGD(params, lr, momentum,
dampening, ...)``): ``SGD(model, 0.1, 0.9)`` raises a ``TypeError`` that shows the keywords.
Every number is checked (:mod:`deltaprop._checks`): a finite real number in its interval,
NumPy scalars included, never a bool.

``fused`` (as PyTorch's): ``None`` runs each parameter's whole update as one fused numba kernel
when numba is installed and the arrays are NumPy float32/float64 (:mod:`deltaprop.nn.fused`),
``True`` requires the kernel, ``False`` keeps the NumPy lines below.  Only ``SGD``, ``Adam`` and
``AdamW`` themselves have kernels; a subclass takes the NumPy path (its rule may differ).
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from .._checks import InvalidParameterError, check_flag, check_number
from . import fused as _fused
from ._backend import Array, namespace, to_namespace, to_numpy


class Optimizer:
    r"""Base class: holds the model's parameter references, the learning rate and the state.

    The optimisers below define ``_change(state, param, grad) -> (factor, change)``, the step
    :math:`W \leftarrow \text{factor} \cdot W - \text{change}` (``factor`` None: 1), and put
    NEW arrays in ``state`` rather than writing into the old ones; ``update`` applies it in
    place, ``updated`` out of place.  A custom optimiser may define ``update`` alone.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Optimizer:
        _refuse_positional_options(cls, args)
        return super().__new__(cls)

    def __init__(self, model: Any, lr: float, *, fused: bool | None = None) -> None:
        if not hasattr(model, "parameter_refs"):
            raise TypeError(f"{type(self).__name__} expects a deltaprop model (a Sequential), "
                            f"got {type(model).__name__}")
        self.model = model
        self.lr = check_number(type(self).__name__, "lr", lr, low=0.0)
        self.fused = _fused.check_mode(type(self).__name__, fused)
        self.state: dict[str, dict[str, Any]] = {}

    def step(self) -> None:
        """Update every parameter in place from the gradients of the last backward pass."""
        for name, layer, key in self.model.parameter_refs():
            self.update(self.state.setdefault(name, {}), layer.params[key], layer.grads[key])

    def update(self, state: dict, param: Array, grad: Array) -> None:
        r"""One parameter's step, in place: :math:`W \leftarrow \text{factor} \cdot W -
        \text{change}`."""
        if self._fused_step(state, param, grad, in_place=True) is not None:
            return
        factor, change = self._change(state, param, grad)
        if factor is not None:
            param *= factor
        param -= change

    def updated(self, state: dict, param: Array, grad: Array) -> Array:
        """The same step out of place: the new parameter as a NEW array, ``param`` and the
        old state arrays untouched (``fit`` checks it before keeping it)."""
        new = self._fused_step(state, param, grad, in_place=False)
        if new is not None:
            return new
        factor, change = self._change(state, param, grad)
        if factor is None:
            return param - change
        new = param * factor
        new -= change
        return new

    @property
    def steps_out_of_place(self) -> bool:
        """True when ``updated`` computes what ``step`` would and writes into no array it was
        given: the base ``step``, ``update`` and ``updated`` around a ``_change`` whose class
        declares ``pure_change = True`` (SGD's, Adam's).  A subclass that overrides
        ``_change`` without that promise may write into its state arrays in place: ``fit``
        then guards its steps with copies."""
        cls = type(self)
        owner = next(klass for klass in cls.__mro__ if "_change" in vars(klass))
        return (cls.step is Optimizer.step and cls.update is Optimizer.update
                and cls.updated is Optimizer.updated and vars(owner).get("pure_change", False))

    def _change(self, state: dict, param: Array, grad: Array):  # pragma: no cover
        raise NotImplementedError(f"{type(self).__name__} must define update or _change")

    def _fused_step(self, state: dict, param: Array, grad: Array, *,
                    in_place: bool) -> Array | None:
        """The step as one kernel pass (the new parameter: ``param`` itself when
        ``in_place``, else a new array, the state then in new arrays too), or None when the
        kernel does not apply: no kernel for this class, ``fused=False``, numba missing, or
        arrays other than C-ordered NumPy float32/float64."""
        kernels = _fused.kernels_for(self.fused, param, grad)
        if (kernels is None or type(self) not in _FUSED_CLASSES
                or not param.flags.c_contiguous or grad.shape != param.shape):
            return None
        # The kernel always writes new arrays, and an in-place step copies the parameter back:
        # with its input and output arrays the same, LLVM's alias checks fall back to a
        # scalar loop (measured 5x slower on a 784x256 weight; the copy costs a fraction).
        new_param = np.empty_like(param)
        self._run_kernel(kernels, state, param, grad, new_param)
        if in_place:
            np.copyto(param, new_param)
            return param
        return new_param

    def _run_kernel(self, kernels, state, param, grad, new_param):  # pragma: no cover
        raise NotImplementedError

    def zero_grad(self) -> None:
        self.model.zero_grad()

    def state_dict(self) -> dict[str, Any]:
        """The learning rate and every state array (as NumPy), for checkpoints."""
        return {"lr": self.lr,
                "state": {name: {k: (np.array(to_numpy(v)) if hasattr(v, "shape") else v)
                                 for k, v in slot.items()}
                          for name, slot in self.state.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        like = next(iter(dict(self.model.named_parameters()).values()))
        self.lr = float(state["lr"])
        self.state = {name: {k: (to_namespace(np.array(v), like=like) if hasattr(v, "shape")
                                 else v) for k, v in slot.items()}
                      for name, slot in state["state"].items()}


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional momentum, Nesterov and L2 weight decay.

    .. math::
        g &\leftarrow \partial L/\partial W + \lambda W \\
        v &\leftarrow \mu v + (1 - \tau) g \quad (v = g \text{ on the first step}) \\
        W &\leftarrow W - \eta\,(g + \mu v \text{ if nesterov else } v)

    Haykin's error-correction momentum :math:`\Delta W(n) = \alpha \Delta W(n-1) + \eta
    \delta y^\top` is the same update with :math:`\Delta W = -\eta v` and :math:`\mu = \alpha`.

    ``SGD(model, lr, *, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False)``:
    ``lr`` (:math:`\eta`) and ``weight_decay`` (:math:`\lambda`) finite numbers >= 0,
    ``momentum`` (:math:`\mu`) in ``[0, 1)``, ``dampening`` (:math:`\tau`) in ``[0, 1]``,
    ``nesterov`` ``True`` / ``False`` (it needs momentum > 0 and dampening 0); anything else
    raises :class:`~deltaprop.InvalidParameterError`.
    """

    pure_change = True      # _change puts new arrays in the state (fit steps out of place)

    def __init__(self, model: Any, lr: float = 0.01, *, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False, fused: bool | None = None) -> None:
        super().__init__(model, lr, fused=fused)
        self.momentum = check_number("SGD", "momentum", momentum, low=0.0, high=1.0)
        self.weight_decay = check_number("SGD", "weight_decay", weight_decay, low=0.0)
        self.dampening = check_number("SGD", "dampening", dampening, low=0.0, high=1.0,
                                       high_open=False)
        nesterov = check_flag("SGD", "nesterov", nesterov)
        if nesterov and (self.momentum == 0 or self.dampening != 0):
            raise InvalidParameterError("SGD nesterov=True needs momentum > 0 and dampening = 0, "
                                        f"got momentum={momentum!r}, dampening={dampening!r}")
        self.nesterov = bool(nesterov)

    def _change(self, state, param, grad):
        if self.weight_decay:
            grad = grad + self.weight_decay * param                 # L2: g + λW
        if self.momentum:
            velocity = state.get("velocity")
            if velocity is None:
                velocity = grad * 1                                 # v₁ = g₁ (a copy)
            else:
                velocity = velocity * self.momentum                 # v ← μ v + (1 − τ) g
                # a new v (the old one stays intact), then in place, and with τ = 0 no
                # (1 − τ) g temporary: one pass less over g
                velocity += (1 - self.dampening) * grad if self.dampening else grad
            state["velocity"] = velocity
            grad = grad + self.momentum * velocity if self.nesterov else velocity
        return None, self.lr * grad                                 # W ← W − η g

    def _run_kernel(self, kernels, state, param, grad, new_param):
        """``_change`` and ``W ← W − η g`` in one pass over ``param`` into ``new_param`` (the
        velocity into a new array)."""
        cast, velocity = param.dtype.type, state.get("velocity")
        old_velocity = new_velocity = new_param                 # not read without momentum
        if self.momentum:
            old_velocity = param if velocity is None else velocity     # not read at first
            new_velocity = np.empty_like(param)
            state["velocity"] = new_velocity
        sgd = _fused.pick(kernels, "sgd", param.size)   # threads for a large parameter
        sgd(_fused.flat(param), _fused.flat(grad), _fused.flat(old_velocity),
            new_param.reshape(-1), new_velocity.reshape(-1), cast(self.lr),
            cast(self.momentum), cast(1 - self.dampening), cast(self.weight_decay),
            self.nesterov, velocity is None)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba) with bias correction, as ``torch.optim.Adam``.

    .. math::
        m &\leftarrow \beta_1 m + (1-\beta_1) g, \qquad v \leftarrow \beta_2 v + (1-\beta_2) g^2\\
        W &\leftarrow W - \frac{\eta}{1-\beta_1^t}\,
             \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}

    ``weight_decay`` adds :math:`\lambda W` to the gradient (L2); ``AdamW`` decouples it.

    ``Adam(model, lr, *, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)``: ``lr``, ``eps``
    and ``weight_decay`` finite numbers >= 0, ``betas`` a pair of numbers in ``[0, 1)``;
    anything else raises :class:`~deltaprop.InvalidParameterError`.
    """

    pure_change = True      # _change puts new arrays in the state (fit steps out of place)

    def __init__(self, model: Any, lr: float = 0.001, *,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, fused: bool | None = None) -> None:
        super().__init__(model, lr, fused=fused)
        name = type(self).__name__
        if not isinstance(betas, (tuple, list, np.ndarray)) or len(betas) != 2:
            raise InvalidParameterError(f"{name} betas must be a pair (beta1, beta2), got "
                                        f"{betas!r}")
        self.betas = (check_number(name, "betas[0]", betas[0], low=0.0, high=1.0),
                      check_number(name, "betas[1]", betas[1], low=0.0, high=1.0))
        self.eps = check_number(name, "eps", eps, low=0.0)
        self.weight_decay = check_number(name, "weight_decay", weight_decay, low=0.0)

    def _change(self, state, param, grad):
        beta1, beta2 = self.betas
        if not state:
            state.update(step=0, m=grad * 0, v=grad * 0)
        state["step"] += 1
        t = state["step"]
        grad = self._l2(param, grad)
        # new m and v (the old ones stay intact)
        m = state["m"] = state["m"] * beta1                          # m ← β₁m + (1 − β₁)g
        m += (1 - beta1) * grad
        v = state["v"] = state["v"] * beta2                          # v ← β₂v + (1 − β₂)g²
        v += (1 - beta2) * grad * grad
        xp = namespace(param)
        denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** t) + self.eps
        return self._decay_factor(), (self.lr / (1 - beta1 ** t)) * m / denom

    def _run_kernel(self, kernels, state, param, grad, new_param):
        """``_change`` and the step in one pass over ``param`` into ``new_param`` (m and v into
        new arrays)."""
        if not state:
            state.update(step=0, m=np.zeros_like(param), v=np.zeros_like(param))
        state["step"] += 1
        t, (beta1, beta2), cast = state["step"], self.betas, param.dtype.type
        m, v = state["m"], state["v"]
        new_m, new_v = np.empty_like(param), np.empty_like(param)
        decay = self._decay_factor()
        l2 = self.weight_decay if type(self) is Adam else 0.0     # AdamW decays W instead
        adam = _fused.pick(kernels, "adam", param.size)  # threads for a large parameter
        adam(_fused.flat(param), _fused.flat(grad), _fused.flat(m), _fused.flat(v),
             new_param.reshape(-1), new_m.reshape(-1), new_v.reshape(-1),
             cast(1.0 if decay is None else decay), cast(self.lr / (1 - beta1 ** t)),
             cast(beta1), cast(1 - beta1), cast(beta2), cast(1 - beta2),
             cast(math.sqrt(1 - beta2 ** t)), cast(self.eps), cast(l2))
        state["m"], state["v"] = new_m, new_v

    def _l2(self, param, grad):
        return grad + self.weight_decay * param if self.weight_decay else grad

    def _decay_factor(self) -> float | None:
        return None


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``:
    :math:`W \leftarrow W(1 - \eta\lambda)` before the Adam step.  Default ``weight_decay=0.01``.
    """

    def __init__(self, model: Any, lr: float = 0.001, *,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, fused: bool | None = None) -> None:
        super().__init__(model, lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         fused=fused)

    def _l2(self, param, grad):
        return grad

    def _decay_factor(self) -> float | None:
        return 1 - self.lr * self.weight_decay if self.weight_decay else None   # W(1 − ηλ)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}
_FUSED_CLASSES = (SGD, Adam, AdamW)      # exactly these: a subclass may change the rule


def get_optimizer(optimizer: Any, model: Any, **kwargs: Any) -> Optimizer:
    """An optimiser instance from an instance, a class or a name (``"sgd"``, ``"adam"``, ...)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        return optimizer(model, **kwargs)
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
        raise InvalidParameterError(f"unknown optimizer {optimizer!r}; valid names: "
                                    f"{', '.join(sorted(OPTIMIZERS))}")
    return OPTIMIZERS[optimizer.lower()](model, **kwargs)


def _refuse_positional_options(cls: type, args: tuple) -> None:
    """A ``TypeError`` showing the keywords when ``cls`` gets more positional arguments than
    its ``__init__`` takes before ``*`` (``SGD(model, 0.1, 0.9)``): Python's own message would
    only count them, and PyTorch users expect a different positional order."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]      # drop self
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keywords = [p for p in params if p.kind is p.KEYWORD_ONLY]
    if len(args) <= len(positional) or not keywords \
            or any(p.kind is p.VAR_POSITIONAL for p in params):
        return                                        # nothing to add to Python's own check
    names = [p.name for p in positional]
    by_position = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    options = ", ".join(f"{p.name}={p.default!r}" for p in keywords)
    extra = ", ".join(repr(value) for value in args[len(positional):])
    raise TypeError(f"{cls.__name__} takes {by_position} by position and every other argument "
                    f"by keyword (PyTorch's positional order differs): "
                    f"{cls.__name__}({', '.join(names)}, *, {options}); got {extra} after "
                    f"{names[-1]}")
