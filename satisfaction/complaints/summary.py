"""The Monthly Complaint Summary (投诉情况月汇总表, procedure 4.2.3), generated from the register.

All figures count the non-voided entries *received* in the local calendar month, as of the
moment the summary is made (``now``). One GROUP BY query over the register gives every count
and rate for every project at once; one more counts the caring services. Definitions:

* on-time response rate = complaints acknowledged no later than their response deadline ÷
  complaints that have been acknowledged or whose response deadline has passed;
* on-time resolution rate = complaints resolved no later than their resolution deadline ÷
  complaints that have been resolved or whose resolution deadline has passed (a complaint
  reopened after a dissatisfied follow-up counts from its latest resolution);
* follow-up rate = complaints followed up (followed up or closed) ÷ complaints resolved
  (resolved, followed up or closed);
* handling-satisfaction rate = follow-ups where the person was satisfied ÷ all follow-ups
  recorded, where each dissatisfied follow-up that reopened a complaint counts as one;
* caring services = non-voided caring-service records served in the month.

Below the figures, the follow-up lines (procedure 4.4.3): one line per complaint of the month with
what was fed back to the person and their satisfaction with the handling.

A rate is ``None`` (shown as "—") when its denominator is zero.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, select

from accounts.models import Project
from satisfaction.caring.models import CaringService
from satisfaction.complaints import service
from satisfaction.complaints.models import CHANNELS, Complaint
from satisfaction.complaints.service import month_bounds
from satisfaction.models import ServiceCategory
from webapp.db import utcnow
from webapp.extensions import db
from webapp.i18n import _, _l

DEFINITIONS = {
    "on_time_response_rate": _l("On-time response rate = complaints acknowledged no later than their response "
                                "deadline ÷ complaints that have been acknowledged or whose response deadline "
                                "has passed."),
    "on_time_resolution_rate": _l("On-time resolution rate = complaints resolved no later than their resolution "
                                  "deadline ÷ complaints that have been resolved or whose resolution deadline has "
                                  "passed; a complaint reopened after a dissatisfied follow-up counts from its "
                                  "latest resolution."),
    "follow_up_rate": _l("Follow-up rate = complaints followed up (followed up or closed) ÷ complaints resolved "
                         "(resolved, followed up or closed)."),
    "handling_satisfaction_rate": _l("Handling-satisfaction rate = follow-ups in which the person was satisfied ÷ "
                                     "all follow-ups recorded; every dissatisfied follow-up that reopened a "
                                     "complaint counts as one follow-up."),
    "scope": _l("All figures count the entries received in the month (local time), voided entries excluded, as of "
                "the time the summary was made. Categories count complaints; channels count all entries."),
    "caring": _l("Caring services = caring-service records served in the month, voided records excluded."),
    "follow_up_lines": _l("Follow-up lines (procedure 4.4.3): one line per complaint received in the month, with "
                          "the result fed back to the person at the latest follow-up and their satisfaction with "
                          "the handling; a complaint reopened after a dissatisfied follow-up shows how often."),
}

#: At most this many follow-up lines on a page, print or XLSX: a project's month has far fewer; all
#: projects of a large company may have more (then the page says so and one project shows them all).
LINES_LIMIT = 500

#: The four rates, in the order the summary shows them (first, before the counts).
RATE_LABELS = {
    "on_time_response_rate": _l("On-time response rate"),
    "on_time_resolution_rate": _l("On-time resolution rate"),
    "follow_up_rate": _l("Follow-up rate"),
    "handling_satisfaction_rate": _l("Handling-satisfaction rate"),
}

_DONE_FOLLOW_UP = ("followed_up", "closed")
_RESOLVED = ("resolved", "followed_up", "closed")


@dataclass
class Figures:
    """The counts of one project (or of the totals row) for one month."""

    total: int = 0
    complaints: int = 0
    praise: int = 0
    suggestions: int = 0
    closed: int = 0
    by_category: dict[int, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    respond_due: int = 0
    respond_on_time: int = 0
    resolve_due: int = 0
    resolve_on_time: int = 0
    resolved: int = 0
    followed_up: int = 0
    follow_ups: int = 0
    satisfied: int = 0
    caring: int = 0

    @staticmethod
    def _rate(num: int, den: int) -> float | None:
        return num / den if den else None

    @property
    def on_time_response_rate(self) -> float | None:
        return self._rate(self.respond_on_time, self.respond_due)

    @property
    def on_time_resolution_rate(self) -> float | None:
        return self._rate(self.resolve_on_time, self.resolve_due)

    @property
    def follow_up_rate(self) -> float | None:
        return self._rate(self.followed_up, self.resolved)

    @property
    def handling_satisfaction_rate(self) -> float | None:
        return self._rate(self.satisfied, self.follow_ups)

    def rates(self) -> list[tuple[str, float | None, int, int]]:
        """(key, rate, numerator, denominator) of the four rates, in :data:`RATE_LABELS` order."""
        return [("on_time_response_rate", self.on_time_response_rate, self.respond_on_time, self.respond_due),
                ("on_time_resolution_rate", self.on_time_resolution_rate, self.resolve_on_time, self.resolve_due),
                ("follow_up_rate", self.follow_up_rate, self.followed_up, self.resolved),
                ("handling_satisfaction_rate", self.handling_satisfaction_rate, self.satisfied, self.follow_ups)]

    def add(self, other: Figures) -> None:
        for name in ("total", "complaints", "praise", "suggestions", "closed", "respond_due", "respond_on_time",
                     "resolve_due", "resolve_on_time", "resolved", "followed_up", "follow_ups", "satisfied",
                     "caring"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, value in other.by_category.items():
            self.by_category[key] = self.by_category.get(key, 0) + value
        for key, value in other.by_channel.items():
            self.by_channel[key] = self.by_channel.get(key, 0) + value

    def as_dict(self, categories: list[ServiceCategory]) -> dict:
        return {
            "entries": self.total, "complaints": self.complaints, "praise": self.praise,
            "suggestions": self.suggestions, "closed_complaints": self.closed,
            "by_category": {c.code: self.by_category.get(c.id, 0) for c in categories},
            "by_channel": {ch: self.by_channel.get(ch, 0) for ch in CHANNELS},
            "on_time_response": {"on_time": self.respond_on_time, "due": self.respond_due,
                                 "rate": _round(self.on_time_response_rate)},
            "on_time_resolution": {"on_time": self.resolve_on_time, "due": self.resolve_due,
                                   "rate": _round(self.on_time_resolution_rate)},
            "follow_up": {"followed_up": self.followed_up, "resolved": self.resolved,
                          "rate": _round(self.follow_up_rate)},
            "handling_satisfaction": {"satisfied": self.satisfied, "follow_ups": self.follow_ups,
                                      "rate": _round(self.handling_satisfaction_rate)},
            "caring_services": self.caring,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass
class Summary:
    month: date
    generated_at: datetime
    categories: list[ServiceCategory]
    rows: list[tuple[Project, Figures]]
    totals: Figures

    @property
    def single(self) -> bool:
        return len(self.rows) == 1


def _sum(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _register_figures(project_ids: list[int] | None, start: datetime, end: datetime, now: datetime,
                      category_ids: list[int]) -> dict[int, Figures]:
    """One GROUP BY project over the month's entries: every count the summary needs."""
    c = Complaint
    is_complaint = c.kind == "complaint"
    columns = [
        c.project_id,
        func.count().label("total"),
        _sum(is_complaint).label("complaints"),
        _sum(c.kind == "praise").label("praise"),
        _sum(c.kind == "suggestion").label("suggestions"),
        _sum(and_(is_complaint, c.status == "closed")).label("closed"),
        _sum(and_(is_complaint, (c.acknowledged_at.is_not(None)) | (c.respond_due < now))).label("respond_due"),
        _sum(and_(is_complaint, c.acknowledged_at.is_not(None), c.acknowledged_at <= c.respond_due))
        .label("respond_on_time"),
        _sum(and_(is_complaint, (c.resolved_at.is_not(None)) | (c.resolve_due < now))).label("resolve_due"),
        _sum(and_(is_complaint, c.resolved_at.is_not(None), c.resolved_at <= c.resolve_due))
        .label("resolve_on_time"),
        _sum(and_(is_complaint, c.status.in_(_RESOLVED))).label("resolved"),
        _sum(and_(is_complaint, c.status.in_(_DONE_FOLLOW_UP))).label("followed_up"),
        func.coalesce(func.sum(case((is_complaint, c.reopen_count), else_=0)), 0).label("reopened"),
        _sum(and_(is_complaint, c.status.in_(_DONE_FOLLOW_UP), c.handling_satisfaction == "satisfied"))
        .label("satisfied"),
    ]
    columns += [_sum(c.channel == ch).label(f"ch_{ch}") for ch in CHANNELS]
    columns += [_sum(and_(is_complaint, c.category_id == cid)).label(f"cat_{cid}") for cid in category_ids]
    stmt = (select(*columns)
            .where(c.voided_at.is_(None), c.received_at >= start, c.received_at < end)
            .group_by(c.project_id))
    if project_ids is not None:
        stmt = stmt.where(c.project_id.in_(project_ids or [-1]))
    result: dict[int, Figures] = {}
    for row in db.session.execute(stmt).mappings():
        fig = Figures(
            total=row["total"], complaints=row["complaints"], praise=row["praise"], suggestions=row["suggestions"],
            closed=row["closed"], respond_due=row["respond_due"], respond_on_time=row["respond_on_time"],
            resolve_due=row["resolve_due"], resolve_on_time=row["resolve_on_time"], resolved=row["resolved"],
            followed_up=row["followed_up"], follow_ups=row["reopened"] + row["followed_up"],
            satisfied=row["satisfied"],
            by_channel={ch: row[f"ch_{ch}"] for ch in CHANNELS},
            by_category={cid: row[f"cat_{cid}"] for cid in category_ids},
        )
        result[row["project_id"]] = fig
    return result


