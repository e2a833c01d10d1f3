r"""A griffe extension: deltaprop's docstring conventions, read as the API reference shows them.

deltaprop's docstrings are numpydoc with five habits that numpydoc's grammar does not cover
and that the doctests, ``help()`` and the source read naturally:

- a paragraph after the last entry of a ``Parameters`` or ``Attributes`` section, at the
  section's indentation (``A parameter that breaks its rule raises ...``): numpydoc has no way
  to close a section, so a parser reads its first words as a parameter name.  It is moved to
  the end of the description, above the sections;
- doctest runs (``>>>`` lines and their output) outside an ``Examples`` section: Markdown
  would read ``>>>`` as nested quotes and ``[:3]`` as a link.  They become ``pycon`` code blocks;
- reST mathematics (``:math:`\eta``` inline, ``.. math::`` blocks): written for arithmatex
  (``\(…\)``, ``\[…\]``), which KaTeX typesets in the browser;
- a label line and an indented block under it (``Shape:`` then ``- Input: (N, in)``, as
  PyTorch writes them): Markdown would run them into one paragraph or a code block.  The
  block becomes a list under its label;
- Sphinx roles (``:class:`~deltaprop.InvalidParameterError```): they become links into the API
  reference (``~`` keeps the last name only; a short name is looked up from the documented
  object outwards, as Python would).  A role naming an object that exists but is not in the
  reference (a private helper) or one outside deltaprop (``ValueError``, ``numpy.ndarray``)
  is shown as code; a role naming nothing in deltaprop (a typo, a renamed function) stays a
  strict cross-reference, so ``mkdocs build --strict`` fails on it.

Only the rendered text changes; the source is left as written.
"""

from __future__ import annotations

import builtins
import re
from typing import Any

import griffe

ITEM_SECTIONS = {"parameters", "other parameters", "attributes"}
# an entry of a Parameters section: "name", "x, y : arrays", "*args : int"
ITEM = re.compile(r"^\*{0,2}[_a-z][_a-z0-9]*(, \*{0,2}[_a-z][_a-z0-9]*)*( : .*)?$", re.I)
MATH_ROLE = re.compile(r":math:`([^`]+)`")
MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<first>.*)$")
ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj):`(~?)([\w.]+)(?:\(\))?`")


def _is_header(lines: list[str], index: int) -> bool:
    following = lines[index + 1] if index + 1 < len(lines) else ""
    return bool(lines[index].strip()) and bool(following.strip()) and not following.strip("- ")


def _split_trailing_paragraphs(lines: list[str]) -> tuple[list[str], list[str]]:
    """``(lines, paragraphs)``: the paragraphs closing an item section moved out of it."""
    kept: list[str] = []
    moved: list[str] = []
    section, index, moving = "", 0, False
    while index < len(lines):
        line = lines[index]
        if _is_header(lines, index):
            section, moving = line.strip().lower(), False
            kept.extend(lines[index:index + 2])
            index += 2
            continue
        starts_paragraph = (section in ITEM_SECTIONS and line and not line[0].isspace()
                            and kept and not kept[-1].strip() and not ITEM.match(line))
        moving = moving or bool(starts_paragraph)
        (moved if moving else kept).append(line)
        index += 1
    return kept, moved


def _fence_doctests(lines: list[str]) -> list[str]:
    """Doctest runs outside an ``Examples`` section as ``pycon`` blocks (same indentation)."""
    out: list[str] = []
    section, indent, in_fence = "", None, False
    for index, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        if indent is None and not in_fence and _is_header(lines, index):
            section = line.strip().lower()
        if indent is not None and not line.strip():            # a blank line ends a run
            out.append(indent + "```")
            indent = None
        elif (indent is None and not in_fence and section != "examples"
              and line.lstrip().startswith(">>> ")):
            indent = line[:len(line) - len(line.lstrip())]
            out.append(indent + "```pycon")
        out.append(line)
    if indent is not None:
        out.append(indent + "```")
    return out


EXTERNAL = "external"


