"""Corrective & preventive action pages: list (filters, to-do, overdue per department), detail with timeline,
who acts next and the steps the user may do, create (by hand or from the dashboard), void, proposals."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from accounts.models import Department, User
from actions import proposals, reviews, roles, service
from actions.forms import (
    ActionForm,
    AnalyseForm,
    CloseForm,
    ProposalAcceptForm,
    ProposalDismissForm,
    ReviewRequestForm,
    TakeActionForm,
    VerifyForm,
)
from actions.permissions import ACTIONS_MANAGE
from actions.sources import source_for
from records.export import csv_response, xlsx_response
from records.forms import VoidForm, void_posted
from records.permissions import RECORDS_READ, RECORDS_VOID, RECORDS_WRITE
from records.scope import visible_projects
from webapp.dates import local_today
from webapp.exceptions import Conflict, InvalidTransition
from webapp.extensions import db
from webapp.forms import choices, submit_form
from webapp.i18n import _
from webapp.pagination import paginate
from webapp.permissions import permission_required

bp = Blueprint("actions", __name__, url_prefix="/actions")

STEP_FORMS = {"analyse": AnalyseForm, "take_action": TakeActionForm, "verify": VerifyForm, "close": CloseForm}
EXPORT_LIMIT = 50_000


def _people_choices():
    users = db.session.execute(select(User).where(User.active.is_(True)).order_by(User.display_name)).scalars()
    return choices([("", "—")] + [(str(u.id), u.display_name) for u in users])


def _department_choices():
    depts = db.session.execute(select(Department).where(Department.active.is_(True))
                               .order_by(Department.code)).scalars()
    return choices([("", "—")] + [(str(d.id), d.label) for d in depts])


def _filters() -> dict:
    args = request.args
    status = args.get("status", "active")
    return {
        "status": status if status in service.STATUSES or status in ("active", "all") else "active",
        "kind": args.get("kind", ""),
        "project_id": args.get("project", type=int),
        "source_type": args.get("source", ""),
        "overdue": args.get("overdue") == "1",
        "include_voided": args.get("voided") == "1",
        "mine": args.get("mine") == "1",
    }


def source_link(action, sources: dict | None = None) -> tuple[str, str | None]:
    """(label, url or None) of what the action came from; ``sources`` from ``service.sources_of``
    (looked up here when not given)."""
    kind = action.source_type
    label = str(service.SOURCE_TYPES.get(kind, kind))
    if kind == "dashboard":
        return label, action.source_ref
    if kind == "manual" or action.source_id is None:
        return label, None
    if sources is None:
        sources = service.sources_of([action])
    record = sources.get((kind, action.source_id))
    source = source_for(kind)
    if record is not None and source is not None:
        text, url = source.describe(record)
        return f"{label}: {text}", url
    return f"{label} #{action.source_id}", None


@bp.get("/")
@permission_required(RECORDS_READ)
def index():
    filters = _filters()
    today = local_today()
    page = paginate(service.list_actions(user=current_user, today=today, **filters))
    managing = current_user.can(ACTIONS_MANAGE)
    return render_template(
        "actions/list.html", page=page, filters=filters, projects=visible_projects(), kinds=service.KINDS,
        statuses=service.STATUSES, sources=service.SOURCE_TYPES, is_overdue=lambda a: service.is_overdue(a, today),
        next_step=roles.next_step, step_labels=service.TRANSITION_LABELS,
        overdue_by_department=service.overdue_by_department(user=current_user, today=today),
        proposal_counts=proposals.counts(user=current_user) if managing else None,
        pending=list(db.session.execute(proposals.list_proposals(user=current_user).limit(20)).scalars())
        if managing else [], proposal_forms=_proposal_forms, reasons=proposals.REASONS)


@bp.get("/export.<any(csv, xlsx):fmt>")
@permission_required(RECORDS_READ)
def export(fmt: str):
    filters = _filters()
    today = local_today()
    actions = service.for_export(service.list_actions(user=current_user, today=today, **filters).limit(EXPORT_LIMIT))
    sources = service.sources_of(actions)
    headers = [_("Number"), _("Kind"), _("Project"), _("Title"), _("Source"), _("Status"),
               _("Responsible department"), _("Responsible person"), _("Due date"), _("Overdue"),
               _("Cause analysis"), _("Planned action"), _("Action taken"), _("Effectiveness check"),
               _("Verified by"), _("Opened on"), _("Closed on"), _("Voided"), _("Reason for voiding"),
               _("What was measured again"), _("Action taken by"), _("Closed by"),
               _("Feedback given to the complainant")]
    rows = []
    for a in actions:
        rows.append((a.number, str(service.KINDS[a.kind]), a.project.label, a.title, source_link(a, sources)[0],
                     str(service.STATUSES[a.status]),
                     a.responsible_department.label if a.responsible_department else "",
                     a.responsible_user.display_name if a.responsible_user else "", a.due_on,
                     service.is_overdue(a, today), a.cause_analysis, a.planned_action, a.action_taken,
                     a.verification_result, a.verified_by.display_name if a.verified_by else "",
                     a.created_at, a.closed_at, a.voided, a.void_reason, a.remeasured,
                     a.action_taken_by.display_name if a.action_taken_by else "",
                     a.closed_by.display_name if a.closed_by else "", a.complainant_feedback))
    name = _("Corrective and preventive actions")
    if fmt == "csv":
        return csv_response(f"{name}.csv", headers, rows)
    return xlsx_response(f"{name}.xlsx", name, headers, rows,
                         subtitle=_("Exported %(when)s", when=today.isoformat()))


@bp.route("/new", methods=["GET", "POST"])
@permission_required(RECORDS_WRITE, ACTIONS_MANAGE)
def new():
    """By hand, or from the dashboard: ``?source=dashboard&title=…&project=<id>&kind=…&ref=<its path>``."""
    form = ActionForm()
    form.kind.choices = choices([(k, str(label)) for k, label in service.KINDS.items()])
    form.project_id.choices = choices([("", _("Choose…"))] + [(str(p.id), p.label) for p in visible_projects()])
    form.responsible_department_id.choices = _department_choices()
    form.responsible_user_id.choices = _people_choices()
    if not form.is_submitted():
        args = request.args
        form.kind.data = args.get("kind") if args.get("kind") in service.KINDS else "preventive"
        if args.get("source") == "dashboard":
            form.source_type.data, form.source_ref.data = "dashboard", args.get("ref", "")[:300]
            form.title.data, form.project_id.data = args.get("title", "")[:200], args.get("project", "")
    action, page = submit_form(form, lambda: service.create_manual({k: form[k].data for k in (
        "kind", "project_id", "title", "description", "responsible_department_id", "responsible_user_id",
        "due_on", "source_type", "source_ref")}, actor=current_user), lambda form, status: (
            render_template("actions/form.html", form=form, today=local_today().isoformat()), status))
    if page is not None:
        return page
    flash(_("Action %(number)s opened.", number=action.number), "success")
    return redirect(url_for("actions.detail", action_id=action.id))


def _step_forms(action, posted: dict | None = None) -> dict:
    forms = {}
    for name in service.my_steps(action, current_user):
        form = (posted or {}).get(name) or STEP_FORMS[name](formdata=None, version=str(action.version))
        if name == "analyse":
            form.responsible_department_id.choices = _department_choices()
            form.responsible_user_id.choices = _people_choices()
            if form.cause_analysis.data is None and not (posted or {}).get(name):
                form.cause_analysis.data = action.cause_analysis
                form.planned_action.data = action.planned_action
                form.responsible_department_id.data = str(action.responsible_department_id or "")
                form.responsible_user_id.data = str(action.responsible_user_id or "")
                form.due_on.data = action.due_on.isoformat() if action.due_on else ""
        forms[name] = form
    return forms


def _detail(action, *, posted=None, void_form=None, review_form=None, status=200):
    # Clerks and management (who plan the action) may ask for a review of the procedure behind it.
    asking = not action.voided and (current_user.can(RECORDS_WRITE) or current_user.can(ACTIONS_MANAGE))
    step = roles.next_step(action)
    return render_template(
        "actions/detail.html", action=action, source=source_link(action), forms=_step_forms(action, posted),
        next_step=step, waiting_for=roles.people_for(action, step) if step else [], step_roles=roles.STEP_ROLES,
        proposal=proposals.proposal_of(action), proposal_reasons=proposals.REASONS, asking=asking,
        void_form=void_form or VoidForm(formdata=None, version=str(action.version)),
        reviews=service.reviews_of(action), review_form=review_form or ReviewRequestForm(formdata=None),
        procedures=reviews.procedure_choices() if asking else None,
        timeline=service.timeline(action), event_labels=service.EVENT_LABELS, statuses=service.STATUSES,
        kinds=service.KINDS, step_labels=service.TRANSITION_LABELS, overdue=service.is_overdue(action),
        today=local_today().isoformat()), status


@bp.get("/<int:action_id>")
@permission_required(RECORDS_READ)
def detail(action_id: int):
    return _detail(service.get_action(action_id))


@bp.post("/<int:action_id>/<any(analyse, take_action, verify, close):step>")
@permission_required(RECORDS_READ)
def step(action_id: int, step: str):
    """One step; who may do it is the service's rule (actions.roles), checked before the form is read."""
    action = service.get_action(action_id)
    service.check_step(action, step, current_user)
    form = STEP_FORMS[step]()
    if step == "analyse":
        form.responsible_department_id.choices = _department_choices()
        form.responsible_user_id.choices = _people_choices()
    _done, page = submit_form(
        form, lambda: service.transition(action, step, {k: form[k].data for k in service.STEP_FIELDS[step]},
                                         actor=current_user, version=form.version.data),
        lambda form, status: _detail(service.get_action(action_id), posted={step: form}, status=status),
        flashed=Conflict)
    if page is not None:
        return page
    flash(_("Saved: %(step)s.", step=service.TRANSITION_LABELS[step]), "success")
    return redirect(url_for("actions.detail", action_id=action.id))


