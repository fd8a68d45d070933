"""Caring-service pages: fast entry (phone first), list with filters, monthly counts, export, void."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_login import current_user

from records.export import csv_response, xlsx_response
from records.forms import VoidForm, void_posted
from records.permissions import RECORDS_READ, RECORDS_VOID, RECORDS_WRITE
from records.scope import visible_projects
from satisfaction.caring import service
from satisfaction.caring.forms import CaringForm
from webapp.dates import local_today
from webapp.extensions import db
from webapp.forms import choices, submit_form
from webapp.i18n import _
from webapp.pagination import paginate
from webapp.permissions import permission_required

bp = Blueprint("caring", __name__, url_prefix="/satisfaction/caring")

EXPORT_LIMIT = 100_000
FIELDS = ("project_id", "served_on", "staff_id", "household", "service", "minutes", "owner_comment")


def _fill_choices(form: CaringForm) -> None:
    form.project_id.choices = choices([("", _("Choose…"))] + [(str(p.id), p.label) for p in visible_projects()])
    form.staff_id.choices = choices((str(u.id), u.display_name) for u in service.staff_candidates(current_user))


def _filters() -> dict:
    args = request.args
    year = args.get("year", type=int)
    month = args.get("month", type=int)
    return {
        "project_id": args.get("project", type=int),
        "staff_id": args.get("staff", type=int),
        "year": year if year and 2000 <= year <= 2100 else None,
        "month": month if month and 1 <= month <= 12 and year else None,
        "q": (args.get("q") or "").strip()[:100],
        "voided": args.get("voided") if args.get("voided") in ("only", "all") else "",
    }


@bp.get("/")
@permission_required(RECORDS_READ)
def index():
    filters = _filters()
    page = paginate(service.list_services(user=current_user, **filters))
    return render_template("satisfaction/caring/list.html", page=page, filters=filters,
                           projects=visible_projects(), staff=service.staff_candidates(current_user),
                           this_year=local_today().year)


@bp.get("/export.<any(csv, xlsx):fmt>")
@permission_required(RECORDS_READ)
def export(fmt: str):
    filters = _filters()
    stmt = service.list_services(user=current_user, **filters).limit(EXPORT_LIMIT)
    headers = [_("Date"), _("Project"), _("Household"), _("Service"), _("Staff member"), _("Minutes"),
               _("Owner's comment"), _("Recorded at"), _("Voided"), _("Reason for voiding")]
    rows = [(r.served_on, r.project.label, r.household, r.service, r.staff.display_name, r.minutes,
             r.owner_comment, r.created_at, r.voided, r.void_reason) for r in db.session.execute(stmt).scalars()]
    name = _("Caring service record")
    if fmt == "csv":
        return csv_response(f"{name}.csv", headers, rows)
    total = ["", "", "", "", _("Total"), sum(r[5] for r in rows if not r[8]), "", "", "", ""]
    return xlsx_response(f"{name}.xlsx", name, headers, rows, totals=total,
                         subtitle=_("Exported %(when)s", when=local_today().isoformat()))


@bp.route("/new", methods=["GET", "POST"])
@permission_required(RECORDS_WRITE)
def new():
    form = CaringForm()
    _fill_choices(form)
    if not form.is_submitted():
        # Fast entry: the previous entry's project, date and staff carry over.
        form.project_id.data = request.args.get("project") or (
            str(form.project_id.choices[1].value) if len(form.project_id.choices) == 2 else "")
        form.served_on.data = request.args.get("date") or local_today().isoformat()
        form.staff_id.data = request.args.get("staff") or str(current_user.id)
    record, page = submit_form(form, lambda: service.create_service({name: form[name].data for name in FIELDS},
                                                                    actor=current_user), _form_page)
    if page is not None:
        return page
    flash(_("Caring service saved: %(household)s, %(service)s.", household=record.household,
            service=record.service), "success")
    return redirect(url_for("caring.new", project=record.project_id, date=record.served_on.isoformat(),
                            staff=record.staff_id))


def _form_page(form, status):
    today = local_today()
    month_counts = service.monthly_counts(today.year, user=current_user)
    return render_template("satisfaction/caring/form.html", form=form, suggestions=service.COMMON_SERVICES,
                           counts=month_counts, month=today.month, year=today.year, today=today.isoformat()), status


@bp.get("/<int:record_id>")
@permission_required(RECORDS_READ)
def detail(record_id: int):
    record = service.get_service(record_id)
    return render_template("satisfaction/caring/detail.html", record=record, void_form=VoidForm())


@bp.post("/<int:record_id>/void")
@permission_required(RECORDS_VOID)
def void(record_id: int):
    record = service.get_service(record_id)
    return void_posted(record, service.void_service,
                       lambda form, status: (render_template("satisfaction/caring/detail.html", record=record,
                                                             void_form=form), status),
                       done=_("The record was voided."), back=url_for("caring.detail", record_id=record_id))


def _monthly_counts() -> tuple[int, int | None, dict]:
    """The year and project asked for (this year and every project by default), and their counts."""
    year = request.args.get("year", type=int)
    year = year if year and 2000 <= year <= 2100 else local_today().year
    project_id = request.args.get("project", type=int)
    return year, project_id, service.monthly_counts(year, user=current_user, project_id=project_id)


@bp.get("/monthly")
@permission_required(RECORDS_READ)
def monthly():
    year, project_id, counts = _monthly_counts()
    # "15 min" / "15 分钟" in every cell: translate once, not once per cell (thousands of cells).
    min_pre, _sep, min_post = _("%(n)s min", n="\x00").partition("\x00")
    return render_template("satisfaction/caring/monthly.html", counts=counts, year=year, project_id=project_id,
                           projects=visible_projects(), months=range(1, 13), this_year=local_today().year,
                           month_names=_month_names(year), min_pre=min_pre, min_post=min_post)


def _month_names(year: int) -> dict[int, str]:
    """1 → 1月 / Jan, in the request's language."""
    return {m: format_date(date(year, m, 1), "MMM") for m in range(1, 13)}


@bp.get("/monthly.xlsx")
@permission_required(RECORDS_READ)
def monthly_export():
    year, project_id, counts = _monthly_counts()
    headers = [_("Project / staff member")] + [_("%(m)d: count", m=m) for m in range(1, 13)] + [
        _("Count"), _("Minutes")]

    def line(row):
        return [row["label"]] + [row["months"].get(m, (0, 0))[0] for m in range(1, 13)] + [
            row["count"], row["minutes"]]

    rows = [line(r) for r in counts["projects"]]
    rows.append([""] * len(headers))
    rows += [line(r) for r in counts["staff"]]
    totals = [_("Total")] + line(counts["totals"])[1:]
    title = _("Caring services per month, %(year)d", year=year)
    return xlsx_response(f"{title}.xlsx", title, headers, rows, totals=totals,
                         subtitle=_("Counts of valid (not voided) records; minutes are the time spent."))
