"""Errors raised for bad input: each names where, which key, which value and which rule."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CapacityWarning", "ConfigError", "InputError", "Issue", "NetworkError", "SimError",
           "refuse_unknown_keys"]

MAX_ISSUES_SHOWN = 20


class SimError(Exception):
    """Base class of every error this package raises on purpose."""


@dataclass(frozen=True)
class Issue:
    """One broken rule in some input.

    Parameters
    ----------
    where : str
        Where the offending value lives: ``"nodes.csv row 4"``, ``"demo.yaml: lanes.l3"``.
    key : str
        The field (column or key) holding the value.
    value : Any
        The offending value, as read.
    rule : str
        The rule it breaks, in words a user can act on.
    """

    where: str
    key: str
    value: Any
    rule: str

    def __str__(self) -> str:
        if self.key:
            return f"{self.where}: {self.key} = {self.value!r}: {self.rule}"
        return f"{self.where}: {self.rule}"


class InputError(SimError, ValueError):
    """Invalid input, carrying every :class:`Issue` found (not only the first)."""

    what = "input"

    def __init__(self, issues: list[Issue] | Issue, *, source: str = "") -> None:
        self.issues = [issues] if isinstance(issues, Issue) else list(issues)
        self.source = source
        super().__init__(self._message())

    def _message(self) -> str:
        n = len(self.issues)
        head = f"invalid {self.what}"
        if self.source:
            head += f" ({self.source})"
        head += f": {n} problem{'s' if n != 1 else ''}"
        lines = [f"  - {issue}" for issue in self.issues[:MAX_ISSUES_SHOWN]]
        if n > MAX_ISSUES_SHOWN:
            lines.append(f"  ... and {n - MAX_ISSUES_SHOWN} more")
        return "\n".join([head, *lines])


class NetworkError(InputError):
    """A network description breaks one or more rules."""

    what = "network"


class ConfigError(InputError):
    """A run, policy or disruption configuration breaks one or more rules."""

    what = "configuration"


class CapacityWarning(UserWarning):
    """A network whose nominal flows ask more of a node or lane than its capacity per day."""


def refuse_unknown_keys(section: str, data: Mapping[str, Any], known: Iterable[str]) -> None:
    """Raise a ConfigError naming the first key of ``data`` that is not ``known``.

    The message names the nearest known keys first (a misspelling is the usual cause), then
    every key there is.
    """
    allowed = sorted(known)
    unknown = sorted(set(data) - set(allowed), key=str)
    if unknown:
        key = unknown[0]
        raise ConfigError(Issue(section, str(key), data[key], unknown_key_rule(str(key), allowed)))


def unknown_key_rule(key: str, allowed: Iterable[str]) -> str:
    """The rule an unknown ``key`` breaks: the nearest valid keys, then all of them."""
    import difflib

    allowed = sorted(allowed)
    near = difflib.get_close_matches(key, allowed, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(near)}? " if near else ""
    return f"unknown option; {hint}expected one of {', '.join(allowed)}"
