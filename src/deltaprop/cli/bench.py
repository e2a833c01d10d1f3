"""``deltaprop bench``: time deltaprop against PyTorch eager, scikit-learn and the matmul floor.

Trains the same network on the same synthetic data with each peer, interleaved, several
repetitions, and prints the medians as a Markdown table (``--json`` / ``--markdown`` save
them).  ``benchmarks/README.md`` explains the figures.

examples:
  deltaprop bench                                  # the full benchmark (minutes)
  deltaprop bench --quick                          # tiny sizes, seconds
  deltaprop bench --blas-env both --json out.json  # also with OPENBLAS_* unset
  deltaprop bench --scaling --batch-sizes 128      # cost against batch size and width
  deltaprop bench --profile --batch-sizes 128      # where a training step's time goes
  deltaprop bench --backend torch-cpu --quick      # deltaprop on PyTorch CPU tensors
  deltaprop bench --backend torch-cuda --json gpu.json --markdown gpu.md   # on a GPU
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ._common import (
    check_output_file,
    int_list,
    random_seed,
    same_file,
    user_errors,
    write_text,
)

PEERS = ("deltaprop", "deltaprop-ref", "torch", "sklearn", "jax", "jax-scan")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench", help="time training and inference against PyTorch, scikit-learn and the "
                      "matrix-product floor", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=None,
                        help="rows of synthetic data (default 60000; 512 with --quick)")
    parser.add_argument("--sizes", type=int_list, default=None,
                        help="layer widths, input first (default 784,256,128,10)")
    parser.add_argument("--batch-sizes", type=int_list, default=None,
                        help="batch sizes (default 32,128,512)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run (default 1)")
    parser.add_argument("--reps", type=int, default=None,
                        help="interleaved repetitions; medians are reported (default 3)")
    parser.add_argument("--peers", default=",".join(PEERS),
                        help="comma-separated subset of " + ",".join(PEERS) + " (deltaprop-ref: "
                             "the NumPy reference path, no numba kernel; jax: a jitted step in "
                             "a Python loop; jax-scan: the epoch under lax.scan)")
    parser.add_argument("--no-inference", action="store_true", help="skip the inference run")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the extra tracemalloc epoch per NumPy peer")
    parser.add_argument("--no-rss", action="store_true",
                        help="skip the fresh-process epoch per peer that measures peak RSS")
    parser.add_argument("--no-memmap", action="store_true",
                        help="skip the epoch trained from an np.memmap copy of the data")
    parser.add_argument("--scaling", action="store_true",
                        help="also time deltaprop against batch size and hidden width")
    parser.add_argument("--scaling-samples", type=int, default=None,
                        help="rows for --scaling (default 10000)")
    parser.add_argument("--blas-env", choices=("default", "unset", "both"), default="default",
                        help="OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE as set here, unset (in a child "
                             "process), or both (default: default)")
    parser.add_argument("--backend", choices=("numpy", "torch-cpu", "torch-cuda", "cupy"),
                        default="numpy",
                        help="array library deltaprop trains on; PyTorch and the floor run on "
                             "the same device (default numpy; GPU default batch sizes "
                             "512,1024,2048,4096,8192)")
    parser.add_argument("--profile", action="store_true",
                        help="instead of comparing peers, split deltaprop's training step into "
                             "its phases (µs per step) next to a hand-written NumPy loop and "
                             "the products alone (NumPy backend only)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes for a smoke test (seconds, figures meaningless)")
    parser.add_argument("--json", metavar="PATH", help="write the full result as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the Markdown table")
    parser.add_argument("--seed", type=random_seed, default=0,
                        help="data and weight seed (default 0)")
    parser.set_defaults(run=run)


# where a source checkout keeps the harness: src/deltaprop/cli/bench.py -> <checkout>/benchmarks
HARNESS_FOLDER = Path(__file__).resolve().parents[3] / "benchmarks"


def _harness():
    """The speed harness ``deltaprop_bench``: it lives in ``benchmarks/`` of a source checkout
    and is not installed with the package, so a plain ``pip install deltaprop`` lacks it."""
    from . import CLIError

    try:
        import deltaprop_bench
    except ImportError:
        folder = HARNESS_FOLDER
        if not (folder / "deltaprop_bench" / "__init__.py").is_file():
            raise CLIError("the benchmark harness is not installed with deltaprop: run it from "
                           "a source checkout, `python benchmarks/bench.py`") from None
        sys.path.insert(0, str(folder))
        import deltaprop_bench
    import deltaprop_bench.backends

    return deltaprop_bench


def config_from_args(args):
    from . import CLIError

    harness = _harness()
    BenchConfig = harness.BenchConfig
    GPU_BACKENDS, GPU_BATCH_SIZES = harness.backends.GPU_BACKENDS, harness.backends.GPU_BATCH_SIZES

    peers = [name.strip() for name in args.peers.split(",") if name.strip()]
    unknown = sorted(set(peers) - set(PEERS))
    if unknown or not peers:
        raise CLIError(f"--peers must name some of {', '.join(PEERS)}, got {args.peers!r}")
    if args.backend != "numpy" and args.blas_env != "default":
        raise CLIError(f"--blas-env {args.blas_env} re-runs NumPy's BLAS in a child process: "
                       f"only with --backend numpy, got --backend {args.backend}")
    if args.profile and args.backend != "numpy":
        raise CLIError(f"--profile times the NumPy engine: only with --backend numpy, got "
                       f"--backend {args.backend}")
    cfg = BenchConfig(peers=peers, epochs=args.epochs, seed=args.seed,
                      inference=not args.no_inference, memory=not args.no_memory,
                      memmap=not args.no_memmap, rss=not args.no_rss,
                      scaling=args.scaling, backend=args.backend,
                      profile=args.profile, compare=not args.profile,
                      compile_time=not args.quick)
    if args.backend in GPU_BACKENDS:
        cfg.batch_sizes = list(GPU_BATCH_SIZES)
    if args.quick:
        cfg.samples, cfg.sizes, cfg.batch_sizes, cfg.reps = 512, [20, 16, 8, 3], [32, 128], 2
        cfg.scaling_samples, cfg.scaling_batches, cfg.scaling_widths = 256, [32, 128], [8, 16]
        cfg.rss = False                # a fresh process per peer: seconds, not for a smoke test
    for name in ("samples", "sizes", "batch_sizes", "reps", "scaling_samples"):
        value = getattr(args, name)
        if value is not None:
            setattr(cfg, name, value)
    for name in ("samples", "epochs", "reps", "scaling_samples"):
        if getattr(cfg, name) < 1:
            raise CLIError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(cfg, name)}")
    if len(cfg.sizes) < 2:
        raise CLIError(f"--sizes needs at least an input and an output width, got "
                       f"{','.join(map(str, cfg.sizes))}")
    return cfg


def run(args) -> int:
    import json

    from . import CLIError

    harness = _harness()
    run_settings, to_markdown = harness.run_settings, harness.to_markdown
    BackendUnavailableError = harness.backends.BackendUnavailableError
    get_backend = harness.backends.get_backend

    cfg = config_from_args(args)
    if args.json is not None:              # before minutes of timing, not after
        check_output_file("--json", args.json, {})
    if args.markdown is not None:          # not the --json file: one would overwrite the other
        check_output_file("--markdown", args.markdown, {})
        if args.json is not None and same_file(args.json, args.markdown):
            raise CLIError(f"--markdown {args.markdown!r} is the --json file {args.json!r}; "
                           "give them different names")
    try:
        get_backend(cfg.backend)                   # a missing library / device: one line
    except BackendUnavailableError as error:
        raise CLIError(str(error)) from None
    command = "deltaprop bench " + " ".join(shlex.quote(a) for a in sys.argv[2:]) \
        if len(sys.argv) > 1 and sys.argv[1] == "bench" else "deltaprop bench"
    data = run_settings(cfg, args.blas_env, command=command.strip())
    text = to_markdown(data)
    print(text)
    with user_errors("cannot write the results"):
        if args.json:
            write_text(args.json, json.dumps(data, indent=1))
        if args.markdown:
            write_text(args.markdown, text + "\n")
    return 0
