"""What ran (BLAS, kernel, machine) and the Markdown tables of a benchmark result."""

from __future__ import annotations

import os
import platform
import subprocess
from typing import Any

_PEER_NAMES = {"deltaprop": "deltaprop", "deltaprop-ref": "deltaprop, NumPy reference path",
               "torch": "PyTorch eager", "sklearn": "scikit-learn MLPClassifier (float32)",
               "jax": "JAX jit step, Python loop", "jax-scan": "JAX jit of lax.scan epoch",
               "floor": "matmul floor (products only)"}


def blas_info() -> list[dict[str, Any]]:
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries (needs ``threadpoolctl``)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"error": "threadpoolctl is not installed: pip install 'deltaprop[bench]'"}]
    keys = ("internal_api", "prefix", "version", "architecture", "corename", "num_threads",
            "threading_layer", "filepath")
    return [{key: info[key] for key in keys if key in info} for info in threadpool_info()]


def machine_info() -> dict[str, Any]:
    """CPU model, core count and versions (``lscpu`` where it exists)."""
    import numpy as np

    info: dict[str, Any] = {"nproc": os.cpu_count(), "platform": platform.platform(),
                            "python": platform.python_version(), "numpy": np.__version__}
    for module in ("torch", "sklearn"):
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            info[module] = None
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache",
                           "L3 cache", "Hypervisor vendor"):
            info[key.strip()] = value.strip()
    return info


def _blas_line(blas: list[dict[str, Any]]) -> str:
    parts = []
    for lib in blas:
        if lib.get("internal_api") in ("openblas", "mkl", "blis"):
            kernel = lib.get("architecture") or lib.get("corename") or "?"
            parts.append(f"{lib.get('prefix')} {lib.get('internal_api')} {lib.get('version')} "
                         f"kernel {kernel}, {lib.get('num_threads')} threads")
    return "; ".join(parts) or "no BLAS reported"


def _mem(entry: dict[str, Any], key: str = "peak_memory_bytes") -> str:
    value = entry.get(key)
    return "n/a" if value is None else f"{value / 2**20:.1f} MiB"


def _setting_markdown(label: str, result: dict[str, Any]) -> list[str]:
    env = ", ".join(f"{k}={v if v is not None else '(unset)'}" for k, v in result["env"].items())
    lines = [f"### BLAS variables {label}: {env}", "", f"BLAS: {_blas_line(result['blas'])}", ""]
    backend = result.get("backend", {"name": "numpy"})
    if backend["name"] != "numpy":
        lines += [f"Backend: {backend['name']} on {backend['device']}", ""]
    if result.get("kernels"):
        lines += [f"deltaprop engine: {_kernels_line(result['kernels'])}; a pause of "
                  f"{result.get('settle_seconds', 0)} s before every timed run (BLAS/OpenMP "
                  "threads settle)", ""]
    if result.get("jax_check"):
        check = result["jax_check"]
        lines += [f"JAX checked against deltaprop.train_step over {check['steps']} steps from "
                  f"the same weights: largest loss difference {check['jax_max_abs_difference']:.1e}"
                  f" (jit step), {check['jax_scan_max_abs_difference']:.1e} (lax.scan)", ""]
    if result.get("missing_peers"):
        lines += [f"Not run: {result['missing_peers']}", ""]
    if result.get("skipped"):
        lines += [f"Skipped: {result['skipped']}", ""]
    if "profile" in result:
        from .profile import profile_markdown

        lines += profile_markdown(result["profile"])
    if "training" not in result:
        return lines
    memory = backend["name"] == "numpy"            # no memory figures on another backend
    lines += ["| batch | peer | s/epoch | samples/s | GFLOP/s | × floor |"
              + (" peak NumPy memory (tracemalloc) | peak RSS growth (own process) |"
                 if memory else ""),
              "|---:|---|---:|---:|---:|---:|" + ("---:|---:|" if memory else "")]
    for row in result["training"]:
        for name, entry in row["peers"].items():
            lines.append(f"| {row['batch_size']} | {_PEER_NAMES.get(name, name)} | "
                         f"{entry['seconds_per_epoch']:.3f} | {entry['samples_per_s']:,.0f} | "
                         f"{entry['gflops']:.1f} | {entry['fraction_of_floor']:.2f} |"
                         + (f" {_mem(entry)} | {_mem(entry, 'rss_growth_bytes')} |"
                            if memory else ""))
    lines += ["", "| batch | " + " | ".join(_ratio_names(result)) + " |",
              "|---:|" + "---:|" * len(_ratio_names(result))]
    for row in result["training"]:
        lines.append(f"| {row['batch_size']} | " + " | ".join(
            f"{row['ratios'].get(name, float('nan')):.2f}" for name in _ratio_names(result))
            + " |")
    if "inference" in result:
        inf = result["inference"]
        lines += ["", f"Inference over {inf['samples']:,} samples:", "",
                  "| peer | seconds | samples/s | GFLOP/s |", "|---|---:|---:|---:|"]
        for name, entry in inf["peers"].items():
            lines.append(f"| {_PEER_NAMES.get(name, name)} | {entry['seconds']:.4f} | "
                         f"{entry['samples_per_s']:,.0f} | {entry['gflops']:.1f} |")
        lines += ["", "Ratios: " + ", ".join(f"{k} = {v:.2f}"
                                             for k, v in inf["ratios"].items())]
    if "memmap" in result:
        mm = result["memmap"]
        lines += ["", f"Training from an `np.memmap` (batch {mm['batch_size']}): peak NumPy "
                  f"allocations {mm['peak_bytes'] / 2**20:.1f} MiB for "
                  f"{mm['data_bytes'] / 2**20:.1f} MiB of data ({mm['method']})."]
    if "scaling" in result:
        lines += _scaling_markdown(result["scaling"])
    lines.append("")
    return lines


