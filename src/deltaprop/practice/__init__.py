"""Practice mode: write an exercise file, implement it, and have it graded against the engine.

>>> from deltaprop.practice import write_exercise, check_file   # doctest: +SKIP
>>> path = write_exercise("dense", "dense_practice.py")          # doctest: +SKIP
>>> [r.passed for r in check_file(path)]                         # doctest: +SKIP
[False]

``check_file`` returns one :class:`CheckResult` per function; its ``mistakes`` come from the
fixed vocabulary :data:`MISTAKES`, most likely first, and a failure carries its smallest
failing case (``counterexample``).  The learner's file runs in a separate, isolated Python
process with a time and a memory limit (:mod:`.runner`); only the arrays it returns come back,
and the verdict is computed in this process, against the engine, so nothing the file does
(exit, hang, crash, print, patch) can turn a wrong function into a pass.
"""

from .checker import CheckResult, OutputReport, check_file, check_function, check_module
from .equations import NOTATIONS
from .mistakes import MISTAKES
from .references import SPECS, TOPIC_FUNCTIONS, TOPICS
from .templates import render_exercise, write_exercise

__all__ = [
    "MISTAKES", "NOTATIONS", "SPECS", "TOPICS", "TOPIC_FUNCTIONS", "CheckResult",
    "OutputReport", "check_file", "check_function", "check_module", "render_exercise",
    "write_exercise",
]
