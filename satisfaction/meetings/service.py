"""Owners'-committee meetings (业主委员会座谈会, procedure 4.2.2): minutes, issues, follow-through.

A meeting records who came, what was discussed and the minutes (Markdown, rendered
sanitised once when saved and stored beside them: minutes too complex to render are
refused with a field message, and viewing never renders). Each issue raised can be turned into a register entry (complaint or
suggestion, via ``satisfaction.complaints.service.create_entry`` with ``source=("meeting_issue", id)``)
or a corrective/preventive action, and the meeting shows what became of it. Edits are
guarded by an optimistic version; every change is audited; meetings are voided, never deleted.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import extract, or_, select
from sqlalchemy.orm import joinedload, selectinload

from accounts.models import User
from actions import reviews
from actions.reviews import Requested
from actions.service import actions_for_many, open_action
from audit import service as audit
from procedures import rendering
from records import validation as v
from records.attachments import RecordKind
from records.scope import check_project, restrict
from records.voiding import VoidRules, void
from satisfaction import categories as category_service
from satisfaction.caring.service import staff_candidates
from satisfaction.complaints.models import Complaint
from satisfaction.complaints.service import create_entry
from satisfaction.meetings.models import Meeting, MeetingIssue
from satisfaction.models import ServiceCategory
from webapp.db import utcnow
from webapp.exceptions import Conflict, InvalidTransition, NotFound, ValidationError
from webapp.extensions import db
from webapp.i18n import REQUIRED, _, _l
from webapp.locking import check_version, write_or_conflict

FIELDS = ("project_id", "held_on", "title", "location", "attendees", "topics", "minutes", "voided_at",
          "void_reason")
MAX_ISSUES = 50
#: Register kinds an issue can become.
ENTRY_KINDS = ("complaint", "suggestion")
ACTION_KINDS = ("corrective", "preventive")


def snapshot(meeting: Meeting) -> dict:
    """Everything about a meeting, for the audit log's before/after."""
    data = audit.snapshot(meeting, FIELDS)
    data["staff_ids"] = sorted(u.id for u in meeting.staff)
    data["issues"] = [{"id": i.id, "description": i.description, "category_id": i.category_id,
                       "entry_id": i.entry_id} for i in meeting.issues]
    return data


def _staff_ids(raw, errors: dict, actor) -> list[int]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list | tuple):
        raw = [raw]
    try:
        ids = sorted({int(x) for x in raw if str(x).strip()})
    except (TypeError, ValueError):
        v.add_error(errors, "staff_ids", _l("Unknown staff member."))
        return []

    # Only people the user could pick in the form: staff of the user's own projects.
    found = {u.id for u in staff_candidates(actor)} & set(ids)
    if found != set(ids):
        v.add_error(errors, "staff_ids", _l("Unknown staff member."))
    return ids


