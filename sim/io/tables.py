"""Networks as tables, one per part: the rules a CSV folder and an Excel workbook share.

A network is the tables ``nodes``, ``lanes`` and ``demand`` (required), ``bom`` (required when
there are manufacturers: one row per input, ``node,item,quantity``), and optionally ``items``
(``id,name,unit``) and ``network`` (``key,value`` rows for ``name`` and ``unmet_demand``).
Columns are the field names of :mod:`sim.spec.network`; an empty cell takes the field's default.
A reader (:mod:`sim.io.csv_folder`, :mod:`sim.io.excel`) turns its files into :class:`Table`
values and :func:`network_from_tables` checks them, reporting every problem at once, each named
by table, row (the header is row 1, as in a spreadsheet) and column.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.spec.checks import number_rule
from sim.spec.errors import Issue, NetworkError
from sim.spec.network import DemandZone, Item, Lane, Network, Node, spec_fields

__all__ = ["BOM_COLUMNS", "NOTE_COLUMNS", "REQUIRED_COLUMNS", "TABLES", "Table", "column_name",
           "header_names", "is_note", "network_from_tables", "records", "repeated_columns"]

TABLES: dict[str, tuple[type | None, bool]] = {
    # table: (spec class, required)
    "nodes": (Node, True),
    "lanes": (Lane, True),
    "bom": (None, False),
    "demand": (DemandZone, True),
    "items": (Item, False),
    "network": (None, False),
}
BOM_COLUMNS = ("node", "item", "quantity")
REQUIRED_COLUMNS = {
    "nodes": ("id", "kind", "item"),
    "lanes": ("id", "source", "target"),
    "demand": ("id", "node", "mean"),
    "items": ("id",),
    "bom": BOM_COLUMNS,
    "network": ("key", "value"),
}
NETWORK_KEYS = ("name", "unmet_demand")


@dataclass(frozen=True)
class Table:
    """The cells of one table as read, before any rule is checked.

    Parameters
    ----------
    name : str
        Which table: a key of :data:`TABLES`.
    label : str
        How messages name it: ``"nodes.csv"``, ``"suppliers.xlsx sheet nodes"``.
    header : tuple of str
        The first row's cells as column names (:func:`column_name`: ``Lead time days`` is
        ``lead_time_days``).
    rows : tuple of (int, tuple of str)
        Each later row's number (the header is row 1) and its cells as text.
    """

    name: str
    label: str
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]

    def __post_init__(self) -> None:
        if self.name not in TABLES:
            raise ValueError(f"unknown table {self.name!r}; expected one of {', '.join(TABLES)}")
        object.__setattr__(self, "header", tuple(column_name(cell) for cell in self.header))


NOTE_COLUMNS = frozenset({"note", "notes", "comment", "comments", "remark", "remarks"})
"""Columns kept for the user's own annotations and ignored, as are columns whose name starts
with ``#``: a place for notes that is not mistaken for a misspelt field."""


def is_note(column: str) -> bool:
    """Whether a column holds the user's notes (ignored when the table is read)."""
    return column in NOTE_COLUMNS or column.startswith("#")


def column_name(cell: str) -> str:
    """A header cell as the column it names: blanks trimmed, case, spaces and hyphens forgiven.

    Spreadsheet users write ``Kind``, ``Lead time days`` or ``capacity-per-day``; the columns
    are the specs' lower-case field names, so nothing else can be meant.
    """
    return re.sub(r"[\s\-]+", "_", cell.strip()).lower()


def allowed_columns(name: str) -> tuple[str, ...]:
    """The columns a table may have."""
    cls = TABLES[name][0]
    if cls is None:
        return BOM_COLUMNS if name == "bom" else REQUIRED_COLUMNS[name]
    return tuple(f for f in spec_fields(cls) if f != "bom")


def _header_issues(table: Table) -> list[Issue]:
    allowed = allowed_columns(table.name)
    where = f"{table.label} row 1"
    issues = [Issue(where, column, column, f"unknown column; expected some of {', '.join(allowed)}")
              for column in table.header if column not in allowed and not is_note(column)]
    issues += [Issue(where, column, None, "required column missing")
               for column in REQUIRED_COLUMNS[table.name] if column not in table.header]
    if repeated_columns(table.header):
        issues.append(Issue(where, "", list(table.header), "a column appears twice"))
    return issues


def repeated_columns(header: Sequence[str]) -> bool:
    """Whether a column other than a note column is named twice."""
    named = [column for column in header if column and not is_note(column)]
    return len(set(named)) != len(named)


def header_names(cells: Sequence[str]) -> tuple[str, ...]:
    """A header row's column names (:func:`column_name`), trailing empty cells dropped."""
    names = [column_name(cell) for cell in cells]
    while names and not names[-1]:  # trailing empty header cells: a spreadsheet's habit
        names.pop()
    return tuple(names)


def _records(table: Table, issues: list[Issue],
             failed_ids: set[str] | None = None) -> list[tuple[str, dict[str, str]]]:
    """Rows as ``(where, {column: non-empty cell})`` (:func:`records` of the table)."""
    return list(records(table.label, table.header, table.rows, issues, failed_ids))


