r"""The processes mode: one process with 2 BLAS threads against 2 MPI processes with 1 each.

``python benchmarks/processes.py`` (one command; ``--help`` for the flags) runs, each in a
fresh child so that the BLAS thread count is set before NumPy loads:

- ``1 × 1`` and ``1 × 2``: one process, ``OPENBLAS_NUM_THREADS`` 1 / 2, ``fit`` without MPI;
- ``2 × 1``: ``mpiexec -n 2``, one BLAS thread each, ``fit(comm=MPI.COMM_WORLD)``; the time
  spent inside the step's one ``Allreduce`` is summed separately (it includes waiting for the
  slower process), then the same buffer is reduced alone in a loop (the bare cost), and
  ``Allreduce`` is timed over message sizes from 8 B to 32 MiB for the latency α and the
  inverse bandwidth β (least squares of :math:`t = 2α + β m` on 2 processes, ring model).

Then :func:`projection` models the step of K processes on K machines (ring Allreduce):

.. math::

    T_K(B) = c_0 + c_1 \frac{B}{K} + 2(K-1)\,α + \frac{2(K-1)}{K}\,4P\,β

with :math:`c_0, c_1` fitted to the ``1 × 1`` steps (per-step and per-row cost) and
:math:`P` parameters in float32.  It is a projection, not a measurement.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .runners import make_problem, matmul_flops

SIZES = [784, 256, 128, 10]
WIDE = [784, 2560, 1280, 10]                          # the 10× wider network of the model


def parameters(sizes: list[int]) -> int:
    return sum(n_in * n_out + n_out for n_in, n_out in itertools.pairwise(sizes))


# -- in a child process -----------------------------------------------------------------------

def _epochs(problem, batch: int, reps: int, comm) -> tuple[list[float], float, int]:
    """Seconds of each of ``reps`` epochs (the slowest process's), the seconds inside the
    step's Allreduce and the number of steps."""
    import deltaprop as dp
    from deltaprop.training import distributed

    steps: list = []
    original = distributed.AllreducedStep.__init__

    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        steps.append(self)

    distributed.AllreducedStep.__init__ = recording   # to read each fit's Allreduce seconds
    seconds = []
    try:
        for _ in range(reps + 1):                    # the first is a warm-up
            model = dp.mlp(problem.sizes, seed=0)
            if comm is not None:
                comm.Barrier()
            start = time.perf_counter()
            dp.fit(model, problem.X, problem.y, loss="cross_entropy",
                   optimizer=dp.SGD(model, lr=0.01, momentum=0.9), epochs=1,
                   batch_size=batch, seed=0, metric=None, comm=comm)
            elapsed = time.perf_counter() - start
            seconds.append(elapsed if comm is None else comm.allreduce(elapsed, op=_max()))
    finally:
        distributed.AllreducedStep.__init__ = original
    inside = sum(step.seconds for step in steps[1:]) / reps if steps else 0.0
    n_steps = -(-problem.X.shape[0] // batch)
    return seconds[1:], inside, n_steps


def _max():
    from mpi4py import MPI
    return MPI.MAX


def _allreduce_seconds(comm, n_bytes: int, reps: int) -> float:
    """Median seconds of one in-place float32 Allreduce of ``n_bytes``."""
    from mpi4py import MPI

    buffer = np.ones(max(n_bytes // 4, 1), np.float32)
    times = []
    for i in range(reps + 3):
        comm.Barrier()
        start = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        if i >= 3:
            times.append(comm.allreduce(time.perf_counter() - start, op=MPI.MAX))
    return float(np.median(times))


def worker(samples: int, batches: list[int], reps: int, use_mpi: bool) -> dict:
    comm = None
    if use_mpi:
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
    problem = make_problem(samples, SIZES)
    result: dict = {"epochs": {}}
    for batch in batches:
        seconds, inside, n_steps = _epochs(problem, batch, reps, comm)
        result["epochs"][str(batch)] = {"seconds": seconds, "allreduce_in_step": inside,
                                        "steps": n_steps}
    if comm is not None:
        model_bytes = 4 * (parameters(SIZES) + 2)
        result["allreduce_alone"] = _allreduce_seconds(comm, model_bytes, 50)
        result["sweep"] = {str(m): _allreduce_seconds(comm, m, 30 if m < 1 << 22 else 8)
                           for m in [8 << (2 * i) for i in range(12)]}   # 8 B .. 32 MiB
    if comm is None or comm.Get_rank() == 0:
        print(json.dumps(result))
    return result


# -- the parent: launch, fit, project -------------------------------------------------------

def _child(threads: int, processes: int, args, batches: list[int]) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "deltaprop_bench.processes", "--worker",
               "--samples", str(args.samples), "--reps", str(args.reps),
               "--batch-sizes", ",".join(map(str, batches))]
    if processes > 1:
        mpiexec = Path(sys.executable).with_name("mpiexec")
        command = [str(mpiexec) if mpiexec.exists() else "mpiexec", "-n", str(processes),
                   *command, "--mpi"]
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1]),
                                         str(Path(__file__).parents[2] / "src"),
                                         env.get("PYTHONPATH", "")])
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def latency_bandwidth(sweep: dict[str, float]) -> tuple[float, float]:
    r"""α (s) and β (s/byte) from 2-process Allreduce times: least squares of
    :math:`t(m) = 2α + β m` (ring Allreduce, K = 2: 2(K−1) = 2 latencies, 2(K−1)/K = 1)."""
    m = np.array([float(k) for k in sweep])
    t = np.array(list(sweep.values()))
    slope, intercept = np.polyfit(m, t, 1, w=1 / t)    # relative errors: small sizes count
    return max(intercept, 0.0) / 2, max(slope, 0.0)


