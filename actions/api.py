"""JSON API for corrective & preventive actions: list (and the caller's to-do), get, create, transition,
void; proposed actions: list, get, accept, dismiss.

Same services, validation and role rules (actions.roles) as the pages; errors are the standard JSON error body.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from accounts.models import Department, User
from actions import proposals, roles, service
from actions.permissions import ACTIONS_MANAGE
from actions.reviews import REVIEW_SCHEMA
from api.helpers import PROJECT_PARAMS, check_args, json_body, page_json, project_filter_arg, with_project_id
from api.openapi import PAGE_PARAMS, ApiSection, error_responses, list_and_create, page_response, query_param
from records.permissions import RECORDS_READ, RECORDS_VOID, RECORDS_WRITE
from webapp.dates import local_today
from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.permissions import permission_required

bp = Blueprint("actions_api", __name__, url_prefix="/api/v1/actions")


def _login(user) -> str | None:
    return user.login if user is not None else None


def action_json(a, *, detail: bool = False) -> dict:
    body = {
        "id": a.id, "number": a.number, "kind": a.kind, "status": a.status, "title": a.title,
        "project": {"id": a.project_id, "code": a.project.code, "name": a.project.label},
        "source": {"type": a.source_type, "id": a.source_id, "ref": a.source_ref},
        "next_step": roles.next_step(a),
        "responsible_department": a.responsible_department.code if a.responsible_department else None,
        "responsible_user": a.responsible_user.login if a.responsible_user else None,
        "due_on": a.due_on.isoformat() if a.due_on else None, "overdue": service.is_overdue(a),
        "voided": a.voided, "version": a.version,
        "created_at": a.created_at.isoformat(), "updated_at": a.updated_at.isoformat(),
    }
    if detail:
        body.update({
            "description": a.description, "cause_analysis": a.cause_analysis, "planned_action": a.planned_action,
            "action_taken": a.action_taken, "remeasured": a.remeasured, "verification_result": a.verification_result,
            "effective": a.effective, "verified_by": _login(a.verified_by),
            "verified_at": a.verified_at.isoformat() if a.verified_at else None,
            "closed_at": a.closed_at.isoformat() if a.closed_at else None, "void_reason": a.void_reason or None,
            "analysed_by": _login(a.analysed_by), "action_taken_by": _login(a.action_taken_by),
            "closed_by": _login(a.closed_by), "complainant_feedback": a.complainant_feedback,
            "allowed_transitions": service.allowed_transitions(a), "my_steps": service.my_steps(a, current_user),
            "waiting_for": [u.login for u in roles.people_for(a)],
            "proposal": getattr(proposals.proposal_of(a), "number", None), "reviews": service.reviews_of(a),
        })
    return body


def proposal_json(p) -> dict:
    return {
        "id": p.id, "number": p.number, "status": p.status, "reason": p.reason, "kind": p.kind, "title": p.title,
        "description": p.description, "project": {"id": p.project_id, "code": p.project.code, "name": p.project.label},
        "source": {"type": p.source_type, "id": p.source_id, "ref": p.source_ref}, "figures": p.figures or {},
        "decision_reason": p.decision_reason or None, "decided_by": _login(p.decided_by),
        "decided_at": p.decided_at.isoformat() if p.decided_at else None,
        "action": {"id": p.action.id, "number": p.action.number} if p.action else None,
        "created_at": p.created_at.isoformat(), "version": p.version,
    }


#: What each endpoint accepts: the API checks requests against these, the OpenAPI document shows them.
LIST_PARAMS = [
    query_param("status", "default all", type="string", enum=["all", "active", *service.STATUSES]),
    query_param("kind", enum=list(service.KINDS), type="string"),
    query_param("source", enum=list(service.SOURCE_TYPES), type="string"),
    *PROJECT_PARAMS,
    query_param("overdue", type="boolean"),
    query_param("include_voided", type="boolean"),
    query_param("mine", "only the actions waiting for you (your to-do list)", type="boolean"),
    *PAGE_PARAMS,
]
PROPOSAL_PARAMS = [query_param("status", "default pending", type="string", enum=["all", *proposals.STATUSES]),
                   *PAGE_PARAMS]
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
    "remeasured": ({"type": "string"}, "required: what was measured again"),
    "verification_result": ({"type": "string"}, "required: the result of the effectiveness check"),
    "effective": ({"type": "boolean"}, "required; false sends the action back to cause analysis"),
    "note": ({"type": "string"}, "closing note"),
    "complainant_feedback": ({"type": "string"}, "what the complainant was told; required for an action from a "
                                                 "complaint, refused for others"),
    "version": ({"type": "integer"}, "optional optimistic lock"),
}
VOID_BODY = {"type": "object", "required": ["reason"], "properties": {
    "reason": {"type": "string"}, "version": {"type": "integer", "description": "optional optimistic lock"}}}
ACCEPT_BODY = {"type": "object", "properties": {
    "version": {"type": "integer", "description": "optional optimistic lock"}}}


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
                                mine=request.args.get("mine") in ("1", "true"), today=local_today())
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
@permission_required(RECORDS_WRITE, ACTIONS_MANAGE)
def create_action():
    action = service.create_manual(_resolve_codes(json_body("ActionCreate")), actor=current_user)
    return jsonify(action_json(action, detail=True)), 201


@bp.get("/<int:action_id>")
@permission_required(RECORDS_READ)
def get_action(action_id: int):
    check_args()
    return jsonify(action_json(service.get_action(action_id), detail=True))


@bp.post("/<int:action_id>/transitions/<name>")
@permission_required(RECORDS_READ)
def transition(action_id: int, name: str):
    """Who may do each step is the service's rule (actions.roles): a 403 says who may."""
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


