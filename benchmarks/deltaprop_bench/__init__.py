r"""The speed harness: deltaprop against PyTorch eager, scikit-learn and the matmul floor.

``run_benchmark(config)`` measures, in this process and with the BLAS it loaded:

- training: for each batch size, one epoch of the same network on the same data with each
  peer, interleaved (peer order rotates every repetition), several repetitions, medians;
  the matrix-product floor of the same epoch; seconds, samples/s, GFLOP/s, fraction of the
  floor, ratios to the peers, peak memory;
- inference over every sample (``deltaprop.predict`` versus PyTorch ``no_grad``);
- optionally (``scaling``) epoch time against batch size and hidden width, next to the
  number of matrix products and their FLOPs.

``backend`` other than ``"numpy"`` (``backends.py``) runs deltaprop, PyTorch and the floor on
PyTorch tensors (CPU or CUDA) or CuPy arrays instead; ``profile`` (``profile.py``) splits
deltaprop's training step into its phases instead of comparing peers.

``run_settings`` repeats it in child processes with ``OPENBLAS_CORETYPE`` and
``OPENBLAS_L2_SIZE`` unset (the variables only act when the BLAS is loaded).  The command line
is ``deltaprop bench`` (``benchmarks/bench.py``); ``report.py`` writes the Markdown.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from . import memory, runners
from .report import blas_info, machine_info, to_markdown

BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

__all__ = ["BLAS_VARIABLES", "BenchConfig", "run_benchmark", "run_settings", "to_markdown"]


@dataclass
class BenchConfig:
    """What to measure (the defaults are the full benchmark of benchmarks/RESULTS.md)."""

    samples: int = 60000
    sizes: list[int] = field(default_factory=lambda: [784, 256, 128, 10])
    batch_sizes: list[int] = field(default_factory=lambda: [32, 128, 512])
    epochs: int = 1                    # epochs per timed run
    reps: int = 3                      # timed runs per peer and batch size (median)
    peers: list[str] = field(default_factory=lambda: ["deltaprop", "deltaprop-ref", "torch",
                                                      "sklearn", "jax", "jax-scan"])
    inference: bool = True
    memory: bool = True                # one extra untimed epoch per NumPy peer under tracemalloc
    memmap: bool = True                # one deltaprop epoch from an np.memmap (peak vs data size)
    rss: bool = True                   # per peer and batch: ru_maxrss growth in a fresh child
    scaling: bool = False
    scaling_samples: int = 10000
    scaling_batches: list[int] = field(default_factory=lambda: [32, 128, 512, 2048])
    scaling_widths: list[int] = field(default_factory=lambda: [256, 1024, 4096])
    seed: int = 0
    backend: str = "numpy"             # numpy, torch-cpu, torch-cuda or cupy (backends.py)
    compare: bool = True               # the peer comparison (training rows, inference, memory)
    profile: bool = False              # deltaprop's step split into phases (profile.py)
    compile_time: bool = False         # numba's first-run compile time (fresh processes)
    settle: float = 0.5                # seconds of pause before every timed run: BLAS and
                                       # OpenMP worker threads stop spinning first


def _training_row(problem, batch: int, peers: list[str], cfg: BenchConfig) -> dict[str, Any]:
    runs: dict[str, list[float]] = {name: [] for name in [*peers, "floor"]}
    order = [*peers, "floor"]
    for rep in range(cfg.reps):
        shift = rep % len(order)
        for name in order[shift:] + order[:shift]:       # rotate: no peer always runs first
            time.sleep(cfg.settle)                       # the previous peer's threads settle
            if name == "floor":
                runs[name] += [runners.floor_epoch(problem, batch) for _ in range(cfg.epochs)]
            else:
                runs[name] += runners.TRAINERS[name](problem, batch, cfg.epochs)
    n = problem.X.shape[0]
    flops = runners.matmul_flops(n, problem.sizes)
    floor = runners.median(runs["floor"])
    row: dict[str, Any] = {"batch_size": batch, "samples": n, "matmul_flops": flops,
                           "matmuls_per_epoch": runners.matmuls_per_epoch(n, batch,
                                                                          problem.sizes),
                           "peers": {}}
    for name, seconds in runs.items():
        s = runners.median(seconds)
        row["peers"][name] = {"seconds_per_epoch": s, "runs": seconds,
                              "samples_per_s": n / s, "gflops": flops / s / 1e9,
                              "fraction_of_floor": s / floor}
    if cfg.memory:
        for name in peers:
            entry = row["peers"][name]
            if name in runners.NUMPY_PEERS:
                peak = memory.traced_peak(runners.TRAINERS[name], problem, batch, 1)
                entry.update(peak_memory_bytes=peak, memory_method="tracemalloc peak of NumPy "
                             "allocations during one epoch's training call (the peer's input "
                             "checks included), the data set excluded")
            else:
                entry.update(peak_memory_bytes=None, memory_method="not measured: tracemalloc "
                             "does not see PyTorch's allocator")
    if cfg.rss:
        for name in peers:
            row["peers"][name]["rss_growth_bytes"] = memory.rss_growth(name, problem, batch)
    row["ratios"] = _ratios({name: entry["seconds_per_epoch"]
                             for name, entry in row["peers"].items()})
    return row


def _ratios(seconds: dict[str, float]) -> dict[str, float]:
    """deltaprop / torch, deltaprop / floor, sklearn / deltaprop (those that were measured)."""
    ratios = {}
    if "deltaprop" in seconds:
        mine = seconds["deltaprop"]
        for name, value in seconds.items():
            if name == "deltaprop":
                continue
            if name == "sklearn":
                ratios["sklearn/deltaprop"] = value / mine
            else:
                ratios[f"deltaprop/{name}"] = mine / value
    return ratios


def _inference(problem, peers: list[str], cfg: BenchConfig) -> dict[str, Any]:
    names = [name for name in peers if name in runners.PREDICTORS] + ["floor"]
    runs: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(cfg.reps):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            time.sleep(cfg.settle)
            run = runners.floor_inference if name == "floor" else runners.PREDICTORS[name]
            runs[name].append(run(problem))
    n = problem.X.shape[0]
    flops = runners.matmul_flops(n, problem.sizes, training=False)
    result = {"samples": n, "matmul_flops": flops, "peers": {}}
    for name, seconds in runs.items():
        s = runners.median(seconds)
        result["peers"][name] = {"seconds": s, "runs": seconds, "samples_per_s": n / s,
                                 "gflops": flops / s / 1e9}
    result["ratios"] = _ratios({name: entry["seconds"] for name, entry in
                                result["peers"].items()})
    return result


def _scaling(cfg: BenchConfig) -> dict[str, Any]:
    """deltaprop and the floor against batch size, and against the hidden width w of a
    ``in-w-w/2-out`` network, on ``scaling_samples`` rows (one epoch each, median of reps)."""
    def measure(problem, batch):
        dp = [s for _ in range(cfg.reps) for s in runners.deltaprop_epochs(problem, batch, 1)]
        fl = [runners.floor_epoch(problem, batch) for _ in range(cfg.reps)]
        n = problem.X.shape[0]
        return {"batch_size": batch, "sizes": problem.sizes,
                "matmuls_per_epoch": runners.matmuls_per_epoch(n, batch, problem.sizes),
                "matmul_flops": runners.matmul_flops(n, problem.sizes),
                "deltaprop_s": runners.median(dp), "floor_s": runners.median(fl),
                "fraction_of_floor": runners.median(dp) / runners.median(fl)}

    def make(sizes):                                   # on the backend's device, if any
        problem = runners.make_problem(cfg.scaling_samples, sizes, seed=cfg.seed)
        if cfg.backend != "numpy":
            from . import backends

            problem.device = backends.device_data(backends.get_backend(cfg.backend),
                                                  problem.X, problem.y, None)
        return problem

    base = make(cfg.sizes)
    by_batch = [measure(base, batch) for batch in cfg.scaling_batches]
    by_width = []
    for width in cfg.scaling_widths:
        by_width.append(measure(make([cfg.sizes[0], width, max(1, width // 2),
                                      cfg.sizes[-1]]), 128))
    return {"samples": cfg.scaling_samples, "by_batch": by_batch, "by_width": by_width}


def _warm_up(problem, peers: list[str], batch: int) -> None:
    """One untimed run of each peer on a few batches: lazy imports, first-call costs."""
    small = problem.head(min(problem.X.shape[0], 4 * batch))
    for name in peers:
        runners.TRAINERS[name](small, batch, 1)
        if name in runners.PREDICTORS:
            runners.PREDICTORS[name](small)
    runners.floor_epoch(small, batch)


def _on_device(cfg: BenchConfig, problem, peers: list[str], missing: dict[str, str]):
    """Move the problem to ``cfg.backend``'s device; drop the peers and measurements that
    cannot run there (recorded in ``missing`` and the returned ``skipped``)."""
    from . import backends

    backend = backends.get_backend(cfg.backend)          # BackendUnavailableError if absent
    for name in ("sklearn", "deltaprop-ref", "jax", "jax-scan"):
        if name in peers:
            peers.remove(name)
            missing[name] = (f"{name} runs on the CPU with NumPy data only: no peer for "
                             f"--backend {cfg.backend}")
    torch_device = None
    if "torch" in peers:
        torch_device, why_not = backends.torch_peer_device(backend)
        if torch_device is None:
            peers.remove("torch")
            missing["torch"] = why_not
    problem.device = backends.device_data(backend, problem.X, problem.y, torch_device)
    reasons = {"memory": "tracemalloc sees NumPy allocations only",
               "rss": "the fresh-process RSS runs are NumPy-backend only",
               "memmap": "an np.memmap is host memory: NumPy backend only"}
    skipped = {name: f"{why} (--backend {cfg.backend})" for name, why in reasons.items()
               if getattr(cfg, name)}
    cfg = replace(cfg, memory=False, rss=False, memmap=False)
    return cfg, {"name": cfg.backend, "device": backend.device_name(),
                 "arrays": backends.array_description(problem.device.X)}, skipped


def run_benchmark(config: BenchConfig | None = None) -> dict[str, Any]:
    """Every measurement of ``config`` in this process, as one JSON-ready dict."""
    cfg = config or BenchConfig()
    peers, missing = runners.available_peers(cfg.peers)
    problem = runners.make_problem(cfg.samples, cfg.sizes, seed=cfg.seed)
    backend, skipped = {"name": "numpy", "device": "cpu"}, {}
    if cfg.backend != "numpy":
        if cfg.profile:
            raise ValueError(f"profile runs on the NumPy backend only, got backend "
                             f"{cfg.backend!r}")
        cfg, backend, skipped = _on_device(cfg, problem, peers, missing)
    if "torch" in peers:
        import torch  # noqa: F401 - loads its BLAS/OpenMP now, so threadpoolctl lists them

    if cfg.compare:
        _warm_up(problem, peers, min(cfg.batch_sizes))
    result: dict[str, Any] = {
        "env": {name: os.environ.get(name) for name in BLAS_VARIABLES},
        "blas": blas_info(), "backend": backend, "peers": peers, "missing_peers": missing,
        "kernels": kernels_info(), "settle_seconds": cfg.settle}
    if cfg.compare and any(name.startswith("jax") for name in peers):
        from .peers_extra import check_jax

        result["jax_check"] = check_jax(problem, min(cfg.batch_sizes))
    if skipped:
        result["skipped"] = skipped
    if cfg.profile:
        from .profile import run_profile

        result["profile"] = run_profile(problem, cfg.batch_sizes, cfg.reps)
    if cfg.compare:
        result["training"] = [_training_row(problem, batch, peers, cfg)
                              for batch in cfg.batch_sizes]
        if cfg.inference:
            result["inference"] = _inference(problem, peers, cfg)
        if cfg.memmap and "deltaprop" in peers:
            with tempfile.TemporaryDirectory() as folder:
                result["memmap"] = memory.memmap_epoch(problem, max(cfg.batch_sizes), folder)
    if cfg.scaling:
        result["scaling"] = _scaling(cfg)
    return result


def run_settings(config: BenchConfig, blas_env: str = "default",
                 command: str = "") -> dict[str, Any]:
    """Run the benchmark as this machine sets the BLAS variables (``"default"``, in this
    process), with them unset (``"unset"``, in a child process), or ``"both"``."""
    if blas_env not in ("default", "unset", "both"):
        raise ValueError(f"blas_env must be 'default', 'unset' or 'both', got {blas_env!r}")
    if blas_env != "default" and config.backend != "numpy":
        raise ValueError(f"blas_env {blas_env!r} re-runs NumPy's BLAS in a child process: "
                         f"only with backend 'numpy', got {config.backend!r}")
    settings = {}
    if blas_env in ("default", "both"):
        settings["default"] = run_benchmark(config)
    if blas_env in ("unset", "both"):
        settings["unset"] = _run_child(config, unset=BLAS_VARIABLES)
    return {"meta": {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(
                         timespec="seconds"),
                     "command": command, "config": asdict(config), "machine": machine_info(),
                     "backend": _backend_meta(settings),
                     "kernel_compile_seconds": compile_seconds() if config.compile_time else None,
                     "load_average_at_end": _load_average()},
            "settings": settings}


def kernels_info() -> dict[str, Any]:
    """Which path deltaprop's engine takes here: numba's version, the global mode and the
    kernels' thread count (``NUMBA_NUM_THREADS``, else the BLAS pool's size)."""
    from deltaprop.nn import fused

    kernels = fused.load_kernels()
    if kernels is None:
        return {"numba": None, "path": "NumPy reference (numba not importable)"}
    import numba

    return {"numba": numba.__version__, "mode": fused.get_fused(),
            "threads": fused.kernel_threads(),
            "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS"),
            "path": "fused kernels" if fused.get_fused() is not False else "NumPy reference"}


def compile_seconds() -> dict[str, float] | None:
    """Seconds ``deltaprop.nn.fused.compile_kernels()`` takes in a fresh Python with an empty
    numba cache (a new machine's first run), then again from that cache; None without numba."""
    from deltaprop.nn import fused

    if fused.load_kernels() is None:
        return None
    code = "from deltaprop.nn.fused import compile_kernels; print(compile_kernels())"
    times = {}
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, NUMBA_CACHE_DIR=folder,
                   PYTHONPATH=child_path(os.environ.get("PYTHONPATH")))
        for label in ("first_run", "from_cache"):
            done = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                  capture_output=True, text=True)
            times[label] = float(done.stdout.strip().splitlines()[-1])
    return times


