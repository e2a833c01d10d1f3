"""The playground's state without a server: the network it builds, the batches, the views,
and the uploaded CSV read as untrusted input."""

from __future__ import annotations

import json

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.playground import Config, Playground, PlaygroundInputError, parse_config
from deltaprop.playground.state import build_model
from deltaprop.playground.stepping import array_view
from deltaprop.playground.upload import MAX_BYTES, MAX_ROWS, read_upload
from deltaprop.playground.views import plain, unit_flags


def test_build_model_draws_the_weights_as_mlp_does():
    config = Config(hidden=[5, 3], activations=["relu", "relu"], output="none",
                    loss="cross_entropy", init="he_uniform", seed=7)
    ours = build_model(config, 2, 3)
    reference = dp.mlp([2, 5, 3, 3], "relu", None, init="he_uniform", seed=7, dtype=np.float64)
    assert repr(ours) == repr(reference)
    for key, value in reference.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key], value)


def test_per_layer_activations_and_dropout():
    config = Config(hidden=[3, 3], activations=["elu", "sigmoid"], dropout=0.25)
    names = [type(layer).__name__ for layer in build_model(config, 2, 1).layers]
    assert names == ["Dense", "ELU", "Dropout", "Dense", "Sigmoid", "Dropout", "Dense",
                     "Sigmoid"]


def test_an_epoch_visits_every_training_row_once():
    session = Playground(Config(n_samples=50, batch_size=7))
    seen = np.concatenate([session.next_rows() for _ in range(6)])     # 40 rows: 6 batches
    assert sorted(seen) == sorted(session.train_rows) and session.epoch == 0
    session.next_rows()
    assert session.epoch == 1


def test_train_and_step_share_the_batches_and_the_optimizer():
    stepped, trained = Playground(), Playground()
    stepped.next_batch()
    stepped.next_batch()
    trained.train(2)
    for key, value in trained.model.state_dict().items():
        np.testing.assert_allclose(stepped.model.state_dict()[key], value, rtol=1e-12)


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_stepping_is_training_slowed_down_dropout_masks_included(dropout):
    """Step mode takes the training step: with dropout it draws the masks training would
    draw (the same generators), so stepping then training lands where training does."""
    config = Config(hidden=[6, 5], activations=["relu", "tanh"], dropout=dropout)
    stepped, trained = Playground(config), Playground(config)
    stepped.next_batch()
    stepped.train(1)
    stepped.next_batch()
    trained.train(3)
    for key, value in trained.model.state_dict().items():
        np.testing.assert_array_equal(stepped.model.state_dict()[key], value)
    masks = [layer.dropout for layer in stepped.recording.layers[:-1]]
    assert all(mask is not None for mask in masks) if dropout else masks == [None, None]


def test_divergence_stops_training_with_a_message():
    session = Playground(Config(dataset="curve", output="none", loss="mse", lr=10.0,
                                momentum=0.0, hidden=[8], activations=["relu"]))
    session.train(200)
    assert session.error and "try a learning rate below 10" in session.error
    assert session.steps < 200
    assert session.snapshot()["error"] == session.error


def test_an_overflowing_model_still_gives_json():
    session = Playground(Config(dataset="curve", output="none", loss="mse"))
    session.model.dense_layers[-1].params["weight"][:] = 1e200
    session.model.dense_layers[0].params["bias"][:] = 1e200
    session._log()
    assert session.history[-1]["train_loss"] is None
    json.dumps(session.snapshot(with_data=True), allow_nan=False)


def test_dead_relu_units_are_flagged():
    session = Playground(Config(hidden=[3], activations=["relu"]))
    first = session.model.dense_layers[0]
    first.params["weight"][0] = 0.0
    first.params["bias"][0] = -1.0                  # unit 1: z = −1 for every sample
    first.params["weight"][1] = 50.0                # unit 2: alive
    assert unit_flags(session.model, session.data.X)[0][:2] == ["dead", ""]


def test_saturated_tanh_units_are_flagged():
    session = Playground(Config(hidden=[2], activations=["tanh"]))
    session.model.dense_layers[0].params["weight"][0] = 1000.0
    flags = unit_flags(session.model, session.data.X)[0]
    assert flags[0] == "saturated" and flags[1] == ""


