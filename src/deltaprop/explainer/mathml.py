r"""MathML for the explainer's equations, written in Python: the HTML trace needs no script.

``to_mathml(equation)`` takes the Unicode equation a step prints, turns it into LaTeX with
:func:`~deltaprop.explainer.latex.to_math` (the same LaTeX the ``.tex`` trace carries) and
parses that small LaTeX (letters, numbers, operators, ``^``/``_`` scripts, ``{...}`` groups,
``\text``, ``\sqrt``, ``\hat``, ``\tilde``, ``\tfrac`` and the symbol commands of ``latex.py``) into
MathML Core, which current browsers typeset natively.  The equation itself is kept as the
``alttext`` and the LaTeX as an ``annotation``; every piece of text is XML-escaped, and an
unknown command is shown as its name (``<mtext>\foo</mtext>``), never dropped.
"""

from __future__ import annotations

import re
from html import escape

from .latex import to_math

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\d+(?:\.\d+)?|\s+|.", re.DOTALL)
_IDENTIFIERS = {  # command -> (text, upright): capital Greek is upright, as in LaTeX
    r"\alpha": ("α", False), r"\beta": ("β", False), r"\delta": ("δ", False),
    r"\epsilon": ("ϵ", False), r"\eta": ("η", False), r"\lambda": ("λ", False),
    r"\mu": ("μ", False), r"\pi": ("π", False), r"\sigma": ("σ", False), r"\tau": ("τ", False),
    r"\varphi": ("φ", False), r"\Delta": ("Δ", True), r"\Phi": ("Φ", True),
    r"\partial": ("∂", True), r"\nabla": ("∇", True), r"\top": ("⊤", True)}
_OPERATORS = {
    r"\odot": "⊙", r"\cdot": "·", r"\leftarrow": "←", r"\to": "→", r"\approx": "≈",
    r"\times": "×", r"\le": "≤", r"\ge": "≥", r"\ne": "≠", r"\in": "∈", r"\sum": "∑",
    r"\{": "{", r"\}": "}", r"\_": "_", r"\%": "%", r"\#": "#", r"\&": "&", r"\$": "$",
    r"\cdots": "⋯", r"\ldots": "…", "-": "−", "'": "′"}
_FENCES = set("()[]|")
_SPACES = {r"\quad": "1em", r"\qquad": "2em", r"\,": "0.1667em", r"\;": "0.2778em",
           r"\ ": "0.25em", "~": "0.25em"}


