"""The practice functions a learner's file declares, read from its source (parsed, never run)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from .references import SPECS, TOPIC_FUNCTIONS
from .runner import source_text


def _declared(path: Path, only: str | None) -> list[str]:
    """The practice functions a file declares, read from its source (never run here)."""
    defined, topic = _source_names(path)
    if only:
        return [only] if only in defined else []
    return list(_wanted([topic], defined))


def _parsed(path: Path) -> ast.Module | None:
    """The file's source, parsed (never run); None for a file too large or not Python."""
    try:
        return ast.parse(source_text(path))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _source_names(path: Path) -> tuple[set[str], str | None]:
    """The names of the file's top-level functions and its ``DELTAPROP_TOPIC``, from its
    source (parsed, never run; nothing for a file too large or not Python)."""
    tree = _parsed(path)
    if tree is None:
        return set(), None
    defined = {node.name for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    topic = next((node.value.value for node in tree.body if isinstance(node, ast.Assign)
                  and isinstance(node.value, ast.Constant)
                  and any(isinstance(t, ast.Name) and t.id == "DELTAPROP_TOPIC"
                          for t in node.targets)), None)
    return defined, topic if isinstance(topic, str) else None


def _wanted(topics: list[Any], defined) -> tuple[str, ...]:
    """The functions to judge: the marked topics' (missing ones fail), then every other
    practice function the file defines (an extra function is judged too, never skipped)."""
    marked = tuple(dict.fromkeys(name for topic in topics if isinstance(topic, str)
                                 for name in TOPIC_FUNCTIONS.get(topic, ())))
    return marked + tuple(name for name in SPECS if name in defined and name not in marked)
