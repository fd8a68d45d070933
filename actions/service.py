"""Corrective and preventive actions: opening, the state machine, voiding.

Procedure 4.4: when satisfaction falls below target, a complaint is serious, or an owners'
meeting raises a problem, the departments concerned investigate the causes (4.4.2), take
an action, and its effectiveness is verified before it is closed. Who may do each step, and
who is told that an action waits for them, is :mod:`actions.roles`. Every change is audited
in the same transaction; nothing is deleted.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from accounts.models import Department, Project, User
from actions import reviews, roles
from actions.models import Action
from actions.reviews import Requested
from actions.sources import source_for
from audit import service as audit
from audit.models import AuditEntry
from notifications.service import is_local_path
from records import validation as v
from records.scope import check_project, restrict
from records.voiding import VoidRules, void
from webapp.dates import local_today
from webapp.db import utcnow
from webapp.exceptions import InvalidTransition, NotFound
from webapp.extensions import db
from webapp.i18n import REQUIRED, _l
from webapp.locking import check_version, write_or_conflict

KINDS = {"corrective": _l("Corrective action"), "preventive": _l("Preventive action")}

SOURCE_TYPES = {
    "survey_campaign": _l("Survey below target"),
    "complaint": _l("Complaint"),
    "meeting_issue": _l("Owners' meeting issue"),
    "dashboard": _l("Satisfaction dashboard"),
    "manual": _l("Entered by hand"),
}
#: Sources a person may name when opening an action by hand (the others are opened from their records).
HAND_SOURCES = ("manual", "dashboard")

STATUSES = {
    "open": _l("To analyse"),
    "cause_analysed": _l("Causes analysed"),
    "action_taken": _l("Action taken"),
    "verified": _l("Verified"),
    "closed": _l("Closed out"),
}

#: transition -> (states it may start from, state it leads to). ``verify`` with an
#: ineffective result leads back to cause_analysed instead (see :func:`transition`).
TRANSITIONS = {
    "analyse": (("open", "cause_analysed"), "cause_analysed"),
    "take_action": (("cause_analysed",), "action_taken"),
    "verify": (("action_taken",), "verified"),
    "close": (("verified",), "closed"),
}

#: transition -> the input fields it reads (forms and API alike; see :func:`transition`).
STEP_FIELDS = {
    "analyse": ("cause_analysis", "planned_action", "responsible_department_id", "responsible_user_id", "due_on"),
    "take_action": ("action_taken",),
    "verify": ("remeasured", "verification_result", "effective"),
    "close": ("note", "complainant_feedback"),
}

TRANSITION_LABELS = {
    "analyse": _l("Record cause analysis"),
    "take_action": _l("Record action taken"),
    "verify": _l("Verify effectiveness"),
    "close": _l("Close"),
}

#: Audit log action -> label, for the timeline.
EVENT_LABELS = {
    "action.opened": _l("Opened"),
    "action.analyse": _l("Causes analysed"),
    "action.take_action": _l("Action taken"),
    "action.verify": _l("Verified as effective"),
    "action.reopened": _l("Verified as not effective: back to cause analysis"),
    "action.close": _l("Closed out"),
    "action.voided": _l("Voided"),
    "action.review_requested": _l("Procedure review requested"),
}

FIELDS = ("kind", "source_type", "source_id", "source_ref", "project_id", "title", "description",
          "cause_analysis", "planned_action", "analysed_by_id", "action_taken", "action_taken_by_id",
          "responsible_department_id", "responsible_user_id", "due_on", "status", "remeasured",
          "verification_result", "effective", "verified_by_id", "verified_at", "closed_at", "closed_by_id",
          "complainant_feedback", "voided_at", "void_reason")

TEXT_MAX = 20000
NO_CHECK = _l("Closing needs the effectiveness check: record what was re-measured and the result first.")


def _open_key(source_type: str, source_id, source_ref: str | None = None) -> str | None:
    if source_type in HAND_SOURCES or source_id is None:
        return None
    return f"{source_type}:{source_id}" + (f":{source_ref}" if source_ref else "")


def _find_open(key: str | None) -> Action | None:
    if key is None:
        return None
    return db.session.execute(select(Action).where(Action.open_key == key)).scalar_one_or_none()


def find_open_for(source_type: str, source_id, source_ref: str | None = None) -> Action | None:
    """The action still open (neither closed nor voided) for this source, if any."""
    return _find_open(_open_key(source_type, source_id, source_ref))


def actions_for(source_type: str, source_id) -> list[Action]:
    """Every action ever opened for one source (voided and closed included), newest first."""
    return actions_for_many(source_type, [source_id])[int(source_id)]


def actions_for_many(source_type: str, source_ids) -> dict[int, list[Action]]:
    """Every action ever opened for these sources, newest first, keyed by source id (one query)."""
    ids = [int(i) for i in source_ids]
    found: dict[int, list[Action]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = db.session.execute(select(Action).where(Action.source_type == source_type, Action.source_id.in_(ids))
                              .order_by(Action.id.desc())).scalars()
    for action in rows:
        found[action.source_id].append(action)
    return found


def open_action(*, kind: str, source_type: str, source_id, project_id, title: str, description: str = "",
                actor=None, due_on: date | None = None, responsible_department_id=None,
                responsible_user_id=None, source_ref: str | None = None, open_key: str | None = None) -> Action:
    """Open an action for a source, or return the one already open for it (idempotent).

    Adds to the session, audits and tells whoever must plan it (:func:`actions.roles.notify_next`) but
    does NOT commit, so the action lands in the same transaction as the change that triggered it; the
    caller commits. The project is not scope-checked here (the system may open actions for any
    project); views check scope. ``open_key`` replaces the source's own key (an accepted proposal's).
    """
    given_key = open_key

    def already_open():
        if given_key:
            return _find_open(given_key)
        return find_open_for(source_type, source_id, source_ref) if source_ref else find_open_for(source_type, source_id)

    existing = already_open()
    if existing is not None:
        return existing
    open_key = given_key or _open_key(source_type, source_id, source_ref)
    errors: dict = {}
    if kind not in KINDS:
        v.add_error(errors, "kind", _l("Choose corrective or preventive."))
    if source_type not in SOURCE_TYPES:
        v.add_error(errors, "source_type", _l("Unknown source."))
    elif source_type not in HAND_SOURCES and source_id is None:
        v.add_error(errors, "source_id", REQUIRED)
    data = {"title": title, "description": description}
    title = v.text(data, "title", errors, required=True, max_len=200)
    description = v.text(data, "description", errors, max_len=TEXT_MAX)
    v.raise_errors(errors)
    try:
        project = db.session.get(Project, int(project_id))
    except (TypeError, ValueError):
        project = None
    if project is None:
        raise NotFound(_l("Unknown project."))
    now = utcnow()
    action = Action(kind=kind, source_type=source_type, source_id=source_id, source_ref=source_ref or None,
                    open_key=open_key, project_id=project.id, title=title,
                    description=description, due_on=due_on, responsible_department_id=responsible_department_id,
                    responsible_user_id=responsible_user_id, status="open", created_at=now, updated_at=now,
                    created_by_id=getattr(actor, "id", None), cause_analysis="", planned_action="",
                    action_taken="", remeasured="", verification_result="", complainant_feedback="",
                    void_reason="")
    if action.open_key is not None:
        # Two workers opening for the same source at once: the unique open_key lets one win;
        # the other's savepoint rolls back and it returns the winner's action.
        try:
            with db.session.begin_nested():
                db.session.add(action)
        except IntegrityError:
            existing = already_open()
            if existing is None:
                raise
            return existing
    else:
        db.session.add(action)
    audit.record("action.opened", action, after=audit.snapshot(action, FIELDS), actor=actor)
    roles.notify_next(action, actor=actor)
    return action


def create_manual(data: dict, *, actor) -> Action:
    """A hand-entered action (form or API): validates, checks the project scope, commits."""
    errors: dict = {}
    kind = v.text(data, "kind", errors, required=True)
    if kind and kind not in KINDS:
        v.add_error(errors, "kind", _l("Choose corrective or preventive."))
    v.text(data, "title", errors, required=True, max_len=200)
    v.text(data, "description", errors, max_len=TEXT_MAX)
    if not data.get("project_id"):
        v.add_error(errors, "project_id", REQUIRED)
    due_on = v.day(data, "due_on", errors)
    if due_on is not None and due_on < local_today():
        v.add_error(errors, "due_on", _l("The due date cannot be in the past."))
    dept = v.reference(Department, data, "responsible_department_id", errors, _l("Unknown department."))
    person = v.reference(User, data, "responsible_user_id", errors, _l("Unknown person."))
    source = data.get("source_type") or "manual"
    if source not in HAND_SOURCES:
        v.add_error(errors, "source_type", _l("Unknown source."))
    ref = v.text(data, "source_ref", errors, max_len=300) or None
    if ref is not None and (source == "manual" or not is_local_path(ref)):
        v.add_error(errors, "source_ref", _l("Give the address of the page the action came from (a path of this site)."))
    v.raise_errors(errors)
    project = check_project(data["project_id"], actor)
    action = open_action(kind=kind, source_type=source, source_id=None, project_id=project.id,
                         title=data.get("title", ""), description=data.get("description") or "", actor=actor,
                         due_on=due_on, responsible_department_id=dept, responsible_user_id=person,
                         source_ref=ref)
    db.session.commit()
    return action


def get_action(action_id, user=None) -> Action:
    """The action, when it exists and the user may see its project (else NotFound, alike)."""
    try:
        action = db.session.get(Action, int(action_id))
    except (TypeError, ValueError):
        action = None
    if action is None:
        raise NotFound(_l("This action does not exist."))
    check_project(action.project_id, user)
    return action


def list_actions(*, user, status: str = "", kind: str = "", project_id=None, overdue: bool = False,
                 source_type: str = "", include_voided: bool = False, today: date | None = None,
                 mine: bool = False):
    """A SELECT of the actions the user may see, filtered, most urgent first. ``mine``: only those
    waiting for the user (their to-do list, :func:`actions.roles.waiting_for_me`)."""
    stmt = restrict(select(Action), Action.project_id, user).options(
        joinedload(Action.project), joinedload(Action.responsible_department), joinedload(Action.responsible_user))
    if mine:
        stmt = stmt.where(roles.waiting_for_me(user))
    if not include_voided:
        stmt = stmt.where(Action.voided_at.is_(None))
    if status == "active":
        stmt = stmt.where(Action.status != "closed")
    elif status in STATUSES:
        stmt = stmt.where(Action.status == status)
    if kind in KINDS:
        stmt = stmt.where(Action.kind == kind)
    if source_type in SOURCE_TYPES:
        stmt = stmt.where(Action.source_type == source_type)
    if project_id:
        stmt = stmt.where(Action.project_id == int(project_id))
    if overdue:
        stmt = stmt.where(overdue_clause(today))
    return stmt.order_by(Action.due_on.is_(None), Action.due_on, Action.id.desc())


def overdue_by_department(*, user, today: date | None = None) -> list[tuple[str | None, int]]:
    """(responsible department's label, or None for none named; how many overdue actions) over the
    actions the user may see, most first: one grouped query."""
    stmt = restrict(select(Action.responsible_department_id, func.count()), Action.project_id, user).where(
        overdue_clause(today)).group_by(Action.responsible_department_id)
    counts = dict(db.session.execute(stmt).all())
    depts = {d.id: d.label for d in db.session.execute(
        select(Department).where(Department.id.in_([i for i in counts if i is not None] or [-1]))).scalars()}
    return sorted(((depts.get(i) if i is not None else None, n) for i, n in counts.items()),
                  key=lambda row: (-row[1], row[0] is None, row[0] or ""))


def for_export(stmt) -> list[Action]:
    """Run a :func:`list_actions` statement for an export, the people who worked each action loaded with it."""
    return list(db.session.execute(stmt.options(joinedload(Action.verified_by), joinedload(Action.action_taken_by),
                                                joinedload(Action.closed_by))).scalars())


#: Rows per IN (...) when loading sources (well under SQLite's and PostgreSQL's parameter limits).
_IN_CHUNK = 500


def sources_of(actions) -> dict[tuple[str, int], object]:
    """The records the actions came from, ``{(source_type, source_id): record}``: one query per
    source type (per 500 ids), whatever the number of actions. Missing records, and source types no
    enabled feature registered (:mod:`actions.sources`), are left out."""
    wanted: dict[str, set[int]] = {}
    for action in actions:
        if source_for(action.source_type) is not None and action.source_id is not None:
            wanted.setdefault(action.source_type, set()).add(action.source_id)
    found: dict[tuple[str, int], object] = {}
    for kind, ids in wanted.items():
        source = source_for(kind)
        ids = sorted(ids)
        for start in range(0, len(ids), _IN_CHUNK):
            stmt = select(source.model).where(source.model.id.in_(ids[start:start + _IN_CHUNK])).options(
                *source.options)
            for record in db.session.execute(stmt).unique().scalars():
                found[(kind, record.id)] = record
    return found


#: States in which a passed due date means the action is late (the work is not done yet).
OVERDUE_STATUSES = ("open", "cause_analysed")


def overdue_clause(today: date | None = None):
    """SQL for :func:`is_overdue`: not voided, the work not done, and past the due date."""
    return and_(Action.voided_at.is_(None), Action.status.in_(OVERDUE_STATUSES), Action.due_on < (today or local_today()))


def is_overdue(action: Action, today: date | None = None) -> bool:
    return bool(not action.voided and action.status in OVERDUE_STATUSES and action.due_on
                and action.due_on < (today or local_today()))


STALE = _l("Someone else changed this action at the same time. Reload and try again.")


def _check_version(action: Action, version) -> None:
    check_version(action, version, STALE)


def _flush_or_conflict() -> None:
    write_or_conflict(STALE)


def allowed_transitions(action: Action) -> list[str]:
    """The transitions the action's current state allows (none once voided or closed)."""
    if action.voided:
        return []
    return [name for name, (sources, _target) in TRANSITIONS.items() if action.status in sources]


def my_steps(action: Action, user) -> list[str]:
    """The steps the action's state allows that ``user`` may do (the forms their page shows)."""
    return [name for name in allowed_transitions(action) if roles.may(user, action, name)]


def check_step(action: Action, name: str, user) -> None:
    """InvalidTransition when the action's state does not allow ``name`` (closing before the
    effectiveness check says so); PermissionDenied when ``user`` may not do it (:mod:`actions.roles`)."""
    if name not in TRANSITIONS:
        raise InvalidTransition(_l("Unknown step."))
    if action.voided:
        raise InvalidTransition(_l("This action has been voided."))
    if name == "close" and action.status in ("open", "cause_analysed", "action_taken"):
        raise InvalidTransition(NO_CHECK)
    if action.status not in TRANSITIONS[name][0]:
        raise InvalidTransition(_l("An action in state “%(state)s” cannot do “%(step)s”.",
                                   state=STATUSES[action.status], step=TRANSITION_LABELS[name]))
    roles.check(user, action, name)


def transition(action: Action, name: str, data: dict, *, actor, version=None) -> Action:
    """Move the action along its life cycle; InvalidTransition when its state does not allow it,
    PermissionDenied when ``actor`` may not do the step (:func:`check_step`).

    analyse: cause_analysis and planned_action (required), responsible department/person,
    due_on. take_action: action_taken (required). verify (never by whoever took the action):
    remeasured and verification_result (required: the effectiveness check) and effective (bool);
    an ineffective result sends the action back to cause_analysed for a new analysis. close:
    optional note; complainant_feedback, required for an action from a complaint (procedure
    4.4.3). ``version`` (from the form) guards against lost updates. Whoever must act next is told.
    """
    check_step(action, name, actor)
    target = TRANSITIONS[name][1]
    _check_version(action, version)
    before = audit.snapshot(action, FIELDS)
    errors: dict = {}
    now = utcnow()
    reason = ""
    if name == "analyse":
        cause = v.text(data, "cause_analysis", errors, required=True, max_len=TEXT_MAX)
        plan = v.text(data, "planned_action", errors, required=True, max_len=TEXT_MAX)
        due_on = v.day(data, "due_on", errors)
        if due_on is not None and due_on != action.due_on and due_on < local_today():
            v.add_error(errors, "due_on", _l("The due date cannot be in the past."))
        # Keys left out keep their current value (API clients may send only what changes).
        dept = (v.reference(Department, data, "responsible_department_id", errors, _l("Unknown department."))
                if "responsible_department_id" in data else action.responsible_department_id)
        person = (v.reference(User, data, "responsible_user_id", errors, _l("Unknown person."))
                  if "responsible_user_id" in data else action.responsible_user_id)
        if not (dept or person) and not errors.get("responsible_department_id") and not errors.get(
                "responsible_user_id"):
            v.add_error(errors, "responsible_department_id",
                        _l("Name the department or the person responsible."))
        v.raise_errors(errors)
        action.cause_analysis, action.planned_action = cause, plan
        action.due_on = due_on or action.due_on
        action.responsible_department_id, action.responsible_user_id = dept, person
        action.analysed_by_id = getattr(actor, "id", None)
    elif name == "take_action":
        taken = v.text(data, "action_taken", errors, required=True, max_len=TEXT_MAX)
        v.raise_errors(errors)
        action.action_taken = taken
        action.action_taken_by_id = getattr(actor, "id", None)
    elif name == "verify":
        remeasured = v.text(data, "remeasured", errors, required=True, max_len=TEXT_MAX)
        result = v.text(data, "verification_result", errors, required=True, max_len=TEXT_MAX)
        effective = data.get("effective")
        if isinstance(effective, str):
            effective = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}.get(
                effective.strip().lower())
        if not isinstance(effective, bool):
            v.add_error(errors, "effective", _l("Say whether the action was effective."))
        v.raise_errors(errors)
        action.remeasured, action.verification_result, action.effective = remeasured, result, effective
        action.verified_by_id, action.verified_at = getattr(actor, "id", None), now
        if not effective:
            target, reason = "cause_analysed", result
    elif name == "close":
        reason = v.text(data, "note", errors, max_len=2000)
        feedback = v.text(data, "complainant_feedback", errors, required=action.source_type == "complaint",
                          max_len=TEXT_MAX)
        if feedback and action.source_type != "complaint":
            v.add_error(errors, "complainant_feedback", _l("Only an action from a complaint has a complainant."))
        if not action.verification_result:
            raise InvalidTransition(NO_CHECK)
        v.raise_errors(errors)
        action.closed_at, action.closed_by_id = now, getattr(actor, "id", None)
        action.complainant_feedback = feedback
        action.open_key = None
    action.status = target
    action.updated_at = now
    _flush_or_conflict()
    event = "action.reopened" if name == "verify" and target == "cause_analysed" else f"action.{name}"
    audit.record(event, action, before=before, after=audit.snapshot(action, FIELDS), reason=reason, actor=actor)
    roles.notify_next(action, actor=actor)
    db.session.commit()
    return action