def _kernels_line(kernels: dict[str, Any]) -> str:
    if kernels.get("numba") is None:
        return kernels["path"]
    return (f"{kernels['path']} (numba {kernels['numba']}, {kernels['threads']} kernel threads, "
            f"NUMBA_NUM_THREADS={kernels.get('NUMBA_NUM_THREADS') or '(unset)'})")


def _ratio_names(result: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for row in result["training"]:
        names += [name for name in row["ratios"] if name not in names]
    return names


def _scaling_markdown(scaling: dict[str, Any]) -> list[str]:
    lines = ["", f"How cost grows (deltaprop, {scaling['samples']:,} samples, one epoch):", "",
             "| network | batch | matmuls/epoch | GFLOP/epoch | deltaprop s | floor s | × floor |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in scaling["by_batch"] + scaling["by_width"]:
        lines.append(f"| {'-'.join(map(str, row['sizes']))} | {row['batch_size']} | "
                     f"{row['matmuls_per_epoch']:,} | {row['matmul_flops'] / 1e9:.2f} | "
                     f"{row['deltaprop_s']:.3f} | {row['floor_s']:.3f} | "
                     f"{row['fraction_of_floor']:.2f} |")
    return lines


def to_markdown(data: dict[str, Any]) -> str:
    """The Markdown report of ``run_settings``'s result: one section per BLAS setting."""
    meta = data["meta"]
    cfg = meta["config"]
    machine = meta["machine"]
    lines = ["## deltaprop benchmark", "",
             f"- date: {meta['date']}", f"- command: `{meta['command']}`",
             f"- machine: {machine.get('Model name', platform.processor())}, "
             f"{machine.get('nproc')} CPUs; Python {machine.get('python')}, NumPy "
             f"{machine.get('numpy')}, PyTorch {machine.get('torch')}, scikit-learn "
             f"{machine.get('sklearn')}",
             f"- network {'-'.join(map(str, cfg['sizes']))} ReLU, softmax cross-entropy, SGD "
             f"momentum 0.9, {cfg['samples']:,} samples float32; " + (
                 f"{cfg['reps']} interleaved repetitions of {cfg['epochs']} epoch(s), medians"
                 if cfg.get("compare", True) else
                 f"--profile: {cfg['reps']} interleaved epochs per loop after a warm-up "
                 "epoch, no peer comparison"),
             f"- load average at the end: {meta.get('load_average_at_end')}", ""]
    compile_times = meta.get("kernel_compile_seconds")
    if compile_times:
        lines[-1:-1] = [f"- numba kernels, compile time of a first run (empty cache): "
                        f"{compile_times['first_run']:.1f} s; loaded from the disk cache: "
                        f"{compile_times['from_cache']:.2f} s"]
    backend = meta.get("backend", {"name": "numpy"})
    if backend["name"] != "numpy":                 # the NumPy report stays as it always was
        lines[-1:-1] = [f"- backend: {backend['name']} on {backend['device']} (deltaprop.fit "
                        f"on its arrays; PyTorch eager and the floor on the same device)"]
    for label, result in data["settings"].items():
        lines += _setting_markdown("as this machine sets them" if label == "default"
                                   else "unset", result)
    return "\n".join(lines)
