"""Survey campaigns and returned forms: create, edit, close, enter, void.

Plain functions used alike by the pages, the JSON API and the XLSX import. They validate
everything, raise :mod:`webapp.exceptions` errors, write the audit log in the same
transaction and commit. Forms returned are counted under a row lock on the campaign, so
two clerks entering the last forms at the same moment cannot push returned past distributed.
"""
from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.exc import StaleDataError

from accounts.models import Project
from actions.service import actions_for
from audit import service as audit
from records import validation as v
from records.numbering import next_value
from records.scope import check_project
from records.voiding import VoidRules, void
from satisfaction.categories import list_categories
from satisfaction.models import ServiceCategory
from satisfaction.settings import rating_scale
from satisfaction.surveys.measured import report_measured
from satisfaction.surveys.models import (
    SurveyAnswer,
    SurveyCampaign,
    SurveyFormSequence,
    SurveyResponse,
    number_scope,
)
from satisfaction.surveys.rates import campaign_rates, returned_count
from satisfaction.surveys.scale import Scale, satisfied_definition
from webapp.dates import date_bounds, local_today
from webapp.db import utcnow
from webapp.exceptions import Conflict, InvalidTransition, NotFound, ValidationError
from webapp.extensions import db
from webapp.formatting import fmt_percent
from webapp.i18n import REQUIRED, _l
from webapp.signals import campaign_below_target

CAMPAIGN_FIELDS = ("project_id", "year", "period", "households", "distributed", "distributed_on", "category_ids",
                   "rating_scale", "status", "closed_at", "voided_at", "void_reason")
RESPONSE_FIELDS = ("campaign_id", "number", "room", "overall", "comments", "source", "voided_at", "void_reason")

ROOM_MAX = 40
COMMENTS_MAX = 2000
PERIOD_MAX = 40


def year_range(today: date | None = None) -> tuple[int, int]:
    """The survey years that may be entered: from the first year of the accepted date range
    (``DATE_EARLIEST``) to next year, and never past the range's last year."""
    today = today or local_today()
    earliest, latest = date_bounds(today)
    return earliest.year, min(today.year + 1, latest.year)


def _raise(errors: dict) -> None:
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationError(first, errors=errors)


def _int(data: dict, key: str, errors: dict, *, required=True, minimum=None, maximum=None, message=None):
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.setdefault(key, []).append(REQUIRED)
        return None
    if isinstance(value, bool):
        value = None
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str):
        value = int(value.strip()) if value.strip().lstrip("-").isdecimal() else None
    if not isinstance(value, int):
        errors.setdefault(key, []).append(_l("Enter a whole number."))
        return None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        errors.setdefault(key, []).append(message or _l("Enter a number between %(min)s and %(max)s.",
                                                          min=minimum, max=maximum))
        return None
    return value


def _text(data: dict, key: str, errors: dict, max_len: int) -> str:
    value = data.get(key)
    value = "" if value is None else str(value).strip()
    if len(value) > max_len:
        errors.setdefault(key, []).append(_l("At most %(n)d characters.", n=max_len))
    return value


# ---------------------------------------------------------------- campaigns

def get_campaign(campaign_id, user=None) -> SurveyCampaign:
    """The campaign, when it exists and the user works on its project (else NotFound/PermissionDenied)."""
    try:
        campaign = db.session.get(SurveyCampaign, int(campaign_id))
    except (TypeError, ValueError):
        campaign = None
    if campaign is None:
        raise NotFound(_l("This survey does not exist."))
    check_project(campaign.project_id, user)
    return campaign


def campaigns_stmt(*, year: int | None = None, project_id: int | None = None, project_ids=None,
                   include_voided: bool = False):
    """Campaigns filtered by year/project, limited to ``project_ids`` (None = all), newest year first."""
    stmt = select(SurveyCampaign).join(Project).options(contains_eager(SurveyCampaign.project))
    if year is not None:
        stmt = stmt.where(SurveyCampaign.year == year)
    if project_id is not None:
        stmt = stmt.where(SurveyCampaign.project_id == project_id)
    if project_ids is not None:
        stmt = stmt.where(SurveyCampaign.project_id.in_(project_ids or [-1]))
    if not include_voided:
        stmt = stmt.where(SurveyCampaign.voided_at.is_(None))
    return stmt.order_by(SurveyCampaign.year.desc(), Project.code, SurveyCampaign.period, SurveyCampaign.id)


