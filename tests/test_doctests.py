"""The ``>>>`` examples in the package's docstrings run and show their real output.

Every module under ``src/deltaprop`` whose source contains a ``>>> `` line is found from the
files (so a new or moved module is picked up without editing this list), imported, and its
docstrings run by :mod:`doctest` in a temporary working directory.  A module that needs an
optional package which is not installed is skipped, naming the package.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "deltaprop"
SLOW = {"deltaprop.io.checkpoint"}           # examples that train (over about 0.2 s)


def modules_with_examples() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ">>> " not in path.read_text(encoding="utf-8"):
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_package_has_docstring_examples():
    names = modules_with_examples()
    assert "deltaprop.nn.model" in names and len(names) >= 3, names


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name
    for name in modules_with_examples()])
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                      # an example may write a file
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:             # an optional extra that is absent
        if error.name is None or error.name.split(".")[0] == "deltaprop":
            raise
        pytest.skip(f"{name} needs {error.name}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    examples = 0
    for test in finder.find(module, name, module=module):
        examples += len(test.examples)
        runner.run(test, out=report.append)
    assert examples > 0, f"{name} has '>>> ' in its source but no docstring example was found"
    assert runner.failures == 0, "".join(report)
