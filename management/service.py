"""The management review record: one per year, saved while a draft, approved once, never deleted.

Every save and the approval are audited in the same transaction (before/after, and at approval the figures
the meeting reviewed); saves carry the version the editor started from, so a stale page gets a Conflict
instead of overwriting a colleague's work.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from actions.models import Action
from audit import service as audit
from management import report
from management.models import FOLLOW_UP_STATES, ITEM_KINDS, ManagementReview, ManagementReviewItem
from records import validation as v
from satisfaction.complaints.models import Complaint
from satisfaction.surveys.models import SurveyCampaign
from webapp.dates import date_bounds, local_today
from webapp.db import utcnow
from webapp.exceptions import Conflict, InvalidTransition, NotFound, ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.locking import check_version, write_or_conflict
from workflow.models import Review

FIELDS = ("year", "state", "held_on", "attendees", "conclusions", "follow_up", "approved_by_id", "approved_name",
          "approved_at")
ITEM_FIELDS = ("id", "kind", "text", "responsible", "due_on", "action_id")
MAX_ITEMS = 50
TEXT_MAX = 20_000
#: How far back the index lists years with no records at all.
INDEX_YEARS = 20

STALE = _l("Someone else changed this management review after you opened it. Reload it and try again.")
APPROVED = _l("This management review has been approved; it can no longer be changed.")
UNKNOWN_ACTION = _l("No corrective or preventive action has this number.")
ITEM_KIND_LABELS = {
    "improvement": _l("Opportunity for improvement"),
    "change": _l("Change to the quality management system"),
    "resource": _l("Resource need"),
    "decision": _l("Other decision"),
}
FOLLOW_UP_LABELS = {
    "open": _l("Not started"),
    "in_progress": _l("In progress"),
    "done": _l("Done"),
    "dropped": _l("Dropped"),
}
STATE_LABELS = {"draft": _l("Draft"), "approved": _l("Approved")}
#: "CA-00012", "PA-12" or "12".
_ACTION_NUMBER = re.compile(r"\A(?:(CA|PA)-?)?0*(\d{1,9})\Z", re.IGNORECASE)


def check_year(year: int, today: date | None = None) -> int:
    """``year`` when it can have a review (from the earliest accepted date to this year), else NotFound."""
    today = today or local_today()
    if not date_bounds(today)[0].year <= year <= today.year:
        raise NotFound(_l("There is no management review for this year."))
    return year


def get_record(year: int) -> ManagementReview | None:
    return db.session.execute(select(ManagementReview).where(ManagementReview.year == year)).scalar_one_or_none()


@dataclass
class YearRow:
    year: int
    record: ManagementReview | None


def years(today: date | None = None) -> list[YearRow]:
    """Every year from the first with any record (at most :data:`INDEX_YEARS` back) to this one, newest
    first, with its management review record if there is one."""
    today = today or local_today()
    earliest = date_bounds(today)[0].year
    found = [db.session.execute(select(func.min(SurveyCampaign.year))).scalar(),
             db.session.execute(select(func.min(ManagementReview.year))).scalar()]
    for column in (Complaint.received_at, Action.created_at, Review.closed_at):
        first = db.session.execute(select(func.min(column))).scalar()
        found.append(first.year if first else None)
    first = max(earliest, today.year - INDEX_YEARS + 1, min([y for y in found if y] or [today.year]))
    records = {r.year: r for r in db.session.execute(
        select(ManagementReview).where(ManagementReview.year >= first)).scalars()}
    return [YearRow(y, records.get(y)) for y in range(today.year, first - 1, -1)]


def snapshot(record: ManagementReview) -> dict:
    """The record with its decisions, for the audit log's before/after."""
    data = audit.snapshot(record, FIELDS)
    data["items"] = [audit.snapshot(item, ITEM_FIELDS) for item in record.items]
    return data


def _action_id(raw, key: str, errors: dict) -> int | None:
    """The action named ``CA-00012`` / ``PA-00013`` (or its bare number); voided ones are refused."""
    raw = str(raw or "").strip()
    if not raw:
        return None
    match = _ACTION_NUMBER.match(raw)
    action = db.session.get(Action, int(match.group(2))) if match else None
    prefix = (match.group(1) or "").upper() if match else ""
    if action is None or action.voided_at is not None or (prefix and prefix != action.number[:2]):
        v.add_error(errors, key, UNKNOWN_ACTION)
        return None
    return action.id


