"""``deltaprop train --checkpoint-every K`` and ``--resume DIR``: the resumed run ends where
the uninterrupted one does, exactly (float64, the same operations in the same order)."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest

from deltaprop import io as dio
from deltaprop.cli import main
from deltaprop.training.progress import ProgressBar

pytest.importorskip("safetensors")

RUN = ["moons", "--layers", "8", "--dtype", "float64", "--quiet", "--optimizer", "adam",
       "--lr", "0.01", "--early-stopping", "3"]


def _weights(folder):
    bundle = dio.load_bundle(folder / "model.safetensors")
    return bundle.model.state_dict(), bundle.metadata["test"]


def _same_run(a, b):
    (wa, test_a), (wb, test_b) = _weights(a), _weights(b)
    assert sorted(wa) == sorted(wb)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa) and test_a == test_b
    assert json.loads((a / "history.json").read_text()) == \
        json.loads((b / "history.json").read_text())


def _count_steps(monkeypatch) -> dict:
    """How many batches the next runs train (a resumed run trains only the rest)."""
    steps = {"n": 0, "per_epoch": 0}
    original = ProgressBar.on_batch_end

    def counted(self, batch, logs):
        steps["n"] += 1
        steps["per_epoch"] = self.n_batches
        original(self, batch, logs)

    monkeypatch.setattr(ProgressBar, "on_batch_end", counted)
    return steps


def test_a_stopped_run_resumed_equals_the_uninterrupted_run(tmp_path, monkeypatch, capsys):
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", *RUN, "--epochs", "6", "--out", str(full)]) == 0
    assert main(["train", *RUN, "--epochs", "4", "--checkpoint-every", "2",
                 "--out", str(part)]) == 0
    assert json.loads((part / "run.json").read_text())["optimizer"] == "adam"
    steps = _count_steps(monkeypatch)
    assert main(["train", "moons", "--epochs", "6", "--resume", str(part), "--quiet"]) == 0
    assert steps["n"] == 2 * steps["per_epoch"] > 0          # epochs 5 and 6 only
    _same_run(full, part)


def test_a_run_interrupted_by_ctrl_c_resumes_from_its_last_checkpoint(tmp_path, monkeypatch,
                                                                       capsys):
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", *RUN, "--epochs", "5", "--out", str(full)]) == 0
    steps = {"n": 0}
    original = ProgressBar.on_batch_end

    def press_ctrl_c_in_epoch_4(self, batch, logs):
        steps["n"] += 1
        if steps["n"] == 3 * self.n_batches + 2:
            signal.raise_signal(signal.SIGINT)
        original(self, batch, logs)

    monkeypatch.setattr(ProgressBar, "on_batch_end", press_ctrl_c_in_epoch_4)
    assert main(["train", *RUN, "--epochs", "5", "--checkpoint-every", "2",
                 "--out", str(part)]) == 130
    monkeypatch.setattr(ProgressBar, "on_batch_end", original)
    steps = _count_steps(monkeypatch)
    assert main(["train", "moons", "--resume", str(part), "--quiet"]) == 0
    assert steps["n"] == 3 * steps["per_epoch"] > 0          # from epoch 3 (saved after 2)
    _same_run(full, part)


@pytest.mark.parametrize("flags, message", [
    (["--lr", "0.5"], "--lr 0.5 differs from the run being resumed (0.01)"),
    (["--layers", "4"], "--layers [4] differs"),
    # written at their defaults, against a run that used others (was: silently the run's)
    (["--dtype", "float32"], "--dtype 'float32' differs from the run being resumed"),
    (["--layers", "64"], "--layers [64] differs"),
    (["--seed", "0", "--layers", "8"], "--seed 0 differs from the run being resumed (3)"),
])
def test_resume_refuses_flags_that_would_change_the_run(tmp_path, capsys, flags, message):
    part = tmp_path / "part"
    assert main(["train", *RUN, "--epochs", "2", "--checkpoint-every", "1", "--seed", "3",
                 "--out", str(part)]) == 0
    capsys.readouterr()
    assert main(["train", "moons", "--resume", str(part), *flags]) == 2
    assert message in capsys.readouterr().err
    assert main(["train", "moons", "--resume", str(part), "--seed", "3", "--layers", "8",
                 "--dtype", "float64", "--quiet"]) == 0          # the run's own values


@pytest.mark.parametrize("text, message", [
    ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),   # was: traceback
    ('{"seed": 0, "seed": 5}', "duplicate key 'seed'"),        # was: the last one, silently
    ('{"lr": NaN}', "NaN is not allowed")])
def test_a_run_file_that_is_not_plain_json_is_one_line(tmp_path, capsys, text, message):
    part = tmp_path / "part"
    assert main(["train", *RUN, "--epochs", "1", "--checkpoint-every", "1",
                 "--out", str(part)]) == 0
    (part / "run.json").write_text(text)
    capsys.readouterr()
    assert main(["train", "moons", "--resume", str(part)]) == 2
    err = capsys.readouterr().err
    assert f"run.json: {message}" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("damage, message", [
    ({"layers": "64; rm -rf /"}, "setting 'layers' holds"),
    ({"optimizer": "lbfgs"}, "setting 'optimizer' must be one of"),
    ({"lr": -1}, "setting 'lr'"),
    ({"data": "digits"}, "the run was trained on 'digits', not 'moons'"),
])
def test_an_edited_run_file_is_refused_naming_the_setting(tmp_path, capsys, damage, message):
    part = tmp_path / "part"
    assert main(["train", *RUN, "--epochs", "1", "--checkpoint-every", "1",
                 "--out", str(part)]) == 0
    settings = json.loads((part / "run.json").read_text())
    (part / "run.json").write_text(json.dumps({**settings, **damage}))
    capsys.readouterr()
    assert main(["train", "moons", "--resume", str(part)]) == 2
    assert message in capsys.readouterr().err


def test_checkpoint_flags_need_their_folders(tmp_path, capsys):
    assert main(["train", "moons", "--checkpoint-every", "2"]) == 2
    assert "--checkpoint-every needs --out DIR" in capsys.readouterr().err
    assert main(["train", "moons", "--resume", str(tmp_path)]) == 2
    assert "has no checkpoint.safetensors" in capsys.readouterr().err


def test_a_resumed_run_keeps_checkpointing_as_the_run_did(tmp_path, capsys):
    """Resumed without --checkpoint-every, the run still writes its checkpoints: a second
    crash loses no more than K epochs, and --resume continues from the newest."""
    part = tmp_path / "part"
    assert main(["train", *RUN, "--epochs", "2", "--checkpoint-every", "1",
                 "--out", str(part)]) == 0
    assert main(["train", "moons", "--epochs", "4", "--resume", str(part), "--quiet"]) == 0
    state = dio.checkpoint.load_checkpoint(part / "checkpoint.safetensors")
    assert state.epoch == 4
    assert json.loads((part / "run.json").read_text())["epochs"] == 4


def test_an_edited_checkpoint_interval_is_refused(tmp_path, capsys):
    part = tmp_path / "part"
    assert main(["train", *RUN, "--epochs", "2", "--checkpoint-every", "1",
                 "--out", str(part)]) == 0
    settings = json.loads((part / "run.json").read_text())
    (part / "run.json").write_text(json.dumps({**settings, "checkpoint_every": 0}))
    assert main(["train", "moons", "--epochs", "3", "--resume", str(part)]) == 2
    assert "run.json setting 'checkpoint_every'" in capsys.readouterr().err


@pytest.mark.parametrize("change", ["append", "edit"])
def test_a_data_file_changed_since_the_run_is_refused(tmp_path, capsys, change):
    """A row added or a cell edited changes the split and the scaling: the resumed run
    would not be the run's, so it is refused; the file as it was resumes."""
    data, part = tmp_path / "d.csv", tmp_path / "part"
    rng = np.random.default_rng(0)
    text = "x1,x2,y\n" + "".join(f"{a:.4f},{b:.4f},{int(a > b)}\n"
                                 for a, b in rng.normal(size=(40, 2)))
    data.write_text(text)
    assert main(["train", str(data), "--layers", "4", "--epochs", "1", "--quiet",
                 "--checkpoint-every", "1", "--out", str(part)]) == 0
    data.write_text(text + "0.5,0.25,1\n" if change == "append" else text.replace("\n", "\n9", 1))
    assert main(["train", str(data), "--epochs", "2", "--resume", str(part)]) == 2
    assert "changed since the run was written" in capsys.readouterr().err
    data.write_text(text)
    assert main(["train", str(data), "--epochs", "2", "--resume", str(part), "--quiet"]) == 0


