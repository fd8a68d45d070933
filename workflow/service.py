"""Opening reviews, their people and moving them through the cycle.

Entry points for views, the API, the CLI, the scheduler and the listeners. Every change is
audited (``review.*``) and written to the review's timeline in the same transaction. Public
functions commit; the ``*_in_transaction`` variants do not, for callers that commit themselves
(a signal receiver inside the sender's transaction, the scheduler's savepoints).

Who may do what:

* **run** the review (move it, add people, decide, implement, cancel): its chair, or anyone with
  ``reviews.manage``;
* **take part** (edit the draft, propose, comment, sign): its participants (the chair is one);
* **read** it: anyone with ``reviews.participate`` or ``reviews.manage``, and its participants.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from accounts.models import User
from accounts.permissions import PARTICIPANT_CATEGORIES
from audit import service as audit
from procedures.models import Procedure
from procedures.permissions import REVIEWS_MANAGE, REVIEWS_PARTICIPATE
from records.numbering import next_value
from webapp import dates
from webapp.db import utcnow
from webapp.exceptions import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from webapp.extensions import db
from webapp.i18n import REQUIRED, _l
from workflow import pages, states
from workflow.models import Review, ReviewEvent, ReviewItem, ReviewParticipant, ReviewSequence, ReviewTrigger
from workflow.settings import setting

#: Longest title, reason or note accepted.
MAX_TITLE = 200
MAX_REASON = 4000
#: How many procedures one review may cover.
MAX_ITEMS = 50

KIND_LABELS = {"periodic": _l("Periodic review"), "incident": _l("Incident review")}
TRIGGER_LABELS = {
    "schedule": _l("Review schedule"),
    "complaint": _l("Complaint"),
    "action": _l("Corrective action"),
    "meeting_issue": _l("Committee-meeting issue"),
    "person": _l("Request"),
}

EVENT_LABELS = {
    "opened": _l("Review opened"),
    "trigger_added": _l("Trigger added"),
    "participant_added": _l("Participant added"),
    "participant_removed": _l("Participant removed"),
    "moved": _l("Moved"),
    "draft_saved": _l("Draft saved"),
    "proposed": _l("Proposal filed"),
    "commented": _l("Comment"),
    "comment_resolved": _l("Comment resolved"),
    "comment_reopened": _l("Comment reopened"),
    "meeting_recorded": _l("Meeting recorded"),
    "signed": _l("Signed"),
    "signoff_voided": _l("Signature voided"),
    "decided": _l("Decision recorded"),
    "merge_conflict": _l("Merge conflict"),
    "conflict_resolved": _l("Conflict resolved"),
    "implemented": _l("Implemented"),
    "reminded": _l("Reminder sent"),
}


@dataclass(frozen=True)
class TriggerData:
    """What opened a review: ``source_type`` (one of ``TRIGGER_TYPES``), the record's id and label
    (e.g. its number), and the written reason."""

    source_type: str
    reason: str = ""
    source_id: int | None = None
    label: str = ""


# ---------------------------------------------------------------------------
# access
# ---------------------------------------------------------------------------


def participant_of(review: Review, user) -> ReviewParticipant | None:
    uid = getattr(user, "id", None)
    return next((p for p in review.participants if p.user_id == uid), None)


def can_run(review: Review, user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        review.chair_id == user.id or user.can(REVIEWS_MANAGE))


def can_take_part(review: Review, user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and participant_of(review, user) is not None


def can_read(review: Review, user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        user.can(REVIEWS_PARTICIPATE) or user.can(REVIEWS_MANAGE) or participant_of(review, user) is not None)


def can_chair(user) -> bool:
    """Who may chair a review: a document controller (``reviews.manage``) or a manager."""
    return bool(user is not None and user.active and (user.can(REVIEWS_MANAGE) or user.has_role("manager")))


def check_participant(user, category: str, *, field: str = "user") -> None:
    """Refuse a person who cannot take part: disabled, without the permission, or no valid category."""
    if category not in PARTICIPANT_CATEGORIES:
        msg = _l("Choose a participant category.")
        raise ValidationError(msg, errors={"category" if field == "user" else field: [msg]})
    if not user.active:
        msg = _l("This account is disabled.")
        raise ValidationError(msg, errors={field: [msg]})
    if not (user.can(REVIEWS_PARTICIPATE) or user.can(REVIEWS_MANAGE)):
        msg = _l("%(name)s may not take part in reviews (the role lacks that permission).", name=user.display_name)
        raise ValidationError(msg, errors={field: [msg]})


def check_run(review: Review, user) -> None:
    if not can_run(review, user):
        raise PermissionDenied(_l("Only the chair of %(number)s or a document controller can do this.",
                                  number=review.number))


def check_take_part(review: Review, user) -> None:
    if not can_take_part(review, user):
        raise PermissionDenied(_l("Only the participants of %(number)s can do this.", number=review.number))


def get_review(number: str, user=None) -> Review:
    """The review ``R-2026-014`` (NotFound when it does not exist or ``user`` may not read it)."""
    review = db.session.execute(select(Review).where(Review.number == str(number or "").upper()[:20])).scalar_one_or_none()
    if review is None or (user is not None and not can_read(review, user)):
        raise NotFound(_l("There is no review %(number)s.", number=str(number)[:20]))
    return review


def get_review_by_id(review_id: int) -> Review | None:
    return db.session.get(Review, review_id)


# ---------------------------------------------------------------------------
# timeline and audit
# ---------------------------------------------------------------------------


def record_step(review: Review, action: str, actor, *, from_state: str | None = None, to_state: str | None = None,
                note: str = "", before=None, after=None, at: datetime | None = None) -> None:
    """One timeline entry and one audit entry (``review.<action>``) in the current transaction."""
    pages.changed()
    db.session.add(ReviewEvent(review_id=review.id, actor_id=getattr(actor, "id", None), action=action,
                         from_state=from_state, to_state=to_state, note=note[:MAX_REASON], at=at or utcnow()))
    audit.record(f"review.{action}", review, before=before, after=after, reason=note[:MAX_REASON], actor=actor)


def commit(review: Review | None = None) -> None:
    """Commit; a concurrent change of the same review is a Conflict (reload and try again)."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(_l("Someone else changed this review meanwhile; reload the page and try again.")) from None


