r"""Run the real engine once and keep host copies of what it recorded.

``record_step`` runs :func:`deltaprop.training.train_step` — the step ``fit`` takes — with a
:class:`_Recorder` as its optimiser: the recorder copies the quantities the layers recorded
(:meth:`deltaprop.Sequential.records`) and then takes the optimiser's step (if there is an
optimiser), so the copies hold the weights from before the update.  Every
number the explainer shows comes from here: nothing is recomputed, except the probabilities
:math:`A^{(L)}` of a model that ends in logits, which are computed with the engine's own
``deltaprop.nn.functional.apply_link`` (the loss computes them the same way inside).

``dropout="train"`` runs the step in training mode, as ``fit`` does: each Dropout layer draws
its mask from its own generator and the recorder keeps it (:class:`DropoutCopy`), with what
went in and out of the layer both ways.  ``dropout="off"`` runs it in evaluation mode, where
Dropout passes everything through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_integer
from ..nn._backend import namespace, to_numpy
from ..nn.activations import Activation, Identity
from ..nn.functional import apply_link
from ..nn.layers import Dense, Dropout
from ..nn.losses import Loss, get_loss
from ..nn.optim import SGD, Adam, Optimizer
from ..training import step as training
from ..training.validation import check_data
from .outputs import OutputSpec, loss_kind

if TYPE_CHECKING:
    from ..nn.model import Sequential


@dataclass
class ParamUpdate:
    """One parameter's optimiser step: the values and the optimiser state before and after."""

    before: np.ndarray
    after: np.ndarray
    state_before: dict[str, Any]    # {} on the first step (SGD's empty buffer, Adam's t = 0)
    state_after: dict[str, Any]


DROPOUT_MODES = ("off", "train")


@dataclass
class DropoutCopy:
    r"""What the Dropout after layer ``l`` drew and passed, in training mode (batch rows).

    Forward :math:`\tilde A = A \odot M / (1 - p)`, backward :math:`\partial L/\partial A =
    \partial L/\partial \tilde A \odot M / (1 - p)`; ``scaled`` is :math:`M/(1 - p)` exactly
    as the engine multiplied by it.
    """

    p: float
    mask: np.ndarray                # M (N, n): 1 kept, 0 dropped
    scaled: np.ndarray              # M / (1 − p) (N, n), the engine's own array
    dropped: np.ndarray             # Ã = A ⊙ M / (1 − p) (N, n): what the next Dense read
    grad_dropped: np.ndarray        # ∂L/∂Ã (N, n): what the next Dense passed down


@dataclass
class LayerCopy:
    """Host copies of layer ``l``'s records (batch rows, ``W`` of shape ``(out, in)``)."""

    index: int
    dense: Any                      # the engine's Dense layer (for code locations)
    activation: Any                 # the activation layer after it, or None (logits)
    a_prev: np.ndarray              # A⁽ˡ⁻¹⁾ (N, in)
    weight: np.ndarray              # W⁽ˡ⁾ before the update (out, in)
    bias: np.ndarray | None         # b⁽ˡ⁾ before the update (out,)
    z: np.ndarray                   # Z⁽ˡ⁾ (N, out)
    a: np.ndarray                   # A⁽ˡ⁾ (N, out); probabilities for a logits output
    grad_a: np.ndarray | None       # ∂L/∂A⁽ˡ⁾ as the engine passed it (None for fused logits)
    delta: np.ndarray               # Δ⁽ˡ⁾ = ∂L/∂Z⁽ˡ⁾ (N, out)
    grad_weight: np.ndarray         # ∂L/∂W⁽ˡ⁾ (out, in)
    grad_bias: np.ndarray | None    # ∂L/∂b⁽ˡ⁾ (out,)
    grad_a_prev: np.ndarray | None  # ∂L/∂A⁽ˡ⁻¹⁾ (N, in)
    updates: dict[str, ParamUpdate] = field(default_factory=dict)   # "weight", "bias"
    dropout: DropoutCopy | None = None  # the Dropout after this layer, in training mode

    @property
    def new_weight(self) -> np.ndarray | None:
        """W⁽ˡ⁾ after the update (None without an optimizer)."""
        return self.updates["weight"].after if "weight" in self.updates else None

    @property
    def new_bias(self) -> np.ndarray | None:
        return self.updates["bias"].after if "bias" in self.updates else None

    @property
    def activation_name(self) -> str:
        return "identity" if self.activation is None else type(self.activation).__name__.lower()


