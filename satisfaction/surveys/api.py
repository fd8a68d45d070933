"""JSON API for owner surveys: campaigns with their rates, and returned forms.

The same services and validation as the pages; errors come back as the standard JSON
error body with per-field messages.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from api.helpers import PROJECT_PARAMS, check_args, json_body, page_json, project_filter_arg, with_project_id
from api.openapi import PAGE_PARAMS, ApiSection, error_responses, page_response, query_param
from records.permissions import RECORDS_READ, RECORDS_WRITE
from records.scope import project_ids
from satisfaction.surveys import service
from satisfaction.surveys.rates import (
    Targets,
    campaign_rates,
    category_rates,
    rates_for,
    rating_histogram,
    satisfied_definition,
)
from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.permissions import permission_required

bp = Blueprint("surveys_api", __name__, url_prefix="/api/v1/survey-campaigns")


def campaign_json(campaign, rates, *, detail: bool = False, categories=None) -> dict:
    """``categories``: the campaign's rated categories when already loaded (lists load them for all at once)."""
    categories = service.categories_of(campaign) if categories is None else categories
    body = {
        "id": campaign.id, "project": {"id": campaign.project_id, "code": campaign.project.code,
                                       "name": campaign.project.label},
        "year": campaign.year, "period": campaign.period, "label": campaign.label, "status": campaign.status,
        "voided": campaign.voided, "void_reason": campaign.void_reason or None,
        "households": campaign.households, "distributed": campaign.distributed,
        "distributed_on": campaign.distributed_on.isoformat() if campaign.distributed_on else None,
        "categories": [{"id": c.id, "code": c.code, "name": c.label} for c in categories],
        "version": campaign.version, "rates": rates.as_dict(),
        "rating_scale": [{**level.as_json(), "label": level.label} for level in campaign.scale.levels],
        "satisfied_definition": satisfied_definition(campaign.scale),
    }
    if detail:
        body["category_rates"] = [c.as_dict() for c in category_rates([campaign], [c.id for c in categories],
                                                                      rates.targets)]
        body["overall_ratings"] = {str(line.value): line.forms for line in rating_histogram([campaign])}
        body["corrective_actions"] = [{"id": a.id, "number": a.number, "status": a.status}
                                      for a in service.corrective_actions(campaign)]
    return body


def _int_arg(name: str):
    value = request.args.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationError(_l("Enter a whole number."), errors={name: [_l("Enter a whole number.")]}) from None


#: What each endpoint accepts: the API checks requests against these, the OpenAPI document shows them.
LIST_PARAMS = [query_param("year", type="integer"), *PROJECT_PARAMS, query_param("include_voided", type="boolean")]
RESPONSES_PARAMS = [query_param("show", "default live", type="string", enum=["live", "voided", "all"]),
                    PAGE_PARAMS[0], query_param("per_page", "items per page", type="integer", maximum=1000)]


@bp.get("")
@permission_required(RECORDS_READ)
def list_campaigns():
    check_args(LIST_PARAMS)
    project_id = project_filter_arg()
    stmt = service.campaigns_stmt(year=_int_arg("year"), project_id=project_id,
                                  project_ids=project_ids(current_user),
                                  include_voided=request.args.get("include_voided") in ("1", "true"))
    campaigns = list(db.session.execute(stmt).scalars())
    rates = rates_for(campaigns, Targets.current())
    categories = service.categories_for(campaigns)
    return jsonify(items=[campaign_json(c, rates[c.id], categories=categories[c.id]) for c in campaigns])


@bp.post("")
@permission_required(RECORDS_WRITE)
def create_campaign():
    data = with_project_id(json_body("SurveyCampaignInput"))
    if "categories" in data and "category_ids" not in data:
        data = {**data, "category_ids": data["categories"]}
    campaign = service.create_campaign(data, actor=current_user)
    return jsonify(campaign_json(campaign, campaign_rates(campaign), detail=True)), 201


@bp.get("/<int:campaign_id>")
@permission_required(RECORDS_READ)
def get_campaign(campaign_id: int):
    check_args()
    campaign = service.get_campaign(campaign_id)
    return jsonify(campaign_json(campaign, campaign_rates(campaign), detail=True))


