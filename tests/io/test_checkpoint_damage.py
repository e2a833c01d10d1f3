"""Resuming from a checkpoint is all-or-nothing: every part is checked against the training
being resumed first, and a resume that fails leaves the model, optimiser, Generators, schedule
and callbacks exactly as they were."""

import copy
import json
import math

import numpy as np
import pytest

import deltaprop as dp

pytest.importorskip("safetensors")
from deltaprop import io as dio
from deltaprop.io._files import read_safetensors, strict_json
from deltaprop.io.checkpoint import Checkpoint, load_checkpoint

X = np.random.default_rng(0).normal(size=(40, 3))
Y = (X[:, 0] > 0).astype(np.int64)


def _setup(seed=5):
    model = dp.mlp([3, 6, 2], activation="tanh", dropout=0.2, seed=seed)
    opt = dp.Adam(model, lr=0.01)
    schedule = dp.StepLR(opt, step_size=2, gamma=0.5)
    stopper = dp.EarlyStopping(patience=50)
    return model, opt, schedule, stopper


def _fit(model, opt, schedule, stopper, epochs, **kwargs):
    return dp.fit(model, X, Y, loss="cross_entropy", optimizer=opt, epochs=epochs,
                  batch_size=16, seed=3, validation_split=0.25, schedule=schedule,
                  early_stopping=stopper, **kwargs)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ck") / "c.safetensors"
    _fit(*_setup(), epochs=3, callbacks=[Checkpoint(path)])
    return path


def _damaged(checkpoint, tmp_path, edit):
    """A copy of the checkpoint with ``edit(info, tensors)`` applied and re-signed, so that
    only the resume checks can catch it."""
    tensors, fields = read_safetensors(checkpoint)
    info = strict_json(fields["state"], constants=True)
    edit(info, tensors)
    fields["state"] = json.dumps(info)
    fields = {k: v for k, v in fields.items() if k != "checksum"}
    fields["checksum"] = dio.checksum(tensors, fields)
    path = tmp_path / "bad.safetensors"
    dio.write_safetensors(path, tensors, fields)
    return path


def _set(*keys, value):
    def edit(info, tensors):
        target = info
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return edit


def _drop(*keys):
    def edit(info, tensors):
        target = info
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return edit


def _tensor(name, change):
    def edit(info, tensors):
        if change is None:
            del tensors[name]
        else:
            tensors[name] = change(tensors[name])
    return edit


def _put(name, value):
    def edit(info, tensors):
        tensors[name] = value
    return edit


