"""Rows of CSV files as spreadsheets save them: the encoding, the cell separator, the decimal mark.

The encoding is found by :mod:`sim.io.text`. Cells are separated by commas, or by semicolons or
tabs when the header row has those and no comma. Excel in locales whose decimal mark is a comma
(most of Europe, Russia, Brazil, ...) saves "CSV" with semicolons and numbers such as ``0,5``:
in a semicolon-separated file, a cell that is a number written with a decimal comma (digits, one
comma, digits, optionally an exponent) is read with a decimal point, so ``0,5`` is 0.5. Cells of
tab-separated files are kept as written: Excel saves "Unicode text" with tabs in every locale,
where ``1,000`` may be a thousand; the number checks refuse such a cell and say why
(:func:`sim.spec.checks.number_rule`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sim.io.text import read_text
from sim.spec.checks import DECIMAL_COMMA

__all__ = ["delimiter", "read_rows"]


def delimiter(text: str) -> str:
    """The cell separator: commas, or semicolons or tabs when the header has those and no comma."""
    header = text.split("\n", 1)[0]
    if "," in header:
        return ","
    return next((d for d in (";", "\t") if d in header), ",")


def read_rows(path: str | Path) -> list[list[str]]:
    """The rows of a CSV file, header first, cells as text (decimal commas read as above).

    Raises
    ------
    InputError
        When the file cannot be read or decoded (naming the file, line and column).
    """
    text = read_text(path)
    separator = delimiter(text)
    with io.StringIO(text, newline="") as handle:
        rows = list(csv.reader(handle, delimiter=separator))
    if separator == ";":
        rows = [[_with_decimal_point(cell) for cell in row] for row in rows]
    return rows


def _with_decimal_point(cell: str) -> str:
    return cell.replace(",", ".") if DECIMAL_COMMA.fullmatch(cell.strip()) else cell