def _issues(raw, errors: dict) -> list[dict]:
    """Clean issue rows: ``[{"id"?, "description", "category"}]``; blank rows are dropped."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list | tuple):
        v.add_error(errors, "issues", _l("Issues must be a list."))
        return []
    rows = []
    for n, item in enumerate(raw):
        if not isinstance(item, dict):
            v.add_error(errors, f"issues-{n}-description", _l("Issues must be a list."))
            continue
        description = str(item.get("description") or "").strip()
        category = item.get("category_id", item.get("category"))
        ident = item.get("id")
        if not description and not ident:
            continue  # an empty row of the form
        if not description:
            v.add_error(errors, f"issues-{n}-description", REQUIRED)
        elif len(description) > 2000:
            v.add_error(errors, f"issues-{n}-description", _l("At most %(n)d characters.", n=2000))
        cat = category_service.active_category(category, errors, f"issues-{n}-category")
        rows.append({"id": int(ident) if str(ident or "").isdecimal() else None, "description": description,
                     "category_id": cat.id if cat else None, "row": n})
    if len(rows) > MAX_ISSUES:
        v.add_error(errors, "issues", _l("At most %(n)d issues per meeting.", n=MAX_ISSUES))
    return rows


def _minutes_html(minutes: str, errors: dict) -> str:
    """The sanitised HTML of the minutes, rendered now (once); a message when they cannot be rendered."""
    if not minutes or errors.get("minutes"):
        return ""
    try:
        return str(rendering.check_renderable(minutes, field="minutes").html)
    except ValidationError as exc:
        for message in exc.errors.get("minutes", [exc.message]):
            v.add_error(errors, "minutes", message)
        return ""


def clean(data: dict, *, actor) -> dict:
    """Validate meeting input (form or API); raise ValidationError with every problem at once."""
    errors: dict = {}
    values = {
        "held_on": v.day(data, "held_on", errors, required=True, not_future=True),
        "title": v.text(data, "title", errors, required=True, max_len=200),
        "location": v.text(data, "location", errors, max_len=200),
        "attendees": v.text(data, "attendees", errors, max_len=4000),
        "topics": v.text(data, "topics", errors, max_len=4000),
        "minutes": v.text(data, "minutes", errors, max_len=100_000),
        "staff_ids": _staff_ids(data.get("staff_ids"), errors, actor),
        "issues": _issues(data.get("issues"), errors),
    }
    values["minutes_html"] = _minutes_html(values["minutes"], errors)
    if values["held_on"] and values["held_on"] < date(2000, 1, 1):
        v.add_error(errors, "held_on", _l("The date is too far in the past."))
    if not data.get("project_id"):
        v.add_error(errors, "project_id", REQUIRED)
    v.raise_errors(errors)
    values["project_id"] = check_project(data["project_id"], actor).id  # 403 for another project
    return values


STALE = _l("Someone else changed this meeting after you opened it. Reload it and try again.")


def _check_version(meeting: Meeting, version) -> None:
    check_version(meeting, version, STALE)


def _commit() -> None:
    write_or_conflict(STALE, commit=True)


def save_meeting(meeting: Meeting | None, data: dict, *, actor, version=None) -> Meeting:
    """Create (``meeting`` None) or update a meeting with its staff and issues; audited, committed.

    ``data``: project_id, held_on, title, location, attendees (text, one per line), topics,
    minutes (Markdown), staff_ids, issues ``[{"id"?, "description", "category"}]``. Issues that
    became a register entry are kept unchanged; other existing issues missing from ``issues``
    are removed (the audit entry keeps them). ``version`` is the version the editor started from.
    """
    if meeting is not None:
        if meeting.voided:
            raise InvalidTransition(_l("A voided meeting cannot be changed."))
        check_project(meeting.project_id, actor)
        _check_version(meeting, version)
    values = clean(data, actor=actor)
    before = snapshot(meeting) if meeting is not None else None
    now = utcnow()
    if meeting is None:
        meeting = Meeting(created_at=now, created_by_id=getattr(actor, "id", None), void_reason="")
        db.session.add(meeting)
    locked = followed_issues(meeting)
    if locked and values["project_id"] != meeting.project_id:
        message = _l("Issues of this meeting are already being followed up; the project cannot change.")
        raise ValidationError(message, errors={"project_id": [message]})
    for key in ("project_id", "held_on", "title", "location", "attendees", "topics", "minutes", "minutes_html"):
        setattr(meeting, key, values[key])
    meeting.updated_at = now
    meeting.staff = list(db.session.execute(select(User).where(User.id.in_(values["staff_ids"] or [-1]))).scalars())

    existing = {i.id: i for i in meeting.issues}
    kept: list[MeetingIssue] = []
    for row in values["issues"]:
        issue = existing.get(row["id"]) if row["id"] else None
        if issue is None:
            issue = MeetingIssue(description=row["description"], category_id=row["category_id"])
        elif issue not in locked:
            issue.description, issue.category_id = row["description"], row["category_id"]
        kept.append(issue)
    kept_ids = {i.id for i in kept if i.id}
    kept += [i for i in locked if i.id not in kept_ids]  # never drop an issue that is in the register
    for position, issue in enumerate(kept):
        issue.position = position
    meeting.issues = kept
    write_or_conflict(STALE)
    audit.record("meeting.updated" if before else "meeting.created", meeting, before=before,
                 after=snapshot(meeting), actor=actor)
    _commit()
    return meeting


def followed_issues(meeting: Meeting) -> list[MeetingIssue]:
    """Issues that became a register entry or an action, or started a procedure review: they are part
    of the record now."""
    ids = [i.id for i in meeting.issues if i.id is not None]
    with_actions = {k for k, found in actions_for_many("meeting_issue", ids).items() if found}
    with_reviews = {k for k, found in issue_reviews(meeting).items() if found}
    return [i for i in meeting.issues if i.entry_id is not None or i.id in with_actions | with_reviews]


def issue_reviews(meeting: Meeting) -> dict[int, list[dict]]:
    """The procedure reviews each saved issue triggered (see :func:`actions.reviews.reviews_of`)."""
    return {i.id: reviews.reviews_of("meeting_issue", i.id) for i in meeting.issues if i.id is not None}


def outcomes(meeting: Meeting) -> dict[int, dict]:
    """What became of each issue: ``{issue_id: {"entry": Complaint|None, "actions": [Action],
    "reviews": [review dicts]}}``."""
    ids = [i.id for i in meeting.issues]
    actions = actions_for_many("meeting_issue", ids)
    found = issue_reviews(meeting)
    return {i.id: {"entry": i.entry, "actions": actions.get(i.id, []), "reviews": found.get(i.id, [])}
            for i in meeting.issues}


def get_meeting(meeting_id, user=None) -> Meeting:
    """The meeting, when it exists and the user may see its project."""
    try:
        meeting = db.session.get(Meeting, int(meeting_id))
    except (TypeError, ValueError):
        meeting = None
    if meeting is None:
        raise NotFound(_l("This meeting does not exist."))
    check_project(meeting.project_id, user)
    return meeting


#: How meetings take attachments (records.attachments): the signed minutes, a scan of the attendance sheet.
#: Read and scoped as the meeting is; a voided meeting takes no more files.
ATTACHMENTS = RecordKind("meeting", load=get_meeting,
                         closed=lambda meeting: _l("A voided meeting cannot be changed.") if meeting.voided else None)


def get_issue(meeting: Meeting, issue_id) -> MeetingIssue:
    for issue in meeting.issues:
        if str(issue.id) == str(issue_id):
            return issue
    raise NotFound(_l("This issue does not exist."))


def find_issue(issue_id: int, user=None) -> MeetingIssue:
    """An issue by its id alone (a review links back to it), when the user may see its meeting."""
    issue = db.session.get(MeetingIssue, int(issue_id))
    if issue is None:
        raise NotFound(_l("This issue does not exist."))
    get_meeting(issue.meeting_id, user)  # NotFound alike for another project's issue
    return issue


def issue_label(meeting: Meeting, issue: MeetingIssue) -> str:
    """How a review names the issue: the meeting's date and the issue's number on it (2026-03-18 #2)."""
    return f"{meeting.held_on.isoformat()} #{issue.position + 1}"


def request_issue_review(meeting: Meeting, issue: MeetingIssue, data: dict, *, actor) -> Requested | None:
    """Ask for an incident review of a procedure this issue showed wanting (review rule 2); ``data``:
    ``procedure_code`` and ``reason``. Audited and committed with what the review workflow did; returns
    the review opened or joined (None when no feature runs reviews)."""
    if meeting.voided:
        raise InvalidTransition(_l("A voided meeting cannot be changed."))
    check_project(meeting.project_id, actor)
    code, reason = reviews.clean_request(data)
    found = reviews.request_review(issue, procedure_code=code, reason=reason, source_type="meeting_issue",
                                   source_id=issue.id, label=issue_label(meeting, issue), actor=actor)
    audit.record("meeting.issue_review_requested", issue,
                 after={"procedure_code": code, "review": found.number if found else None}, reason=reason,
                 actor=actor)
    db.session.commit()
    return found


VOID = VoidRules(audit_as="meeting.voided", already=_l("This meeting has already been voided."),
                 snapshot=snapshot, check_version=_check_version, write=lambda: write_or_conflict(STALE))


def void_meeting(meeting: Meeting, *, reason, actor, version=None, now=None) -> Meeting:
    """Void a meeting with a reason; its register entries and actions stay as they are."""
    void(meeting, VOID, reason=reason, actor=actor, version=version, now=now)
    _commit()
    return meeting


def _lock_issue(issue: MeetingIssue) -> MeetingIssue:
    """Re-read the issue row with a row lock (PostgreSQL) so two clicks cannot convert it twice."""
    return db.session.execute(select(MeetingIssue).where(MeetingIssue.id == issue.id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()


def _existing_entry(issue: MeetingIssue) -> Complaint | None:
    """A live register entry already made from this issue (linked, or left unlinked by a crash)."""
    if issue.entry_id is not None:
        entry = db.session.get(Complaint, issue.entry_id)
        if entry is not None and not entry.voided:
            return entry
    return db.session.execute(
        select(Complaint).where(Complaint.source_type == "meeting_issue", Complaint.source_id == issue.id,
                                Complaint.voided_at.is_(None)).order_by(Complaint.id.desc()).limit(1)
    ).scalar_one_or_none()


def issue_to_entry(meeting: Meeting, issue: MeetingIssue, kind: str, *, actor) -> Complaint:
    """Turn an issue into a register entry (complaint or suggestion) that links back to it.

    The entry is received now, through the owners' committee channel, with the issue's
    category and text. An issue whose entry is live cannot be converted again (Conflict);
    one whose entry was voided can.
    """
    if kind not in ENTRY_KINDS:
        raise ValidationError(_l("Choose complaint or suggestion."), errors={"kind": [_l("Choose complaint or suggestion.")]})
    if meeting.voided:
        raise InvalidTransition(_l("A voided meeting cannot be changed."))
    check_project(meeting.project_id, actor)
    issue = _lock_issue(issue)
    entry = _existing_entry(issue)
    if entry is None:
        category = db.session.get(ServiceCategory, issue.category_id)
        description = _("%(text)s\n(Raised at the owners' committee meeting of %(day)s: %(title)s)",
                        text=issue.description, day=meeting.held_on.isoformat(), title=meeting.title)
        entry = create_entry({
            "kind": kind, "project_id": meeting.project_id, "channel": "committee",
            "received_at": utcnow(), "category": category.code if category else "",
            "severity": "normal", "description": description[:4000],
            "contact_name": _("Owners' committee"),
        }, actor=actor, source=("meeting_issue", issue.id))  # commits the entry
    elif issue.entry_id == entry.id:
        raise Conflict(_l("This issue is already in the register as %(number)s.", number=entry.number))
    # Link the issue to the entry (a second, small transaction; the entry already names the issue).
    issue = db.session.get(MeetingIssue, issue.id)
    before = {"entry_id": issue.entry_id}
    issue.entry_id = entry.id
    audit.record("meeting.issue_registered", issue, before=before, after={"entry_id": entry.id, "kind": kind},
                 actor=actor)
    db.session.commit()
    return entry


def issue_to_action(meeting: Meeting, issue: MeetingIssue, kind: str, *, actor):
    """Open (or find) the corrective/preventive action for an issue; commits."""
    if kind not in ACTION_KINDS:
        raise ValidationError(_l("Choose corrective or preventive."), errors={"kind": [_l("Choose corrective or preventive.")]})
    if meeting.voided:
        raise InvalidTransition(_l("A voided meeting cannot be changed."))
    check_project(meeting.project_id, actor)
    action = open_action(kind=kind, source_type="meeting_issue", source_id=issue.id, project_id=meeting.project_id,
                         title=issue.description.splitlines()[0][:200],
                         description=_("%(text)s\n(Raised at the owners' committee meeting of %(day)s: %(title)s)",
                                       text=issue.description, day=meeting.held_on.isoformat(), title=meeting.title),
                         actor=actor)
    db.session.commit()
    return action


def list_meetings(*, user, project_id=None, year: int | None = None, q: str = "", voided: str = ""):
    """A SELECT of the meetings the user may see, newest first. ``voided``: "" / "only" / "all"."""
    stmt = restrict(select(Meeting), Meeting.project_id, user).options(
        joinedload(Meeting.project), selectinload(Meeting.issues))
    if voided == "only":
        stmt = stmt.where(Meeting.voided_at.is_not(None))
    elif voided != "all":
        stmt = stmt.where(Meeting.voided_at.is_(None))
    if project_id:
        stmt = stmt.where(Meeting.project_id == int(project_id))
    if year:
        stmt = stmt.where(Meeting.held_on >= date(year, 1, 1), Meeting.held_on < date(year + 1, 1, 1))
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Meeting.title.ilike(like, escape="\\"), Meeting.topics.ilike(like, escape="\\"),
                              Meeting.minutes.ilike(like, escape="\\")))
    return stmt.order_by(Meeting.held_on.desc(), Meeting.id.desc())


def with_details(stmt):
    """``stmt`` (from :func:`list_meetings`) also loading what the JSON and the export show of each
    meeting — staff, and each issue's category and register entry — in a fixed number of queries."""
    issues = selectinload(Meeting.issues)
    return stmt.options(issues.joinedload(MeetingIssue.category), issues.joinedload(MeetingIssue.entry),
                        selectinload(Meeting.staff))


def years_with_meetings(user) -> list[int]:
    stmt = restrict(select(extract("year", Meeting.held_on)).distinct(), Meeting.project_id, user)
    return sorted((int(y) for y in db.session.execute(stmt).scalars() if y is not None), reverse=True)