@dataclass
class Recording:
    """One forward/backward/update step of a model, as host arrays."""

    layers: list[LayerCopy]
    X: np.ndarray
    Y: np.ndarray                   # targets as (N, n_L) rows (one-hot for integer labels)
    loss: Loss
    loss_value: float
    spec: OutputSpec                # the loss, the output activation, fused or not
    optimizer: Optimizer | None
    iteration: int = 1              # which optimiser step of explain(..., steps=k) this is
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def pairing(self) -> str:
        """The pair's name: "softmax_ce", "sigmoid_bce", "mse" or "general"."""
        spec = self.spec
        if spec.loss == "ce":
            return "softmax_ce"
        if spec.loss == "bce" and spec.activation == "sigmoid":
            return "sigmoid_bce"
        return "mse" if spec.loss == "mse" else "general"

    @property
    def fused(self) -> bool:
        """True when the loss took logits (Δᴸ came from the loss itself)."""
        return self.spec.fused

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.Y.shape[1])

    @property
    def mean_count(self) -> int:
        """The loss mean's denominator: N for cross-entropy, N·n_L for element-wise losses."""
        if self.spec.loss == "ce":
            return self.n_samples
        return self.n_samples * self.n_outputs

    @property
    def has_bias(self) -> bool:
        return any(layer.bias is not None for layer in self.layers)

    @property
    def dropout_mode(self) -> str:
        """``"train"``: the step ran in training mode (masks drawn); ``"off"``: evaluation."""
        return self.extras.get("dropout_mode", "off")


def _host(array) -> np.ndarray | None:
    return None if array is None else np.array(to_numpy(array))


def bce_floors_hit(loss: Loss, probabilities: np.ndarray) -> bool:
    """Did BCE on probabilities floor a log at −100 or A(1 − A) at 1e−12 (as PyTorch)?"""
    if loss.link is not None or loss_kind(loss) != "bce":
        return False
    a = probabilities.astype(np.float64)
    with np.errstate(divide="ignore"):
        logs = np.log(np.concatenate([a.ravel(), 1 - a.ravel()]))
    return bool(np.any(logs < -100) or np.any(a * (1 - a) < 1e-12))


def output_spec(loss: Loss, last_activation: Any, n_outputs: int,
                saturated: bool = False) -> OutputSpec:
    """What the output/loss pair is: which output-delta equation the engine computed."""
    fused = loss.link is not None
    if fused and last_activation is not None and not isinstance(last_activation, Identity):
        raise ValueError(f"{type(loss).__name__} takes logits, but the model ends in "
                         f"{type(last_activation).__name__}: drop the output activation")
    name = (loss.link if fused else "identity" if last_activation is None
            else type(last_activation).__name__.lower())
    return OutputSpec(loss_kind(loss), name, fused, n_outputs,
                      None if fused else last_activation, saturated)


def _check_layers(model) -> None:
    """Dense layers, each followed by at most one activation (dropout anywhere after the first
    Dense): the layer records chain only then, so anything else is refused, not mis-shown."""
    previous = None                                  # "dense", "activation" or None
    for position, layer in enumerate(model.layers):
        if isinstance(layer, Dropout) and previous is not None:
            continue
        kind = "dense" if isinstance(layer, Dense) else \
            "activation" if isinstance(layer, Activation) else None
        if kind is None or (kind == "activation" and previous != "dense"):
            what = "a second activation after one" if previous == "activation" else \
                "before the first Dense" if previous is None else "unsupported"
            raise ValueError(f"explain shows Dense layers each followed by at most one "
                             f"activation (and Dropout); layer {position} "
                             f"({type(layer).__name__}) is {what}")
        previous = kind