@bp.get("/<int:campaign_id>/responses")
@permission_required(RECORDS_READ)
def list_responses(campaign_id: int):
    check_args(RESPONSES_PARAMS)
    campaign = service.get_campaign(campaign_id)
    show = request.args.get("show", "live")
    if show not in ("live", "voided", "all"):
        show = "live"
    categories = service.categories_of(campaign)
    scale = campaign.scale
    return page_json(service.responses_stmt(campaign, voided=show),
                     lambda r: service.response_dict(r, categories, scale), per_page=100, max_per_page=1000)


@bp.post("/<int:campaign_id>/responses")
@permission_required(RECORDS_WRITE)
def create_response(campaign_id: int):
    campaign = service.get_campaign(campaign_id)
    data = json_body("SurveyResponseInput")
    source = data.get("source") or "api"
    if source not in ("api", "paper"):
        raise ValidationError(_l("The source must be “paper” or “api”."),
                              errors={"source": [_l("The source must be “paper” or “api”.")]})
    response = service.create_response(campaign, data, actor=current_user, source=source)
    campaign = service.get_campaign(campaign_id)
    rates = campaign_rates(campaign)
    return jsonify(response=service.response_dict(response, service.categories_of(campaign), campaign.scale),
                   campaign=campaign_json(campaign, rates)), 201


_LEVEL = {"type": "object", "properties": {
    "value": {"type": "integer"}, "name": {"type": "string", "description": "Chinese label"},
    "name_en": {"type": "string"}, "label": {"type": "string", "description": "in the request's language"},
    "satisfied": {"type": "boolean", "description": "counts as satisfied"}}}
_RATES = {"type": "object", "properties": {
    "households": {"type": "integer"}, "distributed": {"type": "integer"}, "returned": {"type": "integer"},
    "satisfied": {"type": "integer"}, "distribution_rate": {"type": ["number", "null"]},
    "return_rate": {"type": ["number", "null"]}, "satisfaction_rate": {"type": ["number", "null"]},
    "flags": {"type": "object", "properties": {"distribution_low": {"type": "boolean"},
                                               "return_low": {"type": "boolean"},
                                               "satisfaction_low": {"type": "boolean"}}},
    "targets": {"type": "object"}}}
_CAMPAIGN = {"type": "object", "properties": {
    "id": {"type": "integer"}, "project": {"type": "object"}, "year": {"type": "integer"},
    "period": {"type": "string"}, "label": {"type": "string"}, "status": {"type": "string", "enum": ["open", "closed"]},
    "voided": {"type": "boolean"}, "void_reason": {"type": ["string", "null"]},
    "households": {"type": "integer"}, "distributed": {"type": "integer"},
    "distributed_on": {"type": ["string", "null"], "format": "date"},
    "categories": {"type": "array", "items": {"type": "object"}}, "version": {"type": "integer"},
    "rates": {"$ref": "#/components/schemas/SurveyRates"}, "satisfied_definition": {"type": "string"},
    "rating_scale": {"type": "array", "description": "The levels this campaign's forms are rated on, best first "
                     "(a copy of the rating-scale setting when the campaign was created).",
                     "items": {"$ref": "#/components/schemas/RatingLevel"}},
    "category_rates": {"type": "array", "items": {"type": "object"}},
    "overall_ratings": {"type": "object"}, "corrective_actions": {"type": "array", "items": {"type": "object"}}}}
_CAMPAIGN_IN = {"type": "object", "required": ["year"], "description": "Name the project by `project` (code) or "
                "`project_id`.", "properties": {
    "project": {"type": "string", "description": "project code"},
    "project_id": {"type": "integer", "description": "project id (or project)"},
    "year": {"type": "integer", "description": "from the first year of the accepted date range to next year"},
    "period": {"type": "string", "maxLength": 40},
    "households": {"type": "integer", "minimum": 1, "description": "Defaults to the project's households."},
    "distributed": {"type": "integer", "minimum": 0, "description": "At most households."},
    "distributed_on": {"type": "string", "format": "date", "description": "Not in the future."},
    "category_ids": {"type": "array", "items": {"type": ["integer", "string"]},
                     "description": "Category ids or codes; defaults to every active category."},
    "categories": {"type": "array", "items": {"type": ["integer", "string"]},
                   "description": "Same as category_ids."}}}
