"""The complaint & praise register: entry, editing, the handling life cycle, follow-up, voiding.

Life cycle (an explicit state machine; anything else raises ``InvalidTransition``):

* complaint: received → acknowledged → in_progress → resolved → followed_up → closed.
  Resolving needs the cause and the action taken. The follow-up (回访) records what was fed back
  to the person and their satisfaction with the handling (procedure 4.4.3); "dissatisfied" sends
  the complaint back to in_progress and counts a reopening.
* praise and suggestion: received → acknowledged → closed.

Deadlines (respond / resolve) are fixed at receipt from the ``deadlines`` setting by severity.
Every change is audited and leaves an event on the entry's timeline; nothing is deleted.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from accounts.models import Department, Role, User, user_projects, user_roles
from actions import reviews
from actions import service as actions
from actions.reviews import Requested
from audit import service as audit
from records.attachments import RecordKind
from records.numbering import next_value
from records.permissions import RECORDS_ALL_PROJECTS
from records.scope import check_project, project_ids
from records.validation import check_day
from records.voiding import VoidRules, void
from satisfaction import categories as category_service
from satisfaction.complaints.models import (
    CHANNELS,
    HANDLING_SATISFACTION,
    KINDS,
    OPEN_STATUSES,
    SEVERITIES,
    STATUSES,
    Complaint,
    ComplaintEvent,
    ComplaintSequence,
)
from satisfaction.models import ServiceCategory
from satisfaction.settings import get_setting
from webapp.dates import date_bounds, out_of_range_message, zone
from webapp.db import utcnow
from webapp.exceptions import Conflict, InvalidTransition, NotFound, ValidationError
from webapp.extensions import db
from webapp.i18n import REQUIRED, _l

KIND_LABELS = {"complaint": _l("Complaint"), "praise": _l("Praise"), "suggestion": _l("Suggestion")}
CHANNEL_LABELS = {"letter": _l("Letter"), "visit": _l("Visit"), "phone": _l("Phone"), "online": _l("Online"),
                  "committee": _l("Committee")}
SEVERITY_LABELS = {"normal": _l("Normal"), "urgent": _l("Urgent"), "major": _l("Major")}
STATUS_LABELS = {"received": _l("Received"), "acknowledged": _l("Acknowledged"), "in_progress": _l("In progress"),
                 "resolved": _l("Resolved"), "followed_up": _l("Followed up"), "closed": _l("Case closed")}
# The follow-up's own three levels (QP-CS-001 4.4.5: 满意 / 基本满意 / 不满意), not the survey's rating scale.
SATISFACTION_LABELS = {"satisfied": _l("Satisfied"), "neutral": _l("Fairly satisfied"),
                       "dissatisfied": _l("Dissatisfied")}
ACTION_LABELS = {"acknowledge": _l("Acknowledge"), "start": _l("Start handling"), "resolve": _l("Resolve"),
                 "follow_up": _l("Record follow-up"), "close": _l("Close the case")}
EVENT_LABELS = {"created": _l("Entered"), "edited": _l("Edited"), "voided": _l("Voided"), "reopened": _l("Reopened"),
                "review_requested": _l("Procedure review requested"), "action_opened": _l("Corrective action opened"),
                "attached": _l("File attached"),
                **ACTION_LABELS}

#: Number prefixes: 投诉 TS, 表扬 BY, 建议 JY.
KIND_PREFIX = {"complaint": "TS", "praise": "BY", "suggestion": "JY"}

#: action -> (from status, to status), per kind.
TRANSITIONS = {
    "complaint": {
        "acknowledge": ("received", "acknowledged"),
        "start": ("acknowledged", "in_progress"),
        "resolve": ("in_progress", "resolved"),
        "follow_up": ("resolved", "followed_up"),
        "close": ("followed_up", "closed"),
    },
    "praise": {"acknowledge": ("received", "acknowledged"), "close": ("acknowledged", "closed")},
    "suggestion": {"acknowledge": ("received", "acknowledged"), "close": ("acknowledged", "closed")},
}
ACTIONS = ("acknowledge", "start", "resolve", "follow_up", "close")
#: action -> the input fields it reads besides ``note`` (which every action takes); see :func:`transition`.
ACTION_FIELDS = {"acknowledge": (), "start": (), "resolve": ("cause", "action_taken"),
                 "follow_up": ("feedback_given", "handling_satisfaction", "follow_up_notes"), "close": ()}

#: Fields people may change after entry (kind and project are fixed: void and re-enter instead).
EDITABLE = ("channel", "received_at", "building", "room", "contact_name", "contact_phone", "category_id",
            "severity", "description", "handler_id", "department_id")
AUDIT_FIELDS = ("number", "kind", "channel", "received_at", "project_id", "building", "room", "contact_name",
                "contact_phone", "category_id", "severity", "description", "handler_id", "department_id", "status",
                "respond_due", "resolve_due", "acknowledged_at", "resolved_at", "cause", "action_taken",
                "followed_up_at", "feedback_given", "handling_satisfaction", "follow_up_notes", "closed_at",
                "reopen_count", "source_type", "source_id", "review_procedure_code", "review_requested_at",
                "action_id", "voided_at", "void_reason")
LIMITS = {"building": 40, "room": 40, "contact_name": 60, "contact_phone": 40, "description": 4000,
          "cause": 4000, "action_taken": 4000, "feedback_given": 4000, "follow_up_notes": 4000, "note": 1000,
          "reason": 500}
NUMBER_RE = re.compile(r"\A(?:TS|BY|JY)-\S+-\d{4}-\d{4,}\Z", re.IGNORECASE)
#: Clocks differ a little between a phone and the server: tolerate this much "future".
CLOCK_SKEW = timedelta(minutes=10)



# ---------------------------------------------------------------------------------------------
# time helpers


def local_midnight(day: date) -> datetime:
    """00:00 of a local date, as aware UTC."""
    return datetime.combine(day, time(0), tzinfo=zone()).astimezone(UTC)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[first instant, first instant of next month) of a local calendar month, in UTC."""
    first = month.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return local_midnight(first), local_midnight(nxt)


