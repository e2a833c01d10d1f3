"""The speed harness runs on tiny sizes and writes every field (no timing assertions)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from deltaprop.cli import main

HARNESS = str(Path(__file__).resolve().parents[1] / "benchmarks")   # not installed: a folder
if HARNESS not in sys.path:
    sys.path.insert(0, HARNESS)
from deltaprop_bench import (  # noqa: E402
    BenchConfig,
    memory,
    run_benchmark,
    run_settings,
    runners,
    to_markdown,
)

TINY = {"samples": 96, "sizes": [12, 8, 6, 3], "batch_sizes": [32], "reps": 1}


def test_matmul_flops_count_eight_products_of_a_three_layer_network():
    # forward + weight gradients: 2 x (4·3 + 3·2) each; input gradients skip layer 1: 3·2
    # per row: 2·(12 + 6) + 2·(12 + 6) + 2·6 = 84, times 10 rows
    assert runners.matmul_flops(10, [4, 3, 2]) == 10 * (2 * 18 + 2 * 18 + 2 * 6)
    assert runners.matmul_flops(10, [4, 3, 2], training=False) == 10 * 2 * 18
    assert runners.matmuls_per_epoch(100, 32, [784, 256, 128, 10]) == 4 * 8
    assert runners.batch_sizes_of_epoch(100, 32) == [32, 32, 32, 4]


@pytest.mark.slow
def test_cli_quick_writes_json_and_markdown(tmp_path, capsys):
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    code = main(["bench", "--quick", "--peers", "deltaprop,sklearn", "--json", str(out_json),
                 "--markdown", str(out_md), "--reps", "1", "--batch-sizes", "32"])
    capsys.readouterr()
    assert code == 0
    data = json.loads(out_json.read_text())
    assert {"date", "command", "config", "machine"} <= set(data["meta"])
    setting = data["settings"]["default"]
    assert {"env", "blas", "peers", "training", "inference"} <= set(setting)
    assert any(lib.get("internal_api") for lib in setting["blas"])
    row = setting["training"][0]
    assert row["batch_size"] == 32 and row["matmul_flops"] > 0
    for name in ("deltaprop", "sklearn", "floor"):
        entry = row["peers"][name]
        for field in ("seconds_per_epoch", "samples_per_s", "gflops", "fraction_of_floor"):
            assert np.isfinite(entry[field]) and entry[field] > 0, (name, field)
    assert row["peers"]["deltaprop"]["peak_memory_bytes"] >= 0
    assert {"sklearn/deltaprop", "deltaprop/floor"} <= set(row["ratios"])
    assert {"deltaprop", "floor"} <= set(setting["inference"]["peers"])
    memmap = setting["memmap"]
    assert memmap["data_bytes"] == 512 * 20 * 4 and memmap["peak_bytes"] > 0
    markdown = out_md.read_text()
    assert "| batch | peer | s/epoch |" in markdown and "Inference over" in markdown
    assert "np.memmap" in markdown


@pytest.mark.slow
def test_unset_blas_env_runs_in_a_child_without_the_variables(monkeypatch):
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "512")
    config = BenchConfig(**TINY, peers=["deltaprop"], inference=False, memory=False,
                         memmap=False)
    data = run_settings(config, "unset")
    assert set(data["settings"]) == {"unset"}
    assert data["settings"]["unset"]["env"] == {"OPENBLAS_CORETYPE": None,
                                                "OPENBLAS_L2_SIZE": None}


@pytest.mark.slow
def test_scaling_rows_follow_the_matmul_count():
    config = BenchConfig(**TINY, peers=["deltaprop"], inference=False, memory=False,
                         memmap=False, scaling=True, scaling_samples=64, scaling_batches=[16, 32],
                         scaling_widths=[4, 8])
    result = run_benchmark(config)
    by_batch, by_width = result["scaling"]["by_batch"], result["scaling"]["by_width"]
    assert [row["matmuls_per_epoch"] for row in by_batch] == [4 * 8, 2 * 8]
    assert [row["sizes"] for row in by_width] == [[12, 4, 2, 3], [12, 8, 4, 3]]
    assert by_width[0]["matmul_flops"] < by_width[1]["matmul_flops"]
    text = to_markdown({"meta": {"date": "d", "command": "c", "config": vars(config),
                                 "machine": {}}, "settings": {"default": result}})
    assert "How cost grows" in text


@pytest.mark.slow
def test_torch_peer_starts_from_deltaprops_weights():
    torch = pytest.importorskip("torch")
    problem = runners.make_problem(64, [12, 8, 3])
    model = runners.torch_model(problem)
    expected = runners.deltaprop_model(problem).state_dict()
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), expected[key])
    assert isinstance(model[0], torch.nn.Linear)
    seconds = runners.torch_epochs(problem, 32, 1)
    assert len(seconds) == 1 and seconds[0] > 0


def test_bad_flags_are_cli_errors(capsys):
    assert main(["bench", "--quick", "--peers", "mxnet"]) == 2
    assert "--peers" in capsys.readouterr().err


@pytest.mark.slow
def test_rss_growth_runs_one_epoch_in_a_fresh_process():
    pytest.importorskip("resource")
    problem = runners.make_problem(64, [12, 8, 3])
    growth = memory.rss_growth("deltaprop", problem, 32)
    assert isinstance(growth, int) and growth >= 0


@pytest.mark.slow
def test_torch_cpu_backend_trains_deltaprop_on_torch_tensors(monkeypatch):
    torch = pytest.importorskip("torch")
    import deltaprop

    seen = []
    real_fit, real_predict = deltaprop.fit, deltaprop.predict

    def recording_fit(model, X, y, **kwargs):
        seen.append(("fit", type(X), type(y), type(model[0].params["weight"])))
        return real_fit(model, X, y, **kwargs)

    def recording_predict(model, X, **kwargs):
        seen.append(("predict", type(X), type(model[0].params["weight"])))
        return real_predict(model, X, **kwargs)

    monkeypatch.setattr(deltaprop, "fit", recording_fit)
    monkeypatch.setattr(deltaprop, "predict", recording_predict)
    config = BenchConfig(**TINY, backend="torch-cpu")
    data = run_settings(config, "default")
    assert data["meta"]["backend"]["name"] == "torch-cpu"
    setting = data["settings"]["default"]
    assert setting["backend"]["arrays"].startswith("torch.Tensor")
    assert setting["peers"] == ["deltaprop", "torch"]
    assert "CPU" in setting["missing_peers"]["sklearn"]
    assert {"memory", "rss", "memmap"} == set(setting["skipped"])
    row = setting["training"][0]
    assert set(row["peers"]) == {"deltaprop", "torch", "floor"}
    assert {"deltaprop/torch", "deltaprop/floor"} == set(row["ratios"])
    assert "peak_memory_bytes" not in row["peers"]["deltaprop"]
    assert {"deltaprop/torch", "deltaprop/floor"} == set(setting["inference"]["ratios"])
    assert seen and all(all(kind is torch.Tensor for kind in call[1:]) for call in seen)
    assert {call[0] for call in seen} == {"fit", "predict"}
    markdown = to_markdown(data)
    assert "backend: torch-cpu" in markdown and "| batch | peer | s/epoch |" in markdown
    assert "tracemalloc) |" not in markdown


def test_missing_gpu_or_library_is_a_one_line_cli_error(monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["bench", "--quick", "--backend", "torch-cuda"]) == 2
    assert "torch.cuda.is_available() is False" in capsys.readouterr().err
    monkeypatch.setitem(__import__("sys").modules, "cupy", None)   # import cupy fails
    assert main(["bench", "--quick", "--backend", "cupy"]) == 2
    assert "needs CuPy" in capsys.readouterr().err
    assert main(["bench", "--quick", "--backend", "torch-cpu", "--blas-env", "both"]) == 2
    assert "--blas-env both" in capsys.readouterr().err
    assert main(["bench", "--quick", "--backend", "torch-cpu", "--profile"]) == 2
    assert "--profile" in capsys.readouterr().err


def test_gpu_backends_default_to_the_gpu_batch_sizes():
    from deltaprop.cli import build_parser
    from deltaprop.cli.bench import config_from_args

    def batches(*flags):
        return config_from_args(build_parser().parse_args(["bench", *flags])).batch_sizes

    assert batches("--backend", "cupy") == [512, 1024, 2048, 4096, 8192]
    assert batches("--backend", "torch-cuda", "--batch-sizes", "64") == [64]
    assert batches("--backend", "torch-cpu") == [32, 128, 512]
    assert batches() == [32, 128, 512]


def test_profile_splits_the_step_into_phases(tmp_path, capsys):
    out_json = tmp_path / "profile.json"
    assert main(["bench", "--profile", "--quick", "--json", str(out_json)]) == 0
    markdown = capsys.readouterr().out
    setting = json.loads(out_json.read_text())["settings"]["default"]
    assert "training" not in setting                   # --profile replaces the comparison
    rows = setting["profile"]
    assert [row["batch_size"] for row in rows] == [32, 128]
    for row in rows:
        assert row["steps"] == len(runners.batch_sizes_of_epoch(512, row["batch_size"]))
        for loop in ("engine", "hand"):
            phases = [row[loop][name] for name in ("gather", "forward", "loss", "backward",
                                                   "step")]
            assert min(phases) > 0, (loop, phases)
            # the phases are disjoint parts of the epoch: their sum cannot pass the total,
            # and the rest (permutation, timer calls) is small
            assert 0.5 * row[loop]["total"] <= sum(phases) <= row[loop]["total"], loop
        assert row["products"]["forward"] > 0 and row["products"]["backward"] > 0
        assert row["fit_total"] > 0
        # the hand-written loop computes the same training run as the engine (same rows,
        # same initial weights): the mean loss of every timed epoch agrees
        assert len(row["engine"]["mean_losses"]) == 2                 # --quick: 2 reps
        np.testing.assert_allclose(row["hand"]["mean_losses"], row["engine"]["mean_losses"],
                                   rtol=1e-4)
        assert row["engine"]["total"] in row["engine"]["totals"]
    assert "hand-written NumPy loop" in markdown and "matrix products only" in markdown


@pytest.mark.slow
def test_a_gpu_backend_synchronises_and_records_its_device(monkeypatch):
    # no GPU here: a "torch-cuda" backend whose tensors live on the CPU, with the CUDA calls
    # it makes replaced, exercises the GPU-only branches (synchronise, device name, table)
    torch = pytest.importorskip("torch")
    from deltaprop_bench import backends

    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: calls.append("sync"))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Fake GPU")
    monkeypatch.setattr(backends, "get_backend",
                        lambda name: backends.Backend("torch-cuda", torch, "cpu"))
    config = BenchConfig(**TINY, backend="torch-cuda", peers=["deltaprop"])
    data = run_settings(config, "default")
    setting = data["settings"]["default"]
    assert data["meta"]["backend"]["device"] == "Fake GPU"
    assert setting["backend"]["arrays"].startswith("torch.Tensor")
    # warm-up, training and inference: deltaprop's epoch, predict and the floor each wait
    # for the device at both ends of their timed region
    assert len(calls) >= 2 * 6
    assert "backend: torch-cuda on Fake GPU" in to_markdown(data)


def test_without_a_source_checkout_bench_is_one_clear_line(monkeypatch, tmp_path, capsys):
    from deltaprop.cli import bench

    monkeypatch.setitem(sys.modules, "deltaprop_bench", None)       # not importable ...
    monkeypatch.setattr(bench, "HARNESS_FOLDER", tmp_path)           # ... nor in a checkout
    assert main(["bench", "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "python benchmarks/bench.py" in err, err


def test_a_peer_whose_library_is_missing_is_skipped_with_a_note(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "jax" else real(name, *args))
    peers, missing = runners.available_peers(["deltaprop", "jax", "jax-scan", "deltaprop-ref"])
    assert peers == ["deltaprop", "deltaprop-ref"]
    assert missing == {"jax": "jax is not installed: skipped",
                       "jax-scan": "jax is not installed: skipped"}


def test_every_timed_run_waits_for_the_threads_to_settle(monkeypatch):
    import deltaprop_bench

    pauses = []
    monkeypatch.setattr(deltaprop_bench.time, "sleep", pauses.append)
    config = BenchConfig(**TINY, peers=["deltaprop", "deltaprop-ref"], memory=False,
                         rss=False, settle=0.25)
    problem = runners.make_problem(config.samples, config.sizes)
    row = deltaprop_bench._training_row(problem, 32, ["deltaprop", "deltaprop-ref"], config)
    assert pauses == [0.25] * 3                        # deltaprop, its reference path, floor
    assert "deltaprop/deltaprop-ref" in row["ratios"]


@pytest.mark.slow
def test_jax_peers_train_the_same_network_to_the_same_loss():
    pytest.importorskip("jax")
    from deltaprop_bench import peers_extra

    problem = runners.make_problem(200, [12, 8, 6, 3])
    check = peers_extra.check_jax(problem, 32, steps=4)
    assert check["jax_max_abs_difference"] < 1e-5
    assert check["jax_scan_max_abs_difference"] < 1e-5
    for scan in (False, True):
        seconds = peers_extra.jax_epochs(problem, 32, 2, scan=scan)
        assert len(seconds) == 2 and all(s > 0 for s in seconds)
