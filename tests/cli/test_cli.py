"""The practitioner subcommands, run in-process: ``train``, ``evaluate``, ``predict``,
``gradcheck`` and ``datasets``.

Every user mistake must end with exit code 2 and one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from deltaprop.cli import SUBCOMMANDS, main


def _run(argv: list[str]) -> tuple[int, str]:
    """``main(argv)`` with stdout captured (for module-scoped fixtures, where capsys is absent)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    return code, buffer.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small moons model written by ``train --out``: (directory, summary text)."""
    out = tmp_path_factory.mktemp("moons")
    code, summary = _run(["train", "moons", "--layers", "8", "--epochs", "5", "--out",
                          str(out), "--quiet"])
    assert code == 0
    return out, summary


def _user_error(capsys, argv: list[str]) -> str:
    """Run ``argv``, expect exit code 2 (returned or raised by argparse); return stderr."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip(), "a user error must say what is wrong"
    return err


def _csv_file(path, n: int = 60, seed: int = 0):
    """Two separable classes with text labels ``cat`` / ``dog`` in a ``label`` column."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["x1", "x2", "label"])
        for i in range(n):
            label = "dog" if i % 2 else "cat"
            centre = 1.5 if label == "dog" else -1.5
            x1, x2 = centre + 0.5 * rng.normal(size=2)
            writer.writerow([f"{x1:.4f}", f"{x2:.4f}", label])
    return path


# ----------------------------------------------------------------------------------- datasets


def test_datasets_lists_the_names(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    names = {line.split()[0] for line in out.splitlines() if line.strip()}
    for name in ("moons", "circles", "spirals", "curve", "quadrants", "digits", "iris"):
        assert name in names, name
    assert ".csv" in out and ".npz" in out


# -------------------------------------------------------------------------------------- train


def test_train_prints_the_summary_and_writes_model_and_history(trained):
    out, summary = trained
    assert re.search(r"network +2-8-2 ReLU, loss cross_entropy, 42 parameters", summary)
    assert re.search(r"epochs +5 run, kept epoch 5 \(the last; --early-stopping keeps the "
                     r"best\)", summary)
    assert "early stop" not in summary
    for part in ("train", "validation", "test"):
        assert re.search(rf"^  {part} +loss \d+\.\d{{4}}  accuracy \d\.\d{{4}}", summary,
                         re.MULTILINE), part
    wrote = re.findall(r"wrote +(\S+)", summary)
    assert wrote == [str(out / "model.safetensors"), str(out / "history.json")]
    assert (out / "model.safetensors").stat().st_size > 0
    history = json.loads((out / "history.json").read_text())
    text = json.dumps(history)
    assert "loss" in text and "val_loss" in text
    losses = history["history"]["loss"] if "history" in history else history["loss"]
    assert len(losses) == 5 and all(np.isfinite(losses))


@pytest.mark.slow
def test_train_with_plots_writes_each_png(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    assert main(["train", "moons", "--layers", "4", "--epochs", "2", "--out", "run",
                 "--plots", "--quiet"]) == 0
    out = capsys.readouterr().out
    for name in ("curves", "layer_stats", "weights", "confusion", "decision_boundary"):
        path = tmp_path / "run" / f"{name}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert path.stat().st_size > 2000, name          # an image, not an empty canvas
        assert f"{name}.png" in out, name


def test_train_regression_defaults_to_mse_and_reports_r2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "curve", "--layers", "8", "--epochs", "5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "(regression," in out and "loss mse" in out
    assert re.search(r"^  test +loss \d+\.\d{4}  r2 -?\d+\.\d{4}", out, re.MULTILINE)
    assert "accuracy" not in out
    assert not list(tmp_path.iterdir())                 # no --out: nothing written


@pytest.mark.parametrize("loss, network", [("bce_with_logits", "2-8-1 ReLU, loss bce_with_logits"),
                                           ("bce", "2-8-1 ReLU, loss bce")])
def test_train_binary_losses(loss, network, capsys):
    assert main(["train", "moons", "--layers", "8", "--epochs", "3", "--loss", loss,
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert network in out
    accuracy = float(re.search(r"test +loss \S+  accuracy (\d\.\d{4})", out).group(1))
    assert accuracy > 0.7


def test_train_cross_entropy_on_regression_is_a_user_error(capsys):
    err = _user_error(capsys, ["train", "curve", "--epochs", "1", "--loss", "cross_entropy",
                               "--quiet"])
    assert len(err.strip().splitlines()) == 1
    assert "cross_entropy" in err and "classification" in err


def test_train_early_stopping_shows_in_the_summary(capsys, tmp_path):
    """The summary's figures are those of the epoch whose weights were kept (restored)."""
    # a huge learning rate makes the validation loss blow up, so patience 2 runs out early
    assert main(["train", "moons", "--layers", "8", "--epochs", "40", "--lr", "5",
                 "--early-stopping", "2", "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    match = re.search(r"epochs +(\d+) run, kept epoch (\d+) \(the best validation loss; "
                      r"early stop after (\d+)\)", out)
    assert match, out
    run, best, stopped = map(int, match.groups())
    assert run < 40 and best < run and stopped == run
    logs = json.loads((tmp_path / "history.json").read_text())["history"]
    assert logs["val_loss"][best - 1] == min(logs["val_loss"])
    assert f"validation    loss {logs['val_loss'][best - 1]:.4f}  accuracy " \
           f"{logs['val_accuracy'][best - 1]:.4f}  (epoch {best})" in out
    assert f"train         loss {logs['loss'][best - 1]:.4f}" in out


def test_train_progress_prints_one_line_per_epoch_when_not_a_terminal(capsys):
    assert main(["train", "moons", "--layers", "4", "--epochs", "3"]) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        assert line.startswith(f"epoch {epoch}/3  loss "), line
        assert "val_loss" in line
    assert "epoch 1/3" not in captured.out             # progress on stderr, summary on stdout
    assert "summary" in captured.out


def test_train_quiet_prints_no_progress(capsys):
    assert main(["train", "moons", "--layers", "4", "--epochs", "2", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------- evaluate and predict


def test_evaluate_a_trained_model(trained, capsys):
    out, _ = trained
    assert main(["evaluate", str(out / "model.safetensors"), "moons"]) == 0
    line = capsys.readouterr().out.strip()
    match = re.fullmatch(r"moons: (\d+) rows  loss (\d+\.\d{4})  accuracy (\d\.\d{4})", line)
    assert match, line
    assert int(match.group(1)) == 400
    assert float(match.group(3)) > 0.75                # the saved scaling is applied


def test_evaluate_is_reproducible_and_applies_the_saved_scaling(trained, capsys):
    """``evaluate MODEL moons`` regenerates the toy set with train's seed (0) and scales it."""
    import deltaprop as dp
    from deltaprop import io as dio
    from deltaprop.datasets import load

    out, _ = trained
    bundle = dio.load_bundle(out / "model.safetensors")
    assert bundle.preprocessing is not None
    data = load("moons", seed=0)
    expected = dp.evaluate(bundle.model, bundle.preprocessing.transform(data.X), data.y,
                           loss="cross_entropy")
    model = str(out / "model.safetensors")
    assert main(["evaluate", model, "moons"]) == 0
    first = capsys.readouterr().out
    assert main(["evaluate", model, "moons"]) == 0
    assert capsys.readouterr().out == first              # same data, same figures
    printed = float(re.search(r"accuracy (\d\.\d{4})", first).group(1))
    assert printed == pytest.approx(expected["accuracy"], abs=1e-4)
    assert main(["evaluate", model, "moons", "--seed", "7"]) == 0
    assert capsys.readouterr().out != first              # another draw of the toy set


def test_predict_prints_csv_with_probabilities(trained, tmp_path, capsys):
    out, _ = trained
    model = str(out / "model.safetensors")
    assert main(["predict", model, "moons", "--limit", "3", "--proba"]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0] == ["prediction", "p(0)", "p(1)"]
    assert len(rows) == 4
    for row in rows[1:]:
        probs = [float(p) for p in row[1:]]
        assert sum(probs) == pytest.approx(1.0, abs=1e-5)
        assert row[0] == str(int(np.argmax(probs)))

    target = tmp_path / "predictions.csv"
    assert main(["predict", model, "moons", "--limit", "3", "--proba", "--output",
                 str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert list(csv.reader(target.read_text().splitlines())) == rows


def test_predict_without_proba_prints_labels_only(trained, capsys):
    out, _ = trained
    assert main(["predict", str(out / "model.safetensors"), "moons", "--limit", "5"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "prediction" and len(rows) == 6
    assert set(rows[1:]) <= {"0", "1"}


def test_evaluate_and_predict_user_errors(trained, tmp_path, capsys):
    out, _ = trained
    err = _user_error(capsys, ["evaluate", str(tmp_path / "nope.safetensors"), "moons"])
    assert "not found" in err
    err = _user_error(capsys, ["predict", str(out / "model.safetensors"), "curve"])
    assert "features" in err                            # 1 feature, the model expects 2


# ---------------------------------------------------------------------------------------- CSV


def test_train_on_a_csv_file_with_text_labels(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _csv_file(tmp_path / "animals.csv")
    assert main(["train", "animals.csv", "--target", "label", "--layers", "8", "--epochs", "5",
                 "--out", "run", "--quiet"]) == 0
    summary = capsys.readouterr().out
    assert "(classification, 60 rows, 2 features)" in summary
    assert main(["predict", "run/model.safetensors", "animals.csv", "--target", "label",
                 "--proba", "--limit", "2"]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0] == ["prediction", "p(cat)", "p(dog)"]
    assert all(row[0] in ("cat", "dog") for row in rows[1:])


def test_csv_unknown_column_lists_the_columns(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _csv_file(tmp_path / "animals.csv")
    err = _user_error(capsys, ["train", "animals.csv", "--target", "colour", "--quiet"])
    assert "colour" in err
    assert "x1" in err and "x2" in err and "label" in err


def test_csv_non_numeric_feature_names_line_and_column(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text("x1,x2,label\n1,2,cat\n3,oops,dog\n4,5,cat\n")
    err = _user_error(capsys, ["train", "bad.csv", "--target", "label", "--quiet"])
    assert "line 3" in err and "x2" in err and "oops" in err


def test_missing_data_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    err = _user_error(capsys, ["train", "missing.csv", "--target", "label", "--quiet"])
    assert "not found" in err and "missing.csv" in err


# ----------------------------------------------------------------------------- bad flag values


@pytest.mark.parametrize("flags, name", [
    (["--layers", "0"], "--layers"),
    (["--layers", "a,b"], "--layers"),
    (["--val-split", "1.5"], "--val-split"),
    (["--epochs", "0"], "--epochs"),
    (["--lr", "-1"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--batch-size", "-3"], "--batch-size"),
    (["--optimizer", "rmsprop"], "--optimizer"),
])
def test_bad_flag_values_exit_2(flags, name, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "moons", *flags])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert name in err and "Traceback" not in err


def test_unknown_dataset_lists_the_valid_names(capsys):
    err = _user_error(capsys, ["train", "mooons", "--quiet"])
    assert "mooons" in err
    assert "moons" in err and "digits" in err and "curve" in err


def test_plots_without_out_is_a_user_error(capsys):
    err = _user_error(capsys, ["train", "moons", "--plots", "--quiet"])
    assert "--out" in err


def test_bad_activation_is_a_user_error(capsys):
    err = _user_error(capsys, ["train", "moons", "--activation", "swishy", "--quiet"])
    assert "swishy" in err


# ---------------------------------------------------------------------------------- gradcheck


def test_gradcheck_from_flags_passes(capsys):
    assert main(["gradcheck", "--inputs", "3", "--layers", "4", "--outputs", "2",
                 "--activation", "tanh", "--loss", "cross_entropy"]) == 0
    out = capsys.readouterr().out
    assert "passed" in out
    for name in ("0.weight", "0.bias", "2.weight", "2.bias", "input"):
        assert re.search(rf"^{re.escape(name)} .* yes$", out, re.MULTILINE), name


def test_gradcheck_a_saved_model(trained, capsys):
    out, _ = trained
    assert main(["gradcheck", "--model", str(out / "model.safetensors"),
                 "--max-entries", "20"]) == 0
    text = capsys.readouterr().out
    assert "loss cross_entropy" in text and "passed" in text


def test_gradcheck_needs_two_widths(capsys):
    err = _user_error(capsys, ["gradcheck", "--widths", "3"])
    assert "--widths" in err


# --------------------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_help_of_each_subcommand_shows_examples(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert f"deltaprop {command}" in out.split("examples:", 1)[1]


def _numeric_file(tmp_path):
    """Two features and a 0/1 ``label`` column."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    path = tmp_path / "points.csv"
    np.savetxt(path, np.column_stack([X, X[:, 0] > 0]), delimiter=",", header="a,b,label",
               comments="", fmt="%.6g")
    return path


@pytest.mark.parametrize("metadata", [{"classes": 5}, {"classes": {"a": 1}},
                                      {"target_names": 7}, {"classes": [[1], None]}])
def test_predict_reads_class_names_only_where_the_file_has_them(tmp_path, metadata, capsys):
    """A caller's own use of the ``classes`` / ``target_names`` keys is not a list of names."""
    from deltaprop import io as model_io
    from deltaprop import mlp

    model_path = tmp_path / "model.safetensors"
    model_io.save(mlp([2, 4, 2], seed=0), model_path, loss="cross_entropy", metadata=metadata)
    code = main(["predict", str(model_path), str(_numeric_file(tmp_path)), "--target", "label",
                 "--proba"])
    out, err = capsys.readouterr()
    assert code == 0, err
    header = out.splitlines()[0]
    assert header == "prediction,p(0),p(1)"


@pytest.mark.parametrize("command", ["evaluate", "predict", "gradcheck"])
def test_a_loss_saved_with_save_loss_is_used(tmp_path, command, capsys):
    """``io.save(..., loss=...)`` alone (no ``metadata["loss"]``) is enough for the CLI."""
    from deltaprop import io as model_io
    from deltaprop import mlp

    model_path = tmp_path / "model.safetensors"
    model_io.save(mlp([2, 4, 1], output="sigmoid", seed=0), model_path, loss="bce")
    argv = {"evaluate": ["evaluate", str(model_path), str(_numeric_file(tmp_path)),
                         "--target", "label"],
            "predict": ["predict", str(model_path), str(_numeric_file(tmp_path)),
                        "--target", "label"],
            "gradcheck": ["gradcheck", "--model", str(model_path)]}[command]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    if command == "evaluate":
        assert "accuracy" in out                   # bce: a classification metric, not R²
    if command == "gradcheck":
        assert "loss bce," in out                  # not the mse default


def test_a_plain_dict_preprocessing_is_a_user_error(tmp_path, capsys):
    from deltaprop import io as model_io
    from deltaprop import mlp

    model_path = tmp_path / "model.safetensors"
    model_io.save(mlp([2, 4, 2], seed=0), model_path, loss="cross_entropy",
                  preprocessing={"kind": "mine", "shift": [1, 2]})
    err = _user_error(capsys, ["predict", str(model_path), str(_numeric_file(tmp_path)),
                               "--target", "label"])
    assert "preprocessing is not a Standardizer" in err


def _labelled_csv(path, labels, seed: int):
    """Two features that separate the labels, one row per label entry."""
    rng = np.random.default_rng(seed)
    centres = {"cat": (-2.0, 0.0), "dog": (0.0, 2.0), "fish": (2.0, 0.0)}
    rows = [f"{centres[a][0] + rng.normal(0, .3):.3f},{centres[a][1] + rng.normal(0, .3):.3f},"
            f"{a}" for a in labels]
    path.write_text("x1,x2,animal\n" + "\n".join(rows) + "\n")
    return str(path)


def test_evaluate_numbers_the_labels_as_the_model_does(tmp_path, capsys):
    """A file with a subset of the classes numbers them from 0 by itself; evaluate must
    compare with the model's numbering (was: 'dog' scored as the model's 'cat')."""
    train = _labelled_csv(tmp_path / "train.csv", ["cat", "dog", "fish"] * 40, seed=0)
    out = tmp_path / "run"
    assert main(["train", train, "--layers", "8", "--epochs", "40", "--optimizer", "adam",
                 "--lr", "0.05", "--out", str(out), "--quiet"]) == 0
    model = str(out / "model.safetensors")
    subset = _labelled_csv(tmp_path / "subset.csv", ["dog", "fish"] * 20, seed=1)
    capsys.readouterr()
    assert main(["predict", model, subset]) == 0
    predicted = capsys.readouterr().out.split()[1:]
    truth = ["dog", "fish"] * 20
    expected = np.mean([p == t for p, t in zip(predicted, truth)])
    assert expected > 0.9                                  # the model does separate them
    assert main(["evaluate", model, subset]) == 0
    assert f"accuracy {expected:.4f}" in capsys.readouterr().out


def test_evaluate_refuses_a_class_the_model_does_not_know(tmp_path, capsys):
    train = _labelled_csv(tmp_path / "train.csv", ["cat", "dog"] * 20, seed=0)
    out = tmp_path / "run"
    assert main(["train", train, "--layers", "4", "--epochs", "1", "--out", str(out),
                 "--quiet"]) == 0
    other = _labelled_csv(tmp_path / "other.csv", ["dog", "fish"] * 5, seed=1)
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.safetensors"), other]) == 2
    err = capsys.readouterr().err
    assert "'fish'" in err and "cat, dog" in err


def test_evaluate_and_predict_read_a_file_as_the_model_s_task(tmp_path, capsys):
    """Targets 5 and 7 read alone look like two classes (numbered 0 and 1); a regression
    model must be scored on the values 5 and 7 (the task its file records)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    path = tmp_path / "d.csv"
    path.write_text("x,y\n" + "\n".join(f"{v:.4f},{5 if v < 0 else 7}" for v in x) + "\n")
    out = tmp_path / "run"
    assert main(["train", str(path), "--task", "regression", "--layers", "4", "--epochs",
                 "1", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    model = str(out / "model.safetensors")
    assert main(["predict", model, str(path)]) == 0
    predicted = np.array(capsys.readouterr().out.split()[1:], dtype=float)
    y = np.where(x < 0, 5.0, 7.0)
    assert main(["evaluate", model, str(path)]) == 0
    assert f"mse {np.mean((predicted - y) ** 2):.4f}" in capsys.readouterr().out


def test_plots_without_a_working_matplotlib_fail_before_training(tmp_path, monkeypatch,
                                                                 capsys):
    """A missing or broken matplotlib (a bad MPLBACKEND) is found before a run is spent,
    not after the model was saved next to an error."""
    from deltaprop.plots import _figure

    def broken():
        raise ImportError("deltaprop.plots needs matplotlib: pip install 'deltaprop[plot]'")

    monkeypatch.setattr(_figure, "pyplot", broken)
    out = tmp_path / "run"
    assert main(["train", "moons", "--layers", "4", "--epochs", "1", "--plots", "--out",
                 str(out), "--quiet"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "--plots" in line and "pip install" in line
    assert not out.exists()


def test_integer_labels_the_model_does_not_name_are_class_numbers(tmp_path, capsys):
    """A model whose recorded class names are others ("ja", "nein") scores integer labels
    2 and 1 as classes 2 and 1 (not renumbered 1 and 0 by the file's own order)."""
    import deltaprop as dp
    from deltaprop import io as dio

    model = dp.mlp([2, 3], seed=0)
    path = tmp_path / "m.safetensors"
    dio.save(model, path, loss="cross_entropy", metadata={"classes": ["ja", "nein", "doch"]})
    X = np.random.default_rng(0).normal(size=(12, 2))
    data = tmp_path / "d.npz"
    np.savez(data, X=X, y=np.array([1, 2] * 6))
    assert main(["evaluate", str(path), str(data)]) == 0
    expected = dp.evaluate(model, X, np.array([1, 2] * 6), loss="cross_entropy")
    assert f"accuracy {expected['accuracy']:.4f}" in capsys.readouterr().out


@pytest.fixture
def xy_model(tmp_path):
    """A model trained on a CSV of features x1, x2 and a text target."""
    train = _labelled_csv(tmp_path / "train.csv", ["cat", "dog"] * 20, seed=0)
    out = tmp_path / "run"
    assert main(["train", train, "--layers", "4", "--epochs", "5", "--out", str(out),
                 "--quiet"]) == 0
    return str(out / "model.safetensors"), train


def test_predict_reads_new_rows_without_a_target(xy_model, tmp_path, capsys):
    """New data has no target column: a CSV of exactly the model's features is read whole
    (was: its last feature was taken as the target, and the width refused)."""
    model, train = xy_model
    lines = Path(train).read_text().splitlines()
    new = tmp_path / "new.csv"
    new.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    capsys.readouterr()
    assert main(["predict", model, str(new)]) == 0
    from_new = capsys.readouterr().out
    assert main(["predict", model, train]) == 0
    assert from_new == capsys.readouterr().out and len(from_new.split()) == 41


@pytest.mark.parametrize("header, missing", [("a,b", "'x1' (nor 1 more"),
                                             ("x1,animal", "'x2', a feature")])
def test_predict_names_the_missing_feature_column(xy_model, tmp_path, capsys, header, missing):
    model, _ = xy_model
    data = tmp_path / "other.csv"
    data.write_text(f"{header}\n1,2\n3,4\n")
    capsys.readouterr()
    assert main(["predict", model, str(data)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"has no column {missing}" in line
    assert f"the file's columns: {header.replace(',', ', ')}" in line


def test_predict_and_evaluate_find_the_features_by_name(xy_model, tmp_path, capsys):
    """Columns in another order, an extra text column and no target (predict) or the
    target anywhere (evaluate) give the numbers of the training file's own layout."""
    model, train = xy_model
    rows = [line.split(",") for line in Path(train).read_text().splitlines()]
    assert rows[0] == ["x1", "x2", "animal"]
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("".join(f"{a},id{i},{x2},{x1}\n" if i else "animal,id,x2,x1\n"
                                for i, (x1, x2, a) in enumerate(rows)))
    features = tmp_path / "features.csv"
    features.write_text("".join(f"{x2},{x1}\n" for x1, x2, _ in rows))
    outputs = []
    for command, data in [("predict", train), ("predict", shuffled), ("predict", features),
                          ("evaluate", train), ("evaluate", shuffled)]:
        capsys.readouterr()
        assert main([command, model, str(data), *(["--proba"] * (command == "predict"))]) == 0
        outputs.append(capsys.readouterr().out.split(":", 1)[-1])
    assert outputs[0] == outputs[1] == outputs[2] and "p(cat)" in outputs[0]
    assert outputs[3] == outputs[4] and "accuracy" in outputs[3]


def test_evaluate_needs_a_target_column(xy_model, tmp_path, capsys):
    model, _ = xy_model
    features = tmp_path / "features.csv"
    features.write_text("x2,x1\n1,2\n3,4\n")
    capsys.readouterr()
    assert main(["evaluate", model, str(features)]) == 2
    assert "has no target column" in capsys.readouterr().err


def test_task_regression_reads_a_target_of_one_value(tmp_path, capsys):
    """--task applies when the file is read (was: the file was first read as two or more
    classes, and a target of one value was refused before --task was looked at)."""
    path = tmp_path / "d.csv"
    path.write_text("x,y\n" + "\n".join(f"{i},5" for i in range(20)) + "\n")
    assert main(["train", str(path), "--task", "regression", "--layers", "3", "--epochs",
                 "1", "--quiet"]) == 0
    assert "regression, 20 rows" in capsys.readouterr().out


def test_an_npz_file_s_features_are_found_by_name_or_by_position(xy_model, tmp_path, capsys):
    """predict reads X (and its names) only: y may be absent, or anything."""
    model, train = xy_model
    rows = np.array([line.split(",")[:2] for line in Path(train).read_text().splitlines()[1:]],
                    dtype=float)
    outputs = []
    for name, X, names in [("same", rows, ["x1", "x2"]),
                           ("swapped", rows[:, ::-1], ["x2", "x1"]), ("unnamed", rows, None)]:
        path = tmp_path / f"{name}.npz"
        arrays = {"X": X} if name == "swapped" else {"X": X, "y": np.zeros(len(X))}
        np.savez(path, **arrays, **({"feature_names": np.array(names)} if names else {}))
        capsys.readouterr()
        assert main(["predict", model, str(path), "--proba"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]
    other = tmp_path / "other.npz"
    np.savez(other, X=rows, y=np.array(["cat", "dog"] * 20),
             feature_names=np.array(["x1", "height"]))
    assert main(["predict", model, str(other)]) == 2
    assert "has no feature 'x2', which the model was trained on" in capsys.readouterr().err
