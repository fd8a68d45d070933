"""JSON API for corrective & preventive actions: list, get, create, transition, void.

Same services and validation as the pages; errors are the standard JSON error body.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from accounts.models import Project
from accounts.permissions import P, permission_required
from actions import service
from actions.validation import local_today
from api.helpers import json_body, project_filter_arg
from api.openapi import error_responses, page_response, register_paths
from webapp.exceptions import NotFound, ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.pagination import paginate

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
            "allowed_transitions": service.allowed_transitions(a),
        })
    return body


@bp.get("")
@permission_required(P.RECORDS_READ)
def list_actions():
    status = request.args.get("status", "all")
    if status not in service.STATUSES and status not in ("active", "all"):
        raise ValidationError(_l("Unknown status."), errors={"status": [_l("Unknown status.")]})
    stmt = service.list_actions(user=current_user, status=status, kind=request.args.get("kind", ""),
                                project_id=project_filter_arg(), source_type=request.args.get("source", ""),
                                overdue=request.args.get("overdue") in ("1", "true"),
                                include_voided=request.args.get("include_voided") in ("1", "true"),
                                today=local_today())
    page = paginate(stmt, per_page=100, max_per_page=500)
    return jsonify(items=[action_json(a) for a in page.items], page=page.number, per_page=page.per_page,
                   has_next=page.has_next)


def _resolve_codes(data: dict) -> dict:
    """Accept project / department / person by code or login as well as by id."""
    from accounts.models import Department, User

    data = dict(data)
    for key, model, column, target in (("project", Project, Project.code, "project_id"),
                                       ("responsible_department", Department, Department.code,
                                        "responsible_department_id"),
                                       ("responsible_user", User, User.login, "responsible_user_id")):
        if data.get(key) and not data.get(target):
            found = db.session.execute(select(model.id).where(column == str(data[key]))).scalar()
            if found is None:
                if key == "project":
                    raise NotFound(_l("Unknown project."))
                raise ValidationError(_l("Unknown value."), errors={key: [_l("Unknown value.")]})
            data[target] = found
    return data


@bp.post("")
@permission_required(P.RECORDS_WRITE)
def create_action():
    action = service.create_manual(_resolve_codes(json_body()), actor=current_user)
    return jsonify(action_json(action, detail=True)), 201


@bp.get("/<int:action_id>")
@permission_required(P.RECORDS_READ)
def get_action(action_id: int):
    return jsonify(action_json(service.get_action(action_id), detail=True))


@bp.post("/<int:action_id>/transitions/<name>")
@permission_required(P.RECORDS_WRITE)
def transition(action_id: int, name: str):
    action = service.get_action(action_id)
    data = _resolve_codes(json_body())
    service.transition(action, name, data, actor=current_user, version=data.get("version"))
    return jsonify(action_json(action, detail=True))


@bp.post("/<int:action_id>/void")
@permission_required(P.RECORDS_VOID)
def void(action_id: int):
    action = service.get_action(action_id)
    data = json_body()
    service.void_action(action, data.get("reason", ""), actor=current_user, version=data.get("version"))
    return jsonify(action_json(action, detail=True))


_ACTION = {"$ref": "#/components/schemas/Action"}
_ONE = {"content": {"application/json": {"schema": _ACTION}}}
_ID = [{"name": "action_id", "in": "path", "required": True, "schema": {"type": "integer"}}]

register_paths({
    "/actions": {
        "get": {"summary": "Corrective and preventive actions you may see", "tags": ["actions"], "parameters": [
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": [
                "all", "active", *service.STATUSES]}},
            {"name": "kind", "in": "query", "schema": {"type": "string", "enum": list(service.KINDS)}},
            {"name": "source", "in": "query", "schema": {"type": "string", "enum": list(service.SOURCE_TYPES)}},
            {"name": "project", "in": "query", "schema": {"type": "string"}, "description": "project code"},
            {"name": "overdue", "in": "query", "schema": {"type": "boolean"}},
            {"name": "include_voided", "in": "query", "schema": {"type": "boolean"}},
            {"name": "page", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"200": page_response("a page of actions", _ACTION, page_numbers=True),
                          **error_responses(400, 401, 403)}},
        "post": {"summary": "Open a manual action", "tags": ["actions"],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "$ref": "#/components/schemas/ActionCreate"}}}},
                 "responses": {"201": {"description": "created", **_ONE}, **error_responses(400, 401, 403, 404)}},
    },
    "/actions/{action_id}": {"get": {"summary": "One action", "tags": ["actions"], "parameters": _ID,
                                     "responses": {"200": {"description": "the action", **_ONE},
                                                   **error_responses(401, 403, 404)}}},
    "/actions/{action_id}/transitions/{name}": {"post": {
        "summary": "Move an action along its life cycle", "tags": ["actions"],
        "description": "analyse (cause_analysis, planned_action, responsible_department or responsible_user, "
                       "due_on) → take_action (action_taken) → verify (verification_result, effective: an "
                       "ineffective result goes back to cause_analysed) → close (note). Send `version` to "
                       "guard against lost updates (409 when someone else changed it).",
        "parameters": _ID + [{"name": "name", "in": "path", "required": True, "schema": {
            "type": "string", "enum": list(service.TRANSITIONS)}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {"200": {"description": "the action after the step", **_ONE},
                      **error_responses(400, 401, 403, 404, 409)}}},
    "/actions/{action_id}/void": {"post": {
        "summary": "Void an action with a reason", "tags": ["actions"], "parameters": _ID,
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"},
                                                                      "version": {"type": "integer"}}}}}},
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
        "allowed_transitions": {"type": "array", "items": {"type": "string"}}}},
    "ActionCreate": {"type": "object", "required": ["kind", "title"], "properties": {
        "kind": {"type": "string", "enum": list(service.KINDS)}, "title": {"type": "string", "maxLength": 200},
        "description": {"type": "string"}, "project": {"type": "string", "description": "project code"},
        "project_id": {"type": "integer"}, "responsible_department": {"type": "string"},
        "responsible_user": {"type": "string", "description": "login"},
        "due_on": {"type": "string", "format": "date"}}},
})
