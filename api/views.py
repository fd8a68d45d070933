"""Core API endpoints: who am I, and the OpenAPI document."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from api.helpers import check_args
from api.openapi import ApiSection, document, error_responses

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
def openapi():
    check_args()
    return jsonify(document(request.url_root))


@bp.get("/me")
def me():
    check_args()
    u = current_user
    return jsonify(login=u.login, display_name=u.display_name, roles=[r.code for r in u.roles],
                   permissions=sorted(u.permissions), projects=[p.code for p in u.projects],
                   locale=u.locale, participant_category=u.participant_category)


OPENAPI = ApiSection({
    "/openapi.json": {"get": {"summary": "This document",
                              "responses": {"200": {"description": "OpenAPI 3.1 document"},
                                            **error_responses(400, 401)}}},
    "/me": {"get": {"summary": "The authenticated user", "responses": {
        "200": {"description": "user", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Me"}}}},
        **error_responses(400, 401)}}},
}, {
    "Me": {"type": "object", "properties": {
        "login": {"type": "string"}, "display_name": {"type": "string"}, "roles": {"type": "array", "items": {"type": "string"}},
        "permissions": {"type": "array", "items": {"type": "string"}}, "projects": {"type": "array", "items": {"type": "string"}},
        "locale": {"type": ["string", "null"]}, "participant_category": {"type": ["string", "null"]}}},
})