def check_version(review: Review, version) -> None:
    """Refuse a form built from an older state of the review (409)."""
    if version in (None, ""):
        return
    try:
        ok = int(version) == review.version
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise Conflict(_l("Someone else changed this review meanwhile; reload the page and try again."))


# ---------------------------------------------------------------------------
# opening
# ---------------------------------------------------------------------------


def _number(now: datetime) -> str:
    year = now.astimezone(dates.zone()).year
    return f"R-{year}-{next_value(ReviewSequence, f'R-{year}'):03d}"


def _clean_codes(codes: Iterable[str]) -> list[Procedure]:
    wanted = list(dict.fromkeys(str(c or "").strip().upper() for c in codes if str(c or "").strip()))
    if not wanted:
        raise ValidationError(_l("Choose at least one procedure."), errors={"codes": [_l("Choose at least one procedure.")]})
    if len(wanted) > MAX_ITEMS:
        msg = _l("A review covers at most %(n)d procedures.", n=MAX_ITEMS)
        raise ValidationError(msg, errors={"codes": [msg]})
    procs = {p.code: p for p in db.session.scalars(select(Procedure).where(Procedure.code.in_(wanted)))}
    unknown = [c for c in wanted if c not in procs or procs[c].removed]
    if unknown:
        msg = _l("There is no procedure %(code)s.", code=", ".join(unknown)[:200])
        raise ValidationError(msg, errors={"codes": [msg]})
    withdrawn = [c for c in wanted if procs[c].status == "withdrawn"]
    if withdrawn:
        msg = _l("%(code)s is withdrawn and cannot be reviewed.", code=", ".join(withdrawn))
        raise ValidationError(msg, errors={"codes": [msg]})
    return [procs[c] for c in wanted]


def check_text(value, field: str, *, required: bool = True, limit: int = MAX_REASON, message=None) -> str:
    text = str(value or "").replace("\r\n", "\n").strip()
    if required and not text:
        msg = message or REQUIRED
        raise ValidationError(msg, errors={field: [msg]})
    if len(text) > limit:
        msg = _l("At most %(n)d characters.", n=limit)
        raise ValidationError(msg, errors={field: [msg]})
    return text


def default_category(user: User) -> str:
    """The participant category of a user: their own, else management for managers, else frontline."""
    if user.participant_category in PARTICIPANT_CATEGORIES:
        return user.participant_category
    return "management" if user.has_role("manager") else "frontline"


