"""Owner survey pages: campaigns with their rates, fast paper-form entry, XLSX import, exports."""
from __future__ import annotations

import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from accounts.models import Project
from records import export
from records.forms import VoidForm
from records.permissions import RECORDS_READ, RECORDS_VOID, RECORDS_WRITE
from records.scope import project_ids, visible_projects
from satisfaction.categories import list_categories
from satisfaction.settings import rating_scale
from satisfaction.surveys import importing as importer
from satisfaction.surveys import service
from satisfaction.surveys.forms import (
    CampaignForm,
    ImportForm,
    VersionForm,
    entry_data,
    entry_form_class,
)
from satisfaction.surveys.models import SurveyResponse
from satisfaction.surveys.rates import (
    Targets,
    campaign_rates,
    category_rates,
    combined,
    rates_for,
    rating_histogram,
    satisfied_definition,
    totals_label,
    year_summary,
)
from webapp.dates import date_bounds, local_today
from webapp.exceptions import Conflict, InvalidTransition, ValidationError
from webapp.extensions import db
from webapp.forms import place_errors
from webapp.i18n import _
from webapp.pagination import paginate
from webapp.permissions import permission_required

bp = Blueprint("surveys", __name__, url_prefix="/satisfaction/surveys")

RECENT = 8


def _year_arg() -> int:
    """``?year=``; this year when it is missing, not a number, or outside the accepted date range."""
    earliest, latest = date_bounds()
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        year = None
    return year if year is not None and earliest.year <= year <= latest.year else local_today().year


def _project_arg(projects) -> Project | None:
    code = request.args.get("project", "")
    return next((p for p in projects if p.code == code), None)


def _campaign_list():
    """The campaign list for the filters in the query string, with rates and company totals."""
    projects = visible_projects()
    year = _year_arg()
    project = _project_arg(projects)
    show_voided = request.args.get("voided") == "1"
    stmt = service.campaigns_stmt(year=year, project_id=project.id if project else None,
                                  project_ids=project_ids(current_user), include_voided=show_voided)
    campaigns = list(db.session.execute(stmt).scalars())
    targets = Targets.current()
    rates = rates_for(campaigns, targets)
    totals = combined((c for c in campaigns if not c.voided), rates, targets)
    return projects, year, project, show_voided, campaigns, rates, totals, targets


@bp.get("/")
@permission_required(RECORDS_READ)
def index():
    projects, year, project, show_voided, campaigns, rates, totals, targets = _campaign_list()
    return render_template("satisfaction/surveys/index.html", projects=projects, year=year, project=project,
                           show_voided=show_voided, campaigns=campaigns, rates=rates, totals=totals, targets=targets,
                           totals_label=_("Total") if project else totals_label(project_ids(current_user)),
                           years=service.campaign_years(project_ids(current_user)),
                           definition=_definition(campaigns))


def _definition(campaigns) -> str:
    """What "satisfied" means on these campaigns' own scales (on the current setting's when there are none)."""
    return satisfied_definition([c.scale for c in campaigns] or [rating_scale()])


def _rate_cells(r):
    return [export.Percent(r.distribution_rate) if r.distribution_rate is not None else None,
            export.Percent(r.return_rate) if r.return_rate is not None else None,
            export.Percent(r.satisfaction_rate) if r.satisfaction_rate is not None else None]


