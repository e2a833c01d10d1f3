"""``fit(comm=...)`` under ``mpiexec -n 2`` and ``-n 3``: the same result as one process (to
float rounding), bit-identical parameters on every process, checkpoints that move between
process counts, and one failing process ending the whole job with its error shown once.

The runs are in ``mpi_runs.py``; each ``mpiexec`` launch runs several of them, and the test
computes the one-process reference itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import mpi_runs
import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="the MPI tests need mpi4py: pip install mpi4py mpich")
_VENV_MPIEXEC = Path(sys.executable).with_name("mpiexec")
MPIEXEC = str(_VENV_MPIEXEC) if _VENV_MPIEXEC.exists() else shutil.which("mpiexec")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec: pip install mpich")]
RUNS = Path(mpi_runs.__file__)
EQUAL_RUNS = ["dropout_adam_weights", "float32_adamw_memmap", "diverging",
              "bad_argument_everywhere", "seeded_by_rank", "seed_none", "rank_zero_callbacks"]


def mpiexec(n: int, out_dir: Path, *names: str, timeout: float = 90):
    """``mpiexec -n n python mpi_runs.py out_dir names...`` (the processes yield the cores
    they wait on, so three processes on two cores do not starve each other)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parents[2] / "src"), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run([MPIEXEC, "-n", str(n), sys.executable, str(RUNS), str(out_dir),
                           *names], capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as saved:
        return {key: saved[key] for key in saved.files}


@pytest.fixture(scope="module", params=[2, 3], ids=["2 processes", "3 processes"])
def launched(request, tmp_path_factory):
    """``EQUAL_RUNS`` under ``mpiexec -n 2`` / ``-n 3``: ``(n, {run: [result per rank]})``."""
    n, out = request.param, tmp_path_factory.mktemp(f"mpi{request.param}")
    done = mpiexec(n, out, *EQUAL_RUNS)
    assert done.returncode == 0, done.stderr[-3000:]
    results = {name: [_load(out / f"{name}.rank{r}.npz") for r in range(n)]
               for name in EQUAL_RUNS}
    results["side effects"] = sorted(path.name for path in out.glob("side_effect.*"))
    return n, results


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.mark.timeout(180)
@pytest.mark.parametrize(("name", "rtol"), [("dropout_adam_weights", 1e-10),
                                            ("float32_adamw_memmap", 1e-5),
                                            ("seeded_by_rank", 1e-10)])
def test_the_same_training_as_one_process(launched, tmp_path, name, rtol):
    _, results = launched
    reference = mpi_runs.RUNS[name](None, tmp_path)
    for result in results[name]:                  # every process: parameters and History
        assert sorted(result) == sorted(reference)
        for key, expected in reference.items():
            assert _relative(result[key], expected) <= rtol, key


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", ["dropout_adam_weights", "float32_adamw_memmap",
                                  "seeded_by_rank", "seed_none"])
def test_parameters_are_bit_identical_on_every_process(launched, name):
    _, results = launched
    first = results[name][0]
    for result in results[name][1:]:
        for key in first:
            if key.startswith("param/"):
                assert result[key].tobytes() == first[key].tobytes(), key


@pytest.mark.timeout(180)
def test_early_stopping_stops_every_process_together(launched, tmp_path):
    _, results = launched
    reference = mpi_runs.RUNS["dropout_adam_weights"](None, tmp_path)
    assert int(reference["epochs_run"]) < 12                # it does stop early
    assert {int(r["epochs_run"]) for r in results["dropout_adam_weights"]} \
        == {int(reference["epochs_run"])}


@pytest.mark.timeout(180)
def test_rank_zero_only_callbacks_run_on_rank_0_and_their_stop_stops_all(launched):
    _, results = launched
    assert results["side effects"] == ["side_effect.rank0"]
    assert [int(r["epochs_run"]) for r in results["rank_zero_callbacks"]] \
        == [2] * len(results["rank_zero_callbacks"])


@pytest.mark.timeout(180)
def test_a_divergence_is_raised_on_every_process_as_in_one(launched, tmp_path):
    _, results = launched
    expected = str(mpi_runs.RUNS["diverging"](None, tmp_path)["error"])
    assert "loss became" in expected
    assert [str(r["error"]) for r in results["diverging"]] == [expected] * len(
        results["diverging"])


@pytest.mark.timeout(180)
def test_an_argument_refused_everywhere_is_raised_everywhere(launched, tmp_path):
    _, results = launched
    expected = str(mpi_runs.RUNS["bad_argument_everywhere"](None, tmp_path)["error"])
    assert "epochs" in expected
    assert {str(r["error"]) for r in results["bad_argument_everywhere"]} == {expected}


@pytest.mark.timeout(180)
def test_checkpoints_move_between_process_counts(tmp_path):
    """2 processes write epochs 1-3, one process resumes 4-5; and one writes, 2 resume."""
    full = mpi_runs._checkpointed(None, tmp_path, 5)
    done = mpiexec(2, tmp_path, "checkpoint_write")
    assert done.returncode == 0, done.stderr[-3000:]
    resumed_here = mpi_runs._checkpointed(None, tmp_path, 5, resume=tmp_path / "mpi.ckpt")
    mpi_runs._checkpointed(None, tmp_path, 3, save=tmp_path / "single.ckpt")
    done = mpiexec(2, tmp_path, "checkpoint_resume")
    assert done.returncode == 0, done.stderr[-3000:]
    resumed_there = [_load(tmp_path / f"checkpoint_resume.rank{r}.npz") for r in range(2)]
    for result in [resumed_here, *resumed_there]:
        for key, expected in full.items():
            assert _relative(result[key], expected) <= 1e-10, key


@pytest.mark.timeout(120)
def test_one_failing_process_ends_the_job_with_its_error_once(tmp_path):
    done = mpiexec(2, tmp_path, "one_rank_fails", timeout=60)   # a hang fails the timeout
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert output.count("RuntimeError: rank one broke on purpose") == 1, output[-3000:]
    assert "process 1 of 2 failed" in output
    assert not list(tmp_path.glob("one_rank_fails.*.npz"))        # nobody finished


@pytest.mark.timeout(120)
def test_data_refused_on_one_process_ends_the_job_with_its_error_once(tmp_path):
    done = mpiexec(2, tmp_path, "bad_argument_on_rank_1", timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert output.count("ValueError: X must be finite, found nan at index (80, 2)") == 1, \
        output[-3000:]
    assert "process 1 of 2 failed" in output
    assert not list(tmp_path.glob("bad_argument_on_rank_1.*.npz"))
