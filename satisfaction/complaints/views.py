"""Pages of the complaint & praise register and the monthly complaint summary."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_login import current_user
from flask_wtf import FlaskForm

from actions import reviews
from actions.models import Action
from records import attachments
from records.export import Percent, csv_response, workbook_response, write_sheet, xlsx_response
from records.forms import VoidForm
from records.permissions import RECORDS_READ, RECORDS_VOID, RECORDS_WRITE
from records.scope import check_project, visible_projects
from satisfaction.categories import list_categories
from satisfaction.complaints import service
from satisfaction.complaints import summary as summary_service
from satisfaction.complaints.forms import EditEntryForm, NewEntryForm, ReviewForm, TransitionForm
from satisfaction.complaints.models import CHANNELS, KINDS, SEVERITIES, STATUSES
from webapp.dates import local_today
from webapp.db import utcnow
from webapp.exceptions import Conflict, ValidationError
from webapp.extensions import db
from webapp.forms import choices, place_errors, submit_form
from webapp.i18n import _, _l
from webapp.permissions import permission_required

bp = Blueprint("complaints", __name__, url_prefix="/satisfaction/complaints")

EXPORT_LIMIT = 20_000


@bp.context_processor
def labels():
    # Translated once per page, not once per row: a lazy string looks its catalogue up every time.
    return {name: {k: str(v) for k, v in mapping.items()} for name, mapping in (
        ("kind_labels", service.KIND_LABELS), ("channel_labels", service.CHANNEL_LABELS),
        ("severity_labels", service.SEVERITY_LABELS), ("status_labels", service.STATUS_LABELS),
        ("satisfaction_labels", service.SATISFACTION_LABELS), ("action_labels", service.ACTION_LABELS),
        ("event_labels", service.EVENT_LABELS))}


#: The service's names for fields the forms call otherwise.
FIELD_ALIASES = {"category_id": "category"}


def _local_input(value: datetime | None) -> str:
    return value.astimezone(service.zone()).strftime("%Y-%m-%dT%H:%M") if value else ""


# ---------------------------------------------------------------------------------------------
# the register


def _filters_or_errors():
    try:
        return service.parse_filters(request.args, current_user), {}
    except ValidationError as exc:
        return service.Filters(), exc.errors


@bp.get("/")
@permission_required(RECORDS_READ)
def index():
    filters, errors = _filters_or_errors()
    now = utcnow()
    # Status tabs with their counts and numbered pages; a page past the last is a 404 (NotFound).
    page = None if errors else service.register_page(filters, current_user, page=request.args.get("page"), now=now)
    args = filters.as_args()
    return render_template(
        "satisfaction/complaints/list.html", page=page, filters=filters, filter_errors=errors, args=args, now=now,
        projects=visible_projects(), categories=list_categories(active_only=False), kinds=KINDS,
        statuses=STATUSES, severities=SEVERITIES, channels=CHANNELS), 400 if errors else 200


def _export_rows(fmt: str):
    filters = service.parse_filters(request.args, current_user)  # bad filters → 400 page
    rows = service.export_rows(service.list_statement(filters, current_user), EXPORT_LIMIT)
    if rows is None:
        raise ValidationError(_l("More than %(n)d entries match: narrow the filters (for example one month) and "
                                 "export again.", n=EXPORT_LIMIT))
    now = utcnow()
    headers = [_("Number"), _("Type"), _("Received at"), _("Project"), _("Channel"), _("Service category"),
               _("Severity"), _("Building"), _("Room"), _("Contact name"), _("Contact phone"), _("What was raised"),
               _("Status"), _("Handler"), _("Responsible department"), _("Respond by"), _("Acknowledged at"),
               _("Resolve by"), _("Resolved at"), _("Cause"), _("Handling measures"), _("Follow-up at"),
               _("Their satisfaction with the handling"), _("Times reopened"), _("Closed at"), _("Overdue"),
               _("Voided")]
    body = [[
        e.number, str(service.KIND_LABELS[e.kind]), e.received_at, e.project.label,
        str(service.CHANNEL_LABELS[e.channel]), e.category.label, str(service.SEVERITY_LABELS[e.severity]),
        e.building, e.room, e.contact_name, e.contact_phone, e.description, str(service.STATUS_LABELS[e.status]),
        e.handler.display_name if e.handler else "", e.department.label if e.department else "", e.respond_due,
        e.acknowledged_at, e.resolve_due, e.resolved_at, e.cause, e.action_taken, e.followed_up_at,
        str(service.SATISFACTION_LABELS[e.handling_satisfaction]) if e.handling_satisfaction else "",
        e.reopen_count, e.closed_at, _("Yes") if e.overdue(now) else "",
        (_("Voided") + ": " + e.void_reason) if e.voided else ""] for e in rows]
    stamp = local_today().isoformat()
    if fmt == "csv":
        return csv_response(f"complaints-{stamp}.csv", headers, body)
    return xlsx_response(f"complaints-{stamp}.xlsx", _("Complaint and praise register"), headers, body,
                         subtitle=_("Exported %(at)s · %(n)d entries", at=stamp, n=len(body)))


@bp.get("/export.csv")
@permission_required(RECORDS_READ)
def export_csv():
    return _export_rows("csv")


@bp.get("/export.xlsx")
@permission_required(RECORDS_READ)
def export_xlsx():
    return _export_rows("xlsx")


@bp.route("/new", methods=["GET", "POST"])
@permission_required(RECORDS_WRITE)
def new():
    form = NewEntryForm()
    projects = visible_projects()
    form.fill_choices([p.id for p in projects])
    form.project_id.choices = choices(
        ([("", _("— choose —"))] if len(projects) != 1 else []) + [(str(p.id), p.label) for p in projects])
    form.kind.choices = choices((k, str(service.KIND_LABELS[k])) for k in KINDS)
    if not form.is_submitted():
        form.received_at.data = _local_input(utcnow())
        if request.args.get("kind") in KINDS:
            form.kind.data = request.args["kind"]
        if request.args.get("project"):
            form.project_id.data = request.args["project"]
    entry, page = submit_form(form, lambda: service.create_entry(
        form.data_for_service() | {"kind": form.kind.data, "project_id": form.project_id.data}, actor=current_user),
        lambda form, status: (render_template("satisfaction/complaints/form.html", form=form, entry=None), status),
        aliases=FIELD_ALIASES)
    if page is not None:
        return page
    flash(_("Entry %(number)s saved.", number=entry.number), "success")
    if request.form.get("another"):
        return redirect(url_for(".new", kind=entry.kind, project=entry.project_id))
    return redirect(url_for(".detail", entry_id=entry.id))


def _detail(entry, *, forms=None, status=200, open_action=None):
    now = utcnow()
    forms = forms or {}
    tform = forms.get("transition") or TransitionForm(formdata=None, version=entry.version)
    tform.fill_choices()
    vform = forms.get("void") or VoidForm(formdata=None, version=entry.version)
    rform = forms.get("review") or ReviewForm(formdata=None)
    wants_review = entry.kind == "complaint" and entry.severity == "major" and not entry.review_procedure_code
    linked_action = db.session.get(Action, entry.action_id) if entry.action_id is not None else None
    return render_template(
        "satisfaction/complaints/detail.html", entry=entry, now=now, actions=service.available_actions(entry),
        tform=tform, vform=vform, rform=rform, open_action=open_action,
        procedures=reviews.procedure_choices() if wants_review else None,
        linked_action=linked_action, reviews=service.reviews_of(entry),
        **attachments.page_context(service.ATTACHMENTS, entry.id, forms)), status


@bp.get("/<int:entry_id>")
@permission_required(RECORDS_READ)
def detail(entry_id: int):
    return _detail(service.get_entry(entry_id, current_user))


# A photo of what the complaint is about, a letter: upload, the file, void (records.attachments).
attachments.page_routes(bp, service.ATTACHMENTS,
                        record_page=lambda entry, forms, status: _detail(entry, forms=forms, status=status),
                        back=lambda entry: url_for(".detail", entry_id=entry.id))


@bp.post("/<int:entry_id>/transition/<action>")
@permission_required(RECORDS_WRITE)
def transition(entry_id: int, action: str):
    form = TransitionForm()
    form.fill_choices()

    def done(entry):
        if action == "follow_up" and entry.status == "in_progress":
            return _("Follow-up recorded. The person was dissatisfied, so the complaint is back in progress."), "warning"
        return _("%(action)s: done.", action=service.ACTION_LABELS[action]), "success"

    return _entry_step(entry_id, "transition", form, lambda e: service.transition(
        e, action, {k: getattr(form, k).data for k in ("note", "cause", "action_taken", "feedback_given",
                                                       "handling_satisfaction", "follow_up_notes")},
        actor=current_user, expected_version=form.version.data or None), done, open_action=action)


@bp.route("/<int:entry_id>/edit", methods=["GET", "POST"])
@permission_required(RECORDS_WRITE)
def edit(entry_id: int):
    entry = service.get_entry(entry_id, current_user)
    form = EditEntryForm()
    form.fill_choices([entry.project_id], entry.handler)
    if not form.is_submitted():
        form.channel.data = entry.channel
        form.received_at.data = _local_input(entry.received_at)
        form.category.data = entry.category.code
        form.severity.data = entry.severity
        for key in ("building", "room", "contact_name", "contact_phone", "description"):
            getattr(form, key).data = getattr(entry, key)
        form.handler_id.data = str(entry.handler_id or "")
        form.department_id.data = str(entry.department_id or "")
        form.version.data = entry.version
    status, theirs = 200, None
    if form.validate_on_submit():
        try:
            service.update_entry(entry, form.data_for_service(), actor=current_user,
                                 expected_version=form.version.data or None)
        except ValidationError as exc:
            db.session.rollback()
            place_errors(form, exc, FIELD_ALIASES)
            status = 400
        except Conflict:
            db.session.rollback()
            entry = service.get_entry(entry_id, current_user)
            theirs = _their_values(entry)
            # The user's input stays in the form; saving again now overwrites knowingly.
            form.version.data = entry.version
            status = 409
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for(".detail", entry_id=entry.id))
    elif form.is_submitted():
        status = 400
    return render_template("satisfaction/complaints/form.html", form=form, entry=entry, theirs=theirs), status


def _their_values(entry) -> list[tuple[str, str]]:
    """The saved values, labelled, to show beside the user's own after a conflict."""
    return [
        (_("Channel"), str(service.CHANNEL_LABELS[entry.channel])),
        (_("Received at"), _local_input(entry.received_at).replace("T", " ")),
        (_("Service category"), entry.category.label),
        (_("Severity"), str(service.SEVERITY_LABELS[entry.severity])),
        (_("Building"), entry.building), (_("Room"), entry.room),
        (_("Contact name"), entry.contact_name), (_("Contact phone"), entry.contact_phone),
        (_("What was raised"), entry.description),
        (_("Handler"), entry.handler.display_name if entry.handler else ""),
        (_("Responsible department"), entry.department.label if entry.department else ""),
        (_("Status"), str(service.STATUS_LABELS[entry.status])),
    ]