def records(label: str, header: Sequence[str], rows: Iterable[tuple[int, Sequence[str]]],
            issues: list[Issue], failed_ids: set[str] | None = None
            ) -> Iterator[tuple[str, dict[str, str]]]:
    """Numbered rows as ``(where, {column: non-empty cell})``, note columns left out.

    Blank rows are skipped; long rows are refused (in ``issues``, as they come) and their ids
    noted in ``failed_ids``.
    """
    width = len(header)
    for number, cells in rows:
        where = f"{label} row {number}"
        stripped = [cell.strip() for cell in cells]
        while stripped and not stripped[-1]:  # trailing empty cells: a spreadsheet's habit
            stripped.pop()
        if not stripped:
            continue
        if len(stripped) > width:
            issues.append(Issue(where, "", list(cells),
                                f"{len(stripped)} cells but {width} columns"))
            if failed_ids is not None and "id" in header:
                failed_ids.add(stripped[list(header).index("id")])
            continue
        yield where, {c: v for c, v in zip(header, stripped, strict=False)
                      if v and not is_note(c)}


def _network_meta(table: Table | None, issues: list[Issue]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for where, row in _records(table, issues) if table else []:
        key = row.get("key", "")
        if key not in NETWORK_KEYS:
            issues.append(Issue(where, "key", key, f"expected {' or '.join(NETWORK_KEYS)}"))
        meta[key] = row.get("value", "")
    return meta


def _boms(table: Table | None, issues: list[Issue]) -> tuple[dict[str, dict[str, float]],
                                                              dict[str, str]]:
    """BOM inputs by node, and where each node's first BOM row is."""
    boms: dict[str, dict[str, float]] = defaultdict(dict)
    first_row: dict[str, str] = {}
    for where, row in _records(table, issues) if table else []:
        node, item = row.get("node", ""), row.get("item", "")
        if not node or not item or "quantity" not in row:
            issues.append(Issue(where, "", row, "node, item and quantity are required"))
            continue
        if item in boms[node]:
            issues.append(Issue(where, "item", item, f"input listed twice for node {node!r}"))
        try:
            quantity = float(row["quantity"])
        except ValueError:
            issues.append(Issue(where, "quantity", row["quantity"], number_rule(row["quantity"])))
            continue
        if not quantity > 0:
            issues.append(Issue(where, "quantity", row["quantity"], "must be > 0"))
            continue
        boms[node][item] = quantity
        first_row.setdefault(node, where)
    return boms, first_row


def _specs(table: Table, boms: Mapping[str, Mapping[str, float]], issues: list[Issue],
           failed_ids: set[str]) -> list[Any]:
    """The specs of one table; the ids of rows that fail are noted in ``failed_ids``."""
    cls = TABLES[table.name][0]
    assert cls is not None
    out = []
    for where, cells in _records(table, issues, failed_ids):
        row: dict[str, Any] = dict(cells)
        if cls is Node and row.get("id") in boms:
            row["bom"] = boms[row["id"]]
        empty = [c for c in REQUIRED_COLUMNS[table.name] if c not in row]
        if empty:  # a short row, or blank cells where a value is required
            issues += [Issue(where, column, None, "required cell is empty (a short row?)")
                       for column in empty]
            failed_ids.add(row.get("id", ""))
            continue
        try:
            out.append(cls(**row, origin=where))
        except NetworkError as error:
            issues.extend(error.issues)
            failed_ids.add(row["id"])
    return out


def network_from_tables(tables: Mapping[str, Table], *, name: str, source: str) -> Network:
    """Check the tables of a network and build it.

    Parameters
    ----------
    tables : mapping of str to Table
        The tables found, by name; every required one must be there (the reader says which
        file or sheet is missing, in its own words).
    name : str
        The network's name unless the ``network`` table gives one.
    source : str
        Where it was read from (kept for provenance and named in errors).

    Raises
    ------
    NetworkError
        Listing every problem at once: bad headers, bad cells, and the network's own rules
        (unknown ids, cycles, shares), leaving out those that only follow from a row already
        refused.
    """
    issues: list[Issue] = []
    for table in tables.values():
        issues += _header_issues(table)
    if issues:  # columns cannot be trusted: reading the rows would only add noise
        raise NetworkError(issues, source=source)
    meta = _network_meta(tables.get("network"), issues)
    boms, bom_rows = _boms(tables.get("bom"), issues)
    failed_ids: set[str] = set()
    specs = {key: _specs(table, boms, issues, failed_ids) for key, table in tables.items()
             if TABLES[key][0] is not None}
    known_nodes = {node.id for node in specs["nodes"]} | failed_ids
    issues += [Issue(where, "node", node, "unknown node") for node, where in bom_rows.items()
               if node not in known_nodes]
    try:
        network = Network(name=meta.get("name") or name, nodes=tuple(specs["nodes"]),
                          lanes=tuple(specs["lanes"]), demand=tuple(specs["demand"]),
                          items=tuple(specs.get("items", ())),
                          unmet_demand=meta.get("unmet_demand") or "lost", source=source)
    except NetworkError as error:
        issues += [i for i in error.issues if not (issues and _follows_from(i, failed_ids))]
    if issues:
        raise NetworkError(issues, source=source)
    return network


# Network rules that a refused row breaks by its absence (an input then has no lane, shares no
# longer sum to 1): reported only when every row was read
CONSEQUENTIAL_RULES = ("no primary lane delivers", "shares of the lanes",
                       "demand on a node that cannot", "a network needs at least one")


def _follows_from(issue: Issue, failed_ids: set[str]) -> bool:
    """Whether a network-level issue only repeats a refused row."""
    return (isinstance(issue.value, str) and issue.value in failed_ids) \
        or issue.rule.startswith(CONSEQUENTIAL_RULES)