def step_costs(one_thread: dict) -> tuple[float, float]:
    """``c0`` (s per step) and ``c1`` (s per row) fitted to the 1 × 1 epochs."""
    batch = np.array([float(b) for b in one_thread])
    per_step = np.array([np.median(r["seconds"]) / r["steps"] for r in one_thread.values()])
    c1, c0 = np.polyfit(batch, per_step, 1)
    return max(c0, 0.0), c1


def projection(c0: float, c1: float, alpha: float, beta: float, sizes: list[int],
               batch: int, k: int) -> float:
    """Projected seconds per step of ``k`` processes on ``k`` machines (ring Allreduce);
    the per-row cost scales with the network's matmul FLOPs, the per-step one with its
    parameters (the optimiser's update)."""
    flops, params = matmul_flops(1, sizes) / matmul_flops(1, SIZES), parameters(sizes)
    compute = c0 * params / parameters(SIZES) + c1 * flops * batch / k
    reduce = 0.0 if k == 1 else 2 * (k - 1) * alpha + 2 * (k - 1) / k * 4 * params * beta
    return compute + reduce


def break_even_batch(c1: float, alpha: float, beta: float, sizes: list[int]) -> float:
    r"""The global batch above which 2 machines beat one: :math:`c_1 f B/2 > 2α + 4Pβ`."""
    flops = matmul_flops(1, sizes) / matmul_flops(1, SIZES)
    return 2 * (2 * alpha + 4 * parameters(sizes) * beta) / (c1 * flops)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=30000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--batch-sizes", default="128,512,4096")
    parser.add_argument("--json", help="write the measurements and the projection here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mpi", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.worker:
        worker(args.samples, args.batch_sizes, args.reps, args.mpi)
        return 0
    from .processes_report import report

    halves = sorted({*args.batch_sizes, *(b // 2 for b in args.batch_sizes)})  # c(b) fit
    runs = {"1x1": _child(1, 1, args, halves), "1x2": _child(2, 1, args, args.batch_sizes),
            "2x1": _child(1, 2, args, args.batch_sizes)}
    text, summary = report(runs, args)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
