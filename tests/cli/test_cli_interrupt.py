"""Ctrl-C during ``deltaprop train`` keeps what was trained; a second one saving keeps files whole.

In-process tests deliver SIGINT from inside a batch (``signal.raise_signal``), so the batch
and epoch are known exactly; one subprocess test presses Ctrl-C on a real run.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import stat
import subprocess
import sys
import threading

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import io as dio
from deltaprop.cli import main
from deltaprop.training.progress import ProgressBar

pytest.importorskip("safetensors")
pytestmark = pytest.mark.skipif(not hasattr(signal, "raise_signal"), reason="needs signals")


def _press_ctrl_c_at(monkeypatch, epoch: int, batch: int, times: int = 1) -> None:
    """Deliver SIGINT ``times`` times at the end of ``batch`` of ``epoch`` (via the bar)."""
    seen = {"steps": 0}
    original = ProgressBar.on_batch_end

    def on_batch_end(self, b, logs):
        seen["steps"] += 1
        if seen["steps"] == (epoch - 1) * self.n_batches + batch:
            for _ in range(times):
                signal.raise_signal(signal.SIGINT)
        original(self, b, logs)

    monkeypatch.setattr(ProgressBar, "on_batch_end", on_batch_end)


def test_ctrl_c_saves_the_model_and_the_history(tmp_path, monkeypatch, capsys):
    before = signal.getsignal(signal.SIGINT)
    _press_ctrl_c_at(monkeypatch, epoch=2, batch=3)
    out = tmp_path / "run"
    code = main(["train", "moons", "--layers", "8", "--epochs", "50", "--batch-size", "32",
                 "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 130
    assert signal.getsignal(signal.SIGINT) is before          # the handler is put back
    assert captured.out == ""                                  # no summary: it was stopped
    message = captured.err.strip()
    assert len(message.splitlines()) == 1
    assert "interrupted at epoch 2, batch 3 of 9" in message
    assert str(out / "model.safetensors") in message and str(out / "history.json") in message

    bundle = dio.load_bundle(out / "model.safetensors")
    assert bundle.metadata["interrupted"]["epoch"] == 2
    assert bundle.metadata["interrupted"]["batch"] == 3
    assert bundle.preprocessing is not None                    # the scaling is saved too
    data = dp.datasets.load("moons", seed=0)
    proba = dp.predict_proba(bundle.model, bundle.preprocessing.transform(data.X),
                             loss="cross_entropy")
    assert proba.shape == (400, 2) and np.all(np.isfinite(proba))
    history = json.loads((out / "history.json").read_text())
    assert history["epochs"] == [1]                            # the complete epochs only
    assert len(history["history"]["loss"]) == 1
    assert history["interrupted"]["epoch"] == 2 and history["interrupted"]["batch"] == 3
    assert "partial epoch" in history["interrupted"]["note"]
    assert main(["evaluate", str(out / "model.safetensors"), "moons"]) == 0


def test_ctrl_c_stops_after_the_step_in_which_it_came(tmp_path, monkeypatch, capsys):
    """The saved weights are those after exactly (epoch - 1) * n_batches + batch steps."""
    _press_ctrl_c_at(monkeypatch, epoch=1, batch=4)
    out = tmp_path / "run"
    assert main(["train", "moons", "--layers", "8", "--epochs", "5", "--batch-size", "32",
                 "--val-split", "0", "--out", str(out), "--quiet"]) == 130
    saved = dio.load(out / "model.safetensors")
    monkeypatch.undo()
    # the same run, cut after 4 steps by a callback that stops training there
    captured_weights = {}

    class Snapshot(dp.Callback):
        def on_batch_end(self, batch, logs):
            if batch == 4:
                captured_weights.update({k: v.copy() for k, v in
                                         self.model.state_dict().items()})

    monkeypatch.setattr("deltaprop.training.progress.ProgressBar",
                        lambda quiet: _WithCallback(Snapshot()))
    assert main(["train", "moons", "--layers", "8", "--epochs", "1", "--batch-size", "32",
                 "--val-split", "0", "--quiet"]) == 0
    capsys.readouterr()
    for key, value in saved.state_dict().items():
        np.testing.assert_array_equal(value, captured_weights[key], err_msg=key)


class _WithCallback(dp.Callback):
    """Stands in for the progress bar, forwarding the batch hook to ``inner``."""

    def __init__(self, inner):
        self.inner = inner

    def on_train_begin(self, logs):
        self.inner.model = self.model

    def on_batch_end(self, batch, logs):
        self.inner.on_batch_end(batch, logs)


@pytest.mark.parametrize("epoch, code", [(1, 130), (3, 0)])
def test_ctrl_c_between_batches_ends_at_the_epoch(epoch, code, tmp_path, monkeypatch, capsys):
    """Ctrl-C after the last batch (during validation or the epoch's logs) stops before the
    next epoch; after the last epoch the run is simply complete."""
    original = ProgressBar.on_epoch_end

    def on_epoch_end(self, e, logs):
        if e == epoch:
            signal.raise_signal(signal.SIGINT)
        original(self, e, logs)

    monkeypatch.setattr(ProgressBar, "on_epoch_end", on_epoch_end)
    out = tmp_path / "run"
    assert main(["train", "moons", "--layers", "4", "--epochs", "3", "--batch-size", "32",
                 "--out", str(out), "--quiet"]) == code
    captured = capsys.readouterr()
    history = json.loads((out / "history.json").read_text())
    assert history["epochs"] == list(range(1, epoch + 1))
    if code == 130:
        assert "interrupted at epoch 1, batch 9 of 9" in captured.err
        assert history["interrupted"]["batch"] == 9
    else:
        assert "summary" in captured.out and "interrupted" not in history


def test_ctrl_c_without_out_says_nothing_was_saved(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _press_ctrl_c_at(monkeypatch, epoch=1, batch=2)
    assert main(["train", "moons", "--layers", "4", "--epochs", "20", "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "interrupted at epoch 1, batch 2" in err and "nothing saved" in err
    assert not list(tmp_path.iterdir())


def test_a_second_ctrl_c_quits_at_once(tmp_path, monkeypatch, capsys):
    _press_ctrl_c_at(monkeypatch, epoch=1, batch=2, times=2)
    out = tmp_path / "run"
    assert main(["train", "moons", "--layers", "4", "--epochs", "20", "--out", str(out),
                 "--quiet"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (out / "model.safetensors").exists()


@pytest.mark.parametrize("interrupted_write", [1, 2])
def test_ctrl_c_while_saving_leaves_every_file_whole(interrupted_write, tmp_path, monkeypatch,
                                                     capsys):
    """Ctrl-C while the model (1st write) or the history (2nd write) is written: each file
    is the old one or the new one, whole, and no temporary file is left behind."""
    out = tmp_path / "run"
    argv = ["train", "moons", "--layers", "4", "--epochs", "2", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    old_model = (out / "model.safetensors").read_bytes()
    old_history = (out / "history.json").read_bytes()
    capsys.readouterr()
    writes = {"count": 0}
    real_fsync = os.fsync

    def fsync(fd):
        writes["count"] += 1
        if writes["count"] == interrupted_write:
            raise KeyboardInterrupt            # Ctrl-C in the middle of writing a file
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    assert main([*argv[:-3], "--seed", "5", *argv[-3:]]) == 130
    monkeypatch.undo()
    assert writes["count"] == interrupted_write
    model_bytes = (out / "model.safetensors").read_bytes()
    assert (model_bytes == old_model) == (interrupted_write == 1)
    dio.load(out / "model.safetensors")                       # whole, old or new
    assert (out / "history.json").read_bytes() == old_history
    assert sorted(p.name for p in out.iterdir()) == ["history.json", "model.safetensors"]


def test_predictions_are_written_whole_or_not_at_all(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert main(["train", "moons", "--layers", "4", "--epochs", "1", "--out", str(out),
                 "--quiet"]) == 0
    target = tmp_path / "predictions.csv"
    target.write_text("old predictions\n")

    def interrupted_fsync(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted_fsync)
    assert main(["predict", str(out / "model.safetensors"), "moons", "--output",
                 str(target)]) == 130
    assert target.read_text() == "old predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["predictions.csv", "run"]
    capsys.readouterr()


def _child_env() -> dict[str, str]:
    source = os.path.dirname(os.path.dirname(dp.__file__))
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [source, *filter(None, [os.environ.get("PYTHONPATH")])])}


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_on_a_real_run_saves_a_model_that_predicts(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 10))
    np.savez(tmp_path / "data.npz", X=X, y=(X[:, 0] + X[:, 1] > 0).astype(np.int64))
    out = tmp_path / "run"
    command = [sys.executable, "-m", "deltaprop", "train", str(tmp_path / "data.npz"),
               "--layers", "32", "--epochs", "100000", "--batch-size", "8", "--out", str(out)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=_child_env()) as child:
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in child.stderr],
                                  daemon=True)
        reader.start()
        try:
            first = lines.get(timeout=30)                  # training has started
            assert first.startswith("epoch 1/"), first
            child.send_signal(signal.SIGINT)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        reader.join(timeout=10)
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    err = "".join(rest)
    assert child.returncode == 130, err
    assert "Traceback" not in err
    assert f"saved the model trained so far to {out / 'model.safetensors'}" in err
    model = dio.load(out / "model.safetensors")
    assert np.all(np.isfinite(dp.predict(model, X[:5])))
    assert json.loads((out / "history.json").read_text())["interrupted"]["epoch"] >= 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_predictions_into_a_pipe_are_written_into_it(tmp_path, capsys):
    """``--output >(gzip > p.gz)`` or a FIFO: written in place, never renamed over."""
    out = tmp_path / "run"
    assert main(["train", "moons", "--layers", "4", "--epochs", "1", "--out", str(out),
                 "--quiet"]) == 0
    fifo = tmp_path / "predictions.csv"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    assert main(["predict", str(out / "model.safetensors"), "moons", "--limit", "3",
                 "--output", str(fifo)]) == 0
    reader.join(timeout=10)
    assert received and received[0].splitlines()[0] == "prediction"
    assert len(received[0].splitlines()) == 4
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    capsys.readouterr()


def test_ctrl_c_during_the_final_save_lets_the_files_be_finished(tmp_path, monkeypatch,
                                                                 capsys):
    """Training is over and the model is being written: Ctrl-C there must not leave a new
    model next to no history (or an old one); both are finished, then the exit is 130."""
    real_save = dio.save

    def save_with_ctrl_c(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(dio, "save", save_with_ctrl_c)
    out = tmp_path / "run"
    assert main(["train", "moons", "--layers", "4", "--epochs", "2", "--out", str(out),
                 "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "interrupted after training" in err and "Traceback" not in err
    assert json.loads((out / "history.json").read_text())["epochs"] == [1, 2]
    assert "interrupted" not in dio.load_bundle(out / "model.safetensors").metadata


def test_ctrl_c_while_the_test_rows_are_scored_keeps_the_trained_model(tmp_path, monkeypatch,
                                                                       capsys):
    real_evaluate = dp.evaluate

    def evaluate_with_ctrl_c(*args, **kwargs):        # train scores the test rows with this
        signal.raise_signal(signal.SIGINT)
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(dp, "evaluate", evaluate_with_ctrl_c)
    out = tmp_path / "run"
    assert main(["train", "moons", "--layers", "4", "--epochs", "2", "--out", str(out),
                 "--quiet"]) == 130
    captured = capsys.readouterr()
    assert "interrupted after training" in captured.err and "test " in captured.out
    assert json.loads((out / "history.json").read_text())["epochs"] == [1, 2]
    dio.load(out / "model.safetensors")


def test_ctrl_c_while_the_data_loads_is_one_line_and_writes_nothing(tmp_path, monkeypatch,
                                                                    capsys):
    from deltaprop import datasets

    def load_with_ctrl_c(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(datasets, "load", load_with_ctrl_c)
    out = tmp_path / "run"
    assert main(["train", "moons", "--out", str(out), "--quiet"]) == 130
    assert capsys.readouterr().err == "deltaprop train: interrupted\n"
    assert not out.exists()


def test_ctrl_c_before_the_first_batch_saves_one_step(tmp_path, monkeypatch, capsys):
    original = ProgressBar.on_train_begin

    def on_train_begin(self, logs):
        original(self, logs)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(ProgressBar, "on_train_begin", on_train_begin)
    out = tmp_path / "run"
    assert main(["train", "moons", "--layers", "4", "--epochs", "5", "--out", str(out),
                 "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "interrupted at epoch 1, batch 1 of 9" in err and "0 complete epochs" in err
    history = json.loads((out / "history.json").read_text())
    assert history["epochs"] == [] and history["interrupted"]["batch"] == 1
    dio.load(out / "model.safetensors")
