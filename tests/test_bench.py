"""The speed harness runs on tiny sizes and writes every field (no timing assertions)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deltaprop.bench import BenchConfig, run_benchmark, run_settings, runners, to_markdown
from deltaprop.cli import main

TINY = {"samples": 96, "sizes": [12, 8, 6, 3], "batch_sizes": [32], "reps": 1}


def test_matmul_flops_count_eight_products_of_a_three_layer_network():
    # forward + weight gradients: 2 x (4·3 + 3·2) each; input gradients skip layer 1: 3·2
    # per row: 2·(12 + 6) + 2·(12 + 6) + 2·6 = 84, times 10 rows
    assert runners.matmul_flops(10, [4, 3, 2]) == 10 * (2 * 18 + 2 * 18 + 2 * 6)
    assert runners.matmul_flops(10, [4, 3, 2], training=False) == 10 * 2 * 18
    assert runners.matmuls_per_epoch(100, 32, [784, 256, 128, 10]) == 4 * 8
    assert runners.batch_sizes_of_epoch(100, 32) == [32, 32, 32, 4]


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


def test_unset_blas_env_runs_in_a_child_without_the_variables(monkeypatch):
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "512")
    config = BenchConfig(**TINY, peers=["deltaprop"], inference=False, memory=False,
                         memmap=False)
    data = run_settings(config, "unset")
    assert set(data["settings"]) == {"unset"}
    assert data["settings"]["unset"]["env"] == {"OPENBLAS_CORETYPE": None,
                                                "OPENBLAS_L2_SIZE": None}


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
    assert main(["bench", "--quick", "--peers", "jax"]) == 2
    assert "--peers" in capsys.readouterr().err


def test_rss_growth_runs_one_epoch_in_a_fresh_process():
    pytest.importorskip("resource")
    problem = runners.make_problem(64, [12, 8, 3])
    growth = runners.rss_growth("deltaprop", problem, 32)
    assert isinstance(growth, int) and growth >= 0
