r"""``fit``: the training loop over whole mini-batches, around :func:`.step.train_step`.

One optimiser step is the four lines of the README:

.. code-block:: python

    output = model.forward(X_batch)                 # Z⁽ˡ⁾, A⁽ˡ⁾ recorded per layer
    value, grad = loss(output, y_batch)             # mean loss and ∂L/∂output (carries 1/N)
    model.backward(grad)                            # Δ⁽ˡ⁾, ∂L/∂W⁽ˡ⁾, ∂L/∂b⁽ˡ⁾ per layer
    optimizer.step()                                # W ← W − η ∂L/∂W

:func:`train_step` is exactly those lines.  ``fit`` calls it for every batch and adds batching,
shuffling, validation, metrics, callbacks and the checks that keep bad data and diverging runs
from producing silent garbage (it hands ``train_step`` the stand-ins of ``_step_hooks``).
Its argument checks live in ``_arguments``, its data and batches in ``_batches``, its start
(a resumed checkpoint, the callbacks' ``on_train_begin``) in ``_resume``.
"""

from __future__ import annotations

import contextlib
import math
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np

from ..nn._backend import namespace, to_numpy
from ..nn.losses import Loss
from . import distributed, evaluation, step
from ._arguments import _check_monitors, _checked_arguments, _generator, _logged_keys
from ._batches import _batch_score, _Batches, _training_data, _validation_scores
from ._batches import _take as _take  # re-exported: benchmarks/ imports it from here
from ._resume import _begin, _own_stop_flag
from ._resume import set_checkpoint_reader as set_checkpoint_reader  # public, as before
from ._step_guard import first_non_finite
from ._step_hooks import FiniteLoss, GuardedStep, LoopModel, NonFiniteLossError, StepUndoneError
from .callbacks import Callback, History, TrainingContext
from .metrics import r2_from_sums