def campaign_years(project_ids) -> list[int]:
    """Years that have campaigns (visible to the user), newest first, always including this year."""
    stmt = select(SurveyCampaign.year).distinct()
    if project_ids is not None:
        stmt = stmt.where(SurveyCampaign.project_id.in_(project_ids or [-1]))
    years = set(db.session.execute(stmt).scalars()) | {local_today().year}
    return sorted(years, reverse=True)


def categories_of(campaign: SurveyCampaign) -> list[ServiceCategory]:
    """The campaign's rated categories, in the order of its form."""
    return categories_for([campaign])[campaign.id]


def categories_for(campaigns) -> dict[int, list[ServiceCategory]]:
    """campaign id -> its rated categories in form order, for many campaigns in one query."""
    campaigns = list(campaigns)
    ids = {int(i) for c in campaigns for i in c.category_ids or []}
    found = {c.id: c for c in db.session.execute(
        select(ServiceCategory).where(ServiceCategory.id.in_(sorted(ids) or [-1]))).scalars()}
    return {c.id: [found[int(i)] for i in c.category_ids or [] if int(i) in found] for c in campaigns}


def _category_ids(value, errors: dict) -> list[int]:
    """Ids or codes of active categories → ids (unknown ones are an error, duplicates dropped)."""
    if value is None:
        return [c.id for c in list_categories()]
    if isinstance(value, str | int):
        value = [value]
    if not isinstance(value, list | tuple):
        errors.setdefault("category_ids", []).append(_l("Unknown service category."))
        return []
    active = list_categories()
    by_id = {c.id: c for c in active}
    by_code = {c.code: c for c in active}
    result: list[int] = []
    for item in value:
        cat = None
        if isinstance(item, int) and not isinstance(item, bool):
            cat = by_id.get(item)
        elif isinstance(item, str):
            cat = by_id.get(int(item)) if item.strip().isdecimal() else by_code.get(item.strip())
        if cat is None:
            errors.setdefault("category_ids", []).append(
                _l("Unknown service category: %(value)s", value=str(item)[:40]))
        elif cat.id not in result:
            result.append(cat.id)
    return result


def _clean_campaign(data: dict, campaign: SurveyCampaign | None, user) -> dict:
    """Validate campaign input (form or API) → clean values; ValidationError names each field."""
    errors: dict = {}
    today = local_today()
    values: dict = {}
    if campaign is None:
        project = None
        if data.get("project_id") in (None, ""):
            errors["project_id"] = [REQUIRED]
        else:
            project = check_project(data["project_id"], user)  # 403 for another project, 404 unknown
            values["project_id"] = project.id
        first, last = year_range(today)
        values["year"] = _int(data, "year", errors, minimum=first, maximum=last,
                              message=_l("Enter a year between %(min)s and %(max)s.", min=first, max=last))
        households_default = project.households if project is not None else None
    else:
        values["project_id"], values["year"] = campaign.project_id, campaign.year
        households_default = campaign.households
    values["period"] = _text(data, "period", errors, PERIOD_MAX) if "period" in data or campaign is None \
        else campaign.period
    if data.get("households") in (None, "") and households_default:
        values["households"] = households_default
    else:
        values["households"] = _int(data, "households", errors, minimum=1, maximum=1_000_000,
                                    message=_l("Occupied households must be more than 0."))
    if "distributed" in data or campaign is None:
        values["distributed"] = _int(data, "distributed", errors, required=False, minimum=0, maximum=1_000_000,
                                     message=_l("Enter a number of forms of 0 or more.")) or 0
    else:
        values["distributed"] = campaign.distributed
    # The shared date cleaner: the same format and range as every other date in ProcDesk.
    values["distributed_on"] = v.day(
        data, "distributed_on", errors, not_future=True,
        future_message=_l("The distribution date cannot be in the future.")) \
        if "distributed_on" in data or campaign is None else campaign.distributed_on
    if values["distributed"] and values["distributed_on"] is None and "distributed_on" not in errors:
        errors["distributed_on"] = [_l("Enter the date the forms were distributed.")]
    if values["households"] and values["distributed"] is not None and values["distributed"] > values["households"]:
        errors.setdefault("distributed", []).append(_l(
            "Forms distributed (%(d)s) cannot be more than the occupied households (%(h)s).",
            d=values["distributed"], h=values["households"]))
    if values["year"] is not None and values["year"] > today.year and values["distributed"]:
        errors.setdefault("distributed", []).append(_l("Forms cannot have been distributed for a future year."))
    if "category_ids" in data or campaign is None:
        values["category_ids"] = _category_ids(data.get("category_ids"), errors)
    else:
        values["category_ids"] = list(campaign.category_ids or [])
    _raise(errors)
    return values


def _slot(project_id: int, year: int, period: str) -> str:
    return f"{project_id}:{year}:{period}"