def test_the_data_file_may_be_named_by_another_path(tmp_path, capsys, monkeypatch):
    """Resumed from another folder, ``../d.csv`` is the run's file: its bytes are the run's
    (was: refused, the path differing from run.json's); another file is still refused."""
    (tmp_path / "runs").mkdir()
    data, part = tmp_path / "d.csv", tmp_path / "runs" / "part"
    text = "x1,x2,y\n" + "".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(40))
    data.write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "d.csv", "--layers", "4", "--epochs", "1", "--quiet",
                 "--checkpoint-every", "1", "--out", "runs/part"]) == 0
    monkeypatch.chdir(tmp_path / "runs")
    (tmp_path / "other.csv").write_text(text + "1,1,1\n")
    assert main(["train", "../other.csv", "--epochs", "2", "--resume", "part"]) == 2
    assert "the run was trained on 'd.csv', not '../other.csv'" in capsys.readouterr().err
    assert main(["train", "../d.csv", "--epochs", "2", "--resume", "part", "--quiet"]) == 0
    assert dio.checkpoint.load_checkpoint(part / "checkpoint.safetensors").epoch == 2


def test_under_mpiexec_only_rank_0_reads_the_data_file_whole(tmp_path, monkeypatch):
    """Every process would hash the whole file; rank 0 does, and its error ends them all."""
    from deltaprop.cli import _mpi, _resume

    class Rank1:
        def Get_rank(self):
            return 1

    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n")
    monkeypatch.setattr(_resume, "_data_digest", lambda name: pytest.fail("read on rank 1"))
    monkeypatch.setattr(_mpi, "_comm", Rank1())
    _resume._check_data_file(str(data), "0" * 64)
    assert _resume._same_content(str(data), "0" * 64)
