"""The dashboard's numbers as tables: the same cells under each chart, in CSV and in XLSX.

A cell is a plain value (text, a count, :class:`records.export.Percent` or None); the page formats
them, :mod:`records.export` writes them. ``link`` (given by the view) turns a row's first cell into
its drill-down: a project's dashboard, a campaign's forms, the register filtered.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from records.export import Percent
from satisfaction.analysis.figures import LABEL_TEXT, Dashboard, SurveyFigures
from satisfaction.surveys.rates import totals_label
from webapp.i18n import _, _l

TITLES = {
    "projects": _l("Satisfaction by project"),
    "campaigns": _l("Satisfaction by survey"),
    "categories": _l("Satisfaction by service category"),
    "trend": _l("Satisfaction over the years"),
    "complaints": _l("Complaints by category and month"),
    "pareto": _l("Pareto of complaint causes (service categories)"),
    "handling": _l("Complaint handling by month"),
}
KEYS = tuple(TITLES)


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)
    totals: list | None = None


def _pct(value) -> Percent | None:
    return None if value is None else Percent(value)


def label_text(rate) -> str:
    return str(LABEL_TEXT[rate.label]) if rate.label else ""


def _rate_cells(rate) -> list:
    """Rate, interval low and high, label, small sample."""
    return [_pct(rate.value), _pct(rate.low), _pct(rate.high), label_text(rate),
            _("Small sample") if rate.n and rate.small_sample else ""]


def _rate_headers(name: str) -> list[str]:
    return [name, _("95 % interval from"), _("95 % interval to"), _("Reading"), _("Small sample (< 30)")]


def _survey_cells(f: SurveyFigures) -> list:
    r = f.rates
    return [r.households, r.distributed, _pct(r.distribution_rate), r.returned, _pct(r.return_rate), r.satisfied,
            *_rate_cells(f.satisfaction)]


def _survey_headers(first: str) -> list[str]:
    return [first, _("Occupied households"), _("Forms distributed"), _("Distribution rate"), _("Forms returned"),
            _("Return rate"), _("Satisfied forms"), *_rate_headers(_("Satisfaction rate"))]


def totals_title(d: Dashboard) -> str:
    """The totals line's name: the company, the user's projects, or the one project."""
    if d.selection.project is not None:
        return _("Total")
    return totals_label(d.selection.allowed)


def survey_rows(d: Dashboard, link: Callable) -> Table:
    key = "campaigns" if d.selection.project is not None else "projects"
    table = Table(key, str(TITLES[key]), _survey_headers(_("Survey") if key == "campaigns" else _("Project")))
    for row in d.rows:
        table.rows.append([row.title, *_survey_cells(row.figures)])
        table.links.append(link(key, row))
    table.totals = [totals_title(d), *_survey_cells(d.totals)]
    return table


def category_rows(d: Dashboard, link: Callable) -> Table:
    table = Table("categories", str(TITLES["categories"]),
                  [_("Service category"), _("Answered"), _("Satisfied"), *_rate_headers(_("Satisfaction rate"))])
    for c in d.categories:
        table.rows.append([c.category.label, c.rate.n, c.rate.successes, *_rate_cells(c.rate)])
        table.links.append(None)
    return table


def trend_rows(d: Dashboard, link: Callable) -> Table:
    table = Table("trend", str(TITLES["trend"]), _survey_headers(_("Year")))
    for y in d.trend:
        table.rows.append([str(y.year), *_survey_cells(y.figures)])
        table.links.append(link("trend", y))
    return table


def complaint_rows(d: Dashboard, link: Callable) -> Table:
    cats = d.complaint_categories
    table = Table("complaints", str(TITLES["complaints"]),
                  [_("Month"), *[c.label for c in cats], _("Complaints")])
    for m in d.months:
        f = m.figures
        table.rows.append([m.month.strftime("%Y-%m"), *[f.by_category.get(c.id, 0) for c in cats], f.complaints])
        table.links.append(link("month", m))
    t = d.complaint_totals
    table.totals = [totals_title(d), *[t.by_category.get(c.id, 0) for c in cats], t.complaints]
    return table


def pareto_rows(d: Dashboard, link: Callable) -> Table:
    table = Table("pareto", str(TITLES["pareto"]),
                  [_("Service category"), _("Complaints"), _("Share"), _("Cumulative share"), _("Vital few")])
    for p in d.pareto:
        table.rows.append([p.category.label, p.complaints, _pct(p.share), _pct(p.cumulative),
                           _("Yes") if p.vital else ""])
        table.links.append(link("category", p))
    return table


def _handling_cells(f) -> list:
    return [f.respond_on_time, f.respond_due, _pct(f.on_time_response_rate), f.resolve_on_time, f.resolve_due,
            _pct(f.on_time_resolution_rate), f.satisfied, f.follow_ups, _pct(f.handling_satisfaction_rate)]


def handling_rows(d: Dashboard, link: Callable) -> Table:
    table = Table("handling", str(TITLES["handling"]), [
        _("Month"), _("Acknowledged on time"), _("Due for a response"), _("On-time response rate"),
        _("Resolved on time"), _("Due for resolution"), _("On-time resolution rate"),
        _("Satisfied with the handling"), _("Follow-ups"), _("Handling-satisfaction rate")])
    for m in d.months:
        table.rows.append([m.month.strftime("%Y-%m"), *_handling_cells(m.figures)])
        table.links.append(link("month", m))
    table.totals = [totals_title(d), *_handling_cells(d.complaint_totals)]
    return table


def no_link(_kind, _item) -> None:
    return None


def tables(d: Dashboard, link: Callable = no_link) -> dict[str, Table]:
    """Every table of the dashboard, by key, in page order."""
    survey = survey_rows(d, link)
    return {survey.key: survey, "categories": category_rows(d, link), "trend": trend_rows(d, link),
            "complaints": complaint_rows(d, link), "pareto": pareto_rows(d, link),
            "handling": handling_rows(d, link)}
