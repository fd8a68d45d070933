"""What a closed survey reports for preventive proposals (issue 11; :data:`webapp.signals.satisfaction_measured`).

Procedure 4.3: decide from the data. When a campaign closes, its satisfaction rate and each rated
category's, with the project's yearly figures for this year and the two before (closed surveys only),
are sent out; the actions feature decides what to propose (:mod:`actions.proposals`). A handful of
grouped queries, whatever the number of forms.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from satisfaction.surveys.models import SurveyCampaign
from satisfaction.surveys.rates import Targets, category_rates, rates_for
from webapp.extensions import db
from webapp.i18n import _
from webapp.signals import satisfaction_measured


def report_measured(campaign: SurveyCampaign, actor) -> list:
    """Send :data:`satisfaction_measured` for a campaign just closed (in the caller's transaction);
    returns what the receivers answered (the proposals made), flattened."""
    years = list(range(campaign.year - 2, campaign.year + 1))
    closed = list(db.session.execute(select(SurveyCampaign).where(
        SurveyCampaign.project_id == campaign.project_id, SurveyCampaign.year.in_(years),
        SurveyCampaign.voided_at.is_(None), SurveyCampaign.status == "closed")).scalars())
    by_year = {y: [c for c in closed if c.year == y] for y in years}
    by_year = {y: found for y, found in by_year.items() if found}
    rates = rates_for(closed)
    overall_years = {y: (sum(rates[c.id].satisfied for c in found), sum(rates[c.id].returned for c in found))
                     for y, found in by_year.items()}
    cat_ids = [int(i) for i in campaign.category_ids or []]
    cat_years = {y: {r.category.id: (r.satisfied, r.answered) for r in category_rates(found, cat_ids)}
                 for y, found in by_year.items()}
    mine = rates.get(campaign.id) or rates_for([campaign])[campaign.id]
    # The proposals are company records: written in the company's language, whoever closes the survey.
    with force_locale(current_app.config["DEFAULT_LOCALE"]):
        project = campaign.project.label
        measures = [{"category": None, "name": _("Overall satisfaction"), "project": project,
                     "satisfied": mine.satisfied, "answered": mine.returned, "years": overall_years}]
        for r in category_rates([campaign], cat_ids):
            measures.append({"category": r.category.code, "name": r.category.label, "project": project,
                             "satisfied": r.satisfied, "answered": r.answered,
                             "years": {y: found[r.category.id] for y, found in cat_years.items()
                                       if r.category.id in found}})
        label = f"{project} {campaign.label}"
    answers = satisfaction_measured.send(campaign, label=label, target=Targets.current().satisfaction,
                                         measures=measures, actor=actor)
    return [made for _receiver, found in answers for made in (found or [])]
