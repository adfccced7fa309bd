"""Specs in plain words, for the console and the report: ``ctrl_a stopped, days 30-59``.

Each event reads as what is hit, when and how much; each policy as its parts that differ
from "not used", with units (``detection delay 2 days``, ``premium 1.5/unit``). Rules
(``@slowest``) are shown with what they pick on the network at hand.
"""

from __future__ import annotations

from typing import Any

__all__ = ["describe_event", "describe_policy"]

TARGET_KEYS = ("node", "nodes", "lane", "zone", "node_kind", "mode", "carrier", "region",
               "cluster")
EFFECT_WORDS = {"severity": "capacity lost", "closure": "lane capacity lost",
                "lane_closure": "lane capacity lost", "hit_probability": "each hit with p"}


def _value(key: Any, value: Any) -> str:
    key = str(key)  # by_tier is keyed by tier numbers
    if isinstance(value, bool):
        return ""
    if isinstance(value, float) and key in ("severity", "closure", "lane_closure"):
        return f"{value:.0%}"
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value)
    text = f"{value:g}" if isinstance(value, float) else str(value)
    if key.endswith("_days") and text == "1":
        return "1 day"
    for suffix, unit in (("_days", " days"), ("_per_unit", "/unit"), ("_per_day", "/day"),
                         ("_per_year", "/year"), ("_kg_per_unit_km", " kg/(unit km)")):
        if key.endswith(suffix):
            return text + unit
    return text


def _words(key: Any) -> str:
    key = str(key)
    for suffix in ("_days", "_per_unit", "_per_day", "_per_year"):
        key = key.removesuffix(suffix)
    return key.replace("_", " ")


def describe_event(spec: Any, network: Any = None) -> str:
    """One disruption spec in words, its rules resolved on ``network`` when given."""
    from sim.compile.selectors import explain

    fields = {k: v for k, v in vars(spec).items() if v not in ((), None)}
    filtered = any(k in fields for k in ("node_kind", "mode", "carrier", "cluster", "region"))
    targets = []
    for key in TARGET_KEYS:
        if key in fields:
            value = fields[key]
            if network is not None and not (filtered and key in ("node", "nodes", "lane")):
                value = explain(network, key, value)
            targets.append(f"{key.replace('_', ' ')} {_value(key, value)}")
    when = _timing(fields)
    effects = []
    for key, value in fields.items():
        if key in TARGET_KEYS or key in TIMING_KEYS or key == "triggers":
            continue
        if key in EFFECT_WORDS and value != 0:
            effects.append(f"{EFFECT_WORDS[key]} {_value(key, value)}")
        elif key == "factor":
            effects.append(f"demand x{value:g}")
        elif key.endswith("_factor") and value != 1:
            effects.append(f"{_words(key)} x{value:g}")
        elif key in ("mttf_days", "mttr_days"):
            effects.append(f"{key[:4].upper()} {_value(key, value)}")
    if fields.get("triggers"):
        effects.append(f"{len(fields['triggers'])} follow-on event(s)")
    kind = spec.kind.replace("_", " ")
    return f"{kind} of {' and '.join(targets) or 'every node'}: " + ", ".join(
        part for part in (when, *effects) if part)


TIMING_KEYS = ("start_day", "duration_days", "duration", "rate_per_year",
               "probability_per_year", "ramp_days", "ramp")


def _timing(fields: dict[str, Any]) -> str:
    parts = []
    start, length = fields.get("start_day"), fields.get("duration_days")
    if start is not None and length is not None:
        parts.append(f"days {start}-{start + length - 1}")
    elif length is not None:
        parts.append(f"{length} days each")
    if fields.get("rate_per_year") is not None:
        parts.append(f"{fields['rate_per_year']:g} a year")
    if fields.get("probability_per_year") is not None:
        parts.append(f"p = {fields['probability_per_year']:g} a year")
    duration = fields.get("duration")
    if duration is not None:
        parts.append(f"{duration.law} duration, mean {duration.mean_days:g} days")
    if fields.get("ramp_days"):
        parts.append(f"then {fields['ramp_days']} days of {fields.get('ramp', 'linear')} "
                     "recovery")
    return ", ".join(parts)


def describe_policy(policy: Any) -> str:
    """The parts of a policy that are used, in words (``base-stock only`` when none is)."""
    mapping = policy.to_mapping()
    parts = []
    for section, settings in mapping.items():
        if section == "name":
            continue
        parts.append(f"{section.replace('_', ' ')}: {_settings(settings)}")
    return "; ".join(parts) or "base-stock, z = 1.65 (the default)"


def _settings(settings: Any) -> str:
    if isinstance(settings, list):
        return " | ".join(_settings(s) for s in settings)
    if not isinstance(settings, dict):
        return str(settings)
    words = []
    for key, value in settings.items():
        if isinstance(value, bool):
            words.append(_words(key) if value else f"no {_words(key)}")
        elif isinstance(value, dict):
            words.append(f"{_words(key)} ({_settings(value)})")
        else:
            words.append(f"{_words(key)} {_value(key, value)}")
    return ", ".join(words)