def _entry_step(entry_id: int, key: str, form, step, done, **detail):
    """Validate ``form``, run ``step(entry)`` on a register entry and go back to its page with the
    flash ``done(what the step returned)`` (message, category); on bad input the detail page with the
    messages at the form (400), nothing saved."""
    entry = service.get_entry(entry_id, current_user)
    result, page = submit_form(form, lambda: step(entry), lambda form, status: _detail(
        service.get_entry(entry_id, current_user), forms={key: form}, status=status, **detail), aliases=FIELD_ALIASES)
    if page is not None:
        return page
    flash(*done(result))
    return redirect(url_for(".detail", entry_id=entry.id))


@bp.post("/<int:entry_id>/void")
@permission_required(RECORDS_VOID)
def void(entry_id: int):
    form = VoidForm()
    return _entry_step(entry_id, "void", form, lambda e: service.void_entry(
        e, reason=form.reason.data, actor=current_user, version=form.version.data or None),
        lambda e: (_("Entry %(number)s voided.", number=e.number), "success"))


@bp.post("/<int:entry_id>/review")
@permission_required(RECORDS_WRITE)
def request_review(entry_id: int):
    form = ReviewForm()
    return _entry_step(entry_id, "review", form, lambda e: service.request_review(
        e, form.procedure_code.data, actor=current_user),
        lambda found: (reviews.requested_message(found), "success"))