W = "model/0.weight"
DAMAGE = {
    # the model
    "model tensor shape": (_tensor(W, lambda a: a[:, :2].copy()),
                           r"must have shape \(6, 3\) like the saved architecture's '0\.weight'"
                           r", found \(6, 2\)"),
    "model tensor dtype": (_tensor(W, lambda a: a.astype(np.float64)), "must be float32"),
    "model tensor NaN": (_tensor(W, lambda a: a * np.nan), "NaN or infinite"),
    "model tensor missing": (_tensor("model/3.bias", None), r"missing \['3\.bias'\]"),
    "stray tensor": (_put("optimizer/0.weight/zz", np.zeros((6, 3), np.float32)),
                     "must hold|unexpected"),
    "unknown tensor group": (_put("junk", np.zeros(1, np.float32)), "unexpected tensor"),
    "architecture": (_set("architecture", 1, "type", value="ReLU"),
                     "different model architecture"),
    # the optimiser
    "optimizer type": (_set("optimizer", "type", value="SGD"), "holds 'SGD' state"),
    "lr NaN": (_set("optimizer", "lr", value=math.nan), "lr must be a finite number >= 0"),
    "lr negative": (_set("optimizer", "lr", value=-0.1), "lr must be a finite number >= 0"),
    "lr text": (_set("optimizer", "lr", value="0.1"), "lr must be a finite number"),
    "slot of no parameter": (_set("optimizer", "slots", value=["9.weight"]),
                             "must name distinct model parameters"),
    "Adam step 0": (_set("optimizer", "scalars", "0.weight", "step", value=0),
                    "step must be an integer >= 1"),
    "Adam step float": (_set("optimizer", "scalars", "0.weight", "step", value=1.5),
                        "step must be an integer >= 1"),
    "Adam step bool": (_set("optimizer", "scalars", "0.weight", "step", value=True),
                       "step must be an integer >= 1"),
    "Adam m shape": (_tensor("optimizer/0.weight/m", lambda a: a[:3]),
                     r"'optimizer/0\.weight/m' must have shape \(6, 3\)"),
    "Adam v negative": (_tensor("optimizer/0.bias/v", lambda a: a - 1), "v must be >= 0"),
    "Adam v missing": (_tensor("optimizer/0.bias/v", None), "must hold"),
    # epochs and history
    "epoch 0": (_set("epoch", value=0), "'epoch' must be an integer >= 1"),
    "epoch text": (_set("epoch", value="3"), "'epoch' must be an integer >= 1"),
    "epoch bool": (_set("epoch", value=True), "'epoch' must be an integer >= 1"),
    "epoch beyond history": (_set("epoch", value=7), "must list the epochs 1 to 7"),
    "history too short": (_set("history", "history", "loss", value=[0.5]), "list of 3 numbers"),
    "history lr negative": (_set("history", "history", "lr", value=[0.1, -1.0, 0.1]),
                            "'lr' must hold finite numbers >= 0"),
    "best epoch out of range": (_set("history", "best_epoch", value=9), "best_epoch"),
    "state key missing": (_drop("rng"), "must be an object with the keys"),
    "stopped not bool": (_set("stopped", value=0), "'stopped'"),
    # random-number states
    "rng other generator": (_set("rng", "bit_generator", value="MT19937"),
                            "not a valid PCG64 state"),
    "rng float": (_set("rng", "state", "state", value=1.5), "not a valid PCG64 state"),
    "rng negative": (_set("rng", "state", "inc", value=-1), "not a valid PCG64 state"),
    "rng bool": (_set("rng", "has_uint32", value=True), "not a valid PCG64 state"),
    "rng missing key": (_drop("rng", "state"), "not a valid PCG64 state"),
    "rng not a dict": (_set("rng", value=[1, 2]), "not a valid PCG64 state"),
    "dropout rng missing": (_set("dropout_rng", value={}), "Generators of the Dropout"),
    "dropout rng damaged": (_set("dropout_rng", "2", "state", value=None),
                            "dropout_rng' 2 is not a valid"),
    # the schedule
    "schedule type": (_set("schedule", "type", value="ExponentialLR"), "schedule 'ExponentialLR'"),
    "schedule key missing": (_drop("schedule", "state", "gamma"), "schedule state must have"),
    "schedule gamma NaN": (_set("schedule", "state", "gamma", value=math.nan), "schedule gamma"),
    "schedule step text": (_set("schedule", "state", "step_size", value="2"),
                           "schedule step_size"),
    "schedule epoch negative": (_set("schedule", "state", "last_epoch", value=-1),
                                "schedule last_epoch"),
    "schedule base lr inf": (_set("schedule", "state", "base_lr", value=math.inf),
                             "schedule base_lr"),
    # settings its constructor refuses: step_size 0 resumed, then divided by zero
    "schedule step size 0": (_set("schedule", "state", "step_size", value=0),
                             "StepLR step_size must be an integer >= 1, got 0"),
    "schedule gamma 0": (_set("schedule", "state", "gamma", value=0.0),
                         r"StepLR gamma must be a finite number in \(0, inf\), got 0\.0"),
    # callbacks
    "early stopping wait": (_set("early_stopping", 0, "wait", value=-1), "out of range"),
    "early stopping best epoch": (_set("early_stopping", 0, "best_epoch", value=99),
                                  "out of range"),
    "early stopping monitor": (_set("early_stopping", 0, "monitor", value=3),
                               "EarlyStopping 0 monitored 3"),
    "early stopping other monitor": (_set("early_stopping", 0, "monitor", value="loss"),
                                     "monitored 'loss', this fit's monitors 'val_loss'"),
    # valid JSON integers beyond float's range: math.isfinite / arithmetic overflowed
    "lr beyond float": (_set("optimizer", "lr", value=10**400), "lr must be a finite number"),
    "history loss beyond float": (_set("history", "history", "loss", value=[1, 1, 10**400]),
                                  "'loss' must be a list of 3 numbers"),
    "Adam step beyond float": (_set("optimizer", "scalars", "0.weight", "step", value=10**400),
                               "step must be an integer >= 1"),
    "schedule epoch beyond float": (_set("schedule", "state", "last_epoch", value=10**400),
                                    "schedule last_epoch"),
    "early stopping best beyond float": (_set("early_stopping", 0, "best", value=10**400),
                                         "out of range"),
    "epoch huge": (_set("epoch", value=2**70), "must list the epochs 1 to"),
    "early stopping count": (_set("early_stopping", value=[]), "saved with 0 EarlyStopping"),
    "best weights shape": (_tensor("early_stopping/0/3.weight", lambda a: a[:1]),
                           r"'early_stopping/0/3\.weight' must have shape \(2, 6\)"),
    "tensor of no parameter": (_put("model/9.weight", np.zeros((2, 6), np.float32)),
                               r"unexpected tensor 'model/9\.weight'"),
    "architecture invalid": (_set("architecture", 0, "in_features", value=0),
                             "state 'architecture': .*in_features must be an integer >= 1"),
    "best weights denied": (_set("early_stopping", 0, "has_best_state", value=False),
                            "has best weights but says not"),
}


