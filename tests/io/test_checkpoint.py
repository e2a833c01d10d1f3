"""Checkpoints: resuming ends with exactly the weights of an uninterrupted run."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import deltaprop as dp

pytest.importorskip("safetensors")
from deltaprop.io import ModelFileError
from deltaprop.io.checkpoint import Checkpoint, load_checkpoint

DATA = np.random.default_rng(0).normal(size=(60, 3))
LABELS = (DATA[:, 0] * DATA[:, 1] > 0).astype(np.int64)


class Crash(dp.Callback):
    """Raises after epoch ``at`` (an in-process interruption)."""

    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, epoch, logs):
        if epoch == self.at:
            raise KeyboardInterrupt


def _run(dtype, callbacks=(), resume=None, optimizer="adam", epochs=8, **kwargs):
    model = dp.mlp([3, 8, 2], activation="tanh", dropout=0.2, seed=5, dtype=dtype)
    opt = (dp.Adam(model, lr=0.01) if optimizer == "adam"
           else dp.SGD(model, lr=0.1, momentum=0.9))
    history = dp.fit(model, DATA, LABELS, loss="cross_entropy", optimizer=opt, epochs=epochs,
                     batch_size=16, seed=11, callbacks=callbacks, resume=resume, **kwargs)
    return model, history


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_resume_equals_uninterrupted_run(tmp_path, dtype, optimizer):
    full, full_history = _run(dtype, optimizer=optimizer, validation_split=0.2)
    path = tmp_path / "ck.safetensors"
    with pytest.raises(KeyboardInterrupt):
        _run(dtype, [Checkpoint(path, every=2), Crash(at=5)], optimizer=optimizer,
             validation_split=0.2)
    assert load_checkpoint(path).epoch == 4                # saved at 2 and 4, crashed at 5
    resumed, history = _run(dtype, [Checkpoint(path, every=2)], resume=path,
                            optimizer=optimizer, validation_split=0.2)
    for key, value in full.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)
    assert history.epochs == list(range(1, 9))
    assert history.history == full_history.history
    assert load_checkpoint(path).epoch == 8


@pytest.mark.slow
def test_resume_after_the_process_was_killed(tmp_path):
    path = tmp_path / "run" / "checkpoint.safetensors"
    script = textwrap.dedent(f"""
        import os
        import numpy as np
        import deltaprop as dp
        from deltaprop.io.checkpoint import Checkpoint

        class Kill(dp.Callback):
            def on_epoch_end(self, epoch, logs):
                if epoch == 6:
                    os._exit(3)               # no cleanup, no finally: like a kill

        X = np.random.default_rng(0).normal(size=(60, 3))
        y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
        model = dp.mlp([3, 8, 2], activation="tanh", dropout=0.2, seed=5)
        dp.fit(model, X, y, loss="cross_entropy", optimizer=dp.Adam(model, lr=0.01),
               epochs=8, batch_size=16, seed=11,
               callbacks=[Checkpoint({str(tmp_path / "run")!r} + "/"), Kill()])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 3, done.stderr.decode()
    assert load_checkpoint(path).epoch == 5
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint.safetensors"]  # no temp
    resumed, _ = _run(np.float32, resume=path)
    full, _ = _run(np.float32)
    for key, value in full.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)


def test_resume_with_early_stopping_and_schedule(tmp_path):
    def run(callbacks=(), resume=None):
        model = dp.mlp([3, 8, 2], activation="relu", seed=2)
        opt = dp.SGD(model, lr=0.5, momentum=0.9)
        history = dp.fit(model, DATA, LABELS, loss="cross_entropy", optimizer=opt, epochs=60,
                         batch_size=8, seed=3, validation_split=0.3,
                         early_stopping=dp.EarlyStopping(patience=3),
                         schedule=dp.StepLR(opt, step_size=4, gamma=0.5),
                         callbacks=callbacks, resume=resume)
        return model, history

    full, full_history = run()
    assert full_history.stopped_epoch is not None and full_history.stopped_epoch < 60
    crash_at = full_history.best_epoch + 1             # after the best epoch, before the stop
    path = tmp_path / "ck.safetensors"
    with pytest.raises(KeyboardInterrupt):
        run([Checkpoint(path), Crash(at=crash_at)])
    resumed, history = run(resume=path)
    assert history.stopped_epoch == full_history.stopped_epoch
    assert history.best_epoch == full_history.best_epoch
    assert history.history == full_history.history
    for key, value in full.state_dict().items():      # best weights restored in both
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)
    # resuming a run that early stopping had finished trains no further
    run([Checkpoint(path)])
    again, history = run(resume=path)
    assert len(history) == len(full_history)
    for key, value in full.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key], value, err_msg=key)