def _caring_counts(project_ids: list[int] | None, month: date) -> dict[int, int]:
    """Non-voided caring services per project served in the month."""
    first = month.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    stmt = (select(CaringService.project_id, func.count())
            .where(CaringService.voided_at.is_(None), CaringService.served_on >= first, CaringService.served_on < nxt)
            .group_by(CaringService.project_id))
    if project_ids is not None:
        stmt = stmt.where(CaringService.project_id.in_(project_ids or [-1]))
    return dict(db.session.execute(stmt).all())


def monthly_summary(month: date, *, projects: list[Project], now: datetime | None = None) -> Summary:
    """The summary of ``month`` for ``projects`` (already scoped to what the user may see).

    Every project in ``projects`` gets a row, even with nothing received (a summary that is
    handed in lists all estates); the totals row adds them up.
    """
    now = now or utcnow()
    month = month.replace(day=1)
    start, end = month_bounds(month)
    categories = list(db.session.execute(
        select(ServiceCategory).order_by(ServiceCategory.sort_order, ServiceCategory.id)).scalars())
    ids = [p.id for p in projects]
    figures = _register_figures(ids, start, end, now, [cat.id for cat in categories])
    caring = _caring_counts(ids, month)
    # Inactive categories only get a column when something was filed under them.
    categories = [cat for cat in categories
                  if cat.active or any(f.by_category.get(cat.id) for f in figures.values())]
    totals = Figures(by_channel={ch: 0 for ch in CHANNELS}, by_category={cat.id: 0 for cat in categories})
    rows = []
    for project in projects:
        fig = figures.get(project.id) or Figures(by_channel={ch: 0 for ch in CHANNELS},
                                                 by_category={cat.id: 0 for cat in categories})
        fig.caring = caring.get(project.id, 0)
        totals.add(fig)
        rows.append((project, fig))
    return Summary(month=month, generated_at=now, categories=categories, rows=rows, totals=totals)


