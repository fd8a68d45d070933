"""The figures of a year's management review, organised by the inputs of ISO 9001 §9.3.2.

(a) the state now of the decisions recorded at the previous year's review; (b) customer satisfaction —
company and project rates with their 95 % Wilson intervals and labels (:mod:`records.stats`) and the trend
over the previous years, from :func:`satisfaction.surveys.rates.year_summary` — and complaints, with the
monthly summary's own definitions (:mod:`satisfaction.complaints.summary`); (c) corrective and preventive
actions per department; (d) procedure reviews closed in the year, the versions they changed, and the
procedures past their next review. Every figure comes from grouped aggregate queries: a fixed number of
queries whatever the number of records.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from accounts.models import Department, Project
from actions.models import Action
from actions.service import KINDS as ACTION_KINDS
from actions.service import OVERDUE_STATUSES, SOURCE_TYPES
from actions.service import STATUSES as ACTION_STATUSES
from management.models import ManagementReview, ManagementReviewItem
from procedures.models import Procedure
from records import stats
from satisfaction.complaints.service import local_midnight
from satisfaction.complaints.summary import DEFINITIONS as COMPLAINT_DEFINITIONS
from satisfaction.complaints.summary import Figures, monthly_summary
from satisfaction.models import ServiceCategory
from satisfaction.surveys.rates import Rates, Targets, year_summary
from webapp.dates import local_today
from webapp.db import utcnow
from webapp.extensions import db
from webapp.i18n import _l
from workflow.models import OPEN_STATES, Review
from workflow.schedule import first_department, review_departments

#: Years the satisfaction trend shows: the report's year and the ones before it.
TREND_YEARS = 5
#: Rows of the overdue-procedure list (the count is always complete).
LIST_LIMIT = 100

LABEL_TEXTS = stats.LABEL_TEXTS
SMALL_SAMPLE_TEXT = stats.SMALL_SAMPLE_TEXT
NO_DEPARTMENT = _l("No department named")

DEFINITIONS = {
    "labels": _l("Each rate carries a label read from its 95 % Wilson interval against the target: met (the whole "
                 "interval at or above it), met, not yet certain (the estimate above, the interval reaching below), "
                 "below, within the noise (the estimate below, the interval reaching the target), below target "
                 "(the whole interval below). Fewer than 30 forms is a small sample. The procedure's rule stays: "
                 "a rate below the target opens a corrective action."),
    "actions": _l("Actions: opened = created in the year; closed = closed out in the year; effective / not effective "
                  "= the latest effectiveness check, made in the year; overdue = opened by the end of the year, not "
                  "yet acted on, due date passed (as of the day the report is made). Voided actions are left out. "
                  "Per department responsible."),
    "reviews": _l("Procedure reviews: closed in the year, with the versions they released; overdue = procedures in "
                  "force whose next review date has passed, and open reviews past their due date (as of the day "
                  "the report is made)."),
}


# ---------------------------------------------------------------------------------------------------------
# rates and intervals


def rate(successes: int, n: int, target: float) -> stats.Rate:
    """:func:`records.stats.rate`, without an interval when the counts cannot be a proportion (more forms
    distributed than households, say, after a correction)."""
    if n > 0 and not 0 <= successes <= n:
        return stats.Rate(successes, n, target, successes / n, None, None, None, n < stats.SMALL_SAMPLE)
    return stats.rate(successes, n, target)


@dataclass(frozen=True)
class Share:
    """A complaint-handling rate (no target in the procedure): its counts and 95 % Wilson interval."""

    successes: int
    n: int

    @property
    def value(self) -> float | None:
        return self.successes / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | tuple[None, None]:
        if not self.n or not 0 <= self.successes <= self.n:
            return None, None
        return stats.wilson(self.successes, self.n)

    def as_dict(self) -> dict:
        low, high = self.interval
        return {"successes": self.successes, "n": self.n, "value": _round(self.value), "low": _round(low),
                "high": _round(high)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _rate_dict(r: stats.Rate) -> dict:
    return {"successes": r.successes, "n": r.n, "value": _round(r.value), "low": _round(r.low),
            "high": _round(r.high), "label": r.label, "small_sample": r.small_sample}


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next year) of a local calendar year, in UTC."""
    return local_midnight(date(year, 1, 1)), local_midnight(date(year + 1, 1, 1))


