"""XLSX import of returned survey forms, and the template to fill in.

The sheet has a header row — 房号, 总体评价, one column per rated category (its Chinese
name), 意见建议 — and one form per row. Ratings are the values of the campaign's rating scale or
its labels (the words printed on the paper form, e.g. 基本满意; English labels too). Every row is checked before anything is written; a file with
any bad row, a wrong header or more forms than were distributed is refused whole, with
every problem named by row and column. Good files go in with two bulk INSERTs.

The file is read by :mod:`satisfaction.surveys.xlsx_read`, not by openpyxl: the zip is checked before
anything is unpacked, declared sheet dimensions are ignored, only the header's columns are
kept, and every XML element counts against a budget of ``ELEMENTS_PER_ROW`` per form allowed
(``SURVEY_IMPORT_MAX_ROWS``), so no file costs more time or memory than the largest legitimate
one. Text cells that are not clean Unicode (:func:`webapp.textguard.bad_text_message`) are
refused by row and column like any other bad cell.
"""
from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import insert

from audit import service as audit
from records.export import xlsx_text
from records.numbering import next_value
from satisfaction.models import ServiceCategory
from satisfaction.surveys import xlsx_read
from satisfaction.surveys.models import (
    SurveyAnswer,
    SurveyCampaign,
    SurveyFormSequence,
    SurveyResponse,
    number_scope,
)
from satisfaction.surveys.rates import returned_count
from satisfaction.surveys.scale import Scale
from satisfaction.surveys.service import (
    COMMENTS_MAX,
    ROOM_MAX,
    categories_of,
    check_can_enter,
    lock_campaign,
)
from webapp.db import utcnow
from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.textguard import bad_text_message

ROOM = "房号"
OVERALL = "总体评价"
COMMENTS = "意见建议"
#: Other spellings accepted in the header row (an English sheet, a shortened header).
ALIASES = {
    ROOM: {"房号", "房间号", "房号/楼栋", "room"},
    OVERALL: {"总体评价", "总体满意度", "总体", "overall"},
    COMMENTS: {"意见建议", "意见和建议", "意见", "建议", "comments"},
}
MAX_ERRORS = 200
HEADER_SEARCH_ROWS = 5
DEFAULT_MAX_ROWS = 10_000
#: The header row is looked for in this many columns; once found, only its columns are read.
MAX_HEADER_COLUMNS = 256
#: XML elements a file may have per form it may hold (a form: a row, a few cells and their values;
#: styled empty cells and rich text use more). Beyond that the file is refused unread.
ELEMENTS_PER_ROW = 100


@dataclass
class ImportResult:
    count: int
    batch: str
    first_id: int | None
    last_id: int | None


def _norm(value) -> str:
    return "" if value is None else "".join(str(value).split()).lower()


def _header_key(value) -> str:
    """A header cell as :func:`_norm` sees it, without the quote that keeps a leading ``=`` from
    being a formula (the template writes names through :func:`records.export.xlsx_text`)."""
    text = "" if value is None else str(value).strip()
    return _norm(text[1:] if text[:2] == "'=" else text)


def _cell_error(row: int, column: str, problem) -> str:
    return str(_l("Row %(row)d, column “%(column)s”: %(problem)s", row=row, column=column, problem=problem))


def _refuse(message, errors: dict | None = None):
    raise ValidationError(message, errors=errors or {"file": [message]})