@bp.post("/<int:entry_id>/corrective-action")
@permission_required(RECORDS_WRITE)
def corrective_action(entry_id: int):
    entry = service.get_entry(entry_id, current_user)
    if not FlaskForm().validate_on_submit():
        return _detail(entry, status=400)
    service.open_corrective_action(entry, actor=current_user)
    flash(_("Corrective action opened."), "success")
    return redirect(url_for(".detail", entry_id=entry.id))


# ---------------------------------------------------------------------------------------------
# the monthly complaint summary


def _summary_request():
    """(month, projects, chosen project or None) from ``?month=YYYY-MM&project=<id>``."""
    raw_month = request.args.get("month")
    month = service.parse_month(raw_month) if raw_month else local_today().replace(day=1)
    raw_project = (request.args.get("project") or "").strip()
    if raw_project:
        project = check_project(raw_project)
        return month, [project], project
    return month, visible_projects(), None


def _prev_next(month: date) -> tuple[str, str]:
    prev = (month.replace(day=1) - timedelta(days=1)).replace(day=1)
    nxt = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return prev.strftime("%Y-%m"), nxt.strftime("%Y-%m")


def _summary_parts(result, projects, project) -> dict:
    """What the screen and print views of the summary both show besides the figures: the follow-up lines
    (``lines_total``: how many there are when not all of them are listed), the entries of one project."""
    month = result.month
    lines, truncated = summary_service.follow_up_lines(month, projects)
    return {"s": result, "project": project, "lines": lines, "channels": CHANNELS,
            "lines_total": result.totals.complaints if truncated else None,
            "entries": summary_service.month_entries(month, project) if project else None,
            "definitions": summary_service.DEFINITIONS, "verdict_words": summary_service.verdict_words(),
            "rate_labels": {k: str(v) for k, v in summary_service.RATE_LABELS.items()}}


