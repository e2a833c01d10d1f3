r"""Unicode equations (``Z⁽²⁾ = A⁽¹⁾ W⁽²⁾ᵀ + b⁽²⁾``) written as LaTeX.

The explainer writes every equation once, in Unicode, so the terminal shows it as it is;
``to_math`` turns it into LaTeX math (``Z^{(2)} = A^{(1)} W^{(2)\top} + b^{(2)}``) and
``to_text`` escapes prose for LaTeX text mode, putting the symbols in inline math.
"""

from __future__ import annotations

import re

_SUPER = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7",
          "⁸": "8", "⁹": "9", "⁽": "(", "⁾": ")", "⁻": "-", "ᵀ": r"\top ", "ᴸ": "L", "ˡ": "l"}
_SUB = {"ₙ": "n", "ₐ": "a", "ⱼ": "j", "ᵢ": "i"}
_SYMBOLS = {"Δ": r"\Delta ", "δ": r"\delta ", "η": r"\eta ", "α": r"\alpha ", "μ": r"\mu ",
            "σ": r"\sigma ", "φ": r"\varphi ", "Σ": r"\sum ", "∂": r"\partial ", "∇": r"\nabla ",
            "⊙": r"\odot ", "←": r"\leftarrow ", "→": r"\to ", "−": "-", "·": r"\cdot ",
            "′": "'", "½": r"\tfrac{1}{2}", "≈": r"\approx ", "×": r"\times ", "_": r"\_",
            "{": r"\{", "}": r"\}", "%": r"\%", "#": r"\#", "&": r"\&", "–": "-", "—": "---"}
_WORD = re.compile(r"[A-Za-z]{2,}(?:′)?")


def _runs(text: str, table: dict[str, str], marker: str) -> str:
    """Collect runs of super/subscript characters into ``^{...}`` / ``_{...}``."""
    out, run = [], []
    for char in text + "\0":
        if char in table:
            run.append(table[char])
            continue
        if run:
            out.append(marker + "{" + "".join(run).strip() + "}")
            run = []
        out.append(char)
    return "".join(out[:-1])


def to_math(equation: str) -> str:
    """LaTeX math (no ``$``) for a Unicode equation; words become ``\\text{...}``."""
    pieces = []
    for part in re.split(r"(\s+)", equation):
        if _WORD.fullmatch(part.strip("(),;:[]")):
            core = part.strip("(),;:[]")
            part = part.replace(core, r"\text{" + core + "}")
        pieces.append(part)
    text = "".join(pieces)
    for char, latex in _SYMBOLS.items():
        if char not in "{}":
            text = text.replace(char, latex)
    text = _runs(text, _SUPER, "^")
    return _runs(text, _SUB, "_")


def to_text(prose: str) -> str:
    """Escape prose for LaTeX text mode; Unicode symbols go into inline math."""
    out = []
    for char in prose:
        if char == "\\":
            out.append(r"\textbackslash{}")
        elif char in "&%$#_{}":
            out.append("\\" + char)
        elif char in "~^":
            out.append(r"\textasciitilde{}" if char == "~" else r"\textasciicircum{}")
        elif char in _SUPER:
            out.append(f"$^{{{_SUPER[char].strip()}}}$")
        elif char in _SUB:
            out.append(f"$_{{{_SUB[char]}}}$")
        elif char in _SYMBOLS and char not in "_{}%#&":
            out.append(f"${_SYMBOLS[char].strip()}$" if char not in "−–—" else
                       _SYMBOLS[char])
        elif ord(char) > 127:
            out.append("?")                                 # nothing else is expected
        else:
            out.append(char)
    return "".join(out).replace("$$", "")
