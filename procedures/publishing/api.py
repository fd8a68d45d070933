"""JSON API for publishing (new procedures, new versions, withdrawals) and reading acknowledgements.

The same services and validation as the pages.
"""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, jsonify, url_for
from flask_login import current_user

from api.helpers import check_args, json_body
from api.openapi import ApiSection, error_responses
from procedures import catalog, document
from procedures.acknowledgements import service as acknowledgements
from procedures.permissions import PROCEDURES_PUBLISH, PROCEDURES_READ
from procedures.publishing import service as publishing
from procedures.publishing.service import PublishResult
from webapp.exceptions import Conflict, ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.permissions import permission_required

bp = Blueprint("publishing_api", __name__, url_prefix="/api/v1")


@bp.before_request
def _sync_catalogue():
    # Commits pushed with plain git (or by another worker) are mirrored before this request reads them.
    # Publishing itself reads git, not the mirror: a mirror busy with other writers must not refuse it.
    try:
        catalog.ensure_synced(commit=True)
    except Conflict:
        db.session.rollback()


def _text(data: dict, key: str, errors: dict, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        errors.setdefault(key, []).append(
            _l("This field is required.") if value in (None, "") else _l("Must be a string."))
        return None
    return value


_DATE_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")


def _effective(data: dict, errors: dict) -> date | None:
    """``effective`` (YYYY-MM-DD) as a date; None when not sent (the service then takes today)."""
    if "effective" not in data:
        return None
    raw = data["effective"]
    try:
        if isinstance(raw, str) and _DATE_RE.match(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    errors.setdefault("effective", []).append(_l("The effective date must be a valid date written as YYYY-MM-DD."))
    return None


def _fields(data: dict, *keys: str, optional: tuple[str, ...] = ()) -> dict:
    """Type-check the JSON fields before the service sees them (400 with every bad field)."""
    errors: dict[str, list] = {}
    values = {k: _text(data, k, errors) for k in keys}
    values.update({k: _text(data, k, errors, required=False) for k in optional})
    values["effective"] = _effective(data, errors)
    if "new_edition" in data and not isinstance(data["new_edition"], bool):
        errors.setdefault("new_edition", []).append(_l("Must be true or false."))
    if errors:
        raise ValidationError(_l("Some fields are missing or invalid."), errors=errors)
    return values


def _created(result: PublishResult):
    response = jsonify(code=result.code, version=result.version, revision=result.commit,
                       effective=result.effective.isoformat(), url=url_for("procedures.read", code=result.code))
    response.status_code = 201
    response.headers["Location"] = url_for("procedures_api.procedure", code=result.code)
    return response


@bp.post("/procedures")
@permission_required(PROCEDURES_PUBLISH)
def create():
    values = _fields(json_body("NewProcedure"), "markdown", "summary", optional=("code", "approved_by"))
    if values["code"] is not None:
        document.path_for(values["code"])
    return _created(publishing.create(values["code"], values["markdown"], summary=values["summary"],
                                      author=current_user, approved_by=_approver(values),
                                      effective=values["effective"]))


@bp.post("/procedures/<code>/versions")
@permission_required(PROCEDURES_PUBLISH)
def publish(code: str):
    document.path_for(code)
    data = json_body("NewVersion")
    values = _fields(data, "base", "markdown", "summary", optional=("approved_by",))
    return _created(publishing.publish(code, values["markdown"], summary=values["summary"], base=values["base"],
                                       author=current_user, approved_by=_approver(values),
                                       effective=values["effective"], new_edition=bool(data.get("new_edition", False))))


@bp.post("/procedures/<code>/withdrawal")
@permission_required(PROCEDURES_PUBLISH)
def withdraw(code: str):
    document.path_for(code)
    values = _fields(json_body("Withdrawal"), "base", "reason", optional=("approved_by",))
    return _created(publishing.withdraw(code, reason=values["reason"], base=values["base"], user=current_user,
                                        approved_by=_approver(values)))


def _approver(values: dict):
    """Who approved: the user named by ``approved_by``; none named is the author themself, which the
    service refuses unless the setting ``PUBLISH_ALLOW_SELF_APPROVAL`` allows it."""
    return publishing.resolve_approver(values["approved_by"], current_user)


@bp.get("/acknowledgements")
@permission_required(PROCEDURES_READ)
def to_read():
    check_args()
    items = []
    for item in acknowledgements.to_read(current_user):
        v = item.current
        entry = {"code": v.code, "title": v.title, "version": v.version, "effective": v.effective.isoformat(),
                 "revision": v.commit, "summary": v.summary, "last_acknowledged_version": item.last_version,
                 "url": url_for("procedures.read", code=v.code)}
        items.append(entry)
    return jsonify(items=items, count=len(items))


@bp.post("/acknowledgements")
@permission_required(PROCEDURES_READ)
def acknowledge():
    data = json_body(ACK_BODY)
    values = _fields(data, "code", "version")
    ack = acknowledgements.confirm(current_user, values["code"], values["version"])
    response = jsonify(code=ack.code, version=ack.version, revision=ack.commit,
                       acknowledged_at=ack.acknowledged_at.isoformat())
    response.status_code = 201
    return response


ACK_BODY = {"type": "object", "required": ["code", "version"], "properties": {
    "code": {"type": "string", "example": "QP-CS-001"}, "version": {"type": "string", "example": "A/2"}}}
_PUBLISHED = {"201": {"description": "published", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/PublishedVersion"}}}}}
_CONFLICT = {"409": {"description": "the procedure changed since `base` (details: `theirs` and `yours`), "
                                    "or the code already exists", "content": {"application/json": {
                                        "schema": {"$ref": "#/components/schemas/PublishConflict"}}}}}
#: The document store is locked by another writer or damaged: try again later (the message says which).
_STORE_DOWN = {"503": {**error_responses(503)["503"], "description": "the document store cannot be written now"}}
#: A new version that would change nothing in the document (front matter and body as the current version).
_NO_CHANGE = {"422": {**error_responses(422)["422"], "description": "the text changes nothing compared with the "
                                                                   "current version (`errors.markdown`): no version"}}
_APPROVAL = ("The approver (`approved_by`, a login) must be someone other than you unless the setting "
             "PUBLISH_ALLOW_SELF_APPROVAL allows self-approval; otherwise the answer is 400 with `errors.approved_by`.")
_EFFECTIVE = {"type": "string", "format": "date", "example": "2026-12-01",
              "description": "The date the version takes effect (default: today in the company's time zone); it "
                             "replaces the `effective` line of the front matter. Today or later for a new version "
                             "(later: upcoming, the current version stays in force until then)."}
_CODE = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string", "example": "QP-CS-001"}}]

OPENAPI = ApiSection({
    "/procedures": {"post": {
        "summary": "Create a procedure (first version A/0)",
        "description": "The code comes from the front matter (`code` in the body, if given, must match). "
                       "Needs the procedures.publish permission. A first version may take effect on an earlier "
                       "day (`effective`). " + _APPROVAL,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/NewProcedure"}}}},
        "responses": {**_PUBLISHED, **error_responses(400, 401, 403), **_CONFLICT, **_STORE_DOWN}}},
    "/procedures/{code}/versions": {"post": {
        "summary": "Publish a new version",
        "description": "`base` is the `revision` you read the procedure from. If someone published in between, "
                       "nothing is written and the 409 answer carries their version and your text. The version "
                       "number is set by the server (next revision, or next edition with `new_edition`), the "
                       "effective date by `effective` (default today). A text that changes nothing is refused "
                       "(422). " + _APPROVAL,
        "parameters": _CODE,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/NewVersion"}}}},
        "responses": {**_PUBLISHED, **error_responses(400, 401, 403, 404), **_CONFLICT, **_NO_CHANGE,
                      **_STORE_DOWN}}},
    "/procedures/{code}/withdrawal": {"post": {
        "summary": "Withdraw a procedure",
        "description": "Records a new revision with status `withdrawn` (effective today) and a `Withdrawn:` trailer. "
                       + _APPROVAL,
        "parameters": _CODE,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Withdrawal"}}}},
        "responses": {**_PUBLISHED, **error_responses(400, 401, 403, 404), **_CONFLICT, **_STORE_DOWN}}},
    "/acknowledgements": {
        "get": {"summary": "My reading list: procedures in force for my department I have not confirmed",
                "responses": {"200": {"description": "to read", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ToRead"}}}}, **error_responses(400, 401, 403)}},
        "post": {"summary": "Confirm that I have read the current version of a procedure",
                 "description": "Idempotent. 409 when `version` is no longer (or not yet) the version in force.",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": ACK_BODY}}},
                 "responses": {"201": {"description": "confirmed", "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/Acknowledgement"}}}},
                     **error_responses(400, 401, 403, 404, 409)}}},
}, {
    "ToRead": {"type": "object", "properties": {
        "count": {"type": "integer"},
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "code": {"type": "string"}, "title": {"type": "string"}, "version": {"type": "string"},
            "effective": {"type": "string", "format": "date"}, "revision": {"type": "string"},
            "summary": {"type": "string"}, "url": {"type": "string"},
            "last_acknowledged_version": {"type": ["string", "null"]}}}}}},
    "Acknowledgement": {"type": "object", "properties": {
        "code": {"type": "string"}, "version": {"type": "string"}, "revision": {"type": "string"},
        "acknowledged_at": {"type": "string", "format": "date-time"}}},
    "NewProcedure": {"type": "object", "required": ["markdown", "summary"], "properties": {
        "code": {"type": "string", "example": "QP-CS-003"},
        "markdown": {"type": "string", "description": "The whole file: YAML front matter and Markdown body"},
        "summary": {"type": "string", "description": "Change summary"},
        "effective": _EFFECTIVE,
        "approved_by": {"type": "string", "description": "Login of the approver, someone other than you"}}},
    "NewVersion": {"type": "object", "required": ["base", "markdown", "summary"], "properties": {
        "base": {"type": "string", "description": "The revision (commit sha) the text is based on"},
        "markdown": {"type": "string"},
        "summary": {"type": "string"},
        "effective": _EFFECTIVE,
        "approved_by": {"type": "string", "description": "Login of the approver, someone other than you"},
        "new_edition": {"type": "boolean", "default": False}}},
    "Withdrawal": {"type": "object", "required": ["base", "reason"], "properties": {
        "base": {"type": "string"}, "reason": {"type": "string"}, "approved_by": {"type": "string"}}},
    "PublishedVersion": {"type": "object", "properties": {
        "code": {"type": "string"}, "version": {"type": "string", "example": "A/3"},
        "revision": {"type": "string", "description": "The commit sha of the new version"},
        "effective": {"type": "string", "format": "date"}, "url": {"type": "string"}}},
    "PublishConflict": {"type": "object", "properties": {
        "error": {"type": "string", "example": "conflict"}, "message": {"type": "string"},
        "details": {"type": "object", "properties": {
            "code": {"type": "string"}, "base": {"type": "string"},
            "current": {"type": "string", "description": "The new base to resubmit with"},
            "base_markdown": {"type": "string"},
            "theirs": {"type": "object", "properties": {
                "commit": {"type": "string"}, "version": {"type": "string"}, "author": {"type": "string"},
                "author_email": {"type": "string"}, "committed_at": {"type": "string"},
                "summary": {"type": "string"}, "approved_by": {"type": "string"}, "markdown": {"type": "string"}}},
            "yours": {"type": "object", "properties": {
                "markdown": {"type": "string"}, "summary": {"type": "string"}}}}}}},
})
