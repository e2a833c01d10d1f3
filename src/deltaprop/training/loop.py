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
"""

from __future__ import annotations

import contextlib
import math
from numbers import Real
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .._checks import check_number, check_seed
from ..nn._backend import Array, namespace, to_namespace, to_numpy
from ..nn.fused import take_rows
from ..nn.losses import Loss, get_loss
from ..nn.optim import Optimizer, get_optimizer
from ..nn.schedules import Schedule
from . import distributed, evaluation, step
from ._step_guard import first_non_finite
from ._step_hooks import FiniteLoss, GuardedStep, LoopModel, NonFiniteLossError, StepUndoneError
from .callbacks import Callback, EarlyStopping, History, TrainingContext
from .metrics import r2_from_sums
from .validation import (
    check_data,
    check_flag,
    check_weights,
    positive_int,
)

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
        if parallel is not None:                         # rank 0's weights and generators
            parallel.same_start(model, rng)
            callbacks = parallel.callbacks_here(callbacks)
        with _checked_together(parallel):
            X, y, rows, weights, validation_data = _training_data(
                model, X, y, loss, sample_weight, validation_split, validation_data, rng)
            if parallel is not None:
                parallel.check_host(X)
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


def _checked_arguments(model, loss, optimizer, epochs, batch_size, shuffle, validation_split,
                       validation_data, early_stopping, callbacks, schedule, metric, resume):
    """``fit``'s settings, checked before anything runs: ``(loss, optimizer, epochs,
    batch_size, metric, callbacks)``, built from names and the ``early_stopping`` shortcut."""
    loss = get_loss(loss)
    optimizer = get_optimizer(optimizer, model)
    if not isinstance(optimizer, Optimizer) or optimizer.model is not model:
        raise ValueError("optimizer must be built on the model being trained "
                         "(e.g. SGD(model, lr=0.1))")
    epochs, batch_size = _check_loop(epochs, batch_size, validation_split, validation_data,
                                     shuffle)
    metric = evaluation.resolve_metric(metric, loss)
    callbacks = _check_callbacks(callbacks, early_stopping)
    _check_schedule(schedule, optimizer)
    broken = None if resume is not None else first_non_finite(model.named_parameters())
    if broken is not None:                         # (a resume replaces the weights)
        raise ValueError(f"model parameter {broken!r} holds NaN or Inf before training: "
                         "re-initialise the model (or load finite weights)")
    return loss, optimizer, epochs, batch_size, metric, callbacks


def _begin(context: TrainingContext, resume) -> int:
    """Restore a checkpoint (``resume``), give every callback the context and call its
    ``on_train_begin``; returns the first epoch to train (past ``epochs`` when the resumed run
    had stopped early)."""
    state = None
    if resume is not None:
        state = resume if hasattr(resume, "restore_training") else _read_checkpoint(resume)
        # the EarlyStopping callbacks (early_stopping= is among them by now): checked first
        stoppers = [c for c in context.callbacks if isinstance(c, EarlyStopping)]
        state.restore_training(model=context.model, optimizer=context.optimizer,
                               rng=context.rng, schedule=context.schedule,
                               early_stopping=stoppers, epochs=context.epochs,
                               has_validation=context.has_validation)
        context.history = state.history
    for callback in context.callbacks:
        callback.context = context
        if _own_stop_flag(callback):
            callback.stop_training = False               # as fit did before the context
        callback.on_train_begin({"epochs": context.epochs, "n_batches": context.n_batches,
                                 "n_samples": context.n_samples,
                                 "has_validation": context.has_validation})
    if state is None:
        return 1
    state.restore_callbacks(context.callbacks)
    return context.epochs + 1 if state.stopped else state.epoch + 1   # stopped: done


# Training knows no file format: ``fit(resume=path)`` asks for the reader that the files
# package hands over (``deltaprop/__init__.py`` wires ``deltaprop.io.checkpoint.load_checkpoint``
# in), and applies the state it returns through the state's own ``restore_training`` and
# ``restore_callbacks``.  So the arrows point down: io imports training, never the reverse.
_checkpoint_reader: Any = None


def set_checkpoint_reader(reader: Any) -> None:
    """Install ``reader(path) -> state`` as the way ``fit(resume=path)`` reads a checkpoint."""
    global _checkpoint_reader
    _checkpoint_reader = reader


def _read_checkpoint(path: Any) -> Any:
    if _checkpoint_reader is None:                      # only when deltaprop/__init__ is bypassed
        raise RuntimeError("no checkpoint reader is installed: import deltaprop first")
    return _checkpoint_reader(path)


def _own_stop_flag(callback: Callback) -> bool:
    """A callback class that declares ``stop_training`` itself (``stop_training = False`` in
    its body, as the base class once did) hides the context's flag: fit reads its own."""
    return not isinstance(getattr(type(callback), "stop_training", None), property)


