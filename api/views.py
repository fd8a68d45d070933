"""Core API endpoints: who am I, and the OpenAPI document."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from api import bp
from api.helpers import check_args
from api.openapi import document


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
