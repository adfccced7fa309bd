"""Networks as a folder of CSV files: ``nodes.csv``, ``lanes.csv``, ``bom.csv``, ``demand.csv``.

Columns are the field names of :mod:`sim.spec.network` (table in docs/networks.md); an empty cell
takes the field's default. ``bom.csv`` has one row per manufacturer input: ``node,item,quantity``.
An optional ``items.csv`` (``id,name,unit``) names the items, and an optional ``network.csv`` holds
``key,value`` rows for ``name`` and ``unmet_demand``. Every error names the file, the row (the
header is row 1, as in a spreadsheet) and the column.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sim.io.atomic import write_atomically
from sim.io.delimited import read_rows
from sim.io.tables import BOM_COLUMNS, TABLES, Table, header_names, network_from_tables
from sim.spec.errors import InputError, Issue, NetworkError
from sim.spec.network import Network

__all__ = ["CSV_FILES", "read_csv_folder", "write_csv_folder"]

CSV_FILES = {f"{name}.csv": required for name, (_, required) in TABLES.items()}
"""The files of a CSV folder: file name -> required."""


def _read_table(path: Path, issues: list[Issue]) -> Table | None:
    """One CSV file as a :class:`Table` (None, with the reason in ``issues``, if unreadable)."""
    try:
        lines = read_rows(path)
    except InputError as error:
        issues.extend(error.issues)
        return None
    if not lines or not any(cell.strip() for cell in lines[0]):
        issues.append(Issue(path.name, "", None, "the file is empty (no header row)"))
        return None
    return Table(path.stem, path.name, header_names(lines[0]),
                 tuple((number, tuple(cells)) for number, cells in enumerate(lines[1:], 2)))


def read_csv_folder(folder: Path, *, source: str | None = None) -> Network:
    """Read a network from a folder of CSV files (the rules: :mod:`sim.io.tables`).

    Parameters
    ----------
    folder : Path
        Folder holding ``nodes.csv``, ``lanes.csv``, ``demand.csv`` and, when there are
        manufacturers, ``bom.csv``; optionally ``items.csv`` and ``network.csv``.

    Raises
    ------
    NetworkError
        Naming file, row and column of every problem found, all at once.
    """
    folder = Path(folder)
    issues = [Issue(str(folder / name), "", None, "required file missing")
              for name, required in CSV_FILES.items()
              if required and not (folder / name).is_file()]
    tables = {}
    for name in CSV_FILES:
        if (folder / name).is_file():
            table = _read_table(folder / name, issues)
            if table is not None:
                tables[table.name] = table
    if issues:
        raise NetworkError(issues, source=str(folder))
    return network_from_tables(tables, name=folder.name, source=source or str(folder))


def network_tables(network: Network) -> dict[str, list[list[str]]]:
    """The rows (header first) of each table of a network, as text cells."""
    from sim.io.mapping import network_to_mapping

    data = network_to_mapping(network)
    tables: dict[str, list[list[str]]] = {}
    for section in ("nodes", "lanes", "bom", "demand", "items", "network"):
        if section == "bom":
            tables[section] = [list(BOM_COLUMNS), *(
                [node.id, item, repr(qty)] for node in network.nodes
                for item, qty in node.bom_lines)]
            continue
        if section == "network":
            tables[section] = [["key", "value"], ["name", network.name],
                               ["unmet_demand", network.unmet_demand]]
            continue
        entries = data.get(section, {})
        columns = ["id", *sorted({k for fields_ in entries.values() for k in fields_} - {"bom"})]
        tables[section] = [columns, *([entry_id, *(_cell(fields_.get(c)) for c in columns[1:])]
                                      for entry_id, fields_ in entries.items())]
    return tables


def write_csv_folder(network: Network, folder: str | Path) -> Path:
    """Write a network as a CSV folder that :func:`read_csv_folder` reads back equal.

    Each file is written atomically (UTF-8 without a byte-order mark); returns the folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in network_tables(network).items():
        _write_rows(folder / f"{name}.csv", rows)
    return folder


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    """Write one CSV file atomically (UTF-8, no byte-order mark)."""
    def write(partial: Path) -> None:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)

    write_atomically(path, write)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)