class _Parser:
    """A recursive-descent reader of the LaTeX subset above, one token list at a time."""

    def __init__(self, latex: str) -> None:
        self.tokens = _TOKEN.findall(latex)
        self.at = 0

    def peek(self) -> str | None:
        while self.at < len(self.tokens) and self.tokens[self.at].isspace():
            self.at += 1
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        self.at += 1
        return token or ""

    def sequence(self, stop: str | None = None) -> str:
        """Atoms up to ``stop`` (a closing brace) or the end, with their scripts."""
        parts = []
        while (token := self.peek()) is not None and token != stop:
            parts.append(self.scripted(self.atom() if token not in "^_'" else "<mrow></mrow>"))
        if stop is not None:
            self.take()                                   # the closing brace
        return "".join(parts)

    def scripted(self, base: str) -> str:
        """``base`` with any ``^{...}``, ``_{...}`` and primes that follow it."""
        sub = sup = ""
        while (token := self.peek()) in ("^", "_", "'"):
            self.take()
            if token == "'":
                sup += "<mo>′</mo>"
            elif token == "^":
                sup += self.argument()
            else:
                sub += self.argument()
        if sub and sup:
            return f"<msubsup>{base}<mrow>{sub}</mrow><mrow>{sup}</mrow></msubsup>"
        if sub or sup:
            tag = "msub" if sub else "msup"
            return f"<{tag}>{base}<mrow>{sub or sup}</mrow></{tag}>"
        return base

    def argument(self) -> str:
        """A braced group, or the single token that TeX would take."""
        if self.peek() == "{":
            self.take()
            return f"<mrow>{self.sequence('}')}</mrow>"
        return self.atom() if self.peek() is not None else "<mrow></mrow>"

    def raw_group(self) -> str:
        """The text of a ``{...}`` group, unparsed (for ``\\text``)."""
        if self.peek() != "{":
            return ""
        self.take()
        depth, out = 1, []
        while self.at < len(self.tokens):
            token = self.tokens[self.at]
            self.at += 1
            depth += {"{": 1, "}": -1}.get(token, 0)
            if depth == 0:
                break
            out.append(token[1:] if len(token) == 2 and token[0] == "\\" and
                       not token[1].isalpha() else token)
        return "".join(out)

    def atom(self) -> str:
        token = self.take()
        if token == "{":
            return f"<mrow>{self.sequence('}')}</mrow>"
        if token.startswith("\\") and len(token) > 1:
            return self.command(token)
        if token[0].isdigit():
            return f"<mn>{token}</mn>"
        if token.isalpha():
            return f"<mi>{escape(token)}</mi>"
        if token in _SPACES:
            return f'<mspace width="{_SPACES[token]}"></mspace>'
        text = _OPERATORS.get(token, token)
        if token in _FENCES:                  # as LaTeX sets them: never stretched, no spacing
            return f'<mo stretchy="false" lspace="0" rspace="0">{escape(text)}</mo>'
        return f"<mo>{escape(text)}</mo>"

    def command(self, name: str) -> str:
        if name == r"\text":
            return f"<mtext>{escape(self.raw_group())}</mtext>"
        if name == r"\sqrt":
            return f"<msqrt>{self.argument()}</msqrt>"
        if name == r"\hat":
            return f'<mover accent="true">{self.argument()}<mo>^</mo></mover>'
        if name == r"\tilde":
            return f'<mover accent="true">{self.argument()}<mo>~</mo></mover>'
        if name in (r"\frac", r"\tfrac", r"\dfrac"):
            return f"<mfrac>{self.argument()}{self.argument()}</mfrac>"
        if name in _IDENTIFIERS:
            text, upright = _IDENTIFIERS[name]
            return f'<mi mathvariant="normal">{text}</mi>' if upright else f"<mi>{text}</mi>"
        if name in _OPERATORS:
            return f"<mo>{escape(_OPERATORS[name])}</mo>"
        if name in _SPACES:
            return f'<mspace width="{_SPACES[name]}"></mspace>'
        return f"<mtext>{escape(name)}</mtext>"          # unknown: shown, never dropped


def latex_to_mathml(latex: str, display: bool = True, alttext: str | None = None) -> str:
    """A ``<math>`` element for a LaTeX formula of the subset above."""
    body = _Parser(latex).sequence()
    mode = ' display="block"' if display else ""
    alt = f' alttext="{escape(alttext)}"' if alttext is not None else ""
    return (f"<math{mode}{alt}><semantics><mrow>{body}</mrow>"
            f'<annotation encoding="application/x-tex">{escape(latex)}</annotation>'
            "</semantics></math>")


def unknown_commands(latex: str) -> list[str]:
    """The commands of ``latex`` this module does not know (the tests keep this empty)."""
    known = {*_IDENTIFIERS, *_OPERATORS, *_SPACES, r"\text", r"\sqrt", r"\hat", r"\tilde",
             r"\frac",
             r"\tfrac", r"\dfrac"}
    return [t for t in _TOKEN.findall(latex) if t.startswith("\\") and len(t) > 1
            and t not in known]


def to_mathml(equation: str, display: bool = True) -> str:
    """MathML for a Unicode equation as a step prints it (``Z⁽¹⁾ = A⁽⁰⁾ W⁽¹⁾ᵀ + b⁽¹⁾``)."""
    return latex_to_mathml(to_math(equation), display, alttext=equation)