@bp.get("/summary")
@permission_required(RECORDS_READ)
def summary():
    month, projects, project = _summary_request()
    result = summary_service.monthly_summary(month, projects=projects)
    prev_month, next_month = _prev_next(month)
    return render_template("satisfaction/complaints/summary.html", all_projects=visible_projects(),
                           prev_month=prev_month, next_month=next_month, **_summary_parts(result, projects, project))


def _form_summary(month: date, projects, project):
    """The summary as handed in (a Chinese company form: print view, XLSX), with the form's title
    and where it covers."""
    where = project.name if project else "全部项目"
    return (summary_service.monthly_summary(month, projects=projects),
            f"投诉情况月汇总表（{where} {month.year}年{month.month}月）", where)


@bp.get("/summary/print")
@permission_required(RECORDS_READ)
def summary_print():
    month, projects, project = _summary_request()
    with force_locale("zh_Hans"):
        result, title, where = _form_summary(month, projects, project)
        return render_template("satisfaction/complaints/summary_print.html", title=title, where=where,
                               **_summary_parts(result, projects, project))


def summary_table(result) -> tuple[list[str], list[list], list]:
    """Headers, rows and totals of the summary as the XLSX (and print view) lay them out."""
    headers = ([_("Project"), _("Entries"), _("Complaints")] + [c.label for c in result.categories]
               + [str(service.CHANNEL_LABELS[ch]) for ch in CHANNELS]
               + [_("Praise"), _("Suggestions"), _("Complaints closed"), _("On-time response rate"),
                  _("On-time resolution rate"), _("Follow-up rate"), _("Handling-satisfaction rate"),
                  _("Caring services")])

    def line(label, f):
        return ([label, f.total, f.complaints] + [f.by_category.get(c.id, 0) for c in result.categories]
                + [f.by_channel.get(ch, 0) for ch in CHANNELS]
                + [f.praise, f.suggestions, f.closed]
                + [None if rate is None else Percent(rate) for _key, rate, _num, _den in f.rates()]
                + [f.caring])

    rows = [line(f"{p.code} {p.label}", f) for p, f in result.rows]
    return headers, rows, line(_("Total"), result.totals)


