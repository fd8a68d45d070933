"""Proposed actions: what the figures suggest, for a manager to accept or dismiss with a reason.

Procedure 4.3/4.4: a rate below the target opens a corrective action at once (see :mod:`actions.listeners`).
Short of that, when a survey closes the figures may still call for prevention, and the system *proposes*:

* ``met_uncertain``: the campaign's (or a service category's) satisfaction rate is at or above the target
  but its 95 % Wilson interval reaches below it (:func:`records.stats.rate`, label ``met_uncertain``);
* ``falling``: the project's yearly rate (overall or a category's) fell two years in a row;
* ``category_below``: a category is below the target while the campaign as a whole is not (a corrective
  proposal: the campaign's own corrective action opens only when the campaign is below).

Each proposal is made once per source (unique ``key``, even when two workers race), audited, and told to
the managers. Accepting opens the action linked to the same source; dismissing keeps the reason.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from actions import roles, service
from actions.models import ActionProposal
from actions.permissions import ACTIONS_MANAGE
from audit import service as audit
from notifications import service as inbox
from records import stats
from records import validation as v
from records.scope import check_project, restrict
from webapp.db import utcnow
from webapp.exceptions import InvalidTransition, NotFound
from webapp.extensions import db
from webapp.formatting import fmt_percent
from webapp.i18n import _l
from webapp.locking import check_version, write_or_conflict
from webapp.permissions import require

REASONS = {
    "met_uncertain": _l("Target met, not yet certain"),
    "falling": _l("Falling two years in a row"),
    "category_below": _l("Service category below target"),
}
STATUSES = {"pending": _l("Waiting for a decision"), "accepted": _l("Accepted"), "dismissed": _l("Dismissed")}
FIELDS = ("key", "reason", "kind", "source_type", "source_id", "source_ref", "project_id", "title", "status",
          "decision_reason", "decided_by_id", "decided_at", "action_id")
EVENT_LABELS = {"action_proposal.proposed": _l("Proposed"), "action_proposal.accepted": _l("Accepted"),
                "action_proposal.dismissed": _l("Dismissed")}
STALE = _l("Someone else decided this proposal at the same time. Reload and try again.")


def propose(*, key: str, reason: str, kind: str, source_type: str, source_id, project_id: int, title: str,
            description: str = "", figures: dict | None = None, source_ref: str | None = None,
            actor=None) -> ActionProposal | None:
    """Record a proposal unless one with ``key`` exists (then None). Audited and told to the managers in
    the caller's transaction (no commit)."""
    if db.session.execute(select(ActionProposal.id).where(ActionProposal.key == key)).first() is not None:
        return None
    proposal = ActionProposal(key=key, reason=reason, kind=kind, source_type=source_type, source_id=source_id,
                              source_ref=source_ref, project_id=project_id, title=title[:200],
                              description=description, figures=figures or {}, status="pending",
                              decision_reason="", created_at=utcnow())
    try:
        with db.session.begin_nested():  # a racing worker's proposal wins; ours rolls back
            db.session.add(proposal)
    except IntegrityError:
        return None
    audit.record("action_proposal.proposed", proposal, after=audit.snapshot(proposal, FIELDS), actor=actor)
    inbox.notify(roles.managers(project_id), kind="action.proposal",
                 subject=_l("Proposed: %(title)s", title=proposal.title),
                 body=_l("Accept it to open the action, or dismiss it with a reason."),
                 url="/actions/proposals", dedupe_key=f"action-proposal:{proposal.id}")
    return proposal


def _pct(rate: stats.Rate) -> str:
    return fmt_percent(rate.value)


def from_survey(campaign, *, label: str, target: float, measures: list[dict], actor=None) -> list[ActionProposal]:
    """The proposals a closed survey's figures call for (see the module's rules), written in the company's
    language; ``measures`` as :data:`webapp.signals.satisfaction_measured` documents them."""
    made = []
    overall = next((m for m in measures if m.get("category") is None), None)
    overall_below = bool(overall) and stats.rate(overall["satisfied"], overall["answered"], target).below_target
    with force_locale(current_app.config["DEFAULT_LOCALE"]):
        for m in measures:
            made += _from_measure(campaign, m, label=label, target=target, overall_below=overall_below, actor=actor)
    return made


