"""Public signatures are fully annotated, since the package ships ``py.typed``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import deltaprop

ROOT = Path(deltaprop.__file__).parent


def _is_public_module(rel: Path) -> bool:
    private = any(p.startswith("_") and p != "__init__.py" for p in rel.parts)
    return not private and rel.parts[0] != "cli"


def _public_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    found: list[ast.FunctionDef] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            if not node.name.startswith("_"):
                found.extend(n for n in node.body if isinstance(n, ast.FunctionDef))
        elif isinstance(node, ast.FunctionDef):
            found.append(node)
    return [fn for fn in found if not fn.name.startswith("_")]


def _incomplete(fn: ast.FunctionDef) -> bool:
    args = [a for a in fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")]
    args += [a for a in (fn.args.vararg, fn.args.kwarg) if a is not None]
    return fn.returns is None or any(a.annotation is None for a in args)


def _unannotated() -> list[str]:
    listed = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if not _is_public_module(rel):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        listed += [f"{rel}:{fn.lineno} {fn.name}"
                   for fn in _public_functions(tree) if _incomplete(fn)]
    return listed


def test_scan_sees_the_package() -> None:
    assert any(ROOT.rglob("*.py"))
    assert (ROOT / "py.typed").exists()


@pytest.mark.slow
def test_every_public_signature_is_annotated() -> None:
    missing = _unannotated()
    assert missing == [], "public functions lacking annotations:\n" + "\n".join(missing)


def test_scan_flags_a_missing_annotation() -> None:
    tree = ast.parse("def f(x) -> int: ...\ndef g(x: int): ...\ndef h(*a: int, **k) -> None: ...")
    assert all(_incomplete(fn) for fn in _public_functions(tree))
    ok = ast.parse("def f(x: int, *a: int, **k: int) -> int: ...\ndef _p(x): ...")
    assert not any(_incomplete(fn) for fn in _public_functions(ok))
