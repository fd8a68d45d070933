"""Owners'-committee meeting pages: list, record/edit, view, print, void, issue follow-through, export."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from actions import reviews
from actions.forms import ReviewRequestForm
from actions.service import STATUSES as ACTION_STATUSES
from records import attachments
from records.export import csv_response, xlsx_response
from records.forms import VoidForm, void_posted
from records.permissions import RECORDS_READ, RECORDS_VOID, RECORDS_WRITE
from records.scope import visible_projects
from satisfaction.caring import service as caring_service
from satisfaction.categories import list_categories
from satisfaction.complaints.service import KIND_LABELS, STATUS_LABELS
from satisfaction.meetings import service
from satisfaction.meetings.forms import IssueEntryForm, MeetingForm
from webapp.dates import local_today
from webapp.exceptions import Conflict, InvalidTransition, ValidationError
from webapp.extensions import db
from webapp.forms import choices, place_errors, submit_form
from webapp.i18n import _
from webapp.pagination import paginate
from webapp.permissions import permission_required

bp = Blueprint("meetings", __name__, url_prefix="/satisfaction/meetings")

EXPORT_LIMIT = 50_000
BLANK_ISSUE_ROWS = 2


def _fill_choices(form: MeetingForm) -> None:
    form.project_id.choices = choices([("", _("Choose…"))] + [(str(p.id), p.label) for p in visible_projects()])
    form.staff_ids.choices = choices((str(u.id), u.display_name) for u in caring_service.staff_candidates(current_user))
    categories = choices([("", _("Choose…"))] + [(str(c.id), c.label) for c in list_categories()])
    for entry in form.issues:
        entry.category.choices = categories


def _data(form: MeetingForm) -> dict:
    return {
        "project_id": form.project_id.data, "held_on": form.held_on.data, "title": form.title.data,
        "location": form.location.data, "attendees": form.attendees.data, "staff_ids": form.staff_ids.data or [],
        "topics": form.topics.data, "minutes": form.minutes.data,
        "issues": [{"id": e.form.id.data or None, "description": e.form.description.data,
                    "category": e.form.category.data} for e in form.issues],
    }


def _issue_fields(form: MeetingForm, exc: ValidationError) -> dict:
    """``issues-<n>-<field>`` keys → the fields of the issue rows, for :func:`place_errors`."""
    fields = {}
    for key in exc.errors:
        parts = key.split("-")
        if len(parts) == 3 and parts[0] == "issues" and parts[1].isdecimal() and int(parts[1]) < len(form.issues):
            sub = form.issues[int(parts[1])].form
            fields[key] = sub.description if parts[2] == "description" else sub.category
    return fields


def _edit(meeting):
    form = MeetingForm()
    locked = service.followed_issues(meeting) if meeting else []
    if not form.is_submitted():
        if meeting is None:
            form.held_on.data = local_today().isoformat()
            form.title.data = _("Owners' committee meeting")
            projects = visible_projects()
            if len(projects) == 1:
                form.project_id.data = str(projects[0].id)
        else:
            for key in ("title", "location", "attendees", "topics", "minutes"):
                form[key].data = getattr(meeting, key)
            form.version.data = str(meeting.version)
            form.project_id.data = str(meeting.project_id)
            form.held_on.data = meeting.held_on.isoformat()
            form.staff_ids.data = [str(u.id) for u in meeting.staff]
            for issue in meeting.issues:
                if issue not in locked:
                    form.issues.append_entry({"id": str(issue.id), "description": issue.description,
                                              "category": str(issue.category_id)})
        for _n in range(BLANK_ISSUE_ROWS):
            form.issues.append_entry()
    elif form.add_issue.data:
        form.issues.append_entry()
    _fill_choices(form)
    status = 200
    if form.is_submitted() and not form.add_issue.data:
        if form.validate():
            try:
                saved = service.save_meeting(meeting, _data(form), actor=current_user,
                                             version=form.version.data if meeting else None)
            except (ValidationError, Conflict) as exc:
                db.session.rollback()
                status = exc.status_code
                if isinstance(exc, ValidationError):
                    place_errors(form, exc, _issue_fields(form, exc))
                else:
                    flash(str(exc), "error")
            else:
                flash(_("Meeting saved."), "success")
                return redirect(url_for("meetings.detail", meeting_id=saved.id))
        else:
            status = 400
    return render_template("satisfaction/meetings/form.html", form=form, meeting=meeting, locked=locked,
                           today=local_today().isoformat()), status


@bp.get("/")
@permission_required(RECORDS_READ)
def index():
    filters = _filters()
    page = paginate(service.list_meetings(user=current_user, **filters), per_page=30)
    return render_template("satisfaction/meetings/list.html", page=page, filters=filters,
                           projects=visible_projects(), years=_years())


def _years() -> list[int]:
    years = service.years_with_meetings(current_user)
    this_year = local_today().year
    return sorted(set(years) | {this_year}, reverse=True)


def _filters() -> dict:
    args = request.args
    year = args.get("year", type=int)
    return {
        "project_id": args.get("project", type=int),
        "year": year if year and 2000 <= year <= 2100 else None,
        "q": (args.get("q") or "").strip()[:100],
        "voided": args.get("voided") if args.get("voided") in ("only", "all") else "",
    }


@bp.get("/export.<any(csv, xlsx):fmt>")
@permission_required(RECORDS_READ)
def export(fmt: str):
    stmt = service.with_details(service.list_meetings(user=current_user, **_filters())).limit(EXPORT_LIMIT)
    headers = [_("Date"), _("Project"), _("Title"), _("Place"), _("Attendees"), _("Company staff present"),
               _("Topics"), _("Issues raised"), _("In the register"), _("Voided"), _("Reason for voiding")]
    rows = []
    for m in db.session.execute(stmt).scalars():
        issues = "\n".join(f"{n}. [{i.category.label}] {i.description}" + (f" → {i.entry.number}" if i.entry else "")
                           for n, i in enumerate(m.issues, start=1))
        rows.append((m.held_on, m.project.label, m.title, m.location, "、".join(m.attendee_list),
                     "、".join(u.display_name for u in m.staff), m.topics, issues,
                     sum(1 for i in m.issues if i.entry_id), m.voided, m.void_reason))
    name = _("Owners' committee meetings")
    if fmt == "csv":
        return csv_response(f"{name}.csv", headers, rows)
    return xlsx_response(f"{name}.xlsx", name, headers, rows,
                         subtitle=_("Exported %(when)s", when=local_today().isoformat()))


@bp.route("/new", methods=["GET", "POST"])
@permission_required(RECORDS_WRITE)
def new():
    return _edit(None)


@bp.route("/<int:meeting_id>/edit", methods=["GET", "POST"])
@permission_required(RECORDS_WRITE)
def edit(meeting_id: int):
    meeting = service.get_meeting(meeting_id)
    if meeting.voided:
        flash(_("A voided meeting cannot be changed."), "error")
        return redirect(url_for("meetings.detail", meeting_id=meeting.id))
    return _edit(meeting)


def _detail(meeting, void_form=None, status=200, print_view=False, review_forms=None, forms=None):
    template = "satisfaction/meetings/print.html" if print_view else "satisfaction/meetings/detail.html"
    asking = not print_view and not meeting.voided and current_user.can(RECORDS_WRITE)
    return render_template(template, meeting=meeting, **attachments.page_context(service.ATTACHMENTS, meeting.id, forms),
                           outcomes=service.outcomes(meeting), void_form=void_form or VoidForm(version=meeting.version),
                           issue_form=IssueEntryForm(), kind_labels=KIND_LABELS,
                           status_labels=STATUS_LABELS, action_statuses=ACTION_STATUSES,
                           review_forms=review_forms or {}, review_form=ReviewRequestForm(formdata=None),
                           procedures=reviews.procedure_choices() if asking else None), status


@bp.get("/<int:meeting_id>")
@permission_required(RECORDS_READ)
def detail(meeting_id: int):
    return _detail(service.get_meeting(meeting_id))


# The signed minutes, the attendance sheet: upload, the file, void (records.attachments).
attachments.page_routes(bp, service.ATTACHMENTS,
                        record_page=lambda meeting, forms, status: _detail(meeting, status=status, forms=forms),
                        back=lambda meeting: url_for("meetings.detail", meeting_id=meeting.id))


@bp.get("/<int:meeting_id>/print")
@permission_required(RECORDS_READ)
def print_view(meeting_id: int):
    return _detail(service.get_meeting(meeting_id), print_view=True)


@bp.post("/<int:meeting_id>/void")
@permission_required(RECORDS_VOID)
def void(meeting_id: int):
    return void_posted(service.get_meeting(meeting_id), service.void_meeting,
                       lambda form, status: _detail(service.get_meeting(meeting_id), form, status),
                       done=_("The meeting was voided."), back=url_for("meetings.detail", meeting_id=meeting_id),
                       flashed=(Conflict, InvalidTransition))


@bp.post("/<int:meeting_id>/issues/<int:issue_id>/register")
@permission_required(RECORDS_WRITE)
def issue_register(meeting_id: int, issue_id: int):
    return _from_issue(meeting_id, issue_id, service.issue_to_entry,
                       lambda entry: _("The issue is now in the register as %(number)s.", number=entry.number))


@bp.post("/<int:meeting_id>/issues/<int:issue_id>/action")
@permission_required(RECORDS_WRITE)
def issue_action(meeting_id: int, issue_id: int):
    return _from_issue(meeting_id, issue_id, service.issue_to_action,
                       lambda action: _("Action %(number)s is open for this issue.", number=action.number))


@bp.post("/<int:meeting_id>/issues/<int:issue_id>/review")
@permission_required(RECORDS_WRITE)
def issue_review(meeting_id: int, issue_id: int):
    meeting = service.get_meeting(meeting_id)
    issue = service.get_issue(meeting, issue_id)
    form = ReviewRequestForm()
    found, page = submit_form(
        form, lambda: service.request_issue_review(meeting, issue, {
            "procedure_code": form.procedure_code.data, "reason": form.reason.data}, actor=current_user),
        lambda form, status: _detail(service.get_meeting(meeting_id), status=status, review_forms={issue_id: form}),
        flashed=(Conflict, InvalidTransition))
    if page is not None:
        return page
    flash(reviews.requested_message(found), "success")
    return redirect(url_for("meetings.detail", meeting_id=meeting.id) + f"#issue-{issue_id}")


@bp.get("/issues/<int:issue_id>")
@permission_required(RECORDS_READ)
def issue(issue_id: int):
    """One issue, for links from elsewhere (a review it triggered): its place on the meeting's page."""
    found = service.find_issue(issue_id, current_user)
    return redirect(url_for("meetings.detail", meeting_id=found.meeting_id) + f"#issue-{found.id}")


def _from_issue(meeting_id: int, issue_id: int, make, done):
    """Make a register entry or an action of the kind posted from an issue (``make``), then show
    the issue again with ``done(what was made)``."""
    meeting = service.get_meeting(meeting_id)
    issue = service.get_issue(meeting, issue_id)
    if not IssueEntryForm().validate_on_submit():
        return _detail(meeting, status=400)
    made = make(meeting, issue, request.form.get("kind", ""), actor=current_user)
    flash(done(made), "success")
    return redirect(url_for("meetings.detail", meeting_id=meeting.id) + f"#issue-{issue.id}")