@bp.post("/<int:action_id>/void")
@permission_required(RECORDS_VOID)
def void(action_id: int):
    action = service.get_action(action_id)
    return void_posted(action, service.void_action,
                       lambda form, status: _detail(service.get_action(action_id), void_form=form, status=status),
                       done=_("Action %(number)s voided.", number=action.number),
                       back=url_for("actions.detail", action_id=action.id), flashed=Conflict)


@bp.post("/<int:action_id>/review")
@permission_required(RECORDS_WRITE, ACTIONS_MANAGE)
def request_review(action_id: int):
    action = service.get_action(action_id)
    form = ReviewRequestForm()
    found, page = submit_form(
        form, lambda: service.request_review(action, {"procedure_code": form.procedure_code.data,
                                                      "reason": form.reason.data}, actor=current_user),
        lambda form, status: _detail(service.get_action(action_id), review_form=form, status=status),
        flashed=(Conflict, InvalidTransition))
    if page is not None:
        return page
    flash(reviews.requested_message(found), "success")
    return redirect(url_for("actions.detail", action_id=action.id))



def _proposal_forms(proposal, posted: dict | None = None) -> tuple:
    """(accept form, dismiss form) of a pending proposal, with its version (or the posted ones)."""
    posted = posted or {}
    return (posted.get(("accept", proposal.id)) or ProposalAcceptForm(
                formdata=None, version=str(proposal.version), prefix=f"p{proposal.id}a"),
            posted.get(("dismiss", proposal.id)) or ProposalDismissForm(
                formdata=None, version=str(proposal.version), prefix=f"p{proposal.id}d"))


