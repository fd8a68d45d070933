"""The review schedule: open the periodic reviews that fall due, remind the people a late step waits for.

``flask reviews schedule`` and ``flask reviews remind`` run these daily from cron, possibly on several
hosts at the same moment. The database decides who wins: ``Review.schedule_key`` and
``ReviewItem.open_code`` are unique, so each periodic review opens once (the loser's group is rolled
back and reported as skipped), and the reminders' dedupe keys let each one go out once a day.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from accounts.models import Department, User
from accounts.permissions import PARTICIPANT_CATEGORIES
from procedures.models import Procedure
from procedures.permissions import REVIEWS_MANAGE, REVIEWS_PARTICIPATE
from webapp import dates
from webapp.exceptions import Conflict, ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from workflow import drafts, notices, service
from workflow.models import OPEN_STATES, Review, ReviewItem, ReviewParticipant, ReviewSignOff
from workflow.settings import setting

GROUPINGS = ("department", "procedure")


@dataclass(frozen=True)
class DueGroup:
    """Procedures that one periodic review covers, as ``(code, next review)`` pairs. ``taken_by`` names
    the review that already used ``key`` (a cancelled one): the group is not opened again."""

    key: str
    department: str | None
    items: tuple[tuple[str, date], ...]
    taken_by: str | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.items)

    @property
    def due_on(self) -> date:
        return min(due for _, due in self.items)

    @property
    def month(self) -> str:
        return f"{self.due_on:%Y-%m}"


@dataclass
class ScheduleResult:
    """The numbers of the reviews opened, and ``(schedule key, reason)`` of the groups skipped (the
    reasons are lazy strings: they read in the language they are printed in)."""

    opened: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class RemindResult:
    """Per review number, how many reminders (and escalations to department heads) went out."""

    reminded: list[tuple[str, int]] = field(default_factory=list)
    escalated: list[tuple[str, int]] = field(default_factory=list)
    overdue: int = 0

    @property
    def sent(self) -> int:
        return sum(n for _, n in self.reminded) + sum(n for _, n in self.escalated)


def first_department(departments) -> str | None:
    """The department a procedure is scheduled and counted under: the first it names."""
    return next((str(d) for d in departments or () if d), None)


def eligible():
    """Procedures a periodic review may cover: current, not withdrawn, not under an open review."""
    under_review = select(ReviewItem.open_code).where(ReviewItem.open_code.is_not(None))
    return select(Procedure).where(Procedure.removed.is_(False), Procedure.status != "withdrawn",
                                   Procedure.code.not_in(under_review))


def _month_end(day: date) -> date:
    return dates.add_months(day.replace(day=1), 1) - timedelta(days=1)


def due_groups(today: date, lead_days: int | None = None, grouping: str | None = None) -> list[DueGroup]:
    """The periodic reviews due by ``today + lead_days`` (settings ``REVIEW_LEAD_DAYS``, ``REVIEW_GROUPING``).

    ``department``: the procedures sharing their first department and falling due in the same calendar
    month form one review — once one of them is within the lead time, its month-mates come along, so
    the month's review is opened once and not piecemeal. ``procedure``: one review per procedure. A
    procedure left out of its department's review (it was under another review then) gets one of its own.
    """
    lead_days = setting("REVIEW_LEAD_DAYS") if lead_days is None else int(lead_days)
    grouping = (grouping or setting("REVIEW_GROUPING")).strip().lower()
    if grouping not in GROUPINGS:
        raise ValidationError(_l("REVIEW_GROUPING must be “department” or “procedure”."))
    horizon = today + timedelta(days=lead_days)
    limit = _month_end(horizon) if grouping == "department" else horizon
    rows = db.session.execute(eligible().with_only_columns(Procedure.code, Procedure.departments, Procedure.next_review)
                              .where(Procedure.next_review <= limit)
                              .order_by(Procedure.next_review, Procedure.code)).all()
    if grouping == "procedure":
        groups = [DueGroup(f"proc:{code}:{due.isoformat()}", first_department(depts), ((code, due),))
                  for code, depts, due in rows]
    else:
        months: dict[tuple[str | None, str], list] = {}
        for code, depts, due in rows:
            months.setdefault((first_department(depts), f"{due:%Y-%m}"), []).append((code, due))
        groups = [DueGroup(f"dept:{dept or '-'}:{month}", dept, tuple(items))
                  for (dept, month), items in months.items() if items[0][1] <= horizon]
    return _without_taken(groups)


def _without_taken(groups: list[DueGroup]) -> list[DueGroup]:
    """Mark the groups whose key an earlier review used; the procedures that review did not cover
    (they were under another review then) are split off, one review each."""
    taken: dict[str, tuple[str, set[str]]] = {}
    if groups:
        for key, number, code in db.session.execute(
                select(Review.schedule_key, Review.number, ReviewItem.code).join(ReviewItem)
                .where(Review.schedule_key.in_([g.key for g in groups]))):
            taken.setdefault(key, (number, set()))[1].add(code)
    out, split = [], []
    for group in groups:
        if group.key not in taken:
            out.append(group)
            continue
        number, covered = taken[group.key]
        out.append(replace(group, taken_by=number))
        if group.key.startswith("dept:"):
            split += [DueGroup(f"proc:{code}:{due.isoformat()}", group.department, ((code, due),))
                      for code, due in group.items if code not in covered]
    return out + (_without_taken(split) if split else [])


def may_take_part(user: User) -> bool:
    return user.active and (user.can(REVIEWS_PARTICIPATE) or user.can(REVIEWS_MANAGE))


def department_people(department: str | None) -> dict[User, str]:
    """The department's active people with a participant category who may take part in reviews."""
    if not department:
        return {}
    users = db.session.scalars(select(User).join(Department, User.department_id == Department.id)
                               .where(Department.code == department, User.active.is_(True),
                                      User.participant_category.in_(list(PARTICIPANT_CATEGORIES)))
                               .order_by(User.id)).all()
    return {u: u.participant_category for u in users if may_take_part(u)}