def _check_training_dropout(model) -> None:
    """In training mode each Dropout (p > 0) sits between a hidden layer's output and the next
    Dense, one per gap: there the trace shows Ã = A ⊙ M / (1 − p) and its backward step."""
    layers = model.layers
    for position, layer in enumerate(layers):
        if not isinstance(layer, Dropout) or layer.p == 0:
            continue
        before, after = layers[position - 1], layers[position + 1:position + 2]
        if isinstance(before, Dropout):
            what = "comes right after another Dropout"
        elif not after:
            what = "is the last layer (it would drop the network's output)"
        elif not isinstance(after[0], Dense):
            what = f"is followed by layer {position + 1} ({type(after[0]).__name__}), not a Dense"
        else:
            continue
        raise ValueError(f"explain dropout='train' shows a Dropout between a hidden layer's "
                         f"output and the next Dense; layer {position} (Dropout) {what}; "
                         "dropout='off' explains this model in evaluation mode")


def dropout_layers(model: Sequential) -> list[tuple[int, float]]:
    """``(l, p)`` for each Dropout: after Dense layer ``l`` (and its activation)."""
    out, dense = [], 0
    for layer in model.layers:
        dense += isinstance(layer, Dense)
        if isinstance(layer, Dropout):
            out.append((dense, layer.p))
    return out


def check_dropout_mode(dropout: Any) -> str:
    """``dropout`` is ``"off"`` (evaluation mode) or ``"train"`` (training mode, masks drawn)."""
    if not isinstance(dropout, str) or dropout not in DROPOUT_MODES:
        raise ValueError(f"explain dropout must be one of {', '.join(map(repr, DROPOUT_MODES))}"
                         f" (training mode draws and shows the masks), got {dropout!r}")
    return dropout


def _check_arguments(model, loss: Any, optimizer: Optimizer | None, steps: int,
                     dropout: str) -> Loss:
    if not hasattr(model, "records"):
        raise TypeError(f"explain expects a deltaprop Sequential, got {type(model).__name__}")
    check_dropout_mode(dropout)
    _check_layers(model)
    if dropout == "train":
        _check_training_dropout(model)
    loss = get_loss(loss)
    loss_kind(loss)                                  # a loss the trace cannot write: refused
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"explain optimizer must be a deltaprop Optimizer (e.g. SGD(model, "
                        f"lr=0.1)) or None, got {type(optimizer).__name__}")
    if optimizer is not None and optimizer.model is not model:
        raise ValueError("explain optimizer must have been built for this model")
    if optimizer is not None and not isinstance(optimizer, (SGD, Adam)):
        raise TypeError(f"explain shows the steps of SGD, Adam and AdamW, got "
                        f"{type(optimizer).__name__}")
    check_integer("explain", "steps", steps, low=1, rule="a positive integer")
    if steps > 1 and optimizer is None:
        raise ValueError(f"explain steps={steps} needs an optimizer: without one every step "
                         "would be the same")
    return loss


def record_steps(model: Sequential, X: Any, y: Any, loss: Any, optimizer: Optimizer | None = None,
                 steps: int = 1, *, dropout: str = "off") -> list[Recording]:
    """Run ``steps`` training steps (forward, loss, backward, ``optimizer.step()``) on one batch.

    ``dropout="train"``: in training mode, as ``fit``, each Dropout drawing a fresh mask per
    step from its generator (which advances, as in ``fit``); ``"off"``: in evaluation mode."""
    loss = _check_arguments(model, loss, optimizer, steps, dropout)
    X, y = check_data(model, X, y, loss)
    was_training = model.training
    model.train(dropout == "train")                  # "off": Dropout passes A through
    try:
        return [_one_step(model, X, y, loss, optimizer, t, dropout)
                for t in range(1, steps + 1)]
    finally:
        model.train(was_training)


def record_step(model: Sequential, X: Any, y: Any, loss: Any,
                optimizer: Optimizer | None = None, *, dropout: str = "off") -> Recording:
    """Run forward, loss, backward (and ``optimizer.step()``) once; copy every record."""
    return record_steps(model, X, y, loss, optimizer, 1, dropout=dropout)[0]