def test_checkpoint_every_k_and_contents(tmp_path):
    checkpoint = Checkpoint(tmp_path / "c.safetensors", every=3)
    model, _ = _run(np.float32, [checkpoint], epochs=7)
    assert checkpoint.saved_epochs == [3, 6, 7]               # and after the last epoch
    state = load_checkpoint(tmp_path / "c.safetensors")
    assert state.epoch == 7 and len(state.history) == 7
    assert "optimizer/0.weight/m" in state.tensors and "model/3.bias" in state.tensors
    np.testing.assert_array_equal(state.tensors["model/0.weight"], model.state_dict()["0.weight"])


def test_bad_resume_files_leave_the_model_untouched(tmp_path):
    path = tmp_path / "c.safetensors"
    _run(np.float32, [Checkpoint(path)], epochs=2)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "bad.safetensors").write_bytes(bytes(data))
    model = dp.mlp([3, 8, 2], activation="tanh", dropout=0.2, seed=5)
    before = model.state_dict()
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        dp.fit(model, DATA, LABELS, loss="cross_entropy", optimizer=dp.Adam(model), epochs=3,
               resume=tmp_path / "bad.safetensors")
    other = dp.mlp([3, 4, 2], activation="tanh", dropout=0.2, seed=5)
    with pytest.raises(ValueError, match="different model architecture"):
        dp.fit(other, DATA, LABELS, loss="cross_entropy", optimizer=dp.Adam(other), epochs=3,
               resume=path)
    with pytest.raises(ValueError, match="holds 'Adam' state"):
        dp.fit(model, DATA, LABELS, loss="cross_entropy", optimizer=dp.SGD(model), epochs=3,
               resume=path)
    for key, value in before.items():
        np.testing.assert_array_equal(model.state_dict()[key], value)
    with pytest.raises(ValueError, match="every"):
        Checkpoint(path, every=0)


@pytest.mark.parametrize("early_stopping", [50, "instance"])
def test_resume_with_the_early_stopping_argument(tmp_path, early_stopping):
    """``early_stopping=`` (a patience or an instance) is counted once when a run resumes."""
    def stopper():
        return dp.EarlyStopping(patience=50) if early_stopping == "instance" else 50

    full, _ = _run(np.float64, early_stopping=stopper())
    path = tmp_path / "ck.safetensors"
    with pytest.raises(KeyboardInterrupt):
        _run(np.float64, [Checkpoint(path, every=2), Crash(at=5)], early_stopping=stopper())
    resumed, history = _run(np.float64, resume=path, early_stopping=stopper())
    assert history.epochs == list(range(1, 9))
    for key, value in full.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_checkpoint_path_that_cannot_be_written_fails_before_training(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    model = dp.mlp([3, 8, 2], activation="tanh", dropout=0.2, seed=5)
    before = model.state_dict()
    with pytest.raises(FileExistsError, match="it is a FIFO"):
        dp.fit(model, DATA, LABELS, loss="cross_entropy", optimizer=dp.Adam(model), epochs=2,
               callbacks=[Checkpoint(tmp_path / "fifo")])
    for key, value in before.items():                       # not one step was taken
        np.testing.assert_array_equal(model.state_dict()[key], value)


def test_a_checkpoint_folder_may_be_given_as_bytes(tmp_path):
    checkpoint = Checkpoint(os.fsencode(tmp_path) + b"/run/")
    assert checkpoint.path == tmp_path / "run" / "checkpoint.safetensors"
