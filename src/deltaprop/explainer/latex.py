r"""Unicode equations (``Z⁽²⁾ = A⁽¹⁾ W⁽²⁾ᵀ + b⁽²⁾``) written as LaTeX.

The explainer writes every equation once, in Unicode, so the terminal shows it as it is;
``to_math`` turns it into LaTeX math (``Z^{(2)} = A^{(1)} W^{(2)\top} + b^{(2)}``) and
``to_text`` escapes prose for LaTeX text mode, putting the symbols in inline math.
"""

from __future__ import annotations

import re
import unicodedata

_SUPER = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7",
          "⁸": "8", "⁹": "9", "⁽": "(", "⁾": ")", "⁻": "-", "ᵀ": r"\top ", "ᴸ": "L", "ˡ": "l",
          "ᵗ": "t"}
_SUB = {"ₙ": "n", "ₐ": "a", "ⱼ": "j", "ᵢ": "i", "₁": "1", "₂": "2"}
_SYMBOLS = {"Δ": r"\Delta ", "δ": r"\delta ", "η": r"\eta ", "α": r"\alpha ", "μ": r"\mu ",
            "σ": r"\sigma ", "φ": r"\varphi ", "Σ": r"\sum ", "∂": r"\partial ", "∇": r"\nabla ",
            "⊙": r"\odot ", "←": r"\leftarrow ", "→": r"\to ", "−": "-", "·": r"\cdot ",
            "′": "'", "½": r"\tfrac{1}{2}", "λ": r"\lambda ", "β": r"\beta ",
            "ε": r"\epsilon ", "τ": r"\tau ", "√": r"\sqrt ", "≈": r"\approx ",
            "×": r"\times ", "≤": r"\le ", "≥": r"\ge ", "≠": r"\ne ", "Φ": r"\Phi ",
            "π": r"\pi ", "∈": r"\in ", "_": r"\_",
            "{": r"\{", "}": r"\}", "%": r"\%", "#": r"\#", "&": r"\&", "–": "-", "—": "---"}
# a run of words becomes \text{...}; a one-letter symbol after a word stays math (log A⁽²⁾)
_WORD = re.compile(r"(?<![\\A-Za-z])([A-Za-z]{2,}(?:[ -][A-Za-z]{2,})*)( ?)")
_ASCII_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                   "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                   "^": r"\textasciicircum{}"}


def _runs(text: str, table: dict[str, str], open_: str, close: str) -> str:
    """Collect runs of super/subscript characters into ``open_ ... close`` groups."""
    out, run = [], []
    for char in text + "\0":
        if char in table:
            run.append(table[char])
            continue
        if run:
            group = "".join(run).strip()
            cut = group.rfind(")") + 1                       # "(1)2": A^{(1)} then ^{2}
            parts = [group[:cut], group[cut:]] if group[cut:].isdigit() and cut else [group]
            out.extend(open_ + part + close for part in parts)
            run = []
        out.append(char)
    return "".join(out[:-1])


def _tidy(text: str) -> str:
    text = re.sub(r"(\\[A-Za-z]+) +(?=[\^_'])", r"\1", text)      # "\Delta ^{" -> "\Delta^{"
    # a second script after a group ("A^{(1)}^{2}") needs an empty base: A^{(1)}{}^{2}
    return re.sub(r"\}(?=[\^_]\{)", "}{}", text)


def _closing(text: str, start: int) -> int:
    """The index just past the group that starts at ``start``: a ``(...)`` with its nested
    parentheses, else a run of characters up to a space or an unmatched ``)``."""
    depth, i = 0, start
    while i < len(text):
        char = text[i]
        if char in "({":
            depth += 1
        elif char in ")}":
            if depth == 0:
                return i
            depth -= 1
            if depth == 0 and text[start] == "(":
                return i + 1
        elif char == " " and depth == 0:
            return i
        i += 1
    return i