def _items(raw, errors: dict) -> list[dict]:
    """Clean decision rows ``[{"id"?, "kind", "text", "responsible", "due_on", "action"}]``; blank rows
    are dropped."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list | tuple):
        v.add_error(errors, "items", _l("Decisions must be a list."))
        return []
    rows = []
    for n, item in enumerate(raw):
        if not isinstance(item, dict):
            v.add_error(errors, "items", _l("Decisions must be a list."))
            continue
        if not any(str(item.get(k) or "").strip() for k in ("text", "responsible", "due_on", "action")):
            continue  # an empty row of the form
        found: dict = {}
        text = v.text(item, "text", found, required=True, max_len=4000)
        responsible = v.text(item, "responsible", found, max_len=120)
        kind = str(item.get("kind") or "").strip()
        if kind not in ITEM_KINDS:
            v.add_error(found, "kind", _l("Choose what the decision is about."))
        due_on = v.day(item, "due_on", found)
        action_id = _action_id(item.get("action"), "action", found)
        for key, messages in found.items():
            for message in messages:
                v.add_error(errors, f"items-{n}-{key}", message)
        ident = item.get("id")
        rows.append({"id": int(ident) if str(ident or "").isdecimal() else None, "kind": kind, "text": text,
                     "responsible": responsible, "due_on": due_on, "action_id": action_id})
    if len(rows) > MAX_ITEMS:
        v.add_error(errors, "items", _l("At most %(n)d decisions per review.", n=MAX_ITEMS))
    return rows


def _follow_up(raw, year: int, errors: dict) -> dict:
    """Clean ``{item id: {"state", "note"}}`` about the previous year's decisions; empty ones are dropped."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        v.add_error(errors, "follow_up", _l("The follow-up must name the previous review's decisions."))
        return {}
    _record, items = report.previous_items(year)
    known = {str(item.id) for item in items}
    clean = {}
    for key, value in raw.items():
        value = value if isinstance(value, dict) else {}
        found: dict = {}
        state = str(value.get("state") or "").strip()
        note = v.text(value, "note", found, max_len=2000)
        if not state and not note:
            continue
        if str(key) not in known:
            v.add_error(errors, "follow_up", _l("The follow-up must name the previous review's decisions."))
            continue
        if state and state not in FOLLOW_UP_STATES:
            v.add_error(found, "state", _l("Choose a state."))
        for name, messages in found.items():
            for message in messages:
                v.add_error(errors, f"follow_up-{key}-{name}", message)
        clean[str(key)] = {"state": state, "note": note}
    return clean


def clean(data: dict, year: int) -> dict:
    """Validate the record's input (form or API); ValidationError with every problem at once."""
    errors: dict = {}
    values = {
        "held_on": v.day(data, "held_on", errors, not_future=True),
        "attendees": v.text(data, "attendees", errors, max_len=4000),
        "conclusions": v.text(data, "conclusions", errors, max_len=TEXT_MAX),
        "items": _items(data.get("items"), errors),
        "follow_up": _follow_up(data.get("follow_up"), year, errors),
    }
    v.raise_errors(errors)
    return values


def _check_editable(record: ManagementReview, version) -> None:
    if record.approved:
        raise InvalidTransition(APPROVED)
    check_version(record, version, STALE)


def save(year: int, data: dict, *, actor, version=None) -> ManagementReview:
    """Create or update the record of ``year`` with the meeting's date, attendees, conclusions, decisions
    and the follow-up of the previous review's decisions; audited, committed. ``version``: the version the
    editor started from (None when the page had no record yet: then a record made meanwhile is a Conflict).
    """
    check_year(year)
    record = get_record(year)
    if record is not None:
        if version in (None, ""):
            raise Conflict(STALE, current_version=record.version)
        _check_editable(record, version)
    values = clean(data, year)
    before = snapshot(record) if record is not None else None
    now = utcnow()
    if record is None:
        record = ManagementReview(year=year, state="draft", created_at=now, created_by_id=getattr(actor, "id", None),
                                  approved_name="")
        db.session.add(record)
    for key in ("held_on", "attendees", "conclusions", "follow_up"):
        setattr(record, key, values[key])
    record.updated_at, record.updated_by_id = now, getattr(actor, "id", None)
    existing = {item.id: item for item in record.items}
    kept = []
    for position, row in enumerate(values["items"]):
        item = existing.get(row["id"]) if row["id"] else None
        if item is None:
            item = ManagementReviewItem()
        for key in ("kind", "text", "responsible", "due_on", "action_id"):
            setattr(item, key, row[key])
        item.position = position
        kept.append(item)
    record.items = kept
    try:
        write_or_conflict(STALE)
    except IntegrityError:  # two people recorded the year's first version at once: the second reloads
        db.session.rollback()
        raise Conflict(STALE) from None
    audit.record("management_review.updated" if before else "management_review.created", record, before=before,
                 after=snapshot(record), actor=actor)
    db.session.commit()
    return record


def approve(year: int, *, actor, version) -> ManagementReview:
    """Approve (close) the record: the meeting's date and attendees are required; the approver's name and
    the time are kept, and the audit entry holds the figures the meeting reviewed. Nothing changes after."""
    record = get_record(check_year(year))
    if record is None:
        raise NotFound(_l("Save the meeting's record before approving it."))
    if version in (None, ""):
        raise Conflict(STALE, current_version=record.version)
    _check_editable(record, version)
    errors: dict = {}
    if record.held_on is None:
        v.add_error(errors, "held_on", _l("Enter the date of the meeting before approving."))
    if not record.attendee_list:
        v.add_error(errors, "attendees", _l("Name the attendees before approving."))
    if errors:
        raise ValidationError(next(iter(errors.values()))[0], errors=errors)
    before = snapshot(record)
    record.state = "approved"
    record.approved_by_id = actor.id
    record.approved_name = (actor.display_name or actor.login)[:120]
    record.approved_at = record.updated_at = utcnow()
    record.updated_by_id = actor.id
    write_or_conflict(STALE)
    figures = report.build(year, record).as_dict()
    audit.record("management_review.approved", record, before=before, after={**snapshot(record), "figures": figures},
                 actor=actor)
    db.session.commit()
    return record

