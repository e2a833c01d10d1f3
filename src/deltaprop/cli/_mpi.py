"""``mpiexec -n K deltaprop train|evaluate|predict ...``: the subcommands over MPI.

A subcommand wrapped in :func:`under_mpi` notices that ``mpiexec`` (MPICH, Intel MPI, Open
MPI, Slurm's PMI) started it as one of several processes, from the launcher's environment
variables; it then trains with ``fit(comm=MPI.COMM_WORLD)`` or predicts each process's share
of the rows (gathered in order).  Rank 0 prints and writes the files; the others are silent.

An error every process met (a missing file, a bad value, Ctrl-C) is shown once, by rank 0,
and every process exits normally with the exit code.  An error on rank 0 alone is shown as
usual and then aborts the job; an error on another process alone is shown by that process,
which aborts the job.  Ctrl-C under ``mpiexec`` ends every process without saving.
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
import time
from typing import Any

import numpy as np

from ..training.distributed import FORWARD_SECONDS
from . import EXIT_INTERRUPTED, EXIT_USER_ERROR, CLIError

# what launchers put in each process's environment: (size variable, rank variable)
LAUNCHER_VARIABLES = (("PMI_SIZE", "PMI_RANK"), ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
                      ("PMIX_SIZE", "PMIX_RANK"), ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"))
GRACE_SECONDS = 2.0            # how long rank 0 waits for the others to report failing
POLL_SECONDS = 0.01            # how often a failing process looks for its messages
FAILED_TAG, STAND_DOWN_TAG = 7701, 7702   # point-to-point tags, apart from the training's

_comm: Any = None              # this command's communicator (None: one process)


def launched(environ: Any = os.environ) -> tuple[int, int]:
    """``(size, rank)`` as the launcher set them; ``(1, 0)`` when no launcher did."""
    for size_name, rank_name in LAUNCHER_VARIABLES:
        size, rank = environ.get(size_name, ""), environ.get(rank_name, "0")
        if size.isdigit() and rank.isdigit():
            return int(size), int(rank)
    return 1, 0


def comm() -> Any:
    """The running command's communicator, or None (one process)."""
    return _comm


def is_root() -> bool:
    """True in the process that prints and writes: rank 0, or the only process."""
    return _comm is None or _comm.Get_rank() == 0


def under_mpi(run):
    """``run(args)`` as one of the processes ``mpiexec`` started, when it started several."""

    @functools.wraps(run)
    def run_launched(args) -> int:
        global _comm
        size, _ = launched()
        _comm = None
        if size <= 1:
            return run(args)
        try:
            from mpi4py import MPI
        except ImportError:
            raise CLIError(f"started by mpiexec as {size} processes, but mpi4py is not "
                           "installed: pip install mpi4py mpich (or 'deltaprop[mpi]')") from None
        _comm = MPI.COMM_WORLD
        try:
            return run(args)
        except BaseException as error:
            _end_job(args.command, error)
            raise

    return run_launched


def quiet_unless_rank_zero() -> None:
    """Under a launcher, processes other than rank 0 write nothing from here on (their
    Python-level output goes to /dev/null until the process ends)."""
    size, rank = launched()
    if size > 1 and rank != 0:
        sys.stdout = sys.stderr = open(os.devnull, "w")   # kept open until the process ends


def _end_job(command: str, error: BaseException) -> None:
    """End the job after an error, shown once.

    Every process that fails tells rank 0 (a point-to-point message, never a collective: the
    others may be inside one).  When every process failed (a missing file, Ctrl-C) rank 0
    answers "stand down" and they all exit normally with the exit code, rank 0 printing the
    error: nothing is aborted, so nothing cuts ``mpiexec``'s relay of standard error.
    Otherwise the job must be aborted: rank 0 aborts after printing its error; another
    process that rank 0 did not answer shows its own error and aborts.
    """
    code = EXIT_USER_ERROR if isinstance(error, CLIError) else \
        EXIT_INTERRUPTED if isinstance(error, KeyboardInterrupt) else 1
    rank, size = _comm.Get_rank(), _comm.Get_size()
    if rank == 0:
        if not _everyone_failed(size):
            atexit.register(_abort, code)            # after main has printed the error
        return
    request = _comm.isend(code, dest=0, tag=FAILED_TAG)
    if _told_to_stand_down():
        request.wait()
        return                                       # exit normally, silently (not rank 0)
    stream = sys.__stderr__
    stream.write(f"deltaprop {command}: process {rank} of {size}: "
                 f"error: {type(error).__name__}: {error}\n")
    stream.flush()
    _abort(code)


