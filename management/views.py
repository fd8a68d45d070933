"""Management review pages: the years, one year's report with the meeting's record, print, XLSX."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from management import report, service, workbook
from management.forms import ApproveForm, RecordForm
from management.permissions import MANAGEMENT_REVIEW
from records.export import workbook_response
from webapp.db import utcnow
from webapp.exceptions import Conflict, InvalidTransition
from webapp.forms import submit_form
from webapp.i18n import _
from webapp.permissions import permission_required
from workflow.deciding import DECISION_LABELS
from workflow.service import KIND_LABELS as REVIEW_KIND_LABELS

bp = Blueprint("management", __name__, url_prefix="/management")

BLANK_ITEM_ROWS = 2


def _labels() -> dict:
    return {"label_texts": report.LABEL_TEXTS, "small_sample_text": report.SMALL_SAMPLE_TEXT,
            "definitions": report.DEFINITIONS, "item_kinds": service.ITEM_KIND_LABELS,
            "follow_up_labels": service.FOLLOW_UP_LABELS, "state_labels": service.STATE_LABELS,
            "review_kinds": REVIEW_KIND_LABELS, "decision_labels": DECISION_LABELS}


@bp.get("/")
@permission_required(MANAGEMENT_REVIEW)
def home():
    return redirect(url_for("management.index"))


@bp.get("/review/")
@permission_required(MANAGEMENT_REVIEW)
def index():
    return render_template("management/index.html", years=service.years(), state_labels=service.STATE_LABELS)


def _record_form(record, rep: report.Report, *, posted: bool) -> RecordForm:
    """The record form as posted, or as saved; the follow-up rows match the previous review's decisions."""
    form = RecordForm() if posted else RecordForm(formdata=None)
    if not posted:
        if record is not None:
            form.version.data = str(record.version)
            form.held_on.data = record.held_on.isoformat() if record.held_on else ""
            form.attendees.data, form.conclusions.data = record.attendees, record.conclusions
            for item in record.items:
                form.items.append_entry({"id": str(item.id), "kind": item.kind, "text": item.text,
                                         "responsible": item.responsible,
                                         "due_on": item.due_on.isoformat() if item.due_on else "",
                                         "action": item.action.number if item.action else ""})
        for p in rep.previous.items:
            form.follow_up.append_entry({"item_id": str(p.item.id), "state": p.state, "note": p.note})
        for _n in range(BLANK_ITEM_ROWS):
            form.items.append_entry()
    elif form.add_item.data:
        form.items.append_entry()
    form.fill_choices()
    return form


def _row_fields(form: RecordForm) -> dict:
    """The service's ``items-<n>-<field>`` and ``follow_up-<id>-<field>`` keys → the rows' fields."""
    fields = {f"items-{n}-{name}": getattr(entry.form, name) for n, entry in enumerate(form.items)
              for name in ("kind", "text", "responsible", "due_on", "action")}
    fields.update({f"follow_up-{entry.form.item_id.data}-{name}": getattr(entry.form, name)
                   for entry in form.follow_up for name in ("state", "note")})
    return fields


def _page(year: int, record, rep: report.Report, form: RecordForm, status: int = 200):
    approve_form = ApproveForm(formdata=None, version=str(record.version) if record else "")
    return render_template("management/review.html", year=year, record=record, rep=rep, form=form,
                           approve_form=approve_form, **_labels()), status


@bp.route("/review/<int:year>", methods=["GET", "POST"])
@permission_required(MANAGEMENT_REVIEW)
def review(year: int):
    """The year's report and its record; a POST saves the record (or adds a decision row)."""
    service.check_year(year)
    record = service.get_record(year)
    rep = report.build(year, record)
    posted = request.method == "POST"
    form = _record_form(record, rep, posted=posted)
    if not posted or form.add_item.data:
        return _page(year, record, rep, form)
    saved, page = submit_form(
        form, lambda: service.save(year, form.data_for_service(), actor=current_user, version=form.version.data),
        lambda f, status: _page(year, service.get_record(year), rep, f, status),
        aliases=_row_fields(form), flashed=(Conflict, InvalidTransition))
    if page is not None:
        return page
    flash(_("The management review record was saved."), "success")
    return redirect(url_for("management.review", year=saved.year))


@bp.post("/review/<int:year>/approve")
@permission_required(MANAGEMENT_REVIEW)
def approve(year: int):
    service.check_year(year)
    form = ApproveForm()

    def rerender(_form, status):
        record = service.get_record(year)
        rep = report.build(year, record)
        return _page(year, record, rep, _record_form(record, rep, posted=False), status)

    _done, page = submit_form(form, lambda: service.approve(year, actor=current_user, version=form.version.data),
                             rerender, flashed=(Conflict, InvalidTransition))
    if page is not None:
        return page
    flash(_("The management review %(year)d was approved and closed.", year=year), "success")
    return redirect(url_for("management.review", year=year))


@bp.get("/review/<int:year>/print")
@permission_required(MANAGEMENT_REVIEW)
def print_view(year: int):
    service.check_year(year)
    record = service.get_record(year)
    return render_template("management/print.html", year=year, record=record, rep=report.build(year, record),
                           printed_at=utcnow(), **_labels())


@bp.get("/review/<int:year>.xlsx")
@permission_required(MANAGEMENT_REVIEW)
def export(year: int):
    service.check_year(year)
    record = service.get_record(year)
    book = workbook.build(report.build(year, record), record)
    return workbook_response(_("Management review %(year)d", year=year) + ".xlsx", book)