def _snapshot(model, opt, schedule, stopper, rng_states):
    return copy.deepcopy({
        "model": model.state_dict(), "optimizer": opt.state_dict(),
        "dropout": [layer.rng.bit_generator.state for layer in model.layers
                    if isinstance(layer, dp.Dropout)],
        "schedule": schedule.state_dict(),
        "stopper": {k: v for k, v in vars(stopper).items()        # not the references fit set
                    if k not in ("model", "optimizer", "history", "rng", "schedule",
                                 "callbacks", "context")},
        "rng": rng_states})


def _same(a, b):
    """Bit-for-bit equality of nested dicts / lists of arrays and numbers."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return type(a) is type(b) and (a == b or (a != a and b != b))


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_bad_resume_changes_nothing(checkpoint, tmp_path, damage):
    edit, message = DAMAGE[damage]
    bad = _damaged(checkpoint, tmp_path, edit)
    model, opt, schedule, stopper = _setup(seed=8)
    _fit(model, opt, schedule, stopper, epochs=2)           # state that a resume could spoil
    before = _snapshot(model, opt, schedule, stopper, None)
    with pytest.raises(ValueError, match=message):
        _fit(model, opt, schedule, stopper, epochs=5, resume=bad)
    assert _same(_snapshot(model, opt, schedule, stopper, None), before)


def test_a_checkpoint_beyond_the_epochs_asked_for_changes_nothing(checkpoint):
    model, opt, schedule, stopper = _setup(seed=8)
    before = _snapshot(model, opt, schedule, stopper, None)
    with pytest.raises(ValueError, match="saved after epoch 3, but fit runs 2 epochs"):
        _fit(model, opt, schedule, stopper, epochs=2, resume=checkpoint)
    assert _same(_snapshot(model, opt, schedule, stopper, None), before)


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_restore_training_leaves_the_callers_generator_alone(checkpoint, tmp_path, damage):
    """The shuffling Generator is ``fit``'s own; called directly, ``restore_training`` must
    leave the caller's untouched too."""
    from deltaprop.io.checkpoint import restore_training

    edit, message = DAMAGE[damage]
    bad = _damaged(checkpoint, tmp_path, edit)
    model, opt, schedule, stopper = _setup(seed=8)
    rng = np.random.default_rng(42)
    before = _snapshot(model, opt, schedule, stopper, rng.bit_generator.state)
    with pytest.raises(ValueError, match=message):
        restore_training(bad, model=model, optimizer=opt, rng=rng, schedule=schedule,
                         early_stopping=[stopper], has_validation=True, epochs=5)
    assert _same(_snapshot(model, opt, schedule, stopper, rng.bit_generator.state), before)


