"""JSON API for corrective & preventive actions: list, get, create, transition, void.

Same services and validation as the pages; errors are the standard JSON error body.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from accounts.models import Department, User
from actions import service
from actions.reviews import REVIEW_SCHEMA
from api.helpers import PROJECT_PARAMS, check_args, json_body, page_json, project_filter_arg, with_project_id
from api.openapi import PAGE_PARAMS, ApiSection, error_responses, list_and_create, query_param
from records.permissions import RECORDS_READ, RECORDS_VOID, RECORDS_WRITE
from webapp.dates import local_today
from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.permissions import permission_required

bp = Blueprint("actions_api", __name__, url_prefix="/api/v1/actions")


def action_json(a, *, detail: bool = False) -> dict:
    body = {
        "id": a.id, "number": a.number, "kind": a.kind, "status": a.status, "title": a.title,
        "project": {"id": a.project_id, "code": a.project.code, "name": a.project.label},
        "source": {"type": a.source_type, "id": a.source_id},
        "responsible_department": a.responsible_department.code if a.responsible_department else None,
        "responsible_user": a.responsible_user.login if a.responsible_user else None,
        "due_on": a.due_on.isoformat() if a.due_on else None, "overdue": service.is_overdue(a),
        "voided": a.voided, "version": a.version,
        "created_at": a.created_at.isoformat(), "updated_at": a.updated_at.isoformat(),
    }
    if detail:
        body.update({
            "description": a.description, "cause_analysis": a.cause_analysis, "planned_action": a.planned_action,
            "action_taken": a.action_taken, "verification_result": a.verification_result,
            "effective": a.effective, "verified_by": a.verified_by.login if a.verified_by else None,
            "verified_at": a.verified_at.isoformat() if a.verified_at else None,
            "closed_at": a.closed_at.isoformat() if a.closed_at else None, "void_reason": a.void_reason or None,
            "allowed_transitions": service.allowed_transitions(a), "reviews": service.reviews_of(a),
        })
    return body


#: What each endpoint accepts: the API checks requests against these, the OpenAPI document shows them.
LIST_PARAMS = [
    query_param("status", "default all", type="string", enum=["all", "active", *service.STATUSES]),
    query_param("kind", enum=list(service.KINDS), type="string"),
    query_param("source", enum=list(service.SOURCE_TYPES), type="string"),
    *PROJECT_PARAMS,
    query_param("overdue", type="boolean"),
    query_param("include_voided", type="boolean"),
    *PAGE_PARAMS,
]
#: Code and login aliases the API accepts for the id fields (resolved by :func:`_resolve_codes`).
_ALIASES = {"responsible_department_id": "responsible_department", "responsible_user_id": "responsible_user"}
#: transition -> the body fields it accepts: the service's fields, their aliases, and ``version``.
STEP_BODY = {name: (*fields, *(_ALIASES[f] for f in fields if f in _ALIASES), "version")
             for name, fields in service.STEP_FIELDS.items()}
_TRANSITION_TYPES = {
    "cause_analysis": ({"type": "string"}, "required"), "planned_action": ({"type": "string"}, "required"),
    "responsible_department_id": ({"type": ["integer", "null"]}, ""),
    "responsible_department": ({"type": "string"}, "department code"),
    "responsible_user_id": ({"type": ["integer", "null"]}, ""), "responsible_user": ({"type": "string"}, "login"),
    "due_on": ({"type": "string", "format": "date"}, ""), "action_taken": ({"type": "string"}, "required"),
    "verification_result": ({"type": "string"}, "required"),
    "effective": ({"type": "boolean"}, "required; false sends the action back to cause analysis"),
    "note": ({"type": "string"}, "closing note"), "version": ({"type": "integer"}, "optional optimistic lock"),
}
VOID_BODY = {"type": "object", "required": ["reason"], "properties": {
    "reason": {"type": "string"}, "version": {"type": "integer", "description": "optional optimistic lock"}}}


@bp.get("")
@permission_required(RECORDS_READ)
def list_actions():
    check_args(LIST_PARAMS)
    status = request.args.get("status", "all")
    if status not in service.STATUSES and status not in ("active", "all"):
        raise ValidationError(_l("Unknown status."), errors={"status": [_l("Unknown status.")]})
    stmt = service.list_actions(user=current_user, status=status, kind=request.args.get("kind", ""),
                                project_id=project_filter_arg(), source_type=request.args.get("source", ""),
                                overdue=request.args.get("overdue") in ("1", "true"),
                                include_voided=request.args.get("include_voided") in ("1", "true"),
                                today=local_today())
    return page_json(stmt, action_json, per_page=100, max_per_page=500)


def _resolve_codes(data: dict) -> dict:
    """Accept project / department / person by code or login as well as by id."""
    data = with_project_id(data)
    for key, model, column, target in (("responsible_department", Department, Department.code,
                                        "responsible_department_id"),
                                       ("responsible_user", User, User.login, "responsible_user_id")):
        if data.get(key) and not data.get(target):
            found = db.session.execute(select(model.id).where(column == str(data[key]))).scalar()
            if found is None:
                raise ValidationError(_l("Unknown value."), errors={key: [_l("Unknown value.")]})
            data = {**data, target: found}
    return data


@bp.post("")
@permission_required(RECORDS_WRITE)
def create_action():
    action = service.create_manual(_resolve_codes(json_body("ActionCreate")), actor=current_user)
    return jsonify(action_json(action, detail=True)), 201


@bp.get("/<int:action_id>")
@permission_required(RECORDS_READ)
def get_action(action_id: int):
    check_args()
    return jsonify(action_json(service.get_action(action_id), detail=True))


@bp.post("/<int:action_id>/transitions/<name>")
@permission_required(RECORDS_WRITE)
def transition(action_id: int, name: str):
    action = service.get_action(action_id)
    # An unknown step accepts every step's fields here: the service then names the step as unknown.
    data = _resolve_codes(json_body(STEP_BODY.get(name, "ActionTransition")))
    service.transition(action, name, data, actor=current_user, version=data.get("version"))
    return jsonify(action_json(action, detail=True))


@bp.post("/<int:action_id>/void")
@permission_required(RECORDS_VOID)
def void(action_id: int):
    action = service.get_action(action_id)
    data = json_body(VOID_BODY)
    service.void_action(action, reason=data.get("reason"), actor=current_user, version=data.get("version"))
    return jsonify(action_json(action, detail=True))


#: Every field a step takes, with its type; each one's steps are read from STEP_BODY (KeyError if one is missing).
_TRANSITION_FIELDS = {name: _TRANSITION_TYPES[name] for fields in STEP_BODY.values() for name in fields}
_ACTION = {"$ref": "#/components/schemas/Action"}
_ONE = {"content": {"application/json": {"schema": _ACTION}}}
_ID = [{"name": "action_id", "in": "path", "required": True, "schema": {"type": "integer"}}]

OPENAPI = ApiSection({
    "/actions": list_and_create(
        "actions", "Action", parameters=LIST_PARAMS, list_description="a page of actions",
        list_summary="Corrective and preventive actions you may see", create_summary="Open a manual action"),
    "/actions/{action_id}": {"get": {"summary": "One action", "tags": ["actions"], "parameters": _ID,
                                     "responses": {"200": {"description": "the action", **_ONE},
                                                   **error_responses(400, 401, 403, 404)}}},
    "/actions/{action_id}/transitions/{name}": {"post": {
        "summary": "Move an action along its life cycle", "tags": ["actions"],
        "description": "analyse (cause_analysis, planned_action, responsible_department or responsible_user, "
                       "due_on) → take_action (action_taken) → verify (verification_result, effective: an "
                       "ineffective result goes back to cause_analysed) → close (note). Send `version` to "
                       "guard against lost updates (409 when someone else changed it). A field the step does not "
                       "take is refused (400).",
        "parameters": _ID + [{"name": "name", "in": "path", "required": True, "schema": {
            "type": "string", "enum": list(service.TRANSITIONS)}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/ActionTransition"}}}},
        "responses": {"200": {"description": "the action after the step", **_ONE},
                      **error_responses(400, 401, 403, 404, 409)}}},
    "/actions/{action_id}/void": {"post": {
        "summary": "Void an action with a reason", "tags": ["actions"], "parameters": _ID,
        "requestBody": {"required": True, "content": {"application/json": {"schema": VOID_BODY}}},
        "responses": {"200": {"description": "voided", **_ONE}, **error_responses(400, 401, 403, 404, 409)}}},
}, {
    "Action": {"type": "object", "properties": {
        "id": {"type": "integer"}, "number": {"type": "string", "example": "CA-00012"},
        "kind": {"type": "string", "enum": list(service.KINDS)},
        "status": {"type": "string", "enum": list(service.STATUSES)}, "title": {"type": "string"},
        "project": {"type": "object"}, "source": {"type": "object", "properties": {
            "type": {"type": "string", "enum": list(service.SOURCE_TYPES)}, "id": {"type": ["integer", "null"]}}},
        "responsible_department": {"type": ["string", "null"]}, "responsible_user": {"type": ["string", "null"]},
        "due_on": {"type": ["string", "null"], "format": "date"}, "overdue": {"type": "boolean"},
        "voided": {"type": "boolean"}, "version": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
        # One action (not the list) also has these:
        **{name: {"type": ["string", "null"]} for name in (
            "description", "cause_analysis", "planned_action", "action_taken", "verification_result")},
        "effective": {"type": ["boolean", "null"], "description": "the verification's finding"},
        "verified_by": {"type": ["string", "null"], "description": "login"},
        "verified_at": {"type": ["string", "null"], "format": "date-time"},
        "closed_at": {"type": ["string", "null"], "format": "date-time"}, "void_reason": {"type": ["string", "null"]},
        "allowed_transitions": {"type": "array", "items": {"type": "string"}},
        "reviews": {"type": "array", "description": "the procedure reviews this action triggered",
                    "items": {"$ref": "#/components/schemas/TriggeredReview"}}}},
    "TriggeredReview": REVIEW_SCHEMA,
    "ActionCreate": {"type": "object", "required": ["kind", "title"], "properties": {
        "kind": {"type": "string", "enum": list(service.KINDS)}, "title": {"type": "string", "maxLength": 200},
        "description": {"type": "string"}, "project": {"type": "string", "description": "project code"},
        "project_id": {"type": "integer", "description": "project id (or project)"},
        "responsible_department": {"type": "string", "description": "department code"},
        "responsible_department_id": {"type": "integer"},
        "responsible_user": {"type": "string", "description": "login"}, "responsible_user_id": {"type": "integer"},
        "due_on": {"type": "string", "format": "date", "description": "not in the past; within the accepted range"}}},
    "ActionTransition": {"type": "object", "description": "The fields each step takes (others are refused).",
                         "properties": {
        name: {**schema_, "description": "; ".join(
            [note] * bool(note) + ["steps: " + ", ".join(s for s, fields in STEP_BODY.items() if name in fields)])}
        for name, (schema_, note) in _TRANSITION_FIELDS.items()}},
})