def parse_month(value) -> date:
    """``"2026-03"`` → date(2026, 3, 1), within the accepted date range (``date_bounds``);
    anything else → ValidationError on ``month``."""
    if isinstance(value, date):
        month = value.replace(day=1)
    else:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})", str(value or "").strip())
        if not (m and 1 <= int(m.group(2)) <= 12 and int(m.group(1)) >= 1):
            msg = _l("Enter a month as YYYY-MM.")
            raise ValidationError(msg, errors={"month": [msg]})
        month = date(int(m.group(1)), int(m.group(2)), 1)
    bounds = date_bounds()
    if not bounds[0].replace(day=1) <= month <= bounds[1]:
        msg = out_of_range_message(bounds)
        raise ValidationError(msg, errors={"month": [msg]})
    return month


def _as_written(value) -> datetime | None:
    """A datetime as given (naive or with its own offset), or None when it is not one."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(0))
    try:
        return datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _to_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone())
    return dt.astimezone(UTC)


def parse_datetime(value) -> datetime | None:
    """An aware datetime from a datetime, or an ISO text; naive values are local time.

    None when it is not a datetime, or so close to year 1 or 9999 that it has no UTC value.
    """
    dt = _as_written(value)
    if dt is None:
        return None
    try:
        return _to_utc(dt)
    except OverflowError:  # 0001-01-01T00:00+08:00 is in year 0 in UTC
        return None


# ---------------------------------------------------------------------------------------------
# reading


def get_entry(entry_id, user) -> Complaint:
    """The entry, if ``user`` may see its project; otherwise NotFound (no hint that it exists)."""
    try:
        entry = db.session.get(Complaint, int(entry_id))
    except (TypeError, ValueError):
        entry = None
    allowed = project_ids(user)
    if entry is None or (allowed is not None and entry.project_id not in allowed):
        raise NotFound(_l("This entry does not exist or belongs to a project you do not work on."))
    return entry


def available_actions(entry: Complaint) -> list[str]:
    """The transitions valid for the entry's current state, in life-cycle order."""
    if entry.voided:
        return []
    moves = TRANSITIONS[entry.kind]
    return [a for a in ACTIONS if a in moves and moves[a][0] == entry.status]


# ---------------------------------------------------------------------------------------------
# validation shared by forms, API and imports


def _text(data: dict, key: str, errors: dict, *, required: bool = False) -> str:
    value = data.get(key)
    value = "" if value is None else str(value).strip()
    if required and not value:
        errors.setdefault(key, []).append(REQUIRED)
    elif len(value) > LIMITS[key]:
        errors.setdefault(key, []).append(_l("At most %(n)d characters.", n=LIMITS[key]))
    return value


def _choice(data: dict, key: str, allowed, errors: dict, message) -> str | None:
    value = str(data.get(key) or "").strip()
    if not value:
        errors.setdefault(key, []).append(REQUIRED)
        return None
    if value not in allowed:
        errors.setdefault(key, []).append(message)
        return None
    return value


def _optional_id(data: dict, key: str, model, errors: dict, message):
    raw = data.get(key)
    if raw in (None, "", 0, "0"):
        return None
    try:
        obj = db.session.get(model, int(raw))
    except (TypeError, ValueError):
        obj = None
    if obj is None or not getattr(obj, "active", True):
        errors.setdefault(key, []).append(message)
        return None
    return obj.id


def _received_at(data: dict, errors: dict, now: datetime) -> datetime | None:
    raw = data.get("received_at")
    if raw in (None, ""):
        errors.setdefault("received_at", []).append(REQUIRED)
        return None
    written = _as_written(raw)
    if written is None:
        errors.setdefault("received_at", []).append(_l("Enter a date and time like 2026-03-18 14:30."))
        return None
    # The date range is checked on the date as written, before any conversion: a date near
    # year 1 or 9999 cannot be moved to UTC, and deadlines are computed from the stored value.
    future = _l("The time of receipt cannot be in the future.")
    if written.date() > date_bounds()[1]:  # the range ends after today: past its end is the future
        errors.setdefault("received_at", []).append(future)
        return None
    if not check_day(written.date(), "received_at", errors):
        return None
    value = _to_utc(written)
    if value > now + CLOCK_SKEW:
        errors.setdefault("received_at", []).append(future)
        return None
    return value


#: Roles that do not make someone a project's staff: they look after the system or its documents.
NOT_STAFF_ROLES = ("admin", "controller")
#: Review-participant categories of people outside the company: the owners' committee's representatives.
NOT_STAFF_CATEGORIES = ("customer_rep",)


