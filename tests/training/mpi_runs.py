"""Training runs that ``test_distributed_mpi.py`` launches under ``mpiexec`` and also runs in
one process (``comm=None``) for the reference.

Under MPI: ``python mpi_runs.py OUT_DIR RUN [RUN ...]`` runs each ``RUN`` with
``MPI.COMM_WORLD`` and writes ``OUT_DIR/RUN.rank<r>.npz`` (the parameters and the history).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import deltaprop as dp
from deltaprop.io import open_npz
from deltaprop.io.checkpoint import Checkpoint


def data(n: int = 103, features: int = 5, seed: int = 0):
    """Three classes in ``features`` dimensions, with row weights in [0, 2) (some exactly 0)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    weights = rng.uniform(0, 2, size=n)
    weights[::7] = 0.0
    return X, y, weights


def _result(model, history) -> dict[str, np.ndarray]:
    out = {f"param/{k}": v for k, v in model.state_dict().items()}
    out.update({f"history/{k}": np.asarray(history[k], dtype=np.float64)
                for k in history.history})
    out["epochs_run"] = np.asarray(len(history))
    return out


def dropout_adam_weights(comm, workdir: Path) -> dict[str, np.ndarray]:
    """float64 from a memory-mapped .npz; Dropout, sample weights, Adam, StepLR, early
    stopping, a validation split; 103 rows in batches of 16 (the last batch 7 rows: fewer
    than some process counts need)."""
    X, y, weights = data()
    path = workdir / f"data.{0 if comm is None else comm.Get_rank()}.npz"
    np.savez(path, X=X)
    X = open_npz(path)["X"]
    model = dp.mlp([5, 16, 3], dropout=0.3, seed=1, dtype=np.float64)
    optimizer = dp.Adam(model, lr=0.02)
    history = dp.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=12,
                     batch_size=16, seed=3, sample_weight=weights, validation_split=0.25,
                     schedule=dp.StepLR(optimizer, step_size=3, gamma=0.5),
                     early_stopping=dp.EarlyStopping(patience=2, min_delta=0.05), comm=comm)
    return _result(model, history)


def float32_adamw_memmap(comm, workdir: Path) -> dict[str, np.ndarray]:
    """float32 from an ``np.memmap``: AdamW, MSE with R², full batch in the last epoch too."""
    X, _, _ = data(n=70, features=4, seed=5)
    path = workdir / f"X.{0 if comm is None else comm.Get_rank()}.f32"
    X.astype(np.float32).tofile(path)
    X_map = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    target = np.column_stack([X[:, 0] - X[:, 1], X[:, 2] * 0.5]).astype(np.float32)
    model = dp.mlp([4, 8, 2], seed=2)
    history = dp.fit(model, X_map, target, loss="mse", optimizer=dp.AdamW(model, lr=0.01),
                     epochs=5, batch_size=32, seed=4, validation_data=(X[:9], target[:9]),
                     comm=comm)
    return _result(model, history)


def _checkpointed(comm, workdir: Path, epochs: int, resume=None, save=None):
    X, y, _ = data(n=60)
    model = dp.mlp([5, 8, 3], dropout=0.2, seed=7, dtype=np.float64)
    callbacks = [] if save is None else [Checkpoint(save, every=1)]
    history = dp.fit(model, X, y, loss="cross_entropy", optimizer=dp.Adam(model, lr=0.01),
                     epochs=epochs, batch_size=8, seed=9, callbacks=callbacks, resume=resume,
                     comm=comm)
    return _result(model, history)


def checkpoint_write(comm, workdir: Path) -> dict[str, np.ndarray]:
    """3 epochs with a checkpoint written (by rank 0 only) to ``workdir/mpi.ckpt``."""
    return _checkpointed(comm, workdir, 3, save=workdir / "mpi.ckpt")


def checkpoint_resume(comm, workdir: Path) -> dict[str, np.ndarray]:
    """Epochs 4 and 5 resumed from ``workdir/single.ckpt`` (written by one process)."""
    return _checkpointed(comm, workdir, 5, resume=workdir / "single.ckpt")


def diverging(comm, workdir: Path) -> dict[str, np.ndarray]:
    """A learning rate that makes the loss overflow: every process raises the same error."""
    X, y, _ = data()
    model = dp.mlp([5, 16, 3], seed=1, dtype=np.float64)
    try:
        dp.fit(model, X * 1e150, y, loss="cross_entropy", optimizer=dp.SGD(model, lr=1e150),
               epochs=3, batch_size=16, seed=0, comm=comm)
    except dp.TrainingDivergedError as error:
        return {"error": np.asarray(str(error))}
    return {"error": np.asarray("")}


