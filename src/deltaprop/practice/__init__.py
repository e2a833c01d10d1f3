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

From memory: ``write_exercise(topic, recall=True)`` gives names and shapes only, and
``check_file(path, hints=k)`` reveals ``k`` stages of hints (:mod:`.recall`).  In another
notation (``notation="ng"``, ...) the arrays are in that notation's layout and graded in it
(:mod:`.layouts`).  ``check_file(path, gradcheck=True)`` first compares the file's backward
functions with central differences of its own forward functions (:mod:`.gradcheck`).  The
``mlp`` topic takes any hidden activation and loss (:mod:`.mlp`); ``deltaprop card --quiz``
drills the memory card with Leitner boxes (:mod:`.quiz`).
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