def _from_measure(campaign, m: dict, *, label: str, target: float, overall_below: bool, actor) -> list:
    ref = m.get("category")
    what = m.get("name") or ""
    rate = stats.rate(int(m["satisfied"]), int(m["answered"]), target)
    common = {"source_type": "survey_campaign", "source_id": campaign.id, "source_ref": ref,
              "project_id": campaign.project_id, "actor": actor}
    figures = {"satisfied": rate.successes, "answered": rate.n, "rate": rate.value, "low": rate.low,
               "high": rate.high, "label": rate.label, "small_sample": rate.small_sample, "target": target}
    made = []
    interval = _l("95 %% interval %(low)s–%(high)s", low=fmt_percent(rate.low), high=fmt_percent(rate.high))
    if rate.label == "met_uncertain":
        made.append(propose(
            key=f"met_uncertain:survey_campaign:{campaign.id}:{ref or ''}", reason="met_uncertain", kind="preventive",
            title=str(_l("%(what)s of %(survey)s: %(rate)s, target met, not yet certain", what=what, survey=label,
                         rate=_pct(rate))),
            description=str(_l("%(satisfied)d of %(answered)d satisfied (%(interval)s): the interval reaches below "
                               "the %(target)s target. Look for what could make it fall.", satisfied=rate.successes,
                               answered=rate.n, interval=interval, target=fmt_percent(target, 0))),
            figures=figures, **common))
    if ref is not None and rate.below_target and not overall_below:
        made.append(propose(
            key=f"category_below:survey_campaign:{campaign.id}:{ref}", reason="category_below", kind="corrective",
            title=str(_l("%(what)s of %(survey)s: %(rate)s below the %(target)s target", what=what, survey=label,
                         rate=_pct(rate), target=fmt_percent(target, 0))),
            description=str(_l("%(satisfied)d of %(answered)d satisfied (%(interval)s).", satisfied=rate.successes,
                               answered=rate.n, interval=interval)),
            figures=figures, **common))
    years = sorted((int(y), stats.rate(int(s), int(n), target)) for y, (s, n) in (m.get("years") or {}).items())
    last = [(y, r) for y, r in years if r.value is not None][-3:]
    if ([y for y, _r in last] == [campaign.year - 2, campaign.year - 1, campaign.year]
            and last[0][1].value > last[1][1].value > last[2][1].value):
        series = " → ".join(f"{y} {_pct(r)}" for y, r in last)
        made.append(propose(
            key=f"falling:project:{campaign.project_id}:{campaign.year}:{ref or ''}", reason="falling",
            kind="preventive", title=str(_l("%(what)s of %(project)s falling two years in a row: %(series)s",
                                            what=what, project=m.get("project") or label, series=series)),
            description=str(_l("The yearly satisfaction rate fell twice in a row. Find out why before it falls "
                               "below the target.")),
            figures={**figures, "years": {str(y): [r.successes, r.n] for y, r in last}}, **common))
    return [p for p in made if p is not None]


def get_proposal(proposal_id, user=None) -> ActionProposal:
    """The proposal, when it exists and the user may see its project (else NotFound, alike)."""
    try:
        proposal = db.session.get(ActionProposal, int(proposal_id))
    except (TypeError, ValueError):
        proposal = None
    if proposal is None:
        raise NotFound(_l("This proposal does not exist."))
    check_project(proposal.project_id, user)
    return proposal


def list_proposals(*, user, status: str = "pending"):
    """A SELECT of the proposals the user may see (``status`` one of :data:`STATUSES`, or all), newest first."""
    stmt = restrict(select(ActionProposal), ActionProposal.project_id, user).options(
        joinedload(ActionProposal.project), joinedload(ActionProposal.action), joinedload(ActionProposal.decided_by))
    if status in STATUSES:
        stmt = stmt.where(ActionProposal.status == status)
    return stmt.order_by(ActionProposal.id.desc())


def counts(*, user) -> dict[str, int]:
    """How many proposals the user may see, by status (every status present, 0 when none)."""
    stmt = restrict(select(ActionProposal.status, func.count()), ActionProposal.project_id, user).group_by(
        ActionProposal.status)
    found = dict(db.session.execute(stmt).all())
    return {status: int(found.get(status, 0)) for status in STATUSES}


def check_decidable(proposal: ActionProposal, actor) -> None:
    """Refuse a decision on a proposal the actor may not decide, or one already decided (before any form is read)."""
    require(ACTIONS_MANAGE, actor)
    check_project(proposal.project_id, actor)
    if proposal.status != "pending":
        raise InvalidTransition(_l("This proposal has already been decided (%(status)s).",
                                   status=STATUSES[proposal.status]))


def _deciding(proposal: ActionProposal, actor, version) -> dict:
    check_decidable(proposal, actor)
    check_version(proposal, version, STALE)
    return audit.snapshot(proposal, FIELDS)


def accept(proposal: ActionProposal, *, actor, version=None):
    """Open the proposed action (linked to the proposal's source) and mark the proposal accepted; commits.
    Returns the action. Managers only."""
    before = _deciding(proposal, actor, version)
    action = service.open_action(
        kind=proposal.kind, source_type=proposal.source_type, source_id=proposal.source_id,
        source_ref=proposal.source_ref, project_id=proposal.project_id, title=proposal.title,
        description=proposal.description, actor=actor, open_key=f"proposal:{proposal.id}")
    db.session.flush()
    proposal.status, proposal.action_id = "accepted", action.id
    proposal.decided_by_id, proposal.decided_at = getattr(actor, "id", None), utcnow()
    write_or_conflict(STALE)
    audit.record("action_proposal.accepted", proposal, before=before, after=audit.snapshot(proposal, FIELDS),
                 actor=actor)
    db.session.commit()
    return action


def dismiss(proposal: ActionProposal, *, reason, actor, version=None) -> ActionProposal:
    """Dismiss the proposal with a reason (required; kept and audited); commits. Managers only."""
    before = _deciding(proposal, actor, version)
    errors: dict = {}
    reason = v.text({"reason": reason}, "reason", errors, required=True, max_len=2000)
    v.raise_errors(errors)
    proposal.status, proposal.decision_reason = "dismissed", reason
    proposal.decided_by_id, proposal.decided_at = getattr(actor, "id", None), utcnow()
    write_or_conflict(STALE)
    audit.record("action_proposal.dismissed", proposal, before=before, after=audit.snapshot(proposal, FIELDS),
                 reason=reason, actor=actor)
    db.session.commit()
    return proposal


def proposal_of(action) -> ActionProposal | None:
    """The proposal an action was opened from, if any."""
    return db.session.execute(select(ActionProposal).where(ActionProposal.action_id == action.id)).scalar_one_or_none()


def proposals_for(source_type: str, source_id) -> list[ActionProposal]:
    """Every proposal a source raised (pending, accepted, dismissed), oldest first: for the source's page."""
    return list(db.session.execute(select(ActionProposal).where(
        ActionProposal.source_type == source_type, ActionProposal.source_id == int(source_id))
        .order_by(ActionProposal.id)).scalars())
