"""``mpiexec -n K deltaprop train|evaluate|predict ...``: the subcommands over MPI.

A subcommand wrapped in :func:`under_mpi` notices that ``mpiexec`` (MPICH, Intel MPI, Open
MPI, Slurm's PMI) started it as one of several processes, from the launcher's environment
variables; it then trains with ``fit(comm=MPI.COMM_WORLD)`` or predicts each process's share
of the rows (gathered in order).  Rank 0 prints and writes the files; the others are silent.

An error on rank 0 is reported as usual and then ends every process; an error on another
process alone is shown by that process (after a short wait in which an error every process
met, such as a bad flag, is shown by rank 0 alone) and ends every process.  Ctrl-C under
``mpiexec`` ends every process without saving.
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
GRACE_SECONDS = 2.0            # how long a failing process lets rank 0 end the job first

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
    """Rank 0: report as usual (the caller re-raises), then end every process at exit.
    Another process: wait for rank 0 to end the job; if it does not, show the error here
    and end every process."""
    code = EXIT_USER_ERROR if isinstance(error, CLIError) else \
        EXIT_INTERRUPTED if isinstance(error, KeyboardInterrupt) else 1
    if _comm.Get_rank() == 0:
        atexit.register(_comm.Abort, code)           # after main has printed the error
        return
    time.sleep(GRACE_SECONDS)
    stream = sys.__stderr__
    stream.write(f"deltaprop {command}: process {_comm.Get_rank()} of {_comm.Get_size()}: "
                 f"error: {type(error).__name__}: {error}\n")
    stream.flush()
    time.sleep(FORWARD_SECONDS)     # mpiexec relays stderr through its proxy; Abort cuts it
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
