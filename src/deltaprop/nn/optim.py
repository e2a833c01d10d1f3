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
        kernels = self._kernels(param, grad)
        if kernels is not None:                  # the same step, one pass, in place
            self._run_kernel(kernels, state, param, grad, None)
            return
        factor, change = self._change(state, param, grad)
        if factor is not None:
            param *= factor
        param -= change

    def updated(self, state: dict, param: Array, grad: Array) -> Array:
        """The same step out of place: the new parameter as a NEW array, ``param`` and the
        old state arrays untouched (``fit`` checks it before keeping it)."""
        return self.updated_and_finite(state, param, grad)[0]

    def updated_and_finite(self, state: dict, param: Array,
                           grad: Array) -> tuple[Array, bool | None]:
        """``updated``, and whether every new parameter is finite: the kernel finds it out in
        its pass; None when the NumPy path ran (the caller checks, if it must)."""
        kernels = self._kernels(param, grad)
        if kernels is not None:
            new = np.empty_like(param)
            return new, self._run_kernel(kernels, state, param, grad, new)
        factor, change = self._change(state, param, grad)
        if factor is None:
            return param - change, None
        new = param * factor
        new -= change
        return new, None

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

    def _kernels(self, param: Array, grad: Array):
        """The kernel module for this step, or None for the NumPy path: no kernel for this
        class, ``fused=False``, numba missing, or arrays other than NumPy float32/float64
        with a C-ordered parameter."""
        kernels = _fused.kernels_for(self.fused, param, grad)
        if (kernels is None or type(self) not in _FUSED_CLASSES
                or not param.flags.c_contiguous or grad.shape != param.shape):
            return None
        return kernels

    def _run_kernel(self, kernels, state, param, grad, new_param):  # pragma: no cover
        """The step as one kernel pass: into ``new_param`` and new state arrays (returns
        whether every new parameter is finite), or in place when ``new_param`` is None
        (returns None)."""
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
        """``_change`` and ``W ← W − η g`` in one pass (see ``Optimizer._run_kernel``)."""
        cast, velocity = param.dtype.type, state.get("velocity")
        first = velocity is None                                # then v = g: v not read
        rule = (cast(self.lr), cast(self.momentum), cast(1 - self.dampening),
                cast(self.weight_decay), self.nesterov, first)
        if new_param is None:                                   # in place
            if not self.momentum:
                velocity = param                                # neither read nor written
            else:                                               # written: our own array
                velocity = state["velocity"] = np.empty_like(param) if first else \
                    _state_for_kernel("SGD", "velocity", velocity, param, writable=True)
            _fused.pick(kernels, "sgd_in_place", param.size)(
                param.reshape(-1), _fused.flat(grad), velocity.reshape(-1), *rule)
            return None
        velocity = param if not self.momentum or first else \
            _state_for_kernel("SGD", "velocity", velocity, param, writable=False)
        new_velocity = np.empty_like(param) if self.momentum else new_param   # (not written)
        finite = _fused.pick(kernels, "sgd", param.size)(      # threads: a large parameter
            param.reshape(-1), _fused.flat(grad), velocity.reshape(-1), new_param.reshape(-1),
            new_velocity.reshape(-1), *rule)
        if self.momentum:
            state["velocity"] = new_velocity
        return bool(finite)


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
        """``_change`` and the step in one pass (see ``Optimizer._run_kernel``)."""
        if not state:
            state.update(step=0, m=np.zeros_like(param), v=np.zeros_like(param))
        state["step"] += 1
        t, (beta1, beta2), cast = state["step"], self.betas, param.dtype.type
        decay = self._decay_factor()
        l2 = self.weight_decay if type(self) is Adam else 0.0     # AdamW decays W instead
        rule = (cast(1.0 if decay is None else decay), cast(self.lr / (1 - beta1 ** t)),
                cast(beta1), cast(1 - beta1), cast(beta2), cast(1 - beta2),
                cast(math.sqrt(1 - beta2 ** t)), cast(self.eps), cast(l2))
        if new_param is None:
            name = type(self).__name__                          # written in place: our own
            m = state["m"] = _state_for_kernel(name, "m", state["m"], param, writable=True)
            v = state["v"] = _state_for_kernel(name, "v", state["v"], param, writable=True)
            _fused.pick(kernels, "adam_in_place", param.size)(
                param.reshape(-1), _fused.flat(grad), m.reshape(-1), v.reshape(-1), *rule)
            return None
        m, v = (_state_for_kernel(type(self).__name__, key, state[key], param, writable=False)
                for key in ("m", "v"))
        new_m, new_v = np.empty_like(param), np.empty_like(param)
        finite = _fused.pick(kernels, "adam", param.size)(     # threads: a large parameter
            param.reshape(-1), _fused.flat(grad), m, v, new_param.reshape(-1),
            new_m.reshape(-1), new_v.reshape(-1), *rule)
        state["m"], state["v"] = new_m, new_v
        return bool(finite)

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


def _state_for_kernel(owner: str, key: str, array: Array, param: np.ndarray, *,
                      writable: bool) -> np.ndarray:
    """State array ``key`` as a kernel reads it (a flat view), or writes it in place
    (``writable``: a C-ordered array of the parameter's dtype, a copy when it is not one).
    A kernel indexes it as it indexes the parameter, so a shape that differs (a state loaded
    for another model) is refused here, never read past its end."""
    if tuple(np.shape(array)) != param.shape:
        raise ValueError(f"{owner} state {key!r} has shape {tuple(np.shape(array))}, but its "
                         f"parameter has shape {param.shape}: a state from another model?")
    if writable:
        return np.ascontiguousarray(array, dtype=param.dtype)
    return _fused.flat(np.asarray(array, dtype=param.dtype))


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
