"""The page works offline: every script, style and font ships in the package, nothing
points at another host, and the vendored KaTeX keeps its licence."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

import deltaprop.playground

STATIC = Path(deltaprop.playground.__file__).parent / "static"
# XML namespace names are identifiers, never fetched (createElementNS, KaTeX's MathML)
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1998/Math/MathML"}
URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"')]*""")


def served_files() -> list[Path]:
    return [path for path in STATIC.rglob("*") if path.suffix in (".html", ".js", ".css")]


def test_no_file_the_page_loads_names_another_host():
    assert len(served_files()) >= 6
    for path in served_files():
        text = path.read_text(encoding="utf-8")
        urls = {url.rstrip(";,") for url in URL.findall(text)} - NAMESPACES
        urls = {url for url in urls if not url.startswith("//#")}
        assert not [u for u in urls if u.startswith(("http", "//"))], (path.name, urls)


def test_every_local_reference_exists():
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    references = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert len(references) >= 6
    for reference in references:
        assert (STATIC / reference.removeprefix("/static/")).is_file(), reference
    css = (STATIC / "vendor" / "katex" / "katex.min.css").read_text(encoding="utf-8")
    fonts = re.findall(r"url\(([^)]+)\)", css)
    assert fonts and all((STATIC / "vendor" / "katex" / font).is_file() for font in fonts)


def test_katex_ships_with_its_licence():
    licence = (STATIC / "vendor" / "katex" / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in licence and "Khan Academy" in licence


def test_every_static_file_is_declared_package_data():
    """A wheel carries the page: each file under static/ matches a package-data pattern."""
    tomllib = pytest.importorskip("tomllib")
    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    patterns = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["deltaprop"]
    package = STATIC.parents[1]                                 # src/deltaprop
    files = [path.relative_to(package).as_posix() for path in STATIC.rglob("*")
             if path.is_file()]
    assert len(files) >= 28
    missing = [name for name in files
               if not any(fnmatch.fnmatch(name, pattern) and name.count("/") ==
                          pattern.count("/") for pattern in patterns)]
    assert missing == []
