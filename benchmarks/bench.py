"""The speed harness's entry point: ``python benchmarks/bench.py [flags]``.

The same as ``deltaprop bench [flags]`` run from this checkout; the harness is the package
``deltaprop_bench`` next to this file, which is not installed with deltaprop.  See
``benchmarks/README.md``.
"""

import sys
from pathlib import Path

try:
    from deltaprop.cli import main
except ImportError:                      # a fresh clone without `pip install -e .`: use src/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from deltaprop.cli import main

if __name__ == "__main__":
    sys.argv[0:1] = ["deltaprop", "bench"]   # so the report records the command that ran
    raise SystemExit(main(sys.argv[1:]))
