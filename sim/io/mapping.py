"""Networks as plain mappings: the YAML files and the Hydra ``network`` config group.

Shape (every section keyed by id; a list of mappings with an ``id`` key is accepted too)::

    name: demo
    unmet_demand: lost            # or backorder
    items:    {product: {name: Widget, unit: pcs}}          # optional
    nodes:    {plant: {kind: manufacturer, item: product, bom: {motor: 1}, region: east}}
    lanes:    {motor-plant: {source: motor_a, target: plant, lead_time_days: 3, share: 1}}
    demand:   {north: {node: dc_north, mean: 40, sd: 8, law: normal}}

Field names and units are those of :mod:`sim.spec.network`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from sim.io.text import read_text
from sim.spec.errors import ConfigError, InputError, Issue, NetworkError
from sim.spec.network import DemandZone, Item, Lane, Network, Node, spec_fields
from sim.spec.serialize import changed_fields, plain

__all__ = ["SECTIONS", "load_yaml_text", "network_from_mapping", "network_to_mapping",
           "read_yaml_network", "yaml_issue", "yaml_problem"]

SECTIONS: dict[str, type] = {"items": Item, "nodes": Node, "lanes": Lane, "demand": DemandZone}
TOP_LEVEL_KEYS = ("name", "unmet_demand", *SECTIONS)


def network_from_mapping(data: Mapping[str, Any], *, where: str = "network",
                         name: str | None = None) -> Network:
    """Build a :class:`~sim.spec.network.Network` from a mapping of the documented shape.

    Parameters
    ----------
    data : mapping
        Parsed YAML or a Hydra ``DictConfig`` turned into a dict.
    where : str
        Label for error messages, usually the file name.
    name : str, optional
        Network name when ``data`` has none.

    Raises
    ------
    NetworkError
        Naming ``where``, the key path (``lanes.l3.share``), the value and the rule broken.
    """
    if not isinstance(data, Mapping):
        raise NetworkError(Issue(where, "", data, "a network must be a mapping of sections"))
    issues: list[Issue] = []
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            issues.append(Issue(where, str(key), "...",
                                f"unknown section; expected one of {', '.join(TOP_LEVEL_KEYS)}"))
    parts: dict[str, list[Any]] = {}
    for section, cls in SECTIONS.items():
        parts[section] = []
        for entry_where, entry in _entries(data.get(section), section, where, issues):
            spec = _build(cls, entry, entry_where, issues)
            if spec is not None:
                parts[section].append(spec)
    if issues:
        raise NetworkError(issues, source=where)
    return Network(
        name=str(data.get("name") or name or Path(where).stem),
        nodes=tuple(parts["nodes"]),
        lanes=tuple(parts["lanes"]),
        demand=tuple(parts["demand"]),
        items=tuple(parts["items"]),
        unmet_demand=data.get("unmet_demand", "lost"),
        source=where,
    )


def _entries(section: Any, label: str, where: str,
             issues: list[Issue]) -> list[tuple[str, dict[str, Any]]]:
    """Normalise a section to ``[(where, {id: ..., field: ...}), ...]``."""
    if section is None:
        return []
    out = []
    if isinstance(section, Mapping):
        for entry_id, fields_ in section.items():
            entry_where = f"{where}: {label}.{entry_id}"
            if fields_ is None:
                fields_ = {}
            if not isinstance(fields_, Mapping):
                issues.append(Issue(entry_where, "", fields_, "must be a mapping of fields"))
                continue
            if "id" in fields_ and str(fields_["id"]) != str(entry_id):
                issues.append(Issue(entry_where, "id", fields_["id"],
                                    "differs from the key it is listed under"))
            out.append((entry_where, {**fields_, "id": entry_id}))
    elif isinstance(section, list | tuple):
        for i, fields_ in enumerate(section):
            entry_where = f"{where}: {label}[{i}]"
            if not isinstance(fields_, Mapping) or "id" not in fields_:
                issues.append(Issue(entry_where, "id", None,
                                    "each list entry must be a mapping with an id"))
                continue
            out.append((entry_where, dict(fields_)))
    else:
        issues.append(Issue(where, label, type(section).__name__,
                            "must be a mapping keyed by id (or a list of mappings)"))
    return out


def _build(cls: type, entry: dict[str, Any], where: str, issues: list[Issue]) -> Any:
    allowed = spec_fields(cls)
    unknown = [key for key in entry if key not in allowed]
    for key in unknown:
        issues.append(Issue(where, str(key), entry[key],
                            f"unknown field; expected one of {', '.join(allowed)}"))
    if unknown:
        return None
    try:
        return cls(**{k: _plain(v) for k, v in entry.items()}, origin=where)
    except NetworkError as error:
        issues.extend(error.issues)
    except TypeError as error:  # a required field is missing
        issues.append(Issue(where, "", None, f"missing required field ({error})"))
    return None


def _plain(value: Any) -> Any:
    """Turn OmegaConf containers into plain Python objects."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def network_to_mapping(network: Network) -> dict[str, Any]:
    """Return the mapping form of a network; fields left at their defaults are omitted.

    ``network_from_mapping(network_to_mapping(net))`` equals ``net``.
    """
    out: dict[str, Any] = {"name": network.name, "unmet_demand": network.unmet_demand}
    for section, cls in SECTIONS.items():
        names = [name for name in spec_fields(cls) if name != "id"]
        entries = {spec.id: _fields_set(spec, names) for spec in getattr(network, section)}
        if entries:
            out[section] = entries
    return out