def schedule(today: date | None = None, *, actor=None) -> ScheduleResult:
    """Open the periodic reviews that fall due (see :func:`due_groups`), each committed on its own.

    A group another process opened meanwhile (the unique schedule key or an open procedure says so)
    is rolled back and listed in ``skipped`` with the reason, as is one nobody can chair.
    """
    today = today or dates.local_today()
    result = ScheduleResult()
    for group in due_groups(today):
        if group.taken_by:
            result.skipped.append((group.key, _l("already opened as %(number)s", number=group.taken_by)))
            continue
        try:
            review = _open(group, actor)
            service.commit(review)
        except (Conflict, ValidationError, IntegrityError) as exc:
            db.session.rollback()
            result.skipped.append((group.key, getattr(exc, "message", None) or _l("opened meanwhile")))
        else:
            result.opened.append(review.number)
    return result


def _open(group: DueGroup, actor) -> Review:
    chair = service.default_chair(group.codes)
    if chair is None:
        raise ValidationError(_l("Nobody can chair the review: give a document controller or a manager an "
                                 "account first."))
    people = {u: c for u, c in department_people(group.department).items() if u.id != chair.id}
    reason = _l("Periodic review falling due on %(date)s: %(codes)s", date=group.due_on.isoformat(),
                codes=", ".join(group.codes))
    return service.open_in_transaction(
        kind="periodic", codes=group.codes, chair=chair, actor=actor, participants=people,
        trigger=service.TriggerData("schedule", reason=str(reason)[:service.MAX_REASON], label=group.month),
        due_on=group.due_on, schedule_key=group.key, department=group.department)


# ---------------------------------------------------------------------------
# reminders
# ---------------------------------------------------------------------------


def must_act(state: str, *, chair: bool, signed: bool) -> bool:
    """Whether a participant must act in ``state``: everyone proposes and discusses; in the decision
    those who have not signed the current draft; the chair implements."""
    if state in ("propose", "discuss"):
        return True
    if state == "decide":
        return not signed
    return state == "implement" and chair