@bp.get("/export.<any(csv, xlsx):fmt>")
@permission_required(RECORDS_READ)
def export_campaigns(fmt: str):
    _projects, year, project, _v, campaigns, rates, totals, targets = _campaign_list()
    headers = [_("Project code"), _("Project"), _("Survey"), _("Status"), _("Occupied households"),
               _("Forms distributed"), _("Distributed on"), _("Forms returned"), _("Satisfied forms"),
               _("Distribution rate"), _("Return rate"), _("Satisfaction rate"), _("Below target"),
               _("Rating scale (satisfied levels marked ✓)")]
    rows = []
    for c in campaigns:
        r = rates[c.id]
        status = _("Voided") if c.voided else (_("Collecting forms") if c.status == "open" else _("Finished"))
        rows.append([c.project.code, c.project.name, c.label, status, r.households, r.distributed,
                     c.distributed_on, r.returned, r.satisfied, *_rate_cells(r), _flags_text(r),
                     ", ".join(f"{lv.value} {lv.label}{' ✓' if lv.satisfied else ''}" for lv in c.scale.levels)])
    label = _("Total") if project else totals_label(project_ids(current_user))
    totals_row = [label, "", str(year), "", totals.households, totals.distributed, None,
                  totals.returned, totals.satisfied, *_rate_cells(totals), _flags_text(totals)]
    name = _("Owner surveys %(year)s", year=year)
    if fmt == "csv":
        return export.csv_response(f"{name}.csv", headers, rows + [totals_row])
    return export.xlsx_response(f"{name}.xlsx", name, headers, rows, totals=totals_row,
                                subtitle=_definition(campaigns))


def _flags_text(r) -> str:
    names = [(r.distribution_low, _("distribution")), (r.return_low, _("return")),
             (r.satisfaction_low, _("satisfaction"))]
    return ", ".join(n for low, n in names if low)


@bp.get("/summary")
@permission_required(RECORDS_READ)
def summary():
    year = _year_arg()
    allowed = project_ids(current_user)
    data = year_summary(year, allowed)
    return render_template("satisfaction/surveys/summary.html", year=year, summary=data,
                           years=service.campaign_years(allowed), own_projects_only=allowed is not None,
                           totals_label=totals_label(allowed),
                           definition=data.definition or satisfied_definition(rating_scale()))


def _campaign_form(campaign=None):
    form = CampaignForm(obj=campaign if campaign is not None and request.method == "GET" else None)
    form.fill(visible_projects(), list_categories())
    if campaign is not None:  # project and year are fixed once a campaign exists
        del form.project_id
        del form.year
    return form


@bp.route("/new", methods=["GET", "POST"])
@permission_required(RECORDS_WRITE)
def new():
    form = _campaign_form()
    if request.method == "GET":
        form.year.data = str(local_today().year)
        form.category_ids.data = [str(c.id) for c in list_categories()]
        if request.args.get("project"):
            form.project_id.data = request.args["project"]
    status = 200
    if form.validate_on_submit():
        try:
            campaign = service.create_campaign(form.data_for_service(creating=True), actor=current_user)
        except ValidationError as exc:
            place_errors(form, exc)
            status = 400
        except Conflict as exc:
            form.period.errors = list(form.period.errors) + [str(exc)]
            status = 409
        else:
            flash(_("Survey %(label)s of %(project)s created.", label=campaign.label, project=campaign.project.label),
                  "success")
            return redirect(url_for("surveys.detail", campaign_id=campaign.id))
    elif form.is_submitted():
        status = 400
    scale = rating_scale()
    return render_template("satisfaction/surveys/form.html", form=form, campaign=None, scale=scale,
                           scale_definition=satisfied_definition(scale)), status


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@permission_required(RECORDS_WRITE)
def edit(campaign_id: int):
    campaign = service.get_campaign(campaign_id)
    form = _campaign_form(campaign)
    if request.method == "GET":
        form.version.data = campaign.version
        form.category_ids.data = [str(i) for i in campaign.category_ids or []]
        form.distributed_on.data = campaign.distributed_on.isoformat() if campaign.distributed_on else ""
    status = 200
    if form.validate_on_submit():
        try:
            service.update_campaign(campaign, form.data_for_service(creating=False), actor=current_user,
                                    version=form.version.data)
        except ValidationError as exc:
            place_errors(form, exc)
            status = 400
        except (Conflict, InvalidTransition) as exc:
            flash(str(exc), "error")
            status = exc.status_code
            campaign = service.get_campaign(campaign_id)
        else:
            flash(_("Survey saved."), "success")
            return redirect(url_for("surveys.detail", campaign_id=campaign.id))
    elif form.is_submitted():
        status = 400
    return render_template("satisfaction/surveys/form.html", form=form, campaign=campaign, scale=campaign.scale,
                           scale_definition=satisfied_definition(campaign.scale),
                           has_forms=service.has_responses(campaign.id)), status