def _everyone_failed(size: int) -> bool:
    """Rank 0: wait up to ``GRACE_SECONDS`` for every other process to report failing; if
    all do, tell each to stand down."""
    from mpi4py import MPI

    failed: set[int] = set()
    status = MPI.Status()
    deadline = time.monotonic() + GRACE_SECONDS
    while len(failed) < size - 1 and time.monotonic() < deadline:
        if _comm.iprobe(source=MPI.ANY_SOURCE, tag=FAILED_TAG, status=status):
            failed.add(status.Get_source())
            _comm.recv(source=status.Get_source(), tag=FAILED_TAG)
        else:
            time.sleep(POLL_SECONDS)
    if len(failed) < size - 1:
        return False
    for other in failed:
        _comm.send(True, dest=other, tag=STAND_DOWN_TAG)
    return True


def _told_to_stand_down() -> bool:
    """Another process: whether rank 0 says "stand down" within its grace time (and a
    second more)."""
    deadline = time.monotonic() + GRACE_SECONDS + 1.0
    while not _comm.iprobe(source=0, tag=STAND_DOWN_TAG):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    _comm.recv(source=0, tag=STAND_DOWN_TAG)
    return True


def _abort(code: int) -> None:
    """Abort every process, after a pause: ``mpiexec`` relays standard error through its
    proxy, and an abort cuts whatever the proxy has not forwarded yet."""
    sys.stdout.flush()
    sys.stderr.flush()
    time.sleep(FORWARD_SECONDS)
    _comm.Abort(code)
    os._exit(code)


# -- predicting over the processes: each predicts its share, rank order kept -----------------

def predict(model: Any, X: Any) -> np.ndarray:
    """:func:`deltaprop.predict`, each process predicting its contiguous share of the rows."""
    from ..training import evaluation

    if _comm is None:
        return np.asarray(evaluation.predict(model, X))
    from ..training.distributed import Parallel

    evaluation.check_model(model)
    return Parallel(_comm).predict_rows(model, np.asarray(X))


def predict_proba(model: Any, X: Any, loss: str) -> np.ndarray:
    """:func:`deltaprop.predict_proba` over the processes (the link applied to ``predict``)."""
    from ..nn.functional import apply_link
    from ..nn.losses import get_loss
    from ..training import evaluation

    if _comm is None:
        return np.asarray(evaluation.predict_proba(model, X, loss=loss))
    return np.asarray(apply_link(np, get_loss(loss).link, predict(model, X)))


def evaluate(model: Any, X: Any, y: Any, loss: str, target_scaler: Any = None) -> dict[str, float]:
    """:func:`deltaprop.evaluate` over the processes: the outputs gathered, scored once.

    With a ``target_scaler`` (a regression trained on standardised targets) the scores are in
    the target's own units, as :func:`~deltaprop.training.evaluation.evaluate_unscaled` gives.
    """
    from ..nn.losses import get_loss
    from ..training import evaluation
    from ..training.validation import check_data

    if _comm is None and target_scaler is None:
        return evaluation.evaluate(model, X, y, loss=loss)
    if _comm is None:
        return evaluation.evaluate_unscaled(model, X, y, target_scaler, loss=loss)
    loss_object = get_loss(loss)
    metric = evaluation.resolve_metric("auto", loss_object)
    evaluation.check_model(model)
    X, y = check_data(model, X, y, loss_object)
    output = predict(model, X)
    if target_scaler is not None:                     # back in the target's units
        output = target_scaler.inverse_transform(output.astype(np.float64))
        y = np.asarray(y, dtype=np.float64).reshape(output.shape[0], -1)
    return evaluation.scores(output, y, loss_object, metric)