# ---------------------------------------------------------------------------------------------------------
# (a) the previous review's decisions


@dataclass
class PreviousItem:
    item: ManagementReviewItem
    action: Action | None
    #: What this year's meeting recorded of it (a ``FOLLOW_UP_STATES`` key, or "").
    state: str = ""
    note: str = ""
    action_overdue: bool = False


@dataclass
class PreviousSection:
    year: int
    record: ManagementReview | None
    items: list[PreviousItem]


def previous_items(year: int) -> tuple[ManagementReview | None, list[ManagementReviewItem]]:
    """The previous year's record and its decisions, their actions loaded with them (two queries)."""
    record = db.session.execute(
        select(ManagementReview).where(ManagementReview.year == year - 1)
        .options(selectinload(ManagementReview.items).joinedload(ManagementReviewItem.action))).scalar_one_or_none()
    return record, list(record.items) if record else []


def _previous(year: int, record: ManagementReview | None, today: date) -> PreviousSection:
    before, items = previous_items(year)
    found = (record.follow_up or {}) if record else {}
    rows = []
    for item in items:
        state = found.get(str(item.id)) or {}
        action = item.action
        late = bool(action and action.voided_at is None and action.status in OVERDUE_STATUSES and action.due_on
                    and action.due_on < today)
        rows.append(PreviousItem(item, action, state.get("state", ""), state.get("note", ""), late))
    return PreviousSection(year - 1, before, rows)


# ---------------------------------------------------------------------------------------------------------
# (b) customer satisfaction


@dataclass
class SatisfactionRow:
    """Counts and the three rates of the company, a project or a year."""

    label: str
    counts: Rates
    distribution: stats.Rate
    returned: stats.Rate
    satisfaction: stats.Rate

    @classmethod
    def of(cls, label: str, counts: Rates, targets: Targets) -> SatisfactionRow:
        return cls(label, counts, rate(counts.distributed, counts.households, targets.distribution),
                   rate(counts.returned, counts.distributed, targets.returned),
                   rate(counts.satisfied, counts.returned, targets.satisfaction))

    def as_dict(self) -> dict:
        return {"label": self.label, "households": self.counts.households, "distributed": self.counts.distributed,
                "returned": self.counts.returned, "satisfied": self.counts.satisfied,
                "distribution": _rate_dict(self.distribution), "return": _rate_dict(self.returned),
                "satisfaction": _rate_dict(self.satisfaction)}


@dataclass
class SatisfactionSection:
    targets: Targets
    definition: str
    campaigns: int
    company: SatisfactionRow
    projects: list[SatisfactionRow]
    categories: list[tuple[str, stats.Rate]]
    #: (year, row) oldest first, ending with the report's year.
    trend: list[tuple[int, SatisfactionRow]]


def _satisfaction(year: int) -> SatisfactionSection:
    summary = year_summary(year, None)
    targets = summary.targets
    company = SatisfactionRow.of(str(_l("Company")), summary.totals, targets)
    trend = [(y, SatisfactionRow.of(str(y), year_summary(y, None).totals, targets))
             for y in range(year - TREND_YEARS + 1, year)]
    trend.append((year, SatisfactionRow.of(str(year), summary.totals, targets)))
    return SatisfactionSection(
        targets=targets, definition=summary.definition,
        campaigns=len(summary.campaigns), company=company,
        projects=[SatisfactionRow.of(p.project.label, p.rates, targets) for p in summary.projects],
        categories=[(c.category.label, rate(c.satisfied, c.answered, targets.satisfaction))
                    for c in summary.categories],
        trend=trend)


# ---------------------------------------------------------------------------------------------------------
# (b) complaints


@dataclass
class ComplaintSection:
    categories: list[ServiceCategory]
    #: (first day of the month, the month's totals over every project)
    months: list[tuple[date, Figures]]
    totals: Figures
    definitions: dict = field(default_factory=lambda: COMPLAINT_DEFINITIONS)

    @property
    def on_time_response(self) -> Share:
        return Share(self.totals.respond_on_time, self.totals.respond_due)

    @property
    def on_time_resolution(self) -> Share:
        return Share(self.totals.resolve_on_time, self.totals.resolve_due)

    @property
    def handling_satisfaction(self) -> Share:
        return Share(self.totals.satisfied, self.totals.follow_ups)