def _training_data(model, X, y, loss, sample_weight, validation_split, validation_data, rng):
    """Checked ``X``, ``y``, the training ``rows`` of ``X`` (``validation_split`` on NumPy
    data, else None), the row weights and the checked validation pair (or None)."""
    X, y = check_data(model, X, y, loss)
    weights = None if sample_weight is None else check_weights(sample_weight, X.shape[0],
                                                               model.dtype)
    rows = None
    if validation_split:
        X, y, rows, weights, validation_data = _split(X, y, weights, validation_split, rng)
    elif validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        validation_data = check_data(model, *validation_data, loss, name="validation_data")
    return X, y, rows, weights, validation_data


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


class _Batches:
    """The mini-batches of one epoch: ``(size, X_batch, y_batch, w_batch)``.

    ``rows`` (a ``validation_split`` on NumPy data) are the training rows of ``X``: batches
    are gathered through them, so a memmap is never copied whole into memory.
    """

    def __init__(self, X, y, weights, rows, batch_size: int | None, parallel=None) -> None:
        self.X, self.y, self.weights, self.rows = X, y, weights, rows
        self.parallel = parallel                         # MPI: this process's rows of each batch
        self.n = X.shape[0] if rows is None else rows.shape[0]
        self.batch = self.n if batch_size is None else min(batch_size, self.n)
        self.n_batches = math.ceil(self.n / self.batch)
        self.on_host = isinstance(X, np.ndarray)
        # one batch buffer reused by every NumPy gather: no new (batch, features) array per step
        self.x_buffer = np.empty((self.batch, X.shape[1]), X.dtype) if self.on_host else None
        # device arrays: the weights move to X's device once, the row order once per epoch
        if weights is not None and not self.on_host:
            self.weights = to_namespace(weights, like=X)
        self.xp = np if self.on_host else namespace(X)

    def epoch(self, order):
        """Yield the batches in ``order`` (a permutation of range(n)) or in row order."""
        order = order if self.on_host or order is None else to_namespace(order, like=self.X)
        X, y, w = self.X, self.y, self.weights
        for begin in range(0, self.n, self.batch):
            end = min(begin + self.batch, self.n)        # the array API wants end <= n
            lo, hi = (begin, end) if self.parallel is None else self.parallel.rows(begin, end)
            if order is None and self.rows is None:      # views of X: nothing is copied
                yield (end - begin, X[lo:hi, ...], y[lo:hi, ...],
                       None if w is None else w[lo:hi, ...])
                continue
            # ascending rows: faster gathers, same batch contents
            picked = self.xp.sort(order[begin:end])[lo - begin:hi - begin] \
                if order is not None else slice(lo, hi)
            if self.rows is not None:
                picked = self.rows[picked]
            yield (end - begin, _take(X, picked, out=self.x_buffer), _take(y, picked),
                   None if w is None else _take(w, picked))

    def total_sum_of_squares(self) -> np.ndarray:
        r""":math:`\sum_n (y_n - \bar y)^2` per output over the training rows (for R²)."""
        y = to_numpy(self.y)
        host = (y if self.rows is None else y[self.rows]).astype(np.float64)
        return np.sum((host - host.mean(axis=0)) ** 2, axis=0)


