r"""Data-parallel ``fit`` over MPI (``fit(..., comm=MPI.COMM_WORLD)``), Horovod style.

Every process holds the whole model and takes a contiguous share of every global batch
(``batch_size`` stays the global batch; the shuffled order comes from the same generator on
every process).  After its backward pass, process :math:`r` holds the gradient of its own
weighted mean loss :math:`g_r = \sum_{n \in r} w_n \nabla\ell_n / W_r` with
:math:`W_r = \sum_{n \in r} w_n` (:math:`w_n = 1` without ``sample_weight``).  It packs
:math:`W_r g_r`, :math:`W_r L_r` and :math:`W_r` into one flat preallocated buffer, and ONE
``Allreduce`` (sum) per step gives every process

.. math::

    \nabla L = \frac{\sum_r W_r g_r}{\sum_r W_r}, \qquad
    L = \frac{\sum_r W_r L_r}{\sum_r W_r},

the global batch's weighted mean gradient and loss, exactly what one process computes on the
whole batch (up to float rounding).  The reduced buffer is the same bytes on every process, so
every optimiser takes the same step and the parameters stay bit-identical.  Once per epoch a
second small reduction sums the metric's counts, the validation outputs are gathered, and the
processes agree on stopping.  Dropout masks are drawn per global batch: every process draws the
full batch's mask from its (identical) generator and keeps its own rows.

Failures: an error raised identically on every process (a bad argument, a divergence decided
from reduced numbers) is raised on every process as usual; an error in one process only prints
its traceback once (from that process) and ends the whole job with ``comm.Abort(1)``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._step_hooks import LoopModel, NonFiniteLossError
from .validation import scanning_share

INSTALL_HINT = "pip install mpi4py mpich (or: pip install 'deltaprop[mpi]')"


def import_mpi() -> Any:
    """The ``mpi4py.MPI`` module, or an ImportError saying what to install."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(f"fit(comm=...) trains over MPI and needs mpi4py and an MPI library: "
                          f"{INSTALL_HINT} ({error})") from None
    return MPI


def share(n: int, size: int, rank: int) -> tuple[int, int]:
    r"""Rows ``[lo, hi)`` of ``n`` that process ``rank`` of ``size`` takes: contiguous, in rank
    order, sizes differing by at most one (:math:`lo = \lfloor n r / K \rfloor`)."""
    return n * rank // size, n * (rank + 1) // size


#: seconds between printing an error and ``comm.Abort``: mpiexec relays each process's stderr
#: through its proxy, and Abort ends the proxies; text not relayed yet was lost (seen under
#: load, in CI: the job ended with no error shown)
FORWARD_SECONDS = 0.3


