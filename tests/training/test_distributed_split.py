"""The arithmetic of ``fit(comm=...)`` without MPI: each process's contiguous share of a
batch, the batches a process gets, and the error when mpi4py is missing."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.training import distributed, loop


@pytest.mark.parametrize("n", [1, 2, 7, 16, 103])
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 8])
def test_shares_are_contiguous_cover_the_rows_and_differ_by_at_most_one(n, size):
    shares = [distributed.share(n, size, rank) for rank in range(size)]
    assert shares[0][0] == 0 and shares[-1][1] == n
    assert all(shares[r][1] == shares[r + 1][0] for r in range(size - 1))   # in rank order
    counts = [hi - lo for lo, hi in shares]
    assert min(counts) >= 0 and max(counts) - min(counts) <= 1


class _FakeProcess:
    """Only ``rows`` (no MPI): rank ``rank`` of ``size``, as :class:`distributed.Parallel`."""

    rows = distributed.Parallel.rows

    def __init__(self, size: int, rank: int) -> None:
        self.size, self.rank, self.batch = size, rank, (0, 0, 0)


@pytest.mark.parametrize("size", [2, 3, 5])
@pytest.mark.parametrize("shuffled", [False, True])
def test_the_processes_batches_put_together_are_one_process_batches(size, shuffled):
    X = np.arange(46.0).reshape(23, 2)
    y, w = np.arange(23), np.linspace(0.0, 1.0, 23)
    order = np.random.default_rng(0).permutation(23) if shuffled else None
    def batches(process):                # copies: the batches share one gather buffer
        return [(n, *map(np.copy, arrays)) for n, *arrays in
                loop._Batches(X, y, w, None, 4, process).epoch(order)]

    whole = batches(None)
    parts = [batches(_FakeProcess(size, rank)) for rank in range(size)]
    for b, (n, xb, yb, wb) in enumerate(whole):
        assert [part[b][0] for part in parts] == [n] * size      # the global batch's size
        np.testing.assert_array_equal(np.concatenate([p[b][1] for p in parts]), xb)
        np.testing.assert_array_equal(np.concatenate([p[b][2] for p in parts]), yb)
        np.testing.assert_array_equal(np.concatenate([p[b][3] for p in parts]), wb)


def test_the_global_dropout_draw_gives_each_process_its_rows_of_one_mask():
    whole = np.random.default_rng(3).random((7, 4))
    rows = [distributed._RowsOfGlobalDraw(np.random.default_rng(3), 7,
                                          *distributed.share(7, 3, r)).random((9, 4))
            for r in range(3)]
    np.testing.assert_array_equal(np.concatenate(rows), whole)


def test_comm_without_mpi4py_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)             # import mpi4py fails
    model = dp.mlp([2, 2], seed=0)
    with pytest.raises(ImportError, match=r"pip install mpi4py mpich"):
        dp.fit(model, np.zeros((4, 2)), np.zeros(4, dtype=int), loss="cross_entropy",
               optimizer="sgd", epochs=1, comm=object())


def test_comm_must_be_an_mpi4py_communicator():
    pytest.importorskip("mpi4py", reason="the type check needs mpi4py: pip install mpi4py")
    model = dp.mlp([2, 2], seed=0)
    with pytest.raises(TypeError, match=r"comm must be an mpi4py communicator .* got str"):
        dp.fit(model, np.zeros((4, 2)), np.zeros(4, dtype=int), loss="cross_entropy",
               optimizer="sgd", epochs=1, comm="world")


def test_each_process_scans_only_its_share_of_the_rows_for_nan():
    from deltaprop.training.validation import check_finite, scanning_share

    X = np.zeros((10, 3))
    X[7, 1] = np.nan                                       # in rank 1's rows [5, 10)
    with scanning_share(2, 0):
        check_finite(X, "X")                               # rows 0-4: nothing to see
    with scanning_share(2, 1), pytest.raises(ValueError, match=r"nan at index \(7, 1\)"):
        check_finite(X, "X")
    with pytest.raises(ValueError, match=r"nan at index \(7, 1\)"):
        check_finite(X, "X")                               # one process: every row


def test_each_process_scans_only_its_share_for_the_dtype_range():
    from deltaprop.training.validation import check_dtype_range, scanning_share

    X = np.zeros((9, 2))
    X[2, 0] = 1e300                                        # too large for float32, rank 0
    with scanning_share(3, 1):
        check_dtype_range(X, np.float32, "X")
    with scanning_share(3, 0), pytest.raises(ValueError, match=r"index \(2, 0\)"):
        check_dtype_range(X, np.float32, "X")


def _fit(comm, X, y, dtype=np.float64, **options):
    model = dp.mlp([3, 6, 2], dropout=0.25, seed=0, dtype=dtype)
    history = dp.fit(model, X, y, loss="cross_entropy", optimizer=dp.Adam(model, lr=0.01),
                     epochs=3, batch_size=7, seed=1, comm=comm, **options)
    return model.state_dict(), history


def test_one_process_communicator_trains_as_without_one():
    """``comm=MPI.COMM_SELF``: the whole MPI path (shares, one Allreduce, reductions) in
    this process, with a result equal to ``comm=None`` to float rounding."""
    MPI = pytest.importorskip("mpi4py.MPI", reason="needs mpi4py: pip install mpi4py mpich")
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, size=30)
    weights = rng.uniform(0, 1, size=30)
    options = {"sample_weight": weights, "validation_split": 0.2}
    (plain, plain_history), (mpi, mpi_history) = (_fit(comm, X, y, **options)
                                                  for comm in (None, MPI.COMM_SELF))
    for key, value in plain.items():
        np.testing.assert_allclose(mpi[key], value, rtol=1e-12, atol=1e-15)
    for key in plain_history.history:
        np.testing.assert_allclose(mpi_history[key], plain_history[key], rtol=1e-12)


def test_comm_refuses_arrays_of_other_libraries():
    MPI = pytest.importorskip("mpi4py.MPI", reason="needs mpi4py: pip install mpi4py mpich")
    xp = pytest.importorskip("array_api_strict")
    X = xp.asarray(np.zeros((6, 3)))
    with pytest.raises(TypeError, match=r"fit\(comm=\.\.\.\) trains on NumPy arrays"):
        _fit(MPI.COMM_SELF, X, xp.asarray(np.zeros(6, dtype=np.int64)))


class _Breaks(dp.Callback):
    def on_batch_end(self, batch, logs):
        raise RuntimeError("broken callback")


def test_with_one_process_an_error_is_raised_not_aborted():
    """Nobody waits for the only process: its error propagates as without ``comm``."""
    MPI = pytest.importorskip("mpi4py.MPI", reason="needs mpi4py: pip install mpi4py mpich")
    X, y = np.zeros((6, 3)), np.zeros(6, dtype=np.int64)
    with pytest.raises(RuntimeError, match="broken callback"):
        _fit(MPI.COMM_SELF, X, y, callbacks=[_Breaks()])