def open_in_transaction(*, kind: str, codes: Iterable[str], chair: User, actor, trigger: TriggerData,
                        title: str = "", participants: Mapping[User, str] | None = None,
                        due_on: date | None = None, schedule_key: str | None = None,
                        department: str | None = None, now: datetime | None = None) -> Review:
    """Open a review without committing (Conflict when a procedure is already under an open review).

    The rows are written inside a savepoint, so a refused opening leaves the caller's transaction usable.
    """
    now = now or utcnow()
    if kind not in ("periodic", "incident"):
        raise ValidationError(_l("Choose the kind of review."), errors={"kind": [_l("Choose the kind of review.")]})
    procs = _clean_codes(codes)
    if not can_chair(chair):
        msg = _l("The chair must be a document controller or a manager.")
        raise ValidationError(msg, errors={"chair": [msg]})
    reason = check_text(trigger.reason, "reason", required=trigger.source_type == "person",
                        message=_l("Say why this review is needed."))
    title = check_text(title or " / ".join(f"{p.code} {p.title}" for p in procs)[:MAX_TITLE], "title",
                       limit=MAX_TITLE)
    people = {chair: default_category(chair)}
    for user, category in (participants or {}).items():
        check_participant(user, category, field="participants")
        people[user] = category
    try:
        with db.session.begin_nested():
            review = Review(number=_number(now), kind=kind, state="propose", title=title, chair_id=chair.id,
                            department=department, schedule_key=schedule_key, due_on=due_on,
                            step_due_on=dates.local_today() + _step_days(), created_at=now,
                            created_by_id=getattr(actor, "id", None), state_changed_at=now)
            db.session.add(review)
            for p in procs:
                review.items.append(ReviewItem(code=p.code, open_code=p.code, title=p.title,
                                               version_before=p.version))
            for user, category in people.items():
                review.participants.append(ReviewParticipant(user_id=user.id, category=category, added_at=now))
            review.triggers.append(ReviewTrigger(source_type=trigger.source_type, source_id=trigger.source_id,
                                           label=trigger.label[:120], reason=reason,
                                           created_by_id=getattr(actor, "id", None), created_at=now))
            db.session.flush()
    except IntegrityError:
        busy = open_review_for(procs[0].code) if len(procs) == 1 else None
        raise Conflict(_l("%(code)s is already under review in %(number)s.", code=procs[0].code,
                          number=busy.number if busy else "…") if busy else
                       _l("One of these procedures is already under an open review (or the schedule opened "
                          "this review already)."), review=busy.number if busy else None) from None
    record_step(review, "opened", actor, to_state="propose", note=reason,
                after={"number": review.number, "kind": kind, "codes": [p.code for p in procs],
                       "trigger": trigger.source_type, "chair": chair.login}, at=now)
    from workflow import notices
    notices.review_opened(review)
    return review


def open_review(**kwargs) -> Review:
    """Open a review and commit (see :func:`open_in_transaction` for the arguments)."""
    review = open_in_transaction(**kwargs)
    commit(review)
    return review


def first_department(code: str) -> str | None:
    """The first department a procedure names (whose head is asked to sign and is reminded)."""
    departments = db.session.scalar(select(Procedure.departments).where(Procedure.code == code)) or []
    return departments[0] if departments else None


def open_review_for(code: str) -> Review | None:
    """The open review covering ``code``, if any."""
    return db.session.execute(select(Review).join(ReviewItem).where(ReviewItem.open_code == code)).scalar_one_or_none()


def add_trigger_in_transaction(review: Review, trigger: TriggerData, *, actor, now: datetime | None = None) -> None:
    """Link one more trigger to an open review (a complaint about a procedure already under review);
    a periodic review that an incident joins becomes an incident review."""
    now = now or utcnow()
    review.triggers.append(ReviewTrigger(source_type=trigger.source_type, source_id=trigger.source_id,
                                   label=trigger.label[:120], reason=check_text(trigger.reason, "reason", required=False),
                                   created_by_id=getattr(actor, "id", None), created_at=now))
    before = review.kind
    if trigger.source_type != "schedule":
        review.kind = "incident"
    db.session.flush()
    record_step(review, "trigger_added", actor, note=f"{trigger.source_type} {trigger.label}".strip(),
                before={"kind": before}, after={"kind": review.kind, "trigger": trigger.source_type}, at=now)


def _step_days() -> timedelta:
    """How long each step may take before reminders start (setting ``REVIEW_STEP_DAYS``)."""
    return timedelta(days=setting("REVIEW_STEP_DAYS"))


# ---------------------------------------------------------------------------
# people
# ---------------------------------------------------------------------------


def add_participant(review: Review, user: User, category: str, *, actor, version=None) -> ReviewParticipant:
    """Add ``user`` in ``category`` (or change their category); run-permission."""
    check_run(review, actor)
    states.check_step(review.state, "participants")
    check_version(review, version)
    check_participant(user, category)
    existing = participant_of(review, user)
    before = existing.category if existing else None
    if existing:
        existing.category = category
        participant = existing
    else:
        participant = ReviewParticipant(user_id=user.id, category=category, added_at=utcnow())
        review.participants.append(participant)
    review.state_changed_at = review.state_changed_at  # bump the optimistic lock with the change
    db.session.flush()
    record_step(review, "participant_added", actor, note=f"{user.display_name} ({category})",
                before={"user": user.login, "category": before}, after={"user": user.login, "category": category})
    from workflow import notices
    notices.participant_added(review, user)
    commit(review)
    return participant