def project_staff(project_ids) -> list[tuple[User, frozenset[int]]]:
    """The people who may handle entries of these projects, by name, each with the projects (of those
    given) they work on.

    A project's staff are the active users whose records scope (:mod:`records.scope`) takes in the
    project — its members, and those who see every project — and who hold a role besides
    administrator and document controller; the owners' committee's representatives never are.
    Two queries, whatever the number of people.
    """
    wanted = sorted({int(p) for p in project_ids})
    roles = list(db.session.execute(select(Role.id, Role.code, Role.permissions)).all())
    wide = [r.id for r in roles if RECORDS_ALL_PROJECTS in (r.permissions or ())]
    staff_roles = [r.id for r in roles if r.code not in NOT_STAFF_ROLES]
    member = select(user_projects.c.user_id).where(user_projects.c.project_id.in_(wanted or [-1]))
    sees_all = select(user_roles.c.user_id).where(user_roles.c.role_id.in_(wide or [-1]))
    staff = select(user_roles.c.user_id).where(user_roles.c.role_id.in_(staff_roles or [-1]))
    users = list(db.session.execute(
        select(User).where(User.active.is_(True), or_(User.id.in_(member), User.id.in_(sees_all)),
                           User.id.in_(staff), or_(User.participant_category.is_(None),
                                                   User.participant_category.not_in(NOT_STAFF_CATEGORIES)))
        .order_by(User.display_name, User.id)).scalars())
    works_on: dict[int, set[int]] = {}
    for user_id, project_id in db.session.execute(
            select(user_projects.c.user_id, user_projects.c.project_id)
            .where(user_projects.c.project_id.in_(wanted or [-1]),
                   user_projects.c.user_id.in_([u.id for u in users] or [-1]))):
        works_on.setdefault(user_id, set()).add(project_id)
    return [(u, frozenset(wanted) if u.can(RECORDS_ALL_PROJECTS) else frozenset(works_on.get(u.id, ())))
            for u in users]


def _handler(data: dict, errors: dict, project_id: int | None, current: int | None) -> int | None:
    """The handler named by ``data["handler_id"]``: one of the project's staff (:func:`project_staff`), or
    the entry's handler as it is (who may since have left the project); None when not given."""
    raw = data.get("handler_id")
    if raw in (None, "", 0, "0"):
        return None
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        wanted = None
    if wanted is not None and wanted == current:
        return wanted
    if wanted is not None and project_id is not None and any(
            u.id == wanted for u, _projects in project_staff([project_id])):
        return wanted
    errors.setdefault("handler_id", []).append(_l("Choose a handler from the project's staff."))
    return None


def clean_entry(data: dict, *, kind: str | None, now: datetime, project_id: int | None = None,
                current_handler: int | None = None) -> dict:
    """Validate the editable fields of ``data``; return clean values or raise ValidationError.

    Every problem is collected, so a form shows all its errors at once. The handler must be one of
    the staff of ``project_id`` (or ``current_handler``, the entry's own, unchanged).
    """
    errors: dict[str, list] = {}
    values: dict = {}
    values["channel"] = _choice(data, "channel", CHANNELS, errors, _l("Choose how it reached us."))
    values["received_at"] = _received_at(data, errors, now)
    for key in ("building", "room", "contact_name", "contact_phone"):
        values[key] = _text(data, key, errors)
    values["description"] = _text(data, "description", errors, required=True)
    cat = category_service.active_category(data.get("category_id", data.get("category")), errors, "category")
    values["category_id"] = cat.id if cat else None
    if kind == "complaint":
        values["severity"] = _choice(data, "severity", SEVERITIES, errors, _l("Choose a severity."))
    else:
        values["severity"] = "normal"
    values["handler_id"] = _handler(data, errors, project_id, current_handler)
    values["department_id"] = _optional_id(data, "department_id", Department, errors, _l("Unknown department."))
    if errors:
        raise ValidationError(_l("Please correct the marked fields."), errors=errors)
    return values


def _deadlines(severity: str, received_at: datetime) -> tuple[datetime, datetime]:
    rule = get_setting("deadlines")[severity]
    return (received_at + timedelta(hours=rule["respond_hours"]),
            received_at + timedelta(hours=rule["resolve_hours"]))


# ---------------------------------------------------------------------------------------------
# writing


def _next_number(kind: str, project_code: str, received_at: datetime) -> str:
    """``TS-P-LJY-2026-0001``: prefix, project, local year of receipt, running number (race-safe)."""
    year = received_at.astimezone(zone()).year
    scope = f"{KIND_PREFIX[kind]}-{project_code}-{year}"
    return f"{scope}-{next_value(ComplaintSequence, scope):04d}"


def _event(entry: Complaint, action: str, actor, at: datetime, *, from_status=None, to_status=None, note="") -> None:
    # By id, not through the relationship: adding to ``entry.events`` would mark the entry dirty
    # and bump its version counter for nothing.
    db.session.add(ComplaintEvent(complaint_id=entry.id, at=at, actor_id=getattr(actor, "id", None), action=action,
                                  from_status=from_status, to_status=to_status, note=note or ""))


def _stale() -> Conflict:
    db.session.rollback()
    return Conflict(_l("Someone else changed this entry at the same time. Reload it and try again."))


