"""JSON API for owners'-committee meetings: list (filters) and create, same validation as the form."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from api.helpers import (
    PROJECT_PARAMS,
    check_args,
    json_body,
    page_json,
    project_filter_arg,
    voided_arg,
    with_project_id,
)
from api.openapi import PAGE_PARAMS, ApiSection, list_and_create, query_param
from records import attachments
from records.permissions import RECORDS_READ, RECORDS_WRITE
from records.validation import user_ids
from satisfaction.meetings import service
from webapp.exceptions import ValidationError
from webapp.i18n import _l
from webapp.permissions import permission_required

bp = Blueprint("meetings_api", __name__, url_prefix="/api/v1/meetings")


def meeting_json(m) -> dict:
    return {
        "id": m.id, "held_on": m.held_on.isoformat(), "title": m.title, "location": m.location,
        "project": {"id": m.project_id, "code": m.project.code, "name": m.project.label},
        "attendees": m.attendee_list, "staff": [u.login for u in m.staff], "topics": m.topics,
        "minutes": m.minutes, "version": m.version, "voided": m.voided, "void_reason": m.void_reason or None,
        "issues": [{"id": i.id, "description": i.description, "category": i.category.code,
                    "entry": ({"id": i.entry.id, "number": i.entry.number, "kind": i.entry.kind,
                               "status": i.entry.status} if i.entry else None)} for i in m.issues],
    }


#: What the list accepts: the API checks requests against it, the OpenAPI document shows it.
LIST_PARAMS = [*PROJECT_PARAMS, query_param("year", type="integer"), query_param("q"),
               query_param("voided", "default: valid meetings only", type="string", enum=["", "only", "all"]),
               *PAGE_PARAMS]


@bp.get("")
@permission_required(RECORDS_READ)
def list_meetings():
    check_args(LIST_PARAMS)
    project_id = project_filter_arg()
    year = request.args.get("year")
    if year not in (None, "") and (not year.isdecimal() or not 2000 <= int(year) <= 2100):
        message = _l("Enter a number between %(min)s and %(max)s.", min=2000, max=2100)
        raise ValidationError(message, errors={"year": [message]})
    stmt = service.with_details(service.list_meetings(
        user=current_user, project_id=project_id, year=int(year) if year else None,
        q=(request.args.get("q") or "")[:100], voided=voided_arg()))
    return page_json(stmt, meeting_json, per_page=50, max_per_page=200)


@bp.post("")
@permission_required(RECORDS_WRITE)
def create_meeting():
    data = dict(with_project_id(json_body("MeetingCreate")))
    if data.get("staff") and "staff_ids" not in data:
        data["staff_ids"] = user_ids(data["staff"])
    meeting = service.save_meeting(None, data, actor=current_user)
    return jsonify(meeting_json(meeting)), 201


# The signed minutes, the attendance sheet: list, upload (multipart), download, void.
attachments.api_routes(bp, service.ATTACHMENTS, "/<int:record_id>")


OPENAPI = ApiSection({
    "/meetings": list_and_create(
        "meetings", "Meeting", parameters=LIST_PARAMS,
        list_summary="Owners'-committee meetings you may see, newest first",
        create_summary="Record a meeting with its issues"),
    **attachments.openapi_paths("/meetings/{record_id}", "meetings"),
}, {
    "Attachment": attachments.ATTACHMENT_SCHEMA,
    "Meeting": {"type": "object", "properties": {
        "id": {"type": "integer"}, "held_on": {"type": "string", "format": "date"}, "title": {"type": "string"},
        "location": {"type": "string"}, "project": {"type": "object"}, "attendees": {"type": "array", "items": {"type": "string"}},
        "staff": {"type": "array", "items": {"type": "string"}}, "topics": {"type": "string"},
        "minutes": {"type": "string", "description": "Markdown"}, "version": {"type": "integer"},
        "voided": {"type": "boolean"}, "void_reason": {"type": ["string", "null"]}, "issues": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "description": {"type": "string"}, "category": {"type": "string"},
            "entry": {"type": ["object", "null"], "description": "the register entry it became"}}}}}},
    "MeetingCreate": {"type": "object", "required": ["held_on", "title"], "properties": {
        "project": {"type": "string", "description": "project code (or project_id)"},
        "project_id": {"type": "integer"},
        "held_on": {"type": "string", "format": "date", "description": "local date, not in the future"},
        "title": {"type": "string", "maxLength": 200}, "location": {"type": "string"},
        "attendees": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "staff": {"type": "array", "items": {"type": "string"}, "description": "logins"},
        "staff_ids": {"type": "array", "items": {"type": "integer"}, "description": "user ids (or staff)"},
        "topics": {"type": "string"}, "minutes": {"type": "string", "description": "Markdown"},
        "issues": {"type": "array", "items": {"type": "object", "required": ["description", "category"],
                                              "properties": {"description": {"type": "string"},
                                                             "category": {"type": "string",
                                                                          "description": "category code"}}}}}},
})
