r"""A drill on the memory card: Leitner boxes, kept between runs in the user's data directory.

Each card is one step of the memory card (``deltaprop card``).  Shown its step and shapes,
the learner recalls the equation and grades themself when it is revealed (``y`` / ``n``);
or, in the typed mode, shown the equation, the learner types its shapes, which are checked.

Leitner boxes 1 to :data:`BOXES`: a new card starts in box 1; a card recalled moves up one
box, a card missed goes back to box 1.  A card in box ``b`` comes back every ``2**(b-1)``
sessions (box 1 every session), so missed cards come back sooner.

The state is a small JSON file (:func:`state_path`).  It is read as untrusted input: a file
that is not the format written here (hand-edited, damaged, too large) is set aside as
``*.damaged`` with a message, and the drill starts over; never a traceback.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..io._files import atomic_write

BOXES = 5
STATE_NAME = "card_quiz.json"
STATE_LIMIT = 1024 ** 2          # bytes: a larger state file is not one written here
VERSION = 1


@dataclass(frozen=True)
class Card:
    """One step of the memory card: what is shown, and what is to be recalled."""

    step: str          # e.g. "4 weight gradient"
    equation: str
    shapes: str        # may be "" (a step without shapes)
    notation: str

    @property
    def key(self) -> str:
        """Stable between runs: the notation and the equation."""
        text = f"{self.notation}\n{self.equation}".encode()
        return hashlib.sha256(text).hexdigest()[:16]


def data_dir() -> Path:
    """deltaprop's data directory: ``$DELTAPROP_DATA_DIR`` if set, else the platform's
    (``$XDG_DATA_HOME/deltaprop`` or ``~/.local/share/deltaprop`` on Linux,
    ``~/Library/Application Support/deltaprop`` on macOS, ``%APPDATA%\\deltaprop`` on
    Windows)."""
    if os.environ.get("DELTAPROP_DATA_DIR"):
        return Path(os.environ["DELTAPROP_DATA_DIR"])
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / "deltaprop"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "deltaprop"
    base = os.environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(base):                     # the XDG spec: a relative one is ignored
        base = str(Path.home() / ".local" / "share")
    return Path(base) / "deltaprop"


def state_path() -> Path:
    return data_dir() / STATE_NAME


class DamagedStateError(ValueError):
    """The state file is not one this module wrote."""


def _validated(data: Any) -> dict:
    """The state if ``data`` follows the format exactly; else :class:`DamagedStateError`."""
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise DamagedStateError(f"not a version-{VERSION} quiz state")
    session, cards = data.get("session"), data.get("cards")
    if type(session) is not int or session < 0:
        raise DamagedStateError("'session' is not an integer >= 0")
    if not isinstance(cards, dict):
        raise DamagedStateError("'cards' is not an object")
    for key, entry in cards.items():
        if not isinstance(entry, dict) or set(entry) != {"box", "last", "seen", "missed"}:
            raise DamagedStateError(f"card {key[:20]!r} is not box, last, seen, missed")
        if type(entry["box"]) is not int or not 1 <= entry["box"] <= BOXES:
            raise DamagedStateError(f"card {key[:20]!r} has a box outside 1..{BOXES}")
        if not all(type(entry[k]) is int and 0 <= entry[k] <= session
                   for k in ("last",)) or not all(type(entry[k]) is int and entry[k] >= 0
                                                  for k in ("seen", "missed")):
            raise DamagedStateError(f"card {key[:20]!r} has counts that are not integers "
                                    "within the sessions")
    return {"version": VERSION, "session": session, "cards": cards}


def empty_state() -> dict:
    return {"version": VERSION, "session": 0, "cards": {}}


def load_state(path: Path, warn: Callable[[str], Any]) -> dict:
    """The state at ``path`` (empty if there is none); a damaged one is set aside as
    ``path.damaged``, with a message to ``warn``, and the drill starts over."""
    try:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise DamagedStateError("it is not a regular file")
        if not path.exists():
            return empty_state()
        if path.stat().st_size > STATE_LIMIT:
            raise DamagedStateError(f"it is larger than {STATE_LIMIT} bytes")
        data = json.loads(path.read_text(encoding="utf-8"))
        return _validated(data)
    except (DamagedStateError, ValueError, UnicodeDecodeError, RecursionError) as error:
        aside = path.with_name(path.name + ".damaged")
        try:
            os.replace(path, aside)
            kept = f"; it was moved to {aside}"
        except OSError:
            kept = ""
        warn(f"the quiz progress in {path} could not be read ({error}){kept}; "
             "starting over from box 1")
        return empty_state()
    except OSError as error:
        warn(f"the quiz progress in {path} could not be read ({error.strerror or error}); "
             "starting over from box 1 (it will not be saved over)")
        return empty_state()


def save_state(path: Path, state: dict) -> None:
    """Write ``state`` whole (or not at all), creating the data folder; an OSError when the
    folder cannot be had (a file in its place: NotADirectoryError naming it)."""
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
    if folder is not None and not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{folder} is a file, not a folder",
                                 str(folder))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(state, indent=1, sort_keys=True).encode("utf-8"))


def due(cards: Sequence[Card], state: dict) -> list[Card]:
    """The cards of this session (``state["session"]``, already counted): new ones, and
    those whose box's interval has passed (box ``b`` every ``2**(b-1)`` sessions), lowest
    box first."""
    session, known = state["session"], state["cards"]

    def is_due(card: Card) -> bool:
        entry = known.get(card.key)
        return entry is None or session - entry["last"] >= 2 ** (entry["box"] - 1)
    chosen = [card for card in cards if is_due(card)]
    return sorted(chosen, key=lambda c: known.get(c.key, {"box": 1})["box"])


def record(state: dict, card: Card, recalled: bool) -> int:
    """Move ``card`` up one box if ``recalled``, back to box 1 if not; its new box."""
    entry = state["cards"].setdefault(card.key, {"box": 1, "last": 0, "seen": 0, "missed": 0})
    entry["box"] = min(entry["box"] + 1, BOXES) if recalled else 1
    entry["last"] = state["session"]
    entry["seen"] += 1
    entry["missed"] += 0 if recalled else 1
    return entry["box"]


def normalise_shapes(text: str) -> str:
    """Shapes as typed, compared without spaces or case: ``(N, out)`` = ``(n,out)``."""
    return "".join(text.split()).lower().replace("→", "->")


def ask(prompt: str, lines: Iterator[str], out: TextIO, echo: bool = True) -> str | None:
    """Print ``prompt`` and read one answer line; None at the end of the input.  Answers
    that do not come from a terminal (a script, a test) are echoed, so the transcript reads
    as a dialogue."""
    out.write(prompt)
    out.flush()
    line = next(lines, None)
    if line is None:
        out.write("\n")
        return None
    if echo:
        out.write(line if line.endswith("\n") else line + "\n")
    return line.rstrip("\r\n")



def cards_from_rows(rows: Iterable[tuple[str, str, str]], notation: str,
                    typed: bool = False) -> list[Card]:
    """The quiz cards of a memory card's rows: each row with an equation to recall (and, for
    ``typed``, a shape to type)."""
    found = []
    for step, equation, shapes in rows:
        if lhs(equation) is None or (typed and result_shape(shapes) is None):
            continue
        found.append(Card(step, equation, shapes, notation))
    return list(dict.fromkeys(found))            # a repeated row is one card


def lhs(equation: str) -> str | None:
    """What an equation defines, ``∂L/∂W⁽²⁾`` of ``∂L/∂W⁽²⁾ = Δ⁽²⁾ᵀ A⁽¹⁾``; None if none."""
    for sign in (" = ", " ← ", " := "):
        if sign in equation:
            return equation.split(sign, 1)[0] + sign.rstrip()
    return None


def result_shape(shapes: str) -> str | None:
    """The shape of a step's result: after the last arrow, or the whole column if it is one
    shape like ``(N, 3)``; None where the column holds no shape."""
    last = shapes.replace("->", "→").rsplit("→", 1)[-1].strip()
    if last.startswith("(") and last.endswith(")") and last.count("(") == 1:
        return last
    return None


def drill(cards: Sequence[Card], state: dict, lines: Iterable[str], out: TextIO, *,
          typed: bool = False, limit: int | None = None,
          save: Callable[[dict], Any] = lambda state: None, echo: bool = True
          ) -> tuple[int, int]:
    """One session over the due cards (at most ``limit``): ``(recalled, asked)``.

    ``lines`` are the learner's answers (stdin); the end of them ends the session early,
    with the answers so far kept.  ``save(state)`` is called after each card.  ``echo``
    writes each answer after its prompt (answers that do not come from a terminal).
    """
    state["session"] += 1
    chosen = due(cards, state)[:limit]
    lines = iter(lines)
    recalled = asked = 0
    for number, card in enumerate(chosen, 1):
        box = state["cards"].get(card.key, {"box": 1})["box"]
        out.write(f"\n[{number}/{len(chosen)}] box {box} · {card.step}\n")
        answer = (_typed_round if typed else _recall_round)(
            card, lambda prompt: ask(prompt, lines, out, echo), out)
        if answer is None:
            out.write("(end of input: the answers so far are kept)\n")
            break
        asked += 1
        recalled += answer
        new_box = record(state, card, answer)
        out.write(f"  -> box {new_box}\n")
        save(state)
    if not chosen:
        out.write("nothing due this time: every card is in a later box; come back next "
                  "session (or --reset)\n")
    save(state)
    return recalled, asked


def _recall_round(card: Card, answer: Callable[[str], str | None], out: TextIO
                  ) -> bool | None:
    """Shapes shown, the equation recalled, then revealed and graded by the learner."""
    out.write(f"  shapes: {card.shapes or '(none)'}\n")
    attempt = answer(f"  {lhs(card.equation)} ?  (recall it; type it or press Enter): ")
    if attempt is None:
        return None
    out.write(f"  answer: {card.equation}\n")
    if attempt.strip() and attempt.split() == card.equation.split():
        return True                              # typed exactly: no need to ask
    for _ in range(3):
        grade = answer("  did you recall it? [y/n]: ")
        if grade is None:
            return None
        if grade.strip().lower() in ("y", "yes", "n", "no"):
            return grade.strip().lower().startswith("y")
        out.write("  please answer y or n\n")
    return False                                  # three answers that are not y / n


def _typed_round(card: Card, answer: Callable[[str], str | None], out: TextIO
                 ) -> bool | None:
    """The equation shown, the shape of its result typed and checked."""
    out.write(f"  {card.equation}\n")
    typed = answer("  the shape of the result: ")
    if typed is None:
        return None
    expected = result_shape(card.shapes)
    right = normalise_shapes(typed) == normalise_shapes(expected or "")
    out.write(f"  {'right' if right else 'not quite'}: {expected}  ({card.shapes})\n")
    return right


def boxes_summary(state: dict, cards: Sequence[Card]) -> str:
    """``box 1: 3  box 2: 5 ...`` for the cards of this deck."""
    counts = [0] * BOXES
    for card in cards:
        counts[state["cards"].get(card.key, {"box": 1})["box"] - 1] += 1
    return "  ".join(f"box {i + 1}: {n}" for i, n in enumerate(counts))