@bp.get("/proposals")
@permission_required(RECORDS_READ)
def list_proposals():
    check_args(PROPOSAL_PARAMS)
    status = request.args.get("status", "pending")
    if status not in proposals.STATUSES and status != "all":
        raise ValidationError(_l("Unknown status."), errors={"status": [_l("Unknown status.")]})
    return page_json(proposals.list_proposals(user=current_user, status=status), proposal_json,
                     per_page=100, max_per_page=500)


@bp.get("/proposals/<int:proposal_id>")
@permission_required(RECORDS_READ)
def get_proposal(proposal_id: int):
    check_args()
    return jsonify(proposal_json(proposals.get_proposal(proposal_id)))


@bp.post("/proposals/<int:proposal_id>/accept")
@permission_required(ACTIONS_MANAGE)
def accept_proposal(proposal_id: int):
    data = json_body(ACCEPT_BODY)
    proposal = proposals.get_proposal(proposal_id)
    action = proposals.accept(proposal, actor=current_user, version=data.get("version"))
    return jsonify(action_json(action, detail=True)), 201


@bp.post("/proposals/<int:proposal_id>/dismiss")
@permission_required(ACTIONS_MANAGE)
def dismiss_proposal(proposal_id: int):
    data = json_body(VOID_BODY)
    proposal = proposals.get_proposal(proposal_id)
    proposals.dismiss(proposal, reason=data.get("reason"), actor=current_user, version=data.get("version"))
    return jsonify(proposal_json(proposal))


