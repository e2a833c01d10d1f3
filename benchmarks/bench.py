"""The speed harness's entry point: ``python benchmarks/bench.py [flags]``.

The same as ``deltaprop bench [flags]`` (``python -m deltaprop bench``); the code lives in
``deltaprop.bench`` so the command line can import it.  See ``benchmarks/README.md``.
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
