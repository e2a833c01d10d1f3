"""``deltaprop card --quiz``: a Leitner drill on the memory card, answers read from stdin."""

from __future__ import annotations

import io
import json
import sys

import pytest

from deltaprop.cli import main
from deltaprop.explainer.memory_card import card_rows
from deltaprop.practice import quiz

NET = ["--widths", "2,3,1", "--activation", "tanh", "--output-activation", "sigmoid",
       "--loss", "bce"]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("DELTAPROP_DATA_DIR", str(folder))
    return folder


def _run(monkeypatch, capsys, answers: str, *flags: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(answers))
    code = main(["card", *NET, "--quiz", *flags])
    out, err = capsys.readouterr()
    return code, out, err


def _cards(typed: bool = False) -> list[quiz.Card]:
    rows = card_rows([2, 3, 1], "tanh", "sigmoid", "bce")[2]
    return quiz.cards_from_rows(rows, "batch", typed=typed)


def _boxes(folder) -> dict[str, int]:
    state = json.loads((folder / quiz.STATE_NAME).read_text(encoding="utf-8"))
    return {key: entry["box"] for key, entry in state["cards"].items()}


@pytest.mark.slow
def test_self_graded_answers_move_cards_between_boxes_and_persist(data_dir, monkeypatch,
                                                                 capsys):
    first, second, *_ = _cards()
    code, out, _ = _run(monkeypatch, capsys, "\ny\nmy guess\nn\n", "--count", "2")
    assert code == 0
    assert first.shapes in out and first.equation in out and "recalled 1 of 2" in out
    assert "[y/n]: y\n" in out and "Enter): my guess\n" in out     # a scripted drill reads well
    assert _boxes(data_dir) == {first.key: 2, second.key: 1}
    # session 2: the missed card comes back, the recalled one (box 2) waits a session
    _, out, _ = _run(monkeypatch, capsys, "\ny\n", "--count", "1")
    assert f"box 1 · {second.step}" in out and second.equation in out
    assert _boxes(data_dir)[second.key] == 2
    # session 3: box 2 comes back every 2nd session: the first card, not the second yet
    _, out, _ = _run(monkeypatch, capsys, "\nn\n" * 20)
    assert first.equation in out and second.equation not in out
    assert _boxes(data_dir)[first.key] == 1                          # missed: back to box 1


def test_typing_the_equation_exactly_counts_without_asking(data_dir, monkeypatch, capsys):
    first = _cards()[0]
    _, out, _ = _run(monkeypatch, capsys, first.equation + "\n", "--count", "1")
    assert "did you recall" not in out and _boxes(data_dir) == {first.key: 2}


def test_typed_shapes_are_checked(data_dir, monkeypatch, capsys):
    first, second, *_ = _cards(typed=True)
    right = quiz.result_shape(first.shapes)
    code, out, _ = _run(monkeypatch, capsys, f" {right.lower()} \n(7, 7)\n",
                        "--type-shapes", "--count", "2")
    assert code == 0 and "right:" in out and "not quite:" in out
    assert _boxes(data_dir) == {first.key: 2, second.key: 1}


def test_the_end_of_stdin_keeps_the_answers_so_far(data_dir, monkeypatch, capsys):
    first = _cards()[0]
    code, out, _ = _run(monkeypatch, capsys, "\ny\n\n")             # stops at card 2's grade
    assert code == 0 and "end of input" in out and _boxes(data_dir) == {first.key: 2}


def test_nothing_due_says_so(data_dir, monkeypatch, capsys):
    cards = _cards()
    _run(monkeypatch, capsys, "\ny\n" * len(cards))                  # all to box 2
    _, out, _ = _run(monkeypatch, capsys, "")
    assert "nothing due" in out


@pytest.mark.parametrize("content", [
    b"not json", b"[]", b'{"version": 2, "session": 0, "cards": {}}',
    b'{"version": 1, "session": -1, "cards": {}}',
    b'{"version": 1, "session": 3, "cards": {"k": {"box": 9, "last": 1, "seen": 1, '
    b'"missed": 0}}}',
    b'{"version": 1, "session": 3, "cards": {"k": {"box": 1, "last": 7, "seen": 1, '
    b'"missed": 0}}}',
    b'{"version": 1, "session": 3, "cards": {"k": {"box": 1}}}',
    b"\xff\xfe garbage", b"[" * 100_000, b" " * (quiz.STATE_LIMIT + 1)],
    ids=["text", "list", "version", "session", "box", "future", "fields", "bytes", "deep",
         "huge"])
def test_a_damaged_state_file_is_set_aside_with_a_message(data_dir, monkeypatch, capsys,
                                                          content):
    data_dir.mkdir()
    (data_dir / quiz.STATE_NAME).write_bytes(content)
    code, _, err = _run(monkeypatch, capsys, "\ny\n", "--count", "1")
    assert code == 0 and "could not be read" in err and "Traceback" not in err
    assert (data_dir / (quiz.STATE_NAME + ".damaged")).read_bytes() == content
    assert _boxes(data_dir) == {_cards()[0].key: 2}                 # started over, saved


def test_reset_forgets_the_progress(data_dir, monkeypatch, capsys):
    _run(monkeypatch, capsys, "\ny\n", "--count", "1")
    assert (data_dir / quiz.STATE_NAME).exists()
    assert main(["card", "--reset"]) == 0
    assert "reset" in capsys.readouterr().out
    assert not (data_dir / quiz.STATE_NAME).exists()
    assert main(["card", "--reset"]) == 0
    assert "no quiz progress" in capsys.readouterr().out


def test_quiz_flags_need_quiz(data_dir, capsys):
    assert main(["card", "--count", "3"]) == 2
    assert "--quiz" in capsys.readouterr().err


def test_data_dir_follows_the_override_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DELTAPROP_DATA_DIR", str(tmp_path / "own"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert quiz.state_path() == tmp_path / "own" / quiz.STATE_NAME
    monkeypatch.delenv("DELTAPROP_DATA_DIR")
    assert quiz.data_dir() == tmp_path / "xdg" / "deltaprop"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert quiz.data_dir() == tmp_path / "home" / ".local" / "share" / "deltaprop"


@pytest.mark.parametrize("below", ["", "sub"])
def test_a_file_where_the_data_folder_should_be_is_named(tmp_path, monkeypatch, capsys, below):
    """The drill goes on, the note says which path is a file (was: 'File exists')."""
    blocker = tmp_path / "data"
    blocker.write_text("mine\n")
    monkeypatch.setenv("DELTAPROP_DATA_DIR", str(blocker / below))
    code, out, err = _run(monkeypatch, capsys, "\ny\n", "--count", "1")
    assert code == 0 and "recalled 1 of 1" in out
    assert f"cannot be saved to {blocker / below / quiz.STATE_NAME}: {blocker} is a file, " \
           "not a folder" in err
    assert blocker.read_text() == "mine\n"


def test_a_relative_xdg_data_home_is_ignored_as_the_spec_says(monkeypatch, tmp_path):
    """(was: the progress kept under whatever folder the quiz was started in)"""
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DELTAPROP_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", "relative/data")
    assert quiz.data_dir() == tmp_path / "home" / ".local" / "share" / "deltaprop"