def _fields_set(spec: Any, names: list[str]) -> dict[str, Any]:
    """The fields of one spec that differ from their defaults, in plain form (BOM as a map)."""
    changed = dict(changed_fields(spec))
    out: dict[str, Any] = {}
    for name in names:
        if name == "bom" and spec.bom_lines:
            out[name] = dict(spec.bom_lines)
        elif name in changed and name != "bom":
            out[name] = plain(changed[name])
    return out


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping.

    Plain YAML keeps the last, so a node pasted twice with different values would silently
    lose one.
    """


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice (first on line {seen[key] + 1})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _mapping_without_duplicates)


def yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error in one line: what is wrong, and the column (the caller names the line)."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    mark = getattr(error, "problem_mark", None)
    where = f" at column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}" + (f" ({context})" if context else "")


def yaml_issue(error: yaml.YAMLError, where: str) -> Issue:
    """A YAML file's error as an issue naming the file and its line."""
    mark = getattr(error, "problem_mark", None)
    line = f" line {mark.line + 1}" if mark is not None else ""
    return Issue(f"{where}{line}", "", None, f"not valid YAML: {yaml_problem(error)}")


def load_yaml_text(text: str) -> Any:
    """Parse YAML safely, refusing duplicate keys (a :class:`yaml.YAMLError` names the line)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)


def read_yaml_network(path: Path, *, source: str | None = None) -> Network:
    """Read a network from a YAML file of the mapping shape."""
    try:
        data = load_yaml_text(read_text(path))
    except InputError as error:
        raise NetworkError(error.issues) from None
    except yaml.YAMLError as error:
        raise NetworkError(yaml_issue(error, str(path))) from None
    if isinstance(data, Mapping) and "generate" in data:  # a generator's settings (cluster.yaml)
        network = generated_network(data, where=str(path))
    else:
        network = network_from_mapping(data or {}, where=str(path), name=path.stem)
    return network if source is None else network.replace(source=source)


GENERATED_OVERRIDES = ("name", "unmet_demand")


def generated_network(data: Mapping[str, Any], *, where: str) -> Network:
    """A network made by :func:`sim.spec.generate.generate_network` from a ``generate`` section.

    Beside ``generate`` only ``name`` and ``unmet_demand`` may be given.
    """
    from sim.spec.generate import GENERATOR_OPTIONS, generate_network

    extra = sorted(set(data) - {"generate", *GENERATED_OVERRIDES})
    if extra:
        raise ConfigError(Issue(where, extra[0], "...", "a generated network takes only "
                                "name and unmet_demand beside `generate`"))
    options = dict(data["generate"] or {})
    unknown = sorted(set(options) - set(GENERATOR_OPTIONS))
    if unknown:
        raise ConfigError(Issue(f"{where}.generate", unknown[0], options[unknown[0]],
                                f"unknown option; expected one of {', '.join(GENERATOR_OPTIONS)}"))
    if "name" in data:
        options["name"] = data["name"]
    network = generate_network(**options)
    if data.get("unmet_demand"):
        network = network.replace(unmet_demand=data["unmet_demand"])
    return network