@dataclass(frozen=True)
class FollowUpLine:
    """One complaint of the month as the follow-up lines show it (procedure 4.4.3)."""

    id: int
    number: str
    received_at: datetime
    project: Project
    category: ServiceCategory
    status: str
    feedback_given: str
    followed_up_at: datetime | None
    #: The person's satisfaction with the handling at the latest follow-up (None: never followed up).
    satisfaction: str | None
    #: Times a dissatisfied follow-up sent it back to be handled again.
    reopened: int

    @property
    def followed_up(self) -> bool:
        """The latest follow-up stands (the complaint was not reopened after it)."""
        return self.status in _DONE_FOLLOW_UP

    @property
    def awaiting_follow_up(self) -> bool:
        """Resolved but the result not yet fed back (what 4.4.3 asks the project to do)."""
        return self.status == "resolved"

    @property
    def verdict(self) -> str:
        """Key into :func:`verdict_words`: the verdict that stands, ``reopened:<verdict>`` (a dissatisfied
        follow-up sent it back and it has not been followed up since) or ``pending``."""
        if self.followed_up and self.satisfaction:
            return self.satisfaction
        if self.reopened and self.satisfaction:
            return f"reopened:{self.satisfaction}"
        return "pending"


def verdict_words() -> dict[str, str]:
    """The words for :attr:`FollowUpLine.verdict`, translated once per page rather than once per line."""
    words = {key: str(label) for key, label in service.SATISFACTION_LABELS.items()}
    words |= {f"reopened:{key}": _("%(verdict)s: reopened, being handled again", verdict=label)
              for key, label in words.items()}
    words["pending"] = _("Not yet followed up")
    return words