def _check_loop(epochs, batch_size, validation_split, validation_data, shuffle):
    """The loop's settings: ``(epochs, batch_size)`` as ints (``batch_size`` may be None)."""
    epochs = positive_int("epochs", epochs)
    batch_size = None if batch_size is None else positive_int("batch_size", batch_size)
    check_number("fit", "validation_split", validation_split, low=0.0, high=1.0)
    if validation_data is not None and validation_split:
        raise ValueError("pass validation_data or validation_split, not both")
    check_flag("", "shuffle", shuffle)
    return epochs, batch_size


def _generator(seed) -> np.random.Generator:
    return check_seed("fit", "seed", seed)


def _check_callbacks(callbacks, early_stopping) -> list[Callback]:
    """The callbacks as a list (``None`` = none), plus ``EarlyStopping`` if asked for."""
    if callbacks is None:
        callbacks = []
    elif isinstance(callbacks, Callback):
        raise TypeError(f"callbacks must be a list of Callback objects, got a single "
                        f"{type(callbacks).__name__}: pass [{type(callbacks).__name__}(...)]")
    else:
        try:
            callbacks = list(callbacks)
        except TypeError:
            raise TypeError(f"callbacks must be a list of Callback objects or None, got "
                            f"{type(callbacks).__name__}") from None
    for position, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be deltaprop Callback objects, got "
                            f"{type(callback).__name__} at position {position}")
    if early_stopping is not None:
        callbacks.append(early_stopping if isinstance(early_stopping, EarlyStopping)
                         else EarlyStopping(patience=early_stopping))
    return callbacks


def _check_schedule(schedule, optimizer: Optimizer) -> None:
    if schedule is None:
        return
    if not isinstance(schedule, Schedule):
        raise TypeError("schedule must be a deltaprop Schedule built on the optimizer (e.g. "
                        f"StepLR(optimizer, step_size=10)) or None, got "
                        f"{type(schedule).__name__} {schedule!r}")
    if schedule.optimizer is not optimizer:
        raise ValueError(f"schedule {type(schedule).__name__} was built on another optimizer "
                         f"than the one fit trains with ({type(optimizer).__name__}): build it "
                         "on the same optimizer instance")


def _logged_keys(metric: str | None, loss: Loss, has_validation: bool) -> list[str]:
    """The keys ``fit`` logs each epoch (what ``EarlyStopping`` may monitor)."""
    keys = ["loss"] + ([metric] if metric else [])
    if has_validation:
        keys += [f"val_{key}" for key in keys]
        keys += ["val_mse"] if loss.task == "regression" else []
    return [*keys, "lr"]


def _check_monitors(callbacks: list[Callback], keys: list[str]) -> None:
    for callback in callbacks:
        monitor = None if getattr(callback, "default_monitor", False) \
            else getattr(callback, "monitor", None)       # None: fit picks a logged key
        if isinstance(callback, EarlyStopping) and monitor is not None and monitor not in keys:
            hint = " (val_ keys need validation_data or validation_split)" \
                if monitor.startswith("val_") and "val_loss" not in keys else ""
            raise KeyError(f"EarlyStopping monitor={monitor!r} is not a key fit logs with "
                           f"these arguments{hint}; logged: {keys}")   # KeyError, as before


