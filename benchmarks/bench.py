"""The speed harness's entry point: ``python benchmarks/bench.py [flags]``.

The same as ``deltaprop bench [flags]`` (``python -m deltaprop bench``); the code lives in
``deltaprop.bench`` so the command line can import it.  See ``benchmarks/README.md``.
"""

import sys

from deltaprop.cli import main

if __name__ == "__main__":
    sys.argv[0:1] = ["deltaprop", "bench"]   # so the report records the command that ran
    raise SystemExit(main(sys.argv[1:]))
