"""ProgressBar: per-epoch lines on a non-terminal stream, a tqdm bar on a terminal."""

import io
import re

import numpy as np
import pytest

from deltaprop import EarlyStopping, fit, mlp
from deltaprop.training.progress import ProgressBar, epoch_line, format_logs


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return X, y


def _fit(callback, epochs=3, **kwargs):
    X, y = _data()
    model = mlp([2, 8, 2], seed=0)
    return fit(model, X, y, loss="cross_entropy", optimizer="adam", epochs=epochs,
               batch_size=16, seed=0, callbacks=[callback], **kwargs)


def test_plain_lines_one_per_epoch_on_a_non_terminal():
    stream = io.StringIO()
    history = _fit(ProgressBar(file=stream), epochs=3, validation_split=0.25)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        assert re.match(rf"epoch {epoch}/3  loss \d\.\d{{4}}  accuracy \d\.\d{{4}}  "
                        r"val_loss \d\.\d{4}  val_accuracy \d\.\d{4}  lr 0\.001  \(\d+\.\d\d s\)$",
                        line), line
        assert f"loss {history['loss'][epoch - 1]:.4f}" in line
    assert "\r" not in stream.getvalue()                  # no bar redraws in a log


def test_quiet_writes_nothing_and_default_writes_nothing_without_callback(capsys):
    stream = FakeTTY()
    _fit(ProgressBar(file=stream, quiet=True))
    assert stream.getvalue() == ""
    X, y = _data()
    fit(mlp([2, 4, 2], seed=0), X, y, loss="cross_entropy", optimizer="sgd", epochs=2)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_default_stream_is_stderr(capsys):
    _fit(ProgressBar(bar=False), epochs=2)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 2 and captured.err.startswith("epoch 1/2")


def test_tqdm_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    stream = FakeTTY()
    callback = ProgressBar(file=stream)
    _fit(callback, epochs=2)
    text = stream.getvalue()
    assert callback.mode == "tqdm"
    assert "\r" in text                                   # tqdm redraws the line
    assert "epoch 1/2" in text and "epoch 2/2" in text
    assert "/4 [" in text                                 # 64 rows / 16 per batch
    lines = [line.split("\r")[-1] for line in text.split("\n")[:-1]]
    assert [line[:9] for line in lines] == ["epoch 1/2", "epoch 2/2"]    # the bar gave way
    assert all(re.search(r"loss \d\.\d{4}  acc \d\.\d{4}", line) for line in lines)


@pytest.mark.parametrize("ncols, shown", [(80, ["loss", "acc", "val_loss", "val_acc"]),
                                          (46, ["val_loss", "val_acc"])])
def test_the_epoch_line_keeps_the_validation_figures_on_a_narrow_terminal(ncols, shown):
    pytest.importorskip("tqdm")
    stream = FakeTTY()
    _fit(ProgressBar(file=stream, ncols=ncols), epochs=12, validation_split=0.25)
    lines = [line.split("\r")[-1] for line in stream.getvalue().split("\n")[:-1]]
    assert len(lines) == 12 and lines[-1].startswith("epoch 12/12")
    for line in lines:
        assert len(line) < ncols
        assert re.findall(r"([a-z_]+) \d\.\d{4}", line) == shown, line


def test_epoch_line_gives_way_in_order():
    logs = {"loss": 0.5, "accuracy": 0.75, "val_loss": 0.625, "val_accuracy": 0.5, "lr": 0.1}
    full = "epoch 1/9  loss 0.5000  acc 0.7500  val_loss 0.6250  val_acc 0.5000  lr 0.1  (1.00 s)"
    assert epoch_line("epoch 1/9", logs, 1.0, 200) == full
    assert epoch_line("epoch 1/9", logs, 1.0, len(full) - 1) == full.rsplit("  lr", 1)[0] + \
        "  (1.00 s)"
    assert epoch_line("epoch 1/9", logs, 1.0, 45) == "epoch 1/9  val_loss 0.6250  val_acc 0.5000"


def test_without_tqdm_falls_back_to_lines(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)        # import tqdm now raises ImportError
    stream = FakeTTY()
    callback = ProgressBar(file=stream)
    _fit(callback, epochs=2)
    assert callback.mode == "lines"
    assert stream.getvalue().count("\n") == 2
    with pytest.raises(ImportError, match="deltaprop\\[progress\\]"):
        _fit(ProgressBar(file=stream, bar=True), epochs=1)


def test_early_stopping_is_reported():
    stream = io.StringIO()
    history = _fit(ProgressBar(file=stream), epochs=50,
                   early_stopping=EarlyStopping(patience=1, min_delta=10.0))
    assert history.stopped_epoch == 2
    assert stream.getvalue().splitlines()[-1] == "early stopping after epoch 2"


def test_format_logs_orders_known_keys_and_rejects_bad_bar():
    assert format_logs({"val_loss": 0.5, "zeta": 1.0, "loss": 0.25}) == \
        "loss 0.2500  val_loss 0.5000  zeta 1.0000"
    with pytest.raises(ValueError, match="bar"):
        ProgressBar(bar="yes")
