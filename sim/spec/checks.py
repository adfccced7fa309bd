"""The validation vocabulary every spec uses in its own ``__post_init__``.

Two styles, one set of rules and messages:

* :func:`fail`, :func:`number`, :func:`fraction`, :func:`factor`, :func:`choice` raise at the
  first broken rule (run, policy and disruption specs: a config has one author and one key at a
  time is clear);
* :class:`Checker` collects every broken rule of a spec before raising (network specs: a table
  read from a file should be fixed in one pass).

Each message names where the value lives, the key, the value and the rule (:class:`Issue`).
"""

from __future__ import annotations

import math
import re
from numbers import Integral, Real
from typing import Any

import numpy as np

from sim.spec.errors import ConfigError, InputError, Issue, NetworkError

__all__ = ["DECIMAL_COMMA", "Checker", "boolean", "choice", "factor", "fail", "fraction",
           "is_number", "is_whole", "number", "number_rule"]

DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+(?:[eE][+-]?\d+)?")
"""A number written with a decimal comma, such as ``0,5`` (a whole cell, blanks aside)."""


NO_LIMIT_WORDS = frozenset({"unlimited", "infinite", "infinity", "no limit", "none", "n/a",
                            "na", "-", "\u221e"})
"""Words people write for "no limit" or "nothing here" where a number is due."""


def number_rule(value: Any) -> str:
    """The rule a value that is not a number breaks, with a hint for what was likely meant."""
    if isinstance(value, str) and DECIMAL_COMMA.fullmatch(value.strip()):
        return ("must be a number, with a decimal point (0.5, not 0,5; a file separated by "
                "semicolons may use decimal commas)")
    if isinstance(value, str) and value.strip().lower() in NO_LIMIT_WORDS:
        return "must be a number (inf for no limit; an empty cell takes the default)"
    return "must be a number"


def fail(where: str, key: str, value: Any, rule: str) -> ConfigError:
    """The error for one broken rule (raise it)."""
    return ConfigError(Issue(where, key, value, rule))


def is_number(value: Any) -> bool:
    """A finite real number (numpy scalars included); not a bool, not text."""
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def is_whole(value: Any) -> bool:
    """An integer (numpy integers included); not a bool, not a float such as 3.0."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def number(where: str, key: str, value: Any, *, minimum: float | None = None,
           maximum: float | None = None, whole: bool = False) -> float:
    """``value`` as a float, refused unless a finite number within [minimum, maximum]."""
    if not is_number(value) or (whole and not float(value).is_integer()):
        raise fail(where, key, value, "must be a whole number" if whole else "must be a number")
    if minimum is not None and value < minimum:
        raise fail(where, key, value, f"must be >= {minimum:g}")
    if maximum is not None and value > maximum:
        raise fail(where, key, value, f"must be <= {maximum:g}")
    return float(value)


def boolean(where: str, key: str, value: Any) -> None:
    """Refuse ``value`` unless it is true or false.

    Text such as ``'no'`` (what ``key=no`` gives on Hydra's command line) is refused rather
    than read by its truth value, under which every non-empty text, ``'no'`` included, is true.
    """
    if not isinstance(value, bool | np.bool_):
        raise fail(where, key, value, "must be true or false")


def fraction(where: str, key: str, value: Any, *, zero_ok: bool = False) -> None:
    """Refuse ``value`` unless it is in (0, 1], or [0, 1] with ``zero_ok``."""
    if not is_number(value) or not (value >= 0 if zero_ok else value > 0) or value > 1:
        raise fail(where, key, value, f"must be in {'[0' if zero_ok else '(0'}, 1]")


def factor(where: str, key: str, value: Any, *, minimum: float) -> None:
    """Refuse ``value`` unless it is a number >= ``minimum`` (a multiplier such as 1.5)."""
    if not is_number(value) or value < minimum:
        raise fail(where, key, value, f"must be a number >= {minimum:g}")


def choice(where: str, key: str, value: Any, options: tuple[str, ...] | Any) -> None:
    """Refuse ``value`` unless it is one of ``options``."""
    if value not in options:
        raise fail(where, key, value, f"must be one of {', '.join(options)}")


class Checker:
    """Collects the broken rules of one spec, cleaning its fields as it goes.

    Values may come as text (a CSV cell): numbers and flags are parsed, then checked.

    Parameters
    ----------
    where : str
        Where the spec comes from (``"nodes.csv row 4"``), named in every issue.
    error : type
        The :class:`InputError` raised by :meth:`raise_if_any`.
    """

    def __init__(self, where: str, error: type[InputError] = NetworkError) -> None:
        self.where = where
        self.error = error
        self.issues: list[Issue] = []

    def fail(self, key: str, value: Any, rule: str) -> None:
        """Record one broken rule."""
        self.issues.append(Issue(self.where, key, value, rule))

    def text(self, key: str, value: Any, *, allow_empty: bool = False) -> str:
        """``value`` as stripped text (ids may be numbers in a file)."""
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail(key, value, "must be text")
            return str(value)
        value = str(value).strip()
        if not value and not allow_empty:
            self.fail(key, value, "must not be empty")
        return value

    def number(self, key: str, value: Any, *, minimum: float | None = 0.0, strict: bool = False,
               maximum: float | None = None, integer: bool = False,
               finite: bool = False) -> float:
        """``value`` as a float within the bounds (NaN when it is not a number)."""
        try:
            if isinstance(value, bool):
                raise TypeError
            parsed = float(value)
        except (TypeError, ValueError):
            self.fail(key, value, number_rule(value))
            return math.nan
        if math.isnan(parsed):
            self.fail(key, value, "must be a number, not NaN")
        elif finite and math.isinf(parsed):
            self.fail(key, value, "must be finite")
        elif minimum is not None and (parsed <= minimum if strict else parsed < minimum):
            self.fail(key, value, f"must be {'>' if strict else '>='} {minimum:g}")
        elif maximum is not None and parsed > maximum:
            self.fail(key, value, f"must be <= {maximum:g}")
        elif integer and not (math.isfinite(parsed) and parsed.is_integer()):
            self.fail(key, value, "must be a whole number of days")
        return parsed

    def flag(self, key: str, value: Any) -> bool:
        """``value`` as a bool (true/false, yes/no, 1/0; empty is false)."""
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0", ""):
            return False
        self.fail(key, value, "must be true or false")
        return False

    def choice(self, key: str, value: Any, options: tuple[str, ...]) -> str:
        """``value`` as lower-case text, one of ``options``."""
        text = str(value).strip().lower()
        if text not in options:
            self.fail(key, value, f"must be one of {', '.join(options)}")
        return text

    def raise_if_any(self) -> None:
        """Raise every collected issue at once, if there are any."""
        if self.issues:
            raise self.error(self.issues)