def _path(obj: griffe.Object, name: str) -> str | None:
    """The full path of what ``name`` names, seen from ``obj``: None if it names nothing in
    the documented packages, ``EXTERNAL`` for a name outside them (``ValueError``, NumPy)."""
    if name.startswith("."):                                 # :mod:`.runner`: a sibling
        package = obj.module if obj.module.is_init_module else obj.module.parent
        path = f"{package.path}{name}"
    else:
        head, _, rest = name.partition(".")
        try:
            path = obj.resolve(head)
        except griffe.NameResolutionError:
            if hasattr(builtins, head) or (rest and head not in obj.modules_collection.members):
                return EXTERNAL                              # ValueError, numpy.ndarray
            path = head                                      # an absolute path: deltaprop.nn
        path = f"{path}.{rest}" if rest else path
    try:
        return obj.modules_collection[path].path
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None


def _cross_references(text: str, obj: griffe.Object) -> str:
    def link(match: re.Match) -> str:
        shown = match[2].rsplit(".", 1)[-1] if match[1] else match[2]
        path = _path(obj, match[2])
        if path is None:                                     # names nothing: strict fails
            return f"[`{shown}`][{match[2]}]"
        if path == EXTERNAL:
            return f"`{shown}`"
        return f'<autoref identifier="{path}" optional><code>{shown}</code></autoref>'

    return ROLE.sub(link, text)


def _math(lines: list[str]) -> list[str]:
    """``.. math::`` blocks and ``:math:`` roles as arithmatex's ``\\[ \\]`` and ``\\( \\)``."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        match = MATH_DIRECTIVE.match(lines[index])
        if match is None:
            out.append(lines[index])
            index += 1
            continue
        indent, body = match["indent"], [match["first"].strip()]
        index += 1
        while index < len(lines) and (not lines[index].strip()
                                      or len(lines[index]) - len(lines[index].lstrip())
                                      > len(indent)):
            body.append(lines[index].strip())
            index += 1
        equation = " ".join(line for line in body if line)
        if "&" in equation or "\\\\" in equation:           # rows: aligned at the &
            equation = rf"\begin{{aligned}} {equation} \end{{aligned}}"
        out.extend([f"{indent}\\[ {equation} \\]", ""])
    text = "\n".join(out)
    return MATH_ROLE.sub(lambda m: rf"\({' '.join(m[1].split())}\)", text).split("\n")


def _labelled_blocks(lines: list[str]) -> list[str]:
    """``Shape:`` followed by an indented block (PyTorch's layout) as the label and a list."""
    out: list[str] = []
    index, in_fence = 0, False
    while index < len(lines):
        line = lines[index]
        in_fence ^= line.lstrip().startswith("```")
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if (in_fence or not line.rstrip().endswith(":") or line[:1].isspace()
                or not following[:1].isspace() or not following.strip()
                or following.lstrip().startswith((">>>", "```"))):    # code, not a list
            out.append(line)
            index += 1
            continue
        block = []
        index += 1
        while index < len(lines) and (lines[index][:1].isspace() or (
                not lines[index].strip() and lines[index + 1:index + 2] != [""]
                and (lines[index + 1:index + 2] or [""])[0][:1].isspace())):
            block.append(lines[index])
            index += 1
        out.extend([line, "", *_as_list(block), ""])
    return out


def _as_list(block: list[str]) -> list[str]:
    """An indented block as Markdown list items: its least-indented lines start the items.

    A paragraph after a blank line in the block (``A parameter that breaks its rule ...``)
    closes the list and follows it as text.
    """
    base = min(len(line) - len(line.lstrip()) for line in block if line.strip())
    items: list[str] = []
    for number, group in enumerate("\n".join(block).split("\n\n")):
        lines = [line for line in group.split("\n") if line.strip()]
        if number > 0:
            items.extend(["", *(line.strip() for line in lines)])
            continue
        for line in lines:
            text = line.strip()
            if len(line) - len(line.lstrip()) > base:
                items.append("    " + text)
            else:
                items.append(text if text.startswith(("- ", "* ")) else f"- {text}")
    return items


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def conventional(text: str, obj: griffe.Object) -> str:
    """A deltaprop docstring rewritten into the numpydoc and Markdown that mkdocstrings reads."""
    kept, moved = _split_trailing_paragraphs(text.split("\n"))
    if moved:
        first = next((i for i in range(len(kept)) if _is_header(kept, i)), len(kept))
        kept = [*_trimmed(kept[:first]), "", *_trimmed(moved), "", *kept[first:]]
    lines = _math(_labelled_blocks(_fence_doctests(kept)))
    return _cross_references("\n".join(lines).rstrip() + "\n", obj)


class DocstringConventions(griffe.Extension):
    """Applies :func:`conventional` to every docstring griffe loads."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = conventional(obj.docstring.value, obj)
