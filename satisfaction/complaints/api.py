"""JSON API of the complaint register and the monthly complaint summary (same services as the pages)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask_login import current_user

from actions.reviews import REVIEW_SCHEMA
from api.helpers import (
    PROJECT_PARAMS,
    check_args,
    check_fields,
    json_body,
    project_filter_arg,
    with_project_id,
)
from api.openapi import ApiSection, error_responses, query_param
from records import attachments
from records.permissions import RECORDS_READ, RECORDS_VOID, RECORDS_WRITE
from records.scope import check_project, visible_projects
from satisfaction.complaints import service
from satisfaction.complaints import summary as summary_service
from satisfaction.complaints.models import CHANNELS, HANDLING_SATISFACTION, KINDS, SEVERITIES, STATUSES
from webapp.dates import local_today
from webapp.db import utcnow
from webapp.exceptions import ValidationError
from webapp.i18n import _l
from webapp.permissions import permission_required

bp = Blueprint("complaints_api", __name__, url_prefix="/api/v1")


def entry_json(e, now=None) -> dict:
    now = now or utcnow()

    def iso(value):
        return value.isoformat() if value else None

    return {
        "id": e.id, "number": e.number, "kind": e.kind, "channel": e.channel, "received_at": iso(e.received_at),
        "project": {"id": e.project_id, "code": e.project.code, "name": e.project.name},
        "building": e.building, "room": e.room, "contact_name": e.contact_name, "contact_phone": e.contact_phone,
        "category": e.category.code, "severity": e.severity, "description": e.description,
        "handler_id": e.handler_id, "department_id": e.department_id, "status": e.status,
        "respond_due": iso(e.respond_due), "resolve_due": iso(e.resolve_due),
        "acknowledged_at": iso(e.acknowledged_at), "resolved_at": iso(e.resolved_at),
        "cause": e.cause, "action_taken": e.action_taken, "followed_up_at": iso(e.followed_up_at),
        "feedback_given": e.feedback_given, "handling_satisfaction": e.handling_satisfaction,
        "follow_up_notes": e.follow_up_notes, "closed_at": iso(e.closed_at), "reopen_count": e.reopen_count,
        "respond_overdue": e.respond_overdue(now), "resolve_overdue": e.resolve_overdue(now),
        "source": {"type": e.source_type, "id": e.source_id} if e.source_type else None,
        "review_procedure_code": e.review_procedure_code, "review_requested_at": iso(e.review_requested_at),
        "action_id": e.action_id, "version": e.version, "voided": e.voided, "void_reason": e.void_reason or None,
        "allowed_actions": service.available_actions(e),
        "reviews": service.reviews_of(e),
    }


#: What each endpoint accepts: the API checks requests against these, the OpenAPI document shows them.
LIST_PARAMS = [*PROJECT_PARAMS] + [
    query_param(n, d) for n, d in (
        ("kind", "complaint | praise | suggestion"), ("status", ""), ("category", "category code"), ("severity", ""),
        ("channel", ""), ("month", "YYYY-MM"), ("from", "YYYY-MM-DD"), ("to", "YYYY-MM-DD"),
        ("overdue", "1 = overdue only"), ("q", "search number, building, room, text"),
        ("voided", "exclude | include | only"), ("after", "cursor from next_cursor"), ("limit", "1–200, default 50"))]
VOID_BODY = {"type": "object", "required": ["reason"], "properties": {
    "reason": {"type": "string", "maxLength": 500}, "version": {"type": "integer"}}}
SUMMARY_PARAMS = [*PROJECT_PARAMS, query_param("month", "YYYY-MM", pattern="^\\d{4}-\\d{2}$", type="string")]


@bp.get("/complaints")
@permission_required(RECORDS_READ)
def list_entries():
    check_args(LIST_PARAMS)
    # The project (code or id) is resolved once, the same way for every list: an unknown one matches nothing.
    args = {k: v for k, v in request.args.to_dict().items() if k not in ("project", "project_id")}
    filters = service.parse_filters(args)
    filters.project_id = project_filter_arg()
    try:
        limit = min(200, max(1, int(request.args.get("limit", 50))))
    except ValueError:
        raise ValidationError(_l("limit must be a number from 1 to 200."),
                              errors={"limit": [_l("limit must be a number from 1 to 200.")]}) from None
    now = utcnow()
    page = service.list_page(filters, current_user, now=now, after=request.args.get("after"), per_page=limit)
    body = {"items": [entry_json(e, now) for e in page.items], "next_cursor": page.next_cursor}
    if page.next_cursor:
        body["next"] = url_for(".list_entries", **{**request.args.to_dict(), "after": page.next_cursor})
    return jsonify(body)


@bp.post("/complaints")
@permission_required(RECORDS_WRITE)
def create():
    sent = json_body("ComplaintInput")
    data = with_project_id(sent)
    try:
        entry = service.create_entry(data, actor=current_user)
    except ValidationError as exc:
        if "project_id" not in sent and "project_id" in exc.errors:  # name the field the client sent
            exc.errors["project"] = exc.errors.pop("project_id")
        raise
    resp = jsonify(entry_json(entry))
    resp.status_code = 201
    resp.headers["Location"] = url_for(".get_entry", entry_id=entry.id)
    return resp


@bp.get("/complaints/<int:entry_id>")
@permission_required(RECORDS_READ)
def get_entry(entry_id: int):
    check_args()
    return jsonify(entry_json(service.get_entry(entry_id, current_user)))


@bp.patch("/complaints/<int:entry_id>")
@permission_required(RECORDS_WRITE)
def update(entry_id: int):
    entry = service.get_entry(entry_id, current_user)
    data = json_body("ComplaintUpdate")
    if "version" not in data:
        raise ValidationError(_l("Send the version you read (optimistic locking)."),
                              errors={"version": [_l("Send the version you read (optimistic locking).")]})
    # Fields not sent keep their values.
    current = {"channel": entry.channel, "received_at": entry.received_at, "category": entry.category.code,
               "severity": entry.severity, "building": entry.building, "room": entry.room,
               "contact_name": entry.contact_name, "contact_phone": entry.contact_phone,
               "description": entry.description, "handler_id": entry.handler_id,
               "department_id": entry.department_id}
    service.update_entry(entry, {**current, **data}, actor=current_user, expected_version=data["version"])
    return jsonify(entry_json(entry))


@bp.post("/complaints/<int:entry_id>/transitions")
@permission_required(RECORDS_WRITE)
def transition(entry_id: int):
    entry = service.get_entry(entry_id, current_user)
    data = json_body("ComplaintTransition")
    action = data.get("action")
    if not isinstance(action, str) or not action:
        raise ValidationError(_l("Unknown action."), errors={"action": [_l("Unknown action.")]})
    if action in service.ACTION_FIELDS:  # an unknown action is named by the service
        check_fields(data, ("action", "version", "note", *service.ACTION_FIELDS[action]))
    service.transition(entry, action, data, actor=current_user, expected_version=data.get("version"))
    return jsonify(entry_json(entry))


@bp.post("/complaints/<int:entry_id>/void")
@permission_required(RECORDS_VOID)
def void(entry_id: int):
    entry = service.get_entry(entry_id, current_user)
    data = json_body(VOID_BODY)
    service.void_entry(entry, reason=data.get("reason"), actor=current_user, version=data.get("version"))
    return jsonify(entry_json(entry))


# A photo of what the complaint is about, a letter: list, upload (multipart), download, void.
attachments.api_routes(bp, service.ATTACHMENTS, "/complaints/<int:record_id>")


@bp.get("/complaint-summary")
@permission_required(RECORDS_READ)
def summary():
    check_args(SUMMARY_PARAMS)
    raw_month = request.args.get("month")
    month = service.parse_month(raw_month) if raw_month else local_today().replace(day=1)
    pid = project_filter_arg()
    # An unknown project and another project's are the same 404.
    projects = [check_project(pid)] if pid is not None else visible_projects()
    return jsonify(summary_service.summary_json(summary_service.monthly_summary(month, projects=projects)))


# ---------------------------------------------------------------------------------------------
# OpenAPI

_ENTRY_INPUT = {
    "type": "object",
    "required": ["kind", "channel", "received_at", "category", "description"],
    "properties": {
        "kind": {"type": "string", "enum": list(KINDS)},
        "project_id": {"type": "integer"}, "project": {"type": "string", "description": "project code"},
        "channel": {"type": "string", "enum": list(CHANNELS)},
        "received_at": {"type": "string", "format": "date-time",
                        "description": "ISO 8601; without an offset it is local time (Asia/Shanghai)"},
        "category": {"type": "string", "description": "service category code"},
        "severity": {"type": "string", "enum": list(SEVERITIES), "description": "complaints only"},
        "description": {"type": "string", "maxLength": 4000},
        "building": {"type": "string", "maxLength": 40}, "room": {"type": "string", "maxLength": 40},
        "contact_name": {"type": "string", "maxLength": 60}, "contact_phone": {"type": "string", "maxLength": 40},
        "handler_id": {"type": ["integer", "null"]}, "department_id": {"type": ["integer", "null"]},
    },
}
_ENTRY = {"type": "object", "properties": {
    "id": {"type": "integer"}, "number": {"type": "string", "example": "TS-P-LJY-2026-0001"},
    "kind": {"type": "string", "enum": list(KINDS)}, "status": {"type": "string", "enum": list(STATUSES)},
    "channel": {"type": "string"}, "received_at": {"type": "string", "format": "date-time"},
    "project": {"type": "object"}, "category": {"type": "string"}, "severity": {"type": "string"},
    "description": {"type": "string"}, "respond_due": {"type": ["string", "null"], "format": "date-time"},
    "resolve_due": {"type": ["string", "null"], "format": "date-time"},
    "building": {"type": "string"}, "room": {"type": "string"},
    "contact_name": {"type": "string"}, "contact_phone": {"type": "string"},
    "handler_id": {"type": ["integer", "null"]}, "department_id": {"type": ["integer", "null"]},
    **{name: {"type": ["string", "null"], "format": "date-time"} for name in (
        "acknowledged_at", "resolved_at", "followed_up_at", "closed_at", "review_requested_at")},
    **{name: {"type": ["string", "null"]} for name in ("cause", "action_taken", "feedback_given", "follow_up_notes")},
    "respond_overdue": {"type": "boolean"}, "resolve_overdue": {"type": "boolean"},
    "handling_satisfaction": {"type": ["string", "null"], "enum": [*HANDLING_SATISFACTION, None]},
    "source": {"type": ["object", "null"], "description": "the record this entry came from (a meeting issue)",
               "properties": {"type": {"type": "string"}, "id": {"type": ["integer", "null"]}}},
    "review_procedure_code": {"type": ["string", "null"], "description": "procedure whose review was requested"},
    "action_id": {"type": ["integer", "null"], "description": "the corrective action opened for it"},
    "reopen_count": {"type": "integer"}, "version": {"type": "integer"}, "voided": {"type": "boolean"},
    "void_reason": {"type": ["string", "null"]},
    "allowed_actions": {"type": "array", "items": {"type": "string"}},
    "reviews": {"type": "array", "description": "the incident reviews this complaint triggered",
                "items": {"$ref": "#/components/schemas/TriggeredReview"}},
}}
#: PATCH: the fields that may change after entry (kind and project are fixed), and the version read.
_ENTRY_UPDATE = {"type": "object", "required": ["version"], "properties": {
    **{k: v for k, v in _ENTRY_INPUT["properties"].items() if k not in ("kind", "project", "project_id")},
    "version": {"type": "integer", "description": "the version you read (optimistic locking; 409 when it moved on)"}}}
_TRANSITION = {"type": "object", "required": ["action"], "properties": {
    "action": {"type": "string", "enum": list(service.ACTIONS)},
    "version": {"type": "integer", "description": "optional optimistic lock"},
    "note": {"type": "string"}, "cause": {"type": "string", "description": "resolve"},
    "action_taken": {"type": "string", "description": "resolve"},
    "feedback_given": {"type": "string", "description": "follow_up"},
    "handling_satisfaction": {"type": "string", "enum": list(HANDLING_SATISFACTION),
                              "description": "follow_up; dissatisfied reopens the complaint"},
    "follow_up_notes": {"type": "string"},
}}


def _json(ref):
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


OPENAPI = ApiSection({
    "/complaints": {
        "get": {"summary": "Complaint register (newest first, keyset pagination)", "tags": ["complaints"],
                "parameters": LIST_PARAMS,
                "responses": {"200": {"description": "a page", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Complaint"}},
                        "next_cursor": {"type": ["string", "null"]},
                        "next": {"type": "string", "description": "URL of the next page (only when there is one)"},
                    }}}}}, **error_responses(400, 401, 403)}},
        "post": {"summary": "Enter a complaint, praise or suggestion", "tags": ["complaints"],
                 "requestBody": {"required": True, **_json("ComplaintInput")},
                 "responses": {"201": {"description": "created", **_json("Complaint")},
                               **error_responses(400, 401, 403)}},
    },
    "/complaints/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "get": {"summary": "One entry", "tags": ["complaints"],
                "responses": {"200": {"description": "entry", **_json("Complaint")},
                              **error_responses(400, 401, 404)}},
        "patch": {"summary": "Change intake fields (send `version`; 409 when someone saved in between)",
                  "description": "Fields not sent keep their values; kind and project cannot change (void the "
                                 "entry and enter it again).",
                  "tags": ["complaints"], "requestBody": {"required": True, **_json("ComplaintUpdate")},
                  "responses": {"200": {"description": "entry", **_json("Complaint")},
                                **error_responses(400, 401, 403, 404, 409)}},
    },
    "/complaints/{id}/transitions": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "post": {"summary": "Move along the life cycle", "tags": ["complaints"],
                 "requestBody": {"required": True, **_json("ComplaintTransition")},
                 "responses": {"200": {"description": "entry", **_json("Complaint")},
                               **error_responses(400, 401, 403, 404, 409)}},
    },
    "/complaints/{id}/void": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "post": {"summary": "Void with a reason", "tags": ["complaints"],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": VOID_BODY}}},
                 "responses": {"200": {"description": "entry", **_json("Complaint")},
                               **error_responses(400, 401, 403, 404, 409)}},
    },
    **attachments.openapi_paths("/complaints/{record_id}", "complaints"),
    "/complaint-summary": {
        "get": {"summary": "Monthly complaint summary (投诉情况月汇总表)", "tags": ["complaints"],
                "description": "One project (by `project` code or `project_id`), or all visible projects.",
                "parameters": SUMMARY_PARAMS,
                "responses": {"200": {"description": "summary", **_json("ComplaintSummary")},
                              **error_responses(400, 401, 403, 404)}},
    },
}, {
    "ComplaintInput": _ENTRY_INPUT,
    "ComplaintUpdate": _ENTRY_UPDATE,
    "Complaint": _ENTRY,
    "ComplaintTransition": _TRANSITION,
    "TriggeredReview": REVIEW_SCHEMA,
    "Attachment": attachments.ATTACHMENT_SCHEMA,
    "ComplaintSummary": {"type": "object", "properties": {
        "month": {"type": "string"}, "generated_at": {"type": "string", "format": "date-time"},
        "categories": {"type": "array"}, "channels": {"type": "array"},
        "rows": {"type": "array", "items": {"type": "object"}}, "totals": {"type": "object"},
        "definitions": {"type": "object"}}},
})
