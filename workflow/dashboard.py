"""The reviews dashboard: my reviews, due soon, overdue, in progress, recently closed, per department,
and the half-year calendar — from a fixed handful of queries, however many rows there are."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from accounts.cache import STAMP as ACCOUNTS_STAMP
from accounts.models import Department, User
from procedures.models import Procedure
from support.caching import LockedLRU
from webapp import dates
from webapp.extensions import app_state, db
from webapp.i18n import _l
from webapp.store import get_store
from workflow import pages
from workflow.models import OPEN_STATES, Review, ReviewItem
from workflow.schedule import first_department, review_departments, waiting_clause
from workflow.service import KIND_LABELS
from workflow.settings import setting
from workflow.states import STATE_LABELS

#: Months the calendar shows, from the current one.
CALENDAR_MONTHS = 6
RECENTLY_CLOSED = 10
#: Each list shows this many rows and says how many more there are (the counts per department and the
#: register give the rest): a page of thousands of rows helps nobody and took 200 ms to render.
LIST_LIMIT = 50
CALENDAR_LIMIT = 20


class Capped(list):
    """The first rows of a list, and ``total``: how many there were."""

    def __init__(self, rows, limit: int = LIST_LIMIT):
        rows = list(rows)
        super().__init__(rows[:limit])
        self.total = len(rows)

    @property
    def more(self) -> int:
        return self.total - len(self)
#: What a participant must do in each step (the "my reviews" box).
TODO_LABELS = {
    "propose": _l("Propose changes"),
    "discuss": _l("Discuss the proposals"),
    "decide": _l("Sign the draft"),
    "implement": _l("Implement the decision"),
}


@dataclass
class ProcedureDue:
    code: str
    title: str
    department: str | None
    next_review: date
    review: str | None  # the open review covering it


@dataclass
class ReviewRow:
    number: str
    title: str
    kind: str
    state: str
    chair: str
    department: str | None
    due_on: date | None
    step_due_on: date | None
    step_overdue: int  # days the current step is late (0: on time)
    closed_at: datetime | None = None


@dataclass
class Month:
    start: date
    procedures: list[ProcedureDue] = field(default_factory=list)
    reviews: list[ReviewRow] = field(default_factory=list)


@dataclass
class DepartmentRow:
    code: str | None
    label: str
    due: int = 0
    overdue: int = 0
    in_progress: int = 0
    closed: int = 0


def half_year_start(today: date) -> date:
    return date(today.year, 1 if today.month <= 6 else 7, 1)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=dates.zone())


def overview(today: date, user) -> dict:
    """What ``/reviews/`` shows for ``user`` on ``today``: the company-wide part from a per-process cache
    (keyed by the head of ``main``, the ``reviews`` and ``accounts`` change stamps, the day and the
    language: any publish, review step or department rename builds it again), plus the user's own reviews."""
    from flask_babel import get_locale

    store = get_store()
    key = (store.head(), store.stamp(pages.STAMP), store.stamp(ACCOUNTS_STAMP), today,
           setting("REVIEW_LEAD_DAYS"), str(get_locale()))
    cache = app_state("workflow.dashboard", lambda: LockedLRU(8))
    shared = cache.get(key)
    if shared is None:
        shared = _company_wide(today)
        cache.put(key, shared)
    return {**shared, "mine": Capped(_mine(user, today))}


