"""Lists of disruptions from configs, and risk registers: files of many events, one row each."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import is_dataclass
from pathlib import Path
from typing import Any

import yaml

from sim.spec.disruptions import Disruption, Timed, disruption_from_mapping
from sim.spec.errors import ConfigError, Issue

__all__ = ["disruptions_from_config", "load_risk_register"]


REGISTER_NUMBERS = ("start_day", "duration_days", "rate_per_year", "probability_per_year",
                    "ramp_days", "severity", "closure", "lead_time_factor", "factor",
                    "lane_closure", "demand_factor", "hit_probability", "mttf_days",
                    "mttr_days")


def load_risk_register(path: str | Path) -> tuple[Any, ...]:
    """Read a risk register: many disruptions, each with its own probability or rate.

    YAML: a list of disruption mappings (or ``{events: [...]}``). CSV: one row per risk, with
    the columns ``id`` (a name, for reports), ``kind``, the target and effect columns of that
    kind (``node``, ``lane``, ``zone``, ``region``, ``cluster``, ``mode``, ``carrier``,
    ``severity``, ``closure``, ``lead_time_factor``, ``factor``, ...), the timing
    (``probability_per_year`` or ``rate_per_year``, or ``start_day``) and the duration
    (``duration_days``, or ``duration_law`` with ``duration_mean_days``, ``duration_sd_days``).
    Errors name the file, the row and the column.
    """
    from sim.io import resolve_path  # example: paths; sim.io does not import this module

    path = resolve_path(path)
    if not path.is_file():
        raise ConfigError(Issue(str(path), "", None, "risk register not found"))
    if path.suffix.lower() in (".yaml", ".yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        entries = data.get("events", []) if isinstance(data, Mapping) else data
        specs = []
        for i, listed in enumerate(entries):
            values = {k: v for k, v in dict(listed).items() if k != "id"}
            specs.append(disruption_from_mapping(values, where=f"{path.name}: events[{i}]"))
        return tuple(specs)
    specs = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{path.name} row {number}"
            cells = {k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()}
            cells.pop("id", None)
            law = cells.pop("duration_law", None)
            mean = cells.pop("duration_mean_days", None)
            sd = cells.pop("duration_sd_days", None)
            entry: dict[str, Any] = {}
            for key, value in cells.items():
                if key in REGISTER_NUMBERS:
                    try:
                        number_value = float(value)
                    except ValueError:
                        raise ConfigError(Issue(where, key, value, "must be a number")) from None
                    entry[key] = int(number_value) if key in (
                        "start_day", "duration_days", "ramp_days") and number_value.is_integer(
                    ) else number_value
                else:
                    entry[key] = value
            if law is not None:
                try:
                    entry["duration"] = {"law": law, "mean_days": float(mean or 1),
                                         "sd_days": float(sd or 0)}
                except ValueError:
                    raise ConfigError(Issue(where, "duration_mean_days", mean,
                                            "must be a number")) from None
            specs.append(disruption_from_mapping(entry, where=where))
    return tuple(specs)


def disruptions_from_config(items: Iterable[Any] | None) -> tuple[Any, ...]:
    """Accept specs or mappings (the Hydra ``disruption.events`` list) and return specs.

    A mapping ``{risk_register: PATH}`` expands into the register's events.
    """
    out: list[Any] = []
    for i, item in enumerate(items or ()):
        where = f"disruption.events[{i}]"
        if isinstance(item, Mapping) and set(item) == {"risk_register"}:
            out.extend(load_risk_register(item["risk_register"]))
        elif isinstance(item, Mapping):
            out.append(disruption_from_mapping(item, where=where))
        elif is_dataclass(item) and isinstance(item, Disruption):
            if isinstance(item, Timed):
                try:
                    item._check_timing()
                except ConfigError as error:
                    raise ConfigError([Issue(where, e.key, e.value, e.rule)
                                       for e in error.issues]) from None
            out.append(item)
        else:
            raise ConfigError(Issue(where, "", item,
                                    "must be a disruption spec or a mapping with a kind"))
    return tuple(out)