def _flush() -> None:
    """Write the entry now; a concurrent save of the same row (version moved on) becomes a Conflict."""
    try:
        db.session.flush()
    except StaleDataError:
        raise _stale() from None


def _commit() -> None:
    try:
        db.session.commit()
    except StaleDataError:
        raise _stale() from None


def _check_version(entry: Complaint, expected_version) -> None:
    if expected_version is None:
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise ValidationError(_l("The form is missing its version. Reload the page."),
                              errors={"version": [_l("The form is missing its version. Reload the page.")]}) from None
    if expected != entry.version:
        raise Conflict(_l("Someone else changed this entry after you opened it. Compare and save again."),
                       current_version=entry.version, current=audit.snapshot(entry, EDITABLE + ("status",)))


def create_entry(data: dict, *, actor, source: tuple[str, int] | None = None, now: datetime | None = None) -> Complaint:
    """Enter a complaint, praise or suggestion (same validation for form, API and other modules).

    ``data`` holds ``kind``, ``project_id``, ``channel``, ``received_at`` (aware datetime or
    ISO text, naive = local time), ``category`` (code or id), ``severity`` (complaints),
    ``description`` and optionally ``building``, ``room``, ``contact_name``, ``contact_phone``,
    ``handler_id``, ``department_id``. ``source`` links back to where it came from, e.g.
    ``("meeting_issue", 12)``. Raises ValidationError (400), the project unknown or one the
    actor does not work on alike (no hint that it exists). Commits.
    """
    now = now or utcnow()
    errors: dict[str, list] = {}
    kind = _choice(data, "kind", KINDS, errors, _l("Choose complaint, praise or suggestion."))
    project = None
    raw_project = data.get("project_id")
    if raw_project in (None, ""):
        errors.setdefault("project_id", []).append(REQUIRED)
    else:
        try:
            project = check_project(raw_project, user=actor)
        except NotFound:  # unknown, or another project: the same answer
            errors.setdefault("project_id", []).append(_l("Unknown project."))
    try:
        values = clean_entry(data, kind=kind, now=now, project_id=project.id if project else None)
    except ValidationError as exc:
        for k, v in exc.errors.items():
            errors.setdefault(k, []).extend(v)
        values = None
    if source is not None:
        if not (isinstance(source, tuple | list) and len(source) == 2 and isinstance(source[0], str)
                and re.fullmatch(r"[a-z_]{1,30}", source[0]) and str(source[1]).isdecimal()):
            errors.setdefault("source", []).append(_l("Unknown source."))
    if errors or values is None or project is None or kind is None:
        raise ValidationError(_l("Please correct the marked fields."), errors=errors)

    entry = Complaint(kind=kind, project_id=project.id, status="received", created_by_id=getattr(actor, "id", None),
                      created_at=now, updated_at=now, reopen_count=0, **values)
    if kind == "complaint":
        entry.respond_due, entry.resolve_due = _deadlines(values["severity"], values["received_at"])
    if source is not None:
        entry.source_type, entry.source_id = source[0], int(source[1])
    entry.number = _next_number(kind, project.code, values["received_at"])
    db.session.add(entry)
    db.session.flush()
    _event(entry, "created", actor, now, to_status="received")
    audit.record("complaint.created", entry, after=audit.snapshot(entry, AUDIT_FIELDS), actor=actor)
    _commit()
    return entry


def update_entry(entry: Complaint, data: dict, *, actor, expected_version=None, now: datetime | None = None) -> Complaint:
    """Change the intake fields of an entry (optimistic lock: ``expected_version`` from the form).

    A changed severity or time of receipt recomputes the deadlines from the current settings.
    Raises Conflict (409) when someone saved in between, with the current values in ``details``.
    """
    now = now or utcnow()
    check_project(entry.project_id, user=actor)
    if entry.voided:
        raise InvalidTransition(_l("A voided entry cannot be changed."))
    _check_version(entry, expected_version)
    values = clean_entry(data, kind=entry.kind, now=now, project_id=entry.project_id,
                         current_handler=entry.handler_id)
    before = audit.snapshot(entry, AUDIT_FIELDS)
    changed = {k: v for k, v in values.items() if getattr(entry, k) != v}
    if not changed:
        return entry
    if entry.kind == "complaint" and ({"severity", "received_at"} & set(changed)):
        # Read the settings before touching the entry: a query would autoflush half a change
        # and count it as a version of its own.
        changed["respond_due"], changed["resolve_due"] = _deadlines(values["severity"], values["received_at"])
    for key, value in changed.items():
        setattr(entry, key, value)
    entry.updated_at = now
    _flush()
    _event(entry, "edited", actor, now, note=", ".join(sorted(changed)))
    audit.record("complaint.updated", entry, before={k: before[k] for k in changed},
                 after={k: audit.to_jsonable(getattr(entry, k)) for k in changed}, actor=actor)
    _commit()
    return entry