def follow_up_table(lines, *, with_project: bool) -> tuple[list[str], list[list]]:
    """Headers and rows of the follow-up lines as the XLSX lays them out (received date as a date)."""
    zone, words = service.zone(), summary_service.verdict_words()
    headers = ([_("Number"), _("Received at")] + ([_("Project")] if with_project else [])
               + [_("Service category"), _("Result fed back to the person"), _("Follow-up at"),
                  _("Their satisfaction with the handling"), _("Times reopened")])
    rows = [[line.number, line.received_at.astimezone(zone).date()] + ([line.project.label] if with_project else [])
            + [line.category.label, line.feedback_given,
               line.followed_up_at.astimezone(zone).date() if line.followed_up_at else None,
               words.get(line.verdict, line.satisfaction or ""), line.reopened] for line in lines]
    return headers, rows


@bp.get("/summary.xlsx")
@permission_required(RECORDS_READ)
def summary_xlsx():
    from openpyxl import Workbook

    month, projects, project = _summary_request()
    with force_locale("zh_Hans"):
        result, title, where = _form_summary(month, projects, project)
        headers, rows, totals = summary_table(result)
        generated = result.generated_at.astimezone(service.zone()).strftime("%Y-%m-%d %H:%M")
        wb = Workbook()
        write_sheet(wb.active, title, headers, rows, totals=totals, sheet_name="汇总",
                    subtitle=f"项目：{where}    月份：{month.year}年{month.month}月    生成时间：{generated}",
                    notes=[str(v) for v in summary_service.DEFINITIONS.values()])
        if project is not None:
            entries = summary_service.month_entries(month, project)
            detail_headers = [_("Number"), _("Received at"), _("Type"), _("Channel"), _("Service category"),
                              _("Building"), _("Room"), _("What was raised"), _("Handling measures"), _("Status"),
                              _("Their satisfaction with the handling")]
            detail = [[e.number, e.received_at, str(service.KIND_LABELS[e.kind]),
                       str(service.CHANNEL_LABELS[e.channel]), e.category.label, e.building, e.room, e.description,
                       e.action_taken, str(service.STATUS_LABELS[e.status]),
                       str(service.SATISFACTION_LABELS[e.handling_satisfaction]) if e.handling_satisfaction else ""]
                      for e in entries]
            write_sheet(wb.create_sheet(), f"投诉表扬明细（{where} {month.year}年{month.month}月）", detail_headers,
                        detail, sheet_name="明细")
        lines, truncated = summary_service.follow_up_lines(month, projects)
        line_headers, line_rows = follow_up_table(lines, with_project=project is None)
        write_sheet(wb.create_sheet(), f"投诉回访情况（{where} {month.year}年{month.month}月）", line_headers, line_rows,
                    sheet_name="回访", notes=[str(summary_service.DEFINITIONS["follow_up_lines"])] + (
                        [_("Only the first %(n)d of %(total)d complaints are listed: choose one project to see all "
                           "of its complaints.", n=len(lines), total=result.totals.complaints)] if truncated else []))
        filename = f"投诉情况月汇总表-{project.code if project else '全部项目'}-{month.strftime('%Y-%m')}.xlsx"
    return workbook_response(filename, wb)
