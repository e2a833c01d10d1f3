r"""The playground's one learner: its data, network, optimiser and where training stands.

:class:`Playground` is the server's state (the app is local and has one learner).  Training
takes the step ``fit`` takes, :func:`deltaprop.train_step`, one mini-batch at a time; step
mode takes the same step through the explainer's :func:`~deltaprop.explainer.record_step`
(in training mode: the Dropout masks drawn are recorded and shown), which keeps host copies
of what the layers recorded (``model.records()``).  The two draw
their batches from the same shuffled order, so stepping is training, slowed down.

Every number the page shows is computed here by the engine (``predict_proba`` for the
decision boundary, ``evaluate`` for the loss curves, the activation's own ``derivative`` for
the saturated and dead units); the page only draws them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..datasets import Dataset, Standardizer
from ..datasets import load as load_dataset
from ..explainer import Recording, build_trace, record_step
from ..nn.activations import get_activation
from ..nn.layers import Dense, Dropout
from ..nn.losses import get_loss
from ..nn.model import Sequential
from ..nn.optim import SGD, Adam, AdamW, Optimizer
from ..training.evaluation import evaluate
from ..training.step import train_step
from .config import Config, PlaygroundInputError, check_task, parse_config
from .views import boundary, network_view, unit_flags

TEST_FRACTION = 0.2
MAX_TRAIN_STEPS = 500            # per request: the page asks again to keep going
HISTORY_LIMIT = 4000


def build_model(config: Config, n_in: int, n_out: int) -> Sequential:
    """The network of ``config``: ``Dense`` + activation (+ ``Dropout``) per hidden layer.

    The weights are drawn in the order :func:`deltaprop.mlp` draws them, from one generator
    seeded with ``config.seed``, so ``mlp(sizes, act, out, init=..., seed=...,
    dtype=np.float64)`` builds the same network when every hidden layer has the same
    activation.  float64, so that each number on the page can be redone by hand to the last
    digit shown on hover.
    """
    rng = np.random.default_rng(config.seed)
    sizes = [n_in, *config.hidden, n_out]
    layers: list = []
    for i in range(len(sizes) - 1):
        layers.append(Dense(sizes[i], sizes[i + 1], init=config.init, seed=rng,
                            dtype=np.float64))
        if i < len(sizes) - 2:
            layers.append(get_activation(config.activations[i]))
            if config.dropout > 0:
                layers.append(Dropout(config.dropout, seed=rng))
        elif config.output != "none":
            layers.append(get_activation(config.output))
    return Sequential(*layers)


def build_optimizer(config: Config, model: Sequential) -> Optimizer:
    if config.optimizer == "sgd":
        return SGD(model, lr=config.lr, momentum=config.momentum)
    return (Adam if config.optimizer == "adam" else AdamW)(model, lr=config.lr)


def make_dataset(config: Config, upload: Dataset | None) -> Dataset:
    if config.dataset == "upload":
        if upload is None:
            raise PlaygroundInputError("dataset", "a data set name until a CSV is uploaded",
                                       "upload")
        return upload
    return load_dataset(config.dataset, n_samples=config.n_samples, noise=config.noise,
                        seed=config.seed)


class Playground:
    """One learner's session: ``configure``, ``train``, ``next_batch`` / ``step``, ``export``."""

    def __init__(self, config: Config | None = None) -> None:
        self.upload: Dataset | None = None
        self.configure_from(config or Config())

    # -- set-up -----------------------------------------------------------------------------
    def configure(self, data: Any) -> None:
        """Apply the page's settings (a JSON object; missing fields keep their values)."""
        self.configure_from(parse_config(data, self.config))

    def configure_from(self, config: Config) -> None:
        data = make_dataset(config, self.upload)
        n_classes = len(np.unique(data.y)) if data.task == "classification" else 0
        check_task(config, data.task, n_classes)
        self.config, self.data = config, data
        self._split(data, config.seed)
        self.reset()

    def use_upload(self, dataset: Dataset) -> None:
        """Train on an uploaded data set, with an output and loss that fit its targets."""
        config = Config(**{**self.config.to_dict(), "dataset": "upload"})
        n_classes = len(np.unique(dataset.y)) if dataset.task == "classification" else 0
        if dataset.task == "regression":
            config.output, config.loss = "none", "mse"
        elif n_classes > 2:
            config.output, config.loss = "none", "cross_entropy"
        elif config.loss == "mse":
            config.output, config.loss = "sigmoid", "bce"
        previous = self.upload
        self.upload = dataset
        try:
            self.configure_from(config)
        except ValueError:
            self.upload = previous
            raise

    def _split(self, data: Dataset, seed: int) -> None:
        order = np.random.default_rng(seed).permutation(len(data.X))
        n_test = max(1, round(TEST_FRACTION * len(order)))
        self.test_rows, self.train_rows = order[:n_test], order[n_test:]
        # an uploaded CSV may have any scale: standardised on the training rows
        self.scaler = Standardizer().fit(data.X[self.train_rows]) \
            if data.name == "upload" else None

    def features(self, X: np.ndarray) -> np.ndarray:
        """What the network reads for raw points ``X`` (standardised for an upload)."""
        return X if self.scaler is None else self.scaler.transform(X)

    def targets(self, rows: np.ndarray) -> np.ndarray:
        y = self.data.y[rows]
        if self.config.loss == "cross_entropy":
            return y                                          # (N,) integer labels
        return y.reshape(-1, 1).astype(np.float64)            # (N, 1)

    def reset(self) -> None:
        """A fresh network (same seed: the same weights), optimiser and batch order."""
        config, data = self.config, self.data
        n_out = len(np.unique(data.y)) if config.loss == "cross_entropy" else 1
        self.model = build_model(config, data.X.shape[1], n_out)
        self.optimizer = build_optimizer(config, self.model)
        self.loss = get_loss(config.loss)
        self.batches = np.random.default_rng([config.seed, 1])    # the shuffle's own stream
        self.order, self.cursor = np.empty(0, dtype=np.int64), 0
        self.steps, self.epoch = 0, 0
        self.history: list[dict[str, float | None]] = []
        self.recording: Recording | None = None
        self.traces: dict = {}                   # step mode's traces of the recording
        self.error: str | None = None
        self._log()

    # -- training ----------------------------------------------------------------------------
    def next_rows(self) -> np.ndarray:
        """The next mini-batch's rows; a new shuffled order at the start of each epoch."""
        if self.cursor >= len(self.order):
            self.epoch += len(self.order) > 0                 # a pass over the rows ended
            self.order = self.train_rows[self.batches.permutation(len(self.train_rows))]
            self.cursor = 0
        rows = self.order[self.cursor:self.cursor + self.config.batch_size]
        self.cursor += len(rows)
        return rows

    def train(self, steps: int) -> None:
        """``steps`` optimiser steps on successive mini-batches (Dropout on, as in ``fit``)."""
        self.model.train()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(steps):
                if self.error:
                    break
                rows = self.next_rows()
                value = train_step(self.model, self.features(self.data.X[rows]),
                                   self.targets(rows), loss=self.loss, optimizer=self.optimizer)
                self._count(value)
        self._log()

    def next_batch(self) -> Recording:
        """Step mode: one training step on the next batch, every quantity recorded — in
        training mode, as :meth:`train` takes it: each Dropout draws its mask (shown in the
        dropout phases) from the same generator that training draws from."""
        rows = self.next_rows()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self.recording = record_step(self.model, self.features(self.data.X[rows]),
                                         self.targets(rows), self.loss, self.optimizer,
                                         dropout="train")
        self.traces = {}
        self._count(self.recording.loss_value)
        self._log()
        return self.recording

    def _count(self, value: float) -> None:
        self.steps += 1
        if not np.isfinite(value):
            self.error = (f"the loss became {value} at step {self.steps}: training stopped "
                          f"(try a learning rate below {self.config.lr:g}, then Reset)")

    def _log(self) -> None:
        """The loss (and accuracy or R²) on the training and test rows, after this step."""
        if self.error:
            return
        point: dict[str, float | None] = {"step": self.steps, "epoch": self.epoch}
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for part, rows in (("train", self.train_rows), ("test", self.test_rows)):
                scores = evaluate(self.model, self.features(self.data.X[rows]),
                                  self.targets(rows), loss=self.loss)
                point.update({f"{part}_{key}": float(value) if np.isfinite(value) else None
                              for key, value in scores.items()})    # JSON has no NaN
        self.history.append(point)
        if len(self.history) > HISTORY_LIMIT:                  # keep every other old point
            self.history = self.history[:HISTORY_LIMIT // 2:2] + self.history[HISTORY_LIMIT // 2:]

    def trace(self, notation: str, fmt: str) -> str:
        """The recorded step as the explainer's standalone HTML page or LaTeX document."""
        if self.recording is None:
            raise ValueError("no step recorded yet")
        trace = build_trace(self.recording, notation, show_unfused=True)
        return trace.to_html() if fmt == "html" else trace.to_latex()

    # -- what the page draws -----------------------------------------------------------------
    def snapshot(self, with_data: bool = False) -> dict[str, Any]:
        """The state the page draws: network, boundary or curve, loss curves, flags."""
        X = self.features(self.data.X[self.train_rows])
        state = {"config": self.config.to_dict(), "task": self.data.task,
                 "steps": self.steps, "epoch": self.epoch, "error": self.error,
                 "history": self.history, "loss_name": type(self.loss).__name__,
                 "network": network_view(self.model, unit_flags(self.model, X)),
                 "view": boundary(self, self.data),
                 "standardised": self.scaler is not None}
        if with_data:
            state["data"] = {"X": self.data.X.tolist(), "y": self.data.y.tolist(),
                             "test": self.test_rows.tolist(),
                             "features": self.data.feature_names}
        return state