def transition(entry: Complaint, action: str, data: dict | None = None, *, actor, expected_version=None,
               now: datetime | None = None) -> Complaint:
    """Move the entry along its life cycle; see the module docstring for the rules.

    ``data`` carries ``note`` (any action), ``cause`` and ``action_taken`` (resolve),
    ``feedback_given``, ``handling_satisfaction`` and ``follow_up_notes`` (follow_up).
    """
    data = data or {}
    now = now or utcnow()
    check_project(entry.project_id, user=actor)
    if action not in ACTIONS:
        raise ValidationError(_l("Unknown action."), errors={"action": [_l("Unknown action.")]})
    if entry.voided:
        raise InvalidTransition(_l("A voided entry cannot be changed."))
    move = TRANSITIONS[entry.kind].get(action)
    if move is None or move[0] != entry.status:
        raise InvalidTransition(
            _l("“%(action)s” is not possible while the entry is “%(status)s”.",
               action=ACTION_LABELS[action], status=STATUS_LABELS[entry.status]),
            status=entry.status, allowed=available_actions(entry))
    _check_version(entry, expected_version)
    errors: dict[str, list] = {}
    note = _text(data, "note", errors)
    before = audit.snapshot(entry, AUDIT_FIELDS)
    from_status, to_status = move
    reopened = False
    if action == "acknowledge":
        entry.acknowledged_at = now
    elif action == "start":
        pass
    elif action == "resolve":
        cause = _text(data, "cause", errors, required=True)
        taken = _text(data, "action_taken", errors, required=True)
        if errors:
            raise ValidationError(_l("Resolving needs the cause and the action taken."), errors=errors)
        entry.cause, entry.action_taken, entry.resolved_at = cause, taken, now
    elif action == "follow_up":
        feedback = _text(data, "feedback_given", errors, required=True)
        notes = _text(data, "follow_up_notes", errors)
        verdict = _choice(data, "handling_satisfaction", HANDLING_SATISFACTION, errors,
                          _l("Choose satisfied, neutral or dissatisfied."))
        if errors:
            raise ValidationError(_l("Please correct the marked fields."), errors=errors)
        entry.feedback_given, entry.follow_up_notes, entry.handling_satisfaction = feedback, notes, verdict
        entry.followed_up_at, entry.followed_up_by_id = now, getattr(actor, "id", None)
        if verdict == "dissatisfied":
            # 4.4.3: the person is not satisfied with the handling — it goes back to work.
            reopened = True
            to_status = "in_progress"
            entry.reopen_count = (entry.reopen_count or 0) + 1
            entry.resolved_at = None
    elif action == "close":
        entry.closed_at = now
    if errors:
        raise ValidationError(_l("Please correct the marked fields."), errors=errors)
    entry.status = to_status
    entry.updated_at = now
    _flush()
    _event(entry, action, actor, now, from_status=from_status,
           to_status="resolved" if reopened else to_status, note=note or _follow_up_note(entry, action))
    after = audit.snapshot(entry, AUDIT_FIELDS)
    changed = [k for k in AUDIT_FIELDS if before[k] != after[k]]
    audit.record(f"complaint.{action}", entry, before={k: before[k] for k in changed},
                 after={k: after[k] for k in changed}, reason=note, actor=actor)
    if reopened:
        _event(entry, "reopened", actor, now, from_status="resolved", to_status="in_progress",
               note=entry.follow_up_notes or entry.feedback_given)
        audit.record("complaint.reopened", entry, before={"status": "resolved"},
                     after={"status": "in_progress", "reopen_count": entry.reopen_count},
                     reason=str(_l("The person was dissatisfied with the handling.")), actor=actor)
    _commit()
    return entry


def _follow_up_note(entry: Complaint, action: str) -> str:
    if action == "resolve":
        return entry.action_taken
    if action == "follow_up":
        return entry.feedback_given
    return ""


def _void_audit(entry: Complaint) -> dict:
    """What a complaint's void entry in the audit log shows: when, and why once voided."""
    if entry.voided_at is None:
        return {"voided_at": None}
    return {"voided_at": audit.to_jsonable(entry.voided_at), "void_reason": entry.void_reason}


VOID = VoidRules(audit_as="complaint.voided", already=_l("This entry is already voided."), snapshot=_void_audit,
                 check_version=_check_version, write=_flush, max_reason=LIMITS["reason"])


def void_entry(entry: Complaint, *, reason, actor, version=None, now: datetime | None = None) -> Complaint:
    """Void an entry with a reason: it stays visible (with a filter) but leaves every figure."""
    check_project(entry.project_id, user=actor)
    void(entry, VOID, reason=reason, actor=actor, version=version, now=now)
    _event(entry, "voided", actor, entry.voided_at, note=entry.void_reason)
    _commit()
    return entry


def request_review(entry: Complaint, procedure_code: str, *, actor, now: datetime | None = None) -> Requested | None:
    """Open an incident review of a procedure for this major complaint (or add it to the review already
    open for that procedure); returns that review, or None when no feature runs reviews.

    Review rule 2: a major customer complaint immediately starts a revision of the procedure. The
    request is recorded on the entry (code, who, when) and announced as :data:`review_requested` in the
    same transaction: a refusal by the review workflow undoes the request.
    """
    now = now or utcnow()
    check_project(entry.project_id, user=actor)
    if entry.voided or entry.kind != "complaint" or entry.severity != "major":
        raise InvalidTransition(_l("Only a major complaint can start a procedure review."))
    if entry.review_procedure_code:
        raise Conflict(_l("A review of %(code)s was already requested for this complaint.",
                          code=entry.review_procedure_code))
    code = reviews.clean_procedure_code(procedure_code)
    entry.review_procedure_code, entry.review_requested_at = code, now
    entry.review_requested_by_id = getattr(actor, "id", None)
    entry.updated_at = now
    _flush()
    _event(entry, "review_requested", actor, now, note=code)
    audit.record("complaint.review_requested", entry, before={"review_procedure_code": None},
                 after={"review_procedure_code": code, "review_requested_at": audit.to_jsonable(now)}, actor=actor)
    found = reviews.request_review(entry, procedure_code=code, reason=f"{entry.number} {entry.description}",
                                   source_type="complaint", source_id=entry.id, label=entry.number, actor=actor)
    _commit()
    return found


