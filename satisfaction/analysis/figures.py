"""What the satisfaction dashboard shows, every figure a grouped SQL aggregate (never a loop over records).

Surveys (procedure 4.2.1, 4.3): the year's figures per project, per campaign and per service category
are :func:`satisfaction.surveys.rates.year_summary`'s; the trend adds up every year's campaigns the
same way (households once per project and year). Each satisfaction rate carries its 95 % Wilson
interval and one of the four labels of :mod:`records.stats`.

Complaints (4.2.3): each month of the year is the Monthly Complaint Summary's own query
(:mod:`satisfaction.complaints.summary`), so on-time response, on-time resolution and handling
satisfaction mean exactly what they mean there. The Pareto of causes ranks the service categories
(the register's cause is free text written per complaint, not a coded list).

A month's figures are kept per process and reused while its *fingerprint* — entries received in
it, the sum of their version counters (every change moves it) and the latest change, read from an
index — is the same and no response or resolution deadline of its open complaints has passed since
(a passing deadline changes the rates). Every project's month is kept per project, so any scope of
more than a few projects is added up from it; a few projects are read on their own index.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, func, select

from accounts.models import Project
from records import stats
from records.scope import check_project, project_ids
from satisfaction.complaints import summary
from satisfaction.complaints.models import CHANNELS, Complaint
from satisfaction.complaints.service import month_bounds
from satisfaction.models import ServiceCategory
from satisfaction.surveys.models import SurveyCampaign
from satisfaction.surveys.rates import Rates, Targets, combined, rates_for, year_summary
from satisfaction.surveys.service import campaign_years
from support.caching import LockedLRU
from webapp.dates import date_bounds, local_today, zone
from webapp.db import utcnow
from webapp.exceptions import NotFound, ValidationError
from webapp.extensions import app_state, db
from webapp.i18n import _l

#: Up to this many projects a month is read directly (an index range per project); more come from
#: the per-process copy of every project's month.
DIRECT_PROJECTS = 20
#: The share of complaints the Pareto's "vital few" categories account for.
PARETO_SHARE = 0.8

LABEL_TEXT = stats.LABEL_TEXTS


@dataclass(frozen=True)
class Selection:
    """The year and the projects a dashboard covers: one project, or every project the user may see."""

    year: int
    project: Project | None = None
    #: The user's projects; None when the user sees every project.
    allowed: frozenset[int] | None = None

    @property
    def project_ids(self) -> frozenset[int] | None:
        return frozenset({self.project.id}) if self.project is not None else self.allowed

    @property
    def scope(self) -> str:
        """``project``, ``company`` (every project) or ``mine`` (the user's projects)."""
        if self.project is not None:
            return "project"
        return "company" if self.allowed is None else "mine"


def year_arg(raw: str | None, *, strict: bool) -> int | None:
    """``?year=`` as a year of the accepted date range; None when absent (or, unless ``strict``, invalid)."""
    if raw in (None, ""):
        return None
    earliest, latest = date_bounds()
    try:
        year = int(raw)
    except ValueError:
        year = None
    if year is None or not earliest.year <= year <= latest.year:
        if not strict:
            return None
        message = _l("Enter a year from %(first)d to %(last)d.", first=earliest.year, last=latest.year)
        raise ValidationError(message, errors={"year": [message]})
    return year


def dashboard_years(allowed) -> list[int]:
    """Years with surveys, and every year since the register's first entry, newest first."""
    years = set(campaign_years(allowed))
    first = db.session.execute(select(func.min(Complaint.received_at))).scalar()
    if first is not None:
        years |= set(range(first.astimezone(zone()).year, local_today().year + 1))
    return sorted(years, reverse=True)


def selection(user, year: int | None = None, project_code: str | None = None) -> Selection:
    """The dashboard's scope for ``user``; a project code the user may not see is NotFound."""
    project = None
    if project_code:
        found = db.session.execute(select(Project.id).where(Project.code == project_code)).scalar()
        if found is None:
            raise NotFound(_l("Unknown project."))
        project = check_project(found, user)
    allowed = project_ids(user)
    return Selection(year or local_today().year, project, None if allowed is None else frozenset(allowed))


@dataclass(frozen=True)
class SurveyFigures:
    """Counts, distribution and return rates with their flags, and the satisfaction rate with its interval."""

    rates: Rates
    satisfaction: stats.Rate

    @classmethod
    def of(cls, rates: Rates) -> SurveyFigures:
        return cls(rates, stats.rate(rates.satisfied, rates.returned, rates.targets.satisfaction))


@dataclass(frozen=True)
class Row:
    """One line of the survey table: a project (company view) or a campaign (project view)."""

    title: str
    project: Project
    campaigns: list[SurveyCampaign]
    figures: SurveyFigures


@dataclass(frozen=True)
class CategoryFigures:
    category: ServiceCategory
    rate: stats.Rate  # satisfied answers of answered


@dataclass(frozen=True)
class YearFigures:
    year: int
    figures: SurveyFigures


@dataclass(frozen=True)
class MonthFigures:
    month: date
    figures: summary.Figures


@dataclass(frozen=True)
class ParetoRow:
    category: ServiceCategory
    complaints: int
    share: float | None
    cumulative: float | None
    vital: bool  # among the categories that make up the first PARETO_SHARE of complaints


@dataclass
class Dashboard:
    selection: Selection
    targets: Targets
    definition: str
    totals: SurveyFigures
    rows: list[Row]
    categories: list[CategoryFigures]
    trend: list[YearFigures]
    months: list[MonthFigures]
    complaint_categories: list[ServiceCategory]
    complaint_totals: summary.Figures
    pareto: list[ParetoRow]
    generated_at: datetime
    #: The figures hold until then at the latest (a complaint deadline passes); None: until the data change.
    valid_until: datetime | None = None


# ------------------------------------------------------------------------------------------ surveys


def _survey_year(sel: Selection, targets: Targets):
    data = year_summary(sel.year, sel.project_ids)
    if sel.project is None:
        rows = [Row(f"{p.project.code} {p.project.label}", p.project, p.campaigns, SurveyFigures.of(p.rates))
                for p in data.projects]
    else:  # one project: a line per campaign, each opening its forms
        rows = [Row(c.label, c.project, [c], SurveyFigures.of(data.rates[c.id])) for c in data.campaigns]
    categories = [CategoryFigures(c.category, stats.rate(c.satisfied, c.answered, targets.satisfaction))
                  for c in data.categories]
    # as_dict() names what "satisfied" means on these campaigns' rating scales.
    return SurveyFigures.of(data.totals), rows, categories, data.as_dict()["satisfied_definition"]


def survey_trend(project_ids, targets: Targets) -> list[YearFigures]:
    """Every year's figures over ``project_ids`` (None: all): one grouped query over all the campaigns."""
    stmt = select(SurveyCampaign).where(SurveyCampaign.voided_at.is_(None)).order_by(SurveyCampaign.year)
    if project_ids is not None:
        stmt = stmt.where(SurveyCampaign.project_id.in_(project_ids or [-1]))
    campaigns = list(db.session.execute(stmt).scalars())
    rates = rates_for(campaigns, targets)
    by_year: dict[int, list[SurveyCampaign]] = {}
    for c in campaigns:  # campaigns (a few per project and year), never forms
        by_year.setdefault(c.year, []).append(c)
    return [YearFigures(year, SurveyFigures.of(combined(cs, rates, targets))) for year, cs in by_year.items()]


# --------------------------------------------------------------------------------------- complaints


def _zero(category_ids) -> summary.Figures:
    return summary.Figures(by_channel={ch: 0 for ch in CHANNELS}, by_category={cid: 0 for cid in category_ids})


def _added(parts, category_ids) -> summary.Figures:
    result = _zero(category_ids)
    for part in parts:  # per-project aggregates (at most one per project), never register entries
        result.add(part)
    return result


def month_fingerprint(month: date) -> tuple:
    """What a month's figures depend on besides the time: its entries, the sum of their version counters
    (every change moves it) and the latest change — an index-only range of
    ``ix_complaints_received_version_updated``, a few milliseconds for a month of every project."""
    c = Complaint
    start, end = month_bounds(month)
    return tuple(db.session.execute(
        select(func.count(), func.coalesce(func.sum(c.version), 0), func.max(c.updated_at))
        .where(c.received_at >= start, c.received_at < end)).one())


def _next_deadline(start: datetime, end: datetime, now: datetime, project_ids) -> datetime | None:
    """The first response or resolution deadline still ahead of ``now`` among the month's open complaints:
    until then the month's rates stay what they are now (a deadline passing makes a complaint due)."""
    c = Complaint
    ahead = func.min(case((and_(c.acknowledged_at.is_(None), c.respond_due >= now), c.respond_due)))
    later = func.min(case((and_(c.resolved_at.is_(None), c.resolve_due >= now), c.resolve_due)))
    stmt = select(ahead, later).where(c.received_at >= start, c.received_at < end, c.voided_at.is_(None),
                                      c.kind == "complaint")
    if project_ids is not None:
        stmt = stmt.where(c.project_id.in_(sorted(project_ids) or [-1]))
    found = [t for t in db.session.execute(stmt).one() if t is not None]
    return min(found) if found else None


@dataclass(frozen=True)
class _Month:
    fingerprint: tuple
    valid_until: datetime | None  # None: no deadline ahead, valid until the fingerprint moves
    by_project: dict[int, summary.Figures] | None
    totals: summary.Figures


def _month(month: date, ids: tuple[int, ...] | None, now: datetime, category_ids: list[int],
           fingerprint: tuple) -> _Month:
    """The month of ``ids`` (None: every project, kept per project), from the per-process copy while its
    fingerprint holds and no deadline has passed since. The fingerprint is read before the figures:
    a change in between is seen next time."""
    cache = app_state("satisfaction.analysis.months", lambda: LockedLRU(256))
    key = (month, ids, tuple(category_ids))
    found = cache.get(key)
    if found is not None and found.fingerprint == fingerprint and (found.valid_until is None
                                                                   or now <= found.valid_until):
        return found
    start, end = month_bounds(month)
    until = _next_deadline(start, end, now, ids)
    by_project = summary._register_figures(None if ids is None else list(ids) or [-1], start, end, now,
                                           category_ids)
    entry = _Month(fingerprint, until, by_project if ids is None else None,
                   _added(by_project.values(), category_ids))
    cache.put(key, entry)
    return entry


def month_figures(month: date, project_ids, now: datetime, category_ids: list[int],
                  fingerprint: tuple | None = None) -> tuple[summary.Figures, datetime | None]:
    """The Monthly Complaint Summary's totals for ``month`` over ``project_ids`` (None: every project),
    and until when they hold (None: until the month's entries change)."""
    fingerprint = month_fingerprint(month) if fingerprint is None else fingerprint
    if project_ids is not None and len(project_ids) <= DIRECT_PROJECTS:
        found = _month(month, tuple(sorted(project_ids)), now, category_ids, fingerprint)
        return found.totals, found.valid_until
    found = _month(month, None, now, category_ids, fingerprint)
    if project_ids is None:
        return found.totals, found.valid_until
    return (_added((f for pid, f in found.by_project.items() if pid in project_ids), category_ids),
            found.valid_until)


def year_months(year: int, today: date | None = None) -> list[date]:
    """The months of ``year`` that have begun."""
    today = today or local_today()
    return [date(year, m, 1) for m in range(1, 13) if date(year, m, 1) <= today]


def pareto(totals: summary.Figures, categories: list[ServiceCategory]) -> list[ParetoRow]:
    """Categories by complaints, most first, with their share and the running share."""
    counts = sorted(((totals.by_category.get(c.id, 0), c) for c in categories),
                    key=lambda item: (-item[0], item[1].sort_order, item[1].id))
    whole = sum(n for n, _c in counts)
    rows, running, reached = [], 0, False
    for n, category in counts:
        running += n
        rows.append(ParetoRow(category, n, n / whole if whole else None, running / whole if whole else None,
                              bool(n) and not reached))
        reached = reached or (bool(whole) and running / whole >= PARETO_SHARE - 1e-9)
    return rows


# ---------------------------------------------------------------------------------------- the page


def build(sel: Selection, now: datetime | None = None, fingerprints: dict[date, tuple] | None = None) -> Dashboard:
    """Everything the dashboard, its tables, downloads and chart data show for ``sel`` (``fingerprints``:
    the months' :func:`month_fingerprint`, when already read)."""
    now = now or utcnow()
    fingerprints = fingerprints or {}
    targets = Targets.current()
    totals, rows, categories, definition = _survey_year(sel, targets)
    all_categories = list(db.session.execute(
        select(ServiceCategory).order_by(ServiceCategory.sort_order, ServiceCategory.id)).scalars())
    ids = [c.id for c in all_categories]
    months, valid_until = [], None
    for m in year_months(sel.year):
        figures, until = month_figures(m, sel.project_ids, now, ids, fingerprints.get(m))
        months.append(MonthFigures(m, figures))
        valid_until = until if valid_until is None or (until is not None and until < valid_until) else valid_until
    complaint_totals = _added((m.figures for m in months), ids)
    # Inactive categories only show when something was filed under them (as on the monthly summary).
    shown = [c for c in all_categories if c.active or complaint_totals.by_category.get(c.id)]
    return Dashboard(sel, targets, definition, totals, rows, categories, survey_trend(sel.project_ids, targets),
                     months, shown, complaint_totals, pareto(complaint_totals, shown), now, valid_until)