class Parallel:
    """One ``fit`` call's processes: the communicator and the collective steps ``fit`` takes."""

    def __init__(self, comm: Any) -> None:
        self.MPI = import_mpi()
        if not isinstance(comm, self.MPI.Comm) or comm == self.MPI.COMM_NULL:
            raise TypeError(f"comm must be an mpi4py communicator (e.g. MPI.COMM_WORLD) or "
                            f"None, got {type(comm).__name__}")
        if isinstance(comm, self.MPI.Intercomm):
            raise TypeError("comm must be an intra-communicator (e.g. MPI.COMM_WORLD), got an "
                            "Intercomm")
        self.comm, self.size, self.rank = comm, comm.Get_size(), comm.Get_rank()
        self.batch = (0, 0, 0)          # the current global batch: (n, lo, hi) within it

    def rows(self, begin: int, end: int) -> tuple[int, int]:
        """This process's rows ``[lo, hi)`` of the global batch ``[begin, end)``."""
        lo, hi = share(end - begin, self.size, self.rank)
        self.batch = (end - begin, lo, hi)
        return begin + lo, begin + hi

    # -- the start: same generator, same parameters, the callbacks of this process ----------

    def same_start(self, model: Any, rng: np.random.Generator) -> None:
        """Rank 0's parameters and random-number states everywhere (a ``seed=None`` run too)."""
        for _, value in model.named_parameters():
            if not isinstance(value, np.ndarray) or not value.flags.c_contiguous:
                raise TypeError("fit(comm=...) trains NumPy models only (C-contiguous "
                                f"parameters), got {type(value).__name__}")
            self.comm.Bcast(value, root=0)
        generators = [rng] + [layer.rng for layer in model.layers
                              if isinstance(getattr(layer, "rng", None), np.random.Generator)]
        states = self.comm.bcast([g.bit_generator.state for g in generators], root=0)
        for generator, state in zip(generators, states):
            generator.bit_generator.state = state

    def callbacks_here(self, callbacks: list) -> list:
        """Every callback on rank 0; those with side effects (``rank_zero_only``) nowhere else."""
        if self.rank == 0:
            return callbacks
        return [c for c in callbacks if not getattr(c, "rank_zero_only", False)]

    def check_host(self, X: Any) -> None:
        """MPI reduces NumPy buffers: ``X`` must be a NumPy array (an ``np.memmap`` too)."""
        if not isinstance(X, np.ndarray):
            raise TypeError(f"fit(comm=...) trains on NumPy arrays (np.memmap too), got X of "
                            f"type {type(X).__name__}: convert it with np.asarray")

    # -- once per epoch ----------------------------------------------------------------------

    def sum(self, value: Any) -> Any:
        """The sum over processes of a small number or array (the epoch's metric counts)."""
        return self.comm.allreduce(value, op=self.MPI.SUM)

    def any(self, flag: bool) -> bool:
        """True on every process when it is True on one (a rank-0 callback stopping)."""
        return bool(self.comm.allreduce(bool(flag), op=self.MPI.LOR))

    def predict_rows(self, model: Any, X: np.ndarray, rows: np.ndarray | None = None,
                     chunk: int = 1024) -> np.ndarray:
        """``predict`` on the rows of ``X`` (``X[rows]`` if given), each process predicting its
        contiguous share ``chunk`` rows at a time; every process gets all outputs, in order."""
        from .evaluation import predict

        n = X.shape[0] if rows is None else rows.shape[0]
        lo, hi = share(n, self.size, self.rank)
        parts = [predict(model, X[start:min(start + chunk, hi)] if rows is None
                         else X[rows[start:min(start + chunk, hi)]])
                 for start in range(lo, hi, chunk)]
        width = model.out_features
        part = np.concatenate(parts) if parts else np.empty((0, width), model.dtype)
        return self.gather_rows(part.astype(model.dtype, copy=False), n)

    def gather_rows(self, part: np.ndarray, n: int) -> np.ndarray:
        """The processes' row blocks ``part`` (in rank order) as one ``(n, k)`` array, on every
        process."""
        counts = [(hi - lo) * part.shape[1] for lo, hi in
                  (share(n, self.size, r) for r in range(self.size))]
        whole = np.empty((n, part.shape[1]), part.dtype)
        self.comm.Allgatherv(np.ascontiguousarray(part), [whole, counts])
        return whole

    # -- failures ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def checked(self) -> Iterator[None]:
        """A block without collectives (argument and data checks, each process scanning only
        its share of the rows), then an agreement: raised on every process, the error is
        raised as usual; raised on some, they print it and end the job, while the others wait
        to be ended."""
        error: BaseException | None = None
        try:
            with scanning_share(self.size, self.rank):   # each process reads its rows of X
                yield
        except BaseException as caught:  # noqa: BLE001 - every error must reach the agreement
            error = caught
        failed = self.comm.allreduce(error is not None, op=self.MPI.SUM)
        if failed == self.size:
            raise error                                   # type: ignore[misc]
        if error is not None:
            self.abort(error)
        if failed:
            self.comm.Barrier()                           # never completes: Abort ends us

    @contextlib.contextmanager
    def failing_together(self, collective: tuple[type[BaseException], ...]
                         ) -> Iterator[None]:
        """Errors of type ``collective`` are decided from reduced numbers (the same on every
        process): raised as usual.  Any other error is this process's own: printed, then
        ``comm.Abort(1)`` ends every process (none is left waiting in a collective)."""
        try:
            yield
        except collective:
            raise
        except BaseException as error:                    # one process failing ends the job
            if self.size == 1:                            # nobody waits for this one
                raise
            self.abort(error)

    def abort(self, error: BaseException) -> None:
        """Print ``error`` with its traceback on this process's stderr, then end every process."""
        stream = sys.__stderr__ or sys.stderr
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        stream.write(f"deltaprop: process {self.rank} of {self.size} failed; ending the MPI "
                     f"job\n{text}")
        stream.flush()
        time.sleep(FORWARD_SECONDS)     # the launcher relays stderr; Abort may cut the relay
        self.comm.Abort(1)
        os._exit(1)                 # MPICH's Abort may return before the launcher ends us


# -- the step's stand-ins for train_step: the local loss, the model, the reduced step ----------