def reviews_of(entry: Complaint) -> list[dict]:
    """The reviews this entry triggered (see :func:`actions.reviews.reviews_of`); only a complaint whose
    review was requested can have any, so the others cost no query."""
    return reviews.reviews_of("complaint", entry.id) if entry.review_procedure_code else []


def open_corrective_action(entry: Complaint, *, actor, now: datetime | None = None) -> Complaint:
    """Open a corrective action for this complaint (or link the one already open for it)."""
    now = now or utcnow()
    check_project(entry.project_id, user=actor)
    if entry.voided or entry.kind != "complaint":
        raise InvalidTransition(_l("A corrective action can only be opened for a complaint."))
    if entry.action_id is not None:
        raise Conflict(_l("A corrective action is already linked to this complaint."))
    # open_action returns the action already open for this complaint, if any, instead of a second one.
    action = actions.open_action(
        kind="corrective", source_type="complaint", source_id=entry.id, project_id=entry.project_id,
        title=f"{entry.number} {entry.description[:80]}", description=entry.description, actor=actor)
    entry.action_id = action.id
    entry.updated_at = now
    _flush()
    _event(entry, "action_opened", actor, now, note=getattr(action, "number", str(action.id)))
    audit.record("complaint.action_opened", entry, before={"action_id": None}, after={"action_id": action.id},
                 actor=actor)
    _commit()
    return entry


# ---------------------------------------------------------------------------------------------
# the register list: filters and keyset pagination


@dataclass
class Filters:
    project_id: int | None = None
    kind: str | None = None
    status: str | None = None
    category_id: int | None = None
    severity: str | None = None
    channel: str | None = None
    month: date | None = None
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False
    q: str = ""
    voided: str = "exclude"  # exclude | include | only
    #: ``?assigned=me``: entries whose handler is this user (id) and that are not closed (their to-do).
    assigned_to: int | None = None

    def as_args(self) -> dict:
        """The filters as query-string arguments (for links and exports)."""
        args = {"project": self.project_id, "kind": self.kind, "status": self.status, "severity": self.severity,
                "channel": self.channel, "month": self.month.strftime("%Y-%m") if self.month else None,
                "from": self.date_from.isoformat() if self.date_from else None,
                "to": self.date_to.isoformat() if self.date_to else None, "overdue": "1" if self.overdue else None,
                "q": self.q or None, "voided": self.voided if self.voided != "exclude" else None,
                "assigned": "me" if self.assigned_to else None}
        if self.category_id:
            cat = db.session.get(ServiceCategory, self.category_id)
            args["category"] = cat.code if cat else None
        return {k: v for k, v in args.items() if v not in (None, "")}


def parse_filters(args, user=None) -> Filters:
    """Read filters from query arguments; bad values raise ValidationError naming the field. ``user``:
    whom ``assigned=me`` means (without one, ``assigned`` is not read)."""
    f = Filters()
    errors: dict[str, list] = {}

    def pick(key, allowed):
        value = (args.get(key) or "").strip()
        if not value:
            return None
        if value not in allowed:
            errors.setdefault(key, []).append(_l("Unknown value."))
            return None
        return value

    project = (args.get("project") or "").strip()
    if project:
        if project.isdecimal():
            f.project_id = int(project)
        else:
            errors.setdefault("project", []).append(_l("Unknown project."))
    f.kind = pick("kind", KINDS)
    f.status = pick("status", STATUSES)
    f.severity = pick("severity", SEVERITIES)
    f.channel = pick("channel", CHANNELS)
    category = (args.get("category") or "").strip()
    if category:
        cat = db.session.execute(select(ServiceCategory.id).where(ServiceCategory.code == category)).scalar()
        if cat is None:
            errors.setdefault("category", []).append(_l("Unknown service category."))
        f.category_id = cat
    if (args.get("month") or "").strip():
        try:
            f.month = parse_month(args.get("month"))
        except ValidationError as exc:
            errors.update(exc.errors)
    for key, attr in (("from", "date_from"), ("to", "date_to")):
        raw = (args.get(key) or "").strip()
        if raw:
            try:
                value = date.fromisoformat(raw)
            except ValueError:
                errors.setdefault(key, []).append(_l("Enter a date like 2026-03-18."))
            else:
                if check_day(value, key, errors):  # "to" + 1 day must not overflow
                    setattr(f, attr, value)
    if f.date_from and f.date_to and f.date_from > f.date_to:
        errors.setdefault("to", []).append(_l("The end date is before the start date."))
    f.overdue = (args.get("overdue") or "") in ("1", "true", "on", "y")
    f.q = (args.get("q") or "").strip()[:100]
    voided = (args.get("voided") or "exclude").strip()
    f.voided = voided if voided in ("exclude", "include", "only") else "exclude"
    assigned = (args.get("assigned") or "").strip() if user is not None else ""
    if assigned == "me":
        f.assigned_to = user.id
    elif assigned:
        errors.setdefault("assigned", []).append(_l("Unknown value."))
    if errors:
        raise ValidationError(_l("Please correct the filters."), errors=errors)
    return f