def _slot_taken(slot: str, exclude_id: int | None) -> bool:
    stmt = select(SurveyCampaign.id).where(SurveyCampaign.slot == slot)
    if exclude_id is not None:
        stmt = stmt.where(SurveyCampaign.id != exclude_id)
    return db.session.execute(stmt).first() is not None


def _duplicate() -> Conflict:
    return Conflict(_l("This project already has a survey for that year and period."))


def _flush_or_conflict() -> None:
    """Flush; a concurrent edit (version) or a concurrent twin (slot) becomes a Conflict."""
    from sqlalchemy.exc import IntegrityError

    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(_l("Someone else changed this survey at the same time. Reload and try again.")) from None
    except IntegrityError:
        db.session.rollback()
        raise _duplicate() from None


def create_campaign(data: dict, *, actor) -> SurveyCampaign:
    """Create a campaign in a project the actor works on; households default to the project's."""
    values = _clean_campaign(data, None, actor)
    slot = _slot(values["project_id"], values["year"], values["period"])
    if _slot_taken(slot, None):
        raise _duplicate()
    now = utcnow()
    # The campaign keeps the scale it is run with: a later change of the setting never rewrites its forms.
    campaign = SurveyCampaign(**values, slot=slot, rating_scale=rating_scale().as_json(), status="open",
                              created_at=now, updated_at=now, created_by_id=getattr(actor, "id", None),
                              void_reason="")
    db.session.add(campaign)
    _flush_or_conflict()
    audit.record("survey_campaign.created", campaign, after=audit.snapshot(campaign, CAMPAIGN_FIELDS), actor=actor)
    db.session.commit()
    return campaign


def check_version(campaign: SurveyCampaign, version) -> None:
    """The form's version must still be the campaign's: otherwise someone else saved in between."""
    if version in (None, ""):
        return
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise ValidationError(_l("The form is missing its version; reload the page.")) from None
    if version != campaign.version:
        raise Conflict(_l("Someone else changed this survey at the same time. Reload and try again."),
                       current_version=campaign.version)