def waiting_clause(user_id: int):
    """:func:`must_act` in SQL, over :class:`Review`: the open reviews where the user takes part and must act
    now (the dashboard's "my reviews", the register's ``?waiting=me`` and the workbench count it alike)."""
    takes_part = select(ReviewParticipant.id).where(ReviewParticipant.review_id == Review.id,
                                                    ReviewParticipant.user_id == user_id).exists()
    signed = select(ReviewSignOff.id).where(ReviewSignOff.review_id == Review.id, ReviewSignOff.user_id == user_id,
                                            ReviewSignOff.voided_at.is_(None)).exists()
    return and_(takes_part, or_(Review.state.in_(("propose", "discuss")), and_(Review.state == "decide", ~signed),
                                and_(Review.state == "implement", Review.chair_id == user_id)))


def remind(today: date | None = None) -> RemindResult:
    """Remind the people an overdue step waits for (``step_due_on`` before ``today``), once a day; from
    ``REVIEW_ESCALATE_DAYS`` days overdue also the head(s) of the review's department. Each review that
    sent something gets a ``reminded`` step on its timeline; committed per review."""
    today = today or dates.local_today()
    reviews = db.session.scalars(select(Review).where(Review.state.in_(OPEN_STATES), Review.step_due_on < today)
                                 .options(selectinload(Review.participants).selectinload(ReviewParticipant.user),
                                          selectinload(Review.items))
                                 .order_by(Review.id)).all()
    result = RemindResult(overdue=len(reviews))
    if not reviews:
        return result
    escalate_after = setting("REVIEW_ESCALATE_DAYS")
    signed = _signed(reviews)
    departments = review_departments(reviews)
    heads = _heads()
    for review in reviews:
        overdue = (today - review.step_due_on).days
        waiting = [p.user for p in review.participants
                   if must_act(review.state, chair=p.user_id == review.chair_id,
                               signed=p.user_id in signed.get(review.id, ()))]
        # A head who is told of the escalation needs no plain reminder the same day as well.
        bosses = heads.get(departments.get(review.id), []) if overdue >= escalate_after else []
        boss_ids = {u.id for u in bosses}
        sent = notices.reminder(review, [u for u in waiting if u.id not in boss_ids], overdue_days=overdue,
                                escalated=False, day=today.isoformat())
        escalated = notices.reminder(review, bosses, overdue_days=overdue, escalated=True,
                                     day=today.isoformat()) if bosses else 0
        if sent or escalated:
            result.reminded.append((review.number, sent))
            if escalated:
                result.escalated.append((review.number, escalated))
            service.record_step(review, "reminded", None, note=str(_l(
                "%(days)d days overdue: %(sent)d reminded, %(escalated)d escalated", days=overdue, sent=sent,
                escalated=escalated)))
        service.commit(review)
    return result


def _signed(reviews: list[Review]) -> dict[int, set[int]]:
    """Who holds a valid sign-off on the current draft tip, per review in the decision step."""
    deciding = {r.id: drafts.tip(r) for r in reviews if r.state == "decide"}
    out: dict[int, set[int]] = {}
    if deciding:
        for review_id, user_id, commit in db.session.execute(
                select(ReviewSignOff.review_id, ReviewSignOff.user_id, ReviewSignOff.commit)
                .where(ReviewSignOff.review_id.in_(list(deciding)), ReviewSignOff.voided_at.is_(None))):
            if commit == deciding[review_id]:
                out.setdefault(review_id, set()).add(user_id)
    return out


def review_departments(reviews) -> dict[int, str | None]:
    """Each review's department: its own, else the first department of its first procedure (one query)."""
    out = {r.id: r.department for r in reviews}
    missing = [r.id for r in reviews if not r.department]
    if missing:
        for review_id, depts in db.session.execute(
                select(ReviewItem.review_id, Procedure.departments).join(Procedure, Procedure.code == ReviewItem.code)
                .where(ReviewItem.review_id.in_(missing)).order_by(ReviewItem.review_id, ReviewItem.code)):
            if not out.get(review_id):
                out[review_id] = first_department(depts)
    return out


def _heads() -> dict[str, list[User]]:
    """Active department heads by department code."""
    out: dict[str, list[User]] = {}
    for user, code in db.session.execute(select(User, Department.code).join(Department, User.department_id == Department.id)
                                         .where(User.active.is_(True), User.participant_category == "dept_head")
                                         .order_by(User.id)):
        out.setdefault(code, []).append(user)
    return out
