"""Every user mistake, in every subcommand, ends with ONE line on stderr and exit code 2.

The table below is the catalogue: missing, unreadable, damaged or wrong-type files,
directories where a file belongs, bad flag values, mismatched model and data, unknown names,
diverging training.  Each row names a word the message must contain (the flag, the file, or
the rule), so a message that only says "error" does not pass.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from deltaprop.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """One folder of good and bad inputs, made once for the whole table."""
    root = tmp_path_factory.mktemp("inputs")
    paths = {"tmp": str(root)}

    def text(name: str, content: str | bytes) -> None:
        path = root / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        paths[name.replace(".", "_")] = str(path)

    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},{'cat' if a > 0 else 'dog'}"
                     for a, b in rng.normal(size=(40, 2)))
    text("good.csv", "x1,x2,label\n" + rows + "\n")
    text("three.csv", "x1,x2,label\n" + "\n".join(f"{i},{i % 5},{'abc'[i % 3]}"
                                                  for i in range(30)) + "\n")
    text("empty.csv", "")
    text("blank.csv", "\ufeff\n \n\n")
    text("huge.csv", "a,b,y\n" + "\n".join(f"{(-1) ** i * 1e300},{i},{i % 2}"
                                           for i in range(20)) + "\n")
    text("binary.csv", b"\xff\xfe\x00\x01garbage\x00")
    text("far.csv", "x1,x2,label\n0.5,1,cat\n1e300,2,dog\n3,4,cat\n")
    text("constant.csv", "x1,x2,y\n1,2,7\n")
    text("missing.csv", "x1,z,label\n1,2,cat\n3,4,dog\n")
    text("gap.csv", "x1,x2,label\n1,2,cat\n3,4,\n5,6,dog\n")
    text("nan.csv", "x1,x2,y\n1,2,0.5\n3,4,nan\n5,6,1.5\n")
    text("ragged.csv", "x1,x2,label\n1,2,cat\n3,4\n")
    text("notnpz.npz", "x1,x2\n1,2\n")
    text("damaged.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    text("empty.py", "x = 1\n")
    np.savez(root / "ynan.npz", X=np.ones((4, 2)), y=np.array([0.5, np.nan, 1.0, 2.0]))
    np.savez(root / "xnan.npz", X=np.array([[1.0, 2.0], [np.inf, 1.0], [0, 0]]),
             y=np.array([0, 1, 0]))
    np.savez(root / "noy.npz", X=np.ones((4, 2)))
    np.savez(root / "objects.npz", X=np.array([[1, "a"]] * 4, dtype=object), y=np.arange(4))
    np.savez(root / "good.npz", X=rng.normal(size=(40, 2)), y=np.arange(40) % 2)
    text("truncated.npz", (root / "good.npz").read_bytes()[:200])
    text("semicolons.csv", "x1;x2;label\n1;2;cat\n3;4;dog\n")
    for name in ("ynan.npz", "xnan.npz", "noy.npz", "objects.npz"):
        paths[name.replace(".", "_")] = str(root / name)
    (root / "folder.csv").mkdir()
    paths["folder"] = str(root / "folder.csv")
    model_dir = root / "run"
    assert main(["train", paths["good_csv"], "--layers", "4", "--epochs", "1", "--out",
                 str(model_dir), "--quiet"]) == 0
    paths["model"] = str(model_dir / "model.safetensors")
    assert main(["train", "curve", "--layers", "3", "--epochs", "1", "--out",
                 str(root / "regression"), "--quiet"]) == 0
    paths["regression_model"] = str(root / "regression" / "model.safetensors")
    (root / "linked").mkdir()
    os.symlink(paths["good_csv"], root / "linked" / "history.json")
    paths["linked"] = str(root / "linked")
    os.symlink(paths["model"], root / "model_link.csv")
    paths["model_link"] = str(root / "model_link.csv")
    os.link(paths["good_csv"], root / "data_hardlink.csv")
    paths["data_hardlink"] = str(root / "data_hardlink.csv")
    return paths


# (argv with {placeholders} from ``files``, words the one-line message must contain)
CASES = {
    # train: data files
    "train-missing-file": (["train", "{tmp}/nope.csv"], ["not found", "nope.csv"]),
    "train-folder-as-data": (["train", "{folder}"], ["directory"]),
    "train-empty-csv": (["train", "{empty_csv}"], ["header row"]),
    "evaluate-empty-csv": (["evaluate", "{model}", "{empty_csv}"], ["header row"]),
    "evaluate-blank-lines-csv": (["evaluate", "{model}", "{blank_csv}"], ["header row"]),
    "train-binary-csv": (["train", "{binary_csv}"], ["not a readable CSV"]),
    "train-ragged-csv": (["train", "{ragged_csv}"], ["line 3", "expected 3 values"]),
    "train-missing-target": (["train", "{gap_csv}"], ["line 3", "'label'", "missing"]),
    "train-nan-target": (["train", "{nan_csv}"], ["line 3", "'y'", "finite"]),
    "train-npz-nan-target": (["train", "{ynan_npz}"], ["'y'", "index 1", "finite"]),
    "train-npz-inf-feature": (["train", "{xnan_npz}"], ["'X'", "index (1, 0)", "finite"]),
    "train-npz-without-y": (["train", "{noy_npz}"], ["'y'", "missing"]),
    "train-csv-as-npz": (["train", "{notnpz_npz}"], ["not a readable .npz"]),
    "train-truncated-npz": (["train", "{truncated_npz}"], ["truncated.npz", "not a readable"]),
    "train-npz-of-objects": (["train", "{objects_npz}"], ["'X'", "Python objects"]),
    "train-semicolons": (["train", "{semicolons_csv}"], ["';'", "separated by ','"]),
    "train-features-too-large": (["train", "{huge_csv}"], ["standardise", "'a'"]),
    "train-model-as-data": (["train", "{model}"], ["unknown dataset", "model.safetensors"]),
    "train-unknown-name": (["train", "mooons"], ["mooons", "moons"]),
    "train-unknown-column": (["train", "{good_csv}", "--target", "colour"], ["colour", "x1"]),
    "train-target-on-a-name": (["train", "moons", "--target", "y"], ["--target"]),
    "train-one-value-as-regression": (["train", "{constant_csv}", "--task", "regression"],
                                      ["--test-split"]),
    "train-task-on-a-name": (["train", "moons", "--task", "regression"], ["--task"]),
    # train: flags
    **{f"train-layers-{name}": (["train", "moons", "--layers", value], ["--layers"])
       for name, value in [("double-comma", "32,,16"), ("leading-comma", ",32"),
                           ("trailing-comma", "32,"), ("zero", "0"), ("negative", "-3"),
                           ("empty", ""), ("words", "a,b"), ("float", "1.5")]},
    "train-lr-negative": (["train", "moons", "--lr", "-1"], ["--lr"]),
    "train-lr-nan": (["train", "moons", "--lr", "nan"], ["--lr"]),
    "train-lr-inf": (["train", "moons", "--lr", "inf"], ["--lr"]),
    "train-epochs-zero": (["train", "moons", "--epochs", "0"], ["--epochs"]),
    "train-batch-size-zero": (["train", "moons", "--batch-size", "0"], ["--batch-size"]),
    "train-val-split-one": (["train", "moons", "--val-split", "1"], ["--val-split"]),
    "train-test-split-zero": (["train", "moons", "--test-split", "0"], ["--test-split"]),
    "train-test-split-big": (["train", "moons", "--test-split", "1.5"], ["--test-split"]),
    "train-momentum-one": (["train", "moons", "--momentum", "1"], ["--momentum"]),
    "train-unknown-optimizer": (["train", "moons", "--optimizer", "rmsprop"], ["--optimizer"]),
    "train-unknown-loss": (["train", "moons", "--loss", "hinge"], ["--loss"]),
    "train-unknown-dtype": (["train", "moons", "--dtype", "float16"], ["--dtype"]),
    "train-unknown-flag": (["train", "moons", "--lerning-rate", "1"], ["--lerning-rate"]),
    "train-unknown-activation": (["train", "moons", "--activation", "swishy"], ["swishy"]),
    "train-ce-on-regression": (["train", "curve", "--loss", "cross_entropy"],
                               ["cross_entropy"]),
    "train-bce-on-three-classes": (["train", "{three_csv}", "--loss", "bce"], ["bce", "3"]),
    "train-val-split-leaves-nothing": (["train", "{good_csv}", "--val-split", "0.99"],
                                       ["--val-split 0.99", "no rows to train on"]),
    "train-test-split-leaves-nothing": (["train", "{good_csv}", "--test-split", "0.01"],
                                        ["--test-split 0.01"]),
    "train-layers-too-wide": (["train", "{good_csv}", "--layers", str(10**15)],
                              ["not enough memory"]),
    "train-validation-loss-nan": (["train", "{good_csv}", "--layers", "3", "--epochs", "1",
                                   "--optimizer", "adam", "--lr", "1e30"],
                                  ["diverged", "val_loss", "nan", "--lr"]),
    "train-test-loss-nan": (["train", "{good_csv}", "--layers", "3", "--epochs", "1",
                             "--val-split", "0", "--optimizer", "adam", "--lr", "1e30"],
                            ["diverged", "test rows", "--lr"]),
    **{f"{command}-negative-seed": ([command, *rest, "--seed", "-1"], ["--seed", "'-1'"])
       for command, rest in [("train", ["moons"]), ("evaluate", ["{model}", "moons"]),
                             ("predict", ["{model}", "moons"]), ("gradcheck", []),
                             ("demo", []), ("bench", ["--quick"])]},
    "demo-seed-too-large": (["demo", "--seed", str(2**32)], ["--seed", "4294967296"]),
    "train-out-under-a-file": (["train", "moons", "--out", "{good_csv}/run"],
                               ["--out", "Not a directory", "good.csv"]),
    "train-out-name-too-long": (["train", "moons", "--out", "y" * 300], ["--out", "too long"]),
    "predict-output-name-too-long": (["predict", "{model}", "moons", "--output",
                                      "p" * 300 + ".csv"], ["too long"]),
    "train-beyond-float32": (["train", "{huge_csv}", "--no-standardize"],
                             ["data row 1", "'a'", "float32", "--dtype float64"]),
    "evaluate-feature-missing": (["evaluate", "{model}", "{missing_csv}"],
                                 ["no column 'x2'", "columns: x1, z, label"]),
    "predict-feature-missing": (["predict", "{model}", "{missing_csv}"],
                                ["no column 'x2'", "columns: x1, z, label"]),
    "evaluate-beyond-float32": (["evaluate", "{model}", "{far_csv}"],
                                ["data row 2", "'x1'", "float32"]),
    "predict-beyond-float32": (["predict", "{model}", "{far_csv}"],
                               ["data row 2", "'x1'", "float32"]),
    "train-plots-without-out": (["train", "moons", "--plots"], ["--out"]),
    "train-out-is-a-file": (["train", "moons", "--out", "{good_csv}"], ["--out", "file"]),
    "train-out-over-the-data": (["train", "{good_csv}", "--out", "{linked}"],
                                ["input data", "history.json"]),
    "train-out-empty": (["train", "moons", "--out", ""], ["--out", "empty"]),
    "train-diverges": (["train", "moons", "--lr", "1e6", "--epochs", "3"],
                       ["diverged", "epoch 1", "batch", "--lr", "1e+06"]),
    # evaluate
    "evaluate-missing-model": (["evaluate", "{tmp}/none.safetensors", "moons"], ["not found"]),
    "evaluate-folder-as-model": (["evaluate", "{tmp}", "moons"], ["directory"]),
    "evaluate-damaged-model": (["evaluate", "{damaged_safetensors}", "moons"],
                               ["damaged.safetensors"]),
    "evaluate-csv-as-model": (["evaluate", "{good_csv}", "moons"], ["good.csv"]),
    "evaluate-wrong-width": (["evaluate", "{model}", "curve"], ["features"]),
    "evaluate-missing-data": (["evaluate", "{model}", "{tmp}/none.csv"], ["not found"]),
    "evaluate-model-as-data": (["evaluate", "{model}", "{model}"], ["unknown dataset"]),
    "evaluate-wrong-loss": (["evaluate", "{model}", "{good_csv}", "--loss", "mse"],
                            ["--loss mse", "contradicts", "cross_entropy"]),
    "evaluate-bad-seed": (["evaluate", "{model}", "moons", "--seed", "x"], ["--seed"]),
    # predict
    "predict-over-the-model": (["predict", "{model}", "{good_csv}", "--output", "{model}"],
                               ["model file"]),
    "predict-over-the-data": (["predict", "{model}", "{good_csv}", "--output", "{good_csv}"],
                              ["input data"]),
    "predict-over-a-link-to-the-model": (["predict", "{model}", "{good_csv}", "--output",
                                          "{model_link}"], ["model file"]),
    "predict-over-a-hard-link-to-the-data": (["predict", "{model}", "{good_csv}", "--output",
                                              "{data_hardlink}"], ["input data"]),
    "predict-output-is-a-folder": (["predict", "{model}", "{good_csv}", "--output", "{tmp}"],
                                   ["--output", "directory"]),
    "predict-output-folder-missing": (["predict", "{model}", "{good_csv}", "--output",
                                       "{tmp}/no/such/p.csv"], ["--output", "does not exist"]),
    "predict-output-empty": (["predict", "{model}", "moons", "--output", ""],
                             ["--output", "empty"]),
    "predict-output-under-a-file": (["predict", "{model}", "moons", "--output",
                                     "{model}/p.csv"], ["--output", "not a folder"]),
    "predict-loss-contradicts-the-file": (["predict", "{model}", "{good_csv}", "--loss",
                                           "bce"], ["--loss bce", "cross_entropy"]),
    "predict-proba-on-regression": (["predict", "{regression_model}", "curve", "--proba"],
                                    ["--proba", "regression"]),
    "predict-limit-zero": (["predict", "{model}", "moons", "--limit", "0"], ["--limit"]),
    "predict-limit-negative": (["predict", "{model}", "moons", "--limit", "-1"], ["--limit"]),
    "predict-wrong-width": (["predict", "{model}", "curve"], ["features"]),
    "predict-damaged-model": (["predict", "{damaged_safetensors}", "moons"],
                              ["damaged.safetensors"]),
    # datasets
    "datasets-extra-argument": (["datasets", "moons"], ["unrecognized", "moons"]),
    # gradcheck
    "gradcheck-one-width": (["gradcheck", "--widths", "3"], ["--widths", "got 3"]),
    "gradcheck-widths-and-layers": (["gradcheck", "--widths", "2,3,1", "--layers", "4"],
                                    ["--widths", "--layers"]),
    "gradcheck-empty-width": (["gradcheck", "--layers", "2,,1"], ["--layers"]),
    "gradcheck-unknown-activation": (["gradcheck", "--activation", "nope"], ["nope"]),
    "gradcheck-unknown-output": (["gradcheck", "--output", "nope"], ["nope"]),
    "gradcheck-unknown-output-activation": (["gradcheck", "--output-activation", "nope"],
                                            ["nope"]),
    "gradcheck-unknown-loss": (["gradcheck", "--loss", "hinge"], ["--loss"]),
    "gradcheck-samples-zero": (["gradcheck", "--samples", "0"], ["--samples"]),
    "gradcheck-samples-beyond-numpy": (["gradcheck", "--samples", str(10**25)],
                                       ["--samples", str(10**25)]),
    "gradcheck-max-entries-zero": (["gradcheck", "--max-entries", "0"], ["--max-entries"]),
    "gradcheck-missing-model": (["gradcheck", "--model", "{tmp}/none.safetensors"],
                                ["not found"]),
    "gradcheck-folder-as-model": (["gradcheck", "--model", "{tmp}"], ["directory"]),
    "gradcheck-damaged-model": (["gradcheck", "--model", "{damaged_safetensors}"],
                                ["damaged.safetensors"]),
    # bench (each fails before any timing starts)
    "bench-unknown-peer": (["bench", "--quick", "--peers", "mxnet"], ["--peers"]),
    "bench-empty-size": (["bench", "--quick", "--sizes", "32,,16"], ["--sizes"]),
    "bench-one-size": (["bench", "--quick", "--sizes", "5"], ["--sizes", "got 5"]),
    "bench-samples-zero": (["bench", "--quick", "--samples", "0"], ["--samples"]),
    "bench-unknown-backend": (["bench", "--backend", "tpu"], ["--backend"]),
    "bench-json-is-a-folder": (["bench", "--quick", "--json", "{tmp}"], ["--json"]),
    "bench-json-empty": (["bench", "--quick", "--json", ""], ["--json", "empty"]),
    "bench-json-and-markdown-one-file": (["bench", "--quick", "--json", "{tmp}/r.txt",
                                          "--markdown", "{tmp}/./r.txt"],
                                         ["--markdown", "--json", "r.txt"]),
    "bench-markdown-folder-missing": (["bench", "--quick", "--markdown", "{tmp}/no/t.md"],
                                      ["--markdown"]),
    # demo
    "demo-epochs-zero": (["demo", "--epochs", "0"], ["--epochs"]),
    "demo-epochs-word": (["demo", "--epochs", "two"], ["--epochs"]),
    # practice
    "practice-unknown-topic": (["practice", "backprop"], ["backprop"]),
    "practice-unknown-notation": (["practice", "dense", "--notation", "greek"],
                                  ["--notation"]),
    "practice-out-exists": (["practice", "dense", "--out", "{good_csv}"], ["good.csv"]),
    "practice-out-folder-missing": (["practice", "dense", "--out", "{tmp}/no/x.py"],
                                    ["x.py"]),
    # check
    "check-missing-file": (["check", "{tmp}/none.py"], ["none.py"]),
    "check-folder": (["check", "{tmp}"], ["inputs"]),
    "check-no-functions": (["check", "{empty_py}"], ["empty.py"]),
    "check-unknown-format": (["check", "{empty_py}", "--format", "xml"], ["--format"]),
    # explain
    "explain-empty-width": (["explain", "--layers", "2,,1"], ["--layers"]),
    "explain-unknown-activation": (["explain", "--activation", "nope"], ["--activation"]),
    "explain-unknown-loss": (["explain", "--loss", "hinge"], ["--loss"]),
    "explain-unknown-notation": (["explain", "--notation", "greek"], ["--notation"]),
    "explain-negative-seed": (["explain", "--seed", "-1"], ["--seed"]),
    "explain-unknown-format": (["explain", "--format", "pdf"], ["--format"]),
    "explain-samples-zero": (["explain", "--samples", "0"], ["--samples"]),
    "explain-sample-out-of-range": (["explain", "--sample", "9"], ["--sample"]),
    "explain-missing-model": (["explain", "--model", "{tmp}/none.safetensors"],
                              ["none.safetensors"]),
    "explain-folder-as-model": (["explain", "--model", "{tmp}"], ["inputs"]),
    "explain-damaged-model": (["explain", "--model", "{damaged_safetensors}"],
                              ["damaged.safetensors"]),
    # card
    "card-bad-width": (["card", "--layers", "2,x"], ["--layers"]),
    "card-one-width": (["card", "--widths", "3"], ["--widths", "got 3"]),
    "card-widths-and-inputs": (["card", "--widths", "3,1", "--inputs", "3"],
                               ["--widths", "--inputs"]),
    "card-output-contradicts": (["card", "--output", "tanh", "--output-activation", "sigmoid"],
                                ["--output", "--output-activation"]),
    "card-unknown-format": (["card", "--format", "pdf"], ["--format"]),
    "card-unknown-loss": (["card", "--loss", "hinge"], ["--loss"]),
    "playground-port-range": (["playground", "--port", "70000"], ["--port", "'70000'"]),
    "playground-bad-host": (["playground", "--host", "256.0.0.1", "--no-browser"],
                            ["cannot listen on 256.0.0.1:0"]),
    "card-unknown-notation": (["card", "--notation", "greek"], ["--notation"]),
    "export-missing-model": (["export", "{tmp}/nope.safetensors", "{tmp}/m.onnx"],
                             ["model file not found"]),
    "export-damaged-model": (["export", "{damaged_safetensors}", "{tmp}/m.onnx"],
                             ["cannot load model"]),
    "export-over-the-model": (["export", "{model}", "{model}"], ["the model file"]),
    "export-into-a-missing-folder": (["export", "{model}", "{tmp}/no/such/m.onnx"],
                                     ["does not exist"]),
    "export-opset-too-low": (["export", "{model}", "{tmp}/m.onnx", "--opset", "9"],
                             ["opset", "9"]),
    "train-resume-not-a-folder": (["train", "moons", "--resume", "{good_csv}"],
                                  ["--resume", "not a folder"]),
    "train-checkpoint-without-out": (["train", "moons", "--checkpoint-every", "2"],
                                     ["--checkpoint-every needs --out"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_user_error_is_one_line_and_exit_code_2(case, files, capsys):
    template, words = CASES[case]
    argv = [part.format(**files) for part in template]
    if argv[0] == "train":
        argv.append("--quiet")
    try:
        code = main(argv)
    except SystemExit as exit_:                    # argparse ends bad flags this way
        code = exit_.code
    captured = capsys.readouterr()
    assert code == 2, (code, captured.err)
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("deltaprop"), lines[0]
    assert not re.search(r"PosixPath\(|<class |array\(|dtype\(|Error\(|\[Errno", lines[0]), \
        lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_the_table_covers_every_subcommand():
    from deltaprop.cli import SUBCOMMANDS

    covered = {argv[0] for argv, _ in CASES.values()}
    assert covered == set(SUBCOMMANDS)


def test_a_diverging_run_writes_nothing(files, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "moons", "--lr", "1e6", "--out", str(out), "--quiet"]) == 2
    assert "nothing was saved" in capsys.readouterr().err
    assert not (out / "model.safetensors").exists()


def test_a_nan_validation_loss_writes_nothing_and_warns_nothing(files, tmp_path, capsys):
    """Adam with lr 1e30 keeps the weights finite (huge), so fit's step guard lets them
    pass, but the validation loss overflows to NaN: a divergence, not a saved model."""
    out = tmp_path / "run"
    assert main(["train", files["good_csv"], "--layers", "3", "--epochs", "1", "--optimizer",
                 "adam", "--lr", "1e30", "--out", str(out), "--quiet"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()     # no overflow warnings
    assert "val_loss became nan" in line
    assert list(out.iterdir()) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_an_unreadable_data_file_is_one_line(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = tmp_path / "secret.csv"
    path.write_text("a,b\n1,2\n")
    path.chmod(0)
    assert main(["train", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "secret.csv" in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("name, argv", [
    ("data.csv", ["train", "{fifo}", "--quiet"]),
    pytest.param("model.safetensors", ["predict", "{fifo}", "moons"],
                 marks=pytest.mark.slow),
    pytest.param("model.safetensors", ["gradcheck", "--model", "{fifo}"],
                 marks=pytest.mark.slow),
])
@pytest.mark.slow
def test_a_fifo_is_refused_without_opening_it(tmp_path, name, argv):
    """Opening a FIFO for reading blocks until a writer comes: it must be refused before
    (a subprocess, so that a regression fails on the timeout instead of hanging the tests)."""
    fifo = tmp_path / name
    os.mkfifo(fifo)
    command = [sys.executable, "-m", "deltaprop", *(a.format(fifo=fifo) for a in argv)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30,
                            env=_child_env())
    assert result.returncode == 2, result.stderr
    assert "not a regular file" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _child_env() -> dict[str, str]:
    """The environment of a child ``python -m deltaprop``: this deltaprop on its path."""
    import deltaprop

    source = os.path.dirname(os.path.dirname(deltaprop.__file__))
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [source, *filter(None, [os.environ.get("PYTHONPATH")])])}


def test_a_numeric_header_is_one_warning_line_and_training_goes_on(tmp_path, capsys):
    path = tmp_path / "noheader.csv"
    rows = ["0.5,2.5,1"] + [f"{i % 7},{(i * 3) % 5},{i % 2}" for i in range(39)]
    path.write_text("\n".join(rows) + "\n")
    assert main(["train", str(path), "--layers", "4", "--epochs", "1", "--quiet"]) == 0
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("deltaprop train: warning: ") and "line 1" in line
    assert "read as the header" in line and "Traceback" not in captured.err
    assert "39 rows" in captured.out                       # the first row became the header


@pytest.mark.parametrize("text", ["32,,16", ",32", "32,", "", " ", ",", "0", "-3", "3,0",
                                  "a", "1.5", "32;16", "32 ,, 16"])
def test_int_list_refuses_empty_zero_and_non_integer_widths(text):
    import argparse

    from deltaprop.cli._common import int_list

    with pytest.raises(argparse.ArgumentTypeError, match=repr(text).replace("(", r"\(")):
        int_list(text)


@pytest.mark.parametrize("text, widths", [("64", [64]), ("64,32", [64, 32]),
                                          (" 64 , 32 ", [64, 32]), ("32 128", [32, 128])])
def test_int_list_reads_widths(text, widths):
    from deltaprop.cli._common import int_list

    assert int_list(text) == widths


@pytest.mark.parametrize("flag", ["--epochs", "--batch-size", "--early-stopping"])
def test_a_huge_whole_number_is_a_number_not_a_parse_error(flag):
    """``np.isfinite`` cannot take an int beyond 64 bits: argparse then said 'invalid parse
    value'.  A whole number is finite however large (Ctrl-C ends such a run)."""
    from deltaprop.cli import build_parser

    args = build_parser().parse_args(["train", "moons", flag, str(10**20)])
    assert getattr(args, flag[2:].replace("-", "_")) == 10**20


def test_a_nan_validation_loss_stops_training_at_that_epoch(files, capsys, monkeypatch):
    """The first epoch that logs NaN ends the run (was: every remaining epoch ran first)."""
    from deltaprop.training import evaluation

    real_scores = evaluation.scores

    def scores(*args):                                # the validation loss of epoch 2 is NaN
        values = real_scores(*args)
        calls["n"] += 1
        return values | {"loss": float("nan")} if calls["n"] == 2 else values

    calls = {"n": 0}
    monkeypatch.setattr(evaluation, "scores", scores)
    assert main(["train", files["good_csv"], "--layers", "3", "--epochs", "20"]) == 2
    err = capsys.readouterr().err
    assert "epoch 1/20" in err and "epoch 3/20" not in err   # fit raised within epoch 2
    assert err.strip().splitlines()[-1].endswith(
        "training diverged (val_loss became nan at epoch 2); nothing was saved; try a "
        "smaller --lr than 0.05")