def _one_step(model, X, y, loss: Loss, optimizer, iteration: int, dropout: str) -> Recording:
    recorder = _Recorder(model, optimizer)
    value = training.train_step(model, X, y, loss=loss, optimizer=recorder)
    copies, records = recorder.copies, recorder.records
    spec = output_spec(loss, records[-1].activation, copies[-1].z.shape[1],
                       saturated=bce_floors_hit(loss, copies[-1].a))
    if spec.fused:                                   # the loss applied the link function
        output = records[-1].z                       # the logits (no Dropout after them)
        copies[-1].a = _host(apply_link(namespace(output), loss.link, output))
        copies[-1].grad_a = None
    Y = _host(y)
    if Y.ndim == 1:                                  # integer labels -> one-hot rows
        Y = np.eye(copies[-1].z.shape[1], dtype=copies[-1].z.dtype)[Y]
    return Recording(layers=copies, X=_host(X), Y=Y, loss=loss, loss_value=value,
                     spec=spec, optimizer=optimizer, iteration=iteration,
                     extras={"dropout": dropout_layers(model), "dropout_mode": dropout})


class _Recorder:
    """``train_step``'s optimiser for the explainer: copies every layer's records (after the
    backward pass, before the update), then takes ``optimizer.step()`` (if any) and copies
    each parameter's update and optimiser state."""

    def __init__(self, model, optimizer: Optimizer | None) -> None:
        self.model, self.optimizer = model, optimizer
        self.records: list = []
        self.copies: list[LayerCopy] = []

    def step(self) -> None:
        model, optimizer = self.model, self.optimizer
        self.records = model.records()
        self.copies = [_copy_record(record) for record in self.records]
        _copy_dropout(model, self.copies)
        if optimizer is None:
            return
        before = {name: _host_state(optimizer.state.get(name, {}))
                  for name, _, _ in model.parameter_refs()}
        optimizer.step()
        for copy, record in zip(self.copies, self.records):
            _copy_update(copy, record, optimizer, model, before)


def _copy_dropout(model, copies: list[LayerCopy]) -> None:
    """Each Dropout that drew a mask (training mode, p > 0): the mask, and what went in and
    out of it both ways, attached to the layer it follows (the next Dense's input)."""
    dense = 0
    for layer in model.layers:
        dense += isinstance(layer, Dense)
        if isinstance(layer, Dropout) and layer.mask is not None:
            scaled, below, above = _host(layer.mask), copies[dense - 1], copies[dense]
            below.dropout = DropoutCopy(
                p=float(layer.p), mask=(scaled != 0).astype(scaled.dtype), scaled=scaled,
                dropped=above.a_prev, grad_dropped=above.grad_a_prev)


def _host_state(state: dict) -> dict[str, Any]:
    return {key: (_host(value) if hasattr(value, "shape") else value)
            for key, value in state.items()}


def _copy_record(record) -> LayerCopy:
    if record.delta is None:
        raise ValueError("the model has no backward records; is a layer other than Dense "
                         "and activations in it?")
    dense = record.dense
    return LayerCopy(
        index=record.index, dense=dense, activation=record.activation,
        a_prev=_host(record.a_prev), weight=_host(dense.params["weight"]),
        bias=_host(dense.params.get("bias")), z=_host(record.z), a=_host(record.a),
        grad_a=_host(record.grad_a), delta=_host(record.delta),
        grad_weight=_host(record.grad_weight), grad_bias=_host(record.grad_bias),
        grad_a_prev=_host(record.grad_a_prev))


def _copy_update(copy: LayerCopy, record, optimizer: Optimizer, model, before) -> None:
    dense = record.dense
    for name, layer, key in model.parameter_refs():
        if layer is dense:
            old = copy.weight if key == "weight" else copy.bias
            copy.updates[key] = ParamUpdate(old, _host(dense.params[key]), before[name],
                                            _host_state(optimizer.state.get(name, {})))
