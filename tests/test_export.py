"""Spreadsheet exports: the formula-injection guard covers titles, headers, notes and sheet names."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook, load_workbook

from records import export

RISKY = ["=1+1", "+1+2", "-A1", "@SUM(A1)", "\tx", "\rx"]


def test_csv_headers_are_guarded_like_data():
    data = export.csv_bytes(RISKY + ["-5", "安全"], [RISKY + ["-5", "安全"]]).decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(data, newline="")))
    assert header == row == ["'" + v for v in RISKY] + ["-5", "安全"]


def test_xlsx_titles_headers_notes_and_sheet_names_are_never_formulas():
    wb = Workbook()
    export.write_sheet(wb.active, "=title()", RISKY, [RISKY], subtitle="=subtitle()", notes=["=note()"])
    export.write_sheet(wb.create_sheet(), "t", ["a"], [], sheet_name="'=HYPERLINK(\"x\")'")
    book = load_workbook(io.BytesIO(export.workbook_bytes(wb)))
    first, second = book.worksheets
    cells = [cell for ws in book.worksheets for row in ws.iter_rows() for cell in row if cell.value is not None]
    assert cells and all(cell.data_type == "s" for cell in cells if isinstance(cell.value, str))
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert (first["A1"].value, first["A2"].value, first["A5"].value) == ("'=title()", "'=subtitle()", "'=note()")
    assert [c.value for c in first[3]][:2] == ["'=1+1", "+1+2"]  # headers: the same guard as the data row
    assert [c.value for c in first[3]] == [c.value for c in first[4]]
    assert first.title == "_=title()" and second.title == '_=HYPERLINK("x")'
