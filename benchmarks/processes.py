"""The processes mode of the speed harness: ``python benchmarks/processes.py [flags]``.

One process with 2 BLAS threads against 2 MPI processes with one each, the Allreduce's
latency and bandwidth, and a projection to K machines (``deltaprop_bench/processes.py``).
Needs ``pip install mpi4py mpich`` (the ``mpi`` extra).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deltaprop_bench.processes import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