def overdue_clause(now: datetime):
    """SQL for "a deadline has passed and the step is not done" (open complaints only)."""
    return and_(Complaint.kind == "complaint", Complaint.voided_at.is_(None), Complaint.status.in_(OPEN_STATUSES),
                or_(and_(Complaint.acknowledged_at.is_(None), Complaint.respond_due < now),
                    and_(Complaint.resolved_at.is_(None), Complaint.resolve_due < now)))


def assigned_clause(user_id: int):
    """SQL for "handled by this user and not closed yet" (the handler's to-do, ``?assigned=me``)."""
    return and_(Complaint.handler_id == user_id, Complaint.status != "closed")


def list_statement(filters: Filters, user, now: datetime | None = None):
    """SELECT of the entries matching ``filters`` that ``user`` may see (no order, no limit)."""
    now = now or utcnow()
    stmt = select(Complaint)
    allowed = project_ids(user)
    if allowed is not None:
        stmt = stmt.where(Complaint.project_id.in_(allowed or [-1]))
    if filters.project_id:
        stmt = stmt.where(Complaint.project_id == filters.project_id)
    for attr in ("kind", "status", "severity", "channel", "category_id"):
        value = getattr(filters, attr)
        if value:
            stmt = stmt.where(getattr(Complaint, attr) == value)
    if filters.month:
        start, end = month_bounds(filters.month)
        stmt = stmt.where(Complaint.received_at >= start, Complaint.received_at < end)
    if filters.date_from:
        stmt = stmt.where(Complaint.received_at >= local_midnight(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(Complaint.received_at < local_midnight(filters.date_to + timedelta(days=1)))
    if filters.overdue:
        stmt = stmt.where(overdue_clause(now))
    if filters.assigned_to:
        stmt = stmt.where(assigned_clause(filters.assigned_to))
    if filters.q and NUMBER_RE.match(filters.q):
        # A whole entry number: the unique index answers at once, whatever the register's size.
        stmt = stmt.where(Complaint.number == filters.q.upper())
    elif filters.q:
        like = "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # Digits and Chinese have no case: plain LIKE is about twice as fast as ILIKE on PostgreSQL.
        cased = filters.q.lower() != filters.q.upper()
        columns = (Complaint.number, Complaint.room, Complaint.building, Complaint.description)
        stmt = stmt.where(or_(*(col.ilike(like, escape="\\") if cased else col.like(like, escape="\\")
                                for col in columns)))
    if filters.voided == "exclude":
        stmt = stmt.where(Complaint.voided_at.is_(None))
    elif filters.voided == "only":
        stmt = stmt.where(Complaint.voided_at.is_not(None))
    return stmt


@dataclass
class KeysetPage:
    items: list
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None


def _cursor(entry: Complaint) -> str:
    naive = entry.received_at.astimezone(UTC).replace(tzinfo=None)
    return f"{int(naive.replace(tzinfo=UTC).timestamp() * 1_000_000)}.{entry.id}"


def _parse_cursor(raw: str | None):
    if not raw:
        return None
    m = re.fullmatch(r"(\d{1,20})\.(\d{1,12})", raw)
    if not m:
        raise ValidationError(_l("This page link is not valid."), errors={"cursor": [_l("This page link is not valid.")]})
    try:
        at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(m.group(1)))
    except OverflowError:
        raise ValidationError(_l("This page link is not valid."),
                              errors={"cursor": [_l("This page link is not valid.")]}) from None
    return at, int(m.group(2))


#: Up to this many projects, a restricted user's list is read project by project (see keyset_page).
SPLIT_MAX = 30


def list_page(filters: Filters, user, *, now: datetime | None = None, after: str | None = None,
              before: str | None = None, per_page: int = 50) -> KeysetPage:
    """One page of the register for ``user`` (newest first), as the list page and the API show it."""
    stmt = list_statement(filters, user, now)
    allowed = project_ids(user)
    split = None
    if not filters.project_id and allowed is not None and 1 < len(allowed) <= SPLIT_MAX:
        split = sorted(allowed)
    return keyset_page(stmt, after=after, before=before, per_page=per_page, split=split)


def keyset_page(stmt, *, after: str | None = None, before: str | None = None, per_page: int = 50,
                split: list[int] | None = None) -> KeysetPage:
    """Newest first, ``per_page`` rows after (older than) or before (newer than) a cursor.

    Seeks on the (received_at, id) index instead of OFFSET, so page 2,000 costs what page 1 costs,
    and asks for one extra row instead of COUNT(*) to know whether there is more. With ``split``
    (a clerk's few projects) each project is read on its own (project, received_at, id) index and
    the pieces merged: "project IN (…) ORDER BY received_at" would otherwise sort every row of
    those projects to return fifty.
    """
    key = tuple_(Complaint.received_at, Complaint.id)
    stmt = stmt.options(joinedload(Complaint.project), joinedload(Complaint.category))
    newer = bool(before)
    cursor = _parse_cursor(before or after)
    if cursor is not None:
        stmt = stmt.where(key > tuple_(*cursor) if newer else key < tuple_(*cursor))
    order = ((Complaint.received_at.asc(), Complaint.id.asc()) if newer
             else (Complaint.received_at.desc(), Complaint.id.desc()))
    parts = [stmt] if not split else [stmt.where(Complaint.project_id == pid) for pid in split]
    rows: list[Complaint] = []
    for part in parts:
        rows += db.session.execute(part.order_by(*order).limit(per_page + 1)).scalars().all()
    rows.sort(key=lambda e: (e.received_at, e.id), reverse=not newer)
    more = len(rows) > per_page
    rows = rows[:per_page]
    if newer:
        rows.reverse()
        return KeysetPage(rows, _cursor(rows[-1]) if rows else None, _cursor(rows[0]) if rows and more else None)
    return KeysetPage(rows, _cursor(rows[-1]) if rows and more else None,
                      _cursor(rows[0]) if rows and after else None)


def export_rows(stmt, limit: int):
    """The entries for an export, newest first; None when there are more than ``limit``."""
    rows = list(db.session.execute(
        stmt.options(joinedload(Complaint.project), joinedload(Complaint.category),
                     joinedload(Complaint.handler), joinedload(Complaint.department))
        .order_by(Complaint.received_at.desc(), Complaint.id.desc()).limit(limit + 1)).unique().scalars())
    return None if len(rows) > limit else rows


# ---------------------------------------------------------------------------------------------
# the register page: status tabs with their counts, numbered pages

#: Rows on one page of the register.
PAGE_SIZE = 50


@dataclass
class RegisterPage:
    """One numbered page of the register, with the counts of every status tab.

    ``counts`` maps each status to its number of entries under the other filters (the tabs);
    ``total`` is the number of entries under every filter (the tab shown), ``all`` the tabs' sum.
    """

    items: list
    number: int
    per_page: int
    total: int
    counts: dict

    @property
    def all(self) -> int:
        return sum(self.counts.values())

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def window(self, radius: int = 2) -> list[int | None]:
        """The page numbers to link: the first, the last and ``radius`` either side of this one;
        None where numbers are left out (shown as an ellipsis)."""
        shown = sorted({1, self.pages, *range(max(1, self.number - radius), min(self.pages, self.number + radius) + 1)})
        out: list[int | None] = []
        for n in shown:
            if out and n - (out[-1] or 0) > 1:
                out.append(None)
            out.append(n)
        return out


def page_number(raw) -> int:
    """``?page=`` as a page number: anything that is not a whole number from 1 is page 1."""
    text = str(raw or "").strip()
    if not text.isdecimal() or len(text) > 9:
        return 1
    return max(1, int(text))


def status_counts(filters: Filters, user, now: datetime | None = None) -> dict[str, int]:
    """Entries per status under every filter but the status, in life-cycle order: one GROUP BY."""
    stmt = list_statement(replace(filters, status=None), user, now)
    stmt = stmt.with_only_columns(Complaint.status, func.count()).group_by(Complaint.status)
    found = dict(db.session.execute(stmt).all())
    return {status: found.get(status, 0) for status in STATUSES}


def register_page(filters: Filters, user, *, page=1, per_page: int = PAGE_SIZE,
                  now: datetime | None = None) -> RegisterPage:
    """Page ``page`` (newest first) of the entries matching ``filters`` that ``user`` may see, with the
    status counts. Two queries: the counts (which give the total) and the page's rows.

    A page past the last one is NotFound. Pages in the second half of the list are read from the
    oldest end (ascending, then reversed), so the last page costs what the first does.
    """
    now = now or utcnow()
    number = page_number(page)
    counts = status_counts(filters, user, now)
    total = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    result = RegisterPage([], number, per_page, total, counts)
    if number > result.pages:
        raise NotFound(_l("There is no page %(n)d of this list: it has %(pages)d.", n=number, pages=result.pages))
    offset = (number - 1) * per_page
    stmt = list_statement(filters, user, now).options(joinedload(Complaint.project), joinedload(Complaint.category))
    newest = (Complaint.received_at.desc(), Complaint.id.desc())
    if total and offset > total // 2:
        size = min(per_page, total - offset)
        rows = list(db.session.execute(stmt.order_by(Complaint.received_at.asc(), Complaint.id.asc())
                                       .offset(max(0, total - offset - size)).limit(size)).scalars())
        rows.reverse()
    else:
        rows = list(db.session.execute(stmt.order_by(*newest).offset(offset).limit(per_page)).scalars())
    result.items = rows
    return result


# ---------------------------------------------------------------------------------------------
# attachments (a photo of what the complaint is about, a letter)


def _attached(entry: Complaint, attachment, actor) -> None:
    """A file attached to an entry shows on its timeline (the attachment's own audit entry names the file)."""
    _event(entry, "attached", actor, attachment.uploaded_at, note=attachment.filename)


#: How register entries take attachments (records.attachments): read and scoped as the entry is; a voided
#: entry takes no more files.
ATTACHMENTS = RecordKind(
    "complaint", load=get_entry, attached=_attached,
    closed=lambda entry: _l("A voided entry cannot be changed.") if entry.voided else None)
