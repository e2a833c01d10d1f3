"""MkDocs hooks: the site is built from ``docs/`` as GitHub shows it.

- Pages link to files outside ``docs/`` (``../README.md``, ``../examples/README.md``,
  ``../CHANGELOG.md``), which work on GitHub.  Every such file that exists is added to the site
  under ``repository/`` (Markdown rendered, anything else copied) and the links are pointed
  there, following the links of the added pages in turn; ``nav`` may name them
  (``repository/CHANGELOG.md``).  A link to a file that does not exist
  is left alone, so ``mkdocs build --strict`` reports it.
- The equations are typeset by KaTeX from the copy the playground ships
  (``src/deltaprop/playground/static/vendor/katex``, its licence included), added to the site
  under ``javascripts/katex/``: reading the pages fetches nothing from another site.
- The words after a code block's language that ``tests/test_docs.py`` reads (``norun``,
  ``requires=torch``) are for the tests, not for readers: they are dropped.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File, Files

OUTSIDE = "repository/"                      # where files from outside docs/ go in the site
KATEX = "src/deltaprop/playground/static/vendor/katex"    # vendored once, served from the site
LINK = re.compile(r"(\]\()([^)\s#]+)((?:#[^)\s]*)?\))")
FENCE_FLAGS = re.compile(r"^(\s*```\S*)((?:[ \t]+(?:norun|requires=\S+))+)[ \t]*$", re.M)
FENCE = re.compile(r"^\s*```", re.M)


def _repository(config) -> Path:
    return Path(config.config_file_path).resolve().parent


def _docs_dir(config) -> Path:
    return Path(config.docs_dir).resolve()


def _source_path(file: File, config) -> Path:
    """Where ``file``'s text lives in the repository (``repository/X`` comes from ``X``)."""
    if file.src_uri.startswith(OUTSIDE):
        return _repository(config) / file.src_uri.removeprefix(OUTSIDE)
    return _docs_dir(config) / file.src_uri


def _site_uri(target: Path, config) -> str | None:
    """The site's ``src_uri`` for a repository file, or None where it is not a plain file."""
    root, docs = _repository(config), _docs_dir(config)
    if target.is_relative_to(docs):
        return target.relative_to(docs).as_posix()
    if target.is_relative_to(root) and target.is_file():
        return OUTSIDE + target.relative_to(root).as_posix()
    return None


def _outside_targets(path: Path, config) -> list[Path]:
    """The files outside ``docs/`` that the Markdown file ``path`` links to relatively."""
    found = []
    for _, target, _ in LINK.findall(_prose(path.read_text(encoding="utf-8"))):
        if "://" in target or target.startswith(("/", "mailto:")):
            continue
        resolved = (path.parent / target).resolve()
        if not resolved.is_relative_to(_docs_dir(config)) and resolved.is_file():
            found.append(resolved)
    return found


def _prose(text: str) -> str:
    """``text`` without its fenced code blocks (a link shown inside code is not a link)."""
    parts = FENCE.split(text)
    return "".join(part for index, part in enumerate(parts) if index % 2 == 0)


def _nav_entries(nav) -> list[str]:
    """Every page path named in the ``nav`` setting."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [entry for value in nav.values() for entry in _nav_entries(value)]
    if isinstance(nav, list):
        return [entry for item in nav for entry in _nav_entries(item)]
    return []


def _add_katex(files: Files, config) -> None:
    vendored = _repository(config) / KATEX
    for path in sorted(vendored.rglob("*")):
        if path.is_file() and path.suffix != ".md":          # the notes stay in the package
            uri = f"javascripts/katex/{path.relative_to(vendored).as_posix()}"
            files.append(File.generated(config, uri, abs_src_path=str(path)))


def on_files(files: Files, config) -> Files:
    _add_katex(files, config)
    todo = [Path(file.abs_src_path) for file in files.documentation_pages() if file.abs_src_path]
    added: set[Path] = set()
    named = [_repository(config) / entry.removeprefix(OUTSIDE)         # nav: repository/X.md
             for entry in _nav_entries(config.nav) if entry.startswith(OUTSIDE)]
    while todo or named:
        for target in (_outside_targets(todo.pop(), config) if todo else [named.pop()]):
            if not target.is_file():
                continue                          # mkdocs reports the missing nav entry
            uri = _site_uri(target, config)
            if target in added or uri is None:
                continue
            added.add(target)
            files.append(File.generated(config, uri, abs_src_path=str(target)))
            if target.suffix == ".md":
                todo.append(target)
    return files


def on_page_markdown(markdown: str, page, config, files: Files) -> str:
    source = _source_path(page.file, config)

    def relink(match: re.Match) -> str:
        opening, target, closing = match.groups()
        if "://" in target or target.startswith(("/", "mailto:")):
            return match[0]
        uri = _site_uri((source.parent / target).resolve(), config)
        if uri is None or files.get_file_from_path(uri) is None:
            return match[0]                      # missing: mkdocs --strict reports it
        relative = posixpath.relpath(uri, posixpath.dirname(page.file.src_uri) or ".")
        return opening + relative + closing

    pieces = re.split(r"(^\s*```.*$)", markdown, flags=re.M)
    in_code = False
    for index, piece in enumerate(pieces):
        if index % 2 == 1:
            in_code = not in_code
            pieces[index] = FENCE_FLAGS.sub(r"\1", piece)
        elif not in_code:
            pieces[index] = LINK.sub(relink, piece)
    return "".join(pieces)