#: Every field a step takes, with its type; each one's steps are read from STEP_BODY (KeyError if one is missing).
_TRANSITION_FIELDS = {name: _TRANSITION_TYPES[name] for fields in STEP_BODY.values() for name in fields}
_ACTION = {"$ref": "#/components/schemas/Action"}
_ONE = {"content": {"application/json": {"schema": _ACTION}}}
_ID = [{"name": "action_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_PROPOSAL_ID = [{"name": "proposal_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_PROPOSAL = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ActionProposal"}}}}
_PERSON = {"type": ["string", "null"], "description": "login"}

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
                       "due_on) → take_action (action_taken) → verify (remeasured, verification_result, effective: "
                       "an ineffective result goes back to cause_analysed) → close (note; complainant_feedback for "
                       "an action from a complaint). Who may: analyse, verify and close — management "
                       "(actions.manage) or the head of the responsible department; take_action — the responsible "
                       "person, or (none named) the responsible department; verify — never whoever took the "
                       "action (403). Closing before the effectiveness check is a 409. Send `version` to "
                       "guard against lost updates (409 when someone else changed it). A field the step does not "
                       "take is refused (400).",
        "parameters": _ID + [{"name": "name", "in": "path", "required": True, "schema": {
            "type": "string", "enum": list(service.TRANSITIONS)}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/ActionTransition"}}}},
        "responses": {"200": {"description": "the action after the step", **_ONE},
                      **error_responses(400, 401, 403, 404, 409)}}},
    "/actions/proposals": {"get": {
        "summary": "Proposed actions you may see (raised when a survey closes)", "tags": ["actions"],
        "parameters": PROPOSAL_PARAMS,
        "responses": {"200": page_response("a page of proposals", {"$ref": "#/components/schemas/ActionProposal"},
                                           page_numbers=True), **error_responses(400, 401, 403)}}},
    "/actions/proposals/{proposal_id}": {"get": {
        "summary": "One proposed action", "tags": ["actions"], "parameters": _PROPOSAL_ID,
        "responses": {"200": {"description": "the proposal", **_PROPOSAL}, **error_responses(400, 401, 403, 404)}}},
    "/actions/proposals/{proposal_id}/accept": {"post": {
        "summary": "Accept a proposal: opens the action, linked to the proposal's source (managers)",
        "tags": ["actions"], "parameters": _PROPOSAL_ID,
        "requestBody": {"required": True, "content": {"application/json": {"schema": ACCEPT_BODY}}},
        "responses": {"201": {"description": "the action opened", **_ONE},
                      **error_responses(400, 401, 403, 404, 409)}}},
    "/actions/proposals/{proposal_id}/dismiss": {"post": {
        "summary": "Dismiss a proposal with a reason, kept and audited (managers)", "tags": ["actions"],
        "parameters": _PROPOSAL_ID,
        "requestBody": {"required": True, "content": {"application/json": {"schema": VOID_BODY}}},
        "responses": {"200": {"description": "the proposal, dismissed", **_PROPOSAL},
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
            "type": {"type": "string", "enum": list(service.SOURCE_TYPES)}, "id": {"type": ["integer", "null"]},
            "ref": {"type": ["string", "null"], "description": "a service category's code, or the dashboard "
                                                                "page the action was opened from"}}},
        "next_step": {"type": ["string", "null"], "enum": [*service.TRANSITIONS, None],
                      "description": "the step the action waits for (null once closed or voided)"},
        "responsible_department": {"type": ["string", "null"]}, "responsible_user": {"type": ["string", "null"]},
        "due_on": {"type": ["string", "null"], "format": "date"}, "overdue": {"type": "boolean"},
        "voided": {"type": "boolean"}, "version": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
        # One action (not the list) also has these:
        **{name: {"type": ["string", "null"]} for name in (
            "description", "cause_analysis", "planned_action", "action_taken", "verification_result")},
        "remeasured": {"type": ["string", "null"], "description": "what the effectiveness check measured again"},
        "complainant_feedback": {"type": ["string", "null"], "description": "what the complainant was told at "
                                                                             "closing (procedure 4.4.3)"},
        "effective": {"type": ["boolean", "null"], "description": "the verification's finding"},
        "verified_by": _PERSON, "analysed_by": _PERSON, "action_taken_by": _PERSON, "closed_by": _PERSON,
        "verified_at": {"type": ["string", "null"], "format": "date-time"},
        "closed_at": {"type": ["string", "null"], "format": "date-time"}, "void_reason": {"type": ["string", "null"]},
        "allowed_transitions": {"type": "array", "items": {"type": "string"}},
        "my_steps": {"type": "array", "items": {"type": "string"},
                     "description": "the allowed steps you may do (role rules)"},
        "waiting_for": {"type": "array", "items": {"type": "string"},
                        "description": "logins of the people who may do the next step"},
        "proposal": {"type": ["string", "null"], "description": "the proposal it was opened from"},
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
        "due_on": {"type": "string", "format": "date", "description": "not in the past; within the accepted range"},
        "source_type": {"type": "string", "enum": list(service.HAND_SOURCES), "description": "default manual"},
        "source_ref": {"type": "string", "description": "with dashboard: the page's path (/satisfaction/…)"}}},
    "ActionProposal": {"type": "object", "properties": {
        "id": {"type": "integer"}, "number": {"type": "string", "example": "PP-00003"},
        "status": {"type": "string", "enum": list(proposals.STATUSES)},
        "reason": {"type": "string", "enum": list(proposals.REASONS)},
        "kind": {"type": "string", "enum": list(service.KINDS)}, "title": {"type": "string"},
        "description": {"type": "string"}, "project": {"type": "object"},
        "source": {"type": "object", "properties": {"type": {"type": "string"}, "id": {"type": ["integer", "null"]},
                                                    "ref": {"type": ["string", "null"]}}},
        "figures": {"type": "object", "description": "the rate that raised it: satisfied, answered, rate, low, high, "
                                                     "label, small_sample, target (and years)"},
        "decision_reason": {"type": ["string", "null"]}, "decided_by": _PERSON,
        "decided_at": {"type": ["string", "null"], "format": "date-time"},
        "action": {"type": ["object", "null"], "properties": {"id": {"type": "integer"},
                                                              "number": {"type": "string"}}},
        "created_at": {"type": "string", "format": "date-time"}, "version": {"type": "integer"}}},
    "ActionTransition": {"type": "object", "description": "The fields each step takes (others are refused).",
                         "properties": {
        name: {**schema_, "description": "; ".join(
            [note] * bool(note) + ["steps: " + ", ".join(s for s, fields in STEP_BODY.items() if name in fields)])}
        for name, (schema_, note) in _TRANSITION_FIELDS.items()}},
})