def max_rows() -> int:
    return int(current_app.config.get("SURVEY_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def _columns(header: tuple, categories: list[ServiceCategory]) -> dict[int, tuple[str, object]]:
    """Header cells → {column index: (kind, category or None)}; kinds: room, overall, comments, rating."""
    known: dict[str, tuple[str, object]] = {}
    for kind, names in ((ROOM, "room"), (OVERALL, "overall"), (COMMENTS, "comments")):
        for alias in ALIASES[kind]:
            known[_norm(alias)] = (names, None)
    for cat in categories:
        for name in (cat.name, cat.name_en, cat.code):
            if name:
                known.setdefault(_header_key(name), ("rating", cat))
    columns: dict[int, tuple[str, object]] = {}
    seen: dict[str, str] = {}
    problems: list[str] = []
    for index, cell in enumerate(header):
        key = _header_key(cell)
        if not key:
            continue
        found = known.get(key)
        if found is None:
            problems.append(str(_l("Column “%(column)s” is not a question of this survey.", column=str(cell).strip())))
            continue
        ident = found[0] if found[1] is None else f"cat{found[1].id}"
        if ident in seen:
            problems.append(str(_l("Column “%(column)s” appears twice.", column=str(cell).strip())))
            continue
        seen[ident] = str(cell)
        columns[index] = found
    if "overall" not in seen:
        problems.append(str(_l("The column “%(column)s” is missing.", column=OVERALL)))
    if problems:
        _refuse(_l("The header row does not match this survey. Download the template and copy the forms into it."),
                {"header": problems})
    return columns


def max_unpacked() -> int:
    return int(current_app.config.get("SURVEY_IMPORT_MAX_UNPACKED_BYTES", xlsx_read.DEFAULT_MAX_UNPACKED))


def _text_problem(value):
    """The reason a text cell is refused (not clean Unicode, control characters), or None."""
    return bad_text_message(value) if isinstance(value, str) else None


def _rows(data: bytes):
    """(row number, values) of the first sheet, read under the limits of :mod:`satisfaction.surveys.xlsx_read`;
    returns the row iterator, whose ``width`` the caller narrows once it knows the columns."""
    if not data:
        _refuse(_l("The file is empty."))
    limit = max_rows()
    budget = xlsx_read.Budget(
        (limit + HEADER_SEARCH_ROWS + 100) * ELEMENTS_PER_ROW,
        _l("The file holds far more cells than %(max)d forms need. Delete empty or unrelated rows and columns, "
           "or import the forms in smaller files.", max=limit))
    archive = xlsx_read.open_archive(data, max_unpacked=max_unpacked())
    sheet, strings = xlsx_read.first_sheet(archive, budget)
    return xlsx_read.SheetRows(archive, sheet, xlsx_read.shared_strings(archive, strings, budget), budget,
                               width=MAX_HEADER_COLUMNS)


def _find_header(rows) -> tuple[list, int]:
    overall = {_norm(a) for a in ALIASES[OVERALL]}
    for number, row in rows:
        if number > HEADER_SEARCH_ROWS:
            break
        if any(_norm(c) in overall for c in row):
            problems = [_cell_error(number, xlsx_read.column_letters(index + 1), problem)
                        for index, cell in enumerate(row) if (problem := _text_problem(cell)) is not None]
            if problems:
                _refuse(_l("The header row does not match this survey. Download the template and copy the forms "
                           "into it."), {"header": problems})
            return row, number
    _refuse(_l("No header row with a “%(column)s” column was found in the first rows of the first sheet.",
               column=OVERALL))


def _read_cell(kind: str, cat, cell, values: dict, scale: Scale):
    """Store one cell's clean value in ``values``; returns the problem with it, or None."""
    problem = _text_problem(cell)
    if problem is not None:
        return problem
    if kind in ("overall", "rating"):
        try:
            rating = scale.parse(cell)
        except ValueError:
            return _l("the rating must be %(values)s or %(words)s, not “%(cell)s”", values=scale.value_list(),
                      words=scale.label_list(), cell=str(cell).strip()[:40])
        if kind == "overall":
            values["overall"] = rating
            if rating is None:
                return _l("the overall rating is required")
        elif rating is not None:
            values["ratings"][cat.id] = rating
        return None
    text = "" if cell is None else str(cell).strip()
    if isinstance(cell, float) and cell.is_integer():
        text = str(int(cell))
    limit_len = ROOM_MAX if kind == "room" else COMMENTS_MAX
    values[kind] = text
    if len(text) > limit_len:
        return _l("at most %(n)d characters", n=limit_len)
    return None


def parse(data: bytes, campaign: SurveyCampaign) -> list[dict]:
    """Read and check every row → clean values; ValidationError lists every bad cell."""
    categories = categories_of(campaign)
    scale = campaign.scale
    rows = _rows(data)
    reading = iter(rows)
    header, header_row = _find_header(reading)
    columns = _columns(header, categories)
    rows.width = max(columns) + 1  # cells further right are never stored
    limit = max_rows()
    parsed: list[dict] = []
    errors: dict[str, list[str]] = {}
    for number, row in reading:
        if number <= header_row or all(_norm(c) == "" for c in row):
            continue
        if len(parsed) >= limit:
            _refuse(_l("The file has more than %(max)d forms; import at most %(max)d at a time.", max=limit))
        values = {"room": "", "overall": None, "comments": "", "ratings": {}}
        for index, (kind, cat) in columns.items():
            problem = _read_cell(kind, cat, row[index] if index < len(row) else None, values, scale)
            if problem is not None:
                column_name = str(header[index]).strip()
                errors[f"{number}:{column_name}"] = [_cell_error(number, column_name, problem)]
        parsed.append(values)
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        shown = len(errors)
        _refuse(_l("%(n)d problems found; nothing was imported. Correct the file and import it again.", n=shown),
                errors)
    if not parsed:
        _refuse(_l("The sheet has no survey forms below the header row."))
    return parsed


def import_responses(campaign: SurveyCampaign, data: bytes, filename: str, *, actor) -> ImportResult:
    """Import a whole sheet in one transaction, or nothing (see the module docstring)."""
    check_can_enter(campaign)
    rows = parse(data, campaign)
    campaign = lock_campaign(campaign)
    check_can_enter(campaign)
    returned = returned_count(campaign.id)
    if returned + len(rows) > campaign.distributed:
        _refuse(_l("Importing %(n)d forms would make %(total)d returned, more than the %(distributed)d distributed. "
                   "Correct the number distributed or the file first.",
                   n=len(rows), total=returned + len(rows), distributed=campaign.distributed))
    batch = uuid.uuid4().hex
    ids = bulk_insert(campaign.id, rows, source="xlsx", batch=batch, actor=actor)
    # One audit entry names the whole file (its hash) and the rows it created.
    audit.record("survey_response.imported", campaign, actor=actor, after={
        "batch": batch, "file": (filename or "")[:200], "sha256": hashlib.sha256(data).hexdigest(),
        "count": len(ids), "first_id": ids[0], "last_id": ids[-1]})
    db.session.commit()
    return ImportResult(len(ids), batch, ids[0], ids[-1])


def bulk_insert(campaign_id: int, rows: list[dict], *, source: str, batch: str | None, actor) -> list[int]:
    """Insert already-validated forms with two executemany INSERTs; returns the new ids in order.

    Each row: overall, ratings {category id: rating}, room, comments, optional entered_at. The forms
    take the campaign's next numbers, in the order given (one block from the campaign's counter).
    The caller checks the campaign (open, returned ≤ distributed), audits and commits.
    """
    if not rows:
        return []
    now = utcnow()
    actor_id = getattr(actor, "id", None)
    first = next_value(SurveyFormSequence, number_scope(campaign_id), len(rows)) - len(rows) + 1
    payload = [{"campaign_id": campaign_id, "number": first + n, "room": r["room"], "overall": r["overall"], "comments": r["comments"],
                "source": source, "batch": batch, "entered_at": r.get("entered_at") or now,
                "entered_by_id": actor_id, "void_reason": ""} for n, r in enumerate(rows)]
    ids = list(db.session.execute(
        insert(SurveyResponse).returning(SurveyResponse.id, sort_by_parameter_order=True), payload).scalars())
    answers = [{"response_id": rid, "category_id": cid, "rating": rating}
               for rid, r in zip(ids, rows, strict=True) for cid, rating in r["ratings"].items()]
    if answers:
        db.session.execute(insert(SurveyAnswer), answers)
    return ids


def template_bytes(campaign: SurveyCampaign) -> bytes:
    """An XLSX to fill in: the header row this campaign expects, drop-downs, and an instructions sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    categories = categories_of(campaign)
    scale = campaign.scale
    headers = [ROOM, OVERALL, *[c.name for c in categories], COMMENTS]
    wb = Workbook()
    ws = wb.active
    ws.title = "调查表"
    fill = PatternFill("solid", fgColor="E8EEF5")
    for col, head in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=col, value=xlsx_text(head))
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center")
        ws.column_dimensions[get_column_letter(col)].width = 40 if head == COMMENTS else max(12, len(head) * 2 + 4)
    ws.freeze_panes = "A2"
    # The drop-down offers the labels (as ticked on the paper form) and the values; both import.
    allowed = ",".join([*(level.name for level in scale.levels), *(str(v) for v in scale.values)])
    rating_check = DataValidation(type="list", formula1=f'"{allowed}"', allow_blank=True, showErrorMessage=True,
                                  errorTitle="评分", error=f"请填 {scale.label_list()} 或 {scale.value_list()}")
    ws.add_data_validation(rating_check)
    last_rating_col = get_column_letter(2 + len(categories))
    rating_check.add(f"B2:{last_rating_col}{max_rows() + 1}")
    help_ws = wb.create_sheet("填写说明")
    lines = [
        f"{campaign.project.name} 业主调查表 {campaign.label}",
        "每行录入一份回收的调查表；第一行标题请勿修改。",
        "评分：" + "，".join(f"{level.value} = {level.name}" for level in scale.levels) + "（可填数字或文字）。",
        "计为满意的评价：" + "、".join(level.name for level in scale.levels if level.satisfied) + "。",
        "总体评价必填；分项评分未作答可留空；房号、意见建议可留空。",
        f"一次最多导入 {max_rows()} 行；任一行有误时整份文件都不会导入，请按提示改正后重新导入。",
    ]
    for i, line in enumerate(lines, start=1):
        help_ws.cell(row=i, column=1, value=xlsx_text(line)).font = Font(bold=(i == 1))
    help_ws.column_dimensions["A"].width = 90
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
