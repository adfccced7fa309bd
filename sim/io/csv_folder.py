"""Networks as a folder of CSV files: ``nodes.csv``, ``lanes.csv``, ``bom.csv``, ``demand.csv``.

Columns are the field names of :mod:`sim.network` (see the README's table); an empty cell takes the
field's default. ``bom.csv`` has one row per manufacturer input: ``node,item,quantity``. An optional
``items.csv`` (``id,name,unit``) names the items, and an optional ``network.csv`` holds
``key,value`` rows for ``name`` and ``unmet_demand``. Every error names the file, the row (the
header is row 1, as in a spreadsheet) and the column.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path
from typing import Any

from sim.errors import InputError, Issue, NetworkError
from sim.io.text import read_text
from sim.network import DemandZone, Item, Lane, Network, Node, spec_fields

__all__ = ["CSV_FILES", "read_csv_folder", "write_csv_folder"]

CSV_FILES: dict[str, tuple[type | None, bool]] = {
    # file: (spec class, required)
    "nodes.csv": (Node, True),
    "lanes.csv": (Lane, True),
    "bom.csv": (None, False),
    "demand.csv": (DemandZone, True),
    "items.csv": (Item, False),
    "network.csv": (None, False),
}
BOM_COLUMNS = ("node", "item", "quantity")
REQUIRED_COLUMNS = {
    "nodes.csv": ("id", "kind", "item"),
    "lanes.csv": ("id", "source", "target"),
    "demand.csv": ("id", "node", "mean"),
    "items.csv": ("id",),
    "bom.csv": BOM_COLUMNS,
    "network.csv": ("key", "value"),
}


def _read_rows(path: Path, issues: list[Issue],
               allowed: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows as ``(row number, {column: non-empty cell})``; checks the header."""
    try:
        text = read_text(path)
    except InputError as error:
        issues.extend(error.issues)
        return []
    with io.StringIO(text, newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = [cell.strip() for cell in next(reader)]
        except StopIteration:
            issues.append(Issue(f"{path.name}", "", None, "the file is empty (no header row)"))
            return []
        bad = False
        for column in header:
            if column not in allowed:
                issues.append(Issue(f"{path.name} row 1", column, column,
                                    f"unknown column; expected some of {', '.join(allowed)}"))
                bad = True
        for column in REQUIRED_COLUMNS[path.name]:
            if column not in header:
                issues.append(Issue(f"{path.name} row 1", column, None, "required column missing"))
                bad = True
        if len(set(header)) != len(header):
            issues.append(Issue(f"{path.name} row 1", "", header, "a column appears twice"))
            bad = True
        if bad:
            return []
        rows = []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                issues.append(Issue(f"{path.name} row {number}", "", cells,
                                    f"{len(cells)} cells but {len(header)} columns"))
                continue
            cleaned = {col: cell.strip() for col, cell in zip(header, cells, strict=False)}
            rows.append((number, {col: cell for col, cell in cleaned.items() if cell != ""}))
        return rows


def read_csv_folder(folder: Path, *, source: str | None = None) -> Network:
    """Read a network from a folder of CSV files.

    Parameters
    ----------
    folder : Path
        Folder holding ``nodes.csv``, ``lanes.csv``, ``demand.csv`` and, when there are
        manufacturers, ``bom.csv``.

    Raises
    ------
    NetworkError
        Naming file, row and column of every problem found.
    """
    issues: list[Issue] = []
    for name, (_, required) in CSV_FILES.items():
        if required and not (folder / name).is_file():
            issues.append(Issue(str(folder / name), "", None, "required file missing"))
    if issues:
        raise NetworkError(issues, source=str(folder))

    meta: dict[str, str] = {}
    if (folder / "network.csv").is_file():
        for number, row in _read_rows(folder / "network.csv", issues, ("key", "value")):
            key = row.get("key", "")
            if key not in ("name", "unmet_demand"):
                issues.append(Issue(f"network.csv row {number}", "key", key,
                                    "expected name or unmet_demand"))
            meta[key] = row.get("value", "")

    boms: dict[str, dict[str, float]] = defaultdict(dict)
    bom_rows: dict[str, int] = {}
    if (folder / "bom.csv").is_file():
        for number, row in _read_rows(folder / "bom.csv", issues, BOM_COLUMNS):
            node, item = row.get("node", ""), row.get("item", "")
            where = f"bom.csv row {number}"
            if not node or not item or "quantity" not in row:
                issues.append(Issue(where, "", row, "node, item and quantity are required"))
                continue
            if item in boms[node]:
                issues.append(Issue(where, "item", item,
                                    f"input listed twice for node {node!r}"))
            try:
                quantity = float(row["quantity"])
            except ValueError:
                issues.append(Issue(where, "quantity", row["quantity"], "must be a number"))
                continue
            if not quantity > 0:
                issues.append(Issue(where, "quantity", row["quantity"], "must be > 0"))
                continue
            boms[node][item] = quantity
            bom_rows.setdefault(node, number)

    specs: dict[str, list[Any]] = {}
    for name, (cls, _) in CSV_FILES.items():
        if cls is None or not (folder / name).is_file():
            continue
        allowed = tuple(f for f in spec_fields(cls) if f != "bom")
        specs[name] = []
        for number, row in _read_rows(folder / name, issues, allowed):
            where = f"{name} row {number}"
            if cls is Node and row.get("id") in boms:
                row = {**row, "bom": boms[row["id"]]}
            empty = [c for c in REQUIRED_COLUMNS[name] if c not in row]
            if empty:  # a short row, or blank cells where a value is required
                issues += [Issue(where, column, None, "required cell is empty (a short row?)")
                           for column in empty]
                continue
            try:
                specs[name].append(cls(**row, origin=where))
            except NetworkError as error:
                issues.extend(error.issues)
    known_nodes = {node.id for node in specs.get("nodes.csv", [])}
    for node, number in bom_rows.items():
        if node not in known_nodes:
            issues.append(Issue(f"bom.csv row {number}", "node", node, "unknown node"))
    if issues:
        raise NetworkError(issues, source=str(folder))
    return Network(
        name=meta.get("name") or folder.name,
        nodes=specs["nodes.csv"],
        lanes=specs["lanes.csv"],
        demand=specs["demand.csv"],
        items=specs.get("items.csv", []),
        unmet_demand=meta.get("unmet_demand") or "lost",
        source=source or str(folder),
    )


def write_csv_folder(network: Network, folder: str | Path) -> None:
    """Write a network as a CSV folder that :func:`read_csv_folder` reads back equal."""
    from sim.io.mapping import network_to_mapping

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = network_to_mapping(network)
    for section, filename in (("nodes", "nodes.csv"), ("lanes", "lanes.csv"),
                              ("demand", "demand.csv"), ("items", "items.csv")):
        entries = data.get(section, {})
        columns = ["id", *sorted({k for fields_ in entries.values() for k in fields_} - {"bom"})]
        with (folder / filename).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for entry_id, fields_ in entries.items():
                writer.writerow([entry_id, *(_cell(fields_.get(c)) for c in columns[1:])])
    with (folder / "bom.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(BOM_COLUMNS)
        for node in network.nodes:
            for item, qty in node.bom:
                writer.writerow([node.id, item, repr(qty)])
    with (folder / "network.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("key", "value"))
        writer.writerow(("name", network.name))
        writer.writerow(("unmet_demand", network.unmet_demand))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)