def remove_participant(review: Review, user: User, *, actor, version=None) -> None:
    check_run(review, actor)
    states.check_step(review.state, "participants")
    check_version(review, version)
    existing = participant_of(review, user)
    if existing is None:
        raise NotFound(_l("%(name)s is not a participant.", name=user.display_name))
    if user.id == review.chair_id:
        raise InvalidTransition(_l("The chair stays a participant; choose another chair first."))
    review.participants.remove(existing)
    db.session.flush()
    record_step(review, "participant_removed", actor, note=user.display_name,
                before={"user": user.login, "category": existing.category}, after=None)
    commit(review)


# ---------------------------------------------------------------------------
# moving through the cycle
# ---------------------------------------------------------------------------


def move_in_transaction(review: Review, target: str, *, actor, note: str = "", now: datetime | None = None) -> None:
    """Move ``review`` to ``target`` after the cycle's checks; no permission check, no commit."""
    now = now or utcnow()
    states.check_move(review.state, target)
    before = review.state
    review.state, review.state_changed_at = target, now
    review.step_due_on = dates.local_today() + _step_days() if target in ("propose", "discuss", "decide",
                                                                            "implement") else None
    if target in ("closed", "cancelled"):
        review.closed_at = now
        for item in review.items:
            item.open_code = None
    db.session.flush()
    record_step(review, "moved", actor, from_state=before, to_state=target, note=note,
                before={"state": before}, after={"state": target}, at=now)
    from workflow import notices
    notices.state_changed(review, before)


def move(review: Review, target: str, *, actor, version=None, note: str = "") -> Review:
    """The chair moves the review one step (forward, or back to an earlier step with a note).

    Moving to ``implement`` needs the decision (:func:`workflow.deciding.check_ready`); ``closed`` is
    reached only by implementing (:func:`workflow.releasing.implement`), ``cancelled`` by :func:`cancel`.
    """
    check_run(review, actor)
    check_version(review, version)
    if target in ("closed", "cancelled"):
        raise InvalidTransition(_l("A review is closed by implementing it, or cancelled with a reason."))
    note = check_text(note, "note", required=False)
    states.check_move(review.state, target)
    if target == "implement":
        from workflow import deciding
        deciding.check_ready(review)
    if target == "decide":
        from workflow import drafts
        drafts.ensure_branch(review)
    move_in_transaction(review, target, actor=actor, note=note)
    commit(review)
    return review


def cancel(review: Review, *, reason: str, actor, version=None) -> Review:
    """Cancel an open review with a written reason (kept; the draft branch stays in the store)."""
    check_run(review, actor)
    check_version(review, version)
    reason = check_text(reason, "reason", message=_l("Say why the review is cancelled."))
    states.check_move(review.state, "cancelled")
    review.cancel_reason = reason
    move_in_transaction(review, "cancelled", actor=actor, note=reason)
    commit(review)
    return review


def reviews_of(code: str, *, limit: int = 50) -> list[Review]:
    """The reviews covering procedure ``code``, newest first."""
    return list(db.session.scalars(select(Review).join(ReviewItem).where(ReviewItem.code == code)
                                   .order_by(Review.id.desc()).limit(limit)))


def reviews_for_source(source_type: str, source_id: int) -> list[Review]:
    """The reviews a record (complaint, action, meeting issue) triggered."""
    return list(db.session.scalars(select(Review).join(ReviewTrigger).where(ReviewTrigger.source_type == source_type,
                                                                      ReviewTrigger.source_id == source_id)
                                   .order_by(Review.id)))


def default_chair(codes: Iterable[str] = ()) -> User | None:
    """Who chairs a review nobody chose a chair for (the schedule's, a record's): the setting
    ``REVIEW_DEFAULT_CHAIR``, else the owner of the first procedure if they may run reviews, else the
    first active document controller, else the first active manager."""
    login = setting("REVIEW_DEFAULT_CHAIR").strip().lower()
    candidates = [login] if login else []
    owners = db.session.scalars(select(Procedure.owner).where(Procedure.code.in_(list(codes)))).all()
    candidates += [o.lower() for o in owners if o]
    for name in candidates:
        user = db.session.execute(select(User).where(User.login == name)).scalar_one_or_none()
        if can_chair(user):
            return user
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
    return next((u for u in users if u.has_role("controller")), None) or \
        next((u for u in users if can_chair(u)), None)