def _group_scripts(text: str) -> str:
    r"""``e^(−|Z|)`` -> ``e^{−|Z|}`` and ``\sqrt (2/\pi)`` -> ``\sqrt{2/\pi}``: TeX takes
    one token as a script or a radicand, so the parenthesised group is braced."""
    for head in ("^(", r"\sqrt "):
        at = text.find(head)
        while at >= 0:
            start = at + len(head) - (1 if head == "^(" else 0)
            end = _closing(text, start)
            inner = text[start:end]
            if inner.startswith("(") and inner.endswith(")"):
                inner = inner[1:-1]
            text = text[:at] + head.rstrip("( ") + "{" + inner + "}" + text[end:]
            at = text.find(head, at + 1)
    return text


def _decomposed(text: str) -> str:
    """A precomposed accented letter (``Ã``, ``ỹ``) as its letter and combining accent."""
    return "".join(unicodedata.normalize("NFD", c) if c.isalpha() and unicodedata
                   .decomposition(c).endswith(("0302", "0303")) else c for c in text)


def to_math(equation: str) -> str:
    """LaTeX math (no ``$``) for a Unicode equation; words become ``\\text{...}``."""
    equation = _decomposed(equation)
    text = "".join(_ASCII_SPECIALS.get(c, c) if c in "&%$#_" else c for c in equation)
    text = re.sub("([A-Za-z])\u0302", r"\\hat{\1}", text)        # m̂ (combining hat) -> \hat{m}
    text = re.sub("([A-Za-z])\u0303", r"\\tilde{\1}", text)      # Ã (combining tilde) -> \tilde{A}
    text = _WORD.sub(r"\\text{\1\2}", text).replace(";  ", r";\quad ")
    for char, latex in _SYMBOLS.items():
        if char not in "_{}%#&":
            text = text.replace(char, latex)
    text = _runs(text, _SUPER, "^{", "}")
    return _group_scripts(_tidy(_runs(text, _SUB, "_{", "}")))


_OPEN, _CLOSE = "\x01", "\x02"      # inline math, turned into $ once adjacent runs merged
_TEXT_MATH = {"<": "<", ">": ">", "|": "|"}    # OT1 text fonts have no < > | glyphs
_ACCENTS = {"\u0302": r"\hat", "\u0303": r"\tilde"}    # combining hat and tilde


def to_text(prose: str) -> str:
    """Escape prose for LaTeX text mode; Unicode symbols (and ``< > |``) go into inline math.

    Adjacent inline maths merge (``σ′(Z)`` is one ``$\\sigma'$`` run, never ``$$``); a literal
    ``$`` in the prose stays ``\\$``.
    """
    text = "".join(_ASCII_SPECIALS.get(char, char) for char in _decomposed(prose))
    text = "".join(f"{_OPEN}{_TEXT_MATH[c]}{_CLOSE}" if c in _TEXT_MATH else c for c in text)
    text = re.sub("([A-Za-z])([\u0302\u0303])", lambda m: _OPEN + _ACCENTS[m.group(2)] + "{"
                  + m.group(1) + "}" + _CLOSE, text)            # m̂, Ã: \hat{m}, \tilde{A}
    text = _runs(text, _SUPER, _OPEN + "^{", "}" + _CLOSE)
    text = _runs(text, _SUB, _OPEN + "_{", "}" + _CLOSE)
    for char, latex in _SYMBOLS.items():
        if char in "−–—":
            text = text.replace(char, latex)
        elif char not in "_{}%#&":
            text = text.replace(char, f"{_OPEN}{latex.strip()}{_CLOSE}")
    text = "".join(c if ord(c) < 128 else "?" for c in text)     # nothing else is expected
    text = _tidy(text.replace(_CLOSE + _OPEN, ""))
    return text.replace(_OPEN, "$").replace(_CLOSE, "$")


def to_code(code: str) -> str:
    r"""``\texttt{...}`` for a code location, breakable after each ``.`` and ``/``."""
    text = to_text(code).replace(".", r".\allowbreak{}").replace("/", r"/\allowbreak{}")
    return r"\texttt{" + text + "}"
