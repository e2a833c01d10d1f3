r"""Every code block of ``README.md`` and ``docs/**/*.md`` runs, and the output it shows is the
output it gives.

The rules a page follows (``docs/testing.md`` says the same for writers):

- a ```` ```python ```` block is executed; the blocks of one page share one namespace, in page
  order, in a fresh temporary working directory (nothing is written into the repository).  A
  block written as a doctest (lines starting with ``>>> ``) is run by :mod:`doctest`, so the
  output it shows is compared with the real one; any other block must run without error (what it
  prints is discarded);
- a ```` ```console ```` block holds commands ``$ deltaprop ...`` (a trailing ``\`` continues a
  line, ``# ...`` is a comment), each followed by the output it shows.  Each command runs
  in-process through :func:`deltaprop.cli.main` (stdout and stderr together) and its output is
  compared line by line, trailing spaces ignored, with two allowances: a line that is only
  ``...`` stands for any number of lines (including none), and a line ending in ``...`` matches a
  line that starts with the text before it.  Timings such as ``(1.4 s)`` are compared as
  ``(… s)`` (:data:`TIMING`).  A command shown with no output must print nothing;
- a block that must not run (``make demo``, ``pip install``, an editor, a GPU) says so in its info
  string: ```` ```console norun ```` (or ``sh norun``, ``python norun``, ``text norun``).  Any
  other block, a ``text`` block included, is an error: a page cannot show output that is not
  checked.  ```` ```python requires=torch ```` runs a block only where that package is
  installed (nothing after it on the page may depend on it).

``docs/worked-example.md`` is left out: it is generated from the engine's trace and compared
with the generator's output byte for byte by ``tests/explainer/test_explain_worked_example.py``.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib.util
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATED = {"docs/worked-example.md"}
# pages whose blocks train networks or write plots (well over 0.2 s): run by `make test` only
SLOW_PAGES = {"README.md", "docs/index.md", "docs/practice.md", "docs/cli.md",
              "docs/files-and-interop.md", "docs/explainer.md", "docs/speed-and-gpu.md",
              "docs/notation-guide.md", "docs/getting-started.md", "docs/learners.md",
              "docs/practitioners.md"}
TIMING = re.compile(r"\(\d+(?:\.\d+)? s\)")          # "(1.4 s)" -> "(… s)"
FENCE = re.compile(r"^```(?P<info>[^`]*)$")


@dataclass
class Block:
    page: str
    line: int            # 1-based line of the opening fence
    language: str
    norun: bool
    text: str
    requires: tuple[str, ...] = ()     # ```python requires=torch: modules the block needs


def parse_blocks(text: str, page: str) -> list[Block]:
    """The fenced blocks of a Markdown page, in order, with their language and ``norun`` flag."""
    blocks, lines, index = [], text.splitlines(), 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        words = match["info"].split()
        end = index + 1
        while end < len(lines) and lines[end] != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"{page}:{index + 1}: a code block is never closed")
        requires = tuple(name for word in words[1:] if word.startswith("requires=")
                         for name in word.removeprefix("requires=").split(","))
        blocks.append(Block(page, index + 1, words[0] if words else "", "norun" in words[1:],
                            "\n".join(lines[index + 1:end]) + "\n", requires))
        index = end + 1
    return blocks


def pages() -> list[str]:
    """README.md and every page under docs/, subfolders included (docs/api/nn.md)."""
    found = ["README.md", *sorted(path.relative_to(ROOT).as_posix()
                                  for path in (ROOT / "docs").rglob("*.md"))]
    return [page for page in found if page not in GENERATED]


def pages_with_blocks() -> list[str]:
    """The pages that show code (the API reference pages hold only ``::: module`` lines)."""
    return [page for page in pages() if page_blocks(page)]


def page_blocks(page: str) -> list[Block]:
    return parse_blocks((ROOT / page).read_text(encoding="utf-8"), page)


# -- console blocks ----------------------------------------------------------------------------
def parse_console(block: Block) -> list[tuple[list[str], list[str]]]:
    """``[(argv after 'deltaprop', shown output lines), ...]`` of a console block."""
    commands: list[tuple[list[str], list[str]]] = []
    lines = block.text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("$ "):
            raise ValueError(f"{block.page}:{block.line}: output before any command: {line!r}")
        command = line[2:]
        while command.endswith("\\"):
            index += 1
            command = command[:-1] + " " + lines[index].strip()
        argv = shlex.split(command, comments=True)
        if not argv or argv[0] != "deltaprop":
            raise ValueError(f"{block.page}:{block.line}: {command!r} is not a deltaprop command; "
                             "mark the block 'console norun' if it must not run")
        index += 1
        output = []
        while index < len(lines) and not lines[index].startswith("$ "):
            output.append(lines[index])
            index += 1
        commands.append((argv[1:], output))
    return commands


def normalise(line: str) -> str:
    return TIMING.sub("(… s)", line.rstrip())


def output_matches(shown: list[str], real: list[str]) -> bool:
    """Whether ``real`` fits ``shown``, where ``...`` lines and trailing ``...`` elide."""
    shown = [normalise(line) for line in shown]
    real = [normalise(line) for line in real]

    # fits[i][j]: shown[i:] matches real[j:]; filled from the ends (no recursion: long outputs)
    fits = [[False] * (len(real) + 1) for _ in range(len(shown) + 1)]
    fits[len(shown)][len(real)] = True
    for i in range(len(shown) - 1, -1, -1):
        for j in range(len(real), -1, -1):
            if shown[i].strip() == "...":
                fits[i][j] = fits[i + 1][j] or (j < len(real) and fits[i][j + 1])
            elif j < len(real):
                if shown[i].endswith("..."):
                    same = real[j].startswith(shown[i][:-3])
                else:
                    same = shown[i] == real[j]
                fits[i][j] = same and fits[i + 1][j + 1]
    return fits[0][0]


def run_command(argv: list[str]) -> tuple[int, list[str]]:
    """``deltaprop ARGV`` in-process: the exit code and stdout + stderr as lines."""
    from deltaprop.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        try:
            code = main(argv)
        except SystemExit as exit_:           # argparse's --help / errors
            code = exit_.code if isinstance(exit_.code, int) else 1
    return code, buffer.getvalue().splitlines()


def check_console(block: Block) -> int:
    ran = 0
    for argv, shown in parse_console(block):
        _, real = run_command(argv)
        ran += 1
        if not output_matches(shown, real):
            raise AssertionError(
                f"{block.page}:{block.line}: 'deltaprop {shlex.join(argv)}' shows\n"
                + "\n".join(shown) + "\n--- but prints ---\n" + "\n".join(real))
    return ran


# -- python blocks -----------------------------------------------------------------------------
def check_python(block: Block, namespace: dict) -> None:
    if any(line.startswith(">>> ") for line in block.text.splitlines()):
        test = doctest.DocTestParser().get_doctest(block.text, namespace, block.page,
                                                   block.page, block.line)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS
                                       | doctest.NORMALIZE_WHITESPACE)
        report = io.StringIO()
        result = runner.run(test, out=report.write, clear_globs=False)
        namespace.update(test.globs)           # doctest ran on a copy: share what it defined
        assert result.failed == 0, f"{block.page}:{block.line}:\n{report.getvalue()}"
        return
    code = compile(block.text, f"{block.page}:{block.line}", "exec")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        exec(code, namespace)                 # what it prints (a progress bar) is not shown


def run_page(page: str) -> dict[str, int]:
    """Run every block of ``page`` in order; how many of each kind ran or were skipped."""
    counts = {"python": 0, "console commands": 0, "norun": 0, "skipped (package absent)": 0}
    namespace: dict = {"__name__": f"docs:{page}"}
    for block in page_blocks(page):
        if block.norun:
            counts["norun"] += 1
        elif not all(importlib.util.find_spec(name) for name in block.requires):
            counts["skipped (package absent)"] += 1     # e.g. torch: nothing later may need it
        elif block.language == "python":
            check_python(block, namespace)
            counts["python"] += 1
        elif block.language == "console":
            counts["console commands"] += check_console(block)
        else:
            raise AssertionError(f"{page}:{block.line}: a {block.language or 'plain'!r} block is "
                                 "neither run nor marked 'norun'")
    return counts


@pytest.mark.parametrize("page", [
    pytest.param(page, marks=pytest.mark.slow) if page in SLOW_PAGES else page
    for page in pages_with_blocks()])
def test_page_blocks_run_and_show_their_real_output(page, tmp_path, monkeypatch,
                                                     record_property):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    counts = run_page(page)
    for kind, count in counts.items():
        record_property(kind, count)          # shown in the JUnit report: how many ran
    assert counts["python"] + counts["console commands"] > 0, f"{page}: no block ran"


def test_every_page_is_collected_and_every_block_is_run_or_marked():
    seen = {"python": 0, "console": 0, "norun": 0}
    for page in pages():
        for block in page_blocks(page):
            if block.norun:
                seen["norun"] += 1
            else:
                assert block.language in ("python", "console"), (
                    f"{page}:{block.line}: a {block.language or 'plain'!r} block is neither run "
                    "nor marked 'norun'")
                seen[block.language] += 1
    assert {"README.md", "docs/index.md", "docs/api/nn.md"} <= set(pages())
    # the runnable blocks outnumber the ones that are only shown
    assert seen["python"] + seen["console"] > 3 * seen["norun"], seen


def test_relative_links_resolve():
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    for page in [*pages(), *GENERATED, "examples/README.md"]:
        for target in link.findall((ROOT / page).read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert ((ROOT / page).parent / target).exists(), f"{page}: broken link {target}"


# -- the checker itself -----------------------------------------------------------------------
def test_output_matching_rules():
    assert output_matches(["a", "b"], ["a", "b  "])
    assert not output_matches(["a", "b"], ["a", "c"])
    assert not output_matches(["a"], ["a", "b"])            # extra output is a difference
    assert not output_matches([], ["a"])                    # no shown output: must print nothing
    assert output_matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert output_matches(["a", "  ...", "d"], ["a", "d"])
    assert not output_matches(["a", "...", "d"], ["a", "b"])
    assert output_matches(["hint: W's shape ..."], ["hint: W's shape (out, in), and more"])
    assert not output_matches(["hint: W's shape ..."], ["hint: b's shape"])
    assert output_matches(["epoch 1 (1.4 s)"], ["epoch 1 (0.03 s)"])
    assert not output_matches(["epoch 1 (1.4 s)"], ["epoch 2 (1.4 s)"])


def test_parse_blocks_and_console_rules():
    page = "x.md"
    text = ("intro\n```python\nx = 1\n```\n```console norun\n$ make demo\n```\n"
            "```console\n$ deltaprop datasets --x \\\n    --y   # note\nout\n```\n")
    blocks = parse_blocks(text, page)
    assert [(b.language, b.norun, b.line) for b in blocks] == [
        ("python", False, 2), ("console", True, 5), ("console", False, 8)]
    assert parse_console(blocks[2]) == [(["datasets", "--x", "--y"], ["out"])]
    with pytest.raises(ValueError, match="not a deltaprop command"):
        parse_console(Block(page, 1, "console", False, "$ make demo\n"))
    with pytest.raises(ValueError, match="never closed"):
        parse_blocks("```python\nx = 1\n", page)


def test_a_wrong_shown_output_fails(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = Block("x.md", 1, "console", False, "$ deltaprop datasets\n...\n")
    assert check_console(good) == 1
    bad = Block("x.md", 1, "console", False, "$ deltaprop datasets\nno such line\n")
    with pytest.raises(AssertionError, match="but prints"):
        check_console(bad)
    with pytest.raises(AssertionError, match="Failed example"):
        check_python(Block("x.md", 1, "python", False, ">>> 1 + 1\n3\n"), {})