def _backend_meta(settings: dict[str, Any]) -> dict[str, str]:
    """The backend and device that ran (the same in every setting)."""
    first = next(iter(settings.values()), {})
    return first.get("backend", {"name": "numpy", "device": "cpu"})


def child_path(inherited: str | None) -> str:
    """``PYTHONPATH`` for a child Python: this harness's folder (``benchmarks/``), then the
    checkout's ``src/`` (a clone that was not installed), then what the parent had."""
    harness = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    source = os.path.join(os.path.dirname(harness), "src")
    return os.pathsep.join(filter(None, [harness, source, inherited]))


def _run_child(config: BenchConfig, unset: tuple[str, ...]) -> dict[str, Any]:
    """``run_benchmark`` in a fresh Python whose environment lacks ``unset``."""
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env["PYTHONPATH"] = child_path(env.get("PYTHONPATH"))
    with tempfile.TemporaryDirectory() as folder:
        config_path = os.path.join(folder, "config.json")
        out_path = os.path.join(folder, "result.json")
        with open(config_path, "w", encoding="utf-8") as handle:
            json.dump(asdict(config), handle)
        code = ("import json, sys; from deltaprop_bench import BenchConfig, run_benchmark; "
                "cfg = BenchConfig(**json.load(open(sys.argv[1]))); "
                "json.dump(run_benchmark(cfg), open(sys.argv[2], 'w'))")
        subprocess.run([sys.executable, "-c", code, config_path, out_path], env=env,
                       check=True)
        with open(out_path, encoding="utf-8") as handle:
            return json.load(handle)


def _load_average() -> list[float] | None:
    try:
        return list(os.getloadavg())
    except OSError:
        return None
