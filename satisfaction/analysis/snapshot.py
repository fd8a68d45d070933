"""The dashboard as plain data — the chart JSON and the tables — kept per process while nothing it
shows has changed.

The key holds everything the figures rest on: the selection and language, the settings, the service
categories, the accounts change stamp (project names), a fingerprint of the surveys (campaigns: count,
sum of version counters, last id; forms: count, voided, last id) and each month's register fingerprint
(:func:`satisfaction.analysis.figures.month_fingerprint`). A kept copy also expires when the first
deadline of an open complaint passes. A warm dashboard is then about a dozen index-only reads.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from flask_babel import get_locale
from sqlalchemy import func, select

from accounts.cache import STAMP as ACCOUNTS_STAMP
from records.stats import SMALL_SAMPLE
from satisfaction.analysis.figures import (
    LABEL_TEXT,
    Dashboard,
    Selection,
    SurveyFigures,
    build,
    month_fingerprint,
    year_months,
)
from satisfaction.analysis.tables import Table, tables, totals_title
from satisfaction.complaints.summary import DEFINITIONS
from satisfaction.models import ServiceCategory
from satisfaction.settings import all_settings
from satisfaction.surveys.models import SurveyCampaign, SurveyResponse
from support.caching import LockedLRU
from webapp.db import utcnow
from webapp.extensions import app_state, db
from webapp.store import get_store


@dataclass(frozen=True)
class Snapshot:
    data: dict  # the chart data, as /api/v1/satisfaction/dashboard returns it
    tables: dict[str, Table]
    generated_at: datetime
    valid_until: datetime | None


def _rate(rate) -> dict:
    return {"successes": rate.successes, "n": rate.n, "value": rate.value, "low": rate.low, "high": rate.high,
            "label": rate.label, "small_sample": rate.small_sample, "below_target": rate.below_target}


def _survey(f: SurveyFigures) -> dict:
    r = f.rates
    return {"households": r.households, "distributed": r.distributed, "returned": r.returned,
            "satisfied": r.satisfied, "distribution_rate": r.distribution_rate, "return_rate": r.return_rate,
            "distribution_below_target": r.distribution_low, "return_below_target": r.return_low,
            "satisfaction": _rate(f.satisfaction)}


def _ref(project) -> dict:
    return {"id": project.id, "code": project.code, "name": project.label}


def _complaints(f, categories) -> dict:
    return {"complaints": f.complaints, "by_category": {c.code: f.by_category.get(c.id, 0) for c in categories},
            "on_time_response": {"on_time": f.respond_on_time, "due": f.respond_due,
                                 "rate": f.on_time_response_rate},
            "on_time_resolution": {"on_time": f.resolve_on_time, "due": f.resolve_due,
                                   "rate": f.on_time_resolution_rate},
            "handling_satisfaction": {"satisfied": f.satisfied, "follow_ups": f.follow_ups,
                                      "rate": f.handling_satisfaction_rate}}


def dashboard_json(d: Dashboard) -> dict:
    """The dashboard as the chart data endpoint returns it."""
    sel, cats = d.selection, d.complaint_categories
    t = d.targets
    return {
        "year": sel.year,
        "scope": {"kind": sel.scope, "label": totals_title(d),
                  "project": _ref(sel.project) if sel.project is not None else None},
        "targets": {"distribution": t.distribution, "return": t.returned, "satisfaction": t.satisfaction},
        "small_sample": SMALL_SAMPLE,
        "labels": {k: str(v) for k, v in LABEL_TEXT.items()},
        "satisfied_definition": d.definition,
        "surveys": {
            "totals": _survey(d.totals),
            "rows": [{"title": row.title, "project": _ref(row.project),
                      "campaigns": [{"id": c.id, "label": c.label} for c in row.campaigns],
                      **_survey(row.figures)} for row in d.rows],
            "categories": [{"code": c.category.code, "name": c.category.label, "satisfaction": _rate(c.rate)}
                           for c in d.categories],
            "trend": [{"year": y.year, **_survey(y.figures)} for y in d.trend],
        },
        "complaints": {
            "categories": [{"code": c.code, "name": c.label} for c in cats],
            "months": [{"month": m.month.strftime("%Y-%m"), **_complaints(m.figures, cats)} for m in d.months],
            "totals": _complaints(d.complaint_totals, cats),
            "pareto": [{"code": p.category.code, "name": p.category.label, "complaints": p.complaints,
                        "share": p.share, "cumulative": p.cumulative, "vital": p.vital} for p in d.pareto],
            "definitions": {k: str(DEFINITIONS[k]) for k in
                            ("on_time_response_rate", "on_time_resolution_rate", "handling_satisfaction_rate")},
        },
        "generated_at": d.generated_at.isoformat(),
    }


def linker(sel: Selection):
    """Drill-down links: company → project → its forms and its complaints in the register."""
    register = {"kind": "complaint"}
    if sel.project is not None:
        register["project"] = sel.project.id

    def link(kind, item):
        if kind == "projects":
            return url_for("dashboard.index", year=sel.year, project=item.project.code)
        if kind == "campaigns":
            return url_for("surveys.responses", campaign_id=item.campaigns[0].id)
        if kind == "trend":
            return url_for("dashboard.index", year=item.year, project=sel.project.code if sel.project else None)
        if kind == "month":
            return url_for("complaints.index", month=item.month.strftime("%Y-%m"), **register)
        if kind == "category":
            return url_for("complaints.index", category=item.category.code, to=f"{sel.year}-12-31",
                           **{"from": f"{sel.year}-01-01"}, **register)
        return None

    return link


def survey_fingerprint() -> tuple:
    """Campaigns (count, sum of version counters, last id) and forms (count, voided, last id)."""
    c, r = SurveyCampaign, SurveyResponse
    campaigns = db.session.execute(select(func.count(), func.coalesce(func.sum(c.version), 0), func.max(c.id))).one()
    forms = db.session.execute(select(func.count(), func.count(r.voided_at), func.max(r.id))).one()
    return (*campaigns, *forms)


def _references() -> tuple:
    categories = db.session.execute(select(
        ServiceCategory.id, ServiceCategory.code, ServiceCategory.name, ServiceCategory.name_en,
        ServiceCategory.sort_order, ServiceCategory.active).order_by(ServiceCategory.id)).all()
    return (str(get_locale()), json.dumps(all_settings(), sort_keys=True, default=str), tuple(map(tuple, categories)),
            get_store().stamp(ACCOUNTS_STAMP))


def snapshot(sel: Selection) -> Snapshot:
    """The dashboard of ``sel``: the kept copy while its key holds and no deadline has passed, else built."""
    now = utcnow()
    fingerprints = {m: month_fingerprint(m) for m in year_months(sel.year)}
    key = (sel.year, sel.project.id if sel.project is not None else None,
           None if sel.allowed is None else tuple(sorted(sel.allowed)), _references(), survey_fingerprint(),
           tuple(fingerprints.values()))
    cache = app_state("satisfaction.analysis.snapshots", lambda: LockedLRU(32))
    found = cache.get(key)
    if found is not None and (found.valid_until is None or now <= found.valid_until):
        return found
    d = build(sel, now, fingerprints)
    found = Snapshot(dashboard_json(d), tables(d, linker(sel)), d.generated_at, d.valid_until)
    cache.put(key, found)
    return found