class _FailOn(dp.Callback):
    def __init__(self, rank: int) -> None:
        self.rank = rank

    def on_batch_end(self, batch: int, logs: dict) -> None:
        if self.context.epoch == 2 and batch == 3 and self.rank == 1:
            raise RuntimeError("rank one broke on purpose")


def one_rank_fails(comm, workdir: Path) -> dict[str, np.ndarray]:
    """Rank 1 raises in the middle of epoch 2; the others are then inside an Allreduce."""
    X, y, _ = data()
    model = dp.mlp([5, 16, 3], seed=1)
    dp.fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=50, batch_size=8,
           seed=0, callbacks=[_FailOn(comm.Get_rank())], comm=comm)
    return _result(model, dp.History())


def seeded_by_rank(comm, workdir: Path) -> dict[str, np.ndarray]:
    """Each process builds its model (and Dropout generator) from its own seed: rank 0's
    weights and generators are the ones every process trains (one process: seed 0)."""
    X, y, _ = data()
    rank = 0 if comm is None else comm.Get_rank()
    model = dp.mlp([5, 16, 3], dropout=0.3, seed=rank, dtype=np.float64)
    history = dp.fit(model, X, y, loss="cross_entropy", optimizer=dp.SGD(model, lr=0.1),
                     epochs=3, batch_size=32, seed=3, comm=comm)
    return _result(model, history)


def seed_none(comm, workdir: Path) -> dict[str, np.ndarray]:
    """``seed=None``: rank 0's shuffling generator is every process's."""
    X, y, _ = data()
    model = dp.mlp([5, 16, 3], seed=1, dtype=np.float64)
    history = dp.fit(model, X, y, loss="cross_entropy", optimizer=dp.SGD(model, lr=0.1),
                     epochs=3, batch_size=8, seed=None, comm=comm)
    return _result(model, history)


class _RankZeroStops(dp.Callback):
    """Side effects on rank 0 only: a file, and a request to stop after epoch 2."""

    rank_zero_only = True

    def __init__(self, workdir: Path, rank: int) -> None:
        self.path = workdir / f"side_effect.rank{rank}"

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        self.path.write_text(str(epoch))
        if epoch == 2:
            self.stop_training = True


def rank_zero_callbacks(comm, workdir: Path) -> dict[str, np.ndarray]:
    X, y, _ = data()
    model = dp.mlp([5, 16, 3], seed=1, dtype=np.float64)
    rank = 0 if comm is None else comm.Get_rank()
    history = dp.fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=6,
                     batch_size=16, seed=0, callbacks=[_RankZeroStops(workdir, rank)],
                     comm=comm)
    return _result(model, history)


def bad_argument_everywhere(comm, workdir: Path) -> dict[str, np.ndarray]:
    """``epochs=0`` on every process: the usual error, raised on every process."""
    X, y, _ = data()
    model = dp.mlp([5, 4, 3], seed=1)
    try:
        dp.fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=0, comm=comm)
    except ValueError as error:
        return {"error": np.asarray(f"{type(error).__name__}: {error}")}
    return {"error": np.asarray("")}


def bad_argument_on_rank_1(comm, workdir: Path) -> dict[str, np.ndarray]:
    """A NaN in row 80 of X on every process: only rank 1, whose share of the rows holds it
    (rows 51-102 of 103), reads that row in the checks."""
    X, y, _ = data()
    X[80, 2] = np.nan
    model = dp.mlp([5, 4, 3], seed=1)
    dp.fit(model, X, y, loss="cross_entropy", optimizer="sgd", epochs=2, comm=comm)
    return _result(model, dp.History())


RUNS = {f.__name__: f for f in (dropout_adam_weights, float32_adamw_memmap, checkpoint_write,
                                checkpoint_resume, diverging, one_rank_fails,
                                bad_argument_everywhere, bad_argument_on_rank_1,
                                seeded_by_rank, seed_none, rank_zero_callbacks)}


def main(out_dir: str, *names: str) -> None:
    from mpi4py import MPI

    comm, workdir = MPI.COMM_WORLD, Path(out_dir)
    for name in names:
        result = RUNS[name](comm, workdir)
        np.savez(workdir / f"{name}.rank{comm.Get_rank()}.npz", **result)


if __name__ == "__main__":
    main(*sys.argv[1:])
