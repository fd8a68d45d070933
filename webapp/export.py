"""CSV and XLSX downloads of lists: records, registers and the audit log (which sits below the
record features, hence here in the core; ``records.export`` re-exports it).

``headers`` are display strings (already translated); ``rows`` are sequences of plain
values (str, int, float, Decimal, date, datetime, None). Dates stay real dates in XLSX so
Excel can sort and filter them; aware datetimes are shown in the configured time zone.

Every text that lands in a cell — title, subtitle, headers (which may hold user-defined
category or project names), data and notes — goes through the same formula-injection guard:
:func:`_guard` for CSV, :func:`xlsx_text` for XLSX; sheet names through :func:`_sheet_title`.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Response, current_app, has_app_context

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: A cell starting with one of these may be evaluated by a spreadsheet (CSV/formula injection).
FORMULA_START = "=+-@\t\r"


class Percent(float):
    """A ratio that XLSX shows as a percentage (``0.0%``) and CSV as ``85.3%``."""


def _zone() -> ZoneInfo:
    name = current_app.config.get("TIMEZONE", "Asia/Shanghai") if has_app_context() else "Asia/Shanghai"
    return ZoneInfo(name)


def _local(value: datetime) -> datetime:
    """Aware → naive local time (openpyxl refuses aware datetimes; people read local time)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(_zone()).replace(tzinfo=None)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Percent):
        return f"{float(value) * 100:.1f}%"
    if isinstance(value, datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "✓" if value else ""
    return str(value)


def content_disposition(filename: str) -> str:
    # RFC 6266: an ASCII fallback plus the UTF-8 name, so Chinese file names survive every browser.
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a BOM so Excel on Windows opens Chinese text correctly; CRLF line ends."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([_guard(str(h)) for h in headers])
    for row in rows:
        # A leading = + - @ would make Excel evaluate the cell (CSV injection): prefix a quote.
        writer.writerow([_guard(_text(v)) for v in row])
    return buf.getvalue().encode("utf-8")


def _guard(text: str) -> str:
    if text and text[0] in FORMULA_START and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """A CSV download (``filename`` should end in ``.csv``)."""
    return Response(csv_bytes(headers, rows), mimetype="text/csv",
                    headers={"Content-Disposition": content_disposition(filename), "Cache-Control": "private, no-store"})


def xlsx_bytes(title: str, headers: Sequence[str], rows: Iterable[Sequence], totals: Sequence | None = None,
               subtitle: str | None = None, sheet_name: str | None = None) -> bytes:
    """An XLSX workbook of one sheet; see :func:`write_sheet` for the layout."""
    from openpyxl import Workbook

    wb = Workbook()
    write_sheet(wb.active, title, headers, rows, totals=totals, subtitle=subtitle, sheet_name=sheet_name)
    return workbook_bytes(wb)


def workbook_bytes(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_sheet(ws, title: str, headers: Sequence[str], rows: Iterable[Sequence], totals: Sequence | None = None,
                subtitle: str | None = None, sheet_name: str | None = None, notes: Sequence[str] = ()) -> None:
    """Lay out one sheet: title row (merged, bold), optional subtitle row, bold frozen header row,
    the data rows, an optional bold totals row, optional note lines below, column widths fitted
    to the content (CJK counted double), A4 landscape fitted to the page width."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    ws.title = _sheet_title(sheet_name or title)
    ncols = max(1, len(headers))
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)

    ws.cell(row=1, column=1, value=xlsx_text(str(title))).font = Font(bold=True, size=14)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center", vertical="center")
    if ncols > 1:
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    ws.row_dimensions[1].height = 26
    header_row = 2
    if subtitle:
        ws.cell(row=2, column=1, value=xlsx_text(str(subtitle))).alignment = Alignment(horizontal="left")
        if ncols > 1:
            ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=ncols)
        header_row = 3

    widths = [_width(str(h)) for h in headers]
    fill = PatternFill("solid", fgColor="E8EEF5")
    for col, head in enumerate(headers, start=1):
        cell = ws.cell(row=header_row, column=col, value=xlsx_text(str(head)))
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.border = border
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)

    styles = _CellStyles(ws, border)
    r = header_row
    for row in rows:
        r += 1
        _write_row(ws, r, row, widths, styles)
    if totals is not None:
        r += 1
        _write_row(ws, r, totals, widths, styles, bold=True)
    for note in notes:
        r += 1
        ws.cell(row=r, column=1, value=xlsx_text(str(note))).font = Font(size=9, italic=True)

    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = min(60, max(8, width + 2))
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"


class _CellStyles:
    """Body-cell styles made once and copied by value.

    Assigning ``cell.border``/``cell.font`` hashes the style objects for every cell (most of the
    time of a big export); copying a prepared style array is the same result for a fraction.
    """

    def __init__(self, ws, border):
        self.ws, self.border, self.cache = ws, border, {}

    def apply(self, cell, number_format: str, bold: bool) -> None:
        from copy import copy

        from openpyxl.styles import Font

        key = (number_format, bold)
        proto = self.cache.get(key)
        if proto is None:
            cell.border = self.border
            cell.number_format = number_format
            if bold:
                cell.font = Font(bold=True)
            self.cache[key] = cell
            return
        cell._style = copy(proto._style)


def _write_row(ws, r: int, values: Sequence, widths: list[int], styles: _CellStyles, bold: bool = False) -> None:
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row=r, column=col, value=_xlsx_value(value))
        if isinstance(value, Percent):
            fmt = "0.0%"
        elif isinstance(value, datetime):
            fmt = "yyyy-mm-dd hh:mm"
        elif isinstance(value, date):
            fmt = "yyyy-mm-dd"
        else:
            fmt = "General"
        styles.apply(cell, fmt, bold)
        if col <= len(widths):
            widths[col - 1] = max(widths[col - 1], _width(_text(value)))
        else:
            widths.append(_width(_text(value)))


def _xlsx_value(value):
    if isinstance(value, Percent):
        return float(value)
    if isinstance(value, datetime):
        return _local(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return xlsx_text(value)
    return value


def xlsx_text(text: str) -> str:
    """``text`` as an XLSX cell may hold it: control characters dropped (they are illegal in XLSX;
    one stray control character in a record must not break the export), and a leading ``=`` quoted
    so the cell is text, never a formula. openpyxl stores any other string (``+ - @``, tab, CR) as text."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    if text[:1] == "=":
        return "'" + text  # never let user text become a formula
    return text


def _width(text: str) -> int:
    # CJK characters are about twice as wide as Latin ones in Excel's default font.
    longest = max((line for line in text.split("\n")), key=len, default="")
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in longest)


def _sheet_title(name: str) -> str:
    """A sheet name Excel accepts (no ``[]:*?/\\`` or control characters, at most 31 characters, no
    apostrophe at either end), starting with ``_`` instead of a formula character."""
    cleaned = "".join("_" if ch in "[]:*?/\\" or ord(ch) < 32 else ch for ch in str(name)).strip("'")
    if cleaned[:1] and cleaned[0] in FORMULA_START:
        cleaned = "_" + cleaned
    return cleaned[:31].rstrip("'") or "Sheet1"


def workbook_response(filename: str, wb) -> Response:
    """Download an openpyxl workbook built with :func:`write_sheet` (several sheets)."""
    return Response(workbook_bytes(wb), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": content_disposition(filename), "Cache-Control": "private, no-store"})


def xlsx_response(filename: str, title: str, headers: Sequence[str], rows: Iterable[Sequence],
                  totals: Sequence | None = None, subtitle: str | None = None) -> Response:
    """An XLSX download (``filename`` should end in ``.xlsx``); see :func:`xlsx_bytes`."""
    data = xlsx_bytes(title, headers, rows, totals=totals, subtitle=subtitle)
    return Response(data, mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": content_disposition(filename), "Cache-Control": "private, no-store"})