def follow_up_lines(month: date, projects: list[Project], *,
                    limit: int | None = None) -> tuple[list[FollowUpLine], bool]:
    """The non-voided complaints of ``projects`` received in ``month``, by project then oldest first,
    and whether more than ``limit`` (default :data:`LINES_LIMIT`) matched: then only that many are returned."""
    limit = limit or LINES_LIMIT
    start, end = month_bounds(month.replace(day=1))
    c = Complaint
    stmt = (select(c.id, c.number, c.received_at, c.status, c.feedback_given, c.followed_up_at,
                   c.handling_satisfaction, c.reopen_count, Project, ServiceCategory)
            .join(Project, Project.id == c.project_id).join(ServiceCategory, ServiceCategory.id == c.category_id)
            .where(c.kind == "complaint", c.voided_at.is_(None), c.received_at >= start, c.received_at < end,
                   c.project_id.in_([p.id for p in projects] or [-1]))
            .order_by(Project.code, c.received_at, c.id).limit(limit + 1))
    lines = [FollowUpLine(
        id=row.id, number=row.number, received_at=row.received_at, project=row.Project,
        category=row.ServiceCategory, status=row.status, feedback_given=row.feedback_given or "",
        followed_up_at=row.followed_up_at,
        satisfaction=row.handling_satisfaction,
        reopened=row.reopen_count or 0) for row in db.session.execute(stmt)]
    return lines[:limit], len(lines) > limit


def month_entries(month: date, project: Project, *, limit: int = 2000) -> list[Complaint]:
    """The entries of one project received in ``month`` (the detail sheet of the form), oldest first."""
    start, end = month_bounds(month)
    from sqlalchemy.orm import joinedload

    stmt = (select(Complaint).options(joinedload(Complaint.category))
            .where(Complaint.project_id == project.id, Complaint.voided_at.is_(None),
                   Complaint.received_at >= start, Complaint.received_at < end)
            .order_by(Complaint.received_at, Complaint.id).limit(limit))
    return list(db.session.execute(stmt).scalars())


def summary_json(summary: Summary) -> dict:
    """The summary as the JSON API returns it."""
    return {
        "month": summary.month.strftime("%Y-%m"),
        "generated_at": summary.generated_at.isoformat(),
        "categories": [{"code": c.code, "name": c.name, "name_en": c.name_en} for c in summary.categories],
        "channels": list(CHANNELS),
        "rows": [{"project": {"id": p.id, "code": p.code, "name": p.name}, **f.as_dict(summary.categories)}
                 for p, f in summary.rows],
        "totals": summary.totals.as_dict(summary.categories),
        "definitions": {k: str(v) for k, v in DEFINITIONS.items()},
    }