def _batch_score(metric: str, output: Array, target: Array, link: str | None) -> Array:
    """Per batch, on the output's device: correct predictions, or Σ (a − y)² per output."""
    xp = namespace(output)
    if metric == "r2":
        return xp.sum((output - target) ** 2, axis=0)
    if output.shape[1] > 1:
        predicted = xp.argmax(output, axis=1)
    else:
        predicted = xp.astype(output[:, 0] > (0.0 if link == "sigmoid" else 0.5), xp.int64)
    if target.ndim == 2 and target.shape[1] > 1:
        expected = xp.argmax(target, axis=1)               # one-hot / probability rows
    elif target.ndim == 2:
        expected = xp.astype(target[:, 0] > 0.5, xp.int64)  # 0/1 column
    else:
        expected = target                                  # integer labels
    return xp.sum(xp.astype(predicted == xp.astype(expected, predicted.dtype), xp.int64))


def _take(array, rows: np.ndarray, *, out: np.ndarray | None = None):
    """The given rows of ``array`` (NumPy fancy indexing, or ``xp.take`` on other arrays).

    With ``out`` (NumPy only, at least ``len(rows)`` rows) the rows are gathered into its first
    ``len(rows)`` rows and that view is returned.  ``mode="clip"`` skips NumPy's bounds check,
    which would otherwise gather into a temporary and copy it (the rows are valid by
    construction); with numba installed, a one-pass gather kernel (:mod:`deltaprop.nn.fused`).
    """
    if isinstance(array, np.ndarray):
        if out is not None:
            return take_rows(array, rows, out)     # the gather kernel when numba is here
        return array[rows]
    xp = namespace(array)
    if isinstance(rows, np.ndarray):                     # host indices (e.g. the split)
        rows = to_namespace(rows, like=array)
    return xp.take(array, rows, axis=0)


class _HeldOut(NamedTuple):
    """``validation_split``'s rows of NumPy data (checked already), scored a chunk at a time."""

    X: np.ndarray
    y: np.ndarray
    rows: np.ndarray


def _validation_scores(model, validation, loss: Loss, metric: str | None,
                       parallel=None) -> dict[str, float]:
    """``evaluate`` on the validation pair, or on the held-out rows without copying them whole:
    ``PREDICT_CHUNK`` rows of ``X`` are gathered at a time (the same chunks ``predict`` would
    cut from a copy, so the numbers are the same).  Under MPI each process predicts its share
    of the rows and every process scores the gathered outputs."""
    if parallel is not None:
        X, y, rows = validation if isinstance(validation, _HeldOut) else (*validation, None)
        return evaluation.scores(parallel.predict_rows(model, X, rows), y if rows is None
                                 else _take(y, rows), loss, metric)
    if not isinstance(validation, _HeldOut):
        return evaluation.evaluate(model, *validation, loss=loss, metric=metric)
    X, y, rows = validation
    chunk = evaluation.PREDICT_CHUNK
    chunks = [evaluation.predict(model, _take(X, rows[start:start + chunk]))
              for start in range(0, rows.shape[0], chunk)]
    return evaluation.scores(np.concatenate(chunks, axis=0), _take(y, rows), loss, metric)


def _split(X, y, weights, fraction: float, rng: np.random.Generator):
    """Hold out ``fraction`` of the rows (at random) for validation.

    NumPy data (a memmap too) stay whole: the training rows are returned as sorted indices and
    the batches are gathered through them, and the validation rows as a :class:`_HeldOut`
    scored a chunk at a time, so neither part is copied into memory.  Other array libraries get
    both parts gathered on their device.
    """
    n = X.shape[0]
    n_val = max(1, round(n * fraction))
    if n_val >= n:
        raise ValueError(f"validation_split={fraction} leaves no training rows out of {n}")
    order = rng.permutation(n)
    train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    if weights is not None and not np.sum(weights[train], dtype=np.float64) > 0:
        raise ValueError(f"validation_split={fraction} held out every row with a sample_weight "
                         "> 0: the training rows all have weight 0")
    if isinstance(X, np.ndarray):
        return X, y, train, weights, _HeldOut(X, y, val)
    validation = (_take(X, val), _take(y, val))
    w_train = None if weights is None else weights[train]
    return _take(X, train), _take(y, train), None, w_train, validation