def _proposals_page(*, posted=None, status=200):
    shown = request.args.get("status", "pending")
    shown = shown if shown in proposals.STATUSES or shown == "all" else "pending"
    if posted:
        shown = "all"  # a refused form comes back beside its proposal, whatever became of the proposal meanwhile
    page = paginate(proposals.list_proposals(user=current_user, status=shown))
    return render_template("actions/proposals.html", page=page, status=shown, statuses=proposals.STATUSES,
                           reasons=proposals.REASONS, kinds=service.KINDS, counts=proposals.counts(user=current_user),
                           proposal_forms=lambda p: _proposal_forms(p, posted)), status


@bp.get("/proposals")
@permission_required(RECORDS_READ)
def proposal_list():
    return _proposals_page()


@bp.post("/proposals/<int:proposal_id>/<any(accept, dismiss):decision>")
@permission_required(ACTIONS_MANAGE)
def decide_proposal(proposal_id: int, decision: str):
    """Accept (opens the action) or dismiss with a reason; a refused form comes back on the proposals page."""
    proposal = proposals.get_proposal(proposal_id)
    proposals.check_decidable(proposal, current_user)  # a decided proposal shows no form to put errors on
    accepting = decision == "accept"
    form = (ProposalAcceptForm if accepting else ProposalDismissForm)(prefix=f"p{proposal.id}{decision[0]}")

    def step():
        if accepting:
            return proposals.accept(proposal, actor=current_user, version=form.version.data)
        return proposals.dismiss(proposal, reason=form.reason.data, actor=current_user, version=form.version.data)

    done, page = submit_form(form, step, lambda form, status: _proposals_page(
        posted={(decision, proposal_id): form}, status=status), flashed=(Conflict, InvalidTransition))
    if page is not None:
        return page
    if accepting:
        flash(_("Action %(number)s opened from proposal %(proposal)s.", number=done.number,
                proposal=proposal.number), "success")
        return redirect(url_for("actions.detail", action_id=done.id))
    flash(_("Proposal %(number)s dismissed.", number=proposal.number), "success")
    return redirect(url_for("actions.proposal_list"))
