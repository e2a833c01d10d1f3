"""``make docs``: the documentation site builds in strict mode, and what makes it strict works.

The site is MkDocs + Material + mkdocstrings (``mkdocs.yml``, the ``docs`` extra).  Two local
pieces adapt ``docs/`` to it: ``docs/_mkdocs/hooks.py`` (links that leave ``docs/``, test-only
words in code fences) and ``docs/_mkdocs/griffe_conventions.py`` (how deltaprop writes
docstrings).  Where the tools are not installed the tests say so and skip.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "griffe")
MISSING = [name for name in TOOLS if importlib.util.find_spec(name.split(".")[0]) is None
           or importlib.util.find_spec(name) is None]
needs_tools = pytest.mark.skipif(bool(MISSING), reason=f"the docs extra is not installed "
                                 f"(missing {', '.join(MISSING)}): pip install -e '.[docs]'")


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` of ``config`` into ``site``, run where ``config`` lives."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(config), "--site-dir", str(site)], cwd=config.parent, env=env,
                          capture_output=True, text=True, timeout=240)


def load_conventions():
    spec = importlib.util.spec_from_file_location(
        "griffe_conventions", ROOT / "docs" / "_mkdocs" / "griffe_conventions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_tools
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_site_builds_in_strict_mode(tmp_path):
    result = build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stderr[-3000:]
    site = tmp_path / "site"
    for page in ("getting-started", "learners", "practitioners", "cli", "notation-guide",
                 "api/nn", "api/training", "api/io", "api/sklearn"):
        assert (site / page / "index.html").is_file(), page
    # the API reference comes from the docstrings: a class, its equation, a resolved role
    nn = (site / "api/nn/index.html").read_text(encoding="utf-8")
    assert 'id="deltaprop.nn.Dense"' in nn and "Z = A W^\\top + b" in nn
    assert '<a class="autorefs autorefs-internal" title="deltaprop.InvalidParameterError" ' \
        'href="../#deltaprop.InvalidParameterError"><code>InvalidParameterError</code></a>' in nn
    # links that leave docs/ land on pages of the site; test-only fence words are gone
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="repository/"' in index and 'href="repository/examples/"' in index
    assert (site / "repository/index.html").is_file()
    assert "norun" not in (site / "getting-started/index.html").read_text(encoding="utf-8")


def small_site(tmp_path: Path, page: str) -> Path:
    """A one-page site using the real hooks; ``page`` is docs/index.md, NOTES.md sits outside."""
    (tmp_path / "docs").mkdir(parents=True)
    (tmp_path / "docs" / "index.md").write_text(page, encoding="utf-8")
    (tmp_path / "NOTES.md").write_text("# Notes\n\nBack to [the index](docs/index.md).\n",
                                       encoding="utf-8")
    (tmp_path / "EXTRA.md").write_text("# Extra\n\nNamed by the nav only.\n", encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    config.write_text(textwrap.dedent(f"""\
        site_name: t
        strict: true
        hooks: [{ROOT / "docs" / "_mkdocs" / "hooks.py"}]
        markdown_extensions: [pymdownx.superfences]
        nav: [index.md, repository/EXTRA.md]
        """), encoding="utf-8")
    return config


@needs_tools
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_links_out_of_docs_become_pages_and_broken_links_fail(tmp_path):
    good = small_site(tmp_path / "good", "# Home\n\nSee [the notes](../NOTES.md).\n\n"
                      "```console norun\n$ make demo\n```\n")
    result = build(good, tmp_path / "good-site")
    assert result.returncode == 0, result.stderr[-3000:]
    home = (tmp_path / "good-site" / "index.html").read_text(encoding="utf-8")
    assert 'href="repository/NOTES/"' in home and "norun" not in home
    notes = (tmp_path / "good-site" / "repository" / "NOTES" / "index.html").read_text(
        encoding="utf-8")
    assert 'href="../.."' in notes                    # its link back into docs/ resolves
    assert (tmp_path / "good-site" / "repository" / "EXTRA" / "index.html").is_file()

    bad = small_site(tmp_path / "bad", "# Home\n\nSee [the notes](../MISSING.md).\n")
    result = build(bad, tmp_path / "bad-site")
    assert result.returncode != 0
    assert "MISSING.md" in result.stderr


@needs_tools
def test_docstring_conventions_are_rewritten_for_mkdocstrings():
    import griffe

    conventions = load_conventions()
    code = '''
def helper():
    """A helper."""


def f(x):
    r"""Sum :math:`\\sum_n x_n`.

    >>> f(1)[:1]
    [1]

    Parameters
    ----------
    x : int
        A number.

    A bad ``x`` raises :class:`ValueError`; see :func:`helper`, :func:`nowhere`,
    :mod:`numpy.linalg`.

    Shape:
        - Input: ``(N, in)``
        - Output: ``(N, out)``
    """
'''
    with griffe.temporary_visited_package("pkg", {"__init__.py": code}) as package:
        function = package["f"]
        text = conventions.conventional(function.docstring.value, function)
    description, _, sections = text.partition("Parameters\n----------\n")
    # the trailing paragraph (and what follows it) left the Parameters section
    assert "A bad ``x`` raises" in description and "raises" not in sections
    assert sections.strip() == "x : int\n    A number."
    # a label over an indented block: the block is a Markdown list under the label
    assert "Shape:\n\n- Input: ``(N, in)``\n- Output: ``(N, out)``\n" in description
    assert "```pycon\n>>> f(1)[:1]\n[1]\n```" in description       # no [:1] link
    assert r"\(\sum_n x_n\)" in description                       # arithmatex inline math
    assert '<autoref identifier="pkg.helper" optional><code>helper</code></autoref>' in text
    assert "`ValueError`" in text and "`numpy.linalg`" in text     # outside: plain code
    assert "[`nowhere`][nowhere]" in text                         # nothing: strict fails
