"""Helpers for API views: reading JSON bodies with clear 400s, projects named by code."""
from __future__ import annotations

from flask import request
from sqlalchemy import select

from accounts.models import Project
from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.i18n import _l


def json_body() -> dict:
    """The request's JSON object, or a translated 400 when it is missing or malformed."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError(_l("Send a JSON object with Content-Type: application/json."))
    return data


def project_id_for_code(code) -> int | None:
    """The id of the project whose code is ``code``, or None."""
    return db.session.execute(select(Project.id).where(Project.code == str(code))).scalar()


def project_filter_arg() -> int | None:
    """The ``?project=<code>`` filter as a project id: None when absent, -1 (matches nothing)
    for an unknown code, so a typo gives an empty list rather than every project."""
    code = request.args.get("project")
    if not code:
        return None
    pid = project_id_for_code(code)
    return -1 if pid is None else pid
