"""The playground's settings: what the page's form may ask for, checked field by field.

The page sends its form as one JSON object; :func:`parse_config` turns it into a
:class:`Config` or raises :class:`PlaygroundInputError` naming the field, the rule and the
value received (the server answers 400 with that message).  The choices come from the
engine's own tables (initialisers, activations, losses), so the form offers nothing the
engine cannot build.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from numbers import Integral, Real
from typing import Any

from ..nn.init import INITIALIZERS

DATASETS = ("moons", "circles", "spirals", "xor", "blobs", "curve", "upload")
HIDDEN_ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu", "elu", "gelu", "softplus",
                      "identity")
OPTIMIZERS = ("sgd", "adam", "adamw")
NOTATIONS = ("batch", "column", "haykin", "ng", "rows")
# loss -> the output activations it goes with (none: the model ends in logits / linear outputs)
LOSS_OUTPUTS = {
    "cross_entropy": ("none",),          # softmax applied by the loss (fused)
    "bce_with_logits": ("none",),        # sigmoid applied by the loss (fused)
    "bce": ("sigmoid",),
    "mse": ("none", "tanh", "sigmoid"),
}
MAX_LAYERS, MAX_WIDTH = 6, 32
MAX_SAMPLES, MAX_BATCH = 2000, 1024


class PlaygroundInputError(ValueError):
    """Bad input from the page: ``field`` names the form field the message is about."""

    def __init__(self, field: str, rule: str, value: Any) -> None:
        super().__init__(f"{field} must be {rule}, got {value!r}")
        self.field = field


@dataclass
class Config:
    """One playground set-up: data, network, loss, optimiser (the page's defaults)."""

    dataset: str = "moons"
    n_samples: int = 200
    noise: float = 0.2
    seed: int = 0
    hidden: list[int] = field(default_factory=lambda: [4])
    activations: list[str] = field(default_factory=lambda: ["tanh"])
    output: str = "sigmoid"
    loss: str = "bce"
    init: str = "glorot_uniform"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    batch_size: int = 8
    dropout: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value <= high:
        raise PlaygroundInputError(name, f"an integer in [{low}, {high}]", value)
    return int(value)


def _number(name: str, value: Any, low: float, high: float, *, low_open: bool = False,
            high_open: bool = False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, Real) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and \
            (value < high if high_open else value <= high)
    if not ok:
        interval = ("(" if low_open else "[") + f"{low:g}, {high:g}" + (")" if high_open else "]")
        raise PlaygroundInputError(name, f"a finite number in {interval}", value)
    return float(value)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise PlaygroundInputError(name, "one of " + ", ".join(choices), value)
    return value


def _widths(value: Any) -> list[int]:
    if not isinstance(value, list) or len(value) > MAX_LAYERS:
        raise PlaygroundInputError("hidden", f"a list of at most {MAX_LAYERS} layer widths",
                                   value)
    return [_integer(f"hidden[{i}]", width, 1, MAX_WIDTH) for i, width in enumerate(value)]


def _activations(value: Any, n_layers: int) -> list[str]:
    if not isinstance(value, list) or len(value) != n_layers:
        raise PlaygroundInputError("activations", f"a list of {n_layers} activation names "
                                   "(one per hidden layer)", value)
    return [_choice(f"activations[{i}]", name, HIDDEN_ACTIVATIONS)
            for i, name in enumerate(value)]


def parse_config(data: Any, base: Config | None = None) -> Config:
    """A :class:`Config` from the page's JSON object; fields left out keep ``base``'s values."""
    if not isinstance(data, dict):
        raise PlaygroundInputError("the settings", "a JSON object", data)
    current = (base or Config()).to_dict()
    unknown = sorted(set(data) - set(current))
    if unknown:
        raise PlaygroundInputError("the settings", "fields among " + ", ".join(current),
                                   unknown)
    merged = {**current, **data}
    hidden = _widths(merged["hidden"])
    config = Config(
        dataset=_choice("dataset", merged["dataset"], DATASETS),
        n_samples=_integer("n_samples", merged["n_samples"], 20, MAX_SAMPLES),
        noise=_number("noise", merged["noise"], 0.0, 2.0),
        seed=_integer("seed", merged["seed"], 0, 2**32 - 1),
        hidden=hidden,
        activations=_activations(merged["activations"], len(hidden)),
        output=_choice("output", merged["output"], ("none", "tanh", "sigmoid")),
        loss=_choice("loss", merged["loss"], tuple(LOSS_OUTPUTS)),
        init=_choice("init", merged["init"], tuple(INITIALIZERS)),
        optimizer=_choice("optimizer", merged["optimizer"], OPTIMIZERS),
        lr=_number("lr", merged["lr"], 0.0, 10.0, low_open=True),
        momentum=_number("momentum", merged["momentum"], 0.0, 1.0, high_open=True),
        batch_size=_integer("batch_size", merged["batch_size"], 1, MAX_BATCH),
        dropout=_number("dropout", merged["dropout"], 0.0, 1.0, high_open=True))
    allowed = LOSS_OUTPUTS[config.loss]
    if config.output not in allowed:
        raise PlaygroundInputError("output", f"one of {', '.join(allowed)} with loss "
                                   f"{config.loss}", config.output)
    return config


def check_task(config: Config, task: str, n_classes: int) -> None:
    """The loss fits the data: cross-entropy or BCE for classes, MSE for a regression."""
    if task == "regression" and config.loss != "mse":
        raise PlaygroundInputError("loss", f"mse for the regression data set {config.dataset}",
                                   config.loss)
    if task == "classification" and config.loss == "mse":
        raise PlaygroundInputError("loss", f"cross_entropy, bce or bce_with_logits for the "
                                   f"classification data set {config.dataset}", config.loss)
    if config.loss in ("bce", "bce_with_logits") and n_classes != 2:
        raise PlaygroundInputError("loss", f"cross_entropy for {n_classes} classes (BCE "
                                   "takes 2)", config.loss)


def options() -> dict[str, Any]:
    """What the page's form offers, with the defaults and the limits."""
    return {"datasets": list(DATASETS), "activations": list(HIDDEN_ACTIVATIONS),
            "outputs": ["none", "tanh", "sigmoid"], "losses": {k: list(v) for k, v in
                                                              LOSS_OUTPUTS.items()},
            "inits": list(INITIALIZERS), "optimizers": list(OPTIMIZERS),
            "notations": list(NOTATIONS), "defaults": Config().to_dict(),
            "limits": {"layers": MAX_LAYERS, "width": MAX_WIDTH, "samples": MAX_SAMPLES,
                       "batch": MAX_BATCH}}
