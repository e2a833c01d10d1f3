"""Parameter checks, in one place, with one error type.

Every constructor and function of deltaprop checks its scalar parameters here, so the rules
and the messages are the same everywhere (scikit-learn's ``_param_validation`` is the model):

- a **number** is any real number (``0.5``, ``np.float32(0.5)``, ``np.int64(1)``), finite,
  never a bool (``True`` is not a learning rate);
- an **integer** is an ``int`` or a NumPy integer (``np.int64(3)``), never a bool or a float
  (``2.0`` is refused: a count written as a float is usually a mistake);
- a **flag** is ``True`` / ``False`` (``np.True_`` too), never ``0`` or ``"no"``;
- a **seed** is ``None``, an integer >= 0 or a ``numpy.random.Generator``.

A broken rule raises :class:`InvalidParameterError`, which is both a ``ValueError`` and a
``TypeError`` (as scikit-learn's), so ``except ValueError`` and ``except TypeError`` both catch
it.  Its message has one shape: ``"<Owner> <name> must be <rule>, got <value!r>"``, e.g.
``Dropout p must be a finite number in [0, 1), got 1.5``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

import numpy as np


class InvalidParameterError(ValueError, TypeError):
    """A parameter broke its rule: the message names the owner, the parameter, the rule and
    the value received.  Both a ``ValueError`` and a ``TypeError``, so code written for either
    catches it (scikit-learn's ``InvalidParameterError`` is the same)."""


def refuse(owner: str, name: str, rule: str, value: Any) -> InvalidParameterError:
    """The error for ``owner``'s ``name`` breaking ``rule``, ready to raise (``owner`` may be
    "": the message then starts with ``name``)."""
    prefix = f"{owner} " if owner else ""
    return InvalidParameterError(f"{prefix}{name} must be {rule}, got {value!r}")


def is_number(value: Any) -> bool:
    """A real number that is not a bool and that a float can hold (``10**400`` cannot)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        return False
    try:
        float(value)
    except (OverflowError, TypeError, ValueError):
        return False
    return True


def check_number(owner: str, name: str, value: Any, *, low: float = -math.inf,
                 high: float = math.inf, low_open: bool = False,
                 high_open: bool = True) -> float:
    """``value`` as a Python float if it is a finite real number in the interval from ``low``
    to ``high`` (closed at ``low`` and open at ``high`` unless told otherwise), else an
    :class:`InvalidParameterError` naming the interval: ``"a finite number in [0, 1)"``."""
    ok = is_number(value) and math.isfinite(float(value))
    if ok:
        number = float(value)
        ok = (number > low if low_open else number >= low) and \
            (number < high if high_open else number <= high)
    if not ok:
        raise refuse(owner, name, _number_rule(low, high, low_open, high_open), value)
    return float(value)


def _number_rule(low: float, high: float, low_open: bool, high_open: bool) -> str:
    if low == -math.inf and high == math.inf:
        return "a finite number"
    interval = ("(" if low_open else "[") + f"{low:g}, {high:g}" + (")" if high_open else "]")
    return f"a finite number in {interval}"


def check_integer(owner: str, name: str, value: Any, *, low: int,
                  high: int | None = None, rule: str | None = None) -> int:
    """``value`` as a Python int if it is an integer (``np.int64`` too, not a bool, not a
    float) in ``[low, high]``, else an :class:`InvalidParameterError` naming the rule
    (``"an integer >= 1"``; ``rule`` overrides that text)."""
    integer = not isinstance(value, (bool, np.bool_)) and isinstance(value, Integral)
    if not integer or value < low or (high is not None and value > high):
        within = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise refuse(owner, name, rule or f"an integer {within}", value)
    return int(value)


def positive_int(name: str, value: Any) -> int:
    """``check_integer("", name, value, low=1)``: an integer >= 1."""
    return check_integer("", name, value, low=1)


def check_flag(owner: str, name: str, value: Any) -> bool:
    """``True`` / ``False`` (NumPy's too) as a Python bool; ``0``, ``1``, ``"no"`` are not
    flags and raise :class:`InvalidParameterError`."""
    if not isinstance(value, (bool, np.bool_)):
        raise refuse(owner, name, "True or False", value)
    return bool(value)


def check_choice(owner: str, name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` if it is one of the strings ``choices``, else an
    :class:`InvalidParameterError` listing them: ``"'min' or 'max'"``."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        quoted = [repr(choice) for choice in choices]
        listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        raise refuse(owner, name, listed, value)
    return str(value)                                   # np.str_ -> str


SEED_RULE = "None, an integer >= 0 or a np.random.Generator"


def check_seed(owner: str, name: str, value: Any) -> np.random.Generator:
    """A ``numpy.random.Generator`` from ``value``: ``None`` (fresh entropy), an integer >= 0
    (``np.int64`` too, not a bool) or a Generator (returned as it is, its state shared), else
    an :class:`InvalidParameterError`.  NumPy's ``SeedSequence`` and bit generators pass too,
    as ``np.random.default_rng`` takes them."""
    if isinstance(value, (np.random.Generator, np.random.SeedSequence,
                          np.random.BitGenerator)) or value is None:
        return np.random.default_rng(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) or value < 0:
        raise refuse(owner, name, SEED_RULE, value)
    return np.random.default_rng(int(value))


class _NotGiven:
    """The default of a deprecated keyword, so that passing ``None`` still counts as given."""

    def __repr__(self) -> str:
        return "<not given>"


NOT_GIVEN: Any = _NotGiven()


def seed_or_rng(owner: str, seed: Any, rng: Any, *, stacklevel: int = 3) -> np.random.Generator:
    """The Generator for ``seed=``, accepting the deprecated ``rng=`` spelling of it.

    ``rng`` given (anything but :data:`NOT_GIVEN`) warns with a ``DeprecationWarning`` that
    names ``seed=``; ``seed`` and ``rng`` both given is an :class:`InvalidParameterError`.
    ``stacklevel`` 3 points the warning at the caller of the function that calls this one.
    """
    if rng is not NOT_GIVEN:
        if seed is not None:
            raise InvalidParameterError(
                f"{owner} got both seed={seed!r} and rng={rng!r}: rng is the deprecated "
                "spelling of seed, pass seed only")
        warnings.warn(f"{owner} rng= is deprecated and will be removed in the next release; "
                      f"pass seed= ({SEED_RULE}) instead", DeprecationWarning,
                      stacklevel=stacklevel)
        seed = rng
    return check_seed(owner, "seed", seed)