ESCAPE = "\x1b]0;owned\x07\x1b[2J"                 # terminal control: title, clear screen


@pytest.mark.parametrize("edit", [_set("optimizer", "type", value=ESCAPE),
                                  _set("schedule", "type", value=ESCAPE),
                                  _set("rng", value=ESCAPE),
                                  _set("rng", "bit_generator", value=ESCAPE)])
def test_text_from_the_file_is_shown_escaped_in_errors(checkpoint, tmp_path, edit):
    model, opt, schedule, stopper = _setup(seed=8)
    with pytest.raises(ValueError) as error:
        _fit(model, opt, schedule, stopper, epochs=5, resume=_damaged(checkpoint, tmp_path,
                                                                        edit))
    assert "\x1b" not in str(error.value)


def test_a_checkpoint_with_validation_resumed_without_changes_nothing(checkpoint):
    """The history would grow val_loss for some epochs only (and EarlyStopping would fail on
    the first resumed epoch, after the resume had changed everything)."""
    model, opt, schedule, stopper = _setup(seed=8)
    stopper = dp.EarlyStopping(patience=50)           # monitors val_loss, or loss without
    before = _snapshot(model, opt, schedule, stopper, None)
    with pytest.raises(ValueError, match="saved by a fit with validation data and this fit "
                                         "has none"):
        dp.fit(model, X, Y, loss="cross_entropy", optimizer=opt, epochs=5, batch_size=16,
               seed=3, schedule=schedule, early_stopping=stopper, resume=checkpoint)
    assert _same(_snapshot(model, opt, schedule, stopper, None), before)


def test_a_checkpoint_is_refused_for_its_header_before_its_tensors_are_read(checkpoint,
                                                                          tmp_path):
    """A tensor the saved architecture does not have (here 64 MB in a sparse file) is
    refused from the header, before the bytes it claims are allocated."""
    import struct
    import tracemalloc

    _, fields = read_safetensors(checkpoint)
    size = 4000 * 4000 * 4
    header = {"model/0.weight": {"dtype": "F32", "shape": [4000, 4000],
                                 "data_offsets": [0, size]}, "__metadata__": fields}
    text = json.dumps(header).encode()
    path = tmp_path / "big.safetensors"
    with open(path, "wb") as stream:
        stream.write(struct.pack("<Q", len(text)) + text)
        stream.truncate(8 + len(text) + size)            # sparse: nothing written to disk
    tracemalloc.start()
    try:
        with pytest.raises(dio.ModelFileError, match=r"must have shape \(6, 3\)"):
            load_checkpoint(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_a_sound_checkpoint_still_resumes(checkpoint):
    model, opt, schedule, stopper = _setup(seed=8)
    history = _fit(model, opt, schedule, stopper, epochs=4, resume=checkpoint)
    assert history.epochs == [1, 2, 3, 4]
    full = _setup()
    _fit(*full, epochs=4)
    for key, value in full[0].state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key], value, err_msg=key)


def test_an_edited_checkpoint_is_a_checksum_mismatch(checkpoint, tmp_path):
    data = checkpoint.read_bytes()
    marker = b'\\"epoch\\": 3'
    assert data.count(marker) == 1
    (tmp_path / "c.safetensors").write_bytes(data.replace(marker, b'\\"epoch\\": 2'))
    with pytest.raises(dio.ModelFileError, match="checksum mismatch"):
        load_checkpoint(tmp_path / "c.safetensors")


def test_version_1_checkpoints_are_refused_with_advice(checkpoint, tmp_path):
    tensors, fields = read_safetensors(checkpoint)
    fields.update(format_version="1", checksum=dio.model_files._legacy_checksum(tensors))
    dio.write_safetensors(tmp_path / "old.safetensors", tensors, fields)
    with pytest.raises(dio.ModelFileError, match=r"format_version 1.*deltaprop version that "
                                                 "wrote it"):
        load_checkpoint(tmp_path / "old.safetensors")