class ShareLoss:
    """The loss of this process's rows: its weighted mean :math:`L_r` and weight :math:`W_r`
    (never raises: a non-finite value travels through the reduction to every process)."""

    def __init__(self, loss: Any) -> None:
        self.loss = loss
        self.value: float | None = None                  # the GLOBAL batch loss, after the step
        self.local_sum, self.weight, self.skip = 0.0, 0.0, True

    def __call__(self, output: np.ndarray, target: np.ndarray, sample_weight=None):
        rows = output.shape[0]
        weight = float(rows if sample_weight is None else np.sum(sample_weight, dtype=np.float64))
        self.value = None
        if weight == 0:                                  # no rows here, or all of weight 0
            self.local_sum, self.weight, self.skip = 0.0, 0.0, True
            return 0.0, np.zeros_like(output)
        value, grad = self.loss(output, target, sample_weight)
        value = float(value)
        self.local_sum, self.weight = value * weight, weight
        self.skip = not np.isfinite(value)               # no backward from a NaN loss
        return value, grad


class ShareModel(LoopModel):
    """:class:`LoopModel` on this process's rows, with the Dropout masks of the global batch."""

    def __init__(self, model: Any, parallel: Parallel, loss: ShareLoss) -> None:
        super().__init__(model)
        self.parallel, self.share_loss = parallel, loss

    def forward(self, X: np.ndarray) -> np.ndarray:
        n, lo, hi = self.parallel.batch
        dropouts = [layer for layer in self.model.layers
                    if isinstance(getattr(layer, "rng", None), np.random.Generator)]
        for layer in dropouts:
            layer.rng = _RowsOfGlobalDraw(layer.rng, n, lo, hi)
        try:
            return super().forward(X)
        finally:
            for layer in dropouts:
                layer.rng = layer.rng.rng

    def backward(self, grad: np.ndarray) -> None:
        if not self.share_loss.skip:
            super().backward(grad)


class _RowsOfGlobalDraw:
    """A generator stand-in: ``random((rows, k))`` draws the global batch's ``(n, k)`` array
    (as one process would) and returns this process's rows ``[lo, hi)`` of it."""

    def __init__(self, rng: np.random.Generator, n: int, lo: int, hi: int) -> None:
        self.rng, self.n, self.lo, self.hi = rng, n, lo, hi

    def random(self, shape: tuple[int, ...]) -> np.ndarray:
        return self.rng.random((self.n, *shape[1:]))[self.lo:self.hi]


class AllreducedStep:
    r"""``optimizer.step()`` after ONE ``Allreduce`` of the flat buffer
    :math:`[W_r g_r \mid W_r L_r \mid W_r]`: every process then holds
    :math:`\nabla L = \sum_r W_r g_r / \sum_r W_r` and steps (through ``guarded``)."""

    def __init__(self, model: Any, guarded: Any, loss: ShareLoss, parallel: Parallel) -> None:
        self.model, self.guarded, self.loss, self.parallel = model, guarded, loss, parallel
        sizes = [int(np.prod(value.shape)) for _, value in model.named_parameters()]
        self.ends = np.cumsum([0, *sizes])
        self.buffer = np.zeros(self.ends[-1] + 2, model.dtype)   # preallocated once: (P + 2,)
        self.seconds = 0.0                           # time spent in Allreduce (benchmarks)

    def step(self) -> None:
        buffer, ends, weight = self.buffer, self.ends, self.loss.weight
        grads = [grad for _, grad in self.model.named_grads()]
        if self.loss.skip:
            buffer[:ends[-1]] = 0.0
        else:
            for grad, begin, end in zip(grads, ends[:-1], ends[1:]):
                np.multiply(grad.reshape(-1), weight, out=buffer[begin:end])   # W_r g_r
        buffer[-2:] = self.loss.local_sum, weight
        self._allreduce(buffer)
        total_weight = float(buffer[-1])
        if total_weight == 0:                            # the whole batch weighs 0: no step
            return
        self.loss.value = float(buffer[-2]) / total_weight
        if not np.isfinite(self.loss.value):             # the same on every process
            raise NonFiniteLossError(self.loss.value)
        for (_, layer, key), begin, end in zip(self.model.parameter_refs(), ends[:-1], ends[1:]):
            grad = buffer[begin:end] / total_weight      # ∇L, the global weighted mean
            layer.grads[key] = grad.reshape(layer.params[key].shape).astype(
                layer.params[key].dtype, copy=False)
        self.guarded.step()

    def _allreduce(self, buffer: np.ndarray) -> None:
        from time import perf_counter

        start = perf_counter()
        self.parallel.comm.Allreduce(self.parallel.MPI.IN_PLACE, buffer, op=self.parallel.MPI.SUM)
        self.seconds += perf_counter() - start
