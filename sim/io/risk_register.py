"""Lists of disruptions from configs, and risk registers: files of many events, one row each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import is_dataclass
from pathlib import Path
from typing import Any

import yaml

from sim.io.delimited import read_rows
from sim.io.mapping import load_yaml_text, yaml_issue
from sim.io.tables import header_names, records, repeated_columns
from sim.io.text import read_text
from sim.spec.checks import number_rule
from sim.spec.disruptions import Disruption, Timed, disruption_from_mapping
from sim.spec.errors import ConfigError, InputError, Issue

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
    Both are read in the encodings spreadsheets save, CSV with the separators and decimal
    commas they use (:mod:`sim.io.delimited`); blank rows are skipped.

    Raises
    ------
    ConfigError
        Naming the file, the row (the header is row 1) or line, and the column of every
        problem found, all at once.
    """
    from sim.io import resolve_path  # example: paths; sim.io does not import this module

    path = resolve_path(path)
    if not path.is_file():
        raise ConfigError(Issue(str(path), "", None, "risk register not found"))
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        raise ConfigError(Issue(str(path), "", None, "a risk register is a CSV or YAML file: "
                                "save the sheet as 'CSV UTF-8'"))
    try:
        return _yaml_register(path) if suffix in (".yaml", ".yml") else _csv_register(path)
    except InputError as error:
        raise ConfigError(error.issues) from None


def _yaml_register(path: Path) -> tuple[Any, ...]:
    try:
        data = load_yaml_text(read_text(path)) or []
    except yaml.YAMLError as error:
        raise ConfigError(yaml_issue(error, str(path))) from None
    entries = data.get("events", []) if isinstance(data, Mapping) else data
    if not isinstance(entries, list):
        raise ConfigError(Issue(str(path), "events", entries, "must be a list of disruptions"))
    specs, issues = [], []
    for i, listed in enumerate(entries):
        where = f"{path.name}: events[{i}]"
        if not isinstance(listed, Mapping):
            issues.append(Issue(path.name, f"events[{i}]", listed,
                                "must be a mapping of a disruption's keys"))
            continue
        try:
            specs.append(disruption_from_mapping(
                {k: v for k, v in listed.items() if k != "id"}, where=where))
        except InputError as error:
            issues.extend(error.issues)
    if issues:
        raise ConfigError(issues)
    return tuple(specs)


def _csv_register(path: Path) -> tuple[Any, ...]:
    rows = read_rows(path)
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ConfigError(Issue(path.name, "", None, "the file is empty (no header row)"))
    header = header_names(rows[0])
    if repeated_columns(header):
        raise ConfigError(Issue(f"{path.name} row 1", "", list(header),
                                "a column appears twice"))
    specs: list[Any] = []
    issues: list[Issue] = []
    for where, cells in records(path.name, header, enumerate(rows[1:], start=2), issues):
        try:
            values = {key: value for key, value in cells.items() if key}  # unnamed: ignored
            specs.append(disruption_from_mapping(_entry(values, where), where=where))
        except InputError as error:
            issues.extend(error.issues)
    if issues:
        raise ConfigError(issues)
    return tuple(specs)


def _entry(cells: dict[str, str], where: str) -> dict[str, Any]:
    """A register row's cells as a disruption mapping (numbers parsed, the duration law built)."""
    cells = dict(cells)
    cells.pop("id", None)
    law = cells.pop("duration_law", None)
    mean = cells.pop("duration_mean_days", None)
    sd = cells.pop("duration_sd_days", None)
    entry: dict[str, Any] = {}
    for key, value in cells.items():
        if key in REGISTER_NUMBERS:
            parsed = _number(where, key, value)
            whole = key in ("start_day", "duration_days", "ramp_days") and parsed.is_integer()
            entry[key] = int(parsed) if whole else parsed
        else:
            entry[key] = value
    if law is not None:
        entry["duration"] = {"law": law,
                             "mean_days": _number(where, "duration_mean_days", mean or "1"),
                             "sd_days": _number(where, "duration_sd_days", sd or "0")}
    return entry


def _number(where: str, key: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ConfigError(Issue(where, key, value, number_rule(value))) from None


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