def _complaints(year: int, today: date, now: datetime) -> ComplaintSection:
    """The twelve monthly summaries of the register (the procedure's own figures), added up."""
    projects = list(db.session.execute(select(Project).order_by(Project.code)).scalars())
    categories: dict[int, ServiceCategory] = {}
    months: list[tuple[date, Figures]] = []
    totals = Figures()
    for month in range(1, 13):
        first = date(year, month, 1)
        if first > today:
            months.append((first, Figures()))
            continue
        summary = monthly_summary(first, projects=projects, now=now)
        categories.update((c.id, c) for c in summary.categories)
        months.append((first, summary.totals))
        totals.add(summary.totals)
    ordered = sorted(categories.values(), key=lambda c: (c.sort_order, c.id))
    return ComplaintSection(ordered, months, totals)


# ---------------------------------------------------------------------------------------------------------
# (c) corrective and preventive actions


@dataclass
class ActionCounts:
    opened: int = 0
    closed: int = 0
    effective: int = 0
    not_effective: int = 0
    overdue: int = 0

    NAMES = ("opened", "closed", "effective", "not_effective", "overdue")

    def add(self, other: ActionCounts) -> None:
        for name in self.NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def effectiveness(self) -> Share:
        """Effective checks ÷ all checks made in the year."""
        return Share(self.effective, self.effective + self.not_effective)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.NAMES}


@dataclass
class ActionSection:
    as_of: date
    #: (department label, counts), departments in code order, "no department" last
    departments: list[tuple[str, ActionCounts]]
    totals: ActionCounts
    #: (source label, {kind: opened in the year})
    sources: list[tuple[str, dict[str, int]]]
    kinds: dict = field(default_factory=lambda: ACTION_KINDS)
    statuses: dict = field(default_factory=lambda: ACTION_STATUSES)


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _actions(year: int, today: date) -> ActionSection:
    a = Action
    start, end = year_bounds(year)
    verified = and_(a.verified_at >= start, a.verified_at < end)
    stmt = (select(a.responsible_department_id,
                   _count(and_(a.created_at >= start, a.created_at < end)).label("opened"),
                   _count(and_(a.status == "closed", a.closed_at >= start, a.closed_at < end)).label("closed"),
                   _count(and_(verified, a.effective.is_(True))).label("effective"),
                   _count(and_(verified, a.effective.is_(False))).label("not_effective"),
                   _count(and_(a.created_at < end, a.status.in_(OVERDUE_STATUSES), a.due_on < today))
                   .label("overdue"))
            .where(a.voided_at.is_(None), a.created_at < end)
            .group_by(a.responsible_department_id))
    found = {row.responsible_department_id: ActionCounts(*(row._mapping[n] for n in ActionCounts.NAMES))
             for row in db.session.execute(stmt)}
    departments = {d.id: d for d in db.session.execute(
        select(Department).where(Department.id.in_([k for k in found if k is not None] or [-1]))).scalars()}
    rows = [(departments[k].label, counts) for k, counts in
            sorted(((k, c) for k, c in found.items() if k is not None), key=lambda kc: departments[kc[0]].code)]
    if None in found:
        rows.append((str(NO_DEPARTMENT), found[None]))
    rows = [(label, counts) for label, counts in rows if any(counts.as_dict().values())]
    totals = ActionCounts()
    for _label, counts in rows:
        totals.add(counts)
    by_source: dict[str, dict[str, int]] = {}
    for source, kind, n in db.session.execute(
            select(a.source_type, a.kind, func.count()).where(a.voided_at.is_(None), a.created_at >= start,
                                                              a.created_at < end)
            .group_by(a.source_type, a.kind).order_by(a.source_type, a.kind)):
        by_source.setdefault(source, {})[kind] = n
    sources = [(str(SOURCE_TYPES.get(s, s)), kinds) for s, kinds in by_source.items()]
    return ActionSection(today, rows, totals, sources)


# ---------------------------------------------------------------------------------------------------------
# (d) procedure reviews


@dataclass
class ClosedReview:
    review: Review
    department: str


@dataclass
class ReviewSection:
    as_of: date
    closed: list[ClosedReview]
    #: (review number, procedure code, title, version before, version after) of every version released
    changed: list[tuple[str, str, str, str, str]]
    #: (code, title, department label, next review date), the first LIST_LIMIT of them
    overdue: list[tuple[str, str, str, date]]
    overdue_total: int
    #: (department label, procedures overdue)
    overdue_departments: list[tuple[str, int]]
    late_reviews: int

    @property
    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.closed:
            counts[row.review.kind] = counts.get(row.review.kind, 0) + 1
        return counts


