"""The dashboard's chart data as JSON: the same figures as the tables under the charts."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from api.helpers import check_args
from api.openapi import ApiSection, error_responses, query_param
from records.permissions import RECORDS_READ
from records.stats import LABELS, SMALL_SAMPLE
from satisfaction.analysis import figures
from satisfaction.analysis.snapshot import snapshot
from webapp.permissions import permission_required

bp = Blueprint("dashboard_api", __name__, url_prefix="/api/v1/satisfaction")

PARAMS = [query_param("year", "the year (default: this year)", type="integer"),
          query_param("project", "a project code (default: every project you may see)")]


@bp.get("/dashboard")
@permission_required(RECORDS_READ)
def dashboard():
    args = check_args(PARAMS)
    sel = figures.selection(current_user, figures.year_arg(args.get("year"), strict=True), args.get("project") or None)
    response = jsonify(snapshot(sel).data)
    response.headers["Cache-Control"] = "private, no-store"
    return response


_NUMBER = {"type": ["number", "null"]}
_RATE = {"type": "object", "additionalProperties": False,
         "required": ["successes", "n", "value", "low", "high", "label", "small_sample", "below_target"],
         "description": "successes of n with the 95 % Wilson interval and the reading against the target "
                        "(null value, interval and label when n is 0).",
         "properties": {"successes": {"type": "integer"}, "n": {"type": "integer"}, "value": _NUMBER,
                        "low": _NUMBER, "high": _NUMBER,
                        "label": {"type": ["string", "null"], "enum": [*LABELS, None]},
                        "small_sample": {"type": "boolean", "description": f"fewer than {SMALL_SAMPLE} answers"},
                        "below_target": {"type": "boolean", "description": "the procedure's rule: the estimate "
                                                                           "is below the target"}}}
_SURVEY_PROPS = {
    "households": {"type": "integer", "description": "occupied households, once per project and year"},
    "distributed": {"type": "integer"}, "returned": {"type": "integer"}, "satisfied": {"type": "integer"},
    "distribution_rate": _NUMBER, "return_rate": _NUMBER,
    "distribution_below_target": {"type": "boolean"}, "return_below_target": {"type": "boolean"},
    "satisfaction": {"$ref": "#/components/schemas/DashboardRate"}}
_SURVEY = {"type": "object", "required": list(_SURVEY_PROPS), "properties": _SURVEY_PROPS}
_REF = {"type": "object", "additionalProperties": False, "required": ["id", "code", "name"],
        "properties": {"id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"}}}


def _ratio(num: str, den: str) -> dict:
    return {"type": "object", "additionalProperties": False, "required": [num, den, "rate"],
            "properties": {num: {"type": "integer"}, den: {"type": "integer"}, "rate": _NUMBER}}


def _closed(schema: dict) -> dict:
    return {"type": "object", "additionalProperties": False, "required": list(schema), "properties": schema}


def _extends(ref: str, properties: dict | None = None) -> dict:
    """Component ``ref`` plus ``properties`` (all required), nothing else."""
    properties = properties or {}
    return {"allOf": [{"$ref": f"#/components/schemas/{ref}"}], "type": "object", "unevaluatedProperties": False,
            "required": list(properties), "properties": properties}


_COMPLAINT_PROPS = {
    "complaints": {"type": "integer"},
    "by_category": {"type": "object", "additionalProperties": {"type": "integer"},
                    "description": "complaints per service category code"},
    "on_time_response": _ratio("on_time", "due"), "on_time_resolution": _ratio("on_time", "due"),
    "handling_satisfaction": _ratio("satisfied", "follow_ups")}
_COMPLAINTS = {"type": "object", "required": list(_COMPLAINT_PROPS), "properties": _COMPLAINT_PROPS}
_STRING = {"type": "string"}
_CAMPAIGN = _closed({"id": {"type": "integer"}, "label": _STRING})
_DASHBOARD = _closed({
    "year": {"type": "integer"},
    "scope": _closed({"kind": {"type": "string", "enum": ["company", "mine", "project"],
                               "description": "every project, the caller's projects, or one project"},
                      "label": {"type": "string", "description": "the totals line's name"},
                      "project": {"oneOf": [_REF, {"type": "null"}]}}),
    "targets": _closed({"distribution": {"type": "number"}, "return": {"type": "number"},
                        "satisfaction": {"type": "number"}}),
    "small_sample": {"type": "integer"},
    "labels": _closed({k: _STRING for k in LABELS}),
    "satisfied_definition": _STRING,
    "surveys": _closed({
        "totals": _extends("DashboardSurveyFigures"),
        "rows": {"type": "array", "description": "per project, or per campaign when one project is chosen",
                 "items": _extends("DashboardSurveyFigures", {"title": _STRING, "project": _REF, "campaigns": {
                     "type": "array", "items": _CAMPAIGN}})},
        "categories": {"type": "array", "items": _closed({
            "code": _STRING, "name": _STRING, "satisfaction": {"$ref": "#/components/schemas/DashboardRate"}})},
        "trend": {"type": "array", "items": _extends("DashboardSurveyFigures", {"year": {"type": "integer"}})}}),
    "complaints": _closed({
        "categories": {"type": "array", "items": _closed({"code": _STRING, "name": _STRING})},
        "months": {"type": "array", "items": _extends("DashboardComplaintFigures", {
            "month": {"type": "string", "pattern": r"^\d{4}-\d{2}$"}})},
        "totals": _extends("DashboardComplaintFigures"),
        "pareto": {"type": "array", "items": _closed({
            "code": _STRING, "name": _STRING, "complaints": {"type": "integer"}, "share": _NUMBER,
            "cumulative": _NUMBER, "vital": {"type": "boolean"}})},
        "definitions": {"type": "object", "additionalProperties": _STRING}}),
    "generated_at": {"type": "string", "format": "date-time"}})

OPENAPI = ApiSection({
    "/satisfaction/dashboard": {"get": {
        "summary": "The satisfaction dashboard's figures (the chart data; the same numbers as its tables)",
        "description": "Satisfaction, distribution and return rates for a year — the company's (or your "
                       "projects'), per project (per campaign when `project` is given) and per service category "
                       "— each satisfaction rate with its 95 % Wilson interval and reading; the rates of every "
                       "year; complaints per month and category, their Pareto, and the monthly summary's "
                       "on-time and handling-satisfaction rates.",
        "tags": ["surveys", "complaints"], "parameters": PARAMS,
        "responses": {"200": {"description": "the figures", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Dashboard"}}}}, **error_responses(400, 401, 403, 404)}}},
}, {"Dashboard": _DASHBOARD, "DashboardRate": _RATE, "DashboardSurveyFigures": _SURVEY,
    "DashboardComplaintFigures": _COMPLAINTS})
