"""CSV and XLSX downloads: :mod:`webapp.export`, where the audit log (below the records) can reach it too."""
from webapp.export import (
    FORMULA_START,
    XLSX_MIMETYPE,
    Percent,
    content_disposition,
    csv_bytes,
    csv_response,
    workbook_bytes,
    workbook_response,
    write_sheet,
    xlsx_bytes,
    xlsx_response,
    xlsx_text,
)

__all__ = ["FORMULA_START", "XLSX_MIMETYPE", "Percent", "content_disposition", "csv_bytes", "csv_response",
           "workbook_bytes", "workbook_response", "write_sheet", "xlsx_bytes", "xlsx_response", "xlsx_text"]
