"""The processes mode's arithmetic: α and β recovered from Allreduce times, the ring model,
the break-even batch; and one tiny run of the whole mode under ``mpiexec``."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

HARNESS = str(Path(__file__).resolve().parents[1] / "benchmarks")   # not installed: a folder
if HARNESS not in sys.path:
    sys.path.insert(0, HARNESS)
from deltaprop_bench import processes  # noqa: E402


def test_latency_and_bandwidth_are_recovered_from_exact_times():
    alpha, beta = 3e-6, 0.5e-9
    sweep = {str(m): 2 * alpha + beta * m for m in (8, 512, 32768, 1 << 20, 1 << 24)}
    fitted = processes.latency_bandwidth(sweep)
    assert fitted == pytest.approx((alpha, beta), rel=1e-6)


def test_the_ring_model_at_one_and_two_machines():
    c0, c1, alpha, beta, sizes = 1e-3, 2e-5, 3e-6, 1e-9, processes.SIZES
    assert processes.projection(c0, c1, alpha, beta, sizes, 256, 1) == pytest.approx(
        c0 + c1 * 256)                                      # one machine: no Allreduce
    bytes_ = 4 * processes.parameters(sizes)                # K = 2: 2 latencies, all bytes
    assert processes.projection(c0, c1, alpha, beta, sizes, 256, 2) == pytest.approx(
        c0 + c1 * 128 + 2 * alpha + bytes_ * beta)
    edge = processes.break_even_batch(c1, alpha, beta, sizes)
    assert processes.projection(c0, c1, alpha, beta, sizes, edge, 2) == pytest.approx(
        processes.projection(c0, c1, alpha, beta, sizes, edge, 1))


def test_parameters_of_the_benchmark_network():
    assert processes.parameters([784, 256, 128, 10]) == 784 * 256 + 256 + 256 * 128 + 128 \
        + 128 * 10 + 10


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_processes_mode_runs_and_reports(tmp_path, capsys):
    pytest.importorskip("mpi4py", reason="the processes mode needs mpi4py: pip install mpi4py")
    if not Path(sys.executable).with_name("mpiexec").exists() and not shutil.which("mpiexec"):
        pytest.skip("no mpiexec: pip install mpich")
    out = tmp_path / "processes.json"
    assert processes.main(["--samples", "256", "--reps", "1", "--batch-sizes", "64,128",
                           "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| 64 |" in text and "| 128 |" in text and "Projected (not measured)" in text
    assert out.exists()