def test_array_view_whole_and_summarised():
    small = array_view(np.arange(6.0).reshape(2, 3))
    assert small["whole"] and small["values"] == [[0, 1, 2], [3, 4, 5]]
    big = array_view(np.arange(100.0).reshape(10, 10))
    assert not big["whole"] and np.array(big["values"]).shape == (6, 6)
    assert big["summary"]["max"] == 99 and big["summary"]["mean"] == 49.5


def test_nan_and_inf_become_json_null():
    assert plain(np.array([1.0, np.nan, np.inf])) == [1.0, None, None]


def test_parse_config_keeps_unset_fields_and_refuses_booleans_as_numbers():
    assert parse_config({"lr": 0.5}, Config(seed=4)).seed == 4
    with pytest.raises(PlaygroundInputError, match=r"^momentum must be a finite number in "
                                                   r"\[0, 1\), got True$"):
        parse_config({"momentum": True})
    with pytest.raises(PlaygroundInputError, match="got nan"):
        parse_config({"lr": float("nan")})


def test_regression_data_needs_mse():
    with pytest.raises(PlaygroundInputError, match="mse for the regression data set curve"):
        Playground(Config(dataset="curve"))


def csv(rows: list[str], header: str | None = "x1,x2,label") -> bytes:
    return "\n".join(([header] if header else []) + rows).encode()


GOOD = [f"{i * 0.1:.1f},{(i % 5) * 0.3:.1f},{i % 2}" for i in range(30)]


def test_upload_classification_with_header():
    data = read_upload(csv(GOOD))
    assert data.task == "classification" and data.X.shape == (30, 2)
    assert data.feature_names == ["x1", "x2"] and sorted(set(data.y)) == [0, 1]


def test_upload_with_old_mac_and_windows_line_ends():
    for end in (b"\r", b"\r\n"):
        assert read_upload(end.join(line.encode() for line in GOOD)).X.shape == (30, 2)


def test_upload_regression_and_class_labels_renumbered():
    data = read_upload(csv([f"{i},{i % 3},{i * 0.37}" for i in range(20)], header=None))
    assert data.task == "regression"
    labels = read_upload(csv([f"{i},{i},{(i % 3) * 5 - 5}" for i in range(20)]))
    assert labels.classes == [-5, 0, 5] and sorted(set(labels.y)) == [0, 1, 2]


@pytest.mark.parametrize("data, message", [
    (csv([*GOOD[:5], "1,2", *GOOD[5:]]), "the CSV line 7 must be 3 columns"),
    (csv([*GOOD[:5], "1,two,0", *GOOD[5:]]), "the CSV line 7, column 2 must be a number, "
                                             "got 'two'"),
    (csv([*GOOD[:3], "1,inf,0", *GOOD[3:]]), "the CSV line 5, column 2 must be a finite number"),
    (csv([*GOOD[:3], "nan,1,0", *GOOD[3:]]), "the CSV line 5, column 1 must be a finite number"),
    (csv(GOOD[:4]), "the CSV must be at least 10 rows of numbers, got '4 rows'"),
    (b"x1,x2,y\n\xff\xfe,1,0\n", "the CSV must be UTF-8 text"),
    (b"1," * (MAX_BYTES // 2 + 1), f"the CSV must be at most {MAX_BYTES} bytes"),
    (csv(["1,2,0"] * (MAX_ROWS + 1)), f"the CSV must be at most {MAX_ROWS} rows"),
    (csv(["a,b,c", *GOOD]), "the CSV line 2, column 1 must be a number, got 'a'"),
    (csv(["1,x,0", *GOOD], header=None), "the CSV line 1, column 2 must be a number"),
    (b"1,2," + b"3" * 200_000 + b"\n", "the CSV must be comma-separated values, got 'line 1: "
                                      "field larger than field limit"),
])
def test_upload_refuses_bad_files(data, message):
    with pytest.raises(PlaygroundInputError) as error:
        read_upload(data)
    assert str(error.value).startswith(message)


def test_use_upload_picks_a_loss_that_fits():
    session = Playground()
    session.use_upload(read_upload(csv([f"{i},{i % 3},{i * 0.37}" for i in range(20)])))
    assert (session.config.dataset, session.config.loss, session.data.task) == \
        ("upload", "mse", "regression")
    assert session.scaler is not None
    session.use_upload(read_upload(csv([f"{i},{i},{i % 3}" for i in range(30)])))
    assert session.config.loss == "cross_entropy" and session.model.out_features == 3