def _reviews(year: int, today: date) -> ReviewSection:
    start, end = year_bounds(year)
    labels = {d.code: d.label for d in db.session.execute(select(Department)).scalars()}
    reviews = list(db.session.execute(
        select(Review).options(selectinload(Review.items))
        .where(Review.state == "closed", Review.closed_at >= start, Review.closed_at < end)
        .order_by(Review.closed_at, Review.id)).scalars())
    depts = review_departments(reviews)
    closed = [ClosedReview(r, labels.get(depts.get(r.id), depts.get(r.id) or "—")) for r in reviews]
    changed = [(r.number, item.code, item.title, item.version_before or "", item.version_after)
               for r in reviews for item in r.items if item.version_after]
    in_force = (Procedure.removed.is_(False), Procedure.status != "withdrawn", Procedure.next_review < today)
    overdue_rows = db.session.execute(
        select(Procedure.code, Procedure.title, Procedure.departments, Procedure.next_review).where(*in_force)
        .order_by(Procedure.next_review, Procedure.code)).all()
    per_department: dict[str, int] = {}
    overdue = []
    for code, title, departments, next_review in overdue_rows:
        dept = first_department(departments)
        label = labels.get(dept, dept or "—")
        per_department[label] = per_department.get(label, 0) + 1
        if len(overdue) < LIST_LIMIT:
            overdue.append((code, title, label, next_review))
    late = db.session.execute(select(func.count()).select_from(Review).where(
        Review.state.in_(OPEN_STATES), Review.due_on < today)).scalar_one()
    return ReviewSection(today, closed, changed, overdue, len(overdue_rows), sorted(per_department.items()), late)


# ---------------------------------------------------------------------------------------------------------
# the report


@dataclass
class Report:
    year: int
    today: date
    generated_at: datetime
    previous: PreviousSection
    satisfaction: SatisfactionSection
    complaints: ComplaintSection
    actions: ActionSection
    reviews: ReviewSection

    @property
    def complete(self) -> bool:
        """The year is over: its figures no longer grow."""
        return self.today.year > self.year

    def as_dict(self) -> dict:
        """The figures as plain data (kept in the audit log when the record is approved)."""
        s, c, a, r = self.satisfaction, self.complaints, self.actions, self.reviews
        return {
            "year": self.year, "as_of": self.today.isoformat(), "generated_at": self.generated_at.isoformat(),
            "previous": [{"item": p.item.id, "text": p.item.text, "action": p.action.number if p.action else None,
                          "action_status": p.action.status if p.action else None, "state": p.state}
                         for p in self.previous.items],
            "satisfaction": {"company": s.company.as_dict(), "projects": [p.as_dict() for p in s.projects],
                             "categories": [{"label": label, **_rate_dict(x)} for label, x in s.categories],
                             "trend": [{"year": y, **row.as_dict()} for y, row in s.trend]},
            "complaints": {"complaints": c.totals.complaints, "praise": c.totals.praise,
                           "suggestions": c.totals.suggestions,
                           "by_category": {cat.code: c.totals.by_category.get(cat.id, 0) for cat in c.categories},
                           "on_time_response": c.on_time_response.as_dict(),
                           "on_time_resolution": c.on_time_resolution.as_dict(),
                           "handling_satisfaction": c.handling_satisfaction.as_dict()},
            "actions": {"departments": [{"department": label, **n.as_dict()} for label, n in a.departments],
                        "totals": a.totals.as_dict()},
            "reviews": {"closed": [x.review.number for x in r.closed], "changed": [list(x) for x in r.changed],
                        "overdue_procedures": r.overdue_total, "late_reviews": r.late_reviews},
        }


def build(year: int, record: ManagementReview | None = None, *, today: date | None = None,
          now: datetime | None = None) -> Report:
    """The report of ``year`` as of ``today``; ``record`` is the year's own record (for the follow-up of
    the previous review's decisions)."""
    today = today or local_today()
    now = now or utcnow()
    return Report(year, today, now, _previous(year, record, today), _satisfaction(year),
                  _complaints(year, today, now), _actions(year, today), _reviews(year, today))
