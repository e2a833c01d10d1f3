r"""Memory of one training epoch: tracemalloc's peak of NumPy allocations, the peak RSS
growth in a fresh process, and an epoch read from an ``np.memmap`` (NumPy backend only)."""

from __future__ import annotations

import tracemalloc

import numpy as np

from .runners import Problem, deltaprop_epochs


def memmap_epoch(problem: Problem, batch: int, folder: str) -> dict:
    """One deltaprop epoch read from an ``np.memmap`` of the data: tracemalloc's peak of the
    NumPy allocations against the size of the data (which is never loaded whole)."""
    import os

    path = os.path.join(folder, "X.npy")
    X = np.lib.format.open_memmap(path, mode="w+", dtype=problem.X.dtype, shape=problem.X.shape)
    X[:] = problem.X
    X.flush()
    del X
    mapped = np.load(path, mmap_mode="r")
    on_disk = Problem(X=mapped, y=problem.y, sizes=problem.sizes, seed=problem.seed)
    peak = traced_peak(deltaprop_epochs, on_disk, batch, 1)
    del mapped, on_disk
    return {"batch_size": batch, "data_bytes": int(problem.X.nbytes), "peak_bytes": peak,
            "method": "tracemalloc peak of NumPy allocations during fit (one epoch) from an "
                      "np.memmap'd .npy file"}


_RSS_CHILD = """
import json, resource, sys
from deltaprop_bench import runners

def peak_kib():
    # VmHWM: the peak RSS of this process image (ru_maxrss would carry the parent's peak,
    # which Linux keeps across fork + exec)
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]), "VmHWM"
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss"

name, samples, batch, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sizes = [int(s) for s in sys.argv[5].split(",")]
problem = runners.make_problem(samples, sizes, seed=seed)
if name == "torch":
    import torch  # noqa: F401 - its libraries count in the baseline, not in the epoch
if name == "sklearn":
    import sklearn.neural_network  # noqa: F401
try:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")            # Linux: reset the peak to the current RSS
    reset = True
except OSError:
    reset = False
before, method = peak_kib()
runners.TRAINERS[name](problem, batch, 1)
after, _ = peak_kib()
print(json.dumps({"before_kib": before, "after_kib": after, "method": method, "reset": reset}))
"""


def rss_growth(name: str, problem: Problem, batch: int) -> int | None:
    """Growth of the peak resident memory over one epoch of ``name`` (bytes), in a fresh
    Python that first built the same data and imported the peer.  Linux: ``VmHWM`` from
    ``/proc/self/status``, its peak reset to the current RSS just before the epoch; elsewhere
    ``ru_maxrss`` (Unix only; ``None`` where neither exists)."""
    import json
    import os
    import subprocess
    import sys

    from . import child_path  # the harness's folder, for the fresh Python

    try:
        import resource  # noqa: F401 - Unix only
    except ImportError:
        return None
    args = [sys.executable, "-c", _RSS_CHILD, name, str(problem.X.shape[0]), str(batch),
            str(problem.seed), ",".join(map(str, problem.sizes))]
    env = dict(os.environ, PYTHONPATH=child_path(os.environ.get("PYTHONPATH")))
    done = subprocess.run(args, capture_output=True, text=True, check=True, env=env)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return 1024 * max(0, result["after_kib"] - result["before_kib"])


def traced_peak(run, *args) -> int:
    """Peak bytes NumPy allocated (tracemalloc) while ``run(*args)`` ran, above its start."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        run(*args)
        return int(tracemalloc.get_traced_memory()[1] - base)
    finally:
        tracemalloc.stop()
