"""JSON API for caring services: list (filters) and create, with the same validation as the form."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from accounts.models import User
from api.helpers import (
    PROJECT_PARAMS,
    check_args,
    json_body,
    page_json,
    project_filter_arg,
    voided_arg,
    with_project_id,
)
from api.openapi import PAGE_PARAMS, ApiSection, error_responses, list_and_create, query_param
from records.permissions import RECORDS_READ, RECORDS_WRITE
from records.validation import user_ids
from satisfaction.caring import service
from webapp.dates import local_today
from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.permissions import permission_required

bp = Blueprint("caring_api", __name__, url_prefix="/api/v1/caring-services")


def service_json(r) -> dict:
    return {
        "id": r.id, "served_on": r.served_on.isoformat(),
        "project": {"id": r.project_id, "code": r.project.code, "name": r.project.label},
        "staff": {"id": r.staff_id, "login": r.staff.login, "name": r.staff.display_name},
        "household": r.household, "service": r.service, "minutes": r.minutes, "owner_comment": r.owner_comment,
        "created_at": r.created_at.isoformat(), "voided": r.voided, "void_reason": r.void_reason or None,
    }


def _int_arg(name: str, lo: int, hi: int):
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not lo <= value <= hi:
        message = _l("Enter a number between %(min)s and %(max)s.", min=lo, max=hi)
        raise ValidationError(message, errors={name: [message]})
    return value


#: What each endpoint accepts: the API checks requests against these, the OpenAPI document shows them.
LIST_PARAMS = [
    *PROJECT_PARAMS, query_param("staff", "staff login"), query_param("year", type="integer"),
    query_param("month", type="integer", minimum=1, maximum=12), query_param("q"),
    query_param("voided", "default: valid records only", type="string", enum=["", "only", "all"]), *PAGE_PARAMS]
MONTHLY_PARAMS = [query_param("year", "default: this year", type="integer")]


@bp.get("")
@permission_required(RECORDS_READ)
def list_services():
    check_args(LIST_PARAMS)
    project_id = project_filter_arg()
    staff_id = None
    if request.args.get("staff"):
        staff_id = db.session.execute(select(User.id).where(User.login == request.args["staff"])).scalar() or -1
    year, month = _int_arg("year", 2000, 2100), _int_arg("month", 1, 12)
    if month and not year:
        raise ValidationError(_l("Give the year with the month."), errors={"year": [_l("Give the year with the month.")]})
    stmt = service.list_services(user=current_user, project_id=project_id, staff_id=staff_id, year=year,
                                 month=month, q=(request.args.get("q") or "")[:100], voided=voided_arg())
    return page_json(stmt, service_json, per_page=100, max_per_page=1000)


@bp.get("/monthly")
@permission_required(RECORDS_READ)
def monthly():
    check_args(MONTHLY_PARAMS)
    year = _int_arg("year", 2000, 2100) or local_today().year
    counts = service.monthly_counts(year, user=current_user)

    def row(r):
        return {"key": r["key"], "name": r["label"], "count": r["count"], "minutes": r["minutes"],
                "months": {str(m): {"count": c, "minutes": mins} for m, (c, mins) in sorted(r["months"].items())}}

    return jsonify(year=year, projects=[dict(row(r), code=r["sort"]) for r in counts["projects"]],
                   staff=[row(r) for r in counts["staff"]], totals=row(counts["totals"]))


@bp.post("")
@permission_required(RECORDS_WRITE)
def create_service():
    data = dict(with_project_id(json_body("CaringServiceCreate")))
    if data.get("staff") and not data.get("staff_id"):
        data["staff_id"] = user_ids([data["staff"]])[0]
    record = service.create_service(data, actor=current_user)
    return jsonify(service_json(record)), 201


OPENAPI = ApiSection({
    "/caring-services": list_and_create(
        "caring services", "CaringService", parameters=LIST_PARAMS,
        list_summary="Caring services (亲情服务) you may see, newest first", create_summary="Record a caring service"),
    "/caring-services/monthly": {"get": {
        "summary": "Valid caring services per project and staff member, by month", "tags": ["caring services"],
        "parameters": MONTHLY_PARAMS,
        "responses": {"200": {"description": "counts and minutes"}, **error_responses(400, 401, 403)}}},
}, {
    "CaringService": {"type": "object", "properties": {
        "id": {"type": "integer"}, "served_on": {"type": "string", "format": "date"}, "project": {"type": "object"},
        "staff": {"type": "object"}, "household": {"type": "string"}, "service": {"type": "string"},
        "minutes": {"type": "integer"}, "owner_comment": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"}, "voided": {"type": "boolean"},
        "void_reason": {"type": ["string", "null"]}}},
    "CaringServiceCreate": {"type": "object", "required": ["served_on", "household", "service", "minutes"],
                            "properties": {
        "project": {"type": "string", "description": "project code (or project_id)"},
        "project_id": {"type": "integer"}, "served_on": {"type": "string", "format": "date",
                                                         "description": "local date, not in the future; within the accepted range"},
        "staff": {"type": "string", "description": "login (default: you)"}, "staff_id": {"type": "integer"},
        "household": {"type": "string", "maxLength": 60}, "service": {"type": "string", "maxLength": 120},
        "minutes": {"type": "integer", "minimum": 1, "maximum": 1440},
        "owner_comment": {"type": "string", "maxLength": 2000}}},
})
