"""The processes mode's Markdown: what was measured, then the projection (labelled)."""

from __future__ import annotations

import platform
import subprocess

import numpy as np

from .processes import (
    SIZES,
    WIDE,
    break_even_batch,
    latency_bandwidth,
    parameters,
    projection,
    step_costs,
)

KS = [1, 2, 4, 8, 16, 32, 64]
# an assumption, not a measurement: 10 Gb/s Ethernet between machines
ETHERNET = {"alpha": 25e-6, "beta": 1 / 1.25e9}


def _cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines()
                    if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown"


def _measured(runs: dict) -> list[str]:
    lines = ["| batch | 1 × 1 thread (s) | 1 × 2 threads (s) | 2 × 1 thread (s) | "
             "2 × 1 vs 1 × 2 | Allreduce in step (ms) | of the epoch | bare Allreduce (ms) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for batch, two in runs["2x1"]["epochs"].items():
        one, one2 = runs["1x1"]["epochs"][batch], runs["1x2"]["epochs"][batch]
        t11, t12, t21 = (float(np.median(r["seconds"])) for r in (one, one2, two))
        per_step = two["allreduce_in_step"] / two["steps"]
        lines.append(f"| {batch} | {t11:.3f} | {t12:.3f} | {t21:.3f} | {t12 / t21:.2f}× | "
                     f"{per_step * 1e3:.3f} | {two['allreduce_in_step'] / t21:.0%} | "
                     f"{runs['2x1']['allreduce_alone'] * 1e3:.3f} |")
    return lines


def _projected(c0, c1, alpha, beta, batches) -> tuple[list[str], dict]:
    lines = ["| network | links | batch | " + " | ".join(f"K={k}" for k in KS[1:])
             + " | best K |", "|---|---|---:|" + "---:|" * len(KS)]
    summary = {}
    for name, sizes in (("784-256-128-10", SIZES), ("784-2560-1280-10 (10× wider)", WIDE)):
        for links, (a, b) in (("measured here", (alpha, beta)),
                              ("10 GbE (assumed)", (ETHERNET["alpha"], ETHERNET["beta"]))):
            for batch in batches:
                t1 = projection(c0, c1, a, b, sizes, batch, 1)
                speedups = [t1 / projection(c0, c1, a, b, sizes, batch, k) for k in KS]
                best = KS[int(np.argmax(speedups))]
                summary[f"{name} | {links} | {batch}"] = {"speedups": speedups, "best_k": best}
                lines.append(f"| {name} | {links} | {batch} | "
                             + " | ".join(f"{s:.2f}" for s in speedups[1:]) + f" | {best} |")
    lines.append("")
    for name, sizes in (("784-256-128-10", SIZES), ("784-2560-1280-10", WIDE)):
        for links, (a, b) in (("measured here", (alpha, beta)),
                              ("10 GbE (assumed)", (ETHERNET["alpha"], ETHERNET["beta"]))):
            edge = break_even_batch(c1, a, b, sizes)
            summary[f"break-even {name} | {links}"] = edge
            lines.append(f"- {name}, {links}: 2 machines beat one above a global batch of "
                         f"about {edge:.0f} rows.")
    return lines, summary


def report(runs: dict, args) -> tuple[str, dict]:
    alpha, beta = latency_bandwidth(runs["2x1"]["sweep"])
    c0, c1 = step_costs(runs["1x1"]["epochs"])
    sweep = ", ".join(f"{int(m)} B: {t * 1e6:.1f} µs" for m, t in runs["2x1"]["sweep"].items())
    projected, summary = _projected(c0, c1, alpha, beta, args.batch_sizes)
    summary.update(alpha=alpha, beta=beta, c0=c0, c1=c1)
    text = "\n".join([
        f"CPU: {_cpu()}; {args.samples} samples, network {'-'.join(map(str, SIZES))} "
        f"({parameters(SIZES)} parameters), SGD momentum 0.9, medians of {args.reps} epochs.",
        "", "Measured: seconds per epoch (processes × BLAS threads); Allreduce in step = time "
        "inside the step's one Allreduce per step (waiting for the other process included).",
        "", *_measured(runs), "",
        f"Measured Allreduce (2 processes, float32, median): {sweep}.",
        f"Fit t = 2α + β·m: α = {alpha * 1e6:.2f} µs, β = {beta * 1e9:.3f} ns/byte "
        f"({1 / beta / 1e9 if beta else float('inf'):.2f} GB/s).",
        f"Fit of the 1 × 1 steps: c0 = {c0 * 1e3:.3f} ms per step, c1 = {c1 * 1e6:.2f} µs "
        "per row.", "",
        "Projected (not measured): speedup T₁/T_K of one step of K processes on K machines, "
        "ring Allreduce, T_K = c0 + c1·B/K + 2(K−1)α + 2(K−1)/K·4P·β.", "",
        *projected])
    return text, summary
