"""``mpiexec -n K deltaprop train|evaluate|predict``: the same output as one process, printed
once, files written by rank 0; an error shown once and the job ended."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deltaprop.cli import _mpi

_VENV_MPIEXEC = Path(sys.executable).with_name("mpiexec")
MPIEXEC = str(_VENV_MPIEXEC) if _VENV_MPIEXEC.exists() else shutil.which("mpiexec")


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, (1, 0)),
    ({"PMI_SIZE": "4", "PMI_RANK": "2"}, (4, 2)),                  # MPICH, Intel MPI, Slurm
    ({"OMPI_COMM_WORLD_SIZE": "3", "OMPI_COMM_WORLD_RANK": "1"}, (3, 1)),   # Open MPI
    ({"PMI_SIZE": "1", "PMI_RANK": "0"}, (1, 0)),                  # mpiexec -n 1
    ({"PMI_SIZE": "", "PMI_RANK": "x"}, (1, 0)),                   # not numbers: no launcher
])
def test_the_launcher_is_read_from_its_environment_variables(environ, expected):
    assert _mpi.launched(environ) == expected


def _deltaprop(*args: str, processes: int = 1, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parents[2] / "src"), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    for name in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"):
        env.pop(name, None)                                  # pytest itself under mpiexec
    launcher = [MPIEXEC, "-n", str(processes)] if processes > 1 else []
    return subprocess.run([*launcher, sys.executable, "-m", "deltaprop", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=90, env=env, check=False)


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec: pip install mpich")
@pytest.mark.parametrize("processes", [2, 3])
def test_train_evaluate_predict_over_processes_match_one_process(tmp_path, processes):
    pytest.importorskip("mpi4py", reason="no mpi4py: pip install mpi4py")
    pytest.importorskip("sklearn", reason="the moons dataset needs scikit-learn")
    train = ["train", "moons", "--layers", "16", "--epochs", "4", "--batch-size", "32",
             "--seed", "0", "--quiet"]
    one = _deltaprop(*train, "--out", "one", cwd=tmp_path)
    many = _deltaprop(*train, "--out", "many", processes=processes, cwd=tmp_path)
    assert one.returncode == 0 and many.returncode == 0, many.stderr[-2000:]
    assert many.stdout.replace("many/", "one/") == one.stdout        # printed once, the same
    assert many.stdout.count("summary") == 1 and many.stderr == one.stderr
    from deltaprop.io.model_files import load
    single, parallel = (load(tmp_path / name / "model.safetensors").state_dict()
                        for name in ("one", "many"))
    for key, value in single.items():
        np.testing.assert_allclose(parallel[key], value, rtol=1e-5, atol=1e-6)
    for command in (["evaluate", "one/model.safetensors", "moons"],
                    ["predict", "one/model.safetensors", "moons", "--proba"]):
        expected = _deltaprop(*command, cwd=tmp_path)
        got = _deltaprop(*command, processes=processes, cwd=tmp_path)
        assert got.returncode == 0 and got.stdout == expected.stdout, got.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec: pip install mpich")
def test_an_error_is_shown_once_and_ends_every_process(tmp_path):
    pytest.importorskip("mpi4py", reason="no mpi4py: pip install mpi4py")
    done = _deltaprop("train", "missing.csv", processes=2, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("deltaprop train: error: data file not found") == 1, done.stderr
    assert "MPI_Abort" not in done.stderr     # every process failed: they stood down, no abort
    assert done.stdout == ""


_ONE_FAILS = """
import argparse, sys
from deltaprop.cli import CLIError, _mpi

def run(args):
    if _mpi.comm().Get_rank() == int(sys.argv[1]):
        raise CLIError("only this process failed")
    _mpi.comm().barrier()              # the others wait inside a collective

_mpi.quiet_unless_rank_zero()          # as deltaprop.cli.main does
try:
    _mpi.under_mpi(run)(argparse.Namespace(command="demo"))
except CLIError as error:
    print(f"deltaprop demo: error: {error}", file=sys.stderr)
    sys.exit(2)
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec: pip install mpich")
@pytest.mark.parametrize("failing", [0, 1])
def test_an_error_on_one_process_alone_is_shown_and_aborts_the_others(tmp_path, failing):
    pytest.importorskip("mpi4py", reason="no mpi4py: pip install mpi4py")
    (tmp_path / "one_fails.py").write_text(_ONE_FAILS)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    done = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "one_fails.py", str(failing)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=90, env=env,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("only this process failed") == 1, done.stderr
    if failing:                        # rank 0 is in the collective: process 1 says so itself
        assert "deltaprop demo: process 1 of 2: error: CLIError: " in done.stderr


def test_started_by_mpiexec_without_mpi4py_says_what_to_install(monkeypatch, capsys):
    from deltaprop.cli import main

    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setitem(sys.modules, "mpi4py", None)             # import mpi4py fails
    assert main(["train", "moons", "--epochs", "1"]) == 2
    error = capsys.readouterr().err
    assert "started by mpiexec as 2 processes, but mpi4py is not installed: pip install " \
           "mpi4py mpich" in error
