"""The README's data set table: one row per data set `deltaprop datasets` lists, and its
figures are what ``benchmarks/datasets_table.py`` prints."""

import re
import sys
from pathlib import Path

import pytest

from deltaprop import datasets

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| `(\w+)` \| (classification|regression) \(.*?\) \| (.*)$", re.M)


def _readme_rows() -> dict[str, str]:
    return {name: line for name, _, line in ROW.findall((ROOT / "README.md").read_text())}


def test_the_table_has_a_row_for_every_listed_data_set():
    assert sorted(_readme_rows()) == sorted(name for name, _ in datasets.available())


@pytest.fixture
def table_script(monkeypatch):
    pytest.importorskip("sklearn")
    pytest.importorskip("safetensors")
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import datasets_table
    yield datasets_table
    sys.modules.pop("datasets_table", None)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["iris", "diabetes"])
def test_the_readme_figures_are_the_script_s(table_script, name):
    """Training for real (a few seconds): the README's row is what the script prints now,
    and on diabetes the defaults reach a plain linear regression."""
    row = table_script.table([name]).splitlines()[-1]
    assert row.endswith(_readme_rows()[name])
    if name == "diabetes":
        ours, _, linear = (float(cell) for cell in row.strip("| ").split(" | ")[2:5])
        assert ours >= linear