def _company_wide(today: date) -> dict:
    horizon = today + timedelta(days=setting("REVIEW_LEAD_DAYS"))
    first_month = today.replace(day=1)
    months = [Month(dates.add_months(first_month, i)) for i in range(CALENDAR_MONTHS)]
    calendar_end = dates.add_months(first_month, CALENDAR_MONTHS) - timedelta(days=1)

    # open reviews, with their chair's name (1) and the procedures they cover (2)
    open_rows = db.session.execute(
        select(Review, User.display_name).join(User, User.id == Review.chair_id)
        .where(Review.state.in_(OPEN_STATES)).order_by(Review.due_on.is_(None), Review.due_on, Review.id)).all()
    open_reviews = [_row(r, chair, today) for r, chair in open_rows]
    covering = dict(db.session.execute(select(ReviewItem.open_code, Review.number).join(Review)
                                       .where(ReviewItem.open_code.is_not(None))).all())
    # the procedures falling due up to the calendar's end (3)
    procs = [ProcedureDue(code, title, first_department(depts), due, covering.get(code))
             for code, title, depts, due in db.session.execute(
                 select(Procedure.code, Procedure.title, Procedure.departments, Procedure.next_review)
                 .where(Procedure.removed.is_(False), Procedure.status != "withdrawn",
                        Procedure.next_review <= max(horizon, calendar_end))
                 .order_by(Procedure.next_review, Procedure.code))]
    # the latest closed reviews (4); how many closed this half-year, by id and department (5)
    closed_rows = db.session.execute(
        select(Review, User.display_name).join(User, User.id == Review.chair_id)
        .where(Review.state.in_(("closed", "cancelled")), Review.closed_at.is_not(None))
        .order_by(Review.closed_at.desc(), Review.id.desc()).limit(RECENTLY_CLOSED)).all()
    closed = [_row(r, chair, today) for r, chair in closed_rows]
    half_start = half_year_start(today)
    closed_half = db.session.execute(select(Review.id, Review.department).where(
        Review.state == "closed", Review.closed_at >= _local_midnight(half_start))).all()
    # the departments of reviews that have none of their own (6), the departments' names (7)
    depts = review_departments([r for r, _ in open_rows] + [r for r, _ in closed_rows] + closed_half)
    for row, (review, _) in zip(open_reviews + closed, open_rows + closed_rows, strict=True):
        row.department = depts.get(review.id)
    labels = {d.code: d.label for d in db.session.scalars(select(Department).order_by(Department.code))}

    for p in procs:
        if today <= p.next_review <= calendar_end:
            months[_month_index(first_month, p.next_review)].procedures.append(p)
    for r in open_reviews:
        if r.due_on and first_month <= r.due_on <= calendar_end:
            months[_month_index(first_month, r.due_on)].reviews.append(r)

    for m in months:
        m.procedures, m.reviews = Capped(m.procedures, CALENDAR_LIMIT), Capped(m.reviews, CALENDAR_LIMIT)
    return {
        "today": today, "horizon": horizon, "lead_days": (horizon - today).days,
        "due_soon": Capped(p for p in procs if today <= p.next_review <= horizon),
        "overdue": Capped(p for p in procs if p.next_review < today),
        "late_reviews": Capped(r for r in open_reviews if r.step_overdue or (r.due_on and r.due_on < today)),
        "in_progress": {kind: Capped(sorted((r for r in open_reviews if r.kind == kind),
                                            key=lambda r: OPEN_STATES.index(r.state)))
                        for kind in ("incident", "periodic")},
        "closed": closed,
        "departments": _departments(procs, open_reviews, [depts.get(r.id) for r in closed_half], labels, today,
                                    horizon),
        "half_start": half_start,
        "calendar": months,
        "department_labels": labels,
        "state_labels": STATE_LABELS, "kind_labels": KIND_LABELS, "todo_labels": TODO_LABELS,
    }


def _row(review: Review, chair: str, today: date) -> ReviewRow:
    late = (today - review.step_due_on).days if review.is_open and review.step_due_on else 0
    return ReviewRow(review.number, review.title, review.kind, review.state, chair, review.department, review.due_on,
                     review.step_due_on, max(late, 0), review.closed_at)


def _month_index(first: date, day: date) -> int:
    return (day.year - first.year) * 12 + day.month - first.month


def _mine(user, today: date) -> list[tuple[ReviewRow, str]]:
    """The open reviews where ``user`` takes part and must act now (8)."""
    rows = db.session.scalars(select(Review).where(waiting_clause(user.id))
                              .order_by(Review.step_due_on.is_(None), Review.step_due_on, Review.id)).all()
    return [(_row(r, "", today), r.state) for r in rows]


def _departments(procs, open_reviews, closed, labels, today, horizon) -> list[DepartmentRow]:
    """Per department: procedures due soon and overdue, reviews in progress and closed this half-year."""
    rows = {code: DepartmentRow(code, label) for code, label in labels.items()}

    def row(code):
        return rows.setdefault(code, DepartmentRow(code, labels.get(code, code) if code else "—"))

    for p in procs:
        if p.next_review < today:
            row(p.department).overdue += 1
        elif p.next_review <= horizon:
            row(p.department).due += 1
    for r in open_reviews:
        row(r.department).in_progress += 1
    for department in closed:
        row(department).closed += 1
    return sorted((r for r in rows.values() if r.due or r.overdue or r.in_progress or r.closed),
                  key=lambda r: (r.code is None, r.code or ""))