_RESPONSE_IN = {"type": "object", "required": ["overall"], "properties": {
    "overall": {"type": ["integer", "string"], "description": "A value of the campaign's rating_scale, or one of "
                "its labels (Chinese or English), e.g. 3 or 满意"},
    "ratings": {"type": "object", "additionalProperties": {"type": ["integer", "string", "null"]},
                "description": "Category code (or id) -> a value or label of the campaign's rating_scale; null or "
                               "absent = not answered."},
    "room": {"type": "string", "maxLength": 40}, "comments": {"type": "string", "maxLength": 2000},
    "source": {"type": "string", "enum": ["api", "paper"], "default": "api"}}}
_RESPONSE = {"type": "object", "properties": {
    "id": {"type": "integer"},
    "number": {"type": "integer", "description": "the form's number in its campaign (1, 2, 3 … in the order entered)"},
    "campaign_id": {"type": "integer"}, "room": {"type": "string"},
    "overall": {"type": "integer"}, "overall_label": {"type": "string"}, "ratings": {"type": "object"},
    "comments": {"type": "string"},
    "source": {"type": "string"}, "entered_at": {"type": "string", "format": "date-time"},
    "entered_by": {"type": ["string", "null"], "description": "login"},
    "voided": {"type": "boolean"}, "void_reason": {"type": ["string", "null"]}}}


def _json(ref: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


OPENAPI = ApiSection({
    "/survey-campaigns": {
        "get": {"summary": "Owner survey campaigns with their rates (your projects)", "tags": ["surveys"],
                "parameters": LIST_PARAMS,
                "responses": {"200": {"description": "campaigns", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"items": {"type": "array", "items": {
                        "$ref": "#/components/schemas/SurveyCampaign"}}}}}}},
                    **error_responses(400, 401, 403)}},
        "post": {"summary": "Create a survey campaign", "tags": ["surveys"],
                 "requestBody": {"required": True, "content": _json("SurveyCampaignInput")},
                 "responses": {"201": {"description": "created", "content": _json("SurveyCampaign")},
                               **error_responses(400, 401, 403, 404, 409)}},
    },
    "/survey-campaigns/{campaign_id}": {
        "get": {"summary": "A campaign with its rates, per-category rates and corrective actions", "tags": ["surveys"],
                "parameters": [{"name": "campaign_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "campaign", "content": _json("SurveyCampaign")},
                              **error_responses(400, 401, 403, 404)}},
    },
    "/survey-campaigns/{campaign_id}/responses": {
        "get": {"summary": "Returned forms of a campaign, newest first", "tags": ["surveys"],
                "parameters": [{"name": "campaign_id", "in": "path", "required": True,
                                "schema": {"type": "integer"}}, *RESPONSES_PARAMS],
                "responses": {"200": page_response("forms", {"$ref": "#/components/schemas/SurveyResponse"},
                                                   page_numbers=True),
                              **error_responses(400, 401, 403, 404)}},
        "post": {"summary": "Enter one returned form (refused when returned would exceed distributed)",
                 "tags": ["surveys"],
                 "parameters": [{"name": "campaign_id", "in": "path", "required": True,
                                 "schema": {"type": "integer"}}],
                 "requestBody": {"required": True, "content": _json("SurveyResponseInput")},
                 "responses": {"201": {"description": "saved; the campaign's updated rates are included",
                                       "content": {"application/json": {"schema": {"type": "object", "properties": {
                                           "response": {"$ref": "#/components/schemas/SurveyResponse"},
                                           "campaign": {"$ref": "#/components/schemas/SurveyCampaign"}}}}}},
                               **error_responses(400, 401, 403, 404, 409)}},
    },
}, {"SurveyRates": _RATES, "RatingLevel": _LEVEL, "SurveyCampaign": _CAMPAIGN, "SurveyCampaignInput": _CAMPAIGN_IN,
    "SurveyResponseInput": _RESPONSE_IN, "SurveyResponse": _RESPONSE})
