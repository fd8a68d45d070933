"""The satisfaction dashboard page and the downloads of its tables."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from records import export
from records.permissions import RECORDS_READ
from records.scope import visible_projects
from satisfaction.analysis import figures
from satisfaction.analysis.figures import LABEL_TEXT
from satisfaction.analysis.snapshot import snapshot
from satisfaction.analysis.tables import KEYS, Table
from webapp.exceptions import NotFound
from webapp.i18n import _, _l
from webapp.permissions import permission_required

bp = Blueprint("dashboard", __name__, url_prefix="/satisfaction/dashboard")

#: The words the charts show (handed to the script in a data attribute).
CHART_TEXT = {
    "satisfaction": _l("Satisfaction rate"), "interval": _l("95 % interval"), "target": _l("Target"),
    "distribution": _l("Distribution rate"), "return": _l("Return rate"), "complaints": _l("Complaints"),
    "cumulative": _l("Cumulative share"), "on_time_response": _l("On-time response rate"),
    "on_time_resolution": _l("On-time resolution rate"), "handling_satisfaction": _l("Handling-satisfaction rate"),
    "small_sample": _l("small sample"), "no_data": _l("No data for this year yet."),
    "forms": _l("forms"),
}


def _selection() -> figures.Selection:
    return figures.selection(current_user, figures.year_arg(request.args.get("year"), strict=False),
                             request.args.get("project") or None)


@bp.get("")
@permission_required(RECORDS_READ)
def index():
    sel = _selection()
    snap = snapshot(sel)
    texts = {"labels": {k: str(v) for k, v in LABEL_TEXT.items()}, **{k: str(v) for k, v in CHART_TEXT.items()}}
    if sel.project is not None:
        scope_name = f"{sel.project.code} {sel.project.label}"
    else:
        scope_name = _("Whole company") if sel.scope == "company" else _("My projects")
    return render_template(
        "satisfaction/analysis/dashboard.html", data=snap.data, tables=snap.tables, generated_at=snap.generated_at,
        sel=sel, args={"year": sel.year, "project": sel.project.code if sel.project else None},
        projects=visible_projects(), years=figures.dashboard_years(sel.allowed), texts=texts,
        scope_name=scope_name, reading_codes={text: code for code, text in texts["labels"].items()},
        register_args={"kind": "complaint", "from": f"{sel.year}-01-01", "to": f"{sel.year}-12-31",
                       **({"project": sel.project.id} if sel.project else {})})


def _name(sel, title: str) -> str:
    return " ".join(part for part in (title, str(sel.year), sel.project.code if sel.project else "") if part)


def _note(data: dict) -> str:
    return _("Satisfaction rates with their 95 %% Wilson interval; target %(target)s. %(definition)s",
             target=f"{data['targets']['satisfaction'] * 100:.0f}%", definition=data["satisfied_definition"])


@bp.get("/<key>.<any(csv, xlsx):fmt>")
@permission_required(RECORDS_READ)
def download(key: str, fmt: str):
    sel = _selection()
    snap = snapshot(sel)
    if key == "survey":  # the first table's name depends on the view (projects or campaigns)
        key = next(iter(snap.tables))
    table: Table | None = snap.tables.get(key) if key in KEYS else None
    if table is None:
        raise NotFound(_("No such table."))
    name = _name(sel, table.title)
    if fmt == "csv":
        return export.csv_response(f"{name}.csv", table.headers, table.rows + ([table.totals] if table.totals else []))
    return export.xlsx_response(f"{name}.xlsx", name, table.headers, table.rows, totals=table.totals,
                                subtitle=_note(snap.data))


@bp.get("/workbook.xlsx")
@permission_required(RECORDS_READ)
def workbook():
    """Every table of the dashboard, one sheet each."""
    from openpyxl import Workbook

    sel = _selection()
    snap = snapshot(sel)
    wb = Workbook()
    for i, table in enumerate(snap.tables.values()):
        ws = wb.active if i == 0 else wb.create_sheet()
        export.write_sheet(ws, _name(sel, table.title), table.headers, table.rows, totals=table.totals,
                           subtitle=_note(snap.data), sheet_name=table.title)
    return export.workbook_response(f"{_name(sel, _('Satisfaction dashboard'))}.xlsx", wb)
