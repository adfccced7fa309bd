"""Networks as one Excel workbook (``.xlsx``): a sheet per table, read with openpyxl.

The sheets are the tables of :mod:`sim.io.tables` (``nodes``, ``lanes``, ``bom``, ``demand``,
optionally ``items`` and ``network``), with the same columns and rules as a CSV folder; other
sheets (a ``README``, the user's own notes) are left alone. Sheet names are matched without
regard to case or surrounding spaces. Every error names the file, the sheet, the row and the
column. Formulas are read as the values Excel last computed; a formula with none (a workbook
written by a script and never saved by Excel) and merged cells are refused by cell, since they
would read as empty and silently take a default.
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from pathlib import Path
from typing import Any

from sim.io.atomic import write_atomically
from sim.io.tables import TABLES, Table, header_names, network_from_tables
from sim.spec.errors import Issue, NetworkError
from sim.spec.network import Network

__all__ = ["EXCEL_SUFFIXES", "read_workbook", "write_workbook"]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
OLD_EXCEL_SUFFIXES = (".xls", ".xlsb", ".ods")


def read_workbook(path: str | Path, *, source: str | None = None) -> Network:
    """Read a network from an ``.xlsx`` workbook.

    Raises
    ------
    NetworkError
        When the file is not a readable workbook, a required sheet is missing, or a cell breaks
        a rule: every problem at once, each named by file, sheet, row and column.
    """
    from openpyxl import load_workbook  # loaded here: the CLI starts without it

    path = Path(path)
    try:  # values as Excel last computed them, and the formulas behind them
        book = load_workbook(path, data_only=True)
        formulas = load_workbook(path, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise NetworkError(Issue(str(path), "", None, f"not a readable .xlsx workbook "
                                 f"({type(error).__name__}: {error}); save it from Excel as "
                                 "'Excel Workbook (.xlsx)', or as CSV files in a folder")) from None
    sheets = {sheet.title.strip().lower(): sheet for sheet in book.worksheets}
    missing = [name for name, (_, required) in TABLES.items() if required and name not in sheets]
    if missing:
        found = ", ".join(sheet.title for sheet in book.worksheets)
        raise NetworkError([Issue(path.name, "sheet", name, f"required sheet missing (the "
                                  f"workbook has: {found})") for name in missing],
                           source=str(path))
    tables, issues = {}, []
    for name in TABLES:
        if name in sheets:
            sheet = sheets[name]
            label = f"{path.name} sheet {sheet.title}"
            issues += _unreadable_cells(sheet, formulas[sheet.title], label)
            table = _table(name, sheet, label)
            if table is not None:
                tables[name] = table
    if issues:  # a cell read as empty would silently take a default
        raise NetworkError(issues, source=str(path))
    return network_from_tables(tables, name=path.stem, source=source or str(path))


def _unreadable_cells(sheet: Any, formulas: Any, label: str) -> list[Issue]:
    """Merged cells, and formulas Excel never computed: both would read as empty cells."""
    issues = [Issue(label, "cells", str(merged), "merged cells: unmerge them, one value a cell")
              for merged in sheet.merged_cells.ranges]
    for row, formula_row in zip(sheet.iter_rows(), formulas.iter_rows(), strict=False):
        for cell, formula in zip(row, formula_row, strict=False):
            if cell.value is None and isinstance(formula.value, str) \
                    and formula.value.startswith("="):
                issues.append(Issue(f"{label} row {cell.row}", f"column {cell.column_letter}",
                                    formula.value, "a formula with no computed value (the "
                                    "workbook was written by a program, not saved by Excel): "
                                    "open and save it in Excel, or type the value"))
    return issues


def _table(name: str, sheet: Any, label: str) -> Table | None:
    """One sheet as a :class:`Table` (None when it is empty: an optional table left blank)."""
    rows = [tuple(_text(v) for v in values) for values in sheet.iter_rows(values_only=True)]
    while rows and not any(rows[0]):  # blank rows above the header
        rows.pop(0)
    if not rows:
        if TABLES[name][1]:
            raise NetworkError(Issue(label, "", None, "the sheet is empty (no header row)"))
        return None
    return Table(name, label, header_names(rows[0]),
                 tuple((number, cells) for number, cells in enumerate(rows[1:], start=2)))


def _text(value: Any) -> str:
    """A cell as the text a CSV file would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()  # a date where a number belongs: refused by name later
    return str(value).strip()


def write_workbook(network: Network, path: str | Path, *,
                   readme: tuple[str, ...] = ()) -> Path:
    """Write a network as an ``.xlsx`` workbook that :func:`read_workbook` reads back equal.

    Parameters
    ----------
    readme : tuple of str
        Lines for a first sheet named ``README`` (left out when empty).
    """
    from openpyxl import Workbook

    from sim.io.csv_folder import network_tables

    book = Workbook()
    book.remove(book.active)
    if readme:
        notes = book.create_sheet("README")
        for line in readme:
            notes.append([line])
        notes.column_dimensions["A"].width = 110
    for name, rows in network_tables(network).items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append([_cell_value(cell) for cell in row])
        sheet.freeze_panes = "A2"
        for column, cells in zip(sheet.iter_cols(), zip(*rows, strict=False), strict=False):
            width = max(len(str(c)) for c in cells)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 40)
    return write_atomically(path, lambda partial: book.save(partial))


def _cell_value(text: str) -> Any:
    """Numbers as numbers (so Excel can sum them), everything else as text."""
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text  # Excel has no infinity: "inf" stays text, read back as unlimited
    return int(number) if number.is_integer() and "." not in text and "e" not in text else number