VOID = VoidRules(audit_as="action.voided", already=_l("This action has already been voided."),
                 snapshot=lambda action: audit.snapshot(action, FIELDS), check_version=_check_version,
                 write=_flush_or_conflict, frees=("open_key",))


def void_action(action: Action, *, reason, actor, version=None, now=None) -> Action:
    """Void an action with a reason: it stays on record, out of the open list, and frees its source."""
    void(action, VOID, reason=reason, actor=actor, version=version, now=now)
    db.session.commit()
    return action


def request_review(action: Action, data: dict, *, actor) -> Requested | None:
    """Ask for an incident review of a procedure this action showed wanting (review rule 2); ``data``:
    ``procedure_code`` (from the catalogue) and ``reason``. Audited and committed with what the review
    workflow did; returns the review opened or joined (None when no feature runs reviews)."""
    if action.voided:
        raise InvalidTransition(_l("This action has been voided."))
    check_project(action.project_id, actor)
    code, reason = reviews.clean_request(data)
    found = reviews.request_review(action, procedure_code=code, reason=reason, source_type="action",
                                   source_id=action.id, label=action.number, actor=actor)
    audit.record("action.review_requested", action, after={"procedure_code": code,
                                                           "review": found.number if found else None},
                 reason=reason, actor=actor)
    db.session.commit()
    return found


def reviews_of(action: Action) -> list[dict]:
    """The procedure reviews this action triggered (see :func:`actions.reviews.reviews_of`)."""
    return reviews.reviews_of("action", action.id)


def timeline(action: Action) -> list:
    """The action's audit entries, oldest first: who did what, when, and why."""
    return list(db.session.execute(
        select(AuditEntry).where(AuditEntry.object_type == Action.__tablename__,
                                 AuditEntry.object_id == str(action.id)).order_by(AuditEntry.id)).scalars())
