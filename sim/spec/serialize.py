"""The mapping form of specs: one set of rules for policies, disruptions, networks and configs.

A spec's mapping form is what a YAML config, a risk register or a dataset's ``config`` attr
holds: plain dicts, lists, text and numbers. The rules, shared by every spec module:

* :func:`plain` turns a value into that form (tuples to lists, ``inf`` to ``"inf"``, numpy
  scalars to Python numbers, nested specs to mappings of the fields they set);
* :func:`changed_fields` lists the fields of a spec that differ from their defaults (the
  mapping form leaves defaults out, so a config says only what it chose);
* :func:`field_issues` checks a mapping against a spec class before building it: every
  unknown key (with the nearest valid ones) and every missing required field, at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, fields, is_dataclass
from typing import Any

import numpy as np

from sim.spec.errors import Issue, unknown_key_rule

__all__ = ["changed_fields", "default_of", "field_issues", "plain"]


def default_of(field: Any) -> Any:
    """A dataclass field's default (``MISSING`` when it has none)."""
    if field.default_factory is not MISSING:
        return field.default_factory()
    return field.default


def changed_fields(spec: Any) -> Iterator[tuple[str, Any]]:
    """(name, value) of each field of ``spec`` whose value differs from its default."""
    for f in fields(spec):
        value = getattr(spec, f.name)
        if value != default_of(f):
            yield f.name, value


def plain(value: Any) -> Any:
    """``value`` in plain, YAML-able form (see the module docstring)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {name: plain(item) for name, item in changed_fields(value)}
    if isinstance(value, Mapping):
        return {(k if isinstance(k, int) else str(k)): plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if isinstance(value, np.generic):
        return value.item()
    return value


def field_issues(cls: type, data: Mapping[str, Any], where: str, noun: str) -> list[Issue]:
    """The unknown keys and missing required fields of ``data`` for the spec class ``cls``."""
    allowed = [f.name for f in fields(cls)]
    required = [f.name for f in fields(cls)
                if f.init and f.default is MISSING and f.default_factory is MISSING]
    issues = [Issue(where, str(key), data[key],
                    unknown_key_rule(str(key), allowed).replace("unknown option",
                                                                f"unknown field of {noun}", 1))
              for key in sorted(set(data) - set(allowed), key=str)]
    issues += [Issue(where, key, None, f"required field of {noun} missing")
               for key in required if key not in data]
    return issues
