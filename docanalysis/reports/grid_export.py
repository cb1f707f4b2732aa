"""The review grid as CSV (UTF-8 with a byte order mark, so Excel reads the accents) and as
XLSX (a bold, frozen header row and first column; links to the documents in the app when the
app's address is known).

Cell values come from the documents, and a spreadsheet runs a cell that starts with "=", "+",
"-" or "@" (or a tab or carriage return before one) as a formula: such cells get a leading
single quote, which makes them text (OWASP, "CSV Injection")."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from typing import Any

from docanalysis.reports.grid import Grid, GridRow, cell_text
from docanalysis.reports.stable_zip import restamp

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
FIXED_COLUMNS = ("Document", "Pages", "Analysis")
COLUMN_WIDTHS = (40, 7, 14)  # the fixed columns, in characters; a category's is 36


def safe_cell(value: str) -> str:
    """`value`, made inert if a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def document_url(base_url: str, document_id: int, finding_id: int | None = None) -> str:
    """The document's page in the app (at the finding, if given); "" without a base URL."""
    if not base_url:
        return ""
    url = f"{base_url.rstrip('/')}/documents/{document_id}/"
    return url if finding_id is None else f"{url}#finding-{finding_id}"


def header(grid: Grid, base_url: str = "") -> list[str]:
    return [*FIXED_COLUMNS, *grid.names, *(["Link"] if base_url else [])]


def row_values(row: GridRow, base_url: str = "") -> list[str]:
    """A row as text, before the formula guard."""
    pages = "" if row.pages is None else str(row.pages)
    cells = [cell_text(values) if row.analyzed else "" for values in row.cells]
    link = [document_url(base_url, row.document_id)] if base_url else []
    return [row.name, pages, row.status, *cells, *link]


def grid_csv(grid: Grid, base_url: str = "") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(v) for v in header(grid, base_url)])
    for row in grid.rows:
        writer.writerow([safe_cell(v) for v in row_values(row, base_url)])
    return (BOM + out.getvalue()).encode("utf-8")


def grid_xlsx(grid: Grid, created_at: datetime, base_url: str = "", title: str = "") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Review grid"
    sheet.append([safe_cell(v) for v in header(grid, base_url)])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in grid.rows:
        sheet.append([safe_cell(v) for v in row_values(row, base_url)])
        for cell in sheet[sheet.max_row]:
            cell.alignment = wrap
    _links(sheet, grid, base_url, Font(color="1F4E8C", underline="single"))
    _widths(sheet, len(header(grid, base_url)))
    sheet.freeze_panes = "B2"  # the header row and the document names stay in view
    book.properties.title = title or "Review grid"
    book.properties.creator = "docanalysis"
    return _save(book, created_at)


def _save(book: Any, created_at: datetime) -> bytes:
    from openpyxl.writer.excel import ExcelWriter

    naive = created_at.astimezone(UTC).replace(tzinfo=None)
    book.properties.created = book.properties.modified = naive
    out = io.BytesIO()
    # ExcelWriter, not Workbook.save: save() stamps the current time into the properties.
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).write_data()
    return restamp(out.getvalue(), created_at)


def _links(sheet: Any, grid: Grid, base_url: str, font: Any) -> None:
    """Each document name links to its page; each cell to its first finding's place there."""
    if not base_url:
        return
    first = len(FIXED_COLUMNS) + 1
    for number, row in enumerate(grid.rows, start=2):
        name = sheet.cell(row=number, column=1)
        name.hyperlink, name.font = document_url(base_url, row.document_id), font
        for index, values in enumerate(row.cells):
            if values and row.analyzed:
                cell = sheet.cell(row=number, column=first + index)
                cell.hyperlink = document_url(base_url, row.document_id, values[0].finding_id)
                cell.font = font


def _widths(sheet: Any, columns: int) -> None:
    from openpyxl.utils import get_column_letter

    for index in range(1, columns + 1):
        width = COLUMN_WIDTHS[index - 1] if index <= len(COLUMN_WIDTHS) else 36
        sheet.column_dimensions[get_column_letter(index)].width = width