if TYPE_CHECKING:
    from ..nn.model import Sequential


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite; the model keeps the weights from before that step."""


def fit(model: Sequential, X: Any, y: Any, *, loss: Any, optimizer: Any, epochs: int,
        batch_size: int | None = None, shuffle: bool = True, seed: Any = None,
        validation_data: tuple | None = None, validation_split: float = 0.0,
        early_stopping: Any = None, callbacks: Any = (),
        schedule: Any = None, sample_weight: Any = None, metric: str | None = "auto",
        resume: Any = None, comm: Any = None) -> History:
    """Train ``model`` on ``(X, y)`` and return the per-epoch :class:`History`.

    Parameters
    ----------
    model : Sequential
    X : array of shape (N, in_features)
        NumPy, ``np.memmap`` (batches are read as needed) or any array-API array.
    y : array
        ``(N,)`` integer labels or ``(N, C)`` probabilities for ``CrossEntropyLoss``;
        ``(N,)`` or ``(N, k)`` numbers for the other losses.
    loss : Loss or str
        ``"cross_entropy"``, ``"bce"``, ``"bce_with_logits"``, ``"mse"`` or an instance.
    optimizer : Optimizer or str
        An instance (``SGD(model, lr=0.1)``) or a name with default settings.
    epochs : int
    batch_size : int or None
        ``None`` = full batch (full-batch gradient descent, as in examples/quadrants.py).
    shuffle : bool
        Reshuffle the rows each epoch (with ``seed``).
    seed : int, Generator or None
        Makes shuffling and the validation split reproducible.
    validation_data : (X_val, y_val), optional
    validation_split : float
        Fraction of the rows (picked at random with ``seed``) held out for validation.  On
        NumPy data (a memmap too) only the held-out rows are copied; the training batches
        are gathered from ``X`` through the rows' indices.
    early_stopping : int or EarlyStopping, optional
        Patience in epochs, or a configured ``EarlyStopping``; restores the best weights.
        ``EarlyStopping.monitor`` must be a key this call logs (checked before training).
    callbacks : iterable of Callback, or None
        ``None`` means no callbacks.  Each gets the call's
        :class:`~deltaprop.training.callbacks.TrainingContext` as ``callback.context`` (the model,
        optimiser, history, generator, schedule, the ``stop_training`` flag) before its
        first hook.
    schedule : Schedule, optional
        Built on ``optimizer``; stepped after every epoch (``ReduceLROnPlateau`` gets the
        monitored loss).
    sample_weight : array of shape (N,), optional
        Weights (finite, >= 0, not all zero) of the rows in the mean loss.  A batch whose
        weights sum to 0 takes no step and counts in no loss.
    metric : "auto", "accuracy", "r2" or None
        Logged per epoch; ``"auto"`` picks accuracy for classification losses, R² for MSE
        (``"r2"`` with a classification loss is refused).
    resume : path or checkpoint state, optional
        A file written by :class:`deltaprop.io.checkpoint.Checkpoint`: the model, optimiser,
        random-number states, schedule, history and early-stopping counters are restored and
        training continues after the saved epoch (same data, ``seed`` and settings as the
        interrupted run: the result is then bit for bit that of an uninterrupted run).
    comm : mpi4py communicator, optional
        Train data-parallel over MPI (``MPI.COMM_WORLD`` under ``mpiexec -n K``): each process
        takes its contiguous share of every global batch and one ``Allreduce`` per step sums
        the gradients (:mod:`deltaprop.training.distributed`); the result equals this call
        without ``comm`` to float rounding, and callbacks marked ``rank_zero_only`` (progress,
        checkpoints) run on rank 0 only.  Needs ``pip install mpi4py mpich``.

    Every argument is checked before the first step, and the model is left in evaluation
    mode however ``fit`` ends (returned, raised, interrupted).  The steps may put new arrays
    in the layers while training (callbacks should read ``layer.params`` afresh); when ``fit``
    ends, the trained values are in the arrays the layers held when it began, and the layers
    hold those arrays again (an array a callback put in is replaced the same way).

    Raises
    ------
    TrainingDivergedError
        When a batch's loss is NaN or infinite, or a step leaves a parameter NaN or infinite
        (the loss before it being finite); the message names the epoch and batch, and the
        model and optimiser state are those from before that step, bit for bit.
    """
    evaluation.check_model(model)
    parallel = None if comm is None else distributed.Parallel(comm)
    arrays = [(layer, key, layer.params[key]) for _, layer, key in model.parameter_refs()]
    try:
        with _checked_together(parallel):
            loss, optimizer, epochs, batch_size, metric, callbacks = _checked_arguments(
                model, loss, optimizer, epochs, batch_size, shuffle, validation_split,
                validation_data, early_stopping, callbacks, schedule, metric, resume)
            rng = _generator(seed)
        callbacks = _same_start(parallel, model, rng, callbacks)
        with _checked_together(parallel):
            X, y, rows, weights, validation_data = _training_data(
                model, X, y, loss, sample_weight, validation_split, validation_data, rng, parallel)
            has_validation = validation_data is not None
            _check_monitors(callbacks, _logged_keys(metric, loss, has_validation))
            batches = _Batches(X, y, weights, rows, batch_size, parallel)
        context = TrainingContext(model, optimizer, History(), rng, schedule, callbacks,
                                  epochs=epochs, n_batches=batches.n_batches,
                                  n_samples=batches.n, has_validation=has_validation)
        with _failing_together(parallel):
            first_epoch = _begin(context, resume)
            run = _Run(context, loss, batches, metric, shuffle, validation_data, parallel)
            for epoch in range(first_epoch, epochs + 1):
                if run.epoch(epoch):
                    break
            for callback in callbacks:
                callback.on_train_end({"epochs_run": len(context.history)})
        return context.history
    finally:
        model.eval()                  # however training ended: error, Ctrl-C, early stop
        _back_in_place(arrays)


def _same_start(parallel, model: Sequential, rng: np.random.Generator,
                callbacks: list[Callback]) -> list[Callback]:
    """The callbacks that run on this process; under MPI every process first takes rank 0's
    weights and generators."""
    if parallel is None:
        return callbacks
    parallel.same_start(model, rng)
    return parallel.callbacks_here(callbacks)


def _checked_together(parallel):
    """Checks that raise on every process raise as usual; on some, they end the MPI job."""
    return contextlib.nullcontext() if parallel is None else parallel.checked()


def _failing_together(parallel):
    """Under MPI, an error of one process (not a divergence, decided from reduced numbers and
    so raised on all) prints once and ends the job instead of leaving the others waiting."""
    if parallel is None:
        return contextlib.nullcontext()
    return parallel.failing_together((TrainingDivergedError,))


def _back_in_place(arrays) -> None:
    """The trained values into the parameter arrays the layers held when ``fit`` began (the
    guarded steps put new arrays in the layers): references taken before ``fit`` see them.
    Layers that share one array at the end (tied during ``fit``) still share one."""
    put_back: dict[int, Any] = {}                        # id(current array) -> its home
    for layer, key, array in arrays:
        current = layer.params.get(key)                  # a callback may have changed anything
        if id(current) in put_back:
            layer.params[key] = put_back[id(current)]
        elif current is not array and type(current) is type(array) \
                and tuple(current.shape) == tuple(array.shape) and current.dtype == array.dtype:
            array[...] = current
            layer.params[key] = put_back[id(current)] = array


class _Run:
    """The epoch loop of one ``fit`` call: the steps, the logs, the callbacks."""

    def __init__(self, context: TrainingContext, loss: Loss, batches, metric, shuffle: bool,
                 validation_data, parallel: distributed.Parallel | None = None) -> None:
        self.context, self.model, self.optimizer = context, context.model, context.optimizer
        self.loss, self.batches, self.metric, self.shuffle = loss, batches, metric, shuffle
        self.callbacks, self.validation_data = context.callbacks, validation_data
        # what train_step gets: the public loss checks every batch on the host (cheap); on
        # other array libraries the data were checked once and each check would wait
        self.loop_model = LoopModel(self.model)
        self.finite_loss = FiniteLoss(loss if batches.on_host else loss.value_and_grad)
        self.guarded = GuardedStep(self.model, self.optimizer)
        self.parallel = parallel
        if parallel is not None:                         # this process's rows, one Allreduce
            self.finite_loss = distributed.ShareLoss(loss)
            self.loop_model = distributed.ShareModel(self.model, parallel, self.finite_loss)
            self.guarded = distributed.AllreducedStep(self.model, self.guarded,
                                                      self.finite_loss, parallel)
        self.ss_tot = batches.total_sum_of_squares() if metric == "r2" else None

    def epoch(self, epoch: int) -> bool:
        """Train one epoch, log it, step the schedule; True when a callback stops training."""
        self.context.epoch = epoch
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch)
        for layer in self.model.layers:
            layer.begin_epoch()                          # Dropout: reseed device generators
        order = self.context.rng.permutation(self.batches.n) if self.shuffle else None
        self.model.train()
        logs = self.train_epoch(epoch, order)
        if self.validation_data is not None:
            logs.update(self.validate())
        self.refuse_non_finite(logs, epoch)
        logs["lr"] = self.optimizer.lr
        self.context.history.append(epoch, logs)
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)
        if self.context.schedule is not None:
            self.context.schedule.step(logs.get("val_loss", logs["loss"]))
        stop = self.context.stop_training or any(
            _own_stop_flag(callback) and callback.stop_training for callback in self.callbacks)
        if self.parallel is not None:                    # a rank-0 callback may have asked
            stop = self.parallel.any(stop)
        for callback in self.callbacks:                  # e.g. Checkpoint: the epoch is whole
            callback.on_epoch_complete(epoch, stop)
        return stop

    def train_epoch(self, epoch: int, order) -> dict[str, float]:
        r"""One pass over the batches; the epoch's mean loss and metric.

        A batch whose weights sum to 0 is forwarded (for the metric) but takes no step and
        counts in no loss: its weighted mean :math:`\sum w \ell / \sum w` is undefined.
        """
        total, seen, score_sum = 0.0, 0, 0               # score_sum stays on the array's device
        for b, (size, xb, yb, wb) in enumerate(self.batches.epoch(order)):
            value, output = self.step(xb, yb, wb, (epoch, b + 1))
            if self.metric is not None:
                score_sum = score_sum + _batch_score(self.metric, output, yb, self.loss.link)
            if value is None:                            # zero weight: nothing was learnt
                continue
            total, seen = total + value * size, seen + size
            for callback in self.callbacks:
                callback.on_batch_end(b + 1, {"loss": value})
        logs = {"loss": total / seen}
        if self.parallel is not None and self.metric is not None:
            score_sum = self.parallel.sum(to_numpy(score_sum))   # the epoch's one reduction
        if self.metric == "accuracy":
            logs["accuracy"] = float(score_sum) / self.batches.n
        elif self.metric == "r2":
            logs["r2"] = r2_from_sums(to_numpy(score_sum), self.ss_tot)
        return logs

    def step(self, xb, yb, wb, where: tuple[int, int]):
        """:func:`train_step` on one batch, with ``fit``'s checks: returns (loss or None,
        output).  A batch of weight 0 is only forwarded (for the metric).

        A non-finite loss, or a finite loss whose step leaves a non-finite parameter, raises
        ``TrainingDivergedError`` with the model and optimiser as they were before the step.
        A learning rate that a callback set to NaN, inf or < 0 is refused before the step.
        """
        self._check_lr(where)
        if self.parallel is None and wb is not None and not float(namespace(wb).sum(wb)) > 0:
            return None, self.loop_model.forward(xb)     # nothing to learn from: no step
        try:                                             # (under MPI: the global weight decides)
            step.train_step(self.loop_model, xb, yb, loss=self.finite_loss,
                            optimizer=self.guarded, sample_weight=wb)
            value = self.finite_loss.value               # the global batch's under MPI
        except NonFiniteLossError as error:
            raise self._loss_diverged(error.value, where) from None
        except StepUndoneError as error:
            raise self._diverged(f"parameter {error.name!r} became NaN or infinite after the "
                                 f"step (the loss, {self.finite_loss.value:g}, was finite)",
                                 where) from None
        return value, self.loop_model.output

    def _check_lr(self, where: tuple[int, int]) -> None:
        lr = self.optimizer.lr
        if type(lr) is float and 0 <= lr < math.inf:     # the usual case, without isinstance(Real)
            return
        if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, Real) \
                or not (math.isfinite(lr) and lr >= 0):
            epoch, batch = where
            raise ValueError(f"{type(self.optimizer).__name__} lr is {lr!r} at epoch {epoch}, "
                             f"batch {batch}: a learning rate must be a finite number >= 0 "
                             "(a callback set it?); no step was taken")

    def _loss_diverged(self, value: float, where: tuple[int, int]) -> TrainingDivergedError:
        broken = first_non_finite(self.model.named_parameters())
        if broken is None:
            return self._diverged(f"loss became {value}", where)
        epoch, batch = where                             # not a step's doing: no lr advice
        return TrainingDivergedError(
            f"loss became {value} at epoch {epoch}, batch {batch}: parameter {broken!r} was "
            "already NaN or infinite before this step (set outside the optimiser, e.g. by a "
            "callback)")

    def validate(self) -> dict[str, float]:
        """The ``val_`` logs (NumPy's overflow warnings are left to :meth:`refuse_non_finite`)."""
        with np.errstate(over="ignore", invalid="ignore"):
            scores = _validation_scores(self.model, self.validation_data, self.loss,
                                        self.metric, self.parallel)
        return {f"val_{key}": value for key, value in scores.items()}

    def refuse_non_finite(self, logs: dict[str, float], epoch: int) -> None:
        """A NaN or infinite log (finite weights whose outputs overflow, on the validation rows
        say) is a divergence, not a number to log and monitor."""
        for key, value in logs.items():
            if not math.isfinite(value):
                raise TrainingDivergedError(
                    f"{key} became {value} at epoch {epoch}; the outputs overflow: training "
                    "stopped and the model keeps the weights of this epoch (try a smaller "
                    f"learning rate than {self.optimizer.lr:g})")

    def _diverged(self, what: str, where: tuple[int, int]) -> TrainingDivergedError:
        epoch, batch = where
        return TrainingDivergedError(
            f"{what} at epoch {epoch}, batch {batch} of {self.batches.n_batches}; training "
            "stopped and the model keeps the weights from before this step "
            f"(try a smaller learning rate than {self.optimizer.lr:g})")
