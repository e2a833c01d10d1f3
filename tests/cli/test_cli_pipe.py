"""A reader that closes the pipe early (``deltaprop predict ... | head -1``) ends the program
quietly: no traceback, no ``BrokenPipeError``, no "Exception ignored" at exit."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest

from deltaprop.cli import main

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")


def _child_env() -> dict[str, str]:
    import deltaprop

    source = os.path.dirname(os.path.dirname(deltaprop.__file__))
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [source, *filter(None, [os.environ.get("PYTHONPATH")])])}


def _run_with_early_close(argv: list[str], read_lines: int) -> tuple[int, str, list[str]]:
    """Run ``python -m deltaprop ARGV``, read ``read_lines`` lines, then close the pipe."""
    with subprocess.Popen([sys.executable, "-m", "deltaprop", *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=_child_env()) as child:
        try:
            lines = [child.stdout.readline().decode() for _ in range(read_lines)]
            child.stdout.close()
            err = child.stderr.read().decode()      # ends when the child exits
            code = child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    return code, err, lines


def _assert_quiet(err: str) -> None:
    for text in ("Traceback", "BrokenPipeError", "Exception ignored", "Broken pipe"):
        assert text not in err, err


@pytest.mark.slow
def test_datasets_into_a_closed_pipe_is_quiet():
    code, err, _ = _run_with_early_close(["datasets"], read_lines=0)
    _assert_quiet(err)
    assert err == "" and code == 141


@pytest.mark.slow
def test_predict_into_head_is_quiet(tmp_path):
    """More rows than a pipe holds: the child is mid-write when the reader goes away."""
    out = tmp_path / "run"
    assert main(["train", "moons", "--layers", "4", "--epochs", "1", "--out", str(out),
                 "--quiet"]) == 0
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "many.npz", X=rng.normal(size=(20000, 2)),
             y=rng.integers(0, 2, size=20000))
    code, err, lines = _run_with_early_close(
        ["predict", str(out / "model.safetensors"), str(tmp_path / "many.npz"), "--proba"],
        read_lines=1)
    assert lines == ["prediction,p(0),p(1)\n"]
    _assert_quiet(err)
    assert err == "" and code == 141


class _ClosedPipe(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_main_turns_a_broken_pipe_into_exit_code_141(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["datasets"]) == 141
    assert capsys.readouterr().err == ""


class _FullDisk(io.StringIO):
    """A standard output on a full disk: every write fails as ``> /dev/full`` does."""

    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


@pytest.mark.parametrize("argv", [["datasets"], ["gradcheck"]])
def test_a_failing_standard_output_is_one_line_exit_2(monkeypatch, capsys, argv):
    monkeypatch.setattr(sys, "stdout", _FullDisk())
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"deltaprop {argv[0]}: error: cannot write to standard output: " \
                  "No space left on device\n"


@pytest.mark.slow
def test_a_full_disk_under_stdout_in_a_child_is_one_line():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "deltaprop", "datasets"], stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=60,
                                env=_child_env())
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "deltaprop datasets: error: cannot write to standard output: No space left on device"]