def lock_campaign(campaign: SurveyCampaign) -> SurveyCampaign:
    """Re-read the campaign with a row lock (PostgreSQL) so counts checked against it stay true."""
    return db.session.execute(
        select(SurveyCampaign).where(SurveyCampaign.id == campaign.id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()


def update_campaign(campaign: SurveyCampaign, data: dict, *, actor, version=None) -> SurveyCampaign:
    """Edit households, forms distributed (and date), period and — before any form is in — the questions."""
    if campaign.voided:
        raise InvalidTransition(_l("This survey has been voided."))
    check_version(campaign, version)
    campaign = lock_campaign(campaign)
    check_version(campaign, version)
    values = _clean_campaign(data, campaign, actor)
    returned = returned_count(campaign.id)
    errors: dict = {}
    if values["distributed"] < returned:
        errors["distributed"] = [_l("%(n)d forms have already been entered; forms distributed cannot be fewer.",
                                    n=returned)]
    if values["category_ids"] != list(campaign.category_ids or []) and has_responses(campaign.id):
        errors["category_ids"] = [_l("The questions cannot change once forms have been entered.")]
    _raise(errors)
    slot = _slot(campaign.project_id, campaign.year, values["period"])
    if _slot_taken(slot, campaign.id):
        raise _duplicate()
    before = audit.snapshot(campaign, CAMPAIGN_FIELDS)
    for key in ("period", "households", "distributed", "distributed_on", "category_ids"):
        setattr(campaign, key, values[key])
    campaign.slot = slot
    after = audit.snapshot(campaign, CAMPAIGN_FIELDS)
    if after == before:  # nothing changed: no new version, no audit entry
        db.session.rollback()
        return campaign
    campaign.updated_at = utcnow()
    _flush_or_conflict()
    audit.record("survey_campaign.updated", campaign, before=before, after=after, actor=actor)
    db.session.commit()
    return campaign


def has_responses(campaign_id: int) -> bool:
    return db.session.execute(select(SurveyResponse.id).where(SurveyResponse.campaign_id == campaign_id)
                              .limit(1)).first() is not None


def close_campaign(campaign: SurveyCampaign, *, actor, version=None):
    """Close the campaign; below the satisfaction target, open a corrective action (once per campaign).

    Returns ``(campaign, action or None)``; the action is the one opened now.
    """
    _set_status(campaign, "closed", actor=actor, version=version, already=_l("This survey is already closed."),
                audit_as="survey_campaign.closed")
    action = _corrective_action_if_below_target(campaign, actor)
    report_measured(campaign, actor)  # issue 11: the figures may propose preventive actions (actions.proposals)
    db.session.commit()
    return campaign, action


def _corrective_action_if_below_target(campaign: SurveyCampaign, actor):
    """Procedure 4.4.1: below the satisfaction target, say so (:data:`campaign_below_target`).

    The actions feature answers with the corrective action it opened (only once per campaign);
    returns it, or None.
    """
    rates = campaign_rates(campaign)
    if not rates.satisfaction_low:
        return None
    # The action is a company record: written in the company's language, whoever closes the survey.
    with force_locale(current_app.config["DEFAULT_LOCALE"]):
        title, description = _action_text(campaign, rates)
    results = campaign_below_target.send(campaign, rate=rates.satisfaction_rate, target=rates.targets.satisfaction,
                                         title=title, description=description, actor=actor)
    return next((action for _receiver, action in results if action is not None), None)


def _action_text(campaign, rates) -> tuple[str, str]:
    title = _l("Owner survey %(survey)s of %(project)s: satisfaction %(rate)s below the %(target)s target",
               survey=campaign.label, project=campaign.project.name, rate=fmt_percent(rates.satisfaction_rate),
               target=fmt_percent(rates.targets.satisfaction, 0))
    description = _l("%(satisfied)d of %(returned)d returned forms are satisfied (%(definition)s). "
                     "Investigate the causes of dissatisfaction (procedure 4.4.2) and take corrective action.",
                     satisfied=rates.satisfied, returned=rates.returned,
                     definition=satisfied_definition(campaign.scale))
    return str(title)[:200], str(description)


def reopen_campaign(campaign: SurveyCampaign, *, actor, version=None) -> SurveyCampaign:
    """Reopen a closed campaign to enter late forms (its corrective action, if any, stays)."""
    _set_status(campaign, "open", actor=actor, version=version, already=_l("This survey is open already."),
                audit_as="survey_campaign.reopened")
    db.session.commit()
    return campaign


def _set_status(campaign: SurveyCampaign, status: str, *, actor, version, already, audit_as: str) -> None:
    """Move a live campaign to ``status`` (open or closed): checked, written and audited, not committed."""
    if campaign.voided:
        raise InvalidTransition(_l("This survey has been voided."))
    if campaign.status == status:
        raise InvalidTransition(already)
    check_version(campaign, version)
    before = audit.snapshot(campaign, CAMPAIGN_FIELDS)
    campaign.status = status
    campaign.updated_at = utcnow()
    campaign.closed_at = campaign.updated_at if status == "closed" else None
    _flush_or_conflict()
    audit.record(audit_as, campaign, before=before, after=audit.snapshot(campaign, CAMPAIGN_FIELDS), actor=actor)


def corrective_actions(campaign: SurveyCampaign) -> list:
    """The corrective actions opened for the campaign (when it closed below target)."""
    return actions_for("survey_campaign", campaign.id)


VOID_CAMPAIGN = VoidRules(audit_as="survey_campaign.voided", already=_l("This survey has already been voided."),
                          snapshot=lambda campaign: audit.snapshot(campaign, CAMPAIGN_FIELDS),
                          check_version=check_version, write=_flush_or_conflict, frees=("slot",))


def void_campaign(campaign: SurveyCampaign, *, reason, actor, version=None, now=None) -> SurveyCampaign:
    """Void a campaign entered by mistake: kept with its forms, excluded from every figure."""
    void(campaign, VOID_CAMPAIGN, reason=reason, actor=actor, version=version, now=now)
    db.session.commit()
    return campaign


# ---------------------------------------------------------------- responses

def check_can_enter(campaign: SurveyCampaign) -> None:
    if campaign.voided:
        raise InvalidTransition(_l("This survey has been voided."))
    if campaign.status != "open":
        raise InvalidTransition(_l("This survey is closed; reopen it to enter more forms."))


def room_full_message(distributed: int):
    return _l("All %(n)d distributed forms have been entered: forms returned cannot be more than forms "
              "distributed. Correct the number distributed first.", n=distributed)


def clean_response(campaign: SurveyCampaign, data: dict, categories: list[ServiceCategory] | None = None) -> dict:
    """Validate one form (form post, API or import row) → clean values.

    ``data``: ``overall`` and ``ratings`` {category id or code: rating or blank}, each a value of the
    campaign's scale or one of its labels; ``room``, ``comments``. Errors are keyed ``overall``,
    ``room``, ``comments`` and ``rating_<id>``.
    """
    categories = categories if categories is not None else categories_of(campaign)
    scale = campaign.scale
    errors: dict = {}
    overall = None
    try:
        overall = scale.parse(data.get("overall"))
        if overall is None:
            errors["overall"] = [_l("The overall rating is required.")]
    except ValueError:
        errors["overall"] = [scale.range_message()]
    ratings_in = data.get("ratings") or {}
    if not isinstance(ratings_in, dict):
        errors["ratings"] = [_l("Ratings must map each category to a rating.")]
        ratings_in = {}
    by_key = {}
    for c in categories:
        by_key[str(c.id)] = c
        by_key[c.code] = c
    ratings: dict[int, int] = {}
    for key, value in ratings_in.items():
        cat = by_key.get(str(key))
        if cat is None:
            errors.setdefault("ratings", []).append(
                _l("“%(value)s” is not a question of this survey.", value=str(key)[:40]))
            continue
        try:
            rating = scale.parse(value)
        except ValueError:
            errors[f"rating_{cat.id}"] = [scale.range_message()]
            continue
        if rating is not None:
            ratings[cat.id] = rating
    room = _text(data, "room", errors, ROOM_MAX)
    comments = _text(data, "comments", errors, COMMENTS_MAX)
    _raise(errors)
    return {"overall": overall, "ratings": ratings, "room": room, "comments": comments}


def create_response(campaign: SurveyCampaign, data: dict, *, actor, source: str = "paper") -> SurveyResponse:
    """Enter one returned form. Refused when the campaign is closed or returned would pass distributed."""
    check_can_enter(campaign)
    values = clean_response(campaign, data)
    campaign = lock_campaign(campaign)
    check_can_enter(campaign)
    if returned_count(campaign.id) + 1 > campaign.distributed:
        raise ValidationError(room_full_message(campaign.distributed),
                              errors={"overall": [room_full_message(campaign.distributed)]})
    # The next number of this campaign's forms (the counter row stays locked until the commit).
    number = next_value(SurveyFormSequence, number_scope(campaign.id))
    response = SurveyResponse(campaign_id=campaign.id, number=number, room=values["room"], overall=values["overall"],
                              comments=values["comments"], source=source, entered_at=utcnow(),
                              entered_by_id=getattr(actor, "id", None), void_reason="")
    response.answers = [SurveyAnswer(category_id=cid, rating=r) for cid, r in values["ratings"].items()]
    db.session.add(response)
    audit.record("survey_response.created", response,
                 after={**audit.snapshot(response, RESPONSE_FIELDS),
                        "ratings": {str(k): v for k, v in values["ratings"].items()}}, actor=actor)
    db.session.commit()
    return response


def get_response(campaign: SurveyCampaign, response_id) -> SurveyResponse:
    try:
        response = db.session.get(SurveyResponse, int(response_id))
    except (TypeError, ValueError):
        response = None
    if response is None or response.campaign_id != campaign.id:
        raise NotFound(_l("This survey form does not exist."))
    return response


VOID_RESPONSE = VoidRules(audit_as="survey_response.voided", already=_l("This form has already been voided."),
                          snapshot=lambda response: audit.snapshot(response, RESPONSE_FIELDS))


def void_response(response: SurveyResponse, *, reason, actor, version=None, now=None) -> SurveyResponse:
    """Void a form entered by mistake: it stays on record, excluded from returned and every rate.
    Forms have no lock version: ``version`` is accepted and not checked."""
    void(response, VOID_RESPONSE, reason=reason, actor=actor, now=now)
    db.session.commit()
    return response


def responses_stmt(campaign: SurveyCampaign, *, voided: str = "live"):
    """A campaign's forms, newest first. ``voided``: live (default), voided, or all."""
    stmt = select(SurveyResponse).where(SurveyResponse.campaign_id == campaign.id)
    if voided == "live":
        stmt = stmt.where(SurveyResponse.voided_at.is_(None))
    elif voided == "voided":
        stmt = stmt.where(SurveyResponse.voided_at.is_not(None))
    return stmt.order_by(SurveyResponse.id.desc())


def response_dict(response: SurveyResponse, categories: list[ServiceCategory], scale: Scale) -> dict:
    """A form as JSON: ratings keyed by category code (blank = not answered); ``scale``: its campaign's."""
    got = response.ratings()
    return {
        "id": response.id, "number": response.number, "campaign_id": response.campaign_id, "room": response.room,
        "overall": response.overall, "overall_label": scale.label(response.overall), "ratings": {c.code: got.get(c.id) for c in categories},
        "comments": response.comments, "source": response.source,
        "entered_at": response.entered_at.isoformat(), "entered_by": getattr(response.entered_by, "login", None),
        "voided": response.voided, "void_reason": response.void_reason or None,
    }