@bp.get("/<int:campaign_id>")
@permission_required(RECORDS_READ)
def detail(campaign_id: int):
    campaign = service.get_campaign(campaign_id)
    targets = Targets.current()
    rates = campaign_rates(campaign, targets)
    return render_template(
        "satisfaction/surveys/detail.html", campaign=campaign, rates=rates, targets=targets,
        categories=category_rates([campaign], [int(i) for i in campaign.category_ids or []], targets),
        histogram=rating_histogram([campaign]), scale=campaign.scale,
        definition=satisfied_definition(campaign.scale), actions=service.corrective_actions(campaign),
        version_form=VersionForm(version=campaign.version), void_form=VoidForm(version=campaign.version))


@bp.post("/<int:campaign_id>/close")
@permission_required(RECORDS_WRITE)
def close(campaign_id: int):
    campaign = service.get_campaign(campaign_id)
    form = VersionForm()
    campaign, action = service.close_campaign(campaign, actor=current_user, version=form.version.data)
    flash(_("Survey closed."), "success")
    if action is not None:
        flash(_("The satisfaction rate is below the target: corrective action %(number)s was opened.",
                number=action.number), "warning")
    return redirect(url_for("surveys.detail", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/reopen")
@permission_required(RECORDS_WRITE)
def reopen(campaign_id: int):
    campaign = service.get_campaign(campaign_id)
    service.reopen_campaign(campaign, actor=current_user, version=VersionForm().version.data)
    flash(_("Survey reopened."), "success")
    return redirect(url_for("surveys.detail", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/void")
@permission_required(RECORDS_VOID)
def void(campaign_id: int):
    campaign = service.get_campaign(campaign_id)
    form = VoidForm()
    service.void_campaign(campaign, reason=form.reason.data, actor=current_user, version=form.version.data)
    flash(_("Survey voided. It stays on record and no longer counts in any figure."), "success")
    return redirect(url_for("surveys.detail", campaign_id=campaign.id))


def _entry_page(campaign, form, status=200):
    categories = service.categories_of(campaign)
    targets = Targets.current()
    recent = list(db.session.execute(service.responses_stmt(campaign, voided="all").limit(RECENT)).scalars())
    return render_template("satisfaction/surveys/entry.html", campaign=campaign, form=form, categories=categories,
                           rates=campaign_rates(campaign, targets), targets=targets, recent=recent,
                           definition=satisfied_definition(campaign.scale), scale=campaign.scale), status


@bp.route("/<int:campaign_id>/entry", methods=["GET", "POST"])
@permission_required(RECORDS_WRITE)
def entry(campaign_id: int):
    """Fast keyboard entry of paper forms; works without JavaScript (post, redirect, next form)."""
    campaign = service.get_campaign(campaign_id)
    categories = service.categories_of(campaign)
    form = entry_form_class(categories, campaign.scale)()
    if form.validate_on_submit():
        try:
            response = service.create_response(campaign, entry_data(form, categories), actor=current_user)
        except (ValidationError, InvalidTransition) as exc:
            if isinstance(exc, ValidationError):
                place_errors(form, exc, form.aliases)
            else:
                flash(str(exc), "error")
            return _entry_page(campaign, form, exc.status_code)
        flash(_("Form no. %(id)s saved. Enter the next one.", id=response.number), "success")
        return redirect(url_for("surveys.entry", campaign_id=campaign.id))
    if form.is_submitted():
        return _entry_page(campaign, form, 400)
    return _entry_page(campaign, form)


def _voided_arg() -> str:
    value = request.args.get("show", "live")
    return value if value in ("live", "voided", "all") else "live"


@bp.get("/<int:campaign_id>/responses")
@permission_required(RECORDS_READ)
def responses(campaign_id: int):
    campaign = service.get_campaign(campaign_id)
    show = _voided_arg()
    page = paginate(service.responses_stmt(campaign, voided=show), per_page=50)
    return render_template("satisfaction/surveys/responses.html", campaign=campaign, page=page, show=show,
                           categories=service.categories_of(campaign), void_form=VoidForm(),
                           rates=campaign_rates(campaign))


@bp.get("/<int:campaign_id>/responses.<any(csv, xlsx):fmt>")
@permission_required(RECORDS_READ)
def export_responses(campaign_id: int, fmt: str):
    campaign = service.get_campaign(campaign_id)
    categories = service.categories_of(campaign)
    scale = campaign.scale
    show = _voided_arg()
    # The overall rating as its value, its label and whether it counts as satisfied; the categories as labels.
    headers = [_("No."), _("Room"), _("Overall rating"), _("Overall rating (label)"), _("Counts as satisfied"),
               *[c.label for c in categories], _("Comments"), _("Source"), _("Entered at"), _("Entered by"),
               _("Voided"), _("Void reason")]
    sources = {"paper": _("Paper form"), "xlsx": _("XLSX import"), "api": _("API")}

    def rows():
        stmt = service.responses_stmt(campaign, voided=show).order_by(None).order_by(
            SurveyResponse.number).execution_options(yield_per=1000)
        for r in db.session.execute(stmt).scalars():
            got = r.ratings()
            yield [r.number, r.room, r.overall, scale.label(r.overall),
                   "✓" if r.overall in scale.satisfied_values else "",
                   *[scale.label(got.get(c.id)) or None for c in categories], r.comments,
                   sources.get(r.source, r.source), r.entered_at, getattr(r.entered_by, "display_name", ""),
                   r.voided_at, r.void_reason]

    name = _("Survey forms %(project)s %(label)s", project=campaign.project.name, label=campaign.label)
    if fmt == "csv":
        return export.csv_response(f"{name}.csv", headers, list(rows()))
    return export.xlsx_response(f"{name}.xlsx", name, headers, rows(),
                                subtitle=f"{satisfied_definition(scale)} · {scale.legend()}")


@bp.post("/<int:campaign_id>/responses/<int:response_id>/void")
@permission_required(RECORDS_VOID)
def void_response(campaign_id: int, response_id: int):
    campaign = service.get_campaign(campaign_id)
    response = service.get_response(campaign, response_id)
    form = VoidForm()
    service.void_response(response, reason=form.reason.data, actor=current_user)
    flash(_("Form no. %(id)d voided; it no longer counts as returned.", id=response.number), "success")
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/satisfaction/")
                    else url_for("surveys.responses", campaign_id=campaign.id))


@bp.route("/<int:campaign_id>/import", methods=["GET", "POST"])
@permission_required(RECORDS_WRITE)
def import_xlsx(campaign_id: int):
    campaign = service.get_campaign(campaign_id)
    form = ImportForm()
    status, problems = 200, []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = importer.import_responses(campaign, upload.read(), upload.filename or "", actor=current_user)
        except ValidationError as exc:
            flash(str(exc), "error")
            errors = exc.errors or {}
            # A problem with the file as a whole (not a workbook, too large, damaged) is the upload field's.
            form.file.errors = list(form.file.errors or []) + [str(m) for m in errors.get("file", ())]
            problems = [m for key, msgs in errors.items() if key != "file" for m in msgs if str(m) != str(exc)]
            status = 400
        except InvalidTransition as exc:
            flash(str(exc), "error")
            status = exc.status_code
        else:
            flash(_("%(n)d forms imported.", n=result.count), "success")
            return redirect(url_for("surveys.detail", campaign_id=campaign.id))
    elif form.is_submitted():
        status = 400
    return render_template("satisfaction/surveys/import.html", campaign=campaign, form=form, problems=problems,
                           categories=service.categories_of(campaign), rates=campaign_rates(campaign),
                           max_rows=importer.max_rows()), status


@bp.get("/<int:campaign_id>/import-template.xlsx")
@permission_required(RECORDS_WRITE)
def import_template(campaign_id: int):
    campaign = service.get_campaign(campaign_id)
    response = send_file(io.BytesIO(importer.template_bytes(campaign)), mimetype=export.XLSX_MIMETYPE,
                         as_attachment=True,
                         download_name=f"业主调查表导入模板 {campaign.project.code} {campaign.label}.xlsx")
    response.headers["Cache-Control"] = "private, no-store"
    return response
